//! One record as a procedure draft, or as a receipt and its actions: every problem of a row named
//! by its field, checked before anything is looked up.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{ImportKind, Record, RowError, error};
use crate::{
    domain::{
        applicant::ApplicantDraft,
        deadline::{SupplementPolicy, TimeLimit, TimeUnit},
        dossier::{Channel, Command, HistoryAction, PaymentMethod, Resolution},
        procedure::{NationalListing, OnlineLevel, ProcedureCode, ProcedureRules, ProcessStep},
    },
    service::{ServiceError, dossiers::ReceiptInput},
    store::catalogue::ProcedureDraft,
};

/// Reads typed values from a record, collecting every problem.
struct Fields<'a> {
    fields: &'a Map<String, Value>,
    errors: Vec<RowError>,
}

impl<'a> Fields<'a> {
    fn new(fields: &'a Map<String, Value>) -> Self {
        Self {
            fields,
            errors: Vec::new(),
        }
    }

    fn text(&mut self, name: &str) -> Option<String> {
        match self.fields.get(name) {
            None => None,
            Some(Value::String(s)) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => {
                self.errors.push(error(name, "must be text"));
                None
            }
        }
    }

    fn required(&mut self, name: &str) -> String {
        self.text(name).unwrap_or_else(|| {
            self.errors.push(error(name, "is required"));
            String::new()
        })
    }

    fn parse<T>(&mut self, name: &str, what: &str, parse: impl Fn(&str) -> Option<T>) -> Option<T> {
        let raw = self.text(name)?;
        let parsed = parse(&raw);
        if parsed.is_none() {
            self.errors
                .push(error(name, format!("`{raw}` is not {what}")));
        }
        parsed
    }

    /// A required value that `parse` must accept.
    fn required_parse<T>(
        &mut self,
        name: &str,
        what: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        if self.fields.contains_key(name) {
            self.parse(name, what, parse)
        } else {
            self.errors.push(error(name, "is required"));
            None
        }
    }

    fn bool(&mut self, name: &str, default: bool) -> bool {
        match self.fields.get(name) {
            Some(Value::Bool(b)) => *b,
            Some(_) => self
                .parse(name, "true or false", |s| {
                    match s.to_ascii_lowercase().as_str() {
                        "true" | "1" | "yes" => Some(true),
                        "false" | "0" | "no" => Some(false),
                        _ => None,
                    }
                })
                .unwrap_or(default),
            None => default,
        }
    }

    fn json<T: serde::de::DeserializeOwned>(&mut self, name: &str) -> Option<T> {
        let value = self.fields.get(name)?.clone();
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(v) => Some(v),
            Err(e) => {
                let path = e.path().to_string();
                let field = if path == "." {
                    name.to_owned()
                } else if path.starts_with('[') {
                    format!("{name}{path}")
                } else {
                    format!("{name}.{path}")
                };
                self.errors.push(error(field, e.into_inner().to_string()));
                None
            }
        }
    }

    fn finish<T>(self, value: T) -> Result<T, Vec<RowError>> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self.errors)
        }
    }
}

