//! Stopping and supervising the real daemon: SIGTERM ends it within seconds, whatever is in flight
//! (a gateway call, a printer that takes no more bytes), and what was in flight is finished at the
//! next start; systemd's watchdog is fed only while the printer thread answers.

mod support;

use hyper::Method;
use posd::sim::faults::Faults;
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};
use support::{
    Daemon, PipePrinter, charge_with_code, set_env, simulator, text_printer_profile, wait_final,
};

/// The `WATCHDOG=1` messages the daemon sends to `notify` within `window`.
fn watchdog_pings(notify: &UnixDatagram, window: Duration) -> usize {
    let until = Instant::now() + window;
    let mut pings = 0;
    let mut buf = [0u8; 512];
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        notify
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match notify.recv(&mut buf) {
            Ok(n) => {
                let message = String::from_utf8_lossy(&buf[..n]);
                pings += message.lines().filter(|l| *l == "WATCHDOG=1").count();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("{e}"),
        }
    }
    pings
}

/// Sends SIGTERM and waits for the daemon to exit; returns how long it took.
fn terminate(daemon: &mut Daemon, within: Duration) -> Duration {
    let asked = Instant::now();
    // SAFETY: kill(2) with the pid of our own child; it touches no memory of ours.
    let sent = unsafe { libc::kill(daemon.child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(sent, 0);
    loop {
        if let Some(status) = daemon.child.try_wait().unwrap() {
            assert!(status.success(), "{status}:\n{}", daemon.log());
            return asked.elapsed();
        }
        assert!(
            asked.elapsed() < within,
            "posd still running {within:?} after SIGTERM:\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_charge_in_flight_stops_and_the_charge_is_finished_once_at_restart() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simulator(Faults {
        latency_ms: 8_000,
        ..Faults::default()
    })
    .await;
    let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    set_env(&mut env, "POSD_GATEWAY_TIMEOUT_MS", "30000");
    let mut daemon = Daemon::start(dir.path(), env);
    daemon.ready().await;
    charge_with_code(&daemon.client(), "STOP-1", 100, "MY13697573pbmQsYhY").await;
    // The gateway has the request and sits on its answer.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sim.ledger().iter().any(|e| e.order_id == "STOP-1") {
        assert!(
            Instant::now() < deadline,
            "the charge never reached the gateway"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let took = terminate(&mut daemon, Duration::from_secs(8));
    assert!(took < Duration::from_secs(7), "stopping took {took:?}");

    sim.set_faults(Faults::default()).unwrap();
    let env = daemon.env.clone();
    let restarted = Daemon::start(dir.path(), env);
    restarted.ready().await;
    let order = wait_final(&restarted.client(), "STOP-1", Duration::from_secs(30)).await;
    assert_eq!(order["state"], "paid", "{order}");
    let entries: Vec<_> = sim
        .ledger()
        .into_iter()
        .filter(|e| e.order_id == "STOP-1")
        .collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].requests, 1, "charged once, never resent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_key_that_never_sends_does_not_delay_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simulator(Faults::default()).await;
    let fifo = dir.path().join("event0");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let profile = dir.path().join("till.toml");
    std::fs::write(
        &profile,
        format!(
            "{}\n[scan_key]\nsource = \"evdev\"\ninput_device = \"{}\"\nkey_code = 765\n",
            include_str!("../hardware/generic-58mm.toml"),
            fifo.display()
        ),
    )
    .unwrap();
    let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    set_env(&mut env, "POSD_PROFILE", profile.display().to_string());
    set_env(&mut env, "POSD_SCAN_ON_CHARGE", "key");
    let mut daemon = Daemon::start(dir.path(), env);
    daemon.ready().await;
    // The watcher is waiting on the device by now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let took = terminate(&mut daemon, Duration::from_secs(5));
    assert!(took < Duration::from_secs(4), "stopping took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_is_fed_only_while_the_printer_thread_answers() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simulator(Faults::default()).await;
    let fifo = dir.path().join("printer.fifo");
    let mut printer = PipePrinter::create(&fifo);
    printer.hold_one_page();
    let notify_path = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    set_env(&mut env, "POSD_PRINTER_DEVICE", fifo.display().to_string());
    set_env(&mut env, "NOTIFY_SOCKET", notify_path.display().to_string());
    set_env(&mut env, "WATCHDOG_USEC", "400000");
    let daemon = Daemon::start(dir.path(), env);
    daemon.ready().await;
    assert!(
        watchdog_pings(&notify, Duration::from_secs(2)) >= 2,
        "a healthy daemon feeds the watchdog:\n{}",
        daemon.log()
    );

    let (status, body) = daemon
        .client()
        .request(Method::POST, "/v1/print-test", None)
        .await
        .unwrap();
    assert!(status.is_success(), "{status} {body}");
    // The printer thread is now stuck in its write; what was sent before it stuck is dropped.
    printer.wait_full(Duration::from_secs(20));
    tokio::time::sleep(Duration::from_millis(300)).await;
    watchdog_pings(&notify, Duration::from_millis(10));
    assert_eq!(
        watchdog_pings(&notify, Duration::from_millis(1500)),
        0,
        "a daemon whose printer thread hangs is not vouched for:\n{}",
        daemon.log()
    );
    assert!(
        daemon
            .log()
            .contains("the store or the printer thread does not answer"),
        "{}",
        daemon.log()
    );

    // The printer takes the rest of the page; the thread answers again, and so does the watchdog.
    let deadline = Instant::now() + Duration::from_secs(10);
    while watchdog_pings(&notify, Duration::from_millis(100)) == 0 {
        printer.drain();
        assert!(
            Instant::now() < deadline,
            "the watchdog was not fed again:\n{}",
            daemon.log()
        );
    }
    let printed = printer.drain().len();
    assert!(printed > 4096, "the test page went out: {printed} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_the_printer_takes_no_bytes_stops_and_the_receipt_is_owed_at_restart() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simulator(Faults::default()).await;
    let fifo = dir.path().join("printer.fifo");
    let printer = PipePrinter::create(&fifo);
    printer.hold_one_page();
    let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    env.retain(|(key, _)| key != "POSD_PRINTER_DEVICE");
    let stuck = text_printer_profile(dir.path(), &fifo);
    set_env(&mut env, "POSD_PROFILE", stuck.display().to_string());
    let mut daemon = Daemon::start(dir.path(), env.clone());
    daemon.ready().await;
    charge_with_code(&daemon.client(), "STOP-PRINT-1", 100, "MY13697573pbmQsYhY").await;
    let order = wait_final(&daemon.client(), "STOP-PRINT-1", Duration::from_secs(15)).await;
    assert_eq!(order["state"], "paid", "{order}");
    // The receipt is on its way into the printer that takes no more.
    printer.wait_full(Duration::from_secs(20));

    let took = terminate(&mut daemon, Duration::from_secs(10));
    assert!(took < Duration::from_secs(8), "stopping took {took:?}");
    assert!(
        daemon
            .log()
            .contains("the printer did not finish its job in time"),
        "{}",
        daemon.log()
    );

    // At the next start with a printer that takes the bytes, the receipt owed is printed.
    drop(printer);
    let paper = dir.path().join("printer.bin");
    text_printer_profile(dir.path(), &paper);
    let restarted = Daemon::start(dir.path(), env);
    restarted.ready().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, order) = restarted
            .client()
            .request(Method::GET, "/v1/charges/STOP-PRINT-1", None)
            .await
            .unwrap();
        if order["receipt"]["status"]["status"] == "printed" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the receipt was not printed after the restart: {order}\n{}",
            restarted.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let bytes = std::fs::read(&paper).unwrap();
    let paper = support::read_receipt(&bytes);
    assert!(
        paper.text_lines.iter().any(|l| l.contains("補印")),
        "a receipt whose first sending ended uncertain is marked 補印: {:?}",
        paper.text_lines
    );
}
