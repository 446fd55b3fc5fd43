//! Shared by the daemon tests: a simulator in the test process and the real `posd` binary.
#![allow(dead_code)]

use hyper::Method;
use posd::envelope::AgentKey;
use posd::local_client::LocalClient;
use posd::sim::{self, RunningSim, SimConfig, faults::Faults, tls};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const AGENT_UID: &str = "518169081001";
pub const KEY: &str = "2MrhtRYeF9wKZ4bKwzZoL8aZf26pWzIG";
pub const STORE: &str = "289151880002";

pub async fn simulator(faults: Faults) -> RunningSim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    simulator_on(listener, faults).await
}

pub async fn simulator_on(listener: tokio::net::TcpListener, faults: Faults) -> RunningSim {
    let mut config = SimConfig::new(AGENT_UID, AgentKey::new(KEY).unwrap(), STORE);
    config.faults = faults;
    sim::start(config, listener).await.unwrap()
}

/// Posts a latte at `amount` TWD as order `id` with its payment code, and expects it stored.
pub async fn charge_with_code(client: &LocalClient, id: &str, amount: u64, code: &str) {
    let mut charge = latte(amount);
    charge["order_id"] = serde_json::json!(id);
    charge["payment_code"] = serde_json::json!(code);
    let (status, body) = client
        .request(Method::POST, "/v1/charges", Some(&charge))
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
}

/// A charge of one latte at `amount` TWD, as the POS app posts it.
pub fn latte(amount: u64) -> Value {
    serde_json::json!({
        "amount": amount,
        "items": [{"id": "1", "name": "拿鐵咖啡", "unit_price": amount, "quantity": 1}]
    })
}

/// Two lattes: the charge the benchmarks send, with one item line.
pub fn two_lattes() -> posd::charge::Charge {
    posd::charge::Charge {
        amount: 150,
        items: vec![posd::charge::Item {
            id: "1".into(),
            name: "拿鐵咖啡".into(),
            unit_price: 75,
            quantity: 2,
        }],
        discount: 0,
        shipping_fee: 0,
        invoice: posd::charge::InvoiceOptions::StoreDefault,
        echo: vec![],
        user_id: None,
    }
}

/// A port on loopback with nothing listening on it (yet).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A gateway that is down: its address refuses connections until [`LateGateway::come_up`]
/// starts the simulator there, with the certificates the daemon was told to trust.
pub struct LateGateway {
    pub port: u16,
    pub url: String,
    certificates: tls::SimCertificates,
}

impl LateGateway {
    pub fn new() -> LateGateway {
        let port = free_port();
        LateGateway {
            port,
            url: format!("https://127.0.0.1:{port}/api/agent"),
            certificates: tls::make(&[]).unwrap(),
        }
    }

    pub fn ca_pem(&self) -> &str {
        &self.certificates.ca_pem
    }

    pub async fn come_up(self) -> RunningSim {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        let mut config = SimConfig::new(AGENT_UID, AgentKey::new(KEY).unwrap(), STORE);
        config.certificates = Some(self.certificates);
        sim::start(config, listener).await.unwrap()
    }
}

/// Sets `key` in a daemon's environment, replacing the value it had.
pub fn set_env(env: &mut Vec<(String, String)>, key: &str, value: impl Into<String>) {
    env.retain(|(k, _)| k != key);
    env.push((key.to_owned(), value.into()));
}

/// Resident memory of a process in KiB, from `VmRSS` in `/proc/PID/status`.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("/proc/{pid}/status has no VmRSS line"))
}

/// CPU time a process has used so far, user and system, from `/proc/PID/stat` (in clock ticks,
/// a hundredth of a second on Linux).
pub fn cpu_time(pid: u32) -> (Duration, Duration) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/stat: {e}"));
    // The command name, in parentheses, may hold spaces; the fields counted here follow it.
    let after_name = &stat[stat.rfind(')').expect("/proc/PID/stat names the command") + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // SAFETY: sysconf only reads a system setting.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let ticks = |field: usize| {
        let ticks: u64 = fields[field].parse().expect("a tick count");
        Duration::from_secs_f64(ticks as f64 / ticks_per_second)
    };
    // utime and stime are fields 14 and 15 of the line; the name is field 2.
    (ticks(11), ticks(12))
}

/// The real daemon as a child process, talking to an outside gateway.
pub struct Daemon {
    pub child: Child,
    pub dir: PathBuf,
    pub env: Vec<(String, String)>,
}

