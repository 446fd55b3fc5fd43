//! `posd demo`: the whole charge on embedded defaults, as a newcomer's first command: the daemon
//! with its built-in gateway simulator (over TLS), a scan of the sample payment code, the charge,
//! and the e-invoice printed to a file printer with a PNG preview.

use super::Exit;
use crate::config::Config;
use crate::daemon;
use crate::local_client::LocalClient;
use hyper::Method;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// Where the demo keeps its orders, receipts and previews (default: a new temporary folder).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

pub async fn run(args: Args) -> Exit {
    match demo(args).await {
        Ok(()) => Exit::Ok,
        Err(e) => {
            eprintln!("posd: demo failed: {e}");
            Exit::Failed
        }
    }
}

async fn demo(args: Args) -> Result<(), String> {
    let data_dir = args
        .data_dir
        .unwrap_or_else(|| std::env::temp_dir().join(format!("posd-demo-{}", std::process::id())));
    let mut config = Config::default();
    config.daemon.data_dir = Some(data_dir.clone());
    let running = daemon::start(config, false, |_| None)
        .await
        .map_err(|e| e.to_string())?;
    let client = LocalClient::new(&running.paths.socket);
    outln!("1. daemon listening on {}", running.paths.socket.display());
    if let Some(simulator) = running.simulator() {
        outln!(
            "   gateway: built-in simulator at {} (TLS, its own CA)",
            simulator.url()
        );
    }

    let charge = json!({
        "amount": 150,
        "items": [
            {"id": "LATTE", "name": "拿鐵咖啡", "unit_price": 60, "quantity": 2},
            {"id": "CROISSANT", "name": "可頌", "unit_price": 30, "quantity": 1}
        ]
    });
    let (status, order) = client
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("the charge was refused: {order}"));
    }
    let id = order["order_id"].as_str().unwrap_or_default().to_owned();
    outln!("2. charge of 150 TWD stored durably as order {id}");
    outln!("3. scanning the sample payment code (receipts/scan/mypay-payment-code.jpg)");

    let order = wait(&client, &id, |o| {
        o["state"] != "awaiting_payment_code"
            && o["state"] != "waiting_to_send"
            && o["state"] != "sending"
            && o["state"] != "reconciling"
    })
    .await?;
    let state = order["state"].as_str().unwrap_or_default();
    outln!(
        "4. gateway answered {} → order {state}",
        order["gateway"]["code"].as_str().unwrap_or("-")
    );
    if state != "paid" {
        return Err(format!("the order ended {state}"));
    }
    outln!(
        "   e-invoice {}-{}, random code {}",
        order["gateway"]["invoice_wordtrack"].as_str().unwrap_or(""),
        order["gateway"]["invoice_number"].as_str().unwrap_or(""),
        order["gateway"]["invoice_rand_code"].as_str().unwrap_or("")
    );
    wait(&client, &id, |o| {
        o["receipt"]["status"]["status"] == "printed"
    })
    .await?;
    let preview = running
        .paths
        .data_dir
        .join("previews")
        .join(format!("{id}-0.png"));
    outln!(
        "5. receipt printed to {} (ESC/POS bytes)",
        running.paths.data_dir.join("printer.bin").display()
    );
    outln!("   preview drawn from those bytes: {}", preview.display());
    running.shutdown();
    Ok(())
}

async fn wait(
    client: &LocalClient,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Result<Value, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, order) = client
            .request(Method::GET, &format!("/v1/charges/{id}"), None)
            .await
            .map_err(|e| e.to_string())?;
        if done(&order) {
            return Ok(order);
        }
        if Instant::now() > deadline {
            return Err(format!("order {id} is still {}", order["state"]));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
