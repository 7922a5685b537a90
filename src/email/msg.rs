//! Outlook MSG ([MS-OXMSG]) into the [`Message`] model, through the `cfb` crate ([MS-CFB]).
//!
//! An MSG is a compound file: the message's fixed-size properties in `__properties_version1.0` (a header,
//! then 16-byte entries: tag, flags, value — [MS-OXMSG] 2.4), variable-size ones in
//! `__substg1.0_IIIITTTT` streams (2.1.3), recipients in `__recip_version1.0_#N` storages, attachments in
//! `__attach_version1.0_#N` (2.2.2), an attached message in the attachment's `__substg1.0_3701000D`
//! storage (2.2.2.1). `msg_parser` was judged and not used: it reads streams without size bounds, drops
//! attachments' content IDs and embedded messages, and keeps no unmapped properties.
//!
//! Every stream is checked against [`Limits::max_part`] before it is read (its size comes from the CFB
//! directory, which a damaged file may set to anything).

use std::collections::BTreeMap;
use std::io::{Read, Seek};

use super::{Attachment, EmailError, Limits, Message, filetime_rfc3339, format_address};

const F: &str = "Outlook MSG";

// Property ids used for the EML ([MS-OXPROPS]); everything else goes to the sidecar.
const PR_SUBJECT: u16 = 0x0037;
const PR_CLIENT_SUBMIT_TIME: u16 = 0x0039;
const PR_SENT_REPRESENTING_NAME: u16 = 0x0042;
const PR_SENT_REPRESENTING_EMAIL: u16 = 0x0065;
const PR_TRANSPORT_MESSAGE_HEADERS: u16 = 0x007D;
const PR_SENDER_NAME: u16 = 0x0C1A;
const PR_SENDER_EMAIL: u16 = 0x0C1F;
const PR_DISPLAY_BCC: u16 = 0x0E02;
const PR_DISPLAY_CC: u16 = 0x0E03;
const PR_DISPLAY_TO: u16 = 0x0E04;
const PR_MESSAGE_DELIVERY_TIME: u16 = 0x0E06;
const PR_BODY: u16 = 0x1000;
const PR_RTF_COMPRESSED: u16 = 0x1009;
const PR_HTML: u16 = 0x1013;
const PR_INTERNET_MESSAGE_ID: u16 = 0x1035;
const PR_INTERNET_CPID: u16 = 0x3FDE;
const PR_MESSAGE_CODEPAGE: u16 = 0x3FFD;
const PR_SENDER_SMTP: u16 = 0x5D01;
const PR_SENT_REPRESENTING_SMTP: u16 = 0x5D02;
const PR_RECIPIENT_TYPE: u16 = 0x0C15;
const PR_DISPLAY_NAME: u16 = 0x3001;
const PR_EMAIL_ADDRESS: u16 = 0x3003;
const PR_SMTP_ADDRESS: u16 = 0x39FE;
const PR_ATTACH_DATA: u16 = 0x3701;
const PR_ATTACH_FILENAME: u16 = 0x3704;
const PR_ATTACH_METHOD: u16 = 0x3705;
const PR_ATTACH_LONG_FILENAME: u16 = 0x3707;
const PR_ATTACH_MIME_TAG: u16 = 0x370E;
const PR_ATTACH_CONTENT_ID: u16 = 0x3712;
const PR_ATTACHMENT_HIDDEN: u16 = 0x7FFE;

/// Ids carried by the EML (not repeated in the sidecar).
const CARRIED: &[u16] = &[
    PR_SUBJECT,
    PR_CLIENT_SUBMIT_TIME,
    PR_SENT_REPRESENTING_NAME,
    PR_SENT_REPRESENTING_EMAIL,
    PR_TRANSPORT_MESSAGE_HEADERS,
    PR_SENDER_NAME,
    PR_SENDER_EMAIL,
    PR_DISPLAY_BCC,
    PR_DISPLAY_CC,
    PR_DISPLAY_TO,
    PR_BODY,
    PR_RTF_COMPRESSED,
    PR_HTML,
    PR_INTERNET_MESSAGE_ID,
    PR_SENDER_SMTP,
    PR_SENT_REPRESENTING_SMTP,
];

