//! The working calendar of an agency: office sessions, weekly rest days, public holidays and the
//! administrator's overrides, and the arithmetic of working time on top of them.
//!
//! Every day from [`FIRST_DAY`] to [`LAST_DAY`] (local dates) is classified once, when the
//! calendar is built, together with the cumulative working time at the start of each day. Working
//! time arithmetic is then a binary search over those prefix sums plus a walk over the few sessions
//! of a single day, so its cost does not grow with the length of a time limit.
//!
//! Local time is Asia/Ho_Chi_Minh, a fixed UTC+7 without daylight saving time; every public
//! instant is a `DateTime<Utc>`.

pub mod holidays;
pub mod lunar;

use std::fmt;

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Utc,
    Weekday,
};
use serde::{Deserialize, Serialize};

pub use holidays::{CalendarKind, HolidayKind, HolidayRule, HolidayRuleError, HolidayRules};
pub use lunar::LunarError;

/// Seconds east of UTC of the local clock (Asia/Ho_Chi_Minh, UTC+7, no DST).
pub const LOCAL_OFFSET_SECONDS: i32 = 7 * 3600;

/// The local clock, Asia/Ho_Chi_Minh: UTC+7 all year.
pub const LOCAL_OFFSET: FixedOffset = match FixedOffset::east_opt(LOCAL_OFFSET_SECONDS) {
    Some(offset) => offset,
    None => panic!("UTC+7 is a valid offset"),
};

/// First local date the calendar covers.
pub const FIRST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(1990, 1, 1) {
    Some(date) => date,
    None => panic!("1990-01-01 is a valid date"),
};

/// Last local date the calendar covers.
pub const LAST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(2100, 12, 31) {
    Some(date) => date,
    None => panic!("2100-12-31 is a valid date"),
};

/// First day of the five-day week of state agencies (Decision 188/1999/QĐ-TTg on the 40-hour
/// week): before it, Saturday was a working day.
pub const FIVE_DAY_WEEK_FROM: NaiveDate = match NaiveDate::from_ymd_opt(1999, 10, 1) {
    Some(date) => date,
    None => panic!("1999-10-01 is a valid date"),
};

/// The statutory weekly rest days of state agencies: Sunday, and Saturday from
/// [`FIVE_DAY_WEEK_FROM`].
pub fn is_statutory_rest_day(date: NaiveDate) -> bool {
    match date.weekday() {
        Weekday::Sun => true,
        Weekday::Sat => date >= FIVE_DAY_WEEK_FROM,
        _ => false,
    }
}

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const NANOS_PER_MINUTE: i64 = 60 * NANOS_PER_SECOND;
/// Marks a day without office sessions in [`DayRecord::sessions`].
const NO_SESSIONS: u8 = 7;

/// The local clock, Asia/Ho_Chi_Minh: UTC+7 all year.
pub fn local_offset() -> FixedOffset {
    LOCAL_OFFSET
}

/// The local (UTC+7) date and time of an instant, `None` only at the edge of chrono's range.
pub fn to_local(instant: DateTime<Utc>) -> Option<NaiveDateTime> {
    instant
        .naive_utc()
        .checked_add_signed(TimeDelta::seconds(i64::from(LOCAL_OFFSET_SECONDS)))
}

/// The instant of a local (UTC+7) date and time, `None` only at the edge of chrono's range.
pub fn from_local(local: NaiveDateTime) -> Option<DateTime<Utc>> {
    local
        .checked_sub_signed(TimeDelta::seconds(i64::from(LOCAL_OFFSET_SECONDS)))
        .map(|naive| naive.and_utc())
}

/// An office session, local time, `start` inclusive and `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Session {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Session {
    /// A session from `start` to `end`.
    pub fn new(start: NaiveTime, end: NaiveTime) -> Self {
        Self { start, end }
    }

    /// A session from `start_hour:start_minute` to `end_hour:end_minute`; `None` for an invalid time.
    pub fn hm(start_hour: u32, start_minute: u32, end_hour: u32, end_minute: u32) -> Option<Self> {
        Some(Self {
            start: NaiveTime::from_hms_opt(start_hour, start_minute, 0)?,
            end: NaiveTime::from_hms_opt(end_hour, end_minute, 0)?,
        })
    }

    /// Length in minutes (negative for an invalid session with `end < start`).
    pub fn minutes(&self) -> i64 {
        (self.end - self.start).num_minutes()
    }
}

