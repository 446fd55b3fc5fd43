//! posd as the POS app on an unrooted Android handheld drives it: camera frames as the app has
//! them (Camera2's padded Y plane, NV21), and the scan key and a scan head forwarded by the app on
//! the SUNMI profile. Each through the real daemon over its real Unix socket, against the gateway
//! simulator.

mod support;

use hyper::Method;
use posd::sim::faults::Faults;
use qrcode::{Color, EcLevel, QrCode};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use support::{Daemon, simulator, wait_final};

const WIDTH: usize = 640;
const HEIGHT: usize = 480;
/// Camera2's row stride for a 640-pixel row on many devices: rows padded to 64-byte lines.
const CAMERA2_STRIDE: usize = 704;

/// The Y plane a camera sees of a phone showing `code`: a grey counter, the QR code at 6 pixels a
/// module with its quiet zone, and each row padded to `stride` with junk. The junk alternates
/// black and white, so a reader that kept the padding would shear the code and read nothing.
fn y_plane(code: &str, stride: usize) -> Vec<u8> {
    let qr = QrCode::with_error_correction_level(code, EcLevel::M).unwrap();
    let modules = qr.width();
    let colors = qr.to_colors();
    const MODULE_PX: usize = 6;
    let side = (modules + 8) * MODULE_PX;
    let (left, top) = ((WIDTH - side) / 2, (HEIGHT - side) / 2);
    let mut plane = Vec::with_capacity(stride * HEIGHT);
    for y in 0..HEIGHT {
        for x in 0..stride {
            let pixel = if x >= WIDTH {
                if x % 2 == 0 { 0 } else { 255 }
            } else if (left..left + side).contains(&x) && (top..top + side).contains(&y) {
                let (mx, my) = ((x - left) / MODULE_PX, (y - top) / MODULE_PX);
                let inside = (4..modules + 4).contains(&mx) && (4..modules + 4).contains(&my);
                if inside && colors[(my - 4) * modules + mx - 4] == Color::Dark {
                    20
                } else {
                    235
                }
            } else {
                120
            };
            plane.push(pixel);
        }
    }
    plane
}

/// Posts one frame over the real socket.
async fn post_frame(
    socket: &Path,
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

/// The app's camera: pushes `frame` until the order has its code, as a preview stream would.
async fn push_until_read(daemon: &Daemon, id: &str, query: &str, frame: Vec<u8>) {
    let client = daemon.client();
    let socket = daemon.dir.join("posd.sock");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut taken = 0;
    loop {
        let (_, order) = client
            .request(Method::GET, &format!("/v1/charges/{id}"), None)
            .await
            .unwrap();
        if order["state"] != "awaiting_payment_code" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the pushed frames were never read ({taken} taken)\n{}",
            daemon.log()
        );
        // 409 until the scan is waiting for frames.
        let (status, answer) =
            post_frame(&socket, "application/octet-stream", query, frame.clone()).await;
        assert!(status == 202 || status == 409, "{status}: {answer}");
        taken += usize::from(status == 202);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(taken > 0, "the order got its code from a pushed frame");
}

async fn charge_waiting_for_its_code(daemon: &Daemon, amount: u64) -> String {
    let (status, order) = daemon
        .client()
        .request(Method::POST, "/v1/charges", Some(&support::latte(amount)))
        .await
        .unwrap();
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["state"], "awaiting_payment_code");
    order["order_id"].as_str().unwrap().to_owned()
}

/// Frames from the app, and a scan started with every charge that comes without a code.
const PUSHED_SCAN_ON_CHARGE: [(&str, &str); 2] = [
    ("POSD_SCAN_SOURCE", "pushed"),
    ("POSD_SCAN_ON_CHARGE", "auto"),
];

fn scanning_daemon(dir: &Path, sim: &posd::sim::RunningSim, settings: &[(&str, &str)]) -> Daemon {
    let mut env = Daemon::env_for(dir, &sim.url(), sim.ca_pem().unwrap());
    // Tests run the debug build, several times slower than the device's release build.
    support::set_env(&mut env, "POSD_SCAN_FRAME_BUDGET_MS", "3000");
    for (key, value) in settings {
        support::set_env(&mut env, key, *value);
    }
    Daemon::start(dir, env)
}

