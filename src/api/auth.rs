use actix_governor::{GovernorConfig, GovernorConfigBuilder, PeerIpKeyExtractor};
use actix_web::web::{self, Data, Json};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::body::Body;
use crate::auth::Caller;
use crate::db;
use crate::directory::organisations::{self as orgs, Unit};
use crate::directory::users;
use crate::domain::Code;
use crate::error::ApiError;
use crate::state::AppState;

pub type LoginLimit = GovernorConfig<PeerIpKeyExtractor, actix_governor::governor::middleware::NoOpMiddleware>;

/// Login attempts per client address: a burst of `per_minute`, refilled over a minute.
pub fn login_limiter(per_minute: u32) -> LoginLimit {
    let per_minute = per_minute.clamp(1, 60_000);
    GovernorConfigBuilder::default()
        .period(std::time::Duration::from_millis(60_000 / u64::from(per_minute)))
        .burst_size(per_minute)
        .finish()
        .unwrap_or_else(GovernorConfig::secure)
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    #[validate(length(min = 1, max = 254))]
    pub email: String,
    #[validate(length(min = 1, max = 1024))]
    pub password: String,
}

#[derive(Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
}

pub async fn token(state: Data<AppState>, body: Body<TokenRequest>) -> Result<Json<TokenResponse>, ApiError> {
    body.validate()?;
    let TokenRequest { email, password } = body.into_inner();
    let user = db::run(&state.pool, move |c| Ok(db::users::find_by_email(c, &email)?)).await?;
    // Argon2 is deliberately expensive: verify on the blocking pool, without holding a connection.
    let user = web::block(move || users::authenticate(user, &password)).await.map_err(ApiError::internal)??;
    Ok(Json(TokenResponse {
        access_token: state.tokens.issue(&user.id)?,
        token_type: "Bearer".into(),
        expires_in: state.tokens.ttl_seconds,
    }))
}

#[derive(Serialize, Deserialize)]
pub struct Me {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub organisation: MeOrganisation,
    pub unit: Option<Unit>,
}

#[derive(Serialize, Deserialize)]
pub struct MeOrganisation {
    pub id: String,
    pub name: String,
    pub kind: String,
}

pub async fn me(state: Data<AppState>, caller: Caller) -> Result<Json<Me>, ApiError> {
    let org_id = caller.organisation_id.clone();
    let org = db::run(&state.pool, move |c| orgs::get(c, &org_id)).await?;
    let unit = org.units.into_iter().find(|u| Some(&u.id) == caller.unit_id.as_ref());
    Ok(Json(Me {
        id: caller.user_id,
        email: caller.email,
        name: caller.name,
        role: caller.role.code().to_owned(),
        organisation: MeOrganisation { id: org.id, name: org.name, kind: org.kind },
        unit,
    }))
}
