//! Atomic publication: the one way dangan makes output appear (packages, zips, bags, normalized folders).
//!
//! An output bound for `dest` is built in a staging path beside it ([`crate::fsutil::staging_path`]:
//! `.<name>.dangan-<run>.partial`, same file system, hidden, skipped by every reader) and appears by one
//! `rename`. While it is built, a lock on the destination (`.<key>.dangan.lock`, an advisory `flock`) is
//! held, so two runs writing the same destination never interleave: the second fails at once with one
//! message naming the lock. The staging path is removed on every error (a full disk included) by
//! [`Staging`]'s `Drop`.
//!
//! Staging left by a killed run (`kill -9`, power loss) cannot be removed by that run. It is *stale* when
//! no live run holds its destination's lock; the next run that takes a lock in the same folder removes it.
//! A destination and its zip (`X`, `X.zip`) share one lock key (`X`): one package ID in one folder is
//! written by one run at a time, whatever its form.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::fsutil::{STAGING_SUFFIX, staging_path};

/// The suffix of a destination's lock file: `.<key>.dangan.lock`.
pub const LOCK_SUFFIX: &str = ".dangan.lock";

/// What goes between a destination's name and the run in a staging name.
const STAGING_MARK: &str = ".dangan-";

/// Why output could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(
        "{dest}: another dangan run is writing it (lock {lock} is held); wait for that run to finish, or choose another --out or --id"
    )]
    Busy { dest: PathBuf, lock: PathBuf },
    #[error(
        "{0}: already exists; dangan never overwrites published output: remove it, or choose another --out or --id"
    )]
    Exists(PathBuf),
    #[error(
        "no space left on the device while writing {dest}: nothing was published and the partial output was removed; free space or choose another --out"
    )]
    NoSpace { dest: PathBuf },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> PublishError + '_ {
    move |source| PublishError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Whether an I/O error means the disk (or the user's quota) is full: ENOSPC, EDQUOT.
pub fn is_no_space(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    ) || matches!(e.raw_os_error(), Some(28 | 122))
}

/// Whether an error chain holds a full-disk I/O error anywhere.
pub fn chain_is_no_space(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(io) = c.downcast_ref::<io::Error>()
            && is_no_space(io)
        {
            return true;
        }
        cur = c.source();
    }
    false
}

/// Whether a message (an external tool's log, a recorded failure) reports a full disk. Programs such as
/// ffmpeg or LibreOffice tell it only in words: strerror(ENOSPC), strerror(EDQUOT).
pub fn mentions_no_space(text: &str) -> bool {
    text.contains("No space left on device")
        || text.contains("os error 28")
        || text.contains("Disk quota exceeded")
        || text.contains("os error 122")
}

/// A fresh identifier for one run's staging names (independent of the run's [`crate::context::Context`],
/// whose identifiers go into the package and must not shift).
pub fn run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_string()
}

/// The lock key of a destination name: a package folder and its zip share one (`X`, `X.zip` → `X`).
fn key_of(name: &str) -> &str {
    name.strip_suffix(".zip").unwrap_or(name)
}

/// Locks this process holds, by lock path, with how many guards share each: a pack run holds its
/// package's lock from the first stage, and the package writer, the zip sink and the bag writer it calls
/// take the same lock again (an advisory `flock` would refuse a second one even in the same process).
static HELD: Mutex<Option<HashMap<PathBuf, usize>>> = Mutex::new(None);

fn held() -> std::sync::MutexGuard<'static, Option<HashMap<PathBuf, usize>>> {
    // A panic elsewhere while the map was held cannot leave it inconsistent (single inserts/removes).
    HELD.lock().unwrap_or_else(|p| p.into_inner())
}

/// Split `dest` into its (absolute) folder and final name.
fn parent_and_name(dest: &Path) -> Result<(PathBuf, String), PublishError> {
    let name = dest
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| PublishError::Io {
            path: dest.to_path_buf(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "has no usable final name"),
        })?
        .to_string();
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // Every writer makes the destination's folder; the lock lives in it.
    fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let parent = fs::canonicalize(&parent).map_err(io_err(&parent))?;
    Ok((parent, name))
}

