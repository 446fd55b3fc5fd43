//! `posd run`: the daemon that brings the gateway client, the order store, the scanner and the
//! printer together behind the local API.
//!
//! [`start`] wires the parts and returns a [`RunningDaemon`]; the order worker ([`orders`]) drives
//! every charge, the local API ([`routes`], served by [`listen`]) takes the POS app's requests, and
//! [`events`] tells it what happened. Shutting down stops the listeners; an order in flight stays
//! in the store in the state it reached and resumes at the next start.

pub mod events;
pub mod listen;
pub mod orders;
pub mod printing;
pub mod routes;

use crate::config::{Config, ConfigError};
use crate::envelope::AgentKey;
use crate::gateway::{Client, GatewayConfig};
use crate::sim::{self, RunningSim, SimConfig};
use crate::store::Store;
use events::EventBus;
use orders::{Merchant, Orders};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The simulator's identity when the daemon runs one inside itself.
const SIM_AGENT_UID: &str = "518169081001";
const SIM_AGENT_KEY: &str = "2MrhtRYeF9wKZ4bKwzZoL8aZf26pWzIG";
const SIM_STORE_UID: &str = "289151880002";

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Simulator(String),
    #[error(transparent)]
    Client(#[from] crate::gateway::ClientError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("daemon.device_id: {0}")]
    DeviceId(crate::api::FieldError),
    #[error(transparent)]
    Listen(#[from] listen::ListenError),
    #[error("printer: {0}")]
    Printer(String),
    #[error("daemon.tcp_token_file {path}: {source}")]
    Token {
        path: String,
        source: std::io::Error,
    },
}

impl StartError {
    /// Whether starting again unchanged could succeed (systemd restarts only then).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StartError::Store(_) | StartError::Listen(listen::ListenError::Tcp { .. })
        )
    }
}

/// Where things are, resolved from the configuration and the environment.
#[derive(Debug, Clone)]
pub struct Paths {
    pub data_dir: PathBuf,
    pub socket: PathBuf,
}

impl Paths {
    /// `configured` says whether a configuration file was read: without one, the daemon keeps to
    /// the user's own directories so a trial needs no root.
    pub fn resolve(
        config: &Config,
        configured: bool,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Paths {
        let data_dir = config
            .daemon
            .data_dir
            .clone()
            .or_else(|| env("STATE_DIRECTORY").map(PathBuf::from))
            .unwrap_or_else(|| {
                if configured {
                    PathBuf::from("/var/lib/posd")
                } else {
                    let base = env("XDG_STATE_HOME")
                        .map(PathBuf::from)
                        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".local/state")))
                        .unwrap_or_else(std::env::temp_dir);
                    base.join("posd")
                }
            });
        let socket = config
            .daemon
            .socket
            .clone()
            .or_else(|| env("RUNTIME_DIRECTORY").map(|d| Path::new(&d).join("posd.sock")))
            .unwrap_or_else(|| {
                if configured {
                    PathBuf::from("/run/posd/posd.sock")
                } else {
                    data_dir.join("posd.sock")
                }
            });
        Paths { data_dir, socket }
    }
}

pub struct RunningDaemon {
    pub paths: Paths,
    pub tcp: Option<SocketAddr>,
    orders: Arc<Orders>,
    simulator: Option<RunningSim>,
    shutdown: watch::Sender<bool>,
}

impl RunningDaemon {
    pub fn orders(&self) -> &Arc<Orders> {
        &self.orders
    }

    /// The in-process simulator, when the daemon runs one.
    pub fn simulator(&self) -> Option<&RunningSim> {
        self.simulator.as_ref()
    }

    /// Stops the listeners. Order tasks stop with the runtime; every order is durable in the state
    /// it reached and resumes at the next start.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
        if let Some(simulator) = &self.simulator {
            simulator.shutdown();
        }
    }
}

