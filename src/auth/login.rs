//! Logging in with e-mail and password, for the API and the pages alike, with the per-account
//! limit on guessing (`limits` has both limits' state).

use actix_web::web;

use crate::db::{self, users::UserRow};
use crate::directory::users;
use crate::error::ApiError;
use crate::state::AppState;

/// The active user with this e-mail and password. One answer for every kind of failure, so the
/// endpoint does not tell which addresses exist; after too many failures for one address, that
/// account is closed to password guessing for a while, whoever guesses and from where.
pub async fn authenticate(state: &AppState, email: &str, password: String) -> Result<UserRow, ApiError> {
    if state.oidc.is_some() {
        return Err(ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            "local_login_disabled",
            "Innlogging med passord er slått av her. Logg inn med HelseID.",
        ));
    }
    let account = email.trim().to_lowercase();
    let limit = state.config.login_failures_per_account;
    if state.login_failures.get(&account).is_some_and(|n| n >= limit) {
        return Err(ApiError::new(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            "too_many_failed_logins",
            "For mange mislykkede innlogginger for denne kontoen. Vent et kvarter og prøv igjen.",
        )
        .retry_after(super::limits::FAILURE_WINDOW.as_secs() as u32));
    }
    // No address holds a control character; PostgreSQL would not even take one in a query.
    let lookup = account.clone();
    let user = match account.chars().any(char::is_control) {
        true => None,
        false => db::run(&state.pool, move |c| Ok(db::users::find_by_email(c, &lookup)?)).await?,
    };
    // Argon2 is deliberately expensive: verify on the blocking pool, without holding a connection.
    let verified = web::block(move || users::authenticate(user, &password)).await.map_err(ApiError::internal)?;
    match &verified {
        Ok(_) => state.login_failures.invalidate(&account),
        Err(_) => {
            state.login_failures.entry(account).and_upsert_with(|n| n.map_or(1, |n| n.into_value().saturating_add(1)));
        }
    }
    verified
}
