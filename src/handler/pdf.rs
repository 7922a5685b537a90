//! PDF: version, page count, encryption, PDF/A claim, producer, dates, and whether pages carry text.
//!
//! Parsed with lopdf (which reads the whole file; bounded by `Limits::max_in_memory`). ISO 32000-1 §14.3.3
//! (document information dictionary), §7.9.2 (text strings), §7.9.4 (dates); ISO 19005 for the PDF/A claim
//! in the catalog's /Metadata XMP stream.

use std::collections::{BTreeMap, HashSet};

use lopdf::xref::XrefEntry;
use lopdf::{Document, Object};
use serde::Serialize;

use super::{Characterization, Handler, HandlerError, Limits, Source};
use crate::identify::{Family, Identified, sniff};

pub struct Pdf;

const F: &str = "PDF";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PdfaClaim {
    pub part: String,
    pub conformance: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PdfInfo {
    /// Version from the header (`%PDF-1.7`), or the catalog's /Version when that is later (§7.2.2).
    pub version: String,
    /// Pages in the page tree of the final revision (the trailer of the last incremental update).
    pub pages: u64,
    pub encrypted: bool,
    /// Encrypted, and opened with the empty user password (ISO 32000-1 §7.6.3.3, Algorithm 6): the
    /// strings below are decrypted. An encrypted PDF that cannot be opened so reports no strings at all.
    pub decrypted: bool,
    /// The algorithm when opened (`RC4`, `AES-128`, `AES-256`), else the /Encrypt dictionary's
    /// /Filter, /V and /R.
    pub encryption: Option<String>,
    /// The cross-reference table was unusable and the object table was rebuilt by scanning the file for
    /// `N G obj` (what PDF readers such as poppler do).
    pub xref_reconstructed: bool,
    /// The PDF/A part and conformance claimed in the XMP metadata (a claim, not a validation).
    pub pdfa: Option<PdfaClaim>,
    pub title: Option<String>,
    pub author: Option<String>,
    pub producer: Option<String>,
    pub creator: Option<String>,
    /// ISO 8601 where the PDF date parses, else as written.
    pub creation_date: Option<String>,
    pub mod_date: Option<String>,
    /// Pages whose content draws text with a font (BT…ET and a /Font resource); OCR'd scans count.
    pub pages_with_text: u64,
    /// How many pages were examined for text (at most `Limits::max_pages`).
    pub pages_examined: u64,
    pub has_text: bool,
}

impl Handler for Pdf {
    fn name(&self) -> &'static str {
        "pdf"
    }
    fn summary(&self) -> &'static str {
        "PDF: version, pages, encryption, PDF/A claim, producer, dates, text on pages"
    }
    fn families(&self) -> &'static [Family] {
        &[Family::Pdf]
    }
    fn characterize(
        &self,
        src: &mut Source,
        _id: &Identified,
        limits: &Limits,
    ) -> Result<Characterization, HandlerError> {
        let bytes = src.read_all(limits)?;
        let (pdf, warnings) = read_with_warnings(&bytes, limits)?;
        Ok(Characterization {
            pdf: Some(pdf),
            warnings,
            ..Default::default()
        })
    }
}

/// Decode a PDF text string: UTF-16BE with BOM, UTF-8 with BOM (PDF 2.0), else PDFDocEncoding (taken as
/// Latin-1, which it equals for the printable range).
pub fn text_string(b: &[u8]) -> String {
    if let Some(rest) = b.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = b.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    b.iter().map(|&c| c as char).collect()
}

