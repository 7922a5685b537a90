//! Characterization that degrades, never drops (issue 13): each fault is made at test time from a valid file
//! that a real producer wrote (ImageMagick + exiftool, Ghostscript + qpdf, libheif's heif-enc, OpenJPEG's
//! opj_compress, ffmpeg), by one documented byte change. Each test asserts what is still reported, and checks
//! it against exiftool, pdfinfo, qpdf or ffprobe reading the same damaged file.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

use common::{require, root, run, tool_var};

/// `dangan inspect --json FILE`: the one report.
fn inspect(path: &Path) -> Value {
    let out = Command::cargo_bin("dangan")
        .unwrap()
        .args(["inspect", "--json"])
        .arg(path)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    v[0].clone()
}

fn exiftool(path: &Path) -> Value {
    let (ok, out, err) = run(Command::new(require("exiftool"))
        .args(["-n", "-json"])
        .arg(path));
    assert!(ok, "exiftool: {err}");
    serde_json::from_str::<Value>(&out).unwrap()[0].clone()
}

fn warnings(r: &Value) -> Vec<String> {
    r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_owned())
        .collect()
}

fn has_warning(r: &Value, needle: &str) -> bool {
    warnings(r).iter().any(|w| w.contains(needle))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The TIFF structure of an EXIF block or TIFF file: where it starts in the file and its byte order.
#[derive(Clone, Copy)]
struct Tiff {
    start: usize,
    le: bool,
}

impl Tiff {
    fn of_jpeg(b: &[u8]) -> Self {
        let start = find(b, b"Exif\0\0").expect("APP1 Exif") + 6;
        Tiff {
            start,
            le: &b[start..start + 2] == b"II",
        }
    }
    /// The EXIF block of a HEIF `Exif` item: the first TIFF header whose IFD0 follows it directly.
    fn of_heif(b: &[u8]) -> Self {
        let start = (0..b.len() - 8)
            .find(|&i| (&b[i..i + 8] == b"MM\0*\0\0\0\x08") || (&b[i..i + 8] == b"II*\0\x08\0\0\0"))
            .expect("TIFF header of the Exif item");
        Tiff {
            start,
            le: b[start] == b'I',
        }
    }
    fn of_tiff(b: &[u8]) -> Self {
        Tiff {
            start: 0,
            le: &b[0..2] == b"II",
        }
    }
    fn u16(self, b: &[u8], at: usize) -> u16 {
        let s = [b[at], b[at + 1]];
        if self.le {
            u16::from_le_bytes(s)
        } else {
            u16::from_be_bytes(s)
        }
    }
    fn u32(self, b: &[u8], at: usize) -> u32 {
        let s = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if self.le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        }
    }
    fn put16(self, b: &mut [u8], at: usize, v: u16) {
        b[at..at + 2].copy_from_slice(&if self.le {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        });
    }
    fn put32(self, b: &mut [u8], at: usize, v: u32) {
        b[at..at + 4].copy_from_slice(&if self.le {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        });
    }
    /// File offset of the IFD at TIFF offset `ifd`'s entry for `tag`.
    fn entry(self, b: &[u8], ifd: u32, tag: u16) -> Option<usize> {
        let at = self.start + ifd as usize;
        let n = self.u16(b, at) as usize;
        (0..n)
            .map(|i| at + 2 + 12 * i)
            .find(|&e| self.u16(b, e) == tag)
    }
    fn ifd0(self, b: &[u8]) -> u32 {
        self.u32(b, self.start + 4)
    }
}

const EXIF_POINTER: u16 = 0x8769;
const GPS_POINTER: u16 = 0x8825;

/// A camera-like JPEG: ImageMagick pixels, EXIF written by exiftool (IFD0, Exif IFD and GPS IFD).
fn camera_jpeg(dir: &Path) -> Vec<u8> {
    let p = dir.join("camera.jpg");
    let (ok, _, err) = run(Command::new(tool_var("IMAGEMAGICK"))
        .args(["-size", "160x120", "plasma:fractal", "-quality", "85"])
        .arg(&p));
    assert!(ok, "{err}");
    let (ok, _, err) = run(Command::new(require("exiftool"))
        .args([
            "-q",
            "-overwrite_original",
            "-Make=NIKON",
            "-Model=ION230XF",
            "-DateTimeOriginal=2021:03:04 05:06:07",
            "-GPSLatitude=38.4161",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=112.7342",
            "-GPSLongitudeRef=E",
            "-Orientation#=6",
        ])
        .arg(&p));
    assert!(ok, "{err}");
    std::fs::read(&p).unwrap()
}

/// Compare the EXIF fields dangan reports with what exiftool reads from the same file: equal where exiftool
/// has the tag, absent where it has not.
fn exif_agrees(ours: &Value, theirs: &Value, name: &str) {
    exif_agrees_except(ours, theirs, name, &[]);
}

