//! Cron expressions: standard 5 fields (`minute hour day-of-month month day-of-week`), or 6
//! with seconds first. Names (`MON`, `JAN`), ranges, lists and steps are accepted, as are the
//! `@daily`-style nicknames; a day given both as day-of-month and day-of-week fires on either
//! (as in Vixie cron). Times are UTC: a schedule has no time zone and no daylight saving.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

use crate::error::{EngineError, Result};

/// A validated cron expression.
#[derive(Clone)]
pub struct Schedule {
    expression: String,
    cron: Cron,
}

impl Schedule {
    /// Parses `expression`; `InvalidArgument` naming the expression when it is not a valid
    /// 5- or 6-field cron expression.
    pub fn parse(expression: &str) -> Result<Self> {
        let invalid = |why: String| {
            EngineError::InvalidArgument(format!(
                "invalid cron expression {:?}: {why}",
                expression.chars().take(100).collect::<String>()
            ))
        };
        let trimmed = expression.trim();
        let fields = trimmed.split_whitespace().count();
        if !(trimmed.starts_with('@') || fields == 5 || fields == 6) {
            return Err(invalid(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with \
                 seconds first, found {fields}"
            )));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build()
            .parse(trimmed)
            .map_err(|err| invalid(err.to_string()))?;
        let schedule = Self {
            expression: trimmed.to_string(),
            cron,
        };
        // An expression that can never fire (`0 0 30 2 *`) is a mistake, not a schedule.
        if schedule.next_after(Utc::now()).is_none() {
            return Err(invalid("it never fires".to_string()));
        }
        Ok(schedule)
    }

    /// The expression as given (trimmed).
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The first firing strictly after `after` (whole seconds, UTC); `None` when there is none.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Strictly after: from a fractional instant, the next whole second may already be a
        // firing, so search inclusively from there.
        let from = after.trunc_subsecs(0);
        let inclusive = from != after;
        let from = if inclusive {
            from + chrono::Duration::seconds(1)
        } else {
            from
        };
        self.cron.find_next_occurrence(&from, inclusive).ok()
    }
}

impl FromStr for Schedule {
    type Err = EngineError;

    fn from_str(expression: &str) -> Result<Self> {
        Self::parse(expression)
    }
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Schedule").field(&self.expression).finish()
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expression)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn five_fields_fire_on_the_minute_in_utc() {
        let every_quarter = Schedule::parse("*/15 * * * *").unwrap();
        assert_eq!(
            every_quarter.next_after(at(2026, 11, 28, 3, 7, 30)),
            Some(at(2026, 11, 28, 3, 15, 0))
        );
        let nightly = Schedule::parse("0 3 * * *").unwrap();
        assert_eq!(
            nightly.next_after(at(2026, 11, 28, 3, 0, 0)),
            Some(at(2026, 11, 29, 3, 0, 0)),
            "strictly after: a firing at the instant itself is not the next one"
        );
    }

    #[test]
    fn six_fields_put_seconds_first() {
        let every_ten_seconds = Schedule::parse("*/10 * * * * *").unwrap();
        assert_eq!(
            every_ten_seconds.next_after(at(2026, 11, 28, 3, 0, 0)),
            Some(at(2026, 11, 28, 3, 0, 10))
        );
        let fractional = at(2026, 11, 28, 3, 0, 9) + chrono::Duration::milliseconds(500);
        assert_eq!(
            every_ten_seconds.next_after(fractional),
            Some(at(2026, 11, 28, 3, 0, 10)),
            "the next whole second counts when the instant has a fraction"
        );
    }

    #[test]
    fn names_and_ranges_are_understood() {
        let weekdays = Schedule::parse("30 6 * * MON-FRI").unwrap();
        // 2026-11-28 is a Saturday: the next weekday is Monday the 30th.
        assert_eq!(
            weekdays.next_after(at(2026, 11, 28, 12, 0, 0)),
            Some(at(2026, 11, 30, 6, 30, 0))
        );
    }

    #[test]
    fn invalid_expressions_are_refused_naming_the_expression() {
        for bad in [
            "",
            "* * * *",
            "0 0 0 * * * 2027",
            "61 * * * *",
            "* * * * FUNDAY",
            "0 0 30 2 *",
        ] {
            let err = Schedule::parse(bad).unwrap_err();
            assert!(
                matches!(err, EngineError::InvalidArgument(_)),
                "{bad}: {err}"
            );
            assert!(
                err.to_string().contains(&format!("{:?}", bad)),
                "names the expression: {err}"
            );
        }
    }
}
