//! The daemon's printer thread against a serial printer (a pty) that is off when a receipt is
//! due, or changes what holds the jobs.

mod support;

use hyper::Method;
use posd::sim::faults::Faults;
use serialport::SerialPort;
use std::io::{ErrorKind, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{Daemon, charge_with_code, set_env, simulator, wait_final};

#[derive(Default)]
struct Printer {
    /// The answers to `DLE EOT 2` and `DLE EOT 4`; `None`: the printer is off and says nothing.
    answers: Option<(u8, u8)>,
    /// Every job's bytes (a job ends when the line goes quiet).
    jobs: Vec<Vec<u8>>,
}

/// A printer on the master side of a pty; the daemon opens the slave by path.
fn printer_on(mut port: serialport::TTYPort, printer: Arc<Mutex<Printer>>) {
    port.set_timeout(Duration::from_millis(20)).unwrap();
    std::thread::spawn(move || {
        let mut job: Vec<u8> = Vec::new();
        let mut last_byte = Instant::now();
        let mut buffer = [0u8; 4096];
        loop {
            let read = match port.read(&mut buffer) {
                Ok(0) => return,
                Ok(n) => n,
                Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => 0,
                Err(_) => return,
            };
            let mut bytes = &buffer[..read];
            if read > 0 {
                last_byte = Instant::now();
            } else if !job.is_empty() && last_byte.elapsed() > Duration::from_millis(300) {
                printer.lock().unwrap().jobs.push(std::mem::take(&mut job));
            }
            while !bytes.is_empty() {
                if job.is_empty() && bytes.len() >= 3 && bytes[0] == 0x10 && bytes[1] == 0x04 {
                    let answers = printer.lock().unwrap().answers;
                    if let Some((offline_cause, paper_sensor)) = answers {
                        let answer = if bytes[2] == 2 {
                            offline_cause
                        } else {
                            paper_sensor
                        };
                        port.write_all(&[answer]).unwrap();
                        port.flush().unwrap();
                    }
                    bytes = &bytes[3..];
                } else {
                    job.extend_from_slice(bytes);
                    bytes = &[];
                }
            }
        }
    });
}

/// A daemon whose printer is a two-way serial printer on a pty (text in the printer's font, so
/// a 補印 mark can be read back).
async fn daemon_with_serial_printer(
    dir: &std::path::Path,
    printer: Arc<Mutex<Printer>>,
) -> (Daemon, posd::sim::RunningSim, serialport::TTYPort) {
    let sim = simulator(Faults::default()).await;
    let (master, slave) = serialport::TTYPort::pair().unwrap();
    let tty = slave.name().unwrap();
    printer_on(master, printer);
    let profile = dir.join("till.toml");
    std::fs::write(
        &profile,
        format!(
            "name = \"test till\"\n[printer]\nwidth_dots = 384\ndots_per_mm = 8\nencoding = \"gb18030\"\n\
             code39_module_widths = [1, 2]\ntwo_way = true\ncut = false\n\
             [printer.transport.serial]\npath = \"{tty}\"\nbaud = 115200\n"
        ),
    )
    .unwrap();
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
    let printer = Arc::new(Mutex::new(Printer::default()));
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
    printer.lock().unwrap().answers = Some((0x12, 0x12));
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
    let printer = Arc::new(Mutex::new(Printer {
        // Cover open (offline cause bit 2), paper fine.
        answers: Some((0x12 | 0x04, 0x12)),
        ..Printer::default()
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

    // The cover is closed; the paper is out (offline cause bit 5, paper sensor bits 5 and 6).
    printer.lock().unwrap().answers = Some((0x12 | 0x20, 0x12 | 0x60));
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
