use actix_web::web::{Data, Json, Path, Query};
use actix_web::HttpResponse;
use serde::Deserialize;

use crate::auth::Caller;
use crate::db;
use crate::domain::period::Period;
use crate::error::ApiError;
use crate::ids::{HealthCommunityId, OrganisationId};
use crate::policy;
use crate::state::AppState;
use crate::stats::report::{self, Report};
use crate::stats::{self, export, Stats, StatsScope};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub group_by: Option<String>,
    pub organisation_id: Option<OrganisationId>,
    pub health_community_id: Option<HealthCommunityId>,
}

/// The scope the caller may have for what they asked: the organisation's helsefellesskap is
/// looked up here, the decision is the policy's. An organisation that does not exist is a 422.
pub fn scope(
    conn: &mut crate::db::DbConnection,
    caller: &Caller,
    organisation_id: Option<OrganisationId>,
    health_community_id: Option<HealthCommunityId>,
) -> Result<StatsScope, ApiError> {
    let organisation = match organisation_id {
        Some(id) => {
            let org = db::organisations::find(conn, &id).map_err(|e| match e {
                diesel::result::Error::NotFound => {
                    ApiError::field("organisation_id", "unknown_organisation", "Organisasjonen finnes ikke.")
                }
                other => other.into(),
            })?;
            Some((org.id, org.health_community_id))
        }
        None => None,
    };
    policy::statistics_scope(caller, policy::StatsRequest { organisation, community: health_community_id })
}

/// How the scope is named in a report.
pub fn scope_name(conn: &mut crate::db::DbConnection, scope: &StatsScope) -> Result<String, ApiError> {
    Ok(match scope {
        StatsScope::Organisation(o) => db::organisations::find(conn, o)?.name,
        StatsScope::Community(c) => db::health_communities::find(conn, c)?.name,
        StatsScope::All => "Regionen: alle helsefellesskap".to_owned(),
    })
}

/// The period asked for: `period`, or `from` and `to` (both days included).
pub fn period(period: Option<&str>, from: Option<&str>, to: Option<&str>) -> Result<Period, ApiError> {
    let date = |field: &str, v: &str| {
        chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map_err(|_| ApiError::field(field, "invalid_date", "Skriv datoen som ÅÅÅÅ-MM-DD."))
    };
    match (period, from, to) {
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

pub async fn get(
    state: Data<AppState>,
    caller: Caller,
    query: super::query::Params<StatsQuery>,
) -> Result<Json<Stats>, ApiError> {
    let q = query.into_inner();
    let (period, group_by) = (
        period(q.period.as_deref(), q.from.as_deref(), q.to.as_deref())?,
        stats::parse_group_by(q.group_by.as_deref())?,
    );
    let threshold = state.config.suppression_threshold;
    let spare = state.pool.clone();
    let stats = db::run(&state.pool, move |c| {
        let scope = scope(c, &caller, q.organisation_id, q.health_community_id)?;
        stats::compute(c, Some(&spare), period, &scope, &group_by, threshold)
    })
    .await?;
    Ok(Json(stats))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    pub organisation_id: Option<OrganisationId>,
    pub health_community_id: Option<HealthCommunityId>,
}

/// `/api/v1/reports/2026-T2.html`, `.csv` and `.xlsx`: one operation per format in the contract, so
/// it can say what each returns (an XLSX is bytes, not text); the route says which format.
pub async fn report(
    state: Data<AppState>,
    caller: Caller,
    req: actix_web::HttpRequest,
    tertial: Path<String>,
    query: Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let ext = req.path().rsplit('.').next().unwrap_or_default();
    report_file(state, caller, format!("{}.{ext}", tertial.into_inner()), query.into_inner()).await
}

/// One report file as `caller` may see it; the web pages serve the same files under their session.
pub async fn report_file(
    state: Data<AppState>,
    caller: Caller,
    file: String,
    asked: ReportQuery,
) -> Result<HttpResponse, ApiError> {
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
    let today = crate::domain::calendar::oslo_today(state.clock.now());
    let ext = ext.to_owned();
    let (body, content_type) = db::run(&state.pool, move |c| {
        let scope = scope(c, &caller, asked.organisation_id, asked.health_community_id)?;
        let r = Report::build(c, tertial, &scope, threshold, today)?;
        render(&r, &ext, &scope_name(c, &scope)?)
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackQuery {
    pub tertial: Option<String>,
    pub organisation_id: Option<OrganisationId>,
    pub health_community_id: Option<HealthCommunityId>,
}

/// Did the answer help (#37): answered within the deadline, rated, median rating — per direction
/// and recipient, for the tertial asked (by default the one under way) and the two before it.
pub async fn feedback(
    state: Data<AppState>,
    caller: Caller,
    query: super::query::Params<FeedbackQuery>,
) -> Result<Json<crate::stats::feedback::Feedback>, ApiError> {
    let q = query.into_inner();
    let today = crate::domain::calendar::oslo_today(state.clock.now());
    let tertial = match q.tertial.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => Period::tertial_of(today),
        Some(t) => Period::parse_tertial(t)
            .ok_or_else(|| ApiError::field("tertial", "invalid_period", "Skriv tertialet som for eksempel 2026-T2."))?,
    };
    let threshold = state.config.suppression_threshold;
    let feedback = db::run(&state.pool, move |c| {
        let scope = scope(c, &caller, q.organisation_id, q.health_community_id)?;
        crate::stats::feedback::compute(c, tertial, &scope, threshold)
    })
    .await?;
    Ok(Json(feedback))
}
