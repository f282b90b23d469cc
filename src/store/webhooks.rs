//! Webhook subscriptions, their deliveries (one event for one subscription, with its retry state)
//! and the delivery log of every attempt.

use crate::domain::{Instant, webhook::DeliveryStatus};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Timestamp},
};

use super::{
    DbConnection, StoreError,
    schema::{clients, outbox_events, webhook_attempts, webhook_deliveries, webhooks},
};

/// A stored subscription: the subscription as written and its id.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRecord {
    pub id: i64,
    #[diesel(embed)]
    pub subscription: NewWebhook,
}

/// A subscription: where to send which events, signed with which secret.
#[derive(Debug, Clone, Insertable, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct NewWebhook {
    pub owner_client_id: Option<String>,
    pub url: String,
    pub events: String,
    pub description: Option<String>,
    pub secret: String,
    pub created_by: String,
    pub created_at: Instant,
    /// The agency whose dossiers it hears of, with those below it (`None`: every agency).
    pub agency_code: Option<String>,
}

pub fn insert_webhook(
    conn: &mut DbConnection,
    webhook: &NewWebhook,
) -> Result<WebhookRecord, StoreError> {
    let id: i64 = diesel::insert_into(webhooks::table)
        .values(webhook)
        .returning(webhooks::id)
        .get_result(conn)?;
    get_webhook(conn, id)
}

pub fn get_webhook(conn: &mut DbConnection, id: i64) -> Result<WebhookRecord, StoreError> {
    Ok(webhooks::table
        .find(id)
        .select(WebhookRecord::as_select())
        .first(conn)?)
}

/// Subscriptions in id order; `owner` restricts them to one client's, `agencies` to those of
/// these agencies.
pub fn list_webhooks(
    conn: &mut DbConnection,
    owner: Option<&str>,
    agencies: Option<&[String]>,
    after_id: i64,
    limit: i64,
) -> Result<Vec<WebhookRecord>, StoreError> {
    let mut query = webhooks::table
        .filter(webhooks::id.gt(after_id))
        .select(WebhookRecord::as_select())
        .into_boxed();
    if let Some(owner) = owner {
        query = query.filter(webhooks::owner_client_id.eq(owner.to_owned()));
    }
    if let Some(codes) = agencies {
        query = query.filter(webhooks::agency_code.eq_any(codes.to_vec()));
    }
    Ok(query.order(webhooks::id).limit(limit).load(conn)?)
}

/// Every subscription whose owner (if any) is an active client: what the fan-out matches against.
pub fn deliverable_webhooks(conn: &mut DbConnection) -> Result<Vec<WebhookRecord>, StoreError> {
    let active_clients = clients::table
        .filter(clients::active.eq(true))
        .select(clients::client_id);
    Ok(webhooks::table
        .filter(
            webhooks::owner_client_id
                .is_null()
                .or(webhooks::owner_client_id.eq_any(active_clients.nullable())),
        )
        .select(WebhookRecord::as_select())
        .order(webhooks::id)
        .load(conn)?)
}

/// How many subscriptions `owner` holds (`None`: the administrators' own).
pub fn count_owned(conn: &mut DbConnection, owner: Option<&str>) -> Result<i64, StoreError> {
    let query = webhooks::table.count().into_boxed();
    let query = match owner {
        Some(owner) => query.filter(webhooks::owner_client_id.eq(owner.to_owned())),
        None => query.filter(webhooks::owner_client_id.is_null()),
    };
    Ok(query.get_result(conn)?)
}

/// The client's agency (`Some(None)`: a client of the whole deployment), or `None` when there is
/// no such client.
pub fn client_agency(
    conn: &mut DbConnection,
    client_id: &str,
) -> Result<Option<Option<String>>, StoreError> {
    Ok(clients::table
        .filter(clients::client_id.eq(client_id))
        .select(clients::agency_code)
        .first(conn)
        .optional()?)
}

/// Deletes a subscription; its deliveries and their attempts go with it (ON DELETE CASCADE).
pub fn delete_webhook(conn: &mut DbConnection, id: i64) -> Result<(), StoreError> {
    let deleted = diesel::delete(webhooks::table.find(id)).execute(conn)?;
    if deleted == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// A stored delivery: its state, and what the last attempt answered.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRecord {
    pub id: i64,
    #[diesel(embed)]
    pub state: NewDelivery,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<Instant>,
}

/// One event for one subscription: where its delivery stands.
#[derive(Debug, Clone, Insertable, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct NewDelivery {
    pub webhook_id: i64,
    pub event_id: i64,
    pub dossier_id: i64,
    pub status: DeliveryStatus,
    pub manual: bool,
    pub redelivery_of: Option<i64>,
    pub attempts: i32,
    pub next_attempt_at: Instant,
    pub created_at: Instant,
    pub updated_at: Instant,
}

impl NewDelivery {
    pub fn pending(webhook_id: i64, event_id: i64, dossier_id: i64, now: Instant) -> Self {
        Self {
            webhook_id,
            event_id,
            dossier_id,
            status: DeliveryStatus::Pending,
            manual: false,
            redelivery_of: None,
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
            updated_at: now,
        }
    }
}

