//! BagIt bags: reading and verifying bags 0.93–1.0 (RFC 8493 and the drafts still found in
//! archives), and writing new BagIt 1.0 bags.
//!
//! Everything dangan knows about a bag's tag files lives here: `bagit.txt` (RFC 8493 §2.1.1),
//! the payload and tag manifests (§2.1.3, §2.2.1), `bag-info.txt` (§2.2.2; `package-info.txt` in
//! 0.93–0.95), `fetch.txt` (§2.2.3), the tag-file character encoding, and what makes a bag
//! complete and valid (§3). Where bagit-python 1.9.0 reads a bag differently, the rule here
//! follows the RFC and `tests/bagit_suite.rs` lists the difference.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use encoding_rs::Encoding;
use rayon::prelude::*;

use super::FixityError;
use super::digest::{Algorithm, Hashed, MultiHasher, with_buffer};
use super::path::{decode_manifest_path, encode_manifest_path, safe_relative};
use super::verify::{
    Expectations, Failure, FailureKind, Found, PackageKind, PackageReport, Progress, Scope, Source,
    VerifyOptions, check, dir_name, is_regular, list_dir, read_listed, reconcile_plus_for_space,
    sip_expectations,
};
use crate::context::Context;
use crate::model::{Finding, Level};
use crate::sip::mets;

/// The largest tag file read into memory (a manifest of a few million files fits).
const TAG_FILE_LIMIT: u64 = 1 << 30;
/// The most bytes of tag files one reading of a bag's tags takes into memory, all files together (up to
/// 24 manifests and tag manifests of the twelve algorithms, bag-info and fetch.txt).
const TAG_BYTES_LIMIT: u64 = 2 << 30;
/// `bagit.txt` is two short lines (RFC 8493 §2.1.1).
const DECLARATION_LIMIT: u64 = 64 << 10;

/// What is left of [`TAG_BYTES_LIMIT`] while one bag's tags are read.
struct TagBudget {
    left: u64,
}

impl TagBudget {
    fn new() -> TagBudget {
        TagBudget {
            left: TAG_BYTES_LIMIT,
        }
    }
}

/// `bagit.txt` as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    /// (major, minor), e.g. (0, 97) or (1, 0).
    pub version: (u32, u32),
    /// `Tag-File-Character-Encoding` as written, e.g. `UTF-8` or `UTF-16BE`.
    pub encoding: String,
}

impl Declaration {
    /// RFC 8493 (1.0) rules, as opposed to the drafts (0.93–0.97).
    pub fn is_v1(&self) -> bool {
        self.version.0 >= 1
    }

    /// The metadata tag file: `package-info.txt` in BagIt 0.93–0.95, `bag-info.txt` from 0.96.
    pub fn info_file(&self) -> &'static str {
        if self.version <= (0, 95) {
            "package-info.txt"
        } else {
            "bag-info.txt"
        }
    }
}

/// One line of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Decoded, normalized path relative to the bag root.
    pub path: String,
    /// Lower-case hex.
    pub value: String,
    pub line: usize,
}

/// A payload or tag manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// File name relative to the bag root, e.g. `manifest-sha256.txt`.
    pub file: String,
    pub algorithm: Algorithm,
    pub entries: Vec<Entry>,
}

/// One line of `fetch.txt` (RFC 8493 §2.2.3): `url length filepath`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchEntry {
    pub url: String,
    /// `None` for `-` (length unknown).
    pub length: Option<u64>,
    /// Decoded, normalized path relative to the bag root.
    pub path: String,
    pub line: usize,
}

/// What the tag files of a bag say.
#[derive(Debug, Clone, Default)]
pub struct BagTags {
    pub declaration: Option<Declaration>,
    pub manifests: Vec<Manifest>,
    pub tag_manifests: Vec<Manifest>,
    /// `bag-info.txt` (or `package-info.txt`) elements in order.
    pub info: Vec<(String, String)>,
    /// `fetch.txt` entries.
    pub fetch: Vec<FetchEntry>,
    /// Problems with the tag files themselves, each naming the file and line.
    pub findings: Vec<Finding>,
}

impl BagTags {
    /// The first value of a bag-info element (labels compare case-insensitively, RFC 8493 §2.2.2).
    pub fn info(&self, label: &str) -> Option<&str> {
        self.info
            .iter()
            .find(|(l, _)| l.eq_ignore_ascii_case(label))
            .map(|(_, v)| v.as_str())
    }

    /// `Payload-Oxum` as (octets, streams): the first one, as bagit-python reads it.
    pub fn oxum(&self) -> Option<Result<(u64, u64), String>> {
        let v = self.info("Payload-Oxum")?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let parsed = v
            .trim()
            .split_once('.')
            .filter(|(a, b)| digits(a) && digits(b))
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
        Some(parsed.ok_or_else(|| v.to_string()))
    }
}

fn finding(rule: &str, level: Level, path: &str, zh: String, en: String) -> Finding {
    Finding::new(rule, level, Some(path.to_string()), zh, en)
}

/// Split tag-file text into numbered lines. RFC 8493 §2: lines end with LF, CR or CRLF.
fn lines(text: &str) -> Vec<(usize, &str)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut n = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' | b'\r' => {
                // CR and LF are ASCII, so these are character boundaries.
                out.push((n, &text[start..i]));
                n += 1;
                i += if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < bytes.len() {
        out.push((n, &text[start..]));
    }
    out
}

