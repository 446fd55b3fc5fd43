//! Store and forward at scale: charges taken while the gateway is unreachable wait durably in the
//! queue, then drain when it comes back. Reports the queueing rate, the drain rate (orders per
//! second until every order is final) and the daemon's resident memory while it drains, with the
//! bare `fdatasync` rate of the same disk as the named peer (each order costs a few durable writes),
//! then restarts the daemon on the stored orders and reports its memory and the store's size.
//!
//! The drain is timed from the daemon's event stream (`GET /v1/events`, read by the bench as a
//! POS app reads it): from the moment the gateway comes up to the last order's final event, and
//! apart from that, the drain itself, from the first order's final event to the last. The
//! difference is the wait for the next probe: the gate lets one request through per backoff
//! (`policy.backoff_max_ms`, 2 s here) while the gateway is down, so the daemon notices it is
//! back up to that long after it is. (This bench used to ask `/v1/health` every 500 ms instead,
//! which added up to half a second to the drain, and counted the probe's wait in it.) The bench
//! follows the stream on to the last `printed` event: the printer thread gives way to charges, so
//! receipts may come after the orders are final. Should the stream fall behind (an
//! `events_missed` event), the bench asks `/v1/health` every 100 ms, and the receipts are not
//! followed.
//!
//! `POSD_DRAIN_ORDERS` sets the queue (default 10 000), `POSD_DRAIN_IN_FLIGHT` overrides
//! `policy.max_requests_in_flight` for a run. Run with `cargo bench --bench drain`.

#[path = "../tests/support/mod.rs"]
mod support;

use hyper::Method;
use posd::local_client::LocalClient;
use serde_json::json;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::{Daemon, LateGateway, dir_bytes, rss_kib};

/// Charges submitted at once while queueing.
const SUBMITTERS: usize = 16;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run());
}

