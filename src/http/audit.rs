//! The audit log, readable by admins and auditors.

use actix_web::web;
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::Caller,
    error::ApiError,
    pagination::{self, Page, PageQuery},
    state::AppState,
    time::local,
};
use crate::http::extract::ApiQuery;
use crate::{
    auth::policy::{Action, authorize},
    service::ServiceError,
    store::audit::{self, AuditFilter},
};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEntryDto {
    pub id: i64,
    pub at: DateTime<FixedOffset>,
    pub actor: String,
    pub actor_role: String,
    /// The machine client that made the change, if any.
    pub client_id: Option<String>,
    /// e.g. `dossier.forward`, `procedure.new_version`.
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub changes: serde_json::Value,
    /// From the request's `X-Audit-Reason` header.
    pub reason: Option<String>,
    pub request_id: Option<String>,
    /// The agency the entity belongs to; `null` for the whole deployment (the calendar, accounts
    /// without a unit). A caller confined to agencies sees only their agencies' entries.
    pub agency_code: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// `dossier`, `unit`, `procedure`, …
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub actor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$", max_length = 200)]
    pub cursor: Option<String>,
}

/// The audit log (nhật ký), newest first.
///
/// Every administrative change and every dossier action: who made it, when, why (`X-Audit-Reason`)
/// and what changed. Admins and auditors, within their agencies.
#[utoipa::path(
    get, path = "/api/v1/audit", tag = "audit", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<AuditEntryDto>))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: ApiQuery<AuditQuery>,
) -> Result<web::Json<Page<AuditEntryDto>>, ApiError> {
    authorize(&caller.principal, &Action::ReadAuditLog, None).map_err(ServiceError::from)?;
    let q = query.into_inner();
    let filter = AuditFilter {
        entity_type: q.entity_type,
        entity_id: q.entity_id,
        actor: q.actor,
        agencies: None,
    };
    pagination::by_id(
        &state,
        caller,
        &PageQuery::new(q.limit, q.cursor),
        move |conn, caller, after, limit| {
            let filter = AuditFilter {
                agencies: caller.scope.codes(),
                ..filter.clone()
            };
            Ok(audit::list(conn, &filter, after, limit)?)
        },
        |e| e.id,
        |stored| {
            let e = stored.entry;
            AuditEntryDto {
                id: stored.id,
                at: local(e.at),
                actor: e.actor,
                actor_role: e.actor_role.to_string(),
                client_id: e.client_id,
                action: e.action,
                entity_type: e.entity_type,
                entity_id: e.entity_id,
                changes: serde_json::from_str(&e.changes).unwrap_or(serde_json::Value::Null),
                reason: e.reason,
                request_id: e.request_id,
                agency_code: e.agency_code,
            }
        },
    )
    .await
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/audit").get(list));
}
