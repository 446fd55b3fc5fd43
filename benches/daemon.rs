//! The daemon's own cost per charge: the real `posd run` (this bench's build of it) against an
//! in-process simulator answering at once, next to the bare client round trip to the same
//! simulator, measured in the same run, in alternating rounds so a change in machine load hits
//! both alike.
//!
//! A charge is `POST /v1/charges` with a payment code on the daemon's socket, then the wait for
//! its `paid` event on `GET /v1/events`, as a POS app waits: the daemon stores the order, sends
//! `api/transaction`, stores the answer (the event comes only once that is durable) and queues
//! the receipt (to a file). One event stream serves every client, as one POS app's stream serves
//! its charges; an order whose event does not come within a second (the stream fell behind) is
//! read with `GET /v1/charges/{id}` instead, and those reads are counted. Asking
//! `GET /v1/charges/{id}` every millisecond instead, as this bench did before, made 16 clients
//! spend on polling the CPU the daemon needs on a 2-core machine; `BENCH_POLL=1` measures that
//! way again. The bare round trip is one `api/transaction` through `posd::gateway::Client`.
//! Their difference is what the daemon adds (storage, its local API, the order worker). Both are
//! measured one at a time and with 16 clients at once; the daemon's resident
//! memory is read from `/proc` when idle and, at its highest, during the load, and so is the CPU
//! time it used per charge over the measured rounds (receipts included): a figure that the
//! machine's load moves far less than latencies. The third peer is
//! one bare 512-byte write and `fdatasync` on the same disk, in the same rounds: a charge costs
//! two durable steps, each one `fdatasync` of the store's journal, shared by concurrent charges
//! (group commit), so the 16-client p99 is read against the 1-client p99 and against it.
//!
//! `POSD_DAEMON_IN_FLIGHT` overrides `policy.max_requests_in_flight` for a run: with 16 clients
//! and 4 in flight, every charge still gets a pass at once (the gate gives eight per place on the
//! wire), so each is marked `Sending` in the step that stores it, and the requests beyond 4 wait
//! for a place on the wire without a write. `POSD_BENCH_GATEWAY_MS` makes the simulator answer
//! that many milliseconds late (its `latency_ms` fault), as a gateway across a mobile network
//! does, for the daemon and the bare client alike.
//!
//! The whole chain (clients, simulator, daemon) shares this machine's cores, and 16 clients in a
//! closed loop keep them busy: then Little's law sets the 16 clients' mean latency at 16 times the
//! machine's CPU per charge divided by its cores, however the daemon shares its syncs. So the
//! bench also reads the machine's CPU time from `/proc/stat` over the daemon's rounds, and prints
//! that floor beside what was measured: a mean at the floor means no charge waited on another
//! for anything but a core.
//!
//! Run with `cargo bench --bench daemon`.

#[path = "../tests/support/mod.rs"]
mod support;

use hyper::Method;
use posd::api::{PaymentCode, TransactionRequest};
use posd::envelope::AgentKey;
use posd::gateway::{Client, GatewayConfig};
use posd::local_client::LocalClient;
use posd::sim::faults::Faults;
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{Daemon, rss_kib};
use tokio::sync::oneshot;

/// Enough samples that a p99 is not one or two stragglers: the 4th slowest of 400, the 8th of 768.
const SEQUENTIAL: usize = 400;
const CLIENTS: usize = 16;
const PER_CLIENT: usize = 48;
/// Rounds the measurements are split into, alternating daemon and bare client.
const ROUNDS: usize = 4;
const WARM_UP: usize = 20;
/// The polling step of `BENCH_POLL=1`.
const POLL: Duration = Duration::from_millis(1);
/// Long enough for the daemon to print the receipts still owed once the last charge is paid.
const RECEIPTS_SETTLE: Duration = Duration::from_secs(1);
/// How long a charge waits for its event before it reads the order instead.
const EVENT_PATIENCE: Duration = Duration::from_secs(1);

fn main() {
    // One measurement, so the arguments `cargo bench` passes (`--bench`, a filter) are ignored.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run());
}

