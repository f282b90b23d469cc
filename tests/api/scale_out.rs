//! Two instances on one database, no balancer: every client alternates between them request by
//! request while receipts and contended actions run concurrently. Nothing may be lost: codes stay
//! unique and gap-free per day, every acknowledged action is in the control slip exactly once (no
//! lost update), and each event reaches each subscription once.

use std::{
    collections::{BTreeMap, BTreeSet, HashSet},
    sync::{Arc, Mutex},
};

use serde_json::{Value, json};

use crate::{
    backend_tests,
    catalogue::{PROCEDURE, seed_catalogue},
    helpers::Backend,
    webhooks::{Api, Received, Receiver, fast_webhooks, start, start_beside, workers_quiet},
};

const WORKERS: usize = 12;
const ROUNDS: usize = 25;
/// Few dossiers for many writers, so that most actions race for the same version.
const CONTENDED: usize = 6;
const DAY: &str = "2025-03-04";

/// What the clients were told: each 2xx answer.
#[derive(Default)]
struct Acknowledged {
    /// Codes of answered receipts.
    received: Vec<String>,
    /// (code, version after, the apology's reason) of answered actions.
    acted: Vec<(String, i64, String)>,
    /// Actions refused with 412 because another writer got there first.
    stale: usize,
}

async fn post(
    client: &reqwest::Client,
    url: String,
    body: &Value,
    if_match: Option<i64>,
) -> reqwest::Response {
    let mut request = client.post(url).json(body);
    if let Some(version) = if_match {
        request = request.header("If-Match", format!("\"{version}\""));
    }
    request.send().await.expect("the instance answers")
}

fn receipt(n: usize) -> Value {
    json!({
        "procedure_code": PROCEDURE,
        "applicant": {"name": format!("Công ty số {n}")},
        "channel": "online",
        "received_at": format!("{DAY}T09:00:00+07:00"),
    })
}

