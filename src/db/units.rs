use crate::ids::{OrganisationId, UnitId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::units;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = units)]
pub struct UnitRow {
    pub id: UnitId,
    pub organisation_id: OrganisationId,
    pub name: String,
    pub mailbox: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Its own organisation number, if it has one (HelseID's `orgnr_child`).
    pub org_number: Option<String>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = units)]
pub struct UnitChanges {
    pub org_number: Option<Option<String>>,
    pub name: Option<String>,
    pub mailbox: Option<Option<String>>,
    pub active: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

/// Units of the given organisations, ordered by name.
pub fn for_organisations(
    conn: &mut DbConnection,
    organisation_ids: &[OrganisationId],
    include_inactive: bool,
) -> QueryResult<Vec<UnitRow>> {
    let mut q = units::table
        .filter(units::organisation_id.eq_any(organisation_ids.to_vec()))
        .select(UnitRow::as_select())
        .into_boxed();
    if !include_inactive {
        q = q.filter(units::active.eq(true));
    }
    q.order(units::name.asc()).load(conn)
}

pub fn find(conn: &mut DbConnection, id: &UnitId) -> QueryResult<UnitRow> {
    units::table.find(id).select(UnitRow::as_select()).first(conn)
}

pub fn name_taken(conn: &mut DbConnection, organisation_id: &OrganisationId, name: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        units::table.filter(units::organisation_id.eq(organisation_id)).filter(units::name.eq(name)),
    ))
    .get_result(conn)
}

pub fn insert(conn: &mut DbConnection, row: &UnitRow) -> QueryResult<()> {
    diesel::insert_into(units::table).values(row).execute(conn).map(|_| ())
}

pub fn update(conn: &mut DbConnection, id: &UnitId, changes: &UnitChanges) -> QueryResult<()> {
    super::names::forget(id);
    let n = diesel::update(units::table.find(id)).set(changes).execute(conn)?;
    if n == 0 {
        return Err(diesel::result::Error::NotFound);
    }
    Ok(())
}

/// (id, name) of the given ids, for labelling references in responses.
pub fn names(conn: &mut DbConnection, ids: &[UnitId]) -> QueryResult<Vec<(UnitId, String)>> {
    units::table.filter(units::id.eq_any(ids.to_vec())).select((units::id, units::name)).load(conn)
}

/// The unit of `organisation_id` with this organisation number of its own.
pub fn find_by_number(
    conn: &mut DbConnection,
    organisation_id: &OrganisationId,
    org_number: &str,
) -> QueryResult<Option<UnitRow>> {
    units::table
        .filter(units::organisation_id.eq(organisation_id))
        .filter(units::org_number.eq(org_number))
        .filter(units::active.eq(true))
        .select(UnitRow::as_select())
        .first(conn)
        .optional()
}

/// Every unit, active or not (an import resolves historic names).
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<UnitRow>> {
    units::table.select(UnitRow::as_select()).order(units::name.asc()).load(conn)
}
