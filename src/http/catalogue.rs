//! Units (đơn vị) and the procedure catalogue (danh mục thủ tục hành chính).

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::Caller,
    calendar::TimeUnitDto,
    conditional::{EntityTag, IfMatch},
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
    domain::{
        agency,
        deadline::{SupplementPolicy, TimeLimit},
        document::Component,
        procedure::{Fee, NationalListing, OnlineLevel, ProcedureRules, ProcessStep},
    },
    service::{VersionPrecondition, catalogue as service},
    store::catalogue::{NewUnit, ProcedureDraft, ProcedureVersion, Unit, UnitChanges},
};

pub(super) fn valid_code(code: &str, max: usize) -> bool {
    !code.is_empty()
        && code.len() <= max
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

pub(super) fn check_text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    if value.trim().is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if value.chars().count() > max {
        errors.push(FieldError::new(field, format!("at most {max} characters")));
    }
}

fn check_agency_code(errors: &mut Vec<FieldError>, code: &str) {
    if !agency::is_valid_code(code) {
        errors.push(FieldError::new("agency_code", agency::CODE_RULE));
    }
}

pub(super) fn done(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UnitDto {
    #[schema(example = "QLTM")]
    pub code: String,
    #[schema(example = "Phòng Quản lý Thương mại")]
    pub name: String,
    pub parent_code: Option<String>,
    /// The agency the unit belongs to (`/api/v1/agencies`); it prefixes the codes of dossiers
    /// received for the unit's procedures.
    #[schema(example = "SCT")]
    pub agency_code: String,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

impl From<Unit> for UnitDto {
    fn from(u: Unit) -> Self {
        Self {
            code: u.code,
            name: u.name,
            parent_code: u.parent_code,
            agency_code: u.agency_code,
            created_at: local(u.created_at),
            updated_at: local(u.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUnit {
    /// Letters, digits, `-`, `_`, `.`; at most 50.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,50}$")]
    pub code: String,
    #[schema(min_length = 1, max_length = 300, pattern = "\\S")]
    pub name: String,
    pub parent_code: Option<String>,
    /// An existing agency (`POST /api/v1/agencies`) the caller administers; it prefixes dossier
    /// codes.
    #[schema(pattern = "^[A-Z0-9.]{1,20}$")]
    pub agency_code: String,
}

/// JSON merge patch: an absent field stays, `null` clears (`parent_code` only).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchUnit {
    #[schema(min_length = 1, max_length = 300, pattern = "\\S")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "super::extract::present")]
    #[schema(value_type = Option<String>)]
    pub parent_code: Option<Option<String>>,
    /// Another existing agency; refused (409) once dossiers name the unit as their lead unit.
    #[schema(pattern = "^[A-Z0-9.]{1,20}$")]
    pub agency_code: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CodePath {
    pub code: String,
}

fn unit_location(code: &str) -> String {
    format!("/api/v1/units/{code}")
}

/// A unit's ETag: the instant of its last change (microseconds, which every update moves), as
/// an opaque strong tag. Units have no version column, and this needs no migration.
fn unit_etag(unit: &Unit) -> EntityTag {
    EntityTag::strong(unit.updated_at.utc().timestamp_micros().to_string())
}

/// A procedure's ETag: its latest version, which every PUT increments.
fn procedure_etag(procedure: &ProcedureVersion) -> EntityTag {
    EntityTag::strong(procedure.version.to_string())
}

/// A 200 with the body and its `ETag`.
pub(super) fn tagged<T: Serialize>(etag: &EntityTag, body: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag.header_value()))
        .json(body)
}

/// Adds a unit (đơn vị) to an agency.
///
/// An unknown agency code creates the agency when the caller administers the whole deployment.
#[utoipa::path(
    post, path = "/api/v1/units", tag = "catalogue", request_body = CreateUnit,
    params(("Idempotency-Key" = Option<String>, Header, description = "same key and body within 24 h → the first response again; other body → 422", pattern = "^[!-~]{1,200}$")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = UnitDto, headers(("Location" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "the code exists"),
    )
)]
pub async fn create_unit(
    state: web::Data<AppState>,
    caller: Caller,
    body: IdempotentJson<CreateUnit>,
) -> Result<HttpResponse, ApiError> {
    let idem = body.idempotency;
    let body = body.value;
    let mut errors = Vec::new();
    if !valid_code(&body.code, 50) {
        errors.push(FieldError::new(
            "code",
            "1–50 letters, digits, `-`, `_` or `.`",
        ));
    }
    check_text(&mut errors, "name", &body.name, 300);
    check_agency_code(&mut errors, &body.agency_code);
    done(errors)?;
    let unit = NewUnit {
        code: body.code,
        name: body.name.trim().to_owned(),
        parent_code: body.parent_code,
        agency_code: body.agency_code,
    };
    idempotency::created(&state, caller, idem, move |conn, caller| {
        let created = service::create_unit(conn, &caller.principal, &caller.audit, unit)?;
        Ok((unit_location(&created.code), UnitDto::from(created)))
    })
    .await
}

/// The units of the caller's agencies.
#[utoipa::path(
    get, path = "/api/v1/units", tag = "catalogue", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<UnitDto>))
)]
pub async fn list_units(
    state: web::Data<AppState>,
    caller: Caller,
    page: ApiQuery<PageQuery>,
) -> Result<web::Json<Page<UnitDto>>, ApiError> {
    pagination::by_id(
        &state,
        caller,
        &page,
        service::list_units,
        |u| u.id,
        UnitDto::from,
    )
    .await
}

