//! The sync budget of a charge, counted with `strace -y` attached to the real daemon (Debian's
//! `strace`; attaching needs root or ptrace rights, as in CI): every `fsync`, `fdatasync` and
//! `sync_file_range` from the `POST` until the receipt is printed, by the file it was made on. On
//! the one-client path with a printer link, and on the app printer link (the POS app leases the
//! job and reports it printed).

mod support;

use base64::Engine;
use hyper::{Method, StatusCode};
use posd::local_client::LocalClient;
use posd::sim::faults::Faults;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{Daemon, simulator, wait_final};

/// Charges taken one after the other; the figure is their mean.
const CHARGES: usize = 3;

/// Sync calls allowed per charge, from the `POST` to the printed receipt: two durable steps,
/// each one `fdatasync` of the store's journal. The order is stored already `Sending` before its
/// request leaves; the gateway's answer is stored (its receipt owed with it) before anyone is
/// told. The print job, the print result and the app's lease are noted in the journal without a
/// sync of their own (see ARCHITECTURE.md, "Durability under power loss").
const BUDGET_PER_CHARGE: usize = 2;

struct Trace {
    strace: Child,
    output: std::path::PathBuf,
}

impl Trace {
    /// Attaches to every thread of `pid` and returns once strace says it has.
    fn attach(pid: u32, dir: &Path) -> Trace {
        let output = dir.join("syncs.strace");
        let attached = dir.join("strace.stderr");
        let strace = Command::new("strace")
            .args([
                "-f",
                "-y",
                "-e",
                "trace=fsync,fdatasync,sync_file_range,sync,syncfs",
            ])
            .arg("-o")
            .arg(&output)
            .args(["-p", &pid.to_string()])
            .stdin(Stdio::null())
            .stderr(std::fs::File::create(&attached).unwrap())
            .spawn()
            .expect("strace runs (Debian: apt-get install strace)");
        // strace says "Process N attached with T threads" once it holds every thread.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let said = std::fs::read_to_string(&attached).unwrap_or_default();
            if said.contains("attached") {
                break;
            }
            assert!(Instant::now() < deadline, "strace did not attach: {said}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Trace { strace, output }
    }

    /// Detaches and returns the calls seen, one line each.
    fn finish(mut self) -> Vec<String> {
        // SAFETY: kill(2) with a pid of our own child; SIGINT makes strace detach cleanly.
        unsafe { libc::kill(self.strace.id() as i32, libc::SIGINT) };
        self.strace.wait().unwrap();
        std::fs::read_to_string(&self.output)
            .unwrap()
            .lines()
            .filter(|line| !line.contains("resumed>") && line.contains('('))
            .map(str::to_owned)
            .collect()
    }
}

/// `fdatasync(7</…/orders/sled/db>)` → `fdatasync db`.
fn call_and_file(line: &str) -> String {
    let call = line
        .split_whitespace()
        .nth(1)
        .and_then(|rest| rest.split('(').next())
        .unwrap_or("?");
    let file = line
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(path, _)| {
            let path = Path::new(path);
            let parent = path
                .parent()
                .and_then(|p| p.file_name())
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            if parent == "payment_codes" {
                "payment_codes/<code>".to_owned()
            } else {
                path.file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default()
            }
        })
        .unwrap_or_default();
    format!("{call} {file}")
}

/// Takes `CHARGES` charges while strace counts, each until its receipt is printed (on the app
/// link, by leasing it and reporting it printed as the POS app does).
async fn count_syncs(daemon: &Daemon, dir: &Path, app: bool) -> Vec<String> {
    let client = daemon.client();
    let trace = Trace::attach(daemon.child.id(), dir);
    for n in 0..CHARGES {
        let mut charge = support::latte(60);
        charge["payment_code"] = json!(format!("MY13697573pbmQ{n:02}01"));
        let (status, order) = client
            .request(Method::POST, "/v1/charges", Some(&charge))
            .await
            .unwrap();
        assert_eq!(status, 201, "{order}");
        let id = order["order_id"].as_str().unwrap().to_owned();
        let order = wait_final(&client, &id, Duration::from_secs(15)).await;
        assert_eq!(order["state"], "paid");
        if app {
            print_on_the_app(&client, &id).await;
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let order = wait_final(&client, &id, Duration::from_secs(15)).await;
            if order["receipt"]["status"]["status"] == "printed" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the receipt was not printed: {order}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    trace.finish()
}

/// What the POS app does with a receipt: leases it, prints it, reports it printed.
async fn print_on_the_app(client: &LocalClient, id: &str) {
    let (status, job) = client
        .request(Method::GET, "/v1/print-jobs/next?wait=15", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{job}");
    assert_eq!(job["order_id"], id, "{job}");
    assert_eq!(job["reprint"], false, "{job}");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(job["bytes"].as_str().unwrap())
        .unwrap();
    assert!(!bytes.is_empty());
    let path = format!("/v1/print-jobs/{}/result", job["job_id"].as_str().unwrap());
    let (status, answer): (StatusCode, Value) = client
        .request(Method::POST, &path, Some(&json!({"outcome": "printed"})))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{answer}");
}

fn assert_within_budget(calls: &[String]) {
    let mut by_file = BTreeMap::<String, usize>::new();
    for line in calls {
        *by_file.entry(call_and_file(line)).or_default() += 1;
    }
    let summary: Vec<String> = by_file
        .iter()
        .map(|(call, count)| format!("{count:3}  {call}"))
        .collect();
    eprintln!(
        "{} sync calls for {CHARGES} charges:\n{}",
        calls.len(),
        summary.join("\n")
    );
    assert!(
        calls.len() <= BUDGET_PER_CHARGE * CHARGES,
        "{} sync calls for {CHARGES} charges (budget {BUDGET_PER_CHARGE} each):\n{}",
        calls.len(),
        summary.join("\n")
    );
    assert!(
        calls
            .iter()
            .all(|line| !line.contains("syncfs") && !line.contains(" sync(")),
        "the store syncs its own files, never the whole file system:\n{}",
        calls.join("\n")
    );
}

#[tokio::test]
async fn a_charge_stays_within_its_sync_budget() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::serving(dir.path(), &sim).await;
    let calls = count_syncs(&daemon, dir.path(), false).await;
    assert_within_budget(&calls);
}

#[tokio::test]
async fn a_charge_printed_by_the_app_stays_within_the_same_budget() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    env.retain(|(key, _)| key != "POSD_PRINTER_DEVICE");
    support::set_env(&mut env, "POSD_PROFILE", "sunmi-v2-pro");
    support::set_env(&mut env, "POSD_SCAN_SOURCE", "pushed");
    let daemon = Daemon::start(dir.path(), env);
    daemon.ready().await;
    let calls = count_syncs(&daemon, dir.path(), true).await;
    assert_within_budget(&calls);
}
