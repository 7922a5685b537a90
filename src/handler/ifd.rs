//! EXIF metadata: a small bounded walker over the image file directories (IFDs) of a TIFF-structured block,
//! shared by JPEG (APP1 `Exif`), HEIF/AVIF (the `Exif` item) and TIFF (the Exif IFD, tag 34665).
//!
//! It degrades, never drops: a fault in one IFD (an offset past the end of the block, a pointer of the wrong
//! type, a truncated entry table, a loop) loses that IFD, or that one field, with a warning naming it; the
//! other IFDs are still read. kamadak-exif refuses the whole block on several of these faults (a pointer whose
//! type is not LONG, an IFD with a non-zero next-IFD link where none is allowed) unless `continue_on_error` is
//! set, and even then its errors do not say which IFD they come from, so the walk is done here.
//!
//! EXIF 2.32 (CIPA DC-008-2019) §4.6.2 (IFD structure; ASCII values end at the first NUL), §4.6.3 (Exif and
//! GPS IFD pointers, type LONG), §4.6.5–§4.6.6 (tags); TIFF 6.0 §2 (field types).

use std::collections::HashSet;

use super::jpeg::{ExifInfo, decode_text, exif_datetime};

/// Where the IFDs are read from: EXIF bytes in memory, or a TIFF file read on demand.
pub trait Block {
    /// Length in bytes; offsets in the IFDs are relative to its start (the TIFF header).
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// `n` bytes at `at`, or `None` when they lie (partly) outside the block or cannot be read.
    fn bytes(&mut self, at: u64, n: u64) -> Option<Vec<u8>>;
}

impl Block for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn bytes(&mut self, at: u64, n: u64) -> Option<Vec<u8>> {
        let end = at.checked_add(n)?;
        let (at, end) = (usize::try_from(at).ok()?, usize::try_from(end).ok()?);
        self.get(at..end).map(<[u8]>::to_vec)
    }
}

/// Tags whose values are reported, by IFD; out-of-line values of other tags are never fetched.
const IFD0_TAGS: &[(u16, &str)] = &[
    (0x010E, "ImageDescription"),
    (0x010F, "Make"),
    (0x0110, "Model"),
    (0x0112, "Orientation"),
    (0x011A, "XResolution"),
    (0x011B, "YResolution"),
    (0x0128, "ResolutionUnit"),
    (0x0131, "Software"),
    (0x0132, "DateTime"),
    (0x013B, "Artist"),
    (0x8298, "Copyright"),
    (EXIF_POINTER, "ExifIFDPointer"),
    (GPS_POINTER, "GPSInfoIFDPointer"),
];
const EXIF_TAGS: &[(u16, &str)] = &[
    (0x9000, "ExifVersion"),
    (0x9003, "DateTimeOriginal"),
    (0x9011, "OffsetTimeOriginal"),
    (0xA002, "PixelXDimension"),
    (0xA003, "PixelYDimension"),
];
const GPS_TAGS: &[(u16, &str)] = &[
    (0x0001, "GPSLatitudeRef"),
    (0x0002, "GPSLatitude"),
    (0x0003, "GPSLongitudeRef"),
    (0x0004, "GPSLongitude"),
    (0x0005, "GPSAltitudeRef"),
    (0x0006, "GPSAltitude"),
];

/// ExifIFDPointer (EXIF 2.32 §4.6.3, tag 34665).
pub const EXIF_POINTER: u16 = 0x8769;
/// GPSInfoIFDPointer (EXIF 2.32 §4.6.3, tag 34853).
pub const GPS_POINTER: u16 = 0x8825;

/// One field of an IFD: its TIFF type, count and value bytes (in the block's byte order).
#[derive(Debug, Clone)]
struct Field {
    tag: u16,
    typ: u16,
    count: u32,
    value: Vec<u8>,
}

/// One IFD that was read: its name for warnings and its reported fields.
struct Dir {
    name: &'static str,
    tags: &'static [(u16, &'static str)],
    fields: Vec<Field>,
}

