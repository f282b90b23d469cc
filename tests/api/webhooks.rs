//! Webhooks end to end: a real HTTP receiver in the test checks the Standard Webhooks signature,
//! answers 500 to force retries, or hangs while the service is stopped.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use actix_web::{HttpRequest, HttpResponse, web};
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use motcua::{
    auth::policy::{PrincipalKind, Role},
    config::WebhookSettings,
    startup::Application,
};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{
    backend_tests,
    catalogue::{PROCEDURE, seed_catalogue},
    helpers::{
        Backend, DEADLINE, TestApp, TestDb, client_with_token, create_user, eventually,
        expect_problem, poll_within, serve_on_loopback, test_config, token,
    },
};

/// Fast retries, a short lease and frequent scans, so that a test takes seconds.
pub fn fast_webhooks() -> WebhookSettings {
    WebhookSettings {
        poll_interval: Duration::from_millis(50),
        max_attempts: 4,
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
        timeout: Duration::from_secs(2),
        lease: Duration::from_secs(3),
        scan_interval: Duration::from_millis(200),
        // The receivers listen on the loopback interface.
        allow_private: true,
        ..WebhookSettings::default()
    }
}

/// An instance of the service whose task can be awaited until its worker has stopped too.
pub struct Instance {
    pub app: TestApp,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Instance {
    /// Stops the server, then waits until the webhook worker has stopped.
    pub async fn stop(self) -> TestApp {
        self.app.handle.stop(true).await;
        self.task
            .await
            .expect("the instance's task ends")
            .expect("the server ran");
        self.app
    }
}

async fn launch(
    config: motcua::config::Config,
) -> (
    String,
    actix_web::dev::ServerHandle,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let application = Application::build(config)
        .await
        .expect("application starts");
    let address = format!("http://127.0.0.1:{}", application.port());
    let handle = application.handle();
    let task = tokio::spawn(application.run_until_stopped());
    (address, handle, task)
}

/// The service on a fresh database, with `settings` for its worker.
pub async fn start(backend: Backend, settings: WebhookSettings) -> Instance {
    let db = TestDb::create(backend);
    let mut config = test_config(db.target.clone());
    config.webhooks = settings;
    let (address, handle, task) = launch(config).await;
    let client = client_with_token(Some(&crate::helpers::admin_token()));
    Instance {
        app: TestApp {
            address,
            client,
            anonymous: client_with_token(None),
            db,
            handle,
        },
        task,
    }
}

/// Another instance on the database of `app` (which keeps owning it).
pub async fn start_beside(
    app: &TestApp,
    settings: WebhookSettings,
) -> (
    String,
    actix_web::dev::ServerHandle,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let mut config = test_config(app.db.target.clone());
    config.webhooks = settings;
    launch(config).await
}

/// What the receiver does with the n-th request.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    Status(u16),
    /// Answers only after this long (longer than the service waits).
    Hang(Duration),
}

#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("the body is JSON")
    }
}

/// A webhook receiver on a random port: it records every request and answers from a script, then
/// with 204.
pub struct Receiver {
    pub url: String,
    pub log: Arc<Mutex<Vec<Received>>>,
    handle: actix_web::dev::ServerHandle,
}

struct Script {
    log: Arc<Mutex<Vec<Received>>>,
    replies: Mutex<std::collections::VecDeque<Reply>>,
}

async fn receive_hook(
    req: HttpRequest,
    body: web::Bytes,
    script: web::Data<Script>,
) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    script.log.lock().unwrap().push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let reply = script.replies.lock().unwrap().pop_front();
    match reply {
        None => HttpResponse::NoContent().finish(),
        Some(Reply::Status(code)) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap())
                .body("receiver says no")
        }
        Some(Reply::Hang(wait)) => {
            tokio::time::sleep(wait).await;
            HttpResponse::NoContent().finish()
        }
    }
}