async fn run() {
    let gateway_ms = match std::env::var("POSD_BENCH_GATEWAY_MS") {
        Ok(ms) => ms
            .parse()
            .unwrap_or_else(|_| panic!("POSD_BENCH_GATEWAY_MS is {ms:?}, not milliseconds")),
        Err(_) => 0,
    };
    let simulator = support::simulator(Faults {
        latency_ms: gateway_ms,
        ..Faults::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_pem = simulator.ca_pem().expect("the simulator serves TLS");
    let mut env = Daemon::env_for(dir.path(), &simulator.url(), ca_pem);
    for (key, value) in [
        ("POSD_POLICY_MAX_OPEN_ORDERS", "1000000".to_owned()),
        ("POSD_POLICY_MAX_OPEN_AMOUNT", "1000000000000".to_owned()),
        // A till's printer is a device file; without one the daemon would also draw a PNG
        // preview of every receipt, which no till does.
        (
            "POSD_PRINTER_DEVICE",
            dir.path().join("printer.bin").display().to_string(),
        ),
    ] {
        support::set_env(&mut env, key, value);
    }
    // `POSD_DAEMON_IN_FLIGHT` overrides `policy.max_requests_in_flight` (default 4) for a run.
    if let Ok(in_flight) = std::env::var("POSD_DAEMON_IN_FLIGHT") {
        support::set_env(&mut env, "POSD_POLICY_MAX_REQUESTS_IN_FLIGHT", in_flight);
    }
    let daemon = Daemon::start(dir.path(), env);
    daemon.ready().await;
    let pid = daemon.child.id();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = rss_kib(pid);

    let bare = Arc::new(
        Client::new(GatewayConfig {
            url: simulator.url().parse().expect("simulator URL"),
            agent_uid: support::AGENT_UID.into(),
            agent_key: AgentKey::new(support::KEY).expect("key"),
            store_uid: support::STORE.into(),
            ca_file: Some(dir.path().join("gateway-ca.pem")),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            dns_servers: Vec::new(),
        })
        .expect("gateway client"),
    );
    let local = Arc::new(Charger {
        client: daemon.client(),
        finals: if std::env::var_os("BENCH_POLL").is_some_and(|v| v == "1") {
            None
        } else {
            Some(Finals::follow(daemon.client().socket()).await)
        },
        reads: AtomicU64::new(0),
    });
    let codes = Arc::new(AtomicU64::new(0));

    for _ in 0..WARM_UP {
        local.charge_until_paid(&codes).await;
        bare_round_trip(&bare, &codes).await;
    }
    local.reads.store(0, Ordering::Relaxed);

    let peak_rss = Arc::new(AtomicU64::new(idle_rss));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = tokio::spawn({
        let (peak_rss, sampling) = (peak_rss.clone(), sampling.clone());
        async move {
            while sampling.load(Ordering::Relaxed) {
                peak_rss.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    });

    let cpu_before = support::cpu_time(pid);
    let (mut daemon_one, mut bare_one) = (Vec::new(), Vec::new());
    let (mut daemon_many, mut bare_many) = (Latencies::default(), Latencies::default());
    let (mut machine_one, mut machine_many) = (MachineCpu::default(), MachineCpu::default());
    let mut syncs = Vec::new();
    let mut probe = std::fs::File::create(dir.path().join("sync-probe")).expect("probe file");
    for _ in 0..ROUNDS {
        for _ in 0..SEQUENTIAL / ROUNDS {
            syncs.push(bare_fdatasync(&mut probe));
        }
        for _ in 0..SEQUENTIAL / ROUNDS {
            let before = MachineCpu::read();
            daemon_one.push(local.charge_until_paid(&codes).await);
            machine_one.add_since(&before);
            bare_one.push(bare_round_trip(&bare, &codes).await);
        }
        let before = MachineCpu::read();
        daemon_many.merge(
            concurrently(PER_CLIENT / ROUNDS, || {
                let (local, codes) = (local.clone(), codes.clone());
                async move { local.charge_until_paid(&codes).await }
            })
            .await,
        );
        machine_many.add_since(&before);
        bare_many.merge(
            concurrently(PER_CLIENT / ROUNDS, || {
                let (bare, codes) = (bare.clone(), codes.clone());
                async move { bare_round_trip(&bare, &codes).await }
            })
            .await,
        );
    }
    sampling.store(false, Ordering::Relaxed);
    sampler.await.expect("RSS sampler");
    // The receipts of the last charges are laid out and printed after their `paid` event.
    tokio::time::sleep(RECEIPTS_SETTLE).await;
    let cpu_after = support::cpu_time(pid);
    let charges = (daemon_one.len() + daemon_many.samples.len()) as f64;
    let cpu_per_charge =
        |before: Duration, after: Duration| (after - before).as_secs_f64() * 1e3 / charges;

    let rows = [
        Row::new("daemon charge until paid, 1 client", daemon_one, None),
        Row::new("bare api/transaction, 1 client", bare_one, None),
        Row::new(
            &format!("daemon charge until paid, {CLIENTS} clients"),
            daemon_many.samples,
            Some(daemon_many.elapsed),
        ),
        Row::new(
            &format!("bare api/transaction, {CLIENTS} clients"),
            bare_many.samples,
            Some(bare_many.elapsed),
        ),
        Row::new("bare 512-byte write + fdatasync", syncs, None),
    ];
    print_table(&rows);
    println!();
    for (daemon_row, bare_row) in [(&rows[0], &rows[1]), (&rows[2], &rows[3])] {
        println!(
            "daemon overhead ({}): p50 {:.2} ms ({:.1}x the bare round trip), p99 {:.2} ms",
            daemon_row.name.rsplit(", ").next().unwrap_or_default(),
            ms(daemon_row.p50) - ms(bare_row.p50),
            ms(daemon_row.p50) / ms(bare_row.p50),
            ms(daemon_row.p99) - ms(bare_row.p99),
        );
    }
    let sync = ms(rows[4].p50);
    println!(
        "16 clients against 1: p99 {:.2}x, p50 {:.2}x (the bare round trip's own: p99 {:.2}x, p50 \
         {:.2}x); in fdatasyncs (median {:.2} ms): 1 client p50 {:.1}, p99 {:.1}; 16 clients p50 \
         {:.1}, p99 {:.1}",
        ms(rows[2].p99) / ms(rows[0].p99),
        ms(rows[2].p50) / ms(rows[0].p50),
        ms(rows[3].p99) / ms(rows[1].p99),
        ms(rows[3].p50) / ms(rows[1].p50),
        sync,
        ms(rows[0].p50) / sync,
        ms(rows[0].p99) / sync,
        ms(rows[2].p50) / sync,
        ms(rows[2].p99) / sync,
    );
    match &local.finals {
        Some(_) => println!(
            "waited on the event stream; orders read because their event was late: {}",
            local.reads.load(Ordering::Relaxed)
        ),
        None => println!("polled GET /v1/charges/{{id}} every {POLL:?} (BENCH_POLL=1)"),
    }
    print_closed_loop_floor(&rows, &machine_one, &machine_many);
    if gateway_ms > 0 {
        println!("the simulator answered {gateway_ms} ms late (POSD_BENCH_GATEWAY_MS)");
    }
    let (user, system) = (
        cpu_per_charge(cpu_before.0, cpu_after.0),
        cpu_per_charge(cpu_before.1, cpu_after.1),
    );
    println!(
        "daemon CPU per charge, receipt included: {:.2} ms (user {user:.2}, system {system:.2})",
        user + system
    );
    println!(
        "daemon RSS: idle {} KiB, highest under load {} KiB",
        idle_rss,
        peak_rss.load(Ordering::Relaxed)
    );
    drop(daemon);
    simulator.shutdown();
}

/// Charges through the daemon's socket, each followed until it is final.
struct Charger {
    client: LocalClient,
    /// The event stream's final states, or `None` to poll (`BENCH_POLL=1`).
    finals: Option<Finals>,
    /// Orders read because their event did not come in time.
    reads: AtomicU64,
}

impl Charger {
    /// One charge, from the POST until the daemon says it is paid.
    async fn charge_until_paid(&self, codes: &AtomicU64) -> Duration {
        let body = json!({
            "amount": 150,
            "items": [{"id": "1", "name": "拿鐵咖啡", "unit_price": 75, "quantity": 2}],
            "payment_code": payment_code(codes),
        });
        let start = Instant::now();
        let (status, order) = self
            .client
            .request(Method::POST, "/v1/charges", Some(&body))
            .await
            .expect("POST /v1/charges");
        assert!(status.is_success(), "POST /v1/charges: {status}: {order}");
        let id = order["order_id"].as_str().expect("order_id").to_owned();
        let state = match &self.finals {
            Some(finals) => {
                let mut told = finals.told(&id);
                loop {
                    match tokio::time::timeout(EVENT_PATIENCE, &mut told).await {
                        Ok(kind) => break kind.expect("the event stream is followed"),
                        Err(_) => {
                            self.reads.fetch_add(1, Ordering::Relaxed);
                            if let Some(state) = self.final_state(&id).await {
                                break state;
                            }
                        }
                    }
                }
            }
            None => loop {
                if let Some(state) = self.final_state(&id).await {
                    break state;
                }
                tokio::time::sleep(POLL).await;
            },
        };
        assert_eq!(state, "paid", "order {id}");
        start.elapsed()
    }

    /// The order's state if it is final.
    async fn final_state(&self, id: &str) -> Option<String> {
        let (status, order) = self
            .client
            .request(Method::GET, &format!("/v1/charges/{id}"), None)
            .await
            .expect("GET /v1/charges/{id}");
        assert!(status.is_success(), "GET {id}: {status}: {order}");
        let state = order["state"].as_str().expect("state");
        support::is_final(state).then(|| state.to_owned())
    }
}

/// The final state of each order, from one `GET /v1/events` stream: a POS app's wait.
struct Finals {
    told: Arc<Mutex<Told>>,
}

/// Final states not yet asked for (the event can come before the POST's answer), and the
/// charges waiting for theirs.
#[derive(Default)]
struct Told {
    early: HashMap<String, String>,
    waiting: HashMap<String, oneshot::Sender<String>>,
}

impl Finals {
    /// Follows the daemon's events from now on.
    async fn follow(socket: &std::path::Path) -> Finals {
        let mut lines = support::event_lines(socket).await;
        // The stream is subscribed once its answer has begun.
        let status = lines.next_line().await.expect("events").expect("an answer");
        assert!(status.contains(" 200 "), "GET /v1/events: {status}");
        let told = Arc::new(Mutex::new(Told::default()));
        let sink = told.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let Some(data) = line.strip_prefix("data: ") else {
                    continue;
                };
                let event: serde_json::Value = serde_json::from_str(data).expect("event JSON");
                let (Some(kind), Some(id)) = (event["kind"].as_str(), event["order_id"].as_str())
                else {
                    continue;
                };
                // The events that name an order's final state are named as the state is.
                if !support::is_final(kind) {
                    continue;
                }
                let mut told = sink.lock().expect("finals");
                match told.waiting.remove(id) {
                    Some(waiter) => {
                        let _ = waiter.send(kind.to_owned());
                    }
                    None => {
                        told.early.insert(id.to_owned(), kind.to_owned());
                    }
                }
            }
        });
        Finals { told }
    }

    /// Resolves with the order's final state once it is told.
    fn told(&self, id: &str) -> oneshot::Receiver<String> {
        let (sender, receiver) = oneshot::channel();
        let mut told = self.told.lock().expect("finals");
        match told.early.remove(id) {
            Some(kind) => {
                let _ = sender.send(kind);
            }
            None => {
                told.waiting.insert(id.to_owned(), sender);
            }
        }
        receiver
    }
}

/// One `api/transaction` straight to the simulator, as the daemon's order worker sends it.
async fn bare_round_trip(client: &Client, codes: &AtomicU64) -> Duration {
    let charge = support::two_lattes();
    let n = codes.fetch_add(1, Ordering::Relaxed);
    let request = TransactionRequest::offline(
        support::STORE,
        &format!("BARE-{n}"),
        "pos",
        &charge,
        PaymentCode::new(payment_code(codes)).unwrap(),
    );
    let start = Instant::now();
    let answer = client.call(&request).await.answered().expect("answered");
    let elapsed = start.elapsed();
    std::hint::black_box(answer);
    elapsed
}

/// One small durable write on the disk under the daemon's data, as the journal makes them.
fn bare_fdatasync(probe: &mut std::fs::File) -> Duration {
    use std::io::Write;
    let start = Instant::now();
    probe.write_all(&[0u8; 512]).expect("write");
    probe.sync_data().expect("fdatasync");
    start.elapsed()
}

/// A fresh code the simulator pays (its scripted endings are digits; this one ends in letters).
fn payment_code(codes: &AtomicU64) -> String {
    format!("MY{:08}pbmQsYhY", codes.fetch_add(1, Ordering::Relaxed))
}

#[derive(Default)]
struct Latencies {
    samples: Vec<Duration>,
    elapsed: Duration,
}

impl Latencies {
    fn merge(&mut self, other: Latencies) {
        self.samples.extend(other.samples);
        self.elapsed += other.elapsed;
    }
}

/// `CLIENTS` tasks, each running `each` times one after another.
async fn concurrently<F, Fut>(each: usize, task: F) -> Latencies
where
    F: Fn() -> Fut,
    Fut: Future<Output = Duration> + Send + 'static,
{
    let start = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let runs: Vec<Fut> = (0..each).map(|_| task()).collect();
            tokio::spawn(async move {
                let mut samples = Vec::with_capacity(runs.len());
                for run in runs {
                    samples.push(run.await);
                }
                samples
            })
        })
        .collect();
    let mut samples = Vec::new();
    for client in clients {
        samples.extend(client.await.expect("client task"));
    }
    Latencies {
        samples,
        elapsed: start.elapsed(),
    }
}

