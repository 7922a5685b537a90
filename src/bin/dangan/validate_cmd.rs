//! `dangan validate PACKAGE`: ingest checks and the 四性检测 report.

use anyhow::Context as _;

use dangan::catalog::Catalog;
use dangan::report;
use dangan::validate::{Options, Spec, validate};

use crate::Status;
use crate::args::Global;
use crate::output::{print, print_json};
use clap::Args;
use std::path::PathBuf;

pub fn run(global: &Global, args: ValidateArgs) -> anyhow::Result<Status> {
    let spec = match &args.spec {
        None => None,
        Some(s) => Some(Spec::parse(s).with_context(|| {
            format!("unknown --spec '{s}': use csip, sip-2.0.4, sip-2.1.0 or sip-2.2.0")
        })?),
    };
    let options = Options {
        spec,
        catalog: Some(Catalog::load_or_embedded(global.profile.as_deref())?),
        virus_scan: !args.no_virus_scan,
        ..Options::default()
    };
    // s3://bucket/key (issue 16): the same package reader over object storage.
    let report = match crate::s3_cmd::url(&args.package)? {
        Some(url) => crate::s3_cmd::validate(global, &url, &options)?,
        None => validate(&args.package, &options)?,
    };
    let lang = global.lang;
    if let Some(path) = &args.html {
        std::fs::write(path, report::html(&report, lang))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        print_json(&report)?;
    } else {
        print(&report::text(&report, lang))?;
    }
    Ok(if report.accepted {
        Status::Ok
    } else {
        Status::Failed
    })
}

// ---- command-line arguments (owned here so that commands do not collide in one args.rs) ----

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The package: a SIP folder or a .zip holding one (or s3://bucket/key of either).
    pub package: PathBuf,
    /// Apply this profile instead of the declared one: csip, sip-2.0.4, sip-2.1.0, sip-2.2.0.
    #[arg(long, value_name = "SPEC")]
    pub spec: Option<String>,
    /// One JSON object: {"schema", "version", "accepted", "spec_applied", "findings": [...], "summary": {...}}.
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Do not run clamscan even when it is on PATH.
    #[arg(long)]
    pub no_virus_scan: bool,
}
