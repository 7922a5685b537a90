//! Message digests: every requested algorithm computed in one streaming pass over the bytes.
//!
//! A file is read once in fixed-size chunks into a buffer that is reused for every file a thread
//! hashes, and each chunk is fed to every algorithm in turn. SHA-256 uses the CPU's SHA extensions
//! (SHA-NI) when present: `sha2` 0.10 detects them at run time (`cpufeatures`), no build flag needed.

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Read};
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use super::FixityError;

/// Size of the read buffer, reused for every file a thread hashes. 256 KiB: large enough that the
/// cost of a `read` call vanishes, small enough that the chunk just copied from the page cache is
/// still in the core's L2 cache when the digests read it (2 MiB per core on the benchmark machine,
/// 256 KiB–1 MiB on many others).
pub const CHUNK: usize = 256 << 10;

/// A digest algorithm dangan can compute.
///
/// The order of the variants is the order of preference when one failure per file is reported
/// (SHA-256 first: it is dangan's default and the digest METS and BagIt both require support for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    Sha256,
    Sha512,
    Sha384,
    /// SM3 (GB/T 32905-2016, 国密): dangan's opt-in second digest.
    Sm3,
    /// SHA-3 (FIPS 202) and BLAKE2 (RFC 7693): checked in bags made by bagit-python, which names
    /// its manifests after Python's hashlib (`manifest-sha3_256.txt`, `manifest-blake2b.txt`).
    Sha3_256,
    Sha3_512,
    Sha3_384,
    Sha3_224,
    /// hashlib's `blake2b`: BLAKE2b with a 64-byte digest.
    Blake2b,
    /// hashlib's `blake2s`: BLAKE2s with a 32-byte digest.
    Blake2s,
    Sha224,
    /// Only for old bags and old METS: broken for collisions.
    Sha1,
    /// Only for old bags and old METS: broken for collisions.
    Md5,
}

impl Algorithm {
    /// Every algorithm, in order of preference.
    pub const ALL: [Algorithm; 13] = [
        Algorithm::Sha256,
        Algorithm::Sha512,
        Algorithm::Sha384,
        Algorithm::Sm3,
        Algorithm::Sha3_256,
        Algorithm::Sha3_512,
        Algorithm::Sha3_384,
        Algorithm::Sha3_224,
        Algorithm::Blake2b,
        Algorithm::Blake2s,
        Algorithm::Sha224,
        Algorithm::Sha1,
        Algorithm::Md5,
    ];

    /// The name as BagIt spells it in `manifest-<alg>.txt` (RFC 8493 §2.4: lower case, no dash;
    /// SHA-3 and BLAKE2 as bagit-python spells them, after Python's hashlib).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sm3 => "sm3",
            Algorithm::Sha3_256 => "sha3_256",
            Algorithm::Sha3_512 => "sha3_512",
            Algorithm::Sha3_384 => "sha3_384",
            Algorithm::Sha3_224 => "sha3_224",
            Algorithm::Blake2b => "blake2b",
            Algorithm::Blake2s => "blake2s",
            Algorithm::Sha224 => "sha224",
            Algorithm::Sha1 => "sha1",
            Algorithm::Md5 => "md5",
        }
    }

    /// The name as METS spells it in `CHECKSUMTYPE`; `None` for SM3, which METS 1.12 does not list.
    pub fn mets_name(self) -> Option<&'static str> {
        match self {
            Algorithm::Sha256 => Some("SHA-256"),
            Algorithm::Sha512 => Some("SHA-512"),
            Algorithm::Sha384 => Some("SHA-384"),
            // METS 1.12 CHECKSUMTYPE lists none of these.
            Algorithm::Sm3
            | Algorithm::Sha3_256
            | Algorithm::Sha3_512
            | Algorithm::Sha3_384
            | Algorithm::Sha3_224
            | Algorithm::Blake2b
            | Algorithm::Blake2s
            | Algorithm::Sha224 => None,
            Algorithm::Sha1 => Some("SHA-1"),
            Algorithm::Md5 => Some("MD5"),
        }
    }

    /// Length of the value in hexadecimal digits.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 | Algorithm::Sm3 | Algorithm::Sha3_256 | Algorithm::Blake2s => 64,
            Algorithm::Sha512 | Algorithm::Sha3_512 | Algorithm::Blake2b => 128,
            Algorithm::Sha384 | Algorithm::Sha3_384 => 96,
            Algorithm::Sha224 | Algorithm::Sha3_224 => 56,
            Algorithm::Sha1 => 40,
            Algorithm::Md5 => 32,
        }
    }

    /// Parse a name in BagIt (`sha256`), hashlib (`sha3_256`) or METS (`SHA-256`) spelling, any
    /// case.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        let fold = |s: &str| -> String {
            s.trim()
                .chars()
                .filter(|c| *c != '-' && *c != '_')
                .flat_map(char::to_lowercase)
                .collect()
        };
        let folded = fold(name);
        Algorithm::ALL
            .into_iter()
            .find(|a| fold(a.name()) == folded)
    }

    /// Parse a manifest name exactly as bagit-python finds it (`manifest-<hashlib name>.txt`):
    /// lower case, hashlib's underscores, no METS spelling.
    pub fn from_bagit_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Parse a comma-separated list (`sha256,sm3`), keeping the order given and dropping repeats.
    pub fn parse_list(list: &str) -> Result<Vec<Algorithm>, FixityError> {
        let mut out = Vec::new();
        for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let a: Algorithm = part.parse()?;
            if !out.contains(&a) {
                out.push(a);
            }
        }
        if out.is_empty() {
            return Err(FixityError::UnknownAlgorithm(list.to_string()));
        }
        Ok(out)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = FixityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::from_name(s).ok_or_else(|| FixityError::UnknownAlgorithm(s.to_string()))
    }
}

