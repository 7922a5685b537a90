//! The pre-test that picks, for one file, the few signatures worth matching.
//!
//! Every signature gets the cheapest necessary condition its sequences offer (any one sequence's condition
//! will do: all sequences must match). From cheapest to dearest:
//!
//! 1. **a byte at a fixed offset** of the head (a BOF sequence) or of the reversed tail (an EOF sequence): one
//!    table look-up per distinct offset and file, whatever the number of signatures;
//! 2. **a literal within a bounded offset range** near the beginning or the end of the file: one Aho-Corasick
//!    scan of only as many bytes as the widest such range needs (a few KiB, not the whole window);
//! 3. **a literal after an unbounded gap** of a BOF or EOF sequence: a scan of that whole window only;
//! 4. **a literal of a variable sequence**: a scan of both windows.
//!
//! Signatures without any such condition are tried on every file. The pre-test only ever admits a superset of
//! the signatures that match (the matcher decides, and records the basis), so verdicts do not depend on it;
//! `tests::indexes_lose_no_match` checks that against trying every signature.

use std::collections::HashMap;

use super::pattern::{self, Elem};
use super::{Anchor, Data, Sequence, SignatureError, WINDOW, xml_err};

/// The shortest literal worth scanning for (one-byte literals occur in almost every file).
const MIN_LITERAL: usize = 2;

/// The most literals one scan holds: past 64, Aho-Corasick has no SIMD (Teddy) prefilter and steps through
/// every byte of the window (aho-corasick 1.1, `packed::teddy::builder`), so the literals of one region are
/// spread over as many scans as it takes; several SIMD scans of a window cost less than one byte-stepping scan.
const SCAN_LITERALS: usize = 64;

/// A condition with more alternatives than this gets a scan of its own: its literals (BibTeX's ~40 entry types
/// after `@`) usually share their first bytes, which the scan can jump to, and would crowd the others' scan.
const WIDE_CONDITION: usize = 16;

/// Bounded ranges whose scan would reach further than this are scanned with the whole window instead (one scan
/// of a window is cheaper than two).
const NEAR_LIMIT: usize = 16 * 1024;

/// Which end of the file a condition looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Side {
    /// The head, counted from the first byte.
    Head,
    /// The reversed tail, counted from the last byte.
    Tail,
}

/// A necessary condition of one sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cond {
    /// The byte at `at` is one of `set`.
    Byte { side: Side, at: usize, set: Vec<u8> },
    /// One of `lits` (as they appear in the pattern: reversed on the tail side) starts at an offset in
    /// `lo..=hi` (`hi: None`: anywhere from `lo` to the end of the window); `side: None` for a variable
    /// sequence (the head or the tail, anywhere).
    Lits {
        side: Option<Side>,
        lo: usize,
        hi: Option<usize>,
        lits: Vec<Vec<u8>>,
    },
}

/// How a byte is likely to occur in files (0x00 pads nearly every binary file): lower is rarer.
fn commonness(b: u8) -> usize {
    match b {
        0x00 => 16,
        0xFF => 8,
        0x20 | 0x0A | 0x0D | 0x01 => 4,
        _ => 1,
    }
}

/// The length range of a match of `elems` (`None`: unbounded).
fn len_range(elems: &[Elem]) -> (usize, Option<usize>) {
    let (mut lo, mut hi) = (0usize, Some(0usize));
    for e in elems {
        let (a, b) = elem_len(e);
        lo = lo.saturating_add(a);
        hi = match (hi, b) {
            (Some(h), Some(b)) => h.checked_add(b),
            _ => None,
        };
    }
    (lo, hi)
}

fn elem_len(e: &Elem) -> (usize, Option<usize>) {
    match e {
        Elem::Lit(b) => (b.len(), Some(b.len())),
        Elem::Class { items, .. } => {
            let w = pattern::class_width(items);
            (w, Some(w))
        }
        Elem::Gap { min, max } => (*min, *max),
        Elem::Alt(alts) => {
            let ranges: Vec<_> = alts.iter().map(|a| len_range(a)).collect();
            let lo = ranges.iter().map(|r| r.0).min().unwrap_or(0);
            let hi = ranges.iter().try_fold(0usize, |m, r| r.1.map(|h| m.max(h)));
            (lo, hi)
        }
    }
}

