//! Patient identity over HTTP: reveal and related for those who handle a case, innsyn and routine
//! control for the privacy officer. Everything that decides is in `crate::patients`.

use actix_web::http::header;
use actix_web::web::{Data, Json, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::body::Body;
use crate::auth::Caller;
use crate::db;
use crate::deviations::view;
use crate::error::ApiError;
use crate::ids::DeviationId;
use crate::patients::RevealInput;
use crate::state::AppState;

/// The patient's identity, for one who handles the case and says why; logged before it is shown,
/// and never cached.
pub async fn reveal_patient(
    state: Data<AppState>,
    caller: Caller,
    id: Path<DeviationId>,
    body: Body<RevealInput>,
) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    let revealed = db::run(&state.pool, move |c| {
        crate::patients::reveal(c, &st.patients, st.clock.now().naive_utc(), &caller, &id, &body)
    })
    .await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(revealed))
}

/// Other deviations about the same patient that the caller may see; nobody's identity shown.
pub async fn related(
    state: Data<AppState>,
    caller: Caller,
    id: Path<DeviationId>,
) -> Result<Json<RelatedList>, ApiError> {
    let st = state.clone();
    let items = db::run(&state.pool, move |c| {
        let rows = crate::patients::related(c, &st.patients, st.clock.now().naive_utc(), &caller, &id)?;
        Ok(rows
            .into_iter()
            .map(|r| Related {
                submitted_at: view::utc(r.submitted_at),
                id: r.id,
                reference: r.reference,
                status: r.status,
                category: r.category,
            })
            .collect())
    })
    .await?;
    Ok(Json(RelatedList { items }))
}

/// Innsyn: every look at one patient's identity in the privacy officer's organisation's cases.
/// JSON, or CSV when asked for with `Accept: text/csv`.
pub async fn patient_access_log(
    state: Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: Body<crate::patients::innsyn::InnsynInput>,
) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    let items = db::run(&state.pool, move |c| {
        crate::patients::innsyn::innsyn(c, &st.patients, st.clock.now().naive_utc(), &caller, &body)
    })
    .await?;
    let wants_csv =
        req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/csv"));
    let mut resp = HttpResponse::Ok();
    resp.insert_header((header::CACHE_CONTROL, "no-store"));
    Ok(match wants_csv {
        true => resp.content_type("text/csv; charset=utf-8").body(crate::patients::innsyn::csv(&items)?),
        false => resp.json(AccessList { items }),
    })
}

#[derive(Serialize)]
pub struct AccessList {
    items: Vec<crate::patients::innsyn::Access>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutineQuery {
    from: String,
    to: String,
}

/// Routine control: per person of the organisation and day, with unusual days flagged.
pub async fn patient_access_summary(
    state: Data<AppState>,
    caller: Caller,
    query: super::query::Params<RoutineQuery>,
) -> Result<Json<SummaryList>, ApiError> {
    let threshold = state.config.patient_reveals_per_day_alert;
    let items =
        db::run(&state.pool, move |c| crate::patients::innsyn::routine(c, &caller, threshold, &query.from, &query.to))
            .await?;
    Ok(Json(SummaryList { threshold, items }))
}

#[derive(Serialize)]
pub struct SummaryList {
    threshold: usize,
    items: Vec<crate::patients::innsyn::UserDay>,
}

#[derive(Serialize)]
pub struct Related {
    id: DeviationId,
    reference: crate::ids::Reference,
    status: String,
    category: String,
    submitted_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize)]
pub struct RelatedList {
    items: Vec<Related>,
}
