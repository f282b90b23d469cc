//! Statistics: the report reconciles with the dossier list (property test over random histories
//! through the real service functions), the counters equal a rebuild from the dossiers, and the
//! endpoints (summary in JSON, CSV and XLSX; late; due-soon) on both databases.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use motcua::{
    auth::policy::{Principal, PrincipalKind, Role},
    config::DatabaseTarget,
    domain::{
        applicant::ApplicantDraft,
        calendar::LOCAL_OFFSET,
        deadline::{SupplementPolicy, TimeLimit, TimeUnit},
        dossier::{Channel, Command, PaymentMethod, Resolution},
        procedure::{ProcedureRules, ProcessStep},
    },
    service::{
        catalogue as catalogue_service,
        dossiers::{self as dossier_service, ActionInput, ReceiptInput, RecipientRule},
        stats::{self as stats_service, Column, GroupBy, SummaryQuery},
    },
    store::{
        self, DbConnection, audit::AuditContext, calendar::CalendarCache, catalogue::NewUnit,
        catalogue::ProcedureDraft, dossiers::ListCursor, stats as stats_store,
    },
};
use proptest::prelude::*;

pub fn admin() -> Principal {
    Principal {
        subject: "admin".into(),
        role: Role::Admin,
        unit_code: None,
        kind: PrincipalKind::User,
        scope: motcua::domain::agency::AgencyScope::Everything,
    }
}

pub fn audit() -> AuditContext {
    AuditContext {
        actor: "admin".into(),
        actor_role: motcua::auth::policy::Role::Admin,
        client_id: None,
        reason: None,
        request_id: None,
    }
}

fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    LOCAL_OFFSET
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// A fresh database with units SCT, MC, QLTM, BGD and three procedures: 3 working days (pause
/// policy), 2 working days (restart policy) and 10 calendar days.
fn seeded_db_on(target: &DatabaseTarget) -> (DbConnection, CalendarCache) {
    let mut conn = store::establish(target).unwrap();
    store::run_migrations(&mut conn).unwrap();
    let calendars = CalendarCache::default();
    for (code, name, parent) in [
        ("SCT", "Sở Công Thương", None),
        ("MC", "Bộ phận Một cửa", Some("SCT")),
        ("QLTM", "Phòng Quản lý Thương mại", Some("SCT")),
        ("BGD", "Ban Giám đốc", Some("SCT")),
    ] {
        catalogue_service::create_unit(
            &mut conn,
            &admin(),
            &audit(),
            NewUnit {
                code: code.into(),
                name: name.into(),
                parent_code: parent.map(Into::into),
                agency_code: "SCT".into(),
            },
        )
        .unwrap();
    }
    let steps = |hours: [f64; 3]| {
        vec![
            ProcessStep {
                name: "Tiếp nhận".into(),
                unit_code: "MC".into(),
                hours: hours[0],
            },
            ProcessStep {
                name: "Thẩm định".into(),
                unit_code: "QLTM".into(),
                hours: hours[1],
            },
            ProcessStep {
                name: "Phê duyệt".into(),
                unit_code: "BGD".into(),
                hours: hours[2],
            },
        ]
    };
    for (code, field, unit, limit, policy, hours) in [
        (
            "P-PAUSE",
            "Thương mại",
            "QLTM",
            TimeLimit::working_days(3),
            SupplementPolicy::Pause,
            [4.0, 12.0, 8.0],
        ),
        (
            "P-RESTART",
            "Công nghiệp",
            "QLTM",
            TimeLimit::working_days(2),
            SupplementPolicy::Restart,
            [2.0, 8.0, 4.0],
        ),
        (
            "P-CAL",
            "Thương mại",
            "BGD",
            TimeLimit {
                amount: 10,
                unit: TimeUnit::CalendarDays,
            },
            SupplementPolicy::Pause,
            [4.0, 16.0, 8.0],
        ),
    ] {
        catalogue_service::create_procedure(
            &mut conn,
            &calendars,
            &admin(),
            &audit(),
            code,
            ProcedureDraft {
                name: format!("Thủ tục {code}"),
                field: field.into(),
                unit_code: unit.into(),
                rules: ProcedureRules {
                    time_limit: limit,
                    supplement_policy: policy,
                    steps: steps(hours),
                },
                active: true,
                receivable_anywhere: false,
                listing: Default::default(),
            },
        )
        .unwrap();
    }
    (conn, calendars)
}

/// One step of a random history: the action and the working-ish gap before it, in minutes.
#[derive(Debug, Clone)]
enum Op {
    Start,
    Forward,
    Supplement,
    SupplementReceived,
    Resolve(bool),
    Return,
    Withdraw,
    Accept,
    Decline,
    RequestPayment,
    /// Paid online (true) or in cash.
    PaymentReceived(bool),
    Stop,
}