/// The longest literal of `elems` at the top level, with the offset range it starts at (relative).
fn longest_lit(elems: &[Elem]) -> Option<(&[u8], usize, Option<usize>)> {
    let (mut lo, mut hi) = (0usize, Some(0usize));
    let mut best: Option<(&[u8], usize, Option<usize>)> = None;
    for e in elems {
        if let Elem::Lit(b) = e
            && best.is_none_or(|x| b.len() > x.0.len())
        {
            best = Some((b, lo, hi));
        }
        let (a, z) = elem_len(e);
        lo = lo.saturating_add(a);
        hi = match (hi, z) {
            (Some(h), Some(z)) => h.checked_add(z),
            _ => None,
        };
    }
    best
}

/// The first element of `elems` that is not an empty gap (a fragment at offset 0 starts with one).
fn leading(elems: &[Elem]) -> Option<&Elem> {
    elems.iter().find(|e| {
        !matches!(
            e,
            Elem::Gap {
                min: 0,
                max: Some(0)
            }
        )
    })
}

/// A run of one byte value (00 00, FF FF FF) occurs in the padding of nearly every binary file: scanning for it
/// would admit the signature almost always.
fn worth_scanning(l: &[u8]) -> bool {
    l.len() >= MIN_LITERAL && l.iter().any(|&b| b != l[0])
}

/// All the necessary conditions a sequence offers.
pub(crate) fn conditions(s: &Sequence) -> Vec<Cond> {
    let side = match s.anchor {
        Anchor::Bof => Some(Side::Head),
        Anchor::Eof => Some(Side::Tail),
        Anchor::Variable => None,
    };
    let mut out = Vec::new();
    let (mut lo, mut hi) = (0usize, Some(0usize));
    for (i, e) in s.pattern.iter().enumerate() {
        // A fixed offset: a byte test.
        if let (Some(side), Some(h)) = (side, hi)
            && h == lo
        {
            if let Elem::Lit(b) = e {
                // The rarest byte of the literal.
                if let Some((k, &v)) = b.iter().enumerate().min_by_key(|(_, v)| commonness(**v)) {
                    out.push(Cond::Byte {
                        side,
                        at: lo + k,
                        set: vec![v],
                    });
                }
            } else if !matches!(e, Elem::Gap { .. })
                && let Some(set) = pattern::first_bytes(&s.pattern[i..])
            {
                out.push(Cond::Byte { side, at: lo, set });
            }
        }
        match e {
            Elem::Lit(b) if worth_scanning(b) => out.push(Cond::Lits {
                side,
                lo,
                hi: hi.filter(|_| side.is_some()),
                lits: vec![b.clone()],
            }),
            Elem::Alt(alts) => {
                // The literal right before the alternatives (BibTeX's `@` before `ARTICLE|Book|…`, too short
                // to scan for on its own) is joined to each alternative's leading literal: the literals
                // scanned for are longer and share their first byte, so the scan can jump from one `@` to
                // the next instead of stepping through every byte of the window.
                let before = match i.checked_sub(1).map(|j| &s.pattern[j]) {
                    Some(Elem::Lit(p)) => p.as_slice(),
                    _ => &[],
                };
                // Each alternative's literal: (bytes, how far before the alternative it starts when
                // joined, its offset range within the alternative).
                type Chosen = (Vec<u8>, usize, usize, Option<usize>);
                let chosen: Option<Vec<Chosen>> = alts
                    .iter()
                    .map(|a| match leading(a) {
                        Some(Elem::Lit(x)) if !before.is_empty() => {
                            Some(([before, x.as_slice()].concat(), before.len(), 0, Some(0)))
                        }
                        _ => longest_lit(a)
                            .filter(|l| worth_scanning(l.0))
                            .map(|(l, a, z)| (l.to_vec(), 0, a, z)),
                    })
                    .collect();
                if let Some(chosen) = chosen
                    && !chosen.is_empty()
                {
                    // `before` is a fixed-length literal right before the alternatives: `lo` and `hi` are
                    // at least its length, so the joined literals' offsets do not underflow.
                    let c_lo = chosen
                        .iter()
                        .map(|c| lo.saturating_add(c.2).saturating_sub(c.1))
                        .min()
                        .unwrap_or(lo);
                    let c_hi = chosen.iter().try_fold(0usize, |m, c| {
                        let h = hi?.checked_add(c.3?)?.saturating_sub(c.1);
                        Some(m.max(h))
                    });
                    let mut lits: Vec<Vec<u8>> = chosen.into_iter().map(|c| c.0).collect();
                    lits.sort_unstable();
                    lits.dedup();
                    out.push(Cond::Lits {
                        side,
                        lo: c_lo,
                        hi: c_hi.filter(|_| side.is_some()),
                        lits,
                    });
                }
            }
            _ => {}
        }
        let (a, z) = elem_len(e);
        lo = lo.saturating_add(a);
        hi = match (hi, z) {
            (Some(h), Some(z)) => h.checked_add(z),
            _ => None,
        };
    }
    out
}

