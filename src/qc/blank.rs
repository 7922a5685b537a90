//! Ink measurement for blank-page detection.
//!
//! Scanner noise, dark scanner borders and punched holes must not make a blank page look written on, and
//! a page with one faint line must not look blank. So: average the page down (noise specks dissolve),
//! ignore a margin at each edge (borders and holes live there), compare each pixel with the paper's own
//! brightness rather than a fixed level (yellowed paper), and drop isolated ink pixels.

use image::GrayImage;

use super::BlankPolicy;

/// How much of a page's interior is ink.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InkStats {
    /// Share of interior pixels that are ink, 0–1.
    pub ink_fraction: f64,
    /// The paper's brightness (0–255), the 90th percentile of the interior.
    pub paper: u8,
}

/// Box-average `img` down by an integer factor so its width is at most `width`.
pub(crate) fn reduce(img: &GrayImage, width: u32) -> GrayImage {
    let f = img.width().div_ceil(width.max(1)).max(1);
    if f == 1 {
        return img.clone();
    }
    reduce_rows(img.width(), img.height(), f, |y, row| {
        let w = img.width() as usize;
        row.copy_from_slice(&img.as_raw()[y * w..(y + 1) * w]);
    })
}

/// [`reduce`] of the page's 8-bit luma ([`crate::raster::luma8`]) straight from its decoded pixels: an RGB
/// page is converted one row at a time into the block sums, so QC never holds (or walks pixel by pixel)
/// a full-size gray copy. The same numbers as `reduce(&luma8(img), width)`: the same integer luma of each
/// pixel, the same block sums.
pub(crate) fn reduce_image(img: &image::DynamicImage, width: u32) -> GrayImage {
    use image::DynamicImage as D;
    let (w, h) = (img.width(), img.height());
    let f = w.div_ceil(width.max(1)).max(1);
    match img {
        D::ImageLuma8(g) => reduce(g, width),
        D::ImageRgb8(rgb) if f > 1 => reduce_rows(w, h, f, |y, row| luma_row(rgb, y, row)),
        other => reduce(&crate::raster::luma8(other), width),
    }
}

/// Row `y` of an RGB page as 8-bit luma ([`crate::raster::luma_of_rgb`]).
fn luma_row(rgb: &image::RgbImage, y: usize, row: &mut [u8]) {
    let wu = rgb.width() as usize;
    let src = &rgb.as_raw()[y * wu * 3..(y + 1) * wu * 3];
    for (o, p) in row.iter_mut().zip(src.chunks_exact(3)) {
        *o = crate::raster::luma_of_rgb(p[0], p[1], p[2]);
    }
}

/// [`reduce_image`] to each of `widths` in one walk over the pixels (the blank check's and the skew
/// estimate's working images): each row is converted to luma once and fed to every reduction. The same
/// numbers as one [`reduce_image`] per width.
pub(crate) fn reduce_image_each<const N: usize>(
    img: &image::DynamicImage,
    widths: [u32; N],
) -> [GrayImage; N] {
    use image::DynamicImage as D;
    let (w, h) = (img.width(), img.height());
    let fs = widths.map(|x| w.div_ceil(x.max(1)).max(1));
    let reduced = fs.iter().all(|&f| f > 1);
    match img {
        D::ImageRgb8(rgb) if reduced => reduce_rows_each(w, h, fs, |y, row| luma_row(rgb, y, row)),
        D::ImageLuma8(g) if reduced => reduce_rows_each(w, h, fs, |y, row| {
            let wu = w as usize;
            row.copy_from_slice(&g.as_raw()[y * wu..(y + 1) * wu]);
        }),
        _ => widths.map(|x| reduce_image(img, x)),
    }
}

/// Box averages of `f`×`f` blocks over the whole blocks of a `w`×`h` image whose rows `row(y, buf)` fills
/// (ragged right and bottom edges dropped, as [`reduce`] always did).
fn reduce_rows(w: u32, h: u32, f: u32, row: impl FnMut(usize, &mut [u8])) -> GrayImage {
    let [out] = reduce_rows_each(w, h, [f], row);
    out
}

/// [`reduce_rows`] for each factor of `fs`, asking for each row once.
fn reduce_rows_each<const N: usize>(
    w: u32,
    h: u32,
    fs: [u32; N],
    mut row: impl FnMut(usize, &mut [u8]),
) -> [GrayImage; N] {
    /// One reduction: its factor, its whole blocks across and down, the column sums of the block row
    /// being filled (whole blocks only), and the image made.
    struct Acc {
        f: usize,
        bh: usize,
        ow: usize,
        area: u32,
        sums: Vec<u32>,
        out: GrayImage,
    }
    let mut accs = fs.map(|f| {
        let (ow, oh) = ((w / f).max(1), (h / f).max(1));
        // Only whole blocks count; an image narrower than one block leaves its one output pixel 0.
        Acc {
            f: f as usize,
            bh: (h / f) as usize,
            ow: ow as usize,
            area: f * f,
            sums: vec![0u32; ((w / f) * f) as usize],
            out: GrayImage::new(ow, oh),
        }
    });
    let rows = accs.iter().map(|a| a.bh * a.f).max().unwrap_or(0);
    let mut line = vec![0u8; w as usize];
    for y in 0..rows {
        row(y, &mut line);
        for a in accs.iter_mut().filter(|a| y < a.bh * a.f) {
            // Column sums first (a loop the compiler vectorizes), blocks only once per block row.
            for (s, &v) in a.sums.iter_mut().zip(&line) {
                *s += u32::from(v);
            }
            if (y + 1) % a.f == 0 {
                let oy = y / a.f;
                let raw: &mut [u8] = &mut a.out;
                for (o, block) in raw[oy * a.ow..]
                    .iter_mut()
                    .zip(a.sums.chunks_exact(a.f))
                    .take(a.ow)
                {
                    *o = (block.iter().sum::<u32>() / a.area) as u8;
                }
                a.sums.fill(0);
            }
        }
    }
    accs.map(|a| a.out)
}