/// Size of one value of a TIFF 6.0 field type (§2; 13 = IFD, from the TIFF Technical Note 1).
fn type_size(typ: u16) -> Option<u64> {
    Some(match typ {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        5 | 10 | 12 => 8,
        _ => return None,
    })
}

fn type_name(typ: u16) -> &'static str {
    match typ {
        1 => "BYTE",
        2 => "ASCII",
        3 => "SHORT",
        4 => "LONG",
        5 => "RATIONAL",
        6 => "SBYTE",
        7 => "UNDEFINED",
        8 => "SSHORT",
        9 => "SLONG",
        10 => "SRATIONAL",
        11 => "FLOAT",
        12 => "DOUBLE",
        13 => "IFD",
        _ => "unknown",
    }
}

struct Walker<'b, B: Block> {
    block: &'b mut B,
    le: bool,
    seen: HashSet<u64>,
    warnings: Vec<String>,
}

impl<B: Block> Walker<'_, B> {
    fn u16(&self, b: &[u8], at: usize) -> Option<u16> {
        let s: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
        Some(if self.le {
            u16::from_le_bytes(s)
        } else {
            u16::from_be_bytes(s)
        })
    }

    fn u32(&self, b: &[u8], at: usize) -> Option<u32> {
        let s: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    }

    fn warn(&mut self, what: String) {
        self.warnings.push(what);
    }

    /// Read the IFD at `offset`; `None` (with a warning) when it cannot be read at all.
    fn ifd(
        &mut self,
        offset: u64,
        name: &'static str,
        tags: &'static [(u16, &'static str)],
    ) -> Option<Dir> {
        let len = self.block.len();
        let Some(head) = self.block.bytes(offset, 2) else {
            self.warn(format!(
                "EXIF {name}: offset {offset} lies beyond the end of the EXIF data ({len} bytes); \
                 the {name} is not read"
            ));
            return None;
        };
        if !self.seen.insert(offset) {
            self.warn(format!(
                "EXIF {name}: offset {offset} was already read as another IFD (a loop); the {name} is \
                 not read"
            ));
            return None;
        }
        let declared = u64::from(self.u16(&head, 0)?);
        let fit = len.saturating_sub(offset + 2) / 12;
        let n = declared.min(fit);
        if n < declared {
            self.warn(format!(
                "EXIF {name}: {declared} entries declared at offset {offset}, only {n} fit in the EXIF \
                 data ({len} bytes); the others are lost"
            ));
        }
        let table = self.block.bytes(offset + 2, n * 12).unwrap_or_default();
        let mut fields = Vec::new();
        for e in table.chunks_exact(12) {
            let (Some(tag), Some(typ), Some(count)) =
                (self.u16(e, 0), self.u16(e, 2), self.u32(e, 4))
            else {
                continue;
            };
            let Some(&(_, tag_name)) = tags.iter().find(|(t, _)| *t == tag) else {
                continue; // not reported: its value is never fetched
            };
            let Some(size) = type_size(typ) else {
                self.warn(format!(
                    "EXIF {name} {tag_name} ({tag:#06x}): unknown field type {typ}; not reported"
                ));
                continue;
            };
            let total = size * u64::from(count);
            let value = if total <= 4 {
                e[8..8 + total as usize].to_vec()
            } else {
                let Some(at) = self.u32(e, 8).map(u64::from) else {
                    continue;
                };
                // Reported values are short (strings, a few rationals); a huge count is a damaged entry.
                let fetched = (total <= 1 << 16)
                    .then(|| self.block.bytes(at, total))
                    .flatten();
                let Some(v) = fetched else {
                    self.warn(format!(
                        "EXIF {name} {tag_name} ({tag:#06x}): {total} bytes at offset {at} lie beyond the \
                         end of the EXIF data ({len} bytes); not reported"
                    ));
                    continue;
                };
                v
            };
            fields.push(Field {
                tag,
                typ,
                count,
                value,
            });
        }
        Some(Dir { name, tags, fields })
    }

    /// Follow a pointer field of IFD0 to a sub-IFD (EXIF 2.32 §4.6.3: type LONG, count 1).
    fn sub_ifd(
        &mut self,
        ifd0: &Dir,
        pointer: u16,
        name: &'static str,
        tags: &'static [(u16, &'static str)],
    ) -> Option<Dir> {
        let f = ifd0.fields.iter().find(|f| f.tag == pointer)?;
        // SHORT and IFD (TIFF Technical Note 1) are accepted as well: they carry an offset unambiguously.
        let offset = match f.typ {
            4 | 13 if f.count >= 1 => self.u32(&f.value, 0).map(u64::from),
            3 if f.count >= 1 => self.u16(&f.value, 0).map(u64::from),
            _ => None,
        };
        let Some(offset) = offset else {
            let tag_name = ifd0
                .tags
                .iter()
                .find(|(t, _)| *t == pointer)
                .map_or("pointer", |&(_, n)| n);
            self.warn(format!(
                "EXIF IFD0 {tag_name} ({pointer:#06x}) has type {} and count {}, not one LONG; the {name} \
                 is not read",
                type_name(f.typ),
                f.count
            ));
            return None;
        };
        self.ifd(offset, name, tags)
    }
}

