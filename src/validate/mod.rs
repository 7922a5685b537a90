//! `validate`: ingest checks of any E-ARK SIP (folder or `.zip`), with a 四性检测 report (DA/T 70-2018).
//!
//! Two layers, one list of findings:
//! - **E-ARK CSIP/SIP rules**, each keyed to its requirement ID (`CSIPSTR4`, `CSIP1`, `SIP15`) from the rule
//!   table `profiles/eark-rules.toml`, applied to the package METS and to every representation METS according to
//!   the profile the package declares in `mets/@PROFILE` (or `--spec`).
//! - **四性检测** (DA/T 70-2018 真实性 · 完整性 · 可用性 · 安全性), keyed `DA/T 70-2018 <item>` from
//!   `profiles/dat70-items.toml`, using `metadata/descriptive/catalog.xml` when the package has one.
//!
//! A finding is data; one bad file never stops the run. A package is accepted when no finding is an error
//! (every failed MUST is an error). An `Err` means the package could not be checked at all.
//!
//! ```no_run
//! use dangan::validate::{validate, Options};
//! let report = validate(std::path::Path::new("demo-sip"), &Options::default()).unwrap();
//! println!("accepted: {} under {}", report.accepted, report.spec_applied);
//! ```

mod content;
mod dat70;
mod digest;
mod mets;
pub mod rules;
pub mod source;
pub mod xml;
mod xsd;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::model::Level;

pub use rules::{DAT70, RuleTable};
pub use source::Limits;

/// The JSON schema id and version of [`Report`].
pub const REPORT_SCHEMA: &str = "urn:dangan:validate-report";
pub const REPORT_VERSION: u32 = 1;

/// Errors that stop a validation before any verdict: the package could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error("cannot read {0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
    #[error("{0} is neither a folder nor a readable zip: {1}")]
    NotAPackage(PathBuf, String),
    #[error("container exceeds the safety limits ({0}); not read")]
    Limits(String),
}

/// The four properties of DA/T 70-2018.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Property {
    /// 真实性
    Authenticity,
    /// 完整性
    Integrity,
    /// 可用性
    Usability,
    /// 安全性
    Security,
}

impl Property {
    pub const ALL: [Property; 4] = [
        Property::Authenticity,
        Property::Integrity,
        Property::Usability,
        Property::Security,
    ];

    pub fn zh(self) -> &'static str {
        match self {
            Property::Authenticity => "真实性",
            Property::Integrity => "完整性",
            Property::Usability => "可用性",
            Property::Security => "安全性",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Property::Authenticity => "authenticity",
            Property::Integrity => "integrity",
            Property::Usability => "usability",
            Property::Security => "security",
        }
    }
}

/// The E-ARK profile the rules are applied by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Spec {
    /// Common Specification only (no SIP-only rules).
    Csip,
    Sip204,
    Sip210,
    Sip220,
}

impl Spec {
    /// The rule-table version this spec selects (CSIP-only packages are judged by CSIP 2.2.0).
    pub fn version(self) -> &'static str {
        match self {
            Spec::Sip204 => "2.0.4",
            Spec::Sip210 => "2.1.0",
            Spec::Csip | Spec::Sip220 => "2.2.0",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Spec::Csip => "E-ARK CSIP 2.2.0",
            Spec::Sip204 => "E-ARK SIP 2.0.4",
            Spec::Sip210 => "E-ARK SIP 2.1.0",
            Spec::Sip220 => "E-ARK SIP 2.2.0",
        }
    }

    /// The profile a `mets/@PROFILE` URL declares; `None` for an unknown URL.
    pub fn from_profile(url: &str) -> Option<Spec> {
        let name = url.trim().rsplit('/').next().unwrap_or("");
        Some(match name {
            "E-ARK-SIP-v2-2-0.xml" => Spec::Sip220,
            "E-ARK-SIP-v2-1-0.xml" => Spec::Sip210,
            // SIP 2.0.x published its profile without a version in the name.
            "E-ARK-SIP-v2-0-4.xml" | "E-ARK-SIP.xml" => Spec::Sip204,
            n if n.starts_with("E-ARK-CSIP") => Spec::Csip,
            _ => return None,
        })
    }

    /// Parse a `--spec` value: `csip`, `sip-2.0.4`, `sip-2.1.0`, `sip-2.2.0` (or `2.2.0`, …).
    pub fn parse(s: &str) -> Option<Spec> {
        Some(
            match s
                .to_ascii_lowercase()
                .trim_start_matches("sip-")
                .trim_start_matches("sip")
            {
                "csip" => Spec::Csip,
                "2.0.4" => Spec::Sip204,
                "2.1.0" => Spec::Sip210,
                "2.2.0" | "" => Spec::Sip220,
                _ => return None,
            },
        )
    }
}

