//! Normalization by a declarative format policy.
//!
//! Every original is kept bit-for-bit; the [`Policy`] (data, `profiles/policy.toml`) says which
//! preservation master and which access copies each format gets; every action yields a provenance
//! [`Event`] (the one PREMIS event type, `nor` / `cre`) with a `derivation` relationship.
//!
//! ```text
//! input/J001-WS_2019-Y-BGS-0001-0001.jpg ─┐  preservation/J001-WS_2019-Y-BGS-0001-0001.tif  (lossless)
//! input/J001-WS_2019-Y-BGS-0001-0002.jpg ─┴► preservation/J001-WS_2019-Y-BGS-0001-0002.tif
//!                                            access/J001-WS_2019-Y-BGS-0001.pdf             (PDF/A-2b)
//! input/photo.jpg                          ► access/photo.jpg, access/photo.thumb.jpg
//! input/talk.mp3                           ► preservation/talk.wav
//! input/box.mbox                           ► preservation/box.mbox.split/0001.eml …, index.json,
//!                                            0001.attachments/…; access/box.mbox.split/0001.html …
//! input/box.pst, mail.msg                  ► the same through the one e-mail model (normalize/email.rs)
//! ```
//!
//! Entry points: [`normalize`] (a folder or file → a new output folder, written atomically) and
//! [`normalize_files`] (identified files → an existing folder; what packaging calls).
//!
//! Work is spread over items with rayon; an item's pages are decoded one at a time, so memory stays at
//! about one decoded page per worker thread. One bad file never stops the run: it becomes a record with
//! outcome `failure`.

mod audio;
pub(crate) mod email;
mod error;
pub mod icc;
pub mod pdf;
pub mod policy;
pub(crate) mod raster;
pub mod record;
// --- issue 14 (ocr): searchable access copies ---
pub mod ofd;
pub mod searchable;
// --- end issue 14 ---
pub use crate::tool as tools;

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::context::Context;
use crate::model::{EventType, Finding, Level, Outcome};

pub use crate::model::{Derivation, Event, Root};
pub use error::{ActionError, NormalizeError, PolicyError};
pub use policy::{Access, Family, FormatKey, Policy, Role, Rule, Target};
pub use tools::{Tool, Tools};

/// Base64 (RFC 4648 §4) of `bytes`, for `data:` URIs in self-contained HTML reports.
pub fn base64(bytes: &[u8]) -> String {
    email::base64(bytes)
}

/// Descriptive metadata of an item (a 目录 row), for the access PDF's document information.
#[derive(Debug, Clone, Default)]
pub struct ItemMeta {
    /// 题名
    pub title: Option<String>,
    /// 责任者
    pub author: Option<String>,
    /// 档号
    pub identifier: Option<String>,
}

/// What a run needs besides the files: the policy, the external tools, and item metadata keyed by the
/// item's name (the stem shared by its page files).
pub struct Options<'a> {
    pub policy: &'a Policy,
    pub tools: &'a Tools,
    pub items: &'a BTreeMap<String, ItemMeta>,
    /// Scan QC (DA/T 31-2017) of every page, from the same decode that makes its master and PDF page;
    /// `None` = no QC.
    pub qc: Option<&'a crate::qc::QcPolicy>,
    /// The memory budget of every decode (and the count of decodes made).
    pub budget: &'a crate::raster::Budget,
    /// Told as each input file is done (a page of an item, or a whole file).
    pub progress: crate::Tick<'a>,
    /// Digests to compute of each TIFF master and item PDF in the pass that writes it ([`Report::written`]):
    /// packaging moves them in without reading them again. Empty: none.
    pub digests: &'a [crate::fixity::digest::Algorithm],
    /// Where the TIFF masters go instead of files under the output folder (`pack --zip` writes them
    /// straight into the zip: a master is written once). `None`: files.
    pub sink: Option<&'a dyn OutputSink>,
}

/// Takes finished outputs of a run as bytes, in place of files under the output folder.
pub trait OutputSink: Sync {
    /// The TIFF masters the run planned, in plan order (told once, before any [`OutputSink::put`]).
    fn expect(&self, outputs: &[String]);
    /// Take the output `out` (a path as under the output folder) with its bytes and their digests
    /// ([`Options::digests`]). An error fails that output, as a failed write would.
    fn put(
        &self,
        out: &str,
        bytes: Vec<u8>,
        hashed: &crate::fixity::digest::Hashed,
    ) -> std::io::Result<()>;
}

/// A file to normalize: its path relative to the input root (`/`-separated) and its format, from the
/// file's scan record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputFile {
    pub path: String,
    pub format: FormatKey,
    /// The identified family (the page rule, [`crate::intake::page`]).
    pub family: crate::identify::Family,
    /// What the identification matched.
    pub basis: String,
    /// SHA-256 the bytes must have when read (the scan's digest of the source, when the input is its
    /// staged copy): reading a page for its decode is then also the read-back check of the copy.
    #[serde(skip)]
    pub sha256: Option<String>,
}

impl InputFile {
    /// The input for a scanned file.
    pub fn from_record(r: &crate::model::FileRecord) -> Self {
        let id = r.identification.clone().unwrap_or_default();
        InputFile {
            path: r.path.clone(),
            format: FormatKey::from_identification(&id),
            family: r.family,
            basis: id.basis,
            sha256: None,
        }
    }
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    pub path: String,
    pub root: Root,
    pub format: FormatKey,
    pub basis: String,
    pub role: Role,
    /// The item (件) a page belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// The policy rule applied; `None` when no rule fits (the file is kept and a finding says so).
    pub rule: Option<String>,
}

/// The policy a run used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicySummary {
    pub name: String,
    pub version: String,
    pub source: String,
}

/// The result of a run: files, provenance records and findings. Written as `normalize.json` into the
/// output folder and printed by `dangan normalize --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// No action failed (skips are not failures: they are recorded).
    pub ok: bool,
    pub agent: String,
    pub created: String,
    pub policy: PolicySummary,
    pub files: Vec<FileReport>,
    pub records: Vec<Event>,
    pub findings: Vec<Finding>,
    /// Scan QC of every page, from the decode that made its derivatives (when QC was asked for).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pages: Vec<crate::qc::PageReport>,
    /// Inputs whose bytes were read and matched their expected SHA-256 ([`InputFile::sha256`]).
    #[serde(skip)]
    pub verified: Vec<String>,
    /// SHA-256 of each page, from the read its decode made (when QC was asked for), by path.
    #[serde(skip)]
    pub page_digests: BTreeMap<String, String>,
    /// Digests ([`Options::digests`]) of outputs computed while they were written, by output path.
    #[serde(skip)]
    pub written: BTreeMap<String, crate::fixity::digest::Hashed>,
}

impl Report {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.records.iter().filter(|r| r.outcome == outcome).count()
    }
}

