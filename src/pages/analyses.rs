//! Hendelsesanalyser as pages: the list, opening one from a case or from several cases chosen in
//! Mottatt or Sendt, and one analysis with its content, factors, participants and status — each
//! form a call of the same use case the API makes (`analyses`), so access is the same.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::web::{Data, Path, Query};
use minijinja::{context, Value};

use super::render::render;
use super::session::{Posted, Viewer};
use super::{html, see_other, PageResult};
use crate::analyses::{self, Content, Fact, NewAnalysis, NewFactor};
use crate::db::{self, DbConnection};
use crate::deviations::access;
use crate::domain::analysis::{AnalysisStatus, FactorCategory};
use crate::domain::Code;
use crate::error::{ApiError, FieldError};
use crate::ids::{AnalysisId, DeviationId, UserId};
use crate::policy;
use crate::state::AppState;

/// Empty rows offered below what the timeline and the care problems already hold.
const BLANK_FACTS: usize = 3;
const BLANK_PROBLEMS: usize = 2;

pub async fn list(state: Data<AppState>, viewer: Viewer) -> PageResult {
    let body = db::run(&state.pool, move |c| {
        let rows = analyses::list(c, &viewer.caller)?;
        let items: Vec<Value> = rows
            .into_iter()
            .map(|r| {
                let status = AnalysisStatus::from_code(&r.status).map_or(r.status.clone(), |s| s.label().to_owned());
                context! { id => r.id, reference => r.reference, title => r.title, status_code => r.status, status, updated_at => crate::deviations::view::utc(r.updated_at).to_rfc3339() }
            })
            .collect();
        render(
            "analyses.html",
            context! { viewer => &viewer.chrome, current => "analyses", items, may_start => policy::may_start_analysis(&viewer.caller) },
        )
    })
    .await?;
    Ok(html(body))
}

/// The deviations chosen for a new analysis: `avvik` as often as there are cases (the list's
/// check boxes), or one field with the ids separated by commas (the new page's own form).
fn chosen(pairs: &[(String, String)]) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == "avvik")
        .flat_map(|(_, v)| v.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned))
        .collect()
}

/// The ids as the use case takes them; one that is no id is a deviation nobody can see (404).
fn deviation_ids(ids: &[String]) -> Result<Vec<DeviationId>, ApiError> {
    ids.iter().map(|v| super::session::parse_id(v).ok_or_else(access::not_found)).collect()
}

fn new_page(
    c: &mut DbConnection,
    viewer: &Viewer,
    ids: &[DeviationId],
    title: &str,
    errors: &[FieldError],
) -> Result<String, ApiError> {
    policy::require_start_analysis(&viewer.caller)?;
    let rows = ids.iter().map(|id| access::load(c, &viewer.caller, id)).collect::<Result<Vec<_>, _>>()?;
    let labels: BTreeMap<String, String> =
        db::categories::list_active(c)?.into_iter().map(|cat| (cat.code, cat.label)).collect();
    let names = crate::deviations::view::Names::for_deviations(c, &rows, &viewer.caller.organisation_id)?;
    let cases: Vec<Value> = rows
        .iter()
        .map(|r| {
            context! {
                id => r.id, reference => r.reference,
                category => labels.get(&r.category).cloned().unwrap_or_else(|| r.category.clone()),
                from => names.org(&r.reporting_organisation_id).name, to => names.org(&r.recipient_organisation_id).name,
            }
        })
        .collect();
    let summary = summary(errors, |f| f.to_owned());
    render(
        "analysis_new.html",
        context! {
            viewer => &viewer.chrome, current => "analyses", cases, title,
            ids => ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(","),
            errors => by_control(errors, |f| f.to_owned()), summary,
        },
    )
}

pub async fn new(state: Data<AppState>, viewer: Viewer, query: Query<Vec<(String, String)>>) -> PageResult {
    let ids = deviation_ids(&chosen(&query))?;
    let body = db::run(&state.pool, move |c| new_page(c, &viewer, &ids, "", &[])).await?;
    Ok(html(body))
}

