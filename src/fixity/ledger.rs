//! The fixity ledger: one JSON line per package per run, only ever appended to.
//!
//! Each line is a PREMIS fixity-check event (`fix`, <http://id.loc.gov/vocabulary/preservation/eventType/fix>)
//! in waiting: which package, when, with which algorithms, what was read, and every failure. The
//! ledger drives schedules (`--older-than`: skip packages with a recent successful full check) and
//! `dangan ledger report`. A damaged line (a crash mid-write, a hand edit) is reported and skipped,
//! never fatal; dangan starts its next line on a fresh line so one damaged line never spreads.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use super::FixityError;
use super::digest::Algorithm;
use super::verify::{Failure, Mode, PackageKind, PackageReport};
use crate::model::{EventType, Finding, Outcome};

/// The format of a ledger line.
pub const SCHEMA: &str = "dangan-fixity-ledger/1";

/// One line of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub schema: String,
    /// PREMIS event type code: always `fix`.
    pub event_type: String,
    pub event_id: String,
    pub package_id: String,
    pub path: String,
    pub kind: PackageKind,
    /// RFC 3339.
    pub started: String,
    pub finished: String,
    pub mode: Mode,
    pub algorithms: Vec<Algorithm>,
    pub files: u64,
    pub bytes: u64,
    pub outcome: Outcome,
    pub failures: Vec<Failure>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    pub agent: String,
}

impl Entry {
    /// The ledger line for a package report.
    pub fn from_report(report: &PackageReport, event_id: String) -> Self {
        let ts = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
        Entry {
            schema: SCHEMA.into(),
            event_type: EventType::FixityCheck.code().into(),
            event_id,
            package_id: report.id.clone(),
            path: super::verify::ledger_path(Path::new(&report.path))
                .to_string_lossy()
                .into_owned(),
            kind: report.kind,
            started: ts(report.started),
            finished: ts(report.finished),
            mode: report.mode,
            algorithms: report.algorithms.clone(),
            files: report.files,
            bytes: report.bytes,
            outcome: if report.ok {
                Outcome::Success
            } else {
                Outcome::Failure
            },
            failures: report.failures.clone(),
            findings: report.findings.clone(),
            agent: crate::software_agent(),
        }
    }

    fn finished_at(&self) -> Option<Timestamp> {
        self.finished.parse().ok()
    }
}

/// A ledger open for appending.
pub struct Ledger {
    path: PathBuf,
    file: File,
}

impl Ledger {
    /// Open (or create) a ledger for appending. Existing lines are never rewritten.
    pub fn open(path: &Path) -> Result<Self, FixityError> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| FixityError::io(path, e))?;
        // Only a regular file is a ledger (a FIFO would take the lines and keep none).
        let meta = file.metadata().map_err(|e| FixityError::io(path, e))?;
        if !meta.is_file() {
            return Err(FixityError::Ledger {
                path: path.to_path_buf(),
                message: format!("not a regular file ({})", crate::fsutil::kind_of(&meta)),
            });
        }
        // A previous writer that died mid-line left no final newline: start on a fresh line so
        // the damage stays on that one line.
        let len = meta.len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1))
                .and_then(|_| file.read_exact(&mut last))
                .map_err(|e| FixityError::io(path, e))?;
            if last[0] != b'\n' {
                file.write_all(b"\n")
                    .and_then(|_| file.sync_data())
                    .map_err(|e| FixityError::io(path, e))?;
            }
        }
        Ok(Ledger {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Append one line and make it durable before returning (one `write` per line, then fsync).
    pub fn append(&mut self, entry: &Entry) -> Result<(), FixityError> {
        let mut line = serde_json::to_vec(entry).map_err(|e| FixityError::Ledger {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|_| self.file.sync_data())
            .map_err(|e| FixityError::io(&self.path, e))
    }
}

/// A line that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Damaged {
    pub line: usize,
    pub message: String,
}

/// Largest ledger read (decades of daily runs over a large repository stay far below it).
const LEDGER_READ_LIMIT: u64 = 1 << 40;

/// The lines of a ledger.
#[derive(Debug, Clone, Default)]
pub struct LedgerLines {
    /// (line number, entry)
    pub entries: Vec<(usize, Entry)>,
    pub damaged: Vec<Damaged>,
}

/// Read a ledger. A missing file is an empty ledger (the first run of a schedule). Only a regular file
/// is read: a FIFO or device given as `--ledger` is refused at once, never waited on.
pub fn read(path: &Path) -> Result<LedgerLines, FixityError> {
    let bytes = match crate::fsutil::read_regular(path, LEDGER_READ_LIMIT) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LedgerLines::default()),
        Err(e) => return Err(FixityError::io(path, e)),
    };
    Ok(parse(&bytes))
}

