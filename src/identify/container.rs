//! Containers whose members decide the format: ZIP (OFD, OOXML) and CFB (DOC, XLS, PPT).
//!
//! Only directories are read: the ZIP central directory (APPNOTE.TXT §4.3.12) and the CFB directory
//! ([MS-CFB] §2.6), both bounded.

use std::io::{self, Read, Seek, SeekFrom};

use super::Match;
use super::pronom::container::ole2_root_names;

/// ZIP archives with more entries than this are identified as plain ZIP without looking further.
pub const MAX_ZIP_ENTRIES: usize = 200_000;

/// Decide what a ZIP file holds: OFD (GB/T 33190-2016 §7.3: `OFD.xml` at the root of the package),
/// OOXML (ECMA-376 Part 2: `[Content_Types].xml` plus the main part's folder), or plain ZIP.
pub fn zip<R: Read + Seek>(reader: &mut R, _len: u64) -> io::Result<Match> {
    reader.seek(SeekFrom::Start(0))?;
    let archive = match zip::ZipArchive::new(&mut *reader) {
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

/// Decide what a Compound File Binary holds by the streams of its root storage: `WordDocument` (DOC),
/// `Workbook`/`Book` (XLS), `PowerPoint Document` (PPT). Only the root storage counts ([MS-CFB] §2.6: an
/// embedded object is a storage of its own; a PowerPoint 4 file holding an embedded Word document is not Word).
pub fn cfb<R: Read + Seek>(_p: &[u8], reader: &mut R, _len: u64) -> io::Result<Match> {
    let (names, problem) = match ole2_root_names(reader) {
        Ok(n) => (n, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let has = |n: &str| names.iter().any(|x| x == n);
    let (key, what) = if has("WordDocument") {
        ("doc", "root stream 'WordDocument'")
    } else if has("Workbook") || has("Book") {
        ("xls", "root stream 'Workbook'")
    } else if has("PowerPoint Document") {
        ("ppt", "root stream 'PowerPoint Document'")
    } else {
        ("cfb", "no known application stream in the root storage")
    };
    let mut m = Match::new(key, format!("CFB signature D0CF11E0A1B11AE1; {what}"));
    if let Some(e) = problem {
        m.warnings.push(e);
    }
    Ok(m)
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
        // A damaged directory still identifies as CFB, with a warning.
        let mut f = cfb_with(&["WordDocument"]);
        f[0x30..0x34].copy_from_slice(&999u32.to_le_bytes());
        let m = cfb(&f, &mut Cursor::new(&f), f.len() as u64).unwrap();
        assert_eq!(m.key, "cfb");
        assert!(!m.warnings.is_empty());
    }
}
