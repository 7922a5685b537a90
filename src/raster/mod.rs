//! The one pixel decoder of dangan: every path that needs pixels (scan QC, TIFF masters, the item PDF, photo
//! access copies, QC thumbnails) decodes through [`decode`], under one memory [`Budget`] checked against the
//! dimensions the header declares *before* any pixel buffer is allocated — a 122-byte TIFF claiming
//! 100000×100000 pixels, or a 1.5 MB PNG of 40000×40000, is refused with [`RasterError::TooLarge`], never
//! allocated.
//!
//! [`dpi`] is the one resolution reader (TIFF tags with their unit, PNG pHYs, JFIF density, Exif), so QC and
//! the master always agree on a page's resolution.

pub mod dpi;

use std::io::Cursor;
use std::sync::atomic::{AtomicU64, Ordering};

use image::{DynamicImage, ImageDecoder, ImageReader, metadata::Orientation};
use serde::{Deserialize, Serialize};

pub use dpi::dpi;

/// The default budget for one decoded image: a 600-dpi A2 colour scan is about 14000×10000×3 = 420 MB;
/// anything beyond 1 GiB is refused rather than allowed to exhaust memory.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// Colour mode after DA/T 31-2017 9.3 and DA/T 46 M55 (扫描色彩模式).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColourMode {
    /// 黑白二值
    Bitonal,
    /// 灰度
    Grayscale,
    /// 彩色
    Colour,
}

impl ColourMode {
    pub fn label_zh(self) -> &'static str {
        match self {
            ColourMode::Bitonal => "黑白二值",
            ColourMode::Grayscale => "灰度",
            ColourMode::Colour => "彩色",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            ColourMode::Bitonal => "bitonal",
            ColourMode::Grayscale => "grayscale",
            ColourMode::Colour => "colour",
        }
    }
}

/// The memory budget of a run's decodes, and the count of decodes made under it (so a test can prove that
/// each page is decoded once).
#[derive(Debug)]
pub struct Budget {
    max_bytes: u64,
    decodes: AtomicU64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new(DEFAULT_MAX_BYTES)
    }
}

impl Budget {
    pub fn new(max_bytes: u64) -> Self {
        Budget {
            max_bytes,
            decodes: AtomicU64::new(0),
        }
    }

    /// The most bytes one decoded image may take.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// How many decodes were attempted under this budget.
    pub fn decodes(&self) -> u64 {
        self.decodes.load(Ordering::Relaxed)
    }
}

/// Why an image could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RasterError {
    /// The header declares more pixels than the budget allows; nothing was allocated.
    #[error(
        "{width}×{height} pixels need {bytes} bytes decoded, more than the budget of {budget} bytes"
    )]
    TooLarge {
        width: u32,
        height: u32,
        bytes: u64,
        budget: u64,
    },
    /// Not an image format the decoder reads (JPEG 2000, WebP, …).
    #[error("not a raster format dangan decodes: {0}")]
    Unsupported(String),
    #[error("cannot decode: {0}")]
    Malformed(String),
}

impl RasterError {
    /// The same in Chinese, for findings.
    pub fn zh(&self) -> String {
        match self {
            RasterError::TooLarge {
                width,
                height,
                bytes,
                budget,
            } => format!(
                "图像声明 {width}×{height} 像素, 解码需 {bytes} 字节, 超过内存上限 {budget} 字节, 拒绝解码"
            ),
            RasterError::Unsupported(m) => format!("不支持解码的图像格式: {m}"),
            RasterError::Malformed(m) => format!("图像无法解码: {m}"),
        }
    }
}

/// A decoded image with what QC and a master need besides the pixels.
#[derive(Debug, Clone)]
pub struct Raster {
    pub pixels: DynamicImage,
    /// Horizontal and vertical resolution in dots per inch, from the file's own tags ([`dpi`]).
    pub dpi: Option<(f64, f64)>,
    /// The scan's colour mode: declared 1-bit two-valued → bitonal; one channel → grayscale (bitonal when
    /// only black and white); colour channels → colour when any pixel has clear chroma, else grayscale.
    pub colour: ColourMode,
    /// The embedded ICC profile, kept in masters and the PDF.
    pub icc: Option<Vec<u8>>,
    /// Exif/TIFF orientation (applied to photo access copies, never to masters).
    pub orientation: Orientation,
    /// Declared 1-bit and only black and white: DA/T 31-2017 9.3 黑白二值. Stays 1-bit in the master.
    pub bitonal: bool,
}

