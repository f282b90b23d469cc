//! The dossier resources as the API shows and takes them, and their conversion to and from the
//! domain's types.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    domain::{
        applicant::ApplicantDraft,
        classification::Outcome,
        deadline::PauseKind,
        dossier::{Channel, Command, Dossier, HistoryAction, PaymentMethod, Resolution, Status},
        stats::OpenState,
    },
    http::time::{local, local_opt},
};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicantDto {
    #[schema(
        example = "Công ty TNHH Thương mại An Phát",
        min_length = 1,
        max_length = 200,
        pattern = "\\S"
    )]
    pub name: String,
    /// Citizen identity or tax number: letters and digits.
    #[schema(pattern = "^[A-Za-z0-9]{1,32}$")]
    pub id_number: Option<String>,
    #[schema(max_length = 300)]
    pub organization: Option<String>,
    #[schema(pattern = "^[0-9 +().-]{1,32}$")]
    pub phone: Option<String>,
    #[schema(pattern = "^[^@]+@[^@]+$", max_length = 254)]
    pub email: Option<String>,
    #[schema(max_length = 500)]
    pub address: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ChannelDto {
    Direct,
    Online,
    Postal,
}

impl From<ChannelDto> for Channel {
    fn from(c: ChannelDto) -> Self {
        match c {
            ChannelDto::Direct => Channel::Direct,
            ChannelDto::Online => Channel::Online,
            ChannelDto::Postal => Channel::Postal,
        }
    }
}

impl From<ApplicantDto> for ApplicantDraft {
    fn from(a: ApplicantDto) -> Self {
        ApplicantDraft {
            name: a.name,
            id_number: a.id_number,
            organization: a.organization,
            phone: a.phone,
            email: a.email,
            address: a.address,
        }
    }
}

