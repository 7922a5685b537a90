//! `dangan pack`: E-ARK SIP 2.2.0 packages judged by the real validators — commons-ip (E-ARK), xmllint
//! with the METS 1.12 / E-ARK METS and PREMIS 3.0 XSDs, and the project's own catalog XSD.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use serde_json::Value;

fn dangan() -> Command {
    Command::cargo_bin("dangan").expect("binary builds")
}

fn demo() -> PathBuf {
    common::root().join("fixtures/demo")
}

const CREATED: &str = "2026-01-02T03:04:05Z";

fn pack(batch: &Path, out: &Path, id: &str) -> Value {
    let output = dangan()
        .args(["pack", "--json", "--created", CREATED, "--id", id])
        .args([
            "--submitter",
            "忻州市某县档案馆",
            "--submitter-id",
            "11140900MB0000000X",
        ])
        .arg(batch)
        .arg("--out")
        .arg(out)
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "pack failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("json")
}

/// Run the E-ARK validator; its exit code is 0 even for invalid packages, so read the JSON.
fn commons_ip(sip: &Path) -> Value {
    let jar = common::tool_var("COMMONS_IP_JAR");
    let tmp = tempfile::tempdir().expect("tempdir"); // it may write a log into its working directory
    let (ok, stdout, stderr) = common::run(
        Process::new(common::require("java"))
            .current_dir(tmp.path())
            .args(["-jar", &jar, "validate", "-i"])
            .arg(sip)
            .args(["--specification-version", "2.2.0"]),
    );
    assert!(ok, "commons-ip did not run: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("commons-ip JSON: {e}: {stdout}"))
}

fn failed_rules(report: &Value) -> Vec<String> {
    report["validation"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter(|r| r["testing"]["outcome"] == "FAILED")
                .map(|r| format!("{} {} {}", r["id"], r["level"], r["testing"]["issues"]))
                .collect()
        })
        .unwrap_or_default()
}

fn xmllint(schema: &str, doc: &Path) {
    let (ok, stdout, stderr) = common::run(
        Process::new(common::require("xmllint"))
            .env("XML_CATALOG_FILES", common::tool_var("XML_CATALOG_FILES"))
            .args(["--nonet", "--noout", "--schema", schema])
            .arg(doc),
    );
    assert!(
        ok,
        "{} invalid against {schema}:\n{stdout}{stderr}",
        doc.display()
    );
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(dir).expect("under").to_path_buf())
        .collect();
    v.sort();
    v
}

#[test]
fn demo_package_is_valid_e_ark_sip() {
    let out = tempfile::tempdir().expect("tempdir");
    let report = pack(&demo(), out.path(), "demo-sip");
    let p = &report["packages"][0];
    assert_eq!(p["id"], "demo-sip");
    assert_eq!(p["items"], 6);
    let sip = out.path().join("demo-sip");
    assert_eq!(PathBuf::from(p["path"].as_str().expect("path")), sip);

    // CSIPSTR1/2/4: one root folder named as OBJID, METS.xml at its root.
    assert!(sip.join("METS.xml").is_file());
    for f in [
        "metadata/descriptive/catalog.xml",
        "metadata/descriptive/dc.xml",
        "metadata/preservation/premis.xml",
        "representations/original/METS.xml",
        "representations/original/data/J001-WS_2019-Y-BGS-0001-0001.tif",
        "schemas/mets1_12.xsd",
        "documentation/目录.csv",
        "documentation/说明文件.txt",
    ] {
        assert!(sip.join(f).is_file(), "{f} missing");
    }
    // Originals are kept bit for bit.
    for name in ["J001-WS_2019-Y-BGS-0003.jpg", "J001-WS_2019-Y-BGS-0006.eml"] {
        assert_eq!(
            std::fs::read(demo().join(name)).expect("src"),
            std::fs::read(sip.join("representations/original/data").join(name)).expect("copy"),
        );
    }

    let v = commons_ip(&sip);
    assert_eq!(
        v["summary"]["result"],
        "VALID",
        "commons-ip: {:#}\n{:#?}",
        v["summary"],
        failed_rules(&v)
    );
    assert_eq!(v["summary"]["errors"], 0);
    assert_eq!(v["summary"]["warnings"], 0, "{:#?}", failed_rules(&v));

    let eark_mets = common::tool_var("EARK_METS_XSD");
    let mets = common::tool_var("METS_XSD");
    let premis = common::tool_var("PREMIS_XSD");
    for m in [
        "METS.xml",
        "representations/original/METS.xml",
        "representations/preservation/METS.xml",
        "representations/access/METS.xml",
    ] {
        xmllint(&eark_mets, &sip.join(m));
        xmllint(&mets, &sip.join(m));
    }
    for p in [
        "metadata/preservation/premis.xml",
        "representations/original/metadata/preservation/premis.xml",
        "representations/preservation/metadata/preservation/premis.xml",
        "representations/access/metadata/preservation/premis.xml",
    ] {
        xmllint(&premis, &sip.join(p));
    }
    let own = common::root().join("schemas/dangan-catalog.xsd");
    xmllint(
        own.to_str().expect("utf8"),
        &sip.join("metadata/descriptive/catalog.xml"),
    );
}

