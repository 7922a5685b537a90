//! What a file really is, as far as the 四性检测 needs: its format by content (the identification module,
//! `profiles/formats.toml`), whether that format is on the archival list (`profiles/archival-formats.toml`),
//! whether it opens, whether it is a program, encrypted or carries macros.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::Msg;
use crate::identify::{Family, Identified, Registry};

/// Formats fit for long-term preservation (可用性 3.2) and the representations exempt from that rule.
#[derive(Debug, Clone)]
pub struct ArchivalFormats {
    keys: BTreeSet<String>,
    access_representations: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArchivalFile {
    keys: Vec<String>,
    access_representations: Vec<String>,
}

impl ArchivalFormats {
    /// Parse a profile; every key must name a format of the registry, so a typo cannot silently drop a
    /// format from the list.
    pub fn parse(text: &str) -> Result<Self, String> {
        let f: ArchivalFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let registry = Registry::embedded();
        if let Some(bad) = f.keys.iter().find(|k| registry.get(k).is_none()) {
            return Err(format!(
                "keys: '{bad}' is not a format key of profiles/formats.toml"
            ));
        }
        Ok(ArchivalFormats {
            keys: f.keys.into_iter().collect(),
            access_representations: f.access_representations,
        })
    }

    /// The list built into the binary.
    pub fn embedded() -> &'static ArchivalFormats {
        static LIST: std::sync::OnceLock<ArchivalFormats> = std::sync::OnceLock::new();
        LIST.get_or_init(|| {
            ArchivalFormats::parse(include_str!("../../profiles/archival-formats.toml"))
                .unwrap_or_else(|e| panic!("embedded profiles/archival-formats.toml: {e}"))
        })
    }

    /// Whether the 3.2 format rule applies to a file at `path` (from the package root): not to access
    /// copies.
    pub fn applies_to(&self, path: &str) -> bool {
        !self.access_representations.iter().any(|rep| {
            path.strip_prefix("representations/")
                .and_then(|rest| rest.strip_prefix(rep.as_str()))
                .is_some_and(|rest| rest.starts_with('/'))
        })
    }

    pub fn is_archival(&self, id: &Identified) -> bool {
        self.keys.contains(&id.key)
    }
}

/// A program in the package (安全性 4.2). Identification names formats of records; programs are looked for
/// here, by their loader signatures and by script names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    Executable,
    Script,
}

const SCRIPT_EXT: &[&str] = &[
    "exe", "dll", "com", "scr", "msi", "bat", "cmd", "ps1", "vbs", "vbe", "js", "jse", "wsf",
    "wsh", "sh", "bash", "jar", "apk", "elf", "so", "dylib", "py", "pl", "rb", "php", "hta", "lnk",
];

/// Whether the first bytes and the name make a file a program.
pub fn program(head: &[u8], name: &str) -> Option<Program> {
    let starts = |m: &[u8]| head.starts_with(m);
    // PE (MZ), ELF, Mach-O 32/64 in both byte orders.
    if starts(b"MZ")
        || starts(b"\x7fELF")
        || starts(&[0xCF, 0xFA, 0xED, 0xFE])
        || starts(&[0xCE, 0xFA, 0xED, 0xFE])
        || starts(&[0xFE, 0xED, 0xFA, 0xCE])
        || starts(&[0xFE, 0xED, 0xFA, 0xCF])
    {
        return Some(Program::Executable);
    }
    if starts(b"#!") {
        return Some(Program::Script);
    }
    let ext = crate::identify::extension(name).unwrap_or_default();
    SCRIPT_EXT
        .contains(&ext.as_str())
        .then_some(Program::Script)
}

/// Media types that name the same format as the identification's (1.3 compares the METS MIMETYPE with the
/// content). The registry gives one type per format; these are the others in use.
fn same_type(identified: &str, declared: &str) -> bool {
    const ALIASES: &[&[&str]] = &[
        &["audio/x-wav", "audio/wav", "audio/vnd.wave", "audio/wave"],
        &["audio/mpeg", "audio/mp3"],
        &["image/jp2", "image/jpx"],
    ];
    identified == declared
        || ALIASES
            .iter()
            .any(|set| set.contains(&identified) && set.contains(&declared))
}

/// Whether the declared MIMETYPE contradicts the content. Only for formats whose type is unambiguous;
/// `application/octet-stream` (written for types the E-ARK validator does not know) never does.
pub fn mime_contradicts(id: &Identified, declared: &str) -> bool {
    let checked = matches!(
        id.family,
        Family::Tiff
            | Family::Jpeg
            | Family::Png
            | Family::Gif
            | Family::Bmp
            | Family::Jp2
            | Family::Pdf
            | Family::Wav
    ) || matches!(id.key.as_str(), "mp3" | "flac");
    checked
        && declared != "application/octet-stream"
        && !same_type(&id.identification.mime, declared)
}

