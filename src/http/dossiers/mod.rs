//! Dossiers: receipt, actions with optimistic concurrency, reads, the list, and the applicant's lookup.

mod dto;
mod query;

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web,
};
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;

pub use dto::*;
pub use query::{__path_list, DossierPage, FeedPage, ListQuery, feed_position, list};

use super::{
    auth::Caller,
    conditional::IfMatch,
    error::{ApiError, Problem},
    extract::{ApiJson, parse_json},
    state::AppState,
    time::{local, local_opt},
};
use crate::http::extract::ApiQuery;
use crate::{
    domain::dossier::Dossier,
    service::{
        VersionPrecondition,
        dossiers::{self as service, ActionInput, ReceiptInput, Received, RecipientRule},
    },
};

fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

fn dossier_response(status: StatusCode, dossier: Dossier) -> HttpResponse {
    let version = dossier.version;
    HttpResponse::build(status)
        .insert_header((header::ETAG, etag(version)))
        .json(dossier_dto(dossier, Utc::now()))
}

/// The receipt's location and body, as sent and as an `Idempotency-Key` stores them.
fn received_reply(received: Received) -> (String, ReceivedDossier) {
    let location = format!("/api/v1/dossiers/{}", received.dossier.code);
    let body = ReceivedDossier {
        dossier: dossier_dto(received.dossier, Utc::now()),
        lookup_secret: received.lookup_secret,
    };
    (location, body)
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
    let input = ReceiptInput::parse(
        &parsed.procedure_code,
        parsed.applicant.into(),
        parsed.channel.into(),
        parsed.received_at.map(|t| t.with_timezone(&Utc)),
        parsed.external_ref,
        parsed.intake_check,
    )?;
    let calendars = state.calendar.clone();
    super::idempotency::created(&state, caller, idem, move |conn, caller| {
        service::receive(conn, &calendars, &caller.principal, &caller.audit, input)
            .map(received_reply)
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DossierPath {
    #[param(example = "SCT-250124-0001")]
    pub code: String,
}

/// One dossier, with an `ETag` (its version) for `If-Match`.
///
/// Out of the caller's agencies or reach it does not exist (404).
#[utoipa::path(
    get, path = "/api/v1/dossiers/{code}", tag = "dossiers", params(
        DossierPath,
        ("If-None-Match" = Option<String>, Header, nullable = false, description = "the ETag of a copy the caller holds (weak comparison), a comma-separated list of them, or *: 304 without a body when one is current; anything else is 400", pattern = "^(\\*|((W/)?\"[!#-~]*\"|[0-9]+)([ \\t]*,[ \\t]*((W/)?\"[!#-~]*\"|[0-9]+))*)$"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DossierDto, headers(("ETag" = String))),
        (status = 304, description = "If-None-Match names the current ETag; no body", headers(("ETag" = String))),
    )
)]
pub async fn get_dossier(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<DossierPath>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner().code;
    let record = super::lookup::by_key(&state, caller, code, service::get).await?;
    Ok(dossier_response(StatusCode::OK, record))
}

/// The versions an action's `If-Match` admits: `"3"` (or the legacy bare `3`), a list such as
/// `"2", "3"`, or `*`. Weak tags (`W/"3"`) never match: a write needs strong comparison.
fn expected_version(req: &HttpRequest) -> Result<(IfMatch, VersionPrecondition), ApiError> {
    let if_match = IfMatch::read(req, "\"3\"")?.ok_or_else(|| {
        ApiError::PreconditionRequired(
            "send If-Match with the dossier's ETag (its version), e.g. \"3\", or *".to_owned(),
        )
    })?;
    let versions = if_match.versions("\"3\"")?;
    Ok((if_match, versions))
}

/// An action on a dossier (thao tác), based on the version named by `If-Match`.
///
/// Who does what at the counter ("own unit": the dossier's current step belongs to the caller's
/// unit; administrators may do everything within their agencies, auditors nothing):
///
/// | action | roles |
/// |---|---|
/// | `start` | reception; specialist or leader (own unit) |
/// | `forward` | reception, specialist or leader (own unit): the counter hands the dossier to the competent unit, each unit to the next step (`to_unit_code` skips ahead) |
/// | `request_supplement` | reception; specialist or leader (own unit) |
/// | `supplement_received` | reception |
/// | `resolve` | leader (own unit) |
/// | `return`, `withdraw` | reception |
/// | `apologize` | specialist or leader (own unit) |
///
/// `to_user`, when given, must be an active account of the unit that holds the dossier after the
/// action (422 under `to_user`); with tokens from an identity provider a name without a local
/// account is taken as given.
#[utoipa::path(
    post, path = "/api/v1/dossiers/{code}/actions", tag = "dossiers", params(
        DossierPath,
        ("If-Match" = String, Header, description = "the ETag (version) the action is based on, e.g. \"3\"; a comma-separated list admits any of them, * the current version. Strong comparison: a weak tag (W/\"3\") never matches (412)", pattern = "^(\\*|((W/)?\"[0-9]{1,9}\"|[0-9]{1,9})([ \\t]*,[ \\t]*((W/)?\"[0-9]{1,9}\"|[0-9]{1,9}))*)$"),
    ),
    request_body = ActionRequest, security(("bearer" = [])),
    responses(
        (status = 200, body = DossierDto, headers(("ETag" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "the action is not allowed in the dossier's status"),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "If-Match is not a version's entity tag"),
        (status = 412, body = Problem, content_type = "application/problem+json", description = "the dossier is at none of the versions If-Match names (weak tags never match)"),
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
    let (if_match, expected_version) = expected_version(&req)?;
    let (command, common) = body.0.into_parts();
    let input = ActionInput {
        command,
        expected_version,
        at: common.at.map(|t| t.with_timezone(&Utc)),
        to_user: common.to_user,
        // Tokens of an identity provider name people this service has no account for.
        recipients: if state.config.jwt.public_key_file.is_some() {
            RecipientRule::ExternalDirectory
        } else {
            RecipientRule::LocalAccounts
        },
        note: common.note,
    };
    let calendars = state.calendar.clone();
    let dossier = state
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
        .await
        .map_err(|e| if_match.explain(e))?;
    Ok(dossier_response(StatusCode::OK, dossier))
}

/// The control slip (phiếu kiểm soát quá trình giải quyết hồ sơ).
#[utoipa::path(
    get, path = "/api/v1/dossiers/{code}/history", tag = "dossiers", params(DossierPath), security(("bearer" = [])),
    responses((status = 200, body = History))
)]
pub async fn history(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<DossierPath>,
) -> Result<web::Json<History>, ApiError> {
    let code = path.into_inner().code;
    let detail = super::lookup::by_key(&state, caller, code, service::detail).await?;
    Ok(web::Json(History {
        code: detail.dossier.code,
        items: detail
            .events
            .into_iter()
            .map(|e| HistoryEntry {
                seq: e.seq,
                action: e.action,
                at: local(e.at),
                status_after: e.status_after,
                step: e.step,
                step_name: e.step_name,
                unit_code: e.unit_code,
                from_user: e.from_user,
                to_user: e.to_user,
                to_unit_code: e.to_unit_code,
                to_step: e.to_step,
                step_due_at: local_opt(e.step_due_at),
                step_outcome: e.step_outcome,
                note: e.note,
                details: e.details.map(|d| d.0),
            })
            .collect(),
    }))
}

