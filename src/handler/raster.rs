//! GIF, BMP and JPEG 2000: dimensions and depth from the file header.
//!
//! GIF89a §18 (Logical Screen Descriptor); Microsoft BITMAPINFOHEADER / BITMAPCOREHEADER; ISO/IEC 15444-1
//! Annex I (JP2 Header box `jp2h` → Image Header box `ihdr`, Resolution box `res `).

use serde::Serialize;

use super::{Characterization, Handler, HandlerError, Limits, Source};
use crate::identify::{Family, Identified};

pub struct Raster;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImageInfo {
    pub width: u64,
    pub height: u64,
    pub bits_per_pixel: Option<u16>,
    pub components: Option<u16>,
    pub compression: Option<String>,
    pub x_dpi: Option<f64>,
    pub y_dpi: Option<f64>,
}

impl Handler for Raster {
    fn name(&self) -> &'static str {
        "raster"
    }
    fn summary(&self) -> &'static str {
        "GIF, BMP, JPEG 2000 (JP2, JPX, JPM; MJ2 as a movie): dimensions, depth, resolution"
    }
    fn families(&self) -> &'static [Family] {
        &[Family::Gif, Family::Bmp, Family::Jp2]
    }
    fn mimes(&self) -> &'static [&'static str] {
        // JPEG 2000 formats the registry may file outside the JP2 family; routed to `jp2_family`.
        &["image/jpm", "image/jpx", "video/mj2"]
    }
    fn characterize(
        &self,
        src: &mut Source,
        id: &Identified,
        limits: &Limits,
    ) -> Result<Characterization, HandlerError> {
        let image = match id.family {
            Family::Gif => gif(src, limits)?,
            Family::Bmp => bmp(src, limits)?,
            _ => return jp2_family(src, limits),
        };
        Ok(Characterization {
            image: Some(image),
            ..Default::default()
        })
    }
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn gif(src: &mut Source, limits: &Limits) -> Result<ImageInfo, HandlerError> {
    let h = src.read_at("GIF", 0, 13, limits)?;
    let (w, ht) = (le16(&h, 6) as u64, le16(&h, 8) as u64);
    limits.check_dimensions("GIF", w, ht)?;
    Ok(ImageInfo {
        width: w,
        height: ht,
        bits_per_pixel: Some(((h[10] & 0x07) + 1) as u16),
        components: Some(3),
        compression: Some("lzw".into()),
        ..Default::default()
    })
}

fn bmp(src: &mut Source, limits: &Limits) -> Result<ImageInfo, HandlerError> {
    let h = src.read_at("BMP", 0, 26.min(src.len()), limits)?;
    if h.len() < 26 {
        return Err(HandlerError::malformed(
            "BMP",
            "header shorter than 26 bytes",
        ));
    }
    let dib = le32(&h, 14);
    if dib == 12 {
        let (w, ht) = (le16(&h, 18) as u64, le16(&h, 20) as u64);
        limits.check_dimensions("BMP", w, ht)?;
        let b = src.read_at("BMP", 24, 2, limits)?;
        return Ok(ImageInfo {
            width: w,
            height: ht,
            bits_per_pixel: Some(le16(&b, 0)),
            compression: Some("none".into()),
            ..Default::default()
        });
    }
    let b = src.read_at("BMP", 14, 40, limits)?;
    let w = le32(&b, 4) as i32;
    // A negative height means a top-down bitmap.
    let ht = (le32(&b, 8) as i32).unsigned_abs() as u64;
    if w <= 0 {
        return Err(HandlerError::malformed("BMP", format!("width {w}")));
    }
    limits.check_dimensions("BMP", w as u64, ht)?;
    let compression = match le32(&b, 16) {
        0 => "none",
        1 => "rle8",
        2 => "rle4",
        3 => "bitfields",
        4 => "jpeg",
        5 => "png",
        _ => "unknown",
    };
    // Pixels per metre → dpi, by the one resolution rule (0 = not given).
    let dpi =
        crate::raster::dpi::from_pixels_per_metre(f64::from(le32(&b, 24)), f64::from(le32(&b, 28)));
    Ok(ImageInfo {
        width: w as u64,
        height: ht,
        bits_per_pixel: Some(le16(&b, 14)),
        components: None,
        compression: Some(compression.into()),
        x_dpi: dpi.map(|d| d.0),
        y_dpi: dpi.map(|d| d.1),
    })
}

