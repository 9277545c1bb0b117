//! Who is looking at a page, and proof that a form post came from one of our own pages.
//!
//! The session is the same signed token the API hands out, kept in an HttpOnly cookie. Every form
//! carries a CSRF token: an HMAC, under the server's secret, of a random per-browser cookie. A
//! foreign site can neither read that cookie nor compute the HMAC, and the cookies are SameSite.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use super::{Chrome, WebError};
use crate::auth::Caller;
use crate::keyed;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "samavvik_session";
pub const CSRF_COOKIE: &str = "samavvik_csrf";
pub const CSRF_FIELD: &str = "csrf";

const CSRF_PURPOSE: &[u8] = b"samavvik-csrf:";

/// The token forms must carry for the browser holding `browser_secret`.
pub fn csrf_token(state: &AppState, browser_secret: &str) -> String {
    keyed::tag(state.config.jwt_secret.as_bytes(), CSRF_PURPOSE, browser_secret.as_bytes())
}

fn csrf_valid(state: &AppState, browser_secret: &str, token: &str) -> bool {
    keyed::verify(state.config.jwt_secret.as_bytes(), CSRF_PURPOSE, browser_secret.as_bytes(), token)
}

/// Secure cookies whenever the service is reached over HTTPS (directly or behind a proxy that
/// says so); plain HTTP on localhost would otherwise never get its cookies back.
fn secure(req: &HttpRequest, state: &AppState) -> bool {
    req.connection_info().scheme() == "https" || state.config.public_base_url.starts_with("https://")
}

pub fn cookie<'a>(
    req: &HttpRequest,
    state: &AppState,
    name: &'a str,
    value: String,
    max_age_seconds: i64,
) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .secure(secure(req, state))
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(max_age_seconds))
        .finish()
}

/// The browser's CSRF secret, and a new one (to be set as a cookie) when it has none yet.
pub fn browser_secret(req: &HttpRequest) -> (String, bool) {
    match req.cookie(CSRF_COOKIE) {
        Some(c) if !c.value().is_empty() => (c.value().to_owned(), false),
        _ => (uuid::Uuid::new_v4().simple().to_string(), true),
    }
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, WebError> {
    req.app_data::<web::Data<AppState>>().cloned().ok_or_else(|| WebError::internal("AppState missing"))
}

/// The signed-in user of a page, with the CSRF token its forms must carry and the page frame.
pub struct Viewer {
    pub caller: Caller,
    pub csrf: String,
    pub chrome: Chrome,
}

impl FromRequest for Viewer {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = state(req);
        let session = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        let secret = req.cookie(CSRF_COOKIE).map(|c| c.value().to_owned());
        let next = req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
        let req = req.clone();
        Box::pin(async move {
            let state = state?;
            let (Some(session), Some(secret)) = (session, secret) else {
                return Err(WebError::LoginRequired { next });
            };
            let caller = Caller::from_token(state.clone(), &session).await.map_err(|e| {
                if e.status.is_client_error() {
                    WebError::LoginRequired { next }
                } else {
                    e.into()
                }
            })?;
            let csrf = csrf_token(&state, &secret);
            let chrome = Chrome::load(&state, &caller, &csrf).await?;
            // A refusal later in this request is shown inside the same frame (`pages::frame_errors`).
            req.extensions_mut().insert(chrome.clone());
            Ok(Viewer { caller, csrf, chrome })
        })
    }
}

/// A value a page was sent, as the id it names if it is one (a UUID), as ids in the API are.
pub fn parse_id<T: From<String>>(value: &str) -> Option<T> {
    uuid::Uuid::parse_str(value).ok().map(|_| T::from(value.to_owned()))
}

/// A form post whose CSRF token has been checked; the fields, trimmed, line breaks as LF, blanks
/// left out.
pub struct Posted(HashMap<String, String>);

impl Posted {
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default()
    }

    /// A field that names a row: its value if it is an id (a UUID), as ids in the API are.
    pub fn id<T: From<String>>(&self, name: &str) -> Option<T> {
        parse_id(self.0.get(name)?)
    }

    /// The `version` a form was read at; a form without one can only be out of date.
    pub fn version(&self) -> i32 {
        self.get("version").and_then(|v| v.parse().ok()).unwrap_or(-1)
    }

    /// The names of the fields that came with something in them.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

impl FromRequest for Posted {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let state = state(req);
        let secret = req.cookie(CSRF_COOKIE).map(|c| c.value().to_owned());
        let form = web::Form::<Vec<(String, String)>>::from_request(req, payload);
        Box::pin(async move {
            let state = state?;
            let fields = form.await.map_err(|_| WebError::BadForm)?.into_inner();
            let token = fields.iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.as_str()).unwrap_or("");
            if !secret.is_some_and(|s| csrf_valid(&state, &s, token)) {
                return Err(WebError::Csrf);
            }
            Ok(Posted(
                fields
                    .into_iter()
                    .filter(|(k, _)| k != CSRF_FIELD)
                    // Browsers send a text area's line breaks as CRLF but count them as one
                    // character against maxlength (and in the counter): store and count them so.
                    .map(|(k, v)| (k, v.trim().replace("\r\n", "\n")))
                    .filter(|(_, v)| !v.is_empty())
                    .collect(),
            ))
        })
    }
}
