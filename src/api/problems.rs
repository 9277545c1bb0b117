//! Turns every error actix or a middleware produces into problem+json, so a client never has to
//! parse two error shapes.

use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, HttpRequest, ResponseError};

use crate::error::{ApiError, FieldError, PROBLEM_JSON};

pub fn render_errors<B: 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(to_problem)
}

fn to_problem<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // Problems pass as they are, and so do the web pages' own HTML error pages.
    let already = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()) || v.as_bytes().starts_with(b"text/html"));
    if already {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (code, detail) = describe(status);
    let (req, old) = res.into_parts();
    let mut new = ApiError::new(status, code, detail).error_response();
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(req, new).map_into_right_body()))
}

fn describe(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        404 => ("unknown_route", "Adressen finnes ikke. Se /openapi.yaml for tjenestens adresser."),
        405 => ("method_not_allowed", "Denne adressen støtter ikke denne metoden."),
        413 => ("payload_too_large", "Forespørselen er for stor."),
        415 => ("unsupported_media_type", "Innholdet må sendes som JSON (Content-Type: application/json)."),
        429 => ("too_many_requests", "For mange forsøk. Vent litt og prøv igjen."),
        s if s < 500 => ("bad_request", "Forespørselen kunne ikke behandles."),
        _ => ("internal_error", "Det oppstod en uventet feil. Ingenting er lagret. Prøv igjen senere."),
    }
}

pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default().limit(limit).error_handler(|err, _req: &HttpRequest| json_error(err).into())
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _| query_error(err).into())
}

/// A query string that does not fit its parameters (also for `api::query::Params`).
pub fn query_error(err: QueryPayloadError) -> ApiError {
    // actix prefixes serde's reason with English words of its own; the reason is what helps.
    let reason = err.to_string();
    let reason = reason.trim_start_matches("Query deserialize error: ");
    ApiError::bad_request("invalid_query", format!("Ugyldig søkeparameter: {reason}")).with_cause(err)
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|err: PathError, _| ApiError::not_found("Fant ikke det du ba om.").with_cause(err).into())
}

fn json_error(err: JsonPayloadError) -> ApiError {
    let e = match &err {
        JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Innholdet må sendes som JSON (Content-Type: application/json).",
        ),
        JsonPayloadError::Overflow { limit } | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("Forespørselen er for stor (høyst {limit} byte)."),
        ),
        JsonPayloadError::Deserialize(e) if e.classify() == serde_json::error::Category::Data => {
            serde_problem(&e.to_string(), "body".to_owned())
        }
        _ => ApiError::bad_request("malformed_json", "Innholdet er ikke gyldig JSON."),
    };
    // serde quotes the offending value, which may be patient data: log only where it failed.
    let cause = match &err {
        JsonPayloadError::Deserialize(d) => {
            format!("json {:?} error at line {} column {}", d.classify(), d.line(), d.column())
        }
        other => other.to_string(),
    };
    e.with_cause(anyhow::anyhow!(cause))
}

/// Names the field: serde says it for missing and unknown fields, the path says it for the rest.
/// The value the client sent is never repeated.
pub fn from_serde(e: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    serde_problem(&e.inner().to_string(), if path == "." { "body".to_owned() } else { path })
}

fn serde_problem(msg: &str, at: String) -> ApiError {
    let quoted = msg.split('`').nth(1).map(str::to_owned);
    let field = if msg.starts_with("missing field") {
        let name = quoted.unwrap_or_default();
        let name = if at == "body" { name } else { format!("{at}.{name}") };
        FieldError::new(name, "required", "Må fylles ut.")
    } else if msg.starts_with("unknown field") {
        FieldError::new(quoted.unwrap_or(at), "unknown_field", "Feltet er ukjent og kan ikke sendes med.")
    } else if msg.starts_with("unknown variant") {
        FieldError::new(at, "invalid_value", "Verdien er ikke blant dem feltet tar imot.")
    } else if msg.starts_with(crate::ids::INVALID_ID) {
        FieldError::new(at, "invalid_id", "Må være en id (UUID) fra tjenesten.")
    } else {
        FieldError::new(at, "invalid_type", "Feltet har feil type (for eksempel tekst der det skal være tall).")
    };
    ApiError::invalid(vec![field])
}
