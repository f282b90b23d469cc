//! Settings read from environment variables, each with a documented default (see README).

use std::{env, net::SocketAddr, path::PathBuf, time::Duration};

/// Where the data lives. `DATABASE_URL` unset means the embedded SQLite file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseTarget {
    /// `postgres://…` / `postgresql://…` selects PostgreSQL; `sqlite://PATH`, `sqlite:PATH` or a bare
    /// path selects SQLite.
    pub fn parse(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Self::Postgres(url.to_owned());
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        Self::Sqlite(PathBuf::from(path))
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Token signing and validation settings.
#[derive(Clone)]
pub struct JwtSettings {
    /// `HS256` (default), `RS256` or `EdDSA` (`MOTCUA_JWT_ALGORITHM`).
    pub algorithm: String,
    /// HS256 shared secret (`MOTCUA_JWT_SECRET`).
    pub secret: Option<String>,
    /// PEM public key for RS256/EdDSA (`MOTCUA_JWT_PUBLIC_KEY_FILE`).
    pub public_key_file: Option<PathBuf>,
    /// PEM private key for issuing RS256/EdDSA tokens (`MOTCUA_JWT_PRIVATE_KEY_FILE`).
    pub private_key_file: Option<PathBuf>,
    pub leeway_secs: u64,
    pub issuer: String,
    pub audience: String,
    pub ttl: Duration,
}

impl std::fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSettings")
            .field("algorithm", &self.algorithm)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("public_key_file", &self.public_key_file)
            .field("private_key_file", &self.private_key_file)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// The webhook worker (`MOTCUA_WEBHOOK_*`) and the deadline scan that feeds it.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSettings {
    /// Whether this instance runs the delivery worker (`MOTCUA_WEBHOOK_WORKER`).
    pub enabled: bool,
    /// How often the worker looks for events and due deliveries (`MOTCUA_WEBHOOK_POLL_MS`).
    pub poll_interval: Duration,
    /// Attempts before a delivery is marked failed (`MOTCUA_WEBHOOK_MAX_ATTEMPTS`).
    pub max_attempts: u32,
    /// The wait after the first failed attempt; it doubles after each (`MOTCUA_WEBHOOK_BACKOFF_BASE_MS`).
    pub backoff_base: Duration,
    /// The longest wait between attempts (`MOTCUA_WEBHOOK_BACKOFF_MAX_SECONDS`).
    pub backoff_max: Duration,
    /// Time allowed for one attempt (`MOTCUA_WEBHOOK_TIMEOUT_SECONDS`).
    pub timeout: Duration,
    /// How long a claimed delivery is reserved for its instance; longer than the timeout
    /// (`MOTCUA_WEBHOOK_LEASE_SECONDS`).
    pub lease: Duration,
    /// Attempts in flight per instance (`MOTCUA_WEBHOOK_CONCURRENCY`).
    pub concurrency: usize,
    /// How often open dossiers are checked for `due_soon` / `overdue` (`MOTCUA_DEADLINE_SCAN_SECONDS`).
    pub scan_interval: Duration,
    /// `dossier.due_soon` is emitted when this many working hours or fewer are left
    /// (`MOTCUA_DUE_SOON_WORKING_HOURS`).
    pub due_soon_working_hours: u32,
    /// Finished deliveries and their events are kept this many days (`MOTCUA_WEBHOOK_RETENTION_DAYS`).
    pub retention_days: u32,
    /// Whether targets may be loopback, private, link-local… addresses
    /// (`MOTCUA_WEBHOOK_ALLOW_PRIVATE`, off by default).
    pub allow_private: bool,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            poll_interval: Duration::from_millis(1000),
            max_attempts: 12,
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(3600),
            timeout: Duration::from_secs(10),
            lease: Duration::from_secs(60),
            concurrency: 8,
            scan_interval: Duration::from_secs(60),
            due_soon_working_hours: 8,
            retention_days: 30,
            allow_private: false,
        }
    }
}

