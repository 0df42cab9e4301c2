//! Who is calling: argon2id password hashes and the platform's JWT access tokens, signed with an
//! Ed25519 key that only the signing function holds and checked with its published public key;
//! and the access tokens of external OpenID Connect issuers, for single sign-on.

mod keys;
mod oidc;
mod password;
#[cfg(feature = "test-issuer")]
pub mod test_issuer;
mod token;

pub use keys::{
    Jwk, Jwks, KeyDirectory, KeyDirectoryError, KeyError, MIN_SECRET_BYTES, MemoryKeyDirectory, SigningKey, kid_of,
};
pub use oidc::{
    ExternalIdentity, OIDC_KEY_MAX_AGE, OIDC_KEY_RELOAD_INTERVAL, OidcConfigError, OidcIssuer, OidcVerifier,
};
pub use password::{PasswordError, hash_password, verify_password};
pub use token::{Claims, IssuedToken, KEY_RELOAD_INTERVAL, TokenError, TokenSettings, TokenSigner, TokenVerifier};
