//! RFC 5322 messages (EML, and each message of an MBOX) into the [`Message`] model, through mail-parser.
//!
//! Header text is decoded per RFC 2047 (encoded words in any charset mail-parser knows: GB2312/GBK/GB18030,
//! ISO-2022-JP, … through encoding_rs). Raw 8-bit headers — common from Chinese mail systems and not allowed
//! by RFC 5322 — are decoded with the message's declared charset or, failing that, GB18030 when they are not
//! UTF-8 (RFC 6532 allows UTF-8). Attachments are the transfer-decoded bytes, never charset-converted, so an
//! attached text file is the file that was attached.

use encoding_rs::{Encoding, GB18030};
use mail_parser::{Address, HeaderName, MessageParser, MimeHeaders, PartType};

use super::{Attachment, EmailError, Limits, Message, format_address};

const F: &str = "e-mail";

fn addresses(a: Option<&Address<'_>>) -> Vec<String> {
    let Some(a) = a else { return vec![] };
    a.iter()
        .filter_map(|x| format_address(x.name(), x.address()))
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

/// Read one RFC 5322 message. `keep_raw` keeps the bytes as received in [`Message::raw`].
pub fn read(raw: &[u8], limits: &Limits, keep_raw: bool) -> Result<Message, EmailError> {
    read_depth(raw, limits, keep_raw, 0)
}

fn read_depth(
    raw: &[u8],
    limits: &Limits,
    keep_raw: bool,
    depth: u32,
) -> Result<Message, EmailError> {
    EmailError::check("message size", raw.len() as u64, limits.max_part)?;
    let msg = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| EmailError::malformed(F, "no RFC 5322 header block"))?;
    if msg.headers().is_empty() {
        return Err(EmailError::malformed(F, "no header fields"));
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
    let header_end = msg
        .parts
        .first()
        .map(|p| p.offset_body as usize)
        .unwrap_or(0)
        .min(raw.len());
    let headers = String::from_utf8_lossy(&raw[..header_end]).into_owned();
    let mut warnings = Vec::new();
    let mut attachments = Vec::new();
    for part in msg.attachments() {
        if attachments.len() as u64 >= limits.max_attachments {
            warnings.push(format!(
                "more than {} attachments: the rest are not extracted",
                limits.max_attachments
            ));
            break;
        }
        let mime = part
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(s) => format!("{}/{}", ct.ctype(), s),
                None => ct.ctype().to_string(),
            })
            .unwrap_or_else(|| "application/octet-stream".into())
            .to_ascii_lowercase();
        // Text parts are charset-decoded by mail-parser; take their transfer-decoded bytes instead, so
        // the attachment is the file that was attached, byte for byte.
        let bytes = match (&part.body, part.encoding) {
            (PartType::Text(_) | PartType::Html(_), mail_parser::Encoding::Base64) => msg
                .raw_message()
                .get(part.offset_body as usize..part.offset_end as usize)
                .and_then(mail_parser::decoders::base64::base64_decode)
                .unwrap_or_else(|| part.contents().to_vec()),
            (PartType::Message(_), _) => msg
                .raw_message()
                .get(part.offset_body as usize..part.offset_end as usize)
                .map(<[u8]>::to_vec)
                .unwrap_or_default(),
            _ => part.contents().to_vec(),
        };
        let message = match &part.body {
            PartType::Message(_) if depth < limits.max_depth => {
                read_depth(&bytes, limits, false, depth + 1)
                    .ok()
                    .map(Box::new)
            }
            _ => None,
        };
        attachments.push(Attachment {
            name: part.attachment_name().map(str::to_string),
            mime,
            content_id: part.content_id().map(str::to_string),
            inline: part
                .content_disposition()
                .is_some_and(|d| d.ctype().eq_ignore_ascii_case("inline")),
            bytes,
            message,
        });
    }
    let html = (msg.html_body_count() > 0)
        .then(|| msg.body_html(0).map(|c| c.into_owned()))
        .flatten()
        .filter(|_| msg.html_bodies().any(|p| p.is_text_html()));
    Ok(Message {
        folder: String::new(),
        headers: Some(headers),
        subject,
        from: addresses(msg.from()),
        to: addresses(msg.to()),
        cc: addresses(msg.cc()),
        bcc: addresses(msg.bcc()),
        date: msg.date().map(|d| d.to_rfc3339()),
        message_id: msg.message_id().map(str::to_string),
        text: msg.body_text(0).map(|c| c.into_owned()),
        html,
        rtf: None,
        attachments,
        properties: Vec::new(),
        raw: keep_raw.then(|| raw.to_vec()),
        warnings,
    })
}

/// The charset the top-level Content-Type declares.
pub fn declared_charset(raw: &[u8]) -> Option<String> {
    let msg = MessageParser::default().parse_headers(raw)?;
    msg.content_type()
        .and_then(|c| c.attribute("charset"))
        .map(str::to_owned)
}

/// The MIME-Version header, trimmed.
pub fn mime_version(raw: &[u8]) -> Option<String> {
    let msg = MessageParser::default().parse_headers(raw)?;
    msg.header_raw("MIME-Version").map(|s| s.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_2022_jp_and_gbk_headers_and_bodies_decode() {
        // 件名 in ISO-2022-JP (RFC 1468) as an RFC 2047 B-word; the body in ISO-2022-JP too.
        let (jp_subj, _, _) = encoding_rs::ISO_2022_JP.encode("会議の件");
        let b64 = crate::normalize::base64(&jp_subj);
        let (jp_body, _, _) = encoding_rs::ISO_2022_JP.encode("明日の会議は十時です。");
        let mut m = format!(
            "From: a@b.jp\nSubject: =?ISO-2022-JP?B?{b64}?=\nContent-Type: text/plain; charset=ISO-2022-JP\nContent-Transfer-Encoding: 7bit\n\n"
        )
        .into_bytes();
        m.extend_from_slice(&jp_body);
        let msg = read(&m, &Limits::default(), false).unwrap();
        assert_eq!(msg.subject.as_deref(), Some("会議の件"));
        assert!(msg.text.unwrap().contains("明日の会議は十時です"));
        // A raw 8-bit GBK subject (not RFC 2047 encoded) and a GBK body.
        let (gbk_subj, _, _) = GB18030.encode("关于扶贫资金的通知");
        let (gbk_body, _, _) = GB18030.encode("请各村上报。");
        let mut m = b"From: a@b.cn\nSubject: ".to_vec();
        m.extend_from_slice(&gbk_subj);
        m.extend_from_slice(b"\nContent-Type: text/plain; charset=GBK\n\n");
        m.extend_from_slice(&gbk_body);
        let msg = read(&m, &Limits::default(), false).unwrap();
        assert_eq!(msg.subject.as_deref(), Some("关于扶贫资金的通知"));
        assert!(msg.text.unwrap().contains("请各村上报"));
    }
}