#[tokio::test]
async fn camera2_and_nv21_frames_pay_their_charges() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let daemon = scanning_daemon(dir.path(), &sim, &PUSHED_SCAN_ON_CHARGE);
    daemon.ready().await;
    let client = daemon.client();

    // Camera2's YUV_420_888 Y plane: rows of 704 bytes, junk in the padding, and the last row
    // without its padding, as the plane's buffer ends.
    let code = "MY20250101Camera2Y";
    let mut camera2 = y_plane(code, CAMERA2_STRIDE);
    camera2.truncate(CAMERA2_STRIDE * (HEIGHT - 1) + WIDTH);
    let id = charge_waiting_for_its_code(&daemon, 120).await;
    push_until_read(
        &daemon,
        &id,
        "?format=grey&width=640&height=480&stride=704",
        camera2,
    )
    .await;
    let order = wait_final(&client, &id, Duration::from_secs(15)).await;
    assert_eq!(order["state"], "paid", "{order}");

    // NV21 from the camera's preview callback: the Y plane, then the VU plane at half height.
    let code2 = "MY20250102Nv21Fram";
    let mut nv21 = y_plane(code2, WIDTH);
    nv21.extend(std::iter::repeat_n(128, WIDTH * HEIGHT / 2));
    let id2 = charge_waiting_for_its_code(&daemon, 95).await;
    push_until_read(&daemon, &id2, "?format=nv21&width=640&height=480", nv21).await;
    let order = wait_final(&client, &id2, Duration::from_secs(15)).await;
    assert_eq!(order["state"], "paid", "{order}");

    let ledger = sim.ledger();
    let log = daemon.log();
    for (id, code) in [(id, code), (id2, code2)] {
        assert!(
            ledger
                .iter()
                .any(|entry| entry.order_id == id && entry.payment_code == code),
            "{id} was charged with {code}: {ledger:?}"
        );
        assert!(!log.contains(code), "{code} reached the log");
    }
}

