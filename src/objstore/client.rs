//! A small blocking S3 client: path-style requests signed with SigV4 ([`super::sigv4`]) over `ureq`
//! (rustls), retried with exponential backoff on transient failures (connection errors, timeouts, 5xx,
//! 429), and counted ([`Stats`]) so that a run can say what it cost. A permanent failure names the key.
//! Once a request has failed for transport reasons after every retry, the client stops: later requests
//! fail at once with the same error, so that a run against a stopped server ends promptly (exit 2)
//! instead of waiting out every retry of every file.

use std::io::{self, Read};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::sigv4::{self, Credentials, EMPTY_SHA256, uri_encode};

/// Why an object-storage operation failed. Messages never contain a credential.
#[derive(Debug, Clone, thiserror::Error)]
pub enum S3Error {
    #[error("object storage configuration: {0}")]
    Config(String),
    #[error("{op} s3://{bucket}/{key}: HTTP {status} {code}: {message}")]
    Status {
        op: &'static str,
        bucket: String,
        key: String,
        status: u16,
        code: String,
        message: String,
    },
    #[error("{op} s3://{bucket}/{key}: gave up after {attempts} attempts: {message}")]
    Transport {
        op: &'static str,
        bucket: String,
        key: String,
        attempts: u32,
        message: String,
    },
    #[error("{op} s3://{bucket}/{key}: {message}")]
    Protocol {
        op: &'static str,
        bucket: String,
        key: String,
        message: String,
    },
}

impl S3Error {
    /// Whether the object (or bucket) is not there.
    pub fn is_not_found(&self) -> bool {
        matches!(self, S3Error::Status { status: 404, .. })
    }

    /// As an I/O error (for the package reader's `Source::read`), `NotFound` kept.
    pub fn into_io(self) -> io::Error {
        let kind = if self.is_not_found() {
            io::ErrorKind::NotFound
        } else {
            io::ErrorKind::Other
        };
        io::Error::new(kind, self.to_string())
    }
}

/// What a run cost: requests, retries, bytes moved. Shared by every clone of a [`Client`].
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    /// Body bytes received from storage.
    pub bytes_read: AtomicU64,
    /// Body bytes sent to storage.
    pub bytes_written: AtomicU64,
    /// The first transport failure that exhausted its retries: the client is stopped.
    broken: Mutex<Option<S3Error>>,
}

/// A snapshot of [`Stats`], for `--json` summaries.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct StatsSnapshot {
    pub requests: u64,
    pub retries: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
}

impl Stats {
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            bytes_written: self.bytes_written.load(Ordering::Relaxed),
        }
    }

    /// The transport failure that stopped the client, if one did.
    pub fn broken(&self) -> Option<S3Error> {
        self.broken.lock().ok().and_then(|b| b.clone())
    }
}

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct Config {
    /// `scheme://host[:port]`, no trailing slash.
    pub endpoint: String,
    pub region: String,
    pub credentials: Credentials,
    /// Retries after the first attempt of a request.
    pub retries: u32,
    /// First backoff; doubled on every retry (with jitter), at most 10 s.
    pub backoff: Duration,
}

/// One `[section]` of an AWS INI file (`~/.aws/credentials`, `~/.aws/config`).
fn ini_section(text: &str, section: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            inside = name.trim() == section;
            continue;
        }
        if inside && let Some((k, v)) = t.split_once('=') {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

fn home_file(env: &dyn Fn(&str) -> Option<String>, var: &str, default: &str) -> Option<PathBuf> {
    env(var)
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".aws").join(default)))
}

fn read_small(path: &Path) -> Option<String> {
    let bytes = crate::fsutil::read_regular(path, 1 << 20).ok()?;
    String::from_utf8(bytes).ok()
}

