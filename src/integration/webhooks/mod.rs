//! Webhooks: an organisation's quality system hears of its events as they happen, instead of
//! polling the feed. Deliveries are thin (what happened, to which deviation, its reference and
//! status; no free text, no patient data): the receiver fetches the rest with its own credentials,
//! so the access log stays true. They are signed by the Standard Webhooks spec and go through the
//! outbox like mail (`delivery`), at least once, with the same `webhook-id` on every attempt.

pub mod address;
pub mod delivery;
pub mod secrets;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::db::outbox::OutboxRow;
use crate::db::webhooks::{self as rows, AttemptRow, EndpointRow};
use crate::db::{organisations as orgs, write_tx, DbConnection};
use crate::deviations::view::utc;
use crate::directory::now;
use crate::directory::organisations::not_found_as;
use crate::domain::{Code, EventKind};
use crate::error::ApiError;
use crate::ids::{DeviationId, OrganisationId, WebhookId};
use address::Allow;
use secrets::Sealer;

/// The type of the message "send test event" sends; receivers should answer it like any other.
pub const TEST_EVENT: &str = "test";
/// How long the previous secret still signs after a rotation, so the receiver can switch over.
pub const ROTATION_HOURS: i64 = 24;
const MAX_ENDPOINTS: usize = 10;