enum State {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
    Sha384(sha2::Sha384),
    Sm3(sm3::Sm3),
    Sha3_256(sha3::Sha3_256),
    Sha3_512(sha3::Sha3_512),
    Sha3_384(sha3::Sha3_384),
    Sha3_224(sha3::Sha3_224),
    Blake2b(blake2::Blake2b512),
    Blake2s(blake2::Blake2s256),
    Sha224(sha2::Sha224),
    Sha1(sha1::Sha1),
    Md5(md5::Md5),
}

/// Several digests fed from the same bytes.
pub struct MultiHasher {
    states: Vec<(Algorithm, State)>,
}

impl MultiHasher {
    pub fn new(algorithms: &[Algorithm]) -> Self {
        let states = algorithms
            .iter()
            .map(|&a| {
                let s = match a {
                    Algorithm::Sha256 => State::Sha256(sha2::Sha256::new()),
                    Algorithm::Sha512 => State::Sha512(sha2::Sha512::new()),
                    Algorithm::Sha384 => State::Sha384(sha2::Sha384::new()),
                    Algorithm::Sm3 => State::Sm3(sm3::Sm3::new()),
                    Algorithm::Sha3_256 => State::Sha3_256(sha3::Sha3_256::new()),
                    Algorithm::Sha3_512 => State::Sha3_512(sha3::Sha3_512::new()),
                    Algorithm::Sha3_384 => State::Sha3_384(sha3::Sha3_384::new()),
                    Algorithm::Sha3_224 => State::Sha3_224(sha3::Sha3_224::new()),
                    Algorithm::Blake2b => State::Blake2b(blake2::Blake2b512::new()),
                    Algorithm::Blake2s => State::Blake2s(blake2::Blake2s256::new()),
                    Algorithm::Sha224 => State::Sha224(sha2::Sha224::new()),
                    Algorithm::Sha1 => State::Sha1(sha1::Sha1::new()),
                    Algorithm::Md5 => State::Md5(md5::Md5::new()),
                };
                (a, s)
            })
            .collect();
        MultiHasher { states }
    }

    pub fn update(&mut self, data: &[u8]) {
        for (_, s) in &mut self.states {
            match s {
                State::Sha256(h) => h.update(data),
                State::Sha512(h) => h.update(data),
                State::Sha384(h) => h.update(data),
                State::Sm3(h) => h.update(data),
                State::Sha3_256(h) => h.update(data),
                State::Sha3_512(h) => h.update(data),
                State::Sha3_384(h) => h.update(data),
                State::Sha3_224(h) => h.update(data),
                State::Blake2b(h) => h.update(data),
                State::Blake2s(h) => h.update(data),
                State::Sha224(h) => h.update(data),
                State::Sha1(h) => h.update(data),
                State::Md5(h) => h.update(data),
            }
        }
    }

