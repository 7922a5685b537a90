//! `pack`: from a batch folder and its 目录 to E-ARK SIP packages.
//!
//! intake (the 目录, files matched by name) → scan (one read per file: digests, identification, headers,
//! the staged copy) → QC and normalization (one decode per page: its checks, its master, its PDF page) →
//! package (the staged copies moved in, checked against the scan's digests). Nothing is published when
//! intake or QC finds an error: the findings are returned instead.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::catalog::Catalog;
use crate::context::Context;
use crate::fixity::digest::Algorithm;
use crate::identify;
use crate::intake::{Columns, Intake, IntakeError, IntakeOptions, intake};
use crate::intake::{Field, Item};
use crate::model::{Agent, Event, EventType, FileRecord, Finding, Identification, Level, Outcome};
use crate::normalize::{self, InputFile, ItemMeta, Policy, Root, Tools};
use crate::package::{
    self, Form, PackageError, PackageSpec, RepresentationSpec, Source, SourceFile, WrittenPackage,
};
use crate::qc::{self, QcPolicy};
use crate::scan::{self, ScanOptions, Tally};

/// Why packing stopped.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error(transparent)]
    Intake(#[from] IntakeError),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error(transparent)]
    Identify(#[from] identify::IdentifyError),
    #[error(transparent)]
    Normalize(#[from] normalize::NormalizeError),
    #[error(transparent)]
    Eep(crate::eep::EepError), // eep (issue 15)
}

/// Options of a pack run.
#[derive(Debug, Clone)]
pub struct PackOptions {
    pub manifest: Option<PathBuf>,
    /// Package ID (mets/@OBJID); derived from the batch when `None`.
    pub id: Option<String>,
    pub label: Option<String>,
    pub submitter: String,
    pub submitter_id: Option<String>,
    pub sm3: bool,
    pub form: Form,
    pub split_by: SplitBy,
    /// Scan QC thresholds (DA/T 31-2017); the embedded policy when `None`.
    pub qc: Option<QcPolicy>,
    /// Format policy for preservation masters and access copies; `None` = no normalization (originals
    /// only).
    pub policy: Option<Policy>,
    /// External tools the policy may use (ffmpeg, soffice), found on PATH by the caller.
    pub tools: Tools,
    // --- begin eep (issue 15)
    /// Write the E-ARK SIP (`--format sip`, the default).
    pub sip: bool,
    /// Also write one DA/T 48-2009 EEP per item (`--format eep`), with these options.
    pub eep: Option<crate::eep::EepOptions>,
    // --- end eep
}

/// How a batch is divided into packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitBy {
    /// One package for the whole batch.
    #[default]
    None,
    /// One package per catalog code.
    Code,
    /// One package per 年度.
    Year,
    /// One package per household (一户一档), by 户编号 (or 户主姓名 where no 户编号 is given).
    Household,
}

impl Default for PackOptions {
    fn default() -> Self {
        PackOptions {
            manifest: None,
            id: None,
            label: None,
            submitter: "未注明报送单位".into(),
            submitter_id: None,
            sm3: false,
            form: Form::Folder,
            split_by: SplitBy::None,
            qc: None,
            policy: Some(Policy::embedded()),
            tools: Tools::default(),
            sip: true,
            eep: None,
        }
    }
}

/// One package written.
#[derive(Debug, Clone, Serialize)]
pub struct PackedPackage {
    pub id: String,
    pub path: PathBuf,
    pub items: usize,
    pub files: usize,
    pub bytes: u64,
}

/// The outcome: packages written (none when the batch is invalid) and every finding.
#[derive(Debug, Clone, Serialize)]
pub struct PackReport {
    pub packages: Vec<PackedPackage>,
    pub findings: Vec<Finding>,
    pub stats: PackStats,
}

/// Where an original file lands inside the package.
fn package_path(rel: &str) -> String {
    format!("representations/original/data/{rel}")
}

/// A package ID from a folder name: keep safe characters, map the rest to '_'.
fn id_from(batch: &Path) -> String {
    let name = batch
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "batch".into());
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.').to_string();
    if s.is_empty() { "batch".into() } else { s }
}

/// The hand-over list as Chinese archives expect it: UTF-8 with BOM so Excel opens it right.
fn manifest_csv(intake: &Intake) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = w.write_record([
        "档号",
        "题名",
        "分类号",
        "日期",
        "页数",
        "保管期限",
        "文件数",
        "文件",
    ]);
    for it in &intake.items {
        let files: Vec<&str> = it.files.iter().map(|f| f.path.as_str()).collect();
        let _ = w.write_record([
            it.danghao.to_string(),
            it.title.clone(),
            it.catalog_code.clone(),
            it.date.clone().unwrap_or_default(),
            it.pages.map(|p| p.to_string()).unwrap_or_default(),
            it.retention.label_zh().to_string(),
            it.files.len().to_string(),
            files.join("; "),
        ]);
    }
    w.into_inner().unwrap_or_default()
}

