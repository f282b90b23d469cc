//! Receipt, actions and reads of dossiers.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use super::{
    ServiceError, VersionPrecondition, sha256_hex,
    webhooks::{self, EventType},
};
use crate::{
    auth::policy::{
        Action, DossierListScope, DossierScope, Principal, authorize, can_see, list_filter,
        worklist_filter,
    },
    domain::{
        Instant,
        applicant::{Applicant, ApplicantDraft},
        calendar::to_local,
        deadline::{DueExplanation, Pause, PauseKind, time_used, working_time_left},
        dossier::{
            self, Channel, Command, Dossier, HistoryAction, PauseChange, PaymentMethod,
            PaymentRequest, Status,
        },
        limits::{self, EXTERNAL_REF_MAX_CHARS},
        procedure::ProcedureCode,
        worklist::{DeskFlag, desk_flags},
    },
    store::{
        DbConnection, StoreError, accounts, agencies,
        audit::AuditContext,
        calendar::CalendarCache,
        catalogue,
        dossiers::{
            self as store, DossierFilter, EventRecord, ListCursor, NewPayment, NewPaymentRequest,
            PauseRecord, PaymentRecord,
        },
        feed::{self, ChangePosition},
        outbox,
        types::{Details, Documents},
        write_transaction,
    },
};

/// Clock skew tolerated between a client saying "now" and this server.
const CLOCK_SKEW: TimeDelta = TimeDelta::seconds(60);

/// A receipt as it enters, checked: only the instant is left to compare with the clock.
#[derive(Debug, Clone)]
pub struct ReceiptInput {
    pub procedure_code: ProcedureCode,
    pub applicant: Applicant,
    pub channel: Channel,
    pub received_at: Option<DateTime<Utc>>,
    pub external_ref: Option<String>,
    /// Submitted online for the one-stop officer's intake check (status `submitted`) rather than
    /// received at once.
    pub intake_check: bool,
}

impl ReceiptInput {
    /// Parses a receipt request (the API's body, an imported row); every problem is named.
    pub fn parse(
        procedure_code: &str,
        applicant: ApplicantDraft,
        channel: Channel,
        received_at: Option<DateTime<Utc>>,
        external_ref: Option<String>,
        intake_check: bool,
    ) -> Result<Self, ServiceError> {
        let mut errors = Vec::new();
        if intake_check && channel != Channel::Online {
            errors.push((
                "intake_check".to_owned(),
                format!(
                    "only an online dossier goes through the intake check, not a {} one",
                    channel
                ),
            ));
        }
        let procedure_code = ProcedureCode::parse(procedure_code)
            .map_err(|message| errors.push(("procedure_code".to_owned(), message)))
            .ok();
        let applicant = Applicant::parse(applicant)
            .map_err(|e| errors.extend(e))
            .ok();
        limits::bounded(
            &mut errors,
            "external_ref",
            external_ref.as_deref(),
            EXTERNAL_REF_MAX_CHARS,
        );
        if external_ref.as_deref().is_some_and(|r| r.trim().is_empty()) {
            errors.push(("external_ref".into(), "must not be blank".into()));
        }
        match (procedure_code, applicant) {
            (Some(procedure_code), Some(applicant)) if errors.is_empty() => Ok(Self {
                procedure_code,
                applicant,
                channel,
                received_at,
                external_ref,
                intake_check,
            }),
            _ => Err(ServiceError::Invalid(errors)),
        }
    }
}

/// What the policy looks at to decide on this dossier, the agencies it is shared with included.
fn scope_of(
    conn: &mut DbConnection,
    who: &Principal,
    dossier: &Dossier,
) -> Result<DossierScope, StoreError> {
    // Only a confined caller's decision depends on the agencies the dossier is shared with; a
    // deployment-wide one is spared the query on every read and action.
    let agencies = if who.scope.is_everything() {
        Vec::new()
    } else {
        agencies::dossier_agencies(conn, dossier.id)?
    };
    Ok(DossierScope {
        current_unit_code: dossier.current_unit_code.clone(),
        created_by_client: dossier.created_by_client.clone(),
        agencies,
    })
}

