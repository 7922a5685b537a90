//! `dangan qc PATH`: scan quality control (DA/T 31-2017) of a folder or files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use dangan::model::Level;
use dangan::qc::{QcPolicy, QcReport};

use crate::Status;
use crate::args::{Global, Lang};
use crate::intake_cmd::render_findings;
use crate::output::{print, print_json};
use clap::Args;

/// The files to check under `path` (a file, or a folder walked without following links, hidden and
/// staging names skipped), relative to the returned root, and what the walk found (links, bad names).
fn collect(path: &Path) -> anyhow::Result<(PathBuf, Vec<String>, Vec<dangan::model::Finding>)> {
    let walked = dangan::scan::walk(path).with_context(|| format!("{}", path.display()))?;
    let rels = walked
        .files
        .into_iter()
        .filter(|rel| {
            let lower = rel.to_lowercase();
            // The 目录 and other spreadsheets travel with scans; they are not pages.
            !(lower.ends_with(".csv") || lower.ends_with(".xlsx"))
        })
        .collect();
    Ok((walked.root, rels, walked.findings))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// How a page is flagged, for the order of the thumbnails: failed first, then warned, then passed.
fn flag(p: &dangan::qc::PageReport) -> u8 {
    if !p.ok() {
        0
    } else if p.findings.iter().any(|f| f.level == Level::Warning) {
        1
    } else {
        2
    }
}

/// What is drawn over a thumbnail: the measured skew as a red line through the page's centre at that
/// angle (positive = content rotated counter-clockwise), a blank page crossed out.
fn overlay(p: &dangan::qc::PageReport, w: u32, h: u32) -> String {
    let mut s = format!(
        "<svg class=\"mark\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" aria-hidden=\"true\">"
    );
    if p.blank {
        let _ = write!(
            s,
            "<g class=\"blank\" stroke=\"#c00\" stroke-width=\"3\" opacity=\"0.8\">\
             <line x1=\"0\" y1=\"0\" x2=\"{w}\" y2=\"{h}\"/><line x1=\"{w}\" y1=\"0\" x2=\"0\" y2=\"{h}\"/></g>"
        );
    }
    if let Some(deg) = p.skew_degrees.filter(|d| d.abs() >= 0.05) {
        let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
        let half = f64::from(w) * 0.45;
        let (dx, dy) = (half * deg.to_radians().cos(), half * deg.to_radians().sin());
        let _ = write!(
            s,
            "<line class=\"skew\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#c00\" stroke-width=\"3\"/>\
             <line x1=\"{:.1}\" y1=\"{cy:.1}\" x2=\"{:.1}\" y2=\"{cy:.1}\" stroke=\"#06c\" stroke-width=\"1\" stroke-dasharray=\"4 3\"/>",
            cx - dx,
            cy + dy,
            cx + dx,
            cy - dy,
            cx - half,
            cx + half,
        );
    }
    s.push_str("</svg>");
    s
}

/// A self-contained HTML report (no script, no external resource): summary, a thumbnail of every page —
/// flagged pages first, the finding drawn on it where it can be — then one row per page and the batch
/// findings.
pub fn html(report: &QcReport, source: &str, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    let t = |z: &'static str, e: &'static str| if zh { z } else { e };
    let mut s = String::new();
    let failed = report.pages.iter().filter(|p| !p.ok()).count();
    let _ = write!(
        s,
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\
         <title>{}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:4px 8px}}\
         .fail{{background:#fdd}}.warn{{background:#ffe9b3}}.ok{{background:#dfd}}\
         .pages{{display:flex;flex-wrap:wrap;gap:12px}}figure{{margin:0;padding:6px;border:1px solid #999;width:330px}}\
         .thumb{{position:relative;line-height:0}}.thumb img{{display:block;border:1px solid #ccc}}\
         .thumb svg{{position:absolute;left:1px;top:1px}}figcaption{{font-size:12px;word-break:break-all}}</style></head><body>\
         <h1>{} (DA/T 31-2017)</h1><p>{}: {}</p>\
         <p class=\"{}\">{}: <strong>{}</strong> — {}</p>",
        t("zh-CN", "en"),
        t("扫描质量检查报告", "Scan QC report"),
        t("扫描质量检查报告", "Scan QC report"),
        t("检查对象", "Checked"),
        html_escape(source),
        if report.ok { "ok" } else { "fail" },
        t("结论", "Verdict"),
        if report.ok {
            t("合格", "pass")
        } else {
            t("不合格", "FAIL")
        },
        if zh {
            format!("共 {} 页, 不合格 {} 页", report.pages.len(), failed)
        } else {
            format!("{} pages, {} failed", report.pages.len(), failed)
        },
    );
    // The sheets to rescan, first: failed, then warned, each in path order.
    let mut order: Vec<&dangan::qc::PageReport> = report.pages.iter().collect();
    order.sort_by(|a, b| (flag(a), &a.path).cmp(&(flag(b), &b.path)));
    s.push_str("<section class=\"pages\">");
    for p in order {
        let class = ["fail", "warn", "ok"][usize::from(flag(p))];
        let _ = write!(
            s,
            "<figure class=\"{class}\" data-path=\"{}\"><div class=\"thumb\">",
            html_escape(&p.path)
        );
        match &p.thumbnail {
            Some(th) => {
                let _ = write!(
                    s,
                    "<img alt=\"{}\" width=\"{}\" height=\"{}\" src=\"data:image/jpeg;base64,{}\">{}",
                    html_escape(&p.path),
                    th.width,
                    th.height,
                    dangan::normalize::base64(&th.jpeg),
                    overlay(p, th.width, th.height)
                );
            }
            None => {
                let _ = write!(s, "<p>{}</p>", t("无法解码", "not decoded"));
            }
        }
        let _ = write!(
            s,
            "</div><figcaption><strong>{}</strong>",
            html_escape(&p.path)
        );
        for f in p.findings.iter().filter(|f| f.level > Level::Info) {
            let _ = write!(
                s,
                "<br>[{}] {}",
                html_escape(&f.rule),
                html_escape(f.message_in(lang))
            );
        }
        s.push_str("</figcaption></figure>");
    }
    let _ = write!(
        s,
        "</section><h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t("逐页结果", "Pages"),
        t("文件", "File"),
        t("分辨率 (dpi)", "Resolution (dpi)"),
        t("色彩模式", "Colour mode"),
        t("空白页", "Blank"),
        t("倾斜 (°)", "Skew (°)"),
        t("问题", "Findings"),
    );
    for p in &report.pages {
        let problems: Vec<String> = p
            .findings
            .iter()
            .map(|f| {
                format!(
                    "[{}] {}",
                    html_escape(&f.rule),
                    html_escape(f.message_in(lang))
                )
            })
            .collect();
        let _ = write!(
            s,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if p.ok() { "ok" } else { "fail" },
            html_escape(&p.path),
            p.dpi
                .map(|d| format!("{d:.0}"))
                .unwrap_or_else(|| "—".into()),
            if zh {
                p.colour_mode.label_zh()
            } else {
                p.colour_mode.label_en()
            },
            if p.blank {
                t("是", "yes")
            } else {
                t("否", "no")
            },
            p.skew_degrees
                .map(|d| format!("{d:.2}"))
                .unwrap_or_else(|| "—".into()),
            problems.join("<br>")
        );
    }
    let _ = write!(s, "</table><h2>{}</h2><ul>", t("批次检查", "Batch checks"));
    for f in &report.findings {
        let _ = write!(
            s,
            "<li>[{}] {}{}</li>",
            html_escape(&f.rule),
            f.path
                .as_deref()
                .map(|p| format!("{}: ", html_escape(p)))
                .unwrap_or_default(),
            html_escape(f.message_in(lang))
        );
    }
    s.push_str("</ul></body></html>\n");
    s
}

pub fn run(global: &Global, args: QcArgs) -> anyhow::Result<Status> {
    let policy = match &args.policy {
        Some(p) => QcPolicy::load(p)?,
        None => QcPolicy::embedded(),
    };
    let (root, rels, walk_findings) = collect(&args.path)?;
    if rels.is_empty() {
        anyhow::bail!("{}: no files to check", args.path.display());
    }
    let mut report =
        dangan::qc::check_files_with(&root, &rels, &policy, args.html.is_some(), &dangan::no_tick);
    if !walk_findings.is_empty() {
        report.ok &= walk_findings.iter().all(|f| f.level < Level::Error);
        report.findings.splice(0..0, walk_findings);
    }
    // issue 14: --ocr adds each page's mean OCR confidence (the built-in format policy's [ocr] settings).
    if args.ocr {
        let ocr = dangan::normalize::Policy::load_or_embedded(None)?.ocr;
        dangan::ocr::qc::annotate_with_tesseract(&root, &mut report, &ocr, &policy.budget())
            .map_err(anyhow::Error::msg)?;
    }
    if let Some(out) = &args.html {
        let text = html(&report, &args.path.display().to_string(), global.lang);
        // Through the one publish path: staged hidden beside it, locked, and renamed over a report of
        // an earlier run in one step.
        let staging = dangan::publish::Staging::begin(out)?;
        std::fs::write(staging.path(), text)
            .with_context(|| format!("{}", staging.path().display()))?;
        staging.replace_file()?;
    }
    if args.json {
        print_json(&report)?;
    } else {
        let mut s = String::new();
        for p in &report.pages {
            let _ = writeln!(
                s,
                "{} {}  {}  {}{}{}",
                if p.ok() { "✓" } else { "✗" },
                p.path,
                p.dpi
                    .map(|d| format!("{d:.0} dpi"))
                    .unwrap_or_else(|| global.lang.pick("无分辨率", "no resolution").into()),
                global
                    .lang
                    .pick(p.colour_mode.label_zh(), p.colour_mode.label_en()),
                p.skew_degrees
                    .map(|d| format!("  {} {d:.2}°", global.lang.pick("倾斜", "skew")))
                    .unwrap_or_default(),
                if p.blank {
                    global.lang.pick("  空白页", "  blank page")
                } else {
                    ""
                },
            );
            for f in p.findings.iter().filter(|f| f.level > Level::Info) {
                let _ = writeln!(s, "    [{}] {}", f.rule, f.message_in(global.lang));
            }
        }
        s.push_str(&render_findings(&report.findings, global.lang));
        let failed = report.pages.iter().filter(|p| !p.ok()).count();
        let _ = match global.lang {
            Lang::Zh => writeln!(
                s,
                "共 {} 页, 不合格 {} 页 — {}",
                report.pages.len(),
                failed,
                if report.ok { "合格" } else { "不合格" }
            ),
            Lang::En => writeln!(
                s,
                "{} pages, {} failed — {}",
                report.pages.len(),
                failed,
                if report.ok { "pass" } else { "FAIL" }
            ),
        };
        print(&s)?;
    }
    Ok(if report.ok {
        Status::Ok
    } else {
        Status::Failed
    })
}

// ---- command-line arguments (owned here so that commands do not collide in one args.rs) ----

#[derive(Debug, Args)]
pub struct QcArgs {
    /// A folder of scans (walked recursively) or one file.
    pub path: PathBuf,
    /// QC thresholds (TOML, same shape as profiles/qc.toml) instead of the built-in ones.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Also write a self-contained HTML report (Chinese) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// One JSON object: {"ok", "pages": [{"path", "dpi", "colour_mode", "blank", "skew_degrees", "findings"}], "findings"}.
    #[arg(long)]
    pub json: bool,
    /// Also OCR each page (Tesseract, the format policy's [ocr] languages) and report its mean confidence;
    /// pages under the policy's minimum are flagged for review (issue 14).
    #[arg(long)]
    pub ocr: bool,
}
