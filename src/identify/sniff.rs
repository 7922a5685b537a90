//! Signature rules: magic numbers and the few structural checks that tell versions apart.
//!
//! Each rule cites the specification (or the PRONOM signature) it follows. Rules are tried in order of
//! specificity: binary magic first, then containers (ZIP, CFB, RIFF, ISO BMFF, EBML), then text sniffing.

use std::io::{self, Read, Seek};

use super::{Match, container, text};

/// Every registry key the rules can produce; the registry must define them all.
pub const ALL_KEYS: &[&str] = &[
    "tiff",
    "bigtiff",
    "jpeg-raw",
    "jfif-1.00",
    "jfif-1.01",
    "jfif-1.02",
    "exif-2.0",
    "exif-2.1",
    "exif-2.2",
    "exif-2.2.1",
    "exif-2.3",
    "png-1.0",
    "png-1.1",
    "png-1.2",
    "gif-87a",
    "gif-89a",
    "bmp-2.0",
    "bmp-3.0",
    "bmp-4.0",
    "bmp-5.0",
    "jp2",
    "jpx",
    "mj2",
    "jpm",
    "j2c",
    "heic",
    "heif",
    "avif",
    "pdf",
    "pdf-1.0",
    "pdf-1.1",
    "pdf-1.2",
    "pdf-1.3",
    "pdf-1.4",
    "pdf-1.5",
    "pdf-1.6",
    "pdf-1.7",
    "pdf-2.0",
    "pdfa-1a",
    "pdfa-1b",
    "pdfa-2a",
    "pdfa-2b",
    "pdfa-2u",
    "pdfa-3a",
    "pdfa-3b",
    "pdfa-3u",
    "ofd",
    "wav",
    "wav-pcm",
    "wav-ex",
    "wav-extensible",
    "bwf-0",
    "bwf-1",
    "bwf-2",
    "mp3",
    "flac",
    "aac-adts",
    "m4a",
    "mp4-audio",
    "mp4",
    "mov",
    "mkv",
    "webm",
    "avi",
    "eml-mime",
    "eml-rfc822",
    "mbox",
    "docx",
    "xlsx",
    "pptx",
    "doc",
    "xls",
    "ppt",
    "cfb",
    "wps",
    "et",
    "dps",
    "wps-2000",
    "wps-2001",
    "rtf-0",
    "rtf-1.0-1.4",
    "rtf-1.5-1.6",
    "rtf-1.7",
    "rtf-1.8",
    "rtf-1.9",
    "text",
    "xml-1.0",
    "xml-1.1",
    "html",
    "html-5",
    "zip",
    "odt-1.3",
    "ods-1.3",
    "odp-1.3",
    "warc-1.0",
    "warc-1.1",
    "warc",
    "unknown",
    "empty",
];

/// How much of a PDF's tail is searched for the PDF/A claim when it is not in the prefix.
pub const PDF_TAIL_LEN: u64 = 1024 * 1024;

