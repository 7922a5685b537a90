//! PRONOM signatures as data, matched in-process with DROID's semantics.
//!
//! The DROID binary signature file (`profiles/pronom/DROID_SignatureFile-v*.xml.gz`) and the DROID container
//! signature file (`profiles/pronom/container-signature-*.xml`) are embedded and parsed once, on first use
//! ([`Signatures::embedded`]); `dangan inspect --signatures FILE --container-signatures FILE` loads newer
//! ones instead ([`use_signature_files`]).
//!
//! Matching follows DROID (`uk.gov.nationalarchives.droid.core.signature.droid6`):
//! - an internal signature matches when all of its byte sequences match; a byte sequence is anchored at the
//!   beginning of the file (`BOFoffset`), at its end (`EOFoffset`) or nowhere (variable), and is a list of
//!   subsequences, each a `Sequence` with `LeftFragment`s and `RightFragment`s (fragments of the same
//!   position are alternatives), with offsets from the anchor or from the previous subsequence;
//! - every format with a matching signature is a candidate; a candidate is dropped when another candidate has
//!   priority over it (`HasPriorityOverFileFormatID`);
//! - when a candidate is a container trigger (ZIP, OLE2), the container signatures decide ([`container`]).
//!
//! Reads are bounded: [`WINDOW`] bytes from each end of the file, as DROID's "maximum bytes to scan".
//! A BOF sequence is matched in the first window, an EOF sequence in the last, a variable one in either.

mod compact;
pub mod container;
pub mod pattern;
mod prefilter;

pub use prefilter::PrefilterStats;

use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use pattern::Elem;

/// How many bytes from the beginning and from the end of a file signatures are matched against.
pub const WINDOW: usize = 64 * 1024;

/// The embedded DROID binary signature file, in its compact form ([`compact`]; gzip; made from
/// `profiles/pronom/DROID_SignatureFile-v109.xml.gz`, see `profiles/pronom/SOURCE.md`).
pub const EMBEDDED_BINARY_COMPACT: &[u8] =
    include_bytes!("../../../profiles/pronom/DROID_SignatureFile-v109.compact.gz");
/// The embedded DROID container signature file.
pub const EMBEDDED_CONTAINER: &str =
    include_str!("../../../profiles/pronom/container-signature-20200121.xml");

/// Errors loading a signature file.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("signature file: {0}")]
    Xml(String),
    #[error("signature file: internal signature {id}: {msg}")]
    Sequence { id: u32, msg: String },
    #[error("signature file: {0}")]
    Io(#[from] std::io::Error),
}

/// One PRONOM file format of the signature file.
#[derive(Debug, Clone, Default)]
pub struct FileFormat {
    /// DROID's internal format ID (what priorities refer to).
    pub id: u32,
    pub puid: String,
    pub name: String,
    pub version: Option<String>,
    /// The first MIME type listed, if any.
    pub mime: Option<String>,
    pub extensions: Vec<String>,
    signatures: Vec<u32>,
    priority_over: Vec<u32>,
}

/// Where a byte sequence is anchored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Bof,
    Eof,
    Variable,
}

/// A compiled byte sequence. For [`Anchor::Eof`] the pattern is reversed and matched against the reversed end
/// of the file.
#[derive(Debug, Clone)]
pub struct Sequence {
    pub anchor: Anchor,
    pub pattern: Vec<Elem>,
    /// The first fixed bytes, for the basis.
    pub shown: String,
}

/// The pre-test of a signature: where its first fixed byte may be, and its possible values.
#[derive(Debug, Clone)]
struct Quick {
    anchor: Anchor,
    from: usize,
    to: usize,
    set: [bool; 256],
}

/// The widest offset range a pre-test scans.
const QUICK_SPAN: usize = 64;

