//! Receipt, actions and reads of dossiers.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use super::{
    ServiceError, sha256_hex,
    webhooks::{self, EventType},
};
use crate::{
    auth::policy::{
        Action, DossierActionKind, DossierListScope, DossierScope, Principal, authorize,
        list_filter,
    },
    domain::{
        calendar::to_local,
        dossier::{self, Command, PauseChange, Status, outcome_str},
    },
    store::{
        DbConnection, StoreError,
        audit::AuditContext,
        calendar::CalendarCache,
        catalogue,
        dossiers::{
            self as store, DossierChanges, DossierFilter, DossierRecord, EventRecord, ListCursor,
            NewDossier, NewEvent, PauseRecord, naive, utc,
        },
        feed::{self, ChangePosition},
        outbox, write_transaction,
    },
};

/// Clock skew tolerated between a client saying "now" and this server.
const CLOCK_SKEW: TimeDelta = TimeDelta::seconds(60);

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq, Default)]
pub struct Applicant {
    pub name: String,
    pub id_number: Option<String>,
    pub organization: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ReceiptInput {
    pub procedure_code: String,
    pub applicant: Applicant,
    pub channel: String,
    pub received_at: Option<DateTime<Utc>>,
    pub external_ref: Option<String>,
}

pub use super::idempotency::{IdempotencyRequest, StoredReply, replay};

pub const CHANNELS: [&str; 3] = ["direct", "online", "postal"];

fn scope_of(record: &DossierRecord) -> DossierScope {
    DossierScope {
        current_unit_code: record.current_unit_code.clone(),
        created_by_client: record.created_by_client.clone(),
    }
}

fn principal_client(who: &Principal) -> Option<String> {
    (who.kind == crate::auth::policy::PrincipalKind::Client).then(|| who.subject.clone())
}

fn validate_receipt(input: &ReceiptInput, now: DateTime<Utc>) -> Result<(), ServiceError> {
    let mut errors = Vec::new();
    let mut bounded = |field: &str, value: Option<&String>, max: usize| {
        if let Some(v) = value
            && v.chars().count() > max
        {
            errors.push((field.to_owned(), format!("at most {max} characters")));
        }
    };
    bounded("applicant.name", Some(&input.applicant.name), 200);
    bounded(
        "applicant.id_number",
        input.applicant.id_number.as_ref(),
        32,
    );
    bounded(
        "applicant.organization",
        input.applicant.organization.as_ref(),
        300,
    );
    bounded("applicant.phone", input.applicant.phone.as_ref(), 32);
    bounded("applicant.email", input.applicant.email.as_ref(), 254);
    bounded("applicant.address", input.applicant.address.as_ref(), 500);
    bounded("external_ref", input.external_ref.as_ref(), 100);
    if input.applicant.name.trim().is_empty() {
        errors.push(("applicant.name".into(), "must not be empty".into()));
    }
    if let Some(email) = &input.applicant.email
        && !(email.contains('@') && !email.starts_with('@') && !email.ends_with('@'))
    {
        errors.push(("applicant.email".into(), "is not an e-mail address".into()));
    }
    if let Some(phone) = &input.applicant.phone
        && !phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        errors.push((
            "applicant.phone".into(),
            "may hold only digits, spaces and + - ( ) .".into(),
        ));
    }
    if let Some(id) = &input.applicant.id_number
        && !id.chars().all(|c| c.is_ascii_alphanumeric())
    {
        errors.push((
            "applicant.id_number".into(),
            "may hold only letters and digits".into(),
        ));
    }
    if !CHANNELS.contains(&input.channel.as_str()) {
        errors.push((
            "channel".into(),
            format!("must be one of {}", CHANNELS.join(", ")),
        ));
    }
    if let Some(at) = input.received_at
        && at > now + CLOCK_SKEW
    {
        errors.push(("received_at".into(), "must not be in the future".into()));
    }
    if input
        .external_ref
        .as_deref()
        .is_some_and(|r| r.trim().is_empty())
    {
        errors.push(("external_ref".into(), "must not be blank".into()));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Invalid(errors))
    }
}

/// The result of a receipt: the dossier and its one-time lookup secret.
pub struct Received {
    pub record: DossierRecord,
    pub lookup_secret: String,
}

