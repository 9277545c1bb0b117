//! Structured logs with a request id on every line and in every response.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use tracing_actix_web::RequestId;
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;
use crate::error::ApiError;

/// The root span of a request: method, route template and request id — not the concrete path or
/// query string, which can carry what a user typed (a search may name a patient).
pub struct RequestSpan;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        let id = request.extensions().get::<RequestId>().map(|id| id.to_string()).unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %request.match_pattern().unwrap_or_else(|| "(ukjent)".into()),
            request_id = %id,
            client = tracing::field::Empty,
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    /// The status always; for a refusal (4xx) only its problem code, since its text may repeat what
    /// a user typed; a server error (5xx) in full, with its cause, as an error event.
    fn on_request_end<B: MessageBody>(span: tracing::Span, outcome: &Result<ServiceResponse<B>, actix_web::Error>) {
        let (status, error) = match outcome {
            Ok(res) => (res.status(), res.response().error()),
            Err(e) => (e.as_response_error().status_code(), Some(e)),
        };
        span.record("http.status_code", status.as_u16());
        span.record("otel.status_code", if status.is_server_error() { "ERROR" } else { "OK" });
        let Some(error) = error else { return };
        let code = error.as_error::<ApiError>().map(|e| e.code).unwrap_or("http_error");
        span.record("exception.message", code);
        if status.is_server_error() {
            let _entered = span.enter();
            tracing::error!(status = status.as_u16(), error = ?error, "request failed");
        }
    }
}

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Installs the global subscriber once; later calls (tests) are ignored.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // One line per request when its span closes: method, route template, status, request id and
    // time taken — the operators' access log, with nothing a user typed.
    let builder =
        fmt().with_env_filter(filter).with_writer(std::io::stderr).with_span_events(fmt::format::FmtSpan::CLOSE);
    let _ = match format {
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

pub async fn request_id_header(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req.extensions().get::<RequestId>().map(|id| id.to_string());
    let mut res = next.call(req).await?;
    if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(res)
}
