//! Issue 14: searchable access copies, judged by real tools on ground truth made at test time.
//!
//! Pages are rendered by ImageMagick with Noto Sans CJK (Debian `fonts-noto-cjk`) from known Chinese and
//! English text: two clean 300-dpi pages (several sizes), a table, a red seal over text, mild noise and
//! skew, a JPEG-compressed copy and a 200-dpi copy — one item each. `dangan pack` OCRs them (Tesseract,
//! `chi_sim+eng`) and the package is judged by:
//! - `pdftotext`: character error rate against the source text, printed for every variant, ≤ 3 % asserted
//!   on the clean 300-dpi pages; `pdftotext -bbox`: the first word of each line lies on the rendered word
//!   (ink box from ImageMagick) within 2 mm;
//! - `qpdf --check`, `exiftool` (XMP claims PDF/A-2B), `pdffonts` (every font embedded);
//! - PyPI `easyofd` (an independent OFD reader): parses the OFD, extracts its text (which must match the
//!   PDF's) and renders a page; `dangan inspect` reads it back and identifies it as OFD;
//! - commons-ip: the package with both access forms is VALID with 0 errors; xmllint: catalog.xml
//!   (with `fullText` and per-page confidences) against the project's schema.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::prelude::*;
use serde_json::Value;

const FONT: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
const CREATED: &str = "2026-01-02T03:04:05Z";
/// Width of the rendered pages: A4 at 300 dpi. The height is cut short to keep CI time down.
const W300: u32 = 2480;
const H300: u32 = 1300;

/// One text line of a page: position (pixels, baseline), size in points, text.
struct TextLine {
    x: u32,
    y: u32,
    pt: u32,
    text: &'static str,
}

const CLEAN_A: &[TextLine] = &[
    TextLine {
        x: 200,
        y: 220,
        pt: 18,
        text: "关于成立县脱贫攻坚领导小组的通知",
    },
    TextLine {
        x: 200,
        y: 420,
        pt: 14,
        text: "各乡镇人民政府 县直各有关单位",
    },
    TextLine {
        x: 200,
        y: 580,
        pt: 12,
        text: "为切实加强对脱贫攻坚工作的组织领导 经县委研究决定成立领导小组",
    },
    TextLine {
        x: 200,
        y: 740,
        pt: 12,
        text: "Poverty alleviation archive of Xinzhou county",
    },
    TextLine {
        x: 200,
        y: 900,
        pt: 11,
        text: "县扶贫开发办公室 2019年3月1日",
    },
];

const CLEAN_B: &[TextLine] = &[
    TextLine {
        x: 200,
        y: 260,
        pt: 24,
        text: "农村饮水安全工程资金的批复",
    },
    TextLine {
        x: 200,
        y: 480,
        pt: 10,
        text: "根据省财政厅下达的专项资金计划 现将资金分配方案批复如下",
    },
    TextLine {
        x: 200,
        y: 640,
        pt: 10,
        text: "Housing safety appraisal and certificate of the household",
    },
    TextLine {
        x: 200,
        y: 800,
        pt: 14,
        text: "住房安全鉴定书 危房改造前后照片",
    },
];

