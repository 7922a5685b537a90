//! One pass over a batch: per file, from **one read**, its size, every digest the run needs
//! ([`MultiHasher`]), its identification (`dangan::identify`) and its header characterization (the
//! handlers) — a [`FileRecord`]. QC, normalization and packaging take records; none of them identifies or
//! hashes a source file again.
//!
//! Files up to [`MAX_IN_MEMORY`] are read whole into memory once, and the bytes are handed on (a page is
//! decoded from them, never read again); larger files (recordings, video) are streamed: the headers are read
//! for identification, then the file is hashed (and copied, when a copy is asked for) in the same single
//! sequential read. Files are opened only through [`open_regular`]: a FIFO, socket or device in a batch is an
//! error naming the file, never a blocking open.

use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::fixity::digest::{Algorithm, MultiHasher};
use crate::fsutil::{OpenError, open_regular};
use crate::handler::{self, Characterization};
use crate::identify::{self, Family};
use crate::model::{Digest, FileRecord};

/// Files up to this size are read into memory whole (page images, documents, e-mail); larger ones are
/// streamed.
pub const MAX_IN_MEMORY: u64 = 256 << 20;

/// Why a file could not be scanned.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{path}: not a regular file ({kind})")]
    NotRegular { path: String, kind: &'static str },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl ScanError {
    /// The file the error is about, relative to the batch.
    pub fn path(&self) -> &str {
        match self {
            ScanError::NotRegular { path, .. } | ScanError::Io { path, .. } => path,
        }
    }

    /// The message in Chinese, for findings.
    pub fn zh(&self) -> String {
        match self {
            ScanError::NotRegular { kind, .. } => {
                format!("不是普通文件 ({kind}), 不能读取")
            }
            ScanError::Io { source, .. } => format!("无法读取: {source}"),
        }
    }

    /// The message in English, for findings.
    pub fn en(&self) -> String {
        match self {
            ScanError::NotRegular { kind, .. } => format!("not a regular file ({kind})"),
            ScanError::Io { source, .. } => format!("cannot read: {source}"),
        }
    }
}

/// Counts of what a scan read, so a test (and `pack --json`) can show that each file was read once.
#[derive(Debug, Default)]
pub struct Tally {
    files: AtomicU64,
    bytes: AtomicU64,
}

impl Tally {
    /// Full reads of source files.
    pub fn files(&self) -> u64 {
        self.files.load(Ordering::Relaxed)
    }

    /// Bytes read in those full reads.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// What a scan of one file needs.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Digests to compute (SHA-256 always comes first when given).
    pub algorithms: Vec<Algorithm>,
    /// Also write a copy of the file here (the package's staged original), in the same read.
    pub copy_to: Option<PathBuf>,
}

/// A scanned file: its record, and its bytes when it was read into memory.
#[derive(Debug, Clone)]
pub struct Scanned {
    pub record: FileRecord,
    pub bytes: Option<Arc<Vec<u8>>>,
}

struct Shared(Arc<Vec<u8>>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

fn io_err(rel: &str) -> impl FnOnce(std::io::Error) -> ScanError + '_ {
    move |source| ScanError::Io {
        path: rel.to_string(),
        source,
    }
}

/// Scan `root/rel` with one read.
pub fn scan_file(
    root: &Path,
    rel: &str,
    options: &ScanOptions,
    tally: &Tally,
) -> Result<Scanned, ScanError> {
    let path = root.join(rel);
    let mut file = open_regular(&path).map_err(|e| match e {
        OpenError::NotRegular { kind } => ScanError::NotRegular {
            path: rel.to_string(),
            kind,
        },
        other => ScanError::Io {
            path: rel.to_string(),
            source: other.into_io(),
        },
    })?;
    let len = file.metadata().map_err(io_err(rel))?.len();
    let name = rel.rsplit('/').next().unwrap_or(rel);
    tally.files.fetch_add(1, Ordering::Relaxed);
    let mut copy = match &options.copy_to {
        Some(p) => {
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).map_err(io_err(rel))?;
            }
            Some(File::create(p).map_err(io_err(rel))?)
        }
        None => None,
    };
    let mut hasher = MultiHasher::new(&options.algorithms);
    let (size, bytes, identified, characterization, error) = if len <= MAX_IN_MEMORY {
        let mut buf = Vec::with_capacity(len as usize);
        (&mut file)
            .take(MAX_IN_MEMORY + 1)
            .read_to_end(&mut buf)
            .map_err(io_err(rel))?;
        hasher.update(&buf);
        if let Some(c) = copy.as_mut() {
            c.write_all(&buf).map_err(io_err(rel))?;
        }
        let bytes = Arc::new(buf);
        let identified = identify::identify_bytes(&bytes, Some(name));
        let mut src = handler::Source::new(
            Box::new(Cursor::new(Shared(bytes.clone()))),
            bytes.len() as u64,
        );
        let (ch, err) = characterize(&mut src, &identified);
        (bytes.len() as u64, Some(bytes), identified, ch, err)
    } else {
        let identified =
            identify::identify_reader(&mut file, len, Some(name)).map_err(io_err(rel))?;
        let reader = open_regular(&path).map_err(|e| io_err(rel)(e.into_io()))?;
        let mut src = handler::Source::new(Box::new(std::io::BufReader::new(reader)), len);
        let (ch, err) = characterize(&mut src, &identified);
        file.seek(SeekFrom::Start(0)).map_err(io_err(rel))?;
        let mut size = 0u64;
        let mut chunk = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut chunk).map_err(io_err(rel))?;
            if n == 0 {
                break;
            }
            hasher.update(&chunk[..n]);
            if let Some(c) = copy.as_mut() {
                c.write_all(&chunk[..n]).map_err(io_err(rel))?;
            }
            size += n as u64;
        }
        (size, None, identified, ch, err)
    };
    if let Some(c) = copy {
        c.sync_all().map_err(io_err(rel))?;
    }
    tally.bytes.fetch_add(size, Ordering::Relaxed);
    let digests = hasher
        .finalize()
        .into_iter()
        .map(|(a, value)| Digest {
            algorithm: a.name().to_string(),
            value,
        })
        .collect();
    Ok(Scanned {
        record: FileRecord {
            path: rel.to_string(),
            size,
            digests,
            family: identified.family,
            identification: Some(identified.identification),
            characterization,
            error,
        },
        bytes,
    })
}

