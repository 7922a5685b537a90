//! Outlook PST ([MS-PST]) into the [`Message`] model, through Microsoft's `outlook-pst` crate.
//!
//! Before the crate sees a file, dangan checks what the crate does not:
//! - the header ([MS-PST] 2.2.2.6): `!BDN`, `SM`, the version (ANSI 14/15, Unicode 23; Unicode with 4 KiB
//!   pages, 36, is refused as unsupported: the crate reads 512-byte pages only);
//! - protection: `bCryptMethod` 0x10 (NDB_CRYPT_EDPCRYPTED, Windows Information Protection) is refused,
//!   and so is a store with a password (PidTagPstPassword, 0x67FF, non-zero) — refused with a clear finding,
//!   never guessed. NDB_CRYPT_PERMUTE and NDB_CRYPT_CYCLIC (5.1, 5.2) are obfuscation, not encryption: read,
//!   and reported as such;
//! - the two B-trees (node and block BTree, 2.2.2.7.7): `outlook-pst` 1.2 descends an intermediate page's
//!   entries recursively without remembering the pages it has seen, so a page that points back to itself
//!   recurses until the stack overflows and the process aborts (no panic to catch). dangan walks both trees
//!   first with a visited set and the level rule (a child page's `cLevel` is its parent's minus one), which
//!   bounds the crate's recursion to the tree's depth (at most 8 levels). This walker reads only B-tree
//!   pages (offsets, `cLevel`, `cEnt`, `cbEnt`); it is not an NDB reader.
//!
//! Folders are walked from the IPM subtree with a visited set of folder node ids and a depth bound; messages
//! are counted against [`Limits::max_messages`] and handed to the caller one at a time, so memory holds one
//! message (and its attachments) at a time.

use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom};
use std::rc::Rc;

use outlook_pst::ltp::prop_context::PropertyValue;
use outlook_pst::ltp::prop_type::PropertyType;
use outlook_pst::ltp::table_context::TableContext;
use outlook_pst::messaging::attachment::{
    AnsiAttachment, Attachment as PstAttachment, AttachmentData, UnicodeAttachment,
};
use outlook_pst::messaging::message::{AnsiMessage, Message as PstMessage, UnicodeMessage};
use outlook_pst::messaging::store::{AnsiStore, EntryId, Store, UnicodeStore};
use outlook_pst::ndb::node_id::NodeId;
use outlook_pst::{AnsiPstFile, UnicodePstFile};
use serde::Serialize;

use super::msg::{self, Props, Value};
use super::{Attachment, EmailError, Limits, Message};

const F: &str = "Outlook PST";
const PAGE: u64 = 512;

/// What the header says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Header {
    /// `ANSI` or `Unicode`.
    pub kind: &'static str,
    pub version: u16,
    /// `none`, `permute` (NDB_CRYPT_PERMUTE, obfuscation), `cyclic` (NDB_CRYPT_CYCLIC, obfuscation).
    pub encoding: &'static str,
}

/// One folder of the tree, with its path and how many messages it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FolderInfo {
    pub path: String,
    pub message_count: u64,
}

