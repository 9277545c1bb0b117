//! Læring as pages: the published notes of the helsefellesskap, one note, and taking one down —
//! each a call of the same use case the API makes (`learning`). Written from the analysis page.

use actix_web::web::{Data, Path, Query};
use minijinja::context;

use super::render::render;
use super::session::{Posted, Viewer};
use super::{html, see_other, PageResult};
use crate::db;
use crate::ids::LearningNoteId;
use crate::learning;
use crate::state::AppState;

pub async fn list(state: Data<AppState>, viewer: Viewer) -> PageResult {
    let body = db::run(&state.pool, move |c| {
        let items = learning::list(c, &viewer.caller)?;
        let items = crate::api::learning::dtos(c, items)?;
        render("learning.html", context! { viewer => &viewer.chrome, current => "learning", items })
    })
    .await?;
    Ok(html(body))
}

#[derive(serde::Deserialize)]
pub struct Params {
    gjort: Option<String>,
}

pub async fn detail(
    state: Data<AppState>,
    viewer: Viewer,
    id: Path<LearningNoteId>,
    params: Query<Params>,
) -> PageResult {
    let notice = match params.gjort.as_deref() {
        Some("publisert") => Some("Læringsnotatet er publisert. Alle i helsefellesskapet kan lese det nå."),
        Some("tatt-ned") => Some("Læringsnotatet er tatt ned."),
        _ => None,
    };
    let body = db::run(&state.pool, move |c| {
        let n = learning::get(c, &viewer.caller, &id)?;
        let n = crate::api::learning::dtos(c, vec![n])?;
        render(
            "learning_note.html",
            context! { viewer => &viewer.chrome, current => "learning", n => n.first(), notice },
        )
    })
    .await?;
    Ok(html(body))
}

pub async fn unpublish(state: Data<AppState>, viewer: Viewer, id: Path<LearningNoteId>, _form: Posted) -> PageResult {
    let now = state.clock.now_naive();
    let back = format!("/laering/{id}?gjort=tatt-ned");
    db::run(&state.pool, move |c| learning::unpublish(c, now, &viewer.caller, &id)).await?;
    Ok(see_other(&back))
}
