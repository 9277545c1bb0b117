//! Statistics for Forbedringsgruppa and ASU: counts by any breakdown, handling times in working
//! days, share answered within the deadline, backlog at the end of the period, and change against
//! the previous period and the same period a year earlier. De-identified by construction.

pub mod effect;
pub mod export;
pub mod feedback;
pub mod report;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

pub use crate::db::stats::StatsScope;
use crate::db::stats::{self as q, Cell};
use crate::db::{categories, organisations, units, DbConnection, Pool};
use crate::domain::period::Period;
use crate::error::ApiError;
use crate::ids::{HealthCommunityId, OrganisationId, UnitId};

/// The breakdowns a caller may group by.
pub fn dimensions() -> impl Iterator<Item = &'static str> {
    q::COLUMNS.iter().map(|(dim, _)| *dim)
}

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
    pub organisation_id: Option<OrganisationId>,
    /// The helsefellesskap the figures are for, when they are for one.
    pub health_community_id: Option<HealthCommunityId>,
    pub total: i64,
    pub group_by: Vec<String>,
    pub groups: Vec<Group>,
    pub acknowledge_days: Quantiles,
    pub answer_days: Quantiles,
    pub answered: usize,
    pub answered_within_deadline: usize,
    pub within_deadline_share: Option<f64>,
    /// Deviations of the period whose category the recipient changed on acknowledge (they are
    /// counted under the new one).
    pub recategorised: i64,
    /// Deviations of the period imported from a quality system's export: their handling times
    /// were not measured here, so a report marks such a period "fra import".
    pub imported: i64,
    pub backlog_at_end: i64,
    pub overdue_at_end: i64,
    pub previous: Comparison,
    pub same_period_last_year: Comparison,
    pub suppression_threshold: i64,
}

/// Linear interpolation between closest ranks (PostgreSQL's percentile_cont), over values that
/// come with how many times each occurs, sorted by value.
pub fn percentile(sorted: &[(i32, i64)], p: f64) -> Option<f64> {
    let n: i64 = sorted.iter().map(|(_, k)| k).sum();
    if n == 0 {
        return None;
    }
    let at = |index: i64| {
        let mut seen = 0;
        sorted.iter().find(|(_, k)| {
            seen += k;
            seen > index
        })
    };
    let rank = p * (n - 1) as f64;
    let (lo, hi) = (at(rank.floor() as i64)?.0, at(rank.ceil() as i64)?.0);
    Some(f64::from(lo) + f64::from(hi - lo) * rank.fract())
}

fn quantiles(values: impl Iterator<Item = (Option<i32>, i64)>) -> Quantiles {
    let mut counts: BTreeMap<i32, i64> = BTreeMap::new();
    for (v, n) in values {
        if let Some(v) = v {
            *counts.entry(v).or_default() += n;
        }
    }
    let sorted: Vec<(i32, i64)> = counts.into_iter().collect();
    // Two decimals of a working day is plenty, and keeps 5.5 from printing as 5.500000000000001.
    let round = |v: Option<f64>| v.map(|v| (v * 100.0).round() / 100.0);
    Quantiles {
        n: sorted.iter().map(|(_, n)| *n as usize).sum(),
        median: round(percentile(&sorted, 0.5)),
        p90: round(percentile(&sorted, 0.9)),
    }
}

pub fn change_percent(before: i64, now: i64) -> Option<f64> {
    (before > 0).then(|| ((now - before) as f64 / before as f64 * 1000.0).round() / 10.0)
}

/// Human labels for the keys: category names, organisation and unit names; codes as they are.
struct Labels {
    categories: HashMap<String, String>,
    organisations: HashMap<String, String>,
    units: HashMap<String, String>,
    communities: HashMap<String, String>,
}

