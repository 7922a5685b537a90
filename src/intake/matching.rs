//! Listing a batch's files and tying them to items (DA/T 31-2017 9.6 naming, or the 文件名 column).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;

use crate::catalog::{FILE_SAFE_DOT, MIDDLE_DOT};
use crate::model::{Finding, Level};

use super::rows::{at, rules as row_rules};
use super::{IntakeError, Item, ItemFile, MatchBasis};

/// Rule identifiers of file findings, verbatim.
pub mod rules {
    pub const NAMING: &str = "DA/T 31-2017 9.6";
    pub const UNCLAIMED: &str = "INTAKE.FILE_UNCLAIMED";
    pub const MISSING: &str = "INTAKE.FILE_MISSING";
    pub const PATH: &str = "INTAKE.PATH";
    pub const IGNORED: &str = "INTAKE.IGNORED";
}

/// A file of the batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchFile {
    /// Relative to the batch folder, `/`-separated.
    pub path: String,
    pub size: u64,
}

fn f(rule: &str, level: Level, path: Option<String>, zh: String, en: String) -> Finding {
    Finding::new(rule, level, path, zh, en)
}

/// Files that operating systems and office programs leave behind; never records.
fn is_system_file(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        ".ds_store" | "thumbs.db" | "desktop.ini"
    ) || name.starts_with("~$")
        || name.starts_with("._")
}

/// Every regular file under `batch` except the manifest, sorted by path. Symbolic links are never
/// followed (a batch must hold its records, not point elsewhere): each is an error finding, as is a name
/// that is not valid Unicode.
pub fn list_batch_files(
    batch: &Path,
    manifest: &Path,
    findings: &mut Vec<Finding>,
) -> Result<Vec<BatchFile>, IntakeError> {
    let manifest = manifest.canonicalize().ok();
    let mut out = Vec::new();
    // Hidden and staging names (`.X`, `X.partial`) are skipped at every level, as every reader of dangan
    // skips them: they are never records.
    for entry in walkdir::WalkDir::new(batch)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !crate::fsutil::is_staging_name(e.file_name()))
    {
        let entry = entry.map_err(|e| IntakeError::Io {
            path: e.path().unwrap_or(batch).to_path_buf(),
            source: e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("walk error")),
        })?;
        let rel = entry.path().strip_prefix(batch).unwrap_or(entry.path());
        if rel.as_os_str().is_empty() {
            continue;
        }
        let Some(rel_str) = rel.to_str() else {
            findings.push(f(
                rules::PATH,
                Level::Error,
                Some(rel.to_string_lossy().into_owned()),
                "文件名不是有效的 Unicode 编码, 请改名后再交".into(),
                "the file name is not valid Unicode; rename it".into(),
            ));
            continue;
        };
        let rel_str = rel_str.replace('\\', "/");
        let ft = entry.file_type();
        if ft.is_symlink() {
            findings.push(f(
                rules::PATH,
                Level::Error,
                Some(rel_str),
                "符号链接不被跟随: 批次中应放入文件本身".into(),
                "symbolic links are not followed: put the file itself in the batch".into(),
            ));
            continue;
        }
        if ft.is_dir() {
            continue;
        }
        if !ft.is_file() {
            findings.push(f(
                rules::PATH,
                Level::Error,
                Some(rel_str),
                "不是普通文件 (设备、管道或套接字), 不能作为档案接收".into(),
                "not a regular file (a device, FIFO or socket); cannot be taken in".into(),
            ));
            continue;
        }
        if manifest.is_some() && entry.path().canonicalize().ok() == manifest {
            continue;
        }
        let name = entry.file_name().to_string_lossy();
        if is_system_file(&name) {
            findings.push(f(
                rules::IGNORED,
                Level::Warning,
                Some(rel_str),
                "系统或临时文件, 不作为档案接收".into(),
                "a system or temporary file; not taken in".into(),
            ));
            continue;
        }
        let size = entry
            .metadata()
            .map(|m| m.len())
            .map_err(|e| IntakeError::Io {
                path: entry.path().to_path_buf(),
                source: e
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("metadata error")),
            })?;
        out.push(BatchFile {
            path: rel_str,
            size,
        });
    }
    Ok(out)
}

