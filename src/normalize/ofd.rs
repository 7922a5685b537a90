//! A streaming writer of OFD access copies (GB/T 33190-2016) for scanned items, under the OFD-A constraints
//! of GB/T 42133-2022: one document, no encryption, no signatures, every resource (page images, the font)
//! inside the package, the scan in the background layer and the OCR text above it.
//!
//! Package layout (GB/T 33190-2016 §7.3–§7.7):
//!
//! ```text
//! OFD.xml                        entry: DocBody → DocInfo (from the 目录 row) + DocRoot
//! Doc_0/Document.xml             CommonData (MaxUnitID, PageArea, PublicRes, DocumentRes) + Pages
//! Doc_0/PublicRes.xml            Fonts: the embedded glyphless TrueType
//! Doc_0/DocumentRes.xml          MultiMedias: one image per page
//! Doc_0/Res/font_0.ttf, Doc_0/Res/page_N.jpg|png
//! Doc_0/Pages/Page_N/Content.xml Layer Background (ImageObject) + Layer Body (TextObjects)
//! ```
//!
//! Units are millimetres, origin top left, y down (§7.2). A TextObject's `Boundary` is the word's box and
//! its `TextCode` starts at the baseline (`Y` = the box height, relative to the boundary), with `DeltaX`
//! spreading the characters over the box width. The text is invisible: `Fill="false"` (§11.2, nothing is
//! painted) and `Alpha="0"` for readers that ignore `Fill`.
//!
//! Pages are written as they come (images stored, XML deflated), so memory stays at one page; object IDs
//! are assigned in order, so the same input gives the same bytes.

use std::io::{self, Seek, Write};

use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, ZipWriter};

use crate::package::xml::{escape_attr, escape_text};

/// The OFD namespace of GB/T 33190-2016.
pub const OFD_NS: &str = "http://www.ofdspec.org/2016";

/// Document information, from the item (目录 row).
#[derive(Debug, Clone)]
pub struct OfdMeta {
    /// 题名
    pub title: String,
    /// 责任者
    pub author: Option<String>,
    /// 档号
    pub identifier: Option<String>,
    /// RFC 3339 UTC time of the run.
    pub created: String,
    pub creator: String,
    pub creator_version: String,
    /// Document identifier (DocID), reproducible from the content.
    pub doc_id: [u8; 16],
}

/// One word of the invisible text layer, in millimetres (origin top left).
#[derive(Debug, Clone, PartialEq)]
pub struct OfdWord {
    pub text: String,
    /// Top-left corner of the word's box.
    pub x: f64,
    pub y: f64,
    pub width: f64,
    /// The box height, also the font size.
    pub height: f64,
}

/// Writes one OFD, page by page.
pub struct OfdWriter<W: Write + Seek> {
    zip: ZipWriter<W>,
    meta: OfdMeta,
    /// Last object ID handed out (IDs are unique in the document, §7.5 MaxUnitID).
    next_id: u64,
    font_id: u64,
    /// Per page: (page object ID, content path, media ID, media file name, width, height).
    pages: Vec<(u64, String, u64, String, f64, f64)>,
}

fn num(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

fn stored() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default())
}

fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
}

