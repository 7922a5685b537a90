//! Where a package's bytes come from: a folder or a `.zip` read in place (object storage is one more
//! implementation of [`Source`]). A source lists its entries with their kinds and reads one entry with a
//! byte cap; everything about the container that could hurt the reading machine is decided while listing
//! (DA/T 70-2018 4.3): unsafe names, symbolic links, FIFOs and devices, zip bombs (too many entries, too
//! many bytes, compression ratios above the limit, entries that overlap in the archive).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::path::safe_relative;
use super::{Entry, EntryKind, Limits, SipError};
use crate::fsutil::{kind_of, open_regular, open_regular_io};
use crate::model::{Finding, Level};

/// What a source holds, as it lists it.
#[derive(Debug, Default)]
pub struct Listing {
    /// Every file-like entry (folders are not entries), with its kind.
    pub entries: Vec<Entry>,
    /// Container-level problems (names refused before they became entries, limits).
    pub findings: Vec<Finding>,
}

/// How to read one entry.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// Read at most this many bytes.
    pub cap: u64,
    /// Check a zip entry's CRC-32 at its end (turned off when a stronger digest is checked instead, so
    /// that a changed file is reported as changed, with its digests, rather than as unreadable).
    pub check_crc: bool,
}

impl ReadOptions {
    pub fn capped(cap: u64) -> ReadOptions {
        ReadOptions {
            cap,
            check_crc: true,
        }
    }
}

/// A package container. Implementations never follow symbolic links, never open anything but regular
/// files, and never read past the cap they are given.
pub trait Source: Send + Sync {
    /// Where it is, for messages and reports.
    fn location(&self) -> String;
    /// The folder on disk, when the source is one (external tools such as clamscan get this path).
    fn folder(&self) -> Option<&Path> {
        None
    }
    /// Whether the source is an archive (a zip: CSIPSTR1 asks for a single root folder inside).
    fn is_archive(&self) -> bool;
    /// Every entry, with container problems as findings; `Err` when the container cannot be listed or is
    /// over the limits as a whole.
    fn list(&self, limits: &Limits) -> Result<Listing, SipError>;
    /// Read one entry listed by [`Source::list`] (kind [`EntryKind::File`]), at most `options.cap` bytes,
    /// through `f`.
    fn read(
        &self,
        entry: &Entry,
        options: ReadOptions,
        f: &mut dyn FnMut(&mut dyn Read) -> io::Result<()>,
    ) -> io::Result<()>;
}

fn refused(rule_item: &str, path: &str, zh: String, en: String) -> Finding {
    Finding::new(
        format!("DA/T 70-2018 {rule_item}"),
        Level::Error,
        Some(path.to_string()),
        zh,
        en,
    )
}

// ---------------------------------------------------------------------------------------------
// Folder
// ---------------------------------------------------------------------------------------------

/// A package folder on disk.
pub struct DirSource {
    root: PathBuf,
}

impl DirSource {
    pub fn new(root: &Path) -> DirSource {
        DirSource {
            root: root.to_path_buf(),
        }
    }
}

impl Source for DirSource {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn folder(&self) -> Option<&Path> {
        Some(&self.root)
    }

    fn is_archive(&self) -> bool {
        false
    }