/// A PDF date `D:YYYYMMDDHHmmSSOHH'mm'` (§7.9.4) as ISO 8601; unparseable dates are returned as written.
pub fn pdf_date(s: &str) -> String {
    let d = s.strip_prefix("D:").unwrap_or(s);
    let digits: String = d.chars().take_while(char::is_ascii_digit).collect();
    if digits.len() < 4 {
        return s.to_owned();
    }
    let part =
        |from: usize, default: &str| digits.get(from..from + 2).unwrap_or(default).to_owned();
    let mut out = format!(
        "{}-{}-{}T{}:{}:{}",
        &digits[..4],
        part(4, "01"),
        part(6, "01"),
        part(8, "00"),
        part(10, "00"),
        part(12, "00")
    );
    let rest = &d[digits.len()..];
    match rest.chars().next() {
        Some('Z') => out.push('Z'),
        Some(sign @ ('+' | '-')) => {
            let tz: String = rest[1..].chars().filter(char::is_ascii_digit).collect();
            if tz.len() >= 2 {
                let mm = tz.get(2..4).unwrap_or("00");
                out.push_str(&format!("{sign}{}:{mm}", &tz[..2]));
            }
        }
        _ => {}
    }
    out
}

fn info_string(doc: &Document, info: Option<&lopdf::Dictionary>, key: &[u8]) -> Option<String> {
    let obj = info?.get_deref(key, doc).ok()?;
    let s = text_string(obj.as_str().ok()?);
    let s = s.trim_matches(char::from(0)).trim().to_owned();
    (!s.is_empty()).then_some(s)
}

/// Whether a loaded document can be characterized: its trailer leads to a catalog with a page tree.
fn usable(doc: &Document) -> bool {
    doc.catalog()
        .and_then(|c| c.get_deref(b"Pages", doc))
        .and_then(Object::as_dict)
        .is_ok()
}

