//! Loading a deviation the caller may see, and logging refused access. Who may see what is
//! `policy`'s to say; here it becomes part of every query (`Scope`), so a miss is a 404 whether
//! the deviation exists or not.

use crate::auth::Caller;
use crate::clock::Clock;
use crate::db::access_log::{self, AccessRow};
use crate::db::deviations::{self, DeviationRow};
use crate::db::DbConnection;
use crate::directory::new_id;
use crate::error::ApiError;
use crate::ids::DeviationId;
use crate::policy;

pub fn not_found() -> ApiError {
    ApiError::not_found("Fant ikke avviket. Det finnes ikke, eller din organisasjon er ikke part i det.")
}

/// Loads a deviation the caller may see, or 404.
pub fn load(conn: &mut DbConnection, caller: &Caller, id: &DeviationId) -> Result<DeviationRow, ApiError> {
    deviations::find(conn, &policy::list_scope(caller), id).map_err(|e| match e {
        diesel::result::Error::NotFound => not_found(),
        other => other.into(),
    })
}

/// Records a refused access to an existing deviation. Runs after the refused request's own
/// transaction has rolled back, so the record survives.
pub fn log_denied(
    conn: &mut DbConnection,
    clock: &Clock,
    caller: &Caller,
    id: &DeviationId,
    action: &str,
    reason: &str,
) {
    let result = deviations::exists(conn, id).and_then(|exists| {
        if !exists {
            return Ok(());
        }
        access_log::insert(
            conn,
            &AccessRow {
                id: new_id(),
                at: clock.now_naive(),
                user_id: caller.user_id.clone(),
                deviation_id: id.clone(),
                action: action.to_owned(),
                outcome: "denied".to_owned(),
                reason: reason.to_owned(),
            },
        )
    });
    if let Err(e) = result {
        tracing::error!(error = %e, "could not write the access log");
    }
    tracing::warn!(user_id = %caller.user_id, deviation_id = ?id, action, "access denied");
}

/// Runs `f`; when it fails with 404 or 403 for a deviation, logs the denial.
pub fn logging_denials<T>(
    conn: &mut DbConnection,
    clock: &Clock,
    caller: &Caller,
    id: &DeviationId,
    action: &str,
    f: impl FnOnce(&mut DbConnection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let result = f(conn);
    if let Err(e) = &result {
        if matches!(e.status.as_u16(), 403 | 404) {
            log_denied(conn, clock, caller, id, action, e.code);
        }
    }
    result
}
