//! Publishing a package to object storage. Object storage has no rename and no multi-object transaction,
//! so dangan publishes with a marker that readers respect:
//!
//! 1. `<prefix>/.<NAME>.dangan-publishing` is written first (a staging name: never a package, reported as
//!    a leftover). While it exists, `<prefix>/<NAME>/…` and `<prefix>/<NAME>.zip` are not packages to
//!    `verify` or `validate` ([`super::source::classify`]) — an interrupted upload never looks like one;
//! 2. every file is uploaded (in parallel; files above [`PART_SIZE`] as multipart uploads, their parts in
//!    parallel too — each object appears whole or not at all);
//! 3. every object is read back and hashed (SHA-256 and size against the local file, not the ETag);
//! 4. the marker is deleted: the one request that publishes the package.
//!
//! A destination that exists without a marker is refused (dangan never overwrites a package). A rerun
//! after an interruption finds the marker, removes objects that are not in the new package, uploads
//! again and completes. Multipart uploads cut off by a kill stay invisible (S3 lists no incomplete
//! upload as an object); a bucket lifecycle rule `AbortIncompleteMultipartUpload` reclaims them.

use std::fs::File;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::S3Url;
use super::client::{Client, S3Error};
use crate::fixity::Algorithm;
use crate::fixity::digest::hash_reader;

/// Files larger than this go up as multipart uploads of parts this large (S3 allows 5 MiB – 5 GiB
/// parts, at most 10,000 of them: 16 MiB parts reach 156 GiB; larger files get larger parts).
pub const PART_SIZE: u64 = 16 << 20;

/// The suffix of a publication marker.
pub const MARKER_SUFFIX: &str = ".dangan-publishing";

/// Uploads in flight at once.
const PARALLEL: usize = 4;

/// The marker that holds back `<dir>/<name>` and `<dir>/<name>.zip` (`dir` may be empty).
pub fn marker_key(dir: &str, name: &str) -> String {
    let name = name.strip_suffix(".zip").unwrap_or(name);
    if dir.is_empty() {
        format!(".{name}{MARKER_SUFFIX}")
    } else {
        format!("{dir}/.{name}{MARKER_SUFFIX}")
    }
}

