//! The tertial report for ASU: the standard breakdowns for one tertial, the trend over the last
//! tertials, and a printable bokmål HTML page with SVG charts and a generated summary.

use std::fmt::Write;

use chrono::Datelike;

use serde::{Deserialize, Serialize};

use super::{compute, PeriodData, Stats, StatsScope};
use crate::db::DbConnection;
use crate::domain::period::Period;
use crate::error::ApiError;

/// (dimension, Norwegian title) of each breakdown in the report, in order.
pub const BREAKDOWNS: &[(&str, &str)] = &[
    ("direction", "Retning"),
    ("category", "Kategori"),
    ("reporting_organisation", "Meldt av"),
    ("recipient_organisation", "Mottaker"),
    ("recipient_unit", "Mottakerenhet"),
    ("harm_class", "Skadegrad"),
    ("kind", "Type melding"),
];

pub const TREND_TERTIALS: usize = 6;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub tertial: String,
    /// The totals of the tertial, without a breakdown.
    overall: Stats,
    pub breakdowns: Vec<Stats>,
    pub previous_by_category: Stats,
    /// Oldest first: (tertial, stats by direction).
    pub trend: Vec<Stats>,
    /// «Tiltak og effekt»: the actions of the scope that took effect in this tertial or the two
    /// before it, each with the run of its category.
    #[serde(skip_deserializing, default)]
    pub actions: Vec<ActionRun>,
    /// «Læring»: the learning notes of the scope's helsefellesskap published in the tertial.
    #[serde(skip_deserializing, default)]
    pub learning: Vec<Lesson>,
    /// «Tilbakemelding»: did the answers help (#37).
    #[serde(skip_deserializing, default)]
    pub feedback: crate::stats::feedback::Feedback,
}

/// One published learning note as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Lesson {
    pub title: String,
    pub organisation: String,
    pub published_on: chrono::NaiveDate,
    pub what_changed: String,
}

/// One action as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ActionRun {
    pub title: String,
    pub organisation: String,
    pub category: String,
    pub effect: crate::stats::effect::Effect,
}

impl Report {
    /// The report of `tertial` as of `today` (in Norway): no month after it is counted.
    pub fn build(
        conn: &mut DbConnection,
        tertial: Period,
        scope: &StatsScope,
        threshold: i64,
        today: chrono::NaiveDate,
    ) -> Result<Self, ApiError> {
        let dims: Vec<String> = BREAKDOWNS.iter().map(|(dim, _)| dim.to_string()).collect();
        let data = PeriodData::load(conn, None, tertial, scope, &dims)?;
        let overall = data.stats(&[], threshold);
        let breakdowns = BREAKDOWNS.iter().map(|(dim, _)| data.stats(&[dim.to_string()], threshold)).collect();
        let mut trend = Vec::new();
        let mut p = tertial;
        for _ in 0..TREND_TERTIALS {
            trend.push(compute(conn, None, p, scope, &["direction".to_string()], threshold)?);
            p = p.previous();
        }
        trend.reverse();
        let previous_by_category =
            compute(conn, None, tertial.previous(), scope, &["category".to_string()], threshold)?;
        let actions = action_runs(conn, tertial, scope, threshold, today)?;
        let learning = lessons(conn, tertial, scope)?;
        let feedback = crate::stats::feedback::compute(conn, tertial, scope, threshold)?;
        Ok(Report {
            tertial: tertial.to_string(),
            overall,
            breakdowns,
            previous_by_category,
            trend,
            actions,
            learning,
            feedback,
        })
    }

    pub fn breakdown(&self, dimension: &str) -> Option<&Stats> {
        self.breakdowns.iter().find(|s| s.group_by.first().map(String::as_str) == Some(dimension))
    }

