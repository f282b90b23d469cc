//! The statistics of the official report (báo cáo tình hình giải quyết hồ sơ), as pure rules.
//!
//! Every column of the report is a number of dossiers in a state at an instant (a *stock*: open,
//! awaiting a supplement, overdue) or a number of events in a period (a *flow*: received, resolved,
//! withdrawn). Periods run from local (UTC+7) midnight to local midnight, so both kinds are
//! differences of *prefix sums over local days*: with `P(D)` the sum of per-day deltas of all days
//! before `D`,
//!
//! - a flow over the local dates `[from, to]` is `P(to + 1) − P(from)`;
//! - a stock at the local midnight that starts `D` is `P(D)` itself.
//!
//! [`contributions`] gives, for one dossier as it is now, the per-day deltas it adds to those
//! prefix sums. The storage keeps `Σ contributions` per day and per month (`stats_counters`), and
//! each change of a dossier adds `contributions(after) − contributions(before)` in the same
//! transaction, so the report never scans dossiers and stays exactly equal to what the dossier list
//! returns for the same question.
//!
//! The rules (each one is what the matching dossier-list filter selects):
//! - **open at T**: received before T, and neither resolved nor withdrawn before T;
//! - **awaiting a supplement at T**: open, with a request for supplement started before T and not
//!   ended before T;
//! - **overdue at T**: open, not awaiting a supplement, and the statutory due instant (after pauses,
//!   as stored) is before T; **not yet due** otherwise.
//!
//! The stored due instant is the right one for any past T: a pause counts (moves the due instant)
//! only if it starts before the due instant, so a dossier that was overdue at T keeps that due
//! instant for ever, and one that was not overdue at T only ever gets a later one.

use std::ops::{Add, AddAssign, Neg, Sub};

use chrono::{Datelike, NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};

use crate::domain::{
    Instant,
    calendar::LOCAL_OFFSET_SECONDS,
    classification::Outcome,
    deadline::PauseKind,
    dossier::{Channel, Resolution},
};

/// The local (UTC+7) date of an instant.
pub fn local_date(instant: Instant) -> NaiveDate {
    (instant.utc() + TimeDelta::seconds(i64::from(LOCAL_OFFSET_SECONDS))).date_naive()
}

/// The instant of local midnight starting `date`.
pub fn local_midnight(date: NaiveDate) -> Instant {
    let naive = date.and_hms_opt(0, 0, 0).expect("midnight exists")
        - TimeDelta::seconds(i64::from(LOCAL_OFFSET_SECONDS));
    naive.and_utc().into()
}

/// The first day of `date`'s month.
pub fn month_start(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("day 1 exists")
}

/// The first day of the month after `date`'s.
pub fn next_month_start(date: NaiveDate) -> NaiveDate {
    let first = month_start(date);
    if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1).expect("valid date")
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1).expect("valid date")
    }
}

/// How an open dossier stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpenState {
    /// Not awaiting a supplement and its due instant not passed.
    NotYetDue,
    /// Not awaiting a supplement and past its due instant.
    Overdue,
    /// The clock is stopped for a request for supplement.
    AwaitingSupplement,
    /// The clock is stopped until the applicant pays.
    AwaitingPayment,
}

wire_names!(OpenState {
    NotYetDue => "not_yet_due",
    Overdue => "overdue",
    AwaitingSupplement => "awaiting_supplement",
    AwaitingPayment => "awaiting_payment",
});

/// Per-day deltas of the report's prefix sums (see the module documentation). Flows are counted on
/// the local day of their event; `awaiting` and `overdue` are +1 on the day a dossier enters the
/// state and −1 on the day it leaves it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Counters {
    pub received: i64,
    pub resolved_early: i64,
    pub resolved_on_time: i64,
    pub resolved_late: i64,
    pub refused: i64,
    pub withdrawn: i64,
    /// Resolved dossiers that carry their working time used and statutory limit.
    pub timed: i64,
    /// Working minutes used by those dossiers, paused time excluded.
    pub used_minutes: i64,
    /// Their statutory limits in working minutes.
    pub limit_minutes: i64,
    pub awaiting: i64,
    pub overdue: i64,
    /// Declined at the intake check (never received).
    pub declined: i64,
    /// Processing stopped (dừng xử lý).
    pub stopped: i64,
    /// A stock like `awaiting`: the clock stopped for a payment.
    pub awaiting_payment: i64,
    /// Dossiers whose first online payment falls on the day.
    pub paid_online: i64,
    /// Dossiers received on the day that are digitized (số hóa) as they stand now.
    pub digitized: i64,
}

