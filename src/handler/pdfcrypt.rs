//! Opening PDFs encrypted by the standard security handler with the empty user password — the "owner
//! password only" PDFs that restrict printing or copying but open without asking, common among government
//! documents. Only what characterization needs: the strings and streams of the loaded objects.
//!
//! ISO 32000-1 §7.6.2 (Algorithm 1, per-object keys; RC4 and AES-128-CBC "AESV2"), §7.6.3.3 (Algorithm 2,
//! the file key; Algorithms 4 and 5, checking the user password), ISO 32000-2 §7.6.4.3.3–4 (Algorithm 2.A
//! and 2.B, AES-256 "AESV3", revisions 5 and 6). lopdf 0.34 decrypts only RC4 (V 1–2, R 2–3), decrypts
//! strings only at the top of an object, and drops object streams it cannot read while encrypted; all three
//! are handled here. AES is FIPS 197, written out below (about 100 lines) rather than pulled in as a
//! dependency for one reader.

use std::collections::HashSet;

use lopdf::xref::XrefEntry;
use lopdf::{Dictionary, Document, Object, ObjectId};
use md5::{Digest, Md5};
use sha2::{Sha256, Sha384, Sha512};

/// The 32-byte padding string of Algorithm 2 step (a).
const PAD: [u8; 32] = [
    0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
    0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
];

// ---------------------------------------------------------------------------------------------------------
// AES (FIPS 197) and RC4.

const fn sbox() -> [u8; 256] {
    // FIPS 197 §5.1.1: multiplicative inverse in GF(2^8), then the affine transformation; p walks the
    // field by multiplying by 3, q by its inverse.
    let mut s = [0u8; 256];
    let (mut p, mut q) = (1u8, 1u8);
    loop {
        p = p ^ (p << 1) ^ if p & 0x80 != 0 { 0x1B } else { 0 };
        q ^= q << 1;
        q ^= q << 2;
        q ^= q << 4;
        if q & 0x80 != 0 {
            q ^= 0x09;
        }
        let x = q ^ q.rotate_left(1) ^ q.rotate_left(2) ^ q.rotate_left(3) ^ q.rotate_left(4);
        s[p as usize] = x ^ 0x63;
        if p == 1 {
            break;
        }
    }
    s[0] = 0x63;
    s
}

const fn inv_sbox() -> [u8; 256] {
    let s = sbox();
    let mut inv = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        inv[s[i] as usize] = i as u8;
        i += 1;
    }
    inv
}

static SBOX: [u8; 256] = sbox();
static INV_SBOX: [u8; 256] = inv_sbox();

fn gmul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        let hi = a & 0x80;
        a <<= 1;
        if hi != 0 {
            a ^= 0x1B;
        }
        b >>= 1;
    }
    p
}

/// An expanded AES-128 or AES-256 key (FIPS 197 §5.2).
struct Aes {
    round_keys: Vec<[u8; 16]>,
}

impl Aes {
    fn new(key: &[u8]) -> Option<Self> {
        let nk = match key.len() {
            16 => 4,
            32 => 8,
            _ => return None,
        };
        let nr = nk + 6;
        let mut w: Vec<[u8; 4]> = key
            .chunks_exact(4)
            .map(|c| [c[0], c[1], c[2], c[3]])
            .collect();
        let mut rcon = 1u8;
        for i in nk..4 * (nr + 1) {
            let mut t = w[i - 1];
            if i % nk == 0 {
                t = [
                    SBOX[t[1] as usize] ^ rcon,
                    SBOX[t[2] as usize],
                    SBOX[t[3] as usize],
                    SBOX[t[0] as usize],
                ];
                rcon = gmul(rcon, 2);
            } else if nk > 6 && i % nk == 4 {
                t = t.map(|b| SBOX[b as usize]);
            }
            let prev = w[i - nk];
            w.push([
                prev[0] ^ t[0],
                prev[1] ^ t[1],
                prev[2] ^ t[2],
                prev[3] ^ t[3],
            ]);
        }
        let round_keys = w
            .chunks_exact(4)
            .map(|c| {
                let mut k = [0u8; 16];
                for (j, word) in c.iter().enumerate() {
                    k[4 * j..4 * j + 4].copy_from_slice(word);
                }
                k
            })
            .collect();
        Some(Aes { round_keys })
    }

    fn add(s: &mut [u8; 16], k: &[u8; 16]) {
        s.iter_mut().zip(k).for_each(|(a, b)| *a ^= b);
    }

