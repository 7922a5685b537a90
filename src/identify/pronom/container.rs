//! DROID container signatures: formats told apart by the entries of a ZIP or OLE2 (CFB) container.
//!
//! A container signature names files inside the container, each optionally with binary signatures on its
//! content; it matches when every file is present (and matches one of its signatures). As in DROID, an OLE2
//! path is a path from the root storage: `WordDocument` is a stream of the root storage, never one inside an
//! embedded storage (a PowerPoint 4 file holding an embedded Word document is not a Word document). Stream names
//! are compared without their leading control characters (`\x01CompObj` is `CompObj`, `\x05SummaryInformation`
//! is `SummaryInformation`), as DROID does.
//!
//! Reads are bounded: only the entries some signature needs are read, at most [`ENTRY_CAP`] bytes of each
//! (decompressed), so a ZIP bomb is never inflated.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::sync::OnceLock;

use quick_xml::Reader;
use quick_xml::events::Event;

use super::{
    Data, Signature, SignatureError, attr, compile_signature, read_internal_signature, text,
    xml_err,
};

/// At most this many bytes of one container entry are read.
pub const ENTRY_CAP: u64 = 256 * 1024;
/// ZIP archives with more entries than this are not examined.
pub const MAX_ENTRIES: usize = 200_000;

/// The kind of container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Zip,
    Ole2,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Zip => "ZIP",
            Kind::Ole2 => "OLE2",
        }
    }
}

#[derive(Debug)]
struct File {
    path: String,
    /// Any one must match the entry's content; empty: presence is enough.
    signatures: Vec<Signature>,
}

#[derive(Debug)]
struct ContainerSignature {
    id: u32,
    kind: Kind,
    description: String,
    files: Vec<File>,
}

/// A container signature file: its triggers at once, the signatures themselves parsed on first use.
///
/// Parsing and compiling the ~4,600 lines of the embedded file took a quarter of a one-file `inspect`'s
/// start-up, and most runs (a folder of photos) never open a container; [`Containers::lazy`] reads only the
/// version and the `TriggerPuid` elements (a substring search and a few dozen XML events) and leaves the rest
/// to the first [`Containers::identify`].
#[derive(Debug, Default)]
pub struct Containers {
    /// `signatureVersion` of the file.
    pub version: String,
    /// PUIDs whose binary match triggers a container check, with the container kind.
    pub triggers: Vec<(Kind, String)>,
    /// The text of a lazily parsed file (`None`: parsed at once).
    text: Option<&'static str>,
    parsed: OnceLock<Result<Parsed, String>>,
}

/// The container signatures of a file.
#[derive(Debug, Default)]
struct Parsed {
    signatures: Vec<ContainerSignature>,
    /// Container signature id → PUIDs.
    mappings: HashMap<u32, Vec<String>>,
}

/// A container signature that matched: the PUID and the basis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerHit {
    pub puid: String,
    pub basis: String,
}

impl Containers {
    /// Parse a DROID container signature file, all of it (errors are reported now).
    pub fn parse(xml: &str) -> Result<Containers, SignatureError> {
        let ((version, triggers), parsed) = parse_all(xml)?;
        Ok(Containers {
            version,
            triggers,
            text: None,
            parsed: OnceLock::from(Ok(parsed)),
        })
    }

    /// The version and triggers of a container signature file now, its signatures on first use. For the
    /// embedded file, which the unit tests parse in full (`tests::embedded_files_load`); a file given at run
    /// time is read with [`Containers::parse`], so that its errors are reported before any identification.
    pub fn lazy(xml: &'static str) -> Result<Containers, SignatureError> {
        let mut out = Containers {
            text: Some(xml),
            ..Containers::default()
        };
        let mut reader = Reader::from_reader(xml.as_bytes());
        loop {
            match reader.read_event().map_err(xml_err)? {
                Event::Start(e) if e.local_name().as_ref() == "ContainerSignatureMapping" => {
                    out.version = attr(&e, "signatureVersion").unwrap_or_default();
                    break;
                }
                Event::Eof => return Err(xml_err("no ContainerSignatureMapping element")),
                _ => {}
            }
        }
        // The triggers sit after the signatures and mappings: read from the last `<TriggerPuids` on.
        let at = xml
            .rfind("<TriggerPuids")
            .ok_or_else(|| xml_err("no TriggerPuids element"))?;
        let mut reader = Reader::from_reader(&xml.as_bytes()[at..]);
        loop {
            match reader.read_event().map_err(xml_err)? {
                Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "TriggerPuid" => {
                    out.triggers.extend(trigger(&e));
                }
                Event::End(e) if e.local_name().as_ref() == "TriggerPuids" => break,
                Event::Eof => break,
                _ => {}
            }
        }
        Ok(out)
    }

