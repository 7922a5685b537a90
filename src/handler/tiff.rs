//! TIFF and BigTIFF: the tags of every page (IFD), read without decoding any strip or tile.
//!
//! TIFF 6.0 (Adobe, 1992) §2 for the file structure, §8 for the baseline tags; BigTIFF per the AWare Systems
//! design note (8-byte offsets, 20-byte IFD entries). Colour mode follows DA/T 31-2017 9.3: 彩色 (colour),
//! 灰度 (grayscale), 黑白二值 (bitonal).

use std::collections::HashSet;

use serde::Serialize;

use super::ifd::{self, Block};
use super::jpeg::ExifInfo;
use super::{Characterization, Handler, HandlerError, Limits, Source};
use crate::identify::{Family, Identified};

pub struct Tiff;

/// DA/T 31-2017 9.3 colour modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColorMode {
    /// 彩色
    Color,
    /// 灰度
    Grayscale,
    /// 黑白二值
    Bitonal,
}

impl ColorMode {
    /// The Chinese term of DA/T 31 and DA/T 46 (扫描色彩模式).
    pub fn zh(self) -> &'static str {
        match self {
            ColorMode::Color => "彩色",
            ColorMode::Grayscale => "灰度",
            ColorMode::Bitonal => "黑白二值",
        }
    }

    /// From TIFF PhotometricInterpretation (tag 262) and bits per sample.
    pub fn from_photometric(photometric: u16, bits: u16) -> Option<Self> {
        match photometric {
            0 | 1 if bits == 1 => Some(ColorMode::Bitonal),
            0 | 1 | 4 => Some(if bits == 1 {
                ColorMode::Bitonal
            } else {
                ColorMode::Grayscale
            }),
            2 | 3 | 5 | 6 | 8 | 9 | 10 | 32844 | 32845 | 34892 => Some(ColorMode::Color),
            _ => None,
        }
    }
}

/// What a TIFF says about itself (first page) and how many pages it has.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TiffInfo {
    pub big_tiff: bool,
    pub byte_order: &'static str,
    pub width: u64,
    pub height: u64,
    pub bits_per_sample: Vec<u16>,
    pub samples_per_pixel: u16,
    pub photometric: Option<u16>,
    pub photometric_name: Option<&'static str>,
    pub color_mode: Option<ColorMode>,
    pub color_mode_zh: Option<&'static str>,
    pub compression: u16,
    pub compression_name: &'static str,
    pub x_resolution: Option<f64>,
    pub y_resolution: Option<f64>,
    /// ResolutionUnit (296): 1 none, 2 inch, 3 centimetre.
    pub resolution_unit: Option<u16>,
    /// Resolution converted to dots per inch (from centimetres where needed).
    pub x_dpi: Option<f64>,
    pub y_dpi: Option<f64>,
    pub page_count: u64,
    pub icc_profile: bool,
    pub software: Option<String>,
    pub date_time: Option<String>,
    /// Orientation (274, TIFF 6.0 §8): 1 top-left (as stored) … 8; `None` when the tag is absent (which
    /// means 1).
    pub orientation: Option<u16>,
    pub has_exif: bool,
}

impl Handler for Tiff {
    fn name(&self) -> &'static str {
        "tiff"
    }
    fn summary(&self) -> &'static str {
        "TIFF/BigTIFF: dimensions, bits, colour mode, compression, dpi, pages, ICC"
    }
    fn families(&self) -> &'static [Family] {
        &[Family::Tiff]
    }
    fn characterize(
        &self,
        src: &mut Source,
        _id: &Identified,
        limits: &Limits,
    ) -> Result<Characterization, HandlerError> {
        let (tiff, exif, warnings) = read(src, limits)?;
        Ok(Characterization {
            tiff: Some(tiff),
            exif,
            warnings,
            ..Default::default()
        })
    }
}

const F: &str = "TIFF";

/// Byte-order-aware integer reading over a header buffer.
#[derive(Clone, Copy)]
struct Order(bool); // true = little-endian

