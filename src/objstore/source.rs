//! Packages in a bucket as [`crate::sip::Source`]s, and finding them under a prefix.
//!
//! Discovery follows the rules for folders on disk (`fixity::verify::discover`): a key prefix holding
//! `bagit.txt`, or `data/` and a `manifest-*.txt`, is a bag; one holding `METS.xml`, or `representations/`
//! or `metadata/`, is a SIP (a damaged one when `METS.xml` is missing — checked and failed, never split);
//! a `.zip` object is a SIP zip, a `.eep.xml` object an EEP. Staging names (a component starting with `.`
//! or ending in `.partial`) are never packages, and a package whose publication marker ([`super::publish::marker_key`]) is still
//! there is an interrupted upload: reported as a leftover, never counted.

use std::collections::{BTreeSet, VecDeque};
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::client::{Client, ObjectInfo, S3Error};
use super::prefetch::Prefetch;
use super::{S3Url, publish};
use crate::fixity::PackageKind;
use crate::model::{Finding, Level};
use crate::sip::path::safe_relative;
use crate::sip::{
    Entry, EntryKind, Limits, Listing, Package, ReadAt, ReadOptions, SipError, Source, ZipSource,
};

/// Bytes fetched for a read that does not continue an earlier one (a local header, the end of the zip):
/// small, so a jump costs little, and large enough that a header and a small entry after it, or the end
/// record and a small central directory, come in one request.
const WINDOW: usize = 64 << 10;
/// Small windows kept per object (a zip's headers are read while listing, then again when reading).
const WINDOWS: usize = 32;
/// A read continuing an earlier one (or asking this much at once) with at least [`STREAM_MIN`] bytes to
/// go before the next structure of the zip streams the rest with one ranged GET ([`Prefetch`]).
const STREAM_MIN: u64 = 256 << 10;
/// Streams kept between reads. Each reader thread puts its stream back after every read, so this is
/// above the number of workers (8 for `s3://`) — evicting a stream in use would start its GET again — and
/// bounds the streams left behind by readers that stopped early (at a declared size): each holds at
/// most `DEPTH + 1` chunks until it is dropped with the package.
const IDLE_STREAMS: usize = 16;

/// One object as positional bytes, for the zip reader. An entry read from its start to its end is one
/// ranged GET streamed by a fetch thread ([`Prefetch`]: fetching overlaps hashing, and the server reads
/// each of its blocks once); other reads (headers, the central directory) fetch a small window that
/// later reads of the same bytes reuse. Every GET is `If-Match` the ETag seen when listing, so an object
/// replaced midway is an error, not a mix of two objects.
pub struct ObjectAt {
    client: Client,
    key: String,
    len: u64,
    etag: String,
    /// The zip's structure once its central directory is read: streams stop at entry boundaries.
    bounds: std::sync::OnceLock<Vec<u64>>,
    state: Mutex<AtState>,
}

#[derive(Default)]
struct AtState {
    /// Streams between reads, by the position they continue from.
    streams: VecDeque<Prefetch>,
    /// Small windows: where each starts and its bytes, most recent last.
    windows: VecDeque<(u64, Arc<Vec<u8>>)>,
    /// Where recent reads ended: a read starting there continues one.
    ends: VecDeque<u64>,
}

impl AtState {
    fn ended(&mut self, at: u64) {
        if self.ends.len() >= 64 {
            self.ends.pop_front();
        }
        self.ends.push_back(at);
    }
}

