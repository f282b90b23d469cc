//! Tests of the working calendar: worked examples, then properties over realistic calendars.

use std::sync::LazyLock;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc, Weekday};
use proptest::prelude::*;

use super::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
}

/// A local (UTC+7) instant.
fn local(y: i32, m: u32, day: u32, h: u32, min: u32) -> DateTime<Utc> {
    local_s(y, m, day, h, min, 0)
}

fn local_s(y: i32, m: u32, day: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    let naive = d(y, m, day)
        .and_hms_opt(h, min, s)
        .expect("valid test time");
    from_local(naive).expect("in chrono's range")
}

fn ov(date: NaiveDate, kind: OverrideKind, name: &str) -> DayOverride {
    DayOverride {
        date,
        kind,
        name: Some(name.to_owned()),
    }
}

/// The 2025 government arrangement entered as overrides: Tết from Sat 25 January to Sun 2
/// February (Mon 27 January off, swapped against Sat 8 February; Mon 3 February worked), and
/// 30 April – 4 May (Fri 2 May off, swapped against Sat 26 April).
fn overrides_2025() -> Vec<DayOverride> {
    vec![
        ov(d(2025, 1, 27), OverrideKind::Holiday, "Nghỉ Tết (hoán đổi)"),
        ov(
            d(2025, 2, 3),
            OverrideKind::Working,
            "Đi làm theo thông báo",
        ),
        ov(d(2025, 2, 8), OverrideKind::Working, "Làm bù"),
        ov(d(2025, 4, 26), OverrideKind::Working, "Làm bù"),
        ov(d(2025, 5, 2), OverrideKind::Holiday, "Nghỉ lễ (hoán đổi)"),
    ]
}

fn saturday_morning_hours() -> OfficeHours {
    OfficeHours::default().with_sessions(
        Weekday::Sat,
        vec![Session::hm(7, 30, 11, 30).expect("valid session")],
    )
}

static DEFAULT: LazyLock<Calendar> =
    LazyLock::new(|| Calendar::with_defaults().expect("default calendar"));
static WITH_OVERRIDES: LazyLock<Calendar> = LazyLock::new(|| {
    Calendar::new(
        OfficeHours::default(),
        overrides_2025(),
        HolidayRules::default(),
    )
    .expect("calendar with overrides")
});
static SATURDAY_MORNING: LazyLock<Calendar> = LazyLock::new(|| {
    Calendar::new(
        saturday_morning_hours(),
        vec![ov(d(2030, 6, 1), OverrideKind::Holiday, "Nghỉ đột xuất")],
        HolidayRules::default(),
    )
    .expect("calendar with Saturday mornings")
});

fn calendars() -> [&'static Calendar; 3] {
    [&DEFAULT, &WITH_OVERRIDES, &SATURDAY_MORNING]
}

// ---------------------------------------------------------------- office hours

#[test]
fn default_office_hours() {
    let hours = OfficeHours::default();
    assert_eq!(hours.validate(), Ok(()));
    assert_eq!(hours.day_minutes(Weekday::Mon), 480);
    assert_eq!(hours.day_minutes(Weekday::Sat), 0);
    assert_eq!(hours.standard_day_minutes(), 480);
    assert_eq!(saturday_morning_hours().standard_day_minutes(), 480);
    let long_friday = OfficeHours::default().with_sessions(
        Weekday::Fri,
        vec![
            Session::hm(7, 0, 12, 0).expect("valid"),
            Session::hm(13, 0, 17, 30).expect("valid"),
        ],
    );
    assert_eq!(long_friday.standard_day_minutes(), 570);
}

