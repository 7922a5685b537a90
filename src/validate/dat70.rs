//! 四性检测 (DA/T 70-2018) on top of the E-ARK checks: fixity and sizes recomputed, catalog.xml against the
//! catalog profile, content opened, nothing extra, nothing dangerous.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rayon::prelude::*;

use crate::catalog::{Catalog, Danghao};
use crate::identify::{self, Family};
use crate::model::Level;

use super::content::{self, ArchivalFormats, Program};
use super::digest;
use super::mets::{Declared, RefKind, ref_rules};
use super::{CheckRun, Finding, Options};
use crate::sip::xml;
use crate::sip::{EntryKind, Package};

const CATALOG_NS: &str = "urn:dangan:catalog:1";

/// An item of catalog.xml.
#[derive(Debug, Clone)]
pub struct ItemInfo {
    pub danghao: String,
    pub title: String,
    pub catalog_code: String,
    pub files: Vec<String>,
}

pub struct Outcome {
    pub items: Vec<ItemInfo>,
    pub checks: Vec<CheckRun>,
}

fn f(item: &str, path: &str, zh: impl Into<String>, en: impl Into<String>) -> Finding {
    Finding::dat70(item, Some(path.to_string()), zh, en)
}

/// Recompute size and checksum of every declared file (in parallel; each file read once).
fn verify_refs(pkg: &Package, refs: &[Declared]) -> Vec<Finding> {
    refs.par_iter()
        .flat_map_iter(|r| {
            let mut out = Vec::new();
            let Some((exists_rule, size_rule, sum_rule)) = ref_rules(r.r.kind) else {
                return out;
            };
            let Some(entry) = pkg.entries.get(&r.path) else {
                out.push(Finding::eark(
                    exists_rule,
                    Some(r.path.clone()),
                    format!("在 {} 中声明, 但封装包中没有该文件", r.declared_in),
                    format!("declared in {} but not in the package", r.declared_in),
                ));
                return out;
            };
            if entry.kind != EntryKind::File {
                return out; // symlink or encrypted entry: reported by the reader
            }
            let alg = r.r.checksum_type.as_deref().unwrap_or("");
            let result = pkg.with_reader(&r.path, |rd| match digest::digest(alg, rd)? {
                Some(x) => Ok((Some(x.0), x.1)),
                None => Ok((None, digest::count(rd)?)),
            });
            match result {
                Err(e) => out.push(f(
                    "1.3",
                    &r.path,
                    format!("无法读取: {e}"),
                    format!("cannot be read: {e}"),
                )),
                Ok((sum, n)) => {
                    if let Some(declared) = r.size()
                        && declared != n
                    {
                        out.push(Finding::eark(
                            size_rule,
                            Some(r.path.clone()),
                            format!(
                                "{} 中声明的大小 (SIZE) 为 {declared}, 文件实际为 {n} 字节",
                                r.declared_in
                            ),
                            format!(
                                "SIZE {declared} in {} but the file has {n} bytes",
                                r.declared_in
                            ),
                        ));
                    }
                    match (sum, &r.r.checksum) {
                        (Some(actual), Some(declared))
                            if !actual.eq_ignore_ascii_case(declared.trim()) =>
                        {
                            out.push(Finding::eark(
                                sum_rule,
                                Some(r.path.clone()),
                                format!(
                                    "{} 中声明的 {alg} 摘要值为 {declared}, 文件实际为 {actual}",
                                    r.declared_in
                                ),
                                format!(
                                    "{alg} in {} is {declared}, the file's is {actual}",
                                    r.declared_in
                                ),
                            ))
                        }
                        (None, Some(_)) if !alg.is_empty() => out.push(
                            f(
                                "1.1",
                                &r.path,
                                format!("dangan 不重新计算 {alg} 校验和: 未核验"),
                                format!(
                                    "checksum type {alg} is not recomputed by dangan: not verified"
                                ),
                            )
                            .with_level(Level::Info),
                        ),
                        _ => {}
                    }
                }
            }
            out
        })
        .collect()
}

