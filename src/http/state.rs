//! Shared application state handed to every handler.

use std::sync::Arc;

use actix_web::web;

use super::{auth::Caller, error::ApiError, metrics::Metrics};
use crate::{
    auth::{
        policy::PrincipalKind,
        rate_limit::{LoginLockout, RateLimiter},
        token::TokenService,
    },
    config::Config,
    domain::calendar::Calendar,
    store::{self, DbConnection, DbPool, accounts, calendar::CalendarCache},
};

pub struct AppState {
    pub pool: DbPool,
    /// One permit per pooled connection: requests wait for the database here, in arrival order.
    /// Waiting inside the pool instead is unfair (a blocking thread that has just handed a
    /// connection back takes it again ahead of older waiters), which shows as a long latency tail.
    pub db_gate: tokio::sync::Semaphore,
    /// Receipts in flight on this instance (`MOTCUA_RECEIPT_CONCURRENCY`): receipts of one agency
    /// take turns on its day counter in the database; beyond a few, waiting there would only keep
    /// connections from other requests.
    pub receipt_gate: tokio::sync::Semaphore,
    pub config: Arc<Config>,
    pub metrics: Metrics,
    pub calendar: Arc<CalendarCache>,
    pub tokens: Arc<TokenService>,
    /// Token requests per client address.
    pub login_limiter: RateLimiter,
    /// Accounts locked after repeated failed logins.
    pub login_lockout: LoginLockout,
    /// Applicant lookups per client address.
    pub public_limiter: RateLimiter,
}

impl AppState {
    /// Runs blocking storage work on the blocking thread pool with a pooled connection.
    pub async fn db<T, E, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        let _permit = self.admit(&self.db_gate).await?;
        let pool = self.pool.clone();
        web::block(move || {
            store::with_connection(&pool, |conn| f(conn).map_err(Into::<ApiError>::into))
        })
        .await?
    }
}

impl AppState {
    /// Runs storage work for an authenticated caller: on the same connection and in the same trip
    /// to the blocking pool, first refuses a caller whose account has been deactivated since the
    /// token was issued, then runs `f` (with the caller handed back).
    pub async fn db_as<T, E, F>(&self, caller: Caller, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection, &Caller) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        self.db(move |conn| {
            let principal = &caller.principal;
            let is_client = principal.kind == PrincipalKind::Client;
            if accounts::is_deactivated(conn, &principal.subject, is_client)? {
                tracing::info!(subject = %principal.subject, "token of a deactivated account refused");
                return Err(ApiError::Unauthorized(
                    "this account is deactivated".to_owned(),
                ));
            }
            f(conn, &caller).map_err(Into::into)
        })
        .await
    }

    /// The calendar as currently stored, for an authenticated caller (see [`AppState::db_as`]).
    pub async fn calendar_as(&self, caller: Caller) -> Result<Arc<Calendar>, ApiError> {
        let cache = Arc::clone(&self.calendar);
        self.db_as(caller, move |conn, _| {
            cache.get(conn).map(|(_, calendar)| calendar)
        })
        .await
    }

    /// Waits for a permit of `gate`, in arrival order, for at most the database timeout.
    pub async fn admit<'a>(
        &self,
        gate: &'a tokio::sync::Semaphore,
    ) -> Result<tokio::sync::SemaphorePermit<'a>, ApiError> {
        tokio::time::timeout(self.config.pool_timeout, gate.acquire())
            .await
            .map_err(|_| {
                ApiError::ServiceUnavailable(
                    "the service is busy: no database connection became free in time".to_owned(),
                )
            })?
            .map_err(|_| ApiError::Internal("a request gate is closed".to_owned()))
    }

    /// The calendar as currently stored (cached per revision).
    pub async fn calendar(&self) -> Result<Arc<Calendar>, ApiError> {
        let cache = Arc::clone(&self.calendar);
        self.db(move |conn| cache.get(conn).map(|(_, calendar)| calendar))
            .await
    }
}
