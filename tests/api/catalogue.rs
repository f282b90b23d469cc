//! Units and the versioned procedure catalogue.

use serde_json::{Value, json};

use crate::{
    backend_tests,
    helpers::{TestApp, expect_problem},
};

pub const PROCEDURE: &str = "QT-SCT-QLTM-01";

/// Units MC (one-stop), QLTM (trade), BGD (directors) of agency SCT, and a 5-working-day procedure.
pub async fn seed_catalogue(app: &TestApp) {
    for (code, name, parent) in [
        ("SCT", "Sở Công Thương", None),
        ("MC", "Bộ phận Một cửa", Some("SCT")),
        ("QLTM", "Phòng Quản lý Thương mại", Some("SCT")),
        ("BGD", "Ban Giám đốc", Some("SCT")),
    ] {
        let response = app
            .post_json(
                "/api/v1/units",
                &json!({"code": code, "name": name, "parent_code": parent, "agency_code": "SCT"}),
            )
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    }
    let response = app
        .post_json("/api/v1/procedures", &procedure_body(Some(PROCEDURE), 5))
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
}

pub fn procedure_body(code: Option<&str>, days: u32) -> Value {
    json!({
        "code": code,
        "name": "Cấp Giấy phép kinh doanh bán lẻ rượu",
        "field": "Lưu thông hàng hóa trong nước",
        "unit_code": "QLTM",
        "time_limit": {"amount": days, "unit": "working_days"},
        "steps": [
            {"name": "Tiếp nhận hồ sơ", "unit_code": "MC", "hours": 4},
            {"name": "Thẩm định", "unit_code": "QLTM", "hours": 24},
            {"name": "Phê duyệt", "unit_code": "BGD", "hours": 8},
            {"name": "Trả kết quả", "unit_code": "MC", "hours": 4}
        ],
        "supplement_policy": "pause"
    })
}

