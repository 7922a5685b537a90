//! `dangan bag`, `dangan verify`, `dangan ledger report`, `dangan hash`: argument handling and rendering.
//! The work itself is in `dangan::fixity`.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jiff::Timestamp;
use serde::Serialize;

use dangan::context::Context;
use dangan::fixity::bagit::{BagOptions, create_bag, parse_info_arg};
use dangan::fixity::digest::hash_reader;
use dangan::fixity::ledger::{self, Entry, Ledger, Shard, ShardSpec};
use dangan::fixity::verify::{
    NoProgress, PackageRef, Progress, discover, package_id, vanished_report, verify_package,
};
use dangan::fixity::{Algorithm, FailureKind, Mode, VerifyOptions, VerifyReport};
use dangan::model::Level;

use crate::Status;
use crate::args::{Global, Lang};
use crate::output::{print, print_json};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// A progress bar on stderr: files, bytes, rate and ETA.
struct Bar {
    bar: ProgressBar,
    files_total: AtomicU64,
    files_done: AtomicU64,
}

impl Bar {
    fn new() -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {msg} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
        ) {
            bar.set_style(style);
        }
        Bar {
            bar,
            files_total: AtomicU64::new(0),
            files_done: AtomicU64::new(0),
        }
    }

    fn message(&self) {
        self.bar.set_message(format!(
            "{}/{} files",
            self.files_done.load(Ordering::Relaxed),
            self.files_total.load(Ordering::Relaxed)
        ));
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        // Leave the terminal clean for the report that follows.
        self.bar.finish_and_clear();
    }
}

impl Progress for Bar {
    fn planned(&self, files: u64, bytes: u64) {
        self.files_total.fetch_add(files, Ordering::Relaxed);
        self.bar.inc_length(bytes);
        self.message();
    }
    fn advance(&self, files: u64, bytes: u64) {
        self.files_done.fetch_add(files, Ordering::Relaxed);
        self.bar.inc(bytes);
        self.message();
    }
}

/// The progress sink: a bar only when stderr is a terminal and the user did not ask for quiet.
fn progress(quiet: bool) -> Box<dyn Progress> {
    if quiet || !std::io::stderr().is_terminal() {
        Box::new(NoProgress)
    } else {
        Box::new(Bar::new())
    }
}

fn pool(jobs: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    if jobs == Some(0) {
        bail!("--jobs must be at least 1");
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .build()
        .context("cannot start worker threads")
}

fn now() -> Timestamp {
    Timestamp::now()
}

fn zh(global: &Global) -> bool {
    global.lang == Lang::Zh
}

pub fn run_bag(global: &Global, args: BagArgs) -> anyhow::Result<Status> {
    let algorithms = Algorithm::parse_list(&args.algo)?;
    let info = args
        .info
        .iter()
        .map(|i| parse_info_arg(i))
        .collect::<Result<Vec<_>, _>>()?;
    let options = BagOptions { algorithms, info };
    let ctx = Context::live();
    let bar = progress(args.quiet);
    let summary = pool(args.jobs)?
        .install(|| create_bag(&args.src, &args.out, &options, &ctx, bar.as_ref()))?;
    drop(bar);
    if args.json {
        #[derive(Serialize)]
        struct Out<'a> {
            path: String,
            files: u64,
            bytes: u64,
            algorithms: &'a [Algorithm],
        }
        print_json(&Out {
            path: summary.path.display().to_string(),
            files: summary.files,
            bytes: summary.bytes,
            algorithms: &summary.algorithms,
        })?;
    } else {
        let algs: Vec<&str> = summary.algorithms.iter().map(|a| a.name()).collect();
        let line = if zh(global) {
            format!(
                "✓ 已生成 BagIt 1.0 包 {}：{} 个文件，{} 字节（{}）\n",
                summary.path.display(),
                summary.files,
                summary.bytes,
                algs.join(", ")
            )
        } else {
            format!(
                "✓ bag {}: {} files, {} bytes ({})\n",
                summary.path.display(),
                summary.files,
                summary.bytes,
                algs.join(", ")
            )
        };
        print(&line)?;
    }
    Ok(Status::Ok)
}

