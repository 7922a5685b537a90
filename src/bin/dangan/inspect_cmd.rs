//! `dangan inspect …`: identification and characterization of files, rendered as text or JSON.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use dangan::handler::{Characterization, Options, Report, ReportError, Source, inspect_source};

use crate::Status;
use crate::args::{Global, Lang};
use crate::output::{print, print_json};
use clap::Args;

/// The files named by the arguments, in a deterministic order: arguments as given, directory contents
/// sorted by name. A path that does not exist is kept, so that it is reported as an error.
fn collect(paths: &[PathBuf], recursive: bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let walker = walkdir::WalkDir::new(p)
                .max_depth(if recursive { usize::MAX } else { 1 })
                .sort_by_file_name();
            for entry in walker {
                match entry {
                    Ok(e) if e.file_type().is_file() => out.push(e.into_path()),
                    // A FIFO, socket or device in the folder is reported ("not a regular file"), never
                    // skipped in silence and never opened.
                    Ok(e)
                        if !e.file_type().is_dir()
                            && !e.file_type().is_symlink()
                            && e.depth() > 0 =>
                    {
                        out.push(e.into_path())
                    }
                    Ok(_) => {}
                    // An unreadable directory entry becomes a report with an I/O error.
                    Err(e) => {
                        out.push(e.path().map(Path::to_path_buf).unwrap_or_else(|| p.clone()))
                    }
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    out
}

pub fn run(global: &Global, args: InspectArgs) -> anyhow::Result<Status> {
    if args.signatures.is_some() || args.container_signatures.is_some() {
        let (bin, con) = (
            args.signatures.as_deref(),
            args.container_signatures.as_deref(),
        );
        dangan::identify::pronom::use_signature_files(bin, con).map_err(|e| {
            let shown: Vec<String> = bin
                .iter()
                .chain(&con)
                .map(|p| p.display().to_string())
                .collect();
            anyhow::anyhow!("{}: {e}", shown.join(", "))
        })?;
    }
    // The signature registry is built on another thread while the folders are walked and the first files
    // opened and read; identification waits for it only when it needs it (OnceLock).
    std::thread::spawn(|| {
        let _ = dangan::identify::pronom::signatures();
        let _ = dangan::identify::Registry::embedded();
    });
    let files = collect(&args.paths, args.recursive);
    let options = Options {
        identify_only: args.identify_only,
        ..Options::default()
    };
    // rayon's indexed collect keeps the input order, so output is deterministic.
    let reports: Vec<Report> = files
        .par_iter()
        .map(|f| inspect_file(f, &options))
        .collect();
    let failed = reports.iter().filter(|r| r.error.is_some()).count();
    if args.json {
        print_json(&reports)?;
    } else {
        let mut s = String::new();
        for r in &reports {
            render(&mut s, r, global.lang);
        }
        let zh = global.lang == Lang::Zh;
        let _ = writeln!(
            s,
            "{}",
            if zh {
                format!("共 {} 个文件，{} 个出错", reports.len(), failed)
            } else {
                format!("{} files, {} failed", reports.len(), failed)
            }
        );
        print(&s)?;
    }
    Ok(if failed > 0 {
        Status::Failed
    } else {
        Status::Ok
    })
}

/// Inspect one file, opened only if it is a regular file: a FIFO, socket or device is an error report
/// ("not a regular file"), never an `open()` that waits for a writer.
fn inspect_file(path: &Path, options: &Options) -> Report {
    let shown = path.display().to_string();
    let opened = dangan::fsutil::open_regular(path).and_then(|f| {
        let len = f.metadata()?.len();
        Ok((f, len))
    });
    match opened {
        Ok((file, len)) => {
            let mut src = Source::new(Box::new(std::io::BufReader::new(file)), len);
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            inspect_source(shown, &mut src, name.as_deref(), options)
        }
        Err(e) => Report {
            path: shown,
            size: None,
            puid: None,
            mime: None,
            format: None,
            version: None,
            encoding: None,
            basis: None,
            warnings: Vec::new(),
            characterization: Characterization::default(),
            error: Some(ReportError {
                kind: "io",
                message: format!("cannot open: {e}"),
            }),
        },
    }
}

fn dpi(x: Option<f64>, y: Option<f64>) -> Option<String> {
    match (x, y) {
        (Some(x), Some(y)) if (x - y).abs() < 0.01 => Some(format!("{} dpi", round(x))),
        (Some(x), Some(y)) => Some(format!("{}×{} dpi", round(x), round(y))),
        _ => None,
    }
}

fn round(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r}")
    }
}

