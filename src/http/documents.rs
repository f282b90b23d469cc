//! Documents of a dossier (thành phần hồ sơ, số hóa): upload (raw body or multipart, streamed),
//! list and download (streamed, with `ETag`, `Range` and `If-None-Match`).

use actix_web::{
    HttpRequest, HttpResponse,
    body::SizedStream,
    http::{
        StatusCode,
        header::{
            self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
        },
    },
    web,
};
use chrono::{DateTime, FixedOffset};
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::Caller,
    conditional::{EntityTag, TagList, parse_tag_list},
    error::{ApiError, Problem},
    extract::{ApiJson, ApiQuery},
    state::AppState,
    time::local,
};
use crate::{
    domain::document::{DocumentKind, FileType},
    service::documents::{self as service, UploadError},
    storage::WrittenObject,
    store::documents::DocumentRecord,
};

/// Why a document is added: `submitted` (a paper of the dossier as submitted), `supplement` (a
/// paper that answers a request for supplement) or `result` (the result, digitized).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKindDto {
    Submitted,
    Supplement,
    Result,
}

impl From<DocumentKindDto> for DocumentKind {
    fn from(k: DocumentKindDto) -> Self {
        match k {
            DocumentKindDto::Submitted => DocumentKind::Submitted,
            DocumentKindDto::Supplement => DocumentKind::Supplement,
            DocumentKindDto::Result => DocumentKind::Result,
        }
    }
}

impl From<DocumentKind> for DocumentKindDto {
    fn from(k: DocumentKind) -> Self {
        match k {
            DocumentKind::Submitted => DocumentKindDto::Submitted,
            DocumentKind::Supplement => DocumentKindDto::Supplement,
            DocumentKind::Result => DocumentKindDto::Result,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    #[param(inline)]
    pub kind: DocumentKindDto,
    /// The procedure's component (thành phần hồ sơ) the file stands for; never with `result`.
    #[param(pattern = "^[A-Za-z0-9._-]{1,50}$")]
    pub component: Option<String>,
    /// The file's name, 1–255 characters, no path (`/`, `\`) and no control character. With
    /// multipart it defaults to the file part's name; without any, to `tai-lieu-{kind}.{ext}` (the
    /// extension of the type found).
    #[param(
        min_length = 1,
        max_length = 255,
        pattern = "^[^/\\\\\"]*\\S[^/\\\\\"]*$"
    )]
    pub file_name: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DocumentPath {
    #[param(example = "SCT-250124-0001")]
    pub code: String,
    #[param(minimum = 1, maximum = 9007199254740991_i64)]
    pub id: i64,
}

/// A document: a record of the dossier, never replaced or deleted.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DocumentDto {
    pub id: i64,
    pub kind: DocumentKindDto,
    pub component_code: Option<String>,
    pub file_name: String,
    /// Judged from the content (PDF, JPEG, PNG, TIFF, DOCX, XLSX, ODT, XML).
    #[schema(example = "application/pdf")]
    pub content_type: String,
    /// In bytes.
    pub size: i64,
    /// Lower-case hex; also the download's `ETag`.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
    /// Taken from an earlier dossier of the same applicant (tái sử dụng).
    pub reused: bool,
    pub uploaded_at: DateTime<FixedOffset>,
    pub uploaded_by: String,
}

impl From<DocumentRecord> for DocumentDto {
    fn from(d: DocumentRecord) -> Self {
        Self {
            id: d.id,
            kind: d.kind.into(),
            component_code: d.component_code,
            file_name: d.file_name,
            content_type: d.content_type,
            size: d.size,
            sha256: d.sha256,
            reused: d.reused,
            uploaded_at: local(d.uploaded_at),
            uploaded_by: d.uploaded_by,
        }
    }
}

/// A dossier's documents, oldest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Documents {
    pub code: String,
    /// Holds a file for every required component and, once resolved, one of its result (số hóa).
    pub digitized: bool,
    pub items: Vec<DocumentDto>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DossierCodePath {
    #[param(example = "SCT-250124-0001")]
    pub code: String,
}

