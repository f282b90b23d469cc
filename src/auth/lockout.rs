//! Login throttling: how failed logins slow down further attempts, without ever locking an account
//! out for everyone (which would let anyone who knows a user name, or the e-portal's client id,
//! shut its owner out).
//!
//! Two records are kept per account, in the database so that every instance sees the same:
//! - one per (account, client address): after [`ThrottlePolicy::free_failures`] failures in a row
//!   that address must wait before its next attempt on that account, twice as long after each
//!   further failure, up to [`ThrottlePolicy::max_delay`];
//! - one for the account across all addresses: when the account fails very often from many
//!   addresses (a distributed guess), addresses that have not logged in to it recently are slowed
//!   down together, up to [`ThrottlePolicy::account_max_delay`]. An address that logged in to the
//!   account within [`ThrottlePolicy::trusted_for`] is not affected, so the account's owner keeps
//!   working from where they usually work.
//!
//! An attempt is counted as a failure *before* the credentials are checked and taken back when
//! they are right, so attempts sent in parallel cannot all slip under the limit.
//!
//! Pure logic: the current time is a parameter.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};

/// The numbers of the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures in a row from one address on one account before it has to wait.
    pub free_failures: u32,
    /// The first wait; it doubles after each further failure.
    pub base_delay: Duration,
    /// The longest wait for one address.
    pub max_delay: Duration,
    /// Failures across all addresses before addresses without a recent login are slowed down.
    pub account_free_failures: u32,
    pub account_base_delay: Duration,
    pub account_max_delay: Duration,
    /// A record with no failure for this long starts again from zero.
    pub window: Duration,
    /// How long after a successful login an address counts as the account's own.
    pub trusted_for: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free_failures: 5,
            base_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(15 * 60),
            account_free_failures: 50,
            account_base_delay: Duration::from_secs(1),
            account_max_delay: Duration::from_secs(60),
            window: Duration::from_secs(60 * 60),
            trusted_for: Duration::from_secs(30 * 24 * 60 * 60),
        }
    }
}

/// The state of one (account, address) pair, or of an account across all addresses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThrottleRecord {
    /// Failures in a row (within the window).
    pub failures: u32,
    pub last_failure_at: Option<NaiveDateTime>,
    /// No attempt is accepted before this instant.
    pub blocked_until: Option<NaiveDateTime>,
    /// The last successful login (pair records only).
    pub last_success_at: Option<NaiveDateTime>,
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// `base · 2^(over)`, capped at `max`.
fn doubling(base: Duration, over: u32, max: Duration) -> Duration {
    base.saturating_mul(1u32 << over.min(30)).min(max)
}

impl ThrottleRecord {
    /// How long until the next attempt is accepted, if it must wait.
    pub fn wait(&self, now: NaiveDateTime) -> Option<Duration> {
        let until = self.blocked_until?;
        (until > now).then(|| (until - now).to_std().unwrap_or_default())
    }

    /// The record after one more failure at `now`, with `free` failures allowed before waits of
    /// `base`, doubling up to `max`.
    fn failed(
        self,
        now: NaiveDateTime,
        window: Duration,
        free: u32,
        base: Duration,
        max: Duration,
    ) -> Self {
        let fresh = self
            .last_failure_at
            .is_none_or(|last| now - last >= delta(window));
        let failures = if fresh {
            1
        } else {
            self.failures.saturating_add(1)
        };
        let blocked_until = if failures >= free {
            Some(now + delta(doubling(base, failures - free, max)))
        } else {
            None
        };
        Self {
            failures,
            last_failure_at: Some(now),
            blocked_until,
            last_success_at: self.last_success_at,
        }
    }
}

/// What to do with a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Check the credentials; the records to store meanwhile count the attempt as failed.
    Proceed {
        pair: ThrottleRecord,
        account: ThrottleRecord,
    },
    /// Refuse without checking: retry after this long.
    Wait(Duration),
}

impl ThrottlePolicy {
    /// Whether the address's pair record makes it one the account's owner uses.
    fn trusted(&self, pair: &ThrottleRecord, now: NaiveDateTime) -> bool {
        pair.last_success_at
            .is_some_and(|at| now - at < delta(self.trusted_for))
    }

    /// Decides on an attempt from the address whose record is `pair`, on the account whose record
    /// is `account`.
    pub fn admit(
        &self,
        pair: ThrottleRecord,
        account: ThrottleRecord,
        now: NaiveDateTime,
    ) -> Verdict {
        let trusted = self.trusted(&pair, now);
        let wait = [pair.wait(now), account.wait(now).filter(|_| !trusted)]
            .into_iter()
            .flatten()
            .max();
        if let Some(wait) = wait {
            return Verdict::Wait(wait);
        }
        Verdict::Proceed {
            pair: pair.failed(
                now,
                self.window,
                self.free_failures,
                self.base_delay,
                self.max_delay,
            ),
            account: account.failed(
                now,
                self.window,
                self.account_free_failures,
                self.account_base_delay,
                self.account_max_delay,
            ),
        }
    }

