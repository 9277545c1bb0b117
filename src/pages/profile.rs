//! One's own settings (the newsletter), and the newsletter's unsubscribe link, which works
//! without logging in: GET asks (a link scanner must not unsubscribe anyone), POST does it — also
//! the mail program's one-click POST (RFC 8058), which carries no CSRF token and needs none, since
//! the link's signature is what only the subscriber has.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Query};
use actix_web::HttpResponse;
use minijinja::context;

use super::render::render;
use super::session::{Posted, Viewer};
use super::{html, see_other, PageResult};
use crate::db;
use crate::learning::newsletter::{self, Link};
use crate::state::AppState;

#[derive(serde::Deserialize)]
pub struct Params {
    gjort: Option<String>,
}

pub async fn page(state: Data<AppState>, viewer: Viewer, params: Query<Params>) -> PageResult {
    let notice = match params.gjort.as_deref() {
        Some("lagret") => Some("Innstillingen er lagret."),
        _ => None,
    };
    let body = db::run(&state.pool, move |c| {
        let since = newsletter::subscription(c, &viewer.caller)?;
        render(
            "profile.html",
            context! { viewer => &viewer.chrome, current => "profile", subscribed => since.is_some(), notice },
        )
    })
    .await?;
    Ok(html(body))
}

pub async fn save(state: Data<AppState>, viewer: Viewer, form: Posted) -> PageResult {
    let now = state.clock.now_naive();
    let on = form.get("nyhetsbrev").is_some();
    db::run(&state.pool, move |c| newsletter::subscribe(c, now, &viewer.caller, on)).await?;
    Ok(see_other("/profil?gjort=lagret"))
}

#[derive(serde::Deserialize)]
pub struct LinkParams {
    #[serde(default)]
    bruker: String,
    #[serde(default)]
    signatur: String,
}

async fn answer(state: Data<AppState>, params: LinkParams, confirm: bool) -> PageResult {
    let config = state.config.clone();
    let (user, tag) = (params.bruker.clone(), params.signatur.clone());
    let link = db::run(&state.pool, move |c| newsletter::by_link(c, &config, &user, &tag, confirm)).await?;
    let action = format!("/nyhetsbrev/avmeld?bruker={}&signatur={}", params.bruker, params.signatur);
    let (status, title, message, ask) = match (link, confirm) {
        (Link::Valid, false) => {
            (StatusCode::OK, "Meld av nyhetsbrevet?", "Du får ikke flere nyhetsbrev fra Forbedringsgruppa.", true)
        }
        (Link::Valid, true) => (
            StatusCode::OK,
            "Du er meldt av",
            "Du får ikke flere nyhetsbrev fra Forbedringsgruppa. Du kan melde deg på igjen under Min profil.",
            false,
        ),
        (Link::AlreadyOut, _) => (
            StatusCode::GONE,
            "Du er allerede meldt av",
            "Denne lenken er brukt, eller du har meldt deg av på en annen måte. Du får ikke nyhetsbrevet.",
            false,
        ),
        (Link::Invalid, _) => (
            StatusCode::BAD_REQUEST,
            "Lenken virker ikke",
            "Lenken er ikke gyldig, eller den er fra før du meldte deg på igjen. Bruk lenken i det siste nyhetsbrevet, \
             eller meld deg av under Min profil.",
            false,
        ),
    };
    let body = render("unsubscribe.html", context! { title, message, confirm => ask, action })?;
    let mut resp: HttpResponse = html(body);
    *resp.status_mut() = status;
    Ok(resp)
}

pub async fn unsubscribe_page(state: Data<AppState>, params: Query<LinkParams>) -> PageResult {
    answer(state, params.into_inner(), false).await
}

pub async fn unsubscribe(state: Data<AppState>, params: Query<LinkParams>) -> PageResult {
    answer(state, params.into_inner(), true).await
}