#[test]
fn office_hours_validation_names_the_weekday() {
    let session = |a, b, c, e| Session::hm(a, b, c, e).expect("valid time");
    // Unordered, then overlapping: the second session is the one named.
    for (weekday, sessions) in [
        (
            Weekday::Wed,
            [session(13, 0, 17, 0), session(7, 30, 11, 30)],
        ),
        (
            Weekday::Tue,
            [session(7, 30, 12, 0), session(11, 30, 17, 0)],
        ),
    ] {
        let hours = OfficeHours::default().with_sessions(weekday, sessions.to_vec());
        let error = hours.validate().err();
        assert_eq!(
            error,
            Some(OfficeHoursError::Overlapping { weekday, index: 1 }),
            "{weekday}"
        );
        assert_eq!(
            error.map(|e| e.to_string()),
            Some(format!(
                "{weekday}: session 1 starts before the previous session ends"
            ))
        );
    }
    let empty = OfficeHours::default().with_sessions(Weekday::Sat, vec![session(9, 0, 9, 0)]);
    assert_eq!(
        empty.validate(),
        Err(OfficeHoursError::EmptySession {
            weekday: Weekday::Sat,
            index: 0
        })
    );
    let seconds = OfficeHours::default().with_sessions(
        Weekday::Fri,
        vec![Session::new(
            NaiveTime::from_hms_opt(7, 30, 15).expect("valid"),
            NaiveTime::from_hms_opt(11, 30, 0).expect("valid"),
        )],
    );
    assert_eq!(
        seconds.validate(),
        Err(OfficeHoursError::NotWholeMinute {
            weekday: Weekday::Fri,
            index: 0
        })
    );
    let none = OfficeHours {
        monday: vec![],
        tuesday: vec![],
        wednesday: vec![],
        thursday: vec![],
        friday: vec![],
        saturday: vec![],
        sunday: vec![],
    };
    assert_eq!(none.validate(), Err(OfficeHoursError::NoSessions));
    assert_eq!(
        Calendar::new(none, vec![], HolidayRules::default()).err(),
        Some(CalendarError::OfficeHours(OfficeHoursError::NoSessions))
    );
    // Touching sessions are fine.
    let touching = OfficeHours::default().with_sessions(
        Weekday::Mon,
        vec![session(7, 30, 11, 30), session(11, 30, 12, 0)],
    );
    assert_eq!(touching.validate(), Ok(()));
}

