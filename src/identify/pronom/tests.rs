//! Matcher semantics on small hand-written DROID signature files.

use super::*;

const CONTAINER: &str = r#"<ContainerSignatureMapping signatureVersion="1"><ContainerSignatures>
<ContainerSignature Id="1" ContainerType="ZIP"><Description>t</Description><Files><File><Path>mimetype</Path>
</File></Files></ContainerSignature></ContainerSignatures><FileFormatMappings>
<FileFormatMapping signatureId="1" Puid="t/9"/></FileFormatMappings>
<TriggerPuids><TriggerPuid ContainerType="ZIP" Puid="t/8"/></TriggerPuids></ContainerSignatureMapping>"#;

/// A signature file with one format per signature: `(sig id, byte sequences XML, puid, priority over ids)`.
fn sigfile(entries: &[(u32, &str, &str, &[u32])]) -> Signatures {
    let mut xml = String::from(
        r#"<?xml version="1.0"?><FFSignatureFile Version="1" xmlns="http://www.nationalarchives.gov.uk/pronom/SignatureFile"><InternalSignatureCollection>"#,
    );
    for (id, seqs, _, _) in entries {
        xml.push_str(&format!(
            r#"<InternalSignature ID="{id}">{seqs}</InternalSignature>"#
        ));
    }
    xml.push_str("</InternalSignatureCollection><FileFormatCollection>");
    for (id, _, puid, prio) in entries {
        xml.push_str(&format!(
            r#"<FileFormat ID="{id}" Name="F{id}" PUID="{puid}" MIMEType="a/b, c/d"><InternalSignatureID>{id}</InternalSignatureID><Extension>E{id}</Extension>"#
        ));
        for p in *prio {
            xml.push_str(&format!(
                "<HasPriorityOverFileFormatID>{p}</HasPriorityOverFileFormatID>"
            ));
        }
        xml.push_str("</FileFormat>");
    }
    xml.push_str("</FileFormatCollection></FFSignatureFile>");
    Signatures::load(xml.as_bytes(), CONTAINER).unwrap()
}

fn puids(s: &Signatures, file: &[u8]) -> Vec<String> {
    let rev: Vec<u8> = file.iter().rev().copied().collect();
    let d = Data {
        head: file,
        tail: file,
        tail_rev: &rev,
        tail_offset: 0,
    };
    s.identify(&d)
        .into_iter()
        .map(|h| s.formats[h.format].puid.clone())
        .collect()
}

fn bof(min: usize, max: usize, seq: &str) -> String {
    format!(
        r#"<ByteSequence Reference="BOFoffset"><SubSequence Position="1" SubSeqMinOffset="{min}" SubSeqMaxOffset="{max}"><Sequence>{seq}</Sequence></SubSequence></ByteSequence>"#
    )
}

#[test]
fn bof_offsets() {
    let s = sigfile(&[(1, &bof(2, 4, "4142"), "t/1", &[])]);
    assert_eq!(puids(&s, b"..AB"), ["t/1"]);
    assert_eq!(puids(&s, b"....AB"), ["t/1"]);
    assert!(puids(&s, b".AB").is_empty());
    assert!(puids(&s, b".....AB").is_empty());
    // Format metadata comes from the file.
    let f = s.format("t/1").unwrap();
    assert_eq!((f.name.as_str(), f.mime.as_deref()), ("F1", Some("a/b")));
    assert_eq!(f.extensions, ["e1"]);
}

#[test]
fn eof_sequences_count_from_the_end() {
    let eof = r#"<ByteSequence Reference="EOFoffset"><SubSequence Position="1" SubSeqMinOffset="0" SubSeqMaxOffset="2"><Sequence>'%%EOF'</Sequence></SubSequence></ByteSequence>"#;
    let s = sigfile(&[(1, eof, "t/1", &[])]);
    assert_eq!(puids(&s, b"xxxx%%EOF"), ["t/1"]);
    assert_eq!(puids(&s, b"xxxx%%EOF\r\n"), ["t/1"]);
    assert!(puids(&s, b"xxxx%%EOF\r\n\n").is_empty());
    assert!(puids(&s, b"%%EOF and more text").is_empty());
}