/// [`exif_agrees`], except for `beyond`: fields dangan keeps where exiftool drops them (each listed with its
/// reason by the caller).
fn exif_agrees_except(ours: &Value, theirs: &Value, name: &str, beyond: &[&str]) {
    for (k, tk) in [
        ("make", "Make"),
        ("model", "Model"),
        ("orientation", "Orientation"),
    ] {
        match theirs.get(tk) {
            Some(t) => assert_eq!(&ours["exif"][k], t, "{name} {k}: {:#}", ours),
            None => assert!(ours["exif"][k].is_null(), "{name} {k}: {:#}", ours),
        }
    }
    match theirs.get("DateTimeOriginal").and_then(Value::as_str) {
        Some(d) => {
            let iso = format!("{}-{}-{}T{}", &d[0..4], &d[5..7], &d[8..10], &d[11..19]);
            assert_eq!(ours["exif"]["date_time_original"], iso.as_str(), "{name}");
        }
        None => assert!(ours["exif"]["date_time_original"].is_null(), "{name}"),
    }
    for (k, tk) in [
        ("gps_latitude", "GPSLatitude"),
        ("gps_longitude", "GPSLongitude"),
    ] {
        if beyond.contains(&k) {
            continue;
        }
        match theirs.get(tk).and_then(Value::as_f64) {
            Some(t) => {
                let o = ours["exif"][k].as_f64().unwrap_or(f64::NAN);
                assert!((o - t).abs() < 1e-6, "{name} {k}: dangan {o}, exiftool {t}");
            }
            None => assert!(ours["exif"][k].is_null(), "{name} {k}: {:#}", ours),
        }
    }
}

#[test]
fn one_bad_exif_ifd_loses_that_ifd_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = camera_jpeg(d);
    let t = Tiff::of_jpeg(&good);
    let ifd0 = t.ifd0(&good);
    let gps_entry = t.entry(&good, ifd0, GPS_POINTER).expect("GPS pointer");
    let exif_entry = t.entry(&good, ifd0, EXIF_POINTER).expect("Exif pointer");
    let gps_ifd = t.u32(&good, gps_entry + 8);

    // (file, byte change, fields the change must lose, fields kept that exiftool drops, warning naming
    // the lost part)
    type Change = fn(&mut Vec<u8>, Tiff, usize, usize, u32);
    type Case<'a> = (
        &'a str,
        Change,
        &'a [&'a str],
        &'a [&'a str],
        Option<&'a str>,
    );
    let cases: &[Case] = &[
        ("intact.jpg", |_, _, _, _, _| {}, &[], &[], None),
        (
            // GPSInfo pointer set to 0xFFFF0000: far past the end of the 64 KiB APP1 segment.
            "gps-past-end.jpg",
            |b, t, gps, _, _| t.put32(b, gps + 8, 0xFFFF_0000),
            &["gps_latitude", "gps_longitude"],
            &[],
            Some("GPS IFD"),
        ),
        (
            // ExifOffset's type changed from LONG (4) to ASCII (2): exiftool says "Wrong format".
            "exif-pointer-ascii.jpg",
            |b, t, _, exif, _| t.put16(b, exif + 2, 2),
            &["date_time_original"],
            &[],
            Some("ExifIFDPointer"),
        ),
        (
            // The GPS IFD's entry count set to 0: an empty GPS IFD.
            "gps-empty.jpg",
            |b, t, _, _, gps_ifd| {
                let at = t.start + gps_ifd as usize;
                t.put16(b, at, 0)
            },
            &["gps_latitude", "gps_longitude"],
            &[],
            None,
        ),
        (
            // The GPS IFD declares 200 entries: its table runs past the end of the EXIF block. exiftool
            // drops the whole directory ("Bad GPS directory"); dangan keeps the entries that lie inside
            // the block (all the real ones) and names the loss — an intended difference.
            "gps-count-past-end.jpg",
            |b, t, _, _, gps_ifd| {
                let at = t.start + gps_ifd as usize;
                t.put16(b, at, 200)
            },
            &[],
            &["gps_latitude", "gps_longitude"],
            Some("GPS IFD: 200 entries declared"),
        ),
    ];
    let intact = inspect(&write(d, "reference.jpg", &good));
    for &(name, change, lost, beyond, warning) in cases {
        let mut b = good.clone();
        change(&mut b, t, gps_entry, exif_entry, gps_ifd);
        let p = write(d, name, &b);
        let ours = inspect(&p);
        let theirs = exiftool(&p);
        assert!(ours["error"].is_null(), "{name}: {ours:#}");
        // The image size never depends on the EXIF.
        assert_eq!(ours["jpeg"]["width"], theirs["ImageWidth"], "{name}");
        assert_eq!(ours["jpeg"]["height"], theirs["ImageHeight"], "{name}");
        // What the change must lose, exiftool loses too (so the byte change did what it says) …
        for k in lost {
            assert!(ours["exif"][k].is_null(), "{name} {k}: {ours:#}");
        }
        // … and everything else agrees with exiftool, or (where exiftool drops more) with the intact file.
        exif_agrees_except(&ours, &theirs, name, beyond);
        for k in beyond {
            assert!(
                theirs.get("GPSLatitude").is_none(),
                "{name}: exiftool now keeps {k}"
            );
            assert_eq!(ours["exif"][k], intact["exif"][k], "{name} {k}");
        }
        assert_eq!(ours["exif"]["make"], "NIKON", "{name}");
        match warning {
            Some(w) => assert!(has_warning(&ours, w), "{name}: {:?}", warnings(&ours)),
            None => assert!(warnings(&ours).is_empty(), "{name}: {:?}", warnings(&ours)),
        }
    }
}

