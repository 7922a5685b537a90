//! E-mail characterization: EML and Outlook MSG (one message), MBOX and Outlook PST (mailboxes), all read
//! through the one message model of [`crate::email`].
//!
//! A mailbox is summarised without holding its messages: count, folder tree (PST), date range, senders,
//! the first subjects, attachment count and bytes, and for PST the header's encoding. A password-protected
//! or encrypted PST is refused with an `unsupported` error naming the protection, never guessed.

use std::collections::BTreeSet;

use serde::Serialize;

use super::{Characterization, Handler, HandlerError, Limits, Source};
use crate::email::{self, EmailError, Message};
use crate::identify::{Family, Identified};

pub struct Eml;
pub struct Mbox;
pub struct Msg;
pub struct Pst;

/// MIME type of Outlook MSG in `profiles/formats.toml`.
pub const MSG_MIME: &str = "application/vnd.ms-outlook";
/// MIME type of Outlook PST in `profiles/formats.toml`.
pub const PST_MIME: &str = "application/vnd.ms-outlook-pst";

/// How many subjects and senders a mailbox summary lists.
const FIRST: usize = 10;

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
    /// MSG: whether the message carries its transport headers (PR_TRANSPORT_MESSAGE_HEADERS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport_headers: Option<bool>,
}

/// One folder of a PST and its message count.
pub use crate::email::pst::FolderInfo;

/// A mailbox (MBOX, PST) summarised.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MboxInfo {
    pub message_count: u64,
    /// The first message, characterized like an EML file.
    pub first_message: Option<EmailInfo>,
    /// PST: every folder of the IPM subtree with its path and message count.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub folders: Vec<FolderInfo>,
    /// Earliest and latest message date (RFC 3339).
    pub date_first: Option<String>,
    pub date_last: Option<String>,
    /// Distinct senders, the first ten in order of appearance.
    pub senders: Vec<String>,
    pub sender_count: u64,
    /// Subjects of the first ten messages.
    pub subjects: Vec<String>,
    pub attachment_count: u64,
    pub attachment_bytes: u64,
    /// PST: `none`, `permute` or `cyclic` (NDB obfuscation, [MS-PST] 5.1–5.2; not encryption).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// PST: `ANSI` or `Unicode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pst_kind: Option<String>,
    /// Messages that could not be read (each also a warning).
    pub unreadable: u64,
}

/// Mailbox summary built one message at a time.
#[derive(Default)]
pub struct Summary {
    info: MboxInfo,
    senders: BTreeSet<String>,
    first: Option<(jiff::Timestamp, String)>,
    last: Option<(jiff::Timestamp, String)>,
}

impl Summary {
    pub fn add(&mut self, m: &Message) {
        let i = &mut self.info;
        i.message_count += 1;
        if i.first_message.is_none() {
            i.first_message = Some(info_of(m, None));
        }
        if i.subjects.len() < FIRST {
            i.subjects.push(m.subject.clone().unwrap_or_default());
        }
        for s in &m.from {
            if self.senders.insert(s.clone()) && i.senders.len() < FIRST {
                i.senders.push(s.clone());
            }
        }
        i.sender_count = self.senders.len() as u64;
        i.attachment_count += m.attachments.len() as u64;
        i.attachment_bytes += m.attachment_bytes();
        if let Some(d) = &m.date
            && let Ok(t) = d.parse::<jiff::Timestamp>()
        {
            if self.first.as_ref().is_none_or(|(f, _)| t < *f) {
                self.first = Some((t, d.clone()));
            }
            if self.last.as_ref().is_none_or(|(l, _)| t > *l) {
                self.last = Some((t, d.clone()));
            }
        }
    }

    pub fn finish(mut self) -> MboxInfo {
        self.info.date_first = self.first.map(|f| f.1);
        self.info.date_last = self.last.map(|l| l.1);
        self.info
    }
}

/// The bounds of the e-mail readers, from the handler's.
pub fn email_limits(l: &Limits) -> email::Limits {
    email::Limits {
        max_part: l.max_in_memory / 2,
        max_messages: l.max_pages.max(1_000_000),
        max_depth: l.max_depth,
        ..email::Limits::default()
    }
}

/// The one mapping of reader errors to handler errors: protection is `unsupported` (dangan does not
/// decrypt), a bound is `limit_exceeded`.
pub fn handler_error(e: EmailError) -> HandlerError {
    match e {
        EmailError::Malformed { format, detail } => HandlerError::malformed(format, detail),
        EmailError::Protected { format, detail } => {
            HandlerError::unsupported(format, format!("protected, not read: {detail}"))
        }
        EmailError::Limit { what, value, limit } => {
            HandlerError::LimitExceeded { what, value, limit }
        }
        EmailError::Io(e) => e.into(),
    }
}

