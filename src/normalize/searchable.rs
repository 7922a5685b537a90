//! Searchable access copies of a scanned item (issue 14): OCR of each page from its one decode, the
//! invisible text layer of the double-layer PDF/A-2b, the OFD access copy (GB/T 33190-2016 under the
//! OFD-A constraints of GB/T 42133-2022), and the UTF-8 full-text file of the item.
//!
//! Provenance: one `cre` (creation) record per item for the OCR, whose output is the full-text file and
//! whose agents are dangan and the engine with its version (the existing [`Event`] type: no second event
//! type); one `cre` record for the OFD. The mean word confidence of every page goes into the OCR record's
//! parameters, into the QC report (a finding on the page: information, or a warning under the policy's
//! minimum) and into `catalog.xml` (through `<item>.ocr.json` beside the text file).

use std::fs::File;
use std::io::BufWriter;

use serde::{Deserialize, Serialize};

use super::pdf::{PageImage, TextWord};
use super::{ActionError, Event, Namer, Run, ensure_parent, fail, join, rec, skipped};
use crate::model::{EventType, Finding, Outcome};
use crate::ocr::{AccessForm, OcrEngine, PageText};

/// The rule id of findings about OCR quality.
pub const OCR_RULE: &str = "dangan ocr";

/// What a planned item gets besides its PDF.
#[derive(Debug, Clone)]
pub(super) struct OcrPlan {
    /// Whether OCR runs at all for the item (the policy's `[ocr]` names its rule).
    pub ocr: bool,
    /// Whether the item PDF gets the invisible text layer.
    pub pdf_text: bool,
    /// The full-text file (and its `.ocr.json` summary).
    pub txt: Option<String>,
    /// The OFD access copy.
    pub ofd: Option<String>,
}

/// Plan the searchable forms of an item whose PDF follows `rule_id`.
pub(super) fn plan(
    run: &Run<'_>,
    rule_id: &str,
    dir: &str,
    item: &str,
    namer: &mut Namer,
) -> Option<OcrPlan> {
    let pol = &run.opts.policy.ocr;
    if run.depth != 0 || !pol.applies_to(rule_id) {
        return None;
    }
    let acc = join("access", dir);
    let txt = pol.full_text.then(|| {
        namer.claim(
            join(&acc, &format!("{item}.txt")),
            join(&acc, &format!("{item}.item.txt")),
        )
    });
    let ofd = pol.wants(AccessForm::Ofd).then(|| {
        namer.claim(
            join(&acc, &format!("{item}.ofd")),
            join(&acc, &format!("{item}.item.ofd")),
        )
    });
    Some(OcrPlan {
        ocr: true,
        pdf_text: pol.wants(AccessForm::Pdf),
        txt,
        ofd,
    })
}

/// The OCR summary of one page (in `<item>.ocr.json` and the OCR record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageOcr {
    pub page: u32,
    pub source: String,
    pub words: usize,
    /// Mean word confidence 0–100, `None` when no text was found.
    pub mean_confidence: Option<f64>,
    /// Under the policy's minimum: flagged for review.
    pub below_minimum: bool,
}

/// `<item>.ocr.json`: the item's OCR summary, read by `catalog.xml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemOcr {
    pub engine: String,
    pub languages: String,
    pub min_confidence: u8,
    pub pages: Vec<PageOcr>,
}

/// The summary's file name for a full-text file `x.txt`.
pub fn summary_path(txt: &str) -> String {
    match txt.strip_suffix(".txt") {
        Some(s) => format!("{s}.ocr.json"),
        None => format!("{txt}.ocr.json"),
    }
}

type OfdState = (
    Event,
    Result<super::ofd::OfdWriter<BufWriter<File>>, String>,
    String,
);

/// The searchable forms of one item being made, page by page.
pub(super) struct ItemText<'a> {
    run: &'a Run<'a>,
    plan: OcrPlan,
    engine: Option<&'a dyn OcrEngine>,
    record: Event,
    text: String,
    pages: Vec<PageOcr>,
    ofd: Option<OfdState>,
}