/// A compiled internal signature: all sequences must match.
#[derive(Debug, Clone)]
pub struct Signature {
    pub id: u32,
    pub sequences: Vec<Sequence>,
    /// A cheap pre-test: some byte at offsets `from..=to` of the first window (or of the reversed last window)
    /// must be one of these values.
    quick: Option<Quick>,
}

impl Signature {
    /// Does the signature match? The basis of the match if so.
    pub fn matches(&self, d: &Data<'_>) -> Option<String> {
        if let Some(q) = &self.quick {
            let buf = if q.anchor == Anchor::Bof {
                d.head
            } else {
                d.tail_rev
            };
            let window = buf.get(q.from..buf.len().min(q.to + 1)).unwrap_or_default();
            if !window.iter().any(|b| q.set[*b as usize]) {
                return None;
            }
        }
        // Where each sequence's match ends (in the file for variable ones); the basis is written only once
        // all have matched (most tries fail, and a failed try then allocates nothing).
        let mut ends = [0u64; 8];
        let mut more = Vec::new();
        for (i, s) in self.sequences.iter().enumerate() {
            let end = match s.anchor {
                Anchor::Bof => pattern::match_at(&s.pattern, d.head, 0)? as u64,
                Anchor::Eof => pattern::match_at(&s.pattern, d.tail_rev, 0)? as u64,
                Anchor::Variable => {
                    if let Some(end) = pattern::match_at(&s.pattern, d.head, 0) {
                        end as u64
                    } else if d.tail_offset > 0 {
                        d.tail_offset + pattern::match_at(&s.pattern, d.tail, 0)? as u64
                    } else {
                        return None;
                    }
                }
            };
            match ends.get_mut(i) {
                Some(e) => *e = end,
                None => more.push(end),
            }
        }
        let parts: Vec<String> = self
            .sequences
            .iter()
            .zip(ends.iter().chain(&more))
            .map(|(s, end)| match s.anchor {
                Anchor::Bof => format!("BOF {} within bytes 0–{end}", s.shown),
                Anchor::Eof => format!("EOF {} within the last {end} bytes", s.shown),
                Anchor::Variable => format!("{} before byte {end}", s.shown),
            })
            .collect();
        Some(parts.join(", "))
    }
}

/// The parts of a file signatures are matched against.
pub struct Data<'a> {
    /// The first [`WINDOW`] bytes (or the whole file).
    pub head: &'a [u8],
    /// The last [`WINDOW`] bytes (the whole file when it fits in the head).
    pub tail: &'a [u8],
    /// `tail` reversed.
    pub tail_rev: &'a [u8],
    /// Offset of `tail` in the file (0 when the head holds the whole file).
    pub tail_offset: u64,
}

/// A format that matched, with the basis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Index into [`Signatures::formats`].
    pub format: usize,
    pub basis: String,
}

/// A loaded DROID signature file (and container signature file).
#[derive(Debug)]
pub struct Signatures {
    /// The signature file's `Version` attribute (the PRONOM release).
    pub version: String,
    pub formats: Vec<FileFormat>,
    signatures: Vec<Signature>,
    /// For each signature, the formats it identifies.
    sig_formats: Vec<Vec<usize>>,
    /// For each format, the formats it has priority over (indices).
    priority: Vec<Vec<usize>>,
    by_puid: HashMap<String, usize>,
    /// Which signatures are worth matching against a file.
    prefilter: prefilter::Prefilter,
    pub prefilter_stats: PrefilterStats,
    pub containers: container::Containers,
}

/// Run `a` here and `b` on a second thread, for the halves of the registry's start-up (two cores). Plain
/// threads, not rayon: the registry is built inside a `OnceLock` that rayon's workers may be waiting on.
/// A panic on the second thread becomes the error `panicked` makes.
pub(crate) fn side_by_side<A: Send, B: Send, E: Send>(
    a: impl FnOnce() -> Result<A, E>,
    b: impl FnOnce() -> Result<B, E> + Send,
    panicked: impl FnOnce() -> E,
) -> (Result<A, E>, Result<B, E>) {
    std::thread::scope(|scope| {
        let b = scope.spawn(b);
        let a = a();
        (a, b.join().unwrap_or_else(|_| Err(panicked())))
    })
}