fn split_rel(path: &str) -> (&str, &str) {
    match path.rsplit_once('/') {
        Some((d, n)) => (d, n),
        None => ("", path),
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else if name.is_empty() {
        dir.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

fn stem(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(s, _)| s)
}

/// Hands out output paths, each once: the preferred name, else one with the source's full name.
#[derive(Default)]
struct Namer {
    used: HashSet<String>,
}

impl Namer {
    fn claim(&mut self, preferred: String, fallback: String) -> String {
        if self.used.insert(preferred.clone()) {
            return preferred;
        }
        let mut candidate = fallback;
        let mut n = 2;
        while !self.used.insert(candidate.clone()) {
            candidate = format!("{candidate}~{n}");
            n += 1;
        }
        candidate
    }
}

struct PagePlan {
    seq: u32,
    file: usize,
    rule: Option<usize>,
    master: Option<String>,
}

struct ItemPlan {
    dir: String,
    item: String,
    pages: Vec<PagePlan>,
    pdf: Option<(usize, u32, u8, String)>,
    /// OCR, text layer, OFD and full text (issue 14).
    ocr: Option<searchable::OcrPlan>,
}

struct FilePlan {
    file: usize,
    rule: Option<usize>,
    /// Output of the preservation conversion (a file, or a folder for an MBOX split).
    master: Option<String>,
    /// Outputs of the access derivatives, in rule order (`None` when the derivative is the item PDF).
    access: Vec<Option<String>>,
    /// Folder for attachments of an e-mail message.
    attachments: Option<String>,
}

enum Unit {
    Item(ItemPlan),
    File(FilePlan),
}

/// Shared state of one run.
struct Run<'a> {
    in_root: &'a Path,
    out_root: &'a Path,
    opts: &'a Options<'a>,
    now: String,
    files: &'a [InputFile],
    source_root: Root,
    depth: u8,
    /// Page QC reports, from the decodes of this run.
    pages: &'a std::sync::Mutex<Vec<crate::qc::PageReport>>,
    /// Inputs whose bytes matched their expected digest when read.
    verified: &'a std::sync::Mutex<Vec<String>>,
    /// SHA-256 of each page read for its decode (with QC: the batch's identical-image check).
    page_digests: &'a std::sync::Mutex<BTreeMap<String, String>>,
    /// Digests of outputs made in this run, computed while writing them ([`Report::written`]).
    written: &'a std::sync::Mutex<BTreeMap<String, crate::fixity::digest::Hashed>>,
    /// The OCR engine (issue 14), when the policy asks for OCR and one is installed.
    ocr: Option<&'a dyn crate::ocr::OcrEngine>,
}

fn rec(
    run: &Run<'_>,
    event_type: EventType,
    action: &str,
    rule: &str,
    sources: Vec<String>,
) -> Event {
    let mut e = Event::new(event_type, run.source_root, sources, &run.now);
    e.action = action.into();
    e.rule = rule.into();
    e
}

fn fail(mut r: Event, e: impl std::fmt::Display) -> Event {
    r.outcome = Outcome::Failure;
    r.detail = Some(e.to_string());
    r.outputs.clear();
    r
}

fn ensure_parent(out_root: &Path, rel: &str) -> Result<PathBuf, ActionError> {
    let p = out_root.join(rel);
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent)?;
    }
    Ok(p)
}

/// Scan every file under `root` (or `root` itself when it is a file): one read each
/// ([`crate::scan`]), identification by content as everywhere else in dangan. With `qc`, photos get their
/// photo checks from the scan; a file that cannot be read (a FIFO, a device) is an error finding naming it.
pub fn identify_tree(
    root: &Path,
    qc: Option<&crate::qc::QcPolicy>,
) -> Result<(PathBuf, Vec<crate::model::FileRecord>, Vec<Finding>), NormalizeError> {
    let walked = crate::scan::walk(root).map_err(|e| NormalizeError::io(root, e))?;
    let mut findings = walked.findings;
    let tally = crate::scan::Tally::default();
    let options = crate::scan::ScanOptions {
        algorithms: vec![crate::fixity::digest::Algorithm::Sha256],
        copy_to: None,
    };
    let budget = crate::raster::Budget::default();
    let scanned: Vec<Result<(crate::model::FileRecord, Vec<Finding>), Finding>> = walked
        .files
        .par_iter()
        .map(|rel| {
            // A page (档号-NNNN raster) is identified from its header and tail windows only: its one full
            // read is the decode's (`load_page`), which also hashes it for the batch checks.
            if let Some(r) = page_by_header(&walked.root, rel) {
                return Ok((r, Vec::new()));
            }
            match crate::scan::scan_file(&walked.root, rel, &options, &tally) {
                Ok(s) => {
                    let photo = match qc {
                        Some(policy)
                            if crate::intake::is_photo(&s.record.path, s.record.family) =>
                        {
                            match crate::qc::check_scanned(&s, policy, &budget) {
                                crate::qc::Checked::Photo(f) => f,
                                _ => Vec::new(),
                            }
                        }
                        _ => Vec::new(),
                    };
                    Ok((s.record, photo))
                }
                Err(e) => Err(Finding::new(
                    "dangan normalize",
                    Level::Error,
                    Some(rel.clone()),
                    e.zh(),
                    e.en(),
                )),
            }
        })
        .collect();
    let mut records = Vec::new();
    for s in scanned {
        match s {
            Ok((r, mut f)) => {
                records.push(r);
                findings.append(&mut f);
            }
            Err(f) => findings.push(f),
        }
    }
    Ok((walked.root, records, findings))
}

/// The record of a page from its header and tail windows (no digest: the decode's read hashes it), or
/// `None` when `rel` is not a page by the one page rule — then the full scan reads it (and reports
/// whatever is wrong with it).
fn page_by_header(root: &Path, rel: &str) -> Option<crate::model::FileRecord> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    crate::intake::parse_page_name(name, crate::intake::page::PAGE_DIGITS)?;
    let mut file = crate::fsutil::open_regular(&root.join(rel)).ok()?;
    let len = file.metadata().ok()?.len();
    let id = crate::identify::identify_reader(&mut file, len, Some(name)).ok()?;
    let record = crate::model::FileRecord {
        path: rel.to_string(),
        size: len,
        digests: Vec::new(),
        family: id.family,
        identification: Some(id.identification),
        characterization: None,
        error: None,
    };
    crate::scan::is_page(&record).then_some(record)
}

