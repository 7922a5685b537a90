//! `pack`: from a batch folder and its 目录 to E-ARK SIP packages.
//!
//! intake → QC of page images (DA/T 31-2017) → identify → normalize (format policy: preservation masters,
//! access copies) → package. Nothing is written when intake or QC finds an error: the findings are
//! returned instead.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::catalog::Catalog;
use crate::context::Context;
use crate::identify;
use crate::intake::{Columns, Intake, IntakeError, IntakeOptions, intake};
use crate::intake::{Field, IntakeItem, MatchBasis};
use crate::model::{Agent, Event, EventType, Finding, Identification, Level, Outcome};
use crate::normalize::{self, FormatKey, InputFile, ItemMeta, Policy, Root, Tools};
use crate::package::{
    self, Form, PackageError, PackageSpec, RepresentationSpec, Source, SourceFile, WrittenPackage,
};
use crate::qc::{self, QcPolicy, QcReport};

/// Why packing stopped.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error(transparent)]
    Intake(#[from] IntakeError),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error(transparent)]
    Identify(#[from] identify::IdentifyError),
    #[error(transparent)]
    Normalize(#[from] normalize::NormalizeError),
}

/// Options of a pack run.
#[derive(Debug, Clone)]
pub struct PackOptions {
    pub manifest: Option<PathBuf>,
    /// Package ID (mets/@OBJID); derived from the batch when `None`.
    pub id: Option<String>,
    pub label: Option<String>,
    pub submitter: String,
    pub submitter_id: Option<String>,
    pub sm3: bool,
    pub form: Form,
    pub split_by: SplitBy,
    /// Scan QC thresholds (DA/T 31-2017); the embedded policy when `None`.
    pub qc: Option<QcPolicy>,
    /// Format policy for preservation masters and access copies; `None` = no normalization (originals
    /// only).
    pub policy: Option<Policy>,
    /// External tools the policy may use (ffmpeg, soffice), found on PATH by the caller.
    pub tools: Tools,
}

/// How a batch is divided into packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitBy {
    /// One package for the whole batch.
    #[default]
    None,
    /// One package per catalog code.
    Code,
    /// One package per 年度.
    Year,
    /// One package per household (一户一档), by 户编号 (or 户主姓名 where no 户编号 is given).
    Household,
}

impl Default for PackOptions {
    fn default() -> Self {
        PackOptions {
            manifest: None,
            id: None,
            label: None,
            submitter: "未注明报送单位".into(),
            submitter_id: None,
            sm3: false,
            form: Form::Folder,
            split_by: SplitBy::None,
            qc: None,
            policy: Some(Policy::embedded()),
            tools: Tools::default(),
        }
    }
}

/// One package written.
#[derive(Debug, Clone, Serialize)]
pub struct PackedPackage {
    pub id: String,
    pub path: PathBuf,
    pub items: usize,
    pub files: usize,
    pub bytes: u64,
}

/// The outcome: packages written (none when the batch is invalid) and every finding.
#[derive(Debug, Clone, Serialize)]
pub struct PackReport {
    pub packages: Vec<PackedPackage>,
    pub findings: Vec<Finding>,
}

/// Where an original file lands inside the package.
fn package_path(rel: &str) -> String {
    format!("representations/original/data/{rel}")
}

/// A package ID from a folder name: keep safe characters, map the rest to '_'.
fn id_from(batch: &Path) -> String {
    let name = batch
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "batch".into());
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.').to_string();
    if s.is_empty() { "batch".into() } else { s }
}

/// The hand-over list as Chinese archives expect it: UTF-8 with BOM so Excel opens it right.
fn manifest_csv(intake: &Intake) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = w.write_record([
        "档号",
        "题名",
        "分类号",
        "日期",
        "页数",
        "保管期限",
        "文件数",
        "文件",
    ]);
    for it in &intake.items {
        let files: Vec<&str> = it.files.iter().map(|f| f.path.as_str()).collect();
        let _ = w.write_record([
            it.danghao.to_string(),
            it.title.clone(),
            it.catalog_code.clone(),
            it.date.clone().unwrap_or_default(),
            it.pages.map(|p| p.to_string()).unwrap_or_default(),
            it.retention.label_zh().to_string(),
            it.files.len().to_string(),
            files.join("; "),
        ]);
    }
    w.into_inner().unwrap_or_default()
}