/// Parse ledger text; damaged lines are collected, not fatal.
pub fn parse(bytes: &[u8]) -> LedgerLines {
    let mut out = LedgerLines::default();
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let n = i + 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let entry = std::str::from_utf8(raw)
            .map_err(|_| "not UTF-8".to_string())
            .and_then(|s| serde_json::from_str::<Entry>(s).map_err(|e| e.to_string()))
            .and_then(|e| {
                if e.schema != SCHEMA {
                    Err(format!("unknown schema '{}'", e.schema))
                } else if e.finished_at().is_none() {
                    Err(format!("'finished' is not a time: '{}'", e.finished))
                } else {
                    Ok(e)
                }
            });
        match entry {
            Ok(e) => out.entries.push((n, e)),
            Err(message) => out.damaged.push(Damaged { line: n, message }),
        }
    }
    out
}

impl LedgerLines {
    /// The latest line of each package (by finish time, then line number).
    pub fn latest(&self) -> BTreeMap<&str, &Entry> {
        let mut last: BTreeMap<&str, (Timestamp, usize, &Entry)> = BTreeMap::new();
        for (n, e) in &self.entries {
            let Some(t) = e.finished_at() else { continue };
            let newer = last
                .get(e.package_id.as_str())
                .is_none_or(|(lt, ln, _)| (t, *n) >= (*lt, *ln));
            if newer {
                last.insert(&e.package_id, (t, *n, e));
            }
        }
        last.into_iter().map(|(id, (_, _, e))| (id, e)).collect()
    }

    /// When each package last passed a full check.
    pub fn last_success(&self) -> BTreeMap<&str, Timestamp> {
        let mut out: BTreeMap<&str, Timestamp> = BTreeMap::new();
        for (_, e) in &self.entries {
            // Only a full check (every digest) proves fixity; fast and completeness checks do not.
            if e.outcome != Outcome::Success || e.mode != Mode::Full {
                continue;
            }
            if let Some(t) = e.finished_at() {
                let slot = out.entry(e.package_id.as_str()).or_insert(t);
                if t > *slot {
                    *slot = t;
                }
            }
        }
        out
    }
}

impl LedgerLines {
    /// For `--older-than`: when each package's latest full check finished, for packages whose
    /// latest full check succeeded. A failure after a success makes the package due again, so a
    /// damaged package is re-checked on every run until it is repaired, never quiet for a month.
    pub fn last_good_full_check(&self) -> BTreeMap<&str, Timestamp> {
        let mut latest: BTreeMap<&str, (Timestamp, usize, bool)> = BTreeMap::new();
        for (n, e) in &self.entries {
            if e.mode != Mode::Full {
                continue;
            }
            let Some(t) = e.finished_at() else { continue };
            let ok = e.outcome == Outcome::Success;
            let slot = latest.entry(e.package_id.as_str()).or_insert((t, *n, ok));
            if (t, *n) >= (slot.0, slot.1) {
                *slot = (t, *n, ok);
            }
        }
        latest
            .into_iter()
            .filter(|(_, (_, _, ok))| *ok)
            .map(|(id, (t, _, _))| (id, t))
            .collect()
    }
}

/// Parse an age such as `30d`, `12h`, `2w`, `90m`, `45s`.
pub fn parse_age(s: &str) -> Result<SignedDuration, FixityError> {
    let bad = || FixityError::BadDuration(s.to_string());
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (num, unit) = t.split_at(split);
    let n: i64 = num.parse().map_err(|_| bad())?;
    let secs = match unit.trim() {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(secs)
        .map(SignedDuration::from_secs)
        .ok_or_else(bad)
}

/// Whether a package is due: never passed a full check, or last passed at or before `now - age`.
pub fn is_due(last_success: Option<Timestamp>, now: Timestamp, age: SignedDuration) -> bool {
    match last_success {
        None => true,
        Some(t) => now.checked_sub(age).is_ok_and(|cutoff| t <= cutoff),
    }
}

/// One of N slices of a repository, chosen by a hash of the package id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: u64,
    pub count: u64,
}