/// Refuses `action` on the dossier; outside the caller's agencies the dossier does not exist for
/// them (404, the same answer as an unknown code), inside the rules table decides (403).
pub(super) fn authorize_on(
    conn: &mut DbConnection,
    who: &Principal,
    dossier: &Dossier,
    actions: &[Action],
) -> Result<(), ServiceError> {
    let scope = scope_of(conn, who, dossier)?;
    if !can_see(who, &scope) {
        return Err(ServiceError::NotFound(format!(
            "no dossier `{}`",
            dossier.code
        )));
    }
    for action in actions {
        authorize(who, action, Some(&scope))?;
    }
    Ok(())
}

/// Shares the dossier with the agency of the unit now holding its step (liên thông), so that
/// agency may read it and act on it from then on.
fn share_with_unit_agency(conn: &mut DbConnection, dossier: &Dossier) -> Result<(), ServiceError> {
    if let Some(unit) = &dossier.current_unit_code
        && let Some(agency) = agencies::agency_of_unit(conn, unit)?
    {
        agencies::share_dossier(conn, dossier.id, &agency)?;
    }
    Ok(())
}

fn principal_client(who: &Principal) -> Option<String> {
    (who.kind == crate::auth::policy::PrincipalKind::Client).then(|| who.subject.clone())
}

/// The moment an action or a receipt happened: now unless given, never in the future.
fn moment(
    field: &str,
    given: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ServiceError> {
    if given.is_some_and(|at| at > now + CLOCK_SKEW) {
        return Err(ServiceError::invalid(field, "must not be in the future"));
    }
    Ok(given.unwrap_or(now).min(now))
}

/// The result of a receipt: the dossier and its one-time lookup secret.
pub struct Received {
    pub dossier: Dossier,
    pub lookup_secret: String,
}

/// Receipt (tiếp nhận), in one transaction.
#[tracing::instrument(
    name = "dossiers.receive",
    skip_all,
    fields(procedure_code = %input.procedure_code, channel = %input.channel, by = %who.subject)
)]
pub fn receive(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    who: &Principal,
    audit: &AuditContext,
    input: ReceiptInput,
) -> Result<Received, ServiceError> {
    authorize(who, &Action::ReceiveDossier, None)?;
    let received_at = moment("received_at", input.received_at, Utc::now())?;
    write_transaction(conn, |conn| {
        receive_once(conn, calendars, who, audit, &input, received_at)
    })
}

