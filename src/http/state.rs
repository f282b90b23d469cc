//! Shared application state handed to every handler.

use std::sync::Arc;

use actix_web::web;

use super::{error::ApiError, metrics::Metrics};
use crate::{
    auth::{
        rate_limit::{LoginLockout, RateLimiter},
        token::TokenService,
    },
    config::Config,
    domain::calendar::Calendar,
    store::{DbConnection, DbPool, StoreError, calendar::CalendarCache},
};

pub struct AppState {
    pub pool: DbPool,
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
        let pool = self.pool.clone();
        web::block(move || -> Result<T, ApiError> {
            let mut conn = pool.get().map_err(StoreError::from)?;
            f(&mut conn).map_err(Into::into)
        })
        .await?
    }
}

impl AppState {
    /// The calendar as currently stored (cached per revision).
    pub async fn calendar(&self) -> Result<Arc<Calendar>, ApiError> {
        let cache = Arc::clone(&self.calendar);
        self.db(move |conn| cache.get(conn).map(|(_, calendar)| calendar))
            .await
    }
}