static EMBEDDED: OnceLock<Result<Signatures, String>> = OnceLock::new();
static OVERRIDE: OnceLock<Signatures> = OnceLock::new();

/// Use the DROID binary signature file at `path` (plain or gzip'd XML) instead of the embedded one, for the
/// rest of the process. Call before the first identification.
pub fn use_signature_file(path: &std::path::Path) -> Result<&'static Signatures, SignatureError> {
    use_signature_files(Some(path), None)
}

/// Use a DROID binary signature file and/or a DROID container signature file instead of the embedded ones
/// (the one not given stays the embedded one), for the rest of the process. Call before the first
/// identification.
pub fn use_signature_files(
    binary: Option<&std::path::Path>,
    container: Option<&std::path::Path>,
) -> Result<&'static Signatures, SignatureError> {
    const CAP: u64 = 256 * 1024 * 1024;
    let raw = match binary {
        Some(p) => parse_binary(&gunzip(&crate::fsutil::read_regular(p, CAP)?)?)?,
        None => {
            compact::read(std::str::from_utf8(&gunzip(EMBEDDED_BINARY_COMPACT)?).map_err(xml_err)?)?
        }
    };
    let container_text = match container {
        Some(p) => {
            let bytes = crate::fsutil::read_regular(p, CAP)?;
            std::borrow::Cow::Owned(String::from_utf8(bytes).map_err(|_| {
                SignatureError::Xml(format!(
                    "{}: container signature file is not UTF-8",
                    p.display()
                ))
            })?)
        }
        None => std::borrow::Cow::Borrowed(EMBEDDED_CONTAINER),
    };
    let sigs = Signatures::from_raw(raw, container::Containers::parse(&container_text)?)?;
    let _ = OVERRIDE.set(sigs);
    OVERRIDE
        .get()
        .ok_or_else(|| SignatureError::Xml("signatures already set".into()))
}

/// The signatures in use: those loaded by [`use_signature_file`], else the embedded ones.
pub fn signatures() -> Option<&'static Signatures> {
    OVERRIDE.get().or_else(|| Signatures::embedded())
}

