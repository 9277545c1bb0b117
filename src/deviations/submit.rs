//! Submitting the form in three steps: `check` the fields (no database), `prepare` (reads: the
//! parties, routing, deadlines, the mails), `store` (one short transaction: the
//! reference number, the deviation, its first event, its mails and the idempotency key).

use chrono::{DateTime, Datelike, Utc};

use super::form::{Form, NewDeviation};
use super::timeline::Entry;
use super::view::Names;
use super::{access, deadlines, routing};
use crate::auth::Caller;
use crate::config::Config;
use crate::db::deviations::{self, DeviationRow};
use crate::db::events::{self, EventRow};
use crate::db::idempotency::{self, KeyRow};
use crate::db::outbox::{self, OutboxRow};
use crate::db::patients::IdentityRow;
use crate::db::{self, organisations, references, write_tx, DbConnection};
use crate::domain::calendar::oslo_today;
use crate::domain::{Code, Direction, EventKind, OrganisationKind, Status};
use crate::error::ApiError;
use crate::ids::{DeviationId, Reference};
use crate::patients::{Identity, Patients};
use crate::state::AppState;

pub enum Submitted {
    Created(Box<DeviationRow>),
    /// The same key and body were submitted before: the id of the deviation made then.
    Replayed(DeviationId),
}

/// What a submission came to, with the names its view shows.
pub struct Outcome {
    pub replayed: bool,
    pub row: DeviationRow,
    pub names: Names,
}

