//! Synthetic deviations for trying the statistics at scale: skewed categories, seasonal variation,
//! both directions, realistic handling times. Marked as generated; no timeline events and no
//! mail, since only statistics read them. Deterministic for a given seed.
// Not reachable by requests: synthetic data for benchmarks, run from the command line; its indices come from its own tables.
#![allow(clippy::indexing_slicing, clippy::expect_used)]

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};

use crate::db::deviations::DeviationRow;
use crate::db::schema::deviations;
use crate::db::users;
use crate::db::{organisations, units, DbConnection};
use crate::domain::calendar::{add_working_days, oslo_date, working_days_between};
use crate::error::ApiError;
use crate::ids::{DeviationId, OrganisationId, UnitId, UserId};

/// xorshift64*: enough randomness for test data, and reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn weighted<'a, T>(&mut self, items: &'a [(T, f64)]) -> &'a T {
        let total: f64 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.unit() * total;
        for (item, w) in items {
            if x < *w {
                return item;
            }
            x -= w;
        }
        &items[items.len() - 1].0
    }
    /// Geometric-ish working days with the given mean.
    fn days(&mut self, mean: f64) -> i64 {
        (-mean * (1.0 - self.unit()).ln()).floor() as i64
    }
}

const CATEGORIES: &[(&str, f64)] = &[
    ("discharge_summary", 24.0),
    ("medication", 16.0),
    ("notification_during_stay", 12.0),
    ("discharge", 12.0),
    ("electronic_messaging", 10.0),
    ("admission_referral", 8.0),
    ("coordination", 7.0),
    ("assistive_devices", 4.0),
    ("availability", 3.0),
    ("patient_information", 3.0),
    ("other", 1.0),
];
/// January to December: fewer in July, more in the winter and around Christmas discharges.
const MONTH_WEIGHT: [f64; 12] = [1.2, 1.1, 1.1, 1.0, 1.0, 0.9, 0.6, 0.8, 1.0, 1.1, 1.1, 1.0];
const HARM: &[((&str, Option<&str>), f64)] = &[
    (("no_harm", None), 45.0),
    (("near_miss", None), 25.0),
    (("unsafe_condition", None), 15.0),
    (("harm", Some("low")), 10.0),
    (("harm", Some("moderate")), 4.0),
    (("harm", Some("severe")), 1.0),
];

/// One generated reporter per organisation of the deployment's first helsefellesskap (cases stay
/// within one), so reporter and organisation agree.
fn reporters(conn: &mut DbConnection, now: NaiveDateTime) -> Result<Vec<(UserId, OrganisationId, String)>, ApiError> {
    let mut out = Vec::new();
    let first = Some(crate::db::health_communities::default_id());
    for org in organisations::list(conn, None, false, None)?
        .into_iter()
        .filter(|o| o.kind != "other" && o.health_community_id == first)
    {
        let id = users::placeholder(conn, &org.id, "generert", "Generert melder", now)?;
        out.push((id, org.id, org.kind));
    }
    Ok(out)
}

