//! Calendar endpoints: days with their kind, date overrides, office hours, holiday rules, and the
//! deadline preview.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::Caller,
    error::{ApiError, FieldError, Problem},
    extract::ApiJson,
    idempotency::{self, IdempotentJson},
    state::AppState,
    time::{deserialize_instant, local},
};
use crate::http::extract::ApiQuery;
use crate::{
    domain::{
        calendar::{
            Calendar, CalendarKind, DayInfo, DayKind, DayOverride, HolidayRule, OfficeHours,
            OverrideKind, Session,
        },
        deadline::{TimeLimit, TimeUnit},
    },
    service::calendar as service,
};

/// Longest range `GET /calendar/days` returns at once.
pub const MAX_DAYS_RANGE: i64 = 731;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DayKindDto {
    Working,
    Weekend,
    Holiday,
    CompensatoryDayOff,
    MakeUpWorkingDay,
}

impl From<DayKind> for DayKindDto {
    fn from(kind: DayKind) -> Self {
        match kind {
            DayKind::Working => Self::Working,
            DayKind::Weekend => Self::Weekend,
            DayKind::Holiday => Self::Holiday,
            DayKind::CompensatoryDayOff => Self::CompensatoryDayOff,
            DayKind::MakeUpWorkingDay => Self::MakeUpWorkingDay,
        }
    }
}

/// One local date of the working calendar.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CalendarDay {
    #[schema(value_type = String, format = Date, example = "2025-01-29")]
    pub date: NaiveDate,
    pub kind: DayKindDto,
    /// The holiday's, compensatory day's or override's name (e.g. `Tết Nguyên Đán`).
    pub name: Option<String>,
    /// Working minutes of office sessions on this date.
    pub working_minutes: i64,
    /// True when an administrator's override decides this date.
    pub overridden: bool,
}

fn day_dto(calendar: &Calendar, info: DayInfo) -> CalendarDay {
    let overridden = calendar.overrides().iter().any(|o| o.date == info.date);
    CalendarDay {
        date: info.date,
        kind: info.kind.into(),
        name: info.name,
        working_minutes: info.working_minutes,
        overridden,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DaysQuery {
    /// First date (inclusive), `YYYY-MM-DD`.
    #[param(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// Last date (inclusive), at most 731 days after `from`.
    #[param(value_type = String, format = Date)]
    pub to: NaiveDate,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CalendarDays {
    pub items: Vec<CalendarDay>,
}

/// The working calendar day by day: weekends, public holidays (built in from the Labour Code,
/// lunar dates by the Vietnamese calendar at UTC+7), compensatory days off and overrides.
#[utoipa::path(
    get, path = "/api/v1/calendar/days", tag = "calendar", security(("bearer" = [])), params(DaysQuery),
    responses(
        (status = 200, body = CalendarDays),
    )
)]
pub async fn list_days(
    state: web::Data<AppState>,
    caller: Caller,
    query: ApiQuery<DaysQuery>,
) -> Result<web::Json<CalendarDays>, ApiError> {
    let DaysQuery { from, to } = query.into_inner();
    if to < from {
        return Err(ApiError::validation("to", "must not be before `from`"));
    }
    if (to - from).num_days() >= MAX_DAYS_RANGE {
        return Err(ApiError::validation(
            "to",
            format!("the range may span at most {MAX_DAYS_RANGE} days"),
        ));
    }
    let calendars = Arc::clone(&state.calendar);
    let (calendar, days) = state
        .db_as(caller, move |conn, caller| {
            service::days(conn, &calendars, &caller.principal, from, to)
        })
        .await?;
    Ok(web::Json(CalendarDays {
        items: days.into_iter().map(|d| day_dto(&calendar, d)).collect(),
    }))
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OverrideKindDto {
    Holiday,
    Working,
}

/// An administrator's decision for one date, e.g. the government's Tết arrangement or a make-up
/// working Saturday.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutDayRequest {
    pub kind: OverrideKindDto,
    /// Shown in the calendar, e.g. `Nghỉ Tết (Quyết định …)`; at most 200 characters.
    #[schema(max_length = 200)]
    pub name: Option<String>,
}

impl PutDayRequest {
    fn into_override(self, date: NaiveDate) -> Result<DayOverride, ApiError> {
        let name = self
            .name
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
            return Err(ApiError::validation("name", "at most 200 characters"));
        }
        let kind = match self.kind {
            OverrideKindDto::Holiday => OverrideKind::Holiday,
            OverrideKindDto::Working => OverrideKind::Working,
        };
        Ok(DayOverride { date, kind, name })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DatePath {
    /// The local date, `YYYY-MM-DD`.
    #[param(value_type = String, format = Date)]
    pub date: NaiveDate,
}

/// Sets a date to a holiday or a working day; it applies to deadlines computed from now on.
#[utoipa::path(
    put, path = "/api/v1/calendar/days/{date}", tag = "calendar", security(("bearer" = [])), params(DatePath),
    request_body = PutDayRequest,
    responses(
        (status = 200, body = CalendarDay, description = "the date as the calendar now sees it"),
    )
)]
pub async fn put_day(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<DatePath>,
    body: ApiJson<PutDayRequest>,
) -> Result<web::Json<CalendarDay>, ApiError> {
    let day = body.0.into_override(path.into_inner().date)?;
    let calendars = Arc::clone(&state.calendar);
    let (calendar, info) = state
        .db_as(caller, move |conn, caller| {
            service::put_override(conn, &calendars, &caller.principal, &caller.audit, day)
        })
        .await?;
    Ok(web::Json(day_dto(&calendar, info)))
}