/// Read and check the header ([MS-PST] 2.2.2.6); returns it and the offsets of the NBT and BBT roots.
pub fn header<R: Read + Seek>(r: &mut R, len: u64) -> Result<(Header, u64, u64), EmailError> {
    let mut h = Vec::with_capacity(564);
    r.seek(SeekFrom::Start(0))?;
    r.by_ref().take(564).read_to_end(&mut h)?;
    if h.len() < 516 || &h[0..4] != b"!BDN" || &h[8..10] != b"SM" {
        return Err(EmailError::malformed(
            F,
            "no '!BDN' … 'SM' header ([MS-PST] 2.2.2.6), or the file is truncated",
        ));
    }
    let version = u16::from_le_bytes([h[10], h[11]]);
    let u64at = |o: usize| u64::from_le_bytes(h[o..o + 8].try_into().unwrap_or([0; 8]));
    let u32at = |o: usize| u64::from(u32::from_le_bytes(h[o..o + 4].try_into().unwrap_or([0; 4])));
    let (kind, nbt, bbt, crypt) = match version {
        14 | 15 => ("ANSI", u32at(188), u32at(196), h[461]),
        23 => ("Unicode", u64at(224), u64at(240), h[513]),
        36 => {
            return Err(EmailError::malformed(
                F,
                "Unicode PST with 4 KiB pages (wVer 36): not read by outlook-pst 1.2 (unsupported)",
            ));
        }
        v => {
            return Err(EmailError::malformed(
                F,
                format!("wVer {v} is neither ANSI (14, 15) nor Unicode (23) ([MS-PST] 2.2.2.6)"),
            ));
        }
    };
    let encoding = match crypt {
        0x00 => "none",
        0x01 => "permute",
        0x02 => "cyclic",
        0x10 => {
            return Err(EmailError::Protected {
                format: F,
                detail: "bCryptMethod 0x10 (NDB_CRYPT_EDPCRYPTED): encrypted with Windows Information Protection; not decrypted".into(),
            });
        }
        c => {
            return Err(EmailError::malformed(
                F,
                format!("bCryptMethod 0x{c:02x} is not defined ([MS-PST] 2.2.2.6)"),
            ));
        }
    };
    // ROOT.ibFileEof (2.2.2.5): the size the file had when Outlook last closed it.
    let eof = if kind == "Unicode" {
        u64at(184)
    } else {
        u32at(168)
    };
    if eof > len {
        return Err(EmailError::malformed(
            F,
            format!(
                "the header gives the file {eof} bytes (ROOT.ibFileEof, [MS-PST] 2.2.2.5), it has {len}: truncated"
            ),
        ));
    }
    if nbt.saturating_add(PAGE) > len || bbt.saturating_add(PAGE) > len {
        return Err(EmailError::malformed(
            F,
            format!(
                "B-tree root page at {nbt} / {bbt} lies beyond the end of the file ({len} bytes): truncated"
            ),
        ));
    }
    Ok((
        Header {
            kind,
            version,
            encoding,
        },
        nbt,
        bbt,
    ))
}

/// Walk one B-tree from its root page with a visited set and the level rule ([MS-PST] 2.2.2.7.7.1).
pub fn check_btree<R: Read + Seek>(
    r: &mut R,
    len: u64,
    root: u64,
    unicode: bool,
    which: &str,
) -> Result<u64, EmailError> {
    let (n_entries_at, entries_len) = if unicode { (488, 488) } else { (496, 496) };
    let mut seen = HashSet::new();
    let mut stack = vec![(root, None::<u8>)];
    let mut page = vec![0u8; PAGE as usize];
    while let Some((ib, want)) = stack.pop() {
        if !seen.insert(ib) {
            return Err(EmailError::malformed(
                F,
                format!(
                    "{which} B-tree: page at offset {ib} is reached twice (a loop or a shared page; [MS-PST] 2.2.2.7.7)"
                ),
            ));
        }
        if ib.saturating_add(PAGE) > len {
            return Err(EmailError::malformed(
                F,
                format!(
                    "{which} B-tree: page at offset {ib} lies beyond the end of the file ({len} bytes): truncated"
                ),
            ));
        }
        r.seek(SeekFrom::Start(ib))?;
        r.read_exact(&mut page)?;
        let c_ent = usize::from(page[n_entries_at]);
        let cb_ent = usize::from(page[n_entries_at + 2]);
        let level = page[n_entries_at + 3];
        if level > 8 || want.is_some_and(|w| w != level) {
            return Err(EmailError::malformed(
                F,
                format!(
                    "{which} B-tree: page at offset {ib} has cLevel {level}, expected {} ([MS-PST] 2.2.2.7.7.1)",
                    want.map_or("0–8".to_string(), |w| w.to_string())
                ),
            ));
        }
        if cb_ent == 0 || c_ent * cb_ent > entries_len {
            return Err(EmailError::malformed(
                F,
                format!(
                    "{which} B-tree: page at offset {ib} has {c_ent} entries of {cb_ent} bytes"
                ),
            ));
        }
        if level == 0 {
            continue;
        }
        for k in 0..c_ent {
            let e = &page[k * cb_ent..(k + 1) * cb_ent];
            // BTENTRY: btkey, then BREF (bid, ib).
            let child = if unicode {
                e.get(16..24)
                    .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
            } else {
                e.get(8..12)
                    .map(|b| u64::from(u32::from_le_bytes(b.try_into().unwrap_or([0; 4]))))
            };
            let Some(child) = child else {
                return Err(EmailError::malformed(
                    F,
                    format!("{which} B-tree: entry {k} of the page at {ib} is too short"),
                ));
            };
            stack.push((child, Some(level - 1)));
        }
    }
    Ok(seen.len() as u64)
}