/// How the tag files of a bag are decoded.
#[derive(Debug, Clone, Copy)]
enum TagEncoding {
    /// `UTF-16` without a byte order: the byte-order mark says which (little-endian without one,
    /// as Python's codec reads it).
    Utf16Sniff,
    Fixed(&'static Encoding),
}

/// The decoder for a `Tag-File-Character-Encoding` value (RFC 8493 §2.1.1), or `None` when it
/// names no encoding dangan (or Python's codecs, which bagit-python uses) can read.
fn tag_encoding(label: &str) -> Option<TagEncoding> {
    let l = label.trim().to_ascii_lowercase();
    if l == "utf-16" || l == "utf16" {
        return Some(TagEncoding::Utf16Sniff);
    }
    Encoding::for_label(l.as_bytes())
        .or_else(|| Encoding::for_label(l.replace('_', "-").as_bytes()))
        .or_else(|| (l == "utf8").then_some(encoding_rs::UTF_8))
        .map(TagEncoding::Fixed)
}

/// Decode a tag file in the bag's declared encoding. A UTF-8 byte-order mark is dropped with a
/// warning (RFC 8493 §2.1.1 forbids one in `bagit.txt`; elsewhere it is contrary to the spec);
/// a UTF-16 one is part of the encoding and dropped silently.
fn decode(
    bytes: &[u8],
    encoding: TagEncoding,
    file: &str,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    let (enc, body) = match encoding {
        TagEncoding::Utf16Sniff => match bytes {
            [0xFE, 0xFF, rest @ ..] => (encoding_rs::UTF_16BE, rest),
            [0xFF, 0xFE, rest @ ..] => (encoding_rs::UTF_16LE, rest),
            _ => (encoding_rs::UTF_16LE, bytes),
        },
        TagEncoding::Fixed(e) => {
            let bom: &[u8] = if e == encoding_rs::UTF_8 {
                b"\xEF\xBB\xBF"
            } else if e == encoding_rs::UTF_16BE {
                b"\xFE\xFF"
            } else if e == encoding_rs::UTF_16LE {
                b"\xFF\xFE"
            } else {
                b""
            };
            match bytes.strip_prefix(bom) {
                Some(rest) if !bom.is_empty() => {
                    if e == encoding_rs::UTF_8 {
                        findings.push(finding(
                            "RFC 8493 §2.1.1",
                            Level::Warning,
                            file,
                            "以 UTF-8 字节顺序标记（BOM）开头，不符合 BagIt 规范".into(),
                            "starts with a UTF-8 byte-order mark, contrary to the BagIt spec"
                                .into(),
                        ));
                    }
                    (e, rest)
                }
                _ => (e, bytes),
            }
        }
    };
    match enc.decode_without_bom_handling_and_without_replacement(body) {
        Some(text) => Some(text.into_owned()),
        None => {
            findings.push(finding(
                "RFC 8493 §2.1.1",
                Level::Error,
                file,
                format!(
                    "不是有效的 {} 文本（Tag-File-Character-Encoding 声明的编码）",
                    enc.name()
                ),
                format!(
                    "is not valid {} text (the Tag-File-Character-Encoding)",
                    enc.name()
                ),
            ));
            None
        }
    }
}

/// Parse `bagit.txt` (RFC 8493 §2.1.1): exactly the two lines `BagIt-Version: M.N` and
/// `Tag-File-Character-Encoding: ENCODING`, in this order, UTF-8 without a byte-order mark.
///
/// Labels are case-sensitive and take no whitespace before the colon and exactly one space after
/// it (bagit-python trims both; the LoC conformance suite holds such a bag as invalid). Blank
/// lines and trailing whitespace are warned about, not refused. Returns the declaration when a
/// version was found, so the rest of the bag is still read.
pub fn parse_declaration(bytes: &[u8], findings: &mut Vec<Finding>) -> Option<Declaration> {
    const FILE: &str = "bagit.txt";
    const RULE: &str = "RFC 8493 §2.1.1";
    let err = |findings: &mut Vec<Finding>, zh: String, en: String| {
        findings.push(finding(RULE, Level::Error, FILE, zh, en));
    };
    let mut bytes = bytes;
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        err(
            findings,
            "以字节顺序标记（BOM）开头；bagit.txt 不得有 BOM".into(),
            "starts with a byte-order mark, which bagit.txt must not have".into(),
        );
        bytes = rest;
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        err(
            findings,
            "不是 UTF-8 文本；bagit.txt 必须为 UTF-8 编码".into(),
            "is not UTF-8; bagit.txt must be UTF-8".into(),
        );
        return None;
    };
    let mut version = None;
    let mut encoding = None;
    let mut index = 0;
    for (n, line) in lines(text) {
        if line.trim().is_empty() {
            findings.push(finding(
                RULE,
                Level::Warning,
                FILE,
                format!("第 {n} 行为空行；bagit.txt 应只有两行"),
                format!("line {n} is blank; bagit.txt has exactly two lines"),
            ));
            continue;
        }
        index += 1;
        let expected = match index {
            1 => "BagIt-Version",
            2 => "Tag-File-Character-Encoding",
            _ => {
                err(
                    findings,
                    format!(
                        "第 {n} 行“{line}”多余：bagit.txt 只能有 BagIt-Version 和 Tag-File-Character-Encoding 两行"
                    ),
                    format!(
                        "line {n} '{line}' is extra: bagit.txt is exactly the lines BagIt-Version and Tag-File-Character-Encoding"
                    ),
                );
                continue;
            }
        };
        let Some((label, value)) = line.split_once(':') else {
            err(
                findings,
                format!("第 {n} 行应为“{expected}: 值”，实际为“{line}”"),
                format!("line {n}: expected '{expected}: value', found '{line}'"),
            );
            continue;
        };
        if label != expected {
            let en = if label.trim() == expected {
                format!(
                    "line {n}: whitespace around the label '{label}'; it must be '{expected}:' exactly"
                )
            } else if label.trim().eq_ignore_ascii_case(expected) {
                format!(
                    "line {n}: label '{label}' must be spelled '{expected}' (labels in bagit.txt are case-sensitive)"
                )
            } else {
                format!(
                    "line {n}: expected '{expected}', found '{label}' (bagit.txt is these two lines in this order)"
                )
            };
            err(
                findings,
                format!(
                    "第 {n} 行标签为“{label}”，应恰为“{expected}”（冒号前不得有空白，两行顺序固定）"
                ),
                en,
            );
            continue;
        }
        let Some(value_raw) = value.strip_prefix(' ') else {
            err(
                findings,
                format!("第 {n} 行冒号后应有一个空格：“{line}”"),
                format!("line {n}: the colon must be followed by one space: '{line}'"),
            );
            continue;
        };
        let value = value_raw.trim();
        if value != value_raw {
            findings.push(finding(
                RULE,
                Level::Warning,
                FILE,
                format!("第 {n} 行的值“{value_raw}”前后有多余空白"),
                format!("line {n}: extra whitespace around the value '{value_raw}'"),
            ));
        }
        if index == 1 {
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            match value
                .split_once('.')
                .filter(|(a, b)| digits(a) && digits(b))
                .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
            {
                Some(v) => version = Some(v),
                None => err(
                    findings,
                    format!("第 {n} 行 BagIt-Version“{value}”不是“主版本.次版本”数字"),
                    format!("line {n}: BagIt-Version '{value}' is not M.N"),
                ),
            }
        } else {
            encoding = Some(value.to_string());
        }
    }
    let Some(version) = version else {
        if !findings.iter().any(|f| f.level == Level::Error) {
            err(
                findings,
                "缺少 BagIt-Version".into(),
                "no BagIt-Version".into(),
            );
        }
        return None;
    };
    if !((0, 93)..(2, 0)).contains(&version) {
        err(
            findings,
            format!(
                "不支持的 BagIt 版本 {}.{}（dangan 与 bagit-python 读取 0.93–1.x）",
                version.0, version.1
            ),
            format!(
                "BagIt-Version {}.{} is not supported (0.93–1.x are read, as by bagit-python)",
                version.0, version.1
            ),
        );
    } else if version > (1, 0) {
        findings.push(finding(
            RULE,
            Level::Warning,
            FILE,
            format!(
                "BagIt-Version {}.{} 高于 1.0，按 RFC 8493（1.0）读取",
                version.0, version.1
            ),
            format!(
                "BagIt-Version {}.{} is newer than 1.0; read by RFC 8493 (1.0) rules",
                version.0, version.1
            ),
        ));
    }
    let encoding = match encoding {
        Some(e) => {
            if tag_encoding(&e).is_none() {
                err(
                    findings,
                    format!("Tag-File-Character-Encoding“{e}”不是可识别的字符编码"),
                    format!("Tag-File-Character-Encoding '{e}' is not an encoding dangan can read"),
                );
            }
            e
        }
        None => {
            if index < 2 {
                err(
                    findings,
                    "缺少 Tag-File-Character-Encoding".into(),
                    "no Tag-File-Character-Encoding".into(),
                );
            }
            "UTF-8".into()
        }
    };
    Some(Declaration { version, encoding })
}

/// Parse a manifest (RFC 8493 §2.1.3, §2.2.1): `<checksum> <filepath>` per line.
///
/// Malformed lines, values of the wrong length, dangerous paths (RFC 8493 §7.2) and duplicates
/// become findings naming the file and line; the remaining lines are still used. Blank lines
/// are skipped; `#` lines are skipped with a warning (bagit-python's comments; the RFC has none).
pub fn parse_manifest(
    text: &str,
    file: &str,
    algorithm: Algorithm,
    v1: bool,
    findings: &mut Vec<Finding>,
) -> Manifest {
    let rule = if file.starts_with("tagmanifest-") {
        "RFC 8493 §2.2.1"
    } else {
        "RFC 8493 §2.1.3"
    };
    let mut entries: Vec<Entry> = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (n, line) in lines(text) {
        if line.trim().is_empty() {
            continue;
        }
        if line.trim_start().starts_with('#') {
            findings.push(finding(
                rule,
                Level::Warning,
                file,
                format!("第 {n} 行以 # 开头，作为注释跳过（清单格式中没有注释）"),
                format!("line {n} starts with '#' and was skipped as a comment (manifests have no comments)"),
            ));
            continue;
        }
        let Some((value, rest)) = line.trim_start().split_once([' ', '\t']) else {
            findings.push(finding(
                rule,
                Level::Error,
                file,
                format!("第 {n} 行应为“<校验值> <路径>”，实际为“{line}”"),
                format!("line {n}: expected '<checksum> <path>', found '{line}'"),
            ));
            continue;
        };
        let mut path = rest.trim_start_matches([' ', '\t']);
        // sha1sum-style "binary" marker, which bagit-python accepts in old bags.
        if !v1 && let Some(p) = path.strip_prefix('*') {
            path = p;
        }
        let value = value.to_ascii_lowercase();
        if value.len() != algorithm.hex_len() || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
            findings.push(finding(
                rule,
                Level::Error,
                file,
                format!(
                    "第 {n} 行“{value}”不是 {algorithm} 校验值（应为 {} 位十六进制数）",
                    algorithm.hex_len()
                ),
                format!(
                    "line {n}: '{value}' is not a {algorithm} value ({} hexadecimal digits)",
                    algorithm.hex_len()
                ),
            ));
            continue;
        }
        if path.is_empty() {
            findings.push(finding(
                rule,
                Level::Error,
                file,
                format!("第 {n} 行校验值后没有路径"),
                format!("line {n}: no path after the checksum"),
            ));
            continue;
        }
        let decoded = decode_manifest_path(path, v1);
        let path = match safe_relative(&decoded) {
            Ok(p) => p,
            Err(why) => {
                findings.push(finding(
                    "RFC 8493 §7.2",
                    Level::Error,
                    file,
                    format!("第 {n} 行路径“{decoded}”被拒绝（越出包外或不安全）：{why}"),
                    format!("line {n}: path '{decoded}' refused: {why}"),
                ));
                continue;
            }
        };
        if let Some(first) = seen.get(&path) {
            let same = entries.iter().any(|e| e.path == path && e.value == value);
            // BagIt 1.0 forbids listing a file twice; the drafts tolerated a repeat of the same
            // value (bagit-python warns), never a conflicting one.
            findings.push(finding(
                rule,
                if v1 || !same {
                    Level::Error
                } else {
                    Level::Warning
                },
                file,
                format!(
                    "第 {n} 行再次列出“{path}”（首次在第 {first} 行）{}",
                    if same { "" } else { "，且校验值不同" }
                ),
                format!(
                    "line {n}: '{path}' is listed again (first on line {first}){}",
                    if same { "" } else { " with a different value" }
                ),
            ));
            continue;
        }
        seen.insert(path.clone(), n);
        entries.push(Entry {
            path,
            value,
            line: n,
        });
    }
    Manifest {
        file: file.to_string(),
        algorithm,
        entries,
    }
}

