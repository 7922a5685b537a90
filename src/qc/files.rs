//! QC of scanned files: each file's record (one read: size, digests, identification, headers) and, for a
//! page, its one decode ([`crate::raster`]). Pages get page checks, photos photo checks, everything else a
//! note; then the batch checks over the pages (sequence, identical images, one master format).
//!
//! Which file is a page is decided by the one rule, [`crate::intake::page`], so `qc`, `normalize` and
//! `pack` agree.

use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use crate::fixity::digest::Algorithm;
use crate::intake::page;
use crate::model::{FileRecord, Finding, Level};
use crate::raster::{self, Budget, ColourMode, Raster, RasterError};
use crate::scan::{self, ScanOptions, Scanned, Tally};

use super::{PageMeta, PageReport, QcPolicy, SequenceInput, check_page, check_sequence, rules};

/// The QC result of a set of files.
#[derive(Debug, Clone, Serialize)]
pub struct QcReport {
    /// No page, photo or batch finding is an error.
    pub ok: bool,
    pub pages: Vec<PageReport>,
    /// Batch-level findings (sequence, duplicates, formats), photo findings and notes on files that are
    /// neither pages nor photos.
    pub findings: Vec<Finding>,
}

/// Check one decoded page: the page checks on the raster's pixels, resolution and colour mode.
pub fn check_raster(path: &str, r: &Raster, policy: &QcPolicy) -> PageReport {
    let meta = PageMeta {
        dpi: r.dpi,
        colour_mode: Some(r.colour),
    };
    check_page(path, &r.pixels, &meta, policy)
}

/// The report of a page that could not be decoded (too large for the budget, malformed, unsupported).
pub fn undecodable(path: &str, e: &RasterError) -> PageReport {
    PageReport {
        path: path.to_string(),
        dpi: None,
        colour_mode: ColourMode::Colour,
        blank: false,
        skew_degrees: None,
        ink_fraction: 0.0,
        thumbnail: None,
        findings: vec![Finding::new(
            rules::PROCESSING,
            Level::Error,
            Some(path.to_string()),
            e.zh(),
            e.to_string(),
        )],
    }
}

/// A thumbnail of a decoded page for the HTML report (the photo access-copy encoder, at
/// [`super::THUMBNAIL_PX`] on the long side, no orientation applied: the operator sees the sheet as scanned).
pub fn thumbnail(r: &Raster) -> Option<super::Thumbnail> {
    let jpeg = crate::normalize::raster::photo_jpeg(&r.pixels, super::THUMBNAIL_PX, 70).ok()?;
    let (w, h) = (r.width().max(1), r.height().max(1));
    let k = f64::from(super::THUMBNAIL_PX) / f64::from(w.max(h));
    let k = k.min(1.0);
    Some(super::Thumbnail {
        jpeg,
        width: ((f64::from(w) * k).round() as u32).max(1),
        height: ((f64::from(h) * k).round() as u32).max(1),
    })
}

/// Photo checks (DA/T 54-2014, applied to a raster named by its 档号 rather than as a page): the date the
/// photo was taken (Exif DateTimeOriginal), and the resolution where the file records one.
pub fn check_photo(
    record: &FileRecord,
    dpi: Option<(f64, f64)>,
    policy: &QcPolicy,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let path = Some(record.path.clone());
    let exif = record
        .characterization
        .as_ref()
        .and_then(|c| c.exif.as_ref());
    let taken = exif.and_then(|e| e.date_time_original.clone().or(e.date_time.clone()));
    if taken.is_none() {
        out.push(Finding::new(
            rules::PHOTO,
            Level::Warning,
            path.clone(),
            "照片未记录拍摄时间 (Exif DateTimeOriginal), 请在目录中注明日期",
            "the photo records no date taken (Exif DateTimeOriginal); give the date in the 目录",
        ));
    }
    if let Some((x, y)) = dpi {
        let d = x.min(y);
        if d < policy.resolution.min_dpi {
            out.push(Finding::new(
                rules::PHOTO,
                Level::Info,
                path,
                format!("照片记录的分辨率为 {d:.0} dpi (照片按像素数评价, 不按扫描页要求)"),
                format!(
                    "the photo records {d:.0} dpi (photos are judged by pixel count, not by the scan-page minimum)"
                ),
            ));
        }
    }
    out
}

/// A file that is neither a page nor a photo: noted, not checked.
fn not_a_scan(record: &FileRecord) -> Finding {
    let format = record
        .identification
        .as_ref()
        .map(|i| i.format.clone())
        .unwrap_or_default();
    let shown = if format.is_empty() {
        "未识别".to_string()
    } else {
        format.clone()
    };
    Finding::new(
        rules::MASTER_FORMAT,
        Level::Info,
        Some(record.path.clone()),
        format!("不是扫描页或照片 ({shown}), 未做图像质量检查"),
        format!(
            "not a scanned page or photo ({}); no image checks",
            if format.is_empty() {
                "unidentified"
            } else {
                &format
            }
        ),
    )
}

