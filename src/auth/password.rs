//! Password and client-secret handling: Argon2id hashing in PHC strings, verification, and
//! generation of machine-client credentials.
//!
//! Hashes use the `argon2` crate's defaults (Argon2id v19, m = 19 MiB, t = 2, p = 1), which are the
//! OWASP minimum recommendation, so a stored hash carries its own parameters and can be upgraded later
//! with [`needs_rehash`]. Client secrets are stored with the same [`hash_password`] and are shown to
//! the administrator only once.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use rand::distr::{Alphanumeric, SampleString};

/// Shortest password accepted for a local account, in characters (not bytes, so Vietnamese
/// diacritics count once).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted: long enough for any passphrase, short enough to bound hashing work.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Random bytes in a generated client secret (256 bits).
pub const CLIENT_SECRET_BYTES: usize = 32;
/// Prefix of generated client ids, so they are recognisable in logs and configuration.
pub const CLIENT_ID_PREFIX: &str = "cl_";
/// Random characters after [`CLIENT_ID_PREFIX`].
pub const CLIENT_ID_RANDOM_CHARS: usize = 16;

/// Upper bounds on the cost parameters read back from a stored hash. A corrupted or hostile row
/// asking for gigabytes of memory is refused instead of being allowed to exhaust the process.
const MAX_VERIFY_M_COST_KIB: u32 = 1024 * 1024;
const MAX_VERIFY_T_COST: u32 = 64;
const MAX_VERIFY_P_COST: u32 = 64;

/// Hashing failed. With the fixed default parameters this happens only if the platform's random
/// source or allocator fails; callers map it to a 500.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("could not hash the password: {0}")]
    Hash(String),
}

/// The hasher every new hash uses: Argon2id, version 0x13, default (OWASP-level) parameters.
fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Hashes `plain` with Argon2id and a fresh random 128-bit salt, returning a PHC string such as
/// `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
pub fn hash_password(plain: &str) -> Result<String, PasswordError> {
    let mut salt_bytes = [0u8; argon2::password_hash::Salt::RECOMMENDED_LENGTH];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| PasswordError::Hash(e.to_string()))?;
    hasher()
        .hash_password(plain.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Checks `candidate` against a stored PHC string, comparing in constant time (inside the
/// `password-hash` crate). Returns `false` for a wrong password, for a malformed or non-Argon2 hash,
/// and for a hash whose cost parameters exceed sane bounds; it never panics.
pub fn verify_password(phc: &str, candidate: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if params.m_cost() > MAX_VERIFY_M_COST_KIB
        || params.t_cost() > MAX_VERIFY_T_COST
        || params.p_cost() > MAX_VERIFY_P_COST
    {
        return false;
    }
    // `verify_password` takes algorithm, version and parameters from the stored hash itself.
    Argon2::default()
        .verify_password(candidate.as_bytes(), &parsed)
        .is_ok()
}

/// A hash of a random password, computed once, to verify against when the account does not exist.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    hash_password(&URL_SAFE_NO_PAD.encode(bytes)).ok()
});

/// Spends the same time as a real [`verify_password`] and always returns `false`.
///
/// Call it when the username or client id is unknown (or the account is inactive), so the response
/// time of `POST /auth/token` does not reveal which accounts exist.
pub fn verify_against_dummy(candidate: &str) -> bool {
    if let Some(hash) = DUMMY_HASH.as_deref() {
        // The result is irrelevant: the password of the dummy hash was never stored anywhere.
        let _ = verify_password(hash, candidate);
    }
    false
}

/// True when a stored hash is valid but was made with another algorithm, version or parameters than
/// [`hash_password`] uses now: re-hash the password after the next successful login.
/// A malformed hash also returns `true`.
pub fn needs_rehash(phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return true;
    };
    let current = Params::default();
    let same_params = Params::try_from(&parsed).is_ok_and(|p| {
        p.m_cost() == current.m_cost()
            && p.t_cost() == current.t_cost()
            && p.p_cost() == current.p_cost()
    });
    let same_algorithm = parsed.algorithm == Algorithm::Argon2id.ident();
    let same_version = parsed.version == Some(Version::V0x13.into());
    !(same_params && same_algorithm && same_version)
}

