//! `dangan catalog …` and `dangan danghao …`: rendering catalog lookups.

use std::fmt::Write as _;

use anyhow::{Context as _, bail};
use serde::Serialize;

use dangan::catalog::{Catalog, CatalogError, Danghao, Node};

use crate::Status;
use crate::args::{Global, Lang};
use crate::output::{print, print_json};
use clap::{Args, Subcommand};

fn load(global: &Global) -> anyhow::Result<Catalog> {
    Ok(Catalog::load_or_embedded(global.profile.as_deref())?)
}

/// Resolve a typed code or fail with the suggestions in the message (exit 2).
fn resolve<'a>(catalog: &'a Catalog, code: &str) -> anyhow::Result<&'a Node> {
    catalog.resolve(code).map_err(|e| match e {
        CatalogError::UnknownCode { .. } => anyhow::anyhow!("{e}"),
        other => other.into(),
    })
}

#[derive(Serialize)]
struct PathStep<'a> {
    code: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct NodeView<'a> {
    #[serde(flatten)]
    node: &'a Node,
    path: Vec<PathStep<'a>>,
    children: Vec<PathStep<'a>>,
}

fn view<'a>(catalog: &'a Catalog, node: &'a Node) -> NodeView<'a> {
    let step = |n: &'a Node| PathStep {
        code: &n.code,
        name: &n.name,
    };
    NodeView {
        node,
        path: catalog.path(&node.code).into_iter().map(step).collect(),
        children: catalog.children(&node.code).into_iter().map(step).collect(),
    }
}

/// An enum's English word: its serialized name (`level`, `audio-video`, `born-digital`).
fn en_word<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "?".into(),
    }
}

fn depth(catalog: &Catalog, node: &Node) -> usize {
    catalog.path(&node.code).len() - 1
}

pub fn run(global: &Global, cmd: CatalogCmd) -> anyhow::Result<Status> {
    let catalog = load(global)?;
    match cmd {
        CatalogCmd::List { level, under, json } => {
            let mut nodes: Vec<&Node> = match &under {
                Some(code) => catalog.subtree(&resolve(&catalog, code)?.code),
                None => catalog.nodes().collect(),
            };
            if let Some(level) = &level {
                let want = level.trim().to_ascii_uppercase();
                let Some(l) = catalog
                    .levels
                    .iter()
                    .find(|l| l.code == want || l.name == level.trim())
                else {
                    let known: Vec<String> = catalog
                        .levels
                        .iter()
                        .map(|l| format!("{} {}", l.code, l.name))
                        .collect();
                    bail!("unknown level '{level}'; levels are {}", known.join(", "));
                };
                nodes.retain(|n| n.level == l.code);
            }
            if json {
                print_json(&nodes)?;
            } else {
                let mut s = String::new();
                for n in nodes {
                    let indent = "  ".repeat(depth(&catalog, n));
                    if n.parent.is_none() {
                        let lv = catalog.level_of(n);
                        let en = lv.map(|l| l.en.as_str()).unwrap_or("");
                        match global.lang {
                            Lang::Zh => writeln!(s, "{} {}  {}", n.code, n.name, n.text)?,
                            Lang::En => writeln!(s, "{} {} ({en})", n.code, n.name)?,
                        }
                    } else {
                        writeln!(s, "{indent}{} {}", n.code, n.name)?;
                    }
                }
                print(&s)?;
            }
            Ok(Status::Ok)
        }
        CatalogCmd::Show { code, json } => {
            let node = resolve(&catalog, &code)?;
            if json {
                print_json(&view(&catalog, node))?;
                return Ok(Status::Ok);
            }
            let zh = global.lang == Lang::Zh;
            let mut s = String::new();
            writeln!(s, "{} {}", node.code, node.name)?;
            let path: Vec<String> = catalog.path_names(&node.code);
            let label = |zh_label: &'static str, en_label: &'static str| {
                if zh { zh_label } else { en_label }
            };
            writeln!(s, "{}: {}", label("路径", "path"), path.join(" › "))?;
            writeln!(
                s,
                "{}: {}",
                label("类型", "kind"),
                if zh {
                    node.kind.label_zh().to_string()
                } else {
                    en_word(&node.kind)
                }
            )?;
            writeln!(s, "{}: {}", label("原文", "text"), node.text)?;
            if let Some(note) = &node.note {
                writeln!(s, "{}: {}", label("说明", "note"), note)?;
            }
            if let Some(c) = node.carrier {
                write!(
                    s,
                    "{}: {}",
                    label("载体", "carrier"),
                    if zh {
                        c.label_zh().to_string()
                    } else {
                        en_word(&c)
                    }
                )?;
                if let Some(e) = node.electronic {
                    let word = if zh {
                        e.label_zh().to_string()
                    } else {
                        en_word(&e)
                    };
                    write!(s, " · {word}")?;
                }
                writeln!(s)?;
            }
            if node.by_year {
                writeln!(s, "{}", label("按年度归类", "arranged by year"))?;
            }
            if !node.see.is_empty() {
                let refs: Vec<String> = node
                    .see
                    .iter()
                    .filter_map(|c| catalog.get(c))
                    .map(|n| format!("{} {}", n.code, catalog.path_names(&n.code).join("·")))
                    .collect();
                writeln!(s, "{}: {}", label("参见", "see"), refs.join("; "))?;
            }
            let children = catalog.children(&node.code);
            if !children.is_empty() {
                writeln!(s, "{} ({}):", label("下级", "children"), children.len())?;
                for c in children {
                    writeln!(s, "  {} {}", c.code, c.name)?;
                }
            }
            print(&s)?;
            Ok(Status::Ok)
        }
        CatalogCmd::Search { words, json } => {
            let query = words.join(" ");
            let hits = catalog.search(&query);
            if json {
                #[derive(Serialize)]
                struct Hit<'a> {
                    #[serde(flatten)]
                    view: NodeView<'a>,
                    score: f64,
                }
                let out: Vec<Hit> = hits
                    .iter()
                    .map(|h| Hit {
                        view: view(&catalog, h.node),
                        score: h.score,
                    })
                    .collect();
                print_json(&out)?;
            } else if hits.is_empty() {
                eprintln!("no catalog node matches '{query}'");
            } else {
                let mut s = String::new();
                for h in &hits {
                    writeln!(
                        s,
                        "{:<10} {}  [{}]",
                        h.node.code,
                        h.node.name,
                        catalog
                            .path(&h.node.code)
                            .iter()
                            .rev()
                            .skip(1)
                            .rev()
                            .map(|n| n.name.as_str())
                            .collect::<Vec<_>>()
                            .join(" › ")
                    )?;
                }
                print(&s)?;
            }
            // Finding nothing is an answer, not a failure of the command.
            Ok(Status::Ok)
        }
    }
}

