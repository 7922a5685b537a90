//! Searching the catalog by words (`dangan catalog search 危房`).
//!
//! Chinese has no spaces between words, so matching is by substring; a query word that is not found whole
//! still scores by the share of its character bigrams found, so `危房照片` finds 危房改造前、后照片.

use super::{Catalog, Node};

/// One search result.
#[derive(Debug, Clone)]
pub struct SearchHit<'a> {
    pub node: &'a Node,
    /// Higher is better. Exact substring matches in the name weigh most.
    pub score: f64,
}

fn bigrams(s: &str) -> Vec<(char, char)> {
    let c: Vec<char> = s.chars().collect();
    c.windows(2).map(|w| (w[0], w[1])).collect()
}

fn word_score(word: &str, node: &Node) -> f64 {
    let note = node.note.as_deref().unwrap_or("");
    let code_hit = node.code.eq_ignore_ascii_case(word);
    if code_hit {
        return 20.0;
    }
    let mut s = 0.0;
    if node.name.contains(word) {
        s += 10.0;
    }
    if node.text.contains(word) {
        s += 4.0 + node.text.matches(word).count() as f64 * 0.5;
    }
    if note.contains(word) {
        s += 2.0;
    }
    if s == 0.0 {
        // Partial: share of the word's bigrams present in the node's wording.
        let grams = bigrams(word);
        if grams.len() >= 2 {
            let hay: Vec<(char, char)> = bigrams(&node.text);
            let found = grams.iter().filter(|g| hay.contains(g)).count();
            let share = found as f64 / grams.len() as f64;
            if share >= 0.5 {
                s += 3.0 * share;
            }
        }
    }
    s
}

pub(super) fn search<'a>(catalog: &'a Catalog, query: &str) -> Vec<SearchHit<'a>> {
    let words: Vec<&str> = query.split_whitespace().collect();
    if words.is_empty() {
        return Vec::new();
    }
    let mut hits: Vec<(usize, SearchHit<'a>)> = catalog
        .nodes()
        .enumerate()
        .filter_map(|(order, node)| {
            let mut total = 0.0;
            for w in &words {
                let s = word_score(w, node);
                if s == 0.0 {
                    return None; // every word must match somewhere
                }
                total += s;
            }
            Some((order, SearchHit { node, score: total }))
        })
        .collect();
    // Best first; ties keep catalog order so results are stable.
    hits.sort_by(|(oa, a), (ob, b)| b.score.total_cmp(&a.score).then(oa.cmp(ob)));
    hits.into_iter().map(|(_, h)| h).collect()
}
