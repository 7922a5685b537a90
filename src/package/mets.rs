//! METS documents: the package METS (CSIP1–CSIP119, SIP1–SIP35) and one per representation.

use std::collections::BTreeMap;

use crate::catalog::Catalog;
use crate::context::Context;

use super::xml::Xml;
use super::{PackageSpec, SIP_PROFILE, WrittenFile};

pub const METS_NS: &str = "http://www.loc.gov/METS/";
pub const CSIP_NS: &str = "https://DILCIS.eu/XML/METS/CSIPExtensionMETS";
pub const SIP_NS: &str = "https://DILCIS.eu/XML/METS/SIPExtensionMETS";
pub const XLINK_NS: &str = "http://www.w3.org/1999/xlink";
pub const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The files the package METS points at, written before it.
pub struct PackageParts {
    /// (file, MDTYPE, OTHERMDTYPE)
    pub descriptive: Vec<(WrittenFile, &'static str, Option<&'static str>)>,
    pub preservation: Vec<WrittenFile>,
    pub documentation: Vec<WrittenFile>,
    pub schemas: Vec<WrittenFile>,
    /// (representation name, its METS file)
    pub representations: Vec<(String, WrittenFile)>,
}

fn schema_location(prefix: &str) -> String {
    format!(
        "{METS_NS} {prefix}schemas/mets1_12.xsd {XLINK_NS} {prefix}schemas/xlink.xsd \
         {CSIP_NS} {prefix}schemas/DILCISExtensionMETS.xsd {SIP_NS} {prefix}schemas/DILCISExtensionSIPMETS.xsd"
    )
}

/// Percent-encode what may not stand in a URI path, keeping `/` and unreserved characters; non-ASCII
/// (Chinese file names) is encoded as UTF-8 octets (RFC 3986 §2.1).
pub fn href(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn open_mets(x: &mut Xml, objid: &str, label: &str, category: &str, prefix: &str) {
    let loc = schema_location(prefix);
    x.open(
        "mets",
        &[
            ("xmlns", METS_NS),
            ("xmlns:csip", CSIP_NS),
            ("xmlns:sip", SIP_NS),
            ("xmlns:xlink", XLINK_NS),
            ("xmlns:xsi", XSI_NS),
            // CSIP1 OBJID, CSIP2 TYPE, CSIP4 content information type, SIP2 PROFILE.
            ("OBJID", objid),
            ("LABEL", label),
            ("TYPE", category),
            ("csip:CONTENTINFORMATIONTYPE", "MIXED"),
            ("PROFILE", SIP_PROFILE),
            ("xsi:schemaLocation", &loc),
        ],
    );
}

fn header(x: &mut Xml, ctx: &Context, spec: &PackageSpec, with_submitter: bool) {
    let created = ctx.now_rfc3339();
    x.open(
        "metsHdr",
        &[
            ("CREATEDATE", &created),
            ("RECORDSTATUS", "NEW"),
            ("csip:OAISPACKAGETYPE", "SIP"),
        ],
    );
    // CSIP10–CSIP16: the creating software.
    x.open(
        "agent",
        &[
            ("ROLE", "CREATOR"),
            ("TYPE", "OTHER"),
            ("OTHERTYPE", "SOFTWARE"),
        ],
    );
    x.text("name", &[], "dangan");
    x.text(
        "note",
        &[("csip:NOTETYPE", "SOFTWARE VERSION")],
        crate::VERSION,
    );
    x.close();
    if with_submitter {
        // SIP: the submitting organisation.
        x.open("agent", &[("ROLE", "CREATOR"), ("TYPE", "ORGANIZATION")]);
        x.text("name", &[], &spec.submitter);
        if let Some(id) = &spec.submitter_id {
            x.text("note", &[("csip:NOTETYPE", "IDENTIFICATIONCODE")], id);
        }
        x.close();
    }
    x.close();
}

#[derive(serde::Deserialize)]
struct MimeTable {
    unregistered: Vec<String>,
}

/// The MIMETYPE to write for a file (CSIP68): identification's type unless it is one the E-ARK
/// validator's IANA list lacks (`profiles/mets-mime.toml`).
pub fn mets_mime(mime: &str) -> &str {
    static TABLE: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        toml::from_str::<MimeTable>(include_str!("../../profiles/mets-mime.toml"))
            .map(|t| t.unregistered)
            .expect("profiles/mets-mime.toml is validated by tests")
    });
    if table.iter().any(|m| m == mime) {
        "application/octet-stream"
    } else {
        mime
    }
}

