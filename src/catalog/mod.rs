//! Catalog profiles: the tree of headings every record is filed under, and archival reference codes.
//!
//! A profile is data (TOML, see `profiles/xinzhou.toml`): filing-unit levels, then numbered nodes with
//! their parent, kind, short name and the catalog's own wording. The Xinzhou catalog is embedded as the
//! default; `--profile PATH` loads another catalog of the same shape. Loading refuses a malformed profile
//! with the file, line and reason.

mod code;
mod danghao;
mod search;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use code::normalize_code;
pub use danghao::{Danghao, DanghaoError, DanghaoPart, FILE_SAFE_DOT, MIDDLE_DOT, Retention};
pub use search::SearchHit;

/// The embedded default profile: 忻州市精准扶贫档案整理目录.
pub const EMBEDDED_PROFILE: &str = include_str!("../../profiles/xinzhou.toml");
/// Name shown for the embedded profile in errors and reports.
pub const EMBEDDED_PROFILE_NAME: &str = "<embedded>/profiles/xinzhou.toml";

/// Why a profile could not be loaded, or a code could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read profile {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: {message}")]
    Malformed {
        file: String,
        line: usize,
        message: String,
    },
    #[error("unknown catalog code '{input}'{}", suggestion_text(.suggestions))]
    UnknownCode {
        input: String,
        suggestions: Vec<String>,
    },
}

fn suggestion_text(s: &[String]) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", s.join(", "))
    }
}

/// What a node is in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The root of a filing-unit level (市级, 县级, …).
    Level,
    /// 管理类, 项目类, 特殊载体类.
    Category,
    /// A class under a category (综合类, 照片, 立项材料, …).
    Class,
    /// A numbered heading records are filed under.
    Item,
}

impl Kind {
    pub fn label_zh(self) -> &'static str {
        match self {
            Kind::Level => "层级",
            Kind::Category => "大类",
            Kind::Class => "类",
            Kind::Item => "条目",
        }
    }
}

/// The carrier a special-carrier (特殊载体类) node holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Carrier {
    Photo,
    AudioVideo,
    Electronic,
    Object,
}

impl Carrier {
    pub fn label_zh(self) -> &'static str {
        match self {
            Carrier::Photo => "照片",
            Carrier::AudioVideo => "音视频",
            Carrier::Electronic => "电子",
            Carrier::Object => "实物",
        }
    }
}

/// What an electronic-records (电子类) item holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Electronic {
    BornDigital,
    Digitized,
    Email,
    Web,
    Other,
}

impl Electronic {
    pub fn label_zh(self) -> &'static str {
        match self {
            Electronic::BornDigital => "电子文档",
            Electronic::Digitized => "纸质文件数字化副本",
            Electronic::Email => "电子邮件",
            Electronic::Web => "网页信息",
            Electronic::Other => "其他",
        }
    }
}

/// A filing-unit level of the profile (市级, 县级, 乡镇, 行政村, 贫困户).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelDef {
    /// One upper-case letter: `S`, `X`, `Z`, `C`, `H`.
    pub code: String,
    /// Short Chinese name: 市级.
    pub name: String,
    /// English name: city.
    pub en: String,
    /// The seed's section number (一 … 五).
    pub section: String,
    /// The section heading, verbatim.
    pub text: String,
}

/// One node of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// `X-1.3.6`; for level roots the level letter alone.
    pub code: String,
    /// Parent code; `None` only for level roots.
    pub parent: Option<String>,
    pub level: String,
    pub kind: Kind,
    /// Short heading: 综合类, 照片, or the item's first phrase.
    pub name: String,
    /// The catalog's wording of this line, verbatim.
    pub text: String,
    /// Unnumbered wording that follows the line in the catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier: Option<Carrier>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub electronic: Option<Electronic>,
    /// Arranged by year (按年度归类).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub by_year: bool,
    /// Nodes this one refers to ("可以参考…").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub see: Vec<String>,
}

