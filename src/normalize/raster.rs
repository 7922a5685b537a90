//! Raster encoders: lossless TIFF masters, page images for the item PDF, and photo access copies. Decoding
//! (with resolution, colour mode and ICC profile, under the memory budget) is [`crate::raster`]'s.

use std::borrow::Cow;
use std::io::{Seek, Write};

use image::DynamicImage;
use image::codecs::jpeg::JpegEncoder;
#[cfg(test)]
use image::metadata::Orientation;
use rayon::prelude::*;
use tiff::encoder::compression::{CompressionAlgorithm, Deflate};
use tiff::encoder::{Rational, TiffEncoder, TiffValue};
use tiff::tags::{Tag, Type};

use super::error::ActionError;
use super::pdf::PageImage;
use super::policy::{DeflateLevel, TiffCompression};

pub(crate) use crate::raster::Raster;

/// TIFF master parameters from the policy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TiffParams {
    pub compression: TiffCompression,
    pub predictor: bool,
    pub level: DeflateLevel,
}

/// An UNDEFINED-typed tag value (TIFF 6.0 §2, type 7), as the ICC profile tag 34675 requires.
struct Undefined<'a>(&'a [u8]);

impl TiffValue for Undefined<'_> {
    const BYTE_LEN: u8 = 1;
    const FIELD_TYPE: Type = Type::UNDEFINED;
    fn count(&self) -> usize {
        self.0.len()
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self.0)
    }
}

/// An ASCII value whose bytes (with their NUL) are given, so that its length can be kept even.
struct Ascii(Vec<u8>);

impl TiffValue for Ascii {
    const BYTE_LEN: u8 = 1;
    const FIELD_TYPE: Type = Type::ASCII;
    fn count(&self) -> usize {
        self.0.len()
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.0)
    }
}

/// The sample layout of an image as a TIFF stores it.
struct Layout<'a> {
    bytes: Cow<'a, [u8]>,
    row_bytes: usize,
    bits: u16,
    spp: u16,
    /// TIFF 6.0 PhotometricInterpretation: 1 BlackIsZero, 2 RGB.
    photometric: u16,
    alpha: bool,
}

fn pack_bits(g: &[u8], w: usize, h: usize) -> Vec<u8> {
    let rb = w.div_ceil(8);
    let mut out = vec![0u8; rb * h];
    for y in 0..h {
        let row = &g[y * w..(y + 1) * w];
        let o = &mut out[y * rb..(y + 1) * rb];
        for (x, &v) in row.iter().enumerate() {
            if v >= 128 {
                o[x / 8] |= 0x80 >> (x % 8);
            }
        }
    }
    out
}

fn le16(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|s| s.to_le_bytes()).collect()
}

fn layout(r: &Raster) -> Result<Layout<'_>, ActionError> {
    let w = r.pixels.width() as usize;
    let h = r.pixels.height() as usize;
    fn l(
        w: usize,
        bytes: Cow<'_, [u8]>,
        bits: u16,
        spp: u16,
        photometric: u16,
        alpha: bool,
    ) -> Layout<'_> {
        Layout {
            row_bytes: (w * usize::from(spp) * usize::from(bits)).div_ceil(8),
            bytes,
            bits,
            spp,
            photometric,
            alpha,
        }
    }
    Ok(match &r.pixels {
        DynamicImage::ImageLuma8(g) if r.bitonal => {
            l(w, Cow::Owned(pack_bits(g.as_raw(), w, h)), 1, 1, 1, false)
        }
        DynamicImage::ImageLuma8(g) => l(w, Cow::Borrowed(g.as_raw()), 8, 1, 1, false),
        DynamicImage::ImageLumaA8(g) => l(w, Cow::Borrowed(g.as_raw()), 8, 2, 1, true),
        DynamicImage::ImageRgb8(g) => l(w, Cow::Borrowed(g.as_raw()), 8, 3, 2, false),
        DynamicImage::ImageRgba8(g) => l(w, Cow::Borrowed(g.as_raw()), 8, 4, 2, true),
        DynamicImage::ImageLuma16(g) => l(w, Cow::Owned(le16(g.as_raw())), 16, 1, 1, false),
        DynamicImage::ImageLumaA16(g) => l(w, Cow::Owned(le16(g.as_raw())), 16, 2, 1, true),
        DynamicImage::ImageRgb16(g) => l(w, Cow::Owned(le16(g.as_raw())), 16, 3, 2, false),
        DynamicImage::ImageRgba16(g) => l(w, Cow::Owned(le16(g.as_raw())), 16, 4, 2, true),
        other => {
            return Err(ActionError::Unsupported(format!(
                "{:?} samples in a TIFF master",
                other.color()
            )));
        }
    })
}

