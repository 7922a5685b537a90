//! XML Schema validity of the metadata a package uses (METS 1.12 with the E-ARK extensions, PREMIS 3.0,
//! dangan's catalog schema), by `xmllint` when it is on PATH; otherwise recorded as not run.
//!
//! The schemas are dangan's own embedded copies (the same files `dangan pack` ships), never the package's: a
//! package could carry a permissive schema of its own. Documents are piped to `xmllint --nonet` only after the
//! safe parser has accepted them (no DTD, no external entities), so nothing is fetched.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{CheckRun, Finding};
use crate::sip::Package;
use crate::sip::xml;

const METS_NS: &str = "http://www.loc.gov/METS/";
const PREMIS_NS: &str = "http://www.loc.gov/premis/v3";
const CATALOG_NS: &str = "urn:dangan:catalog:1";

/// The embedded schemas written to a private temporary folder, removed on drop.
struct SchemaDir(PathBuf);

impl SchemaDir {
    fn new() -> std::io::Result<SchemaDir> {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("dangan-xsd-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        for (name, text) in crate::package::OFFICIAL_SCHEMAS {
            std::fs::write(dir.join(name), text)?;
        }
        Ok(SchemaDir(dir))
    }
}

impl Drop for SchemaDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How long xmllint may take over one document.
const XMLLINT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

pub(crate) fn xmllint(
    xmllint: &crate::tool::Tool,
    schema: &Path,
    doc: &[u8],
) -> Result<(), String> {
    let args: Vec<&std::ffi::OsStr> = vec![
        "--nonet".as_ref(),
        "--noout".as_ref(),
        "--schema".as_ref(),
        schema.as_os_str(),
        "-".as_ref(),
    ];
    let out = xmllint
        .run_captured(&args, Some(doc), Some(XMLLINT_TIMEOUT))
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("fails to validate"))
        .take(3)
        .collect();
    Err(lines.join(" | "))
}

/// Validate every METS, PREMIS and catalog document among `paths`.
pub fn check(pkg: &Package, paths: &[String], findings: &mut Vec<Finding>) -> CheckRun {
    let run = |status: &str, detail: String| CheckRun {
        name: "xsd".into(),
        status: status.into(),
        detail,
    };
    let Some(lint) = crate::tool::xmllint() else {
        return run(
            "not_run",
            "xmllint is not on PATH: XML Schema validity not checked (structure is still checked rule by rule)"
                .into(),
        );
    };
    let dir = match SchemaDir::new() {
        Ok(d) => d,
        Err(e) => return run("failed", format!("cannot write schemas: {e}")),
    };
    let results: Vec<Option<Finding>> = paths
        .par_iter()
        .map(|p| {
            let bytes = pkg.read(p).ok()?;
            let root = xml::parse(&bytes).ok()?;
            let (schema, rule) = match root.ns.as_str() {
                METS_NS => ("mets1_12.xsd", "CSIP0"),
                PREMIS_NS => ("premis.xsd", "DA/T 70-2018 1.2"),
                CATALOG_NS => ("dangan-catalog.xsd", "DA/T 70-2018 1.2"),
                _ => return None,
            };
            let why = xmllint(&lint, &dir.0.join(schema), &bytes).err()?;
            // xmllint's own words stay English in both messages.
            let zh = format!("不符合模式 (XML Schema) {schema}: {why}");
            let en = format!("not valid against {schema}: {why}");
            Some(if rule == "CSIP0" {
                Finding::eark(rule, Some(p.clone()), zh, en)
            } else {
                Finding::dat70("1.2", Some(p.clone()), zh, en)
            })
        })
        .collect();
    let n = paths.len();
    let bad = results.iter().flatten().count();
    findings.extend(results.into_iter().flatten());
    run(
        "run",
        format!(
            "{n} metadata documents checked against dangan's embedded METS/PREMIS/catalog schemas by {}, {bad} invalid",
            lint.label()
        ),
    )
}
