//! Verification of packages: BagIt bags (0.93–1.0), E-ARK SIP folders, SIP `.zip` files read in
//! place, bags that wrap a SIP, and folders holding many of these.
//!
//! Every package is checked the same way: what the package declares (manifests, METS) becomes a
//! set of expectations, what is really there becomes a listing (a walk that never follows symbolic
//! links, or the zip's central directory), and the two are compared. Every changed, missing,
//! unexpected and unreadable file becomes a [`Failure`] with expected and actual values; problems
//! with the declarations themselves (a malformed manifest line, a refused path) become
//! [`Finding`]s naming the file and line.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::FixityError;
use super::bagit;
use super::digest::{Algorithm, HashFileError, Hashed, Seen, hash_file, hash_reader};
use super::mets;
use super::path::safe_relative;
use crate::model::{Finding, Level};

/// Receives progress of long runs (the binary draws a bar from it).
pub trait Progress: Sync {
    /// More work is known: `files` files holding `bytes` bytes will be read.
    fn planned(&self, _files: u64, _bytes: u64) {}
    /// Work was done.
    fn advance(&self, _files: u64, _bytes: u64) {}
}

/// No progress reporting.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Where "now" comes from: the library never reads the system clock itself.
pub trait Clock: Sync {
    fn now(&self) -> Timestamp;
}

impl<F: Fn() -> Timestamp + Sync> Clock for F {
    fn now(&self) -> Timestamp {
        self()
    }
}

/// How thoroughly to check (bagit-python's graded checks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Every digest of every file (a BagIt "valid" check, RFC 8493 §3).
    #[default]
    Full,
    /// Names and sizes only (Payload-Oxum for bags, `SIZE` for METS); no file is read.
    Fast,
    /// Names only (a BagIt "complete" check, RFC 8493 §3).
    CompletenessOnly,
}

#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    pub mode: Mode,
}

/// What kind of package a path holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PackageKind {
    /// A BagIt bag.
    Bag,
    /// A BagIt bag whose payload is an E-ARK SIP: both the manifests and the METS are checked.
    BagSip,
    /// An E-ARK SIP folder.
    Sip,
    /// An E-ARK SIP in a `.zip` file, read in place.
    SipZip,
}

impl PackageKind {
    pub fn name(self) -> &'static str {
        match self {
            PackageKind::Bag => "bag",
            PackageKind::BagSip => "bag-sip",
            PackageKind::Sip => "sip",
            PackageKind::SipZip => "sip-zip",
        }
    }
}

/// What is wrong with one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureKind {
    /// Its digest (or size) is not the one declared.
    Changed,
    /// Declared but not there.
    Missing,
    /// There but not declared.
    Unexpected,
    /// There but could not be read (permissions, I/O error, a symbolic link, changed while read).
    Unreadable,
}

/// One damaged, missing, unexpected or unreadable file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Path relative to the package root, `/`-separated.
    pub path: String,
    pub kind: FailureKind,
    /// `sha256`, …, or `size` when only a size could be compared.
    pub algorithm: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    /// Why, where the kind alone does not say (the I/O error of an unreadable file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The result of checking one package.
#[derive(Debug, Clone, Serialize)]
pub struct PackageReport {
    pub path: String,
    pub kind: PackageKind,
    pub ok: bool,
    /// Files looked at (read, in a full check).
    pub files: u64,
    /// Bytes read (in a fast check: bytes whose sizes were compared).
    pub bytes: u64,
    pub failures: Vec<Failure>,
    /// Problems with the declarations (manifests, METS, bag-info), each naming its file and line.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// The package identifier used by the ledger and by shards.
    #[serde(skip)]
    pub id: String,
    #[serde(skip)]
    pub algorithms: Vec<Algorithm>,
    #[serde(skip)]
    pub mode: Mode,
    #[serde(skip)]
    pub started: Option<Timestamp>,
    #[serde(skip)]
    pub finished: Option<Timestamp>,
}

/// The result of a run: `{"ok": …, "packages": […]}`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub packages: Vec<PackageReport>,
}

