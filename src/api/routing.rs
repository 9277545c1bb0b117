use actix_web::web::{Data, Json, Path};

use super::body::Body;
use crate::auth::Caller;
use crate::db;
use crate::deviations::routing::{self, RoutingTable};
use crate::error::ApiError;
use crate::ids::OrganisationId;
use crate::state::AppState;

pub async fn get(
    state: Data<AppState>,
    caller: Caller,
    id: Path<OrganisationId>,
) -> Result<Json<RoutingTable>, ApiError> {
    let table = db::run(&state.pool, move |c| routing::get(c, &caller, &id)).await?;
    Ok(Json(table))
}

pub async fn put(
    state: Data<AppState>,
    caller: Caller,
    id: Path<OrganisationId>,
    body: Body<RoutingTable>,
) -> Result<Json<RoutingTable>, ApiError> {
    let now = state.clock.now_naive();
    let table = db::run(&state.pool, move |c| routing::replace(c, &caller, &id, body.into_inner(), now)).await?;
    Ok(Json(table))
}
