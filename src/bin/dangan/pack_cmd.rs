//! `dangan pack BATCH --out DIR`.

use std::fmt::Write as _;

use anyhow::Context as _;

use dangan::catalog::Catalog;
use dangan::context::Context;
use dangan::pack::{PackOptions, SplitBy, Stage, pack_with_progress};
use dangan::package::Form;

use crate::Status;
use crate::args::{Global, PackArgs, SplitArg};
use crate::intake_cmd::render_findings;
use crate::output::{print, print_json};

/// The run's context: `--created` pins the clock, and with `--id` the identifiers, so the same input
/// gives the same bytes.
pub fn context(created: Option<&str>, seed: Option<&str>) -> anyhow::Result<Context> {
    Ok(match created {
        Some(t) => {
            let now: jiff::Timestamp = t
                .parse()
                .with_context(|| format!("--created '{t}' is not an RFC 3339 time"))?;
            Context::fixed(now, seed.unwrap_or(t))
        }
        None => match seed {
            Some(s) => Context::fixed(jiff::Timestamp::now(), s),
            None => Context::live(),
        },
    })
}

pub fn run(global: &Global, args: PackArgs) -> anyhow::Result<Status> {
    let catalog = Catalog::load_or_embedded(global.profile.as_deref())?;
    let ctx = context(args.created.as_deref(), args.id.as_deref())?;
    let options = PackOptions {
        manifest: args.manifest.clone(),
        id: args.id.clone(),
        label: None,
        submitter: args.submitter.clone(),
        submitter_id: args.submitter_id.clone(),
        sm3: args.sm3,
        form: if args.zip {
            Form::Zip
        } else if args.bag {
            Form::Bag
        } else {
            Form::Folder
        },
        policy: if args.no_normalize {
            None
        } else {
            Some(dangan::normalize::Policy::load_or_embedded(
                args.policy.as_deref(),
            )?)
        },
        tools: dangan::normalize::Tools::probe(std::env::var_os("PATH")),
        qc: match &args.qc_policy {
            Some(p) => Some(dangan::qc::QcPolicy::load(p)?),
            None => None,
        },
        split_by: match args.split_by {
            SplitArg::None => SplitBy::None,
            SplitArg::Code => SplitBy::Code,
            SplitArg::Year => SplitBy::Year,
            SplitArg::Household => SplitBy::Household,
        },
    };
    // Progress on stderr only when a person is watching.
    let bar = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    });
    let started = std::time::Instant::now();
    let show = |stage: Stage| {
        if let Some(bar) = &bar {
            bar.set_message(match stage {
                Stage::Intake => "检查目录与文件…".to_string(),
                Stage::Qc { pages } => format!("扫描质量检查 {pages} 页…"),
                Stage::Package { index, count, id } => {
                    format!("[{index}/{count}] {id}: 格式识别、转换、写入封装包…")
                }
            });
        }
    };
    let report = pack_with_progress(&args.batch, &args.out, &catalog, &options, &ctx, &show);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
        eprintln!("用时 {:.1} 秒", started.elapsed().as_secs_f64());
    }
    let report = report?;
    let ok = !report.packages.is_empty();
    if args.json {
        print_json(&report)?;
    } else {
        let mut s = render_findings(&report.findings, global.lang);
        for p in &report.packages {
            let _ = writeln!(
                s,
                "已生成 {}: {} 条目, {} 个文件, {} 字节 → {}",
                p.id,
                p.items,
                p.files,
                p.bytes,
                p.path.display()
            );
        }
        if !ok {
            let _ = writeln!(s, "批次有错误, 未生成任何封装包。");
        }
        print(&s)?;
    }
    Ok(if ok { Status::Ok } else { Status::Failed })
}
