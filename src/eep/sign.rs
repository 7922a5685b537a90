//! Electronic signatures of EEP packages (DA/T 48-2009 电子签名 and 锁定签名): SM2 with SM3 (GB/T 32918.2,
//! GB/T 32905) by default, RSA PKCS #1 v1.5 with SHA-256 (RFC 8017) as the alternative.
//!
//! The cryptography is RustCrypto's (`sm2`, `sm3`, `rsa`); this module only feeds it. Messages are hashed as
//! they are written (a package holds whole files in Base64, so the signed bytes are never in memory at once):
//! for SM2 the hash is SM3(Z‖M) with Z the signer's identity hash (GB/T 32918.2 §5.5, computed from the
//! distinguishing identifier and the public key) and the crate signs that prehash; for RSA the crate signs
//! the SHA-256 digest.
//!
//! Signature values are what OpenSSL reads: SM2 as the DER `SEQUENCE { r INTEGER, s INTEGER }` (GB/T 35276),
//! RSA as the raw PKCS #1 block, so `openssl dgst -sm3 -verify PUB -sigopt distid:1234567812345678` and
//! `openssl dgst -sha256 -verify PUB` check them over the bytes 签名规则 names.

use std::path::Path;

use sha2::Digest as _;
use sm2::elliptic_curve::sec1::ToEncodedPoint as _;
use sm2::pkcs8::{DecodePrivateKey as _, EncodePublicKey as _};
use x509_cert::der::{Decode as _, DecodePem as _, Encode as _};

/// The SM2 distinguishing identifier dangan signs with: the default user ID of GB/T 35276-2017 §5.3
/// (`1234567812345678`). OpenSSL 3.0's `dgst` uses an empty ID unless told otherwise, so it is given as
/// `-sigopt distid:1234567812345678`; 签名规则 records it.
pub const SM2_DISTID: &str = "1234567812345678";

/// OID of SM2 signature with SM3 (GM/T 0006-2012 `SM2-with-SM3`).
pub const OID_SM2_SM3: &str = "1.2.156.10197.1.501";
/// OID of sha256WithRSAEncryption (RFC 8017 Appendix C).
pub const OID_RSA_SHA256: &str = "1.2.840.113549.1.1.11";

/// Why a key or certificate cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {message}")]
    Read { path: String, message: String },
    #[error(
        "{path}: not an SM2 or RSA private key in PEM (PKCS #8 as `openssl genpkey -algorithm SM2|RSA` writes it, or PKCS #1 RSA)"
    )]
    NotAKey { path: String },
    #[error("{path}: not an X.509 certificate in PEM or DER: {message}")]
    NotACertificate { path: String, message: String },
    #[error("{path}: the certificate's public key is not the signing key's")]
    Mismatch { path: String },
    #[error("signing failed: {0}")]
    Sign(String),
}

/// The algorithm of a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sm2Sm3,
    RsaSha256,
}

impl Algorithm {
    pub fn oid(self) -> &'static str {
        match self {
            Algorithm::Sm2Sm3 => OID_SM2_SM3,
            Algorithm::RsaSha256 => OID_RSA_SHA256,
        }
    }

    pub fn from_oid(oid: &str) -> Option<Algorithm> {
        match oid.trim() {
            OID_SM2_SM3 => Some(Algorithm::Sm2Sm3),
            OID_RSA_SHA256 => Some(Algorithm::RsaSha256),
            _ => None,
        }
    }

    /// The words 签名规则 uses for the algorithm.
    pub fn words(self) -> &'static str {
        match self {
            Algorithm::Sm2Sm3 => {
                "SM2 (GB/T 32918.2) 签名, 杂凑 SM3 (GB/T 32905), 用户标识 (ID) 1234567812345678, 签名值为 DER 编码的 SEQUENCE {r, s}"
            }
            Algorithm::RsaSha256 => {
                "RSA PKCS #1 v1.5 (RFC 8017) 签名, 杂凑 SHA-256 (sha256WithRSAEncryption)"
            }
        }
    }
}

/// A running hash of the bytes being signed.
#[derive(Clone)]
pub enum Hasher {
    Sm3(sm3::Sm3),
    Sha256(sha2::Sha256),
}

impl Hasher {
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sm3(h) => h.update(bytes),
            Hasher::Sha256(h) => h.update(bytes),
        }
    }
}

