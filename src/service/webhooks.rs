//! Webhook subscriptions of the e-portal, the events they hear of, and how a message is signed
//! (Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`).

use base64::{Engine as _, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng as _;
use sha2::Sha256;

use super::ServiceError;
use crate::{
    auth::policy::{
        Action, Principal, PrincipalKind, WebhookListScope, administers, authorize, webhook_filter,
    },
    domain::agency::AgencyScope,
    domain::{
        Instant,
        calendar::LOCAL_OFFSET,
        dossier::{Command, Dossier},
        webhook::DeliveryStatus,
    },
    store::{
        DbConnection, StoreError,
        audit::AuditContext,
        outbox::NewOutboxEvent,
        webhooks::{self as store, AttemptRecord, DeliveryView, NewWebhook, WebhookRecord},
        write_transaction,
    },
};

/// What a subscription can ask to hear of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Tiếp nhận.
    Received,
    /// Thụ lý.
    Started,
    /// Chuyển xử lý.
    Forwarded,
    /// Yêu cầu bổ sung.
    SupplementRequested,
    /// Nhận bổ sung.
    SupplementReceived,
    /// Giải quyết (approved or refused).
    Resolved,
    /// Trả kết quả.
    Returned,
    /// Rút hồ sơ.
    Withdrawn,
    /// Xin lỗi, hẹn lại.
    Apologized,
    /// Open and close to its due instant (within the configured working hours); once per dossier.
    DueSoon,
    /// Open and past its due instant; once per dossier.
    Overdue,
    /// Nộp trực tuyến: submitted online, waiting for the intake check.
    Submitted,
    /// Tiếp nhận after the intake check.
    Accepted,
    /// Từ chối tiếp nhận.
    Declined,
    /// Yêu cầu thực hiện nghĩa vụ tài chính.
    PaymentRequested,
    /// Đã thanh toán.
    PaymentReceived,
    /// Dừng xử lý.
    Stopped,
    /// A document was added to the dossier (số hóa, bổ sung, kết quả).
    DocumentAdded,
}

impl EventType {
    pub const ALL: [EventType; 18] = [
        EventType::Received,
        EventType::Started,
        EventType::Forwarded,
        EventType::SupplementRequested,
        EventType::SupplementReceived,
        EventType::Resolved,
        EventType::Returned,
        EventType::Withdrawn,
        EventType::Apologized,
        EventType::DueSoon,
        EventType::Overdue,
        EventType::Submitted,
        EventType::Accepted,
        EventType::Declined,
        EventType::PaymentRequested,
        EventType::PaymentReceived,
        EventType::Stopped,
        EventType::DocumentAdded,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::Received => "dossier.received",
            EventType::Started => "dossier.started",
            EventType::Forwarded => "dossier.forwarded",
            EventType::SupplementRequested => "dossier.supplement_requested",
            EventType::SupplementReceived => "dossier.supplement_received",
            EventType::Resolved => "dossier.resolved",
            EventType::Returned => "dossier.returned",
            EventType::Withdrawn => "dossier.withdrawn",
            EventType::Apologized => "dossier.apologized",
            EventType::DueSoon => "dossier.due_soon",
            EventType::Overdue => "dossier.overdue",
            EventType::Submitted => "dossier.submitted",
            EventType::Accepted => "dossier.accepted",
            EventType::Declined => "dossier.declined",
            EventType::PaymentRequested => "dossier.payment_requested",
            EventType::PaymentReceived => "dossier.payment_received",
            EventType::Stopped => "dossier.stopped",
            EventType::DocumentAdded => "document.added",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == raw)
    }

    /// The event an action on a dossier produces.
    pub fn for_command(command: &Command) -> Self {
        match command {
            Command::Start => EventType::Started,
            Command::Forward { .. } => EventType::Forwarded,
            Command::RequestSupplement { .. } => EventType::SupplementRequested,
            Command::SupplementReceived => EventType::SupplementReceived,
            Command::Resolve { .. } => EventType::Resolved,
            Command::Return => EventType::Returned,
            Command::Withdraw { .. } => EventType::Withdrawn,
            Command::Apologize { .. } => EventType::Apologized,
            Command::Accept => EventType::Accepted,
            Command::Decline { .. } => EventType::Declined,
            Command::RequestPayment { .. } => EventType::PaymentRequested,
            Command::PaymentReceived { .. } => EventType::PaymentReceived,
            Command::Stop { .. } => EventType::Stopped,
        }
    }
}

