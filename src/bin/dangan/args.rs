//! Command-line arguments (clap derive). Each flag carries its own help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// S3-compatible endpoint for s3:// locations (default: AWS_ENDPOINT_URL, then the AWS profile).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint: Option<String>,
}

pub use dangan::model::Lang;

pub use crate::catalog_cmd::{CatalogCmd, DanghaoArgs};
pub use crate::fixity_cmd::{BagArgs, HashArgs, LedgerCmd, VerifyArgs};
pub use crate::inspect_cmd::InspectArgs;
pub use crate::intake_cmd::IntakeArgs;
pub use crate::normalize_cmd::NormalizeArgs;
pub use crate::pack_cmd::PackArgs;
pub use crate::qc_cmd::QcArgs;
pub use crate::validate_cmd::ValidateArgs;

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