/// The pixel buffer goes back to [`crate::buffers`] for the next page.
impl Drop for Raster {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.pixels, DynamicImage::new_luma8(0, 0)) {
            DynamicImage::ImageRgb8(b) => crate::buffers::give(b.into_raw()),
            DynamicImage::ImageLuma8(b) => crate::buffers::give(b.into_raw()),
            _ => {}
        }
    }
}

impl Raster {
    /// The pixels, taken out of the raster (they are then not given back to [`crate::buffers`]).
    pub fn into_pixels(mut self) -> DynamicImage {
        std::mem::replace(&mut self.pixels, DynamicImage::new_luma8(0, 0))
    }

    pub fn width(&self) -> u32 {
        self.pixels.width()
    }

    pub fn height(&self) -> u32 {
        self.pixels.height()
    }
}

fn malformed(e: impl std::fmt::Display) -> RasterError {
    RasterError::Malformed(e.to_string())
}

/// Decode `bytes` (a whole image file) under `budget`. The dimensions and sample layout the header
/// declares are checked against the budget before the pixel buffer is allocated.
pub fn decode(bytes: &[u8], budget: &Budget) -> Result<Raster, RasterError> {
    budget.decodes.fetch_add(1, Ordering::Relaxed);
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(malformed)?;
    let Some(format) = reader.format() else {
        return Err(RasterError::Unsupported(
            "unknown image signature".to_string(),
        ));
    };
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(budget.max_bytes);
    reader.limits(limits);
    let tiff = format == image::ImageFormat::Tiff;
    let (pixels, icc, orientation) = match reader.into_decoder() {
        Ok(mut dec) => {
            let (width, height) = dec.dimensions();
            let need = dec.total_bytes();
            if need > budget.max_bytes {
                return Err(RasterError::TooLarge {
                    width,
                    height,
                    bytes: need,
                    budget: budget.max_bytes,
                });
            }
            let icc = dec.icc_profile().ok().flatten().filter(|p| !p.is_empty());
            let orientation = dec.orientation().unwrap_or(Orientation::NoTransforms);
            let img = match dec.color_type() {
                // The layouts of every scan: pixels into a reused buffer ([`crate::buffers`], given back
                // when the raster is dropped).
                image::ColorType::Rgb8 | image::ColorType::L8 => {
                    let mut buf = crate::buffers::take_zeroed(need as usize);
                    let rgb = dec.color_type() == image::ColorType::Rgb8;
                    dec.read_image(&mut buf).map_err(malformed)?;
                    let img = if rgb {
                        image::RgbImage::from_raw(width, height, buf).map(DynamicImage::ImageRgb8)
                    } else {
                        image::GrayImage::from_raw(width, height, buf).map(DynamicImage::ImageLuma8)
                    };
                    img.ok_or_else(|| malformed("decoded size differs from the header's"))?
                }
                _ => DynamicImage::from_decoder(dec).map_err(malformed)?,
            };
            (img, icc, orientation)
        }
        // Gray + alpha TIFF: `image` refuses it, the TIFF decoder reads it (after the same header check).
        Err(e) if tiff => {
            check_tiff_header(bytes, budget)?;
            match crate::handler::tiff::decode_gray_alpha(bytes, budget.max_bytes) {
                Ok((img, icc)) => (img, icc, Orientation::NoTransforms),
                Err(_) => return Err(refused(e, bytes, budget)),
            }
        }
        Err(e) => return Err(refused(e, bytes, budget)),
    };
    let declared_one_bit = dpi::declared_bits(bytes) == Some(1);
    let bitonal = declared_one_bit
        && match &pixels {
            DynamicImage::ImageLuma8(g) => g.as_raw().iter().all(|&v| v == 0 || v == 255),
            _ => false,
        };
    let colour = if bitonal {
        ColourMode::Bitonal
    } else {
        colour_mode_of(&pixels)
    };
    Ok(Raster {
        dpi: dpi(bytes),
        pixels,
        colour,
        icc,
        orientation,
        bitonal,
    })
}

