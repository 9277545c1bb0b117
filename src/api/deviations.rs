use actix_web::web::{Data, Json, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::body::{Body, OptionalBody};
use crate::auth::Caller;
use crate::db;
use crate::db::deviations::{DeviationRow, Scope};
use crate::deviations::access;
use crate::deviations::actions::{self, Command, Ctx};
use crate::deviations::form::NewDeviation;
use crate::deviations::list::{self, DeviationPage, ListQuery};
use crate::deviations::rating::{Rating, RatingInput};
use crate::deviations::submit::{self, Outcome};
use crate::deviations::view::{self, Deviation, Event, Names};
use crate::error::ApiError;
use crate::ids::DeviationId;
use crate::policy::deidentified;
use crate::state::AppState;

#[derive(Serialize, Deserialize)]
pub struct EventList {
    pub items: Vec<Event>,
}

fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().map(str::to_owned).unwrap_or_default();
    submit::check_key(&key)?;
    Ok(Some(key))
}

/// Reads one deviation as `caller` sees it.
fn read(
    conn: &mut db::DbConnection,
    state: &AppState,
    caller: &Caller,
    id: &DeviationId,
) -> Result<Deviation, ApiError> {
    let row = access::load(conn, caller, id)?;
    shown(conn, state, caller, row)
}

fn shown(
    conn: &mut db::DbConnection,
    state: &AppState,
    caller: &Caller,
    row: DeviationRow,
) -> Result<Deviation, ApiError> {
    let names = Names::for_deviations(conn, std::slice::from_ref(&row), &caller.organisation_id)?;
    Ok(view::deviation(row, &names, caller, deidentified(caller), state.clock.now()))
}

pub async fn submit(
    state: Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: Body<NewDeviation>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&req)?;
    let now = state.clock.now();
    let checked = submit::check(&state.patients, &caller, &body, now)?;
    let Outcome { replayed, row, names } = submit::run(&state, &caller, checked, key, now).await?;
    let deviation = view::deviation(row, &names, &caller, deidentified(&caller), now);
    let mut resp = HttpResponse::Created();
    resp.insert_header(("location", format!("/api/v1/deviations/{}", deviation.id)));
    if replayed {
        resp.insert_header(("idempotent-replayed", "true"));
    }
    Ok(resp.json(deviation))
}

pub async fn list(
    state: Data<AppState>,
    caller: Caller,
    query: super::query::Params<ListQuery>,
) -> Result<Json<DeviationPage>, ApiError> {
    let now = state.clock.now();
    let page = db::run(&state.pool, move |c| list::list(c, &caller, &query, now)).await?;
    Ok(Json(page))
}

pub async fn get(state: Data<AppState>, caller: Caller, id: Path<DeviationId>) -> Result<Json<Deviation>, ApiError> {
    let st = state.clone();
    let deviation = db::run(&state.pool, move |c| {
        access::logging_denials(c, &st.clock, &caller, &id, "read", |c| read(c, &st, &caller, &id))
    })
    .await?;
    Ok(Json(deviation))
}

pub async fn events(state: Data<AppState>, caller: Caller, id: Path<DeviationId>) -> Result<Json<EventList>, ApiError> {
    let st = state.clone();
    let items = db::run(&state.pool, move |c| {
        access::logging_denials(c, &st.clock, &caller, &id, "read_events", |c| {
            access::load(c, &caller, &id)?;
            let rows = db::events::for_deviation(c, &id)?;
            view::events(c, rows, deidentified(&caller))
        })
    })
    .await?;
    Ok(Json(EventList { items }))
}

/// Runs a lifecycle action and answers with the deviation as it is afterwards.
async fn act(
    state: Data<AppState>,
    caller: Caller,
    id: DeviationId,
    command: Command,
) -> Result<Json<Deviation>, ApiError> {
    let st = state.clone();
    let deviation = db::run(&state.pool, move |c| {
        let ctx = Ctx { config: &st.config, clock: &st.clock, caller: &caller };
        let forwarded = matches!(command, Command::Forward(_));
        actions::perform(c, &ctx, &id, command)?;
        // After forwarding to another organisation the caller no longer holds the deviation; they
        // still get to see the result of what they just did, once.
        let row = if forwarded { db::deviations::find(c, &Scope::All, &id)? } else { access::load(c, &caller, &id)? };
        shown(c, &st, &caller, row)
    })
    .await?;
    Ok(Json(deviation))
}

/// The actions whose body is required: acknowledge, forward, reject, answer.
pub async fn action<T>(
    state: Data<AppState>,
    caller: Caller,
    id: Path<DeviationId>,
    body: Body<T>,
) -> Result<Json<Deviation>, ApiError>
where
    T: Into<Command>,
{
    act(state, caller, id.into_inner(), body.into_inner().into()).await
}

pub async fn close(
    state: Data<AppState>,
    caller: Caller,
    id: Path<DeviationId>,
    body: OptionalBody<actions::NoteInput>,
) -> Result<Json<Deviation>, ApiError> {
    let note = body.0;
    act(state, caller, id.into_inner(), Command::Close(note)).await
}

pub async fn reopen(
    state: Data<AppState>,
    caller: Caller,
    id: Path<DeviationId>,
    body: OptionalBody<actions::NoteInput>,
) -> Result<Json<Deviation>, ApiError> {
    let note = body.0;
    act(state, caller, id.into_inner(), Command::Reopen(note)).await
}

pub async fn comment(
    state: Data<AppState>,
    caller: Caller,
    id: Path<DeviationId>,
    body: Body<actions::CommentInput>,
) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    let event = db::run(&state.pool, move |c| {
        let ctx = Ctx { config: &st.config, clock: &st.clock, caller: &caller };
        let row = actions::perform(c, &ctx, &id, Command::Comment(body.into_inner()))?;
        Ok(view::events(c, vec![row], false)?.remove(0))
    })
    .await?;
    Ok(HttpResponse::Created().json(event))
}

/// The reporter's rating of the answer (#37), as the caller may read it.
pub async fn rating(state: Data<AppState>, caller: Caller, id: Path<DeviationId>) -> Result<Json<Rating>, ApiError> {
    let r = db::run(&state.pool, move |c| crate::deviations::rating::get(c, &caller, &id)).await?;
    Ok(Json(r))
}

pub async fn rate(
    state: Data<AppState>,
    caller: Caller,
    id: Path<DeviationId>,
    body: Body<RatingInput>,
) -> Result<Json<Rating>, ApiError> {
    let now = state.clock.now_naive();
    let r = db::run(&state.pool, move |c| crate::deviations::rating::rate(c, now, &caller, &id, &body)).await?;
    Ok(Json(r))
}