fn readme(intake: &Intake, objid: &str, ctx: &Context, bytes: u64) -> Vec<u8> {
    let files: usize = intake.items.iter().map(|i| i.files.len()).sum();
    format!(
        "说明文件\n\n\
         封装包: {objid}\n\
         格式: E-ARK SIP 2.2.0 (METS 1.12, PREMIS 3.0)\n\
         生成: {} {}\n\
         条目(件)数: {}\n\
         原始文件数: {files}\n\
         原始文件字节数: {bytes}\n\n\
         目录结构:\n\
         METS.xml                          封装包描述\n\
         metadata/descriptive/catalog.xml  按分类号组织的条目元数据\n\
         metadata/descriptive/dc.xml       都柏林核心元数据\n\
         metadata/preservation/premis.xml  保存元数据 (固定性、格式、事件)\n\
         representations/original/data/    原始文件, 逐字节保留\n\
         documentation/目录.csv            移交目录\n\
         schemas/                          所用 XML Schema\n",
        crate::software_agent(),
        ctx.now_rfc3339(),
        intake.items.len(),
    )
    .into_bytes()
}

/// Run intake and, when the batch is valid, write its package under `out`.
pub fn pack(
    batch: &Path,
    out: &Path,
    catalog: &Catalog,
    options: &PackOptions,
    ctx: &Context,
) -> Result<PackReport, PackError> {
    pack_with_progress(batch, out, catalog, options, ctx, &())
}

/// A stage of a pack run, for progress display (the library itself prints nothing). Each stage says how
/// many units it will report through [`Progress::advance`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Reading the 目录 and matching files (no units).
    Intake,
    /// DA/T 31 QC of this many page images (one unit per page).
    Qc { pages: usize },
    /// Identification and the format policy for one package (one unit per original file).
    Normalize {
        index: usize,
        count: usize,
        id: String,
        files: usize,
    },
    /// Copying, hashing and verifying one package's content (one unit per content file).
    Write {
        index: usize,
        count: usize,
        id: String,
        files: usize,
    },
}

/// Where a pack run reports its progress; called from worker threads.
pub trait Progress: Sync {
    /// A stage starts.
    fn stage(&self, _stage: Stage) {}
    /// `units` more units of the current stage are done.
    fn advance(&self, _units: u64) {}
}

/// No progress reporting.
impl Progress for () {}

/// [`pack`], telling `progress` when each stage starts and as files are done.
pub fn pack_with_progress(
    batch: &Path,
    out: &Path,
    catalog: &Catalog,
    options: &PackOptions,
    ctx: &Context,
    progress: &dyn Progress,
) -> Result<PackReport, PackError> {
    progress.stage(Stage::Intake);
    let columns = Columns::embedded();
    let checked = intake(
        batch,
        catalog,
        &columns,
        &IntakeOptions {
            manifest: options.manifest.clone(),
        },
    )?;
    if !checked.is_valid() {
        return Ok(PackReport {
            packages: Vec::new(),
            findings: checked.findings,
        });
    }
    let base_id = options.id.clone().unwrap_or_else(|| id_from(batch));
    let mut findings = checked.findings.clone();

    // DA/T 31-2017 QC of the page images (files named 档号-NNNN). A batch with a failing page is not
    // packed: scans are re-done before they ship.
    let pages: Vec<String> = checked
        .items
        .iter()
        .flat_map(|it| &it.files)
        .filter(|f| f.matched_by == MatchBasis::PageSequence)
        .map(|f| f.path.clone())
        .collect();
    let policy = options.qc.clone().unwrap_or_else(QcPolicy::embedded);
    progress.stage(Stage::Qc { pages: pages.len() });
    let qc_report = qc::check_files_with_progress(batch, &pages, &policy, &|n| progress.advance(n));
    for p in &qc_report.pages {
        findings.extend(p.findings.iter().cloned());
    }
    findings.extend(qc_report.findings.iter().cloned());
    if !qc_report.ok {
        return Ok(PackReport {
            packages: Vec::new(),
            findings,
        });
    }
    let manifest_name = checked
        .manifest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let groups = match split(&checked.items, options.split_by, &manifest_name) {
        Ok(g) => g,
        Err(missing) => {
            findings.extend(missing);
            return Ok(PackReport {
                packages: Vec::new(),
                findings,
            });
        }
    };
    let mut packages = Vec::new();
    let count = groups.len();
    for (index, (key, members)) in groups.into_iter().enumerate() {
        let objid = match &key {
            None => base_id.clone(),
            Some(k) => format!("{base_id}-{k}"),
        };
        let items: Vec<IntakeItem> = members.iter().map(|&i| checked.items[i].clone()).collect();
        let group = Group {
            index: index + 1,
            count,
            objid,
        };
        let written = write_group(
            batch, out, catalog, options, ctx, &checked, &qc_report, &group, items, progress,
        )?;
        packages.push(written);
    }
    Ok(PackReport { packages, findings })
}

