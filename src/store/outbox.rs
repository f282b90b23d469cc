//! The transactional outbox: webhook events written in the transaction of the change they report,
//! so an event exists exactly when its change does; the delivery worker fans them out later. Also
//! the records that `dossier.due_soon` / `dossier.overdue` were emitted.

use diesel::prelude::*;

use super::{
    DbConnection, StoreError,
    schema::{dossier_deadline_notices, dossiers, outbox_events, webhook_deliveries},
};
use crate::domain::{
    Instant,
    dossier::{Dossier, Status},
};

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox_events)]
pub struct NewOutboxEvent {
    pub message_id: String,
    pub event_type: String,
    pub dossier_id: i64,
    pub dossier_code: String,
    pub created_by_client: Option<String>,
    pub payload: String,
    pub occurred_at: Instant,
    pub created_at: Instant,
}

/// Writes an event; call it inside the transaction of the change it reports.
pub fn enqueue(conn: &mut DbConnection, event: &NewOutboxEvent) -> Result<(), StoreError> {
    diesel::insert_into(outbox_events::table)
        .values(event)
        .execute(conn)?;
    Ok(())
}

/// An event not yet fanned out to the subscriptions.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox_events)]
pub struct PendingEvent {
    pub id: i64,
    pub event_type: String,
    pub dossier_id: i64,
    pub created_by_client: Option<String>,
    pub created_at: Instant,
}

/// Whether any event awaits its fan-out (a cheap read before taking a write lock).
pub fn has_undispatched(conn: &mut DbConnection) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(
        outbox_events::table.filter(outbox_events::dispatched_at.is_null()),
    ))
    .get_result(conn)?)
}

/// The oldest events awaiting their fan-out. On PostgreSQL the rows stay locked until the
/// transaction ends and rows another instance holds are skipped, so two instances never fan out one
/// event twice; SQLite's write transaction holds the only write lock already.
pub fn claim_undispatched(
    conn: &mut DbConnection,
    limit: i64,
) -> Result<Vec<PendingEvent>, StoreError> {
    macro_rules! oldest {
        () => {
            outbox_events::table
                .filter(outbox_events::dispatched_at.is_null())
                .order(outbox_events::id)
                .limit(limit)
                .select(PendingEvent::as_select())
        };
    }
    Ok(match conn {
        DbConnection::Pg(c) => oldest!().for_update().skip_locked().load(c)?,
        DbConnection::Sqlite(c) => oldest!().load(c)?,
    })
}

pub fn mark_dispatched(
    conn: &mut DbConnection,
    ids: &[i64],
    at: Instant,
) -> Result<(), StoreError> {
    diesel::update(outbox_events::table.filter(outbox_events::id.eq_any(ids)))
        .set(outbox_events::dispatched_at.eq(at))
        .execute(conn)?;
    Ok(())
}

/// What the deadline scan emits, once per dossier each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    DueSoon,
    Overdue,
}

impl NoticeKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            NoticeKind::DueSoon => "due_soon",
            NoticeKind::Overdue => "overdue",
        }
    }
}

/// A dossier the deadline scan should look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineCandidate {
    pub id: i64,
    pub code: String,
    pub due_at: Instant,
}

/// Open dossiers (received or processing: a dossier awaiting a supplement has its clock stopped)
/// with a due instant in `[from, to)` that have no notice of `kind` yet, earliest due first.
pub fn deadline_candidates(
    conn: &mut DbConnection,
    kind: NoticeKind,
    from: Option<Instant>,
    to: Instant,
    limit: i64,
) -> Result<Vec<DeadlineCandidate>, StoreError> {
    let mut query = dossiers::table
        .filter(dossiers::status.eq_any(Status::CLOCK_RUNNING))
        .filter(dossiers::due_at.is_not_null())
        .filter(dossiers::due_at.lt(to))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            dossier_deadline_notices::table
                .filter(dossier_deadline_notices::dossier_id.eq(dossiers::id))
                .filter(dossier_deadline_notices::kind.eq(kind.as_str())),
        )))
        .select((
            dossiers::id,
            dossiers::code,
            dossiers::due_at.assume_not_null(),
        ))
        .into_boxed();
    if let Some(from) = from {
        query = query.filter(dossiers::due_at.ge(from));
    }
    let rows: Vec<(i64, String, Instant)> =
        query.order(dossiers::due_at).limit(limit).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, code, due_at)| DeadlineCandidate { id, code, due_at })
        .collect())
}

pub fn notice_exists(
    conn: &mut DbConnection,
    dossier_id: i64,
    kind: NoticeKind,
) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(
        dossier_deadline_notices::table
            .filter(dossier_deadline_notices::dossier_id.eq(dossier_id))
            .filter(dossier_deadline_notices::kind.eq(kind.as_str())),
    ))
    .get_result(conn)?)
}

/// Reads a dossier by id and, on PostgreSQL, locks its row until the transaction ends, as an action
/// does, so an event emitted now sorts after the events of actions that came before it.
pub fn lock_dossier(conn: &mut DbConnection, dossier_id: i64) -> Result<Dossier, StoreError> {
    Ok(match conn {
        DbConnection::Pg(c) => dossiers::table
            .find(dossier_id)
            .select(Dossier::as_select())
            .for_update()
            .first(c)?,
        // SQLite write transactions hold the database's write lock already (BEGIN IMMEDIATE).
        DbConnection::Sqlite(c) => dossiers::table
            .find(dossier_id)
            .select(Dossier::as_select())
            .first(c)?,
    })
}

/// Records that `kind` was emitted for the dossier; its primary key refuses a second one.
pub fn record_notice(
    conn: &mut DbConnection,
    dossier_id: i64,
    kind: NoticeKind,
    due_at: Instant,
    at: Instant,
) -> Result<(), StoreError> {
    diesel::insert_into(dossier_deadline_notices::table)
        .values((
            dossier_deadline_notices::dossier_id.eq(dossier_id),
            dossier_deadline_notices::kind.eq(kind.as_str()),
            dossier_deadline_notices::due_at.eq(due_at),
            dossier_deadline_notices::emitted_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes finished deliveries last touched before `before`, then fanned-out events older than that
/// which no delivery refers to any more. Returns (deliveries, events) deleted.
pub fn purge(conn: &mut DbConnection, before: Instant) -> Result<(usize, usize), StoreError> {
    let deliveries = diesel::delete(
        webhook_deliveries::table
            .filter(webhook_deliveries::status.ne(crate::domain::webhook::DeliveryStatus::Pending))
            .filter(webhook_deliveries::updated_at.lt(before)),
    )
    .execute(conn)?;
    let events = diesel::delete(
        outbox_events::table
            .filter(outbox_events::dispatched_at.lt(before))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                webhook_deliveries::table
                    .filter(webhook_deliveries::event_id.eq(outbox_events::id)),
            ))),
    )
    .execute(conn)?;
    Ok((deliveries, events))
}
