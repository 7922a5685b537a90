//! Zipped packages: deterministic entry order and times; media that is already compressed is stored, the
//! rest deflated. The zip holds the package's root folder, so unpacking it gives `<OBJID>/METS.xml`.
//! Entries are written as the files are made ([`ZipStream`]), and the finished zip is read back (every
//! entry's CRC-32 and size) before it gets its final name, through [`crate::publish`]: staged as
//! `.<OBJID>.zip.dangan-<run>.partial`, removed on every error.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

use crate::context::Context;

use super::PackageError;

/// Extensions of formats that gain nothing from deflate.
const STORED: &[&str] = &[
    "jpg", "jpeg", "jp2", "png", "gif", "webp", "mp3", "mp4", "m4a", "m4v", "mov", "mkv", "webm",
    "ogg", "oga", "flac", "aac", "zip", "gz", "bz2", "xz", "7z", "rar", "docx", "xlsx", "pptx",
    "ofd", "odt", "ods",
];

/// How much of a file is test-compressed to decide whether deflate pays.
const SAMPLE: usize = 256 * 1024;

/// The size of the pieces an entry's bytes are written in.
const CHUNK: usize = 1 << 20;

/// Stored when the name says the format is compressed, or when a sample of the content (its first
/// [`SAMPLE`] bytes) does not shrink by 5 %: LZW/Deflate TIFF masters and PDFs of JPEG pages gain under 1 %,
/// and deflating them took a third of a pack's CPU time on one core. Decided from the bytes, so the same
/// input gives the same zip.
fn method_for(entry: &str, sample: &[u8]) -> CompressionMethod {
    let ext = entry
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if STORED.contains(&ext.as_str()) {
        return CompressionMethod::Stored;
    }
    if sample.len() < 4096 {
        return CompressionMethod::Deflated;
    }
    let mut z =
        flate2::write::DeflateEncoder::new(Vec::with_capacity(SAMPLE), flate2::Compression::fast());
    // Writing to memory cannot fail; a failure would only mean "store".
    let packed = z
        .write_all(sample)
        .and_then(|()| z.finish())
        .map_or(usize::MAX, |v| v.len());
    if packed.saturating_mul(100) > sample.len() * 95 {
        CompressionMethod::Stored
    } else {
        CompressionMethod::Deflated
    }
}

fn zip_err(path: &Path) -> impl FnOnce(zip::result::ZipError) -> PackageError + '_ {
    move |e| PackageError::Io {
        path: path.to_path_buf(),
        source: match e {
            // Kept as it is, so that a full disk is still recognised as one.
            zip::result::ZipError::Io(io) => io,
            e => std::io::Error::other(e.to_string()),
        },
    }
}

/// The zip's file, made quiet after its first error: the zip crate finishes an unfinished archive when its
/// writer is dropped and prints to stderr when that fails ("ZipWriter::drop: failed to finalize"). After a
/// failure (a full disk), every later operation succeeds without touching the file, so the drop is silent;
/// the first error is what the caller sees, and the file is removed with the staging path.
struct Sink {
    file: Option<fs::File>,
    /// The first error, shared with the caller: a sink that ever failed is never published.
    failed: Arc<Mutex<Option<std::io::ErrorKind>>>,
    /// Position of the discarded stream after a failure.
    pos: u64,
    end: u64,
}

impl Sink {
    fn fail(&mut self, e: std::io::Error) -> std::io::Error {
        if let Ok(mut f) = self.failed.lock() {
            f.get_or_insert(e.kind());
        }
        // Closing the file gives its space back at once.
        self.file = None;
        e
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.file.as_mut() {
            Some(f) => f.write(buf).map_err(|e| self.fail(e)),
            None => {
                self.pos += buf.len() as u64;
                self.end = self.end.max(self.pos);
                Ok(buf.len())
            }
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush().map_err(|e| self.fail(e)),
            None => Ok(()),
        }
    }
}