impl Dir {
    fn get(&self, tag: u16) -> Option<&Field> {
        self.fields.iter().find(|f| f.tag == tag)
    }
}

/// Typed access to the fields of the IFDs read, warning about fields of the wrong type.
struct Reader<'w> {
    le: bool,
    warnings: &'w mut Vec<String>,
}

impl Reader<'_> {
    fn wrong(&mut self, dir: &Dir, f: &Field, wanted: &str) {
        let tag_name = dir
            .tags
            .iter()
            .find(|(t, _)| *t == f.tag)
            .map_or("tag", |&(_, n)| n);
        self.warnings.push(format!(
            "EXIF {} {tag_name} ({:#06x}) has type {}, not {wanted}; not reported",
            dir.name,
            f.tag,
            type_name(f.typ)
        ));
    }

    /// EXIF 2.32 §4.6.2: an ASCII value ends at the first NUL (`ION230\0F` is `ION230`). UNDEFINED and
    /// BYTE strings (some writers use them for UTF-8) are read the same way.
    fn text(&mut self, dir: Option<&Dir>, tag: u16) -> Option<String> {
        let dir = dir?;
        let f = dir.get(tag)?;
        if !matches!(f.typ, 1 | 2 | 7) {
            self.wrong(dir, f, "ASCII");
            return None;
        }
        let s = decode_text(&f.value);
        (!s.is_empty()).then_some(s)
    }

    fn uint(&mut self, dir: Option<&Dir>, tag: u16) -> Option<u32> {
        let dir = dir?;
        let f = dir.get(tag)?;
        let v = &f.value;
        let le = self.le;
        let order = |b: [u8; 4]| {
            if le {
                u32::from_le_bytes(b)
            } else {
                u32::from_be_bytes(b)
            }
        };
        match f.typ {
            1 | 7 => v.first().map(|&b| u32::from(b)),
            3 => v.get(0..2).map(|s| {
                let b = [s[0], s[1]];
                u32::from(if le {
                    u16::from_le_bytes(b)
                } else {
                    u16::from_be_bytes(b)
                })
            }),
            4 => v.get(0..4).map(|s| order([s[0], s[1], s[2], s[3]])),
            _ => {
                self.wrong(dir, f, "SHORT or LONG");
                None
            }
        }
    }

    fn rational(&mut self, dir: Option<&Dir>, tag: u16, i: usize) -> Option<f64> {
        let dir = dir?;
        let f = dir.get(tag)?;
        let le = self.le;
        let word = |at: usize| -> Option<u32> {
            let s: [u8; 4] = f.value.get(at..at + 4)?.try_into().ok()?;
            Some(if le {
                u32::from_le_bytes(s)
            } else {
                u32::from_be_bytes(s)
            })
        };
        let (n, d) = (word(i * 8)?, word(i * 8 + 4)?);
        match f.typ {
            5 => (d != 0).then(|| f64::from(n) / f64::from(d)),
            10 => (d != 0).then(|| f64::from(n as i32) / f64::from(d as i32)),
            _ => {
                if i == 0 {
                    self.wrong(dir, f, "RATIONAL");
                }
                None
            }
        }
    }

    /// Degrees, minutes, seconds (EXIF 2.32 §4.6.6 GPSLatitude) to signed decimal degrees.
    fn coordinate(
        &mut self,
        gps: Option<&Dir>,
        tag: u16,
        ref_tag: u16,
        negative: &str,
    ) -> Option<f64> {
        let d = self.rational(gps, tag, 0)?;
        let m = self.rational(gps, tag, 1).unwrap_or(0.0);
        let s = self.rational(gps, tag, 2).unwrap_or(0.0);
        let sign = match self.text(gps, ref_tag) {
            Some(r) if r.eq_ignore_ascii_case(negative) => -1.0,
            _ => 1.0,
        };
        Some(sign * (d + m / 60.0 + s / 3600.0))
    }
}

