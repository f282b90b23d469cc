//! Test harness: the real application on a random port against a fresh database.

use std::{
    collections::HashSet,
    path::PathBuf,
    sync::Mutex,
    time::{Duration, Instant},
};

use actix_web::web;
use diesel::{Connection, RunQueryDsl, pg::PgConnection};
use motcua::{
    auth::{
        policy::{PrincipalKind, Role},
        token::TokenService,
    },
    config::{Config, DatabaseTarget},
    startup::{Application, ExtraRoutes},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists only for one test: a temporary SQLite file, or a PostgreSQL database
/// created on the server named by `MOTCUA_TEST_POSTGRES_URL` and dropped afterwards.
pub struct TestDb {
    pub target: DatabaseTarget,
    cleanup: Cleanup,
}

enum Cleanup {
    /// Owned by another handle.
    None,
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
}

pub fn postgres_admin_url() -> String {
    std::env::var("MOTCUA_TEST_POSTGRES_URL")
        .expect("MOTCUA_TEST_POSTGRES_URL must be set for PostgreSQL tests")
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let server = base.rsplit_once('/').map_or(base, |(s, _)| s);
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

impl TestDb {
    pub fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let path: PathBuf = dir.path().join("motcua.db");
                Self {
                    target: DatabaseTarget::Sqlite(path),
                    cleanup: Cleanup::Sqlite(dir),
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("motcua_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::establish(&admin_url).expect("connect to PostgreSQL");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .expect("create test database");
                Self {
                    target: DatabaseTarget::Postgres(with_database(&admin_url, &name)),
                    cleanup: Cleanup::Postgres { admin_url, name },
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin);
        }
    }
}

/// What `DATABASE_URL` names for the command line and a server process: a file path or a URL.
pub fn database_url(target: &DatabaseTarget) -> String {
    match target {
        DatabaseTarget::Sqlite(path) => path.display().to_string(),
        DatabaseTarget::Postgres(url) => url.clone(),
    }
}

pub fn test_config(target: DatabaseTarget) -> Config {
    let mut config = Config::from_lookup(|_| None).expect("default configuration");
    config.bind = "127.0.0.1:0".parse().expect("address");
    config.database = target;
    config.workers = 2;
    config.pool_size = 4;
    config.pool_timeout = Duration::from_secs(2);
    config.shutdown_timeout = Duration::from_secs(1);
    config.body_limit = 64 * 1024;
    config.log_filter = std::env::var("MOTCUA_TEST_LOG").unwrap_or_else(|_| "off".to_owned());
    config.jwt.secret = Some(TEST_JWT_SECRET.to_owned());
    // The tests' webhook receivers listen on the loopback interface.
    config.webhooks.allow_private = true;
    // Each app keeps its documents in a directory of its own.
    config.storage = motcua::config::StorageSettings::directory(&std::env::temp_dir().join(
        format!("motcua-test-documents-{}", uuid::Uuid::new_v4().simple()),
    ));
    config
}

pub const TEST_JWT_SECRET: &str = "9namBOm3j2d1hc5cK2qTh3HE5Kh6jnJw5y9valvM4zS5PO7S";

/// Signs a token the test app accepts, as the token endpoint or the identity provider would.
pub fn token(role: Role, unit_code: Option<&str>, subject: &str, kind: PrincipalKind) -> String {
    let settings =
        motcua::startup::token_settings(&test_config(DatabaseTarget::Sqlite("unused".into())))
            .expect("token settings");
    TokenService::new(settings)
        .expect("token service")
        .issue(subject, role, unit_code, kind, chrono::Utc::now())
        .expect("token issued")
        .access_token
}

pub fn admin_token() -> String {
    token(Role::Admin, None, "admin", PrincipalKind::User)
}

/// A client for the tests' requests, with the caller's bearer token when given. Installs the TLS
/// crypto provider first: reqwest is built without a default one, and a test whose server runs in
/// another process would otherwise have none.
pub fn client_builder(token: Option<&str>) -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = token {
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().expect("header value"),
        );
    }
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        // Below the server's keep-alive (5 s): a pooled connection is never reused just as the
        // server closes it, which fails the request with "connection closed before message
        // completed" on a busy machine.
        .pool_idle_timeout(Duration::from_secs(2))
}

