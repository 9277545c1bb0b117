//! Tiltak (#35): what an analysis — or the improvement group directly — decides to change, with a
//! responsible organisation and person and a due date, followed planned → in progress → done (or
//! dropped with a reason); and what it should move in the figures: a category, optionally one
//! direction and one receiving unit, from the date it took effect. Who may do what is `policy`
//! (`may_create_action`, `may_work_on_action`, `actions_listed`); every change is an event on
//! the action's own timeline. The API is `api/actions.rs`.

pub mod reminders;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::Deserialize;

use crate::auth::Caller;
use crate::db::actions::{self as db, ActionEventRow, ActionRow, Filter};
use crate::db::DbConnection;
use crate::deviations::form::{parse_when, Errors, TEXT_MAX};
use crate::directory::new_id;
use crate::domain::action::ActionStatus;
use crate::domain::calendar::oslo_date;
use crate::domain::codes::Direction;
use crate::domain::Code;
use crate::error::ApiError;
use crate::ids::{ActionId, AnalysisId, HealthCommunityId, OrganisationId, UnitId, UserId};
use crate::policy::{self, ActionParties};

const TITLE_MAX: usize = 200;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAction {
    #[serde(default)]
    pub analysis_id: Option<AnalysisId>,
    pub title: String,
    pub description: String,
    pub responsible_organisation_id: OrganisationId,
    pub responsible_user_id: UserId,
    pub due_on: String,
    pub category: String,
    #[serde(default)]
    pub direction: Option<String>,
    #[serde(default)]
    pub unit_id: Option<UnitId>,
}

/// A change; what is left out stays as it is, null clears what may be empty. `version` is the
/// one read (409 if someone changed the action since).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionChanges {
    #[serde(deserialize_with = "crate::analyses::whole_number")]
    pub version: i32,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub responsible_organisation_id: Option<OrganisationId>,
    #[serde(default)]
    pub responsible_user_id: Option<UserId>,
    #[serde(default)]
    pub due_on: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default, deserialize_with = "crate::directory::double_option")]
    pub direction: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::directory::double_option")]
    pub unit_id: Option<Option<UnitId>>,
    /// Only once the action is done: when it took effect.
    #[serde(default)]
    pub effective_on: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionMove {
    pub to: String,
    #[serde(deserialize_with = "crate::analyses::whole_number")]
    pub version: i32,
    /// Why it is dropped (required then).
    #[serde(default)]
    pub reason: Option<String>,
    /// When it took effect (required when done, unless already set).
    #[serde(default)]
    pub effective_on: Option<String>,
}

/// An action as those who follow it read it.
#[derive(Debug, Clone)]
pub struct Action {
    pub row: ActionRow,
    pub status: ActionStatus,
    pub allowed_moves: Vec<ActionStatus>,
    /// Still open after its due date.
    pub overdue: bool,
}

fn not_found() -> ApiError {
    ApiError::not_found("Fant ikke tiltaket. Det finnes ikke, eller du følger det ikke.")
}

fn status_of(row: &ActionRow) -> Result<ActionStatus, ApiError> {
    ActionStatus::from_code(&row.status)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown action status {:?}", row.status)))
}

fn view(row: ActionRow, today: NaiveDate) -> Result<Action, ApiError> {
    let status = status_of(&row)?;
    Ok(Action { overdue: status.open() && row.due_on < today, allowed_moves: status.moves().to_vec(), status, row })
}

fn date(e: &mut Errors, field: &str, value: &str) -> Option<NaiveDate> {
    match parse_when(value) {
        Some((d, _)) if d.year() >= 2000 && d.year() <= 9999 => Some(d),
        Some(_) => {
            e.add(field, "invalid_date", "Datoen er utenfor det som kan stemme.");
            None
        }
        None => {
            e.add(field, "invalid_date", "Skriv en gyldig dato, for eksempel 27.11.2026.");
            None
        }
    }
}

fn due(e: &mut Errors, value: &str, today: NaiveDate) -> Option<NaiveDate> {
    let d = date(e, "due_on", value)?;
    if d < today {
        e.add("due_on", "in_past", "Fristen kan ikke være passert. Velg i dag eller en dag fram i tid.");
        return None;
    }
    Some(d)
}