impl FromStr for Shard {
    type Err = FixityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || FixityError::BadShard(s.to_string());
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = i.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// The shard (1..=count) a package id falls in: the first 8 bytes of SHA-256(id), modulo N.
    /// Stable across runs, machines and dangan versions, so N cron slots or N machines split a
    /// repository without talking to each other.
    pub fn of(id: &str, count: u64) -> u64 {
        let d = sha2::Sha256::digest(id.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&d[..8]);
        u64::from_be_bytes(first) % count.max(1) + 1
    }

    pub fn contains(&self, id: &str) -> bool {
        Shard::of(id, self.count) == self.index
    }
}

/// `--shard`: a fixed `I/N`, or `auto` — the index and count from the scheduler running this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardSpec {
    Fixed(Shard),
    Auto,
}

impl FromStr for ShardSpec {
    type Err = FixityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("auto") {
            Ok(ShardSpec::Auto)
        } else {
            s.parse().map(ShardSpec::Fixed)
        }
    }
}

impl ShardSpec {
    /// The shard of this process, reading the scheduler's variables from the environment.
    pub fn resolve(&self) -> Result<(Shard, &'static str), FixityError> {
        self.resolve_with(&|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    /// [`ShardSpec::resolve`] with the environment given. `auto` reads, in this order:
    ///
    /// - Kubernetes Indexed Job: `JOB_COMPLETION_INDEX` (0-based, set by Kubernetes) and `JOB_COMPLETIONS`
    ///   — Kubernetes does not export the completion count, so the manifest sets `JOB_COMPLETIONS` to the
    ///   Job's `spec.completions` (see `deploy/k8s-verify-job.yaml`);
    /// - Slurm job array: `SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_MIN` (and `SLURM_ARRAY_TASK_STEP`) for the
    ///   index, `SLURM_ARRAY_TASK_COUNT` (else `MAX − MIN + 1`, over the step) for the count; an array
    ///   with holes (`--array=1,4,9`) cannot be mapped onto shards and is refused;
    /// - GNU parallel: `PARALLEL_SEQ` (1-based job sequence number, not the reused `PARALLEL_JOBSLOT`) and
    ///   `DANGAN_SHARD_COUNT` (parallel exports no job count: pass it, e.g. `DANGAN_SHARD_COUNT=7 parallel
    ///   … ::: $(seq 7)`; or write `--shard {#}/7`).
    ///
    /// The second value says which scheduler it came from.
    pub fn resolve_with(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(Shard, &'static str), FixityError> {
        let bad = |m: String| FixityError::ShardAuto(m);
        let num = |k: &str| -> Result<Option<u64>, FixityError> {
            env(k)
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .map_err(|_| bad(format!("{k}='{v}' is not a whole number")))
                })
                .transpose()
        };
        let shard = |index0: u64, count: u64, src: &'static str| {
            if count == 0 || index0 >= count {
                Err(bad(format!(
                    "{src}: index {index0} (0-based) is not below the count {count}"
                )))
            } else {
                Ok((
                    Shard {
                        index: index0 + 1,
                        count,
                    },
                    src,
                ))
            }
        };
        match self {
            ShardSpec::Fixed(s) => Ok((*s, "--shard")),
            ShardSpec::Auto => {
                if let Some(i) = num("JOB_COMPLETION_INDEX")? {
                    let n = num("JOB_COMPLETIONS")?.ok_or_else(|| {
                        bad("JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but JOB_COMPLETIONS is not: set it in the pod template to the Job's spec.completions".into())
                    })?;
                    return shard(i, n, "Kubernetes Indexed Job");
                }
                if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
                    let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
                    let step = num("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
                    let span = match num("SLURM_ARRAY_TASK_MAX")? {
                        Some(max) if max >= min => Some((max - min) / step + 1),
                        _ => None,
                    };
                    let n = match (num("SLURM_ARRAY_TASK_COUNT")?, span) {
                        (Some(c), Some(s)) if c != s => {
                            return Err(bad(format!(
                                "a Slurm array with holes ({c} tasks between {min} and the maximum, step {step}) cannot be split into shards: use --array=0-{} or --shard I/N",
                                c - 1
                            )));
                        }
                        (Some(c), _) => c,
                        (None, Some(s)) => s,
                        (None, None) => {
                            return Err(bad("SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX".into()));
                        }
                    };
                    if id < min || (id - min) % step != 0 {
                        return Err(bad(format!(
                            "SLURM_ARRAY_TASK_ID {id} is not in the array (minimum {min}, step {step})"
                        )));
                    }
                    return shard((id - min) / step, n, "Slurm job array");
                }
                if let Some(seq) = num("PARALLEL_SEQ")? {
                    let n = num("DANGAN_SHARD_COUNT")?.ok_or_else(|| {
                        bad("PARALLEL_SEQ is set (GNU parallel) but DANGAN_SHARD_COUNT is not: GNU parallel does not export the number of jobs".into())
                    })?;
                    if seq == 0 {
                        return Err(bad("PARALLEL_SEQ is 1-based; got 0".into()));
                    }
                    return shard(seq - 1, n, "GNU parallel");
                }
                Err(bad("no scheduler found: expected JOB_COMPLETION_INDEX (Kubernetes), SLURM_ARRAY_TASK_ID (Slurm) or PARALLEL_SEQ (GNU parallel)".into()))
            }
        }
    }
}