    /// The digests as lower-case hex, in the order the algorithms were given.
    pub fn finalize(self) -> Vec<(Algorithm, String)> {
        self.states
            .into_iter()
            .map(|(a, s)| {
                let v = match s {
                    State::Sha256(h) => hex(&h.finalize()),
                    State::Sha512(h) => hex(&h.finalize()),
                    State::Sha384(h) => hex(&h.finalize()),
                    State::Sm3(h) => hex(&h.finalize()),
                    State::Sha3_256(h) => hex(&h.finalize()),
                    State::Sha3_512(h) => hex(&h.finalize()),
                    State::Sha3_384(h) => hex(&h.finalize()),
                    State::Sha3_224(h) => hex(&h.finalize()),
                    State::Blake2b(h) => hex(&h.finalize()),
                    State::Blake2s(h) => hex(&h.finalize()),
                    State::Sha224(h) => hex(&h.finalize()),
                    State::Sha1(h) => hex(&h.finalize()),
                    State::Md5(h) => hex(&h.finalize()),
                };
                (a, v)
            })
            .collect()
    }
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Digests of one stream, with the number of bytes read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    pub size: u64,
    pub digests: Vec<(Algorithm, String)>,
}

impl Hashed {
    pub fn get(&self, algorithm: Algorithm) -> Option<&str> {
        self.digests
            .iter()
            .find(|(a, _)| *a == algorithm)
            .map(|(_, v)| v.as_str())
    }
}

// --- begin pack (issue 12): hash while writing ---
/// A writer that computes every digest of what passes through it, so that a file made by dangan (a TIFF
/// master, an item PDF) is hashed in the pass that writes it instead of being read again afterwards.
pub struct HashingWriter<W> {
    inner: W,
    hasher: MultiHasher,
    size: u64,
}

impl<W: std::io::Write> HashingWriter<W> {
    pub fn new(inner: W, algorithms: &[Algorithm]) -> Self {
        HashingWriter {
            inner,
            hasher: MultiHasher::new(algorithms),
            size: 0,
        }
    }

    /// The inner writer (flushed) and the digests of every byte written.
    pub fn finish(mut self) -> std::io::Result<(W, Hashed)> {
        self.inner.flush()?;
        Ok((
            self.inner,
            Hashed {
                size: self.size,
                digests: self.hasher.finalize(),
            },
        ))
    }
}

impl<W: std::io::Write> std::io::Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
// --- end pack (issue 12) ---

