//! `s3://bucket/prefix` locations for `verify`, `validate`, `pack --out` and `ledger report`: argument
//! handling and rendering. The work is in `dangan::objstore`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};
use serde::Serialize;

use dangan::context::Context;
use dangan::fixity::ledger::{self, Entry, Ledger, Shard};
use dangan::fixity::verify::{
    PackageRef, Progress, vanished_report, verify_opened_sip, verify_package,
};
use dangan::fixity::{Mode, PackageKind, PackageReport, VerifyOptions, VerifyReport};
use dangan::model::{Finding, Level};
use dangan::objstore::{self, Client, Config, S3Url, StatsSnapshot, publish, source};
use dangan::sip::Limits;

use crate::Status;
use crate::args::Global;
use crate::fixity_cmd::VerifyArgs;
use crate::output::{print, print_json};

/// A client for the bucket of `url`, configured from `--endpoint` and the standard AWS variables/files.
pub fn client(global: &Global, url: &S3Url) -> anyhow::Result<Client> {
    let config = Config::from_env(global.endpoint.as_deref())?;
    Ok(Client::new(config, &url.bucket)?)
}

/// `Some(urls)` when every path is an `s3://` URL, `None` when none is; a malformed or unsupported URL,
/// or a mix of both, is an error (exit 2) — never a local path.
pub fn urls(paths: &[PathBuf]) -> anyhow::Result<Option<Vec<S3Url>>> {
    let mut urls = Vec::new();
    for p in paths {
        if let Some(u) = objstore::location(p.as_os_str()) {
            urls.push(u?);
        }
    }
    if urls.is_empty() {
        return Ok(None);
    }
    if urls.len() != paths.len() {
        bail!("give either local paths or s3:// URLs, not both in one run");
    }
    Ok(Some(urls))
}

/// One URL as a location (for a single-path argument).
pub fn url(path: &Path) -> anyhow::Result<Option<S3Url>> {
    Ok(objstore::location(path.as_os_str()).transpose()?)
}

/// What a run cost in storage.
#[derive(Debug, Serialize)]
pub struct Cost {
    pub requests: u64,
    pub retries: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub seconds: f64,
    pub bytes_per_second: f64,
}

fn cost(clients: &BTreeMap<String, Client>, started: Instant) -> Cost {
    let mut s = StatsSnapshot::default();
    for c in clients.values() {
        let x = c.stats.snapshot();
        s.requests += x.requests;
        s.retries += x.retries;
        s.bytes_read += x.bytes_read;
        s.bytes_written += x.bytes_written;
    }
    let seconds = started.elapsed().as_secs_f64();
    Cost {
        requests: s.requests,
        retries: s.retries,
        bytes_read: s.bytes_read,
        bytes_written: s.bytes_written,
        seconds,
        bytes_per_second: if seconds > 0.0 {
            (s.bytes_read + s.bytes_written) as f64 / seconds
        } else {
            0.0
        },
    }
}

fn cost_line(c: &Cost, zh: bool) -> String {
    let mb = c.bytes_per_second / 1e6;
    if zh {
        format!(
            "对象存储: {} 次请求, {} 次重试, 读取 {} 字节, 用时 {:.1} 秒 ({mb:.1} MB/s)\n",
            c.requests, c.retries, c.bytes_read, c.seconds
        )
    } else {
        format!(
            "object storage: {} requests, {} retries, {} bytes read in {:.1} s ({mb:.1} MB/s)\n",
            c.requests, c.retries, c.bytes_read, c.seconds
        )
    }
}

/// The shard key of a package in a bucket: its key (stable as long as the layout is; adding packages moves
/// none of the others, changing N moves about (N−1)/N of them).
fn shard_key(key: &str) -> &str {
    key
}

/// A local staging folder for a package copied out of a bucket; removed when dropped, whatever happens.
struct Staged(PathBuf);

