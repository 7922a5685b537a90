//! Optical character recognition of scanned pages (issue 14): words with their boxes and confidences, in
//! reading order, for the invisible text layer of the double-layer PDF/A and the OFD access copy and for
//! the full-text file of each item.
//!
//! The engine sits behind [`OcrEngine`], so that another engine (PP-OCR through ONNX, `ocrs`) is a swap;
//! the default is Tesseract ([`Tesseract`]), run through the project's one runner for external programs
//! ([`crate::tool`]). What the policy says about OCR (on for which rules, languages, minimum confidence,
//! which searchable access forms) is data in `profiles/policy.toml` (`[ocr]`, [`OcrPolicy`]).

pub mod qc;
mod tesseract;

use serde::{Deserialize, Serialize};

use crate::model::Agent;

pub use tesseract::Tesseract;

/// A box in image pixels, origin top left, `x1`/`y1` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BBox {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl BBox {
    pub fn width(&self) -> u32 {
        self.x1.saturating_sub(self.x0)
    }
    pub fn height(&self) -> u32 {
        self.y1.saturating_sub(self.y0)
    }
}

/// One recognised word.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub text: String,
    pub bbox: BBox,
    /// The engine's confidence, 0–100.
    pub confidence: f32,
}

/// One text line: its box and its words, in reading order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub bbox: BBox,
    pub words: Vec<Word>,
    /// The line starts a new block or paragraph (a blank line in the full text would be wrong for tables,
    /// so this only matters to readers that want paragraphs).
    pub paragraph_start: bool,
}

/// What the engine found on one page, lines in reading order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PageText {
    /// Size of the image the boxes refer to, in pixels.
    pub width: u32,
    pub height: u32,
    pub lines: Vec<Line>,
}

/// CJK ideographs, kana, hangul, CJK punctuation and full-width forms: no space is written between two of
/// them (Chinese has no spaces between words; Tesseract's "words" in `chi_sim` are runs of characters).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FDF | 0x3000..=0x30FF | 0x3100..=0x31BF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF)
}

/// Whether a space belongs between two adjacent words of a line.
pub fn space_between(left: &str, right: &str) -> bool {
    match (left.chars().last(), right.chars().next()) {
        (Some(a), Some(b)) => !(is_cjk(a) || is_cjk(b)),
        _ => false,
    }
}

impl PageText {
    /// All words in reading order.
    pub fn words(&self) -> impl Iterator<Item = &Word> {
        self.lines.iter().flat_map(|l| l.words.iter())
    }

    /// The page's text: one line per text line, words joined by a space except between CJK characters.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            let mut prev: Option<&str> = None;
            for w in &line.words {
                if let Some(p) = prev
                    && space_between(p, &w.text)
                {
                    out.push(' ');
                }
                out.push_str(&w.text);
                prev = Some(&w.text);
            }
            out.push('\n');
        }
        out
    }

    /// Mean word confidence (0–100), weighted by the characters of each word so that one long word
    /// counts as much as its characters; `None` when no word was found (a blank page).
    pub fn mean_confidence(&self) -> Option<f64> {
        let (mut sum, mut n) = (0.0f64, 0usize);
        for w in self.words() {
            let k = w.text.chars().count();
            sum += f64::from(w.confidence) * k as f64;
            n += k;
        }
        (n > 0).then(|| sum / n as f64)
    }

    /// Number of words.
    pub fn word_count(&self) -> usize {
        self.lines.iter().map(|l| l.words.len()).sum()
    }
}