#[derive(Debug, Clone)]
struct History {
    procedure: usize,
    channel: usize,
    /// An online dossier submitted for the intake check rather than received at once.
    intake_check: bool,
    /// Minutes after 2025-01-02 07:30 local.
    received_offset: i64,
    ops: Vec<(Op, i64)>,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::Start),
        3 => Just(Op::Forward),
        3 => Just(Op::Supplement),
        3 => Just(Op::SupplementReceived),
        3 => any::<bool>().prop_map(Op::Resolve),
        1 => Just(Op::Return),
        1 => Just(Op::Withdraw),
        3 => Just(Op::Accept),
        1 => Just(Op::Decline),
        2 => Just(Op::RequestPayment),
        2 => any::<bool>().prop_map(Op::PaymentReceived),
        1 => Just(Op::Stop),
    ]
}

fn history() -> impl Strategy<Value = History> {
    (
        0usize..3,
        0usize..3,
        any::<bool>(),
        0i64..(60 * 24 * 50),
        prop::collection::vec((op(), 0i64..(60 * 24 * 6)), 0..10),
    )
        .prop_map(
            |(procedure, channel, intake_check, received_offset, ops)| History {
                procedure,
                channel,
                // Only an online dossier (channel 1) goes through the intake check.
                intake_check: intake_check && channel == 1,
                received_offset,
                ops,
            },
        )
}

/// A receipt (or, with `intake_check`, an online submission) as the API would parse it.
fn receipt(
    procedure: &str,
    name: &str,
    channel: &str,
    at: DateTime<Utc>,
    intake_check: bool,
) -> ReceiptInput {
    let applicant = ApplicantDraft {
        name: name.into(),
        ..Default::default()
    };
    let channel = Channel::parse(channel).expect("a channel");
    ReceiptInput::parse(procedure, applicant, channel, Some(at), None, intake_check)
        .expect("a valid receipt")
}

/// Plays a history through the real service functions; illegal actions (for the state reached)
/// are refused by the service like any client's and skipped.
fn play(conn: &mut DbConnection, calendars: &CalendarCache, i: usize, h: &History) {
    const PROCEDURES: [&str; 3] = ["P-PAUSE", "P-RESTART", "P-CAL"];
    const CHANNELS: [&str; 3] = ["direct", "online", "postal"];
    let received_at = local(2025, 1, 2, 7, 30) + Duration::minutes(h.received_offset);
    let received = dossier_service::receive(
        conn,
        calendars,
        &admin(),
        &audit(),
        receipt(
            PROCEDURES[h.procedure],
            &format!("Người nộp {i}"),
            CHANNELS[h.channel],
            received_at,
            h.intake_check,
        ),
    )
    .unwrap();
    let code = received.dossier.code;
    let mut at = received_at;
    let mut version = 1;
    for (op, gap) in &h.ops {
        at += Duration::minutes(*gap);
        let command = match op {
            Op::Start => Command::Start,
            Op::Forward => Command::Forward { to_unit_code: None },
            Op::Supplement => Command::RequestSupplement {
                reason: "Thiếu giấy tờ".into(),
                documents: vec![],
            },
            Op::SupplementReceived => Command::SupplementReceived,
            Op::Resolve(true) => Command::Resolve {
                result: Resolution::Approved,
                note: None,
            },
            Op::Resolve(false) => Command::Resolve {
                result: Resolution::Refused,
                note: Some("Không đủ điều kiện".into()),
            },
            Op::Return => Command::Return,
            Op::Withdraw => Command::Withdraw {
                reason: "Người nộp rút".into(),
            },
            Op::Accept => Command::Accept,
            Op::Decline => Command::Decline {
                reason: "Không thuộc thẩm quyền".into(),
            },
            Op::RequestPayment => Command::RequestPayment {
                amount: 100_000,
                reason: "Lệ phí".into(),
            },
            Op::PaymentReceived(online) => Command::PaymentReceived {
                amount: 100_000,
                method: if *online {
                    PaymentMethod::Online
                } else {
                    PaymentMethod::Cash
                },
                receipt_no: "BL-1".into(),
            },
            Op::Stop => Command::Stop {
                reason: "Không bổ sung đúng hạn".into(),
            },
        };
        let result = dossier_service::act(
            conn,
            calendars,
            &admin(),
            &audit(),
            &code,
            ActionInput {
                command,
                expected_version: version.into(),
                at: Some(at),
                to_user: None,
                recipients: RecipientRule::LocalAccounts,
                note: None,
            },
        );
        match result {
            Ok(record) => version = record.version,
            Err(motcua::service::ServiceError::Dossier(_)) => {}
            Err(e) => panic!("unexpected error on {code}: {e}"),
        }
    }
}