/// Parse `bag-info.txt` (RFC 8493 §2.2.2): `Label: value`; a line starting with whitespace
/// continues the value before it. A line with no colon is an error (as in bagit-python);
/// a label with whitespace around it or no whitespace after the colon is read, with a warning.
pub fn parse_info(text: &str, file: &str, findings: &mut Vec<Finding>) -> Vec<(String, String)> {
    const RULE: &str = "RFC 8493 §2.2.2";
    let mut out: Vec<(String, String)> = Vec::new();
    for (n, line) in lines(text) {
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t'])
            && let Some((_, v)) = out.last_mut()
        {
            v.push(' ');
            v.push_str(line.trim());
            continue;
        }
        let Some((label, value)) = line.split_once(':') else {
            findings.push(finding(
                RULE,
                Level::Error,
                file,
                format!("第 {n} 行应为“标签: 值”，实际为“{line}”"),
                format!("line {n}: expected 'Label: value', found '{line}'"),
            ));
            continue;
        };
        let bad_label = label.trim().is_empty() || label != label.trim();
        let bad_sep = !value.is_empty() && !value.starts_with([' ', '\t']);
        if bad_label || bad_sep {
            findings.push(finding(
                RULE,
                Level::Warning,
                file,
                format!("第 {n} 行“{line}”：标签前后不得有空白，冒号后应有一个空格或制表符"),
                format!("line {n} '{line}': the label must not start or end with whitespace, and the colon is followed by one space or tab"),
            ));
        }
        out.push((label.trim().to_string(), value.trim().to_string()));
    }
    out
}

/// A URL in `fetch.txt` as bagit-python accepts it: a scheme and a host, or a `file:` URL.
fn fetch_url_ok(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return false;
    }
    if scheme.eq_ignore_ascii_case("file") {
        return true;
    }
    rest.strip_prefix("//")
        .is_some_and(|r| !r.split(['/', '?', '#']).next().unwrap_or("").is_empty())
}

/// Parse `fetch.txt` (RFC 8493 §2.2.3): `url length filepath` per line, `length` a number of
/// octets or `-`; the file path is encoded as in a manifest and must name a payload file.
pub fn parse_fetch(text: &str, v1: bool, findings: &mut Vec<Finding>) -> Vec<FetchEntry> {
    const FILE: &str = "fetch.txt";
    const RULE: &str = "RFC 8493 §2.2.3";
    let mut out = Vec::new();
    for (n, line) in lines(text) {
        if line.trim().is_empty() {
            continue;
        }
        let mut parts = line.trim_start().splitn(2, [' ', '\t']);
        let url = parts.next().unwrap_or("");
        let rest = parts.next().unwrap_or("").trim_start_matches([' ', '\t']);
        let mut parts = rest.splitn(2, [' ', '\t']);
        let length = parts.next().unwrap_or("");
        let path = parts.next().unwrap_or("").trim_start_matches([' ', '\t']);
        let err = |findings: &mut Vec<Finding>, zh: String, en: String| {
            findings.push(finding(RULE, Level::Error, FILE, zh, en));
        };
        if url.is_empty() || length.is_empty() || path.is_empty() {
            err(
                findings,
                format!("第 {n} 行应为“<URL> <长度> <路径>”，实际为“{line}”"),
                format!("line {n}: expected '<url> <length> <filepath>', found '{line}'"),
            );
            continue;
        }
        if !fetch_url_ok(url) {
            err(
                findings,
                format!("第 {n} 行 URL“{url}”不是带主机的绝对 URL（或 file: URL）"),
                format!("line {n}: '{url}' is not an absolute URL with a host (or a file: URL)"),
            );
        }
        let length = if length == "-" {
            None
        } else if length.bytes().all(|b| b.is_ascii_digit()) {
            length.parse().ok()
        } else {
            err(
                findings,
                format!("第 {n} 行长度“{length}”应为字节数或“-”"),
                format!("line {n}: length '{length}' must be a number of octets or '-'"),
            );
            None
        };
        let decoded = decode_manifest_path(path, v1);
        let path = match safe_relative(&decoded) {
            Ok(p) => p,
            Err(why) => {
                findings.push(finding(
                    "RFC 8493 §7.2",
                    Level::Error,
                    FILE,
                    format!("第 {n} 行路径“{decoded}”被拒绝（越出包外或不安全）：{why}"),
                    format!("line {n}: path '{decoded}' refused: {why}"),
                ));
                continue;
            }
        };
        if !path.starts_with("data/") {
            if v1 {
                err(
                    findings,
                    format!("第 {n} 行“{path}”不在 data/ 下：fetch.txt 只能列出载荷文件"),
                    format!(
                        "line {n}: '{path}' is not under data/: fetch.txt lists payload files only"
                    ),
                );
            } else {
                // RFC 8493 §2.2.3 ("MUST NOT list any tag files") is new in 1.0: the 0.9x drafts only
                // say FILENAME is relative to the bag, and the LoC conformance suite holds such a
                // 0.97 bag (v0.97/valid/local-fetch) as valid. A warning; the entry is not owed as
                // payload (no payload manifest can list it).
                findings.push(finding(
                    RULE,
                    Level::Warning,
                    FILE,
                    format!(
                        "第 {n} 行“{path}”不在 data/ 下：BagIt 1.0 起不允许 (RFC 8493 §2.2.3)，此前的版本允许；未核验"
                    ),
                    format!(
                        "line {n}: '{path}' is not under data/: not allowed from BagIt 1.0 (RFC 8493 §2.2.3), allowed before; not checked"
                    ),
                ));
            }
            continue;
        }
        out.push(FetchEntry {
            url: url.to_string(),
            length,
            path,
            line: n,
        });
    }
    out
}

