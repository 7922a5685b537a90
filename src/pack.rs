//! `pack`: from a batch folder and its 目录 to E-ARK SIP packages.
//!
//! intake → (identify → characterize → QC → normalize, as those stages land) → package. Nothing is written
//! when intake finds an error: the findings are returned instead.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::catalog::Catalog;
use crate::context::Context;
use crate::intake::{Columns, Intake, IntakeError, IntakeOptions, intake};
use crate::model::Finding;
use crate::package::{
    self, PackageError, PackageSpec, RepresentationSpec, Source, SourceFile, WrittenPackage,
};

/// Why packing stopped.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error(transparent)]
    Intake(#[from] IntakeError),
    #[error(transparent)]
    Package(#[from] PackageError),
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
    let objid = options.id.clone().unwrap_or_else(|| id_from(batch));
    let mut originals = Vec::new();
    let mut bytes = 0u64;
    for (i, item) in checked.items.iter().enumerate() {
        for f in &item.files {
            let size = checked
                .files
                .iter()
                .find(|b| b.path == f.path)
                .map(|b| b.size)
                .unwrap_or(0);
            bytes += size;
            originals.push(SourceFile {
                source: Source::Path(batch.join(&f.path)),
                name: f.path.clone(),
                original_name: Some(f.path.clone()),
                identification: None,
                item: Some(i),
                page: f.page,
                derived_from: None,
            });
        }
    }
    let documentation = vec![
        ("目录.csv".to_string(), manifest_csv(&checked)),
        (
            "说明文件.txt".to_string(),
            readme(&checked, &objid, ctx, bytes),
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
        items: checked.items.clone(),
        representations: vec![RepresentationSpec {
            name: "original".into(),
            files: originals,
        }],
        documentation,
        events: Vec::new(),
        agents: Vec::new(),
        sm3: options.sm3,
    };
    let written: WrittenPackage = package::write_sip(&spec, catalog, ctx, out)?;
    Ok(PackReport {
        packages: vec![PackedPackage {
            id: written.objid,
            path: written.path,
            items: checked.items.len(),
            files: written.files,
            bytes: written.bytes,
        }],
        findings: checked.findings,
    })
}
