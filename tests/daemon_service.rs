//! The real daemon's service to the POS app: the event stream of a listener that falls behind,
//! the scanner shared by charges, and the health answer.

mod support;

use hyper::Method;
use posd::sim::faults::Faults;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{Daemon, event_lines, latte, set_env, simulator};

/// A listener that stops reading falls behind; when it reads again it is told how many events it
/// missed, instead of seeing a stream with a silent gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_listener_that_falls_behind_is_told_it_missed_events() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simulator(Faults::default()).await;
    let daemon = Daemon::serving(dir.path(), &sim).await;
    let socket = dir.path().join("posd.sock");
    // Subscribed, then not read: the socket's buffer fills and the daemon's queue for this
    // listener (256 events) overflows.
    let mut lines = event_lines(&socket).await;
    let workers: Vec<_> = (0..8)
        .map(|worker| {
            let client = daemon.client();
            tokio::spawn(async move {
                for n in 0..150 {
                    let id = format!("{worker}-{n:03}-{}", "x".repeat(44));
                    let mut charge = latte(100);
                    charge["order_id"] = json!(id);
                    let (status, body) = client
                        .request(Method::POST, "/v1/charges", Some(&charge))
                        .await
                        .unwrap();
                    assert_eq!(status, 201, "{body}");
                    let (status, body) = client
                        .request(Method::POST, &format!("/v1/charges/{id}/cancel"), None)
                        .await
                        .unwrap();
                    assert_eq!(status, 200, "{body}");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut missed = None;
    while missed.is_none() && Instant::now() < deadline {
        let line = tokio::time::timeout(Duration::from_secs(5), lines.next_line())
            .await
            .expect("the stream goes on")
            .unwrap()
            .expect("the stream is open");
        if let Some(data) = line.strip_prefix("data: ") {
            let event: Value = serde_json::from_str(data).unwrap();
            if event["kind"] == "events_missed" {
                missed = Some(event);
            }
        }
    }
    let missed = missed.expect("an events_missed event");
    let count: u64 = missed["detail"].as_str().unwrap().parse().unwrap();
    assert!(count > 0, "{missed}");
}

/// A daemon whose charges without a payment code start a scan of frames the POS app pushes.
async fn scanning_daemon(dir: &std::path::Path, sim: &posd::sim::RunningSim) -> Daemon {
    let mut env = Daemon::env_for(dir, &sim.url(), sim.ca_pem().unwrap());
    set_env(&mut env, "POSD_SCAN_SOURCE", "pushed");
    set_env(&mut env, "POSD_SCAN_ON_CHARGE", "auto");
    set_env(&mut env, "POSD_SCAN_TIMEOUT_MS", "60000");
    let daemon = Daemon::start(dir, env);
    daemon.ready().await;
    daemon
}

async fn charge_without_code(client: &posd::local_client::LocalClient, id: &str) -> (u16, Value) {
    let mut charge = latte(100);
    charge["order_id"] = json!(id);
    let (status, body) = client
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .unwrap();
    (status.as_u16(), body)
}

async fn wait_for_event(
    events: &std::sync::Mutex<Vec<Value>>,
    within: Duration,
    wanted: impl Fn(&Value) -> bool,
) -> Option<Value> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(event) = events.lock().unwrap().iter().find(|e| wanted(e)) {
            return Some(event.clone());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_an_order_stops_its_scan() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simulator(Faults::default()).await;
    let daemon = scanning_daemon(dir.path(), &sim).await;
    let client = daemon.client();
    let events = support::collect_events(&dir.path().join("posd.sock")).await;
    let (status, body) = charge_without_code(&client, "SCAN-CANCEL-1").await;
    assert_eq!(status, 201, "{body}");
    wait_for_event(&events, Duration::from_secs(5), |e| e["kind"] == "scanning")
        .await
        .expect("the charge's scan starts");

    let (status, body) = client
        .request(Method::POST, "/v1/charges/SCAN-CANCEL-1/cancel", None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let ended = wait_for_event(&events, Duration::from_secs(5), |e| {
        e["kind"] == "scan_ended" && e["order_id"] == "SCAN-CANCEL-1"
    })
    .await
    .expect("the scan of the cancelled order ends");
    assert_eq!(ended["detail"], "cancelled");

    // The scanner is free for the next charge.
    let (status, body) = charge_without_code(&client, "SCAN-CANCEL-2").await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_whose_scan_cannot_start_is_refused_with_409() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simulator(Faults::default()).await;
    let daemon = scanning_daemon(dir.path(), &sim).await;
    let client = daemon.client();
    let (status, body) = charge_without_code(&client, "SCAN-BUSY-1").await;
    assert_eq!(status, 201, "{body}");

    let (status, body) = charge_without_code(&client, "SCAN-BUSY-2").await;
    assert_eq!(status, 409, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("a scan is already running for order SCAN-BUSY-1"),
        "{message}"
    );
    let (status, _) = client
        .request(Method::GET, "/v1/charges/SCAN-BUSY-2", None)
        .await
        .unwrap();
    assert_eq!(status, 404, "the refused charge is not stored");

    // A scan asked for directly is refused the same way.
    let (status, body) = client
        .request(Method::POST, "/v1/scan", Some(&json!({})))
        .await
        .unwrap();
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SCAN-BUSY-1"),
        "{body}"
    );
}

/// Polling `/v1/health` opens no connection to the gateway per poll, and its queue counts follow
/// the orders as they change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_answered_from_memory() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let gateway = support::LateGateway::new();
    // Something listens where the gateway is: every connection the daemon opens is counted.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", gateway.port))
        .await
        .unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    let daemon = Daemon::start(
        dir.path(),
        Daemon::env_for(dir.path(), &gateway.url, gateway.ca_pem()),
    );
    daemon.ready().await;
    let client = daemon.client();
    for id in ["HEALTH-1", "HEALTH-2"] {
        let mut charge = latte(100);
        charge["order_id"] = json!(id);
        let (status, body) = client
            .request(Method::POST, "/v1/charges", Some(&charge))
            .await
            .unwrap();
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = client
        .request(Method::POST, "/v1/charges/HEALTH-1/cancel", None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");

    let before = connections.load(Ordering::SeqCst);
    for _ in 0..20 {
        let (status, health) = client
            .request(Method::GET, "/v1/health", None)
            .await
            .unwrap();
        assert_eq!(status, 200, "{health}");
        assert_eq!(health["gateway"]["reachable"], true, "{health}");
        assert_eq!(health["queue"]["unfinished"], 1, "{health}");
        assert_eq!(health["queue"]["oldest_unfinished"]["order_id"], "HEALTH-2");
        assert_eq!(health["queue"]["needs_attention"], 0, "{health}");
    }
    let opened = connections.load(Ordering::SeqCst) - before;
    assert!(opened <= 1, "20 polls opened {opened} connections");
}

/// Receipts are laid out below the priority of the threads that take charges, so layout never
/// holds a charge back when both want the CPU; the printer thread, which writes to the store
/// under the lock charges take too, keeps the daemon's priority.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_are_laid_out_below_the_order_workers() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simulator(Faults::default()).await;
    let daemon = Daemon::serving(dir.path(), &sim).await;
    let pid = daemon.child.id();
    // (thread name, nice value) of every thread of the daemon, from /proc.
    let threads: Vec<(String, i64)> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|task| {
            let stat = std::fs::read_to_string(task.unwrap().path().join("stat")).unwrap();
            let (name, rest) = stat.split_once(" (").unwrap().1.rsplit_once(") ").unwrap();
            // After the name: state is field 3 of stat(5), nice field 19.
            let nice = rest.split(' ').nth(16).unwrap().parse().unwrap();
            (name.to_owned(), nice)
        })
        .collect();
    let nice_of = |wanted: &str| {
        threads
            .iter()
            .find(|(name, _)| name.starts_with(wanted))
            .unwrap_or_else(|| panic!("no {wanted} thread among {threads:?}"))
            .1
    };
    let workers = nice_of("tokio-rt-worker");
    assert_eq!(
        nice_of("posd-layout"),
        (workers + 10).min(19),
        "{threads:?}"
    );
    assert_eq!(nice_of("posd-printer"), workers, "{threads:?}");
}
