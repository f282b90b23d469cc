//! Statistics storage: the report's pre-aggregated counters (`stats_counters`), the time used by
//! resolved dossiers, and the queries behind the late and due-soon lists.
//!
//! `stats_counters` holds, per local day (`grain = 'day'`) and per local month (`grain = 'month'`,
//! `day` = the 1st) and per (lead unit, procedure, field, channel), the deltas of the report's prefix
//! sums (see [`crate::domain::stats`]). A prefix sum at a local midnight `D` reads the month rows
//! before `D`'s month and the day rows of `D`'s month before `D`: at most a few dozen months and 31
//! days per group, whatever the number of dossiers.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::{
    pg::Pg,
    prelude::*,
    query_builder::BoxedSqlQuery,
    sql_types::{BigInt, Bool, Date, Nullable, Text, Timestamp},
    sqlite::Sqlite,
};

use super::{
    DbConnection, StoreError,
    dossiers::EventRecord,
    schema::{dossier_events, dossiers},
};
use crate::domain::{
    Instant,
    classification::Outcome,
    deadline::PauseKind,
    dossier::{Channel, Dossier, Resolution, Status},
    stats::{Counters, DossierFacts, month_start},
};

/// The part of `dossiers` that only statistics read and write (the columns of migration
/// `000060_statistics`).
mod stats_columns {
    diesel::table! {
        dossiers (id) {
            id -> BigInt,
            working_minutes_used -> Nullable<BigInt>,
            limit_minutes -> Nullable<BigInt>,
        }
    }
}

/// A value bound to a `?` of a raw statement.
#[derive(Debug, Clone)]
pub enum Bind {
    Text(String),
    Date(NaiveDate),
    BigInt(i64),
}

/// `?` placeholders become `$1, $2, …` for PostgreSQL.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

fn bind_all<'f, DB>(
    mut q: BoxedSqlQuery<'f, DB, diesel::query_builder::SqlQuery>,
    binds: &[Bind],
) -> BoxedSqlQuery<'f, DB, diesel::query_builder::SqlQuery>
where
    DB: diesel::backend::Backend + diesel::sql_types::HasSqlType<Text>,
    DB: diesel::sql_types::HasSqlType<Date> + diesel::sql_types::HasSqlType<BigInt>,
    String: diesel::serialize::ToSql<Text, DB>,
    NaiveDate: diesel::serialize::ToSql<Date, DB>,
    i64: diesel::serialize::ToSql<BigInt, DB>,
{
    for b in binds {
        q = match b.clone() {
            Bind::Text(v) => q.bind::<Text, _>(v),
            Bind::Date(v) => q.bind::<Date, _>(v),
            Bind::BigInt(v) => q.bind::<BigInt, _>(v),
        };
    }
    q
}

/// Runs a raw statement written with `?` placeholders on either backend.
pub fn execute(conn: &mut DbConnection, sql: &str, binds: &[Bind]) -> Result<usize, StoreError> {
    Ok(match conn {
        DbConnection::Pg(c) => {
            bind_all(diesel::sql_query(numbered(sql)).into_boxed::<Pg>(), binds).execute(c)?
        }
        DbConnection::Sqlite(c) => {
            bind_all(diesel::sql_query(sql).into_boxed::<Sqlite>(), binds).execute(c)?
        }
    })
}

/// Loads the rows of a raw query written with `?` placeholders on either backend.
pub fn load<T>(conn: &mut DbConnection, sql: &str, binds: &[Bind]) -> Result<Vec<T>, StoreError>
where
    T: QueryableByName<Pg> + QueryableByName<Sqlite> + 'static,
{
    Ok(match conn {
        DbConnection::Pg(c) => {
            bind_all(diesel::sql_query(numbered(sql)).into_boxed::<Pg>(), binds).load(c)?
        }
        DbConnection::Sqlite(c) => {
            bind_all(diesel::sql_query(sql).into_boxed::<Sqlite>(), binds).load(c)?
        }
    })
}

