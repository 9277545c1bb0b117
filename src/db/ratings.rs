//! The reporters' ratings of the answers they got (#37).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::feedback_ratings::{self, dsl as r};
use super::DbConnection;
use crate::ids::{DeviationId, UserId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = feedback_ratings)]
pub struct RatingRow {
    pub deviation_id: DeviationId,
    pub score: i32,
    pub comment: Option<String>,
    pub rated_by: UserId,
    pub rated_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConnection, id: &DeviationId) -> QueryResult<Option<RatingRow>> {
    feedback_ratings::table.find(id).select(RatingRow::as_select()).first(conn).optional()
}

/// Stores the rating, or changes the one there (keeping when it was first given).
pub fn save(conn: &mut DbConnection, row: &RatingRow) -> QueryResult<()> {
    let changed = diesel::update(feedback_ratings::table.find(&row.deviation_id))
        .set((r::score.eq(row.score), r::comment.eq(&row.comment), r::updated_at.eq(row.updated_at)))
        .execute(conn)?;
    if changed == 0 {
        diesel::insert_into(feedback_ratings::table).values(row).execute(conn)?;
    }
    Ok(())
}

/// A case answered in the period, as the feedback statistics need it.
#[derive(Debug, Clone, Queryable)]
pub struct AnsweredRow {
    pub direction: String,
    pub recipient_organisation_id: crate::ids::OrganisationId,
    pub answered_at: NaiveDateTime,
    /// The answer's deadline, `YYYY-MM-DD`.
    pub answer_due: String,
    pub score: Option<i32>,
}

/// The cases of `scope` answered in [from, to), each with its rating if any.
pub fn answered_in(
    conn: &mut DbConnection,
    scope: &super::stats::StatsScope,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<AnsweredRow>> {
    use super::schema::deviations::{self, dsl as d};
    let mut q = deviations::table
        .left_join(feedback_ratings::table)
        .filter(d::answered_at.ge(from))
        .filter(d::answered_at.lt(to))
        .into_boxed();
    if let Some(c) = scope.community() {
        q = q.filter(d::health_community_id.eq(c.clone()));
    }
    if let Some(o) = scope.organisation() {
        q = q.filter(d::reporting_organisation_id.eq(o.clone()).or(d::recipient_organisation_id.eq(o.clone())));
    }
    // Filtered on answered_at above: never null here.
    q.select((
        d::direction,
        d::recipient_organisation_id,
        d::answered_at.assume_not_null(),
        d::answer_due,
        r::score.nullable(),
    ))
    .load(conn)
}
