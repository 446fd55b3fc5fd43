//! The whole charge through the real daemon: a payment-code image pushed as a camera frame, the
//! gateway simulator over TLS, sled, and the receipt on a serial printer that is a real
//! pseudo-terminal, decoded back from its bytes. The printer runs out of paper and comes back.

mod support;

use hyper::Method;
use posd::escpos::status::PrinterStatus;
use posd::sim::faults::Faults;
use serde_json::{Value, json};
use serialport::SerialPort;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{
    Daemon, PipePrinter, PtyPaper, pty_printer_on, simulator, text_printer_profile, wait_final,
};

async fn until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    until_or(what, within, &mut done, String::new).await;
}

async fn until_or(
    what: &str,
    within: Duration,
    done: &mut impl FnMut() -> bool,
    context: impl Fn() -> String,
) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n{}",
            context()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn scan_pay_print_with_paper_out_and_read_the_paper_back() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();

    let (master, slave) = serialport::TTYPort::pair().unwrap();
    let tty = slave.name().unwrap();
    let paper = Arc::new(Mutex::new(PtyPaper {
        status: PrinterStatus {
            paper_out: true,
            ..PrinterStatus::default()
        },
        ..PtyPaper::default()
    }));
    pty_printer_on(master, paper.clone());
    let profile = support::serial_text_printer_profile(dir.path(), &tty);

    let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    env.retain(|(key, _)| key != "POSD_PRINTER_DEVICE");
    support::set_env(&mut env, "POSD_PROFILE", profile.display().to_string());
    env.push(("POSD_SCAN_SOURCE".into(), "pushed".into()));
    env.push(("POSD_SCAN_ON_CHARGE".into(), "auto".into()));
    // Tests run the debug build, several times slower than the device's release build.
    env.push(("POSD_SCAN_FRAME_BUDGET_MS".into(), "3000".into()));
    let daemon = Daemon::start(dir.path(), env);
    daemon.ready().await;
    let client = daemon.client();
    let events = support::collect_events(&dir.path().join("posd.sock")).await;

    let charge = json!({
        "amount": 150,
        "items": [
            {"id": "1", "name": "拿鐵咖啡", "unit_price": 60, "quantity": 2},
            {"id": "2", "name": "可頌", "unit_price": 30, "quantity": 1}
        ]
    });
    let (status, order) = client
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .unwrap();
    assert!(status.is_success(), "{order}");
    let id = order["order_id"].as_str().unwrap().to_owned();
    assert_eq!(order["state"], "awaiting_payment_code");

    // The POS app's camera: frames until the daemon has read the code.
    let frame = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/receipts/scan/mypay-payment-code.jpg"
    ))
    .unwrap();
    let socket = dir.path().join("posd.sock");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let state = client
            .request(Method::GET, &format!("/v1/charges/{id}"), None)
            .await
            .unwrap()
            .1["state"]
            .clone();
        if state != "awaiting_payment_code" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the pushed frames were never read"
        );
        post_frame(&socket, "image/jpeg", "", frame.clone()).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let order = wait_final(&client, &id, Duration::from_secs(15)).await;
    assert_eq!(order["state"], "paid", "{order}");

    // Paper out: the job is held and the POS app is told; nothing is lost.
    until_or(
        "paper_out",
        Duration::from_secs(15),
        &mut || support::kinds(&events).contains(&"paper_out".to_owned()),
        || {
            format!(
                "events {:?}\nlog:\n{}",
                support::kinds(&events),
                daemon.log()
            )
        },
    )
    .await;
    let (_, held) = client
        .request(Method::GET, &format!("/v1/charges/{id}"), None)
        .await
        .unwrap();
    assert_eq!(held["receipt"]["status"]["status"], "pending", "{held}");
    assert!(paper.lock().unwrap().jobs.is_empty());

    // Paper back: the held receipt prints.
    paper.lock().unwrap().status = PrinterStatus::default();
    until("printed", Duration::from_secs(15), || {
        support::kinds(&events).contains(&"printed".to_owned())
    })
    .await;
    until("the job bytes", Duration::from_secs(5), || {
        !paper.lock().unwrap().jobs.is_empty()
    })
    .await;
    let job = paper.lock().unwrap().jobs[0].clone();

    // Read the paper back with an independent decoder: the codes are the gateway's, byte for byte.
    let paper_read = support::read_receipt(&job);
    let gateway = &order["gateway"];
    assert_eq!(
        paper_read.code39,
        gateway["invoice_middle_barcode"].as_str().unwrap()
    );
    assert_eq!(
        paper_read.left_qr,
        gateway["invoice_left_qrcode"].as_str().unwrap()
    );
    assert_eq!(
        paper_read.right_qr,
        gateway["invoice_right_qrcode"].as_str().unwrap()
    );

    let (_, order_now) = client
        .request(Method::GET, &format!("/v1/charges/{id}"), None)
        .await
        .unwrap();
    assert_eq!(
        order_now["receipt"]["status"]["status"], "printed",
        "{order_now}"
    );
    let seen = support::kinds(&events);
    for kind in [
        "created",
        "scanning",
        "code_read",
        "submitting",
        "paid",
        "printing",
        "paper_out",
        "printer_back",
        "printed",
    ] {
        assert!(
            seen.contains(&kind.to_owned()),
            "no {kind} event in {seen:?}"
        );
    }
    let log = daemon.log();
    assert!(
        !log.contains("MY32270744gBT6cI8n"),
        "the scanned code reached the log"
    );
    for event in events.lock().unwrap().iter() {
        assert!(
            !event.to_string().contains("MY32270744gBT6cI8n"),
            "the code reached an event"
        );
    }
    drop(slave);
}

