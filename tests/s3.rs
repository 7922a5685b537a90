//! Packages in S3-compatible object storage (issue 16), against a real Garage server started by each test
//! on 127.0.0.1 (single-node layout, key and bucket made with Garage's own CLI, random free ports, a
//! temporary config and data folder). No mocks: the test's own reads and writes of objects go through
//! the same real server (with dangan's S3 client, and rclone where a second client is useful).

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use dangan::objstore::{Client, Config, S3Url};
use serde_json::Value;

const CREATED: &str = "2026-01-02T03:04:05Z";
const REGION: &str = "garage";

fn garage_bin() -> PathBuf {
    let p = std::env::var("GARAGE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/dangan-tools/garage/bin/garage")
        });
    common::require(&p.display().to_string())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A Garage server of this test: killed and its folder removed when dropped.
struct Garage {
    child: Option<Child>,
    dir: tempfile::TempDir,
    config: PathBuf,
    endpoint: String,
    key_id: String,
    secret: String,
    /// The admin API's port (`/metrics`).
    admin: u16,
}

impl Drop for Garage {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Garage {
    fn cli(&self, args: &[&str]) -> String {
        let out = Process::new(garage_bin())
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .output()
            .expect("run garage");
        assert!(
            out.status.success(),
            "garage {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn start() -> Garage {
        let dir = tempfile::tempdir().expect("tempdir");
        let (rpc, s3, admin) = (free_port(), free_port(), free_port());
        let secret: String = (0..32)
            .map(|i| format!("{:02x}", (i * 37 + rpc as usize) % 256))
            .collect();
        let config = dir.path().join("garage.toml");
        std::fs::write(
            &config,
            format!(
                r#"metadata_dir = "{d}/meta"
data_dir = "{d}/data"
db_engine = "lmdb"
metadata_fsync = false
data_fsync = false
replication_factor = 1
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "{REGION}"
api_bind_addr = "127.0.0.1:{s3}"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:{admin}"
"#,
                d = dir.path().display()
            ),
        )
        .expect("config");
        let log = std::fs::File::create(dir.path().join("garage.log")).expect("log");
        let child = Process::new(garage_bin())
            .arg("-c")
            .arg(&config)
            .arg("server")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start garage");
        let mut g = Garage {
            child: Some(child),
            dir,
            config,
            endpoint: format!("http://127.0.0.1:{s3}"),
            key_id: String::new(),
            secret: String::new(),
            admin,
        };
        // The server answers its CLI once it is up.
        let deadline = Instant::now() + Duration::from_secs(60);
        let node = loop {
            // `node id` answers from the key file before the server listens: `status` needs the server.
            let up = Process::new(garage_bin())
                .arg("-c")
                .arg(&g.config)
                .arg("status")
                .output()
                .is_ok_and(|o| o.status.success());
            let out = Process::new(garage_bin())
                .arg("-c")
                .arg(&g.config)
                .args(["node", "id", "-q"])
                .output()
                .expect("garage node id");
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if up
                && out.status.success()
                && let Some(id) = text.split_whitespace().find(|w| w.contains('@'))
            {
                break id.split('@').next().unwrap_or_default().to_string();
            }
            assert!(
                Instant::now() < deadline,
                "garage did not start: {}",
                std::fs::read_to_string(g.dir.path().join("garage.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        g.cli(&["layout", "assign", "-z", "dc1", "-c", "1G", &node]);
        g.cli(&["layout", "apply", "--version", "1"]);
        let key = g.cli(&["key", "create", "dangan-test"]);
        let field = |name: &str| {
            key.lines()
                .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
                .unwrap_or_else(|| panic!("no '{name}' in: {key}"))
        };
        g.key_id = field("Key ID:");
        g.secret = field("Secret key:");
        g
    }

    fn bucket(&self, name: &str) {
        self.cli(&["bucket", "create", name]);
        self.cli(&[
            "bucket",
            "allow",
            "--read",
            "--write",
            "--owner",
            name,
            "--key",
            "dangan-test",
        ]);
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// A counter of the server's own metrics (Prometheus text from its admin API); `None` before it
    /// first counts.
    fn metric(&self, name: &str) -> Option<u64> {
        use std::io::Read as _;
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.admin)).expect("admin API");
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .expect("ask");
        let mut text = String::new();
        s.read_to_string(&mut text).expect("metrics");
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", self.key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.clone()),
            ("AWS_REGION", REGION.to_string()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("DANGAN_S3_RETRIES", "3".to_string()),
        ]
    }

    fn dangan(&self) -> Command {
        let mut c = Command::cargo_bin("dangan").expect("binary builds");
        c.env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL_S3");
        for (k, v) in self.env() {
            c.env(k, v);
        }
        c
    }

    fn client(&self, bucket: &str) -> Client {
        let env = self.env();
        let config = Config::from_lookup(None, &|k| {
            env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
        })
        .expect("config");
        Client::new(config, bucket).expect("client")
    }
}

fn demo() -> PathBuf {
    common::root().join("fixtures/demo")
}

fn pack_args(id: &str) -> Vec<String> {
    [
        "pack",
        "--json",
        "--no-normalize",
        "--created",
        CREATED,
        "--id",
        id,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// `dangan pack` of the demo batch to `out` (a folder or s3://…); the JSON report.
fn pack(g: &Garage, id: &str, extra: &[&str], out: &str) -> Value {
    let o = g
        .dangan()
        .args(pack_args(id))
        .args(extra)
        .arg(demo())
        .args(["--out", out])
        .output()
        .expect("run");
    assert!(
        o.status.success(),
        "pack failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("json")
}

fn run_json(c: &mut Command) -> (i32, Value, String) {
    let o = c.output().expect("run");
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let v = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (o.status.code().unwrap_or(-1), v, stderr)
}

fn get(c: &Client, key: &str) -> Vec<u8> {
    let size = c.head(key).expect("head").expect("object exists").size;
    c.get_range(key, 0, size).expect("get")
}

fn failures(report: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for p in report["packages"].as_array().expect("packages") {
        for f in p["failures"].as_array().expect("failures") {
            out.push((
                p["path"].as_str().unwrap_or_default().to_string(),
                f["path"].as_str().unwrap_or_default().to_string(),
                f["kind"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    out
}

#[test]
fn pack_to_s3_then_verify_and_validate_and_damage_is_named_by_key_and_path() {
    let g = Garage::start();
    g.bucket("archive");
    let c = g.client("archive");
    // The folder form and the zip form, both uploaded; the same package written locally.
    let folder = pack(&g, "S3-DIR", &[], "s3://archive/pk");
    assert_eq!(folder["packages"][0]["path"], "s3://archive/pk/S3-DIR");
    pack(&g, "S3-ZIP", &["--zip"], "s3://archive/pk");
    pack(&g, "S3-BAG", &["--bag"], "s3://archive/pk");
    let local = tempfile::tempdir().expect("tempdir");
    pack(&g, "S3-DIR", &[], &local.path().display().to_string());

    // Byte for byte: every file of the folder form is an object with the same bytes, and nothing else.
    let root = local.path().join("S3-DIR");
    let mut files = BTreeMap::new();
    for e in walkdir::WalkDir::new(&root) {
        let e = e.expect("walk");
        if e.file_type().is_file() {
            let rel = e
                .path()
                .strip_prefix(&root)
                .expect("rel")
                .to_string_lossy()
                .replace('\\', "/");
            files.insert(
                format!("pk/S3-DIR/{rel}"),
                std::fs::read(e.path()).expect("read"),
            );
        }
    }
    let objects: Vec<String> = c
        .list("pk/S3-DIR/")
        .expect("list")
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(objects, files.keys().cloned().collect::<Vec<_>>());
    for (k, bytes) in &files {
        assert!(get(&c, k) == *bytes, "{k} differs from the folder form");
    }
    assert!(c.head("pk/S3-ZIP.zip").expect("head").is_some());
    assert!(
        c.list("pk/.").expect("list").is_empty(),
        "a publication marker was left"
    );

    // verify and validate pass, through the object-storage source; --json says what it cost.
    let (code, v, err) = run_json(g.dangan().args(["verify", "--json", "s3://archive/pk"]));
    assert_eq!(code, 0, "{v}\n{err}");
    let kinds: Vec<&str> = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["bag-sip", "sip", "sip-zip"], "{v}");
    assert!(v["packages"][1]["files"].as_u64().unwrap() >= 7, "{v}");
    assert!(v["storage"]["requests"].as_u64().unwrap() > 0, "{v}");
    assert!(v["storage"]["bytes_read"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(v["storage"]["retries"], 0, "{v}");
    for url in ["s3://archive/pk/S3-DIR", "s3://archive/pk/S3-ZIP.zip"] {
        let (code, v, err) =
            run_json(
                g.dangan()
                    .args(["validate", "--json", "--no-virus-scan", url]),
            );
        assert_eq!(code, 0, "{url}: {v}\n{err}");
        assert_eq!(v["accepted"], true, "{url}: {v}");
    }

    // One flipped byte in a data object (re-uploaded with it changed) is named by key and path.
    let data_key = files
        .keys()
        .find(|k| k.contains("/data/") && k.ends_with(".tif"))
        .expect("a scan")
        .clone();
    let mut bytes = files[&data_key].clone();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    c.put(&data_key, &bytes).expect("put");
    // One deleted object is named too.
    let gone_key = files
        .keys()
        .find(|k| k.ends_with(".jpg"))
        .expect("a photo")
        .clone();
    c.delete(&gone_key).expect("delete");
    let (code, v, err) = run_json(
        g.dangan()
            .args(["verify", "--json", "s3://archive/pk/S3-DIR"]),
    );
    assert_eq!(code, 1, "{v}\n{err}");
    let f = failures(&v);
    let rel = |k: &str| k.trim_start_matches("pk/S3-DIR/").to_string();
    assert!(
        f.contains(&(
            "s3://archive/pk/S3-DIR".into(),
            rel(&data_key),
            "changed".into()
        )),
        "{f:?}"
    );
    assert!(
        f.contains(&(
            "s3://archive/pk/S3-DIR".into(),
            rel(&gone_key),
            "missing".into()
        )),
        "{f:?}"
    );

    // A flipped byte inside the zip object: the entry is named.
    let mut zip = get(&c, "pk/S3-ZIP.zip");
    let archive = zip::ZipArchive::new(std::io::Cursor::new(zip.clone())).expect("zip");
    let (entry_name, at) = (0..archive.len())
        .find_map(|i| {
            let mut a = archive.clone();
            let f = a.by_index(i).ok()?;
            let name = f.name().ok()?.to_string();
            let start = f.data_start()?;
            (name.contains("/data/")
                && f.size() > 0
                && f.compression() == zip::CompressionMethod::Stored)
                .then(|| (name, start + f.size() / 2))
        })
        .expect("a stored (media) file in the zip");
    zip[at as usize] ^= 0x80;
    c.put("pk/S3-ZIP.zip", &zip).expect("put");
    let (code, v, err) =
        run_json(
            g.dangan()
                .args(["verify", "--json", "s3://archive/pk/S3-ZIP.zip"]),
        );
    assert_eq!(code, 1, "{v}\n{err}");
    let f = failures(&v);
    let inner = entry_name
        .split_once('/')
        .map(|(_, r)| r.to_string())
        .unwrap_or_default();
    assert_eq!(
        f,
        [(
            "s3://archive/pk/S3-ZIP.zip".to_string(),
            inner,
            "changed".to_string()
        )]
    );
}

#[test]
fn malformed_or_unsupported_urls_are_errors_never_local_paths() {
    let work = tempfile::tempdir().expect("tempdir");
    for url in [
        "s3:/x",
        "s3:x",
        "gs://bucket/x",
        "s3://Bad_Bucket/x",
        "https://example.org/b",
    ] {
        let mut c = Command::cargo_bin("dangan").expect("binary");
        c.current_dir(work.path())
            .args(pack_args("X"))
            .arg(demo())
            .args(["--out", url]);
        c.assert().code(2);
        for cmd in [vec!["verify", url], vec!["validate", url]] {
            Command::cargo_bin("dangan")
                .expect("binary")
                .current_dir(work.path())
                .args(cmd)
                .assert()
                .code(2);
        }
    }
    let left: Vec<_> = std::fs::read_dir(work.path()).expect("ls").collect();
    assert!(left.is_empty(), "something was written locally: {left:?}");
    // Plain http is for loopback only; credentials never appear in messages.
    let o = Command::cargo_bin("dangan")
        .expect("binary")
        .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
        .env("AWS_SECRET_ACCESS_KEY", "very-secret-value")
        .args([
            "verify",
            "--endpoint",
            "http://s3.example.org",
            "s3://bucket/x",
        ])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("loopback") && !err.contains("very-secret-value"),
        "{err}"
    );
}

#[test]
fn a_killed_upload_is_not_a_package_and_a_rerun_completes() {
    let g = Garage::start();
    g.bucket("kill");
    let c = g.client("kill");
    pack(&g, "DONE", &[], "s3://kill/p");
    let marker = "p/.KILLED.dangan-publishing";
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dangan"));
    for (k, v) in g.env() {
        child.env(k, v);
    }
    let mut child = child
        .args(pack_args("KILLED"))
        .arg(demo())
        .args(["--out", "s3://kill/p"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    // Kill it as soon as its upload has begun (the marker is the first object it writes).
    let deadline = Instant::now() + Duration::from_secs(120);
    while c.head(marker).expect("head").is_none() {
        assert!(Instant::now() < deadline, "the upload never began");
        assert!(
            child.try_wait().expect("wait").is_none(),
            "pack ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().expect("kill");
    child.wait().expect("wait");
    assert!(
        c.head(marker).expect("head").is_some(),
        "killed after it published"
    );

    let (code, v, err) = run_json(g.dangan().args(["verify", "--json", "s3://kill/p"]));
    assert_eq!(code, 0, "{v}\n{err}");
    let paths: Vec<&str> = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["s3://kill/p/DONE"], "{v}");
    let leftovers: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(
        leftovers
            .iter()
            .any(|p| p.ends_with(".KILLED.dangan-publishing")),
        "{v}"
    );
    // validate refuses it as a package too.
    g.dangan()
        .args(["validate", "s3://kill/p/KILLED"])
        .assert()
        .code(2);

    // The rerun completes it; a third run is refused (never overwrites a package).
    let again = pack(&g, "KILLED", &[], "s3://kill/p");
    assert_eq!(again["packages"][0]["path"], "s3://kill/p/KILLED");
    assert!(c.head(marker).expect("head").is_none());
    let (code, v, err) = run_json(g.dangan().args(["verify", "--json", "s3://kill/p"]));
    assert_eq!(code, 0, "{v}\n{err}");
    assert_eq!(v["packages"].as_array().unwrap().len(), 2, "{v}");
    let o = g
        .dangan()
        .args(pack_args("KILLED"))
        .arg(demo())
        .args(["--out", "s3://kill/p"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));
}

/// A SIP zip made here: METS.xml declaring one large stored file by SHA-256.
fn big_sip_zip(id: &str, mib: usize) -> Vec<u8> {
    use sha2::Digest as _;
    let mut data = vec![0u8; mib << 20];
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for b in data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let sum = dangan::fixity::digest::hex(&sha2::Sha256::digest(&data));
    let mets = format!(
        r#"<mets xmlns="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink" OBJID="{id}"><fileSec><fileGrp><file ID="f" SIZE="{}" CHECKSUMTYPE="SHA-256" CHECKSUM="{sum}"><FLocat xlink:href="data/big.bin"/></file></fileGrp></fileSec></mets>"#,
        data.len()
    );
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(false);
    z.start_file(format!("{id}/METS.xml"), stored)
        .expect("entry");
    z.write_all(mets.as_bytes()).expect("write");
    z.start_file(format!("{id}/data/big.bin"), stored)
        .expect("entry");
    z.write_all(&data).expect("write");
    z.finish().expect("finish").into_inner()
}

#[test]
fn server_stopped_mid_run_gives_retries_then_a_clear_error_exit_2() {
    let mut g = Garage::start();
    g.bucket("stop");
    let c = g.client("stop");
    let zip = big_sip_zip("BIG", 96);
    // A multipart upload through the client (parts of 16 MiB).
    let dir = tempfile::tempdir().expect("tempdir");
    let local = dir.path().join("BIG.zip");
    std::fs::write(&local, &zip).expect("write");
    dangan::objstore::publish::publish(&c, &local, &"s3://stop/z".parse::<S3Url>().unwrap())
        .expect("publish");
    assert_eq!(
        c.head("z/BIG.zip").expect("head").map(|o| o.size),
        Some(zip.len() as u64)
    );
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("dangan"));
    for (k, v) in g.env() {
        cmd.env(k, v);
    }
    let mut child = cmd
        .args(["verify", "--jobs", "1", "s3://stop/z"])
        .env("DANGAN_PROGRESS_SECONDS", "0.02")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Stop the server once dangan's progress lines show it has read part of the zip.
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let mut err = String::new();
    for line in lines.by_ref() {
        let line = line.expect("line");
        err.push_str(&line);
        err.push('\n');
        let mb: f64 = line
            .strip_prefix("dangan: ")
            .and_then(|r| r.split(" of ").next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0.0);
        if mb >= 8.0 {
            break;
        }
    }
    assert!(err.contains(" MB read, "), "no progress line: {err}");
    g.stop();
    for line in lines {
        err.push_str(&line.expect("line"));
        err.push('\n');
    }
    let o = child.wait_with_output().expect("wait");
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("gave up after 4 attempts") || err.contains("resumptions"),
        "{err}"
    );
    assert!(err.contains("s3://stop/z/BIG.zip"), "{err}");
}

#[test]
fn shards_from_kubernetes_and_slurm_cover_every_package_exactly_once() {
    let g = Garage::start();
    g.bucket("shards");
    let c = g.client("shards");
    let work = tempfile::tempdir().expect("tempdir");
    pack(&g, "SH", &["--zip"], &work.path().display().to_string());
    let zip = std::fs::read(work.path().join("SH.zip")).expect("zip");
    let mut expected = Vec::new();
    for i in 0..12 {
        let key = format!("bucket-run/{:02}/SH-{i}.zip", i % 4);
        c.put(&key, &zip).expect("put");
        expected.push(format!("s3://shards/{key}"));
    }
    expected.sort();
    for n in [1usize, 3, 7] {
        for engine in ["k8s", "slurm"] {
            let ledger = work.path().join(format!("ledger-{engine}-{n}"));
            std::fs::create_dir_all(&ledger).expect("mkdir");
            let children: Vec<_> = (0..n)
                .map(|i| {
                    let mut cmd =
                        std::process::Command::new(assert_cmd::cargo::cargo_bin("dangan"));
                    for (k, v) in g.env() {
                        cmd.env(k, v);
                    }
                    for k in [
                        "JOB_COMPLETION_INDEX",
                        "JOB_COMPLETIONS",
                        "SLURM_ARRAY_TASK_ID",
                        "PARALLEL_SEQ",
                    ] {
                        cmd.env_remove(k);
                    }
                    if engine == "k8s" {
                        // As an Indexed Job sets it (0-based), with the count the manifest passes on.
                        cmd.env("JOB_COMPLETION_INDEX", i.to_string())
                            .env("JOB_COMPLETIONS", n.to_string());
                    } else {
                        // As `sbatch --array=1-N` sets them.
                        cmd.env("SLURM_ARRAY_JOB_ID", "4242")
                            .env("SLURM_ARRAY_TASK_ID", (i + 1).to_string())
                            .env("SLURM_ARRAY_TASK_MIN", "1")
                            .env("SLURM_ARRAY_TASK_MAX", n.to_string())
                            .env("SLURM_ARRAY_TASK_COUNT", n.to_string())
                            .env("SLURM_ARRAY_TASK_STEP", "1");
                    }
                    cmd.args(["verify", "--quiet", "--shard", "auto", "--ledger"])
                        .arg(&ledger)
                        .arg("s3://shards/bucket-run")
                        .stdout(Stdio::null())
                        .stderr(Stdio::piped())
                        .spawn()
                        .expect("spawn")
                })
                .collect();
            for ch in children {
                let o = ch.wait_with_output().expect("wait");
                assert!(
                    o.status.success(),
                    "{engine} {n}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
            }
            let parts = std::fs::read_dir(&ledger).expect("ls").count();
            assert!(parts <= n, "{engine} {n}: {parts} parts");
            // The merged ledger: every package exactly once.
            let (code, v, err) =
                run_json(g.dangan().args(["ledger", "report", "--json"]).arg(&ledger));
            assert_eq!(code, 0, "{v}\n{err}");
            let mut seen: Vec<String> = Vec::new();
            for p in std::fs::read_dir(&ledger).expect("ls") {
                let text = std::fs::read_to_string(p.expect("part").path()).expect("read");
                for line in text.lines() {
                    let e: Value = serde_json::from_str(line).expect("ledger line");
                    assert_eq!(e["outcome"], "success", "{line}");
                    seen.push(e["path"].as_str().unwrap_or_default().to_string());
                }
            }
            seen.sort();
            assert_eq!(seen, expected, "{engine} N={n}");
            assert_eq!(v["packages"].as_array().unwrap().len(), 1, "one OBJID: {v}");
            assert_eq!(v["packages"][0]["checks"], 12, "{v}");
        }
    }
}

/// The lines of a ledger object.
fn ledger_lines(c: &Client, key: &str) -> Vec<Value> {
    String::from_utf8(get(c, key))
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("ledger line"))
        .collect()
}

#[test]
fn the_ledger_is_an_object_read_then_replaced_whole_and_shards_write_parts() {
    let g = Garage::start();
    g.bucket("ledgers");
    let c = g.client("ledgers");
    let work = tempfile::tempdir().expect("tempdir");
    pack(&g, "LG", &["--zip"], &work.path().display().to_string());
    let zip = std::fs::read(work.path().join("LG.zip")).expect("zip");
    let mut expected = Vec::new();
    for i in 0..5 {
        let key = format!("pk/LG-{i}.zip");
        c.put(&key, &zip).expect("put");
        expected.push(format!("s3://ledgers/{key}"));
    }

    // One ledger object: created by the first run, read and written back whole (old lines kept) by the
    // second.
    let object = "s3://ledgers/fixity/ledger.jsonl";
    for run in 1..=2 {
        let (code, v, err) =
            run_json(
                g.dangan()
                    .args(["verify", "--json", "--ledger", object, "s3://ledgers/pk"]),
            );
        assert_eq!(code, 0, "run {run}: {v}\n{err}");
        let lines = ledger_lines(&c, "fixity/ledger.jsonl");
        assert_eq!(lines.len(), 5 * run, "run {run}: {lines:?}");
        let mut paths: Vec<String> = lines[5 * (run - 1)..]
            .iter()
            .map(|l| l["path"].as_str().unwrap_or_default().to_string())
            .collect();
        paths.sort();
        assert_eq!(paths, expected, "run {run}");
        assert!(lines.iter().all(|l| l["outcome"] == "success"));
    }
    // `ledger report` reads it from the bucket: one OBJID, checked ten times.
    let (code, v, err) = run_json(g.dangan().args(["ledger", "report", "--json", object]));
    assert_eq!(code, 0, "{v}\n{err}");
    assert_eq!(v["packages"][0]["checks"], 10, "{v}");
    // Shards cannot share one object (no append: they would overwrite each other's lines).
    let o = g
        .dangan()
        .args([
            "verify",
            "--shard",
            "1/2",
            "--ledger",
            object,
            "s3://ledgers/pk",
        ])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("each shard writes its own part"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A ledger folder in the bucket: each shard writes its own part; the report merges them.
    for i in 1..=3 {
        let (code, v, err) = run_json(g.dangan().args([
            "verify",
            "--json",
            "--shard",
            &format!("{i}/3"),
            "--ledger",
            "s3://ledgers/parts",
            "s3://ledgers/pk",
        ]));
        assert_eq!(code, 0, "shard {i}: {v}\n{err}");
    }
    let mut seen = Vec::new();
    for o in c.list("parts/").expect("list") {
        assert!(
            o.key.starts_with("parts/part-") && o.key.ends_with("-of-3.jsonl"),
            "{}",
            o.key
        );
        seen.extend(
            ledger_lines(&c, &o.key)
                .iter()
                .map(|l| l["path"].as_str().unwrap_or_default().to_string()),
        );
    }
    seen.sort();
    assert_eq!(seen, expected, "every package exactly once over the parts");
    let (code, v, err) = run_json(g.dangan().args([
        "ledger",
        "report",
        "--json",
        "s3://ledgers/parts",
        "s3://ledgers/pk",
    ]));
    assert_eq!(code, 0, "{v}\n{err}");
    assert_eq!(v["packages"][0]["checks"], 5, "{v}");

    // Local packages with an object ledger: an error, never a local folder named `s3:`.
    let o = g
        .dangan()
        .current_dir(work.path())
        .args(["verify", "--ledger", object])
        .arg(work.path().join("LG.zip"))
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(!work.path().join("s3:").exists());
}

#[test]
fn eep_objects_in_a_bucket_are_found_verified_and_validated() {
    let g = Garage::start();
    g.bucket("eeps");
    let c = g.client("eeps");
    let work = tempfile::tempdir().expect("tempdir");
    let out = work.path().join("eep");
    let o = g
        .dangan()
        .args(pack_args("demo"))
        .args(["--submitter", "忻州市某县档案馆", "--format", "eep"])
        .arg(demo())
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run");
    // Exit 1: the demo's audio items cannot be EEPs (DA/T 48-2009 1); the text and image items are.
    assert!(
        o.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .expect("out")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eep.xml"))
        .collect();
    names.sort();
    assert!(names.len() >= 2, "{names:?}");
    for n in &names {
        c.put(
            &format!("e/{n}"),
            &std::fs::read(out.join(n)).expect("read"),
        )
        .expect("put");
    }
    // Beside them, a publication marker holds one more back: an interrupted upload, never a package.
    c.put("e/.held.eep.xml.dangan-publishing", b"")
        .expect("marker");
    c.put("e/held.eep.xml", b"<half").expect("put");

    let (code, v, err) = run_json(g.dangan().args(["verify", "--json", "s3://eeps/e"]));
    assert_eq!(code, 0, "{v}\n{err}");
    let got: Vec<(String, String)> = v["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["path"].as_str().unwrap_or_default().to_string(),
                p["kind"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = names
        .iter()
        .map(|n| (format!("s3://eeps/e/{n}"), "eep".to_string()))
        .collect();
    assert_eq!(got, want, "{v}");
    assert!(
        v["packages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["files"].as_u64().unwrap_or(0) >= 1),
        "every EEP's encoded files were decoded and checked: {v}"
    );

    // validate s3://…/X.eep.xml: the EEP checker's 四性检测 report, naming the object.
    let one = format!("s3://eeps/e/{}", names[0]);
    let (code, v, err) = run_json(
        g.dangan()
            .args(["validate", "--json", "--no-virus-scan", &one]),
    );
    assert_eq!(code, 0, "{v}\n{err}");
    assert_eq!(v["accepted"], true, "{v}");
    assert_eq!(v["package"], one.as_str(), "{v}");
    assert_eq!(v["spec_applied"], "DA/T 48-2009 EEP", "{v}");

    // One changed Base64 character in an encoded file (re-uploaded): named by object and file.
    let key = format!("e/{}", names[0]);
    let text = String::from_utf8(get(&c, &key)).expect("utf-8");
    let tag = text.find("<编码数据 ").expect("编码数据");
    let at = tag + text[tag..].find('>').expect("end of the tag") + 41;
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    c.put(&key, &bytes).expect("put");
    let (code, v, err) = run_json(g.dangan().args(["verify", "--json", "s3://eeps/e"]));
    assert_eq!(code, 1, "{v}\n{err}");
    let f = failures(&v);
    assert!(
        f.iter().any(|(p, _, kind)| *p == one && kind == "changed"),
        "{f:?}"
    );
    assert!(
        f.iter().all(|(p, _, _)| *p == one),
        "only the changed EEP fails: {f:?}"
    );
    let (code, v, err) = run_json(
        g.dangan()
            .args(["validate", "--json", "--no-virus-scan", &one]),
    );
    assert_eq!(code, 1, "{v}\n{err}");
    assert_eq!(v["accepted"], false, "{v}");
    // The held-back one is no package.
    let o = g
        .dangan()
        .args([
            "validate",
            "--json",
            "--no-virus-scan",
            "s3://eeps/e/held.eep.xml",
        ])
        .output()
        .expect("run");
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A SIP zip made here: `files` stored payload files of `mib` MiB each (pseudo-random bytes), then its
/// METS.xml declaring each by SHA-256 (last, as packers that write the METS at the end do).
fn sip_zip_of(id: &str, files: usize, mib: usize) -> Vec<u8> {
    use sha2::Digest as _;
    let stored = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(false);
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut declared = String::new();
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for i in 0..files {
        let mut data = vec![0u8; mib << 20];
        for b in data.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        let sum = dangan::fixity::digest::hex(&sha2::Sha256::digest(&data));
        declared.push_str(&format!(
            r#"<file ID="f{i}" SIZE="{}" CHECKSUMTYPE="SHA-256" CHECKSUM="{sum}"><FLocat xlink:href="data/f{i}.bin"/></file>"#,
            data.len()
        ));
        z.start_file(format!("{id}/data/f{i}.bin"), stored)
            .expect("entry");
        z.write_all(&data).expect("write");
    }
    let mets = format!(
        r#"<mets xmlns="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink" OBJID="{id}"><fileSec><fileGrp>{declared}</fileGrp></fileSec></mets>"#
    );
    z.start_file(format!("{id}/METS.xml"), stored)
        .expect("entry");
    z.write_all(mets.as_bytes()).expect("write");
    z.finish().expect("finish").into_inner()
}

/// The server reads whole blocks (1 MiB in Garage) for every range it serves, so a zip read in order is
/// one GET for all its entries, not one per entry plus one per local header (which read the blocks at
/// every entry's edges again); and every GET is `If-Match` the ETag listed, so an object replaced after
/// it was listed is an error naming its key, never bytes of two objects.
#[test]
fn a_zip_read_in_order_is_one_get_and_a_replaced_object_is_an_error_not_a_mix() {
    let g = Garage::start();
    g.bucket("blocks");
    let c = g.client("blocks");
    let zip = sip_zip_of("ORDER", 4, 3);
    c.put("z/ORDER.zip", &zip).expect("put");
    let blocks_before = g.metric("block_bytes_read").unwrap_or(0);
    let (code, v, err) = run_json(
        g.dangan()
            .args(["verify", "--jobs", "1", "--json", "s3://blocks/z"])
            .timeout(Duration::from_secs(120)),
    );
    assert_eq!(code, 0, "{err}{v}");
    assert_eq!(v["packages"][0]["ok"], true, "{v}");
    let requests = v["storage"]["requests"].as_u64().unwrap_or(0);
    let read = v["storage"]["bytes_read"].as_u64().unwrap_or(0);
    // The listing, the end of the zip (its end record, central directory and METS.xml: one small
    // window), and at most one stream per entry, each from a block edge (or the first entry) to the
    // block edge after the next entry's start — not one GET per entry plus one per local header (10).
    assert!((3..=7).contains(&requests), "{v}");
    assert!(
        read <= zip.len() as u64 + (128 << 10),
        "{read} bytes read of a {} byte zip: {v}",
        zip.len()
    );
    // Garage read each 1 MiB block once, but for the one the end window shares with the last entry
    // (a GET per entry and per local header read eight more here).
    let blocks = g
        .metric("block_bytes_read")
        .expect("Garage counts the bytes of blocks it reads")
        - blocks_before;
    assert!(
        blocks >= zip.len() as u64 - (1 << 20)
            && blocks <= zip.len() as u64 + (1 << 20) + (64 << 10),
        "the server read {blocks} bytes of blocks for a {} byte zip",
        zip.len()
    );

    // Listed (ETag seen), then replaced by an object of the same size with one byte changed.
    let url: S3Url = "s3://blocks/z".parse().expect("url");
    let found = dangan::objstore::source::discover(&c, &url).expect("discover");
    assert_eq!(found.packages.len(), 1);
    let pkg =
        dangan::objstore::source::open(&c, &found.packages[0], &Default::default()).expect("opens");
    let mut other = zip.clone();
    other[(5 << 20) + 7] ^= 0x01; // inside data/f1.bin
    c.put("z/ORDER.zip", &other).expect("replace");
    let e = pkg
        .with_reader("data/f1.bin", |r| {
            let mut sink = Vec::new();
            r.read_to_end(&mut sink)
        })
        .expect_err("a replaced object is not read");
    let e = e.to_string();
    assert!(e.contains("412"), "{e}");
    assert!(e.contains("s3://blocks/z/ORDER.zip"), "{e}");
}