/// The top-level boxes of a JPEG 2000 family file (ISO/IEC 15444-1 §I.4): (type, body offset, body
/// length), stopping cleanly at the end of the file. Box length 0 runs to the end of the file, 1 means a
/// 64-bit XLBox follows.
fn jp2_boxes(src: &mut Source, limits: &Limits) -> Result<Vec<([u8; 4], u64, u64)>, HandlerError> {
    let mut out = Vec::new();
    let mut at = 0u64;
    for _ in 0..4096 {
        if at + 8 > src.len() {
            break;
        }
        let h = src.read_at("JP2", at, 8, limits)?;
        let kind: [u8; 4] = [h[4], h[5], h[6], h[7]];
        let (head, len) = match be32(&h, 0) as u64 {
            0 => (8, src.len() - at),
            1 => {
                let x = src.read_at("JP2", at + 8, 8, limits)?;
                (
                    16,
                    u64::from_be_bytes([x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]]),
                )
            }
            n => (8, n),
        };
        if len < head || at.saturating_add(len) > src.len() {
            return Err(HandlerError::malformed(
                "JP2",
                format!(
                    "box '{}' at offset {at}: length {len} runs past the end of the file ({} bytes)",
                    String::from_utf8_lossy(&kind),
                    src.len()
                ),
            ));
        }
        out.push((kind, at + head, len - head));
        at += len;
    }
    Ok(out)
}

/// Image header (`ihdr`) and capture resolution (`res `/`resc`) from the body of a JP2 Header box.
fn jp2_header(body: &[u8], limits: &Limits) -> Result<Option<ImageInfo>, HandlerError> {
    let mut i = 0usize;
    let mut info = None;
    let mut dpi = (None, None);
    while i + 8 <= body.len() {
        let blen = be32(body, i) as usize;
        let kind = &body[i + 4..i + 8];
        if kind == b"ihdr" && i + 22 <= body.len() {
            let ht = be32(body, i + 8) as u64;
            let w = be32(body, i + 12) as u64;
            limits.check_dimensions("JP2", w, ht)?;
            info = Some(ImageInfo {
                width: w,
                height: ht,
                components: Some(be16(body, i + 16)),
                bits_per_pixel: Some(((body[i + 18] & 0x7F) + 1) as u16),
                compression: Some("jpeg2000".into()),
                ..Default::default()
            });
        }
        if kind == b"res " {
            // Capture resolution box 'resc' (I.5.3.7.1): VR_N, VR_D, HR_N, HR_D, VR_E, HR_E; in points per
            // metre.
            let r = &body[i + 8..(i + blen).min(body.len()).max(i + 8)];
            if r.len() >= 8 + 10 && &r[4..8] == b"resc" {
                let c = &r[8..];
                let per_metre = |n: u16, d: u16, e: i8| {
                    if d == 0 {
                        0.0
                    } else {
                        f64::from(n) / f64::from(d) * 10f64.powi(i32::from(e))
                    }
                };
                // Points per metre → dpi, by the one resolution rule.
                if let Some((x, y)) = crate::raster::dpi::from_pixels_per_metre(
                    per_metre(be16(c, 4), be16(c, 6), c[9] as i8),
                    per_metre(be16(c, 0), be16(c, 2), c[8] as i8),
                ) {
                    dpi = (Some(x), Some(y));
                }
            }
        }
        if blen < 8 {
            break;
        }
        i += blen;
    }
    if let Some(info) = &mut info {
        (info.x_dpi, info.y_dpi) = dpi;
    }
    Ok(info)
}