fn list_count(conn: &mut DbConnection, filter: motcua::store::dossiers::DossierFilter) -> i64 {
    dossier_service::list(conn, &admin(), filter, &ListCursor::Start, 1_000_000)
        .unwrap()
        .len() as i64
}

/// Every count of every row (and the total) equals the length of its dossier list.
fn assert_reconciles(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    from: NaiveDate,
    to: NaiveDate,
) {
    for group_by in [
        GroupBy::Unit,
        GroupBy::Procedure,
        GroupBy::Field,
        GroupBy::Channel,
        GroupBy::Month,
    ] {
        let summary = stats_service::summary(
            conn,
            calendars,
            &admin(),
            &SummaryQuery { from, to, group_by },
        )
        .unwrap();
        let mut sums = [0i64; Column::ALL.len()];
        for row in summary.rows.iter().chain([&summary.total]) {
            for (i, column) in Column::ALL.into_iter().enumerate() {
                let value = column.value(&row.line);
                match row.cell_filter(column) {
                    Some(filter) => assert_eq!(
                        value,
                        list_count(conn, filter),
                        "{} of row {:?} ({group_by:?}, {from}..{to})",
                        column.name(),
                        row.key
                    ),
                    None => assert_eq!(value, 0, "{} of row {:?}", column.name(), row.key),
                }
                if row.key.is_some() {
                    sums[i] += value;
                }
            }
            let l = &row.line;
            assert_eq!(
                l.received,
                l.received_online + l.received_direct + l.received_postal
            );
            assert_eq!(
                l.resolved,
                l.resolved_early + l.resolved_on_time + l.resolved_late
            );
            assert_eq!(
                l.open_at_end,
                l.open_not_yet_due
                    + l.open_overdue
                    + l.open_awaiting_supplement
                    + l.open_awaiting_payment
            );
            assert_eq!(
                l.open_at_end,
                l.carried_over + l.received - l.resolved - l.withdrawn - l.stopped
            );
            assert_eq!(
                l.timed, l.resolved,
                "every resolved dossier carries its time used"
            );
        }
        // Flows add up over the rows; for months the stocks do not (each month has its own start).
        for (i, column) in Column::ALL.into_iter().enumerate() {
            let stock = matches!(
                column,
                Column::CarriedOver
                    | Column::OpenAtEnd
                    | Column::OpenNotYetDue
                    | Column::OpenOverdue
                    | Column::OpenAwaitingSupplement
                    | Column::OpenAwaitingPayment
            );
            if group_by != GroupBy::Month || !stock {
                assert_eq!(
                    sums[i],
                    column.value(&summary.total.line),
                    "{} total ({group_by:?})",
                    column.name()
                );
            }
        }
    }
}

type CounterRow = (String, String, String, String, String, String, Vec<i64>);

fn counters_snapshot(conn: &mut DbConnection) -> Vec<CounterRow> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        row: String,
    }
    let cols = motcua::domain::stats::Counters::COLUMNS.join(" || ',' || ");
    let rows: Vec<Row> = stats_store::load(
        conn,
        &format!(
            "SELECT grain || '|' || day || '|' || unit_code || '|' || procedure_code || '|' || field || '|' || channel || '|' || {cols} AS row \
             FROM stats_counters WHERE NOT (received = 0 AND resolved_early = 0 AND resolved_on_time = 0 AND resolved_late = 0 \
             AND refused = 0 AND withdrawn = 0 AND timed = 0 AND used_minutes = 0 AND limit_minutes = 0 AND awaiting = 0 AND overdue = 0) \
             ORDER BY grain, day, unit_code, procedure_code, field, channel"
        ),
        &[],
    )
    .unwrap();
    rows.into_iter()
        .map(|r| {
            let parts: Vec<&str> = r.row.split('|').collect();
            (
                parts[0].into(),
                parts[1].into(),
                parts[2].into(),
                parts[3].into(),
                parts[4].into(),
                parts[5].into(),
                parts[6].split(',').map(|v| v.parse().unwrap()).collect(),
            )
        })
        .collect()
}