/// The package key a marker holds back (`p/.x.dangan-publishing` → `p/x`).
pub fn marker_target(key: &str) -> Option<String> {
    let (dir, name) = match key.rsplit_once('/') {
        Some((d, n)) => (Some(d), n),
        None => (None, key),
    };
    let target = name.strip_prefix('.')?.strip_suffix(MARKER_SUFFIX)?;
    if target.is_empty() {
        return None;
    }
    Some(match dir {
        Some(d) => format!("{d}/{target}"),
        None => target.to_string(),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    S3(#[from] S3Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}: already exists; dangan never overwrites a package")]
    Exists(String),
    #[error("{url}: read back {actual}, expected {expected} (uploaded from {path}); not published")]
    Mismatch {
        url: String,
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{0}: {1}")]
    Local(PathBuf, String),
}

/// What was published.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Published {
    pub url: String,
    pub objects: u64,
    pub bytes: u64,
    /// Whether an interrupted earlier upload was completed.
    pub resumed: bool,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PublishError + '_ {
    move |source| PublishError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The regular files of a package folder (or the one zip), with their keys relative to the package.
fn local_files(local: &Path) -> Result<Vec<(PathBuf, String, u64)>, PublishError> {
    let meta = std::fs::symlink_metadata(local).map_err(io(local))?;
    if meta.is_file() {
        return Ok(vec![(local.to_path_buf(), String::new(), meta.len())]);
    }
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(local)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name()
    {
        let e = e.map_err(|e| PublishError::Local(local.to_path_buf(), e.to_string()))?;
        if e.file_type().is_dir() {
            continue;
        }
        if !e.file_type().is_file() {
            return Err(PublishError::Local(
                e.path().to_path_buf(),
                "not a regular file: a package to upload holds regular files only".into(),
            ));
        }
        let rel = e
            .path()
            .strip_prefix(local)
            .ok()
            .and_then(|p| p.to_str())
            .ok_or_else(|| PublishError::Local(e.path().to_path_buf(), "not a UTF-8 name".into()))?
            .to_string();
        let len = e
            .metadata()
            .map_err(|x| PublishError::Local(e.path().to_path_buf(), x.to_string()))?
            .len();
        out.push((e.path().to_path_buf(), rel, len));
    }
    Ok(out)
}

fn read_range(file: &File, path: &Path, start: u64, len: u64) -> Result<Vec<u8>, PublishError> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; len as usize];
    file.read_exact_at(&mut buf, start).map_err(io(path))?;
    Ok(buf)
}

/// Upload one file to `key`: one PUT, or a multipart upload whose parts go in parallel.
fn upload(client: &Client, path: &Path, key: &str, len: u64) -> Result<(), PublishError> {
    let file = crate::fsutil::open_regular_io(path).map_err(io(path))?;
    if len <= PART_SIZE {
        let bytes = read_range(&file, path, 0, len)?;
        client.put(key, &bytes)?;
        return Ok(());
    }
    let part = PART_SIZE.max(len.div_ceil(10_000));
    let parts = len.div_ceil(part);
    let upload = client.create_multipart(key)?;
    let etags: Result<Vec<String>, PublishError> = (0..parts)
        .into_par_iter()
        .map(|i| {
            let start = i * part;
            let bytes = read_range(&file, path, start, part.min(len - start))?;
            Ok(client.upload_part(key, &upload, (i + 1) as u32, &bytes)?)
        })
        .collect();
    let done = etags.and_then(|e: Vec<String>| Ok(client.complete_multipart(key, &upload, &e)?));
    if done.is_err() {
        // Best effort: a dead server cannot be told; the upload stays invisible either way.
        let _ = client.abort_multipart(key, &upload);
    }
    done
}

/// Read an object back and compare its SHA-256 and size with the local file's.
fn read_back(client: &Client, path: &Path, key: &str, len: u64) -> Result<(), PublishError> {
    let file = crate::fsutil::open_regular_io(path).map_err(io(path))?;
    let local = hash_reader(&mut &file, &[Algorithm::Sha256]).map_err(io(path))?;
    let mut r = client.reader(key, 0, len, "");
    let remote = hash_reader(&mut r, &[Algorithm::Sha256]).map_err(|e| {
        PublishError::Local(
            path.to_path_buf(),
            format!("reading back s3://{}/{key}: {e}", client.bucket),
        )
    })?;
    let (l, r) = (
        local.get(Algorithm::Sha256).unwrap_or_default(),
        remote.get(Algorithm::Sha256).unwrap_or_default(),
    );
    if local.size != remote.size || l != r {
        return Err(PublishError::Mismatch {
            url: format!("s3://{}/{key}", client.bucket),
            path: path.to_path_buf(),
            expected: format!("sha256 {l} ({} bytes)", local.size),
            actual: format!("sha256 {r} ({} bytes)", remote.size),
        });
    }
    Ok(())
}

/// Upload the package at `local` (a folder or a `.zip` written by `pack`) under `dest` and publish it.
pub fn publish(client: &Client, local: &Path, dest: &S3Url) -> Result<Published, PublishError> {
    let name = local
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| PublishError::Local(local.to_path_buf(), "no UTF-8 file name".into()))?
        .to_string();
    let key = dest.join(&name);
    let marker = marker_key(&dest.prefix, &name);
    let files = local_files(local)?;
    let is_zip = files.len() == 1 && files[0].1.is_empty();
    let existing: Vec<String> = if is_zip {
        client.head(&key)?.map(|o| o.key).into_iter().collect()
    } else {
        client
            .list(&format!("{key}/"))?
            .into_iter()
            .map(|o| o.key)
            .collect()
    };
    let resumed = client.head(&marker)?.is_some();
    if !existing.is_empty() && !resumed {
        return Err(PublishError::Exists(dest.of_key(&key)));
    }
    let note = format!(
        "{{\"package\":\"{}\",\"run\":\"{}\",\"started\":\"{}\"}}\n",
        name.replace(['"', '\\'], "_"),
        crate::publish::run_id(),
        jiff::Timestamp::now()
    );
    client.put(&marker, note.as_bytes())?;
    let keyed: Vec<(PathBuf, String, u64)> = files
        .into_iter()
        .map(|(p, rel, len)| {
            let k = if rel.is_empty() {
                key.clone()
            } else {
                format!("{key}/{rel}")
            };
            (p, k, len)
        })
        .collect();
    // Objects of an interrupted run that the new package does not have.
    let wanted: std::collections::BTreeSet<&str> =
        keyed.iter().map(|(_, k, _)| k.as_str()).collect();
    for k in existing.iter().filter(|k| !wanted.contains(k.as_str())) {
        client.delete(k)?;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(PARALLEL)
        .build()
        .map_err(|e| PublishError::Local(local.to_path_buf(), e.to_string()))?;
    pool.install(|| {
        keyed
            .par_iter()
            .with_max_len(1)
            .try_for_each(|(p, k, len)| upload(client, p, k, *len))
    })?;
    pool.install(|| {
        keyed
            .par_iter()
            .with_max_len(1)
            .try_for_each(|(p, k, len)| read_back(client, p, k, *len))
    })?;
    // The read-back reads the local length; the listing shows that no object is longer, and nothing else
    // is under the package.
    let listed: std::collections::BTreeMap<String, u64> = if is_zip {
        client
            .head(&key)?
            .map(|o| (o.key, o.size))
            .into_iter()
            .collect()
    } else {
        client
            .list(&format!("{key}/"))?
            .into_iter()
            .map(|o| (o.key, o.size))
            .collect()
    };
    let want: std::collections::BTreeMap<String, u64> =
        keyed.iter().map(|(_, k, l)| (k.clone(), *l)).collect();
    if listed != want {
        let odd = listed
            .iter()
            .find(|(k, s)| want.get(*k) != Some(s))
            .map(|(k, s)| format!("{k} ({s} bytes)"))
            .or_else(|| {
                want.keys()
                    .find(|k| !listed.contains_key(*k))
                    .map(|k| format!("{k} missing"))
            })
            .unwrap_or_default();
        return Err(PublishError::Mismatch {
            url: dest.of_key(&key),
            path: local.to_path_buf(),
            expected: format!("{} objects as uploaded", want.len()),
            actual: odd,
        });
    }
    client.delete(&marker)?;
    Ok(Published {
        url: dest.of_key(&key),
        objects: keyed.len() as u64,
        bytes: keyed.iter().map(|(_, _, l)| l).sum(),
        resumed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_name_what_they_hold_back() {
        assert_eq!(marker_key("p/q", "X.zip"), "p/q/.X.dangan-publishing");
        assert_eq!(marker_key("", "X"), ".X.dangan-publishing");
        assert_eq!(
            marker_target("p/q/.X.dangan-publishing").as_deref(),
            Some("p/q/X")
        );
        assert_eq!(marker_target(".X.dangan-publishing").as_deref(), Some("X"));
        assert_eq!(marker_target("p/X.dangan-publishing"), None);
        assert_eq!(marker_target("p/..dangan-publishing"), None);
    }
}
