//! The lifecycle actions. Each runs in one transaction: load what the caller may see, check side,
//! role and status, change the row only if its status is still the one checked, write the event.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::access;
use super::form::{Errors, DESCRIPTION_MAX, TEXT_MAX};
use super::timeline::{record, Entry};
use super::view::within_reopen_window;
use super::{deadlines, routing};
use crate::auth::Caller;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::deviations::{self, DeviationChanges, DeviationRow};
use crate::db::events::EventRow;
use crate::db::{organisations, users, write_tx, DbConnection};
use crate::domain::calendar::{oslo_date, oslo_today, working_days_between};
use crate::domain::lifecycle::{next_status, refusal, Action};
use crate::domain::{Code, Direction, EventKind, OrganisationKind, Role, Status};
use crate::error::ApiError;
use crate::ids::{DeviationId, OrganisationId, UnitId, UserId};
use crate::policy;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgeInput {
    #[serde(default)]
    pub unit_id: Option<UnitId>,
    #[serde(default)]
    pub handler_id: Option<UserId>,
    #[serde(default)]
    pub note: Option<String>,
    /// The category as the recipient sees it, when the reporter's choice fits poorly.
    #[serde(default)]
    pub category: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardInput {
    pub organisation_id: OrganisationId,
    #[serde(default)]
    pub unit_id: Option<UnitId>,
    pub reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonInput {
    pub reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    pub answer: String,
    #[serde(default)]
    pub actions: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    pub text: String,
}

pub enum Command {
    Acknowledge(AcknowledgeInput),
    Forward(ForwardInput),
    Reject(ReasonInput),
    Answer(AnswerInput),
    Close(NoteInput),
    Reopen(NoteInput),
    Comment(CommentInput),
}

impl From<AcknowledgeInput> for Command {
    fn from(i: AcknowledgeInput) -> Self {
        Command::Acknowledge(i)
    }
}

impl From<ForwardInput> for Command {
    fn from(i: ForwardInput) -> Self {
        Command::Forward(i)
    }
}

impl From<ReasonInput> for Command {
    fn from(i: ReasonInput) -> Self {
        Command::Reject(i)
    }
}

impl From<AnswerInput> for Command {
    fn from(i: AnswerInput) -> Self {
        Command::Answer(i)
    }
}

impl Command {
    pub fn action(&self) -> Action {
        match self {
            Command::Acknowledge(_) => Action::Acknowledge,
            Command::Forward(_) => Action::Forward,
            Command::Reject(_) => Action::Reject,
            Command::Answer(_) => Action::Answer,
            Command::Close(_) => Action::Close,
            Command::Reopen(_) => Action::Reopen,
            Command::Comment(_) => Action::Comment,
        }
    }
}

/// Everything an action needs besides the connection.
pub struct Ctx<'a> {
    pub config: &'a Config,
    pub clock: &'a Clock,
    pub caller: &'a Caller,
}

pub fn perform(conn: &mut DbConnection, ctx: &Ctx, id: &DeviationId, command: Command) -> Result<EventRow, ApiError> {
    let action = command.action();
    access::logging_denials(conn, ctx.clock, ctx.caller, id, action.code(), |conn| {
        write_tx(conn, |c| apply(c, ctx, id, command))
    })
}

fn apply(c: &mut DbConnection, ctx: &Ctx, id: &DeviationId, command: Command) -> Result<EventRow, ApiError> {
    let (caller, now) = (ctx.caller, ctx.clock.now());
    let action = command.action();
    let row = access::load(c, caller, id)?;
    let allowed = policy::may(caller, (&row).into(), action);
    if !allowed {
        return Err(ApiError::forbidden(
            "Du kan ikke gjøre dette med avviket. Det er mottakerens kvalitetsrådgiver som bekrefter, \
             videresender og avviser, saksbehandler som svarer, og melder som lukker og gjenåpner.",
        ));
    }
    let status = Status::from_code(&row.status)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown status {}", row.status)))?;
    let next =
        next_status(status, action).ok_or_else(|| ApiError::conflict("invalid_transition", refusal(action, status)))?;
    let (mut changes, entry) = match command {
        Command::Acknowledge(input) => acknowledge(c, caller, &row, input, now)?,
        Command::Forward(input) => forward(c, ctx, &row, input, now)?,
        Command::Reject(input) => {
            let mut e = Errors::default();
            let reason = e.text("reason", &input.reason, TEXT_MAX);
            e.into_result(())?;
            let changes = DeviationChanges { closed_at: Some(Some(now.naive_utc())), ..Default::default() };
            (changes, Entry::new(EventKind::Rejected, Some(caller)).text(Some(reason)))
        }
        Command::Answer(input) => answer(caller, &row, input, now)?,
        Command::Close(input) => {
            let note = note(&input)?;
            let changes = DeviationChanges { closed_at: Some(Some(now.naive_utc())), ..Default::default() };
            (changes, Entry::new(EventKind::Closed, Some(caller)).text(note))
        }
        Command::Reopen(input) => {
            if !within_reopen_window(&row, now) {
                return Err(ApiError::conflict(
                    "reopen_window_passed",
                    "Svaret er mer enn 30 dager gammelt, så avviket kan ikke gjenåpnes. Meld et nytt avvik og vis til referansen.",
                ));
            }
            let note = note(&input)?;
            let (_, answer_due) = deadlines(ctx.config, now);
            let changes =
                DeviationChanges { closed_at: Some(None), answer_due: Some(answer_due), ..Default::default() };
            (changes, Entry::new(EventKind::Reopened, Some(caller)).text(note))
        }
        Command::Comment(input) => {
            let mut e = Errors::default();
            let text = e.text("text", &input.text, TEXT_MAX);
            e.into_result(())?;
            (DeviationChanges::default(), Entry::new(EventKind::Commented, Some(caller)).text(Some(text)))
        }
    };
    changes.status = Some(next.code().to_owned());
    changes.updated_at = Some(now.naive_utc());
    if !deviations::update_if_status(c, id, &row.status, &changes)? {
        return Err(ApiError::conflict(
            "concurrent_change",
            "Avviket ble endret av noen andre samtidig. Last det inn på nytt og prøv igjen.",
        ));
    }
    record(c, ctx.config, id, now.naive_utc(), entry.transition(status, next))
}

/// Working days from the day the current recipient received the deviation until today.
fn working_days_since(row: &DeviationRow, now: DateTime<Utc>) -> i32 {
    working_days_between(oslo_date(row.received_at), oslo_today(now)) as i32
}

fn note(input: &NoteInput) -> Result<Option<String>, ApiError> {
    let mut e = Errors::default();
    let note = e.optional_text("note", input.note.as_deref(), TEXT_MAX);
    e.into_result(note)
}

type Change<'a> = (DeviationChanges, Entry<'a>);