/// The receipt itself, inside the caller's transaction.
fn receive_once(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    who: &Principal,
    audit: &AuditContext,
    input: &ReceiptInput,
    received_at: DateTime<Utc>,
) -> Result<Received, ServiceError> {
    let code = input.procedure_code.as_str();
    let procedure = catalogue::latest_procedure(conn, code).map_err(|e| match e {
        StoreError::NotFound => {
            ServiceError::invalid("procedure_code", format!("no procedure `{code}`"))
        }
        other => other.into(),
    })?;
    let lead_unit = catalogue::get_unit(conn, &procedure.unit_code)?;
    // A procedure of another agency does not exist for the caller, unless any agency may receive
    // it (Decree 118/2025: receipt regardless of administrative boundary).
    let receivable = who.scope.contains(&lead_unit.agency_code)
        || procedure.receivable_anywhere && who.scope.home().is_some();
    if !receivable {
        return Err(ServiceError::invalid(
            "procedure_code",
            format!("no procedure `{code}`"),
        ));
    }
    if !procedure.active {
        return Err(ServiceError::invalid(
            "procedure_code",
            "the procedure is not active",
        ));
    }
    let (revision, calendar) = calendars.get(conn)?;
    // A dossier submitted for the intake check has no receipt yet: its clock starts on acceptance.
    let receipt = if input.intake_check {
        None
    } else {
        Some(dossier::receive(&calendar, &procedure.rules, received_at)?)
    };
    let (status, action, event_type) = match receipt {
        Some(_) => (
            Status::Received,
            HistoryAction::Receive,
            EventType::Received,
        ),
        None => (
            Status::Submitted,
            HistoryAction::Submit,
            EventType::Submitted,
        ),
    };
    let local_day: NaiveDate = to_local(received_at)
        .map(|t| t.date())
        .ok_or_else(|| ServiceError::invalid("received_at", "out of range"))?;
    let lookup_secret = uuid::Uuid::new_v4().simple().to_string();
    let first_step = &procedure.rules.steps[0];
    let stamp = Instant::now();
    let received = Instant::from(received_at);
    // The day's number is taken last (below): receipts of one agency wait for each other from
    // that moment until they commit, so everything that does not need the number comes first,
    // under a provisional code no other transaction can see.
    let provisional_code = format!(
        "{}-pending-{}",
        lead_unit.agency_code,
        uuid::Uuid::new_v4().simple()
    );
    let mut dossier = store::insert_dossier(
        conn,
        &Dossier {
            id: 0,
            code: provisional_code,
            agency_code: lead_unit.agency_code.clone(),
            procedure_code: procedure.code.clone(),
            procedure_version: procedure.version,
            unit_code: procedure.unit_code.clone(),
            field: procedure.field.clone(),
            channel: input.channel,
            status,
            applicant: input.applicant.clone(),
            submitted_at: input.intake_check.then_some(received),
            received_at: receipt.as_ref().map(|_| received),
            due_at: receipt.as_ref().map(|r| r.due.due_at.into()),
            due_explanation: receipt.as_ref().map(|r| DueExplanation {
                computation: r.due.clone(),
                calendar_revision: revision,
            }),
            // A submitted dossier waits at the first step's unit (the one-stop counter), whose
            // reception checks it; its step starts with the acceptance.
            current_step: Some(0),
            current_unit_code: Some(first_step.unit_code.clone()),
            current_step_started_at: receipt.as_ref().map(|_| received),
            current_step_due_at: receipt.as_ref().map(|r| r.first_step_due_at.into()),
            paused_since: None,
            resolved_at: None,
            result: None,
            outcome: None,
            returned_at: None,
            withdrawn_at: None,
            declined_at: None,
            stopped_at: None,
            digitized: false,
            apology_due_at: None,
            external_ref: input.external_ref.clone(),
            lookup_secret_hash: sha256_hex(lookup_secret.as_bytes()),
            created_by: who.subject.clone(),
            created_by_client: principal_client(who),
            version: 1,
            created_at: stamp,
            updated_at: stamp,
        },
    )
    .map_err(|e| match e {
        StoreError::UniqueViolation(what) if what.contains("external_ref") => {
            ServiceError::Conflict(format!(
                "a dossier with external_ref `{}` exists already",
                input.external_ref.as_deref().unwrap_or_default()
            ))
        }
        other => other.into(),
    })?;
    store::insert_event(
        conn,
        &EventRecord {
            id: 0,
            dossier_id: dossier.id,
            seq: 1,
            action,
            at: received,
            status_after: status,
            step: None,
            step_name: None,
            unit_code: None,
            from_user: who.subject.clone(),
            to_user: None,
            to_unit_code: Some(first_step.unit_code.clone()),
            to_step: Some(0),
            step_due_at: None,
            step_outcome: None,
            note: Some(format!("channel: {}", input.channel)),
            details: Some(Details(match &receipt {
                Some(receipt) => serde_json::json!({
                    "due_at": receipt.due.due_at,
                    "first_step_due_at": receipt.first_step_due_at,
                }),
                None => serde_json::json!({"intake_check": true}),
            })),
        },
    )?;
    feed::record_change(conn, dossier.id, dossier.version, dossier.updated_at)?;
    // The competent agency owns the dossier; the agency of its first step's unit and the agency
    // whose counter received it (receipt anywhere) read it too.
    agencies::share_dossier(conn, dossier.id, &lead_unit.agency_code)?;
    share_with_unit_agency(conn, &dossier)?;
    if let Some(home) = who.scope.home() {
        agencies::share_dossier(conn, dossier.id, home)?;
    }
    let number = store::next_dossier_number(conn, &lead_unit.agency_code, local_day)?;
    if number > 9999 {
        return Err(ServiceError::Conflict(
            "the day's dossier numbers (9999) are exhausted for this agency".into(),
        ));
    }
    dossier.code = format!(
        "{}-{}-{number:04}",
        lead_unit.agency_code,
        local_day.format("%y%m%d")
    );
    store::set_dossier_code(conn, dossier.id, &dossier.code)?;
    // Statistics (issue 6): the report's counters, in this transaction. They are shared rows
    // too, so they are also written after the number.
    super::stats::on_dossier_change(conn, &calendar, &procedure.rules, None, &dossier)?;
    audit.record(
        conn,
        &format!("dossier.{action}"),
        "dossier",
        &dossier.code,
        Some(&dossier.agency_code),
        serde_json::json!({
            "procedure_code": dossier.procedure_code, "procedure_version": dossier.procedure_version,
            "channel": dossier.channel, "status": dossier.status,
            "received_at": receipt.is_some().then_some(received_at),
            "submitted_at": input.intake_check.then_some(received_at),
            "due_at": receipt.as_ref().map(|r| r.due.due_at),
            "external_ref": dossier.external_ref,
        }),
    )?;
    // The webhook outbox, in the receipt's transaction (the change feed is written above).
    outbox::enqueue(
        conn,
        &webhooks::dossier_event(
            event_type,
            &dossier,
            received_at,
            serde_json::json!({"actor": who.subject}),
        ),
    )?;
    Ok(Received {
        dossier,
        lookup_secret,
    })
}

