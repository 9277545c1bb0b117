//! `samavvik bench stats`: times the statistics as the endpoint computes them and the equivalent
//! hand-written SQL on the same database, and prints both and their ratio.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};

use crate::db::DbConnection;
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

#[derive(QueryableByName)]
struct Days {
    #[diesel(sql_type = Nullable<Integer>)]
    _d: Option<i32>,
}

/// The dashboard's work in plain SQL: counts by direction, the handling-time columns for the
/// quantiles, the two comparison totals and the backlog/overdue counts.
fn raw_dashboard(conn: &mut DbConnection, period: Period) -> QueryResult<()> {
    let ts = |t: chrono::NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
    let (from, to) = period.utc_bounds();
    let window = format!("submitted_at >= '{}' AND submitted_at < '{}'", ts(from), ts(to));
    diesel::sql_query(format!(
        "SELECT direction AS _key, COUNT(*) AS _n FROM deviations WHERE {window} GROUP BY direction"
    ))
    .load::<Count>(conn)?;
    for col in ["acknowledge_days", "answer_days"] {
        diesel::sql_query(format!(
            "SELECT {col} AS _d FROM deviations WHERE {window} AND {col} IS NOT NULL ORDER BY {col}"
        ))
        .load::<Days>(conn)?;
    }
    diesel::sql_query(format!(
        "SELECT answered_on_time AS _key, COUNT(*) AS _n FROM deviations WHERE {window} GROUP BY answered_on_time"
    ))
    .load::<Count>(conn)
    .or_else(|_| Ok::<_, diesel::result::Error>(Vec::new()))?;
    for p in [period.previous(), period.year_before()] {
        let (f, t) = p.utc_bounds();
        diesel::sql_query(format!(
            "SELECT NULL AS _key, COUNT(*) AS _n FROM deviations WHERE submitted_at >= '{}' AND submitted_at < '{}'",
            ts(f),
            ts(t)
        ))
        .load::<Count>(conn)?;
    }
    let end = ts(to);
    let open = format!(
        "submitted_at < '{end}' AND (answered_at IS NULL OR answered_at >= '{end}') AND (closed_at IS NULL OR closed_at >= '{end}')"
    );
    diesel::sql_query(format!("SELECT NULL AS _key, COUNT(*) AS _n FROM deviations WHERE {open}"))
        .load::<Count>(conn)?;
    diesel::sql_query(format!(
        "SELECT NULL AS _key, COUNT(*) AS _n FROM deviations WHERE {open} AND answer_due < '{}'",
        period.end()
    ))
    .load::<Count>(conn)?;
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

pub fn stats(conn: &mut DbConnection, period: Period, iterations: usize) -> Result<(), ApiError> {
    let total: i64 = crate::db::schema::deviations::table.count().get_result(conn)?;
    let backend = if matches!(conn, DbConnection::Pg(_)) { "PostgreSQL" } else { "SQLite" };
    println!("{backend}, {total} avvik i databasen, periode {period}, median av {iterations} kjøringer");
    let group = ["direction".to_string()];
    let ours = time(iterations, || stats::compute(conn, period, None, &group, 3).map(|_| ()))?;
    let raw = time(iterations, || raw_dashboard(conn, period).map_err(ApiError::from))?;
    let report = time(iterations.min(5), || Report::build(conn, period, None, 3).map(|_| ()))?;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("tertial-dashboard (GET /api/v1/stats?group_by=direction): {:8.1} ms", ms(ours));
    println!("samme arbeid i håndskrevet SQL:                          {:8.1} ms", ms(raw));
    println!("forhold:                                                  {:8.2}×", ms(ours) / ms(raw).max(0.001));
    println!("hele tertialrapporten (7 grupperinger, 6 tertialer trend): {:8.1} ms", ms(report));
    Ok(())
}
