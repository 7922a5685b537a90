//! QC of files on disk: identify, read resolution and colour mode from the headers, decode the pixels,
//! run the page checks, then the batch checks (sequence, identical images, one format).

use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use crate::fixity::digest::{Algorithm, hash_file};
use crate::handler::{self, Characterization, tiff::ColorMode};
use crate::model::{Finding, Level};

use super::{
    ColourMode, PageMeta, PageReport, QcPolicy, SequenceInput, check_page, check_sequence,
};

/// Decoding limits: a 600-dpi A2 colour scan is ~14000×10000; anything far beyond is refused rather than
/// allowed to exhaust memory.
const MAX_DECODE_BYTES: u64 = 1 << 30;

/// The QC result of a set of files.
#[derive(Debug, Clone, Serialize)]
pub struct QcReport {
    /// No page or batch finding is an error.
    pub ok: bool,
    pub pages: Vec<PageReport>,
    /// Batch-level findings (sequence, duplicates, formats) and files that are not scans.
    pub findings: Vec<Finding>,
}

fn colour_from_header(ch: &Characterization) -> Option<ColourMode> {
    let map = |m: ColorMode| match m {
        ColorMode::Color => ColourMode::Colour,
        ColorMode::Grayscale => ColourMode::Grayscale,
        ColorMode::Bitonal => ColourMode::Bitonal,
    };
    ch.tiff.as_ref().and_then(|t| t.color_mode).map(map)
}

/// Resolution in dpi from whatever the format records: TIFF tags, PNG pHYs, JFIF density, EXIF.
pub fn dpi_from_header(ch: &Characterization) -> Option<(f64, f64)> {
    if let Some(t) = &ch.tiff
        && let (Some(x), Some(y)) = (t.x_dpi, t.y_dpi)
    {
        return Some((x, y));
    }
    if let Some(p) = &ch.png
        && let (Some(x), Some(y)) = (p.x_dpi, p.y_dpi)
    {
        return Some((x, y));
    }
    if let Some(j) = &ch.jpeg
        && let (Some(unit), Some(x), Some(y)) = (j.density_unit, j.x_density, j.y_density)
    {
        // JFIF density unit 1 = dots per inch, 2 = dots per centimetre; 0 is an aspect ratio only.
        match unit {
            1 => return Some((f64::from(x), f64::from(y))),
            2 => return Some((f64::from(x) * 2.54, f64::from(y) * 2.54)),
            _ => {}
        }
    }
    if let Some(e) = &ch.exif
        && let (Some(x), Some(y)) = (e.x_resolution, e.y_resolution)
    {
        // EXIF ResolutionUnit 2 = inch (default), 3 = centimetre.
        let k = if e.resolution_unit == Some(3) {
            2.54
        } else {
            1.0
        };
        return Some((x * k, y * k));
    }
    None
}

fn decode(path: &Path) -> Result<image::DynamicImage, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let mut reader = image::ImageReader::new(std::io::Cursor::new(&bytes[..]))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let tiff = reader.format() == Some(image::ImageFormat::Tiff);
    match reader.decode() {
        Ok(img) => Ok(img),
        // Gray + alpha TIFF: `image` refuses it, the TIFF decoder reads it.
        Err(e) if tiff => handler::tiff::decode_gray_alpha(&bytes, MAX_DECODE_BYTES)
            .map(|(img, _)| img)
            .map_err(|_| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

enum Checked {
    Page(PageReport, SequenceInput),
    NotAScan(Finding),
}

fn check_one(root: &Path, rel: &str, policy: &QcPolicy) -> Checked {
    let path = root.join(rel);
    let report = handler::inspect_path(&path, &handler::Options::default());
    // Scans are raster images the decoder reads; JPEG 2000 masters are identified but not decoded here.
    let scan = matches!(
        report.mime.as_deref(),
        Some("image/tiff" | "image/jpeg" | "image/png" | "image/gif" | "image/bmp")
    );
    if !scan {
        return Checked::NotAScan(Finding {
            property: None,
            rule: super::rules::MASTER_FORMAT.into(),
            level: Level::Info,
            path: Some(rel.to_string()),
            message: format!(
                "不是扫描图像 ({}), 未做图像质量检查",
                report.format.as_deref().unwrap_or("未识别")
            ),
            message_en: String::new(),
        });
    }
    let meta = PageMeta {
        dpi: dpi_from_header(&report.characterization),
        colour_mode: colour_from_header(&report.characterization),
    };
    let digest = hash_file(&path, &[Algorithm::Sha256], None)
        .ok()
        .and_then(|h| h.get(Algorithm::Sha256).map(str::to_string));
    let seq = SequenceInput {
        path: rel.to_string(),
        digest,
        format: report.puid.clone().or(report.format.clone()),
    };
    let page = match decode(&path) {
        Ok(img) => check_page(rel, &img, &meta, policy),
        Err(e) => PageReport {
            path: rel.to_string(),
            dpi: meta.dpi.map(|(x, y)| x.min(y)),
            colour_mode: meta.colour_mode.unwrap_or(ColourMode::Colour),
            blank: false,
            skew_degrees: None,
            ink_fraction: 0.0,
            findings: vec![Finding {
                property: None,
                rule: super::rules::PROCESSING.into(),
                level: Level::Error,
                path: Some(rel.to_string()),
                message: format!("图像无法解码: {e}"),
                message_en: String::new(),
            }],
        },
    };
    Checked::Page(page, seq)
}

/// QC of the files `rels` (relative to `root`, `/`-separated), in parallel; results in input order.
pub fn check_files(root: &Path, rels: &[String], policy: &QcPolicy) -> QcReport {
    check_files_with_progress(root, rels, policy, &crate::no_tick)
}

/// [`check_files`], telling `progress` as each file is checked.
pub fn check_files_with_progress(
    root: &Path,
    rels: &[String],
    policy: &QcPolicy,
    progress: crate::Tick<'_>,
) -> QcReport {
    let checked: Vec<Checked> = rels
        .par_iter()
        .map(|rel| {
            let c = check_one(root, rel, policy);
            progress(1);
            c
        })
        .collect();
    let mut pages = Vec::new();
    let mut seqs = Vec::new();
    let mut findings = Vec::new();
    for c in checked {
        match c {
            Checked::Page(p, s) => {
                pages.push(p);
                seqs.push(s);
            }
            Checked::NotAScan(f) => findings.push(f),
        }
    }
    findings.extend(check_sequence(&seqs, &policy.sequence));
    let ok = pages.iter().all(PageReport::ok) && findings.iter().all(|f| f.level < Level::Error);
    QcReport {
        ok,
        pages,
        findings,
    }
}
