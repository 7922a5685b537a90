//! Characterization: technical metadata for each identified file, one handler per format family.
//!
//! Every handler is listed once in [`HANDLERS`] (sorted by name, checked by a test), says which families it
//! characterizes, and reads headers only: no handler decodes pixel data or audio/video streams. Untrusted
//! input is bounded by [`Limits`]; errors say who is at fault ([`HandlerError`]), in the manner of
//! image-tiff's `TiffError`.
//!
//! [`inspect_path`] runs identification and characterization for one file and never fails: problems end up
//! in the report's `error` object, so one bad file never stops a batch.
//!
//! ```no_run
//! use dangan::handler::{inspect_path, Options};
//!
//! let report = inspect_path(std::path::Path::new("photo.jpg"), &Options::default());
//! if let Some(exif) = &report.characterization.exif {
//!     println!("{:?} {:?}", exif.make, exif.gps_latitude);
//! }
//! ```

pub mod audio;
pub mod email;
pub mod heif;
pub mod ifd;
pub mod jpeg;
pub mod ofd;
pub mod pdf;
pub mod pdfcrypt;
pub mod png;
pub mod raster;
pub mod tiff;
pub mod video;
pub mod zipfile;

use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use serde::Serialize;

use crate::identify::{self, Family, Identified, Match, Registry};
use crate::model::Identification;

/// Safe defaults for untrusted input. Every limit can be raised by the caller; none is off by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest image width or height accepted (pixels). A4 at 1200 dpi is 9,921 px; an A0 map at 600 dpi
    /// 28,000 px.
    pub max_image_dimension: u64,
    /// Largest single buffer a handler allocates for a header structure (EXIF segment, ICC profile, XML part,
    /// TIFF tag array).
    pub max_alloc: u64,
    /// Largest file read whole into memory (PDF, e-mail).
    pub max_in_memory: u64,
    /// Largest decompressed size of one ZIP member that is read (OFD.xml, Document.xml).
    pub max_decompressed: u64,
    /// Most entries a ZIP may have before it is refused.
    pub max_zip_entries: u64,
    /// Deepest nesting followed (EBML elements, MIME parts, PDF page trees).
    pub max_depth: u32,
    /// Most pages (TIFF IFDs, PDF pages scanned for text) looked at.
    pub max_pages: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_image_dimension: 1 << 17,
            max_alloc: 64 << 20,
            max_in_memory: 512 << 20,
            max_decompressed: 64 << 20,
            max_zip_entries: 100_000,
            max_depth: 32,
            max_pages: 100_000,
        }
    }
}

impl Limits {
    /// Check one value against a limit.
    pub fn check(&self, what: &'static str, value: u64, limit: u64) -> Result<(), HandlerError> {
        if value > limit {
            Err(HandlerError::LimitExceeded { what, value, limit })
        } else {
            Ok(())
        }
    }

    /// Check image dimensions: zero is malformed, more than `max_image_dimension` exceeds the limit.
    pub fn check_dimensions(
        &self,
        format: &'static str,
        width: u64,
        height: u64,
    ) -> Result<(), HandlerError> {
        if width == 0 || height == 0 {
            return Err(HandlerError::malformed(
                format,
                format!("image dimensions {width}×{height}"),
            ));
        }
        self.check("image width", width, self.max_image_dimension)?;
        self.check("image height", height, self.max_image_dimension)
    }
}

/// Why characterization failed, grouped by who is at fault.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The file is not what it claims to be, or is damaged (the file's fault).
    #[error("malformed {format}: {detail}")]
    Malformed {
        format: &'static str,
        detail: String,
    },
    /// The file uses a feature dangan does not read (dangan's limitation).
    #[error("unsupported {format}: {detail}")]
    Unsupported {
        format: &'static str,
        detail: String,
    },
    /// A safety limit was reached (the caller may raise it).
    #[error("limit exceeded: {what} is {value}, limit {limit}")]
    LimitExceeded {
        what: &'static str,
        value: u64,
        limit: u64,
    },
    /// Reading failed (the environment's fault).
    #[error("i/o error: {0}")]
    Io(io::Error),
    /// A third-party parser panicked; caught so the run goes on (a bug to report upstream).
    #[error("internal error in handler {handler}: {detail}")]
    Internal {
        handler: &'static str,
        detail: String,
    },
}