#[test]
fn exif_ascii_ends_at_the_first_nul() {
    // EXIF 2.32 §4.6.2: an ASCII value ends at NUL. "ION230XF" with the X overwritten by NUL is "ION230".
    let dir = tempfile::tempdir().unwrap();
    let mut b = camera_jpeg(dir.path());
    let at = find(&b, b"ION230XF").unwrap();
    b[at + 6] = 0;
    let p = write(dir.path(), "nul.jpg", &b);
    let ours = inspect(&p);
    let theirs = exiftool(&p);
    assert_eq!(theirs["Model"], "ION230");
    assert_eq!(ours["exif"]["model"], "ION230", "{ours:#}");
    exif_agrees(&ours, &theirs, "nul.jpg");
}

/// An RGB TIFF from ImageMagick with EXIF (Exif and GPS IFDs) and Orientation written by exiftool.
fn camera_tiff(dir: &Path) -> PathBuf {
    let p = dir.join("scan.tif");
    let (ok, _, err) = run(Command::new(tool_var("IMAGEMAGICK"))
        .args(["-size", "90x70", "gradient:red-blue", "-depth", "8"])
        .arg(&p));
    assert!(ok, "{err}");
    let (ok, _, err) = run(Command::new(require("exiftool"))
        .args([
            "-q",
            "-overwrite_original",
            "-Make=Epson",
            "-Model=DS-50000",
            "-DateTimeOriginal=2020:01:02 03:04:05",
            "-GPSLatitude=33.8568",
            "-GPSLatitudeRef=S",
            "-GPSLongitude=151.2153",
            "-GPSLongitudeRef=E",
            "-Orientation#=8",
        ])
        .arg(&p));
    assert!(ok, "{err}");
    p
}

#[test]
fn tiff_orientation_and_exif_and_a_bad_exif_ifd() {
    let dir = tempfile::tempdir().unwrap();
    let p = camera_tiff(dir.path());
    let ours = inspect(&p);
    let theirs = exiftool(&p);
    assert!(ours["error"].is_null(), "{ours:#}");
    assert_eq!(ours["tiff"]["orientation"], theirs["Orientation"]);
    assert_eq!(ours["tiff"]["orientation"], 8);
    assert_eq!(ours["tiff"]["width"], theirs["ImageWidth"]);
    exif_agrees(&ours, &theirs, "scan.tif");
    assert!(ours["exif"]["gps_latitude"].as_f64().unwrap() < 0.0);

    // ExifIFD pointer (34665) set past the end of the file: the Exif IFD is lost, the TIFF tags and the
    // GPS IFD are not.
    let mut b = std::fs::read(&p).unwrap();
    let t = Tiff::of_tiff(&b);
    let e = t.entry(&b, t.ifd0(&b), EXIF_POINTER).unwrap();
    t.put32(&mut b, e + 8, 0x7FFF_FF00);
    let bad = write(dir.path(), "bad-exif.tif", &b);
    let ours = inspect(&bad);
    let theirs = exiftool(&bad);
    assert!(ours["error"].is_null(), "{ours:#}");
    assert_eq!(ours["tiff"]["width"], theirs["ImageWidth"]);
    assert_eq!(ours["tiff"]["height"], theirs["ImageHeight"]);
    assert_eq!(ours["tiff"]["orientation"], theirs["Orientation"]);
    assert!(ours["exif"]["date_time_original"].is_null());
    exif_agrees(&ours, &theirs, "bad-exif.tif");
    assert!(has_warning(&ours, "Exif IFD"), "{:?}", warnings(&ours));

    // The file cut in the middle of IFD0's entry table (after ImageWidth and ImageLength, which ImageMagick
    // writes first): the entries inside the file are still read, the rest named as lost.
    let b = std::fs::read(&p).unwrap();
    let t = Tiff::of_tiff(&b);
    let ifd0 = t.ifd0(&b) as usize;
    assert_eq!(t.u16(&b, ifd0 + 2), 256);
    assert_eq!(t.u16(&b, ifd0 + 14), 257);
    let cut = write(dir.path(), "cut-ifd0.tif", &b[..ifd0 + 2 + 12 * 4 + 6]);
    let ours = inspect(&cut);
    let intact = exiftool(&p);
    assert!(ours["error"].is_null(), "{ours:#}");
    assert_eq!(ours["tiff"]["width"], intact["ImageWidth"]);
    assert_eq!(ours["tiff"]["height"], intact["ImageHeight"]);
    assert!(
        has_warning(&ours, "entries declared"),
        "{:?}",
        warnings(&ours)
    );

    // The second page's IFD offset past the end: the first page is still reported, one page counted.
    let two = dir.path().join("two.tif");
    let (ok, _, err) = run(Command::new(tool_var("IMAGEMAGICK"))
        .args(["-size", "40x30", "xc:white", "xc:black", "-depth", "8"])
        .arg(&two));
    assert!(ok, "{err}");
    let mut b = std::fs::read(&two).unwrap();
    let t = Tiff::of_tiff(&b);
    let ifd0 = t.ifd0(&b) as usize;
    let link = ifd0 + 2 + 12 * t.u16(&b, ifd0) as usize;
    assert_ne!(t.u32(&b, link), 0, "ImageMagick wrote one page");
    t.put32(&mut b, link, 0x7FFF_FF00);
    let bad = write(dir.path(), "bad-chain.tif", &b);
    let ours = inspect(&bad);
    assert!(ours["error"].is_null(), "{ours:#}");
    assert_eq!(ours["tiff"]["page_count"], 1);
    assert_eq!(ours["tiff"]["width"], exiftool(&bad)["ImageWidth"]);
    assert!(has_warning(&ours, "TIFF IFD 2"), "{:?}", warnings(&ours));
}