/// One problem found: which rule, which of the four properties it counts against, how serious, where, what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Verbatim rule ID: `CSIP1`, `SIP15`, `CSIPSTR4`, `DA/T 70-2018 4.2`.
    pub rule: String,
    pub property: Property,
    /// error = a failed MUST (the package is rejected); warning = SHOULD; info = MAY or a note.
    pub level: Level,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub message: String,
}

impl Finding {
    /// A failure of an E-ARK rule, graded by the rule's level in the table.
    pub fn eark(id: &str, path: Option<String>, message: String) -> Finding {
        let t = RuleTable::embedded();
        let level = match t.rule(id).map(|r| r.level) {
            Some(rules::Requirement::MUST) | None => Level::Error,
            Some(rules::Requirement::SHOULD) => Level::Warning,
            Some(rules::Requirement::MAY) => Level::Info,
        };
        Finding {
            rule: id.to_string(),
            property: t.property(id),
            level,
            path,
            message,
        }
    }

    /// A failure of a DA/T 70-2018 item (an error unless downgraded).
    pub fn dat70(item: &str, path: Option<String>, message: String) -> Finding {
        let rule = format!("{DAT70}{item}");
        Finding {
            property: RuleTable::embedded().property(&rule),
            rule,
            level: Level::Error,
            path,
            message,
        }
    }

    pub fn with_level(mut self, level: Level) -> Finding {
        self.level = level;
        self
    }
}

/// What a validation may be told.
#[derive(Debug, Clone)]
pub struct Options {
    /// Apply this profile instead of the one the package declares.
    pub spec: Option<Spec>,
    /// The catalog profile whose codes `catalog.xml` must use (default: the embedded Xinzhou catalog).
    pub catalog: Option<Catalog>,
    pub limits: Limits,
    /// Run `clamscan` when it is on PATH (tests turn this off for speed).
    pub virus_scan: bool,
    /// Check XML Schema validity with `xmllint` when it is on PATH.
    pub xsd: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            spec: None,
            catalog: None,
            limits: Limits::default(),
            virus_scan: true,
            xsd: true,
        }
    }
}

/// Whether an auxiliary check ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckRun {
    pub name: String,
    /// "run", "not_run"
    pub status: String,
    pub detail: String,
}

/// Pass/fail of one property.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PropertySummary {
    pub passed: bool,
    pub errors: usize,
    pub warnings: usize,
    /// The DA/T 70 items with at least one error.
    pub failed_items: Vec<String>,
}

/// Totals of the run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    pub files: usize,
    pub bytes: u64,
    pub representations: usize,
    pub items: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    pub properties: BTreeMap<Property, PropertySummary>,
    pub checks: Vec<CheckRun>,
}

/// One item (件) of catalog.xml with its files and verdict, for the per-item table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ItemReport {
    pub danghao: String,
    pub title: String,
    pub catalog_code: String,
    pub files: Vec<String>,
    pub passed: bool,
    /// Indices into `findings` that concern this item or its files.
    pub findings: Vec<usize>,
}

/// The result of validating one package.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub version: u32,
    pub tool: String,
    pub package: String,
    pub object_id: Option<String>,
    pub accepted: bool,
    /// The profile applied, e.g. "E-ARK SIP 2.2.0".
    pub spec_applied: String,
    /// Where it came from: "declared" (mets/@PROFILE), "override" (--spec) or "default" (unknown profile).
    pub spec_source: String,
    pub findings: Vec<Finding>,
    pub summary: Summary,
    pub items: Vec<ItemReport>,
}

