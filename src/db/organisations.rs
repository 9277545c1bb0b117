use crate::ids::{HealthCommunityId, OrganisationId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::organisations;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organisations)]
pub struct OrganisationRow {
    pub id: OrganisationId,
    pub name: String,
    pub kind: String,
    pub org_number: String,
    pub mailbox: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// None for an organisation of the region itself, party to no case.
    pub health_community_id: Option<HealthCommunityId>,
    /// Whether people it has not registered may ask for access at a HelseID login.
    pub self_enrolment: bool,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = organisations)]
pub struct OrganisationChanges {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub mailbox: Option<String>,
    pub active: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
    pub health_community_id: Option<Option<HealthCommunityId>>,
    pub self_enrolment: Option<bool>,
}

/// Organisations, optionally of one kind and of one helsefellesskap.
pub fn list(
    conn: &mut DbConnection,
    kind: Option<&str>,
    include_inactive: bool,
    community: Option<&HealthCommunityId>,
) -> QueryResult<Vec<OrganisationRow>> {
    let mut q = organisations::table.select(OrganisationRow::as_select()).into_boxed();
    if let Some(c) = community {
        q = q.filter(organisations::health_community_id.eq(c.clone()));
    }
    if let Some(kind) = kind {
        q = q.filter(organisations::kind.eq(kind.to_owned()));
    }
    if !include_inactive {
        q = q.filter(organisations::active.eq(true));
    }
    q.order((organisations::kind.asc(), organisations::name.asc())).load(conn)
}

pub fn find(conn: &mut DbConnection, id: &OrganisationId) -> QueryResult<OrganisationRow> {
    organisations::table.find(id).select(OrganisationRow::as_select()).first(conn)
}

/// The active organisation with this organisation number (HelseID names the client's organisation by it).
pub fn find_by_number(conn: &mut DbConnection, org_number: &str) -> QueryResult<Option<OrganisationRow>> {
    organisations::table
        .filter(organisations::org_number.eq(org_number))
        .filter(organisations::active.eq(true))
        .select(OrganisationRow::as_select())
        .first(conn)
        .optional()
}

pub fn org_number_taken(conn: &mut DbConnection, org_number: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(organisations::table.filter(organisations::org_number.eq(org_number))))
        .get_result(conn)
}

pub fn insert(conn: &mut DbConnection, row: &OrganisationRow) -> QueryResult<()> {
    diesel::insert_into(organisations::table).values(row).execute(conn).map(|_| ())
}

pub fn update(conn: &mut DbConnection, id: &OrganisationId, changes: &OrganisationChanges) -> QueryResult<()> {
    super::names::forget(id);
    let n = diesel::update(organisations::table.find(id)).set(changes).execute(conn)?;
    if n == 0 {
        return Err(diesel::result::Error::NotFound);
    }
    Ok(())
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    organisations::table.count().get_result(conn)
}

/// (id, name) of the given ids, for labelling references in responses.
pub fn names(conn: &mut DbConnection, ids: &[OrganisationId]) -> QueryResult<Vec<(OrganisationId, String)>> {
    organisations::table
        .filter(organisations::id.eq_any(ids.to_vec()))
        .select((organisations::id, organisations::name))
        .load(conn)
}
