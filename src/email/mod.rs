//! E-mail: one message model that EML, MBOX, Outlook MSG and Outlook PST all read into.
//!
//! Each reader turns its input into [`Message`]s — headers as received, bodies, attachments, embedded
//! messages, the folder a message was filed in — and everything downstream (characterization in
//! `handler::email`, the preservation EML/MBOX, the HTML and the index in `normalize::email`) works on that
//! model only, whatever the input was (mailbagit's design: one neutral parse, many derivatives).
//!
//! | input | reader | spec |
//! |---|---|---|
//! | EML | [`eml::read`] (mail-parser) | RFC 5322, RFC 2045–2049, RFC 2047 |
//! | MBOX | [`mbox::split`] + [`eml::read`] | RFC 4155 |
//! | MSG | [`msg::read`] (`cfb`) | [MS-OXMSG], [MS-CFB] |
//! | PST | [`pst::read`] (`outlook-pst`, Microsoft's reader) | [MS-PST] |
//!
//! Every reader is bounded by [`Limits`]: sizes, message counts, nesting depth; a loop in a PST B-tree is
//! refused before the PST reader sees it (see [`pst`]).

pub mod eml;
pub mod mbox;
pub mod msg;
pub mod pst;
pub mod write;

use serde::Serialize;

/// Bounds for untrusted mail containers. Every limit can be raised by the caller; none is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest single attachment, body or property read into memory.
    pub max_part: u64,
    /// Most messages read from one container (MBOX, PST).
    pub max_messages: u64,
    /// Most attachments of one message.
    pub max_attachments: u64,
    /// Deepest nesting of embedded messages (a message attached to a message …) and PST folders.
    pub max_depth: u32,
    /// Most folders of one PST.
    pub max_folders: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_part: 256 << 20,
            max_messages: 1_000_000,
            max_attachments: 10_000,
            max_depth: 16,
            max_folders: 100_000,
        }
    }
}

/// Why a mail container could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// Damaged or not what it claims to be.
    #[error("malformed {format}: {detail}")]
    Malformed {
        format: &'static str,
        detail: String,
    },
    /// Encrypted or password-protected: refused, never guessed.
    #[error("{format} is protected: {detail}")]
    Protected {
        format: &'static str,
        detail: String,
    },
    /// A bound of [`Limits`] was reached.
    #[error("limit exceeded: {what} is {value}, limit {limit}")]
    Limit {
        what: &'static str,
        value: u64,
        limit: u64,
    },
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl EmailError {
    pub fn malformed(format: &'static str, detail: impl Into<String>) -> Self {
        EmailError::Malformed {
            format,
            detail: detail.into(),
        }
    }

    fn check(what: &'static str, value: u64, limit: u64) -> Result<(), EmailError> {
        if value > limit {
            Err(EmailError::Limit { what, value, limit })
        } else {
            Ok(())
        }
    }
}

/// One attachment: the file as attached, byte for byte, or an embedded message.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Attachment {
    /// The name the message gives it (MSG/PST: PR_ATTACH_LONG_FILENAME, else PR_ATTACH_FILENAME).
    pub name: Option<String>,
    pub mime: String,
    pub content_id: Option<String>,
    /// Shown in the body (an inline image) rather than listed as an attachment.
    pub inline: bool,
    #[serde(skip)]
    pub bytes: Vec<u8>,
    /// An attached message ([MS-OXMSG] 2.2.2.1 `__substg1.0_3701000D`, MIME `message/rfc822`).
    #[serde(skip)]
    pub message: Option<Box<Message>>,
}

/// A MAPI property that RFC 5322 cannot carry; written to the sidecar so nothing is silently lost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Property {
    /// `0xIIIITTTT` (property id and type, [MS-OXCDATA] 2.11.1).
    pub tag: String,
    /// Text, a number, a FILETIME as RFC 3339, or hex for binary values.
    pub value: String,
}