/// One unit, with an `ETag` for `If-None-Match` and `If-Match`.
#[utoipa::path(
    get, path = "/api/v1/units/{code}", tag = "catalogue", params(CodePath, ("If-None-Match" = Option<String>, Header, nullable = false, description = "the ETag of a copy the caller holds (weak comparison), a comma-separated list of them, or *: 304 without a body when one is current; anything else is 400", pattern = "^(\\*|((W/)?\"[!#-~]*\"|[0-9]+)([ \\t]*,[ \\t]*((W/)?\"[!#-~]*\"|[0-9]+))*)$")), security(("bearer" = [])),
    responses(
        (status = 200, body = UnitDto, headers(("ETag" = String, description = "changes with every change of the unit"))),
        (status = 304, description = "If-None-Match names the current ETag; no body", headers(("ETag" = String))),
    )
)]
pub async fn get_unit(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<CodePath>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner().code;
    let unit = lookup::by_key(&state, caller, code, service::get_unit).await?;
    Ok(tagged(&unit_etag(&unit), &UnitDto::from(unit)))
}

/// Changes a unit (JSON merge patch); `If-Match` optional.
///
/// A unit keeps its agency once dossiers name it as lead unit (409).
#[utoipa::path(
    patch, path = "/api/v1/units/{code}", tag = "catalogue", request_body = PatchUnit,
    params(
        CodePath,
        ("If-Match" = Option<String>, Header, nullable = false, description = "optional: the unit's ETag (strong comparison; weak tags never match), a comma-separated list of them, or *; a stale one is refused with 412 and nothing changes", pattern = "^(\\*|((W/)?\"[!#-~]*\"|[0-9]+)([ \\t]*,[ \\t]*((W/)?\"[!#-~]*\"|[0-9]+))*)$"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UnitDto, headers(("ETag" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "If-Match is not an entity tag"),
        (status = 412, body = Problem, content_type = "application/problem+json", description = "the unit changed since that ETag"),
    )
)]
pub async fn patch_unit(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<CodePath>,
    body: ApiJson<PatchUnit>,
) -> Result<HttpResponse, ApiError> {
    let if_match = IfMatch::read(&req, "\"1764731234567890\"")?;
    let code = path.into_inner().code;
    let body = body.0;
    let mut errors = Vec::new();
    if let Some(name) = &body.name {
        check_text(&mut errors, "name", name, 300);
    }
    if let Some(agency) = &body.agency_code {
        check_agency_code(&mut errors, agency);
    }
    done(errors)?;
    let changes = UnitChanges {
        name: body.name.map(|n| n.trim().to_owned()),
        parent_code: body.parent_code,
        agency_code: body.agency_code,
    };
    let check = if_match.clone();
    let unit = state
        .db_as(caller, move |conn, caller| {
            service::update_unit(
                conn,
                &caller.principal,
                &caller.audit,
                &code,
                changes,
                |u| check.is_none_or(|c| c.admits(&unit_etag(u))),
            )
        })
        .await
        .map_err(|e| match &if_match {
            Some(c) => c.explain(e),
            None => e,
        })?;
    Ok(tagged(&unit_etag(&unit), &UnitDto::from(unit)))
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeLimitDto {
    /// 1–3650.
    #[schema(minimum = 1, maximum = 3650)]
    pub amount: u32,
    pub unit: TimeUnitDto,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepDto {
    #[schema(example = "Thẩm định hồ sơ", min_length = 1, pattern = "\\S")]
    pub name: String,
    pub unit_code: String,
    /// Allotted working hours, a positive multiple of 0.25.
    #[schema(
        example = 40.0,
        exclusive_minimum = 0.0,
        maximum = 29200.0,
        multiple_of = 0.25
    )]
    pub hours: f64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum SupplementPolicyDto {
    /// Paused working time is added to the due instant (default).
    #[default]
    Pause,
    /// The full limit counts again from the resumption.
    Restart,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProcedureDto {
    #[schema(example = "QT-SCT-QLTM-01")]
    pub code: String,
    /// Every PUT makes a new version; dossiers keep the version they were received under.
    pub version: i32,
    pub name: String,
    /// Lĩnh vực.
    pub field: String,
    /// The lead unit.
    pub unit_code: String,
    pub time_limit: TimeLimitDto,
    pub steps: Vec<StepDto>,
    pub supplement_policy: SupplementPolicyDto,
    pub active: bool,
    /// The reception of any agency of the province may receive it (thủ tục phi địa giới hành
    /// chính, Decree 118/2025); its dossiers still take the code of the lead unit's agency.
    pub receivable_anywhere: bool,
    /// The national procedure code (mã TTHC on the national portal), if known.
    #[schema(example = "1.000123")]
    pub national_code: Option<String>,
    /// Fees and charges (phí, lệ phí) in VND.
    pub fees: Vec<FeeDto>,
    /// `none`, `partial` (dịch vụ công trực tuyến một phần) or `full` (toàn trình).
    #[schema(schema_with = crate::http::wire_schema::online_level)]
    pub online_level: OnlineLevel,
    /// The papers the procedure asks for (thành phần hồ sơ).
    pub components: Vec<ComponentDto>,
    /// When this version was made.
    pub created_at: DateTime<FixedOffset>,
}

impl From<ProcedureVersion> for ProcedureDto {
    fn from(p: ProcedureVersion) -> Self {
        Self {
            code: p.code,
            version: p.version,
            name: p.name,
            field: p.field,
            unit_code: p.unit_code,
            time_limit: TimeLimitDto {
                amount: p.rules.time_limit.amount,
                unit: p.rules.time_limit.unit.into(),
            },
            steps: p
                .rules
                .steps
                .into_iter()
                .map(|s| StepDto {
                    name: s.name,
                    unit_code: s.unit_code,
                    hours: s.hours,
                })
                .collect(),
            supplement_policy: match p.rules.supplement_policy {
                SupplementPolicy::Pause => SupplementPolicyDto::Pause,
                SupplementPolicy::Restart => SupplementPolicyDto::Restart,
            },
            active: p.active,
            receivable_anywhere: p.receivable_anywhere,
            national_code: p.listing.national_code,
            fees: p
                .listing
                .fees
                .into_iter()
                .map(|f| FeeDto {
                    name: f.name,
                    amount: f.amount,
                })
                .collect(),
            online_level: p.listing.online_level,
            components: p
                .listing
                .components
                .into_iter()
                .map(ComponentDto::from)
                .collect(),
            created_at: local(p.created_at),
        }
    }
}

/// A procedure definition; `code` only in POST.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcedureRequest {
    /// Required in POST; in PUT it may be repeated but must equal the path.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,100}$")]
    pub code: Option<String>,
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    pub name: String,
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub field: String,
    pub unit_code: String,
    pub time_limit: TimeLimitDto,
    /// At least one step; their hours must fit in the statutory limit.
    #[schema(min_items = 1, max_items = 50)]
    pub steps: Vec<StepDto>,
    #[serde(default)]
    pub supplement_policy: SupplementPolicyDto,
    #[serde(default = "yes")]
    pub active: bool,
    /// Any agency's reception may receive it (default false).
    #[serde(default)]
    pub receivable_anywhere: bool,
    /// The national procedure code (mã TTHC), 1–50 characters.
    #[schema(min_length = 1, max_length = 50, pattern = "\\S")]
    pub national_code: Option<String>,
    /// Fees and charges in VND (default none), at most 20.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub fees: Vec<FeeDto>,
    /// `none` (default), `partial` or `full`.
    #[serde(default)]
    #[schema(schema_with = crate::http::wire_schema::online_level)]
    pub online_level: OnlineLevel,
    /// The papers the procedure asks for (default none), at most 50, codes unique.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub components: Vec<ComponentDto>,
}

/// A paper a procedure asks for (thành phần hồ sơ); documents name it by `code`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentDto {
    #[schema(pattern = "^[A-Za-z0-9._-]{1,50}$", example = "DON")]
    pub code: String,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = "\\S",
        example = "Đơn đề nghị cấp giấy phép"
    )]
    pub name: String,
    /// The dossier counts as digitized only with a file for it (default false).
    #[serde(default)]
    pub required: bool,
}

