//! Prometheus metrics: request counts and latency histograms by method, route and status, and the
//! background worker's progress.
//!
//! Every label comes from a fixed set, so no request can add series at will: the method is one of
//! the standard ones or `OTHER`, the route is a registered pattern (or `unmatched`), and the status
//! is a registered code or its class (`5xx`).

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

use crate::worker::WorkerCounters;

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    /// The background worker's counters, exported beside the requests'.
    pub worker: WorkerCounters,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("motcua".to_owned()), None)
            .expect("static registry prefix is valid");
        let labels = &["method", "route", "status"];
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests served"),
            labels,
        )
        .expect("static metric definition is valid");
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency").buckets(
                vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ],
            ),
            labels,
        )
        .expect("static metric definition is valid");
        registry
            .register(Box::new(requests.clone()))
            .expect("registered once");
        registry
            .register(Box::new(latency.clone()))
            .expect("registered once");
        let worker = WorkerCounters::new();
        worker.register(&registry).expect("registered once");
        Self {
            registry,
            requests,
            latency,
            worker,
        }
    }

    /// `route` must be a registered route pattern or a fixed word (`unmatched`): never the path.
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let status = status_label(status);
        let labels = [method_label(method), route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency
            .with_label_values(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        String::from_utf8(buffer).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

/// The request method as a label: the standard methods, anything else `OTHER`.
pub fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
    ];
    KNOWN
        .into_iter()
        .find(|known| *known == method)
        .unwrap_or("OTHER")
}

/// The status as a label: a code with a registered meaning, otherwise its class (`5xx`).
pub fn status_label(status: u16) -> String {
    let registered = actix_web::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .is_some();
    if registered {
        status.to_string()
    } else {
        format!("{}xx", (status / 100).clamp(1, 9))
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_fixed_sets() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("get"), "OTHER");
        assert_eq!(method_label(&"X".repeat(1000)), "OTHER");
        assert_eq!(status_label(404), "404");
        assert_eq!(status_label(599), "5xx");
        assert_eq!(status_label(999), "9xx");
    }
}
