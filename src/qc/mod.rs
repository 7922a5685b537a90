//! Scan quality control after DA/T 31-2017 (纸质档案数字化规范).
//!
//! Checks per page — resolution (9.4), colour mode (9.3), blank pages, skew (10: deskew, [U] tolerance) —
//! and per batch — page sequence and naming (9.6), identical images, one batch one master format (9.5).
//! Thresholds are data ([`QcPolicy`], `profiles/qc.toml`); the checks never read files themselves: the
//! caller hands in decoded pixels and what characterization found, so QC is pure and testable.
//!
//! Findings are data. A page that fails does not stop the batch.

mod blank;
mod files;
mod sequence;
mod skew;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::{Finding, Level};

pub use crate::intake::page::{NameKind, PageName, classify_name, parse_page_name};
pub use crate::raster::{ColourMode, colour_mode_of};
pub use blank::{InkStats, ink_stats};
pub use files::{
    Checked, QcReport, assemble, check_files, check_files_with, check_files_with_progress,
    check_photo, check_raster, check_scanned, sequence_input, thumbnail, undecodable,
};
pub use sequence::{SequenceInput, check_sequence};
pub use skew::estimate_skew;

/// The embedded default thresholds.
pub const EMBEDDED_QC: &str = include_str!("../../profiles/qc.toml");

/// Rule identifiers, verbatim, as they appear in findings.
pub mod rules {
    pub const RESOLUTION: &str = "DA/T 31-2017 9.4";
    pub const COLOUR_MODE: &str = "DA/T 31-2017 9.3";
    pub const MASTER_FORMAT: &str = "DA/T 31-2017 9.5";
    pub const NAMING: &str = "DA/T 31-2017 9.6";
    /// Image processing: deskew; no missed, repeated or extra scans.
    pub const PROCESSING: &str = "DA/T 31-2017 10";
    /// Digital photos: the date taken is part of a photo's description.
    pub const PHOTO: &str = "DA/T 54-2014";
}

/// Why QC could not run (not a failed page: that is a [`Finding`]).
#[derive(Debug, thiserror::Error)]
pub enum QcError {
    #[error("QC policy {file}: {message}")]
    Policy { file: String, message: String },
    #[error("cannot read QC policy {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolutionPolicy {
    pub min_dpi: f64,
    pub recommended_dpi: f64,
    pub missing_is_error: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkewPolicy {
    pub tolerance_degrees: f64,
    pub max_search_degrees: f64,
    pub work_width: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlankPolicy {
    pub max_ink_fraction: f64,
    pub margin: f64,
    pub ink_contrast: u8,
    pub work_width: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequencePolicy {
    pub digits: usize,
}

/// The memory budget of one decoded image ([`crate::raster::Budget`]), checked from the header before any
/// pixel is allocated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecodePolicy {
    pub max_bytes: u64,
}

/// QC thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QcPolicy {
    pub resolution: ResolutionPolicy,
    pub skew: SkewPolicy,
    pub blank: BlankPolicy,
    pub sequence: SequencePolicy,
    pub decode: DecodePolicy,
}

impl QcPolicy {
    /// The embedded defaults (validated by tests).
    pub fn embedded() -> Self {
        // Parsed once per process (crate::profile).
        static EMBEDDED: crate::profile::Embedded<QcPolicy> =
            crate::profile::Embedded::new("<embedded>/profiles/qc.toml", EMBEDDED_QC, |t, f| {
                QcPolicy::from_toml(t, f).map_err(|e| e.to_string())
            });
        EMBEDDED.get().clone()
    }

    pub fn from_toml(src: &str, file: &str) -> Result<Self, QcError> {
        let p: QcPolicy = crate::profile::parse(src, file).map_err(profile_error)?;
        Self::checked(p, file)
    }

