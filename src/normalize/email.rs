//! E-mail: MBOX split into one RFC 5322 message per file, attachments, and a self-contained HTML
//! rendering per message (mailbagit's model: one neutral parse, many derivatives).
//!
//! ## MBOX split and `>From ` quoting
//! A message starts at a line beginning `From ` at the start of the file or after an empty line (the
//! separator every mbox writer emits). Each message is cut into three byte ranges that together cover the
//! file exactly: the `From ` line (envelope, not part of the message), the message, and the separator (the
//! one empty line before the next `From ` line, if present). The EML file holds the message bytes
//! **unchanged**: quoted `>From ` lines are not unquoted, because mboxo and mboxrd cannot be told apart
//! from the file alone and mboxo quoting is not reversible (a `>From ` written by the author and a quoted
//! `From ` look the same). Keeping them makes the split lossless; `index.json` beside the messages records
//! the envelope lines and separators, so the original mbox is rebuilt by concatenating
//! `from_line + message + separator` in order.

use std::ops::Range;

use mail_parser::{Address, MessageParser, MimeHeaders, PartType};

/// One message of an mbox, as byte ranges into the mbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MboxPart {
    pub from_line: Range<usize>,
    pub message: Range<usize>,
    pub separator: Range<usize>,
}

/// Split an mbox (see the module docs). `None` when the data does not start with a `From ` line.
pub(crate) fn split_mbox(b: &[u8]) -> Option<Vec<MboxPart>> {
    if !b.starts_with(b"From ") {
        return None;
    }
    let mut starts = vec![0usize];
    let mut i = 0;
    while let Some(nl) = b[i..].iter().position(|&c| c == b'\n') {
        let line = i + nl + 1;
        if line >= b.len() {
            break;
        }
        let prev_empty = b[..line].ends_with(b"\n\n") || b[..line].ends_with(b"\n\r\n");
        if prev_empty && b[line..].starts_with(b"From ") {
            starts.push(line);
        }
        i = line;
    }
    let mut parts = Vec::with_capacity(starts.len());
    for (k, &s) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(b.len());
        let fl_end = b[s..end]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(end, |p| s + p + 1);
        let body = &b[fl_end..end];
        let sep = if body.ends_with(b"\r\n\r\n") || body.ends_with(b"\n\r\n") {
            2
        } else if body.ends_with(b"\n\n") {
            1
        } else {
            0
        };
        parts.push(MboxPart {
            from_line: s..fl_end,
            message: fl_end..end - sep,
            separator: end - sep..end,
        });
    }
    Some(parts)
}

/// An attachment taken out of a message.
pub(crate) struct Attachment {
    /// A safe file name, unique within the message (`01-name.ext`).
    pub file_name: String,
    /// The name as the message gives it.
    pub original_name: Option<String>,
    pub mime: String,
    pub content_id: Option<String>,
    pub bytes: Vec<u8>,
}

/// The neutral model of one message: headers as text, bodies, attachments.
pub(crate) struct Mail {
    pub subject: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub cc: Option<String>,
    pub date: Option<String>,
    pub message_id: Option<String>,
    pub html: Option<String>,
    pub text: Option<String>,
    pub attachments: Vec<Attachment>,
}

fn addresses(a: Option<&Address<'_>>) -> Option<String> {
    let a = a?;
    let list: Vec<String> = a
        .iter()
        .map(|x| match (x.name(), x.address()) {
            (Some(n), Some(e)) => format!("{n} <{e}>"),
            (None, Some(e)) => e.to_string(),
            (Some(n), None) => n.to_string(),
            (None, None) => String::new(),
        })
        .filter(|s| !s.is_empty())
        .collect();
    (!list.is_empty()).then(|| list.join(", "))
}

fn safe_name(n: &str) -> String {
    let s: String = n
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let s = s.trim().trim_start_matches('.').to_string();
    let s: String = s.chars().take(120).collect();
    if s.is_empty() { "attachment".into() } else { s }
}

