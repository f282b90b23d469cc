//! The statistics side of a dossier change: the report's counters and the time used, kept exactly
//! consistent with the dossiers in the change's own transaction, and rebuilt from them when needed.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::{
    domain::{
        Instant,
        calendar::Calendar,
        deadline::{Pause, time_used},
        dossier::Dossier,
        procedure::ProcedureRules,
        stats::{Counters, DossierFacts, contributions, difference},
    },
    service::ServiceError,
    store::{
        DbConnection, StoreError,
        calendar::CalendarCache,
        catalogue,
        dossiers::{self as dossier_store, PauseRecord},
        stats::{self as store, CounterKey},
        write_transaction,
    },
};

fn facts_before(
    dossier: &Dossier,
    pauses: &[PauseRecord],
    first_online_payment_at: Option<Instant>,
    time_used: (Option<i64>, Option<i64>),
) -> DossierFacts {
    let resolved = dossier.resolved_at.is_some();
    DossierFacts {
        received_at: dossier.received_at,
        due_at: dossier.due_at,
        resolved_at: dossier.resolved_at,
        withdrawn_at: dossier.withdrawn_at,
        declined_at: dossier.declined_at,
        stopped_at: dossier.stopped_at,
        first_online_payment_at,
        digitized: dossier.digitized,
        outcome: dossier.outcome,
        result: dossier.result,
        working_minutes_used: time_used.0.filter(|_| resolved),
        limit_minutes: time_used.1.filter(|_| resolved),
        pauses: pauses
            .iter()
            .map(|p| (p.started_at, p.ended_at, p.kind))
            .collect(),
    }
}

fn pauses_of(facts: &DossierFacts) -> Vec<Pause> {
    facts
        .pauses
        .iter()
        .map(|(s, e, kind)| Pause {
            started_at: s.utc(),
            ended_at: e.map(Instant::utc),
            kind: *kind,
        })
        .collect()
}

/// A dossier as it was before an action, for the counters' difference.
pub struct Before<'a> {
    pub dossier: &'a Dossier,
    pub pauses: &'a [PauseRecord],
    /// Its first online payment before the action, when the action recorded a payment; `None`
    /// when the action left the payments as they were.
    pub paid_online_before: Option<Option<Instant>>,
}

/// The working time a resolved dossier used and its limit (see [`time_used`]).
fn time_used_of(
    calendar: &Calendar,
    rules: &ProcedureRules,
    facts: &DossierFacts,
    resolved_at: Instant,
) -> Result<(i64, i64), ServiceError> {
    let received_at = facts.received_at.ok_or_else(|| {
        StoreError::Corrupt("a resolved dossier without a receipt instant".into())
    })?;
    let t = time_used(
        calendar,
        rules.time_limit,
        rules.supplement_policy,
        received_at.utc(),
        &pauses_of(facts),
        resolved_at.utc(),
    )?;
    Ok((t.used_minutes, t.limit_minutes))
}

