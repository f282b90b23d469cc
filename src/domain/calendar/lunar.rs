//! The Vietnamese lunar calendar (âm lịch).
//!
//! Hồ Ngọc Đức's astronomical algorithm: a lunar month starts on the local day of a new moon, month 11
//! is the month containing the winter solstice, and in a 13-month year the leap month is the first
//! month without a major solar term (trung khí). Every "local day" here is a day in UTC+7, the time zone
//! of Vietnam. This is what makes the result the *Vietnamese* calendar: the Chinese calendar runs the
//! same rules on UTC+8 and so disagrees whenever a new moon or a solar term falls between 16:00 and
//! 17:00 UTC (e.g. Tết 2007: 17 February in Vietnam, 18 February in China; Tết 1985: 21 January
//! against 20 February).
//!
//! The astronomical series are accurate enough for the years [`FIRST_SUPPORTED_YEAR`] to
//! [`LAST_SUPPORTED_YEAR`]; other years are refused rather than answered approximately.

use chrono::{Datelike, NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// The time zone of the Vietnamese calendar, in hours east of UTC.
pub const TIME_ZONE_HOURS: f64 = 7.0;
/// First lunar (and solar) year this module answers for.
pub const FIRST_SUPPORTED_YEAR: i32 = 1900;
/// Last lunar (and solar) year this module answers for.
pub const LAST_SUPPORTED_YEAR: i32 = 2199;

/// Mean length of a synodic month, in days.
const SYNODIC_MONTH: f64 = 29.530588853;
/// Julian day of the mean new moon numbered 0 by [`new_moon`] (1900-01-01 13:51 UT).
const NEW_MOON_EPOCH: f64 = 2415021.076998695;

/// A date of the Vietnamese lunar calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LunarDate {
    /// Day of the month, 1..=30.
    pub day: u32,
    /// Month, 1..=12 (a leap month carries the number of the month it repeats).
    pub month: u32,
    /// Lunar year; its month 1 day 1 is Tết, in solar year `year`.
    pub year: i32,
    /// True for the leap month (tháng nhuận).
    pub leap: bool,
}

/// Why a lunar conversion has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LunarError {
    #[error(
        "year {0} is outside the supported range {FIRST_SUPPORTED_YEAR}..={LAST_SUPPORTED_YEAR}"
    )]
    YearOutOfRange(i32),
    #[error("lunar month {0} does not exist (expected 1..=12)")]
    InvalidMonth(u32),
    #[error("lunar day {day} does not exist in month {month} of lunar year {year}")]
    InvalidDay { day: u32, month: u32, year: i32 },
    #[error("lunar year {year} has no leap month {month}")]
    NotALeapMonth { month: u32, year: i32 },
}

/// Julian day number of a proleptic Gregorian date (integer arithmetic, valid for any year).
fn julian_day(day: i64, month: i64, year: i64) -> i64 {
    let a = (14 - month) / 12;
    let y = year + 4800 - a;
    let m = month + 12 * a - 3;
    day + (153 * m + 2) / 5 + 365 * y + y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400)
        - 32045
}

fn julian_day_of(date: NaiveDate) -> i64 {
    julian_day(
        i64::from(date.day()),
        i64::from(date.month()),
        i64::from(date.year()),
    )
}

fn date_of_julian_day(jd: i64) -> Option<NaiveDate> {
    // 1 January of year 1 (proleptic Gregorian) is Julian day 1 721 426.
    let days_from_ce = i32::try_from(jd - 1_721_425).ok()?;
    NaiveDate::from_num_days_from_ce_opt(days_from_ce)
}

