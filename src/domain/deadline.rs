//! Due instants (ngày hẹn trả kết quả) of dossiers and of process steps.
//!
//! A statutory time limit (thời hạn giải quyết) is counted in working time from receipt; requests
//! for supplement (yêu cầu bổ sung hồ sơ) stop the clock. [`compute_due`] returns the due instant
//! together with every number it was derived from ([`DueComputation`]), so that the service can
//! store it beside the dossier and show how the appointment date came about.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::calendar::{self, Calendar, CalendarError};

/// The unit of a time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    /// Ngày làm việc: `amount ×` [`Calendar::standard_day_minutes`] working minutes.
    WorkingDays,
    /// Giờ làm việc: `amount × 60` working minutes.
    WorkingHours,
    /// Ngày (calendar days), see [`due_at`].
    CalendarDays,
}

wire_names!(TimeUnit {
    WorkingDays => "working_days",
    WorkingHours => "working_hours",
    CalendarDays => "calendar_days",
});

/// A statutory time limit, e.g. 15 working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimeLimit {
    pub amount: u32,
    pub unit: TimeUnit,
}

impl TimeLimit {
    pub fn working_days(amount: u32) -> Self {
        Self {
            amount,
            unit: TimeUnit::WorkingDays,
        }
    }

    pub fn working_hours(amount: u32) -> Self {
        Self {
            amount,
            unit: TimeUnit::WorkingHours,
        }
    }

    pub fn calendar_days(amount: u32) -> Self {
        Self {
            amount,
            unit: TimeUnit::CalendarDays,
        }
    }

    /// The limit in working minutes on `calendar`; `None` for calendar days, which are not
    /// working time.
    pub fn working_minutes(&self, calendar: &Calendar) -> Option<i64> {
        match self.unit {
            TimeUnit::WorkingDays => Some(i64::from(self.amount) * calendar.standard_day_minutes()),
            TimeUnit::WorkingHours => Some(i64::from(self.amount) * 60),
            TimeUnit::CalendarDays => None,
        }
    }
}

/// What happens to the clock when a requested supplement arrives (per procedure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupplementPolicy {
    /// The clock resumes: the paused working time is added to the due instant.
    #[default]
    Pause,
    /// The clock restarts: the full limit counts again from the resumption.
    Restart,
}

wire_names!(SupplementPolicy {
    Pause => "pause",
    Restart => "restart",
});

/// Why the clock stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseKind {
    /// Yêu cầu bổ sung hồ sơ: the applicant completes the dossier.
    #[default]
    Supplement,
    /// Yêu cầu thực hiện nghĩa vụ tài chính: the applicant pays the fees. Product rule: the clock
    /// always resumes afterwards, whatever the procedure's supplement policy.
    Payment,
}

wire_names!(PauseKind {
    Supplement => "supplement",
    Payment => "payment",
});

/// A period during which the clock stood still; open while `ended_at` is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub kind: PauseKind,
}

impl Pause {
    /// A request for supplement from `started_at` to `ended_at`.
    pub fn supplement(started_at: DateTime<Utc>, ended_at: Option<DateTime<Utc>>) -> Self {
        Self {
            started_at,
            ended_at,
            kind: PauseKind::Supplement,
        }
    }
}

/// Why a due instant cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeadlineError {
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    #[error(
        "the pause starting {started_at} begins before the dossier was received ({received_at})"
    )]
    PauseBeforeReceipt {
        started_at: DateTime<Utc>,
        received_at: DateTime<Utc>,
    },
    #[error("the pause starting {started_at} ends before it starts ({ended_at})")]
    PauseEndsBeforeStart {
        started_at: DateTime<Utc>,
        ended_at: DateTime<Utc>,
    },
    #[error("the pause starting {started_at} begins before the previous pause ends")]
    OverlappingPauses { started_at: DateTime<Utc> },
    #[error("the pause starting {started_at} is open but another pause follows it")]
    OpenPauseNotLast { started_at: DateTime<Utc> },
}

/// One pause as it entered a [`DueComputation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseRecord {
    /// Stored explanations from before payment waits existed have no kind: they were supplements.
    #[serde(default)]
    pub kind: PauseKind,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// `ended_at`, or for an open pause the `as_of` instant of the computation (never before
    /// `started_at`).
    pub counted_until: DateTime<Utc>,
    /// Working minutes in `[started_at, counted_until)`, truncated to whole minutes.
    pub working_minutes: i64,
    /// False when the pause began at or after the due instant reached so far: a dossier that was
    /// already late does not get its time back.
    pub counted: bool,
}

