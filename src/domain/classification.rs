//! Whether a dossier was resolved early, on time or late: the product's explicit rule.
//!
//! Days are local (UTC+7) calendar days. Let `due` be the statutory due instant after pauses:
//! - **early** (trước hạn): resolved on a local day before the local day of `due`;
//! - **on time** (đúng hạn): resolved on the local day of `due`, at or before `due`;
//! - **late** (quá hạn): resolved after `due`.
//!
//! An open dossier is overdue (đang giải quyết quá hạn) once `now > due`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::calendar::LOCAL_OFFSET_SECONDS;

/// The judgement of a resolved dossier (or of a finished process step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Early,
    OnTime,
    Late,
}

wire_names!(Outcome {
    Early => "early",
    OnTime => "on_time",
    Late => "late",
});

/// The local (UTC+7) calendar day of an instant, as a day number (plain integer arithmetic, so
/// that no instant, however extreme, can make it fail).
fn local_day(instant: DateTime<Utc>) -> i64 {
    (instant.timestamp() + i64::from(LOCAL_OFFSET_SECONDS)).div_euclid(86_400)
}

/// Judges a resolution at `resolved_at` against the due instant `due`.
pub fn classify(due: DateTime<Utc>, resolved_at: DateTime<Utc>) -> Outcome {
    if resolved_at > due {
        Outcome::Late
    } else if local_day(resolved_at) < local_day(due) {
        Outcome::Early
    } else {
        Outcome::OnTime
    }
}

/// Whether an open dossier is past its due instant at `now` (strictly after `due`).
pub fn is_overdue(due: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now > due
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("valid test instant")
            .with_timezone(&Utc)
    }

    /// Friday 14 March 2025, 17:00 local.
    fn due() -> DateTime<Utc> {
        utc("2025-03-14T17:00:00+07:00")
    }

    /// Checks the outcome of work done at each `(done_at, outcome)` against `due_at`.
    fn assert_outcomes(due_at: DateTime<Utc>, cases: &[(&str, Outcome)]) {
        for &(done_at, expected) in cases {
            assert_eq!(
                classify(due_at, utc(done_at)),
                expected,
                "done at {done_at}"
            );
        }
    }

    #[test]
    fn exactly_at_due_is_on_time() {
        assert_eq!(classify(due(), due()), Outcome::OnTime);
        assert!(!is_overdue(due(), due()));
    }

    #[test]
    fn one_second_after_due_is_late() {
        let after = due() + TimeDelta::seconds(1);
        assert_eq!(classify(due(), after), Outcome::Late);
        assert!(is_overdue(due(), after));
        assert!(!is_overdue(due(), due() - TimeDelta::seconds(1)));
    }

    #[test]
    fn local_midnight_starts_the_due_day() {
        // 00:00 local on the due day is 17:00 UTC of the previous UTC day.
        let midnight = utc("2025-03-13T17:00:00Z");
        assert_eq!(midnight, utc("2025-03-14T00:00:00+07:00"));
        assert_eq!(classify(due(), midnight), Outcome::OnTime);
        // One second earlier is still the previous local day.
        assert_eq!(
            classify(due(), midnight - TimeDelta::seconds(1)),
            Outcome::Early
        );
    }

    #[test]
    fn same_day_before_due_is_on_time() {
        assert_outcomes(
            due(),
            &[
                ("2025-03-14T08:00:00+07:00", Outcome::OnTime),
                ("2025-03-10T08:00:00+07:00", Outcome::Early),
            ],
        );
    }

    #[test]
    fn last_minute_of_the_due_day_is_late_after_due() {
        assert_outcomes(due(), &[("2025-03-14T23:59:00+07:00", Outcome::Late)]);
        // A due instant at the very end of its local day.
        let end_of_day = utc("2025-03-14T23:59:59+07:00");
        assert_outcomes(
            end_of_day,
            &[
                ("2025-03-14T23:59:00+07:00", Outcome::OnTime),
                ("2025-03-15T00:00:00+07:00", Outcome::Late),
            ],
        );
    }

    #[test]
    fn due_whose_utc_date_differs_from_its_local_date() {
        // 05:00 local on 14 March is 22:00 UTC on 13 March.
        let early_due = utc("2025-03-14T05:00:00+07:00");
        assert_eq!(early_due, utc("2025-03-13T22:00:00Z"));
        // 23:30 local on 13 March (16:30 UTC, same UTC date as the due instant): previous local
        // day, so early, although a UTC-date rule would say on time.
        assert_outcomes(
            early_due,
            &[
                ("2025-03-13T16:30:00Z", Outcome::Early),
                // 00:30 local on 14 March (17:30 UTC on 13 March): the due day, so on time.
                ("2025-03-13T17:30:00Z", Outcome::OnTime),
                ("2025-03-13T22:00:01Z", Outcome::Late),
            ],
        );
    }

    #[test]
    fn extremes_do_not_panic() {
        let (min, max) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        assert_eq!(classify(max, min), Outcome::Early);
        assert_eq!(classify(min, max), Outcome::Late);
        assert_eq!(classify(max, max), Outcome::OnTime);
    }

    #[test]
    fn outcome_serde_is_snake_case() {
        assert_eq!(
            serde_json::to_string(&[Outcome::Early, Outcome::OnTime, Outcome::Late])
                .expect("serialisable"),
            r#"["early","on_time","late"]"#
        );
        assert_eq!(
            serde_json::from_str::<Outcome>(r#""on_time""#).expect("deserialisable"),
            Outcome::OnTime
        );
    }
}
