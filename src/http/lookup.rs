//! Reads of one resource named by a path key (a code, a username).

use super::{auth::Caller, error::ApiError, state::AppState};
use crate::{auth::policy::Principal, service::ServiceError, store::DbConnection};

/// Runs `read` for the caller's principal with the resource's key.
pub async fn by_key<T, F>(
    state: &AppState,
    caller: Caller,
    key: String,
    read: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection, &Principal, &str) -> Result<T, ServiceError> + Send + 'static,
{
    state
        .db_as(caller, move |conn, caller| {
            read(conn, &caller.principal, &key)
        })
        .await
}
