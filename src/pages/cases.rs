//! The sent and received boxes, the case page with its timeline, and the lifecycle actions — all
//! through the same list, access and action code as the API.

use std::collections::{BTreeMap, HashMap};

use actix_web::web::{Data, Path, Query};
use diesel::OptionalExtension;
use minijinja::context;
use serde::Deserialize;

use super::render::render;
use super::session::{Posted, Viewer};
use super::{encode, html, see_other, PageResult};
use crate::db::{self, categories, organisations, units, DbConnection};
use crate::deviations::access;
use crate::deviations::actions::{
    self, AcknowledgeInput, AnswerInput, Command, CommentInput, Ctx, ForwardInput, NoteInput, ReasonInput,
};
use crate::deviations::list::{self, ListQuery};
use crate::deviations::view::{self, Names};
use crate::domain::{Code, Status};
use crate::error::{ApiError, FieldError};
use crate::ids::DeviationId;
use crate::policy::{self, deidentified};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct ListParams {
    boks: Option<String>,
    status: Option<String>,
    category: Option<String>,
    forfalt: Option<String>,
    cursor: Option<String>,
}

pub async fn list(state: Data<AppState>, viewer: Viewer, params: Query<ListParams>) -> PageResult {
    let p = params.into_inner();
    let (mailbox, heading, intro) = match (p.boks.as_deref(), policy::has_boxes(&viewer.caller)) {
        (_, false) if deidentified(&viewer.caller) => (None, "Alle avvik", "Avidentifisert oversikt over alle avvik."),
        (_, false) => (None, "Avvik", "Rollen din gir ikke tilgang til innholdet i avvik."),
        (Some("sendt"), _) => {
            (Some("sendt"), "Sendt", "Avvik din organisasjon har meldt, og hvor langt de har kommet.")
        }
        _ => (Some("mottatt"), "Mottatt", "Avvik meldt til din organisasjon. Bekreft mottak, send videre eller svar."),
    };
    let query = ListQuery {
        mailbox: mailbox.map(|m| if m == "sendt" { "sent" } else { "received" }.to_owned()),
        status: p.status.clone().filter(|s| Status::from_code(s).is_some()),
        category: p.category.clone().filter(|c| !c.is_empty()),
        overdue: p.forfalt.as_deref().map(|_| true),
        cursor: p.cursor.clone(),
        ..Default::default()
    };
    let st = state.clone();
    let body = db::run(&state.pool, move |c| {
        let page = list::list(c, &viewer.caller, &query, st.clock.now())?;
        let all_categories = categories::list_active(c)?;
        let next_link = page.next_cursor.as_ref().map(|cursor| {
            let mut link = format!("/avvik?cursor={}", encode(cursor));
            for (name, value) in [("boks", &p.boks), ("status", &p.status), ("category", &p.category), ("forfalt", &p.forfalt)] {
                if let Some(v) = value {
                    link.push_str(&format!("&{name}={}", encode(v)));
                }
            }
            link
        });
        render(
            "list.html",
            context! {
                viewer => &viewer.chrome,
                current => mailbox.map_or("all", |m| if m == "sendt" { "sent" } else { "received" }),
                heading, intro, mailbox,
                may_analyse => mailbox.is_some() && policy::may_start_analysis(&viewer.caller),
                statuses => Status::ALL.iter().map(|(_, code)| *code).collect::<Vec<_>>(),
                category_labels => all_categories.iter().map(|c| (c.code.clone(), c.label.clone())).collect::<HashMap<_, _>>(),
                categories => all_categories.into_iter().map(|c| context! { code => c.code, label => c.label }).collect::<Vec<_>>(),
                filters => context! { status => query.status, category => query.category, overdue => query.overdue.is_some() },
                filtered => query.status.is_some() || query.category.is_some() || query.overdue.is_some(),
                items => page.items,
                next_cursor => page.next_cursor,
                next_link,
            },
        )
    })
    .await?;
    Ok(html(body))
}

#[derive(Deserialize)]
pub struct DetailParams {
    sendt: Option<String>,
    gjort: Option<String>,
}

/// What the case page shows besides the deviation: a notice, a problem, and an action form
/// opened again with its errors.
#[derive(Default)]
struct Outcome {
    notice: Option<String>,
    problem: Option<String>,
    open_action: Option<String>,
    errors: Vec<FieldError>,
    /// The patient's identity, on the one response that reveals it.
    patient: Option<crate::patients::Revealed>,
    /// A refused rating's comment as typed.
    rating_comment: Option<String>,
}

