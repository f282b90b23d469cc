//! The national portal's sync records (`GET /api/v1/exports/dvcqg`), on both databases.

use motcua::auth::policy::{PrincipalKind, Role};
use serde_json::{Value, json};

use crate::{
    backend_tests,
    catalogue::{PROCEDURE, procedure_body, seed_catalogue},
    helpers::{TestApp, client_with_token, eventually, expect_json, expect_problem, token},
};

/// The procedure's second version, with its national code and fees.
async fn list_procedure_nationally(app: &TestApp) {
    let mut body = procedure_body(None, 5);
    body["national_code"] = json!("1.001234");
    body["fees"] = json!([
        {"name": "Lệ phí cấp giấy phép", "amount": 1200000},
        {"name": "Phí thẩm định", "amount": 300000},
    ]);
    body["online_level"] = json!("full");
    let response = app
        .client
        .put(app.url(&format!("/api/v1/procedures/{PROCEDURE}")))
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_json(response, 200).await;
}

async fn act(app: &TestApp, code: &str, body: Value) -> Value {
    let response = app
        .client
        .post(app.url(&format!("/api/v1/dossiers/{code}/actions")))
        .header("If-Match", "*")
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_json(response, 200).await
}

async fn submit(app: &TestApp, at: &str, external_ref: &str) -> String {
    let body = json!({
        "procedure_code": PROCEDURE,
        "applicant": {"name": "Công ty TNHH Minh Long", "organization": "Công ty TNHH Minh Long"},
        "channel": "online", "received_at": at, "external_ref": external_ref, "intake_check": true,
    });
    let d = expect_json(app.post_json("/api/v1/dossiers", &body).await, 201).await;
    d["code"].as_str().unwrap().to_owned()
}

async fn page(app: &TestApp, query: &str) -> Value {
    expect_json(app.get(&format!("/api/v1/exports/dvcqg{query}")).await, 200).await
}

/// The page once it holds `n` records. On PostgreSQL a change shows once every older transaction
/// on the server has ended (as on the change feed), so a busy server may show it a moment later.
async fn page_with(app: &TestApp, query: &str, n: usize) -> Value {
    eventually(format!("{n} records at {query}"), async || {
        let p = page(app, query).await;
        (p["items"].as_array().unwrap().len() >= n).then_some(p)
    })
    .await
}

