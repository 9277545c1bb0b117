//! The privacy officer's two questions of the access log: who looked at this patient's identity
//! in our organisation's cases (innsyn, pasientjournalloven § 22 / Normen), and who of ours looks
//! unusually often (routine control). The first is itself logged.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::{Look, Patients};
use crate::auth::Caller;
use crate::db::patients::{self, AccessRow};
use crate::db::DbConnection;
use crate::deviations::form::parse_when;
use crate::deviations::view::{utc, Names, Ref};
use crate::domain::calendar::{oslo_date, oslo_midnight_utc};
use crate::domain::national_id::parse_patient_id;
use crate::error::{ApiError, FieldError};
use crate::ids::{DeviationId, Reference, UserId};
use crate::policy;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InnsynInput {
    pub national_id: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Serialize)]
pub struct Access {
    pub at: chrono::DateTime<chrono::Utc>,
    pub user: Option<Ref>,
    pub role: String,
    /// `person`, or `machine` for an organisation's system (always refused).
    pub actor_kind: String,
    pub organisation: Ref,
    pub deviation: Option<DeviationRef>,
    pub action: String,
    pub reason: Option<String>,
    pub reason_text: Option<String>,
    pub result: String,
}

#[derive(Debug, Serialize)]
pub struct DeviationRef {
    pub id: DeviationId,
    pub reference: Reference,
}

/// [from, to] as whole Norwegian days: the bounds in UTC.
fn period(from: &str, to: &str) -> Result<(NaiveDateTime, NaiveDateTime), ApiError> {
    let day = |field: &str, v: &str| -> Result<NaiveDate, FieldError> {
        parse_when(v)
            .map(|(d, _)| d)
            .ok_or_else(|| FieldError::new(field, "invalid_date", "Skriv en gyldig dato, for eksempel 27.11.2026."))
    };
    let (f, t) = (day("from", from), day("to", to));
    let (f, t) = match (f, t) {
        (Ok(f), Ok(t)) if t >= f => (f, t),
        (Ok(_), Ok(_)) => return Err(ApiError::field("to", "before_from", "Til-datoen kan ikke være før fra-datoen.")),
        (f, t) => return Err(ApiError::invalid([f.err(), t.err()].into_iter().flatten().collect())),
    };
    Ok((oslo_midnight_utc(f), oslo_midnight_utc(t.succ_opt().unwrap_or(t))))
}

fn shown(conn: &mut DbConnection, rows: Vec<AccessRow>) -> Result<Vec<Access>, ApiError> {
    let names = Names::load(
        conn,
        rows.iter().map(|r| &r.organisation_id),
        std::iter::empty(),
        rows.iter().map(|r| &r.user_id),
    )?;
    let ids: Vec<DeviationId> = rows.iter().filter_map(|r| r.deviation_id.clone()).collect();
    let references: BTreeMap<DeviationId, Reference> =
        crate::db::deviations::references(conn, &ids)?.into_iter().collect();
    Ok(rows
        .into_iter()
        .map(|r| Access {
            at: utc(r.at),
            user: names.user(Some(&r.user_id)),
            role: r.role,
            actor_kind: r.actor_kind,
            organisation: names.org(&r.organisation_id),
            deviation: r
                .deviation_id
                .and_then(|id| references.get(&id).cloned().map(|reference| DeviationRef { id, reference })),
            action: r.action,
            reason: r.reason,
            reason_text: r.reason_text,
            result: r.result,
        })
        .collect())
}