/// How many counters [`Counters`] holds (the value columns of `stats_counters`).
pub const COUNTER_COLUMNS: usize = 16;

macro_rules! each_counter {
    ($mac:ident) => {
        $mac! {
            received,
            resolved_early,
            resolved_on_time,
            resolved_late,
            refused,
            withdrawn,
            timed,
            used_minutes,
            limit_minutes,
            awaiting,
            overdue,
            declined,
            stopped,
            awaiting_payment,
            paid_online,
            digitized
        }
    };
}

macro_rules! impl_ops {
    ($($f:ident),*) => {
        impl Add for Counters {
            type Output = Counters;
            fn add(self, o: Counters) -> Counters { Counters { $($f: self.$f + o.$f),* } }
        }
        impl Sub for Counters {
            type Output = Counters;
            fn sub(self, o: Counters) -> Counters { Counters { $($f: self.$f - o.$f),* } }
        }
        impl Neg for Counters {
            type Output = Counters;
            fn neg(self) -> Counters { Counters { $($f: -self.$f),* } }
        }
        impl Counters {
            /// The column names of `stats_counters`, in [`Counters::to_array`] order.
            pub const COLUMNS: [&'static str; COUNTER_COLUMNS] = [$(stringify!($f)),*];

            /// The counters in storage order (the columns of `stats_counters`).
            pub fn to_array(&self) -> [i64; COUNTER_COLUMNS] { [$(self.$f),*] }
            pub fn from_array(a: [i64; COUNTER_COLUMNS]) -> Self {
                let [$($f),*] = a;
                Counters { $($f),* }
            }
        }
    };
}
each_counter!(impl_ops);

impl AddAssign for Counters {
    fn add_assign(&mut self, o: Counters) {
        *self = *self + o;
    }
}

impl Counters {
    /// All zero but what `set` sets.
    fn with(set: impl FnOnce(&mut Counters)) -> Counters {
        let mut c = Counters::default();
        set(&mut c);
        c
    }

    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }

    pub fn resolved(&self) -> i64 {
        self.resolved_early + self.resolved_on_time + self.resolved_late
    }

    /// As a prefix sum at a midnight: dossiers open then.
    pub fn open(&self) -> i64 {
        self.received - self.resolved() - self.withdrawn - self.stopped
    }
}

/// What [`contributions`] needs to know about a dossier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierFacts {
    /// Both none while submitted for the intake check, and for ever once declined there.
    pub received_at: Option<Instant>,
    pub due_at: Option<Instant>,
    pub resolved_at: Option<Instant>,
    pub withdrawn_at: Option<Instant>,
    pub declined_at: Option<Instant>,
    pub stopped_at: Option<Instant>,
    /// When its first online payment was made.
    pub first_online_payment_at: Option<Instant>,
    /// Digitized as it stands now (counted on its receipt day).
    pub digitized: bool,
    /// Set once resolved.
    pub outcome: Option<Outcome>,
    /// Set once resolved.
    pub result: Option<Resolution>,
    pub working_minutes_used: Option<i64>,
    pub limit_minutes: Option<i64>,
    /// Stops of the clock: start, end (`None` while open) and why.
    pub pauses: Vec<(Instant, Option<Instant>, PauseKind)>,
}