const TABLE: &[TextLine] = &[
    TextLine {
        x: 240,
        y: 300,
        pt: 12,
        text: "户主姓名",
    },
    TextLine {
        x: 1040,
        y: 300,
        pt: 12,
        text: "家庭人口",
    },
    TextLine {
        x: 1840,
        y: 300,
        pt: 12,
        text: "帮扶措施",
    },
    TextLine {
        x: 240,
        y: 500,
        pt: 12,
        text: "王建国",
    },
    TextLine {
        x: 1040,
        y: 500,
        pt: 12,
        text: "4",
    },
    TextLine {
        x: 1840,
        y: 500,
        pt: 12,
        text: "产业扶贫",
    },
    TextLine {
        x: 240,
        y: 700,
        pt: 12,
        text: "李秀英",
    },
    TextLine {
        x: 1040,
        y: 700,
        pt: 12,
        text: "2",
    },
    TextLine {
        x: 1840,
        y: 700,
        pt: 12,
        text: "危房改造",
    },
];

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    CleanA,
    CleanB,
    Table,
    Seal,
    NoiseSkew,
    Jpeg,
    Dpi200,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::CleanA => "clean 300 dpi (18/14/12/11 pt)",
            Variant::CleanB => "clean 300 dpi (24/14/10 pt)",
            Variant::Table => "table",
            Variant::Seal => "red seal over text",
            Variant::NoiseSkew => "noise + 0.8° skew",
            Variant::Jpeg => "JPEG quality 30",
            Variant::Dpi200 => "200 dpi",
        }
    }
    fn lines(self) -> &'static [TextLine] {
        match self {
            Variant::CleanB => CLEAN_B,
            Variant::Table => TABLE,
            _ => CLEAN_A,
        }
    }
    fn dpi(self) -> u32 {
        if self == Variant::Dpi200 { 200 } else { 300 }
    }
    /// Pages whose CER is asserted (≤ 3 %): the clean 300-dpi pages. CleanB's 14-pt CJK line follows a
    /// Latin line, and Tesseract 5.3 `chi_sim+eng` reads it as Latin ("住房安全鉴定书" → "fRBRE SEB",
    /// confidences 19 and 55; 7.6 % CER); the policy's `recheck_languages = "chi_sim"` reads such lines
    /// again and keeps the CJK reading.
    fn clean(self) -> bool {
        matches!(self, Variant::CleanA | Variant::CleanB)
    }
}

const VARIANTS: [Variant; 7] = [
    Variant::CleanA,
    Variant::CleanB,
    Variant::Table,
    Variant::Seal,
    Variant::NoiseSkew,
    Variant::Jpeg,
    Variant::Dpi200,
];

fn magick() -> PathBuf {
    common::require(&common::tool_var("IMAGEMAGICK"))
}

/// Pixel position at this variant's resolution (the lines are laid out for 300 dpi).
fn at(v: Variant, px: u32) -> u32 {
    px * v.dpi() / 300
}

fn annotate_args(v: Variant) -> Vec<String> {
    let mut a = vec![
        "-font".to_string(),
        FONT.into(),
        "-density".into(),
        v.dpi().to_string(),
        "-fill".into(),
        "black".into(),
    ];
    for l in v.lines() {
        a.extend([
            "-pointsize".into(),
            l.pt.to_string(),
            "-annotate".into(),
            format!("+{}+{}", at(v, l.x), at(v, l.y)),
            l.text.into(),
        ]);
    }
    a
}

/// Render the page of `v` to `out` (a JPEG with its resolution set).
fn render(v: Variant, out: &Path) {
    let (w, h) = (at(v, W300), at(v, H300));
    let mut cmd = Command::new(magick());
    cmd.args(["-size", &format!("{w}x{h}"), "xc:white"]);
    if v == Variant::Table {
        // Ruled cells: three columns, three rows.
        let mut draw = String::new();
        for y in [180, 380, 580, 780] {
            draw.push_str(&format!("line 160,{y} 2400,{y} "));
        }
        for x in [160, 960, 1760, 2400] {
            draw.push_str(&format!("line {x},180 {x},780 "));
        }
        cmd.args(["-stroke", "black", "-strokewidth", "4", "-draw", &draw]);
        cmd.args(["-stroke", "none"]);
    }
    cmd.args(annotate_args(v));
    if v == Variant::Seal {
        // A red seal (ring and text) stamped over the last two lines, as on a 红头文件.
        cmd.args([
            "-fill",
            "none",
            "-stroke",
            "rgb(220,30,30)",
            "-strokewidth",
            "10",
            "-draw",
            "circle 700,780 700,1010",
            "-stroke",
            "none",
            "-fill",
            "rgb(220,30,30)",
            "-pointsize",
            "13",
            "-annotate",
            "+520+800",
            "县扶贫开发办公室",
        ]);
    }
    if v == Variant::NoiseSkew {
        // A fixed seed: the same noise on every run, so the variant's CER is comparable between runs
        // (unseeded, it moved 0 % ↔ 1.71 % with Tesseract's sensitivity to single grey levels).
        cmd.args([
            "-seed",
            "7",
            "-attenuate",
            "0.5",
            "+noise",
            "Gaussian",
            "-background",
            "white",
            "-rotate",
            "0.8",
        ]);
    }
    let quality = if v == Variant::Jpeg { "30" } else { "92" };
    if v != Variant::Seal {
        cmd.args(["-colorspace", "Gray"]);
    }
    cmd.args([
        "-units",
        "PixelsPerInch",
        "-density",
        &v.dpi().to_string(),
        "-quality",
        quality,
    ]);
    cmd.arg(out);
    let (ok, _, err) = common::run(&mut cmd);
    assert!(ok, "ImageMagick: {err}");
}

