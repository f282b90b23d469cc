//! The national portal's sync records (Cổng DVCQG, DongBoHoSoMC), pulled page by page.

use actix_web::web;
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::Caller,
    dossiers::{FeedPage, feed_position},
    error::ApiError,
    extract::ApiQuery,
    pagination::PageQuery,
    state::AppState,
    time::{deserialize_opt_instant, local_opt},
};
use crate::{
    domain::Instant,
    service::national::{self as service, NationalRecord},
    store::dossiers::DossierFilter,
};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Where the export starts: the dossiers whose latest change is at or after this instant
    /// (RFC 3339); without it and without a cursor, every dossier. The cursors carry the position
    /// from there on.
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub updated_since: Option<DateTime<Utc>>,
    /// A `next_cursor` or `sync_cursor` of an earlier page.
    #[param(pattern = "^[A-Za-z0-9_-]*$", max_length = 200)]
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NationalExportPage {
    pub items: Vec<NationalRecord>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// Pass as `cursor` on the next poll to get what changed after everything seen so far.
    pub sync_cursor: String,
}

/// Changed dossiers as the national portal takes them (DongBoHoSoMC): every value a string,
/// instants `yyyyMMddHHmmss` in UTC+7. The pages follow the change feed (`GET /api/v1/dossiers`
/// with `updated_since`): each dossier at its latest state, in the order its latest change became
/// visible, so that nothing is skipped or repeated between pages and polls. Administrators,
/// auditors and the e-portal's client, for every dossier of their agencies.
#[utoipa::path(
    get, path = "/api/v1/exports/dvcqg", tag = "exports", operation_id = "export_dvcqg",
    params(ExportQuery), security(("bearer" = [])),
    responses((status = 200, body = NationalExportPage))
)]
pub async fn export(
    state: web::Data<AppState>,
    caller: Caller,
    query: ApiQuery<ExportQuery>,
) -> Result<web::Json<NationalExportPage>, ApiError> {
    let q = query.into_inner();
    let page = PageQuery::new(q.limit, q.cursor);
    let limit = page.limit()?;
    let after = feed_position(&page)?;
    let filter = DossierFilter {
        // The cursor carries the position; the instant only chose where the export began.
        updated_since: after
            .is_none()
            .then_some(q.updated_since.map(Instant::from))
            .flatten(),
        ..DossierFilter::default()
    };
    let export = state
        .db_as(caller, move |conn, caller| {
            service::export(conn, &caller.principal, filter, after, limit + 1)
        })
        .await?;
    let page = FeedPage::of(export.rows, limit, after, export.horizon);
    Ok(web::Json(NationalExportPage {
        items: page.items,
        next_cursor: page.next_cursor,
        sync_cursor: page.sync_cursor,
    }))
}

/// A dossier the portal has not taken yet.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SyncFailureDto {
    pub code: String,
    pub attempts: i32,
    /// What the last attempt got: the portal's answer or the connection's error.
    pub last_error: String,
    pub last_attempt_at: Option<DateTime<FixedOffset>>,
    /// `null` once the attempts are used up; the dossier's next change starts over.
    pub next_attempt_at: Option<DateTime<FixedOffset>>,
}

/// The push sync at a glance, for the dossiers of the caller's agencies.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SyncStatusDto {
    /// Whether this deployment pushes to the national portal (`MOTCUA_DVCQG_URL` is set).
    pub enabled: bool,
    /// Dossiers the portal has taken at least once.
    pub synced: i64,
    /// Dossiers with a change not yet taken, still being tried (with the push off: waiting for it).
    pub pending: i64,
    /// Of those, the ones whose last attempt failed.
    pub failing: i64,
    /// Dossiers whose attempts are used up.
    pub failed: i64,
    pub last_synced_at: Option<DateTime<FixedOffset>>,
    /// The latest failures, the exhausted first (at most 50).
    pub failures: Vec<SyncFailureDto>,
}

/// The push sync's state: last synced, pending, failures.
#[utoipa::path(
    get, path = "/api/v1/exports/dvcqg/status", tag = "exports", operation_id = "dvcqg_sync_status",
    security(("bearer" = [])),
    responses((status = 200, body = SyncStatusDto))
)]
pub async fn status(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<SyncStatusDto>, ApiError> {
    let enabled = state.config.national_sync.is_some();
    let s = state
        .db_as(caller, move |conn, caller| {
            service::sync_state(conn, &caller.principal)
        })
        .await?;
    Ok(web::Json(SyncStatusDto {
        enabled,
        synced: s.synced,
        pending: s.pending,
        failing: s.failing,
        failed: s.failed,
        last_synced_at: local_opt(s.last_synced_at),
        failures: s
            .failures
            .into_iter()
            .map(|f| SyncFailureDto {
                code: f.code,
                attempts: f.attempts,
                last_error: f.last_error,
                last_attempt_at: local_opt(f.last_attempt_at),
                next_attempt_at: local_opt(f.next_attempt_at),
            })
            .collect(),
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/exports/dvcqg").get(export))
        .service(web::resource("/api/v1/exports/dvcqg/status").get(status));
}
