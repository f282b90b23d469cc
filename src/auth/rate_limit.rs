//! In-process request rate limiting and login lockout.
//!
//! Both keep their state in this process's memory: with several instances behind a load balancer,
//! each enforces its limits on the requests it sees. That is enough to blunt password guessing and
//! runaway clients; a global quota would need the database or the proxy.
//!
//! Every method takes the current [`Instant`], so tests drive a fake clock and never sleep.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How often idle entries are swept out of the maps.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// When a map is full, sweep at most this often, so a flood of new keys cannot make every call
/// scan the whole map.
const FULL_SWEEP_INTERVAL: Duration = Duration::from_secs(1);
/// Default bound on the number of tracked keys.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// A refused request: how long to wait before the next one is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds for a `Retry-After` header: rounded up, at least 1.
    pub fn as_secs_ceil(&self) -> u64 {
        let secs = self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0);
        secs.max(1)
    }
}

/// Locks a mutex, recovering the data if another thread panicked while holding it: the maps stay
/// consistent after any single operation, so poisoning carries no meaning here.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Decides whether an idle-entry sweep is due.
fn sweep_due(last_sweep: Option<Instant>, now: Instant, full: bool) -> bool {
    let Some(last) = last_sweep else {
        return true;
    };
    let since = now.saturating_duration_since(last);
    since >= SWEEP_INTERVAL || (full && since >= FULL_SWEEP_INTERVAL)
}

/// A keyed rate limiter using GCRA (the generic cell rate algorithm, equivalent to a token bucket):
/// each key may make `burst` requests at once, then one every `60 s / per_minute`.
///
/// Keys are whatever the caller limits by (client IP, client id, username). Keys whose bucket has
/// refilled are forgotten. If more than `max_keys` keys are active at once, requests from new keys
/// are let through untracked (fail open) rather than refused: this limiter protects against single
/// abusive sources, and a distributed flood must be stopped upstream.
#[derive(Debug)]
pub struct RateLimiter {
    /// Time between two requests at the sustained rate.
    emission_interval: Duration,
    /// How far ahead of `now` a key's theoretical arrival time may run: `burst` intervals.
    tolerance: Duration,
    max_keys: usize,
    state: Mutex<LimiterState>,
}

#[derive(Debug, Default)]
struct LimiterState {
    /// Theoretical arrival time of each key's next conforming request.
    tat: HashMap<String, Instant>,
    last_sweep: Option<Instant>,
}

impl RateLimiter {
    /// `per_minute` sustained requests per key, `burst` at once. Zero values are raised to 1: a
    /// limiter that refuses everything is never what configuration meant.
    pub fn new(per_minute: u32, burst: u32) -> RateLimiter {
        let emission_interval = Duration::from_secs(60) / per_minute.max(1);
        let tolerance = emission_interval
            .checked_mul(burst.max(1))
            .unwrap_or(Duration::MAX);
        RateLimiter {
            emission_interval,
            tolerance,
            max_keys: DEFAULT_MAX_KEYS,
            state: Mutex::new(LimiterState::default()),
        }
    }

    /// Changes the bound on tracked keys (default [`DEFAULT_MAX_KEYS`]).
    pub fn with_max_keys(mut self, max_keys: usize) -> RateLimiter {
        self.max_keys = max_keys.max(1);
        self
    }

    /// Counts one request for `key` at `now`: `Ok` if it is within the limit, otherwise how long
    /// until the next request would be.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), RetryAfter> {
        let mut state = lock(&self.state);
        let full = state.tat.len() >= self.max_keys;
        if sweep_due(state.last_sweep, now, full) {
            // A key whose theoretical arrival time has passed has a full bucket: same as unknown.
            state.tat.retain(|_, tat| *tat > now);
            state.last_sweep = Some(now);
        }
        let previous = state.tat.get(key).copied();
        let start = previous.map_or(now, |tat| tat.max(now));
        let next = start + self.emission_interval;
        let ahead = next.saturating_duration_since(now);
        if ahead > self.tolerance {
            return Err(RetryAfter(ahead - self.tolerance));
        }
        if previous.is_some() || state.tat.len() < self.max_keys {
            state.tat.insert(key.to_owned(), next);
        }
        Ok(())
    }

    /// Number of keys currently tracked (for metrics and tests).
    pub fn tracked_keys(&self) -> usize {
        lock(&self.state).tat.len()
    }
}