/// The ledger part a run writes when `--ledger` names a folder: one file per shard, so that shards on
/// many machines never write the same file (`part-3-of-7.jsonl`; `ledger.jsonl` without shards).
pub fn part_path(ledger: &Path, shard: Option<Shard>) -> PathBuf {
    if !ledger.is_dir() {
        return ledger.to_path_buf();
    }
    match shard {
        Some(s) => ledger.join(format!("part-{}-of-{}.jsonl", s.index, s.count)),
        None => ledger.join("ledger.jsonl"),
    }
}

/// Read a ledger file, or every `*.jsonl` part of a ledger folder merged (parts in name order; line
/// numbers are those of each part, and a damaged line names its part).
pub fn read_any(path: &Path) -> Result<LedgerLines, FixityError> {
    if !path.is_dir() {
        return read(path);
    }
    let mut parts: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| FixityError::io(path, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "jsonl")
                && !p.file_name().is_some_and(crate::fsutil::is_staging_name)
        })
        .collect();
    parts.sort();
    let mut out = LedgerLines::default();
    for p in parts {
        let lines = read(&p)?;
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.entries.extend(lines.entries);
        out.damaged
            .extend(lines.damaged.into_iter().map(|d| Damaged {
                line: d.line,
                message: format!("{name}: {}", d.message),
            }));
    }
    Ok(out)
}

/// The last check of one package.
#[derive(Debug, Clone, Serialize)]
pub struct PackageStatus {
    pub id: String,
    pub path: String,
    pub checks: u64,
    pub last_checked: String,
    pub last_outcome: Outcome,
    pub last_mode: Mode,
    pub last_success: Option<String>,
}

/// A package found on disk that the ledger has no line for.
#[derive(Debug, Clone, Serialize)]
pub struct NeverChecked {
    pub id: String,
    pub path: String,
}

/// A failed check.
#[derive(Debug, Clone, Serialize)]
pub struct FailedCheck {
    pub line: usize,
    pub id: String,
    pub path: String,
    pub finished: String,
    pub failures: Vec<Failure>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}

/// `dangan ledger report`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub packages: Vec<PackageStatus>,
    pub never_checked: Vec<NeverChecked>,
    pub failures: Vec<FailedCheck>,
    pub damaged_lines: Vec<Damaged>,
}

impl Report {
    /// Bad news: a package whose last check failed, or one never checked.
    pub fn ok(&self) -> bool {
        self.never_checked.is_empty()
            && self
                .packages
                .iter()
                .all(|p| p.last_outcome == Outcome::Success)
    }
}

