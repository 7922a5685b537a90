//! `dangan pack BATCH --out DIR`.

use std::fmt::Write as _;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use dangan::catalog::Catalog;
use dangan::context::Context;
use dangan::pack::{PackOptions, Progress, SplitBy, Stage, pack_with_progress};
use dangan::package::Form;

use crate::Status;
use crate::args::{Global, Lang};
use crate::intake_cmd::render_findings;
use crate::output::{print, print_json};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// A bar per stage on stderr: what is being done, files done of the stage's total, rate and ETA.
struct StageBar {
    bar: ProgressBar,
    lang: Lang,
}

impl StageBar {
    fn new(lang: Lang) -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {msg} [{bar:24}] {pos}/{len} {per_sec} ETA {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        StageBar { bar, lang }
    }
}

impl Drop for StageBar {
    fn drop(&mut self) {
        // Leave the terminal clean for the report that follows.
        self.bar.finish_and_clear();
    }
}

impl Progress for StageBar {
    fn stage(&self, stage: Stage) {
        let l = |zh: &'static str, en: &'static str| self.lang.pick(zh, en);
        let (msg, len) = match stage {
            Stage::Intake => (
                l("检查目录与文件", "checking the manifest and files").to_string(),
                0,
            ),
            Stage::Scan { files } => (
                l(
                    "读取、校验与识别 (文件)",
                    "reading, hashing and identifying (files)",
                )
                .to_string(),
                files,
            ),
            Stage::Normalize { files } => (
                l(
                    "扫描质量检查与格式转换 (文件)",
                    "scan QC and normalization (files)",
                )
                .to_string(),
                files,
            ),
            Stage::Write {
                index,
                count,
                id,
                files,
            } => (
                format!(
                    "[{index}/{count}] {id} {}",
                    l("写入并校验 (文件)", "writing and checking (files)")
                ),
                files,
            ),
        };
        self.bar.reset();
        self.bar.set_length(len as u64);
        self.bar.set_message(msg);
    }
    fn advance(&self, units: u64) {
        self.bar.inc(units);
    }
}

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
            let mut p = dangan::normalize::Policy::load_or_embedded(args.policy.as_deref())?;
            // issue 14: --access overrides the policy's [ocr] access list.
            if let Some(a) = args.access {
                p.ocr.set_access(a);
            }
            Some(p)
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
        // --- begin eep (issue 15)
        sip: args.format.contains(&FormatArg::Sip),
        eep: eep_options(&args)?,
        // --- end eep
    };
    // Progress on stderr only when a person is watching.
    let bar =
        std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| StageBar::new(global.lang));
    let started = std::time::Instant::now();
    // --out s3://… (issue 16): pack into a local staging folder, then upload and publish each package.
    let s3 = crate::s3_cmd::pack_destination(global, &args.out)?;
    let out = s3
        .as_ref()
        .map_or(args.out.as_path(), |d| d.staging.as_path());
    let report = match &bar {
        Some(b) => pack_with_progress(&args.batch, out, &catalog, &options, &ctx, b),
        None => pack_with_progress(&args.batch, out, &catalog, &options, &ctx, &()),
    };
    if let Some(bar) = bar {
        drop(bar);
        let secs = started.elapsed().as_secs_f64();
        match global.lang {
            Lang::Zh => eprintln!("用时 {secs:.1} 秒"),
            Lang::En => eprintln!("took {secs:.1} s"),
        }
    }
    let mut report = report?;
    if let Some(dest) = &s3 {
        let mut paths: Vec<&mut std::path::PathBuf> =
            report.packages.iter_mut().map(|p| &mut p.path).collect();
        dest.publish(&mut paths, global.lang == Lang::Zh, args.json)?;
    }
    let ok = !report.packages.is_empty();
    // eep (issue 15): an EEP run may publish some items and refuse others (out of DA/T 48's scope): rc 1.
    let refused = report
        .findings
        .iter()
        .any(|f| f.level >= dangan::model::Level::Error);
    if args.json {
        print_json(&report)?;
    } else {
        let mut s = render_findings(&report.findings, global.lang);
        for p in &report.packages {
            let _ = match global.lang {
                Lang::Zh => writeln!(
                    s,
                    "已生成 {}: {} 条目, {} 个文件, {} 字节 → {}",
                    p.id,
                    p.items,
                    p.files,
                    p.bytes,
                    p.path.display()
                ),
                Lang::En => writeln!(
                    s,
                    "wrote {}: {} items, {} files, {} bytes → {}",
                    p.id,
                    p.items,
                    p.files,
                    p.bytes,
                    p.path.display()
                ),
            };
        }
        if ok {
            let en = global.lang == dangan::model::Lang::En;
            let per_page: Vec<String> = report
                .stats
                .bytes_per_page
                .iter()
                .map(|(rep, b)| format!("{rep} {:.0}", b))
                .collect();
            let stages: Vec<String> = report
                .stats
                .stage_seconds
                .iter()
                .map(|(n, t)| format!("{n} {t:.2}s"))
                .collect();
            if en {
                let _ = writeln!(
                    s,
                    "bytes per page ({} pages): {}",
                    report.stats.pages,
                    per_page.join(", ")
                );
                let _ = writeln!(s, "time per stage: {}", stages.join(", "));
            } else {
                let _ = writeln!(
                    s,
                    "每页字节数 ({} 页): {}",
                    report.stats.pages,
                    per_page.join(", ")
                );
                let _ = writeln!(s, "各阶段用时: {}", stages.join(", "));
            }
        } else {
            let _ = writeln!(
                s,
                "{}",
                global.lang.pick(
                    "批次有错误, 未生成任何封装包。",
                    "the batch has errors: no package was written."
                )
            );
        }
        print(&s)?;
    }
    Ok(if ok && !refused {
        Status::Ok
    } else {
        Status::Failed
    })
}

