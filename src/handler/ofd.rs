//! OFD (GB/T 33190-2016): the DocInfo of `OFD.xml` and the page count of the first document.
//!
//! §7.3 (package structure: `OFD.xml` at the root, `DocBody/DocRoot` naming the document), §7.4 (DocInfo:
//! DocID, Title, Author, Subject, Abstract, CreationDate, ModDate, Creator, CreatorVersion, Keywords,
//! CustomDatas), §7.5 (Document.xml: `Pages/Page`). Members are read through the ZIP central directory with
//! entry-count and decompressed-size limits.

use std::collections::BTreeMap;
use std::io::Read;

use quick_xml::Reader;
use quick_xml::events::Event;
use serde::Serialize;

use super::{Characterization, Handler, HandlerError, Limits, Source};
use crate::identify::{Family, Identified};

pub struct Ofd;

const F: &str = "OFD";

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OfdInfo {
    /// `Version` attribute of the root `ofd:OFD` element.
    pub version: Option<String>,
    pub doc_type: Option<String>,
    pub documents: u64,
    pub pages: Option<u64>,
    pub doc_id: Option<String>,
    pub title: Option<String>,
    pub author: Option<String>,
    pub subject: Option<String>,
    #[serde(rename = "abstract")]
    pub abstract_: Option<String>,
    pub creation_date: Option<String>,
    pub mod_date: Option<String>,
    pub creator: Option<String>,
    pub creator_version: Option<String>,
    pub keywords: Vec<String>,
    pub custom_data: BTreeMap<String, String>,
}

impl Handler for Ofd {
    fn name(&self) -> &'static str {
        "ofd"
    }
    fn summary(&self) -> &'static str {
        "OFD: DocInfo fields of OFD.xml and the page count"
    }
    fn families(&self) -> &'static [Family] {
        &[Family::Ofd]
    }
    fn characterize(
        &self,
        src: &mut Source,
        _id: &Identified,
        limits: &Limits,
    ) -> Result<Characterization, HandlerError> {
        Ok(Characterization {
            ofd: Some(read(src, limits)?),
            ..Default::default()
        })
    }
}

/// Open a ZIP with the entry-count limit applied.
pub fn open_zip<'a>(
    src: &'a mut Source,
    format: &'static str,
    limits: &Limits,
) -> Result<zip::ZipArchive<&'a mut Source>, HandlerError> {
    let archive =
        zip::ZipArchive::new(src).map_err(|e| HandlerError::malformed(format, e.to_string()))?;
    limits.check("ZIP entries", archive.len() as u64, limits.max_zip_entries)?;
    Ok(archive)
}

/// Read one member as UTF-8 text, refusing more than `limits.max_decompressed` bytes once inflated.
pub fn read_member<R: std::io::Read + std::io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    name: &str,
    format: &'static str,
    limits: &Limits,
) -> Result<String, HandlerError> {
    let entry = archive
        .by_name(name)
        .map_err(|e| HandlerError::malformed(format, format!("{name}: {e}")))?;
    let declared = entry.size();
    limits.check("decompressed ZIP member", declared, limits.max_decompressed)?;
    let mut buf = Vec::new();
    // The declared size may lie (a zip bomb): cap what is actually inflated too.
    entry
        .take(limits.max_decompressed + 1)
        .read_to_end(&mut buf)
        .map_err(|e| HandlerError::malformed(format, format!("{name}: {e}")))?;
    limits.check(
        "decompressed ZIP member",
        buf.len() as u64,
        limits.max_decompressed,
    )?;
    let text = buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&buf);
    String::from_utf8(text.to_vec())
        .map_err(|_| HandlerError::malformed(format, format!("{name} is not UTF-8")))
}

/// Resolve the predefined entities and character references (XML 1.0 §4.6, §4.1).
fn entity(name: &str) -> String {
    match name {
        "amp" => "&".into(),
        "lt" => "<".into(),
        "gt" => ">".into(),
        "quot" => "\"".into(),
        "apos" => "'".into(),
        _ => {
            let code =
                if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()
                } else {
                    name.strip_prefix('#').and_then(|d| d.parse().ok())
                };
            code.and_then(char::from_u32)
                .map(String::from)
                .unwrap_or_default()
        }
    }
}

