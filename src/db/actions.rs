//! Tiltak (#35) and their own timeline.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::action_events::{self, dsl as ae};
use super::schema::actions::{self, dsl as a};
use super::schema::analysis_participants::{self, dsl as ap};
use super::DbConnection;
use crate::ids::{ActionId, AnalysisId, HealthCommunityId, OrganisationId, UnitId, UserId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = actions, treat_none_as_null = true)]
pub struct ActionRow {
    pub id: ActionId,
    pub health_community_id: HealthCommunityId,
    pub analysis_id: Option<AnalysisId>,
    pub title: String,
    pub description: String,
    pub responsible_organisation_id: OrganisationId,
    pub responsible_user_id: UserId,
    pub due_on: NaiveDate,
    pub status: String,
    pub drop_reason: Option<String>,
    pub category: String,
    pub direction: Option<String>,
    pub unit_id: Option<UnitId>,
    pub effective_on: Option<NaiveDate>,
    pub reminder_stage: i32,
    pub created_by: UserId,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = action_events)]
pub struct ActionEventRow {
    pub id: String,
    pub action_id: ActionId,
    pub at: NaiveDateTime,
    pub actor_id: Option<UserId>,
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &ActionRow) -> QueryResult<()> {
    diesel::insert_into(actions::table).values(row).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &ActionId) -> QueryResult<ActionRow> {
    actions::table.find(id).select(ActionRow::as_select()).first(conn)
}

/// Writes `row` over the stored one if nobody changed it since `version` was read (false if
/// someone did), with the next version.
pub fn update(conn: &mut DbConnection, row: &ActionRow, version: i32) -> QueryResult<bool> {
    let next = ActionRow { version: version.saturating_add(1), ..row.clone() };
    let n = diesel::update(actions::table.filter(a::id.eq(&row.id)).filter(a::version.eq(version)))
        .set(&next)
        .execute(conn)?;
    Ok(n == 1)
}

/// Whose actions a list holds (the policy says which applies to the caller).
pub enum Scope<'a> {
    /// The improvement group: every action of its helsefellesskap (None: the region's, all).
    Community(Option<&'a HealthCommunityId>),
    /// A person: those they are responsible for, those of the analyses they take part in, and —
    /// for a quality advisor — those of their organisation.
    Person { user: &'a UserId, organisation: Option<&'a OrganisationId> },
}

/// What a list asks for within its scope.
#[derive(Default)]
pub struct Filter<'a> {
    pub responsible_user: Option<&'a UserId>,
    pub responsible_organisation: Option<&'a OrganisationId>,
    pub analysis: Option<&'a AnalysisId>,
    /// Still open with a due date before this day.
    pub due_before: Option<NaiveDate>,
}

pub fn list(conn: &mut DbConnection, scope: &Scope, filter: &Filter) -> QueryResult<Vec<ActionRow>> {
    let mut q = actions::table.into_boxed();
    match scope {
        Scope::Community(Some(c)) => q = q.filter(a::health_community_id.eq((*c).clone())),
        Scope::Community(None) => {}
        Scope::Person { user, organisation } => {
            let theirs = analysis_participants::table.filter(ap::user_id.eq((*user).clone())).select(ap::analysis_id);
            let own_org = (*organisation).cloned().unwrap_or_default();
            q = q.filter(
                a::responsible_user_id.eq((*user).clone()).or(a::analysis_id.eq_any(theirs.nullable())).or(
                    a::responsible_organisation_id
                        .eq(own_org)
                        .and(organisation.is_some().into_sql::<diesel::sql_types::Bool>()),
                ),
            );
        }
    }
    if let Some(u) = filter.responsible_user {
        q = q.filter(a::responsible_user_id.eq(u.clone()));
    }
    if let Some(o) = filter.responsible_organisation {
        q = q.filter(a::responsible_organisation_id.eq(o.clone()));
    }
    if let Some(id) = filter.analysis {
        q = q.filter(a::analysis_id.eq(id.clone()));
    }
    if let Some(day) = filter.due_before {
        q = q.filter(a::due_on.lt(day)).filter(a::status.eq_any(["planned", "in_progress"]));
    }
    q.order((a::due_on.asc(), a::id.asc())).select(ActionRow::as_select()).load(conn)
}

/// Open actions due by `horizon` that have not had their reminder on the day.
pub fn to_remind(conn: &mut DbConnection, horizon: NaiveDate) -> QueryResult<Vec<ActionRow>> {
    actions::table
        .filter(a::status.eq_any(["planned", "in_progress"]))
        .filter(a::reminder_stage.lt(2))
        .filter(a::due_on.le(horizon))
        .order((a::due_on.asc(), a::id.asc()))
        .select(ActionRow::as_select())
        .load(conn)
}

/// Records that the action's reminders have come to `stage` (never back).
pub fn set_reminder_stage(conn: &mut DbConnection, id: &ActionId, stage: i32) -> QueryResult<()> {
    diesel::update(actions::table.filter(a::id.eq(id)).filter(a::reminder_stage.lt(stage)))
        .set(a::reminder_stage.eq(stage))
        .execute(conn)
        .map(|_| ())
}

/// Whether the user is responsible for any action (the menu shows the actions to them).
pub fn responsible_for_any(conn: &mut DbConnection, user: &UserId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(actions::table.filter(a::responsible_user_id.eq(user)))).get_result(conn)
}

/// Done actions that took effect in [from, until], of one helsefellesskap or one responsible
/// organisation (neither: all), by the day they took effect.
pub fn with_effect(
    conn: &mut DbConnection,
    community: Option<&HealthCommunityId>,
    organisation: Option<&OrganisationId>,
    from: NaiveDate,
    until: NaiveDate,
) -> QueryResult<Vec<ActionRow>> {
    let mut q = actions::table
        .into_boxed()
        .filter(a::status.eq("done"))
        .filter(a::effective_on.ge(from))
        .filter(a::effective_on.le(until));
    if let Some(c) = community {
        q = q.filter(a::health_community_id.eq(c.clone()));
    }
    if let Some(o) = organisation {
        q = q.filter(a::responsible_organisation_id.eq(o.clone()));
    }
    q.order((a::effective_on.asc(), a::id.asc())).select(ActionRow::as_select()).load(conn)
}

pub fn record(conn: &mut DbConnection, row: &ActionEventRow) -> QueryResult<()> {
    diesel::insert_into(action_events::table).values(row).execute(conn).map(|_| ())
}

pub fn events(conn: &mut DbConnection, id: &ActionId) -> QueryResult<Vec<ActionEventRow>> {
    action_events::table
        .filter(ae::action_id.eq(id))
        .order((ae::at.asc(), ae::id.asc()))
        .select(ActionEventRow::as_select())
        .load(conn)
}
