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

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::auth::policy::{Principal, PrincipalKind, Role};

/// Shortest HS256 secret accepted outside dev mode: 256 bits, the size of the HMAC-SHA256 output.
pub const MIN_HS256_SECRET_BYTES: usize = 32;
/// Size of the secret generated in dev mode when none is configured.
const DEV_SECRET_BYTES: usize = 48;
/// Smallest RSA modulus accepted (NIST SP 800-57: 2048 bits until 2030).
pub const MIN_RSA_BITS: usize = 2048;
/// Default clock-skew allowance for `exp` and `nbf`.
pub const DEFAULT_LEEWAY_SECS: u64 = 30;
/// Largest clock-skew allowance accepted; more would quietly extend every token's life.
pub const MAX_LEEWAY_SECS: u64 = 300;
/// Longest token lifetime accepted. Tokens cannot be revoked, so they must stay short-lived;
/// clients fetch a new one instead.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Tokens longer than this are refused unread (a JWT of this service is well under 1 KiB).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The signing algorithm of a deployment (`MOTCUA_JWT_ALGORITHM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAlgorithm {
    /// HMAC-SHA256 with a shared secret.
    Hs256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// Ed25519.
    EdDsa,
}

impl TokenAlgorithm {
    /// The JOSE name, as in a token's `alg` header.
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenAlgorithm::Hs256 => "HS256",
            TokenAlgorithm::Rs256 => "RS256",
            TokenAlgorithm::EdDsa => "EdDSA",
        }
    }

    const fn jwt(self) -> Algorithm {
        match self {
            TokenAlgorithm::Hs256 => Algorithm::HS256,
            TokenAlgorithm::Rs256 => Algorithm::RS256,
            TokenAlgorithm::EdDsa => Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for TokenAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TokenAlgorithm {
    type Err = TokenConfigError;

    /// Accepts `HS256`, `RS256` and `EdDSA`, in any letter case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "HS256" => Ok(TokenAlgorithm::Hs256),
            "RS256" => Ok(TokenAlgorithm::Rs256),
            "EDDSA" => Ok(TokenAlgorithm::EdDsa),
            _ => Err(TokenConfigError::UnknownAlgorithm(s.to_owned())),
        }
    }
}

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
        }
    }
}

/// The claims as they arrive on the wire, where `aud` may be a string or an array.
#[derive(Deserialize)]
struct WireClaims {
    sub: String,
    role: Role,
    #[serde(default)]
    unit_code: Option<String>,
    kind: PrincipalKind,
    iss: String,
    aud: WireAudience,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WireAudience {
    One(String),
    Many(Vec<String>),
}

/// Settings for [`TokenService::new`], usually filled from the environment.
#[derive(Clone)]
pub struct TokenSettings {
    pub algorithm: TokenAlgorithm,
    /// Raw bytes of `MOTCUA_JWT_SECRET` (HS256 only).
    pub hs256_secret: Option<Vec<u8>>,
    /// PEM contents of `MOTCUA_JWT_PUBLIC_KEY_FILE` (RS256 / EdDSA): SPKI `PUBLIC KEY`, or PKCS#1
    /// `RSA PUBLIC KEY` for RS256.
    pub public_key_pem: Option<Vec<u8>>,
    /// PEM contents of `MOTCUA_JWT_PRIVATE_KEY_FILE` (RS256 / EdDSA, optional): PKCS#8
    /// `PRIVATE KEY`, or PKCS#1 `RSA PRIVATE KEY` for RS256.
    pub private_key_pem: Option<Vec<u8>>,
    pub issuer: String,
    pub audience: String,
    /// Lifetime of issued tokens, whole seconds, at most [`MAX_TTL`].
    pub ttl: Duration,
    /// Clock-skew allowance for `exp` and `nbf`, at most [`MAX_LEEWAY_SECS`].
    pub leeway_secs: u64,
    /// `MOTCUA_DEV_MODE`: allows a missing or short HS256 secret, with a warning.
    pub dev_mode: bool,
}

impl Default for TokenSettings {
    /// HS256 without a secret (which [`TokenService::new`] refuses unless in dev mode), issuer and
    /// audience `motcua`, 15-minute tokens, 30 s leeway.
    fn default() -> Self {
        TokenSettings {
            algorithm: TokenAlgorithm::Hs256,
            hs256_secret: None,
            public_key_pem: None,
            private_key_pem: None,
            issuer: "motcua".to_owned(),
            audience: "motcua".to_owned(),
            ttl: Duration::from_secs(15 * 60),
            leeway_secs: DEFAULT_LEEWAY_SECS,
            dev_mode: false,
        }
    }
}

impl fmt::Debug for TokenSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |v: &Option<Vec<u8>>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("TokenSettings")
            .field("algorithm", &self.algorithm)
            .field("hs256_secret", &redacted(&self.hs256_secret))
            .field(
                "public_key_pem",
                &self.public_key_pem.as_ref().map(|_| "<set>"),
            )
            .field("private_key_pem", &redacted(&self.private_key_pem))
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .field("leeway_secs", &self.leeway_secs)
            .field("dev_mode", &self.dev_mode)
            .finish()
    }
}

