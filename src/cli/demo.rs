//! `posd demo`: a sample charge against an in-process simulator, over real TLS, step by step.

use super::Exit;
use super::gateway_sim::{SAMPLE_AGENT_KEY, SAMPLE_AGENT_UID, SAMPLE_STORE_UID};
use crate::api::{PaymentCode, QueryDirectRequest, TransactionRequest};
use crate::charge::{Charge, InvoiceOptions, Item};
use crate::envelope::AgentKey;
use crate::gateway::{Client, GatewayConfig, Outcome};
use crate::sim::{self, SimConfig};
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// The payment code to charge; its last three characters choose the simulator's answer
    /// (see `posd gateway-sim --help`).
    #[arg(long, default_value = "MY13697573pbmQsYhY")]
    code: String,
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
    let key = AgentKey::new(SAMPLE_AGENT_KEY).map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen on loopback: {e}"))?;
    let simulator = sim::start(
        SimConfig::new(SAMPLE_AGENT_UID, key.clone(), SAMPLE_STORE_UID),
        listener,
    )
    .await?;
    let dir = tempfile_dir()?;
    let ca_file = dir.join("sim-ca.pem");
    std::fs::write(&ca_file, simulator.ca_pem().unwrap_or_default())
        .map_err(|e| format!("cannot write {}: {e}", ca_file.display()))?;
    println!(
        "1. gateway simulator on {} (TLS, its own CA)",
        simulator.url()
    );

    let client = Client::new(GatewayConfig {
        url: simulator.url().parse().map_err(|e| format!("{e}"))?,
        agent_uid: SAMPLE_AGENT_UID.to_owned(),
        agent_key: key,
        store_uid: SAMPLE_STORE_UID.to_owned(),
        ca_file: Some(ca_file),
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
    })
    .map_err(|e| e.to_string())?;

    let charge = Charge {
        amount: 150,
        items: vec![
            Item {
                id: "LATTE".into(),
                name: "拿鐵咖啡".into(),
                unit_price: 60,
                quantity: 2,
            },
            Item {
                id: "CROISSANT".into(),
                name: "可頌".into(),
                unit_price: 30,
                quantity: 1,
            },
        ],
        discount: 0,
        shipping_fee: 0,
        invoice: InvoiceOptions::StoreDefault,
        echo: vec![],
        user_id: None,
    };
    charge.validate().map_err(|e| e.to_string())?;
    let order_id = format!("DEMO-{}", std::process::id());
    let code = PaymentCode::new(args.code);
    println!(
        "2. charge {} TWD as order {order_id}, payment code {}",
        charge.amount,
        code.masked()
    );
    let request = TransactionRequest::offline(SAMPLE_STORE_UID, &order_id, "pos", &charge, code);
    request.validate().map_err(|e| e.to_string())?;

    let answer = match client.call(&request).await {
        Outcome::Answered(answer) => answer,
        Outcome::NotSent(e) => return Err(format!("not sent: {e}")),
        Outcome::Unknown(e) => return Err(format!("outcome unknown: {e}")),
    };
    println!(
        "3. gateway answered {} {} (uid {})",
        answer.code,
        answer.msg.as_deref().unwrap_or(""),
        answer.uid.as_deref().unwrap_or("-")
    );
    if let (Some(number), Some(barcode)) = (&answer.invoice_number, &answer.invoice_middle_barcode)
    {
        println!(
            "   e-invoice {}-{number}, Code 39 {barcode}",
            answer.invoice_wordtrack.as_deref().unwrap_or("")
        );
    }

    let query = QueryDirectRequest {
        store_uid: SAMPLE_STORE_UID.to_owned(),
        order_id: order_id.clone(),
        user_id: None,
        cost: None,
    };
    query.validate().map_err(|e| e.to_string())?;
    if let Outcome::Answered(found) = client.call(&query).await {
        let codes: Vec<String> = found.rows.iter().map(|r| r.code.to_string()).collect();
        println!(
            "4. reconciliation by order id: {} row(s), codes {:?}",
            found.rows.len(),
            codes
        );
    }
    println!(
        "5. simulator ledger: {} transaction(s)",
        simulator.ledger().len()
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> Result<std::path::PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("posd-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}
