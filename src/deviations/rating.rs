//! «Var tilbakemeldingen nyttig?» (#37): once her case is answered, the reporter rates the answer
//! 1–5 with an optional short comment (the national-id guard applies), and may change it while the
//! case stays answered or closed. The recipient sees the rating on the case; who sees the comment
//! is `policy::rating_view`. The statistics read them with the case's direction and recipient.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use super::access;
use super::form::Errors;
use super::view::utc;
use crate::auth::Caller;
use crate::db::deviations::DeviationRow;
use crate::db::ratings::{self, RatingRow};
use crate::db::DbConnection;
use crate::domain::codes::Status;
use crate::domain::Code;
use crate::error::ApiError;
use crate::ids::DeviationId;
use crate::policy::{self, RatingView};

/// A short comment: what was good or missing in the answer.
pub const COMMENT_MAX: usize = 500;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingInput {
    #[serde(deserialize_with = "crate::analyses::whole_number")]
    pub score: i32,
    #[serde(default)]
    pub comment: Option<String>,
}

/// The rating as the caller may read it.
#[derive(Debug, Clone, Serialize)]
pub struct Rating {
    /// 1 (not useful) to 5 (very useful); null while not rated.
    pub score: Option<i32>,
    /// Null when there is none, or it is not for the caller.
    pub comment: Option<String>,
    pub rated_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Whether the caller may rate (or change the rating) now.
    pub may_rate: bool,
}

/// Whether a case in `status` has an answer to rate: answered, or closed after its answer.
fn rateable(status: &str, answered: bool) -> bool {
    answered && matches!(Status::from_code(status), Some(Status::Answered | Status::Closed))
}

pub fn get(conn: &mut DbConnection, caller: &Caller, id: &DeviationId) -> Result<Rating, ApiError> {
    let row = access::load(conn, caller, id)?;
    of(conn, caller, &row)?.ok_or_else(access::not_found)
}

/// The rating of a case already read for the caller (its page), or None if it is not theirs to see.
pub fn of(conn: &mut DbConnection, caller: &Caller, row: &DeviationRow) -> Result<Option<Rating>, ApiError> {
    let Some(view) = policy::rating_view(caller, row.into()) else { return Ok(None) };
    let may_rate = policy::may_rate(caller, row.into()) && rateable(&row.status, row.answered_at.is_some());
    let stored = ratings::find(conn, &row.id)?;
    Ok(Some(Rating {
        score: stored.as_ref().map(|r| r.score),
        comment: stored.as_ref().and_then(|r| r.comment.clone()).filter(|_| view == RatingView::WithComment),
        rated_at: stored.as_ref().map(|r| utc(r.rated_at)),
        updated_at: stored.as_ref().map(|r| utc(r.updated_at)),
        may_rate,
    }))
}

/// Rates (or re-rates) the answer: the reporter (403 for others who see the case), once the case
/// is answered or closed after an answer (409 before, and while it is reopened).
pub fn rate(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &DeviationId,
    input: &RatingInput,
) -> Result<Rating, ApiError> {
    let row = access::load(conn, caller, id)?;
    if !policy::may_rate(caller, (&row).into()) {
        return Err(ApiError::forbidden("Bare den som meldte avviket kan vurdere tilbakemeldingen."));
    }
    if !rateable(&row.status, row.answered_at.is_some()) {
        return Err(ApiError::conflict(
            "not_answered",
            "Du kan vurdere tilbakemeldingen når avviket er besvart, og ikke mens det er gjenåpnet.",
        ));
    }
    let mut e = Errors::default();
    if !(1..=5).contains(&input.score) {
        e.add("score", "out_of_range", "Velg fra 1 (ikke nyttig) til 5 (svært nyttig).");
    }
    let comment = e.optional_text("comment", input.comment.as_deref(), COMMENT_MAX);
    e.into_result(())?;
    let rating = RatingRow {
        deviation_id: row.id.clone(),
        score: input.score,
        comment,
        rated_by: caller.user_id.clone(),
        rated_at: now,
        updated_at: now,
    };
    crate::db::write_tx(conn, |c| Ok(ratings::save(c, &rating)?))?;
    of(conn, caller, &row)?.ok_or_else(access::not_found)
}