/// Packages to write: (group key, indices of its items).
type Groups = Vec<(Option<String>, Vec<usize>)>;

/// Group item indices by the split key. Items that lack the key are returned as findings.
fn split(items: &[IntakeItem], by: SplitBy, manifest: &str) -> Result<Groups, Vec<Finding>> {
    let mut groups: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
    let mut missing = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let key = match by {
            SplitBy::None => return Ok(vec![(None, (0..items.len()).collect())]),
            SplitBy::Code => Some(it.catalog_code.clone()),
            SplitBy::Year => Some(it.danghao.year.to_string()),
            SplitBy::Household => it
                .field(Field::HouseholdId)
                .or_else(|| it.field(Field::Householder))
                .map(str::to_string),
        };
        match key {
            Some(k) => groups.entry(safe_key(&k)).or_default().push(i),
            None => missing.push(Finding {
                property: None,
                rule: "INTAKE.SPLIT".into(),
                level: Level::Error,
                path: Some(format!("{manifest}:{}", it.row)),
                message: format!(
                    "--split-by household: 条目 {} 没有 户编号 或 户主姓名",
                    it.danghao
                ),
                message_en: String::new(),
            }),
        }
    }
    if missing.is_empty() {
        Ok(groups.into_iter().map(|(k, v)| (Some(k), v)).collect())
    } else {
        Err(missing)
    }
}

/// A group key as part of a package ID: safe characters kept, others written as their code point, so
/// two households never share an ID.
fn safe_key(k: &str) -> String {
    k.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.') {
                c.to_string()
            } else {
                format!("_{:x}", c as u32)
            }
        })
        .collect()
}

/// One package of a run: its place in the run and its ID.
struct Group {
    index: usize,
    count: usize,
    objid: String,
}

