//! One streaming pass over an EEP file, so that checking it takes flat memory whatever its files' sizes:
//! every 编码数据 is decoded chunk by chunk (size, SHA-256, the first bytes for identification) straight
//! from the file buffer, and the rest of the document — its *skeleton*, 编码数据 left empty — is kept for
//! the hardened tree reader ([`crate::sip::xml`]) and the schema. The byte ranges of 被签名对象 and of each
//! 电子签名 are recorded so that signatures are checked over the bytes as they stand in the file.
//!
//! Safety as in the tree reader: a `<!DOCTYPE>` is refused (no external entities, no expansion), entity
//! references other than the five predefined ones and character references are refused, depth is bounded.

use std::io::{BufRead, BufReader, Read, Seek};
use std::path::Path;

use base64::Engine as _;
use quick_xml::Reader;
use quick_xml::events::Event;
use sha2::Digest as _;

use crate::sip::xml::{MAX_DEPTH, XmlError};

/// Decoded bytes kept per 编码 for format identification.
const HEAD: usize = 64 << 10;
/// Base64 characters decoded at a time.
const DECODE_CHUNK: usize = 4 << 16;

/// What one 编码数据 held.
#[derive(Debug, Clone, Default)]
pub struct Data {
    /// 编码ID of the enclosing 编码.
    pub encoding_id: String,
    /// Bytes decoded (up to the first error).
    pub size: u64,
    pub sha256: String,
    /// Why the Base64 did not decode (RFC 2045 §6.8), if it did not.
    pub error: Option<String>,
    /// The first decoded bytes, for identification.
    pub head: Vec<u8>,
}

/// The result of the pass.
#[derive(Debug, Default)]
pub struct Streamed {
    /// The document with every 编码数据's text left out.
    pub skeleton: Vec<u8>,
    pub data: Vec<Data>,
    /// Byte range of the outermost 被签名对象 (from '<' to the '>' of its end tag).
    pub signed: Option<(u64, u64)>,
    /// Byte ranges of the 电子签名 elements, in document order.
    pub signatures: Vec<(u64, u64)>,
}

/// Why the pass stopped: the document is unsafe or not well-formed, or could not be read.
#[derive(Debug)]
pub enum StreamError {
    Xml(XmlError),
    Io(std::io::Error),
}

struct Decoder {
    pending: Vec<u8>,
    sha: sha2::Sha256,
    out: Vec<u8>,
    data: Data,
}

impl Decoder {
    fn new(encoding_id: String) -> Decoder {
        Decoder {
            pending: Vec::with_capacity(DECODE_CHUNK + 4096),
            sha: sha2::Sha256::new(),
            out: vec![0u8; DECODE_CHUNK / 4 * 3 + 3],
            data: Data {
                encoding_id,
                ..Data::default()
            },
        }
    }

    fn feed(&mut self, text: &[u8]) {
        if self.data.error.is_some() {
            return;
        }
        self.pending.extend(
            text.iter()
                .copied()
                .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n')),
        );
        if self.pending.len() >= DECODE_CHUNK + 4 {
            // Keep the last quantum back: only the final one may carry '=' padding.
            let n = (self.pending.len() / 4 - 1) * 4;
            self.decode(n);
        }
    }

    fn decode(&mut self, n: usize) {
        let engine = base64::engine::general_purpose::STANDARD;
        // Bounded: `pending` never holds more than one chunk plus one buffer of text.
        let need = n / 4 * 3 + 3;
        if self.out.len() < need {
            self.out.resize(need, 0);
        }
        match engine.decode_slice(&self.pending[..n], &mut self.out) {
            Ok(k) => {
                self.sha.update(&self.out[..k]);
                let room = HEAD.saturating_sub(self.data.head.len()).min(k);
                self.data.head.extend_from_slice(&self.out[..room]);
                self.data.size += k as u64;
            }
            Err(e) => {
                let offset = self.data.size / 3 * 4;
                self.data.error = Some(format!("{e} (after {offset} Base64 characters)"));
            }
        }
        self.pending.drain(..n);
    }