backend_tests! {
    /// One dossier's whole life, exported: every field as the golden file has it, worked out by
    /// hand. Accepted Friday 25 April 2025 15:00, due 6 May 15:00 (30 April and 1 May off); a
    /// supplement from Monday 28 April 10:00 to Tuesday 10:00 (8 working hours) moves it to 7 May
    /// 15:00, a wait for payment from Friday 2 May 10:00 to Monday 5 May 10:00 (8 more) to 8 May
    /// 15:00; resolved on 7 May, returned on 8 May.
    async fn a_full_dossier_is_exported_in_the_national_shape(app: &TestApp) {
        seed_catalogue(app).await;
        list_procedure_nationally(app).await;
        let code = submit(app, "2025-04-24T20:00:00+07:00", "DVC-2025-0001").await;
        act(app, &code, json!({"action": "accept", "at": "2025-04-25T15:00:00+07:00"})).await;
        act(app, &code, json!({"action": "start", "at": "2025-04-28T08:00:00+07:00"})).await;
        act(app, &code, json!({"action": "request_supplement", "reason": "Thiếu bản sao căn cước của người đại diện", "at": "2025-04-28T10:00:00+07:00"})).await;
        let d = act(app, &code, json!({"action": "supplement_received", "at": "2025-04-29T10:00:00+07:00"})).await;
        assert_eq!(d["due_at"], "2025-05-07T15:00:00+07:00");
        act(app, &code, json!({"action": "request_payment", "amount": 1500000, "reason": "Phí và lệ phí", "at": "2025-05-02T10:00:00+07:00"})).await;
        let d = act(app, &code, json!({"action": "payment_received", "amount": 1500000, "method": "online", "receipt_no": "BL-2025-77", "at": "2025-05-05T10:00:00+07:00"})).await;
        assert_eq!(d["due_at"], "2025-05-08T15:00:00+07:00");
        act(app, &code, json!({"action": "forward", "at": "2025-05-05T11:00:00+07:00"})).await;
        act(app, &code, json!({"action": "forward", "at": "2025-05-06T09:00:00+07:00"})).await;
        let d = act(app, &code, json!({"action": "resolve", "result": "approved", "at": "2025-05-07T10:00:00+07:00"})).await;
        assert_eq!(d["outcome"], "early");
        act(app, &code, json!({"action": "return", "at": "2025-05-08T09:00:00+07:00"})).await;

        let export = page_with(app, "", 1).await;
        let golden: Value = serde_json::from_str(include_str!("golden/dvcqg_record.json")).unwrap();
        assert_eq!(export["items"], json!([golden]));
        assert_eq!(export["next_cursor"], Value::Null);
        assert!(export["sync_cursor"].is_string());
    }

    /// Pages follow the change feed: nothing skipped or repeated, a poll with the sync cursor
    /// brings only what changed since, at its latest state; declined and stopped dossiers carry
    /// their own codes. Who may read the export, and bad cursors.
    async fn the_export_pages_follow_the_change_feed(app: &TestApp) {
        seed_catalogue(app).await;
        let first = submit(app, "2025-04-24T20:00:00+07:00", "DVC-A").await;
        let second = submit(app, "2025-04-24T21:00:00+07:00", "DVC-B").await;
        let third = submit(app, "2025-04-24T22:00:00+07:00", "DVC-C").await;
        act(app, &second, json!({"action": "decline", "reason": "Sai thẩm quyền", "at": "2025-04-25T09:00:00+07:00"})).await;

        // All three changes visible: a full first page that goes on.
        let one = eventually("three changed dossiers", async || {
            let p = page(app, "?limit=2").await;
            p["next_cursor"].is_string().then_some(p)
        })
        .await;
        let codes = |p: &Value| -> Vec<String> {
            p["items"].as_array().unwrap().iter().map(|r| r["MaHoSo"].as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(codes(&one), [first.clone(), third.clone()]);
        let cursor = one["next_cursor"].as_str().unwrap();
        let two = page_with(app, &format!("?limit=2&cursor={cursor}"), 1).await;
        assert_eq!(codes(&two), std::slice::from_ref(&second));
        assert_eq!(two["items"][0]["TrangThaiHoSo"], "3");
        assert_eq!(two["items"][0]["NgayTuChoi"], "20250425090000");
        assert_eq!(two["items"][0]["NgayTiepNhan"], "");
        assert_eq!(two["next_cursor"], Value::Null);

        let sync = two["sync_cursor"].as_str().unwrap().to_owned();
        assert!(page(app, &format!("?cursor={sync}")).await["items"].as_array().unwrap().is_empty());
        act(app, &first, json!({"action": "accept", "at": "2025-04-25T10:00:00+07:00"})).await;
        act(app, &first, json!({"action": "stop", "reason": "Người nộp không bổ sung", "at": "2025-04-28T10:00:00+07:00"})).await;
        let after = page_with(app, &format!("?cursor={sync}"), 1).await;
        assert_eq!(codes(&after), std::slice::from_ref(&first), "changed once, shown once at its latest state");
        assert_eq!(after["items"][0]["TrangThaiHoSo"], "8");
        assert_eq!(after["items"][0]["NgayKetThucXuLy"], "20250428100000");

        // Starting from an instant: only what changed at or after it.
        let since = page(app, "?updated_since=2999-01-01T00:00:00Z").await;
        assert!(since["items"].as_array().unwrap().is_empty());

        // Readers: the e-portal's client and auditors may; reception may not.
        for (role, kind, status) in [
            (Role::Portal, PrincipalKind::Client, 200),
            (Role::Auditor, PrincipalKind::User, 200),
            (Role::Reception, PrincipalKind::User, 403),
        ] {
            let client = client_with_token(Some(&token(role, None, "reader", kind)));
            let response = client.get(app.url("/api/v1/exports/dvcqg")).send().await.unwrap();
            assert_eq!(response.status(), status, "{role:?}");
        }
        let problem = expect_problem(app.get("/api/v1/exports/dvcqg?cursor=bm90LWEtY3Vyc29y").await, 400).await;
        assert!(problem["detail"].as_str().unwrap().contains("cursor"), "{problem}");
        expect_problem(app.get("/api/v1/exports/dvcqg?limit=0").await, 422).await;
    }
}
