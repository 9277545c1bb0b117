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

/// The log rows about one patient (by keyed hash: looks that showed it, and any look at one of the
/// patient's deviations) on deviations `org` sent or received, in [from, to), oldest first.
pub fn log_for_patient(
    conn: &mut DbConnection,
    org: &OrganisationId,
    hash: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<AccessRow>> {
    use super::schema::patient_access_log::dsl as l;
    let of_org = super::schema::deviations::table
        .filter(d::reporting_organisation_id.eq(org).or(d::recipient_organisation_id.eq(org)))
        .select(d::id.nullable());
    let of_patient = patient_identities::table.filter(p::patient_hash.eq(hash)).select(p::deviation_id.nullable());
    patient_access_log::table
        .filter(l::at.ge(from).and(l::at.lt(to)))
        .filter(l::deviation_id.eq_any(of_org))
        .filter(l::patient_hash.eq(hash).or(l::deviation_id.eq_any(of_patient)))
        .order(l::at.asc())
        .select(AccessRow::as_select())
        .load(conn)
}

/// The looks made by people of `org` in [from, to), oldest first (routine control).
pub fn log_by_organisation(
    conn: &mut DbConnection,
    org: &OrganisationId,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<AccessRow>> {
    use super::schema::patient_access_log::dsl as l;
    patient_access_log::table
        .filter(l::organisation_id.eq(org))
        .filter(l::at.ge(from).and(l::at.lt(to)))
        .order(l::at.asc())
        .select(AccessRow::as_select())
        .load(conn)
}

/// Deletes the log rows older than `before`: the one deletion the database allows, through the
/// cut-off row its triggers look for, in the caller's transaction.
pub fn purge_log(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    use super::schema::patient_access_log::dsl as l;
    use super::schema::patient_access_log_purge::dsl as cut;
    diesel::insert_into(cut::patient_access_log_purge).values(cut::before.eq(before)).execute(conn)?;
    let n = diesel::delete(patient_access_log::table.filter(l::at.lt(before))).execute(conn)?;
    diesel::delete(cut::patient_access_log_purge).execute(conn)?;
    Ok(n)
}

/// Up to `limit` identities sealed with another key than `active`, after `after` (by deviation id).
pub fn sealed_with_other_key(
    conn: &mut DbConnection,
    active: &str,
    after: &DeviationId,
    limit: i64,
) -> QueryResult<Vec<IdentityRow>> {
    patient_identities::table
        .filter(p::key_id.is_not_null())
        .filter(p::key_id.ne(active))
        .filter(p::deviation_id.gt(after))
        .order(p::deviation_id.asc())
        .limit(limit)
        .select(IdentityRow::as_select())
        .load(conn)
}

/// Replaces a sealed value, only if it is still the one read (sealed with `old_key`): an erasure
/// or another rotation in between wins.
pub fn reseal(
    conn: &mut DbConnection,
    id: &DeviationId,
    old_key: &str,
    key_id: &str,
    ciphertext: &str,
) -> QueryResult<bool> {
    let n = diesel::update(patient_identities::table.filter(p::deviation_id.eq(id)).filter(p::key_id.eq(old_key)))
        .set((p::key_id.eq(key_id), p::ciphertext.eq(ciphertext)))
        .execute(conn)?;
    Ok(n == 1)
}

/// Deviations closed before `closed_before` whose identity is still kept, at most `limit`.
pub fn erasable(conn: &mut DbConnection, closed_before: NaiveDateTime, limit: i64) -> QueryResult<Vec<DeviationId>> {
    patient_identities::table
        .inner_join(super::schema::deviations::table)
        .filter(p::erased_at.is_null())
        .filter(d::closed_at.lt(closed_before))
        .select(p::deviation_id)
        .limit(limit)
        .load(conn)
}

/// Erases one identity if its deviation is still closed before the cut-off (a reopening in
/// between keeps it). Returns whether it did.
pub fn erase(
    conn: &mut DbConnection,
    id: &DeviationId,
    closed_before: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let still_closed = super::schema::deviations::table.find(id).filter(d::closed_at.lt(closed_before));
    let n = diesel::update(
        patient_identities::table
            .filter(p::deviation_id.eq(id))
            .filter(p::erased_at.is_null())
            .filter(diesel::dsl::exists(still_closed)),
    )
    .set((
        p::key_id.eq(None::<String>),
        p::ciphertext.eq(None::<String>),
        p::patient_hash.eq(None::<String>),
        p::erased_at.eq(Some(now)),
    ))
    .execute(conn)?;
    Ok(n == 1)
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
