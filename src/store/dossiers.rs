//! Dossiers (hồ sơ), their control slip (phiếu kiểm soát) and pauses.

use chrono::NaiveDate;
use diesel::{
    backend::Backend,
    deserialize::{self, FromStaticSqlRow, Queryable},
    prelude::*,
    sql_types::{Date, Integer, Text},
};

use super::{
    DbConnection, StoreError,
    schema::{dossier_events, dossier_pauses, dossier_payments, dossiers},
    types::{Checked, Details, Documents},
};
use crate::domain::{
    Instant,
    applicant::Applicant,
    classification::Outcome,
    deadline::{DueExplanation, Pause, PauseKind},
    dossier::{Channel, Dossier, HistoryAction, PaymentMethod, Resolution, Status},
    stats::OpenState,
};

/// A `dossiers` row as its columns decode; [`Dossier`]'s decoder turns it into the domain's
/// dossier and names the row (its id and code) when a value does not decode.
type DossierRow = (
    i64,
    String,
    String,
    String,
    i32,
    String,
    String,
    Checked<Channel>,
    Checked<Status>,
    String,
    Checked<Applicant>,
    Checked<Option<Instant>>,
    Checked<Option<Instant>>,
    Checked<Option<DueExplanation>>,
    Option<i32>,
    Option<String>,
    Checked<Option<Instant>>,
    Checked<Option<Instant>>,
    Checked<Option<Instant>>,
    Checked<Option<Instant>>,
    Checked<Option<Resolution>>,
    Checked<Option<Outcome>>,
    Checked<Option<Instant>>,
    Checked<Option<Instant>>,
    Checked<Option<Instant>>,
    Option<String>,
    String,
    String,
    Option<String>,
    i32,
    Checked<Instant>,
    Checked<Instant>,
    Checked<Option<Instant>>,
    Checked<Option<Instant>>,
    Checked<Option<Instant>>,
    bool,
);

impl<DB: Backend> Queryable<dossiers::SqlType, DB> for Dossier
where
    DossierRow: FromStaticSqlRow<dossiers::SqlType, DB>,
{
    type Row = DossierRow;

    fn build(row: DossierRow) -> deserialize::Result<Self> {
        let (
            id,
            code,
            agency_code,
            procedure_code,
            procedure_version,
            unit_code,
            field,
            channel,
            status,
            applicant_name,
            applicant,
            received_at,
            due_at,
            due_explanation,
            current_step,
            current_unit_code,
            current_step_started_at,
            current_step_due_at,
            paused_since,
            resolved_at,
            result,
            outcome,
            returned_at,
            withdrawn_at,
            apology_due_at,
            external_ref,
            lookup_secret_hash,
            created_by,
            created_by_client,
            version,
            created_at,
            updated_at,
            submitted_at,
            declined_at,
            stopped_at,
            digitized,
        ) = row;
        let at = |column: &str| format!("dossier {id} ({code}), column {column}");
        let current_step = current_step
            .map(usize::try_from)
            .transpose()
            .map_err(|_| at("current_step"))?;
        Ok(Dossier {
            channel: channel.get(|| at("channel"))?,
            status: status.get(|| at("status"))?,
            applicant: applicant.get(|| at("applicant"))?.with_name(applicant_name),
            received_at: received_at.get(|| at("received_at"))?,
            due_at: due_at.get(|| at("due_at"))?,
            due_explanation: due_explanation.get(|| at("due_explanation"))?,
            current_step,
            current_unit_code,
            current_step_started_at: current_step_started_at
                .get(|| at("current_step_started_at"))?,
            current_step_due_at: current_step_due_at.get(|| at("current_step_due_at"))?,
            paused_since: paused_since.get(|| at("paused_since"))?,
            resolved_at: resolved_at.get(|| at("resolved_at"))?,
            result: result.get(|| at("result"))?,
            outcome: outcome.get(|| at("outcome"))?,
            returned_at: returned_at.get(|| at("returned_at"))?,
            withdrawn_at: withdrawn_at.get(|| at("withdrawn_at"))?,
            apology_due_at: apology_due_at.get(|| at("apology_due_at"))?,
            submitted_at: submitted_at.get(|| at("submitted_at"))?,
            declined_at: declined_at.get(|| at("declined_at"))?,
            stopped_at: stopped_at.get(|| at("stopped_at"))?,
            digitized,
            external_ref,
            lookup_secret_hash,
            created_by,
            created_by_client,
            version,
            created_at: created_at.get(|| at("created_at"))?,
            updated_at: updated_at.get(|| at("updated_at"))?,
            id,
            code,
            agency_code,
            procedure_code,
            procedure_version,
            unit_code,
            field,
        })
    }
}

