//! The daemon's printer thread against a serial printer (a pty) that is off when a receipt is
//! due, or changes what holds the jobs.

mod support;

use hyper::Method;
use posd::escpos::status::PrinterStatus;
use posd::sim::faults::Faults;
use serialport::SerialPort;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{Daemon, PtyPaper, charge_with_code, pty_printer_on, set_env, simulator, wait_final};

/// A daemon whose printer is a two-way serial printer on a pty (text in the printer's font, so
/// a 補印 mark can be read back).
async fn daemon_with_serial_printer(
    dir: &std::path::Path,
    printer: Arc<Mutex<PtyPaper>>,
) -> (Daemon, posd::sim::RunningSim, serialport::TTYPort) {
    let sim = simulator(Faults::default()).await;
    let (master, slave) = serialport::TTYPort::pair().unwrap();
    let tty = slave.name().unwrap();
    pty_printer_on(master, printer);
    let profile = support::serial_text_printer_profile(dir, &tty);
    let mut env = Daemon::env_for(dir, &sim.url(), sim.ca_pem().unwrap());
    env.retain(|(key, _)| key != "POSD_PRINTER_DEVICE");
    set_env(&mut env, "POSD_PROFILE", profile.display().to_string());
    let daemon = Daemon::start(dir, env);
    daemon.ready().await;
    (daemon, sim, slave)
}

async fn receipt_status(daemon: &Daemon, id: &str) -> serde_json::Value {
    let (_, order) = daemon
        .client()
        .request(Method::GET, &format!("/v1/charges/{id}"), None)
        .await
        .unwrap();
    order
}

/// The printer is switched off when the sale is made: it answers no status request, so not a
/// byte of the receipt is sent. Once it is switched on, the receipt prints for the first time:
/// it is the original, not a reprint, and must not be marked 補印.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_never_sent_is_not_marked_reprint_when_the_printer_comes_on() {
    let dir = tempfile::tempdir().unwrap();
    let printer = Arc::new(Mutex::new(PtyPaper {
        off: true,
        ..PtyPaper::default()
    }));
    let (daemon, _sim, _slave) = daemon_with_serial_printer(dir.path(), printer.clone()).await;
    charge_with_code(&daemon.client(), "OFF-1", 100, "MY13697573pbmQsYhY").await;
    let order = wait_final(&daemon.client(), "OFF-1", Duration::from_secs(15)).await;
    assert_eq!(order["state"], "paid", "{order}");

    // The status request goes unanswered: the job fails before any of it is sent.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let order = receipt_status(&daemon, "OFF-1").await;
        if order["receipt"]["status"]["status"] == "failed" {
            break;
        }
        assert!(Instant::now() < deadline, "{order}\n{}", daemon.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        printer.lock().unwrap().jobs.is_empty(),
        "nothing of the receipt reached the printer while it was off"
    );

    // The printer is switched on, ready.
    printer.lock().unwrap().off = false;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let order = receipt_status(&daemon, "OFF-1").await;
        if order["receipt"]["status"]["status"] == "printed" {
            break;
        }
        assert!(Instant::now() < deadline, "{order}\n{}", daemon.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while printer.lock().unwrap().jobs.is_empty() {
        assert!(Instant::now() < deadline, "no job bytes");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let jobs = printer.lock().unwrap().jobs.clone();
    assert_eq!(jobs.len(), 1, "one receipt");
    let paper = support::read_receipt(&jobs[0]);
    assert!(
        !paper.text_lines.iter().any(|l| l.contains("補印")),
        "the only copy ever printed is marked 補印: {:?}",
        paper.text_lines
    );
}

/// The cover is open when the receipt is due (the POS app is told `cover_open`); the cashier
/// closes it, and the printer now reports the paper out. The app must hear why the receipt is
/// still held: `paper_out`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_printer_whose_fault_changes_is_reported_with_the_new_fault() {
    let dir = tempfile::tempdir().unwrap();
    let printer = Arc::new(Mutex::new(PtyPaper {
        status: PrinterStatus {
            cover_open: true,
            ..PrinterStatus::default()
        },
        ..PtyPaper::default()
    }));
    let (daemon, _sim, _slave) = daemon_with_serial_printer(dir.path(), printer.clone()).await;
    let events = support::collect_events(&dir.path().join("posd.sock")).await;
    charge_with_code(&daemon.client(), "COVER-1", 100, "MY13697573pbmQsYhY").await;
    let order = wait_final(&daemon.client(), "COVER-1", Duration::from_secs(15)).await;
    assert_eq!(order["state"], "paid", "{order}");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !support::kinds(&events).contains(&"cover_open".to_owned()) {
        assert!(Instant::now() < deadline, "{:?}", support::kinds(&events));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The cover is closed; the paper is out.
    printer.lock().unwrap().status = PrinterStatus {
        paper_out: true,
        ..PrinterStatus::default()
    };
    // The printer thread asks again every 2 s.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let order = receipt_status(&daemon, "COVER-1").await;
    assert_eq!(order["receipt"]["status"]["status"], "pending", "{order}");
    assert!(printer.lock().unwrap().jobs.is_empty());
    let kinds = support::kinds(&events);
    assert!(
        kinds.contains(&"paper_out".to_owned()),
        "the receipt is held for paper out, and the app was last told cover_open: {kinds:?}"
    );
}
