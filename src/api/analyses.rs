//! Hendelsesanalyser over HTTP: extract → `analyses` (which asks the policy) → DTO.

use std::collections::BTreeMap;

use actix_web::web::{Data, Json, Path};
use actix_web::HttpResponse;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use super::body::Body;
use crate::analyses::{self, Content, Fact, NewAnalysis, NewFactor};
use crate::auth::Caller;
use crate::db::{self, DbConnection};
use crate::deviations::view::{utc, Names, Ref};
use crate::domain::analysis::{AnalysisStatus, FactorCategory};
use crate::error::ApiError;
use crate::ids::{AnalysisId, DeviationId, Reference, UserId};
use crate::state::AppState;

/// A whole analysis's content fits (its timeline and care problems at their longest, in any
/// script); nothing larger is an analysis.
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

#[derive(Serialize)]
pub struct Analysis {
    id: AnalysisId,
    reference: String,
    title: String,
    status: AnalysisStatus,
    allowed_moves: Vec<AnalysisStatus>,
    timeline: Vec<Fact>,
    care_problems: Vec<String>,
    conclusion: Option<String>,
    deviations: Vec<LinkedDeviation>,
    participants: Vec<Participant>,
    factors: Vec<Factor>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct LinkedDeviation {
    id: DeviationId,
    reference: Reference,
}

#[derive(Serialize)]
struct Participant {
    id: UserId,
    name: String,
    organisation: Ref,
}

#[derive(Serialize)]
struct Factor {
    id: String,
    category: FactorCategory,
    description: String,
}

#[derive(Serialize)]
pub struct AnalysisList {
    items: Vec<Summary>,
}

#[derive(Serialize)]
struct Summary {
    id: AnalysisId,
    reference: String,
    title: String,
    status: String,
    updated_at: DateTime<Utc>,
}

#[derive(Serialize)]
pub struct AnalysisEventList {
    items: Vec<TimelineEvent>,
}

/// One entry of an analysis's or an action's own timeline, as its readers get it.
#[derive(Serialize)]
pub struct TimelineEvent {
    at: DateTime<Utc>,
    actor: Option<Ref>,
    kind: String,
    from_status: Option<String>,
    to_status: Option<String>,
}

/// A timeline row as both kinds store it: when, who, what, and a status move.
pub type TimelineRow = (NaiveDateTime, Option<UserId>, String, Option<String>, Option<String>);

/// The rows with their people by name (one query): for the API and the pages alike.
pub fn timeline(conn: &mut DbConnection, rows: Vec<TimelineRow>) -> Result<Vec<TimelineEvent>, ApiError> {
    let names = Names::load(conn, std::iter::empty(), std::iter::empty(), rows.iter().filter_map(|r| r.1.as_ref()))?;
    Ok(rows
        .into_iter()
        .map(|(at, actor, kind, from_status, to_status)| TimelineEvent {
            at: utc(at),
            actor: names.user(actor.as_ref()),
            kind,
            from_status,
            to_status,
        })
        .collect())
}

/// An analysis's own timeline, for the API and its page.
pub fn events_of(conn: &mut DbConnection, caller: &Caller, id: &AnalysisId) -> Result<Vec<TimelineEvent>, ApiError> {
    let rows = analyses::events(conn, caller, id)?;
    timeline(conn, rows.into_iter().map(|r| (r.at, r.actor_id, r.kind, r.from_status, r.to_status)).collect())
}

/// The analysis as its readers get it: deviations by reference, participants by name (the API's
/// body, and what the analysis page shows).
pub fn dto(conn: &mut DbConnection, a: analyses::Analysis) -> Result<Analysis, ApiError> {
    let users: Vec<db::users::UserRow> =
        a.participants.iter().map(|id| db::users::find(conn, id)).collect::<Result<_, _>>()?;
    let names = Names::load(conn, users.iter().map(|u| &u.organisation_id), std::iter::empty(), std::iter::empty())?;
    let references: BTreeMap<DeviationId, Reference> =
        db::deviations::references(conn, &a.deviations)?.into_iter().collect();
    Ok(Analysis {
        deviations: a
            .deviations
            .into_iter()
            .filter_map(|id| references.get(&id).cloned().map(|reference| LinkedDeviation { id, reference }))
            .collect(),
        participants: users
            .into_iter()
            .map(|u| Participant { organisation: names.org(&u.organisation_id), id: u.id, name: u.name })
            .collect(),
        factors: a
            .factors
            .into_iter()
            .map(|f| Factor { id: f.id, category: f.category, description: f.description })
            .collect(),
        id: a.id,
        reference: a.reference,
        title: a.title,
        status: a.status,
        allowed_moves: a.allowed_moves,
        timeline: a.timeline,
        care_problems: a.care_problems,
        conclusion: a.conclusion,
        version: a.version,
        created_at: utc(a.created_at),
        updated_at: utc(a.updated_at),
    })
}

pub async fn list(state: Data<AppState>, caller: Caller) -> Result<Json<AnalysisList>, ApiError> {
    let rows = db::run(&state.pool, move |c| analyses::list(c, &caller)).await?;
    let items = rows
        .into_iter()
        .map(|r| Summary {
            id: r.id,
            reference: r.reference,
            title: r.title,
            status: r.status,
            updated_at: utc(r.updated_at),
        })
        .collect();
    Ok(Json(AnalysisList { items }))
}

pub async fn create(state: Data<AppState>, caller: Caller, body: Body<NewAnalysis>) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    let created = db::run(&state.pool, move |c| {
        let a = analyses::create(c, &st.config, st.clock.now_naive(), &caller, &body)?;
        dto(c, a)
    })
    .await?;
    Ok(HttpResponse::Created().json(created))
}

