//! DA/T 48-2009 EEP (电子文件封装包): the XML package Chinese archive systems exchange, one per item (件),
//! with DA/T 46-2009 metadata, each computer file in Base64 (RFC 2045), and SM2/SM3 (or RSA) signatures.
//!
//! - [`write_batch`] writes one `<档号>.eep.xml` per item of a checked batch (still images and text
//!   documents only: DA/T 48-2009 covers 文本文件和静态图像文件; audio and video are refused with a finding
//!   that points to the SIP). Files are streamed into Base64 in fixed-size chunks, so memory stays flat
//!   whatever the file size; each EEP is built in a staging file and published by one rename
//!   ([`crate::publish`]).
//! - [`validate_path`] checks EEP files (one, or a folder of them) with the hardened XML reader, the
//!   embedded schema (`schemas/dat48-eep.xsd`, by `xmllint` when it is on PATH), Base64 decoding, sizes,
//!   digests, formats and signatures, into the same 四性检测 report as SIP validation.
//!
//! What is signed: the exact bytes of `被签名对象` as written (see [`sign`] and the schema's comments).

pub mod sign;
mod stream;
mod validate;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::identify::Family;
use crate::model::{FileRecord, Finding, Item, Level};

pub use sign::{KeyError, Signer};
pub use validate::{is_eep_name, validate_path, verify_file};

/// The EEP namespace (DA/T 48-2009).
pub const NS: &str = "http://www.saac.gov.cn/standards/ERM/encapsulation";

/// The schema dangan writes and checks EEPs against, embedded in the binary.
pub const SCHEMA: &str = include_str!("../../schemas/dat48-eep.xsd");
/// The schema's file name.
pub const SCHEMA_NAME: &str = "dat48-eep.xsd";

/// The suffix of EEP files dangan writes and recognises.
pub const SUFFIX: &str = ".eep.xml";

/// The embedded EEP profile (`profiles/eep.toml`).
pub const EMBEDDED_PROFILE: &str = include_str!("../../profiles/eep.toml");

/// Why EEPs could not be written (an error of the run, not of the batch: a full disk, a locked
/// destination, a profile that does not parse).
#[derive(Debug, thiserror::Error)]
pub enum EepError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Publish(#[from] crate::publish::PublishError),
    #[error("EEP profile {path}: {message}")]
    Profile { path: String, message: String },
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// 来源 (DA/T 46-2009 M2–M6).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SourceInfo {
    #[serde(default)]
    pub archive_name: String,
    #[serde(default)]
    pub archive_code: String,
    #[serde(default)]
    pub fonds_name: String,
    /// 立档单位名称 (required); empty = the run's submitter.
    #[serde(default)]
    pub creating_unit: String,
}

/// The person who ran the work, when known.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Operator {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub position: String,
}

/// Defaults of the package itself.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PackageDefaults {
    #[serde(default)]
    pub digitized_form: String,
    #[serde(default)]
    pub language: String,
}

/// What an EEP needs that the 目录 does not give (`profiles/eep.toml`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EepProfile {
    #[serde(default)]
    pub source: SourceInfo,
    #[serde(default)]
    pub operator: Operator,
    #[serde(default)]
    pub package: PackageDefaults,
}

impl EepProfile {
    /// The embedded profile.
    pub fn embedded() -> EepProfile {
        // The embedded file is tested to parse (`tests::embedded_profile_parses`).
        toml::from_str(EMBEDDED_PROFILE).unwrap_or_default()
    }

    /// A profile file, or the embedded one when `path` is `None`.
    pub fn load_or_embedded(path: Option<&Path>) -> Result<EepProfile, EepError> {
        let Some(path) = path else {
            return Ok(EepProfile::embedded());
        };
        let bad = |message: String| EepError::Profile {
            path: path.display().to_string(),
            message,
        };
        let bytes = crate::fsutil::read_regular(path, 1 << 20).map_err(|e| bad(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|e| bad(e.to_string()))?;
        toml::from_str(&text).map_err(|e| bad(e.to_string()))
    }
}

/// Options of EEP writing.
#[derive(Debug, Clone, Default)]
pub struct EepOptions {
    pub profile: EepProfile,
    /// Sign each EEP (电子签名 + 锁定签名); unsigned when `None`.
    pub signer: Option<Signer>,
}

/// What [`write_batch`] needs from a pack run.
pub struct Batch<'a> {
    pub items: &'a [Item],
    /// The scan's record of every file, by batch-relative path.
    pub records: &'a HashMap<String, FileRecord>,
    /// QC of each scanned page, by batch-relative path.
    pub qc_pages: &'a HashMap<&'a str, &'a crate::qc::PageReport>,
    /// Where each file can be read, by its batch-relative path (the run's staged copies).
    pub files_dir: &'a Path,
    /// Where the EEPs go.
    pub out: &'a Path,
    /// The delivery's package ID, recorded as 脱机载体编号.
    pub carrier: &'a str,
    /// 封装包创建单位 and the organisation of 机构人员实体.
    pub submitter: &'a str,
    pub submitter_id: Option<&'a str>,
    /// Whether the same run writes a SIP (the out-of-scope items are in it).
    pub sip_written: bool,
}

/// One EEP written.
#[derive(Debug, Clone, Serialize)]
pub struct WrittenEep {
    pub danghao: String,
    pub path: PathBuf,
    /// Computer files (编码) in it.
    pub files: usize,
    /// Bytes of the files encoded.
    pub content_bytes: u64,
    /// Bytes of the EEP file.
    pub bytes: u64,
    pub signed: bool,
}