impl From<Component> for ComponentDto {
    fn from(c: Component) -> Self {
        Self {
            code: c.code,
            name: c.name,
            required: c.required,
        }
    }
}

impl From<ComponentDto> for Component {
    fn from(c: ComponentDto) -> Self {
        Self {
            code: c.code,
            name: c.name,
            required: c.required,
        }
    }
}

/// A fee or charge (phí, lệ phí).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeeDto {
    #[schema(
        min_length = 1,
        max_length = 300,
        pattern = "\\S",
        example = "Lệ phí cấp giấy phép"
    )]
    pub name: String,
    /// In VND; 0 for a free procedure.
    #[schema(minimum = 0, example = 500000)]
    pub amount: i64,
}

fn yes() -> bool {
    true
}

impl ProcedureRequest {
    fn into_draft(self) -> Result<ProcedureDraft, ApiError> {
        let mut errors = Vec::new();
        check_text(&mut errors, "name", &self.name, 500);
        check_text(&mut errors, "field", &self.field, 200);
        done(errors)?;
        Ok(ProcedureDraft {
            name: self.name.trim().to_owned(),
            field: self.field.trim().to_owned(),
            unit_code: self.unit_code,
            rules: ProcedureRules {
                time_limit: TimeLimit {
                    amount: self.time_limit.amount,
                    unit: self.time_limit.unit.into(),
                },
                supplement_policy: match self.supplement_policy {
                    SupplementPolicyDto::Pause => SupplementPolicy::Pause,
                    SupplementPolicyDto::Restart => SupplementPolicy::Restart,
                },
                steps: self
                    .steps
                    .into_iter()
                    .map(|s| ProcessStep {
                        name: s.name,
                        unit_code: s.unit_code,
                        hours: s.hours,
                    })
                    .collect(),
            },
            active: self.active,
            receivable_anywhere: self.receivable_anywhere,
            listing: NationalListing {
                national_code: self.national_code,
                fees: self
                    .fees
                    .into_iter()
                    .map(|f| Fee {
                        name: f.name,
                        amount: f.amount,
                    })
                    .collect(),
                online_level: self.online_level,
                components: self.components.into_iter().map(Component::from).collect(),
            },
        })
    }
}