/// Read one tag file: `None` when it does not exist; anything else that stops the read (a FIFO,
/// a device, a permission, a file over the size limits) is an error finding naming why.
fn read_tag_file(
    root: &Path,
    name: &str,
    budget: &mut TagBudget,
    findings: &mut Vec<Finding>,
) -> Option<Vec<u8>> {
    let cap = if name == "bagit.txt" {
        DECLARATION_LIMIT
    } else {
        TAG_FILE_LIMIT
    }
    .min(budget.left);
    match crate::fsutil::read_regular(&root.join(name), cap) {
        Ok(b) => {
            budget.left -= b.len() as u64;
            Some(b)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => {
            findings.push(finding(
                "RFC 8493 §2",
                Level::Error,
                name,
                format!("无法读取：{e}"),
                format!("cannot read: {e}"),
            ));
            None
        }
    }
}

/// Read the tag files of the bag at `root`. Only I/O failures on the bag directory itself are
/// errors; everything wrong inside the tag files is a finding.
///
/// Guarded here, whoever calls it: the bag root must be a folder (a symbolic link is not followed), each tag
/// file is opened only if it is a regular file, `bagit.txt` is read up to 64 KiB, any other tag file up to
/// 1 GiB and all of them together up to 2 GiB; a file over a limit is a finding naming the limit.
pub fn read_tags(root: &Path) -> Result<BagTags, FixityError> {
    let meta = fs::symlink_metadata(root).map_err(|e| FixityError::io(root, e))?;
    if !meta.is_dir() {
        return Err(FixityError::io(
            root,
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "not a folder ({}): a bag is a folder",
                    crate::fsutil::kind_of(&meta)
                ),
            ),
        ));
    }
    let mut tags = BagTags::default();
    let mut budget = TagBudget::new();
    let decl_bytes = read_tag_file(root, "bagit.txt", &mut budget, &mut tags.findings);
    tags.declaration = match decl_bytes {
        Some(b) => parse_declaration(&b, &mut tags.findings),
        None => {
            if !tags
                .findings
                .iter()
                .any(|f| f.path.as_deref() == Some("bagit.txt"))
            {
                tags.findings.push(finding(
                    "RFC 8493 §2.1.1",
                    Level::Error,
                    "bagit.txt",
                    "缺少 bagit.txt：有 data/ 与清单但无声明的文件夹是损坏的包".into(),
                    "missing: a folder with data/ and manifests but no bagit.txt is a damaged bag"
                        .into(),
                ));
            }
            None
        }
    };
    let v1 = tags.declaration.as_ref().is_none_or(Declaration::is_v1);
    let encoding = tags
        .declaration
        .as_ref()
        .and_then(|d| tag_encoding(&d.encoding))
        .unwrap_or(TagEncoding::Fixed(encoding_rs::UTF_8));
    let mut names: Vec<String> = Vec::new();
    for entry in fs::read_dir(root).map_err(|e| FixityError::io(root, e))? {
        let entry = entry.map_err(|e| FixityError::io(root, e))?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_string());
        }
    }
    names.sort();
    for name in &names {
        let (tag, alg_name) = if let Some(rest) = name.strip_prefix("tagmanifest-") {
            (true, rest)
        } else if let Some(rest) = name.strip_prefix("manifest-") {
            (false, rest)
        } else {
            continue;
        };
        let Some(alg_name) = alg_name.strip_suffix(".txt") else {
            continue;
        };
        // RFC 8493 §2.4: the algorithm as named in the file name; bagit-python's hashlib names.
        let Some(algorithm) = Algorithm::from_bagit_name(alg_name) else {
            tags.findings.push(finding(
                "RFC 8493 §2.4",
                Level::Warning,
                name,
                format!("算法“{alg_name}”不受支持，此清单未被核验"),
                format!("algorithm '{alg_name}' is not supported; this manifest was not checked"),
            ));
            continue;
        };
        let Some(bytes) = read_tag_file(root, name, &mut budget, &mut tags.findings) else {
            continue;
        };
        let Some(text) = decode(&bytes, encoding, name, &mut tags.findings) else {
            continue;
        };
        let m = parse_manifest(&text, name, algorithm, v1, &mut tags.findings);
        if tag {
            tags.tag_manifests.push(m);
        } else {
            for e in &m.entries {
                // RFC 8493 §2.1.3: payload manifests list payload files, which live under data/.
                if !e.path.starts_with("data/") {
                    tags.findings.push(finding(
                        "RFC 8493 §2.1.3",
                        Level::Error,
                        name,
                        format!("第 {} 行“{}”不在 data/ 下：载荷清单只能列出载荷文件", e.line, e.path),
                        format!("line {}: '{}' is not under data/: a payload manifest lists payload files only", e.line, e.path),
                    ));
                }
            }
            tags.manifests.push(m);
        }
    }
    if tags.manifests.is_empty() {
        tags.findings.push(finding(
            "RFC 8493 §2.1.3",
            Level::Error,
            "manifest-<algorithm>.txt",
            "没有可核验算法的载荷清单".into(),
            "no payload manifest with a supported algorithm".into(),
        ));
    }
    let info_file = tags
        .declaration
        .as_ref()
        .map_or("bag-info.txt", Declaration::info_file);
    if let Some(b) = read_tag_file(root, info_file, &mut budget, &mut tags.findings)
        && let Some(text) = decode(&b, encoding, info_file, &mut tags.findings)
    {
        tags.info = parse_info(&text, info_file, &mut tags.findings);
    }
    if let Some(b) = read_tag_file(root, "fetch.txt", &mut budget, &mut tags.findings)
        && let Some(text) = decode(&b, encoding, "fetch.txt", &mut tags.findings)
    {
        tags.fetch = parse_fetch(&text, v1, &mut tags.findings);
    }
    Ok(tags)
}

// ---------------------------------------------------------------------------------------------
// Writing bags
// ---------------------------------------------------------------------------------------------

/// What `dangan bag` makes.
#[derive(Debug, Clone)]
pub struct BagOptions {
    /// One payload manifest and one tag manifest per algorithm (RFC 8493 §2.4: SHA-256 and SHA-512
    /// are the ones every tool must support).
    pub algorithms: Vec<Algorithm>,
    /// Extra `bag-info.txt` elements, in order.
    pub info: Vec<(String, String)>,
}

impl Default for BagOptions {
    fn default() -> Self {
        BagOptions {
            algorithms: vec![Algorithm::Sha256],
            info: Vec::new(),
        }
    }
}

/// Elements dangan computes itself and never takes from the user.
const COMPUTED: [&str; 3] = ["Payload-Oxum", "Bagging-Date", "Bag-Software-Agent"];

/// Parse one `--info 'Label: value'` (RFC 8493 §2.2.2).
pub fn parse_info_arg(input: &str) -> Result<(String, String), FixityError> {
    let bad = |message: &str| FixityError::BadInfo {
        input: input.to_string(),
        message: message.to_string(),
    };
    let (label, value) = input
        .split_once(':')
        .ok_or_else(|| bad("expected 'Label: value'"))?;
    let (label, value) = (label.trim(), value.trim());
    if label.is_empty() || label.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("the label must be non-empty and have no spaces"));
    }
    if value.chars().any(|c| c == '\n' || c == '\r') {
        return Err(bad("the value must be one line"));
    }
    if COMPUTED.iter().any(|c| c.eq_ignore_ascii_case(label)) {
        return Err(bad("dangan computes this element itself"));
    }
    Ok((label.to_string(), value.to_string()))
}

/// What a new bag holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BagSummary {
    pub path: PathBuf,
    pub files: u64,
    pub bytes: u64,
    pub algorithms: Vec<Algorithm>,
}

struct SourceFile {
    rel: String,
    src: PathBuf,
    size: u64,
}

/// [`create_bag_staged`], with a full disk reported as one [`crate::publish::PublishError::NoSpace`] (the
/// wording every command uses; the staging is already removed by then).
pub fn create_bag(
    src: &Path,
    dest: &Path,
    options: &BagOptions,
    ctx: &Context,
    progress: &dyn Progress,
) -> Result<BagSummary, FixityError> {
    create_bag_staged(src, dest, options, ctx, progress).map_err(|e| {
        if crate::publish::chain_is_no_space(&e) {
            crate::publish::PublishError::NoSpace {
                dest: dest.to_path_buf(),
            }
            .into()
        } else {
            e
        }
    })
}