/// An endpoint as its organisation's admin sees it; `secret` only in the answer that made it.
#[derive(Debug, Serialize)]
pub struct Webhook {
    pub id: WebhookId,
    pub organisation_id: OrganisationId,
    pub url: String,
    pub description: String,
    /// The event types it receives; empty for all.
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// While a rotation is under way: when the previous secret stops signing.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<EndpointRow> for Webhook {
    fn from(r: EndpointRow) -> Self {
        Webhook {
            id: r.id,
            organisation_id: r.organisation_id,
            url: r.url,
            description: r.description,
            event_types: r.event_types.split(' ').filter(|t| !t.is_empty()).map(str::to_owned).collect(),
            enabled: r.enabled,
            disabled_reason: r.disabled_reason,
            secret: None,
            previous_secret_expires_at: r.previous_secret_until.map(utc),
            last_success_at: r.last_success_at.map(utc),
            created_at: utc(r.created_at),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    pub url: String,
    #[serde(default)]
    pub description: String,
    /// Absent or empty: every type.
    #[serde(default)]
    pub event_types: Vec<String>,
}

/// A partial change; `enabled: true` switches a disabled endpoint back on.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookChange {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct Attempt {
    pub attempt: i32,
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status; none when there was no answer (timeout, refused, redirect).
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
}

/// One message to the endpoint: its id is the `webhook-id` of every attempt.
#[derive(Debug, Serialize)]
pub struct Delivery {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub deviation_id: Option<DeviationId>,
    /// pending (to be tried at `next_attempt_at`), sent, or failed (given up).
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub attempts: Vec<Attempt>,
}

impl Delivery {
    fn of(row: OutboxRow, attempts: Vec<AttemptRow>) -> Self {
        let pending = row.status == crate::db::outbox::PENDING;
        Delivery {
            id: row.id,
            kind: row.template,
            deviation_id: row.deviation_id,
            status: row.status,
            created_at: utc(row.created_at),
            next_attempt_at: pending.then(|| utc(row.next_attempt_at)),
            attempts: attempts
                .into_iter()
                .map(|a| Attempt {
                    attempt: a.attempt,
                    at: utc(a.attempted_at),
                    status_code: a.status_code,
                    latency_ms: a.latency_ms,
                    error: a.error,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Queued {
    /// The delivery's id, which the receiver gets as `webhook-id`.
    pub id: String,
}

fn check_url(url: &str, allow: Allow) -> Result<String, ApiError> {
    address::check_url(url, allow).map_err(|m| ApiError::field("url", "invalid_url", m))?;
    if url.chars().count() > 2000 {
        return Err(ApiError::field("url", "invalid_url", "Adressen kan ha høyst 2000 tegn."));
    }
    Ok(url.to_owned())
}

fn check_types(given: &[String]) -> Result<String, ApiError> {
    let mut types: Vec<&str> = Vec::new();
    for (i, t) in given.iter().enumerate() {
        if EventKind::from_code(t).is_none() {
            return Err(ApiError::field(
                &format!("event_types[{i}]"),
                "invalid_value",
                format!("Ukjent hendelsestype. Gyldige er {}.", EventKind::allowed()),
            ));
        }
        if !types.contains(&t.as_str()) {
            types.push(t);
        }
    }
    Ok(types.join(" "))
}

fn check_description(text: &str) -> Result<String, ApiError> {
    let text = text.trim();
    if text.chars().count() > 200 || text.chars().any(char::is_control) {
        return Err(ApiError::field("description", "invalid_value", "Beskrivelsen kan ha høyst 200 tegn på én linje."));
    }
    crate::directory::no_national_id("description", text)?;
    Ok(text.to_owned())
}

fn endpoint_of(
    conn: &mut DbConnection,
    organisation_id: &OrganisationId,
    id: &WebhookId,
) -> Result<EndpointRow, ApiError> {
    rows::find(conn, id)?
        .filter(|e| e.organisation_id == *organisation_id)
        .ok_or_else(|| ApiError::not_found("Webhooken finnes ikke."))
}

pub fn list(conn: &mut DbConnection, organisation_id: &OrganisationId) -> Result<Vec<Webhook>, ApiError> {
    Ok(rows::list(conn, organisation_id)?.into_iter().map(Webhook::from).collect())
}

pub fn get(conn: &mut DbConnection, organisation_id: &OrganisationId, id: &WebhookId) -> Result<Webhook, ApiError> {
    endpoint_of(conn, organisation_id, id).map(Webhook::from)
}

/// Registers an endpoint with a new secret, returned in this answer only.
pub fn create(
    conn: &mut DbConnection,
    sealer: &Sealer,
    allow: Allow,
    organisation_id: &OrganisationId,
    new: NewWebhook,
) -> Result<Webhook, ApiError> {
    let url = check_url(&new.url, allow)?;
    let description = check_description(&new.description)?;
    let event_types = check_types(&new.event_types)?;
    let id = WebhookId::generate();
    let secret = secrets::generate();
    let sealed = sealer.seal(&id, &secret).map_err(ApiError::internal)?;
    write_tx(conn, |c| {
        orgs::find(c, organisation_id).map_err(|e| not_found_as("Organisasjonen finnes ikke.", e))?;
        if rows::list(c, organisation_id)?.len() >= MAX_ENDPOINTS {
            return Err(ApiError::conflict(
                "too_many_webhooks",
                format!("En organisasjon kan ha høyst {MAX_ENDPOINTS} webhooker. Slett en som ikke brukes."),
            ));
        }
        let at = now();
        let row = EndpointRow {
            id: id.clone(),
            organisation_id: organisation_id.clone(),
            url,
            description,
            event_types,
            secret: sealed,
            previous_secret: None,
            previous_secret_until: None,
            enabled: true,
            disabled_reason: None,
            last_success_at: None,
            created_at: at,
            updated_at: at,
        };
        rows::insert(c, &row)?;
        Ok(Webhook { secret: Some(secret), ..Webhook::from(row) })
    })
}

pub fn update(
    conn: &mut DbConnection,
    allow: Allow,
    organisation_id: &OrganisationId,
    id: &WebhookId,
    change: WebhookChange,
) -> Result<Webhook, ApiError> {
    let url = change.url.as_deref().map(|u| check_url(u, allow)).transpose()?;
    let description = change.description.as_deref().map(check_description).transpose()?;
    let event_types = change.event_types.as_deref().map(check_types).transpose()?;
    write_tx(conn, |c| {
        let mut row = endpoint_of(c, organisation_id, id)?;
        row.url = url.unwrap_or(row.url);
        row.description = description.unwrap_or(row.description);
        row.event_types = event_types.unwrap_or(row.event_types);
        if let Some(enabled) = change.enabled {
            row.enabled = enabled;
            row.disabled_reason = (!enabled).then(|| "Slått av av administrator.".to_owned());
        }
        row.updated_at = now();
        rows::update(c, &row)?;
        Ok(Webhook::from(row))
    })
}

pub fn delete(conn: &mut DbConnection, organisation_id: &OrganisationId, id: &WebhookId) -> Result<(), ApiError> {
    write_tx(conn, |c| {
        endpoint_of(c, organisation_id, id)?;
        Ok(rows::delete(c, id)?)
    })
}

/// A new secret, returned once; the previous one signs beside it for `ROTATION_HOURS`, so the
/// receiver can take the new one into use without losing a message.
pub fn rotate(
    conn: &mut DbConnection,
    sealer: &Sealer,
    organisation_id: &OrganisationId,
    id: &WebhookId,
    at: chrono::NaiveDateTime,
) -> Result<Webhook, ApiError> {
    let secret = secrets::generate();
    let sealed = sealer.seal(id, &secret).map_err(ApiError::internal)?;
    write_tx(conn, |c| {
        let mut row = endpoint_of(c, organisation_id, id)?;
        row.previous_secret = Some(std::mem::replace(&mut row.secret, sealed));
        row.previous_secret_until = Some(at + Duration::hours(ROTATION_HOURS));
        row.updated_at = at;
        rows::update(c, &row)?;
        Ok(Webhook { secret: Some(secret), ..Webhook::from(row) })
    })
}

/// Queues a `test` message to the endpoint (also when it is switched off, to check it before
/// switching it on).
pub fn send_test(
    conn: &mut DbConnection,
    organisation_id: &OrganisationId,
    id: &WebhookId,
) -> Result<Queued, ApiError> {
    write_tx(conn, |c| {
        endpoint_of(c, organisation_id, id)?;
        let row = rows::delivery(id, &uuid::Uuid::new_v4().to_string(), None, TEST_EVENT, "", now());
        crate::db::outbox::insert_once(c, &row)?;
        Ok(Queued { id: row.id })
    })
}

pub fn deliveries(
    conn: &mut DbConnection,
    organisation_id: &OrganisationId,
    id: &WebhookId,
    limit: i64,
) -> Result<Vec<Delivery>, ApiError> {
    endpoint_of(conn, organisation_id, id)?;
    Ok(rows::deliveries(conn, id, limit)?.into_iter().map(|(row, attempts)| Delivery::of(row, attempts)).collect())
}

/// Sends a delivery again, with the same `webhook-id`, whatever became of it.
pub fn redeliver(
    conn: &mut DbConnection,
    organisation_id: &OrganisationId,
    id: &WebhookId,
    delivery_id: &str,
) -> Result<Queued, ApiError> {
    write_tx(conn, |c| {
        endpoint_of(c, organisation_id, id)?;
        let row = rows::delivery_of(c, id, delivery_id)?
            .ok_or_else(|| ApiError::not_found("Leveransen finnes ikke for denne webhooken."))?;
        rows::redeliver(c, &row.id, now())?;
        Ok(Queued { id: row.id })
    })
}