/// Why office hours are rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfficeHoursError {
    #[error("{weekday}: session {index} does not end after it starts")]
    EmptySession { weekday: Weekday, index: usize },
    #[error("{weekday}: session {index} does not start and end on whole minutes")]
    NotWholeMinute { weekday: Weekday, index: usize },
    #[error("{weekday}: session {index} starts before the previous session ends")]
    Overlapping { weekday: Weekday, index: usize },
    #[error("no weekday has an office session")]
    NoSessions,
}

/// The office sessions of each day of the week (giờ làm việc), in local time.
///
/// A weekday without sessions is a weekly rest day. The default is Monday–Friday 07:30–11:30 and
/// 13:00–17:00, Saturday and Sunday off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficeHours {
    #[serde(default)]
    pub monday: Vec<Session>,
    #[serde(default)]
    pub tuesday: Vec<Session>,
    #[serde(default)]
    pub wednesday: Vec<Session>,
    #[serde(default)]
    pub thursday: Vec<Session>,
    #[serde(default)]
    pub friday: Vec<Session>,
    #[serde(default)]
    pub saturday: Vec<Session>,
    #[serde(default)]
    pub sunday: Vec<Session>,
}

impl Default for OfficeHours {
    fn default() -> Self {
        let day = || {
            vec![
                Session::new(hm(7, 30), hm(11, 30)),
                Session::new(hm(13, 0), hm(17, 0)),
            ]
        };
        Self {
            monday: day(),
            tuesday: day(),
            wednesday: day(),
            thursday: day(),
            friday: day(),
            saturday: Vec::new(),
            sunday: Vec::new(),
        }
    }
}

/// A whole-minute time of day; only called with literal, valid values.
fn hm(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN)
}

/// The days of the week, Monday first.
pub(crate) const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

impl OfficeHours {
    /// The sessions of `weekday`.
    pub fn sessions(&self, weekday: Weekday) -> &[Session] {
        match weekday {
            Weekday::Mon => &self.monday,
            Weekday::Tue => &self.tuesday,
            Weekday::Wed => &self.wednesday,
            Weekday::Thu => &self.thursday,
            Weekday::Fri => &self.friday,
            Weekday::Sat => &self.saturday,
            Weekday::Sun => &self.sunday,
        }
    }

    /// The same office hours with the sessions of `weekday` replaced.
    pub fn with_sessions(mut self, weekday: Weekday, sessions: Vec<Session>) -> Self {
        let slot = match weekday {
            Weekday::Mon => &mut self.monday,
            Weekday::Tue => &mut self.tuesday,
            Weekday::Wed => &mut self.wednesday,
            Weekday::Thu => &mut self.thursday,
            Weekday::Fri => &mut self.friday,
            Weekday::Sat => &mut self.saturday,
            Weekday::Sun => &mut self.sunday,
        };
        *slot = sessions;
        self
    }

    /// Checks that each weekday's sessions are on whole minutes, non-empty (`start < end`), sorted
    /// and non-overlapping (touching is allowed), and that the week has at least one session.
    pub fn validate(&self) -> Result<(), OfficeHoursError> {
        for weekday in WEEK {
            let sessions = self.sessions(weekday);
            for (index, session) in sessions.iter().enumerate() {
                let whole = |t: NaiveTime| t.second() == 0 && t.nanosecond() == 0;
                if !whole(session.start) || !whole(session.end) {
                    return Err(OfficeHoursError::NotWholeMinute { weekday, index });
                }
                if session.start >= session.end {
                    return Err(OfficeHoursError::EmptySession { weekday, index });
                }
                if index > 0 && session.start < sessions[index - 1].end {
                    return Err(OfficeHoursError::Overlapping { weekday, index });
                }
            }
        }
        if WEEK.iter().all(|&w| self.sessions(w).is_empty()) {
            return Err(OfficeHoursError::NoSessions);
        }
        Ok(())
    }

    /// Total working minutes of `weekday`.
    pub fn day_minutes(&self, weekday: Weekday) -> i64 {
        self.sessions(weekday).iter().map(Session::minutes).sum()
    }

