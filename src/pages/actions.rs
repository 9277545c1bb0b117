//! Tiltak as pages: the overview (mine, my organisation's, overdue, all I follow), one action with
//! its forms (change, start, done with the day it took effect, drop with a reason), and a new
//! action from the analysis page — each a call of the same use case the API makes (`actions`).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::web::{Data, Path, Query};
use minijinja::{context, Value};

use super::render::render;
use super::session::{Posted, Viewer};
use super::{html, see_other, PageResult};
use crate::actions::{self, ActionChanges, ActionMove, NewAction, View};
use crate::db::{self, DbConnection};
use crate::domain::Code;
use crate::error::{ApiError, FieldError};
use crate::ids::{ActionId, AnalysisId, UserId};
use crate::state::AppState;

/// The overview's tabs: (query value, view, heading).
const TABS: &[(&str, View, &str)] = &[
    ("mine", View::Mine, "Mine"),
    ("organisasjon", View::Organisation, "Organisasjonens"),
    ("forfalt", View::Overdue, "Over fristen"),
    ("alle", View::All, "Alle jeg følger"),
];

#[derive(serde::Deserialize)]
pub struct ListParams {
    vis: Option<String>,
}

fn categories(c: &mut DbConnection) -> Result<BTreeMap<String, String>, ApiError> {
    Ok(db::categories::list_active(c)?.into_iter().map(|cat| (cat.code, cat.label)).collect())
}

pub async fn list(state: Data<AppState>, viewer: Viewer, params: Query<ListParams>) -> PageResult {
    let (value, which) = TABS
        .iter()
        .find(|(v, ..)| Some(*v) == params.vis.as_deref())
        .map_or(("alle", View::All), |(v, which, _)| (*v, *which));
    let now = state.clock.now_naive();
    let body = db::run(&state.pool, move |c| {
        let list = actions::list(c, now, &viewer.caller, which, None)?;
        let items = crate::api::actions::dtos(c, list)?;
        render(
            "actions.html",
            context! {
                viewer => &viewer.chrome, current => "actions", items, tab => value,
                tabs => TABS.iter().map(|(v, _, label)| context! { value => *v, label => *label }).collect::<Vec<_>>(),
                category_labels => categories(c)?,
            },
        )
    })
    .await?;
    Ok(html(body))
}

#[derive(Default)]
struct Outcome {
    notice: Option<&'static str>,
    problem: Option<String>,
    open: Option<&'static str>,
    errors: Vec<FieldError>,
    typed: BTreeMap<String, String>,
}

/// The control on the action page that answers a field of the use case, in the form `open`.
fn control(open: &str, field: &str) -> String {
    format!("{open}-{field}")
}

fn page(
    c: &mut DbConnection,
    viewer: &Viewer,
    now: chrono::NaiveDateTime,
    id: &ActionId,
    o: Outcome,
) -> Result<String, ApiError> {
    let found = actions::get(c, now, &viewer.caller, id)?;
    let status = found.status;
    let events = crate::api::actions::events_of(c, &viewer.caller, id)?;
    let a = crate::api::actions::dtos(c, vec![found])?;
    let form = o.open.unwrap_or("");
    let errors: BTreeMap<String, String> =
        o.errors.iter().map(|e| (control(form, &e.field), e.message.clone())).collect();
    let summary: Vec<Value> =
        o.errors.iter().map(|e| context! { message => e.message, target => control(form, &e.field) }).collect();
    render(
        "action.html",
        context! {
            viewer => &viewer.chrome, current => "actions",
            a => a.first(),
            status_label => status.label(),
            editable => status.editable(),
            moves => status.moves().iter().map(|s| s.code()).collect::<Vec<_>>(),
            category_labels => categories(c)?,
            events,
            notice => o.notice, problem => o.problem, open => form, errors, summary, typed => o.typed,
        },
    )
}

#[derive(serde::Deserialize)]
pub struct Params {
    gjort: Option<String>,
}

fn done(what: &str) -> Option<&'static str> {
    Some(match what {
        "opprettet" => "Tiltaket er lagret. Den ansvarlige får påminnelse før fristen.",
        "endret" => "Endringene er lagret.",
        "status" => "Statusen er endret.",
        _ => return None,
    })
}

