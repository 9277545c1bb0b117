//! Submitting the form: one transaction that checks the parties, routes, numbers, sets deadlines,
//! writes the deviation and its first event, and remembers the idempotency key.

use chrono::{DateTime, Datelike, Utc};

use super::form::{Form, NewDeviation};
use super::timeline::{record, Entry};
use super::{deadlines, routing};
use crate::auth::Caller;
use crate::config::Config;
use crate::db::deviations::{self, DeviationRow};
use crate::db::idempotency::{self, KeyRow};
use crate::db::{categories, organisations, references, write_tx, DbConnection};
use crate::directory::new_id;
use crate::domain::calendar::oslo_today;
use crate::domain::{Code, Direction, EventKind, OrganisationKind, Role, Status};
use crate::error::ApiError;

pub enum Submitted {
    Created(Box<DeviationRow>),
    /// The same key and body were submitted before: the id of the deviation made then.
    Replayed(String),
}

impl Submitted {
    pub fn id(&self) -> &str {
        match self {
            Submitted::Created(row) => &row.id,
            Submitted::Replayed(id) => id,
        }
    }
}

pub fn check_key(key: &str) -> Result<(), ApiError> {
    if key.is_empty() || key.len() > 200 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key må være 1–200 synlige ASCII-tegn, for eksempel en UUID.",
        ));
    }
    Ok(())
}

/// A form that passed every check that needs no database, with the request as the idempotency
/// key remembers it.
pub struct Checked {
    form: Form,
    request: String,
}

/// Who may submit, and the fields: done before the transaction, so a shared (group) commit
/// carries only the work that needs the database.
pub fn check(caller: &Caller, body: &NewDeviation, now: DateTime<Utc>) -> Result<Checked, ApiError> {
    if matches!(caller.role, Role::Analyst | Role::Admin) {
        return Err(ApiError::forbidden(
            "Rollen din kan ikke melde avvik. Logg inn som melder i en kommune eller på sykehuset.",
        ));
    }
    let request = serde_json::to_string(body).map_err(ApiError::internal)?;
    Ok(Checked { form: body.check(oslo_today(now))?, request })
}

pub fn submit(
    conn: &mut DbConnection,
    config: &Config,
    caller: &Caller,
    body: &NewDeviation,
    key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Submitted, ApiError> {
    store(conn, config, caller, &check(caller, body, now)?, key, now)
}

/// Stores a checked form: parties, routing, number, deadlines, the row, its first event and
/// mails, and the idempotency key, in one transaction.
pub fn store(
    conn: &mut DbConnection,
    config: &Config,
    caller: &Caller,
    checked: &Checked,
    key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Submitted, ApiError> {
    let Checked { form, request } = checked;
    // Two identical retries can race past the key lookup; the loser hits the key's primary key and
    // the retry then finds the winner's key and replays it.
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = write_tx(conn, |c| {
            if let Some(key) = key {
                if let Some(previous) = idempotency::find(c, &caller.user_id, key)? {
                    return replay(previous, request);
                }
            }
            let row = insert(c, config, caller, form, now)?;
            if let Some(key) = key {
                idempotency::insert(
                    c,
                    &KeyRow {
                        user_id: caller.user_id.clone(),
                        idempotency_key: key.to_owned(),
                        request: request.clone(),
                        deviation_id: row.id.clone(),
                        created_at: now.naive_utc(),
                    },
                )?;
            }
            Ok(Submitted::Created(Box::new(row)))
        });
        match result {
            Err(e) if attempt < 3 && key.is_some() && e.code == "already_exists" => continue,
            other => return other,
        }
    }
}

fn replay(previous: KeyRow, request: &str) -> Result<Submitted, ApiError> {
    if previous.request == request {
        Ok(Submitted::Replayed(previous.deviation_id))
    } else {
        Err(ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "Denne Idempotency-Key er allerede brukt for et annet skjema. Bruk en ny nøkkel for et nytt avvik.",
        ))
    }
}

fn insert(
    conn: &mut DbConnection,
    config: &Config,
    caller: &Caller,
    form: &Form,
    now: DateTime<Utc>,
) -> Result<DeviationRow, ApiError> {
    let reporting_org = organisations::find(conn, &caller.organisation_id)?;
    let recipient = routing::recipient(
        conn,
        &form.recipient_organisation_id,
        &caller.organisation_id,
        "recipient_organisation_id",
    )?;
    if !categories::is_active(conn, &form.category)? {
        return Err(ApiError::field("category", "unknown_category", "Velg en av kategoriene i listen."));
    }
    let reporting_unit_id = match &form.reporting_unit_id {
        Some(unit) => Some(routing::unit_of(conn, unit, &caller.organisation_id, "reporting_unit_id")?),
        None => caller.unit_id.clone(),
    };
    let recipient_unit_id =
        routing::unit_for(conn, &recipient.id, form.recipient_unit_id.as_deref(), &form.category, "recipient_unit_id")?;
    let kind = |k: &str| OrganisationKind::from_code(k).unwrap_or(OrganisationKind::Other);
    let direction = Direction::between(kind(&reporting_org.kind), kind(&recipient.kind));
    let (acknowledge_due, answer_due) = deadlines(config, now);
    let at = now.naive_utc();
    let row = DeviationRow {
        id: new_id(),
        reference: references::next(conn, oslo_today(now).year())?,
        kind: form.kind.code().to_owned(),
        category: form.category.clone(),
        status: Status::Submitted.code().to_owned(),
        direction: direction.code().to_owned(),
        reporter_id: caller.user_id.clone(),
        reporting_organisation_id: caller.organisation_id.clone(),
        reporting_unit_id,
        recipient_organisation_id: recipient.id.clone(),
        recipient_unit_id: recipient_unit_id.clone(),
        handler_id: None,
        occurred_at: form.occurred_at.clone(),
        discovered_at: form.discovered_at.clone(),
        description: form.description.clone(),
        immediate_actions: form.immediate_actions.clone(),
        suggested_improvement: form.suggested_improvement.clone(),
        harm_class: form.harm_class.code().to_owned(),
        harm_level: form.harm_level.map(|l| l.code().to_owned()),
        handover_related: form.handover_related,
        agreement_reference: form.agreement_reference.clone(),
        answer: None,
        answer_actions: None,
        submitted_at: at,
        received_at: at,
        acknowledged_at: None,
        answered_at: None,
        closed_at: None,
        acknowledge_due,
        answer_due,
        updated_at: at,
        acknowledge_days: None,
        answer_days: None,
        answered_on_time: None,
    };
    deviations::insert(conn, &row)?;
    let mut entry = Entry::new(EventKind::Submitted, Some(caller)).target(Some(recipient.id), recipient_unit_id);
    entry.to = Some(Status::Submitted);
    record(conn, config, &row.id, at, entry)?;
    Ok(row)
}