async fn run() {
    let orders: u64 = std::env::var("POSD_DRAIN_ORDERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let gateway = LateGateway::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut env = Daemon::env_for(dir.path(), &gateway.url, gateway.ca_pem());
    for (key, value) in [
        ("POSD_POLICY_MAX_OPEN_ORDERS", (orders + 1).to_string()),
        ("POSD_POLICY_MAX_OPEN_AMOUNT", u64::MAX.to_string()),
        ("POSD_POLICY_MAX_ATTEMPTS", "1000".to_owned()),
        ("POSD_POLICY_BACKOFF_MAX_MS", "2000".to_owned()),
        ("POSD_POLICY_PAYMENT_CODE_LIFETIME_SECS", "3600".to_owned()),
        ("POSD_POLICY_MAX_AGE_SECS", "7200".to_owned()),
        ("POSD_LOG", "warn".to_owned()),
    ] {
        support::set_env(&mut env, key, value);
    }
    // `POSD_DRAIN_IN_FLIGHT` overrides `policy.max_requests_in_flight` (default 4) for a run.
    if let Ok(in_flight) = std::env::var("POSD_DRAIN_IN_FLIGHT") {
        support::set_env(&mut env, "POSD_POLICY_MAX_REQUESTS_IN_FLIGHT", in_flight);
    }
    let daemon = Daemon::start(dir.path(), env);
    daemon.ready().await;
    let pid = daemon.child.id();
    let idle_rss = rss_kib(pid);

    // Queue: the gateway is down, so every charge is stored and waits.
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut submitters = Vec::new();
    for _ in 0..SUBMITTERS {
        let next = next.clone();
        let socket = daemon.client().socket().to_owned();
        submitters.push(tokio::spawn(async move {
            let client = LocalClient::new(socket);
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= orders {
                    return;
                }
                // Ending in 5 picks no simulator script: every order pays.
                let body = json!({"amount": 100, "payment_code": format!("MY{n:08}abcd{n:03}5")});
                let (status, answer) = client
                    .request(Method::POST, "/v1/charges", Some(&body))
                    .await
                    .expect("the daemon answers");
                assert!(status.is_success(), "{status}: {answer}");
            }
        }));
    }
    for submitter in submitters {
        submitter.await.expect("submitter");
    }
    let queued_in = started.elapsed();
    let queued_rss = rss_kib(pid);

    // The gateway comes back; measure until every order is final.
    let mut events = support::event_lines(daemon.client().socket()).await;
    let status = events
        .next_line()
        .await
        .expect("events")
        .expect("an answer");
    assert!(status.contains(" 200 "), "GET /v1/events: {status}");
    let simulator = gateway.come_up().await;
    let started = Instant::now();
    let mut peak_rss = queued_rss;
    let mut slowest_answer = Duration::ZERO;
    let client = daemon.client();
    let (mut finals, mut first_final, mut missed) = (0u64, None, false);
    let (mut printed, mut last_final, mut last_printed) = (0u64, None, None);
    let mut sampled = Instant::now();
    // Until every order is final, then on until every receipt is printed: the printer thread
    // yields the CPU to charges, so receipts may finish after the orders.
    while finals < orders || (printed < orders && !missed) {
        if sampled.elapsed() >= Duration::from_millis(500) {
            sampled = Instant::now();
            peak_rss = peak_rss.max(rss_kib(pid));
            let asked = Instant::now();
            client
                .request(Method::GET, "/v1/health", None)
                .await
                .expect("the daemon answers while it drains");
            slowest_answer = slowest_answer.max(asked.elapsed());
        }
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "not drained in 30 minutes"
        );
        if missed {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let (_, health) = client
                .request(Method::GET, "/v1/health", None)
                .await
                .expect("the daemon answers while it drains");
            finals = orders - health["queue"]["unfinished"].as_u64().expect("unfinished");
            if finals == orders {
                last_final.get_or_insert_with(Instant::now);
            }
            continue;
        }
        let line = tokio::time::timeout(Duration::from_millis(500), events.next_line()).await;
        let Ok(line) = line else { continue };
        let line = line.expect("events").expect("the stream stays open");
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        let event: serde_json::Value = serde_json::from_str(data).expect("event JSON");
        let kind = event["kind"].as_str().unwrap_or_default();
        if kind == "events_missed" {
            missed = true;
        } else if support::is_final(kind) {
            finals += 1;
            first_final.get_or_insert_with(Instant::now);
            if finals == orders {
                last_final = Some(Instant::now());
            }
        } else if kind == "printed" {
            printed += 1;
            if printed == orders {
                last_printed = Some(Instant::now());
            }
        }
    }
    let last_final = last_final.expect("every order became final");
    let drained_in = last_final - started;
    let first_final = first_final.expect("an order became final");
    let probe_wait = first_final - started;
    let draining = last_final - first_final;
    let paid = support::every_order(&client)
        .await
        .iter()
        .filter(|order| order["state"] == "paid")
        .count();
    assert_eq!(paid as u64, orders, "every order paid");
    let ledger = simulator.ledger();
    assert_eq!(ledger.len() as u64, orders, "each order charged once");
    assert!(ledger.iter().all(|entry| entry.requests == 1));

    // What the stored orders cost a daemon that starts with them.
    let data = dir.path().join("data");
    let store_bytes = dir_bytes(&data);
    let mut daemon = daemon;
    daemon.restart();
    daemon.ready().await;
    let restarted_rss = rss_kib(daemon.child.id());

    let sync_rate = fdatasync_rate(dir.path());
    println!("drain of {orders} queued orders (gateway down while queueing, then up):");
    println!(
        "  queued: {:.1} s, {:.0} orders/s ({SUBMITTERS} clients)",
        queued_in.as_secs_f64(),
        orders as f64 / queued_in.as_secs_f64()
    );
    println!(
        "  drained: {:.2} s, {:.0} orders/s from the gateway's return; of it {:.2} s waiting for \
         the next probe, then {:.2} s, {:.0} orders/s from the first order final to the last",
        drained_in.as_secs_f64(),
        orders as f64 / drained_in.as_secs_f64(),
        probe_wait.as_secs_f64(),
        draining.as_secs_f64(),
        (orders - 1) as f64 / draining.as_secs_f64()
    );
    match last_printed {
        Some(at) => println!(
            "  receipts: the last printed {:.2} s from the gateway's return",
            (at - started).as_secs_f64()
        ),
        None => println!(
            "  the event stream fell behind: the end was read from /v1/health (100 ms step), \
             the receipts not followed"
        ),
    }
    println!(
        "  daemon RSS: idle {:.1} MiB, queued {:.1} MiB, peak while draining {:.1} MiB",
        idle_rss as f64 / 1024.0,
        queued_rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0
    );
    println!(
        "  after a restart with the {orders} orders stored: RSS {:.1} MiB, store {:.0} MiB on disk",
        restarted_rss as f64 / 1024.0,
        store_bytes as f64 / (1024.0 * 1024.0)
    );
    println!(
        "  slowest health answer while draining: {:.0} ms",
        slowest_answer.as_secs_f64() * 1000.0
    );
    println!("  peer: one 512-byte write + fdatasync on the same disk: {sync_rate:.0}/s");
}

/// How many small durable writes per second the disk under `dir` takes.
fn fdatasync_rate(dir: &std::path::Path) -> f64 {
    let mut file = std::fs::File::create(dir.join("sync-probe")).expect("probe file");
    let started = Instant::now();
    let rounds = 200;
    for _ in 0..rounds {
        file.write_all(&[0u8; 512]).expect("write");
        file.sync_data().expect("fdatasync");
    }
    f64::from(rounds) / started.elapsed().as_secs_f64()
}