impl<'a> ItemText<'a> {
    pub fn start(
        run: &'a Run<'a>,
        plan: &OcrPlan,
        rule_id: &str,
        sources: &[String],
        meta: &super::ItemMeta,
        item: &str,
        doc_id: [u8; 16],
    ) -> Self {
        let engine = run.ocr;
        let pol = &run.opts.policy.ocr;
        let mut record = rec(run, EventType::Creation, "ocr", rule_id, sources.to_vec());
        match engine {
            Some(e) => {
                record.agents.push(e.agent());
                for (k, v) in e.parameters() {
                    record.parameters.insert(k, v);
                }
            }
            None => {
                record = skipped(
                    record,
                    "tesseract not found on PATH: no OCR, the access copies are image-only (install tesseract-ocr and tesseract-ocr-chi-sim and run again)".into(),
                );
            }
        }
        record
            .parameters
            .insert("min_confidence".into(), pol.min_confidence.to_string());
        record.parameters.insert(
            "channel".into(),
            format!("{:?}", pol.channel).to_lowercase(),
        );
        let ofd = plan.ofd.as_ref().map(|out| {
            let mut r = rec(run, EventType::Creation, "item-ofd", rule_id, sources.to_vec());
            r.parameters.insert(
                "format".into(),
                "OFD (GB/T 33190-2016), OFD-A constraints (GB/T 42133-2022): one document, no encryption, embedded font, scan in the background layer, OCR text invisible above".into(),
            );
            let om = super::ofd::OfdMeta {
                title: meta.title.clone().unwrap_or_else(|| item.to_string()),
                author: meta.author.clone(),
                identifier: meta.identifier.clone().or_else(|| Some(item.to_string())),
                created: run.now.clone(),
                creator: "dangan".into(),
                creator_version: crate::VERSION.into(),
                doc_id,
            };
            let w = ensure_parent(run.out_root, out)
                .map_err(|e| e.to_string())
                .and_then(|p| File::create(p).map_err(|e| e.to_string()))
                .and_then(|f| {
                    super::ofd::OfdWriter::new(BufWriter::with_capacity(1 << 20, f), om)
                        .map_err(|e| e.to_string())
                });
            (r, w, out.clone())
        });
        ItemText {
            run,
            plan: plan.clone(),
            engine: if plan.ocr { engine } else { None },
            record,
            text: String::new(),
            pages: Vec::new(),
            ofd,
        }
    }