fn detail_page(
    c: &mut DbConnection,
    state: &AppState,
    viewer: &Viewer,
    id: &DeviationId,
    just_sent: bool,
    outcome: Outcome,
) -> Result<String, ApiError> {
    let caller = &viewer.caller;
    let row = access::load(c, caller, id)?;
    let may_handle_patient = crate::policy::may_see_patient(caller, (&row).into());
    let rating = crate::deviations::rating::of(c, caller, &row)?;
    let names = Names::for_deviations(c, std::slice::from_ref(&row), &caller.organisation_id)?;
    let d = view::deviation(row, &names, caller, deidentified(caller), state.clock.now());
    let rows = db::events::for_deviation(c, id)?;
    let events = view::events(c, rows, deidentified(caller))?;
    let own_org = vec![caller.organisation_id.clone()];
    let handlers = crate::directory::users::assignable(c, &caller.organisation_id)?;
    let errors: BTreeMap<&str, &str> = outcome.errors.iter().map(|e| (e.field.as_str(), e.message.as_str())).collect();
    // The open action's errors, listed above its form and linked to the fields, as on the form.
    let summary: Vec<_> = outcome
        .errors
        .iter()
        .map(|e| context! { message => e.message, target => outcome.open_action.as_deref().map(|a| control(a, &e.field)) })
        .collect();
    let all_categories = categories::list_active(c)?;
    let may_analyse = policy::may_start_analysis(caller) && !d.deidentified;
    // The button is offered to those who may use it, on a deviation with an identity still kept.
    let patient_kept = state.patients.keyring.is_some()
        && may_handle_patient
        && db::patients::find(c, id)?.is_some_and(|p| p.erased_at.is_none());
    render(
        "detail.html",
        context! {
            viewer => &viewer.chrome,
            current => "",
            category => categories::label(c, &d.category).optional()?.unwrap_or_else(|| d.category.clone()),
            category_labels => all_categories.iter().map(|c| (c.code.clone(), c.label.clone())).collect::<HashMap<_, _>>(),
            categories => all_categories.iter().map(|c| context! { code => c.code, label => c.label }).collect::<Vec<_>>(),
            d,
            details => crate::deviations::form::DETAILS,
            events,
            just_sent,
            days => context! { acknowledge => state.config.acknowledge_working_days, answer => state.config.answer_working_days },
            notice => outcome.notice,
            patient_kept,
            may_analyse,
            patient => outcome.patient,
            rating, rating_comment => outcome.rating_comment,
            reasons => crate::patients::REASONS,
            problem => outcome.problem,
            open_action => outcome.open_action,
            errors,
            summary,
            own_units => units::for_organisations(c, &own_org, false)?.into_iter().map(|u| context! { id => u.id, name => u.name }).collect::<Vec<_>>(),
            handlers,
            organisations => organisations::list(c, None, false, policy::organisations_visible(caller, state.config.allow_cross_community_cases).as_ref())?.into_iter().filter(|o| o.id != caller.organisation_id).map(|o| context! { id => o.id, name => o.name }).collect::<Vec<_>>(),
        },
    )
}

