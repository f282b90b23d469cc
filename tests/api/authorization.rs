//! Every endpoint × every role: the expected status, from one table.

use motcua::auth::policy::{PrincipalKind, Role};
use serde_json::{Value, json};

use crate::{
    backend_tests,
    catalogue::{PROCEDURE, procedure_body, seed_catalogue},
    helpers::token,
};

/// The callers, in the column order of the table below.
const CALLERS: [&str; 8] = [
    "admin",
    "reception",
    "specialist_mc",
    "specialist_qltm",
    "leader_mc",
    "auditor",
    "portal",
    "anonymous",
];

fn caller_token(caller: &str) -> Option<String> {
    let user = |role, unit| Some(token(role, unit, caller, PrincipalKind::User));
    match caller {
        "admin" => user(Role::Admin, None),
        "reception" => user(Role::Reception, Some("MC")),
        "specialist_mc" => user(Role::Specialist, Some("MC")),
        "specialist_qltm" => user(Role::Specialist, Some("QLTM")),
        "leader_mc" => user(Role::Leader, Some("MC")),
        "auditor" => user(Role::Auditor, None),
        "portal" => Some(token(
            Role::Portal,
            None,
            "cl_portal",
            PrincipalKind::Client,
        )),
        _ => None,
    }
}

/// A paper to upload.
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n";

fn receipt() -> Value {
    json!({"procedure_code": PROCEDURE, "applicant": {"name": "Nguyễn Văn A"}, "channel": "online"})
}