pub async fn create(state: Data<AppState>, viewer: Viewer, form: Posted) -> PageResult {
    let pairs: Vec<(String, String)> = form.get("avvik").map(|v| vec![("avvik".to_owned(), v)]).unwrap_or_default();
    let ids = deviation_ids(&chosen(&pairs))?;
    let input = NewAnalysis { title: form.text("title"), deviation_ids: ids.clone(), participant_ids: Vec::new() };
    let st = state.clone();
    let outcome = db::run(&state.pool, move |c| {
        match analyses::create(c, &st.config, st.clock.now_naive(), &viewer.caller, &input) {
            Ok(a) => Ok(Ok(a.id)),
            Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
                Ok(Err(new_page(c, &viewer, &ids, &input.title, &e.fields)?))
            }
            Err(e) => Err(e),
        }
    })
    .await?;
    match outcome {
        Ok(id) => Ok(see_other(&format!("/analyser/{id}?gjort=opprettet"))),
        Err(page) => {
            let mut resp = html(page);
            *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
    }
}

/// The id of the control on the analysis page that answers a field of the use case.
fn control(form: &str, field: &str) -> String {
    let index = |rest: &str| rest.split(']').next().unwrap_or("").to_owned();
    if let Some(rest) = field.strip_prefix("timeline[") {
        let part = if field.ends_with(".date") { "date" } else { "fact" };
        return format!("{part}-{}", index(rest));
    }
    if let Some(rest) = field.strip_prefix("care_problems[") {
        return format!("problem-{}", index(rest));
    }
    match (form, field) {
        ("factor", f) => format!("factor-{f}"),
        ("action", f) => format!("action-{f}"),
        ("note", f) => format!("note-{f}"),
        ("participant", _) => "participant-user".into(),
        (_, f) => f.into(),
    }
}

fn by_control(errors: &[FieldError], to: impl Fn(&str) -> String) -> BTreeMap<String, String> {
    errors.iter().map(|e| (to(&e.field), e.message.clone())).collect()
}

fn summary(errors: &[FieldError], to: impl Fn(&str) -> String) -> Vec<Value> {
    errors.iter().map(|e| context! { message => e.message, target => to(&e.field) }).collect()
}

/// What the analysis page shows besides the analysis: a notice, a problem, and one form opened
/// again with what was typed in it and its errors.
#[derive(Default)]
struct Outcome {
    notice: Option<&'static str>,
    problem: Option<String>,
    open: Option<&'static str>,
    errors: Vec<FieldError>,
    /// The content as posted, where it was refused (so nothing typed is lost).
    content: Option<Typed>,
    /// A refused factor as typed: category and description.
    factor: Option<(String, String)>,
    /// A refused new action as typed, by control id.
    action: BTreeMap<String, String>,
    /// A refused learning note as typed, by control id.
    note: BTreeMap<String, String>,
}

/// The content form as typed, its rows in the page's order.
#[derive(Default, Clone)]
struct Typed {
    title: String,
    conclusion: String,
    facts: Vec<(String, String)>,
    problems: Vec<String>,
}

