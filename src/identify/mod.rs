//! Identification by content: PRONOM PUID, MIME type, format name and version, with the basis of the match.
//!
//! Identification reads a bounded prefix of each file ([`PREFIX_LEN`] bytes), plus, for a few formats, a
//! bounded amount more: the ZIP central directory (OFD, OOXML), the CFB directory (DOC/XLS/PPT) and the tail
//! of a PDF (the PDF/A claim in its XMP). It never trusts the extension: an extension that does not fit the
//! content is a warning, as in Siegfried (`pkg/pronom/identifier.go`).
//!
//! What a rule concludes — PUID, MIME, name, version, usual extensions — is data: `profiles/formats.toml`,
//! embedded at build time ([`Registry::embedded`]). Which rule matches is code in [`sniff`], [`container`]
//! and [`text`].
//!
//! ```
//! use dangan::identify::{identify_bytes, Family};
//!
//! let id = identify_bytes(b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n", Some("scan.pdf"));
//! assert_eq!(id.family, Family::Pdf);
//! assert_eq!(id.identification.puid.as_deref(), Some("fmt/18"));
//! assert!(id.identification.warnings.is_empty());
//!
//! let id = identify_bytes("关于印发精准扶贫工作方案的通知\n".as_bytes(), Some("通知.pdf"));
//! assert_eq!(id.identification.puid.as_deref(), Some("x-fmt/111"));
//! assert_eq!(id.identification.encoding.as_deref(), Some("UTF-8"));
//! assert!(id.identification.warnings[0].contains("extension"));
//! ```

pub mod container;
pub mod pronom;
pub mod sniff;
pub mod text;

use std::collections::HashMap;
use std::io::{self, Read, Seek};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::Identification;

/// How many bytes of a file identification reads before deciding (most signatures sit in the first few
/// hundred bytes; EXIF versions and RIFF `bext` chunks need a few KiB; text sniffing wants more).
pub const PREFIX_LEN: usize = 64 * 1024;

/// The embedded format registry (`profiles/formats.toml`).
pub const EMBEDDED_FORMATS: &str = include_str!("../../profiles/formats.toml");

/// Errors of the identify module.
#[derive(Debug, thiserror::Error)]
pub enum IdentifyError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    /// The format registry (TOML) is malformed or inconsistent.
    #[error("format registry: {0}")]
    Registry(String),
}

/// The format family: which handler characterizes a file (see `handler::HANDLERS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Tiff,
    Jpeg,
    Png,
    Gif,
    Bmp,
    Jp2,
    /// HEIF/HEIC/AVIF still images (ISO/IEC 23008-12).
    Heif,
    Pdf,
    Ofd,
    Wav,
    Audio,
    Mp4,
    Matroska,
    Avi,
    Eml,
    Mbox,
    Zip,
    Cfb,
    Text,
    Warc,
    Unknown,
}

/// One entry of the format registry.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FormatInfo {
    pub key: String,
    pub family: Family,
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub puid: Option<String>,
    pub mime: String,
    #[serde(default)]
    pub extensions: Vec<String>,
    /// Why there is no PUID, or another caveat; carried into the identification as a warning.
    #[serde(default)]
    pub note: Option<String>,
    /// Why dangan's own rule for this key wins over the PRONOM signatures (PRONOM lacks the format, or its
    /// bounded signatures miss what the rule sees).
    #[serde(default)]
    pub overrides_pronom: Option<String>,
}

/// A PRONOM format whose signature over-matches: its hit counts only when dangan's own rule agrees.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PronomCaveat {
    pub puid: String,
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    format: Vec<FormatInfo>,
    #[serde(default)]
    pronom_caveat: Vec<PronomCaveat>,
}

/// The table of formats identification can conclude.
#[derive(Debug, Clone)]
pub struct Registry {
    formats: Vec<FormatInfo>,
    by_key: HashMap<String, usize>,
    caveats: Vec<PronomCaveat>,
}

