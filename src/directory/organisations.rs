//! Organisations and units: reads for everyone, writes for admins.

use serde::{Deserialize, Serialize};
use validator::Validate;

use super::{address, now, required_text};
use crate::db::organisations::{self as orgs, OrganisationChanges, OrganisationRow};
use crate::db::units::{self, UnitChanges, UnitRow};
use crate::db::DbConnection;
use crate::domain::{Code, OrgNumber, OrganisationKind};
use crate::error::ApiError;
use crate::ids::{HealthCommunityId, OrganisationId, UnitId};

#[derive(Debug, Serialize, Deserialize)]
pub struct Organisation {
    pub id: OrganisationId,
    pub name: String,
    pub kind: String,
    pub org_number: String,
    pub mailbox: String,
    pub active: bool,
    /// The helsefellesskap it belongs to; null for an organisation of the region itself.
    pub health_community_id: Option<HealthCommunityId>,
    /// People it has not registered may ask for access at their first HelseID login.
    pub self_enrolment: bool,
    pub units: Vec<Unit>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Unit {
    pub id: UnitId,
    pub organisation_id: OrganisationId,
    pub name: String,
    pub mailbox: Option<String>,
    pub active: bool,
    pub org_number: Option<String>,
}

impl From<UnitRow> for Unit {
    fn from(u: UnitRow) -> Self {
        Unit {
            id: u.id,
            organisation_id: u.organisation_id,
            name: u.name,
            mailbox: u.mailbox,
            active: u.active,
            org_number: u.org_number,
        }
    }
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisation {
    #[validate(length(min = 1, max = 200))]
    pub name: String,
    pub kind: String,
    pub org_number: String,
    #[validate(email(message = "Må være en gyldig e-postadresse for avviksmeldinger."))]
    pub mailbox: String,
    /// Absent: the only helsefellesskap, when there is just one. Null: the region itself.
    #[serde(default, deserialize_with = "super::double_option")]
    pub health_community_id: Option<Option<HealthCommunityId>>,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct OrganisationPatch {
    #[validate(length(min = 1, max = 200))]
    pub name: Option<String>,
    pub kind: Option<String>,
    #[validate(email(message = "Må være en gyldig e-postadresse for avviksmeldinger."))]
    pub mailbox: Option<String>,
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "super::double_option")]
    pub health_community_id: Option<Option<HealthCommunityId>>,
    pub self_enrolment: Option<bool>,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewUnit {
    #[validate(length(min = 1, max = 200))]
    pub name: String,
    #[validate(email(message = "Må være en gyldig e-postadresse."))]
    pub mailbox: Option<String>,
    pub org_number: Option<String>,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct UnitPatch {
    #[validate(length(min = 1, max = 200))]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "super::double_option")]
    pub mailbox: Option<Option<String>>,
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "super::double_option")]
    pub org_number: Option<Option<String>>,
}

/// The helsefellesskap an organisation is put in: one that exists; when none is named, the only
/// one, or else the administrator's own; none (null) for the region's own organisations.
fn community(
    conn: &mut DbConnection,
    requested: Option<Option<HealthCommunityId>>,
    admins_own: Option<&HealthCommunityId>,
) -> Result<Option<HealthCommunityId>, ApiError> {
    let all = crate::db::health_communities::list(conn)?;
    match requested {
        Some(None) => Ok(None),
        Some(Some(id)) if all.iter().any(|c| c.id == id) => Ok(Some(id)),
        Some(Some(_)) => {
            Err(ApiError::field("health_community_id", "unknown_health_community", "Helsefellesskapet finnes ikke."))
        }
        None => match (all.as_slice(), admins_own) {
            ([only], _) => Ok(Some(only.id.clone())),
            (_, Some(own)) => Ok(Some(own.clone())),
            _ => Err(ApiError::field(
                "health_community_id",
                "required",
                "Velg hvilket helsefellesskap organisasjonen hører til.",
            )),
        },
    }
}

fn parse_kind(kind: &str) -> Result<OrganisationKind, ApiError> {
    OrganisationKind::from_code(kind)
        .ok_or_else(|| ApiError::field("kind", "invalid_value", format!("Må være {}.", OrganisationKind::allowed())))
}

pub fn list(
    conn: &mut DbConnection,
    kind: Option<&str>,
    include_inactive: bool,
    community: Option<&HealthCommunityId>,
) -> Result<Vec<Organisation>, ApiError> {
    if let Some(k) = kind {
        parse_kind(k)?;
    }
    let rows = orgs::list(conn, kind, include_inactive, community)?;
    let ids: Vec<OrganisationId> = rows.iter().map(|o| o.id.clone()).collect();
    let mut all_units = units::for_organisations(conn, &ids, include_inactive)?;
    Ok(rows
        .into_iter()
        .map(|o| {
            let (mine, rest): (Vec<_>, Vec<_>) = all_units.drain(..).partition(|u| u.organisation_id == o.id);
            all_units = rest;
            with_units(o, mine)
        })
        .collect())
}

fn with_units(o: OrganisationRow, units: Vec<UnitRow>) -> Organisation {
    Organisation {
        id: o.id,
        name: o.name,
        kind: o.kind,
        org_number: o.org_number,
        mailbox: o.mailbox,
        active: o.active,
        health_community_id: o.health_community_id,
        self_enrolment: o.self_enrolment,
        units: units.into_iter().map(Unit::from).collect(),
    }
}

pub fn get(conn: &mut DbConnection, id: &OrganisationId) -> Result<Organisation, ApiError> {
    let org = orgs::find(conn, id)?;
    let units = units::for_organisations(conn, std::slice::from_ref(&org.id), true)?;
    Ok(with_units(org, units))
}

/// A new organisation; `admins_own` is the creating administrator's helsefellesskap.
pub fn create(
    conn: &mut DbConnection,
    new: NewOrganisation,
    admins_own: Option<&HealthCommunityId>,
) -> Result<Organisation, ApiError> {
    let health_community_id = community(conn, new.health_community_id.clone(), admins_own)?;
    new.validate()?;
    let kind = parse_kind(&new.kind)?;
    let org_number =
        OrgNumber::parse(&new.org_number).map_err(|m| ApiError::field("org_number", "invalid_org_number", m))?;
    let now = now();
    let row = OrganisationRow {
        id: OrganisationId::generate(),
        name: required_text("name", &new.name)?,
        kind: kind.code().to_owned(),
        org_number: org_number.to_string(),
        mailbox: address("mailbox", &new.mailbox)?,
        active: true,
        created_at: now,
        updated_at: now,
        health_community_id,
        self_enrolment: false,
    };
    crate::db::write_tx(conn, |conn| {
        if orgs::org_number_taken(conn, &row.org_number)? {
            return Err(ApiError::conflict(
                "org_number_taken",
                "Det finnes allerede en organisasjon med dette organisasjonsnummeret.",
            ));
        }
        orgs::insert(conn, &row)?;
        Ok(())
    })?;
    Ok(with_units(row, Vec::new()))
}

pub fn update(
    conn: &mut DbConnection,
    id: &OrganisationId,
    patch: OrganisationPatch,
) -> Result<Organisation, ApiError> {
    patch.validate()?;
    let changes = OrganisationChanges {
        name: patch.name.as_deref().map(|n| required_text("name", n)).transpose()?,
        kind: patch.kind.as_deref().map(parse_kind).transpose()?.map(|k| k.code().to_owned()),
        mailbox: patch.mailbox.map(|m| address("mailbox", &m)).transpose()?,
        active: patch.active,
        self_enrolment: patch.self_enrolment,
        updated_at: Some(now()),
        health_community_id: match patch.health_community_id {
            Some(requested) => Some(community(conn, Some(requested), None)?),
            None => None,
        },
    };
    orgs::update(conn, id, &changes).map_err(|e| not_found_as("Organisasjonen finnes ikke.", e))?;
    get(conn, id)
}

pub fn create_unit(conn: &mut DbConnection, organisation_id: &OrganisationId, new: NewUnit) -> Result<Unit, ApiError> {
    new.validate()?;
    let now = now();
    let row = UnitRow {
        id: UnitId::generate(),
        organisation_id: organisation_id.clone(),
        name: required_text("name", &new.name)?,
        mailbox: new.mailbox.map(|m| address("mailbox", &m)).transpose()?,
        active: true,
        created_at: now,
        updated_at: now,
        org_number: unit_number(new.org_number.as_deref())?,
    };
    crate::db::write_tx(conn, |conn| {
        orgs::find(conn, organisation_id).map_err(|e| not_found_as("Organisasjonen finnes ikke.", e))?;
        if units::name_taken(conn, organisation_id, &row.name)? {
            return Err(ApiError::conflict(
                "unit_name_taken",
                "Organisasjonen har allerede en enhet med dette navnet.",
            ));
        }
        units::insert(conn, &row)?;
        Ok(())
    })?;
    Ok(row.into())
}

pub fn update_unit(conn: &mut DbConnection, id: &UnitId, patch: UnitPatch) -> Result<Unit, ApiError> {
    patch.validate()?;
    if let Some(Some(m)) = &patch.mailbox {
        if !validator::ValidateEmail::validate_email(m) {
            return Err(ApiError::field("mailbox", "email", "Må være en gyldig e-postadresse."));
        }
    }
    let changes = UnitChanges {
        name: patch.name.as_deref().map(|n| required_text("name", n)).transpose()?,
        mailbox: patch.mailbox.map(|m| m.map(|m| address("mailbox", &m)).transpose()).transpose()?,
        active: patch.active,
        org_number: patch.org_number.as_ref().map(|n| unit_number(n.as_deref())).transpose()?,
        updated_at: Some(now()),
    };
    units::update(conn, id, &changes).map_err(|e| not_found_as("Enheten finnes ikke.", e))?;
    Ok(units::find(conn, id)?.into())
}

/// A unit's own organisation number: nine digits with a valid check digit, or none. Taken by
/// another unit, it is refused by the unique index (409).
fn unit_number(value: Option<&str>) -> Result<Option<String>, ApiError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => OrgNumber::parse(v)
            .map(|n| Some(n.to_string()))
            .map_err(|m| ApiError::field("org_number", "invalid_org_number", m)),
    }
}

/// Maps `NotFound` to a 404 that says what was missing; other errors pass through.
pub fn not_found_as(detail: &str, e: diesel::result::Error) -> ApiError {
    match e {
        diesel::result::Error::NotFound => ApiError::not_found(detail),
        other => other.into(),
    }
}
