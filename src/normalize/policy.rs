//! The format policy as data (issue 5, item 2): per PUID or format family, the preservation action and the
//! access derivatives. The default is `profiles/policy.toml`, embedded in the binary; a file given with
//! `--policy` is laid over it (same `id` replaces, new rules are tried first, `inherit = false` drops the
//! defaults).

use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::error::PolicyError;

/// The embedded default policy.
pub const DEFAULT_POLICY: &str = include_str!("../../profiles/policy.toml");

/// Broad format families a rule can name when a PUID list would be too fine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Raster,
    Audio,
    Video,
    Email,
    Mbox,
    Pdf,
    Ofd,
    Office,
    Other,
}

/// What the policy needs to know about a file's format: PUID where PRONOM has one, MIME, family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatKey {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub puid: Option<String>,
    pub mime: String,
    pub family: Family,
}

impl FormatKey {
    /// The key for an identification made elsewhere (`dangan::identify`): the family follows the MIME type.
    pub fn from_identification(id: &crate::model::Identification) -> Self {
        FormatKey {
            puid: id.puid.clone(),
            mime: id.mime.clone(),
            family: family_of_mime(&id.mime),
        }
    }
}

/// The family of a MIME type.
pub fn family_of_mime(mime: &str) -> Family {
    let m = mime.to_ascii_lowercase();
    match m.as_str() {
        "message/rfc822" => Family::Email,
        "application/mbox" => Family::Mbox,
        // Issue 17: Outlook MSG and PST are mail containers like MBOX (split into EML per message).
        "application/vnd.ms-outlook" | "application/vnd.ms-outlook-pst" => Family::Mbox,
        "application/pdf" => Family::Pdf,
        "application/ofd" => Family::Ofd,
        _ if m.starts_with("image/") => Family::Raster,
        _ if m.starts_with("audio/") => Family::Audio,
        _ if m.starts_with("video/") => Family::Video,
        _ if m.contains("msword")
            || m.contains("officedocument")
            || m.contains("opendocument")
            || m.contains("ms-excel")
            || m.contains("ms-powerpoint") =>
        {
            Family::Office
        }
        _ => Family::Other,
    }
}

/// Whether a file is a page of a scanned item (DA/T 31-2017 9.6 page naming) or a file of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Page,
    File,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    #[serde(default)]
    pub puids: Vec<String>,
    #[serde(default)]
    pub families: Vec<Family>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

impl Match {
    pub fn fits(&self, key: &FormatKey, role: Role) -> bool {
        let format = key.puid.as_ref().is_some_and(|p| self.puids.contains(p))
            || self.families.contains(&key.family);
        format && self.role.is_none_or(|r| r == role)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Keep,
    Convert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Tiff,
    Wav,
    Eml,
    Mkv,
}

/// TIFF compression for masters. Both are lossless and baseline-readable (TIFF 6.0 §13 LZW; Adobe Deflate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TiffCompression {
    Deflate,
    Lzw,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeflateLevel {
    Fast,
    Balanced,
    Best,
}

/// The preservation action, as written in the policy (validated after parsing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preservation {
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<TiffCompression>,
    /// TIFF Predictor 2 (horizontal differencing, TIFF 6.0 §14): smaller files, still lossless.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predictor: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<DeflateLevel>,
    /// WAV bits per sample (16 or 24).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits: Option<u16>,
}

/// One access derivative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Access {
    /// One PDF/A-2b per item with its pages in order.
    ItemPdf {
        #[serde(default = "default_pdf_dpi")]
        dpi: u32,
        #[serde(default = "default_pdf_quality")]
        quality: u8,
    },
    /// A JPEG of at most `max_px` on the long side, EXIF orientation applied.
    Jpeg {
        max_px: u32,
        #[serde(default = "default_jpeg_quality")]
        quality: u8,
        #[serde(default = "default_label")]
        label: String,
    },
    Mp4 {
        #[serde(default = "default_crf")]
        crf: u8,
    },
    Html {},
    OfficePdf {},
}

fn default_pdf_dpi() -> u32 {
    150
}
fn default_pdf_quality() -> u8 {
    75
}
fn default_jpeg_quality() -> u8 {
    85
}
fn default_label() -> String {
    "access".into()
}
fn default_crf() -> u8 {
    23
}

