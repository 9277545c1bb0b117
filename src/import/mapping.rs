//! The mapping file: which column of a quality system's export is which field, how its own labels
//! map to the unified codes, and how its dates are written. TOML, written by hand or started by
//! `samavvik import --suggest-mapping`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde::Deserialize;

use super::read::Table;
use crate::domain::{Code, DeviationKind, HarmClass, HarmLevel, Status};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The system the rows come from ("EQS St. Olav"): with each row's id there, what makes a
    /// second import of the same row add nothing.
    pub source_system: String,
    #[serde(default)]
    pub file: FileOptions,
    pub columns: Columns,
    /// chrono formats tried after ISO (`2019-03-31`, `2019-03-31 14:30`), e.g. "%d.%m.%Y".
    #[serde(default = "default_date_formats")]
    pub date_formats: Vec<String>,
    #[serde(default)]
    pub defaults: Defaults,
    /// Local label → unified category code.
    #[serde(default)]
    pub categories: BTreeMap<String, String>,
    #[serde(default)]
    pub kinds: BTreeMap<String, String>,
    /// Local label → `harm`, `no_harm`, `near_miss`, `unsafe_condition`, or `harm:moderate` (with level).
    #[serde(default)]
    pub harm_classes: BTreeMap<String, String>,
    #[serde(default)]
    pub statuses: BTreeMap<String, String>,
    /// Local name → organisation number or name in samavvik.
    #[serde(default)]
    pub organisations: BTreeMap<String, String>,
    /// Local name → unit name in samavvik; "" imports without a unit.
    #[serde(default)]
    pub units: BTreeMap<String, String>,
}

fn default_date_formats() -> Vec<String> {
    ["%d.%m.%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%y"].iter().map(|s| s.to_string()).collect()
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileOptions {
    /// `;`, `,` or tab; found from the header line when absent.
    pub delimiter: Option<char>,
    /// `utf-8` or `windows-1252`; found from the bytes when absent.
    pub encoding: Option<String>,
    /// The XLSX sheet; the first when absent.
    pub sheet: Option<String>,
    /// Rows before the header (a title line).
    #[serde(default)]
    pub skip_rows: usize,
    /// Header rows; with more than one a column is named by its non-empty header cells joined by
    /// " / " (a merged group header counts for every column under it).
    pub header_rows: Option<usize>,
}

impl FileOptions {
    pub fn header_rows(&self) -> usize {
        self.header_rows.unwrap_or(1).max(1)
    }
}

/// Column names as the export's header has them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    pub source_id: Option<String>,
    pub occurred_at: String,
    pub reported_at: Option<String>,
    pub reporting_organisation: Option<String>,
    pub reporting_unit: Option<String>,
    pub recipient_organisation: Option<String>,
    pub recipient_unit: Option<String>,
    pub category: String,
    pub kind: Option<String>,
    pub harm_class: Option<String>,
    pub status: Option<String>,
    pub acknowledged_at: Option<String>,
    pub answered_at: Option<String>,
    pub closed_at: Option<String>,
    pub description: Option<String>,
}

impl Columns {
    /// (field, column) for every column the mapping names.
    pub fn named(&self) -> Vec<(&'static str, &str)> {
        let optional = [
            ("source_id", &self.source_id),
            ("reported_at", &self.reported_at),
            ("reporting_organisation", &self.reporting_organisation),
            ("reporting_unit", &self.reporting_unit),
            ("recipient_organisation", &self.recipient_organisation),
            ("recipient_unit", &self.recipient_unit),
            ("kind", &self.kind),
            ("harm_class", &self.harm_class),
            ("status", &self.status),
            ("acknowledged_at", &self.acknowledged_at),
            ("answered_at", &self.answered_at),
            ("closed_at", &self.closed_at),
            ("description", &self.description),
        ];
        let mut out = vec![("occurred_at", self.occurred_at.as_str()), ("category", self.category.as_str())];
        out.extend(optional.into_iter().filter_map(|(f, c)| c.as_deref().map(|c| (f, c))));
        out
    }
}

/// What a row gets when the export has no such column (one organisation's own export: it is
/// always the reporter, or always the recipient).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    pub reporting_organisation: Option<String>,
    pub recipient_organisation: Option<String>,
    pub kind: Option<String>,
    pub harm_class: Option<String>,
    pub status: Option<String>,
}