/// The page's OCR finding for its QC report: its mean confidence (information), a warning to review the
/// page when that is under `min_confidence`, or that no text was found. The one wording for `pack`,
/// `normalize` and `qc --ocr`.
pub fn confidence_finding(
    path: &str,
    text: &PageText,
    min_confidence: u8,
) -> crate::model::Finding {
    use crate::model::{Finding, Level};
    let rule = crate::normalize::searchable::OCR_RULE;
    let words = text.word_count();
    match text.mean_confidence() {
        Some(m) if m < f64::from(min_confidence) => Finding::new(
            rule,
            Level::Warning,
            Some(path.to_string()),
            format!(
                "OCR 平均置信度 {m:.1} 低于策略下限 {min_confidence}: 请人工复核该页的全文 ({words} 个词)"
            ),
            format!(
                "mean OCR confidence {m:.1} is below the policy's minimum {min_confidence}: review this page's text ({words} words)"
            ),
        ),
        Some(m) => Finding::new(
            rule,
            Level::Info,
            Some(path.to_string()),
            format!("OCR 平均置信度 {m:.1} ({words} 个词)"),
            format!("mean OCR confidence {m:.1} ({words} words)"),
        ),
        None => Finding::new(
            rule,
            Level::Info,
            Some(path.to_string()),
            "OCR 未识别出文字",
            "OCR found no text on this page",
        ),
    }
}

/// Why a page could not be recognised.
#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    #[error(transparent)]
    Tool(#[from] crate::tool::ToolError),
    #[error("OCR output: {0}")]
    Output(String),
}

/// An OCR engine: a grayscale page at a known resolution in, words with boxes out.
pub trait OcrEngine: Send + Sync {
    /// The engine as a PREMIS software agent (name and version).
    fn agent(&self) -> Agent;
    /// The exact parameters (languages, modes), for the provenance record.
    fn parameters(&self) -> Vec<(String, String)>;
    /// Recognise one page. `dpi` is the page's resolution (engines size their models by it).
    fn recognize(&self, page: &image::GrayImage, dpi: u32) -> Result<PageText, OcrError>;
}

/// Which searchable access forms an OCR'd item gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessForm {
    /// The double-layer PDF/A-2b (双层PDF): the item PDF with an invisible text layer.
    Pdf,
    /// An OFD (GB/T 33190-2016) package per item, OFD-A constraints (GB/T 42133-2022).
    Ofd,
}

/// The searchable access forms chosen on the command line: `pdf`, `ofd`, `pdf,ofd` or `none` (no
/// searchable form: the item PDF stays image-only and no OFD is made; the full-text file is still written
/// when the policy's `full_text` is on). Small and `Copy`, for a command-line argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessChoice {
    pub pdf: bool,
    pub ofd: bool,
}

impl std::str::FromStr for AccessChoice {
    type Err = String;

    /// The error names the bad word.
    fn from_str(spec: &str) -> Result<Self, String> {
        let spec = spec.trim();
        let mut c = AccessChoice {
            pdf: false,
            ofd: false,
        };
        if spec.eq_ignore_ascii_case("none") {
            return Ok(c);
        }
        for w in spec.split(',').map(str::trim) {
            match w.to_ascii_lowercase().as_str() {
                "pdf" => c.pdf = true,
                "ofd" => c.ofd = true,
                _ => {
                    return Err(format!(
                        "'{w}' is not an access form (pdf, ofd, pdf,ofd or none)"
                    ));
                }
            }
        }
        Ok(c)
    }
}

/// The `[ocr]` section of the format policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OcrPolicy {
    /// OCR at all.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The item kinds OCR'd: ids of the policy rules whose items (by their first page) are scanned text.
    pub rules: Vec<String>,
    /// Tesseract language string (`chi_sim+eng`).
    #[serde(default = "default_languages")]
    pub languages: String,
    /// Tesseract page segmentation mode (3 = automatic, the default of Tesseract itself).
    #[serde(default = "default_psm")]
    pub psm: u8,
    /// Pages whose mean word confidence (0–100) is below this are flagged for review.
    #[serde(default = "default_min_confidence")]
    pub min_confidence: u8,
    /// Searchable access forms of an OCR'd item.
    #[serde(default = "default_access")]
    pub access: Vec<AccessForm>,
    /// Write a UTF-8 full-text file per item into the access representation.
    #[serde(default = "yes")]
    pub full_text: bool,
    /// The image channel given to the engine: `luma` (ITU-R BT.601 gray) or `red` (a red seal or red
    /// header over black text all but vanishes in the red channel, DA/T 31-2017 9.3's red stamps).
    #[serde(default = "default_channel")]
    pub channel: Channel,
    /// Languages for a second reading of doubtful lines (a Latin word under `recheck_below` in a line):
    /// `chi_sim`, so that a CJK line `chi_sim+eng` took for Latin is read as CJK ([`Tesseract::with_recheck`]).
    /// Absent: no second reading.
    #[serde(default)]
    pub recheck_languages: Option<String>,
    /// The word confidence (0–100) under which a Latin word makes its line doubtful. Clean Latin text reads
    /// at 95–97 with Tesseract 5.3; CJK taken for Latin at 19–80.
    #[serde(default = "default_recheck_below")]
    pub recheck_below: u8,
}