/// Whether an endpoint host is this machine (plain `http` is accepted only there).
fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Split `scheme://host[:port][/]` and refuse what dangan does not speak.
fn check_endpoint(url: &str) -> Result<(String, String), S3Error> {
    let bad = |why: &str| S3Error::Config(format!("endpoint '{url}': {why}"));
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("expected http://host:port or https://host"))?;
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return Err(bad(
            "expected only a scheme, a host and a port (no path, no user)",
        ));
    }
    let host = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') && h.contains(':') => {
            return Err(bad(&format!("IPv6 hosts go in brackets ({h}:{p})")));
        }
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() => h,
        _ => authority,
    };
    match scheme {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return Err(bad(
                "plain http is accepted only for a loopback endpoint (127.0.0.1, ::1, localhost); use https",
            ));
        }
        _ => return Err(bad("the scheme must be https (or http for loopback)")),
    }
    Ok((format!("{scheme}://{authority}"), authority.to_string()))
}

impl Config {
    /// From the standard AWS variables and files: endpoint `endpoint` (from `--endpoint`) or
    /// `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` / the profile's `endpoint_url`; region `AWS_REGION` /
    /// `AWS_DEFAULT_REGION` / the profile's `region` / `us-east-1`; credentials `AWS_ACCESS_KEY_ID` +
    /// `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), else the profile `AWS_PROFILE` (default `default`)
    /// of `AWS_SHARED_CREDENTIALS_FILE` (`~/.aws/credentials`) and `AWS_CONFIG_FILE` (`~/.aws/config`).
    pub fn from_env(endpoint: Option<&str>) -> Result<Config, S3Error> {
        Config::from_lookup(endpoint, &|k| {
            std::env::var(k).ok().filter(|v| !v.is_empty())
        })
    }

    /// [`Config::from_env`] with the environment given (tests).
    pub fn from_lookup(
        endpoint: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, S3Error> {
        let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".into());
        let creds_file = home_file(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials")
            .and_then(|p| read_small(&p))
            .map(|t| ini_section(&t, &profile))
            .unwrap_or_default();
        let config_section = if profile == "default" {
            "default".to_string()
        } else {
            format!("profile {profile}")
        };
        let config_file = home_file(env, "AWS_CONFIG_FILE", "config")
            .and_then(|p| read_small(&p))
            .map(|t| ini_section(&t, &config_section))
            .unwrap_or_default();
        let from_files = |key: &str| {
            creds_file
                .iter()
                .chain(config_file.iter())
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let region = env("AWS_REGION")
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .or_else(|| from_files("region"))
            .unwrap_or_else(|| "us-east-1".into());
        let credentials = match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
            (Some(access_key), Some(secret_key)) => Credentials {
                access_key,
                secret_key,
                session_token: env("AWS_SESSION_TOKEN"),
            },
            _ => match (
                from_files("aws_access_key_id"),
                from_files("aws_secret_access_key"),
            ) {
                (Some(access_key), Some(secret_key)) => Credentials {
                    access_key,
                    secret_key,
                    session_token: from_files("aws_session_token"),
                },
                _ => {
                    return Err(S3Error::Config(format!(
                        "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or profile '{profile}' in ~/.aws/credentials (never on the command line)"
                    )));
                }
            },
        };
        let endpoint = endpoint
            .map(str::to_string)
            .or_else(|| env("AWS_ENDPOINT_URL_S3"))
            .or_else(|| env("AWS_ENDPOINT_URL"))
            .or_else(|| from_files("endpoint_url"))
            .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
        let (endpoint, _) = check_endpoint(&endpoint)?;
        let retries = match env("DANGAN_S3_RETRIES") {
            Some(r) => r.parse().map_err(|_| {
                S3Error::Config(format!("DANGAN_S3_RETRIES '{r}': expected a number"))
            })?,
            None => 5,
        };
        Ok(Config {
            endpoint,
            region,
            credentials,
            retries,
            backoff: Duration::from_millis(200),
        })
    }
}

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    pub etag: String,
}

/// A client bound to one bucket. Cheap to clone; clones share the connection pool and the [`Stats`].
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    config: Arc<Config>,
    host: String,
    pub bucket: String,
    pub stats: Arc<Stats>,
}

type Response = ureq::http::Response<ureq::Body>;

/// What went wrong with one attempt.
enum Attempt {
    /// Worth another try (connection, timeout, 5xx, 429).
    Transient(String),
    Permanent(S3Error),
}

