//! Who is calling: argon2id password hashes and the platform's JWT access tokens.

mod password;
mod token;

pub use password::{hash_password, verify_password, PasswordError};
pub use token::{Claims, IssuedToken, TokenError, TokenIssuer, TokenSettings};
