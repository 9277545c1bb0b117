use actix_web::web::{Data, Json, Path};
use actix_web::HttpResponse;

use super::body::Body;
use crate::auth::Caller;
use crate::db;
use crate::directory::organisations::{self as orgs, NewUnit, Unit, UnitPatch};
use crate::error::ApiError;
use crate::ids::{OrganisationId, UnitId};
use crate::policy;
use crate::state::AppState;

pub async fn create(
    state: Data<AppState>,
    caller: Caller,
    organisation_id: Path<OrganisationId>,
    body: Body<NewUnit>,
) -> Result<HttpResponse, ApiError> {
    policy::require_admin(&caller)?;
    let unit = db::run(&state.pool, move |c| orgs::create_unit(c, &organisation_id, body.into_inner())).await?;
    Ok(HttpResponse::Created().json(unit))
}

pub async fn update(
    state: Data<AppState>,
    caller: Caller,
    id: Path<UnitId>,
    body: Body<UnitPatch>,
) -> Result<Json<Unit>, ApiError> {
    policy::require_admin(&caller)?;
    let unit = db::run(&state.pool, move |c| orgs::update_unit(c, &id, body.into_inner())).await?;
    Ok(Json(unit))
}