pub async fn detail(state: Data<AppState>, viewer: Viewer, id: Path<ActionId>, params: Query<Params>) -> PageResult {
    let notice = params.gjort.as_deref().and_then(done);
    let now = state.clock.now_naive();
    let body =
        db::run(&state.pool, move |c| page(c, &viewer, now, &id, Outcome { notice, ..Default::default() })).await?;
    Ok(html(body))
}

/// The fields a form posted, to show them again when it is refused.
fn typed(form: &Posted, open: &str, names: &[&str]) -> BTreeMap<String, String> {
    names.iter().filter_map(|n| form.get(n).map(|v| (control(open, n), v))).collect()
}

pub async fn act(state: Data<AppState>, viewer: Viewer, path: Path<(ActionId, String)>, form: Posted) -> PageResult {
    let (id, action) = path.into_inner();
    let open: &'static str = match action.as_str() {
        "endre" => "edit",
        "status" => "status",
        _ => return Err(ApiError::not_found("Denne handlingen finnes ikke.").into()),
    };
    let now = state.clock.now_naive();
    let back = format!("/tiltak/{id}?gjort={}", if open == "edit" { "endret" } else { "status" });
    let body = db::run(&state.pool, move |c| {
        let result = match open {
            "edit" => {
                let changes = ActionChanges {
                    version: form.version(),
                    title: Some(form.text("title")),
                    description: Some(form.text("description")),
                    due_on: Some(form.text("due_on")),
                    effective_on: form.get("effective_on"),
                    ..Default::default()
                };
                actions::update(c, now, &viewer.caller, &id, &changes)
            }
            _ => {
                let input = ActionMove {
                    to: form.text("to"),
                    version: form.version(),
                    reason: form.get("reason"),
                    effective_on: form.get("effective_on"),
                };
                actions::move_to(c, now, &viewer.caller, &id, &input)
            }
        };
        match result {
            Ok(_) => Ok(None),
            Err(e) if e.status == StatusCode::NOT_FOUND => Err(e),
            Err(e) => {
                let o = Outcome {
                    problem: e.fields.is_empty().then(|| e.detail.clone()),
                    open: Some(open),
                    typed: typed(&form, open, &["title", "description", "due_on", "effective_on", "reason", "to"]),
                    errors: e.fields,
                    ..Default::default()
                };
                Ok(Some((e.status, page(c, &viewer, now, &id, o)?)))
            }
        }
    })
    .await?;
    match body {
        None => Ok(see_other(&back)),
        Some((status, body)) => {
            let mut resp = html(body);
            *resp.status_mut() = status;
            Ok(resp)
        }
    }
}

/// A new action from the analysis page: the person chosen says the organisation responsible.
pub fn from_analysis(
    c: &mut DbConnection,
    now: chrono::NaiveDateTime,
    viewer: &Viewer,
    analysis: &AnalysisId,
    form: &Posted,
) -> Result<ActionId, ApiError> {
    let person: Option<UserId> = form.id("responsible_user_id");
    let organisation = match &person {
        Some(user) => match db::users::find(c, user) {
            Ok(u) => u.organisation_id,
            Err(diesel::result::Error::NotFound) => Default::default(),
            Err(other) => return Err(other.into()),
        },
        None => Default::default(),
    };
    let input = NewAction {
        analysis_id: Some(analysis.clone()),
        title: form.text("title"),
        description: form.text("description"),
        responsible_organisation_id: organisation,
        responsible_user_id: person.unwrap_or_default(),
        due_on: form.text("due_on"),
        category: form.text("category"),
        direction: form.get("direction"),
        unit_id: None,
    };
    let mut created = actions::create(c, now, &viewer.caller, &input);
    // One choice on the page names both: a refused organisation is the person's field there.
    if let Err(e) = &mut created {
        for f in &mut e.fields {
            if f.field == "responsible_organisation_id" {
                f.field = "responsible_user_id".into();
            }
        }
        e.fields.dedup_by(|a, b| a.field == b.field);
    }
    created.map(|a| a.row.id)
}
