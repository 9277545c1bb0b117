//! Display names of organisations, units and people by id, in one round trip. Ids are UUIDs and so
//! unique across the three tables: one map serves all.

use std::collections::HashMap;

use diesel::prelude::*;

use super::schema::{organisations, units, users};
use super::DbConnection;

pub fn of(
    conn: &mut DbConnection,
    org_ids: &[String],
    unit_ids: &[String],
    user_ids: &[String],
) -> QueryResult<HashMap<String, String>> {
    let orgs = organisations::table
        .filter(organisations::id.eq_any(org_ids.to_vec()))
        .select((organisations::id, organisations::name));
    let units = units::table.filter(units::id.eq_any(unit_ids.to_vec())).select((units::id, units::name));
    let users = users::table.filter(users::id.eq_any(user_ids.to_vec())).select((users::id, users::name));
    let query = orgs.union_all(units).union_all(users);
    // Per backend: diesel's multi-backend connection does not build UNION.
    let rows: Vec<(String, String)> = match conn {
        DbConnection::Pg(c) => query.load(c)?,
        DbConnection::Sqlite(c) => query.load(c)?,
    };
    Ok(rows.into_iter().collect())
}