impl Order {
    fn u16(self, b: &[u8], at: usize) -> Result<u16, HandlerError> {
        let s: [u8; 2] = b
            .get(at..at + 2)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| HandlerError::malformed(F, "short read"))?;
        Ok(if self.0 {
            u16::from_le_bytes(s)
        } else {
            u16::from_be_bytes(s)
        })
    }
    fn u32(self, b: &[u8], at: usize) -> Result<u32, HandlerError> {
        let s: [u8; 4] = b
            .get(at..at + 4)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| HandlerError::malformed(F, "short read"))?;
        Ok(if self.0 {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    }
    fn u64(self, b: &[u8], at: usize) -> Result<u64, HandlerError> {
        let s: [u8; 8] = b
            .get(at..at + 8)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| HandlerError::malformed(F, "short read"))?;
        Ok(if self.0 {
            u64::from_le_bytes(s)
        } else {
            u64::from_be_bytes(s)
        })
    }
}

/// One IFD entry: tag, type, count and the raw value bytes (inline or fetched from the offset).
struct Entry {
    tag: u16,
    typ: u16,
    count: u64,
    data: Vec<u8>,
}

/// Size in bytes of one value of a TIFF field type (TIFF 6.0 §2 + BigTIFF types 16–18).
fn type_size(typ: u16) -> Option<u64> {
    Some(match typ {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        5 | 10 | 12 | 16 | 17 | 18 => 8,
        _ => return None,
    })
}

impl Entry {
    fn uint(&self, o: Order, i: usize) -> Option<u64> {
        match self.typ {
            1 | 7 => self.data.get(i).map(|&b| b as u64),
            3 => o.u16(&self.data, i * 2).ok().map(u64::from),
            4 | 13 => o.u32(&self.data, i * 4).ok().map(u64::from),
            16 | 18 => o.u64(&self.data, i * 8).ok(),
            _ => None,
        }
    }
    fn rational(&self, o: Order) -> Option<f64> {
        if self.typ != 5 {
            return self.uint(o, 0).map(|v| v as f64);
        }
        let n = o.u32(&self.data, 0).ok()? as f64;
        let d = o.u32(&self.data, 4).ok()? as f64;
        (d != 0.0).then(|| n / d)
    }
    fn ascii(&self) -> String {
        let end = self
            .data
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.data.len());
        crate::handler::jpeg::decode_text(&self.data[..end])
    }
}

fn read_ifd(
    src: &mut Source,
    o: Order,
    big: bool,
    offset: u64,
    limits: &Limits,
    warnings: &mut Vec<String>,
) -> Result<(Vec<Entry>, u64), HandlerError> {
    let (count_len, entry_len, next_len) = if big { (8, 20, 8) } else { (2, 12, 4) };
    let head = src.read_at(F, offset, count_len, limits)?;
    let n = if big {
        o.u64(&head, 0)?
    } else {
        o.u16(&head, 0)? as u64
    };
    limits.check("TIFF IFD entries", n, 65_535)?;
    // An entry table that runs past the end of the file loses the entries beyond it, with a warning; the
    // ones inside are read (the file is then taken to have no further pages).
    let table_at = offset + count_len;
    let fit = src.len().saturating_sub(table_at) / entry_len;
    let (n, truncated) = if fit < n {
        warnings.push(format!(
            "TIFF IFD at offset {offset}: {n} entries declared, only {fit} lie inside the file; the \
             others are lost"
        ));
        (fit, true)
    } else {
        (n, false)
    };
    let want = n * entry_len + if truncated { 0 } else { next_len };
    let body = src.read_at(F, table_at, want.min(src.len() - table_at), limits)?;
    let mut entries = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        let e = &body[i * entry_len as usize..(i + 1) * entry_len as usize];
        let tag = o.u16(e, 0)?;
        let typ = o.u16(e, 2)?;
        let count = if big {
            o.u64(e, 4)?
        } else {
            o.u32(e, 4)? as u64
        };
        let Some(size) = type_size(typ) else {
            continue; // unknown field types are skipped, as TIFF 6.0 §2 asks readers to do
        };
        let total = size.checked_mul(count).ok_or_else(|| {
            HandlerError::malformed(F, format!("tag {tag}: count {count} overflows"))
        })?;
        let inline = if big { 8 } else { 4 };
        let value_at = if big { 12 } else { 8 };
        let data = if total <= inline {
            e[value_at..value_at + total as usize].to_vec()
        } else if matches!(
            tag,
            256..=262 | 270 | 277 | 282 | 283 | 296 | 305 | 306 | 34665
        ) {
            // Only the tags reported are fetched; strip offsets and the like are never read.
            let off = if big {
                o.u64(e, 12)?
            } else {
                o.u32(e, 8)? as u64
            };
            // One unreadable value loses that tag only (and ImageWidth/ImageLength make the file
            // malformed below, as they must).
            match src.read_at(F, off, total, limits) {
                Ok(v) => v,
                Err(e @ (HandlerError::Malformed { .. } | HandlerError::LimitExceeded { .. })) => {
                    warnings.push(format!("TIFF IFD0 tag {tag}: {e}; not reported"));
                    continue;
                }
                Err(e) => return Err(e),
            }
        } else {
            Vec::new()
        };
        entries.push(Entry {
            tag,
            typ,
            count,
            data,
        });
    }
    let link = (n * entry_len) as usize;
    let next = if truncated || body.len() < link + next_len as usize {
        0
    } else if big {
        o.u64(&body, link)?
    } else {
        o.u32(&body, link)? as u64
    };
    Ok((entries, next))
}

