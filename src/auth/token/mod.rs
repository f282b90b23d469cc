//! Access tokens: JWTs issued by `POST /auth/token` (or by an external identity provider) and
//! validated on every authenticated request.
//!
//! One algorithm is configured per deployment and validation is pinned to it: a token whose header
//! names any other algorithm (including `none`) is refused before its signature is even looked at.
//!
//! - `HS256` with a shared secret (`MOTCUA_JWT_SECRET`, at least 32 bytes): the service issues and
//!   validates its own tokens.
//! - `RS256` or `EdDSA` (`MOTCUA_JWT_ALGORITHM`) with a public key (`MOTCUA_JWT_PUBLIC_KEY_FILE`):
//!   tokens are validated with the public key; they are issued here only if the private key is also
//!   given (`MOTCUA_JWT_PRIVATE_KEY_FILE`), otherwise they come from the external identity provider,
//!   which must put the claims of [`Claims`] in them.
//!
//! Time checks (`exp`, `nbf`) take the current instant as a parameter so tests need no clock.

mod claims;
mod keys;
#[cfg(test)]
mod tests;

use std::fmt;

use chrono::{DateTime, Utc};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};

pub use claims::{Claims, TokenError};
use claims::{WireAudience, WireClaims, header_algorithm, map_decode_error};
pub use keys::{
    DEFAULT_LEEWAY_SECS, MAX_LEEWAY_SECS, MAX_TTL, MIN_HS256_SECRET_BYTES, MIN_RSA_BITS,
    TokenAlgorithm, TokenConfigError, TokenSettings,
};
use keys::{check_key_pair, hs256_secret_or_dev, load_private_key, load_public_key};

use crate::auth::policy::{Principal, PrincipalKind, Role};

/// Tokens longer than this are refused unread (a JWT of this service is well under 1 KiB).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// A freshly issued token, as `POST /auth/token` answers it.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub access_token: String,
    /// Lifetime in seconds, for the `expires_in` field.
    pub expires_in: u64,
    pub claims: Claims,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("claims", &self.claims)
            .finish()
    }
}

/// Issues and validates access tokens with the configured algorithm and keys. Build it once at
/// start-up and share it (it is `Send + Sync` and cheap to use concurrently).
pub struct TokenService {
    algorithm: TokenAlgorithm,
    /// `None` when tokens come only from the external identity provider.
    encoding_key: Option<EncodingKey>,
    decoding_key: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_secs: u64,
    leeway_secs: i64,
    warnings: Vec<String>,
}

impl fmt::Debug for TokenService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenService")
            .field("algorithm", &self.algorithm)
            .field("can_issue", &self.can_issue())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl_secs", &self.ttl_secs)
            .field("leeway_secs", &self.leeway_secs)
            .finish_non_exhaustive()
    }
}