/// [`predict`] of `row` written to `out` (same length) in one pass: for 8-bit samples each output byte
/// depends only on two input bytes, so the loop vectorizes (the in-place form must run backwards).
fn predict_into(out: &mut [u8], row: &[u8], bits: u16, spp: usize) {
    if bits == 8 && row.len() > spp {
        out[..spp].copy_from_slice(&row[..spp]);
        for (o, (&a, &b)) in out[spp..].iter_mut().zip(row[spp..].iter().zip(row)) {
            *o = a.wrapping_sub(b);
        }
    } else {
        out.copy_from_slice(row);
        predict(out, bits, spp);
    }
}

/// TIFF 6.0 §14 Predictor 2 on one little-endian row: each sample minus its left neighbour.
fn predict(row: &mut [u8], bits: u16, spp: usize) {
    match bits {
        8 => {
            for i in (spp..row.len()).rev() {
                row[i] = row[i].wrapping_sub(row[i - spp]);
            }
        }
        16 => {
            let n = row.len() / 2;
            for i in (spp..n).rev() {
                let a = u16::from_le_bytes([row[2 * i], row[2 * i + 1]]);
                let b = u16::from_le_bytes([row[2 * (i - spp)], row[2 * (i - spp) + 1]]);
                row[2 * i..2 * i + 2].copy_from_slice(&a.wrapping_sub(b).to_le_bytes());
            }
        }
        _ => {}
    }
}

fn rational(dpi: f64) -> Rational {
    if (dpi - dpi.round()).abs() < 1e-9 {
        Rational {
            n: dpi.round() as u32,
            d: 1,
        }
    } else {
        Rational {
            n: (dpi * 1000.0).round() as u32,
            d: 1000,
        }
    }
}

/// A master's strips, compressed: what [`write_tiff`] lays out.
struct Strips {
    strips: Vec<Vec<u8>>,
    /// Their bytes in all.
    bytes: usize,
    rows_per_strip: usize,
    /// TIFF 6.0 Compression: 5 LZW, 8 Deflate.
    compression: u16,
    predictor: bool,
    bits: u16,
    spp: u16,
    photometric: u16,
    alpha: bool,
}