    /// The working minutes of one standard working day (ngày làm việc), the unit of a time limit in
    /// working days: the largest total of any weekday (480 by default). A short day such as a
    /// Saturday morning therefore does not shrink the unit; it just counts as part of a day.
    pub fn standard_day_minutes(&self) -> i64 {
        WEEK.iter().map(|&w| self.day_minutes(w)).max().unwrap_or(0)
    }
}

/// What a day is, once built-in rules and overrides are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A day of the week with office sessions (ngày làm việc).
    Working,
    /// A day of the week without office sessions (ngày nghỉ hằng tuần).
    Weekend,
    /// A public holiday, built in or set by an administrator (ngày nghỉ lễ, Tết).
    Holiday,
    /// A compensatory day off for a holiday on a rest day (nghỉ bù).
    CompensatoryDayOff,
    /// A rest day made a working day by an administrator (ngày làm bù); it has Monday's sessions.
    MakeUpWorkingDay,
}

/// What an administrator's override makes of a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverrideKind {
    Holiday,
    Working,
}

wire_names!(OverrideKind {
    Holiday => "holiday",
    Working => "working",
});

/// An administrator's decision for one date; it wins over the built-in rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayOverride {
    pub date: NaiveDate,
    pub kind: OverrideKind,
    pub name: Option<String>,
}

/// One day of the calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayInfo {
    pub date: NaiveDate,
    pub kind: DayKind,
    /// Name of the holiday, compensatory day or override, if any.
    pub name: Option<String>,
    pub working_minutes: i64,
}

/// Why the calendar cannot answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The instant, date or result lies outside [`FIRST_DAY`]..=[`LAST_DAY`] (local dates).
    #[error(
        "{subject} is outside the calendar's range {}..={} (local dates, UTC+7)",
        FIRST_DAY,
        LAST_DAY
    )]
    OutOfRange { subject: String },
    #[error("invalid office hours: {0}")]
    OfficeHours(#[from] OfficeHoursError),
    #[error("more than one override for {0}")]
    DuplicateOverride(NaiveDate),
    #[error("an amount of working time cannot be negative ({0} minutes)")]
    NegativeAmount(i64),
    #[error("lunar calendar: {0}")]
    Lunar(#[from] LunarError),
}

fn out_of_range(subject: impl fmt::Display) -> CalendarError {
    CalendarError::OutOfRange {
        subject: subject.to_string(),
    }
}

/// A classified day; `sessions` indexes [`Calendar::weekday_sessions`] (Monday = 0).
#[derive(Debug, Clone)]
struct DayRecord {
    kind: DayKind,
    name: Option<Box<str>>,
    sessions: u8,
}

/// The working calendar. Immutable: rebuild it when office hours, overrides or rules change.
#[derive(Clone)]
pub struct Calendar {
    office_hours: OfficeHours,
    overrides: Vec<DayOverride>,
    rules: HolidayRules,
    /// Session bounds of each weekday (Monday = 0), in nanoseconds since local midnight.
    weekday_sessions: [Vec<(i64, i64)>; 7],
    /// One record per local date from `FIRST_DAY`.
    days: Vec<DayRecord>,
    /// `prefix[i]`: working nanoseconds from `FIRST_DAY` 00:00 to the start of day `i`;
    /// `days.len() + 1` entries, non-decreasing.
    prefix: Vec<i64>,
}

impl fmt::Debug for Calendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Calendar")
            .field("office_hours", &self.office_hours)
            .field("overrides", &self.overrides)
            .field("rules", &self.rules)
            .field("days", &self.days.len())
            .finish_non_exhaustive()
    }
}

fn nanos_of_time(time: NaiveTime) -> i64 {
    // A leap second (nanosecond >= 1e9) is folded into the last nanosecond of its second.
    i64::from(time.num_seconds_from_midnight()) * NANOS_PER_SECOND
        + i64::from(time.nanosecond().min(999_999_999))
}

fn time_of_nanos(nanos: i64) -> Option<NaiveTime> {
    let secs = u32::try_from(nanos.div_euclid(NANOS_PER_SECOND)).ok()?;
    let sub = u32::try_from(nanos.rem_euclid(NANOS_PER_SECOND)).ok()?;
    NaiveTime::from_num_seconds_from_midnight_opt(secs, sub)
}

