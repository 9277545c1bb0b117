//! Imports of history through the API, for the improvement group's administrator: the same run as
//! `samavvik import`, with the file and mapping in the body. A dry run first, then the import.

use std::sync::Arc;

use actix_web::web::{Data, Json, Path};
use actix_web::HttpResponse;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::body::Body;
use crate::auth::Caller;
use crate::db;
use crate::error::ApiError;
use crate::ids::ImportId;
use crate::import::{self, read::Source, Options, Report};
use crate::policy;
use crate::state::AppState;

/// An export of tens of thousands of rows fits; a larger history goes through `samavvik import`,
/// which reads the file from disk and shows its progress.
pub const BODY_LIMIT: usize = 32 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewImport {
    /// The export's file name, for the report; the content says whether it is XLSX or CSV.
    pub file_name: String,
    /// The file, base64-encoded.
    pub content: String,
    /// The mapping, as the TOML `samavvik import --suggest-mapping` starts.
    pub mapping: String,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub skip_refused: bool,
    #[serde(default)]
    pub without_description: bool,
}

#[derive(Serialize)]
pub struct ImportList {
    pub items: Vec<Report>,
}

fn checked(input: NewImport) -> Result<(Source, import::Mapping, Options), ApiError> {
    let name = input.file_name.trim();
    let length = input.file_name.chars().count();
    if name.is_empty() || length > 200 || name.chars().any(|c| c.is_control() || c == '/' || c == '\\') {
        return Err(ApiError::field(
            "file_name",
            "invalid_value",
            "Oppgi filnavnet uten mappe, for eksempel eqs-2023.csv.",
        ));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(input.content.trim())
        .map_err(|_| ApiError::field("content", "invalid_base64", "Filen må sendes base64-kodet."))?;
    let mapping = import::parse_mapping(&input.mapping)?;
    let options = Options {
        dry_run: input.dry_run,
        skip_refused: input.skip_refused,
        without_description: input.without_description,
        ..Options::default()
    };
    Ok((Source::Bytes { name: name.to_owned(), bytes: Arc::new(bytes) }, mapping, options))
}

/// Runs the import (or dry run) to the end and answers with its report; 201 means it is recorded
/// and, unless a dry run or refused, committed.
pub async fn create(state: Data<AppState>, caller: Caller, body: Body<NewImport>) -> Result<HttpResponse, ApiError> {
    policy::require_admin(&caller)?;
    let (source, mapping, options) = checked(body.into_inner())?;
    let (config, now) = (state.config.clone(), state.clock.now());
    let report =
        db::run(&state.pool, move |c| import::run(c, &config, &source, &mapping, &options, now, Some(caller.user_id)))
            .await?;
    Ok(HttpResponse::Created().json(report))
}

pub async fn list(state: Data<AppState>, caller: Caller) -> Result<Json<ImportList>, ApiError> {
    policy::require_admin(&caller)?;
    let rows = db::run(&state.pool, |c| Ok(db::imports::list(c, 100)?)).await?;
    Ok(Json(ImportList { items: rows.into_iter().map(import::report_of).collect() }))
}

pub async fn get(state: Data<AppState>, caller: Caller, id: Path<ImportId>) -> Result<Json<Report>, ApiError> {
    policy::require_admin(&caller)?;
    let row = db::run(&state.pool, move |c| Ok(db::imports::find(c, &id)?)).await?;
    Ok(Json(import::report_of(row)))
}