thread_local! {
    // One buffer per thread, reused for every file that thread hashes.
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Run `f` with this thread's chunk buffer.
pub fn with_buffer<T>(f: impl FnOnce(&mut [u8]) -> T) -> T {
    BUFFER.with(|b| {
        // A re-entrant call (not expected) gets a fresh buffer instead of a panic.
        match b.try_borrow_mut() {
            Ok(mut buf) => {
                if buf.len() < CHUNK {
                    buf.resize(CHUNK, 0);
                }
                f(&mut buf[..])
            }
            Err(_) => f(&mut vec![0u8; CHUNK][..]),
        }
    })
}

/// Bytes after which a read switches to [`pipelined`]: past this, the input is large enough that a
/// thread of its own for hashing pays for itself many times over.
const PIPELINE_AFTER: u64 = 8 << 20;

/// Chunks in flight between the reading and the hashing thread of a large input (each [`CHUNK`]).
const PIPELINE_DEPTH: usize = 4;

/// Read one chunk, retrying on `Interrupted`.
fn read_chunk(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// Hash everything `reader` yields, in one pass, with every algorithm.
///
/// A small input is read and hashed on the calling thread. Past [`PIPELINE_AFTER`] bytes the rest
/// is read on this thread and hashed on another ([`pipelined`]), so that the copy out of the page
/// cache (about a quarter of the time of reading a cached file) overlaps the digest instead of
/// adding to it. That is right when a core would otherwise be idle — one huge file, the last large
/// file of a run; a caller that keeps every core busy with files of its own says when a core is
/// spare through [`hash_reader_split`].
pub fn hash_reader_with(
    reader: &mut dyn Read,
    algorithms: &[Algorithm],
    buf: &mut [u8],
) -> io::Result<Hashed> {
    hash_reader_split(reader, algorithms, buf, &|| true)
}

/// [`hash_reader_with`], splitting a large input over two threads only once `spare_core()` says a
/// core has nothing else to do. Asked after every chunk past [`PIPELINE_AFTER`], so a large file
/// that started while every core was busy moves to two threads when another file ends and no file
/// is left to start (measured on 3 × 256 MiB + 2,000 × 64 KiB on two busy cores: splitting every
/// large file cost 12 % more CPU — thread switches and the chunks crossing between cores' caches —
/// for no gain while both cores were hashing anyway).
pub fn hash_reader_split(
    reader: &mut dyn Read,
    algorithms: &[Algorithm],
    buf: &mut [u8],
    spare_core: &dyn Fn() -> bool,
) -> io::Result<Hashed> {
    let mut hasher = MultiHasher::new(algorithms);
    let mut size = 0u64;
    loop {
        let n = read_chunk(reader, buf)?;
        if n == 0 {
            return Ok(Hashed {
                size,
                digests: hasher.finalize(),
            });
        }
        hasher.update(&buf[..n]);
        size += n as u64;
        if size >= PIPELINE_AFTER && spare_core() {
            return pipelined(reader, hasher, size);
        }
    }
}

/// The rest of a large input: read here, hashed on a scoped thread, [`PIPELINE_DEPTH`] chunks in
/// flight. Bytes reach the hasher in the order they were read; a read error ends both threads and
/// is returned.
fn pipelined(reader: &mut dyn Read, hasher: MultiHasher, mut size: u64) -> io::Result<Hashed> {
    use std::sync::mpsc::sync_channel;
    let (full_tx, full_rx) = sync_channel::<(Vec<u8>, usize)>(PIPELINE_DEPTH);
    let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(PIPELINE_DEPTH + 1);
    for _ in 0..=PIPELINE_DEPTH {
        // Cannot fail: the receiver is alive and the channel has room for every buffer.
        let _ = empty_tx.send(vec![0u8; CHUNK]);
    }
    std::thread::scope(|scope| {
        let hashing = scope.spawn(move || {
            let mut hasher = hasher;
            for (chunk, n) in full_rx {
                hasher.update(&chunk[..n]);
                // The reader may have stopped (an error): then nobody needs the buffer back.
                let _ = empty_tx.send(chunk);
            }
            hasher
        });
        let read = (|| -> io::Result<()> {
            loop {
                let Ok(mut chunk) = empty_rx.recv() else {
                    return Err(io::Error::other("the hashing thread stopped"));
                };
                let n = read_chunk(reader, &mut chunk)?;
                if n == 0 {
                    return Ok(());
                }
                size += n as u64;
                if full_tx.send((chunk, n)).is_err() {
                    return Err(io::Error::other("the hashing thread stopped"));
                }
            }
        })();
        drop(full_tx);
        let hasher = hashing
            .join()
            .map_err(|_| io::Error::other("the hashing thread failed"))?;
        read?;
        Ok(Hashed {
            size,
            digests: hasher.finalize(),
        })
    })
}

/// Hash a reader with this thread's buffer.
pub fn hash_reader(reader: &mut dyn Read, algorithms: &[Algorithm]) -> io::Result<Hashed> {
    with_buffer(|buf| hash_reader_with(reader, algorithms, buf))
}

/// Why a file could not be hashed.
#[derive(Debug)]
pub enum HashFileError {
    Io(io::Error),
    /// Size or modification time differed between the start and the end of the read.
    ChangedWhileReading,
    /// The path no longer names the file that was listed (replaced, e.g. by a symbolic link).
    Replaced,
}

impl fmt::Display for HashFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HashFileError::Io(e) => write!(f, "{e}"),
            HashFileError::ChangedWhileReading => {
                f.write_str("the file changed while it was being read; check it again")
            }
            HashFileError::Replaced => {
                f.write_str("the file was replaced while the package was being checked")
            }
        }
    }
}

/// What a walk saw of a file before it was opened, to make sure the same file gets hashed.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    #[cfg(unix)]
    pub dev: u64,
    #[cfg(unix)]
    pub ino: u64,
}

