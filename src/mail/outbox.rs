//! Turning events into outbox rows, in the transaction that made the event. Who hears about what
//! is decided here, in one place.

use chrono::NaiveDate;

use super::templates::{render, MailData};
use crate::config::Config;
use crate::db::deviations::{self, DeviationRow, Scope};
use crate::db::events::EventRow;
use crate::db::outbox::{self as rows, OutboxRow};
use crate::db::{categories, organisations, units, users, DbConnection};
use crate::domain::lifecycle::status_label;
use crate::domain::{Code, EventKind, Status};
use crate::error::ApiError;
use crate::ids::OrganisationId;

/// Who should hear about the deviation on the recipient's side: the unit's mailbox when routed
/// (else the organisation's deviation mailbox), and the assigned handler.
pub fn recipient_side(conn: &mut DbConnection, d: &DeviationRow) -> Result<Vec<String>, ApiError> {
    let mut to = Vec::new();
    let unit_box = match &d.recipient_unit_id {
        Some(u) => units::find(conn, u)?.mailbox,
        None => None,
    };
    match unit_box {
        Some(mailbox) => to.push(mailbox),
        None => to.push(organisations::find(conn, &d.recipient_organisation_id)?.mailbox),
    }
    if let Some(h) = &d.handler_id {
        to.push(users::find(conn, h)?.email);
    }
    Ok(to)
}

/// New deviations also reach the organisation's own deviation mailbox, which the quality advisor reads.
fn new_deviation_boxes(conn: &mut DbConnection, d: &DeviationRow) -> Result<Vec<String>, ApiError> {
    let mut to = vec![organisations::find(conn, &d.recipient_organisation_id)?.mailbox];
    to.extend(recipient_side(conn, d)?);
    Ok(to)
}

pub fn norwegian_date(iso: &str) -> String {
    NaiveDate::parse_from_str(iso, "%Y-%m-%d")
        .map(|d| d.format("%d.%m.%Y").to_string())
        .unwrap_or_else(|_| iso.to_owned())
}

/// The facts every message about `d` carries, seen from the side of `counterpart_org`'s opposite.
pub fn facts(
    conn: &mut DbConnection,
    config: &Config,
    d: &DeviationRow,
    counterpart_org: &OrganisationId,
) -> Result<MailData, ApiError> {
    let status = Status::from_code(&d.status).unwrap_or(Status::Submitted);
    Ok(MailData {
        reference: d.reference.to_string(),
        category: categories::label(conn, &d.category)?,
        status: status_label(status).to_owned(),
        acknowledge_by: (status == Status::Submitted).then(|| norwegian_date(&d.acknowledge_due)),
        answer_by: matches!(status, Status::Submitted | Status::InProgress).then(|| norwegian_date(&d.answer_due)),
        deadline: None,
        counterpart: organisations::find(conn, counterpart_org)?.name,
        unit: match &d.recipient_unit_id {
            Some(u) => Some(units::find(conn, u)?.name),
            None => None,
        },
        link: format!("{}/avvik/{}", config.public_base_url.trim_end_matches('/'), d.id),
        task: String::new(),
        task_passive: String::new(),
        days: 0,
    })
}

/// Renders `kind` and queues it once per recipient under `dedupe` (an event id or reminder key).
pub fn enqueue(
    conn: &mut DbConnection,
    d: Option<&DeviationRow>,
    dedupe: &str,
    kind: &str,
    data: &MailData,
    recipients: &[String],
    at: chrono::NaiveDateTime,
) -> Result<usize, ApiError> {
    let mut queued = 0;
    for row in messages_for(d, dedupe, kind, data, recipients, at)? {
        queued += usize::from(rows::insert_once(conn, &row)?);
    }
    Ok(queued)
}

/// One outbox row per distinct recipient of `kind`, not yet stored. The text is rendered when it
/// is sent (`deliverable`); rendering here only proves the data fits the template.
fn messages_for(
    d: Option<&DeviationRow>,
    dedupe: &str,
    kind: &str,
    data: &MailData,
    recipients: &[String],
    at: chrono::NaiveDateTime,
) -> Result<Vec<OutboxRow>, ApiError> {
    render(kind, data).map_err(ApiError::internal)?;
    let json = serde_json::to_string(data).map_err(ApiError::internal)?;
    let mut seen = std::collections::BTreeSet::new();
    let recipients = recipients.iter().map(|r| r.trim().to_lowercase()).filter(|r| !r.is_empty());
    Ok(recipients
        .filter(|to| seen.insert(to.clone()))
        .map(|to| OutboxRow {
            deviation_id: d.map(|d| d.id.clone()),
            ..OutboxRow::pending(format!("{dedupe}:{to}"), kind, to, json.clone(), at)
        })
        .collect())
}

/// A claimed row with its text rendered from the current templates, and the deviation's
/// reference as it is now; or why it cannot be (a permanent failure: the same data will not
/// render later either). Rows from before rendering at delivery are sent as they were stored.
pub fn deliverable(conn: &mut DbConnection, mut row: OutboxRow) -> (OutboxRow, Result<(), String>) {
    if row.data.is_empty() {
        return (row, Ok(()));
    }
    let rendered = render_row(conn, &row);
    if let Ok(r) = &rendered {
        (row.subject, row.body_text, row.body_html) = (r.subject.clone(), r.text.clone(), r.html.clone());
    }
    (row, rendered.map(|_| ()))
}