/// Parse one RFC 5322 message. Charsets (GB2312, GBK, GB18030, UTF-8, …) are decoded by mail-parser.
pub(crate) fn parse(raw: &[u8]) -> Option<Mail> {
    let msg = MessageParser::default().parse(raw)?;
    let mut attachments = Vec::new();
    for (i, part) in msg.attachments().enumerate() {
        let original_name = part.attachment_name().map(str::to_string);
        let mime = part
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(s) => format!("{}/{}", ct.ctype(), s),
                None => ct.ctype().to_string(),
            })
            .unwrap_or_else(|| "application/octet-stream".into());
        // Text parts are charset-decoded by mail-parser; take their transfer-decoded bytes instead, so
        // the attachment is the file that was attached, byte for byte.
        let bytes = match (&part.body, part.encoding) {
            (PartType::Text(_) | PartType::Html(_), mail_parser::Encoding::Base64) => msg
                .raw_message()
                .get(part.offset_body as usize..part.offset_end as usize)
                .and_then(mail_parser::decoders::base64::base64_decode)
                .unwrap_or_else(|| part.contents().to_vec()),
            _ => part.contents().to_vec(),
        };
        let base = original_name
            .as_deref()
            .map(safe_name)
            .unwrap_or_else(|| format!("attachment{}", extension_for(&mime)));
        attachments.push(Attachment {
            file_name: format!("{:02}-{base}", i + 1),
            original_name,
            mime,
            content_id: part.content_id().map(str::to_string),
            bytes,
        });
    }
    Some(Mail {
        subject: msg.subject().map(str::to_string),
        from: addresses(msg.from()),
        to: addresses(msg.to()),
        cc: addresses(msg.cc()),
        date: msg.date().map(|d| d.to_rfc3339()),
        message_id: msg.message_id().map(str::to_string),
        html: (msg.html_body_count() > 0)
            .then(|| msg.body_html(0).map(|c| c.into_owned()))
            .flatten()
            .filter(|_| msg.html_bodies().any(|p| p.is_text_html())),
        text: msg.body_text(0).map(|c| c.into_owned()),
        attachments,
    })
}

fn extension_for(mime: &str) -> &'static str {
    match mime {
        "image/jpeg" => ".jpg",
        "image/png" => ".png",
        "image/gif" => ".gif",
        "application/pdf" => ".pdf",
        "text/plain" => ".txt",
        "message/rfc822" => ".eml",
        _ => ".bin",
    }
}

pub(crate) fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

pub(crate) fn base64(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                o.push(T[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                o.push('=');
            }
        }
    }
    o
}

fn data_uri(a: &Attachment) -> String {
    format!("data:{};base64,{}", a.mime, base64(&a.bytes))
}

/// Remove what could run or load from elsewhere: scripts, frames, objects, `<link>`, and `src`/`background`
/// attributes that are not `data:`. The Content-Security-Policy of the page blocks anything left over.
fn defuse(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len());
    let mut i = 0;
    let drop_elems = ["script", "iframe", "object", "embed", "frame", "applet"];
    'outer: while i < html.len() {
        if html.as_bytes()[i] == b'<' {
            for e in drop_elems {
                let open = format!("<{e}");
                if lower[i..].starts_with(&open) {
                    let close = format!("</{e}>");
                    i = match lower[i..].find(&close) {
                        Some(p) => i + p + close.len(),
                        None => lower[i..].find('>').map_or(html.len(), |p| i + p + 1),
                    };
                    continue 'outer;
                }
            }
            if lower[i..].starts_with("<link") || lower[i..].starts_with("<meta") {
                i = lower[i..].find('>').map_or(html.len(), |p| i + p + 1);
                continue;
            }
        }
        let ch = html[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    // External references in attributes: keep the value visible to a reader, but inert.
    let mut s = out;
    for attr in ["src=", "background=", "srcset="] {
        for q in ["\"", "'"] {
            for scheme in ["http:", "https:", "//", "ftp:"] {
                s = replace_ci(
                    &s,
                    &format!("{attr}{q}{scheme}"),
                    &format!("data-dangan-blocked-{attr}{q}{scheme}"),
                );
            }
        }
    }
    s
}

fn replace_ci(s: &str, pat: &str, with: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let pat_l = pat.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (pos, _) in lower.match_indices(&pat_l) {
        out.push_str(&s[last..pos]);
        out.push_str(with);
        last = pos + pat.len();
    }
    out.push_str(&s[last..]);
    out
}