/// Removes a date's override: the built-in rules decide the date again.
#[utoipa::path(
    delete, path = "/api/v1/calendar/days/{date}", tag = "calendar", security(("bearer" = [])), params(DatePath),
    responses(
        (status = 204, description = "override removed"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "the date had no override"),
    )
)]
pub async fn delete_day(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<DatePath>,
) -> Result<HttpResponse, ApiError> {
    let date = path.into_inner().date;
    state
        .db_as(caller, move |conn, caller| {
            service::delete_override(conn, &caller.principal, &caller.audit, date)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An office session in local time (UTC+7), `HH:MM`; `start` inclusive, `end` exclusive.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionDto {
    #[schema(example = "07:30")]
    pub start: String,
    #[schema(example = "11:30")]
    pub end: String,
}

/// The office sessions of each weekday. A weekday without sessions is a weekly rest day; a make-up
/// working day on a rest day uses Monday's sessions. One working day equals the largest daily total.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficeHoursDto {
    #[serde(default)]
    pub monday: Vec<SessionDto>,
    #[serde(default)]
    pub tuesday: Vec<SessionDto>,
    #[serde(default)]
    pub wednesday: Vec<SessionDto>,
    #[serde(default)]
    pub thursday: Vec<SessionDto>,
    #[serde(default)]
    pub friday: Vec<SessionDto>,
    #[serde(default)]
    pub saturday: Vec<SessionDto>,
    #[serde(default)]
    pub sunday: Vec<SessionDto>,
}

fn format_sessions(sessions: &[Session]) -> Vec<SessionDto> {
    sessions
        .iter()
        .map(|s| SessionDto {
            start: s.start.format("%H:%M").to_string(),
            end: s.end.format("%H:%M").to_string(),
        })
        .collect()
}

impl From<&OfficeHours> for OfficeHoursDto {
    fn from(h: &OfficeHours) -> Self {
        Self {
            monday: format_sessions(&h.monday),
            tuesday: format_sessions(&h.tuesday),
            wednesday: format_sessions(&h.wednesday),
            thursday: format_sessions(&h.thursday),
            friday: format_sessions(&h.friday),
            saturday: format_sessions(&h.saturday),
            sunday: format_sessions(&h.sunday),
        }
    }
}

fn parse_time(raw: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(raw, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(raw, "%H:%M:%S"))
        .ok()
}

impl OfficeHoursDto {
    fn into_domain(self) -> Result<OfficeHours, ApiError> {
        let mut errors = Vec::new();
        let mut parse_day = |name: &str, sessions: Vec<SessionDto>| -> Vec<Session> {
            sessions
                .into_iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    let start = parse_time(&s.start);
                    let end = parse_time(&s.end);
                    if start.is_none() {
                        errors.push(FieldError::new(
                            format!("{name}[{i}].start"),
                            "expected HH:MM",
                        ));
                    }
                    if end.is_none() {
                        errors.push(FieldError::new(
                            format!("{name}[{i}].end"),
                            "expected HH:MM",
                        ));
                    }
                    Some(Session::new(start?, end?))
                })
                .collect()
        };
        let hours = OfficeHours {
            monday: parse_day("monday", self.monday),
            tuesday: parse_day("tuesday", self.tuesday),
            wednesday: parse_day("wednesday", self.wednesday),
            thursday: parse_day("thursday", self.thursday),
            friday: parse_day("friday", self.friday),
            saturday: parse_day("saturday", self.saturday),
            sunday: parse_day("sunday", self.sunday),
        };
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(hours)
    }
}