impl<W: Write + Seek> OfdWriter<W> {
    /// Start a package; the font goes in first.
    pub fn new(out: W, meta: OfdMeta) -> io::Result<Self> {
        let mut zip = ZipWriter::new(out);
        zip.start_file("Doc_0/Res/font_0.ttf", deflated())
            .map_err(io::Error::other)?;
        zip.write_all(super::pdf::GLYPHLESS_TTF)?;
        Ok(OfdWriter {
            zip,
            meta,
            next_id: 1,
            font_id: 1,
            pages: Vec::new(),
        })
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Add a page of `width` × `height` mm showing `image` (`format` "JPEG" or "PNG") with `words` as
    /// invisible text above it.
    pub fn add_page(
        &mut self,
        image: &[u8],
        format: &str,
        width: f64,
        height: f64,
        words: &[OfdWord],
    ) -> io::Result<()> {
        let n = self.pages.len();
        let page_id = self.id();
        let media_id = self.id();
        let ext = if format == "PNG" { "png" } else { "jpg" };
        let media = format!("page_{n}.{ext}");
        self.zip
            .start_file(format!("Doc_0/Res/{media}"), stored())
            .map_err(io::Error::other)?;
        self.zip.write_all(image)?;
        let (w, h) = (num(width), num(height));
        let bg_layer = self.id();
        let img_obj = self.id();
        let mut x = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:Page xmlns:ofd=\"{OFD_NS}\">\n  <ofd:Area><ofd:PhysicalBox>0 0 {w} {h}</ofd:PhysicalBox></ofd:Area>\n  <ofd:Content>\n    <ofd:Layer ID=\"{bg_layer}\" Type=\"Background\">\n      <ofd:ImageObject ID=\"{img_obj}\" Boundary=\"0 0 {w} {h}\" CTM=\"{w} 0 0 {h} 0 0\" ResourceID=\"{media_id}\"/>\n    </ofd:Layer>\n"
        );
        if !words.is_empty() {
            let body = self.id();
            x.push_str(&format!("    <ofd:Layer ID=\"{body}\" Type=\"Body\">\n"));
            for wd in words {
                let chars: Vec<char> = wd.text.chars().collect();
                if chars.is_empty() {
                    continue;
                }
                let id = self.id();
                let step = wd.width / chars.len() as f64;
                let delta = if chars.len() > 1 {
                    format!(" DeltaX=\"g {} {}\"", chars.len() - 1, num(step))
                } else {
                    String::new()
                };
                x.push_str(&format!(
                    "      <ofd:TextObject ID=\"{id}\" Boundary=\"{} {} {} {}\" Font=\"{}\" Size=\"{}\" Fill=\"false\" Alpha=\"0\"><ofd:TextCode X=\"0\" Y=\"{}\"{delta}>{}</ofd:TextCode></ofd:TextObject>\n",
                    num(wd.x),
                    num(wd.y),
                    num(wd.width),
                    num(wd.height),
                    self.font_id,
                    num(wd.height),
                    num(wd.height),
                    escape_text(&wd.text),
                ));
            }
            x.push_str("    </ofd:Layer>\n");
        }
        x.push_str("  </ofd:Content>\n</ofd:Page>\n");
        let content = format!("Pages/Page_{n}/Content.xml");
        self.zip
            .start_file(format!("Doc_0/{content}"), deflated())
            .map_err(io::Error::other)?;
        self.zip.write_all(x.as_bytes())?;
        self.pages
            .push((page_id, content, media_id, media, width, height));
        Ok(())
    }

    fn put(&mut self, name: &str, text: &str) -> io::Result<()> {
        self.zip
            .start_file(name, deflated())
            .map_err(io::Error::other)?;
        self.zip.write_all(text.as_bytes())
    }