fn render_row(conn: &mut DbConnection, row: &OutboxRow) -> Result<super::templates::Rendered, String> {
    let mut data: MailData = serde_json::from_str(&row.data).map_err(|e| format!("ugyldige maldata: {e}"))?;
    if let Some(id) = &row.deviation_id {
        data.reference = deviations::find(conn, &Scope::All, id)
            .map_err(|e| format!("avviket finnes ikke: {e}"))?
            .reference
            .into_string();
    }
    render(&row.template, &data).map_err(|e| format!("malen kunne ikke fylles ut: {e}"))
}

/// Queues the messages an event warrants.
pub fn for_event(conn: &mut DbConnection, config: &Config, event: &EventRow) -> Result<(), ApiError> {
    let d = deviations::find(conn, &Scope::All, &event.deviation_id)?;
    for row in for_event_on(conn, config, &d, event)? {
        rows::insert_once(conn, &row)?;
    }
    Ok(())
}

/// The messages `event` on `d` warrants, rendered but not stored: reads only, so a submission can
/// run it before its write.
pub fn for_event_on(
    conn: &mut DbConnection,
    config: &Config,
    d: &DeviationRow,
    event: &EventRow,
) -> Result<Vec<OutboxRow>, ApiError> {
    let Some(kind) = EventKind::from_code(&event.kind) else { return Ok(Vec::new()) };
    let reporter = vec![users::find(conn, &d.reporter_id)?.email];
    let (to_reporter, to_recipient) = (&d.recipient_organisation_id, &d.reporting_organisation_id);
    let mut messages: Vec<(&str, Vec<String>, &OrganisationId)> = Vec::new();
    match kind {
        EventKind::Submitted => {
            messages.push(("receipt", reporter, to_reporter));
            messages.push(("new_deviation", new_deviation_boxes(conn, d)?, to_recipient));
        }
        EventKind::Acknowledged => {
            messages.push(("acknowledged", reporter, to_reporter));
            if d.recipient_unit_id.is_some() || d.handler_id.is_some() {
                messages.push(("assigned", recipient_side(conn, d)?, to_recipient));
            }
        }
        EventKind::Forwarded => {
            messages.push(("forwarded", reporter, to_reporter));
            messages.push(("new_deviation", new_deviation_boxes(conn, d)?, to_recipient));
        }
        EventKind::Rejected => messages.push(("rejected", reporter, to_reporter)),
        EventKind::Answered => messages.push(("answered", reporter, to_reporter)),
        // The reporter closed it: the recipient learns the case is done. The system closed it: both do.
        EventKind::Closed => messages.push(("closed", recipient_side(conn, d)?, to_recipient)),
        EventKind::AutoClosed => {
            messages.push(("closed", reporter, to_reporter));
            messages.push(("closed", recipient_side(conn, d)?, to_recipient));
        }
        EventKind::Reopened => messages.push(("reopened", recipient_side(conn, d)?, to_recipient)),
        EventKind::Commented => {
            // To the other party than the one who wrote it.
            if event.actor_organisation_id.as_ref() == Some(&d.reporting_organisation_id) {
                messages.push(("commented", recipient_side(conn, d)?, to_recipient));
            } else {
                messages.push(("commented", reporter, to_reporter));
            }
        }
        // Nobody needs a mail to learn that something is no longer kept; an analysis tells its
        // participants itself.
        EventKind::PatientIdentityErased | EventKind::AnalysisLinked => {}
    }
    let actor_email = match &event.actor_id {
        Some(a) => Some(users::find(conn, a)?.email),
        None => None,
    };
    let mut rows = Vec::new();
    for (template, mut to, counterpart) in messages {
        // Nobody needs mail about what they just did themselves, except the receipt.
        if template != "receipt" {
            to.retain(|t| Some(t) != actor_email.as_ref());
        }
        let data = facts(conn, config, d, counterpart)?;
        rows.extend(messages_for(Some(d), &format!("{}:{template}", event.id), template, &data, &to, event.at)?);
    }
    Ok(rows)
}

/// Tells an organisation's quality advisors and admins that samavvik stopped sending to one of its
/// webhooks (or its deviation mailbox, when it has none of them).
pub fn webhook_disabled(
    conn: &mut DbConnection,
    config: &Config,
    endpoint: &crate::db::webhooks::EndpointRow,
    reason: &str,
    at: chrono::NaiveDateTime,
) -> Result<usize, ApiError> {
    let organisation = organisations::find(conn, &endpoint.organisation_id)?;
    let keepers = [crate::domain::Role::QualityAdvisor.code(), crate::domain::Role::Admin.code()];
    let mut to: Vec<String> = users::list(conn, Some(&endpoint.organisation_id))?
        .into_iter()
        .filter(|u| u.active && !u.machine && keepers.contains(&u.role.as_str()))
        .map(|u| u.email)
        .collect();
    if to.is_empty() {
        to.push(organisation.mailbox);
    }
    // The receiver's host names the webhook; the rest of the address may hold a token.
    let host =
        reqwest::Url::parse(&endpoint.url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
    let data = MailData {
        reference: "Webhook".into(),
        category: host,
        status: reason.to_owned(),
        acknowledge_by: None,
        answer_by: None,
        deadline: None,
        counterpart: organisation.name,
        unit: None,
        link: format!("{}/", config.public_base_url.trim_end_matches('/')),
        task: String::new(),
        task_passive: String::new(),
        days: 0,
    };
    enqueue(
        conn,
        None,
        &format!("webhook-disabled:{}:{}", endpoint.id, at.and_utc().timestamp()),
        "webhook_disabled",
        &data,
        &to,
        at,
    )
}
