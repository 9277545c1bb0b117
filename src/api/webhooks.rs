//! An organisation's webhook endpoints, their delivery log, test messages and redelivery; kept by
//! its quality advisor or an admin.

use actix_web::web::{Data, Json, Path, Query};
use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};

use super::body::Body;
use crate::auth::Caller;
use crate::db;
use crate::error::ApiError;
use crate::ids::{OrganisationId, WebhookId};
use crate::integration::webhooks::address::Allow;
use crate::integration::webhooks::secrets::Sealer;
use crate::integration::webhooks::{self, Delivery, NewWebhook, Webhook, WebhookChange};
use crate::policy;
use crate::state::AppState;

#[derive(Serialize)]
pub struct WebhookList {
    pub items: Vec<Webhook>,
}

#[derive(Serialize)]
pub struct DeliveryList {
    pub items: Vec<Delivery>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    pub limit: Option<i64>,
}

fn allow(state: &AppState) -> Allow {
    Allow { loopback: state.config.webhook_allow_loopback }
}

pub async fn list(
    state: Data<AppState>,
    caller: Caller,
    id: Path<OrganisationId>,
) -> Result<Json<WebhookList>, ApiError> {
    policy::require_integration(&caller, &id)?;
    let items = db::run(&state.pool, move |c| webhooks::list(c, &id)).await?;
    Ok(Json(WebhookList { items }))
}

pub async fn create(
    state: Data<AppState>,
    caller: Caller,
    id: Path<OrganisationId>,
    body: Body<NewWebhook>,
) -> Result<HttpResponse, ApiError> {
    policy::require_integration(&caller, &id)?;
    let (sealer, allow) = (Sealer::new(&state.config.jwt_secret), allow(&state));
    let made = db::run(&state.pool, move |c| webhooks::create(c, &sealer, allow, &id, body.into_inner())).await?;
    Ok(HttpResponse::Created().json(made))
}

pub async fn get(
    state: Data<AppState>,
    caller: Caller,
    path: Path<(OrganisationId, WebhookId)>,
) -> Result<Json<Webhook>, ApiError> {
    let (organisation_id, id) = path.into_inner();
    policy::require_integration(&caller, &organisation_id)?;
    Ok(Json(db::run(&state.pool, move |c| webhooks::get(c, &organisation_id, &id)).await?))
}

pub async fn update(
    state: Data<AppState>,
    caller: Caller,
    path: Path<(OrganisationId, WebhookId)>,
    body: Body<WebhookChange>,
) -> Result<Json<Webhook>, ApiError> {
    let (organisation_id, id) = path.into_inner();
    policy::require_integration(&caller, &organisation_id)?;
    let allow = allow(&state);
    let changed =
        db::run(&state.pool, move |c| webhooks::update(c, allow, &organisation_id, &id, body.into_inner())).await?;
    Ok(Json(changed))
}

pub async fn delete(
    state: Data<AppState>,
    caller: Caller,
    path: Path<(OrganisationId, WebhookId)>,
) -> Result<HttpResponse, ApiError> {
    let (organisation_id, id) = path.into_inner();
    policy::require_integration(&caller, &organisation_id)?;
    db::run(&state.pool, move |c| webhooks::delete(c, &organisation_id, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn rotate_secret(
    state: Data<AppState>,
    caller: Caller,
    path: Path<(OrganisationId, WebhookId)>,
) -> Result<Json<Webhook>, ApiError> {
    let (organisation_id, id) = path.into_inner();
    policy::require_integration(&caller, &organisation_id)?;
    let (sealer, now) = (Sealer::new(&state.config.jwt_secret), state.clock.now_naive());
    Ok(Json(db::run(&state.pool, move |c| webhooks::rotate(c, &sealer, &organisation_id, &id, now)).await?))
}

pub async fn send_test(
    state: Data<AppState>,
    caller: Caller,
    path: Path<(OrganisationId, WebhookId)>,
) -> Result<HttpResponse, ApiError> {
    let (organisation_id, id) = path.into_inner();
    policy::require_integration(&caller, &organisation_id)?;
    let queued = db::run(&state.pool, move |c| webhooks::send_test(c, &organisation_id, &id)).await?;
    Ok(HttpResponse::Accepted().json(queued))
}

pub async fn deliveries(
    state: Data<AppState>,
    caller: Caller,
    path: Path<(OrganisationId, WebhookId)>,
    query: Query<DeliveryQuery>,
) -> Result<Json<DeliveryList>, ApiError> {
    let (organisation_id, id) = path.into_inner();
    policy::require_integration(&caller, &organisation_id)?;
    let limit = match query.limit {
        None => 50,
        Some(n @ 1..=500) => n,
        Some(_) => return Err(ApiError::field("limit", "invalid_value", "limit må være mellom 1 og 500.")),
    };
    let items = db::run(&state.pool, move |c| webhooks::deliveries(c, &organisation_id, &id, limit)).await?;
    Ok(Json(DeliveryList { items }))
}

pub async fn redeliver(
    state: Data<AppState>,
    caller: Caller,
    path: Path<(OrganisationId, WebhookId, String)>,
) -> Result<HttpResponse, ApiError> {
    let (organisation_id, id, delivery_id) = path.into_inner();
    policy::require_integration(&caller, &organisation_id)?;
    let queued = db::run(&state.pool, move |c| webhooks::redeliver(c, &organisation_id, &id, &delivery_id)).await?;
    Ok(HttpResponse::Accepted().json(queued))
}