/// `bytes[i]` is a PDF white-space or delimiter (ISO 32000-1 §7.2.2), or lies outside the slice.
fn boundary(bytes: &[u8], i: usize) -> bool {
    bytes.get(i).is_none_or(|b| {
        matches!(
            b,
            b'\0'
                | b'\t'
                | b'\n'
                | b'\x0C'
                | b'\r'
                | b' '
                | b'('
                | b')'
                | b'<'
                | b'>'
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'/'
                | b'%'
        )
    })
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The object header `N G obj` ending just before `kw` (the index of `obj`): (number, generation, start).
fn object_header(b: &[u8], kw: usize) -> Option<(u32, u16, usize)> {
    let mut i = kw;
    let skip_ws = |i: &mut usize| {
        while *i > 0 && matches!(b[*i - 1], b' ' | b'\t' | b'\r' | b'\n' | b'\x0C' | b'\0') {
            *i -= 1;
        }
    };
    let digits = |i: &mut usize| {
        let end = *i;
        while *i > 0 && b[*i - 1].is_ascii_digit() && end - *i < 10 {
            *i -= 1;
        }
        std::str::from_utf8(&b[*i..end]).ok()?.parse::<u64>().ok()
    };
    skip_ws(&mut i);
    let gen_end = i;
    let generation = digits(&mut i)?;
    if i == gen_end || i == kw {
        return None;
    }
    let before_gen = i;
    skip_ws(&mut i);
    if i == before_gen {
        return None;
    }
    let number = digits(&mut i)?;
    if !boundary(b, i.wrapping_sub(1)) && i > 0 {
        return None;
    }
    Some((
        u32::try_from(number)
            .ok()
            .filter(|&n| n > 0 && n < 10_000_000)?,
        u16::try_from(generation).ok()?,
        i,
    ))
}

/// `/Key N G R` in a dictionary's text: the last occurrence wins (the final revision).
fn reference_in(text: &[u8], key: &[u8]) -> Option<(u32, u16)> {
    let mut found = None;
    let mut from = 0;
    while let Some(at) = find(text, key, from) {
        from = at + key.len();
        if !boundary(text, from) {
            continue;
        }
        let rest = std::str::from_utf8(&text[from..(from + 40).min(text.len())]).unwrap_or("");
        let rest = rest.split(['/', '>']).next().unwrap_or("");
        let parts: Vec<&str> = rest.split_whitespace().collect();
        if let [n, g, "R", ..] = parts.as_slice()
            && let (Ok(n), Ok(g)) = (n.parse(), g.parse())
        {
            found = Some((n, g));
        }
    }
    found
}

/// The `/ID [<…> <…>]` array of a trailer, as written.
fn id_array_in(text: &[u8]) -> Option<&[u8]> {
    let mut found = None;
    let mut from = 0;
    while let Some(at) = find(text, b"/ID", from) {
        from = at + 3;
        let Some(open) = text[from..].iter().position(|&c| !c.is_ascii_whitespace()) else {
            break;
        };
        if text[from + open] != b'[' {
            continue;
        }
        if let Some(close) = find(text, b"]", from + open) {
            found = Some(&text[from + open..=close]);
        }
    }
    found
}

/// Rebuild the object table of a PDF whose cross-reference data is unusable: scan for `N G obj` headers
/// (skipping stream data), take /Root, /Info, /Encrypt and /ID from the last trailer or cross-reference
/// stream dictionary (or find the /Catalog), and load the file again with a fresh xref table appended — as
/// an incremental update would. Returns the document, the bytes it was loaded from and the number of
/// objects found.
fn reconstruct(bytes: &[u8]) -> Option<(Document, Vec<u8>, usize)> {
    let start = find(&bytes[..bytes.len().min(1024)], b"%PDF-", 0)?;
    let body = &bytes[start..];
    let mut objects: BTreeMap<u32, (u16, usize)> = BTreeMap::new();
    let mut dict_texts: Vec<&[u8]> = Vec::new();
    let mut catalog = None;
    let mut i = 0usize;
    while i + 3 <= body.len() {
        let Some(rel) = body[i..]
            .iter()
            .position(|&c| c == b'o' || c == b's' || c == b't')
        else {
            break;
        };
        i += rel;
        let rest = &body[i..];
        if rest.starts_with(b"obj") && boundary(body, i + 3) {
            if let Some((n, g, at)) = object_header(body, i) {
                objects.insert(n, (g, at));
                // The object's own text, up to `endobj` or its stream data (bounded: a damaged file may
                // lack both, and each object must not cost a scan of the rest of the file).
                let window = &body[i..body.len().min(i + (1 << 20))];
                let end = find(window, b"endobj", 0).unwrap_or(window.len());
                let end = find(&window[..end], b"stream", 0).unwrap_or(end);
                let dict = &window[..end];
                if find(dict, b"/XRef", 0).is_some() {
                    dict_texts.push(dict);
                }
                if find(dict, b"/Catalog", 0).is_some() {
                    catalog = Some((n, g));
                }
            }
            i += 3;
        } else if rest.starts_with(b"stream") && matches!(rest.get(6), Some(b'\r' | b'\n')) {
            // Stream data is binary: the next `endstream` closes it (its /Length may be the broken part).
            i = find(body, b"endstream", i + 6).map_or(body.len(), |e| e + 9);
        } else if rest.starts_with(b"trailer") {
            let end = find(body, b"startxref", i).unwrap_or(body.len().min(i + 4096));
            dict_texts.push(&body[i..end]);
            i += 7;
        } else {
            i += 1;
        }
    }
    if objects.is_empty() {
        return None;
    }
    let last = |key: &[u8]| dict_texts.iter().rev().find_map(|t| reference_in(t, key));
    let root = last(b"/Root")
        .filter(|r| objects.contains_key(&r.0))
        .or(catalog)?;
    let mut trailer = format!(
        "/Size {} /Root {} {} R",
        objects.keys().max()? + 1,
        root.0,
        root.1
    );
    if let Some((n, g)) = last(b"/Info") {
        trailer.push_str(&format!(" /Info {n} {g} R"));
    }
    if let Some((n, g)) = last(b"/Encrypt") {
        trailer.push_str(&format!(" /Encrypt {n} {g} R"));
    }
    let mut patched = body.to_vec();
    if let Some(id) = dict_texts.iter().rev().find_map(|t| id_array_in(t)) {
        trailer.push_str(" /ID ");
        trailer.push_str(&String::from_utf8_lossy(id));
    }
    patched.extend_from_slice(b"\n");
    let xref_at = patched.len();
    let mut table = String::from("xref\n0 1\n0000000000 65535 f \n");
    for (n, (g, at)) in &objects {
        table.push_str(&format!("{n} 1\n{at:010} {g:05} n \n"));
    }
    table.push_str(&format!(
        "trailer\n<< {trailer} >>\nstartxref\n{xref_at}\n%%EOF\n"
    ));
    patched.extend_from_slice(table.as_bytes());
    let doc = Document::load_mem(&patched).ok()?;
    Some((doc, patched, objects.len()))
}

/// Skip PDF white-space from `at`.
fn skip_ws(b: &[u8], mut at: usize) -> usize {
    while b
        .get(at)
        .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'\x0C' | b'\0'))
    {
        at += 1;
    }
    at
}