fn page(
    c: &mut DbConnection,
    viewer: &Viewer,
    now: chrono::NaiveDateTime,
    id: &AnalysisId,
    outcome: Outcome,
) -> Result<String, ApiError> {
    let caller = &viewer.caller;
    let found = analyses::get(c, caller, id)?;
    let status = found.status;
    let typed = outcome.content.clone().unwrap_or_else(|| Typed {
        title: found.title.clone(),
        conclusion: found.conclusion.clone().unwrap_or_default(),
        facts: found.timeline.iter().map(|f| (super::render::date(&f.date), f.fact.clone())).collect(),
        problems: found.care_problems.clone(),
    });
    let taking_part = found.participants.clone();
    let a = crate::api::analyses::dto(c, found)?;
    let people = analyses::people_of_parties(c, caller, id)?;
    let candidates: Vec<_> = people.iter().filter(|(user, ..)| !taking_part.contains(user)).cloned().collect();
    let actions = crate::actions::list(c, now, caller, crate::actions::View::All, Some(id))?;
    let actions = crate::api::actions::dtos(c, actions)?;
    let categories = db::categories::list_active(c)?;
    let events = crate::api::analyses::events_of(c, caller, id)?;
    let notes = crate::learning::of_analysis(c, caller, id)?;
    let notes = crate::api::learning::dtos(c, notes)?;
    let mut facts = typed.facts;
    facts.extend(std::iter::repeat_n((String::new(), String::new()), BLANK_FACTS));
    let mut problems = typed.problems;
    problems.extend(std::iter::repeat_n(String::new(), BLANK_PROBLEMS));
    let form = outcome.open.unwrap_or("");
    let to = |f: &str| control(form, f);
    render(
        "analysis.html",
        context! {
            viewer => &viewer.chrome, current => "analyses",
            a => &a,
            status_label => status.label(),
            editable => status.editable(),
            moves => status.moves().iter().map(|s| context! { code => s.code(), label => move_label(*s) }).collect::<Vec<_>>(),
            factor_labels => FactorCategory::ALL.iter().map(|(c, code)| (*code, c.label())).collect::<BTreeMap<_, _>>(),
            factor_categories => FactorCategory::ALL.iter().map(|(c, code)| context! { code => *code, label => c.label() }).collect::<Vec<_>>(),
            candidates => candidates.into_iter().map(|(id, name, org)| context! { id, name, org }).collect::<Vec<_>>(),
            events,
            title => typed.title, conclusion => typed.conclusion,
            facts => facts.into_iter().enumerate().map(|(i, (date, fact))| context! { i, date, fact }).collect::<Vec<_>>(),
            problems => problems.into_iter().enumerate().map(|(i, text)| context! { i, text }).collect::<Vec<_>>(),
            factor => outcome.factor.map(|(category, description)| context! { category, description }),
            actions, action => outcome.action,
            notes, note => outcome.note,
            may_write_note => !matches!(status, AnalysisStatus::Draft | AnalysisStatus::InProgress),
            people => people.into_iter().map(|(id, name, org)| context! { id, name, org }).collect::<Vec<_>>(),
            categories => categories.into_iter().map(|c| context! { code => c.code, label => c.label }).collect::<Vec<_>>(),
            directions => crate::domain::codes::Direction::ALL.iter().filter(|(d, _)| *d != crate::domain::codes::Direction::Other).map(|(_, code)| context! { code => *code, label => crate::stats::report::direction_label(code) }).collect::<Vec<_>>(),
            notice => outcome.notice, problem => outcome.problem, open => form,
            errors => by_control(&outcome.errors, to), summary => summary(&outcome.errors, to),
        },
    )
}

/// The button that moves an analysis to `to`.
fn move_label(to: AnalysisStatus) -> &'static str {
    match to {
        AnalysisStatus::Draft => "Tilbake til utkast",
        AnalysisStatus::InProgress => "Start analysen",
        AnalysisStatus::Concluded => "Konkluder",
        AnalysisStatus::FollowUp => "Gå til oppfølging",
        AnalysisStatus::Closed => "Avslutt analysen",
    }
}

#[derive(serde::Deserialize)]
pub struct Params {
    gjort: Option<String>,
}

/// The forms of the analysis page, by the last segment of their address.
const FORMS: &[(&str, &str, &str)] = &[
    ("innhold", "content", "Endringene er lagret."),
    ("faktor", "factor", "Faktoren er lagt til."),
    ("deltaker", "participant", "Deltakeren er lagt til."),
    ("status", "status", "Statusen er endret."),
    ("tiltak", "action", "Tiltaket er lagret."),
    ("laeringsnotat", "note", "Læringsnotatet er publisert."),
];

fn done(what: &str) -> Option<&'static str> {
    match what {
        "opprettet" => Some("Hendelsesanalysen er opprettet, og avvikene viser at de inngår i den."),
        other => FORMS.iter().find(|(path, _, _)| *path == other).map(|(_, _, notice)| *notice),
    }
}

pub async fn detail(state: Data<AppState>, viewer: Viewer, id: Path<AnalysisId>, params: Query<Params>) -> PageResult {
    let notice = params.gjort.as_deref().and_then(done);
    let now = state.clock.now_naive();
    let body =
        db::run(&state.pool, move |c| page(c, &viewer, now, &id, Outcome { notice, ..Default::default() })).await?;
    Ok(html(body))
}

