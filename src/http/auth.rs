//! Authentication of requests: the bearer token becomes a [`Caller`] carrying the principal and the
//! audit context. Authorisation itself is decided in `auth::policy`, called by the services.

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, http::header, web};

use super::{error::ApiError, middleware::RequestId, state::AppState};
use crate::{
    auth::policy::{Principal, PrincipalKind},
    domain::agency::AgencyScope,
    service,
    store::{DbConnection, accounts, audit::AuditContext},
};

/// Optional header carrying why a change is made; it is written to the audit log.
pub const AUDIT_REASON_HEADER: &str = "x-audit-reason";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub audit: AuditContext,
}

fn bearer_token(req: &HttpRequest) -> Result<&str, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("send `Authorization: Bearer <token>`".to_owned()))?
        .to_str()
        .map_err(|_| {
            ApiError::Unauthorized("the Authorization header is not readable".to_owned())
        })?;
    let (scheme, token) = value.split_once(' ').ok_or_else(|| {
        ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".to_owned())
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::Unauthorized(
            "the Authorization header must be `Bearer <token>`".to_owned(),
        ));
    }
    Ok(token.trim())
}

fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal("application state missing".to_owned()))?;
    let token = bearer_token(req)?;
    let claims = state.tokens.validate(token).map_err(|e| {
        tracing::info!(reason = e.code(), "token refused");
        ApiError::InvalidToken(e.to_string())
    })?;
    let principal = claims.principal();
    let reason = req
        .headers()
        .get(AUDIT_REASON_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().chars().take(500).collect::<String>())
        .filter(|v| !v.is_empty());
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    Ok(Caller {
        audit: AuditContext {
            actor: principal.subject.clone(),
            actor_role: principal.role,
            client_id: (principal.kind == PrincipalKind::Client).then(|| principal.subject.clone()),
            reason,
            request_id,
        },
        principal,
    })
}

/// Refuses a token whose local account has since been deactivated, or given another role or
/// unit: permissions come from the token's claims, so a demoted administrator or a leader moved to
/// another unit must not keep the old ones until the token expires. Identities that exist only at
/// the external identity provider have no local row and are not checked here.
///
/// Answers the agencies the principal works for, resolved on the same connection.
pub fn check_account(
    conn: &mut DbConnection,
    principal: &Principal,
) -> Result<AgencyScope, ApiError> {
    let is_client = principal.kind == PrincipalKind::Client;
    let standing = accounts::account_standing(conn, &principal.subject, is_client)?;
    if let Some(account) = &standing {
        if !account.active {
            tracing::info!(subject = %principal.subject, "token of a deactivated account refused");
            return Err(ApiError::InvalidToken(
                "this account is deactivated".to_owned(),
            ));
        }
        if account.role != principal.role.as_str() || account.unit_code != principal.unit_code {
            tracing::info!(subject = %principal.subject, "token with a stale role or unit refused");
            return Err(ApiError::InvalidToken(
                "the account's role or unit has changed since this token was issued; request a new token"
                    .to_owned(),
            ));
        }
    }
    Ok(service::agencies::resolve_scope(
        conn,
        principal,
        standing.as_ref(),
    )?)
}

/// Validates the bearer token only. Whether the account is still active is checked on the
/// handler's own database connection, by [`super::state::AppState::db_as`], which is how every
/// handler taking a `Caller` reaches the database, in the same trip to the blocking pool as the
/// handler's work.
impl FromRequest for Caller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        std::future::ready(authenticate(req))
    }
}