/// Validate a package folder or `.zip`.
pub fn validate(path: &Path, options: &Options) -> Result<Report, ValidateError> {
    let mut findings = Vec::new();
    let pkg = source::Package::open(path, &options.limits, &mut findings)?;
    let embedded;
    let catalog = match &options.catalog {
        Some(c) => c,
        None => {
            embedded = Catalog::embedded();
            &embedded
        }
    };
    let mut run = mets::Run::new(&pkg, options.spec);
    run.findings = findings;
    run.check_all();
    let refs = std::mem::take(&mut run.refs);
    let mut findings = std::mem::take(&mut run.findings);
    let spec = run.spec;
    let spec_source = run.spec_source;
    let object_id = run.objid.clone();
    let metadata_paths = run.metadata_paths.clone();
    drop(run);

    let d = dat70::check(
        &pkg,
        &refs,
        &metadata_paths,
        catalog,
        options,
        &mut findings,
    );

    // Findings may repeat (the same file seen by two METS): keep the first of each.
    let mut seen = std::collections::HashSet::new();
    findings.retain(|f| seen.insert((f.rule.clone(), f.path.clone(), f.message.clone())));
    findings.retain(|f| RuleTable::embedded().applies(&f.rule, spec));

    let mut summary = Summary {
        files: pkg.entries.len(),
        bytes: pkg.entries.values().map(|e| e.size).sum(),
        representations: d.representations,
        items: d.items.len(),
        checks: d.checks,
        ..Summary::default()
    };
    for p in Property::ALL {
        summary.properties.insert(
            p,
            PropertySummary {
                passed: true,
                ..Default::default()
            },
        );
    }
    for f in &findings {
        let ps = summary.properties.entry(f.property).or_default();
        match f.level {
            Level::Error => {
                summary.errors += 1;
                ps.errors += 1;
                ps.passed = false;
                if !ps.failed_items.contains(&f.rule) {
                    ps.failed_items.push(f.rule.clone());
                }
            }
            Level::Warning => {
                summary.warnings += 1;
                ps.warnings += 1;
            }
            Level::Info => summary.infos += 1,
        }
    }
    let items = d
        .items
        .into_iter()
        .map(|it| {
            let idx: Vec<usize> = findings
                .iter()
                .enumerate()
                .filter(|(_, f)| {
                    f.path
                        .as_deref()
                        .is_some_and(|p| it.files.iter().any(|x| x == p))
                        || (!it.danghao.is_empty() && f.message.contains(&it.danghao))
                })
                .map(|(i, _)| i)
                .collect();
            ItemReport {
                passed: !idx.iter().any(|&i| findings[i].level == Level::Error),
                findings: idx,
                danghao: it.danghao,
                title: it.title,
                catalog_code: it.catalog_code,
                files: it.files,
            }
        })
        .collect();
    Ok(Report {
        schema: REPORT_SCHEMA.to_string(),
        version: REPORT_VERSION,
        tool: crate::software_agent(),
        package: path.display().to_string(),
        object_id,
        accepted: summary.errors == 0,
        spec_applied: spec.label().to_string(),
        spec_source: spec_source.to_string(),
        findings,
        summary,
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_and_spec_names() {
        assert_eq!(
            Spec::from_profile("https://earksip.dilcis.eu/profile/E-ARK-SIP-v2-2-0.xml"),
            Some(Spec::Sip220)
        );
        assert_eq!(
            Spec::from_profile("https://earksip.dilcis.eu/profile/E-ARK-SIP-v2-1-0.xml"),
            Some(Spec::Sip210)
        );
        assert_eq!(
            Spec::from_profile("https://earkcsip.dilcis.eu/profile/E-ARK-CSIP.xml"),
            Some(Spec::Csip)
        );
        assert_eq!(Spec::from_profile("https://example.org/p.xml"), None);
        assert_eq!(Spec::parse("csip"), Some(Spec::Csip));
        assert_eq!(Spec::parse("sip-2.0.4"), Some(Spec::Sip204));
        assert_eq!(Spec::parse("2.2.0"), Some(Spec::Sip220));
        assert_eq!(Spec::parse("3.0"), None);
    }

    #[test]
    fn findings_take_level_and_property_from_the_tables() {
        let f = Finding::eark("CSIP1", None, String::new());
        assert_eq!(
            (f.level, f.property),
            (Level::Error, Property::Authenticity)
        );
        let f = Finding::eark("CSIPSTR12", None, String::new());
        assert_eq!(f.level, Level::Warning);
        let f = Finding::dat70("4.2", None, String::new());
        assert_eq!(
            (f.rule.as_str(), f.property),
            ("DA/T 70-2018 4.2", Property::Security)
        );
    }
}
