//! Scan QC (DA/T 31-2017) on generated pages. Rotations are made by ImageMagick, not by dangan, so the
//! skew estimator is judged against an independent tool.

mod common;

use std::path::Path;
use std::process::Command;

use dangan::qc::{self, ColourMode, PageMeta, QcPolicy, rules};
use image::{GrayImage, Luma};

/// A deterministic pseudo-random sequence (no dependency, same pages on every machine).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.next() % (hi - lo)
    }
}

/// An A4 page at 150 dpi with lines of word-like ink blocks made of glyph strokes.
fn text_page(seed: u64, lines: u32, ink: u8) -> GrayImage {
    let (w, h) = (1240u32, 1754u32);
    let mut img = GrayImage::from_pixel(w, h, Luma([245]));
    let mut rng = Lcg(seed);
    let (left, right, top) = (150u32, w - 150, 180u32);
    for line in 0..lines {
        let y = top + line * 42;
        if y + 20 > h - 150 {
            break;
        }
        let mut x = left + rng.range(0, 40);
        while x < right - 40 {
            let word = rng.range(20, 140).min(right - x);
            // Glyph-like strokes: 3 px columns with 2–4 px gaps, ragged tops.
            let mut gx = x;
            while gx < x + word {
                let top_off = rng.range(0, 6);
                for sx in gx..(gx + 3).min(x + word) {
                    for sy in (y + top_off)..(y + 20) {
                        img.put_pixel(sx, sy, Luma([ink]));
                    }
                }
                gx += 3 + rng.range(2, 5);
            }
            x += word + rng.range(12, 24);
        }
    }
    img
}

fn save(img: &GrayImage, path: &Path) {
    img.save(path).expect("write png");
}

/// Rotate with ImageMagick: positive `ccw_degrees` turns the content counter-clockwise.
fn rotate(src: &Path, dst: &Path, ccw_degrees: f64) {
    let convert = common::require(&common::tool_var("IMAGEMAGICK"));
    let (ok, _, err) = common::run(
        Command::new(convert)
            .arg(src)
            .args(["-background", "rgb(245,245,245)", "-rotate"])
            // ImageMagick's -rotate is clockwise.
            .arg(format!("{}", -ccw_degrees))
            .arg(dst),
    );
    assert!(ok, "convert failed: {err}");
}

fn load_gray(path: &Path) -> GrayImage {
    image::open(path).expect("decode").to_luma8()
}

#[test]
fn skew_is_measured_within_0_3_degrees() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = QcPolicy::embedded();
    let src = dir.path().join("page.png");
    save(&text_page(7, 30, 30), &src);
    for angle in [0.0, 0.5, -0.5, 1.2, 2.5, -2.5, 4.0, -4.0] {
        let dst = dir.path().join(format!("rot{angle}.png"));
        rotate(&src, &dst, angle);
        let est = qc::estimate_skew(&load_gray(&dst), &policy.skew).expect("measurable page");
        eprintln!("rotated {angle:+.1}° → estimated {est:+.2}°");
        assert!(
            (est - angle).abs() <= 0.3,
            "rotated {angle}°, estimated {est}°"
        );
    }
}

/// A bitonal (黑白二值) page has only two grey levels; the estimator must still find its lines.
#[test]
fn skew_of_bitonal_pages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = QcPolicy::embedded();
    let src = dir.path().join("page.png");
    save(&text_page(13, 30, 30), &src);
    let level = dir.path().join("level.png");
    let convert = common::require(&common::tool_var("IMAGEMAGICK"));
    for (angle, out) in [(0.0, &level), (2.0, &dir.path().join("rot.png"))] {
        let rotated = dir.path().join("tmp.png");
        rotate(&src, &rotated, angle);
        let (ok, _, err) = common::run(
            Command::new(&convert)
                .arg(&rotated)
                .args(["-threshold", "50%", "-type", "Bilevel"])
                .arg(out),
        );
        assert!(ok, "{err}");
        let est = qc::estimate_skew(&load_gray(out), &policy.skew).expect("measurable");
        assert!(
            (est - angle).abs() <= 0.3,
            "bitonal {angle}°: estimated {est}°"
        );
    }
}