    /// The records after the attempt admitted with `pair` and `account` (as [`Verdict::Proceed`]
    /// gave them) turned out right: the pair is cleared and remembered as trusted, and the
    /// account-wide count forgets this attempt.
    pub fn succeeded(
        &self,
        account: ThrottleRecord,
        now: NaiveDateTime,
    ) -> (ThrottleRecord, ThrottleRecord) {
        let pair = ThrottleRecord {
            last_success_at: Some(now),
            ..ThrottleRecord::default()
        };
        let failures = account.failures.saturating_sub(1);
        let account = ThrottleRecord {
            failures,
            blocked_until: account
                .blocked_until
                .filter(|_| failures >= self.account_free_failures),
            ..account
        };
        (pair, account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn t0() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, 2)
            .unwrap()
            .and_hms_opt(8, 0, 0)
            .unwrap()
    }

    fn secs(n: i64) -> TimeDelta {
        TimeDelta::seconds(n)
    }

    /// Runs `n` failed attempts at `now`, returning the records.
    fn fail(
        policy: &ThrottlePolicy,
        mut pair: ThrottleRecord,
        mut account: ThrottleRecord,
        now: NaiveDateTime,
        n: u32,
    ) -> (ThrottleRecord, ThrottleRecord) {
        for i in 0..n {
            match policy.admit(pair, account, now) {
                Verdict::Proceed {
                    pair: p,
                    account: a,
                } => (pair, account) = (p, a),
                Verdict::Wait(w) => panic!("attempt {i} had to wait {w:?}"),
            }
        }
        (pair, account)
    }

    #[test]
    fn an_address_waits_after_five_failures_and_longer_after_each_more() {
        let policy = ThrottlePolicy::default();
        let (pair, account) = fail(&policy, Default::default(), Default::default(), t0(), 5);
        assert_eq!(
            policy.admit(pair, account, t0()),
            Verdict::Wait(Duration::from_secs(30))
        );
        // After the wait, one more failure doubles it.
        let later = t0() + secs(30);
        let (pair, account) = fail(&policy, pair, account, later, 1);
        assert_eq!(
            policy.admit(pair, account, later),
            Verdict::Wait(Duration::from_secs(60))
        );
        // The wait never exceeds the cap.
        let mut record = pair;
        let mut now = later;
        for _ in 0..20 {
            now += secs(15 * 60);
            record = record.failed(now, policy.window, 5, policy.base_delay, policy.max_delay);
        }
        assert_eq!(record.wait(now), Some(policy.max_delay));
    }

    #[test]
    fn another_address_is_not_affected_and_a_quiet_hour_forgets() {
        let policy = ThrottlePolicy::default();
        let (pair, account) = fail(&policy, Default::default(), Default::default(), t0(), 5);
        assert!(matches!(
            policy.admit(ThrottleRecord::default(), account, t0()),
            Verdict::Proceed { .. }
        ));
        let hour_later = t0() + secs(3600);
        match policy.admit(pair, account, hour_later) {
            Verdict::Proceed { pair, .. } => assert_eq!(pair.failures, 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_success_clears_the_pair_and_forgets_the_attempt() {
        let policy = ThrottlePolicy::default();
        let (_, account) = fail(&policy, Default::default(), Default::default(), t0(), 4);
        let (pair, account) = policy.succeeded(account, t0());
        assert_eq!(pair.failures, 0);
        assert_eq!(pair.last_success_at, Some(t0()));
        assert_eq!(account.failures, 3);
    }

    #[test]
    fn a_wide_attack_slows_unknown_addresses_but_not_the_owner_s() {
        let policy = ThrottlePolicy::default();
        // The owner logged in from its address yesterday.
        let (owner, _) = policy.succeeded(ThrottleRecord::default(), t0() - secs(86_400));
        // Fifty addresses fail once each.
        let mut account = ThrottleRecord::default();
        for _ in 0..50 {
            (_, account) = fail(&policy, ThrottleRecord::default(), account, t0(), 1);
        }
        assert_eq!(
            policy.admit(ThrottleRecord::default(), account, t0()),
            Verdict::Wait(Duration::from_secs(1)),
            "a new address waits"
        );
        assert!(
            matches!(policy.admit(owner, account, t0()), Verdict::Proceed { .. }),
            "the owner's address does not"
        );
        // The account-wide wait is capped low: nobody is shut out for long.
        for _ in 0..40 {
            (_, account) = fail(&policy, owner, account, t0(), 1);
        }
        assert_eq!(account.wait(t0()), Some(policy.account_max_delay));
    }
}