/// Check what the header declares against the budget without decoding (and without counting a decode):
/// the dimensions, or why the image could not be decoded under the budget.
pub fn probe(bytes: &[u8], budget: &Budget) -> Result<(u32, u32), RasterError> {
    check_tiff_header(bytes, budget)?;
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(malformed)?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(budget.max_bytes);
    reader.limits(limits);
    match reader.into_decoder() {
        Ok(dec) => {
            let (width, height) = dec.dimensions();
            let need = dec.total_bytes();
            if need > budget.max_bytes {
                return Err(RasterError::TooLarge {
                    width,
                    height,
                    bytes: need,
                    budget: budget.max_bytes,
                });
            }
            Ok((width, height))
        }
        Err(e) => Err(refused(e, bytes, budget)),
    }
}

/// A decoder error, or — when the header declares more than the budget — the budget's refusal, which says
/// more to the user than "memory limit exceeded".
fn refused(e: image::ImageError, bytes: &[u8], budget: &Budget) -> RasterError {
    if let Err(too) = check_tiff_header(bytes, budget) {
        return too;
    }
    match e {
        image::ImageError::Unsupported(u) => RasterError::Unsupported(u.to_string()),
        image::ImageError::Limits(l) => {
            RasterError::Malformed(format!("{l} (budget {} bytes per image)", budget.max_bytes))
        }
        other => malformed(other),
    }
}

/// For TIFF: the first image's declared size against the budget, from the IFD alone.
fn check_tiff_header(bytes: &[u8], budget: &Budget) -> Result<(), RasterError> {
    if !(bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*")) {
        return Ok(());
    }
    let Ok(mut d) = tiff_decode::decoder::Decoder::new(Cursor::new(bytes)) else {
        return Ok(());
    };
    let Ok((width, height)) = d.dimensions() else {
        return Ok(());
    };
    let samples = d
        .get_tag_u32(tiff_decode::tags::Tag::SamplesPerPixel)
        .unwrap_or(1)
        .max(1);
    let bits = d
        .get_tag_u32(tiff_decode::tags::Tag::BitsPerSample)
        .unwrap_or(8)
        .max(8);
    let need = u64::from(width)
        .saturating_mul(u64::from(height))
        .saturating_mul(u64::from(samples))
        .saturating_mul(u64::from(bits / 8));
    if need > budget.max_bytes {
        return Err(RasterError::TooLarge {
            width,
            height,
            bytes: need,
            budget: budget.max_bytes,
        });
    }
    Ok(())
}

/// The 8-bit luma of one RGB pixel, as [`luma8`] computes it.
#[inline(always)]
pub fn luma_of_rgb(r: u8, g: u8, b: u8) -> u8 {
    let y = 54 * u32::from(r) + 183 * u32::from(g) + 19 * u32::from(b);
    ((y + 128) >> 8) as u8
}

/// The 8-bit luma of a page, for QC (blank page, skew). RGB pages — every colour scan — take an integer
/// Rec. 709 weighting (54, 183, 19 of 256: the image crate's coefficients), not the image crate's float
/// colour-space conversion, which perf found at ~9 % of `pack`'s CPU; other layouts go through the crate.
pub fn luma8(img: &DynamicImage) -> image::GrayImage {
    match img {
        DynamicImage::ImageRgb8(rgb) => {
            let px: Vec<u8> = rgb
                .as_raw()
                .chunks_exact(3)
                .map(|p| luma_of_rgb(p[0], p[1], p[2]))
                .collect();
            image::GrayImage::from_raw(rgb.width(), rgb.height(), px)
                .unwrap_or_else(|| img.to_luma8())
        }
        DynamicImage::ImageLuma8(g) => g.clone(),
        other => other.to_luma8(),
    }
}

