//! `dangan qc --ocr`: the mean OCR confidence of every page in the scan QC report (issue 14), with pages
//! under the policy's minimum flagged for review (a warning), as `pack` and `normalize` flag them.
//!
//! QC itself decodes each page once and drops it; OCR here decodes the page again (a few tens of
//! milliseconds against the engine's seconds per page), so that QC without `--ocr` stays as fast as it was.

use std::path::Path;

use super::{OcrEngine, OcrPolicy, confidence_finding, ocr_image};
use crate::model::{Finding, Level};
use crate::qc::QcReport;
use crate::raster::Budget;

/// OCR every page of `report` (paths relative to `root`) that QC could decode, and add the page's
/// confidence finding (information, or a warning under `policy.min_confidence`) to its findings. Pages
/// run in parallel, as many at once as there are cores (the engine bounds its processes too).
pub fn annotate(
    root: &Path,
    report: &mut QcReport,
    policy: &OcrPolicy,
    engine: &dyn OcrEngine,
    budget: &Budget,
) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let todo: Vec<usize> = (0..report.pages.len())
        .filter(|&i| report.pages[i].ok())
        .collect();
    for chunk in todo.chunks(cores.max(1)) {
        let found: Vec<(usize, Finding)> = std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|&i| {
                    let path = report.pages[i].path.clone();
                    s.spawn(move || (i, page(root, &path, policy, engine, budget)))
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        for (i, f) in found {
            report.pages[i].findings.push(f);
        }
    }
}

fn page(
    root: &Path,
    path: &str,
    policy: &OcrPolicy,
    engine: &dyn OcrEngine,
    budget: &Budget,
) -> Finding {
    let failed = |zh: String, en: String| {
        Finding::new(
            crate::normalize::searchable::OCR_RULE,
            Level::Warning,
            Some(path.to_string()),
            zh,
            en,
        )
    };
    let bytes = match crate::fsutil::read_regular(&root.join(path), budget.max_bytes()) {
        Ok(b) => b,
        Err(e) => {
            return failed(
                format!("OCR 无法读取该页: {e}"),
                format!("OCR could not read the page: {e}"),
            );
        }
    };
    let raster = match crate::raster::decode(&bytes, budget) {
        Ok(r) => r,
        Err(e) => {
            return failed(
                format!("OCR 无法解码该页: {e}"),
                format!("OCR could not decode the page: {e}"),
            );
        }
    };
    let dpi = raster.dpi.map_or(300.0, |d| d.0).round().max(1.0) as u32;
    match engine.recognize(&ocr_image(&raster.pixels, policy.channel), dpi) {
        Ok(text) => confidence_finding(path, &text, policy.min_confidence),
        Err(e) => failed(format!("OCR 失败: {e}"), format!("OCR failed: {e}")),
    }
}

/// [`annotate`] with Tesseract from `PATH` and the `[ocr]` settings of `policy` (languages, mode, channel,
/// minimum confidence, second reading); an error when Tesseract is not installed.
pub fn annotate_with_tesseract(
    root: &Path,
    report: &mut QcReport,
    policy: &OcrPolicy,
    budget: &Budget,
) -> Result<(), String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let tool = super::Tesseract::probe(&path).ok_or_else(|| {
        "--ocr: tesseract not found on PATH (install tesseract-ocr and tesseract-ocr-chi-sim)"
            .to_string()
    })?;
    let engine = super::Tesseract::new(tool, &policy.languages, policy.psm, None, None)
        .with_recheck(policy.recheck_languages.as_deref(), policy.recheck_below);
    annotate(root, report, policy, &engine, budget);
    Ok(())
}
