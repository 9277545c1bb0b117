//! Display names of organisations, units and people by id. Ids are UUIDs and so unique across the
//! three tables: one map serves all. Names change rarely and every case view needs several, so
//! they are kept for a minute; a rename through this server forgets the old name at once.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use diesel::prelude::*;

use super::schema::{organisations, units, users};
use super::DbConnection;
use crate::ids::{OrganisationId, UnitId, UserId};

static KNOWN: LazyLock<moka::sync::Cache<String, String>> =
    LazyLock::new(|| moka::sync::Cache::builder().max_capacity(100_000).time_to_live(Duration::from_secs(60)).build());

pub fn of(
    conn: &mut DbConnection,
    org_ids: &[OrganisationId],
    unit_ids: &[UnitId],
    user_ids: &[UserId],
) -> QueryResult<HashMap<String, String>> {
    let mut names = HashMap::new();
    let mut unknown = |ids: Vec<&str>| {
        let mut missing = Vec::new();
        for id in ids {
            match KNOWN.get(id) {
                Some(name) => {
                    names.insert(id.to_owned(), name);
                }
                None => missing.push(id.to_owned()),
            }
        }
        missing
    };
    let (org_ids, unit_ids, user_ids) = (unknown(strs(org_ids)), unknown(strs(unit_ids)), unknown(strs(user_ids)));
    if org_ids.is_empty() && unit_ids.is_empty() && user_ids.is_empty() {
        return Ok(names);
    }
    let orgs =
        organisations::table.filter(organisations::id.eq_any(org_ids)).select((organisations::id, organisations::name));
    let units = units::table.filter(units::id.eq_any(unit_ids)).select((units::id, units::name));
    let users = users::table.filter(users::id.eq_any(user_ids)).select((users::id, users::name));
    let query = orgs.union_all(units).union_all(users);
    // Per backend: diesel's multi-backend connection does not build UNION.
    let rows: Vec<(String, String)> = match conn {
        DbConnection::Pg(c) => query.load(c)?,
        DbConnection::Sqlite(c) => query.load(c)?,
    };
    for (id, name) in rows {
        KNOWN.insert(id.clone(), name.clone());
        names.insert(id, name);
    }
    Ok(names)
}

fn strs<T: AsRef<str>>(ids: &[T]) -> Vec<&str> {
    ids.iter().map(AsRef::as_ref).collect()
}

/// Called when an organisation, unit or person is renamed.
pub fn forget(id: impl AsRef<str>) {
    KNOWN.invalidate(id.as_ref());
}