/// Julian day (fractional, UT) of the `k`-th new moon after the 1900-01-01 new moon
/// (Meeus, *Astronomical Algorithms*, low-precision series with ΔT correction).
fn new_moon(k: i64) -> f64 {
    let k = k as f64;
    let t = k / 1236.85;
    let t2 = t * t;
    let t3 = t2 * t;
    let dr = PI / 180.0;
    let mut jd1 = 2415020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3;
    jd1 += 0.00033 * ((166.56 + 132.87 * t - 0.009173 * t2) * dr).sin();
    let m = 359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3;
    let mpr = 306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3;
    let f = 21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3;
    let mut c1 = (0.1734 - 0.000393 * t) * (m * dr).sin() + 0.0021 * (2.0 * dr * m).sin();
    c1 = c1 - 0.4068 * (mpr * dr).sin() + 0.0161 * (dr * 2.0 * mpr).sin();
    c1 -= 0.0004 * (dr * 3.0 * mpr).sin();
    c1 = c1 + 0.0104 * (dr * 2.0 * f).sin() - 0.0051 * (dr * (m + mpr)).sin();
    c1 = c1 - 0.0074 * (dr * (m - mpr)).sin() + 0.0004 * (dr * (2.0 * f + m)).sin();
    c1 = c1 - 0.0004 * (dr * (2.0 * f - m)).sin() - 0.0006 * (dr * (2.0 * f + mpr)).sin();
    c1 = c1 + 0.0010 * (dr * (2.0 * f - mpr)).sin() + 0.0005 * (dr * (2.0 * mpr + m)).sin();
    let delta_t = if t < -11.0 {
        0.001 + 0.000839 * t + 0.0002261 * t2 - 0.00000845 * t3 - 0.000000081 * t * t3
    } else {
        -0.000278 + 0.000265 * t + 0.000262 * t2
    };
    jd1 + c1 - delta_t
}

/// Apparent longitude of the sun, in radians normalised to [0, 2π), at Julian day `jdn` (UT).
fn sun_longitude(jdn: f64) -> f64 {
    let t = (jdn - 2451545.0) / 36525.0;
    let t2 = t * t;
    let dr = PI / 180.0;
    let m = 357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2;
    let l0 = 280.46645 + 36000.76983 * t + 0.0003032 * t2;
    let mut dl = (1.914600 - 0.004817 * t - 0.000014 * t2) * (dr * m).sin();
    dl += (0.019993 - 0.000101 * t) * (dr * 2.0 * m).sin() + 0.000290 * (dr * 3.0 * m).sin();
    let l = (l0 + dl) * dr;
    l - 2.0 * PI * (l / (2.0 * PI)).floor()
}

/// Local (UTC+7) Julian day number of the `k`-th new moon.
fn new_moon_day(k: i64) -> i64 {
    (new_moon(k) + 0.5 + TIME_ZONE_HOURS / 24.0).floor() as i64
}

/// Which of the 12 major solar terms (0..=11, 30° each) the sun is in at the start of local day `day`.
fn sun_longitude_sector(day: i64) -> i64 {
    (sun_longitude(day as f64 - 0.5 - TIME_ZONE_HOURS / 24.0) / PI * 6.0).floor() as i64
}

/// Local Julian day of the start of lunar month 11 (the month of the winter solstice) of solar `year`.
fn lunar_month_11(year: i32) -> i64 {
    let off = julian_day(31, 12, i64::from(year)) - 2415021;
    let k = (off as f64 / SYNODIC_MONTH).floor() as i64;
    let new_moon = new_moon_day(k);
    if sun_longitude_sector(new_moon) >= 9 {
        new_moon_day(k - 1)
    } else {
        new_moon
    }
}

/// Offset (in months after month 11 starting at `a11`) of the leap month of a 13-month year: the
/// first month during which the sun enters no new major solar term.
fn leap_month_offset(a11: i64) -> i64 {
    let k = ((a11 as f64 - NEW_MOON_EPOCH) / SYNODIC_MONTH + 0.5).floor() as i64;
    let mut i = 1;
    let mut arc = sun_longitude_sector(new_moon_day(k + 1));
    loop {
        let last = arc;
        i += 1;
        arc = sun_longitude_sector(new_moon_day(k + i));
        if arc == last || i >= 14 {
            break;
        }
    }
    i - 1
}

fn check_year(year: i32) -> Result<(), LunarError> {
    if (FIRST_SUPPORTED_YEAR..=LAST_SUPPORTED_YEAR).contains(&year) {
        Ok(())
    } else {
        Err(LunarError::YearOutOfRange(year))
    }
}

