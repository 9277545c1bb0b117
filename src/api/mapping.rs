//! An organisation's category mapping to its quality system's own codes.

use actix_web::web::{Data, Json, Path};

use super::body::Body;
use crate::auth::Caller;
use crate::db;
use crate::error::ApiError;
use crate::ids::OrganisationId;
use crate::integration::mapping::{self, CategoryMapping};
use crate::policy;
use crate::state::AppState;

pub async fn get(
    state: Data<AppState>,
    caller: Caller,
    id: Path<OrganisationId>,
) -> Result<Json<CategoryMapping>, ApiError> {
    policy::require_category_mapping(&caller, &id)?;
    Ok(Json(db::run(&state.pool, move |c| mapping::get(c, &id)).await?))
}

pub async fn put(
    state: Data<AppState>,
    caller: Caller,
    id: Path<OrganisationId>,
    body: Body<CategoryMapping>,
) -> Result<Json<CategoryMapping>, ApiError> {
    policy::require_category_mapping(&caller, &id)?;
    let now = state.clock.now_naive();
    Ok(Json(db::run(&state.pool, move |c| mapping::replace(c, &id, body.into_inner(), now)).await?))
}