    fn finish(mut self) -> Data {
        if self.data.error.is_none() && !self.pending.is_empty() {
            let n = self.pending.len();
            self.decode(n);
        }
        self.data.sha256 = crate::fixity::digest::hex(&self.sha.finalize());
        self.data
    }
}

fn malformed(e: impl std::fmt::Display) -> StreamError {
    StreamError::Xml(XmlError::Malformed(e.to_string()))
}

/// Read an EEP file in one pass.
pub fn stream(path: &Path) -> Result<Streamed, StreamError> {
    let file = crate::fsutil::open_regular_io(path).map_err(StreamError::Io)?;
    let mut reader = Reader::from_reader(BufReader::with_capacity(1 << 16, file));
    reader.config_mut().check_end_names = true;
    let mut out = Streamed::default();
    let mut buf = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut encoding_id = String::new();
    let mut sig_start: Option<u64> = None;
    // Bytes consumed from the buffer behind the parser's back (the 编码数据 text): positions are the
    // parser's plus these.
    let mut skipped: u64 = 0;
    loop {
        let pos0 = reader.buffer_position() + skipped;
        let ev = reader.read_event_into(&mut buf).map_err(malformed)?;
        match ev {
            Event::DocType(_) => return Err(StreamError::Xml(XmlError::Doctype)),
            Event::GeneralRef(r) => {
                let name = r.to_string();
                let ok = r.is_char_ref()
                    || matches!(name.as_str(), "lt" | "gt" | "amp" | "apos" | "quot");
                if !ok {
                    return Err(StreamError::Xml(XmlError::Entity(name)));
                }
                out.skeleton.push(b'&');
                out.skeleton.extend_from_slice(r.as_bytes());
                out.skeleton.push(b';');
            }
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_string();
                out.skeleton.push(b'<');
                out.skeleton.extend_from_slice(e.as_bytes());
                out.skeleton.push(b'>');
                if stack.len() >= MAX_DEPTH {
                    return Err(StreamError::Xml(XmlError::TooDeep(MAX_DEPTH)));
                }
                match name.as_str() {
                    "被签名对象" if stack.len() == 1 && out.signed.is_none() => {
                        out.signed = Some((pos0, 0));
                    }
                    "电子签名" => sig_start = Some(pos0),
                    "编码" => {
                        encoding_id = e
                            .try_get_attribute("编码ID")
                            .ok()
                            .flatten()
                            .map(|a| a.value.into_owned())
                            .unwrap_or_default();
                    }
                    _ => {}
                }
                stack.push(name.clone());
                if name == "编码数据" {
                    // The text is decoded from the file buffer up to the next '<' (the end tag): never
                    // held whole. An '&' in it is not Base64 and fails the decoding.
                    let mut dec = Decoder::new(encoding_id.clone());
                    let r = reader.get_mut();
                    loop {
                        let chunk = r.fill_buf().map_err(StreamError::Io)?;
                        if chunk.is_empty() {
                            return Err(malformed("end of file inside 编码数据"));
                        }
                        let (n, done) = match memchr::memchr(b'<', chunk) {
                            Some(i) => (i, true),
                            None => (chunk.len(), false),
                        };
                        dec.feed(&chunk[..n]);
                        // The skeleton keeps the line breaks, so that lines in findings are the file's.
                        let lines = memchr::memchr_iter(b'\n', &chunk[..n]).count();
                        out.skeleton.resize(out.skeleton.len() + lines, b'\n');
                        r.consume(n);
                        skipped += n as u64;
                        if done {
                            break;
                        }
                    }
                    out.data.push(dec.finish());
                }
            }
            Event::Empty(e) => {
                out.skeleton.push(b'<');
                out.skeleton.extend_from_slice(e.as_bytes());
                out.skeleton.extend_from_slice(b"/>");
            }
            Event::End(e) => {
                out.skeleton.extend_from_slice(b"</");
                out.skeleton.extend_from_slice(e.name().as_ref().as_bytes());
                out.skeleton.push(b'>');
                let name = stack.pop().unwrap_or_default();
                let end = reader.buffer_position() + skipped;
                match name.as_str() {
                    "被签名对象" if stack.len() == 1 => {
                        if let Some((s, 0)) = out.signed {
                            out.signed = Some((s, end));
                        }
                    }
                    "电子签名" => {
                        if let Some(s) = sig_start.take() {
                            out.signatures.push((s, end));
                        }
                    }
                    _ => {}
                }
            }
            Event::Text(t) => out.skeleton.extend_from_slice(t.as_bytes()),
            Event::CData(t) => {
                out.skeleton.extend_from_slice(b"<![CDATA[");
                out.skeleton.extend_from_slice(t.as_bytes());
                out.skeleton.extend_from_slice(b"]]>");
            }
            Event::Comment(_) => {}
            Event::Decl(d) => {
                out.skeleton.extend_from_slice(b"<?");
                out.skeleton.extend_from_slice(d.as_bytes());
                out.skeleton.extend_from_slice(b"?>");
            }
            Event::PI(_) => {}
            Event::Eof => break,
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err(malformed(format!("<{}> is not closed", stack.join("/"))));
    }
    Ok(out)
}

