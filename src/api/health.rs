use actix_web::web::{Data, Json};
use diesel::connection::SimpleConnection;
use serde::Serialize;

use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize)]
pub struct Health {
    pub status: &'static str,
}

/// The process is up.
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The database answers.
pub async fn ready(state: Data<AppState>) -> Result<Json<Health>, ApiError> {
    db::run(&state.pool, |conn| conn.batch_execute("SELECT 1").map_err(ApiError::unavailable)).await?;
    Ok(Json(Health { status: "ready" }))
}
