//! BagIt conformance suite (issue 11, item 4): one bag per rule of RFC 8493 (and of the drafts
//! 0.93–0.97 still in archives), valid and invalid, generated at test time. Each bag is judged by
//! `dangan verify BAG` (exit 0 valid, 1 invalid) and by bagit-python 1.9.0 (`bagit.py --validate`),
//! the reference implementation.
//!
//! Every case states what the RFC requires (`rfc_valid`); dangan must give that verdict. Where
//! bagit-python gives another, the case must be listed in [`DIFFERENCES`] with the reason; an
//! unlisted disagreement, or a listed one that no longer happens, fails the test.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command as StdCommand;
use std::time::{Duration, Instant};

mod common;

use dangan::fixity::digest::{Algorithm, MultiHasher};

/// Where dangan and bagit-python 1.9.0 disagree on purpose: (case, why). In every one of these
/// dangan follows RFC 8493 and bagit-python does not.
const DIFFERENCES: &[(&str, &str)] = &[
    (
        "v1-percent25-in-name",
        "RFC 8493 §2.1.3: '%' in a path is written %25 and decoded; bagit-python 1.9.0 decodes only \
         %0D/%0A (bug #157), looks for 'data/100%25.txt' and calls the bag incomplete",
    ),
    (
        "bagit-txt-space-before-colon",
        "RFC 8493 §2.1.1: 'BagIt-Version: M.N' exactly; bagit-python trims labels (the LoC \
         conformance suite holds this bag as invalid)",
    ),
    (
        "bagit-txt-no-space-after-colon",
        "RFC 8493 §2.1.1: the colon is followed by one space; bagit-python trims the value",
    ),
    (
        "bagit-txt-extra-line",
        "RFC 8493 §2.1.1: bagit.txt is exactly two lines; bagit-python accepts any further tags",
    ),
    (
        "bagit-txt-order-reversed",
        "RFC 8493 §2.1.1: the two lines come in this order; bagit-python reads them in any order",
    ),
    (
        "manifest-line-without-path",
        "RFC 8493 §2.1.3: each line is <checksum> <filepath>; bagit-python logs the malformed \
         line and still calls the bag valid",
    ),
    (
        "payload-manifest-lists-tag-file",
        "RFC 8493 §2.1.3: a payload manifest lists payload files (under data/) only; bagit-python \
         hashes bagit.txt like any entry and is content",
    ),
    (
        "file-missing-from-second-manifest",
        "RFC 8493 §3 (complete): every payload file is listed in every payload manifest; \
         bagit-python only checks each file against the manifests that list it",
    ),
    (
        "fetch-outside-data",
        "RFC 8493 §2.2.3: fetch.txt lists payload files only (each must be in every payload \
         manifest); bagit-python checks only that the path stays in the bag",
    ),
    (
        "fetch-length-not-a-number",
        "RFC 8493 §2.2.3: length is a number of octets or '-'; bagit-python does not read it",
    ),
    (
        "fetch-entry-not-in-manifest",
        "RFC 8493 §2.2.3: every fetch.txt file is in every payload manifest, and a file still to \
         be fetched makes the bag incomplete (§3); bagit-python ignores fetch entries it has no \
         manifest line for",
    ),
    (
        "v1-fetch-outside-data-file-url",
        "RFC 8493 §2.2.3: from 1.0 fetch.txt lists payload files only (the 0.97 bag of the LoC \
         suite's local-fetch shape is valid, with a warning); bagit-python checks only that the \
         path stays in the bag",
    ),
    (
        "name-nfd-in-manifest-nfc-on-disk",
        "a name equal to a file's under Unicode normalization names that file (with a warning); \
         bagit-python compares the manifest name as written with the NFC form of the names on \
         disk, so it matches an NFC manifest name to an NFD file but not the reverse",
    ),
    (
        "manifest-dot-dot-inside-bag",
        "RFC 8493 §7.2: dangan's one path rule refuses every '..' (two spellings of one name, and \
         the folder it passes through could be a link); bagit-python normalizes the path and, as \
         it stays inside the bag, accepts it",
    ),
    (
        "v096-tag-manifest-mismatch",
        "a tag file whose digest differs from its tag manifest is damaged whatever the version; \
         bagit-python reads tag manifests only from 0.97 on",
    ),
];

/// Cases bagit-python cannot be run on (it would block), with the reason.
const NOT_RUN_ON_BAGIT_PY: &[(&str, &str)] = &[
    (
        "fifo-in-payload",
        "bagit-python opens the FIFO and blocks forever; dangan refuses it as not a regular file",
    ),
    (
        "fifo-as-bag-info",
        "bagit-python opens bag-info.txt and blocks forever; dangan refuses it as not a regular file",
    ),
];

type Edit = Box<dyn Fn(&Path)>;