#[tokio::test]
async fn a_receipt_owed_when_the_daemon_died_prints_after_restart() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let printer_file = dir.path().join("printer.bin");
    let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    support::set_env(&mut env, "POSD_PRINTER_DEVICE", "/nonexistent/lp0");
    let mut daemon = Daemon::start(dir.path(), env.clone());
    daemon.ready().await;
    let client = daemon.client();
    let body = json!({"amount": 40, "payment_code": "MY6234567890123456"});
    let (_, order) = client
        .request(Method::POST, "/v1/charges", Some(&body))
        .await
        .unwrap();
    let id = order["order_id"].as_str().unwrap().to_owned();
    wait_final(&client, &id, Duration::from_secs(10)).await;
    until("the failed print", Duration::from_secs(10), || {
        daemon.log().contains("printing failed") || daemon.log().contains("PrintFailed")
    })
    .await;
    daemon.kill();

    // The job is stored without its bytes, to be laid out again from the order.
    let left_qr = {
        let store = posd::store::Store::open(dir.path().join("data").join("orders")).unwrap();
        let order_id = posd::order::OrderId::parse(&id).unwrap();
        let jobs = store.unprinted_jobs().unwrap();
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        assert!(jobs[0].escpos.is_empty(), "the stored job holds its bytes");
        let order = store.get(&order_id).unwrap().unwrap();
        order.last_answer().unwrap().value()["invoice_left_qrcode"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    // The printer is back (a file this time) and the daemon restarts: the owed job prints.
    for (key, value) in env.iter_mut() {
        if key == "POSD_PRINTER_DEVICE" {
            *value = printer_file.display().to_string();
        }
    }
    daemon.env = env;
    daemon.restart();
    daemon.ready().await;
    until("the owed receipt", Duration::from_secs(15), || {
        std::fs::metadata(&printer_file)
            .map(|m| m.len() > 0)
            .unwrap_or(false)
    })
    .await;
    wait_printed(&daemon.client(), &id, Duration::from_secs(10)).await;
    let printed = std::fs::read(&printer_file).unwrap();
    assert_eq!(support::read_receipt(&printed).left_qr, left_qr);
    assert_eq!(sim.ledger().len(), 1, "the restart charged nothing again");
}

/// The daemon stopped after an order was paid but before its print job was stored: the order
/// alone says a receipt is owed, and the next start prints it.
#[tokio::test]
async fn a_paid_order_whose_job_was_never_stored_prints_at_the_next_start() {
    use posd::order::{Action, Order, OrderId, PaymentCode, Policy, SendResult, Timestamp};
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let printer_file = dir.path().join("printer.bin");
    let answer: Value = serde_json::from_str(
        &std::fs::read_to_string("receipts/samples/b2c-issued-proof-and-detail.json").unwrap(),
    )
    .unwrap();
    let policy = Policy::default();
    let now = Timestamp::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    );
    let charge = serde_json::from_value(json!({"amount": 260})).unwrap();
    let mut order = Order::new(OrderId::parse("OWED-1").unwrap(), charge, now).unwrap();
    order
        .payment_code_scanned(PaymentCode::new("MY7234567890123456").unwrap(), now)
        .unwrap();
    assert_eq!(order.next_action(now, &policy), Action::Send { attempt: 1 });
    order
        .send_finished(
            SendResult::Answered {
                code: posd::api::Code::Paid,
                answer,
            },
            now,
            &policy,
            0,
        )
        .unwrap();
    {
        let store = posd::store::Store::open(dir.path().join("data").join("orders")).unwrap();
        store.insert(&order, &policy).unwrap();
        assert_eq!(store.receipts_pending().unwrap(), [order.id().clone()]);
        assert!(store.print_jobs(order.id()).unwrap().is_empty());
    }

    let daemon = Daemon::serving(dir.path(), &sim).await;
    wait_printed(&daemon.client(), "OWED-1", Duration::from_secs(15)).await;
    let printed = std::fs::read(&printer_file).unwrap();
    assert_eq!(
        support::read_receipt(&printed).left_qr,
        order.last_answer().unwrap().value()["invoice_left_qrcode"]
            .as_str()
            .unwrap()
    );
    assert!(sim.ledger().is_empty(), "printing charged nothing");
}