fn acknowledge<'a>(
    c: &mut DbConnection,
    caller: &'a Caller,
    row: &DeviationRow,
    input: AcknowledgeInput,
    now: DateTime<Utc>,
) -> Result<Change<'a>, ApiError> {
    let note = note(&NoteInput { note: input.note })?;
    let org = &row.recipient_organisation_id;
    let mut unit = match input.unit_id.as_ref().and_then(UnitId::non_blank) {
        Some(u) => Some(routing::unit_of(c, &u, org, "unit_id")?),
        None => None,
    };
    let handler = match input.handler_id.as_ref().and_then(UserId::non_blank) {
        None => None,
        Some(h) => {
            let user = users::find(c, &h).ok().filter(|u| policy::may_be_assigned(u, org));
            let user = user.ok_or_else(|| {
                ApiError::field("handler_id", "unknown_handler", "Saksbehandleren finnes ikke i din organisasjon.")
            })?;
            unit = unit.or(user.unit_id);
            Some(user.id)
        }
    };
    // A new category keeps the reporter's first choice beside it, once, for the statistics.
    let category = input.category.filter(|c| !c.trim().is_empty() && *c != row.category);
    if let Some(code) = &category {
        routing::category(c, code)?;
    }
    let changes = DeviationChanges {
        recipient_unit_id: unit.clone().map(Some),
        handler_id: handler.map(Some),
        acknowledged_at: Some(Some(now.naive_utc())),
        acknowledge_days: Some(Some(working_days_since(row, now))),
        reported_category: category
            .as_ref()
            .map(|_| Some(row.reported_category.clone().unwrap_or_else(|| row.category.clone()))),
        category: category.clone(),
        ..Default::default()
    };
    let entry = Entry::new(EventKind::Acknowledged, Some(caller)).text(note).target(None, unit).category(category);
    Ok((changes, entry))
}

