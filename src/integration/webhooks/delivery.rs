//! Delivers webhook messages from the outbox (channel `webhook`): claim due rows under a lease as
//! the mail worker does, POST each signed, record the attempt, and mark it sent or schedule the next
//! try. At least once: a claimant that dies mid-delivery leaves the row to the next worker when
//! the lease ends, and the message goes again with the same `webhook-id`, which is the receiver's
//! key for ignoring a repeat.

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, NaiveDateTime, Utc};
use reqwest::header::{HeaderMap, CONTENT_TYPE, RETRY_AFTER};
use serde_json::json;
use standardwebhooks::Webhook;

use super::address::{self, Allow, Resolver};
use super::secrets::Sealer;
use super::TEST_EVENT;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::outbox::{self, OutboxRow};
use crate::db::webhooks::{self as rows, AttemptRow, EndpointRow};
use crate::db::{self, feed, write_tx, Pool};
use crate::deviations::view::utc;
use crate::error::ApiError;

const BATCH: i64 = 50;
/// The wait after each failed attempt (before jitter): the last retry comes about three days after
/// the first try, so a receiver down over a long weekend loses nothing.
const SCHEDULE_SECONDS: [i64; 9] = [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 72_000];
/// A `Retry-After` further away than this is taken as this.
const MAX_RETRY_AFTER_SECONDS: i64 = 86_400;

pub const MAX_ATTEMPTS: i32 = SCHEDULE_SECONDS.len() as i32 + 1;

/// The wait after failed attempt number `attempts` (1-based), with ±20 % jitter so receivers that
/// come back are not hit by every sender at the same second; `None` after the last one.
pub fn backoff(attempts: i32, jitter: f64) -> Option<Duration> {
    let base = *SCHEDULE_SECONDS.get(usize::try_from(attempts - 1).ok()?)?;
    let factor = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    Some(Duration::milliseconds((base as f64 * 1000.0 * factor) as i64))
}

/// `Retry-After` as seconds or an HTTP date, from `now`.
pub fn retry_after(headers: &HeaderMap, now: chrono::DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<i64>() {
        // Clamped before it becomes a duration: the receiver's number may be anything.
        Ok(seconds) => Duration::seconds(seconds.clamp(0, MAX_RETRY_AFTER_SECONDS)),
        Err(_) => chrono::DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc) - now,
    };
    Some(wait.clamp(Duration::zero(), Duration::seconds(MAX_RETRY_AFTER_SECONDS)))
}

fn jitter() -> f64 {
    (uuid::Uuid::new_v4().as_u128() as u64 >> 11) as f64 / (1u64 << 53) as f64
}

pub use crate::jobs::Rounds;

/// What one attempt came to.
enum Outcome {
    Delivered,
    /// 410 Gone: the receiver says the endpoint is no more.
    Gone,
    Failed {
        status: Option<i32>,
        error: String,
        retry_after: Option<Duration>,
    },
    /// Nothing to send to: the endpoint is gone or switched off, or the message cannot be made.
    Dropped(String),
}

struct Inner {
    id: String,
    pool: Pool,
    clock: Clock,
    http: reqwest::Client,
    allow: Allow,
    config: Arc<Config>,
}

#[derive(Clone)]
pub struct Deliverer(Arc<Inner>);