pub fn client_with_token(token: Option<&str>) -> reqwest::Client {
    client_builder(token).build().expect("client")
}

pub struct TestApp {
    pub address: String,
    /// Sends an admin token with every request (a request's own Authorization header wins).
    pub client: reqwest::Client,
    /// Sends no token.
    pub anonymous: reqwest::Client,
    pub db: TestDb,
    pub handle: actix_web::dev::ServerHandle,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// GET as another caller.
    pub async fn get_as(&self, token: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    /// Stops the server (its workers are threads that would otherwise outlive the test).
    pub async fn shutdown(self) {
        self.handle.stop(false).await;
    }
}

/// Routes only the tests mount, to reach failure paths no real endpoint should have.
fn test_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/test/panic").get(|| async {
        if true {
            panic!("deliberate test panic");
        }
        "unreachable"
    }))
    .service(
        web::resource("/test/slow").get(|query: web::Query<SlowQuery>| async move {
            if let Some(tag) = query.into_inner().tag {
                SLOW_STARTED
                    .lock()
                    .unwrap()
                    .get_or_insert_with(HashSet::new)
                    .insert(tag);
            }
            tokio::time::sleep(Duration::from_millis(700)).await;
            "finished"
        }),
    )
    .service(web::resource("/test/echo").post(
        |body: motcua::http::extract::ApiJson<EchoBody>| async move {
            web::Json(serde_json::json!({ "name": body.0.name, "count": body.0.count }))
        },
    ));
}

/// Tags of the `/test/slow?tag=…` requests whose handler has started.
static SLOW_STARTED: Mutex<Option<HashSet<String>>> = Mutex::new(None);

#[derive(serde::Deserialize)]
pub struct SlowQuery {
    tag: Option<String>,
}

/// Whether the server has started handling the `/test/slow` request with `tag`.
pub fn slow_request_started(tag: &str) -> bool {
    SLOW_STARTED
        .lock()
        .unwrap()
        .as_ref()
        .is_some_and(|tags| tags.contains(tag))
}

#[derive(serde::Deserialize)]
pub struct EchoBody {
    name: String,
    count: u32,
}

pub async fn spawn_app_on(db: TestDb, extra: Option<ExtraRoutes>) -> TestApp {
    let config = test_config(db.target.clone());
    start(db, config, extra).await
}

pub async fn spawn_app_with_config(db: TestDb, config: Config) -> TestApp {
    start(db, config, None).await
}

async fn start(db: TestDb, config: Config, extra: Option<ExtraRoutes>) -> TestApp {
    // Logs only on request: the subscriber's panic hook would otherwise sit between a failing
    // assertion and the test harness's captured output.
    if let Ok(filter) = std::env::var("MOTCUA_TEST_LOG") {
        motcua::telemetry::init(&filter, motcua::config::LogFormat::Text);
    }
    let app = Application::build_with(config, extra)
        .await
        .expect("application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: client_with_token(Some(&admin_token())),
        anonymous: client_with_token(None),
        db,
        handle,
    }
}

/// A second instance of the service on the same database as `app` (it does not own the database).
pub async fn spawn_instance(app: &TestApp) -> TestApp {
    let application = Application::build(test_config(app.db.target.clone()))
        .await
        .expect("second instance starts");
    let address = format!("http://127.0.0.1:{}", application.port());
    let handle = application.handle();
    tokio::spawn(application.run_until_stopped());
    TestApp {
        address,
        client: app.client.clone(),
        anonymous: app.anonymous.clone(),
        db: TestDb {
            target: app.db.target.clone(),
            cleanup: Cleanup::None,
        },
        handle,
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_on(TestDb::create(backend), Some(test_routes)).await
}

/// Creates a local account (as the test administrator).
pub async fn create_user(app: &TestApp, username: &str, role: &str, unit_code: Option<&str>) {
    let body = serde_json::json!({
        "username": username, "password": "Mật khẩu đủ dài 2025", "role": role, "unit_code": unit_code,
    });
    let response = app.post_json("/api/v1/users", &body).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
}

/// Reads the JSON body of a response that must have `status` (the body is shown when it has not).
pub async fn expect_json(response: reqwest::Response, status: u16) -> serde_json::Value {
    let got = response.status();
    let body = response.text().await.expect("a body");
    assert_eq!(got, status, "{body}");
    serde_json::from_str(&body).expect("a JSON body")
}

/// Reads a problem document, checking its content type and status.
pub async fn expect_problem(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "unexpected status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: serde_json::Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status);
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("/problems/")),
        "{body}"
    );
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    body
}

