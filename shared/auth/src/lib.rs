//! Who is calling: argon2id password hashes and the platform's JWT access tokens.

mod password;
mod token;

pub use password::{PasswordError, hash_password, verify_password};
pub use token::{Claims, IssuedToken, TokenError, TokenIssuer, TokenSettings};
