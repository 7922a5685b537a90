//! Fixity: digests in one pass, BagIt 1.0 bags, and verification of packages over many years.
//!
//! - [`digest`]: every requested algorithm (SHA-256 by default; SHA-512, SHA-384, SM3, SHA-1, MD5) in
//!   one streaming read per file, files hashed in parallel on the current rayon pool.
//! - [`bagit`]: read bags 0.93–1.0 and write new BagIt 1.0 bags (RFC 8493), published atomically.
//! - [`verify`]: find packages under a path (bags, SIP folders, SIP `.zip` files, bags wrapping a
//!   SIP) and check them, reading every package through [`crate::sip`] (the one package reader). Every changed, missing, unexpected or unreadable file is a [`Failure`]
//!   (data), never an `Err`: one bad file never stops a run.
//! - [`ledger`]: an append-only JSON-lines record of every check (PREMIS `fix` events in waiting),
//!   with schedules (`--older-than`) and shards (`--shard I/N`) for periodic runs.
//!
//! ```
//! use dangan::fixity::{Algorithm, digest::hash_reader};
//!
//! let h = hash_reader(&mut &b"abc"[..], &[Algorithm::Sha256, Algorithm::Sm3]).unwrap();
//! assert_eq!(h.size, 3);
//! assert_eq!(
//!     h.get(Algorithm::Sm3).unwrap(),
//!     "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
//! );
//! ```

use std::path::PathBuf;

pub mod bagit;
pub mod digest;
pub mod ledger;
pub mod path;
pub mod verify;

pub use digest::Algorithm;
pub use verify::{
    Failure, FailureKind, Mode, PackageKind, PackageReport, VerifyOptions, VerifyReport,
};

/// Why a fixity operation could not run at all. Problems found *in* a package are not errors:
/// they are [`Failure`]s and [`crate::model::Finding`]s in its report.
#[derive(Debug, thiserror::Error)]
pub enum FixityError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "unknown digest algorithm '{0}' (known: sha256, sha512, sha384, sm3, sha3_256, sha3_512, sha3_384, sha3_224, blake2b, blake2s, sha224, sha1, md5)"
    )]
    UnknownAlgorithm(String),
    #[error("{path}: does not exist")]
    NotFound { path: PathBuf },
    #[error(
        "{path}: no package found (looked for bagit.txt, METS.xml and *.zip, without following symbolic links)"
    )]
    NoPackage { path: PathBuf },
    #[error("{path}: already exists; dangan never overwrites a bag")]
    DestinationExists { path: PathBuf },
    #[error("{path}: {message}")]
    BadSource { path: PathBuf, message: String },
    #[error("bag-info element '{input}': {message}")]
    BadInfo { input: String, message: String },
    #[error("--shard '{0}': expected I/N with 1 <= I <= N, e.g. 2/7")]
    BadShard(String),
    #[error("--shard auto: {0}")]
    ShardAuto(String),
    #[error("duration '{0}': expected a number and a unit, e.g. 30d, 12h, 2w")]
    BadDuration(String),
    #[error("{path}: {message}")]
    Ledger { path: PathBuf, message: String },
}

impl FixityError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        FixityError::Io {
            path: path.into(),
            source,
        }
    }
}
