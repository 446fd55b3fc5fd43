//! The printer links against real stand-ins: a pseudo-terminal as the serial port, a loopback
//! TCP listener as the network printer, a temporary file as the device node. A simulated
//! printer on the far end answers `DLE EOT` status requests and collects job bytes.

use posd::escpos::status::{PrinterStatus, answers_for};
use posd::escpos::{EncodeOptions, encode};
use posd::printer::{Delivery, FileLink, Link, SerialLink, Spooler, TcpLink};
use posd::profile::TextEncoding;
use posd::receipt::{self, InvoiceAnswer, LayoutSettings, ReceiptInput};
use serialport::SerialPort;
use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The bytes of a real receipt: text, the barcode and QR rasters, cut.
fn receipt_job(sample: &str) -> Vec<u8> {
    let path = format!("{}/receipts/samples/{sample}", env!("CARGO_MANIFEST_DIR"));
    let answer = InvoiceAnswer::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    let settings = LayoutSettings::default();
    let receipt = receipt::build(&ReceiptInput::new(&answer, &settings, 384)).unwrap();
    let options = EncodeOptions {
        width_dots: 384,
        encoding: TextEncoding::Gb18030,
        cut: false,
    };
    encode(&receipt.blocks, &options).unwrap().bytes
}

#[derive(Default)]
struct PrinterState {
    status: PrinterStatus,
    /// Lengths of the jobs the test is about to send, in order: a job starts with `ESC @`
    /// and may hold any byte, so the simulator reads it by length.
    announced: VecDeque<usize>,
    jobs: Vec<Vec<u8>>,
    status_requests: usize,
}

/// A printer on the far end of a link, running on its own thread.
struct SimulatedPrinter {
    state: Arc<Mutex<PrinterState>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SimulatedPrinter {
    fn start<P: Read + Write + Send + 'static>(mut port: P) -> Self {
        let state = Arc::new(Mutex::new(PrinterState::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, stopping) = (state.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut pending: VecDeque<u8> = VecDeque::new();
            let mut job: Option<(Vec<u8>, usize)> = None;
            let mut buffer = [0u8; 4096];
            while !stopping.load(Ordering::Relaxed) {
                match port.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => pending.extend(&buffer[..n]),
                    Err(err)
                        if matches!(err.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) =>
                    {
                        continue;
                    }
                    Err(_) => break,
                }
                loop {
                    if let Some((bytes, length)) = &mut job {
                        let take = (*length - bytes.len()).min(pending.len());
                        bytes.extend(pending.drain(..take));
                        if bytes.len() == *length {
                            let (bytes, _) = job.take().unwrap();
                            shared.lock().unwrap().jobs.push(bytes);
                            continue;
                        }
                        break;
                    }
                    match pending.front() {
                        Some(0x10) if pending.len() >= 3 => {
                            let request: Vec<u8> = pending.drain(..3).collect();
                            assert_eq!(request[1], 0x04, "only DLE EOT is expected");
                            let mut state = shared.lock().unwrap();
                            state.status_requests += 1;
                            let (offline_cause, paper_sensor) = answers_for(state.status);
                            let answer = if request[2] == 2 {
                                offline_cause
                            } else {
                                paper_sensor
                            };
                            port.write_all(&[answer]).unwrap();
                            port.flush().unwrap();
                        }
                        Some(0x1b) => {
                            let length = shared
                                .lock()
                                .unwrap()
                                .announced
                                .pop_front()
                                .expect("a job the test announced");
                            job = Some((Vec::with_capacity(length), length));
                        }
                        Some(other) if *other != 0x10 => {
                            panic!("unexpected byte {other:#04x} between jobs")
                        }
                        _ => break,
                    }
                }
            }
        });
        SimulatedPrinter {
            state,
            stop,
            thread: Some(thread),
        }
    }

    fn set_status(&self, status: PrinterStatus) {
        self.state.lock().unwrap().status = status;
    }

    fn announce(&self, job: &[u8]) {
        self.state.lock().unwrap().announced.push_back(job.len());
    }

    /// Waits until `count` jobs arrived and returns them.
    fn jobs(&self, count: usize) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let jobs = self.state.lock().unwrap().jobs.clone();
            if jobs.len() >= count || Instant::now() > deadline {
                return jobs;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn status_requests(&self) -> usize {
        self.state.lock().unwrap().status_requests
    }
}

impl Drop for SimulatedPrinter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let result = thread.join();
            if !std::thread::panicking() {
                result.unwrap();
            }
        }
    }
}

/// A serial link to a printer simulated on the master side of a pseudo-terminal. The link opens
/// the slave device by its path, as it opens `/dev/rfcomm0` on the device.
fn serial_printer() -> (SerialLink, SimulatedPrinter, serialport::TTYPort) {
    let (mut master, slave) = serialport::TTYPort::pair().unwrap();
    master.set_timeout(Duration::from_millis(20)).unwrap();
    let path = slave.name().unwrap();
    let link = SerialLink::open(std::path::Path::new(&path), 115_200).unwrap();
    // The slave from `pair` stays open so the master never sees a hang-up between opens.
    (link, SimulatedPrinter::start(master), slave)
}

#[test]
fn serial_bytes_arrive_exactly() {
    let (link, printer, _slave) = serial_printer();
    let job = receipt_job("b2c-issued-long-items.json");
    // Line feeds would be turned into CR LF by a terminal not in raw mode.
    assert!(job.contains(&b'\n'));
    printer.announce(&job);
    let mut spooler = Spooler::new(link, true);
    assert_eq!(spooler.submit(job.clone()).unwrap(), Delivery::Printed);
    assert_eq!(printer.jobs(1), [job]);
    assert_eq!(printer.status_requests(), 2);
}

