//! Orders that need a person, resolved through the real daemon's socket against the gateway
//! simulator: the gateway is asked once more, a resolution it contradicts is refused, a gateway
//! that cannot say refuses it unless forced, and the audit stays with the order across a restart,
//! in the export and in `posd orders show`.

mod support;

use hyper::{Method, StatusCode};
use posd::local_client::LocalClient;
use posd::sim::faults::Faults;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{Daemon, simulator, wait_final};

/// A daemon that gives an unsettled charge up to a person after 2 s.
async fn impatient_daemon(dir: &std::path::Path, sim: &posd::sim::RunningSim) -> Daemon {
    let mut env = Daemon::env_for(dir, &sim.url(), sim.ca_pem().unwrap());
    support::set_env(&mut env, "POSD_POLICY_MAX_AGE_SECS", "2");
    let daemon = Daemon::start(dir, env);
    daemon.ready().await;
    daemon
}

/// Charges `code` as order `id` and waits until it needs a person.
async fn needing_attention(client: &LocalClient, id: &str, code: &str) -> Value {
    let mut charge = support::latte(150);
    charge["order_id"] = json!(id);
    charge["payment_code"] = json!(code);
    let (status, answer) = client
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let order = wait_final(client, id, Duration::from_secs(20)).await;
    assert_eq!(order["state"], "needs_attention", "{order}");
    order
}

async fn resolve(client: &LocalClient, id: &str, body: Value) -> (StatusCode, Value) {
    client
        .request(
            Method::POST,
            &format!("/v1/charges/{id}/resolve"),
            Some(&body),
        )
        .await
        .unwrap()
}

