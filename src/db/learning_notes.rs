//! Læringsnotater (#36).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::learning_notes::{self, dsl as n};
use super::DbConnection;
use crate::ids::{AnalysisId, HealthCommunityId, LearningNoteId, OrganisationId, UserId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = learning_notes)]
pub struct LearningNoteRow {
    pub id: LearningNoteId,
    pub analysis_id: AnalysisId,
    pub health_community_id: HealthCommunityId,
    pub title: String,
    pub what_happened: String,
    pub why: String,
    pub what_changed: String,
    pub author_id: UserId,
    pub author_organisation_id: OrganisationId,
    pub published_at: NaiveDateTime,
    pub unpublished_at: Option<NaiveDateTime>,
    pub unpublished_by: Option<UserId>,
}

pub fn insert(conn: &mut DbConnection, row: &LearningNoteRow) -> QueryResult<()> {
    diesel::insert_into(learning_notes::table).values(row).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &LearningNoteId) -> QueryResult<LearningNoteRow> {
    learning_notes::table.find(id).select(LearningNoteRow::as_select()).first(conn)
}

/// The published notes of a helsefellesskap (None: of all), newest first, optionally only those
/// published in `[from, to)`.
pub fn published(
    conn: &mut DbConnection,
    community: Option<&HealthCommunityId>,
    within: Option<(NaiveDateTime, NaiveDateTime)>,
) -> QueryResult<Vec<LearningNoteRow>> {
    let mut q = learning_notes::table.filter(n::unpublished_at.is_null()).into_boxed();
    if let Some(c) = community {
        q = q.filter(n::health_community_id.eq(c.clone()));
    }
    if let Some((from, to)) = within {
        q = q.filter(n::published_at.ge(from)).filter(n::published_at.lt(to));
    }
    q.order((n::published_at.desc(), n::id.asc())).select(LearningNoteRow::as_select()).load(conn)
}

/// The notes written from an analysis, published or not.
pub fn of_analysis(conn: &mut DbConnection, analysis: &AnalysisId) -> QueryResult<Vec<LearningNoteRow>> {
    learning_notes::table
        .filter(n::analysis_id.eq(analysis.clone()))
        .order((n::published_at.desc(), n::id.asc()))
        .select(LearningNoteRow::as_select())
        .load(conn)
}

/// Takes a published note down; false if it was not published (any more).
pub fn unpublish(conn: &mut DbConnection, id: &LearningNoteId, by: &UserId, at: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(learning_notes::table.find(id).filter(n::unpublished_at.is_null()))
        .set((n::unpublished_at.eq(at), n::unpublished_by.eq(by.clone())))
        .execute(conn)?;
    Ok(n == 1)
}
