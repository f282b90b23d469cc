//! HTTP layer: thin handlers that parse, authorise, call the domain and storage, and map errors.

pub mod accounts;
pub mod agencies;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod catalogue;
pub mod conditional;
pub mod csv_cell;
pub mod documents;
pub mod dossiers;
pub mod error;
pub mod exports;
pub mod extract;
pub mod head;
pub mod idempotency;
pub mod imports;
pub mod lookup;
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
pub mod wire_schema;
pub mod worklist;

use actix_web::{HttpResponse, error::PathError, web};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use self::error::ApiError;

/// Registers every route of the service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").get(ops::healthz))
        .service(web::resource("/readyz").get(ops::readyz))
        .service(web::resource("/metrics").get(ops::metrics))
        .configure(calendar::configure)
        .configure(agencies::configure)
        .configure(catalogue::configure)
        .configure(dossiers::configure)
        .configure(documents::configure)
        .configure(worklist::configure)
        .configure(exports::configure)
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

/// A 400 for a request part that did not parse, with serde's own words where it has them.
fn unparsable(part: &str, detail: impl std::fmt::Display) -> actix_web::Error {
    ApiError::BadRequest(format!("invalid {part}: {detail}")).into()
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req| match err {
        PathError::Deserialize(e) => unparsable("path parameter", e),
        other => unparsable("path parameter", other),
    })
}