pub(super) fn not_found(code: &str) -> impl Fn(StoreError) -> ServiceError + '_ {
    move |e| match e {
        StoreError::NotFound => ServiceError::NotFound(format!("no dossier `{code}`")),
        other => other.into(),
    }
}

pub fn get(conn: &mut DbConnection, who: &Principal, code: &str) -> Result<Dossier, ServiceError> {
    let dossier = store::get_dossier(conn, code).map_err(not_found(code))?;
    authorize_on(conn, who, &dossier, &[Action::ReadDossier])?;
    Ok(dossier)
}

/// A dossier with its control slip and pauses.
pub struct DossierDetail {
    pub dossier: Dossier,
    pub events: Vec<EventRecord>,
    pub pauses: Vec<PauseRecord>,
}

pub fn detail(
    conn: &mut DbConnection,
    who: &Principal,
    code: &str,
) -> Result<DossierDetail, ServiceError> {
    let dossier = get(conn, who, code)?;
    let events = store::history(conn, dossier.id)?;
    let pauses = store::pauses_of(conn, dossier.id)?;
    Ok(DossierDetail {
        dossier,
        events,
        pauses,
    })
}

/// A dossier's deadline as it stands: its pauses, the working time it used (to resolution or
/// withdrawal, else to now) and, while open, the working time left.
pub struct DeadlineView {
    pub dossier: Dossier,
    pub pauses: Vec<PauseRecord>,
    pub working_minutes_used: i64,
    pub working_minutes_left: Option<i64>,
}

/// The deadline explanation of a dossier at `now`; the time used is counted as the statistics
/// count it (from the last restart of the clock under the `restart` supplement policy).
pub fn deadline(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    who: &Principal,
    code: &str,
    now: DateTime<Utc>,
) -> Result<DeadlineView, ServiceError> {
    let dossier = get(conn, who, code)?;
    let pauses = store::pauses_of(conn, dossier.id)?;
    let procedure =
        catalogue::procedure_version(conn, &dossier.procedure_code, dossier.procedure_version)?;
    let (_, calendar) = calendars.get(conn)?;
    let corrupt = |e: &dyn std::fmt::Display| {
        StoreError::Corrupt(format!("dossier {} ({}): {e}", dossier.id, dossier.code))
    };
    let end = dossier
        .resolved_at
        .or(dossier.ended_without_result_at())
        .map_or(now, Instant::utc);
    let paused: Vec<Pause> = pauses.iter().map(PauseRecord::pause).collect();
    // A dossier not (yet) received has used no time and has none left to count.
    let used = match dossier.received_at {
        Some(received_at) => {
            time_used(
                &calendar,
                procedure.rules.time_limit,
                procedure.rules.supplement_policy,
                received_at.utc(),
                &paused,
                end,
            )
            .map_err(|e| corrupt(&e))?
            .used_minutes
        }
        None => 0,
    };
    let left = match dossier.due_at {
        Some(due_at) if dossier.status.is_open() => {
            Some(working_time_left(&calendar, due_at.utc(), now).map_err(|e| corrupt(&e))?)
        }
        _ => None,
    };
    Ok(DeadlineView {
        dossier,
        pauses,
        working_minutes_used: used,
        working_minutes_left: left,
    })
}