/// One self-contained HTML page: headers, body (decoded), inline images as `data:` URIs, a list of
/// attachments. No external references; a CSP forbids loading anything but `data:` images.
pub(crate) fn render_html(m: &Mail) -> String {
    let mut h = String::new();
    let title = m.subject.as_deref().unwrap_or("(无主题 no subject)");
    h.push_str("<!DOCTYPE html>\n<html lang=\"zh\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\n");
    h.push_str(&format!("<title>{}</title>\n", escape(title)));
    h.push_str("<style>body{font-family:sans-serif;margin:2em}table.headers th{text-align:left;padding-right:1em;vertical-align:top}pre{white-space:pre-wrap}.body{border-top:1px solid #888;margin-top:1em;padding-top:1em}</style>\n</head>\n<body>\n<table class=\"headers\">\n");
    for (label, v) in [
        ("主题 Subject", &m.subject),
        ("发件人 From", &m.from),
        ("收件人 To", &m.to),
        ("抄送 Cc", &m.cc),
        ("日期 Date", &m.date),
        ("Message-ID", &m.message_id),
    ] {
        if let Some(v) = v {
            h.push_str(&format!(
                "<tr><th>{label}</th><td>{}</td></tr>\n",
                escape(v)
            ));
        }
    }
    h.push_str("</table>\n<div class=\"body\">\n");
    let mut shown_cids = Vec::new();
    match (&m.html, &m.text) {
        (Some(html), _) => {
            let mut body = defuse(html);
            for a in &m.attachments {
                if let Some(cid) = &a.content_id {
                    let cid = cid.trim_matches(|c| c == '<' || c == '>');
                    let pat = format!("cid:{cid}");
                    if replace_ci(&body, &pat, "").len() != body.len() {
                        body = replace_ci(&body, &pat, &data_uri(a));
                        shown_cids.push(a.file_name.clone());
                    }
                }
            }
            h.push_str(&body);
        }
        (None, Some(text)) => h.push_str(&format!("<pre>{}</pre>\n", escape(text))),
        (None, None) => {}
    }
    h.push_str("\n</div>\n");
    // Images not referenced from the body are still shown, so the rendering is complete.
    let images: Vec<&Attachment> = m
        .attachments
        .iter()
        .filter(|a| a.mime.starts_with("image/") && !shown_cids.contains(&a.file_name))
        .collect();
    for a in &images {
        h.push_str(&format!(
            "<figure><img src=\"{}\" alt=\"{}\" style=\"max-width:100%\"><figcaption>{}</figcaption></figure>\n",
            data_uri(a),
            escape(&a.file_name),
            escape(&a.file_name)
        ));
    }
    if !m.attachments.is_empty() {
        h.push_str("<h2>附件 Attachments</h2>\n<ul class=\"attachments\">\n");
        for a in &m.attachments {
            h.push_str(&format!(
                "<li>{} ({}, {} bytes)</li>\n",
                escape(a.original_name.as_deref().unwrap_or(&a.file_name)),
                escape(&a.mime),
                a.bytes.len()
            ));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</body>\n</html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_covers_the_mbox_exactly() {
        let mbox = b"From a@b Mon Jan  1 00:00:00 2024\nSubject: 1\n\nhello\n>From here\n\nFrom c@d Tue Jan  2 00:00:00 2024\nSubject: 2\n\nbye\n";
        let parts = split_mbox(mbox).unwrap();
        assert_eq!(parts.len(), 2);
        let mut back = Vec::new();
        for p in &parts {
            back.extend_from_slice(&mbox[p.from_line.clone()]);
            back.extend_from_slice(&mbox[p.message.clone()]);
            back.extend_from_slice(&mbox[p.separator.clone()]);
        }
        assert_eq!(back, mbox);
        assert_eq!(
            &mbox[parts[0].message.clone()],
            b"Subject: 1\n\nhello\n>From here\n"
        );
        assert_eq!(&mbox[parts[1].separator.clone()], b"");
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn defuse_removes_scripts_and_remote_sources() {
        let d = defuse("<p>x</p><SCRIPT>alert(1)</script><img src=\"http://e.com/a.png\">");
        assert!(!d.to_ascii_lowercase().contains("<script"));
        assert!(d.contains("data-dangan-blocked-src=\"http://"));
    }
}
