//! The storage layer's one error type.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint was violated; carries the constraint or a description.
    #[error("conflict: {0}")]
    UniqueViolation(String),
    /// The row changed since the caller read it (optimistic concurrency).
    #[error("stale version")]
    StaleVersion,
    #[error("database setup failed: {0}")]
    Setup(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("no database connection available: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("database error: {0}")]
    Database(DieselError),
    #[error("cannot connect to the database: {0}")]
    Connection(#[from] diesel::ConnectionError),
    /// The connection broke during the work (the server went away, a network failure).
    #[error("the database connection was lost: {0}")]
    ConnectionLost(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => Self::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                Self::UniqueViolation(
                    info.constraint_name()
                        .map_or_else(|| info.message().to_owned(), str::to_owned),
                )
            }
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => Self::ConnectionLost(info.message().to_owned()),
            // A stored value that does not decode (the error names the row where it can).
            DieselError::DeserializationError(e) => Self::Corrupt(e.to_string()),
            other => Self::Database(other),
        }
    }
}