/// How the dossier's due instant was computed.
///
/// The statutory limit, the working calendar, the pauses for supplements, and the time used and
/// left in working minutes.
#[utoipa::path(
    get, path = "/api/v1/dossiers/{code}/deadline", tag = "dossiers", params(DossierPath), security(("bearer" = [])),
    responses((status = 200, body = DeadlineExplanation))
)]
pub async fn deadline(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<DossierPath>,
) -> Result<web::Json<DeadlineExplanation>, ApiError> {
    let code = path.into_inner().code;
    let calendars = state.calendar.clone();
    let now = Utc::now();
    let view = state
        .db_as(caller, move |conn, caller| {
            service::deadline(conn, &calendars, &caller.principal, &code, now)
        })
        .await?;
    let d = view.dossier;
    let computation = d
        .due_explanation
        .as_ref()
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(web::Json(DeadlineExplanation {
        received_at: local_opt(d.received_at),
        due_at: local_opt(d.due_at),
        pauses: view
            .pauses
            .into_iter()
            .map(|p| PauseDto {
                kind: p.kind,
                started_at: local(p.started_at),
                ended_at: local_opt(p.ended_at),
                reason: p.reason,
                documents: p.documents.0,
                requested_by: p.requested_by,
            })
            .collect(),
        working_minutes_used: view.working_minutes_used,
        working_minutes_left: view.working_minutes_left,
        current_step_due_at: local_opt(d.current_step_due_at).filter(|_| d.status.is_open()),
        overdue: d.is_overdue(now),
        outcome: d.outcome,
        computation,
        code: d.code,
    }))
}

