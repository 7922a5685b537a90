//! The one METS model, read by `fixity::verify` (what to check) and `validate` (the CSIP/SIP rules).
//!
//! Built on the hardened XML tree ([`super::xml`]): the typed parts both readers need — root attributes,
//! `metsHdr`, every `mdRef` of `dmdSec`/`amdSec`, every `file` of `fileSec` with its `FLocat`s, `CHECKSUM`,
//! `CHECKSUMTYPE` and `SIZE`, and the structMaps' `mptr`s — with every `xlink:href` resolved against the
//! folder of the METS file (E-ARK CSIP: a representation METS points relative to its own folder). The tree
//! itself stays available as [`Mets::root`] for rule checks of attributes the model does not type.

use super::Limits;
use super::path::{PathError, resolve_href};
use super::xml::{self, Element, XmlError};

pub const METS_NS: &str = "http://www.loc.gov/METS/";
pub const CSIP_NS: &str = "https://DILCIS.eu/XML/METS/CSIPExtensionMETS";
pub const SIP_NS: &str = "https://DILCIS.eu/XML/METS/SIPExtensionMETS";
pub const XLINK_NS: &str = "http://www.w3.org/1999/xlink";

/// Which section a reference comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    /// `fileSec//file/FLocat`.
    File,
    /// `dmdSec/mdRef`.
    Dmd,
    /// `amdSec/digiprovMD/mdRef`.
    Digiprov,
    /// `amdSec/rightsMD/mdRef`.
    Rights,
    /// `amdSec/techMD/mdRef`.
    Tech,
    /// `amdSec/sourceMD/mdRef`.
    SourceMd,
    /// `structMap//mptr` (a representation METS).
    Mptr,
}

/// One file a METS points at, with what it declares about it.
#[derive(Debug, Clone)]
pub struct Ref {
    pub kind: RefKind,
    /// `ID` of the `file` (or of the `mdRef`'s section).
    pub id: Option<String>,
    /// `xlink:href` as written.
    pub href: Option<String>,
    /// The href resolved to a package path (`Err(PathError::Empty)` when there is no href).
    pub path: Result<String, PathError>,
    /// `SIZE` as written.
    pub size: Option<String>,
    pub checksum: Option<String>,
    pub checksum_type: Option<String>,
    pub mime: Option<String>,
    pub other_mdtype: Option<String>,
    /// Line of the element in the METS file.
    pub line: usize,
}

impl Ref {
    /// `SIZE` as a number: `None` when absent, `Some(Err(text))` when it is not one.
    pub fn size(&self) -> Option<Result<u64, String>> {
        self.size
            .as_deref()
            .map(|s| s.trim().parse::<u64>().map_err(|_| s.to_string()))
    }
}

/// A `mets:file` without any `FLocat` (nothing to check; a rule violation for both readers).
#[derive(Debug, Clone)]
pub struct Unlocated {
    pub id: Option<String>,
    pub line: usize,
}

/// One METS document.
#[derive(Debug, Clone)]
pub struct Mets {
    /// Its path in the package.
    pub path: String,
    /// Its folder ("" for the package METS), against which its hrefs are resolved.
    pub base: String,
    pub objid: Option<String>,
    pub type_: Option<String>,
    pub profile: Option<String>,
    pub content_information_type: Option<String>,
    /// `metsHdr/@csip:OAISPACKAGETYPE`.
    pub oais_package_type: Option<String>,
    /// Every mdRef, file location and mptr, in document order.
    pub refs: Vec<Ref>,
    pub unlocated: Vec<Unlocated>,
    /// The whole document, for rule checks.
    pub root: Element,
}

