//! The one rule for what a page is, used by `qc`, `normalize` and `pack` alike.
//!
//! A **page** is a raster image that dangan decodes (TIFF, JPEG, PNG, GIF, BMP — identified by content) whose
//! file name is a DA/T 31-2017 9.6 page name: `<档号>-NNNN.<ext>`, the item's 档号 (with `·` written `_`) and
//! a 4-digit 图像流水号. Everything else is a file of its own: a photo named by its 档号
//! (`J001-WS_2019-Y-BGS-0003.jpg`, DA/T 54-2014) gets photo checks, not page checks; a recording, an e-mail
//! or a PDF is never a page.

use crate::catalog::Danghao;
use crate::identify::Family;

/// Digits of the 图像流水号 (DA/T 31-2017 9.6).
pub const PAGE_DIGITS: usize = 4;

/// A page file name split into the item's stem and the page number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageName {
    pub stem: String,
    pub seq: u32,
    pub ext: String,
}

/// Split `stem-NNNN.ext` (NNNN exactly `digits` digits). `None` when the name does not have that shape.
pub fn parse_page_name(file_name: &str, digits: usize) -> Option<PageName> {
    let (base, ext) = file_name.rsplit_once('.')?;
    let (stem, seq) = base.rsplit_once('-')?;
    if stem.is_empty() || seq.len() != digits || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(PageName {
        stem: stem.to_string(),
        seq: seq.parse().ok()?,
        ext: ext.to_ascii_lowercase(),
    })
}

/// What a file name says about a file of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameKind {
    /// `档号-NNNN.ext`: one page of an item.
    Page(PageName),
    /// `档号.ext`: the whole item in one file (a multi-page file, a photo, a recording).
    Item,
    /// Neither.
    Other,
}

fn is_danghao(stem: &str) -> bool {
    stem.parse::<Danghao>().is_ok() || Danghao::from_file_stem(stem).is_ok()
}

/// Classify a file name. A 档号 itself ends in a 4-digit 件号, so `J001-WS_2019-Y-BGS-0003.jpg` is the
/// whole item 0003, while `J001-WS_2019-Y-BGS-0001-0003.tif` is page 3 of item 0001: a page is a name
/// whose part before the sequence number is a 档号 (or, outside any 档号 scheme, any `stem-NNNN`).
pub fn classify_name(file_name: &str, digits: usize) -> NameKind {
    let stem = file_name.rsplit_once('.').map_or(file_name, |(s, _)| s);
    match parse_page_name(file_name, digits) {
        Some(p) if is_danghao(&p.stem) => NameKind::Page(p),
        _ if is_danghao(stem) => NameKind::Item,
        Some(p) => NameKind::Page(p),
        None => NameKind::Other,
    }
}

/// Whether files of this family are page images dangan decodes.
pub fn is_page_family(family: Family) -> bool {
    matches!(
        family,
        Family::Tiff | Family::Jpeg | Family::Png | Family::Gif | Family::Bmp
    )
}

/// The rule: the page name of `path` when the file is a page, `None` when it is a file of its own.
pub fn page_of(path: &str, family: Family) -> Option<PageName> {
    if !is_page_family(family) {
        return None;
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    match classify_name(name, PAGE_DIGITS) {
        NameKind::Page(p) => Some(p),
        _ => None,
    }
}

/// A raster image that is not a page (a photo): gets photo checks.
pub fn is_photo(path: &str, family: Family) -> bool {
    is_page_family(family) && page_of(path, family).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_names() {
        let n = parse_page_name("J001-WS_2019-Y-BGS-0001-0003.TIF", 4).unwrap();
        assert_eq!(n.stem, "J001-WS_2019-Y-BGS-0001");
        assert_eq!(n.seq, 3);
        assert_eq!(n.ext, "tif");
        assert!(parse_page_name("scan 3.tif", 4).is_none());
        assert!(parse_page_name("A-003.tif", 4).is_none());
        assert!(matches!(
            classify_name("J001-WS_2019-Y-BGS-0001-0003.tif", 4),
            NameKind::Page(PageName { seq: 3, .. })
        ));
        assert_eq!(
            classify_name("J001-WS_2019-Y-BGS-0003.jpg", 4),
            NameKind::Item
        );
        assert_eq!(
            classify_name("J001-WS·2019-Y-BGS-0003.jpg", 4),
            NameKind::Item
        );
        assert_eq!(classify_name("notes.txt", 4), NameKind::Other);
    }

    #[test]
    fn the_page_rule() {
        assert!(page_of("a/J001-WS_2019-Y-BGS-0001-0001.tif", Family::Tiff).is_some());
        // The demo's photo: named by its 档号, a JPEG — a photo, not a page.
        assert!(page_of("J001-WS_2019-Y-BGS-0003.jpg", Family::Jpeg).is_none());
        assert!(is_photo("J001-WS_2019-Y-BGS-0003.jpg", Family::Jpeg));
        // Page-shaped names of recordings are not pages.
        assert!(page_of("J001-WS_2019-Y-BGS-0004-0001.wav", Family::Wav).is_none());
        assert!(!is_photo("J001-WS_2019-Y-BGS-0004.wav", Family::Wav));
    }
}