/// The channel of a colour page that OCR reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Luma,
    Red,
}

fn yes() -> bool {
    true
}
fn default_languages() -> String {
    "chi_sim+eng".into()
}
fn default_psm() -> u8 {
    3
}
fn default_min_confidence() -> u8 {
    60
}
fn default_access() -> Vec<AccessForm> {
    vec![AccessForm::Pdf]
}
fn default_recheck_below() -> u8 {
    90
}
fn default_channel() -> Channel {
    Channel::Luma
}

impl Default for OcrPolicy {
    fn default() -> Self {
        OcrPolicy {
            enabled: false,
            rules: Vec::new(),
            languages: default_languages(),
            psm: default_psm(),
            min_confidence: default_min_confidence(),
            access: default_access(),
            full_text: true,
            channel: default_channel(),
            recheck_languages: None,
            recheck_below: default_recheck_below(),
        }
    }
}

impl OcrPolicy {
    /// Check the values; the message names the field.
    pub fn check(&self) -> Result<(), String> {
        if self.min_confidence > 100 {
            return Err(format!(
                "ocr.min_confidence = {}: use 0–100",
                self.min_confidence
            ));
        }
        if self.recheck_below > 100 {
            return Err(format!(
                "ocr.recheck_below = {}: use 0–100",
                self.recheck_below
            ));
        }
        if self.psm > 13 {
            return Err(format!("ocr.psm = {}: Tesseract modes are 0–13", self.psm));
        }
        let langs_ok = |s: &str| {
            !s.is_empty()
                && s.split('+').all(|l| {
                    !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                })
        };
        if !langs_ok(&self.languages) {
            return Err(format!(
                "ocr.languages = '{}': Tesseract language names joined by '+' (chi_sim+eng)",
                self.languages
            ));
        }
        if let Some(r) = &self.recheck_languages
            && !r.is_empty()
            && !langs_ok(r)
        {
            return Err(format!(
                "ocr.recheck_languages = '{r}': Tesseract language names joined by '+' (chi_sim)"
            ));
        }
        Ok(())
    }

    /// Replace the policy's `access` list (the command line's `--access`).
    pub fn set_access(&mut self, choice: AccessChoice) {
        self.access = [(choice.pdf, AccessForm::Pdf), (choice.ofd, AccessForm::Ofd)]
            .into_iter()
            .filter_map(|(on, f)| on.then_some(f))
            .collect();
    }

    /// Whether items under policy rule `rule` are OCR'd.
    /// Nothing to make (no access form, no full text) means no OCR either.
    pub fn applies_to(&self, rule: &str) -> bool {
        self.enabled
            && (self.full_text || !self.access.is_empty())
            && self.rules.iter().any(|r| r == rule)
    }

    /// Whether `form` is among the searchable access forms.
    pub fn wants(&self, form: AccessForm) -> bool {
        self.access.contains(&form)
    }
}

/// The grayscale image an engine reads, from a decoded page.
pub fn ocr_image(img: &image::DynamicImage, channel: Channel) -> image::GrayImage {
    match (channel, img) {
        (Channel::Red, image::DynamicImage::ImageRgb8(rgb)) => {
            let (w, h) = rgb.dimensions();
            let px: Vec<u8> = rgb.as_raw().chunks_exact(3).map(|p| p[0]).collect();
            image::GrayImage::from_raw(w, h, px).unwrap_or_else(|| img.to_luma8())
        }
        (_, image::DynamicImage::ImageLuma8(g)) => g.clone(),
        _ => img.to_luma8(),
    }
}