/// Why a METS file could not be modelled.
#[derive(Debug, thiserror::Error)]
pub enum MetsError {
    #[error("cannot read: {0}")]
    Read(#[source] std::io::Error),
    #[error("line {line}: {error}")]
    Xml { error: XmlError, line: usize },
    #[error("the root element is {{{ns}}}{name}, not METS <mets>")]
    NotMets { ns: String, name: String },
}

impl MetsError {
    /// The same in Chinese.
    pub fn zh(&self) -> String {
        match self {
            MetsError::Read(e) => format!("无法读取: {e}"),
            MetsError::Xml { error, line } => format!("第 {line} 行: {}", error.zh()),
            MetsError::NotMets { ns, name } => format!("根元素是 {{{ns}}}{name}, 不是 METS <mets>"),
        }
    }
}

fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

impl Mets {
    /// Model the METS document `bytes`, found at `path` in the package.
    pub fn parse(bytes: &[u8], path: &str, limits: &Limits) -> Result<Mets, MetsError> {
        let root = xml::parse_located(bytes, limits.max_xml_depth)
            .map_err(|(error, line)| MetsError::Xml { error, line })?;
        Mets::from_tree(root, path)
    }

    /// Model an already parsed document.
    pub fn from_tree(root: Element, path: &str) -> Result<Mets, MetsError> {
        if root.ns != METS_NS || root.name != "mets" {
            return Err(MetsError::NotMets {
                ns: root.ns,
                name: root.name,
            });
        }
        let base = parent_of(path).to_string();
        let own = |v: Option<&str>| v.map(|s| s.trim().to_string());
        let mut m = Mets {
            path: path.to_string(),
            objid: own(root.a("OBJID")).filter(|s| !s.is_empty()),
            type_: own(root.a("TYPE")),
            profile: own(root.a("PROFILE")),
            content_information_type: own(root.attr(CSIP_NS, "CONTENTINFORMATIONTYPE")),
            oais_package_type: root
                .kid(METS_NS, "metsHdr")
                .and_then(|h| own(h.attr(CSIP_NS, "OAISPACKAGETYPE"))),
            refs: Vec::new(),
            unlocated: Vec::new(),
            base,
            root: Element::default(),
        };
        for d in root.kids(METS_NS, "dmdSec") {
            for r in d.kids(METS_NS, "mdRef") {
                m.push(RefKind::Dmd, r, r, d.a("ID"));
            }
        }
        for a in root.kids(METS_NS, "amdSec") {
            for (sec, kind) in [
                ("techMD", RefKind::Tech),
                ("rightsMD", RefKind::Rights),
                ("sourceMD", RefKind::SourceMd),
                ("digiprovMD", RefKind::Digiprov),
            ] {
                for d in a.kids(METS_NS, sec) {
                    for r in d.kids(METS_NS, "mdRef") {
                        m.push(kind, r, r, d.a("ID"));
                    }
                }
            }
        }
        if let Some(fs) = root.kid(METS_NS, "fileSec") {
            // fileGrp may nest (METS 1.12); every file at any depth.
            for f in fs.descendants() {
                if f.ns != METS_NS || f.name != "file" {
                    continue;
                }
                let mut located = false;
                for loc in f.kids(METS_NS, "FLocat") {
                    located = true;
                    m.push(RefKind::File, f, loc, f.a("ID"));
                }
                if !located {
                    m.unlocated.push(Unlocated {
                        id: f.a("ID").map(str::to_string),
                        line: f.line,
                    });
                }
            }
        }
        for sm in root.kids(METS_NS, "structMap") {
            for e in sm.descendants() {
                if e.ns == METS_NS && e.name == "mptr" {
                    m.push(RefKind::Mptr, e, e, e.a("ID"));
                }
            }
        }
        m.root = root;
        Ok(m)
    }

    /// Add a reference: `decl` carries SIZE/CHECKSUM (the `file` or `mdRef`), `loc` the href.
    fn push(&mut self, kind: RefKind, decl: &Element, loc: &Element, id: Option<&str>) {
        let href = loc.attr(XLINK_NS, "href").map(str::to_string);
        let path = match &href {
            Some(h) => resolve_href(&self.base, h),
            None => Err(PathError::Empty),
        };
        let get = |n: &str| decl.a(n).map(str::to_string);
        self.refs.push(Ref {
            kind,
            id: id.map(str::to_string),
            href,
            path,
            size: get("SIZE"),
            checksum: get("CHECKSUM"),
            checksum_type: get("CHECKSUMTYPE"),
            mime: get("MIMETYPE"),
            other_mdtype: get("OTHERMDTYPE"),
            line: loc.line,
        });
    }