/// Normalize `input` (a folder or one file) into a new folder `out`: identification, policy, outputs.
/// The input is only read. Everything is written into a temporary folder beside `out`, renamed to `out`
/// at the end, so `out` appears complete or not at all. `out` must not exist (or be an empty folder) and
/// must not lie inside the input.
pub fn normalize(
    input: &Path,
    out: &Path,
    opts: &Options<'_>,
    ctx: &Context,
) -> Result<Report, NormalizeError> {
    let in_canon = input
        .canonicalize()
        .map_err(|e| NormalizeError::io(input, e))?;
    let out_abs = if out.is_absolute() {
        out.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| NormalizeError::io(".", e))?
            .join(out)
    };
    let name = out_abs
        .file_name()
        .ok_or_else(|| NormalizeError::Usage(format!("{}: not a folder name", out.display())))?
        .to_os_string();
    let parent = out_abs.parent().unwrap_or(Path::new("/")).to_path_buf();
    fs::create_dir_all(&parent).map_err(|e| NormalizeError::io(&parent, e))?;
    let parent = parent
        .canonicalize()
        .map_err(|e| NormalizeError::io(&parent, e))?;
    let out_final = parent.join(&name);
    if out_final.starts_with(&in_canon) || in_canon.starts_with(&out_final) {
        return Err(NormalizeError::Usage(format!(
            "{}: the output must not be inside the input (or contain it): the input is never modified",
            out.display()
        )));
    }
    if out_final.exists() {
        let empty = fs::read_dir(&out_final)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty {
            return Err(NormalizeError::Usage(format!(
                "{}: exists and is not an empty folder; dangan writes only new output folders",
                out.display()
            )));
        }
    }
    let (base, records, mut findings) = identify_tree(&in_canon, opts.qc)?;
    let files: Vec<InputFile> = records.iter().map(InputFile::from_record).collect();
    // DA/T 31-2017 batch checks over the pages (sequence, identical images, one format) run after the
    // decodes, which hash each page in its one read. The page checks themselves run on the decode that
    // makes each master and PDF page. QC findings join the report for the operator; they do not fail the
    // run (exit codes speak of the actions), while `dangan pack` refuses to package a batch whose QC fails.
    let sequence = |report: &Report| -> Vec<Finding> {
        let Some(policy) = opts.qc else {
            return Vec::new();
        };
        let pages: Vec<crate::qc::SequenceInput> = records
            .iter()
            .filter(|r| crate::scan::is_page(r))
            .map(|r| {
                let mut s = crate::qc::sequence_input(r);
                if s.digest.is_none() {
                    s.digest = report.page_digests.get(&r.path).cloned();
                }
                s
            })
            .collect();
        crate::qc::check_sequence(&pages, &policy.sequence)
    };
    // Published through the one publish path: locked, staged beside `out`, removed on every error.
    let publish_err = |e: crate::publish::PublishError| match e {
        crate::publish::PublishError::Io { path, source } => NormalizeError::io(path, source),
        e => NormalizeError::Usage(e.to_string()),
    };
    let staging = crate::publish::Staging::begin_dir(&out_final).map_err(publish_err)?;
    let result = (|| {
        let mut report = normalize_files(&base, &files, staging.path(), opts, ctx)?;
        findings.extend(sequence(&report));
        for p in &report.pages {
            findings.extend(p.findings.iter().cloned());
        }
        findings.append(&mut report.findings);
        report.findings = findings;
        let json = serde_json::to_vec_pretty(&report)
            .map_err(|e| NormalizeError::io(staging.path(), std::io::Error::other(e)))?;
        let rp = staging.path().join("normalize.json");
        fs::write(&rp, json).map_err(|e| NormalizeError::io(&rp, e))?;
        // A full disk reaches failed actions only as words (an encoder's error, ffmpeg's log): output
        // missing for that reason is never published.
        if report.records.iter().any(|r| {
            r.detail
                .as_deref()
                .is_some_and(crate::publish::mentions_no_space)
        }) {
            return Err(NormalizeError::io(
                &rp,
                std::io::ErrorKind::StorageFull.into(),
            ));
        }
        Ok(report)
    })();
    match result {
        Ok(report) => {
            staging.publish().map_err(publish_err)?;
            Ok(report)
        }
        Err(e) if crate::publish::chain_is_no_space(&e) => {
            drop(staging);
            Err(publish_err(crate::publish::PublishError::NoSpace {
                dest: out_final,
            }))
        }
        Err(e) => Err(e),
    }
}

/// Apply the policy to identified `files` under `in_root`, writing outputs under `out_root` (an existing
/// folder). Outputs go to `preservation/…` and `access/…` mirroring the input paths.
pub fn normalize_files(
    in_root: &Path,
    files: &[InputFile],
    out_root: &Path,
    opts: &Options<'_>,
    ctx: &Context,
) -> Result<Report, NormalizeError> {
    let pages = std::sync::Mutex::new(Vec::new());
    let verified = std::sync::Mutex::new(Vec::new());
    let page_digests = std::sync::Mutex::new(BTreeMap::new());
    let written = std::sync::Mutex::new(BTreeMap::new());
    let engine = opts
        .tools
        .tesseract
        .clone()
        .filter(|_| opts.policy.ocr.enabled)
        .map(|t| {
            let o = &opts.policy.ocr;
            crate::ocr::Tesseract::new(t, &o.languages, o.psm, opts.tools.timeout, None)
                .with_recheck(o.recheck_languages.as_deref(), o.recheck_below)
        });
    let run = Run {
        ocr: engine.as_ref().map(|e| e as &dyn crate::ocr::OcrEngine),
        in_root,
        out_root,
        opts,
        now: ctx.now_rfc3339(),
        files,
        source_root: Root::Input,
        depth: 0,
        pages: &pages,
        verified: &verified,
        page_digests: &page_digests,
        written: &written,
    };
    let (mut reports, mut records, mut findings) = run_all(&run);
    // The pages are done: their reused buffers (~150 MB at two pages in flight) go back to the system
    // before the caller writes the package's metadata.
    crate::buffers::release();
    let now = run.now.clone();
    drop(run);
    let mut pages = pages.into_inner().unwrap_or_else(|p| p.into_inner());
    pages.sort_by(|a, b| a.path.cmp(&b.path));
    let mut verified = verified.into_inner().unwrap_or_else(|p| p.into_inner());
    verified.sort();
    let page_digests = page_digests.into_inner().unwrap_or_else(|p| p.into_inner());
    let written = written.into_inner().unwrap_or_else(|p| p.into_inner());
    // Identifiers are drawn only now, in record order: parallel work gives the same ids every time.
    for r in &mut records {
        r.id = ctx.ids.event_id();
    }
    reports.sort_by(|a, b| (a.root as u8, &a.path).cmp(&(b.root as u8, &b.path)));
    findings.sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
    Ok(Report {
        ok: !records.iter().any(|r| r.outcome == Outcome::Failure),
        agent: crate::software_agent(),
        created: now,
        policy: PolicySummary {
            name: opts.policy.name.clone(),
            version: opts.policy.version.clone(),
            source: opts.policy.source.clone(),
        },
        files: reports,
        records,
        findings,
        pages,
        verified,
        page_digests,
        written,
    })
}

/// The one page rule ([`crate::intake::page`]): a page, with its item stem and number, or a file.
fn role_of(f: &InputFile) -> (Role, Option<(String, u32)>) {
    match crate::intake::page_of(&f.path, f.family) {
        Some(p) => (Role::Page, Some((p.stem, p.seq))),
        None => (Role::File, None),
    }
}

