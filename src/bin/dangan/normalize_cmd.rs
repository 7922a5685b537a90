//! `dangan normalize PATH --out DIR`: the format policy applied to a folder, without packaging.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::Context as _;

use dangan::context::Context;
use dangan::model::Outcome;
use dangan::normalize::{self, Options, Policy, Tools};

use crate::Status;
use crate::args::{Global, Lang};
use crate::output::{print, print_json};
use clap::Args;
use std::path::PathBuf;

pub fn run(global: &Global, args: NormalizeArgs) -> anyhow::Result<Status> {
    let mut policy = Policy::load_or_embedded(args.policy.as_deref())?;
    // issue 14: --access overrides the policy's [ocr] access list.
    if let Some(a) = args.access {
        policy.ocr.set_access(a);
    }
    let ctx = match &args.created {
        Some(t) => {
            let now: jiff::Timestamp = t
                .parse()
                .with_context(|| format!("--created {t}: not an RFC 3339 time"))?;
            // Seeded from the time so that identifiers repeat too.
            Context::fixed(now, &format!("dangan normalize {t}"))
        }
        None => Context::live(),
    };
    let tools = Tools::probe(std::env::var_os("PATH"));
    let items = BTreeMap::new();
    let qc = dangan::qc::QcPolicy::embedded();
    let budget = qc.budget();
    let opts = Options {
        policy: &policy,
        tools: &tools,
        items: &items,
        qc: Some(&qc),
        budget: &budget,
        progress: &dangan::no_tick,
        digests: &[],
        sink: None,
    };
    let report = normalize::normalize(&args.path, &args.out, &opts, &ctx)?;
    if args.json {
        print_json(&report)?;
    } else {
        let zh = global.lang == Lang::Zh;
        let mut s = String::new();
        for r in &report.records {
            let mark = match r.outcome {
                Outcome::Success => "✓",
                Outcome::Warning => "!",
                Outcome::Failure => "✗",
                Outcome::Skipped => "–",
            };
            write!(s, "{mark} {:<14} {}", r.action, r.sources.join(", "))?;
            if !r.outputs.is_empty() {
                let shown: Vec<&str> = r.outputs.iter().take(3).map(String::as_str).collect();
                let more = r.outputs.len().saturating_sub(3);
                write!(s, " → {}", shown.join(", "))?;
                if more > 0 {
                    write!(s, " (+{more})")?;
                }
            }
            if let Some(d) = &r.detail {
                write!(s, "  [{d}]")?;
            }
            writeln!(s)?;
        }
        for f in &report.findings {
            writeln!(
                s,
                "! {}: {}",
                f.path.as_deref().unwrap_or("-"),
                f.message_in(global.lang)
            )?;
        }
        let (ok, warn, failed, skipped) = (
            report.count(Outcome::Success),
            report.count(Outcome::Warning),
            report.count(Outcome::Failure),
            report.count(Outcome::Skipped),
        );
        if zh {
            writeln!(
                s,
                "{} 个文件，{} 项处理：成功 {ok}，警告 {warn}，失败 {failed}，跳过 {skipped}；输出 {}",
                report.files.len(),
                report.records.len(),
                args.out.display()
            )?;
        } else {
            writeln!(
                s,
                "{} files, {} actions: {ok} ok, {warn} warnings, {failed} failed, {skipped} skipped; output {}",
                report.files.len(),
                report.records.len(),
                args.out.display()
            )?;
        }
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
pub struct NormalizeArgs {
    /// A folder (or one file) to normalize.
    pub path: PathBuf,
    /// The output folder; must not exist yet (or be empty). Written atomically.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// A format policy (TOML) laid over the built-in one (profiles/policy.toml).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Searchable access forms of OCR'd scans (issue 14): pdf, ofd, pdf,ofd or none; overrides the
    /// policy's [ocr] access list.
    #[arg(long, value_name = "FORMS")]
    pub access: Option<dangan::ocr::AccessChoice>,
    /// Print the whole report (files, provenance records, findings) as JSON.
    #[arg(long)]
    pub json: bool,
    /// The time to record (RFC 3339), instead of now; with it the same input gives the same bytes.
    #[arg(long, value_name = "RFC3339")]
    pub created: Option<String>,
}