/// Starts the daemon.
pub async fn start(
    config: Config,
    configured: bool,
    env: impl Fn(&str) -> Option<String>,
) -> Result<RunningDaemon, StartError> {
    let paths = Paths::resolve(&config, configured, &env);
    std::fs::create_dir_all(&paths.data_dir).map_err(|source| StartError::DataDir {
        path: paths.data_dir.display().to_string(),
        source,
    })?;

    let use_simulator = config.gateway.simulator || (!configured && config.gateway.url.is_none());
    let (gateway, simulator) = if use_simulator {
        let (gateway, simulator) = start_simulator(&paths.data_dir).await?;
        (gateway, Some(simulator))
    } else {
        (config.gateway.resolve()?, None)
    };
    let merchant = Merchant {
        store_uid: gateway.store_uid.clone(),
        user_id: config.gateway.user_id.clone(),
    };
    let client = Client::new(gateway)?;

    let store_dir = paths.data_dir.join("orders");
    let store = Arc::new(
        tokio::task::spawn_blocking(move || Store::open(store_dir))
            .await
            .expect("opening the store does not panic")?,
    );
    for record in store.quarantined_at_open() {
        tracing::error!(
            tree = %record.tree,
            key = %record.key,
            "a stored record could not be read and was quarantined: {}",
            record.detail
        );
    }
    let events = EventBus::new();
    let setup = printer_setup(&config, configured, &paths)?;
    let (printer, print_requests) = std::sync::mpsc::channel();
    printing::spawn(setup, store.clone(), events.clone(), print_requests);
    let orders = Orders::new(
        store.clone(),
        client.clone(),
        config.policy.clone(),
        merchant,
        &config.daemon.device_id,
        events.clone(),
        printer,
    )
    .map_err(StartError::DeviceId)?;

    let (shutdown, stopped) = watch::channel(false);
    let api = Arc::new(routes::Api {
        orders: orders.clone(),
        gateway: client,
        started: std::time::Instant::now(),
    });
    let limits = listen::Limits {
        max_connections: config.daemon.max_connections,
        ..listen::Limits::default()
    };
    let unix = listen::bind_unix(&paths.socket, config.daemon.socket_group.as_deref())?;
    tokio::spawn(listen::serve(
        unix,
        routes::router(api.clone()),
        limits.clone(),
        stopped.clone(),
    ));
    let tcp = match config.daemon.tcp_listen {
        Some(addr) => {
            let token = tcp_token(&config)?.ok_or(listen::ListenError::NoToken)?;
            let listener = listen::bind_tcp(addr).await?;
            let bound = listener.local_addr().ok();
            let router = listen::require_token(routes::router(api.clone()), token.into());
            tokio::spawn(listen::serve(listener, router, limits, stopped.clone()));
            bound
        }
        None => None,
    };

    let resumed = orders.resume_all().await.map_err(|e| match e {
        orders::OrdersError::Store(e) => StartError::Store(e),
        other => StartError::Simulator(other.to_string()),
    })?;
    if resumed > 0 {
        tracing::info!("resumed {resumed} unfinished order(s)");
    }
    spawn_retention(store, config.daemon.retention_days, stopped);

    Ok(RunningDaemon {
        paths,
        tcp,
        orders,
        simulator,
        shutdown,
    })
}

/// The printer as configured. Without a configuration file, receipts go to a file in the data
/// directory with a PNG preview of each, so a trial needs no printer.
fn printer_setup(
    config: &Config,
    configured: bool,
    paths: &Paths,
) -> Result<printing::PrinterSetup, StartError> {
    let settings = &config.printer;
    let mut profile = printing::load_profile(&settings.profile).map_err(StartError::Printer)?;
    let mut previews = settings.previews;
    match &settings.device {
        Some(device) => printing::override_device(&mut profile.printer, device),
        None if !configured => {
            profile.printer.transport = crate::profile::Transport::File {
                path: paths.data_dir.join("printer.bin"),
            };
            profile.printer.two_way = false;
            previews = true;
        }
        None => {}
    }
    let layout = match &settings.layout {
        Some(path) => crate::receipt::LayoutSettings::load(path)
            .map_err(|e| StartError::Printer(e.to_string()))?,
        None => crate::receipt::LayoutSettings::default(),
    };
    Ok(printing::PrinterSetup {
        profile,
        layout,
        previews: previews.then(|| paths.data_dir.join("previews")),
    })
}

fn tcp_token(config: &Config) -> Result<Option<String>, StartError> {
    if let Some(token) = &config.daemon.tcp_token {
        return Ok(Some(token.clone()));
    }
    match &config.daemon.tcp_token_file {
        Some(path) => std::fs::read_to_string(path)
            .map(|t| Some(t.trim().to_owned()))
            .map_err(|source| StartError::Token {
                path: path.display().to_string(),
                source,
            }),
        None => Ok(None),
    }
}

/// A simulator inside the daemon, for trials: TLS with its own CA, which the client trusts.
async fn start_simulator(data_dir: &Path) -> Result<(GatewayConfig, RunningSim), StartError> {
    let key = AgentKey::new(SIM_AGENT_KEY).expect("the sample key is 32 bytes");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| StartError::Simulator(format!("cannot listen for the simulator: {e}")))?;
    let simulator = sim::start(
        SimConfig::new(SIM_AGENT_UID, key.clone(), SIM_STORE_UID),
        listener,
    )
    .await
    .map_err(StartError::Simulator)?;
    let ca_file = data_dir.join("simulator-ca.pem");
    std::fs::write(&ca_file, simulator.ca_pem().unwrap_or_default()).map_err(|source| {
        StartError::DataDir {
            path: ca_file.display().to_string(),
            source,
        }
    })?;
    let gateway = GatewayConfig {
        url: simulator
            .url()
            .parse()
            .map_err(|e| StartError::Simulator(format!("simulator url: {e}")))?,
        agent_uid: SIM_AGENT_UID.to_owned(),
        agent_key: key,
        store_uid: SIM_STORE_UID.to_owned(),
        ca_file: Some(ca_file),
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(10),
    };
    Ok((gateway, simulator))
}

/// Prunes final orders older than `days`, at start and then daily.
fn spawn_retention(store: Arc<Store>, days: u32, mut stopped: watch::Receiver<bool>) {
    if days == 0 {
        return;
    }
    tokio::spawn(async move {
        loop {
            let store = store.clone();
            let pruned = tokio::task::spawn_blocking(move || {
                store.prune_final_older_than(days, orders::now())
            })
            .await;
            match pruned {
                Ok(Ok(n)) if n > 0 => {
                    tracing::info!("pruned {n} final order(s) older than {days} days")
                }
                Ok(Err(e)) => tracing::warn!("pruning old orders failed: {e}"),
                _ => {}
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(86_400)) => {}
                _ = stopped.changed() => return,
            }
        }
    });
}
