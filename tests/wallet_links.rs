//! `"print_link": true` on the e-wallet commands, through the real daemon against the gateway
//! simulator: the URL of the gateway's answer comes out of the printer as a QR code under its
//! caption (read back from the ESC/POS bytes with `rxing`), on a printer of its own and through the
//! SUNMI app link; a link that is not https is never printed; the option is refused by name where
//! it does not belong. The simulator refuses unknown request fields, so a `B200` answer also shows
//! the option never reached the gateway.

mod support;

use hyper::{Method, StatusCode};
use posd::envelope::AgentKey;
use posd::sim::{self, SimConfig};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::Daemon;

fn bind_request() -> Value {
    json!({"user_id": "member01", "homepage_url": "https://shop.example.tw/", "print_link": true})
}

/// The printer file once something is printed and it has stopped growing.
async fn printed_bytes(path: &std::path::Path) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    loop {
        let bytes = std::fs::read(path).unwrap_or_default();
        if !bytes.is_empty() && bytes == seen {
            return bytes;
        }
        assert!(Instant::now() < deadline, "nothing printed in time");
        seen = bytes;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn a_wallet_link_prints_as_a_qr_code_that_reads_back_as_the_url() {
    let sim = support::simulator(Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::serving(dir.path(), &sim).await;
    let client = daemon.client();

    let (status, answer) = client
        .request(Method::POST, "/v1/wallet/bind", Some(&bind_request()))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["code"], "B200",
        "the gateway took the request: {answer}"
    );
    assert_eq!(answer["print_link"]["printing"], true, "{answer}");
    let url = answer["url"].as_str().unwrap();
    assert!(url.starts_with("https://"));

    let bytes = printed_bytes(&dir.path().join("printer.bin")).await;
    // generic-58mm prints text as raster: the caption is read on the SUNMI's paper below.
    let (_, read) = support::read_link(&bytes);
    assert_eq!(
        read, url,
        "the paper carries the gateway's URL byte for byte"
    );

    // The option is the daemon's: a non-boolean, or a command with no link, is refused by name.
    for (command, body) in [
        (
            "bind",
            json!({"user_id": "member01", "homepage_url": "https://shop.example.tw/", "print_link": "yes"}),
        ),
        (
            "memberstatus",
            json!({"user_id": "member01", "print_link": true}),
        ),
    ] {
        let (status, refused) = client
            .request(Method::POST, &format!("/v1/wallet/{command}"), Some(&body))
            .await
            .unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"]["field"], "print_link");
    }
}

#[tokio::test]
async fn a_link_that_is_not_https_is_not_printed() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = SimConfig::new(
        support::AGENT_UID,
        AgentKey::new(support::KEY).unwrap(),
        support::STORE,
    );
    config.wallet_link_base = "http://ocp.simulator.invalid/open/".to_owned();
    let sim = sim::start(config, listener).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::serving(dir.path(), &sim).await;
    let client = daemon.client();
    let events = support::collect_events(&dir.path().join("posd.sock")).await;

    let (status, answer) = client
        .request(Method::POST, "/v1/wallet/pay", Some(&bind_request()))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer["url"].as_str().unwrap().starts_with("http://"));
    assert_eq!(answer["print_link"]["printing"], false, "{answer}");
    let message = answer["print_link"]["message"].as_str().unwrap();
    assert!(message.contains("https"), "{message}");

    tokio::time::sleep(Duration::from_secs(1)).await;
    let printer = dir.path().join("printer.bin");
    assert!(!printer.exists(), "nothing was printed");
    // The printer works: the test page comes out.
    client
        .request(Method::POST, "/v1/print-test", None)
        .await
        .unwrap();
    assert!(!printed_bytes(&printer).await.is_empty());
    let kinds = support::kinds(&events);
    assert_eq!(
        kinds.iter().filter(|k| *k == "printing").count(),
        0,
        "{kinds:?}"
    );
}

#[tokio::test]
async fn on_the_sunmi_the_app_leases_the_link_like_a_receipt() {
    let sim = support::simulator(Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    env.retain(|(key, _)| key != "POSD_PRINTER_DEVICE");
    support::set_env(&mut env, "POSD_PROFILE", "sunmi-v2-pro");
    let daemon = Daemon::start(dir.path(), env);
    daemon.ready().await;
    let client = daemon.client();

    let deal = json!({
        "cost": 150, "order_id": "DEAL-1", "items": [{"id": "1", "name": "拿鐵咖啡", "cost": 150, "amount": 1, "total": 150}],
        "user_id": "member01", "ip": "192.168.0.2", "print_link": true
    });
    let (status, answer) = client
        .request(Method::POST, "/v1/wallet/directdeal", Some(&deal))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["print_link"]["printing"], true, "{answer}");
    let url = answer["url"].as_str().unwrap();

    let (status, job) = client
        .request(Method::GET, "/v1/print-jobs/next?wait=10", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{job}");
    assert_eq!(job["kind"], "link");
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(job["bytes"].as_str().unwrap())
        .unwrap();
    let (lines, read) = support::read_link(&bytes);
    assert_eq!(read, url);
    assert!(
        lines.iter().any(|l| l.contains("線上付款連結")),
        "{lines:?}"
    );
    let (status, _) = client
        .request(
            Method::POST,
            &format!("/v1/print-jobs/{}/result", job["job_id"].as_str().unwrap()),
            Some(&json!({"outcome": "printed"})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
}

/// The link job is stored before it goes to the printer: a printer that cannot be opened keeps it
/// owed, and the next start prints it.
#[tokio::test]
async fn a_link_the_printer_could_not_take_prints_after_a_restart() {
    let sim = support::simulator(Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    let unplugged = dir.path().join("unplugged").join("printer.bin");
    support::set_env(
        &mut env,
        "POSD_PRINTER_DEVICE",
        unplugged.display().to_string(),
    );
    let mut daemon = Daemon::start(dir.path(), env);
    daemon.ready().await;
    let events = support::collect_events(&dir.path().join("posd.sock")).await;
    let (status, answer) = daemon
        .client()
        .request(Method::POST, "/v1/wallet/bind", Some(&bind_request()))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{answer}");
    let url = answer["url"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !support::kinds(&events).contains(&"print_failed".to_owned()) {
        assert!(Instant::now() < deadline, "{:?}", support::kinds(&events));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    support::set_env(
        &mut daemon.env,
        "POSD_PRINTER_DEVICE",
        dir.path().join("printer.bin").display().to_string(),
    );
    daemon.restart();
    daemon.ready().await;
    let bytes = printed_bytes(&dir.path().join("printer.bin")).await;
    let (_, read) = support::read_link(&bytes);
    assert_eq!(read, url);
}