/// The per-local-day deltas one dossier adds to the report's prefix sums, merged by day and without
/// zero entries, in day order.
pub fn contributions(d: &DossierFacts) -> Vec<(NaiveDate, Counters)> {
    let mut out: Vec<(NaiveDate, Counters)> = Vec::with_capacity(8);
    let mut add = |at: Instant, c: Counters| out.push((local_date(at), c));

    // Not received (submitted, or declined at the intake check): counted only when declined.
    let (Some(received_at), Some(due_at)) = (d.received_at, d.due_at) else {
        if let Some(at) = d.declined_at {
            add(at, Counters::with(|c| c.declined = 1));
        }
        return merged_by_day(out);
    };
    add(
        received_at,
        Counters::with(|c| {
            c.received = 1;
            c.digitized = i64::from(d.digitized);
        }),
    );
    let closed_at = [d.resolved_at, d.withdrawn_at, d.stopped_at]
        .into_iter()
        .flatten()
        .min();
    if let Some(at) = d.resolved_at {
        let mut c = Counters::default();
        match d.outcome {
            Some(Outcome::Early) => c.resolved_early = 1,
            Some(Outcome::Late) => c.resolved_late = 1,
            // A resolved dossier always has an outcome (the store refuses a row that says
            // otherwise); without one it counts as on time rather than vanishing from the totals.
            Some(Outcome::OnTime) | None => c.resolved_on_time = 1,
        }
        if d.result == Some(Resolution::Refused) {
            c.refused = 1;
        }
        if let (Some(used), Some(limit)) = (d.working_minutes_used, d.limit_minutes) {
            c.timed = 1;
            c.used_minutes = used;
            c.limit_minutes = limit;
        }
        add(at, c);
    }
    if let Some(at) = d.withdrawn_at
        && d.resolved_at.is_none()
    {
        add(at, Counters::with(|c| c.withdrawn = 1));
    }
    if let Some(at) = d.stopped_at
        && d.resolved_at.is_none()
    {
        add(at, Counters::with(|c| c.stopped = 1));
    }
    if let Some(at) = d.first_online_payment_at {
        add(at, Counters::with(|c| c.paid_online = 1));
    }

    // Awaiting a supplement (or a payment) at T: start < T and not (end < T).
    let mut pauses: Vec<(Instant, Option<Instant>)> = Vec::with_capacity(d.pauses.len());
    for (start, end, kind) in &d.pauses {
        let waiting = |c: &mut Counters, delta: i64| match kind {
            PauseKind::Supplement => c.awaiting += delta,
            PauseKind::Payment => c.awaiting_payment += delta,
        };
        add(*start, Counters::with(|c| waiting(c, 1)));
        if let Some(end) = end {
            add(*end, Counters::with(|c| waiting(c, -1)));
        }
        pauses.push((*start, *end));
    }
    pauses.sort();

    // Overdue at T: T in (max(received, due), closed] minus every (pause start, pause end].
    // Each such interval (x, y] is +1 at x and −1 at y.
    let mut lo = received_at.max(due_at);
    let hi = closed_at;
    let before_hi = |t: Instant| hi.is_none_or(|h| t < h);
    let mut interval = |x: Instant, y: Option<Instant>| {
        if y.is_none_or(|y| x < y) {
            add(x, Counters::with(|c| c.overdue = 1));
            if let Some(y) = y {
                add(y, Counters::with(|c| c.overdue = -1));
            }
        }
    };
    let mut finished = false;
    for (start, end) in &pauses {
        if !before_hi(lo) {
            finished = true;
            break;
        }
        if *start > lo {
            let y = match hi {
                Some(h) => Some((*start).min(h)),
                None => Some(*start),
            };
            interval(lo, y);
        }
        match end {
            Some(end) => lo = lo.max(*end),
            None => {
                finished = true;
                break;
            }
        }
    }
    if !finished && before_hi(lo) {
        interval(lo, hi);
    }

    merged_by_day(out)
}

/// The deltas summed by day, without zero entries, in day order.
fn merged_by_day(mut deltas: Vec<(NaiveDate, Counters)>) -> Vec<(NaiveDate, Counters)> {
    deltas.sort_by_key(|(day, _)| *day);
    let mut merged: Vec<(NaiveDate, Counters)> = Vec::with_capacity(deltas.len());
    for (day, c) in deltas {
        match merged.last_mut() {
            Some((last, acc)) if *last == day => *acc += c,
            _ => merged.push((day, c)),
        }
    }
    merged.retain(|(_, c)| !c.is_zero());
    merged
}