impl From<ApplicantDraft> for ApplicantDto {
    fn from(a: ApplicantDraft) -> Self {
        ApplicantDto {
            name: a.name,
            id_number: a.id_number,
            organization: a.organization,
            phone: a.phone,
            email: a.email,
            address: a.address,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveRequest {
    pub procedure_code: String,
    pub applicant: ApplicantDto,
    pub channel: ChannelDto,
    /// When the dossier was received; defaults to now and may not be in the future.
    pub received_at: Option<DateTime<FixedOffset>>,
    /// The e-portal's own reference; unique.
    #[schema(max_length = 100, pattern = "\\S")]
    pub external_ref: Option<String>,
    /// `true` (channel `online` only): the dossier is submitted for the one-stop officer's intake
    /// check (status `submitted`, no due instant) instead of received at once; `received_at` is
    /// then the submission instant.
    #[serde(default)]
    pub intake_check: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CurrentStep {
    /// Position in the procedure's steps, from 0.
    pub index: i32,
    pub unit_code: Option<String>,
    pub started_at: Option<DateTime<FixedOffset>>,
    /// The step's own due instant (from its allotted hours).
    pub due_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DossierDto {
    #[schema(example = "SCT-250124-0001")]
    pub code: String,
    pub procedure_code: String,
    pub procedure_version: i32,
    /// The agency that owns the dossier (its code's prefix); other agencies may read it after a
    /// hand-over (liên thông) or a receipt at their counter.
    pub agency_code: String,
    /// The procedure's lead unit.
    pub unit_code: String,
    pub field: String,
    #[schema(schema_with = crate::http::wire_schema::status)]
    pub status: Status,
    /// The national portal's status code (Cổng DVCQG, TrangThaiHoSo): 1 submitted, 2 received,
    /// 3 declined, 4 processing, 5 awaiting_supplement, 6 awaiting_payment, 7 withdrawn,
    /// 8 stopped, 9 resolved, 10 returned.
    #[schema(minimum = 1, maximum = 10, example = 4)]
    pub national_status: u8,
    #[schema(schema_with = crate::http::wire_schema::channel)]
    pub channel: Channel,
    pub applicant: ApplicantDto,
    /// When the e-portal submitted it for the intake check (NgayNopHoSo), if it was.
    pub submitted_at: Option<DateTime<FixedOffset>>,
    /// Tiếp nhận (or acceptance after the intake check); null while submitted or once declined.
    pub received_at: Option<DateTime<FixedOffset>>,
    /// The statutory due instant (ngày hẹn trả) after pauses; null until received.
    pub due_at: Option<DateTime<FixedOffset>>,
    pub resolved_at: Option<DateTime<FixedOffset>>,
    /// `approved` or `refused`.
    #[schema(schema_with = crate::http::wire_schema::result_or_null)]
    pub result: Option<Resolution>,
    pub returned_at: Option<DateTime<FixedOffset>>,
    pub withdrawn_at: Option<DateTime<FixedOffset>>,
    /// Declined at the intake check (không được tiếp nhận).
    pub declined_at: Option<DateTime<FixedOffset>>,
    /// Processing stopped (dừng xử lý).
    pub stopped_at: Option<DateTime<FixedOffset>>,
    /// `early`, `on_time` or `late`, once resolved.
    #[schema(schema_with = crate::http::wire_schema::outcome_or_null)]
    pub outcome: Option<Outcome>,
    /// Open (received or processing) and past its due instant now.
    pub overdue: bool,
    pub current_step: Option<CurrentStep>,
    /// Since when the clock is stopped awaiting a supplement or a payment.
    pub paused_since: Option<DateTime<FixedOffset>>,
    /// The new appointment of the latest apology, if any; the dossier is still judged by `due_at`.
    pub apology_due_at: Option<DateTime<FixedOffset>>,
    pub external_ref: Option<String>,
    pub version: i32,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

/// The receipt's answer: the dossier and, once only, the applicant's lookup secret.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReceivedDossier {
    #[serde(flatten)]
    pub dossier: DossierDto,
    /// Give it to the applicant with the receipt slip; it is stored hashed and never shown again.
    pub lookup_secret: String,
}

/// The dossier's step `index` as the API shows it.
pub fn current_step(d: &Dossier, index: usize) -> CurrentStep {
    CurrentStep {
        index: i32::try_from(index).unwrap_or(i32::MAX),
        unit_code: d.current_unit_code.clone(),
        started_at: local_opt(d.current_step_started_at),
        due_at: local_opt(d.current_step_due_at),
    }
}

pub fn dossier_dto(d: Dossier, now: DateTime<Utc>) -> DossierDto {
    let overdue = d.is_overdue(now);
    let current_step = d.open_step().map(|index| current_step(&d, index));
    DossierDto {
        code: d.code,
        procedure_code: d.procedure_code,
        procedure_version: d.procedure_version,
        agency_code: d.agency_code,
        unit_code: d.unit_code,
        field: d.field,
        status: d.status,
        national_status: d.status.national_code(),
        channel: d.channel,
        applicant: d.applicant.particulars().clone().into(),
        submitted_at: local_opt(d.submitted_at),
        received_at: local_opt(d.received_at),
        due_at: local_opt(d.due_at),
        resolved_at: local_opt(d.resolved_at),
        result: d.result,
        returned_at: local_opt(d.returned_at),
        withdrawn_at: local_opt(d.withdrawn_at),
        declined_at: local_opt(d.declined_at),
        stopped_at: local_opt(d.stopped_at),
        outcome: d.outcome,
        overdue,
        current_step,
        paused_since: local_opt(d.paused_since),
        apology_due_at: local_opt(d.apology_due_at),
        external_ref: d.external_ref,
        version: d.version,
        created_at: local(d.created_at),
        updated_at: local(d.updated_at),
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ResultDto {
    Approved,
    Refused,
}

/// An action on a dossier. Fields other than `action`, `at`, `to_user` and `note` belong to
/// particular actions: `forward` (`to_unit_code`, optional: the next step otherwise),
/// `request_supplement` (`reason`, `documents`), `resolve` (`result`, `note` required when refused),
/// `withdraw` (`reason`), `apologize` (`reason`, `new_due_at`), `accept` (a submitted dossier: the
/// time limit counts from now), `decline` (`reason`), `request_payment` (`amount` in VND,
/// `reason`), `payment_received` (`amount`, `method`, `receipt_no`), `stop` (`reason`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ActionRequest {
    Start {
        #[serde(flatten)]
        common: ActionCommon,
    },
    Forward {
        to_unit_code: Option<String>,
        #[serde(flatten)]
        common: ActionCommon,
    },
    RequestSupplement {
        reason: String,
        #[serde(default)]
        documents: Vec<String>,
        #[serde(flatten)]
        common: ActionCommon,
    },
    SupplementReceived {
        #[serde(flatten)]
        common: ActionCommon,
    },
    Resolve {
        result: ResultDto,
        #[serde(flatten)]
        common: ActionCommon,
    },
    Return {
        #[serde(flatten)]
        common: ActionCommon,
    },
    Withdraw {
        reason: String,
        #[serde(flatten)]
        common: ActionCommon,
    },
    Apologize {
        reason: String,
        new_due_at: DateTime<FixedOffset>,
        #[serde(flatten)]
        common: ActionCommon,
    },
    Accept {
        #[serde(flatten)]
        common: ActionCommon,
    },
    Decline {
        reason: String,
        #[serde(flatten)]
        common: ActionCommon,
    },
    RequestPayment {
        /// In VND; positive.
        #[schema(minimum = 1, example = 500000)]
        amount: i64,
        /// Which fees are due.
        reason: String,
        #[serde(flatten)]
        common: ActionCommon,
    },
    PaymentReceived {
        /// In VND; positive and at most the amount requested.
        #[schema(minimum = 1, example = 500000)]
        amount: i64,
        #[schema(schema_with = crate::http::wire_schema::payment_method)]
        method: PaymentMethod,
        /// The receipt's number (số biên lai).
        receipt_no: String,
        #[serde(flatten)]
        common: ActionCommon,
    },
    Stop {
        reason: String,
        #[serde(flatten)]
        common: ActionCommon,
    },
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ActionCommon {
    /// When it happened (defaults to now; not in the future nor before the previous action).
    pub at: Option<DateTime<FixedOffset>>,
    /// Who receives the dossier (a hand-over's recipient).
    pub to_user: Option<String>,
    /// Free text for the control slip; required to refuse.
    pub note: Option<String>,
}

impl ActionRequest {
    pub fn into_parts(self) -> (Command, ActionCommon) {
        match self {
            Self::Start { common } => (Command::Start, common),
            Self::Forward {
                to_unit_code,
                common,
            } => (Command::Forward { to_unit_code }, common),
            Self::RequestSupplement {
                reason,
                documents,
                common,
            } => (Command::RequestSupplement { reason, documents }, common),
            Self::SupplementReceived { common } => (Command::SupplementReceived, common),
            Self::Resolve { result, common } => {
                let result = result.into();
                (
                    Command::Resolve {
                        result,
                        note: common.note.clone(),
                    },
                    common,
                )
            }
            Self::Return { common } => (Command::Return, common),
            Self::Withdraw { reason, common } => (Command::Withdraw { reason }, common),
            Self::Apologize {
                reason,
                new_due_at,
                common,
            } => (
                Command::Apologize {
                    reason,
                    new_due_at: new_due_at.with_timezone(&Utc),
                },
                common,
            ),
            Self::Accept { common } => (Command::Accept, common),
            Self::Decline { reason, common } => (Command::Decline { reason }, common),
            Self::RequestPayment {
                amount,
                reason,
                common,
            } => (Command::RequestPayment { amount, reason }, common),
            Self::PaymentReceived {
                amount,
                method,
                receipt_no,
                common,
            } => (
                Command::PaymentReceived {
                    amount,
                    method,
                    receipt_no,
                },
                common,
            ),
            Self::Stop { reason, common } => (Command::Stop { reason }, common),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    pub seq: i32,
    /// `receive`, `start`, `forward`, `request_supplement`, `supplement_received`, `resolve`, `return`,
    /// `withdraw` or `apologize`.
    #[schema(schema_with = crate::http::wire_schema::history_action)]
    pub action: HistoryAction,
    pub at: DateTime<FixedOffset>,
    #[schema(schema_with = crate::http::wire_schema::status)]
    pub status_after: Status,
    /// The step the dossier was at (index), with its name and unit.
    pub step: Option<i32>,
    pub step_name: Option<String>,
    pub unit_code: Option<String>,
    pub from_user: String,
    pub to_user: Option<String>,
    pub to_unit_code: Option<String>,
    pub to_step: Option<i32>,
    /// The step's own due instant, when this action closed the step.
    pub step_due_at: Option<DateTime<FixedOffset>>,
    /// `early`, `on_time` or `late`: how the closed step finished.
    #[schema(schema_with = crate::http::wire_schema::outcome_or_null)]
    pub step_outcome: Option<Outcome>,
    pub note: Option<String>,
    /// Action-specific facts (reason, documents, result, new appointment …).
    pub details: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct History {
    pub code: String,
    pub items: Vec<HistoryEntry>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PauseDto {
    /// `supplement` (yêu cầu bổ sung) or `payment` (chờ thực hiện nghĩa vụ tài chính).
    #[schema(schema_with = crate::http::wire_schema::pause_kind)]
    pub kind: PauseKind,
    pub started_at: DateTime<FixedOffset>,
    pub ended_at: Option<DateTime<FixedOffset>>,
    pub reason: String,
    pub documents: Vec<String>,
    pub requested_by: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeadlineExplanation {
    pub code: String,
    /// Null while the dossier waits for its intake check (or was declined there).
    pub received_at: Option<DateTime<FixedOffset>>,
    /// The statutory due instant after pauses; null until received.
    pub due_at: Option<DateTime<FixedOffset>>,
    pub pauses: Vec<PauseDto>,
    /// Working minutes used so far (to resolution for a closed dossier), excluding paused time.
    pub working_minutes_used: i64,
    /// Working minutes left until `due_at` (negative when overdue); absent once resolved.
    pub working_minutes_left: Option<i64>,
    pub current_step_due_at: Option<DateTime<FixedOffset>>,
    pub overdue: bool,
    #[schema(schema_with = crate::http::wire_schema::outcome_or_null)]
    pub outcome: Option<Outcome>,
    /// How `due_at` was computed: the limit, counting start, each pause's kind and working
    /// minutes, the supplement policy and the calendar revision; null until received.
    pub computation: Option<serde_json::Value>,
}

impl From<ResultDto> for Resolution {
    fn from(r: ResultDto) -> Self {
        match r {
            ResultDto::Approved => Resolution::Approved,
            ResultDto::Refused => Resolution::Refused,
        }
    }
}

impl From<OpenStateDto> for OpenState {
    fn from(s: OpenStateDto) -> Self {
        match s {
            OpenStateDto::NotYetDue => OpenState::NotYetDue,
            OpenStateDto::Overdue => OpenState::Overdue,
            OpenStateDto::AwaitingSupplement => OpenState::AwaitingSupplement,
            OpenStateDto::AwaitingPayment => OpenState::AwaitingPayment,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OpenStateDto {
    NotYetDue,
    Overdue,
    AwaitingSupplement,
    AwaitingPayment,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    /// The lookup secret printed on the receipt slip.
    pub secret: String,
}

/// What the applicant may see: no personal data.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PublicDossier {
    pub code: String,
    pub procedure_name: String,
    #[schema(schema_with = crate::http::wire_schema::status)]
    pub status: Status,
    /// The national portal's status code (see the dossier's `national_status`).
    #[schema(minimum = 1, maximum = 10)]
    pub national_status: u8,
    /// Null while the dossier waits for its intake check.
    pub received_at: Option<DateTime<FixedOffset>>,
    pub due_at: Option<DateTime<FixedOffset>>,
    pub resolved_at: Option<DateTime<FixedOffset>>,
    pub returned_at: Option<DateTime<FixedOffset>>,
    /// The new appointment, if the agency apologised for a delay.
    pub apology_due_at: Option<DateTime<FixedOffset>>,
    /// While a supplement is awaited (`awaiting_supplement`): what the agency asked for; null
    /// otherwise.
    pub supplement: Option<PublicSupplement>,
}

/// A request for supplement as the applicant sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PublicSupplement {
    pub reason: String,
    /// The documents asked for.
    pub documents: Vec<String>,
}

/// A request for payment and, once paid, the payment (phí, lệ phí).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PaymentDto {
    /// The amount requested, in VND.
    pub requested_amount: i64,
    /// Which fees were requested.
    pub reason: String,
    pub requested_at: DateTime<FixedOffset>,
    /// The amount paid, in VND; null until paid.
    pub amount: Option<i64>,
    /// `online`, `cash` or `transfer`; null until paid.
    #[schema(schema_with = crate::http::wire_schema::payment_method_or_null)]
    pub method: Option<PaymentMethod>,
    pub receipt_no: Option<String>,
    pub paid_at: Option<DateTime<FixedOffset>>,
    /// Set when the dossier ended (withdrawn, stopped) before it was paid.
    pub cancelled_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Payments {
    pub code: String,
    pub items: Vec<PaymentDto>,
}
