//! Calendar API: built-in holidays, overrides, office hours and the deadline preview.

use serde_json::{Value, json};

use crate::{backend_tests, helpers::expect_problem};

async fn days(app: &crate::helpers::TestApp, from: &str, to: &str) -> Vec<Value> {
    let response = app
        .get(&format!("/api/v1/calendar/days?from={from}&to={to}"))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

fn kinds(items: &[Value]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_owned(),
                d["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn due(app: &crate::helpers::TestApp, start: &str, amount: u32, unit: &str) -> String {
    let response = app
        .client
        .get(app.url("/api/v1/calendar/deadline"))
        .query(&[
            ("start", start),
            ("amount", &amount.to_string()),
            ("unit", unit),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["due_at"].as_str().unwrap().to_owned()
}

backend_tests! {
    async fn tet_2025_is_built_in(app: &TestApp) {
        let items = days(app, "2025-01-27", "2025-02-04").await;
        let expected = [
            ("2025-01-27", "working"),
            ("2025-01-28", "holiday"),
            ("2025-01-29", "holiday"),
            ("2025-01-30", "holiday"),
            ("2025-01-31", "holiday"),
            ("2025-02-01", "holiday"),
            ("2025-02-02", "weekend"),
            ("2025-02-03", "compensatory_day_off"),
            ("2025-02-04", "working"),
        ];
        let expected: Vec<(String, String)> =
            expected.iter().map(|(d, k)| (d.to_string(), k.to_string())).collect();
        assert_eq!(kinds(&items), expected);
        assert!(items[2]["name"].as_str().unwrap().contains("Tết"), "{}", items[2]);
        assert_eq!(items[0]["working_minutes"], 480);
        assert_eq!(items[1]["working_minutes"], 0);
    }

    async fn vietnamese_not_chinese_lunar_new_year_2007(app: &TestApp) {
        let items = days(app, "2007-02-16", "2007-02-19").await;
        assert_eq!(items[0]["kind"], "holiday", "last day of the lunar year: {}", items[0]);
        assert_eq!(items[1]["kind"], "holiday", "Tết 2007-02-17 in Vietnam: {}", items[1]);
    }

    async fn deadline_preview_skips_tet(app: &TestApp) {
        // Received on the Friday before Tết 2025 at 14:00 local time.
        assert_eq!(due(app, "2025-01-24T14:00:00+07:00", 1, "working_days").await, "2025-01-27T14:00:00+07:00");
        assert_eq!(due(app, "2025-01-24T14:00:00+07:00", 5, "working_days").await, "2025-02-07T14:00:00+07:00");
        // Four working hours from 16:00: one hour on Friday, three on Monday morning.
        assert_eq!(due(app, "2025-01-24T16:00:00+07:00", 4, "working_hours").await, "2025-01-27T10:30:00+07:00");
        // Received on a Saturday evening: counting starts on Monday 07:30.
        assert_eq!(due(app, "2025-03-08T20:00:00+07:00", 1, "working_days").await, "2025-03-10T17:00:00+07:00");
        // Ten calendar days from 2025-01-20 end on 2025-01-30, a Tết holiday: moved to the next working day's close.
        assert_eq!(due(app, "2025-01-20T09:00:00+07:00", 10, "calendar_days").await, "2025-02-04T17:00:00+07:00");
        // An unencoded `+` in the query string still parses.
        let response = app
            .get("/api/v1/calendar/deadline?start=2025-01-24T14:00:00+07:00&amount=1&unit=working_days")
            .await;
        assert_eq!(response.status(), 200);
    }

    async fn deadline_preview_rejects_bad_input(app: &TestApp) {
        let bad_unit = app.get("/api/v1/calendar/deadline?start=2025-01-24T14:00:00Z&amount=1&unit=weeks").await;
        expect_problem(bad_unit, 400).await;
        let no_offset = app.get("/api/v1/calendar/deadline?start=2025-01-24T14:00:00&amount=1&unit=working_days").await;
        expect_problem(no_offset, 400).await;
        let zero = app.get("/api/v1/calendar/deadline?start=2025-01-24T14:00:00Z&amount=0&unit=working_days").await;
        let problem = expect_problem(zero, 422).await;
        assert_eq!(problem["errors"][0]["field"], "amount");
        let out_of_range = app.get("/api/v1/calendar/deadline?start=2150-01-01T00:00:00Z&amount=1&unit=working_days").await;
        let problem = expect_problem(out_of_range, 422).await;
        assert_eq!(problem["errors"][0]["field"], "start");
    }

    async fn days_range_is_validated(app: &TestApp) {
        let reversed = app.get("/api/v1/calendar/days?from=2025-02-01&to=2025-01-01").await;
        assert_eq!(expect_problem(reversed, 422).await["errors"][0]["field"], "to");
        let too_long = app.get("/api/v1/calendar/days?from=2020-01-01&to=2025-01-01").await;
        expect_problem(too_long, 422).await;
        let malformed = app.get("/api/v1/calendar/days?from=2025-13-01&to=2025-12-31").await;
        expect_problem(malformed, 400).await;
    }

    async fn overrides_change_days_and_deadlines(app: &TestApp) {
        let saturday = app.client.put(app.url("/api/v1/calendar/days/2025-02-08"))
            .json(&json!({"kind": "working", "name": "Làm bù cho ngày 03/02"}))
            .send().await.unwrap();
        assert_eq!(saturday.status(), 200);
        let body: Value = saturday.json().await.unwrap();
        assert_eq!(body["kind"], "make_up_working_day");
        assert_eq!(body["overridden"], true);
        assert_eq!(body["working_minutes"], 480);

        let holiday = app.client.put(app.url("/api/v1/calendar/days/2025-02-04"))
            .json(&json!({"kind": "holiday", "name": "Nghỉ theo thông báo"}))
            .send().await.unwrap();
        assert_eq!(holiday.status(), 200);

        // 5 working days from Friday 2025-01-24 14:00: Jan 27, Feb 5, 6, 7 and the make-up Saturday Feb 8.
        assert_eq!(due(app, "2025-01-24T14:00:00+07:00", 5, "working_days").await, "2025-02-08T14:00:00+07:00");

        let deleted = app.client.delete(app.url("/api/v1/calendar/days/2025-02-04")).send().await.unwrap();
        assert_eq!(deleted.status(), 204);
        let again = app.client.delete(app.url("/api/v1/calendar/days/2025-02-04")).send().await.unwrap();
        expect_problem(again, 404).await;
        let items = days(app, "2025-02-04", "2025-02-04").await;
        assert_eq!(items[0]["kind"], "working");
        assert_eq!(items[0]["overridden"], false);
    }

    async fn override_body_is_validated(app: &TestApp) {
        let unknown_kind = app.client.put(app.url("/api/v1/calendar/days/2025-02-04"))
            .json(&json!({"kind": "party"})).send().await.unwrap();
        assert_eq!(expect_problem(unknown_kind, 422).await["errors"][0]["field"], "kind");
        let typo = app.client.put(app.url("/api/v1/calendar/days/2025-02-04"))
            .json(&json!({"kind": "holiday", "nmae": "x"})).send().await.unwrap();
        expect_problem(typo, 422).await;
        let bad_date = app.client.put(app.url("/api/v1/calendar/days/2025-02-30"))
            .json(&json!({"kind": "holiday"})).send().await.unwrap();
        expect_problem(bad_date, 400).await;
        let out_of_range = app.client.put(app.url("/api/v1/calendar/days/1980-01-01"))
            .json(&json!({"kind": "holiday"})).send().await.unwrap();
        expect_problem(out_of_range, 422).await;
        // Nothing was stored by the rejected requests.
        let items = days(app, "2025-02-04", "2025-02-04").await;
        assert_eq!(items[0]["overridden"], false);
    }

    async fn office_hours_round_trip_and_validation(app: &TestApp) {
        let response = app.get("/api/v1/calendar/office-hours").await;
        assert_eq!(response.status(), 200);
        let hours: Value = response.json().await.unwrap();
        assert_eq!(hours["monday"], json!([{"start": "07:30", "end": "11:30"}, {"start": "13:00", "end": "17:00"}]));
        assert_eq!(hours["saturday"], json!([]));

        let mut with_saturday = hours.clone();
        with_saturday["saturday"] = json!([{"start": "07:30", "end": "11:30"}]);
        let put = app.client.put(app.url("/api/v1/calendar/office-hours")).json(&with_saturday).send().await.unwrap();
        assert_eq!(put.status(), 200);
        let items = days(app, "2025-03-08", "2025-03-08").await;
        assert_eq!(items[0]["kind"], "working");
        assert_eq!(items[0]["working_minutes"], 240);

        let mut overlapping = hours.clone();
        overlapping["monday"] = json!([{"start": "07:30", "end": "12:00"}, {"start": "11:00", "end": "17:00"}]);
        let rejected = app.client.put(app.url("/api/v1/calendar/office-hours")).json(&overlapping).send().await.unwrap();
        expect_problem(rejected, 422).await;
        let mut malformed = hours.clone();
        malformed["tuesday"] = json!([{"start": "7h30", "end": "11:30"}]);
        let rejected = app.client.put(app.url("/api/v1/calendar/office-hours")).json(&malformed).send().await.unwrap();
        assert_eq!(expect_problem(rejected, 422).await["errors"][0]["field"], "tuesday[0].start");
        // The accepted Saturday session is still in force.
        let current: Value = app.get("/api/v1/calendar/office-hours").await.json().await.unwrap();
        assert_eq!(current["saturday"], json!([{"start": "07:30", "end": "11:30"}]));
    }

    /// Every calendar write is in the audit log with who, when, the reason, and what the date or
    /// the office hours were before and after; a refused write leaves no entry.
    async fn calendar_changes_are_audited(app: &TestApp) {
        let started = chrono::Utc::now();
        let put_day = |date: &str, body: Value| {
            app.client.put(app.url(&format!("/api/v1/calendar/days/{date}")))
                .header("X-Audit-Reason", "Quyet dinh 15/QD-UBND")
                .json(&body).send()
        };
        let created = put_day("2025-02-08", json!({"kind": "working", "name": "Làm bù cho ngày 03/02"})).await.unwrap();
        assert_eq!(created.status(), 200);
        let replaced = put_day("2025-02-08", json!({"kind": "holiday"})).await.unwrap();
        assert_eq!(replaced.status(), 200);
        let deleted = app.client.delete(app.url("/api/v1/calendar/days/2025-02-08")).send().await.unwrap();
        assert_eq!(deleted.status(), 204);
        let before_hours: Value = app.get("/api/v1/calendar/office-hours").await.json().await.unwrap();
        let mut with_saturday = before_hours.clone();
        with_saturday["saturday"] = json!([{"start": "07:30", "end": "11:30"}]);
        let put_hours = app.client.put(app.url("/api/v1/calendar/office-hours")).json(&with_saturday).send().await.unwrap();
        assert_eq!(put_hours.status(), 200);

        // Refused writes: nothing stored, nothing audited.
        expect_problem(put_day("1980-01-01", json!({"kind": "holiday"})).await.unwrap(), 422).await;
        expect_problem(app.client.delete(app.url("/api/v1/calendar/days/2025-02-08")).send().await.unwrap(), 404).await;
        let mut overlapping = before_hours.clone();
        overlapping["monday"] = json!([{"start": "07:30", "end": "12:00"}, {"start": "11:00", "end": "17:00"}]);
        expect_problem(app.client.put(app.url("/api/v1/calendar/office-hours")).json(&overlapping).send().await.unwrap(), 422).await;
        let reception = crate::helpers::token(motcua::auth::policy::Role::Reception, None, "tn.mai", motcua::auth::policy::PrincipalKind::User);
        let denied = app.client.put(app.url("/api/v1/calendar/days/2025-02-10")).bearer_auth(&reception)
            .json(&json!({"kind": "holiday"})).send().await.unwrap();
        expect_problem(denied, 403).await;

        let log: Value = app.get("/api/v1/audit?entity_type=calendar").await.json().await.unwrap();
        let entries = log["items"].as_array().unwrap();
        let summary: Vec<(&str, &str)> = entries.iter()
            .map(|e| (e["action"].as_str().unwrap(), e["entity_id"].as_str().unwrap()))
            .collect();
        assert_eq!(summary, [
            ("calendar.set_override", "2025-02-08"),
            ("calendar.set_override", "2025-02-08"),
            ("calendar.delete_override", "2025-02-08"),
            ("calendar.set_office_hours", "office_hours"),
        ], "{log}");
        assert_eq!(entries[0]["changes"], json!({
            "before": null,
            "after": {"kind": "working", "name": "Làm bù cho ngày 03/02"},
        }));
        assert_eq!(entries[1]["changes"], json!({
            "before": {"kind": "working", "name": "Làm bù cho ngày 03/02"},
            "after": {"kind": "holiday", "name": null},
        }));
        assert_eq!(entries[2]["changes"], json!({
            "before": {"kind": "holiday", "name": null},
            "after": null,
        }));
        let weekday = json!([{"start": "07:30:00", "end": "11:30:00"}, {"start": "13:00:00", "end": "17:00:00"}]);
        let week = |saturday: Value| json!({
            "monday": weekday, "tuesday": weekday, "wednesday": weekday, "thursday": weekday,
            "friday": weekday, "saturday": saturday, "sunday": [],
        });
        assert_eq!(entries[3]["changes"], json!({
            "before": week(json!([])),
            "after": week(json!([{"start": "07:30:00", "end": "11:30:00"}])),
        }));
        for (i, entry) in entries.iter().enumerate() {
            assert_eq!(entry["entity_type"], "calendar");
            assert_eq!(entry["actor"], "admin");
            assert_eq!(entry["actor_role"], "admin");
            assert_eq!(entry["reason"], if i < 2 { json!("Quyet dinh 15/QD-UBND") } else { Value::Null });
            let at = chrono::DateTime::parse_from_rfc3339(entry["at"].as_str().unwrap()).unwrap();
            assert!(at >= started - chrono::Duration::seconds(1) && at <= chrono::Utc::now(), "{entry}");
        }
    }

    /// A change made through one instance is seen by another on the same database.
    async fn calendar_change_reaches_every_instance(backend: Backend) {
        let first = crate::helpers::spawn_app(backend).await;
        let second = crate::helpers::spawn_instance(&first).await;
        let before = days(&second, "2025-02-04", "2025-02-04").await;
        assert_eq!(before[0]["kind"], "working");
        let put = first
            .client
            .put(first.url("/api/v1/calendar/days/2025-02-04"))
            .json(&json!({"kind": "holiday"}))
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 200);
        let after = days(&second, "2025-02-04", "2025-02-04").await;
        assert_eq!(after[0]["kind"], "holiday");
        second.handle.stop(false).await;
        first.shutdown().await;
    }
}
