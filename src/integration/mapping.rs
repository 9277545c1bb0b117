//! Category mapping: each organisation's own quality-system code and label for samavvik's unified
//! categories, so every deviation it reads carries `local_category` and its quality system can file
//! it under its own category. Kept whole: every active unified category is mapped or explicitly
//! marked as not in use, optionally per kind.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::db::mappings::{self, MappingRow};
use crate::db::{categories, organisations, write_tx, DbConnection};
use crate::directory::required_text;
use crate::domain::{Code, DeviationKind};
use crate::error::{ApiError, FieldError};
use crate::ids::OrganisationId;

const MAX_ENTRIES: usize = 1000;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LocalCategory {
    pub code: String,
    pub label: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingEntry {
    /// The unified category code.
    pub category: String,
    /// Only for this kind; absent or null for both.
    #[serde(default)]
    pub kind: Option<String>,
    /// The quality system's own category; null: not in use in this organisation.
    pub local: Option<LocalCategory>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryMapping {
    pub entries: Vec<MappingEntry>,
}

pub fn get(conn: &mut DbConnection, organisation_id: &OrganisationId) -> Result<CategoryMapping, ApiError> {
    organisations::find(conn, organisation_id)?;
    let entries = mappings::for_organisation(conn, organisation_id)?
        .into_iter()
        .map(|r| MappingEntry {
            category: r.category,
            kind: Some(r.kind).filter(|k| !k.is_empty()),
            local: r.local_code.zip(r.local_label).map(|(code, label)| LocalCategory { code, label }),
        })
        .collect();
    Ok(CategoryMapping { entries })
}

pub fn replace(
    conn: &mut DbConnection,
    organisation_id: &OrganisationId,
    mapping: CategoryMapping,
    now: NaiveDateTime,
) -> Result<CategoryMapping, ApiError> {
    write_tx(conn, |c| {
        organisations::find(c, organisation_id)?;
        let active: BTreeSet<String> = categories::list_active(c)?.into_iter().map(|r| r.code).collect();
        let rows = checked(organisation_id, &mapping, &active, now)?;
        mappings::replace(c, organisation_id, &rows)?;
        Ok(())
    })?;
    get(conn, organisation_id)
}

/// Every entry checked, every error at once; then that nothing active is left out.
fn checked(
    organisation_id: &OrganisationId,
    mapping: &CategoryMapping,
    active: &BTreeSet<String>,
    now: NaiveDateTime,
) -> Result<Vec<MappingRow>, ApiError> {
    if mapping.entries.len() > MAX_ENTRIES {
        return Err(ApiError::field("entries", "too_long", format!("Høyst {MAX_ENTRIES} linjer.")));
    }
    let mut errors = Vec::new();
    let mut rows: Vec<MappingRow> = Vec::new();
    for (i, entry) in mapping.entries.iter().enumerate() {
        let at = |name: &str| format!("entries[{i}].{name}");
        if !active.contains(&entry.category) {
            let shown: String = entry.category.chars().filter(|c| c.is_ascii_graphic()).take(60).collect();
            errors.push(FieldError::new(
                at("category"),
                "unknown_category",
                format!("Ukjent kategori «{shown}». Bruk kodene fra /api/v1/categories."),
            ));
            continue;
        }
        let kind = entry.kind.clone().unwrap_or_default();
        if !kind.is_empty() && DeviationKind::from_code(&kind).is_none() {
            errors.push(FieldError::new(
                at("kind"),
                "invalid_value",
                "Typen er «deviation» eller «improvement_proposal».",
            ));
            continue;
        }
        if rows.iter().any(|r| r.category == entry.category && r.kind == kind) {
            errors.push(FieldError::new(at("category"), "duplicate", "Kategorien står to ganger i oversikten."));
            continue;
        }
        let (local_code, local_label) = match &entry.local {
            None => (None, None),
            Some(local) => {
                match (local_code(&at("local.code"), &local.code), required_text(&at("local.label"), &local.label)) {
                    (Ok(code), Ok(label)) if label.chars().count() <= 200 => (Some(code), Some(label)),
                    (Ok(_), Ok(_)) => {
                        errors.push(FieldError::new(at("local.label"), "too_long", "Navnet kan ha høyst 200 tegn."));
                        continue;
                    }
                    (code, label) => {
                        errors.extend([code.err(), label.err()].into_iter().flatten().flat_map(|e| e.fields));
                        continue;
                    }
                }
            }
        };
        rows.push(MappingRow {
            organisation_id: organisation_id.clone(),
            category: entry.category.clone(),
            kind,
            local_code,
            local_label,
            updated_at: now,
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let covered =
        |code: &str, kind: &str| rows.iter().any(|r| r.category == code && (r.kind.is_empty() || r.kind == kind));
    let missing: Vec<&str> = active
        .iter()
        .filter(|code| !DeviationKind::ALL.iter().all(|(_, k)| covered(code, k)))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::field(
            "entries",
            "required",
            format!(
                "Disse kategoriene mangler i oversikten: {}. Gi hver en lokal kode, eller local: null hvis den ikke brukes hos dere.",
                missing.join(", ")
            ),
        ));
    }
    Ok(rows)
}

fn local_code(field: &str, code: &str) -> Result<String, ApiError> {
    let code = code.trim();
    if code.is_empty() || code.chars().count() > 100 || code.chars().any(char::is_control) {
        return Err(ApiError::field(field, "invalid_value", "Den lokale koden er 1–100 synlige tegn."));
    }
    required_text(field, code)
}

/// An organisation's mapping, for the deviations it reads.
#[derive(Debug, Default)]
pub struct LocalCategories(HashMap<(String, String), Option<LocalCategory>>);

impl LocalCategories {
    pub fn load(conn: &mut DbConnection, organisation_id: &OrganisationId) -> Result<Self, ApiError> {
        Ok(LocalCategories(
            mappings::for_organisation(conn, organisation_id)?
                .into_iter()
                .map(|r| {
                    let local = r.local_code.zip(r.local_label).map(|(code, label)| LocalCategory { code, label });
                    ((r.category, r.kind), local)
                })
                .collect(),
        ))
    }

    /// The organisation's own category for a deviation: its kind's entry, else the one for both.
    pub fn of(&self, category: &str, kind: &str) -> Option<LocalCategory> {
        let entry = |k: &str| self.0.get(&(category.to_owned(), k.to_owned()));
        entry(kind).or_else(|| entry("")).cloned().flatten()
    }
}

/// The columns of the mapping as a spreadsheet, in this order.
const CSV_HEADER: [&str; 4] = ["category", "kind", "local_code", "local_label"];

/// The mapping as CSV for Excel: `;`-separated, one line per entry, an empty local code for a
/// category not in use.
pub fn to_csv(mapping: &CategoryMapping) -> Result<String, ApiError> {
    let mut out = csv::WriterBuilder::new().delimiter(b';').from_writer(Vec::new());
    out.write_record(CSV_HEADER).map_err(ApiError::internal)?;
    for e in &mapping.entries {
        let (code, label) = e.local.as_ref().map(|l| (l.code.as_str(), l.label.as_str())).unwrap_or_default();
        out.write_record(
            [e.category.as_str(), e.kind.as_deref().unwrap_or(""), code, label].map(crate::spreadsheet::cell),
        )
        .map_err(ApiError::internal)?;
    }
    String::from_utf8(out.into_inner().map_err(ApiError::internal)?).map_err(ApiError::internal)
}

/// A mapping from CSV as `to_csv` writes it, with `;` or `,` as the spreadsheet saved it.
pub fn from_csv(text: &str) -> Result<CategoryMapping, ApiError> {
    let text = text.trim_start_matches('\u{feff}');
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.contains(';') { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|_| bad_csv("Filen kan ikke leses som CSV."))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    if header != CSV_HEADER {
        return Err(bad_csv(&format!("Første linje må være kolonnenavnene {}.", CSV_HEADER.join(";"))));
    }
    let mut entries = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|_| bad_csv(&format!("Linje {line} kan ikke leses som CSV.")))?;
        let cell = |n: usize| crate::spreadsheet::uncell(record.get(n).map(str::trim).unwrap_or_default()).to_owned();
        let (code, label) = (cell(2), cell(3));
        entries.push(MappingEntry {
            category: cell(0),
            kind: Some(cell(1)).filter(|k| !k.is_empty()),
            local: (!code.is_empty() || !label.is_empty()).then_some(LocalCategory { code, label }),
        });
    }
    Ok(CategoryMapping { entries })
}

fn bad_csv(message: &str) -> ApiError {
    ApiError::field("file", "invalid_value", message)
}

/// Field errors of a mapping read from CSV, named by the file's line (`lines[5].local_label`), as
/// the person mending the file sees it.
pub fn by_line(mut error: ApiError) -> ApiError {
    for f in &mut error.fields {
        if let Some((index, rest)) = f.field.strip_prefix("entries[").and_then(|r| r.split_once(']')) {
            if let Ok(i) = index.parse::<usize>() {
                f.field = format!("lines[{}]{}", i + 2, rest.replace("local.", "local_"));
            }
        }
    }
    error
}