pub(crate) fn u16le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
pub(crate) fn u32le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
pub(crate) fn u16be(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
pub(crate) fn u32be(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Position of `needle` in `hay`.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Decide what `prefix` (the first bytes of a file of length `len`) is. `reader` may be used to read
/// bounded further parts (ZIP/CFB directories, PDF tail).
pub fn sniff<R: Read + Seek>(prefix: &[u8], len: u64, reader: &mut R) -> io::Result<Match> {
    if len == 0 || prefix.is_empty() {
        return Ok(Match::new("empty", "zero-length file"));
    }
    let p = prefix;
    // TIFF 6.0 §2 (byte order + 42); BigTIFF uses 43 (the BigTIFF design note, AWare Systems).
    if p.starts_with(b"II*\0") || p.starts_with(b"MM\0*") {
        return Ok(Match::new(
            "tiff",
            "TIFF header (byte order, 42) at offset 0",
        ));
    }
    if p.starts_with(b"II+\0") || p.starts_with(b"MM\0+") {
        return Ok(Match::new(
            "bigtiff",
            "BigTIFF header (byte order, 43) at offset 0",
        ));
    }
    if p.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(jpeg(p));
    }
    if p.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(png(p));
    }
    if p.starts_with(b"GIF87a") {
        return Ok(Match::new("gif-87a", "signature 'GIF87a' at offset 0"));
    }
    if p.starts_with(b"GIF89a") {
        return Ok(Match::new("gif-89a", "signature 'GIF89a' at offset 0"));
    }
    if let Some(m) = bmp(p) {
        return Ok(m);
    }
    // ISO/IEC 15444-1 Annex I: the JPEG 2000 signature box, then a File Type box with brand jp2/jpx.
    if p.starts_with(&[
        0, 0, 0, 0x0C, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A,
    ]) {
        // The brand tells the part of ISO/IEC 15444: jp2 (part 1), jpx (part 2), mjp2 (part 3, Motion JPEG
        // 2000), jpm (part 6, compound images).
        let brand = p.get(20..24).unwrap_or_default();
        let key = match brand {
            b"jpx " => "jpx",
            b"mjp2" => "mj2",
            b"jpm " => "jpm",
            _ => "jp2",
        };
        return Ok(Match::new(
            key,
            format!(
                "JPEG 2000 signature box, ftyp brand '{}'",
                String::from_utf8_lossy(brand)
            ),
        ));
    }
    // ISO/IEC 15444-1 Annex A.2: a raw JPEG 2000 codestream starts with SOC (FF4F) and SIZ (FF51).
    if p.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) {
        return Ok(Match::new(
            "j2c",
            "JPEG 2000 codestream: SOC and SIZ markers at offset 0",
        ));
    }
    // ISO 32000-1 §7.5.2: the header; Acrobat accepts it within the first 1024 bytes (Implementation note 13).
    if let Some(at) = find(&p[..p.len().min(1024)], b"%PDF-") {
        return pdf(p, at, len, reader);
    }
    if p.starts_with(b"fLaC") {
        return Ok(Match::new("flac", "signature 'fLaC' at offset 0"));
    }
    if p.starts_with(b"RIFF") && p.len() >= 12 {
        match &p[8..12] {
            b"WAVE" => return Ok(wave(p)),
            b"AVI " => return Ok(Match::new("avi", "RIFF form type 'AVI '")),
            _ => {}
        }
    }
    if p.get(4..8) == Some(b"ftyp") {
        return Ok(isobmff(p));
    }
    // QuickTime files written before ftyp existed begin with a moov/mdat/wide/free/skip atom.
    if let Some(t) = p.get(4..8)
        && matches!(t, b"moov" | b"mdat" | b"wide" | b"pnot")
        && u32be(p, 0).is_some_and(|s| s >= 8)
    {
        return Ok(Match::new(
            "mov",
            format!(
                "QuickTime atom '{}' at offset 4",
                String::from_utf8_lossy(t)
            ),
        ));
    }
    // EBML header (RFC 8794 §8); DocType (0x4282) says matroska or webm (RFC 9559 §4.1).
    if p.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Ok(ebml(p));
    }
    if p.starts_with(b"ID3") {
        return Ok(Match::new("mp3", "ID3v2 tag at offset 0"));
    }
    if let Some(m) = mpeg_audio(p) {
        return Ok(m);
    }
    if p.starts_with(b"PK\x03\x04") || p.starts_with(b"PK\x05\x06") {
        return container::zip(reader, len);
    }
    if p.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return container::cfb(p, reader, len);
    }
    // ISO 28500 §4: a WARC file is a sequence of records, each starting with "WARC/<version>" CRLF.
    if p.starts_with(b"WARC/") {
        let version = p[5..p.len().min(16)]
            .split(|&b| b == b'\r' || b == b'\n')
            .next()
            .unwrap_or_default();
        let key = match version {
            b"1.0" => "warc-1.0",
            b"1.1" => "warc-1.1",
            _ => "warc",
        };
        let mut m = Match::new(
            key,
            format!("record header 'WARC/{}'", String::from_utf8_lossy(version)),
        );
        if key == "warc" {
            m.version = Some(String::from_utf8_lossy(version).into_owned());
        }
        return Ok(m);
    }
    // Kingsoft WPS 2000 and WPS Office 2001 documents, written before WPS moved to the Word binary structure:
    // the headers Wikidata records for them (Q105856642: 82 FF 'WPS2000' AE ' for Windows…'; Q105856524:
    // 90 FF 'WPS2001' AE ' for Windows Kingsoft…'). PRONOM has neither.
    if p.starts_with(b"\x82\xFFWPS2000\xAE") {
        return Ok(Match::new(
            "wps-2000",
            "header 82 FF 'WPS2000' AE at offset 0",
        ));
    }
    if p.starts_with(b"\x90\xFFWPS2001\xAE") {
        return Ok(Match::new(
            "wps-2001",
            "header 90 FF 'WPS2001' AE at offset 0",
        ));
    }
    if p.starts_with(b"{\\rtf") {
        return Ok(rtf(p));
    }
    Ok(text::sniff_text(p, len))
}

