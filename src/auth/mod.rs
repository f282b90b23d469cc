//! Authentication and authorisation core: pure logic, no HTTP and no SQL.
//!
//! - [`password`]: Argon2id password hashing and machine-client credentials.
//! - [`token`]: JWT issuing and validation (HS256, RS256 or EdDSA).
//! - [`policy`]: who may do what; the single source of the role rules.
//! - [`rate_limit`]: in-process request rate limiting and login lockout.

pub mod password;
pub mod policy;
pub mod rate_limit;
pub mod token;