/// The group a dossier's counters belong to; fixed at receipt.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CounterKey {
    pub unit_code: String,
    pub procedure_code: String,
    pub field: String,
    pub channel: Channel,
}

impl CounterKey {
    pub fn of(d: &Dossier) -> Self {
        Self {
            unit_code: d.unit_code.clone(),
            procedure_code: d.procedure_code.clone(),
            field: d.field.clone(),
            channel: d.channel,
        }
    }
}

const GRAIN_DAY: &str = "day";
const GRAIN_MONTH: &str = "month";

fn upsert_sql(rows: usize) -> String {
    let cols = Counters::COLUMNS.join(", ");
    let one = format!(
        "(?, ?, ?, ?, ?, ?, {})",
        vec!["?"; Counters::COLUMNS.len()].join(", ")
    );
    let values = vec![one; rows].join(", ");
    let updates = Counters::COLUMNS
        .iter()
        .map(|c| format!("{c} = stats_counters.{c} + excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO stats_counters (grain, day, unit_code, procedure_code, field, channel, {cols}) \
         VALUES {values} ON CONFLICT (grain, day, unit_code, procedure_code, field, channel) \
         DO UPDATE SET {updates}"
    )
}

fn row_binds(binds: &mut Vec<Bind>, grain: &str, day: NaiveDate, key: &CounterKey, c: &Counters) {
    binds.push(Bind::Text(grain.to_owned()));
    binds.push(Bind::Date(day));
    binds.push(Bind::Text(key.unit_code.clone()));
    binds.push(Bind::Text(key.procedure_code.clone()));
    binds.push(Bind::Text(key.field.clone()));
    binds.push(Bind::Text(key.channel.as_str().to_owned()));
    binds.extend(c.to_array().into_iter().map(Bind::BigInt));
}

/// Adds per-day deltas to the day rows and to the month rows of `key`. Call it in the transaction
/// of the change that causes them.
pub fn add_deltas(
    conn: &mut DbConnection,
    key: &CounterKey,
    deltas: &[(NaiveDate, Counters)],
) -> Result<(), StoreError> {
    if deltas.is_empty() {
        return Ok(());
    }
    let mut months: Vec<(NaiveDate, Counters)> = Vec::new();
    for (day, c) in deltas {
        let m = month_start(*day);
        match months.iter_mut().find(|(d, _)| *d == m) {
            Some((_, acc)) => *acc += *c,
            None => months.push((m, *c)),
        }
    }
    months.retain(|(_, c)| !c.is_zero());
    let mut binds = Vec::new();
    let mut rows = 0;
    for (day, c) in deltas {
        row_binds(&mut binds, GRAIN_DAY, *day, key, c);
        rows += 1;
    }
    for (day, c) in &months {
        row_binds(&mut binds, GRAIN_MONTH, *day, key, c);
        rows += 1;
    }
    execute(conn, &upsert_sql(rows), &binds)?;
    Ok(())
}

/// Whether the counters hold every dossier (false after upgrading a database that had dossiers).
pub fn counters_built(conn: &mut DbConnection) -> Result<bool, StoreError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Bool)]
        counters_built: bool,
    }
    let rows: Vec<Row> = load(
        conn,
        "SELECT counters_built FROM stats_state WHERE id = 1",
        &[],
    )?;
    Ok(rows.first().is_some_and(|r| r.counters_built))
}