/// An action request beyond the command itself.
#[derive(Debug, Clone)]
pub struct ActionInput {
    pub command: Command,
    /// The versions `If-Match` admits.
    pub expected_version: VersionPrecondition,
    /// When it happened; defaults to now, never in the future.
    pub at: Option<DateTime<Utc>>,
    /// The person the dossier is handed to, checked by `recipients`.
    pub to_user: Option<String>,
    pub recipients: RecipientRule,
    pub note: Option<String>,
}

/// Whom an action may name as its recipient (`to_user`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientRule {
    /// The accounts live in this service: the recipient is an active account of the unit that
    /// holds the dossier after the action (or an account without a unit).
    LocalAccounts,
    /// The accounts live in an identity provider this service cannot list: a name with an account
    /// here is checked as for [`RecipientRule::LocalAccounts`], any other is taken as given.
    ExternalDirectory,
    /// An import copies an older system's control slip, whose people may have no account here.
    AsRecorded,
}

/// Refuses a recipient the rule does not admit, in the same words whatever the reason, so that
/// the answer tells nothing about other units' accounts.
fn check_recipient(
    conn: &mut DbConnection,
    rule: RecipientRule,
    name: &str,
    holder: Option<&str>,
) -> Result<(), ServiceError> {
    if rule == RecipientRule::AsRecorded {
        return Ok(());
    }
    let admitted = match accounts::find_user(conn, name)? {
        None => rule == RecipientRule::ExternalDirectory,
        Some(account) => {
            account.active
                && match (account.unit_code.as_deref(), holder) {
                    (Some(theirs), Some(holder)) => theirs == holder,
                    _ => true,
                }
        }
    };
    if admitted {
        return Ok(());
    }
    let message = match holder {
        Some(unit) => format!(
            "`{name}` is no active account of unit `{unit}`, which holds the dossier after this action"
        ),
        None => format!("`{name}` is no active account"),
    };
    Err(ServiceError::Invalid(vec![("to_user".to_owned(), message)]))
}

/// A dossier's requests for payment and payments, oldest first.
pub fn payments(
    conn: &mut DbConnection,
    who: &Principal,
    code: &str,
) -> Result<Vec<PaymentRecord>, ServiceError> {
    let dossier = get(conn, who, code)?;
    Ok(store::payments_of(conn, dossier.id)?)
}

/// What an action's control-slip entry says beyond the command's name.
fn action_details(command: &Command, transition: &dossier::Transition) -> serde_json::Value {
    match command {
        Command::RequestSupplement { reason, documents } => {
            serde_json::json!({"reason": reason, "documents": documents})
        }
        Command::Resolve { result, note } => {
            serde_json::json!({"result": result, "note": note})
        }
        Command::Withdraw { reason } => serde_json::json!({"reason": reason}),
        Command::Apologize { reason, new_due_at } => serde_json::json!({
            "reason": reason, "new_due_at": new_due_at,
            "issued_in_time": transition.apology.as_ref().map(|a| a.in_time),
        }),
        Command::SupplementReceived | Command::Accept => {
            serde_json::json!({"due_at": transition.due.as_ref().map(|d| d.due_at)})
        }
        Command::Decline { reason } | Command::Stop { reason } => {
            serde_json::json!({"reason": reason})
        }
        Command::RequestPayment { amount, reason } => {
            serde_json::json!({"amount": amount, "reason": reason})
        }
        Command::PaymentReceived {
            amount,
            method,
            receipt_no,
        } => serde_json::json!({
            "amount": amount, "method": method, "receipt_no": receipt_no,
            "due_at": transition.due.as_ref().map(|d| d.due_at),
        }),
        Command::Start | Command::Forward { .. } | Command::Return => serde_json::json!({}),
    }
}