    fn list(&self, limits: &Limits) -> Result<Listing, SipError> {
        let root = &self.root;
        let mut out = Listing::default();
        for e in walkdir::WalkDir::new(root)
            .min_depth(1)
            .follow_links(false)
            .sort_by_file_name()
        {
            let e = match e {
                Ok(e) => e,
                Err(err) => {
                    let rel = err
                        .path()
                        .and_then(|p| p.strip_prefix(root).ok())
                        .map(|p| p.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    out.entries
                        .push(Entry::new(rel, 0, EntryKind::Unreadable(err.to_string())));
                    continue;
                }
            };
            let ft = e.file_type();
            if ft.is_dir() {
                continue;
            }
            let Ok(rel) = e.path().strip_prefix(root) else {
                continue;
            };
            let (path, utf8) = match rel.to_str() {
                Some(s) => (s.to_string(), true),
                None => (rel.to_string_lossy().into_owned(), false),
            };
            let meta = e.metadata();
            let size = meta.as_ref().map(|m| m.len()).unwrap_or(0);
            let kind = if !utf8 {
                EntryKind::BadName {
                    zh: "文件名不是有效的 Unicode (UTF-8), 清单无法列出".into(),
                    en: "the file name is not valid UTF-8, so no manifest can list it".into(),
                }
            } else if ft.is_symlink() {
                EntryKind::Symlink
            } else if ft.is_file() {
                EntryKind::File
            } else {
                match &meta {
                    Ok(m) => EntryKind::Special(kind_of(m)),
                    Err(err) => EntryKind::Unreadable(err.to_string()),
                }
            };
            let mut entry = Entry::new(path, size, kind);
            if let Ok(m) = &meta {
                use std::os::unix::fs::MetadataExt;
                entry.seen = Some((m.dev(), m.ino()));
            }
            out.entries.push(entry);
            if out.entries.len() > limits.max_entries {
                out.findings.push(refused(
                    "4.3",
                    "",
                    format!("文件夹中的文件超过上限 {} 个: 未读取", limits.max_entries),
                    format!(
                        "the folder holds more than {} files, the limit: not read",
                        limits.max_entries
                    ),
                ));
                return Err(SipError::Limits(format!(
                    "more than {} files",
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
        use std::os::unix::fs::MetadataExt;
        let file = open_regular_io(&self.root.join(&entry.path))?;
        let before = file.metadata()?;
        // The file read is the file listed: a path swapped for a link or another file in between is refused.
        if let Some((dev, ino)) = entry.seen
            && (before.dev(), before.ino()) != (dev, ino)
        {
            return Err(io::Error::other(
                "replaced while the package was being checked",
            ));
        }
        let mut limited = (&file).take(options.cap);
        f(&mut limited)?;
        let after = file.metadata()?;
        if after.len() != before.len() || after.modified().ok() != before.modified().ok() {
            return Err(io::Error::other("changed while it was read"));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Zip
// ---------------------------------------------------------------------------------------------

/// Bytes at an offset: a file on disk, or an object in storage (ranged reads, `crate::objstore`).
pub trait ReadAt: Send + Sync {
    fn read_at(&self, buf: &mut [u8], pos: u64) -> io::Result<usize>;
    /// Largest read-ahead worth making (0: none, every read goes through). Object storage answers each
    /// request with a round trip, so its reads are gathered into windows that double while reading runs
    /// on (a zip entry streamed) and start small again after a jump (a local header while listing).
    fn read_ahead(&self) -> usize {
        0
    }
    /// Where the structure that `pos` is in ends (the next zip entry's header, the central directory), so
    /// that a read-ahead window stops there instead of fetching bytes no one reads.
    fn boundary_after(&self, _pos: u64) -> u64 {
        u64::MAX
    }
}

impl ReadAt for File {
    fn read_at(&self, buf: &mut [u8], pos: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, pos)
    }
}

/// A shared read-only file with its own position: the zip index is parsed once and cloned cheaply for
/// every reader thread (positional reads, no lock).
#[derive(Clone)]
struct SharedFile {
    file: Arc<dyn ReadAt>,
    pos: u64,
    len: u64,
    /// Read-ahead window (only for sources that ask for one): its bytes and where they start.
    window: Arc<Vec<u8>>,
    window_at: u64,
}

impl Read for SharedFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let most = self.file.read_ahead();
        if most == 0 {
            let n = self.file.read_at(buf, self.pos)?;
            self.pos += n as u64;
            return Ok(n);
        }
        let end = self.window_at + self.window.len() as u64;
        if self.pos < self.window_at || self.pos >= end {
            // Sequential (the window ended where this read starts): double; else start small again.
            let size = if self.pos == end && !self.window.is_empty() {
                (self.window.len() * 2).min(most)
            } else {
                (64 << 10).min(most)
            };
            let stop = self.file.boundary_after(self.pos).min(self.len);
            let size = size.min(stop.saturating_sub(self.pos).max(1) as usize);
            let size = size.min(self.len.saturating_sub(self.pos) as usize);
            // Clones share a window until one of them moves on (a clone per reader thread is cheap).
            let mut w = Arc::get_mut(&mut self.window)
                .map(std::mem::take)
                .unwrap_or_default();
            w.resize(size, 0);
            let mut got = 0;
            while got < size {
                let n = self.file.read_at(&mut w[got..], self.pos + got as u64)?;
                if n == 0 {
                    break;
                }
                got += n;
            }
            w.truncate(got);
            self.window = Arc::new(w);
            self.window_at = self.pos;
        }
        let off = (self.pos - self.window_at) as usize;
        let n = buf.len().min(self.window.len().saturating_sub(off));
        buf[..n].copy_from_slice(&self.window[off..off + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SharedFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = new
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

/// A `.zip` read in place: nothing is extracted.
pub struct ZipSource {
    path: PathBuf,
    archive: zip::ZipArchive<SharedFile>,
}

impl ZipSource {
    /// Open a zip (a regular file only: a FIFO or device is refused without blocking).
    pub fn open(path: &Path) -> Result<ZipSource, SipError> {
        let file = open_regular(path).map_err(|e| SipError::Open {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let len = file.metadata().map_err(|e| SipError::io(path, e))?.len();
        ZipSource::from_read_at(path, Arc::new(file), len)
    }

    /// A zip from any positional reader (an object in storage): only its central directory and the
    /// entries read are fetched, never the whole archive.
    pub fn from_read_at(
        path: &Path,
        file: Arc<dyn ReadAt>,
        len: u64,
    ) -> Result<ZipSource, SipError> {
        let shared = SharedFile {
            file,
            pos: 0,
            len,
            window: Arc::default(),
            window_at: 0,
        };
        let archive = zip::ZipArchive::new(shared).map_err(|e| SipError::NotAPackage {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(ZipSource {
            path: path.to_path_buf(),
            archive,
        })
    }
}

impl ZipSource {
    /// Where each entry's local header starts, and the central directory, in order: the structure of the
    /// archive, for sources that fetch ahead ([`ReadAt::boundary_after`]).
    pub fn boundaries(&self) -> Vec<u64> {
        let mut z = self.archive.clone();
        let mut out: Vec<u64> = (0..z.len())
            .filter_map(|i| z.by_index_raw(i).ok().map(|f| f.header_start()))
            .collect();
        out.push(self.archive.central_directory_start());
        out.sort_unstable();
        out.dedup();
        out
    }
}

impl Source for ZipSource {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn is_archive(&self) -> bool {
        true
    }

    fn list(&self, limits: &Limits) -> Result<Listing, SipError> {
        let mut out = Listing::default();
        let mut z = self.archive.clone();
        if z.len() > limits.max_entries {
            out.findings.push(refused(
                "4.3",
                "",
                format!(
                    "zip 有 {} 个条目, 超过上限 {}: 未读取 (疑似 zip 炸弹)",
                    z.len(),
                    limits.max_entries
                ),
                format!(
                    "zip has {} entries, more than the limit of {}: not read (zip bomb?)",
                    z.len(),
                    limits.max_entries
                ),
            ));
            return Err(SipError::Limits(format!("{} zip entries", z.len())));
        }
        let mut total: u64 = 0;
        // (start, end) of each entry's bytes in the archive, to find entries that share bytes.
        let mut spans: Vec<(u64, u64, usize)> = Vec::new();
        for i in 0..z.len() {
            let f = match z.by_index_raw(i) {
                Ok(f) => f,
                Err(e) => {
                    out.findings.push(refused(
                        "4.3",
                        "",
                        format!("zip 条目 #{i} 无法读取: {e}"),
                        format!("zip entry #{i} unreadable: {e}"),
                    ));
                    continue;
                }
            };
            if f.is_dir() {
                continue;
            }
            let (name, utf8) = match f.name() {
                Ok(n) => (n.into_owned(), true),
                Err(_) => (String::from_utf8_lossy(f.name_raw()).into_owned(), false),
            };
            let path = match safe_relative(&name) {
                Ok(p) => p,
                Err(why) => {
                    // APPNOTE 4.4.17.1: no drive letter, no leading slash; and no `..` either.
                    out.findings.push(refused(
                        "4.3",
                        &name,
                        format!(
                            "zip 条目名称被拒绝: {}: 未读取 (不会解压任何内容)",
                            why.zh()
                        ),
                        format!("zip entry name refused: {why}: not read (nothing is extracted)"),
                    ));
                    continue;
                }
            };
            let size = f.size();
            let compressed = f.compressed_size();
            total = total.saturating_add(size);
            let start = f.header_start();
            // The local header is at least 30 bytes; the real span is longer (name, extra field), so
            // this never reports an overlap that is not there.
            spans.push((
                start,
                start.saturating_add(30).saturating_add(compressed),
                i,
            ));
            let ratio = size / compressed.max(1);
            let kind = if !utf8 {
                EntryKind::BadName {
                    zh: "zip 条目名称不是有效的 UTF-8".into(),
                    en: "the entry name is not valid UTF-8".into(),
                }
            } else if size > limits.ratio_floor && ratio > limits.max_ratio {
                EntryKind::Refused {
                    zh: format!(
                        "压缩比 {ratio}:1 超过上限 {}:1 (疑似 zip 炸弹): 未读取",
                        limits.max_ratio
                    ),
                    en: format!(
                        "compression ratio {ratio}:1 above the limit of {}:1 (zip bomb?): not read",
                        limits.max_ratio
                    ),
                }
            } else if f.is_symlink() {
                EntryKind::Symlink
            } else if f.encrypted() {
                EntryKind::Encrypted
            } else {
                EntryKind::File
            };
            let mut entry = Entry::new(path, size, kind);
            entry.index = i;
            entry.compressed = Some(compressed);
            out.entries.push(entry);
        }
        if total > limits.max_total_bytes {
            out.findings.push(refused(
                "4.3",
                "",
                format!(
                    "zip 声明解压后共 {total} 字节, 超过上限 {} (疑似 zip 炸弹)",
                    limits.max_total_bytes
                ),
                format!(
                    "zip declares {total} bytes uncompressed, more than the limit of {} (zip bomb?)",
                    limits.max_total_bytes
                ),
            ));
            return Err(SipError::Limits(format!("{total} bytes uncompressed")));
        }
        // Overlapping entries (several names for the same compressed bytes) are how small zips claim
        // terabytes: every entry that shares bytes with another is refused, none of them is read.
        spans.sort_unstable();
        let mut overlapping = std::collections::BTreeSet::new();
        let mut reach: Option<(u64, usize)> = None;
        for &(start, end, i) in &spans {
            if let Some((r_end, r_i)) = reach
                && start < r_end
            {
                overlapping.insert(i);
                overlapping.insert(r_i);
            }
            if reach.is_none_or(|(r_end, _)| end > r_end) {
                reach = Some((end, i));
            }
        }
        if !overlapping.is_empty() {
            for e in &mut out.entries {
                if overlapping.contains(&e.index) {
                    e.kind = EntryKind::Refused {
                        zh: "与其他 zip 条目共用压缩数据 (重叠条目, 疑似 zip 炸弹): 未读取".into(),
                        en: "shares its compressed bytes with another zip entry (overlapping entries, zip bomb?): not read".into(),
                    };
                }
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
        if entry.kind != EntryKind::File {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "not a readable file of the zip",
            ));
        }
        let mut z = self.archive.clone();
        let zip_options = zip::read::ZipReadOptions::new().ignore_crc32(!options.check_crc);
        let zf = z
            .by_index_with_options(entry.index, zip_options)
            .map_err(io::Error::other)?;
        f(&mut zf.take(options.cap))
    }
}