    /// Each category of the tertial: its label (None if it has none), its count (None when
    /// suppressed) and its count in the tertial before.
    pub fn categories(&self) -> Vec<(String, Option<String>, Option<i64>, i64)> {
        let Some(c) = self.breakdown("category") else { return Vec::new() };
        c.groups
            .iter()
            .map(|g| {
                let code = g.key.get("category").cloned().flatten().unwrap_or_default();
                let previous = count_of(&self.previous_by_category, "category", &code);
                (code, g.label.get("category").cloned(), g.count, previous)
            })
            .collect()
    }

    pub fn overall(&self) -> &Stats {
        &self.overall
    }
}

/// The actions of `scope` that took effect in `tertial` or the two tertials before it.
fn action_runs(
    conn: &mut DbConnection,
    tertial: Period,
    scope: &StatsScope,
    threshold: i64,
    today: chrono::NaiveDate,
) -> Result<Vec<ActionRun>, ApiError> {
    let from = tertial.previous().previous().start();
    let until = tertial.end().pred_opt().unwrap_or(tertial.end()).min(today);
    let rows = crate::db::actions::with_effect(conn, scope.community(), scope.organisation(), from, until)?;
    let mut runs = Vec::new();
    for row in rows {
        let organisation = crate::db::organisations::find(conn, &row.responsible_organisation_id)?.name;
        let category = crate::db::categories::label(conn, &row.category).unwrap_or_else(|_| row.category.clone());
        let effect = crate::stats::effect::compute(conn, &row, until, threshold)?;
        runs.push(ActionRun { title: row.title, organisation, category, effect });
    }
    Ok(runs)
}

/// The notes published in `tertial` (Norwegian days) in the scope's helsefellesskap, oldest first.
pub fn lessons(conn: &mut DbConnection, tertial: Period, scope: &StatsScope) -> Result<Vec<Lesson>, ApiError> {
    use crate::domain::calendar::{oslo_date, oslo_midnight_utc};
    let within = (oslo_midnight_utc(tertial.start()), oslo_midnight_utc(tertial.end()));
    let mut rows = crate::db::learning_notes::published(conn, scope.community(), Some(within))?;
    rows.reverse();
    let mut lessons = Vec::new();
    for row in rows {
        lessons.push(Lesson {
            organisation: crate::db::organisations::find(conn, &row.author_organisation_id)?.name,
            published_on: oslo_date(row.published_at),
            title: row.title,
            what_changed: row.what_changed,
        });
    }
    Ok(lessons)
}

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "mai", "jun", "jul", "aug", "sep", "okt", "nov", "des"];

/// `2026-05` → «mai 26».
fn month_label(month: &str) -> String {
    let (year, m) = month.split_once('-').unwrap_or((month, ""));
    let name = m.parse::<usize>().ok().and_then(|m| MONTHS.get(m.wrapping_sub(1))).copied().unwrap_or(m);
    format!("{name} {}", year.get(2..).unwrap_or(year))
}

