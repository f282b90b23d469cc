//! Documents (số hóa): uploads typed by their content, streamed and hashed, downloads with ETag and
//! Range, the digitized flag and its report column, and every kind of bad upload. Each test runs on
//! both databases and on both storage backends: a local directory, and an S3-compatible bucket on
//! moto's server (from PyPI, started by `tests/stand-ins/s3.sh`).

use std::{io::Write, process::Child, time::Duration};

use motcua::{
    auth::policy::{PrincipalKind, Role},
    config::{Config, StorageSettings},
    storage::DocumentStorage,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    catalogue::{PROCEDURE, procedure_body, seed_catalogue},
    helpers::{
        Backend, TestApp, TestDb, eventually, expect_json, expect_problem, spawn_app_with_config,
        test_config, token,
    },
};

/// moto's S3 server on a loopback port, killed with the test.
struct S3StandIn {
    child: Child,
    endpoint: String,
}

impl S3StandIn {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/stand-ins/s3.sh");
        let child = std::process::Command::new(script)
            .arg(port.to_string())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("the S3 stand-in starts (tests/stand-ins/s3.sh)");
        let stand_in = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        // The first start installs moto into its virtual environment.
        let deadline = std::time::Instant::now() + Duration::from_secs(300);
        let client = crate::helpers::client_with_token(None);
        loop {
            if client.get(&stand_in.endpoint).send().await.is_ok() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the S3 stand-in did not answer"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        stand_in
    }

    /// A fresh bucket, as the storage settings of an app.
    async fn bucket(&self) -> StorageSettings {
        let bucket = format!("motcua-{}", uuid::Uuid::new_v4().simple());
        let created = crate::helpers::client_with_token(None)
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .await
            .unwrap();
        assert!(
            created.status().is_success(),
            "bucket {bucket}: {}",
            created.status()
        );
        StorageSettings {
            url: format!("s3://{bucket}"),
            s3_endpoint: Some(self.endpoint.clone()),
            s3_region: Some("us-east-1".into()),
            s3_access_key_id: Some("motcua-test".into()),
            s3_secret_access_key: Some("motcua-test-secret".into()),
        }
    }
}

impl Drop for S3StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug, Clone, Copy)]
enum Storage {
    Directory,
    S3,
}

/// A test app on `backend` and `storage`, with documents of at most 1 MiB, and the storage it
/// writes to (for the tests' own look at what is kept).
struct Setup {
    app: TestApp,
    storage: DocumentStorage,
    settings: StorageSettings,
    _s3: Option<S3StandIn>,
}

async fn setup(backend: Backend, storage: Storage) -> Setup {
    let db = TestDb::create(backend);
    let mut config: Config = test_config(db.target.clone());
    config.document_max_bytes = 1024 * 1024;
    let s3 = match storage {
        Storage::Directory => None,
        Storage::S3 => Some(S3StandIn::start().await),
    };
    if let Some(s3) = &s3 {
        config.storage = s3.bucket().await;
    }
    let documents = DocumentStorage::open(&config.storage).unwrap();
    Setup {
        settings: config.storage.clone(),
        app: spawn_app_with_config(db, config).await,
        storage: documents,
        _s3: s3,
    }
}

