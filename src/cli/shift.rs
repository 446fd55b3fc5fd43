//! `posd shift close`, `posd shift show [ID]` and `posd shift list`: shifts from a shell.

use super::Exit;
use super::local::{SocketArg, call, fail_usage};
use hyper::Method;
use serde_json::{Value, json};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Close the running shift; its report is stored and printed.
    Close {
        /// Close even though orders are unfinished; the report lists them.
        #[arg(long)]
        force: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Show a closed shift's report: shift ID, or the last one closed.
    Show {
        id: Option<String>,
        /// Print the report as JSON, as the local API answers it.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// List the closed shifts, a line each.
    List {
        #[command(flatten)]
        socket: SocketArg,
    },
}

pub async fn run(command: Command) -> Exit {
    let socket = match &command {
        Command::Close { socket, .. } | Command::Show { socket, .. } | Command::List { socket } => {
            socket
        }
    };
    let client = match socket.client() {
        Ok(client) => client,
        Err(e) => return fail_usage(&e),
    };
    let (report, json) = match command {
        Command::Close { force, json, .. } => {
            let body = json!({ "force": force });
            match call(&client, Method::POST, "/v1/shifts/close", Some(&body)).await {
                Ok(report) => (report, json),
                Err(exit) => return exit,
            }
        }
        Command::Show {
            id: Some(id), json, ..
        } => match call(&client, Method::GET, &format!("/v1/shifts/{id}"), None).await {
            Ok(report) => (report, json),
            Err(exit) => return exit,
        },
        Command::Show { id: None, json, .. } => {
            let shifts = match call(&client, Method::GET, "/v1/shifts", None).await {
                Ok(shifts) => shifts,
                Err(exit) => return exit,
            };
            match shifts.as_array().and_then(|all| all.last()) {
                Some(last) => (last.clone(), json),
                None => {
                    eprintln!("posd: no shift was closed yet");
                    return Exit::Failed;
                }
            }
        }
        Command::List { .. } => {
            return match call(&client, Method::GET, "/v1/shifts", None).await {
                Ok(shifts) => {
                    for shift in shifts.as_array().map(Vec::as_slice).unwrap_or_default() {
                        outln!(
                            "{}\t{}\t{} orders\t{} TWD taken",
                            shift["shift_id"],
                            shift["closed_at"],
                            shift["orders"]["count"],
                            shift["taken"]["amount"]
                        );
                    }
                    Exit::Ok
                }
                Err(exit) => exit,
            };
        }
    };
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&report).expect("JSON values serialise")
        );
    } else {
        out!("{}", summary(&report));
    }
    Exit::Ok
}

/// The report for people, a figure a line.
fn summary(report: &Value) -> String {
    let tally = |t: &Value| format!("{} orders, {} TWD", t["count"], t["amount"]);
    let mut text = format!(
        "shift {} closed at {} (ms since the epoch){}\n",
        report["shift_id"],
        report["closed_at"],
        if report["forced"] == true {
            ", forced"
        } else {
            ""
        }
    );
    text += &format!("orders: {}\n", tally(&report["orders"]));
    text += &format!("taken: {}\n", tally(&report["taken"]));
    for state in report["by_state"].as_array().into_iter().flatten() {
        text += &format!(
            "  {}: {}\n",
            state["state"].as_str().unwrap_or("?"),
            tally(state)
        );
    }
    for wallet in report["by_wallet"].as_array().into_iter().flatten() {
        text += &format!(
            "  wallet {}: {}\n",
            wallet["wallet"].as_str().unwrap_or("?"),
            tally(wallet)
        );
    }
    let invoices = &report["invoices"];
    text += &format!(
        "invoices: {} (sales {}, tax {}, total {})\n",
        invoices["count"],
        invoices["sales_amount"],
        invoices["tax_amount"],
        invoices["total_amount"]
    );
    for track in invoices["tracks"].as_array().into_iter().flatten() {
        text += &format!(
            "  {}: {} to {} ({})\n",
            track["word_track"].as_str().unwrap_or("?"),
            track["first"].as_str().unwrap_or("?"),
            track["last"].as_str().unwrap_or("?"),
            track["count"]
        );
    }
    text += &format!("reprints: {}\n", report["reprints"]);
    let ids = |key: &str| -> Vec<String> {
        report[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| match o.as_str() {
                Some(id) => id.to_owned(),
                None => format!(
                    "{} ({}{})",
                    o["order_id"].as_str().unwrap_or("?"),
                    o["state"].as_str().unwrap_or("?"),
                    o["reason"]
                        .as_str()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                ),
            })
            .collect()
    };
    for (label, key) in [
        ("receipts unprinted", "unprinted"),
        ("unfinished at the close", "unfinished"),
        ("needs attention", "needs_attention"),
    ] {
        let named = ids(key);
        text += &format!("{label}: {}\n", named.len());
        for line in named {
            text += &format!("  {line}\n");
        }
    }
    text += &format!(
        "report printout: {}\n",
        report["print"]["status"].as_str().unwrap_or("?")
    );
    text
}