backend_tests! {
    async fn units_are_created_read_patched_and_paged(app: &TestApp) {
        seed_catalogue(app).await;
        let unit: Value = app.get("/api/v1/units/QLTM").await.json().await.unwrap();
        assert_eq!(unit["parent_code"], "SCT");
        assert_eq!(unit["agency_code"], "SCT");

        let patched = app.client.patch(app.url("/api/v1/units/QLTM"))
            .json(&json!({"name": "Phòng QLTM", "parent_code": null})).send().await.unwrap();
        assert_eq!(patched.status(), 200);
        let patched: Value = patched.json().await.unwrap();
        assert_eq!(patched["name"], "Phòng QLTM");
        assert_eq!(patched["parent_code"], Value::Null);

        let first: Value = app.get("/api/v1/units?limit=3").await.json().await.unwrap();
        assert_eq!(first["items"].as_array().unwrap().len(), 3);
        let cursor = first["next_cursor"].as_str().unwrap().to_owned();
        let second: Value = app.get(&format!("/api/v1/units?limit=3&cursor={cursor}")).await.json().await.unwrap();
        assert_eq!(second["items"].as_array().unwrap().len(), 1);
        assert_eq!(second["next_cursor"], Value::Null);
        assert_eq!(second["items"][0]["code"], "BGD");

        expect_problem(app.get("/api/v1/units?limit=500").await, 422).await;
        expect_problem(app.get("/api/v1/units?cursor=garbage!").await, 400).await;
        expect_problem(app.get("/api/v1/units/NOPE").await, 404).await;
    }

    async fn unit_validation_and_conflicts(app: &TestApp) {
        seed_catalogue(app).await;
        let duplicate = app.post_json("/api/v1/units", &json!({"code": "MC", "name": "x", "agency_code": "SCT"})).await;
        expect_problem(duplicate, 409).await;
        let bad = app.post_json("/api/v1/units", &json!({"code": "a b", "name": " ", "agency_code": "s-ct"})).await;
        let problem = expect_problem(bad, 422).await;
        let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["code", "name", "agency_code"]);
        let orphan = app.post_json("/api/v1/units", &json!({"code": "X", "name": "x", "parent_code": "NOPE", "agency_code": "SCT"})).await;
        assert_eq!(expect_problem(orphan, 422).await["errors"][0]["field"], "parent_code");
        let cycle = app.client.patch(app.url("/api/v1/units/SCT")).json(&json!({"parent_code": "MC"})).send().await.unwrap();
        assert_eq!(expect_problem(cycle, 422).await["errors"][0]["field"], "parent_code");
    }

    async fn procedure_versions_and_validation(app: &TestApp) {
        seed_catalogue(app).await;
        let p: Value = app.get(&format!("/api/v1/procedures/{PROCEDURE}")).await.json().await.unwrap();
        assert_eq!(p["version"], 1);
        assert_eq!(p["steps"].as_array().unwrap().len(), 4);
        assert_eq!(p["time_limit"], json!({"amount": 5, "unit": "working_days"}));

        let put = app.client.put(app.url(&format!("/api/v1/procedures/{PROCEDURE}"))).json(&procedure_body(None, 7)).send().await.unwrap();
        assert_eq!(put.status(), 200);
        let v2: Value = put.json().await.unwrap();
        assert_eq!(v2["version"], 2);
        let versions: Value = app.get(&format!("/api/v1/procedures/{PROCEDURE}/versions")).await.json().await.unwrap();
        let amounts: Vec<i64> = versions["items"].as_array().unwrap().iter().map(|v| v["time_limit"]["amount"].as_i64().unwrap()).collect();
        assert_eq!(amounts, [5, 7]);

        // The steps (40 h) do not fit in 4 working days (32 h).
        let too_long = app.client.put(app.url(&format!("/api/v1/procedures/{PROCEDURE}"))).json(&procedure_body(None, 4)).send().await.unwrap();
        assert_eq!(expect_problem(too_long, 422).await["errors"][0]["field"], "steps");
        let mut unknown_unit = procedure_body(Some("QT-2"), 5);
        unknown_unit["steps"][1]["unit_code"] = json!("NOPE");
        let problem = expect_problem(app.post_json("/api/v1/procedures", &unknown_unit).await, 422).await;
        assert_eq!(problem["errors"][0]["field"], "steps[1].unit_code");
        let duplicate = app.post_json("/api/v1/procedures", &procedure_body(Some(PROCEDURE), 5)).await;
        expect_problem(duplicate, 409).await;
        let mut bad_unit = procedure_body(Some("QT-3"), 5);
        bad_unit["time_limit"]["unit"] = json!("weeks");
        let problem = expect_problem(app.post_json("/api/v1/procedures", &bad_unit).await, 422).await;
        assert_eq!(problem["errors"][0]["field"], "time_limit.unit");
        // Rejected writes changed nothing.
        let latest: Value = app.get(&format!("/api/v1/procedures/{PROCEDURE}")).await.json().await.unwrap();
        assert_eq!(latest["version"], 2);
        expect_problem(app.get("/api/v1/procedures/QT-3").await, 404).await;
    }
}

