//! HEIF, HEIC and AVIF still images: dimensions of the primary item and its EXIF, from the `meta` box.
//!
//! ISO/IEC 23008-12 (HEIF: `pitm`, `iinf`/`infe`, `iloc`, `iprp`/`ipco`/`ipma`, the `ispe`, `pixi` and `irot`
//! properties; §A.2.1 the `Exif` item: a 4-byte offset to the TIFF header, then the EXIF block), on the box
//! structure of ISO/IEC 14496-12 §8.11. AVIF (AV1 Image File Format 1.1) is HEIF with `av01` items. Only
//! `meta` and the bytes of the `Exif` item are read, each bounded by `Limits::max_alloc`; image data never.
//!
//! Reached by MIME type (`image/heic`, `image/heif`, `image/avif`) or family: identification names HEIF/AVIF by
//! their `ftyp` brand (`identify::sniff`, the one place that knows the brands).

use serde::Serialize;

use super::raster::ImageInfo;
use super::video::{be16, be32, be64, boxes, child};
use super::{Characterization, Handler, HandlerError, Limits, Source};
use crate::identify::{Family, Identified};

pub struct Heif;

const F: &str = "HEIF";

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HeifInfo {
    pub major_brand: String,
    pub compatible_brands: Vec<String>,
    /// Item type of the primary item: `hvc1` (HEVC), `av01` (AV1), `grid` (tiles), `jpeg`, …
    pub primary_item_type: Option<String>,
    /// Clockwise rotation the `irot` property asks a viewer to apply (0, 90, 180, 270).
    pub rotation_degrees: Option<u16>,
    pub items: u32,
    pub has_exif: bool,
}

impl Handler for Heif {
    fn name(&self) -> &'static str {
        "heif"
    }
    fn summary(&self) -> &'static str {
        "HEIF/HEIC/AVIF: dimensions of the primary image, codec, rotation, EXIF (camera, time, GPS)"
    }
    fn families(&self) -> &'static [Family] {
        &[]
    }
    fn mimes(&self) -> &'static [&'static str] {
        &["image/avif", "image/heic", "image/heif"]
    }
    fn characterize(
        &self,
        src: &mut Source,
        _id: &Identified,
        limits: &Limits,
    ) -> Result<Characterization, HandlerError> {
        read(src, limits)
    }
}

/// One `infe` entry.
struct ItemInfo {
    id: u32,
    kind: [u8; 4],
}

/// One `iloc` entry: where an item's bytes are.
struct Location {
    id: u32,
    construction_method: u16,
    base_offset: u64,
    extents: Vec<(u64, u64)>,
}

/// A big-endian unsigned integer of `size` bytes (0, 4 or 8; 2 for some fields) at `at`.
fn sized(b: &[u8], at: usize, size: usize) -> Option<u64> {
    match size {
        0 => Some(0),
        2 => be16(b, at).map(u64::from),
        4 => be32(b, at).map(u64::from),
        8 => be64(b, at),
        _ => None,
    }
}

/// `iinf` (ISO/IEC 14496-12 §8.11.6): item infos, version 2 and 3 `infe` boxes (HEIF requires them).
fn item_infos(iinf: &[u8]) -> Vec<ItemInfo> {
    let count_len = if iinf.first() == Some(&0) { 2 } else { 4 };
    let Some(rest) = iinf.get(4 + count_len..) else {
        return Vec::new();
    };
    boxes(rest)
        .into_iter()
        .filter(|(k, _)| *k == b"infe")
        .filter_map(|(_, e)| {
            let version = *e.first()?;
            let (id, kind_at) = match version {
                2 => (u32::from(be16(e, 4)?), 8),
                3 => (be32(e, 4)?, 10),
                _ => return None, // versions 0 and 1 carry no item type
            };
            let kind: [u8; 4] = e.get(kind_at..kind_at + 4)?.try_into().ok()?;
            Some(ItemInfo { id, kind })
        })
        .collect()
}

/// `iloc` (ISO/IEC 14496-12 §8.11.3), versions 0–2.
fn locations(iloc: &[u8]) -> Option<Vec<Location>> {
    let version = *iloc.first()?;
    let sizes = *iloc.get(4)?;
    let (offset_size, length_size) = ((sizes >> 4) as usize, (sizes & 15) as usize);
    let sizes2 = *iloc.get(5)?;
    let base_offset_size = (sizes2 >> 4) as usize;
    let index_size = if version >= 1 {
        (sizes2 & 15) as usize
    } else {
        0
    };
    let (count, mut at) = if version < 2 {
        (u32::from(be16(iloc, 6)?), 8)
    } else {
        (be32(iloc, 6)?, 10)
    };
    let mut out = Vec::new();
    for _ in 0..count {
        let id = if version < 2 {
            at += 2;
            u32::from(be16(iloc, at - 2)?)
        } else {
            at += 4;
            be32(iloc, at - 4)?
        };
        let construction_method = if version >= 1 {
            at += 2;
            be16(iloc, at - 2)? & 15
        } else {
            0
        };
        at += 2; // data_reference_index
        let base_offset = sized(iloc, at, base_offset_size)?;
        at += base_offset_size;
        let extent_count = be16(iloc, at)?;
        at += 2;
        let mut extents = Vec::new();
        for _ in 0..extent_count {
            at += index_size;
            let off = sized(iloc, at, offset_size)?;
            at += offset_size;
            let len = sized(iloc, at, length_size)?;
            at += length_size;
            extents.push((off, len));
        }
        out.push(Location {
            id,
            construction_method,
            base_offset,
            extents,
        });
    }
    Some(out)
}

