//! Deviation rows. Every read takes a `Scope`, so what a caller may see is decided in the query.

use crate::ids::{DeviationId, HealthCommunityId, OrganisationId, Reference, UnitId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::deviations::{self, dsl as d};
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = deviations)]
pub struct DeviationRow {
    pub id: DeviationId,
    pub reference: Reference,
    pub kind: String,
    pub category: String,
    pub status: String,
    pub direction: String,
    pub reporter_id: UserId,
    pub reporting_organisation_id: OrganisationId,
    pub reporting_unit_id: Option<UnitId>,
    pub recipient_organisation_id: OrganisationId,
    pub recipient_unit_id: Option<UnitId>,
    pub handler_id: Option<UserId>,
    pub occurred_at: String,
    pub discovered_at: Option<String>,
    pub description: String,
    pub harm_class: String,
    pub harm_level: Option<String>,
    pub handover_related: bool,
    pub answer: Option<String>,
    pub answer_actions: Option<String>,
    pub submitted_at: NaiveDateTime,
    pub received_at: NaiveDateTime,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub answered_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub acknowledge_due: String,
    pub answer_due: String,
    pub updated_at: NaiveDateTime,
    pub acknowledge_days: Option<i32>,
    pub answer_days: Option<i32>,
    pub answered_on_time: Option<bool>,
    /// The helsefellesskap it was reported in (the reporting organisation's).
    pub health_community_id: HealthCommunityId,
    /// The form's optional free-text answers as a JSON object (`deviations::form::Details`).
    pub details: String,
    /// The reporter's choice when the recipient changed the category; None while unchanged.
    pub reported_category: Option<String>,
    /// The Oslo date (`YYYY-MM-DD`) on which the reminder job next looks at it; None: never.
    pub next_reminder_on: Option<String>,
    /// The quality system an imported deviation came from, and its id there; None when reported here.
    pub source_system: Option<String>,
    pub source_id: Option<String>,
}

/// Changes made by a lifecycle action. `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = deviations)]
pub struct DeviationChanges {
    pub status: Option<String>,
    pub category: Option<String>,
    pub reported_category: Option<Option<String>>,
    pub direction: Option<String>,
    pub recipient_organisation_id: Option<OrganisationId>,
    pub recipient_unit_id: Option<Option<UnitId>>,
    pub handler_id: Option<Option<UserId>>,
    pub answer: Option<Option<String>>,
    pub answer_actions: Option<Option<String>>,
    pub received_at: Option<NaiveDateTime>,
    pub acknowledged_at: Option<Option<NaiveDateTime>>,
    pub answered_at: Option<Option<NaiveDateTime>>,
    pub closed_at: Option<Option<NaiveDateTime>>,
    pub acknowledge_due: Option<String>,
    pub answer_due: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
    pub acknowledge_days: Option<Option<i32>>,
    pub answer_days: Option<Option<i32>>,
    pub answered_on_time: Option<Option<bool>>,
}

/// What the caller may read.
#[derive(Debug, Clone)]
pub enum Scope {
    /// Deviations the organisation sent or currently receives.
    Organisation(OrganisationId),
    /// Every deviation (analysts; the view is de-identified by the caller).
    All,
    /// Every deviation reported in one helsefellesskap (its analysts; de-identified).
    Community(HealthCommunityId),
    /// None at all (admins: they keep the directory, not cases).
    Nothing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mailbox {
    Sent,
    Received,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Newest,
    Oldest,
    Deadline,
}

#[derive(Debug, Clone)]
pub struct ListFilter {
    pub scope: Scope,
    pub mailbox: Mailbox,
    pub statuses: Vec<String>,
    pub category: Option<String>,
    pub direction: Option<String>,
    pub counterpart: Option<OrganisationId>,
    pub unit: Option<UnitId>,
    pub overdue: Option<bool>,
    pub today: String,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    /// Matched against the reference, and the description when `search_text` is set.
    pub q: Option<String>,
    pub search_text: bool,
    pub sort: Sort,
    /// Keyset position: the sort value and the id of the last row already seen.
    pub after: Option<(String, String)>,
    pub limit: i64,
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

type Boxed<'a> = deviations::BoxedQuery<'a, super::MultiBackend>;

pub(super) fn scoped(scope: &Scope, mailbox: Mailbox) -> Boxed<'static> {
    let q = deviations::table.into_boxed();
    match (scope, mailbox) {
        (Scope::All, _) => q,
        // The primary key is never null: a filter that matches no row, in every backend.
        (Scope::Nothing, _) => q.filter(d::id.is_null()),
        (Scope::Community(c), _) => q.filter(d::health_community_id.eq(c.clone())),
        (Scope::Organisation(org), Mailbox::Sent) => q.filter(d::reporting_organisation_id.eq(org.clone())),
        (Scope::Organisation(org), Mailbox::Received) => q.filter(d::recipient_organisation_id.eq(org.clone())),
        (Scope::Organisation(org), Mailbox::All) => {
            q.filter(d::reporting_organisation_id.eq(org.clone()).or(d::recipient_organisation_id.eq(org.clone())))
        }
    }
}

/// One deviation within `scope`. Not built on the boxed list query: a fixed query shape is a
/// prepared statement PostgreSQL parses and plans once per connection, not on every read.
pub fn find(conn: &mut DbConnection, scope: &Scope, id: &DeviationId) -> QueryResult<DeviationRow> {
    let one = deviations::table.find(id).select(DeviationRow::as_select());
    match scope {
        Scope::All => one.first(conn),
        Scope::Nothing => Err(diesel::result::Error::NotFound),
        Scope::Community(c) => one.filter(d::health_community_id.eq(c)).first(conn),
        Scope::Organisation(org) => {
            one.filter(d::reporting_organisation_id.eq(org).or(d::recipient_organisation_id.eq(org))).first(conn)
        }
    }
}

/// The reference numbers of these deviations.
pub fn references(conn: &mut DbConnection, ids: &[DeviationId]) -> QueryResult<Vec<(DeviationId, Reference)>> {
    deviations::table.filter(d::id.eq_any(ids)).select((d::id, d::reference)).load(conn)
}

/// Whether a deviation with this id exists at all (to log denied access without telling the caller).
pub fn exists(conn: &mut DbConnection, id: &DeviationId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(deviations::table.find(id))).get_result(conn)
}

