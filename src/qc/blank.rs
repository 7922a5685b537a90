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
    let (w, h) = (img.width() / f, img.height() / f);
    let mut out = GrayImage::new(w.max(1), h.max(1));
    let area = f * f;
    for oy in 0..h {
        for ox in 0..w {
            let mut sum = 0u32;
            for y in oy * f..(oy + 1) * f {
                for x in ox * f..(ox + 1) * f {
                    sum += u32::from(img.get_pixel(x, y).0[0]);
                }
            }
            out.put_pixel(ox, oy, image::Luma([(sum / area) as u8]));
        }
    }
    out
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
    let small = reduce(gray, policy.work_width);
    let (w, h) = small.dimensions();
    let rect = interior(w, h, policy.margin);
    let paper = percentile(&small, rect, 90);
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
