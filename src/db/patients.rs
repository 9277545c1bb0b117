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
    /// `person`, `machine` (refused, always), or `system` (the retention purge's own row).
    pub actor_kind: String,
    /// The row's place in the chain, its predecessor's MAC, its own, and which key made it
    /// (`patients::chain`); set by `append`, never by the caller.
    pub seq: Option<i64>,
    pub prev_hash: Option<String>,
    pub row_hash: Option<String>,
    pub key_id: Option<String>,
}

/// The chain's head: the newest row's number and MAC, and where the chain begins.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = super::schema::patient_access_log_head)]
pub struct Head {
    pub seq: i64,
    pub row_hash: Option<String>,
    pub chain_from: i64,
}

pub fn insert(conn: &mut DbConnection, row: &IdentityRow) -> QueryResult<()> {
    diesel::insert_into(patient_identities::table).values(row).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConnection, deviation_id: &DeviationId) -> QueryResult<Option<IdentityRow>> {
    patient_identities::table.find(deviation_id).select(IdentityRow::as_select()).first(conn).optional()
}

/// The head, locked until the transaction ends (on SQLite the write lock already serialises).
pub fn head_for_update(conn: &mut DbConnection) -> QueryResult<Head> {
    use super::schema::patient_access_log_head::dsl as h;
    match conn {
        DbConnection::Pg(c) => h::patient_access_log_head.find(1).select(Head::as_select()).for_update().first(c),
        DbConnection::Sqlite(c) => h::patient_access_log_head.find(1).select(Head::as_select()).first(c),
    }
}

pub fn head(conn: &mut DbConnection) -> QueryResult<Head> {
    use super::schema::patient_access_log_head::dsl as h;
    h::patient_access_log_head.find(1).select(Head::as_select()).first(conn)
}

/// Inserts a chained row and moves the head to it, in the caller's transaction.
pub fn insert_chained(conn: &mut DbConnection, row: &AccessRow) -> QueryResult<()> {
    use super::schema::patient_access_log_head::dsl as h;
    diesel::insert_into(patient_access_log::table).values(row).execute(conn)?;
    diesel::update(h::patient_access_log_head.find(1))
        .set((h::seq.eq(row.seq.unwrap_or_default()), h::row_hash.eq(&row.row_hash)))
        .execute(conn)
        .map(|_| ())
}

/// Up to `limit` rows after `after` in chain order (rows without a number first, as `seq` NULL).
pub fn chain_page(conn: &mut DbConnection, after: Option<i64>, limit: i64) -> QueryResult<Vec<AccessRow>> {
    use super::schema::patient_access_log::dsl as l;
    let q = patient_access_log::table.order(l::seq.asc()).limit(limit).select(AccessRow::as_select());
    match after {
        Some(a) => q.filter(l::seq.gt(a)).load(conn),
        None => q.load(conn),
    }
}

/// The erased identity's hash, kept for innsyn until `until` (the log's own retention).
pub fn link(conn: &mut DbConnection, id: &DeviationId, hash: &str, until: NaiveDateTime) -> QueryResult<()> {
    use super::schema::patient_log_links::dsl as k;
    diesel::insert_into(k::patient_log_links)
        .values((k::deviation_id.eq(id), k::patient_hash.eq(hash), k::until.eq(until)))
        .execute(conn)
        .map(|_| ())
}

/// Whether any row of the log is linked to a patient (innsyn without the hash key would miss them).
pub fn any_patient_rows(conn: &mut DbConnection) -> QueryResult<bool> {
    use super::schema::patient_access_log::dsl as l;
    diesel::select(diesel::dsl::exists(patient_access_log::table.filter(l::patient_hash.is_not_null())))
        .get_result(conn)
}

