//! The built-in simulator never passes for a gateway: whatever is made against it says so, and
//! where a real gateway is required its absence stops the daemon instead.

mod support;

use hyper::{Method, StatusCode};
use posd::sim::faults::Faults;
use serde_json::json;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::{Daemon, simulator, wait_final};

/// `posd run` with nothing configured: a trial against the built-in simulator.
fn trial_env(dir: &std::path::Path) -> Vec<(String, String)> {
    vec![
        (
            "POSD_DATA_DIR".into(),
            dir.join("data").display().to_string(),
        ),
        (
            "POSD_SOCKET".into(),
            dir.join("posd.sock").display().to_string(),
        ),
    ]
}

#[tokio::test]
async fn a_trial_against_the_simulator_says_so_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), trial_env(dir.path()));
    daemon.ready().await;
    let client = daemon.client();
    let events = support::collect_events(&dir.path().join("posd.sock")).await;

    let (_, health) = client
        .request(Method::GET, "/v1/health", None)
        .await
        .unwrap();
    assert_eq!(health["gateway"]["simulator"], true, "{health}");
    let (status, order) = client
        .request(Method::POST, "/v1/charges", Some(&json!({"amount": 150})))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(order["simulated"], true, "{order}");
    let id = order["order_id"].as_str().unwrap();
    let order = wait_final(&client, id, Duration::from_secs(30)).await;
    assert_eq!(order["state"], "paid", "{order}");
    assert_eq!(order["simulated"], true, "{order}");

    let printer = dir.path().join("data/printer.bin");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::fs::metadata(&printer).map_or(0, |m| m.len()) == 0 {
        assert!(std::time::Instant::now() < deadline, "no receipt printed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let paper = support::read_receipt(&std::fs::read(&printer).unwrap());
    assert!(
        paper
            .text_lines
            .iter()
            .any(|l| l.contains("模擬交易") && l.contains("非真實付款")),
        "{:?}",
        paper.text_lines
    );
    let seen = events.lock().unwrap().clone();
    assert!(!seen.is_empty());
    for event in &seen {
        assert_eq!(event["simulated"], true, "{event}");
    }
}

#[tokio::test]
async fn orders_against_a_real_gateway_carry_no_simulation_mark() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::serving(dir.path(), &sim).await;
    let client = daemon.client();
    let (_, health) = client
        .request(Method::GET, "/v1/health", None)
        .await
        .unwrap();
    assert_eq!(health["gateway"]["simulator"], false, "{health}");
    let mut charge = support::latte(60);
    charge["payment_code"] = json!("MY13697573pbmQsYhY");
    let (_, order) = client
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .unwrap();
    assert!(order.get("simulated").is_none(), "{order}");
}

#[test]
fn where_a_gateway_is_required_a_missing_one_is_a_configuration_error() {
    for (key, value) in [
        ("POSD_REQUIRE_GATEWAY", "1"),
        ("NOTIFY_SOCKET", "/run/systemd/notify"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_posd"))
            .arg("run")
            .env_clear()
            .envs(trial_env(dir.path()))
            .env(key, value)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{key}: {stderr}");
        assert!(
            stderr.contains("no gateway is configured") && stderr.contains("POSD_REQUIRE_GATEWAY"),
            "{key}: {stderr}"
        );
        assert!(!dir.path().join("posd.sock").exists(), "{key}: it listened");
    }
}