/// A public key that checks signatures.
#[derive(Debug, Clone)]
pub enum PublicKey {
    Sm2(sm2::PublicKey),
    Rsa(rsa::RsaPublicKey),
}

impl PublicKey {
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::Sm2(_) => Algorithm::Sm2Sm3,
            PublicKey::Rsa(_) => Algorithm::RsaSha256,
        }
    }

    /// From a DER SubjectPublicKeyInfo, or the SPKI inside a DER X.509 certificate.
    pub fn from_der(der: &[u8]) -> Result<PublicKey, String> {
        let spki = match x509_cert::Certificate::from_der(der) {
            Ok(cert) => cert
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .map_err(|e| e.to_string())?,
            Err(_) => der.to_vec(),
        };
        if let Ok(k) = sm2::PublicKey::from_public_key_der(&spki) {
            return Ok(PublicKey::Sm2(k));
        }
        use rsa::pkcs8::DecodePublicKey as _;
        rsa::RsaPublicKey::from_public_key_der(&spki)
            .map(PublicKey::Rsa)
            .map_err(|_| "neither an SM2 nor an RSA public key or certificate".to_string())
    }

    /// A fresh hasher for a message this key will check (SM2: SM3 primed with Z).
    pub fn hasher(&self) -> Hasher {
        match self {
            PublicKey::Sm2(k) => {
                let mut h = sm3::Sm3::new();
                h.update(z_a(k.as_affine()));
                Hasher::Sm3(h)
            }
            PublicKey::Rsa(_) => Hasher::Sha256(sha2::Sha256::new()),
        }
    }

    /// Check `signature` over the message hashed into `hasher` (made by [`PublicKey::hasher`]).
    pub fn verify(&self, hasher: Hasher, signature: &[u8]) -> Result<(), String> {
        use sm2::dsa::signature::hazmat::PrehashVerifier as _;
        match (self, hasher) {
            (PublicKey::Sm2(k), Hasher::Sm3(h)) => {
                let (r, s) = der_rs(signature).ok_or("签名结果 is not a DER SEQUENCE {r, s}")?;
                let sig = sm2::dsa::Signature::from_scalars(r, s)
                    .map_err(|_| "签名结果 holds r or s out of range")?;
                let vk = sm2::dsa::VerifyingKey::new(SM2_DISTID, *k).map_err(|e| e.to_string())?;
                vk.verify_prehash(&h.finalize(), &sig)
                    .map_err(|_| "the SM2 signature does not match".to_string())
            }
            (PublicKey::Rsa(k), Hasher::Sha256(h)) => {
                let vk = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(k.clone());
                let sig = rsa::pkcs1v15::Signature::try_from(signature)
                    .map_err(|_| "签名结果 is not an RSA signature".to_string())?;
                use rsa::signature::DigestVerifier as _;
                vk.verify_digest(h, &sig)
                    .map_err(|_| "the RSA signature does not match".to_string())
            }
            _ => Err("the hash does not belong to the key".into()),
        }
    }
}

/// The signer of a run: its key and what goes into 证书 (the certificate, or the public key alone).
#[derive(Clone)]
pub struct Signer {
    key: SignKey,
    /// DER X.509 certificate (from `--sign-cert`) or, without one, the DER SubjectPublicKeyInfo.
    pub certificate: Vec<u8>,
    /// Whether `certificate` is an X.509 certificate (else a bare public key).
    pub has_certificate: bool,
    /// Who signs (the certificate's subject, when there is one).
    pub signer_name: Option<String>,
}

