//! The one resolution reader: dots per inch from the file's own tags.
//!
//! - TIFF: XResolution/YResolution with ResolutionUnit (TIFF 6.0 §8: 2 = inch, the default; 3 = centimetre;
//!   1 = no absolute unit → unknown).
//! - PNG: pHYs in pixels per metre (PNG §11.3.5.3, unit 1; unit 0 is an aspect ratio only → unknown).
//!   Whole pixels per metre cannot hold 150 or 300 dpi exactly (11811 px/m = 299.9994 dpi): a value within
//!   0.1 of a whole dpi is that dpi; others are rounded to 0.01.
//! - JPEG: JFIF APP0 density (unit 1 = inch, 2 = centimetre). Unit 0 (aspect ratio) and a density of 1×1 —
//!   what encoders write when they know nothing — are *unknown*, never "1 dpi"; Exif X/YResolution is then
//!   used when present.

use std::io::Cursor;

use tiff_decode::decoder::{Decoder, ifd::Value};
use tiff_decode::tags::Tag;

fn snap(v: f64) -> f64 {
    if (v - v.round()).abs() < 0.1 {
        v.round()
    } else {
        (v * 100.0).round() / 100.0
    }
}

/// Usable resolution: both axes positive and finite.
fn usable(x: f64, y: f64) -> Option<(f64, f64)> {
    (x.is_finite() && y.is_finite() && x > 0.0 && y > 0.0).then_some((snap(x), snap(y)))
}

/// Dots per inch from PNG pHYs values (PNG §11.3.5.3): pixels per metre with unit 1; unit 0 is an aspect
/// ratio only → unknown. Used by this reader and by `handler::png`, so QC and `inspect` agree.
pub fn from_png_phys(x_ppm: u32, y_ppm: u32, unit: u8) -> Option<(f64, f64)> {
    (unit == 1)
        .then(|| usable(f64::from(x_ppm) * 0.0254, f64::from(y_ppm) * 0.0254))
        .flatten()
}

/// Dots per inch from TIFF XResolution/YResolution and ResolutionUnit (TIFF 6.0 §8: 2 = inch, the
/// default; 3 = centimetre; 1 = no absolute unit → unknown). Used by this reader and by `handler::tiff`.
pub fn from_tiff_resolution(x: f64, y: f64, unit: u16) -> Option<(f64, f64)> {
    match unit {
        2 => usable(x, y),
        3 => usable(x * 2.54, y * 2.54),
        _ => None,
    }
}

/// Dots per inch from a JFIF APP0 density (JFIF 1.02: unit 1 = inch, 2 = centimetre). Unit 0 is an aspect
/// ratio only, and 1×1 is the "no information" default of encoders in any unit: both unknown. Used by this
/// reader and by `inspect`.
pub fn from_jfif_density(unit: u8, x: u16, y: u16) -> Option<(f64, f64)> {
    if (x, y) == (1, 1) {
        return None;
    }
    match unit {
        1 => usable(f64::from(x), f64::from(y)),
        2 => usable(f64::from(x) * 2.54, f64::from(y) * 2.54),
        _ => None,
    }
}

/// Dots per inch from pixels per metre: BMP biXPelsPerMeter/biYPelsPerMeter (0 = not given), JPEG 2000
/// capture resolution `resc` (ISO/IEC 15444-1 §I.5.3.7.1, points per metre). Snapped as PNG's pHYs is.
pub fn from_pixels_per_metre(x: f64, y: f64) -> Option<(f64, f64)> {
    usable(x * 0.0254, y * 0.0254)
}

/// Resolution in dots per inch from the file's own tags; `None` when the file records none (or only an
/// aspect ratio).
pub fn dpi(b: &[u8]) -> Option<(f64, f64)> {
    if b.starts_with(&[0xFF, 0xD8]) {
        return jpeg(b);
    }
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        return png(b);
    }
    if b.starts_with(b"II*\0") || b.starts_with(b"MM\0*") {
        return tiff(b);
    }
    None
}

fn png(b: &[u8]) -> Option<(f64, f64)> {
    let mut i = 8usize;
    while i.checked_add(8)? <= b.len() {
        let len = u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?) as usize;
        let kind = b.get(i + 4..i + 8)?;
        if kind == b"pHYs" && len == 9 {
            let d = b.get(i + 8..i + 17)?;
            let x = u32::from_be_bytes(d[0..4].try_into().ok()?);
            let y = u32::from_be_bytes(d[4..8].try_into().ok()?);
            return from_png_phys(x, y, d[8]);
        }
        if kind == b"IDAT" || kind == b"IEND" {
            return None;
        }
        i = i.checked_add(12)?.checked_add(len)?;
    }
    None
}