/// The (code, version) of each event message.
fn events_of(messages: &[Received]) -> Vec<(String, i64)> {
    messages
        .iter()
        .map(|m| {
            let body = m.json();
            (
                body["data"]["code"].as_str().unwrap().to_owned(),
                body["data"]["version"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn two_instances_under_load_lose_nothing(backend: Backend) {
    let first = start(backend, fast_webhooks()).await;
    let app = &first.app;
    seed_catalogue(app).await;
    let (second_address, second_handle, second_task) = start_beside(app, fast_webhooks()).await;
    let instances = [app.address.clone(), second_address.clone()];

    // Two subscriptions: each must see every event once.
    let receivers = [Receiver::start(&[]).await, Receiver::start(&[]).await];
    for receiver in &receivers {
        let response = post(
            &app.client,
            app.url("/api/v1/webhooks"),
            &json!({"url": receiver.url, "events": ["dossier.received", "dossier.started", "dossier.apologized"]}),
            None,
        )
        .await;
        assert_eq!(response.status(), 201);
    }

    // The contended dossiers, received and started.
    let mut contended = Vec::new();
    for n in 0..CONTENDED {
        let d: Value = post(&app.client, app.url("/api/v1/dossiers"), &receipt(n), None)
            .await
            .json()
            .await
            .unwrap();
        let code = d["code"].as_str().unwrap().to_owned();
        let started = post(
            &app.client,
            app.url(&format!("/api/v1/dossiers/{code}/actions")),
            &json!({"action": "start"}),
            Some(1),
        )
        .await;
        assert_eq!(started.status(), 200);
        contended.push(code);
    }

    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let mut workers = Vec::new();
    for worker in 0..WORKERS {
        let (client, instances, contended, acknowledged) = (
            app.client.clone(),
            instances.clone(),
            contended.clone(),
            Arc::clone(&acknowledged),
        );
        workers.push(tokio::spawn(async move {
            let mut request = worker; // alternates the instance from one request to the next
            let mut next = || {
                request += 1;
                instances[request % 2].clone()
            };
            for round in 0..ROUNDS {
                if round % 5 == 0 {
                    let response = post(&client, format!("{}/api/v1/dossiers", next()), &receipt(round), None).await;
                    assert_eq!(response.status(), 201);
                    let d: Value = response.json().await.unwrap();
                    acknowledged.lock().unwrap().received.push(d["code"].as_str().unwrap().to_owned());
                    continue;
                }
                // Read the version on one instance, write on the other.
                let code = &contended[(worker + round) % CONTENDED];
                let read = client.get(format!("{}/api/v1/dossiers/{code}", next())).send().await.unwrap();
                assert_eq!(read.status(), 200);
                let version: i64 = read.headers()["etag"].to_str().unwrap().trim_matches('"').parse().unwrap();
                let reason = format!("w{worker}-r{round}");
                let body = json!({"action": "apologize", "reason": reason, "new_due_at": "2025-04-30T17:00:00+07:00"});
                let response = post(&client, format!("{}/api/v1/dossiers/{code}/actions", next()), &body, Some(version)).await;
                match response.status().as_u16() {
                    200 => {
                        let d: Value = response.json().await.unwrap();
                        let after = d["version"].as_i64().unwrap();
                        assert_eq!(after, version + 1, "an action moves the version by one");
                        acknowledged.lock().unwrap().acted.push((code.clone(), after, reason));
                    }
                    412 => acknowledged.lock().unwrap().stale += 1,
                    other => panic!("unexpected {other}: {}", response.text().await.unwrap()),
                }
            }
        }));
    }
    for worker in workers {
        worker.await.expect("a worker panicked");
    }
    let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
    assert!(
        !acknowledged.acted.is_empty() && acknowledged.stale > 0,
        "the writers raced: {} won, {} stale",
        acknowledged.acted.len(),
        acknowledged.stale
    );

    // Codes: unique and gap-free for the day, across both instances.
    let mut numbers: Vec<u32> = contended
        .iter()
        .chain(&acknowledged.received)
        .map(|code| {
            let (day, number) = code.rsplit_once('-').unwrap();
            assert_eq!(day, "SCT-250304", "{code}");
            number.parse().unwrap()
        })
        .collect();
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (1..=numbers.len() as u32).collect::<Vec<_>>(),
        "{backend:?}"
    );

    // No lost update: each dossier's control slip holds every acknowledged apology once, at the
    // version its answer gave, and nothing else.
    let mut committed: BTreeSet<(String, i64)> = BTreeSet::new();
    for code in contended.iter().chain(&acknowledged.received) {
        let dossier: Value = app
            .get(&format!("/api/v1/dossiers/{code}"))
            .await
            .json()
            .await
            .unwrap();
        let history: Value = app
            .get(&format!("/api/v1/dossiers/{code}/history"))
            .await
            .json()
            .await
            .unwrap();
        let entries = history["items"].as_array().unwrap();
        let version = dossier["version"].as_i64().unwrap();
        assert_eq!(
            entries.len() as i64,
            version,
            "{code}: one entry per version"
        );
        let in_slip: BTreeMap<i64, String> = entries
            .iter()
            .filter(|e| e["action"] == "apologize")
            .map(|e| {
                (
                    e["seq"].as_i64().unwrap(),
                    e["details"]["reason"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let answered: BTreeMap<i64, String> = acknowledged
            .acted
            .iter()
            .filter(|(c, _, _)| c == code)
            .map(|(_, v, reason)| (*v, reason.clone()))
            .collect();
        assert_eq!(in_slip, answered, "{code} ({backend:?})");
        committed.extend((1..=version).map(|v| (code.clone(), v)));
    }

    // Webhooks: every committed event once per subscription, with one message id per event.
    for receiver in &receivers {
        receiver.wait_for(committed.len()).await;
    }
    // Both workers go quiet: a duplicate would have shown up by then.
    let second = Api {
        address: second_address,
        client: app.client.clone(),
    };
    workers_quiet(&[&app.into(), &second]).await;
    for receiver in &receivers {
        let messages = receiver.received();
        let events = events_of(&messages);
        assert_eq!(
            events.len(),
            committed.len(),
            "each event once ({backend:?})"
        );
        assert_eq!(
            events.iter().cloned().collect::<BTreeSet<_>>(),
            committed,
            "{backend:?}"
        );
        let ids: HashSet<&str> = messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids.len(), committed.len());
    }

    for receiver in receivers {
        receiver.stop().await;
    }
    second_handle.stop(true).await;
    second_task.await.unwrap().unwrap();
    drop(first.stop().await);
}

backend_tests! {
    async fn two_instances_under_load(backend: Backend) {
        two_instances_under_load_lose_nothing(backend).await;
    }
}