/// One rule of the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub id: String,
    #[serde(rename = "match")]
    pub matches: Match,
    pub preservation: Preservation,
    pub access: Vec<Access>,
}

/// A validated policy: rules in the order they are tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub name: String,
    pub version: String,
    /// Where it came from: `<built-in>` or the path of the overlay file.
    pub source: String,
    pub rules: Vec<Rule>,
    /// OCR of scanned items and their searchable access forms (issue 14, the `[ocr]` section).
    pub ocr: crate::ocr::OcrPolicy,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    #[serde(rename = "match")]
    matches: Spanned<Match>,
    preservation: Spanned<Preservation>,
    #[serde(default)]
    access: Vec<Spanned<Access>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default = "yes")]
    inherit: bool,
    #[serde(default, rename = "rule")]
    rules: Vec<RawRule>,
    #[serde(default)]
    ocr: Option<Spanned<crate::ocr::OcrPolicy>>,
}

fn yes() -> bool {
    true
}

use crate::profile::line_of;

impl Policy {
    /// The built-in default (`profiles/policy.toml`).
    pub fn embedded() -> Self {
        // Parsed once per process (crate::profile); the embedded text is tested below.
        static EMBEDDED: crate::profile::Embedded<Policy> =
            crate::profile::Embedded::new("<built-in>", DEFAULT_POLICY, |t, f| {
                Policy::parse(t, f).map_err(|e| e.to_string())
            });
        EMBEDDED.get().clone()
    }

    /// The default policy, or the default with `path` laid over it.
    pub fn load_or_embedded(path: Option<&Path>) -> Result<Self, PolicyError> {
        match path {
            None => Ok(Self::embedded()),
            Some(p) => {
                let file = p.display().to_string();
                let text = crate::profile::read(p).map_err(|e| PolicyError {
                    file: e.file,
                    line: e.line,
                    reason: e.message,
                })?;
                Self::embedded().overlay(&text, &file)
            }
        }
    }

    /// Parse a complete policy (no overlay).
    pub fn parse(text: &str, file: &str) -> Result<Self, PolicyError> {
        let raw = parse_raw(text, file)?;
        let ocr = ocr_section(raw.ocr.as_ref(), text, file)?.unwrap_or_default();
        let rules = validate(raw.rules, text, file)?;
        Ok(Policy {
            name: raw.name.unwrap_or_else(|| "unnamed".into()),
            version: raw.version.unwrap_or_else(|| "1".into()),
            source: file.into(),
            rules,
            ocr,
        })
    }

    /// Lay the policy in `text` over this one.
    pub fn overlay(&self, text: &str, file: &str) -> Result<Self, PolicyError> {
        let raw = parse_raw(text, file)?;
        let inherit = raw.inherit;
        let name = raw.name.clone();
        let version = raw.version.clone();
        // An `[ocr]` section in the overlay replaces the built-in one as a whole.
        let ocr = ocr_section(raw.ocr.as_ref(), text, file)?.unwrap_or_else(|| self.ocr.clone());
        let own = validate(raw.rules, text, file)?;
        let mut rules = if inherit {
            self.rules.clone()
        } else {
            Vec::new()
        };
        let mut front = Vec::new();
        for r in own {
            match rules.iter_mut().find(|b| b.id == r.id) {
                Some(slot) => *slot = r,
                None => front.push(r),
            }
        }
        front.extend(rules);
        Ok(Policy {
            name: name.unwrap_or_else(|| format!("{} + {file}", self.name)),
            version: version.unwrap_or_else(|| self.version.clone()),
            source: file.into(),
            rules: front,
            ocr,
        })
    }

    /// The first rule that fits a file.
    pub fn select(&self, key: &FormatKey, role: Role) -> Option<&Rule> {
        self.rules.iter().find(|r| r.matches.fits(key, role))
    }
}

fn ocr_section(
    raw: Option<&Spanned<crate::ocr::OcrPolicy>>,
    text: &str,
    file: &str,
) -> Result<Option<crate::ocr::OcrPolicy>, PolicyError> {
    let Some(o) = raw else { return Ok(None) };
    o.get_ref().check().map_err(|reason| PolicyError {
        file: file.into(),
        line: Some(line_of(text, o.span().start)),
        reason,
    })?;
    Ok(Some(o.get_ref().clone()))
}