pub fn insert(conn: &mut DbConnection, row: &DeviationRow) -> QueryResult<()> {
    diesel::insert_into(deviations::table).values(row).execute(conn).map(|_| ())
}

/// Applies `changes` only if the status is still `expected_status`, so two racing actions cannot
/// both succeed. Returns whether the row was updated.
pub fn update_if_status(
    conn: &mut DbConnection,
    id: &DeviationId,
    expected_status: &str,
    changes: &DeviationChanges,
) -> QueryResult<bool> {
    let row = deviations::table.find(id).filter(d::status.eq(expected_status));
    // A new status or new deadlines may move the next reminder either way: the reminder job looks
    // at it again on its next pass and works out the date (`mail::reminders::enqueue_due`).
    let n = match changes.status.is_some() || changes.acknowledge_due.is_some() || changes.answer_due.is_some() {
        true => {
            // Today in Norway, as the job reads it: the UTC date is the day before in the last
            // hour or two of a Norwegian day.
            let at = changes.updated_at.unwrap_or_else(|| chrono::Utc::now().naive_utc());
            let today = crate::domain::calendar::oslo_date(at).to_string();
            diesel::update(row).set((changes, d::next_reminder_on.eq(Some(today)))).execute(conn)?
        }
        false => diesel::update(row).set(changes).execute(conn)?,
    };
    Ok(n == 1)
}

pub fn list(conn: &mut DbConnection, f: &ListFilter) -> QueryResult<Vec<DeviationRow>> {
    let mut q = scoped(&f.scope, f.mailbox);
    if !f.statuses.is_empty() {
        q = q.filter(d::status.eq_any(f.statuses.clone()));
    }
    if let Some(c) = &f.category {
        q = q.filter(d::category.eq(c.clone()));
    }
    if let Some(dir) = &f.direction {
        q = q.filter(d::direction.eq(dir.clone()));
    }
    if let Some(org) = &f.counterpart {
        q = match f.mailbox {
            Mailbox::Sent => q.filter(d::recipient_organisation_id.eq(org.clone())),
            Mailbox::Received => q.filter(d::reporting_organisation_id.eq(org.clone())),
            Mailbox::All => {
                q.filter(d::recipient_organisation_id.eq(org.clone()).or(d::reporting_organisation_id.eq(org.clone())))
            }
        };
    }
    if let Some(unit) = &f.unit {
        q = q.filter(d::recipient_unit_id.eq(unit.clone()).or(d::reporting_unit_id.eq(unit.clone())));
    }
    if let Some(overdue) = f.overdue {
        let late_ack = d::status.eq("submitted").and(d::acknowledge_due.lt(f.today.clone()));
        let late_answer = d::status.eq_any(["submitted", "in_progress"]).and(d::answer_due.lt(f.today.clone()));
        q = if overdue {
            q.filter(late_ack.or(late_answer))
        } else {
            q.filter(diesel::dsl::not(late_ack.or(late_answer)))
        };
    }
    if let Some(from) = f.from {
        q = q.filter(d::submitted_at.ge(from));
    }
    if let Some(to) = f.to {
        q = q.filter(d::submitted_at.lt(to));
    }
    if let Some(text) = &f.q {
        let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
        q = if f.search_text {
            q.filter(
                lower(d::reference)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(d::description).like(pattern).escape('\\')),
            )
        } else {
            q.filter(lower(d::reference).like(pattern).escape('\\'))
        };
    }
    q = match (f.sort, &f.after) {
        (Sort::Newest, Some((v, id))) => {
            let at = parse_cursor_time(v);
            q.filter(d::submitted_at.lt(at).or(d::submitted_at.eq(at).and(d::id.lt(id.clone()))))
        }
        (Sort::Oldest, Some((v, id))) => {
            let at = parse_cursor_time(v);
            q.filter(d::submitted_at.gt(at).or(d::submitted_at.eq(at).and(d::id.gt(id.clone()))))
        }
        (Sort::Deadline, Some((v, id))) => {
            q.filter(d::answer_due.gt(v.clone()).or(d::answer_due.eq(v.clone()).and(d::id.gt(id.clone()))))
        }
        (_, None) => q,
    };
    q = match f.sort {
        Sort::Newest => q.order((d::submitted_at.desc(), d::id.desc())),
        Sort::Oldest => q.order((d::submitted_at.asc(), d::id.asc())),
        Sort::Deadline => q.order((d::answer_due.asc(), d::id.asc())),
    };
    q.limit(f.limit).select(DeviationRow::as_select()).load(conn)
}

