//! Periodic work that lives in the database, so it survives restarts and may run in several
//! instances at once: each step is a conditional update that only one of them can win.

use chrono::Duration;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::{self, deviations, idempotency, write_tx, DbConnection, Pool};
use crate::deviations::timeline::{record, Entry};
use crate::domain::{Code, EventKind, Status};
use crate::error::ApiError;

/// Idempotency keys are kept at least this long (the contract promises 24 hours).
pub const IDEMPOTENCY_KEEP_HOURS: i64 = 48;

/// Closes deviations answered more than `auto_close_days` ago without reaction from the reporter.
/// Returns how many this call closed.
pub fn auto_close_due(conn: &mut DbConnection, config: &Config, clock: &Clock) -> Result<usize, ApiError> {
    let now = clock.now_naive();
    let ids = deviations::answered_before(conn, now - Duration::days(config.auto_close_days), 500)?;
    let mut closed = 0;
    for id in ids {
        let did = write_tx(conn, |c| {
            let changes = deviations::DeviationChanges {
                status: Some(Status::Closed.code().to_owned()),
                closed_at: Some(Some(now)),
                updated_at: Some(now),
                ..Default::default()
            };
            if !deviations::update_if_status(c, &id, Status::Answered.code(), &changes)? {
                return Ok(false); // someone else closed or reopened it meanwhile
            }
            let entry = Entry::new(EventKind::AutoClosed, None).transition(Status::Answered, Status::Closed).text(
                Some(format!("Lukket automatisk etter {} dager uten reaksjon fra melder.", config.auto_close_days)),
            );
            record(c, config, &id, now, entry)?;
            Ok(true)
        })?;
        closed += usize::from(did);
    }
    Ok(closed)
}

pub fn purge_idempotency_keys(conn: &mut DbConnection, clock: &Clock) -> Result<usize, ApiError> {
    Ok(idempotency::purge(conn, clock.now_naive() - Duration::hours(IDEMPOTENCY_KEEP_HOURS))?)
}

/// What one pass of an outbox worker (mail or webhooks) did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rounds {
    pub sent: usize,
    pub failed: usize,
}

/// Runs `batch` (one claim of at most `size` rows) until a claim comes back short: everything due
/// now, and no more.
pub async fn drain<F, Fut>(size: i64, mut batch: F) -> Result<Rounds, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Rounds, ApiError>>,
{
    let mut total = Rounds::default();
    loop {
        let round = batch().await?;
        total.sent += round.sent;
        total.failed += round.failed;
        if ((round.sent + round.failed) as i64) < size {
            return Ok(total);
        }
    }
}

/// Calls `pass` every `interval` until the process ends, logging what it did as `what`.
pub async fn every<F, Fut>(interval: std::time::Duration, what: &'static str, mut pass: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Rounds, ApiError>>,
{
    let mut tick = tokio::time::interval(interval);
    loop {
        tick.tick().await;
        match pass().await {
            Ok(Rounds { sent: 0, failed: 0 }) => {}
            Ok(r) => tracing::info!(sent = r.sent, failed = r.failed, "{what} delivered"),
            Err(e) => tracing::warn!(error = ?e, "{what} round failed; will retry"),
        }
    }
}

/// Runs the jobs every `job_interval_seconds` until the process ends.
pub async fn run_forever(pool: Pool, config: std::sync::Arc<Config>, clock: Clock) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(config.job_interval_seconds));
    loop {
        tick.tick().await;
        let (config, clock) = (config.clone(), clock.clone());
        let result = db::run(&pool, move |c| {
            let closed = auto_close_due(c, &config, &clock)?;
            let now = clock.now_naive();
            let purged = purge_idempotency_keys(c, &clock)?
                + crate::patients::erase_due(c, &config, now)?
                + crate::patients::purge_access_log(c, &config, now)?
                + db::identities::forget_proofs(c, now)?;
            let reminded = crate::mail::reminders::enqueue_due(c, &config, &clock)?
                + crate::mail::reminders::enqueue_tertial_report(c, &config, &clock)?;
            Ok((closed, purged, reminded))
        })
        .await;
        match result {
            Ok((0, 0, 0)) => {}
            Ok((closed, purged, reminded)) => tracing::info!(closed, purged, reminded, "jobs ran"),
            Err(e) => tracing::warn!(error = ?e, "jobs failed; will retry"),
        }
    }
}
