//! Reading a package as it was delivered: a folder, or a `.zip` read entry by entry without extracting it.
//!
//! Everything about the container that could hurt the ingest machine is found here and becomes a finding
//! (DA/T 70-2018 4.3): entries that climb out of the package (`..`, absolute paths, drive letters), symbolic
//! links, and zip bombs (too many entries, too many bytes, an absurd compression ratio). Such entries are
//! recorded but never read.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{Finding, ValidateError};

/// Safe default limits on untrusted containers; callers may raise them explicitly.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most entries a zip may have.
    pub max_entries: usize,
    /// Most uncompressed bytes a zip may declare in all.
    pub max_total_bytes: u64,
    /// Largest uncompressed/compressed ratio of one entry (only judged above `ratio_floor` bytes).
    pub max_ratio: u64,
    pub ratio_floor: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 200_000,
            max_total_bytes: 256 << 30,
            max_ratio: 200,
            ratio_floor: 1 << 20,
        }
    }
}

/// What an entry is. Only `File` entries are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Symlink,
    /// A zip entry protected by a password.
    Encrypted,
}

/// One file of the package, by its path relative to the package root (`/` separators).
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: String,
    pub size: u64,
    pub kind: EntryKind,
}

enum Store {
    Folder(PathBuf),
    Zip {
        archive: Mutex<zip::ZipArchive<File>>,
        /// package path → zip index
        index: BTreeMap<String, usize>,
        /// the root folder inside the zip, with a trailing `/` (or "" when entries sit at the top)
        prefix: String,
    },
}

/// An opened package.
pub struct Package {
    /// The name of the package root folder (CSIPSTR1, compared with OBJID).
    pub root_name: String,
    pub is_zip: bool,
    pub source: PathBuf,
    pub entries: BTreeMap<String, Entry>,
    store: Store,
}

/// Why a zip entry name could land outside the package, in Chinese and English.
fn dangerous(name: &str) -> Option<(&'static str, &'static str)> {
    let n = name.replace('\\', "/");
    if n.starts_with('/') {
        return Some(("绝对路径", "absolute path"));
    }
    if n.len() >= 2 && n.as_bytes()[1] == b':' {
        return Some(("盘符路径", "drive path"));
    }
    if n.split('/').any(|c| c == "..") {
        return Some((
            "'..' 路径成分 (路径穿越)",
            "'..' component (path traversal)",
        ));
    }
    None
}

impl Package {
    /// Open a folder or a `.zip`. Container-level problems become findings; an `Err` means nothing could be
    /// read at all (no such path, not a zip).
    pub fn open(
        path: &Path,
        limits: &Limits,
        findings: &mut Vec<Finding>,
    ) -> Result<Package, ValidateError> {
        let meta = std::fs::metadata(path).map_err(|e| ValidateError::Io(path.to_path_buf(), e))?;
        if meta.is_dir() {
            Self::open_folder(path, findings)
        } else {
            Self::open_zip(path, limits, findings)
        }
    }