/// Identification of the profile itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileInfo {
    pub id: String,
    pub name: String,
    pub version: String,
}

/// A loaded, validated catalog. Nodes keep the order of the profile file (the catalog's own order).
#[derive(Debug, Clone)]
pub struct Catalog {
    pub info: ProfileInfo,
    pub levels: Vec<LevelDef>,
    nodes: Vec<Node>,
    index: HashMap<String, usize>,
    children: HashMap<String, Vec<usize>>,
    /// Where the profile came from, for messages.
    pub source: String,
}

// ---- the file format -------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    profile: ProfileInfo,
    #[serde(default)]
    level: Vec<toml::Spanned<RawLevel>>,
    #[serde(default)]
    node: Vec<toml::Spanned<RawNode>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLevel {
    code: String,
    name: String,
    #[serde(default)]
    en: String,
    #[serde(default)]
    section: String,
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    code: toml::Spanned<String>,
    parent: toml::Spanned<String>,
    level: toml::Spanned<String>,
    kind: Kind,
    name: String,
    text: String,
    note: Option<String>,
    carrier: Option<Carrier>,
    electronic: Option<Electronic>,
    #[serde(default)]
    by_year: bool,
    #[serde(default)]
    see: Vec<toml::Spanned<String>>,
}

use crate::profile::line_of;

impl Catalog {
    /// The embedded Xinzhou catalog. It is validated by the test suite, so failure here is a build defect.
    pub fn embedded() -> Self {
        // Parsed once per process (crate::profile).
        static EMBEDDED: crate::profile::Embedded<Catalog> =
            crate::profile::Embedded::new(EMBEDDED_PROFILE_NAME, EMBEDDED_PROFILE, |t, f| {
                Catalog::from_toml(t, f).map_err(|e| e.to_string())
            });
        EMBEDDED.get().clone()
    }

