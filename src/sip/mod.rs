//! The one package reader, used by `fixity::verify` (checksums) and `validate` (rules) alike.
//!
//! - [`source`]: where the bytes are — a folder ([`DirSource`]) or a `.zip` read in place ([`ZipSource`]);
//!   object storage is one more implementation of [`Source`], and nothing above it changes.
//! - [`path`]: the one path-safety rule and the one `xlink:href` decoder.
//! - [`xml`]: the hardened XML reader (no DTD, no entities, bounded depth).
//! - [`mets`]: the one METS model (root attributes, header, mdRefs, files, structMaps).
//! - [`Limits`]: how much a package may make the reader do.
//!
//! A [`Package`] is an opened source: every entry listed once with its kind, read only through a byte cap.
//! Entries that are not regular files (links, FIFOs, devices, encrypted, refused by a limit) are listed so
//! that each consumer can report them, and are never opened.

pub mod mets;
pub mod path;
pub mod source;
pub mod xml;

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::model::{Finding, Level};

pub use mets::{Mets, MetsError};
pub use source::{DirSource, Listing, ReadAt, ReadOptions, Source, ZipSource};

/// Safe default limits on untrusted packages; callers may raise them explicitly.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most entries a package may have.
    pub max_entries: usize,
    /// Most uncompressed bytes a zip may declare in all.
    pub max_total_bytes: u64,
    /// Largest uncompressed/compressed ratio of one zip entry (only judged above `ratio_floor` bytes).
    pub max_ratio: u64,
    pub ratio_floor: u64,
    /// Largest XML document (METS, PREMIS, catalog.xml) read into memory.
    pub max_xml_bytes: u64,
    /// Deepest element nesting accepted in XML.
    pub max_xml_depth: usize,
    /// Largest zip central directory (declared in its end record) parsed into memory.
    pub max_directory_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 1_000_000,
            max_total_bytes: 256 << 30,
            max_ratio: 200,
            ratio_floor: 1 << 20,
            max_xml_bytes: 512 << 20,
            max_xml_depth: xml::MAX_DEPTH,
            // A million entries with 300-byte names and ZIP64 extra fields fit in 384 MiB.
            max_directory_bytes: 384 << 20,
        }
    }
}

/// What an entry is. Only `File` entries are ever opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File,
    /// A symbolic link: never followed.
    Symlink,
    /// A FIFO, socket or device ("not a regular file"): never opened.
    Special(&'static str),
    /// A zip entry protected by a password.
    Encrypted,
    /// Refused by a limit (compression ratio, overlapping entries): the reason, in Chinese and English.
    Refused {
        zh: String,
        en: String,
    },
    /// A name no manifest or METS can list (not UTF-8).
    BadName {
        zh: String,
        en: String,
    },
    /// Could not be listed (a folder that cannot be read).
    Unreadable(String),
}

/// One entry of a package, by its path relative to the package root (`/` separators).
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: String,
    /// Bytes (for a zip entry: the uncompressed size its header declares).
    pub size: u64,
    pub kind: EntryKind,
    /// Compressed size, for zip entries.
    pub compressed: Option<u64>,
    /// Where the source finds the entry again (the zip index).
    pub index: usize,
    /// Device and inode a folder walk saw, so that a file swapped before it is read is refused.
    pub seen: Option<(u64, u64)>,
}

impl Entry {
    pub fn new(path: String, size: u64, kind: EntryKind) -> Entry {
        Entry {
            path,
            size,
            kind,
            compressed: None,
            index: 0,
            seen: None,
        }
    }

    /// Why this entry is not read, in Chinese and English (`None` for a regular file).
    pub fn problem(&self) -> Option<(String, String)> {
        Some(match &self.kind {
            EntryKind::File => return None,
            EntryKind::Symlink => (
                "符号链接: 未跟随".into(),
                "a symbolic link: not followed".into(),
            ),
            EntryKind::Special(k) => (
                format!("不是普通文件 ({k}): 未打开"),
                format!("not a regular file ({k}): not opened"),
            ),
            EntryKind::Encrypted => (
                "加密 (设有密码) 的 zip 条目".into(),
                "encrypted (password-protected) zip entry".into(),
            ),
            EntryKind::Refused { zh, en } | EntryKind::BadName { zh, en } => {
                (zh.clone(), en.clone())
            }
            EntryKind::Unreadable(e) => (format!("无法读取: {e}"), format!("cannot read: {e}")),
        })
    }
}