fn plan(run: &Run<'_>, findings: &mut Vec<Finding>) -> (Vec<Unit>, Vec<FileReport>) {
    let policy = run.opts.policy;
    let mut namer = Namer::default();
    let mut reports = Vec::new();
    let mut items: BTreeMap<(String, String), Vec<PagePlan>> = BTreeMap::new();
    let mut units = Vec::new();
    for (i, f) in run.files.iter().enumerate() {
        let (role, page) = role_of(f);
        let rule_idx = policy
            .rules
            .iter()
            .position(|r| r.matches.fits(&f.format, role));
        reports.push(FileReport {
            path: f.path.clone(),
            root: run.source_root,
            format: f.format.clone(),
            basis: f.basis.clone(),
            role,
            item: page.as_ref().map(|p| p.0.clone()),
            rule: rule_idx.map(|k| policy.rules[k].id.clone()),
        });
        if rule_idx.is_none()
            && let Some((item, seq)) = page.clone()
            && run.opts.qc.is_some()
            && run.depth == 0
        {
            // No derivative, but the page is still decoded once for its QC.
            let (dir, _) = split_rel(&f.path);
            items
                .entry((dir.to_string(), item))
                .or_default()
                .push(PagePlan {
                    seq,
                    file: i,
                    rule: None,
                    master: None,
                });
            continue;
        }
        let Some(k) = rule_idx else {
            // An empty policy (`pack` without normalization) says nothing per file.
            if !policy.rules.is_empty() {
                let puid = f.format.puid.as_deref();
                findings.push(Finding::new(
                    "dangan policy",
                    Level::Warning,
                    Some(f.path.clone()),
                    format!(
                        "格式策略中没有适用于 {} ({}) 的规则; 原始文件按原样保存",
                        f.format.mime,
                        puid.unwrap_or("无 PUID")
                    ),
                    format!(
                        "no policy rule for {} ({}); the original is kept as it is",
                        f.format.mime,
                        puid.unwrap_or("no PUID")
                    ),
                ));
            }
            // Nothing to do for it: done as far as progress goes.
            if run.depth == 0 {
                (run.opts.progress)(1);
            }
            continue;
        };
        let rule = &policy.rules[k];
        let wants_pdf = rule
            .access
            .iter()
            .any(|a| matches!(a, Access::ItemPdf { .. }));
        let (dir, name) = split_rel(&f.path);
        // Attachments live under preservation/; their derivatives mirror that path without the prefix.
        let rel_dir = match run.source_root {
            Root::Output => dir
                .strip_prefix("preservation/")
                .or_else(|| dir.strip_prefix("preservation"))
                .unwrap_or(dir)
                .to_string(),
            Root::Input | Root::Package => dir.to_string(),
        };
        if f.format.family == Family::Raster && (page.is_some() || wants_pdf) {
            let (item, seq) = page.unwrap_or_else(|| (stem(name).to_string(), 1));
            items
                .entry((rel_dir.clone(), item))
                .or_default()
                .push(PagePlan {
                    seq,
                    file: i,
                    rule: Some(k),
                    master: None,
                });
            continue;
        }
        let fp = plan_file(&mut namer, rule, k, i, &rel_dir, name);
        units.push(Unit::File(fp));
    }
    for ((dir, item), mut pages) in items {
        pages.sort_by_key(|p| (p.seq, p.file));
        let mut seen = HashSet::new();
        for p in &mut pages {
            if !seen.insert(p.seq) {
                findings.push(Finding::new(
                    "DA/T 31-2017 9.6",
                    Level::Warning,
                    Some(run.files[p.file].path.clone()),
                    format!("条目 {item} 的第 {:04} 页出现不止一次", p.seq),
                    format!("page {:04} of item {item} appears more than once", p.seq),
                ));
            }
            let rule = p.rule.map(|k| &policy.rules[k]);
            if let Some(rule) = rule
                && rule.preservation.to == Some(Target::Tiff)
            {
                let (_, name) = split_rel(&run.files[p.file].path);
                let pres = join("preservation", &dir);
                p.master = Some(namer.claim(
                    join(&pres, &format!("{}.tif", stem(name))),
                    join(&pres, &format!("{name}.tif")),
                ));
            }
        }
        // The PDF follows the rule of the item's first page.
        let pdf = pages.first().and_then(|p| p.rule).and_then(|k| {
            policy.rules[k].access.iter().find_map(|a| match a {
                Access::ItemPdf { dpi, quality } => Some((
                    k,
                    *dpi,
                    *quality,
                    namer.claim(
                        join(&join("access", &dir), &format!("{item}.pdf")),
                        join(&join("access", &dir), &format!("{item}.item.pdf")),
                    ),
                )),
                _ => None,
            })
        });
        let ocr = pdf.as_ref().and_then(|(k, ..)| {
            searchable::plan(run, &policy.rules[*k].id, &dir, &item, &mut namer)
        });
        units.push(Unit::Item(ItemPlan {
            dir,
            item,
            pages,
            pdf,
            ocr,
        }));
    }
    (units, reports)
}

fn plan_file(
    namer: &mut Namer,
    rule: &Rule,
    k: usize,
    i: usize,
    dir: &str,
    name: &str,
) -> FilePlan {
    let s = stem(name);
    let pres_dir = join("preservation", dir);
    let acc_dir = join("access", dir);
    let master = match rule.preservation.to {
        None => None,
        Some(Target::Tiff) => Some(namer.claim(
            join(&pres_dir, &format!("{s}.tif")),
            join(&pres_dir, &format!("{name}.tif")),
        )),
        Some(Target::Wav) => Some(namer.claim(
            join(&pres_dir, &format!("{s}.wav")),
            join(&pres_dir, &format!("{name}.wav")),
        )),
        Some(Target::Mkv) => Some(namer.claim(
            join(&pres_dir, &format!("{s}.mkv")),
            join(&pres_dir, &format!("{name}.mkv")),
        )),
        Some(Target::Eml) => Some(namer.claim(
            join(&pres_dir, &format!("{name}.split")),
            join(&pres_dir, &format!("{name}.split")),
        )),
    };
    let access = rule
        .access
        .iter()
        .map(|a| match a {
            Access::ItemPdf { .. } => None,
            Access::Jpeg { label, .. } => {
                let n = if label == "access" {
                    format!("{s}.jpg")
                } else {
                    format!("{s}.{label}.jpg")
                };
                Some(namer.claim(
                    join(&acc_dir, &n),
                    join(&acc_dir, &format!("{name}.{label}.jpg")),
                ))
            }
            Access::Mp4 { .. } => Some(namer.claim(
                join(&acc_dir, &format!("{s}.mp4")),
                join(&acc_dir, &format!("{name}.mp4")),
            )),
            Access::OfficePdf {} => Some(namer.claim(
                join(&acc_dir, &format!("{s}.pdf")),
                join(&acc_dir, &format!("{name}.pdf")),
            )),
            Access::Html {} => {
                if rule.preservation.to == Some(Target::Eml) {
                    Some(namer.claim(
                        join(&acc_dir, &format!("{name}.split")),
                        join(&acc_dir, &format!("{name}.split")),
                    ))
                } else {
                    Some(namer.claim(
                        join(&acc_dir, &format!("{s}.html")),
                        join(&acc_dir, &format!("{name}.html")),
                    ))
                }
            }
        })
        .collect();
    let attachments = Some(namer.claim(
        join(&pres_dir, &format!("{s}.attachments")),
        join(&pres_dir, &format!("{name}.attachments")),
    ));
    FilePlan {
        file: i,
        rule: Some(k),
        master,
        access,
        attachments,
    }
}

type Outcomes = (Vec<FileReport>, Vec<Event>, Vec<Finding>);

