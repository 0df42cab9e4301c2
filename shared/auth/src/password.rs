use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct PasswordError(String);

/// Argon2id with the crate's defaults (OWASP's minimum: 19 MiB, 2 passes), in PHC string form so
/// parameters can be raised later without invalidating stored hashes.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError(e.to_string()))
}

/// `stored` is `None` for an unknown account: a fixed hash is checked anyway, so the answer takes
/// as long as for a wrong password and timing does not tell which accounts exist.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    static DECOY: OnceLock<String> = OnceLock::new();
    let candidate = match stored {
        Some(hash) => hash,
        None => DECOY.get_or_init(|| hash_password("decoy password").unwrap_or_default()),
    };
    let Ok(parsed) = PasswordHash::new(candidate) else {
        return false;
    };
    let matches = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
    matches && stored.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", Some(&hash)));
        assert!(!verify_password("wrong horse", Some(&hash)));
    }

    #[test]
    fn unknown_account_never_matches() {
        assert!(!verify_password("anything", None));
    }

    #[test]
    fn garbage_hash_never_matches() {
        assert!(!verify_password("x", Some("not a hash")));
    }
}