/// An unsigned integer at `at` (after white-space): (value, index after it).
fn uint_at(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let at = skip_ws(b, at);
    let len = b
        .get(at..)?
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    if len == 0 || len > 19 {
        return None;
    }
    let v = std::str::from_utf8(&b[at..at + len]).ok()?.parse().ok()?;
    Some((v, at + len))
}

/// `/Key <integer>` in a dictionary's text (a direct integer, not a reference).
fn int_in(text: &[u8], key: &[u8]) -> Option<u64> {
    let at = find(text, key, 0)? + key.len();
    if !boundary(text, at) {
        return None;
    }
    let (v, end) = uint_at(text, at)?;
    // `/Prev 12 0 R` would be a reference: not what the trailer keys are.
    match uint_at(text, end) {
        Some((_, after)) if text.get(skip_ws(text, after)) == Some(&b'R') => None,
        _ => Some(v),
    }
}

/// Cross-reference entries by object number.
type Entries = Vec<(u32, XrefEntry)>;

/// One classic cross-reference section at `at` (ISO 32000-1 §7.5.4): its entries and its trailer's text.
fn classic_section(b: &[u8], at: usize) -> Option<(Entries, &[u8])> {
    let mut i = skip_ws(b, at);
    if !b.get(i..)?.starts_with(b"xref") {
        return None;
    }
    i += 4;
    let mut entries = Vec::new();
    loop {
        let j = skip_ws(b, i);
        if b.get(j..)?.starts_with(b"trailer") {
            i = j + 7;
            break;
        }
        let (first, k) = uint_at(b, j)?;
        let (count, k) = uint_at(b, k)?;
        i = k;
        for n in 0..count.min(10_000_000) {
            let (offset, k) = uint_at(b, i)?;
            let (generation, k) = uint_at(b, k)?;
            let k = skip_ws(b, k);
            let id = u32::try_from(first + n).ok()?;
            let entry = match b.get(k)? {
                b'n' => XrefEntry::Normal {
                    offset: u32::try_from(offset).ok()?,
                    generation: u16::try_from(generation).ok()?,
                },
                b'f' => XrefEntry::Free,
                _ => return None,
            };
            entries.push((id, entry));
            i = k + 1;
        }
    }
    let end = find(b, b"startxref", i).unwrap_or(b.len().min(i + (1 << 16)));
    Some((entries, &b[i..end.max(i)]))
}