/// Compress the strips of `r`'s master, in parallel. Each strip's buffer comes from [`crate::buffers`]
/// and goes back there once written.
fn compress_strips(r: &Raster, p: TiffParams) -> Result<Strips, ActionError> {
    let lay = layout(r)?;
    let h = r.pixels.height();
    let predictor = p.predictor && lay.bits >= 8;
    // About 256 KiB of samples per strip: small enough to spread over cores, large enough to compress well.
    let rows_per_strip = (256 * 1024 / lay.row_bytes.max(1)).clamp(1, h.max(1) as usize);
    thread_local! {
        // The predicted samples of the strip being compressed, one buffer per thread (nothing here
        // waits on other work, so a thread never holds it twice).
        static PREDICTED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let strips: Vec<Vec<u8>> = lay
        .bytes
        // (An image without pixels has no strips; a zero chunk size would panic.)
        .par_chunks((rows_per_strip * lay.row_bytes).max(1))
        .map(|chunk| -> std::io::Result<Vec<u8>> {
            let compress = |data: &[u8]| -> std::io::Result<Vec<u8>> {
                match p.compression {
                    TiffCompression::Deflate => {
                        let level = match p.level {
                            DeflateLevel::Fast => tiff::encoder::compression::DeflateLevel::Fast,
                            DeflateLevel::Balanced => {
                                tiff::encoder::compression::DeflateLevel::Balanced
                            }
                            DeflateLevel::Best => tiff::encoder::compression::DeflateLevel::Best,
                        };
                        let mut z = crate::buffers::take(data.len() / 2);
                        Deflate::with_level(level).write_to(&mut z, data)?;
                        Ok(z)
                    }
                    TiffCompression::Lzw => Ok(lzw_tiff(data)),
                }
            };
            if !predictor {
                return compress(chunk);
            }
            PREDICTED.with_borrow_mut(|buf| {
                buf.resize(chunk.len(), 0);
                for (out, row) in buf
                    .chunks_mut(lay.row_bytes)
                    .zip(chunk.chunks(lay.row_bytes))
                {
                    predict_into(out, row, lay.bits, usize::from(lay.spp));
                }
                let z = compress(buf);
                keep_small(buf);
                z
            })
        })
        .collect::<Result<_, _>>()?;
    let bytes = strips.iter().map(|s| s.len() + 1).sum();
    Ok(Strips {
        strips,
        bytes,
        rows_per_strip,
        compression: match p.compression {
            TiffCompression::Deflate => 8,
            TiffCompression::Lzw => 5,
        },
        predictor,
        bits: lay.bits,
        spp: lay.spp,
        photometric: lay.photometric,
        alpha: lay.alpha,
    })
}

/// The master of `r` as the bytes of a TIFF file, in a buffer from [`crate::buffers`] sized for it
/// (give it back when done).
pub(crate) fn tiff_bytes(r: &Raster, p: TiffParams) -> Result<Vec<u8>, ActionError> {
    let s = compress_strips(r, p)?;
    // The directory after the strips: a dozen tags, two offsets per strip, the ICC profile.
    let room = s.bytes + 16 * 1024 + 8 * s.strips.len() + r.icc.as_ref().map_or(0, Vec::len);
    let mut out = std::io::Cursor::new(crate::buffers::take(room));
    lay_out(&mut out, r, s)?;
    Ok(out.into_inner())
}

/// Write a lossless TIFF master (baseline TIFF 6.0, little-endian, one image): pixels exactly as decoded,
/// resolution and ICC profile kept, bitonal images as 1-bit. Strips are compressed in parallel.
pub(crate) fn write_tiff<W: Write + Seek>(
    out: W,
    r: &Raster,
    p: TiffParams,
) -> Result<(), ActionError> {
    let s = compress_strips(r, p)?;
    lay_out(out, r, s)
}

/// The TIFF file of compressed strips: the strips in order, then the directory.
fn lay_out<W: Write + Seek>(out: W, r: &Raster, s: Strips) -> Result<(), ActionError> {
    let (w, h) = (r.pixels.width(), r.pixels.height());
    let Strips {
        strips,
        bytes: total,
        rows_per_strip,
        compression,
        predictor,
        bits,
        spp,
        photometric,
        alpha,
    } = s;
    if total > (u32::MAX as usize) - (1 << 20) {
        return Err(ActionError::Unsupported(
            "master larger than 4 GiB (BigTIFF not written)".into(),
        ));
    }
    let mut enc = TiffEncoder::new(out)?;
    let mut dir = enc.new_directory()?;
    let mut offsets = Vec::with_capacity(strips.len());
    let mut counts = Vec::with_capacity(strips.len());
    // Each strip is freed once written: the compressed image is not held twice (~12 MB a colour A4
    // page per thread at a pack's peak).
    for strip in strips {
        offsets.push(dir.write_data(&strip[..])? as u32);
        counts.push(strip.len() as u32);
        if strip.len() % 2 == 1 {
            // TIFF 6.0 §2: values start on word boundaries; keep every following offset even.
            dir.write_data(0u8)?;
        }
        crate::buffers::give(strip);
    }
    dir.write_tag(Tag::ImageWidth, w)?;
    dir.write_tag(Tag::ImageLength, h)?;
    dir.write_tag(Tag::BitsPerSample, &vec![bits; usize::from(spp)][..])?;
    dir.write_tag(Tag::Compression, compression)?;
    dir.write_tag(Tag::PhotometricInterpretation, photometric)?;
    dir.write_tag(Tag::StripOffsets, &offsets[..])?;
    dir.write_tag(Tag::SamplesPerPixel, spp)?;
    dir.write_tag(Tag::RowsPerStrip, rows_per_strip as u32)?;
    dir.write_tag(Tag::StripByteCounts, &counts[..])?;
    let (xd, yd) = r.dpi.unwrap_or((72.0, 72.0));
    dir.write_tag(Tag::XResolution, rational(xd))?;
    dir.write_tag(Tag::YResolution, rational(yd))?;
    dir.write_tag(Tag::PlanarConfiguration, 1u16)?;
    // Without a resolution in the source, say so (unit "none") instead of inventing one.
    dir.write_tag(
        Tag::ResolutionUnit,
        if r.dpi.is_some() { 2u16 } else { 1u16 },
    )?;
    // Values are laid out in tag order; an odd-length Software string would put the ICC profile at an odd
    // offset (TIFF 6.0 §2 wants word boundaries). libtiff warns on a second NUL, so pad with a space.
    let mut sw = crate::software_agent().into_bytes();
    if sw.len().is_multiple_of(2) {
        sw.push(b' ');
    }
    sw.push(0);
    dir.write_tag(Tag::Software, Ascii(sw))?;
    if predictor {
        dir.write_tag(Tag::Predictor, 2u16)?;
    }
    if alpha {
        dir.write_tag(Tag::ExtraSamples, &[2u16][..])?; // unassociated alpha
    }
    if let Some(icc) = &r.icc {
        dir.write_tag(Tag::Unknown(34675), Undefined(icc))?; // ICC profile (TIFF/EP, ICC.1 annex B)
    }
    dir.finish()?;
    Ok(())
}

/// A thread's scratch buffer stays allocated for the next strip only while it is strip-sized: the one
/// strip of a single very wide row (a strip is at least one row) must not stay resident for the run.
fn keep_small(buf: &mut Vec<u8>) {
    if buf.capacity() > 4 << 20 {
        *buf = Vec::new();
    }
}

/// TIFF 6.0 §13 LZW, written as libtiff writes it: MSB-first codes of 9–12 bits, the code width growing
/// one code early (the "Aldus" convention every TIFF reader expects), Clear at the start and whenever the
/// table is full, EOI at the end. Why not the `tiff` crate's (weezl) encoder: on scanner noise it spent
/// ~70 % of a page's time resetting and walking its table. This one keeps a small open-addressing hash
/// table whose slots each pack the string's key (prefix code, next byte: 20 bits) and its code (12 bits)
/// into one `u32` — 32 KiB that stay in L1, one load per probe, a cheap clear — and emits codes 32 bits at
/// a time into an output sized for the worst case up front (no per-byte capacity checks).
pub(crate) fn lzw_tiff(data: &[u8]) -> Vec<u8> {
    // Worst case: one 12-bit code per input byte, a Clear per 3,835 codes, the first Clear, the last
    // code, EOI and the 4-byte flush granule.
    let bound = (data.len() + data.len() / 1024 + 8) * 3 / 2 + 16;
    thread_local! {
        // The worst-case output buffer, zeroed once per thread and reused for every strip: sizing each
        // strip's own buffer for the worst case would touch (and keep resident) 1.5 times its samples.
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with_borrow_mut(|scratch| {
        if scratch.len() < bound {
            scratch.resize(bound, 0);
        }
        let n = lzw_into(data, scratch);
        let mut out = crate::buffers::take(n);
        out.extend_from_slice(&scratch[..n]);
        keep_small(scratch);
        out
    })
}

/// [`lzw_tiff`] into `buf` (large enough for the worst case); returns the length written.
fn lzw_into(data: &[u8], buf: &mut [u8]) -> usize {
    const CLEAR: u32 = 256;
    const EOI: u32 = 257;
    const FIRST: u32 = 258;
    const CODE_MAX: u32 = 4095;
    // 16,384 slots for at most 3,836 entries (load ≤ 0.23): a colliding first probe is a mispredicted
    // branch on the hot loop, and 8,192 slots (load ≤ 0.47) made the encoder ~15 % slower on scanned
    // pages (143 → 122 ms a colour A4 page; 32,768 slots no faster, a two-choice cuckoo table slower).
    // The table does not change the codes written.
    const HSIZE: usize = 1 << 14;
    // Key 0xFFFFF would be byte 255 after code 4095, which is never assigned (the table is cleared at
    // 4093): no real slot equals this.
    const EMPTY: u32 = u32::MAX;
    let mut table = vec![EMPTY; HSIZE];
    let mut pos = 0usize;
    let mut acc: u64 = 0;
    let mut acc_bits: u32 = 0;
    let mut nbits: u32 = 9;
    let mut maxcode: u32 = 511;
    let mut free: u32 = FIRST;
    #[inline(always)]
    fn put(
        code: u32,
        nbits: u32,
        acc: &mut u64,
        acc_bits: &mut u32,
        buf: &mut [u8],
        pos: &mut usize,
    ) {
        *acc = (*acc << nbits) | u64::from(code);
        *acc_bits += nbits;
        if *acc_bits >= 32 {
            *acc_bits -= 32;
            let v = (*acc >> *acc_bits) as u32;
            buf[*pos..*pos + 4].copy_from_slice(&v.to_be_bytes());
            *pos += 4;
            *acc &= (1u64 << *acc_bits) - 1;
        }
    }
    put(CLEAR, nbits, &mut acc, &mut acc_bits, buf, &mut pos);
    if let Some((&first, rest)) = data.split_first() {
        let mut ent = u32::from(first);
        'bytes: for &c in rest {
            let key = (u32::from(c) << 12) | ent;
            // Fibonacci hashing: consecutive codes spread over the table (no clustering).
            let mut h = (key.wrapping_mul(0x9E37_79B1) >> (32 - HSIZE.trailing_zeros())) as usize;
            loop {
                let slot = table[h];
                if slot >> 12 == key {
                    ent = slot & 0xFFF;
                    continue 'bytes;
                }
                if slot == EMPTY {
                    break;
                }
                h = (h + 1) & (HSIZE - 1);
            }
            put(ent, nbits, &mut acc, &mut acc_bits, buf, &mut pos);
            ent = u32::from(c);
            table[h] = (key << 12) | free;
            free += 1;
            if free == CODE_MAX - 1 {
                table.fill(EMPTY);
                put(CLEAR, nbits, &mut acc, &mut acc_bits, buf, &mut pos);
                nbits = 9;
                maxcode = 511;
                free = FIRST;
            } else if free > maxcode {
                nbits += 1;
                maxcode = (1 << nbits) - 1;
            }
        }
        put(ent, nbits, &mut acc, &mut acc_bits, buf, &mut pos);
        // The decoder adds a table entry for this last code too, and may widen its codes before EOI.
        free += 1;
        if free == CODE_MAX - 1 {
            put(CLEAR, nbits, &mut acc, &mut acc_bits, buf, &mut pos);
            nbits = 9;
        } else if free > maxcode {
            nbits += 1;
        }
    }
    put(EOI, nbits, &mut acc, &mut acc_bits, buf, &mut pos);
    while acc_bits >= 8 {
        acc_bits -= 8;
        buf[pos] = (acc >> acc_bits) as u8;
        pos += 1;
    }
    if acc_bits > 0 {
        buf[pos] = (acc << (8 - acc_bits)) as u8;
        pos += 1;
    }
    pos
}

/// Average `k`×`k` blocks (the last row/column of blocks may be smaller), rounding half up.
/// The block's rows are first added sample by sample (a loop the compiler vectorizes), then each block's
/// columns: a pass over every sample in order instead of a walk across blocks per row (the box filter
/// was ~7 % of a pack's CPU time that way).
fn box_down(src: &[u8], w: usize, h: usize, c: usize, k: usize) -> (Vec<u8>, usize, usize) {
    let k = k.max(1);
    let (ow, oh) = (w.div_ceil(k), h.div_ceil(k));
    let mut out = crate::buffers::take_zeroed(ow * oh * c);
    if out.is_empty() {
        return (out, ow, oh); // no pixels (an empty image): nothing to average, and no rows to chunk
    }
    let rb = w * c;
    // Column sums of one block row; k rows of 255 fit in u32 for any k.
    let mut acc = vec![0u32; rb];
    for (oy, o) in out.chunks_exact_mut(ow * c).enumerate() {
        let rows = &src[oy * k * rb..((oy + 1) * k).min(h) * rb];
        let nrows = (rows.len() / rb.max(1)) as u32;
        acc.fill(0);
        for row in rows.chunks_exact(rb) {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += u32::from(v);
            }
        }
        // Whole blocks divide by k·k through a multiply (a hardware divide per sample was most of this
        // function's time): for x < 2³²/n, ⌊x·⌈2³²/n⌉ / 2³²⌋ = ⌊x/n⌋, and x ≤ 256·n here, so n < 4,096.
        let full = nrows * k as u32;
        let recip = (full < 4096).then(|| (1u64 << 32).div_ceil(u64::from(full.max(1))));
        // Whole blocks across: `k` samples `c` apart per output sample, no edge to check.
        let whole = w / k;
        if let Some(m) = recip {
            let half = full / 2;
            // The usual factors (300 → 150 dpi, 600 → 200 or 150 dpi) with the block's shape known at
            // compile time: the loops unroll, and this pass was most of the box filter's time.
            match (c, k) {
                (3, 2) => blocks_across::<3, 2>(o, &acc, half, m),
                (3, 3) => blocks_across::<3, 3>(o, &acc, half, m),
                (3, 4) => blocks_across::<3, 4>(o, &acc, half, m),
                (1, 2) => blocks_across::<1, 2>(o, &acc, half, m),
                (1, 3) => blocks_across::<1, 3>(o, &acc, half, m),
                (1, 4) => blocks_across::<1, 4>(o, &acc, half, m),
                // The same pass with the shape known only at run time. (One `#[inline(always)]` function
                // called with literal shapes instead did not unroll: the filter went from 2.6 to 3.6 % of
                // pack's CPU.)
                _ => {
                    for (px, block) in o.chunks_exact_mut(c).zip(acc.chunks_exact(k * c)) {
                        for (ch, p) in px.iter_mut().enumerate() {
                            let s: u32 = (0..k).map(|j| block[j * c + ch]).sum();
                            *p = ((u64::from(s + half) * m) >> 32) as u8;
                        }
                    }
                }
            }
        }
        let done = if recip.is_some() { whole } else { 0 };
        for (ox, px) in o.chunks_exact_mut(c).enumerate().skip(done) {
            let x0 = ox * k;
            let x1 = (x0 + k).min(w);
            let n = nrows * (x1 - x0) as u32;
            for (ch, p) in px.iter_mut().enumerate() {
                let s: u32 = acc[x0 * c + ch..x1 * c].iter().step_by(c).sum();
                let x = s + n / 2;
                *p = (x / n.max(1)) as u8;
            }
        }
    }
    (out, ow, oh)
}