/// One action (thao tác) on a dossier, in one transaction: the state, the version, the control slip
/// and the audit log change together or not at all.
#[tracing::instrument(
    name = "dossiers.act",
    skip_all,
    fields(code = %code, action = input.command.name(), by = %who.subject)
)]
pub fn act(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    who: &Principal,
    audit: &AuditContext,
    code: &str,
    input: ActionInput,
) -> Result<Dossier, ServiceError> {
    limits::check_action(
        &input.command,
        input.note.as_deref(),
        input.to_user.as_deref(),
    )?;
    let at = moment("at", input.at, Utc::now())?;
    write_transaction(conn, |conn| {
        let mut dossier = store::get_dossier_for_update(conn, code).map_err(not_found(code))?;
        // Whether the caller may see the dossier at all comes first, so that a 412 or 409 never
        // tells a stranger anything about it.
        authorize_on(
            conn,
            who,
            &dossier,
            &[
                Action::ReadDossier,
                Action::DossierAction(input.command.action()),
            ],
        )?;
        if !input.expected_version.admits(dossier.version) {
            return Err(input.expected_version.stale("dossier", dossier.version));
        }
        let procedure =
            catalogue::procedure_version(conn, &dossier.procedure_code, dossier.procedure_version)?;
        let (revision, calendar) = calendars.get(conn)?;
        let pauses = store::pauses_of(conn, dossier.id)?;
        // Payments change only while one is awaited.
        let payments = if dossier.status == Status::AwaitingPayment {
            store::payments_of(conn, dossier.id)?
        } else {
            Vec::new()
        };
        let payment_request = payments
            .iter()
            .rfind(|p| p.is_open())
            .map(|p| PaymentRequest {
                amount: p.requested_amount,
                resumes_to: p.status_before,
            });
        let last_event_at = store::last_event_at(conn, dossier.id)?;
        let state = dossier.state(
            pauses.iter().map(PauseRecord::pause).collect(),
            payment_request,
            last_event_at.utc(),
        );
        let transition = dossier::decide(&calendar, &procedure.rules, &state, &input.command, at)?;
        let before = dossier.clone();
        dossier.apply(&transition, at, revision, Utc::now());
        // A resolved dossier counts as digitized only with a file of its result.
        if matches!(input.command, Command::Resolve { .. }) {
            super::documents::refresh_digitized(conn, &procedure.listing.components, &mut dossier)?;
        }
        if let Some(name) = input.to_user.as_deref() {
            check_recipient(
                conn,
                input.recipients,
                name,
                dossier.current_unit_code.as_deref(),
            )?;
        }
        match &transition.pause {
            PauseChange::Open { at, kind } => {
                let (reason, documents) = match &input.command {
                    Command::RequestSupplement { reason, documents } => (reason, documents.clone()),
                    Command::RequestPayment { reason, .. } => (reason, Vec::new()),
                    _ => {
                        return Err(StoreError::Corrupt(
                            "the clock stopped for another command".into(),
                        )
                        .into());
                    }
                };
                store::open_pause(
                    conn,
                    dossier.id,
                    *kind,
                    (*at).into(),
                    reason,
                    &Documents(documents),
                    &who.subject,
                )?;
            }
            PauseChange::Close { at } => {
                store::close_pause(conn, dossier.id, (*at).into(), &who.subject)?;
            }
            PauseChange::None => {}
        }
        match &input.command {
            Command::RequestPayment { amount, reason } => store::request_payment(
                conn,
                &NewPaymentRequest {
                    dossier_id: dossier.id,
                    amount: *amount,
                    reason,
                    at: at.into(),
                    by: &who.subject,
                    status_before: before.status,
                },
            )?,
            // A dossier that ends while a payment is awaited cancels the request.
            Command::Withdraw { .. } | Command::Stop { .. }
                if before.status == Status::AwaitingPayment =>
            {
                store::cancel_payment_request(conn, dossier.id, at.into())?
            }
            Command::PaymentReceived {
                amount,
                method,
                receipt_no,
            } => store::record_payment(
                conn,
                dossier.id,
                &NewPayment {
                    amount: *amount,
                    method: *method,
                    receipt_no,
                    at: at.into(),
                    by: &who.subject,
                },
            )?,
            _ => {}
        }
        store::update_dossier(conn, &dossier, before.version)?;
        if dossier.current_unit_code != before.current_unit_code {
            share_with_unit_agency(conn, &dossier)?;
        }

        let step = |i: Option<usize>| i.and_then(|i| procedure.rules.steps.get(i));
        let details = action_details(&input.command, &transition);
        let slip = &transition.slip;
        store::insert_event(
            conn,
            &EventRecord {
                id: 0,
                dossier_id: dossier.id,
                seq: dossier.version,
                action: input.command.action(),
                at: at.into(),
                status_after: dossier.status,
                step: slip.step.and_then(|s| i32::try_from(s).ok()),
                step_name: step(slip.step).map(|s| s.name.clone()),
                unit_code: step(slip.step).map(|s| s.unit_code.clone()),
                from_user: who.subject.clone(),
                to_user: input.to_user.clone(),
                to_unit_code: slip.to_unit_code.clone(),
                to_step: slip.to_step.and_then(|s| i32::try_from(s).ok()),
                step_due_at: slip.step_due_at.map(Instant::from),
                step_outcome: slip.step_outcome,
                note: input.note.clone(),
                details: Some(Details(details.clone())),
            },
        )?;
        audit.record(conn, &format!("dossier.{}", input.command.name()), "dossier", &dossier.code, Some(&dossier.agency_code), serde_json::json!({
            "version": dossier.version, "status": {"before": before.status, "after": dossier.status},
            "at": at, "details": details,
        }))?;
        // The change feed and the webhook outbox, in the action's transaction.
        feed::record_change(conn, dossier.id, dossier.version, dossier.updated_at)?;
        outbox::enqueue(
            conn,
            &webhooks::dossier_event(
                EventType::for_command(&input.command),
                &dossier,
                at,
                event_details(&input, &transition, details, &who.subject),
            ),
        )?;
        // Statistics: time used at resolution and the report's counters, in this transaction.
        let paid_online_before =
            matches!(input.command, Command::PaymentReceived { .. }).then(|| {
                payments
                    .iter()
                    .filter(|p| p.method == Some(PaymentMethod::Online))
                    .filter_map(|p| p.paid_at)
                    .min()
            });
        super::stats::on_dossier_change(
            conn,
            &calendar,
            &procedure.rules,
            Some(super::stats::Before {
                dossier: &before,
                pauses: &pauses,
                paid_online_before,
            }),
            &dossier,
        )?;
        Ok(dossier)
    })
}