    /// Load a profile from a file.
    pub fn load(path: &Path) -> Result<Self, CatalogError> {
        let text = crate::profile::read(path).map_err(|e| match e.line {
            Some(line) => CatalogError::Malformed {
                file: e.file,
                line,
                message: e.message,
            },
            None => CatalogError::Read {
                path: path.to_path_buf(),
                source: std::io::Error::other(e.message),
            },
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// The embedded profile, or the one at `path` when given.
    pub fn load_or_embedded(path: Option<&Path>) -> Result<Self, CatalogError> {
        match path {
            Some(p) => Self::load(p),
            None => Ok(Self::embedded()),
        }
    }

    /// Parse and validate a profile. `file` names it in error messages.
    pub fn from_toml(src: &str, file: &str) -> Result<Self, CatalogError> {
        let malformed = |offset: usize, message: String| CatalogError::Malformed {
            file: file.to_string(),
            line: line_of(src, offset),
            message,
        };
        let raw: RawProfile = toml::from_str(src).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            malformed(offset, e.message().to_string())
        })?;

        let mut levels = Vec::new();
        let mut nodes = Vec::new();
        let mut index = HashMap::new();
        for spanned in &raw.level {
            let at = spanned.span().start;
            let l = spanned.get_ref();
            if l.code.len() != 1 || !l.code.chars().all(|c| c.is_ascii_uppercase()) {
                return Err(malformed(
                    at,
                    format!("level code '{}' must be one upper-case letter", l.code),
                ));
            }
            if index.contains_key(&l.code) {
                return Err(malformed(at, format!("duplicate level '{}'", l.code)));
            }
            index.insert(l.code.clone(), nodes.len());
            nodes.push(Node {
                code: l.code.clone(),
                parent: None,
                level: l.code.clone(),
                kind: Kind::Level,
                name: l.name.clone(),
                text: if l.text.is_empty() {
                    l.name.clone()
                } else {
                    l.text.clone()
                },
                note: None,
                carrier: None,
                electronic: None,
                by_year: false,
                see: Vec::new(),
            });
            levels.push(LevelDef {
                code: l.code.clone(),
                name: l.name.clone(),
                en: l.en.clone(),
                section: l.section.clone(),
                text: l.text.clone(),
            });
        }
        if levels.is_empty() {
            return Err(malformed(0, "the profile defines no [[level]]".into()));
        }

        // Errors point at the offending value's line, so remember where each node's values are.
        struct At {
            code: usize,
            parent: usize,
            see: Vec<usize>,
        }
        let mut spans: Vec<(usize, At)> = Vec::new();
        for spanned in &raw.node {
            let n = spanned.get_ref();
            let code = n.code.get_ref();
            let level = n.level.get_ref();
            let at = n.code.span().start;
            if !levels.iter().any(|l| &l.code == level) {
                return Err(malformed(
                    n.level.span().start,
                    format!("node '{code}': unknown level '{level}'"),
                ));
            }
            let expected_prefix = format!("{level}-");
            let number = code.strip_prefix(&expected_prefix).unwrap_or("");
            if number.is_empty()
                || !number
                    .split('.')
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
            {
                return Err(malformed(
                    at,
                    format!("node code '{code}' must be '{expected_prefix}<number>[.<number>…]'"),
                ));
            }
            if n.kind == Kind::Level {
                return Err(malformed(
                    at,
                    format!("node '{code}': kind 'level' is reserved for [[level]]"),
                ));
            }
            if n.text.trim().is_empty() {
                return Err(malformed(at, format!("node '{code}': empty text")));
            }
            if n.name.trim().is_empty() {
                return Err(malformed(at, format!("node '{code}': empty name")));
            }
            if index.contains_key(code) {
                return Err(malformed(at, format!("duplicate code '{code}'")));
            }
            index.insert(code.clone(), nodes.len());
            spans.push((
                nodes.len(),
                At {
                    code: at,
                    parent: n.parent.span().start,
                    see: n.see.iter().map(|s| s.span().start).collect(),
                },
            ));
            nodes.push(Node {
                code: code.clone(),
                parent: Some(n.parent.get_ref().clone()),
                level: level.clone(),
                kind: n.kind,
                name: n.name.clone(),
                text: n.text.clone(),
                note: n.note.clone(),
                carrier: n.carrier,
                electronic: n.electronic,
                by_year: n.by_year,
                see: n.see.iter().map(|s| s.get_ref().clone()).collect(),
            });
        }

        // Parents and references are checked once every code is known, so a profile may list nodes in
        // any order.
        let mut children: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, at) in &spans {
            let n = &nodes[*i];
            let parent = n.parent.as_deref().unwrap_or_default();
            match index.get(parent) {
                None => {
                    return Err(malformed(
                        at.parent,
                        format!("node '{}': parent '{}' does not exist", n.code, parent),
                    ));
                }
                Some(&p) if nodes[p].level != n.level => {
                    return Err(malformed(
                        at.parent,
                        format!("node '{}': parent '{}' is on another level", n.code, parent),
                    ));
                }
                Some(_) => {}
            }
            if let Some((bad, &pos)) = n
                .see
                .iter()
                .zip(&at.see)
                .find(|(s, _)| !index.contains_key(*s))
            {
                return Err(malformed(
                    pos,
                    format!("node '{}': refers to unknown code '{}'", n.code, bad),
                ));
            }
            children.entry(parent.to_string()).or_default().push(*i);
        }
        // A cycle is impossible: every parent must be on the same level and level roots have none,
        // but a parent that is a descendant would still loop, so walk each chain once.
        for (i, at) in &spans {
            let i = *i;
            let mut seen = 0usize;
            let mut cur = nodes[i].parent.clone();
            while let Some(p) = cur {
                seen += 1;
                if seen > nodes.len() {
                    return Err(malformed(
                        at.code,
                        format!("node '{}': its parents form a cycle", nodes[i].code),
                    ));
                }
                cur = nodes[index[&p]].parent.clone();
            }
        }

        Ok(Catalog {
            info: raw.profile,
            levels,
            nodes,
            index,
            children,
            source: file.to_string(),
        })
    }

