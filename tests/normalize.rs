//! `dangan normalize` and the `normalize` library module (issue 5, items 2–4), judged by real tools:
//! tiffinfo, exiftool, ImageMagick, qpdf, pdfinfo, ffmpeg/ffprobe, chromium. Inputs are generated at test
//! time in temporary folders.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as Std;

use assert_cmd::Command;
use common::{require, run, tool_var};
use dangan::context::Context;
use dangan::model::{EventType, Outcome};
use dangan::normalize::{self, ItemMeta, Options, Policy, Report, Tools};
use serde_json::Value;

const CREATED: &str = "2024-05-01T08:00:00Z";

fn dangan() -> Command {
    Command::cargo_bin("dangan").expect("binary builds")
}

fn magick() -> String {
    tool_var("IMAGEMAGICK")
}

/// Run ImageMagick `convert` with the arguments; panic with its stderr on failure.
fn im(args: &[&str]) {
    let (ok, _, err) = run(Std::new(magick()).args(args));
    assert!(ok, "convert {args:?}: {err}");
}

fn ffmpeg(args: &[&str]) {
    let (ok, _, err) = run(Std::new(require("ffmpeg"))
        .args(["-nostdin", "-loglevel", "error", "-y"])
        .args(args));
    assert!(ok, "ffmpeg {args:?}: {err}");
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// Run `dangan normalize IN --out OUT --created … --json` (extra args appended); return (exit, report).
fn normalize_cli(input: &Path, out: &Path, extra: &[&str]) -> (i32, Value) {
    let o = dangan()
        .args([
            "normalize",
            p(input),
            "--out",
            p(out),
            "--created",
            CREATED,
            "--json",
        ])
        .args(extra)
        .output()
        .expect("runs");
    let code = o.status.code().unwrap_or(-1);
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "exit {code}, no JSON ({e}): {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (code, v)
}

fn records<'a>(report: &'a Value, action: &str) -> Vec<&'a Value> {
    report["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| r["action"] == action)
        .collect()
}

fn all_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut m = BTreeMap::new();
    for e in walkdir::WalkDir::new(root).sort_by_file_name() {
        let e = e.expect("walk");
        if e.file_type().is_file() {
            let rel = e
                .path()
                .strip_prefix(root)
                .expect("prefix")
                .to_string_lossy()
                .into_owned();
            m.insert(rel, fs::read(e.path()).expect("read"));
        }
    }
    m
}

fn pdfinfo(pdf: &Path, extra: &[&str]) -> String {
    let (ok, out, err) = run(Std::new(require("pdfinfo")).args(extra).arg(pdf));
    assert!(ok, "pdfinfo {}: {err}", pdf.display());
    out
}

