//! Human reference numbers, `SA-2026-00042`: per year, unique under concurrency, readable.
//!
//! SQLite numbers inside the write (`next`): there is one writer and a shared commit, so the
//! counter row costs nothing and the series has no gaps. PostgreSQL takes the number before the
//! write from a sequence per year (`reserve`): a counter row would stay locked until commit and
//! make every submission wait for the one before it to reach disk. A sequence is never rolled
//! back, so a submission that fails after taking its number leaves a gap — nothing is lost.

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::schema::reference_counters::{self, dsl as c};
use super::DbConnection;
use crate::ids::Reference;

fn format(year: i32, n: i64) -> Reference {
    Reference::from(format!("SA-{year}-{n:05}"))
}

/// The year's sequence. Only digits reach the name.
fn sequence(year: i32) -> String {
    format!("reference_{}", year.clamp(0, 9999))
}

/// On PostgreSQL, takes the next number of `year` now, outside any transaction; `None` on SQLite,
/// which numbers in the write (`next`).
pub fn reserve(conn: &mut DbConnection, year: i32) -> QueryResult<Option<Reference>> {
    let DbConnection::Pg(pg) = conn else { return Ok(None) };
    #[derive(QueryableByName)]
    struct Next {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let take = |pg: &mut diesel::PgConnection| {
        diesel::sql_query(format!("SELECT nextval('{}') AS n", sequence(year))).get_result::<Next>(pg)
    };
    let n = match take(pg) {
        Ok(next) => next.n,
        // The year's first submission: make its sequence, after the year's counter row if an
        // older version numbered in it. Two instances may race to it; the loser's CREATE fails on
        // the catalog, and its second nextval finds the winner's sequence.
        Err(_) => {
            let counted: i64 = reference_counters::table
                .find(year)
                .select(c::last_value)
                .get_result::<i32>(pg)
                .optional()?
                .unwrap_or(0)
                .into();
            let create = format!("CREATE SEQUENCE IF NOT EXISTS {} START {}", sequence(year), counted + 1);
            let _ = diesel::sql_query(create).execute(pg);
            take(pg)?.n
        }
    };
    Ok(Some(format(year, n)))
}

/// Takes the next number of `year` from its counter row. Must run inside the submitting
/// transaction (SQLite's shared commit): a rollback returns the number.
pub fn next(conn: &mut DbConnection, year: i32) -> QueryResult<Reference> {
    let take = |conn: &mut DbConnection| -> QueryResult<Option<i32>> {
        diesel::update(reference_counters::table.find(year))
            .set(c::last_value.eq(c::last_value + 1))
            .returning(c::last_value)
            .get_result(conn)
            .optional()
    };
    // The year's row exists after its first submission, so this is one statement almost always.
    let n = match take(conn)? {
        Some(n) => n,
        None => {
            let row = (c::year.eq(year), c::last_value.eq(0));
            // Backend-specific only for the upsert; both speak ON CONFLICT DO NOTHING.
            match conn {
                DbConnection::Pg(pg) => {
                    diesel::insert_into(reference_counters::table).values(row).on_conflict_do_nothing().execute(pg)?
                }
                DbConnection::Sqlite(lite) => {
                    diesel::insert_into(reference_counters::table).values(row).on_conflict_do_nothing().execute(lite)?
                }
            };
            take(conn)?.ok_or(diesel::result::Error::NotFound)?
        }
    };
    Ok(format(year, n.into()))
}
