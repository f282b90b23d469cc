//! Instants as the system keeps them: UTC, to the microsecond (PostgreSQL's precision, and what
//! both backends store), so that a value read back equals the value written.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC instant truncated to whole microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(NaiveDateTime);

impl Instant {
    pub fn now() -> Self {
        Utc::now().into()
    }

    pub fn utc(self) -> DateTime<Utc> {
        self.0.and_utc()
    }

    /// From the storage representation (naive UTC); for the store only.
    pub fn from_naive_utc(naive: NaiveDateTime) -> Self {
        let micros = naive.nanosecond() / 1_000 * 1_000;
        Self(naive.with_nanosecond(micros).unwrap_or(naive))
    }

    /// The storage representation (naive UTC); for the store only.
    pub fn as_naive_utc(&self) -> &NaiveDateTime {
        &self.0
    }
}

impl From<DateTime<Utc>> for Instant {
    fn from(t: DateTime<Utc>) -> Self {
        Self::from_naive_utc(t.naive_utc())
    }
}

impl From<Instant> for DateTime<Utc> {
    fn from(t: Instant) -> Self {
        t.utc()
    }
}

impl std::ops::Add<TimeDelta> for Instant {
    type Output = Instant;

    fn add(self, d: TimeDelta) -> Instant {
        Instant::from(self.utc() + d)
    }
}

impl std::ops::Sub<TimeDelta> for Instant {
    type Output = Instant;

    fn sub(self, d: TimeDelta) -> Instant {
        Instant::from(self.utc() - d)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.utc().fmt(f)
    }
}

impl Serialize for Instant {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.utc().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        DateTime::<Utc>::deserialize(d).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_to_microseconds_and_round_trips() {
        let t = DateTime::parse_from_rfc3339("2025-03-03T08:00:00.123456789+07:00")
            .unwrap()
            .with_timezone(&Utc);
        let i = Instant::from(t);
        assert_eq!(i.utc().to_rfc3339(), "2025-03-03T01:00:00.123456+00:00");
        assert_eq!(Instant::from_naive_utc(*i.as_naive_utc()), i);
        assert_eq!(Instant::from(i.utc()), i);
    }
}