/// An ICC profile shipped with Ghostscript (installed by scripts/install-tools.sh).
fn ghostscript_icc(name: &str) -> PathBuf {
    let base = Path::new("/usr/share/ghostscript");
    fs::read_dir(base)
        .unwrap_or_else(|e| panic!("{}: {e}: run scripts/install-tools.sh", base.display()))
        .filter_map(Result::ok)
        .map(|e| e.path().join("iccprofiles").join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no Ghostscript {name}: run scripts/install-tools.sh"))
}

const ITEM: &str = "J001-WS_2019-Y-BGS-0001";
const BITONAL_ITEM: &str = "J001-WS_2019-Y-BGS-0002";

/// A batch of scans: item 0001 with four pages (8-bit colour PNG at 150 dpi, 16-bit PNG at 300 dpi,
/// grey PNG at 300 dpi with an ICC profile, JPEG at 300 dpi), item 0002 with one bitonal page.
fn make_scans(dir: &Path) {
    fs::create_dir_all(dir).expect("mkdir");
    let f = |n: &str| dir.join(n).to_string_lossy().into_owned();
    // A4 at 150 dpi: 1240 × 1754 px = 595.2 × 841.92 pt.
    im(&[
        "-size",
        "1240x1754",
        "plasma:fractal",
        "-depth",
        "8",
        "-density",
        "150",
        "-units",
        "PixelsPerInch",
        &format!("PNG24:{}", f(&format!("{ITEM}-0001.png"))),
    ]);
    im(&[
        "-size",
        "620x877",
        "gradient:red-blue",
        "-depth",
        "16",
        "-density",
        "300",
        "-units",
        "PixelsPerInch",
        &f(&format!("{ITEM}-0002.png")),
    ]);
    let icc = ghostscript_icc("default_gray.icc");
    im(&[
        "-size",
        "600x800",
        "gradient:white-black",
        "-colorspace",
        "Gray",
        "-type",
        "Grayscale",
        "-depth",
        "8",
        "-profile",
        p(&icc),
        "-define",
        "png:color-type=0",
        "-density",
        "300",
        "-units",
        "PixelsPerInch",
        &f(&format!("{ITEM}-0003.png")),
    ]);
    im(&[
        "-size",
        "600x848",
        "plasma:fractal",
        "-quality",
        "90",
        "-density",
        "300",
        "-units",
        "PixelsPerInch",
        &f(&format!("{ITEM}-0004.jpg")),
    ]);
    im(&[
        "-size",
        "850x1100",
        "xc:white",
        "-fill",
        "black",
        "-draw",
        "rectangle 100,100 400,300",
        "-draw",
        "circle 600,700 650,750",
        "-density",
        "200",
        "-units",
        "PixelsPerInch",
        "-monochrome",
        &f(&format!("{BITONAL_ITEM}-0001.png")),
    ]);
}

fn magick_identify(path: &Path, format: &str) -> String {
    let (ok, out, err) = run(Std::new(magick()).args([p(path), "-format", format, "info:"]));
    assert!(ok, "identify {}: {err}", path.display());
    out
}

#[test]
fn scans_get_lossless_tiff_masters_and_one_pdfa_per_item() {
    let t = tempfile::tempdir().expect("tmp");
    let input = t.path().join("in");
    make_scans(&input);
    let out = t.path().join("out");
    // The default keeps the JPEG page (DA/T 31-2017 9.5: an accepted master); the TIFF-master overlay makes
    // a lossless master for it too.
    let (code, report) = normalize_cli(&input, &t.path().join("default"), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(records(&report, "tiff-master").len(), 4);
    let overlay = common::root().join("profiles/policy-tiff-masters.toml");
    let (code, report) = normalize_cli(&input, &out, &["--policy", p(&overlay)]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(records(&report, "tiff-master").len(), 5);

    for page in ["0001.png", "0002.png", "0003.png", "0004.jpg"]
        .iter()
        .map(|s| format!("{ITEM}-{s}"))
        .chain([format!("{BITONAL_ITEM}-0001.png")])
    {
        let src = input.join(&page);
        let stem = page.rsplit_once('.').expect("ext").0;
        let tif = out.join("preservation").join(format!("{stem}.tif"));
        // tiffinfo: reads every directory and strip; libtiff prints problems on stderr.
        let (ok, info, err) = run(Std::new(require("tiffinfo")).args(["-D", p(&tif)]));
        assert!(ok && err.trim().is_empty(), "tiffinfo {page}: {err}");
        assert!(info.contains("Compression Scheme: LZW"), "{info}");
        // exiftool -validate: TIFF 6.0 baseline rules (required tags, values, offsets).
        let (ok, v, err) =
            run(Std::new(require("exiftool")).args(["-validate", "-warning", "-a", p(&tif)]));
        assert!(ok, "exiftool: {err}");
        assert!(
            v.contains("Validate") && v.contains(": OK"),
            "exiftool -validate {page}:\n{v}"
        );
        // Resolution kept (PNG stores whole pixels per metre: 5905 px/m is 149.99 dpi, kept as 150).
        let dpi = |f: &Path| -> (f64, f64) {
            let s = magick_identify(f, "%x %y %U");
            let v: Vec<&str> = s.split_whitespace().collect();
            let k = if v[2] == "PixelsPerCentimeter" {
                2.54
            } else {
                1.0
            };
            (
                v[0].parse::<f64>().expect("x") * k,
                v[1].parse::<f64>().expect("y") * k,
            )
        };
        let (a, b) = (dpi(&src), dpi(&tif));
        assert!(
            (a.0 - b.0).abs() < 0.05 && (a.1 - b.1).abs() < 0.05,
            "{page}: resolution {a:?} vs {b:?}"
        );
        if page.ends_with(".png") {
            // Decoded pixels equal the source's, judged by ImageMagick (exit 0 and 0 differing pixels).
            let (ok, _, ae) = run(Std::new(magick().replace("convert", "compare")).args([
                "-metric",
                "AE",
                p(&src),
                p(&tif),
                "null:",
            ]));
            assert!(ok && ae.trim() == "0", "{page}: {ae} pixels differ");
        } else {
            // A JPEG's pixels are what its decoder makes of it: equal to the decoder dangan uses…
            let a = image::open(&src).expect("decode jpeg").to_rgb8();
            let b = image::open(&tif).expect("decode tiff").to_rgb8();
            assert!(a == b, "{page}: TIFF differs from the decoded JPEG");
            // …and within IDCT rounding (≤ 2 %) of libjpeg's, as ImageMagick decodes it.
            let (_, _, pae) = run(Std::new(magick().replace("convert", "compare")).args([
                "-metric",
                "PAE",
                p(&src),
                p(&tif),
                "null:",
            ]));
            let norm: f64 = pae
                .split(['(', ')'])
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("PAE output {pae}"));
            assert!(
                norm <= 0.02,
                "{page}: peak difference {pae} against libjpeg"
            );
        }
    }
    // The bitonal page stays 1-bit; the grey page keeps its ICC profile; the 16-bit page stays 16-bit.
    let bit = out.join(format!("preservation/{BITONAL_ITEM}-0001.tif"));
    assert_eq!(
        magick_identify(&bit, "%[bit-depth] %[channels]").trim(),
        "1 gray"
    );
    let (_, info, _) = run(Std::new(require("tiffinfo")).arg(bit.as_os_str()));
    assert!(info.contains("Bits/Sample: 1"), "{info}");
    let grey = out.join(format!("preservation/{ITEM}-0003.tif"));
    let (_, icc, _) =
        run(Std::new(require("exiftool")).args(["-ICC_Profile:ColorSpaceData", p(&grey)]));
    assert!(icc.contains("GRAY"), "ICC profile kept: {icc}");
    assert_eq!(magick_identify(&grey, "%[channels]").trim(), "gray");
    let deep = out.join(format!("preservation/{ITEM}-0002.tif"));
    assert_eq!(magick_identify(&deep, "%[bit-depth]").trim(), "16");

    // Access PDFs: qpdf --check, page count, page sizes in page order, XMP with pdfaid part/conformance.
    let pdf = out.join(format!("access/{ITEM}.pdf"));
    let (ok, check, err) = run(Std::new(require("qpdf")).args(["--check", p(&pdf)]));
    assert!(ok, "qpdf --check: {check}{err}");
    assert!(
        check.contains("No syntax or stream encoding errors"),
        "{check}"
    );
    let info = pdfinfo(&pdf, &["-f", "1", "-l", "4"]);
    assert!(info.contains("Pages:           4"), "{info}");
    assert!(!info.contains("Encrypted:       yes"), "{info}");
    assert!(!info.contains("JavaScript:      yes"), "{info}");
    for (n, size) in [
        (1, "595.2 x 841.92 pts (A4)"),
        (2, "148.8 x 210.48 pts"),
        (3, "144 x 192 pts"),
        (4, "144 x 203.52 pts"),
    ] {
        assert!(
            info.contains(&format!("Page    {n} size:  {size}")),
            "page {n}: {info}"
        );
    }
    let meta = pdfinfo(&pdf, &["-meta"]);
    assert!(meta.contains("<pdfaid:part>2</pdfaid:part>"), "{meta}");
    assert!(
        meta.contains("<pdfaid:conformance>B</pdfaid:conformance>"),
        "{meta}"
    );
    // The images: ~150 dpi JPEGs (the 300 dpi pages halved), the bitonal page a 1-bit image.
    let (ok, list, _) = run(Std::new(require("pdfimages")).args(["-list", p(&pdf)]));
    assert!(ok);
    let rows: Vec<Vec<&str>> = list
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 4, "{list}");
    assert!(rows.iter().all(|r| r[8] == "jpeg"), "{list}");
    assert_eq!(
        (rows[1][3], rows[1][4]),
        ("310", "439"),
        "page 2 halved: {list}"
    );
    assert!(
        rows.iter().all(|r| r[12] == "150" && r[13] == "150"),
        "150 dpi: {list}"
    );
    let bit_pdf = out.join(format!("access/{BITONAL_ITEM}.pdf"));
    let (_, list, _) = run(Std::new(require("pdfimages")).args(["-list", p(&bit_pdf)]));
    let row: Vec<&str> = list
        .lines()
        .nth(2)
        .expect("one image")
        .split_whitespace()
        .collect();
    assert_eq!((row[5], row[7], row[8]), ("gray", "1", "image"), "{list}");
    let (ok, check, err) = run(Std::new(require("qpdf")).args(["--check", p(&bit_pdf)]));
    assert!(ok, "qpdf --check: {check}{err}");
    // Ghostscript renders every page.
    let (ok, _, err) = run(Std::new(require("gs")).args([
        "-q",
        "-dSAFER",
        "-dNOPAUSE",
        "-dBATCH",
        "-sDEVICE=nullpage",
        p(&pdf),
    ]));
    assert!(ok && err.trim().is_empty(), "gs: {err}");

    // Provenance: PREMIS-ready records with derivation, agents and parameters.
    let pdf_rec = records(&report, "item-pdf");
    let r = pdf_rec
        .iter()
        .find(|r| r["outputs"][0] == format!("access/{ITEM}.pdf"))
        .expect("pdf record");
    assert_eq!(r["event_type"], "creation");
    assert_eq!(r["sources"].as_array().map(Vec::len), Some(4));
    assert_eq!(r["sources"][0], format!("{ITEM}-0001.png"));
    assert_eq!(r["sources"][3], format!("{ITEM}-0004.jpg"));
    assert_eq!(r["started"], "2024-05-01T08:00:00Z");
    let t = records(&report, "tiff-master")[0];
    assert_eq!(t["event_type"], "normalization");
    assert_eq!(t["parameters"]["compression"], "lzw");
    let agents: Vec<String> = t["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .map(|a| format!("{} {}", a["name"], a["version"]))
        .collect();
    assert!(
        agents
            .iter()
            .any(|a| a.contains("\"tiff (Rust crate)\" \"0.9.1\"")),
        "{agents:?}"
    );
    assert!(
        agents.iter().any(|a| a.contains("\"dangan\"")),
        "{agents:?}"
    );
    // The report is also in the output folder.
    assert!(out.join("normalize.json").is_file());
}

#[test]
fn item_metadata_gives_the_pdf_a_chinese_title() {
    let t = tempfile::tempdir().expect("tmp");
    let input = t.path().join("in");
    fs::create_dir_all(&input).expect("mkdir");
    im(&[
        "-size",
        "200x300",
        "xc:orange",
        "-density",
        "200",
        "-units",
        "PixelsPerInch",
        p(&input.join("A-0001.png")),
    ]);
    let policy = Policy::embedded();
    let tools = Tools::none();
    let mut items = BTreeMap::new();
    items.insert(
        "A".to_string(),
        ItemMeta {
            title: Some("关于精准扶贫档案整理的通知".into()),
            author: Some("忻州市档案馆".into()),
            identifier: Some("J001-WS·2019-Y-BGS-0001".into()),
        },
    );
    let opts = Options {
        policy: &policy,
        tools: &tools,
        items: &items,
        qc: None,
        budget: &dangan::raster::Budget::default(),
        progress: &dangan::no_tick,
        digests: &[],
        sink: None,
    };
    let ctx = Context::fixed(CREATED.parse().expect("time"), "t");
    let out = t.path().join("out");
    let report: Report = normalize::normalize(&input, &out, &opts, &ctx).expect("runs");
    assert!(report.ok);
    let info = pdfinfo(&out.join("access/A.pdf"), &["-enc", "UTF-8"]);
    assert!(
        info.contains("Title:           关于精准扶贫档案整理的通知"),
        "{info}"
    );
    assert!(info.contains("Author:          忻州市档案馆"), "{info}");
    assert!(info.contains("Producer:        dangan "), "{info}");
    let meta = pdfinfo(&out.join("access/A.pdf"), &["-meta"]);
    assert!(
        meta.contains("关于精准扶贫档案整理的通知") && meta.contains("J001-WS·2019-Y-BGS-0001"),
        "{meta}"
    );
    // PREMIS-ready: `cre` with a derivation from the page to the PDF.
    let r = report
        .records
        .iter()
        .find(|r| r.action == "item-pdf")
        .expect("pdf record");
    assert_eq!(r.event_type.code(), "cre");
    // One spelling of event identifiers (issue 12): the bare UUID, as pack writes them.
    assert!(
        uuid::Uuid::parse_str(&r.id).is_ok() && !r.id.contains(':'),
        "{}",
        r.id
    );
    assert_eq!(r.derivations()[0].source, "A-0001.png");
    assert_eq!(r.derivations()[0].output, "access/A.pdf");
    let tif = report
        .records
        .iter()
        .find(|r| r.action == "tiff-master")
        .expect("tiff record");
    assert_eq!(tif.event_type, EventType::Normalization);
    assert_eq!(tif.event_type.code(), "nor");
}

#[test]
fn photos_get_oriented_access_jpeg_and_thumbnail() {
    let t = tempfile::tempdir().expect("tmp");
    let input = t.path().join("in");
    fs::create_dir_all(&input).expect("mkdir");
    // 3000 × 2000 stored, EXIF orientation 6 (rotate 90° clockwise to display): shown 2000 × 3000.
    let photo = input.join("危房改造前.jpg");
    im(&[
        "-size",
        "3000x2000",
        "gradient:green-yellow",
        "-quality",
        "85",
        p(&photo),
    ]);
    let (ok, _, err) = run(Std::new(require("exiftool")).args([
        "-overwrite_original",
        "-Orientation#=6",
        p(&photo),
    ]));
    assert!(ok, "{err}");
    let before = fs::read(&photo).expect("read");
    let out = t.path().join("out");
    let (code, report) = normalize_cli(&input, &out, &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        fs::read(&photo).expect("read"),
        before,
        "the input is never modified"
    );
    let access = out.join("access/危房改造前.jpg");
    let thumb = out.join("access/危房改造前.thumb.jpg");
    assert_eq!(magick_identify(&access, "%w %h").trim(), "1365 2048");
    assert_eq!(magick_identify(&thumb, "%w %h").trim(), "171 256");
    let rec = records(&report, "jpeg");
    assert_eq!(rec.len(), 2);
    assert_eq!(rec[0]["parameters"]["exif_orientation"], "applied");
    // The original is the master: no preservation copy.
    assert!(!out.join("preservation").exists());
}

fn ffprobe(path: &Path, entries: &str) -> Value {
    let (ok, out, err) = run(Std::new(require("ffprobe")).args([
        "-v",
        "error",
        "-show_entries",
        entries,
        "-of",
        "json",
        p(path),
    ]));
    assert!(ok, "ffprobe: {err}");
    serde_json::from_str(&out).expect("ffprobe json")
}

#[test]
fn mp3_becomes_wav_with_same_rate_channels_and_duration() {
    let t = tempfile::tempdir().expect("tmp");
    let input = t.path().join("in");
    fs::create_dir_all(&input).expect("mkdir");
    let mp3 = input.join("访谈.mp3");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=7.3",
        "-ac",
        "2",
        "-ar",
        "44100",
        "-b:a",
        "128k",
        p(&mp3),
    ]);
    // Long enough that the MP3 encoder delay and padding (≈ 50 ms, which dangan trims and ffprobe's
    // container duration counts) stay under 1 %.
    let mono = input.join("mono.mp3");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=300:duration=9",
        "-ac",
        "1",
        "-ar",
        "22050",
        p(&mono),
    ]);
    let out = t.path().join("out");
    let (code, report) = normalize_cli(&input, &out, &[]);
    assert_eq!(code, 0, "{report:#}");
    for (src, wav) in [
        (mp3, out.join("preservation/访谈.wav")),
        (mono, out.join("preservation/mono.wav")),
    ] {
        let a = ffprobe(&src, "format=duration:stream=sample_rate,channels");
        let b = ffprobe(
            &wav,
            "format=duration:stream=sample_rate,channels,codec_name",
        );
        let da: f64 = a["format"]["duration"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("duration");
        let db: f64 = b["format"]["duration"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("duration");
        assert!(
            (da - db).abs() / da < 0.01,
            "{}: {da} s vs {db} s",
            src.display()
        );
        assert_eq!(
            a["streams"][0]["sample_rate"],
            b["streams"][0]["sample_rate"]
        );
        assert_eq!(a["streams"][0]["channels"], b["streams"][0]["channels"]);
        assert_eq!(b["streams"][0]["codec_name"], "pcm_s16le");
    }
    let r = records(&report, "wav");
    assert_eq!(r.len(), 2);
    assert_eq!(r[0]["parameters"]["codec"], "mp3");
    assert!(r[0]["agents"].to_string().contains("symphonia"));
}

/// An mbox of three messages: GBK subject and body; a PDF-ish binary attachment and an inline PNG;
/// a body line quoted as `>From `.
fn make_mbox(dir: &Path) -> (PathBuf, Vec<u8>, Vec<u8>) {
    fs::create_dir_all(dir).expect("mkdir");
    let gbk = |s: &str| encoding_rs::GBK.encode(s).0.into_owned();
    let b64 = |b: &[u8]| {
        // Line-wrapped base64 as a mailer writes it (RFC 2045 §6.8: at most 76 characters per line).
        let t = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in b.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for k in 0..4 {
                s.push(if k <= c.len() {
                    t[((n >> (18 - 6 * k)) & 63) as usize] as char
                } else {
                    '='
                });
            }
        }
        s.as_bytes()
            .chunks(76)
            .map(|l| String::from_utf8_lossy(l).into_owned() + "\n")
            .collect::<String>()
    };
    let subject = "关于扶贫资金的通知";
    let enc_subject = format!("=?GBK?B?{}?=", b64(&gbk(subject)).trim());
    let attachment: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let png_path = dir.join("inline.png");
    im(&["-size", "8x8", "xc:red", p(&png_path)]);
    let png = fs::read(&png_path).expect("png");
    fs::remove_file(&png_path).expect("rm");
    let mut m = Vec::new();
    m.extend_from_slice(b"From zhang@example.cn Mon May  6 09:00:00 2019\n");
    m.extend_from_slice(format!("From: =?GBK?B?{}?= <zhang@example.cn>\nTo: li@example.cn\nSubject: {enc_subject}\nDate: Mon, 6 May 2019 09:00:00 +0800\nMessage-ID: <1@example.cn>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=GBK\nContent-Transfer-Encoding: 8bit\n\n", b64(&gbk("张三")).trim()).as_bytes());
    m.extend_from_slice(&gbk("请各村于五月底前上报扶贫资金使用情况。\n"));
    m.extend_from_slice(b"\n");
    m.extend_from_slice(b"From li@example.cn Tue May  7 10:00:00 2019\n");
    m.extend_from_slice(b"From: li@example.cn\nTo: zhang@example.cn\nSubject: report with attachment\nDate: Tue, 7 May 2019 10:00:00 +0800\nMessage-ID: <2@example.cn>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\nContent-Type: multipart/related; boundary=\"YY\"\n\n--YY\nContent-Type: text/html; charset=utf-8\n\n<html><body><p>See the chart: <img src=\"cid:chart@x\"> and <img src=\"http://tracker.example.com/p.gif\"></p><script>alert(1)</script></body></html>\n--YY\nContent-Type: image/png\nContent-ID: <chart@x>\nContent-Disposition: inline; filename=\"chart.png\"\nContent-Transfer-Encoding: base64\n\n");
    m.extend_from_slice(b64(&png).as_bytes());
    m.extend_from_slice(b"--YY--\n--XX\nContent-Type: application/octet-stream; name=\"data.bin\"\nContent-Disposition: attachment; filename=\"data.bin\"\nContent-Transfer-Encoding: base64\n\n");
    m.extend_from_slice(b64(&attachment).as_bytes());
    m.extend_from_slice(b"--XX--\n\n");
    m.extend_from_slice(b"From wang@example.cn Wed May  8 11:00:00 2019\n");
    m.extend_from_slice(b"From: wang@example.cn\nSubject: quoting\n\nA line that was quoted:\n>From the village office, with thanks.\n\n");
    let mbox = dir.join("扶贫办.mbox");
    fs::write(&mbox, &m).expect("write mbox");
    (mbox, m, attachment)
}