/// The ink box (pixels: x0, y0, x1, y1) of `text` drawn alone at the position of line `l`.
fn ink_box(v: Variant, l: &TextLine, text: &str) -> (f64, f64, f64, f64) {
    let (w, h) = (at(v, W300), at(v, H300));
    let (ok, out, err) = common::run(
        Command::new(magick())
            .args(["-size", &format!("{w}x{h}"), "xc:white"])
            .args([
                "-font",
                FONT,
                "-density",
                &v.dpi().to_string(),
                "-fill",
                "black",
            ])
            .args(["-pointsize", &l.pt.to_string()])
            .args([
                "-annotate",
                &format!("+{}+{}", at(v, l.x), at(v, l.y)),
                text,
            ])
            .args(["-trim", "-format", "%w %h %X %Y", "info:"]),
    );
    assert!(ok, "ImageMagick: {err}");
    let n: Vec<f64> = out
        .split_whitespace()
        .map(|t| t.trim_start_matches('+').parse().expect("number"))
        .collect();
    (n[2], n[3], n[2] + n[0], n[3] + n[1])
}

/// The source text of a page, in reading order.
fn reference(v: Variant) -> String {
    let mut s: Vec<&str> = v.lines().iter().map(|l| l.text).collect();
    if v == Variant::Seal {
        s.push("县扶贫开发办公室");
    }
    s.join("\n")
}

/// Fold full-width ASCII forms (U+FF01–FF5E) and the ideographic space to ASCII, as a search index does,
/// so that "，" read as "," is not an error of the text layer.
fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            0x3000 => ' ',
            _ => c,
        })
        .collect()
}

fn cer(reference: &str, hypothesis: &str) -> f64 {
    dangan::ocr::cer(&fold(reference), &fold(hypothesis))
}

fn tool(program: &str, args: &[&str], file: &Path) -> String {
    let (ok, out, err) = common::run(Command::new(common::require(program)).args(args).arg(file));
    assert!(ok, "{program} {args:?} {}: {out}{err}", file.display());
    out
}

/// `pdftotext` of a PDF, to stdout.
fn pdftotext(pdf: &Path) -> String {
    let (ok, out, err) = common::run(Command::new(common::require("pdftotext")).arg(pdf).arg("-"));
    assert!(ok, "pdftotext {}: {err}", pdf.display());
    out
}

/// `pdftotext -bbox` words: (text, xMin, yMin, xMax, yMax) in points.
fn bbox_words(pdf: &Path) -> Vec<(String, f64, f64, f64, f64)> {
    let (ok, out, err) = common::run(
        Command::new(common::require("pdftotext"))
            .arg("-bbox")
            .arg(pdf)
            .arg("-"),
    );
    assert!(ok, "pdftotext -bbox: {err}");
    let attr = |line: &str, name: &str| -> f64 {
        let k = format!("{name}=\"");
        let i = line.find(&k).expect("attribute") + k.len();
        line[i..]
            .split('"')
            .next()
            .expect("value")
            .parse()
            .expect("number")
    };
    out.lines()
        .filter(|l| l.trim_start().starts_with("<word "))
        .map(|l| {
            let text = l.split('>').nth(1).and_then(|t| t.split('<').next());
            (
                text.unwrap_or("").to_string(),
                attr(l, "xMin"),
                attr(l, "yMin"),
                attr(l, "xMax"),
                attr(l, "yMax"),
            )
        })
        .collect()
}

