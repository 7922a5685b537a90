//! Containers whose members decide the format: ZIP (OFD, OOXML) and CFB (DOC, XLS, PPT).
//!
//! Only directories are read: the ZIP central directory (APPNOTE.TXT §4.3.12) and the CFB directory
//! ([MS-CFB] §2.6), both bounded.

use std::io::{self, Read, Seek, SeekFrom};

use super::Match;
use super::sniff::{u16le, u32le};

/// ZIP archives with more entries than this are identified as plain ZIP without looking further.
pub const MAX_ZIP_ENTRIES: usize = 200_000;
/// At most this many CFB directory sectors are read.
const MAX_CFB_DIR_SECTORS: usize = 4096;

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

/// Decide what a Compound File Binary holds by its directory entry names: `WordDocument` (DOC),
/// `Workbook`/`Book` (XLS), `PowerPoint Document` (PPT).
pub fn cfb<R: Read + Seek>(p: &[u8], reader: &mut R, len: u64) -> io::Result<Match> {
    let names = cfb_names(p, reader, len).unwrap_or_default();
    let has = |n: &str| names.iter().any(|x| x == n);
    let (key, what) = if has("WordDocument") {
        ("doc", "stream 'WordDocument'")
    } else if has("Workbook") || has("Book") {
        ("xls", "stream 'Workbook'")
    } else if has("PowerPoint Document") {
        ("ppt", "stream 'PowerPoint Document'")
    } else {
        ("cfb", "no known application stream")
    };
    let mut m = Match::new(key, format!("CFB signature D0CF11E0A1B11AE1; {what}"));
    if names.is_empty() {
        m.warnings.push("CFB directory unreadable".into());
    }
    Ok(m)
}

/// Directory entry names of a CFB file, following the directory sector chain through the FAT.
fn cfb_names<R: Read + Seek>(p: &[u8], reader: &mut R, len: u64) -> Option<Vec<String>> {
    // [MS-CFB] §2.2: sector shift at 0x1E (9 or 12), first directory sector at 0x30,
    // the first 109 FAT sector numbers (DIFAT) at 0x4C.
    let shift = u16le(p, 0x1E)?;
    if shift != 9 && shift != 12 {
        return None;
    }
    let ssize = 1u64 << shift;
    let mut sector = u32le(p, 0x30)?;
    let difat: Vec<u32> = (0..109).filter_map(|i| u32le(p, 0x4C + i * 4)).collect();
    let read_sector = |reader: &mut R, s: u32| -> Option<Vec<u8>> {
        let off = (s as u64 + 1) * ssize;
        if off + ssize > len {
            return None;
        }
        reader.seek(SeekFrom::Start(off)).ok()?;
        let mut buf = vec![0u8; ssize as usize];
        reader.read_exact(&mut buf).ok()?;
        Some(buf)
    };
    let per_fat = (ssize / 4) as u32;
    let mut names = Vec::new();
    let mut seen = 0;
    // 0xFFFFFFFE = ENDOFCHAIN; any value ≥ 0xFFFFFFFA is special.
    while sector < 0xFFFF_FFFA && seen < MAX_CFB_DIR_SECTORS {
        seen += 1;
        let dir = read_sector(reader, sector)?;
        for entry in dir.chunks_exact(128) {
            let name_len = u16le(entry, 0x40)? as usize;
            if !(2..=64).contains(&name_len) {
                continue;
            }
            let units: Vec<u16> = entry[..name_len - 2]
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            names.push(String::from_utf16_lossy(&units));
        }
        // Next directory sector: FAT[sector], with the FAT sector found through the DIFAT.
        let fat_sector = *difat.get((sector / per_fat) as usize)?;
        let fat = read_sector(reader, fat_sector)?;
        sector = u32le(&fat, ((sector % per_fat) * 4) as usize)?;
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A minimal CFB ([MS-CFB] §2.2): header, one FAT sector (0), one directory sector (1).
    fn cfb_with(stream: &str) -> Vec<u8> {
        let mut f = vec![0u8; 512 * 3];
        f[..8].copy_from_slice(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
        f[0x1E..0x20].copy_from_slice(&9u16.to_le_bytes()); // 512-byte sectors
        f[0x30..0x34].copy_from_slice(&1u32.to_le_bytes()); // first directory sector
        f[0x4C..0x50].copy_from_slice(&0u32.to_le_bytes()); // DIFAT[0]: FAT in sector 0
        for i in 1..109 {
            f[0x4C + i * 4..0x50 + i * 4].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
        }
        let fat = 512;
        f[fat..fat + 4].copy_from_slice(&0xFFFF_FFFDu32.to_le_bytes()); // FATSECT
        f[fat + 4..fat + 8].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes()); // ENDOFCHAIN
        for (i, name) in ["Root Entry", stream].iter().enumerate() {
            let e = 1024 + i * 128;
            let units: Vec<u16> = name.encode_utf16().collect();
            for (j, u) in units.iter().enumerate() {
                f[e + j * 2..e + j * 2 + 2].copy_from_slice(&u.to_le_bytes());
            }
            f[e + 0x40..e + 0x42].copy_from_slice(&(((units.len() + 1) * 2) as u16).to_le_bytes());
        }
        f
    }

    #[test]
    fn cfb_streams_name_the_application() {
        for (stream, key) in [
            ("WordDocument", "doc"),
            ("Workbook", "xls"),
            ("PowerPoint Document", "ppt"),
            ("Other", "cfb"),
        ] {
            let f = cfb_with(stream);
            let m = cfb(&f, &mut Cursor::new(&f), f.len() as u64).unwrap();
            assert_eq!(m.key, key, "{stream}");
        }
        // A damaged directory pointer still identifies as CFB, with a warning.
        let mut f = cfb_with("WordDocument");
        f[0x30..0x34].copy_from_slice(&999u32.to_le_bytes());
        let m = cfb(&f, &mut Cursor::new(&f), f.len() as u64).unwrap();
        assert_eq!(m.key, "cfb");
        assert!(!m.warnings.is_empty());
    }
}
