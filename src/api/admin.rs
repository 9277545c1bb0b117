use actix_web::web::{Data, Json};
use serde::{Deserialize, Serialize};

use super::body::Body;
use crate::auth::Caller;
use crate::db::{self, outbox};
use crate::deviations::view::utc;
use crate::error::ApiError;
use crate::ids::DeviationId;
use crate::policy;
use crate::state::AppState;

#[derive(Serialize, Deserialize)]
pub struct OutboxStatus {
    pub pending: i64,
    pub sent: i64,
    pub failed: i64,
    /// The most recent failed messages, with the last delivery error.
    pub failed_items: Vec<FailedMail>,
}

#[derive(Serialize, Deserialize)]
pub struct FailedMail {
    pub id: String,
    pub template: String,
    pub recipient: String,
    pub deviation_id: Option<DeviationId>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryRequest {
    /// The failed messages to retry; all failed ones when absent.
    #[serde(default)]
    pub ids: Option<Vec<String>>,
}

#[derive(Serialize, Deserialize)]
pub struct RetryResult {
    pub requeued: usize,
}

pub async fn outbox_status(state: Data<AppState>, caller: Caller) -> Result<Json<OutboxStatus>, ApiError> {
    policy::require_admin(&caller)?;
    let status = db::run(&state.pool, |c| {
        let counts = outbox::status_counts(c)?;
        let count = |s: &str| counts.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
        let failed_items = outbox::failed(c, 100)?
            .into_iter()
            .map(|r| FailedMail {
                id: r.id,
                template: r.template,
                recipient: r.recipient,
                deviation_id: r.deviation_id,
                attempts: r.attempts,
                last_error: r.last_error,
                created_at: utc(r.created_at),
            })
            .collect();
        Ok(OutboxStatus {
            pending: count(outbox::PENDING),
            sent: count(outbox::SENT),
            failed: count(outbox::FAILED),
            failed_items,
        })
    })
    .await?;
    Ok(Json(status))
}

pub async fn retry(
    state: Data<AppState>,
    caller: Caller,
    body: Body<RetryRequest>,
) -> Result<Json<RetryResult>, ApiError> {
    policy::require_admin(&caller)?;
    let now = state.clock.now_naive();
    let ids = body.into_inner().ids;
    let requeued = db::run(&state.pool, move |c| Ok(outbox::retry_failed(c, ids.as_deref(), now)?)).await?;
    Ok(Json(RetryResult { requeued }))
}
