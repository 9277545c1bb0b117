//! An organisation's category mapping to its quality system's own codes.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::{Bytes, Data, Json, Path};
use actix_web::{HttpRequest, HttpResponse};

use super::body::Body;
use crate::auth::Caller;
use crate::db;
use crate::error::ApiError;
use crate::ids::OrganisationId;
use crate::integration::mapping::{self, CategoryMapping};
use crate::policy;
use crate::state::AppState;

pub async fn get(
    state: Data<AppState>,
    caller: Caller,
    id: Path<OrganisationId>,
) -> Result<Json<CategoryMapping>, ApiError> {
    policy::require_integration(&caller, &id)?;
    Ok(Json(db::run(&state.pool, move |c| mapping::get(c, &id)).await?))
}

pub async fn put(
    state: Data<AppState>,
    caller: Caller,
    id: Path<OrganisationId>,
    body: Body<CategoryMapping>,
) -> Result<Json<CategoryMapping>, ApiError> {
    policy::require_integration(&caller, &id)?;
    let now = state.clock.now_naive();
    Ok(Json(db::run(&state.pool, move |c| mapping::replace(c, &id, body.into_inner(), now)).await?))
}

/// The mapping as CSV, for editing in a spreadsheet.
pub async fn get_csv(
    state: Data<AppState>,
    caller: Caller,
    id: Path<OrganisationId>,
) -> Result<HttpResponse, ApiError> {
    policy::require_integration(&caller, &id)?;
    let csv = mapping::to_csv(&db::run(&state.pool, move |c| mapping::get(c, &id)).await?)?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("content-disposition", "attachment; filename=\"kategorikobling.csv\""))
        .body(csv))
}

/// The whole mapping from a CSV file as `get_csv` writes it; errors name the file's lines.
pub async fn put_csv(
    state: Data<AppState>,
    caller: Caller,
    id: Path<OrganisationId>,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    policy::require_integration(&caller, &id)?;
    // The file as it is, as an upload: `application/octet-stream` is what generated clients send.
    let is_file = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) == Some("application/octet-stream");
    if !is_file {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send filen slik den er (Content-Type: application/octet-stream).",
        ));
    }
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::field("file", "invalid_value", "Filen må være lagret som UTF-8 (CSV UTF-8 i Excel)."))?;
    let parsed = mapping::from_csv(text)?;
    let now = state.clock.now_naive();
    let saved = db::run(&state.pool, move |c| mapping::replace(c, &id, parsed, now)).await.map_err(mapping::by_line)?;
    Ok(HttpResponse::Ok().content_type("text/csv; charset=utf-8").body(mapping::to_csv(&saved)?))
}