impl VerifyReport {
    pub fn new(packages: Vec<PackageReport>) -> Self {
        VerifyReport {
            ok: packages.iter().all(|p| p.ok),
            packages,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------------------------

/// A package found on disk, not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRef {
    pub path: PathBuf,
    /// `Bag`, `Sip` or `SipZip` (a bag is found to wrap a SIP when it is checked).
    pub kind: PackageKind,
}

/// Packages under one path, and what could not be searched.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub packages: Vec<PackageRef>,
    /// Folders that could not be read while searching (path, error).
    pub problems: Vec<(PathBuf, String)>,
}

pub(super) fn is_regular(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
}

fn package_dir_kind(dir: &Path) -> Option<PackageKind> {
    if is_regular(&dir.join("bagit.txt")) {
        Some(PackageKind::Bag)
    } else if is_regular(&dir.join("METS.xml")) {
        Some(PackageKind::Sip)
    } else {
        None
    }
}

fn is_zip_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// Find the packages at or under `path`: the path itself when it is a package, else every
/// package below it (searching does not enter packages and never follows symbolic links).
pub fn discover(path: &Path) -> Result<Discovery, FixityError> {
    let meta = fs::metadata(path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            FixityError::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            FixityError::io(path, e)
        }
    })?;
    let mut d = Discovery::default();
    if meta.is_file() {
        if is_zip_name(path) {
            d.packages.push(PackageRef {
                path: path.to_path_buf(),
                kind: PackageKind::SipZip,
            });
            return Ok(d);
        }
        return Err(FixityError::NoPackage {
            path: path.to_path_buf(),
        });
    }
    if let Some(kind) = package_dir_kind(path) {
        d.packages.push(PackageRef {
            path: path.to_path_buf(),
            kind,
        });
        return Ok(d);
    }
    let mut walk = walkdir::WalkDir::new(path)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = walk.next() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let p = e.path().unwrap_or(path).to_path_buf();
                d.problems.push((p, e.to_string()));
                continue;
            }
        };
        let ft = entry.file_type();
        let name = entry.file_name().to_string_lossy();
        if ft.is_dir() {
            // A bag being built by `dangan bag` is not a package yet.
            if name.starts_with('.') && name.contains(".dangan-") {
                walk.skip_current_dir();
                continue;
            }
            if let Some(kind) = package_dir_kind(entry.path()) {
                d.packages.push(PackageRef {
                    path: entry.path().to_path_buf(),
                    kind,
                });
                walk.skip_current_dir();
            }
        } else if ft.is_file() && is_zip_name(entry.path()) {
            d.packages.push(PackageRef {
                path: entry.path().to_path_buf(),
                kind: PackageKind::SipZip,
            });
        }
    }
    if d.packages.is_empty() {
        return Err(FixityError::NoPackage {
            path: path.to_path_buf(),
        });
    }
    Ok(d)
}

pub(super) fn dir_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The identifier a package is known by in the ledger and for shards: `External-Identifier` of
/// a bag, else `mets/@OBJID` of a SIP (CSIP1), else the folder or file name.
pub fn package_id(p: &PackageRef) -> String {
    match p.kind {
        PackageKind::Bag | PackageKind::BagSip => bagit::bag_id(&p.path),
        PackageKind::Sip => fs::read(p.path.join("METS.xml"))
            .ok()
            .and_then(|b| mets::objid(&b))
            .unwrap_or_else(|| dir_name(&p.path)),
        PackageKind::SipZip => File::open(&p.path)
            .ok()
            .and_then(|f| zip::ZipArchive::new(f).ok())
            .and_then(|mut z| {
                let (prefix, _) = zip_prefix(&z);
                let prefix = prefix?;
                let bytes = read_zip_entry(&mut z, &format!("{prefix}METS.xml")).ok()?;
                mets::objid(&bytes)
            })
            .unwrap_or_else(|| {
                p.path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            }),
    }
}

// ---------------------------------------------------------------------------------------------
// Listings and expectations
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
pub(super) enum Handle {
    Disk(Seen),
    Zip(usize),
}

#[derive(Debug, Clone)]
pub(super) enum Found {
    File {
        size: u64,
        handle: Handle,
    },
    Symlink,
    Special,
    /// A name that cannot be listed in a UTF-8 manifest or is unsafe; the text says why.
    BadName(String),
    /// Could not be listed (a folder that cannot be read).
    Unreadable(String),
}

pub(super) type Listing = BTreeMap<String, Found>;

