//! Outbox rows: written in the transaction of the change, claimed and delivered by the worker.

use crate::ids::{DeviationId, WebhookId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::outbox::{self, dsl as o};
use super::DbConnection;

pub const PENDING: &str = "pending";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";

/// What a row carries: a mail, or a webhook delivery to `endpoint_id`.
pub const MAIL: &str = "mail";
pub const WEBHOOK: &str = "webhook";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: String,
    pub dedupe_key: String,
    pub deviation_id: Option<DeviationId>,
    pub template: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_until: Option<NaiveDateTime>,
    pub claimed_by: Option<String>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    /// The template's data (`MailData` as JSON), rendered at delivery; '' for rows rendered when
    /// they were written (before migration 000009).
    pub data: String,
    pub channel: String,
    pub endpoint_id: Option<WebhookId>,
    /// The newsletter's one-click unsubscribe address (RFC 8058), sent as List-Unsubscribe.
    pub list_unsubscribe: Option<String>,
}

impl OutboxRow {
    /// A new mail row, due at `at`, about nothing in particular; callers set what differs. Its text
    /// is rendered when it is sent.
    pub fn pending(dedupe_key: String, template: &str, recipient: String, data: String, at: NaiveDateTime) -> Self {
        OutboxRow {
            id: uuid::Uuid::now_v7().to_string(),
            dedupe_key,
            deviation_id: None,
            template: template.to_owned(),
            recipient,
            subject: String::new(),
            body_text: String::new(),
            body_html: String::new(),
            status: PENDING.to_owned(),
            attempts: 0,
            next_attempt_at: at,
            claimed_until: None,
            claimed_by: None,
            last_error: None,
            created_at: at,
            sent_at: None,
            data,
            channel: MAIL.to_owned(),
            endpoint_id: None,
            list_unsubscribe: None,
        }
    }
}

/// Inserts unless a row with the same dedupe key exists. Returns whether it inserted.
pub fn insert_once(conn: &mut DbConnection, row: &OutboxRow) -> QueryResult<bool> {
    // ON CONFLICT DO NOTHING is not available through the multi-backend connection.
    let n = match conn {
        DbConnection::Pg(pg) => diesel::insert_into(outbox::table).values(row).on_conflict_do_nothing().execute(pg)?,
        DbConnection::Sqlite(lite) => {
            diesel::insert_into(outbox::table).values(row).on_conflict_do_nothing().execute(lite)?
        }
    };
    Ok(n == 1)
}

