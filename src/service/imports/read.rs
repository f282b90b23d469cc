//! Reading an import file: CSV or JSON Lines into records, each with its line and key.

use serde_json::{Map, Value};

use super::{ImportFormat, ImportKind, Record, RowError, RowReport, RowStatus, error};
use crate::service::ServiceError;

fn file_error(message: impl Into<String>) -> ServiceError {
    ServiceError::invalid("file", message)
}

/// Column names in backticks, comma-separated, for a message.
fn quoted(names: &[impl std::fmt::Display]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads the file into records. A record that cannot be read becomes a failed row; a file that
/// cannot be read at all (not UTF-8, a bad header) is an error.
pub fn read_records(
    kind: ImportKind,
    format: ImportFormat,
    bytes: &[u8],
) -> Result<Vec<Result<Record, RowReport>>, ServiceError> {
    let text = std::str::from_utf8(bytes).map_err(|e| file_error(format!("not UTF-8: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let records = match format {
        ImportFormat::Csv => read_csv(kind, text)?,
        ImportFormat::JsonLines => read_json_lines(kind, text),
    };
    Ok(records
        .into_iter()
        .map(|r| r.and_then(|r| refuse_control_characters(kind, r)))
        .collect())
}

/// A record with a control character in any cell (or in the JSON of `steps`/`actions`) fails,
/// each field named: the same rule as for the API's JSON bodies (`domain::text`).
fn refuse_control_characters(kind: ImportKind, record: Record) -> Result<Record, RowReport> {
    let found =
        crate::domain::text::forbidden_in_json(&Value::Object(record.fields.clone()), "row");
    if found.is_empty() {
        return Ok(record);
    }
    let errors = found
        .into_iter()
        .map(|(field, message)| error(field, message))
        .collect();
    // The key may be what holds the character: it is shown escaped, like the fields.
    let key = key_of(kind, &record.fields).map(|k| k.escape_debug().to_string());
    Err(failed_row(record.row, record.line, key, errors))
}

fn failed_row(row: usize, line: usize, key: Option<String>, errors: Vec<RowError>) -> RowReport {
    RowReport {
        row,
        line,
        key,
        status: RowStatus::Failed,
        result: None,
        errors,
    }
}

fn read_csv(kind: ImportKind, text: &str) -> Result<Vec<Result<Record, RowReport>>, ServiceError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| file_error(format!("cannot read the header row: {e}")))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let known = kind.columns();
    let unknown: Vec<&String> = headers
        .iter()
        .filter(|h| !known.contains(&h.as_str()))
        .collect();
    if !unknown.is_empty() {
        return Err(file_error(format!(
            "unknown column(s) {}; the columns are {}",
            quoted(&unknown),
            known.join(", ")
        )));
    }
    let missing: Vec<&str> = kind
        .required()
        .filter(|r| !headers.iter().any(|h| h == r))
        .collect();
    if !missing.is_empty() {
        return Err(file_error(format!(
            "missing column(s) {}",
            quoted(&missing)
        )));
    }
    let mut records = Vec::new();
    for (index, result) in reader.records().enumerate() {
        let row = index + 1;
        let record = match result {
            Ok(record) => record,
            Err(e) => {
                let line = e
                    .position()
                    .map_or(row + 1, |p| usize::try_from(p.line()).unwrap_or(0));
                records.push(Err(failed_row(
                    row,
                    line,
                    None,
                    vec![error("row", e.to_string())],
                )));
                continue;
            }
        };
        let line = record
            .position()
            .map_or(row + 1, |p| usize::try_from(p.line()).unwrap_or(0));
        let mut fields = Map::new();
        let mut errors = Vec::new();
        for (header, cell) in headers.iter().zip(record.iter()) {
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            let value = if kind.json_columns().contains(&header.as_str()) {
                match serde_json::from_str(cell) {
                    Ok(value) => value,
                    Err(e) => {
                        errors.push(error(header, format!("is not JSON: {e}")));
                        continue;
                    }
                }
            } else {
                Value::String(cell.to_owned())
            };
            fields.insert(header.clone(), value);
        }
        let key = key_of(kind, &fields);
        records.push(if errors.is_empty() {
            Ok(Record { row, line, fields })
        } else {
            Err(failed_row(row, line, key, errors))
        });
    }
    Ok(records)
}

fn read_json_lines(kind: ImportKind, text: &str) -> Vec<Result<Record, RowReport>> {
    let mut records = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let (row, line) = (records.len() + 1, index + 1);
        let fields = match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(fields)) => fields,
            Ok(_) => {
                records.push(Err(failed_row(
                    row,
                    line,
                    None,
                    vec![error("row", "is not a JSON object")],
                )));
                continue;
            }
            Err(e) => {
                records.push(Err(failed_row(
                    row,
                    line,
                    None,
                    vec![error("row", format!("is not JSON: {e}"))],
                )));
                continue;
            }
        };
        let key = key_of(kind, &fields);
        let unknown: Vec<RowError> = fields
            .keys()
            .filter(|k| !kind.columns().contains(&k.as_str()))
            .map(|k| error(k, "unknown field"))
            .collect();
        let fields: Map<String, Value> = fields.into_iter().filter(|(_, v)| !v.is_null()).collect();
        records.push(if unknown.is_empty() {
            Ok(Record { row, line, fields })
        } else {
            Err(failed_row(row, line, key, unknown))
        });
    }
    records
}

pub(super) fn key_of(kind: ImportKind, fields: &Map<String, Value>) -> Option<String> {
    let column = match kind {
        ImportKind::Procedures => "code",
        ImportKind::Dossiers => "external_ref",
    };
    fields
        .get(column)
        .and_then(Value::as_str)
        .map(str::to_owned)
}
