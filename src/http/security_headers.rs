//! Response headers that every answer carries: no MIME sniffing, no framing, no caching of
//! anything a credential or a lookup secret unlocked, a bearer challenge on every 401, and a
//! Content-Security-Policy (a strict one for the API, one that lets Swagger UI run on `/docs`).

use actix_web::{
    Error,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::{
        StatusCode,
        header::{self, HeaderMap, HeaderName, HeaderValue},
    },
    middleware::Next,
};

use super::error::bearer_challenge;

/// For JSON and problem documents: nothing may be loaded, run or framed.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; \
                           form-action 'none'";

/// For Swagger UI (`/docs/`): its scripts, styles and fonts come from this origin only (the page
/// and `swagger-initializer.js` are served from the binary), it fetches `/openapi.json` and calls the
/// API from this origin, and draws a few icons as `data:` images. No inline script, no `eval`, no
/// third-party host. The one inline style the bundled Swagger UI (5.32.6) inserts is allowed by its
/// hash; a headless browser showed no other violation.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; \
                            style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; \
                            img-src 'self' data:; font-src 'self'; connect-src 'self'; \
                            frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const CONTENT_SECURITY_POLICY: HeaderName = HeaderName::from_static("content-security-policy");
const NOSNIFF: HeaderName = HeaderName::from_static("x-content-type-options");
const FRAME_OPTIONS: HeaderName = HeaderName::from_static("x-frame-options");
const REFERRER_POLICY: HeaderName = HeaderName::from_static("referrer-policy");

/// Whether a response must not be stored by any cache: it answered a request that carried a
/// credential, or it is part of the API (the applicant's lookup carries its secret in the URL).
fn must_not_be_stored(path: &str, request_headers: &HeaderMap) -> bool {
    request_headers.contains_key(header::AUTHORIZATION) || path.starts_with("/api/")
}

/// The middleware; see the module documentation.
pub async fn apply(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, Error> {
    let path = req.path().to_owned();
    let no_store = must_not_be_stored(&path, req.headers());
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    headers.insert(NOSNIFF, HeaderValue::from_static("nosniff"));
    headers.insert(FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    let csp = if path == "/docs" || path.starts_with("/docs/") {
        DOCS_CSP
    } else {
        API_CSP
    };
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    if no_store {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if response.status() == StatusCode::UNAUTHORIZED {
        let headers = response.headers_mut();
        if !headers.contains_key(header::WWW_AUTHENTICATE) {
            headers.insert(header::WWW_AUTHENTICATE, bearer_challenge(None));
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_and_credentialed_responses_are_not_stored() {
        let mut with_token = HeaderMap::new();
        with_token.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert!(must_not_be_stored("/metrics", &with_token));
        assert!(must_not_be_stored(
            "/api/v1/public/dossiers/X",
            &HeaderMap::new()
        ));
        assert!(!must_not_be_stored(
            "/docs/swagger-ui.css",
            &HeaderMap::new()
        ));
    }
}
