//! BagIt bags: reading the tag files of bags 0.93–1.0, and writing new BagIt 1.0 bags (RFC 8493).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::FixityError;
use super::digest::{Algorithm, Hashed, MultiHasher, with_buffer};
use super::mets;
use super::path::{decode_manifest_path, encode_manifest_path, safe_relative};
use super::verify::{
    Expectations, Found, PackageKind, PackageReport, Progress, Scope, Source, VerifyOptions, check,
    dir_name, error_finding, is_regular, list_dir, read_listed, reconcile_plus_for_space,
    sip_expectations,
};
use crate::context::Context;
use crate::model::{Finding, Level};

/// `bagit.txt` as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    /// (major, minor), e.g. (0, 97) or (1, 0).
    pub version: (u32, u32),
    pub encoding: String,
}

impl Declaration {
    /// RFC 8493 (1.0) rules, as opposed to the drafts (0.93–0.97).
    pub fn is_v1(&self) -> bool {
        self.version.0 >= 1
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

/// What the tag files of a bag say.
#[derive(Debug, Clone, Default)]
pub struct BagTags {
    pub declaration: Option<Declaration>,
    pub manifests: Vec<Manifest>,
    pub tag_manifests: Vec<Manifest>,
    /// `bag-info.txt` elements in order.
    pub info: Vec<(String, String)>,
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

    /// `Payload-Oxum` as (octets, streams).
    pub fn oxum(&self) -> Option<Result<(u64, u64), String>> {
        let v = self.info("Payload-Oxum")?;
        let parsed = v
            .trim()
            .split_once('.')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
        Some(parsed.ok_or_else(|| format!("Payload-Oxum '{v}' is not <octets>.<streams>")))
    }
}

fn finding(rule: &str, level: Level, path: &str, message: String) -> Finding {
    Finding {
        property: None,
        rule: rule.to_string(),
        level,
        path: Some(path.to_string()),
        message,
        message_en: String::new(),
    }
}

/// Split tag-file text into numbered lines. RFC 8493 §2: lines end with LF, CR or CRLF.
fn lines(bytes: &[u8]) -> Vec<(usize, &[u8])> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut n = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                out.push((n, &bytes[start..i]));
                n += 1;
                i += 1;
                start = i;
            }
            b'\r' => {
                out.push((n, &bytes[start..i]));
                n += 1;
                i += if bytes.get(i + 1) == Some(&b'\n') {
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
        out.push((n, &bytes[start..]));
    }
    out
}

/// Remove a UTF-8 byte-order mark, which RFC 8493 §2.1.1 forbids in `bagit.txt` and which is
/// contrary to the spec in other tag files; say so.
fn strip_bom<'a>(bytes: &'a [u8], file: &str, findings: &mut Vec<Finding>) -> &'a [u8] {
    match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => {
            findings.push(finding(
                "RFC 8493 §2.1.1",
                Level::Warning,
                file,
                "starts with a byte-order mark".into(),
            ));
            rest
        }
        None => bytes,
    }
}