#[test]
fn skew_above_tolerance_fails_the_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = QcPolicy::embedded();
    let src = dir.path().join("page.png");
    save(&text_page(11, 25, 40), &src);
    let dst = dir.path().join("rot.png");
    rotate(&src, &dst, 2.5);
    let img = image::open(&dst).expect("decode");
    let meta = PageMeta {
        dpi: Some((300.0, 300.0)),
        colour_mode: None,
    };
    let r = qc::check_page("rot.png", &img, &meta, &policy);
    assert!(!r.ok());
    assert!(
        r.findings
            .iter()
            .any(|f| f.rule == rules::PROCESSING && f.message.contains("倾斜")),
        "{:?}",
        r.findings
    );
    let straight = image::open(&src).expect("decode");
    let r = qc::check_page("page.png", &straight, &meta, &policy);
    assert!(r.ok(), "{:?}", r.findings);
    assert_eq!(r.colour_mode, ColourMode::Grayscale);
}

#[test]
fn blank_pages_despite_noise_borders_and_holes() {
    let policy = QcPolicy::embedded();
    let (w, h) = (1240u32, 1754u32);
    let mut page = GrayImage::from_pixel(w, h, Luma([238]));
    let mut rng = Lcg(3);
    // Scanner noise: 0.5 % of pixels dark specks.
    for _ in 0..(w * h / 200) {
        let (x, y) = (rng.range(0, w), rng.range(0, h));
        page.put_pixel(x, y, Luma([rng.range(0, 120) as u8]));
    }
    // A dark scanner border along the left and top edges.
    for y in 0..h {
        for x in 0..40 {
            page.put_pixel(x, y, Luma([15]));
        }
    }
    for y in 0..30 {
        for x in 0..w {
            page.put_pixel(x, y, Luma([15]));
        }
    }
    // Two punched holes near the left edge (6 mm across at 150 dpi ≈ 36 px).
    for cy in [h / 3, 2 * h / 3] {
        for y in cy - 18..cy + 18 {
            for x in 52..88 {
                let (dx, dy) = (x as i64 - 70, y as i64 - cy as i64);
                if dx * dx + dy * dy <= 18 * 18 {
                    page.put_pixel(x, y, Luma([10]));
                }
            }
        }
    }
    let img = image::DynamicImage::ImageLuma8(page.clone());
    let meta = PageMeta {
        dpi: Some((300.0, 300.0)),
        colour_mode: None,
    };
    let r = qc::check_page("blank.png", &img, &meta, &policy);
    assert!(r.blank, "ink fraction {}", r.ink_fraction);
    assert!(r.skew_degrees.is_none());

    // The same page with one short, light line of handwriting is not blank.
    let mut light = page;
    for x in 400..700 {
        for y in 900..912 {
            if (x / 3) % 2 == 0 {
                light.put_pixel(x, y, Luma([150]));
            }
        }
    }
    let r = qc::check_page(
        "light.png",
        &image::DynamicImage::ImageLuma8(light),
        &meta,
        &policy,
    );
    assert!(!r.blank, "ink fraction {}", r.ink_fraction);
}

#[test]
fn resolution_rules_da_t_31_9_4() {
    let policy = QcPolicy::embedded();
    let img = image::DynamicImage::ImageLuma8(text_page(5, 10, 20));
    let level_of = |dpi: Option<(f64, f64)>| {
        let r = qc::check_page(
            "p.png",
            &img,
            &PageMeta {
                dpi,
                colour_mode: None,
            },
            &policy,
        );
        r.findings
            .iter()
            .filter(|f| f.rule == rules::RESOLUTION)
            .map(|f| f.level)
            .max()
    };
    use dangan::model::Level;
    assert_eq!(level_of(Some((150.0, 150.0))), Some(Level::Error));
    assert_eq!(level_of(Some((200.0, 200.0))), Some(Level::Warning));
    assert_eq!(level_of(Some((300.0, 300.0))), None);
    assert_eq!(level_of(None), Some(Level::Error));
}

