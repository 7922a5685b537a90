//! MBOX (RFC 4155): the one splitter.
//!
//! A message starts at a line beginning `From ` at the start of the file or after an empty line (the
//! separator every mbox writer emits). Each message is cut into three byte ranges that together cover the
//! file exactly: the `From ` line (envelope, not part of the message), the message, and the separator (the
//! one empty line before the next `From ` line, if present). The message bytes are kept **unchanged**:
//! quoted `>From ` lines are not unquoted, because mboxo and mboxrd cannot be told apart from the file
//! alone and mboxo quoting is not reversible. Keeping them makes the split lossless: the original mbox is
//! `from_line + message + separator`, in order.

use std::ops::Range;

/// One message of an mbox, as byte ranges into the mbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub from_line: Range<usize>,
    pub message: Range<usize>,
    pub separator: Range<usize>,
}

/// Split an mbox (see the module docs). `None` when the data does not start with a `From ` line.
pub fn split(b: &[u8]) -> Option<Vec<Part>> {
    if !b.starts_with(b"From ") {
        return None;
    }
    let mut starts = vec![0usize];
    let mut i = 0;
    while let Some(nl) = memchr::memchr(b'\n', &b[i..]) {
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
        let fl_end = memchr::memchr(b'\n', &b[s..end]).map_or(end, |p| s + p + 1);
        let body = &b[fl_end..end];
        let sep = if k + 1 == starts.len() {
            0
        } else if body.ends_with(b"\r\n\r\n") || body.ends_with(b"\n\r\n") {
            2
        } else if body.ends_with(b"\n\n") {
            1
        } else {
            0
        };
        parts.push(Part {
            from_line: s..fl_end,
            message: fl_end..end - sep,
            separator: end - sep..end,
        });
    }
    Some(parts)
}

/// `From ` lines in a message body are quoted for an mbox (mboxrd: one more `>` before `>*From `), so
/// a reader of either flavour gets the line back.
pub fn quote_from(body: &[u8], out: &mut Vec<u8>) {
    let mut at_line_start = true;
    let mut i = 0;
    while i < body.len() {
        if at_line_start {
            let rest = &body[i..];
            let gts = rest.iter().take_while(|&&c| c == b'>').count();
            if rest[gts..].starts_with(b"From ") {
                out.push(b'>');
            }
        }
        let c = body[i];
        out.push(c);
        at_line_start = c == b'\n';
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_covers_the_mbox_exactly() {
        let mbox = b"From a@b Mon Jan  1 00:00:00 2024\nSubject: 1\n\nhello\n>From here\n\nFrom c@d Tue Jan  2 00:00:00 2024\nSubject: 2\n\nbye\n";
        let parts = split(mbox).unwrap();
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
        assert!(split(b"Subject: x\n\n").is_none());
    }

    #[test]
    fn from_lines_are_quoted_mboxrd() {
        let mut o = Vec::new();
        quote_from(b"From x\n>From y\nnot From\n", &mut o);
        assert_eq!(o, b">From x\n>>From y\nnot From\n");
    }
}
