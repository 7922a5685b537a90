//! A compact line form of a DROID binary signature file, embedded in the binary instead of the XML.
//!
//! Parsing 1.5 MB of XML on every start-up of `dangan inspect` cost most of a one-file run. The compact form
//! (`profiles/pronom/DROID_SignatureFile-v*.compact.gz`) holds exactly what the loader keeps of the XML — the
//! same internal signatures, byte sequences, subsequences and fragments (as the expressions written in the
//! XML), and the formats with their signatures, extensions and priorities — one record a line:
//!
//! ```text
//! DANGAN-PRONOM-COMPACT 1
//! V <Version>
//! S <InternalSignature ID>
//! Q <B|E|V|?>                                     a ByteSequence: BOF, EOF, variable, unknown Reference
//! U <Position> <SubSeqMinOffset> <SubSeqMaxOffset|-> <Sequence>
//! L|R <Position> <MinOffset> <MaxOffset> <expression>   a left or right fragment
//! F <ID> <PUID> <Name> <Version> <first MIME type>
//! I <InternalSignatureID>  X <Extension>  P <HasPriorityOverFileFormatID>
//! ```
//!
//! Fields are separated by tabs; `\`, tab, CR and LF inside a field are escaped as `\\`, `\t`, `\r`, `\n`.
//! It is made from the XML by [`write`]; `tests::compact_form_matches_the_xml` checks that the committed file
//! is what the committed XML gives (and rewrites it with `DANGAN_WRITE_COMPACT=1`). A signature file given at
//! run time (`--signatures FILE`) is always read as XML.

use super::{Anchor, FileFormat, RawBinary, RawSeq, RawSig, RawSub, SignatureError};

const MAGIC: &str = "DANGAN-PRONOM-COMPACT 1";

/// Made only by the test that checks the committed file (see the module comment).
#[cfg(test)]
fn esc(s: &str) -> String {
    if !s.contains(['\\', '\t', '\r', '\n']) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn unesc(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(o) => out.push(o),
            None => out.push('\\'),
        }
    }
    out
}

/// The compact form of a parsed binary signature file.
#[cfg(test)]
pub(crate) fn write(raw: &RawBinary) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(o, "{MAGIC}\nV\t{}", esc(&raw.version));
    for sig in &raw.signatures {
        let _ = writeln!(o, "S\t{}", sig.id);
        for seq in &sig.seqs {
            let a = match seq.anchor {
                Some(Anchor::Bof) => 'B',
                Some(Anchor::Eof) => 'E',
                Some(Anchor::Variable) => 'V',
                None => '?',
            };
            let _ = writeln!(o, "Q\t{a}");
            for sub in &seq.subs {
                let max = sub.max.map_or("-".to_owned(), |m| m.to_string());
                let _ = writeln!(
                    o,
                    "U\t{}\t{}\t{max}\t{}",
                    sub.position,
                    sub.min,
                    esc(&sub.sequence)
                );
                for (left, pos, min, max, expr) in &sub.fragments {
                    let k = if *left { 'L' } else { 'R' };
                    let _ = writeln!(o, "{k}\t{pos}\t{min}\t{max}\t{}", esc(expr));
                }
            }
        }
    }
    for f in &raw.formats {
        let _ = writeln!(
            o,
            "F\t{}\t{}\t{}\t{}\t{}",
            f.id,
            esc(&f.puid),
            esc(&f.name),
            esc(f.version.as_deref().unwrap_or("")),
            esc(f.mime.as_deref().unwrap_or(""))
        );
        for s in &f.signatures {
            let _ = writeln!(o, "I\t{s}");
        }
        for e in &f.extensions {
            let _ = writeln!(o, "X\t{}", esc(e));
        }
        for p in &f.priority_over {
            let _ = writeln!(o, "P\t{p}");
        }
    }
    o
}

