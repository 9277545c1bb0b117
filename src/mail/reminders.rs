//! Reminders at 75 % of a deadline and when it has passed (to the recipient), and escalation to the
//! improvement group when it is five working days past. The dedupe key names the deviation, the
//! deadline and its date, so each fires once — across restarts and instances — and fires again
//! only when a forward gives the deviation new deadlines.

use chrono::NaiveDate;

use super::outbox::{enqueue, facts, norwegian_date, recipient_side};
use super::templates::MailData;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::deviations::{self, DeviationRow};
use crate::db::health_communities as communities;
use crate::db::{write_tx, DbConnection};
use crate::domain::calendar::{oslo_date, oslo_today, working_days_between};
use crate::domain::period::Period;
use crate::error::ApiError;
use crate::ids::HealthCommunityId;

/// Working days past the deadline at which the improvement group is told.
pub const ESCALATE_AFTER_WORKING_DAYS: i64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    ThreeQuarters,
    Overdue,
    Escalation,
}

/// The latest stage reached for a deadline running from `start` to `due`, as of `today`.
pub fn stage(start: NaiveDate, due: NaiveDate, today: NaiveDate) -> Option<Stage> {
    if today > due {
        if working_days_between(due, today) >= ESCALATE_AFTER_WORKING_DAYS {
            return Some(Stage::Escalation);
        }
        return Some(Stage::Overdue);
    }
    let total = working_days_between(start, due);
    let elapsed = working_days_between(start, today);
    (total > 0 && elapsed * 4 >= total * 3).then_some(Stage::ThreeQuarters)
}

struct Deadline<'a> {
    name: &'static str,
    due: &'a str,
    task: &'static str,
    task_passive: &'static str,
}

fn deadlines_of(d: &DeviationRow) -> Vec<Deadline<'_>> {
    let mut list = Vec::new();
    if d.status == "submitted" {
        list.push(Deadline {
            name: "acknowledge",
            due: &d.acknowledge_due,
            task: "bekrefte mottak av",
            task_passive: "bekreftes mottatt",
        });
    }
    list.push(Deadline { name: "answer", due: &d.answer_due, task: "svare på", task_passive: "besvares" });
    list
}

/// Deviations looked at per read: bounds one pass's memory, not its work.
const BATCH: i64 = 500;

/// Queues what is due, looking only at the deviations whose `next_reminder_on` has come (set when
/// one is submitted and whenever its status or deadlines change), so a pass costs what is due,
/// not what is open. Returns how many messages were queued now.
pub fn enqueue_due(conn: &mut DbConnection, config: &Config, clock: &Clock) -> Result<usize, ApiError> {
    let now = clock.now();
    let today = oslo_today(now);
    let mut queued = 0;
    loop {
        let due = deviations::reminders_due(conn, &today.to_string(), BATCH)?;
        for d in &due {
            queued += remind(conn, config, d, today, now)?;
        }
        // One transaction for the batch's dates: a commit each would be most of a pass's time.
        write_tx(conn, |c| {
            for d in &due {
                // Unless it changed meanwhile: then the change has set today, and the next read sees it.
                deviations::set_next_reminder(c, d, next_on(d, today).map(|day| day.to_string()))?;
            }
            Ok(())
        })?;
        if (due.len() as i64) < BATCH {
            return Ok(queued);
        }
    }
}

/// Waiting for the recipient: the only statuses with deadlines to remind of.
fn waiting(d: &DeviationRow) -> bool {
    matches!(d.status.as_str(), "submitted" | "in_progress")
}

/// The first day after `after` on which one of an open deviation's deadlines reaches a new stage.
pub fn next_on(d: &DeviationRow, after: NaiveDate) -> Option<NaiveDate> {
    if !waiting(d) {
        return None;
    }
    let start = oslo_date(d.received_at);
    let changes = |deadline: Deadline<'_>| {
        let due = NaiveDate::parse_from_str(deadline.due, "%Y-%m-%d").ok()?;
        let from = stage(start, due, after);
        // Escalation is the last stage; it comes within a month of the deadline, holidays and all.
        after
            .iter_days()
            .skip(1)
            .take_while(|day| *day <= due + chrono::Days::new(31))
            .find(|day| stage(start, due, *day) != from)
    };
    deadlines_of(d).into_iter().filter_map(changes).min()
}

/// The day a new deviation is first looked at: the first stage of its deadlines.
pub fn first_on(d: &DeviationRow) -> Option<String> {
    next_on(d, oslo_date(d.received_at).pred_opt()?).map(|day| day.to_string())
}