impl Registry {
    /// Parse a registry from TOML; every key the code can produce must be present.
    pub fn from_toml(text: &str) -> Result<Self, IdentifyError> {
        let file: RegistryFile = crate::profile::parse(text, "profiles/formats.toml")
            .map_err(|e| IdentifyError::Registry(e.to_string()))?;
        let mut by_key = HashMap::new();
        for (i, f) in file.format.iter().enumerate() {
            if by_key.insert(f.key.clone(), i).is_some() {
                return Err(IdentifyError::Registry(format!("duplicate key {}", f.key)));
            }
        }
        for key in sniff::ALL_KEYS {
            if !by_key.contains_key(*key) {
                return Err(IdentifyError::Registry(format!(
                    "key {key} is produced by the signature code but missing from the table"
                )));
            }
        }
        Ok(Registry {
            formats: file.format,
            by_key,
            caveats: file.pronom_caveat,
        })
    }

    /// The registry built into dangan (`profiles/formats.toml`).
    pub fn embedded() -> &'static Registry {
        // Parsed once per process (crate::profile); checked by the unit tests below.
        static EMBEDDED: crate::profile::Embedded<Registry> = crate::profile::Embedded::new(
            "<embedded>/profiles/formats.toml",
            EMBEDDED_FORMATS,
            |t, _| Registry::from_toml(t).map_err(|e| e.to_string()),
        );
        EMBEDDED.get()
    }

    pub fn get(&self, key: &str) -> Option<&FormatInfo> {
        self.by_key.get(key).map(|&i| &self.formats[i])
    }

    pub fn formats(&self) -> &[FormatInfo] {
        &self.formats
    }

    /// The caveat on a PRONOM format's signature, if any.
    pub fn caveat(&self, puid: &str) -> Option<&PronomCaveat> {
        self.caveats.iter().find(|c| c.puid == puid)
    }
}

/// An identification together with the registry key and family it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identified {
    /// Registry key (`jfif-1.01`, `pdfa-2b`, `ofd`, …).
    pub key: String,
    pub family: Family,
    pub identification: Identification,
}

/// What a signature rule concluded, before the registry fills in the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub key: &'static str,
    /// What matched, for the record (PREMIS eventOutcomeDetail).
    pub basis: String,
    /// A version read from the content where the registry entry has none (e.g. an unlisted PDF version).
    pub version: Option<String>,
    /// Character encoding of text formats: `UTF-8`, `UTF-16LE`, `GB18030`, `ASCII`.
    pub encoding: Option<String>,
    pub warnings: Vec<String>,
    /// Other keys the content fits equally well (a Word binary written by Kingsoft WPS is a .doc or a .wps):
    /// the file name's extension breaks the tie ([`tie_break`]).
    pub alternatives: Vec<&'static str>,
}

impl Match {
    pub fn new(key: &'static str, basis: impl Into<String>) -> Self {
        Match {
            key,
            basis: basis.into(),
            version: None,
            encoding: None,
            warnings: Vec::new(),
            alternatives: Vec::new(),
        }
    }
}

/// Where the content fits several keys equally (`m.alternatives`), the one whose usual extensions include the
/// file's extension is taken, and the basis says so; without such an extension, `m.key` stands.
pub fn tie_break(registry: &Registry, mut m: Match, name: Option<&str>) -> Match {
    let Some(ext) = name.and_then(extension) else {
        return m;
    };
    let fits = |key: &str| {
        registry
            .get(key)
            .is_some_and(|i| i.extensions.contains(&ext))
    };
    if m.alternatives.is_empty() || fits(m.key) {
        return m;
    }
    if let Some(&alt) = m.alternatives.iter().find(|k| fits(k)) {
        m.basis = format!(
            "{}; the content fits {} and {}: extension .{ext} decides",
            m.basis, m.key, alt
        );
        m.key = alt;
    }
    m
}