impl TokenService {
    /// Checks the settings and loads the keys, refusing anything unsafe: a missing or short HS256
    /// secret outside dev mode, RS256/EdDSA without a public key, unparsable or weak keys, a private
    /// key that does not match the public key. Things that are allowed but worth telling the
    /// operator are in [`TokenService::warnings`]; log them at start-up.
    pub fn new(settings: TokenSettings) -> Result<TokenService, TokenConfigError> {
        let TokenSettings {
            algorithm,
            hs256_secret,
            public_key_pem,
            private_key_pem,
            issuer,
            audience,
            ttl,
            leeway_secs,
            dev_mode,
        } = settings;
        if issuer.trim().is_empty() {
            return Err(TokenConfigError::EmptyIssuer);
        }
        if audience.trim().is_empty() {
            return Err(TokenConfigError::EmptyAudience);
        }
        let ttl_secs = ttl.as_secs();
        if ttl_secs == 0 || ttl > MAX_TTL {
            return Err(TokenConfigError::TtlOutOfRange { secs: ttl_secs });
        }
        if leeway_secs > MAX_LEEWAY_SECS {
            return Err(TokenConfigError::LeewayTooLarge { secs: leeway_secs });
        }

        let mut warnings = Vec::new();
        let (encoding_key, decoding_key) = match algorithm {
            TokenAlgorithm::Hs256 => {
                if public_key_pem.is_some() || private_key_pem.is_some() {
                    warnings.push(
                        "MOTCUA_JWT_PUBLIC_KEY_FILE / MOTCUA_JWT_PRIVATE_KEY_FILE are ignored with \
                         HS256; set MOTCUA_JWT_ALGORITHM=RS256 or EdDSA to use them"
                            .to_owned(),
                    );
                }
                let secret = hs256_secret_or_dev(hs256_secret, dev_mode, &mut warnings)?;
                (
                    Some(EncodingKey::from_secret(&secret)),
                    DecodingKey::from_secret(&secret),
                )
            }
            TokenAlgorithm::Rs256 | TokenAlgorithm::EdDsa => {
                if hs256_secret.is_some() {
                    warnings.push(format!(
                        "MOTCUA_JWT_SECRET is ignored with MOTCUA_JWT_ALGORITHM={algorithm}"
                    ));
                }
                let public_pem =
                    public_key_pem.ok_or(TokenConfigError::MissingPublicKey { algorithm })?;
                let decoding_key = load_public_key(algorithm, &public_pem)?;
                let encoding_key = match private_key_pem {
                    Some(private_pem) => {
                        let key = load_private_key(algorithm, &private_pem)?;
                        check_key_pair(algorithm, &key, &decoding_key)?;
                        Some(key)
                    }
                    None => {
                        warnings.push(format!(
                            "MOTCUA_JWT_PRIVATE_KEY_FILE is not set: this instance validates \
                             {algorithm} tokens but does not issue any; POST /api/v1/auth/token \
                             will refuse, and tokens must come from the identity provider"
                        ));
                        None
                    }
                };
                (encoding_key, decoding_key)
            }
        };

        let mut validation = Validation::new(algorithm.jwt());
        validation.set_issuer(&[issuer.as_str()]);
        validation.set_audience(&[audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        // `exp` and `nbf` are checked in `validate_at` against the caller's clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;

        Ok(TokenService {
            algorithm,
            encoding_key,
            decoding_key,
            validation,
            issuer,
            audience,
            ttl_secs,
            // Bounded by MAX_LEEWAY_SECS above, so the conversion cannot fail.
            leeway_secs: i64::try_from(leeway_secs).unwrap_or(i64::MAX),
            warnings,
        })
    }

    /// Conditions the operator should know about (dev-mode secret, validation-only mode…).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn algorithm(&self) -> TokenAlgorithm {
        self.algorithm
    }

    /// Whether [`TokenService::issue`] can sign tokens (false for RS256/EdDSA without a private key).
    pub fn can_issue(&self) -> bool {
        self.encoding_key.is_some()
    }

    /// Lifetime of issued tokens, in seconds.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    /// Signs a token for `subject`, valid from `now` for the configured lifetime.
    pub fn issue(
        &self,
        subject: &str,
        role: Role,
        unit_code: Option<&str>,
        kind: PrincipalKind,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, TokenError> {
        let key = self
            .encoding_key
            .as_ref()
            .ok_or(TokenError::IssuingDisabled)?;
        let issued_at = now.timestamp();
        let claims = Claims {
            sub: subject.to_owned(),
            role,
            unit_code: unit_code.map(str::to_owned),
            kind,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: issued_at,
            nbf: issued_at,
            // ttl_secs <= MAX_TTL, so this fits in i64.
            exp: issued_at.saturating_add_unsigned(self.ttl_secs),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let access_token = jsonwebtoken::encode(&Header::new(self.algorithm.jwt()), &claims, key)
            .map_err(|e| TokenError::Signing {
            reason: e.to_string(),
        })?;
        Ok(IssuedToken {
            access_token,
            expires_in: self.ttl_secs,
            claims,
        })
    }

    /// Signs a token for an already-built principal.
    pub fn issue_for(
        &self,
        principal: &Principal,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, TokenError> {
        self.issue(
            &principal.subject,
            principal.role,
            principal.unit_code.as_deref(),
            principal.kind,
            now,
        )
    }

    /// [`TokenService::validate_at`] with the system clock.
    pub fn validate(&self, token: &str) -> Result<Claims, TokenError> {
        self.validate_at(token, Utc::now())
    }

    /// Checks, in this order: the token's shape and size; that its `alg` header is exactly the
    /// configured algorithm; the signature; that all claims are present and well-typed; `iss` and
    /// `aud`; then `exp` and `nbf` against `now`, allowing the configured leeway.
    pub fn validate_at(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed);
        }
        if header_algorithm(token)? != self.algorithm.as_str() {
            return Err(TokenError::WrongAlgorithm);
        }
        let wire = jsonwebtoken::decode::<WireClaims>(token, &self.decoding_key, &self.validation)
            .map_err(|e| map_decode_error(e.kind()))?
            .claims;
        let now = now.timestamp();
        if now >= wire.exp.saturating_add(self.leeway_secs) {
            return Err(TokenError::Expired);
        }
        if wire.nbf > now.saturating_add(self.leeway_secs) {
            return Err(TokenError::NotYetValid);
        }
        let aud = match wire.aud {
            WireAudience::One(aud) => aud,
            // The library has already required our audience to be in the array; check it again
            // rather than rely on that, and keep the one value this service cares about.
            WireAudience::Many(list) if list.contains(&self.audience) => self.audience.clone(),
            WireAudience::Many(_) => return Err(TokenError::WrongAudience),
        };
        Ok(Claims {
            sub: wire.sub,
            role: wire.role,
            unit_code: wire.unit_code,
            kind: wire.kind,
            iss: wire.iss,
            aud,
            iat: wire.iat,
            nbf: wire.nbf,
            exp: wire.exp,
            jti: wire.jti,
        })
    }
}
