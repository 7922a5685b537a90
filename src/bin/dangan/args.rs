//! Command-line arguments (clap derive). Each flag carries its own help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// dangan (档案): digitization and long-term preservation of archives.
///
/// Reads the 目录 of a batch of scans and electronic records, identifies and checks every file, and writes
/// E-ARK SIP 2.2.0 packages keyed to the catalog; validates packages on ingest (四性检测) and re-checks their
/// fixity for years. The Xinzhou catalog (忻州市精准扶贫档案整理目录) is built in.
///
/// Exit codes: 0 ok, 1 checks ran and found failures, 2 an error stopped the run.
#[derive(Debug, Parser)]
#[command(name = "dangan", version, max_term_width = 110)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command understands.
#[derive(Debug, Args)]
pub struct Global {
    /// Catalog profile (TOML) to use instead of the built-in Xinzhou catalog.
    #[arg(long, global = true, value_name = "PATH")]
    pub profile: Option<PathBuf>,
    /// Language of human-readable output.
    #[arg(long, global = true, value_enum, default_value_t = Lang::Zh)]
    pub lang: Lang,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SplitArg {
    None,
    Code,
    Year,
    Household,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// 中文
    Zh,
    /// English
    En,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Look up catalog codes: list the tree, show one node, search by words.
    #[command(subcommand)]
    Catalog(CatalogCmd),
    /// Check archival reference codes (档号, DA/T 22-2015) and show their parts.
    ///
    /// Example: dangan danghao 'J001-WS·2019-Y-BGS-0001'
    Danghao(DanghaoArgs),
    /// Check a batch before packing: read its 目录, check every row and match every file; write nothing.
    ///
    /// Lists every problem with its row number (header = row 1) or file: unknown catalog codes (with
    /// suggestions), bad 档号, duplicate 档号, gaps in 件号, bad dates and retention values, 页数 that
    /// disagrees with the page images, missing files, files no row claims. Exit 1 when the batch has errors.
    ///
    /// Example: dangan intake ./batch-2024-03 --json
    Intake(IntakeArgs),
    /// Turn a batch and its 目录 into an E-ARK SIP 2.2.0 package (METS, PREMIS, catalog.xml).
    ///
    /// Checks the batch first (as `dangan intake`) and writes nothing when it has errors. The package is
    /// built beside its destination, every written file is read back and checked, and only then is it
    /// renamed to its final name. --created and --id make the output byte-for-byte reproducible.
    ///
    /// Example: dangan pack fixtures/demo --out demo-out
    Pack(PackArgs),
    /// Ingest checks of an E-ARK SIP (folder or .zip, from any producer) with a 四性检测 report (DA/T 70-2018).
    ///
    /// Applies the E-ARK CSIP/SIP rules of the profile the package declares in mets/@PROFILE (or --spec) to
    /// the package METS and every representation METS, recomputes every size and checksum, then checks the
    /// four properties: 真实性 (fixity, 档号, catalog codes), 完整性 (totals, 件号, every item has files, no
    /// extra files), 可用性 (formats, files open, no encryption, readable metadata), 安全性 (no executables
    /// or macros, no path traversal, symlinks or zip bombs, virus scan when clamscan is on PATH).
    /// Exit 0 accepted, 1 rejected (any MUST failure), 2 could not run.
    ///
    /// Example: dangan validate demo-sip --html report.html
    Validate(ValidateArgs),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The package: a SIP folder or a .zip holding one.
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

#[derive(Debug, Args)]
pub struct PackArgs {
    /// The batch folder: files and the 目录 (目录.csv or 目录.xlsx).
    pub batch: PathBuf,
    /// Where to write packages (created if missing); each package is a folder named by its ID.
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
    #[arg(long)]
    pub zip: bool,
    /// One package per group: none, code (catalog code), year (年度), household (一户一档, by 户编号).
    #[arg(long, value_enum, default_value_t = SplitArg::None)]
    pub split_by: SplitArg,
    /// One JSON object: {"packages": [{"id", "path", "items", "files", "bytes"}], "findings": [...]}.
    #[arg(long)]
    pub json: bool,
}

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

#[derive(Debug, Subcommand)]
pub enum CatalogCmd {
    /// Print the catalog as an indented tree (or JSON).
    ///
    /// Examples: dangan catalog list --level C; dangan catalog list --under X-1.3 --json
    List {
        /// Only this filing-unit level: S 市级, X 县级, Z 乡镇, C 行政村, H 贫困户.
        #[arg(long, value_name = "LEVEL")]
        level: Option<String>,
        /// Only the subtree under this code (typed as you like: x1.3, 县级1.3, Ｘ－１．３).
        #[arg(long, value_name = "CODE")]
        under: Option<String>,
        /// One JSON array of nodes: code, parent, level, kind, name, text, …
        #[arg(long)]
        json: bool,
    },
    /// Show one node: its path from the level down, full wording, annotations and children.
    ///
    /// Example: dangan catalog show 县级1.3.6
    Show {
        /// The catalog code, e.g., c3.1.6, 户1.4.
        code: String,
        #[arg(long)]
        json: bool,
    },
    /// Find nodes by words in their heading or wording, best first.
    ///
    /// Example: dangan catalog search 危房
    Search {
        /// Words to look for; every word must match.
        #[arg(required = true)]
        words: Vec<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct DanghaoArgs {
    /// One or more 档号, e.g. J001-WS·2019-Y-BGS-0001 (file-name forms with '_' for '·' are accepted).
    #[arg(required = true)]
    pub codes: Vec<String>,
    #[arg(long)]
    pub json: bool,
}