/// What a webhook says of an action beyond the dossier's new state.
fn event_details(
    input: &ActionInput,
    transition: &dossier::Transition,
    mut details: serde_json::Value,
    actor: &str,
) -> serde_json::Value {
    details["action"] = input.command.name().into();
    details["actor"] = actor.into();
    if let Command::Forward { .. } = &input.command {
        details["to_unit_code"] = transition.slip.to_unit_code.clone().into();
        details["to_step"] = transition.slip.to_step.into();
    }
    details
}

pub fn list(
    conn: &mut DbConnection,
    who: &Principal,
    mut filter: DossierFilter,
    cursor: &ListCursor,
    limit: i64,
) -> Result<Vec<Dossier>, ServiceError> {
    authorize(who, &Action::ReadDossiers, None)?;
    restrict_rows(&mut filter, who, list_filter(who));
    Ok(store::list_dossiers(conn, &filter, cursor, limit)?)
}

/// A dossier in a desk's queue, the step it is at and when that step is due, and why it needs
/// attention.
#[derive(Debug, Clone)]
pub struct WorkItem {
    pub dossier: Dossier,
    /// The dossier's receipt and due instants: a dossier on a desk has been received.
    pub received_at: Instant,
    pub due_at: Instant,
    pub step: usize,
    pub step_due_at: Instant,
    pub flags: Vec<DeskFlag>,
}