struct Row {
    name: String,
    count: usize,
    mean: Duration,
    p50: Duration,
    p99: Duration,
    per_second: Option<f64>,
}

impl Row {
    fn new(name: &str, mut samples: Vec<Duration>, elapsed: Option<Duration>) -> Row {
        samples.sort();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Row {
            name: name.to_owned(),
            count: samples.len(),
            mean: samples.iter().sum::<Duration>() / samples.len() as u32,
            p50: at(0.50),
            p99: at(0.99),
            per_second: elapsed.map(|e| samples.len() as f64 / e.as_secs_f64()),
        }
    }
}

fn print_table(rows: &[Row]) {
    println!(
        "| {:<42} | {:>5} | {:>9} | {:>9} | {:>9} |",
        "measurement", "n", "p50 ms", "p99 ms", "per s"
    );
    println!(
        "|{:-<44}|{:->7}|{:->11}|{:->11}|{:->11}|",
        "", "", "", "", ""
    );
    for row in rows {
        let per_second = row
            .per_second
            .map_or_else(|| "-".to_owned(), |r| format!("{r:.0}"));
        println!(
            "| {:<42} | {:>5} | {:>9.2} | {:>9.2} | {:>9} |",
            row.name,
            row.count,
            ms(row.p50),
            ms(row.p99),
            per_second
        );
    }
}

