//! Packages in S3-compatible object storage (Ceph RGW, MinIO, Garage, cloud buckets): one more source
//! behind the one package reader ([`crate::sip`]), and a destination for `pack`.
//!
//! - [`client`]: a small blocking S3 client (SigV4 over `ureq` + rustls; no async runtime), with retries,
//!   backoff and cost counters ([`Stats`]);
//! - [`source`]: [`crate::sip::Source`] implementations — a SIP "folder" as a key prefix
//!   ([`source::PrefixSource`]) and a SIP `.zip` object read by ranged requests (the zip reader of
//!   [`crate::sip::ZipSource`] over [`source::ObjectAt`]: central directory and entries only, one GET
//!   for the entries of a zip read in order, bounded memory whatever the object size) — and package
//!   discovery under a prefix;
//! - [`publish`]: upload a package written locally and publish it (see there for the protocol);
//! - [`ledger`]: the fixity ledger as an object (`--ledger s3://…`).
//!
//! Locations are `s3://bucket/prefix`. Anything that looks like a URL but is not a valid `s3://` one
//! (`s3:/x`, `gs://…`, `https://…`) is an error, never a local path ([`location`]).

pub mod client;
pub mod ledger;
pub mod publish;
pub mod sigv4;
pub mod source;

use std::ffi::OsStr;
use std::fmt;
use std::str::FromStr;

pub use client::{Client, Config, ObjectInfo, S3Error, Stats, StatsSnapshot};

/// `s3://bucket/prefix`: a bucket and a key prefix without leading or trailing `/` (empty: the whole
/// bucket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    pub prefix: String,
}

/// Why a location argument is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}': {message}")]
pub struct UrlError {
    pub input: String,
    pub message: String,
}

impl fmt::Display for S3Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

impl S3Url {
    /// The URL of a key in the same bucket.
    pub fn of_key(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// `prefix/name` (or `name` at the bucket root).
    pub fn join(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }
}

/// S3 bucket naming rules (3–63 characters; lower-case letters, digits, `.` and `-`; starting and ending
/// with a letter or digit).
fn bucket_ok(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
        && b.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && b.bytes().last().is_some_and(|c| c.is_ascii_alphanumeric())
}

impl FromStr for S3Url {
    type Err = UrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |m: &str| UrlError {
            input: s.to_string(),
            message: m.to_string(),
        };
        let rest = s
            .strip_prefix("s3://")
            .ok_or_else(|| bad("expected s3://bucket/prefix"))?;
        if rest.contains(['?', '#', '\\']) || rest.chars().any(char::is_control) {
            return Err(bad(
                "a key prefix has no query, fragment, backslash or control character",
            ));
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if !bucket_ok(bucket) {
            return Err(bad(
                "bucket names are 3-63 lower-case letters, digits, '.' and '-' (e.g. s3://archive/packages)",
            ));
        }
        let prefix = prefix.trim_end_matches('/');
        if prefix.starts_with('/')
            || prefix
                .split('/')
                .any(|c| (c.is_empty() && !prefix.is_empty()) || c == "." || c == "..")
        {
            return Err(bad("the key prefix has an empty, '.' or '..' component"));
        }
        Ok(S3Url {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

/// URL schemes of object storage and the web that are never taken for local paths.
const SCHEMES: &[&str] = &[
    "s3", "s3a", "s3n", "gs", "gcs", "az", "azure", "abfs", "abfss", "wasb", "wasbs", "http",
    "https", "ftp", "sftp", "file", "swift", "oss", "cos", "obs", "minio", "r2", "b2",
];

/// What a command-line location is: `None` for a local path, `Some(Ok)` for an `s3://` URL, `Some(Err)`
/// for anything URL-like that dangan does not read (an unknown scheme, `scheme://`, or a malformed
/// `s3:` URL) — an error, never a local folder named `s3:`.
pub fn location(arg: &OsStr) -> Option<Result<S3Url, UrlError>> {
    let s = arg.to_str()?;
    let (scheme, rest) = s.split_once(':')?;
    let scheme_like = scheme.len() >= 2
        && scheme
            .bytes()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
    if !scheme_like {
        return None;
    }
    let lower = scheme.to_ascii_lowercase();
    if !(rest.starts_with("//") || SCHEMES.contains(&lower.as_str())) {
        return None;
    }
    if lower == "s3" && scheme == "s3" {
        return Some(s.parse());
    }
    Some(Err(UrlError {
        input: s.to_string(),
        message: format!(
            "'{scheme}:' is not supported: dangan reads and writes local paths and s3://bucket/prefix (S3-compatible storage; set AWS_ENDPOINT_URL for Ceph, MinIO, Garage)"
        ),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_or_are_refused_never_local() {
        let u: S3Url = "s3://archive/pkgs/2026/".parse().unwrap();
        assert_eq!(
            (u.bucket.as_str(), u.prefix.as_str()),
            ("archive", "pkgs/2026")
        );
        assert_eq!(u.to_string(), "s3://archive/pkgs/2026");
        assert_eq!("s3://archive".parse::<S3Url>().unwrap().prefix, "");
        for bad in [
            "s3:/x",
            "s3:x",
            "s3://",
            "s3://A_B/x",
            "s3://ab/x",
            "s3://abc//x",
            "s3://abc/../x",
            "gs://b/x",
            "https://h/b",
            "S3://abc/x",
            "file:///tmp/x",
        ] {
            let r = location(OsStr::new(bad));
            assert!(matches!(r, Some(Err(_))), "{bad}: {r:?}");
        }
        for local in ["out", "./s3", "a:b", "/tmp/x:y", "c:/x"] {
            assert!(location(OsStr::new(local)).is_none(), "{local}");
        }
        assert!(matches!(location(OsStr::new("s3://abc/x")), Some(Ok(_))));
    }
}