impl Daemon {
    /// Environment for a daemon in `dir` against the gateway at `url` trusting `ca_pem`.
    pub fn env_for(dir: &Path, url: &str, ca_pem: &str) -> Vec<(String, String)> {
        let ca = dir.join("gateway-ca.pem");
        std::fs::write(&ca, ca_pem).unwrap();
        [
            ("POSD_DATA_DIR", dir.join("data").display().to_string()),
            ("POSD_SOCKET", dir.join("posd.sock").display().to_string()),
            ("POSD_GATEWAY_URL", url.to_owned()),
            ("POSD_AGENT_UID", AGENT_UID.to_owned()),
            ("POSD_AGENT_KEY", KEY.to_owned()),
            ("POSD_STORE_UID", STORE.to_owned()),
            ("POSD_CA_FILE", ca.display().to_string()),
            ("POSD_GATEWAY_TIMEOUT_MS", "2000".to_owned()),
            ("POSD_GATEWAY_CONNECT_TIMEOUT_MS", "500".to_owned()),
            ("POSD_POLICY_BACKOFF_INITIAL_MS", "100".to_owned()),
            ("POSD_POLICY_BACKOFF_MAX_MS", "400".to_owned()),
            ("POSD_POLICY_RECONCILE_POLL_MS", "100".to_owned()),
            ("POSD_POLICY_NOT_FOUND_SETTLE_SECS", "1".to_owned()),
            ("POSD_POLICY_MAX_ATTEMPTS", "50".to_owned()),
            ("POSD_POLICY_MAX_OPEN_ORDERS", "500".to_owned()),
            ("POSD_POLICY_MAX_OPEN_AMOUNT", "10000000".to_owned()),
            ("POSD_LOG", "info".to_owned()),
            ("POSD_PROFILE", "generic-58mm".to_owned()),
            (
                "POSD_PRINTER_DEVICE",
                dir.join("printer.bin").display().to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// A daemon in `dir` against the simulator `sim`, answering on its socket.
    pub async fn serving(dir: &Path, sim: &RunningSim) -> Daemon {
        let daemon = Daemon::start(dir, Daemon::env_for(dir, &sim.url(), sim.ca_pem().unwrap()));
        daemon.ready().await;
        daemon
    }

    pub fn start(dir: &Path, env: Vec<(String, String)>) -> Daemon {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("posd.log"))
            .unwrap();
        // `POSD_BIN` runs another build of the daemon: a bench compares two builds in one sitting.
        let binary = std::env::var_os("POSD_BIN")
            .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_posd")), PathBuf::from);
        let child = Command::new(binary)
            .arg("run")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Daemon {
            child,
            dir: dir.to_owned(),
            env,
        }
    }

    pub fn client(&self) -> LocalClient {
        LocalClient::new(self.dir.join("posd.sock"))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("posd.log")).unwrap_or_default()
    }

    /// Waits until the daemon answers on its socket.
    pub async fn ready(&self) {
        let client = self.client();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if client
                .request(Method::GET, "/v1/health", None)
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the daemon did not come up:\n{}", self.log());
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn restart(&mut self) {
        self.kill();
        *self = Daemon::start(&self.dir.clone(), self.env.clone());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

const FINAL: [&str; 9] = [
    "paid",
    "paid_with_mismatch",
    "declined",
    "expired",
    "rejected",
    "abandoned",
    "cancelled",
    "needs_attention",
    "not_paid",
];

pub fn is_final(state: &str) -> bool {
    FINAL.contains(&state)
}

/// The daemon's event stream (`GET /v1/events`) as lines, read over a raw HTTP/1.1 connection to
/// its socket as they come.
pub async fn event_lines(
    socket: &Path,
) -> tokio::io::Lines<tokio::io::BufReader<tokio::net::UnixStream>> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let mut stream = tokio::net::UnixStream::connect(socket).await.unwrap();
    stream
        .write_all(b"GET /v1/events HTTP/1.1\r\nHost: posd\r\n\r\n")
        .await
        .unwrap();
    BufReader::new(stream).lines()
}

/// Every event the daemon sends from now on, collected as they come.
pub async fn collect_events(socket: &Path) -> std::sync::Arc<std::sync::Mutex<Vec<Value>>> {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut lines = event_lines(socket).await;
    let sink = seen.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(data) = line.strip_prefix("data: ") {
                sink.lock()
                    .unwrap()
                    .push(serde_json::from_str(data).unwrap());
            }
        }
    });
    seen
}

