//! The shared form on one page. Submitting goes through the same `submit` as the API: the same
//! checks, national-id guard, routing, deadlines and idempotency (a double click sends once).

use std::collections::BTreeMap;

use actix_web::web::Data;
use minijinja::context;
use serde::Serialize;

use super::render::render;
use super::session::{Posted, Viewer};
use super::{html, see_other, PageResult};
use crate::config::PatientIdentity;
use crate::db::{self, categories, organisations, units, DbConnection};
use crate::deviations::form::{NewDeviation, DETAILS};
use crate::deviations::submit;
use crate::domain::calendar::oslo_today;
use crate::domain::{Code, DeviationKind, HarmClass, HarmLevel, OrganisationKind};
use crate::error::{ApiError, FieldError};
use crate::ids::{HealthCommunityId, OrganisationId};
use crate::patients::PatientInput;
use crate::state::AppState;

/// Optional fields before the free-text details, behind «Flere opplysninger».
const MORE: [&str; 1] = ["discovered_at"];

/// How many of this person's latest recipients the form offers first.
const RECENT: usize = 3;
const RECENT_HEADING: &str = "Sist brukt";

/// The form's fields in the order the page shows them (the optional ones, with the answers of
/// `DETAILS`, last); the error summary follows it, and these are the values shown again.
fn fields() -> impl Iterator<Item = &'static str> {
    let core = [
        "kind",
        "recipient_organisation_id",
        "recipient_unit_id",
        "category",
        "occurred_at",
        "description",
        "patient.national_id",
        "patient.name",
    ];
    let harm = ["harm_class", "harm_level", "handover_related"];
    // Then «Flere opplysninger (valgfritt)».
    core.into_iter().chain(harm).chain(MORE).chain(DETAILS.iter().map(|d| d.name))
}

#[derive(Serialize, Clone)]
struct Choice {
    id: String,
    name: String,
    units: Vec<Choice>,
}

/// The recipient list in groups: this person's latest recipients first, then hospitals,
/// municipalities and others, each by name. Units are listed per organisation.
fn recipients(
    conn: &mut DbConnection,
    viewer: &Viewer,
    community: Option<&HealthCommunityId>,
) -> Result<Vec<(&'static str, Vec<Choice>)>, ApiError> {
    let orgs = organisations::list(conn, None, false, community)?;
    let ids: Vec<OrganisationId> = orgs.iter().map(|o| o.id.clone()).collect();
    let all_units = units::for_organisations(conn, &ids, false)?;
    let recent = db::deviations::recent_recipients(conn, &viewer.caller.user_id, RECENT)?;
    let choice = |o: &organisations::OrganisationRow| Choice {
        units: all_units
            .iter()
            .filter(|u| u.organisation_id == o.id)
            .map(|u| Choice { id: u.id.to_string(), name: u.name.clone(), units: vec![] })
            .collect(),
        id: o.id.to_string(),
        name: o.name.clone(),
    };
    let recent: Vec<Choice> = recent.iter().filter_map(|id| orgs.iter().find(|o| &o.id == id)).map(choice).collect();
    let mut groups = vec![(RECENT_HEADING, recent)];
    for (kind, heading) in [
        (OrganisationKind::Hospital, "Sykehus"),
        (OrganisationKind::Municipality, "Kommuner"),
        (OrganisationKind::Other, "Andre"),
    ] {
        groups.push((heading, orgs.iter().filter(|o| o.kind == kind.code()).map(choice).collect()));
    }
    groups.retain(|(_, choices)| !choices.is_empty());
    Ok(groups)
}