fn readme(intake: &Intake, objid: &str, ctx: &Context, bytes: u64) -> Vec<u8> {
    let files: usize = intake.items.iter().map(|i| i.files.len()).sum();
    format!(
        "说明文件\n\n\
         封装包: {objid}\n\
         格式: E-ARK SIP 2.2.0 (METS 1.12, PREMIS 3.0)\n\
         生成: {} {}\n\
         条目(件)数: {}\n\
         原始文件数: {files}\n\
         原始文件字节数: {bytes}\n\n\
         目录结构:\n\
         METS.xml                          封装包描述\n\
         metadata/descriptive/catalog.xml  按分类号组织的条目元数据\n\
         metadata/descriptive/dc.xml       都柏林核心元数据\n\
         metadata/preservation/premis.xml  保存元数据 (固定性、格式、事件)\n\
         representations/original/data/    原始文件, 逐字节保留\n\
         documentation/目录.csv            移交目录\n\
         schemas/                          所用 XML Schema\n",
        crate::software_agent(),
        ctx.now_rfc3339(),
        intake.items.len(),
    )
    .into_bytes()
}

/// Run intake and, when the batch is valid, write its package under `out`.
pub fn pack(
    batch: &Path,
    out: &Path,
    catalog: &Catalog,
    options: &PackOptions,
    ctx: &Context,
) -> Result<PackReport, PackError> {
    pack_with_progress(batch, out, catalog, options, ctx, &())
}

/// A stage of a pack run, for progress display (the library itself prints nothing). Each stage says how
/// many units it will report through [`Progress::advance`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Reading the 目录 and matching files by name (no units).
    Intake,
    /// The one read of every source file: digests, identification, headers, the staged copy (one unit per
    /// file).
    Scan { files: usize },
    /// Scan QC of the pages and the format policy, from one decode per page (one unit per file).
    Normalize { files: usize },
    /// Writing one package (one unit per content file).
    Write {
        index: usize,
        count: usize,
        id: String,
        files: usize,
    },
}

/// Where a pack run reports its progress; called from worker threads.
pub trait Progress: Sync {
    /// A stage starts.
    fn stage(&self, _stage: Stage) {}
    /// `units` more units of the current stage are done.
    fn advance(&self, _units: u64) {}
}

/// No progress reporting.
impl Progress for () {}

/// What a pack run read, decoded and wrote: the proof that each source file was read once and each page
/// decoded once, the time of each stage, and what a page costs to keep.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PackStats {
    /// Full reads of source files (the scan).
    pub source_reads: u64,
    pub source_bytes: u64,
    /// Decodes of page images (and photos, for their access copies).
    pub decodes: u64,
    /// Pages among the files.
    pub pages: u64,
    /// Staged copies read back and checked against the scan's digests: by the page decode, or by the
    /// package writer.
    pub copies_checked: u64,
    /// Seconds per stage, in order.
    pub stage_seconds: Vec<(String, f64)>,
    /// Bytes per page of each representation over the whole run (`original`, `preservation`, `access`).
    pub bytes_per_page: Vec<(String, f64)>,
}

/// Scratch space of a run beside the output: staged copies of the originals and the derivatives. Removed
/// whatever happens; never published. An output folder the run created is removed again when the run
/// leaves it empty (a refused batch leaves nothing behind).
struct Work {
    dir: PathBuf,
    created_out: Option<PathBuf>,
}

impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(out) = &self.created_out {
            // Fails, as it should, when a package was published into it.
            let _ = std::fs::remove_dir(out);
        }
    }
}

fn failed(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.level >= Level::Error)
}

