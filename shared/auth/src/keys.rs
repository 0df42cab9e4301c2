//! The token signing key and how its public half reaches the verifiers.
//!
//! The signing secret (a random string from Secrets Manager, or `.local/jwt-secret`) is never the
//! key itself: the Ed25519 seed is SHA-256 of a fixed label and the secret, so the same secret
//! always gives the same key pair, and the key pair is of no use for anything else. Only the
//! function that signs holds the secret; it publishes the public key as a JWKS document
//! ([`Jwks`]) through a [`KeyDirectory`] (an object in the artifacts bucket in the cloud), where
//! every verifier reads it.

use std::sync::Mutex;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Fewer bytes of secret than this is refused: Secrets Manager generates 64.
pub const MIN_SECRET_BYTES: usize = 32;

/// Domain separation: the seed is of no use as anything but this key.
const SEED_LABEL: &[u8] = b"helixnet access-token signing key, Ed25519, v1\0";

/// PKCS#8 v1 (RFC 8410) of an Ed25519 private key, up to the 32-byte seed: SEQUENCE { version 0,
/// AlgorithmIdentifier { id-Ed25519 }, OCTET STRING { OCTET STRING (32 bytes) } }.
const PKCS8_V1_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the signing secret must be at least {MIN_SECRET_BYTES} bytes")]
    SecretTooShort,
    #[error("could not derive the signing key: {0}")]
    Derivation(String),
}

/// The Ed25519 key pair derived from the signing secret.
pub struct SigningKey {
    /// PKCS#8 v1 DER, what `jsonwebtoken::EncodingKey::from_ed_der` takes.
    pkcs8: Vec<u8>,
    public: [u8; 32],
    kid: String,
}

impl SigningKey {
    pub fn from_secret(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(KeyError::SecretTooShort);
        }
        let seed: [u8; 32] = Sha256::new().chain_update(SEED_LABEL).chain_update(secret).finalize().into();
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|e| KeyError::Derivation(e.to_string()))?;
        let public: [u8; 32] =
            pair.public_key().as_ref().try_into().map_err(|_| KeyError::Derivation("public key length".into()))?;
        let mut pkcs8 = Vec::with_capacity(PKCS8_V1_PREFIX.len() + seed.len());
        pkcs8.extend_from_slice(&PKCS8_V1_PREFIX);
        pkcs8.extend_from_slice(&seed);
        Ok(Self { pkcs8, public, kid: kid_of(&public) })
    }

    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    pub fn public_key(&self) -> &[u8; 32] {
        &self.public
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK (RFC 8037).
    pub fn jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: URL_SAFE_NO_PAD.encode(self.public),
            kid: self.kid.clone(),
            alg: Some("EdDSA".into()),
            key_use: Some("sig".into()),
        }
    }
}

/// The key id: the first 16 hex digits of SHA-256 of the public key.
pub fn kid_of(public_key: &[u8]) -> String {
    let digest = Sha256::digest(public_key);
    let mut kid = String::with_capacity(16);
    for byte in &digest[..8] {
        kid.push_str(&format!("{byte:02x}"));
    }
    kid
}

/// A JWKS document (RFC 7517 §5), as published and served at `/api/v1/auth/jwks.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// One public key. Reading is lenient (a key of another type is kept, then ignored by
/// [`Jwk::ed25519_public_key`]); writing gives `{"kty","crv","x","kid","alg","use"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default)]
    pub crv: String,
    #[serde(default)]
    pub x: String,
    #[serde(default)]
    pub kid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
}

impl Jwk {
    /// The raw 32-byte public key, if this is an Ed25519 signing key with a key id.
    pub fn ed25519_public_key(&self) -> Option<[u8; 32]> {
        let usable = self.kty == "OKP"
            && self.crv == "Ed25519"
            && !self.kid.is_empty()
            && self.alg.as_deref().is_none_or(|a| a == "EdDSA")
            && self.key_use.as_deref().is_none_or(|u| u == "sig");
        if !usable {
            return None;
        }
        URL_SAFE_NO_PAD.decode(self.x.trim_end_matches('=')).ok()?.try_into().ok()
    }
}

/// How many public keys the published set keeps: the current one and the ones before it, newest
/// first. A token is verified by the key that signed it as long as that key is in the set, so a
/// rotation logs nobody out as long as fewer than this many rotations happen within an access
/// token's lifetime (15 minutes).
pub const MAX_PUBLISHED_KEYS: usize = 3;

