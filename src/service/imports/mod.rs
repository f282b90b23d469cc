//! Bulk import of the e-portal's exports: procedures (thủ tục hành chính) and dossiers (hồ sơ), as
//! CSV with a header row or as JSON lines (one object per line) with the same field names.
//!
//! Procedures, one per row:
//!
//! | column | |
//! |---|---|
//! | `code` | the procedure code (mã thủ tục), letters, digits, `.`, `-`, `_`; required |
//! | `name`, `field`, `unit_code` | name, field (lĩnh vực), lead unit; required |
//! | `time_limit_amount`, `time_limit_unit` | e.g. `5` and `working_days` (`working_hours`, `calendar_days`); required |
//! | `supplement_policy` | `pause` (default) or `restart` |
//! | `steps` | JSON array of `{"name", "unit_code", "hours"}`; required |
//! | `active` | `true` (default) or `false` |
//!
//! A new code creates the procedure; a known one gets a new version, unless the row equals its latest
//! version (then the row is skipped).
//!
//! Dossiers, one per row, each received and then taken through its actions by the same code as the
//! API (deadlines, control slip, audit log, change feed and webhooks included):
//!
//! | column | |
//! |---|---|
//! | `external_ref` | the e-portal's own dossier number; required; a known one is skipped |
//! | `procedure_code`, `channel` | required; `direct`, `online` or `postal` |
//! | `received_at` | RFC 3339 instant with offset; required |
//! | `applicant_name` | required |
//! | `applicant_id_number`, `applicant_organization`, `applicant_phone`, `applicant_email`, `applicant_address` | optional |
//! | `actions` | JSON array of actions as `POST /dossiers/{code}/actions` takes them (`action`, `at`, …), in order |
//!
//! In CSV a cell holding `steps` or `actions` is JSON text; an empty cell is an absent value.
//! `atomic` imports the whole file or nothing; `per_row` imports each good row on its own.

mod read;
mod rows;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use read::key_of;
pub use read::read_records;
pub use rows::check_record;
use rows::{ActionSpec, dossier_row, procedure_row};

use super::{
    ServiceError, VersionPrecondition,
    catalogue::{create_procedure, update_procedure},
    dossiers::{ActionInput, ReceiptInput, RecipientRule, act, receive},
};
use crate::{
    auth::policy::{Action, Principal, authorize},
    domain::dossier::{DossierError, Status},
    store::{
        DbConnection, StoreError,
        audit::AuditContext,
        calendar::CalendarCache,
        catalogue::{self, ProcedureDraft},
        dossiers::{DossierFilter, ListCursor, list_dossiers},
        write_transaction,
    },
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    Procedures,
    Dossiers,
}

impl ImportKind {
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            ImportKind::Procedures => &PROCEDURE_COLUMNS,
            ImportKind::Dossiers => &DOSSIER_COLUMNS,
        }
    }

    /// The columns a file must have: all but the optional ones, in column order.
    fn required(self) -> impl Iterator<Item = &'static str> {
        let optional: &[&str] = match self {
            ImportKind::Procedures => &["supplement_policy", "active"],
            // Every column after the applicant's name: further details and the history.
            ImportKind::Dossiers => &DOSSIER_COLUMNS[5..],
        };
        self.columns()
            .iter()
            .copied()
            .filter(move |column| !optional.contains(column))
    }

    /// Columns whose CSV cells hold JSON.
    fn json_columns(self) -> &'static [&'static str] {
        match self {
            ImportKind::Procedures => &["steps"],
            ImportKind::Dossiers => &["actions"],
        }
    }
}

pub const PROCEDURE_COLUMNS: [&str; 9] = [
    "code",
    "name",
    "field",
    "unit_code",
    "time_limit_amount",
    "time_limit_unit",
    "supplement_policy",
    "steps",
    "active",
];