/// The interior rectangle `(x0, y0, x1, y1)` after removing `margin` of each dimension at each edge.
pub(crate) fn interior(w: u32, h: u32, margin: f64) -> (u32, u32, u32, u32) {
    let mx = (f64::from(w) * margin) as u32;
    let my = (f64::from(h) * margin) as u32;
    (
        mx,
        my,
        w.saturating_sub(mx).max(mx + 1),
        h.saturating_sub(my).max(my + 1),
    )
}

/// Percentile (0–100) of the pixel values in a rectangle.
pub(crate) fn percentile(img: &GrayImage, rect: (u32, u32, u32, u32), pct: u32) -> u8 {
    let (x0, y0, x1, y1) = rect;
    let mut hist = [0u64; 256];
    let mut n = 0u64;
    for y in y0..y1.min(img.height()) {
        for x in x0..x1.min(img.width()) {
            hist[usize::from(img.get_pixel(x, y).0[0])] += 1;
            n += 1;
        }
    }
    let target = n * u64::from(pct) / 100;
    let mut acc = 0;
    for (v, c) in hist.iter().enumerate() {
        acc += c;
        if acc > target {
            return v as u8;
        }
    }
    255
}

/// Measure the ink on a page.
pub fn ink_stats(gray: &GrayImage, policy: &BlankPolicy) -> InkStats {
    ink_stats_reduced(&reduce(gray, policy.work_width), policy)
}

/// [`ink_stats`] of a page already reduced to `policy.work_width` ([`reduce`], [`reduce_image`]).
pub(crate) fn ink_stats_reduced(small: &GrayImage, policy: &BlankPolicy) -> InkStats {
    let (w, h) = small.dimensions();
    let rect = interior(w, h, policy.margin);
    let paper = percentile(small, rect, 90);
    let threshold = paper.saturating_sub(policy.ink_contrast);
    let (x0, y0, x1, y1) = rect;
    let is_ink = |x: u32, y: u32| small.get_pixel(x, y).0[0] < threshold;
    let mut ink = 0u64;
    let mut total = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            total += 1;
            if !is_ink(x, y) {
                continue;
            }
            // An ink pixel with no ink neighbour is a speck of noise, not writing.
            let mut neighbour = false;
            'n: for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    if dx == 0 && dy == 0 {
                        continue;
                    }
                    let (nx, ny) = (i64::from(x) + dx, i64::from(y) + dy);
                    if nx >= 0
                        && ny >= 0
                        && (nx as u32) < w
                        && (ny as u32) < h
                        && is_ink(nx as u32, ny as u32)
                    {
                        neighbour = true;
                        break 'n;
                    }
                }
            }
            if neighbour {
                ink += 1;
            }
        }
    }
    InkStats {
        ink_fraction: if total == 0 {
            0.0
        } else {
            ink as f64 / total as f64
        },
        paper,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pixel-by-pixel reduction the fused one replaced: the reference its results must equal.
    fn reduce_reference(img: &GrayImage, width: u32) -> GrayImage {
        let f = img.width().div_ceil(width.max(1)).max(1);
        if f == 1 {
            return img.clone();
        }
        let (w, h) = (img.width() / f, img.height() / f);
        let mut out = GrayImage::new(w.max(1), h.max(1));
        for oy in 0..h {
            for ox in 0..w {
                let mut sum = 0u32;
                for y in oy * f..(oy + 1) * f {
                    for x in ox * f..(ox + 1) * f {
                        sum += u32::from(img.get_pixel(x, y).0[0]);
                    }
                }
                out.put_pixel(ox, oy, image::Luma([(sum / (f * f)) as u8]));
            }
        }
        out
    }

    #[test]
    fn fused_reduction_equals_luma_then_reduce() {
        let mut x: u32 = 7;
        for (w, h) in [(61u32, 47u32), (2480 / 8, 3508 / 8), (5, 3), (1, 1)] {
            let px: Vec<u8> = (0..w * h * 3)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (x >> 16) as u8
                })
                .collect();
            let rgb = image::DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, px).unwrap());
            let gray = crate::raster::luma8(&rgb);
            for width in [1u32, 4, 20, 600, 1200] {
                let expected = reduce_reference(&gray, width);
                assert_eq!(reduce(&gray, width), expected, "{w}x{h} gray to {width}");
                assert_eq!(
                    reduce_image(&rgb, width),
                    expected,
                    "{w}x{h} RGB to {width}"
                );
                let luma = image::DynamicImage::ImageLuma8(gray.clone());
                assert_eq!(
                    reduce_image(&luma, width),
                    expected,
                    "{w}x{h} luma to {width}"
                );
                // One walk for two widths (QC's blank and skew images) gives the same two images.
                for other in [3u32, 600, 1200] {
                    let both = [expected.clone(), reduce_reference(&gray, other)];
                    assert_eq!(
                        reduce_image_each(&rgb, [width, other]),
                        both,
                        "{w}x{h} RGB to {width} and {other}"
                    );
                    assert_eq!(
                        reduce_image_each(&luma, [width, other]),
                        both,
                        "{w}x{h} luma to {width} and {other}"
                    );
                }
            }
        }
    }
}