const EASYOFD: &str = r#"
import sys, json, warnings, logging
warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)
from loguru import logger
logger.remove()
import io, contextlib
out = {}
with contextlib.redirect_stdout(io.StringIO()):
    from easyofd.ofd import OFD
    for n, path in enumerate(sys.argv[1:]):
        o = OFD()
        o.read(path, fmt="path")
        texts = []
        pages = 0
        for doc in o.data:
            for _, page in sorted(doc.get("page_info", {}).items(), key=lambda kv: int(kv[0])):
                pages += 1
                for t in page.get("text_list", []):
                    texts.append(t.get("text", ""))
        # Rendering is slow (easyofd draws through reportlab and PyMuPDF): the first OFD only.
        rendered = len(o.to_jpg()) if n == 0 else None
        out[path] = {"pages": pages, "text": "".join(texts), "rendered": rendered}
print(json.dumps(out, ensure_ascii=False))
"#;

/// Parse, extract the text of and render every OFD with easyofd (one Python process for all).
fn easyofd(ofds: &[PathBuf]) -> Value {
    let (ok, out, err) = common::run(
        Command::new(common::require("python3"))
            .args(["-c", EASYOFD])
            .args(ofds),
    );
    assert!(
        ok,
        "easyofd could not read the OFDs: {err} (run scripts/install-tools.sh)"
    );
    let last = out.lines().last().unwrap_or("");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("easyofd JSON: {e}: {out}"))
}