pub const DOSSIER_COLUMNS: [&str; 11] = [
    "external_ref",
    "procedure_code",
    "channel",
    "received_at",
    "applicant_name",
    "applicant_id_number",
    "applicant_organization",
    "applicant_phone",
    "applicant_email",
    "applicant_address",
    "actions",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ImportFormat {
    #[serde(rename = "csv")]
    Csv,
    #[serde(rename = "jsonl")]
    JsonLines,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// All rows or none.
    Atomic,
    /// Every good row, each on its own.
    PerRow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    Imported,
    /// Already there: an identical procedure version, or a dossier with the same `external_ref`.
    Skipped,
    Failed,
    /// Valid, but not kept because another row of an atomic import failed.
    RolledBack,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// The column (or `actions[2].at`, `steps[0].hours` …) at fault; `row` for the row as a whole.
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RowReport {
    /// The record's number, from 1, header excluded.
    pub row: usize,
    /// Its line in the file.
    pub line: usize,
    /// The procedure code or the dossier's `external_ref`, when readable.
    pub key: Option<String>,
    pub status: RowStatus,
    /// What the row became: `QT-01 v2`, or the dossier code with its final status.
    pub result: Option<String>,
    pub errors: Vec<RowError>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub kind: ImportKind,
    pub mode: ImportMode,
    pub total: usize,
    pub imported: usize,
    pub skipped: usize,
    pub failed: usize,
    /// Whether anything was written: false for an atomic import with a bad row.
    pub committed: bool,
    pub rows: Vec<RowReport>,
}

/// One record of the file, its fields by column name.
#[derive(Debug, Clone)]
pub struct Record {
    pub row: usize,
    pub line: usize,
    pub fields: Map<String, Value>,
}

pub(super) fn error(field: impl Into<String>, message: impl Into<String>) -> RowError {
    RowError {
        field: field.into(),
        message: message.into(),
    }
}

/// A service error as the errors of one row, with `prefix` before field names; storage failures
/// other than a duplicate stop the import instead (`Err`).
fn row_errors(e: ServiceError, prefix: &str) -> Result<Vec<RowError>, ServiceError> {
    let named = |field: &str| format!("{prefix}{field}");
    Ok(match e {
        ServiceError::Invalid(errors) => errors
            .into_iter()
            .map(|(field, message)| error(named(&field), message))
            .collect(),
        ServiceError::Dossier(DossierError::Invalid { field, message }) => {
            vec![error(named(field), message)]
        }
        ServiceError::Dossier(
            e @ (DossierError::IllegalTransition { .. } | DossierError::NoNextStep),
        ) => vec![error(named("action"), e.to_string())],
        ServiceError::Dossier(e) => vec![error(named("at"), e.to_string())],
        ServiceError::Store(StoreError::UniqueViolation(what)) => {
            vec![error("row", format!("duplicate: {what}"))]
        }
        e @ ServiceError::Store(_) => return Err(e),
        other => vec![error("row", other.to_string())],
    })
}

/// Who and what an import runs as.
pub struct ImportContext<'a> {
    pub calendars: &'a CalendarCache,
    pub who: &'a Principal,
    pub audit: &'a AuditContext,
}

enum Outcome {
    Imported(String),
    Skipped(String),
}

/// A row failed: why (or a storage failure that ends the import).
enum RowFailure {
    Row(Vec<RowError>),
    Fatal(ServiceError),
}

impl From<diesel::result::Error> for RowFailure {
    fn from(e: diesel::result::Error) -> Self {
        RowFailure::Fatal(e.into())
    }
}

impl RowFailure {
    fn from_service(e: ServiceError, prefix: &str) -> Self {
        match row_errors(e, prefix) {
            Ok(errors) => RowFailure::Row(errors),
            Err(fatal) => RowFailure::Fatal(fatal),
        }
    }
}

fn import_procedure(
    conn: &mut DbConnection,
    cx: &ImportContext,
    code: String,
    draft: ProcedureDraft,
) -> Result<Outcome, RowFailure> {
    let latest = match catalogue::latest_procedure(conn, &code) {
        Ok(latest) => Some(latest),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(RowFailure::Fatal(e.into())),
    };
    let created = match latest {
        None => create_procedure(conn, cx.calendars, cx.who, cx.audit, &code, draft),
        Some(latest)
            if latest.name == draft.name
                && latest.field == draft.field
                && latest.unit_code == draft.unit_code
                && latest.rules == draft.rules
                && latest.active == draft.active =>
        {
            return Ok(Outcome::Skipped(format!(
                "{code} v{} is identical",
                latest.version
            )));
        }
        Some(_) => update_procedure(
            conn,
            cx.calendars,
            cx.who,
            cx.audit,
            &code,
            draft,
            &VersionPrecondition::Any,
        ),
    }
    .map_err(|e| RowFailure::from_service(e, ""))?;
    Ok(Outcome::Imported(format!(
        "{} v{}",
        created.code, created.version
    )))
}

fn import_dossier(
    conn: &mut DbConnection,
    cx: &ImportContext,
    input: ReceiptInput,
    actions: Vec<ActionSpec>,
) -> Result<Outcome, RowFailure> {
    // Only a dossier the caller may see is named as already imported; another agency's dossier with
    // the same external_ref makes the row fail on the (deployment-wide) unique reference instead.
    let existing = list_dossiers(
        conn,
        &DossierFilter {
            external_ref: input.external_ref.clone(),
            agencies: cx.who.scope.codes(),
            ..DossierFilter::default()
        },
        &ListCursor::Start,
        1,
    )
    .map_err(|e| RowFailure::Fatal(e.into()))?;
    if let Some(found) = existing.first() {
        return Ok(Outcome::Skipped(format!(
            "{} has this external_ref already",
            found.code
        )));
    }
    let received = receive(conn, cx.calendars, cx.who, cx.audit, input)
        .map_err(|e| RowFailure::from_service(e, ""))?;
    let code = received.dossier.code;
    let mut version = received.dossier.version;
    let mut status: Status = received.dossier.status;
    for (i, spec) in actions.into_iter().enumerate() {
        let record = act(
            conn,
            cx.calendars,
            cx.who,
            cx.audit,
            &code,
            ActionInput {
                command: spec.command,
                expected_version: version.into(),
                at: spec.at,
                to_user: spec.to_user,
                recipients: RecipientRule::AsRecorded,
                note: spec.note,
            },
        )
        .map_err(|e| RowFailure::from_service(e, &format!("actions[{i}].")))?;
        version = record.version;
        status = record.status;
    }
    Ok(Outcome::Imported(format!("{code} ({status})")))
}

fn import_one(
    conn: &mut DbConnection,
    kind: ImportKind,
    cx: &ImportContext,
    record: &Record,
) -> Result<Outcome, RowFailure> {
    // Each row in its own transaction (a savepoint within an atomic import): a row that fails
    // half-way leaves nothing behind.
    write_transaction(conn, |conn| match kind {
        ImportKind::Procedures => {
            let (code, draft) = procedure_row(&record.fields).map_err(RowFailure::Row)?;
            import_procedure(conn, cx, code, draft)
        }
        ImportKind::Dossiers => {
            let (input, actions) = dossier_row(&record.fields).map_err(RowFailure::Row)?;
            import_dossier(conn, cx, input, actions)
        }
    })
}

/// Ends an atomic import's transaction without keeping it.
enum Abort {
    BadRows,
    Fatal(ServiceError),
}

impl From<diesel::result::Error> for Abort {
    fn from(e: diesel::result::Error) -> Self {
        Abort::Fatal(e.into())
    }
}

/// Imports `records`, calling `progress` after each row.
#[tracing::instrument(
    name = "imports.run",
    skip_all,
    fields(kind = ?kind, mode = ?mode, rows = records.len(), by = %cx.who.subject)
)]
pub fn run(
    conn: &mut DbConnection,
    cx: &ImportContext,
    kind: ImportKind,
    mode: ImportMode,
    records: Vec<Result<Record, RowReport>>,
    progress: &mut dyn FnMut(),
) -> Result<ImportReport, ServiceError> {
    authorize(cx.who, &Action::ImportData, None)?;
    let total = records.len();
    let mut rows: Vec<RowReport> = Vec::with_capacity(total);
    let process = |conn: &mut DbConnection,
                   rows: &mut Vec<RowReport>|
     -> Result<(), ServiceError> {
        for record in records {
            let report = match record {
                Err(unreadable) => unreadable,
                Ok(record) => {
                    let key = key_of(kind, &record.fields);
                    let (status, result, errors) = match import_one(conn, kind, cx, &record) {
                        Ok(Outcome::Imported(what)) => {
                            (RowStatus::Imported, Some(what), Vec::new())
                        }
                        Ok(Outcome::Skipped(why)) => (RowStatus::Skipped, Some(why), Vec::new()),
                        Err(RowFailure::Row(errors)) => (RowStatus::Failed, None, errors),
                        Err(RowFailure::Fatal(e)) => return Err(e),
                    };
                    RowReport {
                        row: record.row,
                        line: record.line,
                        key,
                        status,
                        result,
                        errors,
                    }
                }
            };
            rows.push(report);
            progress();
        }
        Ok(())
    };
    let committed = match mode {
        ImportMode::PerRow => {
            process(conn, &mut rows)?;
            rows.iter().any(|r| r.status == RowStatus::Imported)
        }
        ImportMode::Atomic => {
            let outcome = write_transaction(conn, |conn| {
                process(conn, &mut rows).map_err(Abort::Fatal)?;
                if rows.iter().any(|r| r.status == RowStatus::Failed) {
                    Err(Abort::BadRows)
                } else {
                    Ok(())
                }
            });
            match outcome {
                Ok(()) => true,
                Err(Abort::BadRows) => {
                    for row in rows.iter_mut().filter(|r| r.status == RowStatus::Imported) {
                        row.status = RowStatus::RolledBack;
                    }
                    false
                }
                Err(Abort::Fatal(e)) => return Err(e),
            }
        }
    };
    let count = |status| rows.iter().filter(|r| r.status == status).count();
    let report = ImportReport {
        kind,
        mode,
        total,
        imported: count(RowStatus::Imported),
        skipped: count(RowStatus::Skipped),
        failed: count(RowStatus::Failed),
        committed,
        rows,
    };
    if report.committed {
        let by_status: BTreeMap<&str, usize> = [
            ("imported", report.imported),
            ("skipped", report.skipped),
            ("failed", report.failed),
        ]
        .into_iter()
        .collect();
        write_transaction(conn, |conn| {
            cx.audit.record(
                conn,
                "import.run",
                "import",
                match kind {
                    ImportKind::Procedures => "procedures",
                    ImportKind::Dossiers => "dossiers",
                },
                cx.who.scope.home(),
                serde_json::json!({"mode": mode, "total": total, "rows": by_status}),
            )
        })?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::deadline::TimeLimit;

    fn fields(records: &[Result<Record, RowReport>]) -> Vec<&Map<String, Value>> {
        records
            .iter()
            .map(|r| &r.as_ref().expect("readable").fields)
            .collect()
    }

    fn json_lines(kind: ImportKind, text: &str) -> Vec<Result<Record, RowReport>> {
        read_records(kind, ImportFormat::JsonLines, text.as_bytes()).unwrap()
    }

    /// The fields named, in order, by the errors of the first row of `text` (JSON lines).
    fn first_row_error_fields(kind: ImportKind, text: &str) -> Vec<String> {
        let records = json_lines(kind, text);
        let first = records[0].as_ref().expect("readable");
        let errors = check_record(kind, first).unwrap_err();
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn csv_cells_become_fields_and_json_columns_are_parsed() {
        let csv = "\u{feff}code,name,field,unit_code,time_limit_amount,time_limit_unit,steps\n\
                   QT-1,\"Cấp phép, gia hạn\",Thương mại,QLTM,5,working_days,\"[{\"\"name\"\":\"\"Tiếp nhận\"\",\"\"unit_code\"\":\"\"MC\"\",\"\"hours\"\":4}]\"\n";
        let records =
            read_records(ImportKind::Procedures, ImportFormat::Csv, csv.as_bytes()).unwrap();
        let f = fields(&records);
        assert_eq!(f[0]["name"], "Cấp phép, gia hạn");
        assert_eq!(f[0]["steps"][0]["unit_code"], "MC");
        assert_eq!(records[0].as_ref().unwrap().line, 2);
        let (code, draft) = procedure_row(f[0]).unwrap();
        assert_eq!(code, "QT-1");
        assert_eq!(draft.rules.time_limit, TimeLimit::working_days(5));
        assert!(draft.active);
    }

    #[test]
    fn bad_headers_fail_the_file() {
        let unknown = read_records(
            ImportKind::Dossiers,
            ImportFormat::Csv,
            b"external_ref,colour\nA,red\n",
        );
        assert!(matches!(unknown, Err(ServiceError::Invalid(e)) if e[0].1.contains("`colour`")));
        let missing = read_records(
            ImportKind::Dossiers,
            ImportFormat::Csv,
            b"external_ref\nA\n",
        );
        assert!(
            matches!(missing, Err(ServiceError::Invalid(e)) if e[0].1.contains("`procedure_code`"))
        );
    }

    #[test]
    fn every_problem_of_a_row_is_named() {
        let line = r#"{"external_ref":"X","channel":"fax","received_at":"yesterday","actions":[{"action":"resolve"},{"action":"fly"},{"action":"start","at":"soon"}]}"#;
        assert_eq!(
            first_row_error_fields(ImportKind::Dossiers, line),
            [
                "procedure_code",
                "channel",
                "received_at",
                "applicant_name",
                "actions[0].result",
                "actions[1].action",
                "actions[2].at"
            ]
        );
    }

    #[test]
    fn json_lines_report_unreadable_lines_and_unknown_fields() {
        let text = "{\"code\":\"A\"}\n\nnot json\n[1]\n{\"code\":\"B\",\"colour\":1}\n";
        let records = json_lines(ImportKind::Procedures, text);
        assert_eq!(records.len(), 4);
        assert!(records[0].is_ok());
        let bad: Vec<(usize, usize, String)> = records[1..]
            .iter()
            .map(|r| {
                let r = r.as_ref().unwrap_err();
                (r.row, r.line, r.errors[0].field.clone())
            })
            .collect();
        assert_eq!(
            bad,
            [
                (2, 3, "row".to_owned()),
                (3, 4, "row".to_owned()),
                (4, 5, "colour".to_owned())
            ]
        );
        assert_eq!(
            first_row_error_fields(ImportKind::Procedures, text),
            [
                "name",
                "field",
                "unit_code",
                "time_limit_amount",
                "time_limit_unit",
                "steps"
            ]
        );
    }

    #[test]
    fn step_errors_carry_their_path() {
        let line = r#"{"code":"A","name":"n","field":"f","unit_code":"U","time_limit_amount":"x","time_limit_unit":"weeks","steps":[{"name":"s","unit_code":"U","hours":"four"}],"active":"maybe"}"#;
        assert_eq!(
            first_row_error_fields(ImportKind::Procedures, line),
            [
                "time_limit_amount",
                "time_limit_unit",
                "steps[0].hours",
                "active"
            ]
        );
    }
}
