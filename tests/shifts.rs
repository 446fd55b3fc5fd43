//! Shifts end to end: the real daemon over its Unix socket against the gateway simulator takes a
//! day of charges (paid, declined, one that needs a person, one left open), closes the shift,
//! and the report's figures, its printout read back from the ESC/POS bytes, the refusals, the
//! next shift and a restart are checked. The app printer link holds the report while the paper
//! is out, across a restart, like a receipt.

mod support;

use base64::Engine as _;
use hyper::{Method, StatusCode};
use posd::escpos::{interpret, native_encoding};
use posd::local_client::LocalClient;
use posd::sim::faults::Faults;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{Daemon, LateGateway, simulator, wait_final};

const MYPAY: &str = "MY13697573pbmQsYhY";
const MYPAY_UNANSWERED: &str = "MY24697573pbmQsYhY";
const MYPAY_DECLINED: &str = "MY12345678abcde300";
const JKOPAY: &str = "221234567890ABCDEF";

async fn charge(client: &LocalClient, id: &str, amount: u64, code: Option<&str>) {
    let mut body = support::latte(amount);
    body["order_id"] = json!(id);
    if let Some(code) = code {
        body["payment_code"] = json!(code);
    }
    let (status, answer) = client
        .request(Method::POST, "/v1/charges", Some(&body))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

async fn close(client: &LocalClient, body: Option<Value>) -> (StatusCode, Value) {
    client
        .request(Method::POST, "/v1/shifts/close", body.as_ref())
        .await
        .unwrap()
}

async fn get(client: &LocalClient, path: &str) -> (StatusCode, Value) {
    client.request(Method::GET, path, None).await.unwrap()
}

/// Polls `path` until `done` holds for its answer.
async fn wait_for(client: &LocalClient, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, answer) = get(client, path).await;
        assert!(status.is_success(), "{path}: {status}: {answer}");
        if done(&answer) {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never got there: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn printed(answer: &Value) -> bool {
    answer["receipt"]["status"]["status"] == "printed" || answer["print"]["status"] == "printed"
}

/// The report without where its printout stands, which alone may move on after the close.
fn stored_part(report: &Value) -> Value {
    let mut report = report.clone();
    report.as_object_mut().unwrap().remove("print");
    report
}

fn refused(answer: &Value, field: &str) {
    assert_eq!(answer["error"]["field"], field, "{answer}");
    assert!(answer["error"]["message"].is_string(), "{answer}");
}

fn text_after(lines: &[String], title: &str) -> Vec<String> {
    let start = lines
        .iter()
        .rposition(|l| l == title)
        .unwrap_or_else(|| panic!("no {title} on the paper: {lines:#?}"));
    lines[start..].to_vec()
}

fn line_with<'a>(lines: &'a [String], start: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting {start:?} in {lines:#?}"))
}

#[tokio::test]
async fn a_day_closes_into_a_report_that_prints_and_outlives_a_restart() {
    let gateway = LateGateway::new();
    let dir = tempfile::tempdir().unwrap();
    let mut env = Daemon::env_for(dir.path(), &gateway.url, gateway.ca_pem());
    // One attempt each: the charge taken while the gateway is down goes to a person at once.
    support::set_env(&mut env, "POSD_POLICY_MAX_ATTEMPTS", "1");
    // An 80 mm printer whose text is the printer's own (Big5), so the paper reads back as text.
    let profile = dir.path().join("80mm-file.toml");
    std::fs::write(
        &profile,
        "name = \"80 mm, Big5, to a file\"\n[printer]\nwidth_dots = 576\ndots_per_mm = 8\n\
         encoding = \"big5\"\ncode39_module_widths = [2, 3]\ntwo_way = false\ncut = true\n\
         [printer.transport.file]\npath = \"/dev/usb/lp0\"\n",
    )
    .unwrap();
    support::set_env(&mut env, "POSD_PROFILE", profile.display().to_string());
    let mut daemon = Daemon::start(dir.path(), env);
    daemon.ready().await;
    let client = daemon.client();

    charge(&client, "S-ATTN", 90, Some(MYPAY_UNANSWERED)).await;
    let attention = wait_final(&client, "S-ATTN", Duration::from_secs(10)).await;
    assert_eq!(attention["state"], "needs_attention", "{attention}");
    let _sim = gateway.come_up().await;
    charge(&client, "S-PAID-1", 150, Some(MYPAY)).await;
    charge(&client, "S-PAID-2", 60, Some(JKOPAY)).await;
    charge(&client, "S-DECL", 80, Some(MYPAY_DECLINED)).await;
    charge(&client, "S-OPEN", 70, None).await;
    for (id, state) in [
        ("S-PAID-1", "paid"),
        ("S-PAID-2", "paid"),
        ("S-DECL", "declined"),
    ] {
        let order = wait_final(&client, id, Duration::from_secs(10)).await;
        assert_eq!(order["state"], state, "{order}");
    }
    wait_for(&client, "/v1/charges/S-PAID-1", printed).await;
    wait_for(&client, "/v1/charges/S-PAID-2", printed).await;
    let (status, _) = client
        .request(Method::POST, "/v1/charges/S-PAID-1/reprint", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    wait_for(&client, "/v1/charges/S-PAID-1", printed).await;

    // Refusals name what was wrong, and close nothing.
    let (status, answer) = close(&client, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    refused(&answer, "force");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("S-OPEN"),
        "{answer}"
    );
    let (status, answer) = close(&client, Some(json!({"forse": true}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    refused(&answer, "forse");
    let (status, answer) = close(&client, Some(json!({"force": "yes"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    refused(&answer, "force");
    for bad in ["abc", "0", "-1"] {
        let (status, answer) = get(&client, &format!("/v1/shifts/{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {answer}");
        refused(&answer, "id");
    }
    let (status, answer) = get(&client, "/v1/shifts/1").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert_eq!(get(&client, "/v1/shifts").await.1, json!([]));

    let (status, first) = close(&client, Some(json!({"force": true}))).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["shift_id"], 1);
    assert_eq!(first["opened_at"], Value::Null);
    assert_eq!(first["forced"], true);
    assert_eq!(first["orders"], json!({"count": 4, "amount": 380}));
    assert_eq!(first["taken"], json!({"count": 2, "amount": 210}));
    assert_eq!(
        first["by_state"],
        json!([
            {"state": "paid", "count": 2, "amount": 210},
            {"state": "declined", "count": 1, "amount": 80},
            {"state": "needs_attention", "count": 1, "amount": 90},
        ])
    );
    assert_eq!(
        first["by_wallet"],
        json!([
            {"wallet": "JKOPay", "count": 1, "amount": 60},
            {"wallet": "MyPay", "count": 1, "amount": 150},
        ])
    );
    let invoices = &first["invoices"];
    assert_eq!(invoices["count"], 2, "{first}");
    assert_eq!(invoices["total_amount"], 210);
    assert_eq!(
        invoices["sales_amount"].as_u64().unwrap() + invoices["tax_amount"].as_u64().unwrap(),
        210
    );
    let track = &invoices["tracks"][0];
    assert_eq!(invoices["tracks"].as_array().unwrap().len(), 1);
    assert_eq!(track["count"], 2);
    let (first_no, last_no) = (
        track["first"].as_str().unwrap(),
        track["last"].as_str().unwrap(),
    );
    let number = |n: &str| n[3..].parse::<u64>().unwrap();
    assert_eq!(number(last_no), number(first_no) + 1, "{track}");
    for id in ["S-PAID-1", "S-PAID-2"] {
        let (_, order) = get(&client, &format!("/v1/charges/{id}")).await;
        let issued = format!(
            "{}-{}",
            order["gateway"]["invoice_wordtrack"].as_str().unwrap(),
            order["gateway"]["invoice_number"].as_str().unwrap()
        );
        assert!(issued == first_no || issued == last_no, "{issued} {track}");
    }
    assert_eq!(first["reprints"], 1);
    assert_eq!(first["unprinted"], json!([]));
    assert_eq!(first["unfinished"].as_array().unwrap().len(), 1);
    assert_eq!(first["unfinished"][0]["order_id"], "S-OPEN");
    assert_eq!(first["unfinished"][0]["state"], "awaiting_payment_code");
    assert_eq!(first["needs_attention"].as_array().unwrap().len(), 1);
    assert_eq!(first["needs_attention"][0]["order_id"], "S-ATTN");
    assert!(
        first["needs_attention"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("no attempt went through"),
        "{first}"
    );
    let text = first.to_string();
    for code in [MYPAY, MYPAY_UNANSWERED, MYPAY_DECLINED, JKOPAY] {
        assert!(!text.contains(code), "a payment code in the report: {text}");
    }

    // The report on paper, read back from the bytes the printer got.
    let shift_one = wait_for(&client, "/v1/shifts/1", printed).await;
    assert_eq!(stored_part(&shift_one), stored_part(&first));
    let paper = std::fs::read(dir.path().join("printer.bin")).unwrap();
    let preview = interpret(
        &paper,
        576,
        native_encoding(posd::profile::TextEncoding::Big5),
    )
    .unwrap();
    assert!(preview.overflows.is_empty(), "{:?}", preview.overflows);
    let lines = text_after(&preview.text_lines, "交班報表");
    assert!(lines.contains(&"班別 1".to_owned()), "{lines:#?}");
    assert!(line_with(&lines, "開班").ends_with("首班"));
    assert!(lines.iter().any(|l| l.starts_with("強制交班")));
    assert!(line_with(&lines, "訂單").ends_with("4 筆  380 元"));
    assert!(line_with(&lines, "收款").ends_with("2 筆  210 元"));
    assert!(line_with(&lines, "拒絕").ends_with("1 筆  80 元"));
    assert!(line_with(&lines, "JKOPay").ends_with("1 筆  60 元"));
    assert!(line_with(&lines, "MyPay").ends_with("1 筆  150 元"));
    assert!(line_with(&lines, "開立張數").ends_with('2'));
    for (mark, number) in [("起", first_no), ("迄", last_no)] {
        assert!(
            lines
                .iter()
                .any(|l| l.trim_start().starts_with(mark) && l.ends_with(number)),
            "{mark} {number}: {lines:#?}"
        );
    }
    assert!(line_with(&lines, "補印").ends_with('1'));
    assert!(line_with(&lines, "未列印").ends_with('0'));
    assert!(lines.contains(&"S-OPEN".to_owned()), "{lines:#?}");
    assert!(lines.contains(&"S-ATTN".to_owned()), "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.contains("no attempt went through")),
        "{lines:#?}"
    );

    // The next shift holds only what became final after the close, and the order left open.
    let (status, _) = client
        .request(
            Method::POST,
            "/v1/charges/S-OPEN/payment-code",
            Some(&json!({"payment_code": "MY87654321wxyzABCD"})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    charge(&client, "S-NEXT", 40, Some("22ZYXWVUTS98765432")).await;
    for id in ["S-OPEN", "S-NEXT"] {
        assert_eq!(
            wait_final(&client, id, Duration::from_secs(10)).await["state"],
            "paid"
        );
    }
    let (status, second) = close(&client, Some(json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["shift_id"], 2);
    assert_eq!(second["opened_at"], first["closed_at"]);
    assert_eq!(second["forced"], false);
    assert_eq!(second["orders"], json!({"count": 2, "amount": 110}));
    assert_eq!(
        second["by_wallet"],
        json!([
            {"wallet": "JKOPay", "count": 1, "amount": 40},
            {"wallet": "MyPay", "count": 1, "amount": 70},
        ])
    );
    assert_eq!(second["unfinished"], json!([]));
    assert_eq!(second["needs_attention"], json!([]));
    assert_eq!(second["reprints"], 0);
    let (status, third) = close(&client, None).await;
    assert_eq!(status, StatusCode::CREATED, "{third}");
    assert_eq!(third["shift_id"], 3);
    assert_eq!(third["orders"], json!({"count": 0, "amount": 0}));
    assert_eq!(third["by_state"], json!([]));
    wait_for(&client, "/v1/shifts/3", printed).await;

    // Stored for good: the same reports after a restart.
    let (_, before) = get(&client, "/v1/shifts").await;
    daemon.restart();
    daemon.ready().await;
    let client = daemon.client();
    let (status, after) = get(&client, "/v1/shifts").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after, before);
    assert_eq!(after.as_array().unwrap().len(), 3);
    let (_, again) = get(&client, "/v1/shifts/1").await;
    assert_eq!(stored_part(&again), stored_part(&first));

    // The command line exports the same JSON, and shows the last shift by default.
    let posd = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_posd"))
            .args(args)
            .arg("--socket")
            .arg(dir.path().join("posd.sock"))
            .env_remove("POSD_CONFIG")
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let exported: Value = serde_json::from_str(&posd(&["shift", "show", "1", "--json"])).unwrap();
    assert_eq!(exported, again);
    let shown = posd(&["shift", "show"]);
    assert!(shown.starts_with("shift 3 closed"), "{shown}");
    let listed = posd(&["shift", "list"]);
    assert_eq!(listed.lines().count(), 3, "{listed}");
    let closed = posd(&["shift", "close", "--json"]);
    let fourth: Value = serde_json::from_str(&closed).unwrap();
    assert_eq!(fourth["shift_id"], 4);
}

/// On the app printer link the report is a job in the app's queue, held while the paper is out,
/// kept across a restart, and recorded as printed when the app says so.
#[tokio::test]
async fn the_report_waits_out_paper_out_on_the_app_link() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    env.retain(|(key, _)| key != "POSD_PRINTER_DEVICE");
    support::set_env(&mut env, "POSD_PROFILE", "sunmi-v2-pro");
    let mut daemon = Daemon::start(dir.path(), env);
    daemon.ready().await;
    let client = daemon.client();
    let out_of_paper = json!({"state": 4});
    let (status, _) = client
        .request(Method::PUT, "/v1/printer/state", Some(&out_of_paper))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);

    let (status, report) = close(&client, None).await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    assert_eq!(report["print"]["status"], "pending");
    let (status, _) = get(&client, "/v1/print-jobs/next?wait=1").await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "held while the paper is out"
    );

    daemon.restart();
    daemon.ready().await;
    let client = daemon.client();
    let (status, job) = get(&client, "/v1/print-jobs/next?wait=5").await;
    assert_eq!(status, StatusCode::OK, "{job}");
    assert_eq!(job["kind"], "shift_report");
    assert_eq!(job["order_id"], Value::Null);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(job["bytes"].as_str().unwrap())
        .unwrap();
    let profile = posd::daemon::printing::load_profile("sunmi-v2-pro").unwrap();
    let paper = interpret(
        &bytes,
        profile.printer.width_dots,
        native_encoding(profile.printer.encoding),
    )
    .unwrap();
    assert!(paper.overflows.is_empty(), "{:?}", paper.overflows);
    assert!(
        paper.text_lines.iter().any(|l| l == "交班報表"),
        "{:?}",
        paper.text_lines
    );
    assert!(paper.text_lines.iter().any(|l| l == "班別 1"));

    let (status, answer) = client
        .request(
            Method::POST,
            &format!("/v1/print-jobs/{}/result", job["job_id"].as_str().unwrap()),
            Some(&json!({"outcome": "printed"})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, shift) = get(&client, "/v1/shifts/1").await;
    assert_eq!(shift["print"]["status"], "printed", "{shift}");
    assert_eq!(stored_part(&shift), stored_part(&report));
}

/// On 80 mm paper the report is laid out for 576 dots and every line fits.
#[test]
fn the_report_fits_80_mm_paper() {
    use posd::shift::{ReportBuilder, layout};
    let report = ReportBuilder::new(None, posd::order::Timestamp::from_millis(0), false).finish();
    let profile = posd::daemon::printing::load_profile("generic-80mm").unwrap();
    let blocks = layout::blocks(&report, profile.printer.width_dots);
    let bytes = posd::escpos::encode(
        &blocks,
        &posd::escpos::EncodeOptions {
            width_dots: profile.printer.width_dots,
            encoding: profile.printer.encoding,
            cut: false,
        },
    )
    .unwrap()
    .bytes;
    let paper = interpret(
        &bytes,
        profile.printer.width_dots,
        native_encoding(profile.printer.encoding),
    )
    .unwrap();
    assert!(paper.overflows.is_empty(), "{:?}", paper.overflows);
    assert_eq!(profile.printer.width_dots, 576);
    let heading = paper
        .text_lines
        .iter()
        .find(|l| l.starts_with('-'))
        .unwrap();
    assert_eq!(heading.len(), 48);
}
