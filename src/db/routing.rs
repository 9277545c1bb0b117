//! Routing rules: category → unit per recipient organisation; category `*` is the default.

use crate::ids::{OrganisationId, UnitId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::routing_rules::{self, dsl as r};
use super::DbConnection;

pub const DEFAULT_CATEGORY: &str = "*";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = routing_rules)]
pub struct RuleRow {
    pub organisation_id: OrganisationId,
    pub category: String,
    pub unit_id: UnitId,
    pub updated_at: NaiveDateTime,
}

pub fn for_organisation(conn: &mut DbConnection, organisation_id: &OrganisationId) -> QueryResult<Vec<RuleRow>> {
    routing_rules::table
        .filter(r::organisation_id.eq(organisation_id))
        .order(r::category.asc())
        .select(RuleRow::as_select())
        .load(conn)
}

/// The unit a new deviation in `category` goes to: the category's rule, else the default, else none.
pub fn route(conn: &mut DbConnection, organisation_id: &OrganisationId, category: &str) -> QueryResult<Option<UnitId>> {
    let rules: Vec<(String, UnitId)> = routing_rules::table
        .filter(r::organisation_id.eq(organisation_id))
        .filter(r::category.eq(category).or(r::category.eq(DEFAULT_CATEGORY)))
        .select((r::category, r::unit_id))
        .load(conn)?;
    let pick = |c: &str| rules.iter().find(|(rc, _)| rc == c).map(|(_, u)| u.clone());
    Ok(pick(category).or_else(|| pick(DEFAULT_CATEGORY)))
}

/// Replaces the organisation's whole table.
pub fn replace(conn: &mut DbConnection, organisation_id: &OrganisationId, rules: &[RuleRow]) -> QueryResult<()> {
    diesel::delete(routing_rules::table.filter(r::organisation_id.eq(organisation_id))).execute(conn)?;
    // One row at a time: batch inserts do not compile through the multi-backend connection.
    for rule in rules {
        diesel::insert_into(routing_rules::table).values(rule).execute(conn)?;
    }
    Ok(())
}
