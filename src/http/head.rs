//! `HEAD` on every GET route (RFC 9110 §9.3.2): the request is routed as a GET, so the status and
//! headers are the GET's own, and the body is dropped while its length is still announced.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use actix_web::{
    Error,
    body::{BodySize, BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{
        Method, StatusCode,
        header::{self, HeaderValue},
    },
    middleware::Next,
    web::Bytes,
};

/// A body that reports the size of the body it replaces but yields nothing: the server then
/// writes the GET's `Content-Length` (or its transfer coding) and no content.
struct Withheld(BodySize);

impl MessageBody for Withheld {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        self.0
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(None)
    }
}

/// The middleware; see the module documentation. Routes without GET still answer 405, and the
/// `Allow` of a route with GET names HEAD too.
pub async fn serve_head(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let is_head = req.method() == Method::HEAD;
    if is_head {
        req.head_mut().method = Method::GET;
    }
    let mut response = next.call(req).await?.map_into_boxed_body();
    if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        advertise_head(response.headers_mut());
    }
    if !is_head {
        return Ok(response);
    }
    Ok(response.map_body(|_, body| BoxBody::new(Withheld(body.size()))))
}

/// Adds HEAD to an `Allow` that names GET.
fn advertise_head(headers: &mut header::HeaderMap) {
    let Some(allow) = headers.get(header::ALLOW).and_then(|v| v.to_str().ok()) else {
        return;
    };
    let methods: Vec<&str> = allow.split(',').map(str::trim).collect();
    if methods.contains(&"GET")
        && !methods.contains(&"HEAD")
        && let Ok(value) = HeaderValue::from_str(&format!("{allow}, HEAD"))
    {
        headers.insert(header::ALLOW, value);
    }
}
