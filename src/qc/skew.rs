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

/// Ink pixels of one row at `x0`, `x0 + step`, … (`len` of them): a stroke of the page, or every k-th
/// ink pixel of it when the page is thinned.
#[derive(Clone, Copy)]
struct Run {
    y: f32,
    x0: u32,
    step: u32,
    len: u32,
}

/// The projection profile's sum of squares at `angle_deg`. Each ink pixel (x, y) votes for the bin
/// ⌊y + x·tanθ + offset⌋ (negative values in bin 0, values past the end dropped). Along a run that value
/// is monotone in x — every step of its f32 evaluation is a correctly rounded monotone operation — so a
/// run is cut into stretches of one bin: where a stretch ends is estimated from the line's equation and
/// confirmed by evaluating the pixels on both sides of it. The same counts as one evaluation per pixel
/// (the definition, tested), in about two per bin a run crosses.
fn score(runs: &[Run], angle_deg: f64, bins: &mut [u32], offset: f32) -> f64 {
    let t = angle_deg.to_radians().tan() as f32;
    bins.iter_mut().for_each(|b| *b = 0);
    let mut add = |b: usize, n: u32| {
        if let Some(slot) = bins.get_mut(b) {
            *slot += n;
        }
    };
    for r in runs {
        // Content rotated counter-clockwise by θ has lines y = c − x·tanθ, so y + x·tanθ is constant.
        let bin = |i: u32| (r.y + (r.x0 + i * r.step) as f32 * t + offset) as usize;
        let last = bin(r.len - 1);
        let (mut i, mut b) = (0, bin(0));
        // Where the value reaches v, from the line's equation in f64: only a guess, confirmed below.
        let base = f64::from(r.y) + f64::from(offset) + f64::from(r.x0) * f64::from(t);
        let per_pixel = 1.0 / (f64::from(t) * f64::from(r.step));
        while b != last {
            // The value at which the bin changes (up: b + 1; down: below b), and the pixel there.
            let v = if last > b { b + 1 } else { b } as f64;
            // Saturating: a guess before the stretch starts at its start, past the run at its end.
            let guess = (((v - base) * per_pixel) as u32).saturating_add(1);
            let j = stretch_end(|j| bin(j) == b, i, r.len, guess);
            if j >= r.len {
                break; // not reached: the last pixel's bin differs (a guard for the evaluation below)
            }
            add(b, j - i);
            (i, b) = (j, bin(j));
        }
        add(b, r.len - i);
    }
    bins.iter().map(|&c| f64::from(c) * f64::from(c)).sum()
}

/// The first `j` in `lo + 1 ..= hi` where `same(j)` no longer holds (`hi` when it holds to the end),
/// given that it holds on a prefix from `lo`: from `guess`, a few steps either way, else by bisection.
fn stretch_end(same: impl Fn(u32) -> bool, lo: u32, hi: u32, guess: u32) -> u32 {
    let mut g = guess.clamp(lo + 1, hi);
    for _ in 0..4 {
        let before = g == lo + 1 || same(g - 1);
        let here = g < hi && same(g);
        match (before, here) {
            (true, false) => return g,
            (false, _) => g -= 1,
            (true, true) => g += 1,
        }
    }
    let (mut a, mut z) = (lo + 1, hi);
    while a < z {
        let m = a + (z - a) / 2;
        if same(m) {
            a = m + 1;
        } else {
            z = m;
        }
    }
    a
}

/// The ink pixels (value <= `t`) inside `rect` as runs, coordinates relative to its corner; `None` when
/// there are fewer than 200.
fn ink_runs(small: &GrayImage, rect: (u32, u32, u32, u32), t: u8) -> Option<Vec<Run>> {
    let (x0, y0, x1, y1) = rect;
    // Otsu splits into values <= t and > t; a two-valued page gives t = 0, so compare with <=.
    let ink = |x: u32, y: u32| small.get_pixel(x, y).0[0] <= t;
    let total: usize = (y0..y1)
        .map(|y| (x0..x1).filter(|&x| ink(x, y)).count())
        .sum();
    if total < 200 {
        return None;
    }
    // Bound the work on very dark pages: every k-th ink pixel (counted across the page in reading
    // order) keeps the profile's shape.
    let k = if total > 400_000 {
        total / 400_000 + 1
    } else {
        1
    };
    Some(ink_runs_thinned(small, rect, t, k))
}