/// Bytes of RGB tested at a time by [`chroma_in_block`] (1,024 pixels).
const CHROMA_BLOCK: usize = 3 * 1024;

/// Masks of the byte pairs inside one pixel: at offset 1 (R–G, G–B) and at offset 2 (R–B).
const CHROMA_NEXT: [u8; CHROMA_BLOCK] = chroma_mask(1);
const CHROMA_SKIP: [u8; CHROMA_BLOCK] = chroma_mask(2);

/// 0xFF where the byte and the one `gap` after it belong to one pixel, else 0.
const fn chroma_mask(gap: usize) -> [u8; CHROMA_BLOCK] {
    let mut m = [0u8; CHROMA_BLOCK];
    let mut i = 0;
    while i < CHROMA_BLOCK {
        m[i] = if i % 3 + gap < 3 { 0xFF } else { 0 };
        i += 1;
    }
    m
}

/// Whether any pixel of a block of whole RGB pixels (at most [`CHROMA_BLOCK`] bytes) has clear chroma
/// (max − min of its samples > 24), written so that the compiler vectorizes it: max − min of three
/// samples is the largest of their pairwise differences, so the test runs over neighbouring bytes and
/// bytes two apart, masked to the pairs inside one pixel, with byte operations only (|a − b| > 24 ⇔
/// (a ⊖ b) ⊖ 24 or (b ⊖ a) ⊖ 24 is non-zero, ⊖ saturating). A gray page is read to its end, so this is
/// the common case's whole cost (it was ~5 % of a pack's CPU one pixel at a time).
fn chroma_in_block(b: &[u8]) -> bool {
    let over = |a: u8, c: u8| {
        a.saturating_sub(c).saturating_sub(24) | c.saturating_sub(a).saturating_sub(24)
    };
    let n = b.len();
    let mut hit = 0u8;
    for ((&x, &y), &m) in b.iter().zip(&b[1.min(n)..]).zip(&CHROMA_NEXT) {
        hit |= over(x, y) & m;
    }
    for ((&x, &y), &m) in b.iter().zip(&b[2.min(n)..]).zip(&CHROMA_SKIP) {
        hit |= over(x, y) & m;
    }
    hit != 0
}