/// Create a new BagIt 1.0 bag at `dest` holding a copy of everything under `src` as its payload.
///
/// `src` is only read. The bag is built in a hidden directory beside `dest` and renamed into place
/// when complete, so `dest` either does not exist or is a whole bag. Symbolic links, special files
/// and names that are not UTF-8 (manifests are UTF-8, RFC 8493 §2.1.1) are refused before anything
/// is written.
fn create_bag_staged(
    src: &Path,
    dest: &Path,
    options: &BagOptions,
    ctx: &Context,
    progress: &dyn Progress,
) -> Result<BagSummary, FixityError> {
    let bad = |path: &Path, message: String| FixityError::BadSource {
        path: path.to_path_buf(),
        message,
    };
    let meta = fs::metadata(src).map_err(|e| FixityError::io(src, e))?;
    if !meta.is_dir() {
        return Err(bad(src, "is not a directory".into()));
    }
    if fs::symlink_metadata(dest).is_ok() {
        return Err(FixityError::DestinationExists {
            path: dest.to_path_buf(),
        });
    }
    dest.file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| bad(dest, "has no usable final name".into()))?;
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let parent_abs = fs::canonicalize(&parent).map_err(|e| FixityError::io(&parent, e))?;
    let src_abs = fs::canonicalize(src).map_err(|e| FixityError::io(src, e))?;
    if parent_abs.starts_with(&src_abs) {
        return Err(bad(
            dest,
            format!(
                "is inside the source {}; put the bag elsewhere",
                src.display()
            ),
        ));
    }
    if options.algorithms.is_empty() {
        return Err(FixityError::UnknownAlgorithm(String::new()));
    }

    // Survey the source completely before writing anything.
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for entry in walkdir::WalkDir::new(src)
        .follow_links(false)
        .sort_by_file_name()
        .min_depth(1)
    {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(src).to_path_buf();
            FixityError::io(path, e.into())
        })?;
        let rel = entry
            .path()
            .strip_prefix(src)
            .ok()
            .and_then(|p| p.to_str())
            .map(|s| s.replace(std::path::MAIN_SEPARATOR, "/"))
            .ok_or_else(|| {
                bad(
                    entry.path(),
                    "name is not UTF-8; BagIt manifests are UTF-8 (RFC 8493 §2.1.1)".into(),
                )
            })?;
        let ft = entry.file_type();
        if ft.is_symlink() {
            return Err(bad(
                entry.path(),
                "is a symbolic link; dangan does not follow links into a bag".into(),
            ));
        } else if ft.is_dir() {
            dirs.push(rel);
        } else if ft.is_file() {
            let size = entry
                .metadata()
                .map_err(|e| FixityError::io(entry.path(), e.into()))?
                .len();
            files.push(SourceFile {
                rel,
                src: entry.path().to_path_buf(),
                size,
            });
        } else {
            // A FIFO, socket or device: refused before anything is opened, so nothing blocks.
            let kind = entry
                .metadata()
                .map(|m| crate::fsutil::kind_of(&m))
                .unwrap_or("special file");
            return Err(bad(
                entry.path(),
                format!("is a {kind}, not a regular file or directory"),
            ));
        }
    }
    if files.is_empty() {
        return Err(bad(src, "holds no files: nothing to bag".into()));
    }

    // Staged, locked and published by the one publish path (removed on any error, a full disk included).
    let tmp = crate::publish::Staging::begin_dir(dest)?;
    let data = tmp.path().join("data");
    fs::create_dir_all(&data).map_err(|e| FixityError::io(&data, e))?;
    for d in &dirs {
        let p = data.join(d);
        fs::create_dir_all(&p).map_err(|e| FixityError::io(&p, e))?;
    }
    progress.planned(
        files.len() as u64,
        files.iter().map(|f| f.size).sum::<u64>(),
    );

    // Copy and hash in the same pass: each byte is read once.
    let algorithms = &options.algorithms;
    let hashed: Vec<Result<Hashed, FixityError>> = files
        .par_iter()
        .with_max_len(1)
        .map(|f| {
            let out = data.join(&f.rel);
            let r = copy_hashing(&f.src, &out, algorithms);
            if let Ok(h) = &r {
                progress.advance(1, h.size);
            }
            r
        })
        .collect();
    let mut rows: Vec<(&str, Hashed)> = Vec::with_capacity(files.len());
    for (f, h) in files.iter().zip(hashed) {
        rows.push((&f.rel, h?));
    }
    let payload: Vec<(&str, &Hashed)> = rows.iter().map(|(r, h)| (*r, h)).collect();
    let octets = write_tags(tmp.path(), &payload, options, ctx)?;
    sync_dir(tmp.path())?;

    // Publish: one rename, then make the rename durable.
    tmp.publish()?;
    Ok(BagSummary {
        path: dest.to_path_buf(),
        files: rows.len() as u64,
        bytes: octets,
        algorithms: algorithms.clone(),
    })
}

// --- begin pack (issue 12 item 3): a bag from digests already computed ---

/// Write the tag files of the bag at `bag` — bagit.txt, one payload manifest per algorithm (RFC 8493
/// §2.1.3), bag-info.txt with Payload-Oxum (§2.2.2), tag manifests (§2.2.1) — for `rows` (path under
/// `data/`, size and digests), and return the payload's octets. Shared by [`create_bag`] and
/// [`bag_with_digests`].
fn write_tags(
    bag: &Path,
    rows: &[(&str, &Hashed)],
    options: &BagOptions,
    ctx: &Context,
) -> Result<u64, FixityError> {
    let algorithms = &options.algorithms;
    let octets: u64 = rows.iter().map(|(_, h)| h.size).sum();

    // RFC 8493 §2.1.3: one payload manifest per algorithm, every payload file in each.
    let mut tag_files: Vec<(String, Vec<u8>)> = Vec::new();
    tag_files.push((
        "bagit.txt".into(),
        // RFC 8493 §2.1.1: exactly these two lines.
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n".to_vec(),
    ));
    for &a in algorithms {
        let mut text = String::new();
        for (rel, h) in rows {
            let value = h.get(a).unwrap_or_default();
            text.push_str(value);
            text.push_str("  ");
            text.push_str(&encode_manifest_path(&format!("data/{rel}")));
            text.push('\n');
        }
        tag_files.push((format!("manifest-{}.txt", a.name()), text.into_bytes()));
    }
    // RFC 8493 §2.2.2: Bagging-Date is YYYY-MM-DD; Payload-Oxum is octets.streams.
    let mut info = String::new();
    for (label, value) in &options.info {
        info.push_str(&format!("{label}: {value}\n"));
    }
    info.push_str(&format!("Bagging-Date: {}\n", ctx.now.strftime("%Y-%m-%d")));
    info.push_str(&format!(
        "Bag-Software-Agent: {}\n",
        crate::software_agent()
    ));
    info.push_str(&format!("Payload-Oxum: {octets}.{}\n", rows.len()));
    tag_files.push(("bag-info.txt".into(), info.into_bytes()));
    for (name, bytes) in &tag_files {
        write_synced(&bag.join(name), bytes)?;
    }
    // RFC 8493 §2.2.1: tag manifests list the tag files (not themselves).
    for &a in algorithms {
        let mut text = String::new();
        for (name, bytes) in &tag_files {
            let mut h = MultiHasher::new(&[a]);
            h.update(bytes);
            let value = h.finalize().pop().map(|(_, v)| v).unwrap_or_default();
            text.push_str(&format!("{value}  {}\n", encode_manifest_path(name)));
        }
        let name = format!("tagmanifest-{}.txt", a.name());
        write_synced(&bag.join(&name), text.as_bytes())?;
    }
    Ok(octets)
}