#[test]
fn gray_alpha_tiff_orientation() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ga.tif");
    let (ok, _, err) = run(Command::new(tool_var("IMAGEMAGICK"))
        .args([
            "-size",
            "30x20",
            "gradient:",
            "-alpha",
            "set",
            "-type",
            "GrayscaleAlpha",
            "-orient",
            "RightTop",
        ])
        .arg(&p));
    assert!(ok, "{err}");
    let bytes = std::fs::read(&p).unwrap();
    let g = dangan::handler::tiff::decode_gray_alpha_oriented(&bytes, 1 << 26).unwrap();
    // ImageMagick writes 8 or 16 bits for a gradient depending on its quantum; either is gray + alpha.
    assert!(
        matches!(
            g.image.color(),
            image::ColorType::La8 | image::ColorType::La16
        ),
        "{:?}",
        g.image.color()
    );
    let theirs = exiftool(&p);
    assert_eq!(theirs["Orientation"], 6);
    assert_eq!(g.orientation, Some(6));
    assert_eq!(inspect(&p)["tiff"]["orientation"], 6);
}

fn pdfinfo(path: &Path) -> (bool, String) {
    let (ok, out, err) = run(Command::new(require("pdfinfo")).arg(path));
    (ok, format!("{out}{err}"))
}

fn pdfinfo_field(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().to_owned())
}

/// A PDF rewritten by qpdf without object streams (classic xref table), from the committed Ghostscript
/// fixture.
fn classic_pdf(dir: &Path) -> Vec<u8> {
    let p = dir.join("classic.pdf");
    let (ok, _, err) = run(Command::new(require("qpdf"))
        .args(["--object-streams=disable", "--compress-streams=n"])
        .arg(root().join("fixtures/inspect/text.pdf"))
        .arg(&p));
    assert!(ok, "{err}");
    std::fs::read(&p).unwrap()
}

fn last_number_after(b: &[u8], key: &[u8]) -> usize {
    let at = b.windows(key.len()).rposition(|w| w == key).unwrap() + key.len();
    let s: String = b[at..]
        .iter()
        .map(|&c| c as char)
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    s.parse().unwrap()
}

#[test]
fn pdf_incremental_update_counts_pages_of_the_final_revision() {
    // Append an incremental update (ISO 32000-1 §7.5.6) that gives the page tree two more pages: a new
    // Pages object under the same number, two new Page objects, an xref section and a trailer with /Prev.
    let dir = tempfile::tempdir().unwrap();
    let mut b = classic_pdf(dir.path());
    let root_obj = last_number_after(&b, b"/Root");
    let cat = find(&b, format!("\n{root_obj} 0 obj").as_bytes()).unwrap();
    let pages_obj = last_number_after(&b[..cat + 200], b"/Pages");
    let kids = find(&b, b"/Kids").unwrap();
    let first_page = last_number_after(&b[..kids + 20], b"/Kids");
    let size = last_number_after(&b, b"/Size");
    let prev = last_number_after(&b, b"startxref");
    let (p2, p3) = (size, size + 1);
    let mut offsets = Vec::new();
    for (n, text) in [
        (
            p2,
            format!("<< /Type /Page /Parent {pages_obj} 0 R /MediaBox [0 0 595 842] >>"),
        ),
        (
            p3,
            format!("<< /Type /Page /Parent {pages_obj} 0 R /MediaBox [0 0 595 842] >>"),
        ),
        (
            pages_obj,
            format!("<< /Type /Pages /Kids [{first_page} 0 R {p2} 0 R {p3} 0 R] /Count 3 >>"),
        ),
    ] {
        offsets.push((n, b.len() + 1));
        b.extend(format!("\n{n} 0 obj\n{text}\nendobj\n").as_bytes());
    }
    let xref = b.len();
    let mut x = String::from("xref\n");
    for (n, off) in &offsets {
        x.push_str(&format!("{n} 1\n{off:010} 00000 n \n"));
    }
    x.push_str(&format!(
        "trailer\n<< /Size {} /Root {root_obj} 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n",
        size + 2
    ));
    b.extend(x.as_bytes());
    let p = write(dir.path(), "updated.pdf", &b);
    let (ok, info) = pdfinfo(&p);
    assert!(ok, "{info}");
    assert_eq!(
        pdfinfo_field(&info, "Pages").as_deref(),
        Some("3"),
        "{info}"
    );
    let (ok, out, err) = run(Command::new(require("qpdf")).arg("--check").arg(&p));
    assert!(ok, "qpdf --check: {out}{err}");
    let ours = inspect(&p);
    assert!(ours["error"].is_null(), "{ours:#}");
    assert_eq!(ours["pdf"]["pages"], 3, "{ours:#}");
    assert_eq!(ours["pdf"]["xref_reconstructed"], false);
}