/// The whole `K`-wide blocks of one block row of [`box_down`]: `acc` holds the row's column sums, `C`
/// samples a pixel; `(s + half) · m >> 32` divides by the block's area (see there).
fn blocks_across<const C: usize, const K: usize>(o: &mut [u8], acc: &[u32], half: u32, m: u64) {
    for (px, block) in o.chunks_exact_mut(C).zip(acc.chunks_exact(K * C)) {
        for ch in 0..C {
            let mut s = half;
            for j in 0..K {
                s += block[j * C + ch];
            }
            px[ch] = ((u64::from(s) * m) >> 32) as u8;
        }
    }
}

/// Baseline JPEG of 8-bit gray or RGB samples, 4:4:4 (no chroma subsampling), JFIF 1.02 with a 1:1
/// aspect ratio. The `jpeg-encoder` crate (SIMD) where the image fits its 16-bit dimensions, the image
/// crate's encoder (the same parameters) otherwise.
fn jpeg(bytes: &[u8], w: u32, h: u32, gray: bool, quality: u8) -> Result<Vec<u8>, ActionError> {
    if let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) {
        let mut buf = Vec::with_capacity(bytes.len() / 8);
        let mut enc = jpeg_encoder::Encoder::new(&mut buf, quality);
        enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_1_1);
        let ct = if gray {
            jpeg_encoder::ColorType::Luma
        } else {
            jpeg_encoder::ColorType::Rgb
        };
        enc.encode(bytes, w16, h16, ct)
            .map_err(|e| ActionError::Malformed(format!("JPEG encoder: {e}")))?;
        return Ok(buf);
    }
    let mut buf = Vec::new();
    let ct = if gray {
        image::ExtendedColorType::L8
    } else {
        image::ExtendedColorType::Rgb8
    };
    JpegEncoder::new_with_quality(&mut buf, quality).encode(bytes, w, h, ct)?;
    Ok(buf)
}

