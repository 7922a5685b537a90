//! PRONOM byte-sequence expressions and their matcher.
//!
//! The syntax is the one of PRONOM's signature editor and of the DROID container signature file, of which the
//! DROID binary signature file uses a subset (hex and `[…]` classes, with gaps written as fragment offsets):
//!
//! | syntax | meaning |
//! | --- | --- |
//! | `4D4D 002A`, `'Word.Document.'` | literal bytes (hex pairs; quoted ASCII) |
//! | `??` | any one byte |
//! | `{n}`, `{n-m}`, `{n-*}`, `*` | a gap of n, n to m, at least n, any number of bytes |
//! | `(a\|b\|c)` | alternatives (each may be a whole expression) |
//! | `[00:1F]`, `[05-0F]`, `['6'-'7']`, `[0001:0003]` | byte (or byte-string) range, inclusive |
//! | `[22 27]` | any of the listed values (or ranges) |
//! | `[&01]`, `[~01]` | all bits of the mask set; any bit of the mask set |
//! | `[!…]` | negation of any of the above |

/// One element of a compiled byte pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elem {
    /// Exact bytes.
    Lit(Vec<u8>),
    /// A test of `width` bytes: matches if any item matches, inverted by `neg`.
    Class { neg: bool, items: Vec<ClassItem> },
    /// Skip `min` to `max` bytes (`None`: no upper bound).
    Gap { min: usize, max: Option<usize> },
    /// Any one of the alternatives, each a pattern.
    Alt(Vec<Vec<Elem>>),
}

/// One item of a `[…]` class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassItem {
    /// The bytes compared as a big-endian string lie in `lo..=hi` (equal lengths).
    Range(Vec<u8>, Vec<u8>),
    /// `(b & mask) == mask`.
    AllBits(u8),
    /// `(b & mask) != 0`.
    AnyBits(u8),
}

impl ClassItem {
    fn width(&self) -> usize {
        match self {
            ClassItem::Range(lo, _) => lo.len(),
            _ => 1,
        }
    }
    fn test(&self, b: &[u8]) -> bool {
        match self {
            ClassItem::Range(lo, hi) => b >= lo.as_slice() && b <= hi.as_slice(),
            ClassItem::AllBits(m) => b[0] & m == *m,
            ClassItem::AnyBits(m) => b[0] & m != 0,
        }
    }
}

impl Elem {
    /// The number of bytes a class consumes.
    fn class_width(items: &[ClassItem]) -> usize {
        items.first().map_or(1, ClassItem::width)
    }

    /// The same element read backwards (for matching from the end of a file).
    fn reversed(&self) -> Elem {
        match self {
            Elem::Lit(b) => Elem::Lit(b.iter().rev().copied().collect()),
            Elem::Class { neg, items } => Elem::Class {
                neg: *neg,
                items: items
                    .iter()
                    .map(|i| match i {
                        ClassItem::Range(lo, hi) => ClassItem::Range(
                            lo.iter().rev().copied().collect(),
                            hi.iter().rev().copied().collect(),
                        ),
                        other => other.clone(),
                    })
                    .collect(),
            },
            Elem::Gap { .. } => self.clone(),
            Elem::Alt(alts) => Elem::Alt(alts.iter().map(|a| reverse(a)).collect()),
        }
    }
}

/// The pattern read backwards: matching it against reversed bytes finds the original pattern ending where the
/// reversed match starts. Multi-byte ranges are compared on reversed strings, which is exact only for ranges
/// whose bounds share all but one byte — the only kind PRONOM uses.
pub fn reverse(p: &[Elem]) -> Vec<Elem> {
    p.iter().rev().map(Elem::reversed).collect()
}

/// The number of bytes a class of these items consumes.
pub fn class_width(items: &[ClassItem]) -> usize {
    Elem::class_width(items)
}