/// An exclusive lock on a destination, held until dropped. The lock file is removed when the lock is
/// released (while still held, so a run that opened the old file notices it was unlinked and retries).
#[derive(Debug)]
pub struct DestLock {
    path: PathBuf,
    /// `None` for a guard nested inside a lock this process already holds.
    file: Option<File>,
}

impl DestLock {
    /// Lock the destination `dest` (its folder is created if missing), failing at once with
    /// [`PublishError::Busy`] when another run holds it. On a fresh lock, stale staging in the folder is
    /// removed (this destination's and that of any other destination whose lock is free).
    pub fn acquire(dest: &Path) -> Result<DestLock, PublishError> {
        let (parent, name) = parent_and_name(dest)?;
        let lock = Self::take(&parent, key_of(&name), dest)?;
        if lock.file.is_some() {
            sweep(&parent, key_of(&name))?;
        }
        Ok(lock)
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn take(parent: &Path, key: &str, dest: &Path) -> Result<DestLock, PublishError> {
        let path = parent.join(format!(".{key}{LOCK_SUFFIX}"));
        let mut guard = held();
        let map = guard.get_or_insert_with(HashMap::new);
        if let Some(n) = map.get_mut(&path) {
            *n += 1;
            return Ok(DestLock { path, file: None });
        }
        loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io_err(&path))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(PublishError::Busy {
                        dest: dest.to_path_buf(),
                        lock: path,
                    });
                }
                Err(fs::TryLockError::Error(e)) => return Err(io_err(&path)(e)),
            }
            // The holder before us may have unlinked the file between our open and our lock: then the
            // lock is on a file nobody else will ever open; take a fresh one.
            use std::os::unix::fs::MetadataExt;
            let ours = file.metadata().map_err(io_err(&path))?;
            match fs::metadata(&path) {
                Ok(m) if m.dev() == ours.dev() && m.ino() == ours.ino() => {
                    map.insert(path.clone(), 1);
                    return Ok(DestLock {
                        path,
                        file: Some(file),
                    });
                }
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(&path)(e)),
            }
        }
    }

    /// Take the lock only if it is free and not held by this process (for sweeping other destinations).
    fn try_fresh(parent: &Path, key: &str) -> Option<DestLock> {
        let path = parent.join(format!(".{key}{LOCK_SUFFIX}"));
        if held().as_ref().is_some_and(|m| m.contains_key(&path)) {
            return None;
        }
        Self::take(parent, key, &parent.join(key))
            .ok()
            .filter(|l| l.file.is_some())
    }
}

impl Drop for DestLock {
    fn drop(&mut self) {
        let mut guard = held();
        let Some(map) = guard.as_mut() else { return };
        if self.file.is_none() {
            if let Some(n) = map.get_mut(&self.path) {
                *n = n.saturating_sub(1);
            }
            return;
        }
        map.remove(&self.path);
        // Unlinked while still locked; closing the file (below) releases the lock.
        let _ = fs::remove_file(&self.path);
        self.file = None;
    }
}

/// The staging names of `key` in a folder: `.<key>.dangan-…`, `.<key>.zip.dangan-…`, and the names older
/// versions of dangan used (`.<key>.partial`, `<key>.zip.partial`).
fn is_staging_of(name: &str, key: &str) -> bool {
    let new = [
        format!(".{key}{STAGING_MARK}"),
        format!(".{key}.zip{STAGING_MARK}"),
    ];
    let old = [
        format!(".{key}{STAGING_SUFFIX}"),
        format!("{key}.zip{STAGING_SUFFIX}"),
        format!(".{key}.zip{STAGING_SUFFIX}"),
    ];
    new.iter().any(|p| name.starts_with(p.as_str())) || old.iter().any(|o| name == o)
}

/// The destination name a staging name belongs to: `.<dest>.dangan-<run>[.partial]`.
fn dest_of_staging(name: &str) -> Option<&str> {
    let rest = name.strip_prefix('.')?;
    if rest.ends_with(LOCK_SUFFIX) {
        return None;
    }
    let at = rest.rfind(STAGING_MARK)?;
    let dest = &rest[..at];
    (!dest.is_empty() && at + STAGING_MARK.len() < rest.len()).then_some(dest)
}

