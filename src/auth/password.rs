//! Argon2id password hashes (PHC strings).

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

pub const MIN_LENGTH: usize = 10;

pub fn hash(password: &str) -> anyhow::Result<String> {
    let hash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| anyhow::anyhow!("kunne ikke hashe passord: {e}"))?;
    Ok(hash.to_string())
}

/// Verifies `password` against `stored`. With no stored hash (unknown user, or a user without a
/// local password) it still spends the same work on a dummy hash, so timing does not tell which.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("dummy-password-for-timing").unwrap_or_default());
    let ok = Argon2::default().verify_password(password.as_bytes(), stored.unwrap_or(dummy.as_str())).is_ok();
    ok && stored.is_some()
}

#[cfg(test)]
mod tests {
    #[test]
    fn verifies_only_the_right_password() {
        let h = super::hash("riktig-passord").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("riktig-passord", Some(&h)));
        assert!(!super::verify("feil-passord", Some(&h)));
        assert!(!super::verify("riktig-passord", None));
        assert!(!super::verify("riktig-passord", Some("not a phc string")));
    }
}
