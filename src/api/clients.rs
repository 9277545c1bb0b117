//! An organisation's machine clients (its quality system), kept by its quality advisor or an admin.

use actix_web::web::{Data, Json, Path};
use actix_web::HttpResponse;
use serde::Serialize;

use super::body::Body;
use crate::auth::Caller;
use crate::db;
use crate::directory::clients::{self, Client, NewClient};
use crate::error::ApiError;
use crate::ids::{ClientId, OrganisationId};
use crate::policy;
use crate::state::AppState;

#[derive(Serialize)]
pub struct ClientList {
    pub items: Vec<Client>,
}

pub async fn list(
    state: Data<AppState>,
    caller: Caller,
    id: Path<OrganisationId>,
) -> Result<Json<ClientList>, ApiError> {
    policy::require_integration(&caller, &id)?;
    let items = db::run(&state.pool, move |c| clients::list(c, &id)).await?;
    Ok(Json(ClientList { items }))
}

pub async fn create(
    state: Data<AppState>,
    caller: Caller,
    id: Path<OrganisationId>,
    body: Body<NewClient>,
) -> Result<HttpResponse, ApiError> {
    policy::require_integration(&caller, &id)?;
    let mode = state.config.auth_mode;
    let client = db::run(&state.pool, move |c| clients::create(c, &id, body.into_inner(), mode)).await?;
    Ok(HttpResponse::Created().json(client))
}

pub async fn revoke(
    state: Data<AppState>,
    caller: Caller,
    path: Path<(OrganisationId, ClientId)>,
) -> Result<HttpResponse, ApiError> {
    let (organisation_id, client_id) = path.into_inner();
    policy::require_integration(&caller, &organisation_id)?;
    let client = db::run(&state.pool, move |c| clients::revoke(c, &organisation_id, &client_id)).await?;
    // Here at once; other instances within their caches' time to live.
    state.callers.invalidate(&client.user_id);
    if let (Some(oidc), Some(helseid)) = (&state.oidc, client.helseid_client_id) {
        oidc.identities.invalidate(&(helseid, client.organisation_id));
    }
    Ok(HttpResponse::NoContent().finish())
}