#[test]
fn fragments_and_subsequences() {
    // Sequence 'ftyp' at 4, then one of the right fragments ('heic' | 'mif1') right after, then a second
    // subsequence 'meta' anywhere later; BOF 'II' left of a sequence.
    let seq = r#"<ByteSequence Reference="BOFoffset"><SubSequence Position="1" SubSeqMinOffset="4" SubSeqMaxOffset="4"><Sequence>66747970</Sequence><RightFragment MinOffset="0" MaxOffset="0" Position="1">68656963</RightFragment><RightFragment MinOffset="0" MaxOffset="0" Position="1">6D696631</RightFragment></SubSequence><SubSequence Position="2" SubSeqMinOffset="0"><Sequence>'meta'</Sequence></SubSequence></ByteSequence>"#;
    let left = r#"<ByteSequence Reference="BOFoffset"><SubSequence Position="1" SubSeqMinOffset="0" SubSeqMaxOffset="0"><Sequence>'XY'</Sequence><LeftFragment MinOffset="1" MaxOffset="2" Position="1">'II'</LeftFragment></SubSequence></ByteSequence>"#;
    let s = sigfile(&[(1, seq, "t/1", &[]), (2, left, "t/2", &[])]);
    assert_eq!(puids(&s, b"\0\0\0\x18ftypmif1....meta"), ["t/1"]);
    assert_eq!(puids(&s, b"\0\0\0\x18ftypheic....meta"), ["t/1"]);
    assert!(puids(&s, b"\0\0\0\x18ftypavif....meta").is_empty());
    assert!(puids(&s, b"\0\0\0\x18ftypheic........").is_empty());
    assert_eq!(puids(&s, b"II-XY"), ["t/2"]);
    assert_eq!(puids(&s, b"II--XY"), ["t/2"]);
    assert!(puids(&s, b"IIXY").is_empty());
}

#[test]
fn variable_sequences_and_wildcards() {
    let var = r#"<ByteSequence><SubSequence Position="1"><Sequence>'&lt;html' {0-3} [!00] (3E|20)</Sequence></SubSequence></ByteSequence>"#;
    let s = sigfile(&[(1, var, "t/1", &[])]);
    assert_eq!(puids(&s, b"   <!doctype x>\n<html x>"), ["t/1"]);
    assert_eq!(puids(&s, b"<html l "), ["t/1"]);
    assert!(puids(&s, b"<htm>").is_empty());
}

#[test]
fn all_sequences_of_a_signature_must_match() {
    let both = format!(
        "{}{}",
        bof(0, 0, "'PK'"),
        r#"<ByteSequence Reference="EOFoffset"><SubSequence Position="1" SubSeqMinOffset="0" SubSeqMaxOffset="0"><Sequence>'END'</Sequence></SubSequence></ByteSequence>"#
    );
    let s = sigfile(&[(1, &both, "t/1", &[])]);
    assert_eq!(puids(&s, b"PK....END"), ["t/1"]);
    assert!(puids(&s, b"PK....EN").is_empty());
}

#[test]
fn priorities_remove_lower_formats() {
    // 2 ('%PDF-1.4') has priority over 1 ('%PDF'); 3 is unrelated and stays.
    let s = sigfile(&[
        (1, &bof(0, 0, "'%PDF'"), "t/1", &[]),
        (2, &bof(0, 0, "'%PDF-1.4'"), "t/2", &[1]),
        (3, &bof(0, 1024, "'obj'"), "t/3", &[]),
    ]);
    assert_eq!(puids(&s, b"%PDF-1.4 1 0 obj"), ["t/2", "t/3"]);
    assert_eq!(puids(&s, b"%PDF-1.3 1 0 obj"), ["t/1", "t/3"]);
}

#[test]
fn embedded_files_load() {
    let s = Signatures::embedded().unwrap();
    assert_eq!(s.version, "109");
    assert!(s.signature_count() > 1500, "{}", s.signature_count());
    assert_eq!(
        s.format("fmt/1101").unwrap().name,
        "High Efficiency Image File Format"
    );
    assert_eq!(
        s.containers.trigger("x-fmt/263"),
        Some(container::Kind::Zip)
    );
    assert_eq!(s.containers.trigger("fmt/111"), Some(container::Kind::Ole2));
    // The embedded container file is read lazily: its version and triggers at once are those of a full parse,
    // and the full parse (left to the first container) succeeds.
    let full = container::Containers::parse(EMBEDDED_CONTAINER).unwrap();
    assert_eq!(s.containers.version, full.version);
    assert_eq!(s.containers.triggers, full.triggers);
    assert_eq!(full.triggers.len(), 3, "{:?}", full.triggers);
}

#[test]
fn container_file_is_validated() {
    assert!(container::Containers::parse("<x/>").is_err());
    let c = container::Containers::parse(CONTAINER).unwrap();
    assert_eq!(c.trigger("t/8"), Some(container::Kind::Zip));
}

/// Most signatures are ruled out by a one-byte pre-test before any pattern is matched.
#[test]
fn most_signatures_have_a_pre_test() {
    let s = Signatures::embedded().unwrap();
    let without = s.signatures.iter().filter(|g| g.quick.is_none()).count();
    assert!(
        without * 10 < s.signatures.len(),
        "{without} of {} without a pre-test",
        s.signatures.len()
    );
}