impl Jwks {
    /// The set to publish when `current` signs from now on: `current` first, then the usable keys
    /// of the set published before (`previous`), up to [`MAX_PUBLISHED_KEYS`] in all.
    pub fn rotated(current: Jwk, previous: Option<Jwks>) -> Jwks {
        let kid = current.kid.clone();
        let earlier = previous
            .unwrap_or_default()
            .keys
            .into_iter()
            .filter(|key| key.kid != kid && key.ed25519_public_key().is_some());
        Jwks { keys: std::iter::once(current).chain(earlier).take(MAX_PUBLISHED_KEYS).collect() }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a JWKS serialises")
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, KeyDirectoryError> {
        serde_json::from_slice(bytes).map_err(|e| KeyDirectoryError(format!("the key set is not a JWKS document: {e}")))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("public keys: {0}")]
pub struct KeyDirectoryError(pub String);

/// Where the signer publishes its public keys and the verifiers read them.
#[async_trait]
pub trait KeyDirectory: Send + Sync {
    /// The published key set; `None` while nothing is published.
    async fn load(&self) -> Result<Option<Jwks>, KeyDirectoryError>;
    /// Replaces the published key set (idempotent).
    async fn publish(&self, keys: &Jwks) -> Result<(), KeyDirectoryError>;
}

/// In memory, for tests: counts its loads and can be made to fail.
#[derive(Default)]
pub struct MemoryKeyDirectory {
    keys: Mutex<Option<Jwks>>,
    loads: Mutex<usize>,
    failing: Mutex<bool>,
}

impl MemoryKeyDirectory {
    pub fn with(keys: Jwks) -> Self {
        Self { keys: Mutex::new(Some(keys)), ..Self::default() }
    }

    pub fn loads(&self) -> usize {
        *self.loads.lock().unwrap()
    }

    pub fn set_failing(&self, failing: bool) {
        *self.failing.lock().unwrap() = failing;
    }
}

#[async_trait]
impl KeyDirectory for MemoryKeyDirectory {
    async fn load(&self) -> Result<Option<Jwks>, KeyDirectoryError> {
        *self.loads.lock().unwrap() += 1;
        if *self.failing.lock().unwrap() {
            return Err(KeyDirectoryError("the directory is unavailable".into()));
        }
        Ok(self.keys.lock().unwrap().clone())
    }

    async fn publish(&self, keys: &Jwks) -> Result<(), KeyDirectoryError> {
        *self.keys.lock().unwrap() = Some(keys.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn the_same_secret_gives_the_same_key_and_another_secret_another() {
        let (a, b) = (SigningKey::from_secret(SECRET).unwrap(), SigningKey::from_secret(SECRET).unwrap());
        assert_eq!((a.public_key(), a.kid()), (b.public_key(), b.kid()));
        let other = SigningKey::from_secret(b"another secret, another secret, another").unwrap();
        assert_ne!(a.public_key(), other.public_key());
        assert_ne!(a.kid(), other.kid());
        assert_eq!(a.kid().len(), 16);
        assert!(a.kid().chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(matches!(SigningKey::from_secret(&SECRET[..31]), Err(KeyError::SecretTooShort)));
    }

    #[test]
    fn the_pkcs8_document_holds_the_derived_key_pair() {
        let key = SigningKey::from_secret(SECRET).unwrap();
        assert_eq!(key.pkcs8_der().len(), 48);
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(key.pkcs8_der()).unwrap();
        assert_eq!(pair.public_key().as_ref(), key.public_key());
        assert_eq!(key.kid(), kid_of(pair.public_key().as_ref()));
    }

    #[test]
    fn the_jwk_round_trips_and_names_its_fields_as_rfc_8037() {
        let key = SigningKey::from_secret(SECRET).unwrap();
        let jwks = Jwks { keys: vec![key.jwk()] };
        let json: serde_json::Value = serde_json::from_slice(&jwks.to_json()).unwrap();
        let jwk = &json["keys"][0];
        assert_eq!(
            (&jwk["kty"], &jwk["crv"], &jwk["alg"], &jwk["use"]),
            (&"OKP".into(), &"Ed25519".into(), &"EdDSA".into(), &"sig".into())
        );
        assert_eq!(jwk["kid"], key.kid());
        let back = Jwks::from_json(&jwks.to_json()).unwrap();
        assert_eq!(back.keys[0].ed25519_public_key().as_ref(), Some(key.public_key()));
    }

    #[test]
    fn a_rotated_set_puts_the_new_key_first_and_keeps_the_last_ones_before_it() {
        let key = |n: u8| SigningKey::from_secret(&[n; 32]).unwrap().jwk();
        let once = Jwks::rotated(key(1), None);
        assert_eq!(once.keys, [key(1)]);
        assert_eq!(Jwks::rotated(key(1), Some(once.clone())), once, "publishing the same key again changes nothing");
        let mut set = once;
        for n in 2..=4 {
            set = Jwks::rotated(key(n), Some(set));
        }
        assert_eq!(set.keys, [key(4), key(3), key(2)], "at most {MAX_PUBLISHED_KEYS}, the oldest dropped");
        let foreign = Jwk { kty: "RSA".into(), ..key(9) };
        assert_eq!(Jwks::rotated(key(5), Some(Jwks { keys: vec![foreign] })).keys, [key(5)]);
    }

    #[test]
    fn keys_of_other_kinds_are_ignored() {
        let jwks = Jwks::from_json(
            br#"{"keys":[{"kty":"RSA","n":"abc","e":"AQAB","kid":"r1"},
            {"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"short"},
            {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k","use":"enc"}]}"#,
        )
        .unwrap();
        assert!(jwks.keys.iter().all(|k| k.ed25519_public_key().is_none()));
        assert!(Jwks::from_json(b"<html>").is_err());
    }
}