#[test]
fn colour_modes() {
    let mut bw = GrayImage::from_pixel(64, 64, Luma([255]));
    bw.put_pixel(3, 3, Luma([0]));
    assert_eq!(
        qc::colour_mode_of(&image::DynamicImage::ImageLuma8(bw)),
        ColourMode::Bitonal
    );
    let mut rgb = image::RgbImage::from_pixel(64, 64, image::Rgb([240, 240, 240]));
    assert_eq!(
        qc::colour_mode_of(&image::DynamicImage::ImageRgb8(rgb.clone())),
        ColourMode::Grayscale
    );
    // A red seal makes the page colour (DA/T 31-2017 9.3).
    rgb.put_pixel(10, 10, image::Rgb([200, 20, 30]));
    assert_eq!(
        qc::colour_mode_of(&image::DynamicImage::ImageRgb8(rgb)),
        ColourMode::Colour
    );
}

/// `dangan qc` on a folder: resolution read from the files' own tags, a page-sequence gap, JSON and HTML.
#[test]
fn qc_command_on_a_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let convert = common::require(&common::tool_var("IMAGEMAGICK"));
    let src = dir.path().join("src.png");
    save(&text_page(21, 30, 30), &src);
    let batch = dir.path().join("batch");
    std::fs::create_dir(&batch).expect("mkdir");
    // Pages 1, 2, 3 and 5 of item 0001 (page 4 missing); page 2 at 150 dpi.
    for (page, dpi) in [(1, 300), (2, 150), (3, 300), (5, 300)] {
        let out = batch.join(format!("J001-WS_2019-Y-BGS-0001-{page:04}.tif"));
        let (ok, _, err) = common::run(
            Command::new(&convert)
                .arg(&src)
                .args(["-density", &dpi.to_string(), "-units", "PixelsPerInch"])
                .args(["-compress", "LZW"])
                .arg(&out),
        );
        assert!(ok, "{err}");
    }
    let html = dir.path().join("qc.html");
    let out = assert_cmd::Command::cargo_bin("dangan")
        .expect("binary")
        .arg("qc")
        .arg(&batch)
        .arg("--json")
        .arg("--html")
        .arg(&html)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "a failing page exits 1");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], false);
    let pages = v["pages"].as_array().expect("pages");
    assert_eq!(pages.len(), 4);
    let p2 = &pages[1];
    assert_eq!(p2["dpi"], 150.0);
    assert!(
        p2["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["rule"] == "DA/T 31-2017 9.4" && f["level"] == "error")
    );
    assert_eq!(pages[0]["dpi"], 300.0);
    assert_eq!(pages[0]["findings"].as_array().map(Vec::len), Some(0));
    assert!(
        pages[0]["skew_degrees"]
            .as_f64()
            .is_some_and(|s| s.abs() <= 0.3)
    );
    assert!(
        v["findings"]
            .as_array()
            .expect("batch findings")
            .iter()
            .any(|f| f["rule"] == "DA/T 31-2017 9.6"
                && f["message"].as_str().unwrap_or("").contains("0004")),
        "{:#}",
        v["findings"]
    );
    let page = std::fs::read_to_string(&html).expect("html written");
    assert!(page.contains("结论: <strong>不合格</strong>"));
    assert!(page.contains("J001-WS_2019-Y-BGS-0001-0002.tif"));
}