/// The responsible organisation (of the action's helsefellesskap), person (active, of that
/// organisation), category, direction and unit, each refused by its field.
#[allow(clippy::too_many_arguments)]
fn check_parties(
    conn: &mut DbConnection,
    e: &mut Errors,
    community: Option<&HealthCommunityId>,
    org: &OrganisationId,
    user: &UserId,
    category: &str,
    direction: Option<&str>,
    unit: Option<&UnitId>,
) -> Result<Option<HealthCommunityId>, ApiError> {
    let theirs = match crate::db::organisations::find(conn, org) {
        Ok(o) if o.active => o.health_community_id,
        Ok(_) | Err(diesel::result::Error::NotFound) => None,
        Err(other) => return Err(other.into()),
    };
    let in_community = theirs.as_ref().is_some_and(|t| community.is_none_or(|c| c == t));
    if !in_community {
        e.add(
            "responsible_organisation_id",
            "not_in_health_community",
            "Velg en organisasjon i helsefellesskapet tiltaket hører til.",
        );
    }
    let person = match crate::db::users::find(conn, user) {
        Ok(u) => u.active && !u.machine && !u.pending && u.organisation_id == *org,
        Err(diesel::result::Error::NotFound) => false,
        Err(other) => return Err(other.into()),
    };
    if !person {
        e.add(
            "responsible_user_id",
            "not_in_organisation",
            "Den ansvarlige må være en person i organisasjonen som har ansvaret for tiltaket.",
        );
    }
    if !crate::db::categories::is_active(conn, category)? {
        e.add("category", "invalid_value", "Velg kategorien tiltaket skal endre.");
    }
    if direction.is_some_and(|d| Direction::from_code(d).is_none() || d == Direction::Other.code()) {
        e.add(
            "direction",
            "invalid_value",
            "Velg retning: kommune → sykehus, sykehus → kommune, kommune → kommune eller sykehus → sykehus.",
        );
    }
    if let Some(unit) = unit {
        let ok = match crate::db::units::find(conn, unit) {
            Ok(u) => {
                u.active
                    && crate::db::organisations::find(conn, &u.organisation_id)?.health_community_id.as_ref()
                        == theirs.as_ref().or(community)
            }
            Err(diesel::result::Error::NotFound) => false,
            Err(other) => return Err(other.into()),
        };
        if !ok {
            e.add("unit_id", "invalid_value", "Velg en mottakende enhet i helsefellesskapet.");
        }
    }
    Ok(theirs.filter(|_| in_community))
}

fn event(id: &ActionId, caller: &Caller, at: NaiveDateTime, kind: &str) -> ActionEventRow {
    ActionEventRow {
        id: new_id(),
        action_id: id.clone(),
        at,
        actor_id: Some(caller.user_id.clone()),
        kind: kind.to_owned(),
        from_status: None,
        to_status: None,
    }
}

