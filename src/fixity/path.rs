//! Paths written in BagIt manifests: RFC 8493 §2.1.3 encoding and decoding.
//!
//! Whether a decoded path is safe is decided by the one path rule, [`crate::sip::path::safe_relative`]
//! (re-exported here for the BagIt reader); `xlink:href` decoding is [`crate::sip::path::decode_href`].

pub use crate::sip::path::safe_relative;

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

    proptest! {
        #[test]
        fn encode_decode_round_trip(s in "[a-z%\r\n 档0-9A]{0,24}") {
            prop_assert_eq!(decode_manifest_path(&encode_manifest_path(&s), true), s.clone());
            let enc = encode_manifest_path(&s);
            prop_assert!(!enc.contains('\n') && !enc.contains('\r'));
        }
    }
}
