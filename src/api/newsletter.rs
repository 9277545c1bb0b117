//! The newsletter over HTTP: one's own subscription, and an issue sent on demand by the
//! improvement group (`learning::newsletter`).

use actix_web::web::{Data, Json};
use actix_web::HttpResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::body::Body;
use crate::auth::Caller;
use crate::db;
use crate::deviations::view::{utc, Ref};
use crate::error::ApiError;
use crate::learning::newsletter::{self, SendNow};
use crate::state::AppState;

#[derive(Serialize)]
pub struct Subscription {
    subscribed: bool,
    since: Option<DateTime<Utc>>,
}

impl From<Option<chrono::NaiveDateTime>> for Subscription {
    fn from(since: Option<chrono::NaiveDateTime>) -> Self {
        Subscription { subscribed: since.is_some(), since: since.map(utc) }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionChange {
    subscribed: bool,
}

pub async fn get(state: Data<AppState>, caller: Caller) -> Result<Json<Subscription>, ApiError> {
    let since = db::run(&state.pool, move |c| newsletter::subscription(c, &caller)).await?;
    Ok(Json(since.into()))
}

pub async fn put(
    state: Data<AppState>,
    caller: Caller,
    body: Body<SubscriptionChange>,
) -> Result<Json<Subscription>, ApiError> {
    let now = state.clock.now_naive();
    let on = body.subscribed;
    let since = db::run(&state.pool, move |c| newsletter::subscribe(c, now, &caller, on)).await?;
    Ok(Json(since.into()))
}

#[derive(Serialize)]
pub struct Sent {
    tertial: String,
    health_community: Ref,
    /// How many subscribers it was queued for.
    queued: usize,
}

pub async fn send(state: Data<AppState>, caller: Caller, body: Body<SendNow>) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now_naive();
    let config = state.config.clone();
    let (tertial, community, queued) =
        db::run(&state.pool, move |c| newsletter::send_now(c, &config, now, &caller, &body)).await?;
    let health_community = Ref { id: community.id.to_string(), name: community.name };
    Ok(HttpResponse::Accepted().json(Sent { tertial: tertial.to_string(), health_community, queued }))
}