/// The kinds of the events collected so far.
pub fn kinds(events: &std::sync::Mutex<Vec<Value>>) -> Vec<String> {
    events
        .lock()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// Every order the daemon holds, asked for page after page.
pub async fn every_order(client: &LocalClient) -> Vec<Value> {
    let mut orders: Vec<Value> = Vec::new();
    loop {
        let path = match orders.last() {
            Some(last) => format!(
                "/v1/charges?limit=1000&after={}",
                last["order_id"].as_str().unwrap()
            ),
            None => "/v1/charges?limit=1000".to_owned(),
        };
        let (status, page) = client.request(Method::GET, &path, None).await.unwrap();
        assert!(status.is_success(), "{status}: {page}");
        let page = page.as_array().unwrap().clone();
        let full = page.len() == 1000;
        orders.extend(page);
        if !full {
            return orders;
        }
    }
}

/// Polls an order until it is final.
pub async fn wait_final(client: &LocalClient, id: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (status, order) = client
            .request(Method::GET, &format!("/v1/charges/{id}"), None)
            .await
            .unwrap();
        assert!(status.is_success(), "{status}: {order}");
        if is_final(order["state"].as_str().unwrap()) {
            return order;
        }
        assert!(
            Instant::now() < deadline,
            "order {id} not final in time: {order}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The bytes of every file under `dir`.
pub fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| match entry.metadata() {
                    Ok(meta) if meta.is_dir() => dir_bytes(&entry.path()),
                    Ok(meta) => meta.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// A 58 mm receipt read back from its ESC/POS bytes by an independent decoder (`rxing`): what a
/// customer's phone or an auditor's scanner would read off the paper.
pub struct PaperReadBack {
    pub text_lines: Vec<String>,
    pub code39: String,
    pub left_qr: String,
    pub right_qr: String,
}

/// Draws `bytes` as a GB18030 58 mm printer would and reads the e-invoice's codes off the paper.
pub fn read_receipt(bytes: &[u8]) -> PaperReadBack {
    use posd::escpos::{interpret, native_encoding};
    use posd::profile::TextEncoding;
    use rxing::BarcodeFormat;
    let preview = interpret(bytes, 384, native_encoding(TextEncoding::Gb18030)).unwrap();
    assert!(preview.overflows.is_empty() && preview.wide_images.is_empty());
    let pair = preview
        .images
        .iter()
        .rposition(|i| i.height >= 120)
        .expect("the invoice's QR pair on the paper");
    let (barcode, pair) = (preview.images[pair - 1], preview.images[pair]);
    let read = |x, y, w, h, format| read_code(&preview.bitmap, x, y, w, h, format);
    PaperReadBack {
        code39: read(0, barcode.y, 384, barcode.height, BarcodeFormat::CODE_39),
        left_qr: read(0, pair.y, 192, pair.height, BarcodeFormat::QR_CODE),
        right_qr: read(192, pair.y, 192, pair.height, BarcodeFormat::QR_CODE),
        text_lines: preview.text_lines,
    }
}

/// A link printed as a QR code on 58 mm paper, read back by `rxing`: the text lines (its caption,
/// unless the printer prints text as raster) and what the code (the tallest image) says.
pub fn read_link(bytes: &[u8]) -> (Vec<String>, String) {
    use posd::escpos::{interpret, native_encoding};
    use posd::profile::TextEncoding;
    let preview = interpret(bytes, 384, native_encoding(TextEncoding::Gb18030)).unwrap();
    assert!(preview.overflows.is_empty() && preview.wide_images.is_empty());
    let code = *preview
        .images
        .iter()
        .max_by_key(|image| image.height)
        .expect("the code on the paper");
    assert!(code.width <= 384);
    let text = read_code(
        &preview.bitmap,
        0,
        code.y,
        384,
        code.height,
        rxing::BarcodeFormat::QR_CODE,
    );
    (preview.text_lines, text)
}

fn read_code(
    bitmap: &posd::receipt::Bitmap,
    x: u32,
    y: u32,
    w: u32,
    h: u32,
    format: rxing::BarcodeFormat,
) -> String {
    const SCALE: u32 = 2;
    let mut luma = Vec::with_capacity((w * h * SCALE * SCALE) as usize);
    for row in 0..h * SCALE {
        for column in 0..w * SCALE {
            luma.push(if bitmap.get(x + column / SCALE, y + row / SCALE) {
                0
            } else {
                255
            });
        }
    }
    let mut hints = rxing::DecodeHints {
        CharacterSet: (format == rxing::BarcodeFormat::QR_CODE).then(|| "UTF-8".to_owned()),
        ..rxing::DecodeHints::default()
    };
    rxing::helpers::detect_in_luma_with_hints(luma, w * SCALE, h * SCALE, Some(format), &mut hints)
        .unwrap_or_else(|e| panic!("no {format:?} on the paper: {e:?}"))
        .getText()
        .to_owned()
}

/// A printer behind a FIFO the test reads: the daemon writes as to `/dev/usb/lp0`, and what it
/// wrote is read back with [`PipePrinter::drain`]. The reading end is open from the start, so the
/// daemon's open never waits; dropping it is the printer going away.
pub struct PipePrinter {
    pipe: std::fs::File,
    paper: Vec<u8>,
}

impl PipePrinter {
    /// Makes the FIFO at `path` and opens its reading end.
    pub fn create(path: &Path) -> PipePrinter {
        let made = Command::new("mkfifo").arg(path).status().unwrap();
        assert!(made.success(), "mkfifo {}", path.display());
        PipePrinter::open(path)
    }

    /// Opens the reading end of the FIFO at `path`: the printer (back) on line.
    pub fn open(path: &Path) -> PipePrinter {
        use std::os::unix::fs::OpenOptionsExt;
        let pipe = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .unwrap();
        PipePrinter {
            pipe,
            paper: Vec::new(),
        }
    }

    /// Makes the pipe hold a single page: a printer that takes one page of bytes and then no more
    /// until drained, so the daemon's write of a whole receipt blocks.
    pub fn hold_one_page(&self) {
        use std::os::fd::AsRawFd;
        // SAFETY: fcntl on a descriptor we own; F_SETPIPE_SZ takes an int and touches no memory.
        let size = unsafe { libc::fcntl(self.pipe.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) };
        assert!(size >= 4096, "{}", std::io::Error::last_os_error());
    }

    /// Waits until the pipe holds a page of bytes unread: the daemon's writer is now blocked in
    /// its write (with [`PipePrinter::hold_one_page`]).
    pub fn wait_full(&self, within: Duration) {
        use std::os::fd::AsRawFd;
        let deadline = Instant::now() + within;
        loop {
            let mut waiting: libc::c_int = 0;
            // SAFETY: FIONREAD writes one int through the pointer, which points at `waiting`.
            let asked = unsafe { libc::ioctl(self.pipe.as_raw_fd(), libc::FIONREAD, &mut waiting) };
            assert_eq!(asked, 0, "{}", std::io::Error::last_os_error());
            if waiting >= 4096 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the printer got {waiting} bytes in {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything written so far.
    pub fn drain(&mut self) -> &[u8] {
        use std::io::Read;
        let mut buffer = [0u8; 65536];
        loop {
            match self.pipe.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => self.paper.extend_from_slice(&buffer[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("reading the pipe: {e}"),
            }
        }
        &self.paper
    }
}

/// A till profile in `dir` whose printer, at `device`, prints text in the printer's font, so that
/// marks such as 補印 can be read back from the bytes.
pub fn text_printer_profile(dir: &Path, device: &Path) -> PathBuf {
    write_text_printer_profile(
        dir,
        false,
        &format!(
            "[printer.transport.file]\npath = \"{}\"\n",
            device.display()
        ),
    )
}

/// The same with a two-way serial printer at `tty` (a pseudo-terminal: see [`pty_printer_on`]).
pub fn serial_text_printer_profile(dir: &Path, tty: &str) -> PathBuf {
    write_text_printer_profile(
        dir,
        true,
        &format!("[printer.transport.serial]\npath = \"{tty}\"\nbaud = 115200\n"),
    )
}

fn write_text_printer_profile(dir: &Path, two_way: bool, transport: &str) -> PathBuf {
    let profile = dir.join("till.toml");
    std::fs::write(
        &profile,
        format!(
            "name = \"test till\"\n[printer]\nwidth_dots = 384\ndots_per_mm = 8\nencoding = \"gb18030\"\n\
             code39_module_widths = [1, 2]\ntwo_way = {two_way}\ncut = false\n{transport}"
        ),
    )
    .unwrap();
    profile
}

/// What a printer on a pseudo-terminal reports, and what it printed (see [`pty_printer_on`]).
#[derive(Default)]
pub struct PtyPaper {
    /// The status it answers `DLE EOT` with.
    pub status: posd::escpos::status::PrinterStatus,
    /// Switched off: it answers no status request.
    pub off: bool,
    /// Every job's bytes (a job ends when the line goes quiet).
    pub jobs: Vec<Vec<u8>>,
    pub status_requests: usize,
}

/// A printer on the master side of a pseudo-terminal, whose slave the daemon opens by path:
/// answers `DLE EOT` between jobs, and takes everything else as job bytes until the line goes
/// quiet.
pub fn pty_printer_on(
    mut port: serialport::TTYPort,
    paper: std::sync::Arc<std::sync::Mutex<PtyPaper>>,
) {
    use serialport::SerialPort;
    use std::io::{ErrorKind, Read, Write};
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
                paper.lock().unwrap().jobs.push(std::mem::take(&mut job));
            }
            while !bytes.is_empty() {
                if job.is_empty() && bytes.len() >= 3 && bytes[0] == 0x10 && bytes[1] == 0x04 {
                    let mut state = paper.lock().unwrap();
                    state.status_requests += 1;
                    if !state.off {
                        let (offline_cause, paper_sensor) =
                            posd::escpos::status::answers_for(state.status);
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