/// Walk an XML document, calling `on` with (element path of local names, attributes, text) for each
/// element's text, and `on_start` for each start tag. Depth is bounded.
fn walk(
    xml: &str,
    limits: &Limits,
    mut on_start: impl FnMut(&[String], &[(String, String)]),
    mut on_text: impl FnMut(&[String], &[(String, String)], &str),
) -> Result<(), HandlerError> {
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut attrs_stack: Vec<Vec<(String, String)>> = Vec::new();
    let mut text = String::new();
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| HandlerError::malformed(F, format!("XML: {e}")))?;
        let is_empty = matches!(ev, Event::Empty(_));
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.local_name().as_ref().to_owned();
                let attrs: Vec<(String, String)> = e
                    .attributes()
                    .flatten()
                    .map(|a| (a.key.local_name().as_ref().to_owned(), a.value.to_string()))
                    .collect();
                path.push(name);
                if path.len() as u32 > limits.max_depth {
                    return Err(HandlerError::LimitExceeded {
                        what: "XML nesting depth",
                        value: path.len() as u64,
                        limit: limits.max_depth as u64,
                    });
                }
                on_start(&path, &attrs);
                if is_empty {
                    on_text(&path, &attrs, "");
                    path.pop();
                } else {
                    attrs_stack.push(attrs);
                    text.clear();
                }
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::CData(t) => text.push_str(&t.into_inner()),
            Event::GeneralRef(r) => text.push_str(&entity(&r.into_inner())),
            Event::End(_) => {
                let attrs = attrs_stack.pop().unwrap_or_default();
                on_text(&path, &attrs, text.trim());
                text.clear();
                path.pop();
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

pub fn read(src: &mut Source, limits: &Limits) -> Result<OfdInfo, HandlerError> {
    let mut archive = open_zip(src, F, limits)?;
    let name = archive
        .file_names()
        .filter_map(Result::ok)
        .find(|n| n.eq_ignore_ascii_case("OFD.xml"))
        .map(|n| n.into_owned())
        .ok_or_else(|| HandlerError::malformed(F, "no OFD.xml at the package root"))?;
    let xml = read_member(&mut archive, &name, F, limits)?;
    let mut info = OfdInfo::default();
    let mut doc_roots = Vec::new();
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    walk(
        &xml,
        limits,
        |path, attrs| {
            if path.len() == 1 && path[0] == "OFD" {
                for (k, v) in attrs {
                    match k.as_str() {
                        "Version" => info.version = Some(v.clone()),
                        "DocType" => info.doc_type = Some(v.clone()),
                        _ => {}
                    }
                }
            }
        },
        |path, attrs, text| {
            let n = path.len();
            if n >= 2 && path[n - 1] == "DocRoot" {
                doc_roots.push(text.to_owned());
            }
            if n < 3
                || path[n - 2] != "DocInfo"
                    && path[n - 2] != "Keywords"
                    && path[n - 2] != "CustomDatas"
            {
                return;
            }
            // Only the first document's DocInfo (a multi-document OFD is unusual; OFD-A allows one).
            if doc_roots.len() > 1 {
                return;
            }
            match (path[n - 2].as_str(), path[n - 1].as_str()) {
                ("DocInfo", "DocID") => info.doc_id = some(text),
                ("DocInfo", "Title") => info.title = some(text),
                ("DocInfo", "Author") => info.author = some(text),
                ("DocInfo", "Subject") => info.subject = some(text),
                ("DocInfo", "Abstract") => info.abstract_ = some(text),
                ("DocInfo", "CreationDate") => info.creation_date = some(text),
                ("DocInfo", "ModDate") => info.mod_date = some(text),
                ("DocInfo", "Creator") => info.creator = some(text),
                ("DocInfo", "CreatorVersion") => info.creator_version = some(text),
                ("Keywords", "Keyword") if !text.is_empty() => info.keywords.push(text.to_owned()),
                ("CustomDatas", "CustomData") => {
                    if let Some((_, k)) = attrs.iter().find(|(k, _)| k == "Name") {
                        info.custom_data.insert(k.clone(), text.to_owned());
                    }
                }
                _ => {}
            }
        },
    )?;
    info.documents = doc_roots.len() as u64;
    if let Some(root) = doc_roots.first() {
        // DocRoot is a path inside the package, possibly with a leading '/' (§7.3, ST_Loc).
        let member = root.trim_start_matches('/').to_owned();
        let exists = archive
            .file_names()
            .filter_map(Result::ok)
            .any(|n| n == member);
        if exists {
            let doc = read_member(&mut archive, &member, F, limits)?;
            let mut pages = 0u64;
            walk(
                &doc,
                limits,
                |path, _| {
                    let n = path.len();
                    if n >= 2 && path[n - 1] == "Page" && path[n - 2] == "Pages" {
                        pages += 1;
                    }
                },
                |_, _, _| {},
            )?;
            info.pages = Some(pages);
        }
    }
    Ok(info)
}
