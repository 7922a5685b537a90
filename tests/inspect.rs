//! `dangan inspect`: identification and characterization checked against the real tools (fido, exiftool,
//! ffprobe, qpdf). Small fixtures live in fixtures/inspect/ (made by fixtures/inspect/make.sh); larger ones
//! are generated here with ImageMagick, exiftool, sox, ffmpeg and ghostscript in a temporary directory.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

use common::{require, root, run, tool_var};

fn fixtures() -> PathBuf {
    root().join("fixtures/inspect")
}

/// Run `dangan inspect --json ARGS…`, returning (exit code, reports by file name).
fn inspect(args: &[&Path]) -> (i32, Vec<Value>) {
    let out = Command::cargo_bin("dangan")
        .unwrap()
        .arg("inspect")
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (
        out.status.code().unwrap_or(-1),
        v.as_array().unwrap().clone(),
    )
}

fn by_name(reports: &[Value]) -> BTreeMap<String, Value> {
    reports
        .iter()
        .map(|r| {
            let p = r["path"].as_str().unwrap();
            (p.rsplit('/').next().unwrap().to_owned(), r.clone())
        })
        .collect()
}

/// Every committed fixture with the PUID dangan must give it (None: PRONOM has none). Checked in both
/// directions: each listed file exists and each file in the folder is listed.
const INVENTORY: &[(&str, Option<&str>)] = &[
    ("archive.mbox", Some("fmt/720")),
    ("bitonal.tif", Some("fmt/353")),
    ("bwf.wav", Some("fmt/704")),
    ("catalog.xml", Some("fmt/101")),
    ("doc.rtf", Some("fmt/50")),
    ("exif.jpg", Some("fmt/1507")),
    ("gbk.eml", Some("fmt/950")),
    ("gbk.txt", Some("x-fmt/111")),
    ("gray.tif", Some("fmt/353")),
    ("jfif.jpg", Some("fmt/43")),
    ("make.sh", Some("x-fmt/111")),
    ("multipage.tif", Some("fmt/353")),
    ("page.html", Some("fmt/471")),
    ("phys.png", Some("fmt/11")),
    ("plain.zip", Some("x-fmt/263")),
    ("rfc2047.eml", Some("fmt/950")),
    ("rgb.tif", Some("fmt/353")),
    ("scan.pdf", Some("fmt/15")),
    ("text.pdf", Some("fmt/276")),
    ("tiny.avi", Some("fmt/5")),
    ("tiny.bmp", Some("fmt/116")),
    ("tiny.docx", Some("fmt/412")),
    ("tiny.gif", Some("fmt/4")),
    ("tiny.mkv", Some("fmt/569")),
    ("tiny.mov", Some("x-fmt/384")),
    ("tiny.mp4", Some("fmt/199")),
    ("tiny.ofd", None),
    ("tiny.warc", Some("fmt/1355")),
    ("tiny.webm", Some("fmt/573")),
    ("tone.aac", None),
    ("tone.flac", Some("fmt/279")),
    ("tone.m4a", Some("fmt/2094")),
    ("tone.mp3", Some("fmt/134")),
    ("tone.wav", Some("fmt/141")),
    ("utf8.eml", Some("fmt/950")),
    ("utf8.txt", Some("x-fmt/111")),
];

/// Where fido 1.6.1 (PRONOM v109) is known to be wrong or to differ for a stated reason.
const FIDO_KNOWN_DIFFERENT: &[(&str, &str)] = &[
    // v109 has no MBOX signature; fido's MIME Email regexes match anywhere in the first 16 KiB.
    // Siegfried (pygfried 1.11, newer PRONOM) says fmt/720 as dangan does.
    ("archive.mbox", "fmt/950"),
    // A shell script that mentions "From: ", "To: ", "Date: " and "MIME-Version: 1.0" is not an e-mail.
    ("make.sh", "fmt/950"),
    // PRONOM has no OFD; fido sees the ZIP only.
    ("tiny.ofd", "x-fmt/263"),
    // M4A audio (fmt/2094) is newer than fido's v109, which has only MPEG-4 Media File (issue 13).
    ("tone.m4a", "fmt/199"),
];