    /// The thresholds' own rules, after parsing.
    fn checked(p: QcPolicy, file: &str) -> Result<Self, QcError> {
        let bad = |m: &str| {
            Err(QcError::Policy {
                file: file.into(),
                message: m.into(),
            })
        };
        if !(p.resolution.min_dpi > 0.0 && p.resolution.recommended_dpi >= p.resolution.min_dpi) {
            return bad("resolution: need 0 < min_dpi <= recommended_dpi");
        }
        if !(p.skew.tolerance_degrees > 0.0 && p.skew.max_search_degrees > p.skew.tolerance_degrees)
        {
            return bad("skew: need 0 < tolerance_degrees < max_search_degrees");
        }
        if !(0.0..0.45).contains(&p.blank.margin) {
            return bad("blank: margin must be in [0, 0.45)");
        }
        if p.skew.work_width < 200 || p.blank.work_width < 100 {
            return bad("work_width too small");
        }
        if p.decode.max_bytes < 1 << 20 {
            return bad("decode: max_bytes must be at least 1 MiB");
        }
        Ok(p)
    }

    /// A fresh decode budget for a run under this policy.
    pub fn budget(&self) -> crate::raster::Budget {
        crate::raster::Budget::new(self.decode.max_bytes)
    }

    /// The embedded thresholds with the file at `path` laid over them (a file may set only the keys it
    /// changes, e.g. `[resolution] min_dpi = 200`).
    pub fn load(path: &Path) -> Result<Self, QcError> {
        let file = path.display().to_string();
        let text = crate::profile::read(path).map_err(profile_error)?;
        let p: QcPolicy =
            crate::profile::overlay(EMBEDDED_QC, "<embedded>/profiles/qc.toml", &text, &file)
                .map_err(profile_error)?;
        Self::checked(p, &file)
    }
}

/// A profile error as a QC error: the file with its line, `qc.toml:4`.
fn profile_error(e: crate::profile::ProfileError) -> QcError {
    QcError::Policy {
        file: match e.line {
            Some(l) => format!("{}:{l}", e.file),
            None => e.file,
        },
        message: e.message,
    }
}

/// What the caller knows of a page from its file (characterization).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageMeta {
    /// Horizontal and vertical resolution in dots per inch, if the file records it.
    pub dpi: Option<(f64, f64)>,
    /// Colour mode from the file's tags, if known; otherwise QC derives it from the pixels.
    pub colour_mode: Option<ColourMode>,
}

/// The QC result of one page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageReport {
    pub path: String,
    /// The lower of the two axes' resolutions.
    pub dpi: Option<f64>,
    pub colour_mode: ColourMode,
    pub blank: bool,
    /// Estimated skew in degrees, positive = content rotated counter-clockwise; `None` when the page
    /// has too little content to measure.
    pub skew_degrees: Option<f64>,
    pub ink_fraction: f64,
    pub findings: Vec<Finding>,
    /// A small JPEG of the page for the HTML report, made from the page's one decode (when asked for).
    #[serde(skip)]
    pub thumbnail: Option<Thumbnail>,
}

/// A page thumbnail: JPEG bytes and their size in pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Thumbnail {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Long side of a thumbnail in the QC report, in pixels.
pub const THUMBNAIL_PX: u32 = 320;

impl PageReport {
    /// True when no finding is an error.
    pub fn ok(&self) -> bool {
        self.findings.iter().all(|f| f.level < Level::Error)
    }
}

fn finding(rule: &str, level: Level, path: &str, zh: String, en: String) -> Finding {
    Finding::new(rule, level, Some(path.to_string()), zh, en)
}

