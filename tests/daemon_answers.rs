//! What the daemon concludes from the gateway's answers, through the real daemon against the
//! simulator: an odd field elsewhere in a paid answer does not hide the payment, another till's
//! charge under the same order id is never taken for this one, and tills name their orders apart
//! without being configured to.

mod support;

use hyper::{Method, StatusCode};
use posd::sim::faults::Faults;
use serde_json::json;
use std::time::Duration;
use support::{Daemon, simulator, wait_final};

/// A paid answer whose `actual_cost` has a fraction (a receipt-only field the answer's table
/// does not allow), in the transaction's answer and in every query row: the charge is paid, once,
/// and its receipt prints.
#[tokio::test]
async fn an_odd_field_elsewhere_in_a_paid_answer_does_not_hide_the_payment() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::serving(dir.path(), &sim).await;
    let client = daemon.client();
    let mut charge = support::latte(150);
    charge["payment_code"] = json!("MY13697573pbmQs204");
    let (status, order) = client
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let id = order["order_id"].as_str().unwrap();
    let order = wait_final(&client, id, Duration::from_secs(15)).await;
    assert_eq!(order["state"], "paid", "{order}");
    assert_eq!(order["attempts"], 1);
    assert_eq!(order["gateway"]["actual_cost"], "150.5");
    let ledger = sim.ledger();
    assert_eq!((ledger.len(), ledger[0].requests), (1, 1), "{ledger:?}");

    // The same answer, reached by reconciliation after it was lost.
    sim.set_faults(Faults {
        drop_after_commit: 1.0,
        max_faults: Some(1),
        ..Faults::default()
    })
    .unwrap();
    charge["payment_code"] = json!("MY23697573pbmQs204");
    let (_, order) = client
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .unwrap();
    let id = order["order_id"].as_str().unwrap();
    let order = wait_final(&client, id, Duration::from_secs(15)).await;
    assert_eq!(order["state"], "paid", "{order}");
    assert_eq!(order["attempts"], 1, "reconciled, not resent: {order}");
}

/// Twin tills: two daemons, each given order id `SHARED-1` by its POS app. The first is paid 250.
/// The second's answer for 150 is lost; the query finds the first till's row under the same id,
/// for another amount: that is not this charge, so it is not "found" paid.
#[tokio::test]
async fn another_tills_charge_under_the_same_order_id_is_not_taken_for_this_one() {
    let sim = simulator(Faults::default()).await;
    let first_dir = tempfile::tempdir().unwrap();
    let second_dir = tempfile::tempdir().unwrap();
    let first = Daemon::serving(first_dir.path(), &sim).await;
    let second = Daemon::serving(second_dir.path(), &sim).await;

    let mut charge = support::latte(250);
    charge["order_id"] = json!("SHARED-1");
    charge["payment_code"] = json!("MY13697573pbmQsYh1");
    let (status, _) = first
        .client()
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED);
    let paid = wait_final(&first.client(), "SHARED-1", Duration::from_secs(15)).await;
    assert_eq!(paid["state"], "paid");

    sim.set_faults(Faults {
        drop_after_commit: 1.0,
        max_faults: Some(1),
        ..Faults::default()
    })
    .unwrap();
    let mut charge = support::latte(150);
    charge["order_id"] = json!("SHARED-1");
    charge["payment_code"] = json!("MY13697573pbmQsYh2");
    let (status, _) = second
        .client()
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED);
    let order = wait_final(&second.client(), "SHARED-1", Duration::from_secs(20)).await;
    assert_ne!(
        order["state"], "paid",
        "another till's payment was taken: {order}"
    );
    assert_eq!(order["state"], "rejected", "{order}");
    let ledger = sim.ledger();
    assert_eq!(ledger.len(), 1, "{ledger:?}");
    assert_eq!(ledger[0].cost, 250);
}

