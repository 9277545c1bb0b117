//! One row of an export → one deviation, or the reason it is refused: its line, its column and a
//! sentence an administrator can act on. A value is shown back only when it cannot hold a
//! fødselsnummer.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Europe::Oslo;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::mapping::{self, Mapping};
use super::read::Row;
use crate::db::deviations::DeviationRow;
use crate::db::organisations::OrganisationRow;
use crate::db::units::UnitRow;
use crate::deviations::form::{parse_when, DESCRIPTION_MAX};
use crate::domain::calendar::{add_working_days, oslo_midnight_utc, working_days_between};
use crate::domain::national_id::contains_national_id;
use crate::domain::{Code, DeviationKind, Direction, OrganisationKind, Status};
use crate::ids::{DeviationId, OrganisationId, UnitId, UserId};

pub const SOURCE_ID_MAX: usize = 200;
/// What an imported deviation says when the export's text was left behind.
pub const WITHOUT_DESCRIPTION: &str = "Importert uten beskrivelse.";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Refusal {
    pub line: u64,
    /// The column as the file's header names it; none when the row as a whole is refused.
    pub column: Option<String>,
    pub code: String,
    pub reason: String,
    /// For an unknown category: the closest unified codes.
    #[serde(default)]
    pub suggestions: Vec<String>,
}

/// A row ready to insert but for its reporter and reference, which the import gives it.
pub struct Prepared {
    pub source_id: String,
    pub year: i32,
    pub row: DeviationRow,
}

/// What the rows are resolved against, read once per import.
pub struct Lookup {
    pub organisations: Vec<OrganisationRow>,
    pub units: Vec<UnitRow>,
    /// (code, label, description) of the active categories.
    pub categories: Vec<(String, String, String)>,
    pub acknowledge_working_days: u32,
    pub answer_working_days: u32,
    pub today: NaiveDate,
    pub now: NaiveDateTime,
}

pub struct Converter<'a> {
    mapping: &'a Mapping,
    lookup: &'a Lookup,
    columns: HashMap<&'static str, (usize, String)>,
    without_description: bool,
    by_number: HashMap<String, usize>,
    by_name: HashMap<String, usize>,
    units: HashMap<(OrganisationId, String), UnitId>,
}

fn key(s: &str) -> String {
    s.trim().to_lowercase()
}

/// Shown back in a reason: short, and never what could be a fødselsnummer.
fn shown(value: &str) -> String {
    if contains_national_id(value) {
        return "(verdi skjult: ser ut som et fødselsnummer)".into();
    }
    let v: String = value.trim().chars().take(60).collect();
    format!("«{v}»")
}

impl<'a> Converter<'a> {
    /// Every column the mapping names must be in the header; all missing ones are named at once.
    pub fn new(
        mapping: &'a Mapping,
        lookup: &'a Lookup,
        headers: &[String],
        without_description: bool,
    ) -> Result<Self, Vec<String>> {
        let mut columns = HashMap::new();
        let mut missing = Vec::new();
        for (field, column) in mapping.columns.named() {
            match headers.iter().position(|h| key(h) == key(column)) {
                Some(i) => {
                    columns.insert(field, (i, column.to_owned()));
                }
                None => missing.push(format!(
                    "Kolonnen «{column}» ({field}) finnes ikke i filen. Kolonnene er: {}.",
                    headers.iter().map(|h| format!("«{h}»")).collect::<Vec<_>>().join(", ")
                )),
            }
        }
        let codes: Vec<&str> = lookup.categories.iter().map(|(c, _, _)| c.as_str()).collect();
        for (local, code) in &mapping.categories {
            if !codes.contains(&code.as_str()) {
                missing.push(format!("[categories] «{local}» = «{code}»: ingen aktiv kategori har den koden."));
            }
        }
        if !missing.is_empty() {
            return Err(missing);
        }
        let by_number = lookup.organisations.iter().enumerate().map(|(i, o)| (o.org_number.clone(), i)).collect();
        let by_name = lookup.organisations.iter().enumerate().map(|(i, o)| (key(&o.name), i)).collect();
        let units = lookup.units.iter().map(|u| ((u.organisation_id.clone(), key(&u.name)), u.id.clone())).collect();
        Ok(Self { mapping, lookup, columns, without_description, by_number, by_name, units })
    }

