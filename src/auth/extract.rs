//! The `Caller` extractor: the bearer token (API) or session cookie (pages) verified, and the
//! user row it names, cached for a few seconds.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};

use super::caller::{Actor, Caller, ClientScopes, Use};
use crate::db;
use crate::domain::{Code, Role};
use crate::error::ApiError;
use crate::ids::UserId;
use crate::state::AppState;

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let missing = || {
        ApiError::unauthorized("missing_token", "Du må logge inn for å bruke denne tjenesten.")
            .challenge("Bearer realm=\"samavvik\"")
    };
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| missing())?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim().to_owned())
        }
        _ => Err(missing()),
    }
}

impl Caller {
    /// The active user a token names; shared by the API (bearer header) and the web pages (cookie).
    pub async fn from_token(state: web::Data<AppState>, token: &str) -> Result<Self, ApiError> {
        let verified = state.verifier.verify(token)?;
        Caller::of_user(&state, &verified.user_id, verified.session_epoch).await
    }

    /// The active user with this id, as a caller; with `session_epoch`, only if their sessions
    /// have not been ended since.
    pub async fn of_user(state: &AppState, user_id: &UserId, session_epoch: Option<i32>) -> Result<Self, ApiError> {
        let current = |caller: Caller| match session_epoch {
            Some(epoch) if epoch != caller.session_epoch => {
                Err(ApiError::unauthorized("session_ended", "Du er logget ut. Logg inn på nytt."))
            }
            _ => Ok(caller),
        };
        if let Some(caller) = state.callers.get(user_id) {
            return current(caller);
        }
        let id = user_id.clone();
        let caller = db::run(&state.pool, move |conn| Caller::load(conn, &id)).await?;
        state.callers.insert(caller.user_id.clone(), caller.clone());
        current(caller)
    }
}

impl Caller {
    /// The active user with this id, as a caller, read from the database (no cache): for the
    /// requests above and for work done on a user's behalf outside a request (the demo's cases).
    pub fn load(conn: &mut db::DbConnection, id: &UserId) -> Result<Self, ApiError> {
        let user = db::users::find_active(conn, id).map_err(|e| match e {
            diesel::result::Error::NotFound => {
                ApiError::unauthorized("invalid_token", "Brukeren finnes ikke lenger eller er deaktivert.")
            }
            other => other.into(),
        })?;
        let community = db::organisations::find(conn, &user.organisation_id)?.health_community_id;
        let actor = match user.machine {
            true => Actor::Machine(ClientScopes::parse(&db::clients::scopes_of_user(conn, &user.id)?)),
            false => Actor::Person,
        };
        let role = Role::from_code(&user.role)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown role {}", user.role)))?;
        Ok(Caller {
            user_id: user.id,
            email: user.email,
            name: user.name,
            organisation_id: user.organisation_id,
            unit_id: user.unit_id,
            role,
            session_epoch: user.session_epoch,
            actor,
            health_community_id: community,
        })
    }

    /// Logs the caller out everywhere: every token issued to them so far stops working, here at
    /// once and on other instances when their cached caller expires (`CALLER_TTL`).
    pub async fn end_sessions(&self, state: &AppState) -> Result<(), ApiError> {
        let id = self.user_id.clone();
        db::run(&state.pool, move |c| Ok(db::users::end_sessions(c, &id)?)).await?;
        state.callers.invalidate(&self.user_id);
        Ok(())
    }
}

/// What a request asks of a machine client's scopes: any change needs `deviations:write`, the feed
/// `feed:read`, every other read `deviations:read`. None for patient identity, which no scope
/// gives: the patient module refuses every machine there itself, so that the refusal is logged.
fn use_of(req: &HttpRequest) -> Option<Use> {
    let path = req.path();
    if path.starts_with("/api/v1/deviations/") && (path.ends_with("/patient/reveal") || path.ends_with("/related")) {
        return None;
    }
    Some(match *req.method() {
        actix_web::http::Method::GET | actix_web::http::Method::HEAD => match path.starts_with("/api/v1/feed") {
            true => Use::Feed,
            false => Use::Read,
        },
        _ => Use::Write,
    })
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("AppState missing")))?;
            let caller = match &state.oidc {
                Some(oidc) => super::oidc::authenticate(&state, oidc, &req).await,
                None => {
                    let token = bearer(&req)?;
                    match super::api_key::prefix_of(&token) {
                        Some(_) => super::api_key::caller(&state, &token).await,
                        None => Caller::from_token(state.clone(), &token).await,
                    }
                }
            }?;
            if let Actor::Machine(scopes) = caller.actor {
                // The request's log line names the quality system that made it.
                tracing::Span::current().record("client", caller.name.as_str());
                if let Some(wanted) = use_of(&req).filter(|w| !scopes.allows(*w)) {
                    return Err(ApiError::new(
                        actix_web::http::StatusCode::FORBIDDEN,
                        "insufficient_scope",
                        format!("Klienten «{}» er ikke registrert med {} i samavvik.", caller.name, wanted.scope()),
                    ));
                }
            }
            Ok(caller)
        })
    }
}