/// Parse a PRONOM byte-sequence expression.
pub fn parse(expr: &str) -> Result<Vec<Elem>, String> {
    let mut p = Parser {
        s: expr.as_bytes(),
        at: 0,
    };
    let elems = p.seq(false)?;
    if p.at < p.s.len() {
        return Err(format!("unexpected '{}' at {}", p.s[p.at] as char, p.at));
    }
    Ok(elems)
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.at < self.s.len() && self.s[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }
    fn err(&self, what: &str) -> String {
        format!("{what} at {}", self.at)
    }

    /// A sequence, up to the end, or up to `|`/`)` inside an alternative.
    fn seq(&mut self, in_alt: bool) -> Result<Vec<Elem>, String> {
        let mut out: Vec<Elem> = Vec::new();
        loop {
            self.skip_ws();
            let Some(c) = self.peek() else { break };
            let elem = match c {
                b'|' | b')' if in_alt => break,
                b'\'' => Elem::Lit(self.quoted()?),
                b'?' => {
                    if self.s.get(self.at + 1) != Some(&b'?') {
                        return Err(self.err("single '?'"));
                    }
                    self.at += 2;
                    Elem::Gap {
                        min: 1,
                        max: Some(1),
                    }
                }
                b'*' => {
                    self.at += 1;
                    Elem::Gap { min: 0, max: None }
                }
                b'{' => self.gap()?,
                b'(' => {
                    self.at += 1;
                    let mut alts = Vec::new();
                    loop {
                        alts.push(self.seq(true)?);
                        match self.peek() {
                            Some(b'|') => self.at += 1,
                            Some(b')') => {
                                self.at += 1;
                                break;
                            }
                            _ => return Err(self.err("unterminated '('")),
                        }
                    }
                    Elem::Alt(alts)
                }
                b'[' => self.class()?,
                _ => Elem::Lit(vec![self.hex_byte()?]),
            };
            // Merge adjacent literals so the matcher can search for them as one string.
            match (out.last_mut(), elem) {
                (Some(Elem::Lit(prev)), Elem::Lit(b)) => prev.extend(b),
                (_, e) => out.push(e),
            }
        }
        Ok(out)
    }

    fn hex_byte(&mut self) -> Result<u8, String> {
        let hi = self.peek().and_then(hex_val);
        let lo = self.s.get(self.at + 1).copied().and_then(hex_val);
        match (hi, lo) {
            (Some(h), Some(l)) => {
                self.at += 2;
                Ok(h << 4 | l)
            }
            _ => Err(self.err("expected a hex byte")),
        }
    }

    fn quoted(&mut self) -> Result<Vec<u8>, String> {
        self.at += 1;
        let start = self.at;
        while self.peek().is_some_and(|c| c != b'\'') {
            self.at += 1;
        }
        if self.peek().is_none() {
            return Err(self.err("unterminated quote"));
        }
        let v = self.s[start..self.at].to_vec();
        self.at += 1;
        Ok(v)
    }

    fn number(&mut self) -> Result<usize, String> {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        std::str::from_utf8(&self.s[start..self.at])
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| self.err("expected a number"))
    }

    fn gap(&mut self) -> Result<Elem, String> {
        self.at += 1;
        self.skip_ws();
        let min = self.number()?;
        self.skip_ws();
        let max = if self.peek() == Some(b'-') {
            self.at += 1;
            self.skip_ws();
            if self.peek() == Some(b'*') {
                self.at += 1;
                None
            } else {
                Some(self.number()?)
            }
        } else {
            Some(min)
        };
        self.skip_ws();
        if self.peek() != Some(b'}') {
            return Err(self.err("unterminated '{'"));
        }
        self.at += 1;
        if max.is_some_and(|m| m < min) {
            return Err(self.err("gap maximum below minimum"));
        }
        Ok(Elem::Gap { min, max })
    }

    /// A value inside a class: hex bytes or one quoted string.
    fn class_value(&mut self) -> Result<Vec<u8>, String> {
        self.skip_ws();
        if self.peek() == Some(b'\'') {
            return self.quoted();
        }
        let mut v = Vec::new();
        while self.peek().and_then(hex_val).is_some() {
            v.push(self.hex_byte()?);
        }
        if v.is_empty() {
            return Err(self.err("expected a value in '[…]'"));
        }
        Ok(v)
    }

    fn class(&mut self) -> Result<Elem, String> {
        self.at += 1;
        self.skip_ws();
        let neg = self.peek() == Some(b'!');
        if neg {
            self.at += 1;
        }
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b']') => {
                    self.at += 1;
                    break;
                }
                Some(b'&') | Some(b'~') => {
                    let all = self.peek() == Some(b'&');
                    self.at += 1;
                    self.skip_ws();
                    let m = self.hex_byte()?;
                    items.push(if all {
                        ClassItem::AllBits(m)
                    } else {
                        ClassItem::AnyBits(m)
                    });
                }
                Some(_) => {
                    let lo = self.class_value()?;
                    self.skip_ws();
                    let hi = if matches!(self.peek(), Some(b':') | Some(b'-')) {
                        self.at += 1;
                        self.class_value()?
                    } else {
                        lo.clone()
                    };
                    if hi.len() != lo.len() {
                        return Err(self.err("range bounds of different lengths"));
                    }
                    items.push(ClassItem::Range(lo, hi));
                }
                None => return Err(self.err("unterminated '['")),
            }
        }
        let w = Elem::class_width(&items);
        if items.is_empty() || items.iter().any(|i| i.width() != w) {
            return Err(self.err("empty '[…]' or items of different widths"));
        }
        Ok(Elem::Class { neg, items })
    }
}

