//! The statistics page: this tertial's key figures and charts, with the report files beside them.

use actix_web::web::{Data, Path, Query};
use minijinja::context;
use serde::Deserialize;

use super::render::{decimal, render};
use super::session::Viewer;
use super::{html, PageResult};
use crate::api::stats::{report_file, scope_name, ReportQuery};
use crate::db;
use crate::domain::calendar::oslo_today;
use crate::domain::period::Period;
use crate::error::ApiError;
use crate::state::AppState;
use crate::stats::report::{bar_chart, direction_label};
use crate::stats::StatsScope;
use crate::stats::{compute, PeriodData, Stats};

#[derive(Deserialize)]
pub struct Params {
    tertial: Option<String>,
}

/// (label, count) per group of a one-dimension breakdown.
fn counts(s: &Stats) -> Vec<(String, f64)> {
    s.groups
        .iter()
        .map(|g| (g.label.values().next().cloned().unwrap_or_default(), g.count.unwrap_or(0) as f64))
        .collect()
}

pub async fn page(state: Data<AppState>, viewer: Viewer, params: Query<Params>) -> PageResult {
    let caller = viewer.caller.clone();
    let current = Period::tertial_of(oslo_today(state.clock.now()));
    let tertials: Vec<Period> = std::iter::successors(Some(current), |p| Some(p.previous())).take(6).collect();
    let tertial = match params.into_inner().tertial.map(|t| Period::parse(&t)) {
        Some(Ok(p @ Period::Tertial { .. })) => p,
        Some(_) => return Err(ApiError::field("tertial", "invalid_period", "Velg en tertial fra listen.").into()),
        None => current,
    };
    let threshold = state.config.suppression_threshold;
    let spare = state.pool.clone();
    let body = db::run(&state.pool, move |c| {
        let org = crate::api::stats::scope(c, &caller, None, None)?;
        let dims = ["direction".to_owned(), "category".to_owned()];
        let data = PeriodData::load(c, Some(&spare), tertial, &org, &dims)?;
        let by_direction = data.stats(&dims[..1], threshold);
        let by_category = data.stats(&dims[1..], threshold);
        let before = compute(c, Some(&spare), tertial.previous(), &org, &dims[1..], threshold)?;
        let directions: Vec<(String, Vec<f64>)> =
            counts(&by_direction).into_iter().map(|(l, n)| (direction_label(&l).to_owned(), vec![n])).collect();
        let earlier = counts(&before);
        let categories: Vec<(String, Vec<f64>)> = counts(&by_category)
            .into_iter()
            .map(|(label, n)| {
                let was = earlier.iter().find(|(l, _)| *l == label).map_or(0.0, |(_, n)| *n);
                (label, vec![n, was])
            })
            .collect();
        let (this, last) = (tertial.to_string(), tertial.previous().to_string());
        let scope_text = match &org {
            StatsScope::Organisation(_) => format!("Avvik {} har sendt eller mottatt", scope_name(c, &org)?),
            _ => scope_name(c, &org)?,
        };
        // The region side by side: one row per helsefellesskap.
        let communities = (org == StatsScope::All).then(|| {
            let by = ["health_community".to_owned()];
            compute(c, None, tertial, &org, &by, threshold).map(|s| counts(&s))
        });
        let communities = communities.transpose()?.unwrap_or_default();
        render(
            "statistics.html",
            context! {
                viewer => &viewer.chrome,
                current => "stats",
                tertial => this.clone(),
                tertial_name => tertial_name(tertial),
                tertials => tertials.iter().map(ToString::to_string).collect::<Vec<_>>(),
                scope => scope_text,
                communities => communities.into_iter().map(|(name, n)| context! { name, n }).collect::<Vec<_>>(),
                share => by_direction.within_deadline_share.map_or("–".to_owned(), |v| format!("{} %", decimal(v * 100.0, 0))),
                direction_chart => bar_chart("Avvik etter retning", &[&this], &directions, ""),
                category_chart => bar_chart("Avvik etter kategori", &[&this, &last], &categories, ""),
                s => by_direction,
            },
        )
    })
    .await?;
    Ok(html(body))
}

fn tertial_name(p: Period) -> String {
    match p {
        Period::Tertial { year, t } => format!("{t}. tertial {year}"),
        other => other.to_string(),
    }
}

/// The report files, under the page session instead of a bearer token.
pub async fn file(state: Data<AppState>, viewer: Viewer, file: Path<String>) -> PageResult {
    let asked = ReportQuery { organisation_id: None, health_community_id: None };
    Ok(report_file(state, viewer.caller, file.into_inner(), asked).await?)
}
