//! Logins, machine clients, lock-out and rate limiting.

use serde_json::{Value, json};

use crate::{
    backend_tests,
    helpers::{Backend, TestDb, expect_problem, test_config},
};

const ADMIN_PASSWORD: &str = "correct horse battery staple";

async fn app_with_admin(backend: Backend) -> crate::helpers::TestApp {
    let db = TestDb::create(backend);
    let mut config = test_config(db.target.clone());
    config.admin_password = Some(ADMIN_PASSWORD.to_owned());
    crate::helpers::spawn_app_with_config(db, config).await
}

backend_tests! {
    /// An administrator may change their own password but not their own role, unit or state,
    /// which would end their session or lock them out; another administrator may.
    async fn an_administrator_cannot_change_their_own_standing(backend: Backend) {
        let app = app_with_admin(backend).await;
        let login = |username: &'static str, password: &'static str| {
            let request = app
                .anonymous
                .post(app.url("/api/v1/auth/token"))
                .json(&json!({"username": username, "password": password}));
            async move {
                let body: Value = request.send().await.unwrap().json().await.unwrap();
                body["access_token"].as_str().expect("a token").to_owned()
            }
        };
        let patch = |token: String, username: &'static str, body: Value| {
            let request = app
                .anonymous
                .patch(app.url(&format!("/api/v1/users/{username}")))
                .bearer_auth(token)
                .json(&body);
            async move { request.send().await.unwrap() }
        };
        let admin = login("admin", ADMIN_PASSWORD).await;
        let created = app
            .anonymous
            .post(app.url("/api/v1/users"))
            .bearer_auth(&admin)
            .json(&json!({"username": "quan.tri", "password": ADMIN_PASSWORD, "role": "admin"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);

        for change in [json!({"role": "auditor"}), json!({"active": false})] {
            let refused = expect_problem(patch(admin.clone(), "admin", change.clone()).await, 409).await;
            assert!(refused["detail"].as_str().unwrap().contains("its own role"), "{change}: {refused}");
        }
        // Nothing changed: the token still works, and an unchanged role is no change.
        assert_eq!(patch(admin.clone(), "admin", json!({"role": "admin", "active": true})).await.status(), 200);
        let password = json!({"password": "another long enough passphrase"});
        assert_eq!(patch(admin.clone(), "admin", password).await.status(), 200);

        let other = login("quan.tri", ADMIN_PASSWORD).await;
        assert_eq!(patch(other, "admin", json!({"role": "auditor"})).await.status(), 200);
        expect_problem(patch(admin, "quan.tri", json!({"role": "auditor"})).await, 401).await;
    }

    async fn password_and_client_credentials_grants(backend: Backend) {
        let app = app_with_admin(backend).await;
        let login = app
            .anonymous
            .post(app.url("/api/v1/auth/token"))
            .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 200);
        let login: Value = login.json().await.unwrap();
        assert_eq!(login["token_type"], "Bearer");
        assert_eq!(login["expires_in"], 900);
        let admin = login["access_token"].as_str().unwrap().to_owned();

        let created = app
            .anonymous
            .post(app.url("/api/v1/clients"))
            .bearer_auth(&admin)
            .json(&json!({"name": "Cổng dịch vụ công tỉnh"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let created: Value = created.json().await.unwrap();
        let (id, secret) = (
            created["client_id"].as_str().unwrap(),
            created["client_secret"].as_str().unwrap(),
        );
        let listed: Value = app
            .anonymous
            .get(app.url("/api/v1/clients"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            listed["items"][0].get("client_secret").is_none(),
            "the secret is shown only once"
        );

        let portal = app.anonymous.post(app.url("/api/v1/auth/token"))
            .json(&json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret})).send().await.unwrap();
        assert_eq!(portal.status(), 200);
        let portal: Value = portal.json().await.unwrap();
        let portal = portal["access_token"].as_str().unwrap();
        // A portal client may not manage clients.
        let denied = app
            .anonymous
            .get(app.url("/api/v1/clients"))
            .bearer_auth(portal)
            .send()
            .await
            .unwrap();
        expect_problem(denied, 403).await;

        let wrong = app.anonymous.post(app.url("/api/v1/auth/token"))
            .json(&json!({"grant_type": "client_credentials", "client_id": id, "client_secret": "nope"})).send().await.unwrap();
        expect_problem(wrong, 401).await;
        let unknown = app
            .anonymous
            .post(app.url("/api/v1/auth/token"))
            .json(&json!({"username": "ghost", "password": "whatever-it-is"}))
            .send()
            .await
            .unwrap();
        let unknown = expect_problem(unknown, 401).await;
        let wrong = app
            .anonymous
            .post(app.url("/api/v1/auth/token"))
            .json(&json!({"username": "admin", "password": "wrong password!"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            expect_problem(wrong, 401).await,
            unknown,
            "unknown user and wrong password look alike"
        );
        app.shutdown().await;
    }

    async fn repeated_failures_make_the_address_wait(backend: Backend) {
        let app = app_with_admin(backend).await;
        for _ in 0..5 {
            let r = app
                .anonymous
                .post(app.url("/api/v1/auth/token"))
                .json(&json!({"username": "admin", "password": "not the password"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401);
        }
        let locked = app
            .anonymous
            .post(app.url("/api/v1/auth/token"))
            .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert!(locked.headers().contains_key("retry-after"));
        expect_problem(locked, 429).await;
        app.shutdown().await;
    }

    async fn token_endpoint_is_rate_limited_per_address(backend: Backend) {
        let app = app_with_admin(backend).await;
        let mut statuses = Vec::new();
        for i in 0..15 {
            let r = app
                .anonymous
                .post(app.url("/api/v1/auth/token"))
                .json(&json!({"username": format!("nobody{i}"), "password": "x"}))
                .send()
                .await
                .unwrap();
            statuses.push(r.status().as_u16());
        }
        assert_eq!(&statuses[..10], &[401; 10], "the burst of 10 is served");
        assert!(statuses[10..].contains(&429), "{statuses:?}");
        app.shutdown().await;
    }

    async fn startup_refuses_a_short_secret_outside_dev_mode(backend: Backend) {
        let db = TestDb::create(backend);
        let mut config = test_config(db.target.clone());
        config.jwt.secret = Some("short".to_owned());
        let err = motcua::startup::Application::build(config.clone())
            .await
            .err()
            .expect("refused");
        assert!(err.to_string().contains("MOTCUA_JWT_SECRET"), "{err}");
        config.jwt.secret = None;
        assert!(
            motcua::startup::Application::build(config.clone())
                .await
                .is_err()
        );
        config.dev_mode = true;
        let app = motcua::startup::Application::build(config)
            .await
            .expect("dev mode starts");
        drop(app);
    }
}
