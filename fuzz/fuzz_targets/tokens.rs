//! Bearer tokens: validation must refuse anything not signed by the service, never panic.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use motcua::auth::token::{TokenService, TokenSettings};

static SERVICE: LazyLock<TokenService> = LazyLock::new(|| {
    TokenService::new(TokenSettings {
        hs256_secret: Some(b"fuzzing-secret-0123456789abcdefghij".to_vec()),
        ..TokenSettings::default()
    })
    .expect("valid settings")
});

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        assert!(SERVICE.validate(token).is_err(), "an unsigned input was accepted");
    }
});
