//! Start-up behaviour: migrations and concurrent instances.

use crate::helpers::{Backend, TestDb, spawn_app_on};

/// Two instances started at the same moment against one empty PostgreSQL database both come up:
/// the advisory lock makes them take turns at migrating.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(motcua_test_postgres),
    ignore = "set MOTCUA_TEST_POSTGRES_URL to run on PostgreSQL"
)]
async fn two_instances_migrate_one_empty_database_concurrently() {
    let db = TestDb::create(Backend::Postgres);
    let target = db.target.clone();
    let mut configs = (0..2).map(|_| crate::helpers::test_config(target.clone()));
    let (a, b) = tokio::join!(
        motcua::startup::Application::build(configs.next().unwrap()),
        motcua::startup::Application::build(configs.next().unwrap()),
    );
    let (a, b) = (
        a.expect("first instance starts"),
        b.expect("second instance starts"),
    );
    let urls = [a.port(), b.port()].map(|p| format!("http://127.0.0.1:{p}/readyz"));
    let handles = [a.handle(), b.handle()];
    tokio::spawn(a.run_until_stopped());
    tokio::spawn(b.run_until_stopped());
    for url in &urls {
        assert_eq!(reqwest::get(url).await.unwrap().status(), 200);
    }
    for handle in handles {
        handle.stop(false).await;
    }
    drop(db);
}

/// Restarting on an existing database applies nothing twice and keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_on_existing_sqlite_database() {
    let db = TestDb::create(Backend::Sqlite);
    let first = motcua::startup::Application::build(crate::helpers::test_config(db.target.clone()))
        .await
        .expect("first start");
    drop(first);
    let app = spawn_app_on(db, None).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.shutdown().await;
}

/// A graceful stop (what SIGTERM triggers) lets an in-flight request finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_finishes_in_flight_requests() {
    let app = crate::helpers::spawn_app(Backend::Sqlite).await;
    let in_flight = tokio::spawn({
        let (client, url) = (app.client.clone(), app.url("/test/slow"));
        async move { client.get(url).send().await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let stopping = tokio::spawn({
        let handle = app.handle.clone();
        async move { handle.stop(true).await }
    });
    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "finished");
    stopping.await.unwrap();
    assert!(
        app.client.get(app.url("/healthz")).send().await.is_err(),
        "no longer accepting"
    );
}