    /// Write Document.xml, the resources and OFD.xml; return the writer.
    pub fn finish(mut self) -> io::Result<W> {
        let head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
        let (pw, ph) = self.pages.first().map_or((210.0, 297.0), |p| (p.4, p.5));
        let mut doc = format!(
            "{head}<ofd:Document xmlns:ofd=\"{OFD_NS}\">\n  <ofd:CommonData>\n    <ofd:MaxUnitID>{}</ofd:MaxUnitID>\n    <ofd:PageArea><ofd:PhysicalBox>0 0 {} {}</ofd:PhysicalBox></ofd:PageArea>\n    <ofd:PublicRes>PublicRes.xml</ofd:PublicRes>\n    <ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes>\n  </ofd:CommonData>\n  <ofd:Pages>\n",
            self.next_id,
            num(pw),
            num(ph)
        );
        for (id, content, ..) in &self.pages {
            doc.push_str(&format!(
                "    <ofd:Page ID=\"{id}\" BaseLoc=\"{content}\"/>\n"
            ));
        }
        doc.push_str("  </ofd:Pages>\n</ofd:Document>\n");
        self.put("Doc_0/Document.xml", &doc)?;
        let public = format!(
            "{head}<ofd:Res xmlns:ofd=\"{OFD_NS}\" BaseLoc=\"Res\">\n  <ofd:Fonts>\n    <ofd:Font ID=\"{}\" FontName=\"GlyphLessFont\" FamilyName=\"GlyphLessFont\"><ofd:FontFile>font_0.ttf</ofd:FontFile></ofd:Font>\n  </ofd:Fonts>\n</ofd:Res>\n",
            self.font_id
        );
        self.put("Doc_0/PublicRes.xml", &public)?;
        let mut res = format!(
            "{head}<ofd:Res xmlns:ofd=\"{OFD_NS}\" BaseLoc=\"Res\">\n  <ofd:MultiMedias>\n"
        );
        for (_, _, media_id, media, ..) in &self.pages {
            let format = if media.ends_with(".png") {
                "PNG"
            } else {
                "JPEG"
            };
            res.push_str(&format!(
                "    <ofd:MultiMedia ID=\"{media_id}\" Type=\"Image\" Format=\"{format}\"><ofd:MediaFile>{media}</ofd:MediaFile></ofd:MultiMedia>\n"
            ));
        }
        res.push_str("  </ofd:MultiMedias>\n</ofd:Res>\n");
        self.put("Doc_0/DocumentRes.xml", &res)?;
        let m = &self.meta;
        let id: String = m.doc_id.iter().map(|b| format!("{b:02x}")).collect();
        let date = m.created.get(..10).unwrap_or(&m.created);
        let mut info = format!(
            "      <ofd:DocID>{id}</ofd:DocID>\n      <ofd:Title>{}</ofd:Title>\n",
            escape_text(&m.title)
        );
        if let Some(a) = &m.author {
            info.push_str(&format!(
                "      <ofd:Author>{}</ofd:Author>\n",
                escape_text(a)
            ));
        }
        info.push_str(&format!(
            "      <ofd:CreationDate>{}</ofd:CreationDate>\n      <ofd:Creator>{}</ofd:Creator>\n      <ofd:CreatorVersion>{}</ofd:CreatorVersion>\n",
            escape_text(date),
            escape_text(&m.creator),
            escape_text(&m.creator_version)
        ));
        if let Some(i) = &m.identifier {
            // DA/T 46-2009 names, as GB/T 42133-2022 asks for archival metadata.
            info.push_str(&format!(
                "      <ofd:CustomDatas>\n        <ofd:CustomData Name=\"{}\">{}</ofd:CustomData>\n      </ofd:CustomDatas>\n",
                escape_attr("档号"),
                escape_text(i)
            ));
        }
        let ofd = format!(
            "{head}<ofd:OFD xmlns:ofd=\"{OFD_NS}\" Version=\"1.0\" DocType=\"OFD\">\n  <ofd:DocBody>\n    <ofd:DocInfo>\n{info}    </ofd:DocInfo>\n    <ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>\n  </ofd:DocBody>\n</ofd:OFD>\n"
        );
        self.put("OFD.xml", &ofd)?;
        self.zip.finish().map_err(io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_reads_back_through_the_ofd_handler() {
        let meta = OfdMeta {
            title: "精准扶贫 <档案>".into(),
            author: Some("县扶贫办".into()),
            identifier: Some("J001-WS·2019-Y-BGS-0001".into()),
            created: "2024-05-01T10:11:12Z".into(),
            creator: "dangan".into(),
            creator_version: "0.1.0".into(),
            doc_id: [7; 16],
        };
        let mut w = OfdWriter::new(std::io::Cursor::new(Vec::new()), meta).unwrap();
        let words = [OfdWord {
            text: "精准扶贫".into(),
            x: 10.0,
            y: 20.0,
            width: 30.0,
            height: 5.0,
        }];
        w.add_page(b"\xFF\xD8\xFF", "JPEG", 210.0, 297.0, &words)
            .unwrap();
        w.add_page(b"\xFF\xD8\xFF", "JPEG", 210.0, 297.0, &[])
            .unwrap();
        let bytes = w.finish().unwrap().into_inner();
        let mut src = crate::handler::Source::from_bytes(bytes);
        let info = crate::handler::ofd::read(&mut src, &crate::handler::Limits::default()).unwrap();
        assert_eq!(info.title.as_deref(), Some("精准扶贫 <档案>"));
        assert_eq!(info.author.as_deref(), Some("县扶贫办"));
        assert_eq!(info.documents, 1);
        assert_eq!(info.pages, Some(2));
        assert_eq!(
            info.custom_data.get("档号").map(String::as_str),
            Some("J001-WS·2019-Y-BGS-0001")
        );
    }
}