#[test]
fn mbox_splits_byte_exact_with_attachments_and_html() {
    let t = tempfile::tempdir().expect("tmp");
    let input = t.path().join("in");
    let (_, original, attachment) = make_mbox(&input);
    let out = t.path().join("out");
    let (code, report) = normalize_cli(&input, &out, &[]);
    assert_eq!(code, 0, "{report:#}");
    let split = out.join("preservation/扶贫办.mbox.split");
    // The messages, with the envelope lines and separators of index.json, give back the mbox exactly.
    let index: Value =
        serde_json::from_slice(&fs::read(split.join("index.json")).expect("index")).expect("json");
    let mut back = Vec::new();
    for e in index.as_array().expect("array") {
        back.extend_from_slice(e["from_line"].as_str().expect("from").as_bytes());
        back.extend(fs::read(split.join(e["eml"].as_str().expect("eml"))).expect("eml"));
        back.extend_from_slice(e["separator"].as_str().expect("sep").as_bytes());
    }
    assert_eq!(index.as_array().map(Vec::len), Some(3));
    assert!(
        back == original,
        "concatenated messages differ from the mbox"
    );
    // Each EML is a message on its own, starting with its header (no envelope line).
    let first = fs::read(split.join("0001.eml")).expect("eml");
    assert!(
        first.starts_with(b"From: "),
        "{}",
        String::from_utf8_lossy(&first[..40])
    );
    let third = fs::read_to_string(split.join("0003.eml")).expect("eml");
    assert!(
        third.contains("\n>From the village office"),
        "quoting kept as stored"
    );
    // The attachment is byte-identical; it is linked to its message by the record.
    let att = split.join("0002.attachments/02-data.bin");
    assert!(
        fs::read(&att).expect("attachment") == attachment,
        "attachment bytes differ"
    );
    let att_rec = records(&report, "attachment");
    let r = att_rec
        .iter()
        .find(|r| {
            r["outputs"][0]
                .as_str()
                .is_some_and(|o| o.ends_with("02-data.bin"))
        })
        .expect("record");
    assert_eq!(r["sources"][0], "preservation/扶贫办.mbox.split/0002.eml");
    assert_eq!(r["source_root"], "output");
    // The inline PNG went through the policy again (a photo: access JPEG and thumbnail).
    assert!(
        out.join("access/扶贫办.mbox.split/0002.attachments/01-chart.jpg")
            .is_file()
    );

    // HTML: the GBK subject, decoded, as a browser shows it; the inline image as data:, nothing remote.
    let html1 = out.join("access/扶贫办.mbox.split/0001.html");
    let text = fs::read_to_string(&html1).expect("html");
    assert!(
        text.contains("关于扶贫资金的通知")
            && text.contains("请各村于五月底前上报扶贫资金使用情况"),
        "{text}"
    );
    let html2 = fs::read_to_string(out.join("access/扶贫办.mbox.split/0002.html")).expect("html");
    assert!(html2.contains("src=\"data:image/png;base64,"), "{html2}");
    assert!(
        !html2.contains(" src=\"http") && !html2.to_lowercase().contains("<script"),
        "{html2}"
    );
    let profile = t.path().join("chromium");
    let (ok, dom, err) = run(Std::new(require("chromium")).args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        &format!("--user-data-dir={}", p(&profile)),
        "--dump-dom",
        &format!("file://{}", p(&html1)),
    ]));
    assert!(ok, "chromium: {err}");
    assert!(dom.contains("<title>关于扶贫资金的通知</title>"), "{dom}");
    assert!(dom.contains("张三 &lt;zhang@example.cn&gt;"), "{dom}");
}

