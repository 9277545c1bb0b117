//! The few columns statistics need — never free text, never people. Aggregated in SQL so a tertial
//! of a million-row table is read from indexes (migration 000006), not loaded row by row.

use crate::ids::{HealthCommunityId, OrganisationId};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp};

use super::schema::deviations::{self, dsl as d};
use super::DbConnection;

/// (breakdown, column) for every breakdown a caller may group by.
pub const COLUMNS: &[(&str, &str)] = &[
    ("direction", "direction"),
    ("category", "category"),
    ("reporting_organisation", "reporting_organisation_id"),
    ("recipient_organisation", "recipient_organisation_id"),
    ("recipient_unit", "recipient_unit_id"),
    ("harm_class", "harm_class"),
    ("harm_level", "harm_level"),
    ("kind", "kind"),
    ("status", "status"),
    ("health_community", "health_community_id"),
];

/// Deviations sharing every grouped breakdown value and handling-time figure; breakdowns that were
/// not asked for are None.
#[derive(Debug, Clone, QueryableByName)]
pub struct Cell {
    #[diesel(sql_type = Nullable<Text>)]
    pub direction: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub category: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub reporting_organisation: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub recipient_organisation: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub recipient_unit: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub harm_class: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub harm_level: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub kind: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub status: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub health_community: Option<String>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub acknowledge_days: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub answer_days: Option<i32>,
    #[diesel(sql_type = Nullable<Bool>)]
    pub answered_on_time: Option<bool>,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

impl Cell {
    pub fn value(&self, dimension: &str) -> Option<&String> {
        match dimension {
            "direction" => self.direction.as_ref(),
            "category" => self.category.as_ref(),
            "reporting_organisation" => self.reporting_organisation.as_ref(),
            "recipient_organisation" => self.recipient_organisation.as_ref(),
            "recipient_unit" => self.recipient_unit.as_ref(),
            "harm_class" => self.harm_class.as_ref(),
            "harm_level" => self.harm_level.as_ref(),
            "kind" => self.kind.as_ref(),
            "status" => self.status.as_ref(),
            "health_community" => self.health_community.as_ref(),
            _ => None,
        }
    }
}

/// The SQL here numbers its parameters PostgreSQL's way (`$1`); SQLite's numbered form is `?1`.
fn dialect(conn: &DbConnection, sql: String) -> String {
    match conn {
        DbConnection::Sqlite(_) => sql.replace('$', "?"),
        DbConnection::Pg(_) => sql,
    }
}

/// Whose deviations statistics count: the whole region, one helsefellesskap (those reported in
/// it), or one organisation (those it sent or received).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsScope {
    All,
    Community(HealthCommunityId),
    Organisation(OrganisationId),
}

impl StatsScope {
    fn sql(&self, param: usize) -> String {
        match self {
            StatsScope::All => String::new(),
            StatsScope::Community(_) => format!(" AND health_community_id = ${param}"),
            StatsScope::Organisation(_) => {
                format!(" AND (reporting_organisation_id = ${param} OR recipient_organisation_id = ${param})")
            }
        }
    }

    /// The value bound to the scope's parameter.
    pub fn value(&self) -> Option<&str> {
        match self {
            StatsScope::All => None,
            StatsScope::Community(id) => Some(id.as_str()),
            StatsScope::Organisation(id) => Some(id.as_str()),
        }
    }

    pub fn organisation(&self) -> Option<&OrganisationId> {
        match self {
            StatsScope::Organisation(id) => Some(id),
            _ => None,
        }
    }

    pub fn community(&self) -> Option<&HealthCommunityId> {
        match self {
            StatsScope::Community(id) => Some(id),
            _ => None,
        }
    }
}

/// Deviations submitted in [from, to), optionally only those an organisation sent or received,
/// counted per combination of `dimensions` and handling-time figures.
pub fn cells(
    conn: &mut DbConnection,
    scope: &StatsScope,
    from: NaiveDateTime,
    to: NaiveDateTime,
    dimensions: &[&str],
) -> QueryResult<Vec<Cell>> {
    let grouped: Vec<&str> = COLUMNS.iter().filter(|(dim, _)| dimensions.contains(dim)).map(|(_, col)| *col).collect();
    let select: Vec<String> = COLUMNS
        .iter()
        .map(|(dim, col)| match dimensions.contains(dim) {
            true => format!("{col} AS {dim}"),
            false => format!("CAST(NULL AS TEXT) AS {dim}"),
        })
        .collect();
    let group_by = [grouped.as_slice(), &["acknowledge_days", "answer_days", "answered_on_time"]].concat().join(", ");
    let sql = format!(
        "SELECT {}, acknowledge_days, answer_days, answered_on_time, COUNT(*) AS n FROM deviations \
         WHERE submitted_at >= $1 AND submitted_at < $2{} GROUP BY {group_by}",
        select.join(", "),
        scope.sql(3),
    );
    let query = diesel::sql_query(dialect(conn, sql)).into_boxed().bind::<Timestamp, _>(from).bind::<Timestamp, _>(to);
    match scope.value() {
        Some(v) => query.bind::<Text, _>(v.to_owned()).load(conn),
        None => query.load(conn),
    }
}

type Boxed<'a> = deviations::BoxedQuery<'a, super::MultiBackend>;

fn scoped(scope: &StatsScope) -> Boxed<'static> {
    let q = deviations::table.into_boxed();
    match scope {
        StatsScope::Organisation(org) => q.filter(
            d::reporting_organisation_id.eq(org.to_owned()).or(d::recipient_organisation_id.eq(org.to_owned())),
        ),
        StatsScope::Community(c) => q.filter(d::health_community_id.eq(c.to_owned())),
        StatsScope::All => q,
    }
}