    /// The signatures, parsed now if they were left for later.
    fn parsed(&self) -> Result<&Parsed, String> {
        self.parsed
            .get_or_init(|| match self.text {
                Some(xml) => parse_all(xml)
                    .map(|(_, p)| p)
                    .map_err(|e| format!("container signature file: {e}")),
                None => Err("container signature file not loaded".into()),
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The container kind a binary match of `puid` triggers.
    pub fn trigger(&self, puid: &str) -> Option<Kind> {
        self.triggers
            .iter()
            .find(|(_, p)| p == puid)
            .map(|(k, _)| *k)
    }

    /// Match the container signatures of `kind` against the container in `reader`.
    pub fn identify<R: Read + Seek>(
        &self,
        kind: Kind,
        reader: &mut R,
    ) -> Result<Vec<ContainerHit>, String> {
        let parsed = self.parsed()?;
        let mut entries: Box<dyn Entries> = match kind {
            Kind::Zip => Box::new(ZipEntries::open(reader)?),
            Kind::Ole2 => Box::new(Ole2Entries::open(reader)?),
        };
        let mut hits = Vec::new();
        for cs in parsed.signatures.iter().filter(|c| c.kind == kind) {
            let mut shown = Vec::new();
            let mut all = true;
            for f in &cs.files {
                if !entries.has(&f.path) {
                    all = false;
                    break;
                }
                if f.signatures.is_empty() {
                    shown.push(format!("entry {}", f.path));
                    continue;
                }
                let Some(content) = entries.content(&f.path) else {
                    all = false;
                    break;
                };
                let rev: Vec<u8> = content.iter().rev().copied().collect();
                let d = Data {
                    head: content,
                    tail: content,
                    tail_rev: &rev,
                    tail_offset: 0,
                };
                match f.signatures.iter().find_map(|s| s.matches(&d)) {
                    Some(b) => shown.push(format!("entry {} ({b})", f.path)),
                    None => {
                        all = false;
                        break;
                    }
                }
            }
            if !all {
                continue;
            }
            for puid in parsed.mappings.get(&cs.id).into_iter().flatten() {
                hits.push(ContainerHit {
                    puid: puid.clone(),
                    basis: format!(
                        "PRONOM container signature {} ({}, file version {}): {} {}",
                        cs.id,
                        cs.description,
                        self.version,
                        kind.name(),
                        shown.join("; ")
                    ),
                });
            }
        }
        Ok(hits)
    }
}

/// The `TriggerPuid` element's container kind and PUID.
fn trigger(e: &quick_xml::events::BytesStart<'_>) -> Option<(Kind, String)> {
    let kind = match attr(e, "ContainerType").as_deref() {
        Some("ZIP") => Kind::Zip,
        Some("OLE2") => Kind::Ole2,
        _ => return None,
    };
    Some((kind, attr(e, "Puid")?))
}

/// Parse a whole container signature file: version, triggers, signatures.
/// The version and the triggers of a container signature file.
type Header = (String, Vec<(Kind, String)>);

fn parse_all(xml: &str) -> Result<(Header, Parsed), SignatureError> {
    let mut reader = Reader::from_reader(xml.as_bytes());
    reader.config_mut().trim_text(true);
    let mut version = String::new();
    let mut triggers = Vec::new();
    let mut parsed = Parsed::default();
    loop {
        match reader.read_event().map_err(xml_err)? {
            Event::Start(e) if e.local_name().as_ref() == "ContainerSignatureMapping" => {
                version = attr(&e, "signatureVersion").unwrap_or_default();
            }
            Event::Start(e) if e.local_name().as_ref() == "ContainerSignature" => {
                let kind = match attr(&e, "ContainerType").as_deref() {
                    Some("ZIP") => Some(Kind::Zip),
                    Some("OLE2") => Some(Kind::Ole2),
                    _ => None,
                };
                let id = attr(&e, "Id").and_then(|v| v.parse().ok()).unwrap_or(0);
                let cs = read_container_signature(&mut reader, id)?;
                if let Some(kind) = kind {
                    parsed.signatures.push(ContainerSignature { kind, ..cs });
                }
            }
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "FileFormatMapping" => {
                if let (Some(id), Some(puid)) = (
                    attr(&e, "signatureId").and_then(|v| v.parse().ok()),
                    attr(&e, "Puid"),
                ) {
                    parsed.mappings.entry(id).or_default().push(puid);
                }
            }
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "TriggerPuid" => {
                triggers.extend(trigger(&e));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if parsed.signatures.is_empty() {
        return Err(xml_err(
            "no ContainerSignature elements (not a container signature file?)",
        ));
    }
    Ok(((version, triggers), parsed))
}

fn read_container_signature(
    reader: &mut Reader<&[u8]>,
    id: u32,
) -> Result<ContainerSignature, SignatureError> {
    let mut cs = ContainerSignature {
        id,
        kind: Kind::Zip,
        description: String::new(),
        files: Vec::new(),
    };
    loop {
        match reader.read_event().map_err(xml_err)? {
            Event::Start(e) => match e.local_name().as_ref() {
                "Description" => cs.description = text(reader)?.trim().to_owned(),
                "File" => cs.files.push(File {
                    path: String::new(),
                    signatures: Vec::new(),
                }),
                "Path" => {
                    let p = text(reader)?.trim().to_owned();
                    if let Some(f) = cs.files.last_mut() {
                        f.path = p;
                    }
                }
                "InternalSignature" => {
                    let raw = read_internal_signature(reader, &e)?;
                    let sig = compile_signature(&raw)?;
                    if let Some(f) = cs.files.last_mut() {
                        f.signatures.push(sig);
                    }
                }
                _ => {}
            },
            Event::End(e) if e.local_name().as_ref() == "ContainerSignature" => return Ok(cs),
            Event::Eof => return Err(xml_err("unexpected end of file in ContainerSignature")),
            _ => {}
        }
    }
}

/// Access to the entries of a container, with content cached.
trait Entries {
    fn has(&self, path: &str) -> bool;
    fn content(&mut self, path: &str) -> Option<&[u8]>;
}

struct ZipEntries<'r, R: Read + Seek> {
    archive: zip::ZipArchive<&'r mut R>,
    names: HashMap<String, usize>,
    cache: HashMap<String, Option<Vec<u8>>>,
}

impl<'r, R: Read + Seek> ZipEntries<'r, R> {
    fn open(reader: &'r mut R) -> Result<Self, String> {
        reader.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
        let archive = zip::ZipArchive::new(reader)
            .map_err(|e| format!("ZIP central directory unreadable: {e}"))?;
        if archive.len() > MAX_ENTRIES {
            return Err(format!(
                "{} ZIP entries (limit {MAX_ENTRIES}): members not examined",
                archive.len()
            ));
        }
        let names = archive
            .file_names()
            .enumerate()
            .filter_map(|(i, n)| n.ok().map(|n| (n.into_owned(), i)))
            .collect();
        Ok(ZipEntries {
            archive,
            names,
            cache: HashMap::new(),
        })
    }
}

impl<R: Read + Seek> Entries for ZipEntries<'_, R> {
    fn has(&self, path: &str) -> bool {
        if self.names.contains_key(path) {
            return true;
        }
        // A directory path exists when an entry lies under it (directories need not have entries of their own).
        path.ends_with('/') && self.names.keys().any(|n| n.starts_with(path))
    }

    fn content(&mut self, path: &str) -> Option<&[u8]> {
        if !self.cache.contains_key(path) {
            let data = self.names.get(path).and_then(|&i| {
                let entry = self.archive.by_index(i).ok()?;
                let mut buf = Vec::new();
                entry.take(ENTRY_CAP).read_to_end(&mut buf).ok()?;
                Some(buf)
            });
            self.cache.insert(path.to_owned(), data);
        }
        self.cache.get(path).and_then(|c| c.as_deref())
    }
}

/// A CFB stream or storage name without leading control characters.
pub fn clean_name(name: &str) -> &str {
    name.trim_start_matches(|c: char| (c as u32) < 0x20)
}

struct Ole2Entries<'r, R: Read + Seek> {
    cf: cfb::CompoundFile<&'r mut R>,
    /// Normalized path from the root ("CompObj", "ObjectPool/_123/WordDocument") → real path.
    paths: HashMap<String, std::path::PathBuf>,
    cache: HashMap<String, Option<Vec<u8>>>,
}

impl<'r, R: Read + Seek> Ole2Entries<'r, R> {
    fn open(reader: &'r mut R) -> Result<Self, String> {
        reader.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
        let cf = cfb::CompoundFile::open(reader)
            .map_err(|e| format!("CFB directory unreadable: {e}"))?;
        let mut paths = HashMap::new();
        for e in cf.walk() {
            let real = e.path().to_path_buf();
            let norm: Vec<&str> = real
                .components()
                .filter_map(|c| match c {
                    std::path::Component::Normal(s) => s.to_str().map(clean_name),
                    _ => None,
                })
                .collect();
            if !norm.is_empty() {
                paths.insert(norm.join("/"), real);
            }
        }
        Ok(Ole2Entries {
            cf,
            paths,
            cache: HashMap::new(),
        })
    }
}

impl<R: Read + Seek> Entries for Ole2Entries<'_, R> {
    fn has(&self, path: &str) -> bool {
        self.paths.contains_key(path)
    }

    fn content(&mut self, path: &str) -> Option<&[u8]> {
        if !self.cache.contains_key(path) {
            let data = self.paths.get(path).and_then(|real| {
                let stream = self.cf.open_stream(real).ok()?;
                let mut buf = Vec::new();
                stream.take(ENTRY_CAP).read_to_end(&mut buf).ok()?;
                Some(buf)
            });
            self.cache.insert(path.to_owned(), data);
        }
        self.cache.get(path).and_then(|c| c.as_deref())
    }
}