/// The pre-tests (byte tables, literal scans) only skip signatures that cannot match: on every fixture, on the
/// fixtures' heads and tails cut at odd places, and on a head of one fixture with the tail of another (a file
/// larger than the two windows), the indexed matcher finds exactly what trying every signature finds.
#[test]
fn indexes_lose_no_match() {
    let s = Signatures::embedded().unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/inspect");
    let mut files: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    files.sort();
    let check = |head: &[u8], tail: &[u8], tail_offset: u64| {
        let rev: Vec<u8> = tail.iter().rev().copied().collect();
        let d = Data {
            head,
            tail,
            tail_rev: &rev,
            tail_offset,
        };
        let indexed: Vec<Hit> = s.match_all(&d);
        let mut all: Vec<Hit> = Vec::new();
        for (i, sig) in s.signatures.iter().enumerate() {
            if let Some(basis) = sig.matches(&d) {
                for &f in &s.sig_formats[i] {
                    if !all.iter().any(|h| h.format == f) {
                        all.push(Hit {
                            format: f,
                            basis: format!("PRONOM v{} signature {}: {basis}", s.version, sig.id),
                        });
                    }
                }
            }
        }
        // The same formats, each on the same basis (the first matching signature in file order).
        assert_eq!(indexed, all, "head {} tail {}", head.len(), tail.len());
    };
    let mut checked = 0;
    for (n, bytes) in files.iter().enumerate() {
        for cut in [bytes.len(), bytes.len() / 2, 17.min(bytes.len())] {
            let file = &bytes[..cut];
            check(file, file, 0);
            checked += 1;
        }
        // Head and tail overlapping (a file a little larger than one window): the tail starts inside the head.
        let len = bytes.len();
        check(&bytes[..2 * len / 3], &bytes[len / 3..], (len / 3) as u64);
        checked += 1;
        // The head of this file, the tail of the next one.
        let other = &files[(n + 1) % files.len()];
        check(bytes, other, 1 << 20);
        check(
            &bytes[..bytes.len() / 3],
            &other[other.len() / 3..],
            1 << 20,
        );
        checked += 2;
    }
    assert!(checked > 150, "{checked}");
    // Few signatures are left to try on every file.
    assert!(
        s.unindexed_count() * 20 < s.signature_count(),
        "{} of {} signatures have no pre-test",
        s.unindexed_count(),
        s.signature_count()
    );
}

/// The pre-test of the embedded registry is mostly table look-ups and short scans: few signatures need a scan
/// of a whole window, and the bounded scans read a few KiB, not the window.
#[test]
fn prefilter_is_cheap() {
    let st = Signatures::embedded().unwrap().prefilter_stats;
    eprintln!("{st:?}");
    assert!(st.byte_tests > 1000, "{st:?}");
    assert!(
        st.head_near_extent <= 16 * 1024 && st.tail_near_extent <= 16 * 1024,
        "{st:?}"
    );
}