/// Read the EXIF fields of a TIFF-structured block (TIFF header at offset 0). Never fails: what cannot be
/// read is left out, and each loss is named in the returned warnings. `None` when not even the header and
/// IFD0 can be read.
pub fn read_exif<B: Block>(block: &mut B) -> (Option<ExifInfo>, Vec<String>) {
    let len = block.len();
    let header = block.bytes(0, 8).unwrap_or_default();
    let le = match header.get(0..4) {
        Some(b"II\x2A\x00") => true,
        Some(b"MM\x00\x2A") => false,
        _ => {
            return (
                None,
                vec![format!(
                    "EXIF: no TIFF header (II*\\0 or MM\\0*) at the start of the EXIF data ({len} bytes); \
                     EXIF not read"
                )],
            );
        }
    };
    let mut w = Walker {
        block,
        le,
        seen: HashSet::new(),
        warnings: Vec::new(),
    };
    let first = w.u32(&header, 4).map_or(0, u64::from);
    let Some(ifd0) = w.ifd(first, "IFD0", IFD0_TAGS) else {
        return (None, w.warnings);
    };
    let exif = w.sub_ifd(&ifd0, EXIF_POINTER, "Exif IFD", EXIF_TAGS);
    let gps = w.sub_ifd(&ifd0, GPS_POINTER, "GPS IFD", GPS_TAGS);
    let mut warnings = std::mem::take(&mut w.warnings);
    let mut r = Reader {
        le,
        warnings: &mut warnings,
    };
    let (i0, ex, gp) = (Some(&ifd0), exif.as_ref(), gps.as_ref());
    let offset = r.text(ex, 0x9011);
    let alt = r
        .rational(gp, 0x0006, 0)
        .map(|a| if r.uint(gp, 0x0005) == Some(1) { -a } else { a });
    let version = ex
        .and_then(|d| d.get(0x9000))
        .map(|f| decode_text(&f.value));
    let info = ExifInfo {
        exif_version: version,
        make: r.text(i0, 0x010F),
        model: r.text(i0, 0x0110),
        software: r.text(i0, 0x0131),
        artist: r.text(i0, 0x013B),
        copyright: r.text(i0, 0x8298),
        image_description: r.text(i0, 0x010E),
        date_time_original: r
            .text(ex, 0x9003)
            .map(|d| exif_datetime(&d, offset.as_deref())),
        offset_time_original: offset,
        date_time: r.text(i0, 0x0132).map(|d| exif_datetime(&d, None)),
        gps_latitude: r.coordinate(gp, 0x0002, 0x0001, "S"),
        gps_longitude: r.coordinate(gp, 0x0004, 0x0003, "W"),
        gps_altitude: alt,
        orientation: r.uint(i0, 0x0112),
        x_resolution: r.rational(i0, 0x011A, 0),
        y_resolution: r.rational(i0, 0x011B, 0),
        resolution_unit: r.uint(i0, 0x0128),
        pixel_x_dimension: r.uint(ex, 0xA002),
        pixel_y_dimension: r.uint(ex, 0xA003),
    };
    (Some(info), warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A big-endian EXIF block: IFD0 (Make, Model with an embedded NUL, Exif and GPS pointers), an Exif IFD
    /// (DateTimeOriginal) and a GPS IFD (latitude).
    fn block() -> Vec<u8> {
        let mut b = b"MM\x00\x2A\x00\x00\x00\x08".to_vec();
        // IFD0 at 8: 4 entries → 2 + 48 + 4 = 54 bytes, values from 62.
        b.extend([0, 4]);
        let entry = |b: &mut Vec<u8>, tag: u16, typ: u16, count: u32, val: [u8; 4]| {
            b.extend(tag.to_be_bytes());
            b.extend(typ.to_be_bytes());
            b.extend(count.to_be_bytes());
            b.extend(val);
        };
        entry(&mut b, 0x010F, 2, 4, *b"ION\0");
        entry(&mut b, 0x0110, 2, 9, 62u32.to_be_bytes());
        entry(&mut b, EXIF_POINTER, 4, 1, 72u32.to_be_bytes());
        entry(&mut b, GPS_POINTER, 4, 1, 110u32.to_be_bytes());
        b.extend([0, 0, 0, 0]);
        assert_eq!(b.len(), 62);
        b.extend(b"ION230\0F\0");
        b.push(0); // pad to 72
        // Exif IFD at 72: 1 entry → 18 bytes, value at 90.
        b.extend([0, 1]);
        entry(&mut b, 0x9003, 2, 20, 90u32.to_be_bytes());
        b.extend([0, 0, 0, 0]);
        b.extend(b"2021:03:04 05:06:07\0");
        assert_eq!(b.len(), 110);
        // GPS IFD at 110: 2 entries, latitude value at 140.
        b.extend([0, 2]);
        entry(&mut b, 0x0001, 2, 2, *b"S\0\0\0");
        entry(&mut b, 0x0002, 5, 3, 140u32.to_be_bytes());
        b.extend([0, 0, 0, 0]);
        for (n, d) in [(38u32, 1u32), (30, 1), (0, 1)] {
            b.extend(n.to_be_bytes());
            b.extend(d.to_be_bytes());
        }
        b
    }

    #[test]
    fn reads_all_ifds_and_cuts_at_nul() {
        let data = block();
        let (info, warnings) = read_exif(&mut data.as_slice());
        let info = info.unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(info.make.as_deref(), Some("ION"));
        assert_eq!(info.model.as_deref(), Some("ION230"));
        assert_eq!(
            info.date_time_original.as_deref(),
            Some("2021-03-04T05:06:07")
        );
        assert_eq!(info.gps_latitude, Some(-38.5));
    }

    #[test]
    fn gps_pointer_past_the_end_loses_gps_only() {
        let mut data = block();
        data[54..58].copy_from_slice(&0xFFFF_0000u32.to_be_bytes());
        let (info, warnings) = read_exif(&mut data.as_slice());
        let info = info.unwrap();
        assert_eq!(info.gps_latitude, None);
        assert_eq!(info.model.as_deref(), Some("ION230"));
        assert!(info.date_time_original.is_some());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("GPS IFD"), "{warnings:?}");
    }

    #[test]
    fn wrong_typed_exif_pointer_loses_exif_ifd_only() {
        let mut data = block();
        data[36..38].copy_from_slice(&2u16.to_be_bytes()); // ExifIFDPointer as ASCII
        let (info, warnings) = read_exif(&mut data.as_slice());
        let info = info.unwrap();
        assert_eq!(info.date_time_original, None);
        assert_eq!(info.gps_latitude, Some(-38.5));
        assert!(warnings[0].contains("ExifIFDPointer"), "{warnings:?}");
        assert!(warnings[0].contains("Exif IFD"), "{warnings:?}");
    }

    #[test]
    fn truncated_and_looping_blocks_never_panic() {
        let data = block();
        for cut in 0..data.len() {
            let _ = read_exif(&mut &data[..cut]);
        }
        let mut looped = block();
        looped[54..58].copy_from_slice(&8u32.to_be_bytes()); // GPS IFD is IFD0 again
        let (info, warnings) = read_exif(&mut looped.as_slice());
        assert!(info.unwrap().make.is_some());
        assert!(warnings[0].contains("loop"), "{warnings:?}");
    }
}
