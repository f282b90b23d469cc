//! One webhook attempt over HTTP, and what follows it: delivered, a retry after an exponential
//! backoff with jitter, or failed for good once the attempts run out.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::{
    config::WebhookSettings,
    domain::Instant,
    service::{
        webhook_target,
        webhooks::{signature, signing_key},
    },
    store::webhooks::{AttemptResult, ClaimedDelivery, NextStep},
};

/// Posts signed messages.
pub struct Sender {
    client: reqwest::Client,
    /// `MOTCUA_WEBHOOK_ALLOW_PRIVATE`: without it, only public addresses are connected to.
    allow_private: bool,
}

impl Sender {
    pub fn new(settings: &WebhookSettings) -> Result<Self, String> {
        // TLS in pure Rust; installing the provider a second time (a second instance in one
        // process) is refused harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            // Straight to the receiver: a proxy would connect to an address this side never saw.
            .no_proxy()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            // A redirect is an answer of its own: following it could post the dossier elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("motcua-webhooks/", env!("CARGO_PKG_VERSION")));
        if !settings.allow_private {
            // Names are resolved, checked and connected to by their checked addresses in one step.
            builder = builder.dns_resolver(webhook_target::PublicOnlyResolver);
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot build the webhook HTTP client: {}", describe(&e)))?;
        Ok(Self {
            client,
            allow_private: settings.allow_private,
        })
    }

    /// Makes the attempt: a POST of the stored body with the Standard Webhooks headers. Any 2xx
    /// answer is success.
    pub async fn send(&self, claim: &ClaimedDelivery) -> AttemptResult {
        if !self.allow_private
            && let Err(refusal) = reqwest::Url::parse(&claim.url)
                .map_err(|e| e.to_string())
                .and_then(|url| webhook_target::check_literal_host(&url))
        {
            // A literal address is connected to without a lookup, so it is checked here.
            return AttemptResult {
                status_code: None,
                error: Some(format!("refused: {refusal}")),
            };
        }
        let key = match signing_key(&claim.secret) {
            Ok(key) => key,
            Err(e) => {
                return AttemptResult {
                    status_code: None,
                    error: Some(format!("cannot sign: {e}")),
                };
            }
        };
        let timestamp = Utc::now().timestamp();
        let request = self
            .client
            .post(&claim.url)
            .header("content-type", "application/json")
            .header("webhook-id", &claim.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                signature(&key, &claim.message_id, timestamp, &claim.payload),
            )
            .body(claim.payload.clone());
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                if status.is_success() {
                    return AttemptResult {
                        status_code: Some(i32::from(status.as_u16())),
                        error: None,
                    };
                }
                // Only the status is kept: the body is the receiver's, and the log is shown to
                // the subscriber, who must not read through it what the target would not show.
                AttemptResult {
                    status_code: Some(i32::from(status.as_u16())),
                    error: Some(format!("HTTP {status}")),
                }
            }
            Err(e) => AttemptResult {
                status_code: None,
                error: Some(describe(&e)),
            },
        }
    }
}

/// An error with its causes, without the URL (the log names the subscription already).
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out".to_owned();
    }
    let mut text = if error.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The wait before attempt `failed_attempts + 1`: `base · 2^(failed_attempts − 1)`, capped at
/// `max`, of which a random part (`unit_random` in `[0, 1)`) is taken off ("equal jitter": between
/// half and all of it), so receivers that come back are not hit by every sender at once.
pub fn backoff(failed_attempts: i32, base: Duration, max: Duration, unit_random: f64) -> Duration {
    let exponent = u32::try_from(failed_attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    let full = base.saturating_mul(1u32 << exponent).min(max);
    let half = full / 2;
    half + half.mul_f64(unit_random.clamp(0.0, 1.0))
}

/// What follows an attempt with `result`, the `attempt`-th of the delivery.
pub fn next_step(
    result: &AttemptResult,
    attempt: i32,
    settings: &WebhookSettings,
    now: DateTime<Utc>,
    unit_random: f64,
) -> NextStep {
    if result.error.is_none() {
        return NextStep::Delivered;
    }
    if attempt >= i32::try_from(settings.max_attempts).unwrap_or(i32::MAX) {
        return NextStep::Failed;
    }
    let wait = backoff(
        attempt,
        settings.backoff_base,
        settings.backoff_max,
        unit_random,
    );
    NextStep::RetryAt(Instant::from(
        now + TimeDelta::from_std(wait).unwrap_or(TimeDelta::hours(1)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> WebhookSettings {
        WebhookSettings {
            max_attempts: 4,
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(60),
            ..WebhookSettings::default()
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
        let (base, max) = (Duration::from_secs(10), Duration::from_secs(60));
        let waits: Vec<u64> = (1..=5)
            .map(|n| backoff(n, base, max, 0.999_999).as_secs())
            .collect();
        assert_eq!(waits, [9, 19, 39, 59, 59]);
        let least: Vec<u64> = (1..=5)
            .map(|n| backoff(n, base, max, 0.0).as_secs())
            .collect();
        assert_eq!(least, [5, 10, 20, 30, 30]);
        // A huge attempt count neither overflows nor exceeds the cap.
        assert_eq!(backoff(i32::MAX, base, max, 1.0), max);
    }

    #[test]
    fn success_delivers_failure_retries_then_fails() {
        let now = Utc::now();
        let ok = AttemptResult {
            status_code: Some(204),
            error: None,
        };
        let bad = AttemptResult {
            status_code: Some(500),
            error: Some("HTTP 500".into()),
        };
        assert_eq!(
            next_step(&ok, 4, &settings(), now, 0.5),
            NextStep::Delivered
        );
        assert_eq!(
            next_step(&bad, 1, &settings(), now, 0.0),
            NextStep::RetryAt(Instant::from(now + TimeDelta::seconds(5)))
        );
        assert_eq!(
            next_step(&bad, 3, &settings(), now, 0.0),
            NextStep::RetryAt(Instant::from(now + TimeDelta::seconds(20)))
        );
        assert_eq!(next_step(&bad, 4, &settings(), now, 0.0), NextStep::Failed);
    }
}