pub fn run_danghao(global: &Global, args: DanghaoArgs) -> anyhow::Result<Status> {
    #[derive(Serialize)]
    struct Checked {
        input: String,
        ok: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        danghao: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        file_stem: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        parts: Option<serde_json::Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<serde_json::Value>,
    }
    let mut all_ok = true;
    let mut out = Vec::new();
    for input in &args.codes {
        // Accept the file-name form too: it has '_' where the 档号 has '·'.
        let parsed = input
            .parse::<Danghao>()
            .or_else(|e| Danghao::from_file_stem(input).map_err(|_| e));
        match parsed {
            Ok(d) => out.push(Checked {
                input: input.clone(),
                ok: true,
                danghao: Some(d.to_string()),
                file_stem: Some(d.to_file_stem()),
                parts: Some(serde_json::json!({
                    "fonds": d.fonds, "category": d.category, "year": d.year,
                    "retention": d.retention.code(), "retention_zh": d.retention.label_zh(),
                    "unit": d.unit, "item": d.item,
                })),
                error: None,
            }),
            Err(e) => {
                all_ok = false;
                out.push(Checked {
                    input: input.clone(),
                    ok: false,
                    danghao: None,
                    file_stem: None,
                    parts: None,
                    error: Some(serde_json::json!({"part": e.part, "message": e.to_string()})),
                });
            }
        }
    }
    if args.json {
        print_json(&out)?;
    } else {
        let mut s = String::new();
        for c in &out {
            match (&c.parts, &c.error) {
                (Some(p), _) if global.lang == Lang::En => writeln!(
                    s,
                    "✓ {}  fonds {} · category {} · year {} · retention {} · unit (subject) {} · item {:04}  (file name {})",
                    c.danghao.as_deref().unwrap_or_default(),
                    p["fonds"].as_str().unwrap_or_default(),
                    p["category"].as_str().unwrap_or_default(),
                    p["year"],
                    p["retention"].as_str().unwrap_or_default(),
                    p["unit"].as_str().unwrap_or("-"),
                    p["item"].as_u64().unwrap_or_default(),
                    c.file_stem.as_deref().unwrap_or_default(),
                )
                .context("format")?,
                (Some(p), _) => writeln!(
                    s,
                    "✓ {}  全宗号 {} · 门类 {} · 年度 {} · 保管期限 {} · 机构(问题) {} · 件号 {:04}  (文件名 {})",
                    c.danghao.as_deref().unwrap_or_default(),
                    p["fonds"].as_str().unwrap_or_default(),
                    p["category"].as_str().unwrap_or_default(),
                    p["year"],
                    p["retention_zh"].as_str().unwrap_or_default(),
                    p["unit"].as_str().unwrap_or("—"),
                    p["item"].as_u64().unwrap_or_default(),
                    c.file_stem.as_deref().unwrap_or_default(),
                )
                .context("format")?,
                // The catalog module words its errors in Chinese; in English, say which part is wrong.
                (None, Some(e)) if global.lang == Lang::En => writeln!(
                    s,
                    "✗ '{}': not a valid reference code (DA/T 22-2015): the {} part is wrong; expected fonds-category·year-retention-[unit-]item, e.g. J001-WS·2019-Y-BGS-0001",
                    c.input,
                    e["part"].as_str().unwrap_or("?"),
                )?,
                (None, Some(e)) => writeln!(s, "✗ {}", e["message"].as_str().unwrap_or_default())?,
                _ => {}
            }
        }
        print(&s)?;
    }
    Ok(if all_ok { Status::Ok } else { Status::Failed })
}

// ---- command-line arguments (owned here so that commands do not collide in one args.rs) ----

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
