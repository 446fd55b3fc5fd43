//! `posd scan --image` on the sample frames in `tests/fixtures/scan/`.

use std::process::{Command, Output};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/scan");

fn posd_scan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_posd"))
        .arg("scan")
        .args(args)
        .output()
        .expect("posd runs")
}

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

#[test]
fn json_lines_give_codes_and_time_per_image() {
    let (clean, dark, glare, url) = (
        fixture("clean.jpg"),
        fixture("dark-mode.jpg"),
        fixture("glare.jpg"),
        fixture("url.png"),
    );
    let output = posd_scan(&["--image", &clean, &dark, &glare, &url, "--json", "--reveal"]);
    assert!(output.status.success(), "{output:?}");
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["image"], clean);
    assert_eq!(lines[0]["codes"], serde_json::json!(["MY32270744gBT6cI8n"]));
    assert!(lines[0]["ms"].as_f64().unwrap() > 0.0);
    assert_eq!(lines[1]["codes"], serde_json::json!(["113666476820696569"]));
    assert_eq!(lines[2]["codes"], serde_json::json!(["229AI53LGVVTF7UUZ4"]));
    assert_eq!(lines[3]["codes"], serde_json::json!([]));
    assert_eq!(
        lines[3]["refused"],
        "not a payment code: 24 characters that match no wallet's pattern"
    );
}

#[test]
fn codes_are_masked_unless_revealed() {
    let output = posd_scan(&["--image", &fixture("clean.jpg")]);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("MY32************8n (MyPay) in "),
        "{stdout}"
    );
    assert!(!stdout.contains("MY32270744gBT6cI8n"), "{stdout}");
}

#[test]
fn unreadable_files_are_named_and_the_rest_still_decoded() {
    let missing = fixture("missing.png");
    let text = fixture("not-an-image.png");
    let output = posd_scan(&["--image", &missing, &text, &fixture("clean.jpg"), "--json"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(&format!("cannot read image file {missing}")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{text} is not a readable image")),
        "{stderr}"
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
}

#[cfg(not(feature = "camera"))]
#[test]
fn camera_needs_the_feature() {
    let output = posd_scan(&["--camera"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("`camera` feature"), "{stderr}");
}
