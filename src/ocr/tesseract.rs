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
            slots: Mutex::new(processes.unwrap_or(cores).max(1)),
            freed: Condvar::new(),
        }
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
        vec![
            "stdin".into(),
            "stdout".into(),
            "-l".into(),
            self.languages.clone(),
            "--psm".into(),
            self.psm.to_string(),
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
    }

    fn recognize(&self, page: &image::GrayImage, dpi: u32) -> Result<PageText, OcrError> {
        let input = pgm(page);
        let args = self.args(dpi.max(1));
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        self.acquire();
        let res = self.tool.run_captured(&args, Some(&input), self.timeout);
        self.release();
        let out = res?;
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
        parse_tsv(&tsv, page.width(), page.height())
    }
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
    fn pgm_header() {
        let img = image::GrayImage::from_pixel(3, 2, image::Luma([7]));
        let b = pgm(&img);
        assert!(b.starts_with(b"P5\n3 2\n255\n"));
        assert_eq!(b.len(), 11 + 6);
    }
}
