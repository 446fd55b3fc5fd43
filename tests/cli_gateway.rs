//! `posd gateway call` and `posd demo` as an operator runs them: the real binary, a real simulator.

mod support;

use posd::sim::faults::Faults;
use std::process::{Command, Output};
use support::{AGENT_UID, KEY, STORE};

fn posd(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_posd"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap());
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

#[tokio::test]
async fn gateway_call_prints_the_answer_and_never_the_key() {
    let running = support::simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, running.ca_pem().unwrap()).unwrap();
    let env: Vec<(String, String)> = [
        ("POSD_GATEWAY_URL", running.url()),
        ("POSD_AGENT_UID", AGENT_UID.to_owned()),
        ("POSD_AGENT_KEY", KEY.to_owned()),
        ("POSD_STORE_UID", STORE.to_owned()),
        ("POSD_CA_FILE", ca.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let data = r#"{"items":[{"id":"1","name":"商品","cost":"10","amount":"1","total":"10"}],"cost":"10","user_id":"pos","order_id":"CLI-1","pfn":"OFFLINE","data_json":"{\"qrCode\":\"MY13697573pbmQsYhY\"}"}"#;
    let output = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        posd(&["gateway", "call", "transaction", "--data", data], &env)
    })
    .await
    .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let answer: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(answer["code"], "250");
    assert_eq!(answer["order_id"], "CLI-1");
    assert!(!stdout.contains(KEY) && !stderr.contains(KEY));
    assert_eq!(
        running.ledger().len(),
        1,
        "store_uid was filled in from the configuration"
    );
}

#[test]
fn gateway_call_names_what_is_missing_or_wrong() {
    let out = posd(&["gateway", "call", "memberstatus", "--data", "{}"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("gateway.url is not set"));

    let env = [
        ("POSD_GATEWAY_URL", "https://127.0.0.1:9/api/agent"),
        ("POSD_AGENT_UID", "1"),
        ("POSD_AGENT_KEY", KEY),
        ("POSD_STORE_UID", "2"),
    ];
    let out = posd(&["gateway", "call", "nosuch", "--data", "{}"], &env);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown command \"nosuch\""));
    let out = posd(&["gateway", "call", "memberstatus", "--data", "{}"], &env);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("user_id"));
    // Port 9 on loopback has no listener: not sent, exit 3.
    let out = posd(
        &[
            "gateway",
            "call",
            "memberstatus",
            "--data",
            r#"{"user_id":"a"}"#,
        ],
        &env,
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not sent"));
}

#[test]
fn demo_scans_charges_and_prints_a_sample_order() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let out = posd(&["demo", "--data-dir", data.to_str().unwrap()], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("gateway answered 250 → order paid"),
        "{stdout}"
    );
    let preview = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("preview drawn from those bytes: "))
        .expect("the preview path is printed");
    let image = image::open(preview).unwrap();
    assert_eq!(image.width(), 384, "58 mm paper");
    assert!(std::fs::metadata(data.join("printer.bin")).unwrap().len() > 1000);
    assert!(
        !stdout.contains("MY32270744gBT6cI8n"),
        "the payment code is never shown"
    );
}

#[test]
fn the_example_configuration_checks() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/posd.toml.example");
    let out = posd(&["config", "check", "--config", example], &[]);
    assert_eq!(out.status.code(), Some(2), "no agent key yet");
    assert!(String::from_utf8_lossy(&out.stderr).contains("gateway.agent_key is not set"));
    let out = posd(
        &["config", "check", "--config", example],
        &[("POSD_AGENT_KEY", KEY)],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("configuration ok"), "{stdout}");
    assert!(stdout.contains("printer.print_device_0"), "{stdout}");
    // The example names no layout: a proof with an image title would have no seller's name.
    assert!(
        stdout.contains("note: printer.layout has neither"),
        "{stdout}"
    );
    let layout = concat!(env!("CARGO_MANIFEST_DIR"), "/receipts/layout.toml");
    let out = posd(
        &["config", "check", "--config", example],
        &[("POSD_AGENT_KEY", KEY), ("POSD_LAYOUT", layout)],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("configuration ok"), "{stdout}");
    assert!(!stdout.contains("note: printer.layout"), "{stdout}");
    let out = posd(
        &["config", "check", "--config", example],
        &[
            ("POSD_AGENT_KEY", KEY),
            ("POSD_PRINT_DEVICE_0", "hold"),
            ("POSD_PROFILE", "sunmi-v2-pro"),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("invoice_print_device 0: hold"), "{stdout}");
    assert!(
        stdout.contains("printer: SUNMI V2 PRO through "),
        "{stdout}"
    );
}
