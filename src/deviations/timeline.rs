//! Writing to the timeline. Every change to a deviation calls `record` in the same transaction, so
//! the timeline and the deviation never disagree.

use chrono::NaiveDateTime;

use crate::auth::Caller;
use crate::config::Config;
use crate::db::events::{self, EventRow};
use crate::db::DbConnection;
use crate::directory::new_id;
use crate::domain::{Code, EventKind, Status};
use crate::error::ApiError;
use crate::mail;

/// One entry: who (None = the system) did what, with optional text and routing target.
pub struct Entry<'a> {
    pub kind: EventKind,
    pub actor: Option<&'a Caller>,
    pub from: Option<Status>,
    pub to: Option<Status>,
    pub text: Option<String>,
    pub organisation_id: Option<String>,
    pub unit_id: Option<String>,
}

impl<'a> Entry<'a> {
    pub fn new(kind: EventKind, actor: Option<&'a Caller>) -> Self {
        Entry { kind, actor, from: None, to: None, text: None, organisation_id: None, unit_id: None }
    }

    pub fn transition(mut self, from: Status, to: Status) -> Self {
        self.from = Some(from);
        self.to = Some(to);
        self
    }

    pub fn text(mut self, text: Option<String>) -> Self {
        self.text = text;
        self
    }

    pub fn target(mut self, organisation_id: Option<String>, unit_id: Option<String>) -> Self {
        self.organisation_id = organisation_id;
        self.unit_id = unit_id;
        self
    }
}

/// Appends the event and queues the mail it warrants, in the caller's transaction.
pub fn record(
    conn: &mut DbConnection,
    config: &Config,
    deviation_id: &str,
    at: NaiveDateTime,
    entry: Entry,
) -> Result<EventRow, ApiError> {
    let row = EventRow {
        id: new_id(),
        deviation_id: deviation_id.to_owned(),
        seq: events::next_seq(conn, deviation_id)?,
        at,
        kind: entry.kind.code().to_owned(),
        actor_id: entry.actor.map(|c| c.user_id.clone()),
        actor_organisation_id: entry.actor.map(|c| c.organisation_id.clone()),
        from_status: entry.from.map(|s| s.code().to_owned()),
        to_status: entry.to.map(|s| s.code().to_owned()),
        text: entry.text,
        organisation_id: entry.organisation_id,
        unit_id: entry.unit_id,
    };
    events::insert(conn, &row)?;
    mail::outbox::for_event(conn, config, &row)?;
    Ok(row)
}