impl Deliverer {
    pub fn new(pool: Pool, config: Arc<Config>, clock: Clock) -> anyhow::Result<Self> {
        let allow = Allow { loopback: config.webhook_allow_loopback };
        let http = reqwest::Client::builder()
            // A redirect would send the signed message somewhere its admin never registered.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(std::time::Duration::from_secs(config.webhook_timeout_seconds))
            .connect_timeout(std::time::Duration::from_secs(config.webhook_timeout_seconds.min(10)))
            .dns_resolver(Resolver { allow })
            .user_agent(concat!("samavvik-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Deliverer(Arc::new(Inner {
            id: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            pool,
            clock,
            http,
            allow,
            config,
        })))
    }

    /// Everything due now, in batches (each delivered concurrently), until nothing is due.
    pub async fn deliver_due(&self) -> Result<Rounds, ApiError> {
        crate::jobs::drain(BATCH, || self.deliver_batch()).await
    }

    async fn deliver_batch(&self) -> Result<Rounds, ApiError> {
        let (now, worker) = (self.0.clock.now_naive(), self.0.id.clone());
        // Longer than the slowest attempt (the timeout), so a live claimant keeps its rows; short,
        // so the rows of one that died go out again soon.
        let lease = now + Duration::seconds(2 * self.0.config.webhook_timeout_seconds as i64 + 5);
        let rows = db::run(&self.0.pool, move |c| {
            write_tx(c, |c| Ok(outbox::claim(c, outbox::WEBHOOK, &worker, now, lease, BATCH)?))
        })
        .await?;
        let tasks: Vec<_> = rows
            .into_iter()
            .map(|row| {
                let me = self.clone();
                actix_web::rt::spawn(async move { me.deliver_one(row).await })
            })
            .collect();
        let mut rounds = Rounds::default();
        for task in tasks {
            match task.await.map_err(ApiError::internal)?? {
                true => rounds.sent += 1,
                false => rounds.failed += 1,
            }
        }
        Ok(rounds)
    }

    /// One attempt at one message; whether it arrived.
    async fn deliver_one(&self, row: OutboxRow) -> Result<bool, ApiError> {
        let message = row.clone();
        let (config, now) = (self.0.config.clone(), self.0.clock.now_naive());
        let prepared = db::run(&self.0.pool, move |c| prepare(c, &message, &config, now)).await?;
        let started = Instant::now();
        let outcome = match prepared {
            Err(reason) => Outcome::Dropped(reason),
            Ok(m) => self.post(&m.endpoint, &row.id, &m.body, &m.secrets).await,
        };
        let latency = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        self.settle(row, outcome, latency).await
    }

    async fn post(&self, endpoint: &EndpointRow, id: &str, body: &str, secrets: &[String]) -> Outcome {
        // Again at each attempt: the rules may have changed since the endpoint was registered.
        if let Err(reason) = address::check_url(&endpoint.url, self.0.allow) {
            return Outcome::Failed { status: None, error: reason.to_owned(), retry_after: None };
        }
        // The time of this attempt, from the wall clock: the receiver checks it against its own.
        let timestamp = Utc::now().timestamp();
        let mut signatures = Vec::new();
        for secret in secrets {
            match Webhook::new(secret).and_then(|w| w.sign(id, timestamp, body.as_bytes())) {
                Ok(signature) => signatures.push(signature),
                Err(e) => return Outcome::Dropped(format!("kunne ikke signere: {e}")),
            }
        }
        let request = self
            .0
            .http
            .post(&endpoint.url)
            .header(CONTENT_TYPE, "application/json")
            .header(standardwebhooks::HEADER_WEBHOOK_ID, id)
            .header(standardwebhooks::HEADER_WEBHOOK_TIMESTAMP, timestamp.to_string())
            .header(standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signatures.join(" "))
            .body(body.to_owned());
        match request.send().await {
            Ok(r) if r.status().is_success() => Outcome::Delivered,
            Ok(r) if r.status() == reqwest::StatusCode::GONE => Outcome::Gone,
            Ok(r) if r.status().is_redirection() => Outcome::Failed {
                status: Some(i32::from(r.status().as_u16())),
                error: format!("{}: videresendinger følges ikke; registrer den endelige adressen", r.status()),
                retry_after: None,
            },
            Ok(r) => Outcome::Failed {
                status: Some(i32::from(r.status().as_u16())),
                error: format!("mottakeren svarte {}", r.status()),
                retry_after: retry_after(r.headers(), Utc::now()),
            },
            Err(e) => Outcome::Failed { status: None, error: describe(&e), retry_after: None },
        }
    }

    /// Records the attempt and its consequence in one transaction.
    async fn settle(&self, row: OutboxRow, outcome: Outcome, latency_ms: i32) -> Result<bool, ApiError> {
        let (worker, now, config) = (self.0.id.clone(), self.0.clock.now_naive(), self.0.config.clone());
        let attempt = row.attempts + 1;
        let id = row.id.clone();
        let delivered = matches!(outcome, Outcome::Delivered);
        let next = |retry_after: Option<Duration>| {
            backoff(attempt, jitter()).map(|wait| now + retry_after.map_or(wait, |r| r.max(wait)))
        };
        let (status_code, error, next_at, disable) = match &outcome {
            Outcome::Delivered => (Some(200), None, None, None),
            Outcome::Gone => (Some(410), Some("mottakeren svarte 410 Gone".to_owned()), None, Some(GONE)),
            Outcome::Failed { status, error, retry_after } => {
                let next_at = next(*retry_after);
                (*status, Some(error.clone()), next_at, next_at.is_none().then_some(EXHAUSTED))
            }
            Outcome::Dropped(reason) => (None, Some(reason.clone()), None, None),
        };
        db::run(&self.0.pool, move |c| {
            write_tx(c, |c| {
                let endpoint = row.endpoint_id.clone().unwrap_or_default();
                if !matches!(outcome, Outcome::Dropped(_)) {
                    rows::record_attempt(
                        c,
                        &AttemptRow {
                            endpoint_id: endpoint.clone(),
                            message_id: row.id.clone(),
                            attempt,
                            attempted_at: now,
                            status_code,
                            latency_ms,
                            error: error.clone(),
                        },
                    )?;
                }
                if delivered {
                    outbox::mark_sent(c, &row.id, &worker, now)?;
                    rows::mark_success(c, &endpoint, now)?;
                    return Ok(());
                }
                let error = error.unwrap_or_default();
                outbox::mark_failed(c, &row.id, &worker, &error, next_at.unwrap_or(now), next_at.is_none())?;
                if let Some(reason) = disable {
                    disable_after(c, &config, &endpoint, &row, reason, now)?;
                }
                Ok(())
            })
        })
        .await?;
        if !delivered {
            tracing::warn!(webhook_delivery = %id, attempt, given_up = next_at.is_none(), "webhook not delivered");
        }
        Ok(delivered)
    }

    /// Delivers every `interval` until the process ends.
    pub async fn run_forever(self, interval: std::time::Duration) {
        crate::jobs::every(interval, "webhooks", || self.deliver_due()).await
    }
}

