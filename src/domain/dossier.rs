//! The dossier's life (vòng đời hồ sơ): receipt, processing through the ISO steps, requests for
//! supplement, resolution, return, withdrawal and apology, as a pure state machine.
//!
//! ```text
//! received ──start──▶ processing ──forward──▶ processing (next step) …
//!    │                   │   ▲
//!    │                   │   └─supplement_received── awaiting_supplement ◀─request_supplement─┘
//!    │                   ├──resolve(approved|refused)──▶ resolved ──return──▶ returned
//!    └──withdraw (any open state)──▶ withdrawn
//! ```
//!
//! Product rules made explicit here:
//! - On receipt the dossier is at the procedure's first step (usually the one-stop unit's), whose
//!   own due instant counts from receipt. `start` puts it into processing at that step; `forward`
//!   hands it to the next step, or to the step of a named unit.
//! - Every hand-over (forward, resolve) closes the current step and judges it early / on time / late
//!   against the step's own due instant.
//! - A request for supplement stops both the dossier's and the step's clock; on
//!   `supplement_received` they resume (paused working time is added) or restart, per procedure.
//! - `apologize` records a new appointment; the dossier is still judged against its statutory due
//!   instant. It is "in time" when issued at least one working day before that instant.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{
    Instant,
    applicant::Applicant,
    calendar::{Calendar, CalendarError},
    classification::{Outcome, classify},
    deadline::{
        DeadlineError, DueComputation, DueExplanation, Pause, PauseKind, SupplementPolicy,
        compute_due, step_due_at,
    },
    procedure::ProcedureRules,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Đã tiếp nhận.
    Received,
    /// Đang xử lý.
    Processing,
    /// Chờ bổ sung hồ sơ: the clock is stopped.
    AwaitingSupplement,
    /// Có kết quả.
    Resolved,
    /// Đã trả kết quả.
    Returned,
    /// Đã rút hồ sơ.
    Withdrawn,
    /// Mới đăng ký: submitted online, waiting for the one-stop officer's intake check; no
    /// receipt and no due instant yet.
    Submitted,
    /// Không được tiếp nhận: declined at the intake check with a reason; final, never judged.
    Declined,
    /// Chờ thực hiện nghĩa vụ tài chính: the clock is stopped until the applicant pays.
    AwaitingPayment,
    /// Dừng xử lý: processing stopped with a reason (e.g. the dossier was never completed); final.
    Stopped,
}

wire_names!(Status {
    Received => "received",
    Processing => "processing",
    AwaitingSupplement => "awaiting_supplement",
    Resolved => "resolved",
    Returned => "returned",
    Withdrawn => "withdrawn",
    Submitted => "submitted",
    Declined => "declined",
    AwaitingPayment => "awaiting_payment",
    Stopped => "stopped",
});

impl Status {
    /// The statuses in which the clock runs (see [`Status::clock_running`]).
    pub const CLOCK_RUNNING: [Status; 2] = [Self::Received, Self::Processing];

    /// Open with its clock running: received or processing. A dossier awaiting a supplement is
    /// open but paused, so it is never counted as overdue.
    pub fn clock_running(self) -> bool {
        Self::CLOCK_RUNNING.contains(&self)
    }

    /// Whether a dossier in this status, due at `due`, is overdue at `now` (đang quá hạn).
    pub fn is_overdue(self, due: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        self.clock_running() && crate::domain::classification::is_overdue(due, now)
    }

    /// Received and still being handled: not yet resolved, nor ended without a result.
    pub const OPEN: [Status; 4] = [
        Self::Received,
        Self::Processing,
        Self::AwaitingSupplement,
        Self::AwaitingPayment,
    ];

    /// Still being handled (see [`Status::OPEN`]).
    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }

    /// The clock stands still, for a supplement or a payment.
    pub fn is_paused(self) -> bool {
        matches!(self, Self::AwaitingSupplement | Self::AwaitingPayment)
    }

    /// The national portal's status code (Cổng DVCQG, TrangThaiHoSo), the one mapping of it.
    pub const fn national_code(self) -> u8 {
        match self {
            Self::Submitted => 1,
            Self::Received => 2,
            Self::Declined => 3,
            Self::Processing => 4,
            Self::AwaitingSupplement => 5,
            Self::AwaitingPayment => 6,
            Self::Withdrawn => 7,
            Self::Stopped => 8,
            Self::Resolved => 9,
            Self::Returned => 10,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    Approved,
    Refused,
}

wire_names!(Resolution {
    Approved => "approved",
    Refused => "refused",
});

/// How the applicant paid (hình thức thu phí, lệ phí).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// Trực tuyến: through the payment platform of the portal.
    Online,
    /// Tiền mặt: at the counter.
    Cash,
    /// Chuyển khoản: bank transfer.
    Transfer,
}

wire_names!(PaymentMethod {
    Online => "online",
    Cash => "cash",
    Transfer => "transfer",
});

/// How a dossier came in (kênh tiếp nhận).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Trực tiếp: at the counter.
    Direct,
    /// Trực tuyến: through the e-portal.
    Online,
    /// Qua bưu chính: by post.
    Postal,
}

wire_names!(Channel {
    Direct => "direct",
    Online => "online",
    Postal => "postal",
});

/// What a control-slip entry records: the receipt or one of the commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryAction {
    Receive,
    Start,
    Forward,
    RequestSupplement,
    SupplementReceived,
    Resolve,
    Return,
    Withdraw,
    Apologize,
    /// The e-portal submitted the dossier for the intake check (nộp trực tuyến).
    Submit,
    Accept,
    Decline,
    RequestPayment,
    PaymentReceived,
    Stop,
}