#[test]
fn office_hours_serde() {
    let json = serde_json::to_value(OfficeHours::default()).expect("serialisable");
    assert_eq!(json["monday"][0]["start"], "07:30:00");
    assert_eq!(json["friday"][1]["end"], "17:00:00");
    assert_eq!(json["saturday"], serde_json::json!([]));
    let back: OfficeHours = serde_json::from_value(json).expect("deserialisable");
    assert_eq!(back, OfficeHours::default());
    // Missing weekdays have no sessions.
    let only_monday: OfficeHours =
        serde_json::from_str(r#"{"monday":[{"start":"08:00:00","end":"12:00:00"}]}"#)
            .expect("deserialisable");
    assert_eq!(only_monday.day_minutes(Weekday::Mon), 240);
    assert_eq!(only_monday.day_minutes(Weekday::Tue), 0);
}

// ---------------------------------------------------------------- days

#[test]
fn day_kinds_of_the_default_calendar_around_tet_2025() {
    let cal = &*DEFAULT;
    let kind = |date| cal.day_info(date).expect("in range").kind;
    assert_eq!(kind(d(2025, 1, 24)), DayKind::Working);
    assert_eq!(kind(d(2025, 1, 25)), DayKind::Weekend);
    assert_eq!(kind(d(2025, 1, 27)), DayKind::Working);
    for day in 28..=31 {
        assert_eq!(kind(d(2025, 1, day)), DayKind::Holiday);
    }
    assert_eq!(kind(d(2025, 2, 1)), DayKind::Holiday); // Saturday, mùng 4
    assert_eq!(kind(d(2025, 2, 3)), DayKind::CompensatoryDayOff);
    assert_eq!(
        cal.day_info(d(2025, 1, 29)).expect("in range"),
        DayInfo {
            date: d(2025, 1, 29),
            kind: DayKind::Holiday,
            name: Some("Tết Nguyên Đán".to_owned()),
            working_minutes: 0,
        }
    );
    assert_eq!(
        cal.day_info(d(2025, 2, 3))
            .expect("in range")
            .name
            .as_deref(),
        Some("Nghỉ bù Tết Nguyên Đán")
    );
    assert_eq!(
        cal.day_info(d(2025, 1, 24))
            .expect("in range")
            .working_minutes,
        480
    );
}

#[test]
fn overrides_win_over_built_in_rules() {
    let cal = &*WITH_OVERRIDES;
    let info = |date| cal.day_info(date).expect("in range");
    assert_eq!(info(d(2025, 1, 27)).kind, DayKind::Holiday);
    assert_eq!(
        info(d(2025, 1, 27)).name.as_deref(),
        Some("Nghỉ Tết (hoán đổi)")
    );
    assert_eq!(info(d(2025, 1, 27)).working_minutes, 0);
    // Working on a built-in compensatory day: an ordinary working day.
    assert_eq!(info(d(2025, 2, 3)).kind, DayKind::Working);
    assert_eq!(info(d(2025, 2, 3)).working_minutes, 480);
    // Working on a Saturday: a make-up working day with Monday's sessions.
    assert_eq!(info(d(2025, 2, 8)).kind, DayKind::MakeUpWorkingDay);
    assert_eq!(info(d(2025, 2, 8)).working_minutes, 480);
    assert_eq!(info(d(2025, 2, 8)).name.as_deref(), Some("Làm bù"));
    assert_eq!(
        cal.sessions_on(d(2025, 2, 8)).expect("in range"),
        OfficeHours::default().sessions(Weekday::Mon)
    );
    assert_eq!(info(d(2025, 5, 2)).kind, DayKind::Holiday);
    // Working on a built-in holiday that falls on a weekday.
    let cal = Calendar::new(
        OfficeHours::default(),
        vec![DayOverride {
            date: d(2025, 9, 1),
            kind: OverrideKind::Working,
            name: None,
        }],
        HolidayRules::default(),
    )
    .expect("valid calendar");
    let info = cal.day_info(d(2025, 9, 1)).expect("in range");
    assert_eq!(
        (info.kind, info.name, info.working_minutes),
        (DayKind::Working, None, 480)
    );
    assert_eq!(cal.overrides().len(), 1);
}

#[test]
fn override_errors() {
    let dup = vec![
        ov(d(2025, 3, 3), OverrideKind::Holiday, "a"),
        ov(d(2025, 3, 3), OverrideKind::Working, "b"),
    ];
    assert_eq!(
        Calendar::new(OfficeHours::default(), dup, HolidayRules::default()).err(),
        Some(CalendarError::DuplicateOverride(d(2025, 3, 3)))
    );
    let outside = vec![ov(d(2101, 1, 1), OverrideKind::Holiday, "a")];
    assert!(matches!(
        Calendar::new(OfficeHours::default(), outside, HolidayRules::default()),
        Err(CalendarError::OutOfRange { .. })
    ));
}

#[test]
fn saturday_morning_calendar() {
    let cal = &*SATURDAY_MORNING;
    let info = |date| cal.day_info(date).expect("in range");
    assert_eq!(info(d(2025, 3, 8)).kind, DayKind::Working);
    assert_eq!(info(d(2025, 3, 8)).working_minutes, 240);
    assert_eq!(info(d(2025, 3, 9)).kind, DayKind::Weekend);
    // Saturday 1 February 2025 (mùng 4 Tết) is a holiday on a working day: no nghỉ bù.
    assert_eq!(info(d(2025, 2, 1)).kind, DayKind::Holiday);
    assert_eq!(info(d(2025, 2, 3)).kind, DayKind::Working);
    assert_eq!(info(d(2030, 6, 1)).kind, DayKind::Holiday);
    // Saturday 11:00 + 60 minutes: 30 on Saturday, 30 on Monday.
    assert_eq!(
        cal.add_working_minutes(local(2025, 3, 8, 11, 0), 60),
        Ok(local(2025, 3, 10, 8, 0))
    );
}

#[test]
fn days_lists_a_range() {
    let days = DEFAULT
        .days(d(2025, 1, 27), d(2025, 2, 4))
        .expect("in range");
    assert_eq!(days.len(), 9);
    assert_eq!(days[0].date, d(2025, 1, 27));
    assert_eq!(days[8].date, d(2025, 2, 4));
    let kinds: Vec<DayKind> = days.iter().map(|day| day.kind).collect();
    use DayKind::*;
    assert_eq!(
        kinds,
        vec![
            Working,
            Holiday,
            Holiday,
            Holiday,
            Holiday,
            Holiday,
            Weekend,
            CompensatoryDayOff,
            Working
        ]
    );
    assert_eq!(DEFAULT.days(d(2025, 2, 4), d(2025, 1, 27)), Ok(vec![]));
    assert!(DEFAULT.days(d(1989, 12, 31), d(1990, 1, 2)).is_err());
    assert_eq!(
        DEFAULT.days(FIRST_DAY, LAST_DAY).map(|v| v.len()),
        Ok(40_542)
    );
}

#[test]
fn day_kind_serde_is_snake_case() {
    let json = serde_json::to_string(&[
        DayKind::Working,
        DayKind::Weekend,
        DayKind::Holiday,
        DayKind::CompensatoryDayOff,
        DayKind::MakeUpWorkingDay,
    ])
    .expect("serialisable");
    assert_eq!(
        json,
        r#"["working","weekend","holiday","compensatory_day_off","make_up_working_day"]"#
    );
    let o: DayOverride =
        serde_json::from_str(r#"{"date":"2025-02-08","kind":"working","name":"Làm bù"}"#)
            .expect("deserialisable");
    assert_eq!(o, ov(d(2025, 2, 8), OverrideKind::Working, "Làm bù"));
}

#[test]
fn local_clock_is_utc_plus_7() {
    assert_eq!(local_offset().local_minus_utc(), 7 * 3600);
    assert_eq!(
        local(2025, 1, 24, 14, 0),
        DateTime::parse_from_rfc3339("2025-01-24T07:00:00Z")
            .expect("valid")
            .with_timezone(&Utc)
    );
}

// ---------------------------------------------------------------- working time

#[test]
fn add_working_minutes_examples() {
    let cal = &*DEFAULT;
    assert_eq!(
        cal.add_working_minutes(local(2025, 3, 3, 9, 0), -1),
        Err(CalendarError::NegativeAmount(-1))
    );
    let cases = [
        // One working day from Friday 14:00 before Tết 2025: Monday 14:00.
        (local(2025, 1, 24, 14, 0), 480, local(2025, 1, 27, 14, 0)),
        // Two: across Tết (28 Jan – 1 Feb) and nghỉ bù (3 Feb): Tuesday 4 February 14:00.
        (local(2025, 1, 24, 14, 0), 960, local(2025, 2, 4, 14, 0)),
        // Landing on a session boundary gives the session end, not the next start.
        (local(2025, 3, 3, 11, 0), 30, local(2025, 3, 3, 11, 30)),
        (local(2025, 3, 3, 11, 0), 31, local(2025, 3, 3, 13, 1)),
        (local(2025, 3, 7, 13, 0), 240, local(2025, 3, 7, 17, 0)),
        // Outside office hours: counting starts at the next session start.
        (local(2025, 3, 7, 17, 30), 1, local(2025, 3, 10, 7, 31)),
        (local(2025, 3, 3, 12, 0), 60, local(2025, 3, 3, 14, 0)),
        (local(2025, 3, 8, 9, 0), 480, local(2025, 3, 10, 17, 0)),
        // Adding nothing returns the start unchanged, even outside office hours.
        (local(2025, 3, 8, 9, 0), 0, local(2025, 3, 8, 9, 0)),
        // Seconds are kept.
        (
            local_s(2025, 3, 3, 11, 29, 30),
            1,
            local_s(2025, 3, 3, 13, 0, 30),
        ),
    ];
    for (start, minutes, expected) in cases {
        assert_eq!(
            cal.add_working_minutes(start, minutes),
            Ok(expected),
            "{start} + {minutes}"
        );
    }
}

#[test]
fn overrides_change_working_time() {
    // With the 2025 arrangement Friday 24 January 14:00 + 1 day ends on Tuesday 4 February…
    // no: 27 January is off, 3 February is worked: Monday 3 February 14:00.
    assert_eq!(
        WITH_OVERRIDES.add_working_minutes(local(2025, 1, 24, 14, 0), 480),
        Ok(local(2025, 2, 3, 14, 0))
    );
    // The make-up Saturday 8 February counts.
    assert_eq!(
        WITH_OVERRIDES.working_minutes_between(local(2025, 2, 7, 17, 0), local(2025, 2, 10, 7, 30)),
        Ok(480)
    );
}

#[test]
fn working_minutes_between_examples() {
    let cal = &*DEFAULT;
    // Less than a minute of working time.
    let partial = (local_s(2025, 3, 3, 8, 0, 30), local_s(2025, 3, 3, 8, 1, 29));
    let cases = [
        (local(2025, 3, 3, 7, 30), local(2025, 3, 3, 17, 0), 480),
        (local(2025, 3, 3, 0, 0), local(2025, 3, 10, 0, 0), 5 * 480),
        (local(2025, 3, 3, 17, 0), local(2025, 3, 3, 7, 30), -480),
        (local(2025, 3, 3, 11, 45), local(2025, 3, 3, 12, 59), 0),
        // Tết week 2025: only Monday 27 January.
        (local(2025, 1, 25, 0, 0), local(2025, 2, 4, 0, 0), 480),
        // Partial minutes are truncated toward zero.
        (partial.0, partial.1, 0),
    ];
    for (from, to, expected) in cases {
        assert_eq!(
            cal.working_minutes_between(from, to),
            Ok(expected),
            "{from}–{to}"
        );
    }
    assert_eq!(
        cal.working_duration_between(partial.0, partial.1),
        Ok(TimeDelta::seconds(59))
    );
}

#[test]
fn working_instants() {
    let cal = &*DEFAULT;
    let working = [
        (local(2025, 3, 3, 7, 30), true),
        (local_s(2025, 3, 3, 7, 29, 59), false),
        (local(2025, 3, 3, 11, 30), false),
        (local(2025, 3, 3, 16, 59), true),
        (local(2025, 3, 8, 9, 0), false),
        (local(2025, 1, 29, 9, 0), false),
    ];
    for (at, expected) in working {
        assert_eq!(cal.is_working_instant(at), Ok(expected), "{at}");
    }
    let next = [
        (local(2025, 3, 3, 9, 15), local(2025, 3, 3, 9, 15)),
        (local(2025, 3, 3, 11, 30), local(2025, 3, 3, 13, 0)),
        (local(2025, 3, 8, 9, 0), local(2025, 3, 10, 7, 30)),
        (local(2025, 1, 27, 17, 0), local(2025, 2, 4, 7, 30)),
        (local(2025, 3, 3, 6, 0), local(2025, 3, 3, 7, 30)),
    ];
    for (at, expected) in next {
        assert_eq!(cal.next_working_instant(at), Ok(expected), "after {at}");
    }
}

#[test]
fn end_of_working_day() {
    let cal = &*DEFAULT;
    let cases = [
        (d(2025, 1, 24), local(2025, 1, 24, 17, 0)),
        (d(2025, 1, 25), local(2025, 1, 27, 17, 0)),
        (d(2025, 1, 28), local(2025, 2, 4, 17, 0)),
        (d(2100, 12, 31), local(2100, 12, 31, 17, 0)),
    ];
    for (date, expected) in cases {
        assert_eq!(
            cal.end_of_working_day_on_or_after(date),
            Ok(expected),
            "{date}"
        );
    }
    assert!(matches!(
        cal.end_of_working_day_on_or_after(d(2101, 1, 1)),
        Err(CalendarError::OutOfRange { .. })
    ));
    // No working day left in the range.
    let last_day_off = Calendar::new(
        OfficeHours::default(),
        vec![ov(d(2100, 12, 31), OverrideKind::Holiday, "Nghỉ")],
        HolidayRules::default(),
    )
    .expect("valid calendar");
    assert!(matches!(
        last_day_off.end_of_working_day_on_or_after(d(2100, 12, 31)),
        Err(CalendarError::OutOfRange { .. })
    ));
}

#[test]
fn out_of_range_is_an_error_never_a_panic() {
    let cal = &*DEFAULT;
    let before = local(1989, 12, 31, 23, 59);
    let after = local(2101, 1, 1, 0, 0);
    fn is_out<T>(r: Result<T, CalendarError>) -> bool {
        matches!(r, Err(CalendarError::OutOfRange { .. }))
    }
    assert!(is_out(cal.add_working_minutes(before, 10)));
    assert!(is_out(cal.add_working_minutes(after, 10)));
    assert!(is_out(cal.is_working_instant(after)));
    assert!(is_out(cal.next_working_instant(before)));
    assert!(is_out(cal.working_minutes_between(before, after)));
    assert!(is_out(cal.day_info(d(1989, 12, 31))));
    assert!(is_out(cal.day_info(d(2101, 1, 1))));
    // The range ends on 2100-12-31 local, which is 16:59:59 UTC.
    assert!(cal.is_working_instant(local(2100, 12, 31, 23, 59)).is_ok());
    // Results past the range.
    assert!(is_out(
        cal.add_working_minutes(local(2100, 12, 31, 9, 0), 480)
    ));
    assert!(is_out(
        cal.add_working_minutes(local(2025, 1, 1, 9, 0), i64::MAX)
    ));
    assert!(is_out(cal.next_working_instant(local(2100, 12, 31, 17, 0))));
    // The extremes of chrono's range.
    assert!(is_out(cal.add_working_minutes(DateTime::<Utc>::MAX_UTC, 1)));
    assert!(is_out(cal.add_working_minutes(DateTime::<Utc>::MIN_UTC, 1)));
    assert!(is_out(cal.is_working_instant(DateTime::<Utc>::MAX_UTC)));
    // The first and the last day of the range work.
    assert_eq!(
        cal.next_working_instant(local(1990, 1, 1, 0, 0)),
        Ok(local(1990, 1, 2, 7, 30))
    );
    assert_eq!(
        cal.add_working_minutes(local(2100, 12, 31, 7, 30), 480),
        Ok(local(2100, 12, 31, 17, 0))
    );
}

#[test]
fn sum_of_day_minutes_matches_working_minutes_between() {
    for cal in calendars() {
        let days = cal.days(d(2024, 1, 1), d(2026, 12, 31)).expect("in range");
        let sum: i64 = days.iter().map(|day| day.working_minutes).sum();
        assert_eq!(
            cal.working_minutes_between(local(2024, 1, 1, 0, 0), local(2027, 1, 1, 0, 0)),
            Ok(sum)
        );
        for day in days {
            let sessions: i64 = cal
                .sessions_on(day.date)
                .expect("in range")
                .iter()
                .map(Session::minutes)
                .sum();
            assert_eq!(sessions, day.working_minutes, "{day:?}");
            let works = matches!(day.kind, DayKind::Working | DayKind::MakeUpWorkingDay);
            assert_eq!(works, day.working_minutes > 0, "{day:?}");
        }
    }
}

#[test]
fn construction_covers_every_year() {
    // Every year 1990..=2100 has its Tết and Quốc khánh in the default calendar.
    let cal = &*DEFAULT;
    for year in FIRST_DAY.year()..=LAST_DAY.year() {
        let tet = lunar::tet(year).expect("supported year");
        assert_eq!(cal.day_info(tet).expect("in range").kind, DayKind::Holiday);
        let national = cal.day_info(d(year, 9, 2)).expect("in range");
        assert_eq!(national.kind, DayKind::Holiday, "{year}");
        assert_eq!(national.name.as_deref(), Some("Quốc khánh"));
    }
}

// ---------------------------------------------------------------- properties

const RANGE_START: i64 = 946_684_800; // 2000-01-01T00:00:00Z
const RANGE_END: i64 = 3_786_912_000; // 2090-01-01T00:00:00Z

fn instant_from(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).expect("in chrono's range")
}

/// Instants in 2000..2090, mostly on whole minutes (where session boundaries are) and sometimes
/// with seconds.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        3 => (RANGE_START / 60..RANGE_END / 60).prop_map(|m| instant_from(m * 60)),
        1 => (RANGE_START..RANGE_END).prop_map(instant_from),
    ]
}