fn forward<'a>(
    c: &mut DbConnection,
    ctx: &Ctx<'a>,
    row: &DeviationRow,
    input: ForwardInput,
    now: DateTime<Utc>,
) -> Result<Change<'a>, ApiError> {
    let mut e = Errors::default();
    let reason = e.text("reason", &input.reason, TEXT_MAX);
    e.into_result(())?;
    let sender = crate::db::organisations::find(c, &row.reporting_organisation_id)?;
    let across = ctx.config.allow_cross_community_cases;
    let target_id = input.organisation_id.non_blank().unwrap_or(input.organisation_id);
    let target = routing::recipient(c, &target_id, &sender, across, "organisation_id")?;
    let given_unit = input.unit_id.as_ref().and_then(UnitId::non_blank);
    if target.id == row.recipient_organisation_id && (given_unit.is_none() || given_unit == row.recipient_unit_id) {
        return Err(ApiError::field(
            "unit_id",
            "same_recipient",
            "Avviket ligger allerede her. Velg en annen enhet eller en annen organisasjon.",
        ));
    }
    let unit = routing::unit_for(c, &target.id, given_unit.as_ref(), &row.category, "unit_id")?;
    let reporting = organisations::find(c, &row.reporting_organisation_id)?;
    let kind = |k: &str| OrganisationKind::from_code(k).unwrap_or(OrganisationKind::Other);
    let (acknowledge_due, answer_due) = deadlines(ctx.config, now);
    let changes = DeviationChanges {
        direction: Some(Direction::between(kind(&reporting.kind), kind(&target.kind)).code().to_owned()),
        recipient_organisation_id: Some(target.id.clone()),
        recipient_unit_id: Some(unit.clone()),
        handler_id: Some(None),
        received_at: Some(now.naive_utc()),
        acknowledged_at: Some(None),
        acknowledge_days: Some(None),
        answer_days: Some(None),
        answered_on_time: Some(None),
        acknowledge_due: Some(acknowledge_due),
        answer_due: Some(answer_due),
        ..Default::default()
    };
    let entry = Entry::new(EventKind::Forwarded, Some(ctx.caller)).text(Some(reason)).target(Some(target.id), unit);
    Ok((changes, entry))
}

fn answer<'a>(
    caller: &'a Caller,
    row: &DeviationRow,
    input: AnswerInput,
    now: DateTime<Utc>,
) -> Result<Change<'a>, ApiError> {
    let mut e = Errors::default();
    let answer = e.text("answer", &input.answer, DESCRIPTION_MAX);
    let actions = e.optional_text("actions", input.actions.as_deref(), TEXT_MAX);
    e.into_result(())?;
    let at = now.naive_utc();
    let days = working_days_since(row, now);
    let changes = DeviationChanges {
        acknowledge_days: Some(Some(row.acknowledge_days.unwrap_or(days))),
        answer_days: Some(Some(days)),
        answered_on_time: Some(Some(oslo_today(now).to_string() <= row.answer_due)),
        answer: Some(Some(answer.clone())),
        answer_actions: Some(actions),
        answered_at: Some(Some(at)),
        acknowledged_at: Some(Some(row.acknowledged_at.unwrap_or(at))),
        handler_id: Some(
            row.handler_id.clone().or_else(|| (caller.role == Role::Handler).then(|| caller.user_id.clone())),
        ),
        ..Default::default()
    };
    Ok((changes, Entry::new(EventKind::Answered, Some(caller)).text(Some(answer))))
}
