//! Did the answer help? (#37) Per direction and per recipient organisation, for the cases answered
//! in a tertial: the share answered within the deadline, the share the reporter rated, and the
//! median rating — over the last tertials, so a trend shows. A group with fewer answered cases than
//! the small-cell threshold shows none of its figures, and a median is shown only from at least
//! that many ratings (fewer would tell what one reporter said).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::db::ratings::{answered_in, AnsweredRow};
use crate::db::stats::StatsScope;
use crate::db::DbConnection;
use crate::domain::calendar::oslo_date;
use crate::domain::period::Period;
use crate::error::ApiError;
use crate::ids::OrganisationId;

/// How many tertials the trend covers, the asked one last.
pub const TERTIALS: usize = 3;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Group {
    pub direction: String,
    /// None in the per-direction rows.
    pub recipient_organisation: Option<crate::deviations::view::Ref>,
    /// Cases answered in the tertial; None when suppressed.
    pub answered: Option<i64>,
    pub within_deadline_share: Option<f64>,
    pub rated_share: Option<f64>,
    pub median_rating: Option<f64>,
    pub suppressed: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TertialFeedback {
    pub tertial: String,
    pub by_direction: Vec<Group>,
    pub by_recipient: Vec<Group>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Feedback {
    /// Oldest first; the asked tertial last.
    pub tertials: Vec<TertialFeedback>,
    pub suppression_threshold: i64,
}

fn median(sorted: &[i32]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => sorted.get(n / 2).map(|v| f64::from(*v)),
        _ => Some((f64::from(*sorted.get(n / 2 - 1)?) + f64::from(*sorted.get(n / 2)?)) / 2.0),
    }
}

fn share(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 1000.0).round() / 1000.0)
}

/// The figures of one group of answered cases.
fn group(
    direction: &str,
    recipient: Option<crate::deviations::view::Ref>,
    rows: &[&AnsweredRow],
    threshold: i64,
) -> Group {
    let n = rows.len();
    if (n as i64) < threshold {
        return Group {
            direction: direction.to_owned(),
            recipient_organisation: recipient,
            answered: None,
            within_deadline_share: None,
            rated_share: None,
            median_rating: None,
            suppressed: true,
        };
    }
    let within = rows
        .iter()
        .filter(|r| {
            NaiveDate::parse_from_str(&r.answer_due, "%Y-%m-%d").is_ok_and(|due| oslo_date(r.answered_at) <= due)
        })
        .count();
    let mut scores: Vec<i32> = rows.iter().filter_map(|r| r.score).collect();
    scores.sort_unstable();
    Group {
        direction: direction.to_owned(),
        recipient_organisation: recipient,
        answered: Some(n as i64),
        within_deadline_share: share(within, n),
        rated_share: share(scores.len(), n),
        median_rating: if (scores.len() as i64) < threshold { None } else { median(&scores) },
        suppressed: false,
    }
}

fn tertial(
    conn: &mut DbConnection,
    t: Period,
    scope: &StatsScope,
    threshold: i64,
) -> Result<TertialFeedback, ApiError> {
    let (from, to) = t.utc_bounds();
    let rows = answered_in(conn, scope, from, to)?;
    let mut by_direction: BTreeMap<&str, Vec<&AnsweredRow>> = BTreeMap::new();
    let mut by_recipient: BTreeMap<(&str, &OrganisationId), Vec<&AnsweredRow>> = BTreeMap::new();
    for r in &rows {
        by_direction.entry(&r.direction).or_default().push(r);
        by_recipient.entry((&r.direction, &r.recipient_organisation_id)).or_default().push(r);
    }
    let names = crate::deviations::view::Names::load(conn, by_recipient.keys().map(|(_, o)| *o), [], [])?;
    Ok(TertialFeedback {
        tertial: t.to_string(),
        by_direction: by_direction.iter().map(|(d, rows)| group(d, None, rows, threshold)).collect(),
        by_recipient: by_recipient.iter().map(|((d, o), rows)| group(d, Some(names.org(o)), rows, threshold)).collect(),
    })
}

/// The feedback figures of `scope` for `asked` and the tertials before it.
pub fn compute(
    conn: &mut DbConnection,
    asked: Period,
    scope: &StatsScope,
    threshold: i64,
) -> Result<Feedback, ApiError> {
    let mut tertials = Vec::new();
    let mut t = asked;
    for _ in 0..TERTIALS {
        tertials.push(tertial(conn, t, scope, threshold)?);
        t = t.previous();
    }
    tertials.reverse();
    Ok(Feedback { tertials, suppression_threshold: threshold })
}

fn percent(v: Option<f64>) -> String {
    v.map_or("–".into(), |s| format!("{:.0} %", s * 100.0))
}

/// The report's «Tilbakemelding»: per direction over the tertials, then per recipient for the
/// tertial asked; suppressed groups as «under N».
pub fn html(f: &Feedback) -> String {
    use std::fmt::Write;
    let esc = crate::stats::report::esc;
    let label = crate::stats::report::direction_label;
    let head = "<tr><th scope=\"col\">{0}</th><th scope=\"col\">Besvart</th><th scope=\"col\">Innen fristen</th>\
                <th scope=\"col\">Vurdert av melderen</th><th scope=\"col\">Median vurdering (1–5)</th></tr>";
    let row = |name: &str, g: &Group| match g.suppressed {
        true => format!("<tr><td>{}</td><td colspan=\"4\">under {}</td></tr>", esc(name), f.suppression_threshold),
        false => format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            g.answered.unwrap_or(0),
            percent(g.within_deadline_share),
            percent(g.rated_share),
            g.median_rating.map_or("–".into(), |m| crate::stats::report::num(Some(m)))
        ),
    };
    let mut page = String::from(
        "<h2>Tilbakemelding</h2><p>Avvik besvart i tertialet: hvor mange som ble besvart innen fristen, hvor mange \
         melderen vurderte («Var tilbakemeldingen nyttig?»), og median vurdering.</p>",
    );
    let directions: std::collections::BTreeSet<&str> =
        f.tertials.iter().flat_map(|t| t.by_direction.iter().map(|g| g.direction.as_str())).collect();
    for d in directions {
        let _ = write!(page, "<table><caption>{}</caption>{}", esc(label(d)), head.replace("{0}", "Tertial"));
        for t in &f.tertials {
            if let Some(g) = t.by_direction.iter().find(|g| g.direction == d) {
                page.push_str(&row(&t.tertial, g));
            }
        }
        page.push_str("</table>");
    }
    if let Some(last) = f.tertials.last().filter(|t| !t.by_recipient.is_empty()) {
        let _ = write!(
            page,
            "<table><caption>Per mottaker, {}</caption>{}",
            esc(&last.tertial),
            head.replace("{0}", "Mottaker")
        );
        for g in &last.by_recipient {
            let name = format!(
                "{} ({})",
                g.recipient_organisation.as_ref().map_or("", |r| r.name.as_str()),
                label(&g.direction)
            );
            page.push_str(&row(&name, g));
        }
        page.push_str("</table>");
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[2, 4, 5]), Some(4.0));
        assert_eq!(median(&[2, 3, 4, 5]), Some(3.5));
    }
}