/// JPEG: the first marker segment decides, as in the PRONOM signatures (JFIF: APP0 'JFIF' with its version;
/// EXIF: APP1 'Exif' first, version from the ExifVersion tag 0x9000; else a raw JPEG stream).
fn jpeg(p: &[u8]) -> Match {
    let marker = p.get(3).copied().unwrap_or(0);
    let seg = p.get(6..).unwrap_or_default();
    if marker == 0xE0 && seg.starts_with(b"JFIF\0") {
        let (major, minor) = (seg.get(5).copied(), seg.get(6).copied());
        let key = match (major, minor) {
            (Some(1), Some(0)) => "jfif-1.00",
            (Some(1), Some(1)) => "jfif-1.01",
            (Some(1), Some(2)) => "jfif-1.02",
            _ => "jpeg-raw",
        };
        let mut m = Match::new(
            key,
            format!(
                "SOI, APP0 'JFIF' version {}.{:02}",
                major.unwrap_or(0),
                minor.unwrap_or(0)
            ),
        );
        if key == "jpeg-raw" {
            m.warnings
                .push("JFIF version not 1.00–1.02; identified as a raw JPEG stream".into());
        }
        if find(&p[..p.len().min(65_600)], b"Exif\0\0").is_some() {
            m.basis.push_str("; an Exif APP1 segment follows");
        }
        return m;
    }
    if marker == 0xE1 && seg.starts_with(b"Exif\0\0") {
        let seg_len = u16be(p, 4).unwrap_or(0) as usize;
        let app1 = &p[..p.len().min(4 + seg_len)];
        // Tag 0x9000, type UNDEFINED (7), count 4, value inline: little- or big-endian IFD entry.
        let version = find(app1, &[0x00, 0x90, 0x07, 0x00])
            .or_else(|| find(app1, &[0x90, 0x00, 0x00, 0x07]))
            .and_then(|at| app1.get(at + 8..at + 12));
        let (key, v) = match version {
            Some(b"0200") => ("exif-2.0", "0200"),
            Some(b"0210") => ("exif-2.1", "0210"),
            Some(b"0220") => ("exif-2.2", "0220"),
            Some(b"0221") => ("exif-2.2.1", "0221"),
            Some(v) if v.starts_with(b"023") => ("exif-2.3", "023x"),
            _ => ("jpeg-raw", "none"),
        };
        let mut m = Match::new(key, format!("SOI, APP1 'Exif', ExifVersion {v}"));
        if key == "jpeg-raw" {
            m.basis = "SOI, APP1 'Exif' without a known ExifVersion".into();
        }
        return m;
    }
    Match::new("jpeg-raw", "SOI marker FFD8FF at offset 0")
}

/// PNG versions by the chunks they introduced, as the PRONOM signatures do: iTXt (1.2), iCCP/sPLT/sRGB (1.1).
fn png(p: &[u8]) -> Match {
    let mut at = 8;
    let mut seen_11 = None;
    let mut seen_12 = false;
    while let (Some(len), Some(kind)) = (u32be(p, at), p.get(at + 4..at + 8)) {
        match kind {
            b"iTXt" => seen_12 = true,
            b"iCCP" | b"sPLT" | b"sRGB" => {
                seen_11 = Some(String::from_utf8_lossy(kind).into_owned())
            }
            b"IEND" => break,
            _ => {}
        }
        at = at.saturating_add(12).saturating_add(len as usize);
    }
    if seen_12 {
        Match::new("png-1.2", "PNG signature; iTXt chunk (PNG 1.2)")
    } else if let Some(c) = seen_11 {
        Match::new("png-1.1", format!("PNG signature; {c} chunk (PNG 1.1)"))
    } else {
        Match::new("png-1.0", "PNG signature and IHDR")
    }
}

