//! An action's effect, as a run of months rather than a verdict: per month, the deviations of the
//! action's category and their rate per 1,000 deviations of the same scope (its helsefellesskap,
//! and its direction and receiving unit where it names them), for the tertial before the one the
//! action took effect in through the tertial after; and the median rate before and after.
//! Months still to come are left out; a count below the statistics' small-cell threshold is
//! shown as suppressed, and left out of the medians.

use chrono::NaiveDate;
use serde::Serialize;

use crate::db::actions::ActionRow;
use crate::db::stats::{category_share_in, EffectScope};
use crate::db::DbConnection;
use crate::domain::period::Period;
use crate::error::ApiError;

/// Said wherever the figures are shown.
pub const NOT_PROOF: &str = "En forskjell før og etter er ikke bevis for at tiltaket virket: andre endringer, \
    tilfeldig variasjon og endret meldekultur kan gi det samme. Kurven viser forløpet, ikke en dom.";

#[derive(Debug, Clone, Serialize)]
pub struct Month {
    /// `2026-05`
    pub month: String,
    /// Deviations of the category; None when below the small-cell threshold.
    pub count: Option<i64>,
    /// Deviations of every category in the same scope.
    pub total: i64,
    pub rate_per_1000: Option<f64>,
    pub suppressed: bool,
    /// The whole month after the action took effect (the month it took effect in counts before).
    pub after: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Effect {
    pub category: String,
    pub direction: Option<String>,
    pub effective_on: Option<NaiveDate>,
    pub months: Vec<Month>,
    pub median_before: Option<f64>,
    pub median_after: Option<f64>,
    pub note: &'static str,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => v.get(n / 2).copied(),
        _ => Some((v.get(n / 2 - 1)? + v.get(n / 2)?) / 2.0),
    }
}

/// The months counted for an action taking effect on `effective_on` (or, before it is done, the
/// last two tertials), up to and including the month of `today`.
pub fn window(effective_on: Option<NaiveDate>, today: NaiveDate) -> Vec<Period> {
    let (from, to) = match effective_on {
        Some(day) => {
            let during = Period::tertial_of(day);
            let after = Period::tertial_of(during.end());
            (during.previous().start(), after.end())
        }
        None => (Period::tertial_of(today).previous().start(), Period::tertial_of(today).end()),
    };
    let mut months = Vec::new();
    let mut start = from;
    while start < to && start <= today {
        let m = Period::Month { year: chrono::Datelike::year(&start), month: chrono::Datelike::month(&start) };
        start = m.end();
        months.push(m);
    }
    months
}

pub fn compute(
    conn: &mut DbConnection,
    action: &ActionRow,
    today: NaiveDate,
    threshold: i64,
) -> Result<Effect, ApiError> {
    let scope = EffectScope {
        community: &action.health_community_id,
        direction: action.direction.as_deref(),
        unit: action.unit_id.as_ref(),
    };
    let mut months = Vec::new();
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for m in window(action.effective_on, today) {
        let (from, to) = m.utc_bounds();
        let (count, total) = category_share_in(conn, &scope, &action.category, from, to)?;
        let is_after = action.effective_on.is_some_and(|day| m.start() >= day);
        let rate = (total > 0).then(|| count as f64 * 1000.0 / total as f64);
        let suppressed = count > 0 && count < threshold;
        // A suppressed month stays out of the medians too, which could otherwise give it away.
        if let Some(r) = rate.filter(|_| !suppressed) {
            match is_after {
                true => after.push(r),
                false => before.push(r),
            }
        }
        months.push(Month {
            month: m.to_string(),
            count: (!suppressed).then_some(count),
            total,
            rate_per_1000: rate.filter(|_| !suppressed).map(|r| (r * 10.0).round() / 10.0),
            suppressed,
            after: is_after,
        });
    }
    Ok(Effect {
        category: action.category.clone(),
        direction: action.direction.clone(),
        effective_on: action.effective_on,
        months,
        median_before: median(before).map(|r| (r * 10.0).round() / 10.0),
        median_after: action.effective_on.and(median(after)).map(|r| (r * 10.0).round() / 10.0),
        note: NOT_PROOF,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_the_tertial_before_through_the_one_after_and_never_the_future() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let names = |w: Vec<Period>| w.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        // Effect 10 June 2026 (T2): T1 through T3, up to today.
        let w = names(window(Some(d(2026, 6, 10)), d(2027, 3, 1)));
        assert_eq!(w.first().map(String::as_str), Some("2026-01"));
        assert_eq!(w.last().map(String::as_str), Some("2026-12"));
        assert_eq!(w.len(), 12);
        assert_eq!(names(window(Some(d(2026, 6, 10)), d(2026, 7, 15))).last().map(String::as_str), Some("2026-07"));
        // Not done yet: the last two tertials.
        assert_eq!(names(window(None, d(2026, 12, 6))).first().map(String::as_str), Some("2026-05"));
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
    }
}