/// Adds a procedure (thủ tục), version 1.
///
/// With its statutory time limit and its written steps, each with the unit that runs it and its
/// allotted hours.
#[utoipa::path(
    post, path = "/api/v1/procedures", tag = "catalogue", request_body = ProcedureRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "same key and body within 24 h → the first response again; other body → 422", pattern = "^[!-~]{1,200}$")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = ProcedureDto, headers(("Location" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "e.g. the steps' hours exceed the statutory limit, or a unit does not exist"),
    )
)]
pub async fn create_procedure(
    state: web::Data<AppState>,
    caller: Caller,
    body: IdempotentJson<ProcedureRequest>,
) -> Result<HttpResponse, ApiError> {
    let idem = body.idempotency;
    let mut body = body.value;
    let code = body.code.take().unwrap_or_default();
    if !valid_code(&code, 100) {
        return Err(ApiError::validation(
            "code",
            "1–100 letters, digits, `-`, `_` or `.`",
        ));
    }
    let draft = body.into_draft()?;
    let calendars = state.calendar.clone();
    idempotency::created(&state, caller, idem, move |conn, caller| {
        let created = service::create_procedure(
            conn,
            &calendars,
            &caller.principal,
            &caller.audit,
            &code,
            draft,
        )?;
        let location = format!("/api/v1/procedures/{}", created.code);
        Ok((location, ProcedureDto::from(created)))
    })
    .await
}