impl HandlerError {
    pub fn malformed(format: &'static str, detail: impl Into<String>) -> Self {
        HandlerError::Malformed {
            format,
            detail: detail.into(),
        }
    }

    pub fn unsupported(format: &'static str, detail: impl Into<String>) -> Self {
        HandlerError::Unsupported {
            format,
            detail: detail.into(),
        }
    }

    /// The snake_case kind used in reports.
    pub fn kind(&self) -> &'static str {
        match self {
            HandlerError::Malformed { .. } => "malformed",
            HandlerError::Unsupported { .. } => "unsupported",
            HandlerError::LimitExceeded { .. } => "limit_exceeded",
            HandlerError::Io(_) => "io",
            HandlerError::Internal { .. } => "internal",
        }
    }
}

impl From<io::Error> for HandlerError {
    /// A read past the end of the file is the file's fault (it is truncated), not an I/O failure.
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            HandlerError::malformed("file", "truncated: unexpected end of file")
        } else {
            HandlerError::Io(e)
        }
    }
}

/// Anything a handler can read from.
pub trait ReadSeek: Read + Seek + Send + Sync {}
impl<T: Read + Seek + Send + Sync> ReadSeek for T {}

/// The bytes of one file, as handlers see them: a seekable reader and its length.
pub struct Source {
    reader: Box<dyn ReadSeek>,
    len: u64,
}

impl Source {
    pub fn new(reader: Box<dyn ReadSeek>, len: u64) -> Self {
        Source { reader, len }
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        let len = bytes.len() as u64;
        Source::new(Box::new(Cursor::new(bytes)), len)
    }

    /// Open a user's file: regular files only (a FIFO or device is refused at once, never waited on).
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = crate::fsutil::open_regular_io(path)?;
        let len = file.metadata()?.len();
        Ok(Source::new(Box::new(BufReader::new(file)), len))
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Read exactly `n` bytes at `offset`, refusing allocations beyond `limits.max_alloc` and reads past
    /// the end of the file (malformed: an offset or length in a header points outside the file).
    pub fn read_at(
        &mut self,
        format: &'static str,
        offset: u64,
        n: u64,
        limits: &Limits,
    ) -> Result<Vec<u8>, HandlerError> {
        limits.check("header allocation", n, limits.max_alloc)?;
        if offset.checked_add(n).is_none_or(|end| end > self.len) {
            return Err(HandlerError::malformed(
                format,
                format!(
                    "{n} bytes at offset {offset} lie beyond the end of the file ({} bytes)",
                    self.len
                ),
            ));
        }
        self.reader.seek(SeekFrom::Start(offset))?;
        let mut buf = vec![0; n as usize];
        self.reader.read_exact(&mut buf)?;
        Ok(buf)
    }

    /// Up to `n` bytes from `offset` (fewer at the end of the file).
    pub fn read_upto(&mut self, offset: u64, n: u64) -> Result<Vec<u8>, HandlerError> {
        self.reader.seek(SeekFrom::Start(offset))?;
        let mut buf = Vec::new();
        (&mut self.reader).take(n).read_to_end(&mut buf)?;
        Ok(buf)
    }

    /// The whole file, if it is no larger than `limits.max_in_memory`.
    pub fn read_all(&mut self, limits: &Limits) -> Result<Vec<u8>, HandlerError> {
        limits.check("file size read into memory", self.len, limits.max_in_memory)?;
        self.read_upto(0, self.len)
    }