/// Why the token settings cannot be used; each message names the environment variable to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenConfigError {
    #[error("unknown MOTCUA_JWT_ALGORITHM `{0}`: use HS256, RS256 or EdDSA")]
    UnknownAlgorithm(String),
    #[error(
        "MOTCUA_JWT_SECRET is not set: set it to at least 32 random bytes (e.g. the output of \
         `openssl rand -base64 48`), set MOTCUA_JWT_ALGORITHM=RS256 or EdDSA with \
         MOTCUA_JWT_PUBLIC_KEY_FILE, or set MOTCUA_DEV_MODE=true for a throw-away secret"
    )]
    MissingSecret,
    #[error(
        "MOTCUA_JWT_SECRET is {len} bytes long; HS256 needs at least 32 random bytes \
         (e.g. the output of `openssl rand -base64 48`)"
    )]
    SecretTooShort { len: usize },
    #[error(
        "MOTCUA_JWT_ALGORITHM={algorithm} needs the public key: set MOTCUA_JWT_PUBLIC_KEY_FILE \
         to a PEM file"
    )]
    MissingPublicKey { algorithm: TokenAlgorithm },
    #[error("MOTCUA_JWT_PUBLIC_KEY_FILE does not hold a usable {algorithm} public key: {reason}")]
    InvalidPublicKey {
        algorithm: TokenAlgorithm,
        reason: String,
    },
    #[error("MOTCUA_JWT_PRIVATE_KEY_FILE does not hold a usable {algorithm} private key: {reason}")]
    InvalidPrivateKey {
        algorithm: TokenAlgorithm,
        reason: String,
    },
    #[error(
        "MOTCUA_JWT_PRIVATE_KEY_FILE and MOTCUA_JWT_PUBLIC_KEY_FILE are not the two halves of one \
         key pair"
    )]
    KeyPairMismatch,
    #[error("MOTCUA_JWT_ISSUER must not be empty")]
    EmptyIssuer,
    #[error("MOTCUA_JWT_AUDIENCE must not be empty")]
    EmptyAudience,
    #[error("MOTCUA_JWT_TTL_SECONDS must be between 1 and {max} seconds (got {secs})", max = MAX_TTL.as_secs())]
    TtlOutOfRange { secs: u64 },
    #[error("the JWT leeway must be at most {MAX_LEEWAY_SECS} seconds (got {secs})")]
    LeewayTooLarge { secs: u64 },
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

/// Uses the configured HS256 secret, or in dev mode tolerates a short one or generates one.
fn hs256_secret_or_dev(
    secret: Option<Vec<u8>>,
    dev_mode: bool,
    warnings: &mut Vec<String>,
) -> Result<Vec<u8>, TokenConfigError> {
    match secret {
        Some(secret) if secret.len() >= MIN_HS256_SECRET_BYTES => Ok(secret),
        Some(secret) if dev_mode => {
            warnings.push(format!(
                "MOTCUA_JWT_SECRET is only {} bytes long; accepted because MOTCUA_DEV_MODE is on, \
                 but production needs at least {MIN_HS256_SECRET_BYTES}",
                secret.len()
            ));
            Ok(secret)
        }
        Some(secret) => Err(TokenConfigError::SecretTooShort { len: secret.len() }),
        None if dev_mode => {
            warnings.push(
                "MOTCUA_JWT_SECRET is not set: MOTCUA_DEV_MODE generated a random secret for this \
                 process; tokens stop working at restart and other instances reject them"
                    .to_owned(),
            );
            let mut secret = vec![0u8; DEV_SECRET_BYTES];
            rand::rng().fill_bytes(&mut secret);
            Ok(secret)
        }
        None => Err(TokenConfigError::MissingSecret),
    }
}

