//! Stored data the domain cannot read is an error, never a silent default; the importer obeys the
//! same limits as the API.

use diesel::connection::SimpleConnection;
use motcua::store::{self, StoreError, dossiers::get_dossier};
use serde_json::{Value, json};

use crate::{
    backend_tests,
    catalogue::{PROCEDURE, seed_catalogue},
    helpers::{TestApp, expect_problem},
};

fn receipt(external_ref: &str) -> Value {
    json!({
        "procedure_code": PROCEDURE,
        "applicant": {"name": "Công ty TNHH An Phát", "phone": "0912 345 678"},
        "channel": "online",
        "received_at": "2025-03-03T08:00:00+07:00",
        "external_ref": external_ref,
    })
}

async fn receive(app: &TestApp, external_ref: &str) -> (String, i64) {
    let response = app
        .post_json("/api/v1/dossiers", &receipt(external_ref))
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let body: Value = response.json().await.unwrap();
    let code = body["code"].as_str().unwrap().to_owned();
    let mut conn = store::establish(&app.db.target).expect("connect");
    let id = get_dossier(&mut conn, &code).expect("readable").id;
    (code, id)
}

/// Writes `assignment` into the dossier's row behind the application's back.
fn corrupt(app: &TestApp, id: i64, assignment: &str) {
    let mut conn = store::establish(&app.db.target).expect("connect");
    conn.batch_execute(&format!("UPDATE dossiers SET {assignment} WHERE id = {id}"))
        .expect("update the row");
}

fn import_line(external_ref: &str, actions: Value) -> String {
    json!({
        "external_ref": external_ref,
        "procedure_code": PROCEDURE,
        "channel": "direct",
        "received_at": "2025-03-03T08:00:00+07:00",
        "applicant_name": "Công ty TNHH Hòa Bình",
        "actions": actions,
    })
    .to_string()
}

backend_tests! {
    async fn a_row_that_does_not_decode_is_an_internal_error_naming_the_dossier(app: &TestApp) {
        seed_catalogue(app).await;
        let (bad, bad_id) = receive(app, "DVC-CORRUPT-1").await;
        let (good, _) = receive(app, "DVC-CORRUPT-2").await;
        let read = |code: String| async move { app.get(&format!("/api/v1/dossiers/{code}")).await };

        // Both dossiers were received alike: the good one's explanation repairs the bad one's.
        let explanation =
            format!("due_explanation = (SELECT d.due_explanation FROM dossiers d WHERE d.code = '{good}')");
        for (assignment, column, repair) in [
            ("status = 'lost'", "status", "status = 'received'"),
            ("channel = 'pigeon'", "channel", "channel = 'online'"),
            ("outcome = 'sometimes'", "outcome", "outcome = NULL"),
            ("applicant = '{not json'", "applicant", "applicant = '{\"name\":\"An Phát\"}'"),
            ("due_explanation = '[]'", "due_explanation", explanation.as_str()),
        ] {
            corrupt(app, bad_id, assignment);
            // The store names the row and the column; nothing is read as a default.
            let mut conn = store::establish(&app.db.target).expect("connect");
            match get_dossier(&mut conn, &bad) {
                Err(StoreError::Corrupt(message)) => {
                    assert!(message.contains(&format!("dossier {bad_id} ({bad})")), "{message}");
                    assert!(message.contains(column), "{message}");
                }
                other => panic!("{assignment}: expected a corrupt row, got {other:?}"),
            }
            // The API answers 500 for the dossier and for any list that holds it …
            let problem = expect_problem(read(bad.clone()).await, 500).await;
            assert!(!problem["detail"].as_str().unwrap().contains("pigeon"), "{problem}");
            expect_problem(app.get("/api/v1/dossiers").await, 500).await;
            expect_problem(app.get(&format!("/api/v1/dossiers/{bad}/history")).await, 500).await;
            // … while the other dossier reads as before.
            assert_eq!(read(good.clone()).await.status(), 200);
            corrupt(app, bad_id, repair);
            assert_eq!(read(bad.clone()).await.status(), 200, "{assignment} repaired");
        }
    }

    async fn imported_actions_obey_the_limits_of_the_api(app: &TestApp) {
        seed_catalogue(app).await;
        let long_note = "x".repeat(2001);
        let documents: Vec<String> = (0..51).map(|i| format!("Bản sao {i}")).collect();
        let file = [
            import_line("DVC-LIMIT-1", json!([{"action": "start", "note": long_note}])),
            import_line("DVC-LIMIT-2", json!([
                {"action": "start", "at": "2025-03-03T08:30:00+07:00"},
                {"action": "request_supplement", "reason": "Thiếu giấy tờ", "documents": documents,
                 "at": "2025-03-03T09:00:00+07:00"},
            ])),
            import_line("DVC-LIMIT-3", json!([{"action": "start", "to_user": "u".repeat(101)}])),
        ]
        .join("\n");
        let response = app
            .client
            .post(app.url("/api/v1/imports?kind=dossiers&mode=per_row"))
            .header("content-type", "application/x-ndjson")
            .body(file)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let report: Value = response.json().await.unwrap();
        let fields: Vec<(&str, &str)> = report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["status"].as_str().unwrap(), r["errors"][0]["field"].as_str().unwrap()))
            .collect();
        assert_eq!(
            fields,
            [("failed", "actions[0].note"), ("failed", "actions[1].documents"), ("failed", "actions[0].to_user")]
        );
        let none: Value = app.get("/api/v1/dossiers").await.json().await.unwrap();
        assert!(none["items"].as_array().unwrap().is_empty(), "a failed row keeps nothing");
    }
}