/// Locks an account out of password login after repeated failures, slowing online guessing.
///
/// `max_failures` failed attempts within `window` (counted from the first of them) lock the account
/// for `lockout`; failures during a lockout are not counted, so they do not extend it. A success
/// clears the record. Account names are compared trimmed and case-insensitively, so `Alice` and
/// `alice ` share one counter; prefix them by kind (`user:` / `client:`) if both share a lockout.
///
/// A lockout also lets anyone lock a known account out for `lockout` by failing on purpose; keep it
/// short (minutes) and combine it with a per-IP [`RateLimiter`].
#[derive(Debug)]
pub struct LoginLockout {
    max_failures: u32,
    window: Duration,
    lockout: Duration,
    max_keys: usize,
    state: Mutex<LockoutState>,
}

#[derive(Debug, Default)]
struct LockoutState {
    accounts: HashMap<String, AccountRecord>,
    last_sweep: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct AccountRecord {
    failures: u32,
    window_start: Instant,
    locked_until: Option<Instant>,
}

impl AccountRecord {
    fn is_idle(&self, now: Instant, window: Duration) -> bool {
        let locked = self.locked_until.is_some_and(|until| until > now);
        !locked && now.saturating_duration_since(self.window_start) >= window
    }
}

fn account_key(account: &str) -> String {
    account.trim().to_lowercase()
}

impl LoginLockout {
    /// `max_failures` below 1 is raised to 1.
    pub fn new(max_failures: u32, window: Duration, lockout: Duration) -> LoginLockout {
        LoginLockout {
            max_failures: max_failures.max(1),
            window,
            lockout,
            max_keys: DEFAULT_MAX_KEYS,
            state: Mutex::new(LockoutState::default()),
        }
    }

    /// Changes the bound on tracked accounts (default [`DEFAULT_MAX_KEYS`]); beyond it, failures
    /// of new accounts are not recorded.
    pub fn with_max_keys(mut self, max_keys: usize) -> LoginLockout {
        self.max_keys = max_keys.max(1);
        self
    }

    /// How much longer `account` is locked out, or `None` if it may try to log in. Check it before
    /// verifying the password, and answer a locked account exactly as a wrong password would be
    /// answered (or with 429 and `Retry-After`), never revealing whether the password was right.
    pub fn is_locked(&self, account: &str, now: Instant) -> Option<Duration> {
        let state = lock(&self.state);
        let until = state.accounts.get(&account_key(account))?.locked_until?;
        (until > now).then(|| until - now)
    }

    /// Records a failed login attempt for `account` at `now`.
    pub fn record_failure(&self, account: &str, now: Instant) {
        let mut state = lock(&self.state);
        let full = state.accounts.len() >= self.max_keys;
        if sweep_due(state.last_sweep, now, full) {
            let window = self.window;
            state
                .accounts
                .retain(|_, record| !record.is_idle(now, window));
            state.last_sweep = Some(now);
        }
        let key = account_key(account);
        if !state.accounts.contains_key(&key) && state.accounts.len() >= self.max_keys {
            return;
        }
        let record = state.accounts.entry(key).or_insert(AccountRecord {
            failures: 0,
            window_start: now,
            locked_until: None,
        });
        if let Some(until) = record.locked_until {
            if until > now {
                return;
            }
            // The lockout has ended: start afresh.
            *record = AccountRecord {
                failures: 0,
                window_start: now,
                locked_until: None,
            };
        }
        if now.saturating_duration_since(record.window_start) >= self.window {
            record.failures = 0;
            record.window_start = now;
        }
        record.failures += 1;
        if record.failures >= self.max_failures {
            record.locked_until = Some(now + self.lockout);
            record.failures = 0;
        }
    }

    /// Forgets the failures of `account` after a successful login.
    pub fn record_success(&self, account: &str) {
        lock(&self.state).accounts.remove(&account_key(account));
    }

    /// Number of accounts currently tracked (for metrics and tests).
    pub fn tracked_accounts(&self) -> usize {
        lock(&self.state).accounts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn limiter_and_lockout_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RateLimiter>();
        assert_send_sync::<LoginLockout>();
    }