/// The entries of a cross-reference stream (§7.5.8.3) that `doc` loaded: type 1 normal, type 2 compressed.
fn stream_entries(doc: &Document, b: &[u8], at: usize) -> Option<Entries> {
    let kw = find(&b[at..b.len().min(at + 64)], b"obj", 0)? + at;
    let (n, g, _) = object_header(b, kw)?;
    let stream = doc.get_object((n, g)).ok()?.as_stream().ok()?;
    let data = if stream.dict.get(b"Filter").is_ok() {
        stream.decompressed_content().ok()?
    } else {
        stream.content.clone()
    };
    let ints = |k: &[u8]| -> Option<Vec<u64>> {
        stream
            .dict
            .get(k)
            .ok()?
            .as_array()
            .ok()?
            .iter()
            .map(|o| o.as_i64().ok().and_then(|v| u64::try_from(v).ok()))
            .collect()
    };
    let w = ints(b"W")?;
    let [w1, w2, w3] = <[u64; 3]>::try_from(w).ok()?.map(|v| v as usize);
    if w1 > 8 || w2 > 8 || w3 > 8 {
        return None;
    }
    let size = stream.dict.get(b"Size").and_then(Object::as_i64).ok()?;
    let index = ints(b"Index").unwrap_or_else(|| vec![0, size.max(0) as u64]);
    let field = |row: &[u8], from: usize, width: usize| {
        row[from..from + width]
            .iter()
            .fold(0u64, |v, &c| (v << 8) | u64::from(c))
    };
    let row_len = w1 + w2 + w3;
    let mut rows = data.chunks_exact(row_len.max(1));
    let mut out = Vec::new();
    for pair in index.chunks_exact(2) {
        for n in 0..pair[1] {
            let row = rows.next()?;
            let kind = if w1 == 0 { 1 } else { field(row, 0, w1) };
            let (f2, f3) = (field(row, w1, w2), field(row, w1 + w2, w3));
            let id = u32::try_from(pair[0] + n).ok()?;
            let entry = match kind {
                0 => XrefEntry::Free,
                1 => XrefEntry::Normal {
                    offset: u32::try_from(f2).ok()?,
                    generation: u16::try_from(f3).ok()?,
                },
                2 => XrefEntry::Compressed {
                    container: u32::try_from(f2).ok()?,
                    index: u16::try_from(f3).ok()?,
                },
                _ => continue,
            };
            out.push((id, entry));
        }
    }
    Some(out)
}

/// Objects of the final revision of a hybrid-reference file (ISO 32000-1 §7.5.8.4) that lopdf 0.34 reads
/// from an older revision: it merges a section's /XRefStm entries after the previous section's table (and
/// not at all without /Prev), so an object that an update moved into an object stream keeps its old value
/// (an updated page tree reports the old page count). The chain of sections is walked here in the
/// specified order — a section's table, then its /XRefStm stream, then /Prev — and stale objects are
/// replaced. Returns how many.
fn repair_hybrid(doc: &mut Document, bytes: &[u8]) -> usize {
    if find(bytes, b"/XRefStm", 0).is_none() {
        return 0;
    }
    let mut latest: BTreeMap<u32, XrefEntry> = BTreeMap::new();
    let mut seen = HashSet::new();
    let mut at = Some(doc.xref_start);
    while let Some(section) = at.take() {
        if !seen.insert(section) || seen.len() > 256 {
            break;
        }
        let Some((table, trailer)) = classic_section(bytes, section) else {
            break; // a cross-reference stream section: lopdf reads those in order
        };
        let mut here: BTreeMap<u32, XrefEntry> = table.into_iter().collect();
        if let Some(stm) = int_in(trailer, b"/XRefStm")
            && let Some(entries) = usize::try_from(stm)
                .ok()
                .and_then(|stm| stream_entries(doc, bytes, stm))
        {
            for (id, e) in entries {
                // The stream fills what the table leaves out or marks free.
                if matches!(here.get(&id), None | Some(XrefEntry::Free)) {
                    here.insert(id, e);
                }
            }
        }
        for (id, e) in here {
            latest.entry(id).or_insert(e);
        }
        at = int_in(trailer, b"/Prev").and_then(|p| usize::try_from(p).ok());
    }
    let mut reader = lopdf::Reader {
        buffer: bytes,
        document: Document::new(),
    };
    for (&id, e) in &latest {
        if matches!(e, XrefEntry::Normal { .. }) {
            reader.document.reference_table.insert(id, e.clone());
        }
    }
    let mut fixed = 0;
    for (&id, e) in &latest {
        let stale = match (e, doc.reference_table.get(id)) {
            (XrefEntry::Normal { offset, .. }, Some(XrefEntry::Normal { offset: o, .. })) => {
                offset != o
            }
            (
                XrefEntry::Compressed { container, .. },
                Some(XrefEntry::Compressed { container: c, .. }),
            ) => container != c,
            (XrefEntry::Normal { .. } | XrefEntry::Compressed { .. }, _) => true,
            _ => false,
        };
        if !stale {
            continue;
        }
        let object = match *e {
            XrefEntry::Normal { generation, .. } => reader
                .get_object((id, generation), &mut HashSet::new())
                .ok()
                .map(|o| ((id, generation), o)),
            XrefEntry::Compressed { container, .. } => doc
                .get_object((container, 0))
                .ok()
                .and_then(|o| o.as_stream().ok())
                .cloned()
                .and_then(|mut s| lopdf::ObjectStream::new(&mut s).ok())
                .and_then(|mut os| os.objects.remove(&(id, 0)))
                .map(|o| ((id, 0), o)),
            _ => None,
        };
        if let Some((key, object)) = object {
            doc.objects.insert(key, object);
            doc.reference_table.insert(id, e.clone());
            fixed += 1;
        }
    }
    fixed
}

