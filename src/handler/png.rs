//! PNG: IHDR, pHYs, colour information chunks, read up to the first IDAT (PNG 3rd ed., W3C 2025 / ISO/IEC
//! 15948 §11). Chunk CRCs are not verified: fixity is the job of digests, not of characterization.

use serde::Serialize;

use super::{Characterization, Handler, HandlerError, Limits, Source};
use crate::identify::{Family, Identified};

pub struct Png;

const F: &str = "PNG";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PngInfo {
    pub width: u64,
    pub height: u64,
    pub bit_depth: u8,
    pub color_type: u8,
    /// grayscale, rgb, palette, grayscale_alpha, rgba (§11.2.2 Table 11.1).
    pub color_type_name: &'static str,
    pub color_mode: &'static str,
    pub color_mode_zh: &'static str,
    pub interlaced: bool,
    /// From pHYs when its unit is the metre (§11.3.5.3).
    pub x_dpi: Option<f64>,
    pub y_dpi: Option<f64>,
    pub icc_profile: bool,
    pub srgb: bool,
    pub gamma: Option<f64>,
}

impl Handler for Png {
    fn name(&self) -> &'static str {
        "png"
    }
    fn summary(&self) -> &'static str {
        "PNG: dimensions, bit depth, colour type, dpi from pHYs"
    }
    fn families(&self) -> &'static [Family] {
        &[Family::Png]
    }
    fn characterize(
        &self,
        src: &mut Source,
        _id: &Identified,
        limits: &Limits,
    ) -> Result<Characterization, HandlerError> {
        Ok(Characterization {
            png: Some(read(src, limits)?),
            ..Default::default()
        })
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .unwrap_or(0)
}

pub fn read(src: &mut Source, limits: &Limits) -> Result<PngInfo, HandlerError> {
    let head = src.read_at(F, 0, 33, limits)?;
    if &head[..8] != b"\x89PNG\r\n\x1a\n" || &head[12..16] != b"IHDR" || be32(&head, 8) != 13 {
        return Err(HandlerError::malformed(
            F,
            "no PNG signature followed by a 13-byte IHDR",
        ));
    }
    let width = be32(&head, 16) as u64;
    let height = be32(&head, 20) as u64;
    // §11.2.2: width and height must not exceed 2^31 − 1.
    if width > i32::MAX as u64 || height > i32::MAX as u64 {
        return Err(HandlerError::malformed(
            F,
            format!("dimensions {width}×{height} exceed 2^31−1"),
        ));
    }
    limits.check_dimensions(F, width, height)?;
    let (bit_depth, color_type, interlace) = (head[24], head[25], head[28]);
    let valid_depths: &[u8] = match color_type {
        0 => &[1, 2, 4, 8, 16],
        2 | 4 | 6 => &[8, 16],
        3 => &[1, 2, 4, 8],
        _ => {
            return Err(HandlerError::malformed(
                F,
                format!("colour type {color_type}"),
            ));
        }
    };
    if !valid_depths.contains(&bit_depth) {
        return Err(HandlerError::malformed(
            F,
            format!("bit depth {bit_depth} with colour type {color_type}"),
        ));
    }
    let color_type_name = match color_type {
        0 => "grayscale",
        2 => "rgb",
        3 => "palette",
        4 => "grayscale_alpha",
        _ => "rgba",
    };
    let (color_mode, color_mode_zh) = match (color_type, bit_depth) {
        (0, 1) => ("bitonal", "黑白二值"),
        (0 | 4, _) => ("grayscale", "灰度"),
        _ => ("color", "彩色"),
    };
    let mut info = PngInfo {
        width,
        height,
        bit_depth,
        color_type,
        color_type_name,
        color_mode,
        color_mode_zh,
        interlaced: interlace == 1,
        x_dpi: None,
        y_dpi: None,
        icc_profile: false,
        srgb: false,
        gamma: None,
    };
    // Walk the chunks before the image data.
    let mut at = 33u64;
    for _ in 0..10_000 {
        let h = src.read_upto(at, 8)?;
        if h.len() < 8 {
            return Err(HandlerError::malformed(F, "truncated before IDAT"));
        }
        let len = be32(&h, 0) as u64;
        let kind = &h[4..8];
        match kind {
            b"IDAT" | b"IEND" => return Ok(info),
            b"pHYs" => {
                let b = src.read_at(F, at + 8, 9, limits)?;
                // The one dpi rule (raster::dpi): 11811 px/m is 300 dpi, as QC and the master say.
                if let Some((x, y)) =
                    crate::raster::dpi::from_png_phys(be32(&b, 0), be32(&b, 4), b[8])
                {
                    info.x_dpi = Some(x);
                    info.y_dpi = Some(y);
                }
            }
            b"iCCP" => info.icc_profile = true,
            b"sRGB" => info.srgb = true,
            b"gAMA" => {
                let b = src.read_at(F, at + 8, 4, limits)?;
                info.gamma = Some(be32(&b, 0) as f64 / 100_000.0);
            }
            _ => {}
        }
        at = at + 12 + len;
    }
    Err(HandlerError::LimitExceeded {
        what: "PNG chunks before IDAT",
        value: 10_000,
        limit: 10_000,
    })
}
