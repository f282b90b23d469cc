//! The push sync to the national portal (Cổng DVCQG): the worker logs in, adds each changed
//! dossier's DongBoHoSoMC record, and updates it once the portal knows it.
//!
//! The exchange, as motcua speaks it:
//! - `POST {MOTCUA_DVCQG_URL}/login` with `{"username", "password"}` answers `{"session"}`;
//! - `POST {MOTCUA_DVCQG_URL}/sync` with `{"session", "madonvi", "service": "DongBoHoSoMC",
//!   "isUpdating": "false" | "true", "data": [record]}` answers `{"error_code", "message"}`:
//!   `"0"` is success; a refusal whose message says the dossier exists (`đã tồn tại`) turns the
//!   add into an update; HTTP 401 means the session ended, and the worker logs in again once.
//!
//! Every other answer is a failure, retried with the webhooks' backoff until their attempt limit.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::Utc;
use serde::Deserialize;

use super::{delivery, with_conn};
use crate::{
    config::{NationalSyncSettings, WebhookSettings},
    domain::Instant,
    service::national::{self, NationalRecord},
    store::{
        DbPool, StoreError,
        dossiers::get_dossier_by_id,
        national_sync::{self as ledger, ClaimedSync, SyncOutcome},
        webhooks::{AttemptResult, NextStep},
        write_transaction,
    },
};

/// After a failed login, sends fail at once for this long instead of each trying again.
const LOGIN_COOL_DOWN: Duration = Duration::from_secs(5);

/// Talks to the portal; keeps the session between sends.
pub struct PortalClient {
    client: reqwest::Client,
    settings: NationalSyncSettings,
    session: tokio::sync::Mutex<Option<String>>,
    /// One login at a time, and when and why the last one failed.
    login: tokio::sync::Mutex<Option<(std::time::Instant, String)>>,
}

#[derive(Deserialize)]
struct LoginReply {
    session: String,
}

#[derive(Deserialize)]
struct SyncReply {
    error_code: String,
    #[serde(default)]
    message: String,
}

/// Why a post did not go through.
enum PostError {
    /// The portal already has the dossier: send it as an update.
    Exists,
    /// The session ended: log in again.
    Unauthorized,
    Other(String),
}

impl PortalClient {
    pub fn new(settings: NationalSyncSettings, timing: &WebhookSettings) -> Result<Self, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(timing.timeout)
            .connect_timeout(timing.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("motcua-dvcqg/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the national portal's HTTP client: {e}"))?;
        Ok(Self {
            client,
            settings,
            session: tokio::sync::Mutex::new(None),
            login: tokio::sync::Mutex::new(None),
        })
    }

    /// The current session, logging in once for every send that needs one (the session lock is
    /// never held across the portal's answer, so posts never wait behind a login).
    async fn session(&self) -> Result<String, String> {
        if let Some(session) = self.session.lock().await.clone() {
            return Ok(session);
        }
        let mut last_failure = self.login.lock().await;
        if let Some(session) = self.session.lock().await.clone() {
            return Ok(session);
        }
        if let Some((at, error)) = last_failure.as_ref()
            && at.elapsed() < LOGIN_COOL_DOWN
        {
            return Err(error.clone());
        }
        match self.login().await {
            Ok(session) => {
                *last_failure = None;
                *self.session.lock().await = Some(session.clone());
                Ok(session)
            }
            Err(e) => {
                *last_failure = Some((std::time::Instant::now(), e.clone()));
                Err(e)
            }
        }
    }

    /// Forgets `session` after the portal refused it (not a newer one another send obtained).
    async fn forget(&self, session: &str) {
        let mut cached = self.session.lock().await;
        if cached.as_deref() == Some(session) {
            *cached = None;
        }
    }

    async fn login(&self) -> Result<String, String> {
        let response = self
            .client
            .post(format!("{}/login", self.settings.url))
            .json(&serde_json::json!({
                "username": self.settings.username, "password": self.settings.password,
            }))
            .send()
            .await
            .map_err(|e| format!("login: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("login: HTTP {}", status.as_u16()));
        }
        let reply: LoginReply = response
            .json()
            .await
            .map_err(|e| format!("login: unreadable answer: {e}"))?;
        Ok(reply.session)
    }

    async fn post(
        &self,
        session: &str,
        record: &NationalRecord,
        updating: bool,
    ) -> Result<(), PostError> {
        let response = self
            .client
            .post(format!("{}/sync", self.settings.url))
            .json(&serde_json::json!({
                "session": session, "madonvi": self.settings.agency, "service": "DongBoHoSoMC",
                "isUpdating": if updating { "true" } else { "false" }, "data": [record],
            }))
            .send()
            .await
            .map_err(|e| PostError::Other(format!("sync: {e}")))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(PostError::Unauthorized);
        }
        if !status.is_success() {
            return Err(PostError::Other(format!("sync: HTTP {}", status.as_u16())));
        }
        let reply: SyncReply = response
            .json()
            .await
            .map_err(|e| PostError::Other(format!("sync: unreadable answer: {e}")))?;
        match reply.error_code.as_str() {
            "0" => Ok(()),
            _ if !updating && reply.message.to_lowercase().contains("đã tồn tại") => {
                Err(PostError::Exists)
            }
            code => Err(PostError::Other(format!(
                "sync: error_code {code}: {}",
                reply.message
            ))),
        }
    }

    /// Sends one record: an add, or an update when the portal knows the dossier (`on_portal`,
    /// or its answer to the add). Returns whether the portal turned out to know it.
    pub async fn sync(
        &self,
        record: &NationalRecord,
        on_portal: bool,
    ) -> (Result<(), String>, bool) {
        let mut updating = on_portal;
        let mut logged_in_again = false;
        loop {
            let session = match self.session().await {
                Ok(session) => session,
                Err(e) => return (Err(e), updating),
            };
            match self.post(&session, record, updating).await {
                Ok(()) => return (Ok(()), true),
                Err(PostError::Exists) => updating = true,
                Err(PostError::Unauthorized) if !logged_in_again => {
                    logged_in_again = true;
                    self.forget(&session).await;
                }
                Err(PostError::Unauthorized) => {
                    return (Err("sync: HTTP 401 after a new login".to_owned()), updating);
                }
                Err(PostError::Other(e)) => return (Err(e), updating),
            }
        }
    }
}