/// Check one decoded page.
pub fn check_page(
    path: &str,
    img: &image::DynamicImage,
    meta: &PageMeta,
    policy: &QcPolicy,
) -> PageReport {
    let mut findings = Vec::new();
    let dpi = meta.dpi.map(|(x, y)| x.min(y));
    match dpi {
        None => findings.push(finding(
            rules::RESOLUTION,
            if policy.resolution.missing_is_error {
                Level::Error
            } else {
                Level::Warning
            },
            path,
            format!(
                "文件未记录分辨率, 无法确认 ≥ {:.0} dpi",
                policy.resolution.min_dpi
            ),
            format!(
                "no resolution recorded; cannot confirm ≥ {:.0} dpi",
                policy.resolution.min_dpi
            ),
        )),
        Some(d) if d < policy.resolution.min_dpi => findings.push(finding(
            rules::RESOLUTION,
            Level::Error,
            path,
            format!(
                "分辨率 {d:.0} dpi 低于最低要求 {:.0} dpi",
                policy.resolution.min_dpi
            ),
            format!(
                "resolution {d:.0} dpi is below the minimum of {:.0} dpi",
                policy.resolution.min_dpi
            ),
        )),
        Some(d) if d < policy.resolution.recommended_dpi => findings.push(finding(
            rules::RESOLUTION,
            Level::Warning,
            path,
            format!(
                "分辨率 {d:.0} dpi 低于建议值 {:.0} dpi",
                policy.resolution.recommended_dpi
            ),
            format!(
                "resolution {d:.0} dpi is below the recommended {:.0} dpi",
                policy.resolution.recommended_dpi
            ),
        )),
        Some(_) => {}
    }
    if let Some((x, y)) = meta.dpi
        && (x - y).abs() > 0.5
    {
        findings.push(finding(
            rules::RESOLUTION,
            Level::Warning,
            path,
            format!("水平与垂直分辨率不一致: {x:.0} × {y:.0} dpi"),
            format!("horizontal and vertical resolution differ: {x:.0} × {y:.0} dpi"),
        ));
    }

    let colour_mode = meta.colour_mode.unwrap_or_else(|| colour_mode_of(img));
    // Both checks work on box-averaged luma, reduced straight from the decoded pixels in one walk
    // (blank::reduce_image_each).
    let [for_blank, for_skew] =
        blank::reduce_image_each(img, [policy.blank.work_width, policy.skew.work_width]);
    let stats = blank::ink_stats_reduced(&for_blank, &policy.blank);
    let blank = stats.ink_fraction <= policy.blank.max_ink_fraction;
    if blank {
        findings.push(finding(
            rules::PROCESSING,
            Level::Warning,
            path,
            format!("疑似空白页 (墨迹占比 {:.4}%)", stats.ink_fraction * 100.0),
            format!(
                "possibly a blank page (ink {:.4}%)",
                stats.ink_fraction * 100.0
            ),
        ));
    }
    let skew_degrees = if blank {
        None
    } else {
        skew::estimate_skew_reduced(&for_skew, &policy.skew)
    };
    if let Some(s) = skew_degrees
        && s.abs() > policy.skew.tolerance_degrees
    {
        findings.push(finding(
            rules::PROCESSING,
            Level::Error,
            path,
            format!(
                "页面倾斜 {s:.2}°, 超过允许的 {:.1}°",
                policy.skew.tolerance_degrees
            ),
            format!(
                "page skewed {s:.2}°, more than the allowed {:.1}°",
                policy.skew.tolerance_degrees
            ),
        ));
    }
    PageReport {
        path: path.to_string(),
        dpi,
        colour_mode,
        blank,
        skew_degrees,
        ink_fraction: stats.ink_fraction,
        findings,
        thumbnail: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_policy_loads() {
        let p = QcPolicy::embedded();
        assert_eq!(p.resolution.min_dpi, 200.0);
        assert_eq!(p.skew.tolerance_degrees, 1.0);
    }

    #[test]
    fn bad_policy_is_refused() {
        let bad = EMBEDDED_QC.replace("min_dpi = 200.0", "min_dpi = 400.0");
        assert!(QcPolicy::from_toml(&bad, "x").is_err());
        let unknown = format!("{EMBEDDED_QC}\n[extra]\na = 1\n");
        assert!(QcPolicy::from_toml(&unknown, "x").is_err());
    }
}
