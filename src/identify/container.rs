//! Containers whose members decide the format: ZIP (OFD, OOXML) and CFB (DOC, XLS, PPT).
//!
//! Only directories are read: the ZIP central directory (APPNOTE.TXT §4.3.12) and the CFB directory
//! ([MS-CFB] §2.6), both bounded.

use std::io::{self, Read, Seek, SeekFrom};

use super::Match;
use super::pronom::container::clean_name;

/// ZIP archives with more entries than this are identified as plain ZIP without looking further.
pub const MAX_ZIP_ENTRIES: usize = 200_000;

/// Decide what a ZIP file holds: OFD (GB/T 33190-2016 §7.3: `OFD.xml` at the root of the package),
/// OOXML (ECMA-376 Part 2: `[Content_Types].xml` plus the main part's folder), or plain ZIP.
pub fn zip<R: Read + Seek>(reader: &mut R, _len: u64) -> io::Result<Match> {
    reader.seek(SeekFrom::Start(0))?;
    let mut archive = match zip::ZipArchive::new(&mut *reader) {
        Ok(a) => a,
        Err(e) => {
            let mut m = Match::new("zip", "local file header 'PK\\x03\\x04' at offset 0");
            m.warnings
                .push(format!("ZIP central directory unreadable: {e}"));
            return Ok(m);
        }
    };
    if archive.len() > MAX_ZIP_ENTRIES {
        let mut m = Match::new("zip", "ZIP signature");
        m.warnings.push(format!(
            "{} entries (limit {MAX_ZIP_ENTRIES}): members not examined",
            archive.len()
        ));
        return Ok(m);
    }
    let names: Vec<String> = archive
        .file_names()
        .filter_map(Result::ok)
        .map(|n| n.into_owned())
        .collect();
    let has = |n: &str| names.iter().any(|x| x.eq_ignore_ascii_case(n));
    let under = |d: &str| names.iter().any(|x| x.starts_with(d));
    if has("OFD.xml") {
        return Ok(Match::new(
            "ofd",
            "ZIP holding OFD.xml at its root (GB/T 33190-2016)",
        ));
    }
    if let Some(m) = odf_1_3(&mut archive) {
        return Ok(m);
    }
    if has("[Content_Types].xml") {
        for (dir, key) in [("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")] {
            if under(dir) {
                return Ok(Match::new(
                    key,
                    format!("ZIP holding [Content_Types].xml and {dir} (OOXML)"),
                ));
            }
        }
    }
    Ok(Match::new(
        "zip",
        format!("ZIP central directory with {} entries", names.len()),
    ))
}

/// How much of an ODF package's `content.xml` is read for its root element's `office:version`.
const ODF_HEAD: u64 = 64 * 1024;

/// ODF 1.3 (OASIS OpenDocument 1.3, Part 2 §3.3 the `mimetype` file; Part 3 §19.386 `office:version` on the
/// root element of `content.xml` is "1.3"): text, spreadsheet or presentation. PRONOM added these formats after
/// v109 (fmt/1754–1756); the registry names them with those PUIDs (see profiles/formats.toml).
fn odf_1_3<R: Read + Seek>(archive: &mut zip::ZipArchive<R>) -> Option<Match> {
    let read = |archive: &mut zip::ZipArchive<R>, name: &str, cap: u64| -> Option<Vec<u8>> {
        let entry = archive.by_name(name).ok()?;
        let mut buf = Vec::new();
        entry.take(cap).read_to_end(&mut buf).ok()?;
        Some(buf)
    };
    let mimetype = read(archive, "mimetype", 256)?;
    let key = match mimetype.trim_ascii() {
        b"application/vnd.oasis.opendocument.text" => "odt-1.3",
        b"application/vnd.oasis.opendocument.spreadsheet" => "ods-1.3",
        b"application/vnd.oasis.opendocument.presentation" => "odp-1.3",
        _ => return None,
    };
    let content = read(archive, "content.xml", ODF_HEAD)?;
    // The attribute sits on the root element, before its first child: the first '>' after the root's name.
    let root = super::sniff::find(&content, b"<office:document-content")?;
    let end = root + content[root..].iter().position(|&b| b == b'>')?;
    let tag = &content[root..end];
    let version = [&b"office:version=\"1.3\""[..], &b"office:version='1.3'"[..]]
        .iter()
        .any(|v| super::sniff::find(tag, v).is_some());
    version.then(|| {
        Match::new(
            key,
            format!(
                "ZIP with mimetype '{}' and office:version=\"1.3\" on content.xml's root (ODF 1.3)",
                String::from_utf8_lossy(mimetype.trim_ascii())
            ),
        )
    })
}