/// The page image for the item PDF: downsampled to about `dpi` and JPEG-compressed; bitonal pages as
/// 1-bit Flate images at full resolution.
pub(crate) fn page_image(
    r: &Raster,
    src_dpi: f64,
    dpi: u32,
    quality: u8,
) -> Result<PageImage, ActionError> {
    let (w, h) = (r.pixels.width(), r.pixels.height());
    if r.bitonal {
        let g = r
            .pixels
            .as_luma8()
            .map(|g| g.as_raw().as_slice())
            .unwrap_or_default();
        let packed = pack_bits(g, w as usize, h as usize);
        let mut z = Vec::new();
        Deflate::default().write_to(&mut z, &packed)?;
        return Ok(PageImage::Bilevel {
            data: z,
            width: w,
            height: h,
        });
    }
    let gray = matches!(
        r.pixels.color(),
        image::ColorType::L8
            | image::ColorType::La8
            | image::ColorType::L16
            | image::ColorType::La16
    );
    let px: Cow<'_, [u8]> = match (&r.pixels, gray) {
        (DynamicImage::ImageLuma8(g), _) => Cow::Borrowed(g.as_raw()),
        (DynamicImage::ImageRgb8(g), _) => Cow::Borrowed(g.as_raw()),
        (img, true) => Cow::Owned(img.to_luma8().into_raw()),
        (img, false) => Cow::Owned(img.to_rgb8().into_raw()),
    };
    let c = if gray { 1 } else { 3 };
    let factor = src_dpi / f64::from(dpi);
    let (data, ow, oh) = if factor <= 1.0 + 1e-6 {
        (px, w as usize, h as usize)
    } else if (factor - factor.round()).abs() < 0.05 {
        // 300 → 150 dpi, 600 → 200 dpi …: a box filter is exact and fast.
        let (d, ow, oh) = box_down(&px, w as usize, h as usize, c, factor.round() as usize);
        (Cow::Owned(d), ow, oh)
    } else {
        let nw = ((f64::from(w) / factor).round() as u32).max(1);
        let nh = ((f64::from(h) / factor).round() as u32).max(1);
        let img = if gray {
            DynamicImage::ImageLuma8(
                image::GrayImage::from_raw(w, h, px.into_owned())
                    .ok_or_else(|| ActionError::Malformed("pixel buffer size".into()))?,
            )
        } else {
            DynamicImage::ImageRgb8(
                image::RgbImage::from_raw(w, h, px.into_owned())
                    .ok_or_else(|| ActionError::Malformed("pixel buffer size".into()))?,
            )
        };
        let s = img.resize_exact(nw, nh, image::imageops::FilterType::Triangle);
        (Cow::Owned(s.into_bytes()), nw as usize, nh as usize)
    };
    let jpeg = jpeg(&data, ow as u32, oh as u32, gray, quality);
    if let Cow::Owned(d) = data {
        crate::buffers::give(d);
    }
    let data = jpeg?;
    Ok(PageImage::Jpeg {
        data,
        width: ow as u32,
        height: oh as u32,
        components: c as u8,
        icc: r.icc.clone(),
    })
}

