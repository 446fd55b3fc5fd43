//! `posd gateway-sim`: serve the agent API simulator until interrupted.

use super::Exit;
use crate::envelope::AgentKey;
use crate::sim::{self, SimConfig, faults::Faults, script::SCRIPTS};
use std::path::PathBuf;

/// The provider's published sample credentials, so the simulator and `posd gateway call` work
/// together with no setup.
pub const SAMPLE_AGENT_UID: &str = "518169081001";
pub const SAMPLE_AGENT_KEY: &str = "2MrhtRYeF9wKZ4bKwzZoL8aZf26pWzIG";
pub const SAMPLE_STORE_UID: &str = "289151880002";

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (loopback unless you mean otherwise).
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: String,
    #[arg(long, env = "POSD_AGENT_UID", default_value = SAMPLE_AGENT_UID)]
    agent_uid: String,
    #[arg(long, env = "POSD_AGENT_KEY", default_value = SAMPLE_AGENT_KEY, hide_env_values = true, hide_default_value = true)]
    agent_key: String,
    #[arg(long, env = "POSD_STORE_UID", default_value = SAMPLE_STORE_UID)]
    store_uid: String,
    /// Serve plain HTTP instead of TLS (for curl and the provider's sample clients).
    #[arg(long)]
    plain_http: bool,
    /// A further name or address the TLS certificate must cover (repeatable), such as the host's
    /// address as a virtual machine sees it (`10.0.2.2` under qemu's user networking).
    #[arg(long = "tls-name", value_name = "NAME")]
    tls_names: Vec<String>,
    /// Where to write the CA certificate clients must trust.
    #[arg(long, value_name = "FILE")]
    ca_out: Option<PathBuf>,
    /// Delay added to every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Probability of answering HTTP 502 without acting.
    #[arg(long, default_value_t = 0.0)]
    http_5xx: f64,
    /// Probability of closing a connection before reading its request.
    #[arg(long, default_value_t = 0.0)]
    drop_before_read: f64,
    /// Probability of committing a transaction and then closing the connection without answering.
    #[arg(long, default_value_t = 0.0)]
    drop_after_commit: f64,
    /// Probability of committing and then answering with a body that is not JSON.
    #[arg(long, default_value_t = 0.0)]
    malformed_body: f64,
    /// Seed of the fault draws: the same seed and requests give the same faults.
    #[arg(long, default_value_t = 1)]
    fault_seed: u64,
    /// Inject at most this many faults.
    #[arg(long)]
    max_faults: Option<u32>,
}

pub async fn run(args: Args) -> Exit {
    let agent_key = match AgentKey::new(&args.agent_key) {
        Ok(key) => key,
        Err(e) => {
            eprintln!("posd: --agent-key: {e}");
            return Exit::Usage;
        }
    };
    let mut config = SimConfig::new(&args.agent_uid, agent_key, &args.store_uid);
    config.tls = !args.plain_http;
    config.faults = Faults {
        seed: args.fault_seed,
        latency_ms: args.latency_ms,
        http_5xx: args.http_5xx,
        drop_before_read: args.drop_before_read,
        drop_after_commit: args.drop_after_commit,
        malformed_body: args.malformed_body,
        max_faults: args.max_faults,
    };
    let listener = match tokio::net::TcpListener::bind(&args.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("posd: cannot listen on {}: {e}", args.listen);
            return Exit::Failed;
        }
    };
    if config.tls && !args.tls_names.is_empty() {
        let mut names = args.tls_names.clone();
        if let Ok(addr) = listener.local_addr() {
            names.push(addr.ip().to_string());
        }
        match sim::tls::make(&names) {
            Ok(certificates) => config.certificates = Some(certificates),
            Err(e) => {
                eprintln!("posd: --tls-name: {e}");
                return Exit::Usage;
            }
        }
    }
    let running = match sim::start(config, listener).await {
        Ok(running) => running,
        Err(e) => {
            eprintln!("posd: {e}");
            return Exit::Usage;
        }
    };
    outln!("gateway simulator listening on {}", running.url());
    let mut env_line = format!(
        "POSD_GATEWAY_URL={} POSD_AGENT_UID={} POSD_STORE_UID={} POSD_AGENT_KEY=<the agent key>",
        running.url(),
        args.agent_uid,
        args.store_uid
    );
    if let Some(pem) = running.ca_pem() {
        let path = args
            .ca_out
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("posd-sim-ca.pem"));
        if let Err(e) = std::fs::write(&path, pem) {
            eprintln!("posd: cannot write the CA to {}: {e}", path.display());
            return Exit::Failed;
        }
        outln!("CA certificate written to {}", path.display());
        env_line.push_str(&format!(" POSD_CA_FILE={}", path.display()));
    }
    outln!("clients: {env_line}");
    outln!("payment codes choose the outcome by their last three characters:");
    for (ending, _, meaning) in SCRIPTS {
        outln!("  …{ending}  {meaning}");
    }
    outln!("  anything else: paid (250) with an e-invoice");
    outln!("ledger: GET /_sim/ledger   faults: POST /_sim/faults   stop: Ctrl-C");
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("posd: cannot wait for Ctrl-C: {e}");
        return Exit::Failed;
    }
    running.shutdown();
    Exit::Ok
}
