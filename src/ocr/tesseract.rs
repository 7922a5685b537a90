//! Tesseract (Debian `tesseract-ocr`, `tesseract-ocr-chi-sim`) as the default [`OcrEngine`].
//!
//! One process per page, through [`crate::tool::Tool::run_captured`]: the page goes in on stdin as a binary
//! PGM (no temporary file, no second decode: the pixels are the page's one decode), the words come back on
//! stdout as TSV (level 5 rows: left, top, width, height, conf, text; `block/par/line` give the reading
//! order). `OMP_THREAD_LIMIT=1` keeps each process on one core, and at most as many processes as there are
//! cores run at once (a counting semaphore shared by every page of the run), so parallel pages never
//! oversubscribe the machine.

use std::ffi::OsStr;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use super::{BBox, Line, OcrEngine, OcrError, PageText, Word};
use crate::model::Agent;
use crate::tool::Tool;

/// Tesseract with its languages and mode.
pub struct Tesseract {
    tool: Tool,
    languages: String,
    psm: u8,
    timeout: Option<Duration>,
    /// Second reading of doubtful lines: the languages, and the confidence under which a Latin word in a
    /// line makes the line doubtful ([`Tesseract::with_recheck`]).
    recheck: Option<(String, f32)>,
    slots: Mutex<usize>,
    freed: Condvar,
}

impl Tesseract {
    /// Find `tesseract` on `path` (a `PATH` value): "tesseract 5.3.0" → version "5.3.0".
    pub fn probe(path: &OsStr) -> Option<Tool> {
        let mut t = Tool::probe("Tesseract", "tesseract", path, "--version", |l| {
            l.split_whitespace().nth(1).map(str::to_string)
        })?;
        t.env.push(("OMP_THREAD_LIMIT".into(), "1".into()));
        Some(t)
    }

    /// The engine for `tool` (from [`Tesseract::probe`]) with the policy's languages and page segmentation
    /// mode; at most `processes` (≥ 1; the core count when `None`) run at once.
    pub fn new(
        tool: Tool,
        languages: &str,
        psm: u8,
        timeout: Option<Duration>,
        processes: Option<usize>,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut tool = tool;
        if !tool.env.iter().any(|(k, _)| k == "OMP_THREAD_LIMIT") {
            tool.env.push(("OMP_THREAD_LIMIT".into(), "1".into()));
        }
        Tesseract {
            tool,
            languages: languages.into(),
            psm,
            timeout,
            recheck: None,
            slots: Mutex::new(processes.unwrap_or(cores).max(1)),
            freed: Condvar::new(),
        }
    }

    /// Read again, with `languages` alone (`chi_sim`), every run of adjacent Latin-script words read with a
    /// confidence under `below`, and keep the reading with the higher mean confidence.
    ///
    /// Why: with `chi_sim+eng`, Tesseract 5.3 can take CJK for Latin ("住房安全鉴定书" after a Latin line →
    /// "fRBRE SEB", confidences 19 and 55; "家庭人口" in a table → "READ", 64); `chi_sim` alone on the crop
    /// reads them as CJK. Runs rather than whole lines: a whole table row brings its rulings into the crop
    /// and reads worse. All doubtful runs of a page are cropped and stacked into one image, so a page
    /// costs at most one more process. `None` (or an empty string) turns it off.
    pub fn with_recheck(mut self, languages: Option<&str>, below: u8) -> Self {
        self.recheck = languages
            .filter(|l| !l.is_empty())
            .map(|l| (l.to_string(), f32::from(below)));
        self
    }

    fn acquire(&self) {
        let mut n = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        while *n == 0 {
            n = self.freed.wait(n).unwrap_or_else(|p| p.into_inner());
        }
        *n -= 1;
    }

    fn release(&self) {
        let mut n = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        *n += 1;
        self.freed.notify_one();
    }

    fn args(&self, dpi: u32) -> Vec<String> {
        self.args_for(&self.languages, self.psm, dpi)
    }

