//! JPEG: frame header, JFIF density and EXIF (camera, time, GPS, description), read from the marker
//! segments before the first scan; the entropy-coded data is never touched.
//!
//! ITU-T T.81 Annex B (marker segments), JFIF 1.02 (APP0), EXIF 2.32 (CIPA DC-008) for the APP1 'Exif'
//! segment, walked by [`super::ifd`]. A damaged EXIF block never costs the frame header: the image size is
//! reported whatever the EXIF holds.

use encoding_rs::GB18030;
use serde::Serialize;

use super::{Characterization, Handler, HandlerError, Limits, Source};
use crate::identify::{Family, Identified};

pub struct Jpeg;

const F: &str = "JPEG";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JpegInfo {
    pub width: u64,
    pub height: u64,
    pub bits_per_sample: u8,
    pub components: u8,
    /// baseline, extended, progressive, lossless (from the SOF marker, T.81 Table B.1).
    pub process: &'static str,
    pub color_mode: &'static str,
    pub color_mode_zh: &'static str,
    pub jfif_version: Option<String>,
    /// JFIF density unit: 0 aspect ratio only, 1 dots per inch, 2 dots per cm.
    pub density_unit: Option<u8>,
    pub x_density: Option<u16>,
    pub y_density: Option<u16>,
    pub icc_profile: bool,
}

/// EXIF fields of interest to archives (DA/T 54-2014 photo metadata).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExifInfo {
    pub exif_version: Option<String>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub software: Option<String>,
    pub artist: Option<String>,
    pub copyright: Option<String>,
    pub image_description: Option<String>,
    /// ISO 8601, with the offset from OffsetTimeOriginal when present: `2023-05-01T10:20:30+08:00`.
    pub date_time_original: Option<String>,
    pub offset_time_original: Option<String>,
    pub date_time: Option<String>,
    /// Decimal degrees, negative south.
    pub gps_latitude: Option<f64>,
    /// Decimal degrees, negative west.
    pub gps_longitude: Option<f64>,
    /// Metres, negative below sea level.
    pub gps_altitude: Option<f64>,
    pub orientation: Option<u32>,
    pub x_resolution: Option<f64>,
    pub y_resolution: Option<f64>,
    pub resolution_unit: Option<u32>,
    pub pixel_x_dimension: Option<u32>,
    pub pixel_y_dimension: Option<u32>,
}

impl Handler for Jpeg {
    fn name(&self) -> &'static str {
        "jpeg"
    }
    fn summary(&self) -> &'static str {
        "JPEG/EXIF: dimensions, JFIF density, camera, time, GPS, description"
    }
    fn families(&self) -> &'static [Family] {
        &[Family::Jpeg]
    }
    fn characterize(
        &self,
        src: &mut Source,
        _id: &Identified,
        limits: &Limits,
    ) -> Result<Characterization, HandlerError> {
        let (jpeg, exif, warnings) = read(src, limits)?;
        Ok(Characterization {
            jpeg: Some(jpeg),
            exif,
            warnings,
            ..Default::default()
        })
    }
}

/// What [`read`] returns: the frame header, the EXIF fields and what was lost of the EXIF.
pub type JpegRead = (JpegInfo, Option<ExifInfo>, Vec<String>);

/// The first bytes of the file, read once and grown as the marker walk needs: the segments before the frame
/// header (JFIF, EXIF, ICC, quantization tables) usually lie in the first few KiB, and a read per segment was
/// a seek and an 8 KiB read each (ten system calls for a camera photo where one does).
struct Head<'s> {
    src: &'s mut Source,
    limits: &'s Limits,
    buf: Vec<u8>,
}

/// The first read; doubled (up to [`HEAD_MAX`]) when a segment lies beyond it.
const HEAD_FIRST: u64 = 16 * 1024;
/// Segments beyond this are read on their own, not by growing the buffer.
const HEAD_MAX: u64 = 1024 * 1024;

