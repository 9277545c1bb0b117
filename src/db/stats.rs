//! The few columns statistics need — never free text, never people.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::deviations::{self, dsl as d};
use super::DbConnection;

#[derive(Debug, Clone, Queryable)]
pub struct StatRow {
    pub kind: String,
    pub category: String,
    pub status: String,
    pub direction: String,
    pub harm_class: String,
    pub harm_level: Option<String>,
    pub reporting_organisation_id: String,
    pub recipient_organisation_id: String,
    pub recipient_unit_id: Option<String>,
    pub acknowledge_days: Option<i32>,
    pub answer_days: Option<i32>,
    pub answered_on_time: Option<bool>,
}

type Boxed<'a> = deviations::BoxedQuery<'a, super::MultiBackend>;

fn scoped(organisation: Option<&str>) -> Boxed<'static> {
    let q = deviations::table.into_boxed();
    match organisation {
        Some(org) => q.filter(
            d::reporting_organisation_id.eq(org.to_owned()).or(d::recipient_organisation_id.eq(org.to_owned())),
        ),
        None => q,
    }
}

/// Deviations submitted in [from, to), optionally only those an organisation sent or received.
pub fn submitted_in(
    conn: &mut DbConnection,
    organisation: Option<&str>,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<StatRow>> {
    scoped(organisation)
        .filter(d::submitted_at.ge(from).and(d::submitted_at.lt(to)))
        .select((
            d::kind,
            d::category,
            d::status,
            d::direction,
            d::harm_class,
            d::harm_level,
            d::reporting_organisation_id,
            d::recipient_organisation_id,
            d::recipient_unit_id,
            d::acknowledge_days,
            d::answer_days,
            d::answered_on_time,
        ))
        .load(conn)
}

pub fn count_submitted_in(
    conn: &mut DbConnection,
    organisation: Option<&str>,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<i64> {
    scoped(organisation).filter(d::submitted_at.ge(from).and(d::submitted_at.lt(to))).count().get_result(conn)
}

/// Open at `at`: submitted before, and neither answered nor closed (or rejected) by then.
/// With `due_before`, only those whose answer deadline had passed (overdue).
pub fn open_at(
    conn: &mut DbConnection,
    organisation: Option<&str>,
    at: NaiveDateTime,
    due_before: Option<String>,
) -> QueryResult<i64> {
    let mut q = scoped(organisation)
        .filter(d::submitted_at.lt(at))
        .filter(d::answered_at.is_null().or(d::answered_at.ge(at)))
        .filter(d::closed_at.is_null().or(d::closed_at.ge(at)));
    if let Some(day) = due_before {
        q = q.filter(d::answer_due.lt(day));
    }
    q.count().get_result(conn)
}