#[test]
fn pdf_hybrid_incremental_update_counts_pages_of_the_final_revision() {
    // A hybrid-reference update (ISO 32000-1 §7.5.8.4), as Word writes and Acrobat appends: the new Pages
    // object (three kids) sits in an object stream that only the update's cross-reference *stream*
    // (/XRefStm) lists; the update's classic table lists the two new pages, the object stream and the
    // xref stream. A reader that consults the previous table before /XRefStm sees the old one-page tree.
    let dir = tempfile::tempdir().unwrap();
    let mut b = classic_pdf(dir.path());
    let root_obj = last_number_after(&b, b"/Root");
    let cat = find(&b, format!("\n{root_obj} 0 obj").as_bytes()).unwrap();
    let pages_obj = last_number_after(&b[..cat + 200], b"/Pages");
    let kids = find(&b, b"/Kids").unwrap();
    let first_page = last_number_after(&b[..kids + 20], b"/Kids");
    let size = last_number_after(&b, b"/Size");
    let prev = last_number_after(&b, b"startxref");
    let (p2, p3, objstm, xrefstm) = (size, size + 1, size + 2, size + 3);
    let mut table = Vec::new();
    let mut obj = |b: &mut Vec<u8>, n: usize, text: &[u8]| {
        table.push((n, b.len() + 1));
        b.extend(format!("\n{n} 0 obj\n").as_bytes());
        b.extend(text);
        b.extend(b"\nendobj\n");
    };
    for n in [p2, p3] {
        let page = format!("<< /Type /Page /Parent {pages_obj} 0 R /MediaBox [0 0 595 842] >>");
        obj(&mut b, n, page.as_bytes());
    }
    let pages = format!("<< /Type /Pages /Kids [{first_page} 0 R {p2} 0 R {p3} 0 R] /Count 3 >>");
    let head = format!("{pages_obj} 0 ");
    let body = format!("{head}{pages}");
    let stm = format!(
        "<< /Type /ObjStm /N 1 /First {} /Length {} >>\nstream\n{body}\nendstream",
        head.len(),
        body.len()
    );
    obj(&mut b, objstm, stm.as_bytes());
    // /W [1 4 2]: type 2 (compressed), object stream number, index 0.
    let mut row = vec![2u8];
    row.extend((objstm as u32).to_be_bytes());
    row.extend(0u16.to_be_bytes());
    let mut x = format!(
        "<< /Type /XRef /W [1 4 2] /Index [{pages_obj} 1] /Size {} /Length {} >>\nstream\n",
        size + 4,
        row.len()
    )
    .into_bytes();
    x.extend(&row);
    x.extend(b"\nendstream");
    obj(&mut b, xrefstm, &x);
    let xrefstm_at = table.last().unwrap().1;
    let xref = b.len();
    let mut t = String::from("xref\n");
    for (n, off) in &table {
        t.push_str(&format!("{n} 1\n{off:010} 00000 n \n"));
    }
    t.push_str(&format!(
        "trailer\n<< /Size {} /Root {root_obj} 0 R /Prev {prev} /XRefStm {xrefstm_at} >>\nstartxref\n{xref}\n%%EOF\n",
        size + 4
    ));
    b.extend(t.as_bytes());
    let p = write(dir.path(), "hybrid.pdf", &b);
    let (ok, info) = pdfinfo(&p);
    assert!(ok, "{info}");
    assert_eq!(
        pdfinfo_field(&info, "Pages").as_deref(),
        Some("3"),
        "{info}"
    );
    let (ok, out, _) = run(Command::new(require("qpdf")).arg("--show-npages").arg(&p));
    assert!(ok);
    assert_eq!(out.trim(), "3");
    let ours = inspect(&p);
    assert!(ours["error"].is_null(), "{ours:#}");
    assert_eq!(ours["pdf"]["pages"], 3, "{ours:#}");
    assert_eq!(
        ours["pdf"]["producer"].as_str(),
        pdfinfo_field(&info, "Producer").as_deref()
    );
}