/// The office sessions per weekday (local time, UTC+7).
#[utoipa::path(
    get, path = "/api/v1/calendar/office-hours", tag = "calendar", security(("bearer" = [])),
    responses((status = 200, body = OfficeHoursDto))
)]
pub async fn get_office_hours(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<OfficeHoursDto>, ApiError> {
    let calendars = Arc::clone(&state.calendar);
    let calendar = state
        .db_as(caller, move |conn, caller| {
            service::current(conn, &calendars, &caller.principal)
        })
        .await?;
    Ok(web::Json(OfficeHoursDto::from(calendar.office_hours())))
}

/// Replaces the office sessions; deadlines computed from now on use them.
#[utoipa::path(
    put, path = "/api/v1/calendar/office-hours", tag = "calendar", security(("bearer" = [])),
    request_body = OfficeHoursDto,
    responses(
        (status = 200, body = OfficeHoursDto),
    )
)]
pub async fn put_office_hours(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<OfficeHoursDto>,
) -> Result<web::Json<OfficeHoursDto>, ApiError> {
    let hours = body.0.into_domain()?;
    let stored = state
        .db_as(caller, move |conn, caller| {
            service::put_office_hours(conn, &caller.principal, &caller.audit, hours)
        })
        .await?;
    Ok(web::Json(OfficeHoursDto::from(&stored)))
}

/// The calendar of a rule's month and day: `solar` (dương lịch) or `lunar` (âm lịch, the
/// Vietnamese lunar calendar at UTC+7).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CalendarKindDto {
    Solar,
    Lunar,
}

impl From<CalendarKindDto> for CalendarKind {
    fn from(kind: CalendarKindDto) -> Self {
        match kind {
            CalendarKindDto::Solar => Self::Solar,
            CalendarKindDto::Lunar => Self::Lunar,
        }
    }
}

impl From<CalendarKind> for CalendarKindDto {
    fn from(kind: CalendarKind) -> Self {
        match kind {
            CalendarKind::Solar => Self::Solar,
            CalendarKind::Lunar => Self::Lunar,
        }
    }
}

/// A holiday rule to add: `days` consecutive holidays from `day`/`month` of `calendar`, every
/// year from `from_year` to `to_year` (null: open-ended). A lunar rule counts lunar years and the
/// ordinary (not leap) month; its day 30 falls on the 29th in a 29-day month. A solar rule on
/// 29 February applies in leap years. Each day of the run that falls on a weekly rest day gives a
/// compensatory day off on the next working day, as the built-in holidays do; a date override
/// still decides its own date.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHolidayRule {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "\\S",
        example = "Ngày Văn hóa Việt Nam"
    )]
    pub name: String,
    pub calendar: CalendarKindDto,
    #[schema(minimum = 1, maximum = 12, example = 11)]
    pub month: u32,
    /// 1–31 for a solar rule (valid for the month), 1–30 for a lunar one.
    #[schema(minimum = 1, maximum = 31, example = 24)]
    pub day: u32,
    /// How many consecutive days, 1–10.
    #[schema(minimum = 1, maximum = 10, example = 1)]
    pub days: u32,
    /// First year (lunar year for a lunar rule), 1900–2199.
    #[schema(minimum = 1900, maximum = 2199, example = 2026)]
    pub from_year: i32,
    /// Last year, not before `from_year`; null or absent: open-ended.
    #[serde(default)]
    #[schema(minimum = 1900, maximum = 2199)]
    pub to_year: Option<i32>,
}