/// The properties (`ipco` boxes, 1-based) associated with `item` by `ipma` (ISO/IEC 23008-12 §9.3).
fn properties(iprp: &[u8], item: u32) -> Vec<(&[u8], &[u8])> {
    let Some(ipco) = child(iprp, b"ipco") else {
        return Vec::new();
    };
    let all = boxes(ipco);
    let mut out = Vec::new();
    for (kind, ipma) in boxes(iprp) {
        if kind != b"ipma" {
            continue;
        }
        let (Some(&version), Some(flags), Some(count)) =
            (ipma.first(), be32(ipma, 0), be32(ipma, 4))
        else {
            continue;
        };
        let wide = flags & 1 == 1;
        let mut at = 8usize;
        for _ in 0..count {
            let id = if version < 1 {
                at += 2;
                be16(ipma, at - 2).map(u32::from)
            } else {
                at += 4;
                be32(ipma, at - 4)
            };
            let Some(id) = id else { return out };
            let Some(&n) = ipma.get(at) else { return out };
            at += 1;
            for _ in 0..n {
                let index = if wide {
                    at += 2;
                    be16(ipma, at - 2).map(|v| (v & 0x7FFF) as usize)
                } else {
                    at += 1;
                    ipma.get(at - 1).map(|&v| (v & 0x7F) as usize)
                };
                let Some(index) = index else { return out };
                if id == item
                    && index > 0
                    && let Some(p) = all.get(index - 1)
                {
                    out.push(*p);
                }
            }
        }
    }
    out
}

/// Read `ftyp` and `meta` from the top-level boxes.
fn top_level(src: &mut Source, limits: &Limits) -> Result<(Vec<u8>, Vec<u8>), HandlerError> {
    let (mut ftyp, mut meta) = (None, None);
    let mut at = 0u64;
    for _ in 0..1024 {
        if at + 8 > src.len() || (ftyp.is_some() && meta.is_some()) {
            break;
        }
        let h = src.read_at(F, at, 8, limits)?;
        let size32 = u64::from(be32(&h, 0).unwrap_or(0));
        let (head, size) = match size32 {
            0 => (8, src.len() - at),
            1 => (
                16,
                be64(&src.read_at(F, at + 8, 8, limits)?, 0).unwrap_or(0),
            ),
            s => (8, s),
        };
        if size < head {
            return Err(HandlerError::malformed(
                F,
                format!("box size {size} at offset {at}"),
            ));
        }
        match &h[4..8] {
            b"ftyp" => ftyp = Some(src.read_at(F, at + head, size - head, limits)?),
            b"meta" => meta = Some(src.read_at(F, at + head, size - head, limits)?),
            _ => {}
        }
        at = at.saturating_add(size);
    }
    let ftyp = ftyp.ok_or_else(|| HandlerError::malformed(F, "no 'ftyp' box"))?;
    let meta = meta.ok_or_else(|| HandlerError::malformed(F, "no 'meta' box"))?;
    Ok((ftyp, meta))
}

fn fourcc(b: &[u8]) -> String {
    String::from_utf8_lossy(b).trim_end().to_owned()
}

/// The bytes of an item (construction method 0: file offsets; 1: offsets into `idat`).
fn item_bytes(
    src: &mut Source,
    loc: &Location,
    idat: Option<&[u8]>,
    limits: &Limits,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for &(off, len) in &loc.extents {
        let start = loc
            .base_offset
            .checked_add(off)
            .ok_or("extent offset overflows")?;
        // Length 0 means "to the end of the file" (§8.11.3.3).
        let len = if len == 0 {
            src.len().saturating_sub(start)
        } else {
            len
        };
        if out.len() as u64 + len > limits.max_alloc {
            return Err(format!("{len} bytes exceed the allocation limit"));
        }
        match loc.construction_method {
            0 => out.extend(
                src.read_at(F, start, len, limits)
                    .map_err(|e| e.to_string())?,
            ),
            1 => {
                let idat = idat.ok_or("construction method 1 without an 'idat' box")?;
                let end = start.checked_add(len).ok_or("extent overflows")?;
                let part = usize::try_from(start)
                    .ok()
                    .zip(usize::try_from(end).ok())
                    .and_then(|(s, e)| idat.get(s..e))
                    .ok_or_else(|| format!("{len} bytes at {start} lie beyond the 'idat' box"))?;
                out.extend_from_slice(part);
            }
            m => return Err(format!("construction method {m} is not read")),
        }
    }
    Ok(out)
}

