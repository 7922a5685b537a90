//! `dangan qc PATH`: scan quality control (DA/T 31-2017) of a folder or files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use dangan::model::Level;
use dangan::qc::{ColourMode, QcPolicy, QcReport, check_files};

use crate::Status;
use crate::args::{Global, Lang, QcArgs};
use crate::intake_cmd::render_findings;
use crate::output::{print, print_json};

/// The files to check under `path` (a file, or a folder walked without following links), relative to
/// the returned root.
fn collect(path: &Path) -> anyhow::Result<(PathBuf, Vec<String>)> {
    let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    if meta.is_file() {
        let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok((root, vec![name]));
    }
    let mut rels = Vec::new();
    for e in walkdir::WalkDir::new(path).sort_by_file_name() {
        let e = e.with_context(|| format!("walking {}", path.display()))?;
        if !e.file_type().is_file() {
            continue;
        }
        let rel = e.path().strip_prefix(path).unwrap_or(e.path());
        let Some(rel) = rel.to_str() else {
            eprintln!(
                "dangan: skipping a file whose name is not UTF-8: {}",
                rel.display()
            );
            continue;
        };
        let lower = rel.to_lowercase();
        // The 目录 and other spreadsheets travel with scans; they are not pages.
        if lower.ends_with(".csv") || lower.ends_with(".xlsx") {
            continue;
        }
        rels.push(rel.replace('\\', "/"));
    }
    Ok((path.to_path_buf(), rels))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A colour mode in `lang`.
fn colour(m: ColourMode, lang: Lang) -> &'static str {
    match (lang, m) {
        (Lang::Zh, m) => m.label_zh(),
        (Lang::En, ColourMode::Bitonal) => "bitonal",
        (Lang::En, ColourMode::Grayscale) => "grayscale",
        (Lang::En, ColourMode::Colour) => "colour",
    }
}

/// A self-contained HTML report in Chinese or English: summary, one row per page, batch findings.
pub fn html(report: &QcReport, source: &str, lang: Lang) -> String {
    let mut s = String::new();
    let failed = report.pages.iter().filter(|p| !p.ok()).count();
    let l = |zh: &'static str, en: &'static str| lang.pick(zh, en);
    let _ = write!(
        s,
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:4px 8px}}\
         .fail{{background:#fdd}}.ok{{background:#dfd}}</style></head><body>\
         <h1>{} (DA/T 31-2017)</h1><p>{}: {}</p>\
         <p class=\"{}\">{}: <strong>{}</strong> — {}</p>\
         <table><tr><th>{}</th><th>{} (dpi)</th><th>{}</th><th>{}</th><th>{} (°)</th><th>{}</th></tr>",
        l("zh-CN", "en"),
        l("扫描质量检查报告", "Scan quality report"),
        l("扫描质量检查报告", "Scan quality report"),
        l("检查对象", "Checked"),
        html_escape(source),
        if report.ok { "ok" } else { "fail" },
        l("结论", "Verdict"),
        if report.ok {
            l("合格", "pass")
        } else {
            l("不合格", "FAIL")
        },
        match lang {
            Lang::Zh => format!("共 {} 页, 不合格 {} 页", report.pages.len(), failed),
            Lang::En => format!("{} pages, {} failed", report.pages.len(), failed),
        },
        l("文件", "File"),
        l("分辨率", "Resolution"),
        l("色彩模式", "Colour mode"),
        l("空白页", "Blank"),
        l("倾斜", "Skew"),
        l("问题", "Problems"),
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
            colour(p.colour_mode, lang),
            if p.blank {
                l("是", "yes")
            } else {
                l("否", "no")
            },
            p.skew_degrees
                .map(|d| format!("{d:.2}"))
                .unwrap_or_else(|| "—".into()),
            problems.join("<br>")
        );
    }
    let _ = write!(s, "</table><h2>{}</h2><ul>", l("批次检查", "Batch checks"));
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
    let (root, rels) = collect(&args.path)?;
    if rels.is_empty() {
        anyhow::bail!("{}: no files to check", args.path.display());
    }
    let report = check_files(&root, &rels, &policy);
    if let Some(out) = &args.html {
        let text = html(&report, &args.path.display().to_string(), global.lang);
        // Through the one publish path: staged hidden beside it, locked, and renamed over a report of
        // an earlier run in one step.
        let staging = dangan::package::publish::Staging::begin(out)?;
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
                colour(p.colour_mode, global.lang),
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