const GONE: &str = "Mottakeren svarte 410 Gone: endepunktet finnes ikke lenger.";
const EXHAUSTED: &str = "Mottakeren har ikke tatt imot noe på tre døgn.";

/// What one attempt sends: to the endpoint, the body, signed with each secret.
struct Message {
    endpoint: EndpointRow,
    body: String,
    secrets: Vec<String>,
}

/// The message to send; or why there is nothing to send.
fn prepare(
    conn: &mut db::DbConnection,
    row: &OutboxRow,
    config: &Config,
    now: NaiveDateTime,
) -> Result<Result<Message, String>, ApiError> {
    let Some(endpoint) = row.endpoint_id.as_ref().map(|id| rows::find(conn, id)).transpose()?.flatten() else {
        return Ok(Err("webhooken er slettet".into()));
    };
    if !endpoint.enabled && row.template != TEST_EVENT {
        return Ok(Err("webhooken er slått av".into()));
    }
    let body = if row.template == TEST_EVENT {
        json!({
            "type": TEST_EVENT,
            "timestamp": utc(row.created_at),
            "data": { "organisation_id": endpoint.organisation_id, "webhook_id": endpoint.id },
        })
    } else {
        let Some(entry) = feed::entry_of(conn, &endpoint.organisation_id, &row.data)? else {
            return Ok(Err("hendelsen finnes ikke".into()));
        };
        json!({
            "type": entry.kind,
            "timestamp": utc(entry.occurred_at),
            "data": {
                "id": entry.event_id,
                "organisation_id": endpoint.organisation_id,
                "deviation_id": entry.deviation_id,
                "reference": entry.reference,
                "occurred_at": utc(entry.occurred_at),
                "status": entry.status,
            },
        })
    };
    let sealer = Sealer::new(&config.jwt_secret);
    let mut secrets = vec![match sealer.open(&endpoint.id, &endpoint.secret) {
        Ok(s) => s,
        Err(reason) => return Ok(Err(reason.to_owned())),
    }];
    if let (Some(previous), Some(until)) = (&endpoint.previous_secret, endpoint.previous_secret_until) {
        if until > now {
            secrets.extend(sealer.open(&endpoint.id, previous).ok());
        }
    }
    Ok(Ok(Message { endpoint, body: body.to_string(), secrets }))
}

/// Switches the endpoint off and tells its organisation's quality advisors and admins, once.
fn disable_after(
    conn: &mut db::DbConnection,
    config: &Config,
    endpoint: &crate::ids::WebhookId,
    row: &OutboxRow,
    reason: &str,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let Some(current) = rows::find(conn, endpoint)? else { return Ok(()) };
    // A message failing for three days while others got through says little about the endpoint.
    if reason == EXHAUSTED && current.last_success_at.is_some_and(|s| s > row.created_at) {
        return Ok(());
    }
    if rows::disable(conn, endpoint, reason, now)? {
        crate::mail::outbox::webhook_disabled(conn, config, &current, reason, now)?;
    }
    Ok(())
}

/// A transport error in words, without the URL (which the log and the admin already know).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "mottakeren svarte ikke innen tidsfristen".into()
    } else if e.is_connect() {
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
        while let Some(s) = source {
            if s.to_string().contains("offentlig adresse") {
                return s.to_string();
            }
            source = s.source();
        }
        "kunne ikke koble til mottakeren".into()
    } else {
        "forbindelsen ble brutt før svaret kom".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_spans_about_three_days_with_bounded_jitter() {
        let total: i64 = (1..MAX_ATTEMPTS).map(|a| backoff(a, 0.5).unwrap().num_seconds()).sum();
        assert!((2 * 86_400..4 * 86_400).contains(&total), "total {total} s");
        assert_eq!(backoff(1, 0.0).unwrap().num_milliseconds(), 4_000);
        assert_eq!(backoff(1, 1.0).unwrap().num_milliseconds(), 6_000);
        assert!(backoff(MAX_ATTEMPTS, 0.5).is_none());
        assert!(backoff(0, 0.5).is_none());
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date_and_is_capped() {
        let now = Utc::now();
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "120".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::seconds(120)));
        h.insert(RETRY_AFTER, "999999".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::seconds(MAX_RETRY_AFTER_SECONDS)));
        let later = (now + Duration::seconds(600)).to_rfc2822();
        h.insert(RETRY_AFTER, later.parse().unwrap());
        let wait = retry_after(&h, now).unwrap().num_seconds();
        assert!((599..=600).contains(&wait), "{wait}");
        h.insert(RETRY_AFTER, "9223372036854775807".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::seconds(MAX_RETRY_AFTER_SECONDS)));
        h.insert(RETRY_AFTER, "-5".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::zero()));
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h, now), None);
    }
}