/// The EXIF of a TIFF, read through the file on demand.
struct SourceBlock<'s> {
    src: &'s mut Source,
    limits: &'s Limits,
}

impl Block for SourceBlock<'_> {
    fn len(&self) -> u64 {
        self.src.len()
    }
    fn bytes(&mut self, at: u64, n: u64) -> Option<Vec<u8>> {
        self.src.read_at("EXIF", at, n, self.limits).ok()
    }
}

/// What [`read`] returns: the TIFF tags, the EXIF (Exif and GPS IFDs) and what was lost on the way.
pub type TiffRead = (TiffInfo, Option<ExifInfo>, Vec<String>);

/// Read the header, the first IFD in full, its Exif and GPS IFDs, and the IFD chain for the page count.
/// A damaged Exif IFD or page chain loses that part only, with a warning.
pub fn read(src: &mut Source, limits: &Limits) -> Result<TiffRead, HandlerError> {
    let mut warnings = Vec::new();
    let head = src.read_at(F, 0, 16.min(src.len()), limits)?;
    let o = match head.get(0..2) {
        Some(b"II") => Order(true),
        Some(b"MM") => Order(false),
        _ => return Err(HandlerError::malformed(F, "no byte-order mark II/MM")),
    };
    let magic = o.u16(&head, 2)?;
    let (big, first) = match magic {
        42 => (false, o.u32(&head, 4)? as u64),
        43 => {
            if o.u16(&head, 4)? != 8 {
                return Err(HandlerError::unsupported(
                    "BigTIFF",
                    "offset size other than 8",
                ));
            }
            (true, o.u64(&head, 8)?)
        }
        m => {
            return Err(HandlerError::malformed(
                F,
                format!("magic number {m}, not 42 or 43"),
            ));
        }
    };
    let (entries, mut next) = read_ifd(src, o, big, first, limits, &mut warnings)?;
    let get = |tag: u16| entries.iter().find(|e| e.tag == tag);
    let uint = |tag: u16| get(tag).and_then(|e| e.uint(o, 0));
    let width = uint(256).ok_or_else(|| HandlerError::malformed(F, "ImageWidth (256) missing"))?;
    let height =
        uint(257).ok_or_else(|| HandlerError::malformed(F, "ImageLength (257) missing"))?;
    limits.check_dimensions(F, width, height)?;
    let samples_per_pixel = uint(277).unwrap_or(1).min(u16::MAX as u64) as u16;
    let bits_per_sample: Vec<u16> = match get(258) {
        Some(e) => (0..e.count.min(16) as usize)
            .filter_map(|i| e.uint(o, i))
            .map(|v| v.min(u16::MAX as u64) as u16)
            .collect(),
        None => vec![1],
    };
    let photometric = uint(262).map(|v| v as u16);
    let bits = bits_per_sample.first().copied().unwrap_or(1);
    let color_mode = photometric.and_then(|p| ColorMode::from_photometric(p, bits));
    let compression = uint(259).unwrap_or(1) as u16;
    let x_resolution = get(282).and_then(|e| e.rational(o));
    let y_resolution = get(283).and_then(|e| e.rational(o));
    // TIFF 6.0 §8: ResolutionUnit defaults to 2 (inch).
    let unit = uint(296).unwrap_or(2) as u16;
    let resolution_unit = Some(unit);
    // The one dpi rule (raster::dpi), so that inspect, QC and the master agree.
    let dpi = match (x_resolution, y_resolution) {
        (Some(x), y) => crate::raster::dpi::from_tiff_resolution(x, y.unwrap_or(x), unit),
        _ => None,
    };
    // Count pages along the IFD chain, refusing loops (a classic crash: an IFD pointing at itself). A broken
    // link ends the count there, with a warning: the first page is still reported.
    let mut page_count = 1u64;
    let mut seen = HashSet::from([first]);
    while next != 0 {
        if !seen.insert(next) {
            warnings.push(format!(
                "TIFF IFD chain loops back to offset {next} after {page_count} pages; pages counted up \
                 to there"
            ));
            break;
        }
        limits.check("TIFF pages", page_count + 1, limits.max_pages)?;
        match next_ifd(src, o, big, next, limits) {
            Ok(n) => next = n,
            Err(HandlerError::Malformed { detail, .. }) => {
                warnings.push(format!(
                    "TIFF IFD {} at offset {next} cannot be read ({detail}); {page_count} pages counted",
                    page_count + 1
                ));
                break;
            }
            Err(e) => return Err(e),
        }
        page_count += 1;
    }
    // EXIF inside a TIFF (ExifIFD 34665, GPS 34853, TIFF/EP and EXIF 2.32 §4.6.3): the same walker as
    // for JPEG, reading through the file.
    let exif = if get(34665).is_some() || get(34853).is_some() {
        let (exif, w) = ifd::read_exif(&mut SourceBlock { src, limits });
        warnings.extend(w);
        exif
    } else {
        None
    };
    let info = TiffInfo {
        big_tiff: big,
        byte_order: if o.0 { "little_endian" } else { "big_endian" },
        width,
        height,
        bits_per_sample,
        samples_per_pixel,
        photometric,
        photometric_name: photometric.map(photometric_name),
        color_mode,
        color_mode_zh: color_mode.map(ColorMode::zh),
        compression,
        compression_name: compression_name(compression),
        x_resolution,
        y_resolution,
        resolution_unit,
        x_dpi: dpi.map(|d| d.0),
        y_dpi: dpi.map(|d| d.1),
        page_count,
        icc_profile: get(34675).is_some(),
        software: get(305).map(Entry::ascii),
        date_time: get(306).map(Entry::ascii),
        orientation: uint(274).map(|v| v.min(u16::MAX as u64) as u16),
        has_exif: get(34665).is_some(),
    };
    Ok((info, exif, warnings))
}

