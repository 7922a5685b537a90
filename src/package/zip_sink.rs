//! Zipped packages: deterministic entry order and times; media that is already compressed is stored, the
//! rest deflated. The zip holds the package's root folder, so unpacking it gives `<OBJID>/METS.xml`.
//! The finished zip is read back (every entry's CRC-32 and size) before it gets its final name, through
//! [`super::publish`]: staged as `.<OBJID>.zip.dangan-<run>.partial`, removed on every error.

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

/// Stored when the name says the format is compressed, or when a sample of the content does not shrink
/// by 5 %: LZW/Deflate TIFF masters and PDFs of JPEG pages gain under 1 %, and deflating them took a
/// third of a pack's CPU time on one core. Decided from the bytes, so the same input gives the same zip.
fn method_for(entry: &str, path: &Path) -> std::io::Result<CompressionMethod> {
    let ext = entry
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if STORED.contains(&ext.as_str()) {
        return Ok(CompressionMethod::Stored);
    }
    let mut sample = Vec::with_capacity(SAMPLE);
    fs::File::open(path)?
        .take(SAMPLE as u64)
        .read_to_end(&mut sample)?;
    if sample.len() < 4096 {
        return Ok(CompressionMethod::Deflated);
    }
    let mut z =
        flate2::write::DeflateEncoder::new(Vec::with_capacity(SAMPLE), flate2::Compression::fast());
    z.write_all(&sample)?;
    let packed = z.finish()?.len();
    Ok(if packed * 100 > sample.len() * 95 {
        CompressionMethod::Stored
    } else {
        CompressionMethod::Deflated
    })
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

/// Zip the folder `root` (whose name is the OBJID) into `dest` atomically: written as `dest.partial`,
/// synced, read back, renamed. `root` is a staging folder: each file is removed once it is in the zip,
/// so a package never needs twice its size on disk.
pub fn zip_folder(root: &Path, dest: &Path, ctx: &Context) -> Result<PathBuf, PackageError> {
    let staging = crate::publish::Staging::begin(dest)?;
    staging.check_absent()?;
    let partial = staging.path().to_path_buf();
    let file = fs::File::create_new(&partial).map_err(|source| PackageError::Io {
        path: partial.clone(),
        source,
    })?;
    let failed = Arc::new(Mutex::new(None));
    let mut zw = zip::ZipWriter::new(Sink {
        file: Some(file),
        failed: failed.clone(),
        pos: 0,
        end: 0,
    });
    let written = write_entries(&mut zw, root, dest, ctx);
    let file = match written {
        Ok(expected) => zw
            .finish()
            .map_err(zip_err(dest))
            .map(|sink| (sink, expected)),
        Err(e) => Err(e),
    };
    // A sink that failed once is never published, whatever the zip crate made of the error.
    let kind = failed.lock().ok().and_then(|f| *f);
    let (sink, expected) = match (file, kind) {
        (Ok(ok), None) => ok,
        (Err(e), _) => return Err(e),
        (Ok(_), Some(kind)) => {
            return Err(PackageError::Io {
                path: partial,
                source: kind.into(),
            });
        }
    };
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

/// Every file under `root` into the zip, each removed once it is in (see [`zip_folder`]). Returns the
/// file entries and their sizes for the read-back.
fn write_entries(
    zw: &mut zip::ZipWriter<Sink>,
    root: &Path,
    dest: &Path,
    ctx: &Context,
) -> Result<Vec<(String, u64)>, PackageError> {
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
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
    let base = SimpleFileOptions::default()
        .last_modified_time(when)
        .unix_permissions(0o644);

    let mut entries: Vec<(String, PathBuf, bool)> = Vec::new();
    for e in walkdir::WalkDir::new(root).follow_links(false) {
        let e = e.map_err(|e| PackageError::Io {
            path: root.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let rel = e.path().strip_prefix(root).unwrap_or(e.path());
        let rel = rel.to_string_lossy().replace('\\', "/");
        let entry = if rel.is_empty() {
            format!("{name}/")
        } else if e.file_type().is_dir() {
            format!("{name}/{rel}/")
        } else {
            format!("{name}/{rel}")
        };
        entries.push((entry, e.path().to_path_buf(), e.file_type().is_dir()));
    }
    entries.sort();
    let mut buf = vec![0u8; 1 << 20];
    let mut expected: Vec<(String, u64)> = Vec::new();
    for (entry, path, is_dir) in entries {
        if is_dir {
            zw.add_directory(entry.as_str(), base.unix_permissions(0o755))
                .map_err(zip_err(dest))?;
            continue;
        }
        let size = fs::metadata(&path)
            .map_err(|source| PackageError::Io {
                path: path.clone(),
                source,
            })?
            .len();
        let method = method_for(&entry, &path).map_err(|source| PackageError::Io {
            path: path.clone(),
            source,
        })?;
        let opts = base
            .compression_method(method)
            .large_file(size >= 0xFFFF_FFFF);
        zw.start_file(entry.as_str(), opts).map_err(zip_err(dest))?;
        let mut input = fs::File::open(&path).map_err(|source| PackageError::Io {
            path: path.clone(),
            source,
        })?;
        loop {
            let n = input.read(&mut buf).map_err(|source| PackageError::Io {
                path: path.clone(),
                source,
            })?;
            if n == 0 {
                break;
            }
            zw.write_all(&buf[..n]).map_err(|source| PackageError::Io {
                path: dest.to_path_buf(),
                source,
            })?;
        }
        drop(input);
        fs::remove_file(&path).map_err(|source| PackageError::Io {
            path: path.clone(),
            source,
        })?;
        expected.push((entry, size));
    }
    Ok(expected)
}

/// Read every file entry of the written zip to its end: the zip reader checks each entry's CRC-32 and
/// size against its headers, and the entries must be exactly the files that went in.
fn read_back(zip_path: &Path, expected: &[(String, u64)]) -> Result<(), PackageError> {
    let bad = |detail: String| PackageError::ReadBack {
        path: zip_path.display().to_string(),
        expected: "zip entries as written".into(),
        actual: detail,
    };
    let file = fs::File::open(zip_path).map_err(|source| PackageError::Io {
        path: zip_path.to_path_buf(),
        source,
    })?;
    let mut archive =
        zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| bad(e.to_string()))?;
    let mut buf = vec![0u8; 1 << 20];
    for (name, size) in expected {
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
    Ok(())
}