/// What the batch checks need of a page's record.
pub fn sequence_input(record: &FileRecord) -> SequenceInput {
    SequenceInput {
        path: record.path.clone(),
        digest: record.digest("sha256").map(str::to_string),
        format: record
            .identification
            .as_ref()
            .and_then(|i| i.puid.clone().or(Some(i.format.clone()))),
    }
}

/// What QC made of one file.
pub enum Checked {
    Page(PageReport),
    Photo(Vec<Finding>),
    Other(Finding),
}

/// QC of one scanned file. A page is decoded from the scan's bytes (one decode); a photo gets photo
/// checks from its record and headers, without a decode.
pub fn check_scanned(s: &Scanned, policy: &QcPolicy, budget: &Budget) -> Checked {
    check_scanned_with(s, policy, budget, false)
}

/// [`check_scanned`], with a thumbnail of each page from its decode when `thumbnails`.
pub fn check_scanned_with(
    s: &Scanned,
    policy: &QcPolicy,
    budget: &Budget,
    thumbnails: bool,
) -> Checked {
    let rec = &s.record;
    if page::page_of(&rec.path, rec.family).is_some() {
        let decoded = match &s.bytes {
            Some(b) => raster::decode(b, budget),
            None => Err(RasterError::TooLarge {
                width: 0,
                height: 0,
                bytes: rec.size,
                budget: crate::scan::MAX_IN_MEMORY,
            }),
        };
        return Checked::Page(match decoded {
            Ok(r) => {
                let mut page = check_raster(&rec.path, &r, policy);
                if thumbnails {
                    page.thumbnail = thumbnail(&r);
                }
                page
            }
            Err(e) => undecodable(&rec.path, &e),
        });
    }
    if page::is_photo(&rec.path, rec.family) {
        let dpi = s.bytes.as_deref().and_then(|b| raster::dpi(b));
        let mut findings = check_photo(rec, dpi, policy);
        // A photo is decoded for its access copies: one the budget refuses is refused here, by its header.
        if let Some(b) = &s.bytes
            && let Err(e @ RasterError::TooLarge { .. }) = raster::probe(b, budget)
        {
            findings.push(Finding::new(
                rules::PHOTO,
                Level::Error,
                Some(rec.path.clone()),
                e.zh(),
                e.to_string(),
            ));
        }
        return Checked::Photo(findings);
    }
    Checked::Other(not_a_scan(rec))
}

/// Assemble a report from per-file outcomes (in input order) and the pages' records.
pub fn assemble(
    checked: Vec<Checked>,
    page_records: &[&FileRecord],
    mut findings: Vec<Finding>,
    policy: &QcPolicy,
) -> QcReport {
    let mut pages = Vec::new();
    for c in checked {
        match c {
            Checked::Page(p) => pages.push(p),
            Checked::Photo(mut f) => findings.append(&mut f),
            Checked::Other(f) => findings.push(f),
        }
    }
    let seqs: Vec<SequenceInput> = page_records.iter().map(|r| sequence_input(r)).collect();
    findings.extend(check_sequence(&seqs, &policy.sequence));
    let ok = pages.iter().all(PageReport::ok) && findings.iter().all(|f| f.level < Level::Error);
    QcReport {
        ok,
        pages,
        findings,
    }
}

/// QC of the files `rels` (relative to `root`, `/`-separated), in parallel; results in input order. Each
/// file is read once (the scan) and each page decoded once.
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
    check_files_with(root, rels, policy, false, progress)
}

/// [`check_files`], with a thumbnail of every page (for the HTML report) when `thumbnails`.
pub fn check_files_with(
    root: &Path,
    rels: &[String],
    policy: &QcPolicy,
    thumbnails: bool,
    progress: crate::Tick<'_>,
) -> QcReport {
    let budget = policy.budget();
    let tally = Tally::default();
    let options = ScanOptions {
        algorithms: vec![Algorithm::Sha256],
        copy_to: None,
    };
    let results: Vec<(Option<FileRecord>, Checked)> = rels
        .par_iter()
        .map(|rel| {
            let c = match scan::scan_file(root, rel, &options, &tally) {
                Ok(s) => {
                    let c = check_scanned_with(&s, policy, &budget, thumbnails);
                    (Some(s.record), c)
                }
                Err(e) => (
                    None,
                    Checked::Other(Finding::new(
                        rules::PROCESSING,
                        Level::Error,
                        Some(rel.clone()),
                        e.zh(),
                        e.en(),
                    )),
                ),
            };
            progress(1);
            c
        })
        .collect();
    let (records, checked): (Vec<_>, Vec<_>) = results.into_iter().unzip();
    let page_records: Vec<&FileRecord> = records
        .iter()
        .flatten()
        .filter(|r| scan::is_page(r))
        .collect();
    assemble(checked, &page_records, Vec::new(), policy)
}