/// How many steps one match attempt may take before it is abandoned as no match (patterns with several
/// unbounded gaps can otherwise backtrack for a very long time on adversarial input).
pub const STEP_BUDGET: u32 = 200_000;

/// The rest of a pattern to match after the current slice (a linked list, so alternatives need no copying).
struct Cont<'a> {
    elems: &'a [Elem],
    next: Option<&'a Cont<'a>>,
}

/// Match `pattern` against `data` starting exactly at `start`; the end of the first match found.
pub fn match_at(pattern: &[Elem], data: &[u8], start: usize) -> Option<usize> {
    let mut budget = STEP_BUDGET;
    m(pattern, None, data, start, &mut budget)
}

/// Does `data` hold the literal `b` at `pos`? Most tries fail on the first byte, and the literals are short:
/// a byte loop, not a `memcmp` call per try (a fifth of the matcher's time on 20,000 small files).
#[inline]
fn lit_at(data: &[u8], pos: usize, b: &[u8]) -> bool {
    let Some(d) = pos.checked_add(b.len()).and_then(|end| data.get(pos..end)) else {
        return false;
    };
    if b.len() > 16 {
        return d == b;
    }
    d.iter().zip(b).all(|(x, y)| x == y)
}

/// The first literal that must follow, for a fast search across a gap.
fn next_lit<'a>(elems: &'a [Elem], k: Option<&'a Cont<'a>>) -> Option<&'a [u8]> {
    match elems.first() {
        Some(Elem::Lit(b)) => Some(b),
        Some(_) => None,
        None => k.and_then(|c| next_lit(c.elems, c.next)),
    }
}

fn m(
    elems: &[Elem],
    k: Option<&Cont<'_>>,
    data: &[u8],
    pos: usize,
    budget: &mut u32,
) -> Option<usize> {
    if *budget == 0 {
        return None;
    }
    *budget -= 1;
    let Some((first, rest)) = elems.split_first() else {
        return match k {
            Some(c) => m(c.elems, c.next, data, pos, budget),
            None => Some(pos),
        };
    };
    match first {
        Elem::Lit(b) => {
            if lit_at(data, pos, b) {
                m(rest, k, data, pos + b.len(), budget)
            } else {
                None
            }
        }
        Elem::Class { neg, items } => {
            let w = Elem::class_width(items);
            let bytes = data.get(pos..pos + w)?;
            if items.iter().any(|i| i.test(bytes)) != *neg {
                m(rest, k, data, pos + w, budget)
            } else {
                None
            }
        }
        Elem::Alt(alts) => {
            let cont = Cont {
                elems: rest,
                next: k,
            };
            alts.iter()
                .find_map(|a| m(a, Some(&cont), data, pos, budget))
        }
        Elem::Gap { min, max } => {
            let lo = pos.checked_add(*min)?;
            if lo > data.len() {
                return None;
            }
            let hi = max.map_or(data.len(), |x| pos.saturating_add(x).min(data.len()));
            if let Some(lit) = next_lit(rest, k) {
                // Jump straight to the places where the next literal occurs.
                // (On very short windows memchr on the first byte then a compare: building a memmem searcher per
                // call costs more than it saves there; beyond 64 bytes memmem avoids a compare per occurrence of a
                // common first byte, the largest cost in a profile of 20,000 small files.)
                // (No boxed iterator: an allocation per gap cost more than the search on small files.)
                let end = hi.saturating_add(lit.len()).min(data.len());
                let hay = &data[lo..end];
                let mut try_at = |at: usize| -> Option<Option<usize>> {
                    if let Some(e) = m(rest, k, data, lo + at, budget) {
                        return Some(Some(e));
                    }
                    (*budget == 0).then_some(None)
                };
                if hay.len() > 64 && lit.len() > 1 {
                    for at in memchr::memmem::find_iter(hay, lit) {
                        if let Some(r) = try_at(at) {
                            return r;
                        }
                    }
                } else {
                    for at in memchr::memchr_iter(*lit.first()?, hay) {
                        if lit_at(hay, at, lit)
                            && let Some(r) = try_at(at)
                        {
                            return r;
                        }
                    }
                }
                None
            } else if let Some(first) =
                next_first(rest, k).filter(|f| !f.is_empty() && f.len() <= 3)
            {
                // Jump to the bytes the rest can start with (an alternative of literals, a small class).
                let (a, b, c) = (
                    first[0],
                    first[first.len().min(2) - 1],
                    first[first.len() - 1],
                );
                let end = hi.saturating_add(1).min(data.len());
                for at in memchr::memchr3_iter(a, b, c, &data[lo..end]) {
                    if let Some(e) = m(rest, k, data, lo + at, budget) {
                        return Some(e);
                    }
                    if *budget == 0 {
                        return None;
                    }
                }
                None
            } else if hi - lo > FIRST_SET_SPAN
                && let Some(set) = first_set(rest, k)
            {
                // A long gap before a class or many alternatives: test each position's byte against the set of
                // bytes the rest can start with before trying to match there.
                let end = hi.min(data.len().saturating_sub(1));
                for p in lo..=end {
                    if !set[data[p] as usize] {
                        continue;
                    }
                    if let Some(e) = m(rest, k, data, p, budget) {
                        return Some(e);
                    }
                    if *budget == 0 {
                        return None;
                    }
                }
                None
            } else {
                (lo..=hi).find_map(|p| {
                    if *budget == 0 {
                        return None;
                    }
                    m(rest, k, data, p, budget)
                })
            }
        }
    }
}

