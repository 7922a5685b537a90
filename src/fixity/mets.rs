//! What a METS document declares about its files: `CHECKSUM`, `CHECKSUMTYPE` and `SIZE` of every
//! `mets:file` (located by its `mets:FLocat`) and every `mets:mdRef`.
//!
//! E-ARK CSIP: the package METS lists metadata, documentation and schemas; each representation has
//! its own METS listing its data. `xlink:href` values are relative URLs (RFC 3986), resolved against
//! the folder of the METS file that holds them and percent-decoded.

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

use super::digest::Algorithm;
use super::path::decode_href;
use crate::model::{Finding, Level};

/// One file a METS document declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// Path relative to the package root (already resolved against the METS file's folder).
    pub path: String,
    /// The algorithm, when dangan supports the `CHECKSUMTYPE`.
    pub algorithm: Option<Algorithm>,
    /// Lower-case hex, when a supported checksum is given.
    pub checksum: Option<String>,
    pub size: Option<u64>,
    /// Line of the element in the METS file.
    pub line: usize,
}

/// The declarations of one METS file, and what was wrong with it.
#[derive(Debug, Clone, Default)]
pub struct MetsFiles {
    /// `mets/@OBJID` (CSIP1).
    pub objid: Option<String>,
    pub files: Vec<Declared>,
    pub findings: Vec<Finding>,
}

#[derive(Default, Clone)]
struct FileAttrs {
    checksum: Option<String>,
    checksum_type: Option<String>,
    size: Option<String>,
    href: Option<String>,
    line: usize,
}

fn attrs(e: &BytesStart<'_>, line: usize) -> Result<FileAttrs, String> {
    let mut a = FileAttrs {
        line,
        ..FileAttrs::default()
    };
    for attr in e.attributes() {
        let attr = attr.map_err(|err| err.to_string())?;
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| err.to_string())?
            .into_owned();
        match attr.key.local_name().as_ref() {
            "CHECKSUM" => a.checksum = Some(value),
            "CHECKSUMTYPE" => a.checksum_type = Some(value),
            "SIZE" => a.size = Some(value),
            "href" => a.href = Some(value),
            _ => {}
        }
    }
    Ok(a)
}

/// Join `rel` (already percent-decoded) onto the folder `base` ("" for the package root), refusing
/// anything that would leave the package: absolute paths, drive letters, `~`, too many `..`.
pub fn resolve(base: &str, rel: &str) -> Result<String, String> {
    if rel.starts_with('/') || rel.starts_with('\\') || rel.starts_with('~') || rel.contains('\0') {
        return Err(format!("'{rel}' is not a relative path inside the package"));
    }
    let b = rel.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err(format!("'{rel}' starts with a drive letter"));
    }
    if rel.contains('\\') {
        return Err(format!("'{rel}' contains a backslash"));
    }
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for p in rel.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!("'{rel}' leaves the package"));
                }
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err(format!("'{rel}' names the package root"));
    }
    Ok(parts.join("/"))
}

/// Read the declarations of a METS document. `file` is its path in the package (for findings),
/// `base` its folder (hrefs are relative to it).
pub fn parse(bytes: &[u8], file: &str, base: &str) -> MetsFiles {
    let mut out = MetsFiles::default();
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut stack: Vec<FileAttrs> = Vec::new();
    let mut line = 1usize;
    let mut counted = 0usize;
    let mut seen_root = false;
    let finding = |level: Level, line: usize, message: String| Finding {
        property: None,
        rule: "METS fileSec".into(),
        level,
        path: Some(file.to_string()),
        message: format!("line {line}: {message}"),
        message_en: String::new(),
    };
    loop {
        let before = reader.buffer_position() as usize;
        // Line where this event begins.
        let start = before.min(bytes.len());
        line += bytes[counted..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        counted = start;
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                let pos = (reader.error_position() as usize).min(bytes.len());
                let err_line = line + bytes[counted..pos].iter().filter(|b| **b == b'\n').count();
                out.findings.push(finding(
                    Level::Error,
                    err_line,
                    format!("not well-formed XML: {e}"),
                ));
                break;
            }
        };
        // Text (even whitespace) is its own event, so a tag's event starts at its '<'.
        let tag_line = line;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let local = e.local_name();
                let name = local.as_ref();
                if !seen_root {
                    seen_root = true;
                    if name != "mets" {
                        out.findings.push(finding(
                            Level::Error,
                            tag_line,
                            "the root element is not mets:mets".into(),
                        ));
                    }
                    for attr in e.attributes().flatten() {
                        if attr.key.local_name().as_ref() == "OBJID"
                            && let Ok(v) = attr.normalized_value(XmlVersion::Implicit1_0)
                        {
                            out.objid = Some(v.trim().to_string());
                        }
                    }
                    continue;
                }
                match name {
                    "file" => match attrs(e, tag_line) {
                        Ok(a) if !empty => stack.push(a),
                        Ok(a) => out.findings.push(finding(
                            Level::Error,
                            a.line,
                            "mets:file has no mets:FLocat".into(),
                        )),
                        Err(m) => out.findings.push(finding(Level::Error, tag_line, m)),
                    },
                    "FLocat" => {
                        let Some(parent) = stack.last() else {
                            continue;
                        };
                        match attrs(e, tag_line) {
                            Ok(loc) => {
                                let mut a = parent.clone();
                                a.href = loc.href;
                                a.line = tag_line;
                                declare(&mut out, a, base, &finding);
                            }
                            Err(m) => out.findings.push(finding(Level::Error, tag_line, m)),
                        }
                    }
                    "mdRef" => match attrs(e, tag_line) {
                        Ok(a) => declare(&mut out, a, base, &finding),
                        Err(m) => out.findings.push(finding(Level::Error, tag_line, m)),
                    },
                    _ => {}
                }
            }
            Event::End(ref e) if e.local_name().as_ref() == "file" => {
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        out.findings
            .push(finding(Level::Error, 1, "no mets:mets element".into()));
    }
    out
}