impl Labels {
    fn load(conn: &mut DbConnection, cells: &[Cell]) -> Result<Self, ApiError> {
        // Cells hold ids as the grouping columns' text.
        let orgs: BTreeSet<OrganisationId> = cells
            .iter()
            .flat_map(|c| [&c.reporting_organisation, &c.recipient_organisation])
            .flatten()
            .map(|id| id.as_str().into())
            .collect();
        let unit_ids: BTreeSet<UnitId> =
            cells.iter().filter_map(|c| c.recipient_unit.as_deref()).map(UnitId::from).collect();
        Ok(Labels {
            categories: categories::list_active(conn)?.into_iter().map(|c| (c.code, c.label)).collect(),
            organisations: organisations::names(conn, &Vec::from_iter(orgs))?
                .into_iter()
                .map(|(id, name)| (id.into_string(), name))
                .collect(),
            units: units::names(conn, &Vec::from_iter(unit_ids))?
                .into_iter()
                .map(|(id, name)| (id.into_string(), name))
                .collect(),
            communities: crate::db::health_communities::list(conn)?
                .into_iter()
                .map(|c| (c.id.into_string(), c.name))
                .collect(),
        })
    }

    fn of(&self, dimension: &str, key: &Option<String>) -> String {
        let Some(k) = key else { return "(ingen)".into() };
        let map = match dimension {
            "category" => &self.categories,
            "reporting_organisation" | "recipient_organisation" => &self.organisations,
            "recipient_unit" => &self.units,
            "health_community" => &self.communities,
            _ => return k.clone(),
        };
        map.get(k).cloned().unwrap_or_else(|| k.clone())
    }
}

pub fn parse_group_by(list: Option<&str>) -> Result<Vec<String>, ApiError> {
    let dims: Vec<String> =
        list.unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    if dims.iter().any(|d| !dimensions().any(|known| known == d.as_str())) {
        return Err(ApiError::field(
            "group_by",
            "invalid_value",
            // The value is not repeated: it is whatever was typed, and errors are logged.
            format!("Ukjent gruppering. Bruk {}.", dimensions().collect::<Vec<_>>().join(", ")),
        ));
    }
    Ok(dims)
}

/// The figures of a period that no breakdown changes: the backlog at its end and the totals it is
/// compared with.
struct Totals {
    recategorised: i64,
    imported: i64,
    backlog_at_end: i64,
    overdue_at_end: i64,
    previous: (Period, i64),
    last_year: (Period, i64),
}

impl Totals {
    fn load(conn: &mut DbConnection, period: Period, scope: &StatsScope) -> Result<Self, ApiError> {
        let mut total_of = |p: Period| -> Result<(Period, i64), ApiError> {
            let (f, t) = p.utc_bounds();
            Ok((p, q::count_submitted_in(conn, scope, f, t)?))
        };
        let (previous, last_year) = (total_of(period.previous())?, total_of(period.year_before())?);
        let (from, to) = period.utc_bounds();
        let recategorised = q::count_recategorised_in(conn, scope, from, to)?;
        let imported = q::count_imported_in(conn, scope, from, to)?;
        let (backlog_at_end, overdue_at_end) = q::open_at(conn, scope, to, &period.end().to_string())?;
        Ok(Totals { recategorised, imported, backlog_at_end, overdue_at_end, previous, last_year })
    }
}

/// Everything about one period that every breakdown shares, loaded once: the counts per
/// combination of the breakdowns asked for, and the figures that do not depend on a breakdown.
pub struct PeriodData {
    period: Period,
    scope: StatsScope,
    dimensions: Vec<String>,
    cells: Vec<Cell>,
    labels: Labels,
    totals: Totals,
}