impl<DB: Backend> Selectable<DB> for Dossier {
    type SelectExpression = <dossiers::table as Table>::AllColumns;

    fn construct_selection() -> Self::SelectExpression {
        dossiers::all_columns
    }
}

/// Every column of a dossier but its id, as assignments for an insert or an update.
macro_rules! dossier_values {
    ($d:expr, $current_step:expr) => {{
        let d: &Dossier = $d;
        (
            (
                dossiers::code.eq(&d.code),
                dossiers::agency_code.eq(&d.agency_code),
                dossiers::procedure_code.eq(&d.procedure_code),
                dossiers::procedure_version.eq(d.procedure_version),
                dossiers::unit_code.eq(&d.unit_code),
                dossiers::field.eq(&d.field),
                dossiers::channel.eq(d.channel),
                dossiers::status.eq(d.status),
                dossiers::applicant_name.eq(d.applicant.name()),
                dossiers::applicant.eq(&d.applicant),
                dossiers::received_at.eq(d.received_at),
                dossiers::due_at.eq(d.due_at),
                dossiers::due_explanation.eq(&d.due_explanation),
                dossiers::current_step.eq($current_step),
                dossiers::current_unit_code.eq(&d.current_unit_code),
                dossiers::current_step_started_at.eq(d.current_step_started_at),
            ),
            (
                dossiers::current_step_due_at.eq(d.current_step_due_at),
                dossiers::paused_since.eq(d.paused_since),
                dossiers::resolved_at.eq(d.resolved_at),
                dossiers::result.eq(d.result),
                dossiers::outcome.eq(d.outcome),
                dossiers::returned_at.eq(d.returned_at),
                dossiers::withdrawn_at.eq(d.withdrawn_at),
                dossiers::apology_due_at.eq(d.apology_due_at),
                dossiers::external_ref.eq(&d.external_ref),
                dossiers::lookup_secret_hash.eq(&d.lookup_secret_hash),
                dossiers::created_by.eq(&d.created_by),
                dossiers::created_by_client.eq(&d.created_by_client),
                dossiers::version.eq(d.version),
                dossiers::created_at.eq(d.created_at),
                dossiers::updated_at.eq(d.updated_at),
            ),
            (
                dossiers::submitted_at.eq(d.submitted_at),
                dossiers::declined_at.eq(d.declined_at),
                dossiers::stopped_at.eq(d.stopped_at),
                dossiers::digitized.eq(d.digitized),
            ),
        )
    }};
}

fn step_column(step: Option<usize>) -> Result<Option<i32>, StoreError> {
    step.map(i32::try_from)
        .transpose()
        .map_err(|_| StoreError::Corrupt(format!("step {step:?} is out of range")))
}

/// A stop of the clock: a request for supplement (yêu cầu bổ sung) or a wait for payment, when
/// the clock stopped and restarted, and why.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dossier_pauses)]
pub struct PauseRecord {
    pub id: i64,
    pub dossier_id: i64,
    pub kind: PauseKind,
    pub started_at: Instant,
    pub ended_at: Option<Instant>,
    pub reason: String,
    pub documents: Documents,
    pub requested_by: String,
    pub resumed_by: Option<String>,
}

impl PauseRecord {
    pub fn pause(&self) -> Pause {
        Pause {
            started_at: self.started_at.utc(),
            ended_at: self.ended_at.map(Instant::utc),
            kind: self.kind,
        }
    }
}