/// One message, from whichever container.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Message {
    /// Folder path inside the container (`Inbox/Today at UAlbany`); empty for EML, MBOX and MSG.
    pub folder: String,
    /// The header block as received: the EML's own header, or MSG/PST PR_TRANSPORT_MESSAGE_HEADERS
    /// ([MS-OXPROPS] 2.1046) when the message came over SMTP.
    #[serde(skip)]
    pub headers: Option<String>,
    pub subject: Option<String>,
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    /// RFC 3339, with the sender's offset where the source has one.
    pub date: Option<String>,
    pub message_id: Option<String>,
    #[serde(skip)]
    pub text: Option<String>,
    #[serde(skip)]
    pub html: Option<String>,
    /// RTF body (MSG/PST PR_RTF_COMPRESSED, decompressed per [MS-OXRTFCP]).
    #[serde(skip)]
    pub rtf: Option<Vec<u8>>,
    pub attachments: Vec<Attachment>,
    /// MAPI properties not carried by the EML (MSG/PST only).
    #[serde(skip)]
    pub properties: Vec<Property>,
    /// The RFC 5322 bytes as received (EML, MBOX): the preservation form is these bytes, unchanged.
    #[serde(skip)]
    pub raw: Option<Vec<u8>>,
    /// Problems met while reading this message (a part over a limit, an unreadable property).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl Message {
    /// Total bytes of the attachments (embedded messages counted by their attached bytes).
    pub fn attachment_bytes(&self) -> u64 {
        self.attachments.iter().map(|a| a.bytes.len() as u64).sum()
    }
}

/// `Name <address>` / `address` / `Name`, the one address formatter.
pub fn format_address(name: Option<&str>, address: Option<&str>) -> Option<String> {
    let name = name.map(str::trim).filter(|s| !s.is_empty());
    let address = address.map(str::trim).filter(|s| !s.is_empty());
    match (name, address) {
        (Some(n), Some(e)) if n != e => Some(format!("{n} <{e}>")),
        (_, Some(e)) => Some(e.to_string()),
        (Some(n), None) => Some(n.to_string()),
        (None, None) => None,
    }
}

/// A Windows FILETIME (100 ns since 1601-01-01 UTC, [MS-DTYP] 2.3.3) as RFC 3339 UTC.
pub fn filetime_rfc3339(ft: i64) -> Option<String> {
    const EPOCH_DIFF_SECS: i64 = 11_644_473_600;
    if ft <= 0 {
        return None;
    }
    let secs = ft / 10_000_000 - EPOCH_DIFF_SECS;
    let ts = jiff::Timestamp::from_second(secs).ok()?;
    Some(ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// A name safe as one path component (no separators, controls or reserved characters; not `.`/`..`).
pub fn safe_component(n: &str) -> String {
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
    let s = s.trim().trim_start_matches('.').trim().to_string();
    let s: String = s.chars().take(120).collect();
    if s.is_empty() { "_".into() } else { s }
}

/// The usual extension of a MIME type, for attachments that come without a name.
pub fn extension_for(mime: &str) -> &'static str {
    match mime {
        "image/jpeg" => ".jpg",
        "image/png" => ".png",
        "image/gif" => ".gif",
        "application/pdf" => ".pdf",
        "text/plain" => ".txt",
        "text/html" => ".html",
        "message/rfc822" => ".eml",
        _ => ".bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_formatter() {
        assert_eq!(
            format_address(Some("张三"), Some("z@x.cn")).as_deref(),
            Some("张三 <z@x.cn>")
        );
        assert_eq!(
            format_address(None, Some("z@x.cn")).as_deref(),
            Some("z@x.cn")
        );
        assert_eq!(
            format_address(Some("z@x.cn"), Some("z@x.cn")).as_deref(),
            Some("z@x.cn")
        );
        assert_eq!(format_address(Some(" "), None), None);
    }

    #[test]
    fn filetime_epoch() {
        // 2022-02-03T20:01:10Z
        let ft = (1_643_918_470i64 + 11_644_473_600) * 10_000_000;
        assert_eq!(
            filetime_rfc3339(ft).as_deref(),
            Some("2022-02-03T20:01:10Z")
        );
        assert_eq!(filetime_rfc3339(0), None);
    }

    #[test]
    fn components_are_safe() {
        assert_eq!(safe_component("../a/b"), "_a_b");
        assert_eq!(safe_component(".."), "_");
        assert_eq!(safe_component("Inbox"), "Inbox");
    }
}