/// A holiday rule: a built-in one of the law (`builtin`, negative id, never deleted) or one an
/// administrator added. The built-in Tết rules start on the last day of the old lunar year
/// (lunar month 12, day 30, i.e. the month's last day), so their years are the lunar years
/// before the Tết they lead to; the second day of Quốc khánh is 1 or 3 September, chosen each
/// year to join the break to a weekend, and is listed as 1 September.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HolidayRuleDto {
    pub id: i64,
    pub name: String,
    pub calendar: CalendarKindDto,
    pub month: u32,
    pub day: u32,
    pub days: u32,
    pub from_year: i32,
    pub to_year: Option<i32>,
    pub builtin: bool,
}

impl From<service::ListedRule> for HolidayRuleDto {
    fn from(listed: service::ListedRule) -> Self {
        let rule = listed.rule;
        Self {
            id: listed.id,
            name: rule.name,
            calendar: rule.calendar.into(),
            month: rule.month,
            day: rule.day,
            days: rule.days,
            from_year: rule.from_year,
            to_year: rule.to_year,
            builtin: listed.builtin,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HolidayRuleList {
    pub items: Vec<HolidayRuleDto>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RulePath {
    pub id: i64,
}

/// The holiday rules: the built-in ones of the law first, then those administrators added.
#[utoipa::path(
    get, path = "/api/v1/calendar/rules", tag = "calendar", security(("bearer" = [])),
    responses((status = 200, body = HolidayRuleList))
)]
pub async fn list_rules(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<HolidayRuleList>, ApiError> {
    let rules = state
        .db_as(caller, move |conn, caller| {
            service::rules(conn, &caller.principal)
        })
        .await?;
    Ok(web::Json(HolidayRuleList {
        items: rules.into_iter().map(HolidayRuleDto::from).collect(),
    }))
}

/// One holiday rule.
#[utoipa::path(
    get, path = "/api/v1/calendar/rules/{id}", tag = "calendar", security(("bearer" = [])), params(RulePath),
    responses(
        (status = 200, body = HolidayRuleDto),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "no such rule"),
    )
)]
pub async fn get_rule(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<RulePath>,
) -> Result<web::Json<HolidayRuleDto>, ApiError> {
    let id = path.into_inner().id;
    let rule = state
        .db_as(caller, move |conn, caller| {
            service::rule(conn, &caller.principal, id)
        })
        .await?;
    Ok(web::Json(HolidayRuleDto::from(rule)))
}

fn rule_location(id: i64) -> String {
    format!("/api/v1/calendar/rules/{id}")
}

/// Adds a holiday rule; deadlines computed from now on see its days, those already stored keep
/// the calendar revision they were computed with.
#[utoipa::path(
    post, path = "/api/v1/calendar/rules", tag = "calendar", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "same key and body within 24 h → the first response again; other body → 422", pattern = "^[!-~]{1,200}$")),
    request_body = NewHolidayRule,
    responses(
        (status = 201, body = HolidayRuleDto, headers(("Location" = String))),
    )
)]
pub async fn add_rule(
    state: web::Data<AppState>,
    caller: Caller,
    body: IdempotentJson<NewHolidayRule>,
) -> Result<HttpResponse, ApiError> {
    let idem = body.idempotency;
    let b = body.value;
    let rule = HolidayRule {
        name: b.name,
        calendar: b.calendar.into(),
        month: b.month,
        day: b.day,
        days: b.days,
        from_year: b.from_year,
        to_year: b.to_year,
    };
    let calendars = Arc::clone(&state.calendar);
    idempotency::created(&state, caller, idem, move |conn, caller| {
        let added = service::add_rule(conn, &calendars, &caller.principal, &caller.audit, rule)?;
        Ok((rule_location(added.id), HolidayRuleDto::from(added)))
    })
    .await
}