    #[test]
    fn burst_is_allowed_then_requests_wait_for_the_interval() {
        // 60 per minute: one per second, 3 at once.
        let limiter = RateLimiter::new(60, 3);
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(limiter.check("10.0.0.1", t0), Ok(()), "request {i}");
        }
        assert_eq!(limiter.check("10.0.0.1", t0), Err(RetryAfter(secs(1))));
        // Half-way through the interval it still waits the other half.
        assert_eq!(
            limiter.check("10.0.0.1", t0 + Duration::from_millis(500)),
            Err(RetryAfter(Duration::from_millis(500)))
        );
        assert_eq!(limiter.check("10.0.0.1", t0 + secs(1)), Ok(()));
        assert!(limiter.check("10.0.0.1", t0 + secs(1)).is_err());
        // After a quiet spell the whole burst is available again, and no more.
        let later = t0 + secs(10);
        for _ in 0..3 {
            assert_eq!(limiter.check("10.0.0.1", later), Ok(()));
        }
        assert!(limiter.check("10.0.0.1", later).is_err());
    }

    #[test]
    fn keys_are_limited_independently() {
        let limiter = RateLimiter::new(6, 1);
        let t0 = Instant::now();
        assert_eq!(limiter.check("a", t0), Ok(()));
        assert_eq!(limiter.check("a", t0), Err(RetryAfter(secs(10))));
        assert_eq!(limiter.check("b", t0), Ok(()));
        assert_eq!(limiter.tracked_keys(), 2);
    }

    #[test]
    fn sustained_rate_at_the_limit_is_always_allowed() {
        let limiter = RateLimiter::new(120, 1);
        let t0 = Instant::now();
        for i in 0..1_000 {
            let now = t0 + Duration::from_millis(500 * i);
            assert_eq!(limiter.check("steady", now), Ok(()), "request {i}");
        }
        let t1 = t0 + Duration::from_millis(500 * 999);
        assert_eq!(
            limiter.check("steady", t1 + Duration::from_millis(499)),
            Err(RetryAfter(Duration::from_millis(1)))
        );
    }

    #[test]
    fn retry_after_header_value_rounds_up() {
        assert_eq!(RetryAfter(Duration::from_millis(1)).as_secs_ceil(), 1);
        assert_eq!(RetryAfter(Duration::ZERO).as_secs_ceil(), 1);
        assert_eq!(RetryAfter(secs(2)).as_secs_ceil(), 2);
        assert_eq!(RetryAfter(Duration::from_millis(2_001)).as_secs_ceil(), 3);
    }

    #[test]
    fn zero_settings_are_raised_to_one() {
        let limiter = RateLimiter::new(0, 0);
        let t0 = Instant::now();
        assert_eq!(limiter.check("k", t0), Ok(()));
        assert_eq!(limiter.check("k", t0), Err(RetryAfter(secs(60))));
    }

    #[test]
    fn idle_keys_are_evicted() {
        let limiter = RateLimiter::new(60, 2);
        let t0 = Instant::now();
        for key in ["a", "b", "c"] {
            assert_eq!(limiter.check(key, t0), Ok(()));
        }
        assert_eq!(limiter.tracked_keys(), 3);
        // Not yet due for a sweep: still tracked although refilled.
        assert_eq!(limiter.check("a", t0 + secs(30)), Ok(()));
        assert_eq!(limiter.tracked_keys(), 3);
        // A minute later the sweep drops every refilled key; "d" is the only one left.
        assert_eq!(limiter.check("d", t0 + secs(61)), Ok(()));
        assert_eq!(limiter.tracked_keys(), 1);
    }

    #[test]
    fn full_limiter_lets_new_keys_through_untracked() {
        let limiter = RateLimiter::new(60, 1).with_max_keys(2);
        let t0 = Instant::now();
        assert_eq!(limiter.check("a", t0), Ok(()));
        assert_eq!(limiter.check("b", t0), Ok(()));
        assert_eq!(limiter.check("c", t0), Ok(()));
        assert_eq!(limiter.check("c", t0), Ok(()), "untracked, so not limited");
        assert_eq!(limiter.tracked_keys(), 2);
        // Known keys are still limited.
        assert!(limiter.check("a", t0).is_err());
    }

    #[test]
    fn clock_going_backwards_does_not_panic_or_reset() {
        let limiter = RateLimiter::new(60, 1);
        let t0 = Instant::now() + secs(100);
        assert_eq!(limiter.check("k", t0), Ok(()));
        assert!(limiter.check("k", t0 - secs(50)).is_err());
    }

    fn lockout() -> LoginLockout {
        // 3 failures within 5 minutes lock the account for 15 minutes.
        LoginLockout::new(3, secs(300), secs(900))
    }

