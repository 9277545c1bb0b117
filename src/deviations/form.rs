//! The shared form, checked field by field so the reporter sees every problem at once.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::domain::national_id::{contains_national_id, NATIONAL_ID_MESSAGE};
use crate::domain::{Code, DeviationKind, HarmClass, HarmLevel};
use crate::error::{ApiError, FieldError};
use crate::ids::{OrganisationId, UnitId};

pub const DESCRIPTION_MAX: usize = 4000;
pub const TEXT_MAX: usize = 2000;
pub const REFERENCE_MAX: usize = 200;

/// An optional free-text answer on the form. They are stored together (`deviations.details`, a
/// JSON object), checked alike (length, control characters, the national-id guard), shown on the
/// form and the case page in this order, offered in the API under their names, and kept from
/// analysts, statistics, exports and mail. Adding one here and to `openapi.yaml` is the whole
/// change (ARCHITECTURE.md, "A field is one change").
#[derive(Debug, Serialize)]
pub struct Detail {
    pub name: &'static str,
    /// The question on the form.
    pub label: &'static str,
    /// Said under the question, when the question alone is not enough.
    pub help: &'static str,
    /// The heading on the case page.
    pub heading: &'static str,
    pub max: usize,
    /// 1: one line; more: a text area this many rows high.
    pub rows: u8,
}

pub const DETAILS: &[Detail] = &[
    Detail {
        name: "immediate_actions",
        label: "Hva gjorde dere med en gang?",
        help: "",
        heading: "Strakstiltak",
        max: TEXT_MAX,
        rows: 3,
    },
    Detail {
        name: "suggested_improvement",
        label: "Forslag til forbedring",
        help: "",
        heading: "Forslag til forbedring",
        max: TEXT_MAX,
        rows: 3,
    },
    Detail {
        name: "agreement_reference",
        label: "Punkt i samarbeidsavtalen",
        help: "For eksempel «Tjenesteavtale 3, punkt 5.2».",
        heading: "Samarbeidsavtalen",
        max: REFERENCE_MAX,
        rows: 1,
    },
];

/// The optional answers given, by name; blank ones are absent.
pub type Details = BTreeMap<String, String>;

/// Unknown fields are refused in `check`, which knows `DETAILS`; serde cannot deny them and
/// collect the details at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewDeviation {
    pub kind: String,
    pub category: String,
    pub recipient_organisation_id: OrganisationId,
    #[serde(default)]
    pub recipient_unit_id: Option<UnitId>,
    #[serde(default)]
    pub reporting_unit_id: Option<UnitId>,
    pub occurred_at: String,
    #[serde(default)]
    pub discovered_at: Option<String>,
    pub description: String,
    pub harm_class: String,
    #[serde(default)]
    pub harm_level: Option<String>,
    pub handover_related: bool,
    /// The patient's identity, where the deployment takes it (`patients::check`). Never
    /// serialised: the idempotency key remembers its keyed hash instead (`submit::check`).
    #[serde(default, skip_serializing)]
    pub patient: Option<crate::patients::PatientInput>,
    /// The answers of `DETAILS`, and whatever else the client sent (refused by `check`).
    #[serde(flatten)]
    pub details: BTreeMap<String, serde_json::Value>,
}

/// The form after every check that needs no database.
#[derive(Debug, Clone)]
pub struct Form {
    pub kind: DeviationKind,
    pub category: String,
    pub recipient_organisation_id: OrganisationId,
    pub recipient_unit_id: Option<UnitId>,
    pub reporting_unit_id: Option<UnitId>,
    pub occurred_at: String,
    pub discovered_at: Option<String>,
    pub description: String,
    pub harm_class: HarmClass,
    pub harm_level: Option<HarmLevel>,
    pub handover_related: bool,
    pub details: Details,
}