fn kind_label(kind: FailureKind, zh: bool) -> &'static str {
    match (kind, zh) {
        (FailureKind::Changed, false) => "changed",
        (FailureKind::Missing, false) => "missing",
        (FailureKind::Unexpected, false) => "unexpected",
        (FailureKind::Unreadable, false) => "unreadable",
        (FailureKind::Changed, true) => "已改变",
        (FailureKind::Missing, true) => "缺失",
        (FailureKind::Unexpected, true) => "多余",
        (FailureKind::Unreadable, true) => "不可读",
    }
}

pub(crate) fn render(report: &VerifyReport, zh: bool) -> anyhow::Result<String> {
    let mut s = String::new();
    for p in &report.packages {
        writeln!(
            s,
            "{} {} [{}] {}: {} {}, {} {}",
            if p.ok { "✓" } else { "✗" },
            p.path,
            p.kind.name(),
            p.id,
            p.files,
            if zh { "个文件" } else { "files" },
            p.bytes,
            if zh { "字节" } else { "bytes" },
        )?;
        for f in &p.findings {
            let mark = if f.level == Level::Error { "!" } else { "?" };
            let message = if zh || f.message_en.is_empty() {
                &f.message
            } else {
                &f.message_en
            };
            writeln!(
                s,
                "    {mark} [{}] {}: {}",
                f.rule,
                f.path.as_deref().unwrap_or(""),
                message
            )?;
        }
        for f in &p.failures {
            write!(s, "    {:<10} {}", kind_label(f.kind, zh), f.path)?;
            if let Some(a) = &f.algorithm {
                write!(s, "  {a}")?;
            }
            if let Some(e) = &f.expected {
                write!(s, " {} {e}", if zh { "应为" } else { "expected" })?;
            }
            if let Some(a) = &f.actual {
                write!(s, " {} {a}", if zh { "实为" } else { "actual" })?;
            }
            if let Some(d) = &f.detail {
                write!(s, " ({d})")?;
            }
            writeln!(s)?;
        }
    }
    for f in &report.findings {
        let mark = if f.level == Level::Error { "!" } else { "?" };
        writeln!(
            s,
            "{mark} [{}] {}: {}",
            f.rule,
            f.path.as_deref().unwrap_or(""),
            if zh { &f.message } else { &f.message_en }
        )?;
    }
    let bad = report.packages.iter().filter(|p| !p.ok).count();
    if zh {
        writeln!(s, "{} 个包，{} 个有问题", report.packages.len(), bad)?;
    } else {
        writeln!(
            s,
            "{} packages, {} with failures",
            report.packages.len(),
            bad
        )?;
    }
    Ok(s)
}

