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

/// The pre-tests (first byte, literal index) only skip signatures that cannot match: on every fixture, and on
/// the fixtures' heads and tails cut at odd places, the indexed matcher finds exactly what trying every
/// signature finds.
#[test]
fn indexes_lose_no_match() {
    let s = Signatures::embedded().unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/inspect");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for cut in [bytes.len(), bytes.len() / 2, 17.min(bytes.len())] {
            let file = &bytes[..cut];
            let rev: Vec<u8> = file.iter().rev().copied().collect();
            let d = Data {
                head: file,
                tail: file,
                tail_rev: &rev,
                tail_offset: 0,
            };
            let indexed: Vec<usize> = s.match_all(&d).iter().map(|h| h.format).collect();
            let mut all: Vec<usize> = Vec::new();
            for (i, sig) in s.signatures.iter().enumerate() {
                if sig.matches(&d).is_some() {
                    for &f in &s.sig_formats[i] {
                        if !all.contains(&f) {
                            all.push(f);
                        }
                    }
                }
            }
            let (mut a, mut b) = (indexed.clone(), all.clone());
            a.sort_unstable();
            b.sort_unstable();
            assert_eq!(a, b, "cut {cut}");
            checked += 1;
        }
    }
    assert!(checked > 90, "{checked}");
    // Few signatures are left to try on every file.
    assert!(
        s.unindexed_count() * 20 < s.signature_count(),
        "{} of {} signatures have no pre-test",
        s.unindexed_count(),
        s.signature_count()
    );
}

/// The literal pre-test of a signature names literals of its sequences, in file byte order.
#[test]
fn requirement_literals() {
    let s = sigfile(&[
        (1, &bof(0, 16, "'ABCDEF' {2} 'XY'"), "t/1", &[]),
        (
            2,
            r#"<ByteSequence Reference="EOFoffset"><SubSequence Position="1" SubSeqMinOffset="0" SubSeqMaxOffset="0"><Sequence>'%%EOF'</Sequence></SubSequence></ByteSequence>"#,
            "t/2",
            &[],
        ),
    ]);
    let req = |i: usize| requirements(&s.signatures[i].sequences);
    assert_eq!(req(0), [vec![b"ABCDEF".to_vec()], vec![b"XY".to_vec()]]);
    assert_eq!(req(1), [vec![b"%%EOF".to_vec()]]);
    // The literal fewer signatures share is chosen; then the longer.
    let chosen = choose_requirements(vec![
        (1, req(0)),
        (2, vec![vec![b"XY".to_vec()], vec![b"QQQ".to_vec()]]),
    ]);
    assert_eq!(chosen[0], (1, vec![b"ABCDEF".to_vec()]));
    assert_eq!(chosen[1], (2, vec![b"QQQ".to_vec()]));
}
