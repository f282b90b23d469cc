//! HTTP semantics: HEAD on GET routes, If-None-Match → 304, and If-Match with strong comparison.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::{
    backend_tests,
    catalogue::{PROCEDURE, procedure_body, seed_catalogue},
    dossiers::receipt,
    helpers::{TestApp, create_user, expect_problem},
};

/// Receives one dossier; returns its code (at version 1).
async fn received(app: &TestApp) -> String {
    let response = app
        .post_json("/api/v1/dossiers", &receipt(None, None))
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let d: Value = response.json().await.unwrap();
    d["code"].as_str().unwrap().to_owned()
}

async fn request(app: &TestApp, method: Method, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = app.client.request(method, app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("request sent")
}

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

fn etag(response: &Response) -> String {
    header(response, "etag").expect("an ETag")
}

/// Sends an action with the given `If-Match` value.
async fn act(app: &TestApp, code: &str, if_match: &str, body: Value) -> Response {
    app.client
        .post(app.url(&format!("/api/v1/dossiers/{code}/actions")))
        .header("If-Match", if_match)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn version_of(app: &TestApp, code: &str) -> i64 {
    let d: Value = app
        .get(&format!("/api/v1/dossiers/{code}"))
        .await
        .json()
        .await
        .unwrap();
    d["version"].as_i64().unwrap()
}

async fn patch_unit(app: &TestApp, if_match: Option<&str>, name: &str) -> Response {
    let mut request = app
        .client
        .patch(app.url("/api/v1/units/QLTM"))
        .json(&json!({ "name": name }));
    if let Some(value) = if_match {
        request = request.header("If-Match", value);
    }
    request.send().await.unwrap()
}

backend_tests! {
    async fn head_answers_like_get_without_a_body(app: &TestApp) {
        seed_catalogue(app).await;
        let code = received(app).await;
        let dossier = format!("/api/v1/dossiers/{code}");
        for path in ["/healthz", "/api/v1/units", dossier.as_str()] {
            let get = request(app, Method::GET, path, &[]).await;
            let head = request(app, Method::HEAD, path, &[]).await;
            assert_eq!(get.status(), StatusCode::OK, "GET {path}");
            assert_eq!(head.status(), get.status(), "HEAD {path}");
            for name in ["content-type", "content-length", "etag", "cache-control"] {
                assert_eq!(header(&head, name), header(&get, name), "{name} of HEAD {path}");
            }
            assert!(header(&get, "content-length").is_some_and(|l| l != "0"), "GET {path} has a length");
            assert!(!get.bytes().await.unwrap().is_empty(), "GET {path} has a body");
            assert!(head.bytes().await.unwrap().is_empty(), "HEAD {path} has no body");
        }
        let get = request(app, Method::GET, &dossier, &[]).await;
        assert_eq!(etag(&get), "\"1\"");

        // A route without GET stays 405, and says what it allows.
        let head = request(app, Method::HEAD, &format!("{dossier}/actions"), &[]).await;
        assert_eq!(head.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(header(&head, "allow").as_deref(), Some("POST"));
        // A route with GET names HEAD among the allowed methods.
        let delete = request(app, Method::DELETE, "/healthz", &[]).await;
        let allow = header(&delete, "allow").unwrap_or_default();
        let allowed: Vec<&str> = allow.split(',').map(str::trim).collect();
        assert!(allowed.contains(&"GET") && allowed.contains(&"HEAD"), "{allow}");
        expect_problem(delete, 405).await;
    }

    async fn if_none_match_with_a_current_tag_gives_304(app: &TestApp) {
        seed_catalogue(app).await;
        let code = received(app).await;
        let dossier = format!("/api/v1/dossiers/{code}");
        let procedure = format!("/api/v1/procedures/{PROCEDURE}");
        for path in [dossier.as_str(), "/api/v1/units/QLTM", procedure.as_str()] {
            let fresh = request(app, Method::GET, path, &[]).await;
            assert_eq!(fresh.status(), StatusCode::OK, "{path}");
            let current = etag(&fresh);
            let cache_control = header(&fresh, "cache-control");
            let weak = format!("W/{current}");
            let list = format!("\"no-such-tag\", {current}");
            for condition in [current.as_str(), "*", list.as_str(), weak.as_str()] {
                for method in [Method::GET, Method::HEAD] {
                    let response = request(app, method.clone(), path, &[("If-None-Match", condition)]).await;
                    assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{method} {path} If-None-Match: {condition}");
                    assert_eq!(etag(&response), current, "{path} {condition}");
                    assert_eq!(header(&response, "cache-control"), cache_control, "{path} {condition}");
                    assert!(response.bytes().await.unwrap().is_empty(), "{path} {condition}");
                }
            }
            let stale = request(app, Method::GET, path, &[("If-None-Match", "\"999\", W/\"no-such-tag\"")]).await;
            assert_eq!(stale.status(), StatusCode::OK, "{path}");
            assert_eq!(etag(&stale), current);
            let body: Value = stale.json().await.unwrap();
            assert!(body["code"].is_string(), "{path}: {body}");
        }
        // A value that is not an entity tag is refused rather than ignored.
        let malformed = request(app, Method::GET, &dossier, &[("If-None-Match", "not a tag")]).await;
        expect_problem(malformed, 400).await;
        // A read that failed is not turned into a 304.
        let missing = request(app, Method::GET, "/api/v1/dossiers/SCT-000000-0000", &[("If-None-Match", "*")]).await;
        expect_problem(missing, 404).await;
    }

    async fn if_match_on_dossier_actions_compares_strongly(app: &TestApp) {
        seed_catalogue(app).await;
        let code = received(app).await;

        let weak = act(app, &code, "W/\"1\"", json!({"action": "start"})).await;
        let problem = expect_problem(weak, 412).await;
        assert!(problem["detail"].as_str().unwrap().contains("weak"), "{problem}");
        let elsewhere = act(app, &code, "\"2\", \"3\"", json!({"action": "start"})).await;
        expect_problem(elsewhere, 412).await;
        let garbage = act(app, &code, "version one", json!({"action": "start"})).await;
        let problem = expect_problem(garbage, 400).await;
        assert!(problem["detail"].as_str().unwrap().contains("\"3\""), "{problem}");
        let not_a_version = act(app, &code, "\"abc\"", json!({"action": "start"})).await;
        expect_problem(not_a_version, 400).await;
        assert_eq!(version_of(app, &code).await, 1, "refused actions change nothing");

        let any = act(app, &code, "*", json!({"action": "start"})).await;
        assert_eq!(any.status(), 200, "{}", any.text().await.unwrap());
        assert_eq!(version_of(app, &code).await, 2);
        create_user(app, "chuyenvien.an", "specialist", Some("QLTM")).await;
        let listed = act(app, &code, "\"7\", W/\"3\", \"2\"", json!({"action": "forward", "to_user": "chuyenvien.an"})).await;
        assert_eq!(listed.status(), 200, "{}", listed.text().await.unwrap());
        assert_eq!(etag(&listed), "\"3\"");
        assert_eq!(version_of(app, &code).await, 3);
    }

    async fn unit_patch_honours_if_match_when_sent(app: &TestApp) {
        seed_catalogue(app).await;
        let read = app.get("/api/v1/units/QLTM").await;
        let first = etag(&read);
        let original: Value = read.json().await.unwrap();

        let stale = patch_unit(app, Some("\"1\""), "Stale").await;
        expect_problem(stale, 412).await;
        let weak = patch_unit(app, Some(&format!("W/{first}")), "Weak").await;
        let problem = expect_problem(weak, 412).await;
        assert!(problem["detail"].as_str().unwrap().contains("weak"), "{problem}");
        let garbage = patch_unit(app, Some("not a tag"), "Garbage").await;
        expect_problem(garbage, 400).await;
        let unchanged = app.get("/api/v1/units/QLTM").await;
        assert_eq!(etag(&unchanged), first, "refused patches change nothing");
        let unchanged: Value = unchanged.json().await.unwrap();
        assert_eq!(unchanged["name"], original["name"]);
        assert_eq!(unchanged["updated_at"], original["updated_at"]);

        let matched = patch_unit(app, Some(&first), "Phòng QLTM").await;
        assert_eq!(matched.status(), 200);
        let second = etag(&matched);
        assert_ne!(second, first, "a change moves the ETag");
        let body: Value = matched.json().await.unwrap();
        assert_eq!(body["name"], "Phòng QLTM");
        assert_eq!(etag(&app.get("/api/v1/units/QLTM").await), second, "the read agrees with the write");
        // The old tag is now stale.
        expect_problem(patch_unit(app, Some(&first), "Again").await, 412).await;

        let unconditional = patch_unit(app, None, "Phòng Quản lý Thương mại").await;
        assert_eq!(unconditional.status(), 200);
        let third = etag(&unconditional);
        assert_ne!(third, second);
        let body: Value = unconditional.json().await.unwrap();
        assert_eq!(body["name"], "Phòng Quản lý Thương mại");
    }

    async fn procedure_put_honours_if_match_when_sent(app: &TestApp) {
        seed_catalogue(app).await;
        let path = format!("/api/v1/procedures/{PROCEDURE}");
        assert_eq!(etag(&app.get(&path).await), "\"1\"");
        let put = |if_match: Option<&'static str>| {
            let mut request = app.client.put(app.url(&path)).json(&procedure_body(None, 7));
            if let Some(value) = if_match {
                request = request.header("If-Match", value);
            }
            request.send()
        };
        expect_problem(put(Some("\"5\"")).await.unwrap(), 412).await;
        expect_problem(put(Some("W/\"1\"")).await.unwrap(), 412).await;
        let versions: Value = app.get(&format!("{path}/versions")).await.json().await.unwrap();
        assert_eq!(versions["items"].as_array().unwrap().len(), 1, "refused PUTs make no version");

        let matched = put(Some("\"1\"")).await.unwrap();
        assert_eq!(matched.status(), 200);
        assert_eq!(etag(&matched), "\"2\"");
        let unconditional = put(None).await.unwrap();
        assert_eq!(unconditional.status(), 200);
        assert_eq!(etag(&unconditional), "\"3\"");
        let cached = request(app, Method::GET, &path, &[("If-None-Match", "\"3\"")]).await;
        assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    }
}