/// A due computation as stored beside a dossier: with the revision of the calendar it used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueExplanation {
    #[serde(flatten)]
    pub computation: DueComputation,
    pub calendar_revision: i64,
}

/// How a dossier's due instant was computed; stored beside the dossier as its explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueComputation {
    pub received_at: DateTime<Utc>,
    /// The first working instant at or after receipt.
    pub counting_starts_at: DateTime<Utc>,
    pub limit: TimeLimit,
    pub policy: SupplementPolicy,
    /// The limit in working minutes; `None` for calendar days.
    pub limit_minutes: Option<i64>,
    /// The pauses in chronological order.
    pub pauses: Vec<PauseRecord>,
    /// Sum of the working minutes of the counted pauses.
    pub total_paused_minutes: i64,
    /// The instant at which open pauses were taken to end.
    pub as_of: DateTime<Utc>,
    /// Under [`SupplementPolicy::Restart`], the resumption from which the limit last counted again.
    pub restarted_at: Option<DateTime<Utc>>,
    /// The statutory due instant after pauses.
    pub due_at: DateTime<Utc>,
}

/// The due instant of `limit` counted from `start`, without pauses.
///
/// - working days: `amount × standard_day_minutes` working minutes after `start`;
/// - working hours: `amount × 60` working minutes after `start`;
/// - calendar days (Civil Code 2015 art. 147–148: the day of the event is not counted, and a
///   period ending on a day off ends on the next working day): the end of the last office session
///   of the local date `amount` days after the local date of `start`, or of the next working day
///   when that date has no working time.
///
/// In working units, a `start` outside office hours counts from the next session start, and a
/// due instant that falls on a session boundary is the session end.
pub fn due_at(
    calendar: &Calendar,
    start: DateTime<Utc>,
    limit: TimeLimit,
) -> Result<DateTime<Utc>, CalendarError> {
    match limit.working_minutes(calendar) {
        Some(minutes) => calendar.add_working_minutes(start, minutes),
        None => {
            let out_of_range = || CalendarError::OutOfRange {
                subject: format!("{start} + {} calendar days", limit.amount),
            };
            let date = calendar::to_local(start)
                .ok_or_else(out_of_range)?
                .date()
                .checked_add_signed(TimeDelta::days(i64::from(limit.amount)))
                .ok_or_else(out_of_range)?;
            calendar.end_of_working_day_on_or_after(date)
        }
    }
}

/// The due instant of a process step (bước xử lý) that starts at `step_start` with
/// `allotted_minutes` of working time (e.g. 0.5 working day = `standard_day_minutes / 2`).
pub fn step_due_at(
    calendar: &Calendar,
    step_start: DateTime<Utc>,
    allotted_minutes: i64,
) -> Result<DateTime<Utc>, CalendarError> {
    calendar.add_working_minutes(step_start, allotted_minutes)
}

/// A pause with its end for the computation.
struct ResolvedPause {
    pause: Pause,
    until: DateTime<Utc>,
}

/// Sorts the pauses, checks them and resolves open ends to `as_of`.
fn resolve_pauses(
    received_at: DateTime<Utc>,
    pauses: &[Pause],
    as_of: DateTime<Utc>,
) -> Result<Vec<ResolvedPause>, DeadlineError> {
    let mut sorted = pauses.to_vec();
    sorted.sort_by_key(|p| p.started_at);
    let mut resolved: Vec<ResolvedPause> = Vec::with_capacity(sorted.len());
    for pause in sorted {
        if pause.started_at < received_at {
            return Err(DeadlineError::PauseBeforeReceipt {
                started_at: pause.started_at,
                received_at,
            });
        }
        if let Some(ended_at) = pause.ended_at
            && ended_at < pause.started_at
        {
            return Err(DeadlineError::PauseEndsBeforeStart {
                started_at: pause.started_at,
                ended_at,
            });
        }
        if let Some(previous) = resolved.last() {
            match previous.pause.ended_at {
                None => {
                    return Err(DeadlineError::OpenPauseNotLast {
                        started_at: previous.pause.started_at,
                    });
                }
                Some(previous_end) if pause.started_at < previous_end => {
                    return Err(DeadlineError::OverlappingPauses {
                        started_at: pause.started_at,
                    });
                }
                Some(_) => {}
            }
        }
        let until = pause.ended_at.unwrap_or(as_of).max(pause.started_at);
        resolved.push(ResolvedPause { pause, until });
    }
    Ok(resolved)
}

