//! Hendelsesanalyse (#34): one or more deviations analysed jointly by the organisations involved
//! and the improvement group — what happened (a dated timeline), where care went outside safe
//! limits, the contributing factors (London protocol, plus transitions between organisations), and
//! a conclusion. Who may do what is `policy` (`may_start_analysis`, `may_work_on_analysis`,
//! `may_take_part`); every change is an event on the analysis's own timeline, and linking puts an
//! event on each deviation's.
//!
//! The API is `api/analyses.rs`, the pages `pages/analyses.rs`.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::config::Config;
use crate::db::analyses::{self as db, AnalysisEventRow, AnalysisRow, FactorRow};
use crate::db::deviations::DeviationRow;
use crate::db::DbConnection;
use crate::deviations::access;
use crate::deviations::form::{parse_when, Errors, TEXT_MAX};
use crate::deviations::timeline::{record, Entry};
use crate::directory::new_id;
use crate::domain::analysis::{reference, AnalysisStatus, FactorCategory};
use crate::domain::calendar::oslo_date;
use crate::domain::{Code, EventKind};
use crate::error::ApiError;
use crate::ids::{AnalysisId, DeviationId, HealthCommunityId, OrganisationId, UserId};
use crate::policy;

const TITLE_MAX: usize = 200;
/// A cluster, such as ten «epikrise mangler» from one ward, fits; a whole tertial does not.
const DEVIATIONS_MAX: usize = 50;
const PARTICIPANTS_MAX: usize = 30;
const TIMELINE_MAX: usize = 100;

/// A version as JSON may write it: `3` or `3.0` (JSON Schema's integer is both).
pub fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    let v = f64::deserialize(d)?;
    match v.fract() == 0.0 && (0.0..f64::from(i32::MAX)).contains(&v) {
        // Checked just above: whole and within i32.
        #[allow(clippy::cast_possible_truncation)]
        true => Ok(v as i32),
        false => Err(serde::de::Error::custom("a whole number from 0")),
    }
}

/// What opens an analysis.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAnalysis {
    pub title: String,
    pub deviation_ids: Vec<DeviationId>,
    #[serde(default)]
    pub participant_ids: Vec<UserId>,
}

/// One fact on the analysis's timeline of what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fact {
    pub date: String,
    pub fact: String,
}

/// The analysis's content; what is left out stays as it is. `version` is the one read, so two
/// people editing at once do not overwrite each other (409).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Content {
    #[serde(deserialize_with = "whole_number")]
    pub version: i32,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub timeline: Option<Vec<Fact>>,
    #[serde(default)]
    pub care_problems: Option<Vec<String>>,
    #[serde(default)]
    pub conclusion: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewFactor {
    pub category: String,
    pub description: String,
}

/// An analysis as its participants read it.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub id: AnalysisId,
    pub reference: String,
    pub health_community_id: HealthCommunityId,
    pub title: String,
    pub status: AnalysisStatus,
    pub allowed_moves: Vec<AnalysisStatus>,
    pub timeline: Vec<Fact>,
    pub care_problems: Vec<String>,
    pub conclusion: Option<String>,
    pub deviations: Vec<DeviationId>,
    pub participants: Vec<UserId>,
    pub factors: Vec<Factor>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Serialize)]
pub struct Factor {
    pub id: String,
    pub category: FactorCategory,
    pub description: String,
}

fn not_found() -> ApiError {
    ApiError::not_found("Fant ikke hendelsesanalysen. Den finnes ikke, eller du er ikke deltaker i den.")
}

/// The deviations named, each one the caller may see (404 otherwise, as everywhere), all of one
/// helsefellesskap.
fn linkable(
    conn: &mut DbConnection,
    caller: &Caller,
    ids: &[DeviationId],
    community: Option<&HealthCommunityId>,
) -> Result<Vec<DeviationRow>, ApiError> {
    let mut rows: Vec<DeviationRow> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let row = access::load(conn, caller, id)?;
        let first = community.or(rows.first().map(|r| &r.health_community_id));
        if first.is_some_and(|c| *c != row.health_community_id) {
            return Err(ApiError::field(
                &format!("deviation_ids[{i}]"),
                "other_health_community",
                "En hendelsesanalyse gjelder avvik i ett helsefellesskap. Dette avviket hører til et annet.",
            ));
        }
        if !rows.iter().any(|r| r.id == row.id) {
            rows.push(row);
        }
    }
    Ok(rows)
}

