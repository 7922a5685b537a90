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
}

impl Read for SharedFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Object storage streams an entry's bytes itself (`crate::objstore::source::ObjectAt`): no window here.
        let n = self.file.read_at(buf, self.pos)?;
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
    /// Open a zip (a regular file only: a FIFO or device is refused without blocking) under the default
    /// limits.
    pub fn open(path: &Path) -> Result<ZipSource, SipError> {
        ZipSource::open_with(path, &Limits::default())
    }

    /// Open a zip. Its central directory is parsed into memory only when the end record declares no more
    /// entries and no more directory bytes than `limits` allow: a zip declaring millions of entries is refused
    /// from its last few bytes.
    pub fn open_with(path: &Path, limits: &Limits) -> Result<ZipSource, SipError> {
        let file = open_regular(path).map_err(|e| SipError::Open {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let len = file.metadata().map_err(|e| SipError::io(path, e))?.len();
        ZipSource::from_read_at_with(path, Arc::new(file), len, limits)
    }

    /// A zip from any positional reader (an object in storage) under the default limits: only its central
    /// directory and the entries read are fetched, never the whole archive.
    pub fn from_read_at(
        path: &Path,
        file: Arc<dyn ReadAt>,
        len: u64,
    ) -> Result<ZipSource, SipError> {
        ZipSource::from_read_at_with(path, file, len, &Limits::default())
    }

    /// As [`ZipSource::from_read_at`], with the end record's declared entries and directory size checked
    /// against `limits` before the zip crate parses the central directory.
    pub fn from_read_at_with(
        path: &Path,
        file: Arc<dyn ReadAt>,
        len: u64,
        limits: &Limits,
    ) -> Result<ZipSource, SipError> {
        for d in declared_directories(&*file, len).map_err(|e| SipError::io(path, e))? {
            if d.entries > limits.max_entries as u64 {
                return Err(SipError::Limits(format!(
                    "the zip declares {} entries, more than the limit of {} entries",
                    d.entries, limits.max_entries
                )));
            }
            if d.bytes > limits.max_directory_bytes {
                return Err(SipError::Limits(format!(
                    "the zip declares a central directory of {} bytes, more than the limit of {} bytes",
                    d.bytes, limits.max_directory_bytes
                )));
            }
        }
        let shared = SharedFile { file, pos: 0, len };
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

/// What an end-of-central-directory record declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DeclaredDirectory {
    entries: u64,
    bytes: u64,
}

/// Every end-of-central-directory record in the last 64 KiB + 22 bytes of the zip (APPNOTE 4.3.16) whose
/// comment fits in the file, with the ZIP64 record (4.3.14, found through its locator 4.3.15) where the 32-bit
/// fields are saturated. All candidates are returned, not only the last: the zip crate may fall back to an
/// earlier one, and each must be within the limits.
fn declared_directories(file: &dyn ReadAt, len: u64) -> io::Result<Vec<DeclaredDirectory>> {
    let read_exact_at = |buf: &mut [u8], pos: u64| -> io::Result<()> {
        let mut got = 0;
        while got < buf.len() {
            match file.read_at(&mut buf[got..], pos + got as u64)? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => got += n,
            }
        }
        Ok(())
    };
    const EOCD: &[u8; 4] = b"PK\x05\x06";
    let u16_at = |b: &[u8], i: usize| u64::from(u16::from_le_bytes([b[i], b[i + 1]]));
    let u32_at =
        |b: &[u8], i: usize| u64::from(u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]));
    let u64_at = |b: &[u8], i: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[i..i + 8]);
        u64::from_le_bytes(a)
    };
    if len < 22 {
        return Ok(Vec::new()); // no room for an end record: the zip crate says what is wrong
    }
    let window = len.min(22 + 0xFFFF);
    let start = len - window;
    let mut tail = vec![0u8; window as usize];
    read_exact_at(&mut tail, start)?;
    let mut out = Vec::new();
    let mut i = tail.len().saturating_sub(22);
    loop {
        if &tail[i..i + 4] == EOCD && i + 22 + u16_at(&tail, i + 20) as usize <= tail.len() {
            let mut d = DeclaredDirectory {
                entries: u16_at(&tail, i + 10).max(u16_at(&tail, i + 8)),
                bytes: u32_at(&tail, i + 12),
            };
            let saturated = d.entries == 0xFFFF
                || d.bytes == 0xFFFF_FFFF
                || u32_at(&tail, i + 16) == 0xFFFF_FFFF;
            let at = start + i as u64;
            if saturated && at >= 20 {
                let mut locator = [0u8; 20];
                read_exact_at(&mut locator, at - 20)?;
                if &locator[..4] == b"PK\x06\x07" {
                    let mut record = [0u8; 56];
                    let off = u64_at(&locator, 8);
                    if off.checked_add(56).is_some_and(|end| end <= len) {
                        read_exact_at(&mut record, off)?;
                        if &record[..4] == b"PK\x06\x06" {
                            d.entries = u64_at(&record, 32).max(u64_at(&record, 24));
                            d.bytes = u64_at(&record, 40);
                        }
                    }
                }
            }
            out.push(d);
        }
        if i == 0 {
            break;
        }
        i -= 1;
    }
    Ok(out)
}