async fn health(client: &LocalClient) -> Value {
    let (status, health) = client
        .request(Method::GET, "/v1/health", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    health
}

async fn order(client: &LocalClient, id: &str) -> Value {
    let (status, order) = client
        .request(Method::GET, &format!("/v1/charges/{id}"), None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{order}");
    order
}

/// Polls until `done` holds for the order.
async fn order_until(client: &LocalClient, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let order = order(client, id).await;
        if done(&order) {
            return order;
        }
        assert!(Instant::now() < deadline, "not in time: {order}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs the `posd` CLI off the test's runtime, which also runs the simulator the daemon asks.
async fn posd(args: &[&str]) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_posd"))
            .args(args)
            .env_remove("POSD_SOCKET")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn message(answer: &Value) -> &str {
    answer["error"]["message"].as_str().unwrap_or_default()
}

/// Every answer of the charge was lost (the gateway committed it): the order needs a person.
/// `not_paid` is refused while the gateway still cannot be asked, then refused again once the
/// gateway shows the charge paid; `paid` stands, the receipt prints with the gateway's e-invoice,
/// and the audit outlives a restart.
#[tokio::test]
async fn a_lost_payment_is_resolved_paid_and_its_receipt_prints() {
    let sim = simulator(Faults {
        drop_after_commit: 1.0,
        ..Faults::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = impatient_daemon(dir.path(), &sim).await;
    let client = daemon.client();
    let events = support::collect_events(&dir.path().join("posd.sock")).await;

    needing_attention(&client, "LOST-PAID", "MY13697573pbmQsLp1").await;
    assert_eq!(health(&client).await["queue"]["needs_attention"], 1);
    assert_eq!(sim.ledger().len(), 1, "the gateway holds the charge");

    let (status, refused) = resolve(
        &client,
        "LOST-PAID",
        json!({"resolution": "not_paid", "by": "店長 王"}),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{refused}");
    assert_eq!(refused["error"]["field"], "resolution");
    assert!(message(&refused).contains("force"), "{refused}");

    sim.set_faults(Faults::default()).unwrap();
    let (status, refused) = resolve(
        &client,
        "LOST-PAID",
        json!({"resolution": "not_paid", "by": "店長 王"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        message(&refused).contains("250") && message(&refused).contains("not_paid"),
        "the gateway's answer is shown: {refused}"
    );
    let held = order(&client, "LOST-PAID").await;
    assert_eq!(held["state"], "needs_attention");
    assert_eq!(held["gateway"]["code"], "250", "the answer is recorded");

    let (status, resolved) = resolve(
        &client,
        "LOST-PAID",
        json!({"resolution": "paid", "by": "店長 王", "note": "客人手機顯示付款成功"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(resolved["order"]["state"], "paid");
    assert_eq!(resolved["receipt"]["printing"], true);
    let audit = &resolved["order"]["resolution"];
    assert_eq!(audit["resolved_as"], "paid");
    assert_eq!(audit["by"], "店長 王");
    assert_eq!(audit["note"], "客人手機顯示付款成功");
    assert_eq!(
        audit["gateway"],
        json!({"outcome": "found", "code": "250", "msg": "執行成功。"})
    );
    assert!(audit.get("forced").is_none());

    let printed = order_until(&client, "LOST-PAID", |o| {
        o["receipt"]["status"]["status"] == "printed"
    })
    .await;
    let paper = support::read_receipt(&std::fs::read(dir.path().join("printer.bin")).unwrap());
    assert_eq!(
        paper.left_qr,
        printed["gateway"]["invoice_left_qrcode"].as_str().unwrap()
    );
    assert_eq!(
        paper.code39,
        printed["gateway"]["invoice_middle_barcode"]
            .as_str()
            .unwrap()
    );
    assert_eq!(health(&client).await["queue"]["needs_attention"], 0);
    let kinds = support::kinds(&events);
    for kind in ["needs_attention", "resolved", "printed"] {
        assert!(kinds.contains(&kind.to_owned()), "{kind} not in {kinds:?}");
    }
    let resolved_event = events
        .lock()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "resolved")
        .cloned()
        .unwrap();
    assert_eq!(resolved_event["order_id"], "LOST-PAID");
    assert_eq!(resolved_event["detail"], "paid by 店長 王");
    assert_eq!(resolved_event["waiting_for_a_person"], 0);
    let waiting = events
        .lock()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "needs_attention")
        .cloned()
        .unwrap();
    assert_eq!(waiting["waiting_for_a_person"], 1, "{waiting}");

    daemon.restart();
    daemon.ready().await;
    let client = daemon.client();
    let after = order(&client, "LOST-PAID").await;
    assert_eq!(after["state"], "paid");
    assert_eq!(after["resolution"], printed["resolution"]);
    assert_eq!(after["receipt"], printed["receipt"], "not printed twice");
    let (status, export) = client
        .request_raw(Method::GET, "/v1/orders/export", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    let line: Value = std::str::from_utf8(&export)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|o| o["order_id"] == "LOST-PAID")
        .unwrap();
    assert_eq!(line["resolution"], printed["resolution"]);
    let socket = dir.path().join("posd.sock");
    let shown = posd(&[
        "orders",
        "show",
        "LOST-PAID",
        "--socket",
        socket.to_str().unwrap(),
    ])
    .await;
    assert!(shown.status.success());
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["resolution"], printed["resolution"]);
    assert_eq!(sim.ledger()[0].requests, 1, "charged once");

    // The shift in which it was resolved lists the resolution with its audit.
    let (status, report) = client
        .request(
            Method::POST,
            "/v1/shifts/close",
            Some(&json!({"force": true})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED, "{report}");
    let resolved = report["resolved"].as_array().unwrap();
    assert_eq!(resolved.len(), 1, "{report}");
    assert_eq!(resolved[0]["order_id"], "LOST-PAID");
    assert_eq!(resolved[0]["state"], "paid");
    assert_eq!(resolved[0]["resolution"], printed["resolution"]);
}

/// A declined charge whose answer was lost cannot be resolved as paid; `posd orders resolve` takes
/// it as not paid. A gateway that is down refuses a resolution unless it is forced; forced, the
/// audit says so, and with no e-invoice known the answer says no receipt prints.
#[tokio::test]
async fn a_contradicted_resolution_is_refused_and_a_forced_one_is_recorded() {
    let sim = simulator(Faults {
        drop_after_commit: 1.0,
        ..Faults::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let daemon = impatient_daemon(dir.path(), &sim).await;
    let client = daemon.client();
    let socket = dir.path().join("posd.sock");
    let socket = socket.to_str().unwrap();

    needing_attention(&client, "LOST-DECLINED", "MY13697573pbmQs300").await;
    sim.set_faults(Faults {
        http_5xx: 1.0,
        ..Faults::default()
    })
    .unwrap();
    needing_attention(&client, "LOST-UNKNOWN", "MY13697573pbmQsLu1").await;
    assert_eq!(health(&client).await["queue"]["needs_attention"], 2);

    sim.set_faults(Faults::default()).unwrap();
    let (status, refused) = resolve(
        &client,
        "LOST-DECLINED",
        json!({"resolution": "paid", "by": "值班"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(message(&refused).contains("300"), "{refused}");

    let out = posd(&[
        "orders",
        "resolve",
        "LOST-DECLINED",
        "--as",
        "not_paid",
        "--by",
        "值班",
        "--note",
        "錢包顯示失敗",
        "--socket",
        socket,
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["order"]["state"], "not_paid");
    assert_eq!(answer["receipt"]["printing"], false);
    assert_eq!(answer["order"]["resolution"]["gateway"]["outcome"], "found");
    assert_eq!(answer["order"]["resolution"]["gateway"]["code"], "300");

    // The gateway goes down again: nobody can say how LOST-UNKNOWN stands.
    sim.set_faults(Faults {
        http_5xx: 1.0,
        ..Faults::default()
    })
    .unwrap();
    let (status, refused) = resolve(
        &client,
        "LOST-UNKNOWN",
        json!({"resolution": "paid", "by": "值班"}),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{refused}");
    let (status, resolved) = resolve(
        &client,
        "LOST-UNKNOWN",
        json!({"resolution": "paid", "by": "值班", "note": "看過客人付款畫面", "force": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    let audit = &resolved["order"]["resolution"];
    assert_eq!(audit["forced"], true);
    assert_eq!(audit["gateway"]["outcome"], "unanswered");
    assert!(
        audit["gateway"]["why"].as_str().unwrap().contains("502"),
        "{audit}"
    );
    assert_eq!(resolved["receipt"]["printing"], false);
    assert!(
        resolved["receipt"]["message"]
            .as_str()
            .unwrap()
            .contains("no e-invoice"),
        "{resolved}"
    );
    assert_eq!(
        resolved["order"]["receipt"]["status"]["status"],
        "not_needed"
    );
    assert_eq!(health(&client).await["queue"]["needs_attention"], 0);

    // Only an order that needs a person can be resolved; bad input is named.
    let (status, refused) = resolve(
        &client,
        "LOST-UNKNOWN",
        json!({"resolution": "not_paid", "by": "值班"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(message(&refused).contains("it is paid"), "{refused}");
    for (body, field) in [
        (json!({"resolution": "maybe", "by": "值班"}), "resolution"),
        (json!({"resolution": "paid"}), "by"),
        (json!({"resolution": "paid", "by": ""}), "by"),
        (json!({"resolution": "paid", "by": "x".repeat(65)}), "by"),
        (
            json!({"resolution": "paid", "by": "值班", "note": "x".repeat(501)}),
            "note",
        ),
        (
            json!({"resolution": "paid", "by": "值班", "who": "x"}),
            "who",
        ),
    ] {
        let (status, refused) = resolve(&client, "LOST-UNKNOWN", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(refused["error"]["field"], field, "{refused}");
    }
    let (status, _) = resolve(
        &client,
        "NO-SUCH",
        json!({"resolution": "paid", "by": "值班"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
