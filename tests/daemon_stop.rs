//! Stopping the real daemon: SIGTERM ends it within seconds, whatever is in flight, and what was
//! in flight is finished at the next start.

mod support;

use hyper::Method;
use posd::sim::faults::Faults;
use serde_json::json;
use std::time::{Duration, Instant};
use support::{Daemon, latte, set_env, simulator, wait_final};

/// Sends SIGTERM and waits for the daemon to exit; returns how long it took.
fn terminate(daemon: &mut Daemon, within: Duration) -> Duration {
    let asked = Instant::now();
    // SAFETY: kill(2) with the pid of our own child; it touches no memory of ours.
    let sent = unsafe { libc::kill(daemon.child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(sent, 0);
    loop {
        if let Some(status) = daemon.child.try_wait().unwrap() {
            assert!(status.success(), "{status}:\n{}", daemon.log());
            return asked.elapsed();
        }
        assert!(
            asked.elapsed() < within,
            "posd still running {within:?} after SIGTERM:\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_charge_in_flight_stops_and_the_charge_is_finished_once_at_restart() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simulator(Faults {
        latency_ms: 8_000,
        ..Faults::default()
    })
    .await;
    let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    set_env(&mut env, "POSD_GATEWAY_TIMEOUT_MS", "30000");
    let mut daemon = Daemon::start(dir.path(), env);
    daemon.ready().await;
    let mut charge = latte(100);
    charge["order_id"] = json!("STOP-1");
    charge["payment_code"] = json!("MY13697573pbmQsYhY");
    let (status, body) = daemon
        .client()
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
    // The gateway has the request and sits on its answer.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sim.ledger().iter().any(|e| e.order_id == "STOP-1") {
        assert!(
            Instant::now() < deadline,
            "the charge never reached the gateway"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let took = terminate(&mut daemon, Duration::from_secs(8));
    assert!(took < Duration::from_secs(7), "stopping took {took:?}");

    sim.set_faults(Faults::default()).unwrap();
    let env = daemon.env.clone();
    let restarted = Daemon::start(dir.path(), env);
    restarted.ready().await;
    let order = wait_final(&restarted.client(), "STOP-1", Duration::from_secs(30)).await;
    assert_eq!(order["state"], "paid", "{order}");
    let entries: Vec<_> = sim
        .ledger()
        .into_iter()
        .filter(|e| e.order_id == "STOP-1")
        .collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].requests, 1, "charged once, never resent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_key_that_never_sends_does_not_delay_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simulator(Faults::default()).await;
    let fifo = dir.path().join("event0");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let profile = dir.path().join("till.toml");
    std::fs::write(
        &profile,
        format!(
            "{}\n[scan_key]\nsource = \"evdev\"\ninput_device = \"{}\"\nkey_code = 765\n",
            include_str!("../hardware/generic-58mm.toml"),
            fifo.display()
        ),
    )
    .unwrap();
    let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    set_env(&mut env, "POSD_PROFILE", profile.display().to_string());
    set_env(&mut env, "POSD_SCAN_ON_CHARGE", "key");
    let mut daemon = Daemon::start(dir.path(), env);
    daemon.ready().await;
    // The watcher is waiting on the device by now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let took = terminate(&mut daemon, Duration::from_secs(5));
    assert!(took < Duration::from_secs(4), "stopping took {took:?}");
}
