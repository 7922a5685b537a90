//! `--ledger s3://bucket/key`: the fixity ledger ([`crate::fixity::ledger`]) as an object.
//!
//! - `s3://b/fixity.jsonl` (a key ending in `.jsonl`) is one ledger object;
//! - any other key is a folder of ledger parts, as a local folder is: a run writes
//!   `KEY/part-I-of-N.jsonl` under `--shard I/N` (so shards on many machines never write the same object)
//!   and `KEY/ledger.jsonl` without; reading merges every `*.jsonl` object directly under `KEY/` (staging
//!   names skipped), parts in key order.
//!
//! Object storage has no append: the previous ledger is read when the run starts, new lines are added
//! to it in memory, and the whole ledger is written back with one PUT, which replaces the object
//! atomically (a reader sees the old ledger or the new one, never a mix, never a torn line). The object
//! is written after every [`FLUSH_LINES`] lines or [`FLUSH_SECONDS`] seconds of a long run, and at its
//! end, so an interrupted run keeps what it had written. One writer per ledger object: that is what
//! the parts are for.

use std::time::{Duration, Instant};

use super::S3Url;
use super::client::{Client, S3Error};
use crate::fixity::ledger::{self, Damaged, Entry, LedgerLines, Shard};

/// Largest ledger object read (it is held in memory while a run adds to it).
pub const READ_LIMIT: u64 = 1 << 30;
/// Write the object back after this many new lines…
pub const FLUSH_LINES: usize = 100;
/// …or this long after the last write, whichever comes first.
pub const FLUSH_SECONDS: u64 = 60;

/// Whether a ledger URL names one ledger object (a `.jsonl` key) rather than a folder of parts.
pub fn is_object(url: &S3Url) -> bool {
    url.prefix.to_ascii_lowercase().ends_with(".jsonl")
}

/// The object a run writes: the ledger object itself, or this shard's part under the folder. Shards
/// writing one ledger object would overwrite each other's lines (there is no append): refused.
pub fn part_key(url: &S3Url, shard: Option<Shard>) -> Result<String, S3Error> {
    match shard {
        Some(s) if is_object(url) => Err(S3Error::Config(format!(
            "--ledger {url} with --shard {}/{}: shards cannot share one ledger object (object storage has no append); give a ledger folder such as s3://{}/fixity so that each shard writes its own part",
            s.index, s.count, url.bucket
        ))),
        _ if is_object(url) => Ok(url.prefix.clone()),
        Some(s) => Ok(url.join(&format!("part-{}-of-{}.jsonl", s.index, s.count))),
        None => Ok(url.join("ledger.jsonl")),
    }
}

/// The bytes of an object, or `None` when it is not there.
fn get_whole(client: &Client, key: &str) -> Result<Option<Vec<u8>>, S3Error> {
    let Some(info) = client.head(key)? else {
        return Ok(None);
    };
    if info.size > READ_LIMIT {
        return Err(S3Error::Protocol {
            op: "get",
            bucket: client.bucket.clone(),
            key: key.to_string(),
            message: format!(
                "the ledger is {} bytes, more than the limit of {READ_LIMIT} bytes: split it into parts (a ledger folder)",
                info.size
            ),
        });
    }
    let mut out = vec![0u8; info.size as usize];
    let mut r = client.reader(key, 0, info.size, &info.etag);
    std::io::Read::read_exact(&mut r, &mut out).map_err(|e| S3Error::Protocol {
        op: "get",
        bucket: client.bucket.clone(),
        key: key.to_string(),
        message: e.to_string(),
    })?;
    Ok(Some(out))
}

/// Read the ledger at `url`: one object (missing: empty, the first run of a schedule), or every part
/// under the folder merged; a damaged line names its object.
pub fn read_any(client: &Client, url: &S3Url) -> Result<LedgerLines, S3Error> {
    if is_object(url) {
        return Ok(get_whole(client, &url.prefix)?
            .map(|b| ledger::parse(&b))
            .unwrap_or_default());
    }
    let head = format!("{}/", url.prefix);
    let head = if url.prefix.is_empty() { "" } else { &head };
    let mut out = LedgerLines::default();
    for o in client.list(head)? {
        let name = &o.key[head.len()..];
        if name.contains('/')
            || !name.to_ascii_lowercase().ends_with(".jsonl")
            || crate::fsutil::is_staging_name(std::ffi::OsStr::new(name))
        {
            continue;
        }
        let Some(bytes) = get_whole(client, &o.key)? else {
            continue; // deleted since it was listed
        };
        let lines = ledger::parse(&bytes);
        out.entries.extend(lines.entries);
        out.damaged
            .extend(lines.damaged.into_iter().map(|d| Damaged {
                line: d.line,
                message: format!("s3://{}/{}: {}", client.bucket, o.key, d.message),
            }));
    }
    Ok(out)
}

/// A ledger object open for adding lines.
pub struct ObjectLedger {
    client: Client,
    key: String,
    text: Vec<u8>,
    unwritten: usize,
    written: Instant,
}

impl ObjectLedger {
    /// Read the ledger object `key` (or start an empty one): lines are added after what is there.
    pub fn open(client: &Client, key: &str) -> Result<ObjectLedger, S3Error> {
        let mut text = get_whole(client, key)?.unwrap_or_default();
        // A writer that was cut off mid-line cannot leave a torn object (a PUT is whole), but a ledger
        // copied in by hand may lack its last newline: start on a fresh line.
        if text.last().is_some_and(|b| *b != b'\n') {
            text.push(b'\n');
        }
        Ok(ObjectLedger {
            client: client.clone(),
            key: key.to_string(),
            text,
            unwritten: 0,
            written: Instant::now(),
        })
    }

    /// Where the ledger is written.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.client.bucket, self.key)
    }

    /// Add one line; the object is written back when enough lines or time have gone by.
    pub fn append(&mut self, entry: &Entry) -> Result<(), S3Error> {
        let line = serde_json::to_vec(entry).map_err(|e| S3Error::Protocol {
            op: "put",
            bucket: self.client.bucket.clone(),
            key: self.key.clone(),
            message: e.to_string(),
        })?;
        self.text.extend_from_slice(&line);
        self.text.push(b'\n');
        self.unwritten += 1;
        if self.unwritten >= FLUSH_LINES
            || self.written.elapsed() >= Duration::from_secs(FLUSH_SECONDS)
        {
            self.flush()?;
        }
        Ok(())
    }

    /// Write the whole ledger back (one PUT: the object is replaced whole).
    pub fn flush(&mut self) -> Result<(), S3Error> {
        if self.unwritten == 0 {
            return Ok(());
        }
        self.client.put(&self.key, &self.text)?;
        self.unwritten = 0;
        self.written = Instant::now();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jsonl_key_is_one_ledger_any_other_a_folder_of_parts() {
        let u: S3Url = "s3://archive/fixity/ledger.jsonl".parse().unwrap();
        assert!(is_object(&u));
        assert_eq!(part_key(&u, None).unwrap(), "fixity/ledger.jsonl");
        let s = Shard { index: 2, count: 7 };
        let e = part_key(&u, Some(s)).unwrap_err().to_string();
        assert!(e.contains("each shard writes its own part"), "{e}");
        let u: S3Url = "s3://archive/fixity".parse().unwrap();
        assert!(!is_object(&u));
        assert_eq!(part_key(&u, Some(s)).unwrap(), "fixity/part-2-of-7.jsonl");
        assert_eq!(part_key(&u, None).unwrap(), "fixity/ledger.jsonl");
    }
}