/// Adds a document to a dossier (số hóa), streamed to storage while its SHA-256 is computed.
///
/// The file is the raw body (any `Content-Type`), or the first file part of a
/// `multipart/form-data` body. Its type is judged from its first bytes, not from its name or
/// header: PDF, JPEG, PNG, TIFF, DOCX, XLSX, ODT or XML; anything else is 415. Larger than
/// `MOTCUA_DOCUMENT_MAX_BYTES` (default 20 MiB) is 413. Nothing is kept of a refused or interrupted
/// upload.
///
/// Which kind fits which status: `submitted` while submitted, received or processing;
/// `supplement` while awaiting a supplement; `result` while processing or resolved (409
/// otherwise). Who: the roles that may act on the dossier (reception; specialists and leaders of
/// the unit that holds it), and the e-portal's client for the papers of its own dossiers.
#[utoipa::path(
    post, path = "/api/v1/dossiers/{code}/documents", tag = "documents", operation_id = "upload_document",
    params(DossierCodePath, UploadQuery),
    request_body(
        description = "The file's bytes (or multipart/form-data with one file part)",
        content(
            (Vec<u8> = "application/octet-stream"),
            (Vec<u8> = "application/pdf"),
            (Vec<u8> = "image/jpeg"),
            (Vec<u8> = "image/png"),
        )
    ),
    security(("bearer" = [])),
    responses(
        (status = 201, body = DocumentDto, headers(("Location" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "The upload was interrupted, or the multipart body holds no file part"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "This kind of document may not be added in the dossier's status"),
        (status = 413, body = Problem, content_type = "application/problem+json", description = "Larger than MOTCUA_DOCUMENT_MAX_BYTES"),
        (status = 415, body = Problem, content_type = "application/problem+json", description = "The content is none of the accepted types"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "Empty file, unknown component, missing or unfit file name"),
    )
)]
pub async fn upload(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<DossierCodePath>,
    query: ApiQuery<UploadQuery>,
    payload: web::Payload,
) -> HttpResponse {
    match receive_upload(state, caller, req, path, query, payload).await {
        Ok(response) => response,
        Err(error) => {
            // The body may be left unread (refused before or midway): the connection cannot carry
            // another request, so the client is told to open a new one.
            let mut response = actix_web::ResponseError::error_response(&error);
            response
                .head_mut()
                .set_connection_type(actix_web::http::ConnectionType::Close);
            response
        }
    }
}

async fn receive_upload(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<DossierCodePath>,
    query: ApiQuery<UploadQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner().code;
    let query = query.into_inner();
    let max = state.config.document_max_bytes;
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    // A declared length over the limit is refused before anything is read (multipart framing
    // may add a little).
    let framing = if is_multipart { 64 * 1024 } else { 0 };
    if let Some(length) = content_length(&req)
        && length > max + framing
    {
        return Err(UploadError::TooLarge { limit: max }.into_api());
    }
    if is_multipart {
        let mut form = actix_multipart::Multipart::new(req.headers(), payload);
        let field = loop {
            match form.try_next().await {
                Ok(Some(field)) => {
                    if field
                        .content_disposition()
                        .is_some_and(|d| d.get_filename().is_some())
                    {
                        break field;
                    }
                }
                Ok(None) => {
                    return Err(ApiError::BadRequest(
                        "the multipart body holds no file part (a part with a filename)".into(),
                    ));
                }
                Err(e) => {
                    return Err(ApiError::BadRequest(format!(
                        "the multipart body cannot be read: {e}"
                    )));
                }
            }
        };
        let file_name = query.file_name.clone().or_else(|| {
            field
                .content_disposition()
                .and_then(|d| d.get_filename())
                .map(str::to_owned)
        });
        store_upload(&state, caller, code, query, file_name, Box::pin(field)).await
    } else {
        let file_name = query.file_name.clone();
        store_upload(&state, caller, code, query, file_name, payload).await
    }
}

/// The declared `Content-Length`, if any.
fn content_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

impl UploadError {
    fn into_api(self) -> ApiError {
        crate::service::ServiceError::from(self).into()
    }
}

async fn store_upload<S, E>(
    state: &AppState,
    caller: Caller,
    code: String,
    query: UploadQuery,
    file_name: Option<String>,
    body: S,
) -> Result<HttpResponse, ApiError>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let kind = DocumentKind::from(query.kind);
    let component = query.component;
    let target = state
        .db_as(caller.clone(), move |conn, caller| {
            service::prepare_upload(
                conn,
                &caller.principal,
                &code,
                kind,
                component.as_deref(),
                file_name.as_deref(),
            )
        })
        .await?;
    let (written, file_type) = service::receive(
        &state.storage,
        &target.storage_key,
        body,
        state.config.document_max_bytes,
    )
    .await
    .map_err(UploadError::into_api)?;
    record(state, caller, target, written, file_type).await
}

/// A paper to take from an earlier dossier of the same applicant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReuseRequest {
    /// The document, of another dossier the caller may read.
    #[schema(minimum = 1, maximum = 9007199254740991_i64)]
    pub document_id: i64,
    /// The component of this dossier's procedure it stands for.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,50}$")]
    pub component: Option<String>,
}

