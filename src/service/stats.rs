//! Statistics: the official report (summary), late and overdue dossiers, and due-soon warnings;
//! plus the statistics side of every dossier change ([`on_dossier_change`]), which keeps the
//! report's counters and the time used exactly consistent with the dossiers, in the same
//! transaction.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use super::ServiceError;
use crate::{
    auth::policy::{Action, Principal, authorize},
    domain::{
        Instant,
        calendar::Calendar,
        classification::Outcome,
        deadline::{Pause, time_used},
        dossier::{Channel, Dossier, Resolution},
        procedure::ProcedureRules,
        stats::{
            ChannelPrefix, Counters, DossierFacts, OpenState, ReportLine, contributions,
            difference, local_midnight, month_start, next_month_start,
        },
    },
    store::{
        DbConnection,
        calendar::CalendarCache,
        catalogue,
        dossiers::{self as dossier_store, DossierFilter, EventRecord, PauseRecord},
        stats::{self as store, CounterKey, GroupColumn, LateFilter},
        write_transaction,
    },
};

// ---------------------------------------------------------------------------------------------
// The statistics side of a dossier change.
// ---------------------------------------------------------------------------------------------

fn facts_before(
    dossier: &Dossier,
    pauses: &[PauseRecord],
    time_used: (Option<i64>, Option<i64>),
) -> DossierFacts {
    let resolved = dossier.resolved_at.is_some();
    DossierFacts {
        received_at: dossier.received_at,
        due_at: dossier.due_at,
        resolved_at: dossier.resolved_at,
        withdrawn_at: dossier.withdrawn_at,
        outcome: dossier.outcome,
        result: dossier.result,
        working_minutes_used: time_used.0.filter(|_| resolved),
        limit_minutes: time_used.1.filter(|_| resolved),
        pauses: pauses.iter().map(|p| (p.started_at, p.ended_at)).collect(),
    }
}

fn pauses_of(facts: &DossierFacts) -> Vec<Pause> {
    facts
        .pauses
        .iter()
        .map(|(s, e)| Pause {
            started_at: s.utc(),
            ended_at: e.map(Instant::utc),
        })
        .collect()
}

/// The working time a resolved dossier used and its limit (see [`time_used`]).
fn time_used_of(
    calendar: &Calendar,
    rules: &ProcedureRules,
    facts: &DossierFacts,
    resolved_at: Instant,
) -> Result<(i64, i64), ServiceError> {
    let t = time_used(
        calendar,
        rules.time_limit,
        rules.supplement_policy,
        facts.received_at.utc(),
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
    before: Option<(&Dossier, &[PauseRecord])>,
    after: &Dossier,
) -> Result<(), ServiceError> {
    if let Some((b, _)) = before
        && b.status == after.status
        && b.due_at == after.due_at
        && b.resolved_at == after.resolved_at
        && b.withdrawn_at == after.withdrawn_at
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
            facts: facts_before(after, &[], (None, None)),
        },
        Some(_) => store::facts_of(conn, after.id)?,
    };
    let stored = (row.facts.working_minutes_used, row.facts.limit_minutes);
    if let Some(resolved_at) = after.resolved_at
        && before.is_none_or(|(b, _)| b.resolved_at.is_none())
    {
        let (used, limit) = time_used_of(calendar, rules, &row.facts, resolved_at)?;
        store::set_time_used(conn, after.id, used, limit)?;
        row.facts.working_minutes_used = Some(used);
        row.facts.limit_minutes = Some(limit);
    }
    let old = before
        .map(|(b, pauses)| contributions(&facts_before(b, pauses, stored)))
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

// ---------------------------------------------------------------------------------------------
// The summary report.
// ---------------------------------------------------------------------------------------------

/// What the report's rows are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupBy {
    /// The procedure's lead unit (`dossiers.unit_code`).
    Unit,
    Procedure,
    /// The procedure's field (lĩnh vực), as copied to the dossier at receipt.
    Field,
    /// `direct`, `online` or `postal`.
    Channel,
    /// The local (UTC+7) calendar month of each counted event; each row is the report of that
    /// month within the period.
    Month,
}

impl GroupBy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unit => "unit",
            Self::Procedure => "procedure",
            Self::Field => "field",
            Self::Channel => "channel",
            Self::Month => "month",
        }
    }

    fn column(self) -> GroupColumn {
        match self {
            Self::Unit => GroupColumn::Unit,
            Self::Procedure => GroupColumn::Procedure,
            Self::Field => GroupColumn::Field,
            Self::Channel => GroupColumn::Channel,
            Self::Month => GroupColumn::None,
        }
    }
}