fn load_public_key(algorithm: TokenAlgorithm, pem: &[u8]) -> Result<DecodingKey, TokenConfigError> {
    let invalid = |reason: String| TokenConfigError::InvalidPublicKey { algorithm, reason };
    if pem
        .windows(b"PRIVATE KEY".len())
        .any(|w| w == b"PRIVATE KEY")
    {
        return Err(invalid(
            "it holds a private key; give only the public half (`openssl pkey -in KEY -pubout`)"
                .to_owned(),
        ));
    }
    let not_pem = |e: jsonwebtoken::errors::Error| invalid(format!("not a PEM public key ({e})"));
    match algorithm {
        TokenAlgorithm::Rs256 => {
            let key = DecodingKey::from_rsa_pem(pem).map_err(not_pem)?;
            let bits = key
                .try_get_as_bytes()
                .ok()
                .and_then(rsa_modulus_bits)
                .ok_or_else(|| invalid("not an RSA public key".to_owned()))?;
            if bits < MIN_RSA_BITS {
                return Err(invalid(format!(
                    "the RSA key has {bits} bits; at least {MIN_RSA_BITS} are required"
                )));
            }
            Ok(key)
        }
        TokenAlgorithm::EdDsa => {
            let key = DecodingKey::from_ed_pem(pem).map_err(not_pem)?;
            // Ed25519 public keys are exactly 32 bytes (Ed448 is not supported).
            match key.try_get_as_bytes() {
                Ok(bytes) if bytes.len() == 32 => Ok(key),
                _ => Err(invalid("not an Ed25519 public key".to_owned())),
            }
        }
        TokenAlgorithm::Hs256 => Err(invalid("HS256 uses no public key".to_owned())),
    }
}

fn load_private_key(
    algorithm: TokenAlgorithm,
    pem: &[u8],
) -> Result<EncodingKey, TokenConfigError> {
    let invalid = |e: jsonwebtoken::errors::Error| TokenConfigError::InvalidPrivateKey {
        algorithm,
        reason: format!("not a PEM private key ({e})"),
    };
    match algorithm {
        TokenAlgorithm::Rs256 => EncodingKey::from_rsa_pem(pem).map_err(invalid),
        TokenAlgorithm::EdDsa => EncodingKey::from_ed_pem(pem).map_err(invalid),
        TokenAlgorithm::Hs256 => Err(TokenConfigError::InvalidPrivateKey {
            algorithm,
            reason: "HS256 uses no private key".to_owned(),
        }),
    }
}

/// Signs a probe message with the private key and verifies it with the public key, so a broken or
/// mismatched pair fails at start-up rather than on the first login.
fn check_key_pair(
    algorithm: TokenAlgorithm,
    private: &EncodingKey,
    public: &DecodingKey,
) -> Result<(), TokenConfigError> {
    let probe = b"motcua key pair check";
    let signature = jsonwebtoken::crypto::sign(probe, private, algorithm.jwt()).map_err(|e| {
        TokenConfigError::InvalidPrivateKey {
            algorithm,
            reason: format!("cannot sign with it ({e})"),
        }
    })?;
    match jsonwebtoken::crypto::verify(&signature, probe, public, algorithm.jwt()) {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(TokenConfigError::KeyPairMismatch),
    }
}

/// Bit length of the modulus of a DER `RSAPublicKey ::= SEQUENCE { modulus INTEGER, ... }`.
fn rsa_modulus_bits(pkcs1_der: &[u8]) -> Option<usize> {
    let (sequence, _) = der_element(pkcs1_der, 0x30)?;
    let (modulus, rest) = der_element(sequence, 0x02)?;
    // The public exponent must follow, which also rejects an RSAPrivateKey's leading version.
    let (exponent, _) = der_element(rest, 0x02)?;
    if exponent.is_empty() {
        return None;
    }
    let significant = modulus
        .iter()
        .position(|&b| b != 0)
        .map(|start| &modulus[start..])?;
    let leading_zero_bits = significant.first()?.leading_zeros() as usize;
    Some(significant.len() * 8 - leading_zero_bits)
}

/// Splits one DER element with the expected tag off `input`: `(contents, rest)`.
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&actual_tag, rest) = input.split_first()?;
    if actual_tag != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (len_bytes, rest) = rest.split_at(count);
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest)
    };
    if rest.len() < len {
        return None;
    }
    Some(rest.split_at(len))
}

