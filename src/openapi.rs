//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::OpenApi;

use crate::http::{error, ops};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "motcua",
        description = "One-stop-shop (một cửa) dossier tracking: units, procedures, a working-day \
calendar, dossiers with their hand-over history, deadlines and statistics.\n\n\
Errors are `application/problem+json` (RFC 9457) with `type`, `title`, `status`, `detail` and, for \
validation problems, `errors[]` naming each invalid field."
    ),
    paths(ops::healthz, ops::readyz, ops::metrics),
    components(schemas(error::Problem, error::FieldError)),
    tags((name = "operations", description = "Liveness, readiness and metrics"))
)]
pub struct ApiDoc;

/// The document as committed at `openapi/openapi.json`.
pub fn document_json() -> String {
    let mut json = ApiDoc::openapi()
        .to_pretty_json()
        .expect("the document serialises");
    json.push('\n');
    json
}