/// Character error rate: Levenshtein distance between the two texts' characters (whitespace removed:
/// Chinese text has no word spaces and OCR engines disagree on them) over the reference's length.
pub fn cer(reference: &str, hypothesis: &str) -> f64 {
    let r: Vec<char> = reference.chars().filter(|c| !c.is_whitespace()).collect();
    let h: Vec<char> = hypothesis.chars().filter(|c| !c.is_whitespace()).collect();
    if r.is_empty() {
        return if h.is_empty() { 0.0 } else { 1.0 };
    }
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    let mut cur = vec![0; h.len() + 1];
    for (i, rc) in r.iter().enumerate() {
        cur[0] = i + 1;
        for (j, hc) in h.iter().enumerate() {
            let sub = prev[j] + usize::from(rc != hc);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[h.len()] as f64 / r.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(t: &str, x0: u32, conf: f32) -> Word {
        Word {
            text: t.into(),
            bbox: BBox {
                x0,
                y0: 0,
                x1: x0 + 10,
                y1: 10,
            },
            confidence: conf,
        }
    }

    #[test]
    fn text_joins_cjk_without_spaces_and_latin_with() {
        let bbox = BBox {
            x0: 0,
            y0: 0,
            x1: 100,
            y1: 10,
        };
        let p = PageText {
            width: 100,
            height: 20,
            lines: vec![Line {
                bbox,
                words: vec![
                    word("精准", 0, 90.0),
                    word("扶贫", 10, 80.0),
                    word("Hello", 20, 70.0),
                    word("World", 30, 60.0),
                    word("年", 40, 50.0),
                ],
                paragraph_start: true,
            }],
        };
        assert_eq!(p.text(), "精准扶贫Hello World年\n");
        let m = p.mean_confidence().unwrap();
        // (2·90 + 2·80 + 5·70 + 5·60 + 1·50) / 15
        assert!((m - 1040.0 / 15.0).abs() < 1e-9, "{m}");
        assert_eq!(PageText::default().mean_confidence(), None);
    }

    #[test]
    fn cer_is_levenshtein_over_reference_length() {
        assert_eq!(cer("精准扶贫", "精准扶贫"), 0.0);
        assert_eq!(cer("精准扶贫", "精准 扶 贫"), 0.0);
        assert!((cer("abcd", "abxd") - 0.25).abs() < 1e-9);
        assert!((cer("abcd", "abd") - 0.25).abs() < 1e-9);
        assert!((cer("ab", "abcd") - 1.0).abs() < 1e-9);
    }

    #[test]
    fn policy_checks_name_the_field() {
        let mut p = OcrPolicy {
            enabled: true,
            rules: vec!["scan-page".into()],
            ..OcrPolicy::default()
        };
        assert!(p.check().is_ok());
        assert!(p.applies_to("scan-page") && !p.applies_to("photo"));
        p.languages = "chi_sim+".into();
        assert!(p.check().unwrap_err().contains("ocr.languages"));
        p.languages = "chi_sim;rm -rf".into();
        assert!(p.check().is_err());
        p.languages = "chi_sim+eng".into();
        p.recheck_languages = Some("chi sim".into());
        assert!(p.check().unwrap_err().contains("ocr.recheck_languages"));
    }

    #[test]
    fn access_from_the_command_line() {
        let mut p = OcrPolicy {
            enabled: true,
            rules: vec!["scan-page".into()],
            ..OcrPolicy::default()
        };
        let set = |p: &mut OcrPolicy, s: &str| s.parse().map(|c| p.set_access(c));
        set(&mut p, "pdf,ofd").unwrap();
        assert_eq!(p.access, [AccessForm::Pdf, AccessForm::Ofd]);
        set(&mut p, " OFD ").unwrap();
        assert_eq!(p.access, [AccessForm::Ofd]);
        assert!(!p.wants(AccessForm::Pdf));
        set(&mut p, "none").unwrap();
        assert!(p.access.is_empty() && p.check().is_ok());
        // The full text still needs OCR; without it there is nothing to OCR for.
        assert!(p.applies_to("scan-page"));
        p.full_text = false;
        assert!(!p.applies_to("scan-page"));
        let e = set(&mut p, "pdf,html").unwrap_err();
        assert!(e.contains("'html'"), "{e}");
        assert!(set(&mut p, "").is_err());
    }
}
