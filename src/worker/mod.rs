//! The background worker that every instance runs beside its HTTP server:
//! - fans out the outbox's events to the matching subscriptions (one delivery each);
//! - posts due deliveries with Standard Webhooks headers, retrying with exponential backoff and
//!   jitter until an attempt limit, and keeps the log of every attempt;
//! - scans for dossiers that became due soon or overdue and emits each of those events once;
//! - when the national portal is configured, sends every changed dossier there ([`national`]).
//!
//! Several instances may run it against one database: events and deliveries are claimed in short
//! transactions (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single write lock on SQLite), and a
//! claimed delivery is leased, so one whose instance died is taken over when the lease ends.

pub mod delivery;
pub mod national;

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use tokio::{sync::watch, task::JoinSet};

use crate::{
    config::{NationalSyncSettings, WebhookSettings},
    domain::{
        Instant,
        agency::{AgencyScope, AgencyTree},
    },
    service::webhooks::{self as hooks, EventType},
    store::{
        self, DbConnection, DbPool, StoreError, agencies,
        calendar::CalendarCache,
        national_sync,
        outbox::{self, NoticeKind},
        webhooks::{self as hook_store, ClaimedDelivery, NewDelivery},
        write_transaction,
    },
};

/// Events fanned out per transaction.
const FAN_OUT_BATCH: i64 = 200;
/// Dossiers examined per deadline scan and kind; the rest wait for the next scan.
const SCAN_BATCH: i64 = 500;

/// The worker's progress, exported with the service's metrics: an operator sees that it is alive
/// and keeping up, and a test waits for the worker to have moved on instead of sleeping.
#[derive(Clone)]
pub struct WorkerCounters {
    /// Rounds completed: fan-out, the deadline scan when one is due, the claim of due deliveries.
    pub rounds: prometheus::IntCounter,
    /// Deadline scans completed, counted once the events they emitted are fanned out.
    pub deadline_scans: prometheus::IntCounter,
    /// Webhook attempts started and not yet collected when the last round ended. Zero means every
    /// attempt claimed until then has finished, and that round claimed none.
    pub attempts_in_flight: prometheus::IntGauge,
}

impl WorkerCounters {
    pub fn new() -> Self {
        let counter = |name: &str, help: &str| {
            prometheus::IntCounter::new(name, help).expect("static metric definition is valid")
        };
        Self {
            rounds: counter("worker_rounds_total", "Rounds of the background worker"),
            deadline_scans: counter(
                "worker_deadline_scans_total",
                "Deadline scans of the background worker",
            ),
            attempts_in_flight: prometheus::IntGauge::new(
                "worker_webhook_attempts_in_flight",
                "Webhook attempts not yet collected at the end of the worker's last round",
            )
            .expect("static metric definition is valid"),
        }
    }

    pub fn register(&self, registry: &prometheus::Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.rounds.clone()))?;
        registry.register(Box::new(self.deadline_scans.clone()))?;
        registry.register(Box::new(self.attempts_in_flight.clone()))
    }
}

impl Default for WorkerCounters {
    fn default() -> Self {
        Self::new()
    }
}

/// A running worker; stop it with [`WorkerHandle::shutdown`].
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    /// Stops claiming work, lets attempts in flight finish within `grace`, then abandons the rest
    /// (their leases run out and another instance, or the next start, takes them over).
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        // The task itself waits up to `grace` for its attempts; allow a little more for that.
        if tokio::time::timeout(grace + Duration::from_secs(1), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

/// Starts the worker on the current Tokio runtime.
pub fn start(
    pool: DbPool,
    calendars: Arc<CalendarCache>,
    settings: WebhookSettings,
    national_sync: Option<NationalSyncSettings>,
    grace: Duration,
    counters: WorkerCounters,
) -> Result<WorkerHandle, String> {
    let sender = delivery::Sender::new(&settings)?;
    let portal = national_sync
        .map(|n| national::PortalClient::new(n, &settings).map(Arc::new))
        .transpose()?;
    let (stop, stopped) = watch::channel(false);
    let worker = Worker {
        pool,
        calendars,
        settings,
        sender: Arc::new(sender),
        portal,
        counters,
    };
    let task = tokio::spawn(worker.run(stopped, grace));
    Ok(WorkerHandle { stop, task })
}

struct Worker {
    pool: DbPool,
    calendars: Arc<CalendarCache>,
    settings: WebhookSettings,
    sender: Arc<delivery::Sender>,
    /// The national portal, when the push sync is configured.
    portal: Option<Arc<national::PortalClient>>,
    counters: WorkerCounters,
}

/// Runs blocking storage work on the blocking pool with a pooled connection.
async fn with_conn<T, F>(pool: &DbPool, f: F) -> Result<T, StoreError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || store::with_connection(&pool, f))
        .await
        .map_err(|e| StoreError::Setup(format!("worker task failed: {e}")))?
}

