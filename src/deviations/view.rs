//! What a caller reads about a deviation: the full view for the two parties, a de-identified one
//! for analysts.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use super::form::{Details, DETAILS};
use crate::auth::Caller;
use crate::db::deviations::DeviationRow;
use crate::db::events::EventRow;
use crate::db::{names, DbConnection};
use crate::domain::calendar::oslo_today;
use crate::domain::lifecycle::{next_status, Action, REOPEN_WINDOW_DAYS};
use crate::domain::{Code, Status};
use crate::error::ApiError;
use crate::ids::{DeviationId, OrganisationId, Reference, UnitId, UserId};
use crate::integration::mapping::{LocalCategories, LocalCategory};
use crate::policy;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ref {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Deadlines {
    pub acknowledge_by: String,
    pub answer_by: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Deviation {
    pub id: DeviationId,
    pub reference: Reference,
    pub kind: String,
    pub category: String,
    /// The reading organisation's own code and label for the category (its category mapping);
    /// null where it has none.
    pub local_category: Option<LocalCategory>,
    /// The reporter's choice when the recipient changed the category; null while unchanged.
    pub reported_category: Option<String>,
    pub status: String,
    pub direction: String,
    pub reporting_organisation: Ref,
    pub reporting_unit: Option<Ref>,
    pub recipient_organisation: Ref,
    pub recipient_unit: Option<Ref>,
    pub reporter: Option<Ref>,
    pub handler: Option<Ref>,
    pub occurred_at: String,
    pub discovered_at: Option<String>,
    pub description: Option<String>,
    pub harm_class: String,
    pub harm_level: Option<String>,
    pub handover_related: bool,
    pub answer: Option<String>,
    pub answer_actions: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub deadlines: Deadlines,
    pub overdue: bool,
    /// True for the analysts' view: people and free text are left out.
    pub deidentified: bool,
    /// What the caller may do now, for clients to show the right buttons.
    pub allowed_actions: Vec<String>,
    /// Every optional answer of the form (`form::DETAILS`) under its own name; null when not
    /// given or not for this caller to read.
    #[serde(flatten)]
    pub details: BTreeMap<String, Option<String>>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Event {
    pub seq: i32,
    pub at: DateTime<Utc>,
    pub kind: String,
    /// Absent for events made by the system (auto-close) and in the de-identified view.
    pub actor: Option<Ref>,
    pub actor_organisation: Option<Ref>,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub text: Option<String>,
    pub organisation: Option<Ref>,
    pub unit: Option<Ref>,
    /// The new category, on the event that changed it.
    pub category: Option<String>,
}

pub fn utc(at: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(at, Utc)
}

/// Names of the organisations, units and users that rows refer to, loaded in one query; and, for
/// deviations, the reading organisation's own categories.
#[derive(Default)]
pub struct Names(HashMap<String, String>, LocalCategories);

impl Names {
    pub fn load<'a>(
        conn: &mut DbConnection,
        org_ids: impl IntoIterator<Item = &'a OrganisationId>,
        unit_ids: impl IntoIterator<Item = &'a UnitId>,
        user_ids: impl IntoIterator<Item = &'a UserId>,
    ) -> Result<Self, ApiError> {
        fn distinct<'a, T: Ord + Clone + 'a>(ids: impl IntoIterator<Item = &'a T>) -> Vec<T> {
            ids.into_iter().collect::<BTreeSet<_>>().into_iter().cloned().collect()
        }
        Ok(Names(
            names::of(conn, &distinct(org_ids), &distinct(unit_ids), &distinct(user_ids))?,
            LocalCategories::default(),
        ))
    }

    /// For deviations that `reader` (the caller's organisation) reads.
    pub fn for_deviations(
        conn: &mut DbConnection,
        rows: &[DeviationRow],
        reader: &OrganisationId,
    ) -> Result<Self, ApiError> {
        let mut names = Self::load(
            conn,
            rows.iter().flat_map(|r| [&r.reporting_organisation_id, &r.recipient_organisation_id]),
            rows.iter().flat_map(|r| r.reporting_unit_id.iter().chain(r.recipient_unit_id.iter())),
            rows.iter().flat_map(|r| std::iter::once(&r.reporter_id).chain(r.handler_id.iter())),
        )?;
        names.1 = LocalCategories::load(conn, reader)?;
        Ok(names)
    }

    fn get(&self, id: &str) -> Ref {
        Ref { id: id.to_owned(), name: self.0.get(id).cloned().unwrap_or_default() }
    }

    pub fn org(&self, id: &OrganisationId) -> Ref {
        self.get(id.as_str())
    }

    pub fn unit(&self, id: Option<&UnitId>) -> Option<Ref> {
        id.map(|id| self.get(id.as_str()))
    }

    pub fn user(&self, id: Option<&UserId>) -> Option<Ref> {
        id.map(|id| self.get(id.as_str()))
    }

    pub fn person(&self, id: &UserId) -> Ref {
        self.get(id.as_str())
    }
}

/// Overdue: not acknowledged by its acknowledge date, or not answered by its answer date.
pub fn is_overdue(row: &DeviationRow, now: DateTime<Utc>) -> bool {
    let today = oslo_today(now).to_string();
    match Status::from_code(&row.status) {
        Some(Status::Submitted) => row.acknowledge_due < today || row.answer_due < today,
        Some(Status::InProgress) => row.answer_due < today,
        _ => false,
    }
}

/// Whether the reporter may still reopen: within the window after the answer.
pub fn within_reopen_window(row: &DeviationRow, now: DateTime<Utc>) -> bool {
    row.answered_at.is_some_and(|a| now.naive_utc() - a <= chrono::Duration::days(REOPEN_WINDOW_DAYS))
}

pub fn allowed_actions(caller: &Caller, row: &DeviationRow, now: DateTime<Utc>) -> Vec<String> {
    let Some(status) = Status::from_code(&row.status) else {
        return Vec::new();
    };
    Action::ALL
        .iter()
        .filter(|(a, _)| policy::may(caller, row.into(), *a) && next_status(status, *a).is_some())
        .filter(|(a, _)| *a != Action::Reopen || within_reopen_window(row, now))
        .map(|(_, code)| (*code).to_owned())
        .collect()
}

pub fn deviation(row: DeviationRow, names: &Names, caller: &Caller, deidentify: bool, now: DateTime<Utc>) -> Deviation {
    let overdue = is_overdue(&row, now);
    let allowed_actions = allowed_actions(caller, &row, now);
    let hide = |v: Option<String>| if deidentify { None } else { v };
    let details = details(&row, deidentify);
    Deviation {
        reporting_organisation: names.org(&row.reporting_organisation_id),
        reporting_unit: names.unit(row.reporting_unit_id.as_ref()),
        recipient_organisation: names.org(&row.recipient_organisation_id),
        recipient_unit: names.unit(row.recipient_unit_id.as_ref()),
        reporter: if deidentify { None } else { names.user(Some(&row.reporter_id)) },
        handler: if deidentify { None } else { names.user(row.handler_id.as_ref()) },
        occurred_at: if deidentify { row.occurred_at.chars().take(10).collect() } else { row.occurred_at },
        discovered_at: if deidentify { None } else { row.discovered_at },
        description: hide(Some(row.description)),
        details,
        answer: hide(row.answer),
        answer_actions: hide(row.answer_actions),
        id: row.id,
        reference: row.reference,
        local_category: names.1.of(&row.category, &row.kind),
        kind: row.kind,
        category: row.category,
        reported_category: row.reported_category,
        status: row.status,
        direction: row.direction,
        harm_class: row.harm_class,
        harm_level: row.harm_level,
        handover_related: row.handover_related,
        submitted_at: utc(row.submitted_at),
        received_at: utc(row.received_at),
        acknowledged_at: row.acknowledged_at.map(utc),
        answered_at: row.answered_at.map(utc),
        closed_at: row.closed_at.map(utc),
        deadlines: Deadlines { acknowledge_by: row.acknowledge_due, answer_by: row.answer_due },
        overdue,
        deidentified: deidentify,
        allowed_actions,
    }
}

/// The row's optional answers, each defined one present (null when absent or hidden).
fn details(row: &DeviationRow, deidentify: bool) -> BTreeMap<String, Option<String>> {
    if deidentify {
        return DETAILS.iter().map(|d| (d.name.to_owned(), None)).collect();
    }
    let mut stored: Details = match serde_json::from_str(&row.details) {
        Ok(d) => d,
        Err(e) => {
            // Only this service writes the column; a broken value hides the answers, not the case.
            tracing::error!(deviation_id = ?row.id, error = %e, "unreadable details");
            Details::new()
        }
    };
    DETAILS.iter().map(|d| (d.name.to_owned(), stored.remove(d.name))).collect()
}

pub fn events(conn: &mut DbConnection, rows: Vec<EventRow>, deidentify: bool) -> Result<Vec<Event>, ApiError> {
    let names = Names::load(
        conn,
        rows.iter().flat_map(|e| e.actor_organisation_id.iter().chain(e.organisation_id.iter())),
        rows.iter().flat_map(|e| e.unit_id.iter()),
        rows.iter().flat_map(|e| e.actor_id.iter()),
    )?;
    Ok(rows
        .into_iter()
        .map(|e| Event {
            seq: e.seq,
            at: utc(e.at),
            kind: e.kind,
            actor: if deidentify { None } else { names.user(e.actor_id.as_ref()) },
            actor_organisation: e.actor_organisation_id.map(|o| names.org(&o)),
            from_status: e.from_status,
            to_status: e.to_status,
            text: if deidentify { None } else { e.text },
            organisation: e.organisation_id.map(|o| names.org(&o)),
            unit: names.unit(e.unit_id.as_ref()),
            category: e.category,
        })
        .collect())
}