fn file_element(x: &mut Xml, f: &WrittenFile, href_path: &str, created: &str) {
    let size = f.size.to_string();
    let checksum = f.sha256.to_ascii_uppercase();
    let mut attrs: Vec<(&str, &str)> = vec![
        ("ID", &f.id),
        ("MIMETYPE", mets_mime(&f.mime)),
        ("SIZE", &size),
        ("CREATED", created),
        ("CHECKSUM", &checksum),
        ("CHECKSUMTYPE", "SHA-256"),
    ];
    // SIP32–SIP35: the file format by PRONOM (attribute names as in the E-ARK METS schema).
    let ident = f.identification.as_ref();
    if let Some(i) = ident {
        if !i.format.is_empty() {
            attrs.push(("sip:FILEFORMATNAME", &i.format));
        }
        if let Some(v) = &i.version {
            attrs.push(("sip:FILEFORMATVERSION", v));
        }
        if let Some(puid) = &i.puid {
            attrs.push(("sip:FORMATREGISTRY", "PRONOM"));
            attrs.push(("sip:FORMATREGISTRYKEY", puid));
        }
    }
    x.open("file", &attrs);
    x.empty(
        "FLocat",
        &[
            ("LOCTYPE", "URL"),
            ("xlink:type", "simple"),
            ("xlink:href", &href(href_path)),
        ],
    );
    x.close();
}

fn md_ref(x: &mut Xml, f: &WrittenFile, mdtype: &str, other: Option<&str>, created: &str) {
    let size = f.size.to_string();
    let checksum = f.sha256.to_ascii_uppercase();
    let link = href(&f.path);
    let mut attrs: Vec<(&str, &str)> = vec![
        ("LOCTYPE", "URL"),
        ("xlink:type", "simple"),
        ("xlink:href", &link),
        ("MDTYPE", mdtype),
    ];
    if let Some(o) = other {
        attrs.push(("OTHERMDTYPE", o));
    }
    attrs.extend([
        ("MIMETYPE", f.mime.as_str()),
        ("SIZE", size.as_str()),
        ("CREATED", created),
        ("CHECKSUM", checksum.as_str()),
        ("CHECKSUMTYPE", "SHA-256"),
    ]);
    x.empty("mdRef", &attrs);
}