/// The next-IFD link of the IFD at `at`.
fn next_ifd(
    src: &mut Source,
    o: Order,
    big: bool,
    at: u64,
    limits: &Limits,
) -> Result<u64, HandlerError> {
    let (count_len, entry_len) = if big { (8u64, 20u64) } else { (2, 12) };
    let h = src.read_at(F, at, count_len, limits)?;
    let n = if big {
        o.u64(&h, 0)?
    } else {
        o.u16(&h, 0)? as u64
    };
    let link_at = at
        .checked_add(count_len)
        .and_then(|v| v.checked_add(n.checked_mul(entry_len)?))
        .ok_or_else(|| HandlerError::malformed(F, "IFD offset overflows"))?;
    let link = src.read_at(F, link_at, if big { 8 } else { 4 }, limits)?;
    Ok(if big {
        o.u64(&link, 0)?
    } else {
        o.u32(&link, 0)? as u64
    })
}

/// PhotometricInterpretation names (TIFF 6.0 §8, §16–23; TIFF-F; Adobe DNG for 32844/32845/34892).
pub fn photometric_name(p: u16) -> &'static str {
    match p {
        0 => "white_is_zero",
        1 => "black_is_zero",
        2 => "rgb",
        3 => "palette",
        4 => "transparency_mask",
        5 => "cmyk",
        6 => "ycbcr",
        8 => "cielab",
        9 => "icclab",
        10 => "itulab",
        32844 => "logl",
        32845 => "logluv",
        34892 => "linear_raw",
        _ => "unknown",
    }
}

