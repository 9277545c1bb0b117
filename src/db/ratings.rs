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