/// [`pack`], telling `progress` when each stage starts and as files are done.
pub fn pack_with_progress(
    batch: &Path,
    out: &Path,
    catalog: &Catalog,
    options: &PackOptions,
    ctx: &Context,
    progress: &dyn Progress,
) -> Result<PackReport, PackError> {
    let mut stats = PackStats::default();
    let mut clock = std::time::Instant::now();
    let mut lap = |stats: &mut PackStats, name: &str| {
        stats
            .stage_seconds
            .push((name.to_string(), clock.elapsed().as_secs_f64()));
        clock = std::time::Instant::now();
    };
    progress.stage(Stage::Intake);
    let columns = Columns::embedded();
    let checked = intake(
        batch,
        catalog,
        &columns,
        &IntakeOptions {
            manifest: options.manifest.clone(),
        },
    )?;
    lap(&mut stats, "intake");
    if !checked.is_valid() {
        return Ok(PackReport {
            packages: Vec::new(),
            findings: checked.findings,
            stats,
        });
    }
    let base_id = options.id.clone().unwrap_or_else(|| id_from(batch));
    let mut findings = checked.findings.clone();
    let manifest_name = checked
        .manifest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let groups = match split(&checked.items, options.split_by, &manifest_name) {
        Ok(g) => g,
        Err(missing) => {
            findings.extend(missing);
            return Ok(PackReport {
                packages: Vec::new(),
                findings,
                stats,
            });
        }
    };
    let created_out = (!out.exists()).then(|| out.to_path_buf());
    std::fs::create_dir_all(out).map_err(|e| normalize::NormalizeError::io(out, e))?;
    let mut work = Work {
        // Unique per run, not drawn from `ctx`: two runs with the same --id/--created draw the same IDs, and
        // one must never remove the other's scratch space. `.<ID>.dangan-…` is swept as stale staging.
        dir: out.join(format!(
            ".{base_id}.dangan-work-{}",
            crate::publish::run_id()
        )),
        created_out,
    };
    // One run per package ID in `out`, from the scratch space (staged copies, derivatives) to publication:
    // a second run to the same place fails at once with one message (crate::publish::DestLock). Taken
    // after `work` so that it is released before `work` removes an `out` the run created.
    // A run that loses the lock leaves `out` alone, even one it found missing: the winner may be using it.
    let _lock = match crate::publish::DestLock::acquire(&out.join(&base_id)) {
        Ok(lock) => lock,
        Err(e) => {
            work.created_out = None;
            return Err(PackageError::from(e).into());
        }
    };
    let originals_dir = work.dir.join("original");
    let derived_dir = work.dir.join("derived");
    std::fs::create_dir_all(&derived_dir)
        .map_err(|e| normalize::NormalizeError::io(&derived_dir, e))?;

    // 1. The one read of every file: digests, identification, headers, the staged copy; photo checks.
    let rels: Vec<&str> = checked
        .items
        .iter()
        .flat_map(|it| &it.files)
        .map(|f| f.path.as_str())
        .collect();
    progress.stage(Stage::Scan { files: rels.len() });
    let qc_policy = options.qc.clone().unwrap_or_else(QcPolicy::embedded);
    let budget = qc_policy.budget();
    let tally = Tally::default();
    let mut algorithms = vec![Algorithm::Sha256];
    if options.sm3 {
        algorithms.push(Algorithm::Sm3);
    }
    if options.form == package::Form::Bag {
        // The bag's SHA-512 manifest, from the same one read (package::Source::Staged).
        algorithms.push(Algorithm::Sha512);
    }
    let scanned: Vec<Result<(FileRecord, Vec<Finding>), scan::ScanError>> = rels
        .par_iter()
        .map(|rel| {
            let opts = ScanOptions {
                algorithms: algorithms.clone(),
                copy_to: Some(originals_dir.join(rel)),
            };
            let r = match scan::scan_file(batch, rel, &opts, &tally) {
                Ok(s) => {
                    // Photo checks from the record and headers; pages are checked on their one decode,
                    // in the next stage.
                    let photo = if crate::intake::is_photo(&s.record.path, s.record.family) {
                        match qc::check_scanned(&s, &qc_policy, &budget) {
                            qc::Checked::Photo(f) => f,
                            _ => Vec::new(),
                        }
                    } else {
                        Vec::new()
                    };
                    Ok((s.record, photo))
                }
                Err(e) => Err(e),
            };
            progress.advance(1);
            r
        })
        .collect();
    let mut records: HashMap<String, FileRecord> = HashMap::new();
    for s in scanned {
        match s {
            Ok((r, mut f)) => {
                findings.append(&mut f);
                records.insert(r.path.clone(), r);
            }
            // A full disk while staging the copies is this run's failure, not the batch's: one error
            // (rc 2), nothing published, the scratch space removed.
            Err(scan::ScanError::Io { source, .. }) if crate::publish::is_no_space(&source) => {
                return Err(PackError::Package(
                    crate::publish::PublishError::NoSpace {
                        dest: out.join(&base_id),
                    }
                    .into(),
                ));
            }
            Err(e) => findings.push(Finding::new(
                "INTAKE.PATH",
                Level::Error,
                Some(e.path().to_string()),
                e.zh(),
                e.en(),
            )),
        }
    }
    stats.source_reads = tally.files();
    stats.source_bytes = tally.bytes();
    lap(&mut stats, "scan");
    if failed(&findings) {
        return Ok(PackReport {
            packages: Vec::new(),
            findings,
            stats,
        });
    }

    // 2. DA/T 31-2017 batch checks over the pages, from the records (the page rule: intake::page).
    let mut page_records: Vec<&FileRecord> =
        records.values().filter(|r| scan::is_page(r)).collect();
    page_records.sort_by(|a, b| a.path.cmp(&b.path));
    stats.pages = page_records.len() as u64;
    let seqs: Vec<qc::SequenceInput> = page_records.iter().map(|r| qc::sequence_input(r)).collect();
    findings.extend(qc::check_sequence(&seqs, &qc_policy.sequence));

    // 3. One decode per page: its QC, its master, its PDF page. Inputs are the staged copies, so reading
    // a page for its decode is also the read-back check of its copy.
    let empty = Policy {
        name: "none".into(),
        version: "1".into(),
        source: "<none>".into(),
        rules: Vec::new(),
        ocr: Default::default(), // issue 14 (ocr): no policy, no OCR
    };
    let policy = options.policy.as_ref().unwrap_or(&empty);
    let inputs: Vec<InputFile> = rels
        .iter()
        .filter_map(|rel| records.get(*rel))
        .map(|r| InputFile {
            sha256: r.digest("sha256").map(str::to_string),
            ..InputFile::from_record(r)
        })
        .collect();
    let mut meta = std::collections::BTreeMap::new();
    for it in &checked.items {
        meta.insert(
            it.danghao.to_file_stem(),
            ItemMeta {
                title: Some(it.title.clone()),
                author: it.field(Field::Creator).map(str::to_string),
                identifier: Some(it.danghao.to_string()),
            },
        );
    }
    // `--zip` of one package: its zip is begun now and the masters go straight into it.
    let zip_masters = match (options.form, &groups[..], &options.policy) {
        (Form::Zip, [(key, _)], Some(_)) if options.sip => {
            let objid = match key {
                None => base_id.clone(),
                Some(k) => format!("{base_id}-{k}"),
            };
            package::check_id(&objid)?;
            let zip = package::zip_sink::ZipStream::create(
                &out.join(format!("{objid}.zip")),
                &objid,
                ctx,
            )?;
            Some(ZipMasters::new(zip, &derived_dir))
        }
        _ => None,
    };
    progress.stage(Stage::Normalize {
        files: inputs.len(),
    });
    let report = normalize::normalize_files(
        &originals_dir,
        &inputs,
        &derived_dir,
        &normalize::Options {
            policy,
            tools: &options.tools,
            items: &meta,
            qc: Some(&qc_policy),
            budget: &budget,
            progress: &|n| progress.advance(n),
            // Masters and item PDFs are hashed as they are written, with every digest the package records.
            digests: &crate::package::recorded_algorithms(options.sm3, options.form),
            sink: zip_masters
                .as_ref()
                .map(|z| z as &dyn normalize::OutputSink),
        },
        ctx,
    )?;
    stats.decodes = budget.decodes();
    lap(&mut stats, "qc+normalize");
    // A full disk reaches failed actions only as words (an encoder's error, a master the zip could not
    // take): this run's failure, not the batch's (rc 2, nothing published).
    if report.records.iter().any(|r| {
        r.outcome == Outcome::Failure
            && r.detail
                .as_deref()
                .is_some_and(crate::publish::mentions_no_space)
    }) {
        return Err(PackError::Package(
            crate::publish::PublishError::NoSpace {
                dest: out.join(&base_id),
            }
            .into(),
        ));
    }
    for p in &report.pages {
        findings.extend(p.findings.iter().cloned());
    }
    if options.policy.is_some() {
        findings.extend(report.findings.iter().cloned());
    }
    // A derivative the policy asked for and could not make is an error of the batch: a package is not
    // published with a hole where its master or access copy should be. (A missing tool is a recorded
    // skip, not a failure.)
    for r in report
        .records
        .iter()
        .filter(|r| r.outcome == Outcome::Failure)
    {
        let detail = r.detail.clone().unwrap_or_default();
        findings.push(Finding::new(
            "dangan normalize",
            Level::Error,
            r.sources.first().cloned(),
            format!("{} 未能生成: {detail}", r.action),
            format!("{} could not be made: {detail}", r.action),
        ));
    }
    if failed(&findings) {
        // A failing page (or a failed read-back of a copy) stops the pack: scans are re-done before they
        // ship. Nothing was published; the scratch space goes with `work`.
        return Ok(PackReport {
            packages: Vec::new(),
            findings,
            stats,
        });
    }
    let (mut zip, streamed) = match zip_masters.map(ZipMasters::finish).transpose()? {
        Some((z, t)) => (Some(z), Some(t)),
        None => (None, None),
    };
    let verified: HashSet<&str> = report.verified.iter().map(String::as_str).collect();
    let qc_pages: HashMap<&str, &qc::PageReport> =
        report.pages.iter().map(|p| (p.path.as_str(), p)).collect();
    stats.copies_checked = verified.len() as u64;

    // 4. The packages, each from its items' records, copies and derivatives.
    let run = Run {
        batch,
        out,
        catalog,
        options,
        ctx,
        checked: &checked,
        records: &records,
        verified: &verified,
        qc_pages: &qc_pages,
        originals_dir: &originals_dir,
        derived_dir: &derived_dir,
        normalized: &report,
        streamed: streamed.as_ref(),
        progress,
    };
    let mut packages = Vec::new();
    let mut rep_bytes: Vec<(String, u64)> = Vec::new();
    // --- begin eep (issue 15): one EEP per item, from the staged copies (before the SIP moves them)
    if let Some(eep) = &options.eep {
        let (written, mut f) = crate::eep::write_batch(
            &crate::eep::Batch {
                items: &checked.items,
                records: &records,
                qc_pages: &qc_pages,
                files_dir: &originals_dir,
                out,
                carrier: &base_id,
                submitter: &options.submitter,
                submitter_id: options.submitter_id.as_deref(),
                sip_written: options.sip,
            },
            eep,
            ctx,
        )
        .map_err(PackError::Eep)?;
        findings.append(&mut f);
        packages.extend(written.into_iter().map(|w| PackedPackage {
            id: w.danghao,
            path: w.path,
            items: 1,
            files: w.files,
            bytes: w.bytes,
        }));
    }
    let groups = if options.sip { groups } else { Vec::new() };
    // --- end eep
    let count = groups.len();
    for (index, (key, members)) in groups.into_iter().enumerate() {
        let objid = match &key {
            None => base_id.clone(),
            Some(k) => format!("{base_id}-{k}"),
        };
        let group = Group {
            index: index + 1,
            count,
            objid,
        };
        let (written, read_back) = write_group(&run, &group, &members, zip.take())?;
        stats.copies_checked += read_back.0 as u64;
        for (rep, b) in read_back.1 {
            match rep_bytes.iter_mut().find(|(n, _)| *n == rep) {
                Some((_, t)) => *t += b,
                None => rep_bytes.push((rep, b)),
            }
        }
        packages.push(written);
    }
    lap(&mut stats, "package");
    let pages = stats.pages.max(1) as f64;
    stats.bytes_per_page = rep_bytes
        .into_iter()
        .map(|(n, b)| (n, b as f64 / pages))
        .collect();
    Ok(PackReport {
        packages,
        findings,
        stats,
    })
}

