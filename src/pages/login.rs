//! Logging in and out. The session is the API's own token, in an HttpOnly cookie.

use actix_web::web::{self, Data, Query};
use actix_web::{HttpRequest, HttpResponse};
use minijinja::context;
use serde::Deserialize;

use super::render::render;
use super::session::{self, browser_secret, csrf_token, Posted, Viewer, CSRF_COOKIE, SESSION_COOKIE};
use super::{html, see_other, PageResult};
use crate::db;
use crate::directory::users;
use crate::domain::Role;
use crate::state::AppState;

/// Where a signed-in user starts: reporters at the form, everyone else at what they receive.
pub async fn home(viewer: Result<Viewer, super::WebError>) -> HttpResponse {
    match viewer.map(|v| v.caller.role) {
        Ok(Role::Reporter) => see_other("/avvik/ny"),
        Ok(Role::Analyst | Role::Admin) => see_other("/statistikk"),
        Ok(_) => see_other("/avvik?boks=mottatt"),
        Err(_) => see_other("/logg-inn"),
    }
}

#[derive(Deserialize)]
pub struct Next {
    neste: Option<String>,
}

/// Only our own paths: `//evil.example` and `https://…` would make the login an open redirect.
fn safe_next(next: Option<String>) -> String {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\')).unwrap_or_else(|| "/".into())
}

fn login_page(req: &HttpRequest, state: &AppState, email: &str, next: &str, message: Option<&str>) -> PageResult {
    let (secret, fresh) = browser_secret(req);
    let body =
        render("login.html", context! { viewer => (), csrf => csrf_token(state, &secret), email, next, message })?;
    let mut resp = html(body);
    if fresh {
        // A year: the secret only ties forms to this browser; it grants nothing by itself.
        resp.add_cookie(&session::cookie(req, state, CSRF_COOKIE, secret, 365 * 24 * 3600))
            .map_err(|_| super::WebError::internal("cookie"))?;
    }
    if message.is_some() {
        *resp.status_mut() = actix_web::http::StatusCode::UNAUTHORIZED;
    }
    Ok(resp)
}

pub async fn page(req: HttpRequest, state: Data<AppState>, next: Query<Next>) -> PageResult {
    login_page(&req, &state, "", &safe_next(next.into_inner().neste), None)
}

pub async fn submit(req: HttpRequest, state: Data<AppState>, form: Posted) -> PageResult {
    let (email, password, next) = (form.text("email"), form.text("password"), safe_next(form.get("neste")));
    let lookup = email.clone();
    let user = db::run(&state.pool, move |c| Ok(db::users::find_by_email(c, &lookup)?)).await?;
    let verified =
        web::block(move || users::authenticate(user, &password)).await.map_err(crate::error::ApiError::internal)?;
    let Ok(user) = verified else {
        return login_page(&req, &state, &email, &next, Some("Feil e-postadresse eller passord. Prøv igjen."));
    };
    let token = state.tokens.issue(&user.id)?;
    let mut resp = see_other(&next);
    resp.add_cookie(&session::cookie(&req, &state, SESSION_COOKIE, token, state.tokens.ttl_seconds))
        .map_err(|_| super::WebError::internal("cookie"))?;
    Ok(resp)
}

pub async fn logout(req: HttpRequest, state: Data<AppState>, _form: Posted) -> PageResult {
    let mut resp = see_other("/logg-inn");
    let mut gone = session::cookie(&req, &state, SESSION_COOKIE, String::new(), 0);
    gone.make_removal();
    resp.add_cookie(&gone).map_err(|_| super::WebError::internal("cookie"))?;
    Ok(resp)
}
