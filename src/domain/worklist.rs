//! A desk's queue (hồ sơ chờ xử lý): which of the dossiers sitting in a unit need attention first.
//!
//! The queue itself is ordered by the current step's due instant (the ISO time allotment of the
//! step); the flags say why an item is urgent, for the statutory deadline and for the step.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{
    calendar::{Calendar, CalendarError, to_local},
    classification::is_overdue,
    dossier::Status,
};

/// Working days ahead within which a dossier is "due soon": the default window of the due-soon
/// statistics, so the two views agree.
pub const DUE_SOON_WORKING_DAYS: i64 = 2;

/// Why a queued dossier needs attention. A dossier awaiting a supplement has its clock stopped and
/// carries no flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeskFlag {
    /// Quá hạn: past its statutory due instant; it will be counted late.
    Overdue,
    /// The current step has used up its allotted time (the procedure's written step times).
    StepOverdue,
    /// Not overdue, but the dossier or its current step falls due before today ends.
    DueToday,
    /// Not overdue nor due today, but due within [`DUE_SOON_WORKING_DAYS`] working days.
    DueSoon,
}

wire_names!(DeskFlag {
    Overdue => "overdue",
    StepOverdue => "step_overdue",
    DueToday => "due_today",
    DueSoon => "due_soon",
});

/// The flags of a dossier in `status`, due at `due` with its current step due at `step_due`, as of
/// `now`; in the order of [`DeskFlag`].
pub fn desk_flags(
    calendar: &Calendar,
    status: Status,
    due: DateTime<Utc>,
    step_due: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Vec<DeskFlag>, CalendarError> {
    if !status.clock_running() {
        return Ok(Vec::new());
    }
    let mut flags = Vec::new();
    let overdue = is_overdue(due, now);
    if overdue {
        flags.push(DeskFlag::Overdue);
    }
    if step_due.is_some_and(|step| is_overdue(step, now)) {
        flags.push(DeskFlag::StepOverdue);
    }
    if overdue {
        return Ok(flags);
    }
    let today = to_local(now).map(|t| t.date());
    let falls_today =
        |t: DateTime<Utc>| !is_overdue(t, now) && to_local(t).map(|t| t.date()) == today;
    if falls_today(due) || step_due.is_some_and(falls_today) {
        flags.push(DeskFlag::DueToday);
    } else {
        let horizon = calendar
            .add_working_minutes(now, DUE_SOON_WORKING_DAYS * calendar.standard_day_minutes())?;
        if due <= horizon {
            flags.push(DeskFlag::DueSoon);
        }
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};

    use super::*;
    use crate::domain::calendar::local_offset;

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        local_offset()
            .from_local_datetime(
                &NaiveDate::from_ymd_opt(y, m, d)
                    .and_then(|d| d.and_hms_opt(h, min, 0))
                    .expect("a valid date"),
            )
            .single()
            .expect("unambiguous")
            .with_timezone(&Utc)
    }

    fn flags(
        status: Status,
        due: DateTime<Utc>,
        step: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Vec<DeskFlag> {
        let calendar = Calendar::with_defaults().expect("default calendar");
        desk_flags(&calendar, status, due, step, now).expect("within the calendar")
    }

    #[test]
    fn a_dossier_past_its_due_instant_is_overdue_and_nothing_softer() {
        // Tuesday 4 March 2025, 10:00; due the day before.
        let now = local(2025, 3, 4, 10, 0);
        let due = local(2025, 3, 3, 17, 0);
        assert_eq!(
            flags(Status::Processing, due, Some(due), now),
            [DeskFlag::Overdue, DeskFlag::StepOverdue]
        );
    }

    #[test]
    fn a_late_step_is_flagged_while_the_dossier_still_has_time() {
        let now = local(2025, 3, 4, 10, 0);
        let step = local(2025, 3, 4, 9, 0);
        let due = local(2025, 3, 20, 17, 0);
        assert_eq!(
            flags(Status::Processing, due, Some(step), now),
            [DeskFlag::StepOverdue]
        );
    }

    #[test]
    fn due_today_by_the_dossier_or_by_its_step() {
        let now = local(2025, 3, 4, 10, 0);
        let later_today = local(2025, 3, 4, 16, 30);
        let far = local(2025, 3, 20, 17, 0);
        assert_eq!(
            flags(Status::Received, later_today, None, now),
            [DeskFlag::DueToday]
        );
        assert_eq!(
            flags(Status::Processing, far, Some(later_today), now),
            [DeskFlag::DueToday]
        );
    }

    #[test]
    fn due_soon_counts_working_days_across_the_weekend() {
        // Friday 7 March 2025, 10:00: two working days run to Tuesday 10:00.
        let now = local(2025, 3, 7, 10, 0);
        let monday = local(2025, 3, 10, 17, 0);
        let tuesday_morning = local(2025, 3, 11, 9, 0);
        let wednesday = local(2025, 3, 12, 17, 0);
        assert_eq!(
            flags(Status::Processing, monday, None, now),
            [DeskFlag::DueSoon]
        );
        assert_eq!(
            flags(Status::Processing, tuesday_morning, None, now),
            [DeskFlag::DueSoon]
        );
        assert_eq!(
            flags(Status::Processing, wednesday, None, now),
            Vec::<DeskFlag>::new()
        );
    }

    #[test]
    fn a_paused_dossier_carries_no_flag() {
        let now = local(2025, 3, 4, 10, 0);
        let due = local(2025, 3, 3, 17, 0);
        assert!(flags(Status::AwaitingSupplement, due, Some(due), now).is_empty());
    }
}
