//! Import of historic deviations from a quality system's export (EQS, Compilo, Synergi, a paper
//! list typed into Excel), so the first tertial report already shows the trend.
//!
//! Two passes over the file. The first checks every row and counts what would happen (a dry run
//! stops there, and so does an import with refused rows unless told to skip them): nothing is
//! written before the administrator has seen it all. The second writes in batches that each commit
//! on their own, skipping what is already here by (source system, source id) — so a run killed
//! halfway is completed by running it again, and a second run adds nothing. Imported deviations
//! keep their historic dates and status, get references of their own year's import series
//! (`SA-2019-I000001`), send no mail and start no deadlines, reminders or webhooks (no events).

pub mod mapping;
pub mod read;
pub mod row;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::db::{self, imports, write_tx, DbConnection};
use crate::domain::calendar::oslo_today;
use crate::error::{ApiError, FieldError};
use crate::ids::{ImportId, OrganisationId, UserId};
pub use mapping::Mapping;
use read::{Source, Table};
use row::{Converter, Lookup, Prepared, Refusal};

/// More refused rows than this are counted, not listed.
pub const REFUSALS_LISTED: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Hidden,
    /// A bar with rows/s and time left (a terminal).
    Bar,
    /// A line per committed batch on standard error (a log, or a test that waits for one).
    Lines,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub dry_run: bool,
    pub skip_refused: bool,
    pub without_description: bool,
    pub batch: usize,
    pub progress: Progress,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            dry_run: false,
            skip_refused: false,
            without_description: false,
            batch: 1000,
            progress: Progress::Hidden,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A dry run: nothing written.
    Checked,
    /// Written (refused rows, if any, skipped as asked).
    Imported,
    /// Rows were refused and skipping them was not asked for: nothing written.
    NotImported,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub id: ImportId,
    pub created_at: DateTime<Utc>,
    pub source_system: String,
    pub file_name: String,
    pub dry_run: bool,
    pub status: Outcome,
    /// Data rows read (blank rows not counted).
    pub rows: i64,
    /// Written by this run (a dry run: would be written).
    pub imported: i64,
    /// Already imported earlier (same source system and id).
    pub skipped: i64,
    pub refused: i64,
    /// The first refused rows, in file order.
    pub refusals: Vec<Refusal>,
}

impl Report {
    /// Whether the command should exit with a failure.
    pub fn failed(&self, skip_refused: bool) -> bool {
        self.refused > 0 && !skip_refused
    }
}

fn mapping_error(problems: Vec<String>) -> ApiError {
    ApiError::invalid(vec![FieldError::new("mapping", "invalid_mapping", problems.join("\n"))])
}

fn file_error(problem: String) -> ApiError {
    ApiError::invalid(vec![FieldError::new("content", "unreadable_file", problem)])
}

pub fn parse_mapping(text: &str) -> Result<Mapping, ApiError> {
    mapping::parse(text).map_err(|e| mapping_error(e.0))
}

fn lookup(conn: &mut DbConnection, config: &Config, now: DateTime<Utc>) -> Result<Lookup, ApiError> {
    Ok(Lookup {
        organisations: db::organisations::list(conn, None, false, None)?,
        units: db::units::all(conn)?,
        categories: db::categories::list_active(conn)?.into_iter().map(|c| (c.code, c.label, c.description)).collect(),
        acknowledge_working_days: config.acknowledge_working_days,
        answer_working_days: config.answer_working_days,
        today: oslo_today(now),
        now: now.naive_utc(),
    })
}

fn open(source: &Source, mapping: &Mapping) -> Result<Table, ApiError> {
    read::open(source, &mapping.file).map_err(file_error)
}

/// A starting mapping for the file (`--suggest-mapping`).
pub fn suggest(conn: &mut DbConnection, source: &Source, options: &mapping::FileOptions) -> Result<String, ApiError> {
    let table = read::open(source, options).map_err(file_error)?;
    let categories: Vec<(String, String, String)> =
        db::categories::list_active(conn)?.into_iter().map(|c| (c.code, c.label, c.description)).collect();
    Ok(mapping::suggest(table, &source.name(), &categories))
}