impl std::io::Seek for Sink {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        use std::io::SeekFrom;
        match self.file.as_mut() {
            Some(f) => match f.seek(to) {
                Ok(p) => {
                    self.pos = p;
                    self.end = self.end.max(p);
                    Ok(p)
                }
                Err(e) => Err(self.fail(e)),
            },
            None => {
                self.pos = match to {
                    SeekFrom::Start(p) => p,
                    SeekFrom::Current(d) => self.pos.saturating_add_signed(d),
                    SeekFrom::End(d) => self.end.saturating_add_signed(d),
                };
                Ok(self.pos)
            }
        }
    }
}

/// A zip package being written entry by entry, straight from where each file's bytes are (a master in
/// memory, a staged copy, metadata made in memory): no file is written to a folder first and copied in.
/// Staged as `.<OBJID>.zip.dangan-<run>.partial` under the destination's lock; dropped without
/// [`ZipStream::finish`], the partial zip is removed. Entries appear in the order they are added, so the
/// same calls in the same order give the same zip; every folder gets its entry before its first file.
pub struct ZipStream {
    staging: crate::publish::Staging,
    zw: zip::ZipWriter<Sink>,
    failed: Arc<Mutex<Option<std::io::ErrorKind>>>,
    /// The package root folder (the OBJID): every entry is under it.
    root: String,
    /// Folders that have their entry.
    dirs: std::collections::HashSet<String>,
    /// File entries and their sizes, for the read-back.
    expected: Vec<(String, u64)>,
    base: SimpleFileOptions,
    dest: PathBuf,
}

impl ZipStream {
    /// Lock `dest` (`<OBJID>.zip`, whose package root folder is `root`), check that it does not exist, and
    /// start its partial file with the root folder's entry.
    pub fn create(dest: &Path, root: &str, ctx: &Context) -> Result<ZipStream, PackageError> {
        let staging = crate::publish::Staging::begin(dest)?;
        staging.check_absent()?;
        let partial = staging.path().to_path_buf();
        let file = fs::File::create_new(&partial).map_err(|source| PackageError::Io {
            path: partial.clone(),
            source,
        })?;
        let failed = Arc::new(Mutex::new(None));
        let zw = zip::ZipWriter::new(Sink {
            file: Some(file),
            failed: failed.clone(),
            pos: 0,
            end: 0,
        });
        let t = ctx.now.to_zoned(jiff::tz::TimeZone::UTC);
        // ZIP times start in 1980; clamp so a --created before that still gives a valid archive.
        let when = zip::DateTime::from_date_and_time(
            t.year().clamp(1980, 2107) as u16,
            t.month() as u8,
            t.day() as u8,
            t.hour() as u8,
            t.minute() as u8,
            t.second() as u8,
        )
        .unwrap_or_default();
        let mut z = ZipStream {
            staging,
            zw,
            failed,
            root: root.to_string(),
            dirs: Default::default(),
            expected: Vec::new(),
            base: SimpleFileOptions::default()
                .last_modified_time(when)
                .unix_permissions(0o644),
            dest: dest.to_path_buf(),
        };
        z.dir(&format!("{root}/"))?;
        Ok(z)
    }

    /// The first error of the file, if any: a sink that failed once is never published, whatever the zip
    /// crate made of the error.
    fn check(&self) -> Result<(), PackageError> {
        match self.failed.lock().ok().and_then(|f| *f) {
            None => Ok(()),
            Some(kind) => Err(PackageError::Io {
                path: self.staging.path().to_path_buf(),
                source: kind.into(),
            }),
        }
    }

    fn dir(&mut self, entry: &str) -> Result<(), PackageError> {
        if self.dirs.insert(entry.to_string()) {
            self.zw
                .add_directory(entry, self.base.unix_permissions(0o755))
                .map_err(zip_err(&self.dest))?;
        }
        Ok(())
    }