/// Makes an action: from an analysis the caller works on (404 otherwise), or directly as the
/// improvement group (403 otherwise).
pub fn create(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    caller: &Caller,
    input: &NewAction,
) -> Result<Action, ApiError> {
    let today = oslo_date(now);
    // From an analysis: its helsefellesskap. Directly: that of the organisation made responsible.
    let (analysis, community) = match &input.analysis_id {
        Some(id) => {
            let a = crate::analyses::open_editable(conn, caller, id)?;
            (Some(a.id), Some(a.health_community_id))
        }
        None => {
            let org = crate::db::organisations::find(conn, &input.responsible_organisation_id);
            (None, org.ok().and_then(|o| o.health_community_id))
        }
    };
    let allowed = match (&analysis, &community) {
        (Some(_), _) => true,
        (None, Some(c)) => policy::may_create_action(caller, c, None),
        // No such organisation: the improvement group hears which field is wrong below.
        (None, None) => policy::improvement_group_member(caller),
    };
    if !allowed {
        return Err(ApiError::forbidden("Tiltak lages fra en hendelsesanalyse, eller av forbedringsgruppa."));
    }
    let unit = input.unit_id.as_ref().and_then(UnitId::non_blank);
    let mut e = Errors::default();
    let title = e.text("title", &input.title, TITLE_MAX);
    let description = e.text("description", &input.description, TEXT_MAX);
    let due_on = due(&mut e, &input.due_on, today);
    let checked = check_parties(
        conn,
        &mut e,
        analysis.as_ref().and(community.as_ref()),
        &input.responsible_organisation_id,
        &input.responsible_user_id,
        &input.category,
        input.direction.as_deref(),
        unit.as_ref(),
    )?;
    e.into_result(())?;
    let (Some(community), Some(due_on)) = (checked, due_on) else {
        return Err(ApiError::internal(anyhow::anyhow!("an action checked without its helsefellesskap or due date")));
    };
    let row = ActionRow {
        id: ActionId::generate(),
        health_community_id: community,
        analysis_id: analysis,
        title,
        description,
        responsible_organisation_id: input.responsible_organisation_id.clone(),
        responsible_user_id: input.responsible_user_id.clone(),
        due_on,
        status: ActionStatus::Planned.code().to_owned(),
        drop_reason: None,
        category: input.category.clone(),
        direction: input.direction.clone(),
        unit_id: unit,
        effective_on: None,
        reminder_stage: 0,
        created_by: caller.user_id.clone(),
        created_at: now,
        updated_at: now,
        version: 0,
    };
    crate::db::write_tx(conn, |c| {
        db::insert(c, &row)?;
        db::record(c, &event(&row.id, caller, now, "created"))?;
        Ok(())
    })?;
    // As stored (PostgreSQL keeps microseconds), so the answer equals every later read.
    get(conn, now, caller, &row.id)
}

/// The action, if the caller follows it (404 otherwise).
fn open(conn: &mut DbConnection, caller: &Caller, id: &ActionId) -> Result<ActionRow, ApiError> {
    let row = match db::find(conn, id) {
        Ok(row) => row,
        Err(diesel::result::Error::NotFound) => return Err(not_found()),
        Err(other) => return Err(other.into()),
    };
    let works_on_analysis = match &row.analysis_id {
        Some(a) => crate::db::analyses::is_participant(conn, a, &caller.user_id)?,
        None => false,
    };
    let parties = ActionParties {
        health_community_id: &row.health_community_id,
        responsible_organisation_id: &row.responsible_organisation_id,
        responsible_user_id: &row.responsible_user_id,
        works_on_analysis,
    };
    match policy::may_work_on_action(caller, parties) {
        true => Ok(row),
        false => Err(not_found()),
    }
}

pub fn get(conn: &mut DbConnection, now: NaiveDateTime, caller: &Caller, id: &ActionId) -> Result<Action, ApiError> {
    view(open(conn, caller, id)?, oslo_date(now))
}

/// Which of the caller's actions a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// All the caller follows.
    All,
    /// Those the caller is responsible for.
    Mine,
    /// Those of the caller's organisation.
    Organisation,
    /// Open after their due date.
    Overdue,
}

pub fn list(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    caller: &Caller,
    which: View,
    analysis: Option<&AnalysisId>,
) -> Result<Vec<Action>, ApiError> {
    let Some(scope) = policy::actions_listed(caller) else { return Ok(Vec::new()) };
    let today = oslo_date(now);
    let filter = Filter {
        responsible_user: (which == View::Mine).then_some(&caller.user_id),
        responsible_organisation: (which == View::Organisation).then_some(&caller.organisation_id),
        analysis,
        due_before: (which == View::Overdue).then_some(today),
    };
    db::list(conn, &scope, &filter)?.into_iter().map(|r| view(r, today)).collect()
}

