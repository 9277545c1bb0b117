//! Logging in and out with HelseID (`auth::oidc::login` does the protocol): the person chooses the
//! organisation they act for, HelseID logs them in, and they land in samavvik with the session
//! cookie the password login gives. Whatever goes wrong on the way is a page in bokmål with a
//! way back to the login page, never a 500.

use actix_web::web::{Data, Query};
use actix_web::{HttpRequest, HttpResponse};

use super::session::{self, Posted, SESSION_COOKIE};
use super::{see_other, PageResult, WebError};
use crate::auth::oidc::login::{self, Callback, Pending};
use crate::auth::oidc::{identity, Oidc};
use crate::db;
use crate::ids::OrganisationId;
use crate::state::AppState;

/// The started login, until the provider sends the browser back.
const PENDING_COOKIE: &str = "samavvik_helseid";
/// The ID token, for ending the provider's session at logout.
pub const ID_TOKEN_COOKIE: &str = "samavvik_idt";

fn oidc(state: &AppState) -> Result<&Oidc, WebError> {
    state
        .oidc
        .as_deref()
        .ok_or_else(|| WebError::Api(crate::error::ApiError::not_found("Innlogging med HelseID er ikke slått på her.")))
}

fn gone<'a>(req: &HttpRequest, state: &AppState, name: &'a str) -> actix_web::cookie::Cookie<'a> {
    let mut c = session::cookie(req, state, name, String::new(), 0);
    c.make_removal();
    c
}

/// "Logg inn med HelseID": the organisation chosen, the request pushed, the browser sent on.
pub async fn start(req: HttpRequest, state: Data<AppState>, form: Posted) -> PageResult {
    let oidc = oidc(&state)?;
    let next = super::login::safe_next(form.get("neste"));
    let chosen = form.text("organisation_id");
    let organisation = match chosen.parse::<uuid::Uuid>() {
        Ok(id) => {
            let id = OrganisationId::from(id.to_string());
            db::run(&state.pool, move |c| Ok(db::organisations::find(c, &id).ok().filter(|o| o.active))).await?
        }
        Err(_) => None,
    };
    let Some(organisation) = organisation else {
        return super::login::oidc_page(&req, &state, &next, Some("Velg organisasjonen du skal logge inn for.")).await;
    };
    let (url, pending) = login::start(oidc, &oidc.web, &organisation.org_number, next, state.clock.now()).await?;
    let sealed = login::seal(&state.config.jwt_secret, &pending)?;
    let mut resp = see_other(&url);
    resp.add_cookie(&session::cookie(&req, &state, PENDING_COOKIE, sealed, login::PENDING_SECONDS))
        .map_err(|_| WebError::internal("cookie"))?;
    Ok(resp)
}

/// The provider's answer: a code to exchange, or an error (cancelled, refused).
pub async fn callback(req: HttpRequest, state: Data<AppState>, answer: Query<Callback>) -> PageResult {
    let oidc = oidc(&state)?;
    let pending: Option<Pending> =
        req.cookie(PENDING_COOKIE).and_then(|c| login::open(&state.config.jwt_secret, c.value()));
    let next = pending.as_ref().map(|p| p.next.clone()).unwrap_or_else(|| "/".into());
    let result = match &pending {
        Some(pending) => login::finish(oidc, &oidc.web, pending, &answer, state.clock.now()).await,
        None => Err(crate::error::ApiError::bad_request(
            "login_failed",
            "Innloggingen kunne ikke fullføres: den er utløpt eller startet i en annen nettleser. Prøv igjen.",
        )),
    };
    let found = match result {
        Ok((claims, id_token)) => identity::caller(&state, oidc, &claims).await.map(|c| (c, id_token)),
        Err(e) => Err(e),
    };
    let (caller, id_token) = match found {
        Ok(found) => found,
        Err(e)
            if e.status.is_client_error()
                || (e.status.is_server_error() && e.code == "identity_provider_unavailable") =>
        {
            tracing::info!(code = e.code, cause = ?e, "HelseID login refused");
            let mut resp = super::login::oidc_page(&req, &state, &next, Some(&e.detail)).await?;
            *resp.status_mut() = e.status;
            resp.add_cookie(&gone(&req, &state, PENDING_COOKIE)).map_err(|_| WebError::internal("cookie"))?;
            return Ok(resp);
        }
        Err(e) => return Err(e.into()),
    };
    let token = state.tokens.issue(&caller.user_id, caller.session_epoch)?;
    let mut resp = see_other(&next);
    let ttl = state.tokens.ttl_seconds;
    for cookie in [
        session::cookie(&req, &state, SESSION_COOKIE, token, ttl),
        session::cookie(&req, &state, ID_TOKEN_COOKIE, id_token, ttl),
        gone(&req, &state, PENDING_COOKIE),
    ] {
        resp.add_cookie(&cookie).map_err(|_| WebError::internal("cookie"))?;
    }
    Ok(resp)
}

/// Where the browser goes after the local logout: the provider's end-session page, which sends
/// it back to our login page.
pub async fn after_logout(req: &HttpRequest, state: &AppState) -> Option<String> {
    let oidc = state.oidc.as_deref()?;
    let id_token = req.cookie(ID_TOKEN_COOKIE).map(|c| c.value().to_owned()).filter(|t| !t.is_empty());
    login::logout_url(oidc, &oidc.web, id_token.as_deref()).await
}

/// The web client's public key, to register in HelseID Selvbetjening.
pub async fn jwks(state: Data<AppState>) -> PageResult {
    let oidc = oidc(&state)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "keys": [oidc.web.public_jwk] })))
}
