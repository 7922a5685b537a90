//! Text formats: XML, HTML, e-mail (RFC 5322 / MIME), MBOX and plain text, with the character encoding.
//!
//! A file is text when its prefix decodes without error as UTF-8 (or UTF-16 with a BOM), or as GB18030
//! (which includes GBK and GB2312), and holds no control characters other than whitespace. The encoding
//! found is recorded: Chinese archives hold many GBK/GB18030 text files that must not be read as UTF-8.

use encoding_rs::{GB18030, UTF_16BE, UTF_16LE};

use super::Match;
use super::sniff::find;

/// Decode the prefix and name its encoding, or None if it is not text.
pub fn decode(p: &[u8], truncated: bool) -> Option<(String, &'static str)> {
    if let Some(rest) = p.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8(rest, truncated).map(|s| (s, "UTF-8"));
    }
    if p.starts_with(b"\xFF\xFE") || p.starts_with(b"\xFE\xFF") {
        let (enc, name) = if p[0] == 0xFF {
            (UTF_16LE, "UTF-16LE")
        } else {
            (UTF_16BE, "UTF-16BE")
        };
        let body = &p[2..p.len() - (p.len() % 2)];
        let (s, had_errors) = enc.decode_without_bom_handling(body);
        return (!had_errors).then(|| (s.into_owned(), name));
    }
    if let Some(s) = utf8(p, truncated) {
        let name = if s.is_ascii() { "ASCII" } else { "UTF-8" };
        return Some((s, name));
    }
    // GB18030: allow a multi-byte sequence cut off by the end of the prefix.
    let body = if truncated { trim_gb(p) } else { p };
    let (s, had_errors) = GB18030.decode_without_bom_handling(body);
    (!had_errors).then(|| (s.into_owned(), "GB18030"))
}

fn utf8(p: &[u8], truncated: bool) -> Option<String> {
    match std::str::from_utf8(p) {
        Ok(s) => Some(s.to_owned()),
        // An incomplete character at the very end of a truncated prefix is not an error.
        Err(e) if truncated && e.error_len().is_none() => {
            Some(String::from_utf8_lossy(&p[..e.valid_up_to()]).into_owned())
        }
        Err(_) => None,
    }
}

/// Drop up to three trailing bytes that may start an incomplete GB18030 sequence.
fn trim_gb(p: &[u8]) -> &[u8] {
    let mut end = p.len();
    while end > 0 && p.len() - end < 3 && p[end - 1] >= 0x30 {
        if p[end - 1] < 0x80 && p[end - 1] > 0x39 {
            break;
        }
        end -= 1;
    }
    // Only trim when the result decodes cleanly; otherwise keep the whole prefix.
    if GB18030.decode_without_bom_handling(&p[..end]).1 {
        p
    } else {
        &p[..end]
    }
}

fn is_texty(s: &str) -> bool {
    s.chars()
        .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t' | '\x0C' | '\x1A'))
}

/// Classify a prefix that matched no binary signature.
pub fn sniff_text(p: &[u8], len: u64) -> Match {
    let truncated = (p.len() as u64) < len;
    let Some((s, encoding)) = decode(p, truncated) else {
        return Match::new(
            "unknown",
            "no signature matched and the content is not text",
        );
    };
    if !is_texty(&s) {
        return Match::new(
            "unknown",
            "no signature matched; control characters: not text",
        );
    }
    let mut m = classify(&s);
    m.encoding = Some(encoding.to_string());
    m
}

