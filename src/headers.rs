//! Security headers on every response: nothing of ours may be framed, sniffed into another type,
//! or leak its URL to another site, and pages run only our own script.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;

/// The web pages and the API: our own script and styles only, no inline code.
const STRICT: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// `STRICT` with the OpenID provider's origin among the places a form may lead to.
pub fn strict_with_provider(issuer: &str) -> Option<HeaderValue> {
    let origin = issuer.split('/').take(3).collect::<Vec<_>>().join("/");
    HeaderValue::from_str(&STRICT.replace("form-action 'self'", &format!("form-action 'self' {origin}"))).ok()
}

/// Swagger UI sets inline styles from its script.
const DOCS: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";
/// The tertial report is a self-contained file (inline styles and SVG) that is also printed and
/// mailed; it runs no script at all.
const REPORT: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'none'";

fn policy(path: &str) -> &'static str {
    if path.starts_with("/docs") {
        DOCS
    } else if path.starts_with("/api/v1/reports/") {
        REPORT
    } else {
        STRICT
    }
}

pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let csp = match policy(req.path()) {
        // A login or logout form ends at HelseID: the browser must be let through to it.
        STRICT => req
            .app_data::<actix_web::web::Data<crate::state::AppState>>()
            .and_then(|s| s.oidc.as_ref().map(|o| o.page_csp.clone()))
            .unwrap_or(HeaderValue::from_static(STRICT)),
        other => HeaderValue::from_static(other),
    };
    let https = req.connection_info().scheme() == "https";
    let mut res = next.call(req).await?;
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if https {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    Ok(res)
}
