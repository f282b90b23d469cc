//! The applicant (người nộp hồ sơ): a person or an organisation, parsed once where it enters.

use serde::{Deserialize, Serialize};

use crate::domain::limits::bounded;

/// An applicant's particulars as given, before they are checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicantDraft {
    pub name: String,
    pub id_number: Option<String>,
    pub organization: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
}

/// Checked particulars: a non-blank name (trimmed), an identity number of letters and digits, a
/// plausible phone number and e-mail address, each within its length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Applicant(ApplicantDraft);

impl Applicant {
    /// Parses a draft; every problem is named by its field (`applicant.…`).
    pub fn parse(draft: ApplicantDraft) -> Result<Self, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let d = &draft;
        bounded(&mut errors, "applicant.name", Some(&d.name), 200);
        bounded(
            &mut errors,
            "applicant.id_number",
            d.id_number.as_deref(),
            32,
        );
        bounded(
            &mut errors,
            "applicant.organization",
            d.organization.as_deref(),
            300,
        );
        bounded(&mut errors, "applicant.phone", d.phone.as_deref(), 32);
        bounded(&mut errors, "applicant.email", d.email.as_deref(), 254);
        bounded(&mut errors, "applicant.address", d.address.as_deref(), 500);
        if d.name.trim().is_empty() {
            errors.push(("applicant.name".into(), "must not be empty".into()));
        }
        if let Some(email) = &d.email
            && !(email.contains('@') && !email.starts_with('@') && !email.ends_with('@'))
        {
            errors.push(("applicant.email".into(), "is not an e-mail address".into()));
        }
        if let Some(phone) = &d.phone
            && !phone
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        {
            errors.push((
                "applicant.phone".into(),
                "may hold only digits, spaces and + - ( ) .".into(),
            ));
        }
        if let Some(id) = &d.id_number
            && !id.chars().all(|c| c.is_ascii_alphanumeric())
        {
            errors.push((
                "applicant.id_number".into(),
                "may hold only letters and digits".into(),
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let name = draft.name.trim().to_owned();
        Ok(Self(ApplicantDraft { name, ..draft }))
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The same particulars under `name` (the stored dossier keeps the name in its own column).
    pub fn with_name(self, name: String) -> Self {
        Self(ApplicantDraft { name, ..self.0 })
    }

    /// The particulars, for rendering.
    pub fn particulars(&self) -> &ApplicantDraft {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_named_and_the_name_is_trimmed() {
        let bad = ApplicantDraft {
            name: " ".into(),
            id_number: Some("12-3".into()),
            email: Some("@x".into()),
            phone: Some("09x".into()),
            ..ApplicantDraft::default()
        };
        let fields: Vec<String> = Applicant::parse(bad)
            .unwrap_err()
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(
            fields,
            [
                "applicant.name",
                "applicant.email",
                "applicant.phone",
                "applicant.id_number"
            ]
        );
        let ok = Applicant::parse(ApplicantDraft {
            name: "  Nguyễn Văn A ".into(),
            ..ApplicantDraft::default()
        })
        .unwrap();
        assert_eq!(ok.name(), "Nguyễn Văn A");
    }
}