#[test]
fn missing_ffmpeg_and_soffice_are_recorded_skips_not_errors() {
    let t = tempfile::tempdir().expect("tmp");
    let input = t.path().join("in");
    fs::create_dir_all(&input).expect("mkdir");
    // Odd dimensions: the MP4 must come out even.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=161x121:rate=10:duration=1",
        "-f",
        "lavfi",
        "-i",
        "sine=duration=1",
        "-shortest",
        "-c:v",
        "mpeg4",
        "-c:a",
        "mp2",
        p(&input.join("会议.avi")),
    ]);
    // A .docx (a zip with [Content_Types].xml), for the Office → PDF step.
    let mut z = zip::ZipWriter::new(fs::File::create(input.join("报告.docx")).expect("docx"));
    z.start_file(
        "[Content_Types].xml",
        zip::write::SimpleFileOptions::default(),
    )
    .expect("zip");
    std::io::Write::write_all(&mut z, b"<Types/>").expect("zip");
    // Identification by content needs the main part of a WordprocessingML package (ECMA-376 Part 2).
    z.start_file(
        "word/document.xml",
        zip::write::SimpleFileOptions::default(),
    )
    .expect("zip");
    std::io::Write::write_all(&mut z, b"<w:document/>").expect("zip");
    z.finish().expect("zip");

    // PATH without ffmpeg (and without soffice).
    let empty = t.path().join("bin");
    fs::create_dir_all(&empty).expect("mkdir");
    let out = t.path().join("out-none");
    let o = dangan()
        .env("PATH", &empty)
        .args(["normalize", p(&input), "--out", p(&out), "--json"])
        .output()
        .expect("runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: Value = serde_json::from_slice(&o.stdout).expect("json");
    let mp4 = records(&report, "mp4");
    assert_eq!(mp4.len(), 1);
    assert_eq!(mp4[0]["outcome"], "skipped");
    assert!(
        mp4[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("ffmpeg not found")),
        "{:#}",
        mp4[0]
    );
    let office = records(&report, "office-pdf");
    assert_eq!(office[0]["outcome"], "skipped");
    assert!(
        office[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("soffice"))
    );
    assert!(report["ok"].as_bool().expect("ok"));
    assert!(!out.join("access").exists(), "nothing made");

    // With the tools on PATH (the test script installs LibreOffice): the placeholder .docx is no document
    // LibreOffice can read — a failure that says so, never a bare i/o error.
    let out = t.path().join("out-ffmpeg");
    let (code, report) = normalize_cli(&input, &out, &[]);
    let office = records(&report, "office-pdf");
    assert_eq!(office[0]["outcome"], "failure", "{:#}", office[0]);
    assert!(
        office[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("LibreOffice") && d.contains("wrote no PDF")),
        "{:#}",
        office[0]
    );
    assert_eq!(code, 1, "{report:#}");
    assert!(
        !out.join("access/报告.soffice.d").exists(),
        "LibreOffice's work folder removed"
    );
    // H.264 + AAC, yuv420p, even dimensions; ffmpeg's version is recorded.
    let r = records(&report, "mp4");
    assert_eq!(r[0]["outcome"], "success", "{:#}", r[0]);
    assert!(r[0]["agents"].to_string().contains("ffmpeg"));
    let v = ffprobe(
        &out.join("access/会议.mp4"),
        "stream=codec_name,pix_fmt,width,height",
    );
    let s = v["streams"].as_array().expect("streams");
    assert_eq!(s[0]["codec_name"], "h264");
    assert_eq!(s[0]["pix_fmt"], "yuv420p");
    assert_eq!(
        (s[0]["width"].as_u64(), s[0]["height"].as_u64()),
        (Some(160), Some(120))
    );
    assert_eq!(s[1]["codec_name"], "aac");
}

