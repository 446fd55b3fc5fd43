//! Shared by the daemon tests: a simulator in the test process and the real `posd` binary.
#![allow(dead_code)]

use hyper::Method;
use posd::envelope::AgentKey;
use posd::local_client::LocalClient;
use posd::sim::{self, RunningSim, SimConfig, faults::Faults, tls};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const AGENT_UID: &str = "518169081001";
pub const KEY: &str = "2MrhtRYeF9wKZ4bKwzZoL8aZf26pWzIG";
pub const STORE: &str = "289151880002";

pub async fn simulator(faults: Faults) -> RunningSim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    simulator_on(listener, faults).await
}

pub async fn simulator_on(listener: tokio::net::TcpListener, faults: Faults) -> RunningSim {
    let mut config = SimConfig::new(AGENT_UID, AgentKey::new(KEY).unwrap(), STORE);
    config.faults = faults;
    sim::start(config, listener).await.unwrap()
}

/// A charge of one latte at `amount` TWD, as the POS app posts it.
pub fn latte(amount: u64) -> Value {
    serde_json::json!({
        "amount": amount,
        "items": [{"id": "1", "name": "拿鐵咖啡", "unit_price": amount, "quantity": 1}]
    })
}

/// Two lattes: the charge the benchmarks send, with one item line.
pub fn two_lattes() -> posd::charge::Charge {
    posd::charge::Charge {
        amount: 150,
        items: vec![posd::charge::Item {
            id: "1".into(),
            name: "拿鐵咖啡".into(),
            unit_price: 75,
            quantity: 2,
        }],
        discount: 0,
        shipping_fee: 0,
        invoice: posd::charge::InvoiceOptions::StoreDefault,
        echo: vec![],
        user_id: None,
    }
}

/// A port on loopback with nothing listening on it (yet).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A gateway that is down: its address refuses connections until [`LateGateway::come_up`]
/// starts the simulator there, with the certificates the daemon was told to trust.
pub struct LateGateway {
    pub port: u16,
    pub url: String,
    certificates: tls::SimCertificates,
}

impl LateGateway {
    pub fn new() -> LateGateway {
        let port = free_port();
        LateGateway {
            port,
            url: format!("https://127.0.0.1:{port}/api/agent"),
            certificates: tls::make(&[]).unwrap(),
        }
    }

    pub fn ca_pem(&self) -> &str {
        &self.certificates.ca_pem
    }

    pub async fn come_up(self) -> RunningSim {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        let mut config = SimConfig::new(AGENT_UID, AgentKey::new(KEY).unwrap(), STORE);
        config.certificates = Some(self.certificates);
        sim::start(config, listener).await.unwrap()
    }
}

/// Sets `key` in a daemon's environment, replacing the value it had.
pub fn set_env(env: &mut Vec<(String, String)>, key: &str, value: impl Into<String>) {
    env.retain(|(k, _)| k != key);
    env.push((key.to_owned(), value.into()));
}

/// Resident memory of a process in KiB, from `VmRSS` in `/proc/PID/status`.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("/proc/{pid}/status has no VmRSS line"))
}

/// The real daemon as a child process, talking to an outside gateway.
pub struct Daemon {
    pub child: Child,
    pub dir: PathBuf,
    pub env: Vec<(String, String)>,
}

