//! Instants on the wire: RFC 3339 with offset. Responses use the local clock (UTC+7) so that
//! appointment dates read as the agency's; requests may use any offset.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Deserializer};

use crate::domain::calendar::LOCAL_OFFSET;

/// An instant as the API shows it: RFC 3339 at UTC+7.
pub fn local(instant: impl Into<DateTime<Utc>>) -> DateTime<FixedOffset> {
    instant.into().with_timezone(&LOCAL_OFFSET)
}

pub fn local_opt<T: Into<DateTime<Utc>>>(instant: Option<T>) -> Option<DateTime<FixedOffset>> {
    instant.map(local)
}

/// Parses an RFC 3339 instant. In a query string an unencoded `+` of the offset arrives as a
/// space; it is taken back as `+` so that `?start=2025-01-24T14:00:00+07:00` works as typed.
pub fn parse_instant(raw: &str) -> Result<DateTime<Utc>, String> {
    let trimmed = raw.trim();
    DateTime::parse_from_rfc3339(trimmed)
        .or_else(|_| DateTime::parse_from_rfc3339(&trimmed.replace(' ', "+")))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{raw}` is not an RFC 3339 instant with offset ({e})"))
}

/// Serde adapter for query parameters holding an instant.
pub fn deserialize_instant<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let raw = String::deserialize(d)?;
    parse_instant(&raw).map_err(serde::de::Error::custom)
}

pub fn deserialize_opt_instant<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(raw) => parse_instant(&raw)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_plus_sign_survives_query_decoding() {
        let a = parse_instant("2025-01-24T14:00:00+07:00").unwrap();
        let b = parse_instant("2025-01-24T14:00:00 07:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_rfc3339(), "2025-01-24T07:00:00+00:00");
        assert!(parse_instant("2025-01-24").is_err());
    }

    #[test]
    fn responses_use_local_offset() {
        let t = parse_instant("2025-01-24T07:00:00Z").unwrap();
        assert_eq!(local(t).to_rfc3339(), "2025-01-24T14:00:00+07:00");
    }
}