fn run_all(run: &Run<'_>) -> Outcomes {
    let mut findings = Vec::new();
    let (units, mut reports) = plan(run, &mut findings);
    // Issue 12 (pack): pages of one item OCR'd side by side only as far as the items themselves leave
    // cores free. Items already run one per core; a window of `cores` pages in each of them kept cores²
    // decoded pages (26 MB each for A4 colour at 300 dpi) and their OCR images alive at once.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let items = units
        .iter()
        .filter(|u| matches!(u, Unit::Item(_)))
        .count()
        .clamp(1, cores);
    let window = (cores / items).max(1);
    // Issue 12 (pack): the largest items first, each taken by the next free core; results in plan order,
    // so the records are the same whatever order the work ran in.
    let sizes: Vec<u64> = units
        .iter()
        .map(|u| match u {
            Unit::Item(p) => p.pages.len() as u64,
            Unit::File(_) => 1,
        })
        .collect();
    if let Some(sink) = run.opts.sink
        && run.depth == 0
    {
        // In the order the items start (largest first, ties in plan order): with one item per core, the
        // masters of an item that is ahead of its turn wait for about one other item.
        let masters: Vec<String> = crate::par::start_order(&sizes)
            .into_iter()
            .filter_map(|i| match &units[i] {
                Unit::Item(p) => Some(p.pages.iter().filter_map(|pg| pg.master.clone())),
                Unit::File(_) => None,
            })
            .flatten()
            .collect();
        sink.expect(&masters);
    }
    let results = crate::par::largest_first(&sizes, |i| match &units[i] {
        Unit::Item(p) => (Vec::new(), run_item(run, p, window), Vec::new()),
        Unit::File(p) => {
            let done = run_file(run, p);
            if run.depth == 0 {
                (run.opts.progress)(1);
            }
            done
        }
    });
    let mut records = Vec::new();
    for (mut rp, mut rc, mut f) in results {
        reports.append(&mut rp);
        records.append(&mut rc);
        findings.append(&mut f);
    }
    (reports, records, findings)
}

fn tiff_params(rule: &Rule) -> raster::TiffParams {
    raster::TiffParams {
        compression: rule
            .preservation
            .compression
            .unwrap_or(policy::TiffCompression::Deflate),
        predictor: rule.preservation.predictor.unwrap_or(true),
        level: rule
            .preservation
            .level
            .unwrap_or(policy::DeflateLevel::Fast),
    }
}

fn tiff_record(run: &Run<'_>, rule: &Rule, src: &str, out: &str, r: &raster::Raster) -> Event {
    let mut t = rec(
        run,
        EventType::Normalization,
        "tiff-master",
        &rule.id,
        vec![src.into()],
    );
    t.agents.push(record::crate_agent("image"));
    t.agents.push(record::crate_agent("tiff"));
    let p = tiff_params(rule);
    let params = &mut t.parameters;
    params.insert(
        "format".into(),
        "TIFF 6.0 baseline, little-endian, one image".into(),
    );
    params.insert(
        "compression".into(),
        format!("{:?}", p.compression).to_lowercase(),
    );
    if p.compression == policy::TiffCompression::Deflate {
        params.insert(
            "deflate_level".into(),
            format!("{:?}", p.level).to_lowercase(),
        );
    }
    params.insert(
        "predictor".into(),
        if p.predictor && !r.bitonal {
            "2 (horizontal)"
        } else {
            "1 (none)"
        }
        .into(),
    );
    params.insert("colour".into(), format!("{:?}", r.pixels.color()));
    params.insert("bitonal_1bit".into(), r.bitonal.to_string());
    params.insert("width".into(), r.pixels.width().to_string());
    params.insert("height".into(), r.pixels.height().to_string());
    params.insert(
        "resolution_dpi".into(),
        r.dpi
            .map(|(x, y)| format!("{x}x{y}"))
            .unwrap_or_else(|| "none in source".into()),
    );
    params.insert(
        "icc_profile".into(),
        r.icc
            .as_ref()
            .map(|p| format!("kept ({} bytes)", p.len()))
            .unwrap_or_else(|| "none in source".into()),
    );
    t.outputs.push(out.into());
    t
}

fn write_master(
    run: &Run<'_>,
    out: &str,
    r: &raster::Raster,
    p: raster::TiffParams,
) -> Result<(), ActionError> {
    if let Some(sink) = run.opts.sink
        && run.depth == 0
    {
        let tiff = raster::tiff_bytes(r, p)?;
        let mut h = crate::fixity::digest::MultiHasher::new(run.opts.digests);
        h.update(&tiff);
        let hashed = crate::fixity::digest::Hashed {
            size: tiff.len() as u64,
            digests: h.finalize(),
        };
        sink.put(out, tiff, &hashed)?;
        run.remember(out, hashed);
        return Ok(());
    }
    let path = ensure_parent(run.out_root, out)?;
    if run.opts.digests.is_empty() {
        let f = BufWriter::with_capacity(1 << 20, File::create(&path)?);
        return raster::write_tiff(f, r, p);
    }
    // The TIFF encoder seeks back to link its directory, so the file is laid out in memory (the strips
    // are there already) and hashed in the pass that writes it: packaging never reads the master again.
    let tiff = raster::tiff_bytes(r, p)?;
    let mut w = crate::fixity::digest::HashingWriter::new(File::create(&path)?, run.opts.digests);
    std::io::Write::write_all(&mut w, &tiff)?;
    crate::buffers::give(tiff);
    let (_, hashed) = w.finish()?;
    run.remember(out, hashed);
    Ok(())
}

impl Run<'_> {
    /// Keep the digests of an output computed while writing it.
    fn remember(&self, out: &str, hashed: crate::fixity::digest::Hashed) {
        if let Ok(mut w) = self.written.lock() {
            w.insert(out.to_string(), hashed);
        }
    }
}

/// Derive a reproducible document id from what makes the document.
fn doc_id(parts: &[&str]) -> [u8; 16] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&d[..16]);
    id
}

/// The item PDF being written: its record, the writer (or why it failed), dpi, quality, output path.
type PdfState = (
    Event,
    Result<pdf::PdfWriter<BufWriter<crate::fixity::digest::HashingWriter<File>>>, String>,
    u32,
    u8,
    String,
);

