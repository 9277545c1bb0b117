//! Machine clients: an organisation's quality system, registered by the organisation's quality
//! advisor or an admin under its HelseID client id or with an API key (local mode), with scopes. Each gets a user row of its own
//! (`users.machine`) that acts as the organisation's quality advisor would, within its scopes.

use serde::{Deserialize, Serialize};
use validator::Validate;

use super::organisations::not_found_as;
use super::{now, required_text};
use crate::db::clients::{self, ClientRow};
use crate::db::{organisations as orgs, users, DbConnection};
use crate::domain::{Code, Role};
use crate::error::ApiError;
use crate::ids::{ClientId, OrganisationId, UserId};

use crate::auth::api_key;
use crate::auth::caller::{CLIENT_READ as READ, CLIENT_SCOPES as SCOPES, CLIENT_WRITE as WRITE};
use crate::config::AuthMode;

#[derive(Debug, Serialize, Deserialize)]
pub struct Client {
    pub id: ClientId,
    pub organisation_id: OrganisationId,
    pub name: String,
    pub helseid_client_id: Option<String>,
    /// The start of its API key, to tell keys apart (local mode).
    pub api_key_prefix: Option<String>,
    /// The whole API key: only in the answer to its registration, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    pub scopes: Vec<String>,
    pub active: bool,
    pub created_at: chrono::NaiveDateTime,
    pub last_used_at: Option<chrono::NaiveDateTime>,
}

impl From<ClientRow> for Client {
    fn from(r: ClientRow) -> Self {
        Client {
            id: r.id,
            organisation_id: r.organisation_id,
            name: r.name,
            helseid_client_id: r.helseid_client_id,
            api_key_prefix: r.api_key_prefix,
            api_key: None,
            scopes: r.scopes.split(' ').map(str::to_owned).collect(),
            active: r.active,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    #[validate(length(min = 1, max = 200, message = "Navnet kan ha høyst 200 tegn."))]
    pub name: String,
    /// Its client id at HelseID; without one (local mode) the client gets an API key.
    #[validate(length(min = 1, max = 200, message = "Klient-ID-en kan ha høyst 200 tegn."))]
    pub helseid_client_id: Option<String>,
    pub scopes: Vec<String>,
}

fn scopes(given: &[String]) -> Result<String, ApiError> {
    if given.is_empty() {
        return Err(ApiError::field(
            "scopes",
            "required",
            "Velg minst ett scope: deviations:read, deviations:write eller feed:read.",
        ));
    }
    if let Some(bad) = given.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        let shown = if bad.len() <= 40 && bad.chars().all(|c| c.is_ascii_graphic()) { bad.as_str() } else { "?" };
        return Err(ApiError::field(
            "scopes",
            "invalid_value",
            format!("Ukjent scope «{shown}». Gyldige er {}.", SCOPES.join(", ")),
        ));
    }
    let mut list: Vec<&str> = SCOPES.iter().copied().filter(|s| given.iter().any(|g| g == s)).collect();
    // Writing on a case means reading it first.
    if list.contains(&WRITE) && !list.contains(&READ) {
        list.insert(0, READ);
    }
    Ok(list.join(" "))
}

/// Registers a client: under its HelseID client id, or (when none is given, in local mode) with a
/// new API key, returned in the answer only.
pub fn create(
    conn: &mut DbConnection,
    organisation_id: &OrganisationId,
    new: NewClient,
    mode: AuthMode,
) -> Result<Client, ApiError> {
    new.validate()?;
    let name = required_text("name", &new.name)?;
    let helseid_client_id = new.helseid_client_id.map(|id| id.trim().to_owned());
    if helseid_client_id.as_ref().is_some_and(|id| id.is_empty() || !id.chars().all(|c| c.is_ascii_graphic())) {
        return Err(ApiError::field(
            "helseid_client_id",
            "invalid_value",
            "Klient-ID-en fra HelseID består av synlige tegn uten mellomrom.",
        ));
    }
    if helseid_client_id.is_none() && mode == AuthMode::Oidc {
        return Err(ApiError::field(
            "helseid_client_id",
            "required",
            "Med HelseID kaller kvalitetssystemet med egen HelseID-klient: oppgi klient-ID-en.",
        ));
    }
    let key = helseid_client_id.is_none().then(api_key::generate);
    let scopes = scopes(&new.scopes)?;
    crate::db::write_tx(conn, |conn| {
        orgs::find(conn, organisation_id).map_err(|e| not_found_as("Organisasjonen finnes ikke.", e))?;
        let taken = match &helseid_client_id {
            Some(id) => clients::helseid_client_taken(conn, id)?,
            None => false,
        };
        if taken {
            return Err(ApiError::conflict(
                "client_taken",
                "Denne HelseID-klienten er allerede registrert (kanskje for en annen organisasjon). Trekk den tilbake der først.",
            ));
        }
        let now = now();
        let id = ClientId::generate();
        let user = users::UserRow {
            id: UserId::generate(),
            // Unique and undeliverable (RFC 2606): a machine gets no mail.
            email: format!("klient-{id}@samavvik.invalid"),
            name: name.clone(),
            organisation_id: organisation_id.clone(),
            unit_id: None,
            role: Role::QualityAdvisor.code().to_owned(),
            password_hash: None,
            active: true,
            created_at: now,
            updated_at: now,
            session_epoch: 0,
            hpr_number: None,
            machine: true,
            pending: false,
        };
        users::insert(conn, &user)?;
        let row = ClientRow {
            id,
            organisation_id: organisation_id.clone(),
            user_id: user.id,
            name,
            helseid_client_id,
            scopes,
            active: true,
            created_at: now,
            last_used_at: None,
            api_key_prefix: key.as_ref().map(|k| k.prefix.clone()),
            api_key_hash: key.as_ref().map(|k| k.hash.clone()),
        };
        clients::insert(conn, &row)?;
        Ok(Client { api_key: key.map(|k| k.key), ..row.into() })
    })
}

pub fn list(conn: &mut DbConnection, organisation_id: &OrganisationId) -> Result<Vec<Client>, ApiError> {
    orgs::find(conn, organisation_id).map_err(|e| not_found_as("Organisasjonen finnes ikke.", e))?;
    Ok(clients::list(conn, organisation_id)?.into_iter().map(Client::from).collect())
}

/// Revokes a client: its tokens stop working (its user is deactivated, its sessions ended).
/// Returns it, so the caches that know it can forget it.
pub fn revoke(conn: &mut DbConnection, organisation_id: &OrganisationId, id: &ClientId) -> Result<ClientRow, ApiError> {
    crate::db::write_tx(conn, |conn| {
        let client = clients::find(conn, id)
            .ok()
            .filter(|c| c.organisation_id == *organisation_id)
            .ok_or_else(|| ApiError::not_found("Klienten finnes ikke i denne organisasjonen."))?;
        clients::deactivate(conn, id)?;
        let changes = users::UserChanges { active: Some(false), updated_at: Some(now()), ..Default::default() };
        users::update(conn, &client.user_id, &changes)?;
        users::end_sessions(conn, &client.user_id)?;
        Ok(client)
    })
}
