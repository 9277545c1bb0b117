//! Human reference numbers, `SA-2026-00042`: per year, gap-free, unique under concurrency.

use diesel::prelude::*;

use super::schema::reference_counters::{self, dsl as c};
use super::DbConnection;
use crate::ids::Reference;

/// Takes the next number of `year`. Must run inside the submitting transaction: the counter row
/// stays locked until commit, and a rollback returns the number.
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
    Ok(Reference::from(format!("SA-{year}-{n:05}")))
}