/// The EXIF block inside an `Exif` item (ISO/IEC 23008-12 §A.2.1): `exif_tiff_header_offset` (4 bytes),
/// then that many bytes (often `Exif\0\0`), then the TIFF header.
fn exif_block(item: &[u8]) -> Option<&[u8]> {
    let skip = be32(item, 0)? as usize;
    let rest = item.get(4..)?;
    let at = rest
        .get(skip..)
        .filter(|r| r.starts_with(b"II") || r.starts_with(b"MM"));
    // Some writers count the offset differently; find the header within the first bytes instead.
    at.or_else(|| {
        let head = &rest[..rest.len().min(64)];
        let i = head
            .windows(4)
            .position(|w| w == b"II*\0" || w == b"MM\0*")?;
        rest.get(i..)
    })
}

pub fn read(src: &mut Source, limits: &Limits) -> Result<Characterization, HandlerError> {
    let (ftyp, meta_box) = top_level(src, limits)?;
    let mut warnings = Vec::new();
    let mut info = HeifInfo {
        major_brand: ftyp.get(0..4).map(fourcc).unwrap_or_default(),
        compatible_brands: ftyp
            .get(8..)
            .unwrap_or_default()
            .chunks_exact(4)
            .map(fourcc)
            .collect(),
        ..Default::default()
    };
    // `meta` is a FullBox: version and flags first.
    let meta = meta_box
        .get(4..)
        .ok_or_else(|| HandlerError::malformed(F, "empty 'meta' box"))?;
    let primary = child(meta, b"pitm").and_then(|p| {
        if p.first() == Some(&0) {
            be16(p, 4).map(u32::from)
        } else {
            be32(p, 4)
        }
    });
    let items = child(meta, b"iinf").map(item_infos).unwrap_or_default();
    info.items = items.len() as u32;
    let primary = primary.or_else(|| items.first().map(|i| i.id));
    let primary_kind = primary.and_then(|p| items.iter().find(|i| i.id == p).map(|i| i.kind));
    info.primary_item_type = primary_kind.map(|k| fourcc(&k));
    let mut image = None;
    if let (Some(p), Some(iprp)) = (primary, child(meta, b"iprp")) {
        let props = properties(iprp, p);
        let ispe = props.iter().find(|(k, _)| *k == b"ispe");
        if let Some((_, ispe)) = ispe
            && let (Some(w), Some(h)) = (be32(ispe, 4), be32(ispe, 8))
        {
            let (w, h) = (u64::from(w), u64::from(h));
            limits.check_dimensions(F, w, h)?;
            let pixi = props.iter().find(|(k, _)| *k == b"pixi").map(|(_, b)| *b);
            // The codec of a grid is that of its tiles: take the first coded item type in `iinf`.
            let coded = if primary_kind == Some(*b"grid") {
                items
                    .iter()
                    .map(|i| i.kind)
                    .find(|k| matches!(k, b"hvc1" | b"av01" | b"jpeg" | b"vvc1"))
            } else {
                primary_kind
            };
            image = Some(ImageInfo {
                width: w,
                height: h,
                bits_per_pixel: pixi.and_then(|b| b.get(5)).map(|&v| u16::from(v)),
                components: pixi.and_then(|b| b.get(4)).map(|&v| u16::from(v)),
                compression: coded.map(|k| match &k {
                    b"hvc1" => "hevc".to_owned(),
                    b"av01" => "av1".to_owned(),
                    b"vvc1" => "vvc".to_owned(),
                    other => fourcc(other),
                }),
                ..Default::default()
            });
        } else {
            warnings.push(format!(
                "HEIF: the primary item {p} has no 'ispe' (image spatial extents) property; \
                 dimensions not reported"
            ));
        }
        // irot: angle × 90° anticlockwise (§6.5.10); reported as the clockwise turn a viewer applies.
        if let Some((_, irot)) = props.iter().find(|(k, _)| *k == b"irot")
            && let Some(&a) = irot.first()
        {
            info.rotation_degrees = Some((360 - u16::from(a & 3) * 90) % 360);
        }
    } else {
        warnings.push(
            "HEIF: no primary item properties ('pitm'/'iprp'); dimensions not reported".into(),
        );
    }
    let mut exif = None;
    if let Some(item) = items.iter().find(|i| &i.kind == b"Exif") {
        info.has_exif = true;
        let loc = child(meta, b"iloc")
            .and_then(locations)
            .and_then(|l| l.into_iter().find(|l| l.id == item.id));
        let idat = child(meta, b"idat");
        let bytes = match loc {
            Some(loc) => item_bytes(src, &loc, idat, limits),
            None => Err("no 'iloc' entry".to_owned()),
        };
        match bytes {
            Ok(b) => match exif_block(&b) {
                Some(block) => {
                    let (e, w) = super::ifd::read_exif(&mut &block[..]);
                    exif = e;
                    warnings.extend(w);
                }
                None => warnings.push(format!(
                    "HEIF: Exif item {} holds no TIFF header; EXIF not read",
                    item.id
                )),
            },
            Err(e) => warnings.push(format!(
                "HEIF: Exif item {} cannot be read ({e}); EXIF not read",
                item.id
            )),
        }
    }
    Ok(Characterization {
        heif: Some(info),
        image,
        exif,
        warnings,
        ..Default::default()
    })
}