/// The organisations that are parties to the linked deviations.
fn parties(rows: &[DeviationRow]) -> Vec<OrganisationId> {
    let mut orgs: Vec<_> =
        rows.iter().flat_map(|r| [r.reporting_organisation_id.clone(), r.recipient_organisation_id.clone()]).collect();
    orgs.sort();
    orgs.dedup();
    orgs
}

/// Checks that each user may take part (422 naming the one who may not).
fn check_participants(
    conn: &mut DbConnection,
    users: &[UserId],
    orgs: &[OrganisationId],
    community: &HealthCommunityId,
    field: &str,
) -> Result<(), ApiError> {
    let mut e = Errors::default();
    for (i, id) in users.iter().enumerate() {
        let ok = match crate::db::users::find(conn, id) {
            Ok(user) => {
                let theirs = crate::db::organisations::find(conn, &user.organisation_id)?.health_community_id;
                policy::may_take_part(&user, theirs.as_ref(), orgs, community)
            }
            Err(diesel::result::Error::NotFound) => false,
            Err(other) => return Err(other.into()),
        };
        if !ok {
            e.add(
                &format!("{field}[{i}]"),
                "not_a_party",
                "Deltakerne må være personer fra organisasjonene som er part i avvikene, eller fra forbedringsgruppa.",
            );
        }
    }
    e.into_result(())
}

fn event(id: &AnalysisId, caller: &Caller, at: NaiveDateTime, kind: &str) -> AnalysisEventRow {
    AnalysisEventRow {
        id: new_id(),
        analysis_id: id.clone(),
        at,
        actor_id: Some(caller.user_id.clone()),
        kind: kind.to_owned(),
        from_status: None,
        to_status: None,
        text: None,
    }
}

/// Puts «Inngår i hendelsesanalyse HA-…» on the deviation's timeline, for those who see it.
fn mark_linked(
    conn: &mut DbConnection,
    config: &Config,
    caller: &Caller,
    deviation: &DeviationId,
    reference: &str,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    let entry = Entry::new(EventKind::AnalysisLinked, Some(caller)).text(Some(reference.to_owned()));
    record(conn, config, deviation, at, entry).map(|_| ())
}

/// Opens an analysis of the deviations named, with the caller (unless of the improvement group)
/// and the people named as participants.
pub fn create(
    conn: &mut DbConnection,
    config: &Config,
    now: NaiveDateTime,
    caller: &Caller,
    input: &NewAnalysis,
) -> Result<Analysis, ApiError> {
    policy::require_start_analysis(caller)?;
    let mut e = Errors::default();
    let title = e.text("title", &input.title, TITLE_MAX);
    if input.deviation_ids.is_empty() {
        e.add("deviation_ids", "required", "Velg minst ett avvik som skal analyseres.");
    } else if input.deviation_ids.len() > DEVIATIONS_MAX {
        e.add("deviation_ids", "too_long", format!("En analyse kan gjelde høyst {DEVIATIONS_MAX} avvik."));
    }
    if input.participant_ids.len() > PARTICIPANTS_MAX {
        e.add("participant_ids", "too_long", format!("En analyse kan ha høyst {PARTICIPANTS_MAX} deltakere."));
    }
    e.into_result(())?;
    let rows = linkable(conn, caller, &input.deviation_ids, None)?;
    let community = rows.first().map(|r| r.health_community_id.clone()).ok_or_else(access::not_found)?;
    check_participants(conn, &input.participant_ids, &parties(&rows), &community, "participant_ids")?;
    let mut participants = input.participant_ids.clone();
    if !policy::in_improvement_group(caller, &community) {
        participants.insert(0, caller.user_id.clone());
    }
    participants.dedup();
    let id = AnalysisId::generate();
    let year = oslo_date(now).year();
    let reserved = db::reserve_number(conn, &community, year)?;
    crate::db::write_tx(conn, |c| {
        let n = match reserved {
            Some(n) => n,
            None => db::next_number(c, &community, year)?,
        };
        let row = AnalysisRow {
            id: id.clone(),
            health_community_id: community.clone(),
            reference: reference(year, n),
            title: title.clone(),
            status: AnalysisStatus::Draft.code().to_owned(),
            timeline: "[]".into(),
            care_problems: "[]".into(),
            conclusion: None,
            created_by: caller.user_id.clone(),
            created_at: now,
            updated_at: now,
            version: 0,
        };
        db::insert(c, &row)?;
        for user in &participants {
            if !db::is_participant(c, &id, user)? {
                db::add_participant(c, &id, user, now)?;
            }
        }
        for d in &rows {
            db::link(c, &id, &d.id, now)?;
            mark_linked(c, config, caller, &d.id, &row.reference, now)?;
        }
        db::record(c, &event(&id, caller, now, "created"))?;
        Ok(())
    })?;
    get(conn, caller, &id)
}