/// What the machine's cores did over some stretches of the run (every process's time, this
/// bench's and the simulator's included), from the `cpu` line of `/proc/stat`.
#[derive(Default)]
struct MachineCpu {
    /// Ticks spent running anything: user, nice, system, irq and softirq.
    busy: u64,
    /// Ticks the host took from this machine's virtual cores.
    stolen: u64,
    /// Every tick, idle and waiting for the disk included.
    total: u64,
}

impl MachineCpu {
    fn read() -> MachineCpu {
        let stat = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
        let ticks: Vec<u64> = stat
            .lines()
            .find_map(|line| line.strip_prefix("cpu "))
            .expect("/proc/stat has a cpu line")
            .split_whitespace()
            .map(|field| field.parse().expect("a tick count"))
            .collect();
        // user nice system idle iowait irq softirq steal; guest time is counted in user.
        let tick = |i: usize| ticks.get(i).copied().unwrap_or(0);
        MachineCpu {
            busy: tick(0) + tick(1) + tick(2) + tick(5) + tick(6),
            stolen: tick(7),
            total: (0..8).map(tick).sum(),
        }
    }

    /// Adds what the machine did since `before`.
    fn add_since(&mut self, before: &MachineCpu) {
        let now = MachineCpu::read();
        self.busy += now.busy - before.busy;
        self.stolen += now.stolen - before.stolen;
        self.total += now.total - before.total;
    }

