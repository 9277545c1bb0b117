//! Users: created by admins (API) or operators (`samavvik user add`).

use serde::{Deserialize, Serialize};
use validator::Validate;

use super::organisations::not_found_as;
use super::{address, now, required_text};
use crate::auth::password;
use crate::db::users::{self, UserChanges, UserRow};
use crate::db::{organisations as orgs, units, DbConnection};
use crate::domain::{Code, Role};
use crate::error::ApiError;
use crate::ids::{OrganisationId, UnitId, UserId};

#[derive(Debug, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub organisation_id: OrganisationId,
    pub unit_id: Option<UnitId>,
    pub role: String,
    pub active: bool,
    pub hpr_number: Option<String>,
    /// Asked for access at a HelseID login and waits for an admin to activate them.
    pub pending: bool,
}

impl From<UserRow> for User {
    fn from(u: UserRow) -> Self {
        User {
            id: u.id,
            email: u.email,
            name: u.name,
            organisation_id: u.organisation_id,
            unit_id: u.unit_id,
            role: u.role,
            active: u.active,
            hpr_number: u.hpr_number,
            pending: u.pending,
        }
    }
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[validate(length(min = 1, max = 200))]
    pub name: String,
    #[validate(email(message = "Må være en gyldig e-postadresse."), length(max = 254))]
    pub email: String,
    pub organisation_id: OrganisationId,
    pub unit_id: Option<UnitId>,
    pub role: String,
    #[validate(length(min = 10, max = 1024, message = "Passordet må ha minst 10 tegn."))]
    pub password: Option<String>,
    pub hpr_number: Option<String>,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[validate(length(min = 1, max = 200))]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "super::double_option")]
    pub unit_id: Option<Option<UnitId>>,
    pub role: Option<String>,
    #[validate(length(min = 10, max = 1024, message = "Passordet må ha minst 10 tegn."))]
    pub password: Option<String>,
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "super::double_option")]
    pub hpr_number: Option<Option<String>>,
    /// A self-enrolled person's real address, which the admin sets when approving.
    #[validate(email(message = "Må være en gyldig e-postadresse."), length(max = 254))]
    pub email: Option<String>,
}

fn parse_role(role: &str) -> Result<Role, ApiError> {
    Role::from_code(role)
        .ok_or_else(|| ApiError::field("role", "invalid_value", format!("Må være {}.", Role::allowed())))
}

/// A unit, when given, must belong to the user's organisation.
fn check_unit(
    conn: &mut DbConnection,
    organisation_id: &OrganisationId,
    unit_id: Option<&UnitId>,
) -> Result<(), ApiError> {
    let Some(unit_id) = unit_id else {
        return Ok(());
    };
    match units::find(conn, unit_id) {
        Ok(u) if u.organisation_id == *organisation_id => Ok(()),
        Ok(_) | Err(diesel::result::Error::NotFound) => {
            Err(ApiError::field("unit_id", "unknown_unit", "Enheten finnes ikke i brukerens organisasjon."))
        }
        Err(e) => Err(e.into()),
    }
}

/// An HPR number (Helsepersonellregisteret) is up to nine digits.
fn hpr_number(value: Option<&str>) -> Result<Option<String>, ApiError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.len() <= 9 && v.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(v.to_owned())),
        Some(_) => Err(ApiError::field("hpr_number", "invalid_value", "HPR-nummeret er et tall med høyst ni sifre.")),
    }
}

fn hash(password: Option<&str>) -> Result<Option<String>, ApiError> {
    password.map(password::hash).transpose().map_err(ApiError::internal)
}

pub fn create(conn: &mut DbConnection, new: NewUser) -> Result<User, ApiError> {
    new.validate()?;
    let role = parse_role(&new.role)?;
    let now = now();
    let row = UserRow {
        id: UserId::generate(),
        email: address("email", &new.email)?.to_lowercase(),
        name: required_text("name", &new.name)?,
        organisation_id: new.organisation_id.clone(),
        unit_id: new.unit_id.clone(),
        role: role.code().to_owned(),
        password_hash: hash(new.password.as_deref())?,
        active: true,
        created_at: now,
        updated_at: now,
        session_epoch: 0,
        hpr_number: hpr_number(new.hpr_number.as_deref())?,
        machine: false,
        pending: false,
    };
    crate::db::write_tx(conn, |conn| {
        orgs::find(conn, &row.organisation_id).map_err(|e| match e {
            diesel::result::Error::NotFound => {
                ApiError::field("organisation_id", "unknown_organisation", "Organisasjonen finnes ikke.")
            }
            other => other.into(),
        })?;
        check_unit(conn, &row.organisation_id, row.unit_id.as_ref())?;
        if users::find_by_email(conn, &row.email)?.is_some() {
            return Err(ApiError::conflict("email_taken", "Det finnes allerede en bruker med denne e-postadressen."));
        }
        users::insert(conn, &row)?;
        Ok(())
    })?;
    Ok(row.into())
}