/// The statutory due instant of a dossier received at `received_at`, with its explanation.
///
/// Pauses are taken in chronological order; an open pause is taken to end at `as_of`. A pause
/// counts only if it begins before the due instant reached so far (a dossier already late stays
/// late). Under [`SupplementPolicy::Pause`] each counted pause adds its working minutes to the due
/// instant; under [`SupplementPolicy::Restart`] the full limit counts again from the end of a
/// request for supplement, while a wait for payment always adds its minutes.
pub fn compute_due(
    calendar: &Calendar,
    received_at: DateTime<Utc>,
    limit: TimeLimit,
    pauses: &[Pause],
    policy: SupplementPolicy,
    as_of: DateTime<Utc>,
) -> Result<DueComputation, DeadlineError> {
    let counting_starts_at = calendar.next_working_instant(received_at)?;
    let resolved = resolve_pauses(received_at, pauses, as_of)?;
    let mut due = due_at(calendar, received_at, limit)?;
    let mut records = Vec::with_capacity(resolved.len());
    let mut total_paused_minutes = 0;
    let mut restarted_at = None;
    for ResolvedPause { pause, until } in resolved {
        let working_minutes = calendar.working_minutes_between(pause.started_at, until)?;
        let counted = pause.started_at < due;
        if counted {
            total_paused_minutes += working_minutes;
            due = match (policy, pause.kind) {
                (SupplementPolicy::Pause, _) | (SupplementPolicy::Restart, PauseKind::Payment) => {
                    calendar.add_working_minutes(due, working_minutes)?
                }
                (SupplementPolicy::Restart, PauseKind::Supplement) => {
                    restarted_at = Some(until);
                    due_at(calendar, until, limit)?
                }
            };
        }
        records.push(PauseRecord {
            kind: pause.kind,
            started_at: pause.started_at,
            ended_at: pause.ended_at,
            counted_until: until,
            working_minutes,
            counted,
        });
    }
    Ok(DueComputation {
        received_at,
        counting_starts_at,
        limit,
        policy,
        limit_minutes: limit.working_minutes(calendar),
        pauses: records,
        total_paused_minutes,
        as_of,
        restarted_at,
        due_at: due,
    })
}

/// Working minutes used from `received_at` to `until`, excluding paused time (an open pause ends
/// at `until`); 0 if `until` is not after receipt. Used for the "time used" statistics.
pub fn working_time_used(
    calendar: &Calendar,
    received_at: DateTime<Utc>,
    pauses: &[Pause],
    until: DateTime<Utc>,
) -> Result<i64, DeadlineError> {
    if until <= received_at {
        return Ok(0);
    }
    let mut used = calendar.working_duration_between(received_at, until)?;
    for ResolvedPause { pause, until: end } in resolve_pauses(received_at, pauses, until)? {
        let end = end.min(until);
        if pause.started_at < end {
            used -= calendar.working_duration_between(pause.started_at, end)?;
        }
    }
    Ok(used.num_minutes())
}

/// The working time a dossier used and the limit it had, counted alike by the statistics and by
/// a dossier's deadline explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeUsed {
    /// Working minutes from receipt (or from the last restart of the clock, under
    /// [`SupplementPolicy::Restart`]) to the end, paused time excluded.
    pub used_minutes: i64,
    /// The statutory limit in working minutes (for a limit in calendar days: the working time those
    /// days hold from the same start).
    pub limit_minutes: i64,
}

/// Time used from receipt to `until` (resolution, withdrawal, or now) under `limit` and `policy`.
pub fn time_used(
    calendar: &Calendar,
    limit: TimeLimit,
    policy: SupplementPolicy,
    received_at: DateTime<Utc>,
    pauses: &[Pause],
    until: DateTime<Utc>,
) -> Result<TimeUsed, DeadlineError> {
    let due = compute_due(calendar, received_at, limit, pauses, policy, until)?;
    let start = due.restarted_at.unwrap_or(received_at);
    let later: Vec<Pause> = pauses
        .iter()
        .filter(|p| p.started_at >= start)
        .copied()
        .collect();
    let used_minutes = working_time_used(calendar, start, &later, until)?;
    let limit_minutes = match limit.working_minutes(calendar) {
        Some(minutes) => minutes,
        None => calendar.working_minutes_between(start, due_at(calendar, start, limit)?)?,
    };
    Ok(TimeUsed {
        used_minutes,
        limit_minutes,
    })
}