#[test]
fn fixture_inventory_is_complete_and_identified() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let listed: BTreeSet<String> = INVENTORY.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(on_disk, listed, "fixtures/inspect and INVENTORY differ");
    let (code, reports) = inspect(&[&fixtures()]);
    assert_eq!(code, 0, "{reports:#?}");
    let reports = by_name(&reports);
    for (name, puid) in INVENTORY {
        let r = &reports[*name];
        assert_eq!(r["puid"].as_str(), *puid, "{name}: {r:#}");
        assert!(r.get("error").is_none(), "{name}: {r:#}");
        for key in [
            "path", "size", "puid", "mime", "format", "version", "warnings", "basis",
        ] {
            assert!(r.get(key).is_some(), "{name} lacks {key}");
        }
    }
    // OFD has no PUID: the note says so.
    assert!(
        reports["tiny.ofd"]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("PRONOM has no OFD")
    );
    assert_eq!(reports["gbk.txt"]["encoding"], "GB18030");
    assert_eq!(reports["utf8.txt"]["encoding"], "UTF-8");
}

#[test]
fn puids_agree_with_fido() {
    let fido = tool_var("FIDO");
    let names: Vec<&str> = INVENTORY.iter().map(|(n, _)| *n).collect();
    let (ok, stdout, stderr) = run(Command::new(&fido)
        .arg("-q")
        .args(&names)
        .current_dir(fixtures()));
    assert!(ok, "fido failed: {stderr}");
    // fido prints one CSV line per match: OK,ms,puid,name,sig,size,"file",mime,basis (several per file).
    let mut fido_says: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in stdout.lines() {
        let f: Vec<&str> = line.split(',').collect();
        let file = f
            .iter()
            .find(|x| x.starts_with('"') && names.contains(&x.trim_matches('"')));
        if let Some(file) = file {
            let puid = if f[0] == "OK" { f[2] } else { "none" };
            fido_says
                .entry(file.trim_matches('"').to_owned())
                .or_default()
                .insert(puid.to_owned());
        }
    }
    let known: BTreeMap<&str, &str> = FIDO_KNOWN_DIFFERENT.iter().copied().collect();
    let mut disagreements = Vec::new();
    for (name, puid) in INVENTORY {
        let ours = puid.unwrap_or("none");
        let theirs = fido_says.get(*name).cloned().unwrap_or_default();
        if let Some(expected) = known.get(name) {
            assert!(
                theirs.contains(*expected),
                "{name}: fido now says {theirs:?}; update the list"
            );
            continue;
        }
        if !theirs.contains(ours) {
            disagreements.push(format!("{name}: dangan {ours}, fido {theirs:?}"));
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

#[test]
fn characterization_of_committed_fixtures() {
    let (_, reports) = inspect(&[&fixtures()]);
    let r = by_name(&reports);
    let t = &r["bitonal.tif"]["tiff"];
    assert_eq!(
        (t["width"].as_u64(), t["height"].as_u64()),
        (Some(16), Some(12))
    );
    assert_eq!(t["color_mode"], "bitonal");
    assert_eq!(t["color_mode_zh"], "黑白二值");
    assert_eq!(t["compression_name"], "ccitt_group4");
    assert_eq!(t["x_dpi"].as_f64(), Some(300.0));
    assert_eq!(r["gray.tif"]["tiff"]["color_mode_zh"], "灰度");
    assert_eq!(r["rgb.tif"]["tiff"]["color_mode_zh"], "彩色");
    // 118 px/cm is 299.72 dpi.
    assert!((r["rgb.tif"]["tiff"]["x_dpi"].as_f64().unwrap() - 299.72).abs() < 0.01);
    assert_eq!(r["multipage.tif"]["tiff"]["page_count"], 3);
    assert_eq!(
        r["phys.png"]["png"]["x_dpi"].as_f64().map(f64::round),
        Some(300.0)
    );
    let pdf = &r["text.pdf"]["pdf"];
    assert_eq!(
        (pdf["pages"].as_u64(), pdf["has_text"].as_bool()),
        (Some(1), Some(true))
    );
    assert_eq!(r["scan.pdf"]["pdf"]["has_text"], false);
    let ofd = &r["tiny.ofd"]["ofd"];
    assert_eq!(ofd["title"], "忻州市精准扶贫档案整理目录");
    assert_eq!(ofd["author"], "忻州市档案馆");
    assert_eq!(ofd["pages"], 2);
    assert_eq!(ofd["keywords"], serde_json::json!(["扶贫", "档案"]));
    assert_eq!(ofd["custom_data"]["档号"], "J001-WS·2019-Y-BGS-0001");
    let bext = &r["bwf.wav"]["audio"]["bext"];
    assert_eq!(bext["description"], "精准扶贫 座谈会录音");
    assert_eq!(bext["originator"], "dangan");
    assert_eq!(bext["origination_date"], "2019-05-01");
    assert_eq!(r["archive.mbox"]["mbox"]["message_count"], 2);
}

#[test]
fn email_subjects_decode_to_chinese() {
    let (_, reports) = inspect(&[&fixtures()]);
    let r = by_name(&reports);
    assert_eq!(
        r["utf8.eml"]["email"]["subject"],
        "关于精准扶贫档案整理的通知"
    );
    assert_eq!(
        r["utf8.eml"]["email"]["from"][0],
        "忻州市扶贫办 <fupin@xinzhou.gov.cn>"
    );
    assert_eq!(
        r["utf8.eml"]["email"]["cc"][0],
        "张三 <zhangsan@example.cn>"
    );
    let att = &r["utf8.eml"]["email"]["attachments"][0];
    assert_eq!(
        (att["name"].as_str(), att["mime"].as_str()),
        (Some("方案.pdf"), Some("application/pdf"))
    );
    assert_eq!(att["size"], 15);
    // Raw 8-bit GBK in the Subject header, charset from Content-Type.
    assert_eq!(r["gbk.eml"]["email"]["subject"], "贫困户建档立卡信息核查");
    // RFC 2047 encoded words in GB18030 and GB2312.
    assert_eq!(r["rfc2047.eml"]["email"]["subject"], "易地扶贫搬迁验收材料");
    assert_eq!(
        r["rfc2047.eml"]["email"]["from"][0],
        "扶贫办 <fupin@xinzhou.gov.cn>"
    );
    assert_eq!(
        r["rfc2047.eml"]["email"]["date"],
        "2019-05-03T09:00:00+08:00"
    );
    let first = &r["archive.mbox"]["mbox"]["first_message"];
    assert_eq!(first["subject"], "关于精准扶贫档案整理的通知");
}

fn exiftool_json(path: &Path) -> Value {
    let (ok, out, err) = run(Command::new(require("exiftool"))
        .args(["-n", "-json"])
        .arg(path));
    assert!(ok, "exiftool: {err}");
    serde_json::from_str::<Value>(&out).unwrap()[0].clone()
}

#[test]
fn exif_equals_exiftool() {
    let im = tool_var("IMAGEMAGICK");
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "north.jpg",
            "Canon",
            "Canon EOS R5",
            "2019:05:01 10:20:30",
            "+08:00",
            38.416111_f64,
            112.734167_f64,
            812.5_f64,
            "危房改造前照片（忻州市）",
        ),
        (
            "south.jpg",
            "HUAWEI",
            "ELE-AL00",
            "2020:12:31 23:59:59",
            "-03:00",
            -33.8568,
            -151.2153,
            -12.0,
            "Sydney 悉尼",
        ),
    ];
    for (name, make, model, date, offset, lat, lon, alt, desc) in cases {
        let p = dir.path().join(name);
        let (ok, _, err) = run(Command::new(&im)
            .args(["-size", "320x240", "plasma:fractal", "-quality", "85"])
            .arg(&p));
        assert!(ok, "{err}");
        let (ok, _, err) = run(Command::new(require("exiftool"))
            .args([
                "-q",
                "-overwrite_original",
                &format!("-Make={make}"),
                &format!("-Model={model}"),
                &format!("-DateTimeOriginal={date}"),
                &format!("-OffsetTimeOriginal={offset}"),
                &format!("-GPSLatitude={}", lat.abs()),
                &format!("-GPSLatitudeRef={}", if lat < 0.0 { "S" } else { "N" }),
                &format!("-GPSLongitude={}", lon.abs()),
                &format!("-GPSLongitudeRef={}", if lon < 0.0 { "W" } else { "E" }),
                &format!("-GPSAltitude={}", alt.abs()),
                &format!("-GPSAltitudeRef={}", if alt < 0.0 { 1 } else { 0 }),
                &format!("-ImageDescription={desc}"),
                "-Artist=忻州市档案馆",
                "-XResolution=300",
                "-YResolution=300",
                "-ResolutionUnit=inches",
                "-Orientation#=6",
            ])
            .arg(&p));
        assert!(ok, "{err}");
    }
    // A description written as raw GBK bytes (Chinese Windows, many cameras): exiftool shows mojibake,
    // dangan must decode it.
    let gbk = dir.path().join("gbk.jpg");
    std::fs::copy(dir.path().join("north.jpg"), &gbk).unwrap();
    let desc_file = dir.path().join("desc.bin");
    std::fs::write(&desc_file, encoding_rs::GBK.encode("危房改造后照片").0).unwrap();
    let (ok, _, err) = run(Command::new(require("exiftool"))
        .args(["-q", "-overwrite_original"])
        .arg(format!("-ImageDescription<={}", desc_file.display()))
        .arg(&gbk));
    assert!(ok, "{err}");
    std::fs::remove_file(&desc_file).unwrap();

    let (code, reports) = inspect(&[dir.path()]);
    assert_eq!(code, 0);
    let r = by_name(&reports);
    for (name, ..) in cases {
        let ours = &r[name]["exif"];
        let theirs = exiftool_json(&dir.path().join(name));
        for (k, tk) in [
            ("make", "Make"),
            ("model", "Model"),
            ("image_description", "ImageDescription"),
            ("artist", "Artist"),
        ] {
            assert_eq!(ours[k], theirs[tk], "{name} {k}");
        }
        for (k, tk) in [
            ("gps_latitude", "GPSLatitude"),
            ("gps_longitude", "GPSLongitude"),
            ("gps_altitude", "GPSAltitude"),
            ("x_resolution", "XResolution"),
        ] {
            let (a, b) = (ours[k].as_f64().unwrap(), theirs[tk].as_f64().unwrap());
            assert!((a - b).abs() < 1e-6, "{name} {k}: dangan {a}, exiftool {b}");
        }
        assert_eq!(ours["orientation"], theirs["Orientation"], "{name}");
        // exiftool: "2019:05:01 10:20:30" + OffsetTimeOriginal; dangan: ISO 8601 with the offset.
        let d = theirs["DateTimeOriginal"].as_str().unwrap();
        let iso = format!(
            "{}-{}-{}T{}{}",
            &d[0..4],
            &d[5..7],
            &d[8..10],
            &d[11..19],
            theirs["OffsetTimeOriginal"].as_str().unwrap()
        );
        assert_eq!(ours["date_time_original"], iso.as_str(), "{name}");
        assert_eq!(r[name]["jpeg"]["width"], theirs["ImageWidth"]);
        assert_eq!(r[name]["jpeg"]["height"], theirs["ImageHeight"]);
    }
    assert_eq!(r["gbk.jpg"]["exif"]["image_description"], "危房改造后照片");
}

fn ffprobe(path: &Path) -> Value {
    let (ok, out, err) = run(Command::new(require("ffprobe"))
        .args([
            "-v",
            "error",
            "-show_format",
            "-show_streams",
            "-of",
            "json",
        ])
        .arg(path));
    assert!(ok, "ffprobe {}: {err}", path.display());
    serde_json::from_str(&out).unwrap()
}

fn stream<'a>(probe: &'a Value, kind: &str) -> Option<&'a Value> {
    probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["codec_type"] == kind)
}

