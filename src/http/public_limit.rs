//! The applicant's lookup is open to anyone, so each client address may make only so many
//! (`AppState::public_limiter`: a burst of 20, then 60 a minute, per instance); beyond that the
//! answer is 429 with `Retry-After`.

use std::time::Instant;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::{accounts::client_address, error::ApiError, state::AppState};

/// Taken by a handler as its first argument: extracting it counts the request against the
/// caller's address, before anything else of the request is read.
#[derive(Debug)]
pub struct PublicAllowance;

impl FromRequest for PublicAllowance {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>() else {
            return std::future::ready(Err(ApiError::Internal(
                "application state missing".to_owned(),
            )));
        };
        let outcome = state
            .public_limiter
            .check(&client_address(req), Instant::now())
            .map(|()| PublicAllowance)
            .map_err(|retry| {
                tracing::info!("public lookup rate limit reached");
                ApiError::TooManyRequests {
                    retry_after_secs: retry.as_secs_ceil(),
                }
            });
        std::future::ready(outcome)
    }
}