pub fn run_verify(global: &Global, args: VerifyArgs) -> anyhow::Result<Status> {
    let mode = if args.fast {
        Mode::Fast
    } else if args.completeness_only {
        Mode::CompletenessOnly
    } else {
        Mode::Full
    };
    let shard: Option<Shard> = match args.shard {
        Some(spec) => {
            let (s, from) = spec.resolve()?;
            if spec == ShardSpec::Auto && !args.quiet {
                eprintln!("dangan: --shard auto: {}/{} from {from}", s.index, s.count);
            }
            Some(s)
        }
        None => None,
    };
    let age = args
        .older_than
        .as_deref()
        .map(ledger::parse_age)
        .transpose()?;
    let note = |msg: String| {
        if !args.quiet {
            eprintln!("dangan: {msg}");
        }
    };

    // s3:// URLs (issue 16): the same checks through the object-storage source; I/O-bound, so 8 workers.
    if let Some(urls) = crate::s3_cmd::urls(&args.paths)? {
        let bar = progress(args.quiet);
        let pool = pool(args.jobs.or(Some(8)))?;
        return crate::s3_cmd::run_verify(global, &args, urls, mode, shard, bar.as_ref(), pool);
    }
    crate::s3_cmd::refuse_object_ledger(args.ledger.as_deref())?; // issue 16
    // Find every package first: a path that is not there stops the run before anything is checked.
    let mut refs: Vec<PackageRef> = Vec::new();
    let mut found = Vec::new();
    for path in &args.paths {
        let d = discover(path)?;
        for (p, e) in &d.problems {
            eprintln!("dangan: warning: could not search {}: {e}", p.display());
        }
        found.extend(d.findings());
        refs.extend(d.packages);
    }
    let total = refs.len();
    let mut selected: Vec<(PackageRef, String)> = refs
        .into_iter()
        .map(|r| {
            let id = package_id(&r);
            (r, id)
        })
        .collect();
    // Everything found, before shards and schedules select: a package skipped is not a package gone.
    let all_ids: std::collections::BTreeSet<String> =
        selected.iter().map(|(_, id)| id.clone()).collect();
    let all_paths: std::collections::BTreeSet<std::path::PathBuf> = selected
        .iter()
        .map(|(r, _)| dangan::fixity::verify::ledger_path(&r.path))
        .collect();
    if let Some(shard) = shard {
        selected.retain(|(_, id)| shard.contains(id));
        note(format!(
            "shard {}/{}: {} of {total} packages",
            shard.index,
            shard.count,
            selected.len()
        ));
    }
    let ctx = Context::live();
    if let (Some(age), Some(ledger_path)) = (age, &args.ledger) {
        let lines = ledger::read_any(ledger_path)?;
        for d in &lines.damaged {
            eprintln!(
                "dangan: warning: {}:{}: damaged ledger line skipped: {}",
                ledger_path.display(),
                d.line,
                d.message
            );
        }
        let last = lines.last_good_full_check();
        let before = selected.len();
        selected.retain(|(_, id)| ledger::is_due(last.get(id.as_str()).copied(), ctx.now, age));
        note(format!(
            "{} of {before} packages passed their latest full check within {}; skipped",
            before - selected.len(),
            args.older_than.as_deref().unwrap_or_default()
        ));
    }
    // Packages the ledger recorded under these paths at their last check that are no longer found: a
    // failure each (and a failed line in the ledger), never a silent drop from the schedule.
    let mut vanished = Vec::new();
    if let Some(ledger_path) = &args.ledger {
        let lines = ledger::read_any(ledger_path)?;
        // Both sides spelled one way (issue 11): a relative and an absolute spelling of one archive agree.
        let roots: Vec<std::path::PathBuf> = args
            .paths
            .iter()
            .map(|p| dangan::fixity::verify::ledger_path(p))
            .collect();
        for (id, e) in lines.latest() {
            let recorded = &dangan::fixity::verify::ledger_path(std::path::Path::new(&e.path));
            let under = roots.iter().any(|root| recorded.starts_with(root));
            if !under || all_ids.contains(id) || all_paths.contains(recorded) {
                continue;
            }
            if shard.is_some_and(|s| !s.contains(id)) {
                continue;
            }
            vanished.push(vanished_report(
                id,
                &e.path,
                e.kind,
                mode,
                !recorded.exists(),
                &now,
            ));
        }
    }
    let mut ledger = args
        .ledger
        .as_deref()
        .map(|l| Ledger::open(&ledger::part_path(l, shard)))
        .transpose()?;
    let options = VerifyOptions { mode };
    let bar = progress(args.quiet);
    let pool = pool(args.jobs)?;
    let mut reports = Vec::with_capacity(selected.len());
    // Each package checked, then each recorded one that is gone, in that order: one ledger line each.
    let checked = selected
        .iter()
        .map(|(r, _)| pool.install(|| verify_package(r, &options, &now, bar.as_ref())));
    for report in checked.chain(vanished) {
        if let Some(l) = ledger.as_mut() {
            l.append(&Entry::from_report(&report, ctx.ids.event_id()))?;
        }
        reports.push(report);
    }
    drop(bar);
    let report = VerifyReport::with_findings(reports, found);
    if args.json {
        print_json(&report)?;
    } else if !(args.quiet && report.ok) {
        print(&render(&report, zh(global))?)?;
    }
    Ok(if report.ok {
        Status::Ok
    } else {
        Status::Failed
    })
}

