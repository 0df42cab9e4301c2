use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode};
use serde::{Deserialize, Serialize};

use helix_domain::User;

use crate::keys::{Jwks, KeyDirectory, KeyDirectoryError, KeyError, SigningKey};

/// The one algorithm accepted: a token naming any other (`none`, HS256 with the public key as an
/// HMAC secret, RS256) is refused before its signature is looked at.
const ALGORITHM: Algorithm = Algorithm::EdDSA;

/// How often, at most, a verifier reloads the published keys for a token naming a key it does
/// not know (a rotated key, or a forged token: either way at most one read per interval).
pub const KEY_RELOAD_INTERVAL: Duration = Duration::from_secs(30);

/// What a token says and what a verifier checks: the issuer, the audience and, for the signer,
/// how long a token lives.
#[derive(Clone, Debug)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    pub ttl: Duration,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub sub: String,
    /// The account's key in the users table (e-mail never changes).
    pub email: String,
    /// The login session the token belongs to: once it ends, the token is refused.
    pub sid: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token is invalid or has expired")]
    Invalid,
    #[error("could not sign a token: {0}")]
    Signing(String),
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The published keys could not be read: not the caller's fault, worth a retry.
    #[error("the token keys are unavailable: {0}")]
    KeysUnavailable(String),
}

/// Issues tokens with the private key. Only the function that signs (auth) and the local platform
/// build one: nothing else holds the signing secret.
pub struct TokenSigner {
    settings: TokenSettings,
    key: SigningKey,
    encoding: EncodingKey,
    /// What the verifiers read: this key, and the keys before it once [`TokenSigner::publish`]
    /// has run.
    published: Jwks,
}

impl TokenSigner {
    pub fn new(secret: &[u8], settings: TokenSettings) -> Result<Self, TokenError> {
        let key = SigningKey::from_secret(secret)?;
        let published = Jwks { keys: vec![key.jwk()] };
        Ok(Self { encoding: EncodingKey::from_ed_der(key.pkcs8_der()), key, settings, published })
    }

    /// Publishes this signer's public key ahead of the keys published before it
    /// ([`Jwks::rotated`]): after a rotation of the signing secret, the tokens signed with the
    /// previous key go on verifying until they expire.
    pub async fn publish(&mut self, directory: &dyn KeyDirectory) -> Result<(), KeyDirectoryError> {
        let keys = Jwks::rotated(self.key.jwk(), directory.load().await?);
        directory.publish(&keys).await?;
        self.published = keys;
        Ok(())
    }

    pub fn kid(&self) -> &str {
        self.key.kid()
    }

    /// The public keys, as the verifiers read them: this signer's first.
    pub fn jwks(&self) -> Jwks {
        self.published.clone()
    }

    fn header(&self) -> Header {
        Header { kid: Some(self.key.kid().to_owned()), ..Header::new(ALGORITHM) }
    }

    /// An access token of `user` in session `sid`.
    pub fn issue(&self, user: &User, sid: &str) -> Result<IssuedToken, TokenError> {
        self.issue_for(user.id.as_str(), &user.email, sid)
    }

    pub fn issue_for(&self, user_id: &str, email: &str, sid: &str) -> Result<IssuedToken, TokenError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            sub: user_id.to_owned(),
            email: email.to_owned(),
            sid: sid.to_owned(),
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            iat: now,
            exp: now + self.settings.ttl.as_secs() as i64,
        };
        let access_token = self.sign_claims(&claims)?;
        Ok(IssuedToken { access_token, expires_in: self.settings.ttl.as_secs() })
    }

    /// Signs arbitrary claims with this signer's key: for tests that need expired or foreign tokens.
    pub fn sign_claims(&self, claims: &Claims) -> Result<String, TokenError> {
        encode(&self.header(), claims, &self.encoding).map_err(|e| TokenError::Signing(e.to_string()))
    }
}

/// Checks tokens against the public keys the signer published, by the `kid` of the token's header.
/// The keys are read on the first token to check, not before (a request without a token costs
/// nothing), and again, at most once per [`KEY_RELOAD_INTERVAL`], for a token naming a key id not
/// among them.
pub struct TokenVerifier {
    validation: Validation,
    directory: Arc<dyn KeyDirectory>,
    keys: RwLock<HashMap<String, DecodingKey>>,
    /// When the keys were last read; held while reading them, so concurrent misses read once.
    loaded_at: tokio::sync::Mutex<Option<Instant>>,
    reload_interval: Duration,
}

