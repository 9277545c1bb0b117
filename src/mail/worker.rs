//! Delivers due outbox rows: claim a batch under a lease, send each, mark it sent or schedule a
//! retry with exponential backoff. Several workers on one PostgreSQL take disjoint rows.

use chrono::Duration;
use lettre::message::Mailbox;

use super::transport::{Mailer, SendError};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::outbox;
use crate::db::{self, write_tx, Pool};
use crate::error::ApiError;
use crate::mail;

const BATCH: i64 = 50;
/// Round trips in one SMTP delivery (connect, EHLO, MAIL, RCPT, DATA, QUIT), each bounded by
/// the SMTP timeout: the longest one send can take.
const ROUND_TRIPS: i64 = 6;
const FIRST_RETRY_SECONDS: i64 = 30;
const MAX_RETRY_SECONDS: i64 = 3600;

/// Delay before attempt `attempts + 1`: 30 s, 60 s, 120 s, … capped at an hour.
pub fn backoff(attempts: i32) -> Duration {
    let factor = 1_i64 << attempts.clamp(0, 20);
    Duration::seconds((FIRST_RETRY_SECONDS * factor).min(MAX_RETRY_SECONDS))
}

pub use crate::jobs::Rounds as Delivery;

pub struct Worker {
    pub id: String,
    pub pool: Pool,
    pub mailer: Mailer,
    pub from: Mailbox,
    pub clock: Clock,
    pub max_attempts: i32,
    /// The longest one delivery can take (`ROUND_TRIPS` SMTP timeouts).
    pub send_bound: Duration,
}

impl Worker {
    pub fn new(pool: Pool, config: &Config, clock: Clock) -> anyhow::Result<Self> {
        Ok(Worker {
            id: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            pool,
            mailer: Mailer::from_config(config)?,
            from: config.mail_from.parse().map_err(|e| anyhow::anyhow!("SAMAVVIK_MAIL_FROM er ugyldig: {e}"))?,
            clock,
            max_attempts: config.mail_max_attempts,
            send_bound: Duration::seconds(ROUND_TRIPS * config.smtp_timeout_seconds as i64),
        })
    }

    /// One round: everything due now, in batches, until nothing is due.
    pub async fn deliver_due(&self) -> Result<Delivery, ApiError> {
        crate::jobs::drain(BATCH, || self.deliver_batch()).await
    }

    async fn deliver_batch(&self) -> Result<Delivery, ApiError> {
        let now = self.clock.now_naive();
        // A claimed row is another worker's again after the lease, should this one die: two sends
        // long. A row is sent only while a whole send still fits in the lease, so no live
        // worker's row is ever taken over; what does not fit is given back.
        let lease_until = now + self.send_bound * 2 + Duration::seconds(5);
        let worker = self.id.clone();
        let rows = db::run(&self.pool, move |c| {
            let claimed = write_tx(c, |c| Ok(outbox::claim(c, outbox::MAIL, &worker, now, lease_until, BATCH)?))?;
            Ok(claimed.into_iter().map(|row| mail::outbox::deliverable(c, row)).collect::<Vec<_>>())
        })
        .await?;
        let mut result = Delivery::default();
        let mut rows = rows.into_iter();
        while let Some((row, ready)) = rows.next() {
            if self.clock.now_naive() + self.send_bound >= lease_until {
                let (worker, rest) = (self.id.clone(), std::iter::once(row).chain(rows.map(|(r, _)| r)));
                let ids: Vec<String> = rest.map(|r| r.id).collect();
                db::run(&self.pool, move |c| Ok(outbox::release(c, &ids, &worker)?)).await?;
                break;
            }
            let outcome = match ready {
                Ok(()) => self.mailer.send(&self.from, &row).await,
                Err(message) => Err(SendError { message, permanent: true }),
            };
            let (worker, now, max) = (self.id.clone(), self.clock.now_naive(), self.max_attempts);
            match outcome {
                Ok(()) => {
                    db::run(&self.pool, move |c| Ok(outbox::mark_sent(c, &row.id, &worker, now)?)).await?;
                    result.sent += 1;
                }
                Err(SendError { message: error, permanent }) => {
                    let give_up = permanent || row.attempts + 1 >= max;
                    tracing::warn!(outbox_id = %row.id, attempts = row.attempts + 1, %error, give_up, "mail not delivered");
                    let next = now + backoff(row.attempts);
                    db::run(&self.pool, move |c| Ok(outbox::mark_failed(c, &row.id, &worker, &error, next, give_up)?))
                        .await?;
                    result.failed += 1;
                }
            }
        }
        Ok(result)
    }

    /// Delivers every `interval` until the process ends.
    pub async fn run_forever(self, interval: std::time::Duration) {
        crate::jobs::every(interval, "mail", || self.deliver_due()).await
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(0).num_seconds(), 30);
        assert_eq!(backoff(1).num_seconds(), 60);
        assert_eq!(backoff(3).num_seconds(), 240);
        assert_eq!(backoff(12).num_seconds(), 3600);
        assert_eq!(backoff(1000).num_seconds(), 3600);
    }
}