/// A photo access copy: EXIF orientation applied, at most `max_px` on the long side, JPEG.
pub(crate) fn photo_jpeg(
    img: &DynamicImage,
    max_px: u32,
    quality: u8,
) -> Result<Vec<u8>, ActionError> {
    let scaled;
    let img = if img.width().max(img.height()) > max_px {
        scaled = img.resize(max_px, max_px, image::imageops::FilterType::Triangle);
        &scaled
    } else {
        img
    };
    let gray = matches!(
        img.color(),
        image::ColorType::L8
            | image::ColorType::La8
            | image::ColorType::L16
            | image::ColorType::La16
    );
    if gray {
        let g = img.to_luma8();
        jpeg(g.as_raw(), g.width(), g.height(), true, quality)
    } else {
        let g = img.to_rgb8();
        jpeg(g.as_raw(), g.width(), g.height(), false, quality)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The box filter equals its definition (each block's mean, half up) for ragged edges, gray and RGB.
    #[test]
    fn box_filter_equals_block_means() {
        let cases = [
            (7, 5, 3, 2, 0),
            (9, 4, 1, 3, 0),
            (1, 1, 3, 2, 0),
            (4, 8, 3, 4, 0),
            (5, 3, 1, 1, 0),
            (0, 3, 3, 2, 0),
            (4, 0, 1, 2, 0),
            // Every shape `blocks_across` is specialised for, and one it is not.
            (11, 7, 3, 3, 0),
            (10, 6, 1, 2, 0),
            (13, 9, 1, 4, 0),
            (16, 11, 3, 5, 0),
        ];
        // All 255 and all 254 near the multiply's bound (blocks of 63×63 and 64×64 samples).
        let bounds = [
            (130, 70, 1, 63, 255),
            (130, 70, 1, 64, 255),
            (127, 64, 3, 63, 254),
        ];
        for (w, h, c, k, fill) in cases.into_iter().chain(bounds) {
            let src: Vec<u8> = (0..w * h * c)
                .map(|i| {
                    if fill > 0 {
                        fill as u8
                    } else {
                        (i * 37 % 251) as u8
                    }
                })
                .collect();
            let (d, ow, oh) = box_down(&src, w, h, c, k);
            assert_eq!((ow, oh), (w.div_ceil(k), h.div_ceil(k)));
            for oy in 0..oh {
                for ox in 0..ow {
                    for ch in 0..c {
                        let (mut s, mut n) = (0u32, 0u32);
                        for y in oy * k..((oy + 1) * k).min(h) {
                            for x in ox * k..((ox + 1) * k).min(w) {
                                s += u32::from(src[(y * w + x) * c + ch]);
                                n += 1;
                            }
                        }
                        assert_eq!(u32::from(d[(oy * ow + ox) * c + ch]), (s + n / 2) / n);
                    }
                }
            }
        }
    }

    #[test]
    fn box_filter_averages_blocks() {
        let src = [0u8, 255, 10, 20, 0, 255, 30, 40];
        let (d, w, h) = box_down(&src, 4, 2, 1, 2);
        assert_eq!((w, h), (2, 1));
        assert_eq!(d, vec![128, 25]);
    }

    #[test]
    fn lzw_masters_decode_to_the_same_pixels() {
        // Noise (table resets), a flat area (long strings) and odd sizes, read back by the tiff crate.
        let (w, h) = (301u32, 257u32);
        let mut px = Vec::with_capacity((w * h * 3) as usize);
        let mut x: u32 = 12345;
        for i in 0..w * h * 3 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            px.push(if i < w * 90 { 200 } else { (x >> 16) as u8 });
        }
        let img = image::RgbImage::from_raw(w, h, px.clone()).unwrap();
        for predictor in [false, true] {
            let r = Raster {
                pixels: DynamicImage::ImageRgb8(img.clone()),
                dpi: Some((300.0, 300.0)),
                colour: crate::raster::ColourMode::Colour,
                icc: None,
                bitonal: false,
                orientation: Orientation::NoTransforms,
            };
            let mut buf = std::io::Cursor::new(Vec::new());
            let p = TiffParams {
                compression: TiffCompression::Lzw,
                predictor,
                level: DeflateLevel::Fast,
            };
            write_tiff(&mut buf, &r, p).unwrap();
            // The in-memory master (pack) is the same file as the one written through a writer.
            assert!(tiff_bytes(&r, p).unwrap() == *buf.get_ref());
            let mut d =
                tiff::decoder::Decoder::new(std::io::Cursor::new(buf.into_inner())).unwrap();
            match d.read_image().unwrap() {
                tiff::decoder::DecodingResult::U8(v) => assert!(v == px, "predictor {predictor}"),
                _ => panic!("not 8-bit"),
            }
        }
    }

    #[test]
    fn a_master_of_an_image_without_pixels_is_made_without_panic() {
        // 0×N and N×0: a zero strip height or a zero chunk size would panic in the strip split.
        for (w, h) in [(0u32, 5u32), (5, 0), (0, 0)] {
            let r = Raster {
                pixels: DynamicImage::ImageRgb8(image::RgbImage::new(w, h)),
                dpi: None,
                colour: crate::raster::ColourMode::Colour,
                icc: None,
                bitonal: false,
                orientation: Orientation::NoTransforms,
            };
            let p = TiffParams {
                compression: TiffCompression::Lzw,
                predictor: true,
                level: DeflateLevel::Fast,
            };
            let bytes = tiff_bytes(&r, p).unwrap();
            assert!(bytes.starts_with(b"II*\0"), "{w}x{h}");
        }
    }

    #[test]
    fn predictor_in_one_pass_equals_in_place() {
        let row: Vec<u8> = (0..97u32).map(|i| (i * 37 % 251) as u8).collect();
        for (bits, spp) in [(8u16, 1usize), (8, 3), (8, 4), (16, 3)] {
            let mut expected = row.clone();
            predict(&mut expected, bits, spp);
            let mut out = vec![0u8; row.len()];
            predict_into(&mut out, &row, bits, spp);
            assert_eq!(out, expected, "{bits} bits, {spp} samples");
        }
        let mut out = vec![0u8; 2];
        predict_into(&mut out, &[5, 9], 8, 3);
        assert_eq!(out, vec![5, 9]);
    }

    #[test]
    fn predictor_differences_samples() {
        let mut row = vec![10u8, 20, 30, 12, 22, 33];
        predict(&mut row, 8, 3);
        assert_eq!(row, vec![10, 20, 30, 2, 2, 3]);
    }
}
