//! HTTP layer: thin handlers that parse, authorise, call the domain and storage, and map errors.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod catalogue;
pub mod conditional;
pub mod csv_cell;
pub mod dossiers;
pub mod error;
pub mod extract;
pub mod head;
pub mod idempotency;
pub mod imports;
pub mod metrics;
pub mod middleware;
pub mod ops;
pub mod pagination;
pub mod public_limit;
pub mod query_guard;
pub mod security_headers;
pub mod state;
pub mod stats;
pub mod time;
pub mod webhooks;

use actix_web::{
    HttpResponse,
    error::{PathError, QueryPayloadError},
    web,
};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use self::error::ApiError;

/// Registers every route of the service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").get(ops::healthz))
        .service(web::resource("/readyz").get(ops::readyz))
        .service(web::resource("/metrics").get(ops::metrics))
        .configure(calendar::configure)
        .configure(catalogue::configure)
        .configure(dossiers::configure)
        .configure(stats::configure)
        .configure(audit::configure)
        .configure(accounts::configure)
        .configure(webhooks::configure)
        .configure(imports::configure)
        .service(web::resource("/docs").route(web::get().to(redirect_to_docs)))
        .service(
            SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", crate::openapi::ApiDoc::openapi()),
        );
}

async fn redirect_to_docs() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("Location", "/docs/"))
        .finish()
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        let detail = match err {
            QueryPayloadError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        ApiError::BadRequest(format!("invalid query string: {detail}")).into()
    })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req| {
        let detail = match err {
            PathError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        ApiError::BadRequest(format!("invalid path parameter: {detail}")).into()
    })
}
