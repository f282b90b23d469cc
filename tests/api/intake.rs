//! Online intake (submitted → accepted or declined), waits for payment, stop, the national status
//! code and the report's new columns, on both databases.
//!
//! Every instant below is worked out by hand on the default calendar (office hours 07:30–11:30 and
//! 13:00–17:00; 30 April and 1 May 2025 are public holidays; the procedure has 5 working days and
//! the `pause` supplement policy).

use serde_json::{Value, json};

use crate::{
    backend_tests,
    catalogue::{PROCEDURE, seed_catalogue},
    helpers::{TestApp, expect_json, expect_problem},
};

fn submission(channel: &str, at: &str, external_ref: &str) -> Value {
    json!({
        "procedure_code": PROCEDURE,
        "applicant": {"name": "Công ty TNHH Minh Long"},
        "channel": channel,
        "received_at": at,
        "external_ref": external_ref,
        "intake_check": true,
    })
}

/// Posts an action on the dossier's current version.
async fn act(app: &TestApp, code: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/dossiers/{code}/actions")))
        .header("If-Match", "*")
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn act_ok(app: &TestApp, code: &str, body: Value) -> Value {
    expect_json(act(app, code, body).await, 200).await
}

/// Submits an online dossier for the intake check and returns its code.
async fn submit(app: &TestApp, at: &str, external_ref: &str) -> String {
    let d = expect_json(
        app.post_json("/api/v1/dossiers", &submission("online", at, external_ref))
            .await,
        201,
    )
    .await;
    d["code"].as_str().unwrap().to_owned()
}

/// How many dossiers a list query returns, over every page.
async fn count(app: &TestApp, query: &str) -> i64 {
    let mut total = 0;
    let mut next = Some(format!("{query}&limit=200"));
    while let Some(url) = next {
        let page = expect_json(app.get(&url).await, 200).await;
        total += page["items"].as_array().unwrap().len() as i64;
        next = page["next_cursor"]
            .as_str()
            .map(|c| format!("{query}&limit=200&cursor={c}"));
    }
    total
}

backend_tests! {
    /// Submitted on Thursday evening, accepted on Friday 25 April 2025 at 15:00: the 5 working
    /// days count from acceptance (2 h that Friday, Monday, Tuesday, then 30 April and 1 May off,
    /// Friday 2 May, Monday 5 May and 6 h of Tuesday 6 May → 6 May 15:00). A wait for payment from
    /// Friday 2 May 10:00 to Monday 5 May 10:00 stops the clock for 5.5 + 2.5 = 8 working hours
    /// across the weekend, so the due instant moves one working day, to Wednesday 7 May 15:00.
    async fn an_online_dossier_is_checked_accepted_paid_for_and_counted_from_acceptance(app: &TestApp) {
        seed_catalogue(app).await;
        // The intake check is for online dossiers only; nothing is created.
        let refused = app.post_json("/api/v1/dossiers", &submission("direct", "2025-04-24T20:00:00+07:00", "DVC-X")).await;
        let problem = expect_problem(refused, 422).await;
        assert_eq!(problem["errors"][0]["field"], "intake_check", "{problem}");

        let d = expect_json(app.post_json("/api/v1/dossiers", &submission("online", "2025-04-24T20:00:00+07:00", "DVC-2025-0425")).await, 201).await;
        let code = d["code"].as_str().unwrap().to_owned();
        assert_eq!(code, "SCT-250424-0001");
        assert_eq!((d["status"].as_str(), d["national_status"].as_i64()), (Some("submitted"), Some(1)));
        assert_eq!(d["submitted_at"], "2025-04-24T20:00:00+07:00");
        assert_eq!((&d["received_at"], &d["due_at"]), (&Value::Null, &Value::Null));
        let deadline = expect_json(app.get(&format!("/api/v1/dossiers/{code}/deadline")).await, 200).await;
        assert_eq!((&deadline["due_at"], &deadline["computation"]), (&Value::Null, &Value::Null));

        // Reception's queue of submitted dossiers.
        let queue = expect_json(app.get("/api/v1/dossiers?status=submitted").await, 200).await;
        assert_eq!(queue["items"].as_array().unwrap().len(), 1);

        // Only the intake check's actions are allowed, and the refusal names them.
        let problem = expect_problem(act(app, &code, json!({"action": "start"})).await, 409).await;
        assert!(problem["detail"].as_str().unwrap().ends_with("allowed now: accept, decline"), "{problem}");

        let d = act_ok(app, &code, json!({"action": "accept", "at": "2025-04-25T15:00:00+07:00"})).await;
        assert_eq!((d["status"].as_str(), d["national_status"].as_i64()), (Some("received"), Some(2)));
        assert_eq!(d["received_at"], "2025-04-25T15:00:00+07:00");
        assert_eq!(d["due_at"], "2025-05-06T15:00:00+07:00");
        // Reception's 4 hours: 2 on Friday, 2 on Monday morning.
        assert_eq!(d["current_step"]["due_at"], "2025-04-28T09:30:00+07:00");
        let d = act_ok(app, &code, json!({"action": "start", "at": "2025-04-28T08:00:00+07:00"})).await;
        assert_eq!(d["national_status"], 4);

        for (body, field) in [
            (json!({"action": "request_payment", "amount": 0, "reason": "Lệ phí cấp giấy phép", "at": "2025-05-02T10:00:00+07:00"}), "amount"),
            (json!({"action": "request_payment", "amount": 500000, "reason": " ", "at": "2025-05-02T10:00:00+07:00"}), "reason"),
        ] {
            let problem = expect_problem(act(app, &code, body).await, 422).await;
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        }
        let d = act_ok(app, &code, json!({"action": "request_payment", "amount": 500000, "reason": "Lệ phí cấp giấy phép", "at": "2025-05-02T10:00:00+07:00"})).await;
        assert_eq!((d["status"].as_str(), d["national_status"].as_i64()), (Some("awaiting_payment"), Some(6)));
        assert_eq!(d["paused_since"], "2025-05-02T10:00:00+07:00");
        assert_eq!(d["overdue"], false);

        let version = d["version"].clone();
        for (body, field) in [
            (json!({"action": "payment_received", "amount": 500001, "method": "online", "receipt_no": "BL-0001", "at": "2025-05-05T10:00:00+07:00"}), "amount"),
            (json!({"action": "payment_received", "amount": -1, "method": "online", "receipt_no": "BL-0001", "at": "2025-05-05T10:00:00+07:00"}), "amount"),
            (json!({"action": "payment_received", "amount": 500000, "method": "online", "receipt_no": "", "at": "2025-05-05T10:00:00+07:00"}), "receipt_no"),
        ] {
            let problem = expect_problem(act(app, &code, body).await, 422).await;
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        }
        let problem = expect_problem(act(app, &code, json!({"action": "payment_received", "amount": 500000, "method": "cheque", "receipt_no": "BL-0001"})).await, 422).await;
        assert!(problem.to_string().contains("cheque"), "{problem}");
        let unchanged = expect_json(app.get(&format!("/api/v1/dossiers/{code}")).await, 200).await;
        assert_eq!(unchanged["version"], version, "refused payments change nothing");

        let d = act_ok(app, &code, json!({"action": "payment_received", "amount": 500000, "method": "online", "receipt_no": "BL-0001", "at": "2025-05-05T10:00:00+07:00"})).await;
        assert_eq!((d["status"].as_str(), d["national_status"].as_i64()), (Some("processing"), Some(4)));
        assert_eq!(d["due_at"], "2025-05-07T15:00:00+07:00");
        assert_eq!(d["paused_since"], Value::Null);

        let payments = expect_json(app.get(&format!("/api/v1/dossiers/{code}/payments")).await, 200).await;
        assert_eq!(payments["items"], json!([{
            "requested_amount": 500000, "reason": "Lệ phí cấp giấy phép",
            "requested_at": "2025-05-02T10:00:00+07:00", "amount": 500000, "method": "online",
            "receipt_no": "BL-0001", "paid_at": "2025-05-05T10:00:00+07:00", "cancelled_at": null,
        }]));
        let deadline = expect_json(app.get(&format!("/api/v1/dossiers/{code}/deadline")).await, 200).await;
        assert_eq!(deadline["pauses"][0]["kind"], "payment");
        assert_eq!(deadline["computation"]["pauses"][0]["kind"], "payment");
        assert_eq!(deadline["computation"]["pauses"][0]["working_minutes"], 480);
        assert_eq!(deadline["received_at"], "2025-04-25T15:00:00+07:00");

        let history = expect_json(app.get(&format!("/api/v1/dossiers/{code}/history")).await, 200).await;
        let actions: Vec<&str> = history["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["submit", "accept", "start", "request_payment", "payment_received"]);
        assert_eq!(history["items"][0]["status_after"], "submitted");
    }

    /// A declined dossier is final and never received; a stopped one is final too. Each counts in
    /// its own report column, and each new column's list query returns exactly its dossiers.
    async fn declined_and_stopped_dossiers_have_their_own_report_columns(app: &TestApp) {
        seed_catalogue(app).await;
        let declined = submit(app, "2025-04-24T20:00:00+07:00", "DVC-D1").await;
        let problem = expect_problem(act(app, &declined, json!({"action": "decline", "reason": ""})).await, 422).await;
        assert_eq!(problem["errors"][0]["field"], "reason", "{problem}");
        let d = act_ok(app, &declined, json!({"action": "decline", "reason": "Hồ sơ không thuộc thẩm quyền", "at": "2025-04-25T09:00:00+07:00"})).await;
        assert_eq!((d["status"].as_str(), d["national_status"].as_i64()), (Some("declined"), Some(3)));
        assert_eq!(d["declined_at"], "2025-04-25T09:00:00+07:00");
        assert_eq!(d["received_at"], Value::Null);
        let problem = expect_problem(act(app, &declined, json!({"action": "accept"})).await, 409).await;
        assert!(problem["detail"].as_str().unwrap().contains("allowed now: none"), "{problem}");

        let accepted = submit(app, "2025-04-24T21:00:00+07:00", "DVC-A1").await;
        act_ok(app, &accepted, json!({"action": "accept", "at": "2025-04-25T08:00:00+07:00"})).await;
        act_ok(app, &accepted, json!({"action": "request_payment", "amount": 200000, "reason": "Phí thẩm định", "at": "2025-04-25T10:00:00+07:00"})).await;

        let stopped = submit(app, "2025-04-24T22:00:00+07:00", "DVC-S1").await;
        act_ok(app, &stopped, json!({"action": "accept", "at": "2025-04-25T08:30:00+07:00"})).await;
        act_ok(app, &stopped, json!({"action": "start", "at": "2025-04-25T08:40:00+07:00"})).await;
        act_ok(app, &stopped, json!({"action": "request_supplement", "reason": "Thiếu bản vẽ", "at": "2025-04-25T09:00:00+07:00"})).await;
        let d = act_ok(app, &stopped, json!({"action": "stop", "reason": "Quá thời hạn bổ sung", "at": "2025-04-29T09:00:00+07:00"})).await;
        assert_eq!((d["status"].as_str(), d["national_status"].as_i64()), (Some("stopped"), Some(8)));
        assert_eq!(d["stopped_at"], "2025-04-29T09:00:00+07:00");
        assert_eq!(d["paused_since"], Value::Null);

        let paid = submit(app, "2025-04-24T23:00:00+07:00", "DVC-P1").await;
        act_ok(app, &paid, json!({"action": "accept", "at": "2025-04-25T09:30:00+07:00"})).await;
        act_ok(app, &paid, json!({"action": "request_payment", "amount": 100000, "reason": "Lệ phí", "at": "2025-04-25T09:40:00+07:00"})).await;
        act_ok(app, &paid, json!({"action": "payment_received", "amount": 100000, "method": "online", "receipt_no": "BL-9", "at": "2025-04-28T09:00:00+07:00"})).await;

        let s = expect_json(app.get("/api/v1/stats/summary?from=2025-04-01&to=2025-04-30").await, 200).await;
        let t = &s["total"];
        let columns = ["received", "received_online", "declined", "stopped", "open_awaiting_payment", "paid_online", "open_at_end", "open_awaiting_supplement"];
        let values: Vec<i64> = columns.iter().map(|c| t[*c].as_i64().unwrap()).collect();
        // Received: the three accepted dossiers, not the declined one nor anything still submitted.
        assert_eq!(values, [3, 3, 1, 1, 1, 1, 2, 0], "{columns:?}");
        for row in s["rows"].as_array().unwrap().iter().chain([t]) {
            for (column, query) in row["list_queries"].as_object().unwrap() {
                assert_eq!(row[column].as_i64().unwrap(), count(app, query.as_str().unwrap()).await, "{column} {query}");
            }
        }
        let csv = app.get("/api/v1/stats/summary?from=2025-04-01&to=2025-04-30&format=csv").await.text().await.unwrap();
        assert!(csv.contains("Không được tiếp nhận (declined)") && csv.contains("Dừng xử lý (stopped)"), "{csv}");

        // Stopping a dossier whose payment is awaited cancels the request.
        act_ok(app, &accepted, json!({"action": "stop", "reason": "Không nộp phí", "at": "2025-05-05T09:00:00+07:00"})).await;
        let payments = expect_json(app.get(&format!("/api/v1/dossiers/{accepted}/payments")).await, 200).await;
        assert_eq!(payments["items"][0]["cancelled_at"], "2025-05-05T09:00:00+07:00");
        assert_eq!(payments["items"][0]["paid_at"], Value::Null);
    }
}
