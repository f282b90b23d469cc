//! The change feed behind `GET /api/v1/dossiers?updated_since=…`: pull-based sync that neither skips
//! nor repeats a change, even when changes commit in another order than they were made.
//!
//! Every change of a dossier appends a row to `dossier_changes` in the change's own transaction. A
//! row's position is `(txid, seq)`:
//! - on PostgreSQL `txid` is the writing transaction's id and a reader returns only rows whose
//!   transaction ended before the oldest transaction still running (`pg_snapshot_xmin`). A
//!   transaction that is still running, or starts later, has an id at or above that horizon, so
//!   every row that becomes readable later sorts after every row already returned;
//! - on SQLite the single writer commits in `seq` order and `txid` is 0.
//!
//! Only a dossier's latest change is returned (the row whose version is the dossier's current
//! version), so an item always shows the state right after the change at its position, and a
//! dossier changed twice between two reads appears once, at its newer position.

use diesel::{
    prelude::*,
    sql_types::{BigInt, Integer, Timestamp},
};

use super::{
    DbConnection, StoreError,
    dossiers::{DossierFilter, apply_dossier_filter},
    schema::{dossier_changes, dossiers},
};
use crate::domain::{Instant, dossier::Dossier};

/// The transaction-id horizon of the current statement's snapshot: every transaction below it has
/// ended.
const PG_HORIZON: &str = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint";

/// Where a change sits in the feed; the feed is ordered by `(txid, seq)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct ChangePosition {
    pub txid: i64,
    pub seq: i64,
}

/// Appends the change that brought the dossier to `version`; call it in the change's transaction.
pub fn record_change(
    conn: &mut DbConnection,
    dossier_id: i64,
    version: i32,
    changed_at: Instant,
) -> Result<(), StoreError> {
    match conn {
        DbConnection::Pg(c) => diesel::sql_query(
            "INSERT INTO dossier_changes (txid, dossier_id, version, changed_at) \
             VALUES (pg_current_xact_id()::text::bigint, $1, $2, $3)",
        )
        .bind::<BigInt, _>(dossier_id)
        .bind::<Integer, _>(version)
        .bind::<Timestamp, _>(changed_at)
        .execute(c)?,
        DbConnection::Sqlite(c) => diesel::sql_query(
            "INSERT INTO dossier_changes (txid, dossier_id, version, changed_at) VALUES (0, ?, ?, ?)",
        )
        .bind::<BigInt, _>(dossier_id)
        .bind::<Integer, _>(version)
        .bind::<Timestamp, _>(changed_at)
        .execute(c)?,
    };
    Ok(())
}

#[derive(QueryableByName)]
struct Horizon {
    #[diesel(sql_type = BigInt)]
    value: i64,
}

/// A position that every change becoming readable from now on sorts after: where a reader who has
/// seen everything readable so far may resume. Take it before reading a page, so that it never runs
/// ahead of what the page's own snapshot could see.
pub fn horizon(conn: &mut DbConnection) -> Result<ChangePosition, StoreError> {
    Ok(match conn {
        DbConnection::Pg(c) => {
            let h: Horizon =
                diesel::sql_query(format!("SELECT {PG_HORIZON} AS value")).get_result(c)?;
            // Rows of transaction `h` itself may still come: resume just before them.
            ChangePosition {
                txid: h.value,
                seq: 0,
            }
        }
        DbConnection::Sqlite(c) => {
            let h: Horizon =
                diesel::sql_query("SELECT COALESCE(MAX(seq), 0) AS value FROM dossier_changes")
                    .get_result(c)?;
            ChangePosition {
                txid: 0,
                seq: h.value,
            }
        }
    })
}

/// Dossiers whose latest change lies after `after`, in feed order, each with its position.
pub fn list_changes(
    conn: &mut DbConnection,
    filter: &DossierFilter,
    after: Option<ChangePosition>,
    limit: i64,
) -> Result<Vec<(Dossier, ChangePosition)>, StoreError> {
    let is_pg = matches!(conn, DbConnection::Pg(_));
    let query = dossiers::table
        .inner_join(
            dossier_changes::table.on(dossier_changes::dossier_id
                .eq(dossiers::id)
                .and(dossier_changes::version.eq(dossiers::version))),
        )
        .select((
            Dossier::as_select(),
            dossier_changes::txid,
            dossier_changes::seq,
        ))
        .into_boxed();
    let mut query = apply_dossier_filter!(query, filter);
    if is_pg {
        query = query.filter(dossier_changes::txid.lt(diesel::dsl::sql::<BigInt>(PG_HORIZON)));
    }
    if let Some(after) = after {
        query = query.filter(
            dossier_changes::txid
                .gt(after.txid)
                .or(dossier_changes::txid
                    .eq(after.txid)
                    .and(dossier_changes::seq.gt(after.seq))),
        );
    }
    let rows: Vec<(Dossier, i64, i64)> = query
        .order((dossier_changes::txid, dossier_changes::seq))
        .limit(limit)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(record, txid, seq)| (record, ChangePosition { txid, seq }))
        .collect())
}