fn ffmpeg(args: &[&str], out: &Path) {
    let (ok, _, err) = run(Command::new(require("ffmpeg"))
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(out));
    assert!(ok, "ffmpeg {args:?}: {err}");
}

#[test]
fn audio_and_video_agree_with_ffprobe() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ok, _, err) = run(Command::new(require("sox"))
        .args(["-n", "-r", "44100", "-c", "2", "-b", "24"])
        .arg(d.join("master.wav"))
        .args(["synth", "5.3", "sine", "440"]));
    assert!(ok, "{err}");
    let tone = [
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000:duration=5.3",
    ];
    ffmpeg(&[&tone[..], &["-c:a", "flac"]].concat(), &d.join("a.flac"));
    ffmpeg(
        &[&tone[..], &["-c:a", "libmp3lame", "-b:a", "128k"]].concat(),
        &d.join("a.mp3"),
    );
    ffmpeg(
        &[&tone[..], &["-c:a", "aac", "-b:a", "96k"]].concat(),
        &d.join("a.m4a"),
    );
    let av = [
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=25:duration=4.2",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100:duration=4.2",
    ];
    ffmpeg(
        &[
            &av[..],
            &[
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-metadata",
                "creation_time=2019-05-01T10:20:30Z",
            ],
        ]
        .concat(),
        &d.join("v.mp4"),
    );
    ffmpeg(
        &[&av[..], &["-c:v", "mpeg4", "-c:a", "pcm_s16le"]].concat(),
        &d.join("v.mov"),
    );
    ffmpeg(
        &[
            &av[..],
            &["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "flac"],
        ]
        .concat(),
        &d.join("v.mkv"),
    );
    ffmpeg(
        &[
            &av[..],
            &["-c:v", "libvpx-vp9", "-b:v", "200k", "-c:a", "libopus"],
        ]
        .concat(),
        &d.join("v.webm"),
    );
    ffmpeg(
        &[&av[..], &["-c:v", "mpeg4", "-c:a", "pcm_s16le"]].concat(),
        &d.join("v.avi"),
    );

    let (code, reports) = inspect(&[d]);
    assert_eq!(code, 0, "{reports:#?}");
    let close = |ours: f64, theirs: f64, what: &str| {
        assert!(
            (ours - theirs).abs() <= theirs * 0.01,
            "{what}: dangan {ours}, ffprobe {theirs}"
        );
    };
    for r in &reports {
        let path = PathBuf::from(r["path"].as_str().unwrap());
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let probe = ffprobe(&path);
        let theirs_dur: f64 = probe["format"]["duration"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        if let Some(a) = r.get("audio") {
            let s = stream(&probe, "audio").unwrap();
            close(a["duration_seconds"].as_f64().unwrap(), theirs_dur, &name);
            assert_eq!(a["codec"], s["codec_name"], "{name}");
            assert_eq!(
                a["sample_rate"].to_string(),
                s["sample_rate"].as_str().unwrap(),
                "{name}"
            );
            if let Some(ch) = a["channels"].as_u64() {
                assert_eq!(Some(ch), s["channels"].as_u64(), "{name}");
            }
        } else {
            let v = &r["video"];
            let vs = stream(&probe, "video").unwrap();
            let aus = stream(&probe, "audio").unwrap();
            close(v["duration_seconds"].as_f64().unwrap(), theirs_dur, &name);
            assert_eq!(v["video_codec"], vs["codec_name"], "{name}");
            assert_eq!(v["audio_codec"], aus["codec_name"], "{name}");
            assert_eq!(v["width"], vs["width"], "{name}");
            assert_eq!(v["height"], vs["height"], "{name}");
            let (n, dd) = vs["avg_frame_rate"]
                .as_str()
                .unwrap()
                .split_once('/')
                .unwrap();
            let fps = n.parse::<f64>().unwrap() / dd.parse::<f64>().unwrap();
            close(
                v["frame_rate"].as_f64().unwrap(),
                fps,
                &format!("{name} frame rate"),
            );
        }
    }
    let r = by_name(&reports);
    assert_eq!(r["master.wav"]["audio"]["bits_per_sample"], 24);
    assert!(
        r["v.mp4"]["video"]["creation_time"]
            .as_str()
            .unwrap()
            .starts_with("2019-05-01T10:20:30")
    );
}

#[test]
fn pdfa_claim_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a2b.pdf");
    let (ok, _, err) = run(Command::new(require("gs")).args([
        "-q", "-dSAFER", "-dNOPAUSE", "-dBATCH", "-sDEVICE=pdfwrite", "-dPDFA=2", "-dPDFACompatibilityPolicy=1",
        "-sColorConversionStrategy=RGB",
    ]).arg(format!("-sOutputFile={}", p.display())).args([
        "-c", "/Helvetica findfont 12 scalefont setfont 72 720 moveto (one) show showpage 72 720 moveto (two) show showpage",
    ]));
    assert!(ok, "{err}");
    let (_, reports) = inspect(&[&p]);
    let r = &reports[0];
    assert_eq!(r["puid"], "fmt/477", "{r:#}");
    assert_eq!(r["pdf"]["pdfa"]["part"], "2");
    assert_eq!(r["pdf"]["pdfa"]["conformance"], "B");
    let (ok, out, _) = run(Command::new(require("qpdf")).arg("--show-npages").arg(&p));
    assert!(ok);
    assert_eq!(r["pdf"]["pages"].to_string(), out.trim());
}