#[test]
fn same_input_and_created_give_the_same_bytes() {
    let t = tempfile::tempdir().expect("tmp");
    let input = t.path().join("in");
    make_scans(&input);
    make_mbox(&input.join("mail"));
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=duration=1",
        p(&input.join("a.mp3")),
    ]);
    im(&[
        "-size",
        "500x300",
        "plasma:fractal",
        p(&input.join("photo.jpg")),
    ]);
    let before = all_files(&input);
    let a = t.path().join("a");
    let b = t.path().join("b");
    assert_eq!(normalize_cli(&input, &a, &[]).0, 0);
    assert_eq!(normalize_cli(&input, &b, &[]).0, 0);
    let (fa, fb) = (all_files(&a), all_files(&b));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    assert!(fa.len() > 20, "{:?}", fa.keys());
    for (k, v) in &fa {
        assert!(fb[k] == *v, "{k} differs between runs");
    }
    assert!(all_files(&input) == before, "the input is never modified");
    // No temporary folders are left beside the outputs.
    let names: Vec<String> = fs::read_dir(t.path())
        .expect("ls")
        .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains("partial")), "{names:?}");
}

#[test]
fn one_bad_file_is_reported_and_the_run_goes_on() {
    let t = tempfile::tempdir().expect("tmp");
    let input = t.path().join("in");
    fs::create_dir_all(&input).expect("mkdir");
    im(&[
        "-size",
        "100x100",
        "xc:blue",
        "-density",
        "300",
        "-units",
        "PixelsPerInch",
        p(&input.join("B-0001.png")),
    ]);
    let mut broken = fs::read(input.join("B-0001.png")).expect("png");
    broken.truncate(60);
    fs::write(input.join("B-0002.png"), &broken).expect("write");
    im(&["-size", "100x100", "xc:green", p(&input.join("C-0001.png"))]);
    let out = t.path().join("out");
    let (code, report) = normalize_cli(&input, &out, &[]);
    assert_eq!(code, 1, "{report:#}");
    let failed: Vec<&Value> = report["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| r["outcome"] == "failure")
        .collect();
    // The broken page fails, and so does its item's PDF (a PDF missing a page would mislead); the
    // other item is complete. Issue 14 (ocr): so do the item's OFD and its OCR full text.
    assert_eq!(failed.len(), 4, "{failed:#?}");
    assert!(out.join("preservation/B-0001.tif").is_file());
    assert!(!out.join("access/B.pdf").exists());
    assert!(out.join("access/C.pdf").is_file());
    // C-0001.png has no resolution: recorded as a warning, page size from 300 dpi.
    let c = records(&report, "item-pdf")
        .into_iter()
        .find(|r| r["outputs"][0] == "access/C.pdf")
        .expect("C");
    assert_eq!(c["outcome"], "warning");
}

#[test]
fn policy_overrides_and_refusals() {
    let t = tempfile::tempdir().expect("tmp");
    let input = t.path().join("in");
    fs::create_dir_all(&input).expect("mkdir");
    im(&[
        "-size",
        "120x90",
        "xc:blue",
        "-density",
        "300",
        "-units",
        "PixelsPerInch",
        p(&input.join("D-0001.png")),
    ]);
    // An overlay: Deflate masters and a 100 dpi PDF for scan pages.
    let pol = t.path().join("policy.toml");
    fs::write(&pol, "[[rule]]\nid = \"scan-page\"\nmatch = { families = [\"raster\"], role = \"page\" }\npreservation = { action = \"convert\", to = \"tiff\", compression = \"deflate\" }\naccess = [{ kind = \"item-pdf\", dpi = 100 }]\n").expect("write");
    let out = t.path().join("out");
    let (code, report) = normalize_cli(&input, &out, &["--policy", p(&pol)]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        records(&report, "tiff-master")[0]["parameters"]["compression"],
        "deflate"
    );
    let (_, info, _) = run(Std::new(require("tiffinfo")).arg(out.join("preservation/D-0001.tif")));
    assert!(info.contains("AdobeDeflate"), "{info}");
    assert_eq!(report["policy"]["source"], p(&pol));

    // A malformed policy is refused with file, line and reason (exit 2), and nothing is written.
    fs::write(&pol, "[[rule]]\nid = \"x\"\nmatch = { families = [\"raster\"] }\npreservation = { action = \"convert\", to = \"tiff\", bits = 24 }\n").expect("write");
    let out2 = t.path().join("out2");
    let o = dangan()
        .args([
            "normalize",
            p(&input),
            "--out",
            p(&out2),
            "--policy",
            p(&pol),
        ])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("{}:4: ", p(&pol)))
            && err.contains("`bits` applies to to = \"wav\" only"),
        "{err}"
    );
    assert!(!out2.exists());

    // An existing, non-empty output folder is refused; so is an output inside the input.
    let o = dangan()
        .args(["normalize", p(&input), "--out", p(&out)])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not an empty folder"));
    let o = dangan()
        .args(["normalize", p(&input), "--out", p(&input.join("o"))])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(!input.join("o").exists());
}