impl WebhookSettings {
    fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = Self::default();
        let millis = |name: &'static str, default: Duration| -> Result<Duration, ConfigError> {
            parse_or(name, get(name), default.as_millis() as u64).map(Duration::from_millis)
        };
        let secs = |name: &'static str, default: Duration| -> Result<Duration, ConfigError> {
            parse_or(name, get(name), default.as_secs()).map(Duration::from_secs)
        };
        let settings = Self {
            enabled: parse_or(
                "MOTCUA_WEBHOOK_WORKER",
                get("MOTCUA_WEBHOOK_WORKER"),
                d.enabled,
            )?,
            poll_interval: millis("MOTCUA_WEBHOOK_POLL_MS", d.poll_interval)?,
            max_attempts: parse_or(
                "MOTCUA_WEBHOOK_MAX_ATTEMPTS",
                get("MOTCUA_WEBHOOK_MAX_ATTEMPTS"),
                d.max_attempts,
            )?,
            backoff_base: millis("MOTCUA_WEBHOOK_BACKOFF_BASE_MS", d.backoff_base)?,
            backoff_max: secs("MOTCUA_WEBHOOK_BACKOFF_MAX_SECONDS", d.backoff_max)?,
            timeout: secs("MOTCUA_WEBHOOK_TIMEOUT_SECONDS", d.timeout)?,
            lease: secs("MOTCUA_WEBHOOK_LEASE_SECONDS", d.lease)?,
            concurrency: parse_or(
                "MOTCUA_WEBHOOK_CONCURRENCY",
                get("MOTCUA_WEBHOOK_CONCURRENCY"),
                d.concurrency,
            )?,
            scan_interval: secs("MOTCUA_DEADLINE_SCAN_SECONDS", d.scan_interval)?,
            due_soon_working_hours: parse_or(
                "MOTCUA_DUE_SOON_WORKING_HOURS",
                get("MOTCUA_DUE_SOON_WORKING_HOURS"),
                d.due_soon_working_hours,
            )?,
            retention_days: parse_or(
                "MOTCUA_WEBHOOK_RETENTION_DAYS",
                get("MOTCUA_WEBHOOK_RETENTION_DAYS"),
                d.retention_days,
            )?,
            allow_private: parse_or(
                "MOTCUA_WEBHOOK_ALLOW_PRIVATE",
                get("MOTCUA_WEBHOOK_ALLOW_PRIVATE"),
                d.allow_private,
            )?,
        };
        settings.validate()?;
        Ok(settings)
    }

    /// The rules the worker relies on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |name: &'static str, reason: &str| {
            Err(ConfigError {
                name,
                reason: reason.to_owned(),
            })
        };
        if self.max_attempts == 0 {
            return invalid("MOTCUA_WEBHOOK_MAX_ATTEMPTS", "must be at least 1");
        }
        if self.poll_interval.is_zero() {
            return invalid("MOTCUA_WEBHOOK_POLL_MS", "must be at least 1");
        }
        if self.concurrency == 0 {
            return invalid("MOTCUA_WEBHOOK_CONCURRENCY", "must be at least 1");
        }
        if self.timeout.is_zero() {
            return invalid("MOTCUA_WEBHOOK_TIMEOUT_SECONDS", "must be at least 1");
        }
        if self.scan_interval.is_zero() {
            return invalid("MOTCUA_DEADLINE_SCAN_SECONDS", "must be at least 1");
        }
        // A lease shorter than an attempt would let a second instance send while the first waits.
        if self.lease <= self.timeout {
            return invalid(
                "MOTCUA_WEBHOOK_LEASE_SECONDS",
                "must be longer than MOTCUA_WEBHOOK_TIMEOUT_SECONDS",
            );
        }
        if self.backoff_max < self.backoff_base {
            return invalid(
                "MOTCUA_WEBHOOK_BACKOFF_MAX_SECONDS",
                "must not be shorter than MOTCUA_WEBHOOK_BACKOFF_BASE_MS",
            );
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database: DatabaseTarget,
    pub pool_size: u32,
    pub pool_timeout: Duration,
    pub log_filter: String,
    pub log_format: LogFormat,
    pub body_limit: usize,
    pub workers: usize,
    pub shutdown_timeout: Duration,
    pub jwt: JwtSettings,
    /// Relaxes start-up checks meant for production (`MOTCUA_DEV_MODE=true`).
    pub dev_mode: bool,
    /// Creates the `admin` account on a start with no administrator (`MOTCUA_ADMIN_PASSWORD`).
    pub admin_password: Option<String>,
    pub webhooks: WebhookSettings,
    /// The push sync to the national portal, when configured.
    pub national_sync: Option<NationalSyncSettings>,
    /// Where documents are kept.
    pub storage: StorageSettings,
    /// The largest document accepted (`MOTCUA_DOCUMENT_MAX_BYTES`, default 20 MiB).
    pub document_max_bytes: u64,
}

