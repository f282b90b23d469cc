//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::OpenApi;

use utoipa::{
    Modify,
    openapi::{
        Content, Ref, RefOr, ResponseBuilder, Schema, Type,
        path::{Operation, ParameterIn, PathItem},
        schema::{AdditionalProperties, ArrayItems, SchemaType},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::http::{
    accounts, agencies, audit, calendar, catalogue, documents, dossiers, error, exports, imports,
    ops, pagination::Page, stats, webhooks, worklist,
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
        calendar::list_rules, calendar::get_rule, calendar::add_rule, calendar::delete_rule,
        agencies::create, agencies::list, agencies::get, agencies::patch,
        catalogue::create_unit, catalogue::list_units, catalogue::get_unit, catalogue::patch_unit,
        catalogue::create_procedure, catalogue::list_procedures, catalogue::get_procedure,
        catalogue::put_procedure, catalogue::procedure_versions,
        dossiers::receive, dossiers::list, dossiers::get_dossier, dossiers::act, dossiers::history,
        dossiers::deadline, dossiers::payments, dossiers::public_lookup,
        documents::upload, documents::reuse, documents::list, documents::content, worklist::worklist, audit::list,
        accounts::token, accounts::create_client, accounts::list_clients,
        accounts::create_user, accounts::list_users, accounts::get_user, accounts::patch_user,
        webhooks::create, webhooks::list, webhooks::get, webhooks::delete, webhooks::deliveries,
        webhooks::redeliver, imports::import, stats::summary, stats::late, stats::due_soon,
        exports::export, exports::status,
    ),
    modifiers(&BearerAuth, &CommonResponses, &ResponseDescriptions, &NoControlCharacters),
    components(schemas(error::Problem, error::FieldError, dossiers::DossierPage, Page<agencies::AgencyDto>, Page<catalogue::UnitDto>, Page<catalogue::ProcedureDto>, Page<audit::AuditEntryDto>, Page<accounts::UserDto>, Page<accounts::ClientDto>, Page<webhooks::WebhookDto>, Page<webhooks::DeliveryDto>, Page<stats::LateDossierDto>, Page<stats::DueSoonDto>, Page<worklist::WorkItemDto>)),
    tags(
        (name = "operations", description = "Liveness, readiness and metrics"),
        (name = "calendar", description = "Working days, public holidays, office hours and deadlines (UTC+7)"),
        (name = "agencies", description = "The agencies of a province-wide deployment; every caller sees and acts only within their agency and those below it"),
        (name = "catalogue", description = "Units and the versioned procedure catalogue"),
        (name = "dossiers", description = "Receipt, actions, the control slip and deadlines of dossiers"),
        (name = "documents", description = "The papers of a dossier and its result, digitized (số hóa): streamed uploads typed by their content, downloads with ETag and Range"),
        (name = "public", description = "The applicant's status lookup (no token)"),
        (name = "audit", description = "The append-only audit log"),
        (name = "statistics", description = "The official report (early / on time / late, time saved), late and overdue dossiers, due-soon warnings"),
        (name = "auth", description = "Access tokens and machine clients"),
        (name = "imports", description = "Bulk import of the e-portal's exports of procedures and dossiers"),
        (name = "webhooks", description = "Signed event subscriptions for the e-portal (Standard Webhooks) and their delivery log"),
        (name = "exports", description = "The national portal's sync (Cổng DVCQG, DongBoHoSoMC): changed dossiers in its shape, and the push sync's state"),
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

/// The operations of a path that the service defines.
fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

/// Documents the problem responses every operation can give, so that each operation lists all
/// the statuses it may answer without repeating them in every handler's annotation.
struct CommonResponses;

impl CommonResponses {
    fn add(operation: &mut Operation, has_path_params: bool) {
        let has_query = operation
            .parameters
            .iter()
            .flatten()
            .any(|p| matches!(p, RefOr::T(p) if matches!(p.parameter_in, ParameterIn::Query)));
        let has_body = operation.request_body.is_some();
        let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
        let mut statuses: Vec<(&str, &str)> = vec![
            (
                "400",
                "Malformed request: unreadable JSON, query string or path parameter",
            ),
            ("500", "Unexpected error (logged with the request id)"),
            ("503", "The database is unreachable"),
        ];
        if secured {
            statuses.push((
                "401",
                "Missing, invalid or expired token, or a deactivated account",
            ));
            statuses.push(("403", "The caller's role or unit does not allow this"));
        }
        if has_path_params {
            statuses.push(("404", "No such resource"));
        }
        if has_body {
            statuses.push(("413", "Body larger than MOTCUA_BODY_LIMIT"));
            statuses.push(("415", "Body not sent as application/json"));
        }
        if has_body || has_query || has_path_params {
            statuses.push((
                "422",
                "Well-formed but invalid (a control character in any text included); `errors` names \
                 each field",
            ));
        }
        for (status, description) in statuses {
            operation
                .responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| {
                    RefOr::T(
                        ResponseBuilder::new()
                            .description(description)
                            .content(
                                "application/problem+json",
                                Content::new(Some(Ref::from_schema_name("Problem"))),
                            )
                            .build(),
                    )
                });
        }
    }
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let has_path_params = path.contains('{');
            for operation in operations_mut(item) {
                Self::add(operation, has_path_params);
            }
        }
    }
}

