//! SOQL date literals (`TODAY`, `LAST_N_DAYS:30`, `THIS_QUARTER`, …): each names a range of whole
//! days relative to today, `[start, end)`. The org runs in UTC with the `en_US` locale, so weeks
//! start on Sunday; the fiscal year is the calendar year (the default fiscal year settings), so
//! `THIS_FISCAL_QUARTER` equals `THIS_QUARTER`.
//!
//! As documented, `LAST_N_DAYS:n` includes today (`LAST_N_DAYS:1` is yesterday and today) while
//! `NEXT_N_DAYS:n` starts tomorrow; `LAST_N_MONTHS:n` and the other `LAST_N_…` of larger units
//! cover the `n` whole units before the current one.

use chrono::{Datelike, Days, Months, NaiveDate};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

/// `len` units starting `start` units from the beginning of the current unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelativeDate {
    unit: Unit,
    start: i64,
    len: i64,
}

impl RelativeDate {
    /// Parses a date literal (case-insensitive); `None` when `word` is not one.
    pub fn parse(word: &str) -> Option<Self> {
        let upper = word.to_ascii_uppercase();
        let (name, n) = match upper.split_once(':') {
            Some((name, n)) => (name, Some(i64::from(n.parse::<u32>().ok()?))),
            None => (upper.as_str(), None),
        };
        let fixed = |unit, start| Self {
            unit,
            start,
            len: 1,
        };
        let literal = match (name, n) {
            ("YESTERDAY", None) => fixed(Unit::Day, -1),
            ("TODAY", None) => fixed(Unit::Day, 0),
            ("TOMORROW", None) => fixed(Unit::Day, 1),
            ("LAST_90_DAYS", None) => Self::last_days(90),
            ("NEXT_90_DAYS", None) => Self::next(Unit::Day, 90),
            ("LAST_N_DAYS", Some(n)) => Self::last_days(n),
            ("NEXT_N_DAYS", Some(n)) => Self::next(Unit::Day, n),
            ("N_DAYS_AGO", Some(n)) => fixed(Unit::Day, -n),
            (name, n) => Self::of_unit(name, n)?,
        };
        Some(literal)
    }

    /// `THIS_MONTH`, `LAST_N_QUARTERS:2`, `N_FISCAL_YEARS_AGO:1`, …
    fn of_unit(name: &str, n: Option<i64>) -> Option<Self> {
        let (name, ago) = match name.strip_suffix("_AGO") {
            Some(name) => (name, true),
            None => (name, false),
        };
        let fiscal = name.contains("_FISCAL_");
        let name = name.replacen("_FISCAL_", "_", 1);
        let (shape, unit) = name.rsplit_once('_')?;
        let (unit, plural) = match unit.strip_suffix('S') {
            Some(unit) => (unit_of(unit)?, true),
            None => (unit_of(unit)?, false),
        };
        if unit == Unit::Day || fiscal && !matches!(unit, Unit::Quarter | Unit::Year) {
            return None;
        }
        let fixed = |start| Self {
            unit,
            start,
            len: 1,
        };
        Some(match (shape, n, plural, ago) {
            ("THIS", None, false, false) => fixed(0),
            ("LAST", None, false, false) => fixed(-1),
            ("NEXT", None, false, false) => fixed(1),
            ("LAST_N", Some(n), true, false) => Self {
                unit,
                start: -n,
                len: n,
            },
            ("NEXT_N", Some(n), true, false) => Self::next(unit, n),
            ("N", Some(n), true, true) => fixed(-n),
            _ => return None,
        })
    }

    fn last_days(n: i64) -> Self {
        Self {
            unit: Unit::Day,
            start: -n,
            len: n + 1,
        }
    }

    fn next(unit: Unit, n: i64) -> Self {
        Self {
            unit,
            start: 1,
            len: n,
        }
    }

    /// The range `[start, end)` of days the literal covers on `today`.
    pub fn range(self, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
        let origin = match self.unit {
            Unit::Day => today,
            Unit::Week => today - Days::new(u64::from(today.weekday().num_days_from_sunday())),
            Unit::Month => today.with_day(1)?,
            Unit::Quarter => {
                NaiveDate::from_ymd_opt(today.year(), (today.month0() / 3) * 3 + 1, 1)?
            }
            Unit::Year => NaiveDate::from_ymd_opt(today.year(), 1, 1)?,
        };
        let shift = |date: NaiveDate, units: i64| -> Option<NaiveDate> {
            match self.unit {
                Unit::Day => add_days(date, units),
                Unit::Week => add_days(date, units * 7),
                Unit::Month => add_months(date, units),
                Unit::Quarter => add_months(date, units * 3),
                Unit::Year => add_months(date, units * 12),
            }
        };
        let start = shift(origin, self.start)?;
        Some((start, shift(start, self.len)?))
    }
}

