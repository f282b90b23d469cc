//! Every error, including those actix produces itself, is a problem document with the right status.

use crate::{backend_tests, helpers::expect_problem};

backend_tests! {
    async fn unknown_route_is_404_problem(app: &TestApp) {
        let problem = expect_problem(app.get("/api/v1/nothing-here").await, 404).await;
        assert!(problem["detail"].as_str().unwrap().contains("/api/v1/nothing-here"));
    }

    async fn wrong_method_is_405_with_allow(app: &TestApp) {
        let response = app.client.delete(app.url("/healthz")).send().await.unwrap();
        assert_eq!(response.headers()["allow"], "GET, HEAD");
        expect_problem(response, 405).await;
    }

    async fn malformed_json_is_400(app: &TestApp) {
        let response = app
            .client
            .post(app.url("/test/echo"))
            .header("content-type", "application/json")
            .body("{\"name\": ")
            .send()
            .await
            .unwrap();
        let problem = expect_problem(response, 400).await;
        assert!(problem["detail"].as_str().unwrap().contains("malformed JSON"), "{problem}");
    }

    async fn wrong_type_is_422_naming_the_field(app: &TestApp) {
        let response =
            app.post_json("/test/echo", &serde_json::json!({"name": "a", "count": "three"})).await;
        let problem = expect_problem(response, 422).await;
        assert_eq!(problem["errors"][0]["field"], "count", "{problem}");
    }

    async fn missing_field_is_422(app: &TestApp) {
        let response = app.post_json("/test/echo", &serde_json::json!({"count": 3})).await;
        let problem = expect_problem(response, 422).await;
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("name"), "{problem}");
    }

    async fn wrong_content_type_is_415(app: &TestApp) {
        let response = app
            .client
            .post(app.url("/test/echo"))
            .header("content-type", "text/plain")
            .body(r#"{"name":"a","count":1}"#)
            .send()
            .await
            .unwrap();
        expect_problem(response, 415).await;
    }

    async fn oversized_body_is_413(app: &TestApp) {
        let big = "x".repeat(200 * 1024);
        let response = app.post_json("/test/echo", &serde_json::json!({"name": big, "count": 1})).await;
        expect_problem(response, 413).await;
    }

    async fn valid_body_passes(app: &TestApp) {
        let response = app.post_json("/test/echo", &serde_json::json!({"name": "ok", "count": 2})).await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body, serde_json::json!({"name": "ok", "count": 2}));
    }

    async fn panic_is_500_and_server_keeps_serving(app: &TestApp) {
        for _ in 0..3 {
            let response = app.get("/test/panic").await;
            assert!(response.headers().contains_key("x-request-id"));
            let problem = expect_problem(response, 500).await;
            assert!(!problem["detail"].as_str().unwrap().contains("deliberate"), "no internals leak");
        }
        assert_eq!(app.get("/healthz").await.status(), 200);
    }
}