fn run_item(run: &Run<'_>, p: &ItemPlan, ocr_window: usize) -> Vec<Event> {
    let policy = run.opts.policy;
    let mut records = Vec::new();
    let sources: Vec<String> = p
        .pages
        .iter()
        .map(|pg| run.files[pg.file].path.clone())
        .collect();
    let mut pdf_state: Option<PdfState> = p.pdf.as_ref().map(|(k, dpi, quality, out)| {
        let rule = &policy.rules[*k];
        let mut r = rec(
            run,
            EventType::Creation,
            "item-pdf",
            &rule.id,
            sources.clone(),
        );
        r.agents.push(record::crate_agent("image"));
        let meta = run.opts.items.get(&p.item).cloned().unwrap_or_default();
        let pm = pdf::PdfMeta {
            title: meta.title.clone().unwrap_or_else(|| p.item.clone()),
            author: meta.author.clone(),
            identifier: meta.identifier.clone().or_else(|| Some(p.item.clone())),
            created: run.now.clone(),
            producer: crate::software_agent(),
        };
        let mut id_parts: Vec<&str> = vec![&p.dir, &p.item, &run.now];
        id_parts.extend(sources.iter().map(String::as_str));
        let writer = ensure_parent(run.out_root, out)
            .map_err(|e| e.to_string())
            .and_then(|path| File::create(path).map_err(|e| e.to_string()))
            .and_then(|f| {
                // Hashed as it is written (Options::digests; none asked: nothing computed).
                let f = crate::fixity::digest::HashingWriter::new(f, run.opts.digests);
                pdf::PdfWriter::new(BufWriter::with_capacity(1 << 20, f), &pm, doc_id(&id_parts))
                    .map_err(|e| e.to_string())
            });
        (r, writer, *dpi, *quality, out.clone())
    });
    let mut text = p.ocr.as_ref().map(|o| {
        let meta = run.opts.items.get(&p.item).cloned().unwrap_or_default();
        let rule = p
            .pdf
            .as_ref()
            .map_or("", |(k, ..)| policy.rules[*k].id.as_str());
        let mut id_parts: Vec<&str> = vec![&p.dir, &p.item, &run.now, "ofd"];
        id_parts.extend(sources.iter().map(String::as_str));
        searchable::ItemText::start(run, o, rule, &sources, &meta, &p.item, doc_id(&id_parts))
    });
    // Issue 14: with OCR, pages come in windows — decoded, OCR'd in parallel, then written in page order —
    // so that one item of many pages still uses every core (the window is the cores other items leave).
    let window = match &text {
        Some(_) => ocr_window,
        None => 1,
    };
    let mut ahead = std::collections::VecDeque::new();
    for (i, pg) in p.pages.iter().enumerate() {
        if ahead.is_empty() {
            let end = (i + window).min(p.pages.len());
            let decoded: Vec<_> = p.pages[i..end]
                .iter()
                .map(|q| load_page(run, &run.files[q.file]))
                .collect();
            let ocr = text.as_ref().map(|t| t.recognize_all(&decoded));
            let ocr = ocr.unwrap_or_else(|| decoded.iter().map(|_| None).collect());
            ahead.extend(decoded.into_iter().zip(ocr));
        }
        let Some((loaded, ocr)) = ahead.pop_front() else {
            continue;
        };
        let f = &run.files[pg.file];
        let rule = pg.rule.map(|k| &policy.rules[k]);
        // OCR read the same decode; its confidence joins the page's QC report.
        let (page_text, ocr_finding) = match (ocr, text.as_mut()) {
            (Some(res), Some(t)) => t.record(pg.seq, &f.path, res),
            _ => Default::default(),
        };
        // The page checks run on the same decode that makes the master and the PDF page.
        if let Some(policy) = run.opts.qc
            && run.depth == 0
        {
            let mut report = match &loaded {
                Ok(r) => crate::qc::check_raster(&f.path, r, policy),
                Err(PageError::Raster(e)) => crate::qc::undecodable(&f.path, e),
                Err(PageError::Action(e)) => crate::qc::PageReport {
                    findings: vec![Finding::new(
                        crate::qc::rules::PROCESSING,
                        Level::Error,
                        Some(f.path.clone()),
                        format!("无法读取: {e}"),
                        format!("cannot read: {e}"),
                    )],
                    ..crate::qc::undecodable(
                        &f.path,
                        &crate::raster::RasterError::Malformed(e.to_string()),
                    )
                },
            };
            report.findings.extend(ocr_finding);
            if let Ok(mut pages) = run.pages.lock() {
                pages.push(report);
            }
        }
        let r = match loaded.map_err(ActionError::from) {
            Ok(r) => r,
            Err(e) => {
                if let (Some(rule), Some(out)) = (rule, &pg.master) {
                    let mut t = rec(
                        run,
                        EventType::Normalization,
                        "tiff-master",
                        &rule.id,
                        vec![f.path.clone()],
                    );
                    t.outputs.push(out.clone());
                    records.push(fail(t, &e));
                }
                if let Some(st) = pdf_state.as_mut()
                    && st.1.is_ok()
                {
                    st.1 = Err(format!("page {} ({}): {e}", pg.seq, f.path));
                }
                if let Some(t) = text.as_mut() {
                    t.page_failed(pg.seq, &f.path, &e); // issue 14: no OFD or full text with a hole
                }
                if run.depth == 0 {
                    (run.opts.progress)(1);
                }
                continue;
            }
        };
        if let (Some(rule), Some(out)) = (rule, &pg.master) {
            let t = tiff_record(run, rule, &f.path, out, &r);
            match write_master(run, out, &r, tiff_params(rule)) {
                Ok(()) => records.push(t),
                Err(e) => records.push(fail(t, e)),
            }
        }
        if let Some((_, Ok(w), dpi, quality, _)) = pdf_state.as_mut() {
            let (xd, yd) = r.dpi.unwrap_or((300.0, 300.0));
            let res = raster::page_image(&r, xd, *dpi, *quality).and_then(|img| {
                let wpt = f64::from(r.pixels.width()) / xd * 72.0;
                let hpt = f64::from(r.pixels.height()) / yd * 72.0;
                let words = match &text {
                    Some(t) if t.pdf_text() => searchable::pdf_words(&page_text, xd, yd),
                    _ => Vec::new(),
                };
                if let Some(t) = text.as_mut() {
                    t.ofd_page(&img, &r, (xd, yd), &page_text, pg.seq, &f.path);
                }
                w.add_page_with_text(img, wpt, hpt, &words)
                    .map_err(ActionError::from)
            });
            if let Err(e) = res {
                if let Some(st) = pdf_state.as_mut() {
                    st.1 = Err(format!("page {} ({}): {e}", pg.seq, f.path));
                }
            } else if r.dpi.is_none()
                && let Some(st) = pdf_state.as_mut()
            {
                st.0.detail = Some(format!(
                    "{} has no resolution; its page size assumes 300 dpi",
                    f.path
                ));
                st.0.outcome = Outcome::Warning;
            }
        }
        if run.depth == 0 {
            (run.opts.progress)(1);
        }
    }
    if let Some((mut r, w, dpi, quality, out)) = pdf_state {
        r.parameters.insert(
            "conformance".into(),
            "PDF/A-2b (pdfaid:part 2, pdfaid:conformance B)".into(),
        );
        r.parameters.insert(
            "output_intent".into(),
            format!("{} (built-in ICC v2 profile)", icc::SRGB_DESCRIPTION),
        );
        r.parameters.insert("image_dpi".into(), dpi.to_string());
        r.parameters
            .insert("jpeg_quality".into(), quality.to_string());
        r.parameters.insert(
            "bitonal_pages".into(),
            "1-bit FlateDecode at full resolution".into(),
        );
        r.parameters
            .insert("pages".into(), p.pages.len().to_string());
        if let Some(t) = &text
            && t.pdf_text()
        {
            r.parameters.insert(
                "text_layer".into(),
                "OCR words as invisible text (Tr 3), glyphless CIDFontType2 font, Identity-H, ToUnicode".into(),
            );
        }
        let finished = w.and_then(|w| {
            let hashing = w
                .finish()
                .and_then(|b| b.into_inner().map_err(|e| e.into_error()))
                .map_err(|e| e.to_string())?;
            hashing.finish().map_err(|e| e.to_string())
        });
        match finished {
            Ok((_, hashed)) => {
                if !run.opts.digests.is_empty() {
                    run.remember(&out, hashed);
                }
                r.outputs.push(out);
                records.push(r);
            }
            Err(e) => {
                let _ = fs::remove_file(run.out_root.join(&out));
                records.push(fail(r, e));
            }
        }
    }
    if let Some(t) = text {
        records.extend(t.finish(p.pages.len()));
    }
    records
}

