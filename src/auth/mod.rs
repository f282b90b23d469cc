//! Authentication and authorisation core: pure logic, no HTTP and no SQL.
//!
//! - [`password`]: Argon2id password hashing and machine-client credentials.
//! - [`token`]: JWT issuing and validation (HS256, RS256 or EdDSA).
//! - [`policy`]: who may do what; the single source of the role rules.
//! - [`rate_limit`]: in-process request rate limiting.
//! - [`lockout`]: how failed logins slow down further attempts (the state is stored by `store`).
//! - [`secret_strength`]: refusing placeholder or weak token secrets.

pub mod lockout;
pub mod password;
pub mod policy;
pub mod rate_limit;
pub mod secret_strength;
pub mod token;