impl Signatures {
    /// The embedded signature files, parsed on first use. `None` only if the embedded data is broken, which
    /// the unit tests rule out.
    pub fn embedded() -> Option<&'static Signatures> {
        EMBEDDED
            .get_or_init(|| Signatures::load_embedded().map_err(|e| e.to_string()))
            .as_ref()
            .ok()
    }

    /// Parse a DROID binary signature file (plain or gzip'd) and a container signature file.
    pub fn load(binary: &[u8], container_xml: &str) -> Result<Signatures, SignatureError> {
        Signatures::from_raw(
            parse_binary(&gunzip(binary)?)?,
            container::Containers::parse(container_xml)?,
        )
    }

    /// The embedded signature files (the binary one in its compact form).
    fn load_embedded() -> Result<Signatures, SignatureError> {
        let text = gunzip(EMBEDDED_BINARY_COMPACT)?;
        let text = std::str::from_utf8(&text).map_err(xml_err)?;
        // The container signatures are parsed on the first ZIP or OLE2 file (most runs see none).
        Signatures::from_raw(
            compact::read(text)?,
            container::Containers::lazy(EMBEDDED_CONTAINER)?,
        )
    }

    fn from_raw(
        raw: RawBinary,
        containers: container::Containers,
    ) -> Result<Signatures, SignatureError> {
        // Compiled with their pre-test conditions, half on a second thread (start-up on two cores; plain
        // threads, not rayon: the registry is built inside a `OnceLock` that rayon's workers wait on).
        let compile =
            |part: &[RawSig]| -> Result<Vec<(Signature, Vec<prefilter::Cond>)>, SignatureError> {
                part.iter()
                    .map(|rs| {
                        let sig = compile_signature(rs)?;
                        let conds = prefilter::signature_conditions(&sig.sequences);
                        Ok((sig, conds))
                    })
                    .collect()
            };
        let (first, second) = raw.signatures.split_at(raw.signatures.len() / 2);
        let (a, b) = side_by_side(
            || compile(first),
            || compile(second),
            || xml_err("signature compilation failed"),
        );
        let (a, b) = (a?, b?);
        let mut signatures = Vec::with_capacity(raw.signatures.len());
        let mut conditions = Vec::with_capacity(raw.signatures.len());
        let mut sig_index = HashMap::new();
        for (sig, conds) in a.into_iter().chain(b) {
            sig_index.insert(sig.id, signatures.len());
            signatures.push(sig);
            conditions.push(conds);
        }
        let mut by_puid = HashMap::new();
        let mut by_id = HashMap::new();
        for (i, f) in raw.formats.iter().enumerate() {
            by_puid.entry(f.puid.clone()).or_insert(i);
            by_id.insert(f.id, i);
        }
        let mut sig_formats = vec![Vec::new(); signatures.len()];
        for (i, f) in raw.formats.iter().enumerate() {
            for s in &f.signatures {
                if let Some(&si) = sig_index.get(s) {
                    sig_formats[si].push(i);
                }
            }
        }
        let priority = raw
            .formats
            .iter()
            .map(|f| {
                f.priority_over
                    .iter()
                    .filter_map(|id| by_id.get(id).copied())
                    .collect()
            })
            .collect();
        let (prefilter, prefilter_stats) = prefilter::Prefilter::from_conditions(conditions)?;
        Ok(Signatures {
            prefilter,
            prefilter_stats,
            version: raw.version,
            formats: raw.formats,
            signatures,
            sig_formats,
            priority,
            by_puid,
            containers,
        })
    }

    /// The format with this PUID.
    pub fn format(&self, puid: &str) -> Option<&FileFormat> {
        self.by_puid.get(puid).map(|&i| &self.formats[i])
    }

    pub fn format_index(&self, puid: &str) -> Option<usize> {
        self.by_puid.get(puid).copied()
    }

    /// Number of internal signatures loaded.
    pub fn signature_count(&self) -> usize {
        self.signatures.len()
    }

    /// How many signatures are tried on every file (no byte or literal pre-test).
    pub fn unindexed_count(&self) -> usize {
        self.prefilter_stats.always
    }

    /// All formats whose internal signatures match, before priorities.
    pub fn match_all(&self, d: &Data<'_>) -> Vec<Hit> {
        let mut hits: Vec<Hit> = Vec::new();
        let mut seen = vec![false; self.formats.len()];
        // Only the signatures the pre-test admits, in file order.
        for si in self.prefilter.candidates(d) {
            let si = si as usize;
            let sig = &self.signatures[si];
            let formats = &self.sig_formats[si];
            if formats.iter().all(|&f| seen[f]) {
                continue;
            }
            if let Some(basis) = sig.matches(d) {
                for &f in formats {
                    if !seen[f] {
                        seen[f] = true;
                        hits.push(Hit {
                            format: f,
                            basis: format!(
                                "PRONOM v{} signature {}: {basis}",
                                self.version, sig.id
                            ),
                        });
                    }
                }
            }
        }
        hits
    }

    /// Drop every hit that another hit has priority over (DROID's `removeLowerPriorityHits`).
    pub fn apply_priorities(&self, hits: Vec<Hit>) -> Vec<Hit> {
        let matched: Vec<usize> = hits.iter().map(|h| h.format).collect();
        hits.into_iter()
            .filter(|h| {
                !matched
                    .iter()
                    .any(|&g| g != h.format && self.priority[g].contains(&h.format))
            })
            .collect()
    }

    /// Match and apply priorities.
    pub fn identify(&self, d: &Data<'_>) -> Vec<Hit> {
        self.apply_priorities(self.match_all(d))
    }
}