/// One scenario on both databases and both storage backends.
macro_rules! storage_tests {
    ($(#[doc = $doc:expr])* async fn $name:ident($setup:ident : &Setup) $body:block $($rest:tt)*) => {
        $(#[doc = $doc])*
        mod $name {
            use super::*;

            async fn run($setup: &Setup) $body

            async fn on(backend: Backend, storage: Storage) {
                let setup = setup(backend, storage).await;
                run(&setup).await;
                setup.app.shutdown().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_directory() {
                on(Backend::Sqlite, Storage::Directory).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_s3() {
                on(Backend::Sqlite, Storage::S3).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(motcua_test_postgres), ignore = "set MOTCUA_TEST_POSTGRES_URL to run on PostgreSQL")]
            async fn postgres_directory() {
                on(Backend::Postgres, Storage::Directory).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(motcua_test_postgres), ignore = "set MOTCUA_TEST_POSTGRES_URL to run on PostgreSQL")]
            async fn postgres_s3() {
                on(Backend::Postgres, Storage::S3).await;
            }
        }
        storage_tests! { $($rest)* }
    };
    () => {};
}

/// A PDF of `len` bytes (its header, then filler).
fn pdf(len: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend((0..len.saturating_sub(bytes.len())).map(|i| (i * 7 % 251) as u8));
    bytes
}

fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    bytes.extend([0x90, 0x77, 0x53, 0xDE]);
    bytes
}

/// A minimal Word document: a ZIP whose entries name it one.
fn docx() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default();
        for (name, body) in [
            ("[Content_Types].xml", "<?xml version=\"1.0\"?><Types/>"),
            ("_rels/.rels", "<?xml version=\"1.0\"?><Relationships/>"),
            ("word/document.xml", "<?xml version=\"1.0\"?><w:document/>"),
        ] {
            zip.start_file(name, options).unwrap();
            zip.write_all(body.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
    }
    out.into_inner()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The procedure of `seed_catalogue` with two required components and an optional one.
async fn seed_with_components(app: &TestApp) {
    seed_catalogue(app).await;
    let mut body = procedure_body(None, 5);
    body["components"] = json!([
        {"code": "DON", "name": "Đơn đề nghị cấp Giấy phép", "required": true},
        {"code": "DKKD", "name": "Bản sao Giấy chứng nhận đăng ký doanh nghiệp", "required": true},
        {"code": "KHAC", "name": "Giấy tờ khác"},
    ]);
    let response = app
        .client
        .put(app.url(&format!("/api/v1/procedures/{PROCEDURE}")))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

async fn receive(app: &TestApp, at: &str) -> String {
    let d = expect_json(
        app.post_json(
            "/api/v1/dossiers",
            &json!({
                "procedure_code": PROCEDURE,
                "applicant": {"name": "Hộ kinh doanh Trần Thị Bình", "id_number": "001180001234"},
                "channel": "direct",
                "received_at": at,
            }),
        )
        .await,
        201,
    )
    .await;
    d["code"].as_str().unwrap().to_owned()
}

async fn act(app: &TestApp, code: &str, body: Value) -> Value {
    let response = app
        .client
        .post(app.url(&format!("/api/v1/dossiers/{code}/actions")))
        .header("If-Match", "*")
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_json(response, 200).await
}

/// Posts `bytes` as the raw body of an upload with `query`, as `client`.
async fn upload_as(
    app: &TestApp,
    client: &reqwest::Client,
    code: &str,
    query: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    client
        .post(app.url(&format!("/api/v1/dossiers/{code}/documents?{query}")))
        .header("Content-Type", "application/pdf")
        .body(bytes)
        .send()
        .await
        .unwrap()
}

async fn upload(app: &TestApp, code: &str, query: &str, bytes: Vec<u8>) -> reqwest::Response {
    upload_as(app, &app.client, code, query, bytes).await
}

async fn documents(app: &TestApp, code: &str) -> Value {
    expect_json(
        app.get(&format!("/api/v1/dossiers/{code}/documents")).await,
        200,
    )
    .await
}

/// The keys of every object the storage holds.
async fn stored_keys(storage: &DocumentStorage) -> Vec<String> {
    let mut keys: Vec<String> = storage
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    keys.sort();
    keys
}

/// `motcua storage check` with the app's database and storage.
fn storage_check(s: &Setup, args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_motcua"));
    command
        .args(["storage", "check"])
        .args(args)
        .env(
            "DATABASE_URL",
            crate::helpers::database_url(&s.app.db.target),
        )
        .env("MOTCUA_STORAGE_URL", &s.settings.url)
        .env("MOTCUA_LOG", "warn");
    for (name, value) in [
        ("MOTCUA_S3_ENDPOINT", &s.settings.s3_endpoint),
        ("AWS_REGION", &s.settings.s3_region),
        ("AWS_ACCESS_KEY_ID", &s.settings.s3_access_key_id),
        ("AWS_SECRET_ACCESS_KEY", &s.settings.s3_secret_access_key),
    ] {
        if let Some(value) = value {
            command.env(name, value);
        }
    }
    command.output().unwrap()
}

storage_tests! {
    /// A crash between an object's write and its row leaves an object without a row: the storage
    /// check lists it and, asked to, removes it; a row whose object was lost is reported (exit 1)
    /// and never served.
    async fn the_storage_check_finds_orphans_and_lost_files(s: &Setup) {
        let app = &s.app;
        seed_with_components(app).await;
        let code = receive(app, "2025-04-24T09:00:00+07:00").await;
        let kept = expect_json(upload(app, &code, "kind=submitted&component=DON&file_name=don.pdf", pdf(4000)).await, 201).await;
        let lost = expect_json(upload(app, &code, "kind=submitted&component=DKKD&file_name=dkkd.pdf", pdf(5000)).await, 201).await;
        let keys = stored_keys(&s.storage).await;
        assert_eq!(keys.len(), 2);

        let clean = storage_check(s, &["--older-than-minutes", "0"]);
        let out = String::from_utf8_lossy(&clean.stdout).into_owned();
        assert!(clean.status.success(), "{out} {}", String::from_utf8_lossy(&clean.stderr));
        assert!(out.contains("2 object(s) with their row, 0 without a row"), "{out}");

        // An object written by an upload whose row never committed.
        let mut orphan = s.storage.begin(&format!("SCT/{code}/crashed")).await.unwrap();
        orphan.write(bytes::Bytes::from(pdf(3000))).await.unwrap();
        orphan.finish().await.unwrap();
        // One of the two files lost behind the service's back (keys do not say which document).
        let lost_key = keys[0].clone();
        let lost_url = app.url(&format!("/api/v1/dossiers/{code}/documents/{}/content", lost["id"]));
        let kept_url = app.url(&format!("/api/v1/dossiers/{code}/documents/{}/content", kept["id"]));
        s.storage.delete(&lost_key).await.unwrap();
        let (lost_status, kept_status) = (
            app.client.get(&lost_url).send().await.unwrap().status().as_u16(),
            app.client.get(&kept_url).send().await.unwrap().status().as_u16(),
        );
        assert_eq!([lost_status, kept_status].iter().filter(|s| **s == 500).count(), 1, "the lost file is not served");

        let report = storage_check(s, &["--older-than-minutes", "0"]);
        let out = String::from_utf8_lossy(&report.stdout).into_owned();
        assert!(!report.status.success(), "a lost file fails the check: {out}");
        assert!(out.contains(&format!("orphan SCT/{code}/crashed (3000 bytes")), "{out}");
        assert!(out.contains(&format!("missing {lost_key}")), "{out}");
        // Young objects are left alone: an upload may be under way.
        let young = storage_check(s, &["--remove"]);
        assert!(String::from_utf8_lossy(&young.stdout).contains("1 without a row but recent"));
        assert_eq!(stored_keys(&s.storage).await.len(), 2);
        let removed = storage_check(s, &["--remove", "--older-than-minutes", "0"]);
        let out = String::from_utf8_lossy(&removed.stdout).into_owned();
        assert!(out.contains(&format!("removed SCT/{code}/crashed")), "{out}");
        assert_eq!(stored_keys(&s.storage).await.len(), 1);
        assert_eq!(documents(app, &code).await["items"].as_array().unwrap().len(), 2, "rows are never removed");
    }

    /// Papers are typed from their content and hashed; a download streams them back with their
    /// ETag, name and length, answers one range and 304 for a held copy. The dossier is digitized
    /// with a file for each required component, not once resolved without a result file, and again
    /// with one; the report's `digitized` column reconciles with its list filter.
    async fn papers_and_results_are_kept_typed_hashed_and_served_back(s: &Setup) {
        let app = &s.app;
        seed_with_components(app).await;
        let code = receive(app, "2025-04-24T09:00:00+07:00").await;

        let form = pdf(200_000);
        let response = upload(app, &code, "kind=submitted&component=DON&file_name=Đơn%20đề%20nghị.pdf", form.clone()).await;
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let first = expect_json(response, 201).await;
        assert_eq!(first["kind"], "submitted");
        assert_eq!(first["component_code"], "DON");
        assert_eq!(first["file_name"], "Đơn đề nghị.pdf");
        assert_eq!(first["content_type"], "application/pdf");
        assert_eq!(first["size"], 200_000);
        assert_eq!(first["sha256"], sha256_hex(&form));
        assert_eq!(first["reused"], false);
        assert_eq!(first["uploaded_by"], "admin");
        assert_eq!(location, format!("/api/v1/dossiers/{code}/documents/{}", first["id"]));
        assert_eq!(documents(app, &code).await["digitized"], false, "one of two required components");

        // Multipart, with the header claiming a PDF: the content says PNG.
        let part = reqwest::multipart::Part::bytes(png())
            .file_name("Giấy chứng nhận ĐKKD.png")
            .mime_str("application/pdf")
            .unwrap();
        let response = app
            .client
            .post(app.url(&format!("/api/v1/dossiers/{code}/documents?kind=submitted&component=DKKD")))
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .unwrap();
        let second = expect_json(response, 201).await;
        assert_eq!(second["content_type"], "image/png");
        assert_eq!(second["file_name"], "Giấy chứng nhận ĐKKD.png");
        let word = expect_json(upload(app, &code, "kind=submitted&component=KHAC&file_name=ghi-chu.docx", docx()).await, 201).await;
        assert_eq!(word["content_type"], "application/vnd.openxmlformats-officedocument.wordprocessingml.document");

        // No name given: named after its kind and type.
        let nameless = expect_json(upload(app, &code, "kind=submitted", png()).await, 201).await;
        assert_eq!(nameless["file_name"], "tai-lieu-submitted.png");
        assert_eq!(nameless["component_code"], Value::Null);

        let listed = documents(app, &code).await;
        assert_eq!(listed["digitized"], true);
        let ids: Vec<&Value> = listed["items"].as_array().unwrap().iter().map(|d| &d["id"]).collect();
        assert_eq!(ids, [&first["id"], &second["id"], &word["id"], &nameless["id"]]);

        // The download.
        let url = app.url(&format!("{location}/content"));
        let response = app.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "application/pdf");
        assert_eq!(headers["content-length"], "200000");
        assert_eq!(headers["etag"].to_str().unwrap(), format!("\"{}\"", sha256_hex(&form)));
        assert_eq!(headers["accept-ranges"], "bytes");
        let disposition = headers["content-disposition"].to_str().unwrap();
        assert!(disposition.starts_with("attachment"), "{disposition}");
        assert!(disposition.contains("filename*=UTF-8''%C4%90%C6%A1n%20%C4%91%E1%BB%81%20ngh%E1%BB%8B.pdf"), "{disposition}");
        assert_eq!(response.bytes().await.unwrap().as_ref(), form.as_slice());

        let ranged = app.client.get(&url).header("Range", "bytes=0-7").send().await.unwrap();
        assert_eq!(ranged.status(), 206);
        assert_eq!(ranged.headers()["content-range"], "bytes 0-7/200000");
        assert_eq!(ranged.bytes().await.unwrap().as_ref(), b"%PDF-1.7");
        let tail = app.client.get(&url).header("Range", "bytes=-5").send().await.unwrap();
        assert_eq!(tail.status(), 206);
        assert_eq!(tail.bytes().await.unwrap().as_ref(), &form[form.len() - 5..]);
        let outside = app.client.get(&url).header("Range", "bytes=300000-").send().await.unwrap();
        assert_eq!(outside.headers()["content-range"], "bytes */200000");
        expect_problem(outside, 416).await;
        let held = app.client.get(&url).header("If-None-Match", format!("\"{}\"", sha256_hex(&form))).send().await.unwrap();
        assert_eq!(held.status(), 304);
        let other = app.client.get(&url).header("If-None-Match", "\"0000\"").send().await.unwrap();
        assert_eq!(other.status(), 200);

        // Resolved without a file of the result: no longer digitized; with one, again.
        act(app, &code, json!({"action": "start", "at": "2025-04-24T10:00:00+07:00"})).await;
        act(app, &code, json!({"action": "forward", "at": "2025-04-24T11:00:00+07:00"})).await;
        act(app, &code, json!({"action": "forward", "at": "2025-04-25T09:00:00+07:00"})).await;
        let d = act(app, &code, json!({"action": "resolve", "result": "approved", "at": "2025-04-25T10:00:00+07:00"})).await;
        assert_eq!(d["status"], "resolved");
        assert_eq!(documents(app, &code).await["digitized"], false);
        let report = || async {
            let s = expect_json(app.get("/api/v1/stats/summary?from=2025-04-01&to=2025-04-30").await, 200).await;
            let total = s["total"].clone();
            let query = total["list_queries"]["digitized"].as_str().unwrap().to_owned();
            let listed = expect_json(app.get(&query).await, 200).await;
            (total["digitized"].as_i64().unwrap(), listed["items"].as_array().unwrap().len() as i64)
        };
        assert_eq!(report().await, (0, 0));
        // A paper after resolution is refused; the result is welcome.
        expect_problem(upload(app, &code, "kind=submitted&file_name=muon.pdf", pdf(100)).await, 409).await;
        expect_json(upload(app, &code, "kind=result&file_name=Giấy phép.pdf", pdf(5_000)).await, 201).await;
        assert_eq!(documents(app, &code).await["digitized"], true);
        assert_eq!(report().await, (1, 1));

        // A later dossier of the same applicant takes the form in again (tái sử dụng): a copy of the
        // file, marked reused; a result, or a paper of another applicant, cannot be taken.
        let later = receive(app, "2025-04-28T09:00:00+07:00").await;
        let reuse = |body: Value| {
            let later = later.clone();
            async move {
                app.client.post(app.url(&format!("/api/v1/dossiers/{later}/documents/reused"))).json(&body).send().await.unwrap()
            }
        };
        let taken = expect_json(reuse(json!({"document_id": first["id"], "component": "DON"})).await, 201).await;
        assert_eq!((taken["reused"].clone(), taken["kind"].clone()), (json!(true), json!("submitted")));
        assert_eq!((taken["sha256"].clone(), taken["file_name"].clone()), (first["sha256"].clone(), first["file_name"].clone()));
        let copy = app.client.get(app.url(&format!("/api/v1/dossiers/{later}/documents/{}/content", taken["id"]))).send().await.unwrap();
        assert_eq!(copy.bytes().await.unwrap().as_ref(), form.as_slice());
        let results = documents(app, &code).await;
        let result_id = results["items"].as_array().unwrap().iter().find(|d| d["kind"] == "result").unwrap()["id"].clone();
        let p = expect_problem(reuse(json!({"document_id": result_id})).await, 422).await;
        assert_eq!(p["errors"][0]["field"], "document_id", "{p}");
        expect_problem(reuse(json!({"document_id": 999_999})).await, 422).await;
        let stranger = expect_json(app.post_json("/api/v1/dossiers", &json!({
            "procedure_code": PROCEDURE, "applicant": {"name": "Lê Văn C", "id_number": "079090009999"},
            "channel": "direct", "received_at": "2025-04-28T10:00:00+07:00",
        })).await, 201).await;
        let taken_elsewhere = app.client.post(app.url(&format!("/api/v1/dossiers/{}/documents/reused", stranger["code"].as_str().unwrap())))
            .json(&json!({"document_id": first["id"]})).send().await.unwrap();
        let p = expect_problem(taken_elsewhere, 422).await;
        assert!(p["errors"][0]["message"].as_str().unwrap().contains("applicant"), "{p}");

        // Every upload is in the audit log.
        assert_eq!(audited(app, &code, "document.add").await.len(), 5);
        assert_eq!(stored_keys(&s.storage).await.len(), 6, "five files and the reused copy");
    }

    /// Wrong type, empty body, oversized body, unknown component, wrong kind for the status, a path
    /// or no name, another unit's dossier, a client that is not its submitter, an interrupted
    /// upload: a clear problem each, and neither a row nor an object left behind.
    async fn bad_uploads_are_refused_and_leave_nothing(s: &Setup) {
        let app = &s.app;
        seed_with_components(app).await;
        let code = receive(app, "2025-04-24T09:00:00+07:00").await;

        let mut exe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff".to_vec();
        exe.extend(b"%PDF-1.7 this program cannot be run in DOS mode");
        let p = expect_problem(upload(app, &code, "kind=submitted&file_name=giay-phep.pdf", exe).await, 415).await;
        assert!(p["detail"].as_str().unwrap().contains("PDF, JPEG"), "{p}");
        let p = expect_problem(upload(app, &code, "kind=submitted&file_name=rong.pdf", Vec::new()).await, 422).await;
        assert_eq!(p["errors"][0]["field"], "body", "{p}");
        expect_problem(upload(app, &code, "kind=submitted&file_name=lon.pdf", pdf(1024 * 1024 + 1)).await, 413).await;
        // The same, streamed without a declared length: refused midway, nothing kept.
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = pdf(1_500_000).chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
        let streamed = app
            .client
            .post(app.url(&format!("/api/v1/dossiers/{code}/documents?kind=submitted&file_name=lon.pdf")))
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
            .timeout(Duration::from_secs(20))
            .send()
            .await;
        if let Ok(response) = streamed {
            // The server may answer before it has read the whole body, or close the connection.
            expect_problem(response, 413).await;
        }
        let p = expect_problem(upload(app, &code, "kind=submitted&component=XYZ&file_name=a.pdf", pdf(100)).await, 422).await;
        assert_eq!(p["errors"][0]["field"], "component", "{p}");
        assert!(p["errors"][0]["message"].as_str().unwrap().contains("DON, DKKD, KHAC"), "{p}");
        let p = expect_problem(upload(app, &code, "kind=supplement&file_name=a.pdf", pdf(100)).await, 409).await;
        assert!(p["detail"].as_str().unwrap().contains("awaiting_supplement"), "{p}");
        expect_problem(upload(app, &code, "kind=result&file_name=a.pdf", pdf(100)).await, 409).await;
        let p = expect_problem(upload(app, &code, "kind=submitted&file_name=..%2F..%2Fetc%2Fpasswd", pdf(100)).await, 422).await;
        assert_eq!(p["errors"][0]["field"], "file_name", "{p}");
        let p = expect_problem(upload(app, &code, "kind=submitted&file_name=%20", pdf(100)).await, 422).await;
        assert_eq!(p["errors"][0]["field"], "file_name", "{p}");
        expect_problem(upload(app, &code, "kind=scanned&file_name=a.pdf", pdf(100)).await, 400).await;
        expect_problem(upload(app, "SCT-000000-0000", "kind=submitted&file_name=a.pdf", pdf(100)).await, 404).await;
        // The dossier sits at the counter: a specialist of another unit, and a client that did not
        // submit it, may not add to it.
        let specialist = crate::helpers::client_with_token(Some(&token(Role::Specialist, Some("QLTM"), "chuyenvien.an", PrincipalKind::User)));
        expect_problem(upload_as(app, &specialist, &code, "kind=submitted&file_name=a.pdf", pdf(100)).await, 403).await;
        let stranger = crate::helpers::client_with_token(Some(&token(Role::Portal, None, "cl_stranger", PrincipalKind::Client)));
        let refused = upload_as(app, &stranger, &code, "kind=submitted&file_name=a.pdf", pdf(100)).await;
        assert!([403, 404].contains(&refused.status().as_u16()), "{}", refused.status());

        // Interrupted: the connection closes after 300 kB of a declared 900 kB.
        let address = app.address.trim_start_matches("http://").to_owned();
        let bearer = crate::helpers::admin_token();
        let cut = code.clone();
        tokio::task::spawn_blocking(move || {
            use std::io::Write as _;
            let mut socket = std::net::TcpStream::connect(address).unwrap();
            let head = format!(
                "POST /api/v1/dossiers/{cut}/documents?kind=submitted&file_name=cut.pdf HTTP/1.1\r\n\
                 Host: localhost\r\nAuthorization: Bearer {bearer}\r\nContent-Type: application/pdf\r\n\
                 Content-Length: 900000\r\n\r\n"
            );
            socket.write_all(head.as_bytes()).unwrap();
            socket.write_all(&pdf(300_000)).unwrap();
            std::thread::sleep(Duration::from_millis(300));
            drop(socket);
        })
        .await
        .unwrap();

        eventually("nothing kept of the refused uploads", async || {
            let listed = documents(app, &code).await;
            let keys = stored_keys(&s.storage).await;
            (listed["items"].as_array().unwrap().is_empty() && keys.is_empty()).then_some(())
        })
        .await;
        assert_eq!(audited(app, &code, "document.add").await, Vec::<Value>::new());
    }

    /// The e-portal adds the papers of its own submission and, later, the supplement asked for,
    /// which the public lookup names; it may not add a result, and its download of the result is
    /// audited. A stored file whose bytes changed is never served.
    async fn the_portal_sends_its_papers_and_tampered_files_are_not_served(s: &Setup) {
        let app = &s.app;
        seed_with_components(app).await;
        let portal = crate::helpers::client_with_token(Some(&token(Role::Portal, None, "cl_portal", PrincipalKind::Client)));
        let submitted = portal
            .post(app.url("/api/v1/dossiers"))
            .json(&json!({
                "procedure_code": PROCEDURE,
                "applicant": {"name": "Công ty TNHH Minh Long"},
                "channel": "online",
                "received_at": "2025-04-24T20:00:00+07:00",
                "external_ref": "DVC-DOC-1",
                "intake_check": true,
            }))
            .send()
            .await
            .unwrap();
        let d = expect_json(submitted, 201).await;
        let code = d["code"].as_str().unwrap().to_owned();
        let secret = d["lookup_secret"].as_str().unwrap().to_owned();
        expect_json(upload_as(app, &portal, &code, "kind=submitted&component=DON&file_name=don.pdf", pdf(1000)).await, 201).await;
        act(app, &code, json!({"action": "accept", "at": "2025-04-25T08:00:00+07:00"})).await;
        act(app, &code, json!({"action": "start", "at": "2025-04-25T08:30:00+07:00"})).await;
        act(app, &code, json!({"action": "request_supplement", "reason": "Thiếu bản sao ĐKKD", "documents": ["Bản sao Giấy chứng nhận ĐKKD"], "at": "2025-04-25T09:00:00+07:00"})).await;
        let lookup = expect_json(app.anonymous.get(app.url(&format!("/api/v1/public/dossiers/{code}?secret={secret}"))).send().await.unwrap(), 200).await;
        assert_eq!(lookup["supplement"], json!({"reason": "Thiếu bản sao ĐKKD", "documents": ["Bản sao Giấy chứng nhận ĐKKD"]}));
        expect_json(upload_as(app, &portal, &code, "kind=supplement&component=DKKD&file_name=dkkd.pdf", pdf(2000)).await, 201).await;
        act(app, &code, json!({"action": "supplement_received", "at": "2025-04-28T09:00:00+07:00"})).await;
        let lookup = expect_json(app.anonymous.get(app.url(&format!("/api/v1/public/dossiers/{code}?secret={secret}"))).send().await.unwrap(), 200).await;
        assert_eq!(lookup["supplement"], Value::Null);
        assert_eq!(documents(app, &code).await["digitized"], true);

        expect_problem(upload_as(app, &portal, &code, "kind=result&file_name=kq.pdf", pdf(100)).await, 403).await;
        let result = expect_json(upload(app, &code, "kind=result&file_name=Giấy phép số 12.pdf", pdf(3000)).await, 201).await;
        let url = app.url(&format!("/api/v1/dossiers/{code}/documents/{}/content", result["id"]));
        let downloaded = portal.get(&url).send().await.unwrap();
        assert_eq!(downloaded.status(), 200);
        assert_eq!(downloaded.bytes().await.unwrap().len(), 3000);
        let downloads = audited(app, &code, "document.download").await;
        assert_eq!(downloads.len(), 1, "{downloads:?}");
        assert_eq!(downloads[0]["actor"], "cl_portal");

        // Someone changes the stored bytes behind the service's back.
        let key = format!("SCT/{code}/");
        let tampered = stored_keys(&s.storage).await.into_iter().filter(|k| k.starts_with(&key)).collect::<Vec<_>>();
        assert_eq!(tampered.len(), 3, "the two papers and the result");
        for k in &tampered {
            let mut upload = s.storage.begin(k).await.unwrap();
            upload.write(bytes::Bytes::from(pdf(3000).into_iter().rev().collect::<Vec<u8>>())).await.unwrap();
            upload.finish().await.unwrap();
        }
        let p = expect_problem(app.client.get(&url).send().await.unwrap(), 500).await;
        assert!(!p["detail"].as_str().unwrap().contains("SCT/"), "no storage detail leaks: {p}");
    }
}

/// The audit log's entries of `action` on the dossier.
async fn audited(app: &TestApp, code: &str, action: &str) -> Vec<Value> {
    let page = expect_json(
        app.get(&format!(
            "/api/v1/audit?entity_type=dossier&entity_id={code}&limit=200"
        ))
        .await,
        200,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action)
        .cloned()
        .collect()
}