/// Masters finished ahead of their turn kept in memory at most (beyond: a scratch file each).
const AHEAD_BYTES: usize = 64 << 20;

/// Where a derivative lands in the package (`preservation/x.tif` → `representations/preservation/data/x.tif`).
fn output_path(rel: &str) -> String {
    match rel.split_once('/') {
        Some((rep, rest)) => format!("representations/{rep}/data/{rest}"),
        None => format!("representations/derived/data/{rel}"),
    }
}

/// `pack --zip` of one package: each TIFF master goes into the package's zip as it is made, written
/// once (before, it went to a scratch file, was read again and copied into the zip). The zip's entries
/// follow the order normalization planned (the order its items start), so the same batch gives the same
/// zip whichever thread finishes first: a master finished ahead of its turn waits in memory, up to
/// [`AHEAD_BYTES`], beyond that in a scratch file (the old cost, only then), so memory stays bounded.
struct ZipMasters<'a> {
    state: std::sync::Mutex<Ahead>,
    /// Where masters that do not fit in memory wait (the run's scratch space).
    scratch: &'a Path,
    /// Bytes of masters waiting in memory at most ([`AHEAD_BYTES`]).
    limit: usize,
}

/// A master waiting for its turn.
enum Waiting {
    Memory(Vec<u8>),
    Spilled(PathBuf),
}

