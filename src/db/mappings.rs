//! Each organisation's mapping from the unified categories to its quality system's own codes
//! (migration 000017).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::category_mappings::{self, dsl as m};
use super::DbConnection;
use crate::ids::OrganisationId;

/// `kind` is '' for both kinds.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = category_mappings)]
pub struct MappingRow {
    pub organisation_id: OrganisationId,
    pub category: String,
    pub kind: String,
    pub local_code: Option<String>,
    pub local_label: Option<String>,
    pub updated_at: NaiveDateTime,
}

pub fn for_organisation(conn: &mut DbConnection, organisation_id: &OrganisationId) -> QueryResult<Vec<MappingRow>> {
    category_mappings::table
        .filter(m::organisation_id.eq(organisation_id))
        .order((m::category.asc(), m::kind.asc()))
        .select(MappingRow::as_select())
        .load(conn)
}

/// Replaces the organisation's whole mapping.
pub fn replace(conn: &mut DbConnection, organisation_id: &OrganisationId, rows: &[MappingRow]) -> QueryResult<()> {
    diesel::delete(category_mappings::table.filter(m::organisation_id.eq(organisation_id))).execute(conn)?;
    // One row at a time: batch inserts do not compile through the multi-backend connection.
    for row in rows {
        diesel::insert_into(category_mappings::table).values(row).execute(conn)?;
    }
    Ok(())
}