    /// Hand the reader over (for parsers that want to own it); the source is empty afterwards.
    pub fn take_reader(&mut self) -> Box<dyn ReadSeek> {
        std::mem::replace(&mut self.reader, Box::new(Cursor::new(Vec::new())))
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

impl Seek for Source {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.reader.seek(pos)
    }
}

/// Technical metadata, one optional object per format family; serialized flat into the report
/// (`"tiff": {…}`, `"exif": {…}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Characterization {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiff: Option<tiff::TiffInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jpeg: Option<jpeg::JpegInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exif: Option<jpeg::ExifInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heif: Option<heif::HeifInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub png: Option<png::PngInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<raster::ImageInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdf: Option<pdf::PdfInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ofd: Option<ofd::OfdInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<audio::AudioInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<video::VideoInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<email::EmailInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mbox: Option<email::MboxInfo>,
    /// Outlook PST (issue 17): the mailbox summary, as for MBOX.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pst: Option<email::MboxInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zip: Option<zipfile::ZipInfo>,
    /// What was lost on the way, each naming the part (an EXIF IFD, a PDF cross-reference table): a fault
    /// in one part of a file's metadata loses that part only, never the rest. [`inspect_source`] appends
    /// these to the report's `warnings`.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// A format handler: reads the headers of one family of formats.
pub trait Handler: Sync {
    /// Short name, unique in [`HANDLERS`] (`tiff`, `pdf`, …).
    fn name(&self) -> &'static str;
    /// One line saying what the handler reports.
    fn summary(&self) -> &'static str;
    /// The families it characterizes.
    fn families(&self) -> &'static [Family];
    /// MIME types it characterizes whatever their family (formats the registry may file under a family
    /// whose handler cannot read them: HEIF under ISO BMFF video). Checked before the family.
    fn mimes(&self) -> &'static [&'static str] {
        &[]
    }
    /// Read the technical metadata of `src`, identified as `id`.
    fn characterize(
        &self,
        src: &mut Source,
        id: &Identified,
        limits: &Limits,
    ) -> Result<Characterization, HandlerError>;
}

/// Every handler, sorted by name.
pub static HANDLERS: &[&dyn Handler] = &[
    &audio::Audio,
    &email::Eml,
    &heif::Heif,
    &jpeg::Jpeg,
    &email::Mbox,
    &email::Msg,
    &ofd::Ofd,
    &pdf::Pdf,
    &png::Png,
    &email::Pst,
    &raster::Raster,
    &tiff::Tiff,
    &video::Video,
    &audio::Wav,
    &zipfile::Zip,
];

/// The handler for a family, if any.
pub fn handler_for(family: Family) -> Option<&'static dyn Handler> {
    HANDLERS
        .iter()
        .copied()
        .find(|h| h.families().contains(&family))
}

/// The handler for one identification: by MIME type first (see [`Handler::mimes`]), else by family.
pub fn handler_for_id(id: &Identified) -> Option<&'static dyn Handler> {
    let mime = id.identification.mime.as_str();
    HANDLERS
        .iter()
        .copied()
        .find(|h| h.mimes().contains(&mime))
        .or_else(|| handler_for(id.family))
}

/// Run a handler, turning a panic in a third-party parser into [`HandlerError::Internal`].
pub fn characterize_guarded(
    handler: &dyn Handler,
    src: &mut Source,
    id: &Identified,
    limits: &Limits,
) -> Result<Characterization, HandlerError> {
    match catch_unwind(AssertUnwindSafe(|| handler.characterize(src, id, limits))) {
        Ok(r) => r,
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            Err(HandlerError::Internal {
                handler: handler.name(),
                detail,
            })
        }
    }
}

/// What [`inspect_path`] does.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub limits: Limits,
    /// Identify only; skip characterization.
    pub identify_only: bool,
}

/// The error object of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportError {
    /// `malformed`, `unsupported`, `limit_exceeded`, `io`, `internal`.
    pub kind: &'static str,
    pub message: String,
}

/// Everything dangan knows about one file: what it is, what is inside, what went wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub path: String,
    pub size: Option<u64>,
    pub puid: Option<String>,
    pub mime: Option<String>,
    pub format: Option<String>,
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    pub basis: Option<String>,
    pub warnings: Vec<String>,
    #[serde(flatten)]
    pub characterization: Characterization,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ReportError>,
}