#[derive(Debug, Clone, Default)]
pub(super) struct Expect {
    /// (algorithm, lower-case hex); several sources may declare the same file.
    pub(super) digests: Vec<(Algorithm, String)>,
    pub(super) size: Option<u64>,
}

impl Expect {
    fn algorithms(&self) -> Vec<Algorithm> {
        let mut a: Vec<Algorithm> = self.digests.iter().map(|(a, _)| *a).collect();
        a.sort();
        a.dedup();
        a
    }

    /// The declared digest to show for a missing file: the preferred algorithm's.
    fn first(&self) -> (Option<String>, Option<String>) {
        self.digests
            .iter()
            .min_by_key(|(a, _)| *a)
            .map(|(a, v)| (Some(a.name().to_string()), Some(v.clone())))
            .unwrap_or((None, None))
    }
}

pub(super) type Expectations = BTreeMap<String, Expect>;

pub(super) fn list_dir(root: &Path) -> Listing {
    let mut out = Listing::new();
    for entry in walkdir::WalkDir::new(root)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let rel = e
                    .path()
                    .and_then(|p| p.strip_prefix(root).ok())
                    .map(|p| p.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/"))
                    .unwrap_or_default();
                out.insert(rel, Found::Unreadable(e.to_string()));
                continue;
            }
        };
        let Ok(rel_path) = entry.path().strip_prefix(root) else {
            continue;
        };
        let ft = entry.file_type();
        if ft.is_dir() {
            continue;
        }
        let (rel, utf8) = match rel_path.to_str() {
            Some(s) => (s.replace(std::path::MAIN_SEPARATOR, "/"), true),
            None => (
                rel_path
                    .to_string_lossy()
                    .replace(std::path::MAIN_SEPARATOR, "/"),
                false,
            ),
        };
        let found = if !utf8 {
            Found::BadName("the file name is not valid UTF-8, so no manifest can list it".into())
        } else if ft.is_symlink() {
            Found::Symlink
        } else if ft.is_file() {
            match entry.metadata() {
                Ok(m) => Found::File {
                    size: m.len(),
                    handle: Handle::Disk(Seen::of(&m)),
                },
                Err(e) => Found::Unreadable(e.to_string()),
            }
        } else {
            Found::Special
        };
        out.insert(rel, found);
    }
    out
}

fn failure(path: &str, kind: FailureKind) -> Failure {
    Failure {
        path: path.to_string(),
        kind,
        algorithm: None,
        expected: None,
        actual: None,
        detail: None,
    }
}

pub(super) fn error_finding(rule: &str, path: &str, message: String) -> Finding {
    Finding {
        property: None,
        rule: rule.into(),
        level: Level::Error,
        path: Some(path.to_string()),
        message,
        message_en: String::new(),
    }
}

/// Whether a symbolic link sits on the way to `path` (so the path must not be opened).
fn through_symlink(listing: &Listing, path: &str) -> bool {
    let mut i = 0;
    while let Some(j) = path[i..].find('/') {
        let prefix = &path[..i + j];
        if matches!(listing.get(prefix), Some(Found::Symlink)) {
            return true;
        }
        i += j + 1;
    }
    false
}

struct Job {
    path: String,
    handle: Handle,
    algorithms: Vec<Algorithm>,
    /// Check the zip entry's CRC-32 (when no digest is declared for it).
    crc: bool,
}