/// The report's countable columns, each reproduced by a dossier-list filter ([`cell_filter`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    CarriedOver,
    Received,
    ReceivedOnline,
    ReceivedDirect,
    ReceivedPostal,
    Resolved,
    ResolvedEarly,
    ResolvedOnTime,
    ResolvedLate,
    OpenAtEnd,
    OpenNotYetDue,
    OpenOverdue,
    OpenAwaitingSupplement,
    Withdrawn,
    Refused,
}

impl Column {
    pub const ALL: [Column; 15] = [
        Self::CarriedOver,
        Self::Received,
        Self::ReceivedOnline,
        Self::ReceivedDirect,
        Self::ReceivedPostal,
        Self::Resolved,
        Self::ResolvedEarly,
        Self::ResolvedOnTime,
        Self::ResolvedLate,
        Self::OpenAtEnd,
        Self::OpenNotYetDue,
        Self::OpenOverdue,
        Self::OpenAwaitingSupplement,
        Self::Withdrawn,
        Self::Refused,
    ];

    /// The JSON field name.
    pub fn name(self) -> &'static str {
        match self {
            Self::CarriedOver => "carried_over",
            Self::Received => "received",
            Self::ReceivedOnline => "received_online",
            Self::ReceivedDirect => "received_direct",
            Self::ReceivedPostal => "received_postal",
            Self::Resolved => "resolved",
            Self::ResolvedEarly => "resolved_early",
            Self::ResolvedOnTime => "resolved_on_time",
            Self::ResolvedLate => "resolved_late",
            Self::OpenAtEnd => "open_at_end",
            Self::OpenNotYetDue => "open_not_yet_due",
            Self::OpenOverdue => "open_overdue",
            Self::OpenAwaitingSupplement => "open_awaiting_supplement",
            Self::Withdrawn => "withdrawn",
            Self::Refused => "refused",
        }
    }

    /// The column's heading in the official report (Vietnamese).
    pub fn heading(self) -> &'static str {
        match self {
            Self::CarriedOver => "Kỳ trước chuyển qua",
            Self::Received => "Mới tiếp nhận",
            Self::ReceivedOnline => "Trực tuyến",
            Self::ReceivedDirect => "Trực tiếp",
            Self::ReceivedPostal => "Bưu chính",
            Self::Resolved => "Đã giải quyết",
            Self::ResolvedEarly => "Trước hạn",
            Self::ResolvedOnTime => "Đúng hạn",
            Self::ResolvedLate => "Quá hạn",
            Self::OpenAtEnd => "Đang giải quyết",
            Self::OpenNotYetDue => "Chưa đến hạn",
            Self::OpenOverdue => "Đã quá hạn",
            Self::OpenAwaitingSupplement => "Chờ bổ sung",
            Self::Withdrawn => "Rút hồ sơ",
            Self::Refused => "Từ chối",
        }
    }

    pub fn value(self, l: &ReportLine) -> i64 {
        match self {
            Self::CarriedOver => l.carried_over,
            Self::Received => l.received,
            Self::ReceivedOnline => l.received_online,
            Self::ReceivedDirect => l.received_direct,
            Self::ReceivedPostal => l.received_postal,
            Self::Resolved => l.resolved,
            Self::ResolvedEarly => l.resolved_early,
            Self::ResolvedOnTime => l.resolved_on_time,
            Self::ResolvedLate => l.resolved_late,
            Self::OpenAtEnd => l.open_at_end,
            Self::OpenNotYetDue => l.open_not_yet_due,
            Self::OpenOverdue => l.open_overdue,
            Self::OpenAwaitingSupplement => l.open_awaiting_supplement,
            Self::Withdrawn => l.withdrawn,
            Self::Refused => l.refused,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SummaryQuery {
    /// First local date of the period (inclusive).
    pub from: NaiveDate,
    /// Last local date of the period (inclusive).
    pub to: NaiveDate,
    pub group_by: GroupBy,
}

/// One row of the report: a group (or a month, or the total) over a range of local dates.
#[derive(Debug, Clone)]
pub struct SummaryRow {
    /// The group's code (unit, procedure, field, channel, `YYYY-MM`); `None` for the total.
    pub key: Option<String>,
    pub label: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub line: ReportLine,
    group_by: GroupBy,
}

impl SummaryRow {
    /// The instant the row's period starts (local midnight of `from`).
    pub fn start(&self) -> Instant {
        local_midnight(self.from)
    }

    /// The instant the row's period ends, exclusive (local midnight after `to`).
    pub fn end(&self) -> Instant {
        local_midnight(self.to.succ_opt().unwrap_or(self.to))
    }

    /// The dossier-list filter that returns exactly the dossiers counted in `column`; `None` when
    /// the count is zero by construction (another channel's received column of a channel row).
    pub fn cell_filter(&self, column: Column) -> Option<DossierFilter> {
        let mut f = DossierFilter::default();
        if let Some(key) = &self.key {
            match self.group_by {
                GroupBy::Unit => f.unit_code = Some(key.clone()),
                GroupBy::Procedure => f.procedure_code = Some(key.clone()),
                GroupBy::Field => f.stats.field = Some(key.clone()),
                GroupBy::Channel => f.channel = Some(Channel::parse(key)?),
                GroupBy::Month => {}
            }
        }
        let (start, end) = (self.start(), self.end());
        // Instants are stored to the microsecond: `<= end − 1 µs` is `< end`.
        let last = Instant::from(end.utc() - TimeDelta::microseconds(1));
        let received = |f: &mut DossierFilter| {
            f.received_from = Some(start);
            f.received_to = Some(last);
        };
        let resolved = |f: &mut DossierFilter| {
            f.resolved_from = Some(start);
            f.resolved_to = Some(last);
        };
        let open_at_end = |f: &mut DossierFilter, state: Option<OpenState>| {
            f.stats.open_at = Some(end);
            f.stats.open_state = state;
        };
        let channel = |f: &mut DossierFilter, c: Channel| -> bool {
            match f.channel {
                Some(existing) if existing != c => false,
                _ => {
                    f.channel = Some(c);
                    true
                }
            }
        };
        match column {
            Column::CarriedOver => f.stats.open_at = Some(start),
            Column::Received => received(&mut f),
            Column::ReceivedOnline | Column::ReceivedDirect | Column::ReceivedPostal => {
                let c = match column {
                    Column::ReceivedOnline => Channel::Online,
                    Column::ReceivedDirect => Channel::Direct,
                    _ => Channel::Postal,
                };
                if !channel(&mut f, c) {
                    return None;
                }
                received(&mut f);
            }
            Column::Resolved => resolved(&mut f),
            Column::ResolvedEarly | Column::ResolvedOnTime | Column::ResolvedLate => {
                resolved(&mut f);
                f.outcome = Some(match column {
                    Column::ResolvedEarly => Outcome::Early,
                    Column::ResolvedOnTime => Outcome::OnTime,
                    _ => Outcome::Late,
                });
            }
            Column::OpenAtEnd => open_at_end(&mut f, None),
            Column::OpenNotYetDue => open_at_end(&mut f, Some(OpenState::NotYetDue)),
            Column::OpenOverdue => open_at_end(&mut f, Some(OpenState::Overdue)),
            Column::OpenAwaitingSupplement => {
                open_at_end(&mut f, Some(OpenState::AwaitingSupplement))
            }
            Column::Withdrawn => {
                f.stats.withdrawn_from = Some(start);
                f.stats.withdrawn_to = Some(last);
            }
            Column::Refused => {
                resolved(&mut f);
                f.stats.result = Some(Resolution::Refused);
            }
        }
        Some(f)
    }
}

#[derive(Debug, Clone)]
pub struct Summary {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: GroupBy,
    /// Minutes of one working day (the office hours' standard day), to express averages in days.
    pub day_minutes: i64,
    pub rows: Vec<SummaryRow>,
    pub total: SummaryRow,
}

/// Longest period a report may cover.
pub const MAX_PERIOD_DAYS: i64 = 366 * 10;

fn channel_label(c: Channel) -> &'static str {
    match c {
        Channel::Online => "Trực tuyến",
        Channel::Direct => "Trực tiếp",
        Channel::Postal => "Qua bưu chính",
    }
}

/// Prefix sums per (group key, channel) at each cut date.
fn prefixes_at(
    conn: &mut DbConnection,
    group: GroupColumn,
    cuts: &[NaiveDate],
) -> Result<Vec<HashMap<String, ChannelPrefix>>, ServiceError> {
    let last = cuts.iter().max().copied().unwrap_or(NaiveDate::MIN);
    let months = store::month_sums(conn, group, month_start(last))?;
    let mut out = Vec::with_capacity(cuts.len());
    for cut in cuts {
        let first = month_start(*cut);
        let mut acc: HashMap<String, ChannelPrefix> = HashMap::new();
        let mut add = |key: &str, channel: Channel, c: Counters| {
            *acc.entry(key.to_owned()).or_default().of_mut(channel) += c;
        };
        for (month, key, channel, c) in &months {
            if *month < first {
                add(key, *channel, *c);
            }
        }
        if first < *cut {
            for (_, key, channel, c) in store::day_sums(conn, group, first, *cut)? {
                add(&key, channel, c);
            }
        }
        out.push(acc);
    }
    Ok(out)
}

fn sum_prefixes(m: &HashMap<String, ChannelPrefix>) -> ChannelPrefix {
    m.values()
        .fold(ChannelPrefix::default(), |a, p| ChannelPrefix {
            online: a.online + p.online,
            direct: a.direct + p.direct,
            postal: a.postal + p.postal,
        })
}

/// The report for `[from, to]` (local dates, inclusive) grouped by `group_by`, from the counters.
/// Statistics are agency-wide: the caller needs [`Action::ReadStatistics`].
#[tracing::instrument(
    name = "stats.summary",
    skip_all,
    fields(from = %query.from, to = %query.to, group_by = query.group_by.as_str())
)]
pub fn summary(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    who: &Principal,
    query: &SummaryQuery,
) -> Result<Summary, ServiceError> {
    authorize(who, &Action::ReadStatistics, None)?;
    if query.to < query.from {
        return Err(ServiceError::invalid("to", "must not be before from"));
    }
    if (query.to - query.from).num_days() >= MAX_PERIOD_DAYS {
        return Err(ServiceError::invalid(
            "to",
            "the period is at most ten years",
        ));
    }
    let end = query
        .to
        .succ_opt()
        .ok_or_else(|| ServiceError::invalid("to", "out of range"))?;
    ensure_counters(conn, calendars)?;
    let (_, calendar) = calendars.get(conn)?;
    let day_minutes = calendar.standard_day_minutes();
    let labels = store::labels(conn)?;
    let row =
        |key: Option<String>, label: String, from: NaiveDate, before: NaiveDate, line| SummaryRow {
            key,
            label,
            from,
            to: before.pred_opt().unwrap_or(before),
            line,
            group_by: query.group_by,
        };
    let (rows, total) = match query.group_by {
        GroupBy::Month => {
            let mut cuts = vec![query.from];
            let mut m = next_month_start(query.from);
            while m < end {
                cuts.push(m);
                m = next_month_start(m);
            }
            cuts.push(end);
            let prefixes = prefixes_at(conn, GroupColumn::None, &cuts)?;
            let at = |i: usize| sum_prefixes(&prefixes[i]);
            let rows = cuts
                .windows(2)
                .enumerate()
                .map(|(i, w)| {
                    let line = ReportLine::from_prefixes(&at(i), &at(i + 1));
                    let key = w[0].format("%Y-%m").to_string();
                    let label = w[0].format("Tháng %m/%Y").to_string();
                    row(Some(key), label, w[0], w[1], line)
                })
                .collect();
            let total = ReportLine::from_prefixes(&at(0), &at(cuts.len() - 1));
            (rows, row(None, "Tổng cộng".into(), query.from, end, total))
        }
        group => {
            let prefixes = prefixes_at(conn, group.column(), &[query.from, end])?;
            let (start, stop) = (&prefixes[0], &prefixes[1]);
            let mut keys: Vec<&String> = start.keys().chain(stop.keys()).collect();
            keys.sort();
            keys.dedup();
            let mut rows = Vec::new();
            for key in keys {
                let line = ReportLine::from_prefixes(
                    &start.get(key).copied().unwrap_or_default(),
                    &stop.get(key).copied().unwrap_or_default(),
                );
                if line == ReportLine::default() {
                    continue;
                }
                let label = match group {
                    GroupBy::Unit => labels.get(&('u', key.clone())).cloned(),
                    GroupBy::Procedure => labels.get(&('p', key.clone())).cloned(),
                    GroupBy::Channel => Channel::parse(key).map(|c| channel_label(c).to_owned()),
                    _ => None,
                }
                .unwrap_or_else(|| key.clone());
                rows.push(row(Some(key.clone()), label, query.from, end, line));
            }
            let total = ReportLine::from_prefixes(&sum_prefixes(start), &sum_prefixes(stop));
            (rows, row(None, "Tổng cộng".into(), query.from, end, total))
        }
    };
    Ok(Summary {
        from: query.from,
        to: query.to,
        group_by: query.group_by,
        day_minutes,
        rows,
        total,
    })
}

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
            overrun_minutes: minutes(record.due_at, end)?,
            dossier: record,
            kind,
            steps,
        });
    }
    Ok(out)
}

/// An open dossier whose due instant is near.
#[derive(Debug, Clone)]
pub struct DueSoon {
    pub dossier: Dossier,
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
    let records = store::due_soon(conn, now.into(), horizon.into(), after, unit_code, limit)?;
    records
        .into_iter()
        .map(|dossier| {
            let left = calendar.working_minutes_between(now, dossier.due_at.utc())?;
            Ok(DueSoon {
                dossier,
                working_minutes_left: left,
            })
        })
        .collect()
}
