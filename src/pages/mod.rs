//! The web pages: a small server-rendered bokmål interface on the same domain code as the API —
//! report a deviation, the sent and received boxes, the case page with its actions, statistics.
//! No JavaScript is needed; where it runs, a few lines make the recipient list a combobox, show
//! questions that depend on an answer, and count characters.

mod actions;
mod analyses;
mod cases;
mod form;
mod helseid;
mod integration;
mod learning;
mod login;
mod profile;
mod render;
pub mod session;
mod statistics;

use std::fmt;

use actix_governor::Governor;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{self, get, post};
use actix_web::{HttpMessage, HttpResponse, ResponseError};

use crate::auth::limits::LoginLimit;
use crate::error::ApiError;

const STYLESHEET: &str = include_str!("static/app.css");
const SCRIPT: &str = include_str!("static/app.js");

pub fn configure(cfg: &mut web::ServiceConfig, login_limit: &LoginLimit) {
    // Six text fields of up to 4 000 characters, percent-encoded, fit well inside this.
    cfg.app_data(web::FormConfig::default().limit(256 * 1024))
        .service(web::resource("/").route(get().to(login::home)))
        .service(
            web::resource("/logg-inn")
                .route(get().to(login::page))
                .route(post().to(login::submit).wrap(Governor::new(login_limit))),
        )
        .service(web::resource("/logg-ut").route(post().to(login::logout)))
        .service(web::resource("/logg-inn/helseid").route(post().to(helseid::start).wrap(Governor::new(login_limit))))
        .service(web::resource("/logg-inn/helseid/svar").route(get().to(helseid::callback)))
        .service(web::resource("/oidc/jwks.json").route(get().to(helseid::jwks)))
        .service(web::resource("/avvik").route(get().to(cases::list)))
        .service(web::resource("/avvik/ny").route(get().to(form::page)).route(post().to(form::submit)))
        .service(web::resource("/avvik/{id}").route(get().to(cases::detail)))
        .service(web::resource("/avvik/{id}/pasient").route(post().to(cases::reveal_patient)))
        .service(web::resource("/avvik/{id}/vurdering").route(post().to(cases::rate)))
        .service(web::resource("/avvik/{id}/{action}").route(post().to(cases::act)))
        .service(web::resource("/analyser").route(get().to(analyses::list)))
        .service(web::resource("/analyser/ny").route(get().to(analyses::new)).route(post().to(analyses::create)))
        .service(web::resource("/analyser/{id}").route(get().to(analyses::detail)))
        .service(web::resource("/analyser/{id}/{action}").route(post().to(analyses::act)))
        .service(web::resource("/laering").route(get().to(learning::list)))
        .service(web::resource("/laering/{id}").route(get().to(learning::detail)))
        .service(web::resource("/laering/{id}/ta-ned").route(post().to(learning::unpublish)))
        .service(web::resource("/tiltak").route(get().to(actions::list)))
        .service(web::resource("/tiltak/{id}").route(get().to(actions::detail)))
        .service(web::resource("/tiltak/{id}/{action}").route(post().to(actions::act)))
        .service(web::resource("/profil").route(get().to(profile::page)))
        .service(web::resource("/profil/nyhetsbrev").route(post().to(profile::save)))
        .service(
            web::resource("/nyhetsbrev/avmeld")
                .route(get().to(profile::unsubscribe_page))
                .route(post().to(profile::unsubscribe)),
        )
        .service(web::resource("/statistikk").route(get().to(statistics::page)))
        .service(web::resource("/integrasjon").route(get().to(integration::page)))
        .service(web::resource("/integrasjon/kategorier").route(post().to(integration::save)))
        .service(web::resource("/integrasjon/kategorier.csv").route(get().to(integration::csv)))
        .service(web::resource("/statistikk/rapport/{file}").route(get().to(statistics::file)))
        .service(web::resource("/static/app.css").route(get().to(|| asset(STYLESHEET, "text/css"))))
        .service(web::resource("/static/app.js").route(get().to(|| asset(SCRIPT, "text/javascript"))));
}

async fn asset(body: &'static str, content_type: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(format!("{content_type}; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

/// A page: HTML that must never be cached (it holds patient-adjacent case text).
pub fn html(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// Post/redirect/get: after a form post the browser lands on a page it can reload safely.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}

/// Unreserved characters and `/` stay as they are, so a path in `neste` stays readable.
const QUERY_VALUE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

/// Percent-encodes a value for a query string.
pub fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, QUERY_VALUE).to_string()
}