/// Parse `bagit.txt` (RFC 8493 §2.1.1).
pub fn parse_declaration(bytes: &[u8], findings: &mut Vec<Finding>) -> Option<Declaration> {
    const FILE: &str = "bagit.txt";
    let bytes = strip_bom(bytes, FILE, findings);
    let mut version = None;
    let mut encoding = None;
    for (n, line) in lines(bytes) {
        let Ok(line) = std::str::from_utf8(line) else {
            findings.push(finding(
                "RFC 8493 §2.1.1",
                Level::Error,
                FILE,
                format!("line {n}: not UTF-8"),
            ));
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        let Some((label, value)) = line.split_once(':') else {
            findings.push(finding(
                "RFC 8493 §2.1.1",
                Level::Error,
                FILE,
                format!("line {n}: expected 'Label: value', found '{line}'"),
            ));
            continue;
        };
        match label.trim() {
            "BagIt-Version" => {
                let v = value.trim();
                let parsed = v
                    .split_once('.')
                    .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
                match parsed {
                    Some(p) => version = Some(p),
                    None => findings.push(finding(
                        "RFC 8493 §2.1.1",
                        Level::Error,
                        FILE,
                        format!("line {n}: BagIt-Version '{v}' is not M.N"),
                    )),
                }
            }
            "Tag-File-Character-Encoding" => encoding = Some(value.trim().to_string()),
            other => findings.push(finding(
                "RFC 8493 §2.1.1",
                Level::Warning,
                FILE,
                format!("line {n}: unexpected element '{other}'"),
            )),
        }
    }
    let Some(version) = version else {
        findings.push(finding(
            "RFC 8493 §2.1.1",
            Level::Error,
            FILE,
            "no BagIt-Version".into(),
        ));
        return None;
    };
    if !((0, 93)..=(1, 0)).contains(&version) {
        findings.push(finding(
            "RFC 8493 §2.1.1",
            Level::Warning,
            FILE,
            format!(
                "BagIt-Version {}.{} is outside 0.93–1.0; read as 1.0",
                version.0, version.1
            ),
        ));
    }
    let encoding = encoding.unwrap_or_else(|| {
        findings.push(finding(
            "RFC 8493 §2.1.1",
            Level::Warning,
            FILE,
            "no Tag-File-Character-Encoding; UTF-8 assumed".into(),
        ));
        "UTF-8".into()
    });
    if !encoding.eq_ignore_ascii_case("UTF-8") {
        findings.push(finding(
            "RFC 8493 §2.1.1",
            Level::Warning,
            FILE,
            format!("Tag-File-Character-Encoding is {encoding}; tag files are read as UTF-8"),
        ));
    }
    Some(Declaration { version, encoding })
}

/// Parse a manifest (RFC 8493 §2.1.3, §2.2.1): `<checksum> <filepath>` per line.
///
/// Malformed lines, values of the wrong length, dangerous paths (RFC 8493 §7.2) and duplicates
/// become findings naming the file and line; the remaining lines are still used.
pub fn parse_manifest(
    bytes: &[u8],
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
    let bytes = strip_bom(bytes, file, findings);
    let mut entries: Vec<Entry> = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (n, raw) in lines(bytes) {
        let Ok(line) = std::str::from_utf8(raw) else {
            findings.push(finding(
                rule,
                Level::Error,
                file,
                format!("line {n}: not UTF-8 (RFC 8493 §2.1.1 tag files are UTF-8)"),
            ));
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        let Some((value, rest)) = line.split_once([' ', '\t']) else {
            findings.push(finding(
                rule,
                Level::Error,
                file,
                format!("line {n}: expected '<checksum> <path>', found '{line}'"),
            ));
            continue;
        };
        let mut path = rest.trim_start_matches([' ', '\t']);
        // sha1sum-style "binary" marker, which bagit-python accepts in old bags.
        if !v1 && let Some(p) = path.strip_prefix('*') {
            path = p;
        }
        let value = value.trim().to_ascii_lowercase();
        if value.len() != algorithm.hex_len() || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
            findings.push(finding(
                rule,
                Level::Error,
                file,
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
                    format!("line {n}: path '{decoded}' refused: {why}"),
                ));
                continue;
            }
        };
        if let Some(first) = seen.get(&path) {
            let same = entries.iter().any(|e| e.path == path && e.value == value);
            findings.push(finding(
                rule,
                if v1 || !same {
                    Level::Error
                } else {
                    Level::Warning
                },
                file,
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

/// Parse `bag-info.txt` (RFC 8493 §2.2.2): `Label: value`, continuation lines start with whitespace.
pub fn parse_info(bytes: &[u8], findings: &mut Vec<Finding>) -> Vec<(String, String)> {
    const FILE: &str = "bag-info.txt";
    let bytes = strip_bom(bytes, FILE, findings);
    let mut out: Vec<(String, String)> = Vec::new();
    for (n, raw) in lines(bytes) {
        let Ok(line) = std::str::from_utf8(raw) else {
            findings.push(finding(
                "RFC 8493 §2.2.2",
                Level::Warning,
                FILE,
                format!("line {n}: not UTF-8"),
            ));
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            match out.last_mut() {
                Some((_, v)) => {
                    v.push(' ');
                    v.push_str(line.trim());
                }
                None => findings.push(finding(
                    "RFC 8493 §2.2.2",
                    Level::Warning,
                    FILE,
                    format!("line {n}: continuation line with no element before it"),
                )),
            }
            continue;
        }
        match line.split_once(':') {
            Some((label, value)) if !label.trim().is_empty() => {
                out.push((label.trim().to_string(), value.trim().to_string()))
            }
            _ => findings.push(finding(
                "RFC 8493 §2.2.2",
                Level::Warning,
                FILE,
                format!("line {n}: expected 'Label: value', found '{line}'"),
            )),
        }
    }
    out
}

/// Read the tag files of the bag at `root`. Only I/O failures on the bag directory itself are
/// errors; everything wrong inside the tag files is a finding.
pub fn read_tags(root: &Path) -> Result<BagTags, FixityError> {
    let mut tags = BagTags::default();
    let read = |name: &str, findings: &mut Vec<Finding>| -> Option<Vec<u8>> {
        match fs::read(root.join(name)) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                findings.push(finding(
                    "RFC 8493 §2",
                    Level::Error,
                    name,
                    format!("cannot read: {e}"),
                ));
                None
            }
        }
    };
    let decl_bytes = read("bagit.txt", &mut tags.findings);
    tags.declaration = match decl_bytes {
        Some(b) => parse_declaration(&b, &mut tags.findings),
        None => {
            tags.findings.push(finding(
                "RFC 8493 §2.1.1",
                Level::Error,
                "bagit.txt",
                "missing".into(),
            ));
            None
        }
    };
    let v1 = tags.declaration.as_ref().is_none_or(Declaration::is_v1);
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
        let Some(algorithm) = Algorithm::from_name(alg_name) else {
            tags.findings.push(finding(
                "RFC 8493 §2.4",
                Level::Warning,
                name,
                format!("algorithm '{alg_name}' is not supported; this manifest was not checked"),
            ));
            continue;
        };
        let Some(bytes) = read(name, &mut tags.findings) else {
            continue;
        };
        let m = parse_manifest(&bytes, name, algorithm, v1, &mut tags.findings);
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
                        format!("line {}: '{}' is not under data/", e.line, e.path),
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
            "no payload manifest with a supported algorithm".into(),
        ));
    }
    if let Some(b) = read("bag-info.txt", &mut tags.findings) {
        tags.info = parse_info(&b, &mut tags.findings);
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

/// Removes a half-built bag unless the build finished.
struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

struct SourceFile {
    rel: String,
    src: PathBuf,
    size: u64,
}

/// Create a new BagIt 1.0 bag at `dest` holding a copy of everything under `src` as its payload.
///
/// `src` is only read. The bag is built in a hidden directory beside `dest` and renamed into place
/// when complete, so `dest` either does not exist or is a whole bag. Symbolic links, special files
/// and names that are not UTF-8 (manifests are UTF-8, RFC 8493 §2.1.1) are refused before anything
/// is written.
pub fn create_bag(
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
    let name = dest
        .file_name()
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
            return Err(bad(
                entry.path(),
                "is not a regular file or directory".into(),
            ));
        }
    }
    if files.is_empty() {
        return Err(bad(src, "holds no files: nothing to bag".into()));
    }

    let tmp = TempDir {
        path: parent.join(format!(".{name}.dangan-{}", ctx.ids.next_uuid())),
        keep: false,
    };
    let data = tmp.path.join("data");
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
        for (rel, h) in &rows {
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
        write_synced(&tmp.path.join(name), bytes)?;
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
        write_synced(&tmp.path.join(&name), text.as_bytes())?;
    }
    sync_dir(&tmp.path)?;

    // Publish: one rename, then make the rename durable.
    if fs::symlink_metadata(dest).is_ok() {
        return Err(FixityError::DestinationExists {
            path: dest.to_path_buf(),
        });
    }
    fs::rename(&tmp.path, dest).map_err(|e| FixityError::io(dest, e))?;
    let mut tmp = tmp;
    tmp.keep = true;
    sync_dir(&parent)?;
    Ok(BagSummary {
        path: dest.to_path_buf(),
        files: rows.len() as u64,
        bytes: octets,
        algorithms: algorithms.clone(),
    })
}

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
    let mut input = File::open(src).map_err(|e| FixityError::io(src, e))?;
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