/// A run chart of one action's category as accessible SVG: the monthly rate per 1,000 deviations
/// as a line (broken where a month is suppressed), a line at the day it took effect, and the
/// median before and after as dashed lines over their months.
pub fn run_chart(title: &str, effect: &crate::stats::effect::Effect) -> String {
    let (left, top, plot_w, plot_h) = (56.0, 24.0, 600.0, 150.0);
    let months = &effect.months;
    let n = months.len().max(1) as f64;
    let step = plot_w / n;
    let max = months.iter().filter_map(|m| m.rate_per_1000).fold(0.0_f64, f64::max).max(1.0) * 1.15;
    let x = |i: f64| left + step * (i + 0.5);
    let y = |v: f64| top + plot_h - v / max * plot_h;
    let height = top + plot_h + 44.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" viewBox=\"0 0 680 {height}\" width=\"680\" height=\"{height}\" \
         font-family=\"Arial, Helvetica, sans-serif\" font-size=\"11\"><title>{}</title>",
        esc(title)
    );
    let _ = write!(
        svg,
        "<line x1=\"{left}\" y1=\"{b}\" x2=\"{}\" y2=\"{b}\" stroke=\"#999\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><text x=\"4\" y=\"12\">Per 1 000 avvik</text>",
        left + plot_w,
        left - 4.0,
        top + plot_h + 4.0,
        left - 4.0,
        top + 8.0,
        num(Some(max)),
        b = top + plot_h,
    );
    // The line, in pieces between suppressed or empty months.
    let mut piece: Vec<String> = Vec::new();
    let flush = |svg: &mut String, piece: &mut Vec<String>| {
        if piece.len() > 1 {
            let _ = write!(
                svg,
                "<polyline fill=\"none\" stroke=\"#0b5394\" stroke-width=\"2\" points=\"{}\"/>",
                piece.join(" ")
            );
        }
        piece.clear();
    };
    for (i, m) in months.iter().enumerate() {
        let xi = x(i as f64);
        let _ = write!(
            svg,
            "<text x=\"{xi:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            top + plot_h + 16.0,
            esc(&month_label(&m.month))
        );
        match m.rate_per_1000 {
            Some(r) => {
                piece.push(format!("{xi:.1},{:.1}", y(r)));
                let _ = write!(
                    svg,
                    "<circle cx=\"{xi:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#0b5394\"><title>{}: {} per 1 000 ({} av {})</title></circle>",
                    y(r),
                    esc(&month_label(&m.month)),
                    num(Some(r)),
                    m.count.unwrap_or(0),
                    m.total
                );
            }
            None => flush(&mut svg, &mut piece),
        }
    }
    flush(&mut svg, &mut piece);
    // The median before and after, over their own months.
    let span = |after: bool| {
        let idx: Vec<usize> = months.iter().enumerate().filter(|(_, m)| m.after == after).map(|(i, _)| i).collect();
        Some((*idx.first()?, *idx.last()?))
    };
    for (after, median, label) in
        [(false, effect.median_before, "Median før"), (true, effect.median_after, "Median etter")]
    {
        if let (Some(v), Some((a, b))) = (median, span(after)) {
            let (x1, x2) = (x(a as f64) - step / 2.0, x(b as f64) + step / 2.0);
            let _ = write!(
                svg,
                "<line x1=\"{x1:.1}\" y1=\"{yv:.1}\" x2=\"{x2:.1}\" y2=\"{yv:.1}\" stroke=\"#e69138\" stroke-dasharray=\"6 4\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#8a4b00\">{label}: {}</text>",
                x1 + 4.0,
                y(v) - 4.0,
                num(Some(v)),
                yv = y(v),
            );
        }
    }
    if let Some(day) = effect.effective_on {
        let at = months.iter().position(|m| m.month == day.format("%Y-%m").to_string());
        if let Some(i) = at {
            let month = Period::Month { year: day.year(), month: day.month() };
            let days = (month.end() - month.start()).num_days().max(1);
            let xe = left + step * (i as f64 + f64::from(day.day0()) / days as f64);
            let _ = write!(
                svg,
                "<line x1=\"{xe:.1}\" y1=\"{top}\" x2=\"{xe:.1}\" y2=\"{}\" stroke=\"#a64d79\" stroke-width=\"2\"/>\
                 <text x=\"{:.1}\" y=\"{}\" fill=\"#a64d79\">Virkning {}</text>",
                top + plot_h,
                xe + 4.0,
                top + plot_h + 32.0,
                day.format("%d.%m.%Y")
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

pub fn direction_label(code: &str) -> &str {
    match code {
        "municipality_to_hospital" => "Kommune → sykehus",
        "hospital_to_municipality" => "Sykehus → kommune",
        "municipality_to_municipality" => "Kommune → kommune",
        "hospital_to_hospital" => "Sykehus → sykehus",
        _ => "Annet",
    }
}

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub(crate) fn num(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.1}").replace('.', ","))
}

pub(crate) fn count_of(stats: &Stats, dim: &str, key: &str) -> i64 {
    stats
        .groups
        .iter()
        .find(|g| g.key.get(dim).and_then(|k| k.as_deref()) == Some(key))
        .and_then(|g| g.count)
        .unwrap_or(0)
}

/// One sentence or three, in bokmål, about what changed and what dominates.
pub fn summary(r: &Report) -> String {
    let now = r.overall();
    let mut s = format!("I {} ble det meldt {} samhandlingsavvik", now.period, now.total);
    match now.previous.change_percent {
        Some(c) if c > 0.0 => write!(s, ", {c:.0} % flere enn i {}", now.previous.period).ok(),
        Some(c) if c < 0.0 => write!(s, ", {:.0} % færre enn i {}", -c, now.previous.period).ok(),
        _ => None,
    };
    s.push('.');
    let prev = r.trend.iter().rev().nth(1);
    for dir in ["municipality_to_hospital", "hospital_to_municipality"] {
        let (a, b) = (prev.map_or(0, |p| count_of(p, "direction", dir)), count_of(now, "direction", dir));
        if let Some(c) = super::change_percent(a, b).filter(|c| c.abs() >= 1.0) {
            let verb = if c > 0.0 { "økte" } else { "falt" };
            let who = if dir == "municipality_to_hospital" {
                "fra kommunene til sykehuset"
            } else {
                "fra sykehuset til kommunene"
            };
            let _ = write!(
                s,
                " Antall avvik {who} {verb} med {:.0} % fra {} til {}.",
                c.abs(),
                now.previous.period,
                now.period
            );
        }
    }
    if let Some(top) = r.breakdown("category").and_then(|c| c.groups.first()).filter(|g| g.count.is_some()) {
        let _ =
            write!(s, " Flest gjelder {}.", top.label.get("category").map(|l| l.to_lowercase()).unwrap_or_default());
    }
    if let Some(share) = now.within_deadline_share {
        let _ = write!(s, " {:.0} % av de besvarte fikk svar innen fristen.", share * 100.0);
    }
    s
}

/// A horizontal grouped bar chart as accessible SVG: one row per label, one bar per series.
pub fn bar_chart(title: &str, series: &[&str], rows: &[(String, Vec<f64>)], unit: &str) -> String {
    const COLORS: [&str; 4] = ["#0b5394", "#e69138", "#6aa84f", "#a64d79"];
    let color = |i: usize| COLORS.get(i % COLORS.len()).copied().unwrap_or("#000");
    // Wide enough for the longest label (at 11 px Arial, about 6 px a character), so no category
    // name is cut at the chart's left edge; the whole chart scales down to fit the page.
    let longest = rows.iter().map(|(label, _)| label.chars().count()).max().unwrap_or(0) as f64;
    let label_w = (longest * 6.2 + 16.0).max(120.0);
    let (bar_w, row_h, bar_h) = (380.0, 14.0 * series.len() as f64 + 10.0, 12.0);
    let width = (label_w + bar_w + 80.0).max(680.0);
    let max = rows.iter().flat_map(|(_, v)| v.iter().copied()).fold(0.0_f64, f64::max).max(1.0);
    let height = 40.0 + rows.len() as f64 * row_h + 20.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" \
         font-family=\"Arial, Helvetica, sans-serif\" font-size=\"11\"><title>{}</title>",
        esc(title)
    );
    for (i, name) in series.iter().enumerate() {
        let x = label_w + i as f64 * 140.0;
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"6\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"15\">{}</text>",
            color(i),
            x + 14.0,
            esc(name)
        );
    }
    for (r, (label, values)) in rows.iter().enumerate() {
        let y0 = 30.0 + r as f64 * row_h;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            label_w - 8.0,
            y0 + row_h / 2.0,
            esc(label)
        );
        for (i, v) in values.iter().enumerate() {
            let (y, w) = (y0 + 4.0 + i as f64 * 14.0, v / max * bar_w);
            let _ = write!(
                svg,
                "<rect x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"{bar_h}\" fill=\"{}\"><title>{}: {}</title></rect>\
                 <text x=\"{:.1}\" y=\"{}\">{}{unit}</text>",
                color(i),
                esc(series.get(i).unwrap_or(&"")),
                num(Some(*v)),
                label_w + w + 4.0,
                y + 10.0,
                if v.fract() == 0.0 { format!("{v:.0}") } else { num(Some(*v)) },
            );
        }
    }
    let axis_y = 30.0 + rows.len() as f64 * row_h + 4.0;
    let _ = write!(
        svg,
        "<line x1=\"{label_w}\" y1=\"{axis_y}\" x2=\"{}\" y2=\"{axis_y}\" stroke=\"#999\"/>",
        label_w + bar_w
    );
    let _ = write!(
        svg,
        "<text x=\"{label_w}\" y=\"{}\">0</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}{unit}</text>",
        axis_y + 14.0,
        label_w + bar_w,
        axis_y + 14.0,
        num(Some(max)).trim_end_matches(",0")
    );
    svg.push_str("</svg>");
    svg
}

