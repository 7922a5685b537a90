//! PDF: version, page count, encryption, PDF/A claim, producer, dates, and whether pages carry text.
//!
//! Parsed with lopdf (which reads the whole file; bounded by `Limits::max_in_memory`). ISO 32000-1 §14.3.3
//! (document information dictionary), §7.9.2 (text strings), §7.9.4 (dates); ISO 19005 for the PDF/A claim
//! in the catalog's /Metadata XMP stream.

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
    pub pages: u64,
    pub encrypted: bool,
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
        Ok(Characterization {
            pdf: Some(read(&bytes, limits)?),
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

pub fn read(bytes: &[u8], limits: &Limits) -> Result<PdfInfo, HandlerError> {
    let doc = Document::load_mem(bytes).map_err(|e| HandlerError::malformed(F, e.to_string()))?;
    let encrypted = doc.trailer.get(b"Encrypt").is_ok();
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
    if !encrypted {
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
    let date = |k: &[u8]| info_string(&doc, info, k).map(|d| pdf_date(&d));
    Ok(PdfInfo {
        version,
        pages: pages.len() as u64,
        encrypted,
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
    })
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
