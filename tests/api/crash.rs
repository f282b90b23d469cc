//! Crash safety: the server is killed with SIGKILL while receipts and actions are in flight; after a
//! restart every request that was answered 2xx is there with its full control slip, nothing is
//! half-applied, and the outbox delivers every committed event (and none that was not committed).

use std::{
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use motcua::config::DatabaseTarget;
use serde_json::{Value, json};

use crate::{
    backend_tests,
    catalogue::PROCEDURE,
    helpers::{
        TEST_JWT_SECRET, TestDb, admin_token, client_builder, database_url, eventually, poll_within,
    },
    webhooks::{Api, Receiver, workers_quiet},
};

/// How long the restarted server may take to deliver every committed event.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(60);

fn start_server(target: &DatabaseTarget, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_motcua"))
        .env("DATABASE_URL", database_url(target))
        .env("MOTCUA_BIND", format!("127.0.0.1:{port}"))
        .env("MOTCUA_JWT_SECRET", TEST_JWT_SECRET)
        .env("MOTCUA_LOG", "warn")
        .env("MOTCUA_WORKERS", "2")
        // The receiver listens on the loopback interface.
        .env("MOTCUA_WEBHOOK_ALLOW_PRIVATE", "true")
        // Quick polling and a short lease, so that deliveries cut off by the kill are retried soon.
        .env("MOTCUA_WEBHOOK_POLL_MS", "50")
        .env("MOTCUA_WEBHOOK_BACKOFF_BASE_MS", "100")
        .env("MOTCUA_WEBHOOK_TIMEOUT_SECONDS", "2")
        .env("MOTCUA_WEBHOOK_LEASE_SECONDS", "3")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    eventually(
        format!("the server at {base} to become ready"),
        async || {
            let ready = client.get(format!("{base}/readyz")).send().await;
            ready.is_ok_and(|r| r.status() == 200).then_some(())
        },
    )
    .await;
}

/// What the clients were told: receipts and actions answered 2xx.
#[derive(Default)]
struct Acknowledged {
    received: Vec<String>,
    /// (code, version after the action)
    acted: Vec<(String, i64)>,
}

backend_tests! {
    async fn sigkill_mid_load_loses_nothing_acknowledged(backend: Backend) {
        let db = TestDb::create(backend);
        let client = client_builder(Some(&admin_token()))
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let mut server = start_server(&db.target, port);
        wait_ready(&client, &base).await;
        for (code, parent) in [
            ("SCT", None),
            ("MC", Some("SCT")),
            ("QLTM", Some("SCT")),
            ("BGD", Some("SCT")),
        ] {
            let r = client.post(format!("{base}/api/v1/units"))
                .json(&json!({"code": code, "name": code, "parent_code": parent, "agency_code": "SCT"}))
                .send().await.unwrap();
            assert_eq!(r.status(), 201);
        }
        let r = client
            .post(format!("{base}/api/v1/procedures"))
            .json(&crate::catalogue::procedure_body(Some(PROCEDURE), 5))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        // A receiver outside the server, so it lives through the crash.
        let receiver = Receiver::start(&[]).await;
        let r = client
            .post(format!("{base}/api/v1/webhooks"))
            .json(&json!({"url": receiver.url, "events": ["dossier.received", "dossier.started", "dossier.forwarded"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);

        let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
        let mut workers = Vec::new();
        for _ in 0..6 {
            let (client, base, acknowledged) =
                (client.clone(), base.clone(), Arc::clone(&acknowledged));
            workers.push(tokio::spawn(async move {
                loop {
                    let body = json!({"procedure_code": PROCEDURE, "applicant": {"name": "Trần Thị B"}, "channel": "direct"});
                    let Ok(r) = client.post(format!("{base}/api/v1/dossiers")).json(&body).send().await else { return };
                    if r.status() != 201 {
                        return;
                    }
                    let Ok(d) = r.json::<Value>().await else { return };
                    let code = d["code"].as_str().unwrap().to_owned();
                    acknowledged.lock().unwrap().received.push(code.clone());
                    for (version, action) in [(1, json!({"action": "start"})), (2, json!({"action": "forward"}))] {
                        let Ok(r) = client.post(format!("{base}/api/v1/dossiers/{code}/actions"))
                            .header("If-Match", format!("\"{version}\"")).json(&action).send().await else { return };
                        if r.status() != 200 {
                            return;
                        }
                        acknowledged.lock().unwrap().acted.push((code.clone(), version + 1));
                    }
                }
            }));
        }
        // Killed once the load is well under way, with requests of every kind in flight.
        eventually("20 receipts acknowledged under load", async || {
            (acknowledged.lock().unwrap().received.len() >= 20).then_some(())
        })
        .await;
        server.kill().expect("SIGKILL");
        server.wait().unwrap();
        for worker in workers {
            let _ = worker.await;
        }

        let mut server = start_server(&db.target, port);
        wait_ready(&client, &base).await;
        let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
        assert!(
            acknowledged.received.len() > 5,
            "the load ran: {} receipts",
            acknowledged.received.len()
        );

        // Every dossier in the database is whole: version = number of control-slip entries, seq 1..n.
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(c) => format!("{base}/api/v1/dossiers?limit=200&cursor={c}"),
                None => format!("{base}/api/v1/dossiers?limit=200"),
            };
            let page: Value = client.get(url).send().await.unwrap().json().await.unwrap();
            all.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        for d in &all {
            let code = d["code"].as_str().unwrap();
            let history: Value = client
                .get(format!("{base}/api/v1/dossiers/{code}/history"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let seqs: Vec<i64> = history["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_i64().unwrap())
                .collect();
            let version = d["version"].as_i64().unwrap();
            assert_eq!(
                seqs,
                (1..=version).collect::<Vec<_>>(),
                "{code} is half-applied"
            );
        }
        let codes: Vec<&str> = all.iter().map(|d| d["code"].as_str().unwrap()).collect();
        for code in &acknowledged.received {
            assert!(
                codes.contains(&code.as_str()),
                "acknowledged receipt {code} lost"
            );
        }
        for (code, version) in &acknowledged.acted {
            let d = all.iter().find(|d| d["code"] == code.as_str()).unwrap();
            assert!(
                d["version"].as_i64().unwrap() >= *version,
                "acknowledged action on {code} lost"
            );
        }
        // Numbers stay gap-free across the crash, per local day.
        let mut by_day: std::collections::BTreeMap<&str, Vec<u32>> = Default::default();
        for code in &codes {
            let mut parts = code.rsplit('-');
            let number = parts.next().unwrap().parse().unwrap();
            by_day
                .entry(parts.next().unwrap())
                .or_default()
                .push(number);
        }
        for numbers in by_day.values_mut() {
            numbers.sort();
            assert_eq!(*numbers, (1..=numbers.len() as u32).collect::<Vec<_>>());
        }

        // Every committed event (one per control-slip entry: the dossier at each version) is
        // delivered, and nothing that was rolled back or never committed ever was.
        let committed: std::collections::BTreeSet<(String, i64)> = all
            .iter()
            .flat_map(|d| {
                let code = d["code"].as_str().unwrap().to_owned();
                (1..=d["version"].as_i64().unwrap()).map(move |v| (code.clone(), v))
            })
            .collect();
        let delivered = |messages: &[crate::webhooks::Received]| {
            messages
                .iter()
                .map(|m| {
                    let body = m.json();
                    let data = &body["data"];
                    (
                        data["code"].as_str().unwrap().to_owned(),
                        data["version"].as_i64().unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        };
        poll_within(DELIVERY_DEADLINE, async || {
            let got: std::collections::BTreeSet<_> =
                delivered(&receiver.received()).into_iter().collect();
            committed.is_subset(&got).then_some(())
        })
        .await;
        // Repeats of deliveries cut off by the kill come before the worker goes quiet.
        let restarted = Api { address: base.clone(), client: client.clone() };
        workers_quiet(&[&restarted]).await;
        let messages = receiver.received();
        let events = delivered(&messages);
        let got: std::collections::BTreeSet<_> = events.iter().cloned().collect();
        let missing: Vec<_> = committed.difference(&got).collect();
        assert!(
            missing.is_empty(),
            "events never delivered: {missing:?}"
        );
        let phantom: Vec<_> = got.difference(&committed).collect();
        assert!(
            phantom.is_empty(),
            "events delivered but not committed: {phantom:?}"
        );
        // At least once: only a delivery cut off by the kill may arrive twice, with the same id.
        let ids: std::collections::HashSet<&str> = messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids.len(),
            committed.len(),
            "one message id per event"
        );
        assert!(
            events.len() - committed.len() <= 8,
            "{} repeats, more than the deliveries that can be in flight",
            events.len() - committed.len()
        );
        receiver.stop().await;
        server.kill().unwrap();
        server.wait().unwrap();
    }
}