fn fingerprint(id: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

struct Checked {
    rows: i64,
    fresh: i64,
    skipped: i64,
    refused: i64,
    refusals: Vec<Refusal>,
    reporting: BTreeSet<OrganisationId>,
}

/// The first pass: every row converted, the ids looked up, nothing written.
fn check(conn: &mut DbConnection, converter: &Converter, table: Table, system: &str) -> Result<Checked, ApiError> {
    let mut out =
        Checked { rows: 0, fresh: 0, skipped: 0, refused: 0, refusals: Vec::new(), reporting: BTreeSet::new() };
    let mut first_line: HashMap<u64, u64> = HashMap::new();
    let mut pending: Vec<String> = Vec::new();
    let flush = |conn: &mut DbConnection, pending: &mut Vec<String>, out: &mut Checked| -> Result<(), ApiError> {
        let here = imports::already(conn, system, pending)?;
        out.skipped += here.len() as i64;
        out.fresh += (pending.len() - here.len()) as i64;
        pending.clear();
        Ok(())
    };
    for row in table.rows {
        let row = row.map_err(file_error)?;
        out.rows += 1;
        let refusal = match converter.convert(&row) {
            Ok(p) => match first_line.insert(fingerprint(&p.source_id), row.line) {
                Some(earlier) => {
                    first_line.insert(fingerprint(&p.source_id), earlier);
                    Some(Refusal {
                        line: row.line,
                        column: None,
                        code: "duplicate".into(),
                        reason: format!("Samme id i kildesystemet som linje {earlier}; bare den første importeres."),
                        suggestions: Vec::new(),
                    })
                }
                None => {
                    out.reporting.insert(p.row.reporting_organisation_id.clone());
                    pending.push(p.source_id);
                    if pending.len() >= 1000 {
                        flush(conn, &mut pending, &mut out)?;
                    }
                    None
                }
            },
            Err(r) => Some(r),
        };
        if let Some(r) = refusal {
            out.refused += 1;
            if out.refusals.len() < REFUSALS_LISTED {
                out.refusals.push(r);
            }
        }
    }
    flush(conn, &mut pending, &mut out)?;
    Ok(out)
}

/// One batch in one transaction: what is already here is left, the rest numbered and inserted.
fn write_batch(
    conn: &mut DbConnection,
    system: &str,
    batch: &mut Vec<Prepared>,
    reporters: &HashMap<OrganisationId, UserId>,
) -> Result<(i64, i64), ApiError> {
    let result = write_tx(conn, |c| {
        imports::take_turn(c)?;
        let ids: Vec<String> = batch.iter().map(|p| p.source_id.clone()).collect();
        let here = imports::already(c, system, &ids)?;
        let fresh: Vec<&Prepared> = batch.iter().filter(|p| !here.contains(&p.source_id)).collect();
        let mut next: BTreeMap<i32, i32> = BTreeMap::new();
        let mut rows = Vec::with_capacity(fresh.len());
        for p in &fresh {
            let n = match next.get_mut(&p.year) {
                Some(n) => n,
                None => next.entry(p.year).or_insert(imports::last_number(c, p.year)?),
            };
            *n += 1;
            let mut row = p.row.clone();
            row.reference = format!("{}{:06}", imports::prefix(p.year), n).into();
            row.reporter_id = reporters.get(&row.reporting_organisation_id).cloned().unwrap_or_default();
            rows.push(row);
        }
        db::deviations::insert_many(c, &rows)?;
        Ok((rows.len() as i64, (batch.len() - rows.len()) as i64))
    });
    batch.clear();
    result
}

fn bar(progress: Progress, total: i64) -> ProgressBar {
    match progress {
        Progress::Bar => {
            let bar = ProgressBar::new(total.max(0) as u64);
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} rader ({per_sec}, {eta} igjen)")
                    .unwrap_or(ProgressStyle::default_bar()),
            );
            bar
        }
        _ => ProgressBar::hidden(),
    }
}

