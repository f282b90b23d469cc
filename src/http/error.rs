//! The HTTP layer's one error type and its single mapping to `application/problem+json` (RFC 9457).

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::store::StoreError;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// One invalid field of a request, named by its JSON path (`applicant.name`, `steps[1].hours`) or by
/// its query/path parameter name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem document; every error response of the API has this shape.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem, e.g. `/problems/validation`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Present on validation problems: each invalid field and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    /// No usable credentials were sent (or a login failed).
    #[error("{0}")]
    Unauthorized(String),
    /// A bearer token was sent but cannot be used (expired, bad signature, stale account…).
    #[error("{0}")]
    InvalidToken(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    RangeNotSatisfiable(String),
    #[error("the request is well-formed but invalid")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    UnprocessableEntity(String),
    #[error("{0}")]
    PreconditionRequired(String),
    #[error("too many requests; retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("{0}")]
    ServiceUnavailable(String),
    /// Details are logged, never sent to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    fn kind(&self) -> (StatusCode, &'static str, &'static str) {
        use StatusCode as S;
        match self {
            Self::BadRequest(_) => (S::BAD_REQUEST, "bad-request", "Malformed request"),
            Self::Unauthorized(_) | Self::InvalidToken(_) => {
                (S::UNAUTHORIZED, "unauthorized", "Authentication required")
            }
            Self::Forbidden(_) => (S::FORBIDDEN, "forbidden", "Not allowed"),
            Self::NotFound(_) => (S::NOT_FOUND, "not-found", "Not found"),
            Self::Conflict(_) => (S::CONFLICT, "conflict", "Conflict"),
            Self::PreconditionFailed(_) => (
                S::PRECONDITION_FAILED,
                "stale-version",
                "The resource has changed",
            ),
            Self::PayloadTooLarge(_) => (
                S::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request body too large",
            ),
            Self::UnsupportedMediaType(_) => (
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported content type",
            ),
            Self::RangeNotSatisfiable(_) => (
                S::RANGE_NOT_SATISFIABLE,
                "range-not-satisfiable",
                "Range not satisfiable",
            ),
            Self::Validation(_) | Self::UnprocessableEntity(_) => {
                (S::UNPROCESSABLE_ENTITY, "validation", "Invalid request")
            }
            Self::PreconditionRequired(_) => (
                S::PRECONDITION_REQUIRED,
                "precondition-required",
                "If-Match header required",
            ),
            Self::TooManyRequests { .. } => {
                (S::TOO_MANY_REQUESTS, "rate-limited", "Too many requests")
            }
            Self::ServiceUnavailable(_) => {
                (S::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable")
            }
            Self::Internal(_) => (
                S::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
            ),
        }
    }

    pub fn to_problem(&self) -> Problem {
        let (status, slug, title) = self.kind();
        let detail = match self {
            Self::Internal(_) => "an unexpected error occurred; it has been logged".to_owned(),
            Self::Validation(errors) => errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        // Messages may quote what the client sent; a problem document never carries a control
        // character back.
        let escape = crate::domain::text::escape_controls;
        Problem {
            problem_type: format!("/problems/{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: escape(&detail),
            errors: match self {
                Self::Validation(errors) => Some(
                    errors
                        .iter()
                        .map(|e| FieldError::new(escape(&e.field), escape(&e.message)))
                        .collect(),
                ),
                _ => None,
            },
        }
    }
}

/// Builds a problem response for a bare status (used for errors actix produces itself).
pub fn problem_for_status(status: StatusCode, detail: impl Into<String>) -> Problem {
    Problem {
        problem_type: if status.is_server_error() {
            "/problems/internal".to_owned()
        } else {
            format!("/problems/http-{}", status.as_u16())
        },
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail: detail.into(),
        errors: None,
    }
}

pub fn problem_response(problem: &Problem) -> HttpResponse {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE))
        .body(serde_json::to_vec(problem).unwrap_or_default())
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.kind().0
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(cause) => tracing::error!(%cause, "internal error"),
            Self::ServiceUnavailable(cause) => tracing::warn!(%cause, "service unavailable"),
            _ => {}
        }
        let mut response = problem_response(&self.to_problem());
        match self {
            Self::TooManyRequests { retry_after_secs } => {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    header::HeaderValue::from(*retry_after_secs),
                );
            }
            Self::Unauthorized(_) => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, bearer_challenge(None));
            }
            Self::InvalidToken(detail) => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    bearer_challenge(Some(("invalid_token", detail))),
                );
            }
            _ => {}
        }
        response
    }
}