/// Why a page could not be loaded.
enum PageError {
    Action(ActionError),
    Raster(crate::raster::RasterError),
}

impl From<PageError> for ActionError {
    fn from(e: PageError) -> Self {
        match e {
            PageError::Action(a) => a,
            PageError::Raster(r) => r.into(),
        }
    }
}

/// Read a page (the one read of its bytes in this run) and decode it under the run's budget.
fn load_page(run: &Run<'_>, f: &InputFile) -> Result<raster::Raster, PageError> {
    let bytes = read_input(run, f, run.opts.qc.is_some())?;
    crate::raster::decode(&bytes, run.opts.budget).map_err(PageError::Raster)
}

/// Read an input whole, through `open_regular`: the one read of its bytes in this run. When the caller
/// gave the digest the bytes must have (pack: the scan's digest of the source, read here from its staged
/// copy), they are checked against it — this read is then also the copy's read-back. With `page_digest`,
/// a page's SHA-256 is kept for the batch's identical-image check.
fn read_input(run: &Run<'_>, f: &InputFile, page_digest: bool) -> Result<Vec<u8>, PageError> {
    let bytes = crate::fsutil::read_regular(&run.in_root.join(&f.path), crate::scan::MAX_IN_MEMORY)
        .map_err(|e| PageError::Action(e.into()))?;
    if f.sha256.is_some() || page_digest {
        let mut h =
            crate::fixity::digest::MultiHasher::new(&[crate::fixity::digest::Algorithm::Sha256]);
        h.update(&bytes);
        let actual = h
            .finalize()
            .into_iter()
            .next()
            .map(|(_, v)| v)
            .unwrap_or_default();
        if let Some(expected) = &f.sha256 {
            if &actual != expected {
                return Err(PageError::Action(ActionError::Malformed(format!(
                    "the copy read back has SHA-256 {actual}, the source had {expected}"
                ))));
            }
            if let Ok(mut v) = run.verified.lock() {
                v.push(f.path.clone());
            }
        } else if let Ok(mut d) = run.page_digests.lock() {
            d.insert(f.path.clone(), actual);
        }
    }
    Ok(bytes)
}

fn skipped(mut r: Event, why: String) -> Event {
    r.outcome = Outcome::Skipped;
    r.detail = Some(why);
    r
}

fn run_file(run: &Run<'_>, p: &FilePlan) -> Outcomes {
    let mut out: Outcomes = (Vec::new(), Vec::new(), Vec::new());
    let Some(k) = p.rule else { return out };
    let rule = &run.opts.policy.rules[k];
    let f = &run.files[p.file];
    let src = run.in_root.join(&f.path);
    let sources = vec![f.path.clone()];
    // One read and one decode of a raster file, shared by its master and its access copies (the access
    // copy takes the decode over once the master is written).
    let mut decoded: Option<Result<raster::Raster, ActionError>> = None;
    let decode = || {
        read_input(run, f, false)
            .map_err(ActionError::from)
            .and_then(|b| crate::raster::decode(&b, run.opts.budget).map_err(ActionError::from))
    };
    // Preservation.
    match (rule.preservation.to, &p.master) {
        (Some(Target::Tiff), Some(o)) => match decoded.get_or_insert_with(decode) {
            Ok(r) => {
                let t = tiff_record(run, rule, &f.path, o, r);
                match write_master(run, o, r, tiff_params(rule)) {
                    Ok(()) => out.1.push(t),
                    Err(e) => out.1.push(fail(t, e)),
                }
            }
            Err(e) => {
                let mut t = rec(
                    run,
                    EventType::Normalization,
                    "tiff-master",
                    &rule.id,
                    sources.clone(),
                );
                t.outputs.push(o.clone());
                out.1.push(fail(t, e));
            }
        },
        (Some(Target::Wav), Some(o)) => {
            let mut t = rec(
                run,
                EventType::Normalization,
                "wav",
                &rule.id,
                sources.clone(),
            );
            t.agents.push(record::crate_agent("symphonia"));
            t.agents.push(record::crate_agent("hound"));
            let res = ensure_parent(run.out_root, o)
                .and_then(|dst| audio::to_wav(&src, &dst, rule.preservation.bits));
            match res {
                Ok(params) => {
                    t.parameters = params;
                    t.outputs.push(o.clone());
                    out.1.push(t);
                }
                Err(e) => {
                    let _ = fs::remove_file(run.out_root.join(o));
                    out.1.push(fail(t, e));
                }
            }
        }
        (Some(Target::Mkv), Some(o)) => {
            let t = rec(
                run,
                EventType::Normalization,
                "ffv1-mkv",
                &rule.id,
                sources.clone(),
            );
            out.1.push(ffmpeg(
                run,
                t,
                &src,
                o,
                &["-c:v", "ffv1", "-level", "3", "-g", "1", "-c:a", "flac"],
            ));
        }
        (Some(Target::Eml), Some(o)) => {
            let html_dir = rule
                .access
                .iter()
                .zip(&p.access)
                .find_map(|(a, o)| match a {
                    Access::Html {} => o.clone(),
                    _ => None,
                });
            email::mailbox(run, rule, f, &src, o, html_dir.as_deref(), &mut out);
        }
        _ => {}
    }
    // Access derivatives.
    let is_message = f.format.family == Family::Email;
    if is_message {
        let html = rule
            .access
            .iter()
            .zip(&p.access)
            .find_map(|(a, o)| match a {
                Access::Html {} => o.clone(),
                _ => None,
            });
        match read_input(run, f, false).map_err(ActionError::from) {
            Ok(raw) => email::message_file(
                run,
                rule,
                &f.path,
                &raw,
                html.as_deref(),
                p.attachments.as_deref(),
                &mut out,
            ),
            Err(e) => {
                let t = rec(run, EventType::Creation, "html", &rule.id, sources.clone());
                out.1.push(fail(t, e));
            }
        }
    }
    let mut oriented: Option<Result<image::DynamicImage, String>> = None;
    for (a, o) in rule.access.iter().zip(&p.access) {
        let Some(o) = o else { continue };
        match a {
            Access::Jpeg {
                max_px,
                quality,
                label,
            } => {
                let mut t = rec(run, EventType::Creation, "jpeg", &rule.id, sources.clone());
                t.agents.push(record::crate_agent("image"));
                t.parameters
                    .insert("max_long_side_px".into(), max_px.to_string());
                t.parameters
                    .insert("jpeg_quality".into(), quality.to_string());
                t.parameters.insert("label".into(), label.clone());
                t.parameters
                    .insert("exif_orientation".into(), "applied".into());
                t.parameters
                    .insert("resize_filter".into(), "triangle".into());
                let img = oriented.get_or_insert_with(|| {
                    decoded
                        .take()
                        .unwrap_or_else(decode)
                        .map(|mut r| {
                            r.pixels.apply_orientation(r.orientation);
                            r.into_pixels()
                        })
                        // Kept without the variant's prefix: it is wrapped again below.
                        .map_err(|e| match e {
                            ActionError::Malformed(m) => m,
                            other => other.to_string(),
                        })
                });
                let res = match img {
                    Ok(img) => raster::photo_jpeg(img, *max_px, *quality).and_then(|bytes| {
                        let path = ensure_parent(run.out_root, o)?;
                        fs::write(path, bytes).map_err(ActionError::from)
                    }),
                    Err(e) => Err(ActionError::Malformed(e.clone())),
                };
                match res {
                    Ok(()) => {
                        t.outputs.push(o.clone());
                        out.1.push(t);
                    }
                    Err(e) => out.1.push(fail(t, e)),
                }
            }
            Access::Mp4 { crf } => {
                let t = rec(run, EventType::Creation, "mp4", &rule.id, sources.clone());
                let crf = crf.to_string();
                let args = [
                    "-map",
                    "0:v:0",
                    "-map",
                    "0:a:0?",
                    "-c:v",
                    "libx264",
                    "-preset",
                    "medium",
                    "-crf",
                    &crf,
                    "-pix_fmt",
                    "yuv420p",
                    "-vf",
                    "scale=trunc(iw/2)*2:trunc(ih/2)*2",
                    "-c:a",
                    "aac",
                    "-b:a",
                    "160k",
                    "-movflags",
                    "+faststart",
                ];
                out.1.push(ffmpeg(run, t, &src, o, &args));
            }
            Access::OfficePdf {} => {
                let t = rec(
                    run,
                    EventType::Creation,
                    "office-pdf",
                    &rule.id,
                    sources.clone(),
                );
                out.1.push(office_pdf(run, t, &src, o));
            }
            Access::Html {} | Access::ItemPdf { .. } => {}
        }
    }
    out
}