fn render(s: &mut String, r: &Report, lang: Lang) {
    let zh = lang == Lang::Zh;
    let l = |zh_label: &'static str, en: &'static str| if zh { zh_label } else { en };
    let _ = writeln!(s, "{}", r.path);
    if let Some(format) = &r.format {
        let version = r
            .version
            .as_deref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default();
        let puid = r
            .puid
            .as_deref()
            .unwrap_or(if zh { "无 PUID" } else { "no PUID" });
        let enc = r
            .encoding
            .as_deref()
            .map(|e| format!(", {e}"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  {}: {format}{version} ({puid}, {}{enc})  {}: {}",
            l("格式", "format"),
            r.mime.as_deref().unwrap_or(""),
            l("大小", "size"),
            r.size.map(|n| n.to_string()).unwrap_or_default()
        );
    }
    let mut line = Vec::new();
    let mut push = |label: &str, value: String| line.push(format!("{label}: {value}"));
    let c = &r.characterization;
    if let Some(t) = &c.tiff {
        push(l("尺寸", "size"), format!("{}×{}", t.width, t.height));
        if let Some(m) = t.color_mode {
            push(
                l("色彩模式", "colour"),
                if zh {
                    m.zh().into()
                } else {
                    format!("{m:?}").to_lowercase()
                },
            );
        }
        if let Some(d) = dpi(t.x_dpi, t.y_dpi) {
            push(l("分辨率", "resolution"), d);
        }
        push(l("压缩", "compression"), t.compression_name.into());
        push(l("页数", "pages"), t.page_count.to_string());
    }
    if let Some(j) = &c.jpeg {
        push(l("尺寸", "size"), format!("{}×{}", j.width, j.height));
        push(
            l("色彩模式", "colour"),
            if zh {
                j.color_mode_zh.into()
            } else {
                j.color_mode.into()
            },
        );
        // The one resolution rule (raster::dpi): 1×1 or an aspect ratio only is unknown, as in QC.
        let (x, y) = match (j.density_unit, j.x_density, j.y_density) {
            (Some(u), Some(x), Some(y)) => dangan::raster::dpi::from_jfif_density(u, x, y)
                .map_or((None, None), |(x, y)| (Some(x), Some(y))),
            _ => (None, None),
        };
        if let Some(d) = dpi(x, y) {
            push(l("分辨率", "resolution"), d);
        }
    }
    if let Some(e) = &c.exif {
        let camera = [e.make.as_deref(), e.model.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if !camera.is_empty() {
            push(l("相机", "camera"), camera);
        }
        if let Some(d) = &e.date_time_original {
            push(l("拍摄时间", "taken"), d.clone());
        }
        if let (Some(la), Some(lo)) = (e.gps_latitude, e.gps_longitude) {
            push("GPS", format!("{la:.6}, {lo:.6}"));
        }
        if let Some(d) = &e.image_description {
            push(l("描述", "description"), d.clone());
        }
    }
    if let Some(p) = &c.png {
        push(l("尺寸", "size"), format!("{}×{}", p.width, p.height));
        push(
            l("色彩模式", "colour"),
            if zh {
                p.color_mode_zh.into()
            } else {
                p.color_mode.into()
            },
        );
        if let Some(d) = dpi(p.x_dpi, p.y_dpi) {
            push(l("分辨率", "resolution"), d);
        }
    }
    if let Some(i) = &c.image {
        push(l("尺寸", "size"), format!("{}×{}", i.width, i.height));
        if let Some(d) = dpi(i.x_dpi, i.y_dpi) {
            push(l("分辨率", "resolution"), d);
        }
    }
    if let Some(p) = &c.pdf {
        push(l("页数", "pages"), p.pages.to_string());
        if let Some(a) = &p.pdfa {
            push(
                "PDF/A",
                format!("{}{}", a.part, a.conformance.to_lowercase()),
            );
        }
        push(l("加密", "encrypted"), yes(p.encrypted, zh));
        push(
            l("文本层", "text"),
            format!("{}/{}", p.pages_with_text, p.pages_examined),
        );
        if let Some(v) = &p.producer {
            push(l("生成程序", "producer"), v.clone());
        }
    }
    if let Some(o) = &c.ofd {
        if let Some(n) = o.pages {
            push(l("页数", "pages"), n.to_string());
        }
        if let Some(t) = &o.title {
            push(l("题名", "title"), t.clone());
        }
        if let Some(a) = &o.author {
            push(l("作者", "author"), a.clone());
        }
    }
    if let Some(a) = &c.audio {
        push(l("编码", "codec"), a.codec.clone());
        if let Some(r) = a.sample_rate {
            push(l("采样率", "rate"), format!("{r} Hz"));
        }
        if let Some(b) = a.bits_per_sample {
            push(l("位深", "bits"), b.to_string());
        }
        if let Some(ch) = a.channels {
            push(l("声道", "channels"), ch.to_string());
        }
        if let Some(d) = a.duration_seconds {
            push(l("时长", "duration"), format!("{d:.3} s"));
        }
    }
    if let Some(v) = &c.video {
        push(l("容器", "container"), v.container.clone());
        if let (Some(w), Some(h)) = (v.width, v.height) {
            push(l("尺寸", "size"), format!("{w}×{h}"));
        }
        if let Some(c) = &v.video_codec {
            push(l("视频编码", "video"), c.clone());
        }
        if let Some(f) = v.frame_rate {
            push(l("帧率", "fps"), round(f));
        }
        if let Some(c) = &v.audio_codec {
            push(l("音频编码", "audio"), c.clone());
        }
        if let Some(d) = v.duration_seconds {
            push(l("时长", "duration"), format!("{d:.3} s"));
        }
    }
    if let Some(e) = &c.email {
        if let Some(sub) = &e.subject {
            push(l("主题", "subject"), sub.clone());
        }
        if !e.from.is_empty() {
            push(l("发件人", "from"), e.from.join(", "));
        }
        if let Some(d) = &e.date {
            push(l("日期", "date"), d.clone());
        }
        push(l("附件", "attachments"), e.attachments.len().to_string());
    }
    if let Some(m) = &c.mbox {
        push(l("邮件数", "messages"), m.message_count.to_string());
    }
    if let Some(z) = &c.zip {
        push(l("条目", "entries"), z.entries.to_string());
    }
    if !line.is_empty() {
        let _ = writeln!(s, "  {}", line.join("  "));
    }
    for w in &r.warnings {
        let _ = writeln!(s, "  {}: {w}", l("警告", "warning"));
    }
    if let Some(e) = &r.error {
        let _ = writeln!(s, "  {} ({}): {}", l("错误", "error"), e.kind, e.message);
    }
}

fn yes(b: bool, zh: bool) -> String {
    match (b, zh) {
        (true, true) => "是".into(),
        (false, true) => "否".into(),
        (true, false) => "yes".into(),
        (false, false) => "no".into(),
    }
}

// ---- command-line arguments (owned here so that commands do not collide in one args.rs) ----

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Files or directories (a directory's files are listed; with --recursive, its whole tree).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Descend into subdirectories.
    #[arg(short, long)]
    pub recursive: bool,
    /// One JSON array, an object per file: path, size, puid, mime, format, version, warnings, and a
    /// per-format object (tiff, jpeg, exif, png, pdf, ofd, audio, video, email, mbox, zip) or error.
    #[arg(long)]
    pub json: bool,
    /// Identify only (PUID, MIME, format); skip characterization.
    #[arg(long)]
    pub identify_only: bool,
    /// A DROID binary signature file (XML, or gzip'd XML) to use instead of the embedded PRONOM v109.
    #[arg(long, value_name = "FILE")]
    pub signatures: Option<PathBuf>,
    /// A DROID container signature file (XML) to use instead of the embedded one (2020-01-21).
    #[arg(long, value_name = "FILE")]
    pub container_signatures: Option<PathBuf>,
}
