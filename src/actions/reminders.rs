//! Reminders of an action's due date, to its owner through the outbox: some working days before
//! (`action_reminder_working_days`) and on the day. `reminder_stage` says how far an action has
//! come, so a pass reads only open actions not yet reminded on their day; the outbox's dedupe key
//! (action, stage, due date) makes each message once across passes and instances, and a new due
//! date starts the stages again.

use chrono::NaiveDate;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::actions::{self as db, ActionRow};
use crate::db::{write_tx, DbConnection};
use crate::domain::calendar::{oslo_today, working_days_between};
use crate::domain::Code;
use crate::error::ApiError;
use crate::mail::outbox::{enqueue, norwegian_date};
use crate::mail::templates::MailData;

/// The stage an open action has reached `today`: 1 a reminder before the due date, 2 the day.
pub fn stage(due: NaiveDate, today: NaiveDate, before: u32) -> i32 {
    if today >= due {
        2
    } else if working_days_between(today, due) <= i64::from(before) {
        1
    } else {
        0
    }
}

/// Queues what is due; returns how many messages were new.
pub fn enqueue_due(conn: &mut DbConnection, config: &Config, clock: &Clock) -> Result<usize, ApiError> {
    let now = clock.now();
    let today = oslo_today(now);
    // Nothing reaches its first stage further ahead than this (weekends and the holidays of a
    // Christmas or an Easter included).
    let horizon = today + chrono::Days::new(u64::from(config.action_reminder_working_days) * 2 + 14);
    let mut queued = 0;
    for action in db::to_remind(conn, horizon)? {
        let reached = stage(action.due_on, today, config.action_reminder_working_days);
        if reached <= action.reminder_stage {
            continue;
        }
        queued += write_tx(conn, |c| {
            let n = remind(c, config, &action, reached, today, now.naive_utc())?;
            db::set_reminder_stage(c, &action.id, reached)?;
            Ok(n)
        })?;
    }
    Ok(queued)
}

fn remind(
    c: &mut DbConnection,
    config: &Config,
    action: &ActionRow,
    stage: i32,
    today: NaiveDate,
    at: chrono::NaiveDateTime,
) -> Result<usize, ApiError> {
    let owner = crate::db::users::find(c, &action.responsible_user_id)?;
    if !owner.active {
        return Ok(0);
    }
    let reference = match &action.analysis_id {
        Some(id) => format!("tiltak fra {}", crate::db::analyses::find(c, id)?.reference),
        None => "tiltak fra forbedringsgruppa".to_owned(),
    };
    // No title or description: they are free text, and mail carries none.
    let data = MailData {
        reference,
        category: crate::db::categories::label(c, &action.category).unwrap_or_else(|_| action.category.clone()),
        status: crate::domain::action::ActionStatus::from_code(&action.status)
            .map_or(action.status.clone(), |s| s.label().to_owned()),
        acknowledge_by: None,
        answer_by: None,
        deadline: Some(norwegian_date(&action.due_on.to_string())),
        counterpart: crate::db::organisations::find(c, &action.responsible_organisation_id)?.name,
        unit: None,
        link: format!("{}/tiltak/{}", config.public_base_url.trim_end_matches('/'), action.id),
        task: String::new(),
        task_passive: String::new(),
        days: working_days_between(today, action.due_on),
    };
    let kind = if stage >= 2 { "action_due" } else { "action_reminder" };
    let key = format!("{kind}:{}:{}", action.id, action.due_on);
    enqueue(c, None, &key, kind, &data, &[owner.email], at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminded_some_working_days_before_and_on_the_day() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        // Due Friday 20 November; five working days before is Friday 13.
        assert_eq!(stage(d(11, 20), d(11, 12), 5), 0);
        assert_eq!(stage(d(11, 20), d(11, 13), 5), 1);
        assert_eq!(stage(d(11, 20), d(11, 19), 5), 1);
        assert_eq!(stage(d(11, 20), d(11, 20), 5), 2);
        assert_eq!(stage(d(11, 20), d(11, 30), 5), 2, "late: the day's reminder, if it has not gone");
    }
}