/// Reads files for a check: from a folder or from a zip.
pub(super) enum Source<'a> {
    Dir(&'a Path),
    Zip(&'a Path),
}

impl Source<'_> {
    fn hash_all(&self, jobs: &[Job], progress: &dyn Progress) -> Vec<Result<Hashed, String>> {
        match self {
            Source::Dir(root) => {
                jobs.par_iter()
                    .with_max_len(1)
                    .map(|j| {
                        let Handle::Disk(seen) = j.handle else {
                            return Err("internal: not a file on disk".to_string());
                        };
                        let r = hash_file(&root.join(&j.path), &j.algorithms, Some(seen)).map_err(
                            |e| match e {
                                HashFileError::Io(io) => io.to_string(),
                                other => other.to_string(),
                            },
                        );
                        if let Ok(h) = &r {
                            progress.advance(1, h.size);
                        }
                        r
                    })
                    .collect()
            }
            Source::Zip(path) => {
                // Each worker opens the zip once and reads a contiguous run of entries, in the
                // order they lie in the file; nothing is written anywhere.
                let n = (rayon::current_num_threads() * 4).max(1);
                let per = jobs.len().div_ceil(n).max(1);
                jobs.par_chunks(per)
                    .flat_map_iter(|chunk| {
                        let archive = File::open(path)
                            .map_err(|e| e.to_string())
                            .and_then(|f| zip::ZipArchive::new(f).map_err(|e| e.to_string()));
                        let mut archive = archive;
                        chunk
                            .iter()
                            .map(|j| {
                                let z = archive.as_mut().map_err(|e| e.clone())?;
                                let Handle::Zip(index) = j.handle else {
                                    return Err("internal: not a zip entry".to_string());
                                };
                                let options = zip::read::ZipReadOptions::new().ignore_crc32(!j.crc);
                                let mut entry = z
                                    .by_index_with_options(index, options)
                                    .map_err(|e| e.to_string())?;
                                let r = hash_reader(&mut entry, &j.algorithms)
                                    .map_err(|e| e.to_string());
                                if let Ok(h) = &r {
                                    progress.advance(1, h.size);
                                }
                                r
                            })
                            .collect::<Vec<_>>()
                    })
                    .collect()
            }
        }
    }
}

pub(super) struct Checked {
    pub(super) failures: Vec<Failure>,
    pub(super) files: u64,
    pub(super) bytes: u64,
}

/// Which listed files must be declared, and how to report those that are not.
pub(super) struct Scope<'a> {
    /// Files that must be declared (a bag's payload; every file of a SIP).
    pub(super) in_scope: &'a dyn Fn(&str) -> bool,
    /// Never unexpected (the METS files that do the declaring).
    pub(super) exempt: &'a BTreeSet<String>,
    /// The digest shown for an unexpected file.
    pub(super) unexpected_algorithm: Algorithm,
}

