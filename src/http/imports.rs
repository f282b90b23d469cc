//! `POST /api/v1/imports`: the bulk import of `motcua import`, for administrators over HTTP.

use actix_web::{HttpRequest, http::header, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::Caller,
    error::{ApiError, Problem},
    state::AppState,
};
use crate::http::extract::ApiQuery;
use crate::service::imports::{
    self as service, ImportContext, ImportFormat, ImportKind, ImportMode, ImportReport,
};

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportKindDto {
    Procedures,
    Dossiers,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportModeDto {
    /// The whole file or nothing.
    Atomic,
    /// Every good row, each on its own.
    PerRow,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    #[param(inline)]
    pub kind: ImportKindDto,
    #[param(inline)]
    pub mode: ImportModeDto,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RowErrorDto {
    /// The column at fault (`actions[1].at`, `steps[0].hours` …), or `row`.
    pub field: String,
    pub message: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RowReportDto {
    /// The record's number, from 1, header excluded.
    pub row: usize,
    /// Its line in the file.
    pub line: usize,
    /// The procedure code or the dossier's `external_ref`.
    pub key: Option<String>,
    /// `imported`, `skipped` (already there), `failed`, or `rolled_back` (good, but another row of
    /// an atomic import failed).
    pub status: String,
    /// What the row became, e.g. `QT-01 v2` or `SCT-250303-0001 (returned)`.
    pub result: Option<String>,
    pub errors: Vec<RowErrorDto>,
}

/// The validation report of an import.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportReportDto {
    /// `procedures` or `dossiers`.
    pub kind: String,
    /// `atomic` or `per_row`.
    pub mode: String,
    pub total: usize,
    pub imported: usize,
    pub skipped: usize,
    pub failed: usize,
    /// Whether anything was written: `false` when an atomic import had a bad row.
    pub committed: bool,
    /// Every row with its status, in file order.
    pub rows: Vec<RowReportDto>,
}

fn text<T: Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl From<ImportReport> for ImportReportDto {
    fn from(r: ImportReport) -> Self {
        Self {
            kind: text(r.kind),
            mode: text(r.mode),
            total: r.total,
            imported: r.imported,
            skipped: r.skipped,
            failed: r.failed,
            committed: r.committed,
            rows: r
                .rows
                .into_iter()
                .map(|row| RowReportDto {
                    row: row.row,
                    line: row.line,
                    key: row.key,
                    status: text(row.status),
                    result: row.result,
                    errors: row
                        .errors
                        .into_iter()
                        .map(|e| RowErrorDto {
                            field: e.field,
                            message: e.message,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// The file's format from the request's content type.
fn format_of(req: &HttpRequest) -> Result<ImportFormat, ApiError> {
    let mime = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok());
    match mime
        .as_ref()
        .map(|m| (m.type_().as_str(), m.subtype().as_str()))
    {
        Some(("text", "csv")) => Ok(ImportFormat::Csv),
        Some(("application", "x-ndjson" | "jsonl" | "x-jsonlines")) => Ok(ImportFormat::JsonLines),
        _ => Err(ApiError::UnsupportedMediaType(
            "send the file as text/csv or as JSON lines (application/x-ndjson)".to_owned(),
        )),
    }
}

/// Imports procedures or dossiers from the e-portal's export: CSV with a header row
/// (`text/csv`) or JSON lines (`application/x-ndjson`) with the same field names. The columns are
/// listed in the README (`motcua import`). Dossiers go through the same receipt and actions as the
/// API. The answer is the validation report: every row with its status, and why a bad one failed. The body is
/// limited by `MOTCUA_BODY_LIMIT`; use `motcua import` for larger files.
#[utoipa::path(
    post, path = "/api/v1/imports", operation_id = "import_data", tag = "imports", params(ImportQuery),
    request_body(content(
        (String = "text/csv", example = "external_ref,procedure_code,channel,received_at,applicant_name,actions\nDVC-1,QT-01,online,2025-03-03T08:00:00+07:00,Nguyễn Văn A,\"[{\"\"action\"\":\"\"start\"\"}]\"\n"),
        (String = "application/x-ndjson"),
    )),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ImportReportDto),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "the file cannot be read (encoding, header row)"),
    )
)]
pub async fn import(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: ApiQuery<ImportQuery>,
    body: web::Bytes,
) -> Result<web::Json<ImportReportDto>, ApiError> {
    let format = format_of(&req)?;
    let kind = match query.kind {
        ImportKindDto::Procedures => ImportKind::Procedures,
        ImportKindDto::Dossiers => ImportKind::Dossiers,
    };
    let mode = match query.mode {
        ImportModeDto::Atomic => ImportMode::Atomic,
        ImportModeDto::PerRow => ImportMode::PerRow,
    };
    let calendars = state.calendar.clone();
    let report = state
        .db_as(caller, move |conn, caller| {
            // Refuse before reading the file: a stranger learns nothing about its validity.
            crate::auth::policy::authorize(
                &caller.principal,
                &crate::auth::policy::Action::ImportData,
                None,
            )
            .map_err(crate::service::ServiceError::from)?;
            let records = service::read_records(kind, format, &body)?;
            service::run(
                conn,
                &ImportContext {
                    calendars: &calendars,
                    who: &caller.principal,
                    audit: &caller.audit,
                },
                kind,
                mode,
                records,
                &mut || {},
            )
        })
        .await?;
    Ok(web::Json(report.into()))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/imports").post(import));
}