pub async fn get(state: Data<AppState>, caller: Caller, id: Path<AnalysisId>) -> Result<Json<Analysis>, ApiError> {
    let a = db::run(&state.pool, move |c| {
        let a = analyses::get(c, &caller, &id)?;
        dto(c, a)
    })
    .await?;
    Ok(Json(a))
}

pub async fn update(
    state: Data<AppState>,
    caller: Caller,
    id: Path<AnalysisId>,
    body: Body<Content>,
) -> Result<Json<Analysis>, ApiError> {
    let now = state.clock.now_naive();
    let a = db::run(&state.pool, move |c| {
        let a = analyses::update(c, now, &caller, &id, &body)?;
        dto(c, a)
    })
    .await?;
    Ok(Json(a))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Move {
    to: String,
    #[serde(deserialize_with = "analyses::whole_number")]
    version: i32,
}

pub async fn move_to(
    state: Data<AppState>,
    caller: Caller,
    id: Path<AnalysisId>,
    body: Body<Move>,
) -> Result<Json<Analysis>, ApiError> {
    let now = state.clock.now_naive();
    let a = db::run(&state.pool, move |c| {
        let a = analyses::move_to(c, now, &caller, &id, &body.to, body.version)?;
        dto(c, a)
    })
    .await?;
    Ok(Json(a))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    deviation_id: DeviationId,
}

pub async fn link(
    state: Data<AppState>,
    caller: Caller,
    id: Path<AnalysisId>,
    body: Body<Link>,
) -> Result<Json<Analysis>, ApiError> {
    let st = state.clone();
    let a = db::run(&state.pool, move |c| {
        let a = analyses::link(c, &st.config, st.clock.now_naive(), &caller, &id, &body.deviation_id)?;
        dto(c, a)
    })
    .await?;
    Ok(Json(a))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewParticipant {
    user_id: UserId,
}

pub async fn add_participant(
    state: Data<AppState>,
    caller: Caller,
    id: Path<AnalysisId>,
    body: Body<NewParticipant>,
) -> Result<Json<Analysis>, ApiError> {
    let now = state.clock.now_naive();
    let a = db::run(&state.pool, move |c| {
        let a = analyses::add_participant(c, now, &caller, &id, &body.user_id)?;
        dto(c, a)
    })
    .await?;
    Ok(Json(a))
}

pub async fn add_factor(
    state: Data<AppState>,
    caller: Caller,
    id: Path<AnalysisId>,
    body: Body<NewFactor>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now_naive();
    let a = db::run(&state.pool, move |c| {
        let a = analyses::add_factor(c, now, &caller, &id, &body)?;
        dto(c, a)
    })
    .await?;
    Ok(HttpResponse::Created().json(a))
}

pub async fn events(
    state: Data<AppState>,
    caller: Caller,
    id: Path<AnalysisId>,
) -> Result<Json<AnalysisEventList>, ApiError> {
    let items = db::run(&state.pool, move |c| events_of(c, &caller, &id)).await?;
    Ok(Json(AnalysisEventList { items }))
}
