//! Issuing and validating tokens with each algorithm, and refusing bad settings, keys and tokens.

use std::time::Duration;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::TimeZone;
use jsonwebtoken::Algorithm;
use serde_json::json;

use super::{keys::rsa_modulus_bits, *};

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

/// What the HS256 service makes of `claims` signed with `secret`.
fn validate_signed(claims: &serde_json::Value, secret: &[u8]) -> Result<Claims, TokenError> {
    hs256().validate_at(&sign_hs256(claims, secret), t0())
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
            scope: crate::domain::agency::AgencyScope::Nothing,
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
fn a_token_for_another_audience_or_from_another_issuer_is_refused() {
    let cases = [
        (
            "another audience",
            TokenSettings {
                audience: "another-service".to_owned(),
                ..hs256_settings()
            },
            TokenError::WrongAudience,
        ),
        (
            "another issuer",
            TokenSettings {
                issuer: "someone-else".to_owned(),
                ..hs256_settings()
            },
            TokenError::WrongIssuer,
        ),
    ];
    for (case, settings, expected) in cases {
        let other = TokenService::new(settings).expect("valid settings");
        let token = issue_specialist(&other, t0()).access_token;
        assert_eq!(hs256().validate_at(&token, t0()), Err(expected), "{case}");
    }
}

#[test]
fn array_audience_containing_ours_is_accepted() {
    let mut claims = claims_json(t0());
    claims["aud"] = json!(["account", "motcua"]);
    let validated = validate_signed(&claims, SECRET).expect("valid");
    assert_eq!(validated.aud, "motcua");

    claims["aud"] = json!(["account", "other"]);
    assert_eq!(
        validate_signed(&claims, SECRET),
        Err(TokenError::WrongAudience)
    );
}

#[test]
fn tampered_payload_breaks_the_signature() {
    let service = hs256();
    let token = issue_specialist(&service, t0()).access_token;
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("base64")).expect("json");
    payload["role"] = json!("admin");
    let forged = format!("{}.{}.{}", parts[0], b64(&payload), parts[2]);
    assert_eq!(
        service.validate_at(&forged, t0()),
        Err(TokenError::InvalidSignature)
    );
}

#[test]
fn token_signed_with_another_secret_is_refused() {
    assert_eq!(
        validate_signed(
            &claims_json(t0()),
            b"another secret of at least thirty-two bytes"
        ),
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
    // Hand-built tokens. Correctly signed, but with a payload that is not base64 JSON: the
    // signature passes, parsing fails. An unsigned-looking forgery of the structure is a signature
    // failure, not a parse one.
    let claims = b64(&claims_json(t0()));
    let signed_garbage = |payload: &str| {
        let message = format!("{}.{payload}", b64(&json!({"alg": "HS256", "typ": "JWT"})));
        let key = EncodingKey::from_secret(SECRET);
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256).expect("signs");
        format!("{message}.{signature}")
    };
    let cases = [
        (
            "header without alg",
            format!("{}.{claims}.sig", b64(&json!({"typ": "JWT"}))),
            TokenError::Malformed,
        ),
        (
            "payload not-base64!",
            signed_garbage("not-base64!"),
            TokenError::Malformed,
        ),
        (
            "payload bm90IGpzb24",
            signed_garbage("bm90IGpzb24"),
            TokenError::Malformed,
        ),
        ("payload W10", signed_garbage("W10"), TokenError::Malformed),
        (
            "forged signature",
            format!("{}.{claims}.c2ln", b64(&json!({"alg": "HS256"}))),
            TokenError::InvalidSignature,
        ),
    ];
    for (case, token, expected) in cases {
        assert_eq!(service.validate_at(&token, t0()), Err(expected), "{case}");
    }
}

#[test]
fn correctly_signed_token_missing_a_claim_is_malformed() {
    for claim in [
        "sub", "role", "kind", "iss", "aud", "iat", "nbf", "exp", "jti",
    ] {
        let mut claims = claims_json(t0());
        claims.as_object_mut().expect("object").remove(claim);
        assert_eq!(
            validate_signed(&claims, SECRET),
            Err(TokenError::Malformed),
            "without {claim}"
        );
    }
    let mut claims = claims_json(t0());
    claims["role"] = json!("superuser");
    assert_eq!(validate_signed(&claims, SECRET), Err(TokenError::Malformed));
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

    let garbage =
        asymmetric(TokenAlgorithm::EdDsa, EDDSA_PUBLIC, Some(b"garbage")).expect_err("not a key");
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