/// Takes a digitized paper of an earlier dossier of the same applicant into this one (tái sử dụng
/// dữ liệu số hóa): a copy of its file becomes a `submitted` document marked `reused`.
///
/// Both dossiers must name the same applicant identity number, the paper must not be a result, and
/// the caller must be allowed to read the earlier dossier and to add papers to this one now (422
/// under `document_id` otherwise, or as an upload is refused).
#[utoipa::path(
    post, path = "/api/v1/dossiers/{code}/documents/reused", tag = "documents", operation_id = "reuse_document",
    params(DossierCodePath), request_body = ReuseRequest, security(("bearer" = [])),
    responses(
        (status = 201, body = DocumentDto, headers(("Location" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "Papers may not be added in the dossier's status"),
    )
)]
pub async fn reuse(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<DossierCodePath>,
    body: ApiJson<ReuseRequest>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner().code;
    let ReuseRequest {
        document_id,
        component,
    } = body.0;
    let plan = state
        .db_as(caller.clone(), move |conn, caller| {
            service::prepare_reuse(
                conn,
                &caller.principal,
                &code,
                document_id,
                component.as_deref(),
            )
        })
        .await?;
    let (source, target) = (plan.source, plan.target);
    let file_type = FileType::from_mime(&source.content_type).ok_or_else(|| {
        ApiError::Internal(format!(
            "document {}: unknown type {}",
            source.id, source.content_type
        ))
    })?;
    state
        .storage
        .copy(&source.storage_key, &target.storage_key)
        .await
        .map_err(|e| match e {
            crate::storage::StorageError::Missing(_) => ApiError::Internal(format!(
                "document {}: the stored file is missing",
                source.id
            )),
            other => ApiError::ServiceUnavailable(other.to_string()),
        })?;
    let written = WrittenObject {
        key: target.storage_key.clone(),
        size: u64::try_from(source.size).unwrap_or_default(),
        sha256: source.sha256.clone(),
    };
    // The copy is what the earlier dossier holds only if its bytes still match their hash.
    if let Err(e) = verified_size(&state, &source).await {
        let _ = state.storage.delete(&written.key).await;
        return Err(e);
    }
    record(&state, caller, target, written, file_type).await
}

/// Records a stored object as a document, or removes the object again.
async fn record(
    state: &AppState,
    caller: Caller,
    target: service::UploadTarget,
    written: WrittenObject,
    file_type: FileType,
) -> Result<HttpResponse, ApiError> {
    let calendars = state.calendar.clone();
    let recorded = {
        let (target, written) = (target.clone(), written.clone());
        state
            .db_as(caller, move |conn, caller| {
                service::record_upload(
                    conn,
                    &calendars,
                    &caller.principal,
                    &caller.audit,
                    &target,
                    &written,
                    file_type,
                )
            })
            .await
    };
    match recorded {
        Ok(record) => {
            let location = format!(
                "/api/v1/dossiers/{}/documents/{}",
                target.dossier_code, record.id
            );
            Ok(HttpResponse::Created()
                .insert_header((header::LOCATION, location))
                .json(DocumentDto::from(record)))
        }
        Err(e) => {
            // No row, so no object: the file goes again.
            if let Err(cleanup) = state.storage.delete(&written.key).await {
                tracing::warn!(key = %written.key, error = %cleanup,
                    "a refused upload's object stays behind; `motcua storage check` removes it");
            }
            Err(e)
        }
    }
}

/// The dossier's documents, oldest first; `digitized` says whether they make it digitized.
#[utoipa::path(
    get, path = "/api/v1/dossiers/{code}/documents", tag = "documents", operation_id = "list_documents",
    params(DossierCodePath),
    security(("bearer" = [])),
    responses((status = 200, body = Documents))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<DossierCodePath>,
) -> Result<web::Json<Documents>, ApiError> {
    let code = path.into_inner().code;
    let (dossier, records) = state
        .db_as(caller, move |conn, caller| {
            service::list(conn, &caller.principal, &code)
        })
        .await?;
    Ok(web::Json(Documents {
        code: dossier.code,
        digitized: dossier.digitized,
        items: records.into_iter().map(DocumentDto::from).collect(),
    }))
}