impl Receiver {
    pub async fn start(replies: &[Reply]) -> Self {
        let log = Arc::new(Mutex::new(Vec::new()));
        let script = web::Data::new(Script {
            log: Arc::clone(&log),
            replies: Mutex::new(replies.iter().copied().collect()),
        });
        let (port, handle) = serve_on_loopback(move |cfg| {
            cfg.app_data(script.clone())
                .default_service(web::to(receive_hook));
        });
        Self {
            url: format!("http://127.0.0.1:{port}/hooks/motcua"),
            log,
            handle,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let got = poll_within(DEADLINE, async || {
            let got = self.received();
            (got.len() >= n).then_some(got)
        })
        .await;
        got.unwrap_or_else(|| panic!("expected {n} webhook requests, got {:#?}", self.received()))
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// Verifies a message as a receiver would, following the Standard Webhooks specification.
pub fn verify(secret: &str, message: &Received) {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("base64 key");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", message.id, message.timestamp, message.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    assert!(
        message.signature.split(' ').any(|s| s == expected),
        "signature {} does not verify",
        message.signature
    );
    let sent: i64 = message.timestamp.parse().expect("Unix seconds");
    assert!(
        (chrono::Utc::now().timestamp() - sent).abs() < 300,
        "fresh timestamp"
    );
}

fn receipt(received_at: Option<&str>, external_ref: Option<&str>) -> Value {
    json!({
        "procedure_code": PROCEDURE,
        "applicant": {"name": "Hộ kinh doanh Bình Minh", "phone": "0912 000 111"},
        "channel": "online",
        "received_at": received_at,
        "external_ref": external_ref,
    })
}

async fn receive(app: &TestApp, body: &Value) -> Value {
    let response = app.post_json("/api/v1/dossiers", body).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn act(app: &TestApp, code: &str, version: i64, body: Value) -> Value {
    let response = app
        .client
        .post(app.url(&format!("/api/v1/dossiers/{code}/actions")))
        .header("If-Match", format!("\"{version}\""))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn subscribe(app: &TestApp, bearer: Option<&str>, body: Value) -> Value {
    let mut request = app.client.post(app.url("/api/v1/webhooks")).json(&body);
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/webhooks/{}", created["id"]));
    created
}

/// Where to read: an instance's address and an administrator's client.
pub struct Api {
    pub address: String,
    pub client: reqwest::Client,
}

impl From<&TestApp> for Api {
    fn from(app: &TestApp) -> Self {
        Self {
            address: app.address.clone(),
            client: app.client.clone(),
        }
    }
}

async fn deliveries(api: &Api, webhook: &Value) -> Vec<Value> {
    let page: Value = api
        .client
        .get(format!(
            "{}/api/v1/webhooks/{}/deliveries",
            api.address, webhook["id"]
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().clone()
}

/// Waits until every delivery of the subscription is finished (none pending).
async fn settled(app: impl Into<Api>, webhook: &Value, expected: usize) -> Vec<Value> {
    let api: Api = app.into();
    let settled = poll_within(DEADLINE, async || {
        let items = deliveries(&api, webhook).await;
        (items.len() >= expected && items.iter().all(|d| d["status"] != "pending")).then_some(items)
    })
    .await;
    match settled {
        Some(items) => items,
        None => panic!(
            "deliveries did not settle: {:#?}",
            deliveries(&api, webhook).await
        ),
    }
}

/// The background worker's counters, as an instance's `/metrics` shows them.
#[derive(Debug, Clone, Copy)]
pub struct WorkerCounters {
    pub rounds: u64,
    pub deadline_scans: u64,
    pub attempts_in_flight: u64,
}

pub async fn worker_counters(api: &Api) -> WorkerCounters {
    let text = api
        .client
        .get(format!("{}/metrics", api.address))
        .send()
        .await
        .expect("the instance answers")
        .text()
        .await
        .unwrap();
    let metric = |name: &str| -> u64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
    };
    WorkerCounters {
        rounds: metric("motcua_worker_rounds_total"),
        deadline_scans: metric("motcua_worker_deadline_scans_total"),
        attempts_in_flight: metric("motcua_worker_webhook_attempts_in_flight"),
    }
}

/// Waits until the worker of every instance has finished two more rounds, the last of them with
/// no webhook attempt in flight. Every delivery that was due when the wait began has then been
/// attempted and answered: a message that could arrive twice would have arrived by now.
pub async fn workers_quiet(instances: &[&Api]) {
    let mut start = Vec::new();
    for api in instances {
        start.push(worker_counters(api).await.rounds);
    }
    eventually(
        "every worker to finish two rounds with nothing in flight",
        async || {
            for (api, start) in instances.iter().zip(&start) {
                let now = worker_counters(api).await;
                if now.rounds < start + 2 || now.attempts_in_flight > 0 {
                    return None;
                }
            }
            Some(())
        },
    )
    .await;
}

fn types(messages: &[Received]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m.json()["type"].as_str().unwrap().to_owned())
        .collect()
}

backend_tests! {
    /// Events of a dossier arrive signed, in order, once each, and the log shows each delivery.
    async fn signed_events_arrive_in_order(backend: Backend) {
        let service = start(backend, fast_webhooks()).await;
        let app = &service.app;
        seed_catalogue(app).await;
        let receiver = Receiver::start(&[]).await;
        let hook = subscribe(app, None, json!({
            "url": receiver.url,
            "events": ["dossier.received", "dossier.started", "dossier.forwarded", "dossier.resolved"],
            "description": "Cổng DVC tỉnh — môi trường thử",
        })).await;
        let secret = hook["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_") && STANDARD.decode(&secret[6..]).unwrap().len() >= 24);
        assert_eq!(hook["client_id"], Value::Null);
        let listed: Value = app.get("/api/v1/webhooks").await.json().await.unwrap();
        assert_eq!(listed["items"][0]["id"], hook["id"]);
        assert!(listed["items"][0].get("secret").is_none(), "the secret is shown once");

        let d = receive(app, &receipt(None, Some("DVC-WH-1"))).await;
        let code = d["code"].as_str().unwrap().to_owned();
        act(app, &code, 1, json!({"action": "start"})).await;
        act(app, &code, 2, json!({"action": "request_supplement", "reason": "Thiếu bản sao"})).await;
        act(app, &code, 3, json!({"action": "supplement_received"})).await;
        create_user(app, "cv.an", "specialist", Some("QLTM")).await;
        act(app, &code, 4, json!({"action": "forward", "to_user": "cv.an"})).await;

        let messages = receiver.wait_for(3).await;
        // The supplement events were not subscribed.
        assert_eq!(types(&messages), ["dossier.received", "dossier.started", "dossier.forwarded"]);
        for message in &messages {
            verify(&secret, message);
            let body = message.json();
            assert_eq!(body["data"]["code"], code.as_str());
            assert_eq!(body["data"]["external_ref"], "DVC-WH-1");
            assert!(body["data"].get("applicant").is_none(), "no personal data in events");
        }
        let forwarded = messages[2].json();
        let national: Vec<i64> = messages.iter().map(|m| m.json()["data"]["national_status"].as_i64().unwrap()).collect();
        assert_eq!(national, [2, 4, 4], "received, then processing, on the national portal's scale");
        assert_eq!(forwarded["data"]["version"], 5);
        assert_eq!(forwarded["data"]["current_step"]["unit_code"], "QLTM");
        assert_eq!(forwarded["data"]["details"]["to_unit_code"], "QLTM");
        assert_eq!(forwarded["data"]["details"]["actor"], "admin");
        let ids: std::collections::HashSet<&str> = messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids.len(), 3, "one webhook-id per event");

        let log = settled(app, &hook, 3).await;
        assert_eq!(log.len(), 3);
        // Newest first.
        assert_eq!(log[0]["event_type"], "dossier.forwarded");
        for delivery in &log {
            assert_eq!(delivery["status"], "delivered");
            assert_eq!(delivery["attempts"], 1);
            assert_eq!(delivery["attempt_log"][0]["status_code"], 204);
            assert_eq!(delivery["dossier_code"], code.as_str());
        }
        assert_eq!(log[2]["message_id"], messages[0].id.as_str());
        workers_quiet(&[&app.into()]).await;
        assert_eq!(receiver.received().len(), 3, "nothing is sent twice");

        let audit: Value = app.get(&format!("/api/v1/audit?entity_type=webhook&entity_id={}", hook["id"])).await.json().await.unwrap();
        assert_eq!(audit["items"][0]["action"], "webhook.create");
        assert!(!audit.to_string().contains(&secret), "the audit log never holds the secret");
        receiver.stop().await;
        drop(service.stop().await);
    }

    /// A 500 is retried with backoff until a 2xx; the next event of the dossier waits for it.
    async fn retries_after_a_500_and_keeps_order(backend: Backend) {
        let service = start(backend, fast_webhooks()).await;
        let app = &service.app;
        seed_catalogue(app).await;
        let receiver = Receiver::start(&[Reply::Status(500), Reply::Status(503)]).await;
        let hook = subscribe(app, None, json!({"url": receiver.url, "events": ["dossier.received", "dossier.started"]})).await;
        let secret = hook["secret"].as_str().unwrap().to_owned();
        let d = receive(app, &receipt(None, None)).await;
        let code = d["code"].as_str().unwrap().to_owned();
        act(app, &code, 1, json!({"action": "start"})).await;

        let messages = receiver.wait_for(4).await;
        assert_eq!(types(&messages), ["dossier.received", "dossier.received", "dossier.received", "dossier.started"]);
        assert!(messages[..3].iter().all(|m| m.id == messages[0].id), "retries keep the webhook-id");
        assert_ne!(messages[3].id, messages[0].id);
        for message in &messages {
            verify(&secret, message);
        }
        let log = settled(app, &hook, 2).await;
        let received = &log[1];
        assert_eq!(received["event_type"], "dossier.received");
        assert_eq!(received["status"], "delivered");
        assert_eq!(received["attempts"], 3);
        let codes: Vec<&Value> = received["attempt_log"].as_array().unwrap().iter().map(|a| &a["status_code"]).collect();
        assert_eq!(codes, [&json!(500), &json!(503), &json!(204)]);
        assert_eq!(received["attempt_log"][0]["error"], "HTTP 500 Internal Server Error");
        assert_eq!(received["last_error"], Value::Null);
        assert_eq!(log[0]["attempts"], 1);
        receiver.stop().await;
        drop(service.stop().await);
    }

    /// After the last allowed attempt a delivery is failed; a manual redelivery sends it again.
    async fn fails_after_the_limit_and_can_be_redelivered(backend: Backend) {
        let settings = WebhookSettings { max_attempts: 2, ..fast_webhooks() };
        let service = start(backend, settings).await;
        let app = &service.app;
        seed_catalogue(app).await;
        let receiver = Receiver::start(&[Reply::Status(500), Reply::Status(500)]).await;
        let hook = subscribe(app, None, json!({"url": receiver.url, "events": ["dossier.received", "dossier.started"]})).await;
        let d = receive(app, &receipt(None, None)).await;
        let code = d["code"].as_str().unwrap().to_owned();
        act(app, &code, 1, json!({"action": "start"})).await;
        // The failed event stops blocking its dossier: the next one goes out.
        let log = settled(app, &hook, 2).await;
        let failed = log.iter().find(|d| d["event_type"] == "dossier.received").unwrap().clone();
        assert_eq!(failed["status"], "failed");
        assert_eq!(failed["attempts"], 2);
        assert_eq!(failed["last_status_code"], 500);
        let failed_only: Value = app.get(&format!("/api/v1/webhooks/{}/deliveries?status=failed", hook["id"])).await.json().await.unwrap();
        assert_eq!(failed_only["items"].as_array().unwrap().len(), 1);
        assert_eq!(types(&receiver.received()), ["dossier.received", "dossier.received", "dossier.started"]);

        let path = format!("/api/v1/webhooks/{}/deliveries/{}/redeliver", hook["id"], failed["id"]);
        let again = app.client.post(app.url(&path)).send().await.unwrap();
        assert_eq!(again.status(), 202);
        let again: Value = again.json().await.unwrap();
        assert_eq!(again["redelivery_of"], failed["id"]);
        assert_eq!(again["message_id"], failed["message_id"]);
        let messages = receiver.wait_for(4).await;
        assert_eq!(messages[3].id, failed["message_id"].as_str().unwrap());
        verify(hook["secret"].as_str().unwrap(), &messages[3]);
        let log = settled(app, &hook, 3).await;
        assert_eq!(log[0]["status"], "delivered");
        assert_eq!(log[0]["id"], again["id"]);

        // A pending delivery cannot be redelivered; unknown ones are 404.
        expect_problem(app.client.post(app.url(&format!("/api/v1/webhooks/{}/deliveries/999999/redeliver", hook["id"]))).send().await.unwrap(), 404).await;
        receiver.stop().await;
        drop(service.stop().await);
    }

    /// The service stops while the receiver is still answering; a new instance on the same
    /// database delivers the event once the first one's lease has run out.
    async fn pending_delivery_survives_a_restart(backend: Backend) {
        let first = start(backend, fast_webhooks()).await;
        seed_catalogue(&first.app).await;
        let receiver = Receiver::start(&[Reply::Hang(Duration::from_secs(30))]).await;
        let hook = subscribe(&first.app, None, json!({"url": receiver.url, "events": ["dossier.received"]})).await;
        let d = receive(&first.app, &receipt(None, None)).await;
        receiver.wait_for(1).await;
        // Stopped mid-attempt: the answer never reaches the first instance.
        let app = first.stop().await;
        assert_eq!(receiver.received().len(), 1);

        let (address, handle, task) = start_beside(&app, fast_webhooks()).await;
        let second = Api { address, client: app.client.clone() };
        let messages = receiver.wait_for(2).await;
        assert_eq!(messages[1].id, messages[0].id, "the same event, not a new one");
        verify(hook["secret"].as_str().unwrap(), &messages[1]);
        assert_eq!(messages[1].json()["data"]["code"], d["code"]);
        workers_quiet(&[&second]).await;
        let log = settled(second, &hook, 1).await;
        assert_eq!(log[0]["status"], "delivered");
        assert_eq!(log[0]["attempts"], 2);
        let first_attempt = &log[0]["attempt_log"][0];
        assert_eq!(first_attempt["status_code"], Value::Null);
        assert!(first_attempt["error"].as_str().unwrap().starts_with("abandoned"), "{first_attempt}");
        assert_eq!(log[0]["attempt_log"][1]["status_code"], 204);
        assert_eq!(receiver.received().len(), 2, "delivered once after the restart");
        handle.stop(true).await;
        task.await.unwrap().unwrap();
        receiver.stop().await;
    }

    /// `dossier.overdue` and `dossier.due_soon` come from the periodic scan, once per dossier even
    /// with two instances scanning.
    async fn deadline_events_are_emitted_once(backend: Backend) {
        // 80 working hours: a dossier due in 5 working days is "due soon".
        let settings = WebhookSettings { due_soon_working_hours: 80, ..fast_webhooks() };
        let service = start(backend, settings.clone()).await;
        let app = &service.app;
        seed_catalogue(app).await;
        let receiver = Receiver::start(&[]).await;
        subscribe(app, None, json!({"url": receiver.url, "events": ["dossier.due_soon", "dossier.overdue"]})).await;
        let late = receive(app, &receipt(Some("2025-03-03T08:00:00+07:00"), None)).await;
        let fresh = receive(app, &receipt(None, None)).await;
        let (second_address, handle, task) = start_beside(app, settings).await;
        receiver.wait_for(2).await;
        // Each instance scans twice more, then both go quiet: an event emitted a second time
        // would have been delivered by then.
        let instances = [Api::from(app), Api { address: second_address, client: app.client.clone() }];
        let mut scans = Vec::new();
        for api in &instances {
            scans.push(worker_counters(api).await.deadline_scans);
        }
        eventually("two more deadline scans by each instance", async || {
            for (api, start) in instances.iter().zip(&scans) {
                if worker_counters(api).await.deadline_scans < start + 2 {
                    return None;
                }
            }
            Some(())
        }).await;
        workers_quiet(&[&instances[0], &instances[1]]).await;
        let messages = receiver.received();
        let mut seen: Vec<(String, String)> = messages.iter().map(|m| {
            let body = m.json();
            (body["type"].as_str().unwrap().to_owned(), body["data"]["code"].as_str().unwrap().to_owned())
        }).collect();
        seen.sort();
        let mut expected = vec![
            ("dossier.due_soon".to_owned(), fresh["code"].as_str().unwrap().to_owned()),
            ("dossier.overdue".to_owned(), late["code"].as_str().unwrap().to_owned()),
        ];
        expected.sort();
        assert_eq!(seen, expected);
        let overdue = messages.iter().map(Received::json).find(|b| b["type"] == "dossier.overdue").unwrap();
        assert!(overdue["data"]["details"]["minutes_past_due"].as_i64().unwrap() > 0);
        handle.stop(true).await;
        task.await.unwrap().unwrap();
        receiver.stop().await;
        drop(service.stop().await);
    }

    /// A portal client manages only its own subscriptions and hears only of its own dossiers.
    async fn portal_clients_see_only_their_own(backend: Backend) {
        let service = start(backend, fast_webhooks()).await;
        let app = &service.app;
        seed_catalogue(app).await;
        let client: Value = app.post_json("/api/v1/clients", &json!({"name": "Cổng DVC"})).await.json().await.unwrap();
        let client_id = client["client_id"].as_str().unwrap().to_owned();
        let portal = token(Role::Portal, None, &client_id, PrincipalKind::Client);
        let stranger = token(Role::Portal, None, "cl_stranger", PrincipalKind::Client);
        let receiver = Receiver::start(&[]).await;
        let admin_hook = subscribe(app, None, json!({"url": format!("{}?admin", receiver.url), "events": ["dossier.received"]})).await;
        let own = subscribe(app, Some(&portal), json!({"url": receiver.url, "events": ["dossier.received"]})).await;
        assert_eq!(own["client_id"], client_id.as_str());

        let mine: Value = app.get_as(&portal, "/api/v1/webhooks").await.json().await.unwrap();
        assert_eq!(mine["items"].as_array().unwrap().len(), 1);
        let all: Value = app.get("/api/v1/webhooks").await.json().await.unwrap();
        assert_eq!(all["items"].as_array().unwrap().len(), 2);
        expect_problem(app.get_as(&portal, &format!("/api/v1/webhooks/{}", admin_hook["id"])).await, 404).await;
        expect_problem(app.get_as(&stranger, &format!("/api/v1/webhooks/{}/deliveries", own["id"])).await, 404).await;
        let foreign = app.client.delete(app.url(&format!("/api/v1/webhooks/{}", own["id"]))).bearer_auth(&stranger).send().await.unwrap();
        expect_problem(foreign, 404).await;
        let for_other = app.client.post(app.url("/api/v1/webhooks")).bearer_auth(&portal)
            .json(&json!({"url": receiver.url, "events": ["dossier.received"], "client_id": "cl_other"})).send().await.unwrap();
        expect_problem(for_other, 403).await;
        let reception = token(Role::Reception, None, "tn.mai", PrincipalKind::User);
        expect_problem(app.get_as(&reception, "/api/v1/webhooks").await, 403).await;

        // A counter dossier reaches only the administrators' subscription; the client's own reaches both.
        receive(app, &receipt(None, Some("COUNTER-1"))).await;
        let response = app.client.post(app.url("/api/v1/dossiers")).bearer_auth(&portal).json(&receipt(None, Some("PORTAL-1"))).send().await.unwrap();
        assert_eq!(response.status(), 201);
        settled(app, &admin_hook, 2).await;
        settled(app, &own, 1).await;
        workers_quiet(&[&app.into()]).await;
        let refs: Vec<String> = receiver.received().iter()
            .map(Received::json)
            .map(|b| b["data"]["external_ref"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(refs.len(), 3);
        assert_eq!(refs.iter().filter(|r| *r == "PORTAL-1").count(), 2);
        assert_eq!(refs.iter().filter(|r| *r == "COUNTER-1").count(), 1);
        let own_log = deliveries(&app.into(), &own).await;
        assert_eq!(own_log.len(), 1);
        assert_eq!(own_log[0]["dossier_code"], app_dossier_code(app, "PORTAL-1").await);

        let deleted = app.client.delete(app.url(&format!("/api/v1/webhooks/{}", own["id"]))).bearer_auth(&portal).send().await.unwrap();
        assert_eq!(deleted.status(), 204);
        expect_problem(app.get_as(&portal, &format!("/api/v1/webhooks/{}", own["id"])).await, 404).await;
        receiver.stop().await;
        drop(service.stop().await);
    }

    /// Two instances deliver side by side: every event arrives exactly once, and the events of each
    /// dossier in the order they happened.
    async fn two_instances_deliver_each_event_once_in_order(backend: Backend) {
        let service = start(backend, fast_webhooks()).await;
        let app = &service.app;
        seed_catalogue(app).await;
        let (second_address, handle, task) = start_beside(app, fast_webhooks()).await;
        let receiver = Receiver::start(&[]).await;
        let hook = subscribe(app, None, json!({"url": receiver.url, "events": ["dossier.received", "dossier.started", "dossier.forwarded"]})).await;
        let mut codes = Vec::new();
        for i in 0..6 {
            let d = receive(app, &receipt(None, Some(&format!("PAR-{i}")))).await;
            codes.push(d["code"].as_str().unwrap().to_owned());
        }
        for (i, code) in codes.iter().enumerate() {
            // Half of the actions go through the second instance.
            let base = if i % 2 == 0 { app.address.clone() } else { second_address.clone() };
            for (version, body) in [(1, json!({"action": "start"})), (2, json!({"action": "forward"}))] {
                let response = app.client.post(format!("{base}/api/v1/dossiers/{code}/actions"))
                    .header("If-Match", format!("\"{version}\"")).json(&body).send().await.unwrap();
                assert_eq!(response.status(), 200);
            }
        }
        settled(app, &hook, 18).await;
        workers_quiet(&[&app.into(), &Api { address: second_address.clone(), client: app.client.clone() }]).await;
        let messages = receiver.received();
        assert_eq!(messages.len(), 18, "each event once");
        let ids: std::collections::HashSet<&str> = messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids.len(), 18);
        for code in &codes {
            let of_dossier: Vec<String> = messages.iter().map(Received::json)
                .filter(|b| b["data"]["code"] == code.as_str())
                .map(|b| b["type"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(of_dossier, ["dossier.received", "dossier.started", "dossier.forwarded"], "{code}");
        }
        handle.stop(true).await;
        task.await.unwrap().unwrap();
        receiver.stop().await;
        drop(service.stop().await);
    }

    async fn subscription_validation_names_fields(backend: Backend) {
        let service = start(backend, fast_webhooks()).await;
        let app = &service.app;
        let field = |body: Value| {
            let app = &app;
            async move {
                let problem = expect_problem(app.post_json("/api/v1/webhooks", &body).await, 422).await;
                problem["errors"][0]["field"].as_str().unwrap().to_owned()
            }
        };
        assert_eq!(field(json!({"url": "ftp://x.vn/", "events": ["dossier.received"]})).await, "url");
        assert_eq!(field(json!({"url": "https://u:p@x.vn/", "events": ["dossier.received"]})).await, "url");
        assert_eq!(field(json!({"url": format!("https://x.vn/{}", "a".repeat(2100)), "events": ["dossier.received"]})).await, "url");
        assert_eq!(field(json!({"url": "https://x.vn/", "events": []})).await, "events");
        assert_eq!(field(json!({"url": "https://x.vn/", "events": ["dossier.lost"]})).await, "events[0]");
        assert_eq!(field(json!({"url": "https://x.vn/", "events": ["dossier.received"], "description": "d".repeat(201)})).await, "description");
        assert_eq!(field(json!({"url": "https://x.vn/", "events": ["dossier.received"], "client_id": "cl_nobody"})).await, "client_id");
        expect_problem(app.client.put(app.url("/api/v1/webhooks")).send().await.unwrap(), 405).await;
        expect_problem(app.anonymous.get(app.url("/api/v1/webhooks")).send().await.unwrap(), 401).await;
        drop(service.stop().await);
    }
}

async fn app_dossier_code(app: &TestApp, external_ref: &str) -> String {
    let page: Value = app
        .get(&format!("/api/v1/dossiers?external_ref={external_ref}"))
        .await
        .json()
        .await
        .unwrap();
    page["items"][0]["code"].as_str().unwrap().to_owned()
}