pub fn run_ledger(global: &Global, cmd: LedgerCmd) -> anyhow::Result<Status> {
    let LedgerCmd::Report { file, roots, json } = cmd;
    // A ledger in object storage (issue 16): an object, or a folder of part objects.
    let object = crate::s3_cmd::url(&file)?.is_some();
    if !object && !file.exists() {
        bail!("{}: no such ledger", file.display());
    }
    let lines = crate::s3_cmd::read_ledger(global, &file)?;
    let mut known = Vec::new();
    for root in &roots {
        if let Some(url) = crate::s3_cmd::url(root)? {
            known.extend(crate::s3_cmd::known(global, &url)?);
            continue;
        }
        for r in discover(root)?.packages {
            known.push((package_id(&r), r.path.display().to_string()));
        }
    }
    let report = ledger::report(&lines, &known);
    if json {
        print_json(&report)?;
    } else {
        let zh = zh(global);
        let mut s = String::new();
        writeln!(
            s,
            "{}",
            if zh {
                "最近一次检查："
            } else {
                "last check of each package:"
            }
        )?;
        for p in &report.packages {
            writeln!(
                s,
                "  {} {}  {}  {:?} ({:?}, {} {})  {}",
                if p.last_outcome == dangan::model::Outcome::Success {
                    "✓"
                } else {
                    "✗"
                },
                p.id,
                p.last_checked,
                p.last_outcome,
                p.last_mode,
                p.checks,
                if zh { "次" } else { "checks" },
                p.path
            )?;
        }
        if !report.never_checked.is_empty() {
            writeln!(
                s,
                "{}",
                if zh {
                    "从未检查："
                } else {
                    "never checked:"
                }
            )?;
            for n in &report.never_checked {
                writeln!(s, "  ✗ {}  {}", n.id, n.path)?;
            }
        }
        if !report.failures.is_empty() {
            writeln!(
                s,
                "{}",
                if zh {
                    "全部失败记录："
                } else {
                    "every failed check:"
                }
            )?;
            for f in &report.failures {
                writeln!(s, "  line {}: {} {} {}", f.line, f.id, f.finished, f.path)?;
                for x in &f.failures {
                    writeln!(
                        s,
                        "      {:<10} {} {} {}",
                        kind_label(x.kind, zh),
                        x.path,
                        x.expected.as_deref().unwrap_or("-"),
                        x.actual.as_deref().unwrap_or("-")
                    )?;
                }
                for x in &f.findings {
                    writeln!(s, "      ! [{}] {}", x.rule, x.message)?;
                }
            }
        }
        for d in &report.damaged_lines {
            writeln!(
                s,
                "{}:{}: {} {}",
                file.display(),
                d.line,
                if zh {
                    "损坏的记录行，已跳过："
                } else {
                    "damaged line skipped:"
                },
                d.message
            )?;
        }
        print(&s)?;
    }
    Ok(if report.ok() {
        Status::Ok
    } else {
        Status::Failed
    })
}

/// Hash one file named on the command line: only a regular file is opened (a FIFO or device is refused
/// at once, never waited on), and a file that changes while it is read is reported.
fn hash_one(
    path: &std::path::Path,
    algorithms: &[Algorithm],
) -> Result<dangan::fixity::digest::Hashed, String> {
    let file = dangan::fsutil::open_regular(path).map_err(|e| e.to_string())?;
    let before = file.metadata().map_err(|e| e.to_string())?;
    let hashed = hash_reader(&mut &file, algorithms).map_err(|e| e.to_string())?;
    let after = file.metadata().map_err(|e| e.to_string())?;
    if hashed.size != before.len()
        || after.len() != before.len()
        || after.modified().ok() != before.modified().ok()
    {
        return Err("changed while it was read".into());
    }
    Ok(hashed)
}