/// Whether a file opens. `Err` says why not (in both report languages). Images are decoded, PDFs parsed (and
/// refused when encrypted), audio and video probed.
pub fn opens(id: &Identified, bytes: &[u8]) -> Result<(), Msg> {
    match id.family {
        // Bitonal scans (DA/T 31 黑白二值) are common and the image crate does not decode 1-bit TIFF: a TIFF
        // opens when its first directory and image dimensions read.
        Family::Tiff => tiff::decoder::Decoder::new(std::io::Cursor::new(bytes))
            .and_then(|mut d| d.dimensions())
            .map(|_| ())
            .map_err(|e| {
                Msg::new(
                    format!("TIFF 无法打开: {e}"),
                    format!("TIFF does not open: {e}"),
                )
            }),
        Family::Jpeg | Family::Png | Family::Gif | Family::Bmp => {
            image::load_from_memory(bytes).map(|_| ()).map_err(|e| {
                Msg::new(
                    format!("图像无法解码: {e}"),
                    format!("image does not decode: {e}"),
                )
            })
        }
        Family::Pdf => {
            let doc = lopdf::Document::load_mem(bytes).map_err(|e| {
                Msg::new(
                    format!("PDF 无法解析: {e}"),
                    format!("PDF does not parse: {e}"),
                )
            })?;
            if doc.trailer.get(b"Encrypt").is_ok() || doc.is_encrypted() {
                return Err(Msg::new("PDF 已加密", "PDF is encrypted"));
            }
            Ok(())
        }
        // Everything else the handlers know (audio, video, e-mail, OFD, zip): it opens when its handler
        // characterizes it — the same code, limits and guards as `dangan inspect`.
        _ => match crate::handler::handler_for_id(id) {
            None => Ok(()),
            Some(h) => {
                let mut src = crate::handler::Source::from_bytes(bytes.to_vec());
                crate::handler::characterize_guarded(
                    h,
                    &mut src,
                    id,
                    &crate::handler::Limits::default(),
                )
                .map(|_| ())
                .map_err(|e| {
                    Msg::new(
                        format!("{} 无法打开: {e}", id.identification.format),
                        format!("{} does not open: {e}", id.identification.format),
                    )
                })
            }
        },
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
pub fn mojibake(text: &str) -> Option<Msg> {
    if text.contains('\u{FFFD}') {
        return Some(Msg::new(
            "含有 U+FFFD 替换字符",
            "contains U+FFFD replacement characters",
        ));
    }
    let mut run = 0;
    for c in text.chars() {
        if ('\u{80}'..='\u{FF}').contains(&c) && c != '·' && c != '×' && c != '°' {
            run += 1;
            if run >= 3 {
                return Some(Msg::new(
                    "含有连续的 Latin-1 字符 (疑似 GBK 或 UTF-8 文本被错误解码)",
                    "contains runs of Latin-1 characters (GBK or UTF-8 text mis-decoded?)",
                ));
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
    fn programs_found_by_signature_and_name() {
        assert_eq!(program(b"MZ\x90\0", "a.pdf"), Some(Program::Executable));
        assert_eq!(program(b"\x7fELF\x02", "x"), Some(Program::Executable));
        assert_eq!(program(b"#!/bin/sh\n", "a.txt"), Some(Program::Script));
        assert_eq!(program(b"echo hi", "run.bat"), Some(Program::Script));
        assert_eq!(program(b"II*\0....", "a.tif"), None);
        assert_eq!(program("标题".as_bytes(), "a.txt"), None);
    }

    #[test]
    fn archival_list_by_content_and_access_copies_exempt() {
        let list = ArchivalFormats::embedded();
        let tif = crate::identify::identify_bytes(b"II*\0\x08\0\0\0", Some("a.tif"));
        assert!(list.is_archival(&tif), "{tif:?}");
        let html = crate::identify::identify_bytes(
            b"<!DOCTYPE html><html><head><title>t</title></head></html>",
            Some("m.html"),
        );
        assert!(!list.is_archival(&html), "{html:?}");
        assert!(list.applies_to("representations/original/data/m.html"));
        assert!(list.applies_to("representations/accessory/data/m.html"));
        assert!(!list.applies_to("representations/access/data/m.html"));
    }

    #[test]
    fn archival_profile_refuses_unknown_keys() {
        let e = ArchivalFormats::parse("keys = [\"tiff\", \"tif\"]\naccess_representations = []")
            .expect_err("unknown key");
        assert!(e.contains("'tif'"), "{e}");
    }

    #[test]
    fn declared_types_compared_with_aliases() {
        let wav = crate::identify::identify_bytes(
            b"RIFF\x24\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0data\0\0\0\0",
            Some("a.wav"),
        );
        assert!(!mime_contradicts(&wav, "audio/wav"), "{wav:?}");
        assert!(!mime_contradicts(&wav, "application/octet-stream"));
        assert!(mime_contradicts(&wav, "image/tiff"));
    }

    #[test]
    fn mojibake_found() {
        assert!(mojibake("å\u{85}³äº\u{8e}").is_some());
        assert!(mojibake("J001-WS·2019 关于成立").is_none());
    }
}