/// `after − before` by day, without zero entries.
pub fn difference(
    before: &[(NaiveDate, Counters)],
    after: &[(NaiveDate, Counters)],
) -> Vec<(NaiveDate, Counters)> {
    merged_by_day(
        after
            .iter()
            .copied()
            .chain(before.iter().map(|(d, c)| (*d, -*c)))
            .collect(),
    )
}

/// One line of the report: what happened in `[start, end)` (local midnights), from the prefix sums
/// at both ends.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ReportLine {
    pub carried_over: i64,
    pub received: i64,
    pub received_online: i64,
    pub received_direct: i64,
    pub received_postal: i64,
    pub resolved: i64,
    pub resolved_early: i64,
    pub resolved_on_time: i64,
    pub resolved_late: i64,
    pub open_at_end: i64,
    pub open_not_yet_due: i64,
    pub open_overdue: i64,
    pub open_awaiting_supplement: i64,
    pub open_awaiting_payment: i64,
    pub withdrawn: i64,
    pub refused: i64,
    pub declined: i64,
    pub stopped: i64,
    pub paid_online: i64,
    /// Received in the period and digitized.
    pub digitized: i64,
    pub timed: i64,
    pub used_minutes: i64,
    pub limit_minutes: i64,
}

/// Prefix sums of one group at the start and the end of a period, split by channel (the received
/// columns need the split; every other column uses the sum over channels).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ChannelPrefix {
    pub online: Counters,
    pub direct: Counters,
    pub postal: Counters,
}

impl ChannelPrefix {
    pub fn of_mut(&mut self, channel: Channel) -> &mut Counters {
        match channel {
            Channel::Online => &mut self.online,
            Channel::Direct => &mut self.direct,
            Channel::Postal => &mut self.postal,
        }
    }

    pub fn total(&self) -> Counters {
        self.online + self.direct + self.postal
    }
}

impl ReportLine {
    pub fn from_prefixes(start: &ChannelPrefix, end: &ChannelPrefix) -> Self {
        let s = start.total();
        let e = end.total();
        let flow = e - s;
        let open_at_end = e.open();
        ReportLine {
            carried_over: s.open(),
            received: flow.received,
            received_online: end.online.received - start.online.received,
            received_direct: end.direct.received - start.direct.received,
            received_postal: end.postal.received - start.postal.received,
            resolved: flow.resolved(),
            resolved_early: flow.resolved_early,
            resolved_on_time: flow.resolved_on_time,
            resolved_late: flow.resolved_late,
            open_at_end,
            open_not_yet_due: open_at_end - e.awaiting - e.awaiting_payment - e.overdue,
            open_overdue: e.overdue,
            open_awaiting_supplement: e.awaiting,
            open_awaiting_payment: e.awaiting_payment,
            withdrawn: flow.withdrawn,
            refused: flow.refused,
            declined: flow.declined,
            stopped: flow.stopped,
            paid_online: flow.paid_online,
            digitized: flow.digitized,
            timed: flow.timed,
            used_minutes: flow.used_minutes,
            limit_minutes: flow.limit_minutes,
        }
    }

    /// (early + on time) / resolved, `None` when nothing was resolved.
    pub fn on_time_or_early_share(&self) -> Option<f64> {
        (self.resolved > 0)
            .then(|| (self.resolved_early + self.resolved_on_time) as f64 / self.resolved as f64)
    }

    /// Average working days used by the timed resolved dossiers.
    pub fn avg_working_days_used(&self, day_minutes: i64) -> Option<f64> {
        (self.timed > 0 && day_minutes > 0)
            .then(|| self.used_minutes as f64 / self.timed as f64 / day_minutes as f64)
    }

    /// Their average statutory limit in working days.
    pub fn avg_statutory_days(&self, day_minutes: i64) -> Option<f64> {
        (self.timed > 0 && day_minutes > 0)
            .then(|| self.limit_minutes as f64 / self.timed as f64 / day_minutes as f64)
    }