    fn args_for(&self, languages: &str, psm: u8, dpi: u32) -> Vec<String> {
        vec![
            "stdin".into(),
            "stdout".into(),
            "-l".into(),
            languages.into(),
            "--psm".into(),
            psm.to_string(),
            "--dpi".into(),
            dpi.to_string(),
            // Archival scans carry no white-on-black text; skipping the inverted pass saves about a
            // fifth of the time per page.
            "-c".into(),
            "tessedit_do_invert=0".into(),
            "tsv".into(),
        ]
    }
}

/// A binary PGM (Netpbm P5) of a grayscale image.
fn pgm(img: &image::GrayImage) -> Vec<u8> {
    let (w, h) = img.dimensions();
    let mut b = format!("P5\n{w} {h}\n255\n").into_bytes();
    b.extend_from_slice(img.as_raw());
    b
}

impl OcrEngine for Tesseract {
    fn agent(&self) -> Agent {
        self.tool.agent()
    }

    fn parameters(&self) -> Vec<(String, String)> {
        vec![
            ("engine".into(), self.tool.label()),
            ("languages".into(), self.languages.clone()),
            ("psm".into(), self.psm.to_string()),
            (
                "arguments".into(),
                self.args(0)
                    .join(" ")
                    .replace("--dpi 0", "--dpi <page dpi>"),
            ),
            ("environment".into(), "OMP_THREAD_LIMIT=1".into()),
        ]
        .into_iter()
        .chain(self.recheck.as_ref().map(|(l, b)| {
            (
                "recheck".into(),
                format!("runs of Latin words under confidence {b} read again with -l {l} --psm 6; the reading with the higher mean confidence is kept"),
            )
        }))
        .collect()
    }

    fn recognize(&self, page: &image::GrayImage, dpi: u32) -> Result<PageText, OcrError> {
        self.acquire();
        let res = self.recognize_held(page, dpi);
        self.release();
        res
    }
}

impl Tesseract {
    /// [`OcrEngine::recognize`] with a process slot held.
    fn recognize_held(&self, page: &image::GrayImage, dpi: u32) -> Result<PageText, OcrError> {
        let dpi = dpi.max(1);
        let mut text = self.run_tsv(page, &self.args(dpi))?;
        if let Some((languages, below)) = &self.recheck {
            let runs = doubtful_runs(&text, *below);
            if !runs.is_empty() {
                let boxes: Vec<BBox> = runs.iter().map(|r| r.bbox).collect();
                let (stack, slots) = stack_lines(page, &boxes);
                let again = self.run_tsv(&stack, &self.args_for(languages, 6, dpi))?;
                // Splice from the back so that earlier runs' word indices stay valid.
                let readings = unstack(&again, &slots);
                for (run, words) in runs.iter().zip(readings).rev() {
                    let line = &mut text.lines[run.line];
                    // The second reading replaces the first only when it confirms the suspicion (the
                    // run is CJK) and is surer: a Latin word that is Latin ("Xinzhou" at 85) stays.
                    if mostly_cjk(&words)
                        && mean_conf(&words) > mean_conf(&line.words[run.words.clone()])
                    {
                        line.words.splice(run.words.clone(), words);
                    }
                }
            }
        }
        Ok(text)
    }

    /// One Tesseract process over `img` with `args`, its TSV parsed.
    fn run_tsv(&self, img: &image::GrayImage, args: &[String]) -> Result<PageText, OcrError> {
        let input = pgm(img);
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        let out = self.tool.run_captured(&args, Some(&input), self.timeout)?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(3).collect();
            return Err(OcrError::Tool(crate::tool::ToolError::Failed {
                tool: self.tool.name.clone(),
                message: format!(
                    "{}: {}",
                    out.status,
                    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                ),
            }));
        }
        let tsv = String::from_utf8(out.stdout)
            .map_err(|_| OcrError::Output("Tesseract TSV is not UTF-8".into()))?;
        parse_tsv(&tsv, img.width(), img.height())
    }
}

/// A run of adjacent words of one line, each a Latin-script word (an ASCII letter, no CJK character) read
/// with a confidence under `below`: the sign of CJK taken for Latin.
#[derive(Debug, Clone, PartialEq)]
struct Run {
    line: usize,
    words: std::ops::Range<usize>,
    bbox: BBox,
}