/// BMP: 'BM', then the DIB header size names the version (Microsoft BITMAPCOREHEADER 12, BITMAPINFOHEADER 40,
/// BITMAPV4HEADER 108, BITMAPV5HEADER 124).
fn bmp(p: &[u8]) -> Option<Match> {
    if !p.starts_with(b"BM") {
        return None;
    }
    let key = match u32le(p, 14)? {
        12 => "bmp-2.0",
        40 | 52 | 56 => "bmp-3.0",
        108 => "bmp-4.0",
        124 => "bmp-5.0",
        _ => return None,
    };
    Some(Match::new(
        key,
        format!("'BM' and a {}-byte DIB header", u32le(p, 14)?),
    ))
}

fn pdf<R: Read + Seek>(p: &[u8], at: usize, len: u64, reader: &mut R) -> io::Result<Match> {
    let head = &p[at + 5..p.len().min(at + 16)];
    let version: String = head
        .iter()
        .take_while(|b| b.is_ascii_digit() || **b == b'.')
        .map(|&b| b as char)
        .collect();
    let key = match version.as_str() {
        "1.0" => "pdf-1.0",
        "1.1" => "pdf-1.1",
        "1.2" => "pdf-1.2",
        "1.3" => "pdf-1.3",
        "1.4" => "pdf-1.4",
        "1.5" => "pdf-1.5",
        "1.6" => "pdf-1.6",
        "1.7" => "pdf-1.7",
        "2.0" => "pdf-2.0",
        _ => "pdf",
    };
    let mut basis = format!("header '%PDF-{version}' at offset {at}");
    // PDF/A (ISO 19005-1 §6.7.11, -2/-3 §6.6.4): the claim is pdfaid:part and pdfaid:conformance in the
    // document's XMP, which must not be compressed (ISO 19005-1 §6.7.2), so a byte search finds it.
    let mut claim = pdfa_claim(p);
    if claim.is_none() && len > p.len() as u64 {
        let start = len.saturating_sub(PDF_TAIL_LEN).max(p.len() as u64);
        reader.seek(io::SeekFrom::Start(start))?;
        let mut tail = Vec::new();
        reader.take(PDF_TAIL_LEN).read_to_end(&mut tail)?;
        claim = pdfa_claim(&tail);
    }
    let mut m = Match::new(key, String::new());
    if let Some((part, conf)) = claim {
        let pkey = pdfa_key(&part, &conf);
        basis.push_str(&format!(
            "; XMP pdfaid:part={part} pdfaid:conformance={}",
            conf.to_uppercase()
        ));
        if let Some(k) = pkey {
            m.key = k;
        } else {
            m.warnings.push(format!(
                "PDF/A-{part}{} claim has no PUID in the table; identified by PDF version",
                conf.to_lowercase()
            ));
        }
    }
    if key == "pdf" {
        m.version = Some(version);
    }
    m.basis = basis;
    Ok(m)
}

/// The registry key of a PDF/A part and conformance.
pub fn pdfa_key(part: &str, conformance: &str) -> Option<&'static str> {
    Some(match (part, conformance.to_ascii_lowercase().as_str()) {
        ("1", "a") => "pdfa-1a",
        ("1", "b") => "pdfa-1b",
        ("2", "a") => "pdfa-2a",
        ("2", "b") => "pdfa-2b",
        ("2", "u") => "pdfa-2u",
        ("3", "a") => "pdfa-3a",
        ("3", "b") => "pdfa-3b",
        ("3", "u") => "pdfa-3u",
        _ => return None,
    })
}

/// Find `pdfaid:part` and `pdfaid:conformance` in XMP bytes, in element or attribute form.
pub fn pdfa_claim(xmp: &[u8]) -> Option<(String, String)> {
    let part = xmp_value(xmp, b"pdfaid:part")?;
    let conf = xmp_value(xmp, b"pdfaid:conformance").unwrap_or_default();
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((part, conf))
}