#[test]
fn malformed_inputs_give_errors_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let read = |n: &str| std::fs::read(fixtures().join(n)).unwrap();
    std::fs::write(d.join("empty.tif"), b"").unwrap();
    let jpg = read("exif.jpg");
    std::fs::write(d.join("truncated.jpg"), &jpg[..40]).unwrap();
    let mut junk = b"%PDF-1.7\n".to_vec();
    junk.extend((0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(d.join("junk.pdf"), &junk).unwrap();
    let mut png = read("phys.png");
    png[16..20].copy_from_slice(&0x7FFF_FFFFu32.to_be_bytes()); // width 2^31−1
    std::fs::write(d.join("huge.png"), &png).unwrap();
    let mut tif = read("gray.tif");
    tif.truncate(12);
    std::fs::write(d.join("short.tif"), &tif).unwrap();
    std::fs::write(d.join("ok.txt"), "扶贫\n").unwrap();
    let missing = d.join("does-not-exist.jpg");
    let (code, reports) = inspect(&[d, &missing]);
    assert_eq!(code, 1);
    let r = by_name(&reports);
    assert!(r["ok.txt"].get("error").is_none());
    assert_eq!(r["empty.tif"]["mime"], "application/x-empty");
    for (name, kind) in [
        ("truncated.jpg", "malformed"),
        ("junk.pdf", "malformed"),
        ("huge.png", "limit_exceeded"),
        ("short.tif", "malformed"),
        ("does-not-exist.jpg", "io"),
    ] {
        assert_eq!(r[name]["error"]["kind"], kind, "{name}: {:#}", r[name]);
    }
    // The identification survives a characterization error.
    assert_eq!(r["huge.png"]["puid"], "fmt/11");
}

#[test]
fn extension_mismatch_is_a_warning_and_text_output_is_chinese() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixtures().join("jfif.jpg"), dir.path().join("scan.tif")).unwrap();
    let (_, reports) = inspect(&[dir.path()]);
    let w = reports[0]["warnings"][0].as_str().unwrap();
    assert!(w.contains("extension .tif"), "{w}");
    let out = Command::cargo_bin("dangan")
        .unwrap()
        .args(["inspect", "-r"])
        .arg(fixtures().join("bitonal.tif"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("色彩模式: 黑白二值"), "{text}");
    assert!(text.contains("分辨率: 300 dpi"), "{text}");
}
