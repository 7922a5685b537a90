//! Writing the model: RFC 5322 EML (preservation form of MSG/PST messages), MBOX (one per PST folder), the
//! per-container index (CSV + JSON) and the MAPI sidecar.
//!
//! An EML read from an EML or MBOX is written back as the bytes received ([`Message::raw`]). For MSG/PST
//! the header is the transport header block (PR_TRANSPORT_MESSAGE_HEADERS) when the message has one, minus
//! its MIME fields (the MIME structure is rebuilt here), else one made from the MAPI properties (RFC 5322
//! §3.6; non-ASCII as RFC 2047 encoded words, file names per RFC 2231). Bodies and attachments become MIME
//! parts (RFC 2046), base64 where not plain ASCII, so the EML is 7-bit clean. Lines end in CRLF.

use serde::Serialize;

use super::{Message, mbox};

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 (RFC 4648 §4), the one encoder.
pub fn base64(b: &[u8]) -> String {
    let mut o = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                o.push(B64[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                o.push('=');
            }
        }
    }
    o
}

/// Base64 in lines of 76 characters (RFC 2045 §6.8), CRLF-terminated.
fn base64_lines(b: &[u8], out: &mut Vec<u8>) {
    for chunk in b.chunks(57) {
        out.extend_from_slice(base64(chunk).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// A header value: as is when printable ASCII, else RFC 2047 `B` encoded words of UTF-8.
pub fn encode_word(s: &str) -> String {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return s.to_string();
    }
    let mut words = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        if cur.len() + c.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", base64(cur.as_bytes())));
            cur.clear();
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", base64(cur.as_bytes())));
    }
    words.join("\r\n ")
}

/// `Name <addr>` with the name encoded (RFC 2047 §5 (3): encoded words only in the phrase).
fn encode_address(a: &str) -> String {
    match a.rsplit_once(" <") {
        Some((name, rest)) if rest.ends_with('>') => {
            let name = if name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ') {
                name.to_string()
            } else if name.is_ascii() {
                format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
            } else {
                encode_word(name)
            };
            format!("{name} <{rest}")
        }
        _ => encode_word(a),
    }
}

/// A parameter value (RFC 2045 quoted-string, or RFC 2231 `name*=UTF-8''…` when not ASCII).
fn param(name: &str, v: &str) -> String {
    if v.is_ascii() && !v.bytes().any(|b| b < 0x20 || b == 0x7f) {
        format!(
            "{name}=\"{}\"",
            v.replace('\\', "\\\\").replace('"', "\\\"")
        )
    } else {
        let enc: String = v
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        format!("{name}*=UTF-8''{enc}")
    }
}

fn rfc2822_date(rfc3339: &str) -> Option<String> {
    let ts: jiff::Timestamp = rfc3339.parse().ok()?;
    let z = ts.to_zoned(jiff::tz::TimeZone::UTC);
    jiff::fmt::rfc2822::to_string(&z).ok()
}

/// The header fields of a transport header block, without the MIME ones (rebuilt by [`eml`]).
fn transport_fields(h: &str) -> Vec<String> {
    let mut fields: Vec<String> = Vec::new();
    for line in h.split('\n') {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.push_str("\r\n");
                last.push_str(line);
            }
        } else {
            fields.push(line.to_string());
        }
    }
    fields.retain(|f| {
        let name = f
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        !(name.starts_with("content-") || name == "mime-version")
    });
    fields
}

fn boundary(tag: &str, n: usize) -> String {
    format!("=_dangan_{tag}_{n:04}")
}

fn text_part(out: &mut Vec<u8>, mime: &str, body: &[u8]) {
    out.extend_from_slice(format!("Content-Type: {mime}\r\n").as_bytes());
    out.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n\r\n");
    base64_lines(body, out);
}

