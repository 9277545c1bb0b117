//! The one error type. Every failure a client sees is `application/problem+json` with a stable
//! snake_case `code`, a bokmål `detail`, and for validation errors the offending fields. Causes are
//! logged, never sent.

use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), code: code.into(), message: message.into() }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub code: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub fields: Vec<FieldError>,
}

pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub fields: Vec<FieldError>,
    cause: Option<anyhow::Error>,
    retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError { status, code, detail: detail.into(), fields: Vec::new(), cause: None, retry_after: None }
    }

    pub fn with_cause(mut self, cause: impl Into<anyhow::Error>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    /// The same answer for another request that shared this failure (a failed group commit); the
    /// cause is logged once, where it happened.
    pub fn again(&self) -> Self {
        let mut e = Self::new(self.status, self.code, self.detail.clone());
        e.fields = self.fields.clone();
        e.retry_after = self.retry_after;
        e
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 422 for one field.
    pub fn field(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError::new(field, code, message)])
    }

    /// 422 for several fields. The top-level code is the field code when there is only one kind.
    pub fn invalid(fields: Vec<FieldError>) -> Self {
        let detail = match fields.as_slice() {
            [one] => one.message.clone(),
            _ => "Noen av feltene må rettes før skjemaet kan sendes.".to_owned(),
        };
        let code = match fields.first() {
            Some(f) if f.code == "national_id_in_text" => "national_id_in_text",
            _ => "validation_failed",
        };
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail);
        e.fields = fields;
        e
    }

    pub fn unavailable(cause: impl Into<anyhow::Error>) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "Tjenesten er midlertidig utilgjengelig. Prøv igjen om litt; ingenting er lagret.",
        )
        .with_cause(cause);
        e.retry_after = Some(5);
        e
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Det oppstod en uventet feil. Ingenting er lagret. Prøv igjen, og kontakt support hvis feilen vedvarer.",
        )
        .with_cause(cause)
    }

    pub fn problem(&self) -> Problem {
        Problem {
            type_: format!("urn:samavvik:problem:{}", self.code),
            title: title(self.status).to_owned(),
            status: self.status.as_u16(),
            code: self.code.to_owned(),
            detail: self.detail.clone(),
            fields: self.fields.clone(),
        }
    }
}

pub fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Ugyldig forespørsel",
        401 => "Ikke innlogget",
        403 => "Ingen tilgang",
        404 => "Finnes ikke",
        405 => "Metoden er ikke tillatt",
        409 => "Konflikt",
        413 => "For stor forespørsel",
        415 => "Feil innholdstype",
        422 => "Ugyldige data",
        429 => "For mange forespørsler",
        503 => "Tjenesten er utilgjengelig",
        _ => "Feil",
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)?;
        if let Some(cause) = &self.cause {
            write!(f, " (cause: {cause:#})")?;
        }
        Ok(())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        // Logged once, with the cause, by the tracing middleware through `Debug`.
        let mut resp = HttpResponse::build(self.status);
        resp.content_type(PROBLEM_JSON);
        if let Some(secs) = self.retry_after {
            resp.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        resp.json(self.problem())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match &e {
            E::NotFound => ApiError::not_found("Fant ikke det du ba om."),
            E::DatabaseError(K::UniqueViolation, _) => {
                ApiError::conflict("already_exists", "Det finnes allerede en oppføring med samme verdi.").with_cause(e)
            }
            E::DatabaseError(K::ForeignKeyViolation, _) => {
                ApiError::field("reference", "unknown_reference", "Oppføringen det vises til finnes ikke.")
                    .with_cause(e)
            }
            E::DatabaseError(K::ClosedConnection | K::ReadOnlyTransaction, _) => ApiError::unavailable(e),
            E::DatabaseError(K::Unknown, info) if is_transient(info.message()) => ApiError::unavailable(e),
            _ => ApiError::internal(e),
        }
    }
}

/// SQLite "database is locked"/"disk full"/"readonly" and lost PostgreSQL connections are conditions
/// a client can retry, not bugs.
fn is_transient(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    ["locked", "busy", "readonly", "read-only", "disk", "full", "connection", "terminating"]
        .iter()
        .any(|w| m.contains(w))
}

impl From<r2d2::Error> for ApiError {
    fn from(e: r2d2::Error) -> Self {
        ApiError::unavailable(e)
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut fields: Vec<FieldError> = errors
            .field_errors()
            .into_iter()
            .flat_map(|(field, errs)| {
                errs.iter().map(move |e| {
                    let message = e.message.as_ref().map(|m| m.to_string()).unwrap_or_else(|| generic_message(e));
                    FieldError::new(field.to_string(), e.code.to_string(), message)
                })
            })
            .collect();
        fields.sort_by(|a, b| a.field.cmp(&b.field));
        ApiError::invalid(fields)
    }
}

fn generic_message(e: &validator::ValidationError) -> String {
    let param = |k: &str| e.params.get(k).map(|v| v.to_string());
    match e.code.as_ref() {
        "length" => match (param("min"), param("max")) {
            (Some(min), Some(max)) if min == "1" => {
                format!("Må fylles ut, og kan ha høyst {max} tegn.")
            }
            (Some(min), Some(max)) => format!("Må ha mellom {min} og {max} tegn."),
            (Some(min), None) => format!("Må ha minst {min} tegn."),
            (None, Some(max)) => format!("Kan ha høyst {max} tegn."),
            _ => "Har feil lengde.".into(),
        },
        "email" => "Må være en gyldig e-postadresse.".into(),
        "required" => "Må fylles ut.".into(),
        _ => "Ugyldig verdi.".into(),
    }
}