wire_names!(HistoryAction {
    Receive => "receive",
    Start => "start",
    Forward => "forward",
    RequestSupplement => "request_supplement",
    SupplementReceived => "supplement_received",
    Resolve => "resolve",
    Return => "return",
    Withdraw => "withdraw",
    Apologize => "apologize",
    Submit => "submit",
    Accept => "accept",
    Decline => "decline",
    RequestPayment => "request_payment",
    PaymentReceived => "payment_received",
    Stop => "stop",
});

/// What someone does to a dossier.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Start,
    Forward {
        to_unit_code: Option<String>,
    },
    RequestSupplement {
        reason: String,
        documents: Vec<String>,
    },
    SupplementReceived,
    Resolve {
        result: Resolution,
        note: Option<String>,
    },
    Return,
    Withdraw {
        reason: String,
    },
    Apologize {
        reason: String,
        new_due_at: DateTime<Utc>,
    },
    /// Tiếp nhận after the intake check: the time limit counts from now on.
    Accept,
    /// Từ chối tiếp nhận.
    Decline {
        reason: String,
    },
    /// Yêu cầu thực hiện nghĩa vụ tài chính: `amount` in VND.
    RequestPayment {
        amount: i64,
        reason: String,
    },
    PaymentReceived {
        amount: i64,
        method: PaymentMethod,
        receipt_no: String,
    },
    /// Dừng xử lý.
    Stop {
        reason: String,
    },
}

impl Command {
    /// The control-slip action this command records.
    pub fn action(&self) -> HistoryAction {
        match self {
            Self::Start => HistoryAction::Start,
            Self::Forward { .. } => HistoryAction::Forward,
            Self::RequestSupplement { .. } => HistoryAction::RequestSupplement,
            Self::SupplementReceived => HistoryAction::SupplementReceived,
            Self::Resolve { .. } => HistoryAction::Resolve,
            Self::Return => HistoryAction::Return,
            Self::Withdraw { .. } => HistoryAction::Withdraw,
            Self::Apologize { .. } => HistoryAction::Apologize,
            Self::Accept => HistoryAction::Accept,
            Self::Decline { .. } => HistoryAction::Decline,
            Self::RequestPayment { .. } => HistoryAction::RequestPayment,
            Self::PaymentReceived { .. } => HistoryAction::PaymentReceived,
            Self::Stop { .. } => HistoryAction::Stop,
        }
    }

    pub fn name(&self) -> &'static str {
        self.action().as_str()
    }

    /// The statuses in which this command is legal.
    pub fn allowed_from(&self) -> &'static [Status] {
        self.action().allowed_from()
    }
}

impl HistoryAction {
    /// The statuses in which a command of this kind is legal; none for the entries a receipt
    /// writes.
    pub fn allowed_from(self) -> &'static [Status] {
        use Status::*;
        match self {
            Self::Receive | Self::Submit => &[],
            Self::Start => &[Received],
            Self::Forward | Self::RequestSupplement | Self::Resolve => &[Processing],
            Self::SupplementReceived => &[AwaitingSupplement],
            Self::Return => &[Resolved],
            Self::Withdraw | Self::Apologize | Self::Stop => &Status::OPEN,
            Self::Accept | Self::Decline => &[Submitted],
            Self::RequestPayment => &[Received, Processing],
            Self::PaymentReceived => &[AwaitingPayment],
        }
    }

    /// The commands legal in `status`, by name.
    pub fn allowed_in(status: Status) -> Vec<&'static str> {
        Self::ALL
            .into_iter()
            .filter(|a| a.allowed_from().contains(&status))
            .map(Self::as_str)
            .collect()
    }
}

/// A dossier as it is kept (hồ sơ): what the store returns and what a use case changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Dossier {
    pub id: i64,
    /// `{agency_code}-{YYMMDD}-{NNNN}`.
    pub code: String,
    pub agency_code: String,
    pub procedure_code: String,
    pub procedure_version: i32,
    /// The procedure's lead unit.
    pub unit_code: String,
    /// The procedure's field (lĩnh vực), as copied at receipt.
    pub field: String,
    pub channel: Channel,
    pub status: Status,
    pub applicant: Applicant,
    /// Nộp trực tuyến: when the e-portal submitted it for the intake check, for an online dossier
    /// that went through one.
    pub submitted_at: Option<Instant>,
    /// Tiếp nhận: when the counter took the dossier in (or accepted it after the intake check);
    /// none while submitted or after a decline.
    pub received_at: Option<Instant>,
    /// The statutory due instant after pauses; none until received.
    pub due_at: Option<Instant>,
    /// How `due_at` was computed, for the deadline explanation.
    pub due_explanation: Option<DueExplanation>,
    /// The step of the procedure the dossier is at, from 0, and the unit that holds it.
    pub current_step: Option<usize>,
    pub current_unit_code: Option<String>,
    /// When the current step began and when it is due by its own allotted hours.
    pub current_step_started_at: Option<Instant>,
    pub current_step_due_at: Option<Instant>,
    /// Since when the clock is stopped awaiting a supplement.
    pub paused_since: Option<Instant>,
    /// Có kết quả: when, which result, and how it stood against `due_at`.
    pub resolved_at: Option<Instant>,
    pub result: Option<Resolution>,
    pub outcome: Option<Outcome>,
    /// Trả kết quả, or the applicant's withdrawal.
    pub returned_at: Option<Instant>,
    pub withdrawn_at: Option<Instant>,
    /// Declined at the intake check, or processing stopped.
    pub declined_at: Option<Instant>,
    pub stopped_at: Option<Instant>,
    /// Holds a file for its components and, once resolved, one of its result (số hóa); kept by
    /// the document uploads and the resolution.
    pub digitized: bool,
    /// The new appointment of the latest apology.
    pub apology_due_at: Option<Instant>,
    /// The e-portal's own reference; unique.
    pub external_ref: Option<String>,
    /// The applicant's lookup secret, hashed.
    pub lookup_secret_hash: String,
    /// Who received it, and the machine client when it came through the e-portal.
    pub created_by: String,
    pub created_by_client: Option<String>,
    /// Bumped by every change (optimistic concurrency).
    pub version: i32,
    pub created_at: Instant,
    pub updated_at: Instant,
}