    /// Start the entry of the file `rel` (a safe package path) with the method its name or first bytes
    /// call for, after the entries of its folders.
    fn start(&mut self, rel: &str, sample: &[u8], size: u64) -> Result<String, PackageError> {
        super::safe_rel(rel)?;
        let mut at = 0;
        while let Some(k) = rel[at..].find('/') {
            at += k + 1;
            let d = format!("{}/{}", self.root, &rel[..at]);
            self.dir(&d)?;
        }
        let entry = format!("{}/{rel}", self.root);
        let opts = self
            .base
            .compression_method(method_for(&entry, sample))
            .large_file(size >= 0xFFFF_FFFF);
        self.zw
            .start_file(entry.as_str(), opts)
            .map_err(zip_err(&self.dest))?;
        Ok(entry)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), PackageError> {
        self.zw
            .write_all(bytes)
            .map_err(|source| PackageError::Io {
                path: self.dest.clone(),
                source,
            })?;
        self.check()
    }

    /// Add the file `rel` (under the package root) with the bytes `bytes`.
    pub fn add(&mut self, rel: &str, bytes: &[u8]) -> Result<(), PackageError> {
        let entry = self.start(rel, &bytes[..bytes.len().min(SAMPLE)], bytes.len() as u64)?;
        // In the chunks a file is read in (add_reader): deflate's output depends on how its input is cut,
        // and an entry's bytes stay the same whichever way its file came.
        for chunk in bytes.chunks(CHUNK) {
            self.write(chunk)?;
        }
        self.expected.push((entry, bytes.len() as u64));
        Ok(())
    }

    /// Add the file `rel` with the bytes of `input` (`size` long, as its metadata says), handing every
    /// chunk to `seen` as it goes (the caller's digests): one read of the file, no copy on disk.
    pub fn add_reader(
        &mut self,
        rel: &str,
        input: &mut impl Read,
        from: &Path,
        size: u64,
        mut seen: impl FnMut(&[u8]),
    ) -> Result<u64, PackageError> {
        let rd = |source| PackageError::Io {
            path: from.to_path_buf(),
            source,
        };
        let mut buf = vec![0u8; CHUNK];
        // Whole chunks, the first of which decides the method (its first SAMPLE bytes).
        let first = crate::fsutil::read_full(input, &mut buf).map_err(rd)?;
        let entry = self.start(rel, &buf[..first.min(SAMPLE)], size)?;
        seen(&buf[..first]);
        self.write(&buf[..first])?;
        let mut n = first as u64;
        loop {
            let k = crate::fsutil::read_full(input, &mut buf).map_err(rd)?;
            if k == 0 {
                break;
            }
            seen(&buf[..k]);
            self.write(&buf[..k])?;
            n += k as u64;
        }
        self.expected.push((entry, n));
        Ok(n)
    }

    /// Finish the zip: central directory, synced, read back (every entry's CRC-32 and size), published
    /// by one rename.
    pub fn finish(self) -> Result<PathBuf, PackageError> {
        let ZipStream {
            staging,
            zw,
            failed,
            expected,
            dest,
            ..
        } = self;
        let partial = staging.path().to_path_buf();
        let finished = zw.finish().map_err(zip_err(&dest));
        if let Some(kind) = failed.lock().ok().and_then(|f| *f) {
            return Err(PackageError::Io {
                path: partial,
                source: kind.into(),
            });
        }
        let sink = finished?;
        let file = sink.file.ok_or_else(|| PackageError::Io {
            path: partial.clone(),
            source: std::io::Error::other("the zip file was closed"),
        })?;
        file.sync_all().map_err(|source| PackageError::Io {
            path: partial.clone(),
            source,
        })?;
        drop(file);
        read_back(&partial, &expected)?;
        Ok(staging.publish()?)
    }
}