/// Inserts `count` deviations submitted over the last `years` years. Returns how many.
pub fn generate(
    conn: &mut DbConnection,
    count: usize,
    years: u32,
    seed: u64,
    progress: bool,
) -> Result<usize, ApiError> {
    let now = Utc::now().naive_utc();
    let people = reporters(conn, now)?;
    let (municipalities, hospitals): (Vec<_>, Vec<_>) = people.iter().partition(|(_, _, kind)| kind == "municipality");
    let hospital_units: Vec<UnitId> = match hospitals.first() {
        Some((_, org, _)) => {
            units::for_organisations(conn, std::slice::from_ref(org), false)?.into_iter().map(|u| u.id).collect()
        }
        None => Vec::new(),
    };
    if municipalities.is_empty() || hospitals.is_empty() {
        return Err(ApiError::bad_request(
            "no_organisations",
            "Kjør seed-demo først: det trengs kommuner og et sykehus.",
        ));
    }
    let start = now - Duration::days(365 * i64::from(years));
    let span_days = (now - start).num_days().max(1);
    let month_max = MONTH_WEIGHT.iter().cloned().fold(0.0, f64::max);
    let mut rng = Rng(seed.max(1));
    let bar = if progress { ProgressBar::new(count as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} avvik ({per_sec}, {eta} igjen)")
            .unwrap_or(ProgressStyle::default_bar()),
    );
    let mut counters: std::collections::BTreeMap<i32, i32> = std::collections::BTreeMap::new();
    let mut made = 0;
    while made < count {
        let batch_size = (count - made).min(20_000);
        let mut batch = Vec::with_capacity(batch_size);
        while batch.len() < batch_size {
            let submitted = start + Duration::seconds((rng.unit() * span_days as f64 * 86_400.0) as i64);
            // Seasonal thinning: keep a day with probability month weight / max.
            if rng.unit() > MONTH_WEIGHT[submitted.month0() as usize] / month_max {
                continue;
            }
            let to_hospital = rng.unit() < 0.8;
            let (reporter, from_org, to_org, direction) = if to_hospital {
                let (r, o, _) = municipalities[rng.below(municipalities.len())];
                (r, o, &hospitals[0].1, "municipality_to_hospital")
            } else {
                let (r, o, _) = hospitals[0];
                (r, o, &municipalities[rng.below(municipalities.len())].1, "hospital_to_municipality")
            };
            let received = oslo_date(submitted);
            let (ack_due, answer_due) = (add_working_days(received, 5), add_working_days(received, 15));
            let ack_day = add_working_days(received, rng.days(2.5) as u32);
            let answer_day = add_working_days(ack_day, rng.days(8.0) as u32);
            let to_time = |d: NaiveDate| d.and_hms_opt(11, 0, 0).unwrap_or_default();
            let fate = rng.unit();
            let ack_at = Some(to_time(ack_day)).filter(|t| *t < now);
            let answered_at = Some(to_time(answer_day)).filter(|t| *t < now && fate < 0.9);
            let rejected = fate >= 0.95 && ack_at.is_some();
            let closed_at = answered_at.map(|a| a + Duration::days(14)).filter(|c| *c < now);
            let status = match (rejected, answered_at, closed_at, ack_at) {
                (true, ..) => "rejected",
                (_, Some(_), Some(_), _) => "closed",
                (_, Some(_), None, _) => "answered",
                (_, None, _, Some(_)) => "in_progress",
                _ => "submitted",
            };
            let (harm_class, harm_level) = *rng.weighted(HARM);
            let year = received.year();
            let seq = match counters.entry(year) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    // Continue after earlier runs, so generating twice adds instead of colliding.
                    let earlier: i64 = deviations::table
                        .filter(deviations::reference.like(format!("SA-{year}-G%")))
                        .count()
                        .get_result(conn)?;
                    e.insert(earlier as i32)
                }
            };
            *seq += 1;
            let mut row = DeviationRow {
                id: DeviationId::generate(),
                reference: format!("SA-{year}-G{seq:07}").into(),
                kind: if rng.unit() < 0.93 { "deviation" } else { "improvement_proposal" }.into(),
                category: rng.weighted(CATEGORIES).to_string(),
                status: status.into(),
                direction: direction.into(),
                reporter_id: reporter.clone(),
                reporting_organisation_id: from_org.clone(),
                reporting_unit_id: None,
                recipient_organisation_id: to_org.clone(),
                recipient_unit_id: (to_hospital && !hospital_units.is_empty())
                    .then(|| hospital_units[rng.below(hospital_units.len())].clone()),
                health_community_id: crate::db::health_communities::default_id(),
                handler_id: None,
                occurred_at: (received - Duration::days(rng.below(3) as i64)).to_string(),
                discovered_at: None,
                description: "Generert testdata.".into(),
                harm_class: harm_class.into(),
                harm_level: harm_level.map(str::to_owned),
                handover_related: rng.unit() < 0.7,
                details: "{}".into(),
                reported_category: None,
                answer: answered_at.map(|_| "Generert svar.".into()),
                answer_actions: None,
                submitted_at: submitted,
                received_at: submitted,
                acknowledged_at: ack_at,
                answered_at,
                closed_at: if rejected { ack_at } else { closed_at },
                acknowledge_due: ack_due.to_string(),
                answer_due: answer_due.to_string(),
                updated_at: now,
                acknowledge_days: ack_at.map(|_| working_days_between(received, ack_day) as i32),
                answer_days: answered_at.map(|_| working_days_between(received, answer_day) as i32),
                answered_on_time: answered_at.map(|_| answer_day <= answer_due),
                next_reminder_on: None,
                source_system: None,
                source_id: None,
            };
            row.next_reminder_on = crate::mail::reminders::first_on(&row);
            batch.push(row);
        }
        conn.transaction(|c| crate::db::deviations::insert_many(c, &batch))?;
        made += batch.len();
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    // Generated references (SA-YYYY-G…) live beside the real series, which stays gap-free.
    Ok(made)
}