/// Make `bag` — a folder (the caller's staging) whose `data/` already holds the whole payload — a BagIt 1.0
/// bag from digests the caller already computed (`pack --bag`: the scan's digests of the originals, and
/// those of every file dangan wrote, hashed as it wrote them), without reading the payload again.
///
/// Cheap checks stand in for the re-read: every file under `data/` must be in `payload` and the reverse
/// (RFC 8493 §2.1.3: every payload file in each manifest), each with the size on disk and a digest for
/// every algorithm of `options`. Publishing `bag` (one rename) is the caller's.
pub fn bag_with_digests(
    bag: &Path,
    payload: &[(String, Hashed)],
    options: &BagOptions,
    ctx: &Context,
) -> Result<BagSummary, FixityError> {
    let bad = |path: &Path, message: String| FixityError::BadSource {
        path: path.to_path_buf(),
        message,
    };
    if options.algorithms.is_empty() {
        return Err(FixityError::UnknownAlgorithm(String::new()));
    }
    let data = bag.join("data");
    let mut listed: BTreeMap<&str, &Hashed> = BTreeMap::new();
    for (rel, h) in payload {
        if listed.insert(rel.as_str(), h).is_some() {
            return Err(bad(&data.join(rel), "listed twice in the payload".into()));
        }
        if let Some(a) = options.algorithms.iter().find(|a| h.get(**a).is_none()) {
            return Err(bad(
                &data.join(rel),
                format!("no {} digest was computed for it", a.name()),
            ));
        }
    }
    let mut seen = 0usize;
    for entry in walkdir::WalkDir::new(&data)
        .follow_links(false)
        .min_depth(1)
    {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(&data).to_path_buf();
            FixityError::io(path, e.into())
        })?;
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(&data)
            .ok()
            .and_then(|p| p.to_str())
            .map(|s| s.replace(std::path::MAIN_SEPARATOR, "/"))
            .ok_or_else(|| bad(entry.path(), "name is not UTF-8 (RFC 8493 §2.1.1)".into()))?;
        let Some(h) = listed.get(rel.as_str()) else {
            return Err(bad(
                entry.path(),
                "is in the payload but has no digests (RFC 8493 §2.1.3)".into(),
            ));
        };
        let size = entry
            .metadata()
            .map_err(|e| FixityError::io(entry.path(), e.into()))?
            .len();
        if !entry.file_type().is_file() || size != h.size {
            return Err(bad(
                entry.path(),
                format!(
                    "is not the regular file of {} bytes that was hashed",
                    h.size
                ),
            ));
        }
        seen += 1;
    }
    if seen != listed.len() {
        return Err(bad(
            &data,
            format!(
                "{} listed payload files are missing",
                listed.len().saturating_sub(seen)
            ),
        ));
    }
    // Manifests in path order, as create_bag writes them.
    let rows: Vec<(&str, &Hashed)> = listed.into_iter().collect();
    let octets = write_tags(bag, &rows, options, ctx)?;
    sync_dir(bag)?;
    Ok(BagSummary {
        path: bag.to_path_buf(),
        files: rows.len() as u64,
        bytes: octets,
        algorithms: options.algorithms.clone(),
    })
}

/// The bag writer's errors speak of the bag's destination.
impl From<crate::publish::PublishError> for FixityError {
    fn from(e: crate::publish::PublishError) -> Self {
        use crate::publish::PublishError;
        match e {
            PublishError::Exists(path) => FixityError::DestinationExists { path },
            PublishError::Io { path, source } => FixityError::Io { path, source },
            PublishError::Busy { dest, lock } => FixityError::Io {
                path: dest,
                source: io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!(
                        "another dangan run is writing it (lock {} is held); wait for that run to finish, or choose another --out",
                        lock.display()
                    ),
                ),
            },
            PublishError::NoSpace { dest } => FixityError::Io {
                path: dest,
                source: io::Error::new(
                    io::ErrorKind::StorageFull,
                    "no space left on the device: nothing was published and the partial output was removed; free space or choose another --out",
                ),
            },
        }
    }
}

#[cfg(test)]
mod known_digests_tests {
    use super::*;

    fn hashed(bytes: &[u8]) -> Hashed {
        let algorithms = [Algorithm::Sha256, Algorithm::Sha512];
        let mut h = MultiHasher::new(&algorithms);
        h.update(bytes);
        Hashed {
            size: bytes.len() as u64,
            digests: h.finalize(),
        }
    }

    fn options() -> BagOptions {
        BagOptions {
            algorithms: vec![Algorithm::Sha256, Algorithm::Sha512],
            info: Vec::new(),
        }
    }

    #[test]
    fn bag_from_known_digests_verifies_and_refuses_an_unlisted_or_changed_file() {
        let ctx = Context::fixed("2026-01-02T03:04:05Z".parse().unwrap(), "t");
        let t = tempfile::tempdir().unwrap();
        let bag = t.path().join("b");
        fs::create_dir_all(bag.join("data/p")).unwrap();
        fs::write(bag.join("data/p/a.txt"), b"hello").unwrap();
        let payload = vec![("p/a.txt".to_string(), hashed(b"hello"))];
        let s = bag_with_digests(&bag, &payload, &options(), &ctx).unwrap();
        assert_eq!((s.files, s.bytes), (1, 5));
        let manifest = fs::read_to_string(bag.join("manifest-sha512.txt")).unwrap();
        assert!(manifest.ends_with("  data/p/a.txt\n"), "{manifest}");
        // A file nobody hashed (RFC 8493 §2.1.3: every payload file in each manifest).
        let bag2 = t.path().join("b2");
        fs::create_dir_all(bag2.join("data/p")).unwrap();
        fs::write(bag2.join("data/p/a.txt"), b"hello").unwrap();
        fs::write(bag2.join("data/p/extra.txt"), b"x").unwrap();
        let e = bag_with_digests(&bag2, &payload, &options(), &ctx).unwrap_err();
        assert!(e.to_string().contains("extra.txt"), "{e}");
        // A file whose size is not what was hashed.
        fs::remove_file(bag2.join("data/p/extra.txt")).unwrap();
        fs::write(bag2.join("data/p/a.txt"), b"hello!").unwrap();
        let e = bag_with_digests(&bag2, &payload, &options(), &ctx).unwrap_err();
        assert!(e.to_string().contains("5 bytes"), "{e}");
        // A digest missing for an algorithm of the bag.
        let mut thin = payload.clone();
        thin[0].1.digests.truncate(1);
        let e = bag_with_digests(&bag, &thin, &options(), &ctx).unwrap_err();
        assert!(e.to_string().contains("sha512"), "{e}");
    }
}

// --- end pack (issue 12 item 3) ---

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), FixityError> {
    let mut f = File::create_new(path).map_err(|e| FixityError::io(path, e))?;
    f.write_all(bytes).map_err(|e| FixityError::io(path, e))?;
    f.sync_all().map_err(|e| FixityError::io(path, e))
}

fn sync_dir(path: &Path) -> Result<(), FixityError> {
    #[cfg(unix)]
    {
        File::open(path)
            .and_then(|d| d.sync_all())
            .map_err(|e| FixityError::io(path, e))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Copy `src` to a new file `dst`, hashing the bytes on the way; refuse a source that changes.
fn copy_hashing(src: &Path, dst: &Path, algorithms: &[Algorithm]) -> Result<Hashed, FixityError> {
    // Refuses a file swapped for a FIFO or device since the survey, without blocking.
    let mut input = crate::fsutil::open_regular_io(src).map_err(|e| FixityError::io(src, e))?;
    let before = input.metadata().map_err(|e| FixityError::io(src, e))?;
    let mut output = File::create_new(dst).map_err(|e| FixityError::io(dst, e))?;
    let mut hasher = MultiHasher::new(algorithms);
    let size = with_buffer(|buf| -> Result<u64, FixityError> {
        let mut size = 0u64;
        loop {
            let n = match input.read(buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(FixityError::io(src, e)),
            };
            hasher.update(&buf[..n]);
            output
                .write_all(&buf[..n])
                .map_err(|e| FixityError::io(dst, e))?;
            size += n as u64;
        }
        Ok(size)
    })?;
    let after = input.metadata().map_err(|e| FixityError::io(src, e))?;
    if size != before.len()
        || after.len() != before.len()
        || after.modified().ok() != before.modified().ok()
    {
        return Err(FixityError::BadSource {
            path: src.to_path_buf(),
            message: "changed while it was being copied into the bag".into(),
        });
    }
    if let Ok(mtime) = before.modified() {
        // Keep the source's modification time: it is evidence, and costs nothing.
        let _ = output.set_modified(mtime);
    }
    output.sync_all().map_err(|e| FixityError::io(dst, e))?;
    Ok(Hashed {
        size,
        digests: hasher.finalize(),
    })
}

// ---------------------------------------------------------------------------------------------
// Verifying bags
// ---------------------------------------------------------------------------------------------

/// The SIP folder inside a bag's payload: `data/` itself or its only subfolder with a METS.xml.
pub(crate) fn wrapped_sip_base(root: &Path) -> Option<String> {
    if is_regular(&root.join("data/METS.xml")) {
        return Some("data".into());
    }
    let mut found = Vec::new();
    for e in fs::read_dir(root.join("data")).ok()?.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir())
            && let Some(name) = e.file_name().to_str()
            && is_regular(&e.path().join("METS.xml"))
        {
            found.push(format!("data/{name}"));
        }
    }
    if found.len() == 1 { found.pop() } else { None }
}