/// Read every file entry of the written zip to its end: the zip reader checks each entry's CRC-32 and
/// size against its headers, and the entries must be exactly the files that went in. Entries are read on
/// the pool in one group per thread (largest first, each to the group with the fewest bytes so far), each
/// group through its own handle on the file: a package's masters are most of its bytes, and one thread
/// reading them all left the other core idle at the end of every `pack --zip`.
fn read_back(zip_path: &Path, expected: &[(String, u64)]) -> Result<(), PackageError> {
    let bad = |detail: String| PackageError::ReadBack {
        path: zip_path.display().to_string(),
        expected: "zip entries as written".into(),
        actual: detail,
    };
    let open = || -> Result<zip::ZipArchive<fs::File>, PackageError> {
        let file = fs::File::open(zip_path).map_err(|source| PackageError::Io {
            path: zip_path.to_path_buf(),
            source,
        })?;
        zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))
    };
    let archive = open()?;
    let files = archive
        .file_names()
        .filter(|n| n.as_ref().map_or(true, |n| !n.ends_with('/')))
        .count();
    if files != expected.len() {
        return Err(bad(format!(
            "{files} file entries, {} written",
            expected.len()
        )));
    }
    // Largest first (the pool's one start order, `par::start_order`), each entry to the group with the
    // fewest bytes so far (LPT): one group per thread.
    let groups = rayon::current_num_threads().clamp(1, expected.len().max(1));
    let sizes: Vec<u64> = expected.iter().map(|(_, size)| *size).collect();
    let mut work: Vec<(u64, Vec<usize>)> = vec![(0, Vec::new()); groups];
    for i in crate::par::start_order(&sizes) {
        if let Some(g) = work.iter_mut().min_by_key(|(bytes, _)| *bytes) {
            g.0 += expected[i].1;
            g.1.push(i);
        }
    }
    use rayon::prelude::*;
    work.par_iter()
        .map(|(_, entries)| -> Result<(), PackageError> {
            let mut archive = open()?;
            let mut buf = vec![0u8; CHUNK];
            for &i in entries {
                let (name, size) = &expected[i];
                let mut entry = archive
                    .by_name(name)
                    .map_err(|e| bad(format!("{name}: {e}")))?;
                let mut n = 0u64;
                loop {
                    let k = entry
                        .read(&mut buf)
                        .map_err(|e| bad(format!("{name}: {e}")))?;
                    if k == 0 {
                        break;
                    }
                    n += k as u64;
                }
                if n != *size {
                    return Err(bad(format!("{name}: {n} bytes, {size} written")));
                }
            }
            Ok(())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry's bytes are the same whether they came from memory (a master streamed in) or from a
    /// file (a staged copy): the same zip, byte for byte, for compressible content longer than a chunk.
    #[test]
    fn an_entry_is_the_same_from_memory_and_from_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = Context::fixed(jiff::Timestamp::UNIX_EPOCH, "t");
        let mut x: u32 = 1;
        let data: Vec<u8> = (0..3 * CHUNK + 12345)
            .map(|i| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                // Text-like: compressible, but not trivially.
                b"abcdefgh \n"[((x >> 16) as usize + i / 7) % 10]
            })
            .collect();
        let file = dir.path().join("data.txt");
        fs::write(&file, &data).expect("write");
        let mut a = ZipStream::create(&dir.path().join("A.zip"), "X", &ctx).expect("A");
        a.add("data/x.txt", &data).expect("add");
        let a = a.finish().expect("finish A");
        let mut b = ZipStream::create(&dir.path().join("B.zip"), "X", &ctx).expect("B");
        let mut input = fs::File::open(&file).expect("open");
        let n = b
            .add_reader("data/x.txt", &mut input, &file, data.len() as u64, |_| {})
            .expect("add_reader");
        assert_eq!(n, data.len() as u64);
        let b = b.finish().expect("finish B");
        let (a, b) = (fs::read(a).expect("A"), fs::read(b).expect("B"));
        assert!(a.len() < data.len(), "deflated");
        assert!(a == b, "the two zips differ");
    }
}
