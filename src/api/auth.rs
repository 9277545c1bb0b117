use actix_web::web::{Data, Json};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::body::Body;
use crate::auth::Caller;
use crate::db;
use crate::directory::organisations::{self as orgs, Unit};
use crate::domain::Code;
use crate::error::ApiError;
use crate::ids::{OrganisationId, UserId};
use crate::state::AppState;

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
    let user = crate::auth::login::authenticate(&state, &email, password).await?;
    Ok(Json(TokenResponse {
        access_token: state.tokens.issue(&user.id, user.session_epoch)?,
        token_type: "Bearer".into(),
        expires_in: state.tokens.ttl_seconds,
    }))
}

/// Ends the caller's sessions: this token and every other one issued to them.
pub async fn logout(state: Data<AppState>, caller: Caller) -> Result<actix_web::HttpResponse, ApiError> {
    caller.end_sessions(&state).await?;
    Ok(actix_web::HttpResponse::NoContent().finish())
}

#[derive(Serialize, Deserialize)]
pub struct Me {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: String,
    pub organisation: MeOrganisation,
    pub unit: Option<Unit>,
}

#[derive(Serialize, Deserialize)]
pub struct MeOrganisation {
    pub id: OrganisationId,
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
