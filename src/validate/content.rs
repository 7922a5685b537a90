//! What a file really is, as far as the 四性检测 needs: a format guess by magic bytes, whether it opens, whether
//! it is encrypted, executable or carries macros. Kept in one place so that the identification module can
//! replace it.
// TODO(identify): replace `sniff` and `opens` with dangan::identify / dangan::handler once merged.

/// A format family, by signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tiff,
    Jpeg,
    Jp2,
    Png,
    Pdf,
    Ofd,
    Zip,
    Cfb,
    Wav,
    Mp3,
    Mp4,
    Avi,
    Mxf,
    Flac,
    Xml,
    Text,
    Eml,
    Executable,
    Script,
    Unknown,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Tiff => "TIFF",
            Kind::Jpeg => "JPEG",
            Kind::Jp2 => "JPEG 2000",
            Kind::Png => "PNG",
            Kind::Pdf => "PDF",
            Kind::Ofd => "OFD",
            Kind::Zip => "ZIP",
            Kind::Cfb => "OLE2/CFB (legacy Office)",
            Kind::Wav => "WAV",
            Kind::Mp3 => "MP3",
            Kind::Mp4 => "MP4/MOV",
            Kind::Avi => "AVI",
            Kind::Mxf => "MXF",
            Kind::Flac => "FLAC",
            Kind::Xml => "XML",
            Kind::Text => "text",
            Kind::Eml => "e-mail (RFC 5322)",
            Kind::Executable => "executable program",
            Kind::Script => "script",
            Kind::Unknown => "unknown",
        }
    }

    /// On the archival whitelist (GB/T 18894-2016 practice [C], DA/T 31, DA/T 62; local rules for AV).
    pub fn archival(self) -> bool {
        matches!(
            self,
            Kind::Tiff
                | Kind::Jpeg
                | Kind::Jp2
                | Kind::Png
                | Kind::Pdf
                | Kind::Ofd
                | Kind::Wav
                | Kind::Mp3
                | Kind::Mp4
                | Kind::Avi
                | Kind::Mxf
                | Kind::Flac
                | Kind::Xml
                | Kind::Text
                | Kind::Eml
        )
    }
}

const SCRIPT_EXT: &[&str] = &[
    "exe", "dll", "com", "scr", "msi", "bat", "cmd", "ps1", "vbs", "vbe", "js", "jse", "wsf",
    "wsh", "sh", "bash", "jar", "apk", "elf", "so", "dylib", "py", "pl", "rb", "php", "hta", "lnk",
    "docm", "xlsm", "pptm",
];

/// Guess the format from the first bytes and the name.
pub fn sniff(head: &[u8], name: &str) -> Kind {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let starts = |m: &[u8]| head.starts_with(m);
    if starts(b"MZ")
        || starts(b"\x7fELF")
        || starts(&[0xCF, 0xFA, 0xED, 0xFE])
        || starts(&[0xCE, 0xFA, 0xED, 0xFE])
        || starts(&[0xFE, 0xED, 0xFA, 0xCE])
        || starts(&[0xFE, 0xED, 0xFA, 0xCF])
    {
        return Kind::Executable;
    }
    if starts(b"#!") {
        return Kind::Script;
    }
    if starts(b"II*\0") || starts(b"MM\0*") {
        return Kind::Tiff;
    }
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return Kind::Jpeg;
    }
    if starts(b"\0\0\0\x0CjP  ") || starts(&[0xFF, 0x4F, 0xFF, 0x51]) {
        return Kind::Jp2;
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Kind::Png;
    }
    if head.windows(5).take(1024).any(|w| w == b"%PDF-") {
        return Kind::Pdf;
    }
    if starts(b"PK\x03\x04") {
        return if ext == "ofd" { Kind::Ofd } else { Kind::Zip };
    }
    if starts(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Kind::Cfb;
    }
    if starts(b"RIFF") && head.get(8..12) == Some(b"WAVE") {
        return Kind::Wav;
    }
    if starts(b"RIFF") && head.get(8..12) == Some(b"AVI ") {
        return Kind::Avi;
    }
    if starts(b"ID3") || (head.len() > 1 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0) {
        return Kind::Mp3;
    }
    if head.get(4..8) == Some(b"ftyp") {
        return Kind::Mp4;
    }
    if starts(&[0x06, 0x0E, 0x2B, 0x34]) {
        return Kind::Mxf;
    }
    if starts(b"fLaC") {
        return Kind::Flac;
    }
    if SCRIPT_EXT.contains(&ext.as_str()) {
        return if matches!(ext.as_str(), "docm" | "xlsm" | "pptm") {
            Kind::Zip
        } else {
            Kind::Script
        };
    }
    // `head` may end in the middle of a character: an incomplete last sequence is still text.
    let utf8 = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    };
    let text = utf8
        || encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(head)
            .is_some();
    let trimmed: &[u8] = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if text
        && (trimmed.starts_with(b"<?xml")
            || (trimmed.starts_with(b"<") && matches!(ext.as_str(), "xml" | "xsd")))
    {
        return Kind::Xml;
    }
    if text && ext == "eml" {
        return Kind::Eml;
    }
    if text && matches!(ext.as_str(), "txt" | "csv" | "md" | "json") {
        return Kind::Text;
    }
    Kind::Unknown
}

