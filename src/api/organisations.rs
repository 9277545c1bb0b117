use actix_web::web::{Data, Json, Path, Query};
use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};

use super::body::Body;
use crate::auth::Caller;
use crate::db;
use crate::directory::organisations::{self as orgs, NewOrganisation, Organisation, OrganisationPatch};
use crate::error::ApiError;
use crate::ids::OrganisationId;
use crate::policy;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub kind: Option<String>,
    pub include_inactive: Option<bool>,
}

#[derive(Serialize, Deserialize)]
pub struct OrganisationList {
    pub items: Vec<Organisation>,
}

/// Any logged-in user: the form's recipient list. Inactive ones only for admins.
pub async fn list(
    state: Data<AppState>,
    caller: Caller,
    query: Query<ListQuery>,
) -> Result<Json<OrganisationList>, ApiError> {
    let include_inactive = query.include_inactive.unwrap_or(false) && policy::may_see_inactive(&caller);
    let kind = query.into_inner().kind;
    let community = policy::organisations_visible(&caller, state.config.allow_cross_community_cases);
    let items =
        db::run(&state.pool, move |c| orgs::list(c, kind.as_deref(), include_inactive, community.as_ref())).await?;
    Ok(Json(OrganisationList { items }))
}

pub async fn create(
    state: Data<AppState>,
    caller: Caller,
    body: Body<NewOrganisation>,
) -> Result<HttpResponse, ApiError> {
    policy::require_admin(&caller)?;
    let own = caller.health_community_id.clone();
    let org = db::run(&state.pool, move |c| orgs::create(c, body.into_inner(), own.as_ref())).await?;
    Ok(HttpResponse::Created().json(org))
}

pub async fn update(
    state: Data<AppState>,
    caller: Caller,
    id: Path<OrganisationId>,
    body: Body<OrganisationPatch>,
) -> Result<Json<Organisation>, ApiError> {
    policy::require_admin(&caller)?;
    let org = db::run(&state.pool, move |c| orgs::update(c, &id, body.into_inner())).await?;
    Ok(Json(org))
}