    #[test]
    fn account_locks_after_max_failures_and_unlocks_after_the_lockout() {
        let lockout = lockout();
        let t0 = Instant::now();
        lockout.record_failure("alice", t0);
        lockout.record_failure("alice", t0 + secs(10));
        assert_eq!(lockout.is_locked("alice", t0 + secs(10)), None);
        lockout.record_failure("alice", t0 + secs(20));
        assert_eq!(lockout.is_locked("alice", t0 + secs(20)), Some(secs(900)));
        assert_eq!(lockout.is_locked("alice", t0 + secs(920)), None);
        // Other accounts are unaffected.
        assert_eq!(lockout.is_locked("bob", t0 + secs(20)), None);
        // After the lockout the count starts again from zero.
        lockout.record_failure("alice", t0 + secs(930));
        lockout.record_failure("alice", t0 + secs(931));
        assert_eq!(lockout.is_locked("alice", t0 + secs(931)), None);
        lockout.record_failure("alice", t0 + secs(932));
        assert_eq!(lockout.is_locked("alice", t0 + secs(932)), Some(secs(900)));
    }

    #[test]
    fn failures_during_a_lockout_do_not_extend_it() {
        let lockout = lockout();
        let t0 = Instant::now();
        for _ in 0..3 {
            lockout.record_failure("alice", t0);
        }
        for i in 1..10 {
            lockout.record_failure("alice", t0 + secs(i * 60));
        }
        assert_eq!(lockout.is_locked("alice", t0 + secs(600)), Some(secs(300)));
        assert_eq!(lockout.is_locked("alice", t0 + secs(900)), None);
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let lockout = lockout();
        let t0 = Instant::now();
        lockout.record_failure("alice", t0);
        lockout.record_failure("alice", t0 + secs(200));
        // The window started at t0 and ended at t0 + 300 s: this starts a new count of one.
        lockout.record_failure("alice", t0 + secs(301));
        assert_eq!(lockout.is_locked("alice", t0 + secs(301)), None);
        lockout.record_failure("alice", t0 + secs(302));
        assert_eq!(lockout.is_locked("alice", t0 + secs(302)), None);
        lockout.record_failure("alice", t0 + secs(303));
        assert_eq!(lockout.is_locked("alice", t0 + secs(303)), Some(secs(900)));
    }

    #[test]
    fn success_clears_the_failures() {
        let lockout = lockout();
        let t0 = Instant::now();
        lockout.record_failure("alice", t0);
        lockout.record_failure("alice", t0);
        lockout.record_success("alice");
        lockout.record_failure("alice", t0);
        lockout.record_failure("alice", t0);
        assert_eq!(lockout.is_locked("alice", t0), None);
        assert_eq!(lockout.tracked_accounts(), 1);
    }

    #[test]
    fn account_names_are_compared_trimmed_and_case_insensitively() {
        let lockout = lockout();
        let t0 = Instant::now();
        lockout.record_failure("Alice", t0);
        lockout.record_failure(" alice", t0);
        lockout.record_failure("ALICE ", t0);
        assert_eq!(lockout.is_locked("alice", t0), Some(secs(900)));
        lockout.record_success("ALICE");
        assert_eq!(lockout.tracked_accounts(), 0);
    }

    #[test]
    fn idle_accounts_are_evicted_but_locked_ones_kept() {
        let lockout = lockout();
        let t0 = Instant::now();
        lockout.record_failure("once", t0);
        for _ in 0..3 {
            lockout.record_failure("locked", t0);
        }
        assert_eq!(lockout.tracked_accounts(), 2);
        // At t0 + 400 s "once" is past its window; "locked" is locked until t0 + 900 s.
        lockout.record_failure("new", t0 + secs(400));
        assert_eq!(lockout.tracked_accounts(), 2);
        assert!(lockout.is_locked("locked", t0 + secs(400)).is_some());
    }

    #[test]
    fn full_lockout_table_stops_tracking_new_accounts() {
        let lockout = LoginLockout::new(1, secs(300), secs(900)).with_max_keys(1);
        let t0 = Instant::now();
        lockout.record_failure("first", t0);
        lockout.record_failure("second", t0);
        assert!(lockout.is_locked("first", t0).is_some());
        assert_eq!(lockout.is_locked("second", t0), None);
        assert_eq!(lockout.tracked_accounts(), 1);
    }
}
