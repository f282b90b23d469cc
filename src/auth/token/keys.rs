//! The deployment's signing algorithm and keys: settings, their checks at start-up, and the key
//! loading (PEM parsing, RSA strength, key-pair match).

use std::{fmt, str::FromStr, time::Duration};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use rand::Rng as _;

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

    pub(super) const fn jwt(self) -> Algorithm {
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

/// Uses the configured HS256 secret, or in dev mode tolerates a short one or generates one.
pub(super) fn hs256_secret_or_dev(
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

pub(super) fn load_public_key(
    algorithm: TokenAlgorithm,
    pem: &[u8],
) -> Result<DecodingKey, TokenConfigError> {
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

pub(super) fn load_private_key(
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
pub(super) fn check_key_pair(
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
pub(super) fn rsa_modulus_bits(pkcs1_der: &[u8]) -> Option<usize> {
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
