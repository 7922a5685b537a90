//! `dangan validate`: valid SIPs (from `dangan pack`, folder and zip, and from commons-ip's own `create`) are
//! accepted; broken variants, one violated requirement each, are rejected with the right rule ID; and for every
//! variant commons-ip (the E-ARK reference validator) is run too, and the two must agree wherever commons-ip
//! checks that requirement. Where they differ, `DIFFERS` below says why.

mod common;

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use serde_json::Value;
use sha2::Digest as _;

fn dangan() -> Command {
    Command::cargo_bin("dangan").expect("binary builds")
}

const ID: &str = "demo-sip";

/// A fresh `dangan pack` of fixtures/demo in `out` (folder, or zip).
fn pack(out: &Path, zip: bool) -> PathBuf {
    let mut cmd = dangan();
    cmd.args(["pack", "--created", "2026-01-02T03:04:05Z", "--id", ID])
        .args(["--submitter", "忻州市某县档案馆"])
        .arg(common::root().join("fixtures/demo"))
        .arg("--out")
        .arg(out);
    if zip {
        cmd.arg("--zip");
    }
    let o = cmd.output().expect("run pack");
    assert!(
        o.status.success(),
        "pack: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out.join(if zip {
        format!("{ID}.zip")
    } else {
        ID.to_string()
    })
}

fn validate(sip: &Path, extra: &[&str]) -> (i32, Value) {
    let o = dangan()
        .args(["validate", "--json", "--no-virus-scan"])
        .args(extra)
        .arg(sip)
        .output()
        .expect("run validate");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "validate JSON: {e}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (o.status.code().unwrap_or(-1), v)
}