pub fn update(conn: &mut DbConnection, id: &UserId, patch: UserPatch) -> Result<User, ApiError> {
    patch.validate()?;
    let role = patch.role.as_deref().map(parse_role).transpose()?;
    let password_hash = hash(patch.password.as_deref())?;
    crate::db::write_tx(conn, |conn| {
        let user = users::find(conn, id).map_err(|e| not_found_as("Brukeren finnes ikke.", e))?;
        if let Some(unit) = &patch.unit_id {
            check_unit(conn, &user.organisation_id, unit.as_ref())?;
        }
        if let Some(email) = patch.email.as_deref().map(str::to_lowercase) {
            if users::find_by_email(conn, email.trim())?.is_some_and(|other| other.id != user.id) {
                return Err(ApiError::conflict(
                    "email_taken",
                    "Det finnes allerede en bruker med denne e-postadressen.",
                ));
            }
        }
        let changes = UserChanges {
            name: patch.name.as_deref().map(|n| required_text("name", n)).transpose()?,
            unit_id: patch.unit_id.clone(),
            role: role.map(|r| r.code().to_owned()),
            password_hash: password_hash.map(Some),
            active: patch.active,
            hpr_number: patch.hpr_number.as_ref().map(|h| hpr_number(h.as_deref())).transpose()?,
            email: patch.email.as_deref().map(|e| address("email", e).map(|e| e.to_lowercase())).transpose()?,
            // Activating a self-enrolled person is the admin's approval.
            pending: (patch.active == Some(true)).then_some(false),
            updated_at: Some(now()),
        };
        users::update(conn, id, &changes)?;
        if changes.password_hash.is_some() || changes.active == Some(false) {
            users::end_sessions(conn, id)?;
        }
        Ok(users::find(conn, id)?.into())
    })
}

/// Someone a case can be given to when its receipt is acknowledged (`handler_id`).
#[derive(Debug, Serialize, Deserialize)]
pub struct Assignee {
    pub id: UserId,
    pub name: String,
    pub unit_id: Option<UnitId>,
    pub role: String,
}

/// The people of `organisation_id` a case it receives may be assigned to, by name.
pub fn assignable(conn: &mut DbConnection, organisation_id: &OrganisationId) -> Result<Vec<Assignee>, ApiError> {
    let mut people: Vec<Assignee> = users::list(conn, Some(organisation_id))?
        .into_iter()
        .filter(|u| crate::policy::may_be_assigned(u, organisation_id))
        .map(|u| Assignee { id: u.id, name: u.name, unit_id: u.unit_id, role: u.role })
        .collect();
    people.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(people)
}

pub fn list(conn: &mut DbConnection, organisation_id: Option<&OrganisationId>) -> Result<Vec<User>, ApiError> {
    Ok(users::list(conn, organisation_id)?.into_iter().map(User::from).collect())
}

/// For `POST /auth/token`: the active user with this e-mail and password, or one answer for every
/// kind of failure so the endpoint does not reveal which addresses exist.
pub fn authenticate(user: Option<UserRow>, given_password: &str) -> Result<UserRow, ApiError> {
    let ok = password::verify(given_password, user.as_ref().and_then(|u| u.password_hash.as_deref()));
    match user {
        Some(u) if ok && u.active => Ok(u),
        _ => Err(ApiError::unauthorized("invalid_credentials", "Feil e-postadresse eller passord.")),
    }
}

/// Someone an organisation with self-enrolment did not register, at their first HelseID login:
/// a reporter who may do nothing until an admin activates them, and a mail to the admins that
/// someone waits (without who: the admins look in the user list). Returns the new user's id.
pub fn enrol(
    conn: &mut DbConnection,
    organisation: &crate::db::organisations::OrganisationRow,
    name: Option<&str>,
    hpr: Option<&str>,
    public_base_url: &str,
    now: chrono::NaiveDateTime,
) -> Result<UserId, ApiError> {
    let id = UserId::generate();
    let name = name.and_then(|n| required_text("name", n).ok()).unwrap_or_else(|| "Ukjent navn (fra HelseID)".into());
    let row = UserRow {
        email: format!("helseid-{id}@samavvik.invalid"),
        id,
        name,
        organisation_id: organisation.id.clone(),
        unit_id: None,
        role: Role::Reporter.code().to_owned(),
        password_hash: None,
        active: false,
        created_at: now,
        updated_at: now,
        session_epoch: 0,
        hpr_number: hpr_number(hpr).ok().flatten(),
        machine: false,
        pending: true,
    };
    users::insert(conn, &row)?;
    let admins: Vec<String> = users::list(conn, None)?
        .into_iter()
        .filter(|u| u.active && !u.machine && u.role == Role::Admin.code())
        .map(|u| u.email)
        .collect();
    let data = crate::mail::templates::MailData {
        reference: "Tilgangsforespørsel".into(),
        category: "Melder".into(),
        status: "Venter på godkjenning".into(),
        acknowledge_by: None,
        answer_by: None,
        deadline: None,
        counterpart: organisation.name.clone(),
        unit: None,
        link: format!("{}/", public_base_url.trim_end_matches('/')),
        task: String::new(),
        task_passive: String::new(),
        days: 0,
    };
    crate::mail::outbox::enqueue(
        conn,
        None,
        &format!("access-request:{}", row.id),
        "access_request",
        &data,
        &admins,
        now,
    )?;
    Ok(row.id)
}
