//! The local API's limits and refusals as an outside client meets them, over real TCP sockets to
//! the real daemon: idle connections without the token and many event streams do not lock the
//! POS app out, every error axum makes on its own is our JSON error, and a decompression-bomb
//! frame is skipped while the daemon stays small and the scan goes on.
mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{Daemon, free_port, rss_kib, set_env, simulator, wait_final};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "limits-test-token";

/// A daemon against the simulator with its TCP port open; `extra` adds to its environment.
async fn daemon(
    dir: &std::path::Path,
    sim: &posd::sim::RunningSim,
    extra: &[(&str, &str)],
) -> (Daemon, u16) {
    let port = free_port();
    let mut env = Daemon::env_for(dir, &sim.url(), sim.ca_pem().unwrap());
    set_env(&mut env, "POSD_TCP_LISTEN", format!("127.0.0.1:{port}"));
    set_env(&mut env, "POSD_TCP_TOKEN", TOKEN);
    for (key, value) in extra {
        set_env(&mut env, key, *value);
    }
    let daemon = Daemon::start(dir, env);
    daemon.ready().await;
    (daemon, port)
}

/// An answer read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: Value,
}

/// Sends one request on a fresh connection (`Connection: close`) and reads the whole answer.
async fn http(port: u16, method: &str, target: &str, headers: &[&str], body: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    // The daemon may answer (413) before it has read the whole body.
    let _ = stream.write_all(body).await;
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw)).await;
    parse(&raw)
}

fn parse(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    Answer {
        status,
        head: head.to_ascii_lowercase(),
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

const AUTH: &str = "Authorization: Bearer limits-test-token";
const JSON: &str = "Content-Type: application/json";

/// The answer is our JSON error with `status`, naming `field`.
fn assert_error(answer: &Answer, status: u16, field: Option<&str>) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert!(
        answer.head.contains("content-type: application/json"),
        "{answer:?}"
    );
    let error = &answer.body["error"];
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{answer:?}"
    );
    assert_eq!(error["field"].as_str(), field, "{answer:?}");
}

#[tokio::test]
async fn idle_connections_without_the_token_do_not_lock_the_app_out() {
    let sim = simulator(Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (daemon, port) = daemon(dir.path(), &sim, &[]).await;

    // Any local process can open connections and say nothing: more than the whole limit.
    let mut idle = Vec::new();
    for _ in 0..80 {
        idle.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..3 {
        let started = Instant::now();
        let answer = http(port, "GET", "/v1/health", &[AUTH], b"").await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "an authenticated request took {:?} beside 80 idle connections",
            started.elapsed()
        );
    }
    // Those that never presented the token are closed after the deadline.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for stream in &mut idle {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut byte)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "an idle connection without the token is still open: {read:?}"
        );
    }
    // A wrong token does not admit a connection either, and the scheme's case does not matter.
    let wrong = http(
        port,
        "GET",
        "/v1/health",
        &["Authorization: Bearer nope"],
        b"",
    )
    .await;
    assert_error(&wrong, 401, None);
    let lower = http(
        port,
        "GET",
        "/v1/health",
        &["authorization: bearer limits-test-token"],
        b"",
    )
    .await;
    assert_eq!(lower.status, 200, "{lower:?}");
    drop(daemon);
}

