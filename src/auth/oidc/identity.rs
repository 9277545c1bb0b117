//! Who a HelseID token's bearer is here. The organisation comes from the client's organisation
//! number claim; a person (a token with `pid`) is the user their organisation's admin registered,
//! linked at the first login by HPR number (or e-mail) and from then on by the provider's subject.
//! The national identity number is never stored or logged: a keyed hash is kept beside the link.

use actix_web::http::StatusCode;

use super::{dpop, AccessClaims, Oidc};
use crate::auth::Caller;
use crate::db::{self, clients, identities, organisations};
use crate::error::ApiError;
use crate::ids::{OrganisationId, UserId};
use crate::state::AppState;

pub const PID: &str = "helseid://claims/identity/pid";
pub const SECURITY_LEVEL: &str = "helseid://claims/identity/security_level";
pub const HPR_NUMBER: &str = "helseid://claims/hpr/hpr_number";
pub const ORGNR_CHILD: &str = "helseid://claims/client/claims/orgnr_child";

/// Recently linked (subject or client id, organisation) → user, so a request does not look the link
/// up every time. A revoked client is dropped from the caller cache at once, and its deactivated
/// user refused.
pub type Identities = moka::sync::Cache<(String, OrganisationId), UserId>;

pub fn identities() -> Identities {
    moka::sync::Cache::builder().max_capacity(100_000).time_to_live(std::time::Duration::from_secs(60)).build()
}

fn refused(code: &'static str, detail: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code, detail)
}

/// What a claim says, fit to repeat in a message: short and printable, else a placeholder.
fn shown(value: &str) -> &str {
    match value.len() <= 100 && value.chars().all(|c| c.is_ascii_graphic()) {
        true => value,
        false => "(ugyldig verdi)",
    }
}

/// The caller a verified token names.
pub async fn caller(state: &AppState, oidc: &Oidc, claims: &AccessClaims) -> Result<Caller, ApiError> {
    let (organisation, unit) = organisation(state, oidc, claims).await?;
    let mut caller = match claims.text(PID) {
        None => machine(state, oidc, claims, organisation).await?,
        Some(_) => person(state, oidc, claims, organisation).await?,
    };
    // A client of one unit (orgnr_child) speaks for that unit, unless the user has one of their own.
    if caller.unit_id.is_none() {
        caller.unit_id = unit;
    }
    Ok(caller)
}

/// The organisation a token names, and the unit where it names one of its units.
async fn organisation(
    state: &AppState,
    oidc: &Oidc,
    claims: &AccessClaims,
) -> Result<(organisations::OrganisationRow, Option<crate::ids::UnitId>), ApiError> {
    let org_number = claims.text(&oidc.settings.organisation_claim).ok_or_else(|| {
        refused("unknown_organisation", "Tilgangstokenet sier ikke hvilken organisasjon det gjelder.".into())
    })?;
    let number = org_number.to_owned();
    let organisation = db::run(&state.pool, move |c| Ok(organisations::find_by_number(c, &number)?)).await?;
    let organisation = organisation.ok_or_else(|| {
        refused(
            "unknown_organisation",
            format!("Organisasjonsnummer {} er ikke medlem av helsefellesskapet i samavvik.", shown(org_number)),
        )
    })?;
    let Some(child) = claims.text(ORGNR_CHILD).filter(|c| *c != org_number) else {
        return Ok((organisation, None));
    };
    let (id, number) = (organisation.id.clone(), child.to_owned());
    let unit = db::run(&state.pool, move |c| Ok(db::units::find_by_number(c, &id, &number)?)).await?;
    let unit = unit.ok_or_else(|| {
        refused(
            "unknown_organisation",
            format!("Organisasjonsnummer {} er ikke en enhet i {} i samavvik.", shown(child), organisation.name),
        )
    })?;
    Ok((organisation, Some(unit.id)))
}

/// A person: the user their organisation registered, or a pending one where it allows that.
async fn person(
    state: &AppState,
    oidc: &Oidc,
    claims: &AccessClaims,
    organisation: organisations::OrganisationRow,
) -> Result<Caller, ApiError> {
    let level = match claims.0.get(SECURITY_LEVEL) {
        Some(serde_json::Value::String(s)) => s.parse::<u8>().ok(),
        Some(serde_json::Value::Number(n)) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
        _ => None,
    };
    if level.is_none_or(|l| l < oidc.settings.min_security_level) {
        return Err(refused(
            "security_level_too_low",
            format!(
                "Innloggingen har for lavt sikkerhetsnivå. samavvik krever nivå {} (for eksempel BankID).",
                oidc.settings.min_security_level
            ),
        ));
    }
    let subject = claims.text("sub").ok_or_else(|| super::invalid_token("tokenet mangler sub."))?.to_owned();
    let key = (subject.clone(), organisation.id.clone());
    let user_id = match oidc.identities.get(&key) {
        Some(id) => id,
        None => {
            let link = Link {
                issuer: oidc.settings.issuer.clone(),
                subject,
                organisation: organisation.clone(),
                hpr_number: claims.text(HPR_NUMBER).map(str::to_owned),
                email: claims.text("email").map(str::to_owned),
                name: claims.text("name").map(str::to_owned),
                pid_hash: pid_hash(&state.config.jwt_secret, claims.text(PID).unwrap_or_default()),
                public_base_url: state.config.public_base_url.clone(),
                now: state.clock.now_naive(),
            };
            let found = db::run(&state.pool, move |c| link.user(c)).await?;
            let waiting = || {
                refused(
                    "pending_approval",
                    format!(
                        "Du har bedt om tilgang til samavvik for {}. En administrator må godkjenne deg før du kan \
                         bruke tjenesten; spør kvalitetsrådgiveren eller IT-administratoren der hvis det tar tid.",
                        organisation.name
                    ),
                )
            };
            let id = match found {
                Found::User(id) => id,
                Found::Pending => return Err(waiting()),
                Found::Unknown => {
                    return Err(refused(
                        "not_registered",
                        format!(
                            "Du er ikke registrert som bruker i {}. Be administratoren der om tilgang, og oppgi HPR-nummeret ditt.",
                            organisation.name
                        ),
                    ))
                }
            };
            oidc.identities.insert(key, id.clone());
            id
        }
    };
    Caller::of_user(state, &user_id, None).await
}