#[test]
fn records_become_premis_events() {
    let policy = Policy::embedded();
    assert!(policy.rules.iter().any(|r| r.id == "scan-page"));
    let t = tempfile::tempdir().expect("tmp");
    let input = t.path().join("in");
    fs::create_dir_all(&input).expect("mkdir");
    im(&[
        "-size",
        "50x50",
        "xc:red",
        "-density",
        "300",
        "-units",
        "PixelsPerInch",
        p(&input.join("E-0001.png")),
    ]);
    let tools = Tools::none();
    let items = BTreeMap::new();
    let opts = Options {
        policy: &policy,
        tools: &tools,
        items: &items,
        qc: None,
        budget: &dangan::raster::Budget::default(),
        progress: &dangan::no_tick,
        digests: &[],
        sink: None,
    };
    let ctx = Context::fixed(CREATED.parse().expect("time"), "seed");
    let report = normalize::normalize(&input, &t.path().join("out"), &opts, &ctx).expect("runs");
    // Master, PDF and (issue 14) the OFD access copy; without tesseract the OCR is a recorded skip.
    assert_eq!(report.count(Outcome::Success), 3);
    assert_eq!(report.count(Outcome::Skipped), 1);
    for r in &report.records {
        assert_eq!(r.date_time(), "2024-05-01T08:00:00Z");
        assert_eq!(r.objects().next().map(String::as_str), Some("E-0001.png"));
        assert!(
            r.detail_text()
                .is_some_and(|d| d.contains("rule scan-page"))
        );
    }
}

