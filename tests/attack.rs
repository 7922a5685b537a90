//! The edges a fixity tool must hold (issue 11): damage that must never pass silently, inputs that must
//! never hang, and zip bombs that must never exhaust the machine.
//!
//! Damage is made with ordinary file operations after `dangan pack fixtures/demo` / `dangan bag`; every run
//! that could hang is under `timeout`; zip bombs are built by hand at test time (Python's zlib for the
//! deflate kernel) and measured with `/usr/bin/time -v` (Debian `time`, installed by
//! scripts/install-tools.sh).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

const ID: &str = "demo-sip";
const CREATED: &str = "2026-01-02T03:04:05Z";

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dangan"))
}

/// `dangan ARGS` under `timeout 60` (a hang fails the test instead of the test run).
fn run(args: &[&str], paths: &[&Path]) -> Output {
    let t = Instant::now();
    let out = Command::new(common::require("timeout"))
        .arg("60")
        .arg(bin())
        .args(args)
        .args(paths)
        .output()
        .expect("run dangan");
    assert_ne!(
        out.status.code(),
        Some(124),
        "dangan {args:?} {paths:?} hung ({:?})",
        t.elapsed()
    );
    out
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `dangan pack fixtures/demo` into `out` (a folder package, or a zip).
fn pack(out: &Path, id: &str, zip: bool) -> PathBuf {
    let mut args = vec!["pack", "--created", CREATED, "--id", id];
    if zip {
        args.push("--zip");
    }
    let demo = common::root().join("fixtures/demo");
    let o = Command::new(bin())
        .args(&args)
        .arg(&demo)
        .arg("--out")
        .arg(out)
        .output()
        .expect("pack");
    assert!(o.status.success(), "pack: {}", text(&o));
    out.join(if zip { format!("{id}.zip") } else { id.into() })
}

fn mkfifo(path: &Path) {
    let st = Command::new(common::require("mkfifo"))
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(st.success());
}

/// A listening Unix socket file at `path` (the socket stays as a file after Python exits).
fn mksocket(path: &Path) {
    let st = Command::new(common::require("python3"))
        .args([
            "-c",
            "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])",
        ])
        .arg(path)
        .status()
        .expect("python3");
    assert!(st.success());
}

fn findings_of(v: &Value) -> Vec<Value> {
    let mut out: Vec<Value> = v["findings"].as_array().cloned().unwrap_or_default();
    for p in v["packages"].as_array().into_iter().flatten() {
        out.extend(p["findings"].as_array().cloned().unwrap_or_default());
    }
    out
}

fn has_finding(v: &Value, rule: &str, en: &str) -> bool {
    findings_of(v)
        .iter()
        .any(|f| f["rule"] == rule && f["message_en"].as_str().is_some_and(|m| m.contains(en)))
}

// ---------------------------------------------------------------------------------------------
// No silent passes
// ---------------------------------------------------------------------------------------------

#[test]
fn a_sip_without_its_root_mets_is_one_damaged_package() {
    let t = tempfile::tempdir().unwrap();
    let archive = t.path().join("archive");
    let sip = pack(&archive, ID, false);
    fs::remove_file(sip.join("METS.xml")).unwrap();
    // The damage the METS would have caught: catalog.xml overwritten.
    fs::write(sip.join("metadata/descriptive/catalog.xml"), "<catalog/>").unwrap();
    for target in [&sip, &archive] {
        let out = run(&["verify", "--json"], &[target]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let v = json(&out);
        let packages = v["packages"].as_array().unwrap();
        assert_eq!(packages.len(), 1, "one damaged package, not several: {v}");
        assert_eq!(packages[0]["kind"], "sip");
        assert!(
            has_finding(&v, "CSIPSTR4", "no METS.xml at the package root"),
            "{v}"
        );
    }
    // validate says the same.
    let out = run(&["validate", "--json", "--no-virus-scan"], &[&sip]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("CSIPSTR4"));
}

#[test]
fn a_bag_without_bagit_txt_is_a_damaged_bag_in_verify_and_the_ledger() {
    let t = tempfile::tempdir().unwrap();
    let sip = pack(&t.path().join("build"), ID, false);
    let archive = t.path().join("archive");
    fs::create_dir(&archive).unwrap();
    let bag = archive.join("demo-bag");
    let o = Command::new(bin())
        .args(["bag", "--quiet"])
        .arg(&sip)
        .arg("--out")
        .arg(&bag)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let ledger = t.path().join("ledger.jsonl");
    let l = ledger.to_str().unwrap();
    let out = run(&["verify", "--json", "--quiet", "--ledger", l], &[&archive]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    fs::remove_file(bag.join("bagit.txt")).unwrap();
    let out = run(&["verify", "--json", "--quiet", "--ledger", l], &[&archive]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["packages"].as_array().unwrap().len(), 1, "{v}");
    assert!(
        v["packages"][0]["kind"]
            .as_str()
            .is_some_and(|k| k.starts_with("bag")),
        "{v}"
    );
    assert!(
        v["packages"][0]["findings"]
            .to_string()
            .contains("bagit.txt"),
        "{v}"
    );

    let out = run(&["ledger", "report", "--json", l], &[&archive]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["packages"][0]["last_outcome"], "failure", "{v}");
}

#[test]
fn a_package_in_the_ledger_that_is_gone_or_no_longer_a_package_fails() {
    let t = tempfile::tempdir().unwrap();
    let archive = t.path().join("archive");
    for id in ["keep", "gone", "hollow"] {
        pack(&archive, id, false);
    }
    let ledger = t.path().join("ledger.jsonl");
    let l = ledger.to_str().unwrap();
    let out = run(&["verify", "--json", "--quiet", "--ledger", l], &[&archive]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    fs::remove_dir_all(archive.join("gone")).unwrap();
    // What is left of "hollow" is not a package any more.
    let hollow = archive.join("hollow");
    for p in ["METS.xml", "representations", "metadata"] {
        let p = hollow.join(p);
        if p.is_dir() {
            fs::remove_dir_all(p).unwrap();
        } else {
            fs::remove_file(p).unwrap();
        }
    }
    let out = run(&["verify", "--json", "--quiet", "--ledger", l], &[&archive]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v = json(&out);
    let by_id = |id: &str| {
        v["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["path"].as_str().is_some_and(|s| s.ends_with(id)))
            .unwrap_or_else(|| panic!("{id} not reported: {v}"))
            .clone()
    };
    assert_eq!(by_id("keep")["ok"], true);
    assert!(
        by_id("gone")["findings"]
            .to_string()
            .contains("now missing"),
        "{v}"
    );
    assert!(
        by_id("hollow")["findings"]
            .to_string()
            .contains("no longer a package"),
        "{v}"
    );
    let out = run(&["ledger", "report", "--json", l], &[&archive]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

/// Issue 11: the ledger matches packages by one spelling of their path, so a package gone is found whether the
/// archive was given relative or absolute, at the recording run or at the later one.
#[test]
fn a_package_gone_is_found_however_the_archive_path_is_spelled() {
    let t = tempfile::tempdir().unwrap();
    let archive = t.path().join("archive");
    for id in ["keep", "gone"] {
        pack(&archive, id, false);
    }
    let ledger = t.path().join("ledger.jsonl");
    let l = ledger.to_str().unwrap();
    let relative = |spelling: &str| {
        let out = Command::new(common::require("timeout"))
            .arg("60")
            .arg(bin())
            .current_dir(t.path())
            .args(["verify", "--json", "--quiet", "--ledger", l, spelling])
            .output()
            .expect("run dangan");
        assert_ne!(out.status.code(), Some(124), "hung");
        out
    };
    let out = relative("./archive");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    fs::remove_dir_all(archive.join("gone")).unwrap();
    let gone_named = |out: &Output| {
        json(out)["packages"].as_array().unwrap().iter().any(|p| {
            p["path"].as_str().is_some_and(|s| s.ends_with("gone"))
                && p["findings"].to_string().contains("now missing")
        })
    };
    // Recorded as ./archive, checked as /abs/archive.
    let out = run(&["verify", "--json", "--quiet", "--ledger", l], &[&archive]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(gone_named(&out), "{}", text(&out));
    // And with another relative spelling, after an absolute run.
    let out = relative("archive/../archive");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(gone_named(&out), "{}", text(&out));
    // The ledger holds one spelling for the package that is still there.
    let lines = fs::read_to_string(&ledger).unwrap();
    let keep = archive.join("keep").canonicalize().unwrap();
    let spellings: std::collections::BTreeSet<String> = lines
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["path"].as_str().is_some_and(|p| p.ends_with("keep")))
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        spellings.into_iter().collect::<Vec<_>>(),
        [keep.display().to_string()]
    );
}

#[test]
fn leftovers_of_interrupted_runs_are_warned_about_never_counted() {
    let t = tempfile::tempdir().unwrap();
    let archive = t.path().join("archive");
    let good = pack(&archive, ID, false);
    let zip = pack(&t.path().join("zips"), "z", true);
    // What a killed `dangan pack` / `dangan bag` leaves behind, copied in by hand.
    let copy = |to: &Path| {
        let st = Command::new("cp")
            .arg("-a")
            .arg(&good)
            .arg(to)
            .status()
            .unwrap();
        assert!(st.success());
    };
    copy(&archive.join(".demo-x.partial"));
    copy(&archive.join(".demo-y.dangan-0b1c5c7e-5d2f-4f5e-9a55-2f2d6b1e0c11"));
    fs::copy(&zip, archive.join("demo-z.zip.partial")).unwrap();
    fs::copy(&zip, archive.join(".demo-w.zip.dangan-r1.partial")).unwrap();
    let out = run(&["verify", "--json", "--quiet"], &[&archive]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["packages"].as_array().unwrap().len(), 1, "{v}");
    let leftovers: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["level"] == "warning"
                && f["message_en"]
                    .as_str()
                    .is_some_and(|m| m.contains("leftover of an interrupted run"))
        })
        .collect();
    assert_eq!(leftovers.len(), 4, "{v}");
    // Only leftovers: nothing was verified, so the run cannot pass.
    fs::remove_dir_all(&good).unwrap();
    let out = run(&["verify", "--json", "--quiet"], &[&archive]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = run(&["verify", "--quiet"], &[&archive.join(".demo-x.partial")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

// ---------------------------------------------------------------------------------------------
// No hangs
// ---------------------------------------------------------------------------------------------

#[test]
fn fifos_and_sockets_are_findings_never_blocking_opens() {
    let t = tempfile::tempdir().unwrap();
    let archive = t.path().join("archive");
    let sip = pack(&archive, ID, false);
    let fifo = t.path().join("pipe");
    mkfifo(&fifo);

    // As an argument.
    let started = Instant::now();
    let out = run(&["verify", "--json"], &[&fifo]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(has_finding(
        &json(&out),
        "DA/T 70-2018 4.3",
        "not a regular file (FIFO)"
    ));
    let out = run(&["validate", "--json", "--no-virus-scan"], &[&fifo]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("not a regular file (FIFO)"),
        "{}",
        text(&out)
    );
    let out = run(&["inspect", "--json"], &[&fifo]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("not a regular file (FIFO)"),
        "{}",
        text(&out)
    );
    let out = run(&["hash", "--json"], &[&fifo]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("not a regular file (FIFO)"),
        "{}",
        text(&out)
    );

    // As the ledger.
    let out = run(&["verify", "--ledger", fifo.to_str().unwrap()], &[&sip]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("not a regular file (FIFO)"),
        "{}",
        text(&out)
    );
    let out = run(
        &[
            "verify",
            "--older-than",
            "1d",
            "--ledger",
            fifo.to_str().unwrap(),
        ],
        &[&sip],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // Inside a package: a FIFO and a socket among the data.
    let data = sip.join("representations/original/data");
    assert!(data.is_dir(), "{}", data.display());
    mkfifo(&data.join("pipe.tif"));
    mksocket(&data.join("sock.tif"));
    let out = run(&["verify", "--json"], &[&sip]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v = json(&out);
    let failures = v["packages"][0]["failures"].to_string();
    assert!(
        failures.contains("pipe.tif") && failures.contains("not a regular file (FIFO)"),
        "{v}"
    );
    assert!(
        failures.contains("sock.tif") && failures.contains("not a regular file (socket)"),
        "{v}"
    );
    let out = run(&["validate", "--json", "--no-virus-scan"], &[&sip]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v = json(&out);
    assert!(
        has_finding(&v, "DA/T 70-2018 4.3", "not a regular file (FIFO)"),
        "{v}"
    );
    assert!(
        has_finding(&v, "DA/T 70-2018 4.3", "not a regular file (socket)"),
        "{v}"
    );
    let out = run(&["inspect", "--json"], &[&data]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("not a regular file (FIFO)"),
        "{}",
        text(&out)
    );

    // In a folder of packages (a batch).
    fs::remove_file(data.join("pipe.tif")).unwrap();
    fs::remove_file(data.join("sock.tif")).unwrap();
    mkfifo(&archive.join("stray.zip"));
    let out = run(&["verify", "--json"], &[&archive]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["packages"][0]["ok"], true, "{v}");
    assert!(
        has_finding(&v, "DA/T 70-2018 4.3", "not a regular file (FIFO)"),
        "{v}"
    );
    assert!(started.elapsed() < Duration::from_secs(120));
}

// ---------------------------------------------------------------------------------------------
// No bombs
// ---------------------------------------------------------------------------------------------

/// Build a zip by hand (Python): every entry of `base` copied stored, then the bomb. `overlap`: 200
/// central-directory entries of 1 GiB each sharing one ~1 MB deflate kernel. `inflate`: the entry named
/// `inflate` replaced by a 10 GiB deflate stream whose headers declare its original (small) size.
const BOMB: &str = r#"
import struct, sys, zipfile, zlib
base, out, mode, target = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
c = zlib.compressobj(9, zlib.DEFLATED, -15)
# 1 MiB of zeros, full-flushed: a self-contained run of deflate blocks that can be repeated.
chunk = c.compress(b"\0" * (1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)
final = b"\x03\x00"  # an empty final fixed-Huffman block
entries = []  # (name, method, crc, csize, usize, offset)
body = bytearray()
def local(name, method, crc, csize, usize, data):
    off = len(body)
    n = name.encode()
    body.extend(struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0x800, method, 0, 0x21, crc, csize, usize, len(n), 0))
    body.extend(n)
    body.extend(data)
    return off
src = zipfile.ZipFile(base)
root = src.namelist()[0].split("/")[0]
for info in src.infolist():
    if info.is_dir():
        continue
    data = src.read(info)
    if mode == "inflate" and info.filename == root + "/" + target:
        kernel = chunk * 10240 + final  # 10 GiB of zeros, about 10 MB
        off = local(info.filename, 8, zlib.crc32(data), len(kernel), len(data), kernel)
        entries.append((info.filename, 8, zlib.crc32(data), len(kernel), len(data), off))
        continue
    off = local(info.filename, 0, zlib.crc32(data), len(data), len(data), data)
    entries.append((info.filename, 0, zlib.crc32(data), len(data), len(data), off))
if mode == "overlap":
    kernel = chunk * 1024 + final  # 1 GiB of zeros, about 1 MB
    off = local(root + "/bomb/0", 8, 0, len(kernel), 1 << 30, kernel)
    for i in range(200):
        entries.append((root + "/bomb/%d" % i, 8, 0, len(kernel), 1 << 30, off))
cd = bytearray()
for name, method, crc, csize, usize, off in entries:
    n = name.encode()
    usize32 = min(usize, 0xFFFFFFFF)
    extra = b""
    if usize > 0xFFFFFFFF - 1:
        extra = struct.pack("<HHQ", 1, 8, usize)
        usize32 = 0xFFFFFFFF
    cd.extend(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 45, 0x800, method, 0, 0x21, crc, csize, usize32, len(n), len(extra), 0, 0, 0, 0, off))
    cd.extend(n)
    cd.extend(extra)
start = len(body)
body.extend(cd)
body.extend(struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, len(entries), len(entries), len(cd), start, 0))
open(out, "wb").write(body)
"#;

fn bomb(base: &Path, out: &Path, mode: &str, target: &str) {
    let o = Command::new(common::require("python3"))
        .arg("-c")
        .arg(BOMB)
        .arg(base)
        .arg(out)
        .arg(mode)
        .arg(target)
        .output()
        .expect("python3");
    assert!(o.status.success(), "bomb: {}", text(&o));
}

/// Run dangan under `/usr/bin/time -v`: (output, max RSS in KiB, user+system CPU seconds).
fn measured(args: &[&str], path: &Path) -> (Output, u64, f64) {
    let out = Command::new(common::require("timeout"))
        .arg("60")
        .arg(common::require("/usr/bin/time"))
        .arg("-v")
        .arg(bin())
        .args(args)
        .arg(path)
        .output()
        .expect("time");
    assert_ne!(out.status.code(), Some(124), "hung: {args:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    let field = |name: &str| -> String {
        err.lines()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("no '{name}' in /usr/bin/time output: {err}"))
    };
    let rss: u64 = field("Maximum resident set size (kbytes):")
        .parse()
        .unwrap();
    let cpu: f64 = field("User time (seconds):").parse::<f64>().unwrap()
        + field("System time (seconds):").parse::<f64>().unwrap();
    eprintln!(
        "{args:?} {}: max RSS {rss} KiB, CPU {cpu:.2} s, wall {}",
        path.display(),
        field("Elapsed (wall clock) time (h:mm:ss or m:ss):")
    );
    (out, rss, cpu)
}

#[test]
fn zip_bombs_finish_at_once_in_bounded_memory_in_verify_and_validate() {
    let t = tempfile::tempdir().unwrap();
    let zip = pack(&t.path().join("out"), ID, true);
    // The data file the inflating bomb replaces (declared small in METS and in the zip headers).
    let names = {
        let o = Command::new(common::require("python3"))
            .args([
                "-c",
                "import zipfile,sys; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))",
            ])
            .arg(&zip)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let target = names
        .lines()
        .find(|n| n.contains("/data/") && n.ends_with(".tif"))
        .and_then(|n| n.split_once('/'))
        .map(|(_, rest)| rest.to_string())
        .expect("a TIFF in the package");
    let overlap = t.path().join("overlap.zip");
    bomb(&zip, &overlap, "overlap", "");
    assert!(fs::metadata(&overlap).unwrap().len() < 3 << 20);
    let inflate = t.path().join("inflate.zip");
    bomb(&zip, &inflate, "inflate", &target);

    // The inflating entry is stopped at its declared size (by dangan's cap or, first, by the zip
    // reader's own check of the header size): either way its failure says "declared".
    for (bomb, expect) in [(&overlap, "overlapping entries"), (&inflate, "declared")] {
        let (out, rss, cpu) = measured(&["verify", "--json", "--quiet"], bomb);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let failures = v["packages"][0]["failures"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            failures
                .iter()
                .any(|f| f["detail"].as_str().is_some_and(|d| d.contains(expect))
                    && (expect != "declared" || f["path"] == target.as_str())),
            "{v}"
        );
        assert!(rss < 200 << 10, "verify {}: {rss} KiB", bomb.display());
        assert!(cpu < 1.0, "verify {}: {cpu} s CPU", bomb.display());
        let (out, rss, cpu) = measured(&["validate", "--json", "--no-virus-scan"], bomb);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(rss < 200 << 10, "validate {}: {rss} KiB", bomb.display());
        assert!(cpu < 1.0, "validate {}: {cpu} s CPU", bomb.display());
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let named = if expect == "overlapping entries" {
            has_finding(&v, "DA/T 70-2018 4.3", "overlapping entries")
        } else {
            v["findings"].to_string().contains(&target)
        };
        assert!(named, "validate {}: {v}", bomb.display());
    }
}

/// A zip whose end records declare 5,000,000 entries (ZIP64, APPNOTE 4.3.14–4.3.16) in a file of a
/// hundred bytes: refused from its end record by the entry limit, before the zip crate reads the
/// central directory (issue 11), in bounded time and memory, and the refusal names the limit.
#[test]
fn a_zip_declaring_millions_of_entries_is_refused_by_the_entry_limit() {
    let t = tempfile::tempdir().unwrap();
    let entries: u64 = 5_000_000;
    let mut b = Vec::new();
    b.extend_from_slice(b"PK\x06\x06");
    b.extend_from_slice(&44u64.to_le_bytes());
    b.extend_from_slice(&[45, 0, 45, 0]);
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&entries.to_le_bytes());
    b.extend_from_slice(&entries.to_le_bytes());
    b.extend_from_slice(&(entries * 46).to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(b"PK\x06\x07");
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(b"PK\x05\x06");
    b.extend_from_slice(&[0xFF; 16]);
    b.extend_from_slice(&0u16.to_le_bytes());
    let zip = t.path().join("many.zip");
    fs::write(&zip, &b).unwrap();
    let (out, rss, cpu) = measured(&["verify", "--json", "--quiet"], &zip);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v = json(&out);
    assert!(
        v["packages"][0]["findings"]
            .to_string()
            .contains("declares 5000000 entries, more than the limit of 1000000 entries"),
        "{v}"
    );
    assert!(rss < 200 << 10 && cpu < 1.0, "verify: {rss} KiB, {cpu} s");
    let (out, rss, cpu) = measured(&["validate", "--json", "--no-virus-scan"], &zip);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("declares 5000000 entries, more than the limit of 1000000 entries"),
        "{}",
        text(&out)
    );
    assert!(rss < 200 << 10 && cpu < 1.0, "validate: {rss} KiB, {cpu} s");
}