/// Compare what is there with what is declared.
pub(super) fn check(
    source: &Source<'_>,
    listing: &Listing,
    expects: &Expectations,
    scope: &Scope<'_>,
    mode: Mode,
    progress: &dyn Progress,
) -> Checked {
    let Scope {
        in_scope,
        exempt,
        unexpected_algorithm,
    } = *scope;
    let mut failures = Vec::new();
    let mut jobs: Vec<Job> = Vec::new();
    let mut files = 0u64;
    let mut bytes = 0u64;
    for (path, expect) in expects {
        let (algorithm, expected) = expect.first();
        match listing.get(path) {
            Some(Found::File { size, handle }) => {
                files += 1;
                if mode == Mode::Full {
                    jobs.push(Job {
                        path: path.clone(),
                        handle: *handle,
                        algorithms: expect.algorithms(),
                        crc: expect.digests.is_empty(),
                    });
                } else {
                    bytes += size;
                    if mode == Mode::Fast
                        && let Some(want) = expect.size
                        && want != *size
                    {
                        failures.push(Failure {
                            algorithm: Some("size".into()),
                            expected: Some(want.to_string()),
                            actual: Some(size.to_string()),
                            ..failure(path, FailureKind::Changed)
                        });
                    }
                }
            }
            Some(found @ (Found::Symlink | Found::Special | Found::Unreadable(_) | Found::BadName(_))) => {
                let detail = match found {
                    Found::Symlink => "a symbolic link; links are never followed out of a package".into(),
                    Found::Special => "not a regular file".into(),
                    Found::Unreadable(e) | Found::BadName(e) => e.clone(),
                    Found::File { .. } => String::new(),
                };
                failures.push(Failure {
                    algorithm,
                    expected,
                    detail: Some(detail),
                    ..failure(path, FailureKind::Unreadable)
                });
            }
            None if through_symlink(listing, path) => failures.push(Failure {
                algorithm,
                expected,
                detail: Some(
                    "the path goes through a symbolic link; links are never followed out of a package"
                        .into(),
                ),
                ..failure(path, FailureKind::Unreadable)
            }),
            None => failures.push(Failure {
                algorithm,
                expected,
                ..failure(path, FailureKind::Missing)
            }),
        }
    }
    for (path, found) in listing {
        if expects.contains_key(path) || exempt.contains(path) || !in_scope(path) {
            continue;
        }
        match found {
            Found::File { size, handle } => {
                files += 1;
                if mode == Mode::Full {
                    // Hashed too, so the report shows what the stray file is.
                    jobs.push(Job {
                        path: path.clone(),
                        handle: *handle,
                        algorithms: vec![unexpected_algorithm],
                        crc: true,
                    });
                } else {
                    bytes += size;
                    failures.push(failure(path, FailureKind::Unexpected));
                }
            }
            Found::Symlink => failures.push(Failure {
                detail: Some("a symbolic link (not followed)".into()),
                ..failure(path, FailureKind::Unexpected)
            }),
            Found::Special => failures.push(Failure {
                detail: Some("not a regular file".into()),
                ..failure(path, FailureKind::Unexpected)
            }),
            Found::BadName(why) => failures.push(Failure {
                detail: Some(why.clone()),
                ..failure(path, FailureKind::Unexpected)
            }),
            Found::Unreadable(e) => failures.push(Failure {
                detail: Some(e.clone()),
                ..failure(path, FailureKind::Unreadable)
            }),
        }
    }
    if !jobs.is_empty() {
        let planned: u64 = jobs
            .iter()
            .map(|j| match listing.get(&j.path) {
                Some(Found::File { size, .. }) => *size,
                _ => 0,
            })
            .sum();
        progress.planned(jobs.len() as u64, planned);
        let results = match source {
            // Largest files first, so a big file never starts last and runs alone on one core
            // while the others sit idle; results go back to path order afterwards.
            Source::Dir(_) => {
                let size = |j: &Job| match listing.get(&j.path) {
                    Some(Found::File { size, .. }) => *size,
                    _ => 0,
                };
                let mut order: Vec<usize> = (0..jobs.len()).collect();
                order.sort_by_key(|&i| std::cmp::Reverse(size(&jobs[i])));
                let mut sorted: Vec<Option<Job>> = jobs.drain(..).map(Some).collect();
                let by_size: Vec<Job> = order.iter().filter_map(|&i| sorted[i].take()).collect();
                let hashed = source.hash_all(&by_size, progress);
                let mut back: Vec<(usize, Job, Result<Hashed, String>)> = order
                    .into_iter()
                    .zip(by_size)
                    .zip(hashed)
                    .map(|((i, j), r)| (i, j, r))
                    .collect();
                back.sort_by_key(|(i, _, _)| *i);
                let mut results = Vec::with_capacity(back.len());
                for (_, j, r) in back {
                    jobs.push(j);
                    results.push(r);
                }
                results
            }
            // A zip is read in the order its entries lie in the file.
            Source::Zip(_) => source.hash_all(&jobs, progress),
        };
        for (job, result) in jobs.iter().zip(results) {
            let expect = expects.get(&job.path);
            match (expect, result) {
                (None, Ok(h)) => {
                    bytes += h.size;
                    failures.push(Failure {
                        algorithm: Some(unexpected_algorithm.name().into()),
                        actual: h.get(unexpected_algorithm).map(str::to_string),
                        ..failure(&job.path, FailureKind::Unexpected)
                    });
                }
                (None, Err(e)) => failures.push(Failure {
                    detail: Some(e),
                    ..failure(&job.path, FailureKind::Unexpected)
                }),
                (Some(expect), Err(e)) => {
                    let (algorithm, expected) = expect.first();
                    failures.push(Failure {
                        algorithm,
                        expected,
                        detail: Some(e),
                        ..failure(&job.path, FailureKind::Unreadable)
                    });
                }
                (Some(expect), Ok(h)) => {
                    bytes += h.size;
                    let size_note = expect
                        .size
                        .filter(|want| *want != h.size)
                        .map(|want| format!("size {} bytes, declared {want}", h.size));
                    let mut digests = expect.digests.clone();
                    digests.sort();
                    let mismatch = digests
                        .iter()
                        .find(|(a, v)| h.get(*a).is_some_and(|got| got != v));
                    if let Some((a, v)) = mismatch {
                        failures.push(Failure {
                            algorithm: Some(a.name().into()),
                            expected: Some(v.clone()),
                            actual: h.get(*a).map(str::to_string),
                            detail: size_note,
                            ..failure(&job.path, FailureKind::Changed)
                        });
                    } else if let Some(want) = expect.size.filter(|want| *want != h.size) {
                        failures.push(Failure {
                            algorithm: Some("size".into()),
                            expected: Some(want.to_string()),
                            actual: Some(h.size.to_string()),
                            ..failure(&job.path, FailureKind::Changed)
                        });
                    }
                }
            }
        }
    }
    failures.sort_by(|a, b| (&a.path, a.kind).cmp(&(&b.path, b.kind)));
    failures.dedup();
    Checked {
        failures,
        files,
        bytes,
    }
}

