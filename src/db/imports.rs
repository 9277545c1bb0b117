//! Imports: the record of each run, and the queries an import writes deviations with.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text};

use super::schema::{deviations, imports};
use super::DbConnection;
use crate::ids::{ImportId, UserId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = imports)]
pub struct ImportRow {
    pub id: ImportId,
    pub created_at: NaiveDateTime,
    pub created_by: Option<UserId>,
    pub source_system: String,
    pub file_name: String,
    pub dry_run: bool,
    pub status: String,
    pub rows_read: i32,
    pub imported: i32,
    pub skipped: i32,
    pub refused: i32,
    /// The refused rows as JSON (line, column, code, reason, suggestions).
    pub report: String,
    pub finished_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &ImportRow) -> QueryResult<()> {
    diesel::insert_into(imports::table).values(row).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &ImportId) -> QueryResult<ImportRow> {
    imports::table.find(id).select(ImportRow::as_select()).first(conn)
}

/// Newest first.
pub fn list(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<ImportRow>> {
    imports::table
        .select(ImportRow::as_select())
        .order((imports::created_at.desc(), imports::id.desc()))
        .limit(limit)
        .load(conn)
}

/// Which of these ids of the source system are already here.
pub fn already(conn: &mut DbConnection, source_system: &str, ids: &[String]) -> QueryResult<HashSet<String>> {
    let mut found = HashSet::new();
    for chunk in ids.chunks(500) {
        let here: Vec<Option<String>> = deviations::table
            .filter(deviations::source_system.eq(source_system))
            .filter(deviations::source_id.eq_any(chunk))
            .select(deviations::source_id)
            .load(conn)?;
        found.extend(here.into_iter().flatten());
    }
    Ok(found)
}

#[derive(QueryableByName)]
struct Last {
    #[diesel(sql_type = Nullable<Text>)]
    reference: Option<String>,
}

/// The prefix of a year's imported references, `SA-2019-I`: a series of its own beside the
/// reported ones, which stay gap-free.
pub fn prefix(year: i32) -> String {
    format!("SA-{year}-I")
}

/// The highest number of the year's imported series so far (0 for none).
pub fn last_number(conn: &mut DbConnection, year: i32) -> QueryResult<i32> {
    let (from, to) = (prefix(year), format!("SA-{year}-J"));
    let sql = "SELECT max(reference) AS reference FROM deviations WHERE reference >= ";
    let last: Last = match conn {
        DbConnection::Pg(c) => diesel::sql_query(format!("{sql}$1 AND reference < $2"))
            .bind::<Text, _>(&from)
            .bind::<Text, _>(&to)
            .get_result(c)?,
        DbConnection::Sqlite(c) => diesel::sql_query(format!("{sql}? AND reference < ?"))
            .bind::<Text, _>(&from)
            .bind::<Text, _>(&to)
            .get_result(c)?,
    };
    Ok(last.reference.and_then(|r| r.strip_prefix(&from).and_then(|n| n.parse().ok())).unwrap_or(0))
}

/// Imports take turns per batch: two at once would number the same year from the same last number.
/// (SQLite's write transaction already does this.)
pub fn take_turn(conn: &mut DbConnection) -> QueryResult<()> {
    if let DbConnection::Pg(c) = conn {
        #[derive(QueryableByName)]
        struct Locked {
            #[diesel(sql_type = Integer)]
            _one: i32,
        }
        diesel::sql_query("SELECT 1 AS _one FROM (SELECT pg_advisory_xact_lock(7561374562)) AS l")
            .get_result::<Locked>(c)?;
    }
    Ok(())
}
