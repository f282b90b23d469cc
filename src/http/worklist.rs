//! `GET /api/v1/worklist`: what sits on the caller's desk, the step due soonest first.

use actix_web::web;
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    auth::Caller,
    dossiers::{CurrentStep, current_step},
    error::ApiError,
    pagination::{Page, PageQuery, instant_cursor},
    state::AppState,
    time::local,
};
use crate::http::extract::ApiQuery;
use crate::{
    domain::{dossier::Status, worklist::DeskFlag},
    service::dossiers::{self as service, WorkItem},
};

/// Why a dossier on the desk needs attention.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DeskFlagDto {
    /// Past its statutory due instant (quá hạn): it will be counted late.
    Overdue,
    /// The current step has used up its allotted time.
    StepOverdue,
    /// Not overdue; the dossier or its current step falls due before today ends (UTC+7).
    DueToday,
    /// Not overdue nor due today; the dossier falls due within two working days.
    DueSoon,
}

impl From<DeskFlag> for DeskFlagDto {
    fn from(flag: DeskFlag) -> Self {
        match flag {
            DeskFlag::Overdue => Self::Overdue,
            DeskFlag::StepOverdue => Self::StepOverdue,
            DeskFlag::DueToday => Self::DueToday,
            DeskFlag::DueSoon => Self::DueSoon,
        }
    }
}

/// A dossier on the desk: enough to pick it up, act on it (`version` for `If-Match`) and see
/// why it is urgent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkItemDto {
    #[schema(example = "SCT-250124-0001")]
    pub code: String,
    pub procedure_code: String,
    /// `received`, `processing`, or `awaiting_supplement` / `awaiting_payment` (clock stopped, no
    /// flags).
    #[schema(schema_with = crate::http::wire_schema::status)]
    pub status: Status,
    /// The national portal's status code (see the dossier's `national_status`).
    #[schema(minimum = 1, maximum = 10)]
    pub national_status: u8,
    pub version: i32,
    pub applicant_name: String,
    pub received_at: DateTime<FixedOffset>,
    /// The statutory due instant (ngày hẹn trả).
    pub due_at: DateTime<FixedOffset>,
    pub current_step: CurrentStep,
    /// The current step's own due instant, by its allotted hours: the order of the list.
    pub step_due_at: DateTime<FixedOffset>,
    /// In the order `overdue`, `step_overdue`, `due_today`, `due_soon`; empty when nothing presses.
    pub flags: Vec<DeskFlagDto>,
}

fn work_item_dto(item: WorkItem) -> WorkItemDto {
    let d = item.dossier;
    WorkItemDto {
        current_step: current_step(&d, item.step),
        step_due_at: local(item.step_due_at),
        applicant_name: d.applicant.particulars().name.clone(),
        code: d.code,
        procedure_code: d.procedure_code,
        status: d.status,
        national_status: d.status.national_code(),
        version: d.version,
        received_at: local(item.received_at),
        due_at: local(item.due_at),
        flags: item.flags.into_iter().map(DeskFlagDto::from).collect(),
    }
}

/// The caller's desk (hồ sơ chờ xử lý): the open dossiers whose current step sits in the caller's
/// unit (for an administrator, every open dossier of their agencies), the step due soonest first.
/// Reception, specialists and leaders each see their own unit's queue; auditors and machine
/// clients have no desk (403).
#[utoipa::path(
    get, path = "/api/v1/worklist", tag = "dossiers", operation_id = "worklist",
    params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<WorkItemDto>))
)]
pub async fn worklist(
    state: web::Data<AppState>,
    caller: Caller,
    query: ApiQuery<PageQuery>,
) -> Result<web::Json<Page<WorkItemDto>>, ApiError> {
    let page = query.into_inner();
    let limit = page.limit()?;
    let after = page.after_instant("step")?;
    let now = Utc::now();
    let calendars = state.calendar.clone();
    let rows = state
        .db_as(caller, move |conn, caller| {
            service::worklist(conn, &calendars, &caller.principal, now, after, limit + 1)
        })
        .await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |item| instant_cursor("step", item.step_due_at, item.dossier.id),
        work_item_dto,
    )))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/worklist").get(worklist));
}