    fn open_folder(root: &Path, findings: &mut Vec<Finding>) -> Result<Package, ValidateError> {
        let mut entries = BTreeMap::new();
        for e in walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name()
        {
            let e = match e {
                Ok(e) => e,
                Err(err) => {
                    findings.push(Finding::dat70(
                        "4.3",
                        None,
                        format!("无法读取: {err}"),
                        format!("cannot read: {err}"),
                    ));
                    continue;
                }
            };
            if e.depth() == 0 || e.file_type().is_dir() {
                continue;
            }
            let rel = match e.path().strip_prefix(root) {
                Ok(r) => r,
                Err(_) => continue,
            };
            let Some(rel) = rel.to_str().map(|s| s.replace('\\', "/")) else {
                findings.push(Finding::dat70(
                    "3.1",
                    Some(rel.to_string_lossy().into_owned()),
                    "文件名不是有效的 Unicode",
                    "file name is not valid Unicode",
                ));
                continue;
            };
            let kind = if e.file_type().is_symlink() {
                findings.push(Finding::dat70(
                    "4.3",
                    Some(rel.clone()),
                    "封装包中有符号链接: 未跟随",
                    "symbolic link in the package: not followed",
                ));
                EntryKind::Symlink
            } else {
                EntryKind::File
            };
            let size = e.metadata().map(|m| m.len()).unwrap_or(0);
            entries.insert(
                rel.clone(),
                Entry {
                    path: rel,
                    size,
                    kind,
                },
            );
        }
        let root_name = root
            .canonicalize()
            .unwrap_or_else(|_| root.to_path_buf())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Package {
            root_name,
            is_zip: false,
            source: root.to_path_buf(),
            entries,
            store: Store::Folder(root.to_path_buf()),
        })
    }

    fn open_zip(
        path: &Path,
        limits: &Limits,
        findings: &mut Vec<Finding>,
    ) -> Result<Package, ValidateError> {
        let file = File::open(path).map_err(|e| ValidateError::Io(path.to_path_buf(), e))?;
        let mut archive = zip::ZipArchive::new(file)
            .map_err(|e| ValidateError::NotAPackage(path.to_path_buf(), e.to_string()))?;
        if archive.len() > limits.max_entries {
            findings.push(Finding::dat70(
                "4.3",
                None,
                format!(
                    "zip 有 {} 个条目, 超过上限 {}: 未读取 (疑似 zip 炸弹)",
                    archive.len(),
                    limits.max_entries
                ),
                format!(
                    "zip has {} entries, more than the limit of {}: not read (zip bomb?)",
                    archive.len(),
                    limits.max_entries
                ),
            ));
            return Err(ValidateError::Limits(format!(
                "{} zip entries",
                archive.len()
            )));
        }
        // Pass 1: names, kinds, declared sizes.
        let mut raw: Vec<(usize, String, u64, EntryKind)> = Vec::new();
        let mut total: u64 = 0;
        for i in 0..archive.len() {
            let f = match archive.by_index_raw(i) {
                Ok(f) => f,
                Err(e) => {
                    findings.push(Finding::dat70(
                        "4.3",
                        None,
                        format!("zip 条目 #{i} 无法读取: {e}"),
                        format!("zip entry #{i} unreadable: {e}"),
                    ));
                    continue;
                }
            };
            let name = match f.name() {
                Ok(n) => n.into_owned(),
                Err(_) => String::from_utf8_lossy(f.name_raw()).into_owned(),
            };
            if f.is_dir() {
                continue;
            }
            if let Some((why_zh, why)) = dangerous(&name) {
                findings.push(Finding::dat70(
                    "4.3",
                    Some(name.clone()),
                    format!("zip 条目使用了{why_zh}: 未读取"),
                    format!("zip entry with {why}: not read"),
                ));
                continue;
            }
            let size = f.size();
            total = total.saturating_add(size);
            let compressed = f.compressed_size().max(1);
            if size > limits.ratio_floor && size / compressed > limits.max_ratio {
                findings.push(Finding::dat70(
                    "4.3",
                    Some(name.clone()),
                    format!(
                        "压缩比 {}:1 超过上限 {}:1 (疑似 zip 炸弹): 未读取",
                        size / compressed,
                        limits.max_ratio
                    ),
                    format!(
                        "compression ratio {}:1 above the limit of {}:1 (zip bomb?): not read",
                        size / compressed,
                        limits.max_ratio
                    ),
                ));
                continue;
            }
            let kind = if f.is_symlink() {
                findings.push(Finding::dat70(
                    "4.3",
                    Some(name.clone()),
                    "zip 中有符号链接: 未跟随",
                    "symbolic link in the zip: not followed",
                ));
                EntryKind::Symlink
            } else if f.encrypted() {
                findings.push(Finding::dat70(
                    "3.4",
                    Some(name.clone()),
                    "加密 (设有密码) 的 zip 条目",
                    "encrypted (password-protected) zip entry",
                ));
                EntryKind::Encrypted
            } else {
                EntryKind::File
            };
            raw.push((i, name, size, kind));
        }
        if total > limits.max_total_bytes {
            findings.push(Finding::dat70(
                "4.3",
                None,
                format!(
                    "zip 声明解压后共 {total} 字节, 超过上限 {} (疑似 zip 炸弹)",
                    limits.max_total_bytes
                ),
                format!(
                    "zip declares {total} bytes uncompressed, more than the limit of {} (zip bomb?)",
                    limits.max_total_bytes
                ),
            ));
            return Err(ValidateError::Limits(format!("{total} bytes uncompressed")));
        }
        // CSIPSTR1: an archive must unpack to a single root folder.
        let mut roots: Vec<&str> = raw
            .iter()
            .map(|(_, n, _, _)| n.split('/').next().unwrap_or(""))
            .collect();
        roots.sort_unstable();
        roots.dedup();
        let single_root = raw.iter().all(|(_, n, _, _)| n.contains('/')) && roots.len() == 1;
        let prefix = if single_root {
            format!("{}/", roots[0])
        } else {
            let top = roots.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
            findings.push(Finding::eark(
                "CSIPSTR1",
                None,
                format!("zip 解压后不是单一的根文件夹 (顶层名称: {top})"),
                format!("the zip does not unpack to a single root folder (top-level names: {top})"),
            ));
            String::new()
        };
        let root_name = prefix.trim_end_matches('/').to_string();
        let mut entries = BTreeMap::new();
        let mut index = BTreeMap::new();
        for (i, name, size, kind) in raw {
            let rel = name.strip_prefix(&prefix).unwrap_or(&name).to_string();
            index.insert(rel.clone(), i);
            entries.insert(
                rel.clone(),
                Entry {
                    path: rel,
                    size,
                    kind,
                },
            );
        }
        let root_name = if root_name.is_empty() {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            root_name
        };
        Ok(Package {
            root_name,
            is_zip: true,
            source: path.to_path_buf(),
            entries,
            store: Store::Zip {
                archive: Mutex::new(archive),
                index,
                prefix,
            },
        })
    }

    /// Stream one file's bytes to `f`. At most the declared size plus one byte is read from a zip entry, so a
    /// lying header cannot make the reader run away.
    pub fn with_reader<T>(
        &self,
        path: &str,
        f: impl FnOnce(&mut dyn Read) -> io::Result<T>,
    ) -> io::Result<T> {
        let entry = self
            .entries
            .get(path)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "not in the package"))?;
        if entry.kind != EntryKind::File {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "not a readable file (symlink or encrypted)",
            ));
        }
        match &self.store {
            Store::Folder(root) => {
                let mut file = File::open(root.join(path))?;
                f(&mut file)
            }
            Store::Zip { archive, index, .. } => {
                let i = *index
                    .get(path)
                    .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "not in the zip"))?;
                let mut guard = archive
                    .lock()
                    .map_err(|_| io::Error::other("zip reader poisoned by an earlier panic"))?;
                let zf = guard.by_index(i).map_err(io::Error::other)?;
                let mut limited = zf.take(entry.size.saturating_add(1));
                f(&mut limited)
            }
        }
    }

    /// A whole file in memory (metadata files; content checks read only what they need).
    pub fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        self.with_reader(path, |r| {
            let mut v = Vec::new();
            r.read_to_end(&mut v)?;
            Ok(v)
        })
    }

    /// The first `n` bytes of a file.
    pub fn head(&self, path: &str, n: usize) -> io::Result<Vec<u8>> {
        self.with_reader(path, |r| {
            let mut v = Vec::with_capacity(n);
            r.take(n as u64).read_to_end(&mut v)?;
            Ok(v)
        })
    }

    /// The folder on disk, when the package is one (external tools such as clamscan get this path).
    pub fn folder(&self) -> Option<&Path> {
        match &self.store {
            Store::Folder(p) => Some(p),
            Store::Zip { .. } => None,
        }
    }

    /// The zip root folder prefix (for messages).
    pub fn zip_prefix(&self) -> Option<&str> {
        match &self.store {
            Store::Zip { prefix, .. } => Some(prefix),
            Store::Folder(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::dangerous;

    #[test]
    fn traversal_names() {
        assert!(dangerous("../etc/passwd").is_some());
        assert!(dangerous("a/../../b").is_some());
        assert!(dangerous("/abs").is_some());
        assert!(dangerous("C:\\x").is_some());
        assert!(dangerous("a\\..\\b").is_some());
        assert!(dangerous("sip/METS.xml").is_none());
    }
}
