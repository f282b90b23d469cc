//! `Idempotency-Key` for creating requests: the first response is stored in the database, in the
//! transaction that created the resource, and a retry with the same key and body gets it again.

use super::ServiceError;
use crate::{
    auth::policy::Principal,
    store::{DbConnection, StoreError, idempotency, write_transaction},
};

/// A creating request made idempotent: the key and a fingerprint of the request.
#[derive(Debug, Clone)]
pub struct IdempotencyRequest {
    pub key: String,
    pub request_hash: String,
}

/// How the first response of an idempotent request is stored and replayed.
#[derive(Debug, Clone)]
pub struct StoredReply {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

/// Replays the stored first response of `idem`, if any; a different request under the same key is
/// refused.
pub fn replay(
    conn: &mut DbConnection,
    who: &Principal,
    idem: &IdempotencyRequest,
) -> Result<Option<StoredReply>, ServiceError> {
    match idempotency::find(conn, &who.subject, &idem.key)? {
        None => Ok(None),
        Some(stored) if stored.request_hash == idem.request_hash => Ok(Some(StoredReply {
            status: u16::try_from(stored.status).unwrap_or(200),
            location: stored.location,
            body: stored.body,
        })),
        Some(_) => Err(ServiceError::IdempotencyMismatch(
            "this Idempotency-Key was used with a different request".to_owned(),
        )),
    }
}

/// Runs the creating use case `create` once per key: a stored response is replayed, otherwise the
/// resource and the stored response are written in one transaction.
pub fn run(
    conn: &mut DbConnection,
    who: &Principal,
    idem: Option<&IdempotencyRequest>,
    create: impl FnOnce(&mut DbConnection) -> Result<StoredReply, ServiceError>,
) -> Result<StoredReply, ServiceError> {
    let Some(idem) = idem else {
        return create(conn);
    };
    let result = write_transaction(conn, |conn| {
        if let Some(reply) = replay(conn, who, idem)? {
            return Ok(reply);
        }
        let reply = create(conn)?;
        idempotency::save(
            conn,
            &who.subject,
            &idem.key,
            &idem.request_hash,
            reply.status,
            reply.location.as_deref(),
            &reply.body,
        )?;
        Ok(reply)
    });
    match result {
        // A concurrent request with the same key won the race: answer what it answered.
        Err(
            e @ (ServiceError::Conflict(_) | ServiceError::Store(StoreError::UniqueViolation(_))),
        ) => replay(conn, who, idem)?.ok_or(e),
        other => other,
    }
}
