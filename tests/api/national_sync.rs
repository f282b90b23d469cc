//! The push sync to the national portal, against a fake portal the test starts: login, add, the
//! portal's "already exists" answer turning an add into an update, an ended session, failures
//! retried and, past the attempt limit, reported in the sync's status.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use actix_web::{HttpResponse, web};
use motcua::config::NationalSyncSettings;
use serde_json::{Value, json};

use crate::{
    backend_tests,
    catalogue::{PROCEDURE, seed_catalogue},
    helpers::{
        Backend, TestApp, TestDb, eventually, expect_json, serve_on_loopback,
        spawn_app_with_config, test_config,
    },
};

/// What the fake portal holds and saw.
#[derive(Default)]
struct PortalState {
    /// Records by MaHoSo.
    records: HashMap<String, Value>,
    /// Every accepted or refused sync: (MaHoSo, isUpdating, answer's error_code or HTTP status).
    log: Vec<(String, bool, String)>,
    logins: usize,
    /// The session the portal accepts now.
    session: Option<String>,
    /// Answers 503 to this many syncs.
    fail_next: usize,
}

struct FakePortal {
    url: String,
    state: Arc<Mutex<PortalState>>,
    handle: actix_web::dev::ServerHandle,
}

async fn login(body: web::Json<Value>, state: web::Data<Mutex<PortalState>>) -> HttpResponse {
    if body["username"] != "motcua-h22" || body["password"] != "mật khẩu cổng" {
        return HttpResponse::Unauthorized().finish();
    }
    let mut s = state.lock().unwrap();
    s.logins += 1;
    let session = format!("session-{}", s.logins);
    s.session = Some(session.clone());
    HttpResponse::Ok().json(json!({"session": session}))
}

async fn sync(body: web::Json<Value>, state: web::Data<Mutex<PortalState>>) -> HttpResponse {
    let mut s = state.lock().unwrap();
    let record = body["data"][0].clone();
    let code = record["MaHoSo"].as_str().unwrap_or_default().to_owned();
    let updating = body["isUpdating"] == "true";
    if body["service"] != "DongBoHoSoMC" || body["madonvi"] != "000.00.10.H22" {
        return HttpResponse::BadRequest().finish();
    }
    if s.session.as_deref() != body["session"].as_str() {
        s.log.push((code, updating, "401".into()));
        return HttpResponse::Unauthorized().finish();
    }
    if s.fail_next > 0 {
        s.fail_next -= 1;
        s.log.push((code, updating, "503".into()));
        return HttpResponse::ServiceUnavailable().finish();
    }
    if !updating && s.records.contains_key(&code) {
        s.log.push((code, updating, "-1".into()));
        return HttpResponse::Ok()
            .json(json!({"error_code": "-1", "message": "Hồ sơ đã tồn tại trên hệ thống"}));
    }
    s.log.push((code.clone(), updating, "0".into()));
    s.records.insert(code, record);
    HttpResponse::Ok().json(json!({"error_code": "0", "message": "Thành công"}))
}

impl FakePortal {
    async fn start(state: PortalState) -> Self {
        let state = Arc::new(Mutex::new(state));
        let data = web::Data::from(Arc::clone(&state));
        let (port, handle) = serve_on_loopback(move |cfg| {
            cfg.app_data(data.clone())
                .route("/api/login", web::post().to(login))
                .route("/api/sync", web::post().to(sync));
        });
        Self {
            url: format!("http://127.0.0.1:{port}/api"),
            state,
            handle,
        }
    }

    fn record(&self, code: &str) -> Option<Value> {
        self.state.lock().unwrap().records.get(code).cloned()
    }

    fn log(&self) -> Vec<(String, bool, String)> {
        self.state.lock().unwrap().log.clone()
    }
}

/// The application, pushing to `portal` with short retries.
async fn app_pushing_to(backend: Backend, portal: &FakePortal, max_attempts: u32) -> TestApp {
    let db = TestDb::create(backend);
    let mut config = test_config(db.target.clone());
    config.webhooks.poll_interval = Duration::from_millis(50);
    config.webhooks.backoff_base = Duration::from_millis(100);
    config.webhooks.backoff_max = Duration::from_millis(300);
    config.webhooks.max_attempts = max_attempts;
    config.national_sync = Some(NationalSyncSettings {
        url: portal.url.clone(),
        username: "motcua-h22".into(),
        password: "mật khẩu cổng".into(),
        agency: "000.00.10.H22".into(),
    });
    spawn_app_with_config(db, config).await
}

async fn receive(app: &TestApp, channel: &str, intake_check: bool, external_ref: &str) -> String {
    let body = json!({
        "procedure_code": PROCEDURE, "applicant": {"name": "Hộ kinh doanh Tân Phú"},
        "channel": channel, "received_at": "2025-04-24T09:00:00+07:00",
        "external_ref": external_ref, "intake_check": intake_check,
    });
    let d = expect_json(app.post_json("/api/v1/dossiers", &body).await, 201).await;
    d["code"].as_str().unwrap().to_owned()
}

