//! Digests recomputed for METS CHECKSUM values, by the fixity module's one-pass hasher.

use std::io::{self, Read};

use crate::fixity::digest::{Algorithm, hash_reader};

/// Upper-case hex digest of everything `r` yields, for a METS CHECKSUMTYPE, with the byte count; `None`
/// for algorithms dangan does not compute (Adler-32, CRC32, HAVAL, MNP, TIGER, WHIRLPOOL).
pub fn digest(algorithm: &str, r: &mut dyn Read) -> io::Result<Option<(String, u64)>> {
    let Some(alg) = Algorithm::from_name(algorithm) else {
        return Ok(None);
    };
    let hashed = hash_reader(r, &[alg])?;
    Ok(hashed
        .get(alg)
        .map(|v| (v.to_ascii_uppercase(), hashed.size)))
}

/// Just the number of bytes (when no digest can be checked).
pub fn count(r: &mut dyn Read) -> io::Result<u64> {
    io::copy(r, &mut io::sink())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mets_names_and_vectors() {
        let abc = |alg: &str| digest(alg, &mut &b"abc"[..]).expect("read");
        assert_eq!(
            abc("SHA-256").map(|(h, n)| (h[..8].to_string(), n)),
            Some(("BA7816BF".to_string(), 3))
        );
        assert_eq!(
            abc("MD5").map(|(h, _)| h),
            Some("900150983CD24FB0D6963F7D28E17F72".into())
        );
        assert_eq!(abc("WHIRLPOOL"), None);
    }
}