/// The document's bytes, streamed, as they were uploaded.
///
/// `ETag` is the SHA-256; `If-None-Match` with it answers 304. One `Range` of bytes answers 206
/// (several ranges are answered whole, 200). The stored bytes are checked against their SHA-256
/// first: a file that no longer matches is never served (500, logged). The e-portal's download of a
/// result is recorded in the audit log.
#[utoipa::path(
    get, path = "/api/v1/dossiers/{code}/documents/{id}/content", tag = "documents",
    operation_id = "document_content",
    params(
        DocumentPath,
        ("Range" = Option<String>, Header, description = "one byte range, e.g. bytes=0-1023", pattern = "^bytes=[0-9]*-[0-9]*(,[ ]*[0-9]*-[0-9]*)*$"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The bytes", content_type = "application/octet-stream", body = Vec<u8>,
            headers(("ETag" = String), ("Content-Disposition" = String), ("Accept-Ranges" = String))),
        (status = 206, description = "The range asked for", content_type = "application/octet-stream", body = Vec<u8>,
            headers(("ETag" = String), ("Content-Range" = String))),
        (status = 304, description = "The copy held is current"),
        (status = 416, body = Problem, content_type = "application/problem+json", description = "The range lies outside the file"),
    )
)]
pub async fn content(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<DocumentPath>,
) -> Result<HttpResponse, ApiError> {
    let DocumentPath { code, id } = path.into_inner();
    let record = state
        .db_as(caller, move |conn, caller| {
            service::open(conn, &caller.principal, &caller.audit, &code, id)
        })
        .await?;
    let etag = EntityTag::strong(record.sha256.clone());
    if client_holds(&req, &etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag.header_value()))
            .finish());
    }
    let size = verified_size(&state, &record).await?;
    let range = match requested_range(&req, size) {
        Ok(range) => range,
        Err(()) => {
            let error = ApiError::RangeNotSatisfiable(format!(
                "the range asked for lies outside the file's {size} bytes"
            ));
            let mut response = actix_web::ResponseError::error_response(&error);
            response.headers_mut().insert(
                header::CONTENT_RANGE,
                header::HeaderValue::from_str(&format!("bytes */{size}"))
                    .map_err(|e| ApiError::Internal(e.to_string()))?,
            );
            return Ok(response);
        }
    };
    let (status, length, read) = match range {
        Some((first, last)) => (
            StatusCode::PARTIAL_CONTENT,
            last - first + 1,
            Some(first..last + 1),
        ),
        None => (StatusCode::OK, size, None),
    };
    let stream = state
        .storage
        .read(&record.storage_key, read)
        .await
        .map_err(|e| ApiError::ServiceUnavailable(e.to_string()))?
        .map_err(|e| {
            tracing::error!(error = %e, "a document's stream broke off");
            actix_web::error::ErrorInternalServerError("document storage")
        });
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::CONTENT_TYPE, record.content_type.clone()))
        .insert_header((header::ETAG, etag.header_value()))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .insert_header(attachment(&record.file_name));
    if let Some((first, last)) = range {
        response.insert_header((
            header::CONTENT_RANGE,
            format!("bytes {first}-{last}/{size}"),
        ));
    }
    Ok(response.body(SizedStream::new(length, stream.boxed_local())))
}

/// Whether `If-None-Match` names the current tag.
fn client_holds(req: &HttpRequest, current: &EntityTag) -> bool {
    let Some(value) = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    match parse_tag_list(value) {
        Some(TagList::Any) => true,
        Some(TagList::Tags(tags)) => tags.iter().any(|t| t.opaque == current.opaque),
        None => false,
    }
}

/// Reads the stored bytes through SHA-256 and answers their size when they match the record.
async fn verified_size(state: &AppState, record: &DocumentRecord) -> Result<u64, ApiError> {
    let fault = |what: String| {
        tracing::error!(
            document = record.id,
            dossier = record.dossier_id,
            key = %record.storage_key,
            problem = %what,
            "a stored document is not served"
        );
        ApiError::Internal(format!("document {}: {what}", record.id))
    };
    match state.storage.digest(&record.storage_key).await {
        Ok((size, sha256)) if sha256 == record.sha256 && i64::try_from(size) == Ok(record.size) => {
            Ok(size)
        }
        Ok(_) => Err(fault(
            "the stored bytes no longer match their SHA-256".to_owned(),
        )),
        Err(crate::storage::StorageError::Missing(_)) => {
            Err(fault("the stored file is missing".to_owned()))
        }
        Err(e) => Err(ApiError::ServiceUnavailable(e.to_string())),
    }
}

/// One satisfiable byte range (inclusive bounds), `None` for the whole file (no `Range`, a
/// malformed one, or several ranges), `Err` for a range outside the file.
fn requested_range(req: &HttpRequest, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(value) = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    match value.parse::<header::Range>() {
        Ok(header::Range::Bytes(specs)) if specs.len() == 1 => {
            specs[0].to_satisfiable_range(size).map(Some).ok_or(())
        }
        _ => Ok(None),
    }
}

/// `Content-Disposition: attachment` with the name as given (RFC 5987 `filename*`) and an ASCII
/// stand-in for old clients.
fn attachment(file_name: &str) -> ContentDisposition {
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            DispositionParam::Filename(ascii),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".to_owned()),
                language_tag: None,
                value: file_name.as_bytes().to_vec(),
            }),
        ],
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/dossiers/{code}/documents")
            .get(list)
            .post(upload),
    )
    .service(web::resource("/api/v1/dossiers/{code}/documents/reused").post(reuse))
    .service(web::resource("/api/v1/dossiers/{code}/documents/{id}/content").get(content));
}
