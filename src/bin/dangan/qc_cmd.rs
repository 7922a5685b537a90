//! `dangan qc PATH`: scan quality control (DA/T 31-2017) of a folder or files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};


use anyhow::Context as _;

use dangan::model::Level;
use dangan::qc::{QcPolicy, QcReport, check_files};

use crate::Status;
use crate::args::{Global, Lang, QcArgs};
use crate::intake_cmd::render_findings;
use crate::output::{print, print_json};

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

/// A self-contained HTML report in Chinese: summary, one row per page, batch findings.
pub fn html(report: &QcReport, source: &str) -> String {
    let mut s = String::new();
    let failed = report.pages.iter().filter(|p| !p.ok()).count();
    let _ = write!(
        s,
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>扫描质量检查报告</title>\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:4px 8px}}\
         .fail{{background:#fdd}}.ok{{background:#dfd}}</style></head><body>\
         <h1>扫描质量检查报告 (DA/T 31-2017)</h1><p>检查对象: {}</p>\
         <p class=\"{}\">结论: <strong>{}</strong> — 共 {} 页, 不合格 {} 页</p>\
         <table><tr><th>文件</th><th>分辨率 (dpi)</th><th>色彩模式</th><th>空白页</th><th>倾斜 (°)</th><th>问题</th></tr>",
        html_escape(source),
        if report.ok { "ok" } else { "fail" },
        if report.ok { "合格" } else { "不合格" },
        report.pages.len(),
        failed
    );
    for p in &report.pages {
        let problems: Vec<String> = p
            .findings
            .iter()
            .map(|f| format!("[{}] {}", html_escape(&f.rule), html_escape(&f.message)))
            .collect();
        let _ = write!(
            s,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if p.ok() { "ok" } else { "fail" },
            html_escape(&p.path),
            p.dpi
                .map(|d| format!("{d:.0}"))
                .unwrap_or_else(|| "—".into()),
            p.colour_mode.label_zh(),
            if p.blank { "是" } else { "否" },
            p.skew_degrees
                .map(|d| format!("{d:.2}"))
                .unwrap_or_else(|| "—".into()),
            problems.join("<br>")
        );
    }
    s.push_str("</table><h2>批次检查</h2><ul>");
    for f in &report.findings {
        let _ = write!(
            s,
            "<li>[{}] {}{}</li>",
            html_escape(&f.rule),
            f.path
                .as_deref()
                .map(|p| format!("{}: ", html_escape(p)))
                .unwrap_or_default(),
            html_escape(&f.message)
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
    let mut report = check_files(&root, &rels, &policy);
    if !walk_findings.is_empty() {
        report.ok &= walk_findings.iter().all(|f| f.level < Level::Error);
        report.findings.splice(0..0, walk_findings);
    }
    if let Some(out) = &args.html {
        let text = html(&report, &args.path.display().to_string());
        let tmp = out.with_extension("html.partial");
        std::fs::write(&tmp, text).with_context(|| format!("{}", tmp.display()))?;
        std::fs::rename(&tmp, out).with_context(|| format!("{}", out.display()))?;
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
                    .unwrap_or_else(|| "无分辨率".into()),
                p.colour_mode.label_zh(),
                p.skew_degrees
                    .map(|d| format!("  倾斜 {d:.2}°"))
                    .unwrap_or_default(),
                if p.blank { "  空白页" } else { "" },
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