struct Ahead {
    zip: package::zip_sink::ZipStream,
    /// Plan position of each master.
    order: HashMap<String, usize>,
    /// Masters in plan order, to name the next one due.
    planned: Vec<String>,
    next: usize,
    waiting: std::collections::BTreeMap<usize, Waiting>,
    waiting_bytes: usize,
    /// Every master taken: its digests and identification, for the package's records.
    taken: HashMap<String, (crate::fixity::digest::Hashed, Identification)>,
}

impl Ahead {
    fn write(&mut self, out: &str, bytes: &[u8]) -> std::io::Result<()> {
        self.zip.add(&output_path(out), bytes).map_err(|e| match e {
            // Kept as it is, so that a full disk is still recognised as one.
            PackageError::Io { source, .. } => source,
            e => std::io::Error::other(e.to_string()),
        })
    }

    /// Write every waiting master whose turn has come.
    fn drain(&mut self) -> std::io::Result<()> {
        while let Some(w) = self.waiting.remove(&self.next) {
            let out = self.planned[self.next].clone();
            match w {
                Waiting::Memory(b) => {
                    self.waiting_bytes -= b.len();
                    self.write(&out, &b)?;
                    crate::buffers::give(b);
                }
                Waiting::Spilled(p) => {
                    let b = std::fs::read(&p)?;
                    self.write(&out, &b)?;
                    std::fs::remove_file(&p)?;
                }
            }
            self.next += 1;
        }
        Ok(())
    }
}

impl<'a> ZipMasters<'a> {
    fn new(zip: package::zip_sink::ZipStream, scratch: &'a Path) -> Self {
        ZipMasters {
            state: std::sync::Mutex::new(Ahead {
                zip,
                order: HashMap::new(),
                planned: Vec::new(),
                next: 0,
                waiting: Default::default(),
                waiting_bytes: 0,
                taken: HashMap::new(),
            }),
            scratch,
            limit: AHEAD_BYTES,
        }
    }

    /// The zip (every master in it) and what was recorded of each master.
    fn finish(self) -> Result<Streamed, PackageError> {
        let a = self.state.into_inner().unwrap_or_else(|p| p.into_inner());
        if a.next != a.planned.len() {
            // Only after a failed master, which stops the run before anything is published.
            return Err(PackageError::Io {
                path: PathBuf::from(a.planned.get(a.next).cloned().unwrap_or_default()),
                source: std::io::Error::other("this master was never made"),
            });
        }
        Ok((a.zip, a.taken))
    }
}

/// A zip with the masters in it, and each master's digests and identification by output path.
type Streamed = (
    package::zip_sink::ZipStream,
    HashMap<String, (crate::fixity::digest::Hashed, Identification)>,
);

impl normalize::OutputSink for ZipMasters<'_> {
    fn expect(&self, outputs: &[String]) {
        let mut a = self.state.lock().unwrap_or_else(|p| p.into_inner());
        a.order = outputs
            .iter()
            .enumerate()
            .map(|(i, o)| (o.clone(), i))
            .collect();
        a.planned = outputs.to_vec();
    }

    fn put(
        &self,
        out: &str,
        bytes: Vec<u8>,
        hashed: &crate::fixity::digest::Hashed,
    ) -> std::io::Result<()> {
        let name = out.rsplit('/').next();
        let ident = identify::identify_bytes(&bytes, name).identification;
        let mut a = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(&i) = a.order.get(out) else {
            return Err(std::io::Error::other(format!(
                "{out}: not a planned master"
            )));
        };
        if i == a.next {
            a.write(out, &bytes)?;
            crate::buffers::give(bytes);
            a.next += 1;
            a.drain()?;
        } else if a.waiting_bytes + bytes.len() <= self.limit {
            a.waiting_bytes += bytes.len();
            a.waiting.insert(i, Waiting::Memory(bytes));
        } else {
            let p = self.scratch.join(out);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&p, &bytes)?;
            crate::buffers::give(bytes);
            a.waiting.insert(i, Waiting::Spilled(p));
        }
        a.taken.insert(out.to_string(), (hashed.clone(), ident));
        Ok(())
    }
}