/// Prefix of a signing secret in the Standard Webhooks form.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a signing key (Standard Webhooks asks for 24 to 64).
const SECRET_BYTES: usize = 32;
pub const MAX_URL_LEN: usize = 2000;
pub const MAX_DESCRIPTION_LEN: usize = 200;
/// Subscriptions one owner may hold; enough for every environment of a portal, few enough that a
/// leaked token cannot make the worker post everywhere.
pub const MAX_SUBSCRIPTIONS_PER_OWNER: i64 = 25;

/// A new signing secret: `whsec_` and the base64 of 32 random bytes.
pub fn generate_secret() -> String {
    let mut key = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The HMAC key a secret stands for.
pub fn signing_key(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret
        .strip_prefix(SECRET_PREFIX)
        .ok_or_else(|| format!("the secret does not start with `{SECRET_PREFIX}`"))?;
    STANDARD
        .decode(encoded)
        .map_err(|e| format!("the secret is not base64: {e}"))
}

/// The `webhook-signature` header value: `v1,` and the base64 HMAC-SHA256 of
/// `{message_id}.{timestamp}.{body}`.
pub fn signature(key: &[u8], message_id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(format!("{message_id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Checks a subscription URL: absolute http(s), a host, no user name or password (they would be
/// shown in every list), no fragment, at most [`MAX_URL_LEN`] characters, and unless
/// `allow_private`, no literal internal address (the worker checks resolved names when it sends).
pub fn validate_url(raw: &str, allow_private: bool) -> Result<(), String> {
    if raw.len() > MAX_URL_LEN {
        return Err(format!("at most {MAX_URL_LEN} characters"));
    }
    let url = reqwest::Url::parse(raw).map_err(|e| format!("not an absolute URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must use http or https".to_owned());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "must not contain credentials; the signature authenticates the sender".to_owned(),
        );
    }
    if url.fragment().is_some() {
        return Err("must not contain a fragment".to_owned());
    }
    if !allow_private {
        super::webhook_target::check_literal_host(&url)?;
    }
    Ok(())
}

/// A subscription as requested.
#[derive(Debug, Clone)]
pub struct SubscriptionInput {
    pub url: String,
    pub events: Vec<EventType>,
    pub description: Option<String>,
    /// The machine client that owns it; only an administrator may name one other than itself.
    pub client_id: Option<String>,
    /// `MOTCUA_WEBHOOK_ALLOW_PRIVATE`: internal addresses may be targets.
    pub allow_private: bool,
}

fn scope(who: &Principal) -> Result<(&Principal, WebhookListScope), ServiceError> {
    authorize(who, &Action::ManageWebhooks, None)?;
    Ok((who, webhook_filter(who)))
}

fn visible((who, scope): &(&Principal, WebhookListScope), record: &WebhookRecord) -> bool {
    match scope {
        WebhookListScope::All => administers(who, record.subscription.agency_code.as_deref()),
        WebhookListScope::OwnedBy(client) => {
            record.subscription.owner_client_id.as_deref() == Some(client)
        }
        WebhookListScope::Nothing => false,
    }
}

/// The subscription `id` if the caller may see it; a stranger's is "not found", like a missing one.
fn load_visible(
    conn: &mut DbConnection,
    scope: &(&Principal, WebhookListScope),
    id: i64,
) -> Result<WebhookRecord, ServiceError> {
    let missing = || ServiceError::NotFound(format!("no webhook {id}"));
    let record = store::get_webhook(conn, id).map_err(|e| match e {
        StoreError::NotFound => missing(),
        other => other.into(),
    })?;
    if visible(scope, &record) {
        Ok(record)
    } else {
        Err(missing())
    }
}

/// Creates a subscription. The record carries the signing secret, to be shown this once.
pub fn create(
    conn: &mut DbConnection,
    who: &Principal,
    audit: &AuditContext,
    input: SubscriptionInput,
) -> Result<WebhookRecord, ServiceError> {
    let scope = scope(who)?;
    let mut errors = Vec::new();
    if let Err(message) = validate_url(input.url.trim(), input.allow_private) {
        errors.push(("url".to_owned(), message));
    }
    if input.events.is_empty() {
        errors.push((
            "events".to_owned(),
            "name at least one event type".to_owned(),
        ));
    }
    if input
        .description
        .as_deref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_LEN)
    {
        errors.push((
            "description".to_owned(),
            format!("at most {MAX_DESCRIPTION_LEN} characters"),
        ));
    }
    let owner = match (&scope.1, input.client_id.as_deref().map(str::trim)) {
        (WebhookListScope::OwnedBy(me), None) => Some(me.clone()),
        (WebhookListScope::OwnedBy(me), Some(named)) if named == me => Some(me.clone()),
        (WebhookListScope::OwnedBy(_), Some(_)) => {
            return Err(ServiceError::Denied(crate::auth::policy::Denied {
                reason: "a portal client may only subscribe for itself".to_owned(),
            }));
        }
        (_, named) => named.filter(|n| !n.is_empty()).map(str::to_owned),
    };
    if !errors.is_empty() {
        return Err(ServiceError::Invalid(errors));
    }
    let mut events: Vec<&str> = Vec::new();
    for event in &input.events {
        if !events.contains(&event.as_str()) {
            events.push(event.as_str());
        }
    }
    write_transaction(conn, |conn| {
        // The subscription hears of the dossiers of its owner's agency: the client's, or the
        // creating administrator's.
        let agency_code = match &owner {
            // A client subscribing for itself: its own agency, as resolved for this request.
            Some(_) if who.kind == PrincipalKind::Client => who.scope.home().map(str::to_owned),
            Some(client) => {
                let agency = store::client_agency(conn, client)?.ok_or_else(|| {
                    ServiceError::invalid("client_id", format!("no machine client `{client}`"))
                })?;
                if !administers(who, agency.as_deref()) {
                    return Err(ServiceError::invalid(
                        "client_id",
                        format!("no machine client `{client}`"),
                    ));
                }
                agency
            }
            None => who.scope.home().map(str::to_owned),
        };
        if store::count_owned(conn, owner.as_deref())? >= MAX_SUBSCRIPTIONS_PER_OWNER {
            return Err(ServiceError::Conflict(format!(
                "an owner may hold at most {MAX_SUBSCRIPTIONS_PER_OWNER} subscriptions; delete one first"
            )));
        }
        let record = store::insert_webhook(
            conn,
            &NewWebhook {
                owner_client_id: owner.clone(),
                url: input.url.trim().to_owned(),
                events: serde_json::to_string(&events)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                description: input
                    .description
                    .as_deref()
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned),
                secret: generate_secret(),
                created_by: who.subject.clone(),
                created_at: Instant::from(Utc::now()),
                agency_code,
            },
        )?;
        audit.record(
            conn,
            "webhook.create",
            "webhook",
            &record.id.to_string(),
            record.subscription.agency_code.as_deref(),
            serde_json::json!({"url": record.subscription.url, "events": events, "client_id": record.subscription.owner_client_id}),
        )?;
        Ok(record)
    })
}

pub fn list(
    conn: &mut DbConnection,
    who: &Principal,
    after_id: i64,
    limit: i64,
) -> Result<Vec<WebhookRecord>, ServiceError> {
    let owner = match scope(who)?.1 {
        WebhookListScope::All => None,
        WebhookListScope::OwnedBy(client) => Some(client),
        WebhookListScope::Nothing => return Ok(Vec::new()),
    };
    Ok(store::list_webhooks(
        conn,
        owner.as_deref(),
        who.scope.codes().as_deref(),
        after_id,
        limit,
    )?)
}

pub fn get(
    conn: &mut DbConnection,
    who: &Principal,
    id: i64,
) -> Result<WebhookRecord, ServiceError> {
    let scope = scope(who)?;
    load_visible(conn, &scope, id)
}

/// Deletes a subscription with its delivery log; pending deliveries are dropped.
pub fn delete(
    conn: &mut DbConnection,
    who: &Principal,
    audit: &AuditContext,
    id: i64,
) -> Result<(), ServiceError> {
    let scope = scope(who)?;
    write_transaction(conn, |conn| {
        let record = load_visible(conn, &scope, id)?;
        store::delete_webhook(conn, id)?;
        audit.record(
            conn,
            "webhook.delete",
            "webhook",
            &id.to_string(),
            record.subscription.agency_code.as_deref(),
            serde_json::json!({"url": record.subscription.url, "client_id": record.subscription.owner_client_id}),
        )?;
        Ok(())
    })
}

/// One page of a subscription's delivery log, newest first, with every attempt of each delivery.
pub struct DeliveryLog {
    pub deliveries: Vec<DeliveryView>,
    pub attempts: Vec<AttemptRecord>,
}

pub fn deliveries(
    conn: &mut DbConnection,
    who: &Principal,
    webhook_id: i64,
    status: Option<DeliveryStatus>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<DeliveryLog, ServiceError> {
    let scope = scope(who)?;
    load_visible(conn, &scope, webhook_id)?;
    let deliveries = store::list_deliveries(conn, webhook_id, status, before_id, limit)?;
    let ids: Vec<i64> = deliveries.iter().map(|d| d.delivery.id).collect();
    let attempts = store::attempts_of(conn, &ids)?;
    Ok(DeliveryLog {
        deliveries,
        attempts,
    })
}

/// Queues the event of a finished delivery (delivered or finally failed) once more for the same
/// subscription, at once and outside the per-dossier order; the message keeps its `webhook-id`, so
/// the receiver can tell a replay.
pub fn redeliver(
    conn: &mut DbConnection,
    who: &Principal,
    audit: &AuditContext,
    webhook_id: i64,
    delivery_id: i64,
) -> Result<DeliveryLog, ServiceError> {
    let scope = scope(who)?;
    write_transaction(conn, |conn| {
        let record = load_visible(conn, &scope, webhook_id)?;
        let original = store::get_delivery(conn, webhook_id, delivery_id).map_err(|e| match e {
            StoreError::NotFound => ServiceError::NotFound(format!(
                "webhook {webhook_id} has no delivery {delivery_id}"
            )),
            other => other.into(),
        })?;
        if original.delivery.state.status == DeliveryStatus::Pending {
            return Err(ServiceError::Conflict(format!(
                "delivery {delivery_id} is still pending (attempt {} made); it is retried on its own",
                original.delivery.state.attempts
            )));
        }
        let new_id = store::insert_redelivery(conn, &original.delivery, Instant::from(Utc::now()))?;
        audit.record(
            conn,
            "webhook.redeliver",
            "webhook",
            &webhook_id.to_string(),
            record.subscription.agency_code.as_deref(),
            serde_json::json!({"delivery_id": delivery_id, "new_delivery_id": new_id, "message_id": original.message_id}),
        )?;
        let created = store::get_delivery(conn, webhook_id, new_id)?;
        Ok(DeliveryLog {
            deliveries: vec![created],
            attempts: Vec::new(),
        })
    })
}

/// The event types a stored subscription asks for.
pub fn subscribed_events(record: &WebhookRecord) -> Vec<EventType> {
    serde_json::from_str::<Vec<String>>(&record.subscription.events)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| EventType::parse(e))
        .collect()
}

/// Whether a subscription hears of an event: the type is subscribed, the subscription existed when
/// the event happened, the dossier is shared with an agency in the subscription's scope
/// (`subscriber`, from its agency), and a client's subscription hears only of the dossiers that
/// client submitted (what `read_dossier` lets it see).
pub fn wants(
    record: &WebhookRecord,
    events: &[EventType],
    subscriber: &AgencyScope,
    event: &EventFacts<'_>,
) -> bool {
    let type_matches = EventType::parse(event.event_type).is_some_and(|t| events.contains(&t));
    let scope_matches = subscriber.reaches_any(event.dossier_agencies)
        && match &record.subscription.owner_client_id {
            None => true,
            Some(owner) => event.dossier_client == Some(owner.as_str()),
        };
    let event_created_at = event.created_at;
    type_matches && scope_matches && record.subscription.created_at <= event_created_at
}

/// What the fan-out knows of an event when it matches subscriptions.
pub struct EventFacts<'a> {
    pub event_type: &'a str,
    /// The client that submitted the dossier, if one did.
    pub dossier_client: Option<&'a str>,
    /// The agencies the dossier is shared with.
    pub dossier_agencies: &'a [String],
    pub created_at: Instant,
}

