//! Cross-cutting request handling: request id, tracing span, metrics, panic containment, and the
//! guarantee that every error response is a problem document.

use std::{panic::AssertUnwindSafe, time::Instant};

use actix_web::{
    Error, HttpMessage,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{
        StatusCode,
        header::{self, HeaderName, HeaderValue},
    },
    middleware::{ErrorHandlerResponse, Next},
    web,
};
use futures_util::FutureExt;
use tracing::{Instrument, field::Empty};

use super::{
    error::{PROBLEM_CONTENT_TYPE, problem_for_status, problem_response},
    state::AppState,
};

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The request's correlation id, available to handlers through the request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(&REQUEST_ID_HEADER)?.to_str().ok()?;
    let valid =
        !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic());
    valid.then(|| value.to_owned())
}

/// Wraps every request: assigns or echoes `X-Request-Id`, opens one tracing span with method, route,
/// status and latency, records Prometheus metrics, and turns a panic in a handler into a 500 problem
/// while the worker keeps serving.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let request_id = incoming_request_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let method = req.method().to_string();
    let span = tracing::info_span!(
        "http_request",
        request_id = %request_id,
        method = %method,
        path = %req.path(),
        route = Empty,
        status = Empty,
        latency_ms = Empty,
    );
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let record = |route: &str, status: StatusCode| {
        let elapsed = started.elapsed();
        span.record("route", route);
        span.record("status", status.as_u16());
        span.record("latency_ms", elapsed.as_secs_f64() * 1000.0);
        span.in_scope(|| {
            if status.is_server_error() {
                tracing::error!("request failed");
            } else {
                tracing::info!("request finished");
            }
        });
        if let Some(metrics) = &metrics {
            metrics.observe(&method, route, status.as_u16(), elapsed);
        }
    };

    // The request cannot be cloned before routing (actix mutates it), so a panic is answered by
    // returning an error, which the server turns into the response.
    let outcome = AssertUnwindSafe(next.call(req).instrument(span.clone()))
        .catch_unwind()
        .await;
    match outcome {
        Ok(Ok(res)) => {
            let mut response = res.map_into_boxed_body();
            if let Ok(value) = HeaderValue::from_str(&request_id) {
                response.headers_mut().insert(REQUEST_ID_HEADER, value);
            }
            let route = response
                .request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_owned());
            record(&route, response.status());
            Ok(response)
        }
        Ok(Err(err)) => {
            record("unmatched", err.as_response_error().status_code());
            Err(err)
        }
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".to_owned());
            span.in_scope(|| tracing::error!(panic = %message, "handler panicked"));
            record("unknown", StatusCode::INTERNAL_SERVER_ERROR);
            Err(HandlerPanicked { request_id }.into())
        }
    }
}

/// The answer to a request whose handler panicked: a 500 problem that still carries the request id.
#[derive(Debug, thiserror::Error)]
#[error("handler panicked")]
struct HandlerPanicked {
    request_id: String,
}

impl actix_web::ResponseError for HandlerPanicked {
    fn error_response(&self) -> actix_web::HttpResponse {
        let problem = problem_for_status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "an unexpected error occurred; it has been logged",
        );
        let mut response = problem_response(&problem);
        if let Ok(value) = HeaderValue::from_str(&self.request_id) {
            response.headers_mut().insert(REQUEST_ID_HEADER, value);
        }
        response
    }
}

/// Safety net for error responses produced outside our handlers (unknown route, wrong method, an
/// extractor or payload error without a custom handler): gives them a problem body with the same status.
pub fn ensure_problem_body<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_CONTENT_TYPE));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let detail = match status {
        StatusCode::NOT_FOUND => format!("no resource at {}", res.request().path()),
        StatusCode::METHOD_NOT_ALLOWED => format!(
            "{} is not allowed on {}; see the Allow header",
            res.request().method(),
            res.request().path()
        ),
        StatusCode::PAYLOAD_TOO_LARGE => "the request body exceeds the configured limit".to_owned(),
        other => other.canonical_reason().unwrap_or("error").to_owned(),
    };
    let (req, old) = res.into_parts();
    let mut new = problem_response(&problem_for_status(status, detail));
    // Keep headers such as Allow (405) and Retry-After that carry meaning for the client.
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().append(name.clone(), value.clone());
        }
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, new).map_into_right_body(),
    ))
}
