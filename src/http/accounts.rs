//! `POST /api/v1/auth/token` and machine-client registration.

use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::Caller,
    error::{ApiError, Problem},
    extract::ApiJson,
    idempotency::{self, IdempotentJson},
    lookup,
    pagination::{self, Page, PageQuery},
    state::AppState,
    time::local,
};
use crate::http::extract::ApiQuery;
use crate::{
    auth::{policy::Role, rate_limit::RetryAfter},
    service::accounts::{self as service, LoginError, ThrottledLoginError},
};

/// Either a user's password grant or a machine client's credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TokenRequest {
    ClientCredentials {
        /// Must be `client_credentials`.
        #[schema(pattern = "^client_credentials$")]
        grant_type: String,
        client_id: String,
        client_secret: String,
    },
    Password {
        username: String,
        password: String,
    },
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
}

/// A deferred credential check, run on the blocking pool.
type LoginAttempt = Box<
    dyn FnOnce(
            &mut crate::store::DbConnection,
        ) -> Result<crate::auth::policy::Principal, LoginError>
        + Send,
>;

/// The caller's network address, for rate limiting and the login throttle. The peer address is
/// used, not `X-Forwarded-For`, which any client can forge. An IPv6 client counts by its /64: one
/// host usually holds a whole /64, and would otherwise have more addresses than any table.
pub fn client_address(req: &HttpRequest) -> String {
    let Some(peer) = req.peer_addr() else {
        return "unknown".to_owned();
    };
    match peer.ip() {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{prefix}/64")
            }
        },
    }
}

/// Issues an access token. Limited per client address; an address that keeps failing on an
/// account must wait longer and longer (429 with `Retry-After`), without locking the account for
/// anyone else.
#[utoipa::path(
    post, path = "/api/v1/auth/token", tag = "auth", request_body = TokenRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "wrong credentials"),
        (status = 429, body = Problem, content_type = "application/problem+json", headers(("Retry-After" = u64))),
    )
)]
pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<TokenRequest>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let address = client_address(&req);
    state
        .login_limiter
        .check(&address, Instant::now())
        .map_err(|retry| ApiError::TooManyRequests {
            retry_after_secs: retry.as_secs_ceil(),
        })?;
    let (account, login): (String, LoginAttempt) = match body.0 {
        TokenRequest::ClientCredentials {
            grant_type,
            client_id,
            client_secret,
        } => {
            if grant_type != "client_credentials" {
                return Err(ApiError::validation(
                    "grant_type",
                    "must be `client_credentials`",
                ));
            }
            (
                format!("client:{}", client_id.trim().to_lowercase()),
                Box::new(move |conn| service::login_client(conn, &client_id, &client_secret)),
            )
        }
        TokenRequest::Password { username, password } => (
            format!("user:{}", username.trim().to_lowercase()),
            Box::new(move |conn| service::login_user(conn, &username, &password)),
        ),
    };
    let policy = state.login_throttle;
    let throttled_account = account.clone();
    let outcome = state
        .db(move |conn| {
            let now = Utc::now().naive_utc();
            match service::throttled_login(conn, &policy, &throttled_account, &address, now, login)
            {
                Ok(principal) => Ok(Ok(principal)),
                Err(ThrottledLoginError::Store(e)) => Err(ApiError::from(e)),
                Err(refused) => Ok(Err(refused)),
            }
        })
        .await?;
    let principal = match outcome {
        Ok(principal) => principal,
        Err(ThrottledLoginError::Wait(wait)) => {
            tracing::warn!(%account, "login refused: too many failures");
            return Err(ApiError::TooManyRequests {
                retry_after_secs: RetryAfter(wait).as_secs_ceil(),
            });
        }
        Err(_) => {
            tracing::warn!(%account, "failed login");
            return Err(ApiError::Unauthorized("invalid credentials".to_owned()));
        }
    };
    let issued = state
        .tokens
        .issue_for(&principal, Utc::now())
        .map_err(|e| match e {
            crate::auth::token::TokenError::IssuingDisabled => ApiError::BadRequest(e.to_string()),
            other => ApiError::Internal(format!("{other:?}")),
        })?;
    Ok(web::Json(TokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer".to_owned(),
        expires_in: issued.expires_in,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    /// e.g. `Cổng dịch vụ công tỉnh`.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// The agency the client works for, with the agencies below it. Default: the creating
    /// administrator's own agency, or the whole deployment for an administrator without a unit.
    #[schema(pattern = "^[A-Z0-9.]{1,20}$")]
    pub agency_code: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClientDto {
    pub client_id: String,
    pub name: String,
    /// Always `portal`.
    pub role: String,
    pub active: bool,
    pub created_at: DateTime<FixedOffset>,
    /// The agency it works for; `null`: the whole deployment.
    pub agency_code: Option<String>,
    /// Only in the creation response: store it now, it is never shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

#[utoipa::path(
    post, path = "/api/v1/clients", tag = "auth", request_body = CreateClient, security(("bearer" = [])),
    responses((status = 201, body = ClientDto))
)]
/// Registers a machine client. Unlike other creations it takes no `Idempotency-Key`: its response
/// carries the secret, which is stored only hashed and so cannot be answered twice.
pub async fn create_client(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<CreateClient>,
) -> Result<HttpResponse, ApiError> {
    let CreateClient { name, agency_code } = body.0;
    let (client, secret) = state
        .db_as(caller, move |conn, caller| {
            service::create_client(
                conn,
                &caller.principal,
                &caller.audit,
                &name,
                agency_code.as_deref(),
            )
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/clients/{}", client.client_id),
        ))
        .json(ClientDto {
            client_id: client.client_id,
            name: client.name,
            role: "portal".to_owned(),
            active: client.active,
            created_at: local(client.created_at),
            agency_code: client.agency_code,
            client_secret: Some(secret),
        }))
}

