//! The hardened XML reader: a small namespace-aware tree for package metadata (METS, PREMIS, catalog.xml).
//!
//! Packages come from anyone, so the parser trusts nothing: a `<!DOCTYPE>` is refused outright (no DTD means no
//! external entities, no entity expansion bombs and no network), only the five predefined entities and character
//! references are resolved, nesting depth is bounded, and nothing is ever fetched.

use std::collections::HashMap;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// Why a document could not be read. Each variant carries what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error(
        "document type declaration (DTD) refused: external entities and entity expansion are not allowed"
    )]
    Doctype,
    #[error("entity reference &{0}; refused: only the predefined XML entities are allowed")]
    Entity(String),
    #[error("not UTF-8 ({0})")]
    Encoding(String),
    #[error("not well-formed: {0}")]
    Malformed(String),
    #[error("elements nested deeper than {0}")]
    TooDeep(usize),
    #[error("no root element")]
    Empty,
}

impl XmlError {
    /// The same as the English `Display`, in Chinese, for findings (the parser's own detail stays verbatim).
    pub fn zh(&self) -> String {
        match self {
            XmlError::Doctype => "拒绝文档类型声明 (DTD): 不允许外部实体和实体展开".to_string(),
            XmlError::Entity(e) => format!("拒绝实体引用 &{e};: 只允许 XML 预定义实体"),
            XmlError::Encoding(e) => format!("不是 UTF-8 编码 ({e})"),
            XmlError::Malformed(e) => format!("XML 格式不正确: {e}"),
            XmlError::TooDeep(n) => format!("元素嵌套超过 {n} 层"),
            XmlError::Empty => "没有根元素".to_string(),
        }
    }
}

/// Default nesting limit (see [`crate::sip::Limits::max_xml_depth`]).
pub const MAX_DEPTH: usize = 256;

/// An attribute with its resolved namespace (empty for unprefixed attributes, as XML Namespaces says).
#[derive(Debug, Clone)]
pub struct Attr {
    pub ns: String,
    pub name: String,
    pub value: String,
}

/// An element with its resolved namespace, attributes, child elements and concatenated text.
#[derive(Debug, Clone, Default)]
pub struct Element {
    pub ns: String,
    pub name: String,
    pub attrs: Vec<Attr>,
    pub children: Vec<Element>,
    pub text: String,
    /// Line of the start tag in the document (1-based), for findings.
    pub line: usize,
}

impl Element {
    /// An attribute by namespace and local name (`""` for unprefixed attributes).
    pub fn attr(&self, ns: &str, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns == ns && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// An unprefixed attribute.
    pub fn a(&self, name: &str) -> Option<&str> {
        self.attr("", name)
    }

    /// Child elements with this namespace and local name.
    pub fn kids<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children
            .iter()
            .filter(move |c| c.ns == ns && c.name == name)
    }

    /// The first child element with this namespace and local name.
    pub fn kid(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.ns == ns && c.name == name)
    }

    /// Every element of the subtree, this one first.
    pub fn descendants(&self) -> Vec<&Element> {
        let mut out = vec![self];
        let mut i = 0;
        while i < out.len() {
            let e = out[i];
            out.extend(e.children.iter());
            i += 1;
        }
        out
    }
}

/// Parse a document. A UTF-8 BOM is allowed; other encodings are refused (packages write UTF-8).
pub fn parse(bytes: &[u8]) -> Result<Element, XmlError> {
    parse_located(bytes, MAX_DEPTH).map_err(|(e, _)| e)
}

/// [`parse`] with a nesting limit, saying on which line (1-based) a refused document went wrong.
pub fn parse_located(bytes: &[u8], max_depth: usize) -> Result<Element, (XmlError, usize)> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = line_at(bytes, e.valid_up_to());
        (
            XmlError::Encoding(format!("invalid byte at offset {}", e.valid_up_to())),
            line,
        )
    })?;
    parse_inner(text, max_depth)
}

fn line_at(bytes: &[u8], pos: usize) -> usize {
    1 + bytes[..pos.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
}

fn predefined(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

/// Namespace scopes: one map of prefix → URI per open element ("" is the default namespace).
struct Scopes(Vec<HashMap<String, String>>);

impl Scopes {
    fn lookup(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some("http://www.w3.org/XML/1998/namespace");
        }
        self.0
            .iter()
            .rev()
            .find_map(|m| m.get(prefix))
            .map(String::as_str)
    }
}

fn split(q: &str) -> (&str, &str) {
    q.split_once(':').unwrap_or(("", q))
}

fn open(start: &BytesStart<'_>, scopes: &mut Scopes) -> Result<Element, XmlError> {
    let mut decls = HashMap::new();
    let mut raw: Vec<(String, String)> = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| XmlError::Malformed(e.to_string()))?;
        let key = attr.key.into_inner().to_string();
        let value =
            attr.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| match e {
                    quick_xml::Error::Escape(
                        quick_xml::escape::EscapeError::UnrecognizedEntity(_, name),
                    ) => XmlError::Entity(name),
                    other => XmlError::Malformed(other.to_string()),
                })?;
        if key == "xmlns" {
            decls.insert(String::new(), value.into_owned());
        } else if let Some(p) = key.strip_prefix("xmlns:") {
            decls.insert(p.to_string(), value.into_owned());
        } else {
            raw.push((key, value.into_owned()));
        }
    }
    scopes.0.push(decls);
    let qname = start.name().into_inner().to_string();
    let (prefix, local) = split(&qname);
    let ns = scopes
        .lookup(prefix)
        .ok_or_else(|| XmlError::Malformed(format!("unbound prefix '{prefix}' on <{qname}>")))
        .or_else(|e| if prefix.is_empty() { Ok("") } else { Err(e) })?
        .to_string();
    let mut attrs = Vec::with_capacity(raw.len());
    for (key, value) in raw {
        let (p, l) = split(&key);
        let ans = if p.is_empty() {
            String::new()
        } else {
            scopes
                .lookup(p)
                .ok_or_else(|| {
                    XmlError::Malformed(format!("unbound prefix '{p}' on attribute {key}"))
                })?
                .to_string()
        };
        attrs.push(Attr {
            ns: ans,
            name: l.to_string(),
            value,
        });
    }
    Ok(Element {
        ns,
        name: local.to_string(),
        attrs,
        children: Vec::new(),
        text: String::new(),
        line: 0,
    })
}