fn add_mets(expects: &mut Expectations, declared: &mets::MetsFiles) {
    for d in &declared.files {
        let e = expects.entry(d.path.clone()).or_default();
        if let (Some(a), Some(v)) = (d.algorithm, &d.checksum)
            && !e.digests.contains(&(a, v.clone()))
        {
            e.digests.push((a, v.clone()));
        }
        if d.size.is_some() {
            e.size = d.size;
        }
    }
}

/// The METS files of a SIP whose root is `base` ("" or "data/X"): the root METS.xml and every
/// `representations/<name>/METS.xml` in the listing.
fn mets_paths(listing: &Listing, base: &str) -> Vec<String> {
    let prefix = if base.is_empty() {
        String::new()
    } else {
        format!("{base}/")
    };
    let mut out = vec![format!("{prefix}METS.xml")];
    let reps = format!("{prefix}representations/");
    for path in listing.keys() {
        if let Some(rest) = path.strip_prefix(&reps)
            && let Some((rep, file)) = rest.split_once('/')
            && !rep.is_empty()
            && file == "METS.xml"
        {
            out.push(path.clone());
        }
    }
    out
}

fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

/// Read the METS files of a SIP (at `base` in the package) into expectations.
pub(super) fn sip_expectations(
    read: &mut dyn FnMut(&str) -> Result<Vec<u8>, String>,
    listing: &Listing,
    base: &str,
    expects: &mut Expectations,
    findings: &mut Vec<Finding>,
    exempt: &mut BTreeSet<String>,
) -> Option<String> {
    let mut objid = None;
    for (i, path) in mets_paths(listing, base).into_iter().enumerate() {
        match read(&path) {
            Ok(bytes) => {
                let m = mets::parse(&bytes, &path, parent_of(&path));
                if i == 0 {
                    objid.clone_from(&m.objid);
                    if m.files.is_empty() && m.findings.is_empty() {
                        findings.push(Finding {
                            property: None,
                            rule: "CSIP4".into(),
                            level: Level::Warning,
                            path: Some(path.clone()),
                            message: "declares no files".into(),
                            message_en: String::new(),
                        });
                    }
                }
                add_mets(expects, &m);
                findings.extend(m.findings);
                exempt.insert(path);
            }
            Err(e) => findings.push(error_finding("CSIP4", &path, format!("cannot read: {e}"))),
        }
    }
    objid
}

/// commons-ip (the E-ARK reference implementation) writes a space in an `xlink:href` as `+`, the
/// HTML-form convention; in a URL path (RFC 3986 §2.1) `+` is a plus sign. When the literal path
/// is not there but the path with spaces is, read it with spaces and say so once per package.
pub(super) fn reconcile_plus_for_space(
    expects: &mut Expectations,
    listing: &Listing,
    findings: &mut Vec<Finding>,
) {
    let candidates: Vec<String> = expects
        .keys()
        .filter(|p| p.contains('+') && !listing.contains_key(*p))
        .filter(|p| listing.contains_key(&p.replace('+', " ")))
        .cloned()
        .collect();
    let Some(first) = candidates.first() else {
        return;
    };
    findings.push(Finding {
        property: None,
        rule: "RFC 3986 §2.1".into(),
        level: Level::Warning,
        path: Some(first.clone()),
        message: format!(
            "{} METS href(s) write a space as '+' (HTML form encoding, as commons-ip does); read as spaces",
            candidates.len()
        ),
        message_en: String::new(),
    });
    for path in candidates {
        if let Some(e) = expects.remove(&path) {
            let slot = expects.entry(path.replace('+', " ")).or_default();
            for d in e.digests {
                if !slot.digests.contains(&d) {
                    slot.digests.push(d);
                }
            }
            if e.size.is_some() {
                slot.size = e.size;
            }
        }
    }
}

