//! API keys: how an organisation's quality system calls samavvik when HelseID is not in use (local
//! mode). A key is `sav_<prefix>_<secret>`; the prefix is stored and shown so a key can be told
//! apart and revoked, the whole key only as a hash, and the key itself is shown once.

use super::caller::Caller;
use crate::db;
use crate::error::ApiError;
use crate::keyed;
use crate::state::AppState;

const START: &str = "sav_";
const PURPOSE: &[u8] = b"samavvik-api-key:";

pub struct NewKey {
    pub key: String,
    pub prefix: String,
    pub hash: String,
}

/// A fresh key: 8 characters of prefix, 256 random bits of secret (two v4 UUIDs' worth and more).
pub fn generate() -> NewKey {
    let prefix = uuid::Uuid::new_v4().simple().to_string().chars().take(8).collect::<String>();
    let secret = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let key = format!("{START}{prefix}_{secret}");
    NewKey { hash: hash(&key), key, prefix }
}

/// The key is random and long, so a plain (unkeyed) hash is enough to keep it from being read
/// back out of the database.
fn hash(key: &str) -> String {
    keyed::tag(&[], PURPOSE, key.as_bytes())
}

/// The prefix, when `token` looks like one of our API keys.
pub fn prefix_of(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(START)?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == 8 && !secret.is_empty()).then_some(prefix)
}

/// The machine client an API key belongs to, if the key is one we issued and not revoked.
pub async fn caller(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    let unknown =
        || ApiError::unauthorized("invalid_token", "API-nøkkelen er ukjent eller trukket tilbake.").challenge("Bearer");
    let prefix = prefix_of(token).ok_or_else(unknown)?.to_owned();
    let (token, now) = (token.to_owned(), state.clock.now_naive());
    let user_id = db::run(&state.pool, move |c| {
        let Some(client) = db::clients::by_api_key_prefix(c, &prefix)? else { return Ok(None) };
        if !client.api_key_hash.as_deref().is_some_and(|h| keyed::verify(&[], PURPOSE, token.as_bytes(), h)) {
            return Ok(None);
        }
        // Last use to the minute: a write per request would cost more than it tells.
        if client.last_used_at.is_none_or(|at| now - at > chrono::Duration::minutes(1)) {
            db::clients::used(c, &client.id, now)?;
        }
        Ok(Some(client.user_id))
    })
    .await?
    .ok_or_else(unknown)?;
    Caller::of_user(state, &user_id, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_names_its_prefix_and_only_its_own_hash_verifies() {
        let new = generate();
        assert_eq!(prefix_of(&new.key), Some(new.prefix.as_str()));
        assert!(keyed::verify(&[], PURPOSE, new.key.as_bytes(), &new.hash));
        assert!(!keyed::verify(&[], PURPOSE, generate().key.as_bytes(), &new.hash));
        for not_ours in ["eyJhbGciOi.x.y", "sav_short_x", "sav_12345678_", "sav_12345678"] {
            assert_eq!(prefix_of(not_ours), None, "{not_ours}");
        }
    }
}
