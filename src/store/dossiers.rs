//! Dossiers (hồ sơ), their control slip (phiếu kiểm soát) and pauses.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{Date, Integer, Text},
};

use super::{
    DbConnection, StoreError,
    schema::{dossier_events, dossier_pauses, dossiers},
};
use crate::domain::{
    deadline::Pause,
    dossier::{DossierState, Status},
    stats::OpenState,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dossiers)]
pub struct DossierRecord {
    pub id: i64,
    pub code: String,
    pub agency_code: String,
    pub procedure_code: String,
    pub procedure_version: i32,
    pub unit_code: String,
    pub field: String,
    pub channel: String,
    pub status: String,
    pub applicant_name: String,
    pub applicant: String,
    pub received_at: NaiveDateTime,
    pub due_at: NaiveDateTime,
    pub due_explanation: String,
    pub current_step: Option<i32>,
    pub current_unit_code: Option<String>,
    pub current_step_started_at: Option<NaiveDateTime>,
    pub current_step_due_at: Option<NaiveDateTime>,
    pub paused_since: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub result: Option<String>,
    pub outcome: Option<String>,
    pub returned_at: Option<NaiveDateTime>,
    pub withdrawn_at: Option<NaiveDateTime>,
    pub apology_due_at: Option<NaiveDateTime>,
    pub external_ref: Option<String>,
    pub lookup_secret_hash: String,
    pub created_by: String,
    pub created_by_client: Option<String>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn utc(naive: NaiveDateTime) -> DateTime<Utc> {
    naive.and_utc()
}

/// Instants are stored as naive UTC with microsecond precision (PostgreSQL's), on both backends.
pub fn naive(instant: DateTime<Utc>) -> NaiveDateTime {
    let n = instant.naive_utc();
    n.with_nanosecond_truncated()
}

trait TruncateMicros {
    fn with_nanosecond_truncated(self) -> Self;
}

impl TruncateMicros for NaiveDateTime {
    fn with_nanosecond_truncated(self) -> Self {
        use chrono::Timelike;
        let micros = self.nanosecond() / 1_000 * 1_000;
        self.with_nanosecond(micros).unwrap_or(self)
    }
}

impl DossierRecord {
    pub fn status(&self) -> Result<Status, StoreError> {
        Status::parse(&self.status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown status `{}`", self.status)))
    }

    pub fn state(
        &self,
        pauses: &[PauseRecord],
        last_event_at: DateTime<Utc>,
    ) -> Result<DossierState, StoreError> {
        Ok(DossierState {
            status: self.status()?,
            received_at: utc(self.received_at),
            due_at: utc(self.due_at),
            current_step: self.current_step.and_then(|s| usize::try_from(s).ok()),
            current_step_started_at: self.current_step_started_at.map(utc),
            current_step_due_at: self.current_step_due_at.map(utc),
            pauses: pauses
                .iter()
                .map(|p| Pause {
                    started_at: utc(p.started_at),
                    ended_at: p.ended_at.map(utc),
                })
                .collect(),
            last_event_at,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dossier_pauses)]
pub struct PauseRecord {
    pub id: i64,
    pub dossier_id: i64,
    pub started_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
    pub reason: String,
    pub documents: String,
    pub requested_by: String,
    pub resumed_by: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dossier_events)]
pub struct EventRecord {
    pub id: i64,
    pub dossier_id: i64,
    pub seq: i32,
    pub action: String,
    pub at: NaiveDateTime,
    pub status_after: String,
    pub step: Option<i32>,
    pub step_name: Option<String>,
    pub unit_code: Option<String>,
    pub from_user: String,
    pub to_user: Option<String>,
    pub to_unit_code: Option<String>,
    pub to_step: Option<i32>,
    pub step_due_at: Option<NaiveDateTime>,
    pub step_outcome: Option<String>,
    pub note: Option<String>,
    pub details: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = dossier_events)]
pub struct NewEvent {
    pub dossier_id: i64,
    pub seq: i32,
    pub action: String,
    pub at: NaiveDateTime,
    pub status_after: String,
    pub step: Option<i32>,
    pub step_name: Option<String>,
    pub unit_code: Option<String>,
    pub from_user: String,
    pub to_user: Option<String>,
    pub to_unit_code: Option<String>,
    pub to_step: Option<i32>,
    pub step_due_at: Option<NaiveDateTime>,
    pub step_outcome: Option<String>,
    pub note: Option<String>,
    pub details: Option<String>,
}

diesel::define_sql_function!(fn lower(x: Text) -> Text);
diesel::define_sql_function! {
    #[sql_name = "lower"]
    fn lower_nullable(x: diesel::sql_types::Nullable<Text>) -> diesel::sql_types::Nullable<Text>;
}

#[derive(QueryableByName)]
struct SequenceValue {
    #[diesel(sql_type = Integer)]
    last_value: i32,
}

/// Takes the next dossier number of an agency for a local day. The upsert locks the counter row
/// until the receipt's transaction ends, so numbers are unique and, as a rolled-back receipt gives
/// its number back, gap-free, across any number of instances.
pub fn next_dossier_number(
    conn: &mut DbConnection,
    agency_code: &str,
    day: NaiveDate,
) -> Result<i32, StoreError> {
    const UPSERT: &str = "INSERT INTO dossier_sequences (agency_code, day, last_value) VALUES ({a}, {d}, 1) \
         ON CONFLICT (agency_code, day) DO UPDATE SET last_value = dossier_sequences.last_value + 1 \
         RETURNING last_value";
    let value = match conn {
        DbConnection::Pg(c) => diesel::sql_query(UPSERT.replace("{a}", "$1").replace("{d}", "$2"))
            .bind::<Text, _>(agency_code)
            .bind::<Date, _>(day)
            .get_result::<SequenceValue>(c)?,
        DbConnection::Sqlite(c) => {
            diesel::sql_query(UPSERT.replace("{a}", "?").replace("{d}", "?"))
                .bind::<Text, _>(agency_code)
                .bind::<Date, _>(day)
                .get_result::<SequenceValue>(c)?
        }
    };
    Ok(value.last_value)
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = dossiers)]
pub struct NewDossier {
    pub code: String,
    pub agency_code: String,
    pub procedure_code: String,
    pub procedure_version: i32,
    pub unit_code: String,
    pub field: String,
    pub channel: String,
    pub status: String,
    pub applicant_name: String,
    pub applicant: String,
    pub received_at: NaiveDateTime,
    pub due_at: NaiveDateTime,
    pub due_explanation: String,
    pub current_step: Option<i32>,
    pub current_unit_code: Option<String>,
    pub current_step_started_at: Option<NaiveDateTime>,
    pub current_step_due_at: Option<NaiveDateTime>,
    pub external_ref: Option<String>,
    pub lookup_secret_hash: String,
    pub created_by: String,
    pub created_by_client: Option<String>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert_dossier(
    conn: &mut DbConnection,
    dossier: &NewDossier,
) -> Result<DossierRecord, StoreError> {
    diesel::insert_into(dossiers::table)
        .values(dossier)
        .execute(conn)?;
    get_dossier(conn, &dossier.code)
}

/// Gives a dossier inserted under a provisional code its final one.
pub fn set_dossier_code(conn: &mut DbConnection, id: i64, code: &str) -> Result<(), StoreError> {
    diesel::update(dossiers::table.find(id))
        .set(dossiers::code.eq(code))
        .execute(conn)?;
    Ok(())
}

pub fn get_dossier(conn: &mut DbConnection, code: &str) -> Result<DossierRecord, StoreError> {
    Ok(dossiers::table
        .filter(dossiers::code.eq(code))
        .select(DossierRecord::as_select())
        .first(conn)?)
}

/// Reads a dossier for an update; on PostgreSQL the row stays locked until the transaction ends.
pub fn get_dossier_for_update(
    conn: &mut DbConnection,
    code: &str,
) -> Result<DossierRecord, StoreError> {
    Ok(match conn {
        DbConnection::Pg(c) => dossiers::table
            .filter(dossiers::code.eq(code))
            .select(DossierRecord::as_select())
            .for_update()
            .first(c)?,
        // SQLite write transactions already hold the database's write lock (BEGIN IMMEDIATE).
        sqlite @ DbConnection::Sqlite(_) => get_dossier(sqlite, code)?,
    })
}

pub fn pauses_of(conn: &mut DbConnection, dossier_id: i64) -> Result<Vec<PauseRecord>, StoreError> {
    Ok(dossier_pauses::table
        .filter(dossier_pauses::dossier_id.eq(dossier_id))
        .order(dossier_pauses::started_at)
        .select(PauseRecord::as_select())
        .load(conn)?)
}

pub fn history(conn: &mut DbConnection, dossier_id: i64) -> Result<Vec<EventRecord>, StoreError> {
    Ok(dossier_events::table
        .filter(dossier_events::dossier_id.eq(dossier_id))
        .order(dossier_events::seq)
        .select(EventRecord::as_select())
        .load(conn)?)
}

pub fn last_event_at(
    conn: &mut DbConnection,
    dossier_id: i64,
) -> Result<NaiveDateTime, StoreError> {
    Ok(dossier_events::table
        .filter(dossier_events::dossier_id.eq(dossier_id))
        .order(dossier_events::seq.desc())
        .select(dossier_events::at)
        .first(conn)?)
}

pub fn insert_event(conn: &mut DbConnection, event: &NewEvent) -> Result<(), StoreError> {
    diesel::insert_into(dossier_events::table)
        .values(event)
        .execute(conn)?;
    Ok(())
}

pub fn open_pause(
    conn: &mut DbConnection,
    dossier_id: i64,
    at: NaiveDateTime,
    reason: &str,
    documents: &[String],
    by: &str,
) -> Result<(), StoreError> {
    let documents =
        serde_json::to_string(documents).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    diesel::insert_into(dossier_pauses::table)
        .values((
            dossier_pauses::dossier_id.eq(dossier_id),
            dossier_pauses::started_at.eq(at),
            dossier_pauses::reason.eq(reason),
            dossier_pauses::documents.eq(documents),
            dossier_pauses::requested_by.eq(by),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn close_pause(
    conn: &mut DbConnection,
    dossier_id: i64,
    at: NaiveDateTime,
    by: &str,
) -> Result<(), StoreError> {
    let closed = diesel::update(
        dossier_pauses::table
            .filter(dossier_pauses::dossier_id.eq(dossier_id))
            .filter(dossier_pauses::ended_at.is_null()),
    )
    .set((
        dossier_pauses::ended_at.eq(at),
        dossier_pauses::resumed_by.eq(by),
    ))
    .execute(conn)?;
    if closed != 1 {
        return Err(StoreError::Corrupt(format!(
            "dossier {dossier_id} had {closed} open pauses"
        )));
    }
    Ok(())
}

/// The columns an action may change.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = dossiers, treat_none_as_null = true)]
pub struct DossierChanges {
    pub status: String,
    pub due_at: NaiveDateTime,
    pub due_explanation: String,
    pub current_step: Option<i32>,
    pub current_unit_code: Option<String>,
    pub current_step_started_at: Option<NaiveDateTime>,
    pub current_step_due_at: Option<NaiveDateTime>,
    pub paused_since: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub result: Option<String>,
    pub outcome: Option<String>,
    pub returned_at: Option<NaiveDateTime>,
    pub withdrawn_at: Option<NaiveDateTime>,
    pub apology_due_at: Option<NaiveDateTime>,
    pub version: i32,
    pub updated_at: NaiveDateTime,
}

impl DossierChanges {
    /// Starts from the dossier as it is, with the version bumped.
    pub fn from_record(r: &DossierRecord) -> Self {
        Self {
            status: r.status.clone(),
            due_at: r.due_at,
            due_explanation: r.due_explanation.clone(),
            current_step: r.current_step,
            current_unit_code: r.current_unit_code.clone(),
            current_step_started_at: r.current_step_started_at,
            current_step_due_at: r.current_step_due_at,
            paused_since: r.paused_since,
            resolved_at: r.resolved_at,
            result: r.result.clone(),
            outcome: r.outcome.clone(),
            returned_at: r.returned_at,
            withdrawn_at: r.withdrawn_at,
            apology_due_at: r.apology_due_at,
            version: r.version + 1,
            updated_at: naive(Utc::now()),
        }
    }
}

/// Writes the changes only if the dossier is still at `expected_version` (optimistic concurrency).
pub fn update_dossier(
    conn: &mut DbConnection,
    id: i64,
    expected_version: i32,
    changes: &DossierChanges,
) -> Result<(), StoreError> {
    let updated = diesel::update(
        dossiers::table
            .filter(dossiers::id.eq(id))
            .filter(dossiers::version.eq(expected_version)),
    )
    .set(changes)
    .execute(conn)?;
    if updated != 1 {
        return Err(StoreError::StaleVersion);
    }
    Ok(())
}

/// Dossier list filters; every field is optional and they combine with AND.
#[derive(Debug, Clone, Default)]
pub struct DossierFilter {
    pub status: Option<Status>,
    pub procedure_code: Option<String>,
    pub unit_code: Option<String>,
    pub current_unit_code: Option<String>,
    pub channel: Option<String>,
    pub outcome: Option<String>,
    /// Open (received or processing) and past due at `now`; dossiers awaiting a supplement are
    /// counted apart, as the report does.
    pub overdue_at: Option<NaiveDateTime>,
    pub received_from: Option<NaiveDateTime>,
    pub received_to: Option<NaiveDateTime>,
    pub resolved_from: Option<NaiveDateTime>,
    pub resolved_to: Option<NaiveDateTime>,
    pub due_before: Option<NaiveDateTime>,
    pub updated_since: Option<NaiveDateTime>,
    pub external_ref: Option<String>,
    pub created_by_client: Option<String>,
    pub q: Option<String>,
    /// Matches nothing (a caller whose scope allows no dossier).
    pub none: bool,
    /// Statistics filters (the report's reconciliation, see `domain::stats`).
    pub stats: StatsFilter,
}

/// The filters that reproduce each count of the statistics report; every field is optional.
#[derive(Debug, Clone, Default)]
pub struct StatsFilter {
    /// The field (lĩnh vực) of the procedure, as copied at receipt.
    pub field: Option<String>,
    /// `approved` or `refused`.
    pub result: Option<String>,
    pub withdrawn_from: Option<NaiveDateTime>,
    pub withdrawn_to: Option<NaiveDateTime>,
    /// Open at this instant: received before it, neither resolved nor withdrawn before it.
    pub open_at: Option<NaiveDateTime>,
    /// With `open_at`: how the dossier stood at that instant.
    pub open_state: Option<OpenState>,
}

/// Position after which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListCursor {
    Start,
    /// Default order: by id.
    AfterId(i64),
}

/// The statistics report's filters (see `StatsFilter`), applied by [`apply_dossier_filter!`] so that
/// the plain list and the change feed filter alike.
macro_rules! apply_stats_filter {
    ($query:ident, $filter:expr) => {{
        use $crate::{
            domain::stats::OpenState,
            store::schema::{dossier_pauses, dossiers},
        };
        let f: &$crate::store::dossiers::StatsFilter = $filter;
        let mut query = $query;
        if let Some(v) = &f.field {
            query = query.filter(dossiers::field.eq(v.clone()));
        }
        if let Some(v) = &f.result {
            query = query.filter(dossiers::result.eq(v.clone()));
        }
        if let Some(v) = f.withdrawn_from {
            query = query.filter(dossiers::withdrawn_at.ge(v));
        }
        if let Some(v) = f.withdrawn_to {
            query = query.filter(dossiers::withdrawn_at.le(v));
        }
        if let Some(t) = f.open_at {
            query = query
                .filter(dossiers::received_at.lt(t))
                .filter(
                    dossiers::resolved_at
                        .is_null()
                        .or(dossiers::resolved_at.ge(t)),
                )
                .filter(
                    dossiers::withdrawn_at
                        .is_null()
                        .or(dossiers::withdrawn_at.ge(t)),
                );
            let awaiting = || {
                diesel::dsl::exists(
                    dossier_pauses::table
                        .filter(dossier_pauses::dossier_id.eq(dossiers::id))
                        .filter(dossier_pauses::started_at.lt(t))
                        .filter(
                            dossier_pauses::ended_at
                                .is_null()
                                .or(dossier_pauses::ended_at.ge(t)),
                        ),
                )
            };
            query = match f.open_state {
                None => query,
                Some(OpenState::AwaitingSupplement) => query.filter(awaiting()),
                Some(OpenState::Overdue) => query
                    .filter(diesel::dsl::not(awaiting()))
                    .filter(dossiers::due_at.lt(t)),
                Some(OpenState::NotYetDue) => query
                    .filter(diesel::dsl::not(awaiting()))
                    .filter(dossiers::due_at.ge(t)),
            };
        }
        query
    }};
}

/// Adds the `WHERE` clauses of a [`DossierFilter`] to a boxed query whose source includes
/// `dossiers` (the plain list, and the change feed's join in `store::feed`).
macro_rules! apply_dossier_filter {
    ($query:ident, $filter:expr) => {{
        use $crate::{domain::dossier::Status, store::schema::dossiers};
        let filter: &$crate::store::dossiers::DossierFilter = $filter;
        let mut query = $query;
        if filter.none {
            query = query.filter(dossiers::id.lt(0));
        }
        if let Some(status) = filter.status {
            query = query.filter(dossiers::status.eq(status.as_str()));
        }
        if let Some(v) = &filter.procedure_code {
            query = query.filter(dossiers::procedure_code.eq(v.clone()));
        }
        if let Some(v) = &filter.unit_code {
            query = query.filter(dossiers::unit_code.eq(v.clone()));
        }
        if let Some(v) = &filter.current_unit_code {
            query = query.filter(dossiers::current_unit_code.eq(v.clone()));
        }
        if let Some(v) = &filter.channel {
            query = query.filter(dossiers::channel.eq(v.clone()));
        }
        if let Some(v) = &filter.outcome {
            query = query.filter(dossiers::outcome.eq(v.clone()));
        }
        if let Some(now) = filter.overdue_at {
            query = query
                .filter(
                    dossiers::status
                        .eq_any([Status::Received.as_str(), Status::Processing.as_str()]),
                )
                .filter(dossiers::due_at.lt(now));
        }
        if let Some(v) = filter.received_from {
            query = query.filter(dossiers::received_at.ge(v));
        }
        if let Some(v) = filter.received_to {
            query = query.filter(dossiers::received_at.le(v));
        }
        if let Some(v) = filter.resolved_from {
            query = query.filter(dossiers::resolved_at.ge(v));
        }
        if let Some(v) = filter.resolved_to {
            query = query.filter(dossiers::resolved_at.le(v));
        }
        if let Some(v) = filter.due_before {
            query = query.filter(dossiers::due_at.lt(v));
        }
        if let Some(v) = filter.updated_since {
            query = query.filter(dossiers::updated_at.ge(v));
        }
        if let Some(v) = &filter.external_ref {
            query = query.filter(dossiers::external_ref.eq(v.clone()));
        }
        if let Some(v) = &filter.created_by_client {
            query = query.filter(dossiers::created_by_client.eq(v.clone()));
        }
        if let Some(q) = &filter.q {
            // Case-insensitive on both backends (PostgreSQL's LIKE is case-sensitive, SQLite's is
            // not; SQLite's lower() folds ASCII letters only).
            let pattern = format!(
                "%{}%",
                q.to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            query = query.filter(
                $crate::store::dossiers::lower(dossiers::code)
                    .like(pattern.clone())
                    .escape('\\')
                    .or($crate::store::dossiers::lower(dossiers::applicant_name)
                        .like(pattern.clone())
                        .escape('\\'))
                    .or(
                        $crate::store::dossiers::lower_nullable(dossiers::external_ref)
                            .like(pattern)
                            .escape('\\'),
                    ),
            );
        }
        $crate::store::dossiers::apply_stats_filter!(query, &filter.stats)
    }};
}
pub(crate) use apply_dossier_filter;
pub(crate) use apply_stats_filter;

/// The filtered list in id order. Listing by change (`updated_since`) is the change feed of
/// `store::feed`, whose cursor survives changes that commit out of order.
pub fn list_dossiers(
    conn: &mut DbConnection,
    filter: &DossierFilter,
    cursor: &ListCursor,
    limit: i64,
) -> Result<Vec<DossierRecord>, StoreError> {
    let query = dossiers::table
        .select(DossierRecord::as_select())
        .into_boxed();
    let mut query = apply_dossier_filter!(query, filter);
    query = match cursor {
        ListCursor::AfterId(id) => query.filter(dossiers::id.gt(*id)).order(dossiers::id),
        ListCursor::Start => query.order(dossiers::id),
    };
    Ok(query.limit(limit).load(conn)?)
}