/// The bytes, gunzip'd if they are gzip (at most 256 MiB).
fn gunzip(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, SignatureError> {
    if !bytes.starts_with(&[0x1F, 0x8B]) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut out = Vec::with_capacity(bytes.len() * 8);
    flate2::read::GzDecoder::new(bytes)
        .take(256 * 1024 * 1024)
        .read_to_end(&mut out)?;
    Ok(std::borrow::Cow::Owned(out))
}

// --- Parsing -------------------------------------------------------------------------------------------------

/// A subsequence as written in the file.
#[derive(Debug, Default, Clone)]
pub(crate) struct RawSub {
    position: u32,
    min: usize,
    max: Option<usize>,
    sequence: String,
    /// (left?, position, min, max, expression)
    fragments: Vec<(bool, u32, usize, usize, String)>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct RawSeq {
    anchor: Option<Anchor>,
    subs: Vec<RawSub>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct RawSig {
    pub(crate) id: u32,
    pub(crate) seqs: Vec<RawSeq>,
}

struct RawBinary {
    version: String,
    signatures: Vec<RawSig>,
    formats: Vec<FileFormat>,
}

pub(crate) fn xml_err(e: impl std::fmt::Display) -> SignatureError {
    SignatureError::Xml(e.to_string())
}

/// The value of attribute `name` (entities resolved). Duplicate checks are off: the loader reads each
/// attribute it needs once, and the first of duplicates wins.
pub(crate) fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    let mut attrs = e.attributes();
    attrs.with_checks(false);
    let a = attrs
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)?;
    if a.value.contains('&') {
        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .ok()
            .map(|v| v.into_owned())
    } else {
        Some(a.value.into_owned())
    }
}

/// A numeric attribute, parsed without copying.
fn num<T: std::str::FromStr>(e: &BytesStart<'_>, name: &str) -> Option<T> {
    let mut attrs = e.attributes();
    attrs.with_checks(false);
    let a = attrs
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)?;
    a.value.trim().parse().ok()
}

/// The text content of the element just opened, up to its end tag (entities resolved).
pub(crate) fn text(reader: &mut Reader<&[u8]>) -> Result<String, SignatureError> {
    let mut out = String::new();
    let mut depth = 0usize;
    loop {
        match reader.read_event().map_err(xml_err)? {
            Event::Text(t) => out.push_str(&t.xml10_content()),
            Event::CData(c) => out.push_str(&c.xml10_content()),
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    _ => match r.as_ref() {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    },
                };
                out.push(c.ok_or_else(|| xml_err(format!("unknown entity &{};", &*r)))?);
            }
            Event::Start(_) => depth += 1,
            Event::End(_) if depth == 0 => return Ok(out),
            Event::End(_) => depth -= 1,
            Event::Eof => return Err(xml_err("unexpected end of file")),
            _ => {}
        }
    }
}

