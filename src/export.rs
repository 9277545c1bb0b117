//! The analysts' export: one row per deviation the statistics count for a scope and period — dates,
//! organisations, units, category, kind, harm class, status, handling times and deadlines met —
//! and never free text, people or patient. Read in pages by key and written as it is read, so a
//! million rows pass through without sitting in memory (XLSX in rust_xlsxwriter's constant-memory
//! mode, which keeps one row and spills the rest to a temporary file).

use std::collections::HashMap;
use std::io::Write;

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Europe::Oslo;
use rust_xlsxwriter::{Format as CellFormat, Workbook};

use crate::db::stats::{export_page, ExportRow, StatsScope};
use crate::db::{self, DbConnection};
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn parse(v: &str) -> Result<Self, ApiError> {
        match v {
            "csv" => Ok(Self::Csv),
            "xlsx" => Ok(Self::Xlsx),
            _ => Err(ApiError::field("format", "invalid_value", "Velg format csv eller xlsx.")),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
        }
    }
}

/// A worksheet holds 1,048,576 rows, the header one of them.
pub const XLSX_MAX_ROWS: i64 = 1_048_575;
const PAGE: i64 = 5_000;

/// (CSV header, XLSX header): codes for tools, labels for people.
pub const COLUMNS: &[(&str, &str)] = &[
    ("reference", "Referanse"),
    ("submitted_at", "Meldt"),
    ("received_at", "Mottatt"),
    ("occurred_on", "Hendelsesdato"),
    ("direction", "Retning"),
    ("kind", "Type"),
    ("category", "Kategorikode"),
    ("category_label", "Kategori"),
    ("reported_category", "Kategori fra melder"),
    ("harm_class", "Skadeklasse"),
    ("harm_level", "Skadegrad"),
    ("handover_related", "Ved overføring"),
    ("status", "Status"),
    ("health_community", "Helsefellesskap"),
    ("reporting_organisation", "Meldt av"),
    ("reporting_org_number", "Meldt av, org.nr."),
    ("reporting_unit", "Meldt av, enhet"),
    ("recipient_organisation", "Mottaker"),
    ("recipient_org_number", "Mottaker, org.nr."),
    ("recipient_unit", "Mottaker, enhet"),
    ("acknowledged_at", "Mottak bekreftet"),
    ("answered_at", "Besvart"),
    ("closed_at", "Lukket"),
    ("acknowledge_due", "Frist for bekreftelse"),
    ("answer_due", "Frist for svar"),
    ("acknowledge_working_days", "Virkedager til bekreftelse"),
    ("answer_working_days", "Virkedager til svar"),
    ("answered_on_time", "Besvart innen fristen"),
    ("source_system", "Importert fra"),
];

/// Names of what the rows refer to by id; small tables, read once per export.
pub struct Names {
    organisations: HashMap<String, (String, String)>,
    units: HashMap<String, String>,
    categories: HashMap<String, String>,
    communities: HashMap<String, String>,
}

impl Names {
    pub fn load(conn: &mut DbConnection) -> diesel::QueryResult<Self> {
        Ok(Self {
            organisations: db::organisations::list(conn, None, true, None)?
                .into_iter()
                .map(|o| (o.id.to_string(), (o.name, o.org_number)))
                .collect(),
            units: db::units::all(conn)?.into_iter().map(|u| (u.id.to_string(), u.name)).collect(),
            categories: db::categories::labels(conn)?.into_iter().collect(),
            communities: db::health_communities::list(conn)?.into_iter().map(|c| (c.id.to_string(), c.name)).collect(),
        })
    }
}

enum Cell {
    Text(String),
    Int(i64),
    Bool(bool),
    Date(NaiveDate),
    Time(NaiveDateTime),
    Empty,
}

fn text(v: Option<&String>) -> Cell {
    v.map_or(Cell::Empty, |s| Cell::Text(s.clone()))
}

/// A stored day ("2026-03-04", the form's dates may carry a time after it) as a date.
fn day(v: &str) -> Cell {
    v.get(..10).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()).map_or(Cell::Text(v.to_owned()), Cell::Date)
}

/// Instants are stored in UTC and shown as the clock in Norway showed them.
fn time(v: Option<NaiveDateTime>) -> Cell {
    v.map_or(Cell::Empty, |t| Cell::Time(Oslo.from_utc_datetime(&t).naive_local()))
}