fn amz_date() -> String {
    jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// A little jitter for backoff without a random-number crate: the clock's nanoseconds.
fn jitter(max_ms: u64) -> u64 {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    n % max_ms.max(1)
}

/// The text of an element of a small XML response (S3 errors, upload ids), any namespace.
fn xml_text(body: &[u8], name: &str) -> Option<String> {
    let root = crate::sip::xml::parse(body).ok()?;
    root.descendants()
        .into_iter()
        .find(|e| e.name == name)
        .map(|e| e.text.clone())
}

impl Client {
    pub fn new(config: Config, bucket: &str) -> Result<Client, S3Error> {
        let (endpoint, host) = check_endpoint(&config.endpoint)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(120)))
            .timeout_recv_body(None)
            .timeout_per_read(Some(Duration::from_secs(60)))
            .max_idle_connections_per_host(32)
            .build()
            .into();
        Ok(Client {
            agent,
            config: Arc::new(Config { endpoint, ..config }),
            host,
            bucket: bucket.to_string(),
            stats: Arc::new(Stats::default()),
        })
    }

    fn url(&self, key: &str, query: &str) -> (String, String) {
        let mut path = format!("/{}", uri_encode(&self.bucket, false));
        if !key.is_empty() {
            path.push('/');
            path.push_str(&uri_encode(key, true));
        } else {
            path.push('/');
        }
        let url = if query.is_empty() {
            format!("{}{path}", self.config.endpoint)
        } else {
            format!("{}{path}?{query}", self.config.endpoint)
        };
        (url, path)
    }

    fn stopped(&self) -> Option<S3Error> {
        self.stats.broken()
    }

    /// One request with retries. `query` is already canonical (sorted, encoded); `body` is signed by its
    /// SHA-256. Returns a response with a 2xx status.
    fn call(
        &self,
        op: &'static str,
        method: &str,
        key: &str,
        query: &str,
        extra: &[(&str, String)],
        body: Option<&[u8]>,
    ) -> Result<Response, S3Error> {
        if let Some(e) = self.stopped() {
            return Err(e);
        }
        let (url, path) = self.url(key, query);
        let payload = body.map_or_else(|| EMPTY_SHA256.to_string(), sigv4::sha256_hex);
        let attempts = self.config.retries + 1;
        let mut last = String::new();
        for attempt in 0..attempts {
            if attempt > 0 {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                let base = self.config.backoff.as_millis() as u64;
                let wait = base.saturating_mul(1 << (attempt - 1).min(6)).min(10_000);
                std::thread::sleep(Duration::from_millis(wait + jitter(wait / 2 + 1)));
            }
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            match self.once(op, method, key, &url, &path, query, &payload, extra, body) {
                Ok(r) => return Ok(r),
                Err(Attempt::Permanent(e)) => return Err(e),
                Err(Attempt::Transient(m)) => last = m,
            }
        }
        let e = S3Error::Transport {
            op,
            bucket: self.bucket.clone(),
            key: key.to_string(),
            attempts,
            message: last,
        };
        if let Ok(mut b) = self.stats.broken.lock()
            && b.is_none()
        {
            *b = Some(e.clone());
        }
        Err(e)
    }

    #[allow(clippy::too_many_arguments)]
    fn once(
        &self,
        op: &'static str,
        method: &str,
        key: &str,
        url: &str,
        path: &str,
        query: &str,
        payload: &str,
        extra: &[(&str, String)],
        body: Option<&[u8]>,
    ) -> Result<Response, Attempt> {
        let headers = sigv4::sign(
            &self.config.credentials,
            &self.config.region,
            method,
            &self.host,
            path,
            query,
            payload,
            &amz_date(),
        );
        let mut b = ureq::http::Request::builder().method(method).uri(url);
        for (n, v) in headers
            .iter()
            .map(|(n, v)| (*n, v))
            .chain(extra.iter().map(|(n, v)| (*n, v)))
        {
            b = b.header(n, v);
        }
        let result = match body {
            Some(bytes) => {
                let req = b
                    .body(bytes)
                    .map_err(|e| Attempt::Transient(e.to_string()))?;
                self.stats
                    .bytes_written
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                self.agent.run(req)
            }
            None => {
                let req = b.body(()).map_err(|e| Attempt::Transient(e.to_string()))?;
                self.agent.run(req)
            }
        };
        let resp = match result {
            Ok(r) => r,
            Err(e) => return Err(Attempt::Transient(e.to_string())),
        };
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(resp);
        }
        let text = resp
            .into_body()
            .with_config()
            .limit(64 << 10)
            .read_to_vec()
            .unwrap_or_default();
        if status >= 500 || status == 429 {
            return Err(Attempt::Transient(format!("HTTP {status}")));
        }
        Err(Attempt::Permanent(S3Error::Status {
            op,
            bucket: self.bucket.clone(),
            key: key.to_string(),
            status,
            code: xml_text(&text, "Code").unwrap_or_else(|| {
                if status == 404 {
                    "NoSuchKey".into()
                } else {
                    String::new()
                }
            }),
            message: xml_text(&text, "Message").unwrap_or_default(),
        }))
    }

    fn read_body(
        &self,
        op: &'static str,
        key: &str,
        resp: Response,
        limit: u64,
    ) -> Result<Vec<u8>, S3Error> {
        let v = resp
            .into_body()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| S3Error::Protocol {
                op,
                bucket: self.bucket.clone(),
                key: key.to_string(),
                message: e.to_string(),
            })?;
        self.stats
            .bytes_read
            .fetch_add(v.len() as u64, Ordering::Relaxed);
        Ok(v)
    }

    fn protocol(&self, op: &'static str, key: &str, message: String) -> S3Error {
        S3Error::Protocol {
            op,
            bucket: self.bucket.clone(),
            key: key.to_string(),
            message,
        }
    }

    /// Every object under `prefix` (ListObjectsV2, page by page), in key order.
    pub fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, S3Error> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut q = vec![("list-type".to_string(), "2".to_string())];
            if let Some(t) = &token {
                q.push(("continuation-token".into(), t.clone()));
            }
            if !prefix.is_empty() {
                q.push(("prefix".into(), prefix.to_string()));
            }
            q.sort();
            let query: Vec<String> = q
                .iter()
                .map(|(k, v)| format!("{}={}", uri_encode(k, false), uri_encode(v, false)))
                .collect();
            let query = query.join("&");
            let resp = self.call("list", "GET", "", &query, &[], None)?;
            let body = self.read_body("list", prefix, resp, 64 << 20)?;
            let root = crate::sip::xml::parse(&body)
                .map_err(|e| self.protocol("list", prefix, format!("bad listing: {e}")))?;
            for c in root.children.iter().filter(|c| c.name == "Contents") {
                let text = |n: &str| {
                    c.children
                        .iter()
                        .find(|e| e.name == n)
                        .map(|e| e.text.clone())
                };
                let key = text("Key").ok_or_else(|| {
                    self.protocol("list", prefix, "an entry without a Key".into())
                })?;
                let size = text("Size")
                    .and_then(|s| s.trim().parse().ok())
                    .ok_or_else(|| self.protocol("list", &key, "an entry without a Size".into()))?;
                out.push(ObjectInfo {
                    key,
                    size,
                    etag: text("ETag").unwrap_or_default(),
                });
            }
            let truncated = root
                .children
                .iter()
                .any(|c| c.name == "IsTruncated" && c.text.trim() == "true");
            token = root
                .children
                .iter()
                .find(|c| c.name == "NextContinuationToken")
                .map(|c| c.text.clone());
            if !truncated || token.is_none() {
                break;
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// `len` bytes of an object from `start` (fewer at its end), in memory.
    pub fn get_range(&self, key: &str, start: u64, len: u64) -> Result<Vec<u8>, S3Error> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let range = format!("bytes={start}-{}", start + len - 1);
        let attempts = self.config.retries + 1;
        let mut last = None;
        // A body cut off midway is retried like a failed request.
        for _ in 0..attempts {
            let resp = self.call("get", "GET", key, "", &[("range", range.clone())], None)?;
            match self.read_body("get", key, resp, len) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| self.protocol("get", key, "no attempt".into())))
    }

    /// A streaming reader of bytes `[start, end)` of an object, resumed with a new ranged request when
    /// the connection breaks midway.
    /// With an `etag`, the object must still be the one listed (`If-Match`): a replaced object is an
    /// error (HTTP 412), never half of one and half of another.
    pub fn reader(&self, key: &str, start: u64, end: u64, etag: &str) -> ObjectReader {
        ObjectReader {
            client: self.clone(),
            key: key.to_string(),
            etag: etag.to_string(),
            pos: start,
            end,
            body: None,
            resumes: 0,
            failed: None,
        }
    }

    /// Size and ETag of an object; `None` when it is not there.
    pub fn head(&self, key: &str) -> Result<Option<ObjectInfo>, S3Error> {
        match self.call("head", "HEAD", key, "", &[], None) {
            Ok(resp) => {
                let h = |n: &str| {
                    resp.headers()
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                Ok(Some(ObjectInfo {
                    key: key.to_string(),
                    size: h("content-length")
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0),
                    etag: h("etag").unwrap_or_default(),
                }))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Store an object in one request.
    pub fn put(&self, key: &str, bytes: &[u8]) -> Result<(), S3Error> {
        self.call("put", "PUT", key, "", &[], Some(bytes))
            .map(|_| ())
    }

    pub fn delete(&self, key: &str) -> Result<(), S3Error> {
        match self.call("delete", "DELETE", key, "", &[], None) {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Start a multipart upload; returns its upload id.
    pub fn create_multipart(&self, key: &str) -> Result<String, S3Error> {
        let resp = self.call("multipart", "POST", key, "uploads=", &[], None)?;
        let body = self.read_body("multipart", key, resp, 1 << 20)?;
        xml_text(&body, "UploadId")
            .ok_or_else(|| self.protocol("multipart", key, "no UploadId in the answer".into()))
    }

    /// Upload one part (numbered from 1); returns its ETag.
    pub fn upload_part(
        &self,
        key: &str,
        upload: &str,
        n: u32,
        bytes: &[u8],
    ) -> Result<String, S3Error> {
        let query = format!("partNumber={n}&uploadId={}", uri_encode(upload, false));
        let resp = self.call("upload part", "PUT", key, &query, &[], Some(bytes))?;
        resp.headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| self.protocol("upload part", key, "no ETag in the answer".into()))
    }

    /// Finish a multipart upload: the object appears, whole, only now.
    pub fn complete_multipart(
        &self,
        key: &str,
        upload: &str,
        etags: &[String],
    ) -> Result<(), S3Error> {
        let mut xml = String::from("<CompleteMultipartUpload>");
        for (i, e) in etags.iter().enumerate() {
            xml.push_str(&format!(
                "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>",
                i + 1,
                quick_xml::escape::escape(e.as_str())
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        let query = format!("uploadId={}", uri_encode(upload, false));
        let resp = self.call(
            "complete multipart",
            "POST",
            key,
            &query,
            &[],
            Some(xml.as_bytes()),
        )?;
        // S3 may answer 200 with an <Error> body.
        let body = self.read_body("complete multipart", key, resp, 1 << 20)?;
        if let Some(code) = xml_text(&body, "Code") {
            return Err(self.protocol("complete multipart", key, code));
        }
        Ok(())
    }

    pub fn abort_multipart(&self, key: &str, upload: &str) -> Result<(), S3Error> {
        let query = format!("uploadId={}", uri_encode(upload, false));
        self.call("abort multipart", "DELETE", key, &query, &[], None)
            .map(|_| ())
    }
}

/// Bytes `[pos, end)` of one object, streamed; a connection that breaks midway is resumed from where it
/// broke (counted as a retry), at most the client's retry count times.
pub struct ObjectReader {
    client: Client,
    key: String,
    etag: String,
    pos: u64,
    end: u64,
    body: Option<ureq::BodyReader<'static>>,
    resumes: u32,
    /// An error met after some bytes of a read had arrived: returned by the next read.
    failed: Option<io::Error>,
}

impl Read for ObjectReader {
    /// Fills `buf` (up to the end of the range): a caller that hands each read to another thread (the
    /// hasher's pipeline) gets whole buffers, not the HTTP stack's fragments.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut got = 0;
        while got < buf.len() {
            match self.read_some(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if got > 0 => {
                    // The bytes that arrived are returned now, the error with the next call.
                    self.failed = Some(e);
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(got)
    }
}

impl ObjectReader {
    /// Where the next byte read comes from.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Where the range ends.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// One read of the HTTP body (whatever it has), opening or resuming the GET as needed.
    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos >= self.end || buf.is_empty() {
                return Ok(0);
            }
            if self.body.is_none() {
                let mut headers = vec![("range", format!("bytes={}-{}", self.pos, self.end - 1))];
                if !self.etag.is_empty() {
                    headers.push(("if-match", self.etag.clone()));
                }
                let resp = self
                    .client
                    .call("get", "GET", &self.key, "", &headers, None)
                    .map_err(S3Error::into_io)?;
                self.body = Some(resp.into_body().into_reader());
            }
            let want = buf
                .len()
                .min((self.end - self.pos).min(usize::MAX as u64) as usize);
            let got = match self.body.as_mut() {
                Some(b) => b.read(&mut buf[..want]),
                None => Ok(0),
            };
            match got {
                Ok(0) => {
                    // The server ended the body before the range did: resume.
                    self.body = None;
                    self.resume("the body ended early")?;
                }
                Ok(n) => {
                    self.pos += n as u64;
                    self.client
                        .stats
                        .bytes_read
                        .fetch_add(n as u64, Ordering::Relaxed);
                    return Ok(n);
                }
                Err(e) => {
                    self.body = None;
                    self.resume(&e.to_string())?;
                }
            }
        }
    }
}

impl ObjectReader {
    fn resume(&mut self, why: &str) -> io::Result<()> {
        self.resumes += 1;
        self.client.stats.retries.fetch_add(1, Ordering::Relaxed);
        if self.resumes > self.client.config.retries {
            return Err(io::Error::other(format!(
                "get s3://{}/{}: broken off at byte {} after {} resumptions: {why}",
                self.client.bucket,
                self.key,
                self.pos,
                self.resumes - 1
            )));
        }
        std::thread::sleep(self.client.config.backoff);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_refuse_plain_http_off_loopback() {
        assert!(check_endpoint("http://127.0.0.1:3900").is_ok());
        assert!(check_endpoint("http://[::1]:3900/").is_ok());
        assert!(check_endpoint("http://localhost:9000").is_ok());
        assert!(check_endpoint("https://s3.example.org").is_ok());
        let e = check_endpoint("http://s3.example.org")
            .unwrap_err()
            .to_string();
        assert!(e.contains("loopback"), "{e}");
        assert!(check_endpoint("ftp://127.0.0.1").is_err());
        assert!(check_endpoint("https://h/path").is_err());
        assert!(check_endpoint("https://user@h").is_err());
    }

    #[test]
    fn credentials_come_from_env_then_profile_files_never_shown() {
        let t = std::env::temp_dir().join(format!("dangan-aws-{}", std::process::id()));
        std::fs::create_dir_all(&t).unwrap();
        std::fs::write(
            t.join("credentials"),
            "[default]\naws_access_key_id = AK1\naws_secret_access_key = SECRET1\n[other]\naws_access_key_id=AK2\naws_secret_access_key=SECRET2\n",
        )
        .unwrap();
        std::fs::write(
            t.join("config"),
            "[profile other]\nregion = garage\nendpoint_url = http://127.0.0.1:3900\n",
        )
        .unwrap();
        let home = t.display().to_string();
        let env = |profile: Option<&'static str>| {
            let home = home.clone();
            move |k: &str| match k {
                "AWS_SHARED_CREDENTIALS_FILE" => Some(format!("{home}/credentials")),
                "AWS_CONFIG_FILE" => Some(format!("{home}/config")),
                "AWS_PROFILE" => profile.map(str::to_string),
                _ => None,
            }
        };
        let c = Config::from_lookup(Some("http://127.0.0.1:1"), &env(None)).unwrap();
        assert_eq!(c.credentials.access_key, "AK1");
        assert_eq!(c.region, "us-east-1");
        let c = Config::from_lookup(None, &env(Some("other"))).unwrap();
        assert_eq!(c.credentials.access_key, "AK2");
        assert_eq!(c.region, "garage");
        assert_eq!(c.endpoint, "http://127.0.0.1:3900");
        assert!(!format!("{c:?}").contains("SECRET2"));
        let none = Config::from_lookup(None, &|_| None)
            .unwrap_err()
            .to_string();
        assert!(none.contains("no credentials"), "{none}");
        std::fs::remove_dir_all(&t).ok();
    }
}