backend_tests! {
    /// Every creating POST takes an `Idempotency-Key` (dossier receipts are tested with theirs).
    /// A procedure carries its national code, fees and online level; each version keeps its own,
    /// and bad values are refused field by field with nothing written.
    async fn procedures_carry_their_national_code_fees_and_online_level(app: &TestApp) {
        seed_catalogue(app).await;
        let p: Value = app.get(&format!("/api/v1/procedures/{PROCEDURE}")).await.json().await.unwrap();
        assert_eq!((&p["national_code"], &p["fees"], &p["online_level"]), (&Value::Null, &json!([]), &json!("none")));

        let mut body = procedure_body(None, 5);
        body["national_code"] = json!("1.001234");
        body["fees"] = json!([{"name": "Lệ phí cấp giấy phép", "amount": 1200000}, {"name": "Phí thẩm định", "amount": 0}]);
        body["online_level"] = json!("full");
        let response = app.client.put(app.url(&format!("/api/v1/procedures/{PROCEDURE}"))).json(&body).send().await.unwrap();
        let p = crate::helpers::expect_json(response, 200).await;
        assert_eq!(p["version"], 2);
        assert_eq!(p["national_code"], "1.001234");
        assert_eq!(p["fees"][0], json!({"name": "Lệ phí cấp giấy phép", "amount": 1200000}));
        assert_eq!(p["online_level"], "full");
        let first: Value = app.get(&format!("/api/v1/procedures/{PROCEDURE}/versions")).await.json().await.unwrap();
        assert_eq!(first["items"][0]["fees"], json!([]), "version 1 keeps its own: {first}");

        for (change, field) in [
            (json!({"fees": [{"name": "Lệ phí", "amount": -1}]}), "fees[0].amount"),
            (json!({"fees": [{"name": " ", "amount": 5}]}), "fees[0].name"),
            (json!({"national_code": "  "}), "national_code"),
        ] {
            let mut bad = procedure_body(None, 5);
            for (k, v) in change.as_object().unwrap() {
                bad[k] = v.clone();
            }
            let response = app.client.put(app.url(&format!("/api/v1/procedures/{PROCEDURE}"))).json(&bad).send().await.unwrap();
            let problem = crate::helpers::expect_problem(response, 422).await;
            assert!(problem["errors"].as_array().unwrap().iter().any(|e| e["field"] == field), "{field}: {problem}");
        }
        let mut bad = procedure_body(None, 5);
        bad["online_level"] = json!("everything");
        let response = app.client.put(app.url(&format!("/api/v1/procedures/{PROCEDURE}"))).json(&bad).send().await.unwrap();
        crate::helpers::expect_problem(response, 422).await;
        let p: Value = app.get(&format!("/api/v1/procedures/{PROCEDURE}")).await.json().await.unwrap();
        assert_eq!(p["version"], 2, "nothing written by the refusals");
    }

    async fn creating_posts_are_idempotent(app: &TestApp) {
        let post = |path: &str, body: Value, key: &str| {
            let request = app.client.post(app.url(path)).header("Idempotency-Key", key).json(&body);
            async move { request.send().await.unwrap() }
        };
        let unit = json!({"code": "SCT", "name": "Sở Công Thương", "agency_code": "SCT"});
        let first = post("/api/v1/units", unit.clone(), "unit-1").await;
        assert_eq!(first.status(), 201);
        let first: Value = first.json().await.unwrap();
        let again = post("/api/v1/units", unit.clone(), "unit-1").await;
        assert_eq!(again.status(), 201, "the first answer again, not a 409 for the existing code");
        assert_eq!(again.headers()["location"], "/api/v1/units/SCT");
        assert_eq!(again.json::<Value>().await.unwrap(), first);
        let other = post("/api/v1/units", json!({"code": "MC", "name": "x", "agency_code": "SCT"}), "unit-1").await;
        expect_problem(other, 422).await;
        // Without the key the same body is a duplicate.
        expect_problem(app.post_json("/api/v1/units", &unit).await, 409).await;

        for (code, parent) in [("MC", "SCT"), ("QLTM", "SCT"), ("BGD", "SCT")] {
            let r = app.post_json("/api/v1/units", &json!({"code": code, "name": code, "parent_code": parent, "agency_code": "SCT"})).await;
            assert_eq!(r.status(), 201);
        }
        let procedure = procedure_body(Some("QT-IDEM-01"), 5);
        assert_eq!(post("/api/v1/procedures", procedure.clone(), "p-1").await.status(), 201);
        assert_eq!(post("/api/v1/procedures", procedure, "p-1").await.status(), 201);
        let versions: Value = app.get("/api/v1/procedures/QT-IDEM-01/versions").await.json().await.unwrap();
        assert_eq!(versions["items"].as_array().unwrap().len(), 1);

        let user = json!({"username": "ke.toan", "password": "a long enough password", "role": "auditor"});
        assert_eq!(post("/api/v1/users", user.clone(), "u-1").await.status(), 201);
        assert_eq!(post("/api/v1/users", user, "u-1").await.status(), 201);

        let hook = json!({"url": "https://portal.example/hooks", "events": ["dossier.received"]});
        let first: Value = post("/api/v1/webhooks", hook.clone(), "w-1").await.json().await.unwrap();
        let again: Value = post("/api/v1/webhooks", hook, "w-1").await.json().await.unwrap();
        assert_eq!(first["id"], again["id"]);
        let hooks: Value = app.get("/api/v1/webhooks").await.json().await.unwrap();
        assert_eq!(hooks["items"].as_array().unwrap().len(), 1);
    }
}
