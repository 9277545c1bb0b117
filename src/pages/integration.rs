//! The quality advisor's page for the organisation's link to its quality system: the category
//! mapping as a form (one row per unified category, the local code and name beside it) with CSV
//! out, and an overview of the machine clients and webhooks registered through the API.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::web::{Data, Query};
use actix_web::HttpResponse;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::render::render;
use super::session::{Posted, Viewer};
use super::{html, see_other, PageResult};
use crate::db::{self, categories, DbConnection};
use crate::directory::clients;
use crate::error::{ApiError, FieldError};
use crate::integration::mapping::{self, CategoryMapping, LocalCategory, MappingEntry};
use crate::integration::webhooks;
use crate::policy;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Params {
    lagret: Option<String>,
}

#[derive(Serialize)]
struct Row {
    code: String,
    label: String,
    local_code: String,
    local_label: String,
    /// Lines for one kind only, kept as they are; edited through the API or CSV.
    per_kind: usize,
}

fn page_body(
    conn: &mut DbConnection,
    viewer: &Viewer,
    typed: Option<&BTreeMap<String, String>>,
    errors: &[FieldError],
    saved: bool,
) -> Result<String, ApiError> {
    let org = &viewer.caller.organisation_id;
    let current = mapping::get(conn, org)?;
    let rows: Vec<Row> = categories::list_active(conn)?
        .into_iter()
        .map(|c| {
            let both = current.entries.iter().find(|e| e.category == c.code && e.kind.is_none());
            let local = both.and_then(|e| e.local.clone());
            let field = |prefix: &str, stored: Option<String>| match typed {
                Some(t) => t.get(&format!("{prefix}.{}", c.code)).cloned().unwrap_or_default(),
                None => stored.unwrap_or_default(),
            };
            Row {
                local_code: field("code", local.as_ref().map(|l| l.code.clone())),
                local_label: field("label", local.map(|l| l.label)),
                per_kind: current.entries.iter().filter(|e| e.category == c.code && e.kind.is_some()).count(),
                code: c.code,
                label: c.label,
            }
        })
        .collect();
    let by_field: BTreeMap<&str, &str> = errors.iter().map(|e| (e.field.as_str(), e.message.as_str())).collect();
    render(
        "integration.html",
        context! {
            viewer => &viewer.chrome,
            current => "integration",
            rows,
            errors => errors,
            field_errors => by_field,
            saved,
            webhooks => webhooks::list(conn, org)?,
            clients => clients::list(conn, org)?,
        },
    )
}

pub async fn page(state: Data<AppState>, viewer: Viewer, params: Query<Params>) -> PageResult {
    policy::require_integration(&viewer.caller, &viewer.caller.organisation_id)?;
    let saved = params.lagret.is_some();
    Ok(html(db::run(&state.pool, move |c| page_body(c, &viewer, None, &[], saved)).await?))
}

/// The form as a whole mapping: a row with code and name maps the category, an empty row marks it
/// not in use; the per-kind lines stay as they were.
fn posted_mapping(
    current: CategoryMapping,
    codes: &[String],
    form: &Posted,
) -> (CategoryMapping, Vec<FieldError>, BTreeMap<String, String>) {
    let mut typed = BTreeMap::new();
    let mut errors = Vec::new();
    let mut entries: Vec<MappingEntry> = current.entries.into_iter().filter(|e| e.kind.is_some()).collect();
    for code in codes {
        let (local_code, local_label) = (form.text(&format!("code.{code}")), form.text(&format!("label.{code}")));
        typed.insert(format!("code.{code}"), local_code.clone());
        typed.insert(format!("label.{code}"), local_label.clone());
        let local = match (local_code.is_empty(), local_label.is_empty()) {
            (true, true) => None,
            (false, false) => Some(LocalCategory { code: local_code, label: local_label }),
            (empty_code, _) => {
                let field = if empty_code { format!("code.{code}") } else { format!("label.{code}") };
                errors.push(FieldError::new(field, "required", "Fyll ut både lokal kode og navn, eller ingen av dem."));
                None
            }
        };
        entries.push(MappingEntry { category: code.clone(), kind: None, local });
    }
    (CategoryMapping { entries }, errors, typed)
}

pub async fn save(state: Data<AppState>, viewer: Viewer, form: Posted) -> PageResult {
    policy::require_integration(&viewer.caller, &viewer.caller.organisation_id)?;
    let now = state.clock.now_naive();
    let outcome = db::run(&state.pool, move |c| {
        let org = viewer.caller.organisation_id.clone();
        let codes: Vec<String> = categories::list_active(c)?.into_iter().map(|r| r.code).collect();
        let (wanted, mut errors, typed) = posted_mapping(mapping::get(c, &org)?, &codes, &form);
        if errors.is_empty() {
            // The API names a field by its line; the form names it by its category.
            let names: Vec<String> = wanted.entries.iter().map(|e| e.category.clone()).collect();
            match mapping::replace(c, &org, wanted, now) {
                Ok(_) => return Ok(None),
                Err(e) if e.fields.is_empty() => return Err(e),
                Err(e) => errors.extend(e.fields.into_iter().map(|f| by_category(f, &names))),
            }
        }
        page_body(c, &viewer, Some(&typed), &errors, false).map(Some)
    })
    .await?;
    match outcome {
        None => Ok(see_other("/integrasjon?lagret=1")),
        Some(body) => {
            let mut resp = html(body);
            *resp.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
    }
}

/// `entries[3].local.label` → `label.<the category of line 3>`.
fn by_category(mut error: FieldError, names: &[String]) -> FieldError {
    let parsed = error.field.strip_prefix("entries[").and_then(|rest| rest.split_once(']'));
    if let Some((index, rest)) = parsed {
        if let (Ok(i), Some(name)) = (index.parse::<usize>(), rest.strip_prefix(".local.")) {
            if let Some(category) = names.get(i) {
                error.field = format!("{name}.{category}");
            }
        }
    }
    error
}

pub async fn csv(state: Data<AppState>, viewer: Viewer) -> PageResult {
    policy::require_integration(&viewer.caller, &viewer.caller.organisation_id)?;
    let org = viewer.caller.organisation_id.clone();
    let text = db::run(&state.pool, move |c| mapping::to_csv(&mapping::get(c, &org)?)).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"kategorikobling.csv\""))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(text))
}