fn info_of(m: &Message, raw: Option<&[u8]>) -> EmailInfo {
    EmailInfo {
        from: m.from.clone(),
        to: m.to.clone(),
        cc: m.cc.clone(),
        date: m.date.clone(),
        subject: m.subject.clone(),
        message_id: m.message_id.clone(),
        mime_version: raw.and_then(email::eml::mime_version),
        charset: raw.and_then(email::eml::declared_charset),
        attachments: m
            .attachments
            .iter()
            .map(|a| Attachment {
                name: a.name.clone(),
                size: a.bytes.len() as u64,
                mime: a.mime.clone(),
            })
            .collect(),
        transport_headers: None,
    }
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

impl Handler for Msg {
    fn name(&self) -> &'static str {
        "msg"
    }
    fn summary(&self) -> &'static str {
        "Outlook MSG ([MS-OXMSG]): from, to, cc, date, subject, message-id, attachments, transport headers"
    }
    fn families(&self) -> &'static [Family] {
        &[]
    }
    fn mimes(&self) -> &'static [&'static str] {
        &[MSG_MIME]
    }
    fn characterize(
        &self,
        src: &mut Source,
        _id: &Identified,
        limits: &Limits,
    ) -> Result<Characterization, HandlerError> {
        let m =
            email::msg::read(src.take_reader(), &email_limits(limits)).map_err(handler_error)?;
        let mut info = info_of(&m, None);
        info.transport_headers = Some(m.headers.is_some());
        Ok(Characterization {
            email: Some(info),
            warnings: m.warnings,
            ..Default::default()
        })
    }
}

impl Handler for Mbox {
    fn name(&self) -> &'static str {
        "mbox"
    }
    fn summary(&self) -> &'static str {
        "MBOX: message count, date range, senders, first subjects, attachments"
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

impl Handler for Pst {
    fn name(&self) -> &'static str {
        "pst"
    }
    fn summary(&self) -> &'static str {
        "Outlook PST ([MS-PST]): message count, folder tree, date range, senders, subjects, attachments, protection"
    }
    fn families(&self) -> &'static [Family] {
        &[]
    }
    fn mimes(&self) -> &'static [&'static str] {
        &[PST_MIME]
    }
    fn characterize(
        &self,
        src: &mut Source,
        _id: &Identified,
        limits: &Limits,
    ) -> Result<Characterization, HandlerError> {
        let len = src.len();
        let mut sum = Summary::default();
        let r = email::pst::read(src.take_reader(), len, &email_limits(limits), &mut |m| {
            sum.add(&m);
            true
        })
        .map_err(handler_error)?;
        let mut info = sum.finish();
        info.folders = r.folders;
        info.encoding = r.header.as_ref().map(|h| h.encoding.to_string());
        info.pst_kind = r.header.as_ref().map(|h| h.kind.to_string());
        Ok(Characterization {
            pst: Some(info),
            warnings: r.warnings,
            ..Default::default()
        })
    }
}

/// Characterize one RFC 5322 message.
pub fn parse(raw: &[u8], limits: &Limits) -> Result<EmailInfo, HandlerError> {
    let m = email::eml::read(raw, &email_limits(limits), false).map_err(handler_error)?;
    Ok(info_of(&m, Some(raw)))
}

/// Summarise an MBOX: every message is read (one at a time) for the date range, senders and attachments.
pub fn mbox(raw: &[u8], limits: &Limits) -> Result<MboxInfo, HandlerError> {
    let parts = email::mbox::split(raw)
        .ok_or_else(|| HandlerError::malformed("MBOX", "does not start with a 'From ' line"))?;
    let el = email_limits(limits);
    limits.check("MBOX messages", parts.len() as u64, el.max_messages)?;
    let mut sum = Summary::default();
    let mut unreadable = 0;
    for (k, p) in parts.iter().enumerate() {
        let bytes = &raw[p.message.clone()];
        match email::eml::read(bytes, &el, false) {
            Ok(m) => {
                if k == 0 {
                    sum.info.first_message = Some(info_of(&m, Some(bytes)));
                }
                sum.add(&m);
            }
            Err(_) => {
                unreadable += 1;
                sum.info.message_count += 1;
            }
        }
    }
    let mut info = sum.finish();
    info.unreadable = unreadable;
    Ok(info)
}
