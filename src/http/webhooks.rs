//! Webhook subscriptions for the e-portal and their delivery log.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::Caller,
    error::{ApiError, Problem},
    pagination::{self, Page, PageQuery, encode_cursor},
    state::AppState,
    time::{local, local_opt},
};
use crate::http::extract::ApiQuery;
use crate::{
    domain::webhook,
    service::webhooks::{self as service, DeliveryLog, EventType, SubscriptionInput},
    store::webhooks::{AttemptRecord, DeliveryView, WebhookRecord},
};

/// The events a subscription can hear of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum WebhookEvent {
    #[serde(rename = "dossier.received")]
    Received,
    #[serde(rename = "dossier.started")]
    Started,
    #[serde(rename = "dossier.forwarded")]
    Forwarded,
    #[serde(rename = "dossier.supplement_requested")]
    SupplementRequested,
    #[serde(rename = "dossier.supplement_received")]
    SupplementReceived,
    #[serde(rename = "dossier.resolved")]
    Resolved,
    #[serde(rename = "dossier.returned")]
    Returned,
    #[serde(rename = "dossier.withdrawn")]
    Withdrawn,
    #[serde(rename = "dossier.apologized")]
    Apologized,
    #[serde(rename = "dossier.due_soon")]
    DueSoon,
    #[serde(rename = "dossier.overdue")]
    Overdue,
    #[serde(rename = "dossier.submitted")]
    Submitted,
    #[serde(rename = "dossier.accepted")]
    Accepted,
    #[serde(rename = "dossier.declined")]
    Declined,
    #[serde(rename = "dossier.payment_requested")]
    PaymentRequested,
    #[serde(rename = "dossier.payment_received")]
    PaymentReceived,
    #[serde(rename = "dossier.stopped")]
    Stopped,
    #[serde(rename = "document.added")]
    DocumentAdded,
}

