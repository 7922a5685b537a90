//! Page sequence and naming (DA/T 31-2017 9.6), identical images, and one master format per batch (9.5).
//!
//! Single-page files are named 档号 + 图像流水号: `J001-WS_2019-Y-BGS-0001-0003.tif` is page 3 of the item
//! `J001-WS·2019-Y-BGS-0001`. For each item the pages must run 1, 2, … with no gap and no number twice.

use std::collections::{BTreeMap, HashMap};

use crate::intake::page::{NameKind, classify_name};
use crate::model::{Finding, Level};

use super::{SequencePolicy, rules};

/// One page file of a batch as the sequence check sees it.
#[derive(Debug, Clone, Default)]
pub struct SequenceInput {
    /// Path relative to the batch, `/`-separated.
    pub path: String,
    /// SHA-256 of the file, to find identical images.
    pub digest: Option<String>,
    /// Format name or PUID of the master, for the one-format rule.
    pub format: Option<String>,
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Batch-level findings: gaps, repeated page numbers, unexpected names, identical images, mixed formats.
pub fn check_sequence(pages: &[SequenceInput], policy: &SequencePolicy) -> Vec<Finding> {
    let mut out = Vec::new();
    let f = |rule: &str, level, path: &str, zh: String, en: String| {
        Finding::new(rule, level, Some(path.to_string()), zh, en)
    };
    let mut items: BTreeMap<String, BTreeMap<u32, Vec<&str>>> = BTreeMap::new();
    for p in pages {
        match classify_name(file_name(&p.path), policy.digits) {
            NameKind::Page(n) => items
                .entry(n.stem)
                .or_default()
                .entry(n.seq)
                .or_default()
                .push(&p.path),
            NameKind::Item => {}
            NameKind::Other => out.push(f(
                rules::NAMING,
                Level::Warning,
                &p.path,
                format!(
                    "文件名不符合 档号-{} 图像流水号格式",
                    "N".repeat(policy.digits)
                ),
                format!(
                    "the file name is not 档号-{} (item reference and page number)",
                    "N".repeat(policy.digits)
                ),
            )),
        }
    }
    for (stem, seqs) in &items {
        let max = seqs.keys().next_back().copied().unwrap_or(0);
        let missing: Vec<String> = (1..=max)
            .filter(|n| !seqs.contains_key(n))
            .map(|n| format!("{n:0w$}", w = policy.digits))
            .collect();
        if !missing.is_empty() {
            out.push(f(
                rules::NAMING,
                Level::Error,
                stem,
                format!("缺页: {stem} 缺少图像流水号 {}", missing.join(", ")),
                format!("missing pages: {stem} lacks page {}", missing.join(", ")),
            ));
        }
        if seqs.contains_key(&0) {
            out.push(f(
                rules::NAMING,
                Level::Error,
                stem,
                format!("{stem}: 图像流水号应从 {:0w$} 开始", 1, w = policy.digits),
                format!("{stem}: page numbers start at {:0w$}", 1, w = policy.digits),
            ));
        }
        for (seq, paths) in seqs {
            if paths.len() > 1 {
                out.push(f(
                    rules::NAMING,
                    Level::Error,
                    paths[0],
                    format!(
                        "重复页号 {seq:0w$}: {}",
                        paths.join(", "),
                        w = policy.digits
                    ),
                    format!(
                        "page number {seq:0w$} given twice: {}",
                        paths.join(", "),
                        w = policy.digits
                    ),
                ));
            }
        }
    }
    let mut by_digest: HashMap<&str, Vec<&str>> = HashMap::new();
    for p in pages {
        if let Some(d) = &p.digest {
            by_digest.entry(d).or_default().push(&p.path);
        }
    }
    let mut dups: Vec<&Vec<&str>> = by_digest.values().filter(|v| v.len() > 1).collect();
    dups.sort();
    for paths in dups {
        out.push(f(
            rules::PROCESSING,
            Level::Error,
            paths[0],
            format!("重复扫描: 图像内容完全相同 ({})", paths.join(", ")),
            format!("scanned twice: identical images ({})", paths.join(", ")),
        ));
    }
    let mut formats: BTreeMap<&str, usize> = BTreeMap::new();
    for p in pages {
        if let Some(fmt) = &p.format {
            *formats.entry(fmt).or_default() += 1;
        }
    }
    if formats.len() > 1 {
        let list: Vec<String> = formats.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
        out.push(Finding::new(
            rules::MASTER_FORMAT,
            Level::Error,
            None,
            format!("同一批次应使用同一种格式, 实有: {}", list.join(", ")),
            format!("one batch, one page format; found: {}", list.join(", ")),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(path: &str) -> SequenceInput {
        SequenceInput {
            path: path.into(),
            ..Default::default()
        }
    }

    #[test]
    fn gap_duplicate_and_odd_name() {
        let pol = SequencePolicy { digits: 4 };
        let pages: Vec<SequenceInput> = [
            "b/A-0001-0001.tif",
            "b/A-0001-0002.tif",
            "b/A-0001-0004.tif",
            "b/A-0001-0005.tif",
            "b/A-0001-0005.jpg",
            "b/notes.tif",
        ]
        .into_iter()
        .map(input)
        .collect();
        let f = check_sequence(&pages, &pol);
        assert!(
            f.iter().any(|x| x.message.contains("缺少图像流水号 0003")),
            "{f:?}"
        );
        assert!(
            f.iter().any(|x| x.message.starts_with("重复页号 0005")),
            "{f:?}"
        );
        assert!(
            f.iter()
                .any(|x| x.path.as_deref() == Some("b/notes.tif") && x.level == Level::Warning)
        );
        // No formats were given, so the one-format rule has nothing to say.
        assert!(!f.iter().any(|x| x.rule == rules::MASTER_FORMAT));
    }

    #[test]
    fn identical_images_and_mixed_formats() {
        let pol = SequencePolicy { digits: 4 };
        let mk = |p: &str, d: &str, f: &str| SequenceInput {
            path: p.into(),
            digest: Some(d.into()),
            format: Some(f.into()),
        };
        let pages = vec![
            mk("A-0001-0001.tif", "aa", "fmt/353"),
            mk("A-0001-0002.tif", "aa", "fmt/353"),
            mk("A-0001-0003.jpg", "bb", "fmt/43"),
        ];
        let f = check_sequence(&pages, &pol);
        assert!(f.iter().any(|x| x.message.starts_with("重复扫描")), "{f:?}");
        assert!(
            f.iter()
                .any(|x| x.rule == rules::MASTER_FORMAT && x.message.contains("fmt/43 ×1")),
            "{f:?}"
        );
    }
}
