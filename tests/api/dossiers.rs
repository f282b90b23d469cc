//! The life of a dossier through the API, on both databases.

use motcua::auth::policy::{PrincipalKind, Role};
use serde_json::{Value, json};

use crate::{
    backend_tests,
    catalogue::{PROCEDURE, seed_catalogue},
    helpers::{TestApp, create_user, expect_problem, token},
};

pub fn receipt(received_at: Option<&str>, external_ref: Option<&str>) -> Value {
    json!({
        "procedure_code": PROCEDURE,
        "applicant": {"name": "Công ty TNHH An Phát", "id_number": "0101234567", "phone": "0912 345 678", "email": "lienhe@anphat.vn"},
        "channel": "direct",
        "received_at": received_at,
        "external_ref": external_ref,
    })
}

async fn receive(app: &TestApp, body: &Value) -> Value {
    let response = app.post_json("/api/v1/dossiers", body).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

/// Posts an action with `If-Match: "version"`; returns the response.
async fn act(app: &TestApp, code: &str, version: i64, body: Value) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/dossiers/{code}/actions")))
        .header("If-Match", format!("\"{version}\""))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn act_ok(app: &TestApp, code: &str, version: i64, body: Value) -> Value {
    let response = act(app, code, version, body).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let dossier: Value = response.json().await.unwrap();
    assert_eq!(etag, format!("\"{}\"", dossier["version"]));
    dossier
}

backend_tests! {
    /// Received on the Friday afternoon before Tết 2025, paused over a weekend, resumed and
    /// resolved late. Every expected instant below is worked out by hand (office hours 07:30–11:30,
    /// 13:00–17:00; Tết holidays 28 Jan–1 Feb 2025; 3 Feb a compensatory day off):
    /// - due: 5 working days from Fri 24 Jan 14:00 = 3 h on 24 Jan, 8 h on 27 Jan, then 4, 5, 6 Feb
    ///   and 5 h of 7 Feb → Fri 7 Feb 14:00;
    /// - the pause from Fri 7 Feb 10:00 to Mon 10 Feb 09:00 covers 5.5 h + 1.5 h = 7 working hours,
    ///   so the due instant moves to Mon 10 Feb 11:30 (the end of the morning session).
    async fn dossier_across_tet_with_a_pause_resolved_late(app: &TestApp) {
        seed_catalogue(app).await;
        let response = app.post_json("/api/v1/dossiers", &receipt(Some("2025-01-24T14:00:00+07:00"), Some("DVC-2025-000123"))).await;
        assert_eq!(response.status(), 201);
        assert_eq!(response.headers()["location"], "/api/v1/dossiers/SCT-250124-0001");
        assert_eq!(response.headers()["etag"], "\"1\"");
        let d: Value = response.json().await.unwrap();
        let code = d["code"].as_str().unwrap().to_owned();
        assert_eq!(code, "SCT-250124-0001");
        assert_eq!(d["status"], "received");
        assert_eq!(d["due_at"], "2025-02-07T14:00:00+07:00");
        assert_eq!(d["current_step"]["unit_code"], "MC");
        // Reception's 4 h: 3 h on Friday, 1 h on Monday.
        assert_eq!(d["current_step"]["due_at"], "2025-01-27T08:30:00+07:00");
        let secret = d["lookup_secret"].as_str().unwrap().to_owned();
        assert_eq!(secret.len(), 32);

        let d = act_ok(app, &code, 1, json!({"action": "start", "at": "2025-01-24T14:30:00+07:00"})).await;
        assert_eq!(d["status"], "processing");
        // The recipient must be an active account of the unit that takes the dossier; a refusal
        // says so under `to_user` and changes nothing.
        create_user(app, "chuyenvien.an", "specialist", Some("QLTM")).await;
        create_user(app, "lanhdao.binh", "leader", Some("BGD")).await;
        for stranger in ["khong.ton.tai", "lanhdao.binh"] {
            let refused = act(app, &code, 2, json!({"action": "forward", "at": "2025-01-24T15:00:00+07:00", "to_user": stranger})).await;
            let problem = expect_problem(refused, 422).await;
            assert_eq!(problem["errors"][0]["field"], "to_user", "{problem}");
            assert!(!problem.to_string().contains("BGD"), "names no other unit: {problem}");
        }
        let d = act_ok(app, &code, 2, json!({"action": "forward", "at": "2025-01-24T15:00:00+07:00", "to_user": "chuyenvien.an"})).await;
        assert_eq!(d["current_step"]["unit_code"], "QLTM");
        // Specialist's 24 h from Fri 15:00: 2 h + 8 h (27 Jan) + 8 h (4 Feb) + 6 h (5 Feb) → 5 Feb 15:00.
        assert_eq!(d["current_step"]["due_at"], "2025-02-05T15:00:00+07:00");
        let d = act_ok(app, &code, 3, json!({"action": "forward", "to_unit_code": "BGD", "at": "2025-02-06T09:00:00+07:00"})).await;
        assert_eq!(d["current_step"]["due_at"], "2025-02-07T09:00:00+07:00");
        let d = act_ok(app, &code, 4, json!({
            "action": "apologize", "reason": "Cần xác minh thêm thông tin", "new_due_at": "2025-02-12T17:00:00+07:00",
            "at": "2025-02-06T09:30:00+07:00"
        })).await;
        assert_eq!(d["apology_due_at"], "2025-02-12T17:00:00+07:00");
        assert_eq!(d["due_at"], "2025-02-07T14:00:00+07:00", "an apology does not move the statutory due instant");

        let d = act_ok(app, &code, 5, json!({
            "action": "request_supplement", "reason": "Thiếu bản sao giấy chứng nhận đăng ký doanh nghiệp",
            "documents": ["Giấy chứng nhận đăng ký doanh nghiệp"], "at": "2025-02-07T10:00:00+07:00"
        })).await;
        assert_eq!(d["status"], "awaiting_supplement");
        assert_eq!(d["paused_since"], "2025-02-07T10:00:00+07:00");
        let d = act_ok(app, &code, 6, json!({"action": "supplement_received", "at": "2025-02-10T09:00:00+07:00"})).await;
        assert_eq!(d["status"], "processing");
        assert_eq!(d["due_at"], "2025-02-10T11:30:00+07:00");
        let d = act_ok(app, &code, 7, json!({"action": "forward", "at": "2025-02-10T14:00:00+07:00"})).await;
        assert_eq!(d["current_step"]["unit_code"], "MC");
        let d = act_ok(app, &code, 8, json!({"action": "resolve", "result": "approved", "at": "2025-02-10T15:00:00+07:00"})).await;
        assert_eq!(d["status"], "resolved");
        assert_eq!(d["outcome"], "late");
        assert_eq!(d["resolved_at"], "2025-02-10T15:00:00+07:00");
        let d = act_ok(app, &code, 9, json!({"action": "return", "at": "2025-02-11T08:00:00+07:00"})).await;
        assert_eq!(d["status"], "returned");
        assert_eq!(d["version"], 10);
        assert_eq!(d["current_step"], Value::Null);

        let history: Value = app.get(&format!("/api/v1/dossiers/{code}/history")).await.json().await.unwrap();
        let items = history["items"].as_array().unwrap();
        let actions: Vec<&str> = items.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["receive", "start", "forward", "forward", "apologize", "request_supplement", "supplement_received", "forward", "resolve", "return"]);
        // Reception finished early, the specialist and the directors late, the clerk early.
        let outcomes: Vec<(&str, &str)> = items.iter()
            .filter(|e| !e["step_outcome"].is_null())
            .map(|e| (e["unit_code"].as_str().unwrap(), e["step_outcome"].as_str().unwrap()))
            .collect();
        assert_eq!(outcomes, [("MC", "early"), ("QLTM", "late"), ("BGD", "late"), ("MC", "early")]);
        assert_eq!(items[2]["step_due_at"], "2025-01-27T08:30:00+07:00");
        assert_eq!(items[2]["to_user"], "chuyenvien.an");
        assert_eq!(items[4]["details"]["issued_in_time"], true);
        assert_eq!(items[5]["details"]["documents"][0], "Giấy chứng nhận đăng ký doanh nghiệp");

        let deadline: Value = app.get(&format!("/api/v1/dossiers/{code}/deadline")).await.json().await.unwrap();
        assert_eq!(deadline["due_at"], "2025-02-10T11:30:00+07:00");
        assert_eq!(deadline["pauses"].as_array().unwrap().len(), 1);
        assert_eq!(deadline["computation"]["total_paused_minutes"], 420);
        assert_eq!(deadline["computation"]["limit_minutes"], 2400);
        assert_eq!(deadline["outcome"], "late");
        // The full limit was used by the due instant (Mon 11:30); 13:00–15:00 more to the resolution.
        assert_eq!(deadline["working_minutes_used"], 2400 + 120);
        assert_eq!(deadline["working_minutes_left"], Value::Null);

        let public: Value = app.anonymous.get(app.url(&format!("/api/v1/public/dossiers/{code}?secret={secret}"))).send().await.unwrap().json().await.unwrap();
        assert_eq!(public["status"], "returned");
        assert_eq!(public["procedure_name"], "Cấp Giấy phép kinh doanh bán lẻ rượu");
        assert!(public.get("applicant").is_none() && !public.to_string().contains("An Phát"), "no personal data: {public}");

        let late: Value = app.get("/api/v1/dossiers?outcome=late").await.json().await.unwrap();
        assert_eq!(late["items"].as_array().unwrap().len(), 1);
        let early: Value = app.get("/api/v1/dossiers?outcome=early").await.json().await.unwrap();
        assert_eq!(early["items"].as_array().unwrap().len(), 0);

        let audit: Value = app.get(&format!("/api/v1/audit?entity_type=dossier&entity_id={code}")).await.json().await.unwrap();
        assert_eq!(audit["items"].as_array().unwrap().len(), 10);
        assert_eq!(audit["items"][0]["action"], "dossier.receive");
        assert_eq!(audit["items"][0]["actor"], "admin");
    }

    async fn illegal_stale_and_missing_versions_change_nothing(app: &TestApp) {
        seed_catalogue(app).await;
        let d = receive(app, &receipt(None, None)).await;
        let code = d["code"].as_str().unwrap();
        let illegal = act(app, code, 1, json!({"action": "resolve", "result": "approved"})).await;
        expect_problem(illegal, 409).await;
        let stale = act(app, code, 7, json!({"action": "start"})).await;
        expect_problem(stale, 412).await;
        let missing = app.client.post(app.url(&format!("/api/v1/dossiers/{code}/actions"))).json(&json!({"action": "start"})).send().await.unwrap();
        expect_problem(missing, 428).await;
        let malformed = app.client.post(app.url(&format!("/api/v1/dossiers/{code}/actions")))
            .header("If-Match", "version one").json(&json!({"action": "start"})).send().await.unwrap();
        expect_problem(malformed, 400).await;
        let unknown = act(app, code, 1, json!({"action": "teleport"})).await;
        expect_problem(unknown, 422).await;
        let future = act(app, code, 1, json!({"action": "start", "at": "2999-01-01T00:00:00Z"})).await;
        assert_eq!(expect_problem(future, 422).await["errors"][0]["field"], "at");
        let no_reason = act(app, code, 1, json!({"action": "withdraw", "reason": " "})).await;
        assert_eq!(expect_problem(no_reason, 422).await["errors"][0]["field"], "reason");
        expect_problem(act(app, "SCT-000000-0000", 1, json!({"action": "start"})).await, 404).await;

        let unchanged: Value = app.get(&format!("/api/v1/dossiers/{code}")).await.json().await.unwrap();
        assert_eq!(unchanged["version"], 1);
        assert_eq!(unchanged["status"], "received");
        let history: Value = app.get(&format!("/api/v1/dossiers/{code}/history")).await.json().await.unwrap();
        assert_eq!(history["items"].as_array().unwrap().len(), 1);

        let withdrawn = act_ok(app, code, 1, json!({"action": "withdraw", "reason": "Người nộp xin rút"})).await;
        assert_eq!(withdrawn["status"], "withdrawn");
        expect_problem(act(app, code, 2, json!({"action": "start"})).await, 409).await;
    }

    async fn twenty_concurrent_actions_on_one_version_one_wins(app: &TestApp) {
        seed_catalogue(app).await;
        let d = receive(app, &receipt(None, None)).await;
        let code = d["code"].as_str().unwrap().to_owned();
        let attempts = (0..20).map(|_| {
            let (client, url) = (app.client.clone(), app.url(&format!("/api/v1/dossiers/{code}/actions")));
            tokio::spawn(async move {
                client.post(url).header("If-Match", "\"1\"").json(&json!({"action": "start"})).send().await.unwrap().status().as_u16()
            })
        });
        let mut statuses = Vec::new();
        for attempt in attempts.collect::<Vec<_>>() {
            statuses.push(attempt.await.unwrap());
        }
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        assert!(statuses.iter().all(|s| *s == 200 || *s == 412), "{statuses:?}");
        let after: Value = app.get(&format!("/api/v1/dossiers/{code}")).await.json().await.unwrap();
        assert_eq!(after["version"], 2);
        let history: Value = app.get(&format!("/api/v1/dossiers/{code}/history")).await.json().await.unwrap();
        assert_eq!(history["items"].as_array().unwrap().len(), 2);
    }

    async fn codes_are_sequential_per_agency_and_day(app: &TestApp) {
        seed_catalogue(app).await;
        let a = receive(app, &receipt(Some("2025-03-03T08:00:00+07:00"), None)).await;
        let b = receive(app, &receipt(Some("2025-03-03T16:59:00+07:00"), None)).await;
        let c = receive(app, &receipt(Some("2025-03-04T08:00:00+07:00"), None)).await;
        // 23:30 local on 3 March is 16:30 UTC the same day: it belongs to 3 March.
        let d = receive(app, &receipt(Some("2025-03-03T16:30:00Z"), None)).await;
        let codes: Vec<&str> = [&a, &b, &c, &d].iter().map(|x| x["code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["SCT-250303-0001", "SCT-250303-0002", "SCT-250304-0001", "SCT-250303-0003"]);
    }

    async fn receipt_validation_and_duplicates(app: &TestApp) {
        seed_catalogue(app).await;
        let future = app.post_json("/api/v1/dossiers", &receipt(Some("2999-01-01T00:00:00+07:00"), None)).await;
        assert_eq!(expect_problem(future, 422).await["errors"][0]["field"], "received_at");
        let mut unknown = receipt(None, None);
        unknown["procedure_code"] = json!("NOPE");
        assert_eq!(expect_problem(app.post_json("/api/v1/dossiers", &unknown).await, 422).await["errors"][0]["field"], "procedure_code");
        let mut bad = receipt(None, None);
        bad["applicant"]["name"] = json!("");
        bad["applicant"]["email"] = json!("not-an-email");
        let problem = expect_problem(app.post_json("/api/v1/dossiers", &bad).await, 422).await;
        let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["applicant.name", "applicant.email"]);
        let mut channel = receipt(None, None);
        channel["channel"] = json!("fax");
        assert_eq!(expect_problem(app.post_json("/api/v1/dossiers", &channel).await, 422).await["errors"][0]["field"], "channel");

        receive(app, &receipt(None, Some("DVC-1"))).await;
        expect_problem(app.post_json("/api/v1/dossiers", &receipt(None, Some("DVC-1"))).await, 409).await;
        let all: Value = app.get("/api/v1/dossiers").await.json().await.unwrap();
        assert_eq!(all["items"].as_array().unwrap().len(), 1, "rejected receipts left nothing behind");
    }

    async fn idempotency_key_replays_the_first_response(app: &TestApp) {
        seed_catalogue(app).await;
        let send = |body: Value| {
            let (client, url) = (app.client.clone(), app.url("/api/v1/dossiers"));
            async move { client.post(url).header("Idempotency-Key", "portal-req-77").json(&body).send().await.unwrap() }
        };
        let first = send(receipt(None, Some("DVC-77"))).await;
        assert_eq!(first.status(), 201);
        let first: Value = first.json().await.unwrap();
        let again = send(receipt(None, Some("DVC-77"))).await;
        assert_eq!(again.status(), 201);
        assert_eq!(again.headers()["location"], format!("/api/v1/dossiers/{}", first["code"].as_str().unwrap()));
        let again: Value = again.json().await.unwrap();
        assert_eq!(again, first);
        let other = send(receipt(None, Some("DVC-78"))).await;
        expect_problem(other, 422).await;
        let all: Value = app.get("/api/v1/dossiers").await.json().await.unwrap();
        assert_eq!(all["items"].as_array().unwrap().len(), 1);
    }

    async fn list_filters_and_pagination(app: &TestApp) {
        seed_catalogue(app).await;
        for i in 0..5 {
            let mut body = receipt(Some("2025-03-03T08:00:00+07:00"), Some(&format!("REF-{i}")));
            if i % 2 == 0 {
                body["channel"] = json!("online");
            }
            receive(app, &body).await;
        }
        let online: Value = app.get("/api/v1/dossiers?channel=online").await.json().await.unwrap();
        assert_eq!(online["items"].as_array().unwrap().len(), 3);
        // Received 3 March with 5 working days: due 10 March, long past; open → overdue.
        let overdue: Value = app.get("/api/v1/dossiers?overdue=true").await.json().await.unwrap();
        assert_eq!(overdue["items"].as_array().unwrap().len(), 5);
        assert_eq!(overdue["items"][0]["overdue"], true);
        let by_ref: Value = app.get("/api/v1/dossiers?external_ref=REF-3").await.json().await.unwrap();
        assert_eq!(by_ref["items"].as_array().unwrap().len(), 1);
        let search: Value = app.get("/api/v1/dossiers?q=0004").await.json().await.unwrap();
        assert_eq!(search["items"][0]["code"], "SCT-250303-0004");
        let case_insensitive: Value = app.get("/api/v1/dossiers?q=sct-250303-0004").await.json().await.unwrap();
        assert_eq!(case_insensitive["items"].as_array().unwrap().len(), 1);
        let by_ref: Value = app.get("/api/v1/dossiers?q=ref-2").await.json().await.unwrap();
        assert_eq!(by_ref["items"][0]["external_ref"], "REF-2");

        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/dossiers?limit=2&cursor={c}"),
                None => "/api/v1/dossiers?limit=2".to_owned(),
            };
            let page: Value = app.get(&path).await.json().await.unwrap();
            seen.extend(page["items"].as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap().to_owned()));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen, (1..=5).map(|n| format!("SCT-250303-{n:04}")).collect::<Vec<_>>());

        // The change feed shows a change once every older transaction has ended.
        let since = crate::feed::feed_with(app, "/api/v1/dossiers?updated_since=2000-01-01T00:00:00Z&limit=3", 3).await;
        assert_eq!(since["items"].as_array().unwrap().len(), 3);
        expect_problem(app.get("/api/v1/dossiers?status=lost").await, 400).await;
        expect_problem(app.get("/api/v1/dossiers?received_from=yesterday").await, 400).await;
    }

    async fn public_lookup_reveals_nothing_to_strangers(app: &TestApp) {
        seed_catalogue(app).await;
        let d = receive(app, &receipt(None, None)).await;
        let code = d["code"].as_str().unwrap();
        let wrong_secret = app.anonymous.get(app.url(&format!("/api/v1/public/dossiers/{code}?secret=0000"))).send().await.unwrap();
        let wrong_code = app.anonymous.get(app.url(&format!("/api/v1/public/dossiers/SCT-000000-9999?secret={}", d["lookup_secret"].as_str().unwrap()))).send().await.unwrap();
        let a = expect_problem(wrong_secret, 404).await;
        let b = expect_problem(wrong_code, 404).await;
        assert_eq!(a, b, "a wrong code and a wrong secret are indistinguishable");
    }

    async fn tokens_and_roles_are_enforced(app: &TestApp) {
        seed_catalogue(app).await;
        let d = receive(app, &receipt(None, None)).await;
        let code = d["code"].as_str().unwrap();

        let none = app.anonymous.get(app.url("/api/v1/dossiers")).send().await.unwrap();
        assert_eq!(expect_problem(none, 401).await["type"], "/problems/unauthorized");
        let forged = app.anonymous.get(app.url("/api/v1/dossiers")).bearer_auth("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.").send().await.unwrap();
        expect_problem(forged, 401).await;

        // The dossier is at its first step, in unit MC.
        let specialist_mc = token(Role::Specialist, Some("MC"), "cv.mc", PrincipalKind::User);
        let specialist_qltm = token(Role::Specialist, Some("QLTM"), "cv.qltm", PrincipalKind::User);
        assert_eq!(app.get_as(&specialist_mc, &format!("/api/v1/dossiers/{code}")).await.status(), 200);
        expect_problem(app.get_as(&specialist_qltm, &format!("/api/v1/dossiers/{code}")).await, 403).await;
        let listed: Value = app.get_as(&specialist_qltm, "/api/v1/dossiers").await.json().await.unwrap();
        assert_eq!(listed["items"].as_array().unwrap().len(), 0);

        let auditor = token(Role::Auditor, None, "kiemtoan", PrincipalKind::User);
        let denied = app.client.post(app.url(&format!("/api/v1/dossiers/{code}/actions")))
            .bearer_auth(&auditor).header("If-Match", "\"1\"").json(&json!({"action": "start"})).send().await.unwrap();
        expect_problem(denied, 403).await;
        let denied = app.client.post(app.url("/api/v1/units")).bearer_auth(&auditor)
            .json(&json!({"code": "X", "name": "x", "agency_code": "SCT"})).send().await.unwrap();
        expect_problem(denied, 403).await;

        let portal = token(Role::Portal, None, "cl_portal", PrincipalKind::Client);
        let other_portal = token(Role::Portal, None, "cl_other", PrincipalKind::Client);
        let created = app.client.post(app.url("/api/v1/dossiers")).bearer_auth(&portal).json(&receipt(None, Some("DVC-P1"))).send().await.unwrap();
        assert_eq!(created.status(), 201);
        let created: Value = created.json().await.unwrap();
        let own = created["code"].as_str().unwrap();
        assert_eq!(app.get_as(&portal, &format!("/api/v1/dossiers/{own}")).await.status(), 200);
        expect_problem(app.get_as(&other_portal, &format!("/api/v1/dossiers/{own}")).await, 403).await;
        expect_problem(app.get_as(&portal, &format!("/api/v1/dossiers/{code}")).await, 403).await;
        let mine: Value = app.get_as(&portal, "/api/v1/dossiers").await.json().await.unwrap();
        assert_eq!(mine["items"].as_array().unwrap().len(), 1);
        let audit: Value = app.get(&format!("/api/v1/audit?entity_id={own}")).await.json().await.unwrap();
        assert_eq!(audit["items"][0]["client_id"], "cl_portal");
    }
}

backend_tests! {
    /// Concurrent receipts through two instances on one database: codes unique and gap-free per day.
    async fn concurrent_receipts_on_two_instances_get_gap_free_codes(backend: Backend) {
        let first = crate::helpers::spawn_app(backend).await;
        seed_catalogue(&first).await;
        let second = crate::helpers::spawn_instance(&first).await;
        let mut tasks = Vec::new();
        for i in 0..20 {
            let app = if i % 2 == 0 { &first } else { &second };
            let (client, url) = (app.client.clone(), app.url("/api/v1/dossiers"));
            let body = receipt(Some("2025-03-03T08:00:00+07:00"), None);
            tasks.push(tokio::spawn(async move {
                let response = client.post(url).json(&body).send().await.unwrap();
                assert_eq!(response.status(), 201);
                let d: Value = response.json().await.unwrap();
                d["code"].as_str().unwrap().to_owned()
            }));
        }
        let mut codes = Vec::new();
        for task in tasks {
            codes.push(task.await.unwrap());
        }
        codes.sort();
        let expected: Vec<String> = (1..=20).map(|n| format!("SCT-250303-{n:04}")).collect();
        assert_eq!(codes, expected);
        second.handle.stop(false).await;
        first.shutdown().await;
    }
}