/// The bag-info elements of the bag at `root`, read as [`read_tags`] reads them (declared
/// encoding, `package-info.txt` for 0.93–0.95), without reading the manifests.
fn read_info(root: &Path) -> Vec<(String, String)> {
    let mut f = Vec::new();
    let mut budget = TagBudget::new();
    let decl = read_tag_file(root, "bagit.txt", &mut budget, &mut f)
        .and_then(|b| parse_declaration(&b, &mut f));
    let encoding = decl
        .as_ref()
        .and_then(|d| tag_encoding(&d.encoding))
        .unwrap_or(TagEncoding::Fixed(encoding_rs::UTF_8));
    let file = decl.as_ref().map_or("bag-info.txt", Declaration::info_file);
    read_tag_file(root, file, &mut budget, &mut f)
        .and_then(|b| decode(&b, encoding, file, &mut f))
        .map(|text| parse_info(&text, file, &mut f))
        .unwrap_or_default()
}

/// The identifier a bag is known by in the ledger and for shards: `External-Identifier`, else
/// `mets/@OBJID` of a SIP it wraps (CSIP1), else the folder name.
pub(crate) fn bag_id(root: &Path) -> String {
    if let Some((_, v)) = read_info(root)
        .into_iter()
        .find(|(l, v)| l.eq_ignore_ascii_case("External-Identifier") && !v.is_empty())
    {
        return v;
    }
    wrapped_sip_base(root)
        .and_then(|base| {
            crate::fsutil::read_regular(&root.join(base).join("METS.xml"), TAG_FILE_LIMIT).ok()
        })
        .and_then(|b| mets::objid(&b))
        .unwrap_or_else(|| dir_name(root))
}

/// Manifest names that match a file only after Unicode normalization (the manifest in NFC, the file system
/// in NFD as macOS writes it, or the reverse): the file is the one listed, as bagit-python matches it, and
/// each is a warning naming both spellings (the LoC conformance suite's v0.97/warning/filename-normalization
/// case). Only a one-to-one match is taken: two files equal under NFC are left to the missing/unexpected
/// findings.
fn reconcile_normalization(
    expects: &mut Expectations,
    listing: &super::verify::Listing,
    findings: &mut Vec<Finding>,
) {
    use unicode_normalization::UnicodeNormalization as _;
    let nfc = |s: &str| s.nfc().collect::<String>();
    let mut on_disk: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for p in listing.keys().filter(|p| !expects.contains_key(*p)) {
        on_disk.entry(nfc(p)).or_default().push(p);
    }
    let moves: Vec<(String, String)> = expects
        .keys()
        .filter(|p| !listing.contains_key(*p))
        .filter_map(|p| match on_disk.get(&nfc(p)).map(Vec::as_slice) {
            Some([file]) => Some((p.clone(), (*file).to_string())),
            _ => None,
        })
        .collect();
    for (listed, file) in moves {
        findings.push(finding(
            "RFC 8493 §2.1.3",
            Level::Warning,
            &listed,
            format!("清单中的名称与文件名“{file}”仅在 Unicode 规范化 (NFC/NFD) 后相同；按同一文件核验"),
            format!(
                "the manifest name equals the file name '{file}' only after Unicode normalization (NFC/NFD); checked as that file"
            ),
        ));
        if let Some(e) = expects.remove(&listed) {
            expects.insert(file, e);
        }
    }
}