pub fn insert_deliveries(
    conn: &mut DbConnection,
    deliveries: &[NewDelivery],
) -> Result<(), StoreError> {
    // One statement per row: multi-row inserts are not available on the multi-backend connection.
    for delivery in deliveries {
        diesel::insert_into(webhook_deliveries::table)
            .values(delivery)
            .execute(conn)?;
    }
    Ok(())
}

pub fn insert_redelivery(
    conn: &mut DbConnection,
    original: &DeliveryRecord,
    now: Instant,
) -> Result<i64, StoreError> {
    let delivery = NewDelivery {
        manual: true,
        redelivery_of: Some(original.id),
        ..NewDelivery::pending(
            original.state.webhook_id,
            original.state.event_id,
            original.state.dossier_id,
            now,
        )
    };
    Ok(diesel::insert_into(webhook_deliveries::table)
        .values(&delivery)
        .returning(webhook_deliveries::id)
        .get_result(conn)?)
}

/// A delivery with what the log shows of its event.
#[derive(Debug, Clone)]
pub struct DeliveryView {
    pub delivery: DeliveryRecord,
    pub message_id: String,
    pub event_type: String,
    pub dossier_code: String,
}

type ViewRow = (DeliveryRecord, String, String, String);

fn view((delivery, message_id, event_type, dossier_code): ViewRow) -> DeliveryView {
    DeliveryView {
        delivery,
        message_id,
        event_type,
        dossier_code,
    }
}

/// A subscription's deliveries, newest first, optionally of one status and before an id.
pub fn list_deliveries(
    conn: &mut DbConnection,
    webhook_id: i64,
    status: Option<DeliveryStatus>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<DeliveryView>, StoreError> {
    let mut query = webhook_deliveries::table
        .inner_join(outbox_events::table)
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .select((
            DeliveryRecord::as_select(),
            outbox_events::message_id,
            outbox_events::event_type,
            outbox_events::dossier_code,
        ))
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(webhook_deliveries::status.eq(status));
    }
    if let Some(before) = before_id {
        query = query.filter(webhook_deliveries::id.lt(before));
    }
    let rows: Vec<ViewRow> = query
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .load(conn)?;
    Ok(rows.into_iter().map(view).collect())
}

pub fn get_delivery(
    conn: &mut DbConnection,
    webhook_id: i64,
    delivery_id: i64,
) -> Result<DeliveryView, StoreError> {
    let row: ViewRow = webhook_deliveries::table
        .inner_join(outbox_events::table)
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .filter(webhook_deliveries::id.eq(delivery_id))
        .select((
            DeliveryRecord::as_select(),
            outbox_events::message_id,
            outbox_events::event_type,
            outbox_events::dossier_code,
        ))
        .first(conn)?;
    Ok(view(row))
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_attempts)]
pub struct AttemptRecord {
    pub id: i64,
    pub delivery_id: i64,
    pub attempt: i32,
    pub started_at: Instant,
    pub finished_at: Option<Instant>,
    pub status_code: Option<i32>,
    pub error: Option<String>,
}

pub fn attempts_of(
    conn: &mut DbConnection,
    delivery_ids: &[i64],
) -> Result<Vec<AttemptRecord>, StoreError> {
    Ok(webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(delivery_ids))
        .order((webhook_attempts::delivery_id, webhook_attempts::attempt))
        .select(AttemptRecord::as_select())
        .load(conn)?)
}

/// Whether a delivery may be due (a cheap read before taking a write lock).
pub fn has_due(conn: &mut DbConnection, now: Instant) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(
        webhook_deliveries::table
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending))
            .filter(webhook_deliveries::next_attempt_at.le(now)),
    ))
    .get_result(conn)?)
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Due pending deliveries that keep the order per dossier: one waits while an earlier event of the
/// same dossier is pending for the same subscription, or is not fanned out yet. Redeliveries
/// (`manual`) stand outside that order. `FOR UPDATE … SKIP LOCKED` lets instances claim side by side.
const DUE_DELIVERIES: &str = "SELECT d.id AS id FROM webhook_deliveries d \
     WHERE d.status = 'pending' AND d.next_attempt_at <= ? \
       AND (d.manual OR ( \
         NOT EXISTS (SELECT 1 FROM webhook_deliveries p \
                     WHERE p.webhook_id = d.webhook_id AND p.dossier_id = d.dossier_id \
                       AND p.event_id < d.event_id AND p.status = 'pending' AND NOT p.manual) \
         AND NOT EXISTS (SELECT 1 FROM outbox_events e \
                         WHERE e.dossier_id = d.dossier_id AND e.id < d.event_id \
                           AND e.dispatched_at IS NULL))) \
     ORDER BY d.next_attempt_at, d.id LIMIT ?";

/// A delivery taken for one attempt, with what sending it needs.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub delivery_id: i64,
    pub webhook_id: i64,
    /// The number of this attempt, from 1.
    pub attempt: i32,
    pub url: String,
    pub secret: String,
    pub message_id: String,
    pub payload: String,
}