/// One bag: a payload, manifests generated from it in the given algorithms, a bag-info, then an
/// edit of the written bag, then tag manifests (so they match the edited tag files), then damage.
struct Case {
    name: &'static str,
    rule: &'static str,
    rfc_valid: bool,
    bagit_txt: Vec<u8>,
    payload: Vec<(String, Vec<u8>)>,
    algorithms: Vec<Algorithm>,
    tag_algorithms: Vec<Algorithm>,
    /// bag-info text; `{OXUM}` becomes the right Payload-Oxum.
    info: Option<(&'static str, String)>,
    /// Encodes every tag file except bagit.txt.
    encode: fn(&str) -> Vec<u8>,
    edit: Option<Edit>,
    damage: Option<Edit>,
    /// Exit codes of `dangan verify` that mean "invalid" for this case (normally just 1).
    invalid_codes: &'static [i32],
    /// Text of a warning dangan must give (a valid bag with something to say).
    warning: Option<&'static str>,
}

fn utf8(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn utf16be(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect()
}

fn utf16_bom_le(s: &str) -> Vec<u8> {
    let mut v = vec![0xFF, 0xFE];
    v.extend(s.encode_utf16().flat_map(|u| u.to_le_bytes()));
    v
}

fn digest(a: Algorithm, bytes: &[u8]) -> String {
    let mut h = MultiHasher::new(&[a]);
    h.update(bytes);
    h.finalize().pop().map(|(_, v)| v).unwrap_or_default()
}

/// A manifest path as RFC 8493 §2.1.3 writes it.
fn enc_path(p: &str) -> String {
    p.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn base(name: &'static str, rule: &'static str, rfc_valid: bool) -> Case {
    Case {
        name,
        rule,
        rfc_valid,
        bagit_txt: b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n".to_vec(),
        payload: vec![
            ("data/hello.txt".into(), b"hello\n".to_vec()),
            (
                "data/sub dir/档案.txt".into(),
                "档案 1\n".as_bytes().to_vec(),
            ),
        ],
        algorithms: vec![Algorithm::Sha256],
        tag_algorithms: vec![Algorithm::Sha256],
        info: Some((
            "bag-info.txt",
            "Source-Organization: 忻州市档案馆\nPayload-Oxum: {OXUM}\n".into(),
        )),
        encode: utf8,
        edit: None,
        damage: None,
        invalid_codes: &[1],
        warning: None,
    }
}

fn with_version(mut c: Case, version: &str, info_file: &'static str) -> Case {
    c.bagit_txt =
        format!("BagIt-Version: {version}\nTag-File-Character-Encoding: UTF-8\n").into_bytes();
    if let Some((_, text)) = c.info.take() {
        c.info = Some((info_file, text));
    }
    c
}

fn edit(c: Case, f: impl Fn(&Path) + 'static) -> Case {
    Case {
        edit: Some(Box::new(f)),
        ..c
    }
}

fn damage(c: Case, f: impl Fn(&Path) + 'static) -> Case {
    Case {
        damage: Some(Box::new(f)),
        ..c
    }
}

fn append(path: &Path, text: &str) {
    let mut b = fs::read(path).unwrap();
    b.extend_from_slice(text.as_bytes());
    fs::write(path, b).unwrap();
}

fn write_bag(c: &Case, dir: &Path) {
    fs::create_dir_all(dir.join("data")).unwrap();
    fs::write(dir.join("bagit.txt"), &c.bagit_txt).unwrap();
    let mut octets = 0;
    for (p, b) in &c.payload {
        let path = dir.join(p);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, b).unwrap();
        octets += b.len();
    }
    for &a in &c.algorithms {
        let mut text = String::new();
        for (p, b) in &c.payload {
            text.push_str(&format!("{}  {}\n", digest(a, b), enc_path(p)));
        }
        fs::write(dir.join(format!("manifest-{a}.txt")), (c.encode)(&text)).unwrap();
    }
    if let Some((file, text)) = &c.info {
        let text = text.replace("{OXUM}", &format!("{octets}.{}", c.payload.len()));
        fs::write(dir.join(file), (c.encode)(&text)).unwrap();
    }
    if let Some(e) = &c.edit {
        e(dir);
    }
    for &a in &c.tag_algorithms {
        let mut text = String::new();
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_type().unwrap().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("tagmanifest-"))
            .collect();
        names.sort();
        for n in names {
            let b = fs::read(dir.join(&n)).unwrap();
            text.push_str(&format!("{}  {}\n", digest(a, &b), enc_path(&n)));
        }
        fs::write(dir.join(format!("tagmanifest-{a}.txt")), (c.encode)(&text)).unwrap();
    }
    if let Some(d) = &c.damage {
        d(dir);
    }
}

fn cases() -> Vec<Case> {
    use Algorithm::*;
    let mut v = vec![base("v1-basic-sha256", "RFC 8493 §3", true)];
    // RFC 8493 §2.4 and bagit-python's hashlib names: every algorithm is checked, not skipped.
    for (name, a) in [
        ("alg-md5", Md5),
        ("alg-sha1", Sha1),
        ("alg-sha224", Sha224),
        ("alg-sha384", Sha384),
        ("alg-sha512", Sha512),
        ("alg-sha3_224", Sha3_224),
        ("alg-sha3_256", Sha3_256),
        ("alg-sha3_384", Sha3_384),
        ("alg-sha3_512", Sha3_512),
        ("alg-blake2b", Blake2b),
        ("alg-blake2s", Blake2s),
    ] {
        let mut c = base(name, "RFC 8493 §2.4", true);
        c.algorithms = vec![a];
        c.tag_algorithms = vec![a];
        v.push(c);
    }
    for (name, a) in [
        ("alg-sha224-mismatch", Sha224),
        ("alg-sha3_256-mismatch", Sha3_256),
        ("alg-sha3_512-mismatch", Sha3_512),
        ("alg-blake2b-mismatch", Blake2b),
        ("alg-blake2s-mismatch", Blake2s),
    ] {
        let mut c = base(name, "RFC 8493 §3", false);
        c.algorithms = vec![a];
        c.tag_algorithms = vec![];
        v.push(damage(c, |d| {
            fs::write(d.join("data/hello.txt"), b"hellO\n").unwrap()
        }));
    }
    let mut two = base("v1-two-manifests", "RFC 8493 §2.1.3", true);
    two.algorithms = vec![Sha256, Sha512];
    v.push(two);
    let mut c = base("file-missing-from-second-manifest", "RFC 8493 §3", false);
    c.algorithms = vec![Sha256, Sha512];
    v.push(edit(c, |d| {
        let p = d.join("manifest-sha512.txt");
        let t = fs::read_to_string(&p).unwrap();
        let kept: String = t.lines().skip(1).map(|l| format!("{l}\n")).collect();
        fs::write(p, kept).unwrap();
    }));

    // Payload damage (RFC 8493 §3 complete and valid).
    v.push(damage(
        base("payload-digest-mismatch", "RFC 8493 §3", false),
        |d| fs::write(d.join("data/hello.txt"), b"hellO\n").unwrap(),
    ));
    v.push(damage(
        base("payload-file-missing", "RFC 8493 §3", false),
        |d| fs::remove_file(d.join("data/hello.txt")).unwrap(),
    ));
    let mut c = base("payload-file-unlisted", "RFC 8493 §3", false);
    c.info = None;
    v.push(damage(c, |d| {
        fs::write(d.join("data/extra.txt"), b"x").unwrap()
    }));
    let mut c = base("v1-empty-payload", "RFC 8493 §2.1.2", true);
    c.payload.clear();
    v.push(c);
    v.push(edit(
        base("no-payload-dir", "RFC 8493 §2.1.2", false),
        |d| {
            fs::remove_dir_all(d.join("data")).unwrap();
            fs::write(d.join("manifest-sha256.txt"), b"").unwrap();
            fs::remove_file(d.join("bag-info.txt")).unwrap();
        },
    ));
    v.push(edit(
        base("no-payload-manifest", "RFC 8493 §2.1.3", false),
        |d| fs::remove_file(d.join("manifest-sha256.txt")).unwrap(),
    ));
    v.push(edit(
        base("unknown-algorithm-manifest-ignored", "RFC 8493 §2.4", true),
        |d| fs::write(d.join("manifest-foo.txt"), b"abc  data/hello.txt\n").unwrap(),
    ));

    // bagit.txt (RFC 8493 §2.1.1).
    let decl = |name, valid, text: &[u8]| {
        let mut c = base(name, "RFC 8493 §2.1.1", valid);
        c.bagit_txt = text.to_vec();
        c
    };
    v.push(decl(
        "bagit-txt-crlf",
        true,
        b"BagIt-Version: 1.0\r\nTag-File-Character-Encoding: UTF-8\r\n",
    ));
    v.push(decl(
        "bagit-txt-bom",
        false,
        b"\xEF\xBB\xBFBagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
    ));
    v.push(decl(
        "bagit-txt-space-before-colon",
        false,
        b"BagIt-Version : 1.0\nTag-File-Character-Encoding : UTF-8\n",
    ));
    v.push(decl(
        "bagit-txt-no-space-after-colon",
        false,
        b"BagIt-Version:1.0\nTag-File-Character-Encoding:UTF-8\n",
    ));
    v.push(decl(
        "bagit-txt-extra-line",
        false,
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\nContact-Name: x\n",
    ));
    v.push(decl(
        "bagit-txt-order-reversed",
        false,
        b"Tag-File-Character-Encoding: UTF-8\nBagIt-Version: 1.0\n",
    ));
    v.push(decl(
        "bagit-txt-no-encoding",
        false,
        b"BagIt-Version: 1.0\n",
    ));
    v.push(decl(
        "bagit-txt-lowercase-label",
        false,
        b"bagit-version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
    ));
    v.push(decl(
        "bagit-txt-version-2",
        false,
        b"BagIt-Version: 2.0\nTag-File-Character-Encoding: UTF-8\n",
    ));
    v.push(decl(
        "bagit-txt-version-0.92",
        false,
        b"BagIt-Version: 0.92\nTag-File-Character-Encoding: UTF-8\n",
    ));
    v.push(decl(
        "bagit-txt-unknown-encoding",
        false,
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: NOPE-8\n",
    ));
    let mut c = base("bagit-txt-missing", "RFC 8493 §2.1.1", false);
    // Without bagit.txt the folder is found as a damaged bag (exit 1) or, by older discovery,
    // as no package at all (exit 2): either way never valid.
    c.invalid_codes = &[1, 2];
    v.push(damage(c, |d| fs::remove_file(d.join("bagit.txt")).unwrap()));

    // Tag-File-Character-Encoding (RFC 8493 §2.1.1): tag files in the declared encoding.
    let mut c = decl(
        "utf16be-tag-files",
        true,
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-16BE\n",
    );
    c.encode = utf16be;
    v.push(c);
    let mut c = decl(
        "utf16-bom-tag-files",
        true,
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-16\n",
    );
    c.encode = utf16_bom_le;
    v.push(c);
    let mut c = decl(
        "utf16be-declared-but-utf8",
        false,
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-16BE\n",
    );
    c.payload = vec![("data/a.txt".into(), b"abc".to_vec())];
    v.push(c);

    // Manifests (RFC 8493 §2.1.3).
    let mut c = base("v1-percent25-in-name", "RFC 8493 §2.1.3", true);
    c.payload.push(("data/100%.txt".into(), b"x".to_vec()));
    v.push(c);
    let mut c = base("newline-in-name-encoded", "RFC 8493 §2.1.3", true);
    c.payload
        .push(("data/two\nlines.txt".into(), b"y".to_vec()));
    v.push(c);
    v.push(edit(
        base("manifest-uppercase-hex", "RFC 8493 §2.1.3", true),
        |d| {
            let p = d.join("manifest-sha256.txt");
            let t = fs::read_to_string(&p).unwrap();
            let up: String = t
                .lines()
                .map(|l| {
                    let (h, rest) = l.split_once(' ').unwrap();
                    format!("{} {rest}\n", h.to_uppercase())
                })
                .collect();
            fs::write(p, up).unwrap();
        },
    ));
    v.push(edit(
        base("manifest-blank-lines", "RFC 8493 §2.1.3", true),
        |d| append(&d.join("manifest-sha256.txt"), "\n\n"),
    ));
    v.push(edit(
        base("manifest-tab-separator", "RFC 8493 §2.1.3", true),
        |d| {
            let p = d.join("manifest-sha256.txt");
            let t = fs::read_to_string(&p).unwrap().replace("  ", "\t");
            fs::write(p, t).unwrap();
        },
    ));
    v.push(edit(
        base("manifest-line-without-path", "RFC 8493 §2.1.3", false),
        |d| {
            append(
                &d.join("manifest-sha256.txt"),
                &format!("{}\n", "0".repeat(64)),
            )
        },
    ));
    v.push(edit(
        base("manifest-path-traversal", "RFC 8493 §7.2", false),
        |d| {
            append(
                &d.join("manifest-sha256.txt"),
                &format!("{}  data/../../etc/passwd\n", "0".repeat(64)),
            )
        },
    ));
    v.push(edit(
        base("manifest-absolute-path", "RFC 8493 §7.2", false),
        |d| {
            append(
                &d.join("manifest-sha256.txt"),
                &format!("{}  /etc/passwd\n", "0".repeat(64)),
            )
        },
    ));
    // No tag manifest here: bagit-python would then see bagit.txt listed twice for sha256.
    let mut c = base("payload-manifest-lists-tag-file", "RFC 8493 §2.1.3", false);
    c.tag_algorithms.clear();
    v.push(edit(c, |d| {
        let b = fs::read(d.join("bagit.txt")).unwrap();
        append(
            &d.join("manifest-sha256.txt"),
            &format!("{}  bagit.txt\n", digest(Algorithm::Sha256, &b)),
        );
    }));
    v.push(edit(
        base("v1-duplicate-entry-same-value", "RFC 8493 §2.1.3", false),
        |d| {
            let p = d.join("manifest-sha256.txt");
            let t = fs::read_to_string(&p).unwrap();
            let first = t.lines().next().unwrap().to_string();
            append(&p, &format!("{first}\n"));
        },
    ));
    let c = with_version(
        base("v097-duplicate-entry-same-value", "BagIt 0.97 §2.1.3", true),
        "0.97",
        "bag-info.txt",
    );
    v.push(edit(c, |d| {
        let p = d.join("manifest-sha256.txt");
        let t = fs::read_to_string(&p).unwrap();
        let first = t.lines().next().unwrap().to_string();
        append(&p, &format!("{first}\n"));
    }));
    let c = with_version(
        base(
            "v097-duplicate-entry-conflicting",
            "BagIt 0.97 §2.1.3",
            false,
        ),
        "0.97",
        "bag-info.txt",
    );
    v.push(edit(c, |d| {
        let p = d.join("manifest-sha256.txt");
        let t = fs::read_to_string(&p).unwrap();
        let first = t.lines().next().unwrap().to_string();
        append(&p, &format!("{}{}\n", "0".repeat(64), &first[64..]));
    }));

    // Tag manifests (RFC 8493 §2.2.1).
    v.push(damage(
        base("tag-manifest-mismatch", "RFC 8493 §2.2.1", false),
        |d| append(&d.join("bag-info.txt"), "Contact-Name: changed later\n"),
    ));
    v.push(damage(
        base("tag-manifest-lists-missing-file", "RFC 8493 §2.2.1", false),
        |d| {
            append(
                &d.join("tagmanifest-sha256.txt"),
                &format!("{}  gone.txt\n", "0".repeat(64)),
            )
        },
    ));
    v.push(edit(
        base("tag-file-in-subfolder", "RFC 8493 §2.2.4", true),
        |d| {
            fs::create_dir_all(d.join("meta")).unwrap();
            fs::write(d.join("meta/notes.txt"), b"n").unwrap();
        },
    ));
    let c = with_version(
        base("v096-tag-manifest-mismatch", "BagIt 0.96 §2.2.1", false),
        "0.96",
        "bag-info.txt",
    );
    v.push(damage(c, |d| {
        append(&d.join("bag-info.txt"), "Contact-Name: changed later\n")
    }));

    // bag-info.txt (RFC 8493 §2.2.2).
    let info = |name, valid, text: &str| {
        let mut c = base(name, "RFC 8493 §2.2.2", valid);
        c.info = Some(("bag-info.txt", text.to_string()));
        c
    };
    v.push(info(
        "bag-info-continuation-lines",
        true,
        "External-Description: a long\n  description over\n\tthree lines\nPayload-Oxum: {OXUM}\n",
    ));
    v.push(info(
        "bag-info-tab-after-colon",
        true,
        "Contact-Name:\tEdna\nPayload-Oxum: {OXUM}\n",
    ));
    v.push(info(
        "bag-info-repeated-labels",
        true,
        "Contact-Name: A\nContact-Name: B\nPayload-Oxum: {OXUM}\n",
    ));
    v.push(info(
        "bag-info-line-without-colon",
        false,
        "Contact-Name A\nPayload-Oxum: {OXUM}\n",
    ));
    v.push(info(
        "payload-oxum-mismatch",
        false,
        "Payload-Oxum: 999.2\n",
    ));
    v.push(info("payload-oxum-malformed", false, "Payload-Oxum: 12\n"));

    // fetch.txt (RFC 8493 §2.2.3).
    let fetch = |name, valid, line: &'static str, remove: bool| {
        let c = base(name, "RFC 8493 §2.2.3", valid);
        let mut c = Case { info: None, ..c };
        c.edit = Some(Box::new(move |d: &Path| {
            fs::write(d.join("fetch.txt"), line).unwrap();
            if remove {
                fs::remove_file(d.join("data/hello.txt")).unwrap();
            }
        }));
        c
    };
    v.push(fetch(
        "fetch-entry-present",
        true,
        "https://example.org/hello.txt 6 data/hello.txt\n",
        false,
    ));
    v.push(fetch(
        "fetch-entry-not-fetched",
        false,
        "https://example.org/hello.txt 6 data/hello.txt\n",
        true,
    ));
    if let Some(c) = v.last_mut() {
        // Incomplete (RFC 8493 §3): the file fetch.txt promises is not there.
        c.rule = "RFC 8493 §3";
    }
    v.push(fetch(
        "fetch-outside-data",
        false,
        "https://example.org/x 1 other.txt\n",
        false,
    ));
    v.push(fetch(
        "fetch-path-traversal",
        false,
        "https://example.org/x 1 data/../../x\n",
        false,
    ));
    if let Some(c) = v.last_mut() {
        c.rule = "RFC 8493 §7.2";
    }
    v.push(fetch(
        "fetch-malformed-line",
        false,
        "https://example.org/x data/hello.txt\n",
        false,
    ));
    v.push(fetch(
        "fetch-bad-url",
        false,
        "example.org/hello.txt 6 data/hello.txt\n",
        false,
    ));
    v.push(fetch(
        "fetch-length-not-a-number",
        false,
        "https://example.org/hello.txt six data/hello.txt\n",
        false,
    ));
    v.push(fetch(
        "fetch-entry-not-in-manifest",
        false,
        "https://example.org/more.txt - data/more.txt\n",
        false,
    ));

