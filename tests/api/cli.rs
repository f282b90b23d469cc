//! The command line: help, the OpenAPI printer, and `user add` followed by a login.

use std::process::Command;

use serde_json::json;

use crate::{
    backend_tests,
    helpers::{TestDb, database_url, spawn_app_on},
};

fn motcua() -> Command {
    Command::new(env!("CARGO_BIN_EXE_motcua"))
}

#[test]
fn help_lists_the_subcommands() {
    let out = motcua().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for command in ["serve", "migrate", "openapi", "user"] {
        assert!(text.contains(command), "{command} missing from:\n{text}");
    }
}

#[test]
fn openapi_command_prints_the_committed_document() {
    let out = motcua().arg("openapi").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        motcua::openapi::document_json()
    );
}

backend_tests! {
    async fn user_add_then_login(backend: Backend) {
        let db = TestDb::create(backend);
        let url = database_url(&db.target);
        let weak = motcua()
            .args(["user", "add", "tiep.nhan", "--role", "reception"])
            .env("DATABASE_URL", &url)
            .env("MOTCUA_NEW_USER_PASSWORD", "short")
            .output()
            .unwrap();
        assert!(!weak.status.success(), "a weak password is refused");
        assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));
        let added = motcua()
            .args(["user", "add", "tiep.nhan", "--role", "reception"])
            .env("DATABASE_URL", &url)
            .env("MOTCUA_NEW_USER_PASSWORD", "mot cua tiep nhan 2025")
            .output()
            .unwrap();
        assert!(
            added.status.success(),
            "{}",
            String::from_utf8_lossy(&added.stderr)
        );

        let app = spawn_app_on(db, None).await;
        let login = app
            .anonymous
            .post(app.url("/api/v1/auth/token"))
            .json(&json!({"username": "tiep.nhan", "password": "mot cua tiep nhan 2025"}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 200);
        app.shutdown().await;
    }
}