    fn busy_ms_per_charge(&self, charges: usize) -> f64 {
        // SAFETY: sysconf only reads a system setting.
        let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        self.busy as f64 * 1e3 / ticks_per_second / charges as f64
    }

    fn share(&self, ticks: u64) -> f64 {
        100.0 * ticks as f64 / self.total.max(1) as f64
    }
}

/// The 16 clients' mean against the least a closed loop on this machine's cores allows.
fn print_closed_loop_floor(rows: &[Row], one: &MachineCpu, many: &MachineCpu) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (one_row, many_row) = (&rows[0], &rows[2]);
    let one_cpu = one.busy_ms_per_charge(one_row.count);
    let many_cpu = many.busy_ms_per_charge(many_row.count);
    let floor = CLIENTS as f64 * many_cpu / cores as f64;
    println!(
        "machine CPU per charge (every process): 1 client {one_cpu:.2} ms of a mean charge of \
         {:.2} ms; {CLIENTS} clients {many_cpu:.2} ms, the {cores} cores busy {:.0} % of those \
         rounds ({:.0} % taken by the host)",
        ms(one_row.mean),
        many.share(many.busy),
        many.share(many.stolen),
    );
    println!(
        "{CLIENTS} clients in a closed loop on {cores} cores: mean {:.2} ms against a floor of \
         {floor:.2} ms set by the CPU alone ({:.2}x); that floor is {:.2}x the 1-client mean",
        ms(many_row.mean),
        ms(many_row.mean) / floor,
        floor / ms(one_row.mean),
    );
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