/// The machine clients (the e-portal's), without their secrets.
///
/// Admins, within their agencies.
#[utoipa::path(
    get, path = "/api/v1/clients", tag = "auth", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<ClientDto>))
)]
pub async fn list_clients(
    state: web::Data<AppState>,
    caller: Caller,
    page: ApiQuery<PageQuery>,
) -> Result<web::Json<Page<ClientDto>>, ApiError> {
    pagination::by_id(
        &state,
        caller,
        &page,
        service::list_clients,
        |c| c.id,
        |c| ClientDto {
            client_id: c.client_id,
            name: c.name,
            role: "portal".to_owned(),
            active: c.active,
            created_at: local(c.created_at),
            agency_code: c.agency_code,
            client_secret: None,
        },
    )
    .await
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserDto {
    pub username: String,
    /// `admin`, `reception`, `specialist`, `leader` or `auditor`.
    pub role: String,
    pub unit_code: Option<String>,
    pub active: bool,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

impl From<crate::store::accounts::UserRecord> for UserDto {
    fn from(u: crate::store::accounts::UserRecord) -> Self {
        Self {
            username: u.username,
            role: u.role.as_str().to_owned(),
            unit_code: u.unit_code,
            active: u.active,
            created_at: local(u.created_at),
            updated_at: local(u.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub username: String,
    /// Write-only; 12–256 characters, not all spaces, not one repeated character.
    #[schema(min_length = 12, max_length = 256, write_only)]
    pub password: String,
    pub role: RoleDto,
    /// Required for `specialist` and `leader`.
    pub unit_code: Option<String>,
}

/// Roles a local account can have (`portal` belongs to machine clients).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RoleDto {
    Admin,
    Reception,
    Specialist,
    Leader,
    Auditor,
}

impl From<RoleDto> for Role {
    fn from(r: RoleDto) -> Self {
        match r {
            RoleDto::Admin => Role::Admin,
            RoleDto::Reception => Role::Reception,
            RoleDto::Specialist => Role::Specialist,
            RoleDto::Leader => Role::Leader,
            RoleDto::Auditor => Role::Auditor,
        }
    }
}

/// JSON merge patch of a user: absent fields stay; `unit_code: null` clears the unit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchUser {
    #[schema(min_length = 12, max_length = 256, write_only)]
    pub password: Option<String>,
    pub role: Option<RoleDto>,
    #[serde(default, deserialize_with = "super::extract::present")]
    #[schema(value_type = Option<String>)]
    pub unit_code: Option<Option<String>>,
    /// `false` deactivates the account: its tokens stop working at once.
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UsernamePath {
    pub username: String,
}

/// Adds a local account.
///
/// Specialists and leaders need a unit; an admin with a unit places accounts only in units of their
/// agencies.
#[utoipa::path(
    post, path = "/api/v1/users", tag = "auth", request_body = CreateUser,
    params(("Idempotency-Key" = Option<String>, Header, description = "same key and body within 24 h → the first response again; other body → 422", pattern = "^[!-~]{1,200}$")), security(("bearer" = [])),
    responses(
        (status = 201, body = UserDto, headers(("Location" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_user(
    state: web::Data<AppState>,
    caller: Caller,
    body: IdempotentJson<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    let idem = body.idempotency;
    let body = body.value;
    idempotency::created(&state, caller, idem, move |conn, caller| {
        let user = service::create_user(
            conn,
            &caller.principal,
            &caller.audit,
            &body.username,
            &body.password,
            body.role.into(),
            body.unit_code.as_deref(),
        )?;
        let location = format!("/api/v1/users/{}", user.username);
        Ok((location, UserDto::from(user)))
    })
    .await
}

/// The local accounts, without their password hashes.
///
/// Admins, within their agencies.
#[utoipa::path(
    get, path = "/api/v1/users", tag = "auth", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<UserDto>))
)]
pub async fn list_users(
    state: web::Data<AppState>,
    caller: Caller,
    page: ApiQuery<PageQuery>,
) -> Result<web::Json<Page<UserDto>>, ApiError> {
    pagination::by_id(
        &state,
        caller,
        &page,
        service::list_users,
        |u| u.id,
        UserDto::from,
    )
    .await
}

/// One local account.
///
/// Out of the caller's agencies it does not exist (404).
#[utoipa::path(
    get, path = "/api/v1/users/{username}", tag = "auth", params(UsernamePath), security(("bearer" = [])),
    responses((status = 200, body = UserDto))
)]
pub async fn get_user(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<UsernamePath>,
) -> Result<web::Json<UserDto>, ApiError> {
    let username = path.into_inner().username;
    let user = lookup::by_key(&state, caller, username, service::get_user).await?;
    Ok(web::Json(user.into()))
}

/// Changes an account (JSON merge patch): password, role, unit, active.
///
/// Tokens issued before a change of role, unit or state stop working at once; nobody changes their
/// own role, unit or state.
#[utoipa::path(
    patch, path = "/api/v1/users/{username}", tag = "auth", params(UsernamePath), request_body = PatchUser,
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserDto),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "it would leave no active administrator, or it changes the caller's own role, unit or active state"),
    )
)]
pub async fn patch_user(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<UsernamePath>,
    body: ApiJson<PatchUser>,
) -> Result<web::Json<UserDto>, ApiError> {
    let username = path.into_inner().username;
    let body = body.0;
    let update = service::UserUpdate {
        password: body.password,
        role: body.role.map(Into::into),
        unit_code: body.unit_code,
        active: body.active,
    };
    let user = state
        .db_as(caller, move |conn, caller| {
            service::update_user(conn, &caller.principal, &caller.audit, &username, update)
        })
        .await?;
    Ok(web::Json(user.into()))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/auth/token").post(token))
        .service(
            web::resource("/api/v1/clients")
                .get(list_clients)
                .post(create_client),
        )
        .service(
            web::resource("/api/v1/users")
                .get(list_users)
                .post(create_user),
        )
        .service(
            web::resource("/api/v1/users/{username}")
                .get(get_user)
                .patch(patch_user),
        );
}