impl TokenVerifier {
    pub fn new(settings: &TokenSettings, directory: Arc<dyn KeyDirectory>) -> Self {
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        // A token that says it is not valid yet (`nbf`) is refused until then.
        validation.validate_nbf = true;
        validation.leeway = 5;
        Self {
            validation,
            directory,
            keys: RwLock::new(HashMap::new()),
            loaded_at: tokio::sync::Mutex::new(None),
            reload_interval: KEY_RELOAD_INTERVAL,
        }
    }

    pub fn with_reload_interval(mut self, interval: Duration) -> Self {
        self.reload_interval = interval;
        self
    }

    /// Every bad token is the same error on purpose: callers learn nothing about which check
    /// failed. Only a failure to read the keys is another error.
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != ALGORITHM {
            return Err(TokenError::Invalid);
        }
        let kid = header.kid.filter(|k| !k.is_empty() && k.len() <= 64).ok_or(TokenError::Invalid)?;
        let key = match self.cached(&kid) {
            Some(key) => key,
            None => self.reload_for(&kid).await?.ok_or(TokenError::Invalid)?,
        };
        decode::<Claims>(token, &key, &self.validation).map(|data| data.claims).map_err(|_| TokenError::Invalid)
    }

    fn cached(&self, kid: &str) -> Option<DecodingKey> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).get(kid).cloned()
    }

    async fn reload_for(&self, kid: &str) -> Result<Option<DecodingKey>, TokenError> {
        let mut loaded_at = self.loaded_at.lock().await;
        // Another request may have read them while this one waited.
        if let Some(key) = self.cached(kid) {
            return Ok(Some(key));
        }
        if loaded_at.is_some_and(|at| at.elapsed() < self.reload_interval) {
            return Ok(None);
        }
        let jwks = self.directory.load().await.map_err(|e| TokenError::KeysUnavailable(e.to_string()))?;
        let keys: HashMap<String, DecodingKey> = jwks
            .unwrap_or_default()
            .keys
            .iter()
            .filter_map(|jwk| Some((jwk.kid.clone(), DecodingKey::from_ed_der(&jwk.ed25519_public_key()?))))
            .collect();
        tracing::debug!(keys = keys.len(), "token keys loaded");
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = keys;
        *loaded_at = Some(Instant::now());
        Ok(self.cached(kid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::MemoryKeyDirectory;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use helix_domain::Timestamp;

    const SECRET: &[u8] = b"test-secret-test-secret-test-secret";

    fn settings() -> TokenSettings {
        TokenSettings { issuer: "helixnet-test".into(), audience: "helixnet-api".into(), ttl: Duration::from_secs(600) }
    }

    fn signer() -> TokenSigner {
        TokenSigner::new(SECRET, settings()).unwrap()
    }

    fn verifier_of(signer: &TokenSigner) -> (TokenVerifier, Arc<MemoryKeyDirectory>) {
        let directory = Arc::new(MemoryKeyDirectory::with(signer.jwks()));
        (TokenVerifier::new(&settings(), directory.clone()), directory)
    }

    fn user() -> User {
        User {
            email: "a@example.com".into(),
            id: "u1".into(),
            password_hash: String::new(),
            fullname: None,
            phone_number: None,
            web_url: None,
            is_admin: false,
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
        }
    }

    /// A token with its header replaced (the payload and signature kept).
    fn with_header(token: &str, header: &serde_json::Value) -> String {
        let (_, rest) = token.split_once('.').unwrap();
        format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
    }

    #[tokio::test]
    async fn issued_tokens_verify() {
        let signer = signer();
        let (verifier, _) = verifier_of(&signer);
        let token = signer.issue(&user(), "s-1").unwrap();
        let claims = verifier.verify(&token.access_token).await.unwrap();
        assert_eq!(claims.sub, "u1");
        assert_eq!(claims.email, "a@example.com");
        assert_eq!(token.expires_in, 600);
        let header = decode_header(&token.access_token).unwrap();
        assert_eq!((header.alg, header.kid.as_deref()), (Algorithm::EdDSA, Some(signer.kid())));
    }

    #[tokio::test]
    async fn expired_wrong_audience_wrong_issuer_and_tampered_tokens_fail() {
        let signer = signer();
        let (verifier, _) = verifier_of(&signer);
        let mut claims = verifier.verify(&signer.issue(&user(), "s-1").unwrap().access_token).await.unwrap();
        claims.exp -= 3600;
        claims.iat -= 3600;
        assert!(matches!(verifier.verify(&signer.sign_claims(&claims).unwrap()).await, Err(TokenError::Invalid)));

        let mut foreign = claims.clone();
        foreign.exp += 7200;
        foreign.aud = "someone-else".into();
        assert!(matches!(verifier.verify(&signer.sign_claims(&foreign).unwrap()).await, Err(TokenError::Invalid)));
        let other_issuer = Claims { iss: "someone-else".into(), aud: claims.aud.clone(), ..foreign.clone() };
        assert!(verifier.verify(&signer.sign_claims(&other_issuer).unwrap()).await.is_err());

        let good = signer.issue(&user(), "s-1").unwrap().access_token;
        let mut tampered = good.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(verifier.verify(std::str::from_utf8(&tampered).unwrap()).await.is_err());
    }

    #[tokio::test]
    async fn a_tampered_payload_fails() {
        let signer = signer();
        let (verifier, _) = verifier_of(&signer);
        let good = signer.issue(&user(), "s-1").unwrap().access_token;
        let parts: Vec<&str> = good.split('.').collect();
        let mut claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["sub"] = "u2".into();
        let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims.to_string()), parts[2]);
        assert!(matches!(verifier.verify(&forged).await, Err(TokenError::Invalid)));
    }

    #[tokio::test]
    async fn a_token_of_another_secret_fails() {
        let (verifier, _) = verifier_of(&signer());
        let other = TokenSigner::new(b"another-secret-another-secret-another", settings()).unwrap();
        let token = other.issue(&user(), "s-1").unwrap().access_token;
        assert!(matches!(verifier.verify(&token).await, Err(TokenError::Invalid)), "unknown kid");
        // The same forgery claiming our key id: the signature is checked with our key.
        let ours = serde_json::json!({"typ": "JWT", "alg": "EdDSA", "kid": signer().kid()});
        assert!(matches!(verifier.verify(&with_header(&token, &ours)).await, Err(TokenError::Invalid)));
    }

    #[tokio::test]
    async fn unknown_key_ids_reload_at_most_once_per_interval() {
        let signer = signer();
        let (verifier, directory) = verifier_of(&signer);
        assert_eq!(directory.loads(), 0, "nothing is read before the first token");
        let token = signer.issue(&user(), "s-1").unwrap().access_token;
        verifier.verify(&token).await.unwrap();
        verifier.verify(&token).await.unwrap();
        assert_eq!(directory.loads(), 1);

        let unknown = with_header(&token, &serde_json::json!({"alg": "EdDSA", "kid": "0000000000000000"}));
        for _ in 0..3 {
            assert!(matches!(verifier.verify(&unknown).await, Err(TokenError::Invalid)));
        }
        assert_eq!(directory.loads(), 1, "within the interval an unknown kid reads nothing");

        // A rotated key: published after the verifier's last read, found once the interval passed.
        let rotated = TokenSigner::new(b"the-rotated-secret-the-rotated-secret", settings()).unwrap();
        directory.publish(&rotated.jwks()).await.unwrap();
        let verifier = verifier.with_reload_interval(Duration::ZERO);
        let claims = verifier.verify(&rotated.issue(&user(), "s-1").unwrap().access_token).await.unwrap();
        assert_eq!(claims.sub, "u1");
        assert_eq!(directory.loads(), 2);
        assert!(verifier.verify(&token).await.is_err(), "the replaced key is gone");
    }

    #[tokio::test]
    async fn a_missing_token_header_kid_or_key_set_fails_without_error() {
        let signer = signer();
        let token = signer.issue(&user(), "s-1").unwrap().access_token;
        let verifier = TokenVerifier::new(&settings(), Arc::new(MemoryKeyDirectory::default()));
        assert!(matches!(verifier.verify(&token).await, Err(TokenError::Invalid)), "nothing published");
        let (verifier, _) = verifier_of(&signer);
        let no_kid = with_header(&token, &serde_json::json!({"alg": "EdDSA"}));
        assert!(matches!(verifier.verify(&no_kid).await, Err(TokenError::Invalid)));
        assert!(matches!(verifier.verify("not-a-jwt").await, Err(TokenError::Invalid)));
    }

    #[tokio::test]
    async fn an_unreadable_key_set_is_unavailable_not_invalid() {
        let signer = signer();
        let (verifier, directory) = verifier_of(&signer);
        directory.set_failing(true);
        let token = signer.issue(&user(), "s-1").unwrap().access_token;
        assert!(matches!(verifier.verify(&token).await, Err(TokenError::KeysUnavailable(_))));
        directory.set_failing(false);
        assert!(verifier.verify(&token).await.is_ok(), "a failed read is retried at once");
    }

    #[tokio::test]
    async fn hs256_tokens_are_refused() {
        let signer = signer();
        let (verifier, directory) = verifier_of(&signer);
        let claims = verifier.verify(&signer.issue(&user(), "s-1").unwrap().access_token).await.unwrap();
        let header = Header { kid: Some(signer.kid().to_owned()), ..Header::new(Algorithm::HS256) };
        // With the signing secret (the old scheme) and with the public key as the HMAC key (alg confusion).
        let public = URL_SAFE_NO_PAD.decode(&signer.jwks().keys[0].x).unwrap();
        for key in [SECRET, public.as_slice()] {
            let token = encode(&header, &claims, &EncodingKey::from_secret(key)).unwrap();
            assert!(matches!(verifier.verify(&token).await, Err(TokenError::Invalid)));
        }
        assert_eq!(directory.loads(), 1, "refused on the header, before any key lookup");
    }

    #[tokio::test]
    async fn unsigned_tokens_fail() {
        let signer = signer();
        let (verifier, _) = verifier_of(&signer);
        // {"alg":"none"} with valid-looking claims.
        let token = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1MSJ9.";
        assert!(verifier.verify(token).await.is_err());
        let none = with_header(
            &signer.issue(&user(), "s-1").unwrap().access_token,
            &serde_json::json!({"alg": "none", "kid": signer.kid()}),
        );
        assert!(verifier.verify(&none).await.is_err());
    }

    #[tokio::test]
    async fn a_token_of_the_previous_key_still_verifies_after_a_rotation() {
        let directory = Arc::new(MemoryKeyDirectory::default());
        let mut old = signer();
        old.publish(&*directory).await.unwrap();
        let verifier = TokenVerifier::new(&settings(), directory.clone()).with_reload_interval(Duration::ZERO);
        let old_token = old.issue(&user(), "s-1").unwrap().access_token;
        assert!(verifier.verify(&old_token).await.is_ok());

        // The secret rotated: the next cold start of the signing function signs with a new key.
        let mut new = TokenSigner::new(b"the-rotated-secret-the-rotated-secret", settings()).unwrap();
        new.publish(&*directory).await.unwrap();
        let kids: Vec<String> = new.jwks().keys.into_iter().map(|k| k.kid).collect();
        assert_eq!(kids, [new.kid(), old.kid()], "both keys side by side, the new one first");
        let new_token = new.issue(&user(), "s-2").unwrap().access_token;
        // A warm verifier reloads for the new key id and keeps the old key; a cold one reads both.
        assert!(verifier.verify(&new_token).await.is_ok());
        assert!(verifier.verify(&old_token).await.is_ok(), "nobody is logged out by the rotation");
        let cold = TokenVerifier::new(&settings(), directory.clone());
        assert!(cold.verify(&old_token).await.is_ok() && cold.verify(&new_token).await.is_ok());
    }

    #[tokio::test]
    async fn a_token_not_valid_yet_fails() {
        let signer = signer();
        let (verifier, _) = verifier_of(&signer);
        let claims = verifier.verify(&signer.issue(&user(), "s-1").unwrap().access_token).await.unwrap();
        let mut payload = serde_json::to_value(&claims).unwrap();
        payload["nbf"] = (claims.iat + 3600).into();
        let early = encode(&signer.header(), &payload, &signer.encoding).unwrap();
        assert!(matches!(verifier.verify(&early).await, Err(TokenError::Invalid)));
        payload["nbf"] = (claims.iat - 1).into();
        let valid = encode(&signer.header(), &payload, &signer.encoding).unwrap();
        assert!(verifier.verify(&valid).await.is_ok());
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(matches!(TokenSigner::new(b"short", settings()), Err(TokenError::Key(KeyError::SecretTooShort))));
    }
}
