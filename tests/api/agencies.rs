//! Agencies: two sibling agencies of one province never see each other; the province sees both;
//! inter-agency hand-over (liên thông) and receipt anywhere share a dossier on purpose.

use diesel::{Connection, RunQueryDsl, pg::PgConnection, sqlite::SqliteConnection};
use diesel_migrations::{FileBasedMigrations, MigrationHarness};
use motcua::{
    auth::policy::{PrincipalKind, Role},
    config::DatabaseTarget,
};
use serde_json::{Value, json};

use crate::{
    backend_tests,
    helpers::{
        TestApp, TestDb, eventually, expect_json, expect_problem, spawn_app_on, spawn_instance,
        token,
    },
};

/// The migration that introduced agencies (its version, as diesel records it).
const AGENCIES_MIGRATION: &str = "20261203000002";

const PROVINCE: &str = "000.00.00.H22";
const AGENCY_A: &str = "000.00.10.H22";
const AGENCY_B: &str = "000.00.11.H22";

/// One sibling agency's catalogue and the names its callers use; every string here is a marker
/// that must never show up in a response given to the other sibling.
struct Sibling {
    agency: &'static str,
    counter: &'static str,
    office: &'static str,
    procedure: &'static str,
    staff: &'static str,
}

const A: Sibling = Sibling {
    agency: AGENCY_A,
    counter: "MC-SCT",
    office: "QLTM-SCT",
    procedure: "QT-SCT-01",
    staff: "canbo.sct",
};

const B: Sibling = Sibling {
    agency: AGENCY_B,
    counter: "MC-SXD",
    office: "QLXD-SXD",
    procedure: "QT-SXD-01",
    staff: "canbo.sxd",
};

fn procedure(code: &str, lead: &str, steps: &[&str], anywhere: bool) -> Value {
    let steps: Vec<Value> = steps
        .iter()
        .map(|unit| json!({"name": format!("Bước tại {unit}"), "unit_code": unit, "hours": 8}))
        .collect();
    json!({
        "code": code, "name": format!("Thủ tục {code}"), "field": "Thử nghiệm", "unit_code": lead,
        "time_limit": {"amount": 10, "unit": "working_days"}, "steps": steps,
        "receivable_anywhere": anywhere,
    })
}

async fn created(response: reqwest::Response) -> Value {
    expect_json(response, 201).await
}

