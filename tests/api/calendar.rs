//! Calendar API: built-in holidays, holiday rules, overrides, office hours and the deadline preview.

use serde_json::{Value, json};

use crate::{
    backend_tests,
    helpers::{expect_json, expect_problem},
};

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

    /// The built-in rules are listed (the law, with Ngày Văn hóa Việt Nam from 2026) and cannot
    /// be deleted; the built-in calendar follows them, and before October 1999 works on Saturdays.
    async fn built_in_rules_are_listed_and_kept(app: &TestApp) {
        let list = expect_json(app.get("/api/v1/calendar/rules").await, 200).await;
        let items = list["items"].as_array().unwrap();
        assert!(items.iter().all(|r| r["builtin"] == true && r["id"].as_i64().unwrap() < 0), "{list}");
        let culture = items.iter().find(|r| r["name"] == "Ngày Văn hóa Việt Nam").unwrap();
        assert_eq!(culture, &json!({
            "id": -9, "name": "Ngày Văn hóa Việt Nam", "calendar": "solar", "month": 11, "day": 24,
            "days": 1, "from_year": 2026, "to_year": null, "builtin": true,
        }));
        let hung = items.iter().find(|r| r["name"] == "Giỗ Tổ Hùng Vương").unwrap();
        assert_eq!((&hung["calendar"], &hung["month"], &hung["day"], &hung["from_year"]), (&json!("lunar"), &json!(3), &json!(10), &json!(2007)));
        assert_eq!(expect_json(app.get("/api/v1/calendar/rules/-9").await, 200).await, *culture);

        let refused = app.client.delete(app.url("/api/v1/calendar/rules/-9")).send().await.unwrap();
        expect_problem(refused, 409).await;
        let unknown = app.client.delete(app.url("/api/v1/calendar/rules/4242")).send().await.unwrap();
        expect_problem(unknown, 404).await;
        expect_problem(app.get("/api/v1/calendar/rules/4242").await, 404).await;

        // Monday 24 November 2025 worked; Tuesday 24 November 2026 off; Saturday 24 November 2029
        // → Monday 26 November off.
        assert_eq!(days(app, "2025-11-24", "2025-11-24").await[0]["kind"], "working");
        let culture_day = days(app, "2026-11-24", "2026-11-24").await;
        assert_eq!((&culture_day[0]["kind"], &culture_day[0]["name"]), (&json!("holiday"), &json!("Ngày Văn hóa Việt Nam")));
        let items = days(app, "2029-11-24", "2029-11-26").await;
        assert_eq!(kinds(&items), [
            ("2029-11-24".to_owned(), "holiday".to_owned()),
            ("2029-11-25".to_owned(), "weekend".to_owned()),
            ("2029-11-26".to_owned(), "compensatory_day_off".to_owned()),
        ]);
        // The six-day week: Saturday 25 September 1999 worked (Monday's 480 minutes), Saturday
        // 2 October 1999 not; one working day from Friday 24 September 14:00 ends on that Saturday.
        let items = days(app, "1999-09-25", "1999-10-02").await;
        assert_eq!((&items[0]["kind"], &items[0]["working_minutes"]), (&json!("working"), &json!(480)));
        assert_eq!((&items[7]["kind"], &items[7]["working_minutes"]), (&json!("weekend"), &json!(0)));
        assert_eq!(due(app, "1999-09-24T14:00:00+07:00", 1, "working_days").await, "1999-09-25T14:00:00+07:00");
    }

    /// An added rule moves the days and the deadlines computed afterwards, never a stored one; its
    /// deletion restores the calendar.
    async fn added_rule_changes_days_and_new_deadlines_only(app: &TestApp) {
        crate::catalogue::seed_catalogue(app).await;
        // Received Friday 7 March 2025 14:00, 5 working days: 3 h on Friday, 10–13 March, 5 h of
        // Friday 14 March → 14 March 14:00.
        let receipt = crate::dossiers::receipt(Some("2025-03-07T14:00:00+07:00"), None);
        let dossier = expect_json(app.post_json("/api/v1/dossiers", &receipt).await, 201).await;
        let code = dossier["code"].as_str().unwrap().to_owned();
        assert_eq!(dossier["due_at"], "2025-03-14T14:00:00+07:00");
        let before = expect_json(app.get(&format!("/api/v1/dossiers/{code}/deadline")).await, 200).await;

        // Saturday 8 March every year from 2025: Monday 10 March 2025 becomes a compensatory day.
        let created = app.post_json("/api/v1/calendar/rules", &json!({
            "name": "Ngày lễ của tỉnh", "calendar": "solar", "month": 3, "day": 8, "days": 1,
            "from_year": 2025, "to_year": null,
        })).await;
        let location = created.headers()["location"].to_str().unwrap().to_owned();
        let rule = expect_json(created, 201).await;
        let id = rule["id"].as_i64().unwrap();
        assert!(id > 0, "{rule}");
        assert_eq!(location, format!("/api/v1/calendar/rules/{id}"));
        assert_eq!(rule, json!({
            "id": id, "name": "Ngày lễ của tỉnh", "calendar": "solar", "month": 3, "day": 8,
            "days": 1, "from_year": 2025, "to_year": null, "builtin": false,
        }));
        let listed = expect_json(app.get("/api/v1/calendar/rules").await, 200).await;
        assert_eq!(listed["items"].as_array().unwrap().last().unwrap(), &rule);

        let items = days(app, "2025-03-08", "2025-03-11").await;
        assert_eq!(kinds(&items), [
            ("2025-03-08".to_owned(), "holiday".to_owned()),
            ("2025-03-09".to_owned(), "weekend".to_owned()),
            ("2025-03-10".to_owned(), "compensatory_day_off".to_owned()),
            ("2025-03-11".to_owned(), "working".to_owned()),
        ]);
        assert_eq!(items[0]["name"], "Ngày lễ của tỉnh");
        assert_eq!(items[2]["name"], "Nghỉ bù Ngày lễ của tỉnh");
        // New deadlines skip Monday 10 March: one working day from Saturday evening ends Tuesday;
        // the same receipt as the dossier's is now due Monday 17 March 14:00.
        assert_eq!(due(app, "2025-03-08T20:00:00+07:00", 1, "working_days").await, "2025-03-11T17:00:00+07:00");
        assert_eq!(due(app, "2025-03-07T14:00:00+07:00", 5, "working_days").await, "2025-03-17T14:00:00+07:00");
        // The stored dossier keeps its due instant and the calendar revision that explains it.
        let after = expect_json(app.get(&format!("/api/v1/dossiers/{code}/deadline")).await, 200).await;
        assert_eq!(after["due_at"], "2025-03-14T14:00:00+07:00");
        assert_eq!(after["computation"]["calendar_revision"], before["computation"]["calendar_revision"]);
        let stored = expect_json(app.get(&format!("/api/v1/dossiers/{code}")).await, 200).await;
        assert_eq!(stored["due_at"], "2025-03-14T14:00:00+07:00");

        // A lunar rule: Rằm tháng Giêng (15/1) of lunar year 2025 only, Wednesday 12 February 2025.
        let lunar = expect_json(app.post_json("/api/v1/calendar/rules", &json!({
            "name": "Rằm tháng Giêng", "calendar": "lunar", "month": 1, "day": 15, "days": 1,
            "from_year": 2025, "to_year": 2025,
        })).await, 201).await;
        assert_eq!(days(app, "2025-02-12", "2025-02-12").await[0]["kind"], "holiday");
        // 15/1 of lunar year 2026 is Tuesday 3 March 2026: outside the rule's years.
        assert_eq!(days(app, "2026-03-03", "2026-03-03").await[0]["kind"], "working");

        // An override still wins over a rule's day.
        let put = app.client.put(app.url("/api/v1/calendar/days/2025-03-10"))
            .json(&json!({"kind": "working"})).send().await.unwrap();
        assert_eq!(expect_json(put, 200).await["kind"], "working");
        let deleted = app.client.delete(app.url("/api/v1/calendar/days/2025-03-10")).send().await.unwrap();
        assert_eq!(deleted.status(), 204);

        for id in [id, lunar["id"].as_i64().unwrap()] {
            let deleted = app.client.delete(app.url(&format!("/api/v1/calendar/rules/{id}"))).send().await.unwrap();
            assert_eq!(deleted.status(), 204);
        }
        let again = app.client.delete(app.url(&format!("/api/v1/calendar/rules/{id}"))).send().await.unwrap();
        expect_problem(again, 404).await;
        assert_eq!(days(app, "2025-03-10", "2025-03-10").await[0]["kind"], "working");
        assert_eq!(days(app, "2025-02-12", "2025-02-12").await[0]["kind"], "working");
        assert_eq!(due(app, "2025-03-07T14:00:00+07:00", 5, "working_days").await, "2025-03-14T14:00:00+07:00");
    }

    /// Each bad rule is a 422 problem naming the field, and nothing is stored or audited.
    async fn holiday_rule_input_is_validated(app: &TestApp) {
        let valid = json!({
            "name": "Ngày lễ", "calendar": "solar", "month": 6, "day": 13, "days": 1,
            "from_year": 2026, "to_year": null,
        });
        let with = |changes: Value| {
            let mut body = valid.clone();
            for (key, value) in changes.as_object().unwrap() {
                body[key] = value.clone();
            }
            body
        };
        let cases = [
            (with(json!({"month": 13})), "month"),
            (with(json!({"month": 0})), "month"),
            (with(json!({"month": -1})), "month"),
            (with(json!({"month": 2, "day": 30})), "day"),
            (with(json!({"month": 4, "day": 31})), "day"),
            (with(json!({"calendar": "lunar", "day": 31})), "day"),
            (with(json!({"day": 0})), "day"),
            (with(json!({"days": 0})), "days"),
            (with(json!({"days": 11})), "days"),
            (with(json!({"from_year": 2027, "to_year": 2026})), "to_year"),
            (with(json!({"from_year": 1899})), "from_year"),
            (with(json!({"to_year": 2200})), "to_year"),
            (with(json!({"calendar": "julian"})), "calendar"),
            (with(json!({"name": "   "})), "name"),
            (with(json!({"name": "x".repeat(201)})), "name"),
        ];
        for (body, field) in cases {
            let response = app.post_json("/api/v1/calendar/rules", &body).await;
            let problem = expect_problem(response, 422).await;
            assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
        }
        let unknown_field = app.post_json("/api/v1/calendar/rules", &with(json!({"weekday": "monday"}))).await;
        expect_problem(unknown_field, 422).await;
        let missing = app.post_json("/api/v1/calendar/rules", &json!({"name": "Ngày lễ", "calendar": "solar"})).await;
        expect_problem(missing, 422).await;

        // Nothing stored, nothing audited; the lunar edge of the range and 29 February are valid.
        let list = expect_json(app.get("/api/v1/calendar/rules").await, 200).await;
        assert!(list["items"].as_array().unwrap().iter().all(|r| r["builtin"] == true), "{list}");
        let log = expect_json(app.get("/api/v1/audit?entity_type=calendar").await, 200).await;
        assert_eq!(log["items"], json!([]));
        for body in [
            with(json!({"calendar": "lunar", "month": 12, "day": 30, "from_year": 1900, "to_year": 2199, "days": 10})),
            with(json!({"month": 2, "day": 29})),
        ] {
            expect_json(app.post_json("/api/v1/calendar/rules", &body).await, 201).await;
        }
        // 29 February 2028 (Tuesday) is a holiday, 28 February 2027 (Sunday) is not moved.
        assert_eq!(days(app, "2028-02-29", "2028-02-29").await[0]["kind"], "holiday");
        assert_eq!(days(app, "2027-03-01", "2027-03-01").await[0]["kind"], "working");
    }

    /// Adding and deleting a rule are audited with who, when, why and the rule before and after;
    /// reading is for every staff role, writing for a deployment-wide administrator only.
    async fn holiday_rule_changes_are_audited_and_authorized(app: &TestApp) {
        use motcua::auth::policy::{PrincipalKind, Role};
        let started = chrono::Utc::now();
        let body = json!({
            "name": "Ngày lễ của tỉnh", "calendar": "lunar", "month": 3, "day": 10, "days": 2,
            "from_year": 2030, "to_year": 2035,
        });
        let created = app.client.post(app.url("/api/v1/calendar/rules"))
            .header("X-Audit-Reason", "Nghi quyet HDND tinh")
            .json(&body).send().await.unwrap();
        let id = expect_json(created, 201).await["id"].as_i64().unwrap();
        let deleted = app.client.delete(app.url(&format!("/api/v1/calendar/rules/{id}"))).send().await.unwrap();
        assert_eq!(deleted.status(), 204);

        let reception = crate::helpers::token(Role::Reception, None, "tn.mai", PrincipalKind::User);
        let unit_admin = crate::helpers::token(Role::Admin, Some("QLTM"), "admin.qltm", PrincipalKind::User);
        assert_eq!(app.get_as(&reception, "/api/v1/calendar/rules").await.status(), 200);
        for token in [&reception, &unit_admin] {
            let denied = app.client.post(app.url("/api/v1/calendar/rules")).bearer_auth(token).json(&body).send().await.unwrap();
            expect_problem(denied, 403).await;
            let denied = app.client.delete(app.url("/api/v1/calendar/rules/-9")).bearer_auth(token).send().await.unwrap();
            expect_problem(denied, 403).await;
        }
        // A refused deletion leaves no entry either.
        expect_problem(app.client.delete(app.url("/api/v1/calendar/rules/-9")).send().await.unwrap(), 409).await;

        let log = expect_json(app.get("/api/v1/audit?entity_type=calendar").await, 200).await;
        let entries = log["items"].as_array().unwrap();
        let summary: Vec<(&str, &str)> = entries.iter()
            .map(|e| (e["action"].as_str().unwrap(), e["entity_id"].as_str().unwrap()))
            .collect();
        let entity = format!("rule:{id}");
        assert_eq!(summary, [("calendar.add_rule", entity.as_str()), ("calendar.delete_rule", entity.as_str())], "{log}");
        let stored = json!({
            "name": "Ngày lễ của tỉnh", "calendar": "lunar", "month": 3, "day": 10, "days": 2,
            "from_year": 2030, "to_year": 2035,
        });
        assert_eq!(entries[0]["changes"], json!({"before": null, "after": stored}));
        assert_eq!(entries[1]["changes"], json!({"before": stored, "after": null}));
        for (i, entry) in entries.iter().enumerate() {
            assert_eq!(entry["actor"], "admin");
            assert_eq!(entry["actor_role"], "admin");
            assert_eq!(entry["reason"], if i == 0 { json!("Nghi quyet HDND tinh") } else { Value::Null });
            let at = chrono::DateTime::parse_from_rfc3339(entry["at"].as_str().unwrap()).unwrap();
            assert!(at >= started - chrono::Duration::seconds(1) && at <= chrono::Utc::now(), "{entry}");
        }
    }

    /// A rule added through one instance is seen by another on the same database.
    async fn holiday_rule_reaches_every_instance(backend: Backend) {
        let first = crate::helpers::spawn_app(backend).await;
        let second = crate::helpers::spawn_instance(&first).await;
        assert_eq!(days(&second, "2025-06-13", "2025-06-13").await[0]["kind"], "working");
        let created = first.post_json("/api/v1/calendar/rules", &json!({
            "name": "Ngày lễ của tỉnh", "calendar": "solar", "month": 6, "day": 13, "days": 1,
            "from_year": 2025,
        })).await;
        let id = expect_json(created, 201).await["id"].as_i64().unwrap();
        assert_eq!(days(&second, "2025-06-13", "2025-06-13").await[0]["kind"], "holiday");
        let deleted = second.client.delete(second.url(&format!("/api/v1/calendar/rules/{id}"))).send().await.unwrap();
        assert_eq!(deleted.status(), 204);
        assert_eq!(days(&first, "2025-06-13", "2025-06-13").await[0]["kind"], "working");
        second.handle.stop(false).await;
        first.shutdown().await;
    }
}