impl Calendar {
    /// Builds the calendar: validates the office hours, generates the holidays of every covered
    /// year from the built-in and added rules, and applies `overrides`, which win over the rules:
    /// - `Holiday` on any date makes it a [`DayKind::Holiday`] with the override's name;
    /// - `Working` on a day with office sessions makes it [`DayKind::Working`] (even on a holiday
    ///   or compensatory day); on a weekly rest day it makes it a [`DayKind::MakeUpWorkingDay`]
    ///   with Monday's sessions (if Monday has none, the day carries no working time).
    ///
    /// A Saturday before [`FIVE_DAY_WEEK_FROM`] without sessions of its own is a working day with
    /// Monday's sessions (none if Monday has none: then it stays a rest day).
    ///
    /// Compensatory days are derived from the rules' holidays only: an override changes its own
    /// date and nothing else, so the administrator enters the government's arrangement as it is.
    pub fn new(
        office_hours: OfficeHours,
        mut overrides: Vec<DayOverride>,
        rules: HolidayRules,
    ) -> Result<Self, CalendarError> {
        office_hours.validate()?;
        let weekday_sessions: [Vec<(i64, i64)>; 7] = WEEK.map(|weekday| {
            office_hours
                .sessions(weekday)
                .iter()
                .map(|s| (nanos_of_time(s.start), nanos_of_time(s.end)))
                .collect()
        });

        // The sessions (a weekday index) of a date by the week alone; `None` on a weekly rest day.
        let week_sessions = |date: NaiveDate| -> Option<u8> {
            let weekday = date.weekday().num_days_from_monday() as usize;
            if !weekday_sessions[weekday].is_empty() {
                Some(weekday as u8)
            } else if date.weekday() == Weekday::Sat
                && date < FIVE_DAY_WEEK_FROM
                && !weekday_sessions[0].is_empty()
            {
                Some(0)
            } else {
                None
            }
        };
        let count = day_count();
        let mut days: Vec<DayRecord> = FIRST_DAY
            .iter_days()
            .take(count)
            .map(|date| match week_sessions(date) {
                Some(sessions) => DayRecord {
                    kind: DayKind::Working,
                    name: None,
                    sessions,
                },
                None => DayRecord {
                    kind: DayKind::Weekend,
                    name: None,
                    sessions: NO_SESSIONS,
                },
            })
            .collect();

        let is_rest_day = |date: NaiveDate| week_sessions(date).is_none();
        let built_in = holidays::public_holidays_with_rest_days(
            FIRST_DAY.year()..=LAST_DAY.year(),
            &rules,
            is_rest_day,
        )?;
        for holiday in built_in {
            if let Some(index) = day_index(holiday.date) {
                days[index] = DayRecord {
                    kind: match holiday.kind {
                        HolidayKind::Holiday => DayKind::Holiday,
                        HolidayKind::CompensatoryDayOff => DayKind::CompensatoryDayOff,
                    },
                    name: Some(holiday.name.into_boxed_str()),
                    sessions: NO_SESSIONS,
                };
            }
        }

        overrides.sort_by_key(|o| o.date);
        for pair in overrides.windows(2) {
            if pair[0].date == pair[1].date {
                return Err(CalendarError::DuplicateOverride(pair[0].date));
            }
        }
        for o in &overrides {
            let index = day_index(o.date).ok_or_else(|| out_of_range(o.date))?;
            let name = o.name.clone().map(String::into_boxed_str);
            days[index] = match (o.kind, week_sessions(o.date)) {
                (OverrideKind::Holiday, _) => DayRecord {
                    kind: DayKind::Holiday,
                    name,
                    sessions: NO_SESSIONS,
                },
                (OverrideKind::Working, Some(sessions)) => DayRecord {
                    kind: DayKind::Working,
                    name,
                    sessions,
                },
                (OverrideKind::Working, None) => DayRecord {
                    kind: DayKind::MakeUpWorkingDay,
                    name,
                    sessions: 0,
                },
            };
        }

        let day_nanos: [i64; 7] =
            std::array::from_fn(|w| weekday_sessions[w].iter().map(|(s, e)| e - s).sum());
        let mut prefix = Vec::with_capacity(count + 1);
        let mut total = 0i64;
        prefix.push(total);
        for day in &days {
            if let Some(nanos) = day_nanos.get(usize::from(day.sessions)) {
                total += nanos;
            }
            prefix.push(total);
        }

        Ok(Self {
            office_hours,
            overrides,
            rules,
            weekday_sessions,
            days,
            prefix,
        })
    }

