//! Dossiers: receipt, actions with optimistic concurrency, reads, the list, and the applicant's lookup.

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web,
};
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::Caller,
    error::{ApiError, Problem},
    extract::{ApiJson, parse_json},
    pagination::{Page, PageQuery, encode_cursor},
    state::AppState,
    time::{deserialize_opt_instant, local, local_opt},
};
use crate::{
    domain::dossier::{Command, Resolution, Status},
    domain::stats::OpenState,
    service::dossiers::{self as service, ActionInput, Applicant, ReceiptInput, StoredReply},
    store::{
        dossiers::{DossierFilter, DossierRecord, ListCursor, StatsFilter, utc},
        feed::ChangePosition,
    },
};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicantDto {
    #[schema(
        example = "Công ty TNHH Thương mại An Phát",
        min_length = 1,
        max_length = 200,
        pattern = "\\S"
    )]
    pub name: String,
    /// Citizen identity or tax number: letters and digits.
    #[schema(pattern = "^[A-Za-z0-9]{1,32}$")]
    pub id_number: Option<String>,
    #[schema(max_length = 300)]
    pub organization: Option<String>,
    #[schema(pattern = "^[0-9 +().-]{1,32}$")]
    pub phone: Option<String>,
    #[schema(pattern = "^[^@]+@[^@]+$", max_length = 254)]
    pub email: Option<String>,
    #[schema(max_length = 500)]
    pub address: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ChannelDto {
    Direct,
    Online,
    Postal,
}