/// Content checks of one file: programs, format by content, opens, encryption, macros, archival format,
/// declared media type.
fn check_content(pkg: &Package, path: &str, declared_mime: Option<&str>) -> Vec<Finding> {
    let mut out = Vec::new();
    let head = match pkg.head(path, 4096) {
        Ok(h) => h,
        Err(_) => return out,
    };
    match content::program(&head, path) {
        Some(Program::Executable) => {
            out.push(f(
                "4.2",
                path,
                "封装包中有可执行程序",
                "executable program in the package",
            ));
            return out;
        }
        Some(Program::Script) => {
            out.push(f(
                "4.2",
                path,
                "封装包中有脚本程序",
                "script in the package",
            ));
            return out;
        }
        None => {}
    }
    // Whole files up to a sane size are identified (containers need their directories) and opened;
    // larger ones are identified by their first bytes only.
    const OPEN_LIMIT: u64 = 256 << 20;
    let size = pkg.entries.get(path).map(|e| e.size).unwrap_or(0);
    let name = path.rsplit('/').next();
    let body = if size <= OPEN_LIMIT {
        pkg.read(path).ok()
    } else {
        None
    };
    let id = identify::identify_bytes(body.as_deref().unwrap_or(&head), name);
    if let Some(bytes) = &body {
        match id.family {
            Family::Zip | Family::Ofd => {
                for (entry, what) in content::zip_hazards(bytes) {
                    match what {
                        "encrypted" => out.push(f(
                            "3.4",
                            path,
                            format!("压缩包内有加密文件 ({entry})"),
                            format!("encrypted archive (entry {entry})"),
                        )),
                        "macro" => out.push(f(
                            "4.2",
                            path,
                            format!("含有 VBA 宏 ({entry})"),
                            format!("contains VBA macros ({entry})"),
                        )),
                        _ => out.push(f(
                            "4.2",
                            path,
                            format!("压缩包内含可执行程序 ({entry})"),
                            format!("archive contains an executable ({entry})"),
                        )),
                    }
                }
            }
            Family::Cfb => match content::cfb_hazard(bytes) {
                Some("macro") => out.push(f(
                    "4.2",
                    path,
                    "旧版 Office 文件含有 VBA 宏",
                    "legacy Office file with VBA macros",
                )),
                Some(_) => out.push(f(
                    "3.4",
                    path,
                    "加密的 Office 文档",
                    "encrypted Office document",
                )),
                None => {}
            },
            _ => {}
        }
        if let Err(why) = content::opens(&id, bytes) {
            if id.family == Family::Pdf
                && (why.en.contains("encrypted") || content::pdf_encrypted(bytes))
            {
                out.push(f("3.4", path, "PDF 已加密", "PDF is encrypted"));
            } else {
                out.push(f("3.2", path, why.zh, why.en));
            }
        }
    }
    let archival = ArchivalFormats::embedded();
    if archival.applies_to(path) && !archival.is_archival(&id) {
        out.push(
            f(
                "3.2",
                path,
                format!(
                    "格式 {} ({}) 不在归档格式清单 (profiles/archival-formats.toml) 中",
                    id.identification.format,
                    id.identification.puid.as_deref().unwrap_or("无 PUID")
                ),
                format!(
                    "format {} ({}) is not on the archival list (profiles/archival-formats.toml)",
                    id.identification.format,
                    id.identification.puid.as_deref().unwrap_or("no PUID")
                ),
            )
            .with_level(Level::Warning),
        );
    }
    // 1.3: the declared media type should agree with the content.
    if let Some(m) = declared_mime
        && content::mime_contradicts(&id, m)
    {
        out.push(
            f(
                "1.3",
                path,
                format!(
                    "声明的 MIMETYPE 为 {m}, 内容实为 {} ({})",
                    id.identification.format, id.identification.mime
                ),
                format!(
                    "MIMETYPE {m} declared, content is {} ({})",
                    id.identification.format, id.identification.mime
                ),
            )
            .with_level(Level::Warning),
        );
    }
    out
}

/// Metadata that reads wrong (3.1).
fn check_metadata_text(pkg: &Package, path: &str) -> Option<Finding> {
    let bytes = pkg.read(path).ok()?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    match std::str::from_utf8(bytes) {
        Err(e) => Some(f(
            "3.1",
            path,
            format!("不是有效的 UTF-8 编码 (在第 {} 字节处)", e.valid_up_to()),
            format!("not valid UTF-8 (at byte {})", e.valid_up_to()),
        )),
        Ok(t) => content::mojibake(t)
            .map(|why| f("3.1", path, why.zh, why.en).with_level(Level::Warning)),
    }
}

