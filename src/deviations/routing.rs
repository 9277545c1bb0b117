//! Where a deviation goes: the recipient organisation, and inside it the unit — named on the form,
//! or decided by the recipient's routing table, or left for its quality advisor to triage.

use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::db::organisations::{self, OrganisationRow};
use crate::db::routing::{self as rules, RuleRow, DEFAULT_CATEGORY};
use crate::db::{categories, units, write_tx, DbConnection};
use crate::error::ApiError;
use crate::ids::{OrganisationId, UnitId};

/// The recipient organisation, which must exist, be active, and not be the sender.
/// An active organisation other than the sender, in the sender's helsefellesskap unless the
/// deployment allows cases across helsefellesskap; else a 422 on `field`.
pub fn recipient(
    conn: &mut DbConnection,
    id: &OrganisationId,
    sender: &OrganisationRow,
    across_communities: bool,
    field: &str,
) -> Result<OrganisationRow, ApiError> {
    let Some(community) = &sender.health_community_id else {
        return Err(ApiError::field(
            field,
            "no_health_community",
            "Organisasjonen din hører ikke til et helsefellesskap, og kan ikke sende eller motta samhandlingsavvik.",
        ));
    };
    let org = match organisations::find(conn, id) {
        Ok(org) if org.active => org,
        Ok(_) | Err(diesel::result::Error::NotFound) => {
            return Err(ApiError::field(field, "unknown_organisation", "Velg en aktiv organisasjon fra listen."))
        }
        Err(e) => return Err(e.into()),
    };
    if org.health_community_id.as_ref() != Some(community) && !(across_communities && org.health_community_id.is_some())
    {
        return Err(ApiError::field(
            field,
            "other_health_community",
            "Organisasjonen hører til et annet helsefellesskap. Samhandlingsavvik sendes innenfor eget helsefellesskap.",
        ));
    }
    if org.id == sender.id {
        return Err(ApiError::field(
            field,
            "same_organisation",
            "Et samhandlingsavvik sendes til en annen organisasjon enn din egen. Bruk eget avvikssystem for interne avvik.",
        ));
    }
    Ok(org)
}

/// A category a deviation may be filed under (submitted, or changed on acknowledge).
pub fn category(c: &mut DbConnection, code: &str) -> Result<(), ApiError> {
    match categories::is_active(c, code)? {
        true => Ok(()),
        false => Err(ApiError::field("category", "unknown_category", "Velg en av kategoriene i listen.")),
    }
}

/// An active unit of `organisation_id`, or a 422 on `field`.
pub fn unit_of(
    conn: &mut DbConnection,
    unit_id: &UnitId,
    organisation_id: &OrganisationId,
    field: &str,
) -> Result<UnitId, ApiError> {
    match units::find(conn, unit_id) {
        Ok(u) if u.organisation_id == *organisation_id && u.active => Ok(u.id),
        Ok(_) | Err(diesel::result::Error::NotFound) => {
            Err(ApiError::field(field, "unknown_unit", "Enheten finnes ikke i den valgte organisasjonen."))
        }
        Err(e) => Err(e.into()),
    }
}

/// The unit named on the form, else the routing table's choice, else none (triage queue).
pub fn unit_for(
    conn: &mut DbConnection,
    organisation_id: &OrganisationId,
    given: Option<&UnitId>,
    category: &str,
    field: &str,
) -> Result<Option<UnitId>, ApiError> {
    match given {
        Some(unit) => unit_of(conn, unit, organisation_id, field).map(Some),
        None => Ok(rules::route(conn, organisation_id, category)?),
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingTable {
    /// Where deviations go when no category rule matches; none = the quality advisor triages.
    #[serde(default)]
    pub default_unit_id: Option<UnitId>,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub category: String,
    pub unit_id: UnitId,
}

pub fn get(
    conn: &mut DbConnection,
    caller: &Caller,
    organisation_id: &OrganisationId,
) -> Result<RoutingTable, ApiError> {
    crate::policy::require_routing(caller, organisation_id)?;
    organisations::find(conn, organisation_id)?;
    let rows = rules::for_organisation(conn, organisation_id)?;
    let (defaults, rules): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.category == DEFAULT_CATEGORY);
    Ok(RoutingTable {
        default_unit_id: defaults.into_iter().next().map(|r| r.unit_id),
        rules: rules.into_iter().map(|r| Rule { category: r.category, unit_id: r.unit_id }).collect(),
    })
}

pub fn replace(
    conn: &mut DbConnection,
    caller: &Caller,
    organisation_id: &OrganisationId,
    table: RoutingTable,
    now: chrono::NaiveDateTime,
) -> Result<RoutingTable, ApiError> {
    crate::policy::require_routing(caller, organisation_id)?;
    write_tx(conn, |c| {
        organisations::find(c, organisation_id)?;
        let mut rows = Vec::new();
        if let Some(unit) = &table.default_unit_id {
            let unit_id = unit_of(c, unit, organisation_id, "default_unit_id")?;
            rows.push(RuleRow {
                organisation_id: organisation_id.clone(),
                category: DEFAULT_CATEGORY.into(),
                unit_id,
                updated_at: now,
            });
        }
        for (i, rule) in table.rules.iter().enumerate() {
            if !categories::is_active(c, &rule.category)? {
                return Err(ApiError::field(&format!("rules[{i}].category"), "unknown_category", "Ukjent kategori."));
            }
            if rows.iter().any(|r| r.category == rule.category) {
                return Err(ApiError::field(
                    &format!("rules[{i}].category"),
                    "duplicate",
                    "Kategorien har allerede en regel.",
                ));
            }
            let unit_id = unit_of(c, &rule.unit_id, organisation_id, &format!("rules[{i}].unit_id"))?;
            rows.push(RuleRow {
                organisation_id: organisation_id.clone(),
                category: rule.category.clone(),
                unit_id,
                updated_at: now,
            });
        }
        rules::replace(c, organisation_id, &rows)?;
        Ok(())
    })?;
    get(conn, caller, organisation_id)
}
