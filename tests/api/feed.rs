//! The change feed (`GET /api/v1/dossiers?updated_since=…`): pull-based sync whose cursor neither
//! skips nor repeats a change, even when changes commit out of order.

use std::collections::HashMap;

use diesel::{Connection, connection::TransactionManager};
use motcua::{
    auth::policy::{Principal, PrincipalKind, Role},
    domain::dossier::Command,
    service::dossiers::{ActionInput, RecipientRule, act},
    store::{self, DbConnection, audit::AuditContext, calendar::CalendarCache},
};
use serde_json::{Value, json};

use crate::{
    backend_tests,
    catalogue::{PROCEDURE, seed_catalogue},
    helpers::{Backend, DEADLINE, TestApp, eventually, expect_problem, poll_within, token},
    postgres_tests,
};

fn receipt(external_ref: &str) -> Value {
    json!({
        "procedure_code": PROCEDURE,
        "applicant": {"name": "Công ty CP Sao Mai"},
        "channel": "online",
        "external_ref": external_ref,
    })
}

async fn receive(app: &TestApp, external_ref: &str) -> Value {
    let response = app
        .post_json("/api/v1/dossiers", &receipt(external_ref))
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn start(app: &TestApp, code: &str, version: i64) {
    let response = app
        .client
        .post(app.url(&format!("/api/v1/dossiers/{code}/actions")))
        .header("If-Match", format!("\"{version}\""))
        .json(&json!({"action": "start"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// One read of the feed: the page, following `next_cursor` to the end, as (code, version) pairs,
/// and the `sync_cursor` to poll with next time.
pub async fn poll(app: &TestApp, token: Option<&str>, start: &str) -> (Vec<(String, i64)>, String) {
    let mut seen = Vec::new();
    let mut path = start.to_owned();
    loop {
        let mut request = app.client.get(app.url(&path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        let page: Value = response.json().await.unwrap();
        seen.extend(page["items"].as_array().unwrap().iter().map(|d| {
            (
                d["code"].as_str().unwrap().to_owned(),
                d["version"].as_i64().unwrap(),
            )
        }));
        let sync = page["sync_cursor"]
            .as_str()
            .expect("the feed always answers a sync_cursor")
            .to_owned();
        match page["next_cursor"].as_str() {
            Some(next) => path = with_cursor(start, next),
            None => return (seen, sync),
        }
    }
}

fn with_cursor(start: &str, cursor: &str) -> String {
    let base = start.split("&cursor=").next().unwrap();
    format!("{base}&cursor={cursor}")
}

/// Polls with the sync cursor until `wanted` pairs have arrived (a change becomes readable once
/// every transaction older than it has ended, on PostgreSQL in any database of the server).
async fn poll_until(app: &TestApp, start: &str, wanted: usize) -> (Vec<(String, i64)>, String) {
    let mut seen = Vec::new();
    let mut path = start.to_owned();
    let done = poll_within(DEADLINE, async || {
        let (items, sync) = poll(app, None, &path).await;
        seen.extend(items);
        path = with_cursor(start, &sync);
        (seen.len() >= wanted).then_some(sync)
    })
    .await;
    match done {
        Some(sync) => (seen, sync),
        None => panic!("expected {wanted} changes, saw {seen:?}"),
    }
}

/// The first page of the feed, read until it holds `n` items.
pub async fn feed_with(app: &TestApp, path: &str, n: usize) -> Value {
    eventually(
        format!("the feed at {path} to hold {n} items"),
        async || {
            let page: Value = app.get(path).await.json().await.unwrap();
            (page["items"].as_array().unwrap().len() >= n).then_some(page)
        },
    )
    .await
}

const FEED: &str = "/api/v1/dossiers?updated_since=2000-01-01T00:00:00Z&limit=2";

backend_tests! {
    async fn the_feed_resumes_with_its_sync_cursor(app: &TestApp) {
        seed_catalogue(app).await;
        let a = receive(app, "F-A").await;
        let b = receive(app, "F-B").await;
        let c = receive(app, "F-C").await;
        let code = |d: &Value| d["code"].as_str().unwrap().to_owned();
        let (seen, sync) = poll_until(app, FEED, 3).await;
        assert_eq!(seen, [(code(&a), 1), (code(&b), 1), (code(&c), 1)], "in change order, paged by 2");

        // Nothing new: an empty page, and the cursor still resumes correctly afterwards.
        let (nothing, sync) = poll(app, None, &with_cursor(FEED, &sync)).await;
        assert!(nothing.is_empty(), "{nothing:?}");
        start(app, &code(&b), 1).await;
        start(app, &code(&a), 1).await;
        let (seen, _) = poll_until(app, &with_cursor(FEED, &sync), 2).await;
        assert_eq!(seen, [(code(&b), 2), (code(&a), 2)]);

        // Read from the start, each dossier appears once, at its latest change.
        let (from_start, _) = poll(app, None, FEED).await;
        assert_eq!(from_start, [(code(&c), 1), (code(&b), 2), (code(&a), 2)]);

        // Only what the caller may list.
        let portal = token(Role::Portal, None, "cl_feed", PrincipalKind::Client);
        let created = app.client.post(app.url("/api/v1/dossiers")).bearer_auth(&portal).json(&receipt("F-P")).send().await.unwrap();
        assert_eq!(created.status(), 201);
        let own = eventually("the portal's own dossier in its feed", async || {
            let own = poll(app, Some(&portal), FEED).await.0;
            (!own.is_empty()).then_some(own)
        }).await;
        assert_eq!(own.len(), 1);
        assert_eq!(own[0].1, 1);

        // Filters combine with the feed; cursors of the other list are refused.
        let started = feed_with(app, "/api/v1/dossiers?updated_since=2000-01-01T00:00:00Z&status=processing", 2).await;
        assert_eq!(started["items"].as_array().unwrap().len(), 2);
        let later: Value = app.get("/api/v1/dossiers?updated_since=2999-01-01T00:00:00Z").await.json().await.unwrap();
        assert!(later["items"].as_array().unwrap().is_empty());
        assert!(later["sync_cursor"].is_string());
        let plain: Value = app.get("/api/v1/dossiers?limit=1").await.json().await.unwrap();
        assert!(plain.get("sync_cursor").is_none());
        let id_cursor = plain["next_cursor"].as_str().unwrap();
        expect_problem(app.get(&format!("/api/v1/dossiers?updated_since=2000-01-01T00:00:00Z&cursor={id_cursor}")).await, 400).await;
        expect_problem(app.get("/api/v1/dossiers?cursor=Y2hnOng6eQ").await, 400).await;
    }

    /// Changes made side by side through two instances: a reader polling all along sees every
    /// dossier's final version, and never the same change twice.
    async fn concurrent_changes_are_neither_skipped_nor_repeated(app: &TestApp) {
        seed_catalogue(app).await;
        let second = crate::helpers::spawn_instance(app).await;
        let mut codes = Vec::new();
        for i in 0..8 {
            codes.push(receive(app, &format!("F-CON-{i}")).await["code"].as_str().unwrap().to_owned());
        }
        let writers: Vec<_> = codes.iter().enumerate().map(|(i, code)| {
            let instance = if i % 2 == 0 { app.address.clone() } else { second.address.clone() };
            let (client, code) = (app.client.clone(), code.clone());
            tokio::spawn(async move {
                for (version, body) in [(1, json!({"action": "start"})), (2, json!({"action": "forward"})), (3, json!({"action": "forward"}))] {
                    let response = client.post(format!("{instance}/api/v1/dossiers/{code}/actions"))
                        .header("If-Match", format!("\"{version}\"")).json(&body).send().await.unwrap();
                    assert_eq!(response.status(), 200);
                }
            })
        }).collect();
        let mut seen: Vec<(String, i64)> = Vec::new();
        let mut path = FEED.to_owned();
        let mut done = false;
        // Read all along until, after the writers have finished, every final version has arrived
        // (the assertions below say what is missing if that never happens).
        poll_within(DEADLINE, async || {
            let (items, sync) = poll(app, None, &path).await;
            seen.extend(items);
            path = with_cursor(FEED, &sync);
            let latest: HashMap<&String, i64> = seen.iter().map(|(c, v)| (c, *v)).collect();
            if done && codes.iter().all(|c| latest.get(c) == Some(&4)) {
                return Some(());
            }
            done = writers.iter().all(|w| w.is_finished());
            None
        }).await;
        for writer in writers {
            writer.await.unwrap();
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "a change was returned twice: {seen:?}");
        let mut last: HashMap<&String, i64> = HashMap::new();
        for (code, version) in &seen {
            let before = last.insert(code, *version).unwrap_or(0);
            assert!(*version > before, "{code} went back from {before} to {version}");
        }
        for code in &codes {
            assert_eq!(last.get(code), Some(&4), "{code}: {seen:?}");
        }
        second.handle.stop(false).await;
    }
}

postgres_tests! {
    /// Two changes commit out of order on PostgreSQL: the change made first commits last. With a
    /// cursor on the change instant, a reader between the two commits would have moved past the first
    /// change for good; the feed holds the second change back until the first has committed, then
    /// returns both, once.
    async fn out_of_order_commits_on_postgres_are_neither_skipped_nor_repeated() {
        let app = crate::helpers::spawn_app(Backend::Postgres).await;
        seed_catalogue(&app).await;
        let first = receive(&app, "OOO-1").await["code"]
            .as_str()
            .unwrap()
            .to_owned();
        let second = receive(&app, "OOO-2").await["code"]
            .as_str()
            .unwrap()
            .to_owned();
        let (seen, sync) = poll_until(&app, FEED, 2).await;
        assert_eq!(seen, [(first.clone(), 1), (second.clone(), 1)]);

        // Transaction 1 starts the first dossier and stays open.
        let mut open = store::establish(&app.db.target).expect("connect");
        <DbConnection as Connection>::TransactionManager::begin_transaction(&mut open).unwrap();
        let admin = Principal {
            subject: "admin".into(),
            role: Role::Admin,
            unit_code: None,
            kind: PrincipalKind::User,
            scope: motcua::domain::agency::AgencyScope::Everything,
        };
        let audit = AuditContext {
            actor: "admin".into(),
            actor_role: motcua::auth::policy::Role::Admin,
            client_id: None,
            reason: Some("out-of-order test".into()),
            request_id: None,
        };
        let input = ActionInput {
            command: Command::Start,
            expected_version: 1.into(),
            at: None,
            to_user: None,
            recipients: RecipientRule::LocalAccounts,
            note: None,
        };
        let early = act(
            &mut open,
            &CalendarCache::default(),
            &admin,
            &audit,
            &first,
            input,
        )
        .expect("the first change is made");
        // Transaction 2 changes the second dossier later and commits at once.
        start(&app, &second, 1).await;
        let committed: Value = app
            .get(&format!("/api/v1/dossiers/{second}"))
            .await
            .json()
            .await
            .unwrap();
        assert!(
            early.updated_at.utc()
                < chrono::DateTime::parse_from_rfc3339(committed["updated_at"].as_str().unwrap())
                    .unwrap(),
            "the uncommitted change is the older one"
        );

        // A reader now must not get past the first change: it sees neither change yet.
        let (between, sync_between) = poll(&app, None, &with_cursor(FEED, &sync)).await;
        assert!(
            between.is_empty(),
            "returned {between:?} while an older change was uncommitted"
        );

        <DbConnection as Connection>::TransactionManager::commit_transaction(&mut open).unwrap();
        let (after, _) = poll_until(&app, &with_cursor(FEED, &sync_between), 2).await;
        let mut after_sorted = after.clone();
        after_sorted.sort();
        assert_eq!(
            after_sorted,
            [(first.clone(), 2), (second.clone(), 2)],
            "both, once: {after:?}"
        );
        // Polling on finds nothing more: a later change is the next thing the feed returns.
        let (_, last_sync) = poll(&app, None, &with_cursor(FEED, &sync_between)).await;
        let third = receive(&app, "OOO-3").await["code"]
            .as_str()
            .unwrap()
            .to_owned();
        let (rest, _) = poll_until(&app, &with_cursor(FEED, &last_sync), 1).await;
        assert_eq!(rest, [(third, 1)], "nothing repeated before the later change");
        app.shutdown().await;
    }
}