/// Parse a document held as text.
pub fn parse_str(text: &str) -> Result<Element, XmlError> {
    parse_inner(text, MAX_DEPTH).map_err(|(e, _)| e)
}

fn parse_inner(text: &str, max_depth: usize) -> Result<Element, (XmlError, usize)> {
    let bytes = text.as_bytes();
    // Lines are counted incrementally up to the start of each event.
    let mut line = 1usize;
    let mut counted = 0usize;
    let mut advance = |to: usize, line: &mut usize| {
        let to = to.min(bytes.len());
        if to > counted {
            *line += bytes[counted..to].iter().filter(|b| **b == b'\n').count();
            counted = to;
        }
    };
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut scopes = Scopes(Vec::new());
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        advance(reader.buffer_position() as usize, &mut line);
        let at = line;
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                let pos = reader.error_position() as usize;
                advance(pos, &mut line);
                return Err((XmlError::Malformed(format!("{e} (at byte {pos})")), line));
            }
        };
        let fail = |e: XmlError| (e, at);
        match event {
            Event::DocType(_) => return Err(fail(XmlError::Doctype)),
            Event::Start(s) => {
                if stack.len() >= max_depth {
                    return Err(fail(XmlError::TooDeep(max_depth)));
                }
                if root.is_some() {
                    return Err(fail(XmlError::Malformed(
                        "content after the root element".into(),
                    )));
                }
                let mut e = open(&s, &mut scopes).map_err(fail)?;
                e.line = at;
                stack.push(e);
            }
            Event::Empty(s) => {
                if root.is_some() {
                    return Err(fail(XmlError::Malformed(
                        "content after the root element".into(),
                    )));
                }
                let mut e = open(&s, &mut scopes).map_err(fail)?;
                e.line = at;
                scopes.0.pop();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(e),
                    None => root = Some(e),
                }
            }
            Event::End(_) => {
                scopes.0.pop();
                let Some(e) = stack.pop() else {
                    return Err(fail(XmlError::Malformed("unexpected end tag".into())));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(e),
                    None => root = Some(e),
                }
            }
            Event::Text(t) => {
                if let Some(cur) = stack.last_mut() {
                    cur.text.push_str(&t.xml10_content());
                } else if !t.xml10_content().trim().is_empty() {
                    return Err(fail(XmlError::Malformed(
                        "text outside the root element".into(),
                    )));
                }
            }
            Event::CData(c) => {
                if let Some(cur) = stack.last_mut() {
                    cur.text.push_str(&c.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => {
                        predefined(&r).ok_or_else(|| fail(XmlError::Entity(r.to_string())))?
                    }
                    Err(e) => return Err(fail(XmlError::Malformed(e.to_string()))),
                };
                if let Some(cur) = stack.last_mut() {
                    cur.text.push(c);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err((
            XmlError::Malformed("unclosed elements at end of document".into()),
            line,
        ));
    }
    root.ok_or((XmlError::Empty, line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_and_entities() {
        let e = parse_str(
            r#"<?xml version="1.0"?><m:a xmlns:m="urn:m" xmlns:x="urn:x" x:k="1 &amp; 2"><m:b>a&lt;b&#x4E2D;</m:b></m:a>"#,
        )
        .unwrap();
        assert_eq!((e.ns.as_str(), e.name.as_str()), ("urn:m", "a"));
        assert_eq!(e.attr("urn:x", "k"), Some("1 & 2"));
        assert_eq!(e.kid("urn:m", "b").unwrap().text, "a<b中");
    }

    #[test]
    fn doctype_and_external_entities_refused() {
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"#;
        assert_eq!(parse_str(xxe).unwrap_err(), XmlError::Doctype);
        assert_eq!(
            parse_str("<r>&x;</r>").unwrap_err(),
            XmlError::Entity("x".into())
        );
        assert!(matches!(
            parse_str("<r><a></r>"),
            Err(XmlError::Malformed(_))
        ));
        assert!(matches!(parse(b"<r>\xff</r>"), Err(XmlError::Encoding(_))));
    }

    #[test]
    fn lines_of_elements_and_errors() {
        let e = parse(b"<a>\n  <b/>\n  <c>\n  </c>\n</a>").unwrap();
        assert_eq!((e.line, e.children[0].line, e.children[1].line), (1, 2, 3));
        let (err, line) = parse_located(b"<a>\n<b>\n</c>\n</a>", MAX_DEPTH).unwrap_err();
        assert!(matches!(err, XmlError::Malformed(_)), "{err}");
        assert_eq!(line, 3);
        let deep = "<a>".repeat(10);
        assert_eq!(
            parse_located(deep.as_bytes(), 5).unwrap_err().0,
            XmlError::TooDeep(5)
        );
    }
}