/// One control-slip entry; inserted as it is read (the id is the database's).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = dossier_events)]
pub struct EventRecord {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub dossier_id: i64,
    /// The dossier's version this entry brought it to.
    pub seq: i32,
    pub action: HistoryAction,
    pub at: Instant,
    pub status_after: Status,
    /// The step the dossier was at, with its name and unit.
    pub step: Option<i32>,
    pub step_name: Option<String>,
    pub unit_code: Option<String>,
    /// Who handed the dossier over, and to whom and where.
    pub from_user: String,
    pub to_user: Option<String>,
    pub to_unit_code: Option<String>,
    pub to_step: Option<i32>,
    /// When the action closed the step: its own due instant and how it finished.
    pub step_due_at: Option<Instant>,
    pub step_outcome: Option<Outcome>,
    pub note: Option<String>,
    pub details: Option<Details>,
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

/// Inserts a new dossier (its `id` is ignored) and returns it as stored.
pub fn insert_dossier(conn: &mut DbConnection, dossier: &Dossier) -> Result<Dossier, StoreError> {
    let step = step_column(dossier.current_step)?;
    diesel::insert_into(dossiers::table)
        .values(dossier_values!(dossier, step))
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

pub fn get_dossier(conn: &mut DbConnection, code: &str) -> Result<Dossier, StoreError> {
    Ok(dossiers::table
        .filter(dossiers::code.eq(code))
        .select(Dossier::as_select())
        .first(conn)?)
}

pub fn get_dossier_by_id(conn: &mut DbConnection, id: i64) -> Result<Dossier, StoreError> {
    Ok(dossiers::table
        .find(id)
        .select(Dossier::as_select())
        .first(conn)?)
}

/// Reads a dossier for an update; on PostgreSQL the row stays locked until the transaction ends.
pub fn get_dossier_for_update(conn: &mut DbConnection, code: &str) -> Result<Dossier, StoreError> {
    Ok(match conn {
        DbConnection::Pg(c) => dossiers::table
            .filter(dossiers::code.eq(code))
            .select(Dossier::as_select())
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

pub fn last_event_at(conn: &mut DbConnection, dossier_id: i64) -> Result<Instant, StoreError> {
    Ok(dossier_events::table
        .filter(dossier_events::dossier_id.eq(dossier_id))
        .order(dossier_events::seq.desc())
        .select(dossier_events::at)
        .first(conn)?)
}

pub fn insert_event(conn: &mut DbConnection, event: &EventRecord) -> Result<(), StoreError> {
    diesel::insert_into(dossier_events::table)
        .values(event.clone())
        .execute(conn)?;
    Ok(())
}

pub fn open_pause(
    conn: &mut DbConnection,
    dossier_id: i64,
    kind: PauseKind,
    at: Instant,
    reason: &str,
    documents: &Documents,
    by: &str,
) -> Result<(), StoreError> {
    diesel::insert_into(dossier_pauses::table)
        .values((
            dossier_pauses::dossier_id.eq(dossier_id),
            dossier_pauses::kind.eq(kind),
            dossier_pauses::started_at.eq(at),
            dossier_pauses::reason.eq(reason),
            dossier_pauses::documents.eq(documents),
            dossier_pauses::requested_by.eq(by),
        ))
        .execute(conn)?;
    Ok(())
}

/// A request for payment (yêu cầu thực hiện nghĩa vụ tài chính) and, once paid, the payment.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dossier_payments)]
pub struct PaymentRecord {
    pub id: i64,
    pub dossier_id: i64,
    /// In VND.
    pub requested_amount: i64,
    pub reason: String,
    pub requested_at: Instant,
    pub requested_by: String,
    /// The status the dossier returns to once paid.
    pub status_before: Status,
    pub amount: Option<i64>,
    pub method: Option<PaymentMethod>,
    pub receipt_no: Option<String>,
    pub paid_at: Option<Instant>,
    pub received_by: Option<String>,
    /// The dossier ended (withdrawn, stopped) before it was paid.
    pub cancelled_at: Option<Instant>,
}

impl PaymentRecord {
    /// Still awaited: neither paid nor cancelled.
    pub fn is_open(&self) -> bool {
        self.paid_at.is_none() && self.cancelled_at.is_none()
    }
}

/// A new request for payment, not yet paid.
pub struct NewPaymentRequest<'a> {
    pub dossier_id: i64,
    pub amount: i64,
    pub reason: &'a str,
    pub at: Instant,
    pub by: &'a str,
    pub status_before: Status,
}

pub fn request_payment(
    conn: &mut DbConnection,
    request: &NewPaymentRequest<'_>,
) -> Result<(), StoreError> {
    diesel::insert_into(dossier_payments::table)
        .values((
            dossier_payments::dossier_id.eq(request.dossier_id),
            dossier_payments::requested_amount.eq(request.amount),
            dossier_payments::reason.eq(request.reason),
            dossier_payments::requested_at.eq(request.at),
            dossier_payments::requested_by.eq(request.by),
            dossier_payments::status_before.eq(request.status_before),
        ))
        .execute(conn)?;
    Ok(())
}

/// A payment that answers the open request.
pub struct NewPayment<'a> {
    pub amount: i64,
    pub method: PaymentMethod,
    pub receipt_no: &'a str,
    pub at: Instant,
    pub by: &'a str,
}

/// Records the payment on the dossier's open request for payment.
pub fn record_payment(
    conn: &mut DbConnection,
    dossier_id: i64,
    payment: &NewPayment<'_>,
) -> Result<(), StoreError> {
    let paid = diesel::update(open_payment_request(dossier_id))
        .set((
            dossier_payments::amount.eq(payment.amount),
            dossier_payments::method.eq(payment.method),
            dossier_payments::receipt_no.eq(payment.receipt_no),
            dossier_payments::paid_at.eq(payment.at),
            dossier_payments::received_by.eq(payment.by),
        ))
        .execute(conn)?;
    match paid {
        1 => Ok(()),
        n => Err(StoreError::Corrupt(format!(
            "dossier {dossier_id} has {n} open requests for payment, not one"
        ))),
    }
}

/// Cancels the dossier's open request for payment (the dossier ended before it was paid).
pub fn cancel_payment_request(
    conn: &mut DbConnection,
    dossier_id: i64,
    at: Instant,
) -> Result<(), StoreError> {
    diesel::update(open_payment_request(dossier_id))
        .set(dossier_payments::cancelled_at.eq(at))
        .execute(conn)?;
    Ok(())
}

/// The dossier's request for payment still awaited (at most one).
#[diesel::dsl::auto_type]
fn open_payment_request(dossier_id: i64) -> _ {
    dossier_payments::table
        .filter(dossier_payments::dossier_id.eq(dossier_id))
        .filter(dossier_payments::paid_at.is_null())
        .filter(dossier_payments::cancelled_at.is_null())
}

/// The dossier's requests for payment, oldest first.
pub fn payments_of(
    conn: &mut DbConnection,
    dossier_id: i64,
) -> Result<Vec<PaymentRecord>, StoreError> {
    Ok(dossier_payments::table
        .filter(dossier_payments::dossier_id.eq(dossier_id))
        .order((dossier_payments::requested_at, dossier_payments::id))
        .select(PaymentRecord::as_select())
        .load(conn)?)
}

pub fn close_pause(
    conn: &mut DbConnection,
    dossier_id: i64,
    at: Instant,
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

/// Writes `dossier` (every column) only if the stored row is still at `expected_version`
/// (optimistic concurrency).
pub fn update_dossier(
    conn: &mut DbConnection,
    dossier: &Dossier,
    expected_version: i32,
) -> Result<(), StoreError> {
    let step = step_column(dossier.current_step)?;
    let updated = diesel::update(
        dossiers::table
            .filter(dossiers::id.eq(dossier.id))
            .filter(dossiers::version.eq(expected_version)),
    )
    .set(dossier_values!(dossier, step))
    .execute(conn)?;
    if updated != 1 {
        return Err(StoreError::StaleVersion);
    }
    Ok(())
}

/// The procedure (code and version) of each of these dossiers.
pub fn procedures_of_dossiers(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<(i64, String, i32)>, StoreError> {
    Ok(dossiers::table
        .filter(dossiers::id.eq_any(ids.to_vec()))
        .select((
            dossiers::id,
            dossiers::procedure_code,
            dossiers::procedure_version,
        ))
        .load(conn)?)
}

/// Dossier list filters; every field is optional and they combine with AND.
#[derive(Debug, Clone, Default)]
pub struct DossierFilter {
    pub status: Option<Status>,
    pub procedure_code: Option<String>,
    pub unit_code: Option<String>,
    pub current_unit_code: Option<String>,
    pub channel: Option<Channel>,
    pub outcome: Option<Outcome>,
    /// Open (received or processing) and past due at `now`; dossiers awaiting a supplement are
    /// counted apart, as the report does.
    pub overdue_at: Option<Instant>,
    pub received_from: Option<Instant>,
    pub received_to: Option<Instant>,
    pub resolved_from: Option<Instant>,
    pub resolved_to: Option<Instant>,
    pub due_before: Option<Instant>,
    pub updated_since: Option<Instant>,
    pub external_ref: Option<String>,
    pub created_by_client: Option<String>,
    pub q: Option<String>,
    /// Only dossiers shared with one of these agencies (`None`: every agency).
    pub agencies: Option<Vec<String>>,
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
    pub result: Option<Resolution>,
    pub withdrawn_from: Option<Instant>,
    pub withdrawn_to: Option<Instant>,
    pub declined_from: Option<Instant>,
    pub declined_to: Option<Instant>,
    pub stopped_from: Option<Instant>,
    pub stopped_to: Option<Instant>,
    /// The dossier's first online payment was made in this range.
    pub paid_online_from: Option<Instant>,
    pub paid_online_to: Option<Instant>,
    /// Digitized (số hóa) as it stands now.
    pub digitized: Option<bool>,
    /// Open at this instant: received before it, neither resolved, withdrawn nor stopped before it.
    pub open_at: Option<Instant>,
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
            domain::{deadline::PauseKind, dossier::PaymentMethod, stats::OpenState},
            store::schema::{dossier_pauses, dossier_payments, dossiers},
        };
        let f: &$crate::store::dossiers::StatsFilter = $filter;
        let mut query = $query;
        $crate::store::filter_when!(query, &f.field, |v| dossiers::field.eq(v.clone()));
        $crate::store::filter_when!(query, f.result, |v| dossiers::result.eq(v));
        $crate::store::filter_when!(query, f.withdrawn_from, |v| dossiers::withdrawn_at.ge(v));
        $crate::store::filter_when!(query, f.withdrawn_to, |v| dossiers::withdrawn_at.le(v));
        $crate::store::filter_when!(query, f.declined_from, |v| dossiers::declined_at.ge(v));
        $crate::store::filter_when!(query, f.declined_to, |v| dossiers::declined_at.le(v));
        $crate::store::filter_when!(query, f.stopped_from, |v| dossiers::stopped_at.ge(v));
        $crate::store::filter_when!(query, f.stopped_to, |v| dossiers::stopped_at.le(v));
        // The first online payment, as the report counts it.
        let first_online_payment = || {
            dossier_payments::table
                .filter(dossier_payments::dossier_id.eq(dossiers::id))
                .filter(dossier_payments::method.eq(PaymentMethod::Online))
                .select(diesel::dsl::min(dossier_payments::paid_at))
                .single_value()
        };
        $crate::store::filter_when!(query, f.paid_online_from, |v| first_online_payment().ge(v));
        $crate::store::filter_when!(query, f.paid_online_to, |v| first_online_payment().le(v));
        $crate::store::filter_when!(query, f.digitized, |v| dossiers::digitized.eq(v));
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
                )
                .filter(
                    dossiers::stopped_at
                        .is_null()
                        .or(dossiers::stopped_at.ge(t)),
                );
            let paused_for = |kind: PauseKind| {
                diesel::dsl::exists(
                    dossier_pauses::table
                        .filter(dossier_pauses::dossier_id.eq(dossiers::id))
                        .filter(dossier_pauses::kind.eq(kind))
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
                Some(OpenState::AwaitingSupplement) => {
                    query.filter(paused_for(PauseKind::Supplement))
                }
                Some(OpenState::AwaitingPayment) => query.filter(paused_for(PauseKind::Payment)),
                Some(OpenState::Overdue) => query
                    .filter(diesel::dsl::not(paused_for(PauseKind::Supplement)))
                    .filter(diesel::dsl::not(paused_for(PauseKind::Payment)))
                    .filter(dossiers::due_at.lt(t)),
                Some(OpenState::NotYetDue) => query
                    .filter(diesel::dsl::not(paused_for(PauseKind::Supplement)))
                    .filter(diesel::dsl::not(paused_for(PauseKind::Payment)))
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
        $crate::store::filter_when!(query, filter.status, |status| dossiers::status.eq(status));
        $crate::store::filter_when!(query, &filter.procedure_code, |v| {
            dossiers::procedure_code.eq(v.clone())
        });
        $crate::store::filter_when!(query, &filter.unit_code, |v| dossiers::unit_code
            .eq(v.clone()));
        $crate::store::filter_when!(query, &filter.current_unit_code, |v| {
            dossiers::current_unit_code.eq(v.clone())
        });
        $crate::store::filter_when!(query, filter.channel, |v| dossiers::channel.eq(v));
        $crate::store::filter_when!(query, filter.outcome, |v| dossiers::outcome.eq(v));
        if let Some(now) = filter.overdue_at {
            query = query
                .filter(dossiers::status.eq_any(Status::CLOCK_RUNNING))
                .filter(dossiers::due_at.lt(now));
        }
        $crate::store::filter_when!(query, filter.received_from, |v| {
            dossiers::received_at.ge(v)
        });
        $crate::store::filter_when!(query, filter.received_to, |v| dossiers::received_at.le(v));
        $crate::store::filter_when!(query, filter.resolved_from, |v| {
            dossiers::resolved_at.ge(v)
        });
        $crate::store::filter_when!(query, filter.resolved_to, |v| dossiers::resolved_at.le(v));
        $crate::store::filter_when!(query, filter.due_before, |v| dossiers::due_at.lt(v));
        $crate::store::filter_when!(query, filter.updated_since, |v| {
            dossiers::updated_at.ge(v)
        });
        $crate::store::filter_when!(query, &filter.external_ref, |v| {
            dossiers::external_ref.eq(v.clone())
        });
        $crate::store::filter_when!(query, &filter.created_by_client, |v| {
            dossiers::created_by_client.eq(v.clone())
        });
        $crate::store::filter_when!(query, &filter.agencies, |codes| {
            $crate::store::agencies::shared_with_any(codes.clone())
        });
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
) -> Result<Vec<Dossier>, StoreError> {
    let query = dossiers::table.select(Dossier::as_select()).into_boxed();
    let mut query = apply_dossier_filter!(query, filter);
    query = match cursor {
        ListCursor::AfterId(id) => query.filter(dossiers::id.gt(*id)).order(dossiers::id),
        ListCursor::Start => query.order(dossiers::id),
    };
    Ok(query.limit(limit).load(conn)?)
}

/// A desk's queue (hồ sơ chờ xử lý): open dossiers at a step that match `filter`, the current step
/// due soonest first, after `after` (the last item's step due instant and id).
pub fn worklist(
    conn: &mut DbConnection,
    filter: &DossierFilter,
    after: Option<(Instant, i64)>,
    limit: i64,
) -> Result<Vec<Dossier>, StoreError> {
    let query = dossiers::table
        .select(Dossier::as_select())
        .filter(dossiers::status.eq_any(Status::OPEN))
        .filter(dossiers::current_step_due_at.is_not_null())
        .into_boxed();
    let mut query = apply_dossier_filter!(query, filter);
    if let Some((at, id)) = after {
        query = query.filter(
            dossiers::current_step_due_at
                .gt(at)
                .or(dossiers::current_step_due_at
                    .eq(at)
                    .and(dossiers::id.gt(id))),
        );
    }
    Ok(query
        .order((dossiers::current_step_due_at, dossiers::id))
        .limit(limit)
        .load(conn)?)
}
