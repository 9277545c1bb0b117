//! Page templates (minijinja, the engine the mails use) and the bokmål labels for codes.

use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::Oslo;
use minijinja::{AutoEscape, Environment, Value};
use serde::Serialize;

use crate::domain::Code;
use crate::error::ApiError;
use crate::stats::report::direction_label;

const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("templates/layout.html")),
    ("macros.html", include_str!("templates/macros.html")),
    ("error.html", include_str!("templates/error.html")),
    ("login.html", include_str!("templates/login.html")),
    ("form.html", include_str!("templates/form.html")),
    ("list.html", include_str!("templates/list.html")),
    ("detail.html", include_str!("templates/detail.html")),
    ("statistics.html", include_str!("templates/statistics.html")),
    ("integration.html", include_str!("templates/integration.html")),
    ("analyses.html", include_str!("templates/analyses.html")),
    ("analysis_new.html", include_str!("templates/analysis_new.html")),
    ("analysis.html", include_str!("templates/analysis.html")),
    ("actions.html", include_str!("templates/actions.html")),
    ("action.html", include_str!("templates/action.html")),
    ("learning.html", include_str!("templates/learning.html")),
    ("learning_note.html", include_str!("templates/learning_note.html")),
    ("profile.html", include_str!("templates/profile.html")),
    ("unsubscribe.html", include_str!("templates/unsubscribe.html")),
];

// The templates are compiled into the binary and parsed by a unit test, so a parse failure here
// cannot reach a build; failing loudly at the first render beats serving half a page.
#[allow(clippy::expect_used)]
static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    for (name, source) in TEMPLATES {
        // Checked by a unit test; a template that does not parse never reaches a build.
        env.add_template(name, source).expect("page template parses");
    }
    env.add_filter("label", |code: Option<String>, group: String| code.map(|c| label(&group, &c).to_owned()));
    env.add_filter("date", |v: Option<String>| v.map(|v| date(&v)));
    env.add_filter("when", |v: Option<String>| v.map(|v| when(&v)));
    env.add_function("days", |v: Option<f64>| v.map_or("–".to_owned(), |v| decimal(v, 1)));
    env.add_function("change", |v: f64| format!("{}{} %", if v > 0.0 { "+" } else { "" }, decimal(v, 1)));
    env
});

pub fn render(name: &str, context: impl Serialize) -> Result<String, ApiError> {
    ENV.get_template(name)
        .and_then(|t| t.render(Value::from_serialize(&context)))
        .map_err(|e| ApiError::internal(anyhow::anyhow!("rendering {name}: {e:#}")))
}

pub fn error_page(title: &str, message: &str, chrome: Option<&super::Chrome>) -> String {
    render("error.html", minijinja::context! { title, message, viewer => chrome })
        .unwrap_or_else(|_| format!("<!doctype html><title>Feil</title><p>{title}</p>"))
}

/// 2.5 → "2,5": Norwegian decimal comma.
pub fn decimal(value: f64, places: usize) -> String {
    format!("{value:.places$}").replace('.', ",")
}

/// 2026-11-23 → 23.11.2026.
pub fn date(value: &str) -> String {
    NaiveDate::parse_from_str(value.get(..10).unwrap_or(value), "%Y-%m-%d")
        .map_or_else(|_| value.to_owned(), |d| d.format("%d.%m.%Y").to_string())
}

/// An instant as Norwegian wall-clock time: 23.11.2026 kl. 14.05.
pub fn when(value: &str) -> String {
    DateTime::parse_from_rfc3339(value).map_or_else(
        |_| value.to_owned(),
        |t| t.with_timezone(&Utc).with_timezone(&Oslo).format("%d.%m.%Y kl. %H.%M").to_string(),
    )
}

/// The bokmål label of a code; unknown codes show as they are rather than vanish.
pub fn label<'a>(group: &str, code: &'a str) -> &'a str {
    let found = match (group, code) {
        ("status", "submitted") => "Sendt",
        ("status", "in_progress") => "Under behandling",
        ("status", "answered") => "Besvart",
        ("status", "closed") => "Lukket",
        ("status", "rejected") => "Avvist",
        ("kind", "deviation") => "Avvik",
        ("kind", "improvement_proposal") => "Forbedringsforslag",
        ("harm_class", "harm") => "Pasienten fikk skade",
        ("harm_class", "no_harm") => "Hendelse uten skade",
        ("harm_class", "near_miss") => "Nesten-hendelse (oppdaget før den nådde pasienten)",
        ("harm_class", "unsafe_condition") => "Risikoforhold (ingen bestemt hendelse)",
        ("harm_level", "low") => "Liten",
        ("harm_level", "moderate") => "Moderat",
        ("harm_level", "severe") => "Alvorlig",
        ("harm_level", "death") => "Dødsfall",
        ("event", "submitted") => "Sendt",
        ("event", "acknowledged") => "Mottak bekreftet",
        ("event", "forwarded") => "Videresendt",
        ("event", "rejected") => "Avvist",
        ("event", "answered") => "Besvart",
        ("event", "closed") => "Lukket",
        ("event", "auto_closed") => "Lukket automatisk",
        ("event", "patient_identity_erased") => "Pasientidentitet slettet",
        ("event", "analysis_linked") => "Inngår i hendelsesanalyse",
        ("reveal_reason", "investigation") => "For å undersøke saken",
        ("reveal_reason", "answer") => "For å svare melderen",
        ("reveal_reason", "analysis") => "Til hendelsesanalyse",
        ("reveal_reason", "other") => "Annet",
        ("event", "reopened") => "Gjenåpnet",
        ("analysis_event", "created") => "Opprettet",
        ("analysis_event", "edited") => "Innholdet endret",
        ("analysis_event", "deviation_linked") => "Avvik lagt til",
        ("analysis_event", "participant_added") => "Deltaker lagt til",
        ("analysis_event", "factor_added") => "Faktor lagt til",
        ("analysis_event", "status_changed") => "Status endret",
        ("analysis_status", code) => crate::domain::analysis::AnalysisStatus::from_code(code).map_or("", |s| s.label()),
        ("action_status", code) => crate::domain::action::ActionStatus::from_code(code).map_or("", |s| s.label()),
        ("action_move", "in_progress") => "Sett i gang",
        ("action_move", "done") => "Meld gjennomført",
        ("action_move", "dropped") => "Dropp tiltaket",
        ("event", "commented") => "Kommentar",
        ("action", "acknowledge") => "Bekreft mottak",
        ("action", "forward") => "Videresend",
        ("action", "reject") => "Avvis",
        ("action", "answer") => "Svar",
        ("action", "close") => "Lukk",
        ("action", "reopen") => "Gjenåpne",
        ("action", "comment") => "Kommenter",
        ("direction", code) => direction_label(code),
        _ => "",
    };
    if found.is_empty() {
        code
    } else {
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        for (name, _) in TEMPLATES {
            assert!(ENV.get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn dates_and_times_read_the_norwegian_way() {
        assert_eq!(date("2026-11-23"), "23.11.2026");
        assert_eq!(when("2026-07-01T12:05:00Z"), "01.07.2026 kl. 14.05");
        assert_eq!(when("2026-12-01T12:05:00Z"), "01.12.2026 kl. 13.05");
        assert_eq!(label("status", "in_progress"), "Under behandling");
        assert_eq!(label("status", "new_code"), "new_code");
    }
}
