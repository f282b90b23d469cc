//! Administrative procedures (thủ tục hành chính) and their ISO process steps.

use serde::{Deserialize, Serialize};

use crate::domain::{
    deadline::{SupplementPolicy, TimeLimit, TimeUnit},
    document::{Component, component_problems},
};

/// A procedure's code (mã thủ tục): 1–100 letters, digits, `-`, `_` or `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProcedureCode(String);

impl ProcedureCode {
    pub const MAX_LEN: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let valid = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!(
                "must be 1–{} letters, digits, `-`, `_` or `.`",
                Self::MAX_LEN
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ProcedureCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A fee or charge of a procedure (phí, lệ phí), in VND.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    pub name: String,
    pub amount: i64,
}

/// How far a procedure can be done online (mức độ dịch vụ công trực tuyến).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnlineLevel {
    /// Only at the counter or by post.
    #[default]
    None,
    /// Dịch vụ công trực tuyến một phần: submitted online, some steps on paper.
    Partial,
    /// Dịch vụ công trực tuyến toàn trình: from submission to result online.
    Full,
}

wire_names!(OnlineLevel {
    None => "none",
    Partial => "partial",
    Full => "full",
});

/// What a procedure publishes (and tells the national portal): its national code (mã TTHC), its
/// fees, how far it can be done online and the papers it asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NationalListing {
    pub national_code: Option<String>,
    pub fees: Vec<Fee>,
    pub online_level: OnlineLevel,
    /// The papers the procedure asks for (thành phần hồ sơ).
    pub components: Vec<Component>,
}

impl NationalListing {
    pub const MAX_FEES: usize = 20;
    pub const MAX_CODE_CHARS: usize = 50;
    pub const MAX_FEE_NAME_CHARS: usize = 300;

    /// Every field at fault, named as the API names it (`fees[1].amount`).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut errors = Vec::new();
        if let Some(code) = &self.national_code
            && (code.trim().is_empty() || code.chars().count() > Self::MAX_CODE_CHARS)
        {
            errors.push((
                "national_code".to_owned(),
                format!("must be 1–{} characters, not blank", Self::MAX_CODE_CHARS),
            ));
        }
        if self.fees.len() > Self::MAX_FEES {
            errors.push((
                "fees".to_owned(),
                format!("at most {} fees", Self::MAX_FEES),
            ));
        }
        for (i, fee) in self.fees.iter().enumerate() {
            if fee.name.trim().is_empty() || fee.name.chars().count() > Self::MAX_FEE_NAME_CHARS {
                errors.push((
                    format!("fees[{i}].name"),
                    format!(
                        "must be 1–{} characters, not blank",
                        Self::MAX_FEE_NAME_CHARS
                    ),
                ));
            }
            if fee.amount < 0 {
                errors.push((
                    format!("fees[{i}].amount"),
                    "must not be negative (0 for a free procedure)".to_owned(),
                ));
            }
        }
        errors.extend(component_problems(&self.components));
        errors
    }
}

/// One step of the ISO process document: who handles it and how much working time it is allotted
/// (e.g. reception 4 h, specialist 40 h, head 8 h, director 8 h, clerk 4 h).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessStep {
    pub name: String,
    pub unit_code: String,
    /// Allotted working hours, a multiple of a quarter hour.
    pub hours: f64,
}

impl ProcessStep {
    /// The allotment in working minutes.
    pub fn minutes(&self) -> i64 {
        (self.hours * 60.0).round() as i64
    }
}

/// What a procedure version prescribes; dossiers are judged against the version they were received
/// under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcedureRules {
    pub time_limit: TimeLimit,
    pub supplement_policy: SupplementPolicy,
    pub steps: Vec<ProcessStep>,
}

/// A rule a procedure definition breaks, naming the offending field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleViolation {
    pub field: String,
    pub message: String,
}

