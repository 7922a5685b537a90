//! Paths written in manifests and METS: encoding, decoding, and refusing the dangerous ones.

/// Percent-encode a payload path for a BagIt 1.0 manifest.
///
/// RFC 8493 §2.1.3: CR, LF and `%` (and only those) are percent-encoded; `%` first, so the `%` of
/// `%0A` is not encoded again.
pub fn encode_manifest_path(path: &str) -> String {
    path.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Decode a manifest path.
///
/// For BagIt 1.0 (RFC 8493 §2.1.3) `%0D`, `%0A` and `%25` are decoded, case-insensitively, and any
/// other `%` is kept as written. Older bags (0.93–0.97) had no encoding; bagit-python nevertheless
/// writes `%0D`/`%0A` into them, so those two are decoded there too and `%` stays literal.
pub fn decode_manifest_path(path: &str, version_1_or_later: bool) -> String {
    if !path.contains('%') {
        return path.to_string();
    }
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let code = path.get(i + 1..i + 3).map(str::to_ascii_uppercase);
            let decoded = match code.as_deref() {
                Some("0D") => Some('\r'),
                Some("0A") => Some('\n'),
                Some("25") if version_1_or_later => Some('%'),
                _ => None,
            };
            if let Some(c) = decoded {
                out.push(c);
                i += 3;
                continue;
            }
        }
        // Copy one whole character (the input is valid UTF-8).
        let ch_len = path[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&path[i..i + ch_len]);
        i += ch_len;
    }
    out
}

/// Check that a path written in a manifest or a METS `xlink:href` stays inside the package, and
/// return it normalized (`/` separators, no `.` or empty components).
///
/// Refused (RFC 8493 §7.2 and bagit-python's `_path_is_dangerous`): absolute paths, `..`
/// components, a leading `~`, drive letters and UNC/device prefixes, backslashes, NUL.
pub fn safe_relative(path: &str) -> Result<String, &'static str> {
    if path.is_empty() {
        return Err("empty path");
    }
    if path.contains('\0') {
        return Err("path contains a NUL character");
    }
    if path.starts_with('/') {
        return Err("absolute path");
    }
    if path.contains('\\') {
        return Err("backslash in path (Windows separators or a device path)");
    }
    if path.starts_with('~') {
        return Err("path starts with '~' (home directory)");
    }
    let b = path.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err("drive letter");
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("'..' leaves the package"),
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err("path names the package root");
    }
    Ok(parts.join("/"))
}

/// Decode a relative URL reference (`xlink:href` in METS, RFC 3986 §2.1) to a package path.
pub fn decode_href(href: &str) -> Result<String, String> {
    let href = href.trim();
    // A scheme (RFC 3986 §3.1) means an absolute URL: not a file of this package.
    if let Some(colon) = href.find(':') {
        let scheme = &href[..colon];
        if !scheme.is_empty()
            && !scheme.contains('/')
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && scheme.len() > 1
        {
            return Err(format!(
                "'{href}' is an absolute URL, not a path in the package"
            ));
        }
    }
    let href = href.split(['?', '#']).next().unwrap_or_default();
    let bytes = href.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16));
            let lo = bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16));
            match (hi, lo) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => return Err(format!("'{href}' has a bad percent-escape")),
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("'{href}' does not decode to UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc8493_2_1_3_encoding() {
        assert_eq!(encode_manifest_path("data/100%.txt"), "data/100%25.txt");
        assert_eq!(encode_manifest_path("data/a\nb\r"), "data/a%0Ab%0D");
        assert_eq!(encode_manifest_path("data/%0A"), "data/%250A");
        assert_eq!(decode_manifest_path("data/%250A", true), "data/%0A");
        assert_eq!(decode_manifest_path("data/a%0ab", true), "data/a\nb");
        // 0.97: `%` is literal, CR/LF as bagit-python writes them.
        assert_eq!(
            decode_manifest_path("data/100%25.txt", false),
            "data/100%25.txt"
        );
        assert_eq!(decode_manifest_path("data/a%0Db", false), "data/a\rb");
        // Other escapes are not BagIt's: kept as written.
        assert_eq!(decode_manifest_path("data/%41%", true), "data/%41%");
        assert_eq!(decode_manifest_path("data/档案%25", true), "data/档案%");
    }

    #[test]
    fn dangerous_paths_refused() {
        for p in [
            "/etc/passwd",
            "../x",
            "data/../../x",
            "~/.bashrc",
            "~root/x",
            "C:/x",
            "c:x",
            "data\\..\\x",
            "\\\\?\\c:\\x",
            "",
            ".",
            "data/\0",
        ] {
            assert!(safe_relative(p).is_err(), "{p:?} must be refused");
        }
        assert_eq!(safe_relative("./data//a.txt").unwrap(), "data/a.txt");
        assert_eq!(safe_relative("data/a~b/c..d").unwrap(), "data/a~b/c..d");
    }

    #[test]
    fn hrefs() {
        assert_eq!(decode_href("data/a%20b.txt").unwrap(), "data/a b.txt");
        assert_eq!(decode_href("data/%E6%A1%A3.txt").unwrap(), "data/档.txt");
        assert_eq!(decode_href("data/档.txt").unwrap(), "data/档.txt");
        assert!(decode_href("file:///etc/passwd").is_err());
        assert!(decode_href("http://x/y").is_err());
        assert!(decode_href("data/%zz").is_err());
        assert!(decode_href("data/%FF").is_err());
    }

    proptest! {
        #[test]
        fn encode_decode_round_trip(s in "[a-z%\r\n 档0-9A]{0,24}") {
            prop_assert_eq!(decode_manifest_path(&encode_manifest_path(&s), true), s.clone());
            let enc = encode_manifest_path(&s);
            prop_assert!(!enc.contains('\n') && !enc.contains('\r'));
        }
    }
}
