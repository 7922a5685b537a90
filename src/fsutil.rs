//! Opening files a user handed us, safely: the one place that decides what may be opened for reading.
//!
//! A FIFO, socket or device where a file should be must be a finding ("not a regular file"), never an
//! `open()` that blocks forever (a FIFO with no writer) or a read that never ends (`/dev/zero`). Every
//! reader of user input opens through [`open_regular`].

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::path::Path;

/// Why a path could not be opened as a regular file.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The path exists but is a FIFO, socket, device or directory.
    #[error("not a regular file ({kind})")]
    NotRegular { kind: &'static str },
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl OpenError {
    /// The error as an `io::Error`, for callers whose error type wraps `io::Error` (the message names the kind).
    pub fn into_io(self) -> io::Error {
        match self {
            OpenError::Io(e) => e,
            e @ OpenError::NotRegular { .. } => {
                io::Error::new(io::ErrorKind::InvalidInput, e.to_string())
            }
        }
    }
}

/// What kind of file system object a path is, in words for findings ("FIFO", "socket", "device", …).
pub fn kind_of(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let ft = meta.file_type();
    if ft.is_file() {
        "regular file"
    } else if ft.is_dir() {
        "directory"
    } else if ft.is_symlink() {
        "symbolic link"
    } else if ft.is_fifo() {
        "FIFO"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_char_device() {
        "character device"
    } else {
        "special file"
    }
}

/// Open `path` for reading only if it is a regular file (symbolic links are followed, as `open` does).
///
/// The file is opened with `O_NONBLOCK`, so opening a FIFO with no writer returns at once instead of blocking;
/// the type is then checked on the open descriptor (no race between a check and the open). For a regular
/// file `O_NONBLOCK` has no effect on reads.
pub fn open_regular(path: &Path) -> Result<File, OpenError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc_o_nonblock())
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(OpenError::NotRegular {
            kind: kind_of(&meta),
        });
    }
    Ok(file)
}

/// Like [`open_regular`] but as an `io::Result`, for code paths that speak `io::Error`.
pub fn open_regular_io(path: &Path) -> io::Result<File> {
    open_regular(path).map_err(OpenError::into_io)
}

/// Read a whole regular file (refusing FIFOs and devices), at most `limit` bytes: a file that grows past the
/// limit is an error, not a silent truncation.
pub fn read_regular(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let file = open_regular_io(path)?;
    let len = file.metadata()?.len();
    if len > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{len} bytes exceed the limit of {limit} bytes"),
        ));
    }
    let mut buf = Vec::with_capacity(len as usize);
    file.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("more than {limit} bytes"),
        ));
    }
    Ok(buf)
}

/// The suffix every staged output of dangan ends with until it is published by rename.
pub const STAGING_SUFFIX: &str = ".partial";

/// Read into `buf` until it is full or the input ends, retrying on `Interrupted`; the number of bytes
/// read (less than `buf.len()` only at the end). A `read` may return less than asked (a pipe, a zip
/// entry, a socket): callers that need whole chunks — a Base64 line, a file's head — use this, the one
/// loop for it.
pub fn read_full(reader: &mut impl io::Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Where an output bound for `dest` is staged before it is published by one rename: beside it (same file
/// system, so the rename is atomic), hidden, marked as dangan's and unique per run —
/// `.<name>.dangan-<run>.partial`. Readers skip such names ([`is_staging_name`]); a later run may remove
/// leftovers of a killed one.
pub fn staging_path(dest: &Path, run: &str) -> std::path::PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.dangan-{run}{STAGING_SUFFIX}"))
}

/// Whether a directory entry's name is a staging name or hidden: such an entry is never a package, a bag or
/// a batch file to anyone who reads (`.X.partial`, `X.zip.partial`, `.X.dangan-<uuid>`, `.git`, …).
pub fn is_staging_name(name: &std::ffi::OsStr) -> bool {
    let n = name.as_encoded_bytes();
    n.first() == Some(&b'.') || n.ends_with(STAGING_SUFFIX.as_bytes())
}

/// `O_NONBLOCK` on Linux (all architectures Rust supports there use 0o4000 except alpha, sparc, mips, parisc,
/// which dangan does not target).
const fn libc_o_nonblock() -> i32 {
    0o4000
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn a_fifo_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let st = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(st.success());
        let t = Instant::now();
        let err = open_regular(&fifo).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(2));
        assert!(err.to_string().contains("FIFO"), "{err}");
    }

    #[test]
    fn devices_and_directories_are_refused() {
        let err = open_regular(Path::new("/dev/zero")).unwrap_err();
        assert!(err.to_string().contains("character device"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let err = open_regular(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("directory") || matches!(err, OpenError::Io(_)),
            "{err}"
        );
    }

    #[test]
    fn staging_names_are_hidden_and_recognised() {
        let p = staging_path(Path::new("/out/X1.zip"), "r1");
        assert_eq!(p, Path::new("/out/.X1.zip.dangan-r1.partial"));
        assert!(is_staging_name(p.file_name().unwrap()));
        for n in [".X.partial", "X.zip.partial", ".X.dangan-0b1c", ".git"] {
            assert!(is_staging_name(std::ffi::OsStr::new(n)), "{n}");
        }
        assert!(!is_staging_name(std::ffi::OsStr::new("X1.zip")));
    }

    #[test]
    fn regular_files_read_within_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        std::fs::write(&p, b"hello").unwrap();
        assert_eq!(read_regular(&p, 5).unwrap(), b"hello");
        assert!(read_regular(&p, 4).is_err());
    }
}