impl ObjectAt {
    pub fn new(client: &Client, object: &ObjectInfo) -> ObjectAt {
        ObjectAt {
            client: client.clone(),
            key: object.key.clone(),
            len: object.size,
            etag: object.etag.clone(),
            bounds: std::sync::OnceLock::new(),
            state: Mutex::new(AtState::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, AtState> {
        // A panic elsewhere while holding the lock leaves only caches behind: keep using them.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Read from a stream, and keep it for the next read unless it is done.
    fn read_stream(&self, mut s: Prefetch, buf: &mut [u8]) -> io::Result<usize> {
        let n = s.read(buf)?;
        let mut st = self.state();
        st.ended(s.position());
        if s.position() < s.end() {
            if st.streams.len() >= IDLE_STREAMS {
                st.streams.pop_front(); // its fetch thread stops
            }
            st.streams.push_back(s);
        }
        Ok(n)
    }
}

impl ReadAt for ObjectAt {
    fn read_at(&self, buf: &mut [u8], pos: u64) -> io::Result<usize> {
        if pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let sequential = {
            let mut st = self.state();
            if let Some(i) = st.streams.iter().position(|s| s.position() == pos) {
                let s = st.streams.remove(i);
                drop(st);
                if let Some(s) = s {
                    return self.read_stream(s, buf);
                }
                false
            } else if let Some(w) = st
                .windows
                .iter()
                .rev()
                .find(|(at, w)| *at <= pos && pos < at + w.len() as u64)
                .map(|(at, w)| (*at, w.clone()))
            {
                let off = (pos - w.0) as usize;
                let n = buf.len().min(w.1.len() - off);
                buf[..n].copy_from_slice(&w.1[off..off + n]);
                st.ended(pos + n as u64);
                return Ok(n);
            } else {
                st.ends.contains(&pos)
            }
        };
        let stop = self.boundary_after(pos).min(self.len);
        if (sequential || buf.len() as u64 >= STREAM_MIN) && stop.saturating_sub(pos) >= STREAM_MIN
        {
            let s = Prefetch::start(&self.client, &self.key, pos, stop, &self.etag);
            return self.read_stream(s, buf);
        }
        let end = (pos + buf.len().max(WINDOW) as u64).min(self.len);
        let mut w = vec![0u8; (end - pos) as usize];
        self.client
            .reader(&self.key, pos, end, &self.etag)
            .read_exact(&mut w)?;
        let n = buf.len().min(w.len());
        buf[..n].copy_from_slice(&w[..n]);
        let mut st = self.state();
        if st.windows.len() >= WINDOWS {
            st.windows.pop_front();
        }
        st.windows.push_back((pos, Arc::new(w)));
        st.ended(pos + n as u64);
        Ok(n)
    }
}

impl ObjectAt {
    /// Where the zip structure that `pos` is in ends (the next entry's header, the central directory): a
    /// streamed GET stops there instead of fetching bytes no one reads.
    fn boundary_after(&self, pos: u64) -> u64 {
        self.bounds
            .get()
            .and_then(|b| b.iter().find(|&&x| x > pos).copied())
            .unwrap_or(u64::MAX)
    }
}

/// A SIP "folder" as a key prefix: its entries are the objects under `base/`.
pub struct PrefixSource {
    client: Client,
    /// `prefix/NAME` (no trailing `/`).
    base: String,
    objects: Vec<ObjectInfo>,
}

impl PrefixSource {
    /// `objects` are those under `base/` (as listed during discovery, so nothing is listed twice).
    pub fn new(client: &Client, base: &str, objects: Vec<ObjectInfo>) -> PrefixSource {
        PrefixSource {
            client: client.clone(),
            base: base.trim_end_matches('/').to_string(),
            objects,
        }
    }
}

impl Source for PrefixSource {
    fn location(&self) -> String {
        format!("s3://{}/{}", self.client.bucket, self.base)
    }

    fn is_archive(&self) -> bool {
        false
    }

    fn list(&self, limits: &Limits) -> Result<Listing, SipError> {
        let mut out = Listing::default();
        let head = format!("{}/", self.base);
        for (i, o) in self.objects.iter().enumerate() {
            let Some(rel) = o.key.strip_prefix(&head) else {
                continue;
            };
            // A zero-byte key ending in '/' is a "folder" some tools create: not a file.
            if rel.is_empty() || (rel.ends_with('/') && o.size == 0) {
                continue;
            }
            let mut entry = match safe_relative(rel) {
                Ok(p) if p == rel => Entry::new(p, o.size, EntryKind::File),
                Ok(_) | Err(_) => {
                    let why = safe_relative(rel)
                        .err()
                        .map(|e| (e.zh(), e.to_string()))
                        .unwrap_or_else(|| {
                            (
                                "不是规范的相对路径".into(),
                                "not a canonical relative path".into(),
                            )
                        });
                    out.findings.push(Finding::new(
                        "DA/T 70-2018 4.3",
                        Level::Error,
                        Some(rel.to_string()),
                        format!("对象键名被拒绝: {}: 未读取", why.0),
                        format!("object key refused: {}: not read", why.1),
                    ));
                    continue;
                }
            };
            entry.index = i;
            out.entries.push(entry);
            if out.entries.len() > limits.max_entries {
                return Err(SipError::Limits(format!(
                    "more than {} objects",
                    limits.max_entries
                )));
            }
        }
        Ok(out)
    }

    fn read(
        &self,
        entry: &Entry,
        options: ReadOptions,
        f: &mut dyn FnMut(&mut dyn Read) -> io::Result<()>,
    ) -> io::Result<()> {
        let o = self
            .objects
            .get(entry.index)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "not listed"))?;
        let end = options.cap.min(o.size);
        let mut r = Prefetch::start(&self.client, &o.key, 0, end, &o.etag);
        f(&mut r)
    }
}

/// A package found in a bucket.
#[derive(Debug, Clone)]
pub struct FoundPackage {
    /// The package's key (a `.zip` object) or key prefix (a folder), without a trailing `/`.
    pub key: String,
    pub kind: PackageKind,
    /// The zip object, or every object under the folder prefix.
    pub objects: Vec<ObjectInfo>,
}

impl FoundPackage {
    pub fn bytes(&self) -> u64 {
        self.objects.iter().map(|o| o.size).sum()
    }
}

/// Packages under a prefix, and the leftovers of interrupted uploads beside them.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub packages: Vec<FoundPackage>,
    /// Keys of staging objects and publication markers, and packages still being published.
    pub leftovers: Vec<String>,
}

impl Discovery {
    pub fn findings(&self, bucket: &str) -> Vec<Finding> {
        self.leftovers
            .iter()
            .map(|k| {
                Finding::new(
                    "dangan staging",
                    Level::Warning,
                    Some(format!("s3://{bucket}/{k}")),
                    "中断上传的残留 (暂存名称或发布标记): 不是封装包, 未检查",
                    "leftover of an interrupted upload (a staging name or a publication marker): not a package, not checked",
                )
            })
            .collect()
    }
}

/// Whether a key names an EEP (`*.eep.xml`, DA/T 48-2009): one object is one package.
fn is_eep_key(k: &str) -> bool {
    k.rsplit('/').next().is_some_and(crate::eep::is_eep_name)
}

fn is_zip_key(k: &str) -> bool {
    k.rsplit('/')
        .next()
        .is_some_and(|n| n.len() > 4 && n[n.len() - 4..].eq_ignore_ascii_case(".zip"))
}

/// What kind of package the folder `dir` (a key prefix, no trailing `/`) is, by the disk rules.
fn dir_kind(keys: &BTreeSet<&str>, dir: &str) -> Option<PackageKind> {
    let has = |k: &str| keys.contains(format!("{dir}/{k}").as_str());
    let has_prefix = |p: &str| {
        let p = format!("{dir}/{p}");
        keys.range(p.as_str()..)
            .next()
            .is_some_and(|k| k.starts_with(&p))
    };
    if has("bagit.txt") {
        Some(PackageKind::Bag)
    } else if has("METS.xml") {
        Some(PackageKind::Sip)
    } else if has_prefix("data/") && has_prefix("manifest-") {
        Some(PackageKind::Bag)
    } else if has_prefix("representations/") || has_prefix("metadata/") {
        Some(PackageKind::Sip)
    } else {
        None
    }
}

/// Find the packages at or under `url`.
pub fn discover(client: &Client, url: &S3Url) -> Result<Discovery, S3Error> {
    let mut d = discover_under(client, url)?;
    // The URL itself may be held back by a publication marker beside it (`p/.X.dangan-publishing` for
    // `p/X` or `p/X.zip`), which a listing under `p/X/` does not see: an interrupted upload is never a
    // package, however many of its objects arrived.
    if !url.prefix.is_empty() {
        let (parent, name) = match url.prefix.rsplit_once('/') {
            Some((p, n)) => (p, n),
            None => ("", url.prefix.as_str()),
        };
        let marker = publish::marker_key(parent, name);
        if client.head(&marker)?.is_some() {
            d.packages.retain(|p| p.key != url.prefix);
            d.leftovers.push(marker);
        }
    }
    Ok(d)
}

fn discover_under(client: &Client, url: &S3Url) -> Result<Discovery, S3Error> {
    let mut d = Discovery::default();
    // The URL may name one zip object, or one EEP.
    let single = if is_zip_key(&url.prefix) {
        Some(PackageKind::SipZip)
    } else if is_eep_key(&url.prefix) {
        Some(PackageKind::Eep)
    } else {
        None
    };
    if let Some(kind) = single
        && let Some(o) = client.head(&url.prefix)?
    {
        d.packages.push(FoundPackage {
            key: url.prefix.clone(),
            kind,
            objects: vec![ObjectInfo {
                key: url.prefix.clone(),
                ..o
            }],
        });
        return Ok(d);
    }
    let list_prefix = if url.prefix.is_empty() {
        String::new()
    } else {
        format!("{}/", url.prefix)
    };
    let objects = client.list(&list_prefix)?;
    Ok(classify(&url.prefix, objects))
}

/// Group listed objects (all under `root/`) into packages.
pub fn classify(root: &str, objects: Vec<ObjectInfo>) -> Discovery {
    let mut d = Discovery::default();
    let keys: BTreeSet<&str> = objects.iter().map(|o| o.key.as_str()).collect();
    let rel = |k: &str| -> String {
        if root.is_empty() {
            k.to_string()
        } else {
            k.strip_prefix(root)
                .and_then(|r| r.strip_prefix('/'))
                .unwrap_or(k)
                .to_string()
        }
    };
    // Publication markers: `<dir>/.<name>.dangan-publishing` holds back `<dir>/<name>` and `<name>.zip`.
    let mut held: BTreeSet<String> = BTreeSet::new();
    for k in &keys {
        if let Some(target) = publish::marker_target(k) {
            held.insert(target.clone());
            held.insert(format!("{target}.zip"));
        }
    }
    // Every folder (key prefix) below the root, parents before children.
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    if !root.is_empty() {
        dirs.insert(root.to_string());
    }
    for k in &keys {
        let mut end = 0;
        while let Some(j) = k[end..].find('/') {
            let dir = &k[..end + j];
            if dir.len() > root.len() || root.is_empty() {
                dirs.insert(dir.to_string());
            }
            end += j + 1;
        }
    }
    let staged = |path: &str| {
        rel(path)
            .split('/')
            .any(|c| c.starts_with('.') || c.ends_with(crate::fsutil::STAGING_SUFFIX))
    };
    let mut taken: Vec<String> = Vec::new();
    let under = |taken: &[String], k: &str| taken.iter().any(|t| k.starts_with(&format!("{t}/")));
    for dir in &dirs {
        if under(&taken, dir) || staged(dir) {
            continue;
        }
        if let Some(kind) = dir_kind(&keys, dir) {
            taken.push(dir.clone());
            if held.contains(dir) {
                d.leftovers.push(dir.clone());
                continue;
            }
            let head = format!("{dir}/");
            d.packages.push(FoundPackage {
                key: dir.clone(),
                kind,
                objects: objects
                    .iter()
                    .filter(|o| o.key.starts_with(&head))
                    .cloned()
                    .collect(),
            });
        }
    }
    for o in &objects {
        if under(&taken, &o.key) {
            continue;
        }
        if staged(&o.key) {
            // Report the outermost staging name once (a staged folder, not each object in it).
            let r = rel(&o.key);
            let base = &o.key[..o.key.len() - r.len()];
            let mut upto = 0;
            for c in r.split('/') {
                upto += c.len();
                if c.ends_with(crate::fsutil::STAGING_SUFFIX) || c.contains(".dangan-") {
                    d.leftovers.push(format!("{base}{}", &r[..upto]));
                    break;
                }
                upto += 1;
            }
            continue;
        }
        let kind = if is_zip_key(&o.key) {
            PackageKind::SipZip
        } else if is_eep_key(&o.key) {
            PackageKind::Eep
        } else {
            continue;
        };
        if held.contains(&o.key) {
            d.leftovers.push(o.key.clone());
        } else {
            d.packages.push(FoundPackage {
                key: o.key.clone(),
                kind,
                objects: vec![o.clone()],
            });
        }
    }
    d.leftovers.sort();
    d.leftovers.dedup();
    d.packages.sort_by(|a, b| a.key.cmp(&b.key));
    d
}

/// Open a found package through the one package reader.
pub fn open(client: &Client, p: &FoundPackage, limits: &Limits) -> Result<Package, SipError> {
    let location = PathBuf::from(format!("s3://{}/{}", client.bucket, p.key));
    let mut pkg = match p.kind {
        PackageKind::SipZip => {
            let o = p.objects.first().ok_or_else(|| SipError::Open {
                path: location.clone(),
                message: "no object".into(),
            })?;
            let object = Arc::new(ObjectAt::new(client, o));
            let src = ZipSource::from_read_at(&location, object.clone(), o.size)?;
            let _ = object.bounds.set(src.boundaries());
            Package::from_source(Box::new(src), limits)?
        }
        // An EEP is one XML document, checked by the EEP checker (DA/T 48-2009), not a SIP.
        PackageKind::Eep => {
            return Err(SipError::NotAPackage {
                path: location,
                message: "an EEP (*.eep.xml), not a SIP".into(),
            });
        }
        _ => Package::from_source(
            Box::new(PrefixSource::new(client, &p.key, p.objects.clone())),
            limits,
        )?,
    };
    pkg.source = location;
    if pkg.root_name.is_empty() {
        let name = p.key.rsplit('/').next().unwrap_or(&p.key);
        pkg.root_name = name.strip_suffix(".zip").unwrap_or(name).to_string();
    }
    Ok(pkg)
}

/// Open the one package a URL names (for `validate`): a `.zip` object, or a SIP folder prefix.
pub fn open_url(client: &Client, url: &S3Url, limits: &Limits) -> Result<Package, SipError> {
    open(client, &find_one(client, url)?, limits)
}

/// The one package a URL names (for `validate`): a `.zip` object, a SIP folder prefix, or an EEP.
pub fn find_one(client: &Client, url: &S3Url) -> Result<FoundPackage, SipError> {
    let location = PathBuf::from(url.to_string());
    let err = |e: S3Error| SipError::Open {
        path: location.clone(),
        message: e.to_string(),
    };
    let d = discover(client, url).map_err(err)?;
    match d.packages.as_slice() {
        [p] if p.key == url.prefix => Ok(p.clone()),
        [] if !d.leftovers.is_empty() => Err(SipError::NotAPackage {
            path: location,
            message: "an interrupted upload (its publication marker is still there): not a package"
                .into(),
        }),
        [] => Err(SipError::NotAPackage {
            path: location,
            message: "no SIP there (no METS.xml under this prefix, and no .zip or .eep.xml object)"
                .into(),
        }),
        _ => Err(SipError::NotAPackage {
            path: location,
            message: format!(
                "{} packages under this prefix: name one (validate checks one package; verify checks many)",
                d.packages.len()
            ),
        }),
    }
}

/// Copy a folder package (a bag) to `dir`, streaming each object to disk (memory stays bounded): the bag
/// reader reads folders, so a bag in a bucket is checked from this local copy. Keys that are not safe
/// relative paths are refused, never written outside `dir`.
pub fn mirror(client: &Client, p: &FoundPackage, dir: &std::path::Path) -> Result<(), String> {
    let head = format!("{}/", p.key);
    for o in &p.objects {
        let Some(rel) = o.key.strip_prefix(&head) else {
            continue;
        };
        if rel.is_empty() || (rel.ends_with('/') && o.size == 0) {
            continue;
        }
        let safe = safe_relative(rel).map_err(|e| format!("{}: {e}", o.key))?;
        fetch_to(client, o, &dir.join(&safe))?;
    }
    Ok(())
}

/// Copy one object to a new local file `path` (its folder made), streamed (memory stays bounded).
pub fn fetch_to(client: &Client, o: &ObjectInfo, path: &std::path::Path) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let mut out = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut r = Prefetch::start(client, &o.key, 0, o.size, &o.etag);
    io::copy(&mut r, &mut out).map_err(|e| format!("s3://{}/{}: {e}", client.bucket, o.key))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(k: &str) -> ObjectInfo {
        ObjectInfo {
            key: k.into(),
            size: 1,
            etag: String::new(),
        }
    }

