//! Shared application state handed to every handler.

use std::sync::Arc;

use actix_web::web;

use super::{auth::Caller, error::ApiError, metrics::Metrics};
use crate::{
    auth::{lockout::ThrottlePolicy, rate_limit::RateLimiter, token::TokenService},
    config::Config,
    store::{self, DbConnection, DbPool, calendar::CalendarCache},
};

pub struct AppState {
    pub pool: DbPool,
    /// One permit per pooled connection: requests wait for the database here, in arrival order.
    /// Waiting inside the pool instead is unfair (a blocking thread that has just handed a
    /// connection back takes it again ahead of older waiters), which shows as a long latency tail.
    pub db_gate: Arc<tokio::sync::Semaphore>,
    pub config: Arc<Config>,
    pub metrics: Metrics,
    pub calendar: Arc<CalendarCache>,
    pub tokens: Arc<TokenService>,
    /// Token requests per client address (in this instance's memory: it protects this instance's
    /// CPU from password hashing floods).
    pub login_limiter: RateLimiter,
    /// How failed logins slow down further attempts (the state is in the database).
    pub login_throttle: ThrottlePolicy,
    /// Applicant lookups per client address.
    pub public_limiter: RateLimiter,
    /// Where documents' bytes are kept.
    pub storage: crate::storage::DocumentStorage,
}

impl AppState {
    /// Runs blocking storage work on the blocking thread pool with a pooled connection.
    pub async fn db<T, E, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        let permit = tokio::time::timeout(
            self.config.pool_timeout,
            Arc::clone(&self.db_gate).acquire_owned(),
        )
        .await
        .map_err(|_| {
            ApiError::ServiceUnavailable(
                "the service is busy: no database connection became free in time".to_owned(),
            )
        })?
        .map_err(|_| ApiError::Internal("the database gate is closed".to_owned()))?;
        let pool = self.pool.clone();
        web::block(move || {
            // The permit goes with the work: if the request is dropped meanwhile, the connection
            // stays counted until the blocking work is done with it.
            let _permit = permit;
            store::with_connection(&pool, |conn| f(conn).map_err(Into::<ApiError>::into))
        })
        .await?
    }
}

impl AppState {
    /// Runs storage work for an authenticated caller: on the same connection and in the same trip
    /// to the blocking pool, first refuses a caller whose account has been deactivated, or whose
    /// role or unit has changed, since the token was issued, and resolves the agencies the caller
    /// works for, then runs `f` (with the caller handed back, scope included).
    pub async fn db_as<T, E, F>(&self, caller: Caller, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection, &Caller) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        self.db(move |conn| {
            let mut caller = caller;
            caller.principal.scope = super::auth::check_account(conn, &caller.principal)?;
            f(conn, &caller).map_err(Into::into)
        })
        .await
    }
}