impl Staged {
    fn new() -> Staged {
        Staged(std::env::temp_dir().join(format!(
            ".dangan-s3-{}{}",
            dangan::publish::run_id(),
            dangan::fsutil::STAGING_SUFFIX
        )))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copy a bag (every object under its prefix) or an EEP (one object) to `local`.
fn copy_out(c: &Client, p: &source::FoundPackage, local: &Path) -> Result<(), String> {
    match p.kind {
        PackageKind::Eep => {
            let o = p.objects.first().ok_or("no object")?;
            source::fetch_to(c, o, local)
        }
        _ => source::mirror(c, p, local),
    }
}

/// Findings about the local copy name the object instead.
fn relocate(findings: &mut [Finding], local: &Path, url: &str) {
    let local = local.display().to_string();
    for f in findings {
        if let Some(p) = f.path.as_mut()
            && let Some(rest) = p.strip_prefix(&local)
        {
            *p = format!("{url}{rest}");
        }
    }
}

/// A bag or an EEP in a bucket: the bag reader reads folders and the EEP checker streams a file (and
/// reads its signed ranges again), so the package is copied to a local staging folder (streamed to disk,
/// removed afterwards) and checked there; the report names the bucket's keys.
fn verify_copied(
    c: &Client,
    p: &source::FoundPackage,
    url: &str,
    options: &VerifyOptions,
    progress: &dyn Progress,
) -> PackageReport {
    let name = p.key.rsplit('/').next().unwrap_or(&p.key).to_string();
    let tmp = Staged::new();
    let local = tmp.0.join(&name);
    let mut report = match copy_out(c, p, &local) {
        Ok(()) => verify_package(
            &PackageRef {
                path: local.clone(),
                kind: p.kind,
            },
            options,
            &jiff::Timestamp::now,
            progress,
        ),
        Err(e) => {
            let now = jiff::Timestamp::now();
            let (rule, zh, en) = if p.kind == PackageKind::Eep {
                (
                    "DA/T 48-2009",
                    format!("无法从对象存储读取该 EEP: {e}"),
                    format!("cannot read the EEP from object storage: {e}"),
                )
            } else {
                (
                    "RFC 8493 §3",
                    format!("无法从对象存储读取该包: {e}"),
                    format!("cannot read the bag from object storage: {e}"),
                )
            };
            PackageReport {
                path: String::new(),
                kind: p.kind,
                ok: false,
                files: 0,
                bytes: 0,
                failures: Vec::new(),
                findings: vec![Finding::new(
                    rule,
                    Level::Error,
                    Some(String::new()),
                    zh,
                    en,
                )],
                id: name
                    .strip_suffix(dangan::eep::SUFFIX)
                    .unwrap_or(&name)
                    .to_string(),
                algorithms: Vec::new(),
                mode: options.mode,
                started: Some(now),
                finished: Some(now),
            }
        }
    };
    relocate(&mut report.findings, &local, url);
    report.path = url.to_string();
    report
}

/// `validate s3://…`: the one package a URL names — a SIP (zip object or folder prefix) through the one
/// package reader, or an EEP (copied to a local staging file for the EEP checker; the report names the
/// object).
pub fn validate(
    global: &Global,
    url: &S3Url,
    options: &dangan::validate::Options,
) -> anyhow::Result<dangan::validate::Report> {
    let c = client(global, url)?;
    let p = source::find_one(&c, url)?;
    let report = if p.kind == PackageKind::Eep {
        let tmp = Staged::new();
        let name = p.key.rsplit('/').next().unwrap_or(&p.key);
        let local = tmp.0.join(name);
        copy_out(&c, &p, &local).map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
        let mut r = dangan::eep::validate_path(&local, options)?
            .ok_or_else(|| anyhow::anyhow!("{url}: not an EEP"))?;
        let shown = local.display().to_string();
        let object = url.to_string();
        r.package = object.clone();
        relocate(&mut r.findings, &local, &object);
        for item in &mut r.items {
            if item.danghao == shown {
                item.danghao = object.clone();
            }
        }
        if r.object_id.as_deref() == Some(shown.as_str()) {
            r.object_id = Some(object);
        }
        r
    } else {
        let pkg = source::open(&c, &p, &options.limits)?;
        dangan::validate::validate_package(&pkg, options)?
    };
    if let Some(e) = c.stats.broken() {
        return Err(e.into());
    }
    Ok(report)
}

/// Print progress to stderr every few seconds until `stop` is dropped.
fn ticker(stop: &std::sync::mpsc::Receiver<()>, clients: &[Client], total: u64, started: Instant) {
    let every = std::env::var("DANGAN_PROGRESS_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(10.0)
        .max(0.01);
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
        stop.recv_timeout(std::time::Duration::from_secs_f64(every))
    {
        let read: u64 = clients.iter().map(|c| c.stats.snapshot().bytes_read).sum();
        let secs = started.elapsed().as_secs_f64().max(0.001);
        let rate = read as f64 / secs;
        let eta = if rate > 0.0 {
            format!("{:.0} s", total.saturating_sub(read) as f64 / rate)
        } else {
            "?".into()
        };
        eprintln!(
            "dangan: {:.0} of {:.0} MB read, {:.1} MB/s, ETA {eta}",
            read as f64 / 1e6,
            total as f64 / 1e6,
            rate / 1e6
        );
    }
}

/// Where a run's ledger lines go: a local file (or a part in a local folder), or an object
/// (`--ledger s3://…`, [`objstore::ledger`]).
enum LedgerSink {
    File(Ledger),
    Object(objstore::ledger::ObjectLedger),
}

impl LedgerSink {
    fn open(
        clients: &mut BTreeMap<String, Client>,
        global: &Global,
        path: &Path,
        shard: Option<Shard>,
    ) -> anyhow::Result<LedgerSink> {
        Ok(match url(path)? {
            Some(u) => {
                let c = client_in(clients, global, &u)?;
                let key = objstore::ledger::part_key(&u, shard)?;
                LedgerSink::Object(objstore::ledger::ObjectLedger::open(&c, &key)?)
            }
            None => LedgerSink::File(Ledger::open(&ledger::part_path(path, shard))?),
        })
    }

    fn append(&mut self, e: &Entry) -> anyhow::Result<()> {
        match self {
            LedgerSink::File(l) => l.append(e)?,
            LedgerSink::Object(l) => l.append(e)?,
        }
        Ok(())
    }

    /// Write an object ledger back (a file ledger is durable line by line already).
    fn finish(&mut self) -> anyhow::Result<()> {
        if let LedgerSink::Object(l) = self {
            let url = l.url();
            l.flush()
                .with_context(|| format!("writing the ledger {url}"))?;
        }
        Ok(())
    }
}

/// The client of a URL's bucket from `clients`, made on first use (so that its cost is counted).
fn client_in(
    clients: &mut BTreeMap<String, Client>,
    global: &Global,
    u: &S3Url,
) -> anyhow::Result<Client> {
    if let Some(c) = clients.get(&u.bucket) {
        return Ok(c.clone());
    }
    let c = client(global, u)?;
    clients.insert(u.bucket.clone(), c.clone());
    Ok(c)
}

fn read_ledger_in(
    clients: &mut BTreeMap<String, Client>,
    global: &Global,
    path: &Path,
) -> anyhow::Result<ledger::LedgerLines> {
    Ok(match url(path)? {
        Some(u) => {
            let c = client_in(clients, global, &u)?;
            objstore::ledger::read_any(&c, &u)?
        }
        None => ledger::read_any(path)?,
    })
}

/// Read a ledger: a local file or folder of parts, or an object or a folder of part objects in a
/// bucket (`dangan ledger report s3://…`).
pub fn read_ledger(global: &Global, path: &Path) -> anyhow::Result<ledger::LedgerLines> {
    read_ledger_in(&mut BTreeMap::new(), global, path)
}

/// `--ledger s3://…` is read and written by `verify s3://…`; a run over local paths refuses it rather
/// than write a local folder named `s3:`.
pub fn refuse_object_ledger(ledger: Option<&Path>) -> anyhow::Result<()> {
    if let Some(l) = ledger
        && url(l)?.is_some()
    {
        bail!(
            "--ledger {}: a ledger in object storage goes with packages in object storage (verify s3://…); give a local ledger for local packages",
            l.display()
        );
    }
    Ok(())
}

pub fn run_verify(
    global: &Global,
    args: &VerifyArgs,
    urls: Vec<S3Url>,
    mode: Mode,
    shard: Option<Shard>,
    progress: &dyn Progress,
    pool: rayon::ThreadPool,
) -> anyhow::Result<Status> {
    let started = Instant::now();
    let note = |msg: String| {
        if !args.quiet {
            eprintln!("dangan: {msg}");
        }
    };
    let mut clients: BTreeMap<String, Client> = BTreeMap::new();
    let mut found = Vec::new();
    let mut packages = Vec::new();
    for u in &urls {
        if !clients.contains_key(&u.bucket) {
            clients.insert(u.bucket.clone(), client(global, u)?);
        }
        let c = &clients[&u.bucket];
        let d = source::discover(c, u)?;
        found.extend(d.findings(&u.bucket));
        packages.extend(d.packages.into_iter().map(|p| (u.clone(), p)));
    }
    if packages.is_empty() && found.is_empty() {
        bail!(
            "{}: no package found (looked for METS.xml, bagit.txt and .zip objects)",
            urls.iter()
                .map(|u| u.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let total = packages.len();
    let all_urls: BTreeSet<String> = packages.iter().map(|(u, p)| u.of_key(&p.key)).collect();
    if let Some(s) = shard {
        packages.retain(|(_, p)| s.contains(shard_key(&p.key)));
        note(format!(
            "shard {}/{}: {} of {total} packages",
            s.index,
            s.count,
            packages.len()
        ));
    }
    let ctx = Context::live();
    let lines = match &args.ledger {
        Some(l) => Some(read_ledger_in(&mut clients, global, l)?),
        None => None,
    };
    // A package is known to the ledger by its id; in a bucket the path (URL) leads to it.
    let id_of_url: BTreeMap<&str, &str> = lines
        .as_ref()
        .map(|l| {
            l.latest()
                .into_iter()
                .map(|(id, e)| (e.path.as_str(), id))
                .collect()
        })
        .unwrap_or_default();
    if let (Some(age), Some(lines)) = (
        args.older_than
            .as_deref()
            .map(ledger::parse_age)
            .transpose()?,
        &lines,
    ) {
        let last = lines.last_good_full_check();
        let before = packages.len();
        packages.retain(|(u, p)| {
            let url = u.of_key(&p.key);
            let t = id_of_url
                .get(url.as_str())
                .and_then(|id| last.get(id))
                .copied();
            ledger::is_due(t, ctx.now, age)
        });
        note(format!(
            "{} of {before} packages passed their latest full check within {}; skipped",
            before - packages.len(),
            args.older_than.as_deref().unwrap_or_default()
        ));
    }
    let mut vanished = Vec::new();
    if let Some(lines) = &lines {
        for (id, e) in lines.latest() {
            let Some(u) = urls
                .iter()
                .find(|u| e.path == u.to_string() || e.path.starts_with(&format!("{u}/")))
            else {
                continue;
            };
            if all_urls.contains(&e.path) {
                continue;
            }
            let key = e
                .path
                .strip_prefix(&format!("s3://{}/", u.bucket))
                .unwrap_or(&e.path);
            if shard.is_some_and(|s| !s.contains(shard_key(key))) {
                continue;
            }
            vanished.push(vanished_report(
                id,
                &e.path,
                e.kind,
                mode,
                true,
                &jiff::Timestamp::now,
            ));
        }
    }
    let mut ledger_file = match &args.ledger {
        Some(l) => Some(LedgerSink::open(&mut clients, global, l, shard)?),
        None => None,
    };
    let options = VerifyOptions { mode };
    let limits = Limits::default();
    // Long runs under a scheduler (no terminal): a line of progress every DANGAN_PROGRESS_SECONDS (10 s),
    // bytes/s and ETA from the bytes read from storage against the sizes listed.
    let total: u64 = packages.iter().map(|(_, p)| p.bytes()).sum();
    let log_progress = !args.quiet && !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let watched: Vec<Client> = clients.values().cloned().collect();
    let verify_one = |(u, p): &(S3Url, source::FoundPackage)| -> PackageReport {
        let c = &clients[&u.bucket];
        let url = u.of_key(&p.key);
        let name = p.key.rsplit('/').next().unwrap_or(&p.key);
        match p.kind {
            PackageKind::Sip | PackageKind::SipZip => verify_opened_sip(
                source::open(c, p, &limits),
                url,
                p.kind,
                name.strip_suffix(".zip").unwrap_or(name).to_string(),
                &options,
                &jiff::Timestamp::now,
                progress,
            ),
            PackageKind::Bag | PackageKind::BagSip | PackageKind::Eep => {
                verify_copied(c, p, &url, &options, progress)
            }
        }
    };
    let result = std::thread::scope(|scope| {
        if log_progress {
            scope.spawn(move || ticker(&stopped, &watched, total, started));
        }
        // Several packages in flight at once (the pool's threads take packages and their entries alike),
        // reports taken back in discovery order so that the ledger is written in a stable order, a line
        // as soon as every package before it is done.
        let (tx, rx) = std::sync::mpsc::channel::<(usize, PackageReport)>();
        let work = &packages;
        let verify_one = &verify_one;
        let pool = &pool;
        scope.spawn(move || {
            pool.install(|| {
                use rayon::prelude::*;
                work.par_iter()
                    .enumerate()
                    .with_max_len(1)
                    .for_each_with(tx, |tx, (i, p)| {
                        // A closed receiver: the run has stopped; nothing more to report.
                        let _ = tx.send((i, verify_one(p)));
                    });
            })
        });
        let run = || -> anyhow::Result<Vec<PackageReport>> {
            let mut reports = Vec::with_capacity(packages.len());
            let mut waiting: BTreeMap<usize, PackageReport> = BTreeMap::new();
            for (i, report) in rx {
                waiting.insert(i, report);
                while let Some(report) = waiting.remove(&reports.len()) {
                    let (u, _) = &packages[reports.len()];
                    let c = &clients[&u.bucket];
                    // Storage that stopped answering is not damage in the package: stop the run (exit 2),
                    // record nothing from then on.
                    if let Some(e) = c.stats.broken() {
                        return Err(anyhow::Error::new(e).context(format!(
                            "verifying {} stopped: object storage is not answering ({} packages checked before)",
                            report.path,
                            reports.len()
                        )));
                    }
                    if let Some(l) = ledger_file.as_mut() {
                        l.append(&Entry::from_report(&report, ctx.ids.event_id()))?;
                    }
                    reports.push(report);
                }
            }
            Ok(reports)
        };
        let r = run();
        drop(stop);
        r
    });
    let mut reports = match result {
        Ok(r) => r,
        Err(e) => {
            // Keep the lines of the packages checked before the run stopped (when the ledger's storage
            // still answers).
            if let Some(l) = ledger_file.as_mut() {
                let _ = l.finish();
            }
            return Err(e);
        }
    };
    for report in vanished {
        if let Some(l) = ledger_file.as_mut() {
            l.append(&Entry::from_report(&report, ctx.ids.event_id()))?;
        }
        reports.push(report);
    }
    if let Some(l) = ledger_file.as_mut() {
        l.finish()?;
    }
    let report = VerifyReport::with_findings(reports, found);
    let cost = cost(&clients, started);
    if args.json {
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(flatten)]
            report: &'a VerifyReport,
            storage: &'a Cost,
        }
        print_json(&Out {
            report: &report,
            storage: &cost,
        })?;
    } else if !(args.quiet && report.ok) {
        let zh = global.lang == crate::args::Lang::Zh;
        let mut s = crate::fixity_cmd::render(&report, zh)?;
        s.push_str(&cost_line(&cost, zh));
        print(&s)?;
    }
    Ok(if report.ok {
        Status::Ok
    } else {
        Status::Failed
    })
}

/// Packages and their ids under URLs (for `ledger report`: which were never checked).
pub fn known(global: &Global, url: &S3Url) -> anyhow::Result<Vec<(String, String)>> {
    let c = client(global, url)?;
    let d = source::discover(&c, url)?;
    let limits = Limits::default();
    let mut out = Vec::new();
    for p in &d.packages {
        let name = p.key.rsplit('/').next().unwrap_or(&p.key);
        let mut id = name
            .strip_suffix(".zip")
            .or_else(|| name.strip_suffix(dangan::eep::SUFFIX))
            .unwrap_or(name)
            .to_string();
        if matches!(p.kind, PackageKind::Sip | PackageKind::SipZip)
            && let Ok(pkg) = source::open(&c, p, &limits)
            && let Some(objid) = pkg
                .read("METS.xml")
                .ok()
                .and_then(|b| dangan::sip::mets::objid(&b))
        {
            id = objid;
        }
        out.push((id, url.of_key(&p.key)));
    }
    if let Some(e) = c.stats.broken() {
        return Err(e.into());
    }
    Ok(out)
}

/// `pack --out s3://…`: packages are written to a local staging folder first (as for a local `--out`),
/// then uploaded and published one by one ([`dangan::objstore::publish`]); the staging folder is removed
/// when the run ends, whatever happens.
pub struct PackDestination {
    pub url: S3Url,
    client: Client,
    pub staging: PathBuf,
}

impl Drop for PackDestination {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.staging);
    }
}

/// `Some` when `--out` is an `s3://` URL (an error when it is a malformed or unsupported URL).
pub fn pack_destination(global: &Global, out: &Path) -> anyhow::Result<Option<PackDestination>> {
    let Some(url) = url(out)? else {
        return Ok(None);
    };
    let client = client(global, &url)?;
    let staging = std::env::temp_dir().join(format!(
        ".dangan-pack-{}{}",
        dangan::publish::run_id(),
        dangan::fsutil::STAGING_SUFFIX
    ));
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("creating the local staging folder {}", staging.display()))?;
    Ok(Some(PackDestination {
        url,
        client,
        staging,
    }))
}

impl PackDestination {
    /// Upload and publish every package written locally; `paths` become their URLs.
    pub fn publish(
        &self,
        paths: &mut [&mut PathBuf],
        zh: bool,
        quiet: bool,
    ) -> anyhow::Result<Cost> {
        let started = Instant::now();
        for p in paths.iter_mut() {
            let done = publish::publish(&self.client, p, &self.url)
                .with_context(|| format!("uploading {}", p.display()))?;
            if !quiet {
                let line = if zh {
                    format!(
                        "已上传 {} 个对象, {} 字节 → {}{}",
                        done.objects,
                        done.bytes,
                        done.url,
                        if done.resumed {
                            " (完成了中断的上传)"
                        } else {
                            ""
                        }
                    )
                } else {
                    format!(
                        "uploaded {} objects, {} bytes → {}{}",
                        done.objects,
                        done.bytes,
                        done.url,
                        if done.resumed {
                            " (completed an interrupted upload)"
                        } else {
                            ""
                        }
                    )
                };
                eprintln!("{line}");
            }
            **p = PathBuf::from(done.url);
        }
        let clients = BTreeMap::from([(self.url.bucket.clone(), self.client.clone())]);
        let c = cost(&clients, started);
        if !quiet {
            let mut s = String::new();
            let _ = write!(s, "{}", cost_line(&c, zh));
            eprint!("{s}");
        }
        Ok(c)
    }
}
