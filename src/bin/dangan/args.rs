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
    /// Make preservation masters and access copies by the format policy; never modifies the input.
    ///
    /// Scanned pages (档号-NNNN.jpg …) get lossless TIFF masters and one PDF/A-2b per item; photos access
    /// JPEGs and thumbnails; MP3/AAC/FLAC/Ogg a WAV; MBOX one EML per message plus HTML; video an MP4
    /// (ffmpeg); Office files a PDF (LibreOffice). A missing tool is recorded as skipped.
    ///
    /// Example: dangan normalize batch/ --out batch-normalized --created 2024-01-01T00:00:00Z
    Normalize(NormalizeArgs),
}

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
    /// Print the whole report (files, provenance records, findings) as JSON.
    #[arg(long)]
    pub json: bool,
    /// The time to record (RFC 3339), instead of now; with it the same input gives the same bytes.
    #[arg(long, value_name = "RFC3339")]
    pub created: Option<String>,
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