/// Collects field errors so one response can name them all.
#[derive(Default)]
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    pub fn add(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, code, message));
    }

    pub fn into_result<T>(self, value: T) -> Result<T, ApiError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(ApiError::invalid(self.0))
        }
    }

    /// Required free text: trimmed, not blank, at most `max` characters, no national id.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let v = value.trim();
        if v.is_empty() {
            self.add(field, "required", missing(field));
        } else {
            self.check_text(field, v, max);
        }
        v.to_owned()
    }

    /// Optional free text: blank becomes absent.
    pub fn optional_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        let v = value.map(str::trim).filter(|v| !v.is_empty())?;
        self.check_text(field, v, max);
        Some(v.to_owned())
    }

    fn check_text(&mut self, field: &str, v: &str, max: usize) {
        let length = v.chars().count();
        if length > max {
            self.add(field, "too_long", format!("{} kan ha høyst {max} tegn. Nå er det {length}.", named(field)));
        } else if v.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            self.add(field, "invalid_characters", "Teksten inneholder usynlige kontrolltegn. Skriv den inn på nytt.");
        } else if contains_national_id(v) {
            self.add(field, "national_id_in_text", NATIONAL_ID_MESSAGE);
        }
    }

    fn code<T: Code>(&mut self, field: &str, value: &str) -> Option<T> {
        let parsed = T::from_code(value);
        if parsed.is_none() {
            self.add(field, "invalid_value", missing(field));
        }
        parsed
    }
}

/// What to tell the reporter (or the one acting on the case) when a field is left out or holds
/// something the form does not offer: what to do, in the form's own words — never its codes.
pub fn missing(field: &str) -> &'static str {
    match field {
        "kind" => "Velg om du melder et avvik eller foreslår en forbedring.",
        "category" => "Velg hva det gjelder.",
        "recipient_organisation_id" => "Velg hvem avviket gjelder.",
        "occurred_at" => "Skriv når det skjedde.",
        "description" => "Skriv hva som skjedde.",
        "harm_class" => "Velg om pasienten fikk skade.",
        "harm_level" => "Velg hvor alvorlig skaden var.",
        "handover_related" => "Velg om det skjedde ved innleggelse eller utskrivning.",
        "reason" => "Skriv en begrunnelse.",
        "answer" => "Skriv svaret til melderen.",
        "text" => "Skriv kommentaren.",
        "title" => "Skriv en kort tittel, for eksempel «Epikrise mangler ved utskrivning».",
        f if f.starts_with("timeline[") => "Skriv hva som skjedde denne dagen.",
        _ => "Fyll ut feltet.",
    }
}

/// A free-text field as a sentence names it, so a message in the error summary says which one.
fn named(field: &str) -> String {
    let noun = match field {
        "description" => "Beskrivelsen",
        "answer" => "Svaret",
        "actions" => "Tiltakene",
        "reason" => "Begrunnelsen",
        "note" => "Merknaden",
        "text" => "Kommentaren",
        _ => {
            return DETAILS
                .iter()
                .find(|d| d.name == field)
                .map_or("Teksten".into(), |d| format!("Svaret på «{}»", d.label))
        }
    };
    noun.to_owned()
}

/// The date format a person types, shown where a date is wrong.
pub const DATE_EXAMPLE: &str = "Skriv en gyldig dato, for eksempel 27.11.2026.";

/// "2026-03-12", "2026-03-12T14:30" (Norwegian local time, seconds optional) or "12.03.2026" as
/// people type it where the browser offers no date picker.
pub fn parse_when(value: &str) -> Option<(NaiveDate, Option<NaiveDateTime>)> {
    let v = value.trim();
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Some((d, None));
    }
    // Exactly dd.mm.åååå: chrono would also take "1.3.2026", which the contract does not offer.
    if v.len() == 10 && v.as_bytes().get(2) == Some(&b'.') && v.as_bytes().get(5) == Some(&b'.') {
        return NaiveDate::parse_from_str(v, "%d.%m.%Y").ok().map(|d| (d, None));
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(v, f).ok())
        .map(|t| (t.date(), Some(t)))
}

fn normalise_when(errors: &mut Errors, field: &str, value: &str, today: NaiveDate) -> Option<(NaiveDate, String)> {
    match parse_when(value) {
        None if value.trim().is_empty() => {
            errors.add(field, "invalid_date", missing(field));
            None
        }
        None => {
            errors.add(field, "invalid_date", DATE_EXAMPLE);
            None
        }
        Some((date, _)) if date > today => {
            errors.add(field, "in_future", "Datoen kan ikke være fram i tid.");
            None
        }
        Some((date, _)) if date.year() < 2000 => {
            errors.add(field, "too_old", "Datoen er for langt tilbake i tid.");
            None
        }
        Some((date, time)) => Some((date, time.map_or(date.to_string(), |t| t.format("%Y-%m-%dT%H:%M").to_string()))),
    }
}