#[test]
fn metadata_carries_catalog_codes_and_digests() {
    let out = tempfile::tempdir().expect("tempdir");
    pack(&demo(), out.path(), "meta-sip");
    let sip = out.path().join("meta-sip");
    let catalog =
        std::fs::read_to_string(sip.join("metadata/descriptive/catalog.xml")).expect("read");
    assert!(catalog.contains("<catalogCode>X-1.3.6</catalogCode>"));
    assert!(catalog.contains(r#"<node code="X-1.3" name="精准施策类"/>"#));
    assert!(catalog.contains("<danghao>J001-WS·2019-Y-BGS-0002</danghao>"));
    assert!(catalog.contains(r#"page="2""#));
    let mets = std::fs::read_to_string(sip.join("METS.xml")).expect("read");
    assert!(mets.contains(r#"TYPE="LOGICAL""#));
    assert!(mets.contains(r#"LABEL="C-3.1.6 危房改造前、后照片""#));
    assert!(mets.contains(r#"<name>忻州市某县档案馆</name>"#));
    // PREMIS fixity equals a digest computed here, independently of dangan.
    let premis =
        std::fs::read_to_string(sip.join("metadata/preservation/premis.xml")).expect("read");
    let (ok, out_sha, _) =
        common::run(Process::new("sha256sum").arg(demo().join("J001-WS_2019-Y-BGS-0004.wav")));
    assert!(ok);
    let sha = out_sha.split_whitespace().next().expect("digest");
    assert!(premis.contains(&format!("<messageDigest>{sha}</messageDigest>")));
    assert!(
        mets.contains(&format!(r#"CHECKSUM="{}""#, sha.to_ascii_uppercase())) || {
            let rep = std::fs::read_to_string(sip.join("representations/original/METS.xml"))
                .expect("read");
            rep.contains(&format!(r#"CHECKSUM="{}""#, sha.to_ascii_uppercase()))
        }
    );
    let csv = std::fs::read(sip.join("documentation/目录.csv")).expect("read");
    assert!(
        csv.starts_with(b"\xEF\xBB\xBF"),
        "UTF-8 BOM so Excel opens it"
    );
}

#[test]
fn same_input_same_bytes() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    pack(&demo(), a.path(), "repro");
    pack(&demo(), b.path(), "repro");
    let fa = files_under(a.path());
    assert_eq!(fa, files_under(b.path()));
    assert!(fa.len() > 15);
    for f in fa {
        assert_eq!(
            std::fs::read(a.path().join(&f)).expect("a"),
            std::fs::read(b.path().join(&f)).expect("b"),
            "{} differs between runs",
            f.display()
        );
    }
}

#[test]
fn sm3_digests_when_asked() {
    let out = tempfile::tempdir().expect("tempdir");
    dangan()
        .args(["pack", "--sm3", "--id", "sm3-sip", "--created", CREATED])
        .arg(demo())
        .arg("--out")
        .arg(out.path())
        .assert()
        .success();
    let premis =
        std::fs::read_to_string(out.path().join("sm3-sip/metadata/preservation/premis.xml"))
            .expect("read");
    assert!(premis.contains("<messageDigestAlgorithm>SM3</messageDigestAlgorithm>"));
    // The SM3 test vector is checked in package::tests; here: one SM3 beside every SHA-256.
    assert_eq!(
        premis
            .matches("<messageDigestAlgorithm>SM3</messageDigestAlgorithm>")
            .count(),
        premis
            .matches("<messageDigestAlgorithm>SHA-256</messageDigestAlgorithm>")
            .count()
    );
}

#[test]
fn invalid_batch_writes_nothing() {
    let batch = tempfile::tempdir().expect("tempdir");
    for e in std::fs::read_dir(demo()).expect("demo") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), batch.path().join(e.file_name())).expect("copy");
    }
    let csv = std::fs::read_to_string(batch.path().join("目录.csv")).expect("read");
    std::fs::write(
        batch.path().join("目录.csv"),
        csv.replace("X-1.3.6", "X-1.3.66"),
    )
    .expect("write");
    let out = tempfile::tempdir().expect("tempdir");
    let target = out.path().join("packages");
    let output = dangan()
        .args(["pack", "--json"])
        .arg(batch.path())
        .arg("--out")
        .arg(&target)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(v["packages"].as_array().map(Vec::len), Some(0));
    assert!(
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["rule"] == "INTAKE.CATALOG_CODE" && f["path"] == "目录.csv:3")
    );
    assert!(
        !target.exists(),
        "nothing may be written for an invalid batch"
    );
}

#[test]
fn existing_package_is_not_overwritten() {
    let out = tempfile::tempdir().expect("tempdir");
    pack(&demo(), out.path(), "once");
    dangan()
        .args(["pack", "--id", "once"])
        .arg(demo())
        .arg("--out")
        .arg(out.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("already exists"));
}

/// A run killed midway leaves no package under its final name, and a rerun completes.
#[test]
fn killed_run_leaves_no_package() {
    let batch = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        batch.path().join("目录.csv"),
        "档号,题名,分类号\nJ001-WS·2019-Y-BGS-0001,大文件,X-3.2\n",
    )
    .expect("write");
    // 768 MiB of zeros: long enough to copy and hash that the kill lands midway.
    let big =
        std::fs::File::create(batch.path().join("J001-WS_2019-Y-BGS-0001.wav")).expect("create");
    big.set_len(768 << 20).expect("sparse file");
    let out = tempfile::tempdir().expect("tempdir");
    let bin = assert_cmd::cargo::cargo_bin("dangan");
    let mut child = Process::new(&bin)
        .args(["pack", "--id", "big", "--created", CREATED])
        .arg(batch.path())
        .arg("--out")
        .arg(out.path())
        .spawn()
        .expect("spawn");
    // The staging name is `.big.dangan-<run>.partial` (fsutil::staging_path).
    let staged = || {
        std::fs::read_dir(out.path())
            .map(|d| {
                d.flatten().any(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.starts_with(".big.dangan-") && n.ends_with(".partial")
                })
            })
            .unwrap_or(false)
    };
    let start = std::time::Instant::now();
    while !staged() && start.elapsed().as_secs() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().expect("kill");
    let _ = child.wait();
    assert!(staged(), "the run should have been caught while staging");
    assert!(
        !out.path().join("big").exists(),
        "no package under its final name"
    );
    // A rerun cleans the leftover staging folder and completes.
    dangan()
        .args(["pack", "--id", "big", "--created", CREATED])
        .arg(batch.path())
        .arg("--out")
        .arg(out.path())
        .assert()
        .success();
    assert!(out.path().join("big/METS.xml").is_file());
    assert!(!staged());
}

#[test]
fn zipped_package_is_valid_and_deterministic() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    for dir in [a.path(), b.path()] {
        dangan()
            .args(["pack", "--zip", "--id", "demo-zip", "--created", CREATED])
            .arg(demo())
            .arg("--out")
            .arg(dir)
            .assert()
            .success();
    }
    let zip_a = a.path().join("demo-zip.zip");
    assert_eq!(
        std::fs::read(&zip_a).expect("a"),
        std::fs::read(b.path().join("demo-zip.zip")).expect("b"),
        "same input, same zip bytes"
    );
    assert!(
        !a.path().join("demo-zip").exists(),
        "no folder left beside the zip"
    );
    let v = commons_ip(&zip_a);
    assert_eq!(v["summary"]["result"], "VALID", "{:#?}", failed_rules(&v));
    assert_eq!(v["summary"]["errors"], 0);
    // Media is stored, XML deflated.
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_a).expect("open")).expect("zip");
    let jpg = zip
        .by_name("demo-zip/representations/original/data/J001-WS_2019-Y-BGS-0003.jpg")
        .expect("entry")
        .compression();
    assert_eq!(jpg, zip::CompressionMethod::Stored);
    let mets = zip
        .by_name("demo-zip/METS.xml")
        .expect("entry")
        .compression();
    assert_eq!(mets, zip::CompressionMethod::Deflated);
}

#[test]
fn split_by_household_gives_one_valid_package_each() {
    let batch = tempfile::tempdir().expect("tempdir");
    let mut csv = String::from("档号,题名,分类号,户编号,户主姓名\n");
    for (n, (code, hh, name)) in [
        ("H-1.1", "140900-001", "张三"),
        ("H-1.4", "140900-001", "张三"),
        ("H-1.1", "140900-002", "李四"),
    ]
    .iter()
    .enumerate()
    {
        let dh = format!("J001-WS·2020-Y-HU-{:04}", n + 1);
        csv.push_str(&format!("{dh},{name}户 扶贫材料,{code},{hh},{name}\n"));
        std::fs::copy(
            demo().join("J001-WS_2019-Y-BGS-0001-0001.tif"),
            batch
                .path()
                .join(format!("J001-WS_2020-Y-HU-{:04}.tif", n + 1)),
        )
        .expect("copy");
    }
    std::fs::write(batch.path().join("目录.csv"), csv).expect("write");
    let out = tempfile::tempdir().expect("tempdir");
    let output = dangan()
        .args([
            "pack",
            "--json",
            "--split-by",
            "household",
            "--id",
            "hh",
            "--created",
            CREATED,
        ])
        .arg(batch.path())
        .arg("--out")
        .arg(out.path())
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let v: Value = serde_json::from_slice(&output.stdout).expect("json");
    let packages = v["packages"].as_array().expect("packages");
    let ids: Vec<&str> = packages.iter().filter_map(|p| p["id"].as_str()).collect();
    assert_eq!(ids, ["hh-140900-001", "hh-140900-002"]);
    assert_eq!(packages[0]["items"], 2);
    for id in ids {
        let r = commons_ip(&out.path().join(id));
        assert_eq!(
            r["summary"]["result"],
            "VALID",
            "{id}: {:#?}",
            failed_rules(&r)
        );
    }
    // Household split on a batch without 户编号 is refused, naming the rows.
    let out2 = tempfile::tempdir().expect("tempdir");
    dangan()
        .args(["pack", "--split-by", "household"])
        .arg(demo())
        .arg("--out")
        .arg(out2.path())
        .assert()
        .code(1)
        .stdout(predicates::str::contains("目录.csv:2"));
}

#[test]
fn packages_pass_dangan_verify_and_a_flipped_byte_fails() {
    let out = tempfile::tempdir().expect("tempdir");
    pack(&demo(), out.path(), "fx");
    let sip = out.path().join("fx");
    dangan().arg("verify").arg(&sip).assert().success();
    let victim = sip.join("representations/original/data/J001-WS_2019-Y-BGS-0004.wav");
    let mut bytes = std::fs::read(&victim).expect("read");
    bytes[100] ^= 0x01;
    std::fs::write(&victim, bytes).expect("write");
    let output = dangan()
        .args(["verify", "--json"])
        .arg(&sip)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&output.stdout).expect("json");
    let failures = v["packages"][0]["failures"].as_array().expect("failures");
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert_eq!(failures[0]["kind"], "changed");
    assert!(
        failures[0]["path"]
            .as_str()
            .expect("path")
            .ends_with("representations/original/data/J001-WS_2019-Y-BGS-0004.wav")
    );
}

#[test]
fn bagged_package_passes_bagit_python_and_verify() {
    let out = tempfile::tempdir().expect("tempdir");
    dangan()
        .args(["pack", "--bag", "--id", "bagged", "--created", CREATED])
        .arg(demo())
        .arg("--out")
        .arg(out.path())
        .assert()
        .success();
    let bag = out.path().join("bagged");
    assert!(bag.join("data/bagged/METS.xml").is_file());
    let (ok, stdout, stderr) = common::run(
        Process::new(common::tool_var("BAGIT_PY"))
            .arg("--validate")
            .arg(&bag),
    );
    assert!(ok, "bagit.py: {stdout}{stderr}");
    let output = dangan()
        .args(["verify", "--json"])
        .arg(&bag)
        .output()
        .expect("run");
    assert!(output.status.success());
    let v: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(v["packages"][0]["kind"], "bag-sip");
}

#[test]
fn formats_are_identified_into_mets_and_premis() {
    let out = tempfile::tempdir().expect("tempdir");
    pack(&demo(), out.path(), "ids");
    let rep = std::fs::read_to_string(out.path().join("ids/representations/original/METS.xml"))
        .expect("read");
    // SIP32–SIP35: TIFF pages are fmt/353, the WAV fmt/141, the e-mail fmt/950.
    assert_eq!(rep.matches(r#"sip:FORMATREGISTRYKEY="fmt/353""#).count(), 3);
    assert!(rep.contains(r#"sip:FORMATREGISTRYKEY="fmt/950""#));
    assert!(rep.contains(r#"MIMETYPE="image/tiff""#));
    let premis = std::fs::read_to_string(out.path().join("ids/metadata/preservation/premis.xml"))
        .expect("read");
    assert!(premis.contains("<formatRegistryKey>fmt/134</formatRegistryKey>"));
    assert!(premis.contains("eventType/for\">format identification</eventType>"));
    // Each page image has its DA/T 31 QC recorded as a validation event.
    assert_eq!(
        premis
            .matches("eventType/val\">validation</eventType>")
            .count(),
        3
    );
}

#[test]
fn a_failing_scan_stops_the_pack() {
    let batch = tempfile::tempdir().expect("tempdir");
    for e in std::fs::read_dir(demo()).expect("demo") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), batch.path().join(e.file_name())).expect("copy");
    }
    // Page 2 of item 0001 rescanned at 150 dpi: below DA/T 31-2017 9.4's 200 dpi.
    let page = batch.path().join("J001-WS_2019-Y-BGS-0001-0002.tif");
    let (ok, _, err) = common::run(
        Process::new(common::tool_var("IMAGEMAGICK"))
            .arg(&page)
            .args(["-density", "150", "-units", "PixelsPerInch"])
            .arg(&page),
    );
    assert!(ok, "{err}");
    let out = tempfile::tempdir().expect("tempdir");
    let target = out.path().join("p");
    let output = dangan()
        .args(["pack", "--json"])
        .arg(batch.path())
        .arg("--out")
        .arg(&target)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert!(
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["rule"] == "DA/T 31-2017 9.4"
                && f["path"] == "J001-WS_2019-Y-BGS-0001-0002.tif"),
        "{:#}",
        v["findings"]
    );
    assert!(!target.exists());
}

/// The format policy's masters and access copies become representations, with provenance.
#[test]
fn preservation_and_access_representations() {
    let out = tempfile::tempdir().expect("tempdir");
    pack(&demo(), out.path(), "reps");
    let sip = out.path().join("reps");
    // One access PDF per item of page images, pages in order (DA/T 31 items 0001 with 2 pages).
    let pdf = sip.join("representations/access/data/J001-WS_2019-Y-BGS-0001.pdf");
    let (ok, stdout, stderr) = common::run(
        Process::new(common::require("qpdf"))
            .arg("--check")
            .arg(&pdf),
    );
    assert!(ok, "qpdf --check: {stdout}{stderr}");
    let (ok, info, _) = common::run(Process::new(common::require("pdfinfo")).arg(&pdf));
    assert!(ok);
    assert!(
        info.lines()
            .any(|l| l.starts_with("Pages:") && l.ends_with(" 2")),
        "{info}"
    );
    // The MP3 gets a WAV preservation master, derived from it (PREMIS derivation).
    assert!(
        sip.join("representations/preservation/data/J001-WS_2019-Y-BGS-0005.wav")
            .is_file()
    );
    let premis =
        std::fs::read_to_string(sip.join("metadata/preservation/premis.xml")).expect("read");
    assert!(premis.contains("<relationshipType>derivation</relationshipType>"));
    assert!(premis.contains(
        "<relatedObjectIdentifierValue>representations/original/data/J001-WS_2019-Y-BGS-0005.mp3</relatedObjectIdentifierValue>"
    ));
    assert!(premis.contains("eventType/nor\">normalization</eventType>"));
    // One event record: the derivation names the event that made the WAV, and that event links the MP3
    // as its source and the WAV as its outcome (PREMIS linkingObjectRole).
    let made_by = premis
        .split("<relatedEventIdentifierValue>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("relatedEventIdentifier on the derivative");
    let event = premis
        .split("<event>")
        .find(|e| {
            e.contains(&format!(
                "<eventIdentifierValue>{made_by}</eventIdentifierValue>"
            ))
        })
        .expect("the deriving event is in the PREMIS");
    assert!(
        event.contains("eventType/nor\">normalization</eventType>"),
        "{event}"
    );
    let role_of = |path: &str| {
        event
            .split(&format!(
                "<linkingObjectIdentifierValue>{path}</linkingObjectIdentifierValue>"
            ))
            .nth(1)
            .and_then(|rest| rest.split("<linkingObjectRole>").nth(1))
            .and_then(|r| r.split('<').next())
            .map(str::to_string)
    };
    assert_eq!(
        role_of("representations/original/data/J001-WS_2019-Y-BGS-0005.mp3").as_deref(),
        Some("source"),
        "{event}"
    );
    assert_eq!(
        role_of("representations/preservation/data/J001-WS_2019-Y-BGS-0005.wav").as_deref(),
        Some("outcome"),
        "{event}"
    );
    assert!(
        event.contains("<linkingAgentRole>executing program</linkingAgentRole>"),
        "{event}"
    );
    // The catalog view of the access representation lists the item's PDF under its catalog node.
    let access =
        std::fs::read_to_string(sip.join("representations/access/METS.xml")).expect("read");
    assert!(access.contains(r#"LABEL="X-1.1.1 "#));
    // --no-normalize packs the originals only.
    let plain = tempfile::tempdir().expect("tempdir");
    dangan()
        .args([
            "pack",
            "--no-normalize",
            "--id",
            "plain",
            "--created",
            CREATED,
        ])
        .arg(demo())
        .arg("--out")
        .arg(plain.path())
        .assert()
        .success();
    assert!(!plain.path().join("plain/representations/access").exists());
    // Nothing of the work area is left beside the packages.
    let names: Vec<String> = std::fs::read_dir(out.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["reps"]);
}

/// A batch over two years and two catalog codes, built from the demo's three scan pages (distinct
/// images: identical scans are a QC error).
fn two_year_batch() -> tempfile::TempDir {
    let batch = tempfile::tempdir().expect("tempdir");
    let mut csv = String::from("档号,题名,分类号\n");
    for (year, n, code, page) in [
        (2019, 1, "X-1.1.1", "0001-0001"),
        (2020, 1, "X-1.3.6", "0001-0002"),
        (2020, 2, "X-1.1.1", "0002-0001"),
    ] {
        csv.push_str(&format!(
            "J001-WS·{year}-Y-BGS-{n:04},{year} 年 第 {n} 件,{code}\n"
        ));
        std::fs::copy(
            demo().join(format!("J001-WS_2019-Y-BGS-{page}.tif")),
            batch
                .path()
                .join(format!("J001-WS_{year}-Y-BGS-{n:04}-0001.tif")),
        )
        .expect("copy");
    }
    std::fs::write(batch.path().join("目录.csv"), csv).expect("write");
    batch
}

fn pack_split(batch: &Path, out: &Path, by: &str, form: &str) -> Vec<Value> {
    let output = dangan()
        .args(["pack", "--json", "--split-by", by, form])
        .args(["--id", "sp", "--created", CREATED])
        .arg(batch)
        .arg("--out")
        .arg(out)
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let v: Value = serde_json::from_slice(&output.stdout).expect("json");
    v["packages"].as_array().expect("packages").clone()
}

/// Original file names inside a zipped package.
fn zipped_originals(zip_path: &Path) -> Vec<String> {
    let f = std::fs::File::open(zip_path).expect("open zip");
    let z = zip::ZipArchive::new(f).expect("zip");
    let mut v: Vec<String> = z
        .file_names()
        .filter_map(|n| {
            n.ok()?
                .split_once("/representations/original/data/")
                .map(|(_, rest)| rest.to_string())
        })
        .filter(|n| !n.is_empty())
        .collect();
    v.sort();
    v
}

#[test]
fn split_by_code_into_zips_each_valid_with_its_own_items() {
    let batch = two_year_batch();
    let out = tempfile::tempdir().expect("tempdir");
    let packages = pack_split(batch.path(), out.path(), "code", "--zip");
    let ids: Vec<&str> = packages.iter().filter_map(|p| p["id"].as_str()).collect();
    assert_eq!(ids, ["sp-X-1.1.1", "sp-X-1.3.6"]);
    let zip_a = out.path().join("sp-X-1.1.1.zip");
    let zip_b = out.path().join("sp-X-1.3.6.zip");
    assert_eq!(
        zipped_originals(&zip_a),
        [
            "J001-WS_2019-Y-BGS-0001-0001.tif",
            "J001-WS_2020-Y-BGS-0002-0001.tif"
        ]
    );
    assert_eq!(
        zipped_originals(&zip_b),
        ["J001-WS_2020-Y-BGS-0001-0001.tif"]
    );
    for z in [&zip_a, &zip_b] {
        let r = commons_ip(z);
        assert_eq!(
            r["summary"]["result"],
            "VALID",
            "{}: {:#?}",
            z.display(),
            failed_rules(&r)
        );
        assert_eq!(r["summary"]["errors"], 0);
        dangan().arg("verify").arg(z).assert().success();
    }
    // Nothing else under --out: no staging folders, no scratch output.
    let mut names: Vec<String> = std::fs::read_dir(out.path())
        .expect("out")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["sp-X-1.1.1.zip", "sp-X-1.3.6.zip"]);
}

#[test]
fn split_by_year_into_bags_each_valid() {
    let batch = two_year_batch();
    let out = tempfile::tempdir().expect("tempdir");
    let packages = pack_split(batch.path(), out.path(), "year", "--bag");
    let ids: Vec<&str> = packages.iter().filter_map(|p| p["id"].as_str()).collect();
    assert_eq!(ids, ["sp-2019", "sp-2020"]);
    assert_eq!(packages[0]["items"], 1);
    assert_eq!(packages[1]["items"], 2);
    for id in ids {
        let bag = out.path().join(id);
        assert!(bag.join(format!("data/{id}/METS.xml")).is_file());
        let (ok, stdout, stderr) = common::run(
            Process::new(common::tool_var("BAGIT_PY"))
                .arg("--validate")
                .arg(&bag),
        );
        assert!(ok, "bagit.py {id}: {stdout}{stderr}");
        let r = commons_ip(&bag.join("data").join(id));
        assert_eq!(
            r["summary"]["result"],
            "VALID",
            "{id}: {:#?}",
            failed_rules(&r)
        );
        dangan().arg("verify").arg(&bag).assert().success();
    }
}

/// Progress: every stage announces its total and exactly that many units are reported for it.
#[test]
fn progress_accounts_for_every_page_and_file() {
    use dangan::pack::{PackOptions, Progress, Stage, pack_with_progress};
    use std::sync::Mutex;

    #[derive(Default)]
    struct Log {
        stages: Mutex<Vec<(Stage, u64)>>,
    }
    impl Progress for Log {
        fn stage(&self, stage: Stage) {
            self.stages.lock().expect("lock").push((stage, 0));
        }
        fn advance(&self, units: u64) {
            if let Some(last) = self.stages.lock().expect("lock").last_mut() {
                last.1 += units;
            }
        }
    }
    let out = tempfile::tempdir().expect("tempdir");
    let log = Log::default();
    let ctx = dangan::context::Context::fixed(CREATED.parse().expect("time"), "progress");
    let report = pack_with_progress(
        &demo(),
        out.path(),
        &dangan::catalog::Catalog::embedded(),
        &PackOptions::default(),
        &ctx,
        &log,
    )
    .expect("pack");
    assert_eq!(report.packages.len(), 1);
    let stages = log.stages.into_inner().expect("lock");
    let totals: Vec<(String, u64, u64)> = stages
        .iter()
        .map(|(s, done)| match s {
            Stage::Intake => ("intake".to_string(), 0, *done),
            Stage::Scan { files } => ("scan".into(), *files as u64, *done),
            Stage::Normalize { files } => ("normalize".into(), *files as u64, *done),
            Stage::Write { files, .. } => ("write".into(), *files as u64, *done),
        })
        .collect();
    // The demo: 3 page scans; 7 originals; the package's content files as the pack reports them.
    let content = report.packages[0].files as u64;
    assert_eq!(totals[0], ("intake".into(), 0, 0));
    assert_eq!(totals[1], ("scan".into(), 7, 7));
    assert_eq!(totals[2], ("normalize".into(), 7, 7));
    assert_eq!(totals[3].0, "write");
    assert_eq!(totals[3].1, totals[3].2, "{totals:?}");
    assert!(totals[3].1 > 7 && totals[3].1 < content, "{totals:?}");
    assert_eq!(totals.len(), 4);
}

// ---- issue 12: one scan, one decode, one page rule ----

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
    }
}

/// Run a command under `/usr/bin/time -v`: exit code, stdout, stderr, peak RSS in KiB.
fn timed(args: &[&std::ffi::OsStr]) -> (i32, String, String, u64) {
    let bin = assert_cmd::cargo::cargo_bin("dangan");
    let out = Process::new(common::require("timeout"))
        .arg("120")
        .arg("/usr/bin/time")
        .arg("-v")
        .arg(bin)
        .args(args)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let rss = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no RSS in: {stderr}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
        rss,
    )
}

/// A little-endian TIFF of 122 bytes whose IFD claims `w`×`h` 8-bit RGB pixels.
fn huge_tiff(w: u32, h: u32) -> Vec<u8> {
    let mut b = b"II*\0".to_vec();
    b.extend(8u32.to_le_bytes());
    let entries: [(u16, u16, u32); 8] = [
        (256, 4, w),
        (257, 4, h),
        (258, 3, 8),
        (259, 3, 1),
        (262, 3, 2),
        (273, 4, 200),
        (277, 3, 3),
        (279, 4, 16),
    ];
    b.extend((entries.len() as u16).to_le_bytes());
    for (tag, typ, v) in entries {
        b.extend(tag.to_le_bytes());
        b.extend(typ.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        b.extend(v.to_le_bytes());
    }
    b.extend(0u32.to_le_bytes());
    b.resize(122, 0);
    b
}

/// A real, valid gray PNG of `w`×`h` zero pixels: ~1.5 MB on disk, `w`×`h` bytes decoded.
fn huge_png(w: u32, h: u32) -> Vec<u8> {
    use std::io::Write as _;
    let chunk = |out: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
        out.extend((data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend(kind);
        out.extend(data);
        out.extend(crc.sum().to_be_bytes());
    };
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let row = vec![0u8; w as usize + 1];
    for _ in 0..h {
        z.write_all(&row).expect("deflate");
    }
    let idat = z.finish().expect("deflate");
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &idat);
    chunk(&mut png, b"IEND", &[]);
    png
}

const HUGE_MANIFEST: &str = "档号,题名,责任者,日期,页数,保管期限,密级,分类号,备注,文件名
J001-WS·2019-Y-BGS-0001,页,县扶贫办,2019-03-01,1,永久,公开,X-1.1.1,,
J001-WS·2019-Y-BGS-0002,照片,村委会,2019-03-01,,永久,公开,C-3.1.6,,
J001-WS·2019-Y-BGS-0003,大图,县扶贫办,2019-03-01,1,永久,公开,X-1.1.1,,
";

/// Issue 12: a 122-byte TIFF claiming 100000×100000 (as a page and as a photo) and a 1.5 MB PNG of
/// 40000×40000 are refused from their headers in `qc`, `pack` and `normalize`: a finding naming the file
/// and the budget, peak memory far below the decoded size, nothing published by `pack`, exit code 1
/// (checks ran and found failures).
#[test]
fn crafted_huge_images_are_refused_with_bounded_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = dir.path().join("batch");
    std::fs::create_dir_all(&b).expect("mkdir");
    std::fs::write(b.join("目录.csv"), HUGE_MANIFEST).expect("write");
    std::fs::write(
        b.join("J001-WS_2019-Y-BGS-0001-0001.tif"),
        huge_tiff(100_000, 100_000),
    )
    .expect("write");
    std::fs::write(
        b.join("J001-WS_2019-Y-BGS-0002.tif"),
        huge_tiff(100_000, 100_000),
    )
    .expect("write");
    let png = huge_png(40_000, 40_000);
    assert!(png.len() < 2_000_000, "{}", png.len());
    std::fs::write(b.join("J001-WS_2019-Y-BGS-0003-0001.png"), png).expect("write");
    const MAX_KIB: u64 = 300 * 1024;

    let (rc, out, err, rss) = timed(&["qc".as_ref(), "--json".as_ref(), b.as_os_str()]);
    assert_eq!(rc, 1, "{out}\n{err}");
    assert!(rss < MAX_KIB, "qc peak RSS {rss} KiB");
    let qc: Value = serde_json::from_str(&out).expect("json");
    let text = qc.to_string();
    assert!(text.contains("100000×100000"), "{text}");
    assert!(text.contains("40000×40000"), "{text}");
    // The photo is refused too, by its header, with a photo finding naming it.
    assert!(
        qc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["path"] == "J001-WS_2019-Y-BGS-0002.tif"
                && f["level"] == "error"
                && f["message_en"].as_str().unwrap_or("").contains("budget")),
        "{text}"
    );

    let out_dir = dir.path().join("out");
    let (rc, out, err, rss) = timed(&[
        "pack".as_ref(),
        "--json".as_ref(),
        b.as_os_str(),
        "--out".as_ref(),
        out_dir.as_os_str(),
    ]);
    assert_eq!(rc, 1, "{out}\n{err}");
    assert!(rss < MAX_KIB, "pack peak RSS {rss} KiB");
    let report: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(report["packages"].as_array().map(Vec::len), Some(0));
    let left: Vec<_> = std::fs::read_dir(&out_dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "pack left {left:?}");

    // The photo alone: the access copies cannot be made, so nothing is published either.
    let photo = dir.path().join("photo");
    std::fs::create_dir_all(&photo).expect("mkdir");
    std::fs::write(
        photo.join("目录.csv"),
        HUGE_MANIFEST
            .lines()
            .take(1)
            .chain(HUGE_MANIFEST.lines().nth(2))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .expect("write");
    std::fs::write(
        photo.join("J001-WS_2019-Y-BGS-0002.tif"),
        huge_tiff(100_000, 100_000),
    )
    .expect("write");
    let out2 = dir.path().join("out2");
    let (rc, out, err, rss) = timed(&[
        "pack".as_ref(),
        photo.as_os_str(),
        "--out".as_ref(),
        out2.as_os_str(),
    ]);
    assert_eq!(rc, 1, "{out}\n{err}");
    assert!(rss < MAX_KIB, "pack (photo) peak RSS {rss} KiB");
    assert!(out.contains("100000×100000"), "{out}");
    assert!(
        std::fs::read_dir(&out2).map(|d| d.count()).unwrap_or(0) == 0,
        "pack published something for a refused photo"
    );

    // normalize: every other file is still done (one bad file never stops the run); the refused ones are
    // failure records naming the budget, and no master or PDF exists for them.
    let nout = dir.path().join("nout");
    let (rc, out, err, rss) = timed(&[
        "normalize".as_ref(),
        "--json".as_ref(),
        b.as_os_str(),
        "--out".as_ref(),
        nout.as_os_str(),
    ]);
    assert_eq!(rc, 1, "{out}\n{err}");
    assert!(rss < MAX_KIB, "normalize peak RSS {rss} KiB");
    let report: Value = serde_json::from_str(&out).expect("json");
    let records = report["records"].as_array().expect("records");
    assert!(!records.is_empty());
    for r in records {
        assert_eq!(r["outcome"], "failure", "{r}");
        assert!(r["detail"].as_str().unwrap_or("").contains("budget"), "{r}");
    }
    assert!(!nout.join("preservation").exists());
}

/// Issue 12: each source file is read once per `pack` (the scan, which also writes the staged copy), each
/// page image decoded once (its QC, master and PDF page from one decode), and every staged copy read back
/// once against the scan's digests — by the page's decode, or by the package writer.
#[test]
fn pack_reads_each_file_once_and_decodes_each_page_once() {
    use dangan::pack::{PackOptions, pack};
    let catalog = dangan::catalog::Catalog::embedded();
    let ctx = dangan::context::Context::fixed(CREATED.parse().expect("time"), "once");
    let out = tempfile::tempdir().expect("tempdir");
    let report = pack(&demo(), out.path(), &catalog, &PackOptions::default(), &ctx).expect("pack");
    assert_eq!(report.packages.len(), 1, "{:?}", report.findings);
    let s = &report.stats;
    // The demo: 7 files — 3 page scans, 1 photo, 2 recordings, 1 e-mail.
    assert_eq!(s.source_reads, 7, "{s:?}");
    let on_disk: u64 = std::fs::read_dir(demo())
        .expect("demo")
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().ends_with(".csv"))
        .map(|e| e.metadata().expect("meta").len())
        .sum();
    assert_eq!(s.source_bytes, on_disk);
    assert_eq!(s.pages, 3);
    // 3 pages, once each, and the photo once for both of its access copies.
    assert_eq!(s.decodes, 4, "{s:?}");
    assert_eq!(s.copies_checked, 7, "{s:?}");
    let names: Vec<&str> = s.stage_seconds.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["intake", "scan", "qc+normalize", "package"]);
    assert!(
        s.bytes_per_page
            .iter()
            .any(|(n, b)| n == "original" && *b > 0.0)
    );

    // Without normalization the pages are still decoded, once, for their QC.
    let out = tempfile::tempdir().expect("tempdir");
    let options = PackOptions {
        policy: None,
        ..PackOptions::default()
    };
    let report = pack(&demo(), out.path(), &catalog, &options, &ctx).expect("pack");
    assert_eq!(report.packages.len(), 1, "{:?}", report.findings);
    assert_eq!(report.stats.source_reads, 7);
    assert_eq!(report.stats.decodes, 3);
    assert_eq!(report.stats.copies_checked, 7);
}

/// Page verdicts of one run of each command, by path: qc (`pages`), normalize (`pages` of normalize.json)
/// and pack (its findings: a page fails when an error names it).
fn verdicts(batch: &Path) -> [std::collections::BTreeMap<String, bool>; 3] {
    let out = dangan()
        .args(["qc", "--json"])
        .arg(batch)
        .output()
        .expect("qc");
    let qc: Value = serde_json::from_slice(&out.stdout).expect("qc json");
    let by_path = |pages: &Value| -> std::collections::BTreeMap<String, bool> {
        pages
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| {
                        let ok = p["findings"]
                            .as_array()
                            .is_none_or(|f| f.iter().all(|x| x["level"] != "error"));
                        (p["path"].as_str().unwrap_or("").to_string(), ok)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let qc_pages = by_path(&qc["pages"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let nout = dir.path().join("n");
    let out = dangan()
        .args(["normalize", "--json"])
        .arg(batch)
        .arg("--out")
        .arg(&nout)
        .output()
        .expect("normalize");
    let norm: Value = serde_json::from_slice(&out.stdout).expect("normalize json");
    let norm_pages = by_path(&norm["pages"]);
    let out = dangan()
        .args(["pack", "--json"])
        .arg(batch)
        .arg("--out")
        .arg(dir.path().join("p"))
        .output()
        .expect("pack");
    let packed: Value = serde_json::from_slice(&out.stdout).expect("pack json");
    let failing: std::collections::BTreeSet<String> = packed["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["level"] == "error")
        .filter_map(|f| f["path"].as_str().map(str::to_string))
        .collect();
    let pack_pages = qc_pages
        .keys()
        .map(|p| (p.clone(), !failing.contains(p)))
        .collect();
    // pack decodes exactly the pages qc and normalize call pages.
    if packed["packages"].as_array().is_some_and(|p| !p.is_empty()) {
        assert_eq!(packed["stats"]["pages"], qc_pages.len());
    }
    [qc_pages, norm_pages, pack_pages]
}

/// Issue 12: one rule for what a page is. On the demo (pages, a photo, audio, e-mail) and on the same batch
/// with one page scanned at 150 dpi, `qc`, `normalize` and `pack` find the same pages with the same
/// verdicts; the photo is never checked as a page (no "1 dpi", no blank page, no mixed-format error).
#[test]
fn qc_normalize_and_pack_agree_on_pages() {
    let [qc, norm, pack] = verdicts(&demo());
    assert_eq!(qc.len(), 3, "{qc:?}");
    assert!(qc.values().all(|ok| *ok), "{qc:?}");
    assert_eq!(qc, norm);
    assert_eq!(qc, pack);
    let out = dangan()
        .args(["qc", "--lang", "en"])
        .arg(demo())
        .output()
        .expect("qc");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains(" 1 dpi") && !text.contains("fmt/43"),
        "{text}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let b = dir.path().join("batch");
    copy_dir(&demo(), &b);
    let low = b.join("J001-WS_2019-Y-BGS-0002-0001.tif");
    let (ok, _, err) = common::run(
        Process::new(common::tool_var("IMAGEMAGICK"))
            .arg(&low)
            .args(["-units", "PixelsPerInch", "-density", "150"])
            .arg(&low),
    );
    assert!(ok, "{err}");
    let [qc, norm, pack] = verdicts(&b);
    assert_eq!(
        qc.get("J001-WS_2019-Y-BGS-0002-0001.tif"),
        Some(&false),
        "{qc:?}"
    );
    assert_eq!(qc.values().filter(|ok| !**ok).count(), 1);
    assert_eq!(qc, norm);
    assert_eq!(qc, pack);
}

/// Issue 12: QC and the master agree on dpi — PNG (pHYs in pixels per metre), TIFF, JPEG (JFIF) — as
/// exiftool reads the masters; and a JPEG whose JFIF density is 1×1 has *unknown* resolution, not 1 dpi.
#[test]
fn qc_and_masters_agree_on_dpi() {
    let dir = tempfile::tempdir().expect("tempdir");
    let magick = common::tool_var("IMAGEMAGICK");
    let policy = common::root().join("profiles/policy-tiff-masters.toml");
    let pages = [
        (
            "png",
            &["-units", "PixelsPerCentimeter", "-density", "118.11"][..],
            300.0,
        ),
        (
            "tif",
            &["-units", "PixelsPerInch", "-density", "300"][..],
            300.0,
        ),
        (
            "jpg",
            &["-units", "PixelsPerInch", "-density", "400"][..],
            400.0,
        ),
    ];
    for (ext, density, expected) in pages {
        // One batch per format: DA/T 31-2017 9.5 wants one page format per batch.
        let b = dir.path().join(ext);
        std::fs::create_dir_all(&b).expect("mkdir");
        std::fs::write(
            b.join("目录.csv"),
            "档号,题名,分类号,页数\nJ001-WS·2019-Y-BGS-0001,页,X-1.1.1,1\n",
        )
        .expect("csv");
        let src = format!("J001-WS_2019-Y-BGS-0001-0001.{ext}");
        let (ok, _, err) = common::run(
            Process::new(&magick)
                .args(["-size", "600x800", "xc:white", "-fill", "black"])
                .args(["-draw", "rectangle 100,200 500,260"])
                .args(["-draw", "rectangle 100,400 450,430"])
                .args(density)
                .arg(b.join(&src)),
        );
        assert!(ok, "{err}");
        let out = dangan()
            .args(["qc", "--json"])
            .arg(&b)
            .output()
            .expect("qc");
        let qc: Value = serde_json::from_slice(&out.stdout).expect("json");
        let qc_dpi = qc["pages"][0]["dpi"]
            .as_f64()
            .unwrap_or_else(|| panic!("{ext}: {qc}"));
        assert_eq!(qc_dpi, expected, "{ext}");
        let out_dir = dir.path().join(format!("out-{ext}"));
        let output = dangan()
            .args(["pack", "--json", "--id", "dpi", "--policy"])
            .arg(&policy)
            .arg(&b)
            .arg("--out")
            .arg(&out_dir)
            .output()
            .expect("pack");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stdout)
        );
        // A TIFF page is kept as its own master; the others get one.
        let master = if ext == "tif" {
            out_dir.join("dpi/representations/original/data").join(&src)
        } else {
            out_dir
                .join("dpi/representations/preservation/data")
                .join("J001-WS_2019-Y-BGS-0001-0001.tif")
        };
        let (ok, stdout, err) = common::run(
            Process::new(common::require("exiftool"))
                .args([
                    "-n",
                    "-s3",
                    "-XResolution",
                    "-YResolution",
                    "-ResolutionUnit",
                ])
                .arg(&master),
        );
        assert!(ok, "{err}");
        let v: Vec<&str> = stdout.lines().map(str::trim).collect();
        assert_eq!(v.len(), 3, "{ext}: {stdout}");
        let x: f64 = v[0].parse().expect("XResolution");
        let y: f64 = v[1].parse().expect("YResolution");
        assert_eq!(v[2], "2", "{ext}: inches");
        assert!(
            (x - qc_dpi).abs() < 0.01 && (y - qc_dpi).abs() < 0.01,
            "{ext}: master {x}×{y}, QC {qc_dpi}"
        );
    }

    // JFIF density 1×1 (what encoders write when they know nothing): unknown, reported as missing.
    let magick = common::tool_var("IMAGEMAGICK");
    let j = dir.path().join("one");
    std::fs::create_dir_all(&j).expect("mkdir");
    let page = j.join("J001-WS_2019-Y-BGS-0001-0001.jpg");
    let (ok, _, err) = common::run(
        Process::new(&magick)
            .args([
                "-size",
                "300x400",
                "xc:white",
                "-units",
                "PixelsPerInch",
                "-density",
                "1",
            ])
            .arg(&page),
    );
    assert!(ok, "{err}");
    let out = dangan()
        .args(["qc", "--json"])
        .arg(&page)
        .output()
        .expect("qc");
    let qc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(qc["pages"][0]["dpi"].is_null(), "{qc}");
    assert!(qc.to_string().contains("no resolution recorded"), "{qc}");
}

/// One profile loader (issue 12 item 4): `--qc-policy` is laid over the embedded qc.toml (a file sets only
/// what it changes), and a wrong value is refused naming the file and the line.
#[test]
fn qc_policy_overlays_the_default_and_errors_name_file_and_line() {
    let t = tempfile::tempdir().expect("tempdir");
    // Only the resolution changes: the demo's 300-dpi pages now fall below DA/T 31-2017 9.4's minimum.
    let strict = t.path().join("strict.toml");
    std::fs::write(
        &strict,
        "# stricter than DA/T 31\n[resolution]\nmin_dpi = 600.0\nrecommended_dpi = 600.0\n",
    )
    .expect("write");
    let target = t.path().join("p");
    let output = dangan()
        .args(["pack", "--json", "--qc-policy"])
        .arg(&strict)
        .arg(demo())
        .arg("--out")
        .arg(&target)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert!(
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["rule"] == "DA/T 31-2017 9.4"),
        "{:#}",
        v["findings"]
    );
    assert!(!target.exists());
    // A wrong type on line 4 of the user's file.
    let bad = t.path().join("bad.toml");
    std::fs::write(&bad, "[skew]\n# degrees\n\ntolerance_degrees = \"one\"\n").expect("write");
    let output = dangan()
        .args(["pack", "--qc-policy"])
        .arg(&bad)
        .arg(demo())
        .arg("--out")
        .arg(&target)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("bad.toml:4"), "{err}");
    assert!(!target.exists());
}

/// Issue 12: a TIFF master is hashed in the pass that writes it and moved into the package without being
/// read again. The digests must still be those of the bytes on disk: bagit-python recomputes the SHA-256
/// and SHA-512 manifests, `dangan verify` the METS checksums; libtiff (`tiffinfo -D`) decodes the LZW
/// strips without complaint and ImageMagick finds no pixel different from the PNG page (a PNG page gets
/// an LZW TIFF master under the default policy; lossless on both sides, so the count must be 0).
#[test]
fn masters_hashed_while_written_pass_bagit_python_and_decode_to_the_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let magick = common::tool_var("IMAGEMAGICK");
    let b = dir.path().join("batch");
    std::fs::create_dir_all(&b).expect("mkdir");
    std::fs::write(
        b.join("目录.csv"),
        "档号,题名,分类号,页数\nJ001-WS·2019-Y-BGS-0001,页,X-1.1.1,2\n",
    )
    .expect("csv");
    for p in 1..=2 {
        // Noise on paper (table resets in the LZW) with text-like bars; a mark per page.
        let (ok, _, err) = common::run(
            Process::new(&magick)
                .args(["-size", "701x503", "xc:white", "-fill", "black"])
                .args([
                    "-draw",
                    &format!("rectangle 60,{} 600,{}", 80 + p * 30, 100 + p * 30),
                ])
                .args([
                    "-attenuate",
                    "0.3",
                    "+noise",
                    "Gaussian",
                    "-type",
                    "TrueColor",
                ])
                .args(["-units", "PixelsPerInch", "-density", "300"])
                .arg(b.join(format!("J001-WS_2019-Y-BGS-0001-000{p}.png"))),
        );
        assert!(ok, "{err}");
    }
    let out = dir.path().join("out");
    dangan()
        .args([
            "pack",
            "--bag",
            "--sm3",
            "--id",
            "masters",
            "--created",
            CREATED,
        ])
        .arg(&b)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let bag = out.join("masters");
    let (ok, stdout, stderr) = common::run(
        Process::new(common::tool_var("BAGIT_PY"))
            .arg("--validate")
            .arg(&bag),
    );
    assert!(ok, "bagit.py: {stdout}{stderr}");
    let output = dangan()
        .args(["verify", "--json"])
        .arg(&bag)
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let data = bag.join("data/masters/representations");
    for p in 1..=2 {
        let tif = data.join(format!(
            "preservation/data/J001-WS_2019-Y-BGS-0001-000{p}.tif"
        ));
        assert!(tif.is_file(), "{}", tif.display());
        let (ok, stdout, stderr) = common::run(Process::new("tiffinfo").arg("-D").arg(&tif));
        assert!(ok && !stderr.contains("rror"), "tiffinfo: {stdout}{stderr}");
        assert!(stdout.contains("LZW"), "{stdout}");
        let png = data.join(format!("original/data/J001-WS_2019-Y-BGS-0001-000{p}.png"));
        let cmp = Process::new("compare")
            .args(["-metric", "AE"])
            .arg(&png)
            .arg(&tif)
            .arg("null:")
            .output()
            .expect("compare");
        // `compare` prints the count of differing pixels on stderr.
        let ae = String::from_utf8_lossy(&cmp.stderr);
        assert_eq!(
            ae.split_whitespace().next(),
            Some("0"),
            "compare -metric AE: {ae}"
        );
    }
}