pub fn run_hash(_global: &Global, args: HashArgs) -> anyhow::Result<Status> {
    use rayon::prelude::*;
    let algorithms = Algorithm::parse_list(&args.algo)?;
    let results = pool(args.jobs)?.install(|| {
        args.files
            .par_iter()
            .with_max_len(1)
            .map(|f| hash_one(f, &algorithms))
            .collect::<Vec<_>>()
    });
    #[derive(Serialize)]
    struct Row {
        path: String,
        size: Option<u64>,
        digests: Vec<dangan::model::Digest>,
        error: Option<String>,
    }
    let mut rows = Vec::new();
    let mut ok = true;
    for (f, r) in args.files.iter().zip(results) {
        let path = f.display().to_string();
        match r {
            Ok(h) => rows.push(Row {
                path,
                size: Some(h.size),
                digests: h
                    .digests
                    .into_iter()
                    .map(|(a, v)| dangan::model::Digest {
                        algorithm: a.name().into(),
                        value: v,
                    })
                    .collect(),
                error: None,
            }),
            Err(e) => {
                ok = false;
                eprintln!("dangan: {path}: {e}");
                rows.push(Row {
                    path,
                    size: None,
                    digests: Vec::new(),
                    error: Some(e.to_string()),
                });
            }
        }
    }
    if args.json {
        print_json(&rows)?;
    } else {
        let mut s = String::new();
        for r in &rows {
            for d in &r.digests {
                writeln!(s, "{}  {}  {}", d.algorithm, d.value, r.path)?;
            }
        }
        print(&s)?;
    }
    Ok(if ok { Status::Ok } else { Status::Failed })
}

// ---- command-line arguments (owned here so that commands do not collide in one args.rs) ----

#[derive(Debug, Args)]
pub struct BagArgs {
    /// The folder whose contents become the payload (data/).
    pub src: PathBuf,
    /// Where the new bag goes; must not exist.
    #[arg(long, value_name = "DEST")]
    pub out: PathBuf,
    /// Digest algorithms, comma-separated: sha256, sha512, sha384, sm3, sha3_256, sha3_512, sha3_384, sha3_224, blake2b, blake2s, sha224, sha1, md5.
    #[arg(long, value_name = "ALGS", default_value = "sha256")]
    pub algo: String,
    /// An extra bag-info.txt element, 'Label: value' (repeatable).
    #[arg(long = "info", value_name = "'Label: value'")]
    pub info: Vec<String>,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print a JSON summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Packages, or folders holding packages.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// One JSON object: {"ok", "packages": [{"path", "kind", "ok", "files", "bytes", "failures"}]}.
    #[arg(long)]
    pub json: bool,
    /// Names and sizes only (Payload-Oxum, METS SIZE); reads no file contents.
    #[arg(long, conflicts_with = "completeness_only")]
    pub fast: bool,
    /// Names only: is every declared file there, and nothing else?
    #[arg(long)]
    pub completeness_only: bool,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// No progress bar and no notes on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Append one JSON line per package checked to this ledger (created if missing, never rewritten); a
    /// folder holds one part per shard (part-I-of-N.jsonl), merged when read.
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
    /// Skip packages whose last successful full check in the ledger is younger than this (30d, 12h, 2w).
    #[arg(long, value_name = "AGE", requires = "ledger")]
    pub older_than: Option<String>,
    /// Check only shard I of N (1 <= I <= N), chosen by a stable hash of the package id (of the key, in
    /// a bucket); `auto`: I and N from a Kubernetes Indexed Job, a Slurm job array or GNU parallel.
    #[arg(long, value_name = "I/N|auto")]
    pub shard: Option<ShardSpec>,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCmd {
    /// Packages never checked, the last check of each package, every failure, and damaged lines.
    ///
    /// Example: dangan ledger report fixity.jsonl /archive
    Report {
        /// The ledger file, or a folder of ledger parts (one per shard), merged.
        file: PathBuf,
        /// Folders of packages: those the ledger has never seen are listed as never checked.
        #[arg(value_name = "ROOT")]
        roots: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct HashArgs {
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Digest algorithms, comma-separated.
    #[arg(long, value_name = "ALGS", default_value = "sha256")]
    pub algo: String,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    #[arg(long)]
    pub json: bool,
}