impl Dossier {
    /// What the state machine needs, with the dossier's pauses, its open request for payment and
    /// the instant of its latest control-slip entry.
    pub fn state(
        &self,
        pauses: Vec<Pause>,
        payment_request: Option<PaymentRequest>,
        last_event_at: DateTime<Utc>,
    ) -> DossierState {
        DossierState {
            status: self.status,
            received_at: self.received_at.map(Instant::utc),
            due_at: self.due_at.map(Instant::utc),
            current_step: self.current_step,
            current_step_started_at: self.current_step_started_at.map(Instant::utc),
            current_step_due_at: self.current_step_due_at.map(Instant::utc),
            pauses,
            payment_request,
            last_event_at,
        }
    }

    /// Open with its clock running and past its due instant at `now`.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.due_at
            .is_some_and(|due| self.status.is_overdue(due.utc(), now))
    }

    /// When the dossier ended without a result (withdrawn, declined or stopped), if it did.
    pub fn ended_without_result_at(&self) -> Option<Instant> {
        self.withdrawn_at.or(self.declined_at).or(self.stopped_at)
    }

    /// The current step, while the dossier is open.
    pub fn open_step(&self) -> Option<usize> {
        self.current_step.filter(|_| self.status.is_open())
    }

    /// Applies a decided transition made at `at`, as of `now` (the calendar revision explains a
    /// recomputed due instant); bumps the version.
    pub fn apply(
        &mut self,
        transition: &Transition,
        at: DateTime<Utc>,
        calendar_revision: i64,
        now: DateTime<Utc>,
    ) {
        let at = Instant::from(at);
        self.status = transition.status;
        self.current_step = transition.current_step;
        self.current_unit_code = transition.current_unit_code.clone();
        self.current_step_started_at = transition.current_step_started_at.map(Instant::from);
        self.current_step_due_at = transition.current_step_due_at.map(Instant::from);
        if transition.receipt {
            self.received_at = Some(at);
        }
        if let Some(due) = &transition.due {
            self.due_at = Some(due.due_at.into());
            self.due_explanation = Some(DueExplanation {
                computation: due.clone(),
                calendar_revision,
            });
        }
        if let Some((result, outcome)) = transition.resolved {
            self.resolved_at = Some(at);
            self.result = Some(result);
            self.outcome = Some(outcome);
            self.current_unit_code = None;
        }
        match transition.status {
            Status::Returned => self.returned_at = Some(at),
            Status::Withdrawn => {
                self.withdrawn_at = Some(at);
                self.current_unit_code = None;
            }
            Status::Declined => {
                self.declined_at = Some(at);
                self.current_unit_code = None;
            }
            Status::Stopped => {
                self.stopped_at = Some(at);
                self.current_unit_code = None;
            }
            _ => {}
        }
        if let Some(apology) = &transition.apology {
            self.apology_due_at = Some(apology.new_due_at.into());
        }
        match transition.pause {
            PauseChange::Open { at, .. } => self.paused_since = Some(at.into()),
            PauseChange::Close { .. } => self.paused_since = None,
            PauseChange::None => {}
        }
        self.version += 1;
        self.updated_at = now.into();
    }
}

/// A request for payment still waiting for the applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentRequest {
    /// In VND.
    pub amount: i64,
    /// The status the dossier goes back to once paid.
    pub resumes_to: Status,
}

/// The part of a stored dossier the state machine needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DossierState {
    pub status: Status,
    /// Both set once the dossier is received.
    pub received_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub current_step: Option<usize>,
    pub current_step_started_at: Option<DateTime<Utc>>,
    pub current_step_due_at: Option<DateTime<Utc>>,
    /// Every pause so far, the open one (if any) last.
    pub pauses: Vec<Pause>,
    /// The open request for payment, while awaiting payment.
    pub payment_request: Option<PaymentRequest>,
    /// The instant of the latest control-slip entry; actions cannot be dated before it.
    pub last_event_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DossierError {
    #[error(
        "`{action}` is not allowed while the dossier is {}; allowed now: {}",
        status.as_str(),
        allowed_now(*status)
    )]
    IllegalTransition {
        action: &'static str,
        status: Status,
    },
    /// A received status without its receipt instant: the stored row contradicts itself.
    #[error("the dossier is {} but has no receipt or due instant", status.as_str())]
    NotReceived { status: Status },
    #[error("the dossier is at the last step of its procedure; resolve it instead")]
    NoNextStep,
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Deadline(#[from] DeadlineError),
}

impl From<CalendarError> for DossierError {
    fn from(e: CalendarError) -> Self {
        Self::Deadline(DeadlineError::Calendar(e))
    }
}