fn xmp_value(xmp: &[u8], name: &[u8]) -> Option<String> {
    let mut from = 0;
    while let Some(rel) = find(&xmp[from..], name) {
        let at = from + rel + name.len();
        from = at;
        let rest = &xmp[at..xmp.len().min(at + 64)];
        // Element form: <pdfaid:part>2</pdfaid:part>; attribute form: pdfaid:part="2".
        let value = if let Some(r) = rest.strip_prefix(b">") {
            r.split(|&b| b == b'<').next()
        } else {
            let r = rest
                .trim_ascii_start()
                .strip_prefix(b"=")?
                .trim_ascii_start();
            let q = *r.first()?;
            if q == b'"' || q == b'\'' {
                r[1..].split(|&b| b == q).next()
            } else {
                None
            }
        };
        if let Some(v) = value {
            return Some(String::from_utf8_lossy(v.trim_ascii()).into_owned());
        }
    }
    None
}

/// WAVE: walk the RIFF chunks in the prefix. A `bext` chunk makes it Broadcast WAVE (EBU Tech 3285), its
/// version field (offset 346 of the chunk data) the BWF version; otherwise the `fmt ` chunk's size and
/// format tag decide between PCMWAVEFORMAT, WAVEFORMATEX and WAVEFORMATEXTENSIBLE as PRONOM does.
fn wave(p: &[u8]) -> Match {
    let mut at = 12;
    let mut fmt: Option<(u32, u16)> = None;
    let mut bext: Option<Option<u16>> = None;
    while let (Some(id), Some(size)) = (p.get(at..at + 4), u32le(p, at + 4)) {
        let data = at + 8;
        match id {
            b"fmt " => fmt = Some((size, u16le(p, data).unwrap_or(0))),
            b"bext" => bext = Some(u16le(p, data + 346)),
            b"data" => break,
            _ => {}
        }
        at = data.saturating_add(size as usize + (size as usize & 1));
    }
    if let Some(version) = bext {
        let key = match version {
            Some(0) => "bwf-0",
            Some(1) => "bwf-1",
            Some(2) => "bwf-2",
            _ => "bwf-0",
        };
        let mut m = Match::new(
            key,
            format!(
                "RIFF WAVE with a 'bext' chunk, BWF version {}",
                version.map_or("unknown".into(), |v| v.to_string())
            ),
        );
        if version.is_none_or(|v| v > 2) {
            m.warnings
                .push("BWF version unreadable or unknown; taken as version 0".into());
        }
        return m;
    }
    match fmt {
        Some((_, 0xFFFE)) => Match::new(
            "wav-extensible",
            "RIFF WAVE, 'fmt ' format tag 0xFFFE (WAVE_FORMAT_EXTENSIBLE)",
        ),
        Some((16, tag)) => Match::new(
            "wav-pcm",
            format!("RIFF WAVE, 16-byte 'fmt ' chunk (PCMWAVEFORMAT), format tag {tag:#06x}"),
        ),
        Some((size, tag)) => Match::new(
            "wav-ex",
            format!("RIFF WAVE, {size}-byte 'fmt ' chunk (WAVEFORMATEX), format tag {tag:#06x}"),
        ),
        None => Match::new("wav", "RIFF form type 'WAVE'"),
    }
}

/// ISO BMFF (ISO/IEC 14496-12 §4.3): the major brand of the File Type box.
fn isobmff(p: &[u8]) -> Match {
    let brand = p.get(8..12).unwrap_or_default();
    let b = String::from_utf8_lossy(brand).into_owned();
    let size = u32be(p, 0).unwrap_or(0) as usize;
    let compatible: Vec<&[u8]> = p
        .get(16..size.min(p.len()).max(16))
        .unwrap_or_default()
        .chunks_exact(4)
        .collect();
    let key = match brand {
        b"qt  " => "mov",
        // PRONOM fmt/2094 (M4A Audio) is 'ftypM4A '; audio books and protected audio stay MPEG-4 (fmt/199).
        b"M4A " => "m4a",
        b"M4B " | b"M4P " => "mp4-audio",
        b"jp2 " => "jp2",
        // The one place that knows HEIF brands (the handlers follow the family named here). ISO/IEC 23008-12
        // Annex B: heic/heix (HEVC), heim/heis/hevm/hevs (multi-layer, scalable), hevc/hevx (HEVC sequences);
        // mif1/mif2 and msf1 the generic image and sequence structure; AVIF 1.1 §6: avif/avio, avis.
        b"heic" | b"heix" | b"heim" | b"heis" | b"hevm" | b"hevs" | b"hevc" | b"hevx" => "heic",
        b"mif1" | b"mif2" | b"msf1" => "heif",
        b"avif" | b"avio" | b"avis" => "avif",
        _ if compatible.contains(&&b"qt  "[..]) && !compatible.contains(&&b"isom"[..]) => "mov",
        _ => "mp4",
    };
    Match::new(key, format!("ISO BMFF 'ftyp' box, major brand '{b}'"))
}