#[test]
fn pdf_broken_xref_is_rebuilt_by_scanning() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read(root().join("fixtures/inspect/text.pdf")).unwrap();
    let classic = classic_pdf(dir.path());
    let mut cases = Vec::new();
    // 1. 64 spaces inserted after the header line: every xref offset is now wrong (a file that passed
    //    through a tool that rewrote its start).
    for (name, src) in [
        ("shifted.pdf", &original),
        ("shifted-classic.pdf", &classic),
    ] {
        let eol = find(src, b"\n").unwrap() + 1;
        let mut b = src[..eol].to_vec();
        b.extend([b' '; 64]);
        b.extend(&src[eol..]);
        cases.push((name, b));
    }
    // 2. startxref pointing at offset 9 (inside the header comment).
    let mut b = classic.clone();
    let at = b.windows(9).rposition(|w| w == b"startxref").unwrap() + 10;
    let end = at + b[at..].iter().position(|c| !c.is_ascii_digit()).unwrap();
    b.splice(at..end, *b"9");
    cases.push(("bad-startxref.pdf", b));
    // 3. The `xref` keyword overwritten by four spaces: the table no longer parses, the trailer stays.
    let mut b = classic.clone();
    let xref = b.windows(5).rposition(|w| w == b"\nxref").unwrap();
    b[xref + 1..xref + 5].copy_from_slice(b"    ");
    cases.push(("xref-keyword-gone.pdf", b));
    for (name, b) in cases {
        let p = write(dir.path(), name, &b);
        let (ok, info) = pdfinfo(&p);
        assert!(ok, "{name}: poppler reads it: {info}");
        let ours = inspect(&p);
        assert!(ours["error"].is_null(), "{name}: {ours:#}");
        assert_eq!(
            ours["pdf"]["pages"].to_string(),
            pdfinfo_field(&info, "Pages").unwrap(),
            "{name}"
        );
        assert_eq!(
            ours["pdf"]["producer"].as_str(),
            pdfinfo_field(&info, "Producer").as_deref(),
            "{name}"
        );
        assert_eq!(ours["pdf"]["xref_reconstructed"], true, "{name}");
        assert!(
            has_warning(&ours, "rebuilt"),
            "{name}: {:?}",
            warnings(&ours)
        );
    }
}

#[test]
fn pdf_encrypted_with_an_empty_user_password() {
    let dir = tempfile::tempdir().unwrap();
    let src = root().join("fixtures/inspect/text.pdf");
    let weak = ["--allow-weak-crypto"];
    let os = ["--object-streams=generate"];
    // (file, qpdf options before --encrypt, user password, key length and options, opened as)
    type Case<'a> = (
        &'a str,
        &'a [&'a str],
        &'a str,
        &'a [&'a str],
        Option<&'a str>,
    );
    let cases: &[Case] = &[
        ("rc4-40.pdf", &weak, "", &["40"], Some("RC4")),
        (
            "rc4-128.pdf",
            &weak,
            "",
            &["128", "--use-aes=n"],
            Some("RC4"),
        ),
        (
            "aes-128.pdf",
            &[],
            "",
            &["128", "--use-aes=y"],
            Some("AES-128"),
        ),
        ("aes-256.pdf", &[], "", &["256"], Some("AES-256")),
        // The catalog and the info dictionary inside an encrypted object stream.
        ("aes-256-objstm.pdf", &os, "", &["256"], Some("AES-256")),
        // A real user password: not opened, and no ciphertext shown as a producer or author.
        ("aes-256-user.pdf", &[], "secret", &["256"], None),
    ];
    for &(name, before, user, key, opened) in cases {
        let p = dir.path().join(name);
        let (ok, _, err) = run(Command::new(require("qpdf"))
            .args(before)
            .args(["--encrypt", user, "owner"])
            .args(key)
            .arg("--")
            .arg(&src)
            .arg(&p));
        assert!(ok, "{name}: {err}");
        let (ok, info) = pdfinfo(&p);
        let ours = inspect(&p);
        assert!(ours["error"].is_null(), "{name}: {ours:#}");
        assert_eq!(ours["pdf"]["encrypted"], true);
        assert_eq!(
            ours["pdf"]["decrypted"],
            opened.is_some(),
            "{name}: {ours:#}"
        );
        match opened {
            Some(algorithm) => {
                assert!(ok, "{info}");
                assert!(
                    pdfinfo_field(&info, "Encrypted")
                        .unwrap()
                        .starts_with("yes")
                );
                assert_eq!(ours["pdf"]["encryption"], algorithm, "{name}");
                assert_eq!(
                    ours["pdf"]["pages"].to_string(),
                    pdfinfo_field(&info, "Pages").unwrap()
                );
                assert_eq!(
                    ours["pdf"]["producer"].as_str(),
                    pdfinfo_field(&info, "Producer").as_deref(),
                    "{name}"
                );
                assert_eq!(
                    ours["pdf"]["creation_date"], "2024-01-01T00:00:00Z",
                    "{name}"
                );
                assert_eq!(ours["pdf"]["has_text"], true, "{name}");
                assert!(warnings(&ours).is_empty(), "{name}: {:?}", warnings(&ours));
            }
            None => {
                // pdfinfo refuses it too without the password.
                assert!(!ok, "{info}");
                for k in ["title", "author", "producer", "creator", "creation_date"] {
                    assert!(ours["pdf"][k].is_null(), "{name} {k}: {ours:#}");
                }
                assert!(
                    has_warning(&ours, "empty user password"),
                    "{:?}",
                    warnings(&ours)
                );
            }
        }
    }
}

