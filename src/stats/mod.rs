//! Statistics for Forbedringsgruppa and ASU: counts by any breakdown, handling times in working
//! days, share answered within the deadline, backlog at the end of the period, and change against
//! the previous period and the same period a year earlier. De-identified by construction.

pub mod export;
pub mod report;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::db::stats::{self as q, StatRow};
use crate::db::{categories, organisations, units, DbConnection};
use crate::domain::period::Period;
use crate::error::ApiError;

/// The breakdowns a caller may group by.
pub const DIMENSIONS: &[&str] = &[
    "direction",
    "category",
    "reporting_organisation",
    "recipient_organisation",
    "recipient_unit",
    "harm_class",
    "harm_level",
    "kind",
    "status",
];

/// Breakdowns that name an organisation (or its unit): small cells there could point to one case.
fn per_organisation(dimension: &str) -> bool {
    matches!(dimension, "reporting_organisation" | "recipient_organisation" | "recipient_unit")
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Quantiles {
    pub n: usize,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Comparison {
    pub period: String,
    pub total: i64,
    /// Percent change from that period to this one; none when that period had none.
    pub change_percent: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Group {
    pub key: BTreeMap<String, Option<String>>,
    pub label: BTreeMap<String, String>,
    /// None when suppressed.
    pub count: Option<i64>,
    pub suppressed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Stats {
    pub period: String,
    pub from: String,
    pub to: String,
    pub organisation_id: Option<String>,
    pub total: i64,
    pub group_by: Vec<String>,
    pub groups: Vec<Group>,
    pub acknowledge_days: Quantiles,
    pub answer_days: Quantiles,
    pub answered: usize,
    pub answered_within_deadline: usize,
    pub within_deadline_share: Option<f64>,
    pub backlog_at_end: i64,
    pub overdue_at_end: i64,
    pub previous: Comparison,
    pub same_period_last_year: Comparison,
    pub suppression_threshold: i64,
}

/// Linear interpolation between closest ranks (PostgreSQL's percentile_cont).
pub fn percentile(sorted: &[i32], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    let frac = rank - lo as f64;
    Some(f64::from(sorted[lo]) + (f64::from(sorted[hi]) - f64::from(sorted[lo])) * frac)
}

fn quantiles(mut values: Vec<i32>) -> Quantiles {
    values.sort_unstable();
    // Two decimals of a working day is plenty, and keeps 5.5 from printing as 5.500000000000001.
    let round = |v: Option<f64>| v.map(|v| (v * 100.0).round() / 100.0);
    Quantiles { n: values.len(), median: round(percentile(&values, 0.5)), p90: round(percentile(&values, 0.9)) }
}

pub fn change_percent(before: i64, now: i64) -> Option<f64> {
    (before > 0).then(|| ((now - before) as f64 / before as f64 * 1000.0).round() / 10.0)
}

fn value(row: &StatRow, dimension: &str) -> Option<String> {
    match dimension {
        "direction" => Some(row.direction.clone()),
        "category" => Some(row.category.clone()),
        "reporting_organisation" => Some(row.reporting_organisation_id.clone()),
        "recipient_organisation" => Some(row.recipient_organisation_id.clone()),
        "recipient_unit" => row.recipient_unit_id.clone(),
        "harm_class" => Some(row.harm_class.clone()),
        "harm_level" => row.harm_level.clone(),
        "kind" => Some(row.kind.clone()),
        "status" => Some(row.status.clone()),
        _ => None,
    }
}

/// Human labels for the keys: category names, organisation and unit names; codes as they are.
struct Labels {
    categories: HashMap<String, String>,
    organisations: HashMap<String, String>,
    units: HashMap<String, String>,
}

impl Labels {
    fn load(conn: &mut DbConnection, rows: &[StatRow]) -> Result<Self, ApiError> {
        let orgs: Vec<String> = rows
            .iter()
            .flat_map(|r| [r.reporting_organisation_id.clone(), r.recipient_organisation_id.clone()])
            .collect();
        let unit_ids: Vec<String> = rows.iter().filter_map(|r| r.recipient_unit_id.clone()).collect();
        let dedup = |mut v: Vec<String>| {
            v.sort();
            v.dedup();
            v
        };
        Ok(Labels {
            categories: categories::list_active(conn)?.into_iter().map(|c| (c.code, c.label)).collect(),
            organisations: organisations::names(conn, &dedup(orgs))?.into_iter().collect(),
            units: units::names(conn, &dedup(unit_ids))?.into_iter().collect(),
        })
    }

    fn of(&self, dimension: &str, key: &Option<String>) -> String {
        let Some(k) = key else { return "(ingen)".into() };
        let map = match dimension {
            "category" => &self.categories,
            "reporting_organisation" | "recipient_organisation" => &self.organisations,
            "recipient_unit" => &self.units,
            _ => return k.clone(),
        };
        map.get(k).cloned().unwrap_or_else(|| k.clone())
    }
}

pub fn parse_group_by(list: Option<&str>) -> Result<Vec<String>, ApiError> {
    let dims: Vec<String> =
        list.unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    if let Some(bad) = dims.iter().find(|d| !DIMENSIONS.contains(&d.as_str())) {
        return Err(ApiError::field(
            "group_by",
            "invalid_value",
            format!("Ukjent gruppering «{bad}». Bruk {}.", DIMENSIONS.join(", ")),
        ));
    }
    Ok(dims)
}

/// Everything about one period that every breakdown shares, loaded once.
pub struct PeriodData {
    period: Period,
    organisation: Option<String>,
    rows: Vec<StatRow>,
    labels: Labels,
    backlog_at_end: i64,
    overdue_at_end: i64,
    previous: (Period, i64),
    last_year: (Period, i64),
}

impl PeriodData {
    pub fn load(conn: &mut DbConnection, period: Period, organisation: Option<&str>) -> Result<Self, ApiError> {
        let (from, to) = period.utc_bounds();
        let rows = q::submitted_in(conn, organisation, from, to)?;
        let labels = Labels::load(conn, &rows)?;
        let mut total_of = |p: Period| -> Result<(Period, i64), ApiError> {
            let (f, t) = p.utc_bounds();
            Ok((p, q::count_submitted_in(conn, organisation, f, t)?))
        };
        let (previous, last_year) = (total_of(period.previous())?, total_of(period.year_before())?);
        Ok(PeriodData {
            period,
            organisation: organisation.map(str::to_owned),
            backlog_at_end: q::open_at(conn, organisation, to, None)?,
            overdue_at_end: q::open_at(conn, organisation, to, Some(period.end().to_string()))?,
            rows,
            labels,
            previous,
            last_year,
        })
    }

    pub fn stats(&self, group_by: &[String], threshold: i64) -> Stats {
        let (rows, labels) = (&self.rows, &self.labels);
        let mut counts: BTreeMap<Vec<Option<String>>, i64> = BTreeMap::new();
        for row in rows {
            *counts.entry(group_by.iter().map(|d| value(row, d)).collect()).or_default() += 1;
        }
        let suppress = group_by.iter().any(|d| per_organisation(d));
        let mut groups: Vec<Group> = counts
            .into_iter()
            .map(|(key, count)| {
                let hidden = suppress && count < threshold;
                Group {
                    label: group_by.iter().zip(&key).map(|(d, k)| (d.clone(), labels.of(d, k))).collect(),
                    key: group_by.iter().cloned().zip(key).collect(),
                    count: (!hidden).then_some(count),
                    suppressed: hidden,
                }
            })
            .collect();
        groups.sort_by(|a, b| b.count.unwrap_or(0).cmp(&a.count.unwrap_or(0)).then_with(|| a.key.cmp(&b.key)));

        let answered = rows.iter().filter(|r| r.answered_on_time.is_some()).count();
        let on_time = rows.iter().filter(|r| r.answered_on_time == Some(true)).count();
        let total = rows.len() as i64;
        let compare = |(p, before): (Period, i64)| Comparison {
            period: p.to_string(),
            total: before,
            change_percent: change_percent(before, total),
        };
        let period = self.period;
        Stats {
            period: period.to_string(),
            from: period.start().to_string(),
            to: period.end().pred_opt().unwrap_or(period.end()).to_string(),
            organisation_id: self.organisation.clone(),
            total,
            group_by: group_by.to_vec(),
            groups,
            acknowledge_days: quantiles(rows.iter().filter_map(|r| r.acknowledge_days).collect()),
            answer_days: quantiles(rows.iter().filter_map(|r| r.answer_days).collect()),
            answered,
            answered_within_deadline: on_time,
            within_deadline_share: (answered > 0).then(|| on_time as f64 / answered as f64),
            backlog_at_end: self.backlog_at_end,
            overdue_at_end: self.overdue_at_end,
            previous: compare(self.previous),
            same_period_last_year: compare(self.last_year),
            suppression_threshold: threshold,
        }
    }
}

/// Computes the statistics for `period`, for one organisation or (None) for all.
pub fn compute(
    conn: &mut DbConnection,
    period: Period,
    organisation: Option<&str>,
    group_by: &[String],
    threshold: i64,
) -> Result<Stats, ApiError> {
    Ok(PeriodData::load(conn, period, organisation)?.stats(group_by, threshold))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_postgres() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[4], 0.9), Some(4.0));
        assert_eq!(percentile(&[1, 2, 3, 4], 0.5), Some(2.5));
        assert_eq!(percentile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), Some(9.1));
    }

    #[test]
    fn change_is_rounded_to_one_decimal() {
        assert_eq!(change_percent(0, 5), None);
        assert_eq!(change_percent(3, 4), Some(33.3));
        assert_eq!(change_percent(4, 2), Some(-50.0));
    }
}
