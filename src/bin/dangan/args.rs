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
    /// Language of human-readable output: zh (中文, default) or en (English).
    #[arg(long, global = true, default_value = "zh", value_name = "zh|en")]
    pub lang: Lang,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SplitArg {
    None,
    Code,
    Year,
    Household,
}

pub use dangan::model::Lang;

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
    /// Identify files by content (PRONOM PUID, MIME, format, version) and show their technical metadata.
    ///
    /// Reads headers only: TIFF tags, EXIF, PNG, PDF, OFD, audio, video, e-mail. A file that cannot be read
    /// or parsed is reported with an error and the run goes on; the exit code is then 1.
    ///
    /// Examples: dangan inspect scans/ -r; dangan inspect photo.jpg --json
    Inspect(InspectArgs),
    /// Check scans against DA/T 31-2017 before they ship: resolution (≥ 200 dpi, 300 recommended),
    /// colour mode, blank pages, skew, page-sequence gaps and repeats, identical images, one format per batch.
    ///
    /// Thresholds come from the built-in policy (profiles/qc.toml) or --policy. Exit 1 when a page fails.
    ///
    /// Example: dangan qc ./batch --html qc-report.html
    Qc(QcArgs),
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
    /// Make preservation masters and access copies by the format policy; never modifies the input.
    ///
    /// Scanned pages (档号-NNNN.jpg …) get lossless TIFF masters and one PDF/A-2b per item; photos access
    /// JPEGs and thumbnails; MP3/AAC/FLAC/Ogg a WAV; MBOX one EML per message plus HTML; video an MP4
    /// (ffmpeg); Office files a PDF (LibreOffice). A missing tool is recorded as skipped.
    ///
    /// Example: dangan normalize batch/ --out batch-normalized --created 2024-01-01T00:00:00Z
    Normalize(NormalizeArgs),
    /// Make a new BagIt 1.0 bag (RFC 8493) holding a copy of SRC; SRC is only read.
    ///
    /// The bag is built beside DEST and renamed into place when complete. Example:
    /// dangan bag scans/ --out bags/batch-7 --algo sha256,sha512 --info 'Source-Organization: 忻州市档案馆'
    Bag(BagArgs),
    /// Check the fixity of packages: BagIt bags (0.93–1.0), E-ARK SIP folders, SIP .zip files (read in
    /// place, nothing extracted), bags wrapping a SIP, or folders holding many of these.
    ///
    /// Every changed, missing, unexpected and unreadable file is named with expected and actual digests.
    /// Exit 0 all good, 1 any failure, 2 could not run. Example for cron:
    /// dangan verify /archive --ledger /var/lib/dangan/fixity.jsonl --older-than 30d --shard 3/7 --quiet
    Verify(VerifyArgs),
    /// Read a fixity ledger written by `dangan verify --ledger`.
    #[command(subcommand)]
    Ledger(LedgerCmd),
    /// Print digests of files, every algorithm from one read of each file.
    ///
    /// Example: dangan hash --algo sha256,sm3 scan-0001.tif
    Hash(HashArgs),
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

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Files or directories (a directory's files are listed; with --recursive, its whole tree).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Descend into subdirectories.
    #[arg(short, long)]
    pub recursive: bool,
    /// One JSON array, an object per file: path, size, puid, mime, format, version, warnings, and a
    /// per-format object (tiff, jpeg, exif, png, pdf, ofd, audio, video, email, mbox, zip) or error.
    #[arg(long)]
    pub json: bool,
    /// Identify only (PUID, MIME, format); skip characterization.
    #[arg(long)]
    pub identify_only: bool,
    /// A DROID binary signature file (XML, or gzip'd XML) to use instead of the embedded PRONOM v109.
    #[arg(long, value_name = "FILE")]
    pub signatures: Option<PathBuf>,
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

#[derive(Debug, Args)]
pub struct BagArgs {
    /// The folder whose contents become the payload (data/).
    pub src: PathBuf,
    /// Where the new bag goes; must not exist.
    #[arg(long, value_name = "DEST")]
    pub out: PathBuf,
    /// Digest algorithms, comma-separated: sha256, sha512, sha384, sm3, sha3_256, sha3_512, sha3_384, sha3_224, blake2b, blake2s, sha224, sha1, md5.
    #[arg(long, value_name = "ALGS", default_value = "sha256")]
    pub algo: String,
    /// An extra bag-info.txt element, 'Label: value' (repeatable).
    #[arg(long = "info", value_name = "'Label: value'")]
    pub info: Vec<String>,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print a JSON summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Packages, or folders holding packages.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// One JSON object: {"ok", "packages": [{"path", "kind", "ok", "files", "bytes", "failures"}]}.
    #[arg(long)]
    pub json: bool,
    /// Names and sizes only (Payload-Oxum, METS SIZE); reads no file contents.
    #[arg(long, conflicts_with = "completeness_only")]
    pub fast: bool,
    /// Names only: is every declared file there, and nothing else?
    #[arg(long)]
    pub completeness_only: bool,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// No progress bar and no notes on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Append one JSON line per package checked to this ledger (created if missing, never rewritten).
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
    /// Skip packages whose last successful full check in the ledger is younger than this (30d, 12h, 2w).
    #[arg(long, value_name = "AGE", requires = "ledger")]
    pub older_than: Option<String>,
    /// Check only shard I of N (1 <= I <= N), chosen by a stable hash of the package id.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCmd {
    /// Packages never checked, the last check of each package, every failure, and damaged lines.
    ///
    /// Example: dangan ledger report fixity.jsonl /archive
    Report {
        /// The ledger file.
        file: PathBuf,
        /// Folders of packages: those the ledger has never seen are listed as never checked.
        #[arg(value_name = "ROOT")]
        roots: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct HashArgs {
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Digest algorithms, comma-separated.
    #[arg(long, value_name = "ALGS", default_value = "sha256")]
    pub algo: String,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

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
