//! Who is calling: passwords, tokens, the `Caller` and its extractor, login and its limits.

pub mod api_key;
pub mod caller;
pub mod extract;
pub mod limits;
pub mod login;
pub mod oidc;
pub mod password;
pub mod token;

pub use caller::{Actor, Caller};
pub use token::{LocalTokens, TokenVerifier};