/// Reads the `alg` header without trusting anything else in the token.
fn header_algorithm(token: &str) -> Result<String, TokenError> {
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

fn map_decode_error(kind: &ErrorKind) -> TokenError {
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-test-only";
    const RS256_PRIVATE: &[u8] = include_bytes!("testdata/rs256_private.pem");
    const RS256_PUBLIC: &[u8] = include_bytes!("testdata/rs256_public.pem");
    const RS1024_PUBLIC: &[u8] = include_bytes!("testdata/rs1024_public.pem");
    const EDDSA_PRIVATE: &[u8] = include_bytes!("testdata/eddsa_private.pem");
    const EDDSA_PUBLIC: &[u8] = include_bytes!("testdata/eddsa_public.pem");
    const EDDSA_OTHER_PUBLIC: &[u8] = include_bytes!("testdata/eddsa_other_public.pem");

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 14, 8, 0, 0)
            .single()
            .expect("valid instant")
    }

    fn hs256_settings() -> TokenSettings {
        TokenSettings {
            hs256_secret: Some(SECRET.to_vec()),
            ..TokenSettings::default()
        }
    }

    fn hs256() -> TokenService {
        TokenService::new(hs256_settings()).expect("valid settings")
    }

    fn asymmetric(
        algorithm: TokenAlgorithm,
        public: &[u8],
        private: Option<&[u8]>,
    ) -> Result<TokenService, TokenConfigError> {
        TokenService::new(TokenSettings {
            algorithm,
            public_key_pem: Some(public.to_vec()),
            private_key_pem: private.map(<[u8]>::to_vec),
            ..TokenSettings::default()
        })
    }

    fn issue_specialist(service: &TokenService, now: DateTime<Utc>) -> IssuedToken {
        service
            .issue(
                "chuyenvien.a",
                Role::Specialist,
                Some("UBND-XA-A"),
                PrincipalKind::User,
                now,
            )
            .expect("issues")
    }

    /// Valid claims as JSON, for hand-built tokens.
    fn claims_json(now: DateTime<Utc>) -> serde_json::Value {
        json!({
            "sub": "cl_portal0000000", "role": "portal", "kind": "client",
            "iss": "motcua", "aud": "motcua",
            "iat": now.timestamp(), "nbf": now.timestamp(), "exp": now.timestamp() + 600,
            "jti": "8f9d2c1e-0000-4000-8000-000000000000",
        })
    }

    fn sign_hs256(claims: &serde_json::Value, secret: &[u8]) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(secret),
        )
        .expect("encodes")
    }

    fn b64(value: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("serializes"))
    }

    #[test]
    fn hs256_round_trip() {
        let service = hs256();
        assert!(service.warnings().is_empty(), "{:?}", service.warnings());
        assert!(service.can_issue());
        let issued = issue_specialist(&service, t0());
        assert_eq!(issued.expires_in, 900);
        assert_eq!(issued.claims.exp - issued.claims.iat, 900);
        assert_eq!(issued.claims.nbf, t0().timestamp());
        assert_eq!(issued.access_token.split('.').count(), 3);

        let claims = service
            .validate_at(&issued.access_token, t0())
            .expect("valid");
        assert_eq!(claims, issued.claims);
        assert_eq!(
            claims.principal(),
            Principal {
                subject: "chuyenvien.a".to_owned(),
                role: Role::Specialist,
                unit_code: Some("UBND-XA-A".to_owned()),
                kind: PrincipalKind::User,
            }
        );
        let header = jsonwebtoken::decode_header(&issued.access_token).expect("header");
        assert_eq!(header.alg, Algorithm::HS256);
    }

    #[test]
    fn each_token_has_a_unique_id() {
        let service = hs256();
        let a = issue_specialist(&service, t0());
        let b = issue_specialist(&service, t0());
        assert_ne!(a.claims.jti, b.claims.jti);
        assert_ne!(a.access_token, b.access_token);
    }

    #[test]
    fn expired_token_is_refused_after_the_leeway() {
        let service = hs256();
        let issued = issue_specialist(&service, t0());
        let exp = t0() + chrono::Duration::seconds(900);
        let within_leeway = exp + chrono::Duration::seconds(29);
        assert!(
            service
                .validate_at(&issued.access_token, within_leeway)
                .is_ok()
        );
        let past_leeway = exp + chrono::Duration::seconds(30);
        assert_eq!(
            service.validate_at(&issued.access_token, past_leeway),
            Err(TokenError::Expired)
        );
        // The real clock is long past 2025-03-14 08:15.
        assert_eq!(
            service.validate(&issued.access_token),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn token_from_the_future_is_not_yet_valid() {
        let service = hs256();
        let issued = issue_specialist(&service, t0() + chrono::Duration::minutes(5));
        assert_eq!(
            service.validate_at(&issued.access_token, t0()),
            Err(TokenError::NotYetValid)
        );
        // Clock skew within the leeway is tolerated.
        let skewed = t0() + chrono::Duration::minutes(5) - chrono::Duration::seconds(30);
        assert!(service.validate_at(&issued.access_token, skewed).is_ok());
    }

    #[test]
    fn wrong_audience_is_refused() {
        let other = TokenService::new(TokenSettings {
            audience: "another-service".to_owned(),
            ..hs256_settings()
        })
        .expect("valid settings");
        let token = issue_specialist(&other, t0()).access_token;
        assert_eq!(
            hs256().validate_at(&token, t0()),
            Err(TokenError::WrongAudience)
        );
    }

    #[test]
    fn array_audience_containing_ours_is_accepted() {
        let mut claims = claims_json(t0());
        claims["aud"] = json!(["account", "motcua"]);
        let token = sign_hs256(&claims, SECRET);
        let validated = hs256().validate_at(&token, t0()).expect("valid");
        assert_eq!(validated.aud, "motcua");

        claims["aud"] = json!(["account", "other"]);
        let token = sign_hs256(&claims, SECRET);
        assert_eq!(
            hs256().validate_at(&token, t0()),
            Err(TokenError::WrongAudience)
        );
    }

    #[test]
    fn wrong_issuer_is_refused() {
        let other = TokenService::new(TokenSettings {
            issuer: "someone-else".to_owned(),
            ..hs256_settings()
        })
        .expect("valid settings");
        let token = issue_specialist(&other, t0()).access_token;
        assert_eq!(
            hs256().validate_at(&token, t0()),
            Err(TokenError::WrongIssuer)
        );
    }

    #[test]
    fn tampered_payload_breaks_the_signature() {
        let service = hs256();
        let token = issue_specialist(&service, t0()).access_token;
        let parts: Vec<&str> = token.split('.').collect();
        let mut payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("base64"))
                .expect("json");
        payload["role"] = json!("admin");
        let forged = format!("{}.{}.{}", parts[0], b64(&payload), parts[2]);
        assert_eq!(
            service.validate_at(&forged, t0()),
            Err(TokenError::InvalidSignature)
        );
    }

    #[test]
    fn token_signed_with_another_secret_is_refused() {
        let token = sign_hs256(
            &claims_json(t0()),
            b"another secret of at least thirty-two bytes",
        );
        assert_eq!(
            hs256().validate_at(&token, t0()),
            Err(TokenError::InvalidSignature)
        );
    }

    #[test]
    fn unsigned_alg_none_token_is_refused() {
        let service = hs256();
        let payload = b64(&claims_json(t0()));
        for alg in ["none", "None", "NONE"] {
            let header = b64(&json!({"alg": alg, "typ": "JWT"}));
            for signature in ["", "c2lnbmF0dXJl"] {
                let token = format!("{header}.{payload}.{signature}");
                assert_eq!(
                    service.validate_at(&token, t0()),
                    Err(TokenError::WrongAlgorithm),
                    "alg {alg} with signature {signature:?}"
                );
            }
        }
    }

    #[test]
    fn hs256_token_is_refused_by_an_rs256_service() {
        let service = asymmetric(TokenAlgorithm::Rs256, RS256_PUBLIC, None).expect("valid");
        // The classic confusion attack: HMAC keyed with the (public) RSA key.
        for secret in [RS256_PUBLIC, SECRET] {
            let token = sign_hs256(&claims_json(t0()), secret);
            assert_eq!(
                service.validate_at(&token, t0()),
                Err(TokenError::WrongAlgorithm)
            );
        }
    }

    #[test]
    fn rs256_round_trip_and_validation_only_mode() {
        let issuer = asymmetric(TokenAlgorithm::Rs256, RS256_PUBLIC, Some(RS256_PRIVATE))
            .expect("valid key pair");
        assert!(issuer.can_issue());
        assert!(issuer.warnings().is_empty(), "{:?}", issuer.warnings());
        let issued = issue_specialist(&issuer, t0());
        assert_eq!(
            jsonwebtoken::decode_header(&issued.access_token)
                .expect("header")
                .alg,
            Algorithm::RS256
        );
        assert_eq!(
            issuer.validate_at(&issued.access_token, t0()),
            Ok(issued.claims.clone())
        );

        let validator = asymmetric(TokenAlgorithm::Rs256, RS256_PUBLIC, None).expect("valid");
        assert!(!validator.can_issue());
        assert!(
            validator
                .warnings()
                .iter()
                .any(|w| w.contains("MOTCUA_JWT_PRIVATE_KEY_FILE")),
            "{:?}",
            validator.warnings()
        );
        assert_eq!(
            validator.validate_at(&issued.access_token, t0()),
            Ok(issued.claims)
        );
        let refused = validator
            .issue("x", Role::Admin, None, PrincipalKind::User, t0())
            .expect_err("no private key");
        assert_eq!(refused, TokenError::IssuingDisabled);
        assert!(!refused.is_unauthorized());
    }

    #[test]
    fn eddsa_round_trip_and_algorithm_pinning() {
        let service = asymmetric(TokenAlgorithm::EdDsa, EDDSA_PUBLIC, Some(EDDSA_PRIVATE))
            .expect("valid key pair");
        let issued = service
            .issue(
                "cl_portal0000000",
                Role::Portal,
                None,
                PrincipalKind::Client,
                t0(),
            )
            .expect("issues");
        assert_eq!(
            jsonwebtoken::decode_header(&issued.access_token)
                .expect("header")
                .alg,
            Algorithm::EdDSA
        );
        let claims = service
            .validate_at(&issued.access_token, t0())
            .expect("valid");
        assert_eq!(claims.kind, PrincipalKind::Client);
        assert_eq!(claims.unit_code, None);

        // An EdDSA token is refused by an RS256 service and by an HS256 one.
        let rs256 = asymmetric(TokenAlgorithm::Rs256, RS256_PUBLIC, None).expect("valid");
        assert_eq!(
            rs256.validate_at(&issued.access_token, t0()),
            Err(TokenError::WrongAlgorithm)
        );
        assert_eq!(
            hs256().validate_at(&issued.access_token, t0()),
            Err(TokenError::WrongAlgorithm)
        );
        // The same algorithm with another key fails on the signature.
        let other_key = asymmetric(TokenAlgorithm::EdDsa, EDDSA_OTHER_PUBLIC, None).expect("valid");
        assert_eq!(
            other_key.validate_at(&issued.access_token, t0()),
            Err(TokenError::InvalidSignature)
        );
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let service = hs256();
        let long = "a".repeat(MAX_TOKEN_BYTES + 1);
        for token in [
            "",
            "abc",
            "a.b",
            "a.b.c.d",
            "!!!.???.###",
            "bm90IGpzb24.e30.c2ln",
            long.as_str(),
        ] {
            assert_eq!(
                service.validate_at(token, t0()),
                Err(TokenError::Malformed),
                "{token:.40}"
            );
        }
        // A header without `alg`.
        let token = format!(
            "{}.{}.sig",
            b64(&json!({"typ": "JWT"})),
            b64(&claims_json(t0()))
        );
        assert_eq!(
            service.validate_at(&token, t0()),
            Err(TokenError::Malformed)
        );
        // Correctly signed, but the payload is not base64 JSON: the signature passes, parsing fails.
        let signed_garbage = |payload: &str| {
            let message = format!("{}.{payload}", b64(&json!({"alg": "HS256", "typ": "JWT"})));
            let key = EncodingKey::from_secret(SECRET);
            let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256)
                .expect("signs");
            format!("{message}.{signature}")
        };
        for payload in ["not-base64!", "bm90IGpzb24", "W10"] {
            assert_eq!(
                service.validate_at(&signed_garbage(payload), t0()),
                Err(TokenError::Malformed),
                "payload {payload}"
            );
        }
        // An unsigned-looking forgery of the structure is a signature failure, not a parse one.
        let bad_signature = format!(
            "{}.{}.c2ln",
            b64(&json!({"alg": "HS256"})),
            b64(&claims_json(t0()))
        );
        assert_eq!(
            service.validate_at(&bad_signature, t0()),
            Err(TokenError::InvalidSignature)
        );
    }

    #[test]
    fn correctly_signed_token_missing_a_claim_is_malformed() {
        let service = hs256();
        for claim in [
            "sub", "role", "kind", "iss", "aud", "iat", "nbf", "exp", "jti",
        ] {
            let mut claims = claims_json(t0());
            claims.as_object_mut().expect("object").remove(claim);
            let token = sign_hs256(&claims, SECRET);
            assert_eq!(
                service.validate_at(&token, t0()),
                Err(TokenError::Malformed),
                "without {claim}"
            );
        }
        let mut claims = claims_json(t0());
        claims["role"] = json!("superuser");
        assert_eq!(
            service.validate_at(&sign_hs256(&claims, SECRET), t0()),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn short_or_missing_secret_is_refused_outside_dev_mode() {
        let short = TokenService::new(TokenSettings {
            hs256_secret: Some(b"too-short-secret".to_vec()),
            ..TokenSettings::default()
        })
        .expect_err("short secret");
        assert_eq!(short, TokenConfigError::SecretTooShort { len: 16 });
        assert!(short.to_string().contains("MOTCUA_JWT_SECRET"), "{short}");

        let missing = TokenService::new(TokenSettings::default()).expect_err("no secret");
        assert_eq!(missing, TokenConfigError::MissingSecret);
        let message = missing.to_string();
        assert!(message.contains("MOTCUA_JWT_SECRET"), "{message}");
        assert!(message.contains("MOTCUA_DEV_MODE"), "{message}");
    }

    #[test]
    fn dev_mode_tolerates_a_short_secret_and_generates_a_missing_one() {
        let short = TokenService::new(TokenSettings {
            hs256_secret: Some(b"dev".to_vec()),
            dev_mode: true,
            ..TokenSettings::default()
        })
        .expect("dev mode accepts");
        assert_eq!(short.warnings().len(), 1);
        assert!(short.warnings()[0].contains("only 3 bytes"));

        let generated = TokenService::new(TokenSettings {
            dev_mode: true,
            ..TokenSettings::default()
        })
        .expect("dev mode generates a secret");
        assert!(
            generated.warnings()[0].contains("generated a random secret"),
            "{:?}",
            generated.warnings()
        );
        let token = issue_specialist(&generated, t0()).access_token;
        assert!(generated.validate_at(&token, t0()).is_ok());
        // A second process gets another secret.
        let another = TokenService::new(TokenSettings {
            dev_mode: true,
            ..TokenSettings::default()
        })
        .expect("dev mode generates a secret");
        assert_eq!(
            another.validate_at(&token, t0()),
            Err(TokenError::InvalidSignature)
        );
    }

    #[test]
    fn asymmetric_algorithms_need_a_good_public_key() {
        for algorithm in [TokenAlgorithm::Rs256, TokenAlgorithm::EdDsa] {
            let missing = TokenService::new(TokenSettings {
                algorithm,
                hs256_secret: Some(SECRET.to_vec()),
                ..TokenSettings::default()
            })
            .expect_err("no public key");
            assert_eq!(missing, TokenConfigError::MissingPublicKey { algorithm });
            assert!(missing.to_string().contains("MOTCUA_JWT_PUBLIC_KEY_FILE"));
            assert!(missing.to_string().contains("MOTCUA_JWT_ALGORITHM"));
        }
        let cases: [(TokenAlgorithm, &[u8]); 6] = [
            (TokenAlgorithm::Rs256, b"not a pem"),
            (TokenAlgorithm::Rs256, EDDSA_PUBLIC),
            (TokenAlgorithm::Rs256, RS1024_PUBLIC),
            (TokenAlgorithm::Rs256, RS256_PRIVATE),
            (TokenAlgorithm::EdDsa, RS256_PUBLIC),
            (TokenAlgorithm::EdDsa, EDDSA_PRIVATE),
        ];
        for (algorithm, pem) in cases {
            let err = asymmetric(algorithm, pem, None).expect_err("unusable public key");
            assert!(
                matches!(err, TokenConfigError::InvalidPublicKey { .. }),
                "{algorithm}: {err}"
            );
            assert!(
                err.to_string().contains("MOTCUA_JWT_PUBLIC_KEY_FILE"),
                "{err}"
            );
        }
        let weak = asymmetric(TokenAlgorithm::Rs256, RS1024_PUBLIC, None).expect_err("weak");
        assert!(weak.to_string().contains("1024 bits"), "{weak}");
    }

    #[test]
    fn private_key_must_parse_and_match_the_public_key() {
        let mismatch = asymmetric(
            TokenAlgorithm::EdDsa,
            EDDSA_OTHER_PUBLIC,
            Some(EDDSA_PRIVATE),
        )
        .expect_err("not a pair");
        assert_eq!(mismatch, TokenConfigError::KeyPairMismatch);
        let message = mismatch.to_string();
        assert!(message.contains("MOTCUA_JWT_PRIVATE_KEY_FILE"), "{message}");
        assert!(message.contains("MOTCUA_JWT_PUBLIC_KEY_FILE"), "{message}");

        let garbage = asymmetric(TokenAlgorithm::EdDsa, EDDSA_PUBLIC, Some(b"garbage"))
            .expect_err("not a key");
        assert!(
            matches!(garbage, TokenConfigError::InvalidPrivateKey { .. }),
            "{garbage}"
        );
        assert!(garbage.to_string().contains("MOTCUA_JWT_PRIVATE_KEY_FILE"));
    }

    #[test]
    fn algorithm_names_parse_and_unknown_ones_name_the_variable() {
        assert_eq!("HS256".parse(), Ok(TokenAlgorithm::Hs256));
        assert_eq!("rs256".parse(), Ok(TokenAlgorithm::Rs256));
        assert_eq!(" EdDSA ".parse(), Ok(TokenAlgorithm::EdDsa));
        let err = "ES256".parse::<TokenAlgorithm>().expect_err("unsupported");
        assert!(err.to_string().contains("MOTCUA_JWT_ALGORITHM"), "{err}");
        for alg in [
            TokenAlgorithm::Hs256,
            TokenAlgorithm::Rs256,
            TokenAlgorithm::EdDsa,
        ] {
            assert_eq!(alg.to_string().parse(), Ok(alg));
        }
    }

    #[test]
    fn settings_out_of_range_are_refused() {
        let with = |f: fn(&mut TokenSettings)| {
            let mut settings = hs256_settings();
            f(&mut settings);
            TokenService::new(settings).expect_err("refused")
        };
        assert_eq!(
            with(|s| s.ttl = Duration::ZERO),
            TokenConfigError::TtlOutOfRange { secs: 0 }
        );
        assert_eq!(
            with(|s| s.ttl = MAX_TTL + Duration::from_secs(1)),
            TokenConfigError::TtlOutOfRange { secs: 86_401 }
        );
        assert_eq!(
            with(|s| s.leeway_secs = 301),
            TokenConfigError::LeewayTooLarge { secs: 301 }
        );
        assert_eq!(
            with(|s| s.issuer = " ".to_owned()),
            TokenConfigError::EmptyIssuer
        );
        assert_eq!(
            with(|s| s.audience = String::new()),
            TokenConfigError::EmptyAudience
        );
    }

    #[test]
    fn errors_have_distinct_codes_and_safe_details() {
        let errors = [
            TokenError::Expired,
            TokenError::InvalidSignature,
            TokenError::WrongAudience,
            TokenError::WrongIssuer,
            TokenError::NotYetValid,
            TokenError::WrongAlgorithm,
            TokenError::Malformed,
        ];
        let codes: std::collections::HashSet<_> = errors.iter().map(TokenError::code).collect();
        assert_eq!(codes.len(), errors.len());
        for error in &errors {
            assert!(error.is_unauthorized());
            let detail = error.to_string();
            assert!(detail.starts_with("the access token"), "{detail}");
            assert!(detail.len() < 80, "{detail}");
        }
        let signing = TokenError::Signing {
            reason: "internal key detail".to_owned(),
        };
        assert!(!signing.to_string().contains("internal key detail"));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let settings = TokenSettings {
            private_key_pem: Some(EDDSA_PRIVATE.to_vec()),
            ..hs256_settings()
        };
        let debug = format!("{settings:?}");
        assert!(!debug.contains("0123456789abcdef"), "{debug}");
        assert!(!debug.contains("PRIVATE KEY"), "{debug}");
        let issued = issue_specialist(&hs256(), t0());
        assert!(!format!("{issued:?}").contains(&issued.access_token));
    }

    #[test]
    fn rsa_modulus_length_is_read_from_der() {
        let bits_of = |pem: &[u8]| {
            DecodingKey::from_rsa_pem(pem)
                .ok()
                .and_then(|k| k.try_get_as_bytes().ok().and_then(rsa_modulus_bits))
        };
        assert_eq!(bits_of(RS256_PUBLIC), Some(2048));
        assert_eq!(bits_of(RS1024_PUBLIC), Some(1024));
        assert_eq!(rsa_modulus_bits(&[]), None);
        assert_eq!(rsa_modulus_bits(&[0x30, 0x82, 0xff]), None);
        assert_eq!(rsa_modulus_bits(&[0x30, 0x03, 0x02, 0x01, 0x05]), None);
        // SEQUENCE { INTEGER 0x00ff, INTEGER 3 }: leading zero octet skipped, 8 bits.
        assert_eq!(
            rsa_modulus_bits(&[0x30, 0x07, 0x02, 0x02, 0x00, 0xff, 0x02, 0x01, 0x03]),
            Some(8)
        );
    }
}
