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
mod xsd;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::model::Level;
pub use crate::model::{Finding, Property};

pub use crate::sip::Limits;
pub use rules::{DAT70, RuleTable};
// --- begin eep (issue 15): EEP validation runs xmllint as the SIP schemas do
pub(crate) use xsd::xmllint as xmllint_schema;
// --- end eep

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

impl From<crate::sip::SipError> for ValidateError {
    fn from(e: crate::sip::SipError) -> Self {
        use crate::sip::SipError;
        match e {
            SipError::Io { path, source } => ValidateError::Io(path, source),
            SipError::Open { path, message } | SipError::NotAPackage { path, message } => {
                ValidateError::NotAPackage(path, message)
            }
            SipError::Limits(m) => ValidateError::Limits(m),
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

/// A finding's message in both report languages, for helpers that say why something failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub zh: String,
    pub en: String,
}

impl Msg {
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Msg {
        Msg {
            zh: zh.into(),
            en: en.into(),
        }
    }
}

/// Constructors of the one [`Finding`] type for the ingest rules, graded and attributed by the rule tables.
impl Finding {
    /// A failure of an E-ARK rule, graded by the rule's level in the table. `zh` and `en` say the same thing.
    pub fn eark(
        id: &str,
        path: Option<String>,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Finding {
        let t = RuleTable::embedded();
        let level = match t.rule(id).map(|r| r.level) {
            Some(rules::Requirement::MUST) | None => Level::Error,
            Some(rules::Requirement::SHOULD) => Level::Warning,
            Some(rules::Requirement::MAY) => Level::Info,
        };
        Finding {
            rule: id.to_string(),
            property: Some(t.property(id)),
            level,
            path,
            message: zh.into(),
            message_en: en.into(),
        }
    }

    /// A failure of a DA/T 70-2018 item (an error unless downgraded). `zh` and `en` say the same thing.
    pub fn dat70(
        item: &str,
        path: Option<String>,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Finding {
        let rule = format!("{DAT70}{item}");
        Finding {
            property: Some(RuleTable::embedded().property(&rule)),
            rule,
            level: Level::Error,
            path,
            message: zh.into(),
            message_en: en.into(),
        }
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
    /// Where it came from: "declared" (mets/@PROFILE), "override" (--spec), "package type" (no
    /// profile; metsHdr/@csip:OAISPACKAGETYPE says SIP) or "default" (unknown profile).
    pub spec_source: String,
    pub findings: Vec<Finding>,
    pub summary: Summary,
    pub items: Vec<ItemReport>,
}

/// What a report says before it is assembled (the SIP and the EEP validator fill it in alike).
pub struct ReportParts {
    pub package: String,
    pub object_id: Option<String>,
    pub spec_applied: String,
    pub spec_source: String,
    pub findings: Vec<Finding>,
    pub summary: Summary,
    /// Each item with the indices of its findings in `findings`; `passed` is set here.
    pub items: Vec<ItemReport>,
}

impl Report {
    /// The one way a report is put together, for SIPs and EEPs alike: the summary tallied from the
    /// findings, an item passed and the package accepted when no error concerns them.
    pub fn assemble(parts: ReportParts) -> Report {
        let ReportParts {
            package,
            object_id,
            spec_applied,
            spec_source,
            findings,
            mut summary,
            mut items,
        } = parts;
        summary.tally(&findings);
        for item in &mut items {
            item.passed = !item
                .findings
                .iter()
                .any(|&i| findings.get(i).is_some_and(|f| f.level == Level::Error));
        }
        Report {
            schema: REPORT_SCHEMA.to_string(),
            version: REPORT_VERSION,
            tool: crate::software_agent(),
            package,
            object_id,
            accepted: summary.errors == 0,
            spec_applied,
            spec_source,
            findings,
            summary,
            items,
        }
    }
}

/// Validate a package folder or `.zip`.
pub fn validate(path: &Path, options: &Options) -> Result<Report, ValidateError> {
    // --- begin eep (issue 15): a *.eep.xml file, or a folder of them (no METS.xml), is DA/T 48-2009 EEP
    if let Some(report) = crate::eep::validate_path(path, options)? {
        return Ok(report);
    }
    // --- end eep
    let pkg = crate::sip::Package::open(path, &options.limits)?;
    validate_package(&pkg, options)
}

/// Validate a package opened from any [`crate::sip::Source`] (a folder, a zip, object storage).
pub fn validate_package(
    pkg: &crate::sip::Package,
    options: &Options,
) -> Result<Report, ValidateError> {
    let path = pkg.source.as_path();
    // What the reader refused or will not open (unsafe names, links, FIFOs, bombs, encryption).
    let mut findings = pkg.findings.clone();
    findings.extend(pkg.entry_findings());
    if pkg.is_zip && !pkg.single_root {
        let mut top: Vec<&str> = pkg
            .entries
            .keys()
            .map(|k| k.split('/').next().unwrap_or(""))
            .collect();
        top.dedup();
        let top = top.into_iter().take(5).collect::<Vec<_>>().join(", ");
        findings.push(Finding::eark(
            "CSIPSTR1",
            None,
            format!("zip 解压后不是单一的根文件夹 (顶层名称: {top})"),
            format!("the zip does not unpack to a single root folder (top-level names: {top})"),
        ));
    }
    for f in &mut findings {
        if f.property.is_none() {
            f.property = Some(RuleTable::embedded().property(&f.rule));
        }
    }
    let embedded;
    let catalog = match &options.catalog {
        Some(c) => c,
        None => {
            embedded = Catalog::embedded();
            &embedded
        }
    };
    let mut run = mets::Run::new(pkg, options.spec);
    run.findings = findings;
    run.check_all();
    let refs = std::mem::take(&mut run.refs);
    let mut findings = std::mem::take(&mut run.findings);
    let spec = run.spec;
    let spec_source = run.spec_source;
    let object_id = run.objid.clone();
    let metadata_paths = run.metadata_paths.clone();
    // Counted by folder: a representation whose files the package METS lists itself has no METS of its own.
    let representations = run.representation_folders.len();
    drop(run);

    let d = dat70::check(pkg, &refs, &metadata_paths, catalog, options, &mut findings);

    // Findings may repeat (the same file seen by two METS): keep the first of each.
    let mut seen = std::collections::HashSet::new();
    findings.retain(|f| {
        seen.insert((
            f.rule.clone(),
            f.path.clone(),
            f.message.clone(),
            f.message_en.clone(),
        ))
    });
    findings.retain(|f| RuleTable::embedded().applies(&f.rule, spec));

    let summary = Summary {
        files: pkg.entries.len(),
        bytes: pkg.entries.values().map(|e| e.size).sum(),
        representations,
        items: d.items.len(),
        checks: d.checks,
        ..Summary::default()
    };
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
                        || (!it.danghao.is_empty()
                            && (f.message.contains(&it.danghao)
                                || f.message_en.contains(&it.danghao)))
                })
                .map(|(i, _)| i)
                .collect();
            ItemReport {
                passed: true,
                findings: idx,
                danghao: it.danghao,
                title: it.title,
                catalog_code: it.catalog_code,
                files: it.files,
            }
        })
        .collect();
    Ok(Report::assemble(ReportParts {
        package: path.display().to_string(),
        object_id,
        spec_applied: spec.label().to_string(),
        spec_source: spec_source.to_string(),
        findings,
        summary,
        items,
    }))
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

    /// A package METS in the shape other producers write: the representations' files listed in the package
    /// METS itself (content groups), described by content divisions LABEL="Representations".
    fn content_package(dir: &Path, name: &str, groups: &str, divisions: &str) -> Vec<Finding> {
        let root = dir.join(name);
        let mets = format!(
            r#"<mets xmlns="http://www.loc.gov/METS/" xmlns:csip="https://DILCIS.eu/XML/METS/CSIPExtensionMETS" xmlns:xlink="http://www.w3.org/1999/xlink" OBJID="{name}">
  <fileSec ID="fs">
    <fileGrp ID="doc" USE="Documentation">
      <file ID="f-doc" MIMETYPE="text/plain" SIZE="1" CREATED="2026-01-01T00:00:00Z" CHECKSUM="00" CHECKSUMTYPE="MD5"><FLocat LOCTYPE="URL" xlink:type="simple" xlink:href="documentation/a.txt"/></file>
    </fileGrp>
    {groups}
  </fileSec>
  <structMap ID="sm" TYPE="PHYSICAL" LABEL="CSIP"><div ID="main" LABEL="{name}">
    <div ID="d-doc" LABEL="Documentation"><fptr FILEID="doc"/></div>
    {divisions}
  </div></structMap>
</mets>"#
        );
        std::fs::create_dir_all(root.join("documentation")).expect("mkdir");
        std::fs::write(root.join("METS.xml"), mets).expect("write");
        std::fs::write(root.join("documentation/a.txt"), "a").expect("write");
        for rep in ["r1", "r2"] {
            std::fs::create_dir_all(root.join(format!("representations/{rep}/data")))
                .expect("mkdir");
            std::fs::write(root.join(format!("representations/{rep}/data/x.txt")), "x")
                .expect("write");
        }
        let options = Options {
            virus_scan: false,
            xsd: false,
            ..Options::default()
        };
        validate(&root, &options).expect("validate").findings
    }

    fn group(id: &str, use_: &str, cit: bool, rep: &str) -> String {
        format!(
            r#"<fileGrp ID="{id}" USE="{use_}"{}><file ID="f-{id}" MIMETYPE="text/plain" SIZE="1" CREATED="2026-01-01T00:00:00Z" CHECKSUM="00" CHECKSUMTYPE="MD5"><FLocat LOCTYPE="URL" xlink:type="simple" xlink:href="representations/{rep}/data/x.txt"/></file></fileGrp>"#,
            if cit {
                r#" csip:CONTENTINFORMATIONTYPE="MIXED""#
            } else {
                ""
            }
        )
    }

    fn cited(findings: &[Finding], rule: &str) -> Vec<(Level, String)> {
        findings
            .iter()
            .filter(|f| f.rule == rule)
            .map(|f| (f.level, f.message_en.clone()))
            .collect()
    }

    #[test]
    fn content_listed_in_the_package_mets_is_judged_by_the_content_division_rules() {
        let tmp = tempfile::tempdir().expect("tempdir");
        // As the E-ARK test corpus writes it: a group USE="Representations/<name>" with its content information
        // type, one content division pointing at it. None of the content rules fires; the representation
        // folder without a METS of its own is a SHOULD (CSIPSTR12).
        let groups = format!(
            "{}{}",
            group("g1", "Representations/r1", true, "r1"),
            group("g2", "Representations", true, "r2")
        );
        let ok = content_package(
            tmp.path(),
            "ok",
            &groups,
            r#"<div ID="d-rep" LABEL="Representations"><fptr FILEID="g1"/><fptr FILEID="g2"/></div>"#,
        );
        for rule in [
            "CSIP62", "CSIP101", "CSIP102", "CSIP104", "CSIP106", "CSIP109", "CSIP119",
        ] {
            assert!(cited(&ok, rule).is_empty(), "{rule}: {ok:#?}");
        }
        assert_eq!(cited(&ok, "CSIPSTR12").len(), 2, "{ok:#?}");
        // Broken: a group without its content information type, two content divisions (one without an ID
        // and pointing at the Documentation group), so that one content group has no fptr.
        let groups = format!(
            "{}{}",
            group("g1", "Representations/r1", false, "r1"),
            group("g2", "Representations/r2", true, "r2")
        );
        let bad = content_package(
            tmp.path(),
            "bad",
            &groups,
            r#"<div LABEL="Representations"><fptr FILEID="doc"/></div><div ID="d-rep2" LABEL="Representations"><fptr FILEID="g2"/></div>"#,
        );
        let one = |rule: &str, level: Level, text: &str| {
            let c = cited(&bad, rule);
            assert!(
                c.len() == 1 && c[0].0 == level && c[0].1.contains(text),
                "{rule}: {c:?}"
            );
        };
        one("CSIP62", Level::Warning, "Representations/r1");
        one("CSIP101", Level::Warning, "2 content divisions");
        one("CSIP102", Level::Error, "Representations");
        one("CSIP104", Level::Warning, "g1");
        one("CSIP119", Level::Error, "USE='Documentation'");
        assert!(cited(&bad, "CSIP106").is_empty() && cited(&bad, "CSIP109").is_empty());
        // No content division at all: CSIP101 alone.
        let none = content_package(tmp.path(), "none", &groups, "");
        one_of(&none, "CSIP101");
        assert!(cited(&none, "CSIP104").is_empty(), "{none:#?}");
    }

    fn one_of(findings: &[Finding], rule: &str) {
        let c = cited(findings, rule);
        assert!(
            c.len() == 1 && c[0].0 == Level::Warning,
            "{rule}: {findings:#?}"
        );
    }

    #[test]
    fn findings_take_level_and_property_from_the_tables() {
        let f = Finding::eark("CSIP1", None, "", "");
        assert_eq!(
            (f.level, f.property),
            (Level::Error, Some(Property::Authenticity))
        );
        let f = Finding::eark("CSIPSTR12", None, "", "");
        assert_eq!(f.level, Level::Warning);
        let f = Finding::dat70("4.2", None, "", "");
        assert_eq!(
            (f.rule.as_str(), f.property),
            ("DA/T 70-2018 4.2", Some(Property::Security))
        );
    }
}

/// Every finding a broken package can produce is said in Chinese (the report's default) and in English.
#[cfg(test)]
mod message_tests {
    use std::io::Write as _;
    use std::path::Path;