fn parse_instant(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn valid_code(code: &str) -> bool {
    ProcedureCode::parse(code).is_ok()
}

/// Checks one record as far as it can be checked without the database: required columns, codes,
/// numbers, instants, the JSON of `steps` and `actions`. The import runs the same checks on each row
/// before it looks anything up.
pub fn check_record(kind: ImportKind, record: &Record) -> Result<(), Vec<RowError>> {
    match kind {
        ImportKind::Procedures => procedure_row(&record.fields).map(drop),
        ImportKind::Dossiers => dossier_row(&record.fields).map(drop),
    }
}

/// A procedure row as a code and a draft.
pub(super) fn procedure_row(
    fields: &Map<String, Value>,
) -> Result<(String, ProcedureDraft), Vec<RowError>> {
    let mut f = Fields::new(fields);
    let code = f.required("code");
    if !code.is_empty() && !valid_code(&code) {
        f.errors.push(error(
            "code",
            "at most 100 letters, digits, `.`, `-` or `_`",
        ));
    }
    let name = f.required("name");
    let field = f.required("field");
    for (column, value, max) in [("name", &name, 500), ("field", &field, 200)] {
        if value.chars().count() > max {
            f.errors
                .push(error(column, format!("at most {max} characters")));
        }
    }
    let unit_code = f.required("unit_code");
    let amount = f.required_parse("time_limit_amount", "a whole number", |s| {
        s.parse::<u32>().ok()
    });
    let unit = f.required_parse(
        "time_limit_unit",
        "working_days, working_hours or calendar_days",
        |s| match s {
            "working_days" => Some(TimeUnit::WorkingDays),
            "working_hours" => Some(TimeUnit::WorkingHours),
            "calendar_days" => Some(TimeUnit::CalendarDays),
            _ => None,
        },
    );
    let policy = f
        .parse("supplement_policy", "pause or restart", |s| match s {
            "pause" => Some(SupplementPolicy::Pause),
            "restart" => Some(SupplementPolicy::Restart),
            _ => None,
        })
        .unwrap_or_default();
    let steps: Option<Vec<ProcessStep>> = f.json("steps");
    if !fields.contains_key("steps") {
        f.errors.push(error("steps", "is required"));
    }
    let active = f.bool("active", true);
    let receivable_anywhere = f.bool("receivable_anywhere", false);
    let listing = NationalListing {
        national_code: f.text("national_code"),
        fees: f.json("fees").unwrap_or_default(),
        online_level: f
            .parse("online_level", "none, partial or full", OnlineLevel::parse)
            .unwrap_or_default(),
        components: f.json("components").unwrap_or_default(),
    };
    let draft = ProcedureDraft {
        name,
        field,
        unit_code,
        rules: ProcedureRules {
            time_limit: TimeLimit {
                amount: amount.unwrap_or(0),
                unit: unit.unwrap_or(TimeUnit::WorkingDays),
            },
            supplement_policy: policy,
            steps: steps.unwrap_or_default(),
        },
        active,
        receivable_anywhere,
        listing,
    };
    f.finish((code, draft))
}

/// An action of a dossier row, as the actions API takes it.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionRow {
    action: String,
    at: Option<String>,
    to_user: Option<String>,
    note: Option<String>,
    to_unit_code: Option<String>,
    reason: Option<String>,
    #[serde(default)]
    documents: Vec<String>,
    result: Option<String>,
    new_due_at: Option<String>,
    amount: Option<i64>,
    method: Option<String>,
    receipt_no: Option<String>,
}

pub(super) struct ActionSpec {
    pub command: Command,
    pub at: Option<DateTime<Utc>>,
    pub to_user: Option<String>,
    pub note: Option<String>,
}