    // The drafts still in archives.
    v.push(with_version(
        base("v093-package-info", "BagIt 0.93", true),
        "0.93",
        "package-info.txt",
    ));
    v.push(with_version(
        base("v093-package-info-oxum-mismatch", "RFC 8493 §2.2.2", false),
        "0.93",
        "package-info.txt",
    ));
    if let Some(c) = v.last_mut() {
        c.info = Some(("package-info.txt", "Payload-Oxum: 1.1\n".into()));
    }
    v.push(with_version(
        base("v095-package-info", "BagIt 0.95", true),
        "0.95",
        "package-info.txt",
    ));
    v.push(with_version(
        base("v096-bag-info", "BagIt 0.96", true),
        "0.96",
        "bag-info.txt",
    ));
    let c = with_version(
        base("v097-star-marker", "BagIt 0.97", true),
        "0.97",
        "bag-info.txt",
    );
    v.push(edit(c, |d| {
        let p = d.join("manifest-sha256.txt");
        let t = fs::read_to_string(&p)
            .unwrap()
            .replace("  data/", " *data/");
        fs::write(p, t).unwrap();
    }));
    let mut c = with_version(
        base("v097-utf16be", "BagIt 0.97", true),
        "0.97",
        "bag-info.txt",
    );
    c.bagit_txt = b"BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-16BE\n".to_vec();
    c.encode = utf16be;
    v.push(c);