fn characterize(
    src: &mut handler::Source,
    id: &identify::Identified,
) -> (Option<Characterization>, Option<String>) {
    // By MIME first, then family: the one dispatch `inspect` uses (HEIF, JPM and MJ2 reach their handlers).
    let Some(h) = handler::handler_for_id(id) else {
        return (None, None);
    };
    if src.is_empty() {
        return (None, None);
    }
    match handler::characterize_guarded(h, src, id, &handler::Limits::default()) {
        Ok(c) => (Some(c), None),
        Err(e) => (None, Some(e.to_string())),
    }
}

/// Whether the record is of a page image by the one page rule ([`crate::intake::page`]).
pub fn is_page(record: &FileRecord) -> bool {
    crate::intake::page_of(&record.path, record.family).is_some()
}

/// The family of a record, for the page rule.
pub fn family(record: &FileRecord) -> Family {
    record.family
}

/// The files of a batch folder (or one file), before any is opened.
#[derive(Debug, Clone, Default)]
pub struct Walked {
    /// What the paths are relative to.
    pub root: PathBuf,
    /// Paths relative to `root`, `/`-separated, sorted. Entries that are not regular files (FIFOs, sockets,
    /// devices) are listed too: [`scan_file`] refuses each with an error naming it, without blocking.
    pub files: Vec<String>,
    /// Symbolic links (never followed) and names that are not Unicode.
    pub findings: Vec<crate::model::Finding>,
}

/// List `path` (a folder walked without following links, or one file). Hidden and staging names
/// ([`crate::fsutil::is_staging_name`]: `.X`, `X.partial`) are skipped at every level, the same way every
/// reader of dangan skips them.
pub fn walk(path: &Path) -> std::io::Result<Walked> {
    use crate::model::{Finding, Level};
    let meta = std::fs::metadata(path)?;
    if !meta.is_dir() {
        let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok(Walked {
            root,
            files: vec![name],
            findings: Vec::new(),
        });
    }
    let mut out = Walked {
        root: path.to_path_buf(),
        ..Walked::default()
    };
    let walker = walkdir::WalkDir::new(path)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !crate::fsutil::is_staging_name(e.file_name()));
    for e in walker {
        let e = e.map_err(|e| {
            e.into_io_error()
                .unwrap_or_else(|| std::io::Error::other("walk error"))
        })?;
        if e.depth() == 0 || e.file_type().is_dir() {
            continue;
        }
        let rel = e.path().strip_prefix(path).unwrap_or(e.path());
        let Some(rel_str) = rel.to_str() else {
            out.findings.push(Finding::new(
                crate::intake::matching_rules::PATH,
                Level::Error,
                Some(rel.to_string_lossy().into_owned()),
                "文件名不是有效的 Unicode 编码, 请改名后再交",
                "the file name is not valid Unicode; rename it",
            ));
            continue;
        };
        let rel_str = rel_str.replace('\\', "/");
        if e.file_type().is_symlink() {
            out.findings.push(Finding::new(
                crate::intake::matching_rules::PATH,
                Level::Error,
                Some(rel_str),
                "符号链接不被跟随: 批次中应放入文件本身",
                "symbolic links are not followed: put the file itself in the batch",
            ));
            continue;
        }
        out.files.push(rel_str);
    }
    Ok(out)
}