/// The caller's desk (hồ sơ chờ xử lý): the open dossiers whose current step sits in their unit
/// (every one in scope for an administrator), the step due soonest first, after `after`.
pub fn worklist(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    who: &Principal,
    now: DateTime<Utc>,
    after: Option<(Instant, i64)>,
    limit: i64,
) -> Result<Vec<WorkItem>, ServiceError> {
    authorize(who, &Action::ReadWorklist, None)?;
    let mut filter = DossierFilter::default();
    restrict_rows(&mut filter, who, worklist_filter(who));
    let (_, calendar) = calendars.get(conn)?;
    store::worklist(conn, &filter, after, limit)?
        .into_iter()
        .map(|dossier| {
            // The store lists only open (so received) dossiers at a step with a due instant.
            let (Some(step), Some(step_due_at), Some(received_at), Some(due_at)) = (
                dossier.open_step(),
                dossier.current_step_due_at,
                dossier.received_at,
                dossier.due_at,
            ) else {
                return Err(StoreError::Corrupt(format!(
                    "dossier {} is on a desk without an open step due",
                    dossier.code
                ))
                .into());
            };
            let flags = desk_flags(
                &calendar,
                dossier.status,
                due_at.utc(),
                Some(step_due_at.utc()),
                now,
            )?;
            Ok(WorkItem {
                dossier,
                received_at,
                due_at,
                step,
                step_due_at,
                flags,
            })
        })
        .collect()
}

/// Cuts a list to the caller's agencies only (every row of them).
pub(super) fn restrict_to_scope(filter: &mut DossierFilter, who: &Principal) {
    restrict_rows(filter, who, DossierListScope::All);
}

/// Cuts a list to the caller's agencies and to the rows the policy gives them.
fn restrict_rows(filter: &mut DossierFilter, who: &Principal, rows: DossierListScope) {
    if let Some(scope) = who.scope.codes() {
        filter.agencies = Some(match filter.agencies.take() {
            Some(asked) => asked.into_iter().filter(|a| scope.contains(a)).collect(),
            None => scope,
        });
    }
    match rows {
        DossierListScope::All => {}
        DossierListScope::CurrentUnit(unit) => filter.current_unit_code = Some(unit),
        DossierListScope::CreatedByClient(client) => filter.created_by_client = Some(client),
        DossierListScope::Nothing => filter.none = true,
    }
}

/// A page of the change feed and where a reader who has seen everything readable may resume.
pub struct ChangesPage {
    pub rows: Vec<(Dossier, ChangePosition)>,
    pub horizon: ChangePosition,
}

/// The change feed: the dossiers the caller may list whose latest change lies after `after`.
pub fn changes(
    conn: &mut DbConnection,
    who: &Principal,
    mut filter: DossierFilter,
    after: Option<ChangePosition>,
    limit: i64,
) -> Result<ChangesPage, ServiceError> {
    authorize(who, &Action::ReadDossiers, None)?;
    restrict_rows(&mut filter, who, list_filter(who));
    // The horizon first: it must not run ahead of what the page's own snapshot can see.
    let horizon = feed::horizon(conn)?;
    let rows = feed::list_changes(conn, &filter, after, limit)?;
    Ok(ChangesPage { rows, horizon })
}

/// The applicant's lookup: the dossier if code and secret match, otherwise `None` alike for an
/// unknown code and a wrong secret.
/// What the applicant sees of their dossier: the dossier, its procedure's name and, while a
/// supplement is awaited, what was asked for.
pub struct PublicView {
    pub dossier: Dossier,
    pub procedure_name: String,
    /// The open request for supplement: its reason and the documents it names.
    pub supplement: Option<(String, Vec<String>)>,
}

pub fn public_lookup(
    conn: &mut DbConnection,
    code: &str,
    secret: &str,
) -> Result<Option<PublicView>, ServiceError> {
    let record = match store::get_dossier(conn, code) {
        Ok(record) => record,
        Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let given = sha256_hex(secret.as_bytes());
    // Compare digests in constant time so the response time says nothing about the secret.
    let matches = given.len() == record.lookup_secret_hash.len()
        && given
            .bytes()
            .zip(record.lookup_secret_hash.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !matches {
        return Ok(None);
    }
    let procedure =
        catalogue::procedure_version(conn, &record.procedure_code, record.procedure_version)?;
    let supplement = if record.status == Status::AwaitingSupplement {
        store::pauses_of(conn, record.id)?
            .into_iter()
            .rfind(|p| p.ended_at.is_none() && p.kind == PauseKind::Supplement)
            .map(|p| (p.reason, p.documents.0))
    } else {
        None
    };
    Ok(Some(PublicView {
        dossier: record,
        procedure_name: procedure.name,
        supplement,
    }))
}