fn declare(
    out: &mut MetsFiles,
    a: FileAttrs,
    base: &str,
    finding: &dyn Fn(Level, usize, String) -> Finding,
) {
    let Some(href) = a.href else {
        out.findings
            .push(finding(Level::Error, a.line, "no xlink:href".into()));
        return;
    };
    let path = match decode_href(&href).and_then(|p| resolve(base, &p)) {
        Ok(p) => p,
        Err(m) => {
            out.findings
                .push(finding(Level::Error, a.line, format!("href refused: {m}")));
            return;
        }
    };
    let size = match a.size.as_deref().map(str::trim) {
        None => None,
        Some(s) => match s.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                out.findings.push(finding(
                    Level::Error,
                    a.line,
                    format!("SIZE '{s}' of {path} is not a number"),
                ));
                None
            }
        },
    };
    let (algorithm, checksum) = match (a.checksum_type.as_deref(), a.checksum.as_deref()) {
        (None, None) => (None, None),
        (Some(t), Some(c)) => {
            match Algorithm::from_name(t) {
                Some(alg) => {
                    let c = c.trim().to_ascii_lowercase();
                    if c.len() == alg.hex_len() && c.bytes().all(|b| b.is_ascii_hexdigit()) {
                        (Some(alg), Some(c))
                    } else {
                        out.findings.push(finding(
                            Level::Error,
                            a.line,
                            format!(
                                "CHECKSUM of {path} is not a {t} value ({} hexadecimal digits)",
                                alg.hex_len()
                            ),
                        ));
                        (None, None)
                    }
                }
                None => {
                    out.findings.push(finding(
                    Level::Warning,
                    a.line,
                    format!("CHECKSUMTYPE '{t}' of {path} is not supported; only its size is checked"),
                ));
                    (None, None)
                }
            }
        }
        (None, Some(_)) => {
            out.findings.push(finding(
                Level::Error,
                a.line,
                format!("{path} has a CHECKSUM but no CHECKSUMTYPE"),
            ));
            (None, None)
        }
        (Some(_), None) => {
            out.findings.push(finding(
                Level::Error,
                a.line,
                format!("{path} has a CHECKSUMTYPE but no CHECKSUM"),
            ));
            (None, None)
        }
    };
    out.files.push(Declared {
        path,
        algorithm,
        checksum,
        size,
        line: a.line,
    });
}

/// Only `mets/@OBJID`, reading no further than the root element.
pub fn objid(bytes: &[u8]) -> Option<String> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                return e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.local_name().as_ref() == "OBJID")
                    .and_then(|a| a.normalized_value(XmlVersion::Implicit1_0).ok())
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty());
            }
            Ok(Event::Eof) | Err(_) => return None,
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
      <mets:file ID="f2" SIZE="x" CHECKSUMTYPE="CRC32" CHECKSUM="abc">
        <mets:FLocat xlink:href="../../../etc/passwd"/>
      </mets:file>
      <mets:file ID="f3" CHECKSUMTYPE="Adler-32" CHECKSUM="1">
        <mets:FLocat xlink:href="data/b.txt"/>
      </mets:file>
    </mets:fileGrp>
  </mets:fileSec>
</mets:mets>
"#;

    #[test]
    fn declarations_with_lines() {
        let m = parse(
            METS.as_bytes(),
            "representations/r1/METS.xml",
            "representations/r1",
        );
        assert_eq!(m.objid.as_deref(), Some("sip-1"));
        assert_eq!(m.files.len(), 3, "{:?}", m.files);
        assert_eq!(
            m.files[0].path,
            "representations/r1/metadata/descriptive/dc.xml"
        );
        assert_eq!(m.files[0].line, 4);
        assert_eq!(m.files[0].algorithm, Some(Algorithm::Sha256));
        assert_eq!(m.files[1].path, "representations/r1/data/档 a.txt");
        assert_eq!(m.files[1].size, Some(3));
        assert_eq!(m.files[1].line, 10);
        assert_eq!(m.files[2].path, "representations/r1/data/b.txt");
        assert_eq!(m.files[2].algorithm, None);
        let msgs: Vec<&str> = m.findings.iter().map(|f| f.message.as_str()).collect();
        assert!(
            msgs.iter().any(|m| m.starts_with("line 13: href refused")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("line 16: CHECKSUMTYPE 'Adler-32'")),
            "{msgs:?}"
        );
    }

    #[test]
    fn malformed_xml_is_a_finding_with_a_line() {
        let m = parse(b"<mets OBJID='x'>\n<fileSec>\n</mets>", "METS.xml", "");
        assert_eq!(m.findings.len(), 1, "{:?}", m.findings);
        assert!(m.findings[0].message.contains("not well-formed"));
        assert_eq!(objid(METS.as_bytes()).as_deref(), Some("sip-1"));
    }

    #[test]
    fn resolve_against_base() {
        assert_eq!(
            resolve("representations/r1", "data/a").unwrap(),
            "representations/r1/data/a"
        );
        assert_eq!(
            resolve("representations/r1", "../../METS.xml").unwrap(),
            "METS.xml"
        );
        assert!(resolve("", "../x").is_err());
        assert!(resolve("", "/x").is_err());
        assert!(resolve("", "C:/x").is_err());
    }
}
