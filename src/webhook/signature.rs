//! Standard Webhooks signatures (<https://www.standardwebhooks.com>, the scheme svix
//! and others send): `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`,
//! keyed by the endpoint's secret, written `whsec_<base64 key>`. While a secret is
//! being rotated both sign, space-separated, so a receiver holding either verifies.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// What every secret starts with.
pub const SECRET_PREFIX: &str = "whsec_";
/// Bytes of key in a secret this service makes.
const KEY_BYTES: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("a webhook secret is `whsec_` followed by base64")]
    NotBase64,
    #[error("a webhook secret's key must be 24 to 64 bytes")]
    Length,
}

/// A new endpoint secret: 32 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; KEY_BYTES];
    rand::thread_rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The key of a secret (with or without its prefix).
pub fn decode_secret(secret: &str) -> Result<Vec<u8>, SecretError> {
    let b64 = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let key = STANDARD.decode(b64).map_err(|_| SecretError::NotBase64)?;
    if !(24..=64).contains(&key.len()) {
        return Err(SecretError::Length);
    }
    Ok(key)
}

fn mac(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    m.update(msg_id.as_bytes());
    m.update(b".");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

/// One key's signature: `v1,<base64>`.
pub fn sign(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    format!("v1,{}", STANDARD.encode(mac(key, msg_id, timestamp, body)))
}

/// The `webhook-signature` header: every key's signature, space-separated (the newest
/// first during a rotation).
pub fn header(keys: &[Vec<u8>], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    (keys.iter())
        .map(|k| sign(k, msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether some `v1` signature of `header` is `key`'s for this message, compared in
/// constant time (what a receiver does; the tests' receiver uses it).
pub fn verify(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let want = mac(key, msg_id, timestamp, body);
    header
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .any(|got| bool::from(got.ct_eq(&want)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's published test vector.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signs_the_specifications_test_vector() {
        let key = decode_secret(SECRET).unwrap();
        assert_eq!(sign(&key, ID, TS, BODY), SIGNATURE);
        assert!(verify(&key, ID, TS, BODY, SIGNATURE));
        // Without its prefix, the same key.
        assert_eq!(decode_secret(&SECRET[SECRET_PREFIX.len()..]).unwrap(), key);
    }

    #[test]
    fn a_changed_byte_fails_and_a_rotation_signs_with_both() {
        let key = decode_secret(SECRET).unwrap();
        assert!(!verify(&key, ID, TS, br#"{"test": 2432232315}"#, SIGNATURE));
        assert!(!verify(&key, "msg_other", TS, BODY, SIGNATURE));
        assert!(!verify(&key, ID, TS + 1, BODY, SIGNATURE));
        let new = decode_secret(&new_secret()).unwrap();
        assert_eq!(new.len(), 32);
        let both = header(&[new.clone(), key.clone()], ID, TS, BODY);
        assert_eq!(both.split(' ').nth(1), Some(SIGNATURE));
        assert!(verify(&key, ID, TS, BODY, &both) && verify(&new, ID, TS, BODY, &both));
        assert_ne!(new_secret(), new_secret());
    }

    #[test]
    fn refuses_what_is_no_secret() {
        assert_eq!(
            decode_secret("whsec_not base64!"),
            Err(SecretError::NotBase64)
        );
        assert_eq!(decode_secret("whsec_c2hvcnQ="), Err(SecretError::Length));
    }
}