/// The message as RFC 5322 bytes (see the module docs).
pub fn eml(m: &Message) -> Vec<u8> {
    if let Some(raw) = &m.raw {
        return raw.clone();
    }
    let mut out = Vec::new();
    let push = |out: &mut Vec<u8>, s: &str| {
        out.extend_from_slice(s.as_bytes());
        out.extend_from_slice(b"\r\n");
    };
    match &m.headers {
        Some(h) if !transport_fields(h).is_empty() => {
            for f in transport_fields(h) {
                push(&mut out, &f);
            }
        }
        _ => {
            if let Some(d) = m.date.as_deref().and_then(rfc2822_date) {
                push(&mut out, &format!("Date: {d}"));
            }
            let list = |v: &[String]| {
                v.iter()
                    .map(|a| encode_address(a))
                    .collect::<Vec<_>>()
                    .join(",\r\n ")
            };
            if !m.from.is_empty() {
                push(&mut out, &format!("From: {}", list(&m.from)));
            }
            if !m.to.is_empty() {
                push(&mut out, &format!("To: {}", list(&m.to)));
            }
            if !m.cc.is_empty() {
                push(&mut out, &format!("Cc: {}", list(&m.cc)));
            }
            if !m.bcc.is_empty() {
                push(&mut out, &format!("Bcc: {}", list(&m.bcc)));
            }
            if let Some(s) = &m.subject {
                push(&mut out, &format!("Subject: {}", encode_word(s)));
            }
            if let Some(id) = &m.message_id {
                push(&mut out, &format!("Message-ID: {}", id.trim()));
            }
        }
    }
    push(&mut out, "MIME-Version: 1.0");
    // Bodies: the alternatives the message has (text, HTML, RTF), in increasing richness (RFC 2046 §5.1.4).
    let mut bodies: Vec<(&str, &[u8])> = Vec::new();
    if let Some(t) = &m.text {
        bodies.push(("text/plain; charset=utf-8", t.as_bytes()));
    }
    if let Some(h) = &m.html {
        bodies.push(("text/html; charset=utf-8", h.as_bytes()));
    }
    if let Some(r) = &m.rtf {
        bodies.push(("application/rtf", r.as_slice()));
    }
    if bodies.is_empty() {
        bodies.push(("text/plain; charset=utf-8", b""));
    }
    let mixed = boundary("mixed", 1);
    let alt = boundary("alt", 2);
    let has_att = !m.attachments.is_empty();
    if has_att {
        push(
            &mut out,
            &format!("Content-Type: multipart/mixed; boundary=\"{mixed}\""),
        );
        push(&mut out, "");
        push(&mut out, &format!("--{mixed}"));
    }
    if bodies.len() > 1 {
        push(
            &mut out,
            &format!("Content-Type: multipart/alternative; boundary=\"{alt}\""),
        );
        push(&mut out, "");
        for (mime, b) in &bodies {
            push(&mut out, &format!("--{alt}"));
            text_part(&mut out, mime, b);
        }
        push(&mut out, &format!("--{alt}--"));
    } else {
        text_part(&mut out, bodies[0].0, bodies[0].1);
    }
    for a in &m.attachments {
        push(&mut out, &format!("--{mixed}"));
        let name = a.name.as_deref().unwrap_or("attachment");
        if a.message.is_some() && a.mime == "message/rfc822" {
            push(&mut out, "Content-Type: message/rfc822");
            push(
                &mut out,
                &format!(
                    "Content-Disposition: attachment; {}",
                    param("filename", name)
                ),
            );
            push(&mut out, "");
            out.extend_from_slice(&a.bytes);
            if !a.bytes.ends_with(b"\r\n") {
                out.extend_from_slice(b"\r\n");
            }
            continue;
        }
        push(
            &mut out,
            &format!("Content-Type: {}; {}", a.mime, param("name", name)),
        );
        push(
            &mut out,
            &format!(
                "Content-Disposition: {}; {}",
                if a.inline { "inline" } else { "attachment" },
                param("filename", name)
            ),
        );
        if let Some(cid) = &a.content_id {
            let cid = cid.trim_matches(|c| c == '<' || c == '>');
            push(&mut out, &format!("Content-ID: <{cid}>"));
        }
        push(&mut out, "Content-Transfer-Encoding: base64");
        push(&mut out, "");
        base64_lines(&a.bytes, &mut out);
    }
    if has_att {
        push(&mut out, &format!("--{mixed}--"));
    }
    out
}

/// The `From ` envelope line of an mbox entry (RFC 4155 §2: sender, then the date in asctime format).
pub fn envelope(m: &Message) -> String {
    let sender = m
        .from
        .first()
        .and_then(|f| {
            f.rsplit_once('<')
                .map(|(_, a)| a.trim_end_matches('>').to_string())
                .or_else(|| f.contains('@').then(|| f.clone()))
        })
        .filter(|a| !a.contains(char::is_whitespace))
        .unwrap_or_else(|| "MAILER-DAEMON".into());
    let date = m
        .date
        .as_deref()
        .and_then(|d| d.parse::<jiff::Timestamp>().ok())
        .map(|t| t.strftime("%a %b %e %H:%M:%S %Y").to_string())
        .unwrap_or_else(|| "Thu Jan  1 00:00:00 1970".into());
    format!("From {sender} {date}\n")
}