/// The conditions of one signature: those of all its sequences.
pub(crate) fn signature_conditions(seqs: &[Sequence]) -> Vec<Cond> {
    seqs.iter().flat_map(conditions).collect()
}

/// The tier a condition falls in (see the module comment), then how many bytes it makes the scan read.
fn cost(c: &Cond, uses: &HashMap<&[u8], usize>) -> (usize, usize, usize) {
    match c {
        Cond::Byte { set, .. } => (0, set.iter().map(|b| commonness(*b)).sum(), 0),
        Cond::Lits { side, lits, .. } => {
            let shared: usize = lits
                .iter()
                .map(|l| uses.get(l.as_slice()).copied().unwrap_or(0))
                .sum();
            let tier = match (side, extent(c)) {
                (Some(_), Some(_)) => 1,
                (Some(_), None) => 2,
                (None, _) => 3,
            };
            (
                tier,
                shared,
                usize::MAX - lits.iter().map(Vec::len).min().unwrap_or(0),
            )
        }
    }
}

/// How many bytes from its end of the file a bounded literal condition needs scanned, if bounded and near.
fn extent(c: &Cond) -> Option<usize> {
    match c {
        Cond::Lits {
            side: Some(_),
            hi: Some(h),
            lits,
            ..
        } => {
            let e = h.checked_add(lits.iter().map(Vec::len).max().unwrap_or(0))?;
            (e <= NEAR_LIMIT).then_some(e)
        }
        _ => None,
    }
}

/// An Aho-Corasick scan of the first `extent` bytes of one side (or of the whole window).
///
/// Which literals occur, not where: a leftmost-longest search (which can use a SIMD prefilter, unlike an
/// overlapping one) restarted one byte after the start of each match visits every offset where some literal
/// starts, and the literal reported there is the longest of those starting there; the others starting there
/// are its prefixes, marked with it ([`Scan::prefixes`]).
#[derive(Debug)]
struct Scan {
    region: Region,
    searcher: aho_corasick::AhoCorasick,
    /// For each pattern id, the signatures that need it (or one of its siblings).
    signatures: Vec<Vec<u32>>,
    /// For each pattern id, the ids of the patterns that are prefixes of it (itself included).
    prefixes: Vec<Vec<usize>>,
    extent: usize,
    /// The length of the longest literal.
    max_len: usize,
}

impl Scan {
    /// Add the signatures of every literal that occurs in `buf` to `out`.
    fn run(&self, buf: &[u8], out: &mut Vec<u32>) {
        let mut found = vec![false; self.signatures.len()];
        let mut at = 0;
        while at < buf.len() {
            let input = aho_corasick::Input::new(buf).span(at..buf.len());
            let Some(m) = self.searcher.find(input) else {
                break;
            };
            for &id in &self.prefixes[m.pattern().as_usize()] {
                if !found[id] {
                    found[id] = true;
                    out.extend_from_slice(&self.signatures[id]);
                }
            }
            at = m.start() + 1;
        }
    }
}

/// Which bytes of a file a scan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Region {
    /// The first `extent` bytes of the head.
    HeadNear,
    /// The whole head window.
    HeadFar,
    /// The first `extent` bytes of the reversed tail.
    TailNear,
    /// The whole reversed tail window.
    TailFar,
    /// The part of the tail that the head does not hold, forwards (variable sequences).
    TailVar,
}

impl Region {
    fn is_head(self) -> bool {
        matches!(self, Region::HeadNear | Region::HeadFar)
    }
}