fn calendar() -> impl Strategy<Value = &'static Calendar> {
    (0usize..3).prop_map(|i| calendars()[i])
}

/// Up to about 400 working days, small amounts more often.
fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![0i64..=600, 0i64..=20_000, 0i64..=200_000]
}

/// Whether `t` is the end of one of the sessions of its local day.
fn is_session_end(cal: &Calendar, t: DateTime<Utc>) -> bool {
    let Some(local) = to_local(t) else {
        return false;
    };
    cal.sessions_on(local.date())
        .map(|sessions| sessions.iter().any(|s| s.end == local.time()))
        .unwrap_or(false)
}

/// The reference implementation: walk minute by minute, counting the working ones.
fn add_by_walking(cal: &Calendar, start: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
    let mut t = start;
    let mut left = minutes;
    while left > 0 {
        if cal.is_working_instant(t).expect("in range") {
            left -= 1;
        }
        t += TimeDelta::minutes(1);
    }
    t
}

proptest! {
    #[test]
    fn additivity(cal in calendar(), s in instant(), a in amount(), b in amount()) {
        let once = cal.add_working_minutes(s, a + b).expect("in range");
        let twice = cal
            .add_working_minutes(cal.add_working_minutes(s, a).expect("in range"), b)
            .expect("in range");
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn monotone_in_start(cal in calendar(), s1 in instant(), s2 in instant(), m in amount()) {
        let (early, late) = if s1 <= s2 { (s1, s2) } else { (s2, s1) };
        prop_assert!(
            cal.add_working_minutes(early, m).expect("in range")
                <= cal.add_working_minutes(late, m).expect("in range")
        );
    }

    #[test]
    fn monotone_in_amount(cal in calendar(), s in instant(), m1 in amount(), m2 in amount()) {
        let (small, large) = if m1 <= m2 { (m1, m2) } else { (m2, m1) };
        let a = cal.add_working_minutes(s, small).expect("in range");
        let b = cal.add_working_minutes(s, large).expect("in range");
        prop_assert!(a <= b);
        if small < large {
            prop_assert!(a < b);
        }
    }

    #[test]
    fn result_is_working_time_or_a_session_end(cal in calendar(), s in instant(), m in 1i64..200_000) {
        let r = cal.add_working_minutes(s, m).expect("in range");
        let working = cal.is_working_instant(r).expect("in range");
        prop_assert!(working || is_session_end(cal, r), "{} + {} = {}", s, m, r);
        prop_assert!(r > s);
        // Never the start of a session: the minute before the result was worked.
        prop_assert!(cal.is_working_instant(r - TimeDelta::seconds(1)).expect("in range"));
    }

    #[test]
    fn adding_then_measuring_gives_the_amount(cal in calendar(), s in instant(), m in amount()) {
        let r = cal.add_working_minutes(s, m).expect("in range");
        prop_assert_eq!(cal.working_minutes_between(s, r), Ok(m));
        let from = cal.next_working_instant(s).expect("in range");
        prop_assert!(cal.is_working_instant(from).expect("in range"));
        prop_assert_eq!(cal.working_minutes_between(from, r), Ok(m));
        prop_assert_eq!(cal.working_minutes_between(r, s), Ok(-m));
    }

    #[test]
    fn next_working_instant_skips_only_non_working_time(cal in calendar(), s in instant()) {
        let next = cal.next_working_instant(s).expect("in range");
        prop_assert!(next >= s);
        prop_assert!(cal.is_working_instant(next).expect("in range"));
        prop_assert_eq!(cal.working_duration_between(s, next), Ok(TimeDelta::zero()));
        if next > s {
            prop_assert!(!cal.is_working_instant(s).expect("in range"));
        }
    }

    #[test]
    fn agrees_with_a_minute_by_minute_walk(
        cal in calendar(),
        minute in RANGE_START / 60..RANGE_END / 60,
        m in 1i64..1_500,
    ) {
        let s = instant_from(minute * 60);
        prop_assert_eq!(cal.add_working_minutes(s, m), Ok(add_by_walking(cal, s, m)));
    }
}

fn override_strategy() -> impl Strategy<Value = Vec<DayOverride>> {
    // Distinct dates in 2024..=2026 with random kinds.
    prop::collection::btree_map(0i64..3 * 365, any::<bool>(), 0..25).prop_map(|map| {
        map.into_iter()
            .map(|(offset, holiday)| DayOverride {
                date: d(2024, 1, 1) + TimeDelta::days(offset),
                kind: if holiday {
                    OverrideKind::Holiday
                } else {
                    OverrideKind::Working
                },
                name: holiday.then(|| format!("Nghỉ {offset}")),
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_overrides_are_respected(
        overrides in override_strategy(),
        saturday in any::<bool>(),
        start_minute in 0i64..3 * 365 * 24 * 60,
        m in 1i64..5_000,
    ) {
        let hours = if saturday { saturday_morning_hours() } else { OfficeHours::default() };
        let cal = Calendar::new(hours.clone(), overrides.clone(), HolidayRules::default())
            .expect("valid calendar");
        for o in &overrides {
            let info = cal.day_info(o.date).expect("in range");
            let weekday_minutes = hours.day_minutes(o.date.weekday());
            match o.kind {
                OverrideKind::Holiday => {
                    prop_assert_eq!(info.kind, DayKind::Holiday);
                    prop_assert_eq!(info.working_minutes, 0);
                    prop_assert_eq!(&info.name, &o.name);
                }
                OverrideKind::Working if weekday_minutes > 0 => {
                    prop_assert_eq!(info.kind, DayKind::Working);
                    prop_assert_eq!(info.working_minutes, weekday_minutes);
                }
                OverrideKind::Working => {
                    prop_assert_eq!(info.kind, DayKind::MakeUpWorkingDay);
                    prop_assert_eq!(info.working_minutes, hours.day_minutes(Weekday::Mon));
                }
            }
        }
        let s = local(2024, 1, 1, 0, 0) + TimeDelta::minutes(start_minute);
        let r = cal.add_working_minutes(s, m).expect("in range");
        let r_date = to_local(r).expect("in range").date();
        let r_info = cal.day_info(r_date).expect("in range");
        prop_assert!(r_info.working_minutes > 0, "{:?}", r_info);
        prop_assert_eq!(cal.working_minutes_between(s, r), Ok(m));
        prop_assert_eq!(cal.add_working_minutes(s, m), Ok(add_by_walking(&cal, s, m)));
    }
}

#[test]
fn saturday_is_worked_before_the_five_day_week() {
    // Saturday 25 September 1999: Monday's sessions; Saturday 2 October 1999: a rest day.
    let worked = DEFAULT.day_info(d(1999, 9, 25)).expect("in range");
    assert_eq!(
        (worked.kind, worked.working_minutes),
        (DayKind::Working, 480)
    );
    assert_eq!(
        DEFAULT.sessions_on(d(1999, 9, 25)),
        Ok(OfficeHours::default().monday.as_slice())
    );
    assert_eq!(
        DEFAULT.day_info(d(1999, 10, 2)).map(|i| i.kind),
        Ok(DayKind::Weekend)
    );
    // One working day from Friday 24 September 1999 14:00 ends on the Saturday.
    assert_eq!(
        DEFAULT.add_working_minutes(local(1999, 9, 24, 14, 0), 480),
        Ok(local(1999, 9, 25, 14, 0))
    );
    // A holiday on a working Saturday gives no compensatory day: 1 May 1999 → Monday 3 May worked.
    assert_eq!(
        DEFAULT.day_info(d(1999, 5, 1)).map(|i| i.kind),
        Ok(DayKind::Holiday)
    );
    assert_eq!(
        DEFAULT.day_info(d(1999, 5, 3)).map(|i| i.kind),
        Ok(DayKind::Working)
    );
    // Office hours with Saturday sessions of their own keep them.
    let morning = SATURDAY_MORNING.day_info(d(1999, 9, 25)).expect("in range");
    assert_eq!(morning.working_minutes, 240);
    // A working override on such a Saturday is a plain working day, not a make-up day.
    let cal = Calendar::new(
        OfficeHours::default(),
        vec![ov(d(1999, 9, 25), OverrideKind::Working, "Làm việc")],
        HolidayRules::default(),
    )
    .expect("calendar");
    assert_eq!(
        cal.day_info(d(1999, 9, 25)).map(|i| i.kind),
        Ok(DayKind::Working)
    );
}

#[test]
fn added_rules_change_days_and_deadlines() {
    let rules = HolidayRules {
        added: vec![HolidayRule {
            name: "Ngày lễ tỉnh".to_owned(),
            calendar: CalendarKind::Solar,
            month: 6,
            day: 13,
            days: 1,
            from_year: 2026,
            to_year: None,
        }],
        ..HolidayRules::default()
    };
    let cal = Calendar::new(OfficeHours::default(), Vec::new(), rules).expect("calendar");
    // Saturday 13 June 2026 → Monday 15 June off; Sunday 13 June 2027 → Monday 14 June off.
    let kind = |date| cal.day_info(date).map(|i| (i.kind, i.name));
    assert_eq!(
        kind(d(2026, 6, 13)),
        Ok((DayKind::Holiday, Some("Ngày lễ tỉnh".to_owned())))
    );
    assert_eq!(
        kind(d(2026, 6, 15)),
        Ok((
            DayKind::CompensatoryDayOff,
            Some("Nghỉ bù Ngày lễ tỉnh".to_owned())
        ))
    );
    assert_eq!(
        kind(d(2027, 6, 14)).map(|k| k.0),
        Ok(DayKind::CompensatoryDayOff)
    );
    assert_eq!(kind(d(2025, 6, 13)).map(|k| k.0), Ok(DayKind::Working));
    // One working day from Friday 12 June 2026 14:00 skips Monday: Tuesday 16 June 14:00.
    assert_eq!(
        cal.add_working_minutes(local(2026, 6, 12, 14, 0), 480),
        Ok(local(2026, 6, 16, 14, 0))
    );
    assert_eq!(
        DEFAULT.add_working_minutes(local(2026, 6, 12, 14, 0), 480),
        Ok(local(2026, 6, 15, 14, 0))
    );
    // An override still wins: Monday 15 June 2026 worked.
    let cal = Calendar::new(
        OfficeHours::default(),
        vec![ov(d(2026, 6, 15), OverrideKind::Working, "Đi làm")],
        cal.rules().clone(),
    )
    .expect("calendar");
    assert_eq!(
        cal.day_info(d(2026, 6, 15)).map(|i| i.kind),
        Ok(DayKind::Working)
    );
}