/// One send of one claimed dossier, and its outcome in the ledger.
pub async fn attempt(
    pool: DbPool,
    portal: Arc<PortalClient>,
    settings: WebhookSettings,
    claim: ClaimedSync,
) {
    let dossier_id = claim.dossier_id;
    let record = with_conn(&pool, move |conn| {
        let dossier = get_dossier_by_id(conn, dossier_id)?;
        national::load_record(conn, &dossier, &mut HashMap::new())
    })
    .await;
    let (result, known) = match &record {
        Ok(record) => portal.sync(record, claim.on_portal).await,
        Err(e) => (
            Err(format!("cannot read the dossier: {e}")),
            claim.on_portal,
        ),
    };
    let attempt = AttemptResult {
        status_code: None,
        error: result.err(),
    };
    let now = Utc::now();
    let outcome = match (
        delivery::next_step(
            &attempt,
            claim.attempt,
            &settings,
            now,
            rand::random::<f64>(),
        ),
        attempt.error,
    ) {
        (NextStep::Delivered, _) | (_, None) => SyncOutcome::Synced,
        (NextStep::RetryAt(at), Some(error)) => {
            tracing::info!(dossier = dossier_id, attempt = claim.attempt, retry_at = %at, %error, "national sync failed; will retry");
            SyncOutcome::RetryAt(at, error)
        }
        (NextStep::Failed, Some(error)) => {
            tracing::warn!(dossier = dossier_id, attempts = claim.attempt, %error, "national sync failed for good");
            SyncOutcome::Failed(error)
        }
    };
    let recorded = with_conn(&pool, move |conn| {
        write_transaction(conn, |conn| {
            if known && !claim.on_portal {
                ledger::mark_on_portal(conn, claim.dossier_id)?;
            }
            ledger::finish(conn, &claim, &outcome, Instant::from(Utc::now()))
        })
    })
    .await;
    match recorded {
        Ok(true) => {}
        Ok(false) => tracing::info!(
            dossier = dossier_id,
            "a national sync outlived its lease; the instance that took the dossier over records it"
        ),
        // The lease runs out and the dossier is sent again: at least once, never lost.
        Err(e) => {
            tracing::warn!(dossier = dossier_id, error = %e, "recording a national sync failed")
        }
    }
}

/// Claims the dossiers due for a send.
pub async fn claim(
    pool: &DbPool,
    lease: Duration,
    limit: i64,
) -> Result<Vec<ClaimedSync>, StoreError> {
    let lease = chrono::TimeDelta::from_std(lease).unwrap_or(chrono::TimeDelta::minutes(1));
    with_conn(pool, move |conn| {
        let now = Instant::from(Utc::now());
        write_transaction(conn, |conn| {
            ledger::claim_due(conn, now, now + lease, limit)
        })
    })
    .await
}