fn table(stats: &Stats, dim: &str, title: &str) -> String {
    let mut t = format!("<table><caption>{}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\" class=\"n\">Antall</th></tr></thead><tbody>", esc(title), esc(title));
    for g in &stats.groups {
        let label = g.label.get(dim).cloned().unwrap_or_default();
        let label = if dim == "direction" {
            direction_label(g.key.get(dim).cloned().flatten().as_deref().unwrap_or("")).to_owned()
        } else {
            label
        };
        let count = g.count.map_or(format!("&lt;{}", stats.suppression_threshold), |c| c.to_string());
        let _ = write!(t, "<tr><td>{}</td><td class=\"n\">{count}</td></tr>", esc(&label));
    }
    t.push_str("</tbody></table>");
    t
}

/// A tertial whose deviations came (partly) from a quality system's export is marked, so no one
/// reads its handling times as measured the way samavvik measures them.
pub fn trend_label(s: &Stats) -> String {
    match s.imported {
        0 => s.period.clone(),
        _ => format!("{} (fra import)", s.period),
    }
}

fn imported_note(r: &Report) -> String {
    let marked: Vec<String> = r
        .trend
        .iter()
        .filter(|s| s.imported > 0)
        .map(|s| format!("{} ({} av {})", s.period, s.imported, s.total))
        .collect();
    if marked.is_empty() {
        return String::new();
    }
    format!(
        "<p class=\"muted imported\">Fra import: {}. Disse avvikene er hentet fra kvalitetssystemenes historikk og telles \
         etter hendelsesdato. Behandlingstid og frister ble ikke målt på samme måte der, så sammenlign ikke \
         behandlingstiden i disse tertialene med tertialer meldt i samavvik.</p>",
        esc(&marked.join(", "))
    )
}