pub const CURSOR_TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.f";

fn parse_cursor_time(v: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(v, CURSOR_TIME_FORMAT).unwrap_or_default()
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Answered deviations whose answer is older than `answered_before`: candidates for auto-close.
pub fn answered_before(
    conn: &mut DbConnection,
    answered_before: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<DeviationId>> {
    deviations::table
        .filter(d::status.eq("answered"))
        .filter(d::answered_at.lt(answered_before))
        // Imported cases keep the status their system gave them: closing them would mail people
        // who never used samavvik about cases years old.
        .filter(d::source_system.is_null())
        .select(d::id)
        .order(d::answered_at.asc())
        .limit(limit)
        .load(conn)
}

/// Deviations whose reminder job date is `today` or before, earliest first, at most `limit`.
pub fn reminders_due(conn: &mut DbConnection, today: &str, limit: i64) -> QueryResult<Vec<DeviationRow>> {
    deviations::table
        .filter(d::next_reminder_on.le(today))
        .order(d::next_reminder_on.asc())
        .limit(limit)
        .select(DeviationRow::as_select())
        .load(conn)
}

/// Sets the date the reminder job looks at `row` next, unless its status, deadlines or start
/// changed since it was read (that change has set a date of its own). True if set.
pub fn set_next_reminder(conn: &mut DbConnection, row: &DeviationRow, next: Option<String>) -> QueryResult<bool> {
    let unchanged = deviations::table
        .find(&row.id)
        .filter(d::status.eq(&row.status))
        .filter(d::received_at.eq(row.received_at))
        .filter(d::acknowledge_due.eq(&row.acknowledge_due))
        .filter(d::answer_due.eq(&row.answer_due));
    Ok(diesel::update(unchanged).set(d::next_reminder_on.eq(next)).execute(conn)? == 1)
}

/// The organisations this person sent to most recently, newest first, at most `limit`: the form
/// offers them first. Reads her own latest reports only, newest first, so it stays cheap.
pub fn recent_recipients(conn: &mut DbConnection, reporter: &UserId, limit: usize) -> QueryResult<Vec<OrganisationId>> {
    let latest: Vec<OrganisationId> = d::deviations
        .filter(d::reporter_id.eq(reporter))
        .order(d::submitted_at.desc())
        .select(d::recipient_organisation_id)
        .limit(50)
        .load(conn)?;
    let mut recent: Vec<OrganisationId> = Vec::with_capacity(limit);
    for id in latest {
        if recent.len() == limit {
            break;
        }
        if !recent.contains(&id) {
            recent.push(id);
        }
    }
    Ok(recent)
}

/// Many rows at once (generated and imported deviations), 500 to a statement.
pub fn insert_many(conn: &mut DbConnection, rows: &[DeviationRow]) -> QueryResult<()> {
    for chunk in rows.chunks(500) {
        match conn {
            DbConnection::Pg(c) => diesel::insert_into(deviations::table).values(chunk).execute(c)?,
            DbConnection::Sqlite(c) => diesel::insert_into(deviations::table).values(chunk).execute(c)?,
        };
    }
    Ok(())
}

/// Right after a bulk load the planner has no statistics and PostgreSQL's visibility map is unset
/// (no index-only scans): the tertial report took 9 s instead of 2 s on a million rows.
pub fn make_ready(conn: &mut DbConnection) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    match conn {
        DbConnection::Pg(c) => c.batch_execute("VACUUM ANALYZE deviations, users"),
        DbConnection::Sqlite(c) => c.batch_execute("ANALYZE deviations; ANALYZE users"),
    }
}