/// Packages to write: (group key, indices of its items).
type Groups = Vec<(Option<String>, Vec<usize>)>;

/// Group item indices by the split key. Items that lack the key are returned as findings.
fn split(items: &[Item], by: SplitBy, manifest: &str) -> Result<Groups, Vec<Finding>> {
    let mut groups: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
    let mut missing = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let key = match by {
            SplitBy::None => return Ok(vec![(None, (0..items.len()).collect())]),
            SplitBy::Code => Some(it.catalog_code.clone()),
            SplitBy::Year => Some(it.danghao.year.to_string()),
            SplitBy::Household => it
                .field(Field::HouseholdId)
                .or_else(|| it.field(Field::Householder))
                .map(str::to_string),
        };
        match key {
            Some(k) => groups.entry(safe_key(&k)).or_default().push(i),
            None => missing.push(Finding::new(
                "INTAKE.SPLIT",
                Level::Error,
                Some(format!("{manifest}:{}", it.row)),
                format!(
                    "--split-by household: 条目 {} 没有 户编号 或 户主姓名",
                    it.danghao
                ),
                format!(
                    "--split-by household: item {} has no household ID or householder",
                    it.danghao
                ),
            )),
        }
    }
    if missing.is_empty() {
        Ok(groups.into_iter().map(|(k, v)| (Some(k), v)).collect())
    } else {
        Err(missing)
    }
}

/// A group key as part of a package ID: safe characters kept, others written as their code point, so
/// two households never share an ID.
fn safe_key(k: &str) -> String {
    k.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.') {
                c.to_string()
            } else {
                format!("_{:x}", c as u32)
            }
        })
        .collect()
}

/// One package of a run: its place in the run and its ID.
struct Group {
    index: usize,
    count: usize,
    objid: String,
}

/// What every package of a run draws on.
struct Run<'a> {
    batch: &'a Path,
    out: &'a Path,
    catalog: &'a Catalog,
    options: &'a PackOptions,
    ctx: &'a Context,
    checked: &'a Intake,
    records: &'a HashMap<String, FileRecord>,
    verified: &'a HashSet<&'a str>,
    qc_pages: &'a HashMap<&'a str, &'a qc::PageReport>,
    originals_dir: &'a Path,
    derived_dir: &'a Path,
    normalized: &'a normalize::Report,
    /// `--zip` of one package: the masters already in its zip ([`ZipMasters`]), with their digests and
    /// identification.
    streamed: Option<&'a HashMap<String, (crate::fixity::digest::Hashed, Identification)>>,
    progress: &'a dyn Progress,
}

/// Copies read back by the package writer, and bytes per representation.
type Written = (usize, Vec<(String, u64)>);