/// The content form's rows that have anything in them, in the page's order.
fn typed(form: &Posted) -> Typed {
    let rows = |prefixes: &[&str]| -> Vec<usize> {
        let mut rows: Vec<usize> = form
            .names()
            .filter_map(|n| prefixes.iter().find_map(|p| n.strip_prefix(p)).and_then(|i| i.parse().ok()))
            .collect();
        rows.sort_unstable();
        rows.dedup();
        rows
    };
    Typed {
        title: form.text("title"),
        conclusion: form.text("conclusion"),
        facts: rows(&["date-", "fact-"])
            .iter()
            .map(|i| (form.text(&format!("date-{i}")), form.text(&format!("fact-{i}"))))
            .collect(),
        problems: rows(&["problem-"]).iter().map(|i| form.text(&format!("problem-{i}"))).collect(),
    }
}

pub async fn act(state: Data<AppState>, viewer: Viewer, path: Path<(AnalysisId, String)>, form: Posted) -> PageResult {
    let (id, action) = path.into_inner();
    let Some(&(segment, open, _)) = FORMS.iter().find(|(path, _, _)| *path == action) else {
        return Err(ApiError::not_found("Denne handlingen finnes ikke.").into());
    };
    let st = state.clone();
    let back = format!("/analyser/{id}?gjort={segment}");
    let outcome = db::run(&state.pool, move |c| {
        let (now, caller) = (st.clock.now_naive(), &viewer.caller);
        let mut refused = Outcome { open: Some(open), ..Default::default() };
        let result = match open {
            "action" => {
                refused.action = ["title", "description", "responsible_user_id", "due_on", "category", "direction"]
                    .iter()
                    .filter_map(|n| form.get(n).map(|v| (format!("action-{n}"), v)))
                    .collect();
                super::actions::from_analysis(c, now, &viewer, &id, &form)
                    .map(|created| Some(format!("/tiltak/{created}?gjort=opprettet")))
            }
            "note" => {
                let fields = crate::learning::FIELDS;
                refused.note = fields.iter().filter_map(|n| form.get(n).map(|v| (format!("note-{n}"), v))).collect();
                let input = crate::learning::NewNote {
                    analysis_id: id.clone(),
                    title: form.text("title"),
                    what_happened: form.text("what_happened"),
                    why: form.text("why"),
                    what_changed: form.text("what_changed"),
                    anonymised: form.get("anonymised").is_some(),
                };
                crate::learning::publish(c, &st.patients, now, caller, &input)
                    .map(|n| Some(format!("/laering/{}?gjort=publisert", n.row.id)))
            }
            "content" => {
                let t = typed(&form);
                let content = Content {
                    version: form.version(),
                    title: Some(t.title.clone()),
                    timeline: Some(
                        t.facts.iter().map(|(date, fact)| Fact { date: date.clone(), fact: fact.clone() }).collect(),
                    ),
                    care_problems: Some(t.problems.clone()),
                    conclusion: Some(t.conclusion.clone()),
                };
                refused.content = Some(t);
                analyses::update(c, now, caller, &id, &content).map(|_| None)
            }
            "factor" => {
                let input = NewFactor { category: form.text("category"), description: form.text("description") };
                refused.factor = Some((input.category.clone(), input.description.clone()));
                analyses::add_factor(c, now, caller, &id, &input).map(|_| None)
            }
            "participant" => match form.id::<UserId>("user_id") {
                Some(user) => analyses::add_participant(c, now, caller, &id, &user).map(|_| None),
                None => Err(ApiError::field("user_id", "not_a_party", "Velg en deltaker fra listen.")),
            },
            _ => analyses::move_to(c, now, caller, &id, &form.text("to"), form.version()).map(|_| None),
        };
        match result {
            Ok(elsewhere) => Ok(Ok(elsewhere)),
            Err(e) if e.status == StatusCode::NOT_FOUND => Err(e),
            Err(e) => {
                // A form refused as a whole (a conflict) keeps what was typed, with the reason above.
                refused.problem = e.fields.is_empty().then(|| e.detail.clone());
                refused.errors = e.fields;
                Ok(Err((e.status, page(c, &viewer, now, &id, refused)?)))
            }
        }
    })
    .await?;
    match outcome {
        Ok(elsewhere) => Ok(see_other(elsewhere.as_deref().unwrap_or(&back))),
        Err((status, body)) => {
            let mut resp = html(body);
            *resp.status_mut() = status;
            Ok(resp)
        }
    }
}