#[test]
fn tiff_pages_are_kept_and_still_in_the_item_pdf() {
    let t = tempfile::tempdir().expect("tmp");
    let input = t.path().join("in");
    fs::create_dir_all(&input).expect("mkdir");
    im(&[
        "-size",
        "300x400",
        "plasma:fractal",
        "-density",
        "300",
        "-units",
        "PixelsPerInch",
        "-compress",
        "LZW",
        p(&input.join("F-0001.tif")),
    ]);
    im(&[
        "-size",
        "300x400",
        "xc:navy",
        "-density",
        "300",
        "-units",
        "PixelsPerInch",
        p(&input.join("F-0002.png")),
    ]);
    let out = t.path().join("out");
    let (code, report) = normalize_cli(&input, &out, &[]);
    assert_eq!(code, 0, "{report:#}");
    // DA/T 31-2017 9.5: a TIFF page is already a master; only the PNG page is converted.
    let masters = records(&report, "tiff-master");
    assert_eq!(masters.len(), 1);
    assert_eq!(masters[0]["sources"][0], "F-0002.png");
    let files = report["files"].as_array().expect("files");
    assert!(
        files
            .iter()
            .any(|f| f["path"] == "F-0001.tif" && f["rule"] == "scan-page-tiff")
    );
    let info = pdfinfo(&out.join("access/F.pdf"), &[]);
    assert!(info.contains("Pages:           2"), "{info}");
}