/// Replaces every counter with `counters` and marks them built. Call it in a write transaction
/// that keeps dossiers from changing (see `service::stats::rebuild_counters`).
pub fn replace_counters(
    conn: &mut DbConnection,
    counters: &HashMap<(CounterKey, NaiveDate), Counters>,
) -> Result<usize, StoreError> {
    execute(conn, "DELETE FROM stats_counters", &[])?;
    let mut months: HashMap<(CounterKey, NaiveDate), Counters> = HashMap::new();
    for ((key, day), c) in counters {
        *months.entry((key.clone(), month_start(*day))).or_default() += *c;
    }
    let mut rows: Vec<(&str, &CounterKey, NaiveDate, Counters)> = counters
        .iter()
        .map(|((k, d), c)| (GRAIN_DAY, k, *d, *c))
        .chain(months.iter().map(|((k, d), c)| (GRAIN_MONTH, k, *d, *c)))
        .filter(|(_, _, _, c)| !c.is_zero())
        .collect();
    rows.sort_by(|a, b| (a.0, a.2, a.1).cmp(&(b.0, b.2, b.1)));
    let written = rows.len();
    // 17 values a row; 500 rows stay under both backends' limits on bound parameters.
    for chunk in rows.chunks(500) {
        let mut binds = Vec::with_capacity(chunk.len() * 17);
        for (grain, key, day, c) in chunk {
            row_binds(&mut binds, grain, *day, key, c);
        }
        execute(conn, &upsert_sql(chunk.len()), &binds)?;
    }
    execute(
        conn,
        "UPDATE stats_state SET counters_built = TRUE WHERE id = 1",
        &[],
    )?;
    Ok(written)
}

/// Takes the lock that keeps counters and dossiers from changing during a rebuild (PostgreSQL;
/// an SQLite write transaction holds the whole database already).
pub fn lock_for_rebuild(conn: &mut DbConnection) -> Result<(), StoreError> {
    if let DbConnection::Pg(_) = conn {
        execute(
            conn,
            "LOCK TABLE dossiers, dossier_pauses, dossier_payments, stats_counters IN SHARE ROW EXCLUSIVE MODE",
            &[],
        )?;
    }
    Ok(())
}

/// One dossier's facts for the counters, with its group.
#[derive(Debug, Clone)]
pub struct FactsRow {
    pub id: i64,
    pub key: CounterKey,
    pub facts: DossierFacts,
}

#[derive(QueryableByName)]
struct FactsSql {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    unit_code: String,
    #[diesel(sql_type = Text)]
    procedure_code: String,
    #[diesel(sql_type = Text)]
    field: String,
    #[diesel(sql_type = Text)]
    channel: Channel,
    #[diesel(sql_type = Nullable<Timestamp>)]
    received_at: Option<Instant>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    due_at: Option<Instant>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    resolved_at: Option<Instant>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    withdrawn_at: Option<Instant>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    declined_at: Option<Instant>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    stopped_at: Option<Instant>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    first_online_payment_at: Option<Instant>,
    #[diesel(sql_type = Bool)]
    digitized: bool,
    #[diesel(sql_type = Nullable<Text>)]
    outcome: Option<Outcome>,
    #[diesel(sql_type = Nullable<Text>)]
    result: Option<Resolution>,
    #[diesel(sql_type = Nullable<BigInt>)]
    working_minutes_used: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    limit_minutes: Option<i64>,
}

#[derive(QueryableByName)]
struct PauseSql {
    #[diesel(sql_type = BigInt)]
    dossier_id: i64,
    #[diesel(sql_type = Timestamp)]
    started_at: Instant,
    #[diesel(sql_type = Nullable<Timestamp>)]
    ended_at: Option<Instant>,
    #[diesel(sql_type = Text)]
    kind: PauseKind,
}