fn doubtful(w: &Word, below: f32) -> bool {
    w.confidence < below
        && w.text.chars().any(|c| c.is_ascii_alphabetic())
        && !w.text.chars().any(super::is_cjk)
}

fn doubtful_runs(text: &PageText, below: f32) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for (li, line) in text.lines.iter().enumerate() {
        for (wi, w) in line.words.iter().enumerate() {
            if !doubtful(w, below) {
                continue;
            }
            match runs.last_mut() {
                Some(r) if r.line == li && r.words.end == wi => {
                    r.words.end = wi + 1;
                    r.bbox = BBox {
                        x0: r.bbox.x0.min(w.bbox.x0),
                        y0: r.bbox.y0.min(w.bbox.y0),
                        x1: r.bbox.x1.max(w.bbox.x1),
                        y1: r.bbox.y1.max(w.bbox.y1),
                    };
                }
                _ => runs.push(Run {
                    line: li,
                    words: wi..wi + 1,
                    bbox: w.bbox,
                }),
            }
        }
    }
    runs
}

/// At least half of the characters of `words` are CJK (none at all: false).
fn mostly_cjk(words: &[Word]) -> bool {
    let (mut cjk, mut all) = (0usize, 0usize);
    for c in words.iter().flat_map(|w| w.text.chars()) {
        all += 1;
        cjk += usize::from(super::is_cjk(c));
    }
    all > 0 && 2 * cjk >= all
}

/// Character-weighted mean confidence of words (as [`super::PageText::mean_confidence`]).
fn mean_conf(words: &[Word]) -> f64 {
    let (mut sum, mut n) = (0.0f64, 0usize);
    for w in words {
        let k = w.text.chars().count();
        sum += f64::from(w.confidence) * k as f64;
        n += k;
    }
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// Where one cropped run sits in the stacked image: the band `y0..y1` of the stack, and the offset that
/// takes a stack position back to the page.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Slot {
    y0: u32,
    y1: u32,
    dx: i64,
    dy: i64,
}

/// The crops of `boxes` (padded by half their height) stacked on a white page, one under the other with
/// a line height of white between them.
fn stack_lines(page: &image::GrayImage, boxes: &[BBox]) -> (image::GrayImage, Vec<Slot>) {
    const MARGIN: u32 = 20;
    let (pw, ph) = page.dimensions();
    let crops: Vec<BBox> = boxes
        .iter()
        .map(|b| {
            let pad = (b.height() / 2).max(8);
            BBox {
                x0: b.x0.saturating_sub(pad),
                y0: b.y0.saturating_sub(pad),
                x1: (b.x1 + pad).min(pw),
                y1: (b.y1 + pad).min(ph),
            }
        })
        .collect();
    let width = crops.iter().map(BBox::width).max().unwrap_or(1) + 2 * MARGIN;
    let height = crops.iter().map(|c| c.height() * 2).sum::<u32>() + MARGIN;
    let mut stack = image::GrayImage::from_pixel(width, height.max(1), image::Luma([255]));
    let mut slots = Vec::with_capacity(crops.len());
    let mut y = MARGIN;
    for c in &crops {
        let view = image::imageops::crop_imm(page, c.x0, c.y0, c.width(), c.height());
        image::imageops::replace(&mut stack, &*view, i64::from(MARGIN), i64::from(y));
        slots.push(Slot {
            y0: y,
            y1: y + c.height(),
            dx: i64::from(c.x0) - i64::from(MARGIN),
            dy: i64::from(c.y0) - i64::from(y),
        });
        y += c.height() * 2;
    }
    (stack, slots)
}

/// The words of the stacked reading, per slot (by the vertical centre of each word), moved back to page
/// coordinates, in reading order.
fn unstack(stacked: &PageText, slots: &[Slot]) -> Vec<Vec<Word>> {
    let mut out: Vec<Vec<Word>> = vec![Vec::new(); slots.len()];
    let mv = |v: u32, d: i64| (i64::from(v) + d).max(0) as u32;
    for w in stacked.words() {
        let cy = (w.bbox.y0 + w.bbox.y1) / 2;
        if let Some(k) = slots.iter().position(|s| cy >= s.y0 && cy < s.y1) {
            out[k].push(Word {
                text: w.text.clone(),
                bbox: BBox {
                    x0: mv(w.bbox.x0, slots[k].dx),
                    y0: mv(w.bbox.y0, slots[k].dy),
                    x1: mv(w.bbox.x1, slots[k].dx),
                    y1: mv(w.bbox.y1, slots[k].dy),
                },
                confidence: w.confidence,
            });
        }
    }
    out
}