/// With no device id configured, each till makes its own at the first start and keeps it across
/// restarts; order ids made after a restart never repeat earlier ones.
#[tokio::test]
async fn tills_name_their_orders_apart_without_configuration() {
    let sim = simulator(Faults::default()).await;
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut tills: Vec<Daemon> = Vec::new();
    for dir in &dirs {
        let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
        env.retain(|(key, _)| key != "POSD_DEVICE_ID");
        let till = Daemon::start(dir.path(), env);
        till.ready().await;
        tills.push(till);
    }
    let charge = json!({"amount": 60});
    let mut ids = Vec::new();
    for till in &tills {
        let (status, order) = till
            .client()
            .request(Method::POST, "/v1/charges", Some(&charge))
            .await
            .unwrap();
        assert_eq!(status, StatusCode::CREATED, "{order}");
        ids.push(order["order_id"].as_str().unwrap().to_owned());
    }
    let device = |id: &str| id.split('-').next().unwrap().to_owned();
    assert_ne!(device(&ids[0]), device(&ids[1]), "{ids:?}");
    let kept = std::fs::read_to_string(dirs[0].path().join("data/device-id")).unwrap();
    assert_eq!(kept.trim(), device(&ids[0]));

    tills[0].restart();
    tills[0].ready().await;
    let (_, order) = tills[0]
        .client()
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .unwrap();
    let after = order["order_id"].as_str().unwrap();
    assert_eq!(
        device(after),
        device(&ids[0]),
        "the name survives a restart"
    );
    let stamp = |id: &str| id.split('-').nth(1).unwrap().parse::<u64>().unwrap();
    assert!(stamp(after) > stamp(&ids[0]), "{after} after {}", ids[0]);
}

/// An account whose answers say `invoice_print_device` 0 (the merchant handles printing): posd is
/// that merchant's system, so it prints the proof by default; `printer.print_device_0 = "hold"`
/// prints it only when a reprint is asked for.
#[tokio::test]
async fn invoice_print_device_0_prints_unless_held_by_configuration() {
    use posd::api::values::InvoicePrintDevice;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = posd::sim::SimConfig::new(
        support::AGENT_UID,
        posd::envelope::AgentKey::new(support::KEY).unwrap(),
        support::STORE,
    );
    config.store.print_device = InvoicePrintDevice::Merchant;
    let sim = posd::sim::start(config, listener).await.unwrap();

    for (setting, printed) in [(None, true), (Some("hold"), false)] {
        let dir = tempfile::tempdir().unwrap();
        let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
        if let Some(setting) = setting {
            env.push(("POSD_PRINT_DEVICE_0".into(), setting.into()));
        }
        let daemon = Daemon::start(dir.path(), env);
        daemon.ready().await;
        let client = daemon.client();
        let mut charge = support::latte(60);
        charge["payment_code"] = json!(format!("MY13697573pbmQs{}", u8::from(printed)));
        let (_, order) = client
            .request(Method::POST, "/v1/charges", Some(&charge))
            .await
            .unwrap();
        let id = order["order_id"].as_str().unwrap().to_owned();
        let order = wait_final(&client, &id, Duration::from_secs(15)).await;
        assert_eq!(order["gateway"]["invoice_print_device"], 0, "{order}");
        let receipt = loop {
            let (_, order) = client
                .request(Method::GET, &format!("/v1/charges/{id}"), None)
                .await
                .unwrap();
            let status = order["receipt"]["status"]["status"].clone();
            if status != "pending" {
                break status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let paper = std::fs::read(dir.path().join("printer.bin")).unwrap_or_default();
        if printed {
            assert_eq!(receipt, "printed");
            assert!(!paper.is_empty());
        } else {
            assert_eq!(receipt, "not_needed");
            assert!(paper.is_empty());
            // Asked for, it prints, marked as a reprint.
            let (status, _) = client
                .request(Method::POST, &format!("/v1/charges/{id}/reprint"), None)
                .await
                .unwrap();
            assert_eq!(status, StatusCode::OK);
            let deadline = std::time::Instant::now() + Duration::from_secs(15);
            while std::fs::metadata(dir.path().join("printer.bin")).map_or(0, |m| m.len()) == 0 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the reprint did not print"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