/// The scans of each region being put together: a condition's literals all go into one scan, the
/// [`WIDE_CONDITION`]s each into one of their own, the others together up to [`SCAN_LITERALS`].
#[derive(Debug, Default)]
struct Scans {
    building: Vec<(Region, bool, ScanBuilder)>,
}

impl Scans {
    fn add(&mut self, region: Region, sig: u32, lits: &[Vec<u8>], extent: usize) {
        let wide = lits.len() > WIDE_CONDITION;
        let fits = |b: &ScanBuilder| {
            b.ids.len() + lits.iter().filter(|l| !b.ids.contains_key(*l)).count() <= SCAN_LITERALS
        };
        let i = match self
            .building
            .iter()
            .position(|(r, w, b)| *r == region && !wide && !*w && fits(b))
        {
            Some(i) => i,
            None => {
                self.building.push((region, wide, ScanBuilder::default()));
                self.building.len() - 1
            }
        };
        self.building[i].2.add(sig, lits, extent);
    }

    fn literals(&self, which: impl Fn(Region) -> bool) -> usize {
        self.building
            .iter()
            .filter(|(r, ..)| which(*r))
            .map(|(.., b)| b.ids.len())
            .sum()
    }

    fn extent(&self, region: Region) -> usize {
        self.building
            .iter()
            .filter(|(r, ..)| *r == region)
            .map(|(.., b)| b.extent)
            .max()
            .unwrap_or(0)
    }

    /// Build the scans: those of the head on a second thread, those of the tail on this one.
    fn build(self) -> Result<Vec<Scan>, SignatureError> {
        let (head, tail): (Vec<_>, Vec<_>) =
            self.building.into_iter().partition(|(r, ..)| r.is_head());
        let build = |part: Vec<(Region, bool, ScanBuilder)>| {
            part.into_iter()
                .filter_map(|(r, _, b)| b.build(r).transpose())
                .collect::<Result<Vec<_>, _>>()
        };
        let (tail, head) = super::side_by_side(
            || build(tail),
            || build(head),
            || xml_err("prefilter build failed"),
        );
        let mut scans = head?;
        scans.extend(tail?);
        Ok(scans)
    }
}

#[derive(Debug, Default)]
struct ScanBuilder {
    ids: HashMap<Vec<u8>, usize>,
    signatures: Vec<Vec<u32>>,
    extent: usize,
}

impl ScanBuilder {
    fn add(&mut self, sig: u32, lits: &[Vec<u8>], extent: usize) {
        self.extent = self.extent.max(extent);
        for lit in lits {
            let next = self.ids.len();
            let id = *self.ids.entry(lit.clone()).or_insert(next);
            if id == self.signatures.len() {
                self.signatures.push(Vec::new());
            }
            if self.signatures[id].last() != Some(&sig) {
                self.signatures[id].push(sig);
            }
        }
    }

    fn build(self, region: Region) -> Result<Option<Scan>, SignatureError> {
        if self.ids.is_empty() {
            return Ok(None);
        }
        let prefixes = {
            let mut p: Vec<Vec<usize>> = vec![Vec::new(); self.ids.len()];
            for (lit, &id) in &self.ids {
                for n in 1..=lit.len() {
                    if let Some(&q) = self.ids.get(&lit[..n]) {
                        p[id].push(q);
                    }
                }
            }
            p
        };
        let mut patterns = vec![Vec::new(); self.ids.len()];
        for (lit, id) in self.ids {
            patterns[id] = lit;
        }
        let max_len = patterns.iter().map(Vec::len).max().unwrap_or(0);
        let searcher = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(&patterns)
            .map_err(xml_err)?;
        Ok(Some(Scan {
            region,
            searcher,
            signatures: self.signatures,
            prefixes,
            extent: self.extent,
            max_len,
        }))
    }
}

/// The byte tests at one fixed offset of one side: for each byte value, the signatures it admits.
#[derive(Debug)]
struct ByteTable {
    side: Side,
    at: usize,
    by_value: Vec<Vec<u32>>,
}

