//! `Idempotency-Key` for creating requests: the first response is stored in the database, in the
//! transaction that created the resource, and a retry with the same key and body gets it again.
//!
//! A first response may carry a secret shown only once (the applicant's lookup secret on a receipt).
//! So that the database never holds it in clear, the stored reply is sealed (ChaCha20-Poly1305)
//! under a key derived from the `Idempotency-Key`, and the key itself is kept only as a SHA-256
//! digest: whoever retries with the key can open the reply, a reader of the database cannot. The
//! seal is bound to the request's fingerprint, so a row moved to another request does not open.

use base64::{Engine, engine::general_purpose::STANDARD_NO_PAD};
use rand::Rng as _;
use ring::{aead, hkdf};

use super::{ServiceError, sha256_hex};
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
    match idempotency::find(conn, &who.subject, &sha256_hex(idem.key.as_bytes()))? {
        None => Ok(None),
        Some(stored) if stored.request_hash == idem.request_hash => {
            let body = open(idem, &who.subject, &stored.sealed_body)?;
            let status = u16::try_from(stored.status).map_err(|_| {
                StoreError::Corrupt(format!("idempotent reply with status {}", stored.status))
            })?;
            Ok(Some(StoredReply {
                status,
                location: stored.location,
                body,
            }))
        }
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
            &sha256_hex(idem.key.as_bytes()),
            &idem.request_hash,
            reply.status,
            reply.location.as_deref(),
            &seal(idem, &who.subject, &reply.body),
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

/// The sealing key of `principal`'s replies under `idem`'s key (HKDF-SHA256; the digest kept in the
/// database is a different function of the key and does not lead back to it).
fn sealing_key(idem: &IdempotencyRequest, principal: &str) -> aead::LessSafeKey {
    let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"motcua idempotent reply v1");
    let info = [principal.as_bytes()];
    let prk = salt.extract(idem.key.as_bytes());
    let okm = prk
        .expand(&info, &aead::CHACHA20_POLY1305)
        .expect("the AEAD key length is a valid HKDF-SHA256 output length");
    aead::LessSafeKey::new(aead::UnboundKey::from(okm))
}

/// `body` sealed for storage: base64 of a random nonce followed by the ciphertext and its tag.
fn seal(idem: &IdempotencyRequest, principal: &str, body: &str) -> String {
    let mut nonce = [0u8; aead::NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let mut sealed = body.as_bytes().to_vec();
    sealing_key(idem, principal)
        .seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(idem.request_hash.as_bytes()),
            &mut sealed,
        )
        // ChaCha20-Poly1305 refuses only inputs of 256 GiB and more; a reply is far below the
        // body limit.
        .expect("a reply is within ChaCha20-Poly1305's input limit");
    let mut stored = nonce.to_vec();
    stored.append(&mut sealed);
    STANDARD_NO_PAD.encode(stored)
}

/// The reply sealed by [`seal`]; a row that does not open is corrupt.
fn open(idem: &IdempotencyRequest, principal: &str, stored: &str) -> Result<String, ServiceError> {
    let corrupt =
        || StoreError::Corrupt("an idempotent reply does not open with its key".to_owned());
    let bytes = STANDARD_NO_PAD.decode(stored).map_err(|_| corrupt())?;
    if bytes.len() < aead::NONCE_LEN {
        return Err(corrupt().into());
    }
    let (nonce, sealed) = bytes.split_at(aead::NONCE_LEN);
    let nonce = aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| corrupt())?;
    let mut sealed = sealed.to_vec();
    let body = sealing_key(idem, principal)
        .open_in_place(
            nonce,
            aead::Aad::from(idem.request_hash.as_bytes()),
            &mut sealed,
        )
        .map_err(|_| corrupt())?;
    Ok(String::from_utf8(body.to_vec()).map_err(|_| corrupt())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(key: &str) -> IdempotencyRequest {
        IdempotencyRequest {
            key: key.to_owned(),
            request_hash: sha256_hex(b"POST /api/v1/dossiers"),
        }
    }

    #[test]
    fn a_sealed_reply_opens_only_with_its_key_principal_and_request() {
        let idem = request("portal-req-1");
        let sealed = seal(&idem, "portal", r#"{"lookup_secret":"s3cret"}"#);
        assert!(!sealed.contains("s3cret"));
        assert_eq!(
            open(&idem, "portal", &sealed).unwrap(),
            r#"{"lookup_secret":"s3cret"}"#
        );
        assert!(open(&request("portal-req-2"), "portal", &sealed).is_err());
        assert!(open(&idem, "someone-else", &sealed).is_err());
        let other_request = IdempotencyRequest {
            request_hash: sha256_hex(b"another body"),
            ..idem.clone()
        };
        assert!(open(&other_request, "portal", &sealed).is_err());
        assert!(open(&idem, "portal", "not base64!").is_err());
        assert!(open(&idem, "portal", "").is_err());
    }

    #[test]
    fn each_seal_uses_a_fresh_nonce() {
        let idem = request("k");
        assert_ne!(seal(&idem, "p", "same"), seal(&idem, "p", "same"));
    }
}