async fn post_as(app: &TestApp, token: &str, path: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The province, its two departments, their units and procedures, and a unit of the province.
async fn seed(app: &TestApp) {
    created(
        app.post_json(
            "/api/v1/agencies",
            &json!({"code": PROVINCE, "name": "UBND tỉnh"}),
        )
        .await,
    )
    .await;
    for (sibling, name) in [(&A, "Sở Công Thương"), (&B, "Sở Xây dựng")] {
        let agency = json!({"code": sibling.agency, "name": name, "parent_code": PROVINCE});
        created(app.post_json("/api/v1/agencies", &agency).await).await;
        for unit in [sibling.counter, sibling.office] {
            let body = json!({"code": unit, "name": format!("Đơn vị {unit}"), "agency_code": sibling.agency});
            created(app.post_json("/api/v1/units", &body).await).await;
        }
        let body = procedure(
            sibling.procedure,
            sibling.office,
            &[sibling.counter, sibling.office],
            false,
        );
        created(app.post_json("/api/v1/procedures", &body).await).await;
    }
    let body = json!({"code": "TTPVHCC", "name": "Trung tâm Phục vụ hành chính công", "agency_code": PROVINCE});
    created(app.post_json("/api/v1/units", &body).await).await;
}

fn user(role: Role, unit: &str, subject: &str) -> String {
    token(role, Some(unit), subject, PrincipalKind::User)
}

fn receipt(procedure: &str) -> Value {
    json!({"procedure_code": procedure, "applicant": {"name": "Trần Thị B"}, "channel": "direct"})
}

async fn receive(app: &TestApp, token: &str, procedure: &str) -> String {
    let d = created(post_as(app, token, "/api/v1/dossiers", &receipt(procedure)).await).await;
    d["code"].as_str().unwrap().to_owned()
}

async fn act(app: &TestApp, token: &str, code: &str, version: i64, body: Value) -> Value {
    let response = app
        .client
        .post(app.url(&format!("/api/v1/dossiers/{code}/actions")))
        .bearer_auth(token)
        .header("If-Match", format!("\"{version}\""))
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_json(response, 200).await
}

async fn body_as(app: &TestApp, token: &str, path: &str) -> (u16, String) {
    let response = app.get_as(token, path).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

fn import_row(external_ref: &str, procedure: &str) -> String {
    json!({
        "external_ref": external_ref, "procedure_code": procedure, "channel": "online",
        "received_at": "2025-03-03T08:00:00+07:00", "applicant_name": "Công ty TNHH Bình An",
    })
    .to_string()
}

/// Imports dossier rows (one JSON object per line, each row on its own) as `token`; the report.
async fn import_dossiers(app: &TestApp, token: &str, rows: &[String]) -> Value {
    let response = app
        .client
        .post(app.url("/api/v1/imports?kind=dossiers&mode=per_row"))
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .body(rows.join("\n"))
        .send()
        .await
        .unwrap();
    expect_json(response, 200).await
}

/// Takes the database back to before agencies: every applied migration from the agencies' one on is
/// reverted with its own `down.sql`, as an operator rolling back would.
fn revert_to_before_agencies(target: &DatabaseTarget) {
    fn revert<C: MigrationHarness<B>, B: diesel::backend::Backend>(conn: &mut C, directory: &str) {
        let migrations = FileBasedMigrations::from_path(directory).expect("migrations directory");
        loop {
            let applied = conn.applied_migrations().expect("applied migrations");
            let latest = applied
                .iter()
                .map(ToString::to_string)
                .max()
                .expect("a migrated database");
            if latest.as_str() < AGENCIES_MIGRATION {
                break;
            }
            conn.revert_last_migration(migrations.clone())
                .expect("revert");
        }
    }
    match target {
        DatabaseTarget::Sqlite(path) => {
            let mut conn = SqliteConnection::establish(&path.display().to_string()).expect("open");
            // The stopped application's background workers may still hold the write lock briefly.
            diesel::sql_query("PRAGMA busy_timeout = 10000")
                .execute(&mut conn)
                .expect("busy timeout");
            revert(&mut conn, "migrations/sqlite");
        }
        DatabaseTarget::Postgres(url) => {
            let mut conn = PgConnection::establish(url).expect("connect");
            revert(&mut conn, "migrations/postgres");
        }
    }
}

async fn all_dossiers(app: &TestApp) -> Vec<(String, i64, String)> {
    let list: Value = app
        .get("/api/v1/dossiers?limit=100")
        .await
        .json()
        .await
        .unwrap();
    let mut rows: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_owned(),
                d["version"].as_i64().unwrap(),
                d["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    rows.sort();
    rows
}

/// A path template with its parameters' names dropped (`/dossiers/{}`), to compare the contract's
/// templates with the server's routes.
fn template_shape(template: &str) -> String {
    template
        .split('/')
        .map(|part| if part.starts_with('{') { "{}" } else { part })
        .collect::<Vec<_>>()
        .join("/")
}

fn total_received(summary: &Value) -> i64 {
    summary["total"]["received"]
        .as_i64()
        .expect("a received count")
}

backend_tests! {
    async fn sibling_agencies_never_see_each_other_and_the_province_sees_both(app: &TestApp) {
        seed(app).await;
        let mut dossiers = Vec::new();
        for sibling in [&A, &B] {
            let reception = user(Role::Reception, sibling.counter, &format!("{}.mc", sibling.staff));
            let code = receive(app, &reception, sibling.procedure).await;
            assert!(code.starts_with(&format!("{}-", sibling.agency)), "{code}");
            // A receipt with the other sibling's procedure finds no such procedure.
            let other = if sibling.agency == AGENCY_A { B.procedure } else { A.procedure };
            expect_problem(post_as(app, &reception, "/api/v1/dossiers", &receipt(other)).await, 422).await;
            dossiers.push(code);
        }
        // Staff accounts, a webhook and an imported dossier per agency, made by the agency's own
        // administrator.
        let mut hooks = Vec::new();
        for (sibling, reference) in [(&A, "DVC-0001"), (&B, "DVC-0002")] {
            let admin = user(Role::Admin, sibling.counter, &format!("{}.admin", sibling.staff));
            let account = json!({"username": format!("{}.cv", sibling.staff), "password": "Mat-khau-du-dai-2025!", "role": "specialist", "unit_code": sibling.office});
            created(post_as(app, &admin, "/api/v1/users", &account).await).await;
            let hook = json!({"url": "http://127.0.0.1:9/hook", "events": ["dossier.received", "dossier.started"]});
            hooks.push(created(post_as(app, &admin, "/api/v1/webhooks", &hook).await).await["id"].clone());
            let report = import_dossiers(app, &admin, &[import_row(reference, sibling.procedure)]).await;
            assert_eq!(report["imported"], 1, "{report}");
            // Nor may it place anything in the sibling agency, or change the shared calendar.
            let other = if sibling.agency == AGENCY_A { &B } else { &A };
            let stray = json!({"code": format!("X-{}", sibling.staff), "name": "x", "agency_code": other.agency});
            expect_problem(post_as(app, &admin, "/api/v1/units", &stray).await, 403).await;
            let top = json!({"code": "ROGUE", "name": "x"});
            expect_problem(post_as(app, &admin, "/api/v1/agencies", &top).await, 403).await;
            let holiday = app.client.put(app.url("/api/v1/calendar/days/2030-01-02")).bearer_auth(&admin)
                .json(&json!({"kind": "holiday", "name": "x"})).send().await.unwrap();
            expect_problem(holiday, 403).await;
        }
        // Each agency starts its own dossier (an event for the webhooks and the feed).
        for (sibling, code) in [&A, &B].into_iter().zip(&dossiers) {
            let reception = user(Role::Reception, sibling.counter, &format!("{}.mc", sibling.staff));
            act(app, &reception, code, 1, json!({"action": "start"})).await;
        }

        let imported = |reference: &'static str| async move {
            let list: Value = app.get(&format!("/api/v1/dossiers?external_ref={reference}")).await.json().await.unwrap();
            list["items"][0]["code"].as_str().expect("an imported dossier").to_owned()
        };
        let imported = [imported("DVC-0001").await, imported("DVC-0002").await];

        // The walk runs on an instance of its own, whose metrics then prove that the sibling
        // agencies' callers went through every operation of the contract that takes a token.
        let walker = spawn_instance(app).await;
        let year = "from=2024-01-01&to=2031-12-31";
        let reads = [
            "/api/v1/dossiers".to_owned(), "/api/v1/dossiers?updated_since=2020-01-01T00:00:00Z".to_owned(),
            "/api/v1/units".to_owned(), "/api/v1/procedures".to_owned(), "/api/v1/agencies".to_owned(),
            "/api/v1/users".to_owned(), "/api/v1/clients".to_owned(), "/api/v1/webhooks".to_owned(),
            "/api/v1/audit?limit=200".to_owned(), format!("/api/v1/stats/summary?{year}&group_by=unit"),
            format!("/api/v1/stats/summary?{year}&group_by=procedure"), format!("/api/v1/stats/summary?{year}&format=csv"),
            "/api/v1/stats/late".to_owned(), "/api/v1/stats/due-soon?within=20".to_owned(),
            "/api/v1/calendar/days?from=2025-01-01&to=2025-12-31".to_owned(), "/api/v1/calendar/office-hours".to_owned(),
            "/api/v1/worklist".to_owned(), "/api/v1/calendar/rules".to_owned(), "/api/v1/calendar/rules/-9".to_owned(),
            "/api/v1/calendar/deadline?start=2025-03-03T08:00:00Z&amount=3&unit=working_days".to_owned(),
            "/api/v1/dossiers?external_ref=DVC-0001".to_owned(), "/api/v1/dossiers?external_ref=DVC-0002".to_owned(),
            "/api/v1/exports/dvcqg?limit=200".to_owned(), "/api/v1/exports/dvcqg/status".to_owned(),
        ];
        let walk = [(&A, &B, &dossiers[1], &imported[1], &hooks[1]), (&B, &A, &dossiers[0], &imported[0], &hooks[0])];
        for (me, other, other_code, other_import, other_hook) in walk {
            let callers = [
                user(Role::Admin, me.counter, &format!("{}.admin", me.staff)),
                user(Role::Auditor, me.office, &format!("{}.ktra", me.staff)),
                user(Role::Leader, me.office, &format!("{}.ld", me.staff)),
                user(Role::Reception, me.counter, &format!("{}.mc", me.staff)),
            ];
            let markers = [
                other.agency, other.counter, other.office, other.procedure, other.staff, other_code.as_str(),
                other_import.as_str(),
            ];
            let audit_of_other = [
                format!("/api/v1/audit?entity_id={other_code}"), format!("/api/v1/audit?entity_id={other_import}"),
                format!("/api/v1/audit?entity_id={}", other.counter), format!("/api/v1/audit?entity_id={}", other.procedure),
            ];
            let mut seen_own = 0;
            for caller in &callers {
                for path in reads.iter().chain(&audit_of_other) {
                    let (status, body) = body_as(&walker, caller, path).await;
                    for marker in markers {
                        assert!(!body.contains(marker), "{path} gave `{marker}` of the other agency to {}: {body}", me.staff);
                    }
                    if status == 200 && body.contains(me.agency) {
                        seen_own += 1;
                    }
                }
                // The other agency's things do not exist for this caller.
                for path in [
                    format!("/api/v1/dossiers/{other_code}"), format!("/api/v1/dossiers/{other_code}/history"),
                    format!("/api/v1/dossiers/{other_code}/deadline"), format!("/api/v1/dossiers/{other_code}/payments"),
                    format!("/api/v1/dossiers/{other_code}/documents"), format!("/api/v1/dossiers/{other_code}/documents/1/content"),
                    format!("/api/v1/units/{}", other.counter),
                    format!("/api/v1/dossiers/{other_import}"),
                    format!("/api/v1/procedures/{}", other.procedure), format!("/api/v1/procedures/{}/versions", other.procedure),
                    format!("/api/v1/agencies/{}", other.agency), format!("/api/v1/users/{}.cv", other.staff),
                    format!("/api/v1/webhooks/{other_hook}"), format!("/api/v1/webhooks/{other_hook}/deliveries"),
                ] {
                    let (status, body) = body_as(&walker, caller, &path).await;
                    assert!(status == 404 || status == 403 && !path.contains("/dossiers/"), "{path}: {status} {body}");
                    for marker in markers.iter().filter(|m| !path.contains(*m)) {
                        assert!(!body.contains(marker), "{path} leaked `{marker}`: {body}");
                    }
                }
                // Nor can it be acted on: 404, exactly as an unknown code.
                let act = walker.client.post(walker.url(&format!("/api/v1/dossiers/{other_code}/actions")))
                    .bearer_auth(caller).header("If-Match", "\"2\"")
                    .json(&json!({"action": "request_supplement", "reason": "x", "documents": ["y"]})).send().await.unwrap();
                expect_problem(act, 404).await;
            }
            // Nor changed by its administrator: every write is refused, leaks nothing and touches
            // nothing of the other agency (nor the calendar, which is the whole deployment's).
            let admin = &callers[0];
            let (w, url) = (&walker.client, |path: &str| walker.url(path));
            let office_hours = json!({"monday": [{"start": "07:30", "end": "11:30"}]});
            let refused = [403, 404];
            let writes = [
                (w.patch(url(&format!("/api/v1/units/{}", other.counter))).json(&json!({"name": "x"})), refused.as_slice()),
                (w.post(url("/api/v1/units")).json(&json!({"code": "X-1", "name": "x", "agency_code": other.agency})), &refused),
                (w.patch(url(&format!("/api/v1/users/{}.cv", other.staff))).json(&json!({"active": false})), &refused),
                (w.post(url("/api/v1/users")).json(&json!({"username": "lac.loi", "password": "Mat-khau-du-dai-2025!", "role": "reception", "unit_code": other.counter})), &[422]),
                (w.put(url(&format!("/api/v1/procedures/{}", other.procedure))).json(&procedure(other.procedure, me.office, &[me.office], false)), &refused),
                (w.post(url("/api/v1/procedures")).json(&procedure("QT-LAC-01", other.office, &[other.office], false)), &[403, 404, 422]),
                (w.patch(url(&format!("/api/v1/agencies/{}", other.agency))).json(&json!({"name": "x"})), &refused),
                (w.post(url("/api/v1/agencies")).json(&json!({"code": "000.09.10.H22", "name": "x", "parent_code": other.agency})), &refused),
                (w.post(url("/api/v1/clients")).json(&json!({"name": "x", "agency_code": other.agency})), &refused),
                (w.post(url("/api/v1/webhooks")).json(&json!({"url": "http://127.0.0.1:9/x", "events": ["dossier.received"], "client_id": "cl_khongco"})), &[403, 404, 422]),
                (w.delete(url(&format!("/api/v1/webhooks/{other_hook}"))), &refused),
                (w.post(url(&format!("/api/v1/webhooks/{other_hook}/deliveries/1/redeliver"))), &refused),
                (w.post(url("/api/v1/dossiers")).json(&receipt(other.procedure)), &[422]),
                (w.post(url(&format!("/api/v1/dossiers/{other_code}/documents?kind=submitted&file_name=a.pdf"))).body("%PDF-1.7\n%%EOF\n"), &[404]),
                (w.post(url(&format!("/api/v1/dossiers/{other_code}/documents/reused"))).json(&json!({"document_id": 1})), &[404]),
                (w.put(url("/api/v1/calendar/days/2030-01-02")).json(&json!({"kind": "holiday", "name": "x"})), &[403]),
                (w.delete(url("/api/v1/calendar/days/2030-01-02")), &[403]),
                (w.put(url("/api/v1/calendar/office-hours")).json(&office_hours), &[403, 422]),
                (w.post(url("/api/v1/calendar/rules")).json(&json!({"name": "x", "calendar": "solar", "month": 6, "day": 13, "days": 1, "from_year": 2030})), &[403]),
                (w.delete(url("/api/v1/calendar/rules/-9")), &[403]),
            ];
            for (write, allowed) in writes {
                let request = write.bearer_auth(admin).build().unwrap();
                let target = format!("{} {}", request.method(), request.url());
                let sent = request.body().and_then(|b| b.as_bytes()).map(|b| String::from_utf8_lossy(b).into_owned());
                let sent = format!("{target} {}", sent.unwrap_or_default());
                let response = walker.client.execute(request).await.unwrap();
                let status = response.status().as_u16();
                let body = response.text().await.unwrap();
                assert!(allowed.contains(&status), "{target}: {status} {body}");
                // The answer may repeat what the caller sent, and nothing else of the other agency.
                for marker in markers.iter().filter(|m| !sent.contains(*m)) {
                    assert!(!body.contains(marker), "{target} leaked `{marker}`: {body}");
                }
            }
            // An import names no dossier of the other agency and cannot use its procedure.
            let other_reference = if me.agency == AGENCY_A { "DVC-0002" } else { "DVC-0001" };
            let report = import_dossiers(&walker, admin, &[
                import_row(other_reference, me.procedure), import_row("DVC-9999", other.procedure),
            ]).await;
            assert_eq!((report["imported"].as_i64(), report["failed"].as_i64()), (Some(0), Some(2)), "{report}");
            let text = report.to_string();
            for marker in [other_code.as_str(), other_import.as_str(), other.agency] {
                assert!(!text.contains(marker), "an import report leaked `{marker}`: {text}");
            }
            assert!(seen_own >= 10, "the callers of {} saw their own agency in only {seen_own} answers", me.agency);
        }

        let metrics = walker.get("/metrics").await.text().await.unwrap();
        let walked: std::collections::HashSet<(String, String)> = metrics
            .lines()
            .filter_map(|line| line.strip_prefix("motcua_http_requests_total{"))
            .filter_map(|line| {
                let (labels, _count) = line.rsplit_once('}')?;
                let label = |key: &str| labels.split(',').find_map(|l| l.strip_prefix(&format!("{key}=\""))?.strip_suffix('"').map(str::to_owned));
                Some((label("method")?, template_shape(&label("route")?)))
            })
            .collect();
        let contract: Value = serde_json::from_str(include_str!("../../openapi/openapi.json")).unwrap();
        for (template, operations) in contract["paths"].as_object().unwrap() {
            for (method, operation) in operations.as_object().unwrap() {
                if operation.get("security").is_some() {
                    let key = (method.to_uppercase(), template_shape(template));
                    assert!(walked.contains(&key), "{key:?} was not walked by the sibling agencies");
                }
            }
        }
        walker.shutdown().await;

        // The webhooks hear only of their agency's dossiers.
        for (me, own_code, own_import) in [(&A, &dossiers[0], &imported[0]), (&B, &dossiers[1], &imported[1])] {
            let admin = user(Role::Admin, me.counter, &format!("{}.admin", me.staff));
            let hooks: Value = app.get_as(&admin, "/api/v1/webhooks").await.json().await.unwrap();
            assert_eq!(hooks["items"].as_array().unwrap().len(), 1, "{hooks}");
            let path = format!("/api/v1/webhooks/{}/deliveries", hooks["items"][0]["id"]);
            let log = eventually(format!("a delivery for {}", me.agency), async || {
                let log: Value = app.get_as(&admin, &path).await.json().await.unwrap();
                (!log["items"].as_array().unwrap().is_empty()).then_some(log)
            }).await;
            for delivery in log["items"].as_array().unwrap() {
                let code = delivery["dossier_code"].as_str().unwrap();
                assert!(code == own_code || code == own_import, "{delivery}");
            }
        }

        // The province reads both, and its report is the sum of its agencies' reports.
        let province = user(Role::Auditor, "TTPVHCC", "tinh.ktra");
        let listed: Value = app.get_as(&province, "/api/v1/dossiers").await.json().await.unwrap();
        assert_eq!(listed["items"].as_array().unwrap().len(), 4, "{listed}");
        let summary = |t: String| async move {
            let s: Value = app.get_as(&t, &format!("/api/v1/stats/summary?{year}")).await.json().await.unwrap();
            total_received(&s)
        };
        let a = summary(user(Role::Auditor, A.office, "sct.ktra")).await;
        let b = summary(user(Role::Auditor, B.office, "sxd.ktra")).await;
        let all = summary(province.clone()).await;
        assert_eq!((a, b, all), (2, 2, 4));
        let agencies: Value = app.get_as(&province, "/api/v1/agencies").await.json().await.unwrap();
        assert_eq!(agencies["items"].as_array().unwrap().len(), 3, "{agencies}");
    }

    async fn a_hand_over_to_another_agency_shares_the_dossier_with_it(app: &TestApp) {
        seed(app).await;
        // A procedure of agency A whose last step belongs to agency B's office (liên thông).
        let body = procedure("QT-LT-01", A.office, &[A.counter, A.office, B.office], false);
        created(app.post_json("/api/v1/procedures", &body).await).await;
        let reception_a = user(Role::Reception, A.counter, "sct.mc");
        let leader_a = user(Role::Leader, A.office, "sct.ld");
        let leader_b = user(Role::Leader, B.office, "sxd.ld");
        let code = receive(app, &reception_a, "QT-LT-01").await;
        expect_problem(app.get_as(&leader_b, &format!("/api/v1/dossiers/{code}")).await, 404).await;
        act(app, &reception_a, &code, 1, json!({"action": "start"})).await;
        act(app, &user(Role::Admin, A.counter, "sct.admin"), &code, 2, json!({"action": "forward"})).await;
        act(app, &leader_a, &code, 3, json!({"action": "forward", "to_unit_code": B.office})).await;
        // Agency B reads it, lists it and acts on it; agency A keeps reading it.
        let read: Value = app.get_as(&leader_b, &format!("/api/v1/dossiers/{code}")).await.json().await.unwrap();
        assert_eq!(read["current_step"]["unit_code"], B.office);
        assert_eq!(read["agency_code"], AGENCY_A);
        let listed: Value = app.get_as(&leader_b, "/api/v1/dossiers").await.json().await.unwrap();
        assert_eq!(listed["items"][0]["code"], code.as_str());
        act(app, &leader_b, &code, 4, json!({"action": "resolve", "result": "approved"})).await;
        let history: Value = app.get_as(&reception_a, &format!("/api/v1/dossiers/{code}/history")).await.json().await.unwrap();
        let units: Vec<&str> = history["items"].as_array().unwrap().iter().filter_map(|e| e["to_unit_code"].as_str()).collect();
        assert!(units.contains(&B.office) && units.contains(&A.office), "{history}");
        // It stays agency A's dossier in the report: counted once, by the agency whose code it bears.
        let year = "from=2024-01-01&to=2031-12-31";
        let report = |t: String| async move {
            let s: Value = app.get_as(&t, &format!("/api/v1/stats/summary?{year}")).await.json().await.unwrap();
            total_received(&s)
        };
        assert_eq!(report(user(Role::Auditor, A.office, "sct.ktra")).await, 1);
        assert_eq!(report(user(Role::Auditor, B.office, "sxd.ktra")).await, 0);
        // An agency that took no part still does not see it.
        created(app.post_json("/api/v1/agencies", &json!({"code": "000.00.12.H22", "name": "Sở Y tế", "parent_code": PROVINCE})).await).await;
        created(app.post_json("/api/v1/units", &json!({"code": "MC-SYT", "name": "Một cửa SYT", "agency_code": "000.00.12.H22"})).await).await;
        let stranger = user(Role::Reception, "MC-SYT", "syt.mc");
        expect_problem(app.get_as(&stranger, &format!("/api/v1/dossiers/{code}")).await, 404).await;
    }

    async fn a_procedure_receivable_anywhere_is_received_at_any_agencys_counter(app: &TestApp) {
        seed(app).await;
        let body = procedure("QT-PDG-01", B.office, &[B.counter, B.office], true);
        created(app.post_json("/api/v1/procedures", &body).await).await;
        let reception_a = user(Role::Reception, A.counter, "sct.mc");
        // Agency A's counter sees the procedure and receives it; the code is agency B's.
        let found = app.get_as(&reception_a, "/api/v1/procedures/QT-PDG-01").await;
        assert_eq!(found.status(), 200);
        let code = receive(app, &reception_a, "QT-PDG-01").await;
        assert!(code.starts_with(&format!("{AGENCY_B}-")), "{code}");
        for reader in [reception_a, user(Role::Reception, B.counter, "sxd.mc")] {
            let got = app.get_as(&reader, &format!("/api/v1/dossiers/{code}")).await;
            assert_eq!(got.status(), 200);
        }
    }

    async fn confined_administrators_build_only_below_their_agency(app: &TestApp) {
        seed(app).await;
        let admin_a = user(Role::Admin, A.counter, "sct.admin");
        let child = json!({"code": "000.01.10.H22", "name": "Chi cục QLTT", "parent_code": AGENCY_A});
        created(post_as(app, &admin_a, "/api/v1/agencies", &child).await).await;
        let unit = json!({"code": "CC-QLTT", "name": "Chi cục", "agency_code": "000.01.10.H22"});
        created(post_as(app, &admin_a, "/api/v1/units", &unit).await).await;
        // A cycle, a move of their own agency, a parent outside: refused; a rename: fine.
        let cycle = app.client.patch(app.url(&format!("/api/v1/agencies/{AGENCY_A}"))).json(&json!({"parent_code": "000.01.10.H22"})).send().await.unwrap();
        expect_problem(cycle, 422).await;
        let own = app.client.patch(app.url(&format!("/api/v1/agencies/{AGENCY_A}"))).bearer_auth(&admin_a).json(&json!({"parent_code": null})).send().await.unwrap();
        expect_problem(own, 403).await;
        let outside = json!({"code": "000.02.10.H22", "name": "x", "parent_code": AGENCY_B});
        expect_problem(post_as(app, &admin_a, "/api/v1/agencies", &outside).await, 403).await;
        let renamed = app.client.patch(app.url("/api/v1/agencies/000.01.10.H22")).bearer_auth(&admin_a).json(&json!({"name": "Chi cục Quản lý thị trường"})).send().await.unwrap();
        assert_eq!(renamed.status(), 200);
        // Accounts: only with a unit of theirs.
        // Another agency's unit is no unit for them, exactly as an unknown one.
        let stray = json!({"username": "lac.loi", "password": "Mat-khau-du-dai-2025!", "role": "reception", "unit_code": B.counter});
        let problem = expect_problem(post_as(app, &admin_a, "/api/v1/users", &stray).await, 422).await;
        assert_eq!(problem["errors"][0]["message"], format!("no unit `{}`", B.counter), "{problem}");
        let unitless = json!({"username": "khong.don.vi", "password": "Mat-khau-du-dai-2025!", "role": "auditor"});
        expect_problem(post_as(app, &admin_a, "/api/v1/users", &unitless).await, 403).await;
        // A client it registers works for its agency.
        let client = created(post_as(app, &admin_a, "/api/v1/clients", &json!({"name": "Cổng SCT"})).await).await;
        assert_eq!(client["agency_code"], AGENCY_A);
        // A unit that leads dossiers keeps its agency.
        receive(app, &user(Role::Reception, A.counter, "sct.mc"), A.procedure).await;
        let moved = app.client.patch(app.url(&format!("/api/v1/units/{}", A.office))).json(&json!({"agency_code": AGENCY_B})).send().await.unwrap();
        expect_problem(moved, 409).await;
    }

    async fn a_database_from_before_agencies_is_migrated_without_renumbering(backend: Backend) {
        let app = spawn_app_on(TestDb::create(backend), None).await;
        seed(&app).await;
        let body = procedure("QT-LT-01", A.office, &[A.counter, A.office, B.office], false);
        created(app.post_json("/api/v1/procedures", &body).await).await;
        let (reception_a, reception_b) = (user(Role::Reception, A.counter, "sct.mc"), user(Role::Reception, B.counter, "sxd.mc"));
        let own_a = receive(&app, &reception_a, A.procedure).await;
        let own_b = receive(&app, &reception_b, B.procedure).await;
        let shared = receive(&app, &reception_a, "QT-LT-01").await;
        act(&app, &reception_a, &shared, 1, json!({"action": "start"})).await;
        act(&app, &user(Role::Admin, A.counter, "sct.admin"), &shared, 2, json!({"action": "forward"})).await;
        act(&app, &user(Role::Leader, A.office, "sct.ld"), &shared, 3, json!({"action": "forward", "to_unit_code": B.office})).await;
        let before = all_dossiers(&app).await;
        assert_eq!(before.len(), 3);

        // Stop, roll the schema back to before agencies, and start again: the migration runs on
        // dossiers, units and audit entries it did not create.
        let TestApp { db, handle, .. } = app;
        handle.stop(false).await;
        revert_to_before_agencies(&db.target);
        let app = spawn_app_on(db, None).await;

        // Nothing lost or renumbered; one agency per code in use, named by its code.
        assert_eq!(all_dossiers(&app).await, before);
        let agencies: Value = app.get("/api/v1/agencies").await.json().await.unwrap();
        let codes: Vec<(&str, &str)> = agencies["items"].as_array().unwrap().iter()
            .map(|a| (a["code"].as_str().unwrap(), a["name"].as_str().unwrap())).collect();
        assert_eq!(codes, [(PROVINCE, PROVINCE), (AGENCY_A, AGENCY_A), (AGENCY_B, AGENCY_B)]);
        // Each agency reads its own, and the hand-over found in the history still shares the
        // dossier with the receiving agency.
        let auditor_b = user(Role::Auditor, B.office, "sxd.ktra");
        let listed: Value = app.get_as(&auditor_b, "/api/v1/dossiers").await.json().await.unwrap();
        let mut seen: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
        seen.sort();
        let mut expected = vec![own_b.as_str(), shared.as_str()];
        expected.sort();
        assert_eq!(seen, expected);
        expect_problem(app.get_as(&auditor_b, &format!("/api/v1/dossiers/{own_a}")).await, 404).await;
        // Old audit entries now belong to the agency they concern.
        let audit: Value = app.get_as(&auditor_b, "/api/v1/audit?limit=200").await.json().await.unwrap();
        let text = audit.to_string();
        assert!(text.contains(&own_b) && text.contains(B.procedure), "{text}");
        assert!(!text.contains(&own_a) && !text.contains(A.procedure), "{text}");
        // Numbering goes on from where it was.
        let next = receive(&app, &reception_a, A.procedure).await;
        assert!(!before.iter().any(|(code, ..)| *code == next), "{next} reused");
        app.shutdown().await;
    }
}