/// The lunar date of a solar date (dương lịch → âm lịch).
pub fn solar_to_lunar(date: NaiveDate) -> Result<LunarDate, LunarError> {
    check_year(date.year())?;
    let day_number = julian_day_of(date);
    // The last new moon on or before the day. The mean lunation `k` is a first guess; the true
    // new moon can be far enough from the mean one that two steps back are needed.
    let mut k = ((day_number as f64 - NEW_MOON_EPOCH) / SYNODIC_MONTH).floor() as i64 + 1;
    let mut month_start = new_moon_day(k);
    while month_start > day_number {
        k -= 1;
        month_start = new_moon_day(k);
    }
    let solar_year = date.year();
    let mut a11 = lunar_month_11(solar_year);
    let mut b11 = a11;
    let mut year = if a11 >= month_start {
        a11 = lunar_month_11(solar_year - 1);
        solar_year
    } else {
        b11 = lunar_month_11(solar_year + 1);
        solar_year + 1
    };
    let day = day_number - month_start + 1;
    let diff = (month_start - a11).div_euclid(29);
    let mut leap = false;
    let mut month = diff + 11;
    if b11 - a11 > 365 {
        let leap_diff = leap_month_offset(a11);
        if diff >= leap_diff {
            month = diff + 10;
            leap = diff == leap_diff;
        }
    }
    if month > 12 {
        month -= 12;
    }
    if month >= 11 && diff < 4 {
        year -= 1;
    }
    Ok(LunarDate {
        // Both are small positive numbers by construction (day 1..=30, month 1..=12).
        day: day as u32,
        month: month as u32,
        year,
        leap,
    })
}

/// The solar date of a lunar date (âm lịch → dương lịch).
///
/// Lunar dates whose solar date lies outside the supported years are refused, so the lunar year
/// [`FIRST_SUPPORTED_YEAR`]` - 1` is accepted for its last months (January 1900).
pub fn lunar_to_solar(date: LunarDate) -> Result<NaiveDate, LunarError> {
    let LunarDate {
        day,
        month,
        year,
        leap,
    } = date;
    if year != FIRST_SUPPORTED_YEAR - 1 {
        check_year(year)?;
    }
    if !(1..=12).contains(&month) {
        return Err(LunarError::InvalidMonth(month));
    }
    let invalid_day = LunarError::InvalidDay { day, month, year };
    if !(1..=30).contains(&day) {
        return Err(invalid_day);
    }
    let (a11, b11) = if month < 11 {
        (lunar_month_11(year - 1), lunar_month_11(year))
    } else {
        (lunar_month_11(year), lunar_month_11(year + 1))
    };
    let mut offset = (i64::from(month) - 11).rem_euclid(12);
    if b11 - a11 > 365 {
        let leap_offset = leap_month_offset(a11);
        let leap_month = (leap_offset - 2).rem_euclid(12);
        if leap && i64::from(month) != leap_month {
            return Err(LunarError::NotALeapMonth { month, year });
        }
        if leap || offset >= leap_offset {
            offset += 1;
        }
    } else if leap {
        return Err(LunarError::NotALeapMonth { month, year });
    }
    let k = (0.5 + (a11 as f64 - NEW_MOON_EPOCH) / SYNODIC_MONTH).floor() as i64;
    let month_start = new_moon_day(k + offset);
    let next_month_start = new_moon_day(k + offset + 1);
    if i64::from(day) > next_month_start - month_start {
        return Err(invalid_day);
    }
    let solar = date_of_julian_day(month_start + i64::from(day) - 1)
        .ok_or(LunarError::YearOutOfRange(year))?;
    check_year(solar.year()).map_err(|_| LunarError::YearOutOfRange(year))?;
    Ok(solar)
}

/// Tết Nguyên Đán: day 1 of month 1 of lunar `year`, a solar date in January or February of `year`.
pub fn tet(year: i32) -> Result<NaiveDate, LunarError> {
    lunar_to_solar(LunarDate {
        day: 1,
        month: 1,
        year,
        leap: false,
    })
}

/// The last day of the lunar year before Tết of `year` (29 or 30 of month 12, "ngày cuối năm").
pub fn last_day_of_previous_lunar_year(year: i32) -> Result<NaiveDate, LunarError> {
    let tet = tet(year)?;
    tet.checked_sub_signed(TimeDelta::days(1))
        .ok_or(LunarError::YearOutOfRange(year))
}