/// A 文件名 cell entry that could escape the batch or mean something else on another system.
/// A file name from the 目录 that must not be followed: the one path rule of the project
/// (`sip::path::safe_relative`: absolute, `..`, `~`, drive letters, backslashes, NUL). `./a.tif` is fine.
fn dangerous(path: &str) -> bool {
    crate::sip::path::safe_relative(path).is_err()
}

fn split_names(cell: &str) -> Vec<String> {
    cell.split([';', '；', '|', '\n'])
        .map(|s| s.trim().replace('\\', "/"))
        .map(|s| s.trim_start_matches("./").to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Tie files to items, and report missing, unclaimed and mis-sequenced files.
pub(super) fn match_files(
    items: &mut [Item],
    files: &[BatchFile],
    manifest: &str,
    findings: &mut Vec<Finding>,
) {
    let by_path: HashMap<&str, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.path.as_str(), i))
        .collect();
    let mut claimed: Vec<Option<usize>> = vec![None; files.len()];

    // 1. Files named in the 文件名 column.
    for (ii, item) in items.iter_mut().enumerate() {
        let Some(cell) = item.field(super::Field::FileName).map(str::to_string) else {
            continue;
        };
        for name in split_names(&cell) {
            if dangerous(&name) {
                findings.push(f(
                    rules::PATH,
                    Level::Error,
                    at(manifest, item.row),
                    format!("文件名 '{name}' 不安全 (绝对路径、'..'、'~'、盘符或反斜杠)"),
                    format!(
                        "file name '{name}' is unsafe (absolute, '..', '~', a drive letter or a backslash)"
                    ),
                ));
                continue;
            }
            match by_path.get(name.as_str()) {
                None => findings.push(f(
                    rules::MISSING,
                    Level::Error,
                    at(manifest, item.row),
                    format!("文件名列所列文件 '{name}' 不存在"),
                    format!("file '{name}' listed in the 文件名 column does not exist"),
                )),
                Some(&fi) => {
                    if let Some(other) = claimed[fi] {
                        if other != ii {
                            findings.push(f(
                                rules::UNCLAIMED,
                                Level::Error,
                                at(manifest, item.row),
                                format!("文件 '{name}' 已被另一条目登记"),
                                format!("file '{name}' is already listed by another item"),
                            ));
                        }
                        continue;
                    }
                    claimed[fi] = Some(ii);
                    item.files.push(ItemFile {
                        path: name,
                        page: None,
                        matched_by: MatchBasis::Column,
                    });
                }
            }
        }
    }

    // 2. Files named by 档号 or 档号-NNNN. '·' may be written as such or as '_'.
    let mut stems: HashMap<String, usize> = HashMap::new();
    for (ii, item) in items.iter().enumerate() {
        stems.insert(item.danghao.to_file_stem(), ii);
    }
    let safe = |s: &str| s.replace(MIDDLE_DOT, &FILE_SAFE_DOT.to_string());
    let mut by_item: BTreeMap<usize, Vec<ItemFile>> = BTreeMap::new();
    for (fi, file) in files.iter().enumerate() {
        if claimed[fi].is_some() {
            continue;
        }
        let name = file.path.rsplit('/').next().unwrap_or(&file.path);
        let stem = safe(name.rsplit_once('.').map(|(s, _)| s).unwrap_or(name));
        let hit = if let Some(&ii) = stems.get(&stem) {
            Some((ii, None, MatchBasis::Danghao))
        } else if let Some((base, seq)) = stem.rsplit_once('-')
            && seq.len() == 4
            && seq.bytes().all(|b| b.is_ascii_digit())
            && let Some(&ii) = stems.get(base)
        {
            Some((ii, seq.parse::<u32>().ok(), MatchBasis::PageSequence))
        } else {
            None
        };
        match hit {
            Some((ii, page, basis)) => {
                claimed[fi] = Some(ii);
                by_item.entry(ii).or_default().push(ItemFile {
                    path: file.path.clone(),
                    page,
                    matched_by: basis,
                });
            }
            None => findings.push(f(
                rules::UNCLAIMED,
                Level::Error,
                Some(file.path.clone()),
                "文件未在目录中登记: 文件名既不是某条目的档号, 也不在文件名列中".into(),
                "file not in the 目录: its name is no item's 档号 and it is not in the 文件名 column"
                    .into(),
            )),
        }
    }
    for (ii, mut named) in by_item {
        // Whole-item files first, then pages in order.
        named.sort_by_key(|f| (f.page.is_some(), f.page, f.path.clone()));
        let item = &mut items[ii];
        let column = std::mem::take(&mut item.files);
        item.files = named;
        item.files.extend(column);
    }

    // 3. Per item: something to keep, pages without gaps, 页数 agreeing with the page images.
    for item in items.iter() {
        let loc = at(manifest, item.row);
        if item.files.is_empty() {
            findings.push(f(
                rules::MISSING,
                Level::Error,
                loc.clone(),
                format!(
                    "条目 {} 没有对应的文件 (应命名为 {}.* 或 {}-0001.* …)",
                    item.danghao,
                    item.danghao.to_file_stem(),
                    item.danghao.to_file_stem()
                ),
                format!(
                    "item {} has no file (name it {}.* or {}-0001.* …)",
                    item.danghao,
                    item.danghao.to_file_stem(),
                    item.danghao.to_file_stem()
                ),
            ));
            continue;
        }
        let mut pages: Vec<u32> = item.files.iter().filter_map(|f| f.page).collect();
        if pages.is_empty() {
            continue;
        }
        pages.sort();
        let dup: Vec<String> = pages
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| format!("{:04}", w[0]))
            .collect();
        if !dup.is_empty() {
            findings.push(f(
                rules::NAMING,
                Level::Error,
                loc.clone(),
                format!("{}: 图像流水号重复 {}", item.danghao, dup.join(", ")),
                format!(
                    "{}: page numbers given twice: {}",
                    item.danghao,
                    dup.join(", ")
                ),
            ));
        }
        pages.dedup();
        let max = pages.last().copied().unwrap_or(0);
        let missing: Vec<String> = (1..=max)
            .filter(|n| pages.binary_search(n).is_err())
            .map(|n| format!("{n:04}"))
            .collect();
        if !missing.is_empty() {
            findings.push(f(
                rules::NAMING,
                Level::Error,
                loc.clone(),
                format!("{}: 缺少页面 {}", item.danghao, missing.join(", ")),
                format!("{}: missing pages {}", item.danghao, missing.join(", ")),
            ));
        }
        if let Some(n) = item.pages
            && n as usize != pages.len()
        {
            findings.push(f(
                row_rules::PAGES,
                Level::Error,
                loc,
                format!(
                    "页数 {n} 与页面文件数 {} 不一致 ({})",
                    pages.len(),
                    item.danghao
                ),
                format!(
                    "页数 (pages) {n} differs from the {} page files ({})",
                    pages.len(),
                    item.danghao
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dangerous_names() {
        for bad in [
            "../x.tif",
            "/etc/passwd",
            "~/x",
            "C:/x.tif",
            "a/../../b",
            "a\\x.tif",
        ] {
            assert!(dangerous(bad), "{bad}");
        }
        for ok in ["a.tif", "sub/a.tif", "./a.tif"] {
            assert!(!dangerous(ok), "{ok}");
        }
    }

    #[test]
    fn name_lists() {
        assert_eq!(
            split_names("a.tif；b.tif; sub\\c.tif"),
            ["a.tif", "b.tif", "sub/c.tif"]
        );
    }
}