/// Everything [`read`] learned about the container besides its messages.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub header: Option<Header>,
    pub display_name: Option<String>,
    pub folders: Vec<FolderInfo>,
    pub message_count: u64,
    pub warnings: Vec<String>,
}

fn convert(v: &PropertyValue, cp: i64) -> Option<(u16, Value)> {
    let ty = u16::from(PropertyType::from(v));
    let val = match v {
        PropertyValue::Null => return None,
        PropertyValue::Integer16(i) => Value::Int(i64::from(*i)),
        PropertyValue::Integer32(i) | PropertyValue::ErrorCode(i) => Value::Int(i64::from(*i)),
        PropertyValue::Integer64(i) | PropertyValue::Currency(i) => Value::Int(*i),
        PropertyValue::Boolean(b) => Value::Bool(*b),
        PropertyValue::Time(t) => Value::Time(*t),
        PropertyValue::String8(s) => {
            let b = s.buffer();
            let b = b.strip_suffix(&[0]).unwrap_or(b);
            Value::Text(msg::codepage(cp).decode(b).0.into_owned())
        }
        PropertyValue::Unicode(s) => Value::Text(
            String::from_utf16_lossy(s.buffer())
                .trim_end_matches('\0')
                .to_string(),
        ),
        PropertyValue::Binary(b) => Value::Bytes(b.buffer().to_vec()),
        other => Value::Repr(format!("{other:?}")),
    };
    Some((ty, val))
}

fn props_of<'a>(it: impl Iterator<Item = (&'a u16, &'a PropertyValue)>, cp: i64) -> Props {
    it.filter_map(|(id, v)| convert(v, cp).map(|x| (*id, x)))
        .collect()
}

fn codepage_of(it: impl Iterator<Item = (u16, i64)>) -> i64 {
    let mut cp = None;
    let mut internet = None;
    for (id, v) in it {
        match id {
            0x3FDE => internet = Some(v),
            0x3FFD => cp = Some(v),
            _ => {}
        }
    }
    internet.or(cp).unwrap_or(1252)
}

fn table_props(t: &dyn TableContext, cp: i64) -> Vec<(u32, Props)> {
    let ctx = t.context();
    let mut out = Vec::new();
    for row in t.rows_matrix() {
        let mut p = Props::new();
        if let Ok(cols) = row.columns(ctx) {
            for (col, val) in ctx.columns().iter().zip(cols) {
                let Some(val) = val else { continue };
                if let Ok(v) = t.read_column(&val, col.prop_type())
                    && let Some(x) = convert(&v, cp)
                {
                    p.insert(col.prop_id(), x);
                }
            }
        }
        out.push((u32::from(row.id()), p));
    }
    out
}