    /// The default calendar: default office hours, no overrides, default holiday rules.
    pub fn with_defaults() -> Result<Self, CalendarError> {
        Self::new(OfficeHours::default(), Vec::new(), HolidayRules::default())
    }

    pub fn office_hours(&self) -> &OfficeHours {
        &self.office_hours
    }

    /// The overrides, sorted by date.
    pub fn overrides(&self) -> &[DayOverride] {
        &self.overrides
    }

    pub fn rules(&self) -> &HolidayRules {
        &self.rules
    }

    /// See [`OfficeHours::standard_day_minutes`].
    pub fn standard_day_minutes(&self) -> i64 {
        self.office_hours.standard_day_minutes()
    }

    /// The classification of a local date.
    pub fn day_info(&self, date: NaiveDate) -> Result<DayInfo, CalendarError> {
        let index = day_index(date).ok_or_else(|| out_of_range(date))?;
        Ok(self.info_at(index, date))
    }

    /// The classification of every local date from `from` to `to`, inclusive (empty if `to < from`).
    pub fn days(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DayInfo>, CalendarError> {
        if to < from {
            return Ok(Vec::new());
        }
        let first = day_index(from).ok_or_else(|| out_of_range(from))?;
        let last = day_index(to).ok_or_else(|| out_of_range(to))?;
        Ok(from
            .iter_days()
            .zip(first..=last)
            .map(|(date, index)| self.info_at(index, date))
            .collect())
    }

    /// The office sessions of a local date: none on a day off, Monday's on a make-up working day.
    pub fn sessions_on(&self, date: NaiveDate) -> Result<&[Session], CalendarError> {
        let index = day_index(date).ok_or_else(|| out_of_range(date))?;
        Ok(match WEEK.get(usize::from(self.days[index].sessions)) {
            Some(&weekday) => self.office_hours.sessions(weekday),
            None => &[],
        })
    }

    /// Whether `instant` lies inside an office session (start inclusive, end exclusive).
    pub fn is_working_instant(&self, instant: DateTime<Utc>) -> Result<bool, CalendarError> {
        let (index, nanos) = self.locate(instant)?;
        Ok(self
            .sessions_of(index)
            .iter()
            .any(|&(start, end)| start <= nanos && nanos < end))
    }

    /// `instant` itself if it is a working instant, else the start of the next office session.
    pub fn next_working_instant(
        &self,
        instant: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, CalendarError> {
        if self.is_working_instant(instant)? {
            return Ok(instant);
        }
        let position = self.position(instant)?;
        // The day in which working time moves past `position` (`prefix[0] = 0 <= position`, so
        // the partition point is at least 1).
        let index = self.prefix.partition_point(|&p| p <= position) - 1;
        if index >= self.days.len() {
            return Err(out_of_range(format!(
                "the next working instant after {instant}"
            )));
        }
        let mut rest = position - self.prefix[index];
        for &(start, end) in self.sessions_of(index) {
            if rest < end - start {
                return self.instant_at(index, start + rest);
            }
            rest -= end - start;
        }
        Err(out_of_range(format!(
            "the next working instant after {instant}"
        )))
    }

    /// Working minutes in `[a, b)`, negative if `b < a`; partial minutes are truncated toward zero.
    pub fn working_minutes_between(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
    ) -> Result<i64, CalendarError> {
        Ok((self.position(b)? - self.position(a)?) / NANOS_PER_MINUTE)
    }

    /// Exact working time in `[a, b)`, negative if `b < a`.
    pub fn working_duration_between(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
    ) -> Result<TimeDelta, CalendarError> {
        Ok(TimeDelta::nanoseconds(
            self.position(b)? - self.position(a)?,
        ))
    }

    /// The instant at which `minutes` of working time have elapsed from `start`.
    ///
    /// Counting starts at `start` if it is a working instant, otherwise at the next session start
    /// (a dossier received outside office hours). When the amount runs out exactly at the end of a
    /// session the result is that session end, never the start of the next session. Adding 0
    /// returns `start` unchanged.
    pub fn add_working_minutes(
        &self,
        start: DateTime<Utc>,
        minutes: i64,
    ) -> Result<DateTime<Utc>, CalendarError> {
        if minutes < 0 {
            return Err(CalendarError::NegativeAmount(minutes));
        }
        let position = self.position(start)?;
        if minutes == 0 {
            return Ok(start);
        }
        let too_far = || out_of_range(format!("{start} + {minutes} working minutes"));
        let target = minutes
            .checked_mul(NANOS_PER_MINUTE)
            .and_then(|nanos| position.checked_add(nanos))
            .ok_or_else(too_far)?;
        // The day at whose start less than `target` has elapsed and at whose end at least
        // `target` has: `prefix[index] < target <= prefix[index + 1]` (`target > 0 = prefix[0]`).
        let index = self.prefix.partition_point(|&p| p < target) - 1;
        if index >= self.days.len() {
            return Err(too_far());
        }
        let mut rest = target - self.prefix[index];
        for &(session_start, session_end) in self.sessions_of(index) {
            if rest <= session_end - session_start {
                return self.instant_at(index, session_start + rest);
            }
            rest -= session_end - session_start;
        }
        Err(too_far())
    }

    /// The end of the last office session of `date`, or of the first working day after it when
    /// `date` has no working time.
    pub fn end_of_working_day_on_or_after(
        &self,
        date: NaiveDate,
    ) -> Result<DateTime<Utc>, CalendarError> {
        let index = day_index(date).ok_or_else(|| out_of_range(date))?;
        let before = self.prefix[index];
        let working_index = self.prefix.partition_point(|&p| p <= before) - 1;
        let end = self
            .days
            .get(working_index)
            .and_then(|_| self.sessions_of(working_index).last())
            .map(|&(_, end)| end)
            .ok_or_else(|| out_of_range(format!("the first working day from {date}")))?;
        self.instant_at(working_index, end)
    }

    fn info_at(&self, index: usize, date: NaiveDate) -> DayInfo {
        let record = &self.days[index];
        DayInfo {
            date,
            kind: record.kind,
            name: record.name.as_deref().map(str::to_owned),
            working_minutes: (self.prefix[index + 1] - self.prefix[index]) / NANOS_PER_MINUTE,
        }
    }

    fn sessions_of(&self, index: usize) -> &[(i64, i64)] {
        self.days
            .get(index)
            .and_then(|day| self.weekday_sessions.get(usize::from(day.sessions)))
            .map_or(&[], Vec::as_slice)
    }

    /// Day index and nanoseconds since local midnight of an instant.
    fn locate(&self, instant: DateTime<Utc>) -> Result<(usize, i64), CalendarError> {
        let local = to_local(instant).ok_or_else(|| out_of_range(instant))?;
        let index = day_index(local.date()).ok_or_else(|| out_of_range(instant))?;
        Ok((index, nanos_of_time(local.time())))
    }

    /// Working nanoseconds from `FIRST_DAY` 00:00 local to `instant`.
    fn position(&self, instant: DateTime<Utc>) -> Result<i64, CalendarError> {
        let (index, nanos) = self.locate(instant)?;
        let within: i64 = self
            .sessions_of(index)
            .iter()
            .map(|&(start, end)| (nanos.min(end) - start).max(0))
            .sum();
        Ok(self.prefix[index] + within)
    }

    fn instant_at(&self, index: usize, nanos: i64) -> Result<DateTime<Utc>, CalendarError> {
        let local = date_at(index)
            .zip(time_of_nanos(nanos))
            .map(|(date, time)| date.and_time(time));
        local
            .and_then(from_local)
            .ok_or_else(|| out_of_range(format!("day {index} + {nanos} ns")))
    }
}

fn day_count() -> usize {
    (LAST_DAY.num_days_from_ce() - FIRST_DAY.num_days_from_ce() + 1) as usize
}

fn day_index(date: NaiveDate) -> Option<usize> {
    if date < FIRST_DAY || date > LAST_DAY {
        return None;
    }
    usize::try_from(date.num_days_from_ce() - FIRST_DAY.num_days_from_ce()).ok()
}

fn date_at(index: usize) -> Option<NaiveDate> {
    let offset = i32::try_from(index).ok()?;
    NaiveDate::from_num_days_from_ce_opt(FIRST_DAY.num_days_from_ce() + offset)
}

#[cfg(test)]
mod tests;