/// Every look at this patient's identity, and at the patient's deviations, in cases the privacy
/// officer's organisation sent or received, in the period. The number goes in the body, never a URL.
pub fn innsyn(
    conn: &mut DbConnection,
    patients: &Patients,
    now: NaiveDateTime,
    caller: &Caller,
    input: &InnsynInput,
) -> Result<Vec<Access>, ApiError> {
    policy::require_privacy_officer(caller)?;
    let number =
        parse_patient_id(&input.national_id).map_err(|m| ApiError::field("national_id", "invalid_national_id", m))?;
    let (from, to) = period(&input.from, &input.to)?;
    let none = DeviationId::from(String::new());
    let look = Look { now, caller, chain: &patients.chain, id: &none, action: "innsyn", reason: None };
    // With the mode off the log is still kept; the hash key finds the rows from when it was on.
    let rows = match patients.hash(&number) {
        Some(hash) => {
            let rows = patients::log_for_patient(conn, &caller.organisation_id, &hash, from, to)?;
            look.log(conn, "shown", Some(&hash))?;
            rows
        }
        None if !patients::any_patient_rows(conn)? => {
            look.log(conn, "shown", None)?;
            Vec::new()
        }
        None => return Err(ApiError::field(
            "national_id",
            "not_enabled",
            "Tilgangsloggen har oppslag på pasienter, men SAMAVVIK_PATIENT_HASH_KEY er ikke satt. Be driften sette \
                 den samme nøkkelen som før, så kan innsynet besvares.",
        )),
    };
    shown(conn, rows)
}

#[derive(Debug, Serialize)]
pub struct UserDay {
    pub user: Option<Ref>,
    pub day: NaiveDate,
    pub reveals: usize,
    pub related: usize,
    pub refused: usize,
    /// More identities shown that day than the deployment's alert threshold.
    pub unusual: bool,
}

/// Per person of the organisation and day: how many identities they were shown, related lookups
/// and refusals, with the days above the threshold flagged.
pub fn routine(
    conn: &mut DbConnection,
    caller: &Caller,
    threshold: usize,
    from: &str,
    to: &str,
) -> Result<Vec<UserDay>, ApiError> {
    policy::require_privacy_officer(caller)?;
    let (from, to) = period(from, to)?;
    let rows = patients::log_by_organisation(conn, &caller.organisation_id, from, to)?;
    let mut days: BTreeMap<(UserId, NaiveDate), (usize, usize, usize)> = BTreeMap::new();
    for r in &rows {
        let counts = days.entry((r.user_id.clone(), oslo_date(r.at))).or_default();
        match (r.action.as_str(), r.result.as_str()) {
            (_, "refused") => counts.2 += 1,
            ("reveal", "shown") => counts.0 += 1,
            ("related", "shown") => counts.1 += 1,
            _ => {}
        }
    }
    let names = Names::load(conn, std::iter::empty(), std::iter::empty(), rows.iter().map(|r| &r.user_id))?;
    Ok(days
        .into_iter()
        .map(|((user, day), (reveals, related, refused))| UserDay {
            user: names.user(Some(&user)),
            day,
            reveals,
            related,
            refused,
            unusual: reveals > threshold,
        })
        .collect())
}

/// The innsyn answer as CSV, for the letter to the patient.
pub fn csv(accesses: &[Access]) -> Result<String, ApiError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "tidspunkt",
        "person",
        "rolle",
        "aktør",
        "organisasjon",
        "avvik",
        "handling",
        "begrunnelse",
        "begrunnelse_tekst",
        "utfall",
    ];
    w.write_record(header).map_err(ApiError::internal)?;
    for a in accesses {
        let cells = [
            a.at.to_rfc3339(),
            a.user.as_ref().map(|u| u.name.clone()).unwrap_or_default(),
            a.role.clone(),
            a.actor_kind.clone(),
            a.organisation.name.clone(),
            a.deviation.as_ref().map(|d| d.reference.to_string()).unwrap_or_default(),
            a.action.clone(),
            a.reason.clone().unwrap_or_default(),
            a.reason_text.clone().unwrap_or_default(),
            a.result.clone(),
        ];
        w.write_record(cells.iter().map(|c| crate::spreadsheet::cell(c))).map_err(ApiError::internal)?;
    }
    String::from_utf8(w.into_inner().map_err(|e| ApiError::internal(anyhow::anyhow!("{e}")))?)
        .map_err(ApiError::internal)
}
