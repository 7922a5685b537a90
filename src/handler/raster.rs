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
        "GIF, BMP, JPEG 2000: dimensions, depth, resolution"
    }
    fn families(&self) -> &'static [Family] {
        &[Family::Gif, Family::Bmp, Family::Jp2]
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
            _ => jp2(src, limits)?,
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
    // Pixels per metre → dpi.
    let dpi = |ppm: u32| (ppm > 0).then(|| (ppm as f64 * 0.0254 * 100.0).round() / 100.0);
    Ok(ImageInfo {
        width: w as u64,
        height: ht,
        bits_per_pixel: Some(le16(&b, 14)),
        components: None,
        compression: Some(compression.into()),
        x_dpi: dpi(le32(&b, 24)),
        y_dpi: dpi(le32(&b, 28)),
    })
}

fn jp2(src: &mut Source, limits: &Limits) -> Result<ImageInfo, HandlerError> {
    // Walk top-level boxes to jp2h, then its children to ihdr (and res/resc).
    let mut at = 0u64;
    for _ in 0..64 {
        let h = src.read_at("JP2", at, 8, limits)?;
        let len = be32(&h, 0) as u64;
        if &h[4..8] == b"jp2h" {
            let body = src.read_at("JP2", at + 8, len.saturating_sub(8).min(4096), limits)?;
            let mut i = 0usize;
            let mut info = None;
            let mut dpi = (None, None);
            while i + 8 <= body.len() {
                let blen = be32(&body, i) as usize;
                let kind = &body[i + 4..i + 8];
                if kind == b"ihdr" && i + 22 <= body.len() {
                    let ht = be32(&body, i + 8) as u64;
                    let w = be32(&body, i + 12) as u64;
                    limits.check_dimensions("JP2", w, ht)?;
                    info = Some(ImageInfo {
                        width: w,
                        height: ht,
                        components: Some(be16(&body, i + 16)),
                        bits_per_pixel: Some(((body[i + 18] & 0x7F) + 1) as u16),
                        compression: Some("jpeg2000".into()),
                        ..Default::default()
                    });
                }
                if kind == b"res " {
                    // Capture resolution box 'resc' (I.5.3.7.1): VR_N, VR_D, HR_N, HR_D, VR_E, HR_E; in
                    // points per metre.
                    let r = &body[i + 8..(i + blen).min(body.len())];
                    if r.len() >= 8 + 10 && &r[4..8] == b"resc" {
                        let c = &r[8..];
                        let val = |n: u16, d: u16, e: i8| {
                            (d != 0).then(|| n as f64 / d as f64 * 10f64.powi(e as i32) * 0.0254)
                        };
                        dpi = (
                            val(be16(c, 4), be16(c, 6), c[9] as i8),
                            val(be16(c, 0), be16(c, 2), c[8] as i8),
                        );
                    }
                }
                if blen < 8 {
                    break;
                }
                i += blen;
            }
            let mut info =
                info.ok_or_else(|| HandlerError::malformed("JP2", "no ihdr box in jp2h"))?;
            (info.x_dpi, info.y_dpi) = dpi;
            return Ok(info);
        }
        if len < 8 {
            return Err(HandlerError::malformed(
                "JP2",
                "box length below 8 before jp2h",
            ));
        }
        at += len;
    }
    Err(HandlerError::malformed(
        "JP2",
        "no jp2h box among the first 64 boxes",
    ))
}
