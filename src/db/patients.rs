//! Sealed patient identities and their access log. The log is only ever inserted into here; the
//! database refuses anything else (migration 000012).

use crate::ids::{DeviationId, OrganisationId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::deviations::{scoped, DeviationRow, Mailbox, Scope};
use super::schema::deviations::dsl as d;
use super::schema::patient_access_log;
use super::schema::patient_identities::{self, dsl as p};
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = patient_identities)]
pub struct IdentityRow {
    pub deviation_id: DeviationId,
    pub key_id: Option<String>,
    pub ciphertext: Option<String>,
    pub patient_hash: Option<String>,
    pub created_at: NaiveDateTime,
    pub erased_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = patient_access_log)]
pub struct AccessRow {
    pub id: String,
    pub at: NaiveDateTime,
    pub user_id: UserId,
    pub role: String,
    pub organisation_id: OrganisationId,
    pub deviation_id: Option<DeviationId>,
    pub action: String,
    pub reason: Option<String>,
    pub reason_text: Option<String>,
    pub result: String,
    pub patient_hash: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &IdentityRow) -> QueryResult<()> {
    diesel::insert_into(patient_identities::table).values(row).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConnection, deviation_id: &DeviationId) -> QueryResult<Option<IdentityRow>> {
    patient_identities::table.find(deviation_id).select(IdentityRow::as_select()).first(conn).optional()
}

pub fn log(conn: &mut DbConnection, row: &AccessRow) -> QueryResult<()> {
    diesel::insert_into(patient_access_log::table).values(row).execute(conn).map(|_| ())
}

/// Other deviations about the patient with this hash, within `scope`, newest first.
pub fn related(
    conn: &mut DbConnection,
    scope: &Scope,
    hash: &str,
    except: &DeviationId,
) -> QueryResult<Vec<DeviationRow>> {
    let same: Vec<DeviationId> = patient_identities::table
        .filter(p::patient_hash.eq(hash))
        .filter(p::deviation_id.ne(except))
        .select(p::deviation_id)
        .load(conn)?;
    let q = scoped(scope, Mailbox::All).filter(d::id.eq_any(same));
    q.order(d::submitted_at.desc()).select(DeviationRow::as_select()).load(conn)
}