fn commons_ip(sip: &Path) -> Value {
    let jar = common::tool_var("COMMONS_IP_JAR");
    let tmp = tempfile::tempdir().expect("tempdir");
    let (ok, stdout, stderr) = common::run(
        Command::new(common::require("java"))
            .current_dir(tmp.path())
            .args(["-jar", &jar, "validate", "-i"])
            .arg(sip)
            .args(["--specification-version", "2.2.0"]),
    );
    assert!(ok, "commons-ip did not run: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("commons-ip JSON: {e}: {stdout}"))
}

fn item(n: usize) -> String {
    format!("J001-WS_2019-Y-BGS-{n:04}")
}

#[test]
fn ocr_double_layer_pdf_and_ofd_on_ground_truth() {
    common::require("tesseract");
    assert!(
        Path::new(FONT).is_file(),
        "{FONT} missing: install fonts-noto-cjk"
    );
    let batch = tempfile::tempdir().expect("tempdir");
    let mut csv = String::from("档号,题名,责任者,日期,页数,保管期限,密级,分类号,备注,文件名\n");
    for (i, v) in VARIANTS.iter().enumerate() {
        let n = i + 1;
        render(*v, &batch.path().join(format!("{}-0001.jpg", item(n))));
        csv.push_str(&format!(
            "J001-WS·2019-Y-BGS-{n:04},扶贫档案 {},县扶贫办,2019-03-01,1,永久,公开,X-1.1.1,,\n",
            v.name()
        ));
    }
    std::fs::write(batch.path().join("目录.csv"), csv).expect("write 目录");
    let out = tempfile::tempdir().expect("tempdir");
    let started = std::time::Instant::now();
    let output = Command::cargo_bin("dangan")
        .expect("binary")
        .args(["pack", "--json", "--created", CREATED, "--id", "ocr-sip"])
        .args(["--submitter", "忻州市某县档案馆", "--submitter-id", "X"])
        .arg(batch.path())
        .arg("--out")
        .arg(out.path())
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "pack: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!(
        "pack with OCR of {} pages: {:.1} s",
        VARIANTS.len(),
        started.elapsed().as_secs_f64()
    );
    let sip = out.path().join("ocr-sip");
    let access = sip.join("representations/access/data");

    // The package with both access forms is still a valid E-ARK SIP.
    let v = commons_ip(&sip);
    assert_eq!(v["summary"]["result"], "VALID", "{:#}", v["summary"]);
    assert_eq!(v["summary"]["errors"], 0);
    let catalog = sip.join("metadata/descriptive/catalog.xml");
    let schema = common::root().join("schemas/dangan-catalog.xsd");
    tool(
        "xmllint",
        &[
            "--nonet",
            "--noout",
            "--schema",
            schema.to_str().expect("utf8"),
        ],
        &catalog,
    );
    let catalog = std::fs::read_to_string(&catalog).expect("catalog");
    let mets = std::fs::read_to_string(sip.join("representations/access/METS.xml")).expect("mets");

    let ofds: Vec<PathBuf> = (1..=VARIANTS.len())
        .map(|n| access.join(format!("{}.ofd", item(n))))
        .collect();
    let read = easyofd(&ofds);
    println!("variant                              CER pdftotext   CER OFD (easyofd)");
    for (i, v) in VARIANTS.iter().enumerate() {
        let name = item(i + 1);
        let pdf = access.join(format!("{name}.pdf"));
        let ofd = access.join(format!("{name}.ofd"));
        let txt = access.join(format!("{name}.txt"));
        // Structure: qpdf, PDF/A-2B claim in XMP, every font embedded.
        let check = tool("qpdf", &["--check"], &pdf);
        assert!(
            check.contains("No syntax or stream encoding errors"),
            "{check}"
        );
        let xmp = tool(
            "exiftool",
            &[
                "-s",
                "-s",
                "-s",
                "-XMP-pdfaid:Part",
                "-XMP-pdfaid:Conformance",
            ],
            &pdf,
        );
        assert_eq!(
            xmp.split_whitespace().collect::<Vec<_>>(),
            ["2", "B"],
            "{name}: XMP"
        );
        let fonts = tool("pdffonts", &[], &pdf);
        let rows: Vec<&str> = fonts.lines().skip(2).collect();
        assert!(
            !rows.is_empty(),
            "{name}: the text layer has no font:\n{fonts}"
        );
        for r in &rows {
            let cols: Vec<&str> = r.split_whitespace().collect();
            let n = cols.len();
            assert!(
                n >= 5 && cols[n - 5] == "yes",
                "{name}: font not embedded: {r}"
            );
            assert_eq!(cols[n - 3], "yes", "{name}: font without ToUnicode: {r}");
        }
        // Text: the PDF's text layer against the source.
        let text = pdftotext(&pdf);
        let reference = reference(*v);
        let c = cer(&reference, &text);
        // The OFD, read by an independent reader: same text as the PDF, a page rendered.
        let o = &read[ofd.to_str().expect("utf8 path")];
        assert_eq!(o["pages"], 1, "{name}: easyofd pages");
        if i == 0 {
            assert!(
                o["rendered"].as_u64().unwrap_or(0) >= 1,
                "{name}: easyofd rendered nothing"
            );
        }
        let ofd_text = o["text"].as_str().unwrap_or("");
        let c_ofd = cer(&reference, ofd_text);
        println!(
            "{:<36} {:>6.2} %       {:>6.2} %",
            v.name(),
            c * 100.0,
            c_ofd * 100.0
        );
        assert!(
            cer(&text, ofd_text) <= 0.01,
            "{name}: OFD text differs from the PDF's:\nPDF: {text}\nOFD: {ofd_text}"
        );
        if v.clean() {
            assert!(
                c <= 0.03,
                "{name} ({}): CER {c:.3} > 3 %:\n{text}",
                v.name()
            );
        }
        // The full text file is UTF-8, has the same text, and is referenced from METS and catalog.xml.
        let full = std::fs::read_to_string(&txt).expect("full text is UTF-8");
        assert!(
            cer(&full, &text) <= 0.01,
            "{name}: full text differs from the PDF's"
        );
        assert!(
            mets.contains(&format!("data/{name}.txt")),
            "{name}.txt not in METS"
        );
        assert!(
            catalog
                .lines()
                .any(|l| l.trim_start().starts_with("<fullText ref=\"FILE-")
                    && l.contains(&format!("path=\"representations/access/data/{name}.txt\""))
                    && l.contains("meanConfidence=\"")),
            "{name}: fullText not in catalog.xml"
        );
        // The OFD reads back through dangan's own OFD handler and is identified as OFD.
        let (ok, js, err) = common::run(
            Command::cargo_bin("dangan")
                .expect("binary")
                .args(["inspect", "--json"])
                .arg(&ofd),
        );
        assert!(ok, "inspect: {err}");
        let js: Value = serde_json::from_str(&js).expect("json");
        assert_eq!(js[0]["mime"], "application/ofd");
        assert_eq!(js[0]["ofd"]["pages"], 1);
        assert_eq!(js[0]["ofd"]["documents"], 1);
        assert!(
            js[0]["ofd"]["title"]
                .as_str()
                .is_some_and(|t| t.contains(v.name())),
            "{name}: OFD title from the 目录 row: {}",
            js[0]["ofd"]
        );
    }
    // CSIP68: METS MIMETYPE must be in the validator's IANA list; `application/ofd` is not registered
    // (commons-ip 2.x: "Value application/ofd … isn't valid", the package INVALID), so METS says
    // application/octet-stream and names the format in sip:FILEFORMATNAME (profiles/mets-mime.toml).
    let ofd_entry = mets
        .split("<file ")
        .find(|e| e.contains(&format!("data/{}.ofd\"", item(1))))
        .expect("the OFD in METS");
    assert!(
        ofd_entry.contains("MIMETYPE=\"application/octet-stream\"")
            && ofd_entry
                .contains("sip:FILEFORMATNAME=\"Open Fixed-layout Document (GB/T 33190-2016)\""),
        "{ofd_entry}"
    );
    // The OCR is a PREMIS event (creation of the full text) with Tesseract and its version as an agent.
    let premis =
        std::fs::read_to_string(sip.join("metadata/preservation/premis.xml")).expect("premis");
    assert!(
        premis.contains("<agentIdentifierValue>Tesseract "),
        "no Tesseract agent"
    );
    assert!(premis.contains("<eventDetail>ocr (rule "), "no OCR event");
    // Mean confidence per page in catalog.xml.
    let pages = catalog.matches("<ocrPage page=\"1\"").count();
    assert_eq!(pages, VARIANTS.len(), "{catalog}");
    assert!(catalog.contains("meanConfidence=\""));

    // Positions: the first word of each line of the clean page and of the 200-dpi copy lies on the
    // rendered word, within 2 mm.
    let mm2 = 2.0 * 72.0 / 25.4;
    for (n, v) in [(1, Variant::CleanA), (7, Variant::Dpi200)] {
        let words = bbox_words(&access.join(format!("{}.pdf", item(n))));
        for l in v.lines() {
            let first: String = l.text.split(' ').next().unwrap_or("").to_string();
            let latin = first.is_ascii();
            // A CJK run is one word for pdftotext (no spaces, no gaps): take the first two characters.
            let probe: String = if latin {
                first.clone()
            } else {
                first.chars().take(2).collect()
            };
            let (x0, y0, x1, y1) = ink_box(v, l, &probe);
            let pt = |px: f64| px / f64::from(v.dpi()) * 72.0;
            // The word is found by where it is (its left edge and its line), not by what the engine read
            // (that is the CER's business): "关于" read as "天于" still lies on "关于".
            let found = words
                .iter()
                .find(|w| {
                    (w.1 - pt(x0)).abs() <= mm2
                        && (w.4 - pt(y1)).abs() <= mm2
                        && cer(
                            &probe,
                            &w.0.chars().take(probe.chars().count()).collect::<String>(),
                        ) <= 0.5
                })
                .unwrap_or_else(|| {
                    panic!(
                        "{}: no word '{probe}' at x = {:.1} pt: {:?}",
                        v.name(),
                        pt(x0),
                        words
                    )
                });
            assert!(
                (found.2 - pt(y0)).abs() <= mm2,
                "{}: '{probe}' top {found:?} vs {}",
                v.name(),
                pt(y0)
            );
            assert!(
                (found.4 - pt(y1)).abs() <= mm2,
                "{}: '{probe}' bottom {found:?} vs {}",
                v.name(),
                pt(y1)
            );
            if latin && found.0 == probe {
                assert!(
                    (found.3 - pt(x1)).abs() <= mm2,
                    "{}: '{probe}' right {found:?} vs {}",
                    v.name(),
                    pt(x1)
                );
            }
        }
    }
}

