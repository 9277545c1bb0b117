//! Hendelsesanalyser and what hangs on them: linked deviations, participants, contributing
//! factors, their own timeline, and their references (numbered per helsefellesskap and year).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::schema::analyses::{self, dsl as a};
use super::schema::analysis_deviations::{self, dsl as ad};
use super::schema::analysis_events::{self, dsl as ae};
use super::schema::analysis_factors::{self, dsl as af};
use super::schema::analysis_participants::{self, dsl as ap};
use super::schema::analysis_reference_counters::{self, dsl as rc};
use super::DbConnection;
use crate::ids::{AnalysisId, DeviationId, HealthCommunityId, OrganisationId, UserId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = analyses)]
pub struct AnalysisRow {
    pub id: AnalysisId,
    pub health_community_id: HealthCommunityId,
    pub reference: String,
    pub title: String,
    pub status: String,
    pub timeline: String,
    pub care_problems: String,
    pub conclusion: Option<String>,
    pub created_by: UserId,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = analysis_factors)]
pub struct FactorRow {
    pub id: String,
    pub analysis_id: AnalysisId,
    pub category: String,
    pub description: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = analysis_events)]
pub struct AnalysisEventRow {
    pub id: String,
    pub analysis_id: AnalysisId,
    pub at: NaiveDateTime,
    pub actor_id: Option<UserId>,
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub text: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &AnalysisRow) -> QueryResult<()> {
    diesel::insert_into(analyses::table).values(row).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &AnalysisId) -> QueryResult<AnalysisRow> {
    analyses::table.find(id).select(AnalysisRow::as_select()).first(conn)
}

/// Writes `row` over the stored one if nobody changed it since `version` was read; false if
/// someone did (answered as a conflict).
pub fn update(conn: &mut DbConnection, row: &AnalysisRow, version: i32) -> QueryResult<bool> {
    let n = diesel::update(analyses::table.filter(a::id.eq(&row.id)).filter(a::version.eq(version)))
        .set((
            a::title.eq(&row.title),
            a::status.eq(&row.status),
            a::timeline.eq(&row.timeline),
            a::care_problems.eq(&row.care_problems),
            a::conclusion.eq(&row.conclusion),
            a::updated_at.eq(row.updated_at),
            a::version.eq(version.saturating_add(1)),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// The analyses of one helsefellesskap (None: all) that `participant` takes part in, or all of
/// them when `participant` is None (the improvement group), newest change first.
pub fn list(
    conn: &mut DbConnection,
    community: Option<&HealthCommunityId>,
    participant: Option<&UserId>,
) -> QueryResult<Vec<AnalysisRow>> {
    let mut q = analyses::table.into_boxed();
    if let Some(c) = community {
        q = q.filter(a::health_community_id.eq(c.clone()));
    }
    if let Some(user) = participant {
        let mine = analysis_participants::table.filter(ap::user_id.eq(user.clone())).select(ap::analysis_id);
        q = q.filter(a::id.eq_any(mine));
    }
    q.order(a::updated_at.desc()).select(AnalysisRow::as_select()).load(conn)
}

pub fn link(conn: &mut DbConnection, id: &AnalysisId, deviation: &DeviationId, at: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(analysis_deviations::table)
        .values((ad::analysis_id.eq(id), ad::deviation_id.eq(deviation), ad::linked_at.eq(at)))
        .execute(conn)
        .map(|_| ())
}

pub fn deviations(conn: &mut DbConnection, id: &AnalysisId) -> QueryResult<Vec<DeviationId>> {
    analysis_deviations::table
        .filter(ad::analysis_id.eq(id))
        .order((ad::linked_at.asc(), ad::deviation_id.asc()))
        .select(ad::deviation_id)
        .load(conn)
}

pub fn add_participant(conn: &mut DbConnection, id: &AnalysisId, user: &UserId, at: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(analysis_participants::table)
        .values((ap::analysis_id.eq(id), ap::user_id.eq(user), ap::added_at.eq(at)))
        .execute(conn)
        .map(|_| ())
}

/// The organisations that are parties to the analysis's linked deviations (sender or holder).
pub fn parties(conn: &mut DbConnection, id: &AnalysisId) -> QueryResult<Vec<OrganisationId>> {
    use super::schema::deviations::dsl as d;
    let linked: Vec<(OrganisationId, OrganisationId)> = analysis_deviations::table
        .inner_join(super::schema::deviations::table)
        .filter(ad::analysis_id.eq(id))
        .select((d::reporting_organisation_id, d::recipient_organisation_id))
        .load(conn)?;
    let mut orgs: Vec<OrganisationId> = linked.into_iter().flat_map(|(a, b)| [a, b]).collect();
    orgs.sort();
    orgs.dedup();
    Ok(orgs)
}

pub fn participants(conn: &mut DbConnection, id: &AnalysisId) -> QueryResult<Vec<UserId>> {
    analysis_participants::table
        .filter(ap::analysis_id.eq(id))
        .order((ap::added_at.asc(), ap::user_id.asc()))
        .select(ap::user_id)
        .load(conn)
}

/// The people who might take part: active persons of the parties, and every active analyst, with
/// their organisation's name and helsefellesskap (the policy decides who of them may).
pub fn candidates(
    conn: &mut DbConnection,
    parties: &[OrganisationId],
) -> QueryResult<Vec<(super::users::UserRow, String, Option<HealthCommunityId>)>> {
    use super::schema::organisations::dsl as o;
    use super::schema::users::dsl as u;
    super::schema::users::table
        .inner_join(super::schema::organisations::table)
        .filter(u::active.eq(true).and(u::machine.eq(false)).and(u::pending.eq(false)))
        .filter(u::organisation_id.eq_any(parties).or(u::role.eq("analyst")))
        .order((o::name.asc(), u::name.asc()))
        .select((super::users::UserRow::as_select(), o::name, o::health_community_id))
        .load(conn)
}

pub fn is_participant(conn: &mut DbConnection, id: &AnalysisId, user: &UserId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        analysis_participants::table.filter(ap::analysis_id.eq(id)).filter(ap::user_id.eq(user)),
    ))
    .get_result(conn)
}

/// The references of these analyses, in one query.
pub fn references(conn: &mut DbConnection, ids: &[AnalysisId]) -> QueryResult<Vec<(AnalysisId, String)>> {
    analyses::table.filter(a::id.eq_any(ids)).select((a::id, a::reference)).load(conn)
}

/// Whether the user takes part in any analysis (the menu shows the analyses to them).
pub fn takes_part(conn: &mut DbConnection, user: &UserId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(analysis_participants::table.filter(ap::user_id.eq(user)))).get_result(conn)
}

