//! Bulk import of the e-portal's exports, over HTTP and with `motcua import`.

use motcua::auth::policy::{PrincipalKind, Role};
use serde_json::{Value, json};

use crate::{
    backend_tests,
    catalogue::{PROCEDURE, seed_catalogue},
    helpers::{TestApp, database_url, expect_problem, token},
};

const STEPS: &str = r#"[{"name":"Tiếp nhận","unit_code":"MC","hours":4},{"name":"Thẩm định","unit_code":"QLTM","hours":16},{"name":"Trả kết quả","unit_code":"MC","hours":4}]"#;

fn procedures_csv() -> String {
    let steps = STEPS.replace('"', "\"\"");
    format!(
        "code,name,field,unit_code,time_limit_amount,time_limit_unit,supplement_policy,steps,active\n\
         1.001.H56,\"Cấp Giấy phép bán lẻ thuốc lá\",Lưu thông hàng hóa,QLTM,3,working_days,pause,\"{steps}\",true\n\
         1.002.H56,Đăng ký khuyến mại,Xúc tiến thương mại,NOPE,3,working_days,,\"{steps}\",\n\
         1.003.H56,Xác nhận quảng cáo,Xúc tiến thương mại,QLTM,three,working_days,,\"[{{\"\"name\"\":\"\"x\"\"}}]\",\n"
    )
}

async fn import(app: &TestApp, query: &str, content_type: &str, body: String) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/imports?{query}")))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn report(app: &TestApp, query: &str, content_type: &str, body: String) -> Value {
    let response = import(app, query, content_type, body).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

fn statuses(report: &Value) -> Vec<String> {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect()
}