/// Compression names (TIFF 6.0 §8 and the TIFF tag registry).
pub fn compression_name(c: u16) -> &'static str {
    match c {
        1 => "none",
        2 => "ccitt_rle",
        3 => "ccitt_group3",
        4 => "ccitt_group4",
        5 => "lzw",
        6 => "ojpeg",
        7 => "jpeg",
        8 | 32946 => "deflate",
        32773 => "packbits",
        34712 => "jpeg2000",
        34887 => "lerc",
        34925 => "lzma",
        50000 => "zstd",
        50001 => "webp",
        _ => "unknown",
    }
}

/// Decode a TIFF the `image` crate refuses: gray with an extra (alpha) sample, 8 or 16 bits — ImageMagick
/// writes these for scans with a transparency channel. tiff 0.11 reports them as `Multiband` and `image` 0.25
/// has no mapping for that. Returns the pixels and the embedded ICC profile. Anything else stays refused,
/// with the decoder's reason. [`decode_gray_alpha_oriented`] also returns the Orientation tag.
pub fn decode_gray_alpha(
    bytes: &[u8],
    max_alloc: u64,
) -> Result<(image::DynamicImage, Option<Vec<u8>>), String> {
    decode_gray_alpha_oriented(bytes, max_alloc).map(|g| (g.image, g.icc))
}

/// A gray + alpha TIFF decoded by [`decode_gray_alpha_oriented`].
pub struct GrayAlpha {
    pub image: image::DynamicImage,
    pub icc: Option<Vec<u8>>,
    /// Orientation (274, TIFF 6.0 §8), 1–8, when the tag is present; the pixels are as stored.
    pub orientation: Option<u16>,
}

/// [`decode_gray_alpha`] with the first page's Orientation tag, so that a caller can turn the pixels.
pub fn decode_gray_alpha_oriented(bytes: &[u8], max_alloc: u64) -> Result<GrayAlpha, String> {
    use tiff_decode::ColorType;
    use tiff_decode::decoder::{Decoder, DecodingResult, Limits};
    use tiff_decode::tags::{PhotometricInterpretation, Tag};
    let mut limits = Limits::default();
    limits.decoding_buffer_size = usize::try_from(max_alloc).unwrap_or(usize::MAX);
    let mut d = Decoder::new(std::io::Cursor::new(bytes))
        .map_err(|e| e.to_string())?
        .with_limits(limits);
    let (w, h) = d.dimensions().map_err(|e| e.to_string())?;
    let ct = d.colortype().map_err(|e| e.to_string())?;
    let ColorType::Multiband {
        bit_depth,
        num_samples: 2,
    } = ct
    else {
        return Err(format!("TIFF colour type {ct:?} is not gray + alpha"));
    };
    let photometric = d
        .get_tag_u32(Tag::PhotometricInterpretation)
        .map_err(|e| e.to_string())?;
    let white_is_zero = photometric == PhotometricInterpretation::WhiteIsZero.to_u16() as u32;
    if !white_is_zero && photometric != PhotometricInterpretation::BlackIsZero.to_u16() as u32 {
        return Err(format!("TIFF photometric {photometric} with two samples"));
    }
    let icc = d.get_tag_u8_vec(Tag::Unknown(34675)).ok();
    let orientation = d
        .get_tag_u32(Tag::Orientation)
        .ok()
        .and_then(|v| u16::try_from(v).ok());
    let shape = |n: usize| format!("TIFF pixel data has {n} samples, {w}x{h}x2 expected");
    let img = match (bit_depth, d.read_image().map_err(|e| e.to_string())?) {
        (8, DecodingResult::U8(mut v)) => {
            if white_is_zero {
                v.iter_mut().step_by(2).for_each(|s| *s = u8::MAX - *s);
            }
            let n = v.len();
            image::ImageBuffer::from_raw(w, h, v)
                .map(image::DynamicImage::ImageLumaA8)
                .ok_or_else(|| shape(n))?
        }
        (16, DecodingResult::U16(mut v)) => {
            if white_is_zero {
                v.iter_mut().step_by(2).for_each(|s| *s = u16::MAX - *s);
            }
            let n = v.len();
            image::ImageBuffer::from_raw(w, h, v)
                .map(image::DynamicImage::ImageLumaA16)
                .ok_or_else(|| shape(n))?
        }
        (b, _) => return Err(format!("gray + alpha TIFF with {b}-bit samples")),
    };
    Ok(GrayAlpha {
        image: img,
        icc,
        orientation,
    })
}