/// [`read_with_warnings`] without the warnings.
pub fn read(bytes: &[u8], limits: &Limits) -> Result<PdfInfo, HandlerError> {
    read_with_warnings(bytes, limits).map(|(info, _)| info)
}

/// The name of the security handler and its algorithm (ISO 32000-1 Table 20), for a warning.
fn encryption_name(doc: &Document) -> String {
    let Ok(dict) = doc.get_encrypted() else {
        return "unreadable /Encrypt dictionary".into();
    };
    let int = |k: &[u8]| dict.get(k).and_then(Object::as_i64).ok();
    let filter = dict
        .get(b"Filter")
        .and_then(Object::as_name_str)
        .unwrap_or("?");
    format!(
        "/Filter /{filter} /V {} /R {}",
        int(b"V").map_or("?".into(), |v| v.to_string()),
        int(b"R").map_or("?".into(), |v| v.to_string())
    )
}

/// Characterize a PDF; what could not be read (a broken xref rebuilt, an encryption not opened) is named
/// in the warnings.
pub fn read_with_warnings(
    bytes: &[u8],
    limits: &Limits,
) -> Result<(PdfInfo, Vec<String>), HandlerError> {
    let mut warnings = Vec::new();
    // Encrypted files are opened before anything is read: their catalog may sit in an object stream.
    let mut encryption: Option<String> = None;
    let mut decrypted = false;
    let mut open = |doc: &mut Document, raw: &[u8], warnings: &mut Vec<String>| {
        if doc.trailer.get(b"Encrypt").is_err() || encryption.is_some() {
            return;
        }
        let scheme = encryption_name(doc);
        match super::pdfcrypt::decrypt_empty_password(doc, raw) {
            Ok(name) => {
                decrypted = true;
                encryption = Some(name.to_owned());
            }
            Err(e) => {
                warnings.push(format!(
                    "PDF encrypted ({scheme}) and not opened with an empty user password ({e}); its \
                     metadata strings are not reported"
                ));
                encryption = Some(scheme);
            }
        }
    };
    let loaded = Document::load_mem(bytes).map(|mut doc| {
        repair_hybrid(&mut doc, bytes);
        open(&mut doc, bytes, &mut warnings);
        doc
    });
    let (doc, xref_reconstructed) = match loaded {
        Ok(doc) if usable(&doc) => (doc, false),
        other => {
            let why = match &other {
                Ok(_) => "its trailer does not lead to a catalog with a page tree".to_owned(),
                Err(e) => e.to_string(),
            };
            let rebuilt = reconstruct(bytes).and_then(|(mut doc, patched, n)| {
                open(&mut doc, &patched, &mut warnings);
                usable(&doc).then_some((doc, n))
            });
            match rebuilt {
                Some((doc, n)) => {
                    warnings.push(format!(
                        "PDF cross-reference table unusable ({why}); object table rebuilt by scanning \
                         for {n} objects"
                    ));
                    (doc, true)
                }
                None => return Err(HandlerError::malformed(F, why)),
            }
        }
    };
    let encrypted = encryption.is_some();
    // Undecrypted strings are ciphertext: never shown.
    let readable = !encrypted || decrypted;
    let catalog = doc
        .catalog()
        .map_err(|e| HandlerError::malformed(F, format!("no document catalog: {e}")))?;
    let mut version = doc.version.clone();
    if let Ok(Object::Name(v)) = catalog.get(b"Version") {
        let v = String::from_utf8_lossy(v).into_owned();
        if v > version {
            version = v;
        }
    }
    let pdfa = catalog
        .get_deref(b"Metadata", &doc)
        .ok()
        .and_then(|o| o.as_stream().ok())
        .and_then(|s| {
            if s.dict.get(b"Filter").is_ok() {
                // ISO 19005-1 forbids a filtered metadata stream, but other PDFs may compress it.
                if s.content.len() as u64 > limits.max_decompressed {
                    return None;
                }
                s.decompressed_content().ok()
            } else {
                Some(s.content.clone())
            }
        })
        .and_then(|xmp| sniff::pdfa_claim(&xmp))
        .map(|(part, conformance)| PdfaClaim { part, conformance });
    let info = doc
        .trailer
        .get_deref(b"Info", &doc)
        .ok()
        .and_then(|o| o.as_dict().ok());
    let pages = doc.get_pages();
    let mut pages_with_text = 0;
    let mut pages_examined = 0;
    if readable {
        for (_, &page) in pages.iter().take(limits.max_pages as usize) {
            pages_examined += 1;
            let has_font = doc.get_page_fonts(page).is_ok_and(|f| !f.is_empty());
            if !has_font {
                continue;
            }
            let content = doc.get_page_content(page).unwrap_or_default();
            if content.windows(2).any(|w| w == b"BT") {
                pages_with_text += 1;
            }
        }
    }
    let info = info.filter(|_| readable);
    let pdfa = pdfa.filter(|_| readable);
    let date = |k: &[u8]| info_string(&doc, info, k).map(|d| pdf_date(&d));
    let pdf = PdfInfo {
        version,
        pages: pages.len() as u64,
        encrypted,
        decrypted,
        encryption,
        xref_reconstructed,
        pdfa,
        title: info_string(&doc, info, b"Title"),
        author: info_string(&doc, info, b"Author"),
        producer: info_string(&doc, info, b"Producer"),
        creator: info_string(&doc, info, b"Creator"),
        creation_date: date(b"CreationDate"),
        mod_date: date(b"ModDate"),
        pages_with_text,
        pages_examined,
        has_text: pages_with_text > 0,
    };
    Ok((pdf, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(
            pdf_date("D:20240131235959+08'00'"),
            "2024-01-31T23:59:59+08:00"
        );
        assert_eq!(pdf_date("D:2024"), "2024-01-01T00:00:00");
        assert_eq!(pdf_date("D:20240101120000Z"), "2024-01-01T12:00:00Z");
        assert_eq!(pdf_date("yesterday"), "yesterday");
    }

    #[test]
    fn strings() {
        assert_eq!(text_string(&[0xFE, 0xFF, 0x62, 0x76, 0x8D, 0x2B]), "扶贫");
        assert_eq!(text_string(b"Ghostscript"), "Ghostscript");
    }
}