/// The pre-test of a whole signature file.
#[derive(Debug)]
pub(crate) struct Prefilter {
    tables: Vec<ByteTable>,
    /// Scans of the head and of the reversed tail: near (bounded) and far (whole window); the literals of
    /// variable sequences for the part of the tail that the head does not hold (none of a file that fits in
    /// the head).
    scans: Vec<Scan>,
    /// Signatures without a condition: tried on every file.
    always: Vec<u32>,
}

/// What the pre-test of a signature file looks like (for tests and the benchmark notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrefilterStats {
    pub byte_tests: usize,
    pub byte_offsets: usize,
    pub near: usize,
    pub head_near_extent: usize,
    pub tail_near_extent: usize,
    pub far_one_side: usize,
    pub far_both: usize,
    pub far_literals: usize,
    /// How many Aho-Corasick scans the literals are spread over.
    pub scans: usize,
    pub always: usize,
}

impl Prefilter {
    /// Choose a condition for every signature (`all[i]` = the conditions of signature `i`,
    /// [`signature_conditions`], which the caller may compute in parallel) and build the index.
    pub(crate) fn from_conditions(
        all: Vec<Vec<Cond>>,
    ) -> Result<(Prefilter, PrefilterStats), SignatureError> {
        // How many signatures name each literal: the literal fewer share admits fewer signatures (a
        // `<?xml version=` that hundreds of XML formats share admits them all; their namespace admits one).
        let mut uses: HashMap<&[u8], usize> = HashMap::new();
        for conds in &all {
            let mut seen: Vec<&[u8]> = conds
                .iter()
                .filter_map(|c| match c {
                    Cond::Lits { lits, .. } => Some(lits.iter().map(Vec::as_slice)),
                    _ => None,
                })
                .flatten()
                .collect();
            seen.sort_unstable();
            seen.dedup();
            for lit in seen {
                *uses.entry(lit).or_default() += 1;
            }
        }
        let mut stats = PrefilterStats::default();
        let mut tables: HashMap<(Side, usize), Vec<Vec<u32>>> = HashMap::new();
        let mut scans = Scans::default();
        let mut always = Vec::new();
        for (i, conds) in all.iter().enumerate() {
            let sig = i as u32;
            let Some(best) = conds.iter().min_by_key(|c| cost(c, &uses)) else {
                always.push(sig);
                continue;
            };
            match best {
                Cond::Byte { side, at, set } => {
                    stats.byte_tests += 1;
                    let t = tables
                        .entry((*side, *at))
                        .or_insert_with(|| vec![Vec::new(); 256]);
                    for &b in set {
                        t[b as usize].push(sig);
                    }
                }
                Cond::Lits { side, lits, .. } => {
                    let (near, far) = match side {
                        Some(Side::Head) => (Region::HeadNear, Region::HeadFar),
                        _ => (Region::TailNear, Region::TailFar),
                    };
                    match (side, extent(best)) {
                        (Some(_), Some(e)) => {
                            stats.near += 1;
                            scans.add(near, sig, lits, e);
                        }
                        (Some(_), None) => {
                            stats.far_one_side += 1;
                            scans.add(far, sig, lits, WINDOW);
                        }
                        (None, _) => {
                            // Either window: the head as written, the reversed tail reversed.
                            stats.far_both += 1;
                            scans.add(Region::HeadFar, sig, lits, WINDOW);
                            scans.add(Region::TailVar, sig, lits, WINDOW);
                        }
                    }
                }
            }
        }
        stats.always = always.len();
        stats.byte_offsets = tables.len();
        stats.head_near_extent = scans.extent(Region::HeadNear);
        stats.tail_near_extent = scans.extent(Region::TailNear);
        stats.far_literals = scans.literals(|r| !matches!(r, Region::HeadNear | Region::TailNear));
        stats.scans = scans.building.len();
        let mut tables: Vec<ByteTable> = tables
            .into_iter()
            .map(|((side, at), by_value)| ByteTable { side, at, by_value })
            .collect();
        tables.sort_by_key(|t| (t.side == Side::Tail, t.at));
        let scans = scans.build()?;
        Ok((
            Prefilter {
                tables,
                scans,
                always,
            },
            stats,
        ))
    }