    fn cell<'r>(&self, row: &'r Row, field: &str) -> Option<&'r str> {
        let (i, _) = self.columns.get(field)?;
        row.cells.get(*i).map(|c| c.trim()).filter(|c| !c.is_empty())
    }

    fn refuse(&self, row: &Row, field: &str, code: &'static str, reason: String) -> Refusal {
        let column = self.columns.get(field).map(|(_, name)| name.clone());
        Refusal { line: row.line, column, code: code.into(), reason, suggestions: Vec::new() }
    }

    pub fn convert(&self, row: &Row) -> Result<Prepared, Refusal> {
        if let Some(i) = row.undecodable {
            let column = self.columns.values().find(|(c, _)| *c == i).map(|(_, n)| n.clone());
            return Err(Refusal {
                line: row.line,
                column,
                code: "invalid_encoding".into(),
                reason: "Cellen har tegn som ikke er gyldig UTF-8; oppgi file.encoding = \"windows-1252\" i mappingen."
                    .into(),
                suggestions: Vec::new(),
            });
        }
        let source_id = match (self.columns.contains_key("source_id"), self.cell(row, "source_id")) {
            (true, None) => {
                return Err(self.refuse(row, "source_id", "missing", "Raden mangler id i kildesystemet.".into()))
            }
            (true, Some(v)) if contains_national_id(v) => {
                return Err(self.refuse(row, "source_id", "national_id", "Id-en ser ut som et fødselsnummer.".into()))
            }
            (true, Some(v)) if v.chars().count() > SOURCE_ID_MAX => {
                return Err(self.refuse(
                    row,
                    "source_id",
                    "too_long",
                    format!("Id-en er lengre enn {SOURCE_ID_MAX} tegn."),
                ))
            }
            (true, Some(v)) => v.to_owned(),
            // No id column (a paper list): the row's own content is its id, so the same row twice is one.
            (false, _) => hex::encode(Sha256::digest(row.cells.join("\u{1f}").as_bytes())),
        };
        let occurred = self
            .date(row, "occurred_at")?
            .ok_or_else(|| self.refuse(row, "occurred_at", "missing", "Raden mangler dato for hendelsen.".into()))?;
        let reported = self.date(row, "reported_at")?.unwrap_or(occurred);
        if reported.0 < occurred.0 {
            return Err(self.refuse(row, "reported_at", "before_occurred", "Meldt dato er før hendelsen.".into()));
        }
        let later = |field: &str| -> Result<Option<(NaiveDate, Option<NaiveDateTime>)>, Refusal> {
            match self.date(row, field)? {
                Some(d) if d.0 < reported.0 => {
                    Err(self.refuse(row, field, "before_reported", "Datoen er før avviket ble meldt.".into()))
                }
                d => Ok(d),
            }
        };
        let (acknowledged, answered, closed) = (later("acknowledged_at")?, later("answered_at")?, later("closed_at")?);
        let category = self.category(row)?;
        let kind = self.coded(row, "kind", &self.mapping.kinds, self.mapping.defaults.kind.as_deref(), |v| {
            DeviationKind::from_code(v).map(|_| v.to_owned())
        })?;
        let kind = kind.unwrap_or_else(|| DeviationKind::Deviation.code().to_owned());
        let harm = self.coded(
            row,
            "harm_class",
            &self.mapping.harm_classes,
            self.mapping.defaults.harm_class.as_deref(),
            |v| mapping::harm(v).map(|_| v.to_owned()),
        )?;
        let Some((harm_class, harm_level)) = harm.as_deref().and_then(mapping::harm) else {
            return Err(self.refuse(
                row,
                "harm_class",
                "missing",
                "Raden mangler skadegrad; oppgi kolonnen eller defaults.harm_class i mappingen.".into(),
            ));
        };
        let status =
            self.coded(row, "status", &self.mapping.statuses, self.mapping.defaults.status.as_deref(), |v| {
                Status::from_code(v).map(|_| v.to_owned())
            })?;
        let status = status.unwrap_or_else(|| if closed.is_some() { "closed" } else { "submitted" }.to_owned());
        if matches!(status.as_str(), "closed" | "rejected") && closed.is_none() {
            let field = if self.columns.contains_key("closed_at") { "closed_at" } else { "status" };
            return Err(self.refuse(row, field, "missing", "Saken er lukket, men raden mangler lukkedato.".into()));
        }
        let from =
            self.organisation(row, "reporting_organisation", self.mapping.defaults.reporting_organisation.as_deref())?;
        let to =
            self.organisation(row, "recipient_organisation", self.mapping.defaults.recipient_organisation.as_deref())?;
        if from.id == to.id {
            return Err(self.refuse(
                row,
                "recipient_organisation",
                "same_organisation",
                "Melder og mottaker er samme organisasjon; det er ikke et samhandlingsavvik.".into(),
            ));
        }
        let reporting_unit = self.unit(row, "reporting_unit", &from.id)?;
        let recipient_unit = self.unit(row, "recipient_unit", &to.id)?;
        let description = self.description(row)?;
        let kind_of = |o: &OrganisationRow| OrganisationKind::from_code(&o.kind).unwrap_or(OrganisationKind::Other);
        let received = at(reported);
        let received_on = reported.0;
        let (acknowledge_due, answer_due) = (
            add_working_days(received_on, self.lookup.acknowledge_working_days),
            add_working_days(received_on, self.lookup.answer_working_days),
        );
        let days =
            |d: Option<(NaiveDate, Option<NaiveDateTime>)>| d.map(|d| working_days_between(received_on, d.0) as i32);
        let row = DeviationRow {
            id: DeviationId::generate(),
            reference: String::new().into(),
            kind,
            category,
            status,
            direction: Direction::between(kind_of(from), kind_of(to)).code().to_owned(),
            reporter_id: UserId::from(""),
            reporting_organisation_id: from.id.clone(),
            reporting_unit_id: reporting_unit,
            recipient_organisation_id: to.id.clone(),
            recipient_unit_id: recipient_unit,
            health_community_id: from
                .health_community_id
                .clone()
                .unwrap_or_else(crate::db::health_communities::default_id),
            handler_id: None,
            occurred_at: occurred.1.map_or(occurred.0.to_string(), |t| t.format("%Y-%m-%dT%H:%M").to_string()),
            discovered_at: None,
            description,
            harm_class: harm_class.code().to_owned(),
            harm_level: harm_level.map(|l| l.code().to_owned()),
            handover_related: false,
            answer: None,
            answer_actions: None,
            // Counted by the day it happened: the export's registration date may be years later.
            submitted_at: at(occurred),
            received_at: received,
            acknowledged_at: acknowledged.map(at),
            answered_at: answered.map(at),
            closed_at: closed.map(at),
            acknowledge_due: acknowledge_due.to_string(),
            answer_due: answer_due.to_string(),
            updated_at: self.lookup.now,
            acknowledge_days: days(acknowledged),
            answer_days: days(answered),
            answered_on_time: answered.map(|a| a.0 <= answer_due),
            details: "{}".into(),
            reported_category: None,
            // History starts no deadlines and no reminders.
            next_reminder_on: None,
            source_system: Some(self.mapping.source_system.clone()),
            source_id: Some(source_id.clone()),
        };
        Ok(Prepared { source_id, year: chrono::Datelike::year(&occurred.0), row })
    }

    fn date(&self, row: &Row, field: &str) -> Result<Option<(NaiveDate, Option<NaiveDateTime>)>, Refusal> {
        let Some(v) = self.cell(row, field) else { return Ok(None) };
        let parsed = parse_when(v).or_else(|| {
            self.mapping.date_formats.iter().find_map(|f| {
                if f.contains("%H") {
                    NaiveDateTime::parse_from_str(v, f).ok().map(|t| (t.date(), Some(t)))
                } else {
                    NaiveDate::parse_from_str(v, f).ok().map(|d| (d, None))
                }
            })
        });
        match parsed {
            None => Err(self.refuse(
                row,
                field,
                "invalid_date",
                format!(
                    "Datoen {} finnes ikke, eller er skrevet på en måte mappingen ikke kjenner (date_formats).",
                    shown(v)
                ),
            )),
            Some((d, _)) if d > self.lookup.today => {
                Err(self.refuse(row, field, "in_future", format!("Datoen {} er fram i tid.", shown(v))))
            }
            Some((d, _)) if chrono::Datelike::year(&d) < 2000 => {
                Err(self.refuse(row, field, "too_old", format!("Datoen {} er før år 2000.", shown(v))))
            }
            Some(d) => Ok(Some(d)),
        }
    }

    fn category(&self, row: &Row) -> Result<String, Refusal> {
        let v = self.cell(row, "category").unwrap_or_default();
        let known = |c: &str| self.lookup.categories.iter().any(|(code, _, _)| code == c);
        if let Some(code) = self.mapping.categories.get(v).filter(|c| known(c)) {
            return Ok(code.clone());
        }
        if let Some((code, _, _)) =
            self.lookup.categories.iter().find(|(code, label, _)| code == v || key(label) == key(v))
        {
            return Ok(code.clone());
        }
        let mut refusal = if v.is_empty() {
            self.refuse(row, "category", "missing", "Raden mangler kategori.".into())
        } else {
            self.refuse(
                row,
                "category",
                "unknown_category",
                format!("Ukjent kategori {}; legg den inn under [categories] i mappingen.", shown(v)),
            )
        };
        if !contains_national_id(v) {
            refusal.suggestions = closest_categories(v, &self.lookup.categories);
        }
        Err(refusal)
    }

    /// A value through its table, or a code as it is, or the default when the cell is empty.
    fn coded(
        &self,
        row: &Row,
        field: &str,
        table: &std::collections::BTreeMap<String, String>,
        default: Option<&str>,
        code: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<String>, Refusal> {
        match self.cell(row, field) {
            None => Ok(default.map(str::to_owned)),
            Some(v) => table.get(v).cloned().or_else(|| code(v)).map(Some).ok_or_else(|| {
                self.refuse(
                    row,
                    field,
                    "unknown_value",
                    format!("Verdien {} kjennes ikke; legg den inn i mappingen.", shown(v)),
                )
            }),
        }
    }

    fn organisation(&self, row: &Row, field: &str, default: Option<&str>) -> Result<&OrganisationRow, Refusal> {
        let Some(v) = self.cell(row, field).or(default) else {
            return Err(self.refuse(row, field, "missing", "Raden mangler organisasjon.".into()));
        };
        let target = self.mapping.organisations.get(v).map_or(v, String::as_str);
        let digits: String = target.chars().filter(|c| !c.is_whitespace()).collect();
        let found = if digits.len() == 9 && digits.chars().all(|c| c.is_ascii_digit()) {
            self.by_number.get(&digits)
        } else {
            self.by_name.get(&key(target))
        };
        found.and_then(|i| self.lookup.organisations.get(*i)).ok_or_else(|| {
            self.refuse(
                row,
                field,
                "unknown_organisation",
                format!(
                    "Organisasjonen {} finnes ikke i samavvik; legg den inn under [organisations] med organisasjonsnummer.",
                    shown(v)
                ),
            )
        })
    }

    fn unit(&self, row: &Row, field: &str, organisation: &OrganisationId) -> Result<Option<UnitId>, Refusal> {
        let Some(v) = self.cell(row, field) else { return Ok(None) };
        let target = self.mapping.units.get(v).map_or(v, String::as_str);
        if target.trim().is_empty() {
            return Ok(None);
        }
        self.units.get(&(organisation.clone(), key(target))).cloned().map(Some).ok_or_else(|| {
            self.refuse(
                row,
                field,
                "unknown_unit",
                format!(
                    "Enheten {} finnes ikke hos organisasjonen; legg den inn under [units] (\"\" for ingen enhet).",
                    shown(v)
                ),
            )
        })
    }

    fn description(&self, row: &Row) -> Result<String, Refusal> {
        if self.without_description || !self.columns.contains_key("description") {
            return Ok(WITHOUT_DESCRIPTION.into());
        }
        let Some(v) = self.cell(row, "description") else { return Ok(WITHOUT_DESCRIPTION.into()) };
        if contains_national_id(v) {
            return Err(self.refuse(
                row,
                "description",
                "national_id",
                "Teksten ser ut til å inneholde et fødselsnummer eller D-nummer. Raden er ikke importert; rett den i kilden eller importer uten fritekst (--without-description).".into(),
            ));
        }
        let text: String = v
            .replace("\r\n", "\n")
            .chars()
            .map(|c| if c.is_control() && c != '\n' && c != '\t' { ' ' } else { c })
            .collect();
        if text.chars().count() > DESCRIPTION_MAX {
            return Err(self.refuse(
                row,
                "description",
                "too_long",
                format!("Beskrivelsen er lengre enn {DESCRIPTION_MAX} tegn."),
            ));
        }
        Ok(text)
    }
}