    use super::*;

    const NS: &str = r#"xmlns="http://www.loc.gov/METS/" xmlns:csip="https://DILCIS.eu/XML/METS/CSIPExtensionMETS" xmlns:xlink="http://www.w3.org/1999/xlink""#;

    fn put(root: &Path, rel: &str, bytes: &[u8]) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, bytes).expect("write");
    }

    fn zip_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            z.start_file(*name, opts).expect("entry");
            z.write_all(bytes).expect("write");
        }
        z.finish().expect("finish").into_inner()
    }

    /// Mark the entry `name` as encrypted (general-purpose flag bit 0) in the local and central headers.
    fn mark_encrypted(b: &mut [u8], name: &[u8]) {
        let mut i = 0;
        while i + 46 < b.len() {
            let (flag_at, len_at, name_at) = match &b[i..i + 4] {
                [b'P', b'K', 3, 4] => (6, 26, 30),
                [b'P', b'K', 1, 2] => (8, 28, 46),
                _ => {
                    i += 1;
                    continue;
                }
            };
            let n = u16::from_le_bytes([b[i + len_at], b[i + len_at + 1]]) as usize;
            if b.get(i + name_at..i + name_at + n) == Some(name) {
                b[i + flag_at] |= 1;
            }
            i += 4;
        }
    }

    /// A folder package where almost everything is wrong: METS attributes missing or outside the vocabularies,
    /// hrefs out of the package, wrong sizes and checksums, extra and missing files, programs, macros,
    /// encrypted and broken content, mis-decoded metadata, and a catalog.xml full of bad items.
    fn broken_folder(dir: &Path) -> std::path::PathBuf {
        let root = dir.join("bad-pkg");
        let mets = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<mets {NS} OBJID="other-id" TYPE="Textual works - Digital" csip:CONTENTINFORMATIONTYPE="OTHER" PROFILE="https://example.org/p.xml">
  <metsHdr CREATEDATE="yesterday" csip:OAISPACKAGETYPE="AIP" RECORDSTATUS="WHATEVER">
    <agent ROLE="CREATOR" TYPE="OTHER" OTHERTYPE="SOFTWARE"><name></name><note>1.0</note></agent>
    <agent ROLE="CREATOR" TYPE="OTHER" OTHERTYPE="SOFTWARE"><name>x</name></agent>
    <agent ROLE="CREATOR" TYPE="ORGANIZATION"><name></name><note>x</note></agent>
    <agent ROLE="ARCHIVIST" TYPE="OTHER"><note>y</note></agent>
  </metsHdr>
  <dmdSec STATUS="BOGUS">
    <mdRef LOCTYPE="OTHER" xlink:type="extended" xlink:href="../outside.xml" MIMETYPE="text" SIZE="big" CHECKSUMTYPE="CRC"/>
  </dmdSec>
  <dmdSec ID="dmd2" CREATED="2026-01-01T00:00:00Z" STATUS="CURRENT">
    <mdRef LOCTYPE="URL" xlink:type="simple" xlink:href="metadata/descriptive/catalog.xml" MDTYPE="OTHER" OTHERMDTYPE="DANGAN-CATALOG" MIMETYPE="text/xml" SIZE="1" CREATED="2026-01-01T00:00:00Z" CHECKSUM="00" CHECKSUMTYPE="SHA-256"/>
    <mdRef LOCTYPE="URL" xlink:type="simple" xlink:href="metadata/descriptive/gone.xml" MDTYPE="OTHER" MIMETYPE="text/xml" SIZE="1" CREATED="2026-01-01T00:00:00Z" CHECKSUM="00" CHECKSUMTYPE="SHA-256"/>
  </dmdSec>
  <amdSec>
    <digiprovMD STATUS="BOGUS"><mdRef xlink:href="http://example.org/x"/></digiprovMD>
    <rightsMD><mdRef xlink:href="%ZZ"/></rightsMD>
  </amdSec>
  <fileSec>
    <fileGrp></fileGrp>
    <fileGrp USE="Representations/original" ID="g1">
      <file ID="f1" MIMETYPE="image/tiff" SIZE="5" CREATED="2026-01-01T00:00:00Z" CHECKSUM="abcd" CHECKSUMTYPE="SHA-256">
        <FLocat LOCTYPE="URL" xlink:type="simple" xlink:href="representations/original/data/a.pdf"/>
      </file>
      <file ID="f2" MIMETYPE="nonsense" SIZE="x" CHECKSUMTYPE="SM3X">
        <FLocat LOCTYPE="OTHER" xlink:href="representations/original/data/missing.tif"/>
      </file>
      <file ID="f3" MIMETYPE="text/plain" SIZE="3" CREATED="2026-01-01T00:00:00Z" CHECKSUM="00" CHECKSUMTYPE="MD5">
        <FLocat LOCTYPE="URL" xlink:type="simple" xlink:href="/etc/passwd"/>
      </file>
      <file ID="f4" MIMETYPE="text/plain" SIZE="3" CREATED="2026-01-01T00:00:00Z" CHECKSUM="00" CHECKSUMTYPE="MD5"/>
      <file ID="f5" MIMETYPE="text/plain" SIZE="3" CREATED="2026-01-01T00:00:00Z" CHECKSUM="00" CHECKSUMTYPE="Adler-32">
        <FLocat LOCTYPE="URL" xlink:type="simple" xlink:href="representations/original/data/run.sh"/>
      </file>
      <file ID="f6" MIMETYPE="text/plain" SIZE="3" CREATED="2026-01-01T00:00:00Z" CHECKSUM="00" CHECKSUMTYPE="MD5">
        <FLocat LOCTYPE="URL" xlink:type="simple"/>
      </file>
    </fileGrp>
  </fileSec>
  <structMap TYPE="LOGICAL"/>
  <structMap TYPE="PHYSICAL" LABEL="CSIP">
    <div>
      <div LABEL="Representations/original"><fptr/><fptr FILEID="nothing"/>
        <mptr xlink:title="nope" xlink:type="x" LOCTYPE="y" xlink:href="representations/gone/METS.xml"/>
        <mptr/><mptr xlink:href="../../x"/>
      </div>
      <div LABEL="Representations/empty"/>
      <div><fptr/></div>
    </div>
    <div/>
  </structMap>
  <structMap TYPE="PHYSICAL" LABEL="CSIP"/>
</mets>"#
        );
        put(&root, "METS.xml", mets.as_bytes());
        // Representation METS: one nearly empty, one not METS, one not UTF-8; one representation without any.
        put(
            &root,
            "representations/original/METS.xml",
            format!(r#"<mets {NS} TYPE="OTHER" csip:CONTENTINFORMATIONTYPE="nope"><metsHdr><agent ROLE="CREATOR"/></metsHdr></mets>"#).as_bytes(),
        );
        put(&root, "representations/r3/METS.xml", b"<foo/>");
        put(
            &root,
            "representations/r4/METS.xml",
            b"<mets>\xff\xfe</mets>",
        );
        put(&root, "representations/r2/data/x.txt", b"x");
        put(
            &root,
            "documentation/notes.txt",
            "å\u{85}³äº\u{8e}".as_bytes(),
        );
        put(
            &root,
            "documentation/replacement.txt",
            "a\u{FFFD}b".as_bytes(),
        );
        put(&root, "documentation/gbk.csv", b"\xb9\xd8\xd3\xda");
        put(&root, "schemas/x.xsd", b"<schema/>");
        let data = "representations/original/data";
        put(&root, &format!("{data}/a.pdf"), b"%PDF-1.4 not really");
        put(
            &root,
            &format!("{data}/enc.pdf"),
            b"%PDF-1.4 /Encrypt 1 0 R",
        );
        put(&root, &format!("{data}/run.sh"), b"#!/bin/sh\necho hi\n");
        put(&root, &format!("{data}/prog.bin"), b"MZ\x90\0\x03\0\0\0");
        put(&root, &format!("{data}/bad.tif"), b"II*\0\xff\xff\xff\xff");
        put(
            &root,
            &format!("{data}/bad.png"),
            b"\x89PNG\r\n\x1a\nbroken",
        );
        put(
            &root,
            &format!("{data}/page.html"),
            b"<!DOCTYPE html><html><head><title>t</title></head></html>",
        );
        put(
            &root,
            &format!("{data}/macro.docx"),
            &zip_bytes(&[
                ("[Content_Types].xml", b"<Types/>"),
                ("word/vbaProject.bin", b"vba"),
                ("word/tool.exe", b"MZ"),
                ("word/secret.xml", b"s"),
            ]),
        );
        let mut enc = zip_bytes(&[("secret.txt", b"s")]);
        mark_encrypted(&mut enc, b"secret.txt");
        put(&root, &format!("{data}/enc.zip"), &enc);
        let mut docx = zip_bytes(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("word/document.xml", b"d"),
        ]);
        mark_encrypted(&mut docx, b"word/document.xml");
        put(&root, &format!("{data}/enc.docx"), &docx);
        let utf16 =
            |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect() };
        let mut cfb = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        cfb.resize(512, 0);
        let mut macro_doc = cfb.clone();
        macro_doc.extend(utf16("_VBA_PROJECT"));
        put(&root, &format!("{data}/macro.doc"), &macro_doc);
        let mut enc_doc = cfb;
        enc_doc.extend(utf16("EncryptionInfo"));
        put(&root, &format!("{data}/enc.doc"), &enc_doc);
        put(
            &root,
            "metadata/descriptive/catalog.xml",
            r#"<catalog xmlns="urn:dangan:catalog:1">
  <item/>
  <item><danghao>J001-WS·2019-Y-BGS-0001</danghao><catalogCode>X-1.1.1</catalogCode><title>t</title>
    <file path="representations/original/data/a.pdf"/></item>
  <item><danghao>J001-WS·2019-Y-BGS-0001</danghao><catalogCode>X-9.9.9</catalogCode><title>t</title>
    <file path="representations/original/data/gone.tif"/></item>
  <item><danghao>J001-WS·19-Y-BGS-0003</danghao><catalogCode>X-1.1.1</catalogCode><title>t</title></item>
  <item><danghao>J001-WS·2019-Y-BGS-0005</danghao><catalogCode>X-1.1.1</catalogCode><title>t</title>
    <file path="representations/original/data/J001-WS_2019-Y-BGS-0005.tif"/></item>
</catalog>"#
                .as_bytes(),
        );
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc/hostname", root.join("link")).expect("symlink");
        root
    }

    fn has_cjk(s: &str) -> bool {
        s.chars().any(|c| {
            ('\u{4E00}'..='\u{9FFF}').contains(&c) || ('\u{3400}'..='\u{4DBF}').contains(&c)
        })
    }

    fn check(findings: &[Finding], what: &str) {
        assert!(!findings.is_empty(), "{what}: no findings");
        for f in findings {
            assert!(
                !f.message.trim().is_empty() && !f.message_en.trim().is_empty(),
                "{what}: empty message: {f:?}"
            );
            assert!(has_cjk(&f.message), "{what}: message not Chinese: {f:?}");
            assert_ne!(f.message, f.message_en, "{what}: not translated: {f:?}");
        }
    }

    #[test]
    fn every_finding_of_a_broken_package_has_chinese_and_english_messages() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let options = Options {
            virus_scan: false,
            ..Options::default()
        };
        let mut all: Vec<Finding> = Vec::new();

        let folder = broken_folder(tmp.path());
        let r = validate(&folder, &options).expect("validate broken folder");
        check(&r.findings, "broken folder");
        all.extend(r.findings);
        // Judged as a SIP too: the SIP-only rules apply (its PROFILE is unknown, so by default only the CSIP).
        let sip = Options {
            spec: Some(Spec::Sip220),
            ..options.clone()
        };
        let r = validate(&folder, &sip).expect("validate broken folder as a SIP");
        check(&r.findings, "broken folder as a SIP");
        all.extend(r.findings);
        // Package METS short of a header, of agents, of the software agent.
        for (name, body) in [
            ("nohdr", ""),
            ("noagent", "<metsHdr/>"),
            (
                "nosoftware",
                r#"<metsHdr><agent ROLE="CREATOR" TYPE="OTHER"/></metsHdr><structMap TYPE="LOGICAL"/>"#,
            ),
        ] {
            let p = tmp.path().join(name);
            put(
                &p,
                "METS.xml",
                format!("<mets {NS}>{body}</mets>").as_bytes(),
            );
            let r = validate(&p, &sip).expect("validate");
            check(&r.findings, name);
            all.extend(r.findings);
        }

        // No METS.xml (only a wrongly cased one) and a catalog.xml that is not dangan's.
        let nomets = tmp.path().join("nomets");
        put(&nomets, "mets.xml", b"<mets/>");
        put(&nomets, "metadata/descriptive/catalog.xml", b"<other/>");
        let r = validate(&nomets, &options).expect("validate");
        check(&r.findings, "no METS");
        all.extend(r.findings);

        // A DOCTYPE in the METS and in catalog.xml.
        let doctype = tmp.path().join("doctype");
        let dtd = b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"x\">]><x>&e;</x>";
        put(&doctype, "METS.xml", dtd);
        put(&doctype, "metadata/descriptive/catalog.xml", dtd);
        let r = validate(&doctype, &options).expect("validate");
        check(&r.findings, "DOCTYPE");
        all.extend(r.findings);

        // A zip with traversal names, no single root, a compression bomb and an encrypted entry.
        let zip = tmp.path().join("bad.zip");
        let zeros = vec![0u8; 3 << 20];
        let mut z = zip_bytes(&[
            ("../evil.txt", b"e"),
            ("/abs.txt", b"a"),
            ("C:/drive.txt", b"d"),
            ("a.txt", b"a"),
            ("top/bomb.bin", &zeros),
            ("top/secret.txt", b"s"),
        ]);
        mark_encrypted(&mut z, b"top/secret.txt");
        std::fs::write(&zip, &z).expect("write zip");
        let r = validate(&zip, &options).expect("validate zip");
        check(&r.findings, "zip");
        all.extend(r.findings);
        // Limits that stop the reader: the findings are written before the error.
        for limits in [
            Limits {
                max_entries: 1,
                ..Limits::default()
            },
            Limits {
                max_total_bytes: 1,
                ..Limits::default()
            },
        ] {
            use crate::sip::Source as _;
            let src = crate::sip::ZipSource::open(&zip).expect("zip opens");
            let Err(crate::sip::SipError::Limits(_)) = src.list(&limits) else {
                panic!("limits not applied");
            };
            assert!(
                validate(
                    &zip,
                    &Options {
                        limits,
                        ..options.clone()
                    }
                )
                .is_err()
            );
        }

        // The run reached the kinds of problem this test is about (so the check above means something).
        let rules: std::collections::BTreeSet<&str> = all.iter().map(|f| f.rule.as_str()).collect();
        for rule in [
            "CSIPSTR1",
            "CSIP117",
            "CSIP10",
            "CSIP11",
            "CSIP13",
            "CSIP81",
            "CSIPSTR4",
            "CSIPSTR12",
            "CSIP0",
            "CSIP1",
            "CSIP2",
            "CSIP7",
            "CSIP9",
            "CSIP24",
            "CSIP29",
            "CSIP60",
            "CSIP66",
            "CSIP69",
            "CSIP71",
            "CSIP72",
            "CSIP79",
            "CSIP82",
            "CSIP108",
            "CSIP110",
            "SIP4",
            "SIP15",
        ] {
            assert!(rules.contains(rule), "{rule} not reached: {rules:?}");
        }
        for item in [
            "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2", "3.3", "3.4", "4.1",
            "4.2", "4.3",
        ] {
            let rule = format!("{DAT70}{item}");
            assert!(
                rules.contains(rule.as_str()),
                "{rule} not reached: {rules:?}"
            );
        }
    }
}

impl Summary {
    /// Count findings per level and per DA/T 70 property (every property starts passed; an error fails its
    /// property and names the rule). The one tally of every 四性检测 report (SIP and EEP): a finding built
    /// without a property is attributed by its rule through the rule tables.
    pub fn tally(&mut self, findings: &[Finding]) {
        for p in Property::ALL {
            self.properties.insert(
                p,
                PropertySummary {
                    passed: true,
                    ..Default::default()
                },
            );
        }
        for f in findings {
            let prop = f
                .property
                .unwrap_or_else(|| RuleTable::embedded().property(&f.rule));
            let ps = self.properties.entry(prop).or_default();
            match f.level {
                Level::Error => {
                    self.errors += 1;
                    ps.errors += 1;
                    ps.passed = false;
                    if !ps.failed_items.contains(&f.rule) {
                        ps.failed_items.push(f.rule.clone());
                    }
                }
                Level::Warning => {
                    self.warnings += 1;
                    ps.warnings += 1;
                }
                Level::Info => self.infos += 1,
            }
        }
    }
}
