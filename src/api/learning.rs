//! Læringsnotater over HTTP: extract → `learning` (which asks the policy) → DTO.

use actix_web::web::{Data, Json, Path};
use actix_web::HttpResponse;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::body::Body;
use crate::auth::Caller;
use crate::db::{self, DbConnection};
use crate::deviations::view::{utc, Names, Ref};
use crate::error::ApiError;
use crate::ids::LearningNoteId;
use crate::learning::{self, NewNote};
use crate::state::AppState;

#[derive(Serialize)]
pub struct LearningNote {
    id: LearningNoteId,
    analysis_reference: String,
    title: String,
    what_happened: String,
    why: String,
    what_changed: String,
    /// Where the lesson comes from.
    author_organisation: Ref,
    /// Who wrote it: only to those who may take it down.
    author: Option<Ref>,
    published: bool,
    published_at: DateTime<Utc>,
    unpublished_at: Option<DateTime<Utc>>,
    may_unpublish: bool,
}

#[derive(Serialize)]
pub struct LearningNoteList {
    items: Vec<LearningNote>,
}

/// The notes as their readers get them (the API's bodies, and what the pages show).
pub fn dtos(conn: &mut DbConnection, list: Vec<learning::Note>) -> Result<Vec<LearningNote>, ApiError> {
    let names = Names::load(
        conn,
        list.iter().map(|n| &n.row.author_organisation_id),
        std::iter::empty(),
        list.iter().filter(|n| n.may_unpublish).map(|n| &n.row.author_id),
    )?;
    Ok(list
        .into_iter()
        .map(|n| {
            let r = n.row;
            LearningNote {
                author_organisation: names.org(&r.author_organisation_id),
                author: n.may_unpublish.then(|| names.person(&r.author_id)),
                id: r.id,
                analysis_reference: n.analysis_reference,
                title: r.title,
                what_happened: r.what_happened,
                why: r.why,
                what_changed: r.what_changed,
                published: r.unpublished_at.is_none(),
                published_at: utc(r.published_at),
                unpublished_at: r.unpublished_at.map(utc),
                may_unpublish: n.may_unpublish && r.unpublished_at.is_none(),
            }
        })
        .collect())
}

fn dto(conn: &mut DbConnection, n: learning::Note) -> Result<LearningNote, ApiError> {
    dtos(conn, vec![n])?.pop().ok_or_else(|| ApiError::internal(anyhow::anyhow!("a note without its body")))
}

pub async fn list(state: Data<AppState>, caller: Caller) -> Result<Json<LearningNoteList>, ApiError> {
    let items = db::run(&state.pool, move |c| {
        let list = learning::list(c, &caller)?;
        dtos(c, list)
    })
    .await?;
    Ok(Json(LearningNoteList { items }))
}

pub async fn publish(state: Data<AppState>, caller: Caller, body: Body<NewNote>) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now_naive();
    let patients = state.patients.clone();
    let created = db::run(&state.pool, move |c| {
        let n = learning::publish(c, &patients, now, &caller, &body)?;
        dto(c, n)
    })
    .await?;
    Ok(HttpResponse::Created().json(created))
}

pub async fn get(
    state: Data<AppState>,
    caller: Caller,
    id: Path<LearningNoteId>,
) -> Result<Json<LearningNote>, ApiError> {
    let n = db::run(&state.pool, move |c| {
        let n = learning::get(c, &caller, &id)?;
        dto(c, n)
    })
    .await?;
    Ok(Json(n))
}

pub async fn unpublish(
    state: Data<AppState>,
    caller: Caller,
    id: Path<LearningNoteId>,
) -> Result<Json<LearningNote>, ApiError> {
    let now = state.clock.now_naive();
    let n = db::run(&state.pool, move |c| {
        let n = learning::unpublish(c, now, &caller, &id)?;
        dto(c, n)
    })
    .await?;
    Ok(Json(n))
}
