//! Skew estimation by projection profiles.
//!
//! Text lines are dark rows. Shearing the ink by the right angle lines them up with the pixel rows, and
//! then the horizontal projection profile is most peaked (largest sum of squares). We search a coarse grid
//! over ±max_search_degrees, then refine around the best angle; the page is first reduced to a working
//! width and its margins dropped so scanner borders and punched holes do not vote.

use image::GrayImage;

use super::SkewPolicy;
use super::blank::{interior, percentile, reduce};

/// Otsu's threshold of the pixels in a rectangle.
fn otsu(img: &GrayImage, rect: (u32, u32, u32, u32)) -> u8 {
    let (x0, y0, x1, y1) = rect;
    let mut hist = [0f64; 256];
    let mut n = 0f64;
    for y in y0..y1 {
        for x in x0..x1 {
            hist[usize::from(img.get_pixel(x, y).0[0])] += 1.0;
            n += 1.0;
        }
    }
    let sum: f64 = hist.iter().enumerate().map(|(i, c)| i as f64 * c).sum();
    let (mut w0, mut sum0, mut best, mut best_t) = (0.0, 0.0, -1.0, 128u8);
    for (t, &count) in hist.iter().enumerate() {
        w0 += count;
        if w0 == 0.0 {
            continue;
        }
        let w1 = n - w0;
        if w1 == 0.0 {
            break;
        }
        sum0 += t as f64 * count;
        let m0 = sum0 / w0;
        let m1 = (sum - sum0) / w1;
        let between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    best_t
}

fn score(points: &[(f32, f32)], angle_deg: f64, bins: &mut [u32], offset: f32) -> f64 {
    let t = angle_deg.to_radians().tan() as f32;
    bins.iter_mut().for_each(|b| *b = 0);
    // Points come row by row, so neighbours mostly fall in the same bin: count a run in a register and
    // add it once (incrementing the slot per point made each add wait for the previous one's store).
    // The bins of a chunk of points are computed first, in a loop the compiler vectorizes.
    let (mut run_bin, mut run) = (usize::MAX, 0u32);
    // Through i32 (a conversion with a vector instruction); negative values count in bin 0, as the
    // saturating conversion to usize always put them.
    let mut idx = [0i32; 256];
    for chunk in points.chunks(256) {
        for (i, &(x, y)) in idx.iter_mut().zip(chunk) {
            // Content rotated counter-clockwise by θ has lines y = c − x·tanθ, so y + x·tanθ is constant.
            *i = ((y + x * t + offset) as i32).max(0);
        }
        for &b in &idx[..chunk.len()] {
            let b = b as usize;
            if b != run_bin {
                if let Some(slot) = bins.get_mut(run_bin) {
                    *slot += run;
                }
                (run_bin, run) = (b, 0);
            }
            run += 1;
        }
    }
    if let Some(slot) = bins.get_mut(run_bin) {
        *slot += run;
    }
    bins.iter().map(|&c| f64::from(c) * f64::from(c)).sum()
}

/// Estimated skew in degrees (positive = content rotated counter-clockwise), or `None` when the page has
/// too little ink to measure.
pub fn estimate_skew(gray: &GrayImage, policy: &SkewPolicy) -> Option<f64> {
    estimate_skew_reduced(&reduce(gray, policy.work_width), policy)
}

/// [`estimate_skew`] of a page already reduced to `policy.work_width` (`blank::reduce_image`).
pub(crate) fn estimate_skew_reduced(small: &GrayImage, policy: &SkewPolicy) -> Option<f64> {
    let (w, h) = small.dimensions();
    let rect = interior(w, h, 0.05);
    let paper = percentile(small, rect, 90);
    let t = otsu(small, rect).min(paper.saturating_sub(40));
    let (x0, y0, x1, y1) = rect;
    let mut points = Vec::new();
    for y in y0..y1 {
        for x in x0..x1 {
            // Otsu splits into values <= t and > t; a two-valued page gives t = 0, so compare with <=.
            if small.get_pixel(x, y).0[0] <= t {
                points.push(((x - x0) as f32, (y - y0) as f32));
            }
        }
    }
    if points.len() < 200 {
        return None;
    }
    // Bound the work on very dark pages: every k-th ink pixel keeps the profile's shape.
    if points.len() > 400_000 {
        let k = points.len() / 400_000 + 1;
        points = points.into_iter().step_by(k).collect();
    }
    let max = policy.max_search_degrees;
    let width = (x1 - x0) as f32;
    let offset = width * max.to_radians().tan() as f32 + 1.0;
    let mut bins = vec![0u32; ((y1 - y0) as f32 + 2.0 * offset) as usize + 2];

    let best_in = |from: f64, to: f64, step: f64, bins: &mut [u32]| {
        let mut best = (f64::MIN, 0.0);
        let n = ((to - from) / step).round() as i64;
        for i in 0..=n {
            let a = from + i as f64 * step;
            let s = score(&points, a, bins, offset);
            // Thick strokes leave the profile flat over a small range of angles; among equal scores
            // take the angle nearest to level rather than the first one tried.
            if s > best.0 || (s == best.0 && a.abs() < f64::abs(best.1)) {
                best = (s, a);
            }
        }
        best.1
    };
    let coarse = best_in(-max, max, 0.25, &mut bins);
    let fine = best_in(coarse - 0.3, coarse + 0.3, 0.02, &mut bins);
    Some((fine * 100.0).round() / 100.0)
}
