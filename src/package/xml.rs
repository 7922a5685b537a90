//! A small XML writer: elements, attributes, escaped text, two-space indentation, deterministic output.
//!
//! Packages must be byte-reproducible and valid; a hand-written writer with one escaping function is
//! easier to keep both than a general serializer.

/// Replace what XML 1.0 cannot carry (C0 controls other than tab, CR, LF; U+FFFE/FFFF) with U+FFFD, so
/// one bad cell in a 目录 cannot make a whole METS unreadable. Validation reports U+FFFD as unreadable
/// metadata (DA/T 70 可用性 3.1).
fn clean(c: char) -> char {
    match c {
        '\t' | '\n' | '\r' => c,
        c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
        c => c,
    }
}

pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().map(clean) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

pub fn escape_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().map(clean) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // Attribute-value normalization would turn these into spaces; keep them.
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

/// An XML document being written.
pub struct Xml {
    buf: String,
    stack: Vec<String>,
}

impl Default for Xml {
    fn default() -> Self {
        Self::new()
    }
}

impl Xml {
    pub fn new() -> Self {
        Xml {
            buf: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            stack: Vec::new(),
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.stack.len() {
            self.buf.push_str("  ");
        }
    }

    fn start(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.indent();
        self.buf.push('<');
        self.buf.push_str(name);
        for (k, v) in attrs {
            self.buf.push(' ');
            self.buf.push_str(k);
            self.buf.push_str("=\"");
            self.buf.push_str(&escape_attr(v));
            self.buf.push('"');
        }
    }

    /// `<name attrs>` — children follow until [`Xml::close`].
    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.start(name, attrs);
        self.buf.push_str(">\n");
        self.stack.push(name.to_string());
        self
    }

    /// `<name attrs/>`
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.start(name, attrs);
        self.buf.push_str("/>\n");
        self
    }

    /// `<name attrs>text</name>`
    pub fn text(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) -> &mut Self {
        self.start(name, attrs);
        self.buf.push('>');
        self.buf.push_str(&escape_text(text));
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push_str(">\n");
        self
    }

    /// Close the innermost open element.
    pub fn close(&mut self) -> &mut Self {
        if let Some(name) = self.stack.pop() {
            self.indent();
            self.buf.push_str("</");
            self.buf.push_str(&name);
            self.buf.push_str(">\n");
        }
        self
    }

    /// Close everything still open and return the document.
    pub fn finish(mut self) -> String {
        while !self.stack.is_empty() {
            self.close();
        }
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_nests() {
        let mut x = Xml::new();
        x.open("a", &[("k", "1 & \"2\"\n")]);
        x.text("b", &[], "<档号>\u{1}");
        x.empty("c", &[]);
        let s = x.finish();
        assert!(s.contains(r#"<a k="1 &amp; &quot;2&quot;&#10;">"#), "{s}");
        assert!(s.contains("<b>&lt;档号&gt;\u{FFFD}</b>"), "{s}");
        assert!(s.ends_with("  <c/>\n</a>\n"), "{s}");
    }
}
