//! The login throttle's records (`login_throttle`), one per account and client address and one per
//! account for all addresses (address `*`). The decisions are `auth::lockout`'s.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{DbConnection, StoreError, schema::login_throttle as lt};
use crate::auth::lockout::ThrottleRecord;

/// The address of the account-wide record.
pub const ALL_ADDRESSES: &str = "*";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = lt)]
struct Row {
    address: String,
    failures: i32,
    last_failure_at: Option<NaiveDateTime>,
    blocked_until: Option<NaiveDateTime>,
    last_success_at: Option<NaiveDateTime>,
}

impl From<Row> for ThrottleRecord {
    fn from(r: Row) -> Self {
        Self {
            failures: u32::try_from(r.failures).unwrap_or(0),
            last_failure_at: r.last_failure_at,
            blocked_until: r.blocked_until,
            last_success_at: r.last_success_at,
        }
    }
}

/// Reads the records of `account` from `address` and from all addresses, creating them when
/// missing; on PostgreSQL both rows stay locked until the transaction ends (SQLite's write
/// transaction holds the whole database already), so attempts on other instances queue.
pub fn lock(
    conn: &mut DbConnection,
    account: &str,
    address: &str,
    now: NaiveDateTime,
) -> Result<(ThrottleRecord, ThrottleRecord), StoreError> {
    let fresh = |address: &str| {
        (
            lt::account.eq(account.to_owned()),
            lt::address.eq(address.to_owned()),
            lt::failures.eq(0),
            lt::updated_at.eq(now),
        )
    };
    let rows = vec![fresh(address), fresh(ALL_ADDRESSES)];
    match conn {
        DbConnection::Pg(c) => {
            diesel::insert_into(lt::table)
                .values(&rows)
                .on_conflict_do_nothing()
                .execute(c)?;
        }
        DbConnection::Sqlite(c) => {
            diesel::insert_or_ignore_into(lt::table)
                .values(&rows)
                .execute(c)?;
        }
    }
    macro_rules! both {
        () => {
            lt::table
                .filter(lt::account.eq(account))
                .filter(lt::address.eq_any([address, ALL_ADDRESSES]))
                .select(Row::as_select())
        };
    }
    let found: Vec<Row> = match conn {
        DbConnection::Pg(c) => both!().for_update().load(c)?,
        DbConnection::Sqlite(c) => both!().load(c)?,
    };
    let mut pair = ThrottleRecord::default();
    let mut all = ThrottleRecord::default();
    for row in found {
        if row.address == ALL_ADDRESSES {
            all = row.into();
        } else {
            pair = row.into();
        }
    }
    Ok((pair, all))
}

/// Stores the records of `account` from `address` and from all addresses (after [`lock`]).
pub fn save(
    conn: &mut DbConnection,
    account: &str,
    address: &str,
    pair: &ThrottleRecord,
    all: &ThrottleRecord,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    for (address, record) in [(address, pair), (ALL_ADDRESSES, all)] {
        diesel::update(
            lt::table
                .filter(lt::account.eq(account))
                .filter(lt::address.eq(address)),
        )
        .set((
            lt::failures.eq(i32::try_from(record.failures).unwrap_or(i32::MAX)),
            lt::last_failure_at.eq(record.last_failure_at),
            lt::blocked_until.eq(record.blocked_until),
            lt::last_success_at.eq(record.last_success_at),
            lt::updated_at.eq(now),
        ))
        .execute(conn)?;
    }
    Ok(())
}

/// Deletes records untouched since `idle_before` that remember no login after `trusted_after`.
pub fn purge(
    conn: &mut DbConnection,
    idle_before: NaiveDateTime,
    trusted_after: NaiveDateTime,
) -> Result<usize, StoreError> {
    Ok(diesel::delete(
        lt::table.filter(lt::updated_at.lt(idle_before)).filter(
            lt::last_success_at
                .is_null()
                .or(lt::last_success_at.lt(trusted_after)),
        ),
    )
    .execute(conn)?)
}
