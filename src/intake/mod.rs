//! Intake: the 目录 of a batch and the files it describes, checked before anything is written.
//!
//! One row of the 目录 is one item (件). Columns are found by their Chinese headers or English aliases
//! (`profiles/intake.toml`). Files are matched to items by DA/T 31-2017 9.6 naming — the 档号 itself for a
//! multi-page file, `档号-NNNN` for page images, with `·` written as `_` (or kept) — or by an explicit
//! 文件名 column. Every problem becomes a [`Finding`] naming the manifest row or the file; the batch is
//! valid only when there is no error, and nothing may be written for an invalid batch.

mod manifest;
mod matching;
pub mod page;
mod rows;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
pub use crate::model::{Field, Item, ItemFile, MatchBasis};
use crate::model::{Finding, Level};

pub use manifest::{Encoding, Table, decode_text};
pub use matching::{BatchFile, list_batch_files, rules as matching_rules};
pub use page::{NameKind, PageName, classify_name, is_photo, page_of, parse_page_name};

/// The embedded column table.
pub const EMBEDDED_COLUMNS: &str = include_str!("../../profiles/intake.toml");

/// Why intake could not run at all (as opposed to findings about rows and files).
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Encoding { file: PathBuf, message: String },
    #[error("{file}:{row}: {message}")]
    Manifest {
        file: PathBuf,
        row: usize,
        message: String,
    },
    #[error("{0}")]
    Columns(String),
    #[error(
        "no 目录 found in {0}: put 目录.csv or 目录.xlsx in the batch folder, or name it with --manifest"
    )]
    NoManifest(PathBuf),
    #[error("several candidate 目录 files in {dir}: {}; name one with --manifest", .candidates.join(", "))]
    ManyManifests {
        dir: PathBuf,
        candidates: Vec<String>,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnDef {
    field: Field,
    names: Vec<String>,
    #[serde(default)]
    required: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Values {
    classification: Vec<String>,
}

/// The column table: header names per field, required fields, value lists.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    column: Vec<ColumnDef>,
    values: Values,
    /// Limits on a 目录, checked before parsing (`[limits]` in profiles/intake.toml).
    pub(crate) limits: manifest::Limits,
}

/// Fold a header for matching: full-width → half-width, lower case, no spaces or underscores.
fn fold_header(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFF01 + 0x21),
            c if c.is_whitespace() || c == '_' || c == '\u{3000}' || c == '\u{FEFF}' => None,
            c => Some(c),
        })
        .flat_map(char::to_lowercase)
        .collect()
}

impl Columns {
    pub fn embedded() -> Self {
        Self::embedded_ref().clone()
    }

    /// The embedded table, parsed once per process (crate::profile); validated by the tests below.
    pub(crate) fn embedded_ref() -> &'static Self {
        static EMBEDDED: crate::profile::Embedded<Columns> = crate::profile::Embedded::new(
            "<embedded>/profiles/intake.toml",
            EMBEDDED_COLUMNS,
            |t, f| crate::profile::parse(t, f).map_err(|e| e.to_string()),
        );
        EMBEDDED.get()
    }

    /// Which field a header names.
    pub fn field_of(&self, header: &str) -> Option<Field> {
        let h = fold_header(header);
        self.column
            .iter()
            .find(|c| c.names.iter().any(|n| fold_header(n) == h))
            .map(|c| c.field)
    }

    /// The first (Chinese) header name of a field, for messages.
    pub fn label(&self, field: Field) -> &str {
        self.column
            .iter()
            .find(|c| c.field == field)
            .and_then(|c| c.names.first())
            .map(String::as_str)
            .unwrap_or("?")
    }

    pub fn required(&self) -> impl Iterator<Item = Field> + '_ {
        self.column.iter().filter(|c| c.required).map(|c| c.field)
    }

    pub fn classifications(&self) -> &[String] {
        &self.values.classification
    }
}

/// The result of intake: the items that could be read, every finding, and where the 目录 was.
#[derive(Debug, Clone, Serialize)]
pub struct Intake {
    pub batch: PathBuf,
    pub manifest: PathBuf,
    pub encoding: Encoding,
    pub items: Vec<Item>,
    /// Every file in the batch (manifest excluded), sorted.
    pub files: Vec<BatchFile>,
    pub findings: Vec<Finding>,
}

impl Intake {
    /// True when no finding is an error: only then may anything be written.
    pub fn is_valid(&self) -> bool {
        self.findings.iter().all(|f| f.level < Level::Error)
    }
}

/// Options of an intake run.
#[derive(Debug, Clone, Default)]
pub struct IntakeOptions {
    /// The 目录; found in the batch folder when `None`.
    pub manifest: Option<PathBuf>,
}

/// Find the 目录 in a batch folder: 目录.csv / 目录.xlsx, else the only .csv/.xlsx at the top level.
pub fn find_manifest(batch: &Path) -> Result<PathBuf, IntakeError> {
    let entries = std::fs::read_dir(batch).map_err(|source| IntakeError::Io {
        path: batch.to_path_buf(),
        source,
    })?;
    let mut candidates = Vec::new();
    for e in entries {
        let e = e.map_err(|source| IntakeError::Io {
            path: batch.to_path_buf(),
            source,
        })?;
        let name = e.file_name().to_string_lossy().into_owned();
        let lower = name.to_lowercase();
        if e.path().is_file() && (lower.ends_with(".csv") || lower.ends_with(".xlsx")) {
            candidates.push(name);
        }
    }
    candidates.sort();
    if let Some(m) = candidates.iter().find(|n| n.starts_with("目录.")) {
        return Ok(batch.join(m));
    }
    match candidates.len() {
        0 => Err(IntakeError::NoManifest(batch.to_path_buf())),
        1 => Ok(batch.join(&candidates[0])),
        _ => Err(IntakeError::ManyManifests {
            dir: batch.to_path_buf(),
            candidates,
        }),
    }
}

/// Read and check a batch: the 目录 against the catalog, and the files against the 目录.
pub fn intake(
    batch: &Path,
    catalog: &Catalog,
    columns: &Columns,
    options: &IntakeOptions,
) -> Result<Intake, IntakeError> {
    let manifest = match &options.manifest {
        Some(m) => m.clone(),
        None => find_manifest(batch)?,
    };
    let table = manifest::read(&manifest)?;
    let manifest_name = manifest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| manifest.display().to_string());
    let (mut items, mut findings) = rows::check_rows(&table, &manifest_name, catalog, columns)?;
    let files = list_batch_files(batch, &manifest, &mut findings)?;
    matching::match_files(&mut items, &files, &manifest_name, &mut findings);
    Ok(Intake {
        batch: batch.to_path_buf(),
        manifest,
        encoding: table.encoding,
        items,
        files,
        findings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_columns_and_aliases() {
        let c = Columns::embedded();
        assert_eq!(c.field_of("档号"), Some(Field::Danghao));
        assert_eq!(c.field_of(" Catalog_Code "), Some(Field::CatalogCode));
        assert_eq!(c.field_of("ＦＩＬＥＮＡＭＥ"), Some(Field::FileName));
        assert_eq!(c.field_of("\u{FEFF}档号"), Some(Field::Danghao));
        assert_eq!(c.field_of("颜色"), None);
        let req: Vec<Field> = c.required().collect();
        assert_eq!(req, [Field::Danghao, Field::Title, Field::CatalogCode]);
        assert_eq!(c.classifications().len(), 5);
    }
}
