//! Authentication of requests: the bearer token becomes a [`Caller`] carrying the principal and the
//! audit context. Authorisation itself is decided in `auth::policy`, called by the services.

use std::{future::Future, pin::Pin};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, http::header, web};

use super::{error::ApiError, middleware::RequestId, state::AppState};
use crate::{
    auth::policy::{Principal, PrincipalKind},
    store::{accounts, audit::AuditContext},
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
        ApiError::Unauthorized(e.to_string())
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
            actor_role: principal.role.to_string(),
            client_id: (principal.kind == PrincipalKind::Client).then(|| principal.subject.clone()),
            reason,
            request_id,
        },
        principal,
    })
}

impl FromRequest for Caller {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let caller = authenticate(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let caller = caller?;
            let state =
                state.ok_or_else(|| ApiError::Internal("application state missing".to_owned()))?;
            // A token outlives a deactivation by up to its lifetime unless the account is checked.
            let (subject, is_client) = (
                caller.principal.subject.clone(),
                caller.principal.kind == PrincipalKind::Client,
            );
            let deactivated = state
                .db(move |conn| accounts::is_deactivated(conn, &subject, is_client))
                .await?;
            if deactivated {
                tracing::info!(subject = %caller.principal.subject, "token of a deactivated account refused");
                return Err(
                    ApiError::Unauthorized("this account is deactivated".to_owned()).into(),
                );
            }
            Ok(caller)
        })
    }
}