/// The analysis row, if the caller may work on it (404 otherwise).
pub fn open(conn: &mut DbConnection, caller: &Caller, id: &AnalysisId) -> Result<AnalysisRow, ApiError> {
    let row = match db::find(conn, id) {
        Ok(row) => row,
        Err(diesel::result::Error::NotFound) => return Err(not_found()),
        Err(other) => return Err(other.into()),
    };
    let participant = db::is_participant(conn, id, &caller.user_id)?;
    match policy::may_work_on_analysis(caller, &row.health_community_id, participant) {
        true => Ok(row),
        false => Err(not_found()),
    }
}

/// The status as stored; a value no code knows is a fault of ours, not the caller's.
pub fn status_of(row: &AnalysisRow) -> Result<AnalysisStatus, ApiError> {
    AnalysisStatus::from_code(&row.status)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown analysis status {:?}", row.status)))
}

/// The analysis, if the caller may work on it (404) and it is not closed (409): where actions are
/// made from.
pub fn open_editable(conn: &mut DbConnection, caller: &Caller, id: &AnalysisId) -> Result<AnalysisRow, ApiError> {
    let row = open(conn, caller, id)?;
    editable(&row)?;
    Ok(row)
}

fn editable(row: &AnalysisRow) -> Result<AnalysisStatus, ApiError> {
    let status = status_of(row)?;
    match status.editable() {
        true => Ok(status),
        false => Err(ApiError::conflict("analysis_closed", "Analysen er avsluttet og kan ikke endres.")),
    }
}