/// A Norwegian date (and time) as the UTC instant stored: midday when there is no time, so the
/// day stays the day in any zone.
fn at((date, time): (NaiveDate, Option<NaiveDateTime>)) -> NaiveDateTime {
    match time {
        Some(t) => Oslo.from_local_datetime(&t).earliest().map(|t| t.naive_utc()).unwrap_or(t),
        None => oslo_midnight_utc(date) + Duration::hours(12),
    }
}

/// The unified categories whose code, name or description share the longest word beginnings with
/// a local label ("Medisinering" → medication, whose description speaks of medisinering), best first.
pub fn closest_categories(label: &str, categories: &[(String, String, String)]) -> Vec<String> {
    let words = |s: &str| -> Vec<String> {
        s.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() >= 3).map(str::to_owned).collect()
    };
    let common = |a: &str, b: &str| a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let asked = words(label);
    let mut scored: Vec<(usize, &String)> = categories
        .iter()
        .map(|(code, name, description)| {
            let theirs = words(&format!("{} {name} {description}", code.replace('_', " ")));
            let score =
                asked.iter().map(|a| theirs.iter().map(|t| common(a, t)).filter(|n| *n >= 4).max().unwrap_or(0)).sum();
            (score, code)
        })
        .filter(|(s, _)| *s > 0)
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    scored.into_iter().take(3).map(|(_, c)| c.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn categories() -> Vec<(String, String, String)> {
        [
            ("medication", "Legemidler og legemiddelliste", "Legemiddellisten manglet eller var feil, resepter eller legemidler manglet, eller endret medisinering ble ikke forklart."),
            ("discharge_summary", "Epikrise og sykepleiesammenfatning", "Epikrisen, sykepleiesammenfatningen eller annen dokumentasjon manglet."),
            ("availability", "Fikk ikke tak i noen", "Det var vanskelig å nå riktig person eller avdeling, for eksempel på telefon."),
        ]
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
    }

    #[test]
    fn an_unknown_label_is_matched_to_the_categories_that_speak_of_it() {
        assert_eq!(closest_categories("Medisinering", &categories()), ["medication"]);
        assert_eq!(closest_categories("Manglende epikrise", &categories()).first().unwrap(), "discharge_summary");
        assert_eq!(closest_categories("Telefonkontakt", &categories()), ["availability"]);
        assert!(closest_categories("xyz", &categories()).is_empty());
    }

    #[test]
    fn a_value_that_could_be_a_national_id_is_never_shown() {
        assert_eq!(shown("Medisinering"), "«Medisinering»");
        assert!(!shown("01017000027").contains("0101"));
    }
}