fn ffmpeg(run: &Run<'_>, mut t: Event, src: &Path, o: &str, codec_args: &[&str]) -> Event {
    let Some(tool) = &run.opts.tools.ffmpeg else {
        return skipped(
            t,
            "ffmpeg not found on PATH: derivative not made (install ffmpeg and run again)".into(),
        );
    };
    t.agents.push(record::tool_agent("ffmpeg", &tool.version));
    let path = match ensure_parent(run.out_root, o) {
        Ok(p) => p,
        Err(e) => return fail(t, e),
    };
    // Bit-exact flags and no copied metadata: the same input gives the same bytes.
    let mut args: Vec<&std::ffi::OsStr> =
        ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i"]
            .iter()
            .map(std::ffi::OsStr::new)
            .collect();
    args.push(src.as_os_str());
    args.extend(codec_args.iter().map(std::ffi::OsStr::new));
    for a in [
        "-map_metadata",
        "-1",
        "-fflags",
        "+bitexact",
        "-flags:v",
        "+bitexact",
        "-flags:a",
        "+bitexact",
    ] {
        args.push(std::ffi::OsStr::new(a));
    }
    args.push(path.as_os_str());
    t.parameters.insert(
        "arguments".into(),
        args.iter()
            .map(|a| {
                if *a == src.as_os_str() {
                    "INPUT".to_string()
                } else if *a == path.as_os_str() {
                    "OUTPUT".to_string()
                } else {
                    a.to_string_lossy().into_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
    );
    let log = path.with_extension("ffmpeg.log");
    let res = tools::run(tool, &args, &log, run.opts.tools.timeout);
    let _ = fs::remove_file(&log);
    match res {
        Ok(()) => {
            t.outputs.push(o.into());
            t
        }
        Err(e) => {
            let _ = fs::remove_file(&path);
            fail(t, e)
        }
    }
}

fn office_pdf(run: &Run<'_>, mut t: Event, src: &Path, o: &str) -> Event {
    let Some(tool) = &run.opts.tools.soffice else {
        return skipped(
            t,
            "soffice (LibreOffice) not found on PATH: PDF access copy not made".into(),
        );
    };
    t.agents
        .push(record::tool_agent("LibreOffice", &tool.version));
    let res = (|| -> Result<(), ActionError> {
        let dst = ensure_parent(run.out_root, o)?;
        let work = dst.with_extension("soffice.d");
        fs::create_dir_all(&work)?;
        let profile = format!("-env:UserInstallation=file://{}/profile", work.display());
        let args: Vec<&std::ffi::OsStr> = vec![
            profile.as_ref(),
            "--headless".as_ref(),
            "--norestore".as_ref(),
            "--convert-to".as_ref(),
            "pdf".as_ref(),
            "--outdir".as_ref(),
            work.as_os_str(),
            src.as_os_str(),
        ];
        let log = work.join("log.txt");
        tools::run(tool, &args, &log, run.opts.tools.timeout)?;
        let name = src
            .file_stem()
            .map(|s| s.to_os_string())
            .unwrap_or_default();
        let made = work.join(name).with_extension("pdf");
        if !made.is_file() {
            // LibreOffice exits 0 when it cannot read a document ("Error: source file could not be loaded"
            // goes to stdout): without this check the failure read as a bare "No such file or directory".
            let said = fs::read_to_string(&log).unwrap_or_default();
            let said = said.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
            let _ = fs::remove_dir_all(&work);
            return Err(ActionError::Tool {
                tool: "LibreOffice".into(),
                message: format!(
                    "wrote no PDF (the document may be damaged or not an office document){}",
                    if said.is_empty() {
                        String::new()
                    } else {
                        format!(": {said}")
                    }
                ),
            });
        }
        fs::rename(&made, &dst)?;
        fs::remove_dir_all(&work)?;
        Ok(())
    })();
    t.parameters.insert(
        "arguments".into(),
        "--headless --norestore --convert-to pdf".into(),
    );
    match res {
        Ok(()) => {
            t.outputs.push(o.into());
            t
        }
        Err(e) => fail(t, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identify::Family as Fmt;

    /// Normalization's page role is the one page rule of intake.
    #[test]
    fn page_roles_follow_the_one_page_rule() {
        let input = |path: &str, family| InputFile {
            path: path.into(),
            format: FormatKey {
                puid: None,
                mime: "image/jpeg".into(),
                family: Family::Raster,
            },
            family,
            basis: String::new(),
            sha256: None,
        };
        assert_eq!(
            role_of(&input("a/J001-WS_2019-Y-BGS-0001-0003.jpg", Fmt::Jpeg)),
            (Role::Page, Some(("J001-WS_2019-Y-BGS-0001".into(), 3)))
        );
        assert_eq!(
            role_of(&input("scan-0012.tif", Fmt::Tiff)),
            (Role::Page, Some(("scan".into(), 12)))
        );
        // A file named by its whole 档号 is an item of its own (a photo), not page 1 of "J001-WS_2019-Y-BGS".
        assert_eq!(
            role_of(&input("J001-WS_2019-Y-BGS-0001.jpg", Fmt::Jpeg)).0,
            Role::File
        );
        assert_eq!(role_of(&input("photo.jpg", Fmt::Jpeg)).0, Role::File);
        assert_eq!(role_of(&input("a-12345.jpg", Fmt::Jpeg)).0, Role::File);
        assert_eq!(role_of(&input("x-0001.wav", Fmt::Wav)).0, Role::File);
    }
}
