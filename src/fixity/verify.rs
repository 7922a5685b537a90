//! Verification of packages: BagIt bags (0.93–1.0), E-ARK SIP folders, SIP `.zip` files read in
//! place, bags that wrap a SIP, and folders holding many of these.
//!
//! Every package is checked the same way: what the package declares (manifests, METS) becomes a
//! set of expectations, what is really there becomes a listing (from the one package reader,
//! [`crate::sip`]: a walk that never follows symbolic links, or the zip's central directory under
//! the same limits `validate` applies), and the two are compared. Every changed, missing,
//! unexpected and unreadable file becomes a [`Failure`] with expected and actual values; problems
//! with the declarations themselves (a malformed manifest line, a refused path) become
//! [`Finding`]s naming the file and line.
//!
//! Discovery never passes silently over damage: a folder with `representations/` or `metadata/` but
//! no `METS.xml` is a damaged SIP, a folder with `data/` and a `manifest-*.txt` but no `bagit.txt`
//! is a damaged bag, and leftovers of interrupted runs (staging names, see
//! [`crate::fsutil::is_staging_name`]) are reported, never counted as packages.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::FixityError;
use super::bagit;
use super::digest::{Algorithm, Hashed, hash_reader_split, with_buffer};
use crate::fsutil::{is_staging_name, kind_of, read_regular};
use crate::model::{Finding, Level};
use crate::sip::mets::{Mets, MetsError, RefKind};
use crate::sip::source::ReadOptions;
use crate::sip::{self, DirSource, EntryKind, Limits, Package, Source as _};

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
    /// A DA/T 48-2009 EEP (`*.eep.xml`): its decoded contents and signatures (eep, issue 15).
    Eep,
}

