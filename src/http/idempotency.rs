//! The HTTP side of `Idempotency-Key`: reading the key, fingerprinting the request, and turning a
//! stored reply into a response.

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
};
use serde::Serialize;

use super::{auth::Caller, error::ApiError, state::AppState};
use crate::{
    service::{
        ServiceError,
        idempotency::{self, IdempotencyRequest, StoredReply},
        sha256_hex,
    },
    store::DbConnection,
};

/// A JSON reply to store and send.
pub fn json_reply<T: Serialize>(status: u16, location: Option<String>, body: &T) -> StoredReply {
    StoredReply {
        status,
        location,
        body: serde_json::to_string(body).unwrap_or_default(),
    }
}

/// The HTTP response for a stored or fresh reply (with `ETag` when the body has a `version`).
pub fn response(reply: StoredReply) -> Result<HttpResponse, ApiError> {
    let status =
        StatusCode::from_u16(reply.status).map_err(|e| ApiError::Internal(e.to_string()))?;
    let version = serde_json::from_str::<serde_json::Value>(&reply.body)
        .ok()
        .and_then(|v| v["version"].as_i64());
    let mut builder = HttpResponse::build(status);
    builder.content_type("application/json");
    if let Some(location) = reply.location {
        builder.insert_header((header::LOCATION, location));
    }
    if let Some(version) = version {
        builder.insert_header((header::ETAG, format!("\"{version}\"")));
    }
    Ok(builder.body(reply.body))
}

/// Runs a creating use case once per `Idempotency-Key` and answers `201 Created`: `create` returns
/// the new resource's location and JSON body; a retry gets the first answer again.
pub async fn created<T, F>(
    state: &AppState,
    caller: Caller,
    idem: Option<IdempotencyRequest>,
    create: F,
) -> Result<HttpResponse, ApiError>
where
    T: Serialize,
    F: FnOnce(&mut DbConnection, &Caller) -> Result<(String, T), ServiceError> + Send + 'static,
{
    let reply = state
        .db_as(caller, move |conn, caller| {
            idempotency::run(conn, &caller.principal, idem.as_ref(), |conn| {
                let (location, body) = create(conn, caller)?;
                Ok(json_reply(201, Some(location), &body))
            })
        })
        .await?;
    response(reply)
}

/// `Idempotency-Key`: at most 200 visible ASCII characters.
pub fn request(req: &HttpRequest, body: &[u8]) -> Result<Option<IdempotencyRequest>, ApiError> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 200 && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::BadRequest(
                "Idempotency-Key must be 1–200 visible ASCII characters".to_owned(),
            )
        })?;
    let mut fingerprint = format!("{} {}\n", req.method(), req.path()).into_bytes();
    fingerprint.extend_from_slice(body);
    Ok(Some(IdempotencyRequest {
        key: key.to_owned(),
        request_hash: sha256_hex(&fingerprint),
    }))
}

/// A creating request's JSON body together with its optional `Idempotency-Key`.
pub struct IdempotentJson<T> {
    pub value: T,
    pub idempotency: Option<IdempotencyRequest>,
}

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for IdempotentJson<T> {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        let body = actix_web::web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            if !super::extract::is_json_content_type(&req) {
                return Err(ApiError::UnsupportedMediaType(
                    "send the body as application/json".to_owned(),
                )
                .into());
            }
            let bytes = body.await?;
            let value = super::extract::parse_json(&bytes)?;
            let idempotency = request(&req, &bytes)?;
            Ok(Self { value, idempotency })
        })
    }
}
