//! Orders survive what the world does to them: a gateway that is down, faults between the till
//! and the gateway, and the daemon killed with SIGKILL at any moment, again and again.

mod support;

use hyper::Method;
use posd::sim::faults::Faults;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use support::{Daemon, KEY, LateGateway, is_final, simulator, wait_final};

/// While the gateway is down the queued orders wait at the gate: one request at a time probes
/// it, nothing is resent per order, and the queue drains once it is back.
#[tokio::test]
async fn charges_wait_out_a_gateway_that_is_down_behind_one_probe() {
    const CHARGES: usize = 20;
    let gateway = LateGateway::new();
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(
        dir.path(),
        Daemon::env_for(dir.path(), &gateway.url, gateway.ca_pem()),
    );
    daemon.ready().await;
    let client = daemon.client();
    let down_since = Instant::now();
    let mut ids = Vec::new();
    for n in 0..CHARGES {
        let body = json!({"amount": 60, "payment_code": format!("MY42345678{n:08}")});
        let (status, order) = client
            .request(Method::POST, "/v1/charges", Some(&body))
            .await
            .unwrap();
        assert!(status.is_success(), "{status}: {order}");
        ids.push(order["order_id"].as_str().unwrap().to_owned());
    }

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, health) = client
        .request(Method::GET, "/v1/health", None)
        .await
        .unwrap();
    let gate = &health["gateway"]["requests"];
    assert_eq!(gate["state"], "closed", "{health}");
    assert!(
        gate["waiting"].as_u64().unwrap() >= CHARGES as u64 - 1,
        "{health}"
    );
    let mut sends = 0;
    for id in &ids {
        let (_, order) = client
            .request(Method::GET, &format!("/v1/charges/{id}"), None)
            .await
            .unwrap();
        assert!(!is_final(order["state"].as_str().unwrap()), "{order}");
        sends += order["attempts"].as_u64().unwrap();
    }
    // The slots in flight when the gateway went away, then one probe per backoff at most (the
    // shortest wait between probes is half the initial backoff of 100 ms).
    let most = 4 + down_since.elapsed().as_millis() as u64 / 50;
    assert!(
        (1..=most).contains(&sends),
        "{sends} attempts for {CHARGES} orders while the gateway was down (at most {most})"
    );
    let log = daemon.log();
    assert_eq!(
        log.matches("the gateway cannot be reached").count(),
        1,
        "the outage is reported once: {log}"
    );

    let sim = gateway.come_up().await;
    for id in &ids {
        let order = wait_final(&client, id, Duration::from_secs(15)).await;
        assert_eq!(order["state"], "paid", "{order}");
    }
    let ledger = sim.ledger();
    assert_eq!(ledger.len(), CHARGES);
    assert!(
        ledger.iter().all(|entry| entry.requests == 1),
        "each order reached the gateway once: {ledger:?}"
    );
    let (_, health) = client
        .request(Method::GET, "/v1/health", None)
        .await
        .unwrap();
    assert_eq!(health["gateway"]["requests"]["state"], "open", "{health}");
    assert!(daemon.log().contains("the gateway answers again"));
}

#[tokio::test]
async fn a_lost_answer_is_reconciled_not_resent() {
    let sim = simulator(Faults {
        drop_after_commit: 1.0,
        max_faults: Some(1),
        ..Faults::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::serving(dir.path(), &sim).await;
    let client = daemon.client();
    let body = json!({"amount": 75, "payment_code": "MY5234567890123456"});
    let (_, order) = client
        .request(Method::POST, "/v1/charges", Some(&body))
        .await
        .unwrap();
    let id = order["order_id"].as_str().unwrap();
    let order = wait_final(&client, id, Duration::from_secs(15)).await;
    assert_eq!(order["state"], "paid");
    assert_eq!(order["attempts"], 1);
    let entry = &sim.ledger()[0];
    assert_eq!((entry.requests, entry.queries >= 1), (1, true), "{entry:?}");
}

/// The crash test: charges under gateway faults while the daemon is killed at random moments.
/// `POSD_CRASH_ROUNDS` makes it a soak (see the README).
#[tokio::test]
async fn kill_nine_at_random_moments_loses_nothing_and_charges_nothing_twice() {
    let rounds: usize = std::env::var("POSD_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(6);
    let per_round = 6;
    let sim = simulator(Faults {
        seed: 42,
        latency_ms: 20,
        http_5xx: 0.1,
        drop_before_read: 0.1,
        drop_after_commit: 0.2,
        malformed_body: 0.1,
        max_faults: None,
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(
        dir.path(),
        Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap()),
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut told: HashMap<String, String> = HashMap::new();
    let mut codes = 0u64;

    for _ in 0..rounds {
        daemon.ready().await;
        let client = daemon.client();
        let mut charges = Vec::new();
        for _ in 0..per_round {
            codes += 1;
            let code = format!("MY{codes:016}");
            let body = json!({"amount": 10 + codes, "payment_code": code});
            let socket = client.socket().to_owned();
            charges.push(tokio::spawn(async move {
                let client = posd::local_client::LocalClient::new(socket);
                let answer = client
                    .request(Method::POST, "/v1/charges", Some(&body))
                    .await;
                (code, answer)
            }));
        }
        // Kill somewhere between storing, sending, the gateway committing and the answer landing.
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..150))).await;
        daemon.kill();
        for charge in charges {
            let (code, answer) = charge.await.unwrap();
            if let Ok((status, order)) = answer
                && status.is_success()
            {
                told.insert(order["order_id"].as_str().unwrap().to_owned(), code);
            }
        }
        daemon.restart();
    }

    daemon.ready().await;
    let client = daemon.client();
    let deadline = Instant::now() + Duration::from_secs(60);
    let orders = loop {
        let orders = support::every_order(&client).await;
        if orders
            .iter()
            .all(|o| is_final(o["state"].as_str().unwrap()))
        {
            break orders;
        }
        assert!(
            Instant::now() < deadline,
            "orders not final in time: {orders:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let states: HashMap<String, String> = orders
        .iter()
        .map(|o| {
            (
                o["order_id"].as_str().unwrap().to_owned(),
                o["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for id in told.keys() {
        assert!(
            states.contains_key(id),
            "order {id} the POS app was told about is missing"
        );
    }
    for (id, state) in &states {
        assert_eq!(state, "paid", "order {id} ended {state}");
    }
    let ledger = sim.ledger();
    let mut seen_codes = HashSet::new();
    for entry in &ledger {
        assert!(
            seen_codes.insert(entry.payment_code.clone()),
            "code charged twice: {entry:?}"
        );
        assert_eq!(
            states.get(&entry.order_id).map(String::as_str),
            Some("paid"),
            "the gateway charged {} but the daemon does not hold it as paid",
            entry.order_id
        );
    }
    assert_eq!(
        ledger.len(),
        states.len(),
        "one charge per order, no more, no less"
    );
    let log = daemon.log();
    assert!(!log.contains("MY0000"), "a payment code reached the log");
    assert!(!log.contains(KEY));
    eprintln!(
        "crash test: {rounds} rounds, {} orders, {} faults injected",
        states.len(),
        sim.faults_injected()
    );
}