impl PackageKind {
    pub fn name(self) -> &'static str {
        match self {
            PackageKind::Bag => "bag",
            PackageKind::BagSip => "bag-sip",
            PackageKind::Sip => "sip",
            PackageKind::SipZip => "sip-zip",
            PackageKind::Eep => "eep",
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

/// The result of a run: `{"ok": …, "packages": […], "findings": […]}`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub packages: Vec<PackageReport>,
    /// What was found beside the packages: leftovers of interrupted runs (warnings), FIFOs, sockets and
    /// devices where packages were searched (errors).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}

impl VerifyReport {
    pub fn new(packages: Vec<PackageReport>) -> Self {
        Self::with_findings(packages, Vec::new())
    }

    /// A report with findings about what was not a package; an error among them fails the run.
    pub fn with_findings(packages: Vec<PackageReport>, findings: Vec<Finding>) -> Self {
        VerifyReport {
            ok: packages.iter().all(|p| p.ok) && !findings.iter().any(|f| f.level == Level::Error),
            packages,
            findings,
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

/// Packages under one path, and what could not be searched or is not a package.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub packages: Vec<PackageRef>,
    /// Folders that could not be read while searching (path, error).
    pub problems: Vec<(PathBuf, String)>,
    /// Leftovers of interrupted runs (`.NAME.partial/`, `NAME.zip.partial`, `.NAME.dangan-<run>`):
    /// never packages.
    pub leftovers: Vec<PathBuf>,
    /// FIFOs, sockets and devices where a package could have been (path, kind): never opened.
    pub specials: Vec<(PathBuf, &'static str)>,
}

impl Discovery {
    /// Findings about what was found beside the packages: a leftover is a warning, a special file an error.
    pub fn findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        for p in &self.leftovers {
            out.push(Finding::new(
                "dangan staging",
                Level::Warning,
                Some(p.display().to_string()),
                "中断运行的残留 (暂存名称): 不是封装包, 未检查",
                "leftover of an interrupted run (a staging name): not a package, not checked",
            ));
        }
        for (p, kind) in &self.specials {
            out.push(Finding::new(
                "DA/T 70-2018 4.3",
                Level::Error,
                Some(p.display().to_string()),
                format!("不是普通文件 ({kind}): 未打开"),
                format!("not a regular file ({kind}): not opened"),
            ));
        }
        out
    }

    /// Whether nothing was found that can be checked or must fail the run: leftovers alone are not
    /// enough (nothing would be verified, so the run must not pass).
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty() && self.specials.is_empty()
    }
}

pub(super) fn is_regular(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
}

fn is_dir(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// Whether a folder holds a `manifest-*.txt` (a bag, even when its `bagit.txt` is gone).
fn has_manifest(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|rd| {
        rd.flatten().any(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with("manifest-") && n.ends_with(".txt"))
        })
    })
}

/// What kind of package a folder is, damaged ones included: a folder with `data/` and a manifest but
/// no `bagit.txt` is a damaged bag (RFC 8493 §2.1.1), one with `representations/` or `metadata/` but
/// no `METS.xml` a damaged SIP (CSIPSTR4) — each is checked and fails, never split into "packages".
fn package_dir_kind(dir: &Path) -> Option<PackageKind> {
    if fs::symlink_metadata(dir.join("bagit.txt")).is_ok() {
        Some(PackageKind::Bag)
    } else if fs::symlink_metadata(dir.join("METS.xml")).is_ok() {
        Some(PackageKind::Sip)
    } else if is_dir(&dir.join("data")) && has_manifest(dir) {
        Some(PackageKind::Bag)
    } else if is_dir(&dir.join("representations")) || is_dir(&dir.join("metadata")) {
        Some(PackageKind::Sip)
    } else {
        None
    }
}

// --- begin eep (issue 15)
fn is_eep_path(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(crate::eep::is_eep_name)
}

/// An EEP: each 编码数据 decoded against 计算机文件大小 and the recorded SHA-256, and the signatures.
fn verify_eep(path: &Path, report: &mut PackageReport) {
    let c = crate::eep::verify_file(path);
    for d in &c.encodings {
        let failure = |algorithm: &str, expected: Option<String>, actual: Option<String>| Failure {
            path: d.name.clone(),
            kind: FailureKind::Changed,
            algorithm: Some(algorithm.to_string()),
            expected,
            actual,
            detail: Some(format!("编码 {}", d.id)),
        };
        match d.size {
            None => report.failures.push(Failure {
                kind: FailureKind::Unreadable,
                detail: Some(format!(
                    "编码 {}: 编码数据 is not valid Base64 (RFC 2045)",
                    d.id
                )),
                ..failure("size", None, None)
            }),
            Some(n) if d.declared_size.is_some_and(|s| s != n) => report.failures.push(failure(
                "size",
                d.declared_size.map(|s| s.to_string()),
                Some(n.to_string()),
            )),
            _ => {}
        }
        if let (Some(want), Some(got)) = (&d.declared_sha256, &d.sha256)
            && want != got
        {
            report
                .failures
                .push(failure("sha256", Some(want.clone()), d.sha256.clone()));
        }
        report.bytes += d.size.unwrap_or(0);
    }
    report.files = c.encodings.len() as u64;
    // Size and digest mismatches are failures above; the rest (signatures, structure) are findings.
    report.findings.extend(c.findings.into_iter().filter(|f| {
        !(f.level == Level::Error
            && matches!(f.rule.as_str(), "DA/T 46-2009 M49" | "DA/T 70-2018 1.1"))
    }));
    report.algorithms = vec![Algorithm::Sha256];
}
// --- end eep

fn is_zip_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// A staging name that dangan writes (`….partial`, `.….dangan-<run>`), as opposed to any hidden name.
fn is_leftover_name(name: &std::ffi::OsStr) -> bool {
    let n = name.to_string_lossy();
    is_staging_name(name) && (n.ends_with(crate::fsutil::STAGING_SUFFIX) || n.contains(".dangan-"))
}

/// Find the packages at or under `path`: the path itself when it is a package, else every
/// package below it (searching does not enter packages and never follows symbolic links).
/// Staging names and dot-folders are never packages; FIFOs, sockets and devices are never opened.
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
    if let Some(name) = path.file_name()
        && is_leftover_name(name)
    {
        return Err(FixityError::NoPackage {
            path: path.to_path_buf(),
        });
    }
    if meta.is_file() {
        if is_zip_name(path) {
            d.packages.push(PackageRef {
                path: path.to_path_buf(),
                kind: PackageKind::SipZip,
            });
            return Ok(d);
        }
        if is_eep_path(path) {
            d.packages.push(PackageRef {
                path: path.to_path_buf(),
                kind: PackageKind::Eep,
            });
            return Ok(d);
        }
        return Err(FixityError::NoPackage {
            path: path.to_path_buf(),
        });
    }
    if !meta.is_dir() {
        d.specials.push((path.to_path_buf(), kind_of(&meta)));
        return Ok(d);
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
        let name = entry.file_name();
        if is_staging_name(name) {
            if is_leftover_name(name) {
                d.leftovers.push(entry.path().to_path_buf());
            }
            if ft.is_dir() {
                walk.skip_current_dir();
            }
            continue;
        }
        if ft.is_dir() {
            if let Some(kind) = package_dir_kind(entry.path()) {
                d.packages.push(PackageRef {
                    path: entry.path().to_path_buf(),
                    kind,
                });
                walk.skip_current_dir();
            }
        } else if ft.is_file() {
            if is_zip_name(entry.path()) {
                d.packages.push(PackageRef {
                    path: entry.path().to_path_buf(),
                    kind: PackageKind::SipZip,
                });
            } else if is_eep_path(entry.path()) {
                d.packages.push(PackageRef {
                    path: entry.path().to_path_buf(),
                    kind: PackageKind::Eep,
                });
            }
        } else if !ft.is_symlink()
            && let Ok(m) = entry.metadata()
        {
            d.specials.push((entry.path().to_path_buf(), kind_of(&m)));
        }
    }
    if d.is_empty() {
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

/// Largest tag or METS file read to find a package identifier.
const ID_READ_LIMIT: u64 = 64 << 20;

/// The identifier a package is known by in the ledger and for shards: `External-Identifier` of
/// a bag, else `mets/@OBJID` of a SIP (CSIP1), else the folder or file name.
pub fn package_id(p: &PackageRef) -> String {
    let read = |path: &Path| read_regular(path, ID_READ_LIMIT).ok();
    match p.kind {
        PackageKind::Bag | PackageKind::BagSip => bagit::bag_id(&p.path),
        PackageKind::Sip => read(&p.path.join("METS.xml"))
            .and_then(|b| sip::mets::objid(&b))
            .unwrap_or_else(|| dir_name(&p.path)),
        PackageKind::Eep => p
            .path
            .file_name()
            .map(|n| {
                n.to_string_lossy()
                    .trim_end_matches(crate::eep::SUFFIX)
                    .to_string()
            })
            .unwrap_or_default(),
        PackageKind::SipZip => Package::open(&p.path, &Limits::default())
            .ok()
            .and_then(|pkg| pkg.read("METS.xml").ok())
            .and_then(|b| sip::mets::objid(&b))
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

#[derive(Debug, Clone)]
pub(super) enum Found {
    /// A regular file, as the package reader listed it.
    File {
        size: u64,
        entry: sip::Entry,
    },
    Symlink,
    /// A FIFO, socket or device: never opened.
    Special(&'static str),
    /// A name that cannot be listed in a UTF-8 manifest, is unsafe, or an entry the reader refused
    /// (zip bomb limits, encryption); the text says why.
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

/// The reader's entries as a listing to check against.
fn listing_of(entries: impl IntoIterator<Item = sip::Entry>) -> Listing {
    let mut out = Listing::new();
    for e in entries {
        let found = match &e.kind {
            EntryKind::File => Found::File {
                size: e.size,
                entry: e.clone(),
            },
            EntryKind::Symlink => Found::Symlink,
            EntryKind::Special(k) => Found::Special(k),
            EntryKind::Unreadable(why) => Found::Unreadable(why.clone()),
            EntryKind::Encrypted | EntryKind::Refused { .. } | EntryKind::BadName { .. } => {
                Found::BadName(e.problem().map(|(_, en)| en).unwrap_or_default())
            }
        };
        out.insert(e.path, found);
    }
    out
}

/// A folder's listing, from the package reader.
pub(super) fn list_dir(root: &Path) -> Listing {
    match DirSource::new(root).list(&Limits::default()) {
        Ok(l) => listing_of(l.entries),
        Err(e) => Listing::from([(String::new(), Found::Unreadable(e.to_string()))]),
    }
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

/// A finding said in both languages.
fn finding2(
    rule: &str,
    level: Level,
    path: &str,
    zh: impl Into<String>,
    en: impl Into<String>,
) -> Finding {
    Finding::new(rule, level, Some(path.to_string()), zh, en)
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
    entry: sip::Entry,
    algorithms: Vec<Algorithm>,
    /// Check the zip entry's CRC-32 (when no digest is declared for it).
    crc: bool,
    /// Bytes read at most: one more than the smallest declared size, so that a longer file is seen
    /// to be longer without being read to its end (a zip entry may inflate without bound).
    cap: u64,
}

/// Where the files of a check are read: a folder, or an opened package (a zip, later object storage).
pub(super) enum Source<'a> {
    Dir(&'a Path),
    Pkg(&'a Package),
}

impl Source<'_> {
    fn hash_all(&self, jobs: &[Job], progress: &dyn Progress) -> Vec<Result<Hashed, String>> {
        let dir;
        let src: &dyn sip::Source = match self {
            Source::Dir(root) => {
                dir = DirSource::new(root);
                &dir
            }
            Source::Pkg(pkg) => pkg.src(),
        };
        // A folder's files largest first (longest-processing-time order): otherwise a large file met
        // last runs alone on one core while the other has nothing left. A package's entries keep
        // their order: a zip or an object is read best front to back.
        let in_folder = matches!(self, Source::Dir(_));
        let sizes: Vec<u64> = jobs
            .iter()
            .map(|j| {
                if in_folder {
                    j.entry.size.min(j.cap)
                } else {
                    0
                }
            })
            .collect();
        // A large file is split over two threads only when a core has nothing else to do: no file
        // left to start and fewer files running than threads (digest::hash_reader_split).
        let threads = rayon::current_num_threads();
        let not_started = AtomicUsize::new(jobs.len());
        let running = AtomicUsize::new(0);
        let spare_core = || {
            not_started.load(Ordering::Relaxed) == 0 && running.load(Ordering::Relaxed) < threads
        };
        let hash_one = |j: &Job| -> Result<Hashed, String> {
            not_started.fetch_sub(1, Ordering::Relaxed);
            running.fetch_add(1, Ordering::Relaxed);
            let mut out = None;
            let options = ReadOptions {
                cap: j.cap,
                check_crc: j.crc,
            };
            let read = src.read(&j.entry, options, &mut |r| {
                out = Some(with_buffer(|buf| {
                    hash_reader_split(r, &j.algorithms, buf, &spare_core)
                })?);
                Ok(())
            });
            running.fetch_sub(1, Ordering::Relaxed);
            read.map_err(|e| e.to_string())?;
            let h = out.ok_or_else(|| "internal: the entry was not read".to_string())?;
            progress.advance(1, h.size);
            Ok(h)
        };
        crate::par::largest_first(&sizes, |i| hash_one(&jobs[i]))
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
            Some(Found::File { size, entry }) => {
                files += 1;
                if mode == Mode::Full {
                    let declared = expect.size.map_or(*size, |s| s.min(*size));
                    jobs.push(Job {
                        path: path.clone(),
                        entry: entry.clone(),
                        algorithms: expect.algorithms(),
                        crc: expect.digests.is_empty(),
                        cap: declared.saturating_add(1),
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
            Some(found) => {
                let detail = match found {
                    Found::Symlink => {
                        "a symbolic link; links are never followed out of a package".into()
                    }
                    Found::Special(k) => format!("not a regular file ({k}); never opened"),
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
            Found::File { size, entry } => {
                files += 1;
                if mode == Mode::Full {
                    // Hashed too, so the report shows what the stray file is.
                    jobs.push(Job {
                        path: path.clone(),
                        entry: entry.clone(),
                        algorithms: vec![unexpected_algorithm],
                        crc: true,
                        cap: size.saturating_add(1),
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
            Found::Special(k) => failures.push(Failure {
                detail: Some(format!("not a regular file ({k}); never opened")),
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
        let planned: u64 = jobs.iter().map(|j| j.entry.size).sum();
        progress.planned(jobs.len() as u64, planned);
        // Largest files first, so a big file never starts last and runs alone on one core while the
        // others sit idle; results go back to path order afterwards.
        jobs.sort_by_key(|j| std::cmp::Reverse(j.entry.size));
        let results = source.hash_all(&jobs, progress);
        let mut done: Vec<(Job, Result<Hashed, String>)> = jobs.into_iter().zip(results).collect();
        done.sort_by(|a, b| a.0.path.cmp(&b.0.path));
        for (job, result) in done {
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
                (Some(expect), Ok(h)) if h.size >= job.cap => {
                    // Reading stopped one byte past the declared size: longer than declared, and not
                    // read further (a lying zip entry may inflate without end).
                    bytes += h.size;
                    let declared = job.cap - 1;
                    failures.push(Failure {
                        algorithm: Some("size".into()),
                        expected: Some(expect.size.unwrap_or(declared).to_string()),
                        actual: Some(format!("> {declared}")),
                        detail: Some(format!(
                            "more bytes than the declared size {declared}; reading stopped there"
                        )),
                        ..failure(&job.path, FailureKind::Changed)
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

// ---------------------------------------------------------------------------------------------
// What the METS files declare
// ---------------------------------------------------------------------------------------------

/// Read a listed file of a folder whole (a tag or METS file), through the package reader.
pub(super) fn read_listed(root: &Path, listing: &Listing, path: &str) -> Result<Vec<u8>, String> {
    match listing.get(path) {
        Some(Found::File { entry, .. }) => {
            let limit = Limits::default().max_xml_bytes;
            if entry.size > limit {
                return Err(format!(
                    "{} bytes, more than the limit of {limit} for a metadata file",
                    entry.size
                ));
            }
            let mut out = Vec::new();
            DirSource::new(root)
                .read(entry, ReadOptions::capped(limit), &mut |r| {
                    r.read_to_end(&mut out).map(|_| ())
                })
                .map_err(|e| e.to_string())?;
            Ok(out)
        }
        Some(Found::Symlink) => Err("a symbolic link; not followed".into()),
        Some(Found::Special(k)) => Err(format!("not a regular file ({k}); never opened")),
        Some(_) => Err("not a readable regular file".into()),
        None => Err("missing".into()),
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

const METS_RULE: &str = "METS fileSec";

/// Add what one METS model declares to the expectations; problems with the declarations are findings
/// that name the METS file and line.
fn add_mets(m: &Mets, expects: &mut Expectations, findings: &mut Vec<Finding>) {
    let at = |line: usize, zh: String, en: String, level: Level| {
        finding2(
            METS_RULE,
            level,
            &m.path,
            format!("第 {line} 行: {zh}"),
            format!("line {line}: {en}"),
        )
    };
    for u in &m.unlocated {
        findings.push(at(
            u.line,
            "mets:file 没有 mets:FLocat".into(),
            "mets:file has no mets:FLocat".into(),
            Level::Error,
        ));
    }
    for r in &m.refs {
        if r.kind == RefKind::Mptr {
            continue;
        }
        let path = match (&r.href, &r.path) {
            (None, _) => {
                findings.push(at(
                    r.line,
                    "没有 xlink:href".into(),
                    "no xlink:href".into(),
                    Level::Error,
                ));
                continue;
            }
            (Some(_), Err(why)) => {
                findings.push(at(
                    r.line,
                    format!("href 被拒绝: {}", why.zh()),
                    format!("href refused: {why}"),
                    Level::Error,
                ));
                continue;
            }
            (Some(_), Ok(p)) => p.clone(),
        };
        let size = match r.size() {
            None => None,
            Some(Ok(n)) => Some(n),
            Some(Err(s)) => {
                findings.push(at(
                    r.line,
                    format!("{path} 的 SIZE '{s}' 不是数字"),
                    format!("SIZE '{s}' of {path} is not a number"),
                    Level::Error,
                ));
                None
            }
        };
        let digest = match (r.checksum_type.as_deref(), r.checksum.as_deref()) {
            (None, None) => None,
            (Some(t), Some(c)) => match Algorithm::from_name(t) {
                Some(alg) => {
                    let c = c.trim().to_ascii_lowercase();
                    if c.len() == alg.hex_len() && c.bytes().all(|b| b.is_ascii_hexdigit()) {
                        Some((alg, c))
                    } else {
                        findings.push(at(
                            r.line,
                            format!(
                                "{path} 的 CHECKSUM 不是 {t} 值 ({} 位十六进制数字)",
                                alg.hex_len()
                            ),
                            format!(
                                "CHECKSUM of {path} is not a {t} value ({} hexadecimal digits)",
                                alg.hex_len()
                            ),
                            Level::Error,
                        ));
                        None
                    }
                }
                None => {
                    findings.push(at(
                        r.line,
                        format!("{path} 的 CHECKSUMTYPE '{t}' 不受支持; 只核对其大小"),
                        format!(
                            "CHECKSUMTYPE '{t}' of {path} is not supported; only its size is checked"
                        ),
                        Level::Warning,
                    ));
                    None
                }
            },
            (None, Some(_)) => {
                findings.push(at(
                    r.line,
                    format!("{path} 有 CHECKSUM 但没有 CHECKSUMTYPE"),
                    format!("{path} has a CHECKSUM but no CHECKSUMTYPE"),
                    Level::Error,
                ));
                None
            }
            (Some(_), None) => {
                findings.push(at(
                    r.line,
                    format!("{path} 有 CHECKSUMTYPE 但没有 CHECKSUM"),
                    format!("{path} has a CHECKSUMTYPE but no CHECKSUM"),
                    Level::Error,
                ));
                None
            }
        };
        let e = expects.entry(path).or_default();
        if let Some(d) = digest
            && !e.digests.contains(&d)
        {
            e.digests.push(d);
        }
        if size.is_some() {
            e.size = size;
        }
    }
}

/// Read the METS files of a SIP (at `base` in the package) into expectations, through the one METS
/// model. A SIP without its root METS.xml is a damaged package (CSIPSTR4), never several packages.
pub(super) fn sip_expectations(
    read: &mut dyn FnMut(&str) -> Result<Vec<u8>, String>,
    listing: &Listing,
    base: &str,
    expects: &mut Expectations,
    findings: &mut Vec<Finding>,
    exempt: &mut BTreeSet<String>,
) -> Option<String> {
    let mut objid = None;
    let limits = Limits::default();
    for (i, path) in mets_paths(listing, base).into_iter().enumerate() {
        if i == 0 && !listing.contains_key(&path) {
            findings.push(finding2(
                "CSIPSTR4",
                Level::Error,
                &path,
                "封装包根目录下没有 METS.xml: 封装包已损坏, 其文件无从核对",
                "no METS.xml at the package root: the package is damaged and its files cannot be checked against it",
            ));
            continue;
        }
        let bytes = match read(&path) {
            Ok(b) => b,
            Err(e) => {
                findings.push(finding2(
                    "CSIPSTR4",
                    Level::Error,
                    &path,
                    format!("无法读取: {e}"),
                    format!("cannot read: {e}"),
                ));
                continue;
            }
        };
        exempt.insert(path.clone());
        let m = match Mets::parse(&bytes, &path, &limits) {
            Ok(m) => m,
            Err(e) => {
                let (zh, en) = match &e {
                    MetsError::Xml { .. } => (
                        format!("{} (XML 格式不正确或不安全)", e.zh()),
                        e.to_string().replacen(": ", ": not well-formed XML: ", 1),
                    ),
                    _ => (e.zh(), e.to_string()),
                };
                findings.push(finding2(METS_RULE, Level::Error, &path, zh, en));
                continue;
            }
        };
        if i == 0 {
            objid.clone_from(&m.objid);
            if m.refs.iter().all(|r| r.kind == RefKind::Mptr) && m.unlocated.is_empty() {
                findings.push(finding2(
                    "CSIP4",
                    Level::Warning,
                    &path,
                    "没有声明任何文件",
                    "declares no files",
                ));
            }
        }
        add_mets(&m, expects, findings);
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
    findings.push(finding2(
        "RFC 3986 §2.1",
        Level::Warning,
        first,
        format!(
            "{} 个 METS href 把空格写成 '+' (HTML 表单编码, commons-ip 即如此); 按空格读取",
            candidates.len()
        ),
        format!(
            "{} METS href(s) write a space as '+' (HTML form encoding, as commons-ip does); read as spaces",
            candidates.len()
        ),
    ));
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

// ---------------------------------------------------------------------------------------------
// The package shapes
// ---------------------------------------------------------------------------------------------

/// Tag files of a bag that must be regular files before the bag reader opens them.
fn special_tag_files(root: &Path) -> Vec<(String, &'static str)> {
    let Ok(rd) = fs::read_dir(root) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let tag = name == "bagit.txt"
            || name == "bag-info.txt"
            || name == "fetch.txt"
            || (name.ends_with(".txt")
                && (name.starts_with("manifest-") || name.starts_with("tagmanifest-")));
        if tag
            && let Ok(m) = fs::symlink_metadata(e.path())
            && !m.is_file()
        {
            out.push((name, kind_of(&m)));
        }
    }
    out.sort();
    out
}

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
            // The bag reader opens its tag files by name: a FIFO or device there is refused first.
            let specials = special_tag_files(&p.path);
            if specials.is_empty() {
                bagit::verify_bag(&p.path, options, progress, &mut report)
            } else {
                for (name, kind) in specials {
                    report.findings.push(finding2(
                        "RFC 8493 §2",
                        Level::Error,
                        &name,
                        format!("标签文件不是普通文件 ({kind}): 未打开"),
                        format!("tag file is not a regular file ({kind}): not opened"),
                    ));
                }
            }
        }
        PackageKind::Sip | PackageKind::SipZip => {
            verify_sip(&p.path, options, progress, &mut report)
        }
        PackageKind::Eep => verify_eep(&p.path, &mut report), // eep (issue 15)
    }
    report.ok =
        report.failures.is_empty() && !report.findings.iter().any(|f| f.level == Level::Error);
    report.finished = Some(clock.now());
    report
}

/// The one spelling of a package path in the ledger: canonical (links, `.` and `..` resolved) while it exists,
/// else absolute, so that `verify ./archive` and `verify /abs/archive` record the same path and find the same
/// packages gone.
pub fn ledger_path(path: &Path) -> PathBuf {
    // An object-storage URL (`s3://bucket/key`) is already one spelling: never made a local path.
    if path.to_str().is_some_and(|s| s.contains("://")) {
        return path.to_path_buf();
    }
    path.canonicalize()
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// The report of a package the ledger knows but that is no longer there (or no longer a package): a
/// failed check, so that neither this run nor `ledger report` can show it as good.
pub fn vanished_report(
    id: &str,
    path: &str,
    kind: PackageKind,
    mode: Mode,
    gone: bool,
    clock: &dyn Clock,
) -> PackageReport {
    let now = clock.now();
    let (zh, en) = if gone {
        (
            "上次检查时登记在台账中, 现已不存在",
            "recorded in the ledger at its last check, now missing",
        )
    } else {
        (
            "上次检查时登记在台账中, 现已不再是封装包",
            "recorded in the ledger at its last check, no longer a package",
        )
    };
    PackageReport {
        path: path.to_string(),
        kind,
        ok: false,
        files: 0,
        bytes: 0,
        failures: Vec::new(),
        findings: vec![finding2("dangan ledger", Level::Error, "", zh, en)],
        id: id.to_string(),
        algorithms: Vec::new(),
        mode,
        started: Some(now),
        finished: Some(now),
    }
}

/// A SIP folder or a SIP `.zip`, read through the package reader.
fn verify_sip(
    path: &Path,
    options: &VerifyOptions,
    progress: &dyn Progress,
    report: &mut PackageReport,
) {
    match Package::open(path, &Limits::default()) {
        Ok(pkg) => verify_sip_package(&pkg, options, progress, report),
        Err(e) => report.findings.extend(e_findings(&e)),
    }
}

/// Check a SIP opened from any [`crate::sip::Source`] (a folder, a zip, object storage) into `report`.
pub fn verify_sip_package(
    pkg: &Package,
    options: &VerifyOptions,
    progress: &dyn Progress,
    report: &mut PackageReport,
) {
    let mut findings: Vec<Finding> = pkg.findings.clone();
    let listing = listing_of(pkg.entries.values().cloned());
    let mut expects = Expectations::new();
    let mut exempt = BTreeSet::new();
    let mut read = |p: &str| pkg.read(p).map_err(|e| e.to_string());
    sip_expectations(
        &mut read,
        &listing,
        "",
        &mut expects,
        &mut findings,
        &mut exempt,
    );
    reconcile_plus_for_space(&mut expects, &listing, &mut findings);
    let algorithms: BTreeSet<Algorithm> = expects
        .values()
        .flat_map(|e| e.digests.iter().map(|(a, _)| *a))
        .collect();
    let checked = check(
        &Source::Pkg(pkg),
        &listing,
        &expects,
        &Scope {
            in_scope: &|_| true,
            exempt: &exempt,
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

/// Check one SIP opened from any [`crate::sip::Source`] (object storage) into a package report: the id
/// is `mets/@OBJID` (CSIP1), else `fallback_id`; a package that cannot be opened is a failed report.
pub fn verify_opened_sip(
    opened: Result<Package, sip::SipError>,
    path: String,
    kind: PackageKind,
    fallback_id: String,
    options: &VerifyOptions,
    clock: &dyn Clock,
    progress: &dyn Progress,
) -> PackageReport {
    let started = clock.now();
    let mut report = PackageReport {
        path,
        kind,
        ok: false,
        files: 0,
        bytes: 0,
        failures: Vec::new(),
        findings: Vec::new(),
        id: fallback_id,
        algorithms: Vec::new(),
        mode: options.mode,
        started: Some(started),
        finished: None,
    };
    match opened {
        Ok(pkg) => {
            if let Some(id) = pkg.read("METS.xml").ok().and_then(|b| sip::mets::objid(&b)) {
                report.id = id;
            }
            verify_sip_package(&pkg, options, progress, &mut report);
        }
        Err(e) => report.findings.extend(e_findings(&e)),
    }
    report.ok =
        report.failures.is_empty() && !report.findings.iter().any(|f| f.level == Level::Error);
    report.finished = Some(clock.now());
    report
}

/// Why a package could not be opened, as findings.
fn e_findings(e: &sip::SipError) -> Vec<Finding> {
    let (rule, zh, en) = match e {
        sip::SipError::Limits(what) => (
            "DA/T 70-2018 4.3",
            format!("超出安全上限 ({what}): 未读取 (疑似 zip 炸弹)"),
            e.to_string(),
        ),
        sip::SipError::Open { message, .. } => (
            "DA/T 70-2018 4.3",
            format!("无法打开: {message}"),
            e.to_string(),
        ),
        _ => (
            "ZIP (APPNOTE)",
            format!("无法读取该封装包: {e}"),
            format!("cannot read the package: {e}"),
        ),
    };
    vec![finding2(rule, Level::Error, "", zh, en)]
}

/// Discover and check every package under every path.
pub fn verify_paths(
    paths: &[PathBuf],
    options: &VerifyOptions,
    clock: &dyn Clock,
    progress: &dyn Progress,
) -> Result<VerifyReport, FixityError> {
    let mut refs = Vec::new();
    let mut findings = Vec::new();
    for p in paths {
        let d = discover(p)?;
        findings.extend(d.findings());
        refs.extend(d.packages);
    }
    Ok(VerifyReport::with_findings(
        refs.iter()
            .map(|r| verify_package(r, options, clock, progress))
            .collect(),
        findings,
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::Read;

    use super::*;
    use crate::sip::{Entry, Listing as SourceListing, ReadOptions, Source as SipSource};

    /// A third kind of source (think object storage), in memory: verify reads it without knowing what it is.
    struct Memory(BTreeMap<String, Vec<u8>>);

    impl SipSource for Memory {
        fn location(&self) -> String {
            "memory://sip-1".into()
        }
        fn is_archive(&self) -> bool {
            false
        }
        fn list(&self, _: &Limits) -> Result<SourceListing, sip::SipError> {
            Ok(SourceListing {
                entries: self
                    .0
                    .iter()
                    .map(|(p, b)| Entry::new(p.clone(), b.len() as u64, EntryKind::File))
                    .collect(),
                findings: Vec::new(),
            })
        }
        fn read(
            &self,
            entry: &Entry,
            options: ReadOptions,
            f: &mut dyn FnMut(&mut dyn Read) -> io::Result<()>,
        ) -> io::Result<()> {
            let bytes = self.0.get(&entry.path).ok_or(io::ErrorKind::NotFound)?;
            f(&mut (&bytes[..]).take(options.cap))
        }
    }

    #[test]
    fn a_sip_from_any_source_is_verified() {
        // SHA-256 of "abc".
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let mets = format!(
            r#"<mets xmlns="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink" OBJID="sip-1"><fileSec><fileGrp><file ID="f" SIZE="3" CHECKSUMTYPE="SHA-256" CHECKSUM="{abc}"><FLocat xlink:href="data/a.txt"/></file></fileGrp></fileSec></mets>"#
        );
        let report_for = |content: &[u8]| {
            let files = BTreeMap::from([
                ("METS.xml".to_string(), mets.clone().into_bytes()),
                ("data/a.txt".to_string(), content.to_vec()),
            ]);
            let pkg = Package::from_source(Box::new(Memory(files)), &Limits::default()).unwrap();
            let mut report = PackageReport {
                path: pkg.source.display().to_string(),
                kind: PackageKind::Sip,
                ok: false,
                files: 0,
                bytes: 0,
                failures: Vec::new(),
                findings: Vec::new(),
                id: "sip-1".into(),
                algorithms: Vec::new(),
                mode: Mode::Full,
                started: None,
                finished: None,
            };
            verify_sip_package(&pkg, &VerifyOptions::default(), &NoProgress, &mut report);
            report
        };
        let good = report_for(b"abc");
        assert!(good.failures.is_empty() && good.files == 1, "{good:?}");
        let bad = report_for(b"abd");
        assert_eq!(bad.failures.len(), 1, "{bad:?}");
        assert_eq!(bad.failures[0].kind, FailureKind::Changed);
        assert_eq!(bad.failures[0].path, "data/a.txt");
    }
}
