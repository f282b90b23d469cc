//! Limits on what people type into a dossier, in one place: the API and the importer check the same
//! rules through [`check_action`] and [`crate::domain::applicant::Applicant::parse`].

use crate::domain::dossier::{Command, DossierError};

/// Free text of the control slip (`note`).
pub const NOTE_MAX_CHARS: usize = 2000;
/// A hand-over's recipient (`to_user`).
pub const TO_USER_MAX_CHARS: usize = 100;
/// The reason an action gives (a request for supplement or payment, a withdrawal, an apology, a
/// decline, a stop).
pub const REASON_MAX_CHARS: usize = 2000;
/// A payment's receipt number (số biên lai).
pub const RECEIPT_NO_MAX_CHARS: usize = 100;
/// Documents a request for supplement may name, and the length of each name.
pub const DOCUMENTS_MAX: usize = 50;
pub const DOCUMENT_NAME_MAX_CHARS: usize = 300;
/// The e-portal's own reference of a dossier.
pub const EXTERNAL_REF_MAX_CHARS: usize = 100;
/// A dossier list's free-text search.
pub const SEARCH_MAX_CHARS: usize = 100;

fn too_long(value: Option<&str>, max: usize) -> bool {
    value.is_some_and(|v| v.chars().count() > max)
}

fn at_most(field: &'static str, value: Option<&str>, max: usize) -> Result<(), DossierError> {
    if too_long(value, max) {
        return Err(DossierError::Invalid {
            field,
            message: format!("at most {max} characters"),
        });
    }
    Ok(())
}

/// Checks the free text an action carries besides its command; the first problem wins.
pub fn check_action(
    command: &Command,
    note: Option<&str>,
    to_user: Option<&str>,
) -> Result<(), DossierError> {
    at_most("note", note, NOTE_MAX_CHARS)?;
    at_most("to_user", to_user, TO_USER_MAX_CHARS)?;
    match command {
        Command::Withdraw { reason }
        | Command::Apologize { reason, .. }
        | Command::Decline { reason }
        | Command::Stop { reason }
        | Command::RequestPayment { reason, .. } => {
            at_most("reason", Some(reason), REASON_MAX_CHARS)?;
        }
        Command::PaymentReceived { receipt_no, .. } => {
            at_most("receipt_no", Some(receipt_no), RECEIPT_NO_MAX_CHARS)?;
        }
        _ => {}
    }
    if let Command::RequestSupplement { reason, documents } = command {
        at_most("reason", Some(reason), REASON_MAX_CHARS)?;
        if documents.len() > DOCUMENTS_MAX
            || documents
                .iter()
                .any(|d| d.trim().is_empty() || too_long(Some(d), DOCUMENT_NAME_MAX_CHARS))
        {
            return Err(DossierError::Invalid {
                field: "documents",
                message: format!(
                    "at most {DOCUMENTS_MAX} non-empty names of at most \
                     {DOCUMENT_NAME_MAX_CHARS} characters"
                ),
            });
        }
    }
    Ok(())
}

/// Appends `field: at most N characters` when `value` is longer than `max`.
pub fn bounded(errors: &mut Vec<(String, String)>, field: &str, value: Option<&str>, max: usize) {
    if too_long(value, max) {
        errors.push((field.to_owned(), format!("at most {max} characters")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_problem_is_named() {
        let long = "x".repeat(NOTE_MAX_CHARS + 1);
        assert!(check_action(&Command::Start, Some("ok"), Some("u")).is_ok());
        assert!(matches!(
            check_action(&Command::Start, Some(&long), None),
            Err(DossierError::Invalid { field: "note", .. })
        ));
        let many = Command::RequestSupplement {
            reason: "thiếu bản sao".into(),
            documents: vec!["a".into(); DOCUMENTS_MAX + 1],
        };
        assert!(matches!(
            check_action(&many, None, None),
            Err(DossierError::Invalid {
                field: "documents",
                ..
            })
        ));
        let blank = Command::RequestSupplement {
            reason: "x".into(),
            documents: vec![" ".into()],
        };
        assert!(check_action(&blank, None, None).is_err());
    }

    #[test]
    fn every_reason_and_receipt_number_is_bounded() {
        let long = "x".repeat(REASON_MAX_CHARS + 1);
        for command in [
            Command::Stop {
                reason: long.clone(),
            },
            Command::Decline {
                reason: long.clone(),
            },
            Command::Withdraw {
                reason: long.clone(),
            },
            Command::RequestPayment {
                amount: 1,
                reason: long.clone(),
            },
        ] {
            assert!(
                matches!(
                    check_action(&command, None, None),
                    Err(DossierError::Invalid {
                        field: "reason",
                        ..
                    })
                ),
                "{command:?}"
            );
        }
        let receipt = Command::PaymentReceived {
            amount: 1,
            method: crate::domain::dossier::PaymentMethod::Cash,
            receipt_no: "9".repeat(RECEIPT_NO_MAX_CHARS + 1),
        };
        assert!(matches!(
            check_action(&receipt, None, None),
            Err(DossierError::Invalid {
                field: "receipt_no",
                ..
            })
        ));
    }
}