impl Daemon {
    /// Environment for a daemon in `dir` against the gateway at `url` trusting `ca_pem`.
    pub fn env_for(dir: &Path, url: &str, ca_pem: &str) -> Vec<(String, String)> {
        let ca = dir.join("gateway-ca.pem");
        std::fs::write(&ca, ca_pem).unwrap();
        [
            ("POSD_DATA_DIR", dir.join("data").display().to_string()),
            ("POSD_SOCKET", dir.join("posd.sock").display().to_string()),
            ("POSD_GATEWAY_URL", url.to_owned()),
            ("POSD_AGENT_UID", AGENT_UID.to_owned()),
            ("POSD_AGENT_KEY", KEY.to_owned()),
            ("POSD_STORE_UID", STORE.to_owned()),
            ("POSD_CA_FILE", ca.display().to_string()),
            ("POSD_GATEWAY_TIMEOUT_MS", "2000".to_owned()),
            ("POSD_GATEWAY_CONNECT_TIMEOUT_MS", "500".to_owned()),
            ("POSD_POLICY_BACKOFF_INITIAL_MS", "100".to_owned()),
            ("POSD_POLICY_BACKOFF_MAX_MS", "400".to_owned()),
            ("POSD_POLICY_RECONCILE_POLL_MS", "100".to_owned()),
            ("POSD_POLICY_NOT_FOUND_SETTLE_SECS", "1".to_owned()),
            ("POSD_POLICY_MAX_ATTEMPTS", "50".to_owned()),
            ("POSD_POLICY_MAX_OPEN_ORDERS", "500".to_owned()),
            ("POSD_POLICY_MAX_OPEN_AMOUNT", "10000000".to_owned()),
            ("POSD_LOG", "info".to_owned()),
            ("POSD_PROFILE", "generic-58mm".to_owned()),
            (
                "POSD_PRINTER_DEVICE",
                dir.join("printer.bin").display().to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// A daemon in `dir` against the simulator `sim`, answering on its socket.
    pub async fn serving(dir: &Path, sim: &RunningSim) -> Daemon {
        let daemon = Daemon::start(dir, Daemon::env_for(dir, &sim.url(), sim.ca_pem().unwrap()));
        daemon.ready().await;
        daemon
    }

    pub fn start(dir: &Path, env: Vec<(String, String)>) -> Daemon {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("posd.log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_posd"))
            .arg("run")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Daemon {
            child,
            dir: dir.to_owned(),
            env,
        }
    }

    pub fn client(&self) -> LocalClient {
        LocalClient::new(self.dir.join("posd.sock"))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("posd.log")).unwrap_or_default()
    }

    /// Waits until the daemon answers on its socket.
    pub async fn ready(&self) {
        let client = self.client();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if client
                .request(Method::GET, "/v1/health", None)
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the daemon did not come up:\n{}", self.log());
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn restart(&mut self) {
        self.kill();
        *self = Daemon::start(&self.dir.clone(), self.env.clone());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

const FINAL: [&str; 8] = [
    "paid",
    "paid_with_mismatch",
    "declined",
    "expired",
    "rejected",
    "abandoned",
    "cancelled",
    "needs_attention",
];

pub fn is_final(state: &str) -> bool {
    FINAL.contains(&state)
}

/// The daemon's event stream (`GET /v1/events`) as lines, read over a raw HTTP/1.1 connection to
/// its socket as they come.
pub async fn event_lines(
    socket: &Path,
) -> tokio::io::Lines<tokio::io::BufReader<tokio::net::UnixStream>> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let mut stream = tokio::net::UnixStream::connect(socket).await.unwrap();
    stream
        .write_all(b"GET /v1/events HTTP/1.1\r\nHost: posd\r\n\r\n")
        .await
        .unwrap();
    BufReader::new(stream).lines()
}

/// Every order the daemon holds, asked for page after page.
pub async fn every_order(client: &LocalClient) -> Vec<Value> {
    let mut orders: Vec<Value> = Vec::new();
    loop {
        let path = match orders.last() {
            Some(last) => format!(
                "/v1/charges?limit=1000&after={}",
                last["order_id"].as_str().unwrap()
            ),
            None => "/v1/charges?limit=1000".to_owned(),
        };
        let (status, page) = client.request(Method::GET, &path, None).await.unwrap();
        assert!(status.is_success(), "{status}: {page}");
        let page = page.as_array().unwrap().clone();
        let full = page.len() == 1000;
        orders.extend(page);
        if !full {
            return orders;
        }
    }
}

/// Polls an order until it is final.
pub async fn wait_final(client: &LocalClient, id: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (status, order) = client
            .request(Method::GET, &format!("/v1/charges/{id}"), None)
            .await
            .unwrap();
        assert!(status.is_success(), "{status}: {order}");
        if is_final(order["state"].as_str().unwrap()) {
            return order;
        }
        assert!(
            Instant::now() < deadline,
            "order {id} not final in time: {order}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The bytes of every file under `dir`.
pub fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| match entry.metadata() {
                    Ok(meta) if meta.is_dir() => dir_bytes(&entry.path()),
                    Ok(meta) => meta.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