pub fn count_submitted_in(
    conn: &mut DbConnection,
    scope: &StatsScope,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<i64> {
    scoped(scope).filter(d::submitted_at.ge(from).and(d::submitted_at.lt(to))).count().get_result(conn)
}

/// What an action's effect is counted in: one helsefellesskap, optionally one direction and one
/// receiving unit.
pub struct EffectScope<'a> {
    pub community: &'a HealthCommunityId,
    pub direction: Option<&'a str>,
    pub unit: Option<&'a crate::ids::UnitId>,
}

/// Deviations submitted in [from, to) in the scope: (of `category`, of every category).
pub fn category_share_in(
    conn: &mut DbConnection,
    scope: &EffectScope,
    category: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<(i64, i64)> {
    let base = || {
        let mut q = deviations::table
            .into_boxed()
            .filter(d::health_community_id.eq(scope.community.to_owned()))
            .filter(d::submitted_at.ge(from).and(d::submitted_at.lt(to)));
        if let Some(direction) = scope.direction {
            q = q.filter(d::direction.eq(direction.to_owned()));
        }
        if let Some(unit) = scope.unit {
            q = q.filter(d::recipient_unit_id.eq(unit.to_owned()));
        }
        q
    };
    let of_category = base().filter(d::category.eq(category.to_owned())).count().get_result(conn)?;
    let all = base().count().get_result(conn)?;
    Ok((of_category, all))
}

/// Of the deviations submitted in [from, to), those whose category the recipient changed.
pub fn count_recategorised_in(
    conn: &mut DbConnection,
    scope: &StatsScope,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<i64> {
    scoped(scope)
        .filter(d::submitted_at.ge(from).and(d::submitted_at.lt(to)))
        .filter(d::reported_category.is_not_null())
        .count()
        .get_result(conn)
}

/// Of the deviations submitted in [from, to), those imported from a quality system's export.
pub fn count_imported_in(
    conn: &mut DbConnection,
    scope: &StatsScope,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<i64> {
    scoped(scope)
        .filter(d::submitted_at.ge(from).and(d::submitted_at.lt(to)))
        .filter(d::source_system.is_not_null())
        .count()
        .get_result(conn)
}

#[derive(QueryableByName)]
struct Open {
    #[diesel(sql_type = BigInt)]
    open: i64,
    #[diesel(sql_type = BigInt)]
    overdue: i64,
}

/// Open at `at` (submitted before, neither answered nor closed by then), and of those, how many
/// had an answer deadline before `due_before` (overdue).
pub fn open_at(
    conn: &mut DbConnection,
    scope: &StatsScope,
    at: NaiveDateTime,
    due_before: &str,
) -> QueryResult<(i64, i64)> {
    let mut total = (0, 0);
    // Two ranges of the resolved index; an OR of both would make either planner scan.
    // `resolved_at` is a generated column (migration 000006): the earlier of answered and closed.
    for resolved in ["resolved_at IS NULL", "resolved_at >= $1"] {
        let sql = format!(
            "SELECT COUNT(*) AS open, COALESCE(SUM(CASE WHEN answer_due < $2 THEN 1 ELSE 0 END), 0) AS overdue \
             FROM deviations WHERE submitted_at < $1 AND {resolved}{}",
            scope.sql(3),
        );
        let query = diesel::sql_query(dialect(conn, sql))
            .into_boxed()
            .bind::<Timestamp, _>(at)
            .bind::<Text, _>(due_before.to_owned());
        let row: Open = match scope.value() {
            Some(v) => query.bind::<Text, _>(v.to_owned()).get_result(conn)?,
            None => query.get_result(conn)?,
        };
        total = (total.0 + row.open, total.1 + row.overdue);
    }
    Ok(total)
}

/// One deviation as the analysts' export has it: what the statistics count, never free text,
/// people or patient.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = deviations)]
pub struct ExportRow {
    pub id: String,
    pub reference: String,
    pub submitted_at: NaiveDateTime,
    pub received_at: NaiveDateTime,
    pub occurred_at: String,
    pub direction: String,
    pub kind: String,
    pub category: String,
    pub reported_category: Option<String>,
    pub harm_class: String,
    pub harm_level: Option<String>,
    pub handover_related: bool,
    pub status: String,
    pub health_community_id: String,
    pub reporting_organisation_id: String,
    pub reporting_unit_id: Option<String>,
    pub recipient_organisation_id: String,
    pub recipient_unit_id: Option<String>,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub answered_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub acknowledge_due: String,
    pub answer_due: String,
    pub acknowledge_days: Option<i32>,
    pub answer_days: Option<i32>,
    pub answered_on_time: Option<bool>,
    pub source_system: Option<String>,
}

/// The next `limit` deviations submitted in [from, to) after `after` (submitted_at, id): pages by
/// key, so the millionth row costs what the first does.
pub fn export_page(
    conn: &mut DbConnection,
    scope: &StatsScope,
    (from, to): (NaiveDateTime, NaiveDateTime),
    after: Option<&(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<ExportRow>> {
    let mut q = scoped(scope).filter(d::submitted_at.ge(from).and(d::submitted_at.lt(to)));
    if let Some((at, id)) = after {
        q = q.filter(d::submitted_at.gt(*at).or(d::submitted_at.eq(*at).and(d::id.gt(id.to_owned()))));
    }
    q.select(ExportRow::as_select()).order((d::submitted_at.asc(), d::id.asc())).limit(limit).load(conn)
}