pub fn html(r: &Report, scope: &str) -> String {
    let now = r.overall();
    let dirs = ["municipality_to_hospital", "hospital_to_municipality"];
    let trend_rows: Vec<(String, Vec<f64>)> = r
        .trend
        .iter()
        .map(|s| (trend_label(s), dirs.iter().map(|d| count_of(s, "direction", d) as f64).collect()))
        .collect();
    let trend = bar_chart("Avvik per tertial etter retning", &dirs.map(direction_label), &trend_rows, "");
    let cats: Vec<(String, Vec<f64>)> = r
        .categories()
        .into_iter()
        .map(|(_, label, count, previous)| {
            (label.unwrap_or_default(), vec![count.unwrap_or(0) as f64, previous as f64])
        })
        .collect();
    let categories = bar_chart("Kategorier denne og forrige tertial", &[&now.period, &now.previous.period], &cats, "");
    let handling = bar_chart(
        "Behandlingstid i virkedager",
        &["Median", "90-persentil"],
        &[
            (
                "Bekreftet mottatt".into(),
                vec![now.acknowledge_days.median.unwrap_or(0.0), now.acknowledge_days.p90.unwrap_or(0.0)],
            ),
            ("Besvart".into(), vec![now.answer_days.median.unwrap_or(0.0), now.answer_days.p90.unwrap_or(0.0)]),
        ],
        " d",
    );
    let share: Vec<(String, Vec<f64>)> =
        r.trend.iter().map(|s| (trend_label(s), vec![s.within_deadline_share.unwrap_or(0.0) * 100.0])).collect();
    let within = bar_chart("Andel besvart innen fristen", &["Innen fristen"], &share, " %");
    let units: Vec<(String, Vec<f64>)> = r
        .breakdown("recipient_unit")
        .map(|u| {
            u.groups
                .iter()
                .filter(|g| g.count.is_some() && g.key.get("recipient_unit").is_some_and(Option::is_some))
                .take(10)
                .map(|g| {
                    (g.label.get("recipient_unit").cloned().unwrap_or_default(), vec![g.count.unwrap_or(0) as f64])
                })
                .collect()
        })
        .unwrap_or_default();
    let top_units = bar_chart("Mottakerenheter med flest avvik", &["Antall"], &units, "");

    let mut page = format!(
        "<!doctype html><html lang=\"nb\"><head><meta charset=\"utf-8\"><title>Samhandlingsavvik {t}</title><style>\
         @page {{ size: A4; margin: 16mm; }} body {{ font-family: Arial, Helvetica, sans-serif; color: #1a1a1a; max-width: 180mm; margin: auto; line-height: 1.4; }}\
         h1 {{ font-size: 20pt; margin-bottom: 0; }} h2 {{ font-size: 13pt; margin-top: 1.4em; break-after: avoid; }}\
         .lead {{ font-size: 12pt; background: #eef3fa; padding: 0.6em 0.8em; border-left: 4px solid #0b5394; }}\
         .kpi {{ display: grid; grid-template-columns: repeat(3, 1fr); gap: 6px; }} .kpi div {{ border: 1px solid #ccc; padding: 6px; }}\
         .kpi b {{ display: block; font-size: 16pt; }} svg {{ max-width: 100%; height: auto; break-inside: avoid; }}\
         table {{ border-collapse: collapse; margin: 0.6em 0; break-inside: avoid; min-width: 60%; }} caption {{ text-align: left; font-weight: bold; }}\
         td, th {{ border-bottom: 1px solid #ddd; padding: 2px 8px; text-align: left; }} .n {{ text-align: right; }}\
         .muted {{ color: #555; font-size: 9pt; }}</style></head><body>\
         <h1>Samhandlingsavvik {t}</h1><p class=\"muted\">{scope} · {from}–{to} · rapport til ASU og Forbedringsgruppa</p>\
         <p class=\"lead\">{summary}</p><div class=\"kpi\">\
         <div>Meldte avvik<b>{total}</b></div><div>Endring fra {prev}<b>{change}</b></div><div>Samme tertial i fjor ({ly})<b>{ly_total}</b></div>\
         <div>Median tid til svar<b>{med} virkedager</b></div><div>Besvart innen fristen<b>{share}</b></div><div>Åpne / over fristen ved slutt<b>{backlog} / {overdue}</b></div></div>",
        t = esc(&r.tertial),
        scope = esc(scope),
        from = now.from,
        to = now.to,
        summary = esc(&summary(r)),
        total = now.total,
        prev = now.previous.period,
        change = now.previous.change_percent.map_or("–".into(), |c| format!("{c:+.0} %")),
        ly = now.same_period_last_year.period,
        ly_total = now.same_period_last_year.total,
        med = num(now.answer_days.median),
        share = now.within_deadline_share.map_or("–".into(), |s| format!("{:.0} %", s * 100.0)),
        backlog = now.backlog_at_end,
        overdue = now.overdue_at_end,
    );
    for (title, chart) in [
        ("Utvikling per tertial", trend),
        ("Kategorier", categories),
        ("Behandlingstid", handling),
        ("Svar innen fristen", within),
        ("Mottakerenheter", top_units),
    ] {
        let _ = write!(page, "<h2>{title}</h2>{chart}");
        if title == "Utvikling per tertial" {
            page.push_str(&imported_note(r));
        }
    }
    if !r.actions.is_empty() {
        let _ = write!(
            page,
            "<h2>Tiltak og effekt</h2><p>Kategoriens avvik per 1 000 avvik i samme omfang, måned for måned, før og etter at \
             tiltaket fikk virkning. {}</p>",
            esc(crate::stats::effect::NOT_PROOF)
        );
        for a in &r.actions {
            let _ = write!(
                page,
                "<h3>{}</h3><p class=\"muted\">{} · {}</p>{}",
                esc(&a.title),
                esc(&a.organisation),
                esc(&a.category),
                run_chart(&format!("{}: {} per 1 000 avvik per måned", a.title, a.category), &a.effect)
            );
        }
    }
    page.push_str(&crate::stats::feedback::html(&r.feedback));
    if !r.learning.is_empty() {
        page.push_str("<h2>Læring</h2><p>Læringsnotater fra hendelsesanalysene, publisert i tertialet.</p>");
        for l in &r.learning {
            let _ = write!(
                page,
                "<h3>{}</h3><p class=\"muted\">{} · {}</p><p>{}</p>",
                esc(&l.title),
                esc(&l.organisation),
                l.published_on.format("%d.%m.%Y"),
                esc(&l.what_changed)
            );
        }
    }
    page.push_str("<h2>Tabeller</h2>");
    for (dim, title) in BREAKDOWNS {
        if let Some(s) = r.breakdown(dim) {
            page.push_str(&table(s, dim, title));
        }
    }
    let _ = write!(
        page,
        "<p class=\"muted\">Tallene er avidentifisert. Celler med færre enn {} avvik per organisasjon eller enhet vises som «&lt;{}». \
         Behandlingstid regnes i virkedager (uten helg og helligdager) fra mottak.</p></body></html>",
        now.suppression_threshold, now.suppression_threshold
    );
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::effect::{Effect, Month};

    #[test]
    fn a_run_chart_breaks_at_a_suppressed_month_and_draws_both_medians_and_the_effect_day() {
        let m = |month: &str, rate: Option<f64>, after: bool| Month {
            month: month.into(),
            count: rate.map(|_| 4),
            total: 7,
            rate_per_1000: rate,
            suppressed: rate.is_none(),
            after,
        };
        let effect = Effect {
            category: "discharge_summary".into(),
            direction: None,
            effective_on: chrono::NaiveDate::from_ymd_opt(2026, 3, 1),
            months: vec![
                m("2026-01", Some(571.4), false),
                m("2026-02", Some(500.0), false),
                m("2026-03", None, true),
                m("2026-04", Some(300.0), true),
                m("2026-05", Some(250.0), true),
            ],
            median_before: Some(535.7),
            median_after: Some(275.0),
            note: crate::stats::effect::NOT_PROOF,
        };
        let svg = run_chart("Tiltak", &effect);
        assert_eq!(svg.matches("<polyline").count(), 2, "one piece before the gap, one after: {svg}");
        assert!(svg.contains("Median før: 535,7") && svg.contains("Median etter: 275,0"), "{svg}");
        assert!(svg.contains("Virkning 01.03.2026") && svg.contains(">mar 26<"), "{svg}");
    }

    #[test]
    fn a_long_category_name_fits_inside_the_bar_chart() {
        let long = "Avvik i informasjon til kommunen mens pasienten er innlagt";
        let svg = bar_chart("Kategorier", &["Nå"], &[(long.to_owned(), vec![3.0])], "");
        let x: f64 = svg
            .split("text-anchor=\"end\">")
            .next()
            .unwrap()
            .rsplit("<text x=\"")
            .next()
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(x >= long.chars().count() as f64 * 6.0, "label ends at x = {x}");
    }
}