/// A small page (1200×300 at 300 dpi) with one line of `text`; `wave` distorts it past reading.
fn small_page(text: &str, wave: bool, out: &Path) {
    let mut cmd = Command::new(magick());
    cmd.args([
        "-size", "1200x300", "xc:white", "-font", FONT, "-density", "300",
    ])
    .args([
        "-fill",
        "black",
        "-pointsize",
        "14",
        "-annotate",
        "+60+180",
        text,
    ]);
    if wave {
        cmd.args(["-wave", "12x60"]);
    }
    cmd.args([
        "-colorspace",
        "Gray",
        "-units",
        "PixelsPerInch",
        "-density",
        "300",
    ])
    .args(["-quality", "90"])
    .arg(out);
    let (ok, _, err) = common::run(&mut cmd);
    assert!(ok, "ImageMagick: {err}");
}

/// `--access` on `normalize` and `pack` overrides the policy's access list: `ofd` makes the OFD and leaves
/// the PDF image-only, `pdf` the text layer without an OFD, `none` neither (the full text stays); a bad
/// form is refused with its name.
#[test]
fn access_flag_overrides_the_policy() {
    common::require("tesseract");
    let batch = tempfile::tempdir().expect("tempdir");
    small_page(
        "根据省财政厅下达的专项资金计划",
        false,
        &batch.path().join("J001-WS_2019-Y-BGS-0001-0001.jpg"),
    );
    std::fs::write(
        batch.path().join("目录.csv"),
        "档号,题名,责任者,日期,页数,保管期限,密级,分类号,备注,文件名\nJ001-WS·2019-Y-BGS-0001,资金计划,县扶贫办,2019-03-01,1,永久,公开,X-1.1.1,,\n",
    )
    .expect("write 目录");
    let item = "J001-WS_2019-Y-BGS-0001";
    for (access, pdf_text, ofd) in [
        ("ofd", false, true),
        ("pdf", true, false),
        ("none", false, false),
    ] {
        let out = tempfile::tempdir().expect("tempdir");
        let dir = out.path().join("n");
        let (ok, so, se) = common::run(
            Command::cargo_bin("dangan")
                .expect("binary")
                .args(["normalize", "--access", access, "--created", CREATED])
                .arg(batch.path())
                .arg("--out")
                .arg(&dir),
        );
        assert!(ok, "normalize --access {access}: {so}{se}");
        let acc = dir.join("access");
        let pdf = acc.join(format!("{item}.pdf"));
        assert!(pdf.is_file(), "--access {access}: no item PDF");
        let text = pdftotext(&pdf);
        assert_eq!(
            !text.trim().is_empty(),
            pdf_text,
            "--access {access}: PDF text layer: {text:?}"
        );
        assert_eq!(
            acc.join(format!("{item}.ofd")).is_file(),
            ofd,
            "--access {access}: OFD"
        );
        let full = std::fs::read_to_string(acc.join(format!("{item}.txt"))).expect("full text");
        assert!(
            cer("根据省财政厅下达的专项资金计划", &full) <= 0.1,
            "--access {access}: full text {full:?}"
        );
    }
    let out = tempfile::tempdir().expect("tempdir");
    let (ok, so, se) = common::run(
        Command::cargo_bin("dangan")
            .expect("binary")
            .args(["normalize", "--access", "pdf,html"])
            .arg(batch.path())
            .arg("--out")
            .arg(out.path().join("n")),
    );
    assert!(!ok && format!("{so}{se}").contains("'html'"), "{so}{se}");

    // pack: the OFD only, and the package still validates (commons-ip).
    let out = tempfile::tempdir().expect("tempdir");
    let (ok, so, se) = common::run(
        Command::cargo_bin("dangan")
            .expect("binary")
            .args([
                "pack",
                "--access",
                "ofd",
                "--created",
                CREATED,
                "--id",
                "acc",
            ])
            .arg(batch.path())
            .arg("--out")
            .arg(out.path()),
    );
    assert!(ok, "pack --access ofd: {so}{se}");
    let acc = out.path().join("acc/representations/access/data");
    assert!(acc.join(format!("{item}.ofd")).is_file());
    assert!(
        pdftotext(&acc.join(format!("{item}.pdf")))
            .trim()
            .is_empty()
    );
    let v = commons_ip(&out.path().join("acc"));
    assert_eq!(v["summary"]["result"], "VALID", "{:#}", v["summary"]);
}