fn cells(r: &ExportRow, n: &Names) -> Vec<Cell> {
    let org = |id: &str| n.organisations.get(id);
    let unit = |id: &Option<String>| text(id.as_ref().and_then(|u| n.units.get(u)));
    vec![
        Cell::Text(r.reference.clone()),
        time(Some(r.submitted_at)),
        time(Some(r.received_at)),
        day(&r.occurred_at),
        Cell::Text(r.direction.clone()),
        Cell::Text(r.kind.clone()),
        Cell::Text(r.category.clone()),
        text(n.categories.get(&r.category)),
        text(r.reported_category.as_ref()),
        Cell::Text(r.harm_class.clone()),
        text(r.harm_level.as_ref()),
        Cell::Bool(r.handover_related),
        Cell::Text(r.status.clone()),
        text(n.communities.get(&r.health_community_id)),
        text(org(&r.reporting_organisation_id).map(|o| &o.0)),
        text(org(&r.reporting_organisation_id).map(|o| &o.1)),
        unit(&r.reporting_unit_id),
        text(org(&r.recipient_organisation_id).map(|o| &o.0)),
        text(org(&r.recipient_organisation_id).map(|o| &o.1)),
        unit(&r.recipient_unit_id),
        time(r.acknowledged_at),
        time(r.answered_at),
        time(r.closed_at),
        day(&r.acknowledge_due),
        day(&r.answer_due),
        r.acknowledge_days.map_or(Cell::Empty, |d| Cell::Int(d.into())),
        r.answer_days.map_or(Cell::Empty, |d| Cell::Int(d.into())),
        r.answered_on_time.map_or(Cell::Empty, Cell::Bool),
        text(r.source_system.as_ref()),
    ]
}

fn csv_field(c: &Cell) -> String {
    match c {
        Cell::Text(s) => crate::spreadsheet::cell(s),
        Cell::Int(i) => i.to_string(),
        Cell::Bool(b) => b.to_string(),
        Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
        // With the offset, so a tool reading it knows the instant.
        Cell::Time(t) => Oslo.from_local_datetime(t).earliest().map_or_else(
            || t.format("%Y-%m-%dT%H:%M:%S").to_string(),
            |z| z.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        ),
        Cell::Empty => String::new(),
    }
}

/// Calls `each` with every row of the scope submitted in [from, to), oldest first.
fn each_row(
    conn: &mut DbConnection,
    scope: &StatsScope,
    bounds: (NaiveDateTime, NaiveDateTime),
    mut each: impl FnMut(&ExportRow) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let (mut after, mut count) = (None, 0);
    loop {
        let page = export_page(conn, scope, bounds, after.as_ref(), PAGE)?;
        for row in &page {
            each(row)?;
        }
        count += page.len() as u64;
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => after = Some((last.submitted_at, last.id.clone())),
            _ => return Ok(count),
        }
    }
}

/// Writes the export to `out` and says how many deviations it holds. A caller checks the scope
/// first, and for XLSX that the rows fit in a worksheet.
pub fn write<W: Write + Send>(
    conn: &mut DbConnection,
    scope: &StatsScope,
    bounds: (NaiveDateTime, NaiveDateTime),
    format: Format,
    mut out: W,
) -> anyhow::Result<u64> {
    let names = Names::load(conn)?;
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(COLUMNS.iter().map(|c| c.0))?;
            let n = each_row(conn, scope, bounds, |r| Ok(w.write_record(cells(r, &names).iter().map(csv_field))?))?;
            w.flush()?;
            drop(w);
            out.flush()?;
            Ok(n)
        }
        Format::Xlsx => {
            let mut book = Workbook::new();
            let (bold, date, datetime) = (
                CellFormat::new().set_bold(),
                CellFormat::new().set_num_format("dd.mm.yyyy"),
                CellFormat::new().set_num_format("dd.mm.yyyy hh:mm"),
            );
            let sheet = book.add_worksheet_with_constant_memory()?.set_name("Avvik")?;
            for (col, (_, label)) in COLUMNS.iter().enumerate() {
                sheet.write_string_with_format(0, col as u16, *label, &bold)?;
            }
            let mut row = 0u32;
            let n = each_row(conn, scope, bounds, |r| {
                row += 1;
                for (col, cell) in cells(r, &names).iter().enumerate() {
                    let col = col as u16;
                    match cell {
                        Cell::Text(s) => sheet.write_string(row, col, s)?,
                        Cell::Int(i) => sheet.write_number(row, col, *i as f64)?,
                        Cell::Bool(b) => sheet.write_boolean(row, col, *b)?,
                        Cell::Date(d) => sheet.write_date_with_format(row, col, d, &date)?,
                        Cell::Time(t) => sheet.write_datetime_with_format(row, col, t, &datetime)?,
                        Cell::Empty => sheet,
                    };
                }
                Ok(())
            })?;
            book.save_to_writer(&mut out)?;
            out.flush()?;
            Ok(n)
        }
    }
}