/// The last customer lingers with their code on screen as the next charge's scan starts: that
/// code went to an order that charged it, so the scan skips it (and says so) until the next
/// customer's code comes into view. The wallet is charged once for each code.
#[tokio::test]
async fn the_last_customers_code_still_in_view_is_skipped_for_the_next_charge() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let daemon = scanning_daemon(dir.path(), &sim, &PUSHED_SCAN_ON_CHARGE);
    daemon.ready().await;
    let client = daemon.client();
    let events = support::collect_events(&dir.path().join("posd.sock")).await;
    let socket = dir.path().join("posd.sock");
    let grey = "?format=grey&width=640&height=480";

    let (last, next) = ("MY20250103LastCust", "MY20250104NextCust");
    let first = charge_waiting_for_its_code(&daemon, 120).await;
    push_until_read(&daemon, &first, grey, y_plane(last, WIDTH)).await;
    assert_eq!(
        wait_final(&client, &first, Duration::from_secs(15)).await["state"],
        "paid"
    );

    let second = charge_waiting_for_its_code(&daemon, 80).await;
    let mut taken = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while taken < 5 {
        assert!(Instant::now() < deadline, "{}", daemon.log());
        let (status, answer) = post_frame(
            &socket,
            "application/octet-stream",
            grey,
            y_plane(last, WIDTH),
        )
        .await;
        assert!(status == 202 || status == 409, "{status}: {answer}");
        taken += usize::from(status == 202);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refusal = loop {
        let said = events.lock().unwrap().iter().find_map(|event| {
            let detail = event["detail"].as_str()?;
            (event["kind"] == "code_refused" && event["order_id"] == second.as_str())
                .then(|| detail.to_owned())
        });
        if let Some(said) = said {
            break said;
        }
        assert!(
            Instant::now() < deadline,
            "no refusal told: {}",
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(refusal.contains(&first), "{refusal}");
    assert!(!refusal.contains(last), "{refusal}");
    let (_, waiting) = client
        .request(Method::GET, &format!("/v1/charges/{second}"), None)
        .await
        .unwrap();
    assert_eq!(waiting["state"], "awaiting_payment_code", "{waiting}");

    push_until_read(&daemon, &second, grey, y_plane(next, WIDTH)).await;
    assert_eq!(
        wait_final(&client, &second, Duration::from_secs(15)).await["state"],
        "paid"
    );
    let ledger = sim.ledger();
    for (id, code) in [(&first, last), (&second, next)] {
        let charged: Vec<_> = ledger
            .iter()
            .filter(|entry| entry.payment_code == code)
            .collect();
        assert_eq!(charged.len(), 1, "{code}: {ledger:?}");
        assert_eq!(&charged[0].order_id, id);
    }
}

#[tokio::test]
async fn bad_raw_frames_are_refused_by_name() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let daemon = scanning_daemon(dir.path(), &sim, &[("POSD_SCAN_SOURCE", "pushed")]);
    daemon.ready().await;
    let socket = dir.path().join("posd.sock");
    let raw = "application/octet-stream";
    let frame = vec![0u8; 64 * 48];

    for (content_type, query, field, says) in [
        (
            raw,
            "?format=yuv420&width=64&height=48",
            "format",
            "\"yuv420\"",
        ),
        (raw, "?height=48", "width", "missing"),
        (raw, "?width=64", "height", "missing"),
        (raw, "?width=0&height=48", "width", "from 1 to 4096"),
        (raw, "?width=64&height=5000", "height", "from 1 to 4096"),
        (raw, "?width=64&height=forty", "height", "\"forty\""),
        (
            raw,
            "?width=64&height=48&stride=63",
            "stride",
            "from the width (64)",
        ),
        (raw, "?format=nv21&width=64&height=47", "height", "odd"),
        (
            raw,
            "?width=64&height=48&depth=8",
            "depth",
            "format, width, height and stride",
        ),
        (
            "image/png",
            "?width=64&height=48",
            "width",
            "only for raw frames",
        ),
    ] {
        let (status, answer) = post_frame(&socket, content_type, query, frame.clone()).await;
        assert_eq!(status, 400, "{query}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{query}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{query}: {message}");
    }

    // The body against the layout: the sizes expected and got.
    for (query, says) in [
        (
            "?width=64&height=48&stride=80",
            "the body is 3072 bytes; a grey frame of 64x48 with rows of 80 bytes needs 3824",
        ),
        (
            "?format=nv21&width=64&height=48",
            "the body is 3072 bytes; an nv21 frame of 64x48 with rows of 64 bytes needs 4607",
        ),
        (
            "?width=32&height=48",
            "the body is 3072 bytes; a grey frame of 32x48 with rows of 32 bytes takes at most 1536",
        ),
    ] {
        let (status, answer) = post_frame(&socket, raw, query, frame.clone()).await;
        assert_eq!(status, 400, "{query}: {answer}");
        assert_eq!(answer["error"]["field"], Value::Null, "{answer}");
        assert_eq!(answer["error"]["message"], says, "{query}");
    }

    // An image is checked by its header before it is taken, scan or no scan: the format it
    // says it is, readable, and its size.
    let mut png = Vec::new();
    image::GrayImage::from_pixel(64, 48, image::Luma([200]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    for (content_type, body, says) in [
        (
            "image/jpeg",
            png.clone(),
            "declared JPEG but the bytes are Png",
        ),
        (
            "image/jpeg",
            Vec::new(),
            "declared JPEG but the bytes are not a known image format",
        ),
        (
            "image/png",
            b"\x89PNG\r\n\x1a\n".to_vec(),
            "PNG data is damaged",
        ),
    ] {
        let (status, answer) = post_frame(&socket, content_type, "", body).await;
        assert_eq!(status, 400, "{content_type}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{content_type}: {message}");
    }
    let (status, answer) = post_frame(&socket, "image/png", "", png).await;
    assert_eq!(status, 409, "a good image waits for a scan: {answer}");

    // Well formed, the old `?width=&height=` grey form too: refused only because no scan runs.
    for query in [
        "?width=64&height=48",
        "?format=grey&width=64&height=48&stride=64",
    ] {
        let (status, answer) = post_frame(&socket, raw, query, frame.clone()).await;
        assert_eq!(status, 409, "{query}: {answer}");
    }
}

#[tokio::test]
async fn the_scan_key_and_a_scan_head_forwarded_by_the_app_pay_on_the_sunmi_profile() {
    let sim = simulator(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    // The profile's camera (pushed) and scan key (app), as on the device.
    let daemon = scanning_daemon(
        dir.path(),
        &sim,
        &[
            ("POSD_PROFILE", "sunmi-v2-pro"),
            ("POSD_SCAN_SOURCE", "camera"),
            ("POSD_SCAN_ON_CHARGE", "key"),
        ],
    );
    daemon.ready().await;
    let client = daemon.client();

    // The cashier presses the scan key: the app gets a KeyEvent and forwards it with the order
    // waiting for its code, then streams its camera frames.
    let id = charge_waiting_for_its_code(&daemon, 150).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, order) = client
        .request(Method::GET, &format!("/v1/charges/{id}"), None)
        .await
        .unwrap();
    assert_eq!(
        order["state"], "awaiting_payment_code",
        "a key charge waits for the key"
    );
    let key_press = tokio::spawn({
        let client = daemon.client();
        let id = id.clone();
        async move {
            client
                .request(Method::POST, "/v1/scan", Some(&json!({"order_id": id})))
                .await
                .unwrap()
        }
    });
    let mut frame = y_plane("MY20250103ScanKeyA", CAMERA2_STRIDE);
    frame.truncate(CAMERA2_STRIDE * (HEIGHT - 1) + WIDTH);
    push_until_read(
        &daemon,
        &id,
        "?format=grey&width=640&height=480&stride=704",
        frame,
    )
    .await;
    let (status, answer) = key_press.await.unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["order_id"], id.as_str(), "the answer is the order");
    let order = wait_final(&client, &id, Duration::from_secs(15)).await;
    assert_eq!(order["state"], "paid", "{order}");

    // A scan head decodes on its own and the app gets the broadcast's text: it hands it over.
    let id2 = charge_waiting_for_its_code(&daemon, 60).await;
    let (status, answer) = client
        .request(
            Method::POST,
            &format!("/v1/charges/{id2}/payment-code"),
            Some(&json!({"payment_code": "MY20250104ScanHead"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{answer}");
    assert!(!answer.to_string().contains("MY20250104ScanHead"));
    let order = wait_final(&client, &id2, Duration::from_secs(15)).await;
    assert_eq!(order["state"], "paid", "{order}");

    // No device node was ever tried.
    let log = daemon.log();
    assert!(
        log.contains("scan key: the POS app forwards its presses as POST /v1/scan"),
        "{log}"
    );
    for device in ["/dev/input", "/dev/video", "scan key unavailable"] {
        assert!(!log.contains(device), "{device} in the log:\n{log}");
    }
}