fn remove_any(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Remove stale staging in `parent`: every staging of `key` (whose lock the caller holds) and that of any
/// other destination whose lock is free. Staging whose lock is held belongs to a live run and is left.
fn sweep(parent: &Path, key: &str) -> Result<(), PublishError> {
    let entries = fs::read_dir(parent).map_err(io_err(parent))?;
    let mut others: Vec<String> = Vec::new();
    for e in entries {
        let e = e.map_err(io_err(parent))?;
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if is_staging_of(&name, key) {
            let p = e.path();
            remove_any(&p).map_err(io_err(&p))?;
        } else if let Some(dest) = dest_of_staging(&name) {
            let k = key_of(dest).to_string();
            if !others.contains(&k) {
                others.push(k);
            }
        }
    }
    for k in others {
        if let Some(_lock) = DestLock::try_fresh(parent, &k) {
            for e in fs::read_dir(parent).map_err(io_err(parent))?.flatten() {
                if e.file_name().to_str().is_some_and(|n| is_staging_of(n, &k)) {
                    let p = e.path();
                    remove_any(&p).map_err(io_err(&p))?;
                }
            }
        }
    }
    Ok(())
}

/// Output being built for a destination: its staging path and the destination's lock. Dropped without
/// [`Staging::publish`], it removes the staging path (file or folder), so an error leaves nothing behind.
#[derive(Debug)]
pub struct Staging {
    path: PathBuf,
    dest: PathBuf,
    published: bool,
    /// Released after the staging path is gone (fields drop after `Drop::drop`).
    _lock: DestLock,
}

impl Staging {
    /// Lock `dest` and choose its staging path (not created: see [`Staging::begin_dir`]). `dest`'s
    /// folder is created if missing.
    pub fn begin(dest: &Path) -> Result<Staging, PublishError> {
        let lock = DestLock::acquire(dest)?;
        let (parent, name) = parent_and_name(dest)?;
        let dest = parent.join(name);
        Ok(Staging {
            path: staging_path(&dest, &run_id()),
            dest,
            published: false,
            _lock: lock,
        })
    }

    /// [`Staging::begin`] with the staging folder created.
    pub fn begin_dir(dest: &Path) -> Result<Staging, PublishError> {
        let s = Staging::begin(dest)?;
        fs::create_dir(&s.path).map_err(io_err(&s.path))?;
        Ok(s)
    }

    /// Where the output is being built.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where it will appear (absolute).
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Fail with [`PublishError::Exists`] when the destination exists (checked under the lock).
    pub fn check_absent(&self) -> Result<(), PublishError> {
        if fs::symlink_metadata(&self.dest).is_ok() {
            return Err(PublishError::Exists(self.dest.clone()));
        }
        Ok(())
    }

    /// Publish the staging path itself by one rename; the destination must not exist (an empty folder
    /// is replaced when the staging path is a folder).
    pub fn publish(self) -> Result<PathBuf, PublishError> {
        let from = self.path.clone();
        self.publish_from(&from)
    }

    /// Publish a staged file over the destination file, if any, in one rename (a report written again).
    /// A destination that is a folder is never replaced.
    pub fn replace_file(mut self) -> Result<PathBuf, PublishError> {
        if fs::symlink_metadata(&self.dest).is_ok_and(|m| m.is_dir()) {
            return Err(PublishError::Exists(self.dest.clone()));
        }
        fs::rename(&self.path, &self.dest).map_err(io_err(&self.dest))?;
        self.published = true;
        Ok(self.dest.clone())
    }

    /// Publish `inner` (a path inside the staging folder) as the destination, then remove the rest of the
    /// staging folder.
    pub fn publish_from(mut self, inner: &Path) -> Result<PathBuf, PublishError> {
        if let Ok(m) = fs::symlink_metadata(&self.dest) {
            let empty_dir = m.is_dir()
                && inner.is_dir()
                && fs::read_dir(&self.dest).is_ok_and(|mut d| d.next().is_none());
            if !empty_dir {
                return Err(PublishError::Exists(self.dest.clone()));
            }
        }
        fs::rename(inner, &self.dest).map_err(io_err(&self.dest))?;
        self.published = true;
        if inner != self.path {
            remove_any(&self.path).map_err(io_err(&self.path))?;
        }
        // Make the rename durable before anyone is told the output exists.
        if let Some(parent) = self.dest.parent() {
            File::open(parent)
                .and_then(|d| d.sync_all())
                .map_err(io_err(parent))?;
        }
        Ok(self.dest.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let _ = remove_any(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_fails_with_the_lock_named_and_is_free_after_release() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("X1");
        let lock = DestLock::acquire(&dest).expect("first");
        // Another process holds the lock: flock conflicts between open files even in one process, so
        // take it the way another process would, bypassing this process's registry.
        let other = OpenOptions::new()
            .read(true)
            .write(true)
            .open(lock.path())
            .expect("open lock");
        assert!(matches!(
            other.try_lock(),
            Err(fs::TryLockError::WouldBlock)
        ));
        drop(other);
        let nested = DestLock::acquire(&dir.path().join("X1.zip")).expect("nested in-process");
        drop(nested);
        let lock_path = lock.path().to_path_buf();
        drop(lock);
        assert!(!lock_path.exists(), "the lock file is removed on release");
        let again = DestLock::acquire(&dest).expect("free again");
        assert!(again.file.is_some());
    }

    #[test]
    fn staging_is_removed_on_drop_and_published_by_rename() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("P1");
        let s = Staging::begin_dir(&dest).expect("begin");
        fs::write(s.path().join("a.txt"), b"a").expect("write");
        let staged = s.path().to_path_buf();
        drop(s);
        assert!(!staged.exists());
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 0);

        let s = Staging::begin_dir(&dest).expect("begin");
        fs::write(s.path().join("a.txt"), b"a").expect("write");
        let p = s.publish().expect("publish");
        assert_eq!(fs::read(p.join("a.txt")).expect("read"), b"a");
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from("P1")]);
        let s = Staging::begin_dir(&dest).expect("begin");
        assert!(matches!(s.publish(), Err(PublishError::Exists(_))));
    }

    #[test]
    fn stale_staging_of_free_locks_is_swept_and_live_staging_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        for n in [
            ".A.dangan-dead.partial",
            ".A.zip.dangan-dead.partial",
            ".A.partial",
            "A.zip.partial",
            ".B.dangan-0b1c2d",
            ".C.dangan-live.partial",
            "keep.txt",
            ".hidden",
        ] {
            fs::create_dir(dir.path().join(n)).expect("mkdir");
        }
        // C's lock is held by "another process" (a separate open file with its flock).
        let c_lock = dir.path().join(format!(".C{LOCK_SUFFIX}"));
        let c = File::create(&c_lock).expect("lock file");
        c.lock().expect("lock C");
        let _a = DestLock::acquire(&dir.path().join("A")).expect("lock A");
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                ".A.dangan.lock",
                ".C.dangan-live.partial",
                ".C.dangan.lock",
                ".hidden",
                "keep.txt"
            ]
        );
    }

    #[test]
    fn staging_names_map_back_to_their_destination() {
        assert_eq!(
            dest_of_staging(".X1.zip.dangan-ab12.partial"),
            Some("X1.zip")
        );
        assert_eq!(dest_of_staging(".X1.dangan-ab12"), Some("X1"));
        assert_eq!(dest_of_staging(".X1.dangan.lock"), None);
        assert_eq!(dest_of_staging("X1.dangan-ab"), None);
        assert_eq!(key_of("X1.zip"), "X1");
    }

    #[test]
    fn full_disk_errors_are_recognised() {
        assert!(is_no_space(&io::Error::from_raw_os_error(28)));
        assert!(is_no_space(&io::Error::from(io::ErrorKind::StorageFull)));
        assert!(!is_no_space(&io::Error::from(io::ErrorKind::NotFound)));
        assert!(mentions_no_space(
            "i/o: No space left on device (os error 28)"
        ));
    }
}