fn parse_raw(text: &str, file: &str) -> Result<RawPolicy, PolicyError> {
    crate::profile::parse(text, file).map_err(|e| PolicyError {
        file: e.file,
        line: e.line,
        reason: e.message,
    })
}

fn validate(raw: Vec<RawRule>, text: &str, file: &str) -> Result<Vec<Rule>, PolicyError> {
    let err = |offset: usize, reason: String| PolicyError {
        file: file.into(),
        line: Some(line_of(text, offset)),
        reason,
    };
    let mut out: Vec<Rule> = Vec::new();
    for r in raw {
        let id = r.id.get_ref().trim().to_string();
        if id.is_empty() {
            return Err(err(r.id.span().start, "rule id is empty".into()));
        }
        if out.iter().any(|o| o.id == id) {
            return Err(err(r.id.span().start, format!("duplicate rule id '{id}'")));
        }
        let m = r.matches.get_ref();
        if m.puids.is_empty() && m.families.is_empty() {
            return Err(err(
                r.matches.span().start,
                format!("rule '{id}' matches nothing: give `puids` or `families`"),
            ));
        }
        if let Some(bad) = m.puids.iter().find(|p| !is_puid(p)) {
            return Err(err(
                r.matches.span().start,
                format!("'{bad}' is not a PRONOM PUID (fmt/N or x-fmt/N)"),
            ));
        }
        let p = r.preservation.get_ref();
        let at = r.preservation.span().start;
        match (p.action, p.to) {
            (Action::Keep, Some(_)) => {
                return Err(err(at, "`to` makes no sense with action = \"keep\"".into()));
            }
            (Action::Convert, None) => {
                return Err(err(at, "action = \"convert\" needs `to`".into()));
            }
            _ => {}
        }
        let tiff = p.to == Some(Target::Tiff);
        if !tiff && (p.compression.is_some() || p.predictor.is_some() || p.level.is_some()) {
            return Err(err(
                at,
                "`compression`, `predictor` and `level` apply to to = \"tiff\" only".into(),
            ));
        }
        if p.to != Some(Target::Wav) && p.bits.is_some() {
            return Err(err(at, "`bits` applies to to = \"wav\" only".into()));
        }
        if let Some(b) = p.bits
            && b != 16
            && b != 24
        {
            return Err(err(
                at,
                format!("bits = {b}: WAV masters are 16 or 24 bits"),
            ));
        }
        for a in &r.access {
            let at = a.span().start;
            match a.get_ref() {
                Access::ItemPdf { dpi, quality } => {
                    if !(72..=600).contains(dpi) {
                        return Err(err(at, format!("item-pdf dpi = {dpi}: use 72–600")));
                    }
                    check_quality(*quality).map_err(|m| err(at, m))?;
                }
                Access::Jpeg {
                    max_px,
                    quality,
                    label,
                } => {
                    if !(16..=65_535).contains(max_px) {
                        return Err(err(at, format!("jpeg max_px = {max_px}: use 16–65535")));
                    }
                    check_quality(*quality).map_err(|m| err(at, m))?;
                    if label.is_empty()
                        || !label
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    {
                        return Err(err(
                            at,
                            format!("jpeg label '{label}': use letters, digits, '-' or '_'"),
                        ));
                    }
                }
                Access::Mp4 { crf } => {
                    if *crf > 51 {
                        return Err(err(at, format!("mp4 crf = {crf}: H.264 CRF is 0–51")));
                    }
                }
                Access::Html {} | Access::OfficePdf {} => {}
            }
        }
        out.push(Rule {
            id,
            matches: r.matches.into_inner(),
            preservation: r.preservation.into_inner(),
            access: r.access.into_iter().map(Spanned::into_inner).collect(),
        });
    }
    Ok(out)
}

fn check_quality(q: u8) -> Result<(), String> {
    if (1..=100).contains(&q) {
        Ok(())
    } else {
        Err(format!("quality = {q}: JPEG quality is 1–100"))
    }
}