pub enum WebError {
    /// No valid session: to the login page, then back.
    LoginRequired {
        next: String,
    },
    /// The form's CSRF token is missing or wrong.
    Csrf,
    /// The body was not a form.
    BadForm,
    Api(ApiError),
}

impl WebError {
    pub fn internal(what: &'static str) -> Self {
        WebError::Api(ApiError::internal(anyhow::anyhow!(what)))
    }
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        WebError::Api(e)
    }
}

impl fmt::Debug for WebError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebError::LoginRequired { .. } => f.write_str("login required"),
            WebError::Csrf => f.write_str("CSRF token missing or invalid"),
            WebError::BadForm => f.write_str("body is not a form"),
            WebError::Api(e) => fmt::Debug::fmt(e, f),
        }
    }
}

impl fmt::Display for WebError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::LoginRequired { .. } => StatusCode::SEE_OTHER,
            WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::BadForm => StatusCode::BAD_REQUEST,
            WebError::Api(e) => e.status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (title, message) = match self {
            WebError::LoginRequired { next } => return see_other(&format!("/logg-inn?neste={}", encode(next))),
            WebError::Csrf => (
                "Skjemaet ble ikke sendt",
                "Siden var for gammel, eller skjemaet kom fra et annet nettsted. Gå tilbake, last siden på nytt og prøv igjen."
                    .to_owned(),
            ),
            WebError::BadForm => ("Skjemaet ble ikke sendt", "Innholdet kunne ikke leses som et skjema.".to_owned()),
            WebError::Api(e) if e.status.is_server_error() => {
                ("Noe gikk galt", "Det oppstod en feil hos oss. Ingenting er lagret. Prøv igjen om litt.".to_owned())
            }
            WebError::Api(e) if e.status == StatusCode::NOT_FOUND => ("Fant ikke siden", e.detail.clone()),
            WebError::Api(e) if e.status == StatusCode::FORBIDDEN => ("Du har ikke tilgang", e.detail.clone()),
            WebError::Api(e) => ("Det gikk ikke", e.detail.clone()),
        };
        let mut response = error_html(self.status_code(), render::error_page(title, &message, None));
        response.extensions_mut().insert(ErrorText { title, message });
        response
    }
}

pub type PageResult = Result<HttpResponse, WebError>;

/// What the page frame shows about the signed-in user.
#[derive(serde::Serialize, Clone)]
pub struct Chrome {
    name: String,
    organisation: String,
    csrf: String,
    can_report: bool,
    has_boxes: bool,
    can_see_stats: bool,
    can_integrate: bool,
    /// Hendelsesanalyser and Tiltak in the menu: for those who may start an analysis, its
    /// participants, and the people responsible for an action.
    can_analyse: bool,
}

impl Chrome {
    async fn load(state: &crate::state::AppState, caller: &crate::auth::Caller, csrf: &str) -> Result<Self, ApiError> {
        let (org, user) = (caller.organisation_id.clone(), caller.user_id.clone());
        let starts = crate::policy::may_start_analysis(caller);
        let (organisation, can_analyse) = crate::db::run(&state.pool, move |c| {
            let name = crate::db::organisations::find(c, &org)?.name;
            let follows = starts
                || crate::db::analyses::takes_part(c, &user)?
                || crate::db::actions::responsible_for_any(c, &user)?;
            Ok((name, follows))
        })
        .await?;
        Ok(Chrome {
            name: caller.name.clone(),
            organisation,
            csrf: csrf.to_owned(),
            can_report: crate::policy::may_report(caller),
            has_boxes: crate::policy::has_boxes(caller),
            can_see_stats: crate::policy::may_see_statistics(caller),
            can_integrate: crate::policy::require_integration(caller, &caller.organisation_id).is_ok()
                && caller.role != crate::domain::Role::Admin,
            can_analyse,
        })
    }
}

/// The title and text of a page's error response, kept on it so `frame_errors` can show them
/// inside the signed-in user's frame.
#[derive(Clone)]
struct ErrorText {
    title: &'static str,
    message: String,
}

/// A refused or missing page for a signed-in user keeps the header and menu, so there is a way on.
/// (`WebError` renders without the request; the frame comes from the `Viewer` the request had.)
pub async fn frame_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?;
    let text = res.response().extensions().get::<ErrorText>().cloned();
    let chrome = res.request().extensions().get::<Chrome>().cloned();
    match (text, chrome) {
        (Some(text), Some(chrome)) => {
            let status = res.status();
            let (req, _) = res.into_parts();
            let body = render::error_page(text.title, &text.message, Some(&chrome));
            Ok(ServiceResponse::new(req, error_html(status, body)))
        }
        _ => Ok(res.map_into_boxed_body()),
    }
}

fn error_html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}