impl ChannelDto {
    fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Online => "online",
            Self::Postal => "postal",
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveRequest {
    pub procedure_code: String,
    pub applicant: ApplicantDto,
    pub channel: ChannelDto,
    /// When the dossier was received; defaults to now and may not be in the future.
    pub received_at: Option<DateTime<FixedOffset>>,
    /// The e-portal's own reference; unique.
    #[schema(max_length = 100, pattern = "\\S")]
    pub external_ref: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CurrentStep {
    /// Position in the procedure's steps, from 0.
    pub index: i32,
    pub unit_code: Option<String>,
    pub started_at: Option<DateTime<FixedOffset>>,
    /// The step's own due instant (from its allotted hours).
    pub due_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DossierDto {
    #[schema(example = "SCT-250124-0001")]
    pub code: String,
    pub procedure_code: String,
    pub procedure_version: i32,
    /// The procedure's lead unit.
    pub unit_code: String,
    pub field: String,
    /// `received`, `processing`, `awaiting_supplement`, `resolved`, `returned` or `withdrawn`.
    pub status: String,
    pub channel: String,
    pub applicant: ApplicantDto,
    pub received_at: DateTime<FixedOffset>,
    /// The statutory due instant (ngày hẹn trả) after pauses.
    pub due_at: DateTime<FixedOffset>,
    pub resolved_at: Option<DateTime<FixedOffset>>,
    /// `approved` or `refused`.
    pub result: Option<String>,
    pub returned_at: Option<DateTime<FixedOffset>>,
    pub withdrawn_at: Option<DateTime<FixedOffset>>,
    /// `early`, `on_time` or `late`, once resolved.
    pub outcome: Option<String>,
    /// Open (received or processing) and past its due instant now.
    pub overdue: bool,
    pub current_step: Option<CurrentStep>,
    /// Since when the clock is stopped awaiting a supplement.
    pub paused_since: Option<DateTime<FixedOffset>>,
    /// The new appointment of the latest apology, if any; the dossier is still judged by `due_at`.
    pub apology_due_at: Option<DateTime<FixedOffset>>,
    pub external_ref: Option<String>,
    pub version: i32,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

/// The receipt's answer: the dossier and, once only, the applicant's lookup secret.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReceivedDossier {
    #[serde(flatten)]
    pub dossier: DossierDto,
    /// Give it to the applicant with the receipt slip; it is stored hashed and never shown again.
    pub lookup_secret: String,
}

pub fn dossier_dto(r: DossierRecord, now: DateTime<Utc>) -> DossierDto {
    let status = Status::parse(&r.status);
    let overdue = status.is_some_and(|s| s.is_overdue(utc(r.due_at), now));
    let applicant: Applicant = serde_json::from_str(&r.applicant).unwrap_or_default();
    DossierDto {
        code: r.code,
        procedure_code: r.procedure_code,
        procedure_version: r.procedure_version,
        unit_code: r.unit_code,
        field: r.field,
        status: r.status,
        channel: r.channel,
        applicant: ApplicantDto {
            name: r.applicant_name,
            id_number: applicant.id_number,
            organization: applicant.organization,
            phone: applicant.phone,
            email: applicant.email,
            address: applicant.address,
        },
        received_at: local(utc(r.received_at)),
        due_at: local(utc(r.due_at)),
        resolved_at: local_opt(r.resolved_at.map(utc)),
        result: r.result,
        returned_at: local_opt(r.returned_at.map(utc)),
        withdrawn_at: local_opt(r.withdrawn_at.map(utc)),
        outcome: r.outcome,
        overdue,
        current_step: r
            .current_step
            .filter(|_| status.is_some_and(Status::is_open))
            .map(|index| CurrentStep {
                index,
                unit_code: r.current_unit_code,
                started_at: local_opt(r.current_step_started_at.map(utc)),
                due_at: local_opt(r.current_step_due_at.map(utc)),
            }),
        paused_since: local_opt(r.paused_since.map(utc)),
        apology_due_at: local_opt(r.apology_due_at.map(utc)),
        external_ref: r.external_ref,
        version: r.version,
        created_at: local(utc(r.created_at)),
        updated_at: local(utc(r.updated_at)),
    }
}

fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

fn dossier_response(status: StatusCode, record: DossierRecord) -> HttpResponse {
    let version = record.version;
    HttpResponse::build(status)
        .insert_header((header::ETAG, etag(version)))
        .json(dossier_dto(record, Utc::now()))
}

/// Receipt (tiếp nhận): assigns the code `{agency_code}-{YYMMDD}-{NNNN}` (per agency and local day,
/// gap-free), computes the due instant, and writes the first control-slip entry.
#[utoipa::path(
    post, path = "/api/v1/dossiers", tag = "dossiers", request_body = ReceiveRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "same key and body within 24 h → the first response again; other body → 422", pattern = "^[!-~]{1,200}$")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = ReceivedDossier, headers(("Location" = String), ("ETag" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "external_ref exists"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn receive(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if !super::extract::is_json_content_type(&req) {
        return Err(ApiError::UnsupportedMediaType(
            "send the body as application/json".to_owned(),
        ));
    }
    let parsed: ReceiveRequest = parse_json(&body)?;
    let idem = super::idempotency::request(&req, &body)?;
    let input = ReceiptInput {
        procedure_code: parsed.procedure_code,
        applicant: Applicant {
            name: parsed.applicant.name,
            id_number: parsed.applicant.id_number,
            organization: parsed.applicant.organization,
            phone: parsed.applicant.phone,
            email: parsed.applicant.email,
            address: parsed.applicant.address,
        },
        channel: parsed.channel.as_str().to_owned(),
        received_at: parsed.received_at.map(|t| t.with_timezone(&Utc)),
        external_ref: parsed.external_ref,
    };
    let calendars = state.calendar.clone();
    let reply = state
        .db_as(caller, move |conn, caller| {
            service::receive(
                conn,
                &calendars,
                &caller.principal,
                &caller.audit,
                input,
                idem.as_ref(),
                |received| {
                    let body = ReceivedDossier {
                        dossier: dossier_dto(received.record.clone(), Utc::now()),
                        lookup_secret: received.lookup_secret.clone(),
                    };
                    StoredReply {
                        status: 201,
                        location: Some(format!("/api/v1/dossiers/{}", received.record.code)),
                        body: serde_json::to_string(&body).unwrap_or_default(),
                    }
                },
            )
        })
        .await?;
    super::idempotency::response(reply)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DossierPath {
    #[param(example = "SCT-250124-0001")]
    pub code: String,
}

#[utoipa::path(
    get, path = "/api/v1/dossiers/{code}", tag = "dossiers", params(DossierPath), security(("bearer" = [])),
    responses(
        (status = 200, body = DossierDto, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_dossier(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<DossierPath>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner().code;
    let record = state
        .db_as(caller, move |conn, caller| {
            service::get(conn, &caller.principal, &code)
        })
        .await?;
    Ok(dossier_response(StatusCode::OK, record))
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ResultDto {
    Approved,
    Refused,
}

/// An action on a dossier. Fields other than `action`, `at`, `to_user` and `note` belong to
/// particular actions: `forward` (`to_unit_code`, optional: the next step otherwise),
/// `request_supplement` (`reason`, `documents`), `resolve` (`result`, `note` required when refused),
/// `withdraw` (`reason`), `apologize` (`reason`, `new_due_at`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ActionRequest {
    Start {
        #[serde(flatten)]
        common: ActionCommon,
    },
    Forward {
        to_unit_code: Option<String>,
        #[serde(flatten)]
        common: ActionCommon,
    },
    RequestSupplement {
        reason: String,
        #[serde(default)]
        documents: Vec<String>,
        #[serde(flatten)]
        common: ActionCommon,
    },
    SupplementReceived {
        #[serde(flatten)]
        common: ActionCommon,
    },
    Resolve {
        result: ResultDto,
        #[serde(flatten)]
        common: ActionCommon,
    },
    Return {
        #[serde(flatten)]
        common: ActionCommon,
    },
    Withdraw {
        reason: String,
        #[serde(flatten)]
        common: ActionCommon,
    },
    Apologize {
        reason: String,
        new_due_at: DateTime<FixedOffset>,
        #[serde(flatten)]
        common: ActionCommon,
    },
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ActionCommon {
    /// When it happened (defaults to now; not in the future nor before the previous action).
    pub at: Option<DateTime<FixedOffset>>,
    /// Who receives the dossier (a hand-over's recipient).
    pub to_user: Option<String>,
    /// Free text for the control slip; required to refuse.
    pub note: Option<String>,
}

impl ActionRequest {
    fn into_parts(self) -> (Command, ActionCommon) {
        match self {
            Self::Start { common } => (Command::Start, common),
            Self::Forward {
                to_unit_code,
                common,
            } => (Command::Forward { to_unit_code }, common),
            Self::RequestSupplement {
                reason,
                documents,
                common,
            } => (Command::RequestSupplement { reason, documents }, common),
            Self::SupplementReceived { common } => (Command::SupplementReceived, common),
            Self::Resolve { result, common } => {
                let result = match result {
                    ResultDto::Approved => Resolution::Approved,
                    ResultDto::Refused => Resolution::Refused,
                };
                (
                    Command::Resolve {
                        result,
                        note: common.note.clone(),
                    },
                    common,
                )
            }
            Self::Return { common } => (Command::Return, common),
            Self::Withdraw { reason, common } => (Command::Withdraw { reason }, common),
            Self::Apologize {
                reason,
                new_due_at,
                common,
            } => (
                Command::Apologize {
                    reason,
                    new_due_at: new_due_at.with_timezone(&Utc),
                },
                common,
            ),
        }
    }
}

/// The version an `If-Match` header names: `"3"`, `W/"3"` or `3`.
fn expected_version(req: &HttpRequest) -> Result<i32, ApiError> {
    let value = req
        .headers()
        .get(header::IF_MATCH)
        .ok_or_else(|| {
            ApiError::PreconditionRequired(
                "send If-Match with the dossier's ETag (its version)".to_owned(),
            )
        })?
        .to_str()
        .map_err(|_| ApiError::BadRequest("If-Match is not readable".to_owned()))?
        .trim();
    let bare = value.strip_prefix("W/").unwrap_or(value).trim_matches('"');
    bare.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "If-Match `{value}` is not a version; send the dossier's ETag, e.g. \"3\""
        ))
    })
}

fn text_limit(field: &'static str, value: Option<&str>, max: usize) -> Result<(), ApiError> {
    if value.is_some_and(|v| v.chars().count() > max) {
        return Err(ApiError::validation(
            field,
            format!("at most {max} characters"),
        ));
    }
    Ok(())
}

#[utoipa::path(
    post, path = "/api/v1/dossiers/{code}/actions", tag = "dossiers", params(
        DossierPath,
        ("If-Match" = String, Header, description = "the ETag (version) the action is based on", pattern = "^(W/)?\"?[0-9]{1,9}\"?$"),
    ),
    request_body = ActionRequest, security(("bearer" = [])),
    responses(
        (status = 200, body = DossierDto, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "the action is not allowed in the dossier's status"),
        (status = 412, body = Problem, content_type = "application/problem+json", description = "the dossier changed since that version"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json", description = "If-Match missing"),
    )
)]
pub async fn act(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<DossierPath>,
    body: ApiJson<ActionRequest>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner().code;
    let expected_version = expected_version(&req)?;
    let (command, common) = body.0.into_parts();
    text_limit("note", common.note.as_deref(), 2000)?;
    text_limit("to_user", common.to_user.as_deref(), 100)?;
    if let Command::RequestSupplement { reason, documents } = &command {
        text_limit("reason", Some(reason), 2000)?;
        if documents.len() > 50
            || documents
                .iter()
                .any(|d| d.trim().is_empty() || d.chars().count() > 300)
        {
            return Err(ApiError::validation(
                "documents",
                "at most 50 non-empty names of at most 300 characters",
            ));
        }
    }
    let input = ActionInput {
        command,
        expected_version,
        at: common.at.map(|t| t.with_timezone(&Utc)),
        to_user: common.to_user,
        note: common.note,
    };
    let calendars = state.calendar.clone();
    let record = state
        .db_as(caller, move |conn, caller| {
            service::act(
                conn,
                &calendars,
                &caller.principal,
                &caller.audit,
                &code,
                input,
            )
        })
        .await?;
    Ok(dossier_response(StatusCode::OK, record))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    pub seq: i32,
    /// `receive`, `start`, `forward`, `request_supplement`, `supplement_received`, `resolve`, `return`,
    /// `withdraw` or `apologize`.
    pub action: String,
    pub at: DateTime<FixedOffset>,
    pub status_after: String,
    /// The step the dossier was at (index), with its name and unit.
    pub step: Option<i32>,
    pub step_name: Option<String>,
    pub unit_code: Option<String>,
    pub from_user: String,
    pub to_user: Option<String>,
    pub to_unit_code: Option<String>,
    pub to_step: Option<i32>,
    /// The step's own due instant, when this action closed the step.
    pub step_due_at: Option<DateTime<FixedOffset>>,
    /// `early`, `on_time` or `late`: how the closed step finished.
    pub step_outcome: Option<String>,
    pub note: Option<String>,
    /// Action-specific facts (reason, documents, result, new appointment …).
    pub details: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct History {
    pub code: String,
    pub items: Vec<HistoryEntry>,
}

/// The control slip (phiếu kiểm soát quá trình giải quyết hồ sơ).
#[utoipa::path(
    get, path = "/api/v1/dossiers/{code}/history", tag = "dossiers", params(DossierPath), security(("bearer" = [])),
    responses((status = 200, body = History), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
pub async fn history(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<DossierPath>,
) -> Result<web::Json<History>, ApiError> {
    let code = path.into_inner().code;
    let detail = state
        .db_as(caller, move |conn, caller| {
            service::detail(conn, &caller.principal, &code)
        })
        .await?;
    Ok(web::Json(History {
        code: detail.record.code,
        items: detail
            .events
            .into_iter()
            .map(|e| HistoryEntry {
                seq: e.seq,
                action: e.action,
                at: local(utc(e.at)),
                status_after: e.status_after,
                step: e.step,
                step_name: e.step_name,
                unit_code: e.unit_code,
                from_user: e.from_user,
                to_user: e.to_user,
                to_unit_code: e.to_unit_code,
                to_step: e.to_step,
                step_due_at: local_opt(e.step_due_at.map(utc)),
                step_outcome: e.step_outcome,
                note: e.note,
                details: e.details.and_then(|d| serde_json::from_str(&d).ok()),
            })
            .collect(),
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PauseDto {
    pub started_at: DateTime<FixedOffset>,
    pub ended_at: Option<DateTime<FixedOffset>>,
    pub reason: String,
    pub documents: Vec<String>,
    pub requested_by: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeadlineExplanation {
    pub code: String,
    pub received_at: DateTime<FixedOffset>,
    /// The statutory due instant after pauses.
    pub due_at: DateTime<FixedOffset>,
    pub pauses: Vec<PauseDto>,
    /// Working minutes used so far (to resolution for a closed dossier), excluding paused time.
    pub working_minutes_used: i64,
    /// Working minutes left until `due_at` (negative when overdue); absent once resolved.
    pub working_minutes_left: Option<i64>,
    pub current_step_due_at: Option<DateTime<FixedOffset>>,
    pub overdue: bool,
    pub outcome: Option<String>,
    /// How `due_at` was computed: the limit, counting start, each pause's working minutes, the
    /// supplement policy and the calendar revision.
    pub computation: serde_json::Value,
}

#[utoipa::path(
    get, path = "/api/v1/dossiers/{code}/deadline", tag = "dossiers", params(DossierPath), security(("bearer" = [])),
    responses((status = 200, body = DeadlineExplanation), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
pub async fn deadline(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<DossierPath>,
) -> Result<web::Json<DeadlineExplanation>, ApiError> {
    let code = path.into_inner().code;
    let calendars = state.calendar.clone();
    let (detail, calendar) = state
        .db_as(caller, move |conn, caller| -> Result<_, ApiError> {
            let detail = service::detail(conn, &caller.principal, &code)?;
            let (_, calendar) = calendars.get(conn)?;
            Ok((detail, calendar))
        })
        .await?;
    let record = detail.record;
    let now = Utc::now();
    let pauses: Vec<crate::domain::deadline::Pause> = detail
        .pauses
        .iter()
        .map(|p| crate::domain::deadline::Pause {
            started_at: utc(p.started_at),
            ended_at: p.ended_at.map(utc),
        })
        .collect();
    let status = Status::parse(&record.status);
    let end = record
        .resolved_at
        .or(record.withdrawn_at)
        .map(utc)
        .unwrap_or(now);
    let used = crate::domain::deadline::working_time_used(
        &calendar,
        utc(record.received_at),
        &pauses,
        end,
    )
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let left = if status.is_some_and(Status::is_open) {
        Some(
            calendar
                .working_minutes_between(now, utc(record.due_at))
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        )
    } else {
        None
    };
    Ok(web::Json(DeadlineExplanation {
        code: record.code.clone(),
        received_at: local(utc(record.received_at)),
        due_at: local(utc(record.due_at)),
        pauses: detail
            .pauses
            .into_iter()
            .map(|p| PauseDto {
                started_at: local(utc(p.started_at)),
                ended_at: local_opt(p.ended_at.map(utc)),
                reason: p.reason,
                documents: serde_json::from_str(&p.documents).unwrap_or_default(),
                requested_by: p.requested_by,
            })
            .collect(),
        working_minutes_used: used,
        working_minutes_left: left,
        current_step_due_at: local_opt(record.current_step_due_at.map(utc))
            .filter(|_| status.is_some_and(Status::is_open)),
        overdue: status.is_some_and(|s| s.is_overdue(utc(record.due_at), now)),
        outcome: record.outcome.clone(),
        computation: serde_json::from_str(&record.due_explanation)
            .unwrap_or(serde_json::Value::Null),
    }))
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeDto {
    Early,
    OnTime,
    Late,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StatusDto {
    Received,
    Processing,
    AwaitingSupplement,
    Resolved,
    Returned,
    Withdrawn,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[param(inline)]
    pub status: Option<StatusDto>,
    pub procedure_code: Option<String>,
    /// The procedure's lead unit.
    pub unit_code: Option<String>,
    /// The unit holding the dossier's current step.
    pub current_unit_code: Option<String>,
    #[param(inline)]
    pub channel: Option<ChannelDto>,
    #[param(inline)]
    pub outcome: Option<OutcomeDto>,
    /// `true`: open (received or processing) and past due now. Dossiers awaiting a supplement are
    /// not counted as overdue.
    pub overdue: Option<bool>,
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub received_from: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub received_to: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub resolved_from: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub resolved_to: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub due_before: Option<DateTime<Utc>>,
    /// Starts the change feed at changes made at or after this instant; the list is then in change
    /// order, and its cursors (`next_cursor`, `sync_cursor`) carry the position from there on.
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub updated_since: Option<DateTime<Utc>>,
    pub external_ref: Option<String>,
    /// Matches the code, the applicant's name or the external reference.
    pub q: Option<String>,
    /// The procedure's field (lĩnh vực), as copied to the dossier at receipt.
    pub field: Option<String>,
    /// `approved` or `refused` (resolved dossiers).
    #[param(inline)]
    pub result: Option<ResultDto>,
    /// Withdrawn at or after this instant.
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub withdrawn_from: Option<DateTime<Utc>>,
    /// Withdrawn at or before this instant.
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub withdrawn_to: Option<DateTime<Utc>>,
    /// Open at this instant: received before it, and neither resolved nor withdrawn before it
    /// (the statistics' carried-over and open-at-period-end columns).
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub open_at: Option<DateTime<Utc>>,
    /// With `open_at`: `awaiting_supplement` (a request for supplement started before `open_at`
    /// and not ended before it), `overdue` (not awaiting and `due_at` before `open_at`) or
    /// `not_yet_due` (not awaiting and `due_at` at or after `open_at`).
    #[param(inline)]
    pub open_state: Option<OpenStateDto>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$", max_length = 200)]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OpenStateDto {
    NotYetDue,
    Overdue,
    AwaitingSupplement,
}

/// The list filters behind the statistics report (see `GET /api/v1/stats/summary`).
fn stats_filter(q: &ListQuery) -> Result<StatsFilter, ApiError> {
    if q.open_state.is_some() && q.open_at.is_none() {
        return Err(ApiError::validation("open_state", "needs open_at"));
    }
    let naive = |t: Option<DateTime<Utc>>| t.map(|t| t.naive_utc());
    Ok(StatsFilter {
        field: q.field.clone(),
        result: q.result.map(|r| match r {
            ResultDto::Approved => "approved".to_owned(),
            ResultDto::Refused => "refused".to_owned(),
        }),
        withdrawn_from: naive(q.withdrawn_from),
        withdrawn_to: naive(q.withdrawn_to),
        open_at: naive(q.open_at),
        open_state: q.open_state.map(|s| match s {
            OpenStateDto::NotYetDue => OpenState::NotYetDue,
            OpenStateDto::Overdue => OpenState::Overdue,
            OpenStateDto::AwaitingSupplement => OpenState::AwaitingSupplement,
        }),
    })
}

/// Where a list continues: after an id (the plain list), or after a position of the change feed.
enum Position {
    Start,
    AfterId(i64),
    AfterChange(ChangePosition),
}

fn list_cursor(page: &PageQuery) -> Result<Position, ApiError> {
    let bad = || {
        ApiError::BadRequest("invalid cursor; use the next_cursor of a previous page".to_owned())
    };
    match page.cursor_text()? {
        None => Ok(Position::Start),
        Some(text) => {
            if let Some(id) = text.strip_prefix("id:") {
                return id.parse().map(Position::AfterId).map_err(|_| bad());
            }
            let rest = text.strip_prefix("chg:").ok_or_else(bad)?;
            let (txid, seq) = rest.split_once(':').ok_or_else(bad)?;
            Ok(Position::AfterChange(ChangePosition {
                txid: txid.parse().map_err(|_| bad())?,
                seq: seq.parse().map_err(|_| bad())?,
            }))
        }
    }
}

fn change_cursor(position: ChangePosition) -> String {
    encode_cursor(&format!("chg:{}:{}", position.txid, position.seq))
}

/// A page of dossiers. On the change feed (`updated_since`) it also says where to resume later.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DossierPage {
    pub items: Vec<DossierDto>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// Change feed only: pass as `cursor` (with the same filters) on the next poll to get the
    /// changes made after everything this page and the ones before it showed; never `null` there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_cursor: Option<String>,
}

/// Dossiers, filtered. With `updated_since` (or a cursor from such a list) this is the change feed
/// for pull-based sync: dossiers in the order their latest change became visible, each at its
/// latest state, after a cursor that neither skips nor repeats a change, even when changes commit
/// out of order. Keep `sync_cursor` to poll again; a change shows up once every transaction older
/// than it has ended.
#[utoipa::path(
    get, path = "/api/v1/dossiers", operation_id = "list_dossiers", tag = "dossiers", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = DossierPage), (status = 400, body = Problem, content_type = "application/problem+json"))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<web::Json<DossierPage>, ApiError> {
    let q = query.into_inner();
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let limit = page.limit()?;
    let position = list_cursor(&page)?;
    if q.q.as_deref().is_some_and(|s| s.chars().count() > 100) {
        return Err(ApiError::validation("q", "at most 100 characters"));
    }
    if q.updated_since.is_some() && matches!(position, Position::AfterId(_)) {
        return Err(ApiError::BadRequest(
            "the cursor belongs to a list with other filters".to_owned(),
        ));
    }
    let now = Utc::now();
    let stats = stats_filter(&q)?;
    let naive = |t: Option<DateTime<Utc>>| t.map(|t| t.naive_utc());
    let mut filter = DossierFilter {
        status: q.status.map(|s| match s {
            StatusDto::Received => Status::Received,
            StatusDto::Processing => Status::Processing,
            StatusDto::AwaitingSupplement => Status::AwaitingSupplement,
            StatusDto::Resolved => Status::Resolved,
            StatusDto::Returned => Status::Returned,
            StatusDto::Withdrawn => Status::Withdrawn,
        }),
        procedure_code: q.procedure_code,
        unit_code: q.unit_code,
        current_unit_code: q.current_unit_code,
        channel: q.channel.map(|c| c.as_str().to_owned()),
        outcome: q.outcome.map(|o| match o {
            OutcomeDto::Early => "early".to_owned(),
            OutcomeDto::OnTime => "on_time".to_owned(),
            OutcomeDto::Late => "late".to_owned(),
        }),
        overdue_at: q.overdue.filter(|o| *o).map(|_| now.naive_utc()),
        received_from: naive(q.received_from),
        received_to: naive(q.received_to),
        resolved_from: naive(q.resolved_from),
        resolved_to: naive(q.resolved_to),
        due_before: naive(q.due_before),
        updated_since: naive(q.updated_since),
        external_ref: q.external_ref,
        created_by_client: None,
        q: q.q.filter(|s| !s.trim().is_empty()),
        none: false,
        stats,
    };
    let after = match position {
        Position::Start if q.updated_since.is_none() => ListCursor::Start,
        Position::AfterId(id) => ListCursor::AfterId(id),
        Position::Start => return feed(&state, caller, filter, None, limit, now).await,
        Position::AfterChange(after) => {
            // The cursor carries the position; the instant only chose where the feed began.
            filter.updated_since = None;
            return feed(&state, caller, filter, Some(after), limit, now).await;
        }
    };
    let rows = state
        .db_as(caller, move |conn, caller| {
            service::list(conn, &caller.principal, filter, &after, limit + 1)
        })
        .await?;
    let page = Page::from_rows(
        rows,
        limit,
        |r| encode_cursor(&format!("id:{}", r.id)),
        |r| dossier_dto(r, now),
    );
    Ok(web::Json(DossierPage {
        items: page.items,
        next_cursor: page.next_cursor,
        sync_cursor: None,
    }))
}

/// The change feed's page.
async fn feed(
    state: &AppState,
    caller: Caller,
    filter: DossierFilter,
    after: Option<ChangePosition>,
    limit: i64,
    now: DateTime<Utc>,
) -> Result<web::Json<DossierPage>, ApiError> {
    let changes = state
        .db_as(caller, move |conn, caller| {
            service::changes(conn, &caller.principal, filter, after, limit + 1)
        })
        .await?;
    let mut rows = changes.rows;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let last = rows.last().map(|(_, position)| *position);
    let (next_cursor, resume) = if more {
        (last.map(change_cursor), last)
    } else {
        // Everything readable after `after` was on this page: resume after the last item or the
        // horizon, whichever is later (nothing that becomes readable later sorts before it).
        (
            None,
            [after, last, Some(changes.horizon)]
                .into_iter()
                .flatten()
                .max(),
        )
    };
    Ok(web::Json(DossierPage {
        items: rows.into_iter().map(|(r, _)| dossier_dto(r, now)).collect(),
        next_cursor,
        sync_cursor: Some(change_cursor(resume.unwrap_or_default())),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    /// The lookup secret printed on the receipt slip.
    pub secret: String,
}

/// What the applicant may see: no personal data.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PublicDossier {
    pub code: String,
    pub procedure_name: String,
    pub status: String,
    pub received_at: DateTime<FixedOffset>,
    pub due_at: DateTime<FixedOffset>,
    pub resolved_at: Option<DateTime<FixedOffset>>,
    pub returned_at: Option<DateTime<FixedOffset>>,
    /// The new appointment, if the agency apologised for a delay.
    pub apology_due_at: Option<DateTime<FixedOffset>>,
}

/// The applicant's status lookup. A wrong code and a wrong secret give the same 404.
#[utoipa::path(
    get, path = "/api/v1/public/dossiers/{code}", tag = "public", params(DossierPath, LookupQuery),
    responses(
        (status = 200, body = PublicDossier),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json", headers(("Retry-After" = u64))),
    )
)]
pub async fn public_lookup(
    _allowance: super::public_limit::PublicAllowance,
    state: web::Data<AppState>,
    path: web::Path<DossierPath>,
    query: web::Query<LookupQuery>,
) -> Result<web::Json<PublicDossier>, ApiError> {
    let code = path.into_inner().code;
    let secret = query.into_inner().secret;
    let found = state
        .db(move |conn| service::public_lookup(conn, &code, &secret))
        .await?;
    let (r, procedure_name) = found
        .ok_or_else(|| ApiError::NotFound("no dossier with this code and secret".to_owned()))?;
    Ok(web::Json(PublicDossier {
        code: r.code,
        procedure_name,
        status: r.status,
        received_at: local(utc(r.received_at)),
        due_at: local(utc(r.due_at)),
        resolved_at: local_opt(r.resolved_at.map(utc)),
        returned_at: local_opt(r.returned_at.map(utc)),
        apology_due_at: local_opt(r.apology_due_at.map(utc)),
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/dossiers").get(list).post(receive))
        .service(web::resource("/api/v1/dossiers/{code}").get(get_dossier))
        .service(web::resource("/api/v1/dossiers/{code}/actions").post(act))
        .service(web::resource("/api/v1/dossiers/{code}/history").get(history))
        .service(web::resource("/api/v1/dossiers/{code}/deadline").get(deadline))
        .service(web::resource("/api/v1/public/dossiers/{code}").get(public_lookup));
}
