//! Catalog codes as people type them.
//!
//! Archivists type codes on Chinese keyboards: full-width digits and punctuation (`Ｘ－１．３．６`), the
//! enumeration comma `、` or the ideographic full stop `。` for dots, lower case, a level word instead of
//! the letter (`县级1.3.6`). All of these name the same node, `X-1.3.6`.

/// Map one character to its ASCII equivalent where a Chinese input method produces a look-alike.
fn fold(c: char) -> Option<char> {
    match c {
        // Full-width ASCII block U+FF01–U+FF5E maps 1:1 onto U+0021–U+007E.
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFF01 + 0x21),
        '。' | '、' | '·' => Some('.'),
        '—' | '–' | '‐' | '‑' | '−' | '_' => Some('-'),
        c if c.is_whitespace() || c == '\u{3000}' => None,
        c => Some(c),
    }
}

/// Normalize a typed code against the profile's levels (`(letter, name)` pairs, e.g. `("X", "县级")`).
///
/// The result is what the profile would spell: `X-1.3.6`, or a bare level letter. Input that cannot be
/// read as a code comes back folded but otherwise unchanged, so the caller can still suggest neighbours.
pub fn normalize_code(input: &str, levels: &[(&str, &str)]) -> String {
    let folded: String = input.chars().filter_map(fold).collect();
    let folded = folded.trim_matches(|c| c == '.' || c == '-');

    // A level word in front: 县级1.3.6, 县1.3.6, 乡1.2.
    let mut words: Vec<(String, &str)> = Vec::new();
    for (letter, name) in levels {
        let bare = name.trim_end_matches('级');
        words.push((name.to_string(), letter));
        words.push((bare.to_string(), letter));
        words.push((format!("{bare}级"), letter));
        if let Some(last) = bare.chars().last() {
            words.push((last.to_string(), letter));
        }
        if bare.chars().count() == 2
            && let Some(first) = bare.chars().next()
        {
            words.push((first.to_string(), letter));
        }
    }
    // Longest word first so 乡镇 wins over 乡.
    words.sort_by_key(|(w, _)| std::cmp::Reverse(w.chars().count()));
    for (word, letter) in &words {
        if let Some(rest) = folded.strip_prefix(word.as_str()) {
            let rest = rest.trim_start_matches(['-', '.']);
            return if rest.is_empty() {
                letter.to_string()
            } else {
                format!("{letter}-{rest}")
            };
        }
    }

    // A level letter in front, with or without the hyphen: x1.3.6, X-1.3.6.
    let mut chars = folded.chars();
    match chars.next() {
        Some(first) if first.is_ascii_alphabetic() => {
            let letter = first.to_ascii_uppercase();
            let rest = chars.as_str().trim_start_matches(['-', '.']);
            if rest.is_empty() {
                letter.to_string()
            } else {
                format!("{letter}-{rest}")
            }
        }
        _ => folded.to_string(),
    }
}

/// Edit distance over characters where swapping two neighbours counts once (optimal string alignment):
/// typing `X-1.1.71` for `X-1.1.17` is one slip, not two.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, slot) in d.iter_mut().enumerate().take(w) {
        *slot = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEVELS: &[(&str, &str)] = &[
        ("S", "市级"),
        ("X", "县级"),
        ("Z", "乡镇"),
        ("C", "行政村"),
        ("H", "贫困户"),
    ];

    #[test]
    fn typed_forms_normalize() {
        for (input, want) in [
            ("X-1.3.6", "X-1.3.6"),
            ("x-1.3.6", "X-1.3.6"),
            ("x1.3.6", "X-1.3.6"),
            ("Ｘ－１．３．６", "X-1.3.6"),
            ("ｘ１．３．６", "X-1.3.6"),
            (" X - 1 . 3 . 6 ", "X-1.3.6"),
            ("县级1.3.6", "X-1.3.6"),
            ("县1.3.6", "X-1.3.6"),
            ("县级-1.3.6", "X-1.3.6"),
            ("乡镇2.3.1", "Z-2.3.1"),
            ("乡2.3.1", "Z-2.3.1"),
            ("村3.1.6", "C-3.1.6"),
            ("行政村3.1.6", "C-3.1.6"),
            ("户1.4", "H-1.4"),
            ("贫困户1.4", "H-1.4"),
            ("市级1、1、17", "S-1.1.17"),
            ("X-1.3.6。", "X-1.3.6"),
            ("县级", "X"),
            ("h", "H"),
        ] {
            assert_eq!(normalize_code(input, LEVELS), want, "input {input:?}");
        }
    }

    #[test]
    fn distance() {
        assert_eq!(edit_distance("X-1.3.6", "X-1.3.6"), 0);
        assert_eq!(edit_distance("X-1.3.60", "X-1.3.6"), 1);
        assert_eq!(edit_distance("危房", "危楼"), 1);
        assert_eq!(edit_distance("X-1.1.71", "X-1.1.17"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