/// Called by `service::dossiers` inside the transaction of every receipt (`before = None`) and
/// action, after the dossier was written: stores the time used when the dossier has just been
/// resolved, and adds `contributions(after) − contributions(before)` to the report's counters.
pub fn on_dossier_change(
    conn: &mut DbConnection,
    calendar: &Calendar,
    rules: &ProcedureRules,
    before: Option<Before<'_>>,
    after: &Dossier,
) -> Result<(), ServiceError> {
    if let Some(b) = &before
        && b.dossier.status == after.status
        && b.dossier.due_at == after.due_at
        && b.dossier.resolved_at == after.resolved_at
        && b.dossier.withdrawn_at == after.withdrawn_at
        && b.dossier.digitized == after.digitized
    {
        // Forward, start, apologize: nothing the report counts has changed.
        return Ok(());
    }
    let mut row = match before {
        // A new dossier: everything the counters need is in the record (no pauses, not resolved),
        // so the receipt, whose counters are written while it holds the day's numbering, skips
        // the read.
        None => store::FactsRow {
            id: after.id,
            key: CounterKey::of(after),
            facts: facts_before(after, &[], None, (None, None)),
        },
        Some(_) => store::facts_of(conn, after.id)?,
    };
    let stored = (row.facts.working_minutes_used, row.facts.limit_minutes);
    if let Some(resolved_at) = after.resolved_at
        && before
            .as_ref()
            .is_none_or(|b| b.dossier.resolved_at.is_none())
    {
        let (used, limit) = time_used_of(calendar, rules, &row.facts, resolved_at)?;
        store::set_time_used(conn, after.id, used, limit)?;
        row.facts.working_minutes_used = Some(used);
        row.facts.limit_minutes = Some(limit);
    }
    let paid_online_now = row.facts.first_online_payment_at;
    let old = before
        .map(|b| {
            let paid_online = b.paid_online_before.unwrap_or(paid_online_now);
            contributions(&facts_before(b.dossier, b.pauses, paid_online, stored))
        })
        .unwrap_or_default();
    let new = contributions(&row.facts);
    store::add_deltas(conn, &row.key, &difference(&old, &new))?;
    Ok(())
}

/// Rebuilds every counter from the dossiers (and fills the time used of resolved dossiers that lack
/// it), in one transaction that keeps dossiers from changing meanwhile. Returns the number of
/// counter rows written.
pub fn rebuild_counters(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
) -> Result<usize, ServiceError> {
    write_transaction(conn, |conn| {
        store::lock_for_rebuild(conn)?;
        let (_, calendar) = calendars.get(conn)?;
        let mut acc: HashMap<CounterKey, HashMap<NaiveDate, Counters>> = HashMap::new();
        let mut rules_cache: HashMap<(String, i32), ProcedureRules> = HashMap::new();
        let mut after = 0;
        loop {
            let batch = store::facts_batch(conn, after, 20_000)?;
            if batch.is_empty() {
                break;
            }
            let missing: Vec<i64> = batch
                .iter()
                .filter(|r| {
                    r.facts.resolved_at.is_some()
                        && (r.facts.working_minutes_used.is_none()
                            || r.facts.limit_minutes.is_none())
                })
                .map(|r| r.id)
                .collect();
            let versions: HashMap<i64, (String, i32)> = if missing.is_empty() {
                HashMap::new()
            } else {
                dossier_store::procedures_of_dossiers(conn, &missing)?
                    .into_iter()
                    .map(|(id, code, version)| (id, (code, version)))
                    .collect()
            };
            for mut row in batch {
                after = row.id;
                if let (Some(resolved_at), Some(key)) =
                    (row.facts.resolved_at, versions.get(&row.id))
                {
                    if !rules_cache.contains_key(key) {
                        let rules = catalogue::procedure_version(conn, &key.0, key.1)?.rules;
                        rules_cache.insert(key.clone(), rules);
                    }
                    let (used, limit) =
                        time_used_of(&calendar, &rules_cache[key], &row.facts, resolved_at)?;
                    store::set_time_used(conn, row.id, used, limit)?;
                    row.facts.working_minutes_used = Some(used);
                    row.facts.limit_minutes = Some(limit);
                }
                let deltas = contributions(&row.facts);
                let days = acc.entry(row.key).or_default();
                for (day, c) in deltas {
                    *days.entry(day).or_default() += c;
                }
            }
        }
        let counters: HashMap<(CounterKey, NaiveDate), Counters> = acc
            .into_iter()
            .flat_map(|(key, days)| days.into_iter().map(move |(d, c)| ((key.clone(), d), c)))
            .collect();
        Ok(store::replace_counters(conn, &counters)?)
    })
}

/// Builds the counters once if the database had dossiers before they existed.
pub fn ensure_counters(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
) -> Result<(), ServiceError> {
    if !store::counters_built(conn)? {
        rebuild_counters(conn, calendars)?;
    }
    Ok(())
}
