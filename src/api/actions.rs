//! Tiltak over HTTP: extract → `actions` (which asks the policy) → DTO.

use std::collections::BTreeMap;

use actix_web::web::{Data, Json, Path, Query};
use actix_web::HttpResponse;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::analyses::{timeline, TimelineEvent};
use super::body::Body;
use crate::actions::{self, ActionChanges, ActionMove, NewAction, View};
use crate::auth::Caller;
use crate::db::{self, DbConnection};
use crate::deviations::view::{utc, Names, Ref};
use crate::domain::action::ActionStatus;
use crate::error::ApiError;
use crate::ids::{ActionId, AnalysisId};
use crate::state::AppState;

#[derive(Serialize)]
pub struct Action {
    id: ActionId,
    analysis: Option<AnalysisRef>,
    title: String,
    description: String,
    responsible_organisation: Ref,
    responsible_user: Ref,
    due_on: NaiveDate,
    status: ActionStatus,
    allowed_moves: Vec<ActionStatus>,
    drop_reason: Option<String>,
    category: String,
    direction: Option<String>,
    unit: Option<Ref>,
    effective_on: Option<NaiveDate>,
    overdue: bool,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Serialize, Clone)]
struct AnalysisRef {
    id: AnalysisId,
    reference: String,
}

#[derive(Serialize)]
pub struct ActionList {
    items: Vec<Action>,
}

#[derive(Serialize)]
pub struct ActionEventList {
    items: Vec<TimelineEvent>,
}

/// The actions as their readers get them: people, organisations and units by name, the analysis
/// by its reference (the API's bodies, and what the pages show).
pub fn dtos(conn: &mut DbConnection, list: Vec<actions::Action>) -> Result<Vec<Action>, ApiError> {
    let names = Names::load(
        conn,
        list.iter().map(|a| &a.row.responsible_organisation_id),
        list.iter().filter_map(|a| a.row.unit_id.as_ref()),
        list.iter().map(|a| &a.row.responsible_user_id),
    )?;
    let ids: Vec<AnalysisId> = list.iter().filter_map(|a| a.row.analysis_id.clone()).collect();
    let analyses: BTreeMap<AnalysisId, AnalysisRef> = db::analyses::references(conn, &ids)?
        .into_iter()
        .map(|(id, reference)| (id.clone(), AnalysisRef { id, reference }))
        .collect();
    Ok(list
        .into_iter()
        .map(|a| {
            let r = a.row;
            Action {
                analysis: r.analysis_id.as_ref().and_then(|id| analyses.get(id).cloned()),
                responsible_organisation: names.org(&r.responsible_organisation_id),
                responsible_user: names.person(&r.responsible_user_id),
                unit: names.unit(r.unit_id.as_ref()),
                id: r.id,
                title: r.title,
                description: r.description,
                due_on: r.due_on,
                status: a.status,
                allowed_moves: a.allowed_moves,
                drop_reason: r.drop_reason,
                category: r.category,
                direction: r.direction,
                effective_on: r.effective_on,
                overdue: a.overdue,
                version: r.version,
                created_at: utc(r.created_at),
                updated_at: utc(r.updated_at),
            }
        })
        .collect())
}

fn dto(conn: &mut DbConnection, a: actions::Action) -> Result<Action, ApiError> {
    dtos(conn, vec![a])?.pop().ok_or_else(|| ApiError::internal(anyhow::anyhow!("an action without its body")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(default)]
    view: Option<View>,
    #[serde(default)]
    analysis_id: Option<AnalysisId>,
}

pub async fn list(
    state: Data<AppState>,
    caller: Caller,
    query: Query<ListQuery>,
) -> Result<Json<ActionList>, ApiError> {
    let now = state.clock.now_naive();
    let q = query.into_inner();
    let items = db::run(&state.pool, move |c| {
        let list = actions::list(
            c,
            now,
            &caller,
            q.view.unwrap_or(View::All),
            q.analysis_id.as_ref().and_then(AnalysisId::non_blank).as_ref(),
        )?;
        dtos(c, list)
    })
    .await?;
    Ok(Json(ActionList { items }))
}

pub async fn create(state: Data<AppState>, caller: Caller, body: Body<NewAction>) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now_naive();
    let created = db::run(&state.pool, move |c| {
        let a = actions::create(c, now, &caller, &body)?;
        dto(c, a)
    })
    .await?;
    Ok(HttpResponse::Created().json(created))
}

pub async fn get(state: Data<AppState>, caller: Caller, id: Path<ActionId>) -> Result<Json<Action>, ApiError> {
    let now = state.clock.now_naive();
    let a = db::run(&state.pool, move |c| {
        let a = actions::get(c, now, &caller, &id)?;
        dto(c, a)
    })
    .await?;
    Ok(Json(a))
}

pub async fn update(
    state: Data<AppState>,
    caller: Caller,
    id: Path<ActionId>,
    body: Body<ActionChanges>,
) -> Result<Json<Action>, ApiError> {
    let now = state.clock.now_naive();
    let a = db::run(&state.pool, move |c| {
        let a = actions::update(c, now, &caller, &id, &body)?;
        dto(c, a)
    })
    .await?;
    Ok(Json(a))
}

pub async fn move_to(
    state: Data<AppState>,
    caller: Caller,
    id: Path<ActionId>,
    body: Body<ActionMove>,
) -> Result<Json<Action>, ApiError> {
    let now = state.clock.now_naive();
    let a = db::run(&state.pool, move |c| {
        let a = actions::move_to(c, now, &caller, &id, &body)?;
        dto(c, a)
    })
    .await?;
    Ok(Json(a))
}

pub async fn effect(
    state: Data<AppState>,
    caller: Caller,
    id: Path<ActionId>,
) -> Result<Json<crate::stats::effect::Effect>, ApiError> {
    let (now, threshold) = (state.clock.now_naive(), state.config.suppression_threshold);
    let effect = db::run(&state.pool, move |c| actions::effect(c, now, &caller, &id, threshold)).await?;
    Ok(Json(effect))
}

pub async fn events(
    state: Data<AppState>,
    caller: Caller,
    id: Path<ActionId>,
) -> Result<Json<ActionEventList>, ApiError> {
    let items = db::run(&state.pool, move |c| events_of(c, &caller, &id)).await?;
    Ok(Json(ActionEventList { items }))
}

/// An action's own timeline, for the API and its page.
pub fn events_of(conn: &mut DbConnection, caller: &Caller, id: &ActionId) -> Result<Vec<TimelineEvent>, ApiError> {
    let rows = actions::events(conn, caller, id)?;
    timeline(conn, rows.into_iter().map(|r| (r.at, r.actor_id, r.kind, r.from_status, r.to_status)).collect())
}
