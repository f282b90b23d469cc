use crate::{backend_tests, postgres_tests};

backend_tests! {
    async fn healthz_answers_ok(app: &TestApp) {
        let response = app.get("/healthz").await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ok");
    }

    async fn readyz_names_the_database(app: &TestApp) {
        let response = app.get("/readyz").await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ready");
        let expected = match app.db.target {
            motcua::config::DatabaseTarget::Sqlite(_) => "sqlite",
            motcua::config::DatabaseTarget::Postgres(_) => "postgres",
        };
        assert_eq!(body["database"], expected);
    }

    async fn request_id_is_generated_or_echoed(app: &TestApp) {
        let generated = app.get("/healthz").await;
        let id = generated.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(id.len(), 36, "a UUID is generated: {id}");
        let echoed = app
            .client
            .get(app.url("/healthz"))
            .header("X-Request-Id", "portal-sync-42")
            .send()
            .await
            .unwrap();
        assert_eq!(echoed.headers()["x-request-id"], "portal-sync-42");
    }

    async fn metrics_count_requests_by_route_and_status(app: &TestApp) {
        app.get("/healthz").await;
        app.get("/healthz").await;
        app.get("/no-such-thing").await;
        let response = app.get("/metrics").await;
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        let text = response.text().await.unwrap();
        assert!(
            text.contains(r#"motcua_http_requests_total{method="GET",route="/healthz",status="200"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
        assert!(text.contains("motcua_http_request_duration_seconds_bucket{"), "{text}");
    }

    async fn swagger_ui_is_served_from_the_binary(app: &TestApp) {
        let redirect = app.get("/docs").await;
        assert_eq!(redirect.status(), 308);
        assert_eq!(redirect.headers()["location"], "/docs/");
        let page = app.get("/docs/").await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("swagger-ui"), "{html}");
        assert!(!html.contains("https://"), "the page must not load anything from the internet");
        let config = app.get("/docs/swagger-initializer.js").await;
        assert_eq!(config.status(), 200);
        assert!(config.text().await.unwrap().contains("/openapi.json"));
        let bundle = app.get("/docs/swagger-ui-bundle.js").await;
        assert_eq!(bundle.status(), 200);
    }

    async fn openapi_document_is_served(app: &TestApp) {
        let response = app.get("/openapi.json").await;
        assert_eq!(response.status(), 200);
        let served: serde_json::Value = response.json().await.unwrap();
        let generated: serde_json::Value =
            serde_json::from_str(&motcua::openapi::document_json()).unwrap();
        assert_eq!(served, generated);
        assert_eq!(served["openapi"], "3.1.0");
    }
}

postgres_tests! {
    /// Readiness follows the database: dropped from under a running instance (a server-side
    /// database can be; an open SQLite file cannot), `/readyz` answers 503 and liveness stays up.
    async fn readyz_is_503_when_the_database_is_gone() {
        use crate::helpers::{Backend, TestDb, expect_problem, postgres_admin_url, spawn_app_on};
        use diesel::{Connection, RunQueryDsl, pg::PgConnection};

        let app = spawn_app_on(TestDb::create(Backend::Postgres), None).await;
        assert_eq!(app.get("/readyz").await.status(), 200);
        let name = match &app.db.target {
            motcua::config::DatabaseTarget::Postgres(url) => url.rsplit('/').next().unwrap().to_owned(),
            other => panic!("unexpected {other:?}"),
        };
        let mut admin = PgConnection::establish(&postgres_admin_url()).unwrap();
        diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&mut admin)
            .unwrap();

        let problem = expect_problem(app.get("/readyz").await, 503).await;
        assert_eq!(problem["type"], "/problems/unavailable");
        // Liveness does not depend on the database.
        assert_eq!(app.get("/healthz").await.status(), 200);
        app.shutdown().await;
    }

    /// Connections that PostgreSQL closed (a restart, a failover, an administrator) leave the pool:
    /// a request that meets one fails with 503, and the service recovers by itself.
    async fn closed_connections_are_replaced() {
        use crate::helpers::{
            Backend, TestDb, expect_problem, postgres_admin_url, spawn_app_with_config, test_config,
        };
        use diesel::{Connection, RunQueryDsl, pg::PgConnection};

        // Without the webhook worker, the requests below are the only users of the pool.
        let db = TestDb::create(Backend::Postgres);
        let mut config = test_config(db.target.clone());
        config.webhooks.enabled = false;
        let app = spawn_app_with_config(db, config).await;
        assert_eq!(app.get("/api/v1/units").await.status(), 200);
        let name = match &app.db.target {
            motcua::config::DatabaseTarget::Postgres(url) => url.rsplit('/').next().unwrap().to_owned(),
            other => panic!("unexpected {other:?}"),
        };
        let mut admin = PgConnection::establish(&postgres_admin_url()).unwrap();
        let terminated = diesel::sql_query(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .execute(&mut admin)
        .unwrap();
        assert!(terminated > 0, "the pool had open connections");

        // The next request takes the connection used a moment ago, which the pool trusts without a
        // check: it fails with 503. The pool then checks every other connection before its next use.
        let problem = expect_problem(app.get("/api/v1/units").await, 503).await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("connection lost"),
            "{problem}"
        );
        for _ in 0..10 {
            assert_eq!(app.get("/api/v1/units").await.status(), 200, "recovered");
        }
        app.shutdown().await;
    }
}