pub(super) fn read_listed(root: &Path, listing: &Listing, path: &str) -> Result<Vec<u8>, String> {
    match listing.get(path) {
        Some(Found::File {
            handle: Handle::Disk(seen),
            ..
        }) => {
            let mut f = File::open(root.join(path)).map_err(|e| e.to_string())?;
            let m = f.metadata().map_err(|e| e.to_string())?;
            let now = Seen::of(&m);
            #[cfg(unix)]
            if now.ino != seen.ino || now.dev != seen.dev {
                return Err("replaced while the package was being checked".into());
            }
            let _ = (now, seen);
            let mut b = Vec::new();
            f.read_to_end(&mut b).map_err(|e| e.to_string())?;
            Ok(b)
        }
        Some(Found::Symlink) => Err("a symbolic link; not followed".into()),
        Some(_) => Err("not a readable regular file".into()),
        None => Err("missing".into()),
    }
}

// ---------------------------------------------------------------------------------------------
// The three package shapes
// ---------------------------------------------------------------------------------------------

/// Check one package. Never fails: what cannot be read becomes findings and failures.
pub fn verify_package(
    p: &PackageRef,
    options: &VerifyOptions,
    clock: &dyn Clock,
    progress: &dyn Progress,
) -> PackageReport {
    let started = clock.now();
    let mut report = PackageReport {
        path: p.path.display().to_string(),
        kind: p.kind,
        ok: false,
        files: 0,
        bytes: 0,
        failures: Vec::new(),
        findings: Vec::new(),
        id: package_id(p),
        algorithms: Vec::new(),
        mode: options.mode,
        started: Some(started),
        finished: None,
    };
    match p.kind {
        PackageKind::Bag | PackageKind::BagSip => {
            bagit::verify_bag(&p.path, options, progress, &mut report)
        }
        PackageKind::Sip => verify_sip_dir(&p.path, options, progress, &mut report),
        PackageKind::SipZip => verify_sip_zip(&p.path, options, progress, &mut report),
    }
    report.ok =
        report.failures.is_empty() && !report.findings.iter().any(|f| f.level == Level::Error);
    report.finished = Some(clock.now());
    report
}

fn verify_sip_dir(
    root: &Path,
    options: &VerifyOptions,
    progress: &dyn Progress,
    report: &mut PackageReport,
) {
    let listing = list_dir(root);
    let mut expects = Expectations::new();
    let mut findings = Vec::new();
    let mut exempt = BTreeSet::new();
    let mut read = |p: &str| read_listed(root, &listing, p);
    sip_expectations(
        &mut read,
        &listing,
        "",
        &mut expects,
        &mut findings,
        &mut exempt,
    );
    reconcile_plus_for_space(&mut expects, &listing, &mut findings);
    finish_sip(
        &Source::Dir(root),
        &listing,
        &expects,
        &exempt,
        options,
        progress,
        findings,
        report,
    );
}

#[allow(clippy::too_many_arguments)]
fn finish_sip(
    source: &Source<'_>,
    listing: &Listing,
    expects: &Expectations,
    exempt: &BTreeSet<String>,
    options: &VerifyOptions,
    progress: &dyn Progress,
    mut findings: Vec<Finding>,
    report: &mut PackageReport,
) {
    let algorithms: BTreeSet<Algorithm> = expects
        .values()
        .flat_map(|e| e.digests.iter().map(|(a, _)| *a))
        .collect();
    let checked = check(
        source,
        listing,
        expects,
        &Scope {
            in_scope: &|_| true,
            exempt,
            unexpected_algorithm: Algorithm::Sha256,
        },
        options.mode,
        progress,
    );
    report.failures.extend(checked.failures);
    report.files = checked.files;
    report.bytes = checked.bytes;
    findings.append(&mut report.findings);
    report.findings = findings;
    report.algorithms = algorithms.into_iter().collect();
}

/// Largest METS file dangan reads into memory from a zip.
const METS_LIMIT: u64 = 1 << 30;

fn read_zip_entry(z: &mut zip::ZipArchive<File>, name: &str) -> Result<Vec<u8>, String> {
    let entry = z.by_name(name).map_err(|e| e.to_string())?;
    let mut b = Vec::new();
    entry
        .take(METS_LIMIT)
        .read_to_end(&mut b)
        .map_err(|e| e.to_string())?;
    Ok(b)
}