/// The protection space of every bearer challenge this service sends.
pub const REALM: &str = "motcua";

/// A `WWW-Authenticate: Bearer` challenge (RFC 6750 §3), with the error code and a description
/// when a token was sent but refused. The description is reduced to the characters a quoted string
/// may hold.
pub fn bearer_challenge(error: Option<(&str, &str)>) -> header::HeaderValue {
    let mut value = format!("Bearer realm=\"{REALM}\"");
    if let Some((code, description)) = error {
        let description: String = description
            .chars()
            .map(|c| match c {
                '"' | '\\' => '\'',
                c if c == ' ' || c.is_ascii_graphic() => c,
                _ => '?',
            })
            .collect();
        value.push_str(&format!(
            ", error=\"{code}\", error_description=\"{description}\""
        ));
    }
    header::HeaderValue::from_str(&value)
        .unwrap_or_else(|_| header::HeaderValue::from_static("Bearer realm=\"motcua\""))
}

/// Internal errors and unavailability may come from a bad connection; every other answer is a
/// decision about the request.
impl crate::store::ConnectionFault for ApiError {
    fn may_be_connection_fault(&self) -> bool {
        matches!(self, Self::Internal(_) | Self::ServiceUnavailable(_))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound("no such resource".to_owned()),
            StoreError::UniqueViolation(what) => Self::Conflict(format!(
                "a resource with the same unique key exists ({what})"
            )),
            StoreError::StaleVersion => Self::PreconditionFailed(
                "the resource was changed by someone else; read it again and retry".to_owned(),
            ),
            StoreError::Pool(e) => Self::ServiceUnavailable(format!("database unavailable: {e}")),
            StoreError::Connection(e) => {
                Self::ServiceUnavailable(format!("database unavailable: {e}"))
            }
            // The outcome of a write in progress is unknown: a retry must carry the same
            // Idempotency-Key to be safe.
            StoreError::ConnectionLost(e) => Self::ServiceUnavailable(format!(
                "database connection lost ({}); a change in progress may or may not have been \
                 saved: retry with the same Idempotency-Key, or read the resource first",
                e.trim()
            )),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::Internal(format!("blocking task failed: {e}"))
    }
}

impl From<crate::service::ServiceError> for ApiError {
    fn from(e: crate::service::ServiceError) -> Self {
        use crate::{domain::dossier::DossierError, service::ServiceError as S};
        match e {
            S::Store(e) => e.into(),
            S::Denied(denied) => {
                tracing::warn!(reason = %denied.reason, "access denied");
                Self::Forbidden(denied.reason)
            }
            S::Dossier(DossierError::IllegalTransition { .. } | DossierError::NoNextStep) => {
                Self::Conflict(e.to_string())
            }
            S::Dossier(DossierError::Invalid { field, message }) => {
                Self::validation(field, message)
            }
            S::Dossier(DossierError::Deadline(e)) => Self::UnprocessableEntity(e.to_string()),
            // The stored row contradicts itself: a fault of ours, not of the request.
            S::Dossier(e @ DossierError::NotReceived { .. }) => Self::Internal(e.to_string()),
            S::Invalid(errors) => Self::Validation(
                errors
                    .into_iter()
                    .map(|(field, message)| FieldError::new(field, message))
                    .collect(),
            ),
            S::NotFound(what) => Self::NotFound(what),
            S::Conflict(what) => Self::Conflict(what),
            S::StaleVersion(what) => Self::PreconditionFailed(what),
            S::IdempotencyMismatch(what) => Self::UnprocessableEntity(what),
            S::Upload(e) => {
                use crate::{service::documents::UploadError as U, storage::StorageError};
                match e {
                    U::Empty => Self::validation("body", "the file is empty"),
                    U::UnsupportedType => Self::UnsupportedMediaType(e.to_string()),
                    U::TooLarge { .. } => Self::PayloadTooLarge(e.to_string()),
                    U::Interrupted(_) => Self::BadRequest(e.to_string()),
                    U::Storage(StorageError::Backend(_)) => Self::ServiceUnavailable(e.to_string()),
                    U::Storage(_) => Self::Internal(e.to_string()),
                }
            }
            S::Integrity(what) => Self::Internal(what),
        }
    }
}