/// The logical structure: level → category → class → node → item, mirroring the catalog. `leaf` writes
/// what an item division holds (file pointers, or pointers to representation METS).
fn logical_map(
    x: &mut Xml,
    ctx: &Context,
    spec: &PackageSpec,
    catalog: &Catalog,
    mut leaf: impl FnMut(&mut Xml, usize),
) {
    // code path → items, in catalog order so the map reads like the catalog.
    let mut by_code: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let order: BTreeMap<&str, usize> = catalog
        .nodes()
        .enumerate()
        .map(|(i, n)| (n.code.as_str(), i))
        .collect();
    for (i, item) in spec.items.iter().enumerate() {
        let key = order
            .get(item.catalog_code.as_str())
            .copied()
            .unwrap_or(usize::MAX);
        by_code.entry(key).or_default().push(i);
    }
    let id = |p: &str| format!("{p}-{}", ctx.ids.next_uuid());
    x.open(
        "structMap",
        &[
            ("ID", &id("structmap")),
            ("TYPE", "LOGICAL"),
            ("LABEL", "档案整理目录"),
        ],
    );
    x.open("div", &[("ID", &id("div")), ("LABEL", &catalog.info.name)]);
    let mut open_path: Vec<String> = Vec::new();
    for items in by_code.values() {
        let code = &spec.items[items[0]].catalog_code;
        let path: Vec<(String, String, &'static str)> = catalog
            .path(code)
            .iter()
            .map(|n| {
                let kind = match n.kind {
                    crate::catalog::Kind::Level => "level",
                    crate::catalog::Kind::Category => "category",
                    crate::catalog::Kind::Class => "class",
                    crate::catalog::Kind::Item => "node",
                };
                (n.code.clone(), format!("{} {}", n.code, n.name), kind)
            })
            .collect();
        // Close divisions not shared with the previous code's path, open the new ones.
        let common = open_path
            .iter()
            .zip(&path)
            .take_while(|(a, b)| **a == b.0)
            .count();
        for _ in common..open_path.len() {
            x.close();
        }
        open_path.truncate(common);
        for (code, label, kind) in &path[common..] {
            x.open(
                "div",
                &[("ID", &id("div")), ("TYPE", kind), ("LABEL", label)],
            );
            open_path.push(code.clone());
        }
        for &i in items {
            let item = &spec.items[i];
            let label = format!("{} {}", item.danghao, item.title);
            x.open(
                "div",
                &[("ID", &id("div")), ("TYPE", "item"), ("LABEL", &label)],
            );
            leaf(x, i);
            x.close();
        }
    }
    for _ in 0..open_path.len() {
        x.close();
    }
    x.close(); // root div
    x.close(); // structMap
}

/// The package (root) METS.
pub fn package_mets(
    spec: &PackageSpec,
    catalog: &Catalog,
    ctx: &Context,
    parts: &PackageParts,
) -> String {
    let created = ctx.now_rfc3339();
    let id = |p: &str| format!("{p}-{}", ctx.ids.next_uuid());
    let mut x = Xml::new();
    open_mets(&mut x, &spec.objid, &spec.label, &spec.content_category, "");
    header(&mut x, ctx, spec, true);

    let mut dmd_ids = Vec::new();
    for (f, mdtype, other) in &parts.descriptive {
        let dmd = id("dmd");
        x.open(
            "dmdSec",
            &[("ID", &dmd), ("CREATED", &created), ("STATUS", "CURRENT")],
        );
        md_ref(&mut x, f, mdtype, *other, &created);
        x.close();
        dmd_ids.push(dmd);
    }
    let mut adm_ids = Vec::new();
    x.open("amdSec", &[("ID", &id("amd"))]);
    for f in &parts.preservation {
        let dp = id("digiprov");
        x.open(
            "digiprovMD",
            &[("ID", &dp), ("CREATED", &created), ("STATUS", "CURRENT")],
        );
        md_ref(&mut x, f, "PREMIS", None, &created);
        x.close();
        adm_ids.push(dp);
    }
    x.close();

    x.open("fileSec", &[("ID", &id("filesec"))]);
    let mut groups: Vec<(String, String)> = Vec::new(); // (USE, fileGrp ID)
    let mut group = |x: &mut Xml, use_: &str, files: &[&WrittenFile]| {
        if files.is_empty() {
            return;
        }
        let gid = id("filegrp");
        x.open("fileGrp", &[("ID", &gid), ("USE", use_)]);
        for f in files {
            file_element(x, f, &f.path, &created);
        }
        x.close();
        groups.push((use_.to_string(), gid));
    };
    group(
        &mut x,
        "Documentation",
        &parts.documentation.iter().collect::<Vec<_>>(),
    );
    group(&mut x, "Schemas", &parts.schemas.iter().collect::<Vec<_>>());
    for (name, f) in &parts.representations {
        group(&mut x, &format!("Representations/{name}"), &[f]);
    }
    x.close();

    // CSIP structMap: exactly one PHYSICAL map labelled CSIP.
    x.open(
        "structMap",
        &[
            ("ID", &id("structmap")),
            ("TYPE", "PHYSICAL"),
            ("LABEL", "CSIP"),
        ],
    );
    x.open("div", &[("ID", &id("div")), ("LABEL", &spec.objid)]);
    let dmd = dmd_ids.join(" ");
    let adm = adm_ids.join(" ");
    x.empty(
        "div",
        &[
            ("ID", &id("div")),
            ("LABEL", "Metadata"),
            ("DMDID", &dmd),
            ("ADMID", &adm),
        ],
    );
    for (use_, gid) in &groups {
        if let Some(rep) = use_.strip_prefix("Representations/") {
            let target = format!("representations/{rep}/METS.xml");
            x.open("div", &[("ID", &id("div")), ("LABEL", use_)]);
            x.empty(
                "mptr",
                &[
                    ("LOCTYPE", "URL"),
                    ("xlink:type", "simple"),
                    ("xlink:href", &href(&target)),
                    ("xlink:title", gid),
                ],
            );
            x.close();
        } else {
            x.open("div", &[("ID", &id("div")), ("LABEL", use_)]);
            x.empty("fptr", &[("FILEID", gid)]);
            x.close();
        }
    }
    x.close();
    x.close();

    // The catalog view: an archive can browse the package by catalog code. Items point to the
    // representation METS files that hold their files.
    let reps: Vec<String> = parts
        .representations
        .iter()
        .map(|(name, _)| format!("representations/{name}/METS.xml"))
        .collect();
    logical_map(&mut x, ctx, spec, catalog, |x, _| {
        for r in &reps {
            x.empty(
                "mptr",
                &[
                    ("LOCTYPE", "URL"),
                    ("xlink:type", "simple"),
                    ("xlink:href", &href(r)),
                ],
            );
        }
    });
    x.finish()
}

/// The METS of one representation: its data files, a CSIP physical map, and the catalog view with a
/// pointer to every file of every item.
pub fn representation_mets(
    spec: &PackageSpec,
    catalog: &Catalog,
    ctx: &Context,
    rep: &str,
    files: &[&WrittenFile],
    premis: Option<&WrittenFile>,
) -> String {
    let created = ctx.now_rfc3339();
    let id = |p: &str| format!("{p}-{}", ctx.ids.next_uuid());
    let mut x = Xml::new();
    // CSIP1 applies to representation METS too: OBJID names the folder that holds it.
    let objid = rep.to_string();
    open_mets(
        &mut x,
        &objid,
        &format!("{} ({rep})", spec.label),
        &spec.content_category,
        "../../",
    );
    header(&mut x, ctx, spec, false);
    let mut adm_id = None;
    if let Some(p) = premis {
        let dp = id("digiprov");
        x.open("amdSec", &[("ID", &id("amd"))]);
        x.open(
            "digiprovMD",
            &[("ID", &dp), ("CREATED", &created), ("STATUS", "CURRENT")],
        );
        let mut local = p.clone();
        local.path = p
            .path
            .strip_prefix(&format!("representations/{rep}/"))
            .unwrap_or(&p.path)
            .to_string();
        md_ref(&mut x, &local, "PREMIS", None, &created);
        x.close();
        x.close();
        adm_id = Some(dp);
    }
    x.open("fileSec", &[("ID", &id("filesec"))]);
    let gid = id("filegrp");
    x.open("fileGrp", &[("ID", &gid), ("USE", "Data")]);
    let prefix = format!("representations/{rep}/");
    for f in files {
        let rel = f.path.strip_prefix(&prefix).unwrap_or(&f.path);
        file_element(&mut x, f, rel, &created);
    }
    x.close();
    x.close();
    x.open(
        "structMap",
        &[
            ("ID", &id("structmap")),
            ("TYPE", "PHYSICAL"),
            ("LABEL", "CSIP"),
        ],
    );
    x.open(
        "div",
        &[
            ("ID", &id("div")),
            ("TYPE", &rep.to_ascii_uppercase()),
            ("LABEL", rep),
        ],
    );
    if let Some(adm) = &adm_id {
        x.empty(
            "div",
            &[("ID", &id("div")), ("LABEL", "Metadata"), ("ADMID", adm)],
        );
    }
    x.open("div", &[("ID", &id("div")), ("LABEL", "Data")]);
    x.empty("fptr", &[("FILEID", &gid)]);
    x.close();
    x.close();
    x.close();
    logical_map(&mut x, ctx, spec, catalog, |x, item| {
        for f in files.iter().filter(|f| f.item == Some(item)) {
            x.empty("fptr", &[("FILEID", &f.id)]);
        }
    });
    x.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_table_loads_and_maps() {
        assert_eq!(mets_mime("audio/x-wav"), "application/octet-stream");
        assert_eq!(mets_mime("image/tiff"), "image/tiff");
        assert_eq!(href("a b/档.tif"), "a%20b/%E6%A1%A3.tif");
    }
}
