//! `posd charge`, `posd orders …` and `posd status`: the local API from a shell.

use super::{ConfigArg, Exit};
use crate::daemon::Paths;
use crate::local_client::LocalClient;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where the daemon's socket is.
#[derive(clap::Args, Clone)]
pub struct SocketArg {
    /// The daemon's Unix socket. Default: as `posd run` would place it with the same configuration.
    #[arg(long, env = "POSD_SOCKET", value_name = "PATH")]
    socket: Option<PathBuf>,
    #[command(flatten)]
    config: ConfigArg,
}

impl SocketArg {
    pub(super) fn client(&self) -> Result<LocalClient, String> {
        if let Some(socket) = &self.socket {
            return Ok(LocalClient::new(socket));
        }
        let (config, configured) = self.config.load_with_origin().map_err(|e| e.to_string())?;
        let paths = Paths::resolve(&config, configured, &|k| std::env::var(k).ok());
        Ok(LocalClient::new(paths.socket))
    }
}

#[derive(clap::Args)]
pub struct ChargeArgs {
    /// Amount in whole TWD.
    #[arg(long)]
    amount: u64,
    /// An item, `NAME:PRICE:QTY` (repeatable); the items must add up to the amount.
    #[arg(long = "item", value_name = "NAME:PRICE:QTY")]
    items: Vec<String>,
    /// The customer's payment code, when already read.
    #[arg(long, conflicts_with = "scan")]
    qr: Option<String>,
    /// Let the daemon scan the payment code (the default without --qr).
    #[arg(long)]
    scan: bool,
    /// Use this order id instead of a generated one.
    #[arg(long)]
    order_id: Option<String>,
    /// Wait until the charge is final and print its final state.
    #[arg(long)]
    wait: bool,
    /// With --wait: give up waiting after this many seconds (the charge goes on).
    #[arg(long, default_value_t = 180)]
    timeout: u64,
    #[command(flatten)]
    socket: SocketArg,
}