// --- begin eep (issue 15)
/// EEP options from `--format`, `--sign-key`, `--sign-cert` and `--eep-profile`.
fn eep_options(args: &PackArgs) -> anyhow::Result<Option<dangan::eep::EepOptions>> {
    if !args.format.contains(&FormatArg::Eep) {
        anyhow::ensure!(
            args.sign_key.is_none() && args.eep_profile.is_none(),
            "--sign-key and --eep-profile apply to EEP packages: add --format eep (or sip,eep)"
        );
        return Ok(None);
    }
    let signer = match &args.sign_key {
        Some(key) => Some(dangan::eep::Signer::load(key, args.sign_cert.as_deref())?),
        None => None,
    };
    Ok(Some(dangan::eep::EepOptions {
        profile: dangan::eep::EepProfile::load_or_embedded(args.eep_profile.as_deref())?,
        signer,
    }))
}

/// A package format `--format` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// E-ARK SIP 2.2.0 (METS, PREMIS).
    Sip,
    /// DA/T 48-2009 EEP: one <档号>.eep.xml per item (text and still images).
    Eep,
}
// --- end eep

// ---- command-line arguments (owned here so that commands do not collide in one args.rs) ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SplitArg {
    None,
    Code,
    Year,
    Household,
}

#[derive(Debug, Args)]
pub struct PackArgs {
    /// The batch folder: files and the 目录 (目录.csv or 目录.xlsx).
    pub batch: PathBuf,
    /// Where to write packages (created if missing); each package is a folder named by its ID. An
    /// s3://bucket/prefix uploads them to object storage, published only once read back and checked.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The 目录 file, when it is not 目录.csv/目录.xlsx in the batch folder.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Package ID (mets/@OBJID and folder name); default: the batch folder's name.
    #[arg(long)]
    pub id: Option<String>,
    /// Creation time to record instead of now (RFC 3339, e.g. 2026-01-01T00:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub created: Option<String>,
    /// The submitting organisation (报送单位), recorded as the SIP's submitter agent.
    #[arg(long, default_value = "未注明报送单位")]
    pub submitter: String,
    /// The submitter's identification code (e.g. 统一社会信用代码).
    #[arg(long)]
    pub submitter_id: Option<String>,
    /// Also record SM3 (GB/T 32905) digests in PREMIS.
    #[arg(long)]
    pub sm3: bool,
    /// Write each package as <ID>.zip (deterministic; media stored, the rest deflated).
    #[arg(long, conflicts_with = "bag")]
    pub zip: bool,
    /// Write each package as a BagIt 1.0 bag (sha256 + sha512) whose data/<ID>/ is the SIP.
    #[arg(long)]
    pub bag: bool,
    /// Scan QC thresholds (TOML, as profiles/qc.toml) instead of the built-in DA/T 31 ones.
    #[arg(long, value_name = "FILE")]
    pub qc_policy: Option<PathBuf>,
    /// Format policy (TOML, as profiles/policy.toml) laid over the built-in one.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Package the originals only: no preservation masters or access copies.
    #[arg(long, conflicts_with = "policy")]
    pub no_normalize: bool,
    /// Searchable access forms of OCR'd scans (issue 14): pdf, ofd, pdf,ofd or none; overrides the
    /// policy's [ocr] access list.
    #[arg(long, value_name = "FORMS", conflicts_with = "no_normalize")]
    pub access: Option<dangan::ocr::AccessChoice>,
    /// One package per group: none, code (catalog code), year (年度), household (一户一档, by 户编号).
    #[arg(long, value_enum, default_value_t = SplitArg::None)]
    pub split_by: SplitArg,
    /// One JSON object: {"packages": [{"id", "path", "items", "files", "bytes"}], "findings": [...]}.
    #[arg(long)]
    pub json: bool,
    // --- begin eep (issue 15)
    /// Package formats to write: sip (E-ARK SIP), eep (DA/T 48-2009, one <档号>.eep.xml per item), or both.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "sip")]
    pub format: Vec<FormatArg>,
    /// Sign each EEP with this private key (PEM: SM2 → SM2/SM3, RSA → RSA-SHA256), then lock the signature.
    #[arg(long, value_name = "KEY.pem", requires = "format")]
    pub sign_key: Option<PathBuf>,
    /// The signer's X.509 certificate (PEM or DER), recorded in 证书块; without it the public key is.
    #[arg(long, value_name = "CERT.pem", requires = "sign_key")]
    pub sign_cert: Option<PathBuf>,
    /// EEP profile (TOML, as profiles/eep.toml): 来源, operator, defaults.
    #[arg(long, value_name = "FILE")]
    pub eep_profile: Option<PathBuf>,
    // --- end eep
}