/// Read a PST from `path`: the header and B-tree checks, then every message of the IPM subtree, handed to
/// `visit` one at a time with its folder path. `visit` returns `false` to stop.
pub fn read<R: Read + Seek + 'static>(
    mut file: R,
    len: u64,
    limits: &Limits,
    visit: &mut dyn FnMut(Message) -> bool,
) -> Result<Summary, EmailError> {
    let (hdr, nbt, bbt) = header(&mut file, len)?;
    let unicode = hdr.kind == "Unicode";
    check_btree(&mut file, len, nbt, unicode, "node")?;
    check_btree(&mut file, len, bbt, unicode, "block")?;
    file.seek(SeekFrom::Start(0))?;
    let mut summary = Summary {
        header: Some(hdr),
        ..Default::default()
    };
    // Read-only (never `outlook_pst::open_store`, which opens the file for writing too), with the concrete
    // types the attachment reader needs.
    let typed = Typed::open(file, unicode)?;
    let store: Rc<dyn Store> = match &typed {
        Typed::Unicode(s) => s.clone(),
        Typed::Ansi(s) => s.clone(),
    };
    let props = store.properties();
    if let Some(PropertyValue::Integer32(pw)) = props.get(0x67FF)
        && *pw != 0
    {
        return Err(EmailError::Protected {
            format: F,
            detail: "the store has a password (PidTagPstPassword 0x67FF is set); not opened".into(),
        });
    }
    summary.display_name = props.display_name().ok();
    let root = props
        .ipm_sub_tree_entry_id()
        .map_err(|e| EmailError::malformed(F, format!("no IPM subtree: {e}")))?;
    let mut seen = HashSet::new();
    let mut stop = false;
    walk(
        &store,
        &typed,
        &root,
        "",
        0,
        limits,
        &mut seen,
        &mut summary,
        visit,
        &mut stop,
    )?;
    Ok(summary)
}

/// The concrete store, for reading messages with their attachments.
enum Typed {
    Unicode(Rc<UnicodeStore>),
    Ansi(Rc<AnsiStore>),
}

impl Typed {
    fn open<R: Read + Seek + 'static>(file: R, unicode: bool) -> Result<Self, EmailError> {
        let io = |e: std::io::Error| EmailError::malformed(F, e.to_string());
        Ok(if unicode {
            let pst = UnicodePstFile::read_from(Box::new(file)).map_err(io)?;
            Typed::Unicode(UnicodeStore::read(Rc::new(pst)).map_err(io)?)
        } else {
            let pst = AnsiPstFile::read_from(Box::new(file)).map_err(io)?;
            Typed::Ansi(AnsiStore::read(Rc::new(pst)).map_err(io)?)
        })
    }

    /// The message's properties, recipient rows and attachments (properties + data).
    #[allow(clippy::type_complexity)]
    fn message(
        &self,
        id: &EntryId,
        limits: &Limits,
    ) -> std::io::Result<(
        Rc<dyn PstMessage>,
        Vec<(Props, Option<AttachmentBody>)>,
        Vec<String>,
    )> {
        let mut warnings = Vec::new();
        macro_rules! read_with {
            ($store:expr, $msg:ty, $att:ty) => {{
                let m = <$msg>::read($store.clone(), id, None)?;
                let mut atts = Vec::new();
                if let Some(t) = m.attachment_table() {
                    for row in t.rows_matrix() {
                        if atts.len() as u64 >= limits.max_attachments {
                            warnings.push(format!(
                                "more than {} attachments: the rest are not extracted",
                                limits.max_attachments
                            ));
                            break;
                        }
                        let node = NodeId::from(u32::from(row.id()));
                        match <$att>::read(m.clone(), node, None) {
                            Ok(a) => {
                                let p = props_of(a.properties().iter(), 1252);
                                let body = match a.data() {
                                    Some(AttachmentData::Binary(b)) => {
                                        Some(AttachmentBody::Bytes(b.buffer().to_vec()))
                                    }
                                    Some(AttachmentData::Message(em)) => {
                                        Some(AttachmentBody::Message(em.clone()))
                                    }
                                    None => None,
                                };
                                atts.push((p, body));
                            }
                            Err(e) => warnings.push(format!("attachment unreadable: {e}")),
                        }
                    }
                }
                let m: Rc<dyn PstMessage> = m;
                (m, atts)
            }};
        }
        let (m, atts) = match self {
            Typed::Unicode(s) => read_with!(s, UnicodeMessage, UnicodeAttachment),
            Typed::Ansi(s) => read_with!(s, AnsiMessage, AnsiAttachment),
        };
        Ok((m, atts, warnings))
    }
}