/// A new machine-client secret: 32 random bytes (256 bits) as unpadded base64url, 43 characters
/// that are safe in headers, URLs and JSON without escaping.
pub fn generate_client_secret() -> String {
    let mut bytes = [0u8; CLIENT_SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new machine-client id: `cl_` followed by 16 lowercase letters and digits (about 82 bits),
/// readable aloud and case-insensitive-safe. Ids are identifiers, not secrets.
pub fn generate_client_id() -> String {
    let random = Alphanumeric
        .sample_string(&mut rand::rng(), CLIENT_ID_RANDOM_CHARS)
        .to_ascii_lowercase();
    format!("{CLIENT_ID_PREFIX}{random}")
}

/// Checks the rules for a new local-account password. The error is a sentence suitable for the
/// `errors` entry of a 422 problem (it never echoes the password).
///
/// Rules: at least [`MIN_PASSWORD_CHARS`] characters, at most [`MAX_PASSWORD_CHARS`], and not only
/// whitespace. Length is what makes a password strong; no composition rules are imposed (NIST
/// SP 800-63B), so a passphrase of several words is the easiest good choice.
pub fn validate_password_strength(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!(
            "password must be at least {MIN_PASSWORD_CHARS} characters long (it has {chars}); \
             a passphrase of several words is easy to remember and hard to guess"
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(format!(
            "password must be at most {MAX_PASSWORD_CHARS} characters long (it has {chars})"
        ));
    }
    if password.chars().all(char::is_whitespace) {
        return Err("password must not consist only of whitespace".to_owned());
    }
    // A single repeated character ("aaaaaaaaaaaa") passes the length rule but is trivially guessed.
    let mut distinct = password.chars();
    if let Some(first) = distinct.next()
        && distinct.all(|c| c == first)
    {
        return Err("password must not repeat a single character".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_phc_with_default_params_and_verifies() {
        let hash = hash_password("correct horse battery staple").expect("hashing works");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password(&hash, "correct horse battery staple"));
        assert!(!verify_password(&hash, "correct horse battery stapl"));
        assert!(!verify_password(&hash, ""));
        assert!(!needs_rehash(&hash));
    }

    #[test]
    fn same_password_gets_a_different_salt_each_time() {
        let a = hash_password("mật khẩu rất dài").expect("hashing works");
        let b = hash_password("mật khẩu rất dài").expect("hashing works");
        assert_ne!(a, b);
        assert!(verify_password(&a, "mật khẩu rất dài"));
        assert!(verify_password(&b, "mật khẩu rất dài"));
    }

    #[test]
    fn malformed_or_foreign_hashes_are_rejected_without_panicking() {
        for phc in [
            "",
            "not a hash",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$",
            "$argon2id$v=19$m=0,t=0,p=0$c2FsdHNhbHRzYWx0$aGFzaA",
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
            "$pbkdf2-sha256$29000$N2bMOSegtPsY$5W4rZ6Y5sJ4W2rHbsrI5H3Iq0Y9pm7uUwUvV0fSboQM",
        ] {
            assert!(!verify_password(phc, "anything"), "{phc:?} verified");
            assert!(needs_rehash(phc), "{phc:?} should need a rehash");
        }
    }

    #[test]
    fn hash_with_absurd_memory_cost_is_refused_before_hashing() {
        // Valid syntax, but m = 4 TiB: verifying it would abort the process on allocation.
        let phc = "$argon2id$v=19$m=4294967295,t=2,p=1$c2FsdHNhbHRzYWx0$\
                   aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
        assert!(!verify_password(phc, "anything"));
    }

    #[test]
    fn hash_with_other_parameters_verifies_but_needs_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).expect("valid params"),
        );
        let salt = SaltString::encode_b64(b"0123456789abcdef").expect("valid salt");
        let phc = weak
            .hash_password(b"an older password", &salt)
            .expect("hashing works")
            .to_string();
        assert!(verify_password(&phc, "an older password"));
        assert!(needs_rehash(&phc));
    }

    #[test]
    fn dummy_verification_is_always_false() {
        assert!(!verify_against_dummy("anything at all"));
        assert!(!verify_against_dummy(""));
    }

    #[test]
    fn client_secret_is_unpadded_base64url_of_32_random_bytes() {
        let secret = generate_client_secret();
        assert_eq!(secret.len(), 43);
        assert!(!secret.contains('='));
        let decoded = URL_SAFE_NO_PAD.decode(&secret).expect("valid base64url");
        assert_eq!(decoded.len(), CLIENT_SECRET_BYTES);
        assert_ne!(generate_client_secret(), secret);
    }

    #[test]
    fn client_id_is_prefixed_lowercase_alphanumeric() {
        let id = generate_client_id();
        let random = id.strip_prefix(CLIENT_ID_PREFIX).expect("has the prefix");
        assert_eq!(random.len(), CLIENT_ID_RANDOM_CHARS);
        assert!(
            random
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
            "{id}"
        );
        assert_ne!(generate_client_id(), id);
    }

    #[test]
    fn password_strength_rules() {
        assert!(validate_password_strength("mười hai ký").is_err()); // 11 characters
        assert!(validate_password_strength("mười hai ký!").is_ok()); // 12 characters, more bytes
        let short = validate_password_strength("Zq9wX").expect_err("too short");
        assert!(short.contains("at least 12"), "{short}");
        assert!(short.contains("it has 5"), "{short}");
        assert!(
            !short.contains("Zq9wX"),
            "must not echo the password: {short}"
        );
        assert!(validate_password_strength(&"x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
        assert!(validate_password_strength(&" ".repeat(20)).is_err());
        assert!(validate_password_strength(&"a".repeat(20)).is_err());
        assert!(validate_password_strength("correct horse battery staple").is_ok());
    }
}
