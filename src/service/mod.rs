//! Application services: each use case composes the pure domain with the storage layer inside one
//! database transaction, after asking the policy whether the caller may do it.

pub mod accounts;
pub mod agencies;
pub mod calendar;
pub mod catalogue;
pub mod documents;
pub mod dossiers;
pub mod idempotency;
pub mod imports;
pub mod national;
pub mod stats;
pub mod webhook_target;
pub mod webhooks;

use crate::{
    auth::policy::Denied,
    domain::{calendar::CalendarError, deadline::DeadlineError, dossier::DossierError},
    store::StoreError,
};

/// The service layer's one error type; the HTTP layer maps it to a status once.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Dossier(#[from] DossierError),
    /// Well-formed but invalid input: each entry names a field.
    #[error("invalid input")]
    Invalid(Vec<(String, String)>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// `If-Match` did not match the current version.
    #[error("{0}")]
    StaleVersion(String),
    /// A replayed `Idempotency-Key` with a different body.
    #[error("{0}")]
    IdempotencyMismatch(String),
    /// An upload's body was refused or could not be stored.
    #[error(transparent)]
    Upload(#[from] documents::UploadError),
    /// A stored file is missing or its bytes no longer match its hash: a fault of ours.
    #[error("{0}")]
    Integrity(String),
}

/// What a write's `If-Match` asks of a versioned resource: any current version (`*`), or one of
/// these (an empty list matches nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionPrecondition {
    Any,
    OneOf(Vec<i32>),
}

impl VersionPrecondition {
    pub fn admits(&self, current: i32) -> bool {
        match self {
            Self::Any => true,
            Self::OneOf(versions) => versions.contains(&current),
        }
    }

    /// The error when `current` is not admitted, naming the resource.
    pub fn stale(&self, what: &str, current: i32) -> ServiceError {
        let asked = match self {
            Self::Any => "any".to_owned(),
            Self::OneOf(versions) if versions.is_empty() => "a version".to_owned(),
            Self::OneOf(versions) => versions
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(" or "),
        };
        ServiceError::StaleVersion(format!(
            "the {what} is at version {current}, not {asked}; read it again and retry"
        ))
    }
}

impl From<i32> for VersionPrecondition {
    fn from(version: i32) -> Self {
        Self::OneOf(vec![version])
    }
}

impl ServiceError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![(field.into(), message.into())])
    }
}

impl From<diesel::result::Error> for ServiceError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}

impl From<CalendarError> for ServiceError {
    fn from(e: CalendarError) -> Self {
        Self::Dossier(e.into())
    }
}

impl From<DeadlineError> for ServiceError {
    fn from(e: DeadlineError) -> Self {
        Self::Dossier(e.into())
    }
}

/// Lowercase hex SHA-256, for secrets and request fingerprints.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
