//! Printer links in trouble: a printer in error, a line that echoes, a network printer that
//! answers twice or stops reading in the middle of a job.

use posd::printer::{Delivery, SerialLink, Spooler, TcpLink};
use serialport::SerialPort;
use std::io::{ErrorKind, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A serial printer on the master side of a pty that answers each `DLE EOT n` with
/// `answer(n)` and swallows every other byte; returns the link and the bytes it swallowed.
fn serial_printer_answering(
    answer: impl Fn(u8) -> Vec<u8> + Send + 'static,
) -> (SerialLink, Arc<Mutex<Vec<u8>>>, serialport::TTYPort) {
    let (mut master, slave) = serialport::TTYPort::pair().unwrap();
    master.set_timeout(Duration::from_millis(20)).unwrap();
    let path = slave.name().unwrap();
    let link = SerialLink::open(std::path::Path::new(&path), 115_200).unwrap();
    let taken = Arc::new(Mutex::new(Vec::new()));
    let shared = taken.clone();
    std::thread::spawn(move || {
        let mut pending: Vec<u8> = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            match master.read(&mut buffer) {
                Ok(0) => return,
                Ok(n) => pending.extend_from_slice(&buffer[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
                    continue;
                }
                Err(_) => return,
            }
            while pending.len() >= 3 && pending[0] == 0x10 && pending[1] == 0x04 {
                let n = pending[2];
                pending.drain(..3);
                let bytes = answer(n);
                if master.write_all(&bytes).is_err() {
                    return;
                }
            }
            if !(pending.first() == Some(&0x10) && pending.len() < 3) {
                shared.lock().unwrap().append(&mut pending);
            }
        }
    });
    (link, taken, slave)
}

/// DLE EOT 2 bit 6: "an error occurred" (autocutter jam, head error): the printer is offline
/// and prints nothing until the error is cleared. The job must not be taken as printed.
#[test]
fn a_printer_reporting_an_error_does_not_take_the_job_as_printed() {
    // Offline cause: fixed bits (0x12) + error occurred (0x40); paper sensor: all fine.
    let (link, _taken, _slave) =
        serial_printer_answering(|n| vec![if n == 2 { 0x12 | 0x40 } else { 0x12 }]);
    let mut spooler = Spooler::new(link, true);
    let delivery = spooler.submit(vec![0x1b, b'@', b'h', b'i', b'\n']);
    assert!(
        !matches!(delivery, Ok(Delivery::Printed)),
        "a printer in error was sent the job and it was counted printed: {delivery:?}"
    );
    assert_eq!(spooler.pending(), 1, "the job is kept");
}

/// A line that echoes what it is sent (a loopback plug, an RFCOMM bound to a module in
/// command mode): the first byte back is 0x10, the request's own DLE, not a status byte
/// (bits 1 and 4 are always 1 in a status byte, bit 7 always 0).
#[test]
fn an_echo_is_not_a_status_answer() {
    let (link, _taken, _slave) = serial_printer_answering(|n| vec![0x10, 0x04, n]);
    let mut spooler = Spooler::new(link, true);
    let delivery = spooler.submit(vec![0x1b, b'@', b'h', b'i', b'\n']);
    assert!(
        !matches!(delivery, Ok(Delivery::Printed)),
        "an echo was read as a ready printer and the job counted printed: {delivery:?}"
    );
}

/// A network printer that answers its status, then stops reading in the middle of the job
/// (paper runs out mid-job, the printer's buffer is full): the send must end with an error
/// naming the printer, not block the printer thread forever.
#[test]
fn a_tcp_printer_that_stops_reading_mid_job_does_not_hang_the_spooler() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // A printer's receive window is a few KB; the accepted connection inherits this one.
    let window: libc::c_int = 4096;
    // SAFETY: setsockopt reads `window` for its size; the descriptor is the live listener's.
    let set = unsafe {
        libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(&listener),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&window as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(set, 0, "SO_RCVBUF");
    let address = listener.local_addr().unwrap().to_string();
    let printer = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        // Answer the two status requests, then read nothing more; keep the connection open.
        let mut request = [0u8; 3];
        for _ in 0..2 {
            stream.read_exact(&mut request).unwrap();
            stream.write_all(&[0x12]).unwrap();
        }
        std::thread::sleep(Duration::from_secs(60));
        drop(stream);
    });
    let link = TcpLink::connect(&address).unwrap();
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut spooler = Spooler::new(link, true);
        // More than the sender's socket buffer takes (up to 4 MB) and the printer's window.
        let mut job = vec![0x1b, b'@'];
        job.resize(16 * 1024 * 1024, 0);
        let started = Instant::now();
        let delivery = spooler.submit(job).map_err(|e| e.to_string());
        let _ = done.send((delivery, started.elapsed()));
    });
    // The link's write timeout is 20 s; well before twice that the job has failed.
    match result.recv_timeout(Duration::from_secs(40)) {
        Ok((delivery, took)) => {
            let error = delivery.expect_err("the job fails");
            assert!(
                error.contains("took no bytes for 20 s"),
                "{error} after {took:?}"
            );
        }
        Err(_) => {
            panic!("the spooler is still blocked in send() after 40 s: nothing hangs forever")
        }
    }
    drop(printer);
}

/// A network printer that answers each `DLE EOT` twice (or sends a status byte of its own, as
/// with automatic status back): the extra bytes wait in the socket and are read as the answers
/// to the next job's requests. Here the paper runs out after the first job, yet the second is
/// sent, on the stale "ready" bytes, and counted printed.
#[test]
fn a_tcp_printer_answering_twice_does_not_make_a_paper_out_look_ready() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let paper_out = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let out = paper_out.clone();
    let received = Arc::new(Mutex::new(Vec::new()));
    let shared = received.clone();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut pending: Vec<u8> = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            let n = match stream.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            pending.extend_from_slice(&buffer[..n]);
            while pending.len() >= 3 && pending[0] == 0x10 && pending[1] == 0x04 {
                let request = pending[2];
                pending.drain(..3);
                let out = out.load(std::sync::atomic::Ordering::SeqCst);
                let answer = match (request, out) {
                    (2, true) => 0x32,
                    (_, true) => 0x72,
                    _ => 0x12,
                };
                stream.write_all(&[answer, answer]).unwrap();
            }
            if !(pending.first() == Some(&0x10) && pending.len() < 3) {
                shared.lock().unwrap().append(&mut pending);
            }
        }
    });
    let link = TcpLink::connect(&address).unwrap();
    let mut spooler = Spooler::new(link, true);
    assert_eq!(
        spooler.submit(vec![0x1b, b'@', b'1', b'\n']).unwrap(),
        Delivery::Printed
    );
    std::thread::sleep(Duration::from_millis(200));
    paper_out.store(true, std::sync::atomic::Ordering::SeqCst);
    let second = spooler.submit(vec![0x1b, b'@', b'2', b'\n']);
    assert!(
        matches!(second, Ok(Delivery::Held(status)) if status.paper_out),
        "the second job went to a printer that reports paper out: {second:?}"
    );
}