/// The identifier a bag is known by in the ledger and for shards: `External-Identifier`, else
/// `mets/@OBJID` of a SIP it wraps (CSIP1), else the folder name.
pub(crate) fn bag_id(root: &Path) -> String {
    let mut f = Vec::new();
    if let Ok(b) = fs::read(root.join("bag-info.txt"))
        && let Some((_, v)) = parse_info(&b, &mut f)
            .into_iter()
            .find(|(l, v)| l.eq_ignore_ascii_case("External-Identifier") && !v.is_empty())
    {
        return v;
    }
    wrapped_sip_base(root)
        .and_then(|base| fs::read(root.join(base).join("METS.xml")).ok())
        .and_then(|b| mets::objid(&b))
        .unwrap_or_else(|| dir_name(root))
}

pub(crate) fn verify_bag(
    root: &Path,
    options: &VerifyOptions,
    progress: &dyn Progress,
    report: &mut PackageReport,
) {
    let tags = match read_tags(root) {
        Ok(t) => t,
        Err(e) => {
            report
                .findings
                .push(error_finding("RFC 8493 §2", "", e.to_string()));
            return;
        }
    };
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
    let mut findings = tags.findings.clone();
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
            findings.push(error_finding(
                "RFC 8493 §3",
                path,
                format!("not listed in {}", absent.join(", ")),
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
    if let Some(Err(m)) = tags.oxum() {
        findings.push(Finding {
            property: None,
            rule: "RFC 8493 §2.2.2".into(),
            level: Level::Warning,
            path: Some("bag-info.txt".into()),
            message: m,
            message_en: String::new(),
        });
    }
    if is_regular(&root.join("fetch.txt"))
        && fs::metadata(root.join("fetch.txt")).is_ok_and(|m| m.len() > 0)
    {
        findings.push(Finding {
            property: None,
            rule: "RFC 8493 §2.2.3".into(),
            level: Level::Warning,
            path: Some("fetch.txt".into()),
            message: "lists files to fetch; dangan does not fetch them, so they count as missing"
                .into(),
            message_en: String::new(),
        });
    }
    let unexpected_algorithm = tags
        .manifests
        .iter()
        .map(|m| m.algorithm)
        .min()
        .unwrap_or(Algorithm::Sha256);
    let checked = check(
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
            findings.push(error_finding(
                "RFC 8493 §2.2.2",
                "bag-info.txt",
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

    #[test]
    fn manifest_lines_and_findings() {
        let text =
            b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  data/a b.txt\r\n\
            nothex  data/b\n\
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
            E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855 ../etc/passwd\n\
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\tdata/100%25.txt\n";
        let mut f = Vec::new();
        let m = parse_manifest(text, "manifest-sha256.txt", Algorithm::Sha256, true, &mut f);
        let paths: Vec<&str> = m.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["data/a b.txt", "data/100%.txt"]);
        assert_eq!(m.entries[1].line, 5);
        let msgs: Vec<&str> = f.iter().map(|f| f.message.as_str()).collect();
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
            b"Source-Organization: X\nExternal-Description: a\n  b\nbroken\n",
            &mut f,
        );
        assert_eq!(info[1], ("External-Description".into(), "a b".into()));
        assert_eq!(f.len(), 1);
        assert!(f[0].message.starts_with("line 4"));
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