/// The folder inside a zip that holds the package: `` when METS.xml is at the top, else the one
/// top-level folder with a METS.xml (CSIPSTR1: one root folder). Also says how many candidates.
fn zip_prefix(z: &zip::ZipArchive<File>) -> (Option<String>, usize) {
    let mut roots: Vec<String> = Vec::new();
    for name in z.file_names().flatten() {
        if name == "METS.xml" {
            return (Some(String::new()), 1);
        }
        if let Some((dir, "METS.xml")) = name.split_once('/')
            && !dir.is_empty()
        {
            roots.push(format!("{dir}/"));
        }
    }
    roots.sort();
    roots.dedup();
    let n = roots.len();
    if n == 1 { (roots.pop(), 1) } else { (None, n) }
}

fn verify_sip_zip(
    path: &Path,
    options: &VerifyOptions,
    progress: &dyn Progress,
    report: &mut PackageReport,
) {
    let archive = File::open(path)
        .map_err(|e| e.to_string())
        .and_then(|f| zip::ZipArchive::new(f).map_err(|e| e.to_string()));
    let mut z = match archive {
        Ok(z) => z,
        Err(e) => {
            report.findings.push(error_finding(
                "ZIP (APPNOTE)",
                "",
                format!("cannot read the zip: {e}"),
            ));
            return;
        }
    };
    let (prefix, candidates) = zip_prefix(&z);
    let Some(prefix) = prefix else {
        report.findings.push(error_finding(
            "CSIPSTR4",
            "METS.xml",
            if candidates == 0 {
                "no METS.xml at the top of the zip or in a top-level folder".into()
            } else {
                format!("{candidates} top-level folders hold a METS.xml; expected one package")
            },
        ));
        return;
    };
    let mut listing = Listing::new();
    for i in 0..z.len() {
        let entry = match z.by_index_raw(i) {
            Ok(e) => e,
            Err(e) => {
                listing.insert(format!("#{i}"), Found::Unreadable(e.to_string()));
                continue;
            }
        };
        let name = match entry.name() {
            Ok(n) => n.into_owned(),
            Err(_) => {
                let raw = String::from_utf8_lossy(entry.name_raw()).into_owned();
                listing.insert(
                    raw,
                    Found::BadName("the entry name is not valid UTF-8".into()),
                );
                continue;
            }
        };
        if entry.is_dir() {
            continue;
        }
        // APPNOTE 4.4.17.1: no drive letter, no leading slash; and no `..` either.
        let rel = match safe_relative(&name) {
            Ok(r) => r,
            Err(why) => {
                report.findings.push(error_finding(
                    "ZIP APPNOTE 4.4.17.1",
                    &name,
                    format!("entry name refused: {why} (nothing is extracted)"),
                ));
                listing.insert(
                    name.clone(),
                    Found::BadName(format!("unsafe entry name: {why}")),
                );
                continue;
            }
        };
        let rel = match rel.strip_prefix(&prefix) {
            Some(r) if !prefix.is_empty() => r.to_string(),
            _ if prefix.is_empty() => rel,
            _ => {
                listing.insert(
                    rel,
                    Found::BadName(format!("outside the package folder {prefix}")),
                );
                continue;
            }
        };
        listing.insert(
            rel,
            Found::File {
                size: entry.size(),
                handle: Handle::Zip(i),
            },
        );
    }
    let mut expects = Expectations::new();
    let mut findings = Vec::new();
    let mut exempt = BTreeSet::new();
    let mut read = |p: &str| read_zip_entry(&mut z, &format!("{prefix}{p}"));
    sip_expectations(
        &mut read,
        &listing,
        "",
        &mut expects,
        &mut findings,
        &mut exempt,
    );
    reconcile_plus_for_space(&mut expects, &listing, &mut findings);
    finish_sip(
        &Source::Zip(path),
        &listing,
        &expects,
        &exempt,
        options,
        progress,
        findings,
        report,
    );
}

/// Discover and check every package under every path.
pub fn verify_paths(
    paths: &[PathBuf],
    options: &VerifyOptions,
    clock: &dyn Clock,
    progress: &dyn Progress,
) -> Result<VerifyReport, FixityError> {
    let mut refs = Vec::new();
    for p in paths {
        refs.extend(discover(p)?.packages);
    }
    Ok(VerifyReport::new(
        refs.iter()
            .map(|r| verify_package(r, options, clock, progress))
            .collect(),
    ))
}