/// Why a package could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum SipError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("{path} is neither a folder nor a readable zip: {message}")]
    NotAPackage { path: PathBuf, message: String },
    #[error("container exceeds the safety limits ({0}); not read")]
    Limits(String),
}

impl SipError {
    pub(crate) fn io(path: &Path, source: io::Error) -> SipError {
        SipError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// An opened package.
pub struct Package {
    /// The name of the package root folder (CSIPSTR1, compared with OBJID).
    pub root_name: String,
    pub is_zip: bool,
    /// Whether an archive unpacks to a single root folder (CSIPSTR1); always true for a folder.
    pub single_root: bool,
    /// The path it was opened from.
    pub source: PathBuf,
    /// Every entry, by package-relative path (inside the single root folder of a zip).
    pub entries: BTreeMap<String, Entry>,
    /// Container-level problems found while listing (refused names, limits).
    pub findings: Vec<Finding>,
    limits: Limits,
    src: Box<dyn Source>,
}

impl Package {
    /// Open a folder or a `.zip` on disk. A FIFO, socket or device is refused without blocking.
    pub fn open(path: &Path, limits: &Limits) -> Result<Package, SipError> {
        let meta = std::fs::metadata(path).map_err(|e| SipError::io(path, e))?;
        let src: Box<dyn Source> = if meta.is_dir() {
            Box::new(DirSource::new(path))
        } else if meta.is_file() {
            Box::new(ZipSource::open_with(path, limits)?)
        } else {
            return Err(SipError::Open {
                path: path.to_path_buf(),
                message: format!("not a regular file ({})", crate::fsutil::kind_of(&meta)),
            });
        };
        let fallback = path
            .canonicalize()
            .unwrap_or_else(|_| path.to_path_buf())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut pkg = Package::from_source(src, limits)?;
        pkg.source = path.to_path_buf();
        if pkg.root_name.is_empty() {
            pkg.root_name = if pkg.is_zip {
                path.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            } else {
                fallback
            };
        }
        Ok(pkg)
    }

    /// Open any source. The package root of an archive is its single top-level folder, when it has one.
    pub fn from_source(src: Box<dyn Source>, limits: &Limits) -> Result<Package, SipError> {
        let listing = src.list(limits)?;
        let is_zip = src.is_archive();
        let mut roots: Vec<&str> = listing
            .entries
            .iter()
            .map(|e| e.path.split('/').next().unwrap_or(""))
            .collect();
        roots.sort_unstable();
        roots.dedup();
        let single_root =
            !is_zip || (roots.len() == 1 && listing.entries.iter().all(|e| e.path.contains('/')));
        let prefix = if is_zip && single_root {
            format!("{}/", roots[0])
        } else {
            String::new()
        };
        let root_name = prefix.trim_end_matches('/').to_string();
        let entries = listing
            .entries
            .into_iter()
            .map(|mut e| {
                if let Some(rel) = e.path.strip_prefix(&prefix) {
                    e.path = rel.to_string();
                }
                (e.path.clone(), e)
            })
            .collect();
        Ok(Package {
            root_name,
            is_zip,
            single_root,
            source: PathBuf::from(src.location()),
            entries,
            findings: listing.findings,
            limits: *limits,
            src,
        })
    }

    /// The limits this package was opened with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// A finding for every entry that will not be read (links, FIFOs, devices, encrypted, refused),
    /// keyed to DA/T 70-2018 (4.3 security, 3.4 encryption, 3.1 unreadable names).
    pub fn entry_findings(&self) -> Vec<Finding> {
        self.entries
            .values()
            .filter_map(|e| {
                let (zh, en) = e.problem()?;
                let item = match e.kind {
                    EntryKind::Encrypted => "3.4",
                    EntryKind::BadName { .. } => "3.1",
                    _ => "4.3",
                };
                Some(Finding::new(
                    format!("DA/T 70-2018 {item}"),
                    Level::Error,
                    Some(e.path.clone()),
                    zh,
                    en,
                ))
            })
            .collect()
    }

    /// Stream at most `cap` bytes of one file to `f`.
    pub fn with_reader_capped<T>(
        &self,
        path: &str,
        cap: u64,
        f: impl FnOnce(&mut dyn Read) -> io::Result<T>,
    ) -> io::Result<T> {
        let entry = self
            .entries
            .get(path)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "not in the package"))?;
        if let Some((_, en)) = entry.problem() {
            return Err(io::Error::new(io::ErrorKind::PermissionDenied, en));
        }
        let mut f = Some(f);
        let mut out = None;
        self.src.read(entry, ReadOptions::capped(cap), &mut |r| {
            if let Some(f) = f.take() {
                out = Some(f(r)?);
            }
            Ok(())
        })?;
        out.ok_or_else(|| io::Error::other("the source did not read the entry"))
    }