/// Queues the messages of the stage each of `d`'s deadlines has reached `today` (once each: the
/// dedupe key). Returns how many were new.
fn remind(
    conn: &mut DbConnection,
    config: &Config,
    d: &DeviationRow,
    today: NaiveDate,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, ApiError> {
    if !waiting(d) {
        return Ok(0);
    }
    let start = oslo_date(d.received_at);
    let mut queued = 0;
    for deadline in deadlines_of(d) {
        let Ok(due) = NaiveDate::parse_from_str(deadline.due, "%Y-%m-%d") else { continue };
        // An overdue deviation also gets its overdue notice when it is escalated.
        let stages: &[Stage] = match stage(start, due, today) {
            None => &[],
            Some(Stage::ThreeQuarters) => &[Stage::ThreeQuarters],
            Some(Stage::Overdue) => &[Stage::Overdue],
            Some(Stage::Escalation) => &[Stage::Overdue, Stage::Escalation],
        };
        for stage in stages {
            queued += write_tx(conn, |c| {
                let (kind, to) = match stage {
                    Stage::ThreeQuarters => ("reminder", recipient_side(c, d)?),
                    Stage::Overdue => ("overdue", recipient_side(c, d)?),
                    Stage::Escalation => ("escalation", improvement_group(c, config, &d.health_community_id)?),
                };
                let mut data = facts(c, config, d, &d.reporting_organisation_id)?;
                // About one deadline only: that one, and not the other beside it.
                (data.acknowledge_by, data.answer_by) = (None, None);
                data.deadline = Some(norwegian_date(deadline.due));
                data.task = deadline.task.to_owned();
                data.task_passive = deadline.task_passive.to_owned();
                data.days = working_days_between(due, today);
                let key = format!("{kind}:{}:{}:{}", d.id, deadline.name, deadline.due);
                enqueue(c, Some(d), &key, kind, &data, &to, now.naive_utc())
            })?;
        }
    }
    Ok(queued)
}

/// A helsefellesskap's own list, or — for the one every deployment started with — the
/// deployment's setting, so a deployment from before helsefellesskap keeps its lists.
fn list_of(own: &str, community_id: &HealthCommunityId, setting: Vec<String>) -> Vec<String> {
    let own: Vec<String> = own.split(',').map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect();
    match own.is_empty() && community_id.as_str() == communities::DEFAULT_ID {
        true => setting,
        false => own,
    }
}

/// The improvement group of the helsefellesskap a deviation was reported in.
fn improvement_group(
    c: &mut DbConnection,
    config: &Config,
    community_id: &HealthCommunityId,
) -> Result<Vec<String>, ApiError> {
    let community = communities::find(c, community_id)?;
    Ok(list_of(&community.improvement_group_recipients, &community.id, config.escalation_list()))
}

/// After a tertial has ended, queues each helsefellesskap's report for its committee (ASU), once.
pub fn enqueue_tertial_report(conn: &mut DbConnection, config: &Config, clock: &Clock) -> Result<usize, ApiError> {
    let mut queued = 0;
    for community in communities::list(conn)? {
        let to = list_of(&community.committee_recipients, &community.id, config.committee_list());
        if to.is_empty() {
            // Once per process and helsefellesskap: the job asks every interval.
            static WARNED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
            let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
            if !warned.contains(&community.id.to_string()) {
                warned.push(community.id.to_string());
                tracing::warn!(health_community = %community.id, "no committee recipients; tertial report not mailed");
            }
            continue;
        }
        queued += enqueue_report(conn, config, clock, &community, &to)?;
    }
    Ok(queued)
}

fn enqueue_report(
    conn: &mut DbConnection,
    config: &Config,
    clock: &Clock,
    community: &communities::HealthCommunityRow,
    to: &[String],
) -> Result<usize, ApiError> {
    let now = clock.now();
    let tertial = Period::tertial_of(oslo_today(now)).previous();
    // The first helsefellesskap keeps the key it had before there were several, so an upgrade
    // in the middle of a tertial does not send its report twice.
    let key = match community.id.as_str() == communities::DEFAULT_ID {
        true => format!("tertial-report:{tertial}"),
        false => format!("tertial-report:{tertial}:{}", community.id),
    };
    let data = MailData {
        reference: tertial.to_string(),
        category: "Alle kategorier".into(),
        status: "Tertialet er avsluttet".into(),
        acknowledge_by: None,
        answer_by: None,
        deadline: None,
        counterpart: community.name.clone(),
        unit: None,
        link: format!("{}/statistikk/rapport/{tertial}.html", config.public_base_url.trim_end_matches('/')),
        task: String::new(),
        task_passive: String::new(),
        days: 0,
    };
    write_tx(conn, |c| enqueue(c, None, &key, "tertial_report", &data, to, now.naive_utc()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn stages_of_a_five_day_deadline() {
        // Received Mon 2 Nov, due Mon 9 Nov (5 working days).
        let (start, due) = (d(11, 2), d(11, 9));
        assert_eq!(stage(start, due, d(11, 4)), None); // 2 of 5
        assert_eq!(stage(start, due, d(11, 5)), None); // 3 of 5 is 60 %
        assert_eq!(stage(start, due, d(11, 6)), Some(Stage::ThreeQuarters)); // 4 of 5 is past 75 %
        assert_eq!(stage(start, due, d(11, 9)), Some(Stage::ThreeQuarters)); // the day itself is not late
        assert_eq!(stage(start, due, d(11, 10)), Some(Stage::Overdue));
        assert_eq!(stage(start, due, d(11, 13)), Some(Stage::Overdue)); // 4 working days late
        assert_eq!(stage(start, due, d(11, 16)), Some(Stage::Escalation)); // 5 working days late
    }
}
