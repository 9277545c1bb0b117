use crate::ids::{HealthCommunityId, OrganisationId, UnitId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::users::{self, dsl as u};
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub organisation_id: OrganisationId,
    pub unit_id: Option<UnitId>,
    pub role: String,
    pub password_hash: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Tokens carry the epoch they were issued in; moving it on ends every session of the user.
    pub session_epoch: i32,
    /// The person's HPR number (Helsepersonellregisteret), which finds them at their first HelseID login.
    pub hpr_number: Option<String>,
    /// An organisation's system (see `integration_clients`), not a person: never assigned, never mailed.
    pub machine: bool,
    /// Asked for access at a HelseID login (self-enrolment) and not yet approved by an admin.
    pub pending: bool,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub name: Option<String>,
    pub unit_id: Option<Option<UnitId>>,
    pub role: Option<String>,
    pub password_hash: Option<Option<String>>,
    pub active: Option<bool>,
    pub hpr_number: Option<Option<String>>,
    pub email: Option<String>,
    pub pending: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn find(conn: &mut DbConnection, id: &UserId) -> QueryResult<UserRow> {
    users::table.find(id).select(UserRow::as_select()).first(conn)
}

pub fn find_active(conn: &mut DbConnection, id: &UserId) -> QueryResult<UserRow> {
    users::table.find(id).filter(users::active.eq(true)).select(UserRow::as_select()).first(conn)
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email.eq(email.trim().to_lowercase()))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut DbConnection, organisation_id: Option<&OrganisationId>) -> QueryResult<Vec<UserRow>> {
    let mut q = users::table.select(UserRow::as_select()).into_boxed();
    if let Some(org) = organisation_id {
        q = q.filter(users::organisation_id.eq(org.to_owned()));
    }
    q.order(users::email.asc()).load(conn)
}

pub fn insert(conn: &mut DbConnection, row: &UserRow) -> QueryResult<()> {
    diesel::insert_into(users::table).values(row).execute(conn).map(|_| ())
}

/// Ends every session of the user: tokens issued before no longer verify.
pub fn end_sessions(conn: &mut DbConnection, id: &UserId) -> QueryResult<()> {
    diesel::update(users::table.find(id)).set(users::session_epoch.eq(users::session_epoch + 1)).execute(conn)?;
    Ok(())
}

pub fn update(conn: &mut DbConnection, id: &UserId, changes: &UserChanges) -> QueryResult<()> {
    super::names::forget(id);
    let n = diesel::update(users::table.find(id)).set(changes).execute(conn)?;
    if n == 0 {
        return Err(diesel::result::Error::NotFound);
    }
    Ok(())
}

/// The inactive user that stands for an organisation's reporters where no person is known
/// (generated and imported deviations): found by its address, made once.
pub fn placeholder(
    conn: &mut DbConnection,
    organisation_id: &OrganisationId,
    local_part: &str,
    name: &str,
    now: NaiveDateTime,
) -> QueryResult<UserId> {
    let email = format!("{local_part}@{organisation_id}.example");
    if let Some(u) = find_by_email(conn, &email)? {
        return Ok(u.id);
    }
    let row = UserRow {
        id: UserId::generate(),
        email,
        name: name.into(),
        organisation_id: organisation_id.clone(),
        unit_id: None,
        role: "reporter".into(),
        password_hash: None,
        active: false,
        created_at: now,
        updated_at: now,
        session_epoch: 0,
        hpr_number: None,
        machine: false,
        pending: false,
    };
    insert(conn, &row)?;
    Ok(row.id)
}

/// Since when the user takes the improvement group's newsletter (#36); None: not.
pub fn newsletter_since(conn: &mut DbConnection, id: &UserId) -> QueryResult<Option<NaiveDateTime>> {
    users::table.find(id).select(u::newsletter_since).first(conn)
}

pub fn set_newsletter(conn: &mut DbConnection, id: &UserId, since: Option<NaiveDateTime>) -> QueryResult<()> {
    diesel::update(users::table.find(id)).set(u::newsletter_since.eq(since)).execute(conn).map(|_| ())
}

/// The newsletter's subscribers for a helsefellesskap: active people of its organisations and of
/// the region's own (no helsefellesskap), subscribed before `before` where given: (id, email, since).
pub fn newsletter_subscribers(
    conn: &mut DbConnection,
    community: &HealthCommunityId,
    before: Option<NaiveDateTime>,
) -> QueryResult<Vec<(UserId, String, NaiveDateTime)>> {
    use super::schema::organisations::dsl as o;
    let mut q = users::table
        .inner_join(super::schema::organisations::table)
        .filter(u::active.eq(true))
        .filter(u::machine.eq(false))
        .filter(u::pending.eq(false))
        .filter(o::health_community_id.eq(community.clone()).or(o::health_community_id.is_null()))
        .filter(u::newsletter_since.is_not_null())
        .into_boxed();
    if let Some(before) = before {
        q = q.filter(u::newsletter_since.lt(before));
    }
    let rows: Vec<(UserId, String, Option<NaiveDateTime>)> =
        q.order(u::id.asc()).select((u::id, u::email, u::newsletter_since)).load(conn)?;
    Ok(rows.into_iter().filter_map(|(id, email, since)| since.map(|s| (id, email, s))).collect())
}
