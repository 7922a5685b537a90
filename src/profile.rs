//! The one profile loader (issue 12 item 4): every table of data dangan ships under `profiles/` — the
//! catalog, `policy.toml`, `qc.toml`, `formats.toml`, `intake.toml` — is read the same way.
//!
//! - The embedded default is parsed once per process and cached ([`Embedded`]).
//! - A user's file is read through [`crate::fsutil::read_regular`] (a FIFO or a device is refused, the
//!   size is capped) and either replaces the default or is laid over it ([`overlay`]: tables merge key by
//!   key, any other value — arrays included — replaces the default's).
//! - Every error names the file and, where the TOML parser or the key can place it, the line.
//!
//! The modules keep their own types and checks; they call this for the reading, the parsing and the
//! caching.

use std::fmt;
use std::path::Path;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;

/// Largest profile file read: real profiles are a few tens of KiB.
pub const MAX_PROFILE_BYTES: u64 = 16 << 20;

/// A profile that cannot be read or is malformed: the file, the line when known, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ProfileError {}

/// The 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Read a profile file as UTF-8 text (regular files only, at most [`MAX_PROFILE_BYTES`]).
pub fn read(path: &Path) -> Result<String, ProfileError> {
    let file = path.display().to_string();
    let bytes = crate::fsutil::read_regular(path, MAX_PROFILE_BYTES).map_err(|e| ProfileError {
        file: file.clone(),
        line: None,
        message: e.to_string(),
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        ProfileError {
            line: Some(line_of(&String::from_utf8_lossy(e.as_bytes()), offset)),
            file,
            message: "not UTF-8 text (TOML 1.0 §1: a TOML file must be valid UTF-8)".into(),
        }
    })
}

fn toml_error(text: &str, file: &str, e: &toml::de::Error) -> ProfileError {
    ProfileError {
        file: file.to_string(),
        line: e.span().map(|s| line_of(text, s.start)),
        message: e.message().trim().to_string(),
    }
}

/// Parse a whole profile from `text`; `file` names it in errors.
pub fn parse<T: DeserializeOwned>(text: &str, file: &str) -> Result<T, ProfileError> {
    toml::from_str(text).map_err(|e| toml_error(text, file, &e))
}

/// Lay the profile in `over` (from the file `over_file`) over `base` (from `base_file`): tables merge key
/// by key, every other value replaces the base's. Syntax errors name the file they are in; a value of
/// the wrong type names the overlay's line where the key is set (or the base's, if the overlay does not
/// set it).
pub fn overlay<T: DeserializeOwned>(
    base: &str,
    base_file: &str,
    over: &str,
    over_file: &str,
) -> Result<T, ProfileError> {
    let mut merged: toml::Table = parse(base, base_file)?;
    let top: toml::Table = parse(over, over_file)?;
    merge(&mut merged, top);
    // Deserialize from the merged text so that an error has a span; the key at that span is then looked
    // up in the overlay (where the user wrote it) or else in the base.
    let text = toml::to_string(&merged).map_err(|e| ProfileError {
        file: over_file.to_string(),
        line: None,
        message: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e: toml::de::Error| {
        let message = e.message().trim().to_string();
        let keys = e.span().map(|s| key_at(&text, s.start)).unwrap_or_default();
        match line_of_key(over, &keys) {
            Some(line) => ProfileError {
                file: over_file.to_string(),
                line: Some(line),
                message,
            },
            None => ProfileError {
                file: over_file.to_string(),
                line: None,
                message: match line_of_key(base, &keys) {
                    Some(l) => format!("{message} (after laying it over {base_file}:{l})"),
                    None => format!("{message} (after laying it over {base_file})"),
                },
            },
        }
    })
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// The key path (`[table]` then `key`) of the line holding byte `offset` of `text`, by a plain reading.
fn key_at(text: &str, offset: usize) -> Vec<String> {
    let target = line_of(text, offset);
    let mut table: Vec<String> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(h) = line.strip_prefix('[') {
            let name = h.trim_start_matches('[').split(']').next().unwrap_or("");
            table = name.split('.').map(|s| s.trim().to_string()).collect();
            if i + 1 == target {
                return table;
            }
        } else if i + 1 == target {
            let mut keys = table;
            if let Some((k, _)) = line.split_once('=') {
                keys.push(k.trim().trim_matches('"').to_string());
            }
            return keys;
        }
    }
    table
}

/// The line where `keys` (`[table] … key =`) is set in `text`, by a plain reading of headers and keys.
fn line_of_key(text: &str, keys: &[String]) -> Option<usize> {
    let (last, tables) = keys.split_last()?;
    let mut table: Vec<String> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(h) = line.strip_prefix('[') {
            let h = h.trim_start_matches('[');
            let name = h.split(']').next().unwrap_or("");
            table = name.split('.').map(|s| s.trim().to_string()).collect();
            if table.as_slice() == keys {
                return Some(i + 1);
            }
            continue;
        }
        if let Some((k, _)) = line.split_once('=') {
            let k = k.trim().trim_matches('"');
            if k == last && table.as_slice() == tables {
                return Some(i + 1);
            }
        }
    }
    None
}