#[derive(Clone)]
enum SignKey {
    Sm2(sm2::dsa::SigningKey),
    Rsa(Box<rsa::pkcs1v15::SigningKey<sha2::Sha256>>),
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("algorithm", &self.algorithm())
            .field("has_certificate", &self.has_certificate)
            .finish_non_exhaustive()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, KeyError> {
    crate::fsutil::read_regular(path, 1 << 20).map_err(|e| KeyError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

impl Signer {
    /// Load a private key (PEM) and, optionally, its certificate (PEM or DER).
    pub fn load(key: &Path, cert: Option<&Path>) -> Result<Signer, KeyError> {
        let pem = read(key)?;
        let text = String::from_utf8_lossy(&pem);
        let not_a_key = || KeyError::NotAKey {
            path: key.display().to_string(),
        };
        let (sign_key, spki) = if let Ok(sk) = sm2::SecretKey::from_pkcs8_pem(&text) {
            let spki = sk
                .public_key()
                .to_public_key_der()
                .map_err(|_| not_a_key())?
                .to_vec();
            let sk = sm2::dsa::SigningKey::new(SM2_DISTID, &sk).map_err(|_| not_a_key())?;
            (SignKey::Sm2(sk), spki)
        } else {
            use rsa::pkcs1::DecodeRsaPrivateKey as _;
            use rsa::pkcs8::EncodePublicKey as _;
            let rk = rsa::RsaPrivateKey::from_pkcs8_pem(&text)
                .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(&text))
                .map_err(|_| not_a_key())?;
            let spki = rk
                .to_public_key()
                .to_public_key_der()
                .map_err(|_| not_a_key())?
                .to_vec();
            (
                SignKey::Rsa(Box::new(rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(rk))),
                spki,
            )
        };
        let (certificate, has_certificate, signer_name) = match cert {
            None => (spki, false, None),
            Some(p) => {
                let bytes = read(p)?;
                let bad = |message: String| KeyError::NotACertificate {
                    path: p.display().to_string(),
                    message,
                };
                let c = x509_cert::Certificate::from_pem(&bytes)
                    .or_else(|_| x509_cert::Certificate::from_der(&bytes))
                    .map_err(|e| bad(e.to_string()))?;
                let cert_spki = c
                    .tbs_certificate
                    .subject_public_key_info
                    .to_der()
                    .map_err(|e| bad(e.to_string()))?;
                if cert_spki != spki {
                    return Err(KeyError::Mismatch {
                        path: p.display().to_string(),
                    });
                }
                let subject = c.tbs_certificate.subject.to_string();
                let der = c.to_der().map_err(|e| bad(e.to_string()))?;
                (der, true, Some(subject))
            }
        };
        Ok(Signer {
            key: sign_key,
            certificate,
            has_certificate,
            signer_name,
        })
    }

    pub fn algorithm(&self) -> Algorithm {
        match self.key {
            SignKey::Sm2(_) => Algorithm::Sm2Sm3,
            SignKey::Rsa(_) => Algorithm::RsaSha256,
        }
    }

    /// The public key (for checking what was just signed).
    pub fn public_key(&self) -> Result<PublicKey, String> {
        PublicKey::from_der(&self.certificate)
    }

    /// A fresh hasher for a message this signer will sign.
    pub fn hasher(&self) -> Hasher {
        match &self.key {
            SignKey::Sm2(k) => {
                let mut h = sm3::Sm3::new();
                h.update(z_a(k.verifying_key().as_affine()));
                Hasher::Sm3(h)
            }
            SignKey::Rsa(_) => Hasher::Sha256(sha2::Sha256::new()),
        }
    }

    /// Sign the message hashed into `hasher`: the DER signature (SM2) or the PKCS #1 block (RSA).
    pub fn sign(&self, hasher: Hasher) -> Result<Vec<u8>, KeyError> {
        match (&self.key, hasher) {
            (SignKey::Sm2(k), Hasher::Sm3(h)) => {
                use sm2::dsa::signature::hazmat::PrehashSigner as _;
                let sig: sm2::dsa::Signature = k
                    .sign_prehash(&h.finalize())
                    .map_err(|e| KeyError::Sign(e.to_string()))?;
                Ok(der_sequence(&sig.r_bytes(), &sig.s_bytes()))
            }
            (SignKey::Rsa(k), Hasher::Sha256(h)) => {
                use rsa::signature::{DigestSigner as _, SignatureEncoding as _};
                let sig = k
                    .try_sign_digest(h)
                    .map_err(|e| KeyError::Sign(e.to_string()))?;
                Ok(sig.to_vec())
            }
            _ => Err(KeyError::Sign("the hash does not belong to the key".into())),
        }
    }
}

/// The signer's identity hash Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA), GB/T 32918.2-2016 §5.5, with
/// the curve parameters of GB/T 32918.5-2017 and the ID [`SM2_DISTID`]. The `sm2` crate computes the same
/// value internally but does not expose it, and a streamed message needs it as the hash's prefix; the
/// unit test checks it against the crate's own one-shot signing.
fn z_a(key: &sm2::AffinePoint) -> [u8; 32] {
    const A: &str = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC";
    const B: &str = "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93";
    const XG: &str = "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7";
    const YG: &str = "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0";
    let mut h = sm3::Sm3::new();
    h.update(((SM2_DISTID.len() * 8) as u16).to_be_bytes());
    h.update(SM2_DISTID.as_bytes());
    for c in [A, B, XG, YG] {
        let bytes: Vec<u8> = (0..c.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(&c[i..i + 2], 16).ok())
            .collect();
        h.update(bytes);
    }
    let point = key.to_encoded_point(false);
    // Uncompressed SEC 1 point: 0x04 ‖ x ‖ y.
    h.update(&point.as_bytes()[1..]);
    h.finalize().into()
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` from two 32-byte big-endian scalars.
fn der_sequence(r: &[u8], s: &[u8]) -> Vec<u8> {
    fn int(v: &[u8]) -> Vec<u8> {
        let mut v: &[u8] = v;
        while v.len() > 1 && v[0] == 0 && v[1] < 0x80 {
            v = &v[1..];
        }
        let mut out = vec![0x02];
        let pad = v[0] >= 0x80;
        out.push((v.len() + pad as usize) as u8);
        if pad {
            out.push(0);
        }
        out.extend_from_slice(v);
        out
    }
    let body: Vec<u8> = [int(r), int(s)].concat();
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

/// r and s (32 bytes each) from a DER `SEQUENCE { INTEGER r, INTEGER s }`; `None` when it is not one.
fn der_rs(der: &[u8]) -> Option<([u8; 32], [u8; 32])> {
    let (&tag, rest) = der.split_first()?;
    let (&len, body) = rest.split_first()?;
    if tag != 0x30 || len as usize != body.len() || len >= 0x80 {
        return None;
    }
    let mut out = [[0u8; 32]; 2];
    let mut at = body;
    for slot in &mut out {
        let (&t, rest) = at.split_first()?;
        let (&l, rest) = rest.split_first()?;
        let l = l as usize;
        if t != 0x02 || l == 0 || l > 33 || rest.len() < l {
            return None;
        }
        let mut v = &rest[..l];
        if v.len() == 33 {
            if v[0] != 0 {
                return None;
            }
            v = &v[1..];
        }
        slot[32 - v.len()..].copy_from_slice(v);
        at = &rest[l..];
    }
    at.is_empty().then_some((out[0], out[1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SM2_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQgf9jNXyWNedzS8QdL
NN2mdAw+/XxYWUfM7fDbSY2EnrShRANCAAS6I+1Fx7f2a0K/yMPX9hKcjFwUrPFN
CW1jIad5OX2m6q1xEEMlipcowWtIntVZJONsiTn7e48C0ihGK/6BfoFo
-----END PRIVATE KEY-----
";

    #[test]
    fn streamed_sm2_signature_is_the_crates_own() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("k.pem");
        std::fs::write(&p, SM2_PEM).expect("write");
        let signer = Signer::load(&p, None).expect("an openssl SM2 key loads");
        assert_eq!(signer.algorithm(), Algorithm::Sm2Sm3);
        let mut h = signer.hasher();
        h.update(b"hello ");
        h.update(b"world");
        let sig = signer.sign(h).expect("sign");
        // The crate's one-shot verifier computes Z itself: it accepts what was signed from our Z.
        let (r, s) = der_rs(&sig).expect("DER");
        let sig2 = sm2::dsa::Signature::from_scalars(r, s).expect("scalars");
        let PublicKey::Sm2(pk) = signer.public_key().expect("spki") else {
            panic!("not SM2")
        };
        let vk = sm2::dsa::VerifyingKey::new(SM2_DISTID, pk).expect("vk");
        use sm2::dsa::signature::Verifier as _;
        vk.verify(b"hello world", &sig2).expect("verifies");
        assert!(vk.verify(b"hello worle", &sig2).is_err());
        let pk = signer.public_key().expect("pk");
        let mut h = pk.hasher();
        h.update(b"hello world");
        pk.verify(h, &sig).expect("verify");
    }

    #[test]
    fn der_round_trip() {
        let mut r = [0u8; 32];
        r[0] = 0x80;
        let mut s = [0u8; 32];
        s[31] = 1;
        let d = der_sequence(&r, &s);
        assert_eq!(der_rs(&d), Some((r, s)));
        assert_eq!(der_rs(&d[..d.len() - 1]), None);
    }
}