/// Summarize a ledger. `known` are the packages on disk (id, path), to find those never checked.
pub fn report(lines: &LedgerLines, known: &[(String, String)]) -> Report {
    let mut last: BTreeMap<&str, (Timestamp, usize, &Entry)> = BTreeMap::new();
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut failures = Vec::new();
    for (n, e) in &lines.entries {
        *counts.entry(&e.package_id).or_default() += 1;
        let Some(t) = e.finished_at() else { continue };
        let newer = last
            .get(e.package_id.as_str())
            .is_none_or(|(lt, ln, _)| (t, *n) >= (*lt, *ln));
        if newer {
            last.insert(&e.package_id, (t, *n, e));
        }
        if e.outcome != Outcome::Success {
            failures.push(FailedCheck {
                line: *n,
                id: e.package_id.clone(),
                path: e.path.clone(),
                finished: e.finished.clone(),
                failures: e.failures.clone(),
                findings: e.findings.clone(),
            });
        }
    }
    let success = lines.last_success();
    let packages = last
        .iter()
        .map(|(id, (_, _, e))| PackageStatus {
            id: id.to_string(),
            path: e.path.clone(),
            checks: counts.get(id).copied().unwrap_or_default(),
            last_checked: e.finished.clone(),
            last_outcome: e.outcome,
            last_mode: e.mode,
            last_success: success.get(id).map(|t| t.to_string()),
        })
        .collect();
    let never_checked = known
        .iter()
        .filter(|(id, _)| !last.contains_key(id.as_str()))
        .map(|(id, path)| NeverChecked {
            id: id.clone(),
            path: path.clone(),
        })
        .collect();
    Report {
        packages,
        never_checked,
        failures,
        damaged_lines: lines.damaged.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition() {
        for n in 1..=7u64 {
            for i in 0..200 {
                let id = format!("pkg-{i}");
                let hits = (1..=n)
                    .filter(|k| {
                        Shard {
                            index: *k,
                            count: n,
                        }
                        .contains(&id)
                    })
                    .count();
                assert_eq!(hits, 1, "{id} in {hits} of {n} shards");
            }
        }
        assert!("0/3".parse::<Shard>().is_err());
        assert!("4/3".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
        assert_eq!(
            "2/3".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 3 }
        );
    }

    #[test]
    fn shards_come_from_the_scheduler() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let auto = ShardSpec::Auto;
        let k8s = auto
            .resolve_with(&env(&[
                ("JOB_COMPLETION_INDEX", "0"),
                ("JOB_COMPLETIONS", "3"),
            ]))
            .unwrap();
        assert_eq!(k8s.0, Shard { index: 1, count: 3 });
        assert!(
            auto.resolve_with(&env(&[
                ("JOB_COMPLETION_INDEX", "3"),
                ("JOB_COMPLETIONS", "3")
            ]))
            .is_err()
        );
        assert!(
            auto.resolve_with(&env(&[("JOB_COMPLETION_INDEX", "0")]))
                .is_err()
        );
        // sbatch --array=1-7: ids 1..=7.
        let slurm = &[
            ("SLURM_ARRAY_TASK_ID", "7"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "7"),
            ("SLURM_ARRAY_TASK_COUNT", "7"),
        ];
        assert_eq!(
            auto.resolve_with(&env(slurm)).unwrap().0,
            Shard { index: 7, count: 7 }
        );
        // --array=0-12:3 → 0,3,6,9,12.
        let step = &[
            ("SLURM_ARRAY_TASK_ID", "9"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "12"),
            ("SLURM_ARRAY_TASK_STEP", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "5"),
        ];
        assert_eq!(
            auto.resolve_with(&env(step)).unwrap().0,
            Shard { index: 4, count: 5 }
        );
        // --array=1,4,9: holes.
        let holes = &[
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "9"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ];
        assert!(auto.resolve_with(&env(holes)).is_err());
        let par = &[("PARALLEL_SEQ", "2"), ("DANGAN_SHARD_COUNT", "4")];
        assert_eq!(
            auto.resolve_with(&env(par)).unwrap().0,
            Shard { index: 2, count: 4 }
        );
        assert!(auto.resolve_with(&env(&[])).is_err());
        assert!(
            auto.resolve_with(&env(&[
                ("JOB_COMPLETION_INDEX", "x"),
                ("JOB_COMPLETIONS", "2")
            ]))
            .is_err()
        );
        assert_eq!("auto".parse::<ShardSpec>().unwrap(), ShardSpec::Auto);
        assert_eq!(
            "2/5".parse::<ShardSpec>().unwrap(),
            ShardSpec::Fixed(Shard { index: 2, count: 5 })
        );
    }

    #[test]
    fn ages() {
        assert_eq!(parse_age("30d").unwrap(), SignedDuration::from_hours(720));
        assert_eq!(parse_age("2w").unwrap(), SignedDuration::from_hours(336));
        assert!(parse_age("30").is_err());
        assert!(parse_age("d").is_err());
        assert!(parse_age("3y").is_err());
        let now: Timestamp = "2026-03-01T00:00:00Z".parse().unwrap();
        let age = parse_age("30d").unwrap();
        assert!(is_due(None, now, age));
        assert!(!is_due(
            Some("2026-02-20T00:00:00Z".parse().unwrap()),
            now,
            age
        ));
        assert!(is_due(
            Some("2026-01-01T00:00:00Z".parse().unwrap()),
            now,
            age
        ));
    }

    #[test]
    fn damaged_lines_are_skipped() {
        let lines = parse(b"{\"schema\":\"x\"}\nnot json\n\n\xff\n");
        assert!(lines.entries.is_empty());
        let n: Vec<usize> = lines.damaged.iter().map(|d| d.line).collect();
        assert_eq!(n, [1, 2, 4]);
    }
}