backend_tests! {
    async fn every_endpoint_for_every_role(app: &TestApp) {
        seed_catalogue(app).await;
        // One dossier to read (its current step is in unit MC), and one per caller to act on.
        let shared: Value = app.post_json("/api/v1/dossiers", &receipt()).await.json().await.unwrap();
        let shared_code = shared["code"].as_str().unwrap().to_owned();
        let secret = shared["lookup_secret"].as_str().unwrap().to_owned();
        let mut own = Vec::new();
        for _ in CALLERS {
            let d: Value = app.post_json("/api/v1/dossiers", &receipt()).await.json().await.unwrap();
            own.push(d["code"].as_str().unwrap().to_owned());
        }
        let dossier = format!("/api/v1/dossiers/{shared_code}");
        let paper = app.client.post(app.url(&format!("{dossier}/documents?kind=submitted&file_name=don.pdf")))
            .body(PDF).send().await.unwrap();
        assert_eq!(paper.status(), 201);
        let paper: Value = paper.json().await.unwrap();
        let paper_id = paper["id"].as_i64().unwrap();

        // (method, path, body, expected status per caller in CALLERS order)
        // A body or path containing {caller} gets the caller's name, so creations do not collide.
        type Row = (&'static str, String, Option<Value>, [u16; 8]);
        let read_catalogue = [200, 200, 200, 200, 200, 200, 403, 401];
        let admin_only_read = [200, 403, 403, 403, 403, 403, 403, 401];
        let read_dossier = [200, 200, 200, 403, 200, 200, 403, 401];
        let read_statistics = [200, 403, 403, 403, 200, 200, 403, 401];
        let rows: Vec<Row> = vec![
            ("GET", "/api/v1/agencies".into(), None, read_catalogue),
            ("GET", "/api/v1/agencies/SCT".into(), None, read_catalogue),
            ("POST", "/api/v1/agencies".into(), Some(json!({"code": "000.00.20.H22", "name": "Sở Y tế"})), [201, 403, 403, 403, 403, 403, 403, 401]),
            ("PATCH", "/api/v1/agencies/SCT".into(), Some(json!({"name": "Sở Công Thương"})), admin_only_read),
            ("GET", "/api/v1/units".into(), None, read_catalogue),
            ("GET", "/api/v1/units/MC".into(), None, read_catalogue),
            ("POST", "/api/v1/units".into(), Some(json!({"code": "U-{caller}", "name": "x", "agency_code": "SCT"})), [201, 403, 403, 403, 403, 403, 403, 401]),
            ("PATCH", "/api/v1/units/MC".into(), Some(json!({"name": "Bộ phận Một cửa"})), admin_only_read),
            ("GET", "/api/v1/procedures".into(), None, read_catalogue),
            ("GET", format!("/api/v1/procedures/{PROCEDURE}"), None, read_catalogue),
            ("GET", format!("/api/v1/procedures/{PROCEDURE}/versions"), None, read_catalogue),
            ("POST", "/api/v1/procedures".into(), Some(procedure_body(Some("P-{caller}"), 5)), [201, 403, 403, 403, 403, 403, 403, 401]),
            ("PUT", format!("/api/v1/procedures/{PROCEDURE}"), Some(procedure_body(None, 5)), admin_only_read),
            ("GET", "/api/v1/calendar/days?from=2025-01-01&to=2025-01-31".into(), None, read_catalogue),
            ("GET", "/api/v1/calendar/office-hours".into(), None, read_catalogue),
            ("GET", "/api/v1/calendar/deadline?start=2025-01-24T14:00:00Z&amount=1&unit=working_days".into(), None, read_catalogue),
            ("PUT", "/api/v1/calendar/days/2030-01-02".into(), Some(json!({"kind": "holiday"})), admin_only_read),
            ("DELETE", "/api/v1/calendar/days/2030-01-02".into(), None, [204, 403, 403, 403, 403, 403, 403, 401]),
            ("GET", "/api/v1/calendar/rules".into(), None, read_catalogue),
            ("GET", "/api/v1/calendar/rules/-9".into(), None, read_catalogue),
            ("POST", "/api/v1/calendar/rules".into(), Some(json!({
                "name": "Ngày lễ {caller}", "calendar": "solar", "month": 6, "day": 13, "days": 1, "from_year": 2030,
            })), [201, 403, 403, 403, 403, 403, 403, 401]),
            // A built-in rule: the administrator may delete rules, but not this one.
            ("DELETE", "/api/v1/calendar/rules/-9".into(), None, [409, 403, 403, 403, 403, 403, 403, 401]),
            ("PUT", "/api/v1/calendar/office-hours".into(), Some(json!({
                "monday": [{"start": "07:30", "end": "11:30"}, {"start": "13:00", "end": "17:00"}],
                "tuesday": [{"start": "07:30", "end": "11:30"}, {"start": "13:00", "end": "17:00"}],
                "wednesday": [{"start": "07:30", "end": "11:30"}, {"start": "13:00", "end": "17:00"}],
                "thursday": [{"start": "07:30", "end": "11:30"}, {"start": "13:00", "end": "17:00"}],
                "friday": [{"start": "07:30", "end": "11:30"}, {"start": "13:00", "end": "17:00"}]
            })), admin_only_read),
            ("GET", "/api/v1/dossiers".into(), None, [200, 200, 200, 200, 200, 200, 200, 401]),
            ("POST", "/api/v1/dossiers".into(), Some(receipt()), [201, 201, 403, 403, 403, 403, 201, 401]),
            ("GET", dossier.clone(), None, read_dossier),
            ("GET", format!("{dossier}/history"), None, read_dossier),
            ("GET", format!("{dossier}/deadline"), None, read_dossier),
            ("GET", format!("{dossier}/payments"), None, read_dossier),
            ("GET", format!("{dossier}/documents"), None, read_dossier),
            ("GET", format!("{dossier}/documents/{paper_id}/content"), None, read_dossier),
            // The dossiers sit at the counter (unit MC); the portal did not submit them.
            ("POST", "/api/v1/dossiers/{own}/documents?kind=submitted&file_name=a.pdf".into(), None, [201, 201, 201, 403, 201, 403, 403, 401]),
            // The shared dossier's paper has no applicant identity number to match: refused after
            // the caller's rights are checked.
            ("POST", "/api/v1/dossiers/{own}/documents/reused".into(), Some(json!({"document_id": paper_id})), [422, 422, 422, 403, 422, 403, 403, 401]),
            ("POST", "/api/v1/dossiers/{own}/actions".into(), Some(json!({"action": "start"})), [200, 200, 200, 403, 200, 403, 403, 401]),
            ("GET", "/api/v1/audit".into(), None, [200, 403, 403, 403, 403, 200, 403, 401]),
            ("GET", "/api/v1/stats/summary?from=2025-01-01&to=2025-12-31&group_by=unit".into(), None, read_statistics),
            ("GET", "/api/v1/stats/late".into(), None, read_statistics),
            ("GET", "/api/v1/stats/due-soon".into(), None, read_statistics),
            ("GET", "/api/v1/exports/dvcqg".into(), None, [200, 403, 403, 403, 403, 200, 200, 401]),
            ("GET", "/api/v1/exports/dvcqg/status".into(), None, [200, 403, 403, 403, 403, 200, 200, 401]),
            ("GET", "/api/v1/worklist".into(), None, [200, 200, 200, 200, 200, 403, 403, 401]),
            ("GET", "/api/v1/webhooks".into(), None, [200, 403, 403, 403, 403, 403, 200, 401]),
            ("POST", "/api/v1/webhooks".into(), Some(json!({"url": "https://portal.example/hooks/{caller}", "events": ["dossier.received"]})), [201, 403, 403, 403, 403, 403, 201, 401]),
            ("POST", "/api/v1/imports?kind=procedures&mode=per_row".into(), Some(json!("csv")), [200, 403, 403, 403, 403, 403, 403, 401]),
            ("GET", "/api/v1/users".into(), None, admin_only_read),
            ("POST", "/api/v1/users".into(), Some(json!({"username": "u-{caller}", "password": "a long enough password", "role": "auditor"})), [201, 403, 403, 403, 403, 403, 403, 401]),
            ("GET", "/api/v1/users/u-admin".into(), None, admin_only_read),
            ("PATCH", "/api/v1/users/u-admin".into(), Some(json!({"active": true})), admin_only_read),
            ("GET", "/api/v1/clients".into(), None, admin_only_read),
            ("POST", "/api/v1/clients".into(), Some(json!({"name": "Cổng {caller}"})), [201, 403, 403, 403, 403, 403, 403, 401]),
            ("GET", format!("/api/v1/public/dossiers/{shared_code}?secret={secret}"), None, [200; 8]),
            ("GET", "/healthz".into(), None, [200; 8]),
            ("GET", "/readyz".into(), None, [200; 8]),
            ("GET", "/openapi.json".into(), None, [200; 8]),
        ];

        let mut mismatches = Vec::new();
        for (method, path, body, expected) in &rows {
            for (i, caller) in CALLERS.iter().enumerate() {
                let path = path.replace("{caller}", caller).replace("{own}", &own[i]);
                let mut request = app.anonymous.request(method.parse().unwrap(), app.url(&path));
                if let Some(token) = caller_token(caller) {
                    request = request.bearer_auth(token);
                }
                if path.ends_with("/actions") {
                    request = request.header("If-Match", "\"1\"");
                }
                if path.contains("/documents?") {
                    request = request.header("content-type", "application/pdf").body(PDF);
                } else if path.starts_with("/api/v1/imports") {
                    // A valid file with a header and no rows.
                    request = request.header("content-type", "text/csv").body(
                        "code,name,field,unit_code,time_limit_amount,time_limit_unit,supplement_policy,steps,active\n",
                    );
                } else if let Some(body) = body {
                    let text = body.to_string().replace("{caller}", caller);
                    request = request.header("content-type", "application/json").body(text);
                }
                let status = request.send().await.unwrap().status().as_u16();
                if status != expected[i] {
                    mismatches.push(format!("{method} {path} as {caller}: expected {}, got {status}", expected[i]));
                }
            }
        }
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));

        // A deactivated administrator, with a token issued before the deactivation, is treated as
        // no caller at all on every endpoint: the account check cannot be skipped by any handler.
        for username in ["quan.tri", "cu.quan.tri"] {
            // Two, since the last active administrator cannot be deactivated.
            let created = app.post_json("/api/v1/users", &json!({"username": username, "password": "a long enough password", "role": "admin"})).await;
            assert_eq!(created.status(), 201);
        }
        let off = app.client.patch(app.url("/api/v1/users/cu.quan.tri")).json(&json!({"active": false})).send().await.unwrap();
        assert_eq!(off.status(), 200);
        let deactivated = token(Role::Admin, None, "cu.quan.tri", PrincipalKind::User);
        // Endpoints whose answer depends on one caller's own resources, so they are not in the table.
        let mut rows = rows;
        for (method, path) in [
            ("GET", "/api/v1/webhooks/1"),
            ("DELETE", "/api/v1/webhooks/1"),
            ("GET", "/api/v1/webhooks/1/deliveries"),
            ("POST", "/api/v1/webhooks/1/deliveries/1/redeliver"),
            ("GET", "/api/v1/dossiers?updated_since=2025-01-01T00:00:00Z"),
        ] {
            rows.push((method, path.to_owned(), None, [0, 0, 0, 0, 0, 0, 0, 401]));
        }
        // Every operation of the contract that takes a bearer token is walked.
        let contract: Value = serde_json::from_str(include_str!("../../openapi/openapi.json")).unwrap();
        for (template, operations) in contract["paths"].as_object().unwrap() {
            for (method, operation) in operations.as_object().unwrap() {
                if operation.get("security").is_none() {
                    continue;
                }
                let matches = |path: &str| {
                    let (template, path): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
                    template.len() == path.len()
                        && template.iter().zip(&path).all(|(t, p)| t.starts_with('{') || t == p)
                };
                let walked = rows.iter().any(|(m, path, _, _)| {
                    m.eq_ignore_ascii_case(method) && matches(path.split('?').next().unwrap())
                });
                assert!(walked, "{} {template} is not in the walk", method.to_uppercase());
            }
        }
        for (method, path, body, expected) in &rows {
            let path = path.replace("{caller}", "deactivated").replace("{own}", &own[0]);
            let mut request = app.anonymous.request(method.parse().unwrap(), app.url(&path)).bearer_auth(&deactivated);
            if path.ends_with("/actions") {
                request = request.header("If-Match", "\"2\"");
            }
            if path.contains("/documents?") {
                request = request.header("content-type", "application/pdf").body(PDF);
            } else if path.starts_with("/api/v1/imports") {
                request = request.header("content-type", "text/csv").body(
                    "code,name,field,unit_code,time_limit_amount,time_limit_unit,supplement_policy,steps,active\n",
                );
            } else if let Some(body) = body {
                let text = body.to_string().replace("{caller}", "deactivated");
                request = request.header("content-type", "application/json").body(text);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let anonymous = expected[CALLERS.len() - 1];
            if status != anonymous {
                mismatches.push(format!("{method} {path} as a deactivated admin: expected {anonymous}, got {status}"));
            } else if status == 401 {
                let problem: Value = response.json().await.unwrap();
                if problem["detail"] != "this account is deactivated" {
                    mismatches.push(format!("{method} {path} as a deactivated admin: {problem}"));
                }
            }
        }
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }

    async fn deactivated_account_token_is_refused(app: &TestApp) {
        let created = app.post_json("/api/v1/users", &json!({"username": "thu.ky", "password": "a long enough password", "role": "auditor"})).await;
        assert_eq!(created.status(), 201);
        let login: Value = app.anonymous.post(app.url("/api/v1/auth/token"))
            .json(&json!({"username": "thu.ky", "password": "a long enough password"})).send().await.unwrap().json().await.unwrap();
        let token = login["access_token"].as_str().unwrap();
        assert_eq!(app.get_as(token, "/api/v1/units").await.status(), 200);
        let off = app.client.patch(app.url("/api/v1/users/thu.ky")).json(&json!({"active": false})).send().await.unwrap();
        assert_eq!(off.status(), 200);
        let refused = app.get_as(token, "/api/v1/units").await;
        assert_eq!(crate::helpers::expect_problem(refused, 401).await["detail"], "this account is deactivated");
        let relogin = app.anonymous.post(app.url("/api/v1/auth/token"))
            .json(&json!({"username": "thu.ky", "password": "a long enough password"})).send().await.unwrap();
        assert_eq!(relogin.status(), 401);
    }

    async fn user_management_validates_and_keeps_an_administrator(app: &TestApp) {
        let weak = app.post_json("/api/v1/users", &json!({"username": "a", "password": "short", "role": "auditor"})).await;
        assert_eq!(crate::helpers::expect_problem(weak, 422).await["errors"][0]["field"], "password");
        let no_unit = app.post_json("/api/v1/users", &json!({"username": "cv", "password": "a long enough password", "role": "specialist"})).await;
        assert_eq!(crate::helpers::expect_problem(no_unit, 422).await["errors"][0]["field"], "unit_code");
        let admin = app.post_json("/api/v1/users", &json!({"username": "quan.tri", "password": "a long enough password", "role": "admin"})).await;
        assert_eq!(admin.status(), 201);
        let duplicate = app.post_json("/api/v1/users", &json!({"username": "quan.tri", "password": "a long enough password", "role": "admin"})).await;
        crate::helpers::expect_problem(duplicate, 409).await;
        let last = app.client.patch(app.url("/api/v1/users/quan.tri")).json(&json!({"role": "auditor"})).send().await.unwrap();
        crate::helpers::expect_problem(last, 409).await;
        let listed: Value = app.get("/api/v1/users").await.json().await.unwrap();
        assert!(listed["items"][0].get("password").is_none() && listed["items"][0].get("password_hash").is_none());
    }
}
