//! Deviations: the shared form, routing, deadlines, the lifecycle and who may see what.

pub mod access;
pub mod actions;
pub mod form;
pub mod list;
pub mod rating;
pub mod routing;
pub mod submit;
pub mod timeline;
pub mod view;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::domain::calendar::{add_working_days, oslo_today};

/// Acknowledge-by and answer-by dates (Norwegian calendar) for a deviation received at `at`.
pub fn deadlines(config: &Config, at: DateTime<Utc>) -> (String, String) {
    let today = oslo_today(at);
    (
        add_working_days(today, config.acknowledge_working_days).to_string(),
        add_working_days(today, config.answer_working_days).to_string(),
    )
}