pub const DEFAULT_STORAGE_URL: &str = "file://./data/documents";
pub const DEFAULT_DOCUMENT_MAX_BYTES: u64 = 20 * 1024 * 1024;

/// The document storage: `MOTCUA_STORAGE_URL` (default `file://./data/documents`) names a local
/// directory (`file://DIR`) or an S3-compatible bucket (`s3://BUCKET[/PREFIX]`). For a bucket,
/// `MOTCUA_S3_ENDPOINT` names the server (default AWS), and the usual `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_REGION` (or `AWS_DEFAULT_REGION`) the account.
#[derive(Clone, PartialEq, Eq)]
pub struct StorageSettings {
    pub url: String,
    pub s3_endpoint: Option<String>,
    pub s3_region: Option<String>,
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<String>,
}

impl std::fmt::Debug for StorageSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageSettings")
            .field("url", &self.url)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_region", &self.s3_region)
            .field("s3_access_key_id", &self.s3_access_key_id)
            .field(
                "s3_secret_access_key",
                &self.s3_secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl StorageSettings {
    /// A local directory.
    pub fn directory(dir: &std::path::Path) -> Self {
        Self {
            url: format!("file://{}", dir.display()),
            s3_endpoint: None,
            s3_region: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
        }
    }

    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Self {
        Self {
            url: get("MOTCUA_STORAGE_URL").unwrap_or_else(|| DEFAULT_STORAGE_URL.to_owned()),
            s3_endpoint: get("MOTCUA_S3_ENDPOINT"),
            s3_region: get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION")),
            s3_access_key_id: get("AWS_ACCESS_KEY_ID"),
            s3_secret_access_key: get("AWS_SECRET_ACCESS_KEY"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid value for {name}: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub reason: String,
}

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_SQLITE_PATH: &str = "./data/motcua.db";

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| env::var(name).ok())
    }

    /// Builds the settings from any variable source, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let database = get("DATABASE_URL")
            .map(|url| DatabaseTarget::parse(&url))
            .unwrap_or_else(|| DatabaseTarget::Sqlite(PathBuf::from(DEFAULT_SQLITE_PATH)));
        let default_workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            bind: match get("MOTCUA_BIND") {
                None => DEFAULT_BIND.parse().expect("valid default"),
                Some(raw) => listen_address(&raw)?,
            },
            database,
            pool_size: parse_or("MOTCUA_DB_POOL_SIZE", get("MOTCUA_DB_POOL_SIZE"), 10)?,
            pool_timeout: Duration::from_secs(parse_or(
                "MOTCUA_DB_TIMEOUT_SECONDS",
                get("MOTCUA_DB_TIMEOUT_SECONDS"),
                5,
            )?),
            log_filter: get("MOTCUA_LOG").unwrap_or_else(|| "info".to_owned()),
            log_format: match get("MOTCUA_LOG_FORMAT").as_deref() {
                None | Some("text") => LogFormat::Text,
                Some("json") => LogFormat::Json,
                Some(other) => {
                    return Err(ConfigError {
                        name: "MOTCUA_LOG_FORMAT",
                        reason: format!("`{other}` is neither `text` nor `json`"),
                    });
                }
            },
            body_limit: parse_or("MOTCUA_BODY_LIMIT", get("MOTCUA_BODY_LIMIT"), 1024 * 1024)?,
            workers: parse_or("MOTCUA_WORKERS", get("MOTCUA_WORKERS"), default_workers)?,
            shutdown_timeout: Duration::from_secs(parse_or(
                "MOTCUA_SHUTDOWN_TIMEOUT_SECONDS",
                get("MOTCUA_SHUTDOWN_TIMEOUT_SECONDS"),
                30,
            )?),
            jwt: JwtSettings {
                algorithm: get("MOTCUA_JWT_ALGORITHM").unwrap_or_else(|| "HS256".to_owned()),
                secret: get("MOTCUA_JWT_SECRET"),
                public_key_file: get("MOTCUA_JWT_PUBLIC_KEY_FILE").map(PathBuf::from),
                private_key_file: get("MOTCUA_JWT_PRIVATE_KEY_FILE").map(PathBuf::from),
                leeway_secs: parse_or(
                    "MOTCUA_JWT_LEEWAY_SECONDS",
                    get("MOTCUA_JWT_LEEWAY_SECONDS"),
                    30,
                )?,
                issuer: get("MOTCUA_JWT_ISSUER").unwrap_or_else(|| "motcua".to_owned()),
                audience: get("MOTCUA_JWT_AUDIENCE").unwrap_or_else(|| "motcua".to_owned()),
                ttl: Duration::from_secs(parse_or(
                    "MOTCUA_JWT_TTL_SECONDS",
                    get("MOTCUA_JWT_TTL_SECONDS"),
                    900,
                )?),
            },
            dev_mode: parse_or("MOTCUA_DEV_MODE", get("MOTCUA_DEV_MODE"), false)?,
            admin_password: get("MOTCUA_ADMIN_PASSWORD"),
            webhooks: WebhookSettings::from_lookup(&get)?,
            national_sync: NationalSyncSettings::from_lookup(&get)?,
            storage: StorageSettings::from_lookup(&get),
            document_max_bytes: parse_or(
                "MOTCUA_DOCUMENT_MAX_BYTES",
                get("MOTCUA_DOCUMENT_MAX_BYTES"),
                DEFAULT_DOCUMENT_MAX_BYTES,
            )?,
        })
    }
}

