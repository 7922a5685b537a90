//! A stop-gap identification by magic bytes, just enough to drive the policy.
//!
//! TODO(identify): replace with dangan::identify once merged. Everything here is private to the module and
//! kept in this one file so the swap is one call in `mod.rs` (`sniff::identify`).

use crate::model::Identification;

fn id(puid: Option<&str>, mime: &str, format: &str, basis: &str) -> Identification {
    Identification {
        puid: puid.map(str::to_string),
        mime: mime.into(),
        format: format.into(),
        version: None,
        basis: format!("{basis} (dangan normalize stop-gap sniffing)"),
        warnings: Vec::new(),
    }
}

/// Identify `head` (the first few KiB of a file) named `name`.
pub(crate) fn identify(head: &[u8], name: &str) -> Identification {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let at = |off: usize, magic: &[u8]| head.get(off..off + magic.len()) == Some(magic);
    if at(0, b"II*\0") || at(0, b"MM\0*") {
        return id(
            Some("fmt/353"),
            "image/tiff",
            "TIFF",
            "signature 'II*\\0'/'MM\\0*' at 0",
        );
    }
    if at(0, &[0xFF, 0xD8, 0xFF]) {
        // fmt/645 (Exif JPEG) when an APP1 Exif segment leads; JFIF 1.02 otherwise.
        let puid = if at(6, b"Exif") { "fmt/645" } else { "fmt/44" };
        return id(Some(puid), "image/jpeg", "JPEG", "signature FF D8 FF at 0");
    }
    if at(0, b"\x89PNG\r\n\x1a\n") {
        return id(Some("fmt/11"), "image/png", "PNG", "PNG signature at 0");
    }
    if at(0, b"GIF87a") || at(0, b"GIF89a") {
        return id(Some("fmt/4"), "image/gif", "GIF", "signature GIF8 at 0");
    }
    if at(0, b"BM") && ext == "bmp" {
        return id(
            Some("fmt/116"),
            "image/bmp",
            "BMP",
            "signature BM at 0 and extension",
        );
    }
    if at(0, b"%PDF-") {
        return id(
            Some("fmt/276"),
            "application/pdf",
            "PDF",
            "signature %PDF- at 0",
        );
    }
    if at(0, b"RIFF") && at(8, b"WAVE") {
        let bwf = head.windows(4).any(|w| w == b"bext");
        let (puid, fmt) = if bwf {
            ("fmt/527", "BWF")
        } else {
            ("fmt/141", "WAV")
        };
        return id(Some(puid), "audio/x-wav", fmt, "RIFF....WAVE at 0");
    }
    if at(0, b"RIFF") && at(8, b"AVI ") {
        return id(Some("fmt/5"), "video/x-msvideo", "AVI", "RIFF....AVI at 0");
    }
    if at(0, b"fLaC") {
        return id(Some("fmt/279"), "audio/flac", "FLAC", "signature fLaC at 0");
    }
    if at(0, b"OggS") {
        return id(
            Some("fmt/203"),
            "audio/ogg",
            "Ogg Vorbis",
            "signature OggS at 0",
        );
    }
    if at(0, b"ID3") || (head.len() > 1 && head[0] == 0xFF && head[1] & 0xE6 == 0xE2) {
        return id(
            Some("fmt/134"),
            "audio/mpeg",
            "MP3",
            "ID3 tag or MPEG audio frame sync at 0",
        );
    }
    if head.len() > 1 && head[0] == 0xFF && head[1] & 0xF6 == 0xF0 {
        return id(None, "audio/aac", "AAC (ADTS)", "ADTS frame sync at 0");
    }
    if at(4, b"ftyp") {
        let brand = head.get(8..12).unwrap_or_default();
        if brand == b"M4A " || brand == b"M4B " {
            return id(
                Some("fmt/199"),
                "audio/mp4",
                "MPEG-4 audio",
                "ftyp M4A at 4",
            );
        }
        if brand == b"qt  " {
            return id(
                Some("x-fmt/384"),
                "video/quicktime",
                "QuickTime",
                "ftyp qt at 4",
            );
        }
        return id(Some("fmt/199"), "video/mp4", "MPEG-4", "ftyp at 4");
    }
    if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        return id(
            Some("fmt/569"),
            "video/x-matroska",
            "Matroska",
            "EBML header at 0",
        );
    }
    if at(0, &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        let mime = match ext.as_str() {
            "xls" => "application/vnd.ms-excel",
            "ppt" => "application/vnd.ms-powerpoint",
            _ => "application/msword",
        };
        return id(
            None,
            mime,
            "OLE2 office document",
            "OLE2 signature at 0 and extension",
        );
    }
    if at(0, b"PK\x03\x04") {
        let has = |s: &[u8]| head.windows(s.len()).any(|w| w == s);
        if has(b"OFD.xml") {
            return id(
                None,
                "application/ofd",
                "OFD",
                "zip entry OFD.xml (OFD has no PUID)",
            );
        }
        let office = match ext.as_str() {
            "docx" => {
                Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
            }
            "xlsx" => Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            "pptx" => {
                Some("application/vnd.openxmlformats-officedocument.presentationml.presentation")
            }
            "odt" => Some("application/vnd.oasis.opendocument.text"),
            "ods" => Some("application/vnd.oasis.opendocument.spreadsheet"),
            _ => None,
        };
        if let Some(mime) = office {
            return id(None, mime, "office document", "zip signature and extension");
        }
        return id(
            Some("x-fmt/263"),
            "application/zip",
            "ZIP",
            "signature PK\\3\\4 at 0",
        );
    }
    if at(0, b"From ") {
        return id(
            Some("fmt/720"),
            "application/mbox",
            "MBOX",
            "'From ' line at 0",
        );
    }
    if looks_like_rfc5322(head) {
        return id(
            Some("fmt/950"),
            "message/rfc822",
            "EML",
            "RFC 5322 header fields at 0",
        );
    }
    id(
        None,
        "application/octet-stream",
        "unknown",
        "no signature matched",
    )
}

/// The head starts with header fields and carries at least two of the usual ones.
fn looks_like_rfc5322(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&head[..head.len().min(4096)]);
    let first = text.lines().next().unwrap_or_default();
    let Some((name, _)) = first.split_once(':') else {
        return false;
    };
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    let known = [
        "from:",
        "to:",
        "subject:",
        "date:",
        "message-id:",
        "mime-version:",
        "received:",
    ];
    text.lines()
        .take_while(|l| !l.is_empty())
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            known.iter().any(|k| l.starts_with(k))
        })
        .count()
        >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_families_the_policy_needs() {
        assert_eq!(
            identify(b"II*\0xxxx", "a.tif").puid.as_deref(),
            Some("fmt/353")
        );
        assert_eq!(identify(b"From a@b Mon\n", "x").mime, "application/mbox");
        assert_eq!(
            identify(b"From: a@b\r\nSubject: x\r\n\r\nhi", "m").mime,
            "message/rfc822"
        );
        assert_eq!(identify(b"hello", "x").mime, "application/octet-stream");
    }
}