/// Waits until the order's receipt is recorded as printed.
async fn wait_printed(client: &posd::local_client::LocalClient, id: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let (_, order) = client
            .request(Method::GET, &format!("/v1/charges/{id}"), None)
            .await
            .unwrap();
        if order["receipt"]["status"]["status"] == "printed" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the owed receipt was not recorded as printed: {order}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Posts one frame over the real socket.
async fn post_frame(
    socket: &std::path::Path,
    content_type: &str,
    query: &str,
    bytes: Vec<u8>,
) -> (hyper::StatusCode, Value) {
    use http_body_util::{BodyExt, Full};
    let stream = tokio::net::UnixStream::connect(socket).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::post(format!("/v1/frames{query}"))
        .header("host", "posd")
        .header("content-type", content_type)
        .body(Full::new(hyper::body::Bytes::from(bytes)))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_scan_that_reads_nothing_times_out_and_keeps_its_frames() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("failed-frames");
    let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    env.push(("POSD_SCAN_SOURCE".into(), "pushed".into()));
    env.push(("POSD_SCAN_TIMEOUT_MS".into(), "1500".into()));
    env.push((
        "POSD_SCAN_SAVE_FAILED_FRAMES".into(),
        saved.display().to_string(),
    ));
    let daemon = Daemon::start(dir.path(), env);
    daemon.ready().await;
    let socket = dir.path().join("posd.sock");

    // No scan running: a frame has nowhere to go.
    let mut png = Vec::new();
    image::GrayImage::from_pixel(64, 48, image::Luma([200]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let (status, answer) = post_frame(&socket, "image/png", "", png).await;
    assert_eq!(status, 409, "{answer}");

    let scan = tokio::spawn({
        let client = daemon.client();
        async move {
            client
                .request(Method::POST, "/v1/scan", Some(&json!({})))
                .await
                .unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let blank = vec![200u8; 64 * 48];
    let (status, answer) = post_frame(
        &socket,
        "application/octet-stream",
        "?width=64&height=48",
        blank,
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    let (status, answer) = post_frame(&socket, "application/octet-stream", "", vec![0; 10]).await;
    assert_eq!(status, 400, "a grey frame needs its size: {answer}");
    let (status, answer) = post_frame(&socket, "text/plain", "", vec![0; 10]).await;
    assert_eq!(status, 415, "{answer}");
    assert_eq!(answer["error"]["field"], "Content-Type");

    let (status, answer) = scan.await.unwrap();
    assert_eq!(status, 408, "the scan timed out: {answer}");
    let kept: Vec<_> = std::fs::read_dir(&saved).unwrap().collect();
    assert!(
        !kept.is_empty(),
        "the frame of the failed scan is kept for replay"
    );

    // A scan can be stopped on request.
    let client = daemon.client();
    let (_, nothing) = client
        .request(Method::POST, "/v1/scan/cancel", None)
        .await
        .unwrap();
    assert_eq!(nothing["cancelled"], false);
    let scan = tokio::spawn({
        let client = daemon.client();
        async move {
            client
                .request(
                    Method::POST,
                    "/v1/scan",
                    Some(&json!({"timeout_ms": 10000})),
                )
                .await
                .unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, stopped) = client
        .request(Method::POST, "/v1/scan/cancel", None)
        .await
        .unwrap();
    assert_eq!(stopped["cancelled"], true);
    let (status, answer) = scan.await.unwrap();
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cancelled")
    );
}

/// The link fails while a receipt is being sent: the receipt before it stays printed, and the one
/// it failed on is printed again once the printer is back, laid out anew and marked 補印, since
/// part of it may already be on paper.
#[tokio::test]
async fn a_receipt_the_link_failed_on_prints_again_marked_as_a_reprint() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let device = dir.path().join("lp0");
    let mut printer = PipePrinter::create(&device);
    // Text in the printer's font, so the 補印 mark can be read back from the bytes.
    let profile = text_printer_profile(dir.path(), &device);
    let mut env = Daemon::env_for(dir.path(), &sim.url(), sim.ca_pem().unwrap());
    env.retain(|(key, _)| key != "POSD_PRINTER_DEVICE");
    support::set_env(&mut env, "POSD_PROFILE", profile.display().to_string());
    let daemon = Daemon::start(dir.path(), env);
    daemon.ready().await;
    let client = daemon.client();

    let charge = |code: &str| {
        let mut charge = support::latte(60);
        charge["payment_code"] = json!(code);
        charge
    };
    let (_, first) = client
        .request(
            Method::POST,
            "/v1/charges",
            Some(&charge("MY13697573pbmQsA01")),
        )
        .await
        .unwrap();
    let first = first["order_id"].as_str().unwrap().to_owned();
    wait_printed(&client, &first, Duration::from_secs(15)).await;
    let first_paper = printer.drain().to_vec();
    assert!(!first_paper.is_empty());
    drop(printer);

    let (_, second) = client
        .request(
            Method::POST,
            "/v1/charges",
            Some(&charge("MY13697573pbmQsA02")),
        )
        .await
        .unwrap();
    let second = second["order_id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, order) = client
            .request(Method::GET, &format!("/v1/charges/{second}"), None)
            .await
            .unwrap();
        if order["receipt"]["status"]["status"] == "failed" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the failed send was not recorded: {order}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut printer = PipePrinter::open(&device);
    wait_printed(&client, &second, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let paper = support::read_receipt(printer.drain());
    assert!(
        paper.text_lines.iter().any(|line| line.contains("補印")),
        "{:?}",
        paper.text_lines
    );
    let (_, first_now) = client
        .request(Method::GET, &format!("/v1/charges/{first}"), None)
        .await
        .unwrap();
    assert_eq!(first_now["receipt"]["status"]["status"], "printed");
    assert_eq!(first_now["receipt"]["reprints"], 0);
    let twice = support::read_receipt(&first_paper);
    assert!(!twice.text_lines.iter().any(|line| line.contains("補印")));
    assert_eq!(
        printer
            .drain()
            .windows(first_paper.len())
            .filter(|w| *w == first_paper.as_slice())
            .count(),
        0,
        "the first receipt was sent again"
    );
}