    #[test]
    fn discovery_follows_the_disk_rules_and_skips_markers() {
        let d = classify(
            "p",
            vec![
                o("p/a/METS.xml"),
                o("p/a/representations/x"),
                o("p/b.zip"),
                o("p/c/bagit.txt"),
                o("p/c/data/x.zip"),
                o("p/dmg/representations/r/data/x"),
                o("p/.e.dangan-publishing"),
                o("p/e/METS.xml"),
                o("p/.f.dangan-1234.partial/METS.xml"),
                o("p/g.zip.partial"),
                o("p/notes.txt"),
                o("p/h.eep.xml"),
                o("p/a/representations/inside.eep.xml"),
                o("p/.i.eep.xml.dangan-publishing"),
                o("p/i.eep.xml"),
            ],
        );
        let got: Vec<(&str, PackageKind)> = d
            .packages
            .iter()
            .map(|p| (p.key.as_str(), p.kind))
            .collect();
        assert_eq!(
            got,
            [
                ("p/a", PackageKind::Sip),
                ("p/b.zip", PackageKind::SipZip),
                ("p/c", PackageKind::Bag),
                ("p/dmg", PackageKind::Sip),
                ("p/h.eep.xml", PackageKind::Eep),
            ]
        );
        assert_eq!(
            d.packages[0].objects.len(),
            3,
            "the EEP inside the SIP is one of its files"
        );
        assert!(
            d.leftovers.contains(&"p/e".to_string()),
            "{:?}",
            d.leftovers
        );
        assert!(d.leftovers.contains(&"p/g.zip.partial".to_string()));
        assert!(d.leftovers.contains(&"p/.e.dangan-publishing".to_string()));
        assert!(
            d.leftovers
                .contains(&"p/.f.dangan-1234.partial".to_string()),
            "{:?}",
            d.leftovers
        );
        assert!(d.leftovers.contains(&"p/i.eep.xml".to_string()));
        assert_eq!(d.leftovers.len(), 6, "{:?}", d.leftovers);
        // The root itself may be the package.
        let d = classify("p/a", vec![o("p/a/METS.xml"), o("p/a/x")]);
        assert_eq!(d.packages.len(), 1);
        assert_eq!(d.packages[0].key, "p/a");
    }
}
