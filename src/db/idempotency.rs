//! Idempotency keys for submissions: (user, key) → the request it came with and the deviation made.

use crate::ids::{DeviationId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::idempotency_keys::{self, dsl as k};
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct KeyRow {
    pub user_id: UserId,
    pub idempotency_key: String,
    pub request: String,
    pub deviation_id: DeviationId,
    pub created_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConnection, user_id: &UserId, key: &str) -> QueryResult<Option<KeyRow>> {
    idempotency_keys::table.find((user_id, key)).select(KeyRow::as_select()).first(conn).optional()
}

pub fn insert(conn: &mut DbConnection, row: &KeyRow) -> QueryResult<()> {
    diesel::insert_into(idempotency_keys::table).values(row).execute(conn).map(|_| ())
}

/// Forgets keys created before `before`; returns how many.
pub fn purge(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(k::created_at.lt(before))).execute(conn)
}