/// Turn a rule's match into a full identification, adding the extension check.
pub fn resolve(registry: &Registry, m: Match, name: Option<&str>) -> Identified {
    let unknown = FormatInfo {
        key: "unknown".into(),
        family: Family::Unknown,
        name: "Unknown".into(),
        version: None,
        puid: None,
        mime: "application/octet-stream".into(),
        extensions: vec![],
        note: None,
        overrides_pronom: None,
    };
    let info = registry.get(m.key).unwrap_or(&unknown);
    let mut warnings = m.warnings;
    if let Some(note) = &info.note {
        warnings.push(note.clone());
    }
    if let Some(ext) = name.and_then(extension)
        && !info.extensions.is_empty()
        && !info.extensions.iter().any(|e| e == &ext)
    {
        warnings.push(format!(
            "extension .{ext} does not match the content ({}; expected .{})",
            info.name,
            info.extensions
                .iter()
                .filter(|e| !e.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join(", .")
        ));
    }
    Identified {
        key: info.key.clone(),
        family: info.family,
        identification: Identification {
            puid: info.puid.clone(),
            mime: info.mime.clone(),
            format: info.name.clone(),
            version: info.version.clone().or(m.version),
            encoding: m.encoding,
            basis: m.basis,
            warnings,
        },
    }
}

/// The lower-case extension of a file name, if it has one.
pub fn extension(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let (stem, ext) = base.rsplit_once('.')?;
    if stem.is_empty() || ext.is_empty() || ext.len() > 10 {
        return None;
    }
    Some(ext.to_lowercase())
}

/// Identify an open file (or any seekable reader) of length `len`.
///
/// Reads the first [`PREFIX_LEN`] bytes and the last [`pronom::WINDOW`] bytes, matches the PRONOM signatures
/// (and, for ZIP and OLE2, the container signatures) and dangan's own rules, and reconciles them as described
/// in `profiles/formats.toml`.
pub fn identify_reader<R: Read + Seek>(
    reader: &mut R,
    len: u64,
    name: Option<&str>,
) -> io::Result<Identified> {
    let prefix = read_upto(reader, PREFIX_LEN.min(len.try_into().unwrap_or(usize::MAX)))?;
    let mut tail = Vec::new();
    let mut tail_offset = 0;
    if len > prefix.len() as u64 {
        tail_offset = len.saturating_sub(pronom::WINDOW as u64);
        reader.seek(io::SeekFrom::Start(tail_offset))?;
        tail = read_upto(reader, pronom::WINDOW)?;
    }
    let registry = Registry::embedded();
    let m = tie_break(registry, sniff::sniff(&prefix, len, reader)?, name);
    let Some(sigs) = pronom::signatures() else {
        let mut m = m;
        m.warnings
            .push("PRONOM signatures unavailable; identified by dangan's own rules only".into());
        return Ok(resolve(registry, m, name));
    };
    if len == 0 {
        return Ok(resolve(registry, m, name));
    }
    let tail_ref: &[u8] = if tail.is_empty() { &prefix } else { &tail };
    let rev: Vec<u8> = tail_ref.iter().rev().copied().collect();
    let data = pronom::Data {
        head: &prefix,
        tail: tail_ref,
        tail_rev: &rev,
        tail_offset,
    };
    Ok(reconcile(registry, sigs, &data, reader, m, name))
}

/// Up to `n` bytes from where `reader` stands, in as few reads as the reader allows: one buffer of the size
/// expected (a `BufReader` passes a read this large straight to the file: one system call, where growing a
/// vector by `read_to_end` took four).
fn read_upto<R: Read>(reader: &mut R, n: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0; n];
    let filled = crate::fsutil::read_full(reader, &mut buf)?;
    buf.truncate(filled);
    Ok(buf)
}

