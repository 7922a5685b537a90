//! A small streaming writer for image-only PDF/A-2b access copies (ISO 19005-2, conformance level B).
//!
//! Why not lopdf: an item can have hundreds of pages, and lopdf holds the whole document in memory; this
//! writer emits each page image as soon as it is encoded, so memory stays at one page. It also fixes object
//! numbers and byte layout, so the same input and `--created` give the same bytes.
//!
//! What PDF/A-2b asks of such a file, and where it is done here:
//! - §6.1.2 header `%PDF-1.7` followed by a comment of four bytes above 127;
//! - §6.1.3 a trailer `/ID`, no `/Encrypt`; §6.1.7 streams with `/Length`, EOL after `stream` and before
//!   `endstream`; xref entries of exactly 20 bytes;
//! - §6.2.3 an OutputIntent `/S /GTS_PDFA1` with an embedded ICC profile (sRGB, built in `icc.rs`);
//! - §6.6.2 an unfiltered XMP metadata stream in the catalog with `pdfaid:part` = 2 and `pdfaid:conformance`
//!   = B, equivalent to the document information dictionary (Title ↔ dc:title, Author ↔ dc:creator,
//!   Creator ↔ xmp:CreatorTool, Producer ↔ pdf:Producer, dates ↔ xmp:CreateDate/ModifyDate);
//! - no JavaScript, no actions, no transparency.
//!
//! The double-layer PDF (双层PDF, issue 14): a page may carry, above its image, the OCR text as invisible
//! text (text rendering mode 3, ISO 32000-1 §9.3.6), one text object per word placed on the word's box and
//! stretched to its width (`Tz`), so that `pdftotext` returns the text in reading order and selecting a
//! word in a viewer selects the word under it. The font is the approach of Tesseract and OCRmyPDF: a tiny
//! embedded *glyphless* TrueType (`profiles/glyphless.ttf`, 572 bytes, from tesseract-ocr, Apache-2.0: one
//! empty glyph 0.5 em wide) as a CIDFontType2 under a Type0 font with `Identity-H`, a `CIDToGIDMap` that
//! sends every CID to that glyph, and a `ToUnicode` CMap that maps each CID to the same UTF-16 code unit —
//! so the character codes written are the text's UTF-16 and every code point, CJK or not, maps back.
//! Why not a subset of Noto CJK: the text is never drawn, a real CJK font would cost a subsetter and
//! ~1–2 KB per distinct character per document, and a glyphless font cannot be mistaken for evidence.
//! PDF/A-2b §6.2.11.4.1 asks every font used to be embedded (done, `pdffonts` shows it `emb`); §6.2.11.5
//! asks the widths to agree (`/DW 500` = the glyph's 1024/2048 em).

use std::io::{self, Write};

use super::icc;

/// Document metadata, from the item (目录 row) where known.
#[derive(Debug, Clone, Default)]
pub struct PdfMeta {
    /// 题名 (falls back to the item's name).
    pub title: String,
    /// 责任者
    pub author: Option<String>,
    /// 档号 or other identifier, recorded as dc:identifier.
    pub identifier: Option<String>,
    /// RFC 3339 UTC time (`2024-01-01T00:00:00Z`), from the run's Context.
    pub created: String,
    /// The software that made the file ("dangan 0.1.0").
    pub producer: String,
}

/// One page image, already encoded.
pub enum PageImage {
    /// A baseline JPEG (DCTDecode) with 1 (gray) or 3 (RGB) components.
    Jpeg {
        data: Vec<u8>,
        width: u32,
        height: u32,
        components: u8,
        /// The source's ICC profile, used as an ICCBased colour space when it fits the components.
        icc: Option<Vec<u8>>,
    },
    /// A 1-bit image (1 = white), zlib-compressed rows (FlateDecode). Bitonal pages stay bitonal: JPEG
    /// would blur the text and make the file larger.
    Bilevel {
        data: Vec<u8>,
        width: u32,
        height: u32,
    },
}