    /// OCR a window of decoded pages in parallel (one thread each; the engine bounds the processes to the
    /// cores). `None` for a page that did not decode or when there is no engine.
    pub fn recognize_all(
        &self,
        pages: &[Result<crate::raster::Raster, super::PageError>],
    ) -> Vec<Option<Result<PageText, crate::ocr::OcrError>>> {
        let Some(engine) = self.engine else {
            return pages.iter().map(|_| None).collect();
        };
        let channel = self.run.opts.policy.ocr.channel;
        std::thread::scope(|s| {
            let handles: Vec<_> = pages
                .iter()
                .map(|p| {
                    p.as_ref().ok().map(|r| {
                        s.spawn(move || {
                            let dpi = r.dpi.map_or(300.0, |d| d.0).round().max(1.0) as u32;
                            let gray = crate::ocr::ocr_image(&r.pixels, channel);
                            engine.recognize(&gray, dpi)
                        })
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(crate::ocr::OcrError::Output(
                                "the OCR thread panicked".into(),
                            ))
                        })
                    })
                })
                .collect()
        })
    }

    /// Take one page's OCR result (in page order): its text joins the full text, its confidence the
    /// summary; returns the text and the finding for the page's QC report.
    pub fn record(
        &mut self,
        seq: u32,
        path: &str,
        result: Result<PageText, crate::ocr::OcrError>,
    ) -> (PageText, Option<Finding>) {
        let pol = &self.run.opts.policy.ocr;
        match result {
            Ok(text) => {
                if !self.text.is_empty() {
                    // Pages are separated by a form feed, as pdftotext separates them.
                    self.text.push('\u{c}');
                }
                self.text.push_str(&text.text());
                let mean = text.mean_confidence();
                let below = mean.is_some_and(|m| m < f64::from(pol.min_confidence));
                self.pages.push(PageOcr {
                    page: seq,
                    source: path.to_string(),
                    words: text.word_count(),
                    mean_confidence: mean.map(|m| (m * 10.0).round() / 10.0),
                    below_minimum: below,
                });
                let finding = Some(crate::ocr::confidence_finding(
                    path,
                    &text,
                    pol.min_confidence,
                ));
                (text, finding)
            }
            Err(e) => {
                if self.record.outcome != Outcome::Failure {
                    self.record = fail(self.record.clone(), format!("page {seq} ({path}): {e}"));
                }
                (PageText::default(), None)
            }
        }
    }

    /// A page could not be read or decoded: the OFD and the full text would miss it, so both fail (as the
    /// item PDF does) rather than mislead.
    pub fn page_failed(&mut self, seq: u32, path: &str, e: &dyn std::fmt::Display) {
        let why = format!("page {seq} ({path}): {e}");
        if let Some((_, w, _)) = self.ofd.as_mut()
            && w.is_ok()
        {
            *w = Err(why.clone());
        }
        if self.engine.is_some() && self.record.outcome != Outcome::Failure {
            self.record = fail(self.record.clone(), why);
        }
    }

    /// Whether the PDF gets the text layer.
    pub fn pdf_text(&self) -> bool {
        self.plan.pdf_text
    }

    /// Add the page to the OFD (when one is made): its image in the background layer and its text
    /// invisible above.
    pub fn ofd_page(
        &mut self,
        img: &PageImage,
        r: &crate::raster::Raster,
        (xd, yd): (f64, f64),
        text: &PageText,
        seq: u32,
        path: &str,
    ) {
        let Some((_, w, _)) = self.ofd.as_mut() else {
            return;
        };
        let Ok(writer) = w else { return };
        let res = ofd_image(img, r).and_then(|(bytes, format)| {
            let mm = |px: f64, d: f64| px / d * 25.4;
            let words = ofd_words(text, xd, yd);
            writer
                .add_page(
                    &bytes,
                    format,
                    mm(f64::from(r.pixels.width()), xd),
                    mm(f64::from(r.pixels.height()), yd),
                    &words,
                )
                .map_err(ActionError::from)
        });
        if let Err(e) = res {
            *w = Err(format!("page {seq} ({path}): {e}"));
        }
    }

    /// Write the full-text file and its summary, close the OFD; the records.
    pub fn finish(mut self, pages: usize) -> Vec<Event> {
        let mut out = Vec::new();
        let pol = &self.run.opts.policy.ocr;
        if self.engine.is_some() && self.record.outcome != Outcome::Failure {
            let means: Vec<String> = self
                .pages
                .iter()
                .map(|p| {
                    format!(
                        "{}:{}",
                        p.page,
                        p.mean_confidence
                            .map_or("none".to_string(), |m| format!("{m:.1}"))
                    )
                })
                .collect();
            self.record
                .parameters
                .insert("page_mean_confidence".into(), means.join(" "));
            let flagged = self.pages.iter().filter(|p| p.below_minimum).count();
            self.record
                .parameters
                .insert("pages_below_minimum".into(), flagged.to_string());
            if flagged > 0 {
                self.record.outcome = Outcome::Warning;
                self.record.detail = Some(format!(
                    "{flagged} of {pages} pages below the minimum confidence {}: flagged for review",
                    pol.min_confidence
                ));
            }
            if let Some(txt) = &self.plan.txt {
                let summary = ItemOcr {
                    engine: self
                        .engine
                        .map(|e| {
                            let a = e.agent();
                            format!("{} {}", a.name, a.version.unwrap_or_default())
                        })
                        .unwrap_or_default(),
                    languages: pol.languages.clone(),
                    min_confidence: pol.min_confidence,
                    pages: self.pages.clone(),
                };
                let sp = summary_path(txt);
                let res = (|| -> Result<(), ActionError> {
                    let p = ensure_parent(self.run.out_root, txt)?;
                    std::fs::write(p, self.text.as_bytes())?;
                    let json =
                        serde_json::to_vec_pretty(&summary).map_err(std::io::Error::other)?;
                    std::fs::write(self.run.out_root.join(&sp), json)?;
                    Ok(())
                })();
                match res {
                    Ok(()) => {
                        self.record.outputs.push(txt.clone());
                        self.record.outputs.push(sp);
                    }
                    Err(e) => self.record = fail(self.record, e),
                }
            }
        }
        out.push(self.record);
        if let Some((mut r, w, path)) = self.ofd {
            r.parameters.insert("pages".into(), pages.to_string());
            r.parameters.insert(
                "text_layer".into(),
                if self.engine.is_some() {
                    "OCR text as invisible TextObjects on the word boxes".into()
                } else {
                    "none (no OCR engine)".to_string()
                },
            );
            match w.and_then(|w| w.finish().map_err(|e| e.to_string())) {
                Ok(_) => {
                    r.outputs.push(path);
                    out.push(r);
                }
                Err(e) => {
                    let _ = std::fs::remove_file(self.run.out_root.join(&path));
                    out.push(fail(r, e));
                }
            }
        }
        out
    }
}

