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

/// The periodic jobs. Each runs once per due time across all instances: the due times are the
/// multiples of `job_interval_seconds`, and an instance runs a job only if it is the one that
/// records the run (`db::jobs::claim`). One that dies mid-run leaves that due time unfinished;
/// the next due time, at most one interval later, does its work, since each job catches up on
/// everything due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    AutoClose,
    Reminders,
    TertialReport,
    Cleanup,
}

/// Runs are kept this long, for operators and the multi-instance test.
const KEEP_RUNS_DAYS: i64 = 7;

impl Job {
    pub const ALL: [Job; 4] = [Job::AutoClose, Job::Reminders, Job::TertialReport, Job::Cleanup];

    pub fn name(self) -> &'static str {
        match self {
            Job::AutoClose => "auto_close",
            Job::Reminders => "reminders",
            Job::TertialReport => "tertial_report",
            Job::Cleanup => "cleanup",
        }
    }

    /// Does the job's work once; returns how many things it did.
    pub fn run(self, c: &mut DbConnection, config: &Config, clock: &Clock) -> Result<usize, ApiError> {
        let now = clock.now_naive();
        match self {
            Job::AutoClose => auto_close_due(c, config, clock),
            Job::Reminders => Ok(crate::mail::reminders::enqueue_due(c, config, clock)?
                + crate::actions::reminders::enqueue_due(c, config, clock)?),
            Job::TertialReport => Ok(crate::mail::reminders::enqueue_tertial_report(c, config, clock)?
                + crate::learning::newsletter::enqueue_tertial(c, config, now)?),
            Job::Cleanup => Ok(purge_idempotency_keys(c, clock)?
                + crate::patients::erase_due(c, config, now)?
                + crate::patients::purge_access_log(c, config, now)?
                + crate::patients::check_access_log(c, config)?
                + db::identities::forget_proofs(c, now)?
                + db::jobs::purge(c, now - Duration::days(KEEP_RUNS_DAYS))?),
        }
    }
}

/// The due time `now` falls in: the start of its interval, counted from the Unix epoch.
pub fn due_time(now: chrono::NaiveDateTime, interval_seconds: u64) -> chrono::NaiveDateTime {
    let interval = interval_seconds.max(1) as i64;
    let t = now.and_utc().timestamp();
    chrono::DateTime::from_timestamp(t - t.rem_euclid(interval), 0).map_or(now, |d| d.naive_utc())
}

/// This process, as job runs name it: host and process id.
pub fn instance() -> &'static str {
    static INSTANCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    INSTANCE.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        format!("{}-{}", host.trim(), std::process::id())
    })
}

/// Runs every job whose current due time no instance has claimed yet. Returns what each run did.
/// A job that fails stays unfinished in `job_runs` and does not stop the others.
pub fn run_due(conn: &mut DbConnection, config: &Config, clock: &Clock) -> Vec<(Job, Result<usize, ApiError>)> {
    let due = due_time(clock.now_naive(), config.job_interval_seconds);
    let mut ran = Vec::new();
    for job in Job::ALL {
        match db::jobs::claim(conn, job.name(), due, instance(), clock.now_naive()) {
            Ok(false) => continue,
            Ok(true) => {}
            Err(e) => {
                ran.push((job, Err(e.into())));
                continue;
            }
        }
        let started = std::time::Instant::now();
        let result = job.run(conn, config, clock);
        crate::monitoring::job_ran(job.name(), started.elapsed(), result.is_ok());
        let result = result.and_then(|items| {
            db::jobs::finish(conn, job.name(), due, clock.now_naive(), items)?;
            Ok(items)
        });
        ran.push((job, result));
    }
    ran
}

/// Runs the due jobs every few seconds until the process ends: often enough that a due time
/// starts close to its time, whichever instance claims it.
pub async fn run_forever(pool: Pool, config: std::sync::Arc<Config>, clock: Clock) {
    let poll = config.job_interval_seconds.clamp(1, 5);
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(poll));
    loop {
        tick.tick().await;
        let (config, clock) = (config.clone(), clock.clone());
        match db::run(&pool, move |c| Ok(run_due(c, &config, &clock))).await {
            Ok(ran) => {
                for (job, result) in ran {
                    match result {
                        Ok(0) => {}
                        Ok(items) => tracing::info!(job = job.name(), items, "job ran"),
                        Err(e) => {
                            tracing::warn!(job = job.name(), error = ?e, "job failed; the next due time will catch up")
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = ?e, "jobs could not reach the database; will retry"),
        }
    }
}