/// Gaps longer than this are scanned with a first-byte set ([`first_set`]) when no literal or small set helps.
const FIRST_SET_SPAN: usize = 32;

/// The set of byte values a match of what follows must start with; `None` when it may match no byte at all
/// (the pattern can end here) or its first byte is not one element's.
fn first_set(elems: &[Elem], k: Option<&Cont<'_>>) -> Option<[bool; 256]> {
    let Some((first, rest)) = elems.split_first() else {
        let c = k?;
        return first_set(c.elems, c.next);
    };
    let mut set = [false; 256];
    match first {
        Elem::Lit(b) => set[*b.first()? as usize] = true,
        Elem::Gap {
            min: 0,
            max: Some(0),
        } => return first_set(rest, k),
        Elem::Gap { .. } => return None,
        Elem::Class { neg, items } => {
            if Elem::class_width(items) == 1 {
                for (v, on) in set.iter_mut().enumerate() {
                    *on = items.iter().any(|i| i.test(&[v as u8])) != *neg;
                }
            } else if *neg {
                return None;
            } else {
                // A multi-byte range: its first byte lies between the bounds' first bytes.
                for i in items {
                    let ClassItem::Range(lo, hi) = i else {
                        return None;
                    };
                    for v in lo[0]..=hi[0] {
                        set[v as usize] = true;
                    }
                }
            }
        }
        Elem::Alt(alts) => {
            let cont = Cont {
                elems: rest,
                next: k,
            };
            for a in alts {
                let s = first_set(a, Some(&cont))?;
                for (x, y) in set.iter_mut().zip(s) {
                    *x |= y;
                }
            }
        }
    }
    Some(set)
}

/// The byte values what follows can start with (the rest of this slice, else the continuation).
fn next_first(elems: &[Elem], k: Option<&Cont<'_>>) -> Option<Vec<u8>> {
    if elems.is_empty() {
        let c = k?;
        return next_first(c.elems, c.next);
    }
    first_bytes(elems)
}

/// The byte values a match of `pattern` at offset 0 can start with, if they are few and known.
pub fn first_bytes(pattern: &[Elem]) -> Option<Vec<u8>> {
    match pattern.first()? {
        Elem::Lit(b) => Some(vec![*b.first()?]),
        Elem::Gap {
            min: 0,
            max: Some(0),
        } => first_bytes(&pattern[1..]),
        Elem::Alt(alts) => {
            let mut out = Vec::new();
            for a in alts {
                let mut f = if a.is_empty() {
                    first_bytes(&pattern[1..])?
                } else {
                    first_bytes(a)?
                };
                out.append(&mut f);
            }
            out.sort_unstable();
            out.dedup();
            Some(out)
        }
        Elem::Class { neg: false, items } if items.len() <= 4 => {
            let mut out = Vec::new();
            for i in items {
                match i {
                    ClassItem::Range(lo, hi) if hi[0] - lo[0] < 16 => out.extend(lo[0]..=hi[0]),
                    _ => return None,
                }
            }
            Some(out)
        }
        _ => None,
    }
}