fn form_page(
    conn: &mut DbConnection,
    state: &AppState,
    viewer: &Viewer,
    values: &BTreeMap<String, String>,
    errors: &[FieldError],
    key: &str,
) -> Result<String, ApiError> {
    let categories = categories::list_active(conn)?;
    let community = crate::policy::organisations_visible(&viewer.caller, state.config.allow_cross_community_cases);
    let organisations = recipients(conn, viewer, community.as_ref())?;
    let has_recent = organisations.first().is_some_and(|(heading, _)| *heading == RECENT_HEADING);
    // A summary link goes to the control itself; for a group of choices, its first one, so the
    // keyboard lands where the answer is given.
    let target = |field: &str| -> String {
        let first = match field {
            "kind" => DeviationKind::ALL.first().map(|(_, c)| *c),
            "harm_class" => HarmClass::ALL.last().map(|(_, c)| *c),
            "category" => categories.first().map(|c| c.code.as_str()),
            "handover_related" => Some("yes"),
            _ => None,
        };
        first.map_or(field.to_owned(), |f| format!("{field}-{f}"))
    };
    let mut summary: Vec<&FieldError> = errors.iter().collect();
    summary.sort_by_key(|e| fields().position(|f| f == e.field).unwrap_or(usize::MAX));
    let summary: Vec<_> = summary
        .iter()
        .map(|e| context! { field => e.field, target => target(&e.field), message => e.message })
        .collect();
    let errors: BTreeMap<&str, &str> = errors.iter().map(|e| (e.field.as_str(), e.message.as_str())).collect();
    render(
        "form.html",
        context! {
            viewer => &viewer.chrome,
            current => "new",
            categories => categories.into_iter().map(|c| context! { code => c.code, label => c.label, description => c.description }).collect::<Vec<_>>(),
            organisations,
            kinds => DeviationKind::ALL.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
            // From the least to the most serious, so a keyboard's first choice is not the gravest.
            harm_classes => HarmClass::ALL.iter().rev().map(|(_, c)| *c).collect::<Vec<_>>(),
            harm_levels => HarmLevel::ALL.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
            // The first group is the latest recipients when there are any; units are listed once.
            recent => has_recent,
            details => DETAILS,
            patient => match state.patients.mode {
                PatientIdentity::Off => None,
                PatientIdentity::Optional => Some("valgfritt"),
                PatientIdentity::Required => Some("påkrevd"),
            },
            // The optional part stays open when something in it is filled in or wrong.
            more_open => MORE.into_iter().chain(DETAILS.iter().map(|d| d.name)).any(|f| {
                values.get(f).is_some_and(|v| !v.trim().is_empty()) || errors.contains_key(f)
            }),
            today => oslo_today(state.clock.now()).to_string(),
            days => context! { acknowledge => state.config.acknowledge_working_days, answer => state.config.answer_working_days },
            values,
            errors,
            summary,
            idempotency_key => key,
        },
    )
}

pub async fn page(state: Data<AppState>, viewer: Viewer) -> PageResult {
    crate::policy::require_report(&viewer.caller)?;
    let st = state.clone();
    let key = uuid::Uuid::new_v4().to_string();
    // Most reports are deviations; an improvement proposal is one click away.
    let values = BTreeMap::from([("kind".to_owned(), DeviationKind::Deviation.code().to_owned())]);
    let body = db::run(&state.pool, move |c| form_page(c, &st, &viewer, &values, &[], &key)).await?;
    Ok(html(body))
}

/// The posted form as the API's body; a missing yes/no is the one thing the API's types cannot say.
fn new_deviation(form: &Posted) -> (NewDeviation, Option<FieldError>) {
    let handover = match form.get("handover_related").as_deref() {
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        _ => Err(FieldError::new("handover_related", "required", crate::deviations::form::missing("handover_related"))),
    };
    let body = NewDeviation {
        kind: form.text("kind"),
        category: form.text("category"),
        recipient_organisation_id: form.text("recipient_organisation_id").into(),
        recipient_unit_id: form.get("recipient_unit_id").map(Into::into),
        reporting_unit_id: None,
        occurred_at: form.text("occurred_at"),
        discovered_at: form.get("discovered_at"),
        description: form.text("description"),
        harm_class: form.text("harm_class"),
        harm_level: form.get("harm_level"),
        handover_related: *handover.as_ref().unwrap_or(&false),
        patient: form
            .get("patient.national_id")
            .map(|national_id| PatientInput { national_id, name: form.get("patient.name") }),
        details: DETAILS.iter().filter_map(|d| Some((d.name.to_owned(), form.get(d.name)?.into()))).collect(),
    };
    (body, handover.err())
}

pub async fn submit(state: Data<AppState>, viewer: Viewer, form: Posted) -> PageResult {
    let (body, missing) = new_deviation(&form);
    // The patient's identity is never sent back, not even to the one who typed it.
    let values: BTreeMap<String, String> = fields()
        .filter(|f| !f.starts_with("patient."))
        .filter_map(|f| form.get(f).map(|v| (f.to_owned(), v)))
        .collect();
    let key = form.get("idempotency_key").filter(|k| submit::check_key(k).is_ok());
    let now = state.clock.now();
    // Without the yes/no nothing is stored, but the form's own checks still name every other
    // problem at once; otherwise the form is checked and stored as the API does it, and only the
    // storing shares a transaction with other submissions.
    let checked = match missing {
        Some(missing) => {
            let mut fields = body.check(oslo_today(now)).err().map(|e| e.fields).unwrap_or_default();
            fields.push(missing);
            Err(ApiError::invalid(fields))
        }
        None => submit::check(&state.patients, &viewer.caller, &body, now),
    };
    let stored = match checked {
        Ok(checked) => submit::run(&state, &viewer.caller, checked, key.clone(), now).await.map(|done| done.row.id),
        Err(e) => Err(e),
    };
    let errors = match stored {
        Ok(id) => return Ok(see_other(&format!("/avvik/{id}?sendt=1"))),
        Err(e) if e.fields.is_empty() => return Err(e.into()),
        Err(e) => e.fields,
    };
    let retry_key = key.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let st = state.clone();
    let page = db::run(&state.pool, move |c| form_page(c, &st, &viewer, &values, &errors, &retry_key)).await?;
    let mut resp = html(page);
    *resp.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(resp)
}
