//! `/api/v1/agencies`: the agencies (cơ quan) of a province-wide deployment.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::Caller,
    catalogue::{check_text, done},
    error::{ApiError, FieldError, Problem},
    extract::ApiJson,
    idempotency::{self, IdempotentJson},
    lookup,
    pagination::{self, Page, PageQuery},
    state::AppState,
    time::local,
};
use crate::http::extract::ApiQuery;
use crate::{
    domain::agency,
    service::agencies as service,
    store::agencies::{Agency, AgencyFields},
};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AgencyDto {
    /// The prefix of the agency's dossier codes (the unit identifier of Circular 01/2018).
    #[schema(example = "000.00.10.H22")]
    pub code: String,
    #[schema(example = "Sở Công Thương")]
    pub name: String,
    /// The agency above it (the province's own agency), or null for a top-level agency.
    #[schema(example = "000.00.00.H22")]
    pub parent_code: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

impl From<Agency> for AgencyDto {
    fn from(a: Agency) -> Self {
        Self {
            code: a.code,
            name: a.name,
            parent_code: a.parent_code,
            created_at: local(a.created_at),
            updated_at: local(a.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgency {
    #[schema(pattern = "^[A-Z0-9.]{1,20}$", example = "000.00.10.H22")]
    pub code: String,
    #[schema(min_length = 1, max_length = 300, pattern = "\\S")]
    pub name: String,
    /// Required for an administrator confined to an agency: a parent inside their agencies.
    pub parent_code: Option<String>,
}

/// JSON merge patch: an absent field stays; `parent_code: null` makes it a top-level agency.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchAgency {
    #[schema(min_length = 1, max_length = 300, pattern = "\\S")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "super::extract::present")]
    #[schema(value_type = Option<String>)]
    pub parent_code: Option<Option<String>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AgencyPath {
    pub code: String,
}

fn check_name(name: &str) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    check_text(&mut errors, "name", name, 300);
    done(errors)
}

#[utoipa::path(
    post, path = "/api/v1/agencies", operation_id = "create_agency", tag = "agencies", request_body = CreateAgency,
    params(("Idempotency-Key" = Option<String>, Header, description = "same key and body within 24 h → the first response again; other body → 422", pattern = "^[!-~]{1,200}$")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = AgencyDto, headers(("Location" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "the code exists"),
    )
)]
/// Creates an agency. An administrator without a unit creates any; one confined to an agency
/// creates agencies below their own.
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: IdempotentJson<CreateAgency>,
) -> Result<HttpResponse, ApiError> {
    let idem = body.idempotency;
    let body = body.value;
    let mut errors = Vec::new();
    if !agency::is_valid_code(&body.code) {
        errors.push(FieldError::new("code", agency::CODE_RULE));
    }
    check_text(&mut errors, "name", &body.name, 300);
    done(errors)?;
    let fields = AgencyFields {
        name: body.name.trim().to_owned(),
        parent_code: body.parent_code,
    };
    let code = body.code;
    idempotency::created(&state, caller, idem, move |conn, caller| {
        let created = service::create(conn, &caller.principal, &caller.audit, &code, fields)?;
        Ok((
            format!("/api/v1/agencies/{}", created.code),
            AgencyDto::from(created),
        ))
    })
    .await
}

#[utoipa::path(
    get, path = "/api/v1/agencies", operation_id = "list_agencies", tag = "agencies", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<AgencyDto>))
)]
/// The agencies the caller works for: their own and those below it (every agency for an account
/// without a unit).
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    page: ApiQuery<PageQuery>,
) -> Result<web::Json<Page<AgencyDto>>, ApiError> {
    pagination::by_id(
        &state,
        caller,
        &page,
        service::list,
        |a| a.id,
        AgencyDto::from,
    )
    .await
}

#[utoipa::path(
    get, path = "/api/v1/agencies/{code}", operation_id = "get_agency", tag = "agencies", params(AgencyPath), security(("bearer" = [])),
    responses((status = 200, body = AgencyDto))
)]
/// One agency; an agency outside the caller's is answered 404.
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<AgencyPath>,
) -> Result<web::Json<AgencyDto>, ApiError> {
    let found = lookup::by_key(&state, caller, path.into_inner().code, service::get).await?;
    Ok(web::Json(found.into()))
}

#[utoipa::path(
    patch, path = "/api/v1/agencies/{code}", operation_id = "patch_agency", tag = "agencies", params(AgencyPath), request_body = PatchAgency,
    security(("bearer" = [])),
    responses((status = 200, body = AgencyDto))
)]
/// Renames an agency or moves it under another parent (never under one of its own descendants).
pub async fn patch(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<AgencyPath>,
    body: ApiJson<PatchAgency>,
) -> Result<web::Json<AgencyDto>, ApiError> {
    let code = path.into_inner().code;
    let PatchAgency { name, parent_code } = body.0;
    if let Some(name) = &name {
        check_name(name)?;
    }
    let updated = state
        .db_as(caller, move |conn, caller| {
            service::update(
                conn,
                &caller.principal,
                &caller.audit,
                &code,
                name.map(|n| n.trim().to_owned()),
                parent_code,
            )
        })
        .await?;
    Ok(web::Json(updated.into()))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/agencies").get(list).post(create))
        .service(
            web::resource("/api/v1/agencies/{code}")
                .get(get)
                .patch(patch),
        );
}