/// The facts of the dossiers with `after_id < id <= up_to_id`, at most `limit`, in id order.
pub fn facts_batch(
    conn: &mut DbConnection,
    after_id: i64,
    limit: i64,
) -> Result<Vec<FactsRow>, StoreError> {
    let rows: Vec<FactsSql> = load(
        conn,
        "SELECT id, unit_code, procedure_code, field, channel, received_at, due_at, resolved_at, \
         withdrawn_at, declined_at, stopped_at, \
         (SELECT MIN(p.paid_at) FROM dossier_payments p \
          WHERE p.dossier_id = dossiers.id AND p.method = 'online') AS first_online_payment_at, \
         digitized, outcome, result, working_minutes_used, limit_minutes FROM dossiers \
         WHERE id > ? ORDER BY id LIMIT ?",
        &[Bind::BigInt(after_id), Bind::BigInt(limit)],
    )?;
    let (Some(first), Some(last)) = (rows.first().map(|r| r.id), rows.last().map(|r| r.id)) else {
        return Ok(Vec::new());
    };
    let pauses: Vec<PauseSql> = load(
        conn,
        "SELECT dossier_id, started_at, ended_at, kind FROM dossier_pauses \
         WHERE dossier_id >= ? AND dossier_id <= ?",
        &[Bind::BigInt(first), Bind::BigInt(last)],
    )?;
    let mut by_dossier: HashMap<i64, Vec<(Instant, Option<Instant>, PauseKind)>> = HashMap::new();
    for p in pauses {
        by_dossier
            .entry(p.dossier_id)
            .or_default()
            .push((p.started_at, p.ended_at, p.kind));
    }
    Ok(rows
        .into_iter()
        .map(|r| FactsRow {
            id: r.id,
            key: CounterKey {
                unit_code: r.unit_code,
                procedure_code: r.procedure_code,
                field: r.field,
                channel: r.channel,
            },
            facts: DossierFacts {
                received_at: r.received_at,
                due_at: r.due_at,
                resolved_at: r.resolved_at,
                withdrawn_at: r.withdrawn_at,
                declined_at: r.declined_at,
                stopped_at: r.stopped_at,
                first_online_payment_at: r.first_online_payment_at,
                digitized: r.digitized,
                outcome: r.outcome,
                result: r.result,
                working_minutes_used: r.working_minutes_used,
                limit_minutes: r.limit_minutes,
                pauses: by_dossier.remove(&r.id).unwrap_or_default(),
            },
        })
        .collect())
}

/// The facts of one dossier.
pub fn facts_of(conn: &mut DbConnection, id: i64) -> Result<FactsRow, StoreError> {
    facts_batch(conn, id - 1, 1)?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(StoreError::NotFound)
}

/// Stores the working time used and the statutory limit of a dossier being resolved.
pub fn set_time_used(
    conn: &mut DbConnection,
    id: i64,
    used: i64,
    limit: i64,
) -> Result<(), StoreError> {
    diesel::update(stats_columns::dossiers::table.find(id))
        .set((
            stats_columns::dossiers::working_minutes_used.eq(Some(used)),
            stats_columns::dossiers::limit_minutes.eq(Some(limit)),
        ))
        .execute(conn)?;
    Ok(())
}

/// What the report is grouped by, as a counters column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupColumn {
    Unit,
    Procedure,
    Field,
    Channel,
    /// No key (the month grouping and the total).
    None,
}

impl GroupColumn {
    fn sql(self) -> &'static str {
        match self {
            Self::Unit => "unit_code",
            Self::Procedure => "procedure_code",
            Self::Field => "field",
            Self::Channel => "channel",
            Self::None => "''",
        }
    }
}

#[derive(QueryableByName)]
struct SumSql {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = Text)]
    channel: Channel,
    #[diesel(sql_type = BigInt)]
    received: i64,
    #[diesel(sql_type = BigInt)]
    resolved_early: i64,
    #[diesel(sql_type = BigInt)]
    resolved_on_time: i64,
    #[diesel(sql_type = BigInt)]
    resolved_late: i64,
    #[diesel(sql_type = BigInt)]
    refused: i64,
    #[diesel(sql_type = BigInt)]
    withdrawn: i64,
    #[diesel(sql_type = BigInt)]
    timed: i64,
    #[diesel(sql_type = BigInt)]
    used_minutes: i64,
    #[diesel(sql_type = BigInt)]
    limit_minutes: i64,
    #[diesel(sql_type = BigInt)]
    awaiting: i64,
    #[diesel(sql_type = BigInt)]
    overdue: i64,
    #[diesel(sql_type = BigInt)]
    declined: i64,
    #[diesel(sql_type = BigInt)]
    stopped: i64,
    #[diesel(sql_type = BigInt)]
    awaiting_payment: i64,
    #[diesel(sql_type = BigInt)]
    paid_online: i64,
    #[diesel(sql_type = BigInt)]
    digitized: i64,
}

