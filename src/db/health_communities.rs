//! Helsefellesskap: a hospital trust and its municipalities, the scope of statistics and committees.

use crate::ids::HealthCommunityId;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::health_communities;
use super::DbConnection;

/// The helsefellesskap every deployment starts with (migration 000008); existing data belongs to it.
pub const DEFAULT_ID: &str = "01936a00-0000-7000-8000-000000000001";

pub fn default_id() -> HealthCommunityId {
    DEFAULT_ID.into()
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = health_communities)]
pub struct HealthCommunityRow {
    pub id: HealthCommunityId,
    pub name: String,
    pub improvement_group_recipients: String,
    pub committee_recipients: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<HealthCommunityRow>> {
    health_communities::table.select(HealthCommunityRow::as_select()).order(health_communities::name.asc()).load(conn)
}

pub fn find(conn: &mut DbConnection, id: &HealthCommunityId) -> QueryResult<HealthCommunityRow> {
    health_communities::table.find(id).select(HealthCommunityRow::as_select()).first(conn)
}

pub fn insert(conn: &mut DbConnection, row: &HealthCommunityRow) -> QueryResult<()> {
    diesel::insert_into(health_communities::table).values(row).execute(conn).map(|_| ())
}

pub fn rename(conn: &mut DbConnection, id: &HealthCommunityId, name: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(health_communities::table.find(id))
        .set((health_communities::name.eq(name), health_communities::updated_at.eq(at)))
        .execute(conn)
        .map(|_| ())
}