/// Colour mode from pixels: one channel with only 0 and 255 → bitonal; one channel → grayscale; colour
/// channels with any clear chroma → colour, else grayscale.
pub fn colour_mode_of(img: &DynamicImage) -> ColourMode {
    use image::DynamicImage as D;
    // A colour scan of a black-and-white page still has chroma noise; a few saturated pixels (a red seal,
    // DA/T 31-2017 9.3) make it colour, so any clear chroma counts.
    let chroma = |p: &[u8]| {
        let (r, g, b) = (p[0], p[1], p[2]);
        r.max(g).max(b) - r.min(g).min(b) > 24
    };
    match img {
        D::ImageLuma8(g) => {
            if g.as_raw().iter().all(|&v| v == 0 || v == 255) {
                ColourMode::Bitonal
            } else {
                ColourMode::Grayscale
            }
        }
        D::ImageLuma16(_) | D::ImageLumaA8(_) | D::ImageLumaA16(_) => ColourMode::Grayscale,
        D::ImageRgb8(rgb) => {
            if rgb
                .as_raw()
                .chunks(CHROMA_BLOCK)
                .any(|b| chroma_in_block(&b[..b.len() / 3 * 3]))
            {
                ColourMode::Colour
            } else {
                ColourMode::Grayscale
            }
        }
        D::ImageRgba8(rgba) => {
            if rgba.as_raw().chunks_exact(4).any(chroma) {
                ColourMode::Colour
            } else {
                ColourMode::Grayscale
            }
        }
        other => {
            if other.to_rgb8().as_raw().chunks_exact(3).any(chroma) {
                ColourMode::Colour
            } else {
                ColourMode::Grayscale
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-difference test of a block equals max − min > 24 per pixel, around the threshold.
    #[test]
    fn chroma_of_a_block_is_max_minus_min() {
        let mut x: u32 = 99;
        for _ in 0..20_000 {
            let base = {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (x >> 16) as u8
            };
            let block: Vec<u8> = (0..48)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    // Mostly within ±13 of a base (below the threshold), sometimes a jump.
                    let d = ((x >> 16) % 27) as u8;
                    if (x >> 8).is_multiple_of(97) {
                        base.wrapping_add(90)
                    } else {
                        base.saturating_add(d)
                    }
                })
                .collect();
            let want = block
                .chunks_exact(3)
                .any(|p| p[0].max(p[1]).max(p[2]) - p[0].min(p[1]).min(p[2]) > 24);
            assert_eq!(chroma_in_block(&block), want, "{block:?}");
        }
    }

    #[test]
    fn luma8_of_rgb_matches_the_image_crate_within_one_level() {
        let mut px = Vec::new();
        for i in 0..=255u32 {
            px.extend_from_slice(&[i as u8, (i * 7 % 256) as u8, (255 - i) as u8]);
        }
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_raw(256, 1, px).unwrap());
        let ours = luma8(&img);
        let theirs = img.to_luma8();
        for (a, b) in ours.as_raw().iter().zip(theirs.as_raw()) {
            assert!(a.abs_diff(*b) <= 1, "{a} vs {b}");
        }
    }

    /// A little-endian TIFF whose one IFD claims `w`×`h` 8-bit RGB, with no pixel data worth the name.
    pub(crate) fn huge_tiff(w: u32, h: u32) -> Vec<u8> {
        let mut b = b"II*\0".to_vec();
        b.extend(8u32.to_le_bytes());
        let entries: [(u16, u16, u32, u32); 8] = [
            (256, 4, 1, w),
            (257, 4, 1, h),
            (258, 3, 1, 8),
            (259, 3, 1, 1),
            (262, 3, 1, 2),
            (273, 4, 1, 200),
            (277, 3, 1, 3),
            (279, 4, 1, 16),
        ];
        b.extend((entries.len() as u16).to_le_bytes());
        for (tag, typ, n, v) in entries {
            b.extend(tag.to_le_bytes());
            b.extend(typ.to_le_bytes());
            b.extend(n.to_le_bytes());
            b.extend(v.to_le_bytes());
        }
        b.extend(0u32.to_le_bytes());
        b
    }

    #[test]
    fn huge_tiff_header_is_refused_before_allocation() {
        let b = huge_tiff(100_000, 100_000);
        assert!(b.len() < 200);
        let budget = Budget::default();
        match decode(&b, &budget) {
            Err(RasterError::TooLarge { width, height, .. }) => {
                assert_eq!((width, height), (100_000, 100_000))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(budget.decodes(), 1);
    }

    #[test]
    fn one_pixel_of_chroma_anywhere_makes_a_page_colour() {
        // A gray page with chroma noise below the threshold; one clear pixel anywhere makes it colour.
        let (w, h) = (300u32, 50u32);
        let px: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let v = (i % 200) as u8;
                [v, v.saturating_add(20), v]
            })
            .collect();
        let img = |px: &Vec<u8>| {
            DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, px.clone()).unwrap())
        };
        assert_eq!(colour_mode_of(&img(&px)), ColourMode::Grayscale);
        for at in [0usize, 4095, 4096, (w * h) as usize - 1] {
            let mut p = px.clone();
            p[at * 3] = p[at * 3].wrapping_add(60);
            assert_eq!(colour_mode_of(&img(&p)), ColourMode::Colour, "pixel {at}");
        }
    }

    #[test]
    fn small_budget_refuses_a_real_png() {
        let img = image::GrayImage::from_pixel(100, 100, image::Luma([200]));
        let mut png = Vec::new();
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert!(decode(&png, &Budget::new(9_999)).is_err());
        let r = decode(&png, &Budget::new(10_000_000)).unwrap();
        assert_eq!(r.colour, ColourMode::Grayscale);
        assert_eq!(r.dpi, None);
    }
}