impl NewDeviation {
    /// Checks everything that needs no database; `today` is the Norwegian date now.
    pub fn check(&self, today: NaiveDate) -> Result<Form, ApiError> {
        let mut e = Errors::default();
        let kind = e.code::<DeviationKind>("kind", &self.kind);
        let harm_class = e.code::<HarmClass>("harm_class", &self.harm_class);
        let harm_level = match (harm_class, self.harm_level.as_deref().filter(|l| !l.is_empty())) {
            (Some(HarmClass::Harm), None) => {
                e.add("harm_level", "required", missing("harm_level"));
                None
            }
            (Some(HarmClass::Harm), Some(level)) => e.code::<HarmLevel>("harm_level", level),
            (_, Some(_)) => {
                e.add("harm_level", "not_applicable", "Alvorlighetsgrad oppgis bare når pasienten fikk skade.");
                None
            }
            (_, None) => None,
        };
        if self.category.trim().is_empty() {
            e.add("category", "required", missing("category"));
        }
        let recipient = self.recipient_organisation_id.non_blank();
        if recipient.is_none() {
            e.add("recipient_organisation_id", "required", missing("recipient_organisation_id"));
        }
        let occurred = normalise_when(&mut e, "occurred_at", &self.occurred_at, today);
        let discovered = self
            .discovered_at
            .as_deref()
            .filter(|v| !v.trim().is_empty())
            .and_then(|v| normalise_when(&mut e, "discovered_at", v, today));
        if let (Some((o, _)), Some((d, _))) = (&occurred, &discovered) {
            if d < o {
                e.add("discovered_at", "before_occurred", "Oppdaget kan ikke være før hendelsen skjedde.");
            }
        }
        let description = e.text("description", &self.description, DESCRIPTION_MAX);
        let details = self.check_details(&mut e);
        let (Some(kind), Some(harm_class), Some((_, occurred_at)), Some(recipient)) =
            (kind, harm_class, occurred, recipient)
        else {
            return Err(ApiError::invalid(e.0));
        };
        let form = Form {
            kind,
            category: self.category.trim().to_owned(),
            recipient_organisation_id: recipient,
            recipient_unit_id: self.recipient_unit_id.as_ref().and_then(UnitId::non_blank),
            reporting_unit_id: self.reporting_unit_id.as_ref().and_then(UnitId::non_blank),
            occurred_at,
            discovered_at: discovered.map(|(_, s)| s),
            description,
            harm_class,
            harm_level,
            handover_related: self.handover_related,
            details,
        };
        e.into_result(form)
    }

