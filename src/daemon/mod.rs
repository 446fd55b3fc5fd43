//! `posd run`: the daemon that brings the gateway client, the order store, the scanner and the
//! printer together behind the local API.
//!
//! [`start`] wires the parts and returns a [`RunningDaemon`]; the order worker ([`orders`]) drives
//! every charge, the local API ([`routes`], served by [`listen`]) takes the POS app's requests, and
//! [`events`] tells it what happened. Shutting down stops the listeners; an order in flight stays
//! in the store in the state it reached and resumes at the next start.

pub mod app_printer;
mod device;
pub mod events;
pub mod gate;
mod layout_thread;
pub mod listen;
mod marking;
pub mod orders;
pub mod printing;
mod reachability;
pub mod routes;
pub mod scanning;
mod supervise;
pub mod wallet_link;

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
    #[error(
        "no gateway is configured (no configuration file, no gateway.url): under systemd \
         (NOTIFY_SOCKET) or with POSD_REQUIRE_GATEWAY=1 posd does not charge against its built-in \
         simulator instead; configure the gateway, or set gateway.simulator = true on purpose"
    )]
    NoGateway,
    #[error(transparent)]
    Client(#[from] crate::gateway::ClientError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("daemon.device_id: {0}")]
    DeviceId(crate::api::FieldError),
    #[error("the device id file {path}: {problem}")]
    DeviceIdFile { path: String, problem: String },
    #[error(transparent)]
    Listen(#[from] listen::ListenError),
    #[error("printer: {0}")]
    Printer(String),
    #[error("scan.{0}")]
    Scan(String),
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
    printer: std::sync::Mutex<Option<printing::PrinterThread>>,
}

impl RunningDaemon {
    pub fn orders(&self) -> &Arc<Orders> {
        &self.orders
    }

    /// Why the order store failed, once it has: the daemon must then stop (see
    /// [`Store::failure`]).
    pub fn store_failure(&self) -> watch::Receiver<Option<String>> {
        self.orders.store().failure()
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

    /// Stops the daemon within `bound`: the listeners at once; the gateway calls in flight get
    /// until `bound` to finish, then are abandoned (their orders stay `Sending` in the store and
    /// are reconciled at the next start, never resent); the printer thread stops after its
    /// current job, or is left behind once `bound` has passed.
    pub async fn stop(&self, bound: Duration) {
        let deadline = tokio::time::Instant::now() + bound;
        self.shutdown();
        self.orders.print(printing::PrintRequest::Stop);
        while self.orders.gate().in_flight > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let printer = self.printer.lock().expect("printer lock").take();
        if let Some(printer) = printer {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let joined = tokio::task::spawn_blocking(move || printer.join(left))
                .await
                .unwrap_or(false);
            if !joined {
                tracing::warn!(
                    "the printer did not finish its job in time; it is owed at the next start, \
                     marked 補印"
                );
            }
        }
        // The closing checkpoint: the next start finds an empty journal and knows this run ended
        // cleanly.
        let store = self.orders.store().clone();
        match tokio::task::spawn_blocking(move || store.close()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("the order store could not close cleanly: {e}"),
            Err(e) => tracing::error!("closing the order store panicked: {e}"),
        }
    }

    /// Whether the parts a watchdog vouches for answer within `within`: the store reads, and the
    /// printer thread takes requests.
    pub async fn answering(&self, within: Duration) -> bool {
        let store = self.orders.store().clone();
        let read = tokio::task::spawn_blocking(move || store.last_id_stamp().is_ok());
        let store_answers = matches!(tokio::time::timeout(within, read).await, Ok(Ok(true)));
        let (answer, answered) = std::sync::mpsc::sync_channel(1);
        self.orders.print(printing::PrintRequest::Ping(answer));
        let printer_answers =
            tokio::task::spawn_blocking(move || answered.recv_timeout(within).is_ok())
                .await
                .unwrap_or(false);
        store_answers && printer_answers
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
    // A till whose configuration went missing must not quietly charge against the simulator.
    let gateway_required =
        env("NOTIFY_SOCKET").is_some() || env("POSD_REQUIRE_GATEWAY").as_deref() == Some("1");
    if use_simulator && !config.gateway.simulator && gateway_required {
        return Err(StartError::NoGateway);
    }
    // A trial: nothing configured, so the simulator charges, a file printer prints and the
    // sample payment code is scanned. A real gateway means a real till: no such stand-ins.
    let trial = use_simulator && !configured;
    let (gateway, simulator) = if use_simulator {
        let (gateway, simulator) = start_simulator(&paths.data_dir).await?;
        (gateway, Some(simulator))
    } else {
        (config.gateway.resolve()?, None)
    };
    let code_rules = crate::scan::CodeRules::from_config(&config.scan.codes)
        .map_err(|e| StartError::Scan(format!("codes: {e}")))?;
    let merchant = Merchant {
        store_uid: gateway.store_uid.clone(),
        user_id: config.gateway.user_id.clone(),
        simulated: use_simulator,
        wallets: code_rules.clone(),
    };
    let client = Client::new(gateway)?;

    let store_dir = paths.data_dir.join("orders");
    let store = Arc::new(
        tokio::task::spawn_blocking(move || Store::open(store_dir))
            .await
            .expect("opening the store does not panic")?,
    );
    store.keep_free(config.daemon.min_free_mb.saturating_mul(1024 * 1024));
    store.spawn_idle_checkpoints(Duration::from_secs(config.daemon.checkpoint_idle_secs));
    for record in store.quarantined_at_open() {
        tracing::error!(
            tree = %record.tree,
            key = %record.key,
            "a stored record could not be read and was quarantined: {}",
            record.detail
        );
    }
    let events = if use_simulator {
        EventBus::simulated()
    } else {
        EventBus::new()
    };
    let profile = printing::load_profile(&config.printer.profile).map_err(StartError::Printer)?;
    let setup = printer_setup(
        &config,
        profile.clone(),
        trial && env("POSD_PROFILE").is_none(),
        &paths,
    )?;
    let app_transport = setup.profile.printer.transport == crate::profile::Transport::App {};
    let renderer = Arc::new(printing::Renderer::new(setup, events.clone()));
    let app_printer = if app_transport {
        let lease = config.printer.app_lease_secs;
        if !(1..=3600).contains(&lease) {
            return Err(StartError::Printer(format!(
                "app_lease_secs is {lease}; expected 1 to 3600 seconds"
            )));
        }
        Some(Arc::new(app_printer::AppPrinter::new(
            store.clone(),
            renderer.clone(),
            events.clone(),
            Duration::from_secs(lease),
        )))
    } else {
        None
    };
    let (printer, print_requests) = std::sync::mpsc::channel();
    let shifts = Arc::new(routes::shifts::Shifts::new(renderer.clone()));
    let printer_thread = printing::spawn(
        renderer,
        store.clone(),
        events.clone(),
        print_requests,
        app_printer.clone(),
    );
    let mut ids = crate::order::OrderIdGenerator::new(&device::device_id(
        config.daemon.device_id.as_deref(),
        &paths.data_dir,
    )?)
    .map_err(StartError::DeviceId)?;
    ids.resume_after(store.last_id_stamp()?);
    let orders = Orders::new(
        store.clone(),
        client.clone(),
        config.policy.clone(),
        merchant,
        ids,
        events.clone(),
        printer,
    );

    let (origin, trigger) = scan_setup(&config, &profile, trial, &env, &paths)?;
    // A live frame gets a short budget, since the next one is coming; a saved frame is all there
    // is, so it gets time for every attempt.
    let frame_budget = match (config.scan.frame_budget_ms, &origin) {
        (Some(ms), _) => Duration::from_millis(ms),
        (None, scanning::FrameOrigin::Folder(_)) => Duration::from_secs(2),
        (None, _) => crate::scan::DecoderConfig::default().frame_budget,
    };
    let decoder = crate::scan::Decoder::new(
        code_rules,
        crate::scan::DecoderConfig {
            frame_budget,
            ..Default::default()
        },
    );
    let taken: crate::scan::TakenCodes = {
        let orders = orders.clone();
        Arc::new(move |code: &str| {
            orders
                .code_holder(code, None)
                .map(|holder| holder.to_string())
        })
    };
    let scanner = Arc::new(
        scanning::ScanService::new(
            decoder,
            origin,
            Duration::from_millis(config.scan.timeout_ms),
            events.clone(),
            config.scan.save_failed_frames.clone(),
        )
        .skipping_taken(taken),
    );

    // Every unfinished order has its task before the sockets take a request about it.
    let resumed = orders.resume_all().await.map_err(|e| match e {
        orders::OrdersError::Store(e) => StartError::Store(e),
        other => StartError::Simulator(other.to_string()),
    })?;
    if resumed > 0 {
        tracing::info!("resumed {resumed} unfinished order(s)");
    }

    let (shutdown, stopped) = watch::channel(false);
    let api = Arc::new(routes::Api {
        orders: orders.clone(),
        reachability: reachability::Reachability::new(client.config().url.clone()),
        gateway: client,
        scanner: scanner.clone(),
        scan_on_charge: trigger == ScanTrigger::Auto,
        started: std::time::Instant::now(),
        app_printer,
        event_streams: Arc::new(tokio::sync::Semaphore::new(routes::MAX_EVENT_STREAMS)),
        shifts,
    });
    let limits = listen::Limits {
        max_connections: config.daemon.max_connections,
        ..listen::Limits::default()
    };
    // TCP first: once the socket answers, both are listening.
    let tcp = match config.daemon.tcp_listen {
        Some(addr) => {
            let token = tcp_token(&config)?.ok_or(listen::ListenError::NoToken)?;
            let listener = listen::bind_tcp(addr).await?;
            let bound = listener.local_addr().ok();
            tokio::spawn(listen::serve_tcp(
                listener,
                routes::router(api.clone()),
                token.into(),
                limits.clone(),
                stopped.clone(),
            ));
            bound
        }
        None => None,
    };
    let unix = listen::bind_unix(&paths.socket, config.daemon.socket_group.as_deref())?;
    tokio::spawn(listen::serve(
        unix,
        routes::router(api.clone()),
        limits,
        stopped.clone(),
    ));

    spawn_retention(store, config.daemon.retention_days, stopped);
    if trigger == ScanTrigger::Key {
        spawn_scan_key(profile.scan_key, api.clone());
    }

    Ok(RunningDaemon {
        paths,
        tcp,
        orders,
        simulator,
        shutdown,
        printer: std::sync::Mutex::new(Some(printer_thread)),
    })
}

/// The printer as configured. In a trial with no printer named, receipts go to a file in the data
/// directory with a PNG preview of each, so a trial needs no printer.
fn printer_setup(
    config: &Config,
    mut profile: crate::profile::Profile,
    trial: bool,
    paths: &Paths,
) -> Result<printing::PrinterSetup, StartError> {
    let settings = &config.printer;
    let mut previews = settings.previews;
    match &settings.device {
        Some(device) => profile.printer.point_at(device),
        None if trial => {
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
    let logo = match &layout.logo {
        Some(path) => {
            let image = image::open(path)
                .map_err(|e| StartError::Printer(format!("layout logo {}: {e}", path.display())))?;
            Some(crate::receipt::dither(
                &image,
                crate::receipt::PROOF_WIDTH_DOTS,
            ))
        }
        None => None,
    };
    Ok(printing::PrinterSetup {
        profile,
        layout,
        logo,
        previews: previews.then(|| paths.data_dir.join("previews")),
        print_device_0: settings.print_device_0,
    })
}

/// When a charge without a payment code starts a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScanTrigger {
    Key,
    Auto,
    Never,
}

/// The scanner's frames and trigger as configured. A trial scans the sample payment code shipped
/// in the binary as soon as a charge arrives.
fn scan_setup(
    config: &Config,
    profile: &crate::profile::Profile,
    trial: bool,
    env: &impl Fn(&str) -> Option<String>,
    paths: &Paths,
) -> Result<(scanning::FrameOrigin, ScanTrigger), StartError> {
    let settings = &config.scan;
    let explicit = !trial || env("POSD_SCAN_SOURCE").is_some();
    let origin = if !explicit {
        let folder = paths.data_dir.join("sample-frames");
        std::fs::create_dir_all(&folder)
            .and_then(|()| {
                std::fs::write(
                    folder.join("mypay-payment-code.jpg"),
                    include_bytes!("../../receipts/scan/mypay-payment-code.jpg"),
                )
            })
            .map_err(|source| StartError::DataDir {
                path: folder.display().to_string(),
                source,
            })?;
        scanning::FrameOrigin::Folder(folder)
    } else if settings.source == "pushed" {
        scanning::FrameOrigin::Pushed
    } else if let Some(folder) = settings.source.strip_prefix("folder:") {
        scanning::FrameOrigin::Folder(folder.into())
    } else if settings.source == "camera" {
        camera_origin(config, profile)?
    } else {
        return Err(StartError::Scan(format!(
            "source: {:?} is not pushed, camera or folder:PATH",
            settings.source
        )));
    };
    let on_charge = if !trial || env("POSD_SCAN_ON_CHARGE").is_some() {
        settings.on_charge.as_str()
    } else {
        "auto"
    };
    let trigger = match on_charge {
        "key" => ScanTrigger::Key,
        "auto" => ScanTrigger::Auto,
        "none" => ScanTrigger::Never,
        other => {
            return Err(StartError::Scan(format!(
                "on_charge: {other:?} is not key, auto or none"
            )));
        }
    };
    Ok((origin, trigger))
}

/// The profile's camera: frames the POS app pushes, or a V4L2 device the daemon opens.
fn camera_origin(
    config: &Config,
    profile: &crate::profile::Profile,
) -> Result<scanning::FrameOrigin, StartError> {
    match &profile.camera {
        None => Err(StartError::Scan(format!(
            "source: camera, but the profile {} has no [camera]",
            config.printer.profile
        ))),
        Some(crate::profile::CameraProfile::Pushed) => Ok(scanning::FrameOrigin::Pushed),
        Some(crate::profile::CameraProfile::V4l2 {
            device,
            width,
            height,
            fps,
        }) => v4l2_origin(device, *width, *height, *fps),
    }
}

#[cfg(feature = "camera")]
fn v4l2_origin(
    device: &Path,
    width: u32,
    height: u32,
    fps: u32,
) -> Result<scanning::FrameOrigin, StartError> {
    let number = device
        .to_string_lossy()
        .trim_start_matches("/dev/video")
        .parse()
        .map_err(|_| {
            StartError::Scan(format!(
                "source: camera {} is not a /dev/videoN device",
                device.display()
            ))
        })?;
    Ok(scanning::FrameOrigin::Camera(
        crate::scan::source::CameraSettings {
            device: number,
            width,
            height,
            frames_per_second: fps,
        },
    ))
}

#[cfg(not(feature = "camera"))]
fn v4l2_origin(
    _device: &Path,
    _width: u32,
    _height: u32,
    _fps: u32,
) -> Result<scanning::FrameOrigin, StartError> {
    Err(StartError::Scan(
        "source: camera is a V4L2 camera in the profile, which needs posd built with the `camera` feature (on Android, the profile's camera is source = \"pushed\")"
            .to_owned(),
    ))
}

/// Watches the profile's evdev scan key: a press starts a scan for the oldest charge waiting for
/// its payment code, or says there is none. A key the POS app forwards needs no watcher: its
/// presses arrive as `POST /v1/scan`.
fn spawn_scan_key(key: Option<crate::profile::ScanKeyProfile>, api: Arc<routes::Api>) {
    let (device, key_code) = match key {
        Some(crate::profile::ScanKeyProfile::Evdev {
            input_device,
            key_code,
        }) => (input_device, key_code),
        Some(crate::profile::ScanKeyProfile::App) => {
            tracing::info!("scan key: the POS app forwards its presses as POST /v1/scan");
            return;
        }
        None => return,
    };
    tokio::spawn(async move {
        let (presses, mut pressed) = tokio::sync::mpsc::channel(4);
        let orders = api.orders.clone();
        let watcher = tokio::spawn(async move {
            let pending = move || orders.has_awaiting();
            if let Err(e) =
                crate::scan::key::watch_scan_key(&device, key_code, pending, presses).await
            {
                tracing::warn!("scan key unavailable: {e}");
            }
        });
        while let Some(press) = pressed.recv().await {
            match press {
                crate::scan::key::KeyPress::StartScan => {
                    if let Ok(Some(order)) = api.orders.awaiting_code().await {
                        let id = order.id().to_string();
                        match api.scanner.reserve(Some(&id)) {
                            Ok(slot) => routes::scan_for_order(api.clone(), slot, id),
                            Err(busy) => api.orders.events().publish(
                                events::Event::new(events::EventKind::ScanEnded)
                                    .order(id)
                                    .detail(busy.to_string()),
                            ),
                        }
                    }
                }
                crate::scan::key::KeyPress::NothingPending => api
                    .orders
                    .events()
                    .publish(events::Event::new(events::EventKind::NothingToScan)),
            }
        }
        let _ = watcher.await;
    });
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
        dns_servers: Vec::new(),
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
                store.prune_final_older_than(days, crate::clock::now())
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