/// A property value as read.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Bool(bool),
    Time(i64),
    Text(String),
    Bytes(Vec<u8>),
    Other(u16, Vec<u8>),
    /// A value shown as its reader's description (multi-valued, GUID, floating point).
    Repr(String),
}

impl Value {
    pub fn text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s.as_str()),
            _ => None,
        }
    }

    fn display(&self) -> String {
        match self {
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Time(t) => filetime_rfc3339(*t).unwrap_or_else(|| t.to_string()),
            Value::Text(s) => s.clone(),
            Value::Bytes(b) | Value::Other(_, b) => hex(&b[..b.len().min(4096)]),
            Value::Repr(s) => s.clone(),
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Properties of one object (message, recipient, attachment), by id.
pub type Props = BTreeMap<u16, (u16, Value)>;

/// The Windows code page of an MSG/PST string8 as an encoding_rs label ([MS-OXCDATA]; code pages seen in
/// Chinese and Japanese mail first).
pub fn codepage(cp: i64) -> &'static encoding_rs::Encoding {
    let label: &[u8] = match cp {
        936 => b"gbk",
        54936 => b"gb18030",
        950 => b"big5",
        932 => b"shift_jis",
        50220..=50222 => b"iso-2022-jp",
        51932 | 20932 => b"euc-jp",
        949 | 51949 => b"euc-kr",
        65001 => b"utf-8",
        20127 | 1252 | 28591 => b"windows-1252",
        1250 => b"windows-1250",
        1251 => b"windows-1251",
        28592 => b"iso-8859-2",
        20866 => b"koi8-r",
        _ => b"windows-1252",
    };
    encoding_rs::Encoding::for_label(label).unwrap_or(encoding_rs::WINDOWS_1252)
}

struct Reader<'a, R: Read + Seek> {
    cfb: &'a mut cfb::CompoundFile<R>,
    limits: &'a Limits,
    warnings: Vec<String>,
}

impl<R: Read + Seek> Reader<'_, R> {
    fn stream(&mut self, path: &str) -> Result<Option<Vec<u8>>, EmailError> {
        if !self.cfb.is_stream(path) {
            return Ok(None);
        }
        let len = self
            .cfb
            .entry(path)
            .map_err(|e| EmailError::malformed(F, format!("{path}: {e}")))?
            .len();
        EmailError::check("MSG stream size", len, self.limits.max_part)?;
        let mut s = self
            .cfb
            .open_stream(path)
            .map_err(|e| EmailError::malformed(F, format!("{path}: {e}")))?;
        let mut buf = Vec::with_capacity(len as usize);
        s.read_to_end(&mut buf)
            .map_err(|e| EmailError::malformed(F, format!("{path}: {e}")))?;
        if buf.len() as u64 != len {
            return Err(EmailError::malformed(
                F,
                format!("{path}: {} bytes read, {len} declared", buf.len()),
            ));
        }
        Ok(Some(buf))
    }

    /// The properties of the object in storage `dir` ([MS-OXMSG] 2.4): `header` is 32 for the top-level
    /// message, 24 for an embedded message, 8 for recipients and attachments.
    fn props(&mut self, dir: &str, header: usize, cp: i64) -> Result<Props, EmailError> {
        let ps = self
            .stream(&format!("{dir}/__properties_version1.0"))?
            .ok_or_else(|| {
                EmailError::malformed(F, format!("{dir}: no __properties_version1.0 stream"))
            })?;
        let mut out = Props::new();
        let entries = ps.get(header..).unwrap_or_default();
        for e in entries.chunks_exact(16) {
            let tag = u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
            let (id, ty) = ((tag >> 16) as u16, (tag & 0xFFFF) as u16);
            let v = &e[8..16];
            let le32 = i32::from_le_bytes([v[0], v[1], v[2], v[3]]);
            let le64 = i64::from_le_bytes([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]]);
            let value = match ty {
                0x0002 => Value::Int(i64::from(i16::from_le_bytes([v[0], v[1]]))),
                0x0003 | 0x000A => Value::Int(i64::from(le32)),
                0x0014 => Value::Int(le64),
                0x000B => Value::Bool(v[0] != 0),
                0x0040 => Value::Time(le64),
                0x001F | 0x001E | 0x0102 => {
                    let path = format!("{dir}/__substg1.0_{tag:08X}");
                    let Some(b) = self.stream(&path)? else {
                        continue;
                    };
                    match ty {
                        0x001F => Value::Text(utf16(&b)),
                        0x001E => {
                            let b = b.strip_suffix(&[0]).unwrap_or(&b);
                            Value::Text(codepage(cp).decode(b).0.into_owned())
                        }
                        _ => Value::Bytes(b),
                    }
                }
                0x000D => Value::Other(ty, Vec::new()),
                _ => Value::Other(ty, v.to_vec()),
            };
            out.insert(id, (ty, value));
        }
        Ok(out)
    }
}