fn is_puid(p: &str) -> bool {
    let num = p.strip_prefix("fmt/").or_else(|| p.strip_prefix("x-fmt/"));
    num.is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(puid: Option<&str>, family: Family) -> FormatKey {
        FormatKey {
            puid: puid.map(str::to_string),
            mime: String::new(),
            family,
        }
    }

    #[test]
    fn embedded_policy_parses_and_selects() {
        let p = Policy::embedded();
        // DA/T 31-2017 9.5: a JPEG page is an accepted master, kept; a PNG page gets a TIFF master.
        let page = p.select(&key(Some("fmt/43"), Family::Raster), Role::Page);
        assert_eq!(page.map(|r| r.id.as_str()), Some("scan-page-jpeg"));
        assert_eq!(page.and_then(|r| r.preservation.to), None);
        let png = p.select(&key(Some("fmt/11"), Family::Raster), Role::Page);
        assert_eq!(png.map(|r| r.id.as_str()), Some("scan-page"));
        assert_eq!(png.and_then(|r| r.preservation.to), Some(Target::Tiff));
        let overlay = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/profiles/policy-tiff-masters.toml"
        ))
        .expect("overlay");
        let lossless = p
            .overlay(&overlay, "policy-tiff-masters.toml")
            .expect("overlay");
        let page = lossless.select(&key(Some("fmt/43"), Family::Raster), Role::Page);
        assert_eq!(page.and_then(|r| r.preservation.to), Some(Target::Tiff));
        let tiff_page = p.select(&key(Some("fmt/353"), Family::Raster), Role::Page);
        assert_eq!(tiff_page.map(|r| r.id.as_str()), Some("scan-page-tiff"));
        let photo = p.select(&key(Some("fmt/43"), Family::Raster), Role::File);
        assert_eq!(photo.map(|r| r.id.as_str()), Some("photo"));
        let wav = p.select(&key(Some("fmt/141"), Family::Audio), Role::File);
        assert_eq!(wav.map(|r| r.id.as_str()), Some("audio-wav"));
        let mp3 = p.select(&key(Some("fmt/134"), Family::Audio), Role::File);
        assert_eq!(mp3.map(|r| r.id.as_str()), Some("audio-compressed"));
    }

    #[test]
    fn overlay_replaces_by_id_and_prepends_new_rules() {
        let base = Policy::embedded();
        let over = base
            .overlay(
                r#"
[[rule]]
id = "scan-page"
match = { families = ["raster"], role = "page" }
preservation = { action = "keep" }
access = []

[[rule]]
id = "tiff-keep"
match = { puids = ["fmt/353"] }
preservation = { action = "keep" }
"#,
                "over.toml",
            )
            .unwrap();
        assert_eq!(over.rules[0].id, "tiff-keep");
        let scan = over.rules.iter().find(|r| r.id == "scan-page").unwrap();
        assert_eq!(scan.preservation.action, Action::Keep);
        assert_eq!(over.rules.len(), base.rules.len() + 1);
    }

    #[test]
    fn refusals_carry_file_line_and_reason() {
        let cases = [
            (
                "name = \"x\"\n[[rule]]\nid = \"a\"\nmatch = { families = [\"raster\"] }\npreservation = { action = \"convert\" }\n",
                5,
                "needs `to`",
            ),
            (
                "[[rule]]\nid = \"a\"\nmatch = { families = [\"pictures\"] }\npreservation = { action = \"keep\" }\n",
                3,
                "unknown variant",
            ),
            (
                "[[rule]]\nid = \"a\"\nmatch = { puids = [\"fmt43\"] }\npreservation = { action = \"keep\" }\n",
                3,
                "not a PRONOM PUID",
            ),
            (
                "[[rule]]\nid = \"a\"\nmatch = { families = [\"raster\"] }\npreservation = { action = \"keep\" }\naccess = [{ kind = \"item-pdf\", dpi = 20 }]\n",
                5,
                "72–600",
            ),
            (
                "[[rule]]\nid = \"a\"\nmatch = { families = [\"raster\"] }\npreservation = { action = \"keep\", colour = 1 }\n",
                4,
                "unknown field",
            ),
            ("[[rule]]\nid = \"a\nmatch = {}\n", 2, ""),
        ];
        for (text, line, reason) in cases {
            let e = Policy::parse(text, "p.toml").unwrap_err();
            assert_eq!(e.line, Some(line), "{e}");
            assert!(e.reason.contains(reason), "{e}");
            assert!(
                e.to_string().starts_with(&format!("p.toml:{line}: ")),
                "{e}"
            );
        }
    }
}
