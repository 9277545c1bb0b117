//! Læringsnotat (#36): what a concluded analysis learned — what happened, why, what was changed —
//! written by one who worked on it, published once they confirm it is anonymised and free of
//! patient details, and then read by every person of the analysis's helsefellesskap. The
//! national-id guard applies to every field, and where the deployment keeps patient identity the
//! names of the analysed cases' patients may not occur either (`patients::named_in`, logged).
//! Taken down — never deleted — by its author or the improvement group. Who may do what is
//! `policy` (`may_read_learning_note`, `may_unpublish_learning_note`, `learning_notes_listed`).
//!
//! The API is `api/learning.rs`, the pages `pages/learning.rs`.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::auth::Caller;
use crate::db::learning_notes::{self as db, LearningNoteRow};
use crate::db::DbConnection;
use crate::deviations::form::Errors;
use crate::domain::analysis::AnalysisStatus;
use crate::error::{ApiError, FieldError};
use crate::ids::{AnalysisId, LearningNoteId};
use crate::patients::Patients;
use crate::policy;

pub mod newsletter;

pub const TITLE_MAX: usize = 200;
/// A note is read between other things: a few paragraphs, not a report.
pub const PART_MAX: usize = 2000;

/// The fields a note is written in, in the order a reader meets them.
pub const FIELDS: [&str; 4] = ["title", "what_happened", "why", "what_changed"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    pub analysis_id: AnalysisId,
    pub title: String,
    pub what_happened: String,
    pub why: String,
    pub what_changed: String,
    /// The writer confirms the note is anonymised and holds no patient details.
    pub anonymised: bool,
}

/// A note as a reader gets it.
#[derive(Debug, Clone)]
pub struct Note {
    pub row: LearningNoteRow,
    pub analysis_reference: String,
    /// Whether the reader may take it down (and so sees who wrote it).
    pub may_unpublish: bool,
}

fn not_found() -> ApiError {
    ApiError::not_found("Fant ikke læringsnotatet. Det finnes ikke, eller det er tatt ned.")
}

/// Writes and publishes a note from a concluded analysis the caller works on (404 otherwise; 409
/// before it is concluded), every field checked (422 by the field, never repeating a number or
/// a name found in it).
pub fn publish(
    conn: &mut DbConnection,
    patients: &Patients,
    now: NaiveDateTime,
    caller: &Caller,
    input: &NewNote,
) -> Result<Note, ApiError> {
    let analysis = crate::analyses::open(conn, caller, &input.analysis_id)?;
    if matches!(crate::analyses::status_of(&analysis)?, AnalysisStatus::Draft | AnalysisStatus::InProgress) {
        return Err(ApiError::conflict(
            "analysis_not_concluded",
            "Et læringsnotat skrives når analysen er konkludert. Konkluder analysen først.",
        ));
    }
    let mut e = Errors::default();
    let title = e.text("title", &input.title, TITLE_MAX);
    let what_happened = e.text("what_happened", &input.what_happened, PART_MAX);
    let why = e.text("why", &input.why, PART_MAX);
    let what_changed = e.text("what_changed", &input.what_changed, PART_MAX);
    if !input.anonymised {
        e.add(
            "anonymised",
            "required",
            "Kryss av for at notatet er anonymisert og uten pasientopplysninger før det publiseres.",
        );
    }
    e.into_result(())?;
    let texts = [title.as_str(), what_happened.as_str(), why.as_str(), what_changed.as_str()];
    let deviations = crate::db::analyses::deviations(conn, &analysis.id)?;
    let named = crate::patients::named_in(conn, patients, now, caller, &deviations, &texts)?;
    if !named.is_empty() {
        let message = "Teksten ser ut til å nevne en pasient i saken ved navn. Skriv om uten å nevne hvem.";
        let fields = FIELDS.iter().enumerate().filter(|(i, _)| named.contains(i));
        return Err(ApiError::invalid(
            fields.map(|(_, f)| FieldError::new(*f, "patient_identity_in_text", message)).collect(),
        ));
    }
    let row = LearningNoteRow {
        id: LearningNoteId::generate(),
        analysis_id: analysis.id,
        health_community_id: analysis.health_community_id,
        title,
        what_happened,
        why,
        what_changed,
        author_id: caller.user_id.clone(),
        author_organisation_id: caller.organisation_id.clone(),
        published_at: now,
        unpublished_at: None,
        unpublished_by: None,
    };
    crate::db::write_tx(conn, |c| Ok(db::insert(c, &row)?))?;
    get(conn, caller, &row.id)
}

/// The notes as readers get them, each with its analysis's reference.
fn notes(conn: &mut DbConnection, caller: &Caller, rows: Vec<LearningNoteRow>) -> Result<Vec<Note>, ApiError> {
    let ids: Vec<AnalysisId> = rows.iter().map(|r| r.analysis_id.clone()).collect();
    let references: BTreeMap<AnalysisId, String> = crate::db::analyses::references(conn, &ids)?.into_iter().collect();
    Ok(rows
        .into_iter()
        .map(|row| Note {
            may_unpublish: policy::may_unpublish_learning_note(caller, &row.health_community_id, &row.author_id),
            analysis_reference: references.get(&row.analysis_id).cloned().unwrap_or_default(),
            row,
        })
        .collect())
}

/// One note: published, to everyone of its helsefellesskap; taken down, to its author and the
/// improvement group alone (404 for the rest).
pub fn get(conn: &mut DbConnection, caller: &Caller, id: &LearningNoteId) -> Result<Note, ApiError> {
    let row = match db::find(conn, id) {
        Ok(row) => row,
        Err(diesel::result::Error::NotFound) => return Err(not_found()),
        Err(other) => return Err(other.into()),
    };
    let published = row.unpublished_at.is_none();
    match policy::may_read_learning_note(caller, &row.health_community_id, published, &row.author_id) {
        true => notes(conn, caller, vec![row])?.pop().ok_or_else(not_found),
        false => Err(not_found()),
    }
}

/// The published notes the caller may read, newest first.
pub fn list(conn: &mut DbConnection, caller: &Caller) -> Result<Vec<Note>, ApiError> {
    let Some(community) = policy::learning_notes_listed(caller) else { return Ok(Vec::new()) };
    let rows = db::published(conn, community, None)?;
    notes(conn, caller, rows)
}

/// The notes written from an analysis the caller works on, published or not (its page).
pub fn of_analysis(conn: &mut DbConnection, caller: &Caller, analysis: &AnalysisId) -> Result<Vec<Note>, ApiError> {
    let a = crate::analyses::open(conn, caller, analysis)?;
    let rows = db::of_analysis(conn, &a.id)?;
    notes(conn, caller, rows)
}

/// Takes a note down: its author or the improvement group (404 for those who may not read it,
/// 403 for readers who may not take it down, 409 if it is down already).
pub fn unpublish(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &LearningNoteId,
) -> Result<Note, ApiError> {
    let note = get(conn, caller, id)?;
    if !note.may_unpublish {
        return Err(ApiError::forbidden("Et læringsnotat tas ned av den som skrev det, eller av forbedringsgruppa."));
    }
    let done = crate::db::write_tx(conn, |c| Ok(db::unpublish(c, id, &caller.user_id, now)?))?;
    if !done {
        return Err(ApiError::conflict("note_unpublished", "Læringsnotatet er allerede tatt ned."));
    }
    get(conn, caller, id)
}
