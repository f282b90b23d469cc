//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::OpenApi;

use utoipa::{
    Modify,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use crate::http::{
    accounts, audit, calendar, catalogue, dossiers, error, ops, pagination::Page, stats,
};

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
        catalogue::create_unit, catalogue::list_units, catalogue::get_unit, catalogue::patch_unit,
        catalogue::create_procedure, catalogue::list_procedures, catalogue::get_procedure,
        catalogue::put_procedure, catalogue::procedure_versions,
        dossiers::receive, dossiers::list, dossiers::get_dossier, dossiers::act, dossiers::history,
        dossiers::deadline, dossiers::public_lookup, audit::list,
        accounts::token, accounts::create_client, accounts::list_clients,
        stats::summary, stats::late, stats::due_soon,
    ),
    modifiers(&BearerAuth),
    components(schemas(error::Problem, error::FieldError, Page<dossiers::DossierDto>, Page<catalogue::UnitDto>, Page<catalogue::ProcedureDto>, Page<audit::AuditEntryDto>, Page<stats::LateDossierDto>, Page<stats::DueSoonDto>)),
    tags(
        (name = "operations", description = "Liveness, readiness and metrics"),
        (name = "calendar", description = "Working days, public holidays, office hours and deadlines (UTC+7)"),
        (name = "catalogue", description = "Units and the versioned procedure catalogue"),
        (name = "dossiers", description = "Receipt, actions, the control slip and deadlines of dossiers"),
        (name = "public", description = "The applicant's status lookup (no token)"),
        (name = "audit", description = "The append-only audit log"),
        (name = "statistics", description = "The official report (early / on time / late, time saved), late and overdue dossiers, due-soon warnings"),
        (name = "auth", description = "Access tokens and machine clients"),
    )
)]
pub struct ApiDoc;

/// Declares the bearer (JWT) scheme that the `security` of each protected operation names.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from POST /api/v1/auth/token or the province's identity provider"))
                    .build(),
            ),
        );
    }
}

/// The document as committed at `openapi/openapi.json`.
pub fn document_json() -> String {
    let mut json = ApiDoc::openapi()
        .to_pretty_json()
        .expect("the document serialises");
    json.push('\n');
    json
}