/// Sums of counter rows: (row day or month, group key, channel) → counters.
pub type Sums = Vec<(NaiveDate, String, Channel, Counters)>;

fn sums(
    conn: &mut DbConnection,
    grain: &str,
    group: GroupColumn,
    from: Option<NaiveDate>,
    before: NaiveDate,
    agencies: Option<&[String]>,
) -> Result<Sums, StoreError> {
    let cols = Counters::COLUMNS
        .iter()
        .map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let key = group.sql();
    let mut binds = vec![Bind::Text(grain.to_owned())];
    let lower = match from {
        Some(f) => {
            binds.push(Bind::Date(f));
            " AND day >= ?"
        }
        None => "",
    };
    binds.push(Bind::Date(before));
    // Counters are kept per lead unit; an agency's are those of its units.
    let scope = match agencies {
        None => String::new(),
        Some([]) => " AND 1 = 0".to_owned(),
        Some(codes) => {
            binds.extend(codes.iter().cloned().map(Bind::Text));
            format!(
                " AND unit_code IN (SELECT code FROM units WHERE agency_code IN ({}))",
                vec!["?"; codes.len()].join(", ")
            )
        }
    };
    let group_key = match group {
        GroupColumn::None => String::new(),
        _ => format!("{key}, "),
    };
    let sql = format!(
        "SELECT day, {key} AS key, channel, {cols} FROM stats_counters \
         WHERE grain = ?{lower} AND day < ?{scope} GROUP BY day, {group_key}channel"
    );
    let rows: Vec<SumSql> = load(conn, &sql, &binds)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.day,
                r.key,
                r.channel,
                Counters {
                    received: r.received,
                    resolved_early: r.resolved_early,
                    resolved_on_time: r.resolved_on_time,
                    resolved_late: r.resolved_late,
                    refused: r.refused,
                    withdrawn: r.withdrawn,
                    timed: r.timed,
                    used_minutes: r.used_minutes,
                    limit_minutes: r.limit_minutes,
                    awaiting: r.awaiting,
                    overdue: r.overdue,
                    declined: r.declined,
                    stopped: r.stopped,
                    awaiting_payment: r.awaiting_payment,
                    paid_online: r.paid_online,
                    digitized: r.digitized,
                },
            )
        })
        .collect())
}

/// Month rows (day = the 1st of the month) of every month before `before_month`.
pub fn month_sums(
    conn: &mut DbConnection,
    group: GroupColumn,
    before_month: NaiveDate,
    agencies: Option<&[String]>,
) -> Result<Sums, StoreError> {
    sums(conn, GRAIN_MONTH, group, None, before_month, agencies)
}

/// Day rows of `[from, before)`.
pub fn day_sums(
    conn: &mut DbConnection,
    group: GroupColumn,
    from: NaiveDate,
    before: NaiveDate,
    agencies: Option<&[String]>,
) -> Result<Sums, StoreError> {
    sums(conn, GRAIN_DAY, group, Some(from), before, agencies)
}

/// Names of units (by code) and of procedures (latest version, by code).
pub fn labels(conn: &mut DbConnection) -> Result<HashMap<(char, String), String>, StoreError> {
    #[derive(QueryableByName)]
    struct Label {
        #[diesel(sql_type = Text)]
        kind: String,
        #[diesel(sql_type = Text)]
        code: String,
        #[diesel(sql_type = Text)]
        name: String,
    }
    let rows: Vec<Label> = load(
        conn,
        "SELECT 'u' AS kind, code, name FROM units UNION ALL \
         SELECT 'p' AS kind, v.procedure_code AS code, v.name FROM procedure_versions v \
         JOIN procedures p ON p.code = v.procedure_code AND p.latest_version = v.version",
        &[],
    )?;
    Ok(rows
        .into_iter()
        .map(|l| ((l.kind.chars().next().unwrap_or('?'), l.code), l.name))
        .collect())
}