fn unit_of(name: &str) -> Option<Unit> {
    Some(match name {
        "DAY" => Unit::Day,
        "WEEK" => Unit::Week,
        "MONTH" => Unit::Month,
        "QUARTER" => Unit::Quarter,
        "YEAR" => Unit::Year,
        _ => return None,
    })
}

fn add_days(date: NaiveDate, days: i64) -> Option<NaiveDate> {
    let magnitude = Days::new(days.unsigned_abs());
    if days >= 0 {
        date.checked_add_days(magnitude)
    } else {
        date.checked_sub_days(magnitude)
    }
}

fn add_months(date: NaiveDate, months: i64) -> Option<NaiveDate> {
    let magnitude = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
    if months >= 0 {
        date.checked_add_months(magnitude)
    } else {
        date.checked_sub_months(magnitude)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(literal: &str) -> (String, String) {
        let saturday = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let (start, end) = RelativeDate::parse(literal)
            .unwrap()
            .range(saturday)
            .unwrap();
        (start.to_string(), end.to_string())
    }

    fn days(start: &str, end: &str) -> (String, String) {
        (start.to_owned(), end.to_owned())
    }

    #[test]
    fn day_literals_cover_whole_days_and_last_n_days_includes_today() {
        assert_eq!(range("TODAY"), days("2026-11-28", "2026-11-29"));
        assert_eq!(range("yesterday"), days("2026-11-27", "2026-11-28"));
        assert_eq!(range("LAST_N_DAYS:1"), days("2026-11-27", "2026-11-29"));
        assert_eq!(range("NEXT_N_DAYS:2"), days("2026-11-29", "2026-12-01"));
        assert_eq!(range("LAST_90_DAYS"), days("2026-08-30", "2026-11-29"));
        assert_eq!(range("N_DAYS_AGO:3"), days("2026-11-25", "2026-11-26"));
    }

    #[test]
    fn ranges_beyond_the_calendar_are_none_rather_than_a_panic() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        for word in [
            "LAST_N_DAYS:4294967295",
            "NEXT_N_WEEKS:4294967295",
            "LAST_N_YEARS:4294967295",
        ] {
            assert_eq!(
                RelativeDate::parse(word).unwrap().range(today),
                None,
                "{word}"
            );
        }
    }

    #[test]
    fn weeks_start_on_sunday_and_larger_units_align_to_the_calendar() {
        assert_eq!(range("THIS_WEEK"), days("2026-11-22", "2026-11-29"));
        assert_eq!(range("LAST_N_WEEKS:2"), days("2026-11-08", "2026-11-22"));
        assert_eq!(range("LAST_MONTH"), days("2026-10-01", "2026-11-01"));
        assert_eq!(range("THIS_MONTH"), days("2026-11-01", "2026-12-01"));
        assert_eq!(range("LAST_N_MONTHS:2"), days("2026-09-01", "2026-11-01"));
        assert_eq!(range("NEXT_N_MONTHS:3"), days("2026-12-01", "2027-03-01"));
        assert_eq!(range("THIS_QUARTER"), days("2026-10-01", "2027-01-01"));
        assert_eq!(range("N_QUARTERS_AGO:1"), days("2026-07-01", "2026-10-01"));
        assert_eq!(range("NEXT_FISCAL_YEAR"), days("2027-01-01", "2028-01-01"));
        assert_eq!(
            range("LAST_N_FISCAL_QUARTERS:2"),
            days("2026-04-01", "2026-10-01")
        );
    }

    #[test]
    fn words_that_are_not_date_literals_are_refused() {
        for word in [
            "LAST_N_DAYS",
            "LAST_N_DAYS:x",
            "THIS_DAY",
            "THIS_FISCAL_MONTH",
            "LAST_N_MONTH:2",
            "LAST_N_DAYS:-1",
            "Name",
        ] {
            assert_eq!(RelativeDate::parse(word), None, "{word}");
        }
    }
}