#[test]
fn paper_out_holds_jobs_until_cleared() {
    let (link, printer, _slave) = serial_printer();
    let paper_out = PrinterStatus {
        paper_out: true,
        ..PrinterStatus::default()
    };
    printer.set_status(paper_out);
    let mut spooler = Spooler::new(link, true);
    let first = receipt_job("b2c-issued-proof-and-detail.json");
    let second = receipt_job("b2c-pending.json");

    assert_eq!(
        spooler.submit(first.clone()).unwrap(),
        Delivery::Held(paper_out)
    );
    assert_eq!(
        spooler.submit(second.clone()).unwrap(),
        Delivery::Held(paper_out)
    );
    assert_eq!(spooler.pending(), 2);
    assert_eq!(spooler.retry().unwrap(), Delivery::Held(paper_out));
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        printer.jobs(0).is_empty(),
        "nothing may print while paper is out"
    );

    printer.set_status(PrinterStatus::default());
    printer.announce(&first);
    printer.announce(&second);
    assert_eq!(spooler.retry().unwrap(), Delivery::Printed);
    assert_eq!(spooler.pending(), 0);
    assert_eq!(printer.jobs(2), [first, second]);
}

#[test]
fn cover_open_is_reported_as_such() {
    let (link, printer, _slave) = serial_printer();
    let cover_open = PrinterStatus {
        cover_open: true,
        ..PrinterStatus::default()
    };
    printer.set_status(cover_open);
    let mut spooler = Spooler::new(link, true);
    assert_eq!(spooler.status().unwrap(), Some(cover_open));
    assert_eq!(
        spooler.submit(vec![0x1b, b'@']).unwrap(),
        Delivery::Held(cover_open)
    );
}

#[test]
fn a_silent_serial_printer_is_an_error_and_the_job_is_kept() {
    let (master, slave) = serialport::TTYPort::pair().unwrap();
    let path = slave.name().unwrap();
    let link = SerialLink::open(std::path::Path::new(&path), 115_200).unwrap();
    let mut spooler = Spooler::new(link, true);
    let err = spooler.submit(vec![0x1b, b'@']).unwrap_err().to_string();
    assert!(err.contains(&path), "{err}");
    assert_eq!(spooler.pending(), 1);
    drop(master);
}

#[test]
fn tcp_bytes_arrive_exactly_with_status() {
    let (link, printer) = tcp_printer();
    let job = receipt_job("b2b-issued-proof-only.json");
    printer.announce(&job);
    let mut spooler = Spooler::new(link, true);
    assert_eq!(spooler.submit(job.clone()).unwrap(), Delivery::Printed);
    assert_eq!(printer.jobs(1), [job]);
    assert!(spooler.link().describe().starts_with("tcp 127.0.0.1:"));
}

/// A loopback printer: the link to it and the simulated printer on the accepted connection.
fn tcp_printer() -> (TcpLink, SimulatedPrinter) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let accepting = std::thread::spawn(move || listener.accept().unwrap().0);
    let link = TcpLink::connect(&address).unwrap();
    let stream = accepting.join().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    (link, SimulatedPrinter::start(stream))
}

#[test]
fn a_dropped_tcp_printer_keeps_the_job_for_the_next_connection() {
    let (link, printer) = tcp_printer();
    drop(printer);
    let mut spooler = Spooler::new(link, true);
    let job = receipt_job("b2c-issued-proof-and-detail.json");
    assert!(spooler.submit(job.clone()).is_err());
    assert_eq!(spooler.pending(), 1);

    let (link, printer) = tcp_printer();
    printer.announce(&job);
    spooler.reconnect(link);
    assert_eq!(spooler.retry().unwrap(), Delivery::Printed);
    assert_eq!(printer.jobs(1), [job]);
}

#[test]
fn tcp_connection_refused_names_the_address() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    let err = TcpLink::connect(&address).err().unwrap().to_string();
    assert!(err.contains(&address), "{err}");
}

#[test]
fn file_link_appends_jobs_exactly_and_is_one_way() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lp0");
    let mut spooler = Spooler::new(FileLink::open(&path).unwrap(), false);
    let first = receipt_job("b2c-issued-detail-only.json");
    let second = receipt_job("b2c-failed.json");
    assert_eq!(spooler.submit(first.clone()).unwrap(), Delivery::Printed);
    assert_eq!(spooler.submit(second.clone()).unwrap(), Delivery::Printed);
    assert_eq!(std::fs::read(&path).unwrap(), [first, second].concat());
    assert_eq!(spooler.status().unwrap(), None);
}

/// A named pipe as the printer's device file: a reader that goes away makes the next write fail
/// at once (EPIPE), as a printer that is switched off does.
fn fifo(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("lp0");
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    path
}

#[test]
fn the_spooler_says_which_jobs_went_out_before_the_link_failed() {
    let dir = tempfile::tempdir().unwrap();
    let path = fifo(dir.path());
    let first = receipt_job("b2c-issued-detail-only.json");
    let reader = {
        let (path, length) = (path.clone(), first.len());
        std::thread::spawn(move || {
            let mut printer = std::fs::File::open(path).unwrap();
            let mut job = vec![0; length];
            printer.read_exact(&mut job).unwrap();
            job
        })
    };
    let mut spooler = Spooler::tagged(FileLink::open(&path).unwrap(), false);
    assert_eq!(
        spooler.submit_tagged("A", first.clone()).unwrap(),
        Delivery::Printed
    );
    assert_eq!(reader.join().unwrap(), first, "the reader is gone now");
    assert!(
        spooler
            .submit_tagged("B", receipt_job("b2c-failed.json"))
            .is_err()
    );
    assert_eq!(spooler.take_sent(), ["A"]);
    assert_eq!(spooler.into_unsent(), ["B"]);
}