    fn encrypt(&self, block: &mut [u8; 16]) {
        let nr = self.round_keys.len() - 1;
        Self::add(block, &self.round_keys[0]);
        for round in 1..=nr {
            block.iter_mut().for_each(|b| *b = SBOX[*b as usize]);
            let s = *block;
            for c in 0..4 {
                for r in 0..4 {
                    block[r + 4 * c] = s[r + 4 * ((c + r) % 4)];
                }
            }
            if round != nr {
                for c in 0..4 {
                    let a = [
                        block[4 * c],
                        block[4 * c + 1],
                        block[4 * c + 2],
                        block[4 * c + 3],
                    ];
                    block[4 * c] = gmul(a[0], 2) ^ gmul(a[1], 3) ^ a[2] ^ a[3];
                    block[4 * c + 1] = a[0] ^ gmul(a[1], 2) ^ gmul(a[2], 3) ^ a[3];
                    block[4 * c + 2] = a[0] ^ a[1] ^ gmul(a[2], 2) ^ gmul(a[3], 3);
                    block[4 * c + 3] = gmul(a[0], 3) ^ a[1] ^ a[2] ^ gmul(a[3], 2);
                }
            }
            Self::add(block, &self.round_keys[round]);
        }
    }

    fn decrypt(&self, block: &mut [u8; 16]) {
        let nr = self.round_keys.len() - 1;
        Self::add(block, &self.round_keys[nr]);
        for round in (0..nr).rev() {
            let s = *block;
            for c in 0..4 {
                for r in 0..4 {
                    block[r + 4 * ((c + r) % 4)] = s[r + 4 * c];
                }
            }
            block.iter_mut().for_each(|b| *b = INV_SBOX[*b as usize]);
            Self::add(block, &self.round_keys[round]);
            if round != 0 {
                for c in 0..4 {
                    let a = [
                        block[4 * c],
                        block[4 * c + 1],
                        block[4 * c + 2],
                        block[4 * c + 3],
                    ];
                    block[4 * c] = gmul(a[0], 14) ^ gmul(a[1], 11) ^ gmul(a[2], 13) ^ gmul(a[3], 9);
                    block[4 * c + 1] =
                        gmul(a[0], 9) ^ gmul(a[1], 14) ^ gmul(a[2], 11) ^ gmul(a[3], 13);
                    block[4 * c + 2] =
                        gmul(a[0], 13) ^ gmul(a[1], 9) ^ gmul(a[2], 14) ^ gmul(a[3], 11);
                    block[4 * c + 3] =
                        gmul(a[0], 11) ^ gmul(a[1], 13) ^ gmul(a[2], 9) ^ gmul(a[3], 14);
                }
            }
        }
    }

    /// CBC encryption without padding (`data` is a multiple of 16 bytes).
    fn cbc_encrypt(&self, iv: &[u8; 16], data: &mut [u8]) {
        let mut prev = *iv;
        for chunk in data.chunks_exact_mut(16) {
            let mut b = [0u8; 16];
            b.iter_mut()
                .zip(chunk.iter().zip(&prev))
                .for_each(|(o, (p, v))| *o = p ^ v);
            self.encrypt(&mut b);
            chunk.copy_from_slice(&b);
            prev = b;
        }
    }

    /// CBC decryption without padding removal; a trailing partial block is dropped.
    fn cbc_decrypt(&self, iv: &[u8; 16], data: &[u8]) -> Vec<u8> {
        let mut prev = *iv;
        let mut out = Vec::with_capacity(data.len());
        for chunk in data.chunks_exact(16) {
            let mut b = [0u8; 16];
            b.copy_from_slice(chunk);
            self.decrypt(&mut b);
            out.extend(b.iter().zip(&prev).map(|(a, v)| a ^ v));
            prev.copy_from_slice(chunk);
        }
        out
    }
}

/// AES-CBC as PDF uses it (§7.6.2): the first 16 bytes are the IV, the plaintext is padded as in RFC 8018
/// §6.1.1 (PKCS #5).
fn aes_cbc_pdf(key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    if data.len() < 32 || !data.len().is_multiple_of(16) {
        // An empty string encrypts to the IV and one block of padding; shorter input is damaged.
        return (data.len() == 16).then(Vec::new);
    }
    let aes = Aes::new(key)?;
    let iv: [u8; 16] = data[..16].try_into().ok()?;
    let mut out = aes.cbc_decrypt(&iv, &data[16..]);
    let pad = *out.last()? as usize;
    if (1..=16).contains(&pad) && out.len() >= pad {
        out.truncate(out.len() - pad);
    }
    Some(out)
}

