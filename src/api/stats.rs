use actix_web::web::{Data, Json, Path, Query};
use actix_web::HttpResponse;
use serde::Deserialize;

use crate::auth::Caller;
use crate::db;
use crate::domain::period::Period;
use crate::error::ApiError;
use crate::policy;
use crate::state::AppState;
use crate::stats::report::{self, Report};
use crate::stats::{self, export, Stats};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub group_by: Option<String>,
    pub organisation_id: Option<String>,
}

fn period(q: &StatsQuery) -> Result<Period, ApiError> {
    let date = |field: &str, v: &str| {
        chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map_err(|_| ApiError::field(field, "invalid_date", "Skriv datoen som ÅÅÅÅ-MM-DD."))
    };
    match (&q.period, &q.from, &q.to) {
        (Some(p), None, None) => Period::parse(p).map_err(|m| ApiError::field("period", "invalid_period", m)),
        (None, Some(f), Some(t)) => {
            let (f, t) = (date("from", f)?, date("to", t)?);
            if t < f {
                return Err(ApiError::field("to", "before_from", "Til-datoen kan ikke være før fra-datoen."));
            }
            Ok(Period::Range(f, t))
        }
        _ => Err(ApiError::field("period", "required", "Oppgi period (for eksempel 2026-T2), eller både from og to.")),
    }
}

pub async fn get(state: Data<AppState>, caller: Caller, query: Query<StatsQuery>) -> Result<Json<Stats>, ApiError> {
    let q = query.into_inner();
    let org = policy::statistics_scope(&caller, q.organisation_id.clone())?;
    let (period, group_by) = (period(&q)?, stats::parse_group_by(q.group_by.as_deref())?);
    let threshold = state.config.suppression_threshold;
    let spare = state.pool.clone();
    let stats =
        db::run(&state.pool, move |c| stats::compute(c, Some(&spare), period, org.as_deref(), &group_by, threshold))
            .await?;
    Ok(Json(stats))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    pub organisation_id: Option<String>,
}

/// `/api/v1/reports/2026-T2.html` (or `.csv`, `.xlsx`).
pub async fn report(
    state: Data<AppState>,
    caller: Caller,
    file: Path<String>,
    query: Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    report_file(state, caller, file.into_inner(), query.into_inner().organisation_id).await
}

/// One report file as `caller` may see it; the web pages serve the same files under their session.
pub async fn report_file(
    state: Data<AppState>,
    caller: Caller,
    file: String,
    organisation_id: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let org = policy::statistics_scope(&caller, organisation_id)?;
    let (name, ext) = file
        .rsplit_once('.')
        .ok_or_else(|| ApiError::not_found("Bruk for eksempel 2026-T2.html, .csv eller .xlsx."))?;
    let tertial = match Period::parse(name) {
        Ok(p @ Period::Tertial { .. }) => p,
        _ => return Err(ApiError::not_found("Rapporter finnes per tertial, for eksempel 2026-T2.html.")),
    };
    if !matches!(ext, "html" | "csv" | "xlsx") {
        return Err(ApiError::not_found("Rapporten finnes som .html, .csv og .xlsx."));
    }
    let threshold = state.config.suppression_threshold;
    let ext = ext.to_owned();
    let (body, content_type) = db::run(&state.pool, move |c| {
        let r = Report::build(c, tertial, org.as_deref(), threshold)?;
        let scope_name = match &org {
            Some(o) => db::organisations::find(c, o)?.name,
            None => "Alle organisasjoner".to_owned(),
        };
        render(&r, &ext, &scope_name)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("content-disposition", format!("inline; filename=\"samhandlingsavvik-{file}\"")))
        .body(body))
}

/// The report in a format: (bytes, content type).
pub fn render(r: &Report, ext: &str, scope: &str) -> Result<(Vec<u8>, &'static str), ApiError> {
    Ok(match ext {
        "csv" => (export::csv(r).map_err(ApiError::internal)?.into_bytes(), "text/csv; charset=utf-8"),
        "xlsx" => (
            export::xlsx(r).map_err(ApiError::internal)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        _ => (report::html(r, scope).into_bytes(), "text/html; charset=utf-8"),
    })
}
