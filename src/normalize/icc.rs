//! A minimal ICC v2 sRGB display profile, built in code, for the PDF/A OutputIntent.
//!
//! PDF/A-2 (ISO 19005-2 §6.2.3) needs an OutputIntent with an embedded ICC profile when device colour
//! spaces are used. No profile file is shipped: this one is assembled from the published sRGB numbers
//! (IEC 61966-2-1): the D50-adapted (Bradford) colorants of the sRGB primaries, the D50 white point, and a
//! 1024-entry tone curve of the sRGB transfer function. The layout follows ICC.1:2001-04 (v2.4): 128-byte
//! header, tag table, `desc`, `cprt`, `wtpt`, `rXYZ`/`gXYZ`/`bXYZ`, `rTRC`/`gTRC`/`bTRC` (one shared curve).

/// The profile description, also used as the OutputIntent's `OutputConditionIdentifier`.
pub const SRGB_DESCRIPTION: &str = "sRGB IEC61966-2.1";

fn s15f16(v: f64) -> [u8; 4] {
    ((v * 65536.0).round() as i32).to_be_bytes()
}

fn xyz(x: f64, y: f64, z: f64) -> Vec<u8> {
    let mut t = b"XYZ \0\0\0\0".to_vec();
    for v in [x, y, z] {
        t.extend_from_slice(&s15f16(v));
    }
    t
}

fn desc(text: &str) -> Vec<u8> {
    // textDescriptionType (ICC.1:2001-04 §6.5.17): ASCII with its NUL, empty Unicode and ScriptCode parts.
    let mut t = b"desc\0\0\0\0".to_vec();
    t.extend_from_slice(&(text.len() as u32 + 1).to_be_bytes());
    t.extend_from_slice(text.as_bytes());
    t.push(0);
    t.extend_from_slice(&[0; 4]); // Unicode language code
    t.extend_from_slice(&[0; 4]); // Unicode count
    t.extend_from_slice(&[0; 2]); // ScriptCode code
    t.push(0); // ScriptCode count
    t.extend_from_slice(&[0; 67]);
    t
}

fn text(s: &str) -> Vec<u8> {
    let mut t = b"text\0\0\0\0".to_vec();
    t.extend_from_slice(s.as_bytes());
    t.push(0);
    t
}

fn curve() -> Vec<u8> {
    const N: u32 = 1024;
    let mut t = b"curv\0\0\0\0".to_vec();
    t.extend_from_slice(&N.to_be_bytes());
    for i in 0..N {
        let v = f64::from(i) / f64::from(N - 1);
        // IEC 61966-2-1 transfer function (decoding).
        let lin = if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        };
        t.extend_from_slice(&((lin * 65535.0).round() as u16).to_be_bytes());
    }
    t
}

/// The profile bytes.
pub fn srgb_v2() -> Vec<u8> {
    let trc = curve();
    let tags: Vec<(&[u8; 4], Vec<u8>)> = vec![
        (b"desc", desc(SRGB_DESCRIPTION)),
        (b"cprt", text("No copyright, use freely")),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.436_074_7, 0.222_504_5, 0.013_932_2)),
        (b"gXYZ", xyz(0.385_064_9, 0.716_878_6, 0.097_104_5)),
        (b"bXYZ", xyz(0.143_080_4, 0.060_616_9, 0.714_173_3)),
        (b"rTRC", trc),
    ];
    // Tag table: count + 12 bytes per entry (the three TRC entries share one curve).
    let entries = tags.len() + 2;
    let mut offset = 128 + 4 + 12 * entries;
    let mut table = Vec::new();
    let mut data = Vec::new();
    let mut trc_at = (0u32, 0u32);
    for (sig, body) in &tags {
        let at = offset as u32;
        table.extend_from_slice(*sig);
        table.extend_from_slice(&at.to_be_bytes());
        table.extend_from_slice(&(body.len() as u32).to_be_bytes());
        if *sig == b"rTRC" {
            trc_at = (at, body.len() as u32);
        }
        data.extend_from_slice(body);
        while data.len() % 4 != 0 {
            data.push(0); // tag data starts on 4-byte boundaries (ICC.1 §6.4)
        }
        offset = 128 + 4 + 12 * entries + data.len();
    }
    for sig in [b"gTRC", b"bTRC"] {
        table.extend_from_slice(sig);
        table.extend_from_slice(&trc_at.0.to_be_bytes());
        table.extend_from_slice(&trc_at.1.to_be_bytes());
    }
    let size = 128 + 4 + table.len() + data.len();
    let mut p = Vec::with_capacity(size);
    p.extend_from_slice(&(size as u32).to_be_bytes());
    p.extend_from_slice(&[0; 4]); // preferred CMM
    p.extend_from_slice(&[0x02, 0x10, 0x00, 0x00]); // version 2.1
    p.extend_from_slice(b"mntr");
    p.extend_from_slice(b"RGB ");
    p.extend_from_slice(b"XYZ ");
    for v in [2024u16, 1, 1, 0, 0, 0] {
        p.extend_from_slice(&v.to_be_bytes()); // creation date: fixed, for reproducible bytes
    }
    p.extend_from_slice(b"acsp");
    p.extend_from_slice(&[0; 4]); // platform
    p.extend_from_slice(&[0; 4]); // flags
    p.extend_from_slice(&[0; 4]); // manufacturer
    p.extend_from_slice(&[0; 4]); // model
    p.extend_from_slice(&[0; 8]); // attributes
    p.extend_from_slice(&[0; 4]); // rendering intent: perceptual
    p.extend_from_slice(&[
        0x00, 0x00, 0xF6, 0xD6, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0xD3, 0x2D,
    ]); // D50
    p.extend_from_slice(&[0; 4]); // creator
    p.extend_from_slice(&[0; 44]); // profile ID (v4 only) and reserved
    debug_assert_eq!(p.len(), 128);
    p.extend_from_slice(&(entries as u32).to_be_bytes());
    p.extend_from_slice(&table);
    p.extend_from_slice(&data);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_is_well_formed() {
        let p = srgb_v2();
        assert_eq!(
            u32::from_be_bytes(p[0..4].try_into().unwrap()) as usize,
            p.len()
        );
        assert_eq!(&p[36..40], b"acsp");
        assert_eq!(&p[12..20], b"mntrRGB ");
        assert_eq!(u32::from_be_bytes(p[128..132].try_into().unwrap()), 9);
        assert_eq!(p.len() % 4, 0);
        assert_eq!(p, srgb_v2());
    }
}