/// `dangan normalize` runs DA/T 31 QC on page images: a 150 dpi page is reported (the run's exit code
/// speaks of the normalization actions; packing is where QC failures stop the work).
#[test]
fn qc_runs_before_the_policy() {
    let t = tempfile::tempdir().expect("tempdir");
    let input = t.path().join("in");
    fs::create_dir_all(&input).expect("mkdir");
    let convert = common::tool_var("IMAGEMAGICK");
    for (page, dpi) in [(1, "300"), (2, "150")] {
        let out = input.join(format!("J001-WS_2019-Y-BGS-0001-000{page}.tif"));
        let status = std::process::Command::new(&convert)
            .args(["-size", "600x800", "xc:white", "-fill", "black"])
            .args([
                "-draw",
                "rectangle 60,100 540,112",
                "-draw",
                "rectangle 60,140 500,152",
            ])
            // Scanners write no alpha channel; the image crate cannot decode gray+alpha TIFF.
            .args(["-alpha", "off", "-type", "Grayscale"])
            .args([
                "-density",
                dpi,
                "-units",
                "PixelsPerInch",
                "-compress",
                "LZW",
            ])
            .arg(&out)
            .status()
            .expect("convert");
        assert!(status.success());
    }
    let out = t.path().join("out");
    let o = dangan()
        .args(["normalize", p(&input), "--out", p(&out), "--json"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["rule"] == "DA/T 31-2017 9.4"
                && f["path"] == "J001-WS_2019-Y-BGS-0001-0002.tif"),
        "{:#}",
        report["findings"]
    );
    assert!(out.join("access/J001-WS_2019-Y-BGS-0001.pdf").is_file());
}

/// Bytes `strace -y` saw read (read, pread64) from files whose name ends with `name`.
fn bytes_read_from(log: &str, name: &str) -> u64 {
    let tag = format!("{name}>");
    log.lines()
        .filter(|l| (l.contains(" read(") || l.contains(" pread64(")) && l.contains(&tag))
        .filter_map(|l| l.rsplit("= ").next()?.trim().parse::<u64>().ok())
        .sum()
}

/// Standalone `normalize` reads each page once (issue 12 item 5): the decode's read is the only full read
/// (and hashes the page for the identical-image check); identification before it reads the header and tail
/// windows only. Counted by strace on the real binary.
#[test]
fn normalize_reads_each_page_once() {
    let t = tempfile::tempdir().expect("tmp");
    let input = t.path().join("in");
    fs::create_dir_all(&input).expect("mkdir");
    // Noise does not compress: a page of about 4 MB, far above the 64 KiB identification windows.
    im(&[
        "-size",
        "1200x1200",
        "xc:",
        "+noise",
        "Random",
        "-density",
        "300",
        "-units",
        "PixelsPerInch",
        p(&input.join("E-0001.png")),
    ]);
    // Page 2 scanned twice: the batch check still finds it, from the digests of the decodes' reads.
    fs::copy(input.join("E-0001.png"), input.join("E-0002.png")).expect("copy");
    let size = fs::metadata(input.join("E-0001.png")).expect("meta").len();
    assert!(size > 2 << 20, "{size}");
    let log = t.path().join("strace.log");
    let out = t.path().join("out");
    let (ok, stdout, stderr) = run(Std::new(require("strace"))
        .args(["-f", "-y", "-e", "trace=read,pread64", "-o", p(&log)])
        .arg(assert_cmd::cargo::cargo_bin("dangan"))
        .args([
            "normalize",
            p(&input),
            "--out",
            p(&out),
            "--created",
            CREATED,
            "--json",
        ]));
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stderr}"));
    assert!(ok || report["findings"].is_array(), "{stderr}");
    let log = fs::read_to_string(&log).expect("strace log");
    for page in ["E-0001.png", "E-0002.png"] {
        let read = bytes_read_from(&log, page);
        assert!(
            read >= size,
            "{page}: the decode reads it whole ({read} < {size})"
        );
        assert!(
            read <= size + (256 << 10),
            "{page}: read {read} bytes of a {size}-byte page: more than one full read"
        );
    }
    assert!(
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["rule"] == "DA/T 31-2017 10"
                && f["message_en"]
                    .as_str()
                    .is_some_and(|m| m.contains("identical images"))),
        "{:#}",
        report["findings"]
    );
}
