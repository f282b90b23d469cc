//! The connection pool. A connection is checked with a round trip (`SELECT 1`) only when it may have
//! gone bad: after it sat idle, or after work on it failed. r2d2's own check on every checkout
//! would add one round trip to every request, which under load is a large share of the database's
//! work (a dossier read is one query).

use std::{
    ops::{Deref, DerefMut},
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use diesel::r2d2::{
    ConnectionManager, CustomizeConnection, Error as ManagerError, ManageConnection, Pool,
};

use super::{DbConnection, StoreError};

/// A connection handed back less than this long ago is trusted without a check.
const TRUSTED_FOR: Duration = Duration::from_secs(2);

/// A pooled connection with what the pool needs to decide whether to check it.
pub struct Slot {
    conn: DbConnection,
    returned_at: Instant,
    /// Work on it failed: check it before it is used again.
    suspect: bool,
    /// The pool's count of lost connections when this one was last known good.
    losses_seen: u64,
}

impl Deref for Slot {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl DerefMut for Slot {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// diesel's connection manager, with the checks above.
#[derive(Debug)]
pub struct Manager {
    inner: ConnectionManager<DbConnection>,
    /// Connections found dead so far. When one is, the others are likely dead too (the server
    /// restarted): each is then checked before its next use, so that one failed request is
    /// enough to clear the pool.
    losses: AtomicU64,
}

impl ManageConnection for Manager {
    type Connection = Slot;
    type Error = ManagerError;

    fn connect(&self) -> Result<Slot, ManagerError> {
        Ok(Slot {
            conn: self.inner.connect()?,
            returned_at: Instant::now(),
            suspect: false,
            losses_seen: self.losses.load(Ordering::Relaxed),
        })
    }

    /// Called on checkout.
    fn is_valid(&self, slot: &mut Slot) -> Result<(), ManagerError> {
        let losses = self.losses.load(Ordering::Relaxed);
        if slot.suspect || slot.losses_seen != losses || slot.returned_at.elapsed() >= TRUSTED_FOR {
            if let Err(e) = self.inner.is_valid(&mut slot.conn) {
                self.losses.fetch_add(1, Ordering::Relaxed);
                return Err(e);
            }
            slot.suspect = false;
            slot.losses_seen = losses;
        }
        Ok(())
    }

    /// Called when a connection comes back: a suspect one is checked now, so that a dead
    /// connection leaves the pool at once instead of failing the next request too.
    fn has_broken(&self, slot: &mut Slot) -> bool {
        let broken = self.inner.has_broken(&mut slot.conn)
            || (slot.suspect && self.inner.is_valid(&mut slot.conn).is_err());
        if broken {
            if slot.suspect {
                self.losses.fetch_add(1, Ordering::Relaxed);
            }
            return true;
        }
        slot.suspect = false;
        slot.returned_at = Instant::now();
        false
    }
}

pub type DbPool = Pool<Manager>;

/// Adapts a customizer of plain connections to pooled ones.
#[derive(Debug)]
struct Customize<C>(C);

impl<C> CustomizeConnection<Slot, ManagerError> for Customize<C>
where
    C: CustomizeConnection<DbConnection, ManagerError>,
{
    fn on_acquire(&self, slot: &mut Slot) -> Result<(), ManagerError> {
        self.0.on_acquire(&mut slot.conn)
    }
}

pub fn build(
    url: String,
    size: u32,
    timeout: Duration,
    customizer: impl CustomizeConnection<DbConnection, ManagerError> + 'static,
) -> Result<DbPool, StoreError> {
    Pool::builder()
        .max_size(size.max(1))
        .connection_timeout(timeout)
        // `is_valid` decides itself when a round trip is worth it.
        .test_on_check_out(true)
        .connection_customizer(Box::new(Customize(customizer)))
        .build(Manager {
            inner: ConnectionManager::new(url),
            losses: AtomicU64::new(0),
        })
        .map_err(|e| StoreError::Setup(format!("cannot open the database: {e}")))
}

/// Whether an error may mean the connection itself is bad (as opposed to a refusal, a missing row
/// or a conflict, which say nothing about it).
pub trait ConnectionFault {
    fn may_be_connection_fault(&self) -> bool;
}

impl ConnectionFault for StoreError {
    fn may_be_connection_fault(&self) -> bool {
        matches!(
            self,
            StoreError::Database(_)
                | StoreError::ConnectionLost(_)
                | StoreError::Connection(_)
                | StoreError::Pool(_)
        )
    }
}

/// Runs `f` on a pooled connection (blocking). When `f` fails in a way that may come from the
/// connection, the connection is checked before anyone uses it again.
pub fn with_connection<T, E>(
    pool: &DbPool,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<StoreError> + ConnectionFault,
{
    let mut slot = pool.get().map_err(StoreError::from)?;
    let result = f(&mut slot);
    if result
        .as_ref()
        .is_err_and(ConnectionFault::may_be_connection_fault)
    {
        slot.suspect = true;
    }
    result
}