/// The commands legal in `status`, for an error message.
fn allowed_now(status: Status) -> String {
    let allowed = HistoryAction::allowed_in(status);
    if allowed.is_empty() {
        "none (the dossier is closed)".to_owned()
    } else {
        allowed.join(", ")
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> DossierError {
    DossierError::Invalid {
        field,
        message: message.into(),
    }
}

/// The opening of a dossier.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub due: DueComputation,
    pub first_step_due_at: DateTime<Utc>,
}

/// Receipt (tiếp nhận): the statutory due instant and the first step's own due instant.
pub fn receive(
    calendar: &Calendar,
    rules: &ProcedureRules,
    received_at: DateTime<Utc>,
) -> Result<Receipt, DossierError> {
    let first = rules
        .steps
        .first()
        .ok_or_else(|| invalid("procedure_code", "the procedure has no steps"))?;
    let due = compute_due(
        calendar,
        received_at,
        rules.time_limit,
        &[],
        rules.supplement_policy,
        received_at,
    )?;
    let first_step_due_at = step_due_at(calendar, received_at, first.minutes())?;
    Ok(Receipt {
        due,
        first_step_due_at,
    })
}

/// How a command changes the pauses.
#[derive(Debug, Clone, PartialEq)]
pub enum PauseChange {
    None,
    Open { at: DateTime<Utc>, kind: PauseKind },
    Close { at: DateTime<Utc> },
}

/// The control-slip entry (phiếu kiểm soát) a command writes.
#[derive(Debug, Clone, PartialEq)]
pub struct SlipEntry {
    /// The step the dossier was at when the action happened.
    pub step: Option<usize>,
    /// Where the dossier went, for hand-overs.
    pub to_step: Option<usize>,
    pub to_unit_code: Option<String>,
    /// The step's own due instant and how the step finished, when the action closed it.
    pub step_due_at: Option<DateTime<Utc>>,
    pub step_outcome: Option<Outcome>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Apology {
    pub new_due_at: DateTime<Utc>,
    /// Issued at least one working day before the statutory due instant.
    pub in_time: bool,
}

/// Everything a command changes; the storage layer applies it in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub status: Status,
    /// The dossier is received now (accepted after the intake check): `at` is its receipt instant.
    pub receipt: bool,
    pub current_step: Option<usize>,
    pub current_unit_code: Option<String>,
    pub current_step_started_at: Option<DateTime<Utc>>,
    pub current_step_due_at: Option<DateTime<Utc>>,
    /// The recomputed statutory due instant, when it changed.
    pub due: Option<DueComputation>,
    pub resolved: Option<(Resolution, Outcome)>,
    pub pause: PauseChange,
    pub apology: Option<Apology>,
    pub slip: SlipEntry,
}

/// Applies `command` at `at` to a dossier in `state`, judged by `rules` on `calendar`.
pub fn decide(
    calendar: &Calendar,
    rules: &ProcedureRules,
    state: &DossierState,
    command: &Command,
    at: DateTime<Utc>,
) -> Result<Transition, DossierError> {
    if !command.allowed_from().contains(&state.status) {
        return Err(DossierError::IllegalTransition {
            action: command.name(),
            status: state.status,
        });
    }
    if at < state.last_event_at {
        return Err(invalid(
            "at",
            format!(
                "must not be before the previous action ({})",
                state.last_event_at
            ),
        ));
    }
    let unit_of = |step: Option<usize>| {
        step.and_then(|i| rules.steps.get(i))
            .map(|s| s.unit_code.clone())
    };
    // Every command but the intake check's needs the receipt's clock; the status checked above
    // guarantees it, so a missing one is a contradiction in the stored dossier.
    let clock = || {
        state
            .received_at
            .zip(state.due_at)
            .ok_or(DossierError::NotReceived {
                status: state.status,
            })
    };
    let mut transition = Transition {
        status: state.status,
        receipt: false,
        current_step: state.current_step,
        current_unit_code: unit_of(state.current_step),
        current_step_started_at: state.current_step_started_at,
        current_step_due_at: state.current_step_due_at,
        due: None,
        resolved: None,
        pause: PauseChange::None,
        apology: None,
        slip: SlipEntry {
            step: state.current_step,
            to_step: None,
            to_unit_code: None,
            step_due_at: None,
            step_outcome: None,
        },
    };
    let close_step = |t: &mut Transition| {
        t.slip.step_due_at = state.current_step_due_at;
        t.slip.step_outcome = state.current_step_due_at.map(|due| classify(due, at));
    };

    match command {
        Command::Start => {
            transition.status = Status::Processing;
        }
        Command::Forward { to_unit_code } => {
            let current = state.current_step.unwrap_or(0);
            let next = match to_unit_code {
                None => {
                    let next = current + 1;
                    if next >= rules.steps.len() {
                        return Err(DossierError::NoNextStep);
                    }
                    next
                }
                Some(unit) => rules
                    .steps
                    .iter()
                    .enumerate()
                    .skip(current + 1)
                    .chain(rules.steps.iter().enumerate().take(current + 1))
                    .find(|(i, s)| *i != current && &s.unit_code == unit)
                    .map(|(i, _)| i)
                    .ok_or_else(|| {
                        invalid(
                            "to_unit_code",
                            format!("no other step of this procedure belongs to unit `{unit}`"),
                        )
                    })?,
            };
            close_step(&mut transition);
            let step = &rules.steps[next];
            transition.current_step = Some(next);
            transition.current_unit_code = Some(step.unit_code.clone());
            transition.current_step_started_at = Some(at);
            transition.current_step_due_at = Some(step_due_at(calendar, at, step.minutes())?);
            transition.slip.to_step = Some(next);
            transition.slip.to_unit_code = Some(step.unit_code.clone());
        }
        Command::RequestSupplement { reason, .. } => {
            if reason.trim().is_empty() {
                return Err(invalid("reason", "say what is missing"));
            }
            transition.status = Status::AwaitingSupplement;
            transition.pause = PauseChange::Open {
                at,
                kind: PauseKind::Supplement,
            };
        }
        Command::SupplementReceived => {
            transition.status = Status::Processing;
            resume_clock(calendar, rules, state, &mut transition, at)?;
        }
        Command::RequestPayment { amount, reason } => {
            if *amount <= 0 {
                return Err(invalid("amount", "must be a positive number of VND"));
            }
            if reason.trim().is_empty() {
                return Err(invalid("reason", "say which fees are due"));
            }
            transition.status = Status::AwaitingPayment;
            transition.pause = PauseChange::Open {
                at,
                kind: PauseKind::Payment,
            };
        }
        Command::PaymentReceived {
            amount, receipt_no, ..
        } => {
            let request = state
                .payment_request
                .ok_or_else(|| invalid("action", "the dossier has no open request for payment"))?;
            if *amount <= 0 {
                return Err(invalid("amount", "must be a positive number of VND"));
            }
            if *amount > request.amount {
                return Err(invalid(
                    "amount",
                    format!(
                        "{amount} VND is more than the {} VND requested",
                        request.amount
                    ),
                ));
            }
            if receipt_no.trim().is_empty() {
                return Err(invalid("receipt_no", "give the receipt's number"));
            }
            transition.status = request.resumes_to;
            resume_clock(calendar, rules, state, &mut transition, at)?;
        }
        Command::Resolve { result, note } => {
            if *result == Resolution::Refused && note.as_deref().is_none_or(|n| n.trim().is_empty())
            {
                return Err(invalid("note", "a refusal must give its reason"));
            }
            let (_, due_at) = clock()?;
            close_step(&mut transition);
            transition.status = Status::Resolved;
            transition.resolved = Some((*result, classify(due_at, at)));
        }
        Command::Accept => {
            let receipt = receive(calendar, rules, at)?;
            transition.status = Status::Received;
            transition.receipt = true;
            transition.due = Some(receipt.due);
            transition.current_step = Some(0);
            transition.current_unit_code = unit_of(Some(0));
            transition.current_step_started_at = Some(at);
            transition.current_step_due_at = Some(receipt.first_step_due_at);
        }
        Command::Decline { reason } => {
            if reason.trim().is_empty() {
                return Err(invalid("reason", "a decline must give its reason"));
            }
            transition.status = Status::Declined;
        }
        Command::Stop { reason } => {
            if reason.trim().is_empty() {
                return Err(invalid("reason", "stopping must give its reason"));
            }
            transition.status = Status::Stopped;
            if state.status.is_paused() {
                transition.pause = PauseChange::Close { at };
            }
        }
        Command::Return => {
            transition.status = Status::Returned;
            // The result is handed back at the procedure's last step (trả kết quả, usually the
            // counter's), wherever the dossier was resolved: the control slip says so.
            if let Some(last) = rules.steps.len().checked_sub(1) {
                transition.slip.step = Some(last);
                transition.current_step = Some(last);
                transition.current_unit_code = unit_of(Some(last));
            }
        }
        Command::Withdraw { reason } => {
            if reason.trim().is_empty() {
                return Err(invalid(
                    "reason",
                    "a withdrawal must give the applicant's reason",
                ));
            }
            transition.status = Status::Withdrawn;
            if state.status.is_paused() {
                transition.pause = PauseChange::Close { at };
            }
        }
        Command::Apologize { reason, new_due_at } => {
            if reason.trim().is_empty() {
                return Err(invalid("reason", "an apology must give its reason"));
            }
            let (_, due_at) = clock()?;
            if *new_due_at <= due_at {
                return Err(invalid(
                    "new_due_at",
                    "the new appointment must be after the statutory due instant",
                ));
            }
            let notice = calendar.working_minutes_between(at, due_at)?;
            transition.apology = Some(Apology {
                new_due_at: *new_due_at,
                in_time: notice >= calendar.standard_day_minutes(),
            });
        }
    }
    Ok(transition)
}

/// Ends the open pause at `at` (a supplement received, a payment made): the statutory due instant
/// is recomputed with it, and the current step's own due instant moves on by the paused working
/// time (or, for a supplement under the restart policy, the step starts again).
fn resume_clock(
    calendar: &Calendar,
    rules: &ProcedureRules,
    state: &DossierState,
    transition: &mut Transition,
    at: DateTime<Utc>,
) -> Result<(), DossierError> {
    let received_at = state.received_at.ok_or(DossierError::NotReceived {
        status: state.status,
    })?;
    transition.pause = PauseChange::Close { at };
    let mut pauses = state.pauses.clone();
    let open = pauses
        .iter_mut()
        .rev()
        .find(|p| p.ended_at.is_none())
        .ok_or_else(|| invalid("action", "the clock of this dossier is not stopped"))?;
    open.ended_at = Some(at);
    let (paused_from, kind) = (open.started_at, open.kind);
    let due = compute_due(
        calendar,
        received_at,
        rules.time_limit,
        &pauses,
        rules.supplement_policy,
        at,
    )?;
    let restarts =
        rules.supplement_policy == SupplementPolicy::Restart && kind == PauseKind::Supplement;
    transition.current_step_due_at = match state.current_step {
        None => None,
        Some(i) if restarts => {
            transition.current_step_started_at = Some(at);
            Some(step_due_at(calendar, at, rules.steps[i].minutes())?)
        }
        Some(_) => match state.current_step_due_at {
            Some(step_due) if paused_from < step_due => {
                let paused = calendar.working_minutes_between(paused_from, at)?;
                Some(calendar.add_working_minutes(step_due, paused)?)
            }
            other => other,
        },
    };
    transition.due = Some(due);
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::{
        calendar::LOCAL_OFFSET,
        deadline::{SupplementPolicy, TimeLimit},
        procedure::ProcessStep,
    };

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        LOCAL_OFFSET
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn calendar() -> Calendar {
        Calendar::with_defaults().unwrap()
    }

    fn rules(policy: SupplementPolicy) -> ProcedureRules {
        ProcedureRules {
            time_limit: TimeLimit::working_days(5),
            supplement_policy: policy,
            steps: vec![
                ProcessStep {
                    name: "Tiếp nhận".into(),
                    unit_code: "MC".into(),
                    hours: 4.0,
                },
                ProcessStep {
                    name: "Thẩm định".into(),
                    unit_code: "QLTM".into(),
                    hours: 24.0,
                },
                ProcessStep {
                    name: "Phê duyệt".into(),
                    unit_code: "BGD".into(),
                    hours: 8.0,
                },
            ],
        }
    }

    fn received(cal: &Calendar, r: &ProcedureRules, at: DateTime<Utc>) -> DossierState {
        let receipt = receive(cal, r, at).unwrap();
        DossierState {
            status: Status::Received,
            received_at: Some(at),
            due_at: Some(receipt.due.due_at),
            current_step: Some(0),
            current_step_started_at: Some(at),
            current_step_due_at: Some(receipt.first_step_due_at),
            pauses: vec![],
            payment_request: None,
            last_event_at: at,
        }
    }

    fn apply(state: &mut DossierState, t: &Transition, at: DateTime<Utc>) {
        if t.status == Status::AwaitingPayment {
            state.payment_request = Some(PaymentRequest {
                amount: 50_000,
                resumes_to: state.status,
            });
        }
        if t.receipt {
            state.received_at = Some(at);
        }
        state.status = t.status;
        state.current_step = t.current_step;
        state.current_step_started_at = t.current_step_started_at;
        state.current_step_due_at = t.current_step_due_at;
        if let Some(due) = &t.due {
            state.due_at = Some(due.due_at);
        }
        match t.pause {
            PauseChange::Open { at, kind } => state.pauses.push(Pause {
                started_at: at,
                ended_at: None,
                kind,
            }),
            PauseChange::Close { at } => state.pauses.last_mut().unwrap().ended_at = Some(at),
            PauseChange::None => {}
        }
        state.last_event_at = at;
    }

    /// Decides `command` at `at`, which must be legal, and applies it to `state`.
    fn act(
        cal: &Calendar,
        r: &ProcedureRules,
        state: &mut DossierState,
        command: &Command,
        at: DateTime<Utc>,
    ) -> Transition {
        let t = decide(cal, r, state, command, at)
            .unwrap_or_else(|e| panic!("{command:?} at {at}: {e}"));
        apply(state, &t, at);
        t
    }

    /// The calendar, the rules under `policy`, and a dossier received and started on Monday
    /// 3 March 2025 at 08:00.
    fn started_march_3(policy: SupplementPolicy) -> (Calendar, ProcedureRules, DossierState) {
        let (cal, r) = (calendar(), rules(policy));
        let at = local(2025, 3, 3, 8, 0);
        let mut s = received(&cal, &r, at);
        act(&cal, &r, &mut s, &Command::Start, at);
        (cal, r, s)
    }

    fn supplement_request(reason: &str) -> Command {
        Command::RequestSupplement {
            reason: reason.into(),
            documents: vec![],
        }
    }

    #[test]
    fn the_result_is_returned_at_the_procedures_last_step() {
        let cal = calendar();
        let mut r = rules(SupplementPolicy::Pause);
        r.steps.push(ProcessStep {
            name: "Trả kết quả".into(),
            unit_code: "MC".into(),
            hours: 4.0,
        });
        let t0 = local(2025, 3, 3, 8, 0);
        let mut s = received(&cal, &r, t0);
        act(&cal, &r, &mut s, &Command::Start, t0);
        let forward = Command::Forward { to_unit_code: None };
        act(&cal, &r, &mut s, &forward, local(2025, 3, 3, 9, 0));
        act(&cal, &r, &mut s, &forward, local(2025, 3, 4, 9, 0));
        let resolve = Command::Resolve {
            result: Resolution::Approved,
            note: None,
        };
        let t = act(&cal, &r, &mut s, &resolve, local(2025, 3, 5, 9, 0));
        assert_eq!(t.slip.step, Some(2), "signed off at the directors' step");
        let t = act(&cal, &r, &mut s, &Command::Return, local(2025, 3, 5, 14, 0));
        assert_eq!(t.slip.step, Some(3));
        assert_eq!(t.current_unit_code.as_deref(), Some("MC"));
    }

    #[test]
    fn only_a_running_clock_is_overdue() {
        let due = local(2025, 3, 10, 8, 0);
        let after = local(2025, 3, 10, 8, 1);
        for status in Status::ALL {
            let expected = matches!(status, Status::Received | Status::Processing);
            assert_eq!(status.is_overdue(due, after), expected, "{status:?}");
            assert!(!status.is_overdue(due, due), "{status:?} exactly at due");
        }
    }

    #[test]
    fn every_illegal_transition_is_refused() {
        let cal = calendar();
        let r = rules(SupplementPolicy::Pause);
        let t0 = local(2025, 3, 3, 8, 0);
        let commands = [
            Command::Start,
            Command::Forward { to_unit_code: None },
            Command::RequestSupplement {
                reason: "x".into(),
                documents: vec![],
            },
            Command::SupplementReceived,
            Command::Resolve {
                result: Resolution::Approved,
                note: None,
            },
            Command::Return,
            Command::Withdraw { reason: "x".into() },
            Command::Apologize {
                reason: "x".into(),
                new_due_at: local(2026, 1, 1, 8, 0),
            },
            Command::Accept,
            Command::Decline { reason: "x".into() },
            Command::RequestPayment {
                amount: 1,
                reason: "x".into(),
            },
            Command::PaymentReceived {
                amount: 1,
                method: PaymentMethod::Cash,
                receipt_no: "x".into(),
            },
            Command::Stop { reason: "x".into() },
        ];
        for status in Status::ALL {
            let mut state = received(&cal, &r, t0);
            state.status = status;
            if status.is_paused() {
                state.pauses.push(Pause {
                    started_at: t0,
                    ended_at: None,
                    kind: PauseKind::Payment,
                });
                state.payment_request = Some(PaymentRequest {
                    amount: 1,
                    resumes_to: Status::Processing,
                });
            }
            for command in &commands {
                let result = decide(&cal, &r, &state, command, t0);
                let legal = command.allowed_from().contains(&status);
                match result {
                    Err(DossierError::IllegalTransition { .. }) => {
                        assert!(!legal, "{command:?} from {status:?}")
                    }
                    _ => assert!(legal, "{command:?} from {status:?} should be refused"),
                }
            }
        }
    }

    #[test]
    fn an_illegal_action_names_the_allowed_ones() {
        let error = DossierError::IllegalTransition {
            action: "resolve",
            status: Status::Submitted,
        };
        assert_eq!(
            error.to_string(),
            "`resolve` is not allowed while the dossier is submitted; allowed now: accept, decline"
        );
        let closed = DossierError::IllegalTransition {
            action: "stop",
            status: Status::Declined,
        };
        assert!(
            closed
                .to_string()
                .ends_with("allowed now: none (the dossier is closed)")
        );
    }

    #[test]
    fn every_status_has_its_national_code_once() {
        let mut codes: Vec<u8> = Status::ALL.iter().map(|s| s.national_code()).collect();
        codes.sort_unstable();
        assert_eq!(codes, (1..=10).collect::<Vec<u8>>());
        assert_eq!(Status::AwaitingPayment.national_code(), 6);
        assert_eq!(Status::Stopped.national_code(), 8);
    }

    /// A dossier submitted online on `at`, not yet checked.
    fn submitted(at: DateTime<Utc>) -> DossierState {
        DossierState {
            status: Status::Submitted,
            received_at: None,
            due_at: None,
            current_step: Some(0),
            current_step_started_at: None,
            current_step_due_at: None,
            pauses: vec![],
            payment_request: None,
            last_event_at: at,
        }
    }

    #[test]
    fn the_time_limit_counts_from_acceptance_across_the_may_holidays() {
        let (cal, r) = (calendar(), rules(SupplementPolicy::Pause));
        let mut s = submitted(local(2025, 4, 20, 22, 0));
        // Friday 25 April 2025, 15:00: 2 hours that day, Monday and Tuesday, then 30 April and
        // 1 May off, Friday 2 May, Monday 5 May, and 6 hours on Tuesday 6 May.
        let accepted = local(2025, 4, 25, 15, 0);
        let t = act(&cal, &r, &mut s, &Command::Accept, accepted);
        assert!(t.receipt);
        assert_eq!(t.status, Status::Received);
        assert_eq!(s.received_at, Some(accepted));
        assert_eq!(s.due_at, Some(local(2025, 5, 6, 15, 0)));
        assert_eq!(t.current_step, Some(0));
        // The reception step's 4 hours: 2 on Friday, 2 on Monday morning.
        assert_eq!(t.current_step_due_at, Some(local(2025, 4, 28, 9, 30)));

        let declined = decide(
            &cal,
            &r,
            &submitted(accepted),
            &Command::Decline { reason: " ".into() },
            accepted,
        );
        assert!(matches!(
            declined,
            Err(DossierError::Invalid {
                field: "reason",
                ..
            })
        ));
        let t = decide(
            &cal,
            &r,
            &submitted(accepted),
            &Command::Decline {
                reason: "thiếu giấy phép kinh doanh".into(),
            },
            accepted,
        )
        .expect("declinable");
        assert_eq!(t.status, Status::Declined);
        assert_eq!(t.due, None);
        assert!(!t.receipt);
    }

    #[test]
    fn a_wait_for_payment_stops_the_clock_and_resumes_to_the_status_before() {
        let (cal, r, mut s) = started_march_3(SupplementPolicy::Restart);
        assert_eq!(s.due_at, Some(local(2025, 3, 10, 8, 0)));
        let request = |amount| Command::RequestPayment {
            amount,
            reason: "lệ phí cấp giấy phép".into(),
        };
        let asked = local(2025, 3, 6, 10, 0);
        assert!(matches!(
            decide(&cal, &r, &s, &request(0), asked),
            Err(DossierError::Invalid {
                field: "amount",
                ..
            })
        ));
        let t = act(&cal, &r, &mut s, &request(50_000), asked);
        assert_eq!(t.status, Status::AwaitingPayment);
        assert_eq!(
            s.payment_request.map(|p| p.resumes_to),
            Some(Status::Processing)
        );

        let paid = |amount, receipt_no: &str| Command::PaymentReceived {
            amount,
            method: PaymentMethod::Online,
            receipt_no: receipt_no.into(),
        };
        let at = local(2025, 3, 10, 10, 0);
        for (command, field) in [
            (paid(50_001, "BL-1"), "amount"),
            (paid(-5, "BL-1"), "amount"),
            (paid(50_000, " "), "receipt_no"),
        ] {
            match decide(&cal, &r, &s, &command, at) {
                Err(DossierError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{command:?}: {other:?}"),
            }
        }
        // Paused Thursday 10:00 to Monday 10:00 over the weekend: 330 + 480 + 150 = 960 working
        // minutes, added to Monday 08:00 even under the restart policy.
        let t = act(&cal, &r, &mut s, &paid(50_000, "BL-1"), at);
        assert_eq!(t.status, Status::Processing);
        assert_eq!(t.pause, PauseChange::Close { at });
        let due = t.due.expect("recomputed");
        assert_eq!(due.restarted_at, None);
        assert_eq!(due.total_paused_minutes, 960);
        assert_eq!(due.due_at, local(2025, 3, 12, 8, 0));
    }

    #[test]
    fn stopping_ends_the_dossier_and_its_pause() {
        let (cal, r, mut s) = started_march_3(SupplementPolicy::Pause);
        act(
            &cal,
            &r,
            &mut s,
            &supplement_request("bản sao CCCD"),
            local(2025, 3, 4, 8, 0),
        );
        let stop = |reason: &str| Command::Stop {
            reason: reason.into(),
        };
        assert!(matches!(
            decide(&cal, &r, &s, &stop(""), local(2025, 3, 20, 8, 0)),
            Err(DossierError::Invalid {
                field: "reason",
                ..
            })
        ));
        let at = local(2025, 3, 20, 8, 0);
        let t = act(&cal, &r, &mut s, &stop("quá hạn bổ sung"), at);
        assert_eq!(t.status, Status::Stopped);
        assert_eq!(t.pause, PauseChange::Close { at });
        assert!(HistoryAction::allowed_in(Status::Stopped).is_empty());
    }

    #[test]
    fn whole_life_with_steps_and_a_pause() {
        let cal = calendar();
        let r = rules(SupplementPolicy::Pause);
        // Monday 2025-03-03 08:00: due after 5 working days, Monday 2025-03-10 08:00.
        let t0 = local(2025, 3, 3, 8, 0);
        let mut s = received(&cal, &r, t0);
        assert_eq!(s.due_at, Some(local(2025, 3, 10, 8, 0)));
        assert_eq!(s.current_step_due_at, Some(local(2025, 3, 3, 13, 30)));

        let t = act(&cal, &r, &mut s, &Command::Start, local(2025, 3, 3, 9, 0));
        assert_eq!(t.status, Status::Processing);

        let at = local(2025, 3, 3, 14, 0);
        let t = act(
            &cal,
            &r,
            &mut s,
            &Command::Forward { to_unit_code: None },
            at,
        );
        assert_eq!(
            t.slip.step_outcome,
            Some(Outcome::Late),
            "reception step was due 13:30"
        );
        assert_eq!(t.current_unit_code.as_deref(), Some("QLTM"));
        assert_eq!(t.current_step_due_at, Some(local(2025, 3, 6, 14, 0)));

        // Paused from Tuesday 09:30 to Wednesday 09:30: one working day.
        let p0 = local(2025, 3, 4, 9, 30);
        act(&cal, &r, &mut s, &supplement_request("thiếu giấy phép"), p0);
        let p1 = local(2025, 3, 5, 9, 30);
        let t = act(&cal, &r, &mut s, &Command::SupplementReceived, p1);
        assert_eq!(t.due.as_ref().unwrap().due_at, local(2025, 3, 11, 8, 0));
        assert_eq!(t.current_step_due_at, Some(local(2025, 3, 7, 14, 0)));

        let at = local(2025, 3, 6, 10, 0);
        let to_board = Command::Forward {
            to_unit_code: Some("BGD".into()),
        };
        let t = act(&cal, &r, &mut s, &to_board, at);
        assert_eq!(t.slip.step_outcome, Some(Outcome::Early));
        assert!(matches!(
            decide(&cal, &r, &s, &Command::Forward { to_unit_code: None }, at),
            Err(DossierError::NoNextStep)
        ));

        let at = local(2025, 3, 11, 8, 0);
        let t = decide(
            &cal,
            &r,
            &s,
            &Command::Resolve {
                result: Resolution::Approved,
                note: None,
            },
            at,
        )
        .unwrap();
        assert_eq!(t.resolved, Some((Resolution::Approved, Outcome::OnTime)));
    }

    #[test]
    fn restart_policy_counts_the_full_limit_again() {
        let (cal, r, mut s) = started_march_3(SupplementPolicy::Restart);
        act(
            &cal,
            &r,
            &mut s,
            &supplement_request("x"),
            local(2025, 3, 4, 8, 0),
        );
        let t = decide(
            &cal,
            &r,
            &s,
            &Command::SupplementReceived,
            local(2025, 3, 12, 8, 0),
        )
        .unwrap();
        assert_eq!(t.due.unwrap().due_at, local(2025, 3, 19, 8, 0));
    }

    #[test]
    fn refusal_needs_a_reason_and_apology_is_judged_for_notice() {
        let (cal, r, s) = started_march_3(SupplementPolicy::Pause);
        let refuse = Command::Resolve {
            result: Resolution::Refused,
            note: Some("  ".into()),
        };
        assert!(matches!(
            decide(&cal, &r, &s, &refuse, local(2025, 3, 4, 8, 0)),
            Err(DossierError::Invalid { field: "note", .. })
        ));

        let apology = |at| {
            decide(
                &cal,
                &r,
                &s,
                &Command::Apologize {
                    reason: "cần xác minh".into(),
                    new_due_at: local(2025, 3, 14, 8, 0),
                },
                at,
            )
        };
        // Due Monday 2025-03-10 08:00: Thursday 08:00 is a full working day ahead, Friday 09:00 is not.
        assert!(
            apology(local(2025, 3, 6, 8, 0))
                .unwrap()
                .apology
                .unwrap()
                .in_time
        );
        assert!(
            !apology(local(2025, 3, 7, 9, 0))
                .unwrap()
                .apology
                .unwrap()
                .in_time
        );
        let too_early = decide(
            &cal,
            &r,
            &s,
            &Command::Apologize {
                reason: "x".into(),
                new_due_at: local(2025, 3, 9, 8, 0),
            },
            local(2025, 3, 6, 8, 0),
        );
        assert!(matches!(
            too_early,
            Err(DossierError::Invalid {
                field: "new_due_at",
                ..
            })
        ));
        assert!(matches!(
            decide(&cal, &r, &s, &Command::Start, local(2025, 3, 1, 8, 0)),
            Err(DossierError::IllegalTransition { .. })
        ));
        assert!(matches!(
            decide(
                &cal,
                &r,
                &s,
                &Command::Forward { to_unit_code: None },
                local(2025, 3, 1, 8, 0)
            ),
            Err(DossierError::Invalid { field: "at", .. })
        ));
    }
}