/// Checks the file against the mapping and, unless it is a dry run or rows were refused (and not
/// to be skipped), imports it. The run is recorded in `imports` either way.
pub fn run(
    conn: &mut DbConnection,
    config: &Config,
    source: &Source,
    mapping: &Mapping,
    options: &Options,
    now: DateTime<Utc>,
    created_by: Option<UserId>,
) -> Result<Report, ApiError> {
    // As both databases keep it (whole microseconds), so the report read back equals the one made.
    let now = chrono::SubsecRound::trunc_subsecs(now, 6);
    let lookup = lookup(conn, config, now)?;
    let system = mapping.source_system.trim().to_owned();
    let table = open(source, mapping)?;
    let converter =
        Converter::new(mapping, &lookup, &table.headers, options.without_description).map_err(mapping_error)?;
    let checked = check(conn, &converter, table, &system)?;
    let mut report = Report {
        id: ImportId::generate(),
        created_at: now,
        source_system: system.clone(),
        file_name: source.name(),
        dry_run: options.dry_run,
        status: Outcome::Checked,
        rows: checked.rows,
        imported: checked.fresh,
        skipped: checked.skipped,
        refused: checked.refused,
        refusals: checked.refusals,
    };
    if !options.dry_run && report.failed(options.skip_refused) {
        report.status = Outcome::NotImported;
        report.imported = 0;
    } else if !options.dry_run {
        report.status = Outcome::Imported;
        let name = format!("Importert fra {system}");
        let mut reporters = HashMap::new();
        for org in &checked.reporting {
            reporters.insert(org.clone(), db::users::placeholder(conn, org, "import", &name, now.naive_utc())?);
        }
        let bar = bar(options.progress, checked.rows);
        let (mut imported, mut skipped, mut done) = (0, 0, 0i64);
        let mut batch = Vec::with_capacity(options.batch);
        // A second row with the same id was refused in the check: the first one is the row.
        let mut seen = HashSet::new();
        let mut rows = open(source, mapping)?.rows;
        loop {
            let next = rows.next().transpose().map_err(file_error)?;
            let end = next.is_none();
            if let Some(row) = next {
                done += 1;
                if let Ok(p) = converter.convert(&row) {
                    if seen.insert(fingerprint(&p.source_id)) {
                        batch.push(p);
                    }
                }
            }
            if batch.len() >= options.batch.max(1) || (end && !batch.is_empty()) {
                let (i, s) = write_batch(conn, &system, &mut batch, &reporters)?;
                (imported, skipped) = (imported + i, skipped + s);
                bar.set_position(done as u64);
                if options.progress == Progress::Lines {
                    eprintln!("importert {imported}, hoppet over {skipped}, lest {done} av {} rader", checked.rows);
                }
            }
            if end {
                break;
            }
        }
        bar.finish_and_clear();
        report.imported = imported;
        report.skipped = skipped;
        if options.progress != Progress::Hidden {
            eprintln!("Gjør databasen klar for spørringer ({}) …", ready_words(conn));
        }
        db::deviations::make_ready(conn)?;
    }
    imports::insert(conn, &record(&report, created_by))?;
    Ok(report)
}

pub fn ready_words(conn: &DbConnection) -> &'static str {
    match conn {
        DbConnection::Pg(_) => "VACUUM ANALYZE",
        DbConnection::Sqlite(_) => "ANALYZE",
    }
}

fn record(r: &Report, created_by: Option<UserId>) -> imports::ImportRow {
    let int = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
    imports::ImportRow {
        id: r.id.clone(),
        created_at: r.created_at.naive_utc(),
        created_by,
        source_system: r.source_system.clone(),
        file_name: r.file_name.clone(),
        dry_run: r.dry_run,
        status: serde_json::to_value(r.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        rows_read: int(r.rows),
        imported: int(r.imported),
        skipped: int(r.skipped),
        refused: int(r.refused),
        report: serde_json::to_string(&r.refusals).unwrap_or_else(|_| "[]".into()),
        finished_at: Utc::now().naive_utc(),
    }
}

/// A recorded run as its report.
pub fn report_of(row: imports::ImportRow) -> Report {
    Report {
        id: row.id,
        created_at: crate::deviations::view::utc(row.created_at),
        source_system: row.source_system,
        file_name: row.file_name,
        dry_run: row.dry_run,
        status: serde_json::from_value(serde_json::Value::String(row.status)).unwrap_or(Outcome::Checked),
        rows: row.rows_read.into(),
        imported: row.imported.into(),
        skipped: row.skipped.into(),
        refused: row.refused.into(),
        refusals: serde_json::from_str(&row.report).unwrap_or_default(),
    }
}

/// The report as an administrator reads it on a terminal.
pub fn describe(r: &Report) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let what = match r.status {
        Outcome::Checked => "Tørrkjøring: ingenting er skrevet.",
        Outcome::Imported => "Importert.",
        Outcome::NotImported => "Ikke importert: rader ble avvist (bruk --skip-refused for å importere resten).",
    };
    let _ = writeln!(out, "{} ({}): {what}", r.file_name, r.source_system);
    let would = if r.dry_run { "blir importert:" } else { "importert nå:" };
    let _ = writeln!(out, "  rader lest:          {:>9}", r.rows);
    let _ = writeln!(out, "  {would:<20}{:>9}", r.imported);
    let _ = writeln!(out, "  importert før:       {:>9}", r.skipped);
    let _ = writeln!(out, "  avvist:              {:>9}", r.refused);
    if !r.refusals.is_empty() {
        let _ = writeln!(out, "Avviste rader:");
        for f in &r.refusals {
            let column = f.column.as_deref().map(|c| format!(", kolonne «{c}»")).unwrap_or_default();
            let suggest = if f.suggestions.is_empty() {
                String::new()
            } else {
                format!(" Nærmeste kategorier: {}.", f.suggestions.join(", "))
            };
            let _ = writeln!(out, "  linje {}{column}: {}{suggest}", f.line, f.reason);
        }
        if (r.refusals.len() as i64) < r.refused {
            let _ = writeln!(out, "  … og {} til.", r.refused - r.refusals.len() as i64);
        }
    }
    out
}