fn error_rules(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|f| f["level"] == "error")
                .map(|f| f["rule"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Run commons-ip once over many packages (`-i a,b,c` prints one JSON document after another); result by path.
fn commons_ip(sips: &[&Path]) -> HashMap<String, Value> {
    let jar = common::tool_var("COMMONS_IP_JAR");
    let tmp = tempfile::tempdir().expect("tempdir"); // it may write a log into its working directory
    let list: Vec<String> = sips.iter().map(|p| p.display().to_string()).collect();
    let (ok, stdout, stderr) = common::run(
        Process::new(common::require("java"))
            .current_dir(tmp.path())
            .args([
                "-jar",
                &jar,
                "validate",
                "-i",
                &list.join(","),
                "--specification-version",
                "2.2.0",
            ]),
    );
    assert!(ok, "commons-ip did not run: {stderr}");
    parse_reports(&stdout)
}

/// commons-ip over many packages, or `None` when one of them stopped the whole run.
fn commons_ip_batch(sips: &[&Path]) -> Option<HashMap<String, Value>> {
    let jar = common::tool_var("COMMONS_IP_JAR");
    let tmp = tempfile::tempdir().expect("tempdir");
    let list: Vec<String> = sips.iter().map(|p| p.display().to_string()).collect();
    let (ok, stdout, _) = common::run(
        Process::new(common::require("java"))
            .current_dir(tmp.path())
            .args(["-jar", &jar, "validate", "-i", &list.join(",")])
            .args(["--specification-version", "2.2.0"]),
    );
    ok.then(|| parse_reports(&stdout))
}

/// commons-ip on one package that may stop it altogether: `None` when it could not validate at all.
fn commons_ip_alone(sip: &Path) -> Option<Value> {
    let jar = common::tool_var("COMMONS_IP_JAR");
    let tmp = tempfile::tempdir().expect("tempdir");
    let (ok, stdout, _) = common::run(
        Process::new(common::require("java"))
            .current_dir(tmp.path())
            .args(["-jar", &jar, "validate", "-i"])
            .arg(sip)
            .args(["--specification-version", "2.2.0"]),
    );
    if !ok {
        return None;
    }
    parse_reports(&stdout).into_values().next()
}

fn parse_reports(stdout: &str) -> HashMap<String, Value> {
    let mut out = HashMap::new();
    for doc in serde_json::Deserializer::from_str(stdout).into_iter::<Value>() {
        let doc = doc.unwrap_or_else(|e| panic!("commons-ip JSON: {e}: {stdout}"));
        let path = doc["header"]["path"].as_str().unwrap_or("").to_string();
        out.insert(path, doc);
    }
    out
}

fn cip_valid(doc: &Value) -> bool {
    doc["summary"]["result"] == "VALID"
}

fn cip_failed(doc: &Value) -> Vec<String> {
    doc["validation"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter(|r| r["testing"]["outcome"] == "FAILED" && r["level"] == "MUST")
                .map(|r| r["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

// ---------- editing a packed SIP ----------

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Remove the attribute `attr` from the first element that starts with `tag` after the text `after` (issue 11
/// item 5: variants that break one requirement each).
fn strip_attr(p: &Path, after: &str, tag: &str, attr: &str) {
    let s = read(p);
    let from = s.find(after).expect("anchor");
    let t = from + s[from..].find(tag).expect("tag");
    let end = t + s[t..].find('>').expect("tag end");
    let key = format!(" {attr}=\"");
    let a = t + s[t..end].find(&key).expect("attribute");
    let close = a + key.len() + s[a + key.len()..].find('"').expect("quote");
    let mut out = s.clone();
    out.replace_range(a..=close, "");
    std::fs::write(p, out).expect("write");
}

fn edit(p: &Path, from: &str, to: &str) {
    let s = read(p);
    assert!(
        s.contains(from),
        "{} does not contain {from:?}",
        p.display()
    );
    std::fs::write(p, s.replacen(from, to, 1)).expect("write");
}

fn sha256(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

fn href(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// After changing a file on purpose, make the METS that lists it (and, for a representation METS, the package
/// METS) agree again, so that a variant breaks exactly one requirement.
fn refresh(sip: &Path, rel: &str) {
    let (mets, link) = match rel.strip_prefix("representations/original/") {
        Some(inner) if inner != "METS.xml" => {
            (sip.join("representations/original/METS.xml"), href(inner))
        }
        _ => (sip.join("METS.xml"), href(rel)),
    };
    let bytes = std::fs::read(sip.join(rel)).expect("read changed file");
    let mut s = read(&mets);
    let at = s
        .find(&format!("xlink:href=\"{link}\""))
        .unwrap_or_else(|| panic!("{link} not in {}", mets.display()));
    // The attributes live on the mdRef itself, or on the <file> that holds the FLocat.
    let tag_start = {
        let before = &s[..at];
        let lt = before.rfind('<').expect("tag");
        if before[lt..].starts_with("<FLocat") {
            before.rfind("<file ").expect("file")
        } else {
            lt
        }
    };
    let tag_end = tag_start + s[tag_start..].find('>').expect("tag end");
    let mut tag = s[tag_start..tag_end].to_string();
    for (attr, value) in [
        ("SIZE", bytes.len().to_string()),
        ("CHECKSUM", sha256(&bytes)),
    ] {
        let k = tag.find(&format!(" {attr}=\"")).expect("attr") + attr.len() + 3;
        let e = k + tag[k..].find('"').expect("quote");
        tag.replace_range(k..e, &value);
    }
    s.replace_range(tag_start..tag_end, &tag);
    std::fs::write(&mets, s).expect("write METS");
    if mets.ends_with("representations/original/METS.xml") {
        refresh(sip, "representations/original/METS.xml");
    }
}

/// Replace every `from` in a file (which must contain it) by `to`.
fn edit_all(p: &Path, from: &str, to: &str) {
    let s = read(p);
    assert!(
        s.contains(from),
        "{} does not contain {from:?}",
        p.display()
    );
    std::fs::write(p, s.replace(from, to)).expect("write");
}

/// Remove from the package METS the structMap division labelled `label` (whole), or only its first `fptr`.
fn cut_div(sip: &Path, label: &str, only_fptr: bool) {
    let m = sip.join("METS.xml");
    let t = read(&m);
    let at = t.find(&format!("LABEL=\"{label}\">")).expect("div");
    let (a, b) = if only_fptr {
        let a = at + t[at..].find("<fptr ").expect("fptr");
        (a, a + t[a..].find("/>").expect("end") + 2)
    } else {
        let a = t[..at].rfind("<div ").expect("div start");
        (
            a,
            at + t[at..].find("</div>").expect("div end") + "</div>".len(),
        )
    };
    let mut t2 = t.clone();
    t2.replace_range(a..b, "");
    std::fs::write(m, t2).expect("write");
}

/// Remove the attribute `attr` from the tag that contains the text `anchor` (the first such tag).
fn drop_attr(p: &Path, anchor: &str, attr: &str) {
    let s = read(p);
    let at = s
        .find(anchor)
        .unwrap_or_else(|| panic!("{anchor:?} not in {}", p.display()));
    let start = if anchor.starts_with('<') {
        at
    } else {
        s[..at].rfind('<').expect("tag start")
    };
    let end = start + s[start..].find('>').expect("tag end");
    let key = format!(" {attr}=\"");
    let a = start
        + s[start..end]
            .find(&key)
            .unwrap_or_else(|| panic!("no {attr} in the tag of {anchor:?}"));
    let close = a + key.len() + s[a + key.len()..].find('"').expect("quote");
    let mut out = s.clone();
    out.replace_range(a..=close, "");
    std::fs::write(p, out).expect("write");
}

/// Remove the text from the first `from` through the end of the first `to` after it.
fn cut(p: &Path, from: &str, to: &str) {
    let s = read(p);
    let a = s
        .find(from)
        .unwrap_or_else(|| panic!("{from:?} not in {}", p.display()));
    let b = a + s[a..].find(to).expect("end marker") + to.len();
    let mut out = s.clone();
    out.replace_range(a..b, "");
    std::fs::write(p, out).expect("write");
}

/// Give the package METS a rightsMD (CSIP46–CSIP57) referring to a new rights file, listed in the
/// Metadata division's ADMID (CSIP91): the start of the rightsMD variants, valid on its own.
fn with_rights(sip: &Path) {
    let rel = "metadata/rights.xml";
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rights>公开</rights>\n";
    std::fs::write(sip.join(rel), body).expect("write rights");
    let m = sip.join("METS.xml");
    let rights = format!(
        "<rightsMD ID=\"rights-1\" CREATED=\"2026-01-02T03:04:05Z\" STATUS=\"CURRENT\">\n      \
         <mdRef LOCTYPE=\"URL\" xlink:type=\"simple\" xlink:href=\"{rel}\" MDTYPE=\"OTHER\" \
         OTHERMDTYPE=\"RIGHTS\" MIMETYPE=\"application/xml\" SIZE=\"{}\" CREATED=\"2026-01-02T03:04:05Z\" \
         CHECKSUM=\"{}\" CHECKSUMTYPE=\"SHA-256\"/>\n    </rightsMD>\n    <digiprovMD ",
        body.len(),
        sha256(body.as_bytes())
    );
    // METS 1.12: amdSec holds techMD*, rightsMD*, sourceMD*, digiprovMD* in that order.
    edit(&m, "<digiprovMD ", &rights);
    let s = read(&m);
    let at = s.find("LABEL=\"Metadata\"").expect("Metadata div");
    let k = at + s[at..].find("ADMID=\"").expect("ADMID") + 7;
    let mut t = s.clone();
    t.insert_str(k, "rights-1 ");
    std::fs::write(&m, t).expect("write");
}

/// Add to the package METS an administrative section `tag` (rightsMD or digiprovMD) that wraps its metadata
/// (mdWrap) instead of referring to a file, in the place METS 1.12 orders it, listed in the Metadata division.
fn wrapped_amd(sip: &Path, tag: &str, id: &str) {
    let m = sip.join("METS.xml");
    let sec = format!(
        "<{tag} ID=\"{id}\" CREATED=\"2026-01-02T03:04:05Z\" STATUS=\"CURRENT\">\n      \
         <mdWrap MDTYPE=\"OTHER\" OTHERMDTYPE=\"NOTE\"><xmlData><note>演示</note></xmlData></mdWrap>\n    \
         </{tag}>\n    "
    );
    let s = read(&m);
    // METS 1.12: amdSec holds techMD*, rightsMD*, sourceMD*, digiprovMD* in that order.
    let k = match tag {
        "rightsMD" => s.find("<digiprovMD ").expect("digiprovMD"),
        _ => s.find("</amdSec>").expect("amdSec end"),
    };
    let mut t = s.clone();
    t.insert_str(k, &sec);
    let at = t.find("LABEL=\"Metadata\"").expect("Metadata div");
    let k = at + t[at..].find("ADMID=\"").expect("ADMID") + 7;
    t.insert_str(k, &format!("{id} "));
    std::fs::write(&m, t).expect("write");
}

/// The representations of the demo SIP, each with a METS of its own as `dangan pack` writes them.
const REPS: [&str; 3] = ["original", "preservation", "access"];

/// The text between the start of the element `open` (e.g. `<fileGrp `) that contains `anchor` and the end of
/// its closing tag `close`: (start, end) byte offsets.
fn element_around(s: &str, anchor: &str, open: &str, close: &str) -> (usize, usize) {
    let at = s
        .find(anchor)
        .unwrap_or_else(|| panic!("{anchor:?} not found"));
    let a = s[..at].rfind(open).expect("element start");
    (
        a,
        at + s[at..].find(close).expect("element end") + close.len(),
    )
}

/// Rewrite a packed SIP into the shape other producers make and `dangan pack` never does: content without
/// representation METS (CSIP 2.2.0 CSIP101–CSIP104, CSIP119). Every representation's files (its data and its
/// own preservation metadata) are listed in the package METS itself, in one fileGrp USE="Representations" that
/// states its content information type (CSIP62) and that the one content division LABEL="Representations"
/// points at; the representation METS files and every pointer to them are gone. Each representation folder
/// then lacks the METS.xml that CSIPSTR12 recommends (a SHOULD): the only requirement this shape breaks.
fn flatten(sip: &Path) {
    let m = sip.join("METS.xml");
    let mut root = read(&m);
    let mut files = String::new();
    let mut kept: Option<(String, String)> = None; // the first group's and division's IDs, reused
    for rep in REPS {
        let rep_mets = sip.join(format!("representations/{rep}/METS.xml"));
        let r = read(&rep_mets);
        let a = r.find("<fileGrp ").expect("representation fileGrp");
        let a = a + r[a..].find('>').expect("tag end") + 1;
        let b = a + r[a..].find("</fileGrp>").expect("fileGrp end");
        files.push_str(&r[a..b].trim_end().replace(
            " xlink:href=\"data/",
            &format!(" xlink:href=\"representations/{rep}/data/"),
        ));
        let premis = format!("representations/{rep}/metadata/preservation/premis.xml");
        let bytes = std::fs::read(sip.join(&premis)).expect("representation PREMIS");
        files.push_str(&format!(
            "\n      <file ID=\"FILE-{rep}-premis\" MIMETYPE=\"application/xml\" SIZE=\"{}\" \
             CREATED=\"2026-01-02T03:04:05Z\" CHECKSUM=\"{}\" CHECKSUMTYPE=\"SHA-256\">\n        \
             <FLocat LOCTYPE=\"URL\" xlink:type=\"simple\" xlink:href=\"{premis}\"/>\n      </file>",
            bytes.len(),
            sha256(&bytes)
        ));
        std::fs::remove_file(&rep_mets).expect("remove representation METS");
        // The package METS's group and CSIP division for this representation: the first become the content
        // group and the content division, the others go.
        let id_of = |s: &str, at: usize| -> String {
            let k = at + s[at..].find("ID=\"").expect("ID") + 4;
            s[k..k + s[k..].find('"').expect("quote")].to_string()
        };
        let (ga, gb) = element_around(
            &root,
            &format!("USE=\"Representations/{rep}\""),
            "<fileGrp ",
            "</fileGrp>",
        );
        let (da, db) = element_around(
            &root,
            &format!("LABEL=\"Representations/{rep}\""),
            "<div ",
            "</div>",
        );
        let ids = (id_of(&root, ga), id_of(&root, da));
        let (group, division) = if kept.is_none() {
            kept = Some(ids);
            ("@@GROUP@@", "@@DIVISION@@")
        } else {
            ("", "")
        };
        // The division comes after the group: replace it first so that the group's offsets hold.
        root.replace_range(da..db, division);
        root.replace_range(ga..gb, group);
        // The logical structMap's items point at each representation METS too.
        let mptr = format!(
            "<mptr LOCTYPE=\"URL\" xlink:type=\"simple\" xlink:href=\"representations/{rep}/METS.xml\"/>"
        );
        while let Some(k) = root.find(&mptr) {
            let a = root[..k].trim_end().len();
            root.replace_range(a..k + mptr.len(), "");
        }
    }
    let (group, division) = kept.expect("representations");
    root = root.replace(
        "@@GROUP@@",
        &format!(
            "<fileGrp ID=\"{group}\" USE=\"Representations\" csip:CONTENTINFORMATIONTYPE=\"MIXED\">{files}\n    </fileGrp>"
        ),
    );
    root = root.replace(
        "@@DIVISION@@",
        &format!(
            "<div ID=\"{division}\" LABEL=\"Representations\">\n        <fptr FILEID=\"{group}\"/>\n      </div>"
        ),
    );
    assert!(
        !root.contains("/METS.xml\""),
        "a pointer to a representation METS is left"
    );
    std::fs::write(&m, root).expect("write METS");
}

const REP: &str = "representations/original/METS.xml";
const CATALOG: &str = "metadata/descriptive/catalog.xml";
const EML: &str = "representations/original/data/J001-WS_2019-Y-BGS-0006.eml";

/// How commons-ip's report on a variant relates to dangan's.
#[derive(Clone, Copy, Debug)]
enum Cip {
    /// commons-ip fails the same requirement ID, and its verdict is dangan's (it rejects the package for a MUST,
    /// accepts it for a SHOULD). For the DA/T 70 variants, which E-ARK has no ID for, it rejects the package.
    Same,
    /// commons-ip does not check it: it accepts the package and fails nothing about it. Why.
    Accepts(&'static str),
    /// commons-ip rejects the package under other requirement IDs (each listed one among its failures), not
    /// this one. Why.
    Other(&'static [&'static str], &'static str),
    /// commons-ip fails the same SHOULD but counts it as an error and rejects the package. Why.
    Rejects(&'static str),
    /// commons-ip fails the same SHOULD too, and rejects the package under the other requirement IDs listed
    /// (each among its failures). Why.
    AlsoRejects(&'static [&'static str], &'static str),
    /// commons-ip stops without a report on this package (listed in `CIP_ALONE` too). Why.
    Stops(&'static str),
}

/// Why commons-ip names a breach CSIP0: its METS schema check (METS 1.12 plus the DILCIS extension schemas, with
/// ID/IDREF) fails first, and it then does not report the requirement itself.
const SCHEMA_FIRST: &str = "commons-ip reports it as a METS schema error (CSIP0: a required attribute, an \
     enumeration of the DILCIS extension schema, or an IDREF to nothing) and does not name the requirement";

/// The cases where commons-ip 2.x reports something other than dangan, and why. Kept as data so that the test
/// asserts each stays true: an unlisted difference fails, and so does a listed one that has gone away.
/// Why commons-ip says nothing on two of the CSIP folder-layout variants (metadata moved to another sub-folder).
const FOLDERS_UNCHECKED: &str = "commons-ip 2.11 does not check where under metadata/ the descriptive and \
     preservation metadata lie (CSIPSTR6/CSIPSTR7): it follows the METS references";

/// Why commons-ip rejects the other folder-layout variants, which break only a SHOULD.
const FOLDERS_BY_NAME: &str = "commons-ip 2.11 finds metadata and representation files by the CSIP folder \
     names, not by the METS references: with a folder renamed (every reference still right) it reports the \
     files it expected there as missing (CSIP31/CSIP66/CSIP107, errors) and rejects the package; dangan \
     follows the references and warns about the layout only";

const DIFFERS: &[(&str, Cip)] = &[
    // commons-ip does not check it.
    (
        "no_root_metadata_folder",
        Cip::AlsoRejects(&["CSIP66", "CSIP107"], FOLDERS_BY_NAME),
    ),
    (
        "premis_outside_metadata_preservation",
        Cip::Accepts(FOLDERS_UNCHECKED),
    ),
    (
        "dc_outside_metadata_descriptive",
        Cip::Accepts(FOLDERS_UNCHECKED),
    ),
    (
        "no_representations_folder",
        Cip::AlsoRejects(&["CSIP66", "CSIP107"], FOLDERS_BY_NAME),
    ),
    (
        "representation_without_data_folder",
        Cip::Other(&["CSIP107"], FOLDERS_BY_NAME),
    ),
    (
        "representation_without_metadata_folder",
        Cip::Other(&["CSIP31", "CSIP66", "CSIP107"], FOLDERS_BY_NAME),
    ),
    (
        "mptr_loctype_other",
        Cip::Accepts(
            "CSIP112 requires mptr/@LOCTYPE='URL'; commons-ip 2.x does not check the mptr's LOCTYPE",
        ),
    ),
    (
        "mptr_xlink_type_missing",
        Cip::Accepts(
            "commons-ip 2.x does not check mptr/@xlink:type (it does for mdRef and FLocat, CSIP23/37/50/78)",
        ),
    ),
    (
        "corrupt_audio",
        Cip::Accepts("commons-ip does not open content files"),
    ),
    (
        "truncated_image",
        Cip::Accepts("commons-ip does not open content files"),
    ),
    (
        "premis_schema_invalid",
        Cip::Accepts(
            "commons-ip does not validate referenced PREMIS files against the PREMIS schema",
        ),
    ),
    (
        "aip_not_sip",
        Cip::Accepts(
            "commons-ip only checks that csip:OAISPACKAGETYPE is in the CSIP9 vocabulary, not SIP4's 'SIP'",
        ),
    ),
    (
        "duplicate_danghao",
        Cip::Accepts(
            "档号 and catalog.xml are dangan's descriptive metadata; E-ARK does not define them",
        ),
    ),
    (
        "unknown_catalog_code",
        Cip::Accepts("catalog codes come from dangan's catalog profile"),
    ),
    (
        "bad_danghao",
        Cip::Accepts("档号 syntax is DA/T 22-2015, not E-ARK"),
    ),
    (
        "item_without_files",
        Cip::Accepts("items (件) are dangan's catalog.xml"),
    ),
    (
        "catalog_not_utf8",
        Cip::Accepts("commons-ip does not read descriptive metadata files"),
    ),
    (
        "encrypted_pdf",
        Cip::Accepts("commons-ip does not open content files"),
    ),
    (
        "executable_payload",
        Cip::Accepts("commons-ip does not look at what content files are"),
    ),
    (
        "script_payload",
        Cip::Accepts("commons-ip does not look at what content files are"),
    ),
    (
        "macro_payload",
        Cip::Accepts("commons-ip does not look at what content files are"),
    ),
    (
        "no_documentation_filegrp",
        Cip::Accepts(
            "commons-ip does not ask for a Documentation fileGrp when documentation/ holds files (it notes \
             only the division, CSIP93, as a SHOULD)",
        ),
    ),
    (
        "no_schemas_filegrp",
        Cip::Accepts(
            "commons-ip does not ask for a Schemas fileGrp when schemas/ holds files (it notes only the \
             division, CSIP97, as a SHOULD)",
        ),
    ),
    (
        "no_representations_filegrp",
        Cip::Accepts(
            "commons-ip does not ask for a Representations fileGrp when representations/ exists",
        ),
    ),
    (
        "submitter_without_name",
        Cip::Accepts(
            "commons-ip checks that the submitting agent has a name element, not that it is non-empty",
        ),
    ),
    (
        "preservation_agent_without_name",
        Cip::Accepts(
            "commons-ip checks that the preservation agent has a name element, not that it is non-empty",
        ),
    ),
    (
        "dmdsec_without_status",
        Cip::Accepts(
            "commons-ip checks dmdSec/@STATUS only when it is there (CSIP20 is 0..1 in its table)",
        ),
    ),
    (
        "metadata_div_without_admid",
        Cip::Accepts("commons-ip does not check that ADMID refers to the administrative metadata"),
    ),
    (
        "metadata_div_without_dmdid",
        Cip::Accepts("commons-ip does not check that DMDID refers to the descriptive metadata"),
    ),
    (
        "documentation_outside_its_folder",
        Cip::Accepts(
            "commons-ip does not check that the Documentation group's files are in documentation/ (it \
             notes the stray file in metadata/ under CSIP17/CSIP31, as SHOULDs)",
        ),
    ),
    // commons-ip rejects it under another requirement.
    (
        "software_note_without_notetype",
        Cip::Other(&["CSIP0"], SCHEMA_FIRST),
    ),
    ("dmdsec_without_id", Cip::Other(&["CSIP0"], SCHEMA_FIRST)),
    ("missing_file", Cip::Other(&["CSIP0"], SCHEMA_FIRST)),
    ("dangling_mdref", Cip::Other(&["CSIP0"], SCHEMA_FIRST)),
    ("missing_profile", Cip::Other(&["CSIP0"], SCHEMA_FIRST)),
    ("sip_without_profile", Cip::Other(&["CSIP0"], SCHEMA_FIRST)),
    (
        "schema_outside_its_folder",
        Cip::Accepts(
            "commons-ip does not check that the Schemas group's files are in schemas/ (it notes the stray \
             file in metadata/ under CSIP17/CSIP31, as SHOULDs)",
        ),
    ),
    (
        "digiprov_with_mdwrap",
        Cip::Accepts(
            "commons-ip warns about a wrapped digiprovMD under CSIP32 (the section) rather than CSIP35 (its \
             mdRef); both SHOULDs, the package accepted",
        ),
    ),
    (
        "no_representation_div",
        Cip::Accepts(
            "commons-ip 2.11 does not check that each representation with a METS has a division of its own",
        ),
    ),
    (
        "contact_person_without_name",
        Cip::Other(
            &["SIP15"],
            "commons-ip takes the nameless individual CREATOR for a second submitting agent and fails SIP15; \
             beside a submitting organisation dangan reads it as the contact person (SIP21–SIP25)",
        ),
    ),
    ("bad_oais_type", Cip::Other(&["CSIP0"], SCHEMA_FIRST)),
    ("bad_checksum_type", Cip::Other(&["CSIP0"], SCHEMA_FIRST)),
    (
        "dmd_mdref_without_mdtype",
        Cip::Other(&["CSIP0"], SCHEMA_FIRST),
    ),
    ("digiprov_without_id", Cip::Other(&["CSIP0"], SCHEMA_FIRST)),
    (
        "digiprov_mdref_dangling",
        Cip::Other(&["CSIP0"], SCHEMA_FIRST),
    ),
    (
        "digiprov_mdref_without_mdtype",
        Cip::Other(&["CSIP0"], SCHEMA_FIRST),
    ),
    ("rights_without_id", Cip::Other(&["CSIP0"], SCHEMA_FIRST)),
    (
        "rights_mdref_dangling",
        Cip::Other(&["CSIP0"], SCHEMA_FIRST),
    ),
    (
        "rights_mdref_without_mdtype",
        Cip::Other(&["CSIP0"], SCHEMA_FIRST),
    ),
    ("file_without_id", Cip::Other(&["CSIP0"], SCHEMA_FIRST)),
    ("no_structmap", Cip::Other(&["CSIP0"], SCHEMA_FIRST)),
    ("two_main_divs", Cip::Other(&["CSIP0"], SCHEMA_FIRST)),
    (
        "documentation_fptr_dangling",
        Cip::Other(&["CSIP0"], SCHEMA_FIRST),
    ),
    (
        "schemas_fptr_dangling",
        Cip::Other(&["CSIP0"], SCHEMA_FIRST),
    ),
    (
        "content_fptr_dangling",
        Cip::Other(&["CSIP0"], SCHEMA_FIRST),
    ),
    (
        "submitter_note_without_notetype",
        Cip::Other(&["CSIP0"], SCHEMA_FIRST),
    ),
    (
        "archivist_note_without_notetype",
        Cip::Other(&["CSIP0"], SCHEMA_FIRST),
    ),
    (
        "preservation_agent_note_without_notetype",
        Cip::Other(&["CSIP0"], SCHEMA_FIRST),
    ),
    (
        "no_csip_structmap",
        Cip::Other(
            &["CSIP80"],
            "commons-ip names a package without the CSIP structMap CSIP80",
        ),
    ),
    (
        "absolute_href",
        Cip::Other(
            &["CSIP66"],
            "commons-ip reports the file the href misses (CSIP66), not the href",
        ),
    ),
    (
        "missing_representation_mets",
        Cip::Other(
            &["CSIP110"],
            "commons-ip names the mptr that points at nothing (CSIP110)",
        ),
    ),
    (
        "empty_filegrp",
        Cip::Other(
            &["CSIP64"],
            "commons-ip names a fileGrp it cannot judge by its USE (CSIP64)",
        ),
    ),
    (
        "metadata_div_without_id",
        Cip::Other(
            &["CSIP106"],
            "commons-ip checks every division's @ID as CSIP106",
        ),
    ),
    (
        "documentation_div_without_id",
        Cip::Other(
            &["CSIP106"],
            "commons-ip checks every division's @ID as CSIP106",
        ),
    ),
    (
        "schemas_div_without_id",
        Cip::Other(
            &["CSIP106"],
            "commons-ip checks every division's @ID as CSIP106",
        ),
    ),
    (
        "unknown_profile",
        Cip::Other(
            &["SIP2"],
            "commons-ip validates every package as a SIP 2.2.0 and names the profile SIP2; dangan \
             cannot know which profile an unknown URL meant, applies the CSIP rules and cites CSIP6",
        ),
    ),
    (
        "content_division_without_id",
        Cip::Other(
            &["CSIP106"],
            "commons-ip skips CSIP102 ('validated later in CSIP106') and names the content division's \
             missing @ID CSIP106, the representation divisions' rule",
        ),
    ),
    (
        "content_file_missing",
        Cip::Other(
            &["CSIP0"],
            "commons-ip stops checking at the missing file (a NoSuchFileException, reported as CSIP0)",
        ),
    ),
    (
        "content_group_without_content_information_type",
        Cip::Accepts(
            "commons-ip 2.11 does not check csip:CONTENTINFORMATIONTYPE on a Representations fileGrp (CSIP62)",
        ),
    ),
    // commons-ip fails the same SHOULD, as an error.
    (
        "content_division_without_fptr",
        Cip::Rejects("commons-ip counts a failed CSIP104 (SHOULD) as an error"),
    ),
    (
        "documentation_div_without_fptr",
        Cip::Rejects("commons-ip counts a failed CSIP96 (SHOULD) as an error"),
    ),
    (
        "schemas_div_without_fptr",
        Cip::Rejects("commons-ip counts a failed CSIP100 (SHOULD) as an error"),
    ),
    // commons-ip cannot validate it at all (not validating counts as rejecting, but it names nothing).
    (
        "filegrp_without_use",
        Cip::Stops("commons-ip 2.x stops with a NullPointerException on a fileGrp without USE"),
    ),
    (
        "representation_div_without_label",
        Cip::Stops("commons-ip 2.x stops with a NullPointerException on a division without LABEL"),
    ),
    (
        "no_metshdr",
        Cip::Stops("commons-ip 2.x stops on a METS without metsHdr instead of reporting CSIP117"),
    ),
];

/// Variants commons-ip must see on their own: on these it stops the whole run ("Unable to create necessary files
/// to start validation", or a NullPointerException) instead of reporting.
const CIP_ALONE: &[&str] = &[
    "encrypted_zip_entry",
    "filegrp_without_use",
    "representation_div_without_label",
    "no_metshdr",
];

impl Cip {
    /// Why the two differ (empty when they do not).
    fn why(self) -> &'static str {
        match self {
            Cip::Same => "",
            Cip::Accepts(w)
            | Cip::Other(_, w)
            | Cip::AlsoRejects(_, w)
            | Cip::Rejects(w)
            | Cip::Stops(w) => w,
        }
    }
}

fn cip_for(name: &str) -> Cip {
    DIFFERS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
        .unwrap_or(Cip::Same)
}

/// Every requirement commons-ip fails in a report, at any level (a failed SHOULD is its warning).
fn cip_failed_any(doc: &Value) -> Vec<String> {
    doc["validation"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter(|r| r["testing"]["outcome"] == "FAILED")
                .map(|r| r["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

struct Variant {
    name: &'static str,
    /// The rule ID dangan must report as an error.
    rule: &'static str,
    path: PathBuf,
}

fn zip_dir(dir: &Path, zip_path: &Path, extra: &[(&str, Vec<u8>)], compress: bool) {
    let file = std::fs::File::create(zip_path).expect("create zip");
    let mut z = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default().compression_method(if compress {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    });
    let root = dir.file_name().expect("name").to_string_lossy().to_string();
    for e in walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
    {
        if e.file_type().is_file() {
            let rel = e
                .path()
                .strip_prefix(dir)
                .expect("under")
                .to_string_lossy()
                .replace('\\', "/");
            z.start_file(format!("{root}/{rel}"), opts).expect("entry");
            z.write_all(&std::fs::read(e.path()).expect("read"))
                .expect("write");
        }
    }
    for (name, bytes) in extra {
        z.start_file(*name, opts).expect("entry");
        z.write_all(bytes).expect("write");
    }
    z.finish().expect("finish");
}

/// Build every broken variant under `root`, starting each from a fresh copy of the packed SIP.
fn build_variants(root: &Path, base: &Path) -> Vec<Variant> {
    type Break = fn(&Path, &Path) -> Option<PathBuf>;
    let cases: Vec<(&'static str, &'static str, Break)> = vec![
        // One requirement each (issue 11 item 5).
        ("software_agent_without_name", "CSIP14", |s, _| {
            edit(&s.join("METS.xml"), "<name>dangan</name>", "<name></name>");
            None
        }),
        ("software_note_without_notetype", "CSIP16", |s, _| {
            edit(
                &s.join("METS.xml"),
                "<note csip:NOTETYPE=\"SOFTWARE VERSION\">0.1.0</note>",
                "<note>0.1.0</note>",
            );
            None
        }),
        ("dmdsec_without_id", "CSIP18", |s, _| {
            strip_attr(&s.join("METS.xml"), "</metsHdr>", "<dmdSec ", "ID");
            None
        }),
        ("mdref_loctype_other", "CSIP22", |s, _| {
            edit(
                &s.join("METS.xml"),
                "<mdRef LOCTYPE=\"URL\" xlink:type=\"simple\" xlink:href=\"metadata/descriptive/dc.xml\"",
                "<mdRef LOCTYPE=\"OTHER\" OTHERLOCTYPE=\"PATH\" xlink:type=\"simple\" xlink:href=\"metadata/descriptive/dc.xml\"",
            );
            None
        }),
        ("mdref_without_mimetype", "CSIP26", |s, _| {
            edit(
                &s.join("METS.xml"),
                " MDTYPE=\"DC\" MIMETYPE=\"application/xml\"",
                " MDTYPE=\"DC\"",
            );
            None
        }),
        ("filegrp_without_use", "CSIP64", |s, _| {
            strip_attr(&s.join("METS.xml"), "<fileSec", "<fileGrp ", "USE");
            None
        }),
        ("file_without_created", "CSIP70", |s, _| {
            strip_attr(&s.join("METS.xml"), "<fileSec", "<file ", "CREATED");
            None
        }),
        ("no_physical_structmap", "CSIP81", |s, _| {
            edit(
                &s.join("METS.xml"),
                " TYPE=\"PHYSICAL\" LABEL=\"CSIP\">",
                " TYPE=\"LOGICAL\" LABEL=\"CSIP\">",
            );
            None
        }),
        ("structmap_without_id", "CSIP83", |s, _| {
            strip_attr(&s.join("METS.xml"), "</fileSec>", "<structMap ", "ID");
            None
        }),
        ("main_div_without_id", "CSIP85", |s, _| {
            strip_attr(&s.join("METS.xml"), "LABEL=\"CSIP\">", "<div ", "ID");
            None
        }),
        ("mptr_without_title", "CSIP108", |s, _| {
            strip_attr(
                &s.join("METS.xml"),
                "LABEL=\"CSIP\">",
                "<mptr ",
                "xlink:title",
            );
            None
        }),
        ("mptr_loctype_other", "CSIP112", |s, _| {
            edit(
                &s.join("METS.xml"),
                "<mptr LOCTYPE=\"URL\"",
                "<mptr LOCTYPE=\"OTHER\" OTHERLOCTYPE=\"PATH\"",
            );
            None
        }),
        ("missing_mets", "CSIPSTR4", |s, _| {
            std::fs::remove_file(s.join("METS.xml")).ok();
            None
        }),
        ("objid_differs", "CSIP1", |s, dir| {
            let to = dir.join("other-name");
            std::fs::rename(s, &to).expect("rename");
            Some(to)
        }),
        ("missing_objid", "CSIP1", |s, _| {
            edit(&s.join("METS.xml"), " OBJID=\"demo-sip\"", "");
            None
        }),
        ("wrong_checksum", "CSIP71", |s, _| {
            let p = s.join(EML);
            let mut b = std::fs::read(&p).expect("read");
            b[10] ^= 0x01;
            std::fs::write(p, b).expect("write");
            None
        }),
        ("wrong_size", "CSIP69", |s, _| {
            let p = s.join(EML);
            let mut b = std::fs::read(&p).expect("read");
            b.push(b'\n');
            std::fs::write(p, b).expect("write");
            None
        }),
        ("missing_file", "CSIP79", |s, _| {
            std::fs::remove_file(
                s.join("representations/original/data/J001-WS_2019-Y-BGS-0004.wav"),
            )
            .ok();
            None
        }),
        ("extra_file", "DA/T 70-2018 2.4", |s, _| {
            std::fs::write(
                s.join("representations/original/data/extra.txt"),
                "not listed",
            )
            .expect("write");
            None
        }),
        ("bad_type", "CSIP2", |s, _| {
            // A hyphen-minus where the vocabulary has an EN DASH (U+2013).
            edit(
                &s.join("METS.xml"),
                "TYPE=\"Mixed\"",
                "TYPE=\"Textual works - Digital\"",
            );
            None
        }),
        ("missing_creator_agent", "CSIP12", |s, _| {
            edit(
                &s.join("METS.xml"),
                "<agent ROLE=\"CREATOR\" TYPE=\"OTHER\" OTHERTYPE=\"SOFTWARE\">\n      <name>dangan</name>\n      <note csip:NOTETYPE=\"SOFTWARE VERSION\">0.1.0</note>\n    </agent>",
                "",
            );
            None
        }),
        ("missing_submitter_agent", "SIP15", |s, _| {
            edit(
                &s.join("METS.xml"),
                "<agent ROLE=\"CREATOR\" TYPE=\"ORGANIZATION\">\n      <name>忻州市某县档案馆</name>\n    </agent>",
                "",
            );
            None
        }),
        ("missing_software_version_note", "CSIP15", |s, _| {
            edit(
                &s.join("METS.xml"),
                "\n      <note csip:NOTETYPE=\"SOFTWARE VERSION\">0.1.0</note>",
                "",
            );
            None
        }),
        ("dangling_mdref", "CSIP24", |s, _| {
            edit(
                &s.join("METS.xml"),
                "xlink:href=\"metadata/descriptive/dc.xml\"",
                "xlink:href=\"metadata/descriptive/nothere.xml\"",
            );
            None
        }),
        ("mdref_wrong_checksum", "CSIP43", |s, _| {
            let m = s.join("METS.xml");
            let text = read(&m);
            let at = text
                .find("metadata/preservation/premis.xml")
                .expect("premis");
            let k = at + text[at..].find("CHECKSUM=\"").expect("checksum") + 10;
            let mut t = text.clone();
            t.replace_range(k..k + 4, "0000");
            std::fs::write(m, t).expect("write");
            None
        }),
        ("missing_profile", "CSIP6", |s, _| {
            edit(
                &s.join("METS.xml"),
                " PROFILE=\"https://earksip.dilcis.eu/profile/E-ARK-SIP-v2-2-0.xml\"",
                "",
            );
            None
        }),
        // SIP2 restates CSIP6 for the SIP profile: the same broken package must cite both.
        ("sip_without_profile", "SIP2", |s, _| {
            edit(
                &s.join("METS.xml"),
                " PROFILE=\"https://earksip.dilcis.eu/profile/E-ARK-SIP-v2-2-0.xml\"",
                "",
            );
            None
        }),
        ("bad_oais_type", "CSIP9", |s, _| {
            edit(
                &s.join("METS.xml"),
                "csip:OAISPACKAGETYPE=\"SIP\"",
                "csip:OAISPACKAGETYPE=\"XIP\"",
            );
            None
        }),
        ("aip_not_sip", "SIP4", |s, _| {
            edit(
                &s.join("METS.xml"),
                "csip:OAISPACKAGETYPE=\"SIP\"",
                "csip:OAISPACKAGETYPE=\"AIP\"",
            );
            None
        }),
        ("missing_createdate", "CSIP7", |s, _| {
            edit(
                &s.join("METS.xml"),
                "<metsHdr CREATEDATE=\"2026-01-02T03:04:05Z\"",
                "<metsHdr",
            );
            None
        }),
        ("bad_checksum_type", "CSIP72", |s, _| {
            edit(
                &s.join(REP),
                "CHECKSUMTYPE=\"SHA-256\" sip:FILEFORMATNAME",
                "CHECKSUMTYPE=\"SM3\" sip:FILEFORMATNAME",
            );
            refresh(s, REP);
            None
        }),
        ("missing_filesec_id", "CSIP59", |s, _| {
            let m = s.join("METS.xml");
            let t = read(&m);
            let k = t.find("<fileSec ID=\"").expect("fileSec");
            let e = k + t[k..].find('>').expect(">");
            let mut t2 = t.clone();
            t2.replace_range(k..e, "<fileSec");
            std::fs::write(m, t2).expect("write");
            None
        }),
        ("missing_mimetype", "CSIP68", |s, _| {
            edit(&s.join(REP), "MIMETYPE=\"application/octet-stream\" ", "");
            refresh(s, REP);
            None
        }),
        ("bad_loctype", "CSIP77", |s, _| {
            edit(
                &s.join(REP),
                "<FLocat LOCTYPE=\"URL\"",
                "<FLocat LOCTYPE=\"URN\"",
            );
            refresh(s, REP);
            None
        }),
        ("no_csip_structmap", "CSIP82", |s, _| {
            edit(
                &s.join("METS.xml"),
                "TYPE=\"PHYSICAL\" LABEL=\"CSIP\"",
                "TYPE=\"PHYSICAL\" LABEL=\"Files\"",
            );
            None
        }),
        ("dangling_mptr", "CSIP110", |s, _| {
            edit(
                &s.join("METS.xml"),
                "<mptr LOCTYPE=\"URL\" xlink:type=\"simple\" xlink:href=\"representations/original/METS.xml\" xlink:title",
                "<mptr LOCTYPE=\"URL\" xlink:type=\"simple\" xlink:href=\"representations/nothere/METS.xml\" xlink:title",
            );
            None
        }),
        ("absolute_href", "CSIP79", |s, _| {
            edit(
                &s.join(REP),
                "xlink:href=\"data/J001-WS_2019-Y-BGS-0003.jpg\"",
                "xlink:href=\"/etc/passwd\"",
            );
            refresh(s, REP);
            None
        }),
        ("xml_external_entity", "CSIP0", |s, _| {
            let m = s.join(REP);
            let t = read(&m).replacen(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE mets [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>",
                1,
            );
            std::fs::write(&m, t.replacen("<name>dangan</name>", "<name>&x;</name>", 1))
                .expect("write");
            refresh(s, REP);
            None
        }),
        ("mets_schema_invalid", "CSIP0", |s, _| {
            // Well-formed, but an element METS 1.12 does not allow (xmllint with the METS schema).
            edit(
                &s.join("METS.xml"),
                "</metsHdr>",
                "  <bogus/>\n  </metsHdr>",
            );
            None
        }),
        ("premis_schema_invalid", "DA/T 70-2018 1.2", |s, _| {
            let p = "metadata/preservation/premis.xml";
            let t = read(&s.join(p));
            let k = t.find("<object ").expect("premis object");
            let mut t2 = t.clone();
            t2.insert_str(k, "<bogus/>");
            std::fs::write(s.join(p), t2).expect("write");
            refresh(s, p);
            None
        }),
        ("duplicate_danghao", "DA/T 70-2018 1.2", |s, _| {
            edit(
                &s.join(CATALOG),
                "<danghao>J001-WS·2019-Y-BGS-0002</danghao>",
                "<danghao>J001-WS·2019-Y-BGS-0001</danghao>",
            );
            refresh(s, CATALOG);
            None
        }),
        ("unknown_catalog_code", "DA/T 70-2018 1.2", |s, _| {
            edit(
                &s.join(CATALOG),
                "<catalogCode>X-1.1.1</catalogCode>",
                "<catalogCode>X-9.9.9</catalogCode>",
            );
            refresh(s, CATALOG);
            None
        }),
        ("bad_danghao", "DA/T 70-2018 1.2", |s, _| {
            edit(
                &s.join(CATALOG),
                "<danghao>J001-WS·2019-Y-BGS-0003</danghao>",
                "<danghao>J001-WS·19-Y-BGS-0003</danghao>",
            );
            refresh(s, CATALOG);
            None
        }),
        ("item_without_files", "DA/T 70-2018 2.3", |s, _| {
            let p = s.join(CATALOG);
            let t = read(&p);
            let k = t.find("<file ref=").expect("file");
            let e = k + t[k..].find("/>").expect("end") + 2;
            let k2 = e + t[e..].find("<file ref=").expect("file 2");
            let e2 = k2 + t[k2..].find("/>").expect("end") + 2;
            let mut t2 = t.clone();
            t2.replace_range(k..e2, "");
            std::fs::write(&p, t2).expect("write");
            refresh(s, CATALOG);
            None
        }),
        ("catalog_not_utf8", "DA/T 70-2018 3.1", |s, _| {
            let p = s.join(CATALOG);
            let t = read(&p);
            let (gbk, _, _) = encoding_rs::GBK.encode(&t);
            std::fs::write(&p, gbk.as_ref()).expect("write");
            refresh(s, CATALOG);
            None
        }),
        ("encrypted_pdf", "DA/T 70-2018 3.4", |s, dir| {
            let pdf = dir.join("enc.pdf");
            let (ok, _, err) = common::run(
                Process::new(common::require("qpdf"))
                    .args(["--empty", "--encrypt", "user", "owner", "256", "--"])
                    .arg(&pdf),
            );
            assert!(ok, "qpdf: {err}");
            std::fs::copy(&pdf, s.join(EML)).expect("copy");
            refresh(s, EML);
            None
        }),
        ("corrupt_audio", "DA/T 70-2018 3.2", |s, _| {
            let wav = "representations/original/data/J001-WS_2019-Y-BGS-0004.wav";
            std::fs::write(s.join(wav), b"RIFF\x24\x00\x00\x00WAVEjunkjunkjunkjunk")
                .expect("write");
            refresh(s, wav);
            None
        }),
        ("truncated_image", "DA/T 70-2018 3.2", |s, _| {
            let jpg = "representations/original/data/J001-WS_2019-Y-BGS-0003.jpg";
            let b = std::fs::read(s.join(jpg)).expect("read");
            std::fs::write(s.join(jpg), &b[..40]).expect("write");
            refresh(s, jpg);
            None
        }),
        ("executable_payload", "DA/T 70-2018 4.2", |s, _| {
            let mut b = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".to_vec();
            b.extend(std::iter::repeat_n(0u8, 200));
            std::fs::write(s.join(EML), b).expect("write");
            refresh(s, EML);
            None
        }),
        ("script_payload", "DA/T 70-2018 4.2", |s, _| {
            std::fs::write(s.join(EML), "#!/bin/sh\nrm -rf /\n").expect("write");
            refresh(s, EML);
            None
        }),
        ("macro_payload", "DA/T 70-2018 4.2", |s, dir| {
            let p = dir.join("m.docx");
            let mut z = zip::ZipWriter::new(std::fs::File::create(&p).expect("create"));
            let o = zip::write::SimpleFileOptions::default();
            z.start_file("[Content_Types].xml", o).expect("e");
            z.write_all(b"<Types/>").expect("w");
            z.start_file("word/vbaProject.bin", o).expect("e");
            z.write_all(b"\xd0\xcf\x11\xe0 macro").expect("w");
            z.finish().expect("finish");
            std::fs::copy(&p, s.join(EML)).expect("copy");
            refresh(s, EML);
            None
        }),
        ("symlink", "DA/T 70-2018 4.3", |s, _| {
            #[cfg(unix)]
            std::os::unix::fs::symlink(
                "/etc/passwd",
                s.join("representations/original/data/link.txt"),
            )
            .expect("symlink");
            None
        }),
        ("traversal_zip", "DA/T 70-2018 4.3", |s, dir| {
            let z = dir.join("demo-sip.zip");
            zip_dir(s, &z, &[("demo-sip/../evil.txt", b"escape".to_vec())], true);
            Some(z)
        }),
        ("encrypted_zip_entry", "DA/T 70-2018 3.4", |s, dir| {
            // Mark the e-mail's entry as encrypted (general-purpose flag bit 0, APPNOTE 4.4.4) in the local
            // header and the central directory, as a password-protected zip would.
            let z = dir.join("demo-sip.zip");
            zip_dir(s, &z, &[], false);
            let mut b = std::fs::read(&z).expect("read zip");
            let mut i = 0;
            while i + 46 < b.len() {
                let (sig, flag_at, name_len_at, name_at) = match &b[i..i + 4] {
                    [b'P', b'K', 3, 4] => ("local", 6, 26, 30),
                    [b'P', b'K', 1, 2] => ("central", 8, 28, 46),
                    _ => {
                        i += 1;
                        continue;
                    }
                };
                let n = u16::from_le_bytes([b[i + name_len_at], b[i + name_len_at + 1]]) as usize;
                let name = String::from_utf8_lossy(&b[i + name_at..i + name_at + n]).to_string();
                if name.ends_with(".eml") {
                    b[i + flag_at] |= 1;
                }
                let _ = sig;
                i += 4;
            }
            std::fs::write(&z, b).expect("write zip");
            Some(z)
        }),
        ("zip_bomb", "DA/T 70-2018 4.3", |s, dir| {
            let z = dir.join("demo-sip.zip");
            zip_dir(
                s,
                &z,
                &[(
                    "demo-sip/representations/original/data/zeros.bin",
                    vec![0u8; 32 << 20],
                )],
                true,
            );
            Some(z)
        }),
        ("missing_representation_mets", "CSIP79", |s, _| {
            std::fs::remove_file(s.join(REP)).ok();
            None
        }),
        // ---- More one-requirement variants (issue 11 item 5, second pass): MUST ----
        ("dmdsec_without_created", "CSIP19", |s, _| {
            strip_attr(&s.join("METS.xml"), "</metsHdr>", "<dmdSec ", "CREATED");
            None
        }),
        ("dmd_mdref_xlink_type_missing", "CSIP23", |s, _| {
            drop_attr(
                &s.join("METS.xml"),
                "metadata/descriptive/dc.xml",
                "xlink:type",
            );
            None
        }),
        ("dmd_mdref_without_mdtype", "CSIP25", |s, _| {
            edit(&s.join("METS.xml"), " MDTYPE=\"DC\"", "");
            None
        }),
        ("dmd_mdref_without_size", "CSIP27", |s, _| {
            drop_attr(&s.join("METS.xml"), "metadata/descriptive/dc.xml", "SIZE");
            None
        }),
        ("dmd_mdref_without_created", "CSIP28", |s, _| {
            drop_attr(
                &s.join("METS.xml"),
                "metadata/descriptive/dc.xml",
                "CREATED",
            );
            None
        }),
        ("dmd_mdref_without_checksum", "CSIP29", |s, _| {
            drop_attr(
                &s.join("METS.xml"),
                "metadata/descriptive/dc.xml",
                "CHECKSUM",
            );
            None
        }),
        ("dmd_mdref_without_checksumtype", "CSIP30", |s, _| {
            drop_attr(
                &s.join("METS.xml"),
                "metadata/descriptive/dc.xml",
                "CHECKSUMTYPE",
            );
            None
        }),
        ("digiprov_without_id", "CSIP33", |s, _| {
            let m = s.join("METS.xml");
            let t = read(&m);
            let k = t.find("<digiprovMD ID=\"").expect("digiprovMD") + 16;
            let id = &t[k..k + t[k..].find('"').expect("quote")];
            // The Metadata division refers to it by ID: that reference goes too (the ID is what is broken).
            let t = t.replacen(&format!(" ADMID=\"{id}\""), "", 1);
            std::fs::write(&m, t).expect("write");
            drop_attr(&m, "<digiprovMD ", "ID");
            None
        }),
        ("digiprov_mdref_loctype_other", "CSIP36", |s, _| {
            edit(
                &s.join("METS.xml"),
                "<mdRef LOCTYPE=\"URL\" xlink:type=\"simple\" xlink:href=\"metadata/preservation/premis.xml\"",
                "<mdRef LOCTYPE=\"OTHER\" OTHERLOCTYPE=\"PATH\" xlink:type=\"simple\" xlink:href=\"metadata/preservation/premis.xml\"",
            );
            None
        }),
        ("digiprov_mdref_xlink_type_missing", "CSIP37", |s, _| {
            drop_attr(
                &s.join("METS.xml"),
                "metadata/preservation/premis.xml",
                "xlink:type",
            );
            None
        }),
        ("digiprov_mdref_dangling", "CSIP38", |s, _| {
            edit(
                &s.join("METS.xml"),
                "xlink:href=\"metadata/preservation/premis.xml\"",
                "xlink:href=\"metadata/preservation/nothere.xml\"",
            );
            None
        }),
        ("digiprov_mdref_without_mdtype", "CSIP39", |s, _| {
            drop_attr(
                &s.join("METS.xml"),
                "metadata/preservation/premis.xml",
                "MDTYPE",
            );
            None
        }),
        ("digiprov_mdref_without_mimetype", "CSIP40", |s, _| {
            drop_attr(
                &s.join("METS.xml"),
                "metadata/preservation/premis.xml",
                "MIMETYPE",
            );
            None
        }),
        ("digiprov_mdref_wrong_size", "CSIP41", |s, _| {
            let m = s.join("METS.xml");
            let t = read(&m);
            let at = t.find("metadata/preservation/premis.xml").expect("premis");
            let k = at + t[at..].find("SIZE=\"").expect("SIZE") + 6;
            let mut t2 = t.clone();
            t2.insert(k, '9');
            std::fs::write(m, t2).expect("write");
            None
        }),
        ("digiprov_mdref_without_created", "CSIP42", |s, _| {
            drop_attr(
                &s.join("METS.xml"),
                "metadata/preservation/premis.xml",
                "CREATED",
            );
            None
        }),
        ("digiprov_mdref_without_checksumtype", "CSIP44", |s, _| {
            drop_attr(
                &s.join("METS.xml"),
                "metadata/preservation/premis.xml",
                "CHECKSUMTYPE",
            );
            None
        }),
        ("rights_without_id", "CSIP46", |s, _| {
            with_rights(s);
            edit(&s.join("METS.xml"), "rights-1 ", "");
            drop_attr(&s.join("METS.xml"), "<rightsMD ", "ID");
            None
        }),
        ("rights_mdref_loctype_other", "CSIP49", |s, _| {
            with_rights(s);
            edit(
                &s.join("METS.xml"),
                "<mdRef LOCTYPE=\"URL\" xlink:type=\"simple\" xlink:href=\"metadata/rights.xml\"",
                "<mdRef LOCTYPE=\"OTHER\" OTHERLOCTYPE=\"PATH\" xlink:type=\"simple\" xlink:href=\"metadata/rights.xml\"",
            );
            None
        }),
        ("rights_mdref_xlink_type_missing", "CSIP50", |s, _| {
            with_rights(s);
            drop_attr(&s.join("METS.xml"), "metadata/rights.xml", "xlink:type");
            None
        }),
        ("rights_mdref_dangling", "CSIP51", |s, _| {
            with_rights(s);
            std::fs::remove_file(s.join("metadata/rights.xml")).expect("remove");
            None
        }),
        ("rights_mdref_without_mdtype", "CSIP52", |s, _| {
            with_rights(s);
            edit(
                &s.join("METS.xml"),
                " MDTYPE=\"OTHER\" OTHERMDTYPE=\"RIGHTS\"",
                "",
            );
            None
        }),
        ("rights_mdref_without_mimetype", "CSIP53", |s, _| {
            with_rights(s);
            drop_attr(&s.join("METS.xml"), "metadata/rights.xml", "MIMETYPE");
            None
        }),
        ("rights_mdref_wrong_size", "CSIP54", |s, _| {
            with_rights(s);
            std::fs::write(
                s.join("metadata/rights.xml"),
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rights>公开.</rights>\n",
            )
            .expect("write");
            None
        }),
        ("rights_mdref_without_created", "CSIP55", |s, _| {
            with_rights(s);
            drop_attr(&s.join("METS.xml"), "metadata/rights.xml", "CREATED");
            None
        }),
        ("rights_mdref_wrong_checksum", "CSIP56", |s, _| {
            with_rights(s);
            // Same size, other bytes: only the checksum can tell.
            std::fs::write(
                s.join("metadata/rights.xml"),
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rights>保密</rights>\n",
            )
            .expect("write");
            None
        }),
        ("rights_mdref_without_checksumtype", "CSIP57", |s, _| {
            with_rights(s);
            drop_attr(&s.join("METS.xml"), "metadata/rights.xml", "CHECKSUMTYPE");
            None
        }),
        ("no_documentation_filegrp", "CSIP60", |s, _| {
            edit(
                &s.join("METS.xml"),
                "USE=\"Documentation\"",
                "USE=\"Other\"",
            );
            None
        }),
        ("no_schemas_filegrp", "CSIP113", |s, _| {
            edit(&s.join("METS.xml"), "USE=\"Schemas\"", "USE=\"Other\"");
            None
        }),
        ("no_representations_filegrp", "CSIP114", |s, _| {
            let m = s.join("METS.xml");
            for r in ["original", "preservation", "access"] {
                edit(
                    &m,
                    &format!("USE=\"Representations/{r}\""),
                    &format!("USE=\"Content/{r}\""),
                );
            }
            None
        }),
        ("filegrp_without_id", "CSIP65", |s, _| {
            let m = s.join(REP);
            // The Data division points at the group by its ID; that pointer goes with it.
            cut(&m, "<fptr FILEID=\"filegrp-", "/>");
            strip_attr(&m, "<fileSec", "<fileGrp ", "ID");
            refresh(s, REP);
            None
        }),
        ("empty_filegrp", "CSIP66", |s, _| {
            edit(
                &s.join("METS.xml"),
                "</fileSec>",
                "  <fileGrp ID=\"filegrp-empty\" USE=\"Other\"/>\n  </fileSec>",
            );
            None
        }),
        ("file_without_id", "CSIP67", |s, _| {
            let m = s.join(REP);
            let t = read(&m);
            let k = t.find("<file ID=\"").expect("file") + 10;
            let id = t[k..k + t[k..].find('"').expect("quote")].to_string();
            // The logical structMap points at it by ID; that pointer goes with it.
            cut(&m, &format!("<fptr FILEID=\"{id}\""), "/>");
            drop_attr(&m, "<file ID=", "ID");
            refresh(s, REP);
            None
        }),
        ("flocat_xlink_type_missing", "CSIP78", |s, _| {
            drop_attr(&s.join(REP), "<FLocat ", "xlink:type");
            refresh(s, REP);
            None
        }),
        ("no_structmap", "CSIP80", |s, _| {
            let m = s.join(REP);
            let t = read(&m);
            let a = t.find("<structMap ").expect("structMap");
            let b = t.rfind("</structMap>").expect("end") + "</structMap>".len();
            let mut t2 = t.clone();
            t2.replace_range(a..b, "");
            std::fs::write(&m, t2).expect("write");
            refresh(s, REP);
            None
        }),
        ("two_main_divs", "CSIP84", |s, _| {
            edit(
                &s.join("METS.xml"),
                "    </div>\n  </structMap>",
                "    </div>\n    <div ID=\"div-extra\" LABEL=\"Extra\"/>\n  </structMap>",
            );
            None
        }),
        ("no_metadata_div", "CSIP88", |s, _| {
            edit(&s.join("METS.xml"), "LABEL=\"Metadata\"", "LABEL=\"Other\"");
            None
        }),
        ("metadata_div_without_id", "CSIP89", |s, _| {
            drop_attr(&s.join("METS.xml"), "LABEL=\"Metadata\"", "ID");
            None
        }),
        ("documentation_div_without_id", "CSIP94", |s, _| {
            drop_attr(&s.join("METS.xml"), "LABEL=\"Documentation\">", "ID");
            None
        }),
        ("schemas_div_without_id", "CSIP98", |s, _| {
            drop_attr(&s.join("METS.xml"), "LABEL=\"Schemas\">", "ID");
            None
        }),
        // The representation stays declared by its fileGrp and its folder; only its division goes.
        ("no_representation_div", "CSIP105", |s, _| {
            cut_div(s, "Representations/access", false);
            None
        }),
        ("representation_div_without_id", "CSIP106", |s, _| {
            drop_attr(
                &s.join("METS.xml"),
                "LABEL=\"Representations/original\">",
                "ID",
            );
            None
        }),
        ("representation_div_without_label", "CSIP107", |s, _| {
            drop_attr(
                &s.join("METS.xml"),
                "LABEL=\"Representations/access\">",
                "LABEL",
            );
            None
        }),
        ("representation_div_without_mptr", "CSIP109", |s, _| {
            cut(
                &s.join("METS.xml"),
                "<mptr LOCTYPE=\"URL\" xlink:type=\"simple\" xlink:href=\"representations/access/METS.xml\" xlink:title",
                "/>",
            );
            None
        }),
        ("mptr_xlink_type_missing", "CSIP111", |s, _| {
            drop_attr(
                &s.join("METS.xml"),
                "xlink:href=\"representations/original/METS.xml\" xlink:title",
                "xlink:type",
            );
            None
        }),
        ("documentation_fptr_dangling", "CSIP116", |s, _| {
            let m = s.join("METS.xml");
            let t = read(&m);
            let at = t.find("LABEL=\"Documentation\">").expect("div");
            let k = at + t[at..].find("FILEID=\"").expect("fptr") + 8;
            let e = k + t[k..].find('"').expect("quote");
            let mut t2 = t.clone();
            t2.replace_range(k..e, "nothing-here");
            std::fs::write(m, t2).expect("write");
            None
        }),
        ("schemas_fptr_dangling", "CSIP118", |s, _| {
            let m = s.join("METS.xml");
            let t = read(&m);
            let at = t.find("LABEL=\"Schemas\">").expect("div");
            let k = at + t[at..].find("FILEID=\"").expect("fptr") + 8;
            let e = k + t[k..].find('"').expect("quote");
            let mut t2 = t.clone();
            t2.replace_range(k..e, "nothing-here");
            std::fs::write(m, t2).expect("write");
            None
        }),
        ("content_fptr_dangling", "CSIP119", |s, _| {
            edit(
                &s.join(REP),
                "<fptr FILEID=\"filegrp-",
                "<fptr FILEID=\"nothing-",
            );
            refresh(s, REP);
            None
        }),
        ("no_metshdr", "CSIP117", |s, _| {
            cut(&s.join("METS.xml"), "<metsHdr ", "</metsHdr>");
            None
        }),
        ("no_agent", "CSIP10", |s, _| {
            let m = s.join("METS.xml");
            let t = read(&m);
            let a = t.find("<agent ").expect("agent");
            let b = t.rfind("</agent>").expect("end") + "</agent>".len();
            let mut t2 = t.clone();
            t2.replace_range(a..b, "");
            std::fs::write(m, t2).expect("write");
            None
        }),
        ("no_creator_agent", "CSIP11", |s, _| {
            let m = s.join("METS.xml");
            edit(
                &m,
                "<agent ROLE=\"CREATOR\" TYPE=\"OTHER\"",
                "<agent ROLE=\"EDITOR\" TYPE=\"OTHER\"",
            );
            edit(
                &m,
                "<agent ROLE=\"CREATOR\" TYPE=\"ORGANIZATION\"",
                "<agent ROLE=\"EDITOR\" TYPE=\"ORGANIZATION\"",
            );
            None
        }),
        ("software_agent_othertype", "CSIP13", |s, _| {
            edit(
                &s.join("METS.xml"),
                "OTHERTYPE=\"SOFTWARE\"",
                "OTHERTYPE=\"HARDWARE\"",
            );
            None
        }),
        ("submitter_without_name", "SIP18", |s, _| {
            edit(
                &s.join("METS.xml"),
                "<name>忻州市某县档案馆</name>",
                "<name></name>",
            );
            None
        }),
        // Beside the submitting organisation, an individual CREATOR is its contact person.
        ("contact_person_without_name", "SIP24", |s, _| {
            edit(
                &s.join("METS.xml"),
                "<name>忻州市某县档案馆</name>",
                "<name>忻州市某县档案馆</name>\n    </agent>\n    <agent ROLE=\"CREATOR\" TYPE=\"INDIVIDUAL\">\n      <name></name>",
            );
            None
        }),
        ("submitter_note_without_notetype", "SIP20", |s, _| {
            edit(
                &s.join("METS.xml"),
                "<name>忻州市某县档案馆</name>",
                "<name>忻州市某县档案馆</name>\n      <note>14100000012345678X</note>",
            );
            None
        }),
        ("archivist_type_other", "SIP11", |s, _| {
            edit(
                &s.join("METS.xml"),
                "  </metsHdr>",
                "  <agent ROLE=\"ARCHIVIST\" TYPE=\"OTHER\" OTHERTYPE=\"UNIT\">\n      <name>某县扶贫办</name>\n    </agent>\n  </metsHdr>",
            );
            None
        }),
        ("archivist_note_without_notetype", "SIP14", |s, _| {
            edit(
                &s.join("METS.xml"),
                "  </metsHdr>",
                "  <agent ROLE=\"ARCHIVIST\" TYPE=\"ORGANIZATION\">\n      <name>某县扶贫办</name>\n      <note>J001</note>\n    </agent>\n  </metsHdr>",
            );
            None
        }),
        ("preservation_agent_type_other", "SIP28", |s, _| {
            edit(
                &s.join("METS.xml"),
                "  </metsHdr>",
                "  <agent ROLE=\"PRESERVATION\" TYPE=\"OTHER\" OTHERTYPE=\"UNIT\">\n      <name>某县档案馆</name>\n    </agent>\n  </metsHdr>",
            );
            None
        }),
        ("preservation_agent_without_name", "SIP29", |s, _| {
            edit(
                &s.join("METS.xml"),
                "  </metsHdr>",
                "  <agent ROLE=\"PRESERVATION\" TYPE=\"ORGANIZATION\">\n      <name></name>\n    </agent>\n  </metsHdr>",
            );
            None
        }),
        (
            "preservation_agent_note_without_notetype",
            "SIP31",
            |s, _| {
                edit(
                    &s.join("METS.xml"),
                    "  </metsHdr>",
                    "  <agent ROLE=\"PRESERVATION\" TYPE=\"ORGANIZATION\">\n      <name>某县档案馆</name>\n      <note>J001</note>\n    </agent>\n  </metsHdr>",
                );
                None
            },
        ),
        ("unknown_profile", "CSIP6", |s, _| {
            edit(
                &s.join("METS.xml"),
                "PROFILE=\"https://earksip.dilcis.eu/profile/E-ARK-SIP-v2-2-0.xml\"",
                "PROFILE=\"https://example.org/profile.xml\"",
            );
            None
        }),
        ("zip_two_roots", "CSIPSTR1", |s, dir| {
            let z = dir.join("demo-sip.zip");
            zip_dir(
                s,
                &z,
                &[("other/readme.txt", b"a second root".to_vec())],
                true,
            );
            Some(z)
        }),
        // ---- SHOULD: a warning citing the requirement, the package still accepted ----
        // CSIP 2.2.0 §5.3 folder layout (CSIPSTR5–CSIPSTR13): each moved folder keeps every reference right, so
        // only the layout recommendation is broken.
        ("no_root_metadata_folder", "CSIPSTR5", |s, _| {
            std::fs::rename(s.join("metadata"), s.join("meta")).expect("move");
            edit_all(
                &s.join("METS.xml"),
                "xlink:href=\"metadata/",
                "xlink:href=\"meta/",
            );
            None
        }),
        (
            "premis_outside_metadata_preservation",
            "CSIPSTR6",
            |s, _| {
                std::fs::create_dir_all(s.join("metadata/other")).expect("mkdir");
                std::fs::rename(
                    s.join("metadata/preservation/premis.xml"),
                    s.join("metadata/other/premis.xml"),
                )
                .expect("move");
                edit(
                    &s.join("METS.xml"),
                    "xlink:href=\"metadata/preservation/premis.xml\"",
                    "xlink:href=\"metadata/other/premis.xml\"",
                );
                None
            },
        ),
        ("dc_outside_metadata_descriptive", "CSIPSTR7", |s, _| {
            std::fs::create_dir_all(s.join("metadata/other")).expect("mkdir");
            std::fs::rename(
                s.join("metadata/descriptive/dc.xml"),
                s.join("metadata/other/dc.xml"),
            )
            .expect("move");
            edit(
                &s.join("METS.xml"),
                "xlink:href=\"metadata/descriptive/dc.xml\"",
                "xlink:href=\"metadata/other/dc.xml\"",
            );
            None
        }),
        ("no_representations_folder", "CSIPSTR9", |s, _| {
            std::fs::rename(s.join("representations"), s.join("reps")).expect("move");
            edit_all(
                &s.join("METS.xml"),
                "xlink:href=\"representations/",
                "xlink:href=\"reps/",
            );
            // The catalogue names each file by its package path.
            edit_all(&s.join(CATALOG), "path=\"representations/", "path=\"reps/");
            refresh(s, CATALOG);
            None
        }),
        ("representation_without_data_folder", "CSIPSTR11", |s, _| {
            let r = s.join("representations/original");
            std::fs::rename(r.join("data"), r.join("files")).expect("move");
            edit_all(
                &r.join("METS.xml"),
                "xlink:href=\"data/",
                "xlink:href=\"files/",
            );
            refresh(s, REP);
            edit_all(
                &s.join(CATALOG),
                "path=\"representations/original/data/",
                "path=\"representations/original/files/",
            );
            refresh(s, CATALOG);
            None
        }),
        (
            "representation_without_metadata_folder",
            "CSIPSTR13",
            |s, _| {
                let r = s.join("representations/original");
                std::fs::rename(r.join("metadata"), r.join("meta")).expect("move");
                edit_all(
                    &r.join("METS.xml"),
                    "xlink:href=\"metadata/",
                    "xlink:href=\"meta/",
                );
                refresh(s, REP);
                None
            },
        ),
        ("documentation_outside_its_folder", "CSIPSTR16", |s, _| {
            std::fs::rename(
                s.join("documentation/说明文件.txt"),
                s.join("metadata/说明文件.txt"),
            )
            .expect("move");
            edit(
                &s.join("METS.xml"),
                "xlink:href=\"documentation/%E8%AF%B4%E6%98%8E%E6%96%87%E4%BB%B6.txt\"",
                "xlink:href=\"metadata/%E8%AF%B4%E6%98%8E%E6%96%87%E4%BB%B6.txt\"",
            );
            None
        }),
        ("schema_outside_its_folder", "CSIPSTR15", |s, _| {
            std::fs::rename(
                s.join("schemas/DILCISExtensionMETS.xsd"),
                s.join("metadata/DILCISExtensionMETS.xsd"),
            )
            .expect("move");
            edit(
                &s.join("METS.xml"),
                "xlink:href=\"schemas/DILCISExtensionMETS.xsd\"",
                "xlink:href=\"metadata/DILCISExtensionMETS.xsd\"",
            );
            None
        }),
        ("dmdsec_with_mdwrap", "CSIP21", |s, _| {
            let m = s.join("METS.xml");
            let t = read(&m);
            let at = t
                .find("xlink:href=\"metadata/descriptive/dc.xml\"")
                .expect("dc");
            let a = t[..at].rfind("<mdRef ").expect("mdRef");
            let b = at + t[at..].find("/>").expect("end") + 2;
            let mut t2 = t.clone();
            t2.replace_range(
                a..b,
                "<mdWrap MDTYPE=\"DC\"><xmlData><dc:title xmlns:dc=\"http://purl.org/dc/elements/1.1/\">演示</dc:title></xmlData></mdWrap>",
            );
            std::fs::write(&m, t2).expect("write");
            std::fs::remove_file(s.join("metadata/descriptive/dc.xml")).expect("remove");
            None
        }),
        ("other_type_without_othertype", "CSIP3", |s, _| {
            edit(&s.join("METS.xml"), "TYPE=\"Mixed\"", "TYPE=\"OTHER\"");
            None
        }),
        ("no_content_information_type", "CSIP4", |s, _| {
            edit(
                &s.join("METS.xml"),
                " csip:CONTENTINFORMATIONTYPE=\"MIXED\"",
                "",
            );
            None
        }),
        ("dmdsec_without_status", "CSIP20", |s, _| {
            strip_attr(&s.join("METS.xml"), "</metsHdr>", "<dmdSec ", "STATUS");
            None
        }),
        ("digiprov_bad_status", "CSIP34", |s, _| {
            let m = s.join("METS.xml");
            let t = read(&m);
            let k = t.find("<digiprovMD ").expect("digiprovMD");
            let e = k + t[k..].find('>').expect(">");
            let tag = t[k..e].replacen("STATUS=\"CURRENT\"", "STATUS=\"DRAFT\"", 1);
            let mut t2 = t.clone();
            t2.replace_range(k..e, &tag);
            std::fs::write(m, t2).expect("write");
            None
        }),
        ("digiprov_with_mdwrap", "CSIP35", |s, _| {
            wrapped_amd(s, "digiprovMD", "digiprov-wrapped");
            None
        }),
        ("rights_with_mdwrap", "CSIP48", |s, _| {
            wrapped_amd(s, "rightsMD", "rights-wrapped");
            None
        }),
        ("rights_bad_status", "CSIP47", |s, _| {
            with_rights(s);
            edit(
                &s.join("METS.xml"),
                "ID=\"rights-1\" CREATED=\"2026-01-02T03:04:05Z\" STATUS=\"CURRENT\"",
                "ID=\"rights-1\" CREATED=\"2026-01-02T03:04:05Z\" STATUS=\"DRAFT\"",
            );
            None
        }),
        ("metadata_div_without_admid", "CSIP91", |s, _| {
            drop_attr(&s.join("METS.xml"), "LABEL=\"Metadata\"", "ADMID");
            None
        }),
        ("metadata_div_without_dmdid", "CSIP92", |s, _| {
            drop_attr(&s.join("METS.xml"), "LABEL=\"Metadata\"", "DMDID");
            None
        }),
        ("no_documentation_div", "CSIP93", |s, _| {
            cut_div(s, "Documentation", false);
            None
        }),
        ("documentation_div_without_fptr", "CSIP96", |s, _| {
            cut_div(s, "Documentation", true);
            None
        }),
        ("no_schemas_div", "CSIP97", |s, _| {
            cut_div(s, "Schemas", false);
            None
        }),
        ("schemas_div_without_fptr", "CSIP100", |s, _| {
            cut_div(s, "Schemas", true);
            None
        }),
    ];
    let mut out = Vec::new();
    for (name, rule, f) in cases {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let sip = dir.join(ID);
        copy_dir(base, &sip);
        let path = f(&sip, &dir).unwrap_or(sip);
        out.push(Variant { name, rule, path });
    }
    out
}

/// Build the variants of the package whose METS lists the content itself (see [`flatten`]), one requirement
/// each, starting each from a fresh copy of `flat`. Its files are checked as a representation METS's are.
fn build_flat_variants(root: &Path, flat: &Path) -> Vec<Variant> {
    type Break = fn(&Path);
    const EML_FLAT: &str = "representations/original/data/J001-WS_2019-Y-BGS-0006.eml";
    let cases: Vec<(&'static str, &'static str, Break)> = vec![
        // The shape itself: representation folders without the METS.xml CSIPSTR12 recommends.
        ("content_without_representation_mets", "CSIPSTR12", |_| {}),
        ("no_content_division", "CSIP101", |s| {
            let m = s.join("METS.xml");
            let t = read(&m);
            let (a, b) = element_around(&t, "LABEL=\"Representations\">", "<div ", "</div>");
            let mut t2 = t.clone();
            t2.replace_range(a..b, "");
            std::fs::write(m, t2).expect("write");
        }),
        ("content_division_without_id", "CSIP102", |s| {
            drop_attr(&s.join("METS.xml"), "LABEL=\"Representations\">", "ID");
        }),
        ("content_division_without_fptr", "CSIP104", |s| {
            let m = s.join("METS.xml");
            let t = read(&m);
            let at = t
                .find("LABEL=\"Representations\">")
                .expect("content division");
            let a = at + t[at..].find("<fptr ").expect("fptr");
            let b = a + t[a..].find("/>").expect("end") + 2;
            let mut t2 = t.clone();
            t2.replace_range(a..b, "");
            std::fs::write(m, t2).expect("write");
        }),
        (
            "content_group_without_content_information_type",
            "CSIP62",
            |s| {
                edit(
                    &s.join("METS.xml"),
                    " USE=\"Representations\" csip:CONTENTINFORMATIONTYPE=\"MIXED\"",
                    " USE=\"Representations\"",
                );
            },
        ),
        ("file_directly_in_representations", "CSIPSTR10", |s| {
            let from = "representations/access/data/J001-WS_2019-Y-BGS-0003.thumb.jpg";
            let to = "representations/J001-WS_2019-Y-BGS-0003.thumb.jpg";
            std::fs::rename(s.join(from), s.join(to)).expect("move");
            edit(
                &s.join("METS.xml"),
                &format!("xlink:href=\"{from}\""),
                &format!("xlink:href=\"{to}\""),
            );
            edit(
                &s.join(CATALOG),
                &format!("path=\"{from}\""),
                &format!("path=\"{to}\""),
            );
            refresh(s, CATALOG);
        }),
        ("content_fptr_to_documentation", "CSIP119", |s| {
            let m = s.join("METS.xml");
            let t = read(&m);
            let k = t
                .find("USE=\"Documentation\"")
                .expect("Documentation group");
            let a = t[..k].rfind("ID=\"").expect("ID") + 4;
            let doc = t[a..a + t[a..].find('"').expect("quote")].to_string();
            let at = t
                .find("LABEL=\"Representations\">")
                .expect("content division");
            let f = at + t[at..].find("FILEID=\"").expect("fptr") + 8;
            let e = f + t[f..].find('"').expect("quote");
            let mut t2 = t.clone();
            t2.replace_range(f..e, &doc);
            std::fs::write(m, t2).expect("write");
        }),
        // The files the package METS lists are recomputed as a representation METS's are.
        ("content_file_wrong_checksum", "CSIP71", |s| {
            let p = s.join(EML_FLAT);
            let mut b = std::fs::read(&p).expect("read");
            b[10] ^= 0x01;
            std::fs::write(p, b).expect("write");
        }),
        ("content_file_missing", "CSIP79", |s| {
            std::fs::remove_file(
                s.join("representations/original/data/J001-WS_2019-Y-BGS-0004.wav"),
            )
            .expect("remove");
        }),
    ];
    let mut out = Vec::new();
    for (name, rule, f) in cases {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let sip = dir.join(ID);
        copy_dir(flat, &sip);
        f(&sip);
        out.push(Variant {
            name,
            rule,
            path: sip,
        });
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_map(Result::ok)
    {
        let rel = e.path().strip_prefix(from).expect("under");
        let dest = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
        } else {
            std::fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

/// Names of the files under `dir/sub`, recursively.
fn files_in(dir: &Path, sub: &str) -> Vec<String> {
    walkdir::WalkDir::new(dir.join(sub))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn valid_packages_are_accepted_by_both() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let folder = pack(&tmp.path().join("f"), false);
    let zip = pack(&tmp.path().join("z"), true);
    // A SIP made by commons-ip's own `create`.
    let made = tmp.path().join("c");
    std::fs::create_dir_all(&made).expect("mkdir");
    std::fs::write(tmp.path().join("a.txt"), "hello\n").expect("write");
    let jar = common::tool_var("COMMONS_IP_JAR");
    let (ok, _, err) = common::run(
        Process::new(common::require("java"))
            .current_dir(tmp.path())
            .args([
                "-jar",
                &jar,
                "create",
                "-s",
                "Folder",
                "--sip-id=cip-sip",
                "--submitter-name=Tester",
            ])
            .arg(format!(
                "--representation-data={}",
                tmp.path().join("a.txt").display()
            ))
            .arg("-p")
            .arg(&made),
    );
    assert!(ok, "commons-ip create: {err}");
    let cip_sip = made.join("cip-sip");
    // The demo SIP in the shape other producers make: content listed in the package METS, no representation
    // METS (see `flatten`).
    let flat = tmp.path().join("flat").join(ID);
    copy_dir(&folder, &flat);
    flatten(&flat);
    for sip in [&folder, &zip, &cip_sip, &flat] {
        let (code, v) = validate(sip, &[]);
        assert_eq!(code, 0, "{} rejected: {:#}", sip.display(), v["findings"]);
        assert_eq!(v["accepted"], true);
        assert_eq!(v["spec_applied"], "E-ARK SIP 2.2.0");
        assert_eq!(v["spec_source"], "declared");
        assert_eq!(v["schema"], "urn:dangan:validate-report");
        for p in ["authenticity", "integrity", "usability", "security"] {
            assert_eq!(v["summary"]["properties"][p]["passed"], true, "{p}");
        }
    }
    let (_, v) = validate(&folder, &[]);
    assert_eq!(v["summary"]["items"], 6);
    // dangan's own package raises no format warning (DA/T 70-2018 3.2, 1.3): its masters and originals are
    // on the archival list and its HTML renderings of e-mail sit in the access representation.
    let format_warnings: Vec<&Value> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "DA/T 70-2018 3.2" || f["rule"] == "DA/T 70-2018 1.3")
        .collect();
    assert!(format_warnings.is_empty(), "{format_warnings:#?}");
    assert!(
        files_in(&folder, "representations/access/data")
            .iter()
            .any(|n| n.ends_with(".html")),
        "the demo package should hold HTML access copies for this check to mean something"
    );
    // Originals, masters and access copies, and the package's own metadata, schemas and documentation; each of
    // the two scanned items also has its OCR access forms (issue 14): an OFD, the full text and its summary.
    assert_eq!(v["summary"]["files"], 38);
    // The package whose METS lists the content itself: every file is still checked (the same 38 entries less
    // the three representation METS, three representations), and the one thing it breaks is a SHOULD: each
    // representation folder without its own METS.xml (CSIPSTR12).
    let (_, v) = validate(&flat, &[]);
    assert_eq!(v["summary"]["files"], 35);
    assert_eq!(v["summary"]["representations"], 3);
    let warned: std::collections::BTreeSet<(String, String)> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["level"] != "info")
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or("").to_string(),
                f["path"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let expected: std::collections::BTreeSet<(String, String)> = REPS
        .iter()
        .map(|r| ("CSIPSTR12".to_string(), format!("representations/{r}/")))
        .collect();
    assert_eq!(warned, expected, "{:#}", v["findings"]);
    // verify reads the same package through the same reader: the files the package METS lists are checked.
    dangan().arg("verify").arg(&flat).assert().code(0);
    let eml = flat.join("representations/original/data/J001-WS_2019-Y-BGS-0006.eml");
    let good = std::fs::read(&eml).expect("read");
    let mut bad = good.clone();
    bad[10] ^= 0x01;
    std::fs::write(&eml, &bad).expect("write");
    dangan().arg("verify").arg(&flat).assert().code(1);
    std::fs::write(&eml, &good).expect("write");
    let cip = commons_ip(&[&folder, &zip, &cip_sip, &flat]);
    for sip in [&folder, &zip, &cip_sip, &flat] {
        let doc = cip
            .get(&sip.display().to_string())
            .unwrap_or_else(|| panic!("no commons-ip report for {}", sip.display()));
        assert!(
            cip_valid(doc),
            "commons-ip rejects {}: {:?}",
            sip.display(),
            cip_failed(doc)
        );
    }
    // A plain CSIP package (PROFILE of the CSIP, no SIP submitter agent) is judged by the CSIP rules only and
    // accepted; commons-ip judges everything as a SIP and rejects it (SIP15): a documented difference.
    let csip = tmp.path().join("csip").join(ID);
    copy_dir(&folder, &csip);
    edit(
        &csip.join("METS.xml"),
        "PROFILE=\"https://earksip.dilcis.eu/profile/E-ARK-SIP-v2-2-0.xml\"",
        "PROFILE=\"https://earkcsip.dilcis.eu/profile/E-ARK-CSIP.xml\"",
    );
    edit(
        &csip.join("METS.xml"),
        "<agent ROLE=\"CREATOR\" TYPE=\"ORGANIZATION\">\n      <name>忻州市某县档案馆</name>\n    </agent>",
        "",
    );
    let (code, v) = validate(&csip, &[]);
    assert_eq!(code, 0, "{:#}", v["findings"]);
    assert_eq!(v["spec_applied"], "E-ARK CSIP 2.2.0");
    assert_eq!(v["spec_source"], "declared");
    let (code, v) = validate(&csip, &["--spec", "sip-2.2.0"]);
    assert_eq!(code, 1);
    assert!(error_rules(&v).contains(&"SIP15".to_string()));
    let doc = &commons_ip(&[&csip])[&csip.display().to_string()];
    assert!(
        !cip_valid(doc) && cip_failed(doc).iter().any(|r| r.starts_with("SIP")),
        "{:?}",
        cip_failed(doc)
    );

    // --spec overrides the declared profile, and the report says so.
    let (code, v) = validate(&folder, &["--spec", "csip"]);
    assert_eq!(code, 0);
    assert_eq!(v["spec_applied"], "E-ARK CSIP 2.2.0");
    assert_eq!(v["spec_source"], "override");
}

#[test]
fn broken_variants_are_rejected_with_the_right_rule_and_compared_with_commons_ip() {
    use dangan::validate::rules::Requirement;
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = pack(&tmp.path().join("base"), false);
    let mut variants = build_variants(&tmp.path().join("v"), &base);
    // The second base: the same package with its content listed in the package METS (no representation METS).
    let flat = tmp.path().join("flat").join(ID);
    copy_dir(&base, &flat);
    flatten(&flat);
    variants.extend(build_flat_variants(&tmp.path().join("w"), &flat));
    assert!(variants.len() >= 30, "only {} variants", variants.len());
    let table = dangan::validate::RuleTable::embedded();
    // A MUST (and every DA/T 70 item) broken is an error and the package is rejected; a SHOULD broken is a
    // warning citing it, and a package that breaks nothing else is accepted.
    let is_should = |rule: &str| {
        table
            .rule(rule)
            .is_some_and(|r| r.level == Requirement::SHOULD)
    };
    let mut seen_rules = Vec::new();
    let mut wrong = Vec::new();
    for v in &variants {
        let (code, report) = validate(&v.path, &[]);
        let level = if is_should(v.rule) {
            "warning"
        } else {
            "error"
        };
        let cited: Vec<String> = report["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["level"] == level)
            .map(|f| f["rule"].as_str().unwrap_or("").to_string())
            .collect();
        if !cited.iter().any(|r| r == v.rule) {
            wrong.push(format!(
                "{}: expected {} as {level} among {cited:?}; findings {:#}",
                v.name, v.rule, report["findings"]
            ));
        }
        let accepted = level == "warning";
        if (code, report["accepted"].as_bool()) != (if accepted { 0 } else { 1 }, Some(accepted)) {
            wrong.push(format!(
                "{}: exit {code}, accepted {}, expected {}; findings {:#}",
                v.name, report["accepted"], accepted, report["findings"]
            ));
        }
        seen_rules.extend(
            report["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| f["rule"].as_str().unwrap_or("").to_string()),
        );
    }
    // Every rule dangan emitted is in the tables.
    for r in &seen_rules {
        assert!(
            table.knows(r),
            "rule {r} emitted but not in the rule tables"
        );
    }
    // Requirement attribution (issue 11 item 5): which machine-testable MUST/SHOULD requirements of CSIP/SIP
    // 2.2.0 have a variant here that breaks that requirement and gets a finding citing it at its level.
    let testable: Vec<&dangan::validate::rules::Rule> = table
        .rules
        .iter()
        .filter(|r| {
            r.versions.iter().any(|v| v == "2.2.0")
                && matches!(r.level, Requirement::MUST | Requirement::SHOULD)
        })
        .collect();
    let all = testable.len();
    let testable: Vec<&dangan::validate::rules::Rule> =
        testable.into_iter().filter(|r| r.testable).collect();
    let covered: std::collections::BTreeSet<&str> = variants
        .iter()
        .map(|v| v.rule)
        .filter(|r| testable.iter().any(|m| m.id == *r))
        .collect();
    let missing: Vec<&str> = testable
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| !covered.contains(id))
        .collect();
    eprintln!(
        "E-ARK 2.2.0 requirement coverage: {} of {} machine-testable MUST/SHOULD requirements ({} in all) have a \
         variant citing them.\nCovered: {}\nNot yet: {}",
        covered.len(),
        testable.len(),
        all,
        covered.iter().copied().collect::<Vec<_>>().join(" "),
        missing.join(" ")
    );
    // The floor reached at stop 14 (117 at stop 12, 105 at stop 11, 34 at stop 10): coverage may grow, never
    // silently shrink.
    assert!(
        covered.len() >= FLOOR,
        "requirement coverage fell to {} (was {FLOOR})",
        covered.len()
    );
    // commons-ip over all variants in one run (it starts a JVM: ≈2 s).
    // commons-ip in batches of 16 (a JVM start each); a batch it cannot finish is run one package at a time.
    let mut cip = HashMap::new();
    let mut could_not_run = Vec::new();
    let mut disagreements = Vec::new();
    let batch: Vec<&Variant> = variants
        .iter()
        .filter(|v| !CIP_ALONE.contains(&v.name))
        .collect();
    for chunk in batch.chunks(16) {
        let paths: Vec<&Path> = chunk.iter().map(|v| v.path.as_path()).collect();
        if let Some(docs) = commons_ip_batch(&paths) {
            cip.extend(docs);
            continue;
        }
        for v in chunk {
            match commons_ip_alone(&v.path) {
                Some(doc) => {
                    cip.insert(v.path.display().to_string(), doc);
                }
                None => disagreements.push(format!(
                    "{}: stops commons-ip (list it in CIP_ALONE)",
                    v.name
                )),
            }
        }
    }
    for v in variants.iter().filter(|v| CIP_ALONE.contains(&v.name)) {
        match commons_ip_alone(&v.path) {
            Some(doc) => {
                cip.insert(v.path.display().to_string(), doc);
            }
            None => could_not_run.push(v.path.display().to_string()),
        }
    }
    for v in &variants {
        let doc = cip.get(&v.path.display().to_string());
        // No report at all: it could not read the package, which counts as rejecting it.
        let cip_rejects = doc.is_none_or(|d| !cip_valid(d));
        let cip_fails = doc.map(cip_failed_any).unwrap_or_default();
        // Every package has its report, but one in CIP_ALONE that stopped commons-ip (any other that stopped it
        // is a disagreement above).
        if doc.is_none() && !could_not_run.contains(&v.path.display().to_string()) {
            continue;
        }
        let eark = table.rule(v.rule).is_some();
        let cites = cip_fails.iter().any(|r| r == v.rule);
        let same = if eark {
            cites && cip_rejects != is_should(v.rule)
        } else {
            cip_rejects
        };
        eprintln!(
            "{:<42} {:<18} commons-ip: {} {:?} {}",
            v.name,
            v.rule,
            if doc.is_none() {
                "stops"
            } else if cip_rejects {
                "rejects"
            } else {
                "accepts"
            },
            cip_fails,
            cip_for(v.name).why()
        );
        let listed_wrong = match cip_for(v.name) {
            Cip::Same => !same,
            Cip::Accepts(_) => cip_rejects || cites,
            Cip::Other(ids, _) => {
                cites || !cip_rejects || !ids.iter().all(|id| cip_fails.iter().any(|r| r == id))
            }
            Cip::Rejects(_) => !(cites && cip_rejects && is_should(v.rule)),
            Cip::AlsoRejects(ids, _) => {
                !(cites && cip_rejects && ids.iter().all(|id| cip_fails.iter().any(|r| r == id)))
            }
            Cip::Stops(_) => doc.is_some(),
        };
        if listed_wrong {
            disagreements.push(format!(
                "{} ({}): listed as {:?}, but commons-ip {} and fails {:?}",
                v.name,
                v.rule,
                cip_for(v.name),
                if doc.is_none() {
                    "stops"
                } else if cip_rejects {
                    "rejects"
                } else {
                    "accepts"
                },
                cip_fails
            ));
        }
    }
    for (name, _) in DIFFERS {
        if !variants.iter().any(|v| v.name == *name) {
            disagreements.push(format!("{name}: listed in DIFFERS but no such variant"));
        }
    }
    // dangan's own verdicts first (each variant's requirement cited at its level), then the comparison.
    assert!(
        wrong.is_empty(),
        "{} variants judged wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(
        disagreements.is_empty(),
        "dangan and commons-ip ({} differences not in DIFFERS):\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

/// Machine-testable MUST/SHOULD requirements with a variant: the floor this test asserts.
const FLOOR: usize = 123;

#[test]
fn html_report_renders_in_chromium() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = pack(&tmp.path().join("base"), false);
    let html = tmp.path().join("report.html");
    std::fs::write(base.join("representations/original/data/extra.txt"), "x").expect("write");
    let o = dangan()
        .args(["validate", "--no-virus-scan", "--html"])
        .arg(&html)
        .arg(&base)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("拒收") && text.contains("DA/T 70-2018 2.4"),
        "{text}"
    );
    let (ok, dom, err) = common::run(
        Process::new(common::require("chromium"))
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
            .arg(format!("file://{}", html.display())),
    );
    assert!(ok, "chromium: {err}");
    for needle in [
        "电子档案四性检测报告",
        "拒收",
        "真实性",
        "完整性",
        "可用性",
        "安全性",
        "id=\"items\"",
        "DA/T 70-2018 2.4",
    ] {
        assert!(dom.contains(needle), "rendered page lacks {needle}");
    }
    // English on request.
    let o = dangan()
        .args(["--lang", "en", "validate", "--no-virus-scan"])
        .arg(&base)
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&o.stdout).contains("REJECTED"));
}

#[test]
fn cannot_run_exits_2() {
    let o = dangan()
        .args(["validate", "/nonexistent/package"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
}

/// Every rule ID written in the validator's source is in the rule tables (grep-able IDs, checked both ways).
#[test]
fn every_rule_id_in_the_code_is_in_the_table() {
    let table = dangan::validate::RuleTable::embedded();
    for e in walkdir::WalkDir::new(common::root().join("src/validate"))
        .into_iter()
        .filter_map(Result::ok)
    {
        if !e.file_type().is_file() {
            continue;
        }
        let src = read(e.path());
        for lit in src.split('"').skip(1).step_by(2) {
            let is_id = ["CSIPSTR", "CSIP", "SIP"].iter().any(|p| {
                lit.strip_prefix(p)
                    .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
            });
            if is_id {
                assert!(
                    table.knows(lit),
                    "{}: {lit} not in profiles/eark-rules.toml",
                    e.path().display()
                );
            }
        }
        // DA/T 70 items are passed as "x.y" to Finding::dat70(…) and dat70.rs's f(…).
        for call in ["dat70(\"", " f(\"", "(f(\""] {
            for (at, _) in src.match_indices(call) {
                let rest = &src[at + call.len()..];
                let item = &rest[..rest.find('"').expect("closing quote")];
                assert!(
                    table.knows(&format!("DA/T 70-2018 {item}")),
                    "{}: item {item} not in dat70-items.toml",
                    e.path().display()
                );
            }
        }
    }
}

fn has_cjk(s: &str) -> bool {
    s.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c))
}

/// Finding messages follow the report language: Chinese by default (text, HTML and the JSON `message`), English
/// with `--lang en` (and always in the JSON `message_en`).
#[test]
fn finding_messages_are_chinese_by_default_and_english_on_request() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = pack(&tmp.path().join("base"), false);
    let variants = build_variants(&tmp.path().join("v"), &base);
    let v = variants
        .iter()
        .find(|v| v.name == "wrong_checksum")
        .expect("wrong_checksum variant");

    // JSON: both messages of the CSIP71 finding.
    let (code, report) = validate(&v.path, &[]);
    assert_eq!(code, 1);
    let finding = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == v.rule)
        .unwrap_or_else(|| panic!("no {} finding: {:#}", v.rule, report["findings"]))
        .clone();
    let zh = finding["message"].as_str().expect("message").to_string();
    let en = finding["message_en"]
        .as_str()
        .expect("message_en")
        .to_string();
    assert!(has_cjk(&zh), "message is not Chinese: {zh}");
    assert!(en.contains("the file's is"), "message_en: {en}");
    assert!(!has_cjk(&en), "message_en is not English: {en}");

    let text = |lang: Option<&str>| {
        let mut cmd = dangan();
        if let Some(l) = lang {
            cmd.args(["--lang", l]);
        }
        let o = cmd
            .args(["validate", "--no-virus-scan"])
            .arg(&v.path)
            .output()
            .expect("run validate");
        assert_eq!(o.status.code(), Some(1));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let line = |out: &str| {
        out.lines()
            .find(|l| l.contains(&format!("[{}]", v.rule)))
            .unwrap_or_else(|| panic!("no {} line in:\n{out}", v.rule))
            .to_string()
    };
    // Default (Chinese) text report.
    let out = text(None);
    let l = line(&out);
    assert!(l.ends_with(&zh) && !l.contains(&en), "{l}");
    // English on request, for the same finding.
    let out = text(Some("en"));
    let l = line(&out);
    assert!(l.ends_with(&en) && !has_cjk(&l), "{l}");

    // HTML follows the same language.
    let html = tmp.path().join("r.html");
    let o = dangan()
        .args(["validate", "--no-virus-scan", "--html"])
        .arg(&html)
        .arg(&v.path)
        .output()
        .expect("run validate");
    assert_eq!(o.status.code(), Some(1));
    let page = read(&html);
    assert!(
        page.contains(&zh) && !page.contains(&en),
        "zh HTML lacks {zh}"
    );
}
