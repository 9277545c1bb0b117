//! `samavvik bench stats`: times the statistics as the endpoint computes them and the equivalent
//! hand-written SQL on the same database, and prints both and their ratio.
// Not reachable by requests: benchmarks run from the command line over samples it collected itself.
#![allow(clippy::indexing_slicing, clippy::expect_used)]

use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use crate::db::{DbConnection, Pool};
use crate::domain::period::Period;
use crate::error::ApiError;
use crate::stats::{self, report::Report};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = Nullable<Text>)]
    _key: Option<String>,
    #[diesel(sql_type = BigInt)]
    _n: i64,
}

/// The dashboard's work as someone would write it by hand against the same tables and indexes:
/// counts by direction, histograms of the handling-time columns (for the quantiles), answered on
/// time, the two comparison totals, and the backlog/overdue counts.
fn raw_dashboard(conn: &mut DbConnection, period: Period) -> QueryResult<()> {
    let ts = |t: chrono::NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
    let (from, to) = period.utc_bounds();
    let window = format!("submitted_at >= '{}' AND submitted_at < '{}'", ts(from), ts(to));
    let grouped = |key: &str, window: &str| {
        format!("SELECT CAST({key} AS TEXT) AS _key, COUNT(*) AS _n FROM deviations WHERE {window} GROUP BY {key}")
    };
    for key in ["direction", "acknowledge_days", "answer_days", "answered_on_time"] {
        diesel::sql_query(grouped(key, &window)).load::<Count>(conn)?;
    }
    for p in [period.previous(), period.year_before()] {
        let (f, t) = p.utc_bounds();
        let window = format!("submitted_at >= '{}' AND submitted_at < '{}'", ts(f), ts(t));
        diesel::sql_query(format!("SELECT NULL AS _key, COUNT(*) AS _n FROM deviations WHERE {window}"))
            .load::<Count>(conn)?;
    }
    let end = ts(to);
    for open in ["resolved_at IS NULL".to_owned(), format!("resolved_at >= '{end}'")] {
        diesel::sql_query(format!(
            "SELECT CAST(answer_due < '{}' AS TEXT) AS _key, COUNT(*) AS _n FROM deviations \
             WHERE submitted_at < '{end}' AND {open} GROUP BY answer_due < '{}'",
            period.end(),
            period.end()
        ))
        .load::<Count>(conn)?;
    }
    Ok(())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time(iterations: usize, mut f: impl FnMut() -> Result<(), ApiError>) -> Result<Duration, ApiError> {
    f()?; // warm the cache once
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        f()?;
        samples.push(started.elapsed());
    }
    Ok(median(samples))
}

/// Times the dashboard as the endpoint runs it: on one pooled connection, with a second one spare.
pub fn stats(pool: &Pool, period: Period, iterations: usize) -> Result<(), ApiError> {
    let conn = &mut *pool.get().map_err(ApiError::unavailable)?;
    let total: i64 = crate::db::schema::deviations::table.count().get_result(conn)?;
    let backend = if matches!(conn, DbConnection::Pg(_)) { "PostgreSQL" } else { "SQLite" };
    println!("{backend}, {total} avvik i databasen, periode {period}, median av {iterations} kjøringer");
    let group = ["direction".to_string()];
    let ours =
        time(iterations, || stats::compute(conn, Some(pool), period, &stats::StatsScope::All, &group, 3).map(|_| ()))?;
    let raw = time(iterations, || raw_dashboard(conn, period).map_err(ApiError::from))?;
    let report = time(iterations.min(5), || {
        Report::build(conn, period, &stats::StatsScope::All, 3, crate::domain::calendar::oslo_today(chrono::Utc::now()))
            .map(|_| ())
    })?;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("tertial-dashboard (GET /api/v1/stats?group_by=direction): {:8.1} ms", ms(ours));
    println!("samme arbeid i håndskrevet SQL:                          {:8.1} ms", ms(raw));
    println!("forhold:                                                  {:8.2}×", ms(ours) / ms(raw).max(0.001));
    println!("hele tertialrapporten (7 grupperinger, 6 tertialer trend): {:8.1} ms", ms(report));
    Ok(())
}

/// `samavvik bench reminders --open N`: makes the newest N deviations open with deadlines ahead
/// (next reminders spread over the next 20 days) — it changes the data, so run it on a bench
/// database — and times one reminder pass as it is now, with none and with 1 000 due, beside the
/// pass before `next_reminder_on` (read every open deviation, work out each deadline's stage).
pub fn reminders(conn: &mut DbConnection, config: &crate::config::Config, open: i64) -> Result<(), ApiError> {
    use crate::db::deviations::DeviationRow;
    use crate::db::schema::deviations::dsl as d;
    let clock = crate::clock::Clock::default();
    let today = crate::domain::calendar::oslo_today(clock.now());
    let day = |n: u64| (today + chrono::Days::new(n)).to_string();
    let ids: Vec<String> = d::deviations.order(d::submitted_at.desc()).limit(open).select(d::id).load(conn)?;
    let chunks: Vec<&[String]> = ids.chunks(1000).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        diesel::update(d::deviations.filter(d::id.eq_any(*chunk)))
            .set((
                d::status.eq("in_progress"),
                d::answered_at.eq(None::<chrono::NaiveDateTime>),
                d::closed_at.eq(None::<chrono::NaiveDateTime>),
                d::received_at.eq(clock.now_naive()),
                d::acknowledge_due.eq(day(30)),
                d::answer_due.eq(day(40)),
                d::next_reminder_on.eq(Some(day(i as u64 % 20 + 1))),
            ))
            .execute(conn)?;
    }
    let open_now: i64 =
        d::deviations.filter(d::status.eq_any(["submitted", "in_progress"])).count().get_result(conn)?;
    println!("{open_now} åpne avvik; median av 5 kjøringer");
    let before = time(5, || {
        let rows: Vec<DeviationRow> = d::deviations
            .filter(d::status.eq_any(["submitted", "in_progress"]))
            .select(DeviationRow::as_select())
            .load(conn)?;
        let stages = rows
            .iter()
            .filter_map(|r| {
                let due = chrono::NaiveDate::parse_from_str(&r.answer_due, "%Y-%m-%d").ok()?;
                crate::mail::reminders::stage(crate::domain::calendar::oslo_date(r.received_at), due, today)
            })
            .count();
        std::hint::black_box(stages);
        Ok(())
    })?;
    let none_due = time(5, || crate::mail::reminders::enqueue_due(conn, config, &clock).map(|_| ()))?;
    let mut due_pass = Vec::new();
    for chunk in chunks.iter().take(5) {
        diesel::update(d::deviations.filter(d::id.eq_any(*chunk)))
            .set(d::next_reminder_on.eq(Some(day(0))))
            .execute(conn)?;
        let started = Instant::now();
        crate::mail::reminders::enqueue_due(conn, config, &clock)?;
        due_pass.push(started.elapsed());
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("før (les alle åpne, regn ut frister):        {:8.1} ms", ms(before));
    println!("nå, ingen påminnelse forfaller:               {:8.1} ms", ms(none_due));
    println!("nå, 1 000 avvik å se på (ingen e-post):       {:8.1} ms", ms(median(due_pass)));
    Ok(())
}