enum AttachmentBody {
    Bytes(Vec<u8>),
    Message(Rc<dyn PstMessage>),
}

/// A PST message object (properties and recipients) in the model; attachments are added by the caller.
fn to_model(m: &dyn PstMessage, limits: &Limits, warnings: &mut Vec<String>) -> Message {
    let ints = m.properties().iter().filter_map(|(id, v)| match v {
        PropertyValue::Integer32(i) => Some((*id, i64::from(*i))),
        _ => None,
    });
    let cp = codepage_of(ints);
    let p = props_of(m.properties().iter(), cp);
    let mut out = msg::from_props(&p, cp, limits, warnings);
    let (mut to, mut cc, mut bcc) = (Vec::new(), Vec::new(), Vec::new());
    if let Some(t) = m.recipient_table() {
        for (_, rp) in table_props(t.as_ref(), cp) {
            if let Some((kind, a)) = msg::recipient(&rp) {
                match kind {
                    2 => cc.push(a),
                    3 => bcc.push(a),
                    _ => to.push(a),
                }
            }
        }
    }
    msg::set_recipients(&mut out, &p, to, cc, bcc);
    out
}

#[allow(clippy::too_many_arguments)]
fn walk(
    store: &Rc<dyn Store>,
    typed: &Typed,
    entry: &EntryId,
    path: &str,
    depth: u32,
    limits: &Limits,
    seen: &mut HashSet<u32>,
    summary: &mut Summary,
    visit: &mut dyn FnMut(Message) -> bool,
    stop: &mut bool,
) -> Result<(), EmailError> {
    if !seen.insert(u32::from(entry.node_id())) {
        summary.warnings.push(format!(
            "folder node {:?} appears twice in the folder tree (a loop): not walked again",
            entry.node_id()
        ));
        return Ok(());
    }
    EmailError::check("PST folders", seen.len() as u64, limits.max_folders)?;
    if depth > limits.max_depth {
        return Err(EmailError::Limit {
            what: "PST folder depth",
            value: u64::from(depth),
            limit: u64::from(limits.max_depth),
        });
    }
    let folder = store
        .open_folder(entry)
        .map_err(|e| EmailError::malformed(F, format!("folder '{path}': {e}")))?;
    let mut count = 0u64;
    if let Some(contents) = folder.contents_table() {
        let ids: Vec<u32> = contents.rows_matrix().map(|r| u32::from(r.id())).collect();
        for id in ids {
            if *stop {
                break;
            }
            summary.message_count += 1;
            EmailError::check("PST messages", summary.message_count, limits.max_messages)?;
            count += 1;
            let eid = store
                .properties()
                .make_entry_id(NodeId::from(id))
                .map_err(|e| EmailError::malformed(F, e.to_string()))?;
            let mut warnings = Vec::new();
            let mut m = match typed.message(&eid, limits) {
                Ok((pm, atts, w)) => {
                    warnings.extend(w);
                    let mut m = to_model(pm.as_ref(), limits, &mut warnings);
                    for (p, body) in atts {
                        let mut a: Attachment = msg::attachment_from(&p);
                        match body {
                            Some(AttachmentBody::Bytes(b)) => {
                                if b.len() as u64 > limits.max_part {
                                    warnings.push(format!(
                                        "attachment of {} bytes over the limit {}: not extracted",
                                        b.len(),
                                        limits.max_part
                                    ));
                                    continue;
                                }
                                a.bytes = b;
                            }
                            Some(AttachmentBody::Message(em)) => {
                                let inner = to_model(em.as_ref(), limits, &mut warnings);
                                a.mime = "message/rfc822".into();
                                a.bytes = super::write::eml(&inner);
                                a.message = Some(Box::new(inner));
                            }
                            None => {}
                        }
                        m.attachments.push(a);
                    }
                    m
                }
                Err(e) => {
                    summary
                        .warnings
                        .push(format!("message {id:#x} in '{path}' unreadable: {e}"));
                    continue;
                }
            };
            m.folder = path.to_string();
            m.warnings.extend(warnings);
            if !visit(m) {
                *stop = true;
            }
        }
    }
    let name_here = path.to_string();
    if depth > 0 || !name_here.is_empty() {
        summary.folders.push(FolderInfo {
            path: name_here.clone(),
            message_count: count,
        });
    }
    let Some(h) = folder.hierarchy_table() else {
        return Ok(());
    };
    let children: Vec<u32> = h.rows_matrix().map(|r| u32::from(r.id())).collect();
    for c in children {
        if *stop {
            break;
        }
        let eid = store
            .properties()
            .make_entry_id(NodeId::from(c))
            .map_err(|e| EmailError::malformed(F, e.to_string()))?;
        let name = store
            .open_folder(&eid)
            .ok()
            .and_then(|f| f.properties().display_name().ok())
            .unwrap_or_else(|| format!("{c:#x}"));
        let child_path = if path.is_empty() {
            name
        } else {
            format!("{path}/{name}")
        };
        walk(
            store,
            typed,
            &eid,
            &child_path,
            depth + 1,
            limits,
            seen,
            summary,
            visit,
            stop,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn sample() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/email/outlook2019.pst.gz"
        );
        let mut out = Vec::new();
        let f = std::fs::File::open(path).unwrap();
        flate2::read::GzDecoder::new(f)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn protection_is_refused_and_obfuscation_reported() {
        let b = sample();
        let len = b.len() as u64;
        let (h, nbt, bbt) = header(&mut Cursor::new(&b), len).unwrap();
        assert_eq!((h.kind, h.version, h.encoding), ("Unicode", 23, "permute"));
        assert!(check_btree(&mut Cursor::new(&b), len, nbt, true, "node").unwrap() >= 1);
        assert!(check_btree(&mut Cursor::new(&b), len, bbt, true, "block").unwrap() >= 1);
        // NDB_CRYPT_EDPCRYPTED ([MS-PST] 2.2.2.6 bCryptMethod 0x10): refused, not guessed.
        let mut enc = b.clone();
        enc[513] = 0x10;
        assert!(matches!(
            header(&mut Cursor::new(&enc), len),
            Err(EmailError::Protected { .. })
        ));
        // 4 KiB pages (wVer 36): said to be unsupported, not misread.
        let mut v36 = b.clone();
        v36[10] = 36;
        let e = header(&mut Cursor::new(&v36), len).unwrap_err().to_string();
        assert!(e.contains("4 KiB"), "{e}");
    }

    #[test]
    fn a_child_page_at_the_wrong_level_is_refused() {
        let mut b = sample();
        let len = b.len() as u64;
        let nbt = u64::from_le_bytes(b[224..232].try_into().unwrap()) as usize;
        // Root made level 3 with one entry pointing at the block B-tree's root (level 0 or 1, not 2).
        b[nbt + 491] = 3;
        b[nbt + 488] = 1;
        b[nbt + 490] = 24;
        let bbt = u64::from_le_bytes(b[240..248].try_into().unwrap());
        b[nbt + 16..nbt + 24].copy_from_slice(&bbt.to_le_bytes());
        let e = check_btree(&mut Cursor::new(&b), len, nbt as u64, true, "node")
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected 2"), "{e}");
    }
}
