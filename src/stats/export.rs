//! CSV and XLSX of the tertial report: the key figures and one table per breakdown, with the same
//! numbers as the JSON and the same small-cell suppression.

use rust_xlsxwriter::{Format, Workbook};

use super::report::{Report, BREAKDOWNS};
use super::Stats;

/// The key figures as (code, Norwegian label, value).
pub fn key_figures(s: &Stats) -> Vec<(&'static str, &'static str, Option<f64>)> {
    vec![
        ("total", "Meldte avvik", Some(s.total as f64)),
        ("previous_total", "Meldte avvik forrige periode", Some(s.previous.total as f64)),
        ("change_percent", "Endring fra forrige periode (%)", s.previous.change_percent),
        (
            "same_period_last_year_total",
            "Meldte avvik samme periode i fjor",
            Some(s.same_period_last_year.total as f64),
        ),
        ("acknowledge_days_median", "Tid til bekreftet mottak, median (virkedager)", s.acknowledge_days.median),
        ("acknowledge_days_p90", "Tid til bekreftet mottak, 90-persentil (virkedager)", s.acknowledge_days.p90),
        ("answer_days_median", "Tid til svar, median (virkedager)", s.answer_days.median),
        ("answer_days_p90", "Tid til svar, 90-persentil (virkedager)", s.answer_days.p90),
        ("within_deadline_share", "Andel besvart innen fristen", s.within_deadline_share),
        ("recategorised", "Kategori endret av mottaker", Some(s.recategorised as f64)),
        ("imported", "Fra import (kvalitetssystemenes historikk)", Some(s.imported as f64)),
        ("backlog_at_end", "Åpne ved periodens slutt", Some(s.backlog_at_end as f64)),
        ("overdue_at_end", "Over fristen ved periodens slutt", Some(s.overdue_at_end as f64)),
    ]
}

pub const SUPPRESSED: &str = "skjult";

pub fn csv(r: &Report) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["tertial", "breakdown", "key", "label", "value", "suppressed"])?;
    for (code, label, value) in key_figures(r.overall()) {
        let value = value.map(|v| v.to_string()).unwrap_or_default();
        w.write_record([r.tertial.as_str(), "key_figures", code, label, &value, ""].map(crate::spreadsheet::cell))?;
    }
    for (dim, _) in BREAKDOWNS {
        let Some(s) = r.breakdown(dim) else { continue };
        for g in &s.groups {
            let key = g.key.get(*dim).cloned().flatten().unwrap_or_default();
            let label = g.label.get(*dim).cloned().unwrap_or_default();
            let count = g.count.map(|c| c.to_string()).unwrap_or_default();
            let suppressed = if g.suppressed { SUPPRESSED } else { "" };
            w.write_record([r.tertial.as_str(), dim, &key, &label, &count, suppressed].map(crate::spreadsheet::cell))?;
        }
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

pub fn xlsx(r: &Report) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("dd.mm.yyyy");
    let decimal = Format::new().set_num_format("0.0");
    let s = r.overall();
    let sheet = book.add_worksheet().set_name("Nøkkeltall")?;
    sheet.write_string_with_format(0, 0, "Nøkkeltall", &bold)?;
    sheet.write_string_with_format(0, 1, "Verdi", &bold)?;
    sheet.write_string(1, 0, "Tertial")?;
    sheet.write_string(1, 1, &r.tertial)?;
    for (row, (label, day)) in [(2, ("Fra og med", &s.from)), (3, ("Til og med", &s.to))] {
        sheet.write_string(row, 0, label)?;
        if let Ok(d) = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d") {
            sheet.write_date_with_format(row, 1, d, &date)?;
        }
    }
    for (i, (_, label, value)) in key_figures(s).into_iter().enumerate() {
        let row = 4 + i as u32;
        sheet.write_string(row, 0, label)?;
        if let Some(v) = value {
            sheet.write_number_with_format(row, 1, v, &decimal)?;
        }
    }
    sheet.set_column_width(0, 48)?;
    for (dim, title) in BREAKDOWNS {
        let Some(stats) = r.breakdown(dim) else { continue };
        let sheet = book.add_worksheet().set_name(*title)?;
        for (c, h) in ["Kode", *title, "Antall"].iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        for (i, g) in stats.groups.iter().enumerate() {
            let row = 1 + i as u32;
            sheet.write_string(row, 0, g.key.get(*dim).cloned().flatten().unwrap_or_default())?;
            sheet.write_string(row, 1, g.label.get(*dim).cloned().unwrap_or_default())?;
            match g.count {
                Some(c) => sheet.write_number(row, 2, c as f64)?,
                None => sheet.write_string(row, 2, SUPPRESSED)?,
            };
        }
        sheet.set_column_width(1, 44)?;
    }
    if !r.learning.is_empty() {
        let sheet = book.add_worksheet().set_name("Læring")?;
        for (c, h) in ["Læringsnotat", "Fra", "Publisert", "Hva er endret"].iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        for (i, l) in r.learning.iter().enumerate() {
            let row = i as u32 + 1;
            sheet.write_string(row, 0, &l.title)?;
            sheet.write_string(row, 1, &l.organisation)?;
            sheet.write_date_with_format(row, 2, l.published_on, &date)?;
            sheet.write_string(row, 3, &l.what_changed)?;
        }
        sheet.set_column_width(0, 44)?;
        sheet.set_column_width(3, 80)?;
    }
    if !r.actions.is_empty() {
        let sheet = book.add_worksheet().set_name("Tiltak og effekt")?;
        let heads =
            ["Tiltak", "Ansvarlig", "Kategori", "Fikk virkning", "Måned", "Antall", "Alle avvik", "Per 1 000", "Etter"];
        for (c, h) in heads.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        let mut row = 1;
        for a in &r.actions {
            for m in &a.effect.months {
                sheet.write_string(row, 0, &a.title)?;
                sheet.write_string(row, 1, &a.organisation)?;
                sheet.write_string(row, 2, &a.category)?;
                if let Some(day) = a.effect.effective_on {
                    sheet.write_date_with_format(row, 3, day, &date)?;
                }
                sheet.write_string(row, 4, &m.month)?;
                match m.count {
                    Some(c) => sheet.write_number(row, 5, c as f64)?,
                    None => sheet.write_string(row, 5, SUPPRESSED)?,
                };
                sheet.write_number(row, 6, m.total as f64)?;
                if let Some(rate) = m.rate_per_1000 {
                    sheet.write_number_with_format(row, 7, rate, &decimal)?;
                }
                sheet.write_string(row, 8, if m.after { "ja" } else { "nei" })?;
                row += 1;
            }
        }
        sheet.write_string(row + 1, 0, crate::stats::effect::NOT_PROOF)?;
        sheet.set_column_width(0, 44)?;
        sheet.set_column_width(2, 30)?;
    }
    book.save_to_buffer()
}