/// Prepares on a pooled connection, then stores in the shared commit where there is one.
pub async fn run(
    state: &AppState,
    caller: &Caller,
    checked: Checked,
    key: Option<String>,
    now: DateTime<Utc>,
) -> Result<Outcome, ApiError> {
    let (config, patients, who) = (state.config.clone(), state.patients.clone(), caller.clone());
    let (prepared, names) = db::run(&state.pool, move |c| {
        let prepared = prepare(c, &config, &patients, &who, checked, key.as_deref(), now)?;
        let row = match &prepared {
            Prepared::New(draft) => &draft.row,
            Prepared::Replayed(row) => row,
        };
        let names = Names::for_deviations(c, std::slice::from_ref(row), &who.organisation_id)?;
        Ok((prepared, names))
    })
    .await?;
    let draft = match prepared {
        Prepared::New(draft) => draft,
        Prepared::Replayed(row) => return Ok(Outcome { replayed: true, row: *row, names }),
    };
    match state.submit(move |c| store(c, &draft)).await? {
        Submitted::Created(row) => {
            crate::monitoring::submitted(&row.kind);
            Ok(Outcome { replayed: false, row: *row, names })
        }
        Submitted::Replayed(id) => {
            let who = caller.clone();
            db::run(&state.pool, move |c| {
                let row = access::load(c, &who, &id)?;
                let names = Names::for_deviations(c, std::slice::from_ref(&row), &who.organisation_id)?;
                Ok(Outcome { replayed: true, row, names })
            })
            .await
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
    patient: Option<Identity>,
    request: String,
}

/// Who may submit, and the fields: done before the transaction, so a shared (group) commit
/// carries only the work that needs the database.
pub fn check(
    patients: &Patients,
    caller: &Caller,
    body: &NewDeviation,
    now: DateTime<Utc>,
) -> Result<Checked, ApiError> {
    crate::policy::require_report(caller)?;
    let form = body.check(oslo_today(now));
    let patient = crate::patients::check(patients, body.patient.as_ref());
    let (form, patient) = match (form, patient) {
        (Ok(form), Ok(patient)) => (form, patient),
        (form, patient) => {
            let mut fields = form.err().map(|e| e.fields).unwrap_or_default();
            fields.extend(patient.err().unwrap_or_default());
            return Err(ApiError::invalid(fields));
        }
    };
    // The request as the idempotency key keeps it: the patient only as its keyed hash.
    let mut request = serde_json::to_value(body).map_err(ApiError::internal)?;
    if let (Some(identity), Some(object)) = (&patient, request.as_object_mut()) {
        object.insert("patient_hash".into(), crate::patients::remembered(patients, identity).into());
    }
    Ok(Checked { form, patient, request: request.to_string() })
}

/// A submission with everything looked up and its mails rendered: what is left is to take the
/// reference number and write. Reads stay out of the write so that the write (SQLite's shared
/// commit) is a handful of inserts.
pub struct Draft {
    row: DeviationRow,
    /// Sealed with the deviation's id; written in the same transaction.
    patient: Option<IdentityRow>,
    event: EventRow,
    mails: Vec<OutboxRow>,
    key: Option<KeyRow>,
    /// The reference number's year: the year in Norway when the form came in.
    year: i32,
    /// Taken before the write where the database numbers outside it (`references::reserve`).
    reference: Option<Reference>,
}

pub enum Prepared {
    New(Box<Draft>),
    /// The key was used before with the same form: the deviation made then.
    Replayed(Box<DeviationRow>),
}

/// Checks the parties, routes, sets deadlines and prepares the mails, reading only. A form that
/// fails here has taken no number and written nothing.
pub fn prepare(
    conn: &mut DbConnection,
    config: &Config,
    patients: &Patients,
    caller: &Caller,
    checked: Checked,
    key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Prepared, ApiError> {
    let Checked { form, patient, request } = checked;
    if let Some(key) = key {
        if let Some(previous) = idempotency::find(conn, &caller.user_id, key)? {
            let id = replay(previous, &request)?;
            return Ok(Prepared::Replayed(Box::new(access::load(conn, caller, &id)?)));
        }
    }
    let row = new_row(conn, config, caller, &form, now)?;
    let patient = patient.map(|p| crate::patients::seal(patients, &row.id, &p, row.submitted_at)).transpose()?;
    let mut entry = Entry::new(EventKind::Submitted, Some(caller))
        .target(Some(row.recipient_organisation_id.clone()), row.recipient_unit_id.clone());
    entry.to = Some(Status::Submitted);
    let event = entry.row(&row.id, 1, row.submitted_at);
    let mails = crate::mail::outbox::for_event_on(conn, config, &row, &event)?;
    let key = key.map(|key| KeyRow {
        user_id: caller.user_id.clone(),
        idempotency_key: key.to_owned(),
        request,
        deviation_id: row.id.clone(),
        created_at: row.submitted_at,
    });
    // Last, so that a form refused above has taken no number.
    let year = oslo_today(now).year();
    let reference = references::reserve(conn, year)?;
    Ok(Prepared::New(Box::new(Draft { row, patient, event, mails, key, year, reference })))
}

/// Numbers and writes a prepared submission: the deviation, its first event, its mails and the
/// idempotency key, in one transaction.
pub fn store(conn: &mut DbConnection, draft: &Draft) -> Result<Submitted, ApiError> {
    // Two identical retries can race past the key lookup; the loser hits the key's primary key and
    // the retry then finds the winner's key and replays it.
    let mut attempt = 0;
    loop {
        attempt += 1;
        match write_tx(conn, |c| write(c, draft)) {
            Err(e) if attempt < 3 && draft.key.is_some() && e.code == "already_exists" => continue,
            other => return other,
        }
    }
}

fn write(c: &mut DbConnection, draft: &Draft) -> Result<Submitted, ApiError> {
    if let Some(key) = &draft.key {
        if let Some(previous) = idempotency::find(c, &key.user_id, &key.idempotency_key)? {
            return Ok(Submitted::Replayed(replay(previous, &key.request)?));
        }
    }
    let mut row = draft.row.clone();
    row.reference = match &draft.reference {
        Some(reserved) => reserved.clone(),
        None => references::next(c, draft.year)?,
    };
    deviations::insert(c, &row)?;
    if let Some(patient) = &draft.patient {
        crate::db::patients::insert(c, patient)?;
    }
    events::insert(c, &draft.event)?;
    // The mails name the reference the worker reads from the deviation when it sends them.
    for mail in &draft.mails {
        outbox::insert_once(c, mail)?;
    }
    if let Some(key) = &draft.key {
        idempotency::insert(c, key)?;
    }
    Ok(Submitted::Created(Box::new(row)))
}

fn replay(previous: KeyRow, request: &str) -> Result<DeviationId, ApiError> {
    // Compared as JSON, not as text: the same form is the same request whatever order its fields
    // were serialised in (which changed when the optional answers became `details`).
    let json = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
    let same = |a: &str, b: &str| a == b || matches!((json(a), json(b)), (Some(a), Some(b)) if a == b);
    if same(&previous.request, request) {
        Ok(previous.deviation_id)
    } else {
        Err(ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "Denne Idempotency-Key er allerede brukt for et annet skjema. Bruk en ny nøkkel for et nytt avvik.",
        ))
    }
}

/// The deviation the form describes, routed and with its deadlines, numbered later.
fn new_row(
    conn: &mut DbConnection,
    config: &Config,
    caller: &Caller,
    form: &Form,
    now: DateTime<Utc>,
) -> Result<DeviationRow, ApiError> {
    let reporting_org = organisations::find(conn, &caller.organisation_id)?;
    let across = config.allow_cross_community_cases;
    let recipient =
        routing::recipient(conn, &form.recipient_organisation_id, &reporting_org, across, "recipient_organisation_id")?;
    routing::category(conn, &form.category)?;
    let reporting_unit_id = match &form.reporting_unit_id {
        Some(unit) => Some(routing::unit_of(conn, unit, &caller.organisation_id, "reporting_unit_id")?),
        None => caller.unit_id.clone(),
    };
    let recipient_unit_id =
        routing::unit_for(conn, &recipient.id, form.recipient_unit_id.as_ref(), &form.category, "recipient_unit_id")?;
    let kind = |k: &str| OrganisationKind::from_code(k).unwrap_or(OrganisationKind::Other);
    let direction = Direction::between(kind(&reporting_org.kind), kind(&recipient.kind));
    let (acknowledge_due, answer_due) = deadlines(config, now);
    let at = now.naive_utc();
    let mut row = DeviationRow {
        id: DeviationId::generate(),
        // Numbered last: `references::reserve` (PostgreSQL) or in the write (`references::next`).
        reference: Reference::default(),
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
        health_community_id: reporting_org.health_community_id.clone().unwrap_or_default(),
        occurred_at: form.occurred_at.clone(),
        discovered_at: form.discovered_at.clone(),
        description: form.description.clone(),
        details: serde_json::to_string(&form.details).map_err(ApiError::internal)?,
        reported_category: None,
        harm_class: form.harm_class.code().to_owned(),
        harm_level: form.harm_level.map(|l| l.code().to_owned()),
        handover_related: form.handover_related,
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
        next_reminder_on: None,
        source_system: None,
        source_id: None,
    };
    row.next_reminder_on = crate::mail::reminders::first_on(&row);
    Ok(row)
}