/// The conditions a sequence offers: a byte at a fixed offset (the rarest of a literal's bytes), a literal
/// within an offset range, or anywhere; EOF sequences count from the end of the reversed tail.
#[test]
fn sequence_conditions() {
    use prefilter::{Cond, Side};
    let s = sigfile(&[
        (1, &bof(0, 16, "'ABCDEF' {2} 'XY'"), "t/1", &[]),
        (
            2,
            r#"<ByteSequence Reference="EOFoffset"><SubSequence Position="1" SubSeqMinOffset="0" SubSeqMaxOffset="0"><Sequence>00 '%%EOF'</Sequence></SubSequence></ByteSequence>"#,
            "t/2",
            &[],
        ),
        (
            3,
            r#"<ByteSequence><SubSequence Position="1"><Sequence>'&lt;html' {0-3} ('ab'|'cde')</Sequence></SubSequence></ByteSequence>"#,
            "t/3",
            &[],
        ),
    ]);
    let conds = |i: usize| prefilter::conditions(&s.signatures[i].sequences[0]);
    assert_eq!(
        conds(0),
        [
            Cond::Lits {
                side: Some(Side::Head),
                lo: 0,
                hi: Some(16),
                lits: vec![b"ABCDEF".to_vec()]
            },
            Cond::Lits {
                side: Some(Side::Head),
                lo: 8,
                hi: Some(24),
                lits: vec![b"XY".to_vec()]
            },
        ]
    );
    // Reversed: 'FOE%%' 00 from the last byte; the rarest byte is the first ('F'), not the 00.
    assert_eq!(
        conds(1),
        [
            Cond::Byte {
                side: Side::Tail,
                at: 0,
                set: vec![b'F']
            },
            Cond::Lits {
                side: Some(Side::Tail),
                lo: 0,
                hi: Some(0),
                lits: vec![b"FOE%%\0".to_vec()]
            },
        ]
    );
    assert_eq!(
        conds(2),
        [
            Cond::Lits {
                side: None,
                lo: 0,
                hi: None,
                lits: vec![b"<html".to_vec()]
            },
            Cond::Lits {
                side: None,
                lo: 5,
                hi: None,
                lits: vec![b"ab".to_vec(), b"cde".to_vec()]
            },
        ]
    );
    // A literal right before alternatives is joined to each one's leading literal (BibTeX's `@` and its
    // entry types); an alternative that starts otherwise keeps its longest literal, with its own offsets.
    let s4 = sigfile(&[(4, &bof(2, 4, "'XY' ('ab'|'cde'|[30:39] 'zy')"), "t/4", &[])]);
    assert_eq!(
        prefilter::conditions(&s4.signatures[0].sequences[0])[1],
        Cond::Lits {
            side: Some(Side::Head),
            lo: 2,
            hi: Some(7),
            lits: vec![b"XYab".to_vec(), b"XYcde".to_vec(), b"zy".to_vec()]
        }
    );
    assert_eq!(puids(&s4, b"...XYcde"), ["t/4"]);
    assert_eq!(puids(&s4, b"..XY5zy"), ["t/4"]);
    assert!(puids(&s4, b"...XY5ab").is_empty());
    // Each file admits its signature (and the others' matcher says no).
    assert_eq!(puids(&s, b"ABCDEF..XY"), ["t/1"]);
    assert_eq!(puids(&s, b"xx\0%%EOF"), ["t/2"]);
    assert_eq!(puids(&s, b"..<html  cde"), ["t/3"]);
}

/// The embedded compact form is exactly what the committed DROID XML gives: same signatures, sequences,
/// fragments and formats, so the embedded registry is the XML's. `DANGAN_WRITE_COMPACT=1` rewrites it.
#[test]
fn compact_form_matches_the_xml() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/pronom");
    let xml = std::fs::read(dir.join("DROID_SignatureFile-v109.xml.gz")).unwrap();
    let raw = parse_binary(&gunzip(&xml).unwrap()).unwrap();
    let made = compact::write(&raw);
    let path = dir.join("DROID_SignatureFile-v109.compact.gz");
    if std::env::var_os("DANGAN_WRITE_COMPACT").is_some() {
        let mut gz = flate2::GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gz, made.as_bytes()).unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
    }
    let committed = gunzip(EMBEDDED_BINARY_COMPACT).unwrap();
    assert!(
        committed == made.as_bytes(),
        "{} is stale: DANGAN_WRITE_COMPACT=1 cargo test compact_form",
        path.display()
    );
    // Read back, it is the same data, and both load to the same registry.
    let back = compact::read(&made).unwrap();
    assert_eq!(compact::write(&back), made);
    let a = Signatures::load(&xml, EMBEDDED_CONTAINER).unwrap();
    let b = Signatures::embedded().unwrap();
    assert_eq!(
        (a.version.as_str(), a.formats.len(), a.signature_count()),
        (b.version.as_str(), b.formats.len(), b.signature_count())
    );
    assert_eq!(format!("{:?}", a.signatures), format!("{:?}", b.signatures));
    assert_eq!(format!("{:?}", a.formats), format!("{:?}", b.formats));
    assert_eq!(a.prefilter_stats, b.prefilter_stats);
}

#[test]
fn compact_form_escapes_and_rejects() {
    let raw = RawBinary {
        version: "1\t2".into(),
        signatures: vec![RawSig {
            id: 7,
            seqs: vec![RawSeq {
                anchor: None,
                subs: vec![RawSub {
                    position: 1,
                    min: 0,
                    max: None,
                    sequence: "'a\\b'".into(),
                    fragments: vec![(true, 1, 0, 2, "41\n42".into())],
                }],
            }],
        }],
        formats: vec![FileFormat {
            id: 3,
            puid: "x/1".into(),
            name: "N\r".into(),
            signatures: vec![7],
            extensions: vec!["e".into()],
            priority_over: vec![4],
            ..FileFormat::default()
        }],
    };
    let text = compact::write(&raw);
    assert_eq!(compact::write(&compact::read(&text).unwrap()), text);
    assert!(compact::read("DANGAN-PRONOM-COMPACT 1\nZ\t1\n").is_err());
    assert!(compact::read("DANGAN-PRONOM-COMPACT 1\nS\tx\n").is_err());
    assert!(compact::read("<xml/>").is_err());
    assert!(compact::read("DANGAN-PRONOM-COMPACT 1\nL\t1\t0\t0\t41\n").is_err());
}
