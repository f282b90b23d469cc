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
        if inner.is_data() {
            let field = if path == "." { "body".to_owned() } else { path };
            ApiError::Validation(vec![FieldError::new(field, inner.to_string())])
        } else {
            ApiError::BadRequest(format!("malformed JSON: {inner}"))
        }
    })?;
    de.end()
        .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
    Ok(value)
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