fn action_spec(i: usize, a: ActionRow) -> Result<ActionSpec, Vec<RowError>> {
    let field = |name: &str| format!("actions[{i}].{name}");
    let mut errors = Vec::new();
    let mut instant = |name: &str, raw: Option<String>| {
        raw.and_then(|raw| {
            let parsed = parse_instant(&raw);
            if parsed.is_none() {
                errors.push(error(
                    field(name),
                    format!("`{raw}` is not an RFC 3339 instant with offset"),
                ));
            }
            parsed
        })
    };
    let at = instant("at", a.at);
    let new_due_at = instant("new_due_at", a.new_due_at);
    let mut amount = |value: Option<i64>| {
        value.unwrap_or_else(|| {
            errors.push(error(field("amount"), "is required for this action"));
            0
        })
    };
    let amount = match HistoryAction::parse(&a.action) {
        Some(HistoryAction::RequestPayment | HistoryAction::PaymentReceived) => amount(a.amount),
        _ => 0,
    };
    let mut need = |name: &str, value: Option<String>| {
        value.unwrap_or_else(|| {
            errors.push(error(field(name), "is required for this action"));
            String::new()
        })
    };
    // `receive` and `submit` are the receipt itself, not actions a row may list.
    let action = HistoryAction::parse(&a.action)
        .filter(|a| !matches!(a, HistoryAction::Receive | HistoryAction::Submit));
    let command = match action {
        Some(HistoryAction::Start) => Some(Command::Start),
        Some(HistoryAction::Forward) => Some(Command::Forward {
            to_unit_code: a.to_unit_code,
        }),
        Some(HistoryAction::RequestSupplement) => Some(Command::RequestSupplement {
            reason: need("reason", a.reason),
            documents: a.documents,
        }),
        Some(HistoryAction::SupplementReceived) => Some(Command::SupplementReceived),
        Some(HistoryAction::Resolve) => match a.result.as_deref().and_then(Resolution::parse) {
            Some(result) => Some(Command::Resolve {
                result,
                note: a.note.clone(),
            }),
            None => {
                errors.push(error(field("result"), "must be approved or refused"));
                None
            }
        },
        Some(HistoryAction::Return) => Some(Command::Return),
        Some(HistoryAction::Withdraw) => Some(Command::Withdraw {
            reason: need("reason", a.reason),
        }),
        Some(HistoryAction::Apologize) => {
            let reason = need("reason", a.reason);
            match new_due_at {
                Some(new_due_at) => Some(Command::Apologize { reason, new_due_at }),
                None => {
                    errors.push(error(field("new_due_at"), "is required for this action"));
                    None
                }
            }
        }
        Some(HistoryAction::Accept) => Some(Command::Accept),
        Some(HistoryAction::Decline) => Some(Command::Decline {
            reason: need("reason", a.reason),
        }),
        Some(HistoryAction::Stop) => Some(Command::Stop {
            reason: need("reason", a.reason),
        }),
        Some(HistoryAction::RequestPayment) => Some(Command::RequestPayment {
            amount,
            reason: need("reason", a.reason),
        }),
        Some(HistoryAction::PaymentReceived) => {
            let receipt_no = need("receipt_no", a.receipt_no);
            match a.method.as_deref().and_then(PaymentMethod::parse) {
                Some(method) => Some(Command::PaymentReceived {
                    amount,
                    method,
                    receipt_no,
                }),
                None => {
                    errors.push(error(field("method"), "must be online, cash or transfer"));
                    None
                }
            }
        }
        Some(HistoryAction::Receive | HistoryAction::Submit) | None => {
            let expected: Vec<&str> = HistoryAction::ALL
                .into_iter()
                .filter(|a| !matches!(a, HistoryAction::Receive | HistoryAction::Submit))
                .map(HistoryAction::as_str)
                .collect();
            errors.push(error(
                field("action"),
                format!(
                    "unknown action `{}`; expected one of {}",
                    a.action,
                    expected.join(", ")
                ),
            ));
            None
        }
    };
    match command {
        Some(command) if errors.is_empty() => Ok(ActionSpec {
            command,
            at,
            to_user: a.to_user,
            note: a.note,
        }),
        _ => Err(errors),
    }
}

/// A dossier row as a receipt and its actions.
pub(super) fn dossier_row(
    fields: &Map<String, Value>,
) -> Result<(ReceiptInput, Vec<ActionSpec>), Vec<RowError>> {
    let mut f = Fields::new(fields);
    let external_ref = f.required("external_ref");
    let procedure_code = f.required("procedure_code");
    let channel = f.required_parse("channel", "one of direct, online or postal", Channel::parse);
    let received_at = f.required_parse(
        "received_at",
        "an RFC 3339 instant with offset",
        parse_instant,
    );
    let applicant = ApplicantDraft {
        name: f.required("applicant_name"),
        id_number: f.text("applicant_id_number"),
        organization: f.text("applicant_organization"),
        phone: f.text("applicant_phone"),
        email: f.text("applicant_email"),
        address: f.text("applicant_address"),
    };
    let rows: Vec<ActionRow> = f.json("actions").unwrap_or_default();
    let mut actions = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        match action_spec(i, row) {
            Ok(spec) => actions.push(spec),
            Err(errors) => f.errors.extend(errors),
        }
    }
    // The receipt's own rules (the applicant's particulars, the reference) as the API checks them.
    let named = !procedure_code.is_empty() && !applicant.name.is_empty();
    let input = channel.filter(|_| named).and_then(|channel| {
        match ReceiptInput::parse(
            &procedure_code,
            applicant,
            channel,
            received_at,
            Some(external_ref),
            false,
        ) {
            Ok(input) => Some(input),
            Err(ServiceError::Invalid(errors)) => {
                let errors = errors
                    .into_iter()
                    .map(|(field, message)| error(field, message));
                f.errors.extend(errors);
                None
            }
            Err(other) => {
                f.errors.push(error("row", other.to_string()));
                None
            }
        }
    });
    match f.finish((input, actions))? {
        (Some(input), actions) => Ok((input, actions)),
        (None, _) => Err(vec![error("row", "is incomplete")]),
    }
}