    // Stop 10's open questions, decided (issue 11).
    // The LoC suite's v0.97/valid/local-fetch: fetch.txt names a file outside data/ by a file: URL.
    // RFC 8493 §2.2.3 forbids that from 1.0 on (fetch.txt lists payload files only); the 0.97 draft
    // does not, so before 1.0 it is a warning and the bag stays valid.
    let local_fetch = "file:///home/example/bags/source/sachiel.png 42000 sachiel.png\n";
    let mut c = with_version(
        base("v097-fetch-outside-data-file-url", "BagIt 0.97", true),
        "0.97",
        "bag-info.txt",
    );
    c.warning = Some("not allowed from BagIt 1.0");
    v.push(edit(c, move |d| {
        fs::write(d.join("fetch.txt"), local_fetch).unwrap()
    }));
    v.push(edit(
        base("v1-fetch-outside-data-file-url", "RFC 8493 §2.2.3", false),
        move |d| fs::write(d.join("fetch.txt"), local_fetch).unwrap(),
    ));
    // A name the manifest writes in NFC and the file system holds in NFD (as macOS writes it), and the
    // reverse: the same file, as bagit-python matches it, with a warning naming both spellings (the LoC
    // suite's v0.97/warning/filename-normalization).
    for (name, listed, on_disk) in [
        (
            "name-nfc-in-manifest-nfd-on-disk",
            "data/caf\u{e9}.txt",
            "data/cafe\u{301}.txt",
        ),
        (
            "name-nfd-in-manifest-nfc-on-disk",
            "data/cafe\u{301}.txt",
            "data/caf\u{e9}.txt",
        ),
    ] {
        let mut c = base(name, "RFC 8493 §2.1.3", true);
        c.payload.push((listed.into(), b"caf\xc3\xa9\n".to_vec()));
        c.warning = Some("only after Unicode normalization");
        v.push(edit(c, move |d| {
            fs::rename(d.join(listed), d.join(on_disk)).unwrap()
        }));
    }
    // `data/sub dir/../hello.txt` stays inside the bag, but dangan's one path rule refuses every `..`
    // (a name with two spellings, and `sub dir` could be a link): RFC 8493 §7.2's dangerous paths.
    v.push(edit(
        base("manifest-dot-dot-inside-bag", "RFC 8493 §7.2", false),
        |d| {
            let p = d.join("manifest-sha256.txt");
            let t = fs::read_to_string(&p)
                .unwrap()
                .replace("  data/hello.txt", "  data/sub dir/../hello.txt");
            fs::write(p, t).unwrap();
        },
    ));

