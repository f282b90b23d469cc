//! Request extractors with precise, problem-shaped errors.

use std::{future::Future, pin::Pin};

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use serde::de::DeserializeOwned;

use super::error::{ApiError, FieldError};

/// A JSON body. Unlike `web::Json` it names the offending field of a well-formed but invalid body
/// (422 with `errors[].field`), and keeps 400 for malformed JSON, 415 for a non-JSON content type and
/// 413 (from the payload limit) for an oversized body.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

pub fn is_json_content_type(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| {
            m.type_() == mime::APPLICATION
                && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
        })
}

/// A query string. Unlike `web::Query` it names the parameter that did not parse (400, with the
/// expected format of a date or an instant).
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T> ApiQuery<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for ApiQuery<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// Deserialises a query string, naming the parameter at fault.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let mut message = err.into_inner().to_string();
        if is_instant_error(&message) {
            message = format!("{message}; {QUERY_DATE_EXPECTED}");
        }
        ApiError::BadRequest(if path == "." {
            format!("invalid query string: {message}")
        } else {
            format!("invalid query parameter `{path}`: {message}")
        })
    })
}

const QUERY_DATE_EXPECTED: &str = "expected a local date such as 2025-03-03 or, for an instant, \
RFC 3339 with its offset such as 2025-03-03T08:30:00+07:00 (`+` written as %2B)";

impl<T: DeserializeOwned + 'static> FromRequest for ApiQuery<T> {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        std::future::ready(
            parse_query(req.query_string())
                .map(ApiQuery)
                .map_err(Into::into),
        )
    }
}

/// For JSON merge patches: tells an absent field (`None`, with `#[serde(default)]`) from an explicit
/// `null` (`Some(None)`).
pub fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// Deserialises `bytes`, reporting the JSON path of the first invalid value. Control characters
/// (other than tab and line feed) in any string of the body are refused first, each field named.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    refuse_control_characters(bytes)?;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if !inner.is_data() {
            return ApiError::BadRequest(format!("malformed JSON: {inner}"));
        }
        let message = inner.to_string();
        if is_instant_error(&message) {
            // A tagged or flattened body (an action) loses the path; its instants are found again.
            let fields = if path == "." {
                unreadable_instants(bytes)
            } else {
                vec![path.clone()]
            };
            if !fields.is_empty() {
                return ApiError::Validation(
                    fields
                        .into_iter()
                        .map(|field| FieldError::new(field, INSTANT_EXPECTED))
                        .collect(),
                );
            }
        }
        let field = if path == "." { "body".to_owned() } else { path };
        ApiError::Validation(vec![FieldError::new(field, message)])
    })?;
    de.end()
        .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
    Ok(value)
}

const INSTANT_EXPECTED: &str =
    "expected an RFC 3339 date and time with its offset, e.g. 2025-03-03T08:30:00+07:00";

/// Whether serde's message is chrono's, about an instant that did not parse.
fn is_instant_error(message: &str) -> bool {
    [
        "input contains invalid characters",
        "premature end of input",
        "input is out of range",
        "trailing input",
        "input is not enough for unique date and time",
        "no possible date and time matching input",
    ]
    .iter()
    .any(|m| message.starts_with(m))
}

/// The top-level fields of a body that name an instant (`at`, `…_at`) and do not hold one.
fn unreadable_instants(bytes: &[u8]) -> Vec<String> {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice(bytes) else {
        return Vec::new();
    };
    fields
        .iter()
        .filter(|(key, _)| *key == "at" || key.ends_with("_at"))
        .filter(|(_, value)| {
            value
                .as_str()
                .is_some_and(|text| chrono::DateTime::parse_from_rfc3339(text).is_err())
        })
        .map(|(key, _)| key.clone())
        .collect()
}

/// 422 for a body that is not a JSON object, and naming every string of a JSON body that holds a
/// control character (see `domain::text`).
/// Malformed JSON is left to the typed parse, which reports it.
fn refuse_control_characters(bytes: &[u8]) -> Result<(), ApiError> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Ok(());
    };
    // Every request body of the contract is an object; serde would also fill a struct from an
    // array of its fields in order, which the contract does not allow.
    if !value.is_object() {
        return Err(ApiError::Validation(vec![FieldError::new(
            "body",
            "must be a JSON object",
        )]));
    }
    let found = crate::domain::text::forbidden_in_json(&value, "body");
    if found.is_empty() {
        return Ok(());
    }
    Err(ApiError::Validation(
        found
            .into_iter()
            .map(|(field, message)| FieldError::new(field, message))
            .collect(),
    ))
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json_content_type(req);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !json {
                return Err(ApiError::UnsupportedMediaType(
                    "send the body as application/json".to_owned(),
                )
                .into());
            }
            let bytes = body.await?;
            Ok(ApiJson(parse_json(&bytes)?))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    #[test]
    fn wrong_type_names_the_field() {
        match parse_json::<Outer>(br#"{"inner": {"count": "x"}}"#) {
            Err(ApiError::Validation(errors)) => assert_eq!(errors[0].field, "inner.count"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn control_characters_are_refused_with_their_field() {
        match parse_json::<Outer>(b"{\"inner\": {\"count\": 1}, \"x\": \"a\\u0000\"}") {
            Err(ApiError::Validation(errors)) => assert_eq!(errors[0].field, "x"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn syntax_error_is_malformed() {
        assert!(matches!(
            parse_json::<Outer>(b"{\"inner\": "),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse_json::<Outer>(br#"{"inner": {"count": 1}} trailing"#),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    enum Tagged {
        Meeting {
            at: chrono::DateTime<chrono::FixedOffset>,
        },
    }

    #[test]
    fn an_unreadable_instant_is_named_with_the_expected_format() {
        for (body, field) in [
            (&br#"{"kind": "meeting", "at": ""}"#[..], "at"),
            (
                br#"{"kind": "meeting", "at": "2025-02-30T08:00:00+07:00"}"#,
                "at",
            ),
            (br#"{"kind": "meeting", "at": "2025-03-03 08:00"}"#, "at"),
        ] {
            match parse_json::<Tagged>(body) {
                Err(ApiError::Validation(errors)) => {
                    assert_eq!(errors[0].field, field);
                    assert!(errors[0].message.contains("2025-03-03T08:30:00+07:00"));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Period {
        from: chrono::NaiveDate,
        to: Option<chrono::NaiveDate>,
        limit: Option<u32>,
    }

    #[test]
    fn a_bad_query_parameter_is_named() {
        for (query, name) in [
            ("from=2025-02-30", "`from`"),
            ("from=2025-02-01&to=02/03/2025", "`to`"),
            ("from=2025-02-01&limit=many", "`limit`"),
        ] {
            match parse_query::<Period>(query) {
                Err(ApiError::BadRequest(detail)) => assert!(detail.contains(name), "{detail}"),
                other => panic!("unexpected {other:?}"),
            }
        }
        match parse_query::<Period>("from=2025-02-30") {
            Err(ApiError::BadRequest(detail)) => assert!(detail.contains("2025-03-03"), "{detail}"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(parse_query::<Period>("from=2025-02-28&limit=5").is_ok());
    }

    #[test]
    fn a_body_that_is_not_an_object_is_refused() {
        for body in [&b"[null, null]"[..], b"[{\"count\": 1}]", b"1", b"null"] {
            match parse_json::<Inner>(body) {
                Err(ApiError::Validation(errors)) => assert_eq!(errors[0].field, "body"),
                other => panic!("{other:?}"),
            }
        }
    }
}