/// Starts a test's stand-in for an outside system (a webhook receiver, the national portal) on a
/// random loopback port; returns the port and the handle that stops it.
pub fn serve_on_loopback(
    routes: impl Fn(&mut actix_web::web::ServiceConfig) + Send + Clone + 'static,
) -> (u16, actix_web::dev::ServerHandle) {
    let server =
        actix_web::HttpServer::new(move || actix_web::App::new().configure(routes.clone()))
            .workers(1)
            .shutdown_timeout(0)
            .bind("127.0.0.1:0")
            .expect("a loopback port");
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    (port, handle)
}

/// How long a test waits for something that is bound to happen before it fails.
pub const DEADLINE: Duration = Duration::from_secs(30);
/// How often a waiting test looks again.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Polls `check` until it gives a value or `within` has passed (then `None`). Tests wait for a
/// condition this way, never for a fixed time.
pub async fn poll_within<T>(
    within: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if start.elapsed() >= within {
            return None;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Polls `check` until it gives a value; fails the test, naming `what` it waited for, after
/// [`DEADLINE`].
pub async fn eventually<T>(
    what: impl std::fmt::Display,
    check: impl AsyncFnMut() -> Option<T>,
) -> T {
    match poll_within(DEADLINE, check).await {
        Some(value) => value,
        None => panic!("waited {DEADLINE:?} in vain for {what}"),
    }
}

/// Declares tests that run once on SQLite (`…::sqlite`) and once on PostgreSQL (`…::postgres`,
/// ignored with the reason when `MOTCUA_TEST_POSTGRES_URL` was not set at build time, so that the
/// number of tests is the same either way). Two forms, which may be mixed:
/// - `async fn name(app: &TestApp) { … }` runs on a fresh application with the test routes;
/// - `async fn name(backend: Backend) { … }` sets itself up on `backend` (its own configuration,
///   several instances, a server process…).
#[macro_export]
macro_rules! backend_tests {
    () => {};
    ($(#[doc = $doc:expr])* async fn $name:ident($app:ident : &TestApp) $body:block $($rest:tt)*) => {
        $crate::backend_tests! {
            $(#[doc = $doc])*
            async fn $name(backend: Backend) {
                async fn body($app: &$crate::helpers::TestApp) $body
                let app = $crate::helpers::spawn_app(backend).await;
                body(&app).await;
                app.shutdown().await;
            }
            $($rest)*
        }
    };
    ($(#[doc = $doc:expr])* async fn $name:ident($backend:ident : Backend) $body:block $($rest:tt)*) => {
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use $crate::helpers::{Backend, TestApp};

            async fn run($backend: Backend) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(motcua_test_postgres), ignore = "set MOTCUA_TEST_POSTGRES_URL to run on PostgreSQL")]
            async fn postgres() {
                run(Backend::Postgres).await;
            }
        }
        $crate::backend_tests! { $($rest)* }
    };
}

/// Declares tests that only PostgreSQL can run (advisory locks, terminated backends, concurrent
/// open transactions); without `MOTCUA_TEST_POSTGRES_URL` at build time they are reported as
/// ignored, with the reason.
#[macro_export]
macro_rules! postgres_tests {
    ($($(#[doc = $doc:expr])* async fn $name:ident() $body:block)*) => {$(
        $(#[doc = $doc])*
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[cfg_attr(not(motcua_test_postgres), ignore = "PostgreSQL only: set MOTCUA_TEST_POSTGRES_URL to run it")]
        async fn $name() $body
    )*};
}
