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

use super::client::{Client, ObjectInfo, ObjectReader, S3Error};
use super::{S3Url, publish};
use crate::fixity::PackageKind;
use crate::model::{Finding, Level};
use crate::sip::path::safe_relative;
use crate::sip::{
    Entry, EntryKind, Limits, Listing, Package, ReadAt, ReadOptions, SipError, Source, ZipSource,
};

/// Bytes fetched for a read that starts no stream (the end of the zip, the header of a small entry):
/// small, so a jump costs little, and large enough that a header and a small entry after it, or the end
/// record and a small central directory, come in one request.
const WINDOW: usize = 64 << 10;
/// Windows kept per object, and their bytes at most (the end of the zip, and the few hundred KiB a stream
/// fetched past the entry it was opened for, up to a block edge, for the next entry's reader).
const WINDOWS: usize = 32;
const WINDOW_BYTES: usize = 4 << 20;
/// Streams end on a multiple of this (Garage's block size; a multiple of Ceph's and MinIO's is no
/// worse), so that the next stream starts where a block does and no block is read twice.
const ALIGN: u64 = 1 << 20;
/// A read that starts a structure (a local header) with at least this many bytes before the next one,
/// continues an earlier read, or asks this much at once, streams with one ranged GET ([`ObjectReader`]).
const STREAM_MIN: u64 = 256 << 10;
/// A stream a little behind a read (the zip reader reads a local header's fixed part, then jumps over
/// the name and extra field to the data) is advanced by reading and dropping the gap, at most this.
const SKIP_MAX: u64 = 64 << 10;
/// Streams kept between reads. Each reader thread puts its stream back after every read, so this is
/// above the number of workers (8 for `s3://`) — evicting a stream in use would start its GET again —
/// and bounds the streams left behind (a stream overtaken by another thread's): each holds an idle
/// connection until it is dropped with the package.
const IDLE_STREAMS: usize = 16;

/// One object as positional bytes, for the zip reader.
///
/// The server reads whole blocks (1 MiB in Garage) for every range it serves, so a GET per entry plus a
/// small GET for each local header read the blocks at every entry's edge two or three times (about 4 %
/// more of Garage's CPU per GB than one GET per object). So a read at a local header (or continuing an
/// earlier read) opens a stream that runs past the entry (and any small ones after it, at least
/// [`STREAM_MIN`]) to the next block edge ([`ALIGN`]); the bytes past the entry are kept as a window
/// for the next entry's reader, whose stream then starts on a block edge: a zip read in order reads
/// each block once. A stream does not run further — a stream overtaken by another thread's (entries
/// are read in parallel) would have had the server send megabytes into socket buffers for nothing.
/// Streams are read by the reading thread directly — no fetch thread, no copy between buffers: the
/// hasher's pipeline (`fixity::digest`) already overlaps reading and hashing — and hold nothing but
/// their connection between reads, so memory is bounded whatever the object size. Other reads (the end
/// record, the central directory, small entries) fetch a small window that later reads reuse. Every GET
/// is `If-Match` the ETag seen when listing, so an object replaced midway is an error, not a mix of two
/// objects; a connection broken midway is resumed from where it broke.
pub struct ObjectAt {
    client: Client,
    key: String,
    len: u64,
    etag: String,
    /// The zip's structure once its central directory is read (local headers, then the directory).
    bounds: std::sync::OnceLock<Vec<u64>>,
    state: Mutex<AtState>,
}

#[derive(Default)]
struct AtState {
    /// Streams between reads, oldest first.
    streams: VecDeque<ObjectReader>,
    /// Small windows: where each starts and its bytes, most recent last.
    windows: VecDeque<(u64, Arc<Vec<u8>>)>,
    /// Where recent reads ended: a read starting there continues one.
    ends: VecDeque<u64>,
}

impl AtState {
    fn keep_window(&mut self, at: u64, bytes: Vec<u8>) {
        let mut total = self.windows.iter().map(|(_, w)| w.len()).sum::<usize>() + bytes.len();
        while !self.windows.is_empty() && (self.windows.len() >= WINDOWS || total > WINDOW_BYTES) {
            if let Some((_, w)) = self.windows.pop_front() {
                total -= w.len();
            }
        }
        self.windows.push_back((at, Arc::new(bytes)));
    }

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

