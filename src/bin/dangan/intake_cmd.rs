//! `dangan intake BATCH`: the pre-flight check of a batch.

use std::fmt::Write as _;

use serde::Serialize;

use dangan::catalog::Catalog;
use dangan::intake::{Columns, Intake, IntakeOptions, intake};
use dangan::model::{Finding, Level};

use crate::Status;
use crate::args::{Global, Lang};
use crate::output::{print, print_json};
use clap::Args;
use std::path::PathBuf;

/// Findings as a person reads them: errors first, each with where and what.
pub fn render_findings(findings: &[Finding], lang: Lang) -> String {
    let mut s = String::new();
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by_key(|f| std::cmp::Reverse(f.level));
    for f in sorted {
        let level = f.level.word(lang);
        let _ = writeln!(
            s,
            "{level} [{}] {}{}",
            f.rule,
            f.path
                .as_deref()
                .map(|p| format!("{p}: "))
                .unwrap_or_default(),
            f.message_in(lang)
        );
    }
    s
}

pub fn run(global: &Global, args: IntakeArgs) -> anyhow::Result<Status> {
    let catalog = Catalog::load_or_embedded(global.profile.as_deref())?;
    let columns = Columns::embedded();
    let result: Intake = intake(
        &args.batch,
        &catalog,
        &columns,
        &IntakeOptions {
            manifest: args.manifest.clone(),
        },
    )?;
    let valid = result.is_valid();
    if args.json {
        #[derive(Serialize)]
        struct Out<'a> {
            valid: bool,
            #[serde(flatten)]
            intake: &'a Intake,
        }
        print_json(&Out {
            valid,
            intake: &result,
        })?;
    } else {
        let mut s = render_findings(&result.findings, global.lang);
        let errors = result
            .findings
            .iter()
            .filter(|f| f.level == Level::Error)
            .count();
        let files: usize = result.items.iter().map(|i| i.files.len()).sum();
        let _ = match global.lang {
            Lang::Zh => writeln!(
                s,
                "{}: {} 条目, {} 个文件已匹配 (批次共 {} 个文件), {} 个错误 — {}",
                result.manifest.display(),
                result.items.len(),
                files,
                result.files.len(),
                errors,
                if valid {
                    "可以打包"
                } else {
                    "不能打包, 请先改正以上错误"
                }
            ),
            Lang::En => writeln!(
                s,
                "{}: {} items, {} files matched ({} files in the batch), {} errors — {}",
                result.manifest.display(),
                result.items.len(),
                files,
                result.files.len(),
                errors,
                if valid {
                    "ready to pack"
                } else {
                    "cannot be packed: correct the errors above first"
                }
            ),
        };
        print(&s)?;
    }
    Ok(if valid { Status::Ok } else { Status::Failed })
}

// ---- command-line arguments (owned here so that commands do not collide in one args.rs) ----

#[derive(Debug, Args)]
pub struct IntakeArgs {
    /// The batch folder: page images and other files, and the 目录 (目录.csv or 目录.xlsx).
    pub batch: PathBuf,
    /// The 目录 file, when it is not 目录.csv/目录.xlsx in the batch folder.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// One JSON object: {"valid", "manifest", "encoding", "items": [...], "findings": [...]}.
    #[arg(long)]
    pub json: bool,
}