/// Plays the histories, then checks the report against the lists and the counters against a
/// rebuild.
fn check_histories(
    target: &DatabaseTarget,
    histories: &[History],
    periods: &[(i64, i64)],
) -> Result<(), TestCaseError> {
    let (mut conn, calendars) = seeded_db_on(target);
    for (i, h) in histories.iter().enumerate() {
        play(&mut conn, &calendars, i, h);
    }
    for (offset, len) in periods {
        let from = NaiveDate::from_ymd_opt(2024, 12, 20).unwrap() + Duration::days(*offset);
        assert_reconciles(&mut conn, &calendars, from, from + Duration::days(*len));
    }
    let incremental = counters_snapshot(&mut conn);
    stats_service::rebuild_counters(&mut conn, &calendars).unwrap();
    prop_assert_eq!(incremental, counters_snapshot(&mut conn));
    Ok(())
}

crate::backend_tests! {
    /// Random dossier histories through the real receipt and actions (backdated): every count of
    /// the report equals the length of the dossier list with the cell's filters, for random periods
    /// and every grouping; and the counters kept change by change equal a rebuild from scratch.
    /// Fewer cases on PostgreSQL, where each creates a database on the server.
    async fn summary_counts_equal_the_dossier_lists(backend: Backend) {
        let (cases, max_shrink_iters, periods) = match backend {
            Backend::Sqlite => (16, 200, 3),
            Backend::Postgres => (4, 20, 2),
        };
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases,
            max_shrink_iters,
            // Where the seeds of earlier failures are kept and replayed first, as `proptest!` does.
            source_file: Some(file!()),
            ..ProptestConfig::default()
        });
        let strategy = (
            prop::collection::vec(history(), 1..30),
            prop::collection::vec((0i64..110, 0i64..70), periods),
        );
        let outcome = runner.run(&strategy, |(histories, periods)| {
            let db = crate::helpers::TestDb::create(backend);
            check_histories(&db.target, &histories, &periods)
        });
        if let Err(e) = outcome {
            panic!("{e}");
        }
    }

    async fn a_known_history_gives_the_expected_report(backend: Backend) {
        let db = crate::helpers::TestDb::create(backend);
        a_known_history_report(&db.target);
    }

    /// `motcua demo`'s loader: 418 dossiers through the real receipt and actions, and a report
    /// whose every count reconciles with the dossier list.
    async fn demo_loads_418_dossiers_and_its_report_reconciles(backend: Backend) {
        let db = crate::helpers::TestDb::create(backend);
        demo_report(&db.target);
    }
}

fn a_known_history_report(target: &DatabaseTarget) {
    let (mut conn, calendars) = seeded_db_on(target);
    // P-PAUSE: 3 working days. Received Thu 2025-03-06 09:00 → due Tue 11 Mar 09:00.
    let receive = |conn: &mut DbConnection, at: DateTime<Utc>, channel: &str| {
        dossier_service::receive(
            conn,
            &calendars,
            &admin(),
            &audit(),
            receipt("P-PAUSE", "An", channel, at, false),
        )
        .unwrap()
        .dossier
        .code
    };
    let act =
        |conn: &mut DbConnection, code: &str, version: i32, command: Command, at: DateTime<Utc>| {
            dossier_service::act(
                conn,
                &calendars,
                &admin(),
                &audit(),
                code,
                ActionInput {
                    command,
                    expected_version: version.into(),
                    at: Some(at),
                    to_user: None,
                    recipients: RecipientRule::LocalAccounts,
                    note: None,
                },
            )
            .unwrap()
        };
    // A: resolved early after 1 working day.
    let a = receive(&mut conn, local(2025, 3, 6, 9, 0), "online");
    act(&mut conn, &a, 1, Command::Start, local(2025, 3, 6, 9, 0));
    let r = act(
        &mut conn,
        &a,
        2,
        Command::Resolve {
            result: Resolution::Approved,
            note: None,
        },
        local(2025, 3, 7, 9, 0),
    );
    assert_eq!(r.outcome.map(|o| o.as_str()), Some("early"));
    // B: still open and overdue at the end of March.
    let _b = receive(&mut conn, local(2025, 3, 6, 10, 0), "direct");
    // C: awaiting a supplement since 10 March.
    let c = receive(&mut conn, local(2025, 3, 7, 8, 0), "postal");
    act(&mut conn, &c, 1, Command::Start, local(2025, 3, 7, 8, 0));
    act(
        &mut conn,
        &c,
        2,
        Command::RequestSupplement {
            reason: "x".into(),
            documents: vec![],
        },
        local(2025, 3, 10, 8, 0),
    );
    // D: received in February, withdrawn in March.
    let d = receive(&mut conn, local(2025, 2, 27, 8, 0), "direct");
    act(
        &mut conn,
        &d,
        1,
        Command::Withdraw {
            reason: "rút".into(),
        },
        local(2025, 3, 3, 8, 0),
    );

    let s = stats_service::summary(
        &mut conn,
        &calendars,
        &admin(),
        &SummaryQuery {
            from: NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2025, 3, 31).unwrap(),
            group_by: GroupBy::Unit,
        },
    )
    .unwrap();
    let t = s.total.line;
    assert_eq!(
        (
            t.carried_over,
            t.received,
            t.received_online,
            t.received_direct,
            t.received_postal
        ),
        (1, 3, 1, 1, 1)
    );
    assert_eq!((t.resolved, t.resolved_early, t.withdrawn), (1, 1, 1));
    assert_eq!(
        (
            t.open_at_end,
            t.open_overdue,
            t.open_awaiting_supplement,
            t.open_not_yet_due
        ),
        (2, 1, 1, 0)
    );
    assert_eq!(t.on_time_or_early_share(), Some(1.0));
    // A used 8 working hours of 24: two thirds of the statutory time saved.
    assert_eq!((t.used_minutes, t.limit_minutes), (480, 1440));
    assert!((t.time_saved_share().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(s.rows.len(), 1);
    assert_eq!(s.rows[0].label, "Phòng Quản lý Thương mại");
    assert_reconciles(
        &mut conn,
        &calendars,
        NaiveDate::from_ymd_opt(2025, 2, 1).unwrap(),
        NaiveDate::from_ymd_opt(2025, 3, 31).unwrap(),
    );

    // A database upgraded with dossiers but no counters and no time used: the first report
    // rebuilds both, to the same figures.
    let before = counters_snapshot(&mut conn);
    for statement in [
        "UPDATE dossiers SET working_minutes_used = NULL, limit_minutes = NULL",
        "DELETE FROM stats_counters",
        "UPDATE stats_state SET counters_built = FALSE",
    ] {
        stats_store::execute(&mut conn, statement, &[]).unwrap();
    }
    let again = stats_service::summary(
        &mut conn,
        &calendars,
        &admin(),
        &SummaryQuery {
            from: NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2025, 3, 31).unwrap(),
            group_by: GroupBy::Unit,
        },
    )
    .unwrap();
    assert_eq!(again.total.line, t);
    assert_eq!(counters_snapshot(&mut conn), before);
    assert!(stats_store::counters_built(&mut conn).unwrap());
}

