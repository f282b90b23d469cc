//! Start-up behaviour: migrations and concurrent instances.

use crate::{
    backend_tests,
    helpers::{Backend, TestDb, eventually, slow_request_started, spawn_app_on},
    postgres_tests,
};

postgres_tests! {
    /// Two instances started at the same moment against one empty PostgreSQL database both come up:
    /// the advisory lock makes them take turns at migrating.
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
}

backend_tests! {
    /// Restarting on an existing database applies nothing twice and keeps serving.
    async fn restart_on_existing_database(backend: Backend) {
        let db = TestDb::create(backend);
        let first = motcua::startup::Application::build(crate::helpers::test_config(db.target.clone()))
            .await
            .expect("first start");
        drop(first);
        let app = spawn_app_on(db, None).await;
        assert_eq!(app.get("/readyz").await.status(), 200);
        app.shutdown().await;
    }

    /// A graceful stop (what SIGTERM triggers) lets an in-flight request finish.
    async fn graceful_stop_finishes_in_flight_requests(backend: Backend) {
        let app = crate::helpers::spawn_app(backend).await;
        let tag = uuid::Uuid::new_v4().to_string();
        let in_flight = tokio::spawn({
            let (client, url) = (app.client.clone(), app.url(&format!("/test/slow?tag={tag}")));
            async move { client.get(url).send().await }
        });
        // Stop only once the server is handling the request, so that it is really in flight.
        eventually("the slow request to reach its handler", || async {
            slow_request_started(&tag).then_some(())
        })
        .await;
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
}