fn utf16(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let s = String::from_utf16_lossy(&units);
    s.trim_end_matches('\0').to_string()
}

fn text(p: &Props, id: u16) -> Option<String> {
    p.get(&id)
        .and_then(|(_, v)| v.text())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn int(p: &Props, id: u16) -> Option<i64> {
    match p.get(&id) {
        Some((_, Value::Int(i))) => Some(*i),
        _ => None,
    }
}

/// Decompress PR_RTF_COMPRESSED ([MS-OXRTFCP]) after checking what the `compressed-rtf` crate assumes
/// (a 16-byte header, a size that fits the bound), so a hostile header cannot make it allocate or panic.
pub fn decompress_rtf(b: &[u8], limits: &Limits) -> Option<Vec<u8>> {
    let raw_size = u32::from_le_bytes(b.get(4..8)?.try_into().ok()?);
    let comp_size = u32::from_le_bytes(b.get(0..4)?.try_into().ok()?);
    if b.len() < 16
        || comp_size as usize + 4 != b.len()
        || u64::from(raw_size) > limits.max_part
        || raw_size as usize > b.len().saturating_mul(64) + 4096
        || (b.get(8..12)? == b"MELA" && raw_size as usize + 16 > b.len())
    {
        return None;
    }
    let s = compressed_rtf::decompress_rtf(b).ok()?;
    Some(s.chars().map(|c| c as u32 as u8).collect())
}

/// Whether a cfb directory holds an MSG (the streams [MS-OXMSG] 2.1 requires at the root).
pub fn looks_like_msg<R: Read + Seek>(cfb: &cfb::CompoundFile<R>) -> bool {
    cfb.is_stream("/__properties_version1.0") && cfb.is_storage("/__nameid_version1.0")
}

/// Read an MSG.
pub fn read<R: Read + Seek>(reader: R, limits: &Limits) -> Result<Message, EmailError> {
    let mut cfb = cfb::CompoundFile::open(reader)
        .map_err(|e| EmailError::malformed(F, format!("compound file: {e}")))?;
    if !looks_like_msg(&cfb) {
        return Err(EmailError::malformed(
            F,
            "no __properties_version1.0 stream and __nameid_version1.0 storage at the root ([MS-OXMSG] 2.1)",
        ));
    }
    let mut r = Reader {
        cfb: &mut cfb,
        limits,
        warnings: Vec::new(),
    };
    let mut m = message(&mut r, "", 32, 0)?;
    m.warnings.append(&mut r.warnings);
    Ok(m)
}

fn message<R: Read + Seek>(
    r: &mut Reader<'_, R>,
    dir: &str,
    header: usize,
    depth: u32,
) -> Result<Message, EmailError> {
    // The code page first (a fixed-size property), then the strings with it.
    let p0 = r.props(dir, header, 1252)?;
    let cp = int(&p0, PR_INTERNET_CPID)
        .or_else(|| int(&p0, PR_MESSAGE_CODEPAGE))
        .unwrap_or(1252);
    let p = if p0.values().any(|(ty, _)| *ty == 0x001E) {
        r.props(dir, header, cp)?
    } else {
        p0
    };
    let mut m = from_props(&p, cp, r.limits, &mut r.warnings);
    // Recipients and attachments: storages of this object, in order.
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        dir.to_string()
    };
    let children: Vec<(String, bool)> = r
        .cfb
        .read_storage(if dir.is_empty() { "/" } else { dir })
        .map_err(|e| EmailError::malformed(F, format!("{dir}: {e}")))?
        .filter(|e| e.is_storage())
        .map(|e| {
            (
                e.name().to_string(),
                e.name().starts_with("__recip_version1.0_"),
            )
        })
        .filter(|(n, _)| {
            n.starts_with("__recip_version1.0_") || n.starts_with("__attach_version1.0_")
        })
        .collect();
    let (mut to, mut cc, mut bcc) = (Vec::new(), Vec::new(), Vec::new());
    for (name, is_recip) in children {
        let sub = format!("{prefix}/{name}");
        if is_recip {
            let rp = r.props(&sub, 8, cp)?;
            if let Some((kind, a)) = recipient(&rp) {
                match kind {
                    2 => cc.push(a),
                    3 => bcc.push(a),
                    _ => to.push(a),
                }
            }
            continue;
        }
        if m.attachments.len() as u64 >= r.limits.max_attachments {
            r.warnings.push(format!(
                "more than {} attachments: the rest are not extracted",
                r.limits.max_attachments
            ));
            break;
        }
        m.attachments.push(attachment(r, &sub, cp, depth)?);
    }
    set_recipients(&mut m, &p, to, cc, bcc);
    Ok(m)
}

