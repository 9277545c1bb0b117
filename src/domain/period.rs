//! Reporting periods: tertials (T1 Jan–Apr, T2 May–Aug, T3 Sep–Dec), months, years, or a range of
//! dates. Always computed from dates; a label is parsed, never stored.

use std::fmt;

use super::calendar::oslo_midnight_utc;
use chrono::{Datelike, Months, NaiveDate, NaiveDateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Tertial {
        year: i32,
        t: u32,
    },
    Month {
        year: i32,
        month: u32,
    },
    Year(i32),
    /// From and to, both inclusive.
    Range(NaiveDate, NaiveDate),
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

impl Period {
    /// "2026-T2", "2026-05" or "2026".
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        // The value is not repeated: it is whatever was typed, and errors are logged.
        let bad = || "Ugyldig periode. Bruk for eksempel 2026-T2, 2026-05 eller 2026.".to_owned();
        let (year, rest) = match s.split_once('-') {
            Some((y, r)) => (y, Some(r)),
            None => (s, None),
        };
        let year: i32 = year.parse().ok().filter(|y| (2000..=2100).contains(y)).ok_or_else(bad)?;
        match rest {
            None => Ok(Period::Year(year)),
            Some(r) if r.starts_with(['T', 't']) => match r.get(1..).unwrap_or_default().parse() {
                Ok(t @ 1..=3) => Ok(Period::Tertial { year, t }),
                _ => Err(bad()),
            },
            Some(r) => match r.parse() {
                Ok(month @ 1..=12) if r.len() == 2 => Ok(Period::Month { year, month }),
                _ => Err(bad()),
            },
        }
    }

    /// A tertial exactly as the contract writes it, `2026-T2` (surrounding blanks aside); anything
    /// else, even what `parse` would read as one (`2026-T02`), is None.
    pub fn parse_tertial(s: &str) -> Option<Self> {
        let s = s.trim();
        let b = s.as_bytes();
        let shaped = b.len() == 7
            && b.iter().take(4).all(u8::is_ascii_digit)
            && s.get(4..6).is_some_and(|m| m.eq_ignore_ascii_case("-t"));
        Period::parse(s).ok().filter(|p| shaped && matches!(p, Period::Tertial { .. }))
    }

    pub fn tertial_of(date: NaiveDate) -> Self {
        Period::Tertial { year: date.year(), t: (date.month() - 1) / 4 + 1 }
    }

    /// First day.
    pub fn start(&self) -> NaiveDate {
        match *self {
            Period::Tertial { year, t } => ymd(year, (t - 1) * 4 + 1, 1),
            Period::Month { year, month } => ymd(year, month, 1),
            Period::Year(year) => ymd(year, 1, 1),
            Period::Range(from, _) => from,
        }
    }

    /// The day after the last day.
    pub fn end(&self) -> NaiveDate {
        let months = |n| self.start().checked_add_months(Months::new(n)).unwrap_or_default();
        match *self {
            Period::Tertial { .. } => months(4),
            Period::Month { .. } => months(1),
            Period::Year(_) => months(12),
            Period::Range(_, to) => to.succ_opt().unwrap_or(to),
        }
    }

    /// The period just before, of the same kind and length.
    pub fn previous(&self) -> Self {
        match *self {
            Period::Tertial { year, t: 1 } => Period::Tertial { year: year - 1, t: 3 },
            Period::Tertial { year, t } => Period::Tertial { year, t: t - 1 },
            Period::Month { year, month: 1 } => Period::Month { year: year - 1, month: 12 },
            Period::Month { year, month } => Period::Month { year, month: month - 1 },
            Period::Year(y) => Period::Year(y - 1),
            Period::Range(from, to) => {
                let len = to - from + chrono::Duration::days(1);
                Period::Range(from - len, from.pred_opt().unwrap_or(from))
            }
        }
    }

    /// The same period one year earlier.
    pub fn year_before(&self) -> Self {
        let back = |d: NaiveDate| d.checked_sub_months(Months::new(12)).unwrap_or(d);
        match *self {
            Period::Tertial { year, t } => Period::Tertial { year: year - 1, t },
            Period::Month { year, month } => Period::Month { year: year - 1, month },
            Period::Year(y) => Period::Year(y - 1),
            Period::Range(from, to) => Period::Range(back(from), back(to)),
        }
    }

    /// Start and end as UTC instants, the boundaries being midnight in Norway.
    pub fn utc_bounds(&self) -> (NaiveDateTime, NaiveDateTime) {
        (oslo_midnight_utc(self.start()), oslo_midnight_utc(self.end()))
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Tertial { year, t } => write!(f, "{year}-T{t}"),
            Period::Month { year, month } => write!(f, "{year}-{month:02}"),
            Period::Year(y) => write!(f, "{y}"),
            Period::Range(from, to) => write!(f, "{from}–{to}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tertials() {
        let t2 = Period::parse("2026-T2").unwrap();
        assert_eq!((t2.start(), t2.end()), (ymd(2026, 5, 1), ymd(2026, 9, 1)));
        assert_eq!(t2.previous().to_string(), "2026-T1");
        assert_eq!(Period::parse("2026-T1").unwrap().previous().to_string(), "2025-T3");
        assert_eq!(t2.year_before().to_string(), "2025-T2");
        assert_eq!(Period::parse("2026-T3").unwrap().end(), ymd(2027, 1, 1));
        assert_eq!(Period::tertial_of(ymd(2026, 4, 30)).to_string(), "2026-T1");
        assert_eq!(Period::tertial_of(ymd(2026, 5, 1)).to_string(), "2026-T2");
        assert_eq!(Period::tertial_of(ymd(2026, 12, 31)).to_string(), "2026-T3");
    }

    #[test]
    fn months_years_ranges() {
        let jan = Period::parse("2026-01").unwrap();
        assert_eq!(jan.previous().to_string(), "2025-12");
        assert_eq!(jan.end(), ymd(2026, 2, 1));
        assert_eq!(Period::parse("2026").unwrap().previous(), Period::Year(2025));
        let r = Period::Range(ymd(2026, 3, 1), ymd(2026, 3, 10));
        assert_eq!(r.previous(), Period::Range(ymd(2026, 2, 19), ymd(2026, 2, 28)));
        assert_eq!(r.end(), ymd(2026, 3, 11));
    }

    #[test]
    fn refuses_nonsense() {
        for bad in ["2026-T4", "2026-T0", "26-T1", "2026-13", "2026-5", "abc", "", "2026-X1"] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn boundaries_are_norwegian_midnight() {
        let (from, to) = Period::parse("2026-T2").unwrap().utc_bounds();
        assert_eq!(from.to_string(), "2026-04-30 22:00:00"); // CEST
        assert_eq!(to.to_string(), "2026-08-31 22:00:00");
        let (from, _) = Period::parse("2026-T1").unwrap().utc_bounds();
        assert_eq!(from.to_string(), "2025-12-31 23:00:00"); // CET
    }
}
