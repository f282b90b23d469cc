//! Operational endpoints: liveness, readiness and metrics.

use actix_web::{HttpResponse, http::header, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::{error::ApiError, state::AppState};
use crate::store;

#[derive(Serialize, ToSchema)]
pub struct HealthStatus {
    /// `ok` when the process is serving; `ready` when it can also reach its database.
    pub status: &'static str,
    /// The storage backend in use: `sqlite` or `postgres`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<&'static str>,
}

/// Liveness: the process is up and serving HTTP.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = HealthStatus)))]
pub async fn healthz() -> web::Json<HealthStatus> {
    web::Json(HealthStatus {
        status: "ok",
        database: None,
    })
}

/// Readiness: the database answers. 503 while it is unreachable, so a load balancer stops routing here.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, body = HealthStatus),
        (status = 503, body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> Result<web::Json<HealthStatus>, ApiError> {
    let backend = state
        .db(|conn| store::ping(conn).map(|()| conn.backend()))
        .await?;
    Ok(web::Json(HealthStatus {
        status: "ready",
        database: Some(backend),
    }))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"))
)]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let body = state
        .metrics
        .render()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        ))
        .body(body))
}