#[derive(clap::Subcommand)]
pub enum OrdersCommand {
    /// List orders, optionally in one state.
    List {
        #[arg(long)]
        state: Option<String>,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Show one order with its history.
    Show {
        id: String,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Cancel an order that has not reached the gateway.
    Cancel {
        id: String,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Print a paid order's receipt again (marked 補印).
    Reprint {
        id: String,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Resolve an order that needs attention, once the gateway is asked again and agrees.
    Resolve {
        id: String,
        /// What the person found: `paid` or `not_paid`.
        #[arg(long = "as", value_name = "paid|not_paid")]
        resolution: String,
        /// Who resolves it (kept with the order).
        #[arg(long)]
        by: String,
        /// Why, for whoever reads the order later.
        #[arg(long)]
        note: Option<String>,
        /// Resolve even though the gateway cannot say how the charge stands (recorded).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Every final order, one JSON object per line, for accounting.
    Export {
        #[command(flatten)]
        socket: SocketArg,
    },
}

#[derive(clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    socket: SocketArg,
}

fn parse_item(text: &str, index: usize) -> Result<Value, String> {
    let mut parts = text.rsplitn(3, ':');
    let (qty, price, name) = (parts.next(), parts.next(), parts.next());
    match (name, price, qty) {
        (Some(name), Some(price), Some(qty)) if !name.is_empty() => {
            let price: u64 = price.parse().map_err(|_| {
                format!("--item {text:?}: the price {price:?} is not a whole number of TWD")
            })?;
            let qty: u32 = qty.parse().map_err(|_| {
                format!("--item {text:?}: the quantity {qty:?} is not a whole number")
            })?;
            Ok(
                json!({"id": (index + 1).to_string(), "name": name, "unit_price": price, "quantity": qty}),
            )
        }
        _ => Err(format!(
            "--item {text:?}: expected NAME:PRICE:QTY, e.g. 拿鐵:60:2"
        )),
    }
}

pub async fn charge(args: ChargeArgs) -> Exit {
    let client = match args.socket.client() {
        Ok(client) => client,
        Err(e) => return fail_usage(&e),
    };
    let items: Result<Vec<Value>, String> = args
        .items
        .iter()
        .enumerate()
        .map(|(i, t)| parse_item(t, i))
        .collect();
    let items = match items {
        Ok(items) => items,
        Err(e) => return fail_usage(&e),
    };
    let mut body = json!({"amount": args.amount, "items": items});
    if let Some(code) = &args.qr {
        body["payment_code"] = json!(code);
    }
    if let Some(id) = &args.order_id {
        body["order_id"] = json!(id);
    }
    let order = match call(&client, Method::POST, "/v1/charges", Some(&body)).await {
        Ok(order) => order,
        Err(exit) => return exit,
    };
    let id = order["order_id"].as_str().unwrap_or_default().to_owned();
    // The daemon answers only once the order is durable, so the id can be written down now.
    outln!("{id}");
    if !args.wait {
        return Exit::Ok;
    }
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    loop {
        let order = match call(&client, Method::GET, &format!("/v1/charges/{id}"), None).await {
            Ok(order) => order,
            Err(exit) => return exit,
        };
        let state = order["state"].as_str().unwrap_or_default();
        if is_final(state) {
            outln!("{state}");
            return if matches!(state, "paid" | "paid_with_mismatch") {
                Exit::Ok
            } else {
                Exit::Failed
            };
        }
        if Instant::now() >= deadline {
            eprintln!("posd: order {id} is still {state}; it goes on in the daemon");
            return Exit::Unknown;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn is_final(state: &str) -> bool {
    matches!(
        state,
        "paid"
            | "paid_with_mismatch"
            | "declined"
            | "expired"
            | "rejected"
            | "abandoned"
            | "cancelled"
            | "needs_attention"
            | "not_paid"
    )
}

pub async fn orders(command: OrdersCommand) -> Exit {
    let (socket, method, path) = match &command {
        OrdersCommand::List { state, socket } => {
            return list_orders(state.as_deref(), socket).await;
        }
        OrdersCommand::Show { id, socket } => (socket, Method::GET, format!("/v1/charges/{id}")),
        OrdersCommand::Cancel { id, socket } => {
            (socket, Method::POST, format!("/v1/charges/{id}/cancel"))
        }
        OrdersCommand::Reprint { id, socket } => {
            (socket, Method::POST, format!("/v1/charges/{id}/reprint"))
        }
        OrdersCommand::Export { socket } => (socket, Method::GET, "/v1/orders/export".to_owned()),
        OrdersCommand::Resolve {
            id,
            resolution,
            by,
            note,
            force,
            socket,
        } => {
            let mut body = json!({"resolution": resolution, "by": by, "force": force});
            if let Some(note) = note {
                body["note"] = json!(note);
            }
            return resolve_order(id, &body, socket).await;
        }
    };
    let client = match socket.client() {
        Ok(client) => client,
        Err(e) => return fail_usage(&e),
    };
    if matches!(command, OrdersCommand::Export { .. }) {
        return match client.request_raw(method, &path, None).await {
            Ok((status, bytes)) if status.is_success() => {
                out!("{}", String::from_utf8_lossy(&bytes));
                Exit::Ok
            }
            Ok((status, bytes)) => {
                eprintln!("posd: {status}: {}", String::from_utf8_lossy(&bytes));
                Exit::Failed
            }
            Err(e) => {
                eprintln!("posd: {e}");
                Exit::Failed
            }
        };
    }
    match call(&client, method, &path, None).await {
        Ok(answer) => {
            outln!(
                "{}",
                serde_json::to_string_pretty(&answer).expect("JSON values serialise")
            );
            Exit::Ok
        }
        Err(exit) => exit,
    }
}

/// Resolves an order and prints the answer: the order, and what becomes of its receipt.
async fn resolve_order(id: &str, body: &Value, socket: &SocketArg) -> Exit {
    let client = match socket.client() {
        Ok(client) => client,
        Err(e) => return fail_usage(&e),
    };
    let path = format!("/v1/charges/{id}/resolve");
    match call(&client, Method::POST, &path, Some(body)).await {
        Ok(answer) => {
            outln!(
                "{}",
                serde_json::to_string_pretty(&answer).expect("JSON values serialise")
            );
            Exit::Ok
        }
        Err(exit) => exit,
    }
}

/// Prints every order (or those in `state`), a line each, asking the daemon page after page.
async fn list_orders(state: Option<&str>, socket: &SocketArg) -> Exit {
    const PAGE: usize = 500;
    let client = match socket.client() {
        Ok(client) => client,
        Err(e) => return fail_usage(&e),
    };
    let mut after: Option<String> = None;
    loop {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("limit", &PAGE.to_string());
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        if let Some(after) = &after {
            query.append_pair("after", after);
        }
        let path = format!("/v1/charges?{}", query.finish());
        let page = match call(&client, Method::GET, &path, None).await {
            Ok(page) => page,
            Err(exit) => return exit,
        };
        let orders = page.as_array().map(Vec::as_slice).unwrap_or_default();
        for order in orders {
            outln!(
                "{}\t{}\t{}",
                order["order_id"].as_str().unwrap_or_default(),
                order["state"].as_str().unwrap_or_default(),
                order["amount"]
            );
        }
        match orders.last().and_then(|last| last["order_id"].as_str()) {
            Some(last) if orders.len() == PAGE => after = Some(last.to_owned()),
            _ => return Exit::Ok,
        }
    }
}

pub async fn status(args: StatusArgs) -> Exit {
    let client = match args.socket.client() {
        Ok(client) => client,
        Err(e) => return fail_usage(&e),
    };
    match call(&client, Method::GET, "/v1/health", None).await {
        Ok(health) => {
            outln!(
                "{}",
                serde_json::to_string_pretty(&health).expect("JSON values serialise")
            );
            Exit::Ok
        }
        Err(exit) => exit,
    }
}

/// One call; an error answer is printed with the daemon's message.
pub(super) async fn call(
    client: &LocalClient,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, Exit> {
    match client.request(method, path, body).await {
        Ok((status, answer)) if status.is_success() => Ok(answer),
        Ok((status, answer)) => {
            let message = answer["error"]["message"]
                .as_str()
                .map_or_else(|| answer.to_string(), str::to_owned);
            eprintln!("posd: {message}");
            Err(
                if status.is_client_error() && status != StatusCode::NOT_FOUND {
                    Exit::Usage
                } else {
                    Exit::Failed
                },
            )
        }
        Err(e) => {
            eprintln!("posd: {e}");
            Err(Exit::Failed)
        }
    }
}

pub(super) fn fail_usage(message: &str) -> Exit {
    eprintln!("posd: {message}");
    Exit::Usage
}
