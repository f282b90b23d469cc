//! The push sync's ledger (`national_sync`): which dossiers the national portal has yet to hear
//! of, who is sending them, and what went wrong.

use diesel::{
    prelude::*,
    sql_types::{BigInt, Timestamp},
};

use super::{
    DbConnection, StoreError,
    schema::{dossier_agencies, dossiers, national_sync},
};
use crate::domain::Instant;

/// Marks dossiers as changed up to their outbox events (`(dossier_id, event_id)`): each is due for
/// a send now, and a dossier whose retries were exhausted starts over.
pub fn mark_changed(
    conn: &mut DbConnection,
    changes: &[(i64, i64)],
    now: Instant,
) -> Result<(), StoreError> {
    // A later batch of the fan-out may commit first: the pending event only ever grows.
    const UPSERT: &str = "INSERT INTO national_sync (dossier_id, pending_event, next_attempt_at) \
         VALUES (?, ?, ?) ON CONFLICT (dossier_id) DO UPDATE SET \
         pending_event = {max}(national_sync.pending_event, excluded.pending_event), \
         failed = FALSE, attempts = 0, next_attempt_at = excluded.next_attempt_at";
    // In dossier order, so that two instances' batches lock rows in the same order.
    let mut changes = changes.to_vec();
    changes.sort_unstable();
    for (dossier_id, event_id) in changes {
        match conn {
            DbConnection::Pg(c) => diesel::sql_query(
                UPSERT
                    .replace("{max}", "GREATEST")
                    .replacen('?', "$1", 1)
                    .replacen('?', "$2", 1)
                    .replacen('?', "$3", 1),
            )
            .bind::<BigInt, _>(dossier_id)
            .bind::<BigInt, _>(event_id)
            .bind::<Timestamp, _>(now)
            .execute(c)?,
            DbConnection::Sqlite(c) => diesel::sql_query(UPSERT.replace("{max}", "MAX"))
                .bind::<BigInt, _>(dossier_id)
                .bind::<BigInt, _>(event_id)
                .bind::<Timestamp, _>(now)
                .execute(c)?,
        };
    }
    Ok(())
}

/// A dossier claimed for one send.
#[derive(Debug, Clone)]
pub struct ClaimedSync {
    pub dossier_id: i64,
    /// The latest event this send covers.
    pub event: i64,
    pub on_portal: bool,
    /// This attempt's number, from 1.
    pub attempt: i32,
    /// Until when this instance holds the dossier; its outcome is recorded only while it does.
    pub lease_until: Instant,
}

#[derive(QueryableByName)]
struct DueRow {
    #[diesel(sql_type = BigInt)]
    dossier_id: i64,
}

const DUE: &str = "SELECT dossier_id FROM national_sync \
     WHERE pending_event > synced_event AND NOT failed AND next_attempt_at <= ? \
     AND (leased_until IS NULL OR leased_until < ?) ORDER BY next_attempt_at, dossier_id LIMIT ?";

/// Claims up to `limit` dossiers due for a send, leased until `lease_until`: one instance sends a
/// dossier at a time, and a send whose instance died is taken over when the lease ends.
pub fn claim_due(
    conn: &mut DbConnection,
    now: Instant,
    lease_until: Instant,
    limit: i64,
) -> Result<Vec<ClaimedSync>, StoreError> {
    let ids: Vec<i64> = match conn {
        DbConnection::Pg(c) => diesel::sql_query(format!(
            "{} FOR UPDATE SKIP LOCKED",
            DUE.replacen('?', "$1", 1)
                .replacen('?', "$2", 1)
                .replacen('?', "$3", 1)
        ))
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit)
        .load::<DueRow>(c)?,
        DbConnection::Sqlite(c) => diesel::sql_query(DUE)
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .load::<DueRow>(c)?,
    }
    .into_iter()
    .map(|r| r.dossier_id)
    .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(national_sync::table.filter(national_sync::dossier_id.eq_any(&ids)))
        .set((
            national_sync::leased_until.eq(lease_until),
            national_sync::attempts.eq(national_sync::attempts + 1),
            national_sync::last_attempt_at.eq(now),
        ))
        .execute(conn)?;
    let rows: Vec<(i64, i64, bool, i32)> = national_sync::table
        .filter(national_sync::dossier_id.eq_any(&ids))
        .select((
            national_sync::dossier_id,
            national_sync::pending_event,
            national_sync::on_portal,
            national_sync::attempts,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(dossier_id, event, on_portal, attempt)| ClaimedSync {
            dossier_id,
            event,
            on_portal,
            attempt,
            lease_until,
        })
        .collect())
}

/// How a send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    /// The portal took the record (added or updated).
    Synced,
    /// It did not; try again at the instant given.
    RetryAt(Instant, String),
    /// It did not, and the attempts are used up.
    Failed(String),
}