/// Append one message to an mbox (mboxrd quoting of `From ` lines, an empty line after).
pub fn mbox_append(out: &mut Vec<u8>, m: &Message, eml: &[u8]) {
    out.extend_from_slice(envelope(m).as_bytes());
    mbox::quote_from(eml, out);
    if !eml.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// One row of the per-container index (what an archivist opens in Excel).
#[derive(Debug, Clone, Serialize)]
pub struct IndexRow {
    pub folder: String,
    pub date: String,
    pub from: String,
    pub to: String,
    pub cc: String,
    pub subject: String,
    pub message_id: String,
    pub attachments: String,
    /// The preservation EML, relative to the index.
    pub eml: String,
    /// The access HTML, relative to the index.
    pub html: String,
}

impl IndexRow {
    pub fn new(m: &Message, eml: String, html: String) -> Self {
        IndexRow {
            folder: m.folder.clone(),
            date: m.date.clone().unwrap_or_default(),
            from: m.from.join("; "),
            to: m.to.join("; "),
            cc: m.cc.join("; "),
            subject: m.subject.clone().unwrap_or_default(),
            message_id: m.message_id.clone().unwrap_or_default(),
            attachments: m
                .attachments
                .iter()
                .map(|a| a.name.clone().unwrap_or_default())
                .collect::<Vec<_>>()
                .join("; "),
            eml,
            html,
        }
    }
}

/// The index as CSV (UTF-8 with a BOM, so Excel reads the Chinese right) and JSON.
pub fn index(rows: &[IndexRow]) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut csv_out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut csv_out);
        for r in rows {
            w.serialize(r).map_err(std::io::Error::other)?;
        }
        w.flush()?;
    }
    let json = serde_json::to_vec_pretty(rows).map_err(std::io::Error::other)?;
    Ok((csv_out, json))
}

/// The sidecar of one message: the MAPI properties its EML does not carry.
pub fn sidecar(m: &Message, source: &str) -> Option<Vec<u8>> {
    if m.properties.is_empty() {
        return None;
    }
    let v = serde_json::json!({
        "source": source,
        "note": "MAPI properties of the message that RFC 5322/MIME does not carry (tag = 0xIIIITTTT, [MS-OXCDATA] 2.11.1); named properties (id >= 0x8000) are listed by their id in this file, not resolved to names; binary values as hex (first 4096 bytes)",
        "properties": m.properties,
    });
    serde_json::to_vec_pretty(&v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::{Attachment, Limits, eml};

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn written_eml_reads_back_into_the_same_model() {
        let m = Message {
            subject: Some("关于扶贫资金的通知".into()),
            from: vec!["张三 <z@x.cn>".into()],
            to: vec!["li@x.cn".into()],
            date: Some("2022-02-03T20:01:10Z".into()),
            message_id: Some("<1@x.cn>".into()),
            text: Some("请各村上报。\r\n".into()),
            html: Some("<p>请各村上报。</p>".into()),
            attachments: vec![Attachment {
                name: Some("资金表.xlsx".into()),
                mime: "application/vnd.ms-excel".into(),
                bytes: (0..=255u8).collect(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let raw = eml(&m);
        assert!(raw.is_ascii());
        let back = eml::read(&raw, &Limits::default(), false).unwrap();
        assert_eq!(back.subject, m.subject);
        assert_eq!(back.from, m.from);
        assert_eq!(back.to, m.to);
        assert_eq!(back.message_id.as_deref(), Some("1@x.cn"));
        assert_eq!(back.text.as_deref(), Some("请各村上报。\r\n"));
        assert_eq!(back.attachments.len(), 1);
        assert_eq!(back.attachments[0].name.as_deref(), Some("资金表.xlsx"));
        assert_eq!(back.attachments[0].bytes, m.attachments[0].bytes);
        assert_eq!(back.date.as_deref(), Some("2022-02-03T20:01:10Z"));
    }
}