/// Whether a file opens. `Err` says why not. Images are decoded, PDFs parsed (and refused when encrypted).
pub fn opens(kind: Kind, bytes: &[u8]) -> Result<(), String> {
    match kind {
        // Bitonal scans (DA/T 31 黑白二值) are common and the image crate does not decode 1-bit TIFF: a TIFF
        // opens when its first directory and image dimensions read.
        Kind::Tiff => tiff::decoder::Decoder::new(std::io::Cursor::new(bytes))
            .and_then(|mut d| d.dimensions())
            .map(|_| ())
            .map_err(|e| format!("TIFF does not open: {e}")),
        Kind::Jpeg | Kind::Png => image::load_from_memory(bytes)
            .map(|_| ())
            .map_err(|e| format!("image does not decode: {e}")),
        Kind::Pdf => {
            let doc =
                lopdf::Document::load_mem(bytes).map_err(|e| format!("PDF does not parse: {e}"))?;
            if doc.trailer.get(b"Encrypt").is_ok() || doc.is_encrypted() {
                return Err("PDF is encrypted".into());
            }
            Ok(())
        }
        // Audio and video: the container must probe and hold at least one track.
        Kind::Wav | Kind::Mp3 | Kind::Flac | Kind::Mp4 => {
            use symphonia::core::formats::FormatOptions;
            use symphonia::core::io::MediaSourceStream;
            use symphonia::core::meta::MetadataOptions;
            use symphonia::core::probe::Hint;
            let mss = MediaSourceStream::new(
                Box::new(std::io::Cursor::new(bytes.to_vec())),
                Default::default(),
            );
            let probed = symphonia::default::get_probe()
                .format(
                    &Hint::new(),
                    mss,
                    &FormatOptions::default(),
                    &MetadataOptions::default(),
                )
                .map_err(|e| format!("{} does not probe: {e}", kind.name()))?;
            if probed.format.tracks().is_empty() {
                return Err(format!("{} has no tracks", kind.name()));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Whether PDF bytes are encrypted (checked on the raw bytes when lopdf refuses to load them).
pub fn pdf_encrypted(bytes: &[u8]) -> bool {
    bytes.windows(8).any(|w| w == b"/Encrypt")
}

/// Entries of a zip-based file (OOXML, OFD, plain zip) that make it dangerous or unreadable: VBA macros,
/// executables inside, encrypted entries.
pub fn zip_hazards(bytes: &[u8]) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    let Ok(mut z) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) else {
        return out;
    };
    for i in 0..z.len().min(10_000) {
        let Ok(f) = z.by_index_raw(i) else { continue };
        let name = f.name().map(|n| n.into_owned()).unwrap_or_default();
        let lower = name.to_ascii_lowercase();
        if f.encrypted() {
            out.push((name, "encrypted"));
        } else if lower.ends_with("vbaproject.bin") {
            out.push((name, "macro"));
        } else if lower.rsplit_once('.').is_some_and(|(_, e)| {
            matches!(
                e,
                "exe" | "dll" | "bat" | "cmd" | "ps1" | "vbs" | "js" | "sh" | "jar" | "scr"
            )
        }) {
            out.push((name, "executable"));
        }
    }
    out
}

/// Whether an OLE2 compound file carries a VBA project or is an encrypted Office document: the directory names
/// are UTF-16LE, so look for them in that form.
pub fn cfb_hazard(bytes: &[u8]) -> Option<&'static str> {
    let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect() };
    if bytes
        .windows(24)
        .any(|w| w == utf16("_VBA_PROJECT").as_slice())
    {
        return Some("macro");
    }
    if bytes
        .windows(28)
        .any(|w| w == utf16("EncryptionInfo").as_slice())
    {
        return Some("encrypted");
    }
    None
}

/// Metadata text that reads wrong: U+FFFD replacement characters, or GBK/UTF-8 bytes decoded as Latin-1 (runs of
/// characters from U+0080–U+00FF, which Chinese metadata never contains).
pub fn mojibake(text: &str) -> Option<String> {
    if text.contains('\u{FFFD}') {
        return Some("contains U+FFFD replacement characters".into());
    }
    let mut run = 0;
    for c in text.chars() {
        if ('\u{80}'..='\u{FF}').contains(&c) && c != '·' && c != '×' && c != '°' {
            run += 1;
            if run >= 3 {
                return Some(
                    "contains runs of Latin-1 characters (GBK or UTF-8 text mis-decoded?)".into(),
                );
            }
        } else {
            run = 0;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"MZ\x90\0", "a.pdf"), Kind::Executable);
        assert_eq!(sniff(b"#!/bin/sh\n", "a.txt"), Kind::Script);
        assert_eq!(sniff(b"II*\0....", "a.tif"), Kind::Tiff);
        assert_eq!(sniff(b"%PDF-1.7\n", "a.pdf"), Kind::Pdf);
        assert_eq!(sniff(b"echo hi", "run.bat"), Kind::Script);
        assert_eq!(sniff("标题".as_bytes(), "a.txt"), Kind::Text);
        // A head cut in the middle of a character is still text.
        let xml = "<?xml version=\"1.0\"?><a>标题</a>".as_bytes();
        assert_eq!(sniff(&xml[..xml.len() - 6], "catalog.xml"), Kind::Xml);
    }

    #[test]
    fn mojibake_found() {
        assert!(mojibake("å\u{85}³äº\u{8e}").is_some());
        assert!(mojibake("J001-WS·2019 关于成立").is_none());
    }
}
