//! The desk's queue: each unit sees what sits with it, the step due soonest first, with the flags
//! that say why; the counter hands a dossier on to the competent unit.

use chrono::{Duration, Utc};
use motcua::auth::policy::{PrincipalKind, Role};
use serde_json::{Value, json};

use crate::{
    backend_tests,
    catalogue::{PROCEDURE, seed_catalogue},
    helpers::{TestApp, expect_json, expect_problem, token},
};

fn user(role: Role, unit: Option<&str>, subject: &str) -> String {
    token(role, unit, subject, PrincipalKind::User)
}

/// Receives a dossier at the counter `days_ago` days back (0: now); its code.
async fn receive(app: &TestApp, reception: &str, applicant: &str, days_ago: i64) -> String {
    let mut body =
        json!({"procedure_code": PROCEDURE, "applicant": {"name": applicant}, "channel": "direct"});
    if days_ago > 0 {
        body["received_at"] = json!((Utc::now() - Duration::days(days_ago)).to_rfc3339());
    }
    let response = app
        .client
        .post(app.url("/api/v1/dossiers"))
        .bearer_auth(reception)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let dossier: Value = response.json().await.unwrap();
    dossier["code"].as_str().unwrap().to_owned()
}

async fn desk(app: &TestApp, token: &str, query: &str) -> Value {
    expect_json(
        app.get_as(token, &format!("/api/v1/worklist{query}")).await,
        200,
    )
    .await
}

fn codes(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap().to_owned())
        .collect()
}

backend_tests! {
    async fn each_unit_sees_its_own_desk_soonest_step_first(app: &TestApp) {
        seed_catalogue(app).await;
        let reception = user(Role::Reception, Some("MC"), "mc.tiepnhan");
        // One received long ago (overdue by now), then two received now, in order.
        let old = receive(app, &reception, "Công ty Cũ", 40).await;
        let first = receive(app, &reception, "Công ty A", 0).await;
        let second = receive(app, &reception, "Công ty B", 0).await;

        // The counter's desk holds all three, the step due soonest first.
        let counter = desk(app, &reception, "").await;
        assert_eq!(codes(&counter), [old.clone(), first.clone(), second.clone()]);
        let item = &counter["items"][0];
        assert_eq!(item["flags"], json!(["overdue", "step_overdue"]), "{item}");
        assert_eq!(item["current_step"]["unit_code"], "MC");
        assert_eq!(item["applicant_name"], "Công ty Cũ");
        assert_eq!(item["status"], "received");
        assert!(item["step_due_at"].as_str().unwrap().ends_with("+07:00"), "{item}");
        let fresh = &counter["items"][1];
        assert!(!fresh["flags"].as_array().unwrap().contains(&json!("overdue")), "{fresh}");

        // Pages follow the same order without repeating an item.
        let page = desk(app, &reception, "?limit=2").await;
        assert_eq!(codes(&page), [old.clone(), first.clone()]);
        let cursor = page["next_cursor"].as_str().expect("a next page");
        let rest = desk(app, &reception, &format!("?limit=2&cursor={cursor}")).await;
        assert_eq!(codes(&rest), vec![second.clone()]);
        assert!(rest["next_cursor"].is_null());

        // The specialists' and directors' desks are empty until the counter hands a dossier on.
        let specialist = user(Role::Specialist, Some("QLTM"), "qltm.chuyenvien");
        let director = user(Role::Leader, Some("BGD"), "bgd.lanhdao");
        assert!(codes(&desk(app, &specialist, "").await).is_empty());
        let start = app.client.post(app.url(&format!("/api/v1/dossiers/{first}/actions"))).bearer_auth(&reception)
            .header("If-Match", "\"1\"").json(&json!({"action": "start"})).send().await.unwrap();
        assert_eq!(start.status(), 200);
        // Reception forwards from its own step, to the competent unit.
        let forward = app.client.post(app.url(&format!("/api/v1/dossiers/{first}/actions"))).bearer_auth(&reception)
            .header("If-Match", "\"2\"").json(&json!({"action": "forward"})).send().await.unwrap();
        assert_eq!(forward.status(), 200, "{}", forward.text().await.unwrap());
        assert_eq!(codes(&desk(app, &reception, "").await), [old.clone(), second.clone()]);
        let trade = desk(app, &specialist, "").await;
        assert_eq!(codes(&trade), vec![first.clone()]);
        assert_eq!(trade["items"][0]["current_step"]["unit_code"], "QLTM");
        assert_eq!(trade["items"][0]["status"], "processing");
        assert_eq!(trade["items"][0]["version"], 3);
        assert!(codes(&desk(app, &director, "").await).is_empty());
        // …but not from a step that sits elsewhere.
        let elsewhere = app.client.post(app.url(&format!("/api/v1/dossiers/{first}/actions"))).bearer_auth(&reception)
            .header("If-Match", "\"3\"").json(&json!({"action": "forward"})).send().await.unwrap();
        expect_problem(elsewhere, 403).await;

        // An administrator sees every desk of their scope; auditors and machine clients have none.
        let admin = desk(app, &user(Role::Admin, None, "quan.tri"), "").await;
        assert_eq!(codes(&admin).len(), 3);
        let auditor = app.get_as(&user(Role::Auditor, None, "kiem.tra"), "/api/v1/worklist").await;
        expect_problem(auditor, 403).await;
        let portal = app.get_as(&token(Role::Portal, None, "cl_portal", PrincipalKind::Client), "/api/v1/worklist").await;
        expect_problem(portal, 403).await;
        // A forged cursor is a 400, not a silent first page.
        let forged = app.get_as(&reception, "/api/v1/worklist?cursor=bm9wZQ").await;
        expect_problem(forged, 400).await;
    }

    async fn resolved_and_paused_dossiers_leave_the_pressure_off(app: &TestApp) {
        seed_catalogue(app).await;
        let reception = user(Role::Reception, Some("MC"), "mc.tiepnhan");
        let code = receive(app, &reception, "Hộ kinh doanh C", 40).await;
        let act = |version: i64, body: Value| {
            let reception = reception.clone();
            let code = code.clone();
            async move {
                let response = app.client.post(app.url(&format!("/api/v1/dossiers/{code}/actions"))).bearer_auth(&reception)
                    .header("If-Match", format!("\"{version}\"")).json(&body).send().await.unwrap();
                assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
            }
        };
        act(1, json!({"action": "start"})).await;
        act(2, json!({"action": "request_supplement", "reason": "Thiếu bản sao", "documents": ["Giấy phép"]})).await;
        // Awaiting a supplement: still on the desk, its clock stopped, no flag.
        let paused = desk(app, &reception, "").await;
        assert_eq!(paused["items"][0]["status"], "awaiting_supplement");
        assert_eq!(paused["items"][0]["flags"], json!([]));
        act(3, json!({"action": "withdraw", "reason": "Doanh nghiệp rút hồ sơ"})).await;
        assert!(codes(&desk(app, &reception, "").await).is_empty());
    }
}