/// EBML DocType: look for element 0x4282 in the EBML header.
fn ebml(p: &[u8]) -> Match {
    let head = &p[..p.len().min(64)];
    if let Some(at) = find(head, &[0x42, 0x82]) {
        // The size is an EBML variable-length integer; DocTypes are short so one byte (0x8n) is usual.
        let size_byte = head.get(at + 2).copied().unwrap_or(0);
        if size_byte & 0x80 != 0 {
            let n = (size_byte & 0x7F) as usize;
            let doctype = head.get(at + 3..at + 3 + n).unwrap_or_default();
            if doctype == b"webm" {
                return Match::new("webm", "EBML header, DocType 'webm'");
            }
            if doctype == b"matroska" {
                return Match::new("mkv", "EBML header, DocType 'matroska'");
            }
        }
    }
    let mut m = Match::new("mkv", "EBML header (DocType not read)");
    m.warnings
        .push("EBML DocType missing or unknown; assumed Matroska".into());
    m
}

/// MPEG audio frame sync (ISO/IEC 11172-3 §2.4.2.3): 11 set bits. Layer III is MP3; layer bits 00 with the
/// ADTS sync (ISO/IEC 13818-7 §6.2) is AAC. Two consecutive valid frames are required for MP3, so random
/// bytes starting 0xFFEx are not taken for audio.
fn mpeg_audio(p: &[u8]) -> Option<Match> {
    let h = u32be(p, 0)?;
    if h >> 20 == 0xFFF && (h >> 17) & 0b11 == 0 {
        // ADTS: syncword 0xFFF, layer 00; frame length in bits 30..43 of the header.
        let frame_len = ((u32be(p, 3)? >> 13) & 0x1FFF) as usize;
        if frame_len >= 7 && (p.len() < frame_len + 2 || u16be(p, frame_len)? >> 4 == 0xFFF) {
            return Some(Match::new("aac-adts", "ADTS sync word 0xFFF, layer 0"));
        }
        return None;
    }
    let len = mp3_frame_len(h)?;
    if p.len() >= len + 4 && mp3_frame_len(u32be(p, len)?).is_none() {
        return None;
    }
    Some(Match::new(
        "mp3",
        "MPEG audio layer III frame sync at offset 0",
    ))
}