pub fn add_factor(conn: &mut DbConnection, row: &FactorRow) -> QueryResult<()> {
    diesel::insert_into(analysis_factors::table).values(row).execute(conn).map(|_| ())
}

pub fn factors(conn: &mut DbConnection, id: &AnalysisId) -> QueryResult<Vec<FactorRow>> {
    analysis_factors::table
        .filter(af::analysis_id.eq(id))
        .order((af::created_at.asc(), af::id.asc()))
        .select(FactorRow::as_select())
        .load(conn)
}

pub fn record(conn: &mut DbConnection, row: &AnalysisEventRow) -> QueryResult<()> {
    diesel::insert_into(analysis_events::table).values(row).execute(conn).map(|_| ())
}

pub fn events(conn: &mut DbConnection, id: &AnalysisId) -> QueryResult<Vec<AnalysisEventRow>> {
    analysis_events::table
        .filter(ae::analysis_id.eq(id))
        .order((ae::at.asc(), ae::id.asc()))
        .select(AnalysisEventRow::as_select())
        .load(conn)
}

/// The sequence of one helsefellesskap and year on PostgreSQL. Only hex digits of the id and
/// the year's digits reach the name.
fn sequence(community: &HealthCommunityId, year: i32) -> String {
    let hex: String = community.as_str().chars().filter(char::is_ascii_hexdigit).collect();
    format!("analysis_ref_{hex}_{}", year.clamp(0, 9999))
}

/// On PostgreSQL, takes the next number of the helsefellesskap's year from its sequence, before
/// and outside the write: no row stays locked until commit, and a failed create leaves a gap.
/// `None` on SQLite, which counts in the write (`next_number`).
pub fn reserve_number(conn: &mut DbConnection, community: &HealthCommunityId, year: i32) -> QueryResult<Option<i64>> {
    let DbConnection::Pg(pg) = conn else { return Ok(None) };
    #[derive(QueryableByName)]
    struct Next {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let name = sequence(community, year);
    let take = |pg: &mut diesel::PgConnection| {
        diesel::sql_query(format!("SELECT nextval('{name}') AS n")).get_result::<Next>(pg)
    };
    match take(pg) {
        Ok(next) => Ok(Some(next.n)),
        Err(_) => {
            // The year's first analysis; two instances may race to make the sequence.
            let _ = diesel::sql_query(format!("CREATE SEQUENCE IF NOT EXISTS {name}")).execute(pg);
            Ok(Some(take(pg)?.n))
        }
    }
}

/// The next number of the helsefellesskap's year from its counter row, in the caller's write
/// (SQLite: one writer, no gaps).
pub fn next_number(conn: &mut DbConnection, community: &HealthCommunityId, year: i32) -> QueryResult<i64> {
    let counter =
        || analysis_reference_counters::table.filter(rc::health_community_id.eq(community)).filter(rc::year.eq(year));
    let row = (rc::health_community_id.eq(community), rc::year.eq(year), rc::last_value.eq(0));
    match conn {
        DbConnection::Pg(pg) => {
            diesel::insert_into(analysis_reference_counters::table).values(row).on_conflict_do_nothing().execute(pg)?
        }
        DbConnection::Sqlite(lite) => diesel::insert_into(analysis_reference_counters::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(lite)?,
    };
    diesel::update(counter()).set(rc::last_value.eq(rc::last_value + 1)).execute(conn)?;
    let n: i32 = counter().select(rc::last_value).first(conn)?;
    Ok(n.into())
}
