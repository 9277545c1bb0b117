//! `GET /api/v1/feed`: the caller's organisation's events, for its quality system.

use actix_web::web::{Data, Json, Query};

use crate::auth::Caller;
use crate::db;
use crate::error::ApiError;
use crate::integration::feed::{self, FeedPage, FeedQuery};
use crate::policy;
use crate::state::AppState;

pub async fn read(state: Data<AppState>, caller: Caller, query: Query<FeedQuery>) -> Result<Json<FeedPage>, ApiError> {
    let organisation_id = policy::feed_of(&caller)?.clone();
    let page = db::run(&state.pool, move |c| feed::read(c, &organisation_id, &query)).await?;
    Ok(Json(page))
}
