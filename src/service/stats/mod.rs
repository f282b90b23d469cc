//! Statistics: the official report (summary), late and overdue dossiers, and due-soon warnings;
//! plus the statistics side of every dossier change ([`on_dossier_change`]), which keeps the
//! report's counters and the time used exactly consistent with the dossiers, in the same
//! transaction.

mod counters;
mod report;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

pub use counters::{Before, ensure_counters, on_dossier_change, rebuild_counters};
pub use report::{Column, GroupBy, MAX_PERIOD_DAYS, Summary, SummaryQuery, SummaryRow, summary};

use super::ServiceError;
use crate::{
    auth::policy::{Action, Principal, authorize},
    domain::{Instant, dossier::Dossier, stats::local_midnight},
    store::{
        DbConnection, StoreError,
        calendar::CalendarCache,
        catalogue,
        dossiers::EventRecord,
        stats::{self as store, LateFilter},
    },
};

// ---------------------------------------------------------------------------------------------
// Late and overdue dossiers; due-soon warnings.
// ---------------------------------------------------------------------------------------------

/// A step that ran over its own allotted time.
#[derive(Debug, Clone)]
pub struct OverrunStep {
    pub step: Option<i32>,
    pub step_name: Option<String>,
    pub unit_code: Option<String>,
    pub due_at: Instant,
    /// When the step was handed on; `None` for the current step, still running.
    pub finished_at: Option<Instant>,
    /// Working minutes past the step's due instant (until `finished_at`, or now).
    pub overrun_minutes: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LateKind {
    /// Resolved after its due instant.
    Late,
    /// Open (received or processing) and past its due instant now.
    Overdue,
}

#[derive(Debug, Clone)]
pub struct LateDossier {
    pub dossier: Dossier,
    pub kind: LateKind,
    /// Working minutes from the due instant to resolution (late) or to now (overdue).
    pub overrun_minutes: i64,
    pub steps: Vec<OverrunStep>,
}

#[derive(Debug, Clone, Default)]
pub struct LateQuery {
    pub late: bool,
    pub overdue: bool,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub unit_code: Option<String>,
    pub procedure_code: Option<String>,
}

/// Late and overdue dossiers with the steps (and their units) that ran over, by id after
/// `after_id`; at most `limit`.
pub fn late(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    who: &Principal,
    query: &LateQuery,
    now: DateTime<Utc>,
    after_id: i64,
    limit: i64,
) -> Result<Vec<LateDossier>, ServiceError> {
    authorize(who, &Action::ReadStatistics, None)?;
    let (_, calendar) = calendars.get(conn)?;
    let now_instant = Instant::from(now);
    let filter = LateFilter {
        late: query.late,
        overdue: query.overdue,
        resolved_from: query.from.map(local_midnight),
        resolved_before: query.to.and_then(|d| d.succ_opt()).map(local_midnight),
        now: now_instant,
        unit_code: query.unit_code.clone(),
        procedure_code: query.procedure_code.clone(),
        agencies: who.scope.codes(),
    };
    let records = store::late_dossiers(conn, &filter, after_id, limit)?;
    let ids: Vec<i64> = records.iter().map(|d| d.id).collect();
    let mut events: HashMap<i64, Vec<EventRecord>> = HashMap::new();
    for e in store::late_steps(conn, &ids)? {
        events.entry(e.dossier_id).or_default().push(e);
    }
    let mut step_names: HashMap<(String, i32), Vec<String>> = HashMap::new();
    let minutes = |from: Instant, to: Instant| -> Result<i64, ServiceError> {
        Ok(calendar
            .working_minutes_between(from.utc(), to.utc())?
            .max(0))
    };
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        let due_at = received_due_at(&record)?;
        let resolved = record.resolved_at.is_some();
        let kind = if resolved {
            LateKind::Late
        } else {
            LateKind::Overdue
        };
        let end = record.resolved_at.unwrap_or(now_instant);
        let mut steps = Vec::new();
        for e in events.remove(&record.id).unwrap_or_default() {
            if let Some(due) = e.step_due_at {
                steps.push(OverrunStep {
                    step: e.step,
                    step_name: e.step_name,
                    unit_code: e.unit_code,
                    due_at: due,
                    finished_at: Some(e.at),
                    overrun_minutes: minutes(due, e.at)?,
                });
            }
        }
        if !resolved
            && let Some(due) = record.current_step_due_at
            && due < now_instant
        {
            let key = (record.procedure_code.clone(), record.procedure_version);
            if !step_names.contains_key(&key) {
                let v = catalogue::procedure_version(conn, &key.0, key.1)?;
                step_names.insert(
                    key.clone(),
                    v.rules.steps.into_iter().map(|s| s.name).collect(),
                );
            }
            let name = record
                .current_step
                .and_then(|i| step_names[&key].get(i).cloned());
            steps.push(OverrunStep {
                step: record.current_step.and_then(|i| i32::try_from(i).ok()),
                step_name: name,
                unit_code: record.current_unit_code.clone(),
                due_at: due,
                finished_at: None,
                overrun_minutes: minutes(due, now_instant)?,
            });
        }
        out.push(LateDossier {
            overrun_minutes: minutes(due_at, end)?,
            dossier: record,
            kind,
            steps,
        });
    }
    Ok(out)
}

/// The due instant of a dossier the statistics list as received (late, overdue, due soon); a
/// row without one contradicts the query that found it.
fn received_due_at(dossier: &Dossier) -> Result<Instant, StoreError> {
    dossier.due_at.ok_or_else(|| {
        StoreError::Corrupt(format!(
            "dossier {} is listed as received but has no due instant",
            dossier.code
        ))
    })
}

/// An open dossier whose due instant is near.
#[derive(Debug, Clone)]
pub struct DueSoon {
    pub dossier: Dossier,
    pub due_at: Instant,
    /// Working minutes from now to the due instant.
    pub working_minutes_left: i64,
}

/// Open dossiers (received or processing; a paused one has its clock stopped) due within
/// `within_days` working days from `now`, soonest first, after the cursor.
#[allow(clippy::too_many_arguments)]
pub fn due_soon(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    who: &Principal,
    within_days: u32,
    unit_code: Option<&str>,
    now: DateTime<Utc>,
    after: Option<(Instant, i64)>,
    limit: i64,
) -> Result<Vec<DueSoon>, ServiceError> {
    authorize(who, &Action::ReadStatistics, None)?;
    let (_, calendar) = calendars.get(conn)?;
    let horizon = calendar.add_working_minutes(
        now,
        i64::from(within_days) * calendar.standard_day_minutes(),
    )?;
    let agencies = who.scope.codes();
    let records = store::due_soon(
        conn,
        now.into(),
        horizon.into(),
        after,
        unit_code,
        agencies.as_deref(),
        limit,
    )?;
    records
        .into_iter()
        .map(|dossier| {
            let due_at = received_due_at(&dossier)?;
            let left = calendar.working_minutes_between(now, due_at.utc())?;
            Ok(DueSoon {
                dossier,
                due_at,
                working_minutes_left: left,
            })
        })
        .collect()
}