fn write_group(
    run: &Run<'_>,
    group: &Group,
    members: &[usize],
    zip: Option<package::zip_sink::ZipStream>,
) -> Result<(PackedPackage, Written), PackError> {
    let objid = group.objid.clone();
    let ctx = run.ctx;
    let mut items: Vec<Item> = members
        .iter()
        .map(|&i| run.checked.items[i].clone())
        .collect();
    // One run per package ID in `out`, to publication (crate::publish).
    let _lock =
        crate::publish::DestLock::acquire(&run.out.join(&objid)).map_err(PackageError::from)?;
    let mut originals = Vec::new();
    let mut bytes = 0u64;
    let mut events = Vec::new();
    let now = ctx.now_rfc3339();
    let mut identified: Vec<String> = Vec::new();
    let mut id_warnings: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        for f in &item.files {
            let Some(record) = run.records.get(&f.path) else {
                continue;
            };
            let ident: Identification = record.identification.clone().unwrap_or_default();
            for w in &ident.warnings {
                id_warnings.push(format!("{}: {w}", f.path));
            }
            identified.push(package_path(&f.path));
            bytes += record.size;
            if let Some(p) = run.qc_pages.get(f.path.as_str()) {
                events.push(qc_event(ctx, &now, &f.path, p));
            }
            let page = crate::intake::page_of(&f.path, record.family).map(|p| p.seq);
            originals.push(SourceFile {
                source: Source::Staged {
                    path: run.originals_dir.join(&f.path),
                    digests: record
                        .digests
                        .iter()
                        .filter_map(|d| {
                            Algorithm::from_name(&d.algorithm).map(|a| (a, d.value.clone()))
                        })
                        .collect(),
                    verified: run.verified.contains(f.path.as_str()),
                },
                name: f.path.clone(),
                original_name: Some(f.path.clone()),
                identification: Some(ident),
                item: Some(i),
                page: page.or(f.page),
            });
        }
    }
    // One identification event for the representation: PRONOM by content signature, from the scan.
    events.insert(
        0,
        Event::new(
            EventType::FormatIdentification,
            Root::Package,
            identified,
            &now,
        )
        .with_id(ctx.ids.event_id())
        .with_agents(vec![ctx.agent.clone()])
        .with_outcome(if id_warnings.is_empty() {
            Outcome::Success
        } else {
            Outcome::Warning
        })
        .with_detail(if id_warnings.is_empty() {
            "PRONOM identification by content signature (dangan identify, profiles/formats.toml)"
                .to_string()
        } else {
            format!(
                "PRONOM identification by content signature; {}",
                id_warnings.join("; ")
            )
        }),
    );
    let mut representations = vec![RepresentationSpec {
        name: "original".into(),
        files: Vec::new(),
    }];
    if run.options.policy.is_some() {
        let (reps, mut evs) = derived_for(run, &originals)?;
        events.append(&mut evs);
        representations.extend(reps);
        // Issue 17: a mail container's message count and date range go under its item in catalog.xml.
        for (src, extra) in normalize::email::catalog_extra(&run.normalized.records) {
            if let Some(i) = originals
                .iter()
                .find(|f| f.name == src)
                .and_then(|f| f.item)
            {
                items[i].extra.extend(extra);
            }
        }
    }
    representations[0].files = originals;
    let group_intake = Intake {
        items: items.clone(),
        ..run.checked.clone()
    };
    let documentation = vec![
        ("目录.csv".to_string(), manifest_csv(&group_intake)),
        (
            "说明文件.txt".to_string(),
            readme(&group_intake, &objid, ctx, bytes),
        ),
    ];
    let spec = PackageSpec {
        label: run
            .options
            .label
            .clone()
            .unwrap_or_else(|| format!("{} {objid}", run.catalog.info.name)),
        objid: objid.clone(),
        content_category: "Mixed".into(),
        submitter: run.options.submitter.clone(),
        submitter_id: run.options.submitter_id.clone(),
        items,
        representations,
        documentation,
        events,
        agents: vec![Agent::dangan()],
        sm3: run.options.sm3,
    };
    run.progress.stage(Stage::Write {
        index: group.index,
        count: group.count,
        id: objid.clone(),
        files: spec.representations.iter().map(|r| r.files.len()).sum(),
    });
    let progress = run.progress;
    let tick = |n| progress.advance(n);
    let written: WrittenPackage = match zip {
        Some(zip) => package::write_sip_streamed(&spec, run.catalog, ctx, run.out, zip, &tick)?,
        None => package::write_sip_with_progress(
            &spec,
            run.catalog,
            ctx,
            run.out,
            run.options.form,
            &tick,
        )?,
    };
    let _ = run.batch;
    Ok((
        PackedPackage {
            id: written.objid,
            path: written.path,
            items: spec.items.len(),
            files: written.files,
            bytes: written.bytes,
        },
        (written.read_back, written.representation_bytes),
    ))
}

/// The PREMIS validation event of a page's QC.
fn qc_event(ctx: &Context, now: &str, path: &str, p: &qc::PageReport) -> Event {
    let failed = !p.ok();
    let warned = p.findings.iter().any(|x| x.level == Level::Warning);
    let mut detail = format!(
        "DA/T 31-2017 扫描质量检查: 分辨率 {}, 色彩模式 {}, 倾斜 {}",
        p.dpi
            .map(|d| format!("{d:.0} dpi"))
            .unwrap_or_else(|| "未记录".into()),
        p.colour_mode.label_zh(),
        p.skew_degrees
            .map(|d| format!("{d:.2}°"))
            .unwrap_or_else(|| "—".into()),
    );
    for x in &p.findings {
        detail.push_str(&format!("; [{}] {}", x.rule, x.message));
    }
    Event::new(
        EventType::Validation,
        Root::Package,
        vec![package_path(path)],
        now,
    )
    .with_id(ctx.ids.event_id())
    .with_agents(vec![ctx.agent.clone()])
    .with_outcome(if failed {
        Outcome::Failure
    } else if warned {
        Outcome::Warning
    } else {
        Outcome::Success
    })
    .with_detail(detail)
}