/// Giỗ Tổ Hùng Vương: day 10 of month 3 of lunar `year` (never a leap month by the law's wording).
pub fn hung_kings_day(year: i32) -> Result<NaiveDate, LunarError> {
    lunar_to_solar(LunarDate {
        day: 10,
        month: 3,
        year,
        leap: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    /// Checks `compute` against each published `(year, month, day)` of the feast `name`.
    fn assert_published(
        published: &[(i32, u32, u32)],
        compute: impl Fn(i32) -> Result<NaiveDate, LunarError>,
        name: &str,
    ) {
        for &(y, m, day) in published {
            assert_eq!(compute(y), Ok(d(y, m, day)), "{name} {y}");
        }
    }

    fn lunar(day: u32, month: u32, year: i32, leap: bool) -> LunarDate {
        LunarDate {
            day,
            month,
            year,
            leap,
        }
    }

    /// Published Vietnamese Tết dates (including 1985 and 2007, where China differs).
    const TET: &[(i32, u32, u32)] = &[
        (1985, 1, 21),
        (1990, 1, 27),
        (1995, 1, 31),
        (2000, 2, 5),
        (2005, 2, 9),
        (2007, 2, 17),
        (2010, 2, 14),
        (2012, 1, 23),
        (2015, 2, 19),
        (2018, 2, 16),
        (2019, 2, 5),
        (2020, 1, 25),
        (2021, 2, 12),
        (2022, 2, 1),
        (2023, 1, 22),
        (2024, 2, 10),
        (2025, 1, 29),
        (2026, 2, 17),
    ];

    /// Published Giỗ Tổ Hùng Vương dates (10/3 lunar).
    const HUNG_KINGS: &[(i32, u32, u32)] = &[
        (2015, 4, 28),
        (2016, 4, 16),
        (2017, 4, 6),
        (2018, 4, 25),
        (2019, 4, 14),
        (2020, 4, 2),
        (2021, 4, 21),
        (2022, 4, 10),
        (2023, 4, 29),
        (2024, 4, 18),
        (2025, 4, 7),
        (2026, 4, 26),
    ];

    #[test]
    fn tet_matches_published_vietnamese_dates() {
        assert_published(TET, tet, "Tết");
    }

    #[test]
    fn tet_differs_from_the_chinese_new_year_where_published() {
        // Chinese New Year: 1985-02-20, 2007-02-18.
        assert_ne!(tet(1985), Ok(d(1985, 2, 20)));
        assert_ne!(tet(2007), Ok(d(2007, 2, 18)));
        // The new moon of February 2030 is at 16:07 UTC on 2 February (PyEphem; NASA's tables
        // agree): 23:07 on 2 February in Vietnam, 00:07 on 3 February in China. Tết 2030 is
        // therefore 2 February in Vietnam and 3 February in China, as Vietnamese sources state
        // ("in 2030 the dates are 02/02/2030 and 03/02/2030"). 3 February would be the Chinese date.
        assert_eq!(tet(2030), Ok(d(2030, 2, 2)));
        assert_ne!(tet(2030), Ok(d(2030, 2, 3)));
        // Likewise 2053: new moon 2053-02-18 16:31 UTC → Vietnam 18 February, China 19 February.
        assert_eq!(tet(2053), Ok(d(2053, 2, 18)));
        // In the Vietnamese calendar 1985-02-20 is the 1st of the (Vietnamese) month 2.
        assert_eq!(solar_to_lunar(d(1985, 2, 20)), Ok(lunar(1, 2, 1985, false)));
        assert_eq!(solar_to_lunar(d(2007, 2, 18)), Ok(lunar(2, 1, 2007, false)));
    }

    #[test]
    fn hung_kings_day_matches_published_dates() {
        assert_published(HUNG_KINGS, hung_kings_day, "Giỗ Tổ");
    }

    #[test]
    fn last_day_of_lunar_year_is_the_eve_of_tet() {
        assert_eq!(last_day_of_previous_lunar_year(2025), Ok(d(2025, 1, 28)));
        assert_eq!(last_day_of_previous_lunar_year(2024), Ok(d(2024, 2, 9)));
        assert_eq!(
            solar_to_lunar(d(2024, 2, 9)),
            Ok(lunar(30, 12, 2023, false))
        );
        assert_eq!(
            solar_to_lunar(d(2025, 1, 28)),
            Ok(lunar(29, 12, 2024, false))
        );
    }

    #[test]
    fn published_leap_months() {
        // 2020 had a leap 4th month starting 2020-05-23; 2023 a leap 2nd month starting 2023-03-22.
        let leap4 = lunar(1, 4, 2020, true);
        assert_eq!(lunar_to_solar(leap4), Ok(d(2020, 5, 23)));
        assert_eq!(solar_to_lunar(d(2020, 5, 23)), Ok(leap4));
        let leap2 = lunar(1, 2, 2023, true);
        assert_eq!(lunar_to_solar(leap2), Ok(d(2023, 3, 22)));
        assert_eq!(
            lunar_to_solar(lunar(1, 3, 2023, true)),
            Err(LunarError::NotALeapMonth {
                month: 3,
                year: 2023
            })
        );
        assert_eq!(
            lunar_to_solar(lunar(1, 3, 2024, true)),
            Err(LunarError::NotALeapMonth {
                month: 3,
                year: 2024
            })
        );
    }

    #[test]
    fn invalid_lunar_dates_are_refused() {
        let date = |day, month, year| lunar(day, month, year, false);
        assert_eq!(
            lunar_to_solar(date(1, 13, 2024)),
            Err(LunarError::InvalidMonth(13))
        );
        assert_eq!(
            lunar_to_solar(date(0, 1, 2024)),
            Err(LunarError::InvalidDay {
                day: 0,
                month: 1,
                year: 2024
            })
        );
        // Month 12 of lunar year 2024 has 29 days (Tết 2025 follows 2025-01-28 = 29/12).
        assert_eq!(
            lunar_to_solar(date(30, 12, 2024)),
            Err(LunarError::InvalidDay {
                day: 30,
                month: 12,
                year: 2024
            })
        );
        assert_eq!(tet(1899), Err(LunarError::YearOutOfRange(1899)));
        assert_eq!(tet(1898), Err(LunarError::YearOutOfRange(1898)));
        // 1900-01-01 is in lunar year 1899 (Tết 1900 was 31 January).
        let first = solar_to_lunar(d(1900, 1, 1)).expect("in range");
        assert_eq!(first.year, 1899);
        assert_eq!(lunar_to_solar(first), Ok(d(1900, 1, 1)));
        assert_eq!(tet(2200), Err(LunarError::YearOutOfRange(2200)));
        assert_eq!(
            solar_to_lunar(d(2200, 1, 1)),
            Err(LunarError::YearOutOfRange(2200))
        );
    }

    #[test]
    fn every_supported_day_round_trips_and_months_are_consecutive() {
        let mut date = d(FIRST_SUPPORTED_YEAR, 1, 1);
        let last = d(LAST_SUPPORTED_YEAR, 12, 31);
        let mut previous = solar_to_lunar(date).expect("in range");
        assert_eq!(lunar_to_solar(previous), Ok(date));
        while date < last {
            date = date.succ_opt().expect("in range");
            let lunar = solar_to_lunar(date).expect("in range");
            assert_eq!(lunar_to_solar(lunar), Ok(date), "{date} -> {lunar:?}");
            if lunar.day == 1 {
                assert!(previous.day == 29 || previous.day == 30, "{date}");
                if lunar.month == 1 && !lunar.leap {
                    assert_eq!(lunar.year, previous.year + 1, "{date}");
                    assert_eq!(tet(lunar.year), Ok(date));
                }
            } else {
                assert_eq!(lunar.day, previous.day + 1, "{date}");
                assert_eq!(
                    (lunar.month, lunar.year, lunar.leap),
                    (previous.month, previous.year, previous.leap)
                );
            }
            previous = lunar;
        }
    }

    #[test]
    fn tet_is_always_between_21_january_and_20_february() {
        for year in FIRST_SUPPORTED_YEAR..=LAST_SUPPORTED_YEAR {
            let tet = tet(year).expect("in range");
            assert!(
                tet >= d(year, 1, 21) && tet <= d(year, 2, 20),
                "Tết {year} = {tet}"
            );
        }
    }
}