/// A short rendering of the first literal of a pattern, for the basis of a match.
pub fn describe(pattern: &[Elem]) -> String {
    for e in pattern {
        match e {
            Elem::Lit(b) => return render(b),
            Elem::Gap { .. } => continue,
            _ => return "a byte pattern".into(),
        }
    }
    "a byte pattern".into()
}

/// Printable ASCII as text in quotes, the rest as hex.
pub fn render(b: &[u8]) -> String {
    let b = &b[..b.len().min(24)];
    if b.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
        format!("'{}'", String::from_utf8_lossy(b))
    } else {
        b.iter().map(|c| format!("{c:02X}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at0(expr: &str, data: &[u8]) -> Option<usize> {
        match_at(&parse(expr).unwrap(), data, 0)
    }

    #[test]
    fn literals_and_text() {
        assert_eq!(at0("49492A00", b"II*\0rest"), Some(4));
        assert_eq!(
            at0("'Word.Document.' 38 00", b"Word.Document.8\0"),
            Some(16)
        );
        assert_eq!(at0("4D4D002A", b"II*\0"), None);
    }

    #[test]
    fn wildcards_and_gaps() {
        assert_eq!(at0("41 ?? 43", b"AXC"), Some(3));
        assert_eq!(at0("41 {2} 43", b"AXYC"), Some(4));
        assert_eq!(at0("41 {1-3} 43", b"AXYZC"), Some(5));
        assert_eq!(at0("41 {1-3} 43", b"AXYZWC"), None);
        assert_eq!(at0("41 {2-*} 43", b"AX----------C"), Some(13));
        assert_eq!(at0("41 * 43", b"AC"), Some(2));
        assert_eq!(at0("41 {2-*} 43", b"AXC"), None);
    }

    #[test]
    fn alternatives_and_classes() {
        assert_eq!(at0("(6A7032|6A7078) 20", b"jpx "), Some(4));
        assert_eq!(at0("('heic'|'mif1')", b"mif1"), Some(4));
        assert_eq!(at0("('heic'|'mif1')", b"avif"), None);
        assert_eq!(at0("[00:1F]", b"\x1f"), Some(1));
        assert_eq!(at0("[00:1F]", b" "), None);
        assert_eq!(at0("[!00]", b"\0"), None);
        assert_eq!(at0("[!00]", b"a"), Some(1));
        assert_eq!(at0("['6'-'7']", b"7"), Some(1));
        assert_eq!(at0("[22 27]", b"'"), Some(1));
        assert_eq!(at0("[&01]", b"\x03"), Some(1));
        assert_eq!(at0("[!&01]", b"\x03"), None);
        assert_eq!(at0("[~81]", b"\x80"), Some(1));
        assert_eq!(at0("[0100:01FF]", b"\x01\x80"), Some(2));
        assert_eq!(at0("[!0000]", b"\0\0"), None);
    }

    #[test]
    fn backtracking_over_gaps() {
        // The first 'B' after the gap is not followed by 'C'; the matcher must try the next one.
        assert_eq!(at0("41 * 42 43", b"A B  BC"), Some(7));
    }

    #[test]
    fn unbounded_gap_before_alternatives_finds_late_matches() {
        // A variable sequence that starts with alternatives: found far into the data, within the step budget.
        let mut data = vec![b'x'; 60_000];
        data.extend(b"\r\nSECTION");
        let p = parse("* (0A|0D|0D0A) 'SECTION'").unwrap();
        assert_eq!(match_at(&p, &data, 0), Some(data.len()));
        let mut data = vec![b'\n'; 300_000];
        data.extend(b"SECTIO");
        assert_eq!(match_at(&p, &data, 0), None);
    }

    #[test]
    fn reversed_patterns_match_reversed_data() {
        let p = parse("'%%EOF' {0-2}").unwrap();
        let data = b"xx %%EOF\n";
        let rev: Vec<u8> = data.iter().rev().copied().collect();
        let r = reverse(&p);
        assert!(match_at(&r, &rev, 0).is_some());
    }

    #[test]
    fn malformed_expressions_are_errors() {
        for bad in ["4", "'abc", "{3-1}", "[", "(41|42", "[0001:02]", "?"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn first_byte_index() {
        assert_eq!(
            first_bytes(&parse("(41|42) 43").unwrap()),
            Some(vec![b'A', b'B'])
        );
        assert_eq!(first_bytes(&parse("{0-4} 41").unwrap()), None);
    }
}