/// Claims up to `limit` due deliveries for one attempt each: the attempt count goes up, an attempt
/// row is opened, and the delivery is leased until `lease_until` (it becomes due again then, should
/// this instance die before recording the outcome). An attempt left open by such an instance is
/// closed as abandoned. Call it in a write transaction.
pub fn claim_due(
    conn: &mut DbConnection,
    now: Instant,
    lease_until: Instant,
    limit: i64,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let ids: Vec<i64> = match conn {
        DbConnection::Pg(c) => {
            let mut n = 0;
            let numbered = DUE_DELIVERIES
                .split('?')
                .enumerate()
                .map(|(i, part)| {
                    if i == 0 {
                        part.to_owned()
                    } else {
                        n += 1;
                        format!("${n}{part}")
                    }
                })
                .collect::<String>();
            diesel::sql_query(format!("{numbered} FOR UPDATE OF d SKIP LOCKED"))
                .bind::<Timestamp, _>(now)
                .bind::<BigInt, _>(limit)
                .load::<IdRow>(c)?
        }
        DbConnection::Sqlite(c) => diesel::sql_query(DUE_DELIVERIES)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .load::<IdRow>(c)?,
    }
    .into_iter()
    .map(|r| r.id)
    .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(
        webhook_attempts::table
            .filter(webhook_attempts::delivery_id.eq_any(&ids))
            .filter(webhook_attempts::finished_at.is_null()),
    )
    .set((
        webhook_attempts::finished_at.eq(now),
        webhook_attempts::error
            .eq("abandoned: the instance making it stopped before an answer was recorded"),
    ))
    .execute(conn)?;
    diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
        .set((
            webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
            webhook_deliveries::next_attempt_at.eq(lease_until),
            webhook_deliveries::updated_at.eq(now),
        ))
        .execute(conn)?;
    let rows: Vec<(i64, i64, i32, String, String, String, String)> = webhook_deliveries::table
        .inner_join(webhooks::table)
        .inner_join(outbox_events::table)
        .filter(webhook_deliveries::id.eq_any(&ids))
        .order((webhook_deliveries::next_attempt_at, webhook_deliveries::id))
        .select((
            webhook_deliveries::id,
            webhook_deliveries::webhook_id,
            webhook_deliveries::attempts,
            webhooks::url,
            webhooks::secret,
            outbox_events::message_id,
            outbox_events::payload,
        ))
        .load(conn)?;
    for (delivery_id, _, attempt, ..) in &rows {
        diesel::insert_into(webhook_attempts::table)
            .values((
                webhook_attempts::delivery_id.eq(delivery_id),
                webhook_attempts::attempt.eq(attempt),
                webhook_attempts::started_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(rows
        .into_iter()
        .map(
            |(delivery_id, webhook_id, attempt, url, secret, message_id, payload)| {
                ClaimedDelivery {
                    delivery_id,
                    webhook_id,
                    attempt,
                    url,
                    secret,
                    message_id,
                    payload,
                }
            },
        )
        .collect())
}

/// What follows an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    Delivered,
    RetryAt(Instant),
    /// The last allowed attempt failed.
    Failed,
}

/// The answer to one attempt: the HTTP status, if one came, and what went wrong, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptResult {
    pub status_code: Option<i32>,
    pub error: Option<String>,
}

/// Records an attempt's answer and the delivery's next step. The delivery changes only if this
/// attempt is still its latest (a slower instance whose lease ran out must not undo a newer one).
pub fn finish_attempt(
    conn: &mut DbConnection,
    delivery_id: i64,
    attempt: i32,
    result: &AttemptResult,
    next: NextStep,
    now: Instant,
) -> Result<(), StoreError> {
    diesel::update(
        webhook_attempts::table
            .filter(webhook_attempts::delivery_id.eq(delivery_id))
            .filter(webhook_attempts::attempt.eq(attempt)),
    )
    .set((
        webhook_attempts::finished_at.eq(now),
        webhook_attempts::status_code.eq(result.status_code),
        webhook_attempts::error.eq(&result.error),
    ))
    .execute(conn)?;
    let target = webhook_deliveries::table
        .filter(webhook_deliveries::id.eq(delivery_id))
        .filter(webhook_deliveries::attempts.eq(attempt))
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending));
    let common = (
        webhook_deliveries::last_status_code.eq(result.status_code),
        webhook_deliveries::last_error.eq(&result.error),
        webhook_deliveries::updated_at.eq(now),
    );
    match next {
        NextStep::Delivered => diesel::update(target)
            .set((
                common,
                webhook_deliveries::status.eq(DeliveryStatus::Delivered),
                webhook_deliveries::delivered_at.eq(now),
            ))
            .execute(conn)?,
        NextStep::RetryAt(at) => diesel::update(target)
            .set((common, webhook_deliveries::next_attempt_at.eq(at)))
            .execute(conn)?,
        NextStep::Failed => diesel::update(target)
            .set((
                common,
                webhook_deliveries::status.eq(DeliveryStatus::Failed),
            ))
            .execute(conn)?,
    };
    Ok(())
}