/// The OFD's copy of a page image: the PDF's JPEG as it is; a bitonal page as a PNG (OFD readers do not
/// take raw 1-bit Flate data).
fn ofd_image(
    img: &PageImage,
    r: &crate::raster::Raster,
) -> Result<(Vec<u8>, &'static str), ActionError> {
    match img {
        PageImage::Jpeg { data, .. } => Ok((data.clone(), "JPEG")),
        PageImage::Bilevel { .. } => {
            let mut png = Vec::new();
            r.pixels
                .to_luma8()
                .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
                .map_err(|e| ActionError::Malformed(e.to_string()))?;
            Ok((png, "PNG"))
        }
    }
}

/// Word boxes of one line made left-to-right and non-overlapping (an engine's boxes may overlap; a text
/// layer whose words overlap reads out of order). In pixels: (x0, x1) per word.
fn spans(line: &crate::ocr::Line) -> Vec<(f64, f64)> {
    let mut v: Vec<(f64, f64)> = line
        .words
        .iter()
        .map(|w| {
            (
                f64::from(w.bbox.x0),
                f64::from(w.bbox.x1.max(w.bbox.x0 + 1)),
            )
        })
        .collect();
    for i in 1..v.len() {
        if v[i].0 < v[i - 1].0 {
            v[i].0 = v[i - 1].0 + 1.0;
        }
        if v[i - 1].1 > v[i].0 {
            v[i - 1].1 = v[i].0.max(v[i - 1].0 + 1.0);
        }
        if v[i].1 <= v[i].0 {
            v[i].1 = v[i].0 + 1.0;
        }
    }
    v
}

/// The PDF text layer of a page, in points (origin bottom left); the page is `height_px` pixels high at
/// (`xd`, `yd`) dpi. All words of a line share the line's baseline and size.
pub(super) fn pdf_words(text: &PageText, xd: f64, yd: f64) -> Vec<TextWord> {
    let h_pt = f64::from(text.height) / yd * 72.0;
    let mut out = Vec::new();
    for line in &text.lines {
        let size = f64::from(line.bbox.height().max(1)) / yd * 72.0;
        let base = h_pt - f64::from(line.bbox.y1) / yd * 72.0;
        let sp = spans(line);
        for (i, w) in line.words.iter().enumerate() {
            let (x0, x1) = sp[i];
            let next = line.words.get(i + 1);
            let space_after = next.and_then(|n| {
                crate::ocr::space_between(&w.text, &n.text)
                    .then(|| ((sp[i + 1].0 - x1) / xd * 72.0).max(size * 0.05))
            });
            // Between CJK words no space is written, and no gap may be left either: a text extractor
            // would read the gap as a word space and break "精准扶贫" into "精准 扶贫" for search. The
            // word's characters are spread to the next word's start.
            let x1 = match next {
                Some(_) if space_after.is_none() => sp[i + 1].0,
                _ => x1,
            };
            out.push(TextWord {
                text: w.text.clone(),
                x: x0 / xd * 72.0,
                y: base,
                width: (x1 - x0) / xd * 72.0,
                height: size,
                space_after,
            });
        }
    }
    out
}

/// The OFD text of a page, in millimetres (origin top left, y down): one word per TextObject, with the
/// baseline at the line's bottom.
fn ofd_words(text: &PageText, xd: f64, yd: f64) -> Vec<super::ofd::OfdWord> {
    let mm = |px: f64, d: f64| px / d * 25.4;
    let mut out = Vec::new();
    for line in &text.lines {
        let size = mm(f64::from(line.bbox.height().max(1)), yd);
        let top = mm(f64::from(line.bbox.y0), yd);
        let sp = spans(line);
        for (i, w) in line.words.iter().enumerate() {
            let (x0, x1) = sp[i];
            let mut t = w.text.clone();
            let mut width = mm(x1 - x0, xd);
            if let Some(n) = line.words.get(i + 1) {
                // As in the PDF: a space between Latin words, no gap between CJK words.
                if crate::ocr::space_between(&w.text, &n.text) {
                    t.push(' ');
                }
                width = mm(sp[i + 1].0 - x0, xd);
            }
            out.push(super::ofd::OfdWord {
                text: t,
                x: mm(x0, xd),
                y: top,
                width: width.max(0.01),
                height: size,
            });
        }
    }
    out
}