/// Claims up to `limit` due rows for `worker` until `lease_until`. On PostgreSQL the candidates are
/// locked with FOR UPDATE SKIP LOCKED, so concurrent workers take disjoint rows; SQLite has one
/// writer and the caller runs this in a write transaction.
pub fn claim(
    conn: &mut DbConnection,
    channel: &str,
    worker: &str,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<OutboxRow>> {
    let due = outbox::table
        .filter(o::status.eq(PENDING))
        .filter(o::channel.eq(channel))
        .filter(o::next_attempt_at.le(now))
        .filter(o::claimed_until.is_null().or(o::claimed_until.lt(now)))
        .order(o::next_attempt_at.asc())
        .limit(limit)
        .select(o::id);
    let ids: Vec<String> = match conn {
        DbConnection::Pg(pg) => due.for_update().skip_locked().load(pg)?,
        DbConnection::Sqlite(lite) => due.load(lite)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(outbox::table.filter(o::id.eq_any(&ids)))
        .set((o::claimed_until.eq(lease_until), o::claimed_by.eq(worker)))
        .execute(conn)?;
    outbox::table.filter(o::id.eq_any(&ids)).select(OutboxRow::as_select()).load(conn)
}

/// Gives claimed rows back unsent, for another round or another worker; only the claimant may.
pub fn release(conn: &mut DbConnection, ids: &[String], worker: &str) -> QueryResult<usize> {
    diesel::update(outbox::table.filter(o::id.eq_any(ids)).filter(o::claimed_by.eq(worker)))
        .set(o::claimed_until.eq(None::<NaiveDateTime>))
        .execute(conn)
}

/// Marks a claimed row sent; only the claimant may.
pub fn mark_sent(conn: &mut DbConnection, id: &str, worker: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(outbox::table.find(id).filter(o::claimed_by.eq(worker)))
        .set((
            o::status.eq(SENT),
            o::sent_at.eq(now),
            o::claimed_until.eq(None::<NaiveDateTime>),
            o::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Records a failed attempt: retry at `next_attempt_at`, or give up (`failed`) when `give_up`.
pub fn mark_failed(
    conn: &mut DbConnection,
    id: &str,
    worker: &str,
    error: &str,
    next_attempt_at: NaiveDateTime,
    give_up: bool,
) -> QueryResult<()> {
    diesel::update(outbox::table.find(id).filter(o::claimed_by.eq(worker)))
        .set((
            o::status.eq(if give_up { FAILED } else { PENDING }),
            o::attempts.eq(o::attempts + 1),
            o::next_attempt_at.eq(next_attempt_at),
            o::claimed_until.eq(None::<NaiveDateTime>),
            o::last_error.eq(error),
        ))
        .execute(conn)?;
    Ok(())
}

/// Channel, status, how many, and when the oldest of them was queued.
pub type Backlog = (String, String, i64, Option<NaiveDateTime>);

/// Per channel and status (pending, failed): how many, and when the oldest of them was queued.
/// Reads only unsent rows (the `outbox_due` index), so it stays cheap as sent mail piles up.
pub fn backlog(conn: &mut DbConnection) -> QueryResult<Vec<Backlog>> {
    outbox::table
        .filter(o::status.eq_any([PENDING, FAILED]))
        .group_by((o::channel, o::status))
        .select((o::channel, o::status, diesel::dsl::count_star(), diesel::dsl::min(o::created_at)))
        .load(conn)
}

pub fn status_counts(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
    outbox::table
        .filter(o::channel.eq(MAIL))
        .group_by(o::status)
        .select((o::status, diesel::dsl::count_star()))
        .load(conn)
}

pub fn failed(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<OutboxRow>> {
    outbox::table
        .filter(o::status.eq(FAILED))
        .filter(o::channel.eq(MAIL))
        .order(o::created_at.desc())
        .limit(limit)
        .select(OutboxRow::as_select())
        .load(conn)
}

/// Puts failed rows (all, or the given ones) back in the queue, due now.
pub fn retry_failed(conn: &mut DbConnection, ids: Option<&[String]>, now: NaiveDateTime) -> QueryResult<usize> {
    let changes = (
        o::status.eq(PENDING),
        o::attempts.eq(0),
        o::next_attempt_at.eq(now),
        o::claimed_until.eq(None::<NaiveDateTime>),
    );
    match ids {
        Some(ids) => diesel::update(
            outbox::table.filter(o::status.eq(FAILED)).filter(o::channel.eq(MAIL)).filter(o::id.eq_any(ids.to_vec())),
        )
        .set(changes)
        .execute(conn),
        None => diesel::update(outbox::table.filter(o::status.eq(FAILED)).filter(o::channel.eq(MAIL)))
            .set(changes)
            .execute(conn),
    }
}

pub fn for_deviation(conn: &mut DbConnection, deviation_id: &DeviationId) -> QueryResult<Vec<OutboxRow>> {
    outbox::table
        .filter(o::deviation_id.eq(deviation_id))
        .filter(o::channel.eq(MAIL))
        .order(o::created_at.asc())
        .select(OutboxRow::as_select())
        .load(conn)
}

/// Which of `keys` are stored already.
pub fn existing_keys(conn: &mut DbConnection, keys: &[String]) -> QueryResult<Vec<String>> {
    outbox::table.filter(o::dedupe_key.eq_any(keys)).select(o::dedupe_key).load(conn)
}
