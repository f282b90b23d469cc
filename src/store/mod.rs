//! Storage layer: owns the connection pool, the migrations and every query.
//!
//! One diesel code base serves both backends through [`DbConnection`], a `MultiConnection`.
//! Per-backend arms appear only where the SQL really differs (locking, upserts).

/// `query = query.filter(condition)` when `option` holds a value, bound to the closure's name: the
/// shape of an optional filter on a boxed query.
macro_rules! filter_when {
    ($query:ident, $option:expr, |$value:ident| $condition:expr) => {
        if let Some($value) = $option {
            $query = $query.filter($condition);
        }
    };
}
pub(crate) use filter_when;

pub mod accounts;
pub mod agencies;
pub mod audit;
pub mod calendar;
pub mod catalogue;
pub mod documents;
pub mod dossiers;
pub mod error;
pub mod feed;
pub mod idempotency;
pub mod login_throttle;
pub mod national_sync;
pub mod outbox;
pub mod pool;
pub mod schema;
pub mod stats;
pub mod types;
pub mod webhooks;

use std::{path::Path, time::Duration};

use diesel::{
    Connection,
    connection::{AnsiTransactionManager, SimpleConnection, TransactionManager},
    pg::PgConnection,
    r2d2::CustomizeConnection,
    sqlite::SqliteConnection,
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use error::StoreError;
pub use pool::{ConnectionFault, DbPool, with_connection};

use crate::config::DatabaseTarget;

/// A connection to either backend; queries written once against it run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Arbitrary but fixed key of the advisory lock that serialises migrations across instances.
const MIGRATION_LOCK_KEY: i64 = 0x6d6f_7463_7561; // "motcua"

/// How long an SQLite connection waits for the write lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

impl DbConnection {
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Pg(_) => "postgres",
            Self::Sqlite(_) => "sqlite",
        }
    }
}

/// Per-connection settings SQLite needs: WAL for concurrent readers, a busy timeout so writers queue
/// instead of failing, and enforced foreign keys. The busy timeout comes first: switching to WAL
/// needs a lock too, and another connection (a second instance, the webhook worker) may hold one.
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        if let DbConnection::Sqlite(c) = conn {
            c.batch_execute(&format!(
                "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
            ))
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

fn connection_url(target: &DatabaseTarget) -> Result<String, StoreError> {
    match target {
        DatabaseTarget::Postgres(url) => Ok(url.clone()),
        DatabaseTarget::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Setup(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            path_to_str(path).map(str::to_owned)
        }
    }
}

fn path_to_str(path: &Path) -> Result<&str, StoreError> {
    path.to_str()
        .ok_or_else(|| StoreError::Setup(format!("database path {} is not UTF-8", path.display())))
}

/// Opens one connection outside the pool (migrations, CLI commands).
pub fn establish(target: &DatabaseTarget) -> Result<DbConnection, StoreError> {
    let url = connection_url(target)?;
    let mut conn = match target {
        DatabaseTarget::Postgres(_) => DbConnection::Pg(PgConnection::establish(&url)?),
        DatabaseTarget::Sqlite(_) => DbConnection::Sqlite(SqliteConnection::establish(&url)?),
    };
    SqlitePragmas
        .on_acquire(&mut conn)
        .map_err(|e| StoreError::Setup(e.to_string()))?;
    Ok(conn)
}

pub fn build_pool(
    target: &DatabaseTarget,
    size: u32,
    timeout: Duration,
) -> Result<DbPool, StoreError> {
    pool::build(connection_url(target)?, size, timeout, SqlitePragmas)
}

/// Applies every pending migration. On PostgreSQL an advisory lock makes instances that start at the
/// same moment against one database take turns instead of racing each other's DDL.
pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    match conn {
        DbConnection::Pg(pg) => {
            pg.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
            let applied = pg
                .run_pending_migrations(PG_MIGRATIONS)
                .map(|versions| versions.iter().map(ToString::to_string).collect())
                .map_err(|e| StoreError::Migration(e.to_string()));
            pg.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
            applied
        }
        DbConnection::Sqlite(sqlite) => sqlite
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
            .map_err(|e| StoreError::Migration(e.to_string())),
    }
}

/// Runs `f` in a write transaction. On SQLite the transaction starts with `BEGIN IMMEDIATE` so that it
/// takes the write lock up front: a deferred transaction that reads and then writes can fail at once
/// with SQLITE_BUSY when another writer committed in between, and the busy timeout does not help it.
/// Inside an enclosing transaction it becomes a savepoint of that transaction.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let depth =
        <DbConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn)
            .transaction_depth()?;
    if depth.is_some() {
        return conn.transaction(f);
    }
    match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        DbConnection::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match f(conn) {
        Ok(value) => {
            <DbConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            // The original error matters more than a failed rollback, which poisons the
            // connection anyway and makes the pool discard it.
            let _ = <DbConnection as Connection>::TransactionManager::rollback_transaction(conn);
            Err(e)
        }
    }
}

/// Cheap round trip used by the readiness probe.
pub fn ping(conn: &mut DbConnection) -> Result<(), StoreError> {
    conn.batch_execute("SELECT 1")?;
    Ok(())
}
