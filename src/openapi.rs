//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::OpenApi;

use crate::http::{calendar, error, ops};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "motcua",
        description = "One-stop-shop (một cửa) dossier tracking: units, procedures, a working-day \
calendar, dossiers with their hand-over history, deadlines and statistics.\n\n\
Errors are `application/problem+json` (RFC 9457) with `type`, `title`, `status`, `detail` and, for \
validation problems, `errors[]` naming each invalid field."
    ),
    paths(
        ops::healthz, ops::readyz, ops::metrics,
        calendar::list_days, calendar::put_day, calendar::delete_day,
        calendar::get_office_hours, calendar::put_office_hours, calendar::deadline_preview,
    ),
    components(schemas(error::Problem, error::FieldError)),
    tags(
        (name = "operations", description = "Liveness, readiness and metrics"),
        (name = "calendar", description = "Working days, public holidays, office hours and deadlines (UTC+7)"),
    )
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