/// JPEG 2000 family: JP2/JPX (the JP2 Header box), Motion JPEG 2000 (read as a movie, ISO/IEC 15444-3) and
/// JPM (ISO/IEC 15444-6, whose JP2 Header boxes sit inside page and layout-object boxes).
fn jp2_family(src: &mut Source, limits: &Limits) -> Result<Characterization, HandlerError> {
    let head = src.read_upto(0, 24)?;
    if super::video::is_mj2(&head) {
        return Ok(Characterization {
            video: Some(super::video::bmff(src, limits, "mj2")?),
            ..Default::default()
        });
    }
    let top = jp2_boxes(src, limits)?;
    let brand = top
        .iter()
        .find(|(k, ..)| k == b"ftyp")
        .map(|&(_, at, len)| src.read_at("JP2", at, len.min(4), limits))
        .transpose()?
        .unwrap_or_default();
    if let Some(&(_, at, len)) = top.iter().find(|(k, ..)| k == b"jp2h") {
        let body = src.read_at("JP2", at, len.min(4096), limits)?;
        let image = jp2_header(&body, limits)?
            .ok_or_else(|| HandlerError::malformed("JP2", "no ihdr box in jp2h"))?;
        return Ok(Characterization {
            image: Some(image),
            ..Default::default()
        });
    }
    if brand == b"jpm " {
        // JPM: look for a JP2 Header box inside the page collection, page, layout object and object boxes
        // (bounded: at most 64 KiB of each superbox body, 4 levels).
        let mut pending: Vec<(u64, u64, u32)> = top
            .iter()
            .filter(|(k, ..)| matches!(k, b"pcol" | b"page" | b"lobj" | b"objc"))
            .map(|&(_, at, len)| (at, len, 0))
            .collect();
        let mut looked = 0;
        while let Some((at, len, depth)) = pending.pop() {
            looked += 1;
            if looked > 256 {
                break;
            }
            let body = src.read_at("JPM", at, len.min(1 << 16), limits)?;
            let mut i = 0usize;
            while i + 8 <= body.len() {
                let blen = (be32(&body, i) as usize).max(8);
                let kind = &body[i + 4..i + 8];
                let end = (i + blen).min(body.len());
                if kind == b"jp2h"
                    && let Some(image) = jp2_header(&body[i + 8..end], limits)?
                {
                    return Ok(Characterization {
                        image: Some(image),
                        ..Default::default()
                    });
                }
                if depth < 4 && matches!(kind, b"pcol" | b"page" | b"lobj" | b"objc") {
                    pending.push((at + i as u64 + 8, (end - i - 8) as u64, depth + 1));
                }
                i += blen;
            }
        }
        return Ok(Characterization {
            warnings: vec![
                "JPM: no JP2 Header box (jp2h) found in the pages; dimensions not reported".into(),
            ],
            ..Default::default()
        });
    }
    Err(HandlerError::malformed(
        "JP2",
        "no JP2 Header box (jp2h) among the top-level boxes",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JP2 Header box body: `ihdr` 2×3, and `res `/`resc` of 11811 points per metre (118110 / 10 × 10^0)
    /// — 299.9994 dpi, which the one resolution rule (raster::dpi) reads as 300, as QC does for PNG.
    #[test]
    fn jp2_capture_resolution_goes_through_the_one_dpi_rule() {
        let mut body = Vec::new();
        body.extend_from_slice(&22u32.to_be_bytes());
        body.extend_from_slice(b"ihdr");
        body.extend_from_slice(&3u32.to_be_bytes());
        body.extend_from_slice(&2u32.to_be_bytes());
        body.extend_from_slice(&[0, 3, 7, 7, 0, 0]);
        body.extend_from_slice(&26u32.to_be_bytes());
        body.extend_from_slice(b"res ");
        body.extend_from_slice(&18u32.to_be_bytes());
        body.extend_from_slice(b"resc");
        for v in [11811u16, 1, 11811, 1] {
            body.extend_from_slice(&v.to_be_bytes());
        }
        body.extend_from_slice(&[0, 0]);
        let info = jp2_header(&body, &Limits::default())
            .expect("parses")
            .expect("ihdr");
        assert_eq!((info.width, info.height), (2, 3));
        assert_eq!((info.x_dpi, info.y_dpi), (Some(300.0), Some(300.0)));
    }
}
