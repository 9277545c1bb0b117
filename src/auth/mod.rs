//! Who is calling: passwords, tokens and the `Caller` extractor.

pub mod caller;
pub mod login;
pub mod password;
pub mod token;

pub use caller::Caller;
pub use token::{LocalTokens, TokenVerifier};