/// The push sync to the national portal (Cổng DVCQG), off unless `MOTCUA_DVCQG_URL` is set. The
/// background worker sends every changed dossier there, with the webhooks' retry settings.
#[derive(Clone, PartialEq, Eq)]
pub struct NationalSyncSettings {
    /// The portal's base URL (`MOTCUA_DVCQG_URL`): the worker posts to `{url}/login` and
    /// `{url}/sync`.
    pub url: String,
    /// The account the portal gave this province (`MOTCUA_DVCQG_USERNAME`, `MOTCUA_DVCQG_PASSWORD`).
    pub username: String,
    pub password: String,
    /// The reporting agency's code on the portal (`MOTCUA_DVCQG_AGENCY`, mã đơn vị), sent as
    /// `madonvi`; empty when unset.
    pub agency: String,
}

/// Without the password: settings end up in logs and panics.
impl std::fmt::Debug for NationalSyncSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NationalSyncSettings")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("agency", &self.agency)
            .finish()
    }
}

impl NationalSyncSettings {
    fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let Some(url) = get("MOTCUA_DVCQG_URL") else {
            return Ok(None);
        };
        let parsed = reqwest::Url::parse(&url).map_err(|e| ConfigError {
            name: "MOTCUA_DVCQG_URL",
            reason: format!("`{url}` is not an absolute URL: {e}"),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ConfigError {
                name: "MOTCUA_DVCQG_URL",
                reason: "must use http or https".to_owned(),
            });
        }
        let required = |name: &'static str| {
            get(name).ok_or_else(|| ConfigError {
                name,
                reason: "is required when MOTCUA_DVCQG_URL is set".to_owned(),
            })
        };
        Ok(Some(Self {
            url: url.trim_end_matches('/').to_owned(),
            username: required("MOTCUA_DVCQG_USERNAME")?,
            password: required("MOTCUA_DVCQG_PASSWORD")?,
            agency: get("MOTCUA_DVCQG_AGENCY").unwrap_or_default(),
        }))
    }
}

/// `MOTCUA_BIND`: an IP address and port, or a host name and port (`localhost:8080`), resolved
/// once at start-up to its first address.
fn listen_address(raw: &str) -> Result<SocketAddr, ConfigError> {
    use std::net::ToSocketAddrs;
    let error = |reason: String| ConfigError {
        name: "MOTCUA_BIND",
        reason: format!("`{raw}`: {reason}"),
    };
    let raw = raw.trim();
    if let Ok(address) = raw.parse() {
        return Ok(address);
    }
    if !raw.contains(':') {
        return Err(error(
            "give a host and a port, e.g. 127.0.0.1:8080 or localhost:8080".to_owned(),
        ));
    }
    raw.to_socket_addrs()
        .map_err(|e| error(e.to_string()))?
        .next()
        .ok_or_else(|| error("the host name resolves to no address".to_owned()))
}

