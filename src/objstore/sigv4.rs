//! AWS Signature Version 4 for S3 requests (header form), as the AWS documentation "Create a signed AWS API
//! request" describes it: canonical request → string to sign → HMAC-SHA256 chain → `Authorization`.
//! Only what dangan sends is supported: a path-style URI, a sorted query string that the caller already
//! encoded with [`uri_encode`], and the headers `host`, `x-amz-content-sha256`, `x-amz-date` (and
//! `x-amz-security-token` with temporary credentials). The secret never leaves this module.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::fixity::digest::hex;

type HmacSha256 = Hmac<Sha256>;

/// The SHA-256 of an empty payload (GET, HEAD, DELETE).
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Access key, secret and optional session token. `Debug` never shows the secret.
#[derive(Clone)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<hidden>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<hidden>"),
            )
            .finish()
    }
}

/// RFC 3986 unreserved characters stay, every other byte becomes `%XX` (upper case), as SigV4 asks;
/// `/` stays only when `keep_slash` (object keys in a path).
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/');
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut m = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// The headers to add to a request: `(name, value)` pairs, `authorization` last.
#[allow(clippy::too_many_arguments)]
pub fn sign(
    creds: &Credentials,
    region: &str,
    method: &str,
    host: &str,
    path: &str,
    query: &str,
    payload_sha256: &str,
    amz_date: &str,
) -> Vec<(&'static str, String)> {
    let date = &amz_date[..8.min(amz_date.len())];
    let mut headers: Vec<(&'static str, String)> = vec![
        ("host", host.to_string()),
        ("x-amz-content-sha256", payload_sha256.to_string()),
        ("x-amz-date", amz_date.to_string()),
    ];
    if let Some(t) = &creds.session_token {
        headers.push(("x-amz-security-token", t.clone()));
    }
    let signed: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
    let signed = signed.join(";");
    let canonical_headers: String = headers
        .iter()
        .map(|(n, v)| format!("{n}:{}\n", v.trim()))
        .collect();
    let canonical =
        format!("{method}\n{path}\n{query}\n{canonical_headers}\n{signed}\n{payload_sha256}");
    let scope = format!("{date}/{region}/s3/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let k_date = hmac(
        format!("AWS4{}", creds.secret_key).as_bytes(),
        date.as_bytes(),
    );
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, b"s3");
    let k_signing = hmac(&k_service, b"aws4_request");
    let signature = hex(&hmac(&k_signing, to_sign.as_bytes()));
    headers.push((
        "authorization",
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
            creds.access_key
        ),
    ));
    // `host` is set by the HTTP client from the URL (the same value).
    headers.retain(|(n, _)| *n != "host");
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of the AWS S3 documentation ("Example: GET Object", Authenticating Requests:
    /// Using the Authorization Header, SigV4): a GET of /test.txt with `Range: bytes=0-9` signed — here
    /// without the range header, so its published signature does not apply; the example of "GET Bucket
    /// Lifecycle" has only host, x-amz-content-sha256 and x-amz-date signed, as dangan signs.
    #[test]
    fn aws_documentation_example_get_bucket_lifecycle() {
        let creds = Credentials {
            access_key: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let h = sign(
            &creds,
            "us-east-1",
            "GET",
            "examplebucket.s3.amazonaws.com",
            "/",
            "lifecycle=",
            EMPTY_SHA256,
            "20130524T000000Z",
        );
        let auth = &h.iter().find(|(n, _)| *n == "authorization").unwrap().1;
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date, \
             Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
        );
        assert!(!format!("{creds:?}").contains("wJalr"));
    }

    #[test]
    fn keys_are_encoded_byte_by_byte() {
        assert_eq!(
            uri_encode("a b/档案+.zip", true),
            "a%20b/%E6%A1%A3%E6%A1%88%2B.zip"
        );
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
    }
}