/// Read an `InternalSignature` element whose start tag was just read (shared with the container file).
pub(crate) fn read_internal_signature(
    reader: &mut Reader<&[u8]>,
    start: &BytesStart<'_>,
) -> Result<RawSig, SignatureError> {
    let mut sig = RawSig {
        id: num(start, "ID").unwrap_or(0),
        seqs: Vec::new(),
    };
    loop {
        match reader.read_event().map_err(xml_err)? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "ByteSequence" => {
                let anchor = match attr(&e, "Reference").as_deref() {
                    Some("BOFoffset") => Some(Anchor::Bof),
                    Some("EOFoffset") => Some(Anchor::Eof),
                    Some("") | None => Some(Anchor::Variable),
                    Some(_) => None,
                };
                sig.seqs.push(RawSeq {
                    anchor,
                    subs: Vec::new(),
                });
            }
            Event::Start(e) if e.local_name().as_ref() == "SubSequence" => {
                let sub = RawSub {
                    position: num(&e, "Position").unwrap_or(1),
                    min: num(&e, "SubSeqMinOffset").unwrap_or(0),
                    max: num(&e, "SubSeqMaxOffset"),
                    ..RawSub::default()
                };
                if let Some(seq) = sig.seqs.last_mut() {
                    seq.subs.push(sub);
                }
            }
            Event::Start(e) => {
                let name = e.local_name();
                let sub = sig.seqs.last_mut().and_then(|s| s.subs.last_mut());
                match (name.as_ref(), sub) {
                    ("Sequence", Some(sub)) => sub.sequence = text(reader)?,
                    ("LeftFragment" | "RightFragment", Some(sub)) => {
                        let left = name.as_ref() == "LeftFragment";
                        let pos = num(&e, "Position").unwrap_or(1);
                        let min = num(&e, "MinOffset").unwrap_or(0);
                        let max = num(&e, "MaxOffset").unwrap_or(min);
                        let t = text(reader)?;
                        sub.fragments.push((left, pos, min, max, t));
                    }
                    // DefaultShift, Shift and anything unknown: read past.
                    _ => {
                        text(reader)?;
                    }
                }
            }
            Event::End(e) if e.local_name().as_ref() == "InternalSignature" => return Ok(sig),
            Event::Eof => return Err(xml_err("unexpected end of file in InternalSignature")),
            _ => {}
        }
    }
}