/// Whether DA/T 48-2009 covers a file of this family: text files and still images
/// (文本文件和静态图像文件). `Err(true)` for audio/video, `Err(false)` for anything else outside.
pub fn in_scope(family: Family) -> Result<(), bool> {
    match family {
        Family::Tiff
        | Family::Jpeg
        | Family::Png
        | Family::Gif
        | Family::Bmp
        | Family::Jp2
        | Family::Heif
        | Family::Pdf
        | Family::Ofd
        | Family::Text
        // An RFC 5322 message is a text file; dangan keeps it bit for bit (STANDARDS.md, DA/T 32).
        | Family::Eml => Ok(()),
        Family::Wav | Family::Audio | Family::Mp4 | Family::Matroska | Family::Avi => Err(true),
        Family::Mbox | Family::Zip | Family::Cfb | Family::Warc | Family::Unknown => Err(false),
    }
}

/// The rule DA/T 48's scope findings carry.
pub const SCOPE_RULE: &str = "DA/T 48-2009 1";

/// Write one EEP per item of `batch` into `batch.out`, in parallel. Items outside DA/T 48's scope and
/// items whose metadata cannot fill a required element become findings (an error when the run writes no
/// SIP that holds them, a warning otherwise); an I/O error of the output stops the run.
pub fn write_batch(
    batch: &Batch<'_>,
    options: &EepOptions,
    ctx: &Context,
) -> Result<(Vec<WrittenEep>, Vec<Finding>), EepError> {
    type ItemOutcome = Result<(Option<WrittenEep>, Vec<Finding>), EepError>;
    let results: Vec<ItemOutcome> = batch
        .items
        .par_iter()
        .map(|item| {
            let mut findings = Vec::new();
            if let Some(refused) = refuse_out_of_scope(item, batch) {
                findings.push(refused);
                return Ok((None, findings));
            }
            match writer::write_item(item, batch, options, ctx)? {
                Ok(w) => Ok((Some(w), findings)),
                Err(f) => {
                    findings.extend(f);
                    Ok((None, findings))
                }
            }
        })
        .collect();
    let mut written = Vec::new();
    let mut findings = Vec::new();
    for r in results {
        let (w, f) = r?;
        written.extend(w);
        findings.extend(f);
    }
    if options.signer.is_none() && !written.is_empty() {
        findings.push(Finding::new(
            "DA/T 48-2009 电子签名",
            Level::Info,
            None,
            format!(
                "{} 个 EEP 未签名 (未给出 --sign-key): 没有 电子签名块 和 锁定签名",
                written.len()
            ),
            format!(
                "{} EEP(s) written unsigned (no --sign-key): no 电子签名块 or 锁定签名",
                written.len()
            ),
        ));
    }
    written.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((written, findings))
}

/// The finding for an item with a file DA/T 48 does not cover, or `None` when every file is in scope.
fn refuse_out_of_scope(item: &Item, batch: &Batch<'_>) -> Option<Finding> {
    let level = if batch.sip_written {
        Level::Warning
    } else {
        Level::Error
    };
    for f in &item.files {
        let family = batch
            .records
            .get(&f.path)
            .map(|r| r.family)
            .unwrap_or(Family::Unknown);
        let Err(av) = in_scope(family) else {
            continue;
        };
        let (zh_kind, en_kind) = if av {
            ("音频/视频", "audio/video")
        } else {
            ("既非文本也非静态图像的", "neither text nor still-image")
        };
        let sip_zh = if batch.sip_written {
            "该条目已写入本次的 E-ARK SIP"
        } else {
            "请用 --format sip (或 sip,eep) 将其封装为 E-ARK SIP"
        };
        let sip_en = if batch.sip_written {
            "the item is in this run's E-ARK SIP"
        } else {
            "package it as an E-ARK SIP with --format sip (or sip,eep)"
        };
        return Some(Finding::new(
            SCOPE_RULE,
            level,
            Some(f.path.clone()),
            format!(
                "条目 {} 含{zh_kind}文件 ({family:?}): DA/T 48-2009 只适用于文本文件和静态图像文件的文件级封装, 未生成 EEP; {sip_zh}",
                item.danghao
            ),
            format!(
                "item {} holds a {en_kind} file ({family:?}): DA/T 48-2009 covers the file-level encapsulation of text files and still images only, so no EEP was written; {sip_en}",
                item.danghao
            ),
        ));
    }
    None
}

/// The file name of an item's EEP: its 档号 in the file-safe form (`·` → `_`) and [`SUFFIX`].
pub fn file_name(item: &Item) -> String {
    format!("{}{SUFFIX}", item.danghao.to_file_stem())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_profile_parses() {
        let p: EepProfile = toml::from_str(EMBEDDED_PROFILE).expect("profiles/eep.toml parses");
        assert_eq!(p.package.digitized_form, "纸质文件");
    }

    #[test]
    fn scope_is_text_and_still_images() {
        assert_eq!(in_scope(Family::Tiff), Ok(()));
        assert_eq!(in_scope(Family::Pdf), Ok(()));
        assert_eq!(in_scope(Family::Wav), Err(true));
        assert_eq!(in_scope(Family::Mp4), Err(true));
        assert_eq!(in_scope(Family::Zip), Err(false));
    }
}