fn rc4(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut s: [u8; 256] = std::array::from_fn(|i| i as u8);
    let mut j = 0u8;
    for i in 0..256 {
        j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len()]);
        s.swap(i, j as usize);
    }
    let (mut i, mut j) = (0u8, 0u8);
    data.iter()
        .map(|&b| {
            i = i.wrapping_add(1);
            j = j.wrapping_add(s[i as usize]);
            s.swap(i as usize, j as usize);
            b ^ s[s[i as usize].wrapping_add(s[j as usize]) as usize]
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------
// The standard security handler.

/// How strings or streams are encrypted (a crypt filter's /CFM, Table 25).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    None,
    Rc4,
    Aes128,
    Aes256,
}

/// The file key and the methods for streams and strings.
pub struct Handler {
    key: Vec<u8>,
    streams: Method,
    strings: Method,
    encrypt_metadata: bool,
    encrypt_id: Option<ObjectId>,
}

fn bytes_of<'a>(dict: &'a Dictionary, key: &[u8]) -> Option<&'a [u8]> {
    dict.get(key).ok()?.as_str().ok()
}

/// The method of the crypt filter named by /StmF or /StrF (V 4 and 5).
fn filter_method(dict: &Dictionary, which: &[u8]) -> Method {
    let name = dict
        .get(which)
        .and_then(Object::as_name)
        .unwrap_or(b"Identity");
    if name == b"Identity" {
        return Method::None;
    }
    let cfm = dict
        .get(b"CF")
        .and_then(Object::as_dict)
        .and_then(|cf| cf.get(name))
        .and_then(Object::as_dict)
        .and_then(|f| f.get(b"CFM"))
        .and_then(Object::as_name)
        .unwrap_or(b"None");
    match cfm {
        b"V2" => Method::Rc4,
        b"AESV2" => Method::Aes128,
        b"AESV3" => Method::Aes256,
        _ => Method::None,
    }
}

/// Algorithm 2.B (ISO 32000-2 §7.6.4.3.4): the hash of revision 6.
fn hash_2b(password: &[u8], salt: &[u8], udata: &[u8]) -> Option<[u8; 32]> {
    let mut k: Vec<u8> = Sha256::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(udata)
        .finalize()
        .to_vec();
    let mut round = 0u32;
    loop {
        let mut k1 = Vec::with_capacity(64 * (password.len() + k.len() + udata.len()));
        for _ in 0..64 {
            k1.extend_from_slice(password);
            k1.extend_from_slice(&k);
            k1.extend_from_slice(udata);
        }
        let aes = Aes::new(&k[..16])?;
        let iv: [u8; 16] = k[16..32].try_into().ok()?;
        aes.cbc_encrypt(&iv, &mut k1);
        let e = k1;
        // The first 16 bytes as a 128-bit big-endian number, modulo 3: 256 ≡ 1 (mod 3), so the byte sum.
        let n = e[..16].iter().map(|&b| u32::from(b)).sum::<u32>() % 3;
        k = match n {
            0 => Sha256::digest(&e).to_vec(),
            1 => Sha384::digest(&e).to_vec(),
            _ => Sha512::digest(&e).to_vec(),
        };
        round += 1;
        if round >= 64 && u32::from(*e.last()?) <= round - 32 {
            break;
        }
    }
    k[..32].try_into().ok()
}

