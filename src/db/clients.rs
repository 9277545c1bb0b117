//! Machine clients of an organisation (migration 000014).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::integration_clients as clients;
use super::DbConnection;
use crate::ids::{ClientId, OrganisationId, UserId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = clients)]
pub struct ClientRow {
    pub id: ClientId,
    pub organisation_id: OrganisationId,
    pub user_id: UserId,
    pub name: String,
    /// Its client id at HelseID, or None for a client with an API key (local mode).
    pub helseid_client_id: Option<String>,
    /// Space-separated, from `auth::caller::CLIENT_SCOPES`.
    pub scopes: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub api_key_prefix: Option<String>,
    pub api_key_hash: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &ClientRow) -> QueryResult<()> {
    diesel::insert_into(clients::table).values(row).execute(conn).map(|_| ())
}

pub fn list(conn: &mut DbConnection, organisation_id: &OrganisationId) -> QueryResult<Vec<ClientRow>> {
    clients::table
        .filter(clients::organisation_id.eq(organisation_id))
        .order(clients::created_at.asc())
        .select(ClientRow::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: &ClientId) -> QueryResult<ClientRow> {
    clients::table.find(id).select(ClientRow::as_select()).first(conn)
}

/// The active client registered under this HelseID client id.
pub fn by_helseid_client(conn: &mut DbConnection, client_id: &str) -> QueryResult<Option<ClientRow>> {
    clients::table
        .filter(clients::helseid_client_id.eq(client_id))
        .filter(clients::active.eq(true))
        .select(ClientRow::as_select())
        .first(conn)
        .optional()
}

/// The scopes of the client a machine user stands for (empty when it has none, so it may nothing).
pub fn scopes_of_user(conn: &mut DbConnection, user_id: &UserId) -> QueryResult<String> {
    let scopes: Option<String> =
        clients::table.filter(clients::user_id.eq(user_id)).select(clients::scopes).first(conn).optional()?;
    Ok(scopes.unwrap_or_default())
}

/// The active client whose API key has this prefix.
pub fn by_api_key_prefix(conn: &mut DbConnection, prefix: &str) -> QueryResult<Option<ClientRow>> {
    clients::table
        .filter(clients::api_key_prefix.eq(prefix))
        .filter(clients::active.eq(true))
        .select(ClientRow::as_select())
        .first(conn)
        .optional()
}

pub fn helseid_client_taken(conn: &mut DbConnection, client_id: &str) -> QueryResult<bool> {
    let active = clients::table.filter(clients::helseid_client_id.eq(client_id)).filter(clients::active.eq(true));
    diesel::select(diesel::dsl::exists(active)).get_result(conn)
}

pub fn deactivate(conn: &mut DbConnection, id: &ClientId) -> QueryResult<()> {
    diesel::update(clients::table.find(id)).set(clients::active.eq(false)).execute(conn).map(|_| ())
}

pub fn used(conn: &mut DbConnection, id: &ClientId, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(clients::table.find(id)).set(clients::last_used_at.eq(at)).execute(conn).map(|_| ())
}