/// Read the compact form back: the two halves on two threads (start-up), cut where a signature (`S`) begins.
pub(crate) fn read(text: &str) -> Result<RawBinary, SignatureError> {
    let bad = |n: usize, what: &str| SignatureError::Xml(format!("compact form, line {n}: {what}"));
    let mut lines = text.lines();
    if lines.next() != Some(MAGIC) {
        return Err(bad(1, "not a compact signature file"));
    }
    let body = &text[text.find('\n').map_or(text.len(), |i| i + 1)..];
    let cut = body
        .get(body.len() / 2..)
        .and_then(|t| t.find("\nS\t"))
        .map_or(body.len(), |i| body.len() / 2 + i + 1);
    let (first, second) = body.split_at(cut);
    let second_line = 2 + first.bytes().filter(|&b| b == b'\n').count();
    let (a, b) = super::side_by_side(
        || read_part(first, 2),
        || read_part(second, second_line),
        || bad(second_line, "unreadable"),
    );
    let (mut out, b) = (a?, b?);
    if out.version.is_empty() {
        out.version = b.version;
    }
    out.signatures.extend(b.signatures);
    out.formats.extend(b.formats);
    if out.formats.is_empty() {
        return Err(bad(0, "no formats"));
    }
    Ok(out)
}

/// Read the records of `text`, whose first line is line `first_line` of the file.
fn read_part(text: &str, first_line: usize) -> Result<RawBinary, SignatureError> {
    let bad = |n: usize, what: &str| SignatureError::Xml(format!("compact form, line {n}: {what}"));
    let lines = text.lines().enumerate().map(|(i, l)| (i + first_line, l));
    let mut out = RawBinary {
        version: String::new(),
        signatures: Vec::new(),
        formats: Vec::new(),
    };
    for (n, line) in lines {
        let mut f = line.split('\t');
        let tag = f.next().unwrap_or("");
        let mut field = || f.next().ok_or_else(|| bad(n, "missing field"));
        fn int<T: std::str::FromStr>(s: &str, n: usize) -> Result<T, SignatureError> {
            s.parse().map_err(|_| {
                SignatureError::Xml(format!("compact form, line {n}: bad number {s:?}"))
            })
        }
        match tag {
            "V" => out.version = unesc(field()?),
            "S" => out.signatures.push(RawSig {
                id: int(field()?, n)?,
                seqs: Vec::new(),
            }),
            "Q" => {
                let anchor = match field()? {
                    "B" => Some(Anchor::Bof),
                    "E" => Some(Anchor::Eof),
                    "V" => Some(Anchor::Variable),
                    _ => None,
                };
                out.signatures
                    .last_mut()
                    .ok_or_else(|| bad(n, "sequence outside a signature"))?
                    .seqs
                    .push(RawSeq {
                        anchor,
                        subs: Vec::new(),
                    });
            }
            "U" => {
                let position = int(field()?, n)?;
                let min = int(field()?, n)?;
                let max = match field()? {
                    "-" => None,
                    m => Some(int(m, n)?),
                };
                let sequence = unesc(field()?);
                out.signatures
                    .last_mut()
                    .and_then(|s| s.seqs.last_mut())
                    .ok_or_else(|| bad(n, "subsequence outside a sequence"))?
                    .subs
                    .push(RawSub {
                        position,
                        min,
                        max,
                        sequence,
                        fragments: Vec::new(),
                    });
            }
            "L" | "R" => {
                let pos = int(field()?, n)?;
                let min = int(field()?, n)?;
                let max = int(field()?, n)?;
                let expr = unesc(field()?);
                out.signatures
                    .last_mut()
                    .and_then(|s| s.seqs.last_mut())
                    .and_then(|q| q.subs.last_mut())
                    .ok_or_else(|| bad(n, "fragment outside a subsequence"))?
                    .fragments
                    .push((tag == "L", pos, min, max, expr));
            }
            "F" => {
                let id = int(field()?, n)?;
                let puid = unesc(field()?);
                let name = unesc(field()?);
                let version = Some(unesc(field()?)).filter(|v| !v.is_empty());
                let mime = Some(unesc(field()?)).filter(|v| !v.is_empty());
                out.formats.push(FileFormat {
                    id,
                    puid,
                    name,
                    version,
                    mime,
                    ..FileFormat::default()
                });
            }
            "I" | "X" | "P" => {
                let v = field()?;
                let f = out
                    .formats
                    .last_mut()
                    .ok_or_else(|| bad(n, "format field outside a format"))?;
                match tag {
                    "I" => f.signatures.push(int(v, n)?),
                    "X" => f.extensions.push(unesc(v)),
                    _ => f.priority_over.push(int(v, n)?),
                }
            }
            _ => return Err(bad(n, "unknown record")),
        }
    }
    Ok(out)
}