/// OpenAPI requires a `description` on every response; where a handler gave none, the status's
/// reason phrase stands in, so that strict client generators accept the document.
struct ResponseDescriptions;

impl Modify for ResponseDescriptions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in operations_mut(item) {
                for (status, response) in operation.responses.responses.iter_mut() {
                    if let utoipa::openapi::RefOr::T(response) = response
                        && response.description.is_empty()
                    {
                        response.description = status
                            .parse::<u16>()
                            .ok()
                            .and_then(|code| actix_web::http::StatusCode::from_u16(code).ok())
                            .and_then(|code| code.canonical_reason())
                            .unwrap_or("Response")
                            .to_owned();
                    }
                }
            }
        }
    }
}

/// Free text may hold no control character other than tab and line feed (`domain::text`); the
/// document says so with a pattern on every string that has neither a pattern, a format nor a fixed
/// set of values, and folds the rule into the common "not blank" pattern (`\S`).
struct NoControlCharacters;

/// Any text without the refused control characters.
const NO_CONTROLS: &str = "^[^\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F]*$";
/// The same, with at least one character that is not white space.
const NOT_BLANK_NO_CONTROLS: &str = "^[^\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F]*\
     [^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F]*$";

impl NoControlCharacters {
    fn schema(schema: &mut RefOr<Schema>) {
        let RefOr::T(schema) = schema else { return };
        match schema {
            Schema::Object(object) => {
                let is_string = match &object.schema_type {
                    SchemaType::Type(Type::String) => true,
                    SchemaType::Array(types) => types.contains(&Type::String),
                    _ => false,
                };
                if is_string && object.format.is_none() && object.enum_values.is_none() {
                    match object.pattern.as_deref() {
                        None => object.pattern = Some(NO_CONTROLS.to_owned()),
                        Some("\\S") => object.pattern = Some(NOT_BLANK_NO_CONTROLS.to_owned()),
                        Some(_) => {}
                    }
                }
                for property in object.properties.values_mut() {
                    Self::schema(property);
                }
                if let Some(extra) = object.additional_properties.as_deref_mut()
                    && let AdditionalProperties::RefOr(extra) = extra
                {
                    Self::schema(extra);
                }
            }
            Schema::Array(array) => {
                if let ArrayItems::RefOrSchema(items) = &mut array.items {
                    Self::schema(items);
                }
            }
            Schema::OneOf(one) => one.items.iter_mut().for_each(Self::schema),
            Schema::AllOf(all) => all.items.iter_mut().for_each(Self::schema),
            Schema::AnyOf(any) => any.items.iter_mut().for_each(Self::schema),
            _ => {}
        }
    }
}

impl Modify for NoControlCharacters {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.schemas.values_mut().for_each(Self::schema);
        }
        for item in openapi.paths.paths.values_mut() {
            for operation in operations_mut(item) {
                for parameter in operation.parameters.iter_mut().flatten() {
                    if let RefOr::T(parameter) = parameter
                        && let Some(schema) = parameter.schema.as_mut()
                    {
                        Self::schema(schema);
                    }
                }
                if let Some(RefOr::T(body)) = operation.request_body.as_mut() {
                    for content in body.content.values_mut() {
                        if let RefOr::T(content) = content
                            && let Some(schema) = content.schema.as_mut()
                        {
                            Self::schema(schema);
                        }
                    }
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Client generators name functions after operation ids and refuse responses without a
    /// description; both are OpenAPI requirements.
    #[test]
    fn operation_ids_are_unique_and_responses_described() {
        let document: serde_json::Value = serde_json::from_str(&document_json()).unwrap();
        let mut ids = std::collections::BTreeMap::<String, Vec<String>>::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let id = operation["operationId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                ids.entry(id).or_default().push(format!("{method} {path}"));
                for (status, response) in operation["responses"].as_object().unwrap() {
                    assert!(
                        response["description"]
                            .as_str()
                            .is_some_and(|d| !d.is_empty()),
                        "{method} {path} {status} has no description"
                    );
                }
            }
        }
        let duplicates: Vec<_> = ids.iter().filter(|(_, ops)| ops.len() > 1).collect();
        assert!(
            duplicates.is_empty(),
            "duplicate operation ids: {duplicates:?}"
        );
    }
}