impl RuleViolation {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Longest statutory limit accepted, in any unit (about ten years of days).
pub const MAX_LIMIT_AMOUNT: u32 = 3650;

/// Largest allotment of one step (ten years of 8-hour working days); bounds the arithmetic too.
pub const MAX_STEP_HOURS: f64 = 3650.0 * 8.0;

impl ProcedureRules {
    /// Checks the definition. `standard_day_minutes` converts working days to minutes so that the
    /// steps' allotments can be compared with the statutory limit; for calendar days the limit is
    /// taken as that many working days, the most working time the period can hold.
    pub fn validate(&self, standard_day_minutes: i64) -> Vec<RuleViolation> {
        let mut violations = Vec::new();
        if self.time_limit.amount == 0 || self.time_limit.amount > MAX_LIMIT_AMOUNT {
            violations.push(RuleViolation::new(
                "time_limit.amount",
                format!("must be between 1 and {MAX_LIMIT_AMOUNT}"),
            ));
        }
        if self.steps.is_empty() {
            violations.push(RuleViolation::new(
                "steps",
                "a procedure needs at least one step",
            ));
        }
        if self.steps.len() > 50 {
            violations.push(RuleViolation::new("steps", "at most 50 steps"));
        }
        for (i, step) in self.steps.iter().enumerate() {
            if step.name.trim().is_empty() {
                violations.push(RuleViolation::new(
                    format!("steps[{i}].name"),
                    "must not be empty",
                ));
            }
            let quarters = step.hours * 4.0;
            if !step.hours.is_finite()
                || step.hours <= 0.0
                || (quarters - quarters.round()).abs() > 1e-9
            {
                violations.push(RuleViolation::new(
                    format!("steps[{i}].hours"),
                    "must be a positive multiple of 0.25",
                ));
            }
        }
        let limit_minutes = match self.time_limit.unit {
            TimeUnit::WorkingDays | TimeUnit::CalendarDays => {
                i64::from(self.time_limit.amount) * standard_day_minutes
            }
            TimeUnit::WorkingHours => i64::from(self.time_limit.amount) * 60,
        };
        let allotted: i64 = self
            .steps
            .iter()
            .filter(|s| s.hours.is_finite() && s.hours > 0.0)
            .map(ProcessStep::minutes)
            .sum();
        if allotted > limit_minutes {
            violations.push(RuleViolation::new(
                "steps",
                format!(
                    "the steps are allotted {} working hours in all, more than the statutory limit of {} working hours",
                    allotted as f64 / 60.0,
                    limit_minutes as f64 / 60.0
                ),
            ));
        }
        violations
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(unit: &str, hours: f64) -> ProcessStep {
        ProcessStep {
            name: format!("{unit} step"),
            unit_code: unit.into(),
            hours,
        }
    }

    fn rules(days: u32, steps: Vec<ProcessStep>) -> ProcedureRules {
        ProcedureRules {
            time_limit: TimeLimit::working_days(days),
            supplement_policy: SupplementPolicy::Pause,
            steps,
        }
    }

    #[test]
    fn iso_example_fits_eight_days() {
        let r = rules(
            8,
            vec![
                step("MC", 4.0),
                step("QLTM", 40.0),
                step("QLTM", 8.0),
                step("BGD", 8.0),
                step("MC", 4.0),
            ],
        );
        assert_eq!(r.validate(480), vec![]);
    }

    #[test]
    fn steps_over_the_limit_are_rejected() {
        let r = rules(1, vec![step("MC", 4.0), step("QLTM", 5.0)]);
        let v = r.validate(480);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].field, "steps");
    }

    #[test]
    fn bad_hours_and_names_are_named() {
        let mut r = rules(
            5,
            vec![step("MC", 0.1), step("MC", -1.0), step("MC", f64::NAN)],
        );
        r.steps[0].name = " ".into();
        let fields: Vec<String> = r.validate(480).into_iter().map(|v| v.field).collect();
        assert_eq!(
            fields,
            [
                "steps[0].name",
                "steps[0].hours",
                "steps[1].hours",
                "steps[2].hours"
            ]
        );
    }

    #[test]
    fn amount_bounds() {
        assert_eq!(
            rules(0, vec![step("MC", 1.0)]).validate(480)[0].field,
            "time_limit.amount"
        );
        assert!(
            rules(0, vec![])
                .validate(480)
                .iter()
                .any(|v| v.field == "steps")
        );
    }
}