impl Worker {
    async fn run(self, mut stopped: watch::Receiver<bool>, grace: Duration) {
        let mut in_flight: JoinSet<()> = JoinSet::new();
        let mut tick = tokio::time::interval(self.settings.poll_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut next_scan = tokio::time::Instant::now();
        let mut next_purge = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = stopped.changed() => break,
                _ = tick.tick() => {}
            }
            while in_flight.try_join_next().is_some() {}
            let now = tokio::time::Instant::now();
            let mut scanned = false;
            if now >= next_scan {
                next_scan = now + self.settings.scan_interval;
                match self.scan_deadlines().await {
                    Ok(()) => scanned = true,
                    Err(e) => tracing::warn!(error = %e, "deadline scan failed"),
                }
            }
            if now >= next_purge {
                next_purge = now + Duration::from_secs(3600);
                if let Err(e) = self.purge().await {
                    tracing::warn!(error = %e, "purging the delivery log failed");
                }
            }
            if let Err(e) = self.fan_out().await {
                tracing::warn!(error = %e, "webhook fan-out failed");
            }
            if scanned {
                self.counters.deadline_scans.inc();
            }
            let room = self.settings.concurrency.saturating_sub(in_flight.len());
            if room > 0 {
                match self.claim(room).await {
                    Ok(claimed) => {
                        for claim in claimed {
                            let (pool, sender, settings) = (
                                self.pool.clone(),
                                Arc::clone(&self.sender),
                                self.settings.clone(),
                            );
                            in_flight
                                .spawn(async move { attempt(pool, sender, settings, claim).await });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "claiming webhook deliveries failed"),
                }
            }
            let room = self.settings.concurrency.saturating_sub(in_flight.len());
            if let Some(portal) = &self.portal
                && room > 0
            {
                let limit = i64::try_from(room).unwrap_or(i64::MAX);
                match national::claim(&self.pool, self.settings.lease, limit).await {
                    Ok(claimed) => {
                        for claim in claimed {
                            let (pool, portal, settings) =
                                (self.pool.clone(), Arc::clone(portal), self.settings.clone());
                            in_flight.spawn(national::attempt(pool, portal, settings, claim));
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "claiming national syncs failed"),
                }
            }
            self.counters
                .attempts_in_flight
                .set(i64::try_from(in_flight.len()).unwrap_or(i64::MAX));
            self.counters.rounds.inc();
        }
        // Shutting down: attempts in flight may finish within the grace period.
        let drained = tokio::time::timeout(grace, async {
            while in_flight.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::info!(
                abandoned = in_flight.len(),
                "stopping with webhook attempts in flight; they are retried when their lease ends"
            );
            in_flight.abort_all();
        }
    }

    /// Turns undelivered outbox events into one delivery per matching subscription.
    async fn fan_out(&self) -> Result<(), StoreError> {
        loop {
            let fanned = with_conn(&self.pool, move |conn| {
                if !outbox::has_undispatched(conn)? {
                    return Ok(0);
                }
                write_transaction(conn, fan_out_batch)
            })
            .await?;
            if fanned < FAN_OUT_BATCH as usize {
                return Ok(());
            }
        }
    }

    /// Claims up to `room` due deliveries for one attempt each.
    async fn claim(&self, room: usize) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let lease = TimeDelta::from_std(self.settings.lease).unwrap_or(TimeDelta::minutes(1));
        let limit = i64::try_from(room).unwrap_or(i64::MAX);
        with_conn(&self.pool, move |conn| {
            let now = Instant::from(Utc::now());
            if !hook_store::has_due(conn, now)? {
                return Ok(Vec::new());
            }
            write_transaction(conn, |conn| {
                hook_store::claim_due(conn, now, now + lease, limit)
            })
        })
        .await
    }

    /// Emits `dossier.overdue` for open dossiers past due and `dossier.due_soon` for those due
    /// within the configured working hours, each once per dossier.
    async fn scan_deadlines(&self) -> Result<(), StoreError> {
        let calendars = Arc::clone(&self.calendars);
        let window = i64::from(self.settings.due_soon_working_hours) * 60;
        let emitted = with_conn(&self.pool, move |conn| {
            let now = Utc::now();
            let (_, calendar) = calendars.get(conn)?;
            let soon_until = calendar
                .add_working_minutes(now, window)
                .map_err(|e| StoreError::Corrupt(format!("due-soon window: {e}")))?;
            let mut emitted = 0;
            for candidate in outbox::deadline_candidates(
                conn,
                NoticeKind::Overdue,
                None,
                Instant::from(now),
                SCAN_BATCH,
            )? {
                emitted += usize::from(emit_notice(conn, candidate.id, NoticeKind::Overdue, now)?);
            }
            for candidate in outbox::deadline_candidates(
                conn,
                NoticeKind::DueSoon,
                Some(Instant::from(now)),
                Instant::from(soon_until),
                SCAN_BATCH,
            )? {
                emitted += usize::from(emit_notice(conn, candidate.id, NoticeKind::DueSoon, now)?);
            }
            Ok(emitted)
        })
        .await?;
        if emitted > 0 {
            tracing::info!(emitted, "deadline events emitted");
        }
        Ok(())
    }

    async fn purge(&self) -> Result<(), StoreError> {
        let keep = TimeDelta::days(i64::from(self.settings.retention_days));
        let (deliveries, events) = with_conn(&self.pool, move |conn| {
            write_transaction(conn, |conn| {
                outbox::purge(conn, Instant::from(Utc::now() - keep))
            })
        })
        .await?;
        if deliveries + events > 0 {
            tracing::info!(
                deliveries,
                events,
                "purged old webhook deliveries and events"
            );
        }
        Ok(())
    }
}

/// One fan-out transaction: claims a batch of events, inserts their deliveries and marks their
/// dossiers for the national sync. The marks are kept on every instance, whether or not it pushes
/// to the portal, so that no change is missed by the instances that do (or by a push switched on
/// later).
fn fan_out_batch(conn: &mut DbConnection) -> Result<usize, StoreError> {
    let events = outbox::claim_undispatched(conn, FAN_OUT_BATCH)?;
    if events.is_empty() {
        return Ok(0);
    }
    let changed: Vec<(i64, i64)> = events.iter().map(|e| (e.dossier_id, e.id)).collect();
    national_sync::mark_changed(conn, &changed, Instant::from(Utc::now()))?;
    let webhooks = hook_store::deliverable_webhooks(conn)?;
    // The agency tree is read only when some subscription is confined to an agency.
    let tree = if webhooks
        .iter()
        .any(|w| w.subscription.agency_code.is_some())
    {
        agencies::tree(conn)?
    } else {
        AgencyTree::default()
    };
    let subscriptions: Vec<_> = webhooks
        .into_iter()
        .map(|w| {
            let events = hooks::subscribed_events(&w);
            let scope = match &w.subscription.agency_code {
                None => AgencyScope::Everything,
                Some(agency) => AgencyScope::below(&tree, agency),
            };
            (w, events, scope)
        })
        .collect();
    let ids: Vec<i64> = events.iter().map(|e| e.dossier_id).collect();
    let mut shared: HashMap<i64, Vec<String>> = HashMap::new();
    for (dossier_id, agency) in agencies::agencies_of_dossiers(conn, &ids)? {
        shared.entry(dossier_id).or_default().push(agency);
    }
    let now = Instant::from(Utc::now());
    let mut deliveries = Vec::new();
    for event in &events {
        let facts = hooks::EventFacts {
            event_type: &event.event_type,
            dossier_client: event.created_by_client.as_deref(),
            dossier_agencies: shared.get(&event.dossier_id).map_or(&[], Vec::as_slice),
            created_at: event.created_at,
        };
        for (webhook, wanted, scope) in &subscriptions {
            if hooks::wants(webhook, wanted, scope, &facts) {
                deliveries.push(NewDelivery::pending(
                    webhook.id,
                    event.id,
                    event.dossier_id,
                    now,
                ));
            }
        }
    }
    hook_store::insert_deliveries(conn, &deliveries)?;
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    outbox::mark_dispatched(conn, &ids, now)?;
    Ok(events.len())
}

/// Emits one deadline event for a dossier if it still applies and was not emitted before. The
/// dossier row is locked first, so concurrent scans of two instances take turns and the second
/// sees the first one's record.
fn emit_notice(
    conn: &mut DbConnection,
    dossier_id: i64,
    kind: NoticeKind,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    write_transaction(conn, |conn| {
        let record = outbox::lock_dossier(conn, dossier_id)?;
        // A dossier whose clock runs has been received, so it has a due instant.
        let Some(due_at) = record.due_at.filter(|_| record.status.clock_running()) else {
            return Ok(false);
        };
        let applies = match kind {
            NoticeKind::Overdue => due_at.utc() < now,
            NoticeKind::DueSoon => due_at.utc() >= now,
        };
        if !applies || outbox::notice_exists(conn, dossier_id, kind)? {
            return Ok(false);
        }
        outbox::record_notice(conn, dossier_id, kind, due_at, Instant::from(now))?;
        let event_type = match kind {
            NoticeKind::Overdue => EventType::Overdue,
            NoticeKind::DueSoon => EventType::DueSoon,
        };
        let minutes_late = (now - due_at.utc()).num_minutes().max(0);
        let details = match kind {
            NoticeKind::Overdue => serde_json::json!({"minutes_past_due": minutes_late}),
            NoticeKind::DueSoon => serde_json::json!({}),
        };
        // One event, in the transaction that records that it was emitted.
        outbox::enqueue(
            conn,
            &hooks::dossier_event(event_type, &record, now, details),
        )?;
        Ok(true)
    })
}

/// Makes one attempt and records its outcome.
async fn attempt(
    pool: DbPool,
    sender: Arc<delivery::Sender>,
    settings: WebhookSettings,
    claim: ClaimedDelivery,
) {
    let result = sender.send(&claim).await;
    let next = delivery::next_step(
        &result,
        claim.attempt,
        &settings,
        Utc::now(),
        rand::random::<f64>(),
    );
    match &next {
        store::webhooks::NextStep::Failed => tracing::warn!(
            delivery = claim.delivery_id,
            webhook = claim.webhook_id,
            attempts = claim.attempt,
            error = result.error.as_deref().unwrap_or_default(),
            "webhook delivery failed for good"
        ),
        store::webhooks::NextStep::RetryAt(at) => tracing::info!(
            delivery = claim.delivery_id,
            attempt = claim.attempt,
            retry_at = %at,
            error = result.error.as_deref().unwrap_or_default(),
            "webhook attempt failed; will retry"
        ),
        store::webhooks::NextStep::Delivered => tracing::debug!(
            delivery = claim.delivery_id,
            attempt = claim.attempt,
            "webhook delivered"
        ),
    }
    let (delivery_id, attempt) = (claim.delivery_id, claim.attempt);
    let recorded = with_conn(&pool, move |conn| {
        write_transaction(conn, |conn| {
            hook_store::finish_attempt(
                conn,
                delivery_id,
                attempt,
                &result,
                next,
                Instant::from(Utc::now()),
            )
        })
    })
    .await;
    if let Err(e) = recorded {
        // The lease runs out and the delivery is attempted again: at least once, never lost.
        tracing::warn!(delivery = delivery_id, error = %e, "recording a webhook attempt failed");
    }
}