/// Decide what a Compound File Binary holds by the streams of its root storage: `WordDocument` (DOC),
/// `Workbook`/`Book` (XLS), `PowerPoint Document` (PPT). Only the root storage counts ([MS-CFB] §2.6: an
/// embedded object is a storage of its own; a PowerPoint 4 file holding an embedded Word document is not Word).
///
/// Kingsoft WPS Office writes its own formats — WPS Writer (.wps), ET (.et), WPS Presentation (.dps) — in the
/// same binary structures as Word, Excel and PowerPoint, and marks what it writes: a root stream
/// `WpsCustomData`, and the user-defined property `KSOProductBuildVer` (e.g. "2052-11.1.0.10132") in
/// `\x05DocumentSummaryInformation` ([MS-OLEPS] §2.21, the property set dictionary). A file with such a mark
/// fits both the Microsoft and the Kingsoft format; the extension decides ([`super::tie_break`]).
pub fn cfb<R: Read + Seek>(_p: &[u8], reader: &mut R, _len: u64) -> io::Result<Match> {
    let (root, problem) = match cfb_root(reader) {
        Ok(r) => (r, None),
        Err(e) => (CfbRoot::default(), Some(e)),
    };
    let has = |n: &str| root.names.iter().any(|x| x == n);
    let (key, what, kingsoft) = if has("WordDocument") {
        ("doc", "root stream 'WordDocument'", "wps")
    } else if has("Workbook") || has("Book") {
        ("xls", "root stream 'Workbook'", "et")
    } else if has("PowerPoint Document") {
        ("ppt", "root stream 'PowerPoint Document'", "dps")
    } else {
        ("cfb", "no known application stream in the root storage", "")
    };
    let mut m = Match::new(key, format!("CFB signature D0CF11E0A1B11AE1; {what}"));
    if !kingsoft.is_empty() {
        let mark = if has("WpsCustomData") {
            Some("root stream 'WpsCustomData'")
        } else if root.kso_build {
            Some("property 'KSOProductBuildVer' in DocumentSummaryInformation")
        } else {
            None
        };
        if let Some(mark) = mark {
            m.basis
                .push_str(&format!("; written by Kingsoft WPS Office ({mark})"));
            m.alternatives.push(kingsoft);
        }
    }
    if let Some(e) = problem {
        m.warnings.push(e);
    }
    Ok(m)
}

/// How much of `\x05DocumentSummaryInformation` is searched for Kingsoft's property name.
const DSI_HEAD: u64 = 16 * 1024;

#[derive(Default)]
struct CfbRoot {
    /// Names of the root storage's entries, without leading control characters.
    names: Vec<String>,
    /// `KSOProductBuildVer` (ANSI or UTF-16LE) in the document summary property set.
    kso_build: bool,
}