#[test]
fn heic_and_avif_dimensions_and_exif() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let jpg = d.join("src.jpg");
    std::fs::write(&jpg, camera_jpeg(d)).unwrap();
    let mut made = Vec::new();
    for (name, extra) in [("photo.heic", &[][..]), ("photo.avif", &["-A"][..])] {
        let out = d.join(name);
        let (ok, _, err) = run(Command::new(require("heif-enc"))
            .args(extra)
            .args(["-q", "40"])
            .arg(&jpg)
            .arg("-o")
            .arg(&out));
        assert!(ok, "heif-enc {name}: {err}");
        made.push(out);
    }
    for p in &made {
        let name = p.file_name().unwrap().to_string_lossy();
        let ours = inspect(p);
        let theirs = exiftool(p);
        assert!(ours["error"].is_null(), "{name}: {ours:#}");
        assert_eq!(ours["image"]["width"], theirs["ImageWidth"], "{name}");
        assert_eq!(ours["image"]["height"], theirs["ImageHeight"], "{name}");
        assert_eq!(ours["heif"]["has_exif"], true, "{name}");
        exif_agrees(&ours, &theirs, &name);
        assert_eq!(ours["exif"]["model"], "ION230XF", "{name}");
        assert!(ours["exif"]["gps_latitude"].is_f64(), "{name}");
        // No characterization warning (identification may still warn about the extension while the
        // registry files HEIF under MPEG-4).
        let lost: Vec<String> = warnings(&ours)
            .into_iter()
            .filter(|w| w.contains("EXIF") || w.contains("HEIF"))
            .collect();
        assert!(lost.is_empty(), "{name}: {lost:?}");
    }
    assert_eq!(inspect(&made[0])["image"]["compression"], "hevc");
    assert_eq!(inspect(&made[1])["image"]["compression"], "av1");

    // The Exif item's GPS pointer past its end: GPS lost, the rest still reported (the HEIF walk shares
    // the EXIF walker with JPEG).
    let mut b = std::fs::read(&made[0]).unwrap();
    let t = Tiff::of_heif(&b);
    let gps = t.entry(&b, t.ifd0(&b), GPS_POINTER).unwrap();
    t.put32(&mut b, gps + 8, 0xFFFF_0000);
    let p = write(d, "bad-gps.heic", &b);
    let ours = inspect(&p);
    let theirs = exiftool(&p);
    assert!(ours["error"].is_null(), "{ours:#}");
    assert_eq!(ours["image"]["width"], theirs["ImageWidth"]);
    assert!(ours["exif"]["gps_latitude"].is_null());
    exif_agrees(&ours, &theirs, "bad-gps.heic");
    assert!(has_warning(&ours, "GPS IFD"), "{:?}", warnings(&ours));
}

fn ffprobe_video(path: &Path) -> Value {
    let (ok, out, err) = run(Command::new(require("ffprobe"))
        .args(["-v", "error", "-print_format", "json", "-show_streams"])
        .arg(path));
    assert!(ok, "ffprobe: {err}");
    serde_json::from_str::<Value>(&out).unwrap()["streams"][0].clone()
}

#[test]
fn jpeg2000_family_reads_without_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // JP2 by OpenJPEG.
    let png = d.join("page.png");
    let (ok, _, err) = run(Command::new(tool_var("IMAGEMAGICK"))
        .args(["-size", "77x55", "gradient:white-black"])
        .arg(&png));
    assert!(ok, "{err}");
    let jp2 = d.join("page.jp2");
    let (ok, _, err) = run(Command::new(require("opj_compress"))
        .arg("-i")
        .arg(&png)
        .arg("-o")
        .arg(&jp2));
    assert!(ok, "opj_compress: {err}");
    let ours = inspect(&jp2);
    let theirs = exiftool(&jp2);
    assert!(ours["error"].is_null(), "{ours:#}");
    assert_eq!(ours["image"]["width"], theirs["ImageWidth"]);
    assert_eq!(ours["image"]["height"], theirs["ImageHeight"]);

    // JPM (ISO/IEC 15444-6) read like JP2: the same file with its ftyp brand and compatibility list
    // changed to 'jpm ' — no JPM writer is packaged; the boxes after ftyp are unchanged.
    let mut b = std::fs::read(&jp2).unwrap();
    let ftyp = find(&b, b"ftyp").unwrap();
    b[ftyp + 4..ftyp + 8].copy_from_slice(b"jpm ");
    let compat = ftyp + 12;
    b[compat..compat + 4].copy_from_slice(b"jpm ");
    let jpm = write(d, "page.jpm", &b);
    let ours = inspect(&jpm);
    assert!(ours["error"].is_null(), "{ours:#}");
    assert_eq!(ours["image"]["width"], 77);
    assert_eq!(ours["image"]["height"], 55);

    // Motion JPEG 2000: ffmpeg writes JPEG 2000 frames (OpenJPEG) in an ISO BMFF movie with the `mjp2`
    // brand; the 12-byte JPEG 2000 signature box that ISO/IEC 15444-3 puts first is prepended, and the
    // chunk offsets (`stco`) moved by 12 to match.
    let mov = d.join("clip.mov");
    let (ok, _, err) = run(Command::new(require("ffmpeg"))
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=96x64:rate=5",
            "-frames:v",
            "3",
            "-c:v",
            "libopenjpeg",
            "-tag:v",
            "mjp2",
            "-f",
            "mov",
            "-brand",
            "mjp2",
        ])
        .arg(&mov));
    assert!(ok, "ffmpeg: {err}");
    let movie = std::fs::read(&mov).unwrap();
    let mut b = b"\x00\x00\x00\x0CjP  \x0D\x0A\x87\x0A".to_vec();
    b.extend(&movie);
    let stco = find(&b, b"stco").unwrap();
    let n = u32::from_be_bytes(b[stco + 8..stco + 12].try_into().unwrap()) as usize;
    for i in 0..n {
        let at = stco + 12 + 4 * i;
        let v = u32::from_be_bytes(b[at..at + 4].try_into().unwrap()) + 12;
        b[at..at + 4].copy_from_slice(&v.to_be_bytes());
    }
    let mj2 = write(d, "clip.mj2", &b);
    let probe = ffprobe_video(&mj2);
    let ours = inspect(&mj2);
    assert!(ours["error"].is_null(), "{ours:#}");
    assert_eq!(ours["video"]["container"], "mj2");
    assert_eq!(ours["video"]["video_codec"], probe["codec_name"]);
    assert_eq!(ours["video"]["width"], probe["width"]);
    assert_eq!(ours["video"]["height"], probe["height"]);
}

