//! The helsefellesskap of the region: the scopes statistics and reports take.

use actix_web::web::{Data, Json};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::db;
use crate::error::ApiError;
use crate::ids::HealthCommunityId;
use crate::state::AppState;

#[derive(Serialize, Deserialize)]
pub struct HealthCommunity {
    pub id: HealthCommunityId,
    pub name: String,
}

#[derive(Serialize, Deserialize)]
pub struct HealthCommunityList {
    pub items: Vec<HealthCommunity>,
}

/// Any logged-in user: names are no secret, and a statistics client needs the ids.
pub async fn list(state: Data<AppState>, _caller: Caller) -> Result<Json<HealthCommunityList>, ApiError> {
    let rows = db::run(&state.pool, |c| Ok(db::health_communities::list(c)?)).await?;
    Ok(Json(HealthCommunityList {
        items: rows.into_iter().map(|r| HealthCommunity { id: r.id, name: r.name }).collect(),
    }))
}