fn parse_or<T>(name: &'static str, raw: Option<String>, default: T) -> Result<T, ConfigError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    match raw {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|e: T::Err| ConfigError {
            name,
            reason: format!("`{raw}`: {e}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_use_embedded_sqlite_and_local_bind() {
        let c = config(&[]).unwrap();
        assert_eq!(
            c.database,
            DatabaseTarget::Sqlite(PathBuf::from(DEFAULT_SQLITE_PATH))
        );
        assert_eq!(c.bind.to_string(), DEFAULT_BIND);
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.body_limit, 1024 * 1024);
        assert_eq!(c.jwt.ttl, Duration::from_secs(900));
    }

    #[test]
    fn database_url_selects_backend() {
        assert_eq!(
            DatabaseTarget::parse("postgres://u@h/db"),
            DatabaseTarget::Postgres("postgres://u@h/db".into())
        );
        assert_eq!(
            DatabaseTarget::parse("sqlite:///tmp/x.db"),
            DatabaseTarget::Sqlite(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(
            DatabaseTarget::parse("x.db"),
            DatabaseTarget::Sqlite(PathBuf::from("x.db"))
        );
    }

    #[test]
    fn the_national_push_sync_is_off_by_default_and_needs_its_account() {
        assert_eq!(config(&[]).unwrap().national_sync, None);
        assert_eq!(
            config(&[("MOTCUA_DVCQG_URL", " ")]).unwrap().national_sync,
            None
        );
        let missing = config(&[("MOTCUA_DVCQG_URL", "https://dvcqg.example.vn/api")]).unwrap_err();
        assert_eq!(missing.name, "MOTCUA_DVCQG_USERNAME");
        let bad = config(&[("MOTCUA_DVCQG_URL", "ftp://x")]).unwrap_err();
        assert_eq!(bad.name, "MOTCUA_DVCQG_URL");
        let on = config(&[
            ("MOTCUA_DVCQG_URL", "https://dvcqg.example.vn/api/"),
            ("MOTCUA_DVCQG_USERNAME", "h22"),
            ("MOTCUA_DVCQG_PASSWORD", "secret"),
        ])
        .unwrap()
        .national_sync
        .unwrap();
        assert_eq!(on.url, "https://dvcqg.example.vn/api");
        assert_eq!(on.agency, "");
    }

    #[test]
    fn webhook_settings_have_defaults_and_checks() {
        let c = config(&[]).unwrap();
        assert_eq!(c.webhooks, WebhookSettings::default());
        assert_eq!(c.webhooks.max_attempts, 12);
        let c = config(&[
            ("MOTCUA_WEBHOOK_MAX_ATTEMPTS", "3"),
            ("MOTCUA_WEBHOOK_BACKOFF_BASE_MS", "250"),
            ("MOTCUA_WEBHOOK_WORKER", "false"),
        ])
        .unwrap();
        assert_eq!(c.webhooks.max_attempts, 3);
        assert_eq!(c.webhooks.backoff_base, Duration::from_millis(250));
        assert!(!c.webhooks.enabled);
        let err = config(&[("MOTCUA_WEBHOOK_LEASE_SECONDS", "5")]).unwrap_err();
        assert_eq!(err.name, "MOTCUA_WEBHOOK_LEASE_SECONDS");
        let err = config(&[("MOTCUA_WEBHOOK_MAX_ATTEMPTS", "0")]).unwrap_err();
        assert_eq!(err.name, "MOTCUA_WEBHOOK_MAX_ATTEMPTS");
    }

    #[test]
    fn the_listen_address_may_name_a_host() {
        let c = config(&[("MOTCUA_BIND", "localhost:8081")]).unwrap();
        assert!(c.bind.ip().is_loopback(), "{}", c.bind);
        assert_eq!(c.bind.port(), 8081);
        let c = config(&[("MOTCUA_BIND", " [::1]:9000 ")]).unwrap();
        assert_eq!(c.bind.to_string(), "[::1]:9000");
        for bad in ["localhost", "127.0.0.1:http-alt", "localhost:99999"] {
            let err = config(&[("MOTCUA_BIND", bad)]).unwrap_err();
            assert_eq!(err.name, "MOTCUA_BIND", "{bad}");
        }
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = config(&[("MOTCUA_DB_POOL_SIZE", "many")]).unwrap_err();
        assert_eq!(err.name, "MOTCUA_DB_POOL_SIZE");
        let err = config(&[("MOTCUA_LOG_FORMAT", "xml")]).unwrap_err();
        assert_eq!(err.name, "MOTCUA_LOG_FORMAT");
    }
}
