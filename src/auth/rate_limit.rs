//! In-process request rate limiting.
//!
//! The state is in this process's memory: with several instances behind a load balancer, each
//! enforces its limits on the requests it sees. These limits protect an instance's own resources
//! (password hashing, database connections) from runaway or abusive clients; guessing passwords is
//! slowed down by the login throttle, whose state is in the database (`auth::lockout`).
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

#[cfg(test)]
mod tests {
    use super::*;

    const fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// Checks `key` twice at `now`: the first request passes, the second waits `wait`.
    fn assert_one_then_wait(limiter: &RateLimiter, key: &str, now: Instant, wait: Duration) {
        assert_eq!(limiter.check(key, now), Ok(()), "first request of {key}");
        assert_eq!(
            limiter.check(key, now),
            Err(RetryAfter(wait)),
            "second request of {key}"
        );
    }

    #[test]
    fn limiter_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RateLimiter>();
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
        assert_one_then_wait(&limiter, "a", t0, secs(10));
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
        assert_one_then_wait(&limiter, "k", Instant::now(), secs(60));
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
}