/// Replaces a procedure's definition as a new version; `If-Match` optional.
///
/// Dossiers already received keep the version they were received under.
#[utoipa::path(
    put, path = "/api/v1/procedures/{code}", tag = "catalogue", request_body = ProcedureRequest,
    params(
        CodePath,
        ("If-Match" = Option<String>, Header, nullable = false, description = "optional: the procedure's ETag (its latest version; strong comparison, weak tags never match), a comma-separated list of them, or *; a stale one is refused with 412 and no version is made", pattern = "^(\\*|((W/)?\"[0-9]{1,9}\"|[0-9]{1,9})([ \\t]*,[ \\t]*((W/)?\"[0-9]{1,9}\"|[0-9]{1,9}))*)$"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ProcedureDto, description = "the new version", headers(("ETag" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "If-Match is not a version's entity tag"),
        (status = 412, body = Problem, content_type = "application/problem+json", description = "a newer version exists than the one If-Match names"),
    )
)]
pub async fn put_procedure(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<CodePath>,
    body: ApiJson<ProcedureRequest>,
) -> Result<HttpResponse, ApiError> {
    let if_match = IfMatch::read(&req, "\"3\"")?;
    let expected = match &if_match {
        Some(c) => c.versions("\"3\"")?,
        None => VersionPrecondition::Any,
    };
    let code = path.into_inner().code;
    let mut body = body.0;
    if body.code.take().is_some_and(|c| c != code) {
        return Err(ApiError::validation(
            "code",
            "must equal the code in the path",
        ));
    }
    let draft = body.into_draft()?;
    let calendars = state.calendar.clone();
    let updated = state
        .db_as(caller, move |conn, caller| {
            service::update_procedure(
                conn,
                &calendars,
                &caller.principal,
                &caller.audit,
                &code,
                draft,
                &expected,
            )
        })
        .await
        .map_err(|e| match &if_match {
            Some(c) => c.explain(e),
            None => e,
        })?;
    Ok(tagged(
        &procedure_etag(&updated),
        &ProcedureDto::from(updated),
    ))
}

/// A procedure's latest version, with an `ETag` (its version).
#[utoipa::path(
    get, path = "/api/v1/procedures/{code}", tag = "catalogue", params(CodePath, ("If-None-Match" = Option<String>, Header, nullable = false, description = "the ETag of a copy the caller holds (weak comparison), a comma-separated list of them, or *: 304 without a body when one is current; anything else is 400", pattern = "^(\\*|((W/)?\"[!#-~]*\"|[0-9]+)([ \\t]*,[ \\t]*((W/)?\"[!#-~]*\"|[0-9]+))*)$")), security(("bearer" = [])),
    responses(
        (status = 200, body = ProcedureDto, description = "the latest version", headers(("ETag" = String, description = "the latest version, e.g. \"3\""))),
        (status = 304, description = "If-None-Match names the current ETag; no body", headers(("ETag" = String))),
    )
)]
pub async fn get_procedure(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<CodePath>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner().code;
    let p = lookup::by_key(&state, caller, code, service::get_procedure).await?;
    Ok(tagged(&procedure_etag(&p), &ProcedureDto::from(p)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProcedureVersions {
    pub items: Vec<ProcedureDto>,
}

/// Every version of a procedure, oldest first.
#[utoipa::path(
    get, path = "/api/v1/procedures/{code}/versions", tag = "catalogue", params(CodePath), security(("bearer" = [])),
    responses((status = 200, body = ProcedureVersions, description = "every version, oldest first"))
)]
pub async fn procedure_versions(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<CodePath>,
) -> Result<web::Json<ProcedureVersions>, ApiError> {
    let code = path.into_inner().code;
    let versions = lookup::by_key(&state, caller, code, service::procedure_versions).await?;
    Ok(web::Json(ProcedureVersions {
        items: versions.into_iter().map(Into::into).collect(),
    }))
}

/// The procedures the caller may see.
///
/// Those led by units of the caller's agencies and those receivable anywhere (Decree 118/2025).
#[utoipa::path(
    get, path = "/api/v1/procedures", tag = "catalogue", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<ProcedureDto>, description = "latest versions"))
)]
pub async fn list_procedures(
    state: web::Data<AppState>,
    caller: Caller,
    page: ApiQuery<PageQuery>,
) -> Result<web::Json<Page<ProcedureDto>>, ApiError> {
    pagination::by_id(
        &state,
        caller,
        &page,
        service::list_procedures,
        |(id, _)| *id,
        |(_, p)| p.into(),
    )
    .await
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/units")
            .get(list_units)
            .post(create_unit),
    )
    .service(
        web::resource("/api/v1/units/{code}")
            .get(get_unit)
            .patch(patch_unit),
    )
    .service(
        web::resource("/api/v1/procedures")
            .get(list_procedures)
            .post(create_procedure),
    )
    .service(
        web::resource("/api/v1/procedures/{code}")
            .get(get_procedure)
            .put(put_procedure),
    )
    .service(web::resource("/api/v1/procedures/{code}/versions").get(procedure_versions));
}