impl Report {
    fn failed(path: String, size: Option<u64>, kind: &'static str, message: String) -> Self {
        Report {
            path,
            size,
            puid: None,
            mime: None,
            format: None,
            version: None,
            encoding: None,
            basis: None,
            warnings: vec![],
            characterization: Characterization::default(),
            error: Some(ReportError { kind, message }),
        }
    }

    fn set_identification(&mut self, id: Identification) {
        self.puid = id.puid;
        self.mime = Some(id.mime);
        self.format = Some(id.format);
        self.version = id.version;
        self.encoding = id.encoding;
        self.basis = Some(id.basis);
        self.warnings = id.warnings;
    }
}

/// Identify and characterize one file. Never fails: problems are in `Report::error`.
pub fn inspect_path(path: &Path, options: &Options) -> Report {
    let shown = path.display().to_string();
    let mut src = match Source::open(path) {
        Ok(s) => s,
        Err(e) => return Report::failed(shown, None, "io", format!("cannot open: {e}")),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    inspect_source(shown, &mut src, name.as_deref(), options)
}

/// Identify and characterize the bytes of `src`, reported under `path`.
pub fn inspect_source(
    path: String,
    src: &mut Source,
    name: Option<&str>,
    options: &Options,
) -> Report {
    let len = src.len();
    let id = match identify::identify_reader(src, len, name) {
        Ok(id) => id,
        Err(e) => return Report::failed(path, Some(len), "io", format!("cannot read: {e}")),
    };
    let mut report = Report::failed(path, Some(len), "io", String::new());
    report.error = None;
    report.set_identification(id.identification.clone());
    if options.identify_only {
        return report;
    }
    let Some(handler) = handler_for_id(&id) else {
        return report;
    };
    if len == 0 {
        return report;
    }
    match characterize_guarded(handler, src, &id, &options.limits) {
        Ok(c) => {
            // The PDF handler reads the catalog's /Metadata properly; a PDF/A claim that the bounded byte
            // search of identification missed (XMP in the middle of a large file) upgrades the PUID.
            if let Some(pdf) = &c.pdf
                && let Some(claim) = &pdf.pdfa
                && !id.key.starts_with("pdfa-")
                && let Some(key) = identify::sniff::pdfa_key(&claim.part, &claim.conformance)
            {
                let mut m = Match::new(
                    key,
                    format!(
                        "{}; PDF/A-{}{} claim in the catalog's /Metadata stream",
                        id.identification.basis,
                        claim.part,
                        claim.conformance.to_lowercase()
                    ),
                );
                m.warnings = Vec::new();
                let upgraded = identify::resolve(Registry::embedded(), m, name);
                report.set_identification(upgraded.identification);
            }
            report.warnings.extend(c.warnings.iter().cloned());
            report.characterization = c;
        }
        Err(e) => {
            report.error = Some(ReportError {
                kind: e.kind(),
                message: e.to_string(),
            })
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handlers_sorted_and_unique() {
        let names: Vec<&str> = HANDLERS.iter().map(|h| h.name()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted);
        // No family is claimed twice.
        let mut fams: Vec<Family> = HANDLERS
            .iter()
            .flat_map(|h| h.families().to_vec())
            .collect();
        let n = fams.len();
        fams.sort_by_key(|f| format!("{f:?}"));
        fams.dedup();
        assert_eq!(fams.len(), n);
        // No MIME type is claimed twice.
        let mut mimes: Vec<&str> = HANDLERS.iter().flat_map(|h| h.mimes().to_vec()).collect();
        let n = mimes.len();
        mimes.sort();
        mimes.dedup();
        assert_eq!(mimes.len(), n);
    }

    #[test]
    fn eof_is_malformed() {
        let e: HandlerError = io::Error::from(io::ErrorKind::UnexpectedEof).into();
        assert_eq!(e.kind(), "malformed");
    }
}