fn rfc3339(t: Instant) -> String {
    t.utc().with_timezone(&LOCAL_OFFSET).to_rfc3339()
}

/// The outbox row for an event about a dossier: the Standard Webhooks body `{"type", "timestamp",
/// "data"}` where `data` is the dossier as it stands after the event (no applicant particulars:
/// the receiver reads them through the API with its own rights) and `details` of the action.
pub fn dossier_event(
    event_type: EventType,
    record: &Dossier,
    occurred_at: DateTime<Utc>,
    details: serde_json::Value,
) -> NewOutboxEvent {
    let opt = |t: Option<Instant>| t.map(rfc3339);
    let current_step = record.open_step().map(|index| {
        serde_json::json!({
            "index": index,
            "unit_code": record.current_unit_code,
            "due_at": opt(record.current_step_due_at),
        })
    });
    let body = serde_json::json!({
        "type": event_type.as_str(),
        "timestamp": occurred_at.with_timezone(&LOCAL_OFFSET).to_rfc3339(),
        "data": {
            "code": record.code,
            "external_ref": record.external_ref,
            "procedure_code": record.procedure_code,
            "procedure_version": record.procedure_version,
            "unit_code": record.unit_code,
            "channel": record.channel,
            "status": record.status,
            "national_status": record.status.national_code(),
            "version": record.version,
            "submitted_at": opt(record.submitted_at),
            "received_at": opt(record.received_at),
            "due_at": opt(record.due_at),
            "resolved_at": opt(record.resolved_at),
            "result": record.result,
            "outcome": record.outcome,
            "returned_at": opt(record.returned_at),
            "withdrawn_at": opt(record.withdrawn_at),
            "declined_at": opt(record.declined_at),
            "stopped_at": opt(record.stopped_at),
            "apology_due_at": opt(record.apology_due_at),
            "paused_since": opt(record.paused_since),
            "current_step": current_step,
            "details": details,
        },
    });
    let now = Instant::now();
    NewOutboxEvent {
        message_id: format!("msg_{}", uuid::Uuid::new_v4().simple()),
        event_type: event_type.as_str().to_owned(),
        dossier_id: record.id,
        dossier_code: record.code.clone(),
        created_by_client: record.created_by_client.clone(),
        payload: body.to_string(),
        occurred_at: Instant::from(occurred_at),
        created_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_round_trip() {
        for event in EventType::ALL {
            assert_eq!(EventType::parse(event.as_str()), Some(event));
            assert!(
                event.as_str().starts_with("dossier.") || event.as_str().starts_with("document.")
            );
        }
        assert_eq!(EventType::parse("dossier.lost"), None);
    }

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification (and of its reference libraries).
        let key = signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_fresh_and_decodable() {
        let a = generate_secret();
        let b = generate_secret();
        assert_ne!(a, b);
        assert!(a.starts_with(SECRET_PREFIX));
        assert_eq!(signing_key(&a).unwrap().len(), SECRET_BYTES);
        assert!(signing_key("nope").is_err());
    }

    #[test]
    fn urls_must_be_plain_http_or_https() {
        assert!(validate_url("https://portal.example.vn/hooks/motcua?x=1", false).is_ok());
        assert!(validate_url("http://10.0.0.5:8080/cb", true).is_ok());
        assert!(validate_url("http://10.0.0.5:8080/cb", false).is_err());
        for bad in [
            "ftp://portal.example.vn/",
            "https://user:pass@portal.example.vn/",
            "https://portal.example.vn/#frag",
            "/relative",
            "mailto:a@b.vn",
        ] {
            assert!(validate_url(bad, true).is_err(), "{bad}");
        }
        let long = format!("https://x.vn/{}", "a".repeat(MAX_URL_LEN));
        assert!(validate_url(&long, true).is_err());
    }
}