/// Every `k`-th ink pixel of `rect` in reading order, as runs (of step `k` along a stroke).
fn ink_runs_thinned(small: &GrayImage, rect: (u32, u32, u32, u32), t: u8, k: usize) -> Vec<Run> {
    let (x0, y0, x1, y1) = rect;
    let ink = |x: u32, y: u32| small.get_pixel(x, y).0[0] <= t;
    let k = k.max(1);
    let mut runs: Vec<Run> = Vec::new();
    let mut seen = 0usize;
    for y in y0..y1 {
        let mut open: Option<Run> = None;
        for x in x0..x1 {
            if !ink(x, y) {
                continue;
            }
            let kept = seen.is_multiple_of(k);
            seen += 1;
            if !kept {
                continue;
            }
            let x = x - x0;
            match open.as_mut() {
                // The next kept pixel of the same stroke is k further (the next pixel, unthinned).
                Some(r) if x == r.x0 + r.len * r.step => r.len += 1,
                _ => {
                    runs.extend(open.take());
                    open = Some(Run {
                        y: (y - y0) as f32,
                        x0: x,
                        step: k as u32,
                        len: 1,
                    });
                }
            }
        }
        runs.extend(open);
    }
    runs
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
    let runs = ink_runs(small, rect, t)?;
    let max = policy.max_search_degrees;
    let width = (x1 - x0) as f32;
    let offset = width * max.to_radians().tan() as f32 + 1.0;
    let mut bins = vec![0u32; ((y1 - y0) as f32 + 2.0 * offset) as usize + 2];

    let best_in = |from: f64, to: f64, step: f64, bins: &mut [u32]| {
        let mut best = (f64::MIN, 0.0);
        let n = ((to - from) / step).round() as i64;
        for i in 0..=n {
            let a = from + i as f64 * step;
            let s = score(&runs, a, bins, offset);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The profile from runs equals one vote per ink pixel (the definition), on a page of strokes,
    /// single dots and edges, unthinned and thinned, at angles of both signs and near the bins' ends.
    #[test]
    fn runs_vote_like_pixels() {
        let (w, h) = (301u32, 211u32);
        let mut x: u32 = 7;
        let img = GrayImage::from_fn(w, h, |px, py| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let stroke = (py % 9 < 3 && px % 50 < 41) || (x >> 16).is_multiple_of(23);
            image::Luma([if stroke { 10 } else { 240 }])
        });
        let rect = (3, 2, w - 4, h - 1);
        let points: Vec<(f32, f32)> = (rect.1..rect.3)
            .flat_map(|y| (rect.0..rect.2).map(move |x| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0[0] <= 100)
            .map(|(x, y)| ((x - rect.0) as f32, (y - rect.1) as f32))
            .collect();
        let runs = ink_runs(&img, rect, 100).expect("ink");
        let reference = |points: &[(f32, f32)], angle: f64, bins: &mut Vec<u32>, offset: f32| {
            let t = angle.to_radians().tan() as f32;
            bins.iter_mut().for_each(|b| *b = 0);
            for &(x, y) in points {
                if let Some(slot) = bins.get_mut((y + x * t + offset) as usize) {
                    *slot += 1;
                }
            }
        };
        let len = (rect.3 - rect.1) as usize + 10;
        for offset in [0.0f32, 6.5, 20.0] {
            for angle in [-8.0, -3.37, -0.02, 0.0, 0.01, 0.25, 2.9, 8.0] {
                let (mut want, mut got) = (vec![0u32; len], vec![0u32; len]);
                reference(&points, angle, &mut want, offset);
                let s = score(&runs, angle, &mut got, offset);
                assert_eq!(got, want, "angle {angle}, offset {offset}");
                let sq: f64 = want.iter().map(|&c| f64::from(c) * f64::from(c)).sum();
                assert_eq!(s, sq);
            }
        }
        // Thinned: every 3rd ink pixel in reading order, as runs of step 3.
        let thinned: Vec<(f32, f32)> = points.iter().copied().step_by(3).collect();
        let runs = ink_runs_thinned(&img, rect, 100, 3);
        for angle in [-5.0, 0.3, 7.5] {
            let (mut want, mut got) = (vec![0u32; len], vec![0u32; len]);
            reference(&thinned, angle, &mut want, 9.0);
            score(&runs, angle, &mut got, 9.0);
            assert_eq!(got, want, "thinned, angle {angle}");
        }
    }
}