impl Handler {
    /// Open the standard security handler of `doc` with the empty user password.
    pub fn open(doc: &Document) -> Result<Handler, String> {
        let encrypt_id = doc
            .trailer
            .get(b"Encrypt")
            .and_then(Object::as_reference)
            .ok();
        let dict = doc
            .get_encrypted()
            .map_err(|_| "no readable /Encrypt dictionary".to_owned())?;
        let filter = dict
            .get(b"Filter")
            .and_then(Object::as_name)
            .unwrap_or_default();
        if filter != b"Standard" {
            return Err(format!(
                "security handler /{} (only /Standard opens without a certificate or plug-in)",
                String::from_utf8_lossy(filter)
            ));
        }
        let int = |k: &[u8]| dict.get(k).and_then(Object::as_i64).ok();
        let v = int(b"V").unwrap_or(0);
        let r = int(b"R").ok_or("no /R")?;
        let encrypt_metadata = dict
            .get(b"EncryptMetadata")
            .and_then(Object::as_bool)
            .unwrap_or(true);
        let o = bytes_of(dict, b"O").ok_or("no /O")?;
        let u = bytes_of(dict, b"U").ok_or("no /U")?;
        let (streams, strings) = match v {
            1 | 2 => (Method::Rc4, Method::Rc4),
            4 | 5 => (filter_method(dict, b"StmF"), filter_method(dict, b"StrF")),
            _ => return Err(format!("/V {v} is not a standard encryption algorithm")),
        };
        let key = if r >= 5 {
            // Algorithm 2.A: the user password "" validated against /U, then /UE decrypted.
            if u.len() < 48 {
                return Err("/U shorter than 48 bytes".into());
            }
            let ue = bytes_of(dict, b"UE").ok_or("no /UE")?;
            let (hash, key_hash): (Vec<u8>, Vec<u8>) = if r == 5 {
                (
                    Sha256::digest(&u[32..40]).to_vec(),
                    Sha256::digest(&u[40..48]).to_vec(),
                )
            } else {
                (
                    hash_2b(b"", &u[32..40], b"").ok_or("hash")?.to_vec(),
                    hash_2b(b"", &u[40..48], b"").ok_or("hash")?.to_vec(),
                )
            };
            if hash[..] != u[..32] {
                return Err("the user password is not empty".into());
            }
            if ue.len() < 32 {
                return Err("/UE shorter than 32 bytes".into());
            }
            let aes = Aes::new(&key_hash).ok_or("key")?;
            aes.cbc_decrypt(&[0; 16], &ue[..32])
        } else {
            // Algorithm 2.
            // /Length is in bits (Table 20): 40 by default, 128 for the crypt filters of V 4.
            let len = match v {
                1 => 5,
                4 => (int(b"Length").unwrap_or(128) / 8).clamp(5, 16) as usize,
                _ => (int(b"Length").unwrap_or(40) / 8).clamp(5, 16) as usize,
            };
            let len = if streams == Method::Aes128 || strings == Method::Aes128 {
                16
            } else {
                len
            };
            let id0 = doc
                .trailer
                .get(b"ID")
                .and_then(Object::as_array)
                .ok()
                .and_then(|a| a.first())
                .and_then(|o| o.as_str().ok())
                .unwrap_or_default();
            let p = int(b"P").ok_or("no /P")? as i32;
            let mut h = Md5::new();
            h.update(PAD);
            h.update(o.get(..32).unwrap_or(o));
            h.update(p.to_le_bytes());
            h.update(id0);
            if r >= 4 && !encrypt_metadata {
                h.update([0xFF; 4]);
            }
            let mut key = h.finalize().to_vec();
            if r >= 3 {
                for _ in 0..50 {
                    key = Md5::digest(&key[..len]).to_vec();
                }
            }
            key.truncate(len);
            // Algorithms 4 (R 2) and 5 (R ≥ 3): the empty user password must reproduce /U.
            let ok = if r == 2 {
                rc4(&key, &PAD) == u.get(..32).unwrap_or(u)
            } else {
                let mut x = rc4(
                    &key,
                    &Md5::new().chain_update(PAD).chain_update(id0).finalize(),
                );
                for i in 1..=19u8 {
                    let k: Vec<u8> = key.iter().map(|b| b ^ i).collect();
                    x = rc4(&k, &x);
                }
                u.len() >= 16 && x[..16] == u[..16]
            };
            if !ok {
                return Err("the user password is not empty".into());
            }
            key
        };
        Ok(Handler {
            key,
            streams,
            strings,
            encrypt_metadata,
            encrypt_id,
        })
    }