impl From<WebhookEvent> for EventType {
    fn from(e: WebhookEvent) -> Self {
        match e {
            WebhookEvent::Received => EventType::Received,
            WebhookEvent::Started => EventType::Started,
            WebhookEvent::Forwarded => EventType::Forwarded,
            WebhookEvent::SupplementRequested => EventType::SupplementRequested,
            WebhookEvent::SupplementReceived => EventType::SupplementReceived,
            WebhookEvent::Resolved => EventType::Resolved,
            WebhookEvent::Returned => EventType::Returned,
            WebhookEvent::Withdrawn => EventType::Withdrawn,
            WebhookEvent::Apologized => EventType::Apologized,
            WebhookEvent::DueSoon => EventType::DueSoon,
            WebhookEvent::Overdue => EventType::Overdue,
            WebhookEvent::Submitted => EventType::Submitted,
            WebhookEvent::Accepted => EventType::Accepted,
            WebhookEvent::Declined => EventType::Declined,
            WebhookEvent::PaymentRequested => EventType::PaymentRequested,
            WebhookEvent::PaymentReceived => EventType::PaymentReceived,
            WebhookEvent::Stopped => EventType::Stopped,
            WebhookEvent::DocumentAdded => EventType::DocumentAdded,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where events are POSTed: `http` or `https`, without credentials, at most 2000 characters.
    #[schema(example = "https://dichvucong.example.gov.vn/hooks/motcua")]
    pub url: String,
    /// The event types to receive; at least one.
    #[schema(min_items = 1)]
    pub events: Vec<WebhookEvent>,
    /// At most 200 characters.
    #[schema(max_length = 200)]
    pub description: Option<String>,
    /// Administrators only: the machine client that owns the subscription (it then hears only of
    /// the dossiers that client submitted). Without it an administrator's subscription hears of
    /// every dossier. A portal client's subscriptions are always its own.
    pub client_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookDto {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    /// The owning machine client; `null` for an administrators' subscription to every dossier.
    pub client_id: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<FixedOffset>,
    /// Only in the creation response: the signing secret (`whsec_` + base64 key) for verifying
    /// `webhook-signature`. Store it now; it is never shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn webhook_dto(record: WebhookRecord, with_secret: bool) -> WebhookDto {
    let events = service::subscribed_events(&record)
        .into_iter()
        .map(|e| e.as_str().to_owned())
        .collect();
    WebhookDto {
        id: record.id,
        url: record.subscription.url,
        events,
        description: record.subscription.description,
        client_id: record.subscription.owner_client_id,
        created_by: record.subscription.created_by,
        created_at: local(record.subscription.created_at),
        secret: with_secret.then_some(record.subscription.secret),
    }
}

/// Subscribes to dossier events. Each event is POSTed as JSON `{"type", "timestamp", "data"}` with
/// the Standard Webhooks headers `webhook-id` (the same on every retry), `webhook-timestamp` (Unix
/// seconds) and `webhook-signature` (`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed
/// with the base64-decoded part of the secret after `whsec_`). Any 2xx answer is success; others
/// are retried with exponential backoff. Events of one dossier arrive in order.
#[utoipa::path(
    post, path = "/api/v1/webhooks", operation_id = "create_webhook", tag = "webhooks", request_body = CreateWebhook, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "same key and body within 24 h → the first response again; other body → 422", pattern = "^[!-~]{1,200}$")),
    responses(
        (status = 201, body = WebhookDto, headers(("Location" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "too many subscriptions"),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: super::idempotency::IdempotentJson<CreateWebhook>,
) -> Result<HttpResponse, ApiError> {
    let idem = body.idempotency;
    let body = body.value;
    let input = SubscriptionInput {
        url: body.url,
        events: body.events.into_iter().map(EventType::from).collect(),
        description: body.description,
        client_id: body.client_id,
        allow_private: state.config.webhooks.allow_private,
    };
    super::idempotency::created(&state, caller, idem, move |conn, caller| {
        let record = service::create(conn, &caller.principal, &caller.audit, input)?;
        let location = format!("/api/v1/webhooks/{}", record.id);
        Ok((location, webhook_dto(record, true)))
    })
    .await
}

/// The caller's subscriptions (an administrator sees all).
#[utoipa::path(
    get, path = "/api/v1/webhooks", operation_id = "list_webhooks", tag = "webhooks", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<WebhookDto>))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    page: ApiQuery<PageQuery>,
) -> Result<web::Json<Page<WebhookDto>>, ApiError> {
    pagination::by_id(
        &state,
        caller,
        &page,
        service::list,
        |w| w.id,
        |w| webhook_dto(w, false),
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WebhookPath {
    pub id: i64,
}

/// One webhook subscription, without its signing secret.
#[utoipa::path(
    get, path = "/api/v1/webhooks/{id}", operation_id = "get_webhook", tag = "webhooks", params(WebhookPath), security(("bearer" = [])),
    responses((status = 200, body = WebhookDto))
)]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<WebhookPath>,
) -> Result<web::Json<WebhookDto>, ApiError> {
    let id = path.into_inner().id;
    let record = state
        .db_as(caller, move |conn, caller| {
            service::get(conn, &caller.principal, id)
        })
        .await?;
    Ok(web::Json(webhook_dto(record, false)))
}

