//! Builds the application: database, migrations, and the HTTP server.

use std::{net::TcpListener, sync::Arc, time::Duration};

use actix_web::{
    App, HttpServer,
    dev::Server,
    middleware::{ErrorHandlers, from_fn},
    web,
};

use crate::{
    auth::{
        lockout::ThrottlePolicy,
        rate_limit::RateLimiter,
        token::{TokenAlgorithm, TokenService, TokenSettings},
    },
    config::Config,
    http::{self, metrics::Metrics, middleware, state::AppState},
    store,
};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

/// Extra routes mounted beside the real ones; tests use it to exercise failure paths.
pub type ExtraRoutes = fn(&mut web::ServiceConfig);

/// The token settings the configuration describes (key files are read here).
pub fn token_settings(config: &Config) -> Result<TokenSettings, StartupError> {
    let read =
        |path: &Option<std::path::PathBuf>, var: &str| -> Result<Option<Vec<u8>>, StartupError> {
            path.as_ref()
                .map(|p| {
                    std::fs::read(p).map_err(|e| {
                        StartupError::Invalid(format!("{var}: cannot read {}: {e}", p.display()))
                    })
                })
                .transpose()
        };
    let algorithm: TokenAlgorithm = config
        .jwt
        .algorithm
        .parse()
        .map_err(|e| StartupError::Invalid(format!("MOTCUA_JWT_ALGORITHM: {e}")))?;
    if algorithm == TokenAlgorithm::Hs256
        && let Some(secret) = &config.jwt.secret
        && let Err(why) = crate::auth::secret_strength::check(secret.as_bytes())
    {
        if !config.dev_mode {
            return Err(StartupError::Invalid(why));
        }
        tracing::warn!("{why} (accepted because MOTCUA_DEV_MODE is on)");
    }
    Ok(TokenSettings {
        algorithm,
        hs256_secret: config.jwt.secret.as_ref().map(|s| s.as_bytes().to_vec()),
        public_key_pem: read(&config.jwt.public_key_file, "MOTCUA_JWT_PUBLIC_KEY_FILE")?,
        private_key_pem: read(&config.jwt.private_key_file, "MOTCUA_JWT_PRIVATE_KEY_FILE")?,
        issuer: config.jwt.issuer.clone(),
        audience: config.jwt.audience.clone(),
        ttl: config.jwt.ttl,
        leeway_secs: config.jwt.leeway_secs,
        dev_mode: config.dev_mode,
    })
}

pub struct Application {
    port: u16,
    server: Server,
    /// The webhook worker, stopped after the server.
    worker: Option<crate::worker::WorkerHandle>,
    shutdown_timeout: Duration,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        Self::build_with(config, None).await
    }

    /// Opens the database, applies pending migrations and binds the listener.
    pub async fn build_with(
        config: Config,
        extra: Option<ExtraRoutes>,
    ) -> Result<Self, StartupError> {
        let tokens = TokenService::new(token_settings(&config)?)
            .map_err(|e| StartupError::Invalid(e.to_string()))?;
        for warning in tokens.warnings() {
            tracing::warn!("{warning}");
        }
        let storage = crate::storage::DocumentStorage::open(&config.storage)
            .map_err(|e| StartupError::Invalid(format!("MOTCUA_STORAGE_URL: {e}")))?;
        let target = config.database.clone();
        let admin_password = config.admin_password.clone();
        let pool_size = config.pool_size;
        let pool_timeout = config.pool_timeout;
        let pool = web::block(move || -> Result<_, StartupError> {
            let mut conn = store::establish(&target)?;
            let applied = store::run_migrations(&mut conn)?;
            if !applied.is_empty() {
                tracing::info!(?applied, "applied migrations");
            }
            if let Some(password) = &admin_password {
                match crate::service::accounts::bootstrap_admin(&mut conn, password) {
                    Ok(true) => {
                        tracing::info!("created the `admin` account from MOTCUA_ADMIN_PASSWORD")
                    }
                    Ok(false) => {}
                    Err(e) => {
                        return Err(StartupError::Invalid(format!(
                            "MOTCUA_ADMIN_PASSWORD: {e:?}"
                        )));
                    }
                }
            }
            Ok(store::build_pool(&target, pool_size, pool_timeout)?)
        })
        .await
        .map_err(|e| StartupError::Invalid(format!("start-up task failed: {e}")))??;

        let listener = TcpListener::bind(config.bind).map_err(|source| StartupError::Bind {
            addr: config.bind.to_string(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                addr: config.bind.to_string(),
                source,
            })?
            .port();
        tracing::info!(
            address = %listener.local_addr().map_or_else(|_| config.bind.to_string(), |a| a.to_string()),
            database = config.database.backend_name(),
            "motcua listening"
        );

        let workers = config.workers.max(1);
        let shutdown_timeout = config.shutdown_timeout.as_secs();
        let body_limit = config.body_limit;
        let calendar: Arc<store::calendar::CalendarCache> = Default::default();
        let grace = config.shutdown_timeout;
        let webhooks = config.webhooks.clone();
        let national_sync = config.national_sync.clone();
        let worker_pool = pool.clone();
        let worker_calendar = Arc::clone(&calendar);
        let metrics = Metrics::new();
        let worker_counters = metrics.worker.clone();
        let state = web::Data::new(AppState {
            db_gate: Arc::new(tokio::sync::Semaphore::new(config.pool_size.max(1) as usize)),
            pool,
            config: Arc::new(config),
            metrics,
            calendar,
            tokens: Arc::new(tokens),
            login_limiter: RateLimiter::new(30, 10),
            login_throttle: ThrottlePolicy::default(),
            public_limiter: RateLimiter::new(60, 20),
            storage,
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(body_limit))
                .app_data(http::path_config())
                .configure(http::configure)
                .configure(|cfg| {
                    if let Some(extra) = extra {
                        extra(cfg);
                    }
                })
                .wrap(ErrorHandlers::new().default_handler(middleware::ensure_problem_body))
                .wrap(from_fn(http::conditional::not_modified))
                .wrap(from_fn(http::query_guard::refuse_control_characters))
                // Outside the conditional check, which then sees a HEAD as the GET it is served as.
                .wrap(from_fn(http::head::serve_head))
                .wrap(from_fn(http::security_headers::apply))
                .wrap(from_fn(middleware::observe))
        })
        .workers(workers)
        .shutdown_timeout(shutdown_timeout)
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            addr: "listener".to_owned(),
            source,
        })?
        .run();
        let worker = if webhooks.enabled {
            match crate::worker::start(
                worker_pool,
                worker_calendar,
                webhooks,
                national_sync,
                grace,
                worker_counters,
            ) {
                Ok(worker) => Some(worker),
                Err(e) => {
                    server.handle().stop(false).await;
                    return Err(StartupError::Invalid(e));
                }
            }
        } else {
            None
        };
        Ok(Self {
            port,
            server,
            worker,
            shutdown_timeout: grace,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server from elsewhere.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM; in-flight requests finish within the shutdown timeout, then the
    /// webhook worker stops (its attempts in flight get the same time).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        if let Some(worker) = self.worker {
            worker.shutdown(self.shutdown_timeout).await;
        }
        served
    }
}
