use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use helix_domain::User;

/// The one algorithm accepted: a token naming any other (`none`, RS256 with our secret as a
/// "public key") is refused before its signature is looked at.
const ALGORITHM: Algorithm = Algorithm::HS256;

#[derive(Clone)]
pub struct TokenSettings {
    pub secret: Vec<u8>,
    pub issuer: String,
    pub audience: String,
    pub ttl: Duration,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub sub: String,
    /// The account's key in the users table (e-mail never changes).
    pub email: String,
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
}

pub struct TokenIssuer {
    settings: TokenSettings,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenIssuer {
    pub fn new(settings: TokenSettings) -> Self {
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(&settings.secret),
            decoding: DecodingKey::from_secret(&settings.secret),
            validation,
            settings,
        }
    }

    pub fn issue(&self, user: &User) -> Result<IssuedToken, TokenError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            sub: user.id.to_string(),
            email: user.email.clone(),
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            iat: now,
            exp: now + self.settings.ttl.as_secs() as i64,
        };
        let access_token =
            encode(&Header::new(ALGORITHM), &claims, &self.encoding).map_err(|e| TokenError::Signing(e.to_string()))?;
        Ok(IssuedToken { access_token, expires_in: self.settings.ttl.as_secs() })
    }

    /// Every failure is the same error on purpose: callers learn nothing about which check failed.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| TokenError::Invalid)
    }

    /// Signs arbitrary claims with this issuer's key: for tests that need expired or foreign tokens.
    pub fn sign_claims(&self, claims: &Claims) -> Result<String, TokenError> {
        encode(&Header::new(ALGORITHM), claims, &self.encoding).map_err(|e| TokenError::Signing(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use helix_domain::Timestamp;

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(TokenSettings {
            secret: b"test-secret-test-secret-test-secret".to_vec(),
            issuer: "helixnet-test".into(),
            audience: "helixnet-api".into(),
            ttl: Duration::from_secs(600),
        })
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

    #[test]
    fn issued_tokens_verify() {
        let issuer = issuer();
        let token = issuer.issue(&user()).unwrap();
        let claims = issuer.verify(&token.access_token).unwrap();
        assert_eq!(claims.sub, "u1");
        assert_eq!(claims.email, "a@example.com");
        assert_eq!(token.expires_in, 600);
    }

    #[test]
    fn expired_wrong_audience_and_tampered_tokens_fail() {
        let issuer = issuer();
        let mut claims = issuer.verify(&issuer.issue(&user()).unwrap().access_token).unwrap();
        claims.exp -= 3600;
        claims.iat -= 3600;
        assert!(issuer.verify(&issuer.sign_claims(&claims).unwrap()).is_err());

        let mut foreign = claims.clone();
        foreign.exp += 7200;
        foreign.aud = "someone-else".into();
        assert!(issuer.verify(&issuer.sign_claims(&foreign).unwrap()).is_err());

        let good = issuer.issue(&user()).unwrap().access_token;
        let mut tampered = good.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(issuer.verify(std::str::from_utf8(&tampered).unwrap()).is_err());
    }

    #[test]
    fn unsigned_tokens_fail() {
        // {"alg":"none"} with valid-looking claims.
        let token = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1MSJ9.";
        assert!(issuer().verify(token).is_err());
    }
}