/// Which dossiers the late list holds.
#[derive(Debug, Clone)]
pub struct LateFilter {
    /// Resolved late, resolved in `[resolved_from, resolved_before)` when given.
    pub late: bool,
    /// Open (received or processing) and past due at `now`.
    pub overdue: bool,
    pub resolved_from: Option<Instant>,
    pub resolved_before: Option<Instant>,
    pub now: Instant,
    pub unit_code: Option<String>,
    pub procedure_code: Option<String>,
    /// Only dossiers owned by these agencies (`None`: every agency).
    pub agencies: Option<Vec<String>>,
}

/// Late and overdue dossiers by id, after `after_id`.
pub fn late_dossiers(
    conn: &mut DbConnection,
    f: &LateFilter,
    after_id: i64,
    limit: i64,
) -> Result<Vec<Dossier>, StoreError> {
    let mut q = dossiers::table
        .select(Dossier::as_select())
        .filter(dossiers::id.gt(after_id))
        .into_boxed();
    // Open bounds as far dates that compare correctly on both backends (SQLite compares text).
    let far = |y: i32| {
        let naive = NaiveDate::from_ymd_opt(y, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("valid date");
        Instant::from_naive_utc(naive)
    };
    let late_cond = dossiers::outcome
        .eq(Outcome::Late)
        .and(dossiers::resolved_at.ge(f.resolved_from.unwrap_or(far(1900))))
        .and(dossiers::resolved_at.lt(f.resolved_before.unwrap_or(far(9999))));
    let overdue_cond = dossiers::status
        .eq_any(Status::CLOCK_RUNNING)
        .and(dossiers::due_at.lt(f.now));
    q = match (f.late, f.overdue) {
        (true, true) => q.filter(late_cond.or(overdue_cond)),
        (true, false) => q.filter(late_cond),
        (false, true) => q.filter(overdue_cond),
        (false, false) => q.filter(dossiers::id.lt(0)),
    };
    filter_when!(q, &f.unit_code, |u| dossiers::unit_code.eq(u.clone()));
    filter_when!(q, &f.procedure_code, |p| dossiers::procedure_code
        .eq(p.clone()));
    filter_when!(q, &f.agencies, |codes| dossiers::agency_code
        .eq_any(codes.clone()));
    Ok(q.order(dossiers::id).limit(limit).load(conn)?)
}

/// The control-slip entries that closed a step late, for these dossiers, in order.
pub fn late_steps(conn: &mut DbConnection, ids: &[i64]) -> Result<Vec<EventRecord>, StoreError> {
    Ok(dossier_events::table
        .filter(dossier_events::dossier_id.eq_any(ids.to_vec()))
        .filter(dossier_events::step_outcome.eq(Outcome::Late))
        .order((dossier_events::dossier_id, dossier_events::seq))
        .select(EventRecord::as_select())
        .load(conn)?)
}

/// Open dossiers not awaiting a supplement whose due instant lies in `[now, horizon]`, by due
/// instant then id, after the cursor.
pub fn due_soon(
    conn: &mut DbConnection,
    now: Instant,
    horizon: Instant,
    after: Option<(Instant, i64)>,
    unit_code: Option<&str>,
    agencies: Option<&[String]>,
    limit: i64,
) -> Result<Vec<Dossier>, StoreError> {
    let mut q = dossiers::table
        .select(Dossier::as_select())
        .filter(dossiers::status.eq_any(Status::CLOCK_RUNNING))
        .filter(dossiers::due_at.ge(now))
        .filter(dossiers::due_at.le(horizon))
        .into_boxed();
    if let Some((at, id)) = after {
        q = q.filter(
            dossiers::due_at
                .gt(at)
                .or(dossiers::due_at.eq(at).and(dossiers::id.gt(id))),
        );
    }
    if let Some(u) = unit_code {
        q = q.filter(dossiers::unit_code.eq(u.to_owned()));
    }
    if let Some(codes) = agencies {
        q = q.filter(super::agencies::shared_with_any(codes.to_vec()));
    }
    Ok(q.order((dossiers::due_at, dossiers::id))
        .limit(limit)
        .load(conn)?)
}