/// An embedded profile, parsed on first use and kept for the life of the process.
pub struct Embedded<T: 'static> {
    cell: OnceLock<T>,
    file: &'static str,
    text: &'static str,
    parse: fn(&str, &str) -> Result<T, String>,
}

impl<T> Embedded<T> {
    /// `parse(text, file)` is the module's own parser and checks.
    pub const fn new(
        file: &'static str,
        text: &'static str,
        parse: fn(&str, &str) -> Result<T, String>,
    ) -> Self {
        Embedded {
            cell: OnceLock::new(),
            file,
            text,
            parse,
        }
    }

    /// The parsed default. Every embedded profile is parsed by the unit tests of its module, so a failure
    /// here is a build defect, never user input.
    pub fn get(&'static self) -> &'static T {
        self.cell
            .get_or_init(|| match (self.parse)(self.text, self.file) {
                Ok(v) => v,
                Err(e) => panic!("embedded {} is invalid: {e}", self.file),
            })
    }

    /// The embedded text and its name (for overlays).
    pub fn source(&self) -> (&'static str, &'static str) {
        (self.text, self.file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct P {
        a: A,
        list: Vec<u32>,
    }
    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct A {
        x: f64,
        y: String,
    }

    const BASE: &str = "list = [1, 2]\n\n[a]\nx = 1.5\ny = \"base\"\n";

    #[test]
    fn overlay_merges_tables_and_replaces_values() {
        let p: P = overlay(BASE, "base.toml", "[a]\ny = \"mine\"\n", "mine.toml").unwrap();
        assert_eq!(p.a.x, 1.5);
        assert_eq!(p.a.y, "mine");
        assert_eq!(p.list, vec![1, 2]);
        let p: P = overlay(BASE, "base.toml", "list = [7]\n", "mine.toml").unwrap();
        assert_eq!(p.list, vec![7]);
    }

    #[test]
    fn errors_name_file_and_line() {
        // Syntax error in the overlay: its own line.
        let e = overlay::<P>(BASE, "base.toml", "\n\n[a\n", "mine.toml").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("mine.toml", Some(3)), "{e}");
        // Wrong type: the line in the overlay that sets the key.
        let e =
            overlay::<P>(BASE, "base.toml", "# c\n[a]\n\nx = \"wide\"\n", "mine.toml").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("mine.toml", Some(4)), "{e}");
        assert!(e.to_string().starts_with("mine.toml:4: "), "{e}");
        // Unknown key in a whole profile.
        let e = parse::<P>("list = []\n[a]\nx = 1.0\ny = \"\"\nz = 2\n", "p.toml").unwrap_err();
        assert_eq!(e.line, Some(5), "{e}");
    }

    #[test]
    fn embedded_is_parsed_once() {
        static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        static E: Embedded<P> = Embedded::new("<embedded>/t.toml", BASE, |t, f| {
            COUNT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            parse(t, f).map_err(|e| e.to_string())
        });
        assert_eq!(E.get().a.y, "base");
        assert_eq!(E.get().list, vec![1, 2]);
        assert_eq!(COUNT.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn missing_and_non_utf8_files_name_file_and_line() {
        let t = tempfile::tempdir().unwrap();
        let e = read(&t.path().join("none.toml")).unwrap_err();
        assert!(e.file.ends_with("none.toml"), "{e}");
        std::fs::write(t.path().join("bad.toml"), b"a = 1\n\xff\n").unwrap();
        let e = read(&t.path().join("bad.toml")).unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }
}