/// Records a send's outcome and gives the lease back; returns `false`, changing nothing, when the
/// lease ran out and another instance took the dossier over (its own outcome will count).
pub fn finish(
    conn: &mut DbConnection,
    claim: &ClaimedSync,
    outcome: &SyncOutcome,
    now: Instant,
) -> Result<bool, StoreError> {
    let held = || {
        national_sync::table
            .filter(national_sync::dossier_id.eq(claim.dossier_id))
            .filter(national_sync::leased_until.eq(claim.lease_until))
    };
    let no_lease: Option<Instant> = None;
    let changed = match outcome {
        SyncOutcome::Synced => diesel::update(held())
            .set((
                national_sync::synced_event.eq(claim.event),
                national_sync::on_portal.eq(true),
                national_sync::attempts.eq(0),
                national_sync::last_error.eq(None::<String>),
                national_sync::synced_at.eq(now),
                national_sync::leased_until.eq(no_lease),
            ))
            .execute(conn)?,
        // A failure decides the next attempt only if no change came during the send; otherwise
        // the change's own scheduling (due now, attempts from zero) stands.
        SyncOutcome::RetryAt(_, error) | SyncOutcome::Failed(error) => {
            let unchanged =
                diesel::update(held().filter(national_sync::pending_event.eq(claim.event)));
            let decided = match outcome {
                SyncOutcome::RetryAt(at, _) => unchanged
                    .set((
                        national_sync::next_attempt_at.eq(at),
                        national_sync::last_error.eq(error),
                        national_sync::leased_until.eq(no_lease),
                    ))
                    .execute(conn)?,
                _ => unchanged
                    .set((
                        national_sync::failed.eq(true),
                        national_sync::last_error.eq(error),
                        national_sync::leased_until.eq(no_lease),
                    ))
                    .execute(conn)?,
            };
            if decided == 1 {
                1
            } else {
                diesel::update(held())
                    .set((
                        national_sync::last_error.eq(error),
                        national_sync::leased_until.eq(no_lease),
                    ))
                    .execute(conn)?
            }
        }
    };
    Ok(changed == 1)
}

/// Remembers that the portal knows the dossier (it answered that the record exists).
pub fn mark_on_portal(conn: &mut DbConnection, dossier_id: i64) -> Result<(), StoreError> {
    diesel::update(national_sync::table.find(dossier_id))
        .set(national_sync::on_portal.eq(true))
        .execute(conn)?;
    Ok(())
}

/// A dossier whose last send failed.
#[derive(Debug, Clone)]
pub struct SyncFailure {
    pub code: String,
    pub attempts: i32,
    pub last_error: String,
    pub last_attempt_at: Option<Instant>,
    /// `None` once the attempts are used up.
    pub next_attempt_at: Option<Instant>,
}

/// The ledger at a glance, for the dossiers shared with `agencies` (`None`: all).
#[derive(Debug, Clone, Default)]
pub struct SyncState {
    pub synced: i64,
    pub pending: i64,
    pub failing: i64,
    pub failed: i64,
    pub last_synced_at: Option<Instant>,
    pub failures: Vec<SyncFailure>,
}

/// A failure as read: code, attempts, last error, last attempt, next attempt, exhausted.
type FailureRow = (String, i32, Option<String>, Option<Instant>, Instant, bool);

/// Failures listed at most.
const FAILURES_SHOWN: i64 = 50;

pub fn state(
    conn: &mut DbConnection,
    agencies: Option<&[String]>,
) -> Result<SyncState, StoreError> {
    let scoped = || {
        let mut query = national_sync::table
            .inner_join(dossiers::table)
            .into_boxed();
        if let Some(codes) = agencies {
            query = query.filter(diesel::dsl::exists(
                dossier_agencies::table
                    .filter(dossier_agencies::dossier_id.eq(national_sync::dossier_id))
                    .filter(dossier_agencies::agency_code.eq_any(codes.to_vec())),
            ));
        }
        query
    };
    let waiting = national_sync::pending_event.gt(national_sync::synced_event);
    let synced: i64 = scoped()
        .filter(national_sync::synced_at.is_not_null())
        .count()
        .get_result(conn)?;
    let pending: i64 = scoped()
        .filter(waiting)
        .filter(national_sync::failed.eq(false))
        .count()
        .get_result(conn)?;
    let failing: i64 = scoped()
        .filter(waiting)
        .filter(national_sync::failed.eq(false))
        .filter(national_sync::last_error.is_not_null())
        .count()
        .get_result(conn)?;
    let failed: i64 = scoped()
        .filter(waiting)
        .filter(national_sync::failed.eq(true))
        .count()
        .get_result(conn)?;
    let last_synced_at: Option<Instant> = scoped()
        .select(diesel::dsl::max(national_sync::synced_at))
        .first(conn)?;
    let rows: Vec<FailureRow> = scoped()
        .filter(waiting)
        .filter(national_sync::last_error.is_not_null())
        .order((
            national_sync::failed.desc(),
            national_sync::last_attempt_at.desc(),
        ))
        .limit(FAILURES_SHOWN)
        .select((
            dossiers::code,
            national_sync::attempts,
            national_sync::last_error,
            national_sync::last_attempt_at,
            national_sync::next_attempt_at,
            national_sync::failed,
        ))
        .load(conn)?;
    Ok(SyncState {
        synced,
        pending,
        failing,
        failed,
        last_synced_at,
        failures: rows
            .into_iter()
            .map(
                |(code, attempts, last_error, last_attempt_at, next, failed)| SyncFailure {
                    code,
                    attempts,
                    last_error: last_error.unwrap_or_default(),
                    last_attempt_at,
                    next_attempt_at: (!failed).then_some(next),
                },
            )
            .collect(),
    })
}
