//! The append-only timeline of a deviation. Rows are only ever inserted.

use crate::ids::{DeviationId, OrganisationId, UnitId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::deviation_events::{self, dsl as e};
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = deviation_events)]
pub struct EventRow {
    pub id: String,
    pub deviation_id: DeviationId,
    pub seq: i32,
    pub at: NaiveDateTime,
    pub kind: String,
    pub actor_id: Option<UserId>,
    pub actor_organisation_id: Option<OrganisationId>,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub text: Option<String>,
    pub organisation_id: Option<OrganisationId>,
    pub unit_id: Option<UnitId>,
    /// The new category, on the event that changed it.
    pub category: Option<String>,
}

/// The next sequence number of a deviation's timeline. Called inside the write transaction, and
/// `(deviation_id, seq)` is unique, so two writers cannot both take the same number.
pub fn next_seq(conn: &mut DbConnection, deviation_id: &DeviationId) -> QueryResult<i32> {
    let max: Option<i32> = deviation_events::table
        .filter(e::deviation_id.eq(deviation_id))
        .select(diesel::dsl::max(e::seq))
        .first(conn)?;
    Ok(max.unwrap_or(0) + 1)
}

/// Appends the event, and its entries in the change feed in the same transaction.
pub fn insert(conn: &mut DbConnection, row: &EventRow) -> QueryResult<()> {
    diesel::insert_into(deviation_events::table).values(row).execute(conn)?;
    super::feed::record(conn, row)
}

pub fn for_deviation(conn: &mut DbConnection, deviation_id: &DeviationId) -> QueryResult<Vec<EventRow>> {
    deviation_events::table
        .filter(e::deviation_id.eq(deviation_id))
        .order(e::seq.asc())
        .select(EventRow::as_select())
        .load(conn)
}