    // No hangs: a FIFO in the payload is refused, not opened.
    v.push(damage(
        base("fifo-in-payload", "RFC 8493 §3", false),
        |d| {
            let p = d.join("data/pipe");
            let ok = StdCommand::new("mkfifo")
                .arg(&p)
                .status()
                .unwrap()
                .success();
            assert!(ok, "mkfifo failed");
        },
    ));
    v.push(damage(
        base("fifo-as-bag-info", "RFC 8493 §2", false),
        |d| {
            fs::remove_file(d.join("bag-info.txt")).unwrap();
            let ok = StdCommand::new("mkfifo")
                .arg(d.join("bag-info.txt"))
                .status()
                .unwrap()
                .success();
            assert!(ok, "mkfifo failed");
        },
    ));
    v
}

fn dangan_verdict(dir: &Path) -> (Option<i32>, String) {
    let bin = assert_cmd::cargo::cargo_bin("dangan");
    let start = Instant::now();
    let out = StdCommand::new("timeout")
        .arg("60")
        .arg(bin)
        .args(["--lang", "en", "verify", "--json"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "dangan verify hung on {dir:?}"
    );
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Whether `dangan verify --json` output cites `rule` in a finding; for the rules a damaged file
/// breaks (§3 complete/valid, §2.2.1 tag manifests) and the drafts' rules, a failure or any
/// error finding will do.
fn names_the_rule(json: &str, rule: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else {
        return false;
    };
    let packages = v["packages"].as_array().cloned().unwrap_or_default();
    let findings: Vec<&serde_json::Value> = packages
        .iter()
        .flat_map(|p| p["findings"].as_array().into_iter().flatten())
        .collect();
    if findings.iter().any(|f| f["rule"] == rule) {
        return true;
    }
    let by_failure = matches!(rule, "RFC 8493 §3" | "RFC 8493 §2.2.1") || !rule.starts_with("RFC");
    by_failure
        && (packages
            .iter()
            .any(|p| p["failures"].as_array().is_some_and(|f| !f.is_empty()))
            || findings.iter().any(|f| f["level"] == "error"))
}

fn bagit_py_valid(bagit_py: &Path, dir: &Path) -> (bool, String) {
    let out = StdCommand::new("timeout")
        .arg("60")
        .arg(bagit_py)
        .arg("--validate")
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bagit_suite_against_bagit_python() {
    let bagit_py = common::require(&common::tool_var("BAGIT_PY"));
    let tmp = tempfile::tempdir().unwrap();
    let differences: BTreeMap<&str, &str> = DIFFERENCES.iter().copied().collect();
    let not_run: BTreeMap<&str, &str> = NOT_RUN_ON_BAGIT_PY.iter().copied().collect();
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut problems = Vec::new();
    let mut agree = 0;
    let mut compared = 0;
    let mut seen = std::collections::BTreeSet::new();
    println!(
        "{:<40} {:<8} {:<8} {:<10} rule",
        "case", "RFC", "dangan", "bagit.py"
    );
    for c in &cases {
        assert!(seen.insert(c.name), "duplicate case {}", c.name);
        let dir = tmp.path().join(c.name);
        write_bag(c, &dir);
        let (code, out) = dangan_verdict(&dir);
        let dangan_valid = code == Some(0);
        // Exit codes other than 0 and the case's invalid ones are a failure of their own.
        if !(dangan_valid || code.is_some_and(|x| c.invalid_codes.contains(&x))) {
            problems.push(format!("{}: dangan exit {code:?}\n{out}", c.name));
        }
        if !dangan_valid && code == Some(1) && !names_the_rule(&out, c.rule) {
            problems.push(format!(
                "{}: invalid, but no finding cites {}\n{out}",
                c.name, c.rule
            ));
        }
        if let Some(w) = c.warning
            && !serde_json::from_str::<serde_json::Value>(&out).is_ok_and(|v| {
                v["packages"][0]["findings"].as_array().is_some_and(|f| {
                    f.iter().any(|f| {
                        f["level"] == "warning"
                            && f["message_en"].as_str().is_some_and(|m| m.contains(w))
                    })
                })
            })
        {
            problems.push(format!("{}: no warning saying '{w}'\n{out}", c.name));
        }
        if dangan_valid != c.rfc_valid {
            problems.push(format!(
                "{}: dangan says {} but RFC 8493 ({}) says {}\n{out}",
                c.name,
                if dangan_valid { "valid" } else { "invalid" },
                c.rule,
                if c.rfc_valid { "valid" } else { "invalid" }
            ));
        }
        let py = if not_run.contains_key(c.name) {
            None
        } else {
            let (ok, err) = bagit_py_valid(&bagit_py, &dir);
            compared += 1;
            if ok == dangan_valid {
                agree += 1;
                if differences.contains_key(c.name) {
                    problems.push(format!(
                        "{}: listed as a difference but bagit-python agrees",
                        c.name
                    ));
                }
            } else if !differences.contains_key(c.name) {
                problems.push(format!(
                    "{}: unlisted difference: dangan {} / bagit-python {}\nbagit-python: {err}\ndangan: {out}",
                    c.name,
                    if dangan_valid { "valid" } else { "invalid" },
                    if ok { "valid" } else { "invalid" },
                ));
            }
            Some(ok)
        };
        let word = |v: bool| if v { "valid" } else { "invalid" };
        println!(
            "{:<40} {:<8} {:<8} {:<10} {}",
            c.name,
            word(c.rfc_valid),
            word(dangan_valid),
            py.map_or("(not run)", word),
            c.rule
        );
    }
    for name in differences.keys() {
        if !seen.contains(name) {
            problems.push(format!("{name}: listed as a difference but no such case"));
        }
    }
    println!(
        "\n{} cases; dangan agrees with bagit-python 1.9.0 on {agree} of {compared} run on both; \
         {} intended differences (dangan follows RFC 8493 there), {} listed",
        cases.len(),
        compared - agree,
        differences.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// `dangan bag` with every algorithm bagit-python knows: bagit-python validates the bag (so the
/// manifest names and digests are the ones hashlib gives), and dangan verifies it.
#[test]
fn dangan_bag_every_algorithm_passes_bagit_python() {
    let bagit_py = common::require(&common::tool_var("BAGIT_PY"));
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("子目录")).unwrap();
    fs::write(src.join("a.txt"), b"abc").unwrap();
    fs::write(src.join("子目录/100%.txt"), b"percent").unwrap();
    let out = tmp.path().join("bag");
    let algs =
        "sha256,sha512,sha384,sha224,sha3_224,sha3_256,sha3_384,sha3_512,blake2b,blake2s,sha1,md5";
    let status = StdCommand::new(assert_cmd::cargo::cargo_bin("dangan"))
        .args(["--lang", "en", "bag", "--algo", algs, "--out"])
        .arg(&out)
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    for a in algs.split(',') {
        assert!(out.join(format!("manifest-{a}.txt")).is_file(), "{a}");
        assert!(out.join(format!("tagmanifest-{a}.txt")).is_file(), "{a}");
    }
    // bagit-python's %25 bug (#157) makes it miss data/子目录/100%.txt: judge it on a copy
    // without that file, and dangan on both.
    assert_eq!(dangan_verdict(&out).0, Some(0));
    fs::remove_file(out.join("data/子目录/100%.txt")).unwrap();
    for m in fs::read_dir(&out).unwrap().flatten() {
        let name = m.file_name().to_string_lossy().into_owned();
        if name.starts_with("manifest-") {
            let t = fs::read_to_string(m.path()).unwrap();
            let kept: String = t
                .lines()
                .filter(|l| !l.contains("100%25"))
                .map(|l| format!("{l}\n"))
                .collect();
            fs::write(m.path(), kept).unwrap();
        }
    }
    // The tag manifests and Payload-Oxum no longer match; drop them for bagit-python.
    for m in fs::read_dir(&out).unwrap().flatten() {
        if m.file_name().to_string_lossy().starts_with("tagmanifest-") {
            fs::remove_file(m.path()).unwrap();
        }
    }
    let info = fs::read_to_string(out.join("bag-info.txt")).unwrap();
    let info: String = info
        .lines()
        .filter(|l| !l.starts_with("Payload-Oxum"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(out.join("bag-info.txt"), info).unwrap();
    let (ok, err) = bagit_py_valid(&bagit_py, &out);
    assert!(ok, "bagit-python: {err}");
    assert_eq!(dangan_verdict(&out).0, Some(0));
    // And one changed byte is caught by every algorithm: bagit-python and dangan agree.
    fs::write(out.join("data/a.txt"), b"abd").unwrap();
    let (ok, err) = bagit_py_valid(&bagit_py, &out);
    assert!(!ok);
    for a in algs.split(',') {
        assert!(err.contains(a), "bagit-python did not check {a}: {err}");
    }
    let (code, text) = dangan_verdict(&out);
    assert_eq!(code, Some(1), "{text}");
}

/// `dangan bag` on a source folder holding a FIFO: refused at once (exit 2, "not a regular
/// file"), never an open that blocks, and no bag is left behind.
#[test]
fn dangan_bag_refuses_a_fifo_in_the_source() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("a.txt"), b"abc").unwrap();
    let ok = StdCommand::new("mkfifo")
        .arg(src.join("pipe"))
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo failed");
    let out = tmp.path().join("bag");
    let start = Instant::now();
    let o = StdCommand::new("timeout")
        .arg("30")
        .arg(assert_cmd::cargo::cargo_bin("dangan"))
        .args(["--lang", "en", "bag", "--out"])
        .arg(&out)
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "dangan bag blocked on a FIFO"
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("not a regular file") && err.contains("FIFO"),
        "{err}"
    );
    assert!(!out.exists());
}