/// Receipt (tiếp nhận). `render` turns the new dossier into the response body that an
/// `Idempotency-Key` stores, in the same transaction.
pub fn receive(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    who: &Principal,
    audit: &AuditContext,
    input: ReceiptInput,
    idem: Option<&IdempotencyRequest>,
    render: impl FnOnce(&Received) -> StoredReply,
) -> Result<StoredReply, ServiceError> {
    authorize(who, &Action::ReceiveDossier, None)?;
    let now = Utc::now();
    validate_receipt(&input, now)?;
    let received_at = input.received_at.unwrap_or(now).min(now);
    super::idempotency::run(conn, who, idem, |conn| {
        write_transaction(conn, |conn| {
            receive_once(conn, calendars, who, audit, &input, received_at, render)
        })
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
    render: impl FnOnce(&Received) -> StoredReply,
) -> Result<StoredReply, ServiceError> {
    let now = Utc::now();
    let procedure =
        catalogue::latest_procedure(conn, &input.procedure_code).map_err(|e| match e {
            StoreError::NotFound => ServiceError::invalid(
                "procedure_code",
                format!("no procedure `{}`", input.procedure_code),
            ),
            other => other.into(),
        })?;
    if !procedure.active {
        return Err(ServiceError::invalid(
            "procedure_code",
            "the procedure is not active",
        ));
    }
    let lead_unit = catalogue::get_unit(conn, &procedure.unit_code)?;
    let (revision, calendar) = calendars.get(conn)?;
    let receipt = dossier::receive(&calendar, &procedure.rules, received_at)?;
    let local_day: NaiveDate = to_local(received_at)
        .map(|t| t.date())
        .ok_or_else(|| ServiceError::invalid("received_at", "out of range"))?;
    let lookup_secret = uuid::Uuid::new_v4().simple().to_string();
    let mut explanation =
        serde_json::to_value(&receipt.due).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    explanation["calendar_revision"] = revision.into();
    let first_step = &procedure.rules.steps[0];
    let stamp = naive(now);
    // The day's number is taken last (below): receipts of one agency wait for each other from
    // that moment until they commit, so everything that does not need the number comes first,
    // under a provisional code no other transaction can see.
    let provisional_code = format!(
        "{}-pending-{}",
        lead_unit.agency_code,
        uuid::Uuid::new_v4().simple()
    );
    let mut record = store::insert_dossier(
        conn,
        &NewDossier {
            code: provisional_code,
            agency_code: lead_unit.agency_code.clone(),
            procedure_code: procedure.code.clone(),
            procedure_version: procedure.version,
            unit_code: procedure.unit_code.clone(),
            field: procedure.field.clone(),
            channel: input.channel.clone(),
            status: Status::Received.as_str().to_owned(),
            applicant_name: input.applicant.name.trim().to_owned(),
            applicant: serde_json::to_string(&input.applicant)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            received_at: naive(received_at),
            due_at: naive(receipt.due.due_at),
            due_explanation: explanation.to_string(),
            current_step: Some(0),
            current_unit_code: Some(first_step.unit_code.clone()),
            current_step_started_at: Some(naive(received_at)),
            current_step_due_at: Some(naive(receipt.first_step_due_at)),
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
    store::insert_event(conn, &NewEvent {
        dossier_id: record.id,
        seq: 1,
        action: "receive".into(),
        at: naive(received_at),
        status_after: Status::Received.as_str().into(),
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
        details: Some(serde_json::json!({"due_at": receipt.due.due_at, "first_step_due_at": receipt.first_step_due_at}).to_string()),
    })?;
    feed::record_change(conn, record.id, record.version, record.updated_at)?;
    let number = store::next_dossier_number(conn, &lead_unit.agency_code, local_day)?;
    if number > 9999 {
        return Err(ServiceError::Conflict(
            "the day's dossier numbers (9999) are exhausted for this agency".into(),
        ));
    }
    record.code = format!(
        "{}-{}-{number:04}",
        lead_unit.agency_code,
        local_day.format("%y%m%d")
    );
    store::set_dossier_code(conn, record.id, &record.code)?;
    // Statistics (issue 6): the report's counters, in this transaction. They are shared rows
    // too, so they are also written after the number.
    super::stats::on_dossier_change(conn, &calendar, &procedure.rules, None, &record)?;
    audit.record(
        conn,
        "dossier.receive",
        "dossier",
        &record.code,
        serde_json::json!({
            "procedure_code": record.procedure_code, "procedure_version": record.procedure_version,
            "channel": record.channel, "received_at": received_at, "due_at": receipt.due.due_at,
            "external_ref": record.external_ref,
        }),
    )?;
    // The webhook outbox, in the receipt's transaction (the change feed is written above).
    outbox::enqueue(
        conn,
        &webhooks::dossier_event(
            EventType::Received,
            &record,
            received_at,
            serde_json::json!({"actor": who.subject}),
        ),
    )?;
    Ok(render(&Received {
        record,
        lookup_secret,
    }))
}

fn load(conn: &mut DbConnection, code: &str) -> Result<DossierRecord, ServiceError> {
    store::get_dossier(conn, code).map_err(|e| match e {
        StoreError::NotFound => ServiceError::NotFound(format!("no dossier `{code}`")),
        other => other.into(),
    })
}

pub fn get(
    conn: &mut DbConnection,
    who: &Principal,
    code: &str,
) -> Result<DossierRecord, ServiceError> {
    let record = load(conn, code)?;
    authorize(who, &Action::ReadDossier, Some(&scope_of(&record)))?;
    Ok(record)
}

/// A dossier with its control slip and pauses.
pub struct DossierDetail {
    pub record: DossierRecord,
    pub events: Vec<EventRecord>,
    pub pauses: Vec<PauseRecord>,
}

pub fn detail(
    conn: &mut DbConnection,
    who: &Principal,
    code: &str,
) -> Result<DossierDetail, ServiceError> {
    let record = get(conn, who, code)?;
    let events = store::history(conn, record.id)?;
    let pauses = store::pauses_of(conn, record.id)?;
    Ok(DossierDetail {
        record,
        events,
        pauses,
    })
}

fn action_kind(command: &Command) -> DossierActionKind {
    match command {
        Command::Start => DossierActionKind::Start,
        Command::Forward { .. } => DossierActionKind::Forward,
        Command::RequestSupplement { .. } => DossierActionKind::RequestSupplement,
        Command::SupplementReceived => DossierActionKind::SupplementReceived,
        Command::Resolve { .. } => DossierActionKind::Resolve,
        Command::Return => DossierActionKind::Return,
        Command::Withdraw { .. } => DossierActionKind::Withdraw,
        Command::Apologize { .. } => DossierActionKind::Apologize,
    }
}

/// An action request beyond the command itself.
#[derive(Debug, Clone)]
pub struct ActionInput {
    pub command: Command,
    pub expected_version: i32,
    /// When it happened; defaults to now, never in the future.
    pub at: Option<DateTime<Utc>>,
    pub to_user: Option<String>,
    pub note: Option<String>,
}

/// One action (thao tác) on a dossier, in one transaction: the state, the version, the control slip
/// and the audit log change together or not at all.
pub fn act(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    who: &Principal,
    audit: &AuditContext,
    code: &str,
    input: ActionInput,
) -> Result<DossierRecord, ServiceError> {
    let now = Utc::now();
    if let Some(at) = input.at
        && at > now + CLOCK_SKEW
    {
        return Err(ServiceError::invalid("at", "must not be in the future"));
    }
    let at = input.at.unwrap_or(now).min(now);
    write_transaction(conn, |conn| {
        let record = store::get_dossier_for_update(conn, code).map_err(|e| match e {
            StoreError::NotFound => ServiceError::NotFound(format!("no dossier `{code}`")),
            other => other.into(),
        })?;
        // Whether the caller may see the dossier at all comes first, so that a 412 or 409 never
        // tells a stranger anything about it.
        authorize(who, &Action::ReadDossier, Some(&scope_of(&record)))?;
        authorize(
            who,
            &Action::DossierAction(action_kind(&input.command)),
            Some(&scope_of(&record)),
        )?;
        if record.version != input.expected_version {
            return Err(ServiceError::StaleVersion(format!(
                "the dossier is at version {}, not {}; read it again and retry",
                record.version, input.expected_version
            )));
        }
        let procedure =
            catalogue::procedure_version(conn, &record.procedure_code, record.procedure_version)?;
        let (revision, calendar) = calendars.get(conn)?;
        let pauses = store::pauses_of(conn, record.id)?;
        let last_event_at = utc(store::last_event_at(conn, record.id)?);
        let state = record.state(&pauses, last_event_at)?;
        let transition = dossier::decide(&calendar, &procedure.rules, &state, &input.command, at)?;

        let mut changes = DossierChanges::from_record(&record);
        changes.status = transition.status.as_str().to_owned();
        changes.current_step = transition.current_step.and_then(|s| i32::try_from(s).ok());
        changes.current_unit_code = transition.current_unit_code.clone();
        changes.current_step_started_at = transition.current_step_started_at.map(naive);
        changes.current_step_due_at = transition.current_step_due_at.map(naive);
        if let Some(due) = &transition.due {
            changes.due_at = naive(due.due_at);
            let mut explanation =
                serde_json::to_value(due).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            explanation["calendar_revision"] = revision.into();
            changes.due_explanation = explanation.to_string();
        }
        if let Some((result, outcome)) = transition.resolved {
            changes.resolved_at = Some(naive(at));
            changes.result = Some(result.as_str().to_owned());
            changes.outcome = Some(outcome_str(outcome).to_owned());
            changes.current_unit_code = None;
        }
        match &transition.status {
            Status::Returned => changes.returned_at = Some(naive(at)),
            Status::Withdrawn => {
                changes.withdrawn_at = Some(naive(at));
                changes.current_unit_code = None;
            }
            _ => {}
        }
        if let Some(apology) = &transition.apology {
            changes.apology_due_at = Some(naive(apology.new_due_at));
        }
        match &transition.pause {
            PauseChange::Open { at } => {
                let Command::RequestSupplement { reason, documents } = &input.command else {
                    return Err(
                        StoreError::Corrupt("pause opened by another command".into()).into(),
                    );
                };
                store::open_pause(conn, record.id, naive(*at), reason, documents, &who.subject)?;
                changes.paused_since = Some(naive(*at));
            }
            PauseChange::Close { at } => {
                store::close_pause(conn, record.id, naive(*at), &who.subject)?;
                changes.paused_since = None;
            }
            PauseChange::None => {}
        }
        store::update_dossier(conn, record.id, record.version, &changes)?;

        let step_name = |i: Option<usize>| {
            i.and_then(|i| procedure.rules.steps.get(i))
                .map(|s| s.name.clone())
        };
        let step_unit = |i: Option<usize>| {
            i.and_then(|i| procedure.rules.steps.get(i))
                .map(|s| s.unit_code.clone())
        };
        let details = match &input.command {
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
            Command::SupplementReceived => {
                serde_json::json!({"due_at": transition.due.as_ref().map(|d| d.due_at)})
            }
            _ => serde_json::json!({}),
        };
        store::insert_event(
            conn,
            &NewEvent {
                dossier_id: record.id,
                seq: changes.version,
                action: input.command.name().to_owned(),
                at: naive(at),
                status_after: changes.status.clone(),
                step: transition.slip.step.and_then(|s| i32::try_from(s).ok()),
                step_name: step_name(transition.slip.step),
                unit_code: step_unit(transition.slip.step),
                from_user: who.subject.clone(),
                to_user: input.to_user.clone(),
                to_unit_code: transition.slip.to_unit_code.clone(),
                to_step: transition.slip.to_step.and_then(|s| i32::try_from(s).ok()),
                step_due_at: transition.slip.step_due_at.map(naive),
                step_outcome: transition
                    .slip
                    .step_outcome
                    .map(|o| outcome_str(o).to_owned()),
                note: input.note.clone(),
                details: Some(details.to_string()),
            },
        )?;
        audit.record(conn, &format!("dossier.{}", input.command.name()), "dossier", &record.code, serde_json::json!({
            "version": changes.version, "status": {"before": record.status, "after": changes.status},
            "at": at, "details": details,
        }))?;
        let updated = store::get_dossier(conn, code)?;
        // The change feed and the webhook outbox, in the action's transaction.
        feed::record_change(conn, updated.id, updated.version, updated.updated_at)?;
        outbox::enqueue(
            conn,
            &webhooks::dossier_event(
                EventType::for_command(&input.command),
                &updated,
                at,
                event_details(&input, &transition, details, &who.subject),
            ),
        )?;
        // Statistics: time used at resolution and the report's counters, in this transaction.
        super::stats::on_dossier_change(
            conn,
            &calendar,
            &procedure.rules,
            Some((&record, &pauses)),
            &updated,
        )?;
        Ok(updated)
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
) -> Result<Vec<DossierRecord>, ServiceError> {
    authorize(who, &Action::ReadDossiers, None)?;
    restrict_to_scope(&mut filter, who);
    Ok(store::list_dossiers(conn, &filter, cursor, limit)?)
}

fn restrict_to_scope(filter: &mut DossierFilter, who: &Principal) {
    match list_filter(who) {
        DossierListScope::All => {}
        DossierListScope::CurrentUnit(unit) => filter.current_unit_code = Some(unit),
        DossierListScope::CreatedByClient(client) => filter.created_by_client = Some(client),
        DossierListScope::Nothing => filter.none = true,
    }
}

/// A page of the change feed and where a reader who has seen everything readable may resume.
pub struct ChangesPage {
    pub rows: Vec<(DossierRecord, ChangePosition)>,
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
    restrict_to_scope(&mut filter, who);
    // The horizon first: it must not run ahead of what the page's own snapshot can see.
    let horizon = feed::horizon(conn)?;
    let rows = feed::list_changes(conn, &filter, after, limit)?;
    Ok(ChangesPage { rows, horizon })
}

/// The applicant's lookup: the dossier if code and secret match, otherwise `None` alike for an
/// unknown code and a wrong secret.
pub fn public_lookup(
    conn: &mut DbConnection,
    code: &str,
    secret: &str,
) -> Result<Option<(DossierRecord, String)>, ServiceError> {
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
    Ok(Some((record, procedure.name)))
}
