//! Digests recomputed for METS CHECKSUM values.
// TODO(fixity): use dangan::fixity once merged (one pass, many algorithms, SM3).

use std::io::{self, Read};

use sha2::Digest as _;

/// Upper-case hex digest of everything `r` yields, for a METS CHECKSUMTYPE; `None` for algorithms dangan does
/// not compute (Adler-32, CRC32, HAVAL, MNP, TIGER, WHIRLPOOL).
pub fn digest(algorithm: &str, r: &mut dyn Read) -> io::Result<Option<(String, u64)>> {
    fn run<D: sha2::Digest>(mut d: D, r: &mut dyn Read) -> io::Result<(String, u64)> {
        let mut buf = vec![0u8; 1 << 16];
        let mut n: u64 = 0;
        loop {
            let k = r.read(&mut buf)?;
            if k == 0 {
                break;
            }
            n += k as u64;
            d.update(&buf[..k]);
        }
        let out = d.finalize();
        let hex: String = out.iter().map(|b| format!("{b:02X}")).collect();
        Ok((hex, n))
    }
    Ok(Some(match algorithm {
        "SHA-256" => run(sha2::Sha256::new(), r)?,
        "SHA-512" => run(sha2::Sha512::new(), r)?,
        "SHA-384" => run(sha2::Sha384::new(), r)?,
        "SHA-1" => run(sha1::Sha1::new(), r)?,
        "MD5" => run(md5::Md5::new(), r)?,
        _ => return Ok(None),
    }))
}

/// Just the number of bytes (when no digest can be checked).
pub fn count(r: &mut dyn Read) -> io::Result<u64> {
    io::copy(r, &mut io::sink())
}