mod api {
    use motcua::auth::policy::{PrincipalKind, Role};
    use serde_json::{Value, json};

    use crate::{
        backend_tests,
        catalogue::{PROCEDURE, seed_catalogue},
        helpers::{TestApp, expect_problem, token},
    };

    async fn receive(app: &TestApp, at: &str, channel: &str) -> String {
        let response = app
            .post_json(
                "/api/v1/dossiers",
                &json!({
                    "procedure_code": PROCEDURE, "applicant": {"name": "Hộ kinh doanh Bình Minh"},
                    "channel": channel, "received_at": at,
                }),
            )
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let d: Value = response.json().await.unwrap();
        d["code"].as_str().unwrap().to_owned()
    }

    async fn act(app: &TestApp, code: &str, body: Value) {
        let d: Value = app
            .get(&format!("/api/v1/dossiers/{code}"))
            .await
            .json()
            .await
            .unwrap();
        let response = app
            .client
            .post(app.url(&format!("/api/v1/dossiers/{code}/actions")))
            .header("If-Match", format!("\"{}\"", d["version"]))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    /// Counts the dossiers a list request returns, following the cursor.
    async fn count(app: &TestApp, path: &str) -> i64 {
        let mut total = 0;
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(c) => format!("{path}&limit=200&cursor={c}"),
                None => format!("{path}&limit=200"),
            };
            let response = app.get(&url).await;
            assert_eq!(
                response.status(),
                200,
                "{url}: {}",
                response.text().await.unwrap()
            );
            let page: Value = response.json().await.unwrap();
            total += page["items"].as_array().unwrap().len() as i64;
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return total,
            }
        }
    }

    /// A small March 2025: one dossier resolved early, one late (the specialist's step ran over), one
    /// overdue and open, one awaiting a supplement, one withdrawn; received online, at the counter
    /// and by post.
    async fn seed_history(app: &TestApp) {
        seed_catalogue(app).await;
        let early = receive(app, "2025-03-03T08:00:00+07:00", "online").await;
        act(
            app,
            &early,
            json!({"action": "start", "at": "2025-03-03T08:10:00+07:00"}),
        )
        .await;
        act(
            app,
            &early,
            json!({"action": "forward", "at": "2025-03-03T09:00:00+07:00"}),
        )
        .await;
        act(
            app,
            &early,
            json!({"action": "forward", "at": "2025-03-04T09:00:00+07:00"}),
        )
        .await;
        act(
            app,
            &early,
            json!({"action": "resolve", "result": "approved", "at": "2025-03-05T09:00:00+07:00"}),
        )
        .await;
        let late = receive(app, "2025-03-03T09:00:00+07:00", "direct").await;
        act(
            app,
            &late,
            json!({"action": "start", "at": "2025-03-03T09:10:00+07:00"}),
        )
        .await;
        act(
            app,
            &late,
            json!({"action": "forward", "at": "2025-03-03T10:00:00+07:00"}),
        )
        .await;
        act(
            app,
            &late,
            json!({"action": "forward", "at": "2025-03-12T10:00:00+07:00"}),
        )
        .await;
        act(app, &late, json!({"action": "resolve", "result": "refused", "note": "Không đủ điều kiện", "at": "2025-03-13T10:00:00+07:00"})).await;
        let _overdue = receive(app, "2025-03-10T09:00:00+07:00", "postal").await;
        let paused = receive(app, "2025-03-20T09:00:00+07:00", "online").await;
        act(
            app,
            &paused,
            json!({"action": "start", "at": "2025-03-20T09:10:00+07:00"}),
        )
        .await;
        act(app, &paused, json!({"action": "request_supplement", "reason": "Thiếu bản sao", "at": "2025-03-21T09:00:00+07:00"})).await;
        let withdrawn = receive(app, "2025-02-26T09:00:00+07:00", "direct").await;
        act(app, &withdrawn, json!({"action": "withdraw", "reason": "Người nộp rút", "at": "2025-03-04T09:00:00+07:00"})).await;
    }

    backend_tests! {
        /// The JSON report: the columns, the total, and every list query returns exactly its count.
        async fn summary_reconciles_through_the_api(app: &TestApp) {
            seed_history(app).await;
            for group_by in ["unit", "procedure", "field", "channel", "month"] {
                let response = app.get(&format!("/api/v1/stats/summary?from=2025-03-01&to=2025-03-31&group_by={group_by}")).await;
                assert_eq!(response.status(), 200);
                let s: Value = response.json().await.unwrap();
                assert_eq!(s["period_start"], "2025-03-01T00:00:00+07:00");
                assert_eq!(s["period_end"], "2025-04-01T00:00:00+07:00");
                let rows: Vec<&Value> = s["rows"].as_array().unwrap().iter().chain([&s["total"]]).collect();
                for row in rows {
                    for (column, query) in row["list_queries"].as_object().unwrap() {
                        assert_eq!(row[column].as_i64().unwrap(), count(app, query.as_str().unwrap()).await, "{group_by} {column} {query}");
                    }
                }
            }
            let s: Value = app.get("/api/v1/stats/summary?from=2025-03-01&to=2025-03-31").await.json().await.unwrap();
            assert_eq!(s["group_by"], "unit");
            let t = &s["total"];
            assert_eq!((t["carried_over"].as_i64(), t["received"].as_i64()), (Some(1), Some(4)));
            assert_eq!((t["received_online"].as_i64(), t["received_direct"].as_i64(), t["received_postal"].as_i64()), (Some(2), Some(1), Some(1)));
            assert_eq!((t["resolved"].as_i64(), t["resolved_early"].as_i64(), t["resolved_late"].as_i64()), (Some(2), Some(1), Some(1)));
            assert_eq!(t["on_time_or_early_share"], 0.5);
            assert_eq!((t["open_at_end"].as_i64(), t["open_overdue"].as_i64(), t["open_awaiting_supplement"].as_i64()), (Some(2), Some(1), Some(1)));
            assert_eq!((t["withdrawn"].as_i64(), t["refused"].as_i64()), (Some(1), Some(1)));
            assert_eq!(s["rows"][0]["key"], "QLTM");
            assert_eq!(s["rows"][0]["label"], "Phòng Quản lý Thương mại");
            // Early: Mon 3 Mar 08:00 → Wed 5 Mar 09:00 = 7.5 + 8 + 1.5 = 17 working hours; late:
            // Mon 3 Mar 09:00 → Thu 13 Mar 10:00 = 6.5 + 7 × 8 + 2.5 = 65 h. 82 h of 2 × 40 h.
            assert_eq!((t["working_minutes_used"].as_i64(), t["statutory_working_minutes"].as_i64()), (Some(82 * 60), Some(80 * 60)));
            assert_eq!(t["avg_statutory_working_days"], 5.0);
            assert_eq!(t["avg_working_days_used"], 5.125);
            assert_eq!(t["time_saved_share"], -0.025);
        }

        /// CSV with a byte-order mark and quoting; an Excel workbook; 403 for the reception role; 400/422.
        async fn summary_downloads_and_refusals(app: &TestApp) {
            seed_history(app).await;
            let response = app.get("/api/v1/stats/summary?from=2025-03-01&to=2025-03-31&group_by=field&format=csv").await;
            assert_eq!(response.status(), 200);
            assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
            assert!(response.headers()["content-disposition"].to_str().unwrap().contains("bao-cao-2025-03-01-2025-03-31-field.csv"));
            let bytes = response.bytes().await.unwrap();
            assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
            let text = std::str::from_utf8(&bytes[3..]).unwrap();
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            let headers = reader.headers().unwrap().clone();
            assert_eq!(&headers[4], "Kỳ trước chuyển qua (carried_over)");
            let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
            assert_eq!(records.len(), 2, "one field and the total");
            assert_eq!(&records[0][0], "Lưu thông hàng hóa trong nước");
            assert_eq!(&records[1][0], "TONG");
            assert_eq!(&records[1][5], "4");

            let response = app.get("/api/v1/stats/summary?from=2025-03-01&to=2025-03-31&format=xlsx").await;
            assert_eq!(response.status(), 200);
            assert_eq!(response.headers()["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
            let bytes = response.bytes().await.unwrap();
            assert_eq!(&bytes[..2], b"PK", "a zip container");
            // Read back as a spreadsheet program would: the sheet's name, the title, the period and
            // the rows' dates as real dates, the header frozen below them, the counts as numbers.
            use calamine::{Data, Reader, Xlsx};
            let mut workbook = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
            assert_eq!(workbook.sheet_names(), ["Báo cáo"]);
            let cells = workbook.worksheet_range("Báo cáo").unwrap();
            let text = |r: u32, c: u32| cells.get_value((r, c)).map(|v| v.to_string()).unwrap_or_default();
            assert!(text(0, 0).starts_with("BÁO CÁO TÌNH HÌNH"), "{}", text(0, 0));
            let as_date = |r: u32, c: u32| match cells.get_value((r, c)) {
                // An Excel date is a count of days from 30 December 1899.
                Some(Data::DateTime(d)) => chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
                    .and_then(|epoch| epoch.checked_add_days(chrono::Days::new(d.as_f64() as u64))),
                other => panic!("({r}, {c}) is not a date: {other:?}"),
            };
            let (march_1, march_31) = (chrono::NaiveDate::from_ymd_opt(2025, 3, 1), chrono::NaiveDate::from_ymd_opt(2025, 3, 31));
            assert_eq!((as_date(1, 2), as_date(1, 3)), (march_1, march_31));
            assert_eq!(text(3, 4), "Kỳ trước chuyển qua (carried_over)");
            assert_eq!(text(4, 0), "QLTM", "by lead unit, the default grouping");
            assert_eq!((as_date(4, 2), as_date(4, 3)), (march_1, march_31));
            assert_eq!(text(5, 0), "TONG");
            assert_eq!(cells.get_value((5, 5)), Some(&Data::Float(4.0)), "the total received, a number");

            let reception = token(Role::Reception, None, "letan", PrincipalKind::User);
            expect_problem(app.get_as(&reception, "/api/v1/stats/summary?from=2025-03-01&to=2025-03-31").await, 403).await;
            let auditor = token(Role::Auditor, None, "kiemtoan", PrincipalKind::User);
            assert_eq!(app.get_as(&auditor, "/api/v1/stats/summary?from=2025-03-01&to=2025-03-31").await.status(), 200);
            expect_problem(app.get("/api/v1/stats/summary?from=2025-03-31&to=2025-03-01").await, 422).await;
            expect_problem(app.get("/api/v1/stats/summary?from=2025-03-01").await, 400).await;
            expect_problem(app.get("/api/v1/stats/summary?from=2025-03-01&to=2025-03-02&group_by=year").await, 400).await;
            expect_problem(app.get("/api/v1/dossiers?open_state=overdue").await, 422).await;
        }

        /// The late list names the step and unit that ran over; due-soon warns ahead.
        async fn late_and_due_soon(app: &TestApp) {
            seed_history(app).await;
            let page: Value = app.get("/api/v1/stats/late?kind=late").await.json().await.unwrap();
            let items = page["items"].as_array().unwrap();
            assert_eq!(items.len(), 1);
            assert_eq!(items[0]["kind"], "late");
            // Due Mon 10 Mar 08:00 (5 working days from Mon 3 Mar 09:00 … 17:00 is 8 h a day → Mon 10
            // Mar 09:00); resolved Thu 13 Mar 10:00: 3 days and 1 h over.
            assert_eq!(items[0]["dossier"]["due_at"], "2025-03-10T09:00:00+07:00");
            assert_eq!(items[0]["overrun_working_minutes"], 3 * 480 + 60);
            let steps = items[0]["steps"].as_array().unwrap();
            assert!(steps.iter().any(|s| s["unit_code"] == "QLTM" && s["overrun_working_minutes"].as_i64().unwrap() > 0), "{steps:?}");

            let page: Value = app.get("/api/v1/stats/late?kind=overdue&limit=1").await.json().await.unwrap();
            let items = page["items"].as_array().unwrap();
            assert_eq!(items.len(), 1);
            assert_eq!(items[0]["kind"], "overdue");
            assert_eq!(items[0]["steps"][0]["finished_at"], Value::Null, "the current step is still running");
            assert_eq!(items[0]["steps"][0]["unit_code"], "MC");
            assert!(page["next_cursor"].is_null());
            let all: Value = app.get("/api/v1/stats/late").await.json().await.unwrap();
            assert_eq!(all["items"].as_array().unwrap().len(), 2);
            let march: Value = app.get("/api/v1/stats/late?kind=late&from=2025-03-14&to=2025-03-31").await.json().await.unwrap();
            assert_eq!(march["items"].as_array().unwrap().len(), 0);

            // Received now: due in 5 working days; within 2 it is not listed, within 6 it is.
            let fresh = receive(app, &chrono::Utc::now().to_rfc3339(), "online").await;
            let soon: Value = app.get("/api/v1/stats/due-soon?within=2").await.json().await.unwrap();
            assert!(soon["items"].as_array().unwrap().iter().all(|i| i["dossier"]["code"] != fresh.as_str()));
            let soon: Value = app.get("/api/v1/stats/due-soon?within=6").await.json().await.unwrap();
            let item = soon["items"].as_array().unwrap().iter().find(|i| i["dossier"]["code"] == fresh.as_str()).expect("listed");
            assert!(item["working_minutes_left"].as_i64().unwrap() <= 5 * 480);
            expect_problem(app.get("/api/v1/stats/due-soon?within=31").await, 422).await;
        }
    }
}

fn demo_report(target: &DatabaseTarget) {
    let mut conn = store::establish(target).unwrap();
    store::run_migrations(&mut conn).unwrap();
    let calendars = CalendarCache::default();
    assert!(!motcua::demo::already_loaded(&mut conn).unwrap());
    motcua::demo::load(&mut conn, &calendars, false).unwrap();
    assert!(motcua::demo::already_loaded(&mut conn).unwrap());
    let all = motcua::store::dossiers::DossierFilter::default();
    assert_eq!(
        list_count(&mut conn, all),
        418 + motcua::demo::COMMUNE_DOSSIERS as i64
    );
    // The report is the department's: the commune's dossiers are another agency's.
    let department = || motcua::store::dossiers::DossierFilter {
        agencies: Some(vec![motcua::demo::AGENCY.to_owned()]),
        ..Default::default()
    };
    assert_eq!(list_count(&mut conn, department()), 418);

    let summary = motcua::demo::report(&mut conn, &calendars, GroupBy::Unit).unwrap();
    let t = summary.total.line;
    assert_eq!((t.carried_over, t.received, t.open_at_end), (0, 418, 0));
    assert_eq!(t.resolved, 418, "received and returned within the period");
    assert_eq!(t.resolved_late, 0, "all on time, as in the source report");
    assert_eq!(
        t.received_online + t.received_direct + t.received_postal,
        418
    );
    let saved = t.time_saved_share().unwrap();
    assert!(
        (0.2..0.45).contains(&saved),
        "about 30 % faster than the limits: {saved}"
    );
    let units: Vec<&str> = summary
        .rows
        .iter()
        .filter_map(|r| r.key.as_deref())
        .collect();
    assert_eq!(units, ["ATNL", "QLCN", "QLTM"]);
    for row in summary.rows.iter().chain([&summary.total]) {
        for column in Column::ALL {
            let expected = row.cell_filter(column).map_or(0, |f| {
                list_count(
                    &mut conn,
                    motcua::store::dossiers::DossierFilter {
                        agencies: department().agencies,
                        ..f
                    },
                )
            });
            assert_eq!(
                column.value(&row.line),
                expected,
                "{} of {:?}",
                column.name(),
                row.key
            );
        }
    }
    let supplements = motcua::store::stats::load::<SupplementCount>(
        &mut conn,
        "SELECT COUNT(*) AS n FROM dossier_pauses",
        &[],
    )
    .unwrap()[0]
        .n;
    assert!(
        (1..=30).contains(&supplements),
        "a few supplements: {supplements}"
    );
    let text = motcua::demo::render(&summary);
    assert!(
        text.contains("DỮ LIỆU MẪU") && text.contains("418"),
        "{text}"
    );
}

#[derive(diesel::QueryableByName)]
struct SupplementCount {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}