/// Working minutes from `now` to `due_at`: positive while time remains, negative once overdue.
pub fn working_time_left(
    calendar: &Calendar,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<i64, CalendarError> {
    calendar.working_minutes_between(now, due_at)
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use chrono::NaiveDate;
    use proptest::prelude::*;

    use super::*;
    use crate::domain::calendar::{HolidayRules, OfficeHours};

    static CAL: LazyLock<Calendar> =
        LazyLock::new(|| Calendar::with_defaults().expect("default calendar"));

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        let naive = NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|date| date.and_hms_opt(h, min, 0))
            .expect("valid test instant");
        calendar::from_local(naive).expect("in range")
    }

    fn closed(from: DateTime<Utc>, to: DateTime<Utc>) -> Pause {
        Pause::supplement(from, Some(to))
    }

    /// The due computation under the default supplement policy (pause).
    fn due_by_default_policy(
        received: DateTime<Utc>,
        limit: TimeLimit,
        pauses: &[Pause],
        as_of: DateTime<Utc>,
    ) -> Result<DueComputation, DeadlineError> {
        compute_due(
            &CAL,
            received,
            limit,
            pauses,
            SupplementPolicy::default(),
            as_of,
        )
    }

    /// The due computation of a dossier received on Monday 3 March 2025 at 09:00, as of 20 March.
    fn due_from_march_3(
        limit: TimeLimit,
        pauses: &[Pause],
        policy: SupplementPolicy,
    ) -> Result<DueComputation, DeadlineError> {
        let received = local(2025, 3, 3, 9, 0);
        compute_due(
            &CAL,
            received,
            limit,
            pauses,
            policy,
            local(2025, 3, 20, 0, 0),
        )
    }

    #[test]
    fn due_at_in_working_days_and_hours() {
        let received = local(2025, 1, 24, 14, 0);
        let cases = [
            (TimeLimit::working_days(1), local(2025, 1, 27, 14, 0)),
            (TimeLimit::working_days(2), local(2025, 2, 4, 14, 0)),
            (TimeLimit::working_hours(4), local(2025, 1, 27, 8, 30)),
            (TimeLimit::working_hours(3), local(2025, 1, 24, 17, 0)),
            (TimeLimit::working_days(0), received),
        ];
        for (limit, expected) in cases {
            assert_eq!(due_at(&CAL, received, limit), Ok(expected), "{limit:?}");
        }
    }

    #[test]
    fn due_at_in_calendar_days() {
        let received = local(2025, 1, 24, 14, 0);
        let due = |amount| due_at(&CAL, received, TimeLimit::calendar_days(amount));
        assert_eq!(due(0), Ok(local(2025, 1, 24, 17, 0)));
        assert_eq!(due(3), Ok(local(2025, 1, 27, 17, 0)));
        // Saturday → Monday.
        assert_eq!(due(1), Ok(local(2025, 1, 27, 17, 0)));
        // Tết (29 January) → the first working day after Tết and nghỉ bù: Tuesday 4 February.
        assert_eq!(due(5), Ok(local(2025, 2, 4, 17, 0)));
        assert_eq!(due(30), Ok(local(2025, 2, 24, 17, 0)));
    }

    #[test]
    fn counting_starts_from_the_local_day_of_receipt() {
        let cases = [
            // Received on a Saturday: counting starts on Monday 07:30.
            (
                local(2025, 3, 8, 10, 0),
                TimeLimit::working_days(5),
                local(2025, 3, 14, 17, 0),
            ),
            // Received late in the evening: its local date counts, not the UTC date.
            (
                local(2025, 3, 3, 23, 30),
                TimeLimit::calendar_days(1),
                local(2025, 3, 4, 17, 0),
            ),
        ];
        for (received, limit, expected) in cases {
            assert_eq!(
                due_at(&CAL, received, limit),
                Ok(expected),
                "{limit:?} from {received:?}"
            );
        }
    }

    /// A request for supplement from 4 to 6 March 09:00.
    fn pause_march_4_to_6() -> Pause {
        closed(local(2025, 3, 4, 9, 0), local(2025, 3, 6, 9, 0))
    }

    /// Five working days from 3 March, paused by [`pause_march_4_to_6`] under `policy`.
    fn five_days_paused_march_4_to_6(policy: SupplementPolicy) -> DueComputation {
        due_from_march_3(TimeLimit::working_days(5), &[pause_march_4_to_6()], policy)
            .expect("computable")
    }

    #[test]
    fn pause_policy_adds_paused_working_time() {
        let received = local(2025, 3, 3, 9, 0);
        let pause = pause_march_4_to_6();
        let c = five_days_paused_march_4_to_6(SupplementPolicy::Pause);
        assert_eq!(c.counting_starts_at, received);
        assert_eq!(c.limit_minutes, Some(2400));
        assert_eq!(c.pauses.len(), 1);
        assert_eq!(c.pauses[0].working_minutes, 960);
        assert!(c.pauses[0].counted);
        assert_eq!(c.total_paused_minutes, 960);
        assert_eq!(c.restarted_at, None);
        // 10 March 09:00 without the pause, plus two working days.
        assert_eq!(c.due_at, local(2025, 3, 12, 9, 0));
        assert_eq!(
            working_time_used(&CAL, received, &[pause], c.due_at),
            Ok(2400)
        );
    }

    #[test]
    fn restart_policy_counts_the_full_limit_again() {
        let c = five_days_paused_march_4_to_6(SupplementPolicy::Restart);
        assert_eq!(c.restarted_at, Some(local(2025, 3, 6, 9, 0)));
        assert_eq!(c.total_paused_minutes, 960);
        assert_eq!(c.due_at, local(2025, 3, 13, 9, 0));
    }

    #[test]
    fn a_wait_for_payment_resumes_the_clock_even_under_the_restart_policy() {
        let supplement = pause_march_4_to_6();
        let payment = Pause {
            kind: PauseKind::Payment,
            ..supplement
        };
        for policy in [SupplementPolicy::Pause, SupplementPolicy::Restart] {
            let c = due_from_march_3(TimeLimit::working_days(5), &[payment], policy)
                .expect("computable");
            assert_eq!(c.restarted_at, None, "{policy:?}");
            assert_eq!(c.pauses[0].kind, PauseKind::Payment);
            // As for a supplement under the pause policy: two working days later.
            assert_eq!(c.due_at, local(2025, 3, 12, 9, 0), "{policy:?}");
        }
    }

    #[test]
    fn open_pause_ends_at_as_of() {
        let received = local(2025, 3, 3, 9, 0);
        let open = Pause::supplement(local(2025, 3, 4, 9, 0), None);
        let as_of = |at| {
            due_by_default_policy(received, TimeLimit::working_days(5), &[open], at)
                .expect("computable")
        };
        let c = as_of(local(2025, 3, 5, 9, 0));
        assert_eq!(c.pauses[0].counted_until, local(2025, 3, 5, 9, 0));
        assert_eq!(c.total_paused_minutes, 480);
        assert_eq!(c.due_at, local(2025, 3, 11, 9, 0));
        // `as_of` before the pause began: the pause has no length yet.
        let c = as_of(local(2025, 3, 3, 10, 0));
        assert_eq!(c.pauses[0].counted_until, open.started_at);
        assert_eq!(c.due_at, local(2025, 3, 10, 9, 0));
        assert_eq!(
            working_time_used(&CAL, received, &[open], local(2025, 3, 6, 9, 0)),
            Ok(480)
        );
    }

    #[test]
    fn pauses_after_the_due_instant_do_not_count() {
        let late = closed(local(2025, 3, 5, 9, 0), local(2025, 3, 7, 9, 0));
        let c = due_from_march_3(TimeLimit::working_days(1), &[late], SupplementPolicy::Pause)
            .expect("computable");
        assert!(!c.pauses[0].counted);
        assert_eq!(c.pauses[0].working_minutes, 960);
        assert_eq!(c.total_paused_minutes, 0);
        assert_eq!(c.due_at, local(2025, 3, 4, 9, 0));
    }

    #[test]
    fn several_pauses_and_calendar_days() {
        let pauses = [
            // Given out of order: they are sorted.
            closed(local(2025, 3, 6, 13, 0), local(2025, 3, 6, 15, 0)),
            closed(local(2025, 3, 4, 8, 0), local(2025, 3, 4, 9, 0)),
        ];
        let c = due_from_march_3(TimeLimit::working_days(5), &pauses, SupplementPolicy::Pause)
            .expect("computable");
        assert_eq!(c.pauses[0].started_at, local(2025, 3, 4, 8, 0));
        assert_eq!(c.total_paused_minutes, 180);
        // 10 March 09:00 + 60 + 120 working minutes (lunch break skipped).
        assert_eq!(c.due_at, local(2025, 3, 10, 13, 30));
        // Calendar days: the base due instant is a day end; paused working time follows it.
        let c = due_from_march_3(
            TimeLimit::calendar_days(10),
            &pauses,
            SupplementPolicy::Pause,
        )
        .expect("computable");
        assert_eq!(c.limit_minutes, None);
        assert_eq!(c.due_at, local(2025, 3, 14, 10, 30));
    }

    #[test]
    fn received_outside_office_hours() {
        let saturday = local(2025, 3, 8, 10, 0);
        let c = due_by_default_policy(saturday, TimeLimit::working_hours(8), &[], saturday)
            .expect("computable");
        assert_eq!(c.counting_starts_at, local(2025, 3, 10, 7, 30));
        assert_eq!(c.due_at, local(2025, 3, 10, 17, 0));
        assert_eq!(c.policy, SupplementPolicy::Pause);
    }

    #[test]
    fn invalid_pauses_are_rejected() {
        let compute = |pauses: &[Pause]| {
            due_from_march_3(TimeLimit::working_days(5), pauses, SupplementPolicy::Pause)
        };
        let before = closed(local(2025, 3, 2, 9, 0), local(2025, 3, 4, 9, 0));
        assert!(matches!(
            compute(&[before]),
            Err(DeadlineError::PauseBeforeReceipt { .. })
        ));
        let reversed = closed(local(2025, 3, 5, 9, 0), local(2025, 3, 4, 9, 0));
        assert!(matches!(
            compute(&[reversed]),
            Err(DeadlineError::PauseEndsBeforeStart { .. })
        ));
        let a = closed(local(2025, 3, 4, 9, 0), local(2025, 3, 5, 9, 0));
        let b = closed(local(2025, 3, 5, 8, 0), local(2025, 3, 6, 9, 0));
        assert_eq!(
            compute(&[a, b]).err(),
            Some(DeadlineError::OverlappingPauses {
                started_at: b.started_at
            })
        );
        let open = Pause::supplement(local(2025, 3, 4, 9, 0), None);
        let later = closed(local(2025, 3, 5, 9, 0), local(2025, 3, 6, 9, 0));
        assert_eq!(
            compute(&[open, later]).err(),
            Some(DeadlineError::OpenPauseNotLast {
                started_at: open.started_at
            })
        );
        assert!(matches!(
            due_by_default_policy(
                local(2101, 1, 2, 9, 0),
                TimeLimit::working_days(1),
                &[],
                local(2101, 1, 2, 9, 0)
            ),
            Err(DeadlineError::Calendar(CalendarError::OutOfRange { .. }))
        ));
    }

    #[test]
    fn due_computation_round_trips_through_json() {
        let c = due_by_default_policy(
            local(2025, 1, 24, 14, 0),
            TimeLimit::working_days(30),
            &[closed(local(2025, 2, 5, 9, 0), local(2025, 2, 7, 15, 0))],
            local(2025, 4, 1, 0, 0),
        )
        .expect("computable");
        let json = serde_json::to_value(&c).expect("serialisable");
        assert_eq!(
            json["limit"],
            serde_json::json!({"amount": 30, "unit": "working_days"})
        );
        assert_eq!(json["policy"], "pause");
        assert_eq!(
            json["due_at"],
            serde_json::to_value(c.due_at).expect("serialisable")
        );
        let back: DueComputation = serde_json::from_value(json).expect("deserialisable");
        assert_eq!(back, c);
        assert_eq!(
            serde_json::to_string(&SupplementPolicy::Restart).expect("serialisable"),
            r#""restart""#
        );
        assert_eq!(
            serde_json::to_string(&TimeUnit::CalendarDays).expect("serialisable"),
            r#""calendar_days""#
        );
    }

    #[test]
    fn time_used_counts_from_the_restart_under_the_restart_policy() {
        let received = local(2025, 3, 3, 8, 0);
        // Paused from Tuesday 08:00 to Wednesday of the next week 08:00; resolved a day later.
        let pauses = [closed(local(2025, 3, 4, 8, 0), local(2025, 3, 12, 8, 0))];
        let resolved = local(2025, 3, 13, 8, 0);
        let day = CAL.standard_day_minutes();
        let limit = TimeLimit::working_days(5);
        let used = |policy| time_used(&CAL, limit, policy, received, &pauses, resolved).unwrap();
        let restart = used(SupplementPolicy::Restart);
        assert_eq!(
            restart.used_minutes, day,
            "only the day after the restart counts"
        );
        assert_eq!(restart.limit_minutes, 5 * day);
        let pause = used(SupplementPolicy::Pause);
        assert_eq!(
            pause.used_minutes,
            2 * day,
            "the day before the pause counts too"
        );
        assert_eq!(
            pause.used_minutes,
            working_time_used(&CAL, received, &pauses, resolved).unwrap()
        );
    }

    #[test]
    fn working_time_left_and_step_due() {
        let due = local(2025, 3, 12, 9, 0);
        assert_eq!(
            working_time_left(&CAL, due, local(2025, 3, 11, 9, 0)),
            Ok(480)
        );
        assert_eq!(
            working_time_left(&CAL, due, local(2025, 3, 12, 10, 0)),
            Ok(-60)
        );
        // A 0.5-day reception step from Friday 15:00: Monday 09:30.
        let half_day = CAL.standard_day_minutes() / 2;
        assert_eq!(
            step_due_at(&CAL, local(2025, 3, 7, 15, 0), half_day),
            Ok(local(2025, 3, 10, 9, 30))
        );
        assert_eq!(
            step_due_at(&CAL, local(2025, 3, 7, 15, 0), -1),
            Err(CalendarError::NegativeAmount(-1))
        );
    }

    #[test]
    fn working_time_used_without_pauses_and_before_receipt() {
        let received = local(2025, 3, 3, 9, 0);
        assert_eq!(
            working_time_used(&CAL, received, &[], local(2025, 3, 4, 9, 0)),
            Ok(480)
        );
        assert_eq!(working_time_used(&CAL, received, &[], received), Ok(0));
        assert_eq!(
            working_time_used(&CAL, received, &[], local(2025, 3, 1, 9, 0)),
            Ok(0)
        );
    }

    #[test]
    fn standard_day_follows_the_office_hours() {
        let long = OfficeHours::default().with_sessions(
            chrono::Weekday::Mon,
            vec![calendar::Session::hm(7, 0, 12, 0).expect("valid")],
        );
        let cal = Calendar::new(long, vec![], HolidayRules::default()).expect("valid calendar");
        assert_eq!(cal.standard_day_minutes(), 480);
        assert_eq!(TimeLimit::working_days(2).working_minutes(&cal), Some(960));
        assert_eq!(TimeLimit::working_hours(2).working_minutes(&cal), Some(120));
    }

    fn minute_instant(
        lo: DateTime<Utc>,
        span_minutes: i64,
    ) -> impl Strategy<Value = DateTime<Utc>> {
        (0..span_minutes).prop_map(move |m| lo + TimeDelta::minutes(m))
    }

    proptest! {
        /// Under the pause policy, the working time used at the due instant is exactly the limit
        /// when every pause counted and is closed.
        #[test]
        fn used_time_at_due_is_the_limit(
            received in minute_instant(local(2024, 1, 1, 0, 0), 2 * 365 * 24 * 60),
            days in 1u32..60,
            gaps in prop::collection::vec((0i64..5_000, 1i64..5_000), 0..4),
        ) {
            let limit = TimeLimit::working_days(days);
            let mut pauses = Vec::new();
            let mut cursor = received;
            for (gap, length) in gaps {
                let start = cursor + TimeDelta::minutes(gap);
                let end = start + TimeDelta::minutes(length);
                pauses.push(closed(start, end));
                cursor = end;
            }
            let c = compute_due(&CAL, received, limit, &pauses, SupplementPolicy::Pause, cursor)
                .expect("computable");
            let counted: Vec<Pause> = pauses
                .iter()
                .zip(&c.pauses)
                .filter(|(_, record)| record.counted)
                .map(|(pause, _)| *pause)
                .collect();
            prop_assert_eq!(
                working_time_used(&CAL, received, &counted, c.due_at),
                Ok(i64::from(days) * 480)
            );
            // Paused time only ever moves the due instant later.
            let plain = due_at(&CAL, received, limit).expect("in range");
            prop_assert!(c.due_at >= plain);
            prop_assert_eq!(
                CAL.working_minutes_between(plain, c.due_at),
                Ok(c.total_paused_minutes)
            );
        }
    }
}