fn parse_binary(xml: &[u8]) -> Result<RawBinary, SignatureError> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().trim_text(true);
    let mut out = RawBinary {
        version: String::new(),
        signatures: Vec::new(),
        formats: Vec::new(),
    };
    loop {
        match reader.read_event().map_err(xml_err)? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "FFSignatureFile" => {
                out.version = attr(&e, "Version").unwrap_or_default();
            }
            Event::Start(e) if e.local_name().as_ref() == "InternalSignature" => {
                out.signatures
                    .push(read_internal_signature(&mut reader, &e)?);
            }
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "FileFormat" => {
                out.formats.push(FileFormat {
                    id: num(&e, "ID").unwrap_or(0),
                    puid: attr(&e, "PUID").unwrap_or_default(),
                    name: attr(&e, "Name").unwrap_or_default(),
                    version: attr(&e, "Version").filter(|v| !v.is_empty()),
                    mime: attr(&e, "MIMEType")
                        .and_then(|m| m.split(',').next().map(|s| s.trim().to_owned()))
                        .filter(|m| !m.is_empty()),
                    ..FileFormat::default()
                });
            }
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_owned();
                if let (
                    Some(f),
                    "InternalSignatureID" | "Extension" | "HasPriorityOverFileFormatID",
                ) = (out.formats.last_mut(), name.as_str())
                {
                    let t = text(&mut reader)?;
                    let t = t.trim();
                    match name.as_str() {
                        "InternalSignatureID" => f.signatures.extend(t.parse::<u32>().ok()),
                        "Extension" => f.extensions.push(t.to_lowercase()),
                        _ => f.priority_over.extend(t.parse::<u32>().ok()),
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if out.formats.is_empty() {
        return Err(xml_err(
            "no FileFormat elements (not a DROID signature file?)",
        ));
    }
    Ok(out)
}

// --- Compiling -----------------------------------------------------------------------------------------------

fn compile_err(id: u32) -> impl Fn(String) -> SignatureError {
    move |msg| SignatureError::Sequence { id, msg }
}

/// A subsequence as one pattern: left fragments (furthest first), the sequence, right fragments.
fn compile_sub(id: u32, sub: &RawSub) -> Result<Vec<Elem>, SignatureError> {
    let err = compile_err(id);
    let mut out = Vec::new();
    for left in [true, false] {
        let mut positions: Vec<u32> = sub
            .fragments
            .iter()
            .filter(|f| f.0 == left)
            .map(|f| f.1)
            .collect();
        positions.sort_unstable();
        positions.dedup();
        if left {
            positions.reverse();
        }
        let mut part = Vec::new();
        for pos in positions {
            let mut alts = Vec::new();
            for f in sub.fragments.iter().filter(|f| f.0 == left && f.1 == pos) {
                let frag = pattern::parse(&f.4).map_err(&err)?;
                let gap = Elem::Gap {
                    min: f.2,
                    max: Some(f.3.max(f.2)),
                };
                let mut alt = Vec::new();
                if left {
                    alt.extend(frag);
                    alt.push(gap);
                } else {
                    alt.push(gap);
                    alt.extend(frag);
                }
                alts.push(alt);
            }
            if alts.len() == 1 {
                part.extend(alts.pop().unwrap_or_default());
            } else {
                part.push(Elem::Alt(alts));
            }
        }
        if left {
            out.extend(part);
            out.extend(pattern::parse(&sub.sequence).map_err(&err)?);
        } else {
            out.extend(part);
        }
    }
    Ok(out)
}

pub(crate) fn compile_sequence(id: u32, seq: &RawSeq) -> Result<Sequence, SignatureError> {
    let anchor = seq.anchor.ok_or_else(|| SignatureError::Sequence {
        id,
        msg: "unknown Reference".into(),
    })?;
    let mut subs = seq.subs.clone();
    subs.sort_by_key(|s| s.position);
    if subs.is_empty() {
        return Err(SignatureError::Sequence {
            id,
            msg: "ByteSequence without SubSequence".into(),
        });
    }
    let mut pattern = Vec::new();
    let mut shown = String::new();
    if anchor == Anchor::Eof {
        for (i, sub) in subs.iter().enumerate().rev() {
            let p = compile_sub(id, sub)?;
            if i == subs.len() - 1 {
                shown = pattern::describe(&p);
            }
            // A maximum below the minimum (it occurs in the data) is read as the minimum.
            pattern.push(Elem::Gap {
                min: sub.min,
                max: sub.max.map(|m| m.max(sub.min)),
            });
            pattern.extend(pattern::reverse(&p));
        }
    } else {
        for (i, sub) in subs.iter().enumerate() {
            let p = compile_sub(id, sub)?;
            if i == 0 {
                shown = pattern::describe(&p);
            }
            let max = if i == 0 && anchor == Anchor::Variable {
                None
            } else {
                sub.max.map(|m| m.max(sub.min))
            };
            pattern.push(Elem::Gap { min: sub.min, max });
            pattern.extend(p);
        }
    }
    Ok(Sequence {
        anchor,
        pattern,
        shown,
    })
}

pub(crate) fn compile_signature(raw: &RawSig) -> Result<Signature, SignatureError> {
    let mut sequences = raw
        .seqs
        .iter()
        .map(|s| compile_sequence(raw.id, s))
        .collect::<Result<Vec<_>, _>>()?;
    // Cheapest first: anchored sequences before variable ones.
    sequences.sort_by_key(|s| s.anchor == Anchor::Variable);
    let quick = sequences.iter().find_map(|s| {
        if s.anchor == Anchor::Variable {
            return None;
        }
        let Some(Elem::Gap {
            min,
            max: Some(max),
        }) = s.pattern.first()
        else {
            return None;
        };
        if max.saturating_sub(*min) > QUICK_SPAN {
            return None;
        }
        let bytes = pattern::first_bytes(&s.pattern[1..])?;
        let mut set = [false; 256];
        for b in bytes {
            set[b as usize] = true;
        }
        Some(Quick {
            anchor: s.anchor,
            from: *min,
            to: *max,
            set,
        })
    });
    Ok(Signature {
        id: raw.id,
        sequences,
        quick,
    })
}

#[cfg(test)]
mod tests;