    /// Stream one file's bytes to `f`: at most the size its listing declares plus one byte, so a lying
    /// zip header cannot make the reader run away (one byte more shows that it lied).
    pub fn with_reader<T>(
        &self,
        path: &str,
        f: impl FnOnce(&mut dyn Read) -> io::Result<T>,
    ) -> io::Result<T> {
        let size = self.entries.get(path).map_or(0, |e| e.size);
        self.with_reader_capped(path, size.saturating_add(1), f)
    }

    /// A whole file in memory (metadata files), refused above the XML limit.
    pub fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        let size = self.entries.get(path).map_or(0, |e| e.size);
        if size > self.limits.max_xml_bytes {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{size} bytes, more than the limit of {} for a metadata file",
                    self.limits.max_xml_bytes
                ),
            ));
        }
        self.with_reader(path, |r| {
            let mut v = Vec::new();
            r.read_to_end(&mut v)?;
            Ok(v)
        })
    }

    /// The first `n` bytes of a file.
    pub fn head(&self, path: &str, n: usize) -> io::Result<Vec<u8>> {
        self.with_reader_capped(path, n as u64, |r| {
            let mut v = Vec::with_capacity(n);
            r.read_to_end(&mut v)?;
            Ok(v)
        })
    }

    /// Read and parse a METS file of the package into the one METS model.
    pub fn mets(&self, path: &str) -> Result<Mets, MetsError> {
        let bytes = self.read(path).map_err(MetsError::Read)?;
        Mets::parse(&bytes, path, &self.limits)
    }

    /// The source the package was opened from (to read entries with other options).
    pub fn src(&self) -> &dyn Source {
        self.src.as_ref()
    }

    /// The folder on disk, when the package is one (external tools such as clamscan get this path).
    pub fn folder(&self) -> Option<&Path> {
        self.src.folder()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn zip_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            z.start_file(*name, opts).expect("entry");
            z.write_all(bytes).expect("write");
        }
        z.finish().expect("finish").into_inner()
    }

    #[test]
    fn a_zip_is_listed_inside_its_root_folder_with_refusals() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("p.zip");
        let zeros = vec![0u8; 3 << 20];
        std::fs::write(
            &p,
            zip_bytes(&[
                ("pkg/METS.xml", b"<mets/>"),
                ("pkg/data/bomb.bin", &zeros),
                ("../evil.txt", b"e"),
            ]),
        )
        .unwrap();
        let pkg = Package::open(&p, &Limits::default()).unwrap();
        assert!(pkg.is_zip && pkg.single_root);
        assert_eq!(pkg.root_name, "pkg");
        assert_eq!(pkg.read("METS.xml").unwrap(), b"<mets/>");
        assert!(matches!(
            pkg.entries["data/bomb.bin"].kind,
            EntryKind::Refused { .. }
        ));
        assert!(pkg.read("data/bomb.bin").is_err());
        assert!(
            pkg.findings
                .iter()
                .any(|f| f.path.as_deref() == Some("../evil.txt")),
            "{:?}",
            pkg.findings
        );
        assert_eq!(pkg.head("METS.xml", 3).unwrap(), b"<me");
    }

    #[test]
    fn a_folder_lists_links_and_fifos_without_opening_them() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("a.txt"), b"a").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", t.path().join("link")).unwrap();
        let st = std::process::Command::new("mkfifo")
            .arg(t.path().join("pipe"))
            .status()
            .unwrap();
        assert!(st.success());
        let pkg = Package::open(t.path(), &Limits::default()).unwrap();
        assert_eq!(pkg.entries["a.txt"].kind, EntryKind::File);
        assert_eq!(pkg.entries["link"].kind, EntryKind::Symlink);
        assert_eq!(pkg.entries["pipe"].kind, EntryKind::Special("FIFO"));
        let err = pkg.read("pipe").unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        assert_eq!(pkg.entry_findings().len(), 2);
    }
}