    /// Read from a stream at `pos` (at or a little after its position), and keep it for the next read
    /// unless it is done.
    fn read_stream(&self, mut s: ObjectReader, buf: &mut [u8], pos: u64) -> io::Result<usize> {
        let gap = pos.saturating_sub(s.position());
        if gap > 0 {
            let mut skip = [0u8; 4096];
            let mut left = gap;
            while left > 0 {
                let n = s.read(&mut skip[..left.min(4096) as usize])?;
                if n == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                left -= n as u64;
            }
        }
        let want = buf
            .len()
            .min((s.end() - pos).min(usize::MAX as u64) as usize);
        let n = s.read(&mut buf[..want])?;
        // The last block's worth of the stream: read it now and keep it as a window (the rest of this
        // entry, or the start of the next), so the connection goes back to the pool.
        let rest_at = s.position();
        let rest = s.end() - rest_at;
        let mut tail = None;
        if rest > 0 && rest <= ALIGN {
            let mut t = vec![0u8; rest as usize];
            // A failure here is not this read's: the next read fetches those bytes again.
            if s.read_exact(&mut t).is_ok() {
                tail = Some(t);
            }
        }
        let mut st = self.state();
        st.ended(pos + n as u64);
        if let Some(t) = tail {
            st.keep_window(rest_at, t);
        } else if s.position() < s.end() {
            if st.streams.len() >= IDLE_STREAMS {
                st.streams.pop_front(); // its connection closes
            }
            st.streams.push_back(s);
        }
        Ok(n)
    }

    /// Where a stream from `pos` ends: at the first block edge ([`ALIGN`]) after the first structure of
    /// the zip that starts [`STREAM_MIN`] or more after `pos`, and at the latest at the central directory
    /// (read apart, through a window) or the end of the object.
    fn stream_end(&self, pos: u64) -> u64 {
        let Some(b) = self.bounds.get() else {
            return self.len;
        };
        let cd = b.last().copied().filter(|&cd| cd > pos).unwrap_or(self.len);
        let next = b
            .iter()
            .copied()
            .find(|&x| x >= pos.saturating_add(STREAM_MIN))
            .unwrap_or(cd);
        next.div_ceil(ALIGN)
            .saturating_mul(ALIGN)
            .min(cd)
            .min(self.len)
    }

    /// Whether `pos` starts a structure of the zip (a local header) with at least [`STREAM_MIN`] bytes
    /// before the next one: a large entry, worth a stream from its header on.
    fn starts_large_entry(&self, pos: u64) -> bool {
        self.bounds.get().is_some_and(|b| {
            b.binary_search(&pos).is_ok()
                && b.iter()
                    .find(|&&x| x > pos)
                    .is_some_and(|&next| next - pos >= STREAM_MIN)
        })
    }
}

impl ReadAt for ObjectAt {
    fn read_at(&self, buf: &mut [u8], pos: u64) -> io::Result<usize> {
        if pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let sequential = {
            let mut st = self.state();
            if let Some(i) = st.streams.iter().position(|s| {
                s.position() <= pos && pos - s.position() <= SKIP_MAX && pos < s.end()
            }) {
                let s = st.streams.remove(i);
                drop(st);
                if let Some(s) = s {
                    return self.read_stream(s, buf, pos);
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
        let stop = self.stream_end(pos);
        if (sequential || buf.len() as u64 >= STREAM_MIN || self.starts_large_entry(pos))
            && stop.saturating_sub(pos) >= STREAM_MIN
        {
            let s = self.client.reader(&self.key, pos, stop, &self.etag);
            return self.read_stream(s, buf, pos);
        }
        let end = (pos + buf.len().max(WINDOW) as u64).min(self.len);
        let mut w = vec![0u8; (end - pos) as usize];
        self.client
            .reader(&self.key, pos, end, &self.etag)
            .read_exact(&mut w)?;
        let n = buf.len().min(w.len());
        buf[..n].copy_from_slice(&w[..n]);
        let mut st = self.state();
        st.keep_window(pos, w);
        st.ended(pos + n as u64);
        Ok(n)
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
        // One GET per object, read directly by this thread (the hasher's pipeline overlaps reading and
        // hashing), `If-Match` the ETag listed.
        let end = options.cap.min(o.size);
        f(&mut self.client.reader(&o.key, 0, end, &o.etag))
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
    let mut r = client.reader(&o.key, 0, o.size, &o.etag);
    let failed = |e: io::Error| format!("s3://{}/{}: {e}", client.bucket, o.key);
    crate::fixity::digest::with_buffer(|buf| -> Result<(), String> {
        loop {
            match r.read(buf).map_err(failed)? {
                0 => return Ok(()),
                n => io::Write::write_all(&mut out, &buf[..n])
                    .map_err(|e| format!("{}: {e}", path.display()))?,
            }
        }
    })
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