fn error_fields(row: &Value) -> Vec<&str> {
    row["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect()
}

fn dossier_line(external_ref: &str, received_at: &str, actions: Value) -> String {
    json!({
        "external_ref": external_ref,
        "procedure_code": PROCEDURE,
        "channel": "online",
        "received_at": received_at,
        "applicant_name": "Công ty TNHH Hòa Bình",
        "applicant_email": "lienhe@hoabinh.vn",
        "actions": actions,
    })
    .to_string()
}

/// A dossier taken from receipt to the return of its result, as an export describes it.
fn returned_dossier(external_ref: &str) -> String {
    dossier_line(
        external_ref,
        "2025-03-03T08:00:00+07:00",
        json!([
            {"action": "start", "at": "2025-03-03T08:30:00+07:00"},
            {"action": "forward", "at": "2025-03-03T09:00:00+07:00", "to_user": "cv.lan"},
            {"action": "forward", "at": "2025-03-04T09:00:00+07:00"},
            {"action": "forward", "at": "2025-03-04T15:00:00+07:00"},
            {"action": "resolve", "result": "approved", "at": "2025-03-05T09:00:00+07:00"},
            {"action": "return", "at": "2025-03-05T10:00:00+07:00"}
        ]),
    )
}

backend_tests! {
    async fn procedures_import_per_row_with_a_report_naming_each_bad_row(app: &TestApp) {
        seed_catalogue(app).await;
        let first = report(app, "kind=procedures&mode=per_row", "text/csv", procedures_csv()).await;
        assert_eq!((first["total"].as_u64(), first["imported"].as_u64(), first["failed"].as_u64()), (Some(3), Some(1), Some(2)));
        assert_eq!(first["committed"], true);
        assert_eq!(statuses(&first), ["imported", "failed", "failed"]);
        let rows = first["rows"].as_array().unwrap();
        assert_eq!(rows[0]["result"], "1.001.H56 v1");
        assert_eq!((rows[1]["row"].as_u64(), rows[1]["line"].as_u64()), (Some(2), Some(3)));
        assert_eq!(rows[1]["key"], "1.002.H56");
        assert_eq!(error_fields(&rows[1]), ["unit_code"]);
        assert_eq!(error_fields(&rows[2]), ["time_limit_amount", "steps[0]"]);
        let created: Value = app.get("/api/v1/procedures/1.001.H56").await.json().await.unwrap();
        assert_eq!(created["steps"][1]["hours"], 16.0);
        assert_eq!(created["name"], "Cấp Giấy phép bán lẻ thuốc lá");

        // The same file again: the identical procedure is skipped, not versioned again.
        let again = report(app, "kind=procedures&mode=per_row", "text/csv", procedures_csv()).await;
        assert_eq!(statuses(&again), ["skipped", "failed", "failed"]);
        let versions: Value = app.get("/api/v1/procedures/1.001.H56/versions").await.json().await.unwrap();
        assert_eq!(versions["items"].as_array().unwrap().len(), 1);
        // A changed definition makes a new version; JSON lines work alike.
        let line = json!({"code": "1.001.H56", "name": "Cấp Giấy phép bán lẻ thuốc lá", "field": "Lưu thông hàng hóa",
            "unit_code": "QLTM", "time_limit_amount": 5, "time_limit_unit": "working_days",
            "steps": serde_json::from_str::<Value>(STEPS).unwrap()}).to_string();
        let changed = report(app, "kind=procedures&mode=atomic", "application/x-ndjson", line).await;
        assert_eq!(changed["rows"][0]["result"], "1.001.H56 v2");
    }

    async fn dossiers_go_through_receipt_and_actions_atomically_or_per_row(app: &TestApp) {
        seed_catalogue(app).await;
        let bad = dossier_line("DVC-3", "2025-03-03T10:00:00+07:00", json!([{"action": "resolve", "result": "approved"}]));
        let file = [returned_dossier("DVC-1"), dossier_line("DVC-2", "2025-03-03T09:00:00+07:00", json!([])), bad].join("\n");

        let atomic = report(app, "kind=dossiers&mode=atomic", "application/x-ndjson", file.clone()).await;
        assert_eq!(atomic["committed"], false);
        assert_eq!(statuses(&atomic), ["rolled_back", "rolled_back", "failed"]);
        assert_eq!(error_fields(&atomic["rows"][2]), ["actions[0].action"]);
        let none: Value = app.get("/api/v1/dossiers").await.json().await.unwrap();
        assert!(none["items"].as_array().unwrap().is_empty(), "an atomic import with a bad row keeps nothing");

        let per_row = report(app, "kind=dossiers&mode=per_row", "application/x-ndjson", file.clone()).await;
        assert_eq!(statuses(&per_row), ["imported", "imported", "failed"]);
        assert_eq!(per_row["rows"][0]["result"], "SCT-250303-0001 (returned)");
        let d: Value = app.get("/api/v1/dossiers/SCT-250303-0001").await.json().await.unwrap();
        assert_eq!(d["external_ref"], "DVC-1");
        assert_eq!(d["status"], "returned");
        assert_eq!(d["outcome"], "early");
        assert_eq!(d["version"], 7);
        let history: Value = app.get("/api/v1/dossiers/SCT-250303-0001/history").await.json().await.unwrap();
        assert_eq!(history["items"].as_array().unwrap().len(), 7);
        assert_eq!(history["items"][2]["to_user"], "cv.lan");
        let audit: Value = app.get("/api/v1/audit?entity_type=import").await.json().await.unwrap();
        assert_eq!(audit["items"][0]["changes"]["rows"]["imported"], 2);

        // Re-running skips what is there and imports the fixed row.
        let fixed = [returned_dossier("DVC-1"), dossier_line("DVC-3", "2025-03-03T10:00:00+07:00", json!([{"action": "start"}]))].join("\n");
        let rerun = report(app, "kind=dossiers&mode=per_row", "application/x-ndjson", fixed).await;
        assert_eq!(statuses(&rerun), ["skipped", "imported"]);
        assert!(rerun["rows"][0]["result"].as_str().unwrap().starts_with("SCT-250303-0001"));
    }

    /// An export's waits for payment and stops come in as the API takes them; a payment without
    /// its method or amount is named field by field.
    async fn imported_dossiers_keep_their_payments_and_stops(app: &TestApp) {
        seed_catalogue(app).await;
        let paid = dossier_line("DVC-P", "2025-03-03T08:00:00+07:00", json!([
            {"action": "start", "at": "2025-03-03T08:30:00+07:00"},
            {"action": "request_payment", "amount": 200000, "reason": "Lệ phí", "at": "2025-03-03T09:00:00+07:00"},
            {"action": "payment_received", "amount": 200000, "method": "transfer", "receipt_no": "UNC-15", "at": "2025-03-04T09:00:00+07:00"},
        ]));
        let stopped = dossier_line("DVC-S", "2025-03-03T09:00:00+07:00", json!([
            {"action": "stop", "reason": "Người nộp không hoàn thiện hồ sơ", "at": "2025-03-10T09:00:00+07:00"},
        ]));
        let bad = dossier_line("DVC-B", "2025-03-03T10:00:00+07:00", json!([
            {"action": "request_payment", "reason": "Lệ phí"},
            {"action": "payment_received", "amount": 5, "method": "cheque", "receipt_no": "1"},
        ]));
        let r = report(app, "kind=dossiers&mode=per_row", "application/x-ndjson", [paid, stopped, bad].join("\n")).await;
        assert_eq!(statuses(&r), ["imported", "imported", "failed"]);
        assert_eq!(error_fields(&r["rows"][2]), ["actions[0].amount", "actions[1].method"]);
        let payments: Value = app.get("/api/v1/dossiers/SCT-250303-0001/payments").await.json().await.unwrap();
        assert_eq!(payments["items"][0]["method"], "transfer");
        assert_eq!(payments["items"][0]["paid_at"], "2025-03-04T09:00:00+07:00");
        let d: Value = app.get("/api/v1/dossiers/SCT-250303-0001").await.json().await.unwrap();
        // Received Monday 08:00 (due Monday 10 March), the clock stopped 8 working hours.
        assert_eq!((d["status"].as_str(), d["due_at"].as_str()), (Some("processing"), Some("2025-03-11T08:00:00+07:00")));
        let d: Value = app.get("/api/v1/dossiers/SCT-250303-0002").await.json().await.unwrap();
        assert_eq!((d["status"].as_str(), d["national_status"].as_i64()), (Some("stopped"), Some(8)));
    }

    async fn imports_are_for_administrators_and_check_the_file(app: &TestApp) {
        let reception = token(Role::Reception, None, "tn.mai", PrincipalKind::User);
        let denied = app.client.post(app.url("/api/v1/imports?kind=procedures&mode=atomic"))
            .bearer_auth(&reception).header("content-type", "text/csv").body(procedures_csv()).send().await.unwrap();
        expect_problem(denied, 403).await;
        expect_problem(import(app, "kind=procedures&mode=atomic", "application/json", "{}".into()).await, 415).await;
        let unknown = expect_problem(import(app, "kind=dossiers&mode=atomic", "text/csv", "external_ref,colour\nA,red\n".into()).await, 422).await;
        assert_eq!(unknown["errors"][0]["field"], "file");
        assert!(unknown["detail"].as_str().unwrap().contains("`colour`"));
        expect_problem(import(app, "kind=units&mode=atomic", "text/csv", String::new()).await, 400).await;
        expect_problem(import(app, "kind=dossiers", "text/csv", String::new()).await, 400).await;
    }
}

backend_tests! {
    /// `motcua import dossiers FILE --per-row` on the database of a running instance: a report on
    /// standard output naming the bad row, exit status 1, and the good rows there for the API.
    async fn the_command_line_import_reports_and_imports(app: &TestApp) {
        seed_catalogue(app).await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("export.jsonl");
        let bad = dossier_line("CLI-2", "2999-01-01T00:00:00+07:00", json!([]));
        std::fs::write(&file, [returned_dossier("CLI-1"), bad].join("\n")).unwrap();
        let url = database_url(&app.db.target);
        let run = |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
                .args(args)
                .env("DATABASE_URL", &url)
                .env("MOTCUA_LOG", "off")
                .output()
                .expect("motcua runs")
        };
        let file_arg = file.to_str().unwrap();
        let output = run(&["import", "dossiers", file_arg, "--per-row"]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
        assert!(stdout.contains("row 2 (line 2) CLI-2: failed"), "{stdout}");
        assert!(
            stdout.contains("received_at: must not be in the future"),
            "{stdout}"
        );
        assert!(
            stderr.contains("2 row(s): 1 imported, 0 skipped, 1 failed"),
            "{stderr}"
        );
        let imported: Value = app
            .get("/api/v1/dossiers?external_ref=CLI-1")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(imported["items"][0]["status"], "returned");

        // Neither flag, or both: refused before anything happens.
        assert_eq!(
            run(&["import", "dossiers", file_arg]).status.code(),
            Some(2)
        );
        assert_eq!(
            run(&["import", "dossiers", file_arg, "--atomic", "--per-row"])
                .status
                .code(),
            Some(2)
        );
        let again = run(&["import", "dossiers", file_arg, "--atomic", "--json"]);
        assert_eq!(again.status.code(), Some(1));
        let report: Value = serde_json::from_slice(&again.stdout).expect("a JSON report");
        assert_eq!(report["committed"], false);
        assert_eq!(report["rows"][0]["status"], "skipped");
    }
}