/// A mapping that cannot be used: each problem in a sentence, all at once.
#[derive(Debug)]
pub struct MappingErrors(pub Vec<String>);

impl std::fmt::Display for MappingErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

pub fn parse(text: &str) -> Result<Mapping, MappingErrors> {
    let mapping: Mapping = toml::from_str(text).map_err(|e| MappingErrors(vec![format!("Mappingfilen: {e}")]))?;
    mapping.checked()
}

/// A harm value: `harm`, `harm:moderate`, `no_harm`, …
pub fn harm(value: &str) -> Option<(HarmClass, Option<HarmLevel>)> {
    match value.split_once(':') {
        Some((class, level)) => Some((HarmClass::from_code(class)?, Some(HarmLevel::from_code(level)?)))
            .filter(|(c, _)| *c == HarmClass::Harm),
        None => HarmClass::from_code(value).map(|c| (c, None)),
    }
}

impl Mapping {
    /// The codes it maps to exist; what it says of the file makes sense. Categories are checked
    /// against the database when the import starts.
    fn checked(self) -> Result<Self, MappingErrors> {
        let mut errors = Vec::new();
        if self.source_system.trim().is_empty() || self.source_system.chars().count() > 100 {
            errors.push("source_system må ha et navn (høyst 100 tegn), for eksempel \"EQS St. Olav\".".into());
        }
        if let Some(d) = self.file.delimiter {
            if ![';', ',', '\t'].contains(&d) {
                errors.push("file.delimiter må være \";\", \",\" eller \"\\t\".".into());
            }
        }
        if let Some(e) = &self.file.encoding {
            if encoding(e).is_none() {
                errors.push(format!("file.encoding «{e}» kjennes ikke; bruk \"utf-8\" eller \"windows-1252\"."));
            }
        }
        let mut bad = |table: &str, values: &BTreeMap<String, String>, ok: &dyn Fn(&str) -> bool, allowed: String| {
            for (local, code) in values {
                if !ok(code) {
                    errors.push(format!("[{table}] «{local}» = «{code}»: bruk en av {allowed}."));
                }
            }
        };
        bad("kinds", &self.kinds, &|c| DeviationKind::from_code(c).is_some(), DeviationKind::allowed());
        bad("statuses", &self.statuses, &|c| Status::from_code(c).is_some(), Status::allowed());
        bad(
            "harm_classes",
            &self.harm_classes,
            &|c| harm(c).is_some(),
            format!("{} (harm med nivå: harm:{})", HarmClass::allowed(), HarmLevel::allowed()),
        );
        if let Some(v) = self.defaults.kind.as_deref().filter(|v| DeviationKind::from_code(v).is_none()) {
            errors.push(format!("defaults.kind «{v}»: bruk {}.", DeviationKind::allowed()));
        }
        if let Some(v) = self.defaults.status.as_deref().filter(|v| Status::from_code(v).is_none()) {
            errors.push(format!("defaults.status «{v}»: bruk {}.", Status::allowed()));
        }
        if let Some(v) = self.defaults.harm_class.as_deref().filter(|v| harm(v).is_none()) {
            errors.push(format!("defaults.harm_class «{v}»: bruk {}.", HarmClass::allowed()));
        }
        if self.columns.reporting_organisation.is_none() && self.defaults.reporting_organisation.is_none() {
            errors.push("Oppgi columns.reporting_organisation eller defaults.reporting_organisation.".into());
        }
        if self.columns.recipient_organisation.is_none() && self.defaults.recipient_organisation.is_none() {
            errors.push("Oppgi columns.recipient_organisation eller defaults.recipient_organisation.".into());
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(MappingErrors(errors))
        }
    }
}

pub fn encoding(name: &str) -> Option<&'static encoding_rs::Encoding> {
    match name.to_ascii_lowercase().replace('_', "-").as_str() {
        "utf-8" | "utf8" => Some(encoding_rs::UTF_8),
        "windows-1252" | "cp1252" | "latin1" | "iso-8859-1" => Some(encoding_rs::WINDOWS_1252),
        _ => None,
    }
}

