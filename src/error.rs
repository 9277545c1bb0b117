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
    /// `WWW-Authenticate` for a 401 or a 403 for lack of scope (RFC 6750 §3, RFC 9449 §7.1).
    challenge: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            fields: Vec::new(),
            cause: None,
            retry_after: None,
            challenge: None,
        }
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
        e.challenge = self.challenge.clone();
        e
    }

    /// How the client should authenticate: the `WWW-Authenticate` header's value.
    pub fn challenge(mut self, value: impl Into<String>) -> Self {
        self.challenge = Some(value.into());
        self
    }

    pub fn has_challenge(&self) -> bool {
        self.challenge.is_some()
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

    /// How long a client should wait before it tries again.
    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
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

/// The cause is the source, so `{:#}` through anyhow (the CLI) prints the whole chain.
impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_ref().map(|c| c.as_ref() as &(dyn std::error::Error + 'static))
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
        if let Some(challenge) = &self.challenge {
            resp.insert_header((header::WWW_AUTHENTICATE, challenge.clone()));
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
            E::DatabaseError(K::SerializationFailure, _) => ApiError::unavailable(e).retry_after(1),
            E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand | K::ReadOnlyTransaction, _) => {
                ApiError::unavailable(e)
            }
            E::DatabaseError(K::Unknown, info) if transient(info.message()) => ApiError::unavailable(e),
            // PostgreSQL refuses a NUL in text (SQLSTATE 22021). The edges refuse control characters
            // field by field; this is the net under whatever slips past them.
            E::DatabaseError(K::Unknown, info) if info.message().starts_with("invalid byte sequence for encoding") => {
                ApiError::bad_request(
                    "invalid_characters",
                    "Forespørselen inneholder tegn som ikke kan lagres (for eksempel NUL). Fjern dem og prøv igjen.",
                )
                .with_cause(e)
            }
            _ => ApiError::internal(e),
        }
    }
}

/// Conditions a client can retry, not bugs, which diesel reports as `Unknown` without the code:
/// SQLite's result texts (`sqlite3_errstr` for BUSY, LOCKED, FULL, READONLY, IOERR, CANTOPEN — fixed
/// by SQLite's API) and the server's own texts for PostgreSQL's class 57 (operator intervention:
/// shutdown, crash, cannot connect now) and class 08 (connection exception) as libpq reports them.
fn transient(message: &str) -> bool {
    const SQLITE: [&str; 7] = [
        "database is locked",
        "database table is locked",
        "database or disk is full",
        "attempt to write a readonly database",
        "disk I/O error",
        "unable to open database file",
        "database schema has changed",
    ];
    const POSTGRES: [&str; 5] = [
        "terminating connection due to administrator command",
        "the database system is shutting down",
        "the database system is starting up",
        "server closed the connection unexpectedly",
        "could not connect to server",
    ];
    SQLITE.iter().chain(&POSTGRES).any(|m| message.starts_with(m))
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

#[cfg(test)]
mod tests {
    use diesel::result::{DatabaseErrorKind as K, Error as E};

    use super::*;

    fn db(kind: K, message: &str) -> ApiError {
        E::DatabaseError(kind, Box::new(message.to_owned())).into()
    }

    #[test]
    fn database_errors_are_classed_by_kind() {
        assert_eq!(ApiError::from(E::NotFound).status, StatusCode::NOT_FOUND);
        assert_eq!(db(K::UniqueViolation, "UNIQUE constraint failed: users.email").status, StatusCode::CONFLICT);
        assert_eq!(db(K::ForeignKeyViolation, "x").status, StatusCode::UNPROCESSABLE_ENTITY);
        let retry = db(K::SerializationFailure, "could not serialize access");
        assert_eq!((retry.status, retry.retry_after), (StatusCode::SERVICE_UNAVAILABLE, Some(1)));
        for kind in [K::ClosedConnection, K::UnableToSendCommand, K::ReadOnlyTransaction] {
            assert_eq!(db(kind, "x").status, StatusCode::SERVICE_UNAVAILABLE);
        }
        for message in ["database or disk is full", "attempt to write a readonly database", "database is locked"] {
            assert_eq!(db(K::Unknown, message).status, StatusCode::SERVICE_UNAVAILABLE, "{message}");
        }
        // A word in common with a transient condition does not make a bug retryable.
        assert_eq!(db(K::Unknown, "column \"disk\" does not exist").status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(db(K::CheckViolation, "x").status, StatusCode::INTERNAL_SERVER_ERROR);
        let nul = db(K::Unknown, "invalid byte sequence for encoding \"UTF8\": 0x00");
        assert_eq!((nul.status, nul.code), (StatusCode::BAD_REQUEST, "invalid_characters"));
    }

    #[test]
    fn the_cause_is_the_source_and_shows_in_the_chain() {
        let e = ApiError::internal(anyhow::anyhow!("disk on fire"));
        assert_eq!(std::error::Error::source(&e).map(|s| s.to_string()).as_deref(), Some("disk on fire"));
        let chain = format!("{:#}", anyhow::Error::new(e));
        assert!(chain.contains("internal_error") && chain.contains("disk on fire"), "{chain}");
    }
}