/// The `preservation` and `access` representations of a group (only those that received files) and the
/// provenance events of its originals, from the run's one normalization, with every path mapped to where
/// it lands in the package.
fn derived_for(
    run: &Run<'_>,
    originals: &[SourceFile],
) -> Result<(Vec<RepresentationSpec>, Vec<Event>), PackError> {
    // Which item each path belongs to: originals from the 目录, derivatives from their first source.
    let mut item_of: HashMap<String, usize> = originals
        .iter()
        .filter_map(|f| f.item.map(|i| (f.name.clone(), i)))
        .collect();
    let package_path = |root: Root, rel: &str| -> String {
        match root {
            Root::Input => format!("representations/original/data/{rel}"),
            Root::Package => rel.to_string(),
            Root::Output => output_path(rel),
        }
    };
    let mut reps: std::collections::BTreeMap<String, Vec<SourceFile>> = Default::default();
    let mut events = Vec::new();
    for r in &run.normalized.records {
        // Records of this group: their first source is one of its originals (or a derivative of one).
        let Some(item) = r
            .sources
            .first()
            .and_then(|s| item_of.get(s.as_str()).copied())
        else {
            continue;
        };
        let mut ev = r.clone();
        ev.sources = r
            .sources
            .iter()
            .map(|s| package_path(r.source_root, s))
            .collect();
        ev.outputs = r
            .outputs
            .iter()
            .map(|o| package_path(Root::Output, o))
            .collect();
        ev.source_root = Root::Package;
        events.push(ev);
        for o in &r.outputs {
            let Some((rep, rest)) = o.split_once('/') else {
                continue;
            };
            item_of.insert(o.clone(), item);
            let path = run.derived_dir.join(o);
            let streamed = run.streamed.and_then(|s| s.get(o));
            let identification = match streamed {
                Some((_, id)) => id.clone(),
                None => identify::identify_path(&path)?.identification,
            };
            let page = crate::intake::parse_page_name(
                rest.rsplit('/').next().unwrap_or(rest),
                crate::intake::page::PAGE_DIGITS,
            )
            .map(|p| p.seq);
            // Hashed while normalization wrote it: moved in without being read again.
            let source = match (streamed, run.normalized.written.get(o)) {
                // Already in the zip, written as it was made.
                (Some((h, _)), _) => Source::Streamed {
                    size: h.size,
                    digests: h.digests.clone(),
                },
                (None, Some(h)) => Source::Staged {
                    path,
                    digests: h.digests.clone(),
                    verified: true,
                },
                (None, None) => Source::Scratch(path),
            };
            reps.entry(rep.to_string()).or_default().push(SourceFile {
                source,
                name: rest.to_string(),
                original_name: None,
                identification: Some(identification),
                item: Some(item),
                page,
            });
        }
    }
    // Preservation before access, each in path order, so packages are reproducible.
    let mut out = Vec::new();
    for name in ["preservation", "access"] {
        if let Some(mut files) = reps.remove(name) {
            files.sort_by(|a, b| a.name.cmp(&b.name));
            files.dedup_by(|a, b| a.name == b.name);
            out.push(RepresentationSpec {
                name: name.into(),
                files,
            });
        }
    }
    for (name, files) in reps {
        out.push(RepresentationSpec { name, files });
    }
    Ok((out, events))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixity::digest::Hashed;
    use crate::normalize::OutputSink;

    fn hashed(b: &[u8]) -> Hashed {
        Hashed {
            size: b.len() as u64,
            digests: Vec::new(),
        }
    }

    /// Masters finished out of turn go into the zip in plan order, one through memory and one through
    /// a scratch file (the memory bound reached), and the scratch file is gone once it is in.
    #[test]
    fn zip_masters_enter_in_plan_order_whatever_order_they_finish_in() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = Context::fixed(jiff::Timestamp::UNIX_EPOCH, "t");
        let scratch = dir.path().join("scratch");
        let zip = package::zip_sink::ZipStream::create(&dir.path().join("X.zip"), "X", &ctx)
            .expect("zip");
        let mut m = ZipMasters::new(zip, &scratch);
        m.limit = 8;
        let planned: Vec<String> = ["a", "b", "c"]
            .iter()
            .map(|n| format!("preservation/{n}.tif"))
            .collect();
        m.expect(&planned);
        let c = vec![3u8; 5000];
        m.put(&planned[2], c.clone(), &hashed(&c)).expect("c");
        assert!(scratch.join(&planned[2]).is_file(), "c waits on disk");
        m.put(&planned[1], b"bb".to_vec(), &hashed(b"bb"))
            .expect("b");
        m.put(&planned[0], b"a".to_vec(), &hashed(b"a")).expect("a");
        assert!(
            !scratch.join(&planned[2]).exists(),
            "c's scratch file removed"
        );
        let (zip, taken) = m.finish().expect("all masters");
        assert_eq!(taken[&planned[2]].0.size, 5000);
        let path = zip.finish().expect("published");
        let z = zip::ZipArchive::new(std::fs::File::open(path).expect("open")).expect("read");
        // The central directory lists the entries in the order they were written.
        let files: Vec<String> = z
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .filter(|n| !n.ends_with('/'))
            .collect();
        assert_eq!(
            files,
            [
                "X/representations/preservation/data/a.tif",
                "X/representations/preservation/data/b.tif",
                "X/representations/preservation/data/c.tif"
            ]
        );
    }

    /// A planned master that never came (its page failed) leaves the zip unfinishable, and dropping it
    /// leaves nothing behind.
    #[test]
    fn zip_masters_with_a_missing_master_publish_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = Context::fixed(jiff::Timestamp::UNIX_EPOCH, "t");
        let zip = package::zip_sink::ZipStream::create(&dir.path().join("X.zip"), "X", &ctx)
            .expect("zip");
        let m = ZipMasters::new(zip, dir.path());
        let planned = vec![
            "preservation/a.tif".to_string(),
            "preservation/b.tif".into(),
        ];
        m.expect(&planned);
        m.put(&planned[1], b"b".to_vec(), &hashed(b"b")).expect("b");
        assert!(
            m.put("preservation/z.tif", Vec::new(), &hashed(b""))
                .is_err()
        );
        assert!(m.finish().is_err());
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
