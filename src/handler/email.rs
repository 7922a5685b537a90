//! E-mail: RFC 5322 messages (EML) through mail-parser, MBOX files (RFC 4155) by their separator lines.
//!
//! Header text is decoded per RFC 2047 (encoded words in any charset mail-parser knows, GB2312/GBK/GB18030
//! included through encoding_rs). Raw 8-bit headers — common from Chinese mail systems, and not allowed by
//! RFC 5322 — are decoded with the message's declared charset or, failing that, GB18030 when they are not
//! UTF-8 (RFC 6532 allows UTF-8).

use encoding_rs::{Encoding, GB18030};
use mail_parser::{Address, HeaderName, MessageParser, MimeHeaders};
use serde::Serialize;

use super::{Characterization, Handler, HandlerError, Limits, Source};
use crate::identify::{Family, Identified};

pub struct Eml;
pub struct Mbox;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attachment {
    pub name: Option<String>,
    pub size: u64,
    pub mime: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EmailInfo {
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// RFC 3339.
    pub date: Option<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    pub mime_version: Option<String>,
    /// Charset declared by the top-level Content-Type.
    pub charset: Option<String>,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MboxInfo {
    pub message_count: u64,
    /// The first message, characterized like an EML file.
    pub first_message: Option<EmailInfo>,
}

impl Handler for Eml {
    fn name(&self) -> &'static str {
        "eml"
    }
    fn summary(&self) -> &'static str {
        "E-mail (RFC 5322/MIME): from, to, cc, date, subject, message-id, attachments"
    }
    fn families(&self) -> &'static [Family] {
        &[Family::Eml]
    }
    fn characterize(
        &self,
        src: &mut Source,
        _id: &Identified,
        limits: &Limits,
    ) -> Result<Characterization, HandlerError> {
        let raw = src.read_all(limits)?;
        Ok(Characterization {
            email: Some(parse(&raw, limits)?),
            ..Default::default()
        })
    }
}

impl Handler for Mbox {
    fn name(&self) -> &'static str {
        "mbox"
    }
    fn summary(&self) -> &'static str {
        "MBOX: message count and the first message's headers"
    }
    fn families(&self) -> &'static [Family] {
        &[Family::Mbox]
    }
    fn characterize(
        &self,
        src: &mut Source,
        _id: &Identified,
        limits: &Limits,
    ) -> Result<Characterization, HandlerError> {
        let raw = src.read_all(limits)?;
        Ok(Characterization {
            mbox: Some(mbox(&raw, limits)?),
            ..Default::default()
        })
    }
}

fn addresses(a: Option<&Address>) -> Vec<String> {
    let Some(a) = a else { return vec![] };
    a.iter()
        .map(|addr| match (&addr.name, &addr.address) {
            (Some(n), Some(e)) => format!("{n} <{e}>"),
            (None, Some(e)) => e.to_string(),
            (Some(n), None) => n.to_string(),
            (None, None) => String::new(),
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// Decode raw header bytes that are not UTF-8 with the declared charset, else GB18030.
fn decode_8bit(raw: &[u8], charset: Option<&str>) -> Option<String> {
    if std::str::from_utf8(raw).is_ok() {
        return None;
    }
    let enc = charset
        .and_then(|c| Encoding::for_label(c.as_bytes()))
        .filter(|e| *e != encoding_rs::UTF_8)
        .unwrap_or(GB18030);
    let (s, _, _) = enc.decode(raw);
    Some(s.trim().to_owned())
}

pub fn parse(raw: &[u8], limits: &Limits) -> Result<EmailInfo, HandlerError> {
    const F: &str = "e-mail";
    let msg = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| HandlerError::malformed(F, "no RFC 5322 header block"))?;
    if msg.headers().is_empty() {
        return Err(HandlerError::malformed(F, "no header fields"));
    }
    let charset = msg
        .content_type()
        .and_then(|c| c.attribute("charset"))
        .map(str::to_owned);
    let mut subject = msg.subject().map(str::to_owned);
    if let Some(h) = msg.headers().iter().find(|h| h.name == HeaderName::Subject) {
        let bytes = raw
            .get(h.offset_start as usize..h.offset_end as usize)
            .unwrap_or_default();
        if let Some(s) = decode_8bit(bytes, charset.as_deref()) {
            subject = Some(s);
        }
    }
    let mut attachments = Vec::new();
    for part in msg.attachments() {
        if attachments.len() as u64 >= limits.max_pages {
            break;
        }
        let mime = part
            .content_type()
            .map(|c| match c.subtype() {
                Some(s) => format!("{}/{}", c.ctype(), s),
                None => c.ctype().to_owned(),
            })
            .unwrap_or_else(|| "application/octet-stream".into());
        attachments.push(Attachment {
            name: part.attachment_name().map(str::to_owned),
            size: part.len() as u64,
            mime,
        });
    }
    Ok(EmailInfo {
        from: addresses(msg.from()),
        to: addresses(msg.to()),
        cc: addresses(msg.cc()),
        date: msg.date().map(|d| d.to_rfc3339()),
        subject,
        message_id: msg.message_id().map(str::to_owned),
        mime_version: msg.header_raw("MIME-Version").map(|s| s.trim().to_owned()),
        charset,
        attachments,
    })
}

/// Count messages: a line starting "From " at the start of the file or after an empty line (RFC 4155 §2,
/// mboxrd convention).
pub fn mbox(raw: &[u8], limits: &Limits) -> Result<MboxInfo, HandlerError> {
    if !raw.starts_with(b"From ") {
        return Err(HandlerError::malformed(
            "MBOX",
            "does not start with a 'From ' line",
        ));
    }
    let mut starts = vec![0usize];
    let mut i = 0;
    while let Some(rel) = raw[i..]
        .windows(7)
        .position(|w| w == b"\n\nFrom " || (w[..6] == *b"\n\r\nFro" && w[6] == b'm'))
    {
        let at = i + rel;
        let line = if raw[at + 1] == b'\r' { at + 3 } else { at + 2 };
        starts.push(line);
        i = at + 2;
    }
    let first_end = starts.get(1).copied().unwrap_or(raw.len());
    let first = &raw[..first_end];
    let body = first
        .iter()
        .position(|&b| b == b'\n')
        .map(|p| &first[p + 1..])
        .unwrap_or_default();
    Ok(MboxInfo {
        message_count: starts.len() as u64,
        first_message: parse(body, limits).ok(),
    })
}
