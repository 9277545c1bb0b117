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
use crate::ids::{DeviationId, OrganisationId, UnitId};
use crate::mail;

/// One entry: who (None = the system) did what, with optional text and routing target.
pub struct Entry<'a> {
    pub kind: EventKind,
    pub actor: Option<&'a Caller>,
    pub from: Option<Status>,
    pub to: Option<Status>,
    pub text: Option<String>,
    pub organisation_id: Option<OrganisationId>,
    pub unit_id: Option<UnitId>,
    pub category: Option<String>,
}

impl<'a> Entry<'a> {
    pub fn new(kind: EventKind, actor: Option<&'a Caller>) -> Self {
        Entry { kind, actor, from: None, to: None, text: None, organisation_id: None, unit_id: None, category: None }
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

    pub fn category(mut self, category: Option<String>) -> Self {
        self.category = category;
        self
    }

    pub fn target(mut self, organisation_id: Option<OrganisationId>, unit_id: Option<UnitId>) -> Self {
        self.organisation_id = organisation_id;
        self.unit_id = unit_id;
        self
    }
}

/// Appends the event and queues the mail it warrants, in the caller's transaction.
pub fn record(
    conn: &mut DbConnection,
    config: &Config,
    deviation_id: &DeviationId,
    at: NaiveDateTime,
    entry: Entry,
) -> Result<EventRow, ApiError> {
    let row = entry.row(deviation_id, events::next_seq(conn, deviation_id)?, at);
    events::insert(conn, &row)?;
    mail::outbox::for_event(conn, config, &row)?;
    Ok(row)
}

impl Entry<'_> {
    /// The event as the timeline stores it, number `seq` of the deviation.
    pub fn row(self, deviation_id: &DeviationId, seq: i32, at: NaiveDateTime) -> EventRow {
        EventRow {
            id: new_id(),
            deviation_id: deviation_id.clone(),
            seq,
            at,
            kind: self.kind.code().to_owned(),
            actor_id: self.actor.map(|c| c.user_id.clone()),
            actor_organisation_id: self.actor.map(|c| c.organisation_id.clone()),
            from_status: self.from.map(|s| s.code().to_owned()),
            to_status: self.to.map(|s| s.code().to_owned()),
            text: self.text,
            organisation_id: self.organisation_id,
            unit_id: self.unit_id,
            category: self.category,
        }
    }
}
