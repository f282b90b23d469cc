//! The official report (báo cáo tình hình giải quyết hồ sơ): its rows, columns and the dossier-list
//! filter behind each cell, computed from the counters.

use std::collections::HashMap;

use chrono::{NaiveDate, TimeDelta};

use super::counters::ensure_counters;
use crate::{
    auth::policy::{Action, Principal, authorize},
    domain::{
        Instant,
        classification::Outcome,
        dossier::{Channel, Resolution},
        stats::{
            ChannelPrefix, Counters, OpenState, ReportLine, local_midnight, month_start,
            next_month_start,
        },
    },
    service::ServiceError,
    store::{
        DbConnection,
        calendar::CalendarCache,
        dossiers::DossierFilter,
        stats::{self as store, GroupColumn},
    },
};

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
    OpenAwaitingPayment,
    Withdrawn,
    Refused,
    Declined,
    Stopped,
    PaidOnline,
    Digitized,
}

impl Column {
    pub const ALL: [Column; 20] = [
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
        Self::OpenAwaitingPayment,
        Self::Withdrawn,
        Self::Refused,
        Self::Declined,
        Self::Stopped,
        Self::PaidOnline,
        Self::Digitized,
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
            Self::OpenAwaitingPayment => "open_awaiting_payment",
            Self::Withdrawn => "withdrawn",
            Self::Refused => "refused",
            Self::Declined => "declined",
            Self::Stopped => "stopped",
            Self::PaidOnline => "paid_online",
            Self::Digitized => "digitized",
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
            Self::OpenAwaitingPayment => "Chờ nộp phí, lệ phí",
            Self::Withdrawn => "Rút hồ sơ",
            Self::Refused => "Từ chối",
            Self::Declined => "Không được tiếp nhận",
            Self::Stopped => "Dừng xử lý",
            Self::PaidOnline => "Thanh toán trực tuyến",
            Self::Digitized => "Đã số hóa",
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
            Self::OpenAwaitingPayment => l.open_awaiting_payment,
            Self::Withdrawn => l.withdrawn,
            Self::Refused => l.refused,
            Self::Declined => l.declined,
            Self::Stopped => l.stopped,
            Self::PaidOnline => l.paid_online,
            Self::Digitized => l.digitized,
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
            Column::OpenAwaitingPayment => open_at_end(&mut f, Some(OpenState::AwaitingPayment)),
            Column::Declined => {
                f.stats.declined_from = Some(start);
                f.stats.declined_to = Some(last);
            }
            Column::Stopped => {
                f.stats.stopped_from = Some(start);
                f.stats.stopped_to = Some(last);
            }
            Column::PaidOnline => {
                f.stats.paid_online_from = Some(start);
                f.stats.paid_online_to = Some(last);
            }
            // Received in the period and digitized now.
            Column::Digitized => {
                received(&mut f);
                f.stats.digitized = Some(true);
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
    agencies: Option<&[String]>,
) -> Result<Vec<HashMap<String, ChannelPrefix>>, ServiceError> {
    let last = cuts.iter().max().copied().unwrap_or(NaiveDate::MIN);
    let months = store::month_sums(conn, group, month_start(last), agencies)?;
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
            for (_, key, channel, c) in store::day_sums(conn, group, first, *cut, agencies)? {
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
/// The caller needs [`Action::ReadStatistics`]; the report counts the dossiers owned by the
/// caller's agencies (those whose lead unit belongs to one), so a province's figures are the sums of
/// its agencies' and a dossier is counted once, by the agency whose code it bears.
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
    let agencies = who.scope.codes();
    let agencies = agencies.as_deref();
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
            let prefixes = prefixes_at(conn, GroupColumn::None, &cuts, agencies)?;
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
            let prefixes = prefixes_at(conn, group.column(), &[query.from, end], agencies)?;
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