impl Seen {
    pub fn of(meta: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Seen {
                dev: meta.dev(),
                ino: meta.ino(),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            Seen {}
        }
    }

    fn same(&self, meta: &std::fs::Metadata) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            self.dev == meta.dev() && self.ino == meta.ino()
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            true
        }
    }
}

/// Hash one file in one pass with every algorithm.
///
/// When `seen` is given (from a walk that did not follow symbolic links), the opened file must be
/// that same file: a path swapped for a symbolic link between the walk and the open is refused, so a
/// check never reads outside the package. A file whose size or modification time changes during
/// the read is reported, not trusted.
pub fn hash_file(
    path: &Path,
    algorithms: &[Algorithm],
    seen: Option<Seen>,
) -> Result<Hashed, HashFileError> {
    // A FIFO or device is refused at once, never waited on.
    let mut file = crate::fsutil::open_regular_io(path).map_err(HashFileError::Io)?;
    let before = file.metadata().map_err(HashFileError::Io)?;
    if let Some(seen) = seen
        && !seen.same(&before)
    {
        return Err(HashFileError::Replaced);
    }
    if !before.is_file() {
        return Err(HashFileError::Io(io::Error::other("not a regular file")));
    }
    let hashed = hash_reader(&mut file, algorithms).map_err(HashFileError::Io)?;
    let after = file.metadata().map_err(HashFileError::Io)?;
    if hashed.size != before.len()
        || after.len() != before.len()
        || after.modified().ok() != before.modified().ok()
    {
        return Err(HashFileError::ChangedWhileReading);
    }
    Ok(hashed)
}