fn catalog_checks(
    pkg: &Package,
    path: &str,
    catalog: &Catalog,
    findings: &mut Vec<Finding>,
) -> Vec<ItemInfo> {
    let mut items = Vec::new();
    let Ok(bytes) = pkg.read(path) else {
        return items;
    };
    let root = match xml::parse(&bytes) {
        Ok(r) => r,
        Err(e) => {
            let item = if matches!(e, xml::XmlError::Doctype | xml::XmlError::Entity(_)) {
                "4.3"
            } else {
                "3.1"
            };
            findings.push(f(
                item,
                path,
                format!("catalog.xml 不被接受: {}", e.zh()),
                format!("catalog.xml not accepted: {e}"),
            ));
            return items;
        }
    };
    if root.ns != CATALOG_NS || root.name != "catalog" {
        findings.push(f(
            "1.2",
            path,
            "不是 dangan 目录文件 (urn:dangan:catalog:1)",
            "not a dangan catalog (urn:dangan:catalog:1)",
        ));
        return items;
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut series: BTreeMap<String, Vec<(u32, String)>> = BTreeMap::new();
    for (n, it) in root.kids(CATALOG_NS, "item").enumerate() {
        let text = |name: &str| {
            it.kid(CATALOG_NS, name)
                .map(|e| e.text.trim().to_string())
                .unwrap_or_default()
        };
        let dh = text("danghao");
        let code = text("catalogCode");
        let title = text("title");
        // The item as messages name it: its 档号 (which ties the finding to the item), else its position.
        let (label_zh, label) = if dh.is_empty() {
            (format!("第 {} 条", n + 1), format!("item #{}", n + 1))
        } else {
            (dh.clone(), dh.clone())
        };
        // 2.2: mandatory metadata of an item (DA/T 46: 档号 parts, 题名; the catalog code is dangan's profile).
        for (name_zh, name, v) in [
            ("档号 (danghao)", "danghao 档号", &dh),
            ("分类号 (catalogCode)", "catalogCode 分类号", &code),
            ("题名 (title)", "title 题名", &title),
        ] {
            if v.is_empty() {
                findings.push(f(
                    "2.2",
                    path,
                    format!("{label_zh}: 必填元素 {name_zh} 缺失或为空"),
                    format!("{label}: mandatory element {name} missing or empty"),
                ));
            }
        }
        // 1.2: 档号 well-formed (DA/T 22-2015), no duplicates.
        let mut stem: Option<String> = None;
        if !dh.is_empty() {
            match dh.parse::<Danghao>() {
                Ok(d) => {
                    let key = format!(
                        "{}-{}·{}-{}-{}",
                        d.fonds,
                        d.category,
                        d.year,
                        d.retention.code(),
                        d.unit.clone().unwrap_or_default()
                    );
                    series
                        .entry(key)
                        .or_default()
                        .push((u32::from(d.item), dh.clone()));
                    stem = Some(d.to_file_stem());
                }
                Err(e) => findings.push(f(
                    "1.2",
                    path,
                    format!("档号 {dh} 格式不正确: {e}"),
                    format!("档号 {dh} is not well-formed: {e}"),
                )),
            }
            if let Some(first) = seen.insert(dh.clone(), n + 1) {
                findings.push(f(
                    "1.2",
                    path,
                    format!("档号 {dh} 重复 (第 {first} 条与第 {} 条)", n + 1),
                    format!("duplicate 档号 {dh} (items #{first} and #{})", n + 1),
                ));
            }
        }
        // 1.2: the catalog code exists in the profile.
        if !code.is_empty() && catalog.get(&code).is_none() {
            let (hint_zh, hint) = catalog
                .resolve(&code)
                .map(|n| {
                    (
                        format!(" (是否应为 {}?)", n.code),
                        format!(" (did you mean {}?)", n.code),
                    )
                })
                .unwrap_or_default();
            findings.push(f(
                "1.2",
                path,
                format!(
                    "{label_zh}: 分类号 {code} 不在分类方案 {} 中{hint_zh}",
                    catalog.info.id
                ),
                format!(
                    "{label}: catalog code {code} is not in profile {}{hint}",
                    catalog.info.id
                ),
            ));
        }
        let files: Vec<String> = it
            .kids(CATALOG_NS, "file")
            .filter_map(|x| x.a("path"))
            .map(str::to_string)
            .collect();
        // 1.3: file names carry the 档号 (DA/T 31-2017 9.6). A 目录 may name files explicitly, so a warning.
        // A file inside a folder named for the 档号 carries it too (e-mail attachments, split messages).
        if let Some(stem) = &stem {
            for file in &files {
                let under_data = file.split_once("/data/").map_or(file.as_str(), |(_, r)| r);
                if !under_data.split('/').any(|c| c.starts_with(stem.as_str())) {
                    findings.push(
                        f(
                            "1.3",
                            file,
                            format!("{label_zh}: 文件名未包含档号 ({stem}…)"),
                            format!("{label}: file name does not carry the 档号 ({stem}…)"),
                        )
                        .with_level(Level::Warning),
                    );
                }
            }
        }
        // 2.3: every item has content; 1.4: every file the item names is in the package.
        if files.is_empty() {
            findings.push(f(
                "2.3",
                path,
                format!("{label_zh}: 该条目没有文件"),
                format!("{label}: item has no files"),
            ));
        }
        for file in &files {
            if !pkg.entries.contains_key(file) {
                findings.push(f(
                    "1.4",
                    file,
                    format!("{label_zh}: catalog.xml 列出了该文件, 但封装包中缺失"),
                    format!("{label}: catalog.xml names this file, the package lacks it"),
                ));
            }
        }
        items.push(ItemInfo {
            danghao: dh,
            title,
            catalog_code: code,
            files,
        });
    }
    // 2.2: no gaps in 件号 within one series. A package split by code or year legitimately has gaps, so this is
    // a warning.
    for (key, mut nos) in series {
        nos.sort();
        for w in nos.windows(2) {
            if w[1].0 > w[0].0 + 1 {
                findings.push(
                    f(
                        "2.2",
                        path,
                        format!("{key} 中件号不连续: {} 之后是 {}", w[0].1, w[1].1),
                        format!(
                            "item-number gap in {key}: after {} comes {}",
                            w[0].1, w[1].1
                        ),
                    )
                    .with_level(Level::Warning),
                );
            }
        }
    }
    // 2.3: every content file belongs to an item.
    let claimed: BTreeSet<&str> = items
        .iter()
        .flat_map(|i| i.files.iter().map(String::as_str))
        .collect();
    for k in pkg.entries.keys() {
        if k.starts_with("representations/")
            && k.contains("/data/")
            && !claimed.contains(k.as_str())
        {
            findings.push(f(
                "2.3",
                k,
                "内容文件不属于 catalog.xml 中的任何条目",
                "content file belongs to no item of catalog.xml",
            ));
        }
    }
    items
}

/// Run clamscan over the package. The check run's detail is English (it is also the English finding message);
/// the second value says the same in Chinese for the finding.
fn clamscan(pkg: &Package) -> (CheckRun, String) {
    let Some(tool) = crate::tool::clamscan() else {
        return (
            CheckRun {
                name: "clamscan".into(),
                status: "not_run".into(),
                detail: "clamscan is not on PATH: virus check not run (DA/T 70-2018 4.1)".into(),
            },
            "clamscan 不在 PATH 中: 未进行病毒扫描 (DA/T 70-2018 4.1)".into(),
        );
    };
    let args: Vec<&std::ffi::OsStr> = vec![
        "-r".as_ref(),
        "--infected".as_ref(),
        "--no-summary".as_ref(),
        pkg.source.as_os_str(),
    ];
    let out = tool.run_captured(&args, None, Some(crate::tool::DEFAULT_TIMEOUT));
    let run = match out {
        Ok(o) => CheckRun {
            name: "clamscan".into(),
            status: match o.status.code() {
                Some(0) => "run",
                Some(1) => "infected",
                _ => "failed",
            }
            .into(),
            detail: String::from_utf8_lossy(&o.stdout).trim().to_string(),
        },
        Err(e) => CheckRun {
            name: "clamscan".into(),
            status: "failed".into(),
            detail: e.to_string(),
        },
    };
    // clamscan's own output is not translated; the Chinese says what it is.
    let zh = format!("病毒扫描 (clamscan) 未能完成: {}", run.detail);
    (run, zh)
}

pub fn check(
    pkg: &Package,
    refs: &[Declared],
    metadata_paths: &[String],
    catalog: &Catalog,
    options: &Options,
    findings: &mut Vec<Finding>,
) -> Outcome {
    let mut checks = Vec::new();
    findings.extend(verify_refs(pkg, refs));

    // 2.4: nothing in the package that no METS declares (the METS files themselves are declared by being read).
    let declared: BTreeSet<&str> = refs
        .iter()
        .map(|r| r.path.as_str())
        .chain(metadata_paths.iter().map(String::as_str))
        .collect();
    if !metadata_paths.is_empty() {
        for k in pkg.entries.keys() {
            if !declared.contains(k.as_str()) {
                findings.push(f(
                    "2.4",
                    k,
                    "文件在封装包中, 但没有任何 METS 列出 (多余文件)",
                    "file is in the package but no METS lists it (extra file)",
                ));
            }
        }
    }
    // 2.1: totals the package declares vs what it holds.
    let mut seen = BTreeSet::new();
    let (mut n_decl, mut bytes_decl, mut n_found, mut bytes_found) = (0u64, 0u64, 0u64, 0u64);
    for r in refs.iter().filter(|r| r.r.kind == RefKind::File) {
        if seen.insert(r.path.as_str()) {
            n_decl += 1;
            bytes_decl += r.size().unwrap_or(0);
            if let Some(e) = pkg.entries.get(&r.path) {
                n_found += 1;
                bytes_found += e.size;
            }
        }
    }
    if n_decl != n_found || bytes_decl != bytes_found {
        findings.push(Finding::dat70(
            "2.1",
            None,
            format!("METS 声明 {n_decl} 个文件, 共 {bytes_decl} 字节; 封装包中实有其中 {n_found} 个, 共 {bytes_found} 字节"),
            format!("the METS declare {n_decl} files, {bytes_decl} bytes; the package holds {n_found} of them, {bytes_found} bytes"),
        ));
    }

    // Content of every readable file (security first: every file, declared or not).
    let mimes: HashMap<&str, &str> = refs
        .iter()
        .filter_map(|r| r.r.mime.as_deref().map(|m| (r.path.as_str(), m)))
        .collect();
    let paths: Vec<&String> = pkg
        .entries
        .values()
        .filter(|e| e.kind == EntryKind::File)
        .map(|e| &e.path)
        .collect();
    let content: Vec<Finding> = paths
        .par_iter()
        .flat_map_iter(|p| {
            let mut out = check_content(pkg, p, mimes.get(p.as_str()).copied());
            let meta = p.ends_with(".xml")
                || p.starts_with("documentation/") && (p.ends_with(".csv") || p.ends_with(".txt"));
            if meta
                && !p.contains("/data/")
                && let Some(x) = check_metadata_text(pkg, p)
            {
                out.push(x);
            }
            out
        })
        .collect();
    findings.extend(content);

    // catalog.xml (dangan's descriptive metadata) when the package has it.
    let catalog_path = refs
        .iter()
        .find(|r| r.r.kind == RefKind::Dmd && r.r.other_mdtype.as_deref() == Some("DANGAN-CATALOG"))
        .map(|r| r.path.clone())
        .or_else(|| {
            pkg.entries
                .contains_key("metadata/descriptive/catalog.xml")
                .then(|| "metadata/descriptive/catalog.xml".to_string())
        });
    let items = match &catalog_path {
        Some(p) if pkg.entries.contains_key(p) => {
            checks.push(CheckRun {
                name: "catalog.xml".into(),
                status: "run".into(),
                detail: p.clone(),
            });
            catalog_checks(pkg, p, catalog, findings)
        }
        _ => {
            checks.push(CheckRun {
                name: "catalog.xml".into(),
                status: "not_run".into(),
                detail:
                    "no dangan catalog.xml: item-level checks (reference codes, item numbers, catalog codes) not run"
                        .into(),
            });
            Vec::new()
        }
    };

    // 3.3: the environment is recorded when there is preservation metadata.
    if !refs.iter().any(|r| r.r.kind == RefKind::Digiprov) && !metadata_paths.is_empty() {
        findings.push(
            Finding::dat70(
                "3.3",
                None,
                "没有保存元数据 (PREMIS digiprovMD): 未记录环境信息",
                "no preservation metadata (PREMIS digiprovMD): environment not recorded",
            )
            .with_level(Level::Warning),
        );
    }

    // 4.1: virus scan.
    let (scan, scan_zh) = if options.virus_scan {
        clamscan(pkg)
    } else {
        (
            CheckRun {
                name: "clamscan".into(),
                status: "not_run".into(),
                detail: "virus scan turned off".into(),
            },
            "病毒扫描已关闭".to_string(),
        )
    };
    match scan.status.as_str() {
        "run" => {}
        "infected" => findings.push(Finding::dat70(
            "4.1",
            None,
            format!("病毒扫描 (clamscan) 发现: {}", scan.detail),
            format!("clamscan found: {}", scan.detail),
        )),
        _ => findings.push(
            Finding::dat70("4.1", None, scan_zh, scan.detail.clone()).with_level(Level::Info),
        ),
    }
    checks.push(scan);
    // XML Schema validity of the METS and of the metadata files they reference.
    let mut xml_docs: Vec<String> = metadata_paths.to_vec();
    xml_docs.extend(
        refs.iter()
            .filter(|r| {
                matches!(r.r.kind, RefKind::Dmd | RefKind::Digiprov) && r.path.ends_with(".xml")
            })
            .map(|r| r.path.clone()),
    );
    xml_docs.sort();
    xml_docs.dedup();
    if options.xsd {
        checks.push(super::xsd::check(pkg, &xml_docs, findings));
    } else {
        checks.push(CheckRun {
            name: "xsd".into(),
            status: "not_run".into(),
            detail: "XML Schema validation turned off".into(),
        });
    }

    Outcome { items, checks }
}