impl Head<'_> {
    /// `n` bytes at `at`: the errors of [`Source::read_at`] (allocation limit, beyond the end of the file).
    fn get(&mut self, at: u64, n: u64) -> Result<std::borrow::Cow<'_, [u8]>, HandlerError> {
        let end = at.checked_add(n);
        if n > self.limits.max_alloc || end.is_none_or(|e| e > self.src.len()) {
            // The one wording of these errors.
            return self.src.read_at(F, at, n, self.limits).map(Into::into);
        }
        let end = end.unwrap_or(u64::MAX);
        if end > self.buf.len() as u64 && end <= HEAD_MAX {
            let want = end
                .max(HEAD_FIRST)
                .max(2 * self.buf.len() as u64)
                .min(HEAD_MAX);
            let have = self.buf.len() as u64;
            let more = self.src.read_upto(have, want - have)?;
            self.buf.extend_from_slice(&more);
        }
        match self.buf.get(at as usize..end as usize) {
            Some(b) if end <= self.buf.len() as u64 => Ok(b.into()),
            _ => self.src.read_at(F, at, n, self.limits).map(Into::into),
        }
    }
}

/// Walk the marker segments up to the frame header.
pub fn read(src: &mut Source, limits: &Limits) -> Result<JpegRead, HandlerError> {
    let mut src = Head {
        src,
        limits,
        buf: Vec::new(),
    };
    if *src.get(0, 2)? != [0xFF, 0xD8] {
        return Err(HandlerError::malformed(F, "no SOI marker"));
    }
    let mut at = 2u64;
    let mut jfif = None;
    let mut exif_raw = None;
    let mut icc = false;
    for _ in 0..4096 {
        let m = src.get(at, 4)?;
        let m = [m[0], m[1], m[2], m[3]];
        if m[0] != 0xFF {
            return Err(HandlerError::malformed(
                F,
                format!("expected a marker at offset {at}"),
            ));
        }
        let marker = m[1];
        if marker == 0xFF {
            at += 1; // fill byte (T.81 B.1.1.2)
            continue;
        }
        if matches!(marker, 0x01 | 0xD0..=0xD7) {
            at += 2;
            continue;
        }
        if marker == 0xD9 || marker == 0xDA {
            return Err(HandlerError::malformed(
                F,
                "no frame header (SOF) before the scan",
            ));
        }
        let len = u16::from_be_bytes([m[2], m[3]]) as u64;
        if len < 2 {
            return Err(HandlerError::malformed(
                F,
                format!("segment length {len} at offset {at}"),
            ));
        }
        let body_at = at + 4;
        let body_len = len - 2;
        match marker {
            0xE0 => {
                let b = src.get(body_at, body_len.min(16))?;
                if b.starts_with(b"JFIF\0") && b.len() >= 12 {
                    jfif = Some((
                        format!("{}.{:02}", b[5], b[6]),
                        b[7],
                        u16::from_be_bytes([b[8], b[9]]),
                        u16::from_be_bytes([b[10], b[11]]),
                    ));
                }
            }
            0xE1 if exif_raw.is_none() => {
                let head = src.get(body_at, body_len.min(6))?;
                if *head == *b"Exif\0\0" {
                    exif_raw = Some(
                        src.get(body_at + 6, body_len.saturating_sub(6))?
                            .into_owned(),
                    );
                }
            }
            0xE2 => {
                let head = src.get(body_at, body_len.min(12))?;
                icc |= *head == *b"ICC_PROFILE\0";
            }
            // SOF0–SOF15 except DHT (C4), JPG (C8), DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let b = src.get(body_at, body_len.min(6))?.into_owned();
                if b.len() < 6 {
                    return Err(HandlerError::malformed(F, "short frame header"));
                }
                let height = u16::from_be_bytes([b[1], b[2]]) as u64;
                let width = u16::from_be_bytes([b[3], b[4]]) as u64;
                limits.check_dimensions(F, width, height)?;
                let components = b[5];
                let (color_mode, color_mode_zh) = match components {
                    1 => ("grayscale", "灰度"),
                    _ => ("color", "彩色"),
                };
                let process = match marker {
                    0xC0 => "baseline",
                    0xC1 | 0xC5 | 0xC9 | 0xCD => "extended",
                    0xC2 | 0xC6 | 0xCA | 0xCE => "progressive",
                    _ => "lossless",
                };
                let (exif, warnings) = match exif_raw {
                    Some(raw) => parse_exif(&raw),
                    None => (None, Vec::new()),
                };
                let info = JpegInfo {
                    width,
                    height,
                    bits_per_sample: b[0],
                    components,
                    process,
                    color_mode,
                    color_mode_zh,
                    jfif_version: jfif.as_ref().map(|j| j.0.clone()),
                    density_unit: jfif.as_ref().map(|j| j.1),
                    x_density: jfif.as_ref().map(|j| j.2),
                    y_density: jfif.as_ref().map(|j| j.3),
                    icc_profile: icc,
                };
                return Ok((info, exif, warnings));
            }
            _ => {}
        }
        at = body_at + body_len;
    }
    Err(HandlerError::LimitExceeded {
        what: "JPEG marker segments before the frame header",
        value: 4096,
        limit: 4096,
    })
}

