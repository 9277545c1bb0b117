//! `job_runs`: one row per periodic job and due time. Inserting it is the claim; with several
//! instances on one database exactly one insert wins.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::job_runs::{self, dsl as j};
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = job_runs)]
pub struct JobRunRow {
    pub job: String,
    pub due_at: NaiveDateTime,
    pub instance: String,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub items: Option<i32>,
}

/// Claims `job`'s run for `due_at` for `instance`. True if this call won it.
pub fn claim(
    conn: &mut DbConnection,
    job: &str,
    due_at: NaiveDateTime,
    instance: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let row = JobRunRow {
        job: job.to_owned(),
        due_at,
        instance: instance.to_owned(),
        started_at: now,
        finished_at: None,
        items: None,
    };
    // Backend-specific only for the upsert; both speak ON CONFLICT DO NOTHING.
    let inserted = match conn {
        DbConnection::Pg(pg) => {
            diesel::insert_into(job_runs::table).values(&row).on_conflict_do_nothing().execute(pg)?
        }
        DbConnection::Sqlite(lite) => {
            diesel::insert_into(job_runs::table).values(&row).on_conflict_do_nothing().execute(lite)?
        }
    };
    Ok(inserted == 1)
}

pub fn finish(
    conn: &mut DbConnection,
    job: &str,
    due_at: NaiveDateTime,
    at: NaiveDateTime,
    items: usize,
) -> QueryResult<()> {
    diesel::update(job_runs::table.find((job, due_at)))
        .set((j::finished_at.eq(Some(at)), j::items.eq(Some(i32::try_from(items).unwrap_or(i32::MAX)))))
        .execute(conn)
        .map(|_| ())
}

/// Every run recorded, oldest first (tests and operators).
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<JobRunRow>> {
    job_runs::table.order((j::due_at.asc(), j::job.asc())).select(JobRunRow::as_select()).load(conn)
}

pub fn purge(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(job_runs::table.filter(j::due_at.lt(before))).execute(conn)
}