/// Deletes a holiday rule an administrator added; deadlines already stored keep theirs.
#[utoipa::path(
    delete, path = "/api/v1/calendar/rules/{id}", tag = "calendar", security(("bearer" = [])), params(RulePath),
    responses(
        (status = 204, description = "rule deleted"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "no such rule"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "the rule is built in"),
    )
)]
pub async fn delete_rule(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<RulePath>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner().id;
    state
        .db_as(caller, move |conn, caller| {
            service::delete_rule(conn, &caller.principal, &caller.audit, id)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnitDto {
    WorkingDays,
    WorkingHours,
    CalendarDays,
}

impl From<TimeUnitDto> for TimeUnit {
    fn from(u: TimeUnitDto) -> Self {
        match u {
            TimeUnitDto::WorkingDays => TimeUnit::WorkingDays,
            TimeUnitDto::WorkingHours => TimeUnit::WorkingHours,
            TimeUnitDto::CalendarDays => TimeUnit::CalendarDays,
        }
    }
}

impl From<TimeUnit> for TimeUnitDto {
    fn from(u: TimeUnit) -> Self {
        match u {
            TimeUnit::WorkingDays => Self::WorkingDays,
            TimeUnit::WorkingHours => Self::WorkingHours,
            TimeUnit::CalendarDays => Self::CalendarDays,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeadlineQuery {
    /// When the dossier would be received, RFC 3339 with offset (encode `+` as `%2B`).
    #[serde(deserialize_with = "deserialize_instant")]
    #[param(value_type = String, format = DateTime, example = "2025-01-24T14:00:00+07:00")]
    pub start: DateTime<Utc>,
    /// The time limit's amount, 1–3650.
    #[param(minimum = 1, maximum = 3650)]
    pub amount: u32,
    #[param(inline)]
    pub unit: TimeUnitDto,
}

/// What a dossier received at `start` would be due.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeadlinePreview {
    pub start: DateTime<FixedOffset>,
    /// The first working instant at or after `start`: counting begins there.
    pub counting_starts_at: DateTime<FixedOffset>,
    pub amount: u32,
    pub unit: TimeUnitDto,
    /// The limit in working minutes (absent for calendar days).
    pub working_minutes: Option<i64>,
    pub due_at: DateTime<FixedOffset>,
}

/// Working days add `amount` standard working days of working time; receipt outside office hours
/// counts from the next session. Calendar days end at the close of the `amount`-th day after the
/// start's date, or of the next working day when that day is not one (Civil Code 2015 art. 148).
#[utoipa::path(
    get, path = "/api/v1/calendar/deadline", tag = "calendar", security(("bearer" = [])), params(DeadlineQuery),
    responses(
        (status = 200, body = DeadlinePreview),
    )
)]
pub async fn deadline_preview(
    state: web::Data<AppState>,
    caller: Caller,
    query: ApiQuery<DeadlineQuery>,
) -> Result<web::Json<DeadlinePreview>, ApiError> {
    let q = query.into_inner();
    if !(1..=3650).contains(&q.amount) {
        return Err(ApiError::validation("amount", "must be between 1 and 3650"));
    }
    let limit = TimeLimit {
        amount: q.amount,
        unit: q.unit.into(),
    };
    let calendars = Arc::clone(&state.calendar);
    let start = q.start;
    let preview = state
        .db_as(caller, move |conn, caller| {
            service::preview_deadline(conn, &calendars, &caller.principal, start, limit)
        })
        .await?;
    Ok(web::Json(DeadlinePreview {
        start: local(q.start),
        counting_starts_at: local(preview.counting_starts_at),
        amount: q.amount,
        unit: q.unit,
        working_minutes: preview.working_minutes,
        due_at: local(preview.due_at),
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/calendar/days").get(list_days))
        .service(
            web::resource("/api/v1/calendar/days/{date}")
                .put(put_day)
                .delete(delete_day),
        )
        .service(
            web::resource("/api/v1/calendar/office-hours")
                .get(get_office_hours)
                .put(put_office_hours),
        )
        .service(
            web::resource("/api/v1/calendar/rules")
                .get(list_rules)
                .post(add_rule),
        )
        .service(
            web::resource("/api/v1/calendar/rules/{id}")
                .get(get_rule)
                .delete(delete_rule),
        )
        .service(web::resource("/api/v1/calendar/deadline").get(deadline_preview));
}