backend_tests! {
    /// Two dossiers reach the portal through two failed attempts; the one the portal already has
    /// is updated instead of added; a later change goes as an update, after a new login when the
    /// portal ended the session. The status says what was synced and when.
    async fn dossiers_reach_the_portal_as_adds_then_updates(backend: Backend) {
        let existing = "SCT-250424-0001";
        let mut state = PortalState { fail_next: 2, ..PortalState::default() };
        state.records.insert(existing.into(), json!({"MaHoSo": existing, "TrangThaiHoSo": "1"}));
        let portal = FakePortal::start(state).await;
        let app = app_pushing_to(backend, &portal, 10).await;
        seed_catalogue(&app).await;
        let submitted = receive(&app, "online", true, "DVC-1").await;
        assert_eq!(submitted, existing);
        let direct = receive(&app, "direct", false, "DVC-2").await;

        eventually("both dossiers on the portal", async || {
            let got = (portal.record(&submitted)?, portal.record(&direct)?);
            (got.0["TenTTHC"].is_string()).then_some(got)
        }).await;
        let log = portal.log();
        assert_eq!(log.iter().filter(|(_, _, answer)| answer == "503").count(), 2, "{log:?}");
        assert!(log.contains(&(submitted.clone(), false, "-1".into())), "an add refused as existing: {log:?}");
        assert!(log.contains(&(submitted.clone(), true, "0".into())), "then an update: {log:?}");
        assert!(log.contains(&(direct.clone(), false, "0".into())), "{log:?}");
        assert_eq!(portal.record(&direct).unwrap()["TrangThaiHoSo"], "2");
        assert_eq!(portal.record(&submitted).unwrap()["TrangThaiHoSo"], "1");

        let status = eventually("the status to show both synced", async || {
            let s = expect_json(app.get("/api/v1/exports/dvcqg/status").await, 200).await;
            (s["synced"] == 2 && s["pending"] == 0).then_some(s)
        }).await;
        assert_eq!(status["enabled"], true);
        assert_eq!((status["failing"].as_i64(), status["failed"].as_i64()), (Some(0), Some(0)));
        assert!(status["last_synced_at"].is_string(), "{status}");
        assert_eq!(status["failures"], json!([]));

        // The portal ends the session; the next change logs in again and goes as an update.
        portal.state.lock().unwrap().session = None;
        let response = app.client.post(app.url(&format!("/api/v1/dossiers/{submitted}/actions")))
            .header("If-Match", "*").json(&json!({"action": "accept", "at": "2025-04-25T08:00:00+07:00"}))
            .send().await.unwrap();
        expect_json(response, 200).await;
        eventually("the acceptance on the portal", async || {
            (portal.record(&submitted)?["TrangThaiHoSo"] == "2").then_some(())
        }).await;
        let (logins, last) = {
            let s = portal.state.lock().unwrap();
            (s.logins, s.log.last().cloned().unwrap())
        };
        assert_eq!(logins, 2, "one login, and one after the session ended");
        assert_eq!((last.0.as_str(), last.1, last.2.as_str()), (submitted.as_str(), true, "0"));
        portal.handle.stop(false).await;
    }

    /// A portal that keeps failing: the dossier is retried up to the attempt limit, then shown as
    /// failed with the portal's answer; its next change starts over.
    async fn a_dossier_the_portal_keeps_refusing_is_reported_as_failed(backend: Backend) {
        let portal = FakePortal::start(PortalState { fail_next: usize::MAX, ..PortalState::default() }).await;
        let app = app_pushing_to(backend, &portal, 3).await;
        seed_catalogue(&app).await;
        let code = receive(&app, "direct", false, "DVC-F").await;
        let status = eventually("the dossier reported as failed", async || {
            let s = expect_json(app.get("/api/v1/exports/dvcqg/status").await, 200).await;
            (s["failed"] == 1).then_some(s)
        }).await;
        assert_eq!((status["synced"].as_i64(), status["pending"].as_i64()), (Some(0), Some(0)));
        let failure = &status["failures"][0];
        assert_eq!(failure["code"], code.as_str());
        assert_eq!(failure["attempts"], 3);
        assert_eq!(failure["last_error"], "sync: HTTP 503");
        assert_eq!(failure["next_attempt_at"], Value::Null);
        assert_eq!(portal.log().len(), 3, "exactly the attempt limit");

        // The portal recovers; the dossier's next change sends it again.
        portal.state.lock().unwrap().fail_next = 0;
        let response = app.client.post(app.url(&format!("/api/v1/dossiers/{code}/actions")))
            .header("If-Match", "*").json(&json!({"action": "start"})).send().await.unwrap();
        expect_json(response, 200).await;
        eventually("the dossier on the portal", async || {
            (portal.record(&code)?["TrangThaiHoSo"] == "4").then_some(())
        }).await;
        let s = eventually("the status to recover", async || {
            let s = expect_json(app.get("/api/v1/exports/dvcqg/status").await, 200).await;
            (s["synced"] == 1 && s["failed"] == 0).then_some(s)
        }).await;
        assert_eq!(s["failures"], json!([]));
        portal.handle.stop(false).await;
    }

    /// Without `MOTCUA_DVCQG_URL` nothing is pushed and the status says so; the changes are still
    /// marked, for an instance that pushes or a push switched on later.
    async fn without_a_portal_nothing_is_pushed(app: &TestApp) {
        seed_catalogue(app).await;
        receive(app, "direct", false, "DVC-N").await;
        let s = eventually("the change marked for the sync", async || {
            let s = expect_json(app.get("/api/v1/exports/dvcqg/status").await, 200).await;
            (s["pending"] == 1).then_some(s)
        })
        .await;
        assert_eq!(s["enabled"], false);
        assert_eq!((s["synced"].as_i64(), s["failing"].as_i64()), (Some(0), Some(0)));
        assert_eq!(s["last_synced_at"], Value::Null);
    }
}