/// Check one bag: its tag files, then every payload and tag file against every manifest
/// (RFC 8493 §3: complete and valid), Payload-Oxum, and the files `fetch.txt` still owes.
pub(crate) fn verify_bag(
    root: &Path,
    options: &VerifyOptions,
    progress: &dyn Progress,
    report: &mut PackageReport,
) {
    let tags = match read_tags(root) {
        Ok(t) => t,
        Err(e) => {
            report.findings.push(finding(
                "RFC 8493 §2",
                Level::Error,
                "",
                format!("无法读取包文件夹：{e}"),
                format!("cannot read the bag folder: {e}"),
            ));
            return;
        }
    };
    let mut findings = tags.findings.clone();
    // RFC 8493 §2.1.2: the payload directory.
    if !fs::symlink_metadata(root.join("data")).is_ok_and(|m| m.is_dir()) {
        findings.push(finding(
            "RFC 8493 §2.1.2",
            Level::Error,
            "data",
            "缺少载荷目录 data/".into(),
            "the payload directory data/ is missing".into(),
        ));
    }
    let listing = list_dir(root);
    let mut expects = Expectations::new();
    let mut algorithms = BTreeSet::new();
    for m in tags.manifests.iter().chain(&tags.tag_manifests) {
        algorithms.insert(m.algorithm);
        for e in &m.entries {
            expects
                .entry(e.path.clone())
                .or_default()
                .digests
                .push((m.algorithm, e.value.clone()));
        }
    }
    reconcile_normalization(&mut expects, &listing, &mut findings);
    // RFC 8493 §3 (complete): every payload file is listed in every payload manifest.
    let listed: Vec<BTreeSet<&str>> = tags
        .manifests
        .iter()
        .map(|m| m.entries.iter().map(|e| e.path.as_str()).collect())
        .collect();
    let payload: BTreeSet<&str> = listed.iter().flatten().copied().collect();
    for path in payload {
        let absent: Vec<&str> = tags
            .manifests
            .iter()
            .zip(&listed)
            .filter(|(_, set)| !set.contains(path))
            .map(|(m, _)| m.file.as_str())
            .collect();
        if !absent.is_empty() {
            findings.push(finding(
                "RFC 8493 §3",
                Level::Error,
                path,
                format!(
                    "未列入 {}：每个载荷文件都必须列入每个载荷清单",
                    absent.join(", ")
                ),
                format!(
                    "not listed in {}: every payload file is in every payload manifest",
                    absent.join(", ")
                ),
            ));
        }
    }
    // RFC 8493 §2.2.3: every file listed in fetch.txt is listed in every payload manifest.
    for f in &tags.fetch {
        let absent: Vec<&str> = tags
            .manifests
            .iter()
            .zip(&listed)
            .filter(|(_, set)| !set.contains(f.path.as_str()))
            .map(|(m, _)| m.file.as_str())
            .collect();
        if !absent.is_empty() {
            findings.push(finding(
                "RFC 8493 §2.2.3",
                Level::Error,
                "fetch.txt",
                format!("第 {} 行“{}”未列入 {}", f.line, f.path, absent.join(", ")),
                format!(
                    "line {}: '{}' is not listed in {}",
                    f.line,
                    f.path,
                    absent.join(", ")
                ),
            ));
        }
    }
    let mut exempt = BTreeSet::new();
    if let Some(base) = wrapped_sip_base(root) {
        report.kind = PackageKind::BagSip;
        let mut read = |p: &str| read_listed(root, &listing, p);
        sip_expectations(
            &mut read,
            &listing,
            &base,
            &mut expects,
            &mut findings,
            &mut exempt,
        );
        reconcile_plus_for_space(&mut expects, &listing, &mut findings);
        for e in expects.values() {
            algorithms.extend(e.digests.iter().map(|(a, _)| *a));
        }
    }
    let info_file = tags
        .declaration
        .as_ref()
        .map_or("bag-info.txt", Declaration::info_file);
    let oxums = tags
        .info
        .iter()
        .filter(|(l, _)| l.eq_ignore_ascii_case("Payload-Oxum"))
        .count();
    if oxums > 1 {
        findings.push(finding(
            "RFC 8493 §2.2.2",
            Level::Warning,
            info_file,
            format!("Payload-Oxum 出现 {oxums} 次；按第一个核对"),
            format!("Payload-Oxum appears {oxums} times; the first is checked"),
        ));
    }
    if let Some(Err(v)) = tags.oxum() {
        findings.push(finding(
            "RFC 8493 §2.2.2",
            Level::Error,
            info_file,
            format!("Payload-Oxum“{v}”不是“字节数.文件数”"),
            format!("Payload-Oxum '{v}' is not <octets>.<streams>"),
        ));
    }
    let unexpected_algorithm = tags
        .manifests
        .iter()
        .map(|m| m.algorithm)
        .min()
        .unwrap_or(Algorithm::Sha256);
    let mut checked = check(
        &Source::Dir(root),
        &listing,
        &expects,
        &Scope {
            in_scope: &|p: &str| p.starts_with("data/"),
            exempt: &exempt,
            unexpected_algorithm,
        },
        options.mode,
        progress,
    );
    // RFC 8493 §3: a bag whose fetch.txt lists files that are not there is incomplete; dangan
    // does not fetch, so each is a missing file that says why.
    let fetch: BTreeMap<&str, &FetchEntry> =
        tags.fetch.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut holes = 0usize;
    for failure in &mut checked.failures {
        if failure.kind == FailureKind::Missing
            && let Some(f) = fetch.get(failure.path.as_str())
        {
            holes += 1;
            failure.detail = Some(format!(
                "listed in fetch.txt (line {}, {}) and not fetched: the bag is incomplete",
                f.line, f.url
            ));
        }
    }
    for f in &tags.fetch {
        if !expects.contains_key(&f.path) && !listing.contains_key(&f.path) {
            holes += 1;
            checked.failures.push(Failure {
                path: f.path.clone(),
                kind: FailureKind::Missing,
                algorithm: f.length.map(|_| "size".to_string()),
                expected: f.length.map(|l| l.to_string()),
                actual: None,
                detail: Some(format!(
                    "listed in fetch.txt (line {}) and not fetched",
                    f.line
                )),
            });
        }
    }
    if holes > 0 {
        findings.push(finding(
            "RFC 8493 §3",
            Level::Error,
            "fetch.txt",
            format!("fetch.txt 列出的 {holes} 个文件不在包中：包不完整（dangan 不下载文件）"),
            format!("{holes} file(s) listed in fetch.txt are not in the bag: the bag is incomplete (dangan does not fetch)"),
        ));
    }
    // RFC 8493 §2.2.2: Payload-Oxum, the fast check, compared with what the walk saw.
    if let Some(Ok((octets, streams))) = tags.oxum() {
        let (mut n, mut total) = (0u64, 0u64);
        for (path, found) in &listing {
            if path.starts_with("data/")
                && let Found::File { size, .. } = found
            {
                n += 1;
                total += size;
            }
        }
        if (octets, streams) != (total, n) {
            findings.push(finding(
                "RFC 8493 §2.2.2",
                Level::Error,
                info_file,
                format!(
                    "Payload-Oxum 为 {octets}.{streams}，而载荷实为 {total}.{n}（字节数.文件数）"
                ),
                format!("Payload-Oxum is {octets}.{streams} but the payload holds {total}.{n}"),
            ));
        }
    }
    report.failures = checked.failures;
    report.files = checked.files;
    report.bytes = checked.bytes;
    report.findings = findings;
    report.algorithms = algorithms.into_iter().collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `read_tags` guards itself (issue 11): a linked bag root is refused, an oversized `bagit.txt` and a FIFO
    /// manifest are findings naming why, and nothing blocks.
    #[test]
    fn read_tags_guards_itself() {
        let t = tempfile::tempdir().expect("tempdir");
        let bag = t.path().join("bag");
        fs::create_dir_all(bag.join("data")).expect("mkdir");
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&bag, &link).expect("symlink");
        assert!(read_tags(&link).is_err());
        assert!(read_tags(&bag.join("data/none")).is_err());
        let mut decl = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n".to_vec();
        decl.resize(DECLARATION_LIMIT as usize + 1, b'\n');
        fs::write(bag.join("bagit.txt"), &decl).expect("write");
        let fifo = bag.join("manifest-sha256.txt");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        let started = std::time::Instant::now();
        let tags = read_tags(&bag).expect("a folder");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let about = |name: &str| {
            tags.findings
                .iter()
                .filter(|f| f.path.as_deref() == Some(name))
                .map(|f| f.message_en.clone())
                .collect::<Vec<_>>()
                .join("; ")
        };
        assert!(
            about("bagit.txt").contains("exceed the limit of 65536 bytes"),
            "{:?}",
            tags.findings
        );
        assert!(
            about("manifest-sha256.txt").contains("not a regular file"),
            "{:?}",
            tags.findings
        );
        assert!(tags.declaration.is_none() && tags.manifests.is_empty());
    }

    #[test]
    fn manifest_lines_and_findings() {
        let text = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  data/a b.txt\r\n\
            nothex  data/b\n\
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
            E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855 ../etc/passwd\n\
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\tdata/100%25.txt\n";
        let mut f = Vec::new();
        let m = parse_manifest(text, "manifest-sha256.txt", Algorithm::Sha256, true, &mut f);
        let paths: Vec<&str> = m.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["data/a b.txt", "data/100%.txt"]);
        assert_eq!(m.entries[1].line, 5);
        let msgs: Vec<&str> = f.iter().map(|f| f.message_en.as_str()).collect();
        assert!(msgs[0].starts_with("line 2:"), "{msgs:?}");
        assert!(msgs[1].starts_with("line 3:"), "{msgs:?}");
        assert!(
            msgs[2].starts_with("line 4:") && msgs[2].contains("refused"),
            "{msgs:?}"
        );
        assert_eq!(f[2].rule, "RFC 8493 §7.2");
    }

    #[test]
    fn info_continuations() {
        let mut f = Vec::new();
        let info = parse_info(
            "Source-Organization: X\nExternal-Description: a\n  b\nbroken\nTight:value\n",
            "bag-info.txt",
            &mut f,
        );
        assert_eq!(info[1], ("External-Description".into(), "a b".into()));
        assert_eq!(info[2], ("Tight".into(), "value".into()));
        assert_eq!(f.len(), 2);
        assert!(f[0].message_en.starts_with("line 4"));
        assert_eq!(f[0].level, Level::Error);
        assert_eq!(f[1].level, Level::Warning);
    }

    #[test]
    fn declaration_is_exactly_two_lines() {
        let parse = |b: &[u8]| {
            let mut f = Vec::new();
            let d = parse_declaration(b, &mut f);
            let errors = f.iter().filter(|f| f.level == Level::Error).count();
            (d, errors)
        };
        let (d, e) = parse(b"BagIt-Version: 0.97\r\nTag-File-Character-Encoding: UTF-16BE\r\n");
        assert_eq!(e, 0);
        assert_eq!(
            d.map(|d| (d.version, d.encoding)),
            Some(((0, 97), "UTF-16BE".into()))
        );
        // RFC 8493 §2.1.1: no whitespace before the colon, no BOM, this order, two lines.
        assert_eq!(
            parse(b"BagIt-Version : 1.0\nTag-File-Character-Encoding : UTF-8\n").1,
            2
        );
        assert_eq!(
            parse(b"\xEF\xBB\xBFBagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n").1,
            1
        );
        assert!(parse(b"Tag-File-Character-Encoding: UTF-8\nBagIt-Version: 1.0\n").1 > 0);
        assert_eq!(
            parse(b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\nX: y\n").1,
            1
        );
        assert_eq!(parse(b"BagIt-Version: 1.0\n").1, 1);
        assert_eq!(
            parse(b"BagIt-Version: 2.0\nTag-File-Character-Encoding: UTF-8\n").1,
            1
        );
    }

    #[test]
    fn fetch_lines() {
        let mut f = Vec::new();
        let e = parse_fetch(
            "https://example.org/a 12 data/a%25b\nfile:///x - data/c\nnot-a-url 1 data/d\nhttps://h/x 1 bagit.txt\nhttps://h/y\nhttps://h/z 1 ../e\n",
            true,
            &mut f,
        );
        let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["data/a%b", "data/c", "data/d"]);
        assert_eq!(e[0].length, Some(12));
        let lines: Vec<&str> = f.iter().map(|f| &f.message_en[..7]).collect();
        assert_eq!(lines, ["line 3:", "line 4:", "line 5:", "line 6:"]);
    }

    #[test]
    fn info_args() {
        assert_eq!(
            parse_info_arg("Source-Organization: 忻州市档案馆").unwrap(),
            ("Source-Organization".into(), "忻州市档案馆".into())
        );
        assert!(parse_info_arg("no colon").is_err());
        assert!(parse_info_arg("Payload-Oxum: 1.1").is_err());
        assert!(parse_info_arg("Two words: x").is_err());
    }
}