impl ZipSource {
    /// Where each entry's local header starts, and the central directory, in order: the structure of the
    /// archive, for sources that stream ahead (object storage: `objstore::source::ObjectAt` ends its streams there).
    pub fn boundaries(&self) -> Vec<u64> {
        // From the central directory only (`by_index_data`): reading each local header here would cost
        // object storage a request and a block per entry.
        let z = &self.archive;
        let mut out: Vec<u64> = (0..z.len())
            .filter_map(|i| z.by_index_data(i).ok().map(|f| f.header_start()))
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
        let z = self.archive.clone();
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
            // The central directory's record (`by_index_data`): the local header is read with the
            // entry's bytes, not here (object storage: a request and a block per entry).
            let f = match z.by_index_data(i) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    /// A zip of `n` one-byte stored entries, built in memory by the zip crate.
    fn zip_of(n: usize) -> Vec<u8> {
        let mut z = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for i in 0..n {
            z.start_file(format!("p/{i}"), o).expect("entry");
            z.write_all(b"x").expect("write");
        }
        z.finish().expect("finish").into_inner()
    }

    /// Only an end record: ZIP64, declaring `entries` entries in a directory of `bytes` bytes.
    fn declaring(entries: u64, bytes: u64) -> Vec<u8> {
        let mut b = Vec::new();
        // ZIP64 end of central directory record (APPNOTE 4.3.14) at offset 0.
        b.extend_from_slice(b"PK\x06\x06");
        b.extend_from_slice(&44u64.to_le_bytes());
        b.extend_from_slice(&[45, 0, 45, 0]);
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&entries.to_le_bytes());
        b.extend_from_slice(&entries.to_le_bytes());
        b.extend_from_slice(&bytes.to_le_bytes());
        b.extend_from_slice(&0u64.to_le_bytes());
        // Locator (4.3.15) pointing at it.
        b.extend_from_slice(b"PK\x06\x07");
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&0u64.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        // End record (4.3.16), every field saturated.
        b.extend_from_slice(b"PK\x05\x06");
        b.extend_from_slice(&[0xFF; 16]);
        b.extend_from_slice(&0u16.to_le_bytes());
        b
    }

    fn refused(bytes: &[u8], limits: &Limits) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("a.zip");
        std::fs::write(&p, bytes).expect("write");
        let started = std::time::Instant::now();
        let r = ZipSource::open_with(&p, limits);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        match r {
            Err(SipError::Limits(why)) => why,
            Err(e) => panic!("refused, but not by a limit: {e}"),
            Ok(_) => panic!("opened"),
        }
    }

    #[test]
    fn a_zip_declaring_millions_of_entries_is_refused_before_its_directory_is_read() {
        let why = refused(&declaring(5_000_000, 5_000_000 * 46), &Limits::default());
        assert!(
            why.contains("5000000 entries") && why.contains("limit of 1000000 entries"),
            "{why}"
        );
        let why = refused(&declaring(10, 1 << 40), &Limits::default());
        assert!(
            why.contains("central directory of 1099511627776 bytes"),
            "{why}"
        );
    }

    #[test]
    fn the_entry_limit_applies_to_a_real_directory_before_it_is_parsed() {
        let bytes = zip_of(3000);
        let limits = Limits {
            max_entries: 1000,
            ..Limits::default()
        };
        let why = refused(&bytes, &limits);
        assert!(
            why.contains("3000 entries") && why.contains("limit of 1000"),
            "{why}"
        );
        // Within the limits it opens and lists every entry.
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("ok.zip");
        std::fs::write(&p, &bytes).expect("write");
        let src = ZipSource::open_with(&p, &Limits::default()).expect("opens");
        assert_eq!(
            src.list(&Limits::default()).expect("lists").entries.len(),
            3000
        );
        // A file too short for an end record is left to the zip crate's own error.
        std::fs::write(&p, b"PK").expect("write");
        assert!(matches!(
            ZipSource::open(&p),
            Err(SipError::NotAPackage { .. })
        ));
    }
}