/// Every prefix and 1,000 single-byte mutations of a HEIC, an AVIF, a JP2, a JPM, a camera JPEG and a TIFF with
/// EXIF made here, through their handlers and the EXIF walker directly (no panic guard): an error or a
/// report, never a panic.
#[test]
fn own_parsers_never_panic_on_damaged_heif_and_jpeg2000() {
    use dangan::handler::{HANDLERS, Limits, Source};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let jpg = d.join("src.jpg");
    std::fs::write(&jpg, camera_jpeg(d)).unwrap();
    let mut files = Vec::new();
    for (name, extra) in [("a.heic", &[][..]), ("a.avif", &["-A"][..])] {
        let out = d.join(name);
        let (ok, _, err) = run(Command::new(require("heif-enc"))
            .args(extra)
            .arg(&jpg)
            .arg("-o")
            .arg(&out));
        assert!(ok, "{err}");
        files.push((name, std::fs::read(&out).unwrap()));
    }
    let png = d.join("a.png");
    let (ok, _, err) = run(Command::new(tool_var("IMAGEMAGICK")).arg(&jpg).arg(&png));
    assert!(ok, "{err}");
    let jp2 = d.join("a.jp2");
    let (ok, _, err) = run(Command::new(require("opj_compress"))
        .arg("-i")
        .arg(&png)
        .arg("-o")
        .arg(&jp2));
    assert!(ok, "{err}");
    let jp2 = std::fs::read(&jp2).unwrap();
    let mut jpm = jp2.clone();
    let f = find(&jpm, b"ftyp").unwrap();
    jpm[f + 4..f + 8].copy_from_slice(b"jpm ");
    files.push(("a.jp2", jp2));
    files.push(("a.jpm", jpm));
    files.push(("a.jpg", std::fs::read(&jpg).unwrap()));
    files.push(("a.tif", std::fs::read(camera_tiff(d)).unwrap()));
    let handler = |name: &str| *HANDLERS.iter().find(|h| h.name() == name).unwrap();
    let limits = Limits {
        max_alloc: 1 << 20,
        ..Limits::default()
    };
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for (name, good) in &files {
        let mut variants: Vec<Vec<u8>> = (0..good.len())
            .step_by(7)
            .map(|n| good[..n].to_vec())
            .collect();
        for _ in 0..1000 {
            let mut b = good.clone();
            let at = (next() % b.len() as u64) as usize;
            b[at] = next() as u8;
            variants.push(b);
        }
        for b in variants {
            let id = dangan::identify::identify_bytes(good, Some(name));
            let mut src = Source::from_bytes(b.clone());
            let _ = match name.rsplit('.').next() {
                Some("heic" | "avif") => dangan::handler::heif::read(&mut src, &limits),
                Some("jpg") => handler("jpeg").characterize(&mut src, &id, &limits),
                Some("tif") => handler("tiff").characterize(&mut src, &id, &limits),
                _ => handler("raster").characterize(&mut src, &id, &limits),
            };
            let _ = dangan::handler::ifd::read_exif(&mut b.as_slice());
        }
    }
}

/// A FIFO among the files: refused at once with an `io` error naming it, never waited on.
#[test]
fn a_fifo_is_refused_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.jpg");
    let (ok, _, err) = run(Command::new(require("mkfifo")).arg(&fifo));
    assert!(ok, "{err}");
    let r = inspect(&fifo);
    assert_eq!(r["error"]["kind"], "io", "{r:#}");
    // The library entry point too (the command may filter before it gets there).
    let r = dangan::handler::inspect_path(&fifo, &dangan::handler::Options::default());
    assert_eq!(r.error.map(|e| e.kind), Some("io"));
}