    /// The references of one kind.
    pub fn refs_of(&self, kind: RefKind) -> impl Iterator<Item = &Ref> {
        self.refs.iter().filter(move |r| r.kind == kind)
    }
}

/// Only `mets/@OBJID`, reading no further than the root element (for package identifiers).
pub fn objid(bytes: &[u8]) -> Option<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(bytes);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                return e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.local_name().as_ref() == "OBJID")
                    .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok())
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty());
            }
            Ok(Event::Eof) | Err(_) | Ok(Event::DocType(_)) => return None,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const METS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<mets:mets xmlns:mets="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink" OBJID="sip-1">
  <mets:dmdSec ID="dmd1">
    <mets:mdRef LOCTYPE="URL" xlink:type="simple" xlink:href="metadata/descriptive/dc.xml" MDTYPE="DC"
       SIZE="10" CHECKSUMTYPE="SHA-256" CHECKSUM="E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"/>
  </mets:dmdSec>
  <mets:fileSec>
    <mets:fileGrp USE="Data">
      <mets:file ID="f1" SIZE="3" CHECKSUMTYPE="MD5" CHECKSUM="900150983cd24fb0d6963f7d28e17f72">
        <mets:FLocat LOCTYPE="URL" xlink:type="simple" xlink:href="data/%E6%A1%A3%20a.txt"/>
      </mets:file>
      <mets:fileGrp USE="Nested">
        <mets:file ID="f2" SIZE="x"><mets:FLocat xlink:href="../../../etc/passwd"/></mets:file>
        <mets:file ID="f3"/>
      </mets:fileGrp>
    </mets:fileGrp>
  </mets:fileSec>
  <mets:structMap TYPE="PHYSICAL"><mets:div><mets:mptr xlink:href="../r2/METS.xml"/></mets:div></mets:structMap>
</mets:mets>
"#;

    #[test]
    fn the_model_with_resolved_paths_and_lines() {
        let m = Mets::parse(
            METS.as_bytes(),
            "representations/r1/METS.xml",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(m.objid.as_deref(), Some("sip-1"));
        assert_eq!(m.base, "representations/r1");
        let dmd: Vec<&Ref> = m.refs_of(RefKind::Dmd).collect();
        assert_eq!(
            dmd[0].path.as_deref().unwrap(),
            "representations/r1/metadata/descriptive/dc.xml"
        );
        assert_eq!(dmd[0].line, 4);
        let files: Vec<&Ref> = m.refs_of(RefKind::File).collect();
        assert_eq!(files.len(), 2);
        assert_eq!(
            files[0].path.as_deref().unwrap(),
            "representations/r1/data/档 a.txt"
        );
        assert_eq!(files[0].size(), Some(Ok(3)));
        assert_eq!(files[0].line, 10);
        assert_eq!(files[1].path, Err(PathError::Climbs));
        assert_eq!(files[1].size(), Some(Err("x".into())));
        assert_eq!(m.unlocated.len(), 1);
        let mptr: Vec<&Ref> = m.refs_of(RefKind::Mptr).collect();
        assert_eq!(
            mptr[0].path.as_deref().unwrap(),
            "representations/r2/METS.xml"
        );
        assert_eq!(objid(METS.as_bytes()).as_deref(), Some("sip-1"));
    }

    #[test]
    fn refused_documents_say_why_and_where() {
        let e = Mets::parse(
            b"<mets OBJID='x'>\n<fileSec>\n</mets>",
            "METS.xml",
            &Limits::default(),
        )
        .unwrap_err();
        assert!(
            matches!(e, MetsError::Xml { line: 3, .. }),
            "{e}: {}",
            e.zh()
        );
        let e = Mets::parse(b"<foo/>", "METS.xml", &Limits::default()).unwrap_err();
        assert!(matches!(e, MetsError::NotMets { .. }), "{e}");
    }
}
