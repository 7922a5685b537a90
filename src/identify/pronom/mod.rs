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

pub mod container;
pub mod pattern;

use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use pattern::Elem;

/// How many bytes from the beginning and from the end of a file signatures are matched against.
pub const WINDOW: usize = 64 * 1024;

/// The embedded DROID binary signature file (gzip; see `profiles/pronom/SOURCE.md`).
pub const EMBEDDED_BINARY: &[u8] =
    include_bytes!("../../../profiles/pronom/DROID_SignatureFile-v109.xml.gz");
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
        let mut parts = Vec::new();
        for s in &self.sequences {
            let part = match s.anchor {
                Anchor::Bof => {
                    let end = pattern::match_at(&s.pattern, d.head, 0)?;
                    format!("BOF {} within bytes 0–{end}", s.shown)
                }
                Anchor::Eof => {
                    let end = pattern::match_at(&s.pattern, d.tail_rev, 0)?;
                    format!("EOF {} within the last {end} bytes", s.shown)
                }
                Anchor::Variable => {
                    if let Some(end) = pattern::match_at(&s.pattern, d.head, 0) {
                        format!("{} before byte {end}", s.shown)
                    } else if d.tail_offset > 0 {
                        let end = pattern::match_at(&s.pattern, d.tail, 0)?;
                        format!("{} before byte {}", s.shown, d.tail_offset + end as u64)
                    } else {
                        return None;
                    }
                }
            };
            parts.push(part);
        }
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
    /// Signatures whose pre-test is one byte at offset 0, by the values of that byte.
    by_first_byte: Vec<Vec<u32>>,
    /// Signatures without a fixed first byte that need one of a few literals somewhere in the data.
    literals: LiteralIndex,
    /// All other signatures (tried on every file).
    unindexed: Vec<u32>,
    pub containers: container::Containers,
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
    let binary_bytes = match binary {
        Some(p) => std::borrow::Cow::Owned(crate::fsutil::read_regular(p, CAP)?),
        None => std::borrow::Cow::Borrowed(EMBEDDED_BINARY),
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
    let sigs = Signatures::load(&binary_bytes, &container_text)?;
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
            .get_or_init(|| {
                Signatures::load(EMBEDDED_BINARY, EMBEDDED_CONTAINER).map_err(|e| e.to_string())
            })
            .as_ref()
            .ok()
    }

    /// Parse a DROID binary signature file (plain or gzip'd) and a container signature file.
    pub fn load(binary: &[u8], container_xml: &str) -> Result<Signatures, SignatureError> {
        let plain;
        let xml: &[u8] = if binary.starts_with(&[0x1F, 0x8B]) {
            let mut out = Vec::with_capacity(binary.len() * 16);
            flate2::read::GzDecoder::new(binary)
                .take(256 * 1024 * 1024)
                .read_to_end(&mut out)?;
            plain = out;
            &plain
        } else {
            binary
        };
        let raw = parse_binary(xml)?;
        let mut signatures = Vec::with_capacity(raw.signatures.len());
        let mut sig_index = HashMap::new();
        for rs in raw.signatures {
            let sig = compile_signature(&rs)?;
            sig_index.insert(sig.id, signatures.len());
            signatures.push(sig);
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
        let containers = container::Containers::parse(container_xml)?;
        let mut by_first_byte = vec![Vec::new(); 256];
        let mut unindexed = Vec::new();
        let mut required = Vec::new();
        for (i, sig) in signatures.iter().enumerate() {
            match &sig.quick {
                Some(q) if q.anchor == Anchor::Bof && q.from == 0 && q.to == 0 => {
                    for (b, on) in q.set.iter().enumerate() {
                        if *on {
                            by_first_byte[b].push(i as u32);
                        }
                    }
                }
                _ => {
                    let options = requirements(&sig.sequences);
                    if options.is_empty() {
                        unindexed.push(i as u32);
                    } else {
                        required.push((i as u32, options));
                    }
                }
            }
        }
        let literals = LiteralIndex::build(choose_requirements(required))?;
        Ok(Signatures {
            by_first_byte,
            literals,
            unindexed,
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

    /// How many signatures are tried on every file (no first-byte or literal pre-test).
    pub fn unindexed_count(&self) -> usize {
        self.unindexed.len()
    }

    /// All formats whose internal signatures match, before priorities.
    pub fn match_all(&self, d: &Data<'_>) -> Vec<Hit> {
        let mut hits: Vec<Hit> = Vec::new();
        let mut seen = vec![false; self.formats.len()];
        // Only the signatures the first byte allows, those whose required literal occurs in the data, and those
        // without a pre-test, in file order.
        let indexed = d
            .head
            .first()
            .map_or(&[][..], |b| self.by_first_byte[*b as usize].as_slice());
        let mut candidates: Vec<u32> = indexed.iter().chain(&self.unindexed).copied().collect();
        self.literals.candidates(d, &mut candidates);
        candidates.sort_unstable();
        candidates.dedup();
        for si in candidates {
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

/// The literal pre-test: for each indexed signature, a few literals of which at least one must occur in any
/// file it matches (a literal every match contains, or one literal of each alternative of a choice every match
/// makes). One Aho-Corasick scan of the first and last windows finds which occur, so a signature whose literals
/// are absent is never tried.
#[derive(Debug)]
struct LiteralIndex {
    searcher: Option<aho_corasick::AhoCorasick>,
    /// For each literal (pattern id), the signatures that need it (or one of its siblings).
    signatures: Vec<Vec<u32>>,
}

impl LiteralIndex {
    fn build(required: Vec<(u32, Vec<Vec<u8>>)>) -> Result<Self, SignatureError> {
        let mut ids: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut signatures: Vec<Vec<u32>> = Vec::new();
        for (sig, lits) in required {
            for lit in lits {
                let next = ids.len();
                let id = *ids.entry(lit).or_insert(next);
                if id == signatures.len() {
                    signatures.push(Vec::new());
                }
                signatures[id].push(sig);
            }
        }
        let mut patterns = vec![Vec::new(); ids.len()];
        for (lit, id) in ids {
            patterns[id] = lit;
        }
        let searcher = if patterns.is_empty() {
            None
        } else {
            Some(
                aho_corasick::AhoCorasick::builder()
                    .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                    .build(&patterns)
                    .map_err(xml_err)?,
            )
        };
        Ok(LiteralIndex {
            searcher,
            signatures,
        })
    }

    /// Add to `out` the signatures whose literal occurs in the first or last window of `d`.
    fn candidates(&self, d: &Data<'_>, out: &mut Vec<u32>) {
        let Some(ac) = &self.searcher else { return };
        let mut found = vec![false; self.signatures.len()];
        let windows: &[&[u8]] = if d.tail_offset > 0 {
            &[d.head, d.tail]
        } else {
            &[d.head]
        };
        for w in windows {
            for m in ac.find_overlapping_iter(*w) {
                let id = m.pattern().as_usize();
                if !found[id] {
                    found[id] = true;
                    out.extend_from_slice(&self.signatures[id]);
                }
            }
        }
    }
}

/// The shortest literal worth indexing (one-byte literals occur in almost every file).
const MIN_LITERAL: usize = 2;

/// The sets of literals (in file byte order) at least one of which occurs in any data the sequences match: for
/// each top-level literal of a sequence, that literal; for each top-level choice whose every alternative has a
/// top-level literal, the longest literal of each alternative. Sets with a literal shorter than
/// [`MIN_LITERAL`] are left out.
fn requirements(sequences: &[Sequence]) -> Vec<Vec<Vec<u8>>> {
    fn longest(p: &[Elem]) -> Option<&[u8]> {
        p.iter()
            .filter_map(|e| match e {
                Elem::Lit(b) => Some(b.as_slice()),
                _ => None,
            })
            .max_by_key(|b| b.len())
    }
    let mut out = Vec::new();
    for s in sequences {
        let orient = |b: &[u8]| -> Vec<u8> {
            if s.anchor == Anchor::Eof {
                b.iter().rev().copied().collect()
            } else {
                b.to_vec()
            }
        };
        for e in &s.pattern {
            let set = match e {
                Elem::Lit(b) => Some(vec![orient(b)]),
                Elem::Alt(alts) => alts
                    .iter()
                    .map(|a| longest(a).map(orient))
                    .collect::<Option<Vec<_>>>(),
                _ => None,
            };
            // A run of one byte value (00 00, FF FF FF) occurs in the padding of nearly every binary file: as a
            // pre-test it would admit the signature almost always and cost a match report per position.
            if let Some(set) = set
                && set
                    .iter()
                    .all(|l| l.len() >= MIN_LITERAL && l.iter().any(|&b| b != l[0]))
            {
                out.push(set);
            }
        }
    }
    out
}

/// For each signature, the one set of its [`requirements`] that is rarest among all signatures' literals (a
/// `<?xml version=` that hundreds of XML formats share admits them all; their root element's namespace admits
/// one), then the one whose shortest literal is longest.
fn choose_requirements(required: Vec<(u32, Vec<Vec<Vec<u8>>>)>) -> Vec<(u32, Vec<Vec<u8>>)> {
    let mut uses: HashMap<&[u8], usize> = HashMap::new();
    for (_, options) in &required {
        let mut seen: Vec<&[u8]> = options.iter().flatten().map(Vec::as_slice).collect();
        seen.sort_unstable();
        seen.dedup();
        for lit in seen {
            *uses.entry(lit).or_default() += 1;
        }
    }
    let cost = |set: &[Vec<u8>]| {
        let common: usize = set
            .iter()
            .map(|l| uses.get(l.as_slice()).copied().unwrap_or(0))
            .sum();
        let shortest = set.iter().map(Vec::len).min().unwrap_or(0);
        (common, usize::MAX - shortest)
    };
    let chosen: Vec<(u32, usize)> = required
        .iter()
        .map(|(sig, options)| {
            let best = (0..options.len())
                .min_by_key(|&i| cost(&options[i]))
                .unwrap_or(0);
            (*sig, best)
        })
        .collect();
    drop(uses);
    required
        .into_iter()
        .zip(chosen)
        .map(|((sig, mut options), (_, best))| (sig, options.swap_remove(best)))
        .collect()
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