#[allow(clippy::too_many_arguments)]
fn write_group(
    batch: &Path,
    out: &Path,
    catalog: &Catalog,
    options: &PackOptions,
    ctx: &Context,
    checked: &Intake,
    qc_report: &QcReport,
    group: &Group,
    items: Vec<IntakeItem>,
    progress: &dyn Progress,
) -> Result<PackedPackage, PackError> {
    let objid = group.objid.clone();
    // One run per package ID in `out`, from normalization (its scratch folder) to publication (safety).
    let _lock =
        package::publish::DestLock::acquire(&out.join(&objid)).map_err(PackageError::from)?;
    progress.stage(Stage::Normalize {
        index: group.index,
        count: group.count,
        id: objid.clone(),
        files: items.iter().map(|i| i.files.len()).sum(),
    });
    let mut originals = Vec::new();
    let mut bytes = 0u64;
    let mut events = Vec::new();
    let now = ctx.now_rfc3339();
    let mut identified: Vec<String> = Vec::new();
    let mut id_warnings: Vec<String> = Vec::new();
    // Looked up once per file: a batch of thousands of pages must not search lists per file.
    let sizes: std::collections::HashMap<&str, u64> = checked
        .files
        .iter()
        .map(|b| (b.path.as_str(), b.size))
        .collect();
    let qc_pages: std::collections::HashMap<&str, &crate::qc::PageReport> = qc_report
        .pages
        .iter()
        .map(|p| (p.path.as_str(), p))
        .collect();
    for (i, item) in items.iter().enumerate() {
        for f in &item.files {
            let ident: Identification =
                identify::identify_path(&batch.join(&f.path))?.identification;
            for w in &ident.warnings {
                id_warnings.push(format!("{}: {w}", f.path));
            }
            identified.push(package_path(&f.path));
            bytes += sizes.get(f.path.as_str()).copied().unwrap_or(0);
            if let Some(p) = qc_pages.get(f.path.as_str()) {
                let failed = !p.ok();
                let warned = p.findings.iter().any(|x| x.level == Level::Warning);
                let mut detail = format!(
                    "DA/T 31-2017 扫描质量检查: 分辨率 {}, 色彩模式 {}, 倾斜 {}",
                    p.dpi
                        .map(|d| format!("{d:.0} dpi"))
                        .unwrap_or_else(|| "未记录".into()),
                    p.colour_mode.label_zh(),
                    p.skew_degrees
                        .map(|d| format!("{d:.2}°"))
                        .unwrap_or_else(|| "—".into()),
                );
                for x in &p.findings {
                    detail.push_str(&format!("; [{}] {}", x.rule, x.message));
                }
                events.push(Event {
                    id: ctx.ids.next_uuid().to_string(),
                    event_type: EventType::Validation,
                    date_time: now.clone(),
                    outcome: if failed {
                        Outcome::Failure
                    } else if warned {
                        Outcome::Warning
                    } else {
                        Outcome::Success
                    },
                    detail: Some(detail),
                    agents: vec![ctx.agent.clone()],
                    objects: vec![package_path(&f.path)],
                });
            }
            originals.push(SourceFile {
                source: Source::Path(batch.join(&f.path)),
                name: f.path.clone(),
                original_name: Some(f.path.clone()),
                identification: Some(ident),
                item: Some(i),
                page: f.page,
                derived_from: None,
            });
        }
    }
    // One identification event for the representation: PRONOM by content signature.
    events.insert(
        0,
        Event {
            id: ctx.ids.next_uuid().to_string(),
            event_type: EventType::FormatIdentification,
            date_time: now.clone(),
            outcome: if id_warnings.is_empty() {
                Outcome::Success
            } else {
                Outcome::Warning
            },
            detail: Some(if id_warnings.is_empty() {
                "PRONOM identification by content signature (dangan identify, profiles/formats.toml)"
                    .to_string()
            } else {
                format!(
                    "PRONOM identification by content signature; {}",
                    id_warnings.join("; ")
                )
            }),
            agents: vec![ctx.agent.clone()],
            objects: identified,
        },
    );
    // Preservation masters and access copies by the format policy; provenance becomes PREMIS events with
    // derivation relationships. Derivatives are written beside the output and copied into the package.
    let mut representations = vec![RepresentationSpec {
        name: "original".into(),
        files: Vec::new(),
    }];
    let norm_dir = out.join(format!(".{objid}.normalize"));
    let derived = match options.policy.as_ref().map(|policy| {
        derive(
            batch, &norm_dir, policy, options, ctx, &items, &originals, progress,
        )
    }) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(e)) => {
            let _ = std::fs::remove_dir_all(&norm_dir);
            return Err(e);
        }
    };
    if let Some((reps, mut evs)) = derived {
        events.append(&mut evs);
        representations.extend(reps);
    }
    representations[0].files = originals;
    let group_intake = Intake {
        items: items.clone(),
        ..checked.clone()
    };
    let documentation = vec![
        ("目录.csv".to_string(), manifest_csv(&group_intake)),
        (
            "说明文件.txt".to_string(),
            readme(&group_intake, &objid, ctx, bytes),
        ),
    ];
    let spec = PackageSpec {
        label: options
            .label
            .clone()
            .unwrap_or_else(|| format!("{} {objid}", catalog.info.name)),
        objid: objid.clone(),
        content_category: "Mixed".into(),
        submitter: options.submitter.clone(),
        submitter_id: options.submitter_id.clone(),
        items,
        representations,
        documentation,
        events,
        agents: vec![Agent::dangan()],
        sm3: options.sm3,
    };
    progress.stage(Stage::Write {
        index: group.index,
        count: group.count,
        id: objid.clone(),
        files: spec.representations.iter().map(|r| r.files.len()).sum(),
    });
    let written = package::write_sip_with_progress(&spec, catalog, ctx, out, options.form, &|n| {
        progress.advance(n)
    });
    let _ = std::fs::remove_dir_all(&norm_dir);
    let written: WrittenPackage = written?;
    Ok(PackedPackage {
        id: written.objid,
        path: written.path,
        items: spec.items.len(),
        files: written.files,
        bytes: written.bytes,
    })
}