/// How a header names a field, by the words exports use (lower case, any part of the name).
const GUESSES: &[(&str, &[&str])] = &[
    ("source_id", &["avviksnr", "avviks-id", "saksnr", "løpenr", "id"]),
    ("occurred_at", &["hendelsesdato", "dato for hendelse", "hendelse", "skjedde"]),
    ("reported_at", &["meldt dato", "registrert", "meldt"]),
    ("reporting_organisation", &["meldt av", "avsender", "fra"]),
    ("recipient_organisation", &["mottaker", "gjelder", "til"]),
    ("recipient_unit", &["avdeling", "enhet", "post"]),
    ("category", &["kategori", "type avvik", "årsak"]),
    ("kind", &["meldingstype", "type"]),
    ("harm_class", &["alvorlighet", "skadegrad", "konsekvens"]),
    ("status", &["status"]),
    ("closed_at", &["lukket", "avsluttet"]),
    ("description", &["beskrivelse", "hva skjedde", "fritekst"]),
];

/// A starting mapping from the header and the distinct values found: every field with the column
/// that looks like it, and the value tables with each local label found, to be filled in.
pub fn suggest(table: Table, file_name: &str, categories: &[(String, String, String)]) -> String {
    let headers = table.headers.clone();
    let mut taken = BTreeSet::new();
    let mut guess = BTreeMap::new();
    for (field, words) in GUESSES {
        let found = words
            .iter()
            .find_map(|w| headers.iter().enumerate().find(|(i, h)| !taken.contains(i) && h.to_lowercase().contains(w)));
        if let Some((i, h)) = found {
            taken.insert(i);
            guess.insert(*field, (i, h.clone()));
        }
    }
    let mut distinct: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for row in table.rows.take(100_000).flatten() {
        for field in ["category", "kind", "harm_class", "status", "reporting_organisation", "recipient_organisation"] {
            if let Some((i, _)) = guess.get(field) {
                let v = row.cells.get(*i).map(|c| c.trim().to_owned()).unwrap_or_default();
                let set = distinct.entry(field).or_default();
                if !v.is_empty() && set.len() < 200 && !crate::domain::national_id::contains_national_id(&v) {
                    set.insert(v);
                }
            }
        }
    }
    let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut out = String::new();
    let _ = writeln!(out, "# Mapping for {file_name}, laget av samavvik import --suggest-mapping.");
    let _ = writeln!(out, "# Kolonnene i filen: {}", headers.iter().map(|h| q(h)).collect::<Vec<_>>().join(", "));
    let _ = writeln!(out, "# Fyll inn det som mangler, og kjør så med --dry-run.\n");
    let _ = writeln!(out, "source_system = \"\"  # for eksempel \"EQS St. Olav\"");
    let _ = writeln!(out, "date_formats = [\"%d.%m.%Y\", \"%d.%m.%Y %H:%M\"]\n\n[columns]");
    for (field, _) in GUESSES {
        match guess.get(field) {
            Some((_, h)) => {
                let _ = writeln!(out, "{field} = {}", q(h));
            }
            None => {
                let _ = writeln!(out, "# {field} = \"\"");
            }
        }
    }
    let _ = writeln!(
        out,
        "\n[defaults]\n# reporting_organisation = \"\"  # organisasjonsnummer eller navn, når filen ikke har kolonnen"
    );
    let _ = writeln!(out, "# recipient_organisation = \"\"\n# harm_class = \"no_harm\"\n# status = \"closed\"");
    let codes = categories.iter().map(|(c, l, _)| format!("{c} ({l})")).collect::<Vec<_>>().join(", ");
    let tables = [
        ("categories", "category", codes),
        ("kinds", "kind", DeviationKind::allowed()),
        ("harm_classes", "harm_class", format!("{}, harm:{}", HarmClass::allowed(), HarmLevel::allowed())),
        ("statuses", "status", Status::allowed()),
    ];
    for (table, field, allowed) in tables {
        let _ = writeln!(out, "\n[{table}]\n# Bruk: {allowed}");
        for v in distinct.get(field).into_iter().flatten() {
            let best = if field == "category" {
                super::row::closest_categories(v, categories).first().cloned().unwrap_or_default()
            } else {
                String::new()
            };
            let _ = writeln!(out, "{} = {}", q(v), q(&best));
        }
    }
    let _ = writeln!(out, "\n[organisations]\n# Navn i filen = organisasjonsnummer eller navn i samavvik");
    let orgs: BTreeSet<&String> =
        ["reporting_organisation", "recipient_organisation"].iter().filter_map(|f| distinct.get(f)).flatten().collect();
    for v in orgs {
        let _ = writeln!(out, "{} = \"\"", q(v));
    }
    out
}