fn classify(s: &str) -> Match {
    let t = s.trim_start_matches('\u{FEFF}').trim_start();
    let lower: String = t
        .chars()
        .take(1024)
        .collect::<String>()
        .to_ascii_lowercase();
    // XML 1.0 §2.8: the XML declaration; its version attribute gives 1.0 or 1.1.
    if lower.starts_with("<?xml") {
        let decl = &lower[..lower.find("?>").unwrap_or(lower.len().min(200))];
        if lower.contains("<!doctype html") || lower.contains("<html") && !lower.contains("<svg") {
            return Match::new("html", "XML declaration followed by an HTML document");
        }
        let v11 = decl.contains("version=\"1.1\"") || decl.contains("version='1.1'");
        return Match::new(
            if v11 { "xml-1.1" } else { "xml-1.0" },
            "XML declaration '<?xml' at the start",
        );
    }
    // HTML 5 §13.1.1: the DOCTYPE is exactly "<!DOCTYPE html>"; older DOCTYPEs name a DTD.
    if let Some(rest) = lower.strip_prefix("<!doctype html") {
        return if rest.trim_start().starts_with('>') {
            Match::new("html-5", "'<!DOCTYPE html>' (HTML 5)")
        } else {
            Match::new("html", "'<!DOCTYPE html …>' with a DTD")
        };
    }
    if lower.starts_with("<html") || (lower.starts_with("<!--") && lower.contains("<html")) {
        return Match::new("html", "'<html' element at the start");
    }
    // mboxrd/mboxo (RFC 4155): the file starts with a "From " separator line, then a message.
    if let Some(rest) = t.strip_prefix("From ")
        && let Some((_, after)) = rest.split_once('\n')
        && header_block(after) >= 1
    {
        return Match::new(
            "mbox",
            "'From ' separator line followed by message headers (RFC 4155)",
        );
    }
    let headers = header_block(t);
    if headers >= 2 {
        let lower_all = t.to_ascii_lowercase();
        let head_end = find(lower_all.as_bytes(), b"\n\n")
            .or_else(|| find(lower_all.as_bytes(), b"\r\n\r\n"))
            .unwrap_or(lower_all.len());
        let head = &lower_all[..head_end];
        let has = |h: &str| head.starts_with(h) || head.contains(&format!("\n{h}"));
        if has("from:") && (has("date:") || has("subject:") || has("to:") || has("message-id:")) {
            return if has("mime-version:") {
                Match::new(
                    "eml-mime",
                    "RFC 5322 header block with MIME-Version (RFC 2045)",
                )
            } else {
                Match::new(
                    "eml-rfc822",
                    "RFC 5322 header block (From, Date/Subject/To)",
                )
            };
        }
    }
    Match::new("text", "no signature matched; the content decodes as text")
}

/// Number of leading lines that look like RFC 5322 header fields (`Name: value` or folded continuations).
fn header_block(s: &str) -> usize {
    let mut n = 0;
    for line in s.lines().take(200) {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) && n > 0 {
            continue;
        }
        let Some((name, _)) = line.split_once(':') else {
            break;
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
            break;
        }
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        let gbk = GB18030.encode("扶贫档案整理目录").0.into_owned();
        let m = sniff_text(&gbk, gbk.len() as u64);
        assert_eq!((m.key, m.encoding.as_deref()), ("text", Some("GB18030")));
        let m = sniff_text("扶贫".as_bytes(), 6);
        assert_eq!(m.encoding.as_deref(), Some("UTF-8"));
        assert_eq!(sniff_text(b"abc\x00\x01", 5).key, "unknown");
    }

    #[test]
    fn markup_and_mail() {
        assert_eq!(
            sniff_text(b"<?xml version=\"1.0\"?><a/>", 26).key,
            "xml-1.0"
        );
        assert_eq!(
            sniff_text(b"<!DOCTYPE html>\n<html></html>", 29).key,
            "html-5"
        );
        let eml = b"From: a@b.cn\r\nTo: c@d.cn\r\nSubject: x\r\nMIME-Version: 1.0\r\n\r\nbody";
        assert_eq!(sniff_text(eml, eml.len() as u64).key, "eml-mime");
        let mbox = b"From a@b.cn Mon Jan  1 00:00:00 2024\nFrom: a@b.cn\nSubject: x\n\nhi\n";
        assert_eq!(sniff_text(mbox, mbox.len() as u64).key, "mbox");
    }
}
