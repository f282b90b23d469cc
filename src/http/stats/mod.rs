//! Statistics endpoints: the official report (JSON, CSV, XLSX), late and overdue dossiers with the
//! steps that ran over, and due-soon warnings. All need the `read_statistics` permission (admin,
//! leader, auditor); statistics are agency-wide.

mod render;

use render::{summary_csv, summary_xlsx};

use std::collections::BTreeMap;

use actix_web::{HttpResponse, http::header, web};
use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::Caller,
    dossiers::{DossierDto, dossier_dto},
    error::ApiError,
    pagination::{Page, PageQuery, id_cursor, instant_cursor},
    state::AppState,
    time::{local, local_opt},
};
use crate::http::extract::ApiQuery;
use crate::{
    domain::{
        Instant,
        classification::Outcome,
        dossier::{Channel, Resolution},
        stats::{OpenState, ReportLine},
    },
    service::stats::{
        self as service, Column, GroupBy, LateKind, LateQuery, Summary, SummaryQuery, SummaryRow,
    },
    store::dossiers::DossierFilter,
};

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GroupByDto {
    /// The procedure's lead unit (`unit_code` of the dossier, fixed at receipt).
    #[default]
    Unit,
    Procedure,
    /// The procedure's field (lĩnh vực), as copied to the dossier at receipt.
    Field,
    /// `direct`, `online`, `postal`.
    Channel,
    /// The local (UTC+7) month of each counted event; each row is that month's own report.
    Month,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    #[default]
    Json,
    /// UTF-8 with a byte-order mark (Excel reads Vietnamese correctly), RFC 4180 quoting.
    Csv,
    /// An Excel workbook: header row, one row per group, a bold total row, number formats.
    Xlsx,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryParams {
    /// First day of the period, a local (UTC+7) date, inclusive: the period starts at 00:00+07:00.
    #[param(value_type = String, format = Date, example = "2018-01-01")]
    pub from: NaiveDate,
    /// Last day of the period, a local date, inclusive: the period ends before 00:00+07:00 of the
    /// next day.
    #[param(value_type = String, format = Date, example = "2018-10-31")]
    pub to: NaiveDate,
    /// What the rows are (default `unit`).
    #[param(inline)]
    pub group_by: Option<GroupByDto>,
    /// `json` (default), `csv` or `xlsx`.
    #[param(inline)]
    pub format: Option<ReportFormat>,
}

/// One row of the report. Every count is reproduced exactly by the dossier list named in
/// `list_queries` under the same name (as an admin or auditor, whose list is not restricted).
///
/// Definitions (T₀ = 00:00+07:00 of the row's `from`, T₁ = 00:00+07:00 of the day after its `to`):
/// a dossier is *open at T* when it was received before T and neither resolved, withdrawn nor
/// stopped before T; *awaiting a supplement (a payment) at T* when open with a request for
/// supplement (for payment) started before T and not ended before T; *overdue at T* when open,
/// awaiting neither, and its statutory due instant (after pauses) is before T. A dossier submitted
/// online counts as received only once accepted, on the day of acceptance.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SummaryRowDto {
    /// The group: a unit code, procedure code, field, channel or `YYYY-MM`; `null` on the total.
    pub key: Option<String>,
    /// Unit name, procedure name (latest version), channel or month in Vietnamese.
    pub label: String,
    /// The row's first local date (a month row is clipped to the period).
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// The row's last local date.
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// Kỳ trước chuyển qua: open at T₀.
    pub carried_over: i64,
    /// Mới tiếp nhận: received in [T₀, T₁).
    pub received: i64,
    /// Of which online (`channel = online`).
    pub received_online: i64,
    /// Of which at the counter (`channel = direct`).
    pub received_direct: i64,
    /// Of which by post (`channel = postal`).
    pub received_postal: i64,
    /// Đã giải quyết: resolved in [T₀, T₁), approved or refused, whenever received.
    pub resolved: i64,
    /// Resolved on a local day before the day of the due instant.
    pub resolved_early: i64,
    /// Resolved on the day of the due instant, at or before it.
    pub resolved_on_time: i64,
    /// Resolved after the due instant.
    pub resolved_late: i64,
    /// (early + on time) / resolved, rounded to 4 decimals; `null` when nothing was resolved.
    pub on_time_or_early_share: Option<f64>,
    /// Đang giải quyết: open at T₁ (= not yet due + overdue + awaiting supplement + awaiting
    /// payment).
    pub open_at_end: i64,
    /// Open at T₁, awaiting neither a supplement nor a payment, due at or after T₁.
    pub open_not_yet_due: i64,
    /// Open at T₁, awaiting neither a supplement nor a payment, due before T₁.
    pub open_overdue: i64,
    /// Open at T₁ and awaiting a supplement then.
    pub open_awaiting_supplement: i64,
    /// Open at T₁ and awaiting a payment then (chờ thực hiện nghĩa vụ tài chính).
    pub open_awaiting_payment: i64,
    /// Withdrawn in [T₀, T₁).
    pub withdrawn: i64,
    /// Resolved in [T₀, T₁) with the result `refused`.
    pub refused: i64,
    /// Không được tiếp nhận: declined at the intake check in [T₀, T₁); never received.
    pub declined: i64,
    /// Dừng xử lý: processing stopped in [T₀, T₁).
    pub stopped: i64,
    /// Dossiers whose first online payment was made in [T₀, T₁).
    pub paid_online: i64,
    /// Đã số hóa: received in [T₀, T₁) and digitized as they stand now (a file for every
    /// required component and, once resolved, one of the result).
    pub digitized: i64,
    /// Over the dossiers resolved in [T₀, T₁): the average working days used, from receipt (or
    /// the last restart of the clock under the `restart` supplement policy) to resolution, paused
    /// time excluded, on the working calendar as it was at resolution (3 decimals).
    pub avg_working_days_used: Option<f64>,
    /// Over the same dossiers: the average statutory limit in working days (a limit in calendar
    /// days counts the working time those days hold).
    pub avg_statutory_working_days: Option<f64>,
    /// 1 − used / statutory over the same dossiers, 4 decimals (0.3: 30 % of the statutory time
    /// saved; negative when over).
    pub time_saved_share: Option<f64>,
    /// Total working minutes used by the dossiers resolved in the row.
    pub working_minutes_used: i64,
    /// Total of their statutory limits in working minutes.
    pub statutory_working_minutes: i64,
    /// For each count above (by its name): the `GET /api/v1/dossiers` request returning exactly
    /// those dossiers. The time-used figures cover the dossiers of `resolved`.
    pub list_queries: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SummaryDto {
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    #[schema(inline)]
    pub group_by: GroupByDto,
    /// 00:00+07:00 of `from`.
    pub period_start: DateTime<FixedOffset>,
    /// 00:00+07:00 of the day after `to` (exclusive).
    pub period_end: DateTime<FixedOffset>,
    /// Minutes in one working day (the standard day of the office hours) used for the averages.
    pub working_day_minutes: i64,
    /// Groups with at least one non-zero count, by key; for `month`, every month of the period.
    pub rows: Vec<SummaryRowDto>,
    /// The whole period. Flows (received, resolved, withdrawn, refused) are the sums of the rows;
    /// stocks (carried over, open at end) are at the period's own start and end.
    pub total: SummaryRowDto,
}

fn instant_text(instant: Instant) -> String {
    local(instant).to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// Percent-encodes a query value (everything but unreserved characters).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `GET /api/v1/dossiers` request with the filters of `f` (those the report uses).
pub fn list_query(f: &DossierFilter) -> String {
    let mut params: Vec<(&str, String)> = Vec::new();
    let text = |params: &mut Vec<(&str, String)>, name, v: &Option<String>| {
        if let Some(v) = v {
            params.push((name, v.clone()));
        }
    };
    let name_of = |params: &mut Vec<(&str, String)>, name, v: Option<&'static str>| {
        if let Some(v) = v {
            params.push((name, v.to_owned()));
        }
    };
    let at = |params: &mut Vec<(&str, String)>, name, v: Option<Instant>| {
        if let Some(v) = v {
            params.push((name, instant_text(v)));
        }
    };
    text(&mut params, "unit_code", &f.unit_code);
    text(&mut params, "procedure_code", &f.procedure_code);
    text(&mut params, "field", &f.stats.field);
    name_of(&mut params, "channel", f.channel.map(Channel::as_str));
    at(&mut params, "received_from", f.received_from);
    at(&mut params, "received_to", f.received_to);
    at(&mut params, "resolved_from", f.resolved_from);
    at(&mut params, "resolved_to", f.resolved_to);
    name_of(&mut params, "outcome", f.outcome.map(Outcome::as_str));
    name_of(
        &mut params,
        "result",
        f.stats.result.map(Resolution::as_str),
    );
    at(&mut params, "withdrawn_from", f.stats.withdrawn_from);
    at(&mut params, "withdrawn_to", f.stats.withdrawn_to);
    at(&mut params, "declined_from", f.stats.declined_from);
    at(&mut params, "declined_to", f.stats.declined_to);
    at(&mut params, "stopped_from", f.stats.stopped_from);
    at(&mut params, "stopped_to", f.stats.stopped_to);
    at(&mut params, "paid_online_from", f.stats.paid_online_from);
    at(&mut params, "paid_online_to", f.stats.paid_online_to);
    name_of(
        &mut params,
        "digitized",
        f.stats.digitized.map(|d| if d { "true" } else { "false" }),
    );
    at(&mut params, "open_at", f.stats.open_at);
    name_of(
        &mut params,
        "open_state",
        f.stats.open_state.map(OpenState::as_str),
    );
    let query = params
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    format!("/api/v1/dossiers?{query}")
}

/// Rounds a ratio to 4 decimals and an average to 3, as printed reports do.
fn round(v: Option<f64>, decimals: i32) -> Option<f64> {
    let f = 10f64.powi(decimals);
    v.map(|v| (v * f).round() / f)
}

fn row_dto(row: &SummaryRow, day_minutes: i64) -> SummaryRowDto {
    let l: &ReportLine = &row.line;
    SummaryRowDto {
        key: row.key.clone(),
        label: row.label.clone(),
        from: row.from,
        to: row.to,
        carried_over: l.carried_over,
        received: l.received,
        received_online: l.received_online,
        received_direct: l.received_direct,
        received_postal: l.received_postal,
        resolved: l.resolved,
        resolved_early: l.resolved_early,
        resolved_on_time: l.resolved_on_time,
        resolved_late: l.resolved_late,
        on_time_or_early_share: round(l.on_time_or_early_share(), 4),
        open_at_end: l.open_at_end,
        open_not_yet_due: l.open_not_yet_due,
        open_overdue: l.open_overdue,
        open_awaiting_supplement: l.open_awaiting_supplement,
        open_awaiting_payment: l.open_awaiting_payment,
        withdrawn: l.withdrawn,
        refused: l.refused,
        declined: l.declined,
        stopped: l.stopped,
        paid_online: l.paid_online,
        digitized: l.digitized,
        avg_working_days_used: round(l.avg_working_days_used(day_minutes), 3),
        avg_statutory_working_days: round(l.avg_statutory_days(day_minutes), 3),
        time_saved_share: round(l.time_saved_share(), 4),
        working_minutes_used: l.used_minutes,
        statutory_working_minutes: l.limit_minutes,
        list_queries: Column::ALL
            .into_iter()
            .filter_map(|c| {
                row.cell_filter(c)
                    .map(|f| (c.name().to_owned(), list_query(&f)))
            })
            .collect(),
    }
}

fn group_dto(g: GroupBy) -> GroupByDto {
    match g {
        GroupBy::Unit => GroupByDto::Unit,
        GroupBy::Procedure => GroupByDto::Procedure,
        GroupBy::Field => GroupByDto::Field,
        GroupBy::Channel => GroupByDto::Channel,
        GroupBy::Month => GroupByDto::Month,
    }
}

pub fn summary_dto(s: &Summary) -> SummaryDto {
    SummaryDto {
        from: s.from,
        to: s.to,
        group_by: group_dto(s.group_by),
        period_start: local(s.total.start()),
        period_end: local(s.total.end()),
        working_day_minutes: s.day_minutes,
        rows: s.rows.iter().map(|r| row_dto(r, s.day_minutes)).collect(),
        total: row_dto(&s.total, s.day_minutes),
    }
}

/// The report of `[from, to]` grouped by `group_by`: every column of the official report, a total
/// row, and for each count the dossier list that reproduces it.
///
/// `from` and `to` are local (UTC+7) dates, inclusive. Flows are counted on the local day of their
/// event (receipt, resolution, withdrawal); stocks at 00:00+07:00 of `from` (carried over) and of
/// the day after `to` (open at end). The report is computed from counters kept in the same
/// transaction as every dossier change, so it is exact and does not scan dossiers.
/// `format=csv` and `format=xlsx` download the same rows (without `list_queries`).
#[utoipa::path(
    get, path = "/api/v1/stats/summary", tag = "statistics", params(SummaryParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the report", content(
            (SummaryDto = "application/json"),
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
    )
)]
pub async fn summary(
    state: web::Data<AppState>,
    caller: Caller,
    query: ApiQuery<SummaryParams>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let group_by = match q.group_by.unwrap_or_default() {
        GroupByDto::Unit => GroupBy::Unit,
        GroupByDto::Procedure => GroupBy::Procedure,
        GroupByDto::Field => GroupBy::Field,
        GroupByDto::Channel => GroupBy::Channel,
        GroupByDto::Month => GroupBy::Month,
    };
    let calendars = state.calendar.clone();
    let query = SummaryQuery {
        from: q.from,
        to: q.to,
        group_by,
    };
    let report = state
        .db_as(caller, move |conn, caller| {
            service::summary(conn, &calendars, &caller.principal, &query)
        })
        .await?;
    let name = format!(
        "bao-cao-{}-{}-{}",
        report.from,
        report.to,
        report.group_by.as_str()
    );
    Ok(match q.format.unwrap_or_default() {
        ReportFormat::Json => HttpResponse::Ok().json(summary_dto(&report)),
        ReportFormat::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ))
            .body(summary_csv(&report)?),
        ReportFormat::Xlsx => HttpResponse::Ok()
            .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.xlsx\""),
            ))
            .body(summary_xlsx(&report)?),
    })
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LateKindDto {
    /// Resolved after the due instant.
    Late,
    /// Open (received or processing) and past the due instant now.
    Overdue,
    /// Both.
    #[default]
    All,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LateParams {
    /// `late`, `overdue` or `all` (default).
    #[param(inline)]
    pub kind: Option<LateKindDto>,
    /// Late dossiers resolved on or after this local date.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// Late dossiers resolved on or before this local date.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
    /// The procedure's lead unit.
    pub unit_code: Option<String>,
    pub procedure_code: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$", max_length = 200)]
    pub cursor: Option<String>,
}

/// A process step that ran over its allotted time, from the control slip.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OverrunStepDto {
    /// Position of the step in the procedure, from 0.
    pub step: Option<i32>,
    pub step_name: Option<String>,
    /// The unit responsible for the step.
    pub unit_code: Option<String>,
    /// The step's own due instant.
    pub due_at: DateTime<FixedOffset>,
    /// When the step was handed on (`null`: the current step, still running).
    pub finished_at: Option<DateTime<FixedOffset>>,
    /// Working minutes past the step's due instant (to `finished_at`, or to now).
    pub overrun_working_minutes: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LateDossierDto {
    /// `late` (resolved after due) or `overdue` (open past due).
    pub kind: String,
    /// Working minutes from the statutory due instant to resolution (late) or to now (overdue).
    pub overrun_working_minutes: i64,
    /// The same in working days (of the office hours' standard day).
    pub overrun_working_days: f64,
    /// Every step that finished after its own due instant, and the current step if it is past
    /// due: who made the dossier late, for the apology and accountability follow-up.
    pub steps: Vec<OverrunStepDto>,
    pub dossier: DossierDto,
}

/// Late and overdue dossiers with the steps and units that ran over and by how much working time;
/// ordered by dossier, cursor-paginated.
#[utoipa::path(
    get, path = "/api/v1/stats/late", tag = "statistics", params(LateParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<LateDossierDto>),
    )
)]
pub async fn late(
    state: web::Data<AppState>,
    caller: Caller,
    query: ApiQuery<LateParams>,
) -> Result<web::Json<Page<LateDossierDto>>, ApiError> {
    let q = query.into_inner();
    let page = PageQuery::new(q.limit, q.cursor);
    let limit = page.limit()?;
    let after_id = page.after_id()?;
    let kind = q.kind.unwrap_or_default();
    let late_query = LateQuery {
        late: matches!(kind, LateKindDto::Late | LateKindDto::All),
        overdue: matches!(kind, LateKindDto::Overdue | LateKindDto::All),
        from: q.from,
        to: q.to,
        unit_code: q.unit_code,
        procedure_code: q.procedure_code,
    };
    let now = Utc::now();
    let calendars = state.calendar.clone();
    let (rows, calendar) = state
        .db_as(caller, move |conn, caller| -> Result<_, ApiError> {
            let rows = service::late(
                conn,
                &calendars,
                &caller.principal,
                &late_query,
                now,
                after_id,
                limit + 1,
            )?;
            let (_, calendar) = calendars.get(conn)?;
            Ok((rows, calendar))
        })
        .await?;
    let day = calendar.standard_day_minutes().max(1) as f64;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| id_cursor(r.dossier.id),
        |r| LateDossierDto {
            kind: match r.kind {
                LateKind::Late => "late",
                LateKind::Overdue => "overdue",
            }
            .to_owned(),
            overrun_working_minutes: r.overrun_minutes,
            overrun_working_days: (r.overrun_minutes as f64 / day * 100.0).round() / 100.0,
            steps: r
                .steps
                .into_iter()
                .map(|s| OverrunStepDto {
                    step: s.step,
                    step_name: s.step_name,
                    unit_code: s.unit_code,
                    due_at: local(s.due_at),
                    finished_at: local_opt(s.finished_at),
                    overrun_working_minutes: s.overrun_minutes,
                })
                .collect(),
            dossier: dossier_dto(r.dossier, now),
        },
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DueSoonParams {
    /// A whole number of working days, 0–30 (default 2): dossiers due between now and the instant
    /// `within` working days from now on the working calendar. `0`: due before the end of the
    /// current working instant only (nothing, outside office hours).
    #[param(minimum = 0, maximum = 30)]
    pub within: Option<u32>,
    /// The procedure's lead unit.
    pub unit_code: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$", max_length = 200)]
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DueSoonDto {
    /// Working minutes from now to the statutory due instant.
    pub working_minutes_left: i64,
    pub dossier: DossierDto,
}

/// Warnings: open dossiers (received or processing; a dossier awaiting a supplement has its clock
/// stopped) that are not yet due but will be within `within` working days; soonest first.
#[utoipa::path(
    get, path = "/api/v1/stats/due-soon", tag = "statistics", params(DueSoonParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<DueSoonDto>),
    )
)]
pub async fn due_soon(
    state: web::Data<AppState>,
    caller: Caller,
    query: ApiQuery<DueSoonParams>,
) -> Result<web::Json<Page<DueSoonDto>>, ApiError> {
    let q = query.into_inner();
    let within = q.within.unwrap_or(2);
    if within > 30 {
        return Err(ApiError::validation("within", "at most 30 working days"));
    }
    let page = PageQuery::new(q.limit, q.cursor);
    let limit = page.limit()?;
    let after = page.after_instant("due")?;
    let now = Utc::now();
    let calendars = state.calendar.clone();
    let unit = q.unit_code;
    let rows = state
        .db_as(caller, move |conn, caller| {
            service::due_soon(
                conn,
                &calendars,
                &caller.principal,
                within,
                unit.as_deref(),
                now,
                after,
                limit + 1,
            )
        })
        .await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| instant_cursor("due", r.due_at, r.dossier.id),
        |r| DueSoonDto {
            working_minutes_left: r.working_minutes_left,
            dossier: dossier_dto(r.dossier, now),
        },
    )))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/stats/summary").get(summary))
        .service(web::resource("/api/v1/stats/late").get(late))
        .service(web::resource("/api/v1/stats/due-soon").get(due_soon));
}