    /// Every node in catalog order, level roots included (each before its subtree).
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        // Level roots come first in the file; yield them in tree order instead.
        self.levels.iter().flat_map(move |l| self.subtree(&l.code))
    }

    /// The numbered nodes only (no level roots): 229 for the Xinzhou catalog.
    pub fn numbered(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.kind != Kind::Level)
    }

    /// A node by its exact code.
    pub fn get(&self, code: &str) -> Option<&Node> {
        self.index.get(code).map(|&i| &self.nodes[i])
    }

    /// Children of a node in catalog order.
    pub fn children(&self, code: &str) -> Vec<&Node> {
        self.children
            .get(code)
            .map(|v| v.iter().map(|&i| &self.nodes[i]).collect())
            .unwrap_or_default()
    }

    /// A node and all its descendants, depth first in catalog order.
    pub fn subtree(&self, code: &str) -> Vec<&Node> {
        let mut out = Vec::new();
        if let Some(n) = self.get(code) {
            let mut stack = vec![n];
            while let Some(n) = stack.pop() {
                out.push(n);
                let kids = self.children(&n.code);
                stack.extend(kids.into_iter().rev());
            }
        }
        out
    }

    /// The nodes from the level root down to `code` (inclusive).
    pub fn path(&self, code: &str) -> Vec<&Node> {
        let mut out = Vec::new();
        let mut cur = self.get(code);
        while let Some(n) = cur {
            out.push(n);
            cur = n.parent.as_deref().and_then(|p| self.get(p));
        }
        out.reverse();
        out
    }

    /// The short names along [`Catalog::path`]: `["县级", "管理类", "精准施策类", "…"]`.
    pub fn path_names(&self, code: &str) -> Vec<String> {
        self.path(code).iter().map(|n| n.name.clone()).collect()
    }

    /// The level definition of a node.
    pub fn level_of(&self, node: &Node) -> Option<&LevelDef> {
        self.levels.iter().find(|l| l.code == node.level)
    }

    /// Resolve a code as people type it (`x-1.3.6`, `Ｘ－１．３．６`, `县级1.3.6`) to a node, or an
    /// [`CatalogError::UnknownCode`] carrying the nearest existing codes.
    pub fn resolve(&self, input: &str) -> Result<&Node, CatalogError> {
        let levels: Vec<(&str, &str)> = self
            .levels
            .iter()
            .map(|l| (l.code.as_str(), l.name.as_str()))
            .collect();
        let normalized = normalize_code(input, &levels);
        if let Some(n) = self.get(&normalized) {
            return Ok(n);
        }
        Err(CatalogError::UnknownCode {
            input: input.to_string(),
            suggestions: self.nearest(&normalized, 5),
        })
    }

    /// The `n` existing codes closest to `code` (edit distance, same level first).
    pub fn nearest(&self, code: &str, n: usize) -> Vec<String> {
        let mut scored: Vec<(usize, usize, &str)> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let mut d = code::edit_distance(code, &node.code);
                if !code.starts_with(node.level.as_str()) {
                    d += 2;
                }
                (d, i, node.code.as_str())
            })
            .collect();
        scored.sort();
        let limit = (code.chars().count() / 2).max(2);
        scored
            .into_iter()
            .filter(|(d, _, _)| *d <= limit + 2)
            .take(n)
            .map(|(_, _, c)| c.to_string())
            .collect()
    }

    /// Nodes whose name, text or note match the words, best first.
    pub fn search(&self, query: &str) -> Vec<SearchHit<'_>> {
        search::search(self, query)
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_profile_loads() {
        let c = Catalog::embedded();
        assert_eq!(c.numbered().count(), 229);
        assert_eq!(c.nodes().count(), 229 + 5);
    }

    #[test]
    fn tree_order_puts_level_roots_first() {
        let c = Catalog::embedded();
        let codes: Vec<&str> = c.nodes().take(4).map(|n| n.code.as_str()).collect();
        assert_eq!(codes, ["S", "S-1", "S-1.1", "S-1.1.1"]);
    }
}
