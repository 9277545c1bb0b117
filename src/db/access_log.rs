//! The append-only access log: who tried to reach which deviation, and what happened.

use crate::ids::{DeviationId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::access_log;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = access_log)]
pub struct AccessRow {
    pub id: String,
    pub at: NaiveDateTime,
    pub user_id: UserId,
    pub deviation_id: DeviationId,
    pub action: String,
    pub outcome: String,
    pub reason: String,
}

pub fn insert(conn: &mut DbConnection, row: &AccessRow) -> QueryResult<()> {
    diesel::insert_into(access_log::table).values(row).execute(conn).map(|_| ())
}

pub fn for_deviation(conn: &mut DbConnection, deviation_id: &DeviationId) -> QueryResult<Vec<AccessRow>> {
    access_log::table
        .filter(access_log::deviation_id.eq(deviation_id))
        .order(access_log::at.asc())
        .select(AccessRow::as_select())
        .load(conn)
}
