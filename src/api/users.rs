use actix_web::web::{Data, Json, Path, Query};
use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};

use super::body::Body;
use crate::auth::Caller;
use crate::db;
use crate::directory::users::{self, Assignee, NewUser, User, UserPatch};
use crate::error::ApiError;
use crate::ids::OrganisationId;
use crate::ids::UserId;
use crate::policy;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub organisation_id: Option<OrganisationId>,
}

#[derive(Serialize, Deserialize)]
pub struct UserList {
    pub items: Vec<User>,
}

pub async fn list(state: Data<AppState>, caller: Caller, query: Query<ListQuery>) -> Result<Json<UserList>, ApiError> {
    policy::require_admin(&caller)?;
    let org = query.into_inner().organisation_id;
    let items = db::run(&state.pool, move |c| users::list(c, org.as_ref())).await?;
    Ok(Json(UserList { items }))
}

#[derive(Serialize, Deserialize)]
pub struct AssigneeList {
    pub items: Vec<Assignee>,
}

/// `GET /organisations/{id}/handlers`: whom a quality advisor can name as `handler_id`.
pub async fn assignable(
    state: Data<AppState>,
    caller: Caller,
    id: Path<OrganisationId>,
) -> Result<Json<AssigneeList>, ApiError> {
    policy::require_assigning(&caller, &id)?;
    let items = db::run(&state.pool, move |c| {
        db::organisations::find(c, &id)
            .map_err(|e| crate::directory::organisations::not_found_as("Organisasjonen finnes ikke.", e))?;
        users::assignable(c, &id)
    })
    .await?;
    Ok(Json(AssigneeList { items }))
}

pub async fn create(state: Data<AppState>, caller: Caller, body: Body<NewUser>) -> Result<HttpResponse, ApiError> {
    policy::require_admin(&caller)?;
    let user = db::run(&state.pool, move |c| users::create(c, body.into_inner())).await?;
    Ok(HttpResponse::Created().json(user))
}

pub async fn update(
    state: Data<AppState>,
    caller: Caller,
    id: Path<UserId>,
    body: Body<UserPatch>,
) -> Result<Json<User>, ApiError> {
    policy::require_admin(&caller)?;
    let id = id.into_inner();
    let changed = id.clone();
    let user = db::run(&state.pool, move |c| users::update(c, &changed, body.into_inner())).await?;
    state.callers.invalidate(&id);
    Ok(Json(user))
}