/// Length in bytes of an MPEG-1/2/2.5 layer III frame with header `h`, or None if `h` is not one.
fn mp3_frame_len(h: u32) -> Option<usize> {
    if h >> 21 != 0x7FF {
        return None;
    }
    let version = (h >> 19) & 3; // 0: 2.5, 2: 2, 3: 1
    let layer = (h >> 17) & 3; // 1: layer III
    let bitrate_idx = ((h >> 12) & 0xF) as usize;
    let rate_idx = ((h >> 10) & 3) as usize;
    let padding = ((h >> 9) & 1) as usize;
    if version == 1 || layer != 1 || bitrate_idx == 0 || bitrate_idx == 15 || rate_idx == 3 {
        return None;
    }
    const V1: [usize; 15] = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    const V2: [usize; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    let rates = match version {
        3 => [44100, 48000, 32000],
        2 => [22050, 24000, 16000],
        _ => [11025, 12000, 8000],
    };
    let (kbps, coef) = if version == 3 {
        (V1[bitrate_idx], 144)
    } else {
        (V2[bitrate_idx], 72)
    };
    Some(coef * kbps * 1000 / rates[rate_idx] + padding)
}

/// RTF versions by the control words the PRONOM signatures look for (fmt/45, 50, 52, 53, 355, 969).
fn rtf(p: &[u8]) -> Match {
    let head = &p[..p.len().min(4096)];
    if head.starts_with(b"{\\rtf0") {
        return Match::new("rtf-0", "'{\\rtf0' at offset 0");
    }
    let has = |w: &[u8]| find(p, w).is_some();
    let key = if !has(b"\\ansicpg") {
        "rtf-1.0-1.4"
    } else if !(has(b"\\stshfdbch")
        && has(b"\\stshfloch")
        && has(b"\\stshfhich")
        && has(b"\\stshfbi"))
    {
        "rtf-1.5-1.6"
    } else if has(b"\\*\\colorschememapping")
        || has(b"\\afelev")
        || has(b"\\*\\datastore")
        || has(b"\\*\\defchp")
    {
        "rtf-1.9"
    } else if has(b"\\lsdstimax") {
        "rtf-1.8"
    } else {
        "rtf-1.7"
    };
    Match::new(
        key,
        "'{\\rtf' at offset 0 and the control words of its version",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn s(bytes: &[u8]) -> Match {
        sniff(bytes, bytes.len() as u64, &mut Cursor::new(bytes)).unwrap()
    }

    #[test]
    fn magic_numbers() {
        assert_eq!(s(b"II*\0\x08\0\0\0").key, "tiff");
        assert_eq!(s(b"MM\0+\0\x08\0\0").key, "bigtiff");
        assert_eq!(s(b"GIF89a\x01\0\x01\0").key, "gif-89a");
        assert_eq!(s(b"fLaC\0\0\0\x22").key, "flac");
        assert_eq!(s(b"WARC/1.0\r\nWARC-Type: warcinfo\r\n").key, "warc-1.0");
        assert_eq!(s(b"{\\rtf1\\ansi\\ansicpg936 hello}").key, "rtf-1.5-1.6");
        assert_eq!(s(b"").key, "empty");
    }

    /// An ISO BMFF 'ftyp' box with the given major brand and compatible brands.
    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let size = 16 + 4 * compatible.len();
        let mut b = (size as u32).to_be_bytes().to_vec();
        b.extend(b"ftyp");
        b.extend(major);
        b.extend([0, 0, 0, 0]);
        for c in compatible {
            b.extend(*c);
        }
        b.extend(b"\0\0\0\x08free");
        b
    }

    #[test]
    fn isobmff_brands() {
        assert_eq!(s(&ftyp(b"heic", &[b"mif1", b"heic"])).key, "heic");
        assert_eq!(s(&ftyp(b"mif1", &[b"mif1"])).key, "heif");
        assert_eq!(s(&ftyp(b"avif", &[b"mif1", b"avif"])).key, "avif");
        assert_eq!(s(&ftyp(b"isom", &[b"isom", b"mp41"])).key, "mp4");
        assert_eq!(s(&ftyp(b"qt  ", &[b"qt  "])).key, "mov");
    }

    #[test]
    fn jpeg2000_parts_by_brand() {
        let jp = |brand: &[u8; 4]| {
            let mut b = vec![
                0, 0, 0, 0x0C, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A,
            ];
            b.extend([0, 0, 0, 0x14]);
            b.extend(b"ftyp");
            b.extend(brand);
            b.extend([0, 0, 0, 0]);
            b.extend(brand);
            b
        };
        assert_eq!(s(&jp(b"jp2 ")).key, "jp2");
        assert_eq!(s(&jp(b"jpx ")).key, "jpx");
        assert_eq!(s(&jp(b"mjp2")).key, "mj2");
        assert_eq!(s(&jp(b"jpm ")).key, "jpm");
        assert_eq!(s(&[0xFF, 0x4F, 0xFF, 0x51, 0, 0x2F]).key, "j2c");
    }

    #[test]
    fn pdfa_claims() {
        let xmp = br#"<rdf:Description pdfaid:part="2" pdfaid:conformance="B"/>"#;
        assert_eq!(pdfa_claim(xmp), Some(("2".into(), "B".into())));
        let xmp = b"<pdfaid:part>1</pdfaid:part><pdfaid:conformance>A</pdfaid:conformance>";
        assert_eq!(pdfa_claim(xmp), Some(("1".into(), "A".into())));
        let pdf = b"%PDF-1.7\n<x pdfaid:part='3' pdfaid:conformance='U'/>";
        assert_eq!(s(pdf).key, "pdfa-3u");
    }

    #[test]
    fn random_ffe_bytes_are_not_mp3() {
        let mut b = vec![0xFF, 0xFB, 0x90, 0x00];
        b.extend(std::iter::repeat_n(0x11, 2000));
        assert_ne!(s(&b).key, "mp3");
    }
}