/// The log rows about one patient (by keyed hash: looks that showed it, and any look at one of the
/// patient's deviations, also after its identity was erased) on deviations `org` sent or received
/// or made by `org`'s people, in [from, to), oldest first.
pub fn log_for_patient(
    conn: &mut DbConnection,
    org: &OrganisationId,
    hash: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<AccessRow>> {
    use super::schema::patient_access_log::dsl as l;
    use super::schema::patient_log_links::dsl as k;
    let of_org = super::schema::deviations::table
        .filter(d::reporting_organisation_id.eq(org).or(d::recipient_organisation_id.eq(org)))
        .select(d::id.nullable());
    let of_patient = patient_identities::table.filter(p::patient_hash.eq(hash)).select(p::deviation_id.nullable());
    let erased = k::patient_log_links.filter(k::patient_hash.eq(hash)).select(k::deviation_id.nullable());
    patient_access_log::table
        .filter(l::at.ge(from).and(l::at.lt(to)))
        // Cases the organisation is a party to now, and every look its own people made (a case
        // forwarded away still holds the looks made while it was theirs).
        .filter(l::deviation_id.eq_any(of_org).or(l::organisation_id.eq(org)))
        // The privacy officer's own questions are not looks at a case.
        .filter(l::action.ne("innsyn"))
        .filter(l::patient_hash.eq(hash).or(l::deviation_id.eq_any(of_patient)).or(l::deviation_id.eq_any(erased)))
        .order((l::at.asc(), l::seq.asc()))
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
        .order((l::at.asc(), l::seq.asc()))
        .select(AccessRow::as_select())
        .load(conn)
}

/// What a purge removed: how many rows, and the last of them in chain order (number and MAC).
#[derive(Debug, Default)]
pub struct Purged {
    pub rows: usize,
    pub through: Option<(i64, Option<String>)>,
}

/// Deletes the oldest rows of the chain, those before `before`: the one deletion the database
/// allows, through the cut-off row its triggers look for, in the caller's transaction. Only a
/// prefix of the chain goes, so what remains still links up to the purge's own record.
pub fn purge_log(conn: &mut DbConnection, before: NaiveDateTime, now: NaiveDateTime) -> QueryResult<Purged> {
    use super::schema::patient_access_log::dsl as l;
    use super::schema::patient_access_log_purge::dsl as cut;
    let first_kept: Option<i64> =
        patient_access_log::table.filter(l::at.ge(before)).select(diesel::dsl::min(l::seq)).first(conn)?;
    let prefix = patient_access_log::table.filter(l::at.lt(before)).into_boxed();
    let prefix = match first_kept {
        Some(s) => prefix.filter(l::seq.lt(s)),
        None => prefix,
    };
    let through: Option<(Option<i64>, Option<String>)> =
        prefix.order(l::seq.desc()).select((l::seq, l::row_hash)).first(conn).optional()?;
    let Some((Some(through_seq), through_hash)) = through else {
        forget_links(conn, now)?;
        return Ok(Purged::default());
    };
    diesel::insert_into(cut::patient_access_log_purge).values(cut::before.eq(before)).execute(conn)?;
    let n = diesel::delete(patient_access_log::table.filter(l::seq.le(through_seq))).execute(conn)?;
    diesel::delete(cut::patient_access_log_purge).execute(conn)?;
    forget_links(conn, now)?;
    Ok(Purged { rows: n, through: Some((through_seq, through_hash)) })
}

/// Links whose time is up and that no remaining row of the log needs.
fn forget_links(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    use super::schema::patient_access_log::dsl as l;
    use super::schema::patient_log_links::dsl as k;
    let still_logged = patient_access_log::table.filter(l::deviation_id.is_not_null()).select(l::deviation_id);
    diesel::delete(
        k::patient_log_links.filter(k::until.lt(now)).filter(k::deviation_id.nullable().ne_all(still_logged)),
    )
    .execute(conn)
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
/// between keeps it), with what an idempotency key remembered of it; its keyed hash moves to the
/// innsyn link until `link_until`. Returns whether it did.
pub fn erase(
    conn: &mut DbConnection,
    id: &DeviationId,
    closed_before: NaiveDateTime,
    now: NaiveDateTime,
    link_until: NaiveDateTime,
) -> QueryResult<bool> {
    use super::schema::idempotency_keys::dsl as ik;
    let hash: Option<Option<String>> = patient_identities::table
        .find(id)
        .filter(p::erased_at.is_null())
        .select(p::patient_hash)
        .first(conn)
        .optional()?;
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
    if n != 1 {
        return Ok(false);
    }
    diesel::delete(ik::idempotency_keys.filter(ik::deviation_id.eq(id))).execute(conn)?;
    if let Some(hash) = hash.flatten() {
        link(conn, id, &hash, link_until)?;
    }
    Ok(true)
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