/// The applicant's status lookup. A wrong code and a wrong secret give the same 404.
#[utoipa::path(
    get, path = "/api/v1/public/dossiers/{code}", tag = "public", params(DossierPath, LookupQuery),
    responses(
        (status = 200, body = PublicDossier),
        (status = 429, body = Problem, content_type = "application/problem+json", headers(("Retry-After" = u64))),
    )
)]
pub async fn public_lookup(
    _allowance: crate::http::public_limit::PublicAllowance,
    state: web::Data<AppState>,
    path: web::Path<DossierPath>,
    query: ApiQuery<LookupQuery>,
) -> Result<web::Json<PublicDossier>, ApiError> {
    let code = path.into_inner().code;
    let secret = query.into_inner().secret;
    let found = state
        .db(move |conn| service::public_lookup(conn, &code, &secret))
        .await?;
    let view = found
        .ok_or_else(|| ApiError::NotFound("no dossier with this code and secret".to_owned()))?;
    let d = view.dossier;
    Ok(web::Json(PublicDossier {
        code: d.code,
        procedure_name: view.procedure_name,
        supplement: view
            .supplement
            .map(|(reason, documents)| PublicSupplement { reason, documents }),
        status: d.status,
        national_status: d.status.national_code(),
        received_at: local_opt(d.received_at),
        due_at: local_opt(d.due_at),
        resolved_at: local_opt(d.resolved_at),
        returned_at: local_opt(d.returned_at),
        apology_due_at: local_opt(d.apology_due_at),
    }))
}

/// The dossier's requests for payment (yêu cầu thực hiện nghĩa vụ tài chính) and the payments
/// that answered them, oldest first.
///
/// Whoever may read the dossier may read them; out of reach the dossier does not exist (404).
#[utoipa::path(
    get, path = "/api/v1/dossiers/{code}/payments", tag = "dossiers", params(DossierPath),
    security(("bearer" = [])),
    responses((status = 200, body = Payments))
)]
pub async fn payments(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<DossierPath>,
) -> Result<web::Json<Payments>, ApiError> {
    let code = path.into_inner().code;
    let (code, records) = state
        .db_as(caller, move |conn, caller| {
            service::payments(conn, &caller.principal, &code).map(|items| (code, items))
        })
        .await?;
    Ok(web::Json(Payments {
        code,
        items: records
            .into_iter()
            .map(|p| PaymentDto {
                requested_amount: p.requested_amount,
                reason: p.reason,
                requested_at: local(p.requested_at),
                amount: p.amount,
                method: p.method,
                receipt_no: p.receipt_no,
                paid_at: local_opt(p.paid_at),
                cancelled_at: local_opt(p.cancelled_at),
            })
            .collect(),
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/dossiers").get(list).post(receive))
        .service(web::resource("/api/v1/dossiers/{code}").get(get_dossier))
        .service(web::resource("/api/v1/dossiers/{code}/actions").post(act))
        .service(web::resource("/api/v1/dossiers/{code}/history").get(history))
        .service(web::resource("/api/v1/dossiers/{code}/deadline").get(deadline))
        .service(web::resource("/api/v1/dossiers/{code}/payments").get(payments))
        .service(web::resource("/api/v1/public/dossiers/{code}").get(public_lookup));
}