/// The recipient lists; without recipient objects, the display lists ([MS-OXPROPS] PidTagDisplayTo) are
/// what there is.
pub(crate) fn set_recipients(
    m: &mut Message,
    p: &Props,
    mut to: Vec<String>,
    mut cc: Vec<String>,
    mut bcc: Vec<String>,
) {
    if to.is_empty() && cc.is_empty() {
        let split = |s: Option<String>| -> Vec<String> {
            s.map(|s| {
                s.split(';')
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
        };
        to = split(text(p, PR_DISPLAY_TO));
        cc = split(text(p, PR_DISPLAY_CC));
        bcc = split(text(p, PR_DISPLAY_BCC));
    }
    m.to = to;
    m.cc = cc;
    m.bcc = bcc;
}

/// One recipient object: its type (1 To, 2 Cc, 3 Bcc; PidTagRecipientType) and address.
pub(crate) fn recipient(rp: &Props) -> Option<(i64, String)> {
    let a = format_address(
        text(rp, PR_DISPLAY_NAME).as_deref(),
        text(rp, PR_SMTP_ADDRESS)
            .or_else(|| text(rp, PR_EMAIL_ADDRESS).filter(|e| e.contains('@')))
            .as_deref(),
    )?;
    Some((int(rp, PR_RECIPIENT_TYPE).unwrap_or(1), a))
}

/// A subject may begin with 0x01 and a character giving the length of its prefix ("RE: ")
/// ([MS-OXCMSG] 2.2.1.46 PidTagSubjectPrefix); the marker is not part of the subject.
fn strip_prefix_marker(s: &str) -> String {
    let mut c = s.chars();
    if c.next() == Some('\u{1}') {
        c.next();
        return c.as_str().to_string();
    }
    s.to_string()
}

/// The message-level part of the model from its properties (MSG and PST alike).
pub(crate) fn from_props(
    p: &Props,
    cp: i64,
    limits: &Limits,
    warnings: &mut Vec<String>,
) -> Message {
    let mut m = Message {
        subject: text(p, PR_SUBJECT).map(|s| strip_prefix_marker(&s)),
        headers: text(p, PR_TRANSPORT_MESSAGE_HEADERS),
        message_id: text(p, PR_INTERNET_MESSAGE_ID),
        text: p
            .get(&PR_BODY)
            .and_then(|(_, v)| v.text())
            .map(str::to_string),
        ..Default::default()
    };
    let from = format_address(
        text(p, PR_SENT_REPRESENTING_NAME)
            .or_else(|| text(p, PR_SENDER_NAME))
            .as_deref(),
        text(p, PR_SENT_REPRESENTING_SMTP)
            .or_else(|| text(p, PR_SENDER_SMTP))
            .or_else(|| text(p, PR_SENT_REPRESENTING_EMAIL).filter(|e| e.contains('@')))
            .or_else(|| text(p, PR_SENDER_EMAIL).filter(|e| e.contains('@')))
            .as_deref(),
    );
    m.from.extend(from);
    let time = match p
        .get(&PR_CLIENT_SUBMIT_TIME)
        .or_else(|| p.get(&PR_MESSAGE_DELIVERY_TIME))
    {
        Some((_, Value::Time(t))) => Some(*t),
        _ => None,
    };
    m.date = time.and_then(filetime_rfc3339);
    m.html = match p.get(&PR_HTML) {
        Some((_, Value::Bytes(b))) => Some(codepage(cp).decode(b).0.into_owned()),
        Some((_, Value::Text(s))) => Some(s.clone()),
        _ => None,
    };
    if let Some((_, Value::Bytes(b))) = p.get(&PR_RTF_COMPRESSED) {
        m.rtf = decompress_rtf(b, limits);
        if m.rtf.is_none() {
            warnings.push(
                "PR_RTF_COMPRESSED could not be decompressed ([MS-OXRTFCP]); kept in the sidecar"
                    .into(),
            );
        }
    }
    for (id, (ty, v)) in p {
        if CARRIED.contains(id) && !(*id == PR_RTF_COMPRESSED && m.rtf.is_none()) {
            continue;
        }
        m.properties.push(super::Property {
            tag: format!("0x{id:04X}{ty:04X}"),
            value: v.display(),
        });
    }
    m
}

fn attachment<R: Read + Seek>(
    r: &mut Reader<'_, R>,
    dir: &str,
    cp: i64,
    depth: u32,
) -> Result<Attachment, EmailError> {
    let p = r.props(dir, 8, cp)?;
    let method = int(&p, PR_ATTACH_METHOD).unwrap_or(1);
    let mut a = attachment_from(&p);
    let embedded = format!("{dir}/__substg1.0_3701000D");
    if method == 5 && r.cfb.is_storage(&embedded) {
        if depth >= r.limits.max_depth {
            return Err(EmailError::Limit {
                what: "embedded message depth",
                value: u64::from(depth) + 1,
                limit: u64::from(r.limits.max_depth),
            });
        }
        let inner = message(r, &embedded, 24, depth + 1)?;
        a.mime = "message/rfc822".into();
        a.bytes = super::write::eml(&inner);
        a.message = Some(Box::new(inner));
    }
    Ok(a)
}

/// An attachment object's name, type, content ID and data (MSG and PST alike).
pub(crate) fn attachment_from(p: &Props) -> Attachment {
    let mut a = Attachment {
        name: text(p, PR_ATTACH_LONG_FILENAME)
            .or_else(|| text(p, PR_ATTACH_FILENAME))
            .or_else(|| text(p, PR_DISPLAY_NAME)),
        mime: text(p, PR_ATTACH_MIME_TAG)
            .map(|s| s.to_ascii_lowercase())
            .unwrap_or_else(|| "application/octet-stream".into()),
        content_id: text(p, PR_ATTACH_CONTENT_ID),
        inline: matches!(p.get(&PR_ATTACHMENT_HIDDEN), Some((_, Value::Bool(true)))),
        bytes: Vec::new(),
        message: None,
    };
    if let Some((_, Value::Bytes(b))) = p.get(&PR_ATTACH_DATA) {
        a.bytes = b.clone();
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string8_code_pages_of_chinese_and_japanese_mail() {
        let (gbk, _, _) = encoding_rs::GBK.encode("扶贫资金");
        assert_eq!(codepage(936).decode(&gbk).0, "扶贫资金");
        let (gb, _, _) = encoding_rs::GB18030.encode("𠀀扶贫");
        assert_eq!(codepage(54936).decode(&gb).0, "𠀀扶贫");
        let (jp, _, _) = encoding_rs::ISO_2022_JP.encode("会議");
        assert_eq!(codepage(50220).decode(&jp).0, "会議");
    }

    #[test]
    fn hostile_rtf_headers_are_refused_before_decompression() {
        let l = Limits::default();
        assert_eq!(decompress_rtf(b"", &l), None);
        assert_eq!(decompress_rtf(&[0; 10], &l), None);
        // Declares 4 GiB raw from 16 bytes.
        let mut b = 12u32.to_le_bytes().to_vec();
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        b.extend_from_slice(b"LZFu");
        b.extend_from_slice(&[0; 4]);
        assert_eq!(decompress_rtf(&b, &l), None);
    }

    #[test]
    fn subject_prefix_marker_is_dropped() {
        assert_eq!(strip_prefix_marker("\u{1}\u{4}RE: x"), "RE: x");
        assert_eq!(strip_prefix_marker("plain"), "plain");
    }
}