/// `dangan qc --ocr`: every page's mean OCR confidence in the QC report; a page under the policy's minimum
/// is flagged for review (a warning), a readable one is information. Without `--ocr`, no OCR finding.
#[test]
fn qc_ocr_reports_confidence_per_page() {
    common::require("tesseract");
    let dir = tempfile::tempdir().expect("tempdir");
    small_page(
        "根据省财政厅下达的专项资金计划",
        false,
        &dir.path().join("a-0001.jpg"),
    );
    small_page(
        "根据省财政厅下达的专项资金计划",
        true,
        &dir.path().join("a-0002.jpg"),
    );
    let qc = |ocr: bool| -> Value {
        let mut cmd = Command::cargo_bin("dangan").expect("binary");
        cmd.args(["qc", "--json"]);
        if ocr {
            cmd.arg("--ocr");
        }
        let (_, so, se) = common::run(cmd.arg(dir.path()));
        serde_json::from_str(&so).unwrap_or_else(|e| panic!("qc JSON: {e}: {so}{se}"))
    };
    let ocr_findings = |v: &Value, page: &str| -> Vec<Value> {
        let pages = v["pages"].as_array().expect("pages");
        let p = pages
            .iter()
            .find(|p| p["path"] == page)
            .unwrap_or_else(|| panic!("{page} not in {v:#}"));
        p["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["rule"] == "dangan ocr")
            .cloned()
            .collect()
    };
    let plain = qc(false);
    assert!(ocr_findings(&plain, "a-0001.jpg").is_empty());
    let v = qc(true);
    let good = ocr_findings(&v, "a-0001.jpg");
    assert_eq!(good.len(), 1, "{good:?}");
    assert_eq!(good[0]["level"], "info", "{good:?}");
    let conf: f64 = good[0]["message_en"]
        .as_str()
        .and_then(|m| m.strip_prefix("mean OCR confidence "))
        .and_then(|m| m.split_whitespace().next())
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("{good:?}"));
    assert!(conf >= 60.0, "{good:?}");
    let bad = ocr_findings(&v, "a-0002.jpg");
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(bad[0]["level"], "warning", "{bad:?}");
    assert!(
        bad[0]["message_en"]
            .as_str()
            .is_some_and(|m| m.contains("below the policy's minimum 60")),
        "{bad:?}"
    );
}