pub fn get(conn: &mut DbConnection, caller: &Caller, id: &AnalysisId) -> Result<Analysis, ApiError> {
    let row = open(conn, caller, id)?;
    let status = status_of(&row)?;
    let factors = db::factors(conn, id)?
        .into_iter()
        .filter_map(|f| {
            FactorCategory::from_code(&f.category).map(|category| Factor {
                id: f.id,
                category,
                description: f.description,
            })
        })
        .collect();
    Ok(Analysis {
        timeline: serde_json::from_str(&row.timeline).map_err(ApiError::internal)?,
        care_problems: serde_json::from_str(&row.care_problems).map_err(ApiError::internal)?,
        deviations: db::deviations(conn, id)?,
        participants: db::participants(conn, id)?,
        factors,
        allowed_moves: status.moves().to_vec(),
        status,
        id: row.id,
        reference: row.reference,
        health_community_id: row.health_community_id,
        title: row.title,
        conclusion: row.conclusion,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// The analyses the caller works on: theirs as a participant, and for the improvement group
/// every one of their helsefellesskap (the region's: all).
pub fn list(conn: &mut DbConnection, caller: &Caller) -> Result<Vec<AnalysisRow>, ApiError> {
    Ok(match policy::analyses_listed(caller) {
        policy::AnalysesListed::None => Vec::new(),
        policy::AnalysesListed::Group(community) => db::list(conn, community, None)?,
        policy::AnalysesListed::Participant(user) => db::list(conn, None, Some(user))?,
    })
}

/// Saves a change of content, checked whole (422 with every field), if nobody changed the
/// analysis since `version` (409) and it is not closed (409).
pub fn update(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &AnalysisId,
    input: &Content,
) -> Result<Analysis, ApiError> {
    let mut row = open(conn, caller, id)?;
    editable(&row)?;
    let mut e = Errors::default();
    if let Some(title) = &input.title {
        row.title = e.text("title", title, TITLE_MAX);
    }
    if let Some(timeline) = &input.timeline {
        if timeline.len() > TIMELINE_MAX {
            e.add("timeline", "too_long", format!("Tidslinjen kan ha høyst {TIMELINE_MAX} punkter."));
        }
        let mut facts: Vec<(NaiveDate, Fact)> = Vec::new();
        for (i, f) in timeline.iter().enumerate() {
            let fact = e.text(&format!("timeline[{i}].fact"), &f.fact, TEXT_MAX);
            match parse_when(&f.date) {
                Some((date, _)) => facts.push((date, Fact { date: date.to_string(), fact })),
                None => e.add(
                    &format!("timeline[{i}].date"),
                    "invalid_date",
                    "Skriv en gyldig dato, for eksempel 27.11.2026.",
                ),
            }
        }
        facts.sort_by_key(|(d, _)| *d);
        let facts: Vec<Fact> = facts.into_iter().map(|(_, f)| f).collect();
        row.timeline = serde_json::to_string(&facts).map_err(ApiError::internal)?;
    }
    if let Some(problems) = &input.care_problems {
        let checked: Vec<String> =
            problems.iter().enumerate().map(|(i, p)| e.text(&format!("care_problems[{i}]"), p, TEXT_MAX)).collect();
        row.care_problems = serde_json::to_string(&checked).map_err(ApiError::internal)?;
    }
    if let Some(conclusion) = &input.conclusion {
        row.conclusion = e.optional_text("conclusion", Some(conclusion), TEXT_MAX);
    }
    e.into_result(())?;
    row.updated_at = now;
    crate::db::write_tx(conn, |c| {
        if !db::update(c, &row, input.version)? {
            return Err(changed());
        }
        db::record(c, &event(id, caller, now, "edited"))?;
        Ok(())
    })?;
    get(conn, caller, id)
}

/// 409 for a move a life does not take from `from`, naming the moves it does (an analysis's, an
/// action's); `noun` as it begins a sentence and as it stands inside one.
pub fn wrong_move<S: Code>(noun: (&str, &str), from: S, moves: &[S], label: fn(S) -> &'static str) -> ApiError {
    let detail = match moves {
        [] => format!("{} er {} og kan ikke flyttes videre.", noun.0, label(from).to_lowercase()),
        moves => format!(
            "Fra «{}» kan {} bare gå til: {}.",
            label(from),
            noun.1,
            moves.iter().map(|s| format!("«{}» ({})", label(*s), s.code())).collect::<Vec<_>>().join(", ")
        ),
    };
    ApiError::conflict("invalid_transition", detail)
}

fn changed() -> ApiError {
    ApiError::conflict("concurrent_change", "Noen andre endret analysen samtidig. Last den inn på nytt og prøv igjen.")
}

/// Moves the analysis on (409 with the moves allowed, if not this one). Concluding takes a
/// conclusion (409 without one).
pub fn move_to(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &AnalysisId,
    to: &str,
    version: i32,
) -> Result<Analysis, ApiError> {
    let mut row = open(conn, caller, id)?;
    let from = status_of(&row)?;
    let Some(to) = AnalysisStatus::from_code(to).filter(|t| from.may_move_to(*t)) else {
        return Err(wrong_move(("Analysen", "analysen"), from, from.moves(), AnalysisStatus::label));
    };
    // The analysis's state, not the request, is what is missing: a conflict, as a wrong move is.
    if to == AnalysisStatus::Concluded && row.conclusion.is_none() {
        return Err(ApiError::conflict("invalid_transition", "Skriv konklusjonen før analysen konkluderes."));
    }
    row.status = to.code().to_owned();
    row.updated_at = now;
    crate::db::write_tx(conn, |c| {
        if !db::update(c, &row, version)? {
            return Err(changed());
        }
        let mut e = event(id, caller, now, "status_changed");
        e.from_status = Some(from.code().to_owned());
        e.to_status = Some(to.code().to_owned());
        db::record(c, &e)?;
        Ok(())
    })?;
    get(conn, caller, id)
}

/// Links one more deviation the caller may see (404 otherwise), of the same helsefellesskap.
pub fn link(
    conn: &mut DbConnection,
    config: &Config,
    now: NaiveDateTime,
    caller: &Caller,
    id: &AnalysisId,
    deviation: &DeviationId,
) -> Result<Analysis, ApiError> {
    let row = open(conn, caller, id)?;
    editable(&row)?;
    let rows = linkable(conn, caller, std::slice::from_ref(deviation), Some(&row.health_community_id))?;
    if db::deviations(conn, id)?.contains(deviation) {
        return get(conn, caller, id);
    }
    crate::db::write_tx(conn, |c| {
        for d in &rows {
            db::link(c, id, &d.id, now)?;
            mark_linked(c, config, caller, &d.id, &row.reference, now)?;
        }
        db::record(c, &event(id, caller, now, "deviation_linked"))?;
        Ok(())
    })?;
    get(conn, caller, id)
}

/// Adds a participant who may take part (422 otherwise).
pub fn add_participant(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &AnalysisId,
    user: &UserId,
) -> Result<Analysis, ApiError> {
    let row = open(conn, caller, id)?;
    editable(&row)?;
    let orgs = db::parties(conn, id)?;
    check_participants(conn, std::slice::from_ref(user), &orgs, &row.health_community_id, "user_id")?;
    crate::db::write_tx(conn, |c| {
        if !db::is_participant(c, id, user)? {
            db::add_participant(c, id, user, now)?;
            db::record(c, &event(id, caller, now, "participant_added"))?;
        }
        Ok(())
    })?;
    get(conn, caller, id)
}

/// Adds a contributing factor.
pub fn add_factor(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &AnalysisId,
    input: &NewFactor,
) -> Result<Analysis, ApiError> {
    let row = open(conn, caller, id)?;
    editable(&row)?;
    let mut e = Errors::default();
    let category = FactorCategory::from_code(&input.category);
    if category.is_none() {
        let labels: Vec<&str> = FactorCategory::ALL.iter().map(|(c, _)| c.label()).collect();
        e.add("category", "invalid_value", format!("Velg en av kategoriene: {}.", labels.join(", ")));
    }
    let description = match input.description.trim().is_empty() {
        true => {
            e.add("description", "required", "Beskriv hvordan faktoren bidro til hendelsen.");
            String::new()
        }
        false => e.text("description", &input.description, TEXT_MAX),
    };
    e.into_result(())?;
    let factor = FactorRow {
        id: new_id(),
        analysis_id: id.clone(),
        category: category.map(|c| c.code().to_owned()).unwrap_or_default(),
        description,
        created_at: now,
    };
    crate::db::write_tx(conn, |c| {
        db::add_factor(c, &factor)?;
        db::record(c, &event(id, caller, now, "factor_added"))?;
        Ok(())
    })?;
    get(conn, caller, id)
}

/// The people of the analysis's parties and its improvement group: (id, name, organisation), by
/// organisation and name — those who may take part (the page leaves out those who do), and who
/// may be made responsible for its actions.
pub fn people_of_parties(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &AnalysisId,
) -> Result<Vec<(UserId, String, String)>, ApiError> {
    let row = open(conn, caller, id)?;
    let orgs = db::parties(conn, id)?;
    Ok(db::candidates(conn, &orgs)?
        .into_iter()
        .filter(|(user, _, theirs)| policy::may_take_part(user, theirs.as_ref(), &orgs, &row.health_community_id))
        .map(|(user, org, _)| (user.id, user.name, org))
        .collect())
}

/// The analysis's own timeline.
pub fn events(conn: &mut DbConnection, caller: &Caller, id: &AnalysisId) -> Result<Vec<AnalysisEventRow>, ApiError> {
    open(conn, caller, id)?;
    Ok(db::events(conn, id)?)
}