/// Saves a change, checked whole (422 with every field), if nobody changed the action since
/// `version` (409) and it is not dropped (409).
pub fn update(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &ActionId,
    input: &ActionChanges,
) -> Result<Action, ApiError> {
    let mut row = open(conn, caller, id)?;
    let status = status_of(&row)?;
    if !status.editable() {
        return Err(ApiError::conflict("action_dropped", "Tiltaket er droppet og kan ikke endres."));
    }
    let today = oslo_date(now);
    let mut e = Errors::default();
    if let Some(t) = &input.title {
        row.title = e.text("title", t, TITLE_MAX);
    }
    if let Some(d) = &input.description {
        row.description = e.text("description", d, TEXT_MAX);
    }
    if let Some(d) = &input.due_on {
        // A due date that has passed may stay; a new one may not be in the past.
        match date(&mut e, "due_on", d) {
            Some(day) if day == row.due_on => {}
            Some(_) => {
                if let Some(day) = due(&mut e, d, today) {
                    // A new due date: its reminders go again.
                    (row.due_on, row.reminder_stage) = (day, 0);
                }
            }
            None => {}
        }
    }
    if let Some(o) = &input.responsible_organisation_id {
        row.responsible_organisation_id = o.clone();
    }
    if let Some(u) = &input.responsible_user_id {
        row.responsible_user_id = u.clone();
    }
    if let Some(c) = &input.category {
        row.category = c.clone();
    }
    if let Some(d) = &input.direction {
        row.direction = d.clone();
    }
    if let Some(u) = &input.unit_id {
        row.unit_id = u.as_ref().and_then(UnitId::non_blank);
    }
    if let Some(d) = &input.effective_on {
        if status != ActionStatus::Done {
            e.add("effective_on", "not_done", "Datoen tiltaket fikk virkning settes når det er gjennomført.");
        } else if let Some(day) = date(&mut e, "effective_on", d) {
            row.effective_on = Some(day);
        }
    }
    check_parties(
        conn,
        &mut e,
        Some(&row.health_community_id),
        &row.responsible_organisation_id,
        &row.responsible_user_id,
        &row.category,
        row.direction.as_deref(),
        row.unit_id.as_ref(),
    )?;
    e.into_result(())?;
    row.updated_at = now;
    crate::db::write_tx(conn, |c| {
        if !db::update(c, &row, input.version)? {
            return Err(changed());
        }
        db::record(c, &event(id, caller, now, "edited"))?;
        Ok(())
    })?;
    get(conn, now, caller, id)
}

fn changed() -> ApiError {
    ApiError::conflict("concurrent_change", "Noen andre endret tiltaket samtidig. Last det inn på nytt og prøv igjen.")
}

/// Moves the action on (409 with the moves allowed, if not this one). Done takes the date it took
/// effect, dropped a reason (422 by the field without).
pub fn move_to(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &ActionId,
    input: &ActionMove,
) -> Result<Action, ApiError> {
    let mut row = open(conn, caller, id)?;
    let from = status_of(&row)?;
    let Some(to) = ActionStatus::from_code(&input.to).filter(|t| from.may_move_to(*t)) else {
        return Err(crate::analyses::wrong_move(("Tiltaket", "tiltaket"), from, from.moves(), ActionStatus::label));
    };
    let mut e = Errors::default();
    match to {
        ActionStatus::Done => match input.effective_on.as_deref() {
            Some(d) => row.effective_on = date(&mut e, "effective_on", d),
            None if row.effective_on.is_none() => {
                e.add("effective_on", "required", "Skriv datoen tiltaket fikk virkning, for eksempel 01.03.2026.")
            }
            None => {}
        },
        ActionStatus::Dropped => {
            row.drop_reason = match input.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
                Some(r) => e.optional_text("reason", Some(r), TEXT_MAX),
                None => {
                    e.add("reason", "required", "Skriv hvorfor tiltaket droppes.");
                    None
                }
            };
        }
        _ => {}
    }
    e.into_result(())?;
    row.status = to.code().to_owned();
    row.updated_at = now;
    crate::db::write_tx(conn, |c| {
        if !db::update(c, &row, input.version)? {
            return Err(changed());
        }
        let mut ev = event(id, caller, now, "status_changed");
        ev.from_status = Some(from.code().to_owned());
        ev.to_status = Some(to.code().to_owned());
        db::record(c, &ev)?;
        Ok(())
    })?;
    get(conn, now, caller, id)
}

/// The run of the action's category before and after it took effect (`stats::effect`).
pub fn effect(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &ActionId,
    threshold: i64,
) -> Result<crate::stats::effect::Effect, ApiError> {
    let row = open(conn, caller, id)?;
    crate::stats::effect::compute(conn, &row, oslo_date(now), threshold)
}

/// The action's own timeline.
pub fn events(conn: &mut DbConnection, caller: &Caller, id: &ActionId) -> Result<Vec<ActionEventRow>, ApiError> {
    open(conn, caller, id)?;
    Ok(db::events(conn, id)?)
}
