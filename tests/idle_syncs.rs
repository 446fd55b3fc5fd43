//! A daemon with nothing to do syncs nothing: counted with `strace` attached to the real process
//! (Debian's `strace`; attaching needs root or ptrace rights, as in CI). The store checkpoints
//! once after its last write (here after 1 s instead of 30), and then never again while nothing
//! changes: no flusher, no periodic sync.

mod support;

use hyper::Method;
use posd::sim::faults::Faults;
use serde_json::json;
use std::process::Command;
use std::time::Duration;
use support::{Daemon, simulator, wait_final};

#[tokio::test]
async fn an_idle_daemon_makes_no_sync_calls() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    support::set_env(&mut env, "POSD_CHECKPOINT_IDLE_SECS", "1");
    let daemon = Daemon::start(dir.path(), env);
    daemon.ready().await;
    let client = daemon.client();
    let mut charge = support::latte(60);
    charge["payment_code"] = json!("MY13697573pbmQsI01");
    let (_, order) = client
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .unwrap();
    let id = order["order_id"].as_str().unwrap();
    assert_eq!(
        wait_final(&client, id, Duration::from_secs(15)).await["state"],
        "paid"
    );
    // The receipt is printed and recorded; a second later the one checkpoint empties the
    // journal (the order is final, so not even its payment code is left); then nothing happens.
    let journal = dir.path().join("data").join("orders").join("journal");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(&journal).unwrap().len() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the store did not checkpoint after its last write"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let trace = dir.path().join("syncs.strace");
    let status = Command::new("timeout")
        .args(["-s", "INT", "3"])
        .arg("strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=fsync,fdatasync,sync_file_range,sync,syncfs",
        ])
        .arg("-o")
        .arg(&trace)
        .args(["-p", &daemon.child.id().to_string()])
        .status()
        .expect("strace runs (Debian: apt-get install strace)");
    // timeout ends strace with SIGINT after 3 s: it detaches and exits 124 through timeout.
    assert!(matches!(status.code(), Some(0 | 124)), "strace: {status}");
    let calls: Vec<String> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .filter(|line| !line.contains("resumed>") && line.contains('('))
        .map(str::to_owned)
        .collect();
    assert!(
        calls.is_empty(),
        "{} sync calls while idle:\n{}",
        calls.len(),
        calls.join("\n")
    );
}
