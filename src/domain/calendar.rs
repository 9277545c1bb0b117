//! Working days in Norway: weekends and public holidays, the Easter-based ones computed.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday};
use chrono_tz::Europe::Oslo;

/// Easter Sunday (Gregorian), by the anonymous Gregorian algorithm (Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).unwrap_or_default()
}

/// Norwegian public holidays (helligdager og offentlige høytidsdager) of one year.
pub fn public_holidays(year: i32) -> Vec<NaiveDate> {
    let fixed = [(1, 1), (5, 1), (5, 17), (12, 25), (12, 26)];
    let easter = easter_sunday(year);
    // Skjærtorsdag, langfredag, påskedag, 2. påskedag, Kristi himmelfart, pinsedag, 2. pinsedag.
    let movable = [-3, -2, 0, 1, 39, 49, 50];
    fixed
        .iter()
        .filter_map(|(m, d)| NaiveDate::from_ymd_opt(year, *m, *d))
        .chain(movable.iter().map(|offset| easter + Duration::days(*offset)))
        .collect()
}

pub fn is_working_day(date: NaiveDate) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !public_holidays(date.year()).contains(&date)
}

/// The `n`th working day after `from` (the day itself does not count, whatever it is).
pub fn add_working_days(from: NaiveDate, n: u32) -> NaiveDate {
    let mut date = from;
    let mut left = n;
    while left > 0 {
        date += Duration::days(1);
        if is_working_day(date) {
            left -= 1;
        }
    }
    date
}

/// Working days from `from` to `to` (after `from`, up to and including `to`); 0 when `to` ≤ `from`.
pub fn working_days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    let mut count = 0;
    let mut date = from;
    while date < to {
        date += Duration::days(1);
        if is_working_day(date) {
            count += 1;
        }
    }
    count
}

/// The calendar date in Norway of a UTC instant: deadlines are Norwegian working days.
pub fn oslo_date(at: NaiveDateTime) -> NaiveDate {
    Oslo.from_utc_datetime(&at).date_naive()
}

pub fn oslo_today(now: DateTime<Utc>) -> NaiveDate {
    oslo_date(now.naive_utc())
}

/// The UTC instant a Norwegian day begins (the earlier one where clocks go back).
pub fn oslo_midnight_utc(day: NaiveDate) -> NaiveDateTime {
    let local = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    Oslo.from_local_datetime(&local).earliest().map(|t| t.naive_utc()).unwrap_or(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn easter_dates_match_the_almanac() {
        assert_eq!(easter_sunday(2024), d(2024, 3, 31));
        assert_eq!(easter_sunday(2025), d(2025, 4, 20));
        assert_eq!(easter_sunday(2026), d(2026, 4, 5));
        assert_eq!(easter_sunday(2027), d(2027, 3, 28));
        assert_eq!(easter_sunday(2038), d(2038, 4, 25));
    }

    #[test]
    fn holidays_of_2026() {
        let h = public_holidays(2026);
        for day in [
            d(2026, 1, 1),
            d(2026, 4, 2),
            d(2026, 4, 3),
            d(2026, 4, 5),
            d(2026, 4, 6),
            d(2026, 5, 1),
            d(2026, 5, 14),
            d(2026, 5, 17),
            d(2026, 5, 24),
            d(2026, 5, 25),
            d(2026, 12, 25),
            d(2026, 12, 26),
        ] {
            assert!(h.contains(&day), "{day} should be a holiday");
        }
        assert_eq!(h.len(), 12);
        assert!(!is_working_day(d(2026, 4, 2)));
        assert!(is_working_day(d(2026, 4, 1)));
        assert!(is_working_day(d(2026, 4, 7)));
    }

    #[test]
    fn five_working_days_across_easter() {
        // Wednesday 1 April 2026: Thu 2, Fri 3, Mon 6 are holidays → 7, 8, 9, 10, 13 April.
        assert_eq!(add_working_days(d(2026, 4, 1), 5), d(2026, 4, 13));
    }

    #[test]
    fn fifteen_working_days_across_christmas_and_new_year() {
        // Mon 21 Dec 2026: 22, 23, 24, 28, 29, 30, 31 Dec, 4, 5, 6, 7, 8, 11, 12, 13 Jan.
        assert_eq!(add_working_days(d(2026, 12, 21), 15), d(2027, 1, 13));
        assert!(is_working_day(d(2026, 12, 24)), "julaften is not a public holiday");
    }

    #[test]
    fn may_with_17th_ascension_and_whitsun() {
        // Mon 11 May 2026: 12, 13, (14 Ascension), 15, (17 is Sunday), 18, 19, 20, 21, 22, (25 Whit Monday), 26.
        assert_eq!(add_working_days(d(2026, 5, 11), 9), d(2026, 5, 26));
        // 17 May on a weekday (2027: Monday) is a holiday.
        assert!(!is_working_day(d(2027, 5, 17)));
    }

    #[test]
    fn weekend_submission_counts_from_monday() {
        // Saturday 7 Nov 2026 → first working day Monday 9, fifth Friday 13.
        assert_eq!(add_working_days(d(2026, 11, 7), 5), d(2026, 11, 13));
        assert_eq!(add_working_days(d(2026, 11, 7), 1), d(2026, 11, 9));
    }

    #[test]
    fn year_end() {
        // Thu 31 Dec 2026 + 1: Fri 1 Jan 2027 is a holiday → Mon 4 Jan.
        assert_eq!(add_working_days(d(2026, 12, 31), 1), d(2027, 1, 4));
        assert_eq!(working_days_between(d(2026, 12, 31), d(2027, 1, 4)), 1);
        assert_eq!(working_days_between(d(2026, 4, 1), d(2026, 4, 13)), 5);
        assert_eq!(working_days_between(d(2026, 4, 13), d(2026, 4, 1)), 0);
    }

    #[test]
    fn oslo_date_of_late_evening_utc() {
        let at = d(2026, 6, 30).and_hms_opt(22, 30, 0).unwrap(); // 00:30 on 1 July in Oslo (CEST)
        assert_eq!(oslo_date(at), d(2026, 7, 1));
        let winter = d(2026, 1, 15).and_hms_opt(22, 30, 0).unwrap(); // 23:30 in Oslo (CET)
        assert_eq!(oslo_date(winter), d(2026, 1, 15));
    }
}