/// An organisation's system: a token without a person, from a HelseID client registered here for
/// the organisation the token names.
async fn machine(
    state: &AppState,
    oidc: &Oidc,
    claims: &AccessClaims,
    organisation: organisations::OrganisationRow,
) -> Result<Caller, ApiError> {
    let client_id = claims.text("client_id").unwrap_or("(uten client_id)").to_owned();
    let unknown = || {
        refused(
            "unknown_client",
            format!("Klienten «{}» er ikke registrert i samavvik for {}.", shown(&client_id), organisation.name),
        )
    };
    let key = (client_id.clone(), organisation.id.clone());
    let user_id = match oidc.identities.get(&key) {
        Some(found) => found,
        None => {
            let (id, now) = (client_id.clone(), state.clock.now_naive());
            let client = db::run(&state.pool, move |c| {
                let client = clients::by_helseid_client(c, &id)?;
                if let Some(client) = &client {
                    clients::used(c, &client.id, now)?;
                }
                Ok(client)
            })
            .await?;
            let client = client.filter(|c| c.organisation_id == organisation.id).ok_or_else(unknown)?;
            oidc.identities.insert(key, client.user_id.clone());
            client.user_id
        }
    };
    Caller::of_user(state, &user_id, None).await
}

struct Link {
    issuer: String,
    subject: String,
    organisation: organisations::OrganisationRow,
    hpr_number: Option<String>,
    email: Option<String>,
    name: Option<String>,
    pid_hash: String,
    public_base_url: String,
    now: chrono::NaiveDateTime,
}

enum Found {
    User(UserId),
    /// Asked for access (now or before) and not yet approved.
    Pending,
    Unknown,
}

impl Link {
    /// The user already linked; or the pre-registered one, linked now; or, where the organisation
    /// allows it, a new pending one.
    fn user(self, conn: &mut db::DbConnection) -> Result<Found, ApiError> {
        // Reads, then writes: on SQLite the write lock is taken first, so a writer in between
        // (another instance, the mail worker) cannot make the write fail (write_tx).
        db::write_tx(conn, |conn| {
            let org = &self.organisation;
            if let Some(id) = identities::find(conn, &self.issuer, &self.subject, &org.id)? {
                let pending = db::users::find(conn, &id)?.pending;
                return Ok(if pending { Found::Pending } else { Found::User(id) });
            }
            let pre = identities::pre_registered(conn, &org.id, self.hpr_number.as_deref(), self.email.as_deref())?;
            let (id, found) = match pre {
                Some(id) => {
                    remember_hpr(conn, &id, &org.id, self.hpr_number.as_deref())?;
                    (id.clone(), Found::User(id))
                }
                None if org.self_enrolment => {
                    let hpr = self.hpr_number.as_deref();
                    let name = self.name.as_deref();
                    let id = crate::directory::users::enrol(conn, org, name, hpr, &self.public_base_url, self.now)?;
                    (id, Found::Pending)
                }
                None => return Ok(Found::Unknown),
            };
            identities::insert(
                conn,
                &identities::IdentityRow {
                    issuer: self.issuer,
                    subject: self.subject,
                    organisation_id: org.id.clone(),
                    user_id: id,
                    pid_hash: Some(self.pid_hash),
                    created_at: self.now,
                    last_seen_at: self.now,
                },
            )?;
            Ok(found)
        })
    }
}

/// A user found by e-mail keeps the HPR number HelseID gave, for display, unless they have one or
/// it is another user's in the organisation.
fn remember_hpr(
    conn: &mut db::DbConnection,
    id: &UserId,
    org: &OrganisationId,
    hpr: Option<&str>,
) -> Result<(), ApiError> {
    let Some(hpr) = hpr.filter(|h| h.len() <= 9 && h.bytes().all(|b| b.is_ascii_digit())) else {
        return Ok(());
    };
    let taken = db::users::list(conn, Some(org))?.iter().any(|u| u.hpr_number.as_deref() == Some(hpr));
    if !taken && db::users::find(conn, id)?.hpr_number.is_none() {
        let changes = db::users::UserChanges { hpr_number: Some(Some(hpr.to_owned())), ..Default::default() };
        db::users::update(conn, id, &changes)?;
    }
    Ok(())
}

/// The keyed hash kept in place of the national identity number.
fn pid_hash(secret: &str, pid: &str) -> String {
    crate::keyed::tag(secret.as_bytes(), b"helseid-pid\n", pid.as_bytes())
}

/// Records a proof as used; a second use, here or on another instance, is refused.
pub async fn remember_proof(state: &AppState, proof: dpop::Proof) -> Result<(), ApiError> {
    let expires = proof.expires_at.naive_utc();
    let fresh = db::run(&state.pool, move |c| Ok(identities::remember_proof(c, &proof.replay_key, expires)?)).await?;
    match fresh {
        true => Ok(()),
        false => Err(dpop::invalid("beviset er brukt før (jti).")),
    }
}