/// Hash the bytes `[start, end)` of a file into `hasher`, in chunks.
pub fn hash_range(
    path: &Path,
    (start, end): (u64, u64),
    hasher: &mut super::sign::Hasher,
) -> std::io::Result<()> {
    let mut file = crate::fsutil::open_regular_io(path)?;
    file.seek(std::io::SeekFrom::Start(start))?;
    let mut left = end.saturating_sub(start);
    let mut buf = vec![0u8; 1 << 16];
    while left > 0 {
        let n = file.read(&mut buf[..left.min(1 << 16) as usize])?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the file is shorter than the signed range",
            ));
        }
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(b64: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<r xmlns=\"urn:x\"><被签名对象><编码 编码ID=\"e1\"><编码数据 编码数据ID=\"d\">\n{b64}</编码数据></编码></被签名对象><电子签名>x &amp; y</电子签名></r>"
        )
    }

    #[test]
    fn large_data_decodes_across_chunks_with_ranges_and_line_breaks_kept() {
        let data: Vec<u8> = (0..700_001u64).map(|i| (i * 7919 % 251) as u8).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap_or(""))
            .collect();
        let text = doc(&lines.join("\n"));
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x.eep.xml");
        std::fs::write(&p, &text).expect("write");
        let s = stream(&p).expect("streams");
        assert_eq!(s.data.len(), 1);
        let d = &s.data[0];
        assert_eq!(
            (d.encoding_id.as_str(), d.size, d.error.as_deref()),
            ("e1", 700_001, None)
        );
        assert_eq!(
            d.sha256,
            crate::fixity::digest::hex(&sha2::Sha256::digest(&data))
        );
        assert_eq!(d.head.len(), HEAD);
        let (a, b) = s.signed.expect("signed range");
        assert!(text.as_bytes()[a as usize..b as usize].starts_with("<被签名对象>".as_bytes()));
        assert!(text.as_bytes()[..b as usize].ends_with("</被签名对象>".as_bytes()));
        let (a, b) = s.signatures[0];
        assert_eq!(
            &text.as_bytes()[a as usize..b as usize],
            "<电子签名>x &amp; y</电子签名>".as_bytes()
        );
        let skeleton = String::from_utf8(s.skeleton).expect("utf-8");
        assert_eq!(skeleton.lines().count(), text.lines().count());
        assert!(skeleton.contains("x &amp; y"));
    }

    #[test]
    fn padding_inside_and_doctype_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x.eep.xml");
        let big = "QUJD".repeat(70_000);
        std::fs::write(&p, doc(&format!("QQ==\n{big}"))).expect("write");
        let s = stream(&p).expect("streams");
        assert!(
            s.data[0].error.is_some(),
            "'=' before the end is not Base64"
        );
        std::fs::write(
            &p,
            "<!DOCTYPE r [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><r>&e;</r>",
        )
        .expect("write");
        assert!(matches!(
            stream(&p),
            Err(StreamError::Xml(XmlError::Doctype))
        ));
        std::fs::write(&p, "<r>&e;</r>").expect("write");
        assert!(matches!(
            stream(&p),
            Err(StreamError::Xml(XmlError::Entity(_)))
        ));
    }
}
