//! What a token says (its claims, as issued and as they arrive on the wire) and why one is refused.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::errors::ErrorKind;
use serde::{Deserialize, Serialize};

use crate::auth::policy::{Principal, PrincipalKind, Role};

/// The claims of an access token. All are required when validating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Username, or client id for a machine client.
    pub sub: String,
    pub role: Role,
    /// The principal's unit, for unit-bound roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_code: Option<String>,
    /// `user` or `client`.
    pub kind: PrincipalKind,
    pub iss: String,
    /// This service's audience. A token carrying an array audience (as some identity providers
    /// issue) is accepted when the array contains it, and reads back as the configured value.
    pub aud: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Not before, Unix seconds.
    pub nbf: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
    /// Unique token id, for logs and audit records.
    pub jti: String,
}

impl Claims {
    /// The principal the authorisation policy reasons about.
    pub fn principal(&self) -> Principal {
        Principal {
            subject: self.sub.clone(),
            role: self.role,
            unit_code: self.unit_code.clone(),
            kind: self.kind,
            // Resolved from the database with the account check (`http::state::AppState::db_as`).
            scope: crate::domain::agency::AgencyScope::Nothing,
        }
    }
}

/// The claims as they arrive on the wire, where `aud` may be a string or an array.
#[derive(Deserialize)]
pub(super) struct WireClaims {
    pub(super) sub: String,
    pub(super) role: Role,
    #[serde(default)]
    pub(super) unit_code: Option<String>,
    pub(super) kind: PrincipalKind,
    pub(super) iss: String,
    pub(super) aud: WireAudience,
    pub(super) iat: i64,
    pub(super) nbf: i64,
    pub(super) exp: i64,
    pub(super) jti: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum WireAudience {
    One(String),
    Many(Vec<String>),
}

/// Why a token was refused, or could not be issued.
///
/// The `Display` text of the validation variants is short and safe for the `detail` of a 401
/// problem: it never echoes the token or says more than which check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token has expired")]
    Expired,
    #[error("the access token's signature is invalid")]
    InvalidSignature,
    #[error("the access token was issued for another audience")]
    WrongAudience,
    #[error("the access token was issued by an unknown issuer")]
    WrongIssuer,
    #[error("the access token is not valid yet")]
    NotYetValid,
    #[error("the access token is signed with an algorithm this service does not accept")]
    WrongAlgorithm,
    #[error("the access token is malformed or lacks required claims")]
    Malformed,
    /// RS256/EdDSA without a private key: tokens come from the external identity provider.
    #[error("this service does not issue tokens; obtain one from the identity provider")]
    IssuingDisabled,
    /// Signing failed (should not happen with keys that passed start-up checks). The reason is for
    /// logs, not for clients.
    #[error("the access token could not be signed")]
    Signing { reason: String },
}

impl TokenError {
    /// A stable machine-readable code (e.g. for the problem `type` or a metric label).
    pub const fn code(&self) -> &'static str {
        match self {
            TokenError::Expired => "token_expired",
            TokenError::InvalidSignature => "token_signature_invalid",
            TokenError::WrongAudience => "token_audience_wrong",
            TokenError::WrongIssuer => "token_issuer_wrong",
            TokenError::NotYetValid => "token_not_yet_valid",
            TokenError::WrongAlgorithm => "token_algorithm_wrong",
            TokenError::Malformed => "token_malformed",
            TokenError::IssuingDisabled => "token_issuing_disabled",
            TokenError::Signing { .. } => "token_signing_failed",
        }
    }

    /// True for the refusals of [`TokenService::validate`], which answer 401.
    pub const fn is_unauthorized(&self) -> bool {
        !matches!(
            self,
            TokenError::IssuingDisabled | TokenError::Signing { .. }
        )
    }
}

/// Reads the `alg` header without trusting anything else in the token.
pub(super) fn header_algorithm(token: &str) -> Result<String, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| TokenError::Malformed)?;
    let header: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
    header
        .get("alg")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or(TokenError::Malformed)
}

pub(super) fn map_decode_error(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature => TokenError::InvalidSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm => TokenError::WrongAlgorithm,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        _ => TokenError::Malformed,
    }
}