    fn check_details(&self, e: &mut Errors) -> Details {
        let mut details = Details::new();
        for (name, value) in &self.details {
            let Some(detail) = DETAILS.iter().find(|d| d.name == name) else {
                e.add(name, "unknown_field", "Feltet er ukjent og kan ikke sendes med.");
                continue;
            };
            match value {
                serde_json::Value::Null => {}
                serde_json::Value::String(text) => {
                    if let Some(text) = e.optional_text(detail.name, Some(text), detail.max) {
                        details.insert(detail.name.to_owned(), text);
                    }
                }
                _ => e.add(detail.name, "invalid_type", "Må være tekst."),
            }
        }
        details
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> NewDeviation {
        NewDeviation {
            kind: "deviation".into(),
            category: "discharge_summary".into(),
            recipient_organisation_id: "org".into(),
            recipient_unit_id: None,
            reporting_unit_id: None,
            occurred_at: "2026-11-20".into(),
            discovered_at: Some("2026-11-21T08:15".into()),
            description: "Pasienten kom hjem uten epikrise.".into(),
            harm_class: "no_harm".into(),
            harm_level: None,
            handover_related: true,
            patient: None,
            details: [("immediate_actions".to_owned(), " ".into())].into(),
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn fields(err: ApiError) -> Vec<(String, String)> {
        err.fields.into_iter().map(|f| (f.field, f.code)).collect()
    }

    #[test]
    fn a_good_form_passes_and_is_normalised() {
        let f = form().check(today()).unwrap();
        assert_eq!(f.occurred_at, "2026-11-20");
        assert_eq!(f.discovered_at.as_deref(), Some("2026-11-21T08:15"));
        assert!(f.details.is_empty(), "blank optional text is absent");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut bad = form();
        bad.kind = "complaint".into();
        bad.description = "  ".into();
        bad.occurred_at = "20/11/2026".into();
        let f = fields(bad.check(today()).unwrap_err());
        assert!(f.contains(&("kind".into(), "invalid_value".into())));
        assert!(f.contains(&("description".into(), "required".into())));
        assert!(f.contains(&("occurred_at".into(), "invalid_date".into())));
    }

    #[test]
    fn harm_level_only_with_harm() {
        let mut f = form();
        f.harm_class = "harm".into();
        assert_eq!(fields(f.check(today()).unwrap_err()), [("harm_level".into(), "required".into())]);
        f.harm_level = Some("severe".into());
        assert_eq!(f.check(today()).unwrap().harm_level, Some(HarmLevel::Severe));
        f.harm_class = "near_miss".into();
        assert_eq!(fields(f.check(today()).unwrap_err()), [("harm_level".into(), "not_applicable".into())]);
    }

    #[test]
    fn dates_cannot_be_in_the_future_or_out_of_order() {
        let mut f = form();
        f.occurred_at = "2026-11-24".into();
        assert_eq!(fields(f.check(today()).unwrap_err()), [("occurred_at".into(), "in_future".into())]);
        f.occurred_at = "2026-11-22".into();
        f.discovered_at = Some("2026-11-21".into());
        assert_eq!(fields(f.check(today()).unwrap_err()), [("discovered_at".into(), "before_occurred".into())]);
    }

    #[test]
    fn too_long_text_is_refused() {
        let mut f = form();
        f.description = "x".repeat(DESCRIPTION_MAX + 1);
        assert_eq!(fields(f.check(today()).unwrap_err()), [("description".into(), "too_long".into())]);
    }

    /// Every message the form can give names what to do in words, never one of its codes.
    #[test]
    fn no_message_of_the_form_shows_a_code() {
        let codes: Vec<&str> = [DeviationKind::ALL.iter().map(|(_, c)| *c).collect::<Vec<_>>()]
            .into_iter()
            .chain([HarmClass::ALL.iter().map(|(_, c)| *c).collect()])
            .chain([HarmLevel::ALL.iter().map(|(_, c)| *c).collect()])
            .flatten()
            .collect();
        let mut bad = form();
        bad.kind = "".into();
        bad.category = " ".into();
        bad.recipient_organisation_id = "".into();
        bad.occurred_at = "".into();
        bad.discovered_at = Some("31.02.2026".into());
        bad.description = "".into();
        bad.harm_class = "skade".into();
        bad.details = [("agreement_reference".to_owned(), "x".repeat(REFERENCE_MAX + 1).into())].into();
        let mut messages: Vec<String> = bad.check(today()).unwrap_err().fields.into_iter().map(|f| f.message).collect();
        let mut harm = form();
        harm.harm_class = "harm".into();
        harm.harm_level = Some("ille".into());
        messages.extend(harm.check(today()).unwrap_err().fields.into_iter().map(|f| f.message));
        messages.extend(
            ["kind", "category", "reason", "answer", "text", "handover_related"].map(|f| missing(f).to_owned()),
        );
        assert!(messages.len() >= 14, "{messages:?}");
        for m in &messages {
            assert!(!m.contains('_') && !codes.iter().any(|c| m.contains(c)), "a code in «{m}»");
            assert!(m.ends_with('.') && m.chars().next().is_some_and(char::is_uppercase), "«{m}»");
        }
    }

    #[test]
    fn dates_are_taken_as_people_type_them() {
        assert_eq!(parse_when("27.11.2026"), Some((NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(), None)));
        assert_eq!(parse_when("1.11.2026"), None, "the contract offers dd.mm.åååå only");
        assert_eq!(parse_when("31.02.2026"), None);
    }

    #[test]
    fn details_are_checked_by_their_definition_and_nothing_else_is_taken() {
        let mut f = form();
        f.details = [
            ("agreement_reference".to_owned(), "x".repeat(REFERENCE_MAX + 1).into()),
            ("suggested_improvement".to_owned(), "  Ring før utskrivning.  ".into()),
            ("immediate_actions".to_owned(), serde_json::Value::Null),
            ("patient_name".to_owned(), "Kari".into()),
            ("is_urgent".to_owned(), true.into()),
        ]
        .into();
        let mut found = fields(f.check(today()).unwrap_err());
        found.sort();
        assert_eq!(
            found,
            [
                ("agreement_reference".into(), "too_long".into()),
                ("is_urgent".into(), "unknown_field".into()),
                ("patient_name".into(), "unknown_field".into()),
            ]
        );
        f.details.retain(|name, _| DETAILS.iter().any(|d| d.name == name));
        f.details.insert("agreement_reference".into(), "Tjenesteavtale 3".into());
        let checked = f.check(today()).unwrap();
        assert_eq!(checked.details.get("suggested_improvement").map(String::as_str), Some("Ring før utskrivning."));
        assert_eq!(checked.details.len(), 2, "null is no answer");
    }
}