/// Run the format policy over a group's originals. Returns the `preservation` and `access`
/// representations (only those that received files) and the provenance events, with every path mapped
/// to where it lands in the package.
#[allow(clippy::too_many_arguments)]
fn derive(
    batch: &Path,
    norm_dir: &Path,
    policy: &Policy,
    options: &PackOptions,
    ctx: &Context,
    items: &[IntakeItem],
    originals: &[SourceFile],
    progress: &dyn Progress,
) -> Result<(Vec<RepresentationSpec>, Vec<Event>), PackError> {
    if norm_dir.exists() {
        // Left by an interrupted run; never published.
        std::fs::remove_dir_all(norm_dir)
            .map_err(|e| normalize::NormalizeError::io(norm_dir, e))?;
    }
    std::fs::create_dir_all(norm_dir).map_err(|e| normalize::NormalizeError::io(norm_dir, e))?;
    let inputs: Vec<InputFile> = originals
        .iter()
        .map(|f| {
            let id = f.identification.clone().unwrap_or_default();
            InputFile {
                path: f.name.clone(),
                format: FormatKey::from_identification(&id),
                basis: id.basis,
            }
        })
        .collect();
    let mut meta = std::collections::BTreeMap::new();
    for it in items {
        meta.insert(
            it.danghao.to_file_stem(),
            ItemMeta {
                title: Some(it.title.clone()),
                author: it.field(Field::Creator).map(str::to_string),
                identifier: Some(it.danghao.to_string()),
            },
        );
    }
    let report = normalize::normalize_files(
        batch,
        &inputs,
        norm_dir,
        &normalize::Options {
            policy,
            tools: &options.tools,
            items: &meta,
            progress: &|n| progress.advance(n),
        },
        ctx,
    )?;
    // Which item each path belongs to: originals from the 目录, derivatives from their first source.
    let mut item_of: std::collections::HashMap<String, usize> = originals
        .iter()
        .filter_map(|f| f.item.map(|i| (f.name.clone(), i)))
        .collect();
    let package_path = |root: Root, rel: &str| -> String {
        match root {
            Root::Input => format!("representations/original/data/{rel}"),
            Root::Output => match rel.split_once('/') {
                Some((rep, rest)) => format!("representations/{rep}/data/{rest}"),
                None => format!("representations/derived/data/{rel}"),
            },
        }
    };
    let mut reps: std::collections::BTreeMap<String, Vec<SourceFile>> = Default::default();
    let mut events = Vec::new();
    for r in &report.records {
        let mut ev = r.to_event();
        ev.objects = r
            .sources
            .iter()
            .map(|s| package_path(r.source_root, s))
            .chain(r.outputs.iter().map(|o| package_path(Root::Output, o)))
            .collect();
        events.push(ev);
        let item = r
            .sources
            .first()
            .and_then(|s| item_of.get(s.as_str()).copied());
        for o in &r.outputs {
            let Some((rep, rest)) = o.split_once('/') else {
                continue;
            };
            if let Some(i) = item {
                item_of.insert(o.clone(), i);
            }
            let path = norm_dir.join(o);
            let identification = identify::identify_path(&path)?.identification;
            let page = crate::qc::parse_page_name(rest.rsplit('/').next().unwrap_or(rest), 4)
                .map(|p| p.seq);
            reps.entry(rep.to_string()).or_default().push(SourceFile {
                source: Source::Scratch(path),
                name: rest.to_string(),
                original_name: None,
                identification: Some(identification),
                item,
                page,
                derived_from: r.sources.first().map(|s| package_path(r.source_root, s)),
            });
        }
    }
    // Preservation before access, each in path order, so packages are reproducible.
    let mut out = Vec::new();
    for name in ["preservation", "access"] {
        if let Some(mut files) = reps.remove(name) {
            files.sort_by(|a, b| a.name.cmp(&b.name));
            files.dedup_by(|a, b| a.name == b.name);
            out.push(RepresentationSpec {
                name: name.into(),
                files,
            });
        }
    }
    for (name, files) in reps {
        out.push(RepresentationSpec { name, files });
    }
    Ok((out, events))
}
