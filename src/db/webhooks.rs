//! Webhook endpoints and their delivery log (migration 000018). A delivery itself is an outbox row
//! on the `webhook` channel (`db::outbox`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::outbox::{OutboxRow, PENDING, WEBHOOK};
use super::schema::outbox::dsl as o;
use super::schema::webhook_attempts::{self as attempts, dsl as a};
use super::schema::webhook_endpoints::{self as endpoints, dsl as w};
use super::DbConnection;
use crate::ids::{DeviationId, OrganisationId, WebhookId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = endpoints, treat_none_as_null = true)]
pub struct EndpointRow {
    pub id: WebhookId,
    pub organisation_id: OrganisationId,
    pub url: String,
    pub description: String,
    /// Space-separated event types; '' for all.
    pub event_types: String,
    /// Sealed (`integration::webhooks::secrets`).
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<NaiveDateTime>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub last_success_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl EndpointRow {
    pub fn wants(&self, event_type: &str) -> bool {
        self.event_types.is_empty() || self.event_types.split(' ').any(|t| t == event_type)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = attempts)]
pub struct AttemptRow {
    pub endpoint_id: WebhookId,
    pub message_id: String,
    pub attempt: i32,
    pub attempted_at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &EndpointRow) -> QueryResult<()> {
    diesel::insert_into(endpoints::table).values(row).execute(conn).map(|_| ())
}

pub fn update(conn: &mut DbConnection, row: &EndpointRow) -> QueryResult<()> {
    diesel::update(endpoints::table.find(&row.id)).set(row).execute(conn).map(|_| ())
}

pub fn list(conn: &mut DbConnection, organisation_id: &OrganisationId) -> QueryResult<Vec<EndpointRow>> {
    w::webhook_endpoints
        .filter(w::organisation_id.eq(organisation_id))
        .order(w::created_at.asc())
        .select(EndpointRow::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: &WebhookId) -> QueryResult<Option<EndpointRow>> {
    w::webhook_endpoints.find(id).select(EndpointRow::as_select()).first(conn).optional()
}

/// Removes the endpoint with its log and its deliveries not yet made.
pub fn delete(conn: &mut DbConnection, id: &WebhookId) -> QueryResult<()> {
    diesel::delete(a::webhook_attempts.filter(a::endpoint_id.eq(id))).execute(conn)?;
    diesel::delete(o::outbox.filter(o::endpoint_id.eq(id))).execute(conn)?;
    diesel::delete(w::webhook_endpoints.find(id)).execute(conn)?;
    Ok(())
}

/// Queues one delivery of `event_id` (type `kind`) to each of `organisation_id`'s enabled endpoints
/// that want it; a second call for the same event and endpoint adds nothing, so the delivery keeps
/// its id (the receiver's `webhook-id`) for good.
pub fn enqueue_event(
    conn: &mut DbConnection,
    organisation_id: &OrganisationId,
    event_id: &str,
    deviation_id: &DeviationId,
    kind: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    let targets: Vec<EndpointRow> = w::webhook_endpoints
        .filter(w::organisation_id.eq(organisation_id))
        .filter(w::enabled.eq(true))
        .select(EndpointRow::as_select())
        .load(conn)?;
    let mut queued = 0;
    for endpoint in targets.iter().filter(|e| e.wants(kind)) {
        let row =
            delivery(&endpoint.id, &format!("{event_id}:{}", endpoint.id), Some(deviation_id), kind, event_id, at);
        queued += usize::from(super::outbox::insert_once(conn, &row)?);
    }
    Ok(queued)
}

/// A delivery to `endpoint`, not yet stored. `data` names what it is about (an event id, or the
/// endpoint itself for a test); the payload is made from it at each attempt.
pub fn delivery(
    endpoint: &WebhookId,
    dedupe: &str,
    deviation_id: Option<&DeviationId>,
    kind: &str,
    data: &str,
    at: NaiveDateTime,
) -> OutboxRow {
    OutboxRow {
        deviation_id: deviation_id.cloned(),
        channel: WEBHOOK.to_owned(),
        endpoint_id: Some(endpoint.clone()),
        ..OutboxRow::pending(format!("webhook:{dedupe}"), kind, endpoint.to_string(), data.to_owned(), at)
    }
}

pub fn record_attempt(conn: &mut DbConnection, row: &AttemptRow) -> QueryResult<()> {
    diesel::insert_into(attempts::table).values(row).execute(conn).map(|_| ())
}

/// The endpoint's latest deliveries, newest first, each with its attempts (oldest first).
pub fn deliveries(
    conn: &mut DbConnection,
    endpoint_id: &WebhookId,
    limit: i64,
) -> QueryResult<Vec<(OutboxRow, Vec<AttemptRow>)>> {
    let rows: Vec<OutboxRow> = o::outbox
        .filter(o::endpoint_id.eq(endpoint_id))
        .order((o::created_at.desc(), o::id.desc()))
        .limit(limit)
        .select(OutboxRow::as_select())
        .load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut tried: Vec<AttemptRow> = a::webhook_attempts
        .filter(a::message_id.eq_any(&ids))
        .order(a::id.asc())
        .select(AttemptRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let (mine, rest) = std::mem::take(&mut tried).into_iter().partition(|t| t.message_id == row.id);
            tried = rest;
            (row, mine)
        })
        .collect())
}

pub fn delivery_of(conn: &mut DbConnection, endpoint_id: &WebhookId, id: &str) -> QueryResult<Option<OutboxRow>> {
    o::outbox
        .filter(o::endpoint_id.eq(endpoint_id))
        .filter(o::id.eq(id))
        .select(OutboxRow::as_select())
        .first(conn)
        .optional()
}

/// Puts a delivery back in the queue, due now, with its id kept; its attempts start over.
pub fn redeliver(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(o::outbox.find(id).filter(o::channel.eq(WEBHOOK)))
        .set((
            o::status.eq(PENDING),
            o::attempts.eq(0),
            o::next_attempt_at.eq(now),
            o::claimed_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Notes a delivery that arrived, to the minute: concurrent deliveries to one endpoint would
/// otherwise all wait for the lock on its row.
pub fn mark_success(conn: &mut DbConnection, id: &WebhookId, at: NaiveDateTime) -> QueryResult<()> {
    let stale = w::last_success_at.is_null().or(w::last_success_at.lt(at - chrono::Duration::minutes(1)));
    diesel::update(w::webhook_endpoints.find(id).filter(stale)).set(w::last_success_at.eq(at)).execute(conn).map(|_| ())
}

/// Switches the endpoint off (a 410, or failing for the whole schedule); says whether this call
/// did, so only one caller mails the admins.
pub fn disable(conn: &mut DbConnection, id: &WebhookId, reason: &str, at: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(w::webhook_endpoints.find(id).filter(w::enabled.eq(true)))
        .set((w::enabled.eq(false), w::disabled_reason.eq(reason), w::updated_at.eq(at)))
        .execute(conn)?;
    Ok(n == 1)
}