/// «Vis pasientidentitet»: the identity, for this response only, and the look logged.
pub async fn reveal_patient(state: Data<AppState>, viewer: Viewer, id: Path<DeviationId>, form: Posted) -> PageResult {
    let input = crate::patients::RevealInput { reason: form.text("reason"), text: form.get("text") };
    let st = state.clone();
    let body = db::run(&state.pool, move |c| {
        let now = st.clock.now().naive_utc();
        let outcome = match crate::patients::reveal(c, &st.patients, now, &viewer.caller, &id, &input) {
            Ok(revealed) => Outcome { patient: Some(revealed), ..Default::default() },
            Err(e) if e.status == actix_web::http::StatusCode::NOT_FOUND && e.code == "not_found" => return Err(e),
            Err(e) if e.fields.is_empty() => Outcome { problem: Some(e.detail), ..Default::default() },
            Err(e) => Outcome { open_action: Some("patient".into()), errors: e.fields, ..Default::default() },
        };
        let failed = outcome.patient.is_none();
        detail_page(c, &st, &viewer, &id, false, outcome).map(|page| (page, failed))
    })
    .await?;
    let (page, failed) = body;
    let mut resp = html(page);
    if failed {
        *resp.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

/// «Var tilbakemeldingen nyttig?»: the reporter's rating, by the same use case as the API.
pub async fn rate(state: Data<AppState>, viewer: Viewer, id: Path<DeviationId>, form: Posted) -> PageResult {
    let comment = form.get("comment");
    let score = form.get("score").and_then(|s| s.parse::<i32>().ok()).unwrap_or(0);
    let input = crate::deviations::rating::RatingInput { score, comment: comment.clone() };
    let st = state.clone();
    let body = db::run(&state.pool, move |c| {
        let now = st.clock.now_naive();
        let outcome = match crate::deviations::rating::rate(c, now, &viewer.caller, &id, &input) {
            Ok(_) => return Ok(Err(format!("/avvik/{id}?gjort=vurdering"))),
            Err(e) if e.status == actix_web::http::StatusCode::NOT_FOUND => return Err(e),
            Err(e) if e.fields.is_empty() => Outcome { problem: Some(e.detail), ..Default::default() },
            Err(e) => Outcome {
                open_action: Some("rating".into()),
                errors: e.fields,
                rating_comment: comment,
                ..Default::default()
            },
        };
        detail_page(c, &st, &viewer, &id, false, outcome).map(Ok)
    })
    .await?;
    match body {
        Err(back) => Ok(see_other(&back)),
        Ok(page) => {
            let mut resp = html(page);
            *resp.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
    }
}

/// The id of the control that answers `field` in the form of `action` (detail.html).
fn control(action: &str, field: &str) -> String {
    match field {
        "reason" if action == "patient" => "reason-investigation".into(),
        "score" if action == "rating" => "rating-score-1".into(),
        "comment" if action == "rating" => "rating-comment".into(),
        "text" if action == "patient" => "patient-text".into(),
        "reason" | "note" => format!("{action}-{field}"),
        "answer" => "answer-text".into(),
        "actions" => "answer-actions".into(),
        "text" => "comment-text".into(),
        "category" => "acknowledge-category".into(),
        other => other.into(),
    }
}

pub async fn detail(
    state: Data<AppState>,
    viewer: Viewer,
    id: Path<DeviationId>,
    params: Query<DetailParams>,
) -> PageResult {
    let st = state.clone();
    let p = params.into_inner();
    let body = db::run(&state.pool, move |c| {
        access::logging_denials(c, &st.clock, &viewer.caller, &id, "read", |c| {
            let notice = p.gjort.as_deref().and_then(done).map(str::to_owned);
            detail_page(c, &st, &viewer, &id, p.sendt.is_some(), Outcome { notice, ..Default::default() })
        })
    })
    .await?;
    Ok(html(body))
}

/// What just happened, and who hears of it, in a sentence (the mail it says goes out is queued in
/// the same transaction as the action).
fn done(action: &str) -> Option<&'static str> {
    Some(match action {
        "acknowledge" => "Mottaket er bekreftet, og melderen får e-post.",
        "forward" => "Avviket er sendt videre, og melderen får e-post.",
        "reject" => "Avviket er avvist, og melderen får e-post med begrunnelsen.",
        "answer" => "Svaret er sendt, og melderen får e-post.",
        "close" => "Saken er lukket.",
        "reopen" => "Saken er åpnet igjen, og mottakeren får e-post.",
        "comment" => "Kommentaren er lagt til, og den andre parten får e-post.",
        "vurdering" => "Takk! Vurderingen din er lagret, og mottakeren ser den.",
        _ => return None,
    })
}

/// The posted action form as the same command the API builds from JSON.
fn command(action: &str, form: &Posted) -> Option<Command> {
    Some(match action {
        "acknowledge" => Command::Acknowledge(AcknowledgeInput {
            unit_id: form.get("unit_id").map(Into::into),
            handler_id: form.get("handler_id").map(Into::into),
            note: form.get("note"),
            category: form.get("category"),
        }),
        "forward" => Command::Forward(ForwardInput {
            organisation_id: form.text("organisation_id").into(),
            unit_id: form.get("unit_id").map(Into::into),
            reason: form.text("reason"),
        }),
        "reject" => Command::Reject(ReasonInput { reason: form.text("reason") }),
        "answer" => Command::Answer(AnswerInput { answer: form.text("answer"), actions: form.get("actions") }),
        "close" => Command::Close(NoteInput { note: form.get("note") }),
        "reopen" => Command::Reopen(NoteInput { note: form.get("note") }),
        "comment" => Command::Comment(CommentInput { text: form.text("text") }),
        _ => return None,
    })
}

pub async fn act(state: Data<AppState>, viewer: Viewer, path: Path<(DeviationId, String)>, form: Posted) -> PageResult {
    let (id, action) = path.into_inner();
    let Some(command) = command(&action, &form) else {
        return Err(ApiError::not_found("Denne handlingen finnes ikke.").into());
    };
    let forwarded = matches!(command, Command::Forward(_));
    let st = state.clone();
    let outcome = db::run(&state.pool, move |c| {
        let ctx = Ctx { config: &st.config, clock: &st.clock, caller: &viewer.caller };
        match actions::perform(c, &ctx, &id, command) {
            Ok(_) => Ok(None),
            // Not theirs (or gone): the same 404 the API gives, and nothing changed.
            Err(e) if e.status == actix_web::http::StatusCode::NOT_FOUND => Err(e),
            Err(e) => {
                let outcome = match e.fields.is_empty() {
                    true => Outcome { problem: Some(e.detail), ..Default::default() },
                    false => Outcome { open_action: Some(action.clone()), errors: e.fields, ..Default::default() },
                };
                Ok(Some(detail_page(c, &st, &viewer, &id, false, outcome)?))
            }
        }
        .map(|page| (page, id, action))
    })
    .await?;
    match outcome {
        (None, _, _) if forwarded => Ok(see_other("/avvik?boks=mottatt")),
        (None, id, action) => Ok(see_other(&format!("/avvik/{id}?gjort={action}"))),
        (Some(page), _, _) => {
            let mut resp = html(page);
            *resp.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
    }
}