#[tokio::test]
async fn event_streams_have_their_own_cap() {
    let sim = simulator(Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (daemon, port) = daemon(dir.path(), &sim, &[]).await;

    let mut open = Vec::new();
    let mut refused = 0;
    for _ in 0..64 {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let request = format!("GET /v1/events HTTP/1.1\r\nHost: localhost\r\n{AUTH}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(
                stream.read(&mut byte).await.unwrap(),
                1,
                "the stream closed early"
            );
            head.push(byte[0]);
        }
        let answer = parse(&head);
        match answer.status {
            200 => open.push(stream),
            429 => {
                assert!(answer.head.contains("content-type: application/json"));
                assert!(answer.head.contains("connection: close"));
                refused += 1;
            }
            other => panic!("GET /v1/events answered {other}: {answer:?}"),
        }
    }
    assert_eq!(open.len(), 16);
    assert_eq!(refused, 48);

    let body = json!({"amount": 150, "payment_code": "MY12345678abcdEFGH"}).to_string();
    let started = Instant::now();
    let created = http(port, "POST", "/v1/charges", &[AUTH, JSON], body.as_bytes()).await;
    assert_eq!(created.status, 201, "{created:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    let id = created.body["order_id"].as_str().unwrap();
    let order = wait_final(&daemon.client(), id, Duration::from_secs(20)).await;
    assert_eq!(order["state"], "paid");

    // A stream that closes gives its place back.
    drop(open.pop());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let request = format!("GET /v1/events HTTP/1.1\r\nHost: localhost\r\n{AUTH}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.unwrap();
        if &head[9..12] == b"200" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a closed stream's place never came back"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn errors_axum_makes_on_its_own_are_json() {
    let sim = simulator(Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (_daemon, port) = daemon(dir.path(), &sim, &[("POSD_SCAN_TIMEOUT_MS", "200")]).await;

    let not_allowed = http(port, "DELETE", "/v1/charges", &[AUTH], b"").await;
    assert_error(&not_allowed, 405, None);
    assert!(not_allowed.head.contains("allow: "), "{not_allowed:?}");

    let big = vec![b'{'; 100 * 1024];
    assert_error(
        &http(port, "POST", "/v1/scan", &[AUTH, JSON], &big).await,
        413,
        None,
    );
    let frame = vec![0u8; 9 * 1024 * 1024];
    let too_large = http(
        port,
        "POST",
        "/v1/frames",
        &[AUTH, "Content-Type: image/png"],
        &frame,
    )
    .await;
    assert_error(&too_large, 413, None);

    assert_error(
        &http(port, "GET", "/v1/charges/%FF", &[AUTH], b"").await,
        400,
        Some("id"),
    );
    assert_error(
        &http(port, "GET", "/v1/charges?limit=1&limit=2", &[AUTH], b"").await,
        400,
        Some("limit"),
    );
    assert_error(
        &http(port, "GET", "/v1/print-jobs/next?wait=%FF%FE", &[AUTH], b"").await,
        400,
        Some("wait"),
    );

    let null_timeout = http(
        port,
        "POST",
        "/v1/scan",
        &[AUTH, JSON],
        br#"{"timeout_ms": null}"#,
    )
    .await;
    assert_error(&null_timeout, 422, Some("timeout_ms"));
    let unknown = br#"{"user_id": "alice", "user_nmae": "Alice"}"#;
    let wallet = http(
        port,
        "POST",
        "/v1/wallet/memberstatus",
        &[AUTH, JSON],
        unknown,
    )
    .await;
    assert_error(&wallet, 422, Some("user_nmae"));
    let deal = br#"{"cost": 100, "order_id": "A1", "items": [], "user_id": "alice", "invoice_mobile": "/ABC1234"}"#;
    let wallet = http(port, "POST", "/v1/wallet/directdeal", &[AUTH, JSON], deal).await;
    assert_error(&wallet, 422, Some("invoice_mobile"));

    // serde would take a number for a tag (the variant's index) and fields on a bare variant.
    let numbered = br#"{"amount": 1, "invoice": {"type": "cloud", "carrier": {"kind": 0}}}"#;
    let charge = http(port, "POST", "/v1/charges", &[AUTH, JSON], numbered).await;
    assert_error(&charge, 422, Some("invoice.carrier.kind"));
    let extra = br#"{"amount": 1, "invoice": {"type": "none", "rate": "exempt"}}"#;
    let charge = http(port, "POST", "/v1/charges", &[AUTH, JSON], extra).await;
    assert_error(&charge, 422, Some("invoice.rate"));
}

/// A PNG that says it is 20000 × 20000 pixels of one colour: 50 kB on the wire, 400 MB once a
/// decoder without limits has expanded it to grey.
fn decompression_bomb() -> Vec<u8> {
    const SIDE: u32 = 20_000;
    let row = 1 + SIDE.div_ceil(8) as usize; // filter byte + 1-bit pixels
    let raw_len = row * SIDE as usize;
    // zlib around one fixed-Huffman deflate block: a literal 0, then copies of 258 bytes at
    // distance 1 (every byte is 0: filter "none", black pixels).
    let mut bits = BitWriter::default();
    bits.put(0b1, 1); // the last block
    bits.put(0b01, 2); // fixed Huffman
    bits.code(0b0011_0000, 8); // literal 0
    let mut left = raw_len - 1;
    while left >= 258 {
        bits.code(0b1100_0101, 8); // length 258
        bits.code(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        bits.code(0b0011_0000, 8);
    }
    bits.code(0, 7); // end of block
    let mut zlib = vec![0x78, 0x01];
    zlib.extend(bits.finish());
    let adler = ((raw_len % 65_521) as u32) << 16 | 1;
    zlib.extend(adler.to_be_bytes());

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(SIDE.to_be_bytes());
    ihdr.extend(SIDE.to_be_bytes());
    ihdr.extend([1, 0, 0, 0, 0]); // 1-bit grey, deflate, adaptive filters, no interlace
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend((data.len() as u32).to_be_bytes());
    let start = png.len();
    png.extend(kind);
    png.extend(data);
    let crc = crc32(&png[start..]);
    png.extend(crc.to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Deflate's bit order: fields least significant bit first, Huffman codes most significant first.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    used: u32,
}

impl BitWriter {
    fn put(&mut self, value: u32, count: u32) {
        for i in 0..count {
            if self.used.is_multiple_of(8) {
                self.bytes.push(0);
            }
            let bit = ((value >> i) & 1) as u8;
            *self.bytes.last_mut().unwrap() |= bit << (self.used % 8);
            self.used += 1;
        }
    }

    fn code(&mut self, code: u32, count: u32) {
        let reversed = (0..count).fold(0, |acc, i| acc | (((code >> i) & 1) << (count - 1 - i)));
        self.put(reversed, count);
    }

    fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

#[tokio::test]
async fn a_decompression_bomb_frame_is_refused_by_its_size_and_a_damaged_one_skipped() {
    let sim = simulator(Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (daemon, port) = daemon(
        dir.path(),
        &sim,
        &[
            ("POSD_SCAN_SOURCE", "pushed"),
            ("POSD_SCAN_ON_CHARGE", "none"),
            // Tests run the debug build, several times slower than the device's release build.
            ("POSD_SCAN_FRAME_BUDGET_MS", "3000"),
        ],
    )
    .await;
    let pid = daemon.child.id();
    let before = rss_kib(pid);

    let scan = tokio::spawn(async move {
        http(
            port,
            "POST",
            "/v1/scan",
            &[AUTH, JSON],
            br#"{"timeout_ms": 20000}"#,
        )
        .await
    });
    let bomb = decompression_bomb();
    assert!(bomb.len() < 400 * 1024, "{} bytes", bomb.len());
    let png = &[AUTH, "Content-Type: image/png"];
    // Refused by its header, before any of it is decoded, whether a scan waits or not.
    let refused = http(port, "POST", "/v1/frames", png, &bomb).await;
    assert_eq!(refused.status, 400, "{refused:?}");
    let said = refused.body["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        said.contains("20000x20000") && said.contains("4096"),
        "{refused:?}"
    );

    let real = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/receipts/scan/mypay-payment-code.jpg"
    ))
    .unwrap();
    // A PNG whose header reads but whose image data is damaged is taken, skipped when its
    // decoding fails, and the scan goes on.
    let mut whole = Vec::new();
    image::GrayImage::from_pixel(64, 48, image::Luma([200]))
        .write_to(
            &mut std::io::Cursor::new(&mut whole),
            image::ImageFormat::Png,
        )
        .unwrap();
    // The image data's deflate stream starts with a block of the reserved type 3.
    let data = whole.windows(4).position(|w| w == b"IDAT").unwrap() + 4;
    let mut damaged = whole.clone();
    damaged[data + 2..data + 6].fill(0xff);
    let damaged = damaged.as_slice();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pushed = http(port, "POST", "/v1/frames", png, damaged).await;
        if pushed.status == 202 {
            break;
        }
        assert_eq!(pushed.status, 409, "{pushed:?}");
        assert!(
            Instant::now() < deadline,
            "the scan never waited for frames"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut peak = before;
    for _ in 0..10 {
        let health = http(port, "GET", "/v1/health", &[AUTH], b"").await;
        assert_eq!(health.status, 200, "{health:?}");
        peak = peak.max(rss_kib(pid));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        peak < before + 100 * 1024,
        "RSS grew from {before} KiB to {peak} KiB"
    );

    let jpeg = &[AUTH, "Content-Type: image/jpeg"];
    let pushed = http(port, "POST", "/v1/frames", jpeg, &real).await;
    assert_eq!(pushed.status, 202, "{pushed:?}");
    let answer = scan.await;
    let log = daemon.log();
    let answer = answer.unwrap_or_else(|e| panic!("{e}\n{log}"));
    assert_eq!(answer.status, 200, "{answer:?}\n{log}");
    assert_eq!(answer.body["wallet"], "MyPay", "{answer:?}");
    assert!(
        daemon.log().contains("frame"),
        "the skipped frame is not in the log:\n{}",
        daemon.log()
    );
}

/// The fields each wallet command takes are the ones its schema describes (with the daemon's own
/// `print_link` where the command answers a link), so the daemon refuses exactly what the
/// document forbids.
#[test]
fn wallet_fields_are_the_described_ones() {
    let doc: Value = serde_json::from_str(include_str!("../api/openapi.json")).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut checked = 0;
    for (path, operations) in paths {
        let Some(name) = path.strip_prefix("/v1/wallet/") else {
            continue;
        };
        let schema = &operations["post"]["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(schema["additionalProperties"], false, "{path}");
        let mut described: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{path} describes no properties"))
            .keys()
            .map(String::as_str)
            .collect();
        let (command, kind, fields) = posd::daemon::routes::wallet_command_named(name)
            .unwrap_or_else(|| panic!("{path} is not a wallet command"));
        let mut taken = fields.to_vec();
        // The daemon's own option, never sent to the gateway.
        if posd::daemon::wallet_link::prints_link(command, kind) {
            taken.push("print_link");
        }
        described.sort_unstable();
        taken.sort_unstable();
        assert_eq!(described, taken, "{path}");
        checked += 1;
    }
    assert_eq!(checked, 7);
}