/// ImageMagick writes gray + alpha TIFFs (2 samples, ExtraSamples = unassociated alpha, 8 or 16 bits) that
/// the `image` crate refuses; QC checks them and normalization puts them into the item's PDF (qpdf counts
/// its pages).
#[test]
fn gray_alpha_tiff_is_checked_and_put_in_the_item_pdf() {
    let dir = tempfile::tempdir().expect("tempdir");
    let convert = common::require(&common::tool_var("IMAGEMAGICK"));
    let src = dir.path().join("src.png");
    save(&text_page(7, 30, 30), &src);
    let batch = dir.path().join("batch");
    std::fs::create_dir(&batch).expect("mkdir");
    for (page, depth) in [(1, "8"), (2, "16")] {
        let out = batch.join(format!("J001-WS_2019-Y-BGS-0001-{page:04}.tif"));
        let (ok, _, err) = common::run(
            Command::new(&convert)
                .arg(&src)
                .args(["-alpha", "set", "-channel", "A", "-evaluate", "set", "90%"])
                .args(["+channel", "-depth", depth, "-type", "GrayscaleAlpha"])
                .args(["-density", "300", "-units", "PixelsPerInch"])
                .arg(&out),
        );
        assert!(ok, "{err}");
        // The fixture really is what the test is about: two samples, the second an extra (alpha) one.
        let bytes = std::fs::read(&out).expect("read");
        let mut d = tiff::decoder::Decoder::new(std::io::Cursor::new(bytes)).expect("tiff");
        assert_eq!(
            d.get_tag_u32(tiff::tags::Tag::SamplesPerPixel)
                .expect("spp"),
            2
        );
        assert!(d.get_tag(tiff::tags::Tag::ExtraSamples).is_ok());
        assert!(
            image::open(&out).is_err(),
            "image decodes it now: drop the fallback"
        );
    }
    let out = assert_cmd::Command::cargo_bin("dangan")
        .expect("binary")
        .args(["qc", "--json"])
        .arg(&batch)
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], true, "{v:#}");
    for p in v["pages"].as_array().expect("pages") {
        assert_eq!(p["colour_mode"], "grayscale", "{p:#}");
        assert!(p["skew_degrees"].as_f64().is_some_and(|s| s.abs() <= 0.3));
    }

    let norm = dir.path().join("norm");
    let out = assert_cmd::Command::cargo_bin("dangan")
        .expect("binary")
        .args(["normalize", "--json"])
        .arg(&batch)
        .arg("--out")
        .arg(&norm)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // TIFF pages are their own masters (policy rule scan-page-tiff); the item PDF needs every page decoded.
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let pdf = v["records"]
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["action"] == "item-pdf")
        .expect("an item-pdf record");
    assert_eq!(pdf["outcome"], "success", "{pdf:#}");
    let path = norm.join("access/J001-WS_2019-Y-BGS-0001.pdf");
    let (ok, pages, err) = common::run(
        Command::new(common::require("qpdf"))
            .arg("--show-npages")
            .arg(&path),
    );
    assert!(ok, "qpdf: {err}");
    assert_eq!(pages.trim(), "2");
}

/// A FIFO in a batch is a finding naming it in `qc`, `intake`, `pack` and `normalize` — never a blocking
/// open (each command runs under `timeout`; 124 would mean it hung).
#[test]
fn a_fifo_in_a_batch_is_a_finding_not_a_hang() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = dir.path().join("batch");
    std::fs::create_dir_all(&b).expect("mkdir");
    for e in std::fs::read_dir(common::root().join("fixtures/demo")).expect("demo") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), b.join(e.file_name())).expect("copy");
    }
    let fifo = "J001-WS_2019-Y-BGS-0001-0003.tif";
    let (ok, _, err) = common::run(Command::new(common::require("mkfifo")).arg(b.join(fifo)));
    assert!(ok, "{err}");
    let bin = assert_cmd::cargo::cargo_bin("dangan");
    let out = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let batch = b.to_string_lossy().into_owned();
    let runs: [Vec<String>; 4] = [
        vec!["qc".into(), batch.clone()],
        vec!["intake".into(), batch.clone()],
        vec!["pack".into(), batch.clone(), "--out".into(), out("p")],
        vec!["normalize".into(), batch.clone(), "--out".into(), out("n")],
    ];
    for args in runs {
        let o = Command::new(common::require("timeout"))
            .arg("30")
            .arg(&bin)
            .args(&args)
            .output()
            .expect("run");
        let code = o.status.code();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert_ne!(code, Some(124), "{args:?} hung on a FIFO");
        assert!(code.is_some(), "{args:?} killed: {text}");
        assert!(
            text.contains(fifo)
                && (text.contains("不是普通文件") || text.contains("not a regular file")),
            "{args:?}: {text}"
        );
        if args[0] != "normalize" {
            assert_eq!(code, Some(1), "{args:?}: {text}");
        }
    }
    assert!(!dir.path().join("p").exists());
}