/// Hash files (in parallel, on the current rayon pool); results come back in the order of `paths`.
pub fn hash_files(paths: &[&Path], algorithms: &[Algorithm]) -> Vec<Result<Hashed, HashFileError>> {
    use rayon::prelude::*;
    paths
        .par_iter()
        .with_max_len(1)
        .map(|p| hash_file(p, algorithms, None))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digests(data: &[u8]) -> Vec<(Algorithm, String)> {
        hash_reader(&mut &data[..], &Algorithm::ALL)
            .unwrap()
            .digests
    }

    #[test]
    fn known_vectors_abc() {
        let d = digests(b"abc");
        let get = |a| d.iter().find(|(x, _)| *x == a).unwrap().1.clone();
        // FIPS 180-4 examples.
        assert_eq!(
            get(Algorithm::Sha256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            get(Algorithm::Sha1),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert!(get(Algorithm::Sha512).starts_with("ddaf35a193617aba"));
        assert!(get(Algorithm::Sha384).starts_with("cb00753f45a35e8b"));
        // RFC 1321 A.5.
        assert_eq!(get(Algorithm::Md5), "900150983cd24fb0d6963f7d28e17f72");
        // GB/T 32905-2016 Appendix A, example 1.
        assert_eq!(
            get(Algorithm::Sm3),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        // FIPS 202 / RFC 7693 / FIPS 180-4 "abc" vectors, as Python's hashlib gives them.
        assert_eq!(
            get(Algorithm::Sha3_256),
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
        );
        assert!(get(Algorithm::Sha3_224).starts_with("e642824c3f8cf24a"));
        assert!(get(Algorithm::Sha3_384).starts_with("ec01498288516fc9"));
        assert!(get(Algorithm::Sha3_512).starts_with("b751850b1a57168a"));
        assert!(get(Algorithm::Blake2b).starts_with("ba80a53f981c4d0d"));
        assert_eq!(
            get(Algorithm::Blake2s),
            "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982"
        );
        assert_eq!(
            get(Algorithm::Sha224),
            "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"
        );
        for (a, v) in &d {
            assert_eq!(v.len(), a.hex_len(), "{a}");
        }
    }

    #[test]
    fn chunking_does_not_change_the_digest() {
        let data: Vec<u8> = (0..(3 * CHUNK + 17)).map(|i| (i * 7 % 251) as u8).collect();
        let whole = {
            let mut h = MultiHasher::new(&[Algorithm::Sha256, Algorithm::Sm3]);
            h.update(&data);
            h.finalize()
        };
        let mut small = [0u8; 1000];
        let chunked = hash_reader_with(
            &mut &data[..],
            &[Algorithm::Sha256, Algorithm::Sm3],
            &mut small,
        )
        .unwrap();
        assert_eq!(chunked.digests, whole);
        assert_eq!(chunked.size, data.len() as u64);
    }

    #[test]
    fn a_large_input_hashed_on_two_threads_gives_the_same_digests() {
        // Past PIPELINE_AFTER the rest is hashed on a second thread: same bytes, same order.
        let data: Vec<u8> = (0..(PIPELINE_AFTER as usize * 2 + 12345))
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        let mut whole = MultiHasher::new(&[Algorithm::Sha256, Algorithm::Md5]);
        whole.update(&data);
        let whole = whole.finalize();
        // Short reads (a pipe, a zip entry) as well as full ones.
        struct Dribble<'a>(&'a [u8]);
        impl Read for Dribble<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(buf.len()).min(100_003);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        for piped in [
            hash_reader(&mut &data[..], &[Algorithm::Sha256, Algorithm::Md5]).unwrap(),
            hash_reader(&mut Dribble(&data), &[Algorithm::Sha256, Algorithm::Md5]).unwrap(),
        ] {
            assert_eq!(piped.size, data.len() as u64);
            assert_eq!(piped.digests, whole);
        }
    }

    #[test]
    fn a_large_input_moves_to_two_threads_only_when_a_core_is_spare() {
        // verify asks after every chunk past PIPELINE_AFTER; the answer changes mid-file when another
        // file ends. Whichever path the bytes take, the digests are those of the whole input.
        let data: Vec<u8> = (0..(PIPELINE_AFTER as usize + 40 * CHUNK + 7))
            .map(|i| (i * 17 % 253) as u8)
            .collect();
        let mut whole = MultiHasher::new(&[Algorithm::Sha256]);
        whole.update(&data);
        let whole = whole.finalize();
        for spare_after in [0usize, 5, usize::MAX] {
            let asked = std::cell::Cell::new(0usize);
            let spare = || {
                asked.set(asked.get() + 1);
                asked.get() > spare_after
            };
            let mut buf = vec![0u8; CHUNK];
            let h =
                hash_reader_split(&mut &data[..], &[Algorithm::Sha256], &mut buf, &spare).unwrap();
            assert_eq!(h.digests, whole, "spare after {spare_after} asks");
            assert_eq!(h.size, data.len() as u64);
            // Asked once per chunk past the threshold until it says yes, never before.
            // Past the threshold: the chunk that reaches it, 40 full chunks and the 7-byte tail.
            let expected = if spare_after == usize::MAX {
                42
            } else {
                spare_after + 1
            };
            assert_eq!(asked.get(), expected, "spare after {spare_after} asks");
        }
    }

    #[test]
    fn a_read_error_past_the_switch_to_two_threads_is_returned() {
        struct Failing(u64);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 >= PIPELINE_AFTER + 3 * CHUNK as u64 {
                    return Err(io::Error::other("disk says no"));
                }
                self.0 += buf.len() as u64;
                Ok(buf.len())
            }
        }
        let e = hash_reader(&mut Failing(0), &[Algorithm::Sha256]).unwrap_err();
        assert!(e.to_string().contains("disk says no"), "{e}");
    }

    #[test]
    fn names_in_both_spellings() {
        assert_eq!(Algorithm::from_name("SHA-256"), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::from_name("sha512"), Some(Algorithm::Sha512));
        assert_eq!(Algorithm::from_name("MD5"), Some(Algorithm::Md5));
        assert_eq!(Algorithm::from_name("SM3"), Some(Algorithm::Sm3));
        assert_eq!(Algorithm::from_name("crc32"), None);
        assert_eq!(Algorithm::from_name("SHA3-256"), Some(Algorithm::Sha3_256));
        assert_eq!(
            Algorithm::from_bagit_name("sha3_256"),
            Some(Algorithm::Sha3_256)
        );
        assert_eq!(Algorithm::from_bagit_name("sha3-256"), None);
        assert_eq!(
            Algorithm::from_bagit_name("blake2b"),
            Some(Algorithm::Blake2b)
        );
        assert!(Algorithm::parse_list("sha256,blake3").is_err());
        assert_eq!(
            Algorithm::parse_list("sha256, sm3,sha256").unwrap(),
            [Algorithm::Sha256, Algorithm::Sm3]
        );
    }
}
