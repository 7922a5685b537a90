//! Paths inside a package: the one path-safety rule and the one `xlink:href` decoder.
//!
//! Every name that comes from a package — a zip entry name, a manifest line, a METS `xlink:href` — is turned
//! into a package-relative path here, or refused with a reason in Chinese and English. Kept elsewhere on
//! purpose: the package *writer*'s `package::safe_rel` (checks names dangan itself generates) and intake's
//! `intake::matching::dangerous` (names in a 目录 row), which judge different inputs.

use std::fmt;

/// Why a path or an href cannot name a file inside the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    Empty,
    Nul,
    Absolute,
    Backslash,
    Home,
    Drive,
    /// `..` leaves the package.
    Climbs,
    /// The path names the package root itself.
    Root,
    /// An absolute URL (a scheme such as `http:` or `file:`).
    Url(String),
    /// `%` not followed by two hexadecimal digits.
    BadEscape(String),
    /// The decoded bytes are not UTF-8.
    NotUtf8(String),
}

impl PathError {
    /// The reason in Chinese, for findings.
    pub fn zh(&self) -> String {
        match self {
            PathError::Empty => "路径为空".into(),
            PathError::Nul => "路径含 NUL 字符".into(),
            PathError::Absolute => "绝对路径".into(),
            PathError::Backslash => "路径含反斜杠 (Windows 分隔符或设备路径)".into(),
            PathError::Home => "路径以 '~' 开头 (主目录)".into(),
            PathError::Drive => "盘符路径".into(),
            PathError::Climbs => "'..' 路径成分越出了封装包 (路径穿越)".into(),
            PathError::Root => "路径指向封装包根目录本身".into(),
            PathError::Url(h) => format!("'{h}' 是绝对 URL, 不是封装包内的路径"),
            PathError::BadEscape(h) => format!("'{h}' 含无效的百分号转义"),
            PathError::NotUtf8(h) => format!("'{h}' 解码后不是 UTF-8"),
        }
    }
}

impl fmt::Display for PathError {
    /// The reason in English.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::Empty => f.write_str("empty path"),
            PathError::Nul => f.write_str("path contains a NUL character"),
            PathError::Absolute => f.write_str("absolute path"),
            PathError::Backslash => {
                f.write_str("backslash in path (Windows separators or a device path)")
            }
            PathError::Home => f.write_str("path starts with '~' (home directory)"),
            PathError::Drive => f.write_str("drive letter"),
            PathError::Climbs => f.write_str("'..' leaves the package (path traversal)"),
            PathError::Root => f.write_str("path names the package root"),
            PathError::Url(h) => write!(f, "'{h}' is an absolute URL, not a path in the package"),
            PathError::BadEscape(h) => write!(f, "'{h}' has a bad percent-escape"),
            PathError::NotUtf8(h) => write!(f, "'{h}' does not decode to UTF-8"),
        }
    }
}

impl std::error::Error for PathError {}

/// Check that a path written in a package (zip entry name, manifest line, decoded href) stays inside it, and
/// return it normalized (`/` separators, no `.` or empty components).
///
/// Refused (RFC 8493 §7.2, ZIP APPNOTE 4.4.17.1 and bagit-python's `_path_is_dangerous`): absolute paths,
/// `..` components, a leading `~`, drive letters and UNC/device prefixes, backslashes, NUL.
/// A name that is itself a path in the package (a zip entry, a manifest line) has no business with `..` at
/// all, even one that would stay inside (`a/../b`): it is refused.
pub fn safe_relative(path: &str) -> Result<String, PathError> {
    if path.split(['/', '\\']).any(|c| c == "..") {
        return Err(PathError::Climbs);
    }
    join("", path)
}