/// Issue 12, item 6: `dangan qc --html` shows a thumbnail of every page, flagged pages first (failed, then
/// warned), with the measured skew drawn as a line and a blank page crossed out. Judged in headless
/// Chromium: the DOM it loads has the images in that order, and its screenshot shows the thumbnails and the
/// red marks.
#[test]
fn qc_html_shows_thumbnails_flagged_first_in_chromium() {
    let dir = tempfile::tempdir().expect("tempdir");
    let convert = common::require(&common::tool_var("IMAGEMAGICK"));
    let batch = dir.path().join("batch");
    std::fs::create_dir(&batch).expect("mkdir");
    let straight = dir.path().join("straight.png");
    save(&text_page(31, 30, 30), &straight);
    let skewed = dir.path().join("skewed.png");
    rotate(&straight, &skewed, 3.0);
    let blank = dir.path().join("blank.png");
    save(&GrayImage::from_pixel(1240, 1754, Luma([240])), &blank);
    // Page 1 fine, page 2 skewed 3° (fails), page 3 blank (warned).
    for (n, src) in [(1, &straight), (2, &skewed), (3, &blank)] {
        let (ok, _, err) = common::run(
            Command::new(&convert)
                .arg(src)
                .arg("+repage")
                .args(["-density", "300", "-units", "PixelsPerInch"])
                .arg(batch.join(format!("J001-WS_2019-Y-BGS-0001-{n:04}.tif"))),
        );
        assert!(ok, "{err}");
    }
    let html = dir.path().join("qc.html");
    let out = assert_cmd::Command::cargo_bin("dangan")
        .expect("binary")
        .args(["qc", "--html"])
        .arg(&html)
        .arg(&batch)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let chromium = common::require("chromium");
    let url = format!("file://{}", html.display());
    let dom = Command::new(&chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(&url)
        .output()
        .expect("chromium");
    let dom = String::from_utf8_lossy(&dom.stdout);
    let order: Vec<&str> = dom
        .match_indices("data-path=\"")
        .map(|(i, m)| {
            let rest = &dom[i + m.len()..];
            &rest[..rest.find('"').unwrap_or(0)]
        })
        .collect();
    assert_eq!(
        order,
        [
            "J001-WS_2019-Y-BGS-0001-0002.tif",
            "J001-WS_2019-Y-BGS-0001-0003.tif",
            "J001-WS_2019-Y-BGS-0001-0001.tif"
        ],
        "{dom}"
    );
    assert_eq!(dom.matches("src=\"data:image/jpeg;base64,").count(), 3);
    assert!(dom.contains("class=\"skew\"") && dom.contains("class=\"blank\""));

    let shot = dir.path().join("shot.png");
    let (ok, _, err) = common::run(
        Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .arg(format!("--screenshot={}", shot.display()))
            .args(["--window-size=1200,900"])
            .arg(&url),
    );
    assert!(ok || shot.exists(), "{err}");
    let img = image::open(&shot).expect("screenshot").to_rgb8();
    // The thumbnails row: the first figure (the skewed page) carries the red skew line, the second the red
    // cross of the blank page; the page images themselves put dark text pixels on screen.
    let red = |x0: u32, x1: u32| {
        (x0..x1.min(img.width()))
            .flat_map(|x| (0..img.height()).map(move |y| (x, y)))
            .filter(|&(x, y)| {
                let [r, g, b] = img.get_pixel(x, y).0;
                r > 180 && g < 80 && b < 80
            })
            .count()
    };
    assert!(red(0, 380) > 100, "no skew line in the first thumbnail");
    assert!(red(380, 730) > 100, "no blank mark in the second thumbnail");
    let dark = img.pixels().filter(|p| p.0.iter().all(|&c| c < 90)).count();
    assert!(dark > 500, "no page content visible");
}