/// Deletes a subscription with its delivery log; pending deliveries are dropped.
#[utoipa::path(
    delete, path = "/api/v1/webhooks/{id}", operation_id = "delete_webhook", tag = "webhooks", params(WebhookPath), security(("bearer" = [])),
    responses((status = 204))
)]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<WebhookPath>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner().id;
    state
        .db_as(caller, move |conn, caller| {
            service::delete(conn, &caller.principal, &caller.audit, id)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AttemptDto {
    /// 1 for the first attempt.
    pub attempt: i32,
    pub started_at: DateTime<FixedOffset>,
    /// `null` while the attempt is under way.
    pub finished_at: Option<DateTime<FixedOffset>>,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<i32>,
    /// Why the attempt failed; `null` on success.
    pub error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryDto {
    pub id: i64,
    pub webhook_id: i64,
    /// The `webhook-id` header: the same on every attempt and redelivery of one event.
    pub message_id: String,
    pub event_type: String,
    pub dossier_code: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made so far.
    pub attempts: i32,
    /// When a pending delivery is next tried.
    pub next_attempt_at: Option<DateTime<FixedOffset>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    /// The delivery this one repeats, for a manual redelivery.
    pub redelivery_of: Option<i64>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    pub delivered_at: Option<DateTime<FixedOffset>>,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<AttemptDto>,
}

fn at(t: crate::domain::Instant) -> DateTime<FixedOffset> {
    local(t)
}

fn delivery_dto(view: DeliveryView, attempts: &[AttemptRecord]) -> DeliveryDto {
    let d = view.delivery;
    DeliveryDto {
        attempt_log: attempts
            .iter()
            .filter(|a| a.delivery_id == d.id)
            .map(|a| AttemptDto {
                attempt: a.attempt,
                started_at: at(a.started_at),
                finished_at: a.finished_at.map(at),
                status_code: a.status_code,
                error: a.error.clone(),
            })
            .collect(),
        id: d.id,
        webhook_id: d.state.webhook_id,
        message_id: view.message_id,
        event_type: view.event_type,
        dossier_code: view.dossier_code,
        next_attempt_at: (d.state.status == webhook::DeliveryStatus::Pending)
            .then(|| at(d.state.next_attempt_at)),
        status: d.state.status.to_string(),
        attempts: d.state.attempts,
        last_status_code: d.last_status_code,
        last_error: d.last_error,
        redelivery_of: d.state.redelivery_of,
        created_at: at(d.state.created_at),
        updated_at: at(d.state.updated_at),
        delivered_at: local_opt(d.delivered_at),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    #[param(schema_with = super::wire_schema::delivery_status)]
    pub status: Option<webhook::DeliveryStatus>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$", max_length = 200)]
    pub cursor: Option<String>,
}

/// The delivery log of a subscription, newest first, each delivery with all its attempts.
#[utoipa::path(
    get, path = "/api/v1/webhooks/{id}/deliveries", operation_id = "list_webhook_deliveries", tag = "webhooks", params(WebhookPath, DeliveryQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Page<DeliveryDto>))
)]
pub async fn deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<WebhookPath>,
    query: ApiQuery<DeliveryQuery>,
) -> Result<web::Json<Page<DeliveryDto>>, ApiError> {
    let id = path.into_inner().id;
    let q = query.into_inner();
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    let limit = page.limit()?;
    let before = match page.cursor_text()? {
        None => None,
        Some(text) => Some(
            text.strip_prefix("before:")
                .and_then(|id| id.parse().ok())
                .ok_or_else(|| {
                    ApiError::BadRequest(
                        "invalid cursor; use the next_cursor of a previous page".to_owned(),
                    )
                })?,
        ),
    };
    let status = q.status;
    let log = state
        .db_as(caller, move |conn, caller| {
            service::deliveries(conn, &caller.principal, id, status, before, limit + 1)
        })
        .await?;
    let DeliveryLog {
        deliveries,
        attempts,
    } = log;
    Ok(web::Json(Page::from_rows(
        deliveries,
        limit,
        |d| encode_cursor(&format!("before:{}", d.delivery.id)),
        |d| delivery_dto(d, &attempts),
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DeliveryPath {
    pub id: i64,
    pub delivery_id: i64,
}

/// Sends the event of a finished delivery (delivered or failed) again, at once and outside the
/// per-dossier order, with the same `webhook-id`. Answers the new delivery.
#[utoipa::path(
    post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", operation_id = "redeliver_webhook_delivery", tag = "webhooks",
    params(DeliveryPath), security(("bearer" = [])),
    responses(
        (status = 202, body = DeliveryDto),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "the delivery is still pending"),
    )
)]
pub async fn redeliver(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<DeliveryPath>,
) -> Result<HttpResponse, ApiError> {
    let DeliveryPath { id, delivery_id } = path.into_inner();
    let log = state
        .db_as(caller, move |conn, caller| {
            service::redeliver(conn, &caller.principal, &caller.audit, id, delivery_id)
        })
        .await?;
    let created = log
        .deliveries
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::Internal("the redelivery was not read back".to_owned()))?;
    Ok(HttpResponse::Accepted().json(delivery_dto(created, &[])))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/webhooks").get(list).post(create))
        .service(
            web::resource("/api/v1/webhooks/{id}")
                .get(get)
                .delete(delete),
        )
        .service(web::resource("/api/v1/webhooks/{id}/deliveries").get(deliveries))
        .service(
            web::resource("/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver")
                .post(redeliver),
        );
}