/// Join `rel` onto the folder `base` ("" for the package root) under the same rule as [`safe_relative`],
/// except that `..` may climb back up within `base` (a representation METS may point at `../../schemas/`).
pub fn join(base: &str, rel: &str) -> Result<String, PathError> {
    if rel.is_empty() {
        return Err(PathError::Empty);
    }
    if rel.contains('\0') {
        return Err(PathError::Nul);
    }
    if rel.starts_with('/') {
        return Err(PathError::Absolute);
    }
    if rel.contains('\\') {
        return Err(PathError::Backslash);
    }
    if rel.starts_with('~') {
        return Err(PathError::Home);
    }
    let b = rel.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err(PathError::Drive);
    }
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(PathError::Climbs);
                }
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err(PathError::Root);
    }
    Ok(parts.join("/"))
}

/// Decode a relative URL reference (`xlink:href` in METS, RFC 3986 §2.1) to a path: no scheme, query or
/// fragment; every `%XX` decoded (by the `percent-encoding` crate), the result UTF-8. `+` stays a plus sign
/// (RFC 3986; the HTML-form convention commons-ip uses is handled by `fixity::verify`, with a warning).
pub fn decode_href(href: &str) -> Result<String, PathError> {
    let href = href.trim();
    // A scheme (RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":") means an absolute URL. A
    // one-letter "scheme" is a drive letter, refused later by the path rule.
    if let Some(colon) = href.find(':') {
        let scheme = &href[..colon];
        if scheme.len() > 1
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Err(PathError::Url(href.to_string()));
        }
    }
    let path = href.split(['?', '#']).next().unwrap_or_default();
    let b = path.as_bytes();
    for (i, _) in path.match_indices('%') {
        if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return Err(PathError::BadEscape(href.to_string()));
        }
    }
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| PathError::NotUtf8(href.to_string()))
}

/// Resolve an `xlink:href` written in the METS file whose folder is `base` to a package path.
pub fn resolve_href(base: &str, href: &str) -> Result<String, PathError> {
    join(base, &decode_href(href)?)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(safe_relative("../x"), Err(PathError::Climbs));
        assert_eq!(safe_relative("sip/../evil.txt"), Err(PathError::Climbs));
        assert_eq!(join("", "sip/../x.txt").unwrap(), "x.txt");
    }

    #[test]
    fn hrefs() {
        assert_eq!(decode_href("data/a%20b.txt").unwrap(), "data/a b.txt");
        assert_eq!(decode_href("data/%E6%A1%A3.txt").unwrap(), "data/档.txt");
        assert_eq!(decode_href("data/档.txt").unwrap(), "data/档.txt");
        assert_eq!(decode_href("data/a+b.txt").unwrap(), "data/a+b.txt");
        assert!(matches!(
            decode_href("file:///etc/passwd"),
            Err(PathError::Url(_))
        ));
        assert!(decode_href("http://x/y").is_err());
        assert!(matches!(
            decode_href("data/%zz"),
            Err(PathError::BadEscape(_))
        ));
        assert!(decode_href("data/%4").is_err());
        assert!(matches!(
            decode_href("data/%FF"),
            Err(PathError::NotUtf8(_))
        ));
        // A drive letter is not a scheme: refused by the path rule instead.
        assert_eq!(resolve_href("", "C:/x"), Err(PathError::Drive));
    }

    #[test]
    fn hrefs_resolve_against_the_mets_folder() {
        assert_eq!(
            resolve_href("representations/r1", "data/a").unwrap(),
            "representations/r1/data/a"
        );
        assert_eq!(
            resolve_href("representations/r1/", "../../METS.xml").unwrap(),
            "METS.xml"
        );
        assert_eq!(
            resolve_href("", "documentation/%E7%9B%AE%E5%BD%95.csv").unwrap(),
            "documentation/目录.csv"
        );
        assert_eq!(resolve_href("", "../x"), Err(PathError::Climbs));
        assert_eq!(resolve_href("", "/x"), Err(PathError::Absolute));
        assert!(resolve_href("", "%2E%2E/x").is_err());
    }
}