fn cfb_root<R: Read + Seek>(reader: &mut R) -> Result<CfbRoot, String> {
    reader.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let mut cf =
        cfb::CompoundFile::open(reader).map_err(|e| format!("CFB directory unreadable: {e}"))?;
    let entries: Vec<(String, String)> = cf
        .read_root_storage()
        .map(|e| (clean_name(e.name()).to_owned(), e.name().to_owned()))
        .collect();
    let mut kso_build = false;
    if let Some((_, real)) = entries
        .iter()
        .find(|(n, _)| n == "DocumentSummaryInformation")
        && let Ok(stream) = cf.open_stream(format!("/{real}"))
    {
        let mut buf = Vec::new();
        if stream.take(DSI_HEAD).read_to_end(&mut buf).is_ok() {
            let utf16: Vec<u8> = "KSOProductBuildVer"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect();
            kso_build = super::sniff::find(&buf, b"KSOProductBuildVer").is_some()
                || super::sniff::find(&buf, &utf16).is_some();
        }
    }
    Ok(CfbRoot {
        names: entries.into_iter().map(|(n, _)| n).collect(),
        kso_build,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    /// A CFB made by the `cfb` crate with the given streams (paths from the root).
    fn cfb_with(streams: &[&str]) -> Vec<u8> {
        let mut c = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        for s in streams {
            if let Some((dir, _)) = s.rsplit_once('/') {
                c.create_storage_all(format!("/{dir}")).unwrap();
            }
            let mut st = c.create_stream(format!("/{s}")).unwrap();
            st.write_all(b"data").unwrap();
        }
        c.flush().unwrap();
        c.into_inner().into_inner()
    }

    #[test]
    fn cfb_root_streams_name_the_application() {
        for (streams, key) in [
            (&["WordDocument"][..], "doc"),
            (&["Workbook"][..], "xls"),
            (&["PowerPoint Document"][..], "ppt"),
            (&["Other"][..], "cfb"),
            // An embedded Word document inside a PowerPoint file does not make it Word.
            (
                &["PowerPoint Document", "ObjectPool/_1/WordDocument"][..],
                "ppt",
            ),
            (&["Other", "ObjectPool/_1/WordDocument"][..], "cfb"),
        ] {
            let f = cfb_with(streams);
            let m = cfb(&f, &mut Cursor::new(&f), f.len() as u64).unwrap();
            assert_eq!(m.key, key, "{streams:?}");
        }
        // Kingsoft's marks make WPS/ET/DPS an alternative the extension decides; without them there is none.
        for (streams, key, alt) in [
            (&["WordDocument", "WpsCustomData"][..], "doc", "wps"),
            (&["Workbook", "WpsCustomData"][..], "xls", "et"),
            (&["PowerPoint Document", "WpsCustomData"][..], "ppt", "dps"),
        ] {
            let f = cfb_with(streams);
            let m = cfb(&f, &mut Cursor::new(&f), f.len() as u64).unwrap();
            assert_eq!(
                (m.key, m.alternatives.as_slice()),
                (key, &[alt][..]),
                "{streams:?}"
            );
            assert!(m.basis.contains("WpsCustomData"), "{}", m.basis);
        }
        let f = cfb_with(&["WordDocument", "ObjectPool/_1/WpsCustomData"]);
        let m = cfb(&f, &mut Cursor::new(&f), f.len() as u64).unwrap();
        assert!(m.alternatives.is_empty(), "only the root storage counts");
        // The property name in the document summary information, as WPS writes it (UTF-16LE dictionary).
        let mut c = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        c.create_stream("/WordDocument")
            .unwrap()
            .write_all(b"data")
            .unwrap();
        let mut dsi = vec![0u8; 200];
        let name: Vec<u8> = "KSOProductBuildVer"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        dsi[120..120 + name.len()].copy_from_slice(&name);
        c.create_stream("/\u{5}DocumentSummaryInformation")
            .unwrap()
            .write_all(&dsi)
            .unwrap();
        c.flush().unwrap();
        let f = c.into_inner().into_inner();
        let m = cfb(&f, &mut Cursor::new(&f), f.len() as u64).unwrap();
        assert_eq!(m.alternatives, ["wps"], "{}", m.basis);
        // A damaged directory still identifies as CFB, with a warning.
        let mut f = cfb_with(&["WordDocument"]);
        f[0x30..0x34].copy_from_slice(&999u32.to_le_bytes());
        let m = cfb(&f, &mut Cursor::new(&f), f.len() as u64).unwrap();
        assert_eq!(m.key, "cfb");
        assert!(!m.warnings.is_empty());
    }
}