    fn scheme(m: Method) -> &'static str {
        match m {
            Method::None => "none",
            Method::Rc4 => "RC4",
            Method::Aes128 => "AES-128",
            Method::Aes256 => "AES-256",
        }
    }

    /// The algorithm, for the record (`AES-256`, `RC4`).
    pub fn name(&self) -> &'static str {
        Self::scheme(if self.streams == Method::None {
            self.strings
        } else {
            self.streams
        })
    }

    /// Algorithm 1: decrypt the data of object `id` with `method`.
    fn decrypt(&self, method: Method, id: ObjectId, data: &[u8]) -> Option<Vec<u8>> {
        match method {
            Method::None => Some(data.to_vec()),
            Method::Aes256 => aes_cbc_pdf(&self.key, data),
            Method::Rc4 | Method::Aes128 => {
                let mut h = Md5::new();
                h.update(&self.key);
                h.update(&id.0.to_le_bytes()[..3]);
                h.update(&id.1.to_le_bytes()[..2]);
                if method == Method::Aes128 {
                    h.update(b"sAlT");
                }
                let digest = h.finalize();
                let k = &digest[..(self.key.len() + 5).min(16)];
                if method == Method::Rc4 {
                    Some(rc4(k, data))
                } else {
                    aes_cbc_pdf(k, data)
                }
            }
        }
    }

    /// Decrypt every string inside `obj` (the strings of dictionaries and arrays too).
    fn strings_in(&self, id: ObjectId, obj: &mut Object, depth: u32) {
        if depth > 64 {
            return;
        }
        match obj {
            Object::String(s, _) => {
                if let Some(plain) = self.decrypt(self.strings, id, s) {
                    *s = plain;
                }
            }
            Object::Array(a) => a.iter_mut().for_each(|o| self.strings_in(id, o, depth + 1)),
            Object::Dictionary(d) => d
                .iter_mut()
                .for_each(|(_, o)| self.strings_in(id, o, depth + 1)),
            Object::Stream(s) => s
                .dict
                .iter_mut()
                .for_each(|(_, o)| self.strings_in(id, o, depth + 1)),
            _ => {}
        }
    }

    /// Decrypt one indirect object in place (its strings and, for a stream, its data), except what
    /// §7.6.1 leaves in clear: the /Encrypt dictionary, cross-reference streams and, with
    /// /EncryptMetadata false, metadata streams.
    fn object(&self, id: ObjectId, obj: &mut Object) {
        if Some(id) == self.encrypt_id {
            return;
        }
        if let Object::Stream(s) = obj {
            let kind = s.dict.get(b"Type").and_then(Object::as_name).ok();
            if kind == Some(b"XRef") {
                return;
            }
            if (kind != Some(b"Metadata") || self.encrypt_metadata)
                && let Some(plain) = self.decrypt(self.streams, id, &s.content)
            {
                s.set_content(plain);
            }
        }
        self.strings_in(id, obj, 0);
    }
}

/// Decrypt `doc` (loaded from `bytes`) in place with the empty user password, and read the object streams
/// that lopdf dropped while they were encrypted. Returns the algorithm's name.
pub fn decrypt_empty_password(doc: &mut Document, bytes: &[u8]) -> Result<&'static str, String> {
    let handler = Handler::open(doc)?;
    let ids: Vec<ObjectId> = doc.objects.keys().copied().collect();
    for id in ids {
        if let Some(obj) = doc.objects.get_mut(&id) {
            handler.object(id, obj);
        }
    }
    // Object streams: lopdf 0.34 parses them while loading, "decompresses" the ciphertext into garbage and
    // keeps the wreck, or drops the stream. Read each one again from its offset, decrypt it and add the
    // objects it holds.
    let is_objstm = |o: &Object| {
        o.as_stream()
            .is_ok_and(|s| s.dict.get(b"Type").and_then(Object::as_name).ok() == Some(b"ObjStm"))
    };
    let mut reader = lopdf::Reader {
        buffer: bytes,
        document: Document::new(),
    };
    reader.document.reference_table = doc.reference_table.clone();
    let again: Vec<ObjectId> = doc
        .reference_table
        .entries
        .iter()
        .filter_map(|(&n, e)| match *e {
            XrefEntry::Normal { generation, .. } => {
                let id = (n, generation);
                match doc.objects.get(&id) {
                    None => Some(id),
                    Some(o) if is_objstm(o) => Some(id),
                    Some(_) => None,
                }
            }
            _ => None,
        })
        .collect();
    for id in again {
        let Ok(mut obj) = reader.get_object(id, &mut HashSet::new()) else {
            continue;
        };
        handler.object(id, &mut obj);
        if is_objstm(&obj)
            && let Object::Stream(s) = &mut obj.clone()
            && let Ok(os) = lopdf::ObjectStream::new(s)
        {
            for (oid, o) in os.objects {
                doc.objects.entry(oid).or_insert(o);
            }
        }
        doc.objects.insert(id, obj);
    }
    doc.trailer.remove(b"Encrypt");
    Ok(handler.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn aes_fips_197_appendix_c() {
        let plain: [u8; 16] = hex("00112233445566778899aabbccddeeff").try_into().unwrap();
        for (key, cipher) in [
            (
                "000102030405060708090a0b0c0d0e0f",
                "69c4e0d86a7b0430d8cdb78070b4c55a",
            ),
            (
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                "8ea2b7ca516745bfeafc49904b496089",
            ),
        ] {
            let aes = Aes::new(&hex(key)).unwrap();
            let mut b = plain;
            aes.encrypt(&mut b);
            assert_eq!(b.to_vec(), hex(cipher));
            aes.decrypt(&mut b);
            assert_eq!(b, plain);
        }
    }

    #[test]
    fn rc4_known_answer() {
        // The "Key"/"Plaintext" vector of the original RC4 description.
        assert_eq!(rc4(b"Key", b"Plaintext"), hex("bbf316e8d940af0ad3"));
    }
}