/// Decode a text value from EXIF or TIFF: UTF-8 if it is valid UTF-8, else GB18030 (a superset of GBK and
/// GB2312, what Chinese Windows and cameras write), else Latin-1. Trailing NULs and spaces are dropped.
pub fn decode_text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let bytes = &bytes[..end];
    let s = match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => {
            let (s, had_errors) = GB18030.decode_without_bom_handling(bytes);
            if had_errors {
                bytes.iter().map(|&b| b as char).collect()
            } else {
                s.into_owned()
            }
        }
    };
    s.trim_end().to_owned()
}

/// EXIF "YYYY:MM:DD HH:MM:SS" to ISO 8601, with an offset ("+08:00") appended when given.
pub fn exif_datetime(raw: &str, offset: Option<&str>) -> String {
    let b = raw.as_bytes();
    let shaped = b.len() >= 19
        && b[4] == b':'
        && b[7] == b':'
        && b[10] == b' '
        && b[13] == b':'
        && b[16] == b':'
        // On the bytes: all 19 are then ASCII, so the slicing below is on character boundaries (a damaged
        // value such as `05:06:0Ì` would otherwise split a character).
        && b[..19].iter().filter(|c| c.is_ascii_digit()).count() == 14;
    if !shaped {
        return raw.to_owned();
    }
    let mut s = format!(
        "{}-{}-{}T{}",
        &raw[0..4],
        &raw[5..7],
        &raw[8..10],
        &raw[11..19]
    );
    if let Some(o) = offset.filter(|o| o.len() == 6 && (o.starts_with('+') || o.starts_with('-'))) {
        s.push_str(o);
    }
    s
}

/// Parse the TIFF structure inside an APP1 'Exif' segment (see [`super::ifd`]): never fails; what is lost
/// is named in the warnings.
pub fn parse_exif(raw: &[u8]) -> (Option<ExifInfo>, Vec<String>) {
    super::ifd::read_exif(&mut &raw[..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes() {
        assert_eq!(
            exif_datetime("2023:05:01 10:20:30", Some("+08:00")),
            "2023-05-01T10:20:30+08:00"
        );
        assert_eq!(
            exif_datetime("    :  :     :  :  ", None),
            "    :  :     :  :  "
        );
        assert_eq!(
            exif_datetime("2021:03:04 05:06:0Ì", None),
            "2021:03:04 05:06:0Ì"
        );
    }

    #[test]
    fn text_decoding() {
        let gbk = GB18030.encode("忻州市扶贫").0.into_owned();
        assert_eq!(decode_text(&gbk), "忻州市扶贫");
        assert_eq!(decode_text("危房改造\0\0".as_bytes()), "危房改造");
    }
}