    /// The signatures worth matching against `d`, sorted and without duplicates.
    pub(crate) fn candidates(&self, d: &Data<'_>) -> Vec<u32> {
        let mut out = self.always.clone();
        for t in &self.tables {
            let buf = match t.side {
                Side::Head => d.head,
                Side::Tail => d.tail_rev,
            };
            if let Some(&b) = buf.get(t.at) {
                out.extend_from_slice(&t.by_value[b as usize]);
            }
        }
        let (head, rev) = (d.head, d.tail_rev);
        for scan in &self.scans {
            let buf = match scan.region {
                Region::HeadNear => &head[..head.len().min(scan.extent)],
                Region::HeadFar => head,
                Region::TailNear => &rev[..rev.len().min(scan.extent)],
                Region::TailFar => rev,
                Region::TailVar => {
                    // The file's bytes from `from` to its end: those of the tail the head does not hold, and
                    // a literal's length less one before them (a literal straddling the end of the head).
                    // Scanned forwards, with the literals as written: a variable sequence has no offset
                    // to count from the end, and literals that share their first bytes (BibTeX's `@…`)
                    // keep the scan on its fast path.
                    let end = d.tail_offset.saturating_add(d.tail.len() as u64);
                    let from = d.tail_offset.max(
                        (d.head.len() as u64).saturating_sub(scan.max_len.saturating_sub(1) as u64),
                    );
                    let n = usize::try_from(end.saturating_sub(from)).unwrap_or(usize::MAX);
                    &d.tail[d.tail.len() - n.min(d.tail.len())..]
                }
            };
            scan.run(buf, &mut out);
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every scan of the embedded registry can use the SIMD prefilter (at most 64 literals), and BibTeX's
    /// entry types are scanned joined to their `@`, in a scan of their own.
    #[test]
    fn scans_stay_small_enough_for_simd() {
        let s = crate::identify::pronom::Signatures::embedded().unwrap();
        let scans = &s.prefilter.scans;
        assert!(scans.len() >= 5, "{}", scans.len());
        for scan in scans {
            assert!(
                scan.prefixes.len() <= SCAN_LITERALS,
                "{:?}: {}",
                scan.region,
                scan.prefixes.len()
            );
        }
        let bib = s.signatures.iter().position(|x| x.id == 1951).unwrap() as u32;
        let own: Vec<&Scan> = scans
            .iter()
            .filter(|x| {
                x.region == Region::HeadFar && x.signatures.iter().any(|v| v.contains(&bib))
            })
            .collect();
        assert_eq!(own.len(), 1);
        assert!(own[0].signatures.iter().all(|v| v == &[bib]));
        assert!(own[0].prefixes.len() > WIDE_CONDITION);
        let mut out = Vec::new();
        own[0].run(b"xx ARTICLE @Article{x,", &mut out);
        out.dedup();
        assert_eq!(out, [bib]);
        out.clear();
        own[0].run(b"ARTICLE @ Article", &mut out);
        assert!(
            out.is_empty(),
            "{:?}",
            own[0].searcher.find("ARTICLE @ Article")
        );
    }

    /// Every literal that occurs is found, also where literals overlap or one is a prefix of another.
    #[test]
    fn scan_finds_overlapping_and_prefix_literals() {
        let mut b = ScanBuilder::default();
        for (sig, lit) in [
            (0, "ab"),
            (1, "abc"),
            (2, "bc"),
            (3, "c"),
            (4, "zz"),
            (5, "abcd"),
        ] {
            b.add(sig, &[lit.as_bytes().to_vec()], 0);
        }
        let scan = b.build(Region::HeadFar).unwrap().unwrap();
        let mut out = Vec::new();
        scan.run(b"xabcx", &mut out);
        out.sort_unstable();
        assert_eq!(out, [0, 1, 2, 3]);
        let mut out = Vec::new();
        scan.run(b"", &mut out);
        assert!(out.is_empty());
        // A one-byte literal at the last byte (no second byte to index it by); a literal cut by the end.
        let mut out = Vec::new();
        scan.run(b"zzabc", &mut out);
        out.sort_unstable();
        assert_eq!(out, [0, 1, 2, 3, 4]);
        let mut out = Vec::new();
        scan.run(b"abcd", &mut out);
        out.sort_unstable();
        assert_eq!(out, [0, 1, 2, 3, 5]);
        let mut out = Vec::new();
        scan.run(b"abc", &mut out);
        out.sort_unstable();
        assert_eq!(out, [0, 1, 2, 3]);
    }
}
