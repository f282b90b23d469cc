//! Stored first responses of creating requests, keyed by the caller and a digest of its
//! `Idempotency-Key`. Kept in the database so that a retry reaching another instance gets the same
//! answer. The body arrives sealed by the service (`service::idempotency`): this table never holds a
//! reply, nor a key that would open it, in clear.

use chrono::TimeDelta;
use diesel::prelude::*;

use crate::domain::Instant;

use super::{DbConnection, StoreError, schema::idempotency_keys};

/// How long a key is remembered.
pub const RETENTION: TimeDelta = TimeDelta::hours(24);

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
pub struct StoredResponse {
    pub principal: String,
    pub key_digest: String,
    pub request_hash: String,
    pub status: i32,
    pub location: Option<String>,
    pub sealed_body: String,
    pub created_at: Instant,
}

/// The stored response for a key digest still within [`RETENTION`].
pub fn find(
    conn: &mut DbConnection,
    principal: &str,
    key_digest: &str,
) -> Result<Option<StoredResponse>, StoreError> {
    let cutoff = Instant::now() - RETENTION;
    Ok(idempotency_keys::table
        .filter(idempotency_keys::principal.eq(principal))
        .filter(idempotency_keys::key_digest.eq(key_digest))
        .filter(idempotency_keys::created_at.ge(cutoff))
        .select(StoredResponse::as_select())
        .first(conn)
        .optional()?)
}

/// Saves the first response; call it in the transaction that created the resource, so the key and
/// the resource exist together or not at all. An expired row for the same key is replaced.
pub fn save(
    conn: &mut DbConnection,
    principal: &str,
    key_digest: &str,
    request_hash: &str,
    status: u16,
    location: Option<&str>,
    sealed_body: &str,
) -> Result<(), StoreError> {
    let cutoff = Instant::now() - RETENTION;
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::principal.eq(principal))
            .filter(idempotency_keys::key_digest.eq(key_digest))
            .filter(idempotency_keys::created_at.lt(cutoff)),
    )
    .execute(conn)?;
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::principal.eq(principal),
            idempotency_keys::key_digest.eq(key_digest),
            idempotency_keys::request_hash.eq(request_hash),
            idempotency_keys::status.eq(i32::from(status)),
            idempotency_keys::location.eq(location),
            idempotency_keys::sealed_body.eq(sealed_body),
            idempotency_keys::created_at.eq(Instant::now()),
        ))
        .execute(conn)?;
    Ok(())
}
