//! Logging in and out. The session is the API's own token, in an HttpOnly cookie.

use actix_web::web::{Data, Query};
use actix_web::{HttpRequest, HttpResponse};
use minijinja::context;
use serde::Deserialize;

use super::render::render;
use super::session::{self, browser_secret, csrf_token, Posted, Viewer, CSRF_COOKIE, SESSION_COOKIE};
use super::{html, see_other, PageResult};
use crate::domain::Role;
use crate::state::AppState;

/// Where a signed-in user starts: reporters at the form, those without boxes at the statistics,
/// everyone else at what they receive.
pub async fn home(viewer: Result<Viewer, super::WebError>) -> HttpResponse {
    match viewer.map(|v| v.caller) {
        Ok(c) if c.role == Role::Reporter => see_other("/avvik/ny"),
        Ok(c) if !crate::policy::has_boxes(&c) => see_other("/statistikk"),
        Ok(_) => see_other("/avvik?boks=mottatt"),
        Err(_) => see_other("/logg-inn"),
    }
}

#[derive(Deserialize)]
pub struct Next {
    neste: Option<String>,
}

/// Where to go after login: only a path on this site, else the start page. Browsers drop tabs and
/// newlines from a URL and read `\` as `/`, so `/<TAB>/evil.example` would become
/// `//evil.example` — another site. Any control character or backslash is refused outright.
pub fn safe_next(next: Option<String>) -> String {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.chars().any(|c| c.is_control() || c == '\\'))
        .unwrap_or_else(|| "/".into())
}

fn login_page(req: &HttpRequest, state: &AppState, email: &str, next: &str, message: Option<&str>) -> PageResult {
    let refused = actix_web::http::StatusCode::UNAUTHORIZED;
    with_form(req, state, message.map(|_| refused), |csrf| context! { viewer => (), csrf, email, next, message })
}

/// The login page with its CSRF token, the browser's secret set where it had none, and `status`
/// when it shows a refusal.
fn with_form(
    req: &HttpRequest,
    state: &AppState,
    status: Option<actix_web::http::StatusCode>,
    page: impl FnOnce(String) -> minijinja::Value,
) -> PageResult {
    let (secret, fresh) = browser_secret(req);
    let mut resp = html(render("login.html", page(csrf_token(state, &secret)))?);
    if fresh {
        // A year: the secret only ties forms to this browser; it grants nothing by itself.
        resp.add_cookie(&session::cookie(req, state, CSRF_COOKIE, secret, 365 * 24 * 3600))
            .map_err(|_| super::WebError::internal("cookie"))?;
    }
    if let Some(status) = status {
        *resp.status_mut() = status;
    }
    Ok(resp)
}

pub async fn page(req: HttpRequest, state: Data<AppState>, next: Query<Next>) -> PageResult {
    let next = safe_next(next.into_inner().neste);
    match state.oidc {
        Some(_) => oidc_page(&req, &state, &next, None).await,
        None => login_page(&req, &state, "", &next, None),
    }
}

/// The login page with HelseID: which organisation the person acts for (HelseID's multi-tenant
/// rules), then the provider's own login.
pub async fn oidc_page(req: &HttpRequest, state: &AppState, next: &str, message: Option<&str>) -> PageResult {
    let orgs = crate::db::run(&state.pool, |c| Ok(crate::db::organisations::list(c, None, false, None)?)).await?;
    let mut orgs: Vec<_> = orgs.into_iter().map(|o| context! { id => o.id.to_string(), name => o.name }).collect();
    orgs.sort_by_key(|o| o.get_attr("name").ok().map(|n| n.to_string()));
    let refused = actix_web::http::StatusCode::BAD_REQUEST;
    with_form(req, state, message.map(|_| refused), |csrf| {
        context! { viewer => (), csrf, next, message, helseid => true, organisations => orgs }
    })
}

pub async fn submit(req: HttpRequest, state: Data<AppState>, form: Posted) -> PageResult {
    let (email, password, next) = (form.text("email"), form.text("password"), safe_next(form.get("neste")));
    let user = match crate::auth::login::authenticate(&state, &email, password).await {
        Ok(user) => user,
        Err(e) if e.status == actix_web::http::StatusCode::UNAUTHORIZED => {
            return login_page(&req, &state, &email, &next, Some("Feil e-postadresse eller passord. Prøv igjen."));
        }
        Err(e) if e.status.is_client_error() => return login_page(&req, &state, &email, &next, Some(&e.detail)),
        Err(e) => return Err(e.into()),
    };
    let token = state.tokens.issue(&user.id, user.session_epoch)?;
    let mut resp = see_other(&next);
    resp.add_cookie(&session::cookie(&req, &state, SESSION_COOKIE, token, state.tokens.ttl_seconds))
        .map_err(|_| super::WebError::internal("cookie"))?;
    Ok(resp)
}

pub async fn logout(
    req: HttpRequest,
    state: Data<AppState>,
    viewer: Result<Viewer, super::WebError>,
    _form: Posted,
) -> PageResult {
    if let Ok(viewer) = viewer {
        viewer.caller.end_sessions(&state).await?;
    }
    // With HelseID the provider's session ends too, and the provider sends the browser back here.
    let to = super::helseid::after_logout(&req, &state).await.unwrap_or_else(|| "/logg-inn".into());
    let mut resp = see_other(&to);
    for name in [SESSION_COOKIE, super::helseid::ID_TOKEN_COOKIE] {
        let mut gone = session::cookie(&req, &state, name, String::new(), 0);
        gone.make_removal();
        resp.add_cookie(&gone).map_err(|_| super::WebError::internal("cookie"))?;
    }
    Ok(resp)
}
