//! HelseID persons linked to user rows, and the DPoP proofs seen (see migration 000014).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{dpop_proofs, user_identities, users};
use super::DbConnection;
use crate::ids::{OrganisationId, UserId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_identities)]
pub struct IdentityRow {
    pub issuer: String,
    pub subject: String,
    pub organisation_id: OrganisationId,
    pub user_id: UserId,
    pub pid_hash: Option<String>,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
}

/// The user this provider's subject acts as in this organisation.
pub fn find(conn: &mut DbConnection, issuer: &str, subject: &str, org: &OrganisationId) -> QueryResult<Option<UserId>> {
    user_identities::table
        .filter(user_identities::issuer.eq(issuer))
        .filter(user_identities::subject.eq(subject))
        .filter(user_identities::organisation_id.eq(org))
        .select(user_identities::user_id)
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut DbConnection, row: &IdentityRow) -> QueryResult<()> {
    diesel::insert_into(user_identities::table).values(row).execute(conn).map(|_| ())
}

/// A user the organisation's admin registered and nobody has logged in as yet: by HPR number, or
/// else by e-mail. A user already linked to a HelseID person is not offered to another.
pub fn pre_registered(
    conn: &mut DbConnection,
    org: &OrganisationId,
    hpr_number: Option<&str>,
    email: Option<&str>,
) -> QueryResult<Option<UserId>> {
    let unlinked = || {
        users::organisation_id.eq(org.clone()).and(users::active.eq(true)).and(diesel::dsl::not(diesel::dsl::exists(
            user_identities::table.filter(user_identities::user_id.eq(users::id)),
        )))
    };
    if let Some(hpr) = hpr_number {
        let found = users::table
            .filter(unlinked())
            .filter(users::hpr_number.eq(hpr))
            .select(users::id)
            .first(conn)
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    match email {
        Some(email) => users::table
            .filter(unlinked())
            .filter(users::email.eq(email.to_lowercase()))
            .select(users::id)
            .first(conn)
            .optional(),
        None => Ok(None),
    }
}

/// Stores a proof's replay key; false when it is there already (a replay).
pub fn remember_proof(conn: &mut DbConnection, key: &str, expires_at: NaiveDateTime) -> QueryResult<bool> {
    use diesel::result::{DatabaseErrorKind, Error};
    let inserted = diesel::insert_into(dpop_proofs::table)
        .values((dpop_proofs::jti_hash.eq(key), dpop_proofs::expires_at.eq(expires_at)))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(true),
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Forgets proofs whose window has passed: they would be refused for their age anyway.
pub fn forget_proofs(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(dpop_proofs::table.filter(dpop_proofs::expires_at.lt(now))).execute(conn)
}