fn tiff(b: &[u8]) -> Option<(f64, f64)> {
    let mut d = Decoder::new(Cursor::new(b)).ok()?;
    let mut rat = |t| -> Option<f64> {
        match d.find_tag(t).ok()?? {
            Value::Rational(n, den) if den != 0 => Some(f64::from(n) / f64::from(den)),
            Value::Rational(..) => None,
            v => v.into_f64().ok(),
        }
    };
    let x = rat(Tag::XResolution)?;
    let y = rat(Tag::YResolution).unwrap_or(x);
    let unit = d
        .find_tag(Tag::ResolutionUnit)
        .ok()
        .flatten()
        .and_then(|v| v.into_u16().ok());
    from_tiff_resolution(x, y, unit.unwrap_or(2))
}

fn jpeg(b: &[u8]) -> Option<(f64, f64)> {
    let mut i = 2usize;
    let mut exif = None;
    while i + 4 <= b.len() && b[i] == 0xFF {
        let marker = b[i + 1];
        if marker == 0xDA || marker == 0xD9 {
            break;
        }
        let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        let Some(seg) = b.get(i + 4..i + 2 + len.max(2)) else {
            break;
        };
        if marker == 0xE0 && seg.starts_with(b"JFIF\0") && seg.len() >= 12 {
            let unit = seg[7];
            let x = u16::from_be_bytes([seg[8], seg[9]]);
            let y = u16::from_be_bytes([seg[10], seg[11]]);
            if let Some(d) = from_jfif_density(unit, x, y) {
                return Some(d);
            }
        }
        if marker == 0xE1 && seg.starts_with(b"Exif\0\0") {
            exif = Some(&seg[6..]);
        }
        i += 2 + len;
    }
    let ex = exif::Reader::new().read_raw(exif?.to_vec()).ok()?;
    let get = |t| {
        ex.get_field(t, exif::In::PRIMARY)
            .and_then(|f| match &f.value {
                exif::Value::Rational(v) if !v.is_empty() && v[0].denom != 0 => Some(v[0].to_f64()),
                _ => None,
            })
    };
    let x = get(exif::Tag::XResolution)?;
    let y = get(exif::Tag::YResolution).unwrap_or(x);
    let unit = ex
        .get_field(exif::Tag::ResolutionUnit, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .unwrap_or(2);
    if x <= 1.0 && y <= 1.0 {
        return None;
    }
    match unit {
        2 => usable(x, y),
        3 => usable(x * 2.54, y * 2.54),
        _ => None,
    }
}

/// Bits per sample the file declares for a one-channel image (PNG IHDR, TIFF BitsPerSample).
pub(super) fn declared_bits(b: &[u8]) -> Option<u16> {
    if b.starts_with(b"\x89PNG\r\n\x1a\n") && b.get(12..16) == Some(b"IHDR") {
        // PNG §11.2.2: bit depth at byte 24, colour type at 25 (0 = greyscale).
        return (b.get(25) == Some(&0)).then(|| u16::from(*b.get(24).unwrap_or(&8)));
    }
    if b.starts_with(b"II*\0") || b.starts_with(b"MM\0*") {
        let mut d = Decoder::new(Cursor::new(b)).ok()?;
        if let Ok(tiff_decode::ColorType::Gray(n)) = d.colortype() {
            return Some(u16::from(n));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jfif(unit: u8, x: u16, y: u16) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
        b.extend(b"JFIF\0\x01\x01");
        b.push(unit);
        b.extend(x.to_be_bytes());
        b.extend(y.to_be_bytes());
        b.extend([0, 0, 0xFF, 0xD9]);
        b
    }

    #[test]
    fn jfif_density_one_or_aspect_only_is_unknown() {
        assert_eq!(dpi(&jfif(1, 300, 300)), Some((300.0, 300.0)));
        assert_eq!(dpi(&jfif(2, 118, 118)), Some((299.72, 299.72)));
        assert_eq!(dpi(&jfif(1, 1, 1)), None);
        assert_eq!(dpi(&jfif(0, 1, 1)), None);
        assert_eq!(dpi(&jfif(0, 300, 300)), None);
    }

    #[test]
    fn png_phys_snaps_to_whole_dpi() {
        let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
        b.extend(9u32.to_be_bytes());
        b.extend(b"pHYs");
        b.extend(11811u32.to_be_bytes());
        b.extend(5906u32.to_be_bytes());
        b.push(1);
        b.extend([0; 4]);
        assert_eq!(dpi(&b), Some((300.0, 150.0)));
        let last = b.len() - 5;
        b[last] = 0;
        assert_eq!(dpi(&b), None);
    }
}