/// One word of the invisible text layer, in PDF user space (points, origin bottom left).
#[derive(Debug, Clone, PartialEq)]
pub struct TextWord {
    pub text: String,
    /// Left edge and baseline (the bottom of the word's box).
    pub x: f64,
    pub y: f64,
    /// Width and height of the word's box; the height is the font size.
    pub width: f64,
    pub height: f64,
    /// Width of the gap to the next word of the line when a space belongs there (Latin words): a space
    /// glyph fills it, so that text extraction and copying keep the word space.
    pub space_after: Option<f64>,
}

/// The glyphless font program (see the module documentation).
pub const GLYPHLESS_TTF: &[u8] = include_bytes!("../../profiles/glyphless.ttf");

/// The ToUnicode CMap: every 2-byte code maps to the same UTF-16 code unit (PDF 1.7 §9.10.3; ranges may
/// differ only in their last byte, hence one range per high byte).
fn to_unicode_cmap() -> String {
    let mut ranges = Vec::new();
    for hi in 0u32..=0xFF {
        ranges.push(format!("<{hi:02X}00> <{hi:02X}FF> <{hi:02X}00>"));
    }
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for chunk in ranges.chunks(100) {
        s.push_str(&format!("{} beginbfrange\n", chunk.len()));
        for r in chunk {
            s.push_str(r);
            s.push('\n');
        }
        s.push_str("endbfrange\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s
}

/// The content-stream operators of the invisible text layer of one page (font resource `/F0`).
pub fn text_layer_ops(words: &[TextWord]) -> String {
    let mut ops = String::from("BT\n3 Tr\n");
    let mut size_set: Option<String> = None;
    let mut put = |ops: &mut String, text: &str, x: f64, y: f64, width: f64, size: f64| {
        let units: Vec<u16> = text.encode_utf16().collect();
        if units.is_empty() || size <= 0.0 || width <= 0.0 {
            return;
        }
        let sz = fmt_pt(size.max(0.01));
        if size_set.as_deref() != Some(sz.as_str()) {
            ops.push_str(&format!("/F0 {sz} Tf\n"));
            size_set = Some(sz);
        }
        // Each glyph advances 0.5 em: scale horizontally so the word spans its box.
        let natural = units.len() as f64 * 0.5 * size;
        let tz = (100.0 * width / natural).clamp(0.1, 100_000.0);
        let hex: String = units.iter().map(|u| format!("{u:04X}")).collect();
        ops.push_str(&format!(
            "{} Tz\n1 0 0 1 {} {} Tm\n<{hex}> Tj\n",
            fmt_pt(tz),
            fmt_pt(x),
            fmt_pt(y)
        ));
    };
    for w in words {
        put(&mut ops, &w.text, w.x, w.y, w.width, w.height);
        if let Some(gap) = w.space_after {
            put(&mut ops, " ", w.x + w.width, w.y, gap.max(0.01), w.height);
        }
    }
    ops.push_str("ET\n");
    ops
}

struct Counting<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

const CATALOG: usize = 1;
const PAGES: usize = 2;
const METADATA: usize = 3;
const OUTPUT_PROFILE: usize = 4;
const INFO: usize = 5;

/// Writes one PDF, page by page.
pub struct PdfWriter<W: Write> {
    w: Counting<W>,
    /// Byte offset of each object (index = object number; 0 unused).
    offsets: Vec<u64>,
    pages: Vec<usize>,
    id: [u8; 16],
    /// The Type0 font of the invisible text layer, written at its first use.
    font: Option<usize>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A PDF text string (PDF 1.7 §7.9.2.2): UTF-16BE with a byte-order mark, as a hex string, so that
/// Chinese titles survive every reader.
fn text_string(s: &str) -> String {
    let mut b = vec![0xFE, 0xFF];
    for u in s.encode_utf16() {
        b.extend_from_slice(&u.to_be_bytes());
    }
    format!("<{}>", hex(&b))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `2024-05-01T10:11:12Z` → (`D:20240501101112+00'00'`, `2024-05-01T10:11:12+00:00`).
fn dates(rfc3339: &str) -> (String, String) {
    let digits: String = rfc3339
        .chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect();
    let digits = format!("{digits:0<14}");
    let xmp = format!(
        "{}-{}-{}T{}:{}:{}+00:00",
        &digits[0..4],
        &digits[4..6],
        &digits[6..8],
        &digits[8..10],
        &digits[10..12],
        &digits[12..14]
    );
    (format!("D:{digits}+00'00'"), xmp)
}

fn xmp(meta: &PdfMeta, id: &[u8; 16]) -> String {
    let (_, date) = dates(&meta.created);
    let mut dc = format!(
        "   <dc:format>application/pdf</dc:format>\n   <dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{}</rdf:li></rdf:Alt></dc:title>\n",
        xml_escape(&meta.title)
    );
    if let Some(a) = &meta.author {
        dc.push_str(&format!(
            "   <dc:creator><rdf:Seq><rdf:li>{}</rdf:li></rdf:Seq></dc:creator>\n",
            xml_escape(a)
        ));
    }
    if let Some(i) = &meta.identifier {
        dc.push_str(&format!(
            "   <dc:identifier>{}</dc:identifier>\n",
            xml_escape(i)
        ));
    }
    let uuid = hex(id).to_ascii_lowercase();
    let uuid = format!(
        "uuid:{}-{}-{}-{}-{}",
        &uuid[0..8],
        &uuid[8..12],
        &uuid[12..16],
        &uuid[16..20],
        &uuid[20..32]
    );
    format!(
        "<?xpacket begin=\"\u{FEFF}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">
 <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">
  <rdf:Description rdf:about=\"\" xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\">
   <pdfaid:part>2</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
  </rdf:Description>
  <rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">
{dc}  </rdf:Description>
  <rdf:Description rdf:about=\"\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\">
   <xmp:CreateDate>{date}</xmp:CreateDate>
   <xmp:ModifyDate>{date}</xmp:ModifyDate>
   <xmp:MetadataDate>{date}</xmp:MetadataDate>
   <xmp:CreatorTool>{producer}</xmp:CreatorTool>
  </rdf:Description>
  <rdf:Description rdf:about=\"\" xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\">
   <pdf:Producer>{producer}</pdf:Producer>
  </rdf:Description>
  <rdf:Description rdf:about=\"\" xmlns:xmpMM=\"http://ns.adobe.com/xap/1.0/mm/\">
   <xmpMM:DocumentID>{uuid}</xmpMM:DocumentID>
   <xmpMM:InstanceID>{uuid}</xmpMM:InstanceID>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end=\"w\"?>",
        producer = xml_escape(&meta.producer),
    )
}

fn fmt_pt(v: f64) -> String {
    // Two decimals, trailing zeros trimmed: stable text for the same numbers.
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

impl<W: Write> PdfWriter<W> {
    /// Start a document: header, catalog, metadata, output intent profile, info.
    /// `id` is the document identifier (trailer `/ID`, xmpMM:DocumentID), derived by the caller from the
    /// content so that it is reproducible.
    pub fn new(out: W, meta: &PdfMeta, id: [u8; 16]) -> io::Result<Self> {
        let mut pw = PdfWriter {
            w: Counting { inner: out, n: 0 },
            offsets: vec![0; 6],
            pages: Vec::new(),
            id,
            font: None,
        };
        pw.w.write_all(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n")?;
        pw.begin(CATALOG)?;
        write!(
            pw.w,
            "<< /Type /Catalog /Pages {PAGES} 0 R /Metadata {METADATA} 0 R /OutputIntents [<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier ({d}) /Info ({d}) /DestOutputProfile {OUTPUT_PROFILE} 0 R >>] >>\nendobj\n",
            d = icc::SRGB_DESCRIPTION
        )?;
        let x = xmp(meta, &id);
        pw.begin(METADATA)?;
        write!(
            pw.w,
            "<< /Type /Metadata /Subtype /XML /Length {} >>\nstream\n",
            x.len()
        )?;
        pw.w.write_all(x.as_bytes())?;
        pw.w.write_all(b"\nendstream\nendobj\n")?;
        let profile = icc::srgb_v2();
        pw.begin(OUTPUT_PROFILE)?;
        write!(pw.w, "<< /N 3 /Length {} >>\nstream\n", profile.len())?;
        pw.w.write_all(&profile)?;
        pw.w.write_all(b"\nendstream\nendobj\n")?;
        let (date, _) = dates(&meta.created);
        pw.begin(INFO)?;
        write!(pw.w, "<< /Title {}", text_string(&meta.title))?;
        if let Some(a) = &meta.author {
            write!(pw.w, " /Author {}", text_string(a))?;
        }
        write!(
            pw.w,
            " /Creator {p} /Producer {p} /CreationDate ({date}) /ModDate ({date}) >>\nendobj\n",
            p = text_string(&meta.producer)
        )?;
        Ok(pw)
    }

    fn begin(&mut self, obj: usize) -> io::Result<()> {
        if self.offsets.len() <= obj {
            self.offsets.resize(obj + 1, 0);
        }
        self.offsets[obj] = self.w.n;
        writeln!(self.w, "{obj} 0 obj")
    }

    fn alloc(&mut self) -> usize {
        self.offsets.push(0);
        self.offsets.len() - 1
    }

    /// The glyphless Type0 font (and its descendant, descriptor, program, CIDToGIDMap, ToUnicode), written
    /// once per document.
    fn text_font(&mut self) -> io::Result<usize> {
        if let Some(f) = self.font {
            return Ok(f);
        }
        let type0 = self.alloc();
        let cid = self.alloc();
        let desc = self.alloc();
        let file = self.alloc();
        let map = self.alloc();
        let tounicode = self.alloc();
        self.begin(type0)?;
        write!(
            self.w,
            "<< /Type /Font /Subtype /Type0 /BaseFont /GlyphLessFont /Encoding /Identity-H /DescendantFonts [{cid} 0 R] /ToUnicode {tounicode} 0 R >>\nendobj\n"
        )?;
        self.begin(cid)?;
        write!(
            self.w,
            "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /GlyphLessFont /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor {desc} 0 R /DW 500 /CIDToGIDMap {map} 0 R >>\nendobj\n"
        )?;
        // Ascent 1000 and Descent −1: a glyph's box is [baseline, baseline + size], the word's box.
        self.begin(desc)?;
        write!(
            self.w,
            "<< /Type /FontDescriptor /FontName /GlyphLessFont /Flags 5 /FontBBox [0 0 500 1000] /ItalicAngle 0 /Ascent 1000 /Descent -1 /CapHeight 1000 /StemV 80 /FontFile2 {file} 0 R >>\nendobj\n"
        )?;
        self.begin(file)?;
        write!(
            self.w,
            "<< /Length {n} /Length1 {n} >>\nstream\n",
            n = GLYPHLESS_TTF.len()
        )?;
        self.w.write_all(GLYPHLESS_TTF)?;
        self.w.write_all(b"\nendstream\nendobj\n")?;
        // Every CID (2 bytes) → glyph 1: 65536 big-endian entries of 0x0001, Flate-compressed.
        let raw: Vec<u8> = std::iter::repeat_n([0u8, 1u8], 1 << 16).flatten().collect();
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&raw)?;
        let z = z.finish()?;
        self.begin(map)?;
        write!(
            self.w,
            "<< /Filter /FlateDecode /Length {} >>\nstream\n",
            z.len()
        )?;
        self.w.write_all(&z)?;
        self.w.write_all(b"\nendstream\nendobj\n")?;
        let cmap = to_unicode_cmap();
        self.begin(tounicode)?;
        write!(self.w, "<< /Length {} >>\nstream\n", cmap.len())?;
        self.w.write_all(cmap.as_bytes())?;
        self.w.write_all(b"\nendstream\nendobj\n")?;
        self.font = Some(type0);
        Ok(type0)
    }

    /// Add a page of `width_pt` × `height_pt` points filled by `image`.
    pub fn add_page(&mut self, image: PageImage, width_pt: f64, height_pt: f64) -> io::Result<()> {
        self.add_page_with_text(image, width_pt, height_pt, &[])
    }

    /// Add a page filled by `image` with `words` as invisible text above it (none: an image-only page).
    pub fn add_page_with_text(
        &mut self,
        image: PageImage,
        width_pt: f64,
        height_pt: f64,
        words: &[TextWord],
    ) -> io::Result<()> {
        let font = if words.is_empty() {
            None
        } else {
            Some(self.text_font()?)
        };
        let page = self.alloc();
        let content = self.alloc();
        let img = self.alloc();
        let (w, h) = (fmt_pt(width_pt), fmt_pt(height_pt));
        let font_res = font
            .map(|f| format!(" /Font << /F0 {f} 0 R >>"))
            .unwrap_or_default();
        self.begin(page)?;
        write!(
            self.w,
            "<< /Type /Page /Parent {PAGES} 0 R /MediaBox [0 0 {w} {h}] /Resources << /XObject << /Im0 {img} 0 R >>{font_res} >> /Contents {content} 0 R >>\nendobj\n"
        )?;
        let mut ops = format!("q\n{w} 0 0 {h} 0 0 cm\n/Im0 Do\nQ\n");
        if font.is_some() {
            ops.push_str(&text_layer_ops(words));
        }
        self.begin(content)?;
        write!(
            self.w,
            "<< /Length {} >>\nstream\n{ops}\nendstream\nendobj\n",
            ops.len()
        )?;
        match image {
            PageImage::Jpeg {
                data,
                width,
                height,
                components,
                icc,
            } => {
                let icc_obj = match icc {
                    Some(p) if icc_components(&p) == Some(components) => {
                        let o = self.alloc();
                        self.begin(o)?;
                        write!(
                            self.w,
                            "<< /N {components} /Length {} >>\nstream\n",
                            p.len()
                        )?;
                        self.w.write_all(&p)?;
                        self.w.write_all(b"\nendstream\nendobj\n")?;
                        Some(o)
                    }
                    _ => None,
                };
                let cs = match (icc_obj, components) {
                    (Some(o), _) => format!("[/ICCBased {o} 0 R]"),
                    (None, 1) => "/DeviceGray".into(),
                    (None, _) => "/DeviceRGB".into(),
                };
                self.begin(img)?;
                write!(
                    self.w,
                    "<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace {cs} /BitsPerComponent 8 /Filter /DCTDecode /Length {} >>\nstream\n",
                    data.len()
                )?;
                self.w.write_all(&data)?;
            }
            PageImage::Bilevel {
                data,
                width,
                height,
            } => {
                self.begin(img)?;
                write!(
                    self.w,
                    "<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /FlateDecode /Length {} >>\nstream\n",
                    data.len()
                )?;
                self.w.write_all(&data)?;
            }
        }
        self.w.write_all(b"\nendstream\nendobj\n")?;
        self.pages.push(page);
        Ok(())
    }

    /// Write the page tree, cross-reference table and trailer; return the writer.
    pub fn finish(mut self) -> io::Result<W> {
        let kids: Vec<String> = self.pages.iter().map(|p| format!("{p} 0 R")).collect();
        self.begin(PAGES)?;
        write!(
            self.w,
            "<< /Type /Pages /Kids [{}] /Count {} >>\nendobj\n",
            kids.join(" "),
            self.pages.len()
        )?;
        let xref = self.w.n;
        write!(self.w, "xref\n0 {}\n", self.offsets.len())?;
        self.w.write_all(b"0000000000 65535 f\r\n")?;
        for off in &self.offsets[1..] {
            write!(self.w, "{off:010} 00000 n\r\n")?;
        }
        let id = hex(&self.id);
        write!(
            self.w,
            "trailer\n<< /Size {} /Root {CATALOG} 0 R /Info {INFO} 0 R /ID [<{id}> <{id}>] >>\nstartxref\n{xref}\n%%EOF\n",
            self.offsets.len()
        )?;
        self.w.flush()?;
        Ok(self.w.inner)
    }
}

/// Number of colour components of an ICC profile, from its header's data colour space.
fn icc_components(p: &[u8]) -> Option<u8> {
    match p.get(16..20)? {
        b"GRAY" => Some(1),
        b"RGB " => Some(3),
        b"CMYK" => Some(4),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_strings() {
        let (d, x) = dates("2024-05-01T10:11:12Z");
        assert_eq!(d, "D:20240501101112+00'00'");
        assert_eq!(x, "2024-05-01T10:11:12+00:00");
        assert_eq!(text_string("档"), "<FEFF6863>");
        assert_eq!(fmt_pt(595.2), "595.2");
        assert_eq!(fmt_pt(842.0), "842");
    }

    #[test]
    fn text_layer_is_invisible_utf16_stretched_to_the_box() {
        let words = [
            TextWord {
                text: "精准".into(),
                x: 10.0,
                y: 700.0,
                width: 40.0,
                height: 10.0,
                space_after: None,
            },
            TextWord {
                text: "ab".into(),
                x: 60.0,
                y: 700.0,
                width: 10.0,
                height: 10.0,
                space_after: Some(3.0),
            },
        ];
        let ops = text_layer_ops(&words);
        assert!(ops.starts_with("BT\n3 Tr\n/F0 10 Tf\n"), "{ops}");
        // Two glyphs of 0.5 em at 10 pt = 10 pt; the box is 40 pt wide: Tz 400.
        assert!(
            ops.contains("400 Tz\n1 0 0 1 10 700 Tm\n<7CBE51C6> Tj\n"),
            "{ops}"
        );
        // The space after a Latin word fills the gap to the next word.
        assert!(
            ops.contains("60 Tz\n1 0 0 1 70 700 Tm\n<0020> Tj\n"),
            "{ops}"
        );
        let cmap = to_unicode_cmap();
        assert!(cmap.contains("<4E00> <4EFF> <4E00>"));
        assert_eq!(cmap.matches("beginbfrange").count(), 3);
    }

    #[test]
    fn a_page_with_text_embeds_the_font_once() {
        let meta = PdfMeta {
            title: "t".into(),
            created: "2024-01-01T00:00:00Z".into(),
            producer: "dangan".into(),
            ..Default::default()
        };
        let mut w = PdfWriter::new(Vec::new(), &meta, [1; 16]).unwrap();
        let img = || PageImage::Bilevel {
            data: vec![],
            width: 1,
            height: 1,
        };
        let word = TextWord {
            text: "档".into(),
            x: 1.0,
            y: 1.0,
            width: 5.0,
            height: 5.0,
            space_after: None,
        };
        w.add_page_with_text(img(), 10.0, 10.0, std::slice::from_ref(&word))
            .unwrap();
        w.add_page_with_text(img(), 10.0, 10.0, &[word]).unwrap();
        w.add_page(img(), 10.0, 10.0).unwrap();
        let bytes = w.finish().unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert_eq!(text.matches("/Subtype /CIDFontType2").count(), 1);
        assert_eq!(text.matches("/Font << /F0").count(), 2);
        assert!(text.contains("/FontFile2"));
    }
}