/// Parse Tesseract's TSV: the header, then rows of 12 tab-separated columns. Words (level 5) are grouped
/// into lines by (page, block, paragraph, line); line boxes come from the level-4 rows.
pub fn parse_tsv(tsv: &str, width: u32, height: u32) -> Result<PageText, OcrError> {
    let mut page = PageText {
        width,
        height,
        lines: Vec::new(),
    };
    let mut key: Option<(u32, u32, u32, u32)> = None;
    let mut last_par: Option<(u32, u32, u32)> = None;
    for (n, row) in tsv.lines().enumerate() {
        if n == 0 && row.starts_with("level") {
            continue;
        }
        if row.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = row.splitn(12, '\t').collect();
        if cols.len() < 11 {
            return Err(OcrError::Output(format!(
                "TSV line {}: {} columns, expected 12",
                n + 1,
                cols.len()
            )));
        }
        let num = |i: usize| -> Result<i64, OcrError> {
            cols[i].trim().parse::<i64>().map_err(|_| {
                OcrError::Output(format!(
                    "TSV line {}: column {} is not a number",
                    n + 1,
                    i + 1
                ))
            })
        };
        let level = num(0)?;
        if level != 4 && level != 5 {
            continue;
        }
        let (pg, block, par, line) = (num(1)?, num(2)?, num(3)?, num(4)?);
        let clamp = |v: i64, max: u32| v.clamp(0, i64::from(max)) as u32;
        let (l, t, w, h) = (num(6)?, num(7)?, num(8)?, num(9)?);
        let bbox = BBox {
            x0: clamp(l, width),
            y0: clamp(t, height),
            x1: clamp(l + w, width),
            y1: clamp(t + h, height),
        };
        let k = (pg as u32, block as u32, par as u32, line as u32);
        if key != Some(k) {
            let par_key = (k.0, k.1, k.2);
            page.lines.push(Line {
                bbox,
                words: Vec::new(),
                paragraph_start: last_par != Some(par_key),
            });
            last_par = Some(par_key);
            key = Some(k);
        }
        if level == 4 {
            if let Some(last) = page.lines.last_mut() {
                last.bbox = bbox;
            }
            continue;
        }
        let text = cols.get(11).map_or("", |t| t.trim());
        if text.is_empty() {
            continue;
        }
        let confidence: f32 = cols[10].trim().parse().map_err(|_| {
            OcrError::Output(format!("TSV line {}: confidence is not a number", n + 1))
        })?;
        if let Some(last) = page.lines.last_mut() {
            last.words.push(Word {
                text: text.to_string(),
                bbox,
                confidence: confidence.clamp(0.0, 100.0),
            });
        }
    }
    page.lines.retain(|l| !l.words.is_empty());
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TSV: &str = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext
1\t1\t0\t0\t0\t0\t0\t0\t1200\t300\t-1\t
2\t1\t1\t0\t0\t0\t53\t59\t555\t146\t-1\t
3\t1\t1\t1\t0\t0\t53\t59\t555\t146\t-1\t
4\t1\t1\t1\t1\t0\t53\t59\t555\t46\t-1\t
5\t1\t1\t1\t1\t1\t53\t59\t111\t45\t96.490471\t精准
5\t1\t1\t1\t1\t2\t167\t59\t94\t46\t96.828018\t扶贫
5\t1\t1\t1\t1\t3\t354\t62\t112\t39\t95.267097\tHello
5\t1\t1\t1\t1\t4\t480\t62\t128\t39\t95.721901\tWorld
4\t1\t1\t1\t2\t0\t53\t159\t402\t46\t-1\t
5\t1\t1\t1\t2\t1\t53\t159\t60\t46\t96.255951\t县
5\t1\t1\t1\t2\t2\t303\t159\t152\t46\t90.525009\t2019
5\t1\t1\t1\t2\t3\t460\t159\t152\t46\t90.5\t 
";

    #[test]
    fn tsv_gives_lines_words_boxes_and_order() {
        let p = parse_tsv(TSV, 1200, 300).unwrap();
        assert_eq!(p.lines.len(), 2);
        assert_eq!(p.lines[0].words.len(), 4);
        assert_eq!(
            p.lines[0].bbox,
            BBox {
                x0: 53,
                y0: 59,
                x1: 608,
                y1: 105
            }
        );
        assert_eq!(p.lines[1].words[1].text, "2019");
        assert!(!p.lines[1].paragraph_start);
        assert_eq!(p.text(), "精准扶贫Hello World\n县2019\n");
        assert!(parse_tsv("level\n5\t1\tx", 10, 10).is_err());
    }

    #[test]
    fn doubtful_runs_are_adjacent_low_confidence_latin_words() {
        let tsv = TSV
            .replace("95.267097\tHello", "19.3\tfRBRE")
            .replace("95.721901\tWorld", "55.0\tSEB")
            .replace("90.525009\t2019", "50.0\t2019");
        let p = parse_tsv(&tsv, 1200, 300).unwrap();
        let runs = doubtful_runs(&p, 90.0);
        // "2019" has no letter, "精准" is CJK: only fRBRE SEB, one run with the union of their boxes.
        assert_eq!(runs.len(), 1, "{runs:?}");
        assert_eq!(runs[0].line, 0);
        assert_eq!(runs[0].words, 2..4);
        assert_eq!(
            runs[0].bbox,
            BBox {
                x0: 354,
                y0: 62,
                x1: 608,
                y1: 101
            }
        );
        assert!(doubtful_runs(&p, 10.0).is_empty());
        let w = |t: &str| Word {
            text: t.into(),
            bbox: runs[0].bbox,
            confidence: 80.0,
        };
        assert!(mostly_cjk(&[w("住房安全"), w("鉴定书;")]));
        assert!(!mostly_cjk(&[w("fXinzhou")]));
        assert!(!mostly_cjk(&[]));
    }

    #[test]
    fn stacked_crops_map_back_to_the_page() {
        let mut page = image::GrayImage::from_pixel(400, 200, image::Luma([255]));
        page.put_pixel(110, 60, image::Luma([0]));
        let b = BBox {
            x0: 100,
            y0: 50,
            x1: 180,
            y1: 70,
        };
        let (stack, slots) = stack_lines(&page, &[b, b]);
        assert_eq!(slots.len(), 2);
        // Padding 10 (half the height): the crop is 100×40 at (90, 40), placed at (20, 20) and (20, 100).
        assert_eq!(stack.dimensions(), (140, 180));
        assert_eq!(stack.get_pixel(20 + 20, 20 + 20)[0], 0);
        assert_eq!(stack.get_pixel(20 + 20, 100 + 20)[0], 0);
        let word = |y0: u32| Word {
            text: "住房".into(),
            bbox: BBox {
                x0: 40,
                y0,
                x1: 60,
                y1: y0 + 10,
            },
            confidence: 90.0,
        };
        let read = PageText {
            width: 140,
            height: 180,
            lines: vec![Line {
                bbox: word(35).bbox,
                words: vec![word(35), word(115)],
                paragraph_start: true,
            }],
        };
        let back = unstack(&read, &slots);
        assert_eq!(back.len(), 2);
        assert_eq!(
            back[0][0].bbox,
            BBox {
                x0: 110,
                y0: 55,
                x1: 130,
                y1: 65
            }
        );
        assert_eq!(back[1][0].bbox, back[0][0].bbox);
    }

    #[test]
    fn pgm_header() {
        let img = image::GrayImage::from_pixel(3, 2, image::Luma([7]));
        let b = pgm(&img);
        assert!(b.starts_with(b"P5\n3 2\n255\n"));
        assert_eq!(b.len(), 11 + 6);
    }
}
