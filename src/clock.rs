//! The service's notion of now. Production reads the system clock; tests move it forward to reach
//! deadlines, reminders and auto-close without waiting.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_seconds: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::seconds(self.offset_seconds.load(Ordering::Relaxed))
    }

    /// Now as stored in the database: UTC without zone.
    pub fn now_naive(&self) -> NaiveDateTime {
        self.now().naive_utc()
    }

    /// Makes now `at` (tests that need fixed dates).
    pub fn set(&self, at: DateTime<Utc>) {
        self.offset_seconds.store((at - Utc::now()).num_seconds(), Ordering::Relaxed);
    }

    pub fn advance(&self, by: Duration) {
        self.offset_seconds.fetch_add(by.num_seconds(), Ordering::Relaxed);
    }
}