impl PeriodData {
    /// Loads `period` so that `stats` can group by any subset of `dimensions`. With a `spare` pool
    /// that has a free connection, the totals are counted on it at the same time as the cells —
    /// two index scans on two cores instead of one after the other.
    pub fn load(
        conn: &mut DbConnection,
        spare: Option<&Pool>,
        period: Period,
        scope: &StatsScope,
        dimensions: &[String],
    ) -> Result<Self, ApiError> {
        let (from, to) = period.utc_bounds();
        let dims: Vec<&str> = dimensions.iter().map(String::as_str).collect();
        let (cells, totals) = std::thread::scope(|threads| {
            let beside = spare
                .and_then(Pool::try_get)
                .map(|mut other| threads.spawn(move || Totals::load(&mut other, period, scope)));
            let cells = q::cells(conn, scope, from, to, &dims)?;
            let totals = match beside {
                Some(thread) => {
                    thread.join().map_err(|_| ApiError::internal(anyhow::anyhow!("totals thread panicked")))??
                }
                None => Totals::load(conn, period, scope)?,
            };
            Ok::<_, ApiError>((cells, totals))
        })?;
        let labels = Labels::load(conn, &cells)?;
        Ok(PeriodData { period, scope: scope.clone(), dimensions: dimensions.to_vec(), cells, labels, totals })
    }

    /// The statistics grouped by `group_by`, which must be among the dimensions it was loaded with.
    pub fn stats(&self, group_by: &[String], threshold: i64) -> Stats {
        debug_assert!(group_by.iter().all(|d| self.dimensions.contains(d)), "{group_by:?} not loaded");
        let (cells, labels) = (&self.cells, &self.labels);
        let mut counts: BTreeMap<Vec<Option<String>>, i64> = BTreeMap::new();
        for cell in cells {
            *counts.entry(group_by.iter().map(|d| cell.value(d).cloned()).collect()).or_default() += cell.n;
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

        let count = |f: fn(&Cell) -> bool| cells.iter().filter(|c| f(c)).map(|c| c.n).sum::<i64>();
        let answered = count(|c| c.answered_on_time.is_some()) as usize;
        let on_time = count(|c| c.answered_on_time == Some(true)) as usize;
        let total = count(|_| true);
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
            organisation_id: self.scope.organisation().cloned(),
            health_community_id: self.scope.community().cloned(),
            total,
            group_by: group_by.to_vec(),
            groups,
            acknowledge_days: quantiles(cells.iter().map(|c| (c.acknowledge_days, c.n))),
            answer_days: quantiles(cells.iter().map(|c| (c.answer_days, c.n))),
            answered,
            answered_within_deadline: on_time,
            within_deadline_share: (answered > 0).then(|| on_time as f64 / answered as f64),
            recategorised: self.totals.recategorised,
            imported: self.totals.imported,
            backlog_at_end: self.totals.backlog_at_end,
            overdue_at_end: self.totals.overdue_at_end,
            previous: compare(self.totals.previous),
            same_period_last_year: compare(self.totals.last_year),
            suppression_threshold: threshold,
        }
    }
}

/// Computes the statistics for `period` within `scope`.
pub fn compute(
    conn: &mut DbConnection,
    spare: Option<&Pool>,
    period: Period,
    scope: &StatsScope,
    group_by: &[String],
    threshold: i64,
) -> Result<Stats, ApiError> {
    Ok(PeriodData::load(conn, spare, period, scope, group_by)?.stats(group_by, threshold))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_postgres() {
        let once = |values: &[i32]| values.iter().map(|v| (*v, 1)).collect::<Vec<_>>();
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&once(&[4]), 0.9), Some(4.0));
        assert_eq!(percentile(&once(&[1, 2, 3, 4]), 0.5), Some(2.5));
        assert_eq!(percentile(&once(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 0.9), Some(9.1));
        // 1 1 1 5 5 → median 1; 1 1 5 5 → 3; counts stand for repeated values.
        assert_eq!(percentile(&[(1, 3), (5, 2)], 0.5), Some(1.0));
        assert_eq!(percentile(&[(1, 2), (5, 2)], 0.5), Some(3.0));
        assert_eq!(percentile(&[(1, 0), (5, 2)], 0.5), Some(5.0));
    }

    #[test]
    fn change_is_rounded_to_one_decimal() {
        assert_eq!(change_percent(0, 5), None);
        assert_eq!(change_percent(3, 4), Some(33.3));
        assert_eq!(change_percent(4, 2), Some(-50.0));
    }
}