/// PRONOM's answer (binary signatures, then containers) against the hand-written rule's match `m`.
fn reconcile<R: Read + Seek>(
    registry: &'static Registry,
    sigs: &pronom::Signatures,
    data: &pronom::Data<'_>,
    reader: &mut R,
    mut m: Match,
    name: Option<&str>,
) -> Identified {
    let own = registry.get(m.key);
    if let Some(reason) = own.and_then(|i| i.overrides_pronom.as_deref()) {
        m.basis = format!("{}; dangan's own rule: {reason}", m.basis);
        return resolve(registry, m, name);
    }
    // A container trigger (ZIP, OLE2) among the raw hits opens the container, even when a more specific
    // binary signature (an ODF 'mimetype' at offset 30) has priority over the trigger.
    let raw = sigs.match_all(data);
    let trigger = raw
        .iter()
        .find_map(|h| sigs.containers.trigger(&sigs.formats[h.format].puid));
    let mut hits = sigs.apply_priorities(raw);
    let mut container_kind = None;
    let mut warnings = Vec::new();
    if let Some(kind) = trigger {
        match sigs.containers.identify(kind, reader) {
            Ok(found) if !found.is_empty() => {
                let chits = found
                    .into_iter()
                    .filter_map(|c| {
                        Some(pronom::Hit {
                            format: sigs.format_index(&c.puid)?,
                            basis: c.basis,
                        })
                    })
                    .collect::<Vec<_>>();
                if !chits.is_empty() {
                    hits = sigs.apply_priorities(chits);
                    container_kind = Some(kind);
                }
            }
            Ok(_) => {}
            Err(e) => warnings.push(e),
        }
    }
    let own_puid = own.and_then(|i| i.puid.as_deref());
    hits.retain(|h| {
        let puid = sigs.formats[h.format].puid.as_str();
        match registry.caveat(puid) {
            Some(c) if own_puid != Some(puid) => {
                m.warnings.push(format!(
                    "PRONOM signature for {puid} ({}) matches but is not taken: {}",
                    sigs.formats[h.format].name, c.reason
                ));
                false
            }
            _ => true,
        }
    });
    if hits.is_empty() {
        return resolve(registry, m, name);
    }
    // Several formats left: the extension breaks the tie, then agreement with dangan's own rule.
    let ext = name.and_then(extension);
    if hits.len() > 1
        && let Some(ext) = &ext
    {
        let by_ext: Vec<_> = hits
            .iter()
            .filter(|h| sigs.formats[h.format].extensions.contains(ext))
            .cloned()
            .collect();
        if !by_ext.is_empty() {
            hits = by_ext;
        }
    }
    if hits.len() > 1
        && let Some(i) = hits
            .iter()
            .position(|h| Some(sigs.formats[h.format].puid.as_str()) == own_puid)
    {
        hits.swap(0, i);
        hits.truncate(1);
    }
    let chosen = hits[0].clone();
    if hits.len() > 1 {
        warnings.push(format!(
            "PRONOM signatures also match {}; the first is reported",
            hits[1..]
                .iter()
                .map(|h| {
                    let f = &sigs.formats[h.format];
                    format!("{} ({})", f.puid, f.name)
                })
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let f = &sigs.formats[chosen.format];
    // PRONOM sees only the container (ZIP, OLE2) and no container signature matched, but dangan's rule found
    // a format by the container's structure (OOXML's [Content_Types].xml with word/, OFD.xml, a root
    // WordDocument stream): the more specific answer stands, with PRONOM's basis beside it.
    if sigs.containers.trigger(&f.puid).is_some()
        && let Some(info) = own
        && matches!(info.family, Family::Zip | Family::Cfb)
        && info.puid.as_deref() != Some(f.puid.as_str())
        && !matches!(info.key.as_str(), "zip" | "cfb")
    {
        m.basis = format!(
            "{}; {} (no PRONOM container signature matched)",
            m.basis, chosen.basis
        );
        m.warnings.extend(warnings);
        return resolve(registry, m, name);
    }
    // PRONOM agrees with dangan's rule: keep the rule's key (its family picks the handler) and both bases.
    if own_puid == Some(f.puid.as_str()) {
        m.basis = format!("{}; {}", chosen.basis, m.basis);
        m.warnings.extend(warnings);
        return resolve(registry, m, name);
    }
    // A key of the table with PRONOM's PUID.
    if let Some(info) = registry
        .formats()
        .iter()
        .find(|i| i.puid.as_deref() == Some(f.puid.as_str()))
    {
        let mut pm = Match::new(info.key.as_str(), chosen.basis);
        pm.warnings = warnings;
        return resolve(registry, pm, name);
    }
    // PRONOM's own description. The handler: the one of dangan's rule when that saw the same kind of file
    // (a BWF the rule calls bwf-1 and PRONOM fmt/704 is still read as WAVE), else by container.
    let family = match (own.map(|i| i.family), container_kind) {
        (Some(f), _) if f != Family::Unknown && f != Family::Text => f,
        (_, Some(pronom::container::Kind::Zip)) => Family::Zip,
        (_, Some(pronom::container::Kind::Ole2)) => Family::Cfb,
        _ => Family::Unknown,
    };
    if let Some(ext) = &ext
        && !f.extensions.is_empty()
        && !f.extensions.contains(ext)
    {
        warnings.push(format!(
            "extension .{ext} does not match the content ({}; expected .{})",
            f.name,
            f.extensions.join(", .")
        ));
    }
    Identified {
        key: f.puid.clone(),
        family,
        identification: Identification {
            puid: Some(f.puid.clone()),
            mime: f
                .mime
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
            format: f.name.clone(),
            version: f.version.clone(),
            encoding: m.encoding,
            basis: chosen.basis,
            warnings,
        },
    }
}

/// Identify a file on disk.
pub fn identify_path(path: &Path) -> Result<Identified, IdentifyError> {
    let io_err = |source| IdentifyError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = crate::fsutil::open_regular_io(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    identify_reader(&mut file, len, name.as_deref()).map_err(io_err)
}

/// Identify bytes held in memory (the whole file).
pub fn identify_bytes(bytes: &[u8], name: Option<&str>) -> Identified {
    let mut cursor = io::Cursor::new(bytes);
    match identify_reader(&mut cursor, bytes.len() as u64, name) {
        Ok(id) => id,
        // Reading from memory cannot fail; keep a defined answer anyway.
        Err(e) => resolve(
            Registry::embedded(),
            Match::new("unknown", format!("read error: {e}")),
            name,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_registry_is_complete() {
        let r = Registry::from_toml(EMBEDDED_FORMATS).unwrap();
        assert!(r.get("ofd").unwrap().puid.is_none());
        assert_eq!(r.get("tiff").unwrap().puid.as_deref(), Some("fmt/353"));
    }

    #[test]
    fn registry_rejects_missing_keys() {
        let e = Registry::from_toml(
            "[[format]]\nkey='tiff'\nfamily='tiff'\nname='T'\nmime='image/tiff'\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
    }

    fn jp2_box(brand: &[u8; 4]) -> Vec<u8> {
        let mut b = vec![
            0, 0, 0, 0x0C, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A,
        ];
        b.extend([0, 0, 0, 0x14]);
        b.extend(b"ftyp");
        b.extend(brand);
        b.extend([0, 0, 0, 0]);
        b.extend(brand);
        b.extend([0, 0, 0, 0x2D]);
        b.extend(b"jp2h");
        b
    }

    #[test]
    fn pronom_decides_and_records_its_basis() {
        let id = identify_bytes(&jp2_box(b"mjp2"), Some("clip.mj2"));
        assert_eq!(id.identification.puid.as_deref(), Some("fmt/337"));
        assert_eq!((id.key.as_str(), id.family), ("mj2", Family::Jp2));
        assert!(
            id.identification
                .basis
                .starts_with("PRONOM v109 signature 719"),
            "{id:?}"
        );
        assert!(id.identification.warnings.is_empty(), "{id:?}");
        let id = identify_bytes(&jp2_box(b"jpm "), Some("page.jpm"));
        assert_eq!(id.identification.puid.as_deref(), Some("fmt/463"));
        let id = identify_bytes(&jp2_box(b"jp2 "), None);
        assert_eq!(id.identification.puid.as_deref(), Some("x-fmt/392"));
        // GZIP: no rule of dangan's own; PRONOM's name, MIME and extensions.
        let id = identify_bytes(b"\x1f\x8b\x08\0\0\0\0\0\0\x03", Some("a.tar.gz"));
        assert_eq!(id.identification.puid.as_deref(), Some("x-fmt/266"));
        assert_eq!(id.key, "x-fmt/266");
        assert_eq!(id.identification.mime, "application/gzip");
        assert!(id.identification.warnings.is_empty(), "{id:?}");
    }

    #[test]
    fn heif_family_by_brand() {
        let mut heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
        heic.extend(b"\0\0\0\x08meta");
        let id = identify_bytes(&heic, Some("IMG_0001.HEIC"));
        assert_eq!(id.identification.puid.as_deref(), Some("fmt/1101"));
        assert_eq!(id.family, Family::Heif);
        let avif = b"\0\0\0\x18ftypavif\0\0\0\0mif1avif\0\0\0\x08meta";
        let id = identify_bytes(avif, Some("a.avif"));
        assert_eq!((id.key.as_str(), id.family), ("avif", Family::Heif));
        assert_eq!(id.identification.puid.as_deref(), Some("fmt/2062"));
        // Brands the HEIF handler reads and identification alone knows (no video fallback any more).
        for brand in [b"hevm", b"hevs", b"mif2", b"avio"] {
            let mut b = b"\0\0\0\x14ftyp".to_vec();
            b.extend(brand);
            b.extend(b"\0\0\0\0mif1\0\0\0\x08meta");
            let id = identify_bytes(&b, None);
            assert_eq!(id.family, Family::Heif, "{brand:?}: {id:?}");
        }
    }

    #[test]
    fn over_matching_pronom_signature_needs_agreement() {
        // A shell script that writes e-mail headers: PRONOM's fmt/950 matches, dangan's rule says text.
        let script = include_bytes!("../../fixtures/inspect/make.sh");
        let id = identify_bytes(script, Some("make.sh"));
        assert_eq!(
            id.identification.puid.as_deref(),
            Some("x-fmt/111"),
            "{id:?}"
        );
        assert!(
            id.identification
                .warnings
                .iter()
                .any(|w| w.contains("fmt/950")),
            "{id:?}"
        );
    }

    #[test]
    fn extension_breaks_ties_only() {
        let r = Registry::embedded();
        let tied = || {
            let mut m = Match::new(
                "doc",
                "CFB; root stream 'WordDocument'; written by Kingsoft WPS Office",
            );
            m.alternatives.push("wps");
            m
        };
        assert_eq!(tie_break(r, tied(), Some("报告.wps")).key, "wps");
        assert!(
            tie_break(r, tied(), Some("报告.wps"))
                .basis
                .contains(".wps decides")
        );
        assert_eq!(tie_break(r, tied(), Some("报告.doc")).key, "doc");
        assert_eq!(tie_break(r, tied(), Some("报告.pdf")).key, "doc");
        assert_eq!(tie_break(r, tied(), None).key, "doc");
        // No alternatives: the extension changes nothing.
        let m = Match::new("doc", "CFB; root stream 'WordDocument'");
        assert_eq!(tie_break(r, m, Some("a.wps")).key, "doc");
    }

    #[test]
    fn kingsoft_wps_2000_and_2001_headers() {
        let mut b = b"\x82\xFFWPS2000\xAE for WindowsKingsoft\xA9 1999".to_vec();
        b.extend([0u8; 64]);
        let id = identify_bytes(&b, Some("old.wps"));
        assert_eq!(id.key, "wps-2000", "{id:?}");
        let mut b = b"\x90\xFFWPS2001\xAE for Windows Kingsoft\xA9 2001".to_vec();
        b.extend([0u8; 64]);
        assert_eq!(identify_bytes(&b, Some("old.wps")).key, "wps-2001");
    }

    #[test]
    fn extensions() {
        assert_eq!(extension("a/b/photo.JPG").as_deref(), Some("jpg"));
        assert_eq!(extension(".bashrc"), None);
        assert_eq!(extension("README"), None);
    }
}