    /// 1 − used / statutory: the share of the statutory time saved (negative when over).
    pub fn time_saved_share(&self) -> Option<f64> {
        (self.limit_minutes > 0).then(|| 1.0 - self.used_minutes as f64 / self.limit_minutes as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(day: u32, hour: u32) -> Instant {
        // Local (UTC+7) 2025-03-`day` `hour`:00.
        let naive = NaiveDate::from_ymd_opt(2025, 3, day)
            .unwrap()
            .and_hms_opt(hour, 0, 0)
            .unwrap()
            - TimeDelta::hours(7);
        Instant::from_naive_utc(naive)
    }

    fn prefix(c: &[(NaiveDate, Counters)], before: NaiveDate) -> Counters {
        c.iter()
            .filter(|(d, _)| *d < before)
            .fold(Counters::default(), |a, (_, c)| a + *c)
    }

    /// Asserts one column of the prefix sum at the local midnight starting each listed March day.
    fn assert_prefixes(
        c: &[(NaiveDate, Counters)],
        column: &str,
        read: fn(&Counters) -> i64,
        expected: &[(u32, i64)],
    ) {
        for &(d, want) in expected {
            assert_eq!(read(&prefix(c, day(d))), want, "{column} at March {d}");
        }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, d).unwrap()
    }

    fn facts() -> DossierFacts {
        DossierFacts {
            received_at: Some(t(3, 9)),
            due_at: Some(t(10, 9)),
            resolved_at: None,
            withdrawn_at: None,
            declined_at: None,
            stopped_at: None,
            first_online_payment_at: None,
            digitized: false,
            outcome: None,
            result: None,
            working_minutes_used: None,
            limit_minutes: None,
            pauses: vec![],
        }
    }

    #[test]
    fn local_days_and_midnights() {
        assert_eq!(local_date(t(3, 0)), day(3));
        assert_eq!(local_date(t(3, 23)), day(3));
        assert_eq!(local_midnight(day(3)), t(3, 0));
        assert_eq!(
            next_month_start(day(31)),
            NaiveDate::from_ymd_opt(2025, 4, 1).unwrap()
        );
        assert_eq!(
            next_month_start(NaiveDate::from_ymd_opt(2025, 12, 5).unwrap()),
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
        );
    }

    #[test]
    fn open_dossier_becomes_overdue_after_its_due_day() {
        let c = contributions(&facts());
        assert_prefixes(&c, "open", Counters::open, &[(3, 0), (4, 1)]);
        assert_prefixes(&c, "overdue", |p| p.overdue, &[(10, 0), (11, 1), (30, 1)]);
    }

    #[test]
    fn pause_across_the_due_day_and_late_resolution() {
        let mut f = facts();
        f.pauses = vec![(t(7, 9), Some(t(12, 9)), PauseKind::Supplement)];
        f.due_at = Some(t(13, 9));
        f.resolved_at = Some(t(17, 9));
        f.outcome = Some(Outcome::Late);
        f.result = Some(Resolution::Refused);
        f.working_minutes_used = Some(3000);
        f.limit_minutes = Some(2400);
        let c = contributions(&f);
        assert_prefixes(&c, "awaiting", |p| p.awaiting, &[(8, 1), (12, 1), (13, 0)]);
        assert_prefixes(&c, "overdue", |p| p.overdue, &[(13, 0), (14, 1), (17, 1)]);
        let end = prefix(&c, day(18));
        assert_eq!(end.overdue, 0);
        assert_eq!(end.open(), 0);
        assert_eq!((end.resolved_late, end.refused, end.timed), (1, 1, 1));
        assert_eq!(end.used_minutes - end.limit_minutes, 600);
    }

    #[test]
    fn pause_after_the_due_instant_suspends_overdue() {
        let mut f = facts();
        f.pauses = vec![
            (t(12, 9), Some(t(14, 9)), PauseKind::Supplement),
            (t(18, 9), None, PauseKind::Supplement),
        ];
        let c = contributions(&f);
        assert_prefixes(
            &c,
            "overdue",
            |p| p.overdue,
            &[(12, 1), (13, 0), (15, 1), (19, 0)],
        );
        assert_prefixes(&c, "awaiting", |p| p.awaiting, &[(19, 1)]);
    }

    #[test]
    fn withdrawal_closes_everything() {
        let mut f = facts();
        f.pauses = vec![(t(4, 9), Some(t(5, 9)), PauseKind::Supplement)];
        f.withdrawn_at = Some(t(5, 9));
        let c = contributions(&f);
        let end = prefix(&c, day(6));
        assert_eq!(
            (end.open(), end.awaiting, end.withdrawn, end.overdue),
            (0, 0, 1, 0)
        );
    }

    #[test]
    fn a_declined_dossier_is_counted_only_as_declined() {
        let mut f = facts();
        f.received_at = None;
        f.due_at = None;
        f.declined_at = Some(t(4, 9));
        let c = contributions(&f);
        let end = prefix(&c, day(30));
        assert_eq!(
            (end.declined, end.received, end.open(), end.overdue),
            (1, 0, 0, 0)
        );
        // Still waiting for the intake check: nothing at all.
        f.declined_at = None;
        assert!(contributions(&f).is_empty());
    }

    #[test]
    fn a_wait_for_payment_is_its_own_stock_and_stopping_closes_the_dossier() {
        let mut f = facts();
        f.pauses = vec![(t(5, 9), Some(t(7, 9)), PauseKind::Payment)];
        f.first_online_payment_at = Some(t(7, 9));
        f.stopped_at = Some(t(20, 9));
        let c = contributions(&f);
        assert_prefixes(
            &c,
            "awaiting_payment",
            |p| p.awaiting_payment,
            &[(5, 0), (6, 1), (7, 1), (8, 0)],
        );
        assert_prefixes(&c, "awaiting", |p| p.awaiting, &[(6, 0)]);
        assert_prefixes(&c, "paid_online", |p| p.paid_online, &[(7, 0), (8, 1)]);
        // Due on the 10th (the stored due instant, after the pause): overdue until stopped.
        assert_prefixes(
            &c,
            "overdue",
            |p| p.overdue,
            &[(10, 0), (11, 1), (20, 1), (21, 0)],
        );
        let end = prefix(&c, day(21));
        assert_eq!((end.open(), end.stopped), (0, 1));
    }

    #[test]
    fn difference_of_contributions() {
        let before = contributions(&facts());
        let mut f = facts();
        f.resolved_at = Some(t(5, 9));
        f.outcome = Some(Outcome::Early);
        let after = contributions(&f);
        let delta = difference(&before, &after);
        let total =
            |c: &[(NaiveDate, Counters)]| c.iter().fold(Counters::default(), |a, (_, c)| a + *c);
        assert_eq!(total(&before) + total(&delta), total(&after));
        assert!(delta.iter().all(|(_, c)| !c.is_zero()));
    }

    #[test]
    fn report_line_from_prefixes() {
        let start = ChannelPrefix {
            online: Counters {
                received: 5,
                resolved_on_time: 2,
                ..Default::default()
            },
            ..Default::default()
        };
        let end = ChannelPrefix {
            online: Counters {
                received: 7,
                resolved_on_time: 3,
                resolved_late: 1,
                overdue: 1,
                ..Default::default()
            },
            direct: Counters {
                received: 2,
                awaiting: 1,
                ..Default::default()
            },
            ..Default::default()
        };
        let line = ReportLine::from_prefixes(&start, &end);
        assert_eq!(line.carried_over, 3);
        assert_eq!(
            (line.received, line.received_online, line.received_direct),
            (4, 2, 2)
        );
        assert_eq!((line.resolved, line.resolved_late), (2, 1));
        assert_eq!(line.open_at_end, 5);
        assert_eq!(
            (
                line.open_overdue,
                line.open_awaiting_supplement,
                line.open_not_yet_due
            ),
            (1, 1, 3)
        );
        assert_eq!(line.on_time_or_early_share(), Some(0.5));
    }
}
