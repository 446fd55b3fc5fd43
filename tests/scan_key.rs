//! The scan key reader on a real FIFO carrying the kernel's `struct input_event` bytes.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use posd::scan::key::{EV_KEY, InputEvent, KeyPress, watch_scan_key};
use tokio::sync::mpsc;

const SCAN_KEY: u16 = 0x2fd;
const OTHER_KEY: u16 = 28;

fn make_fifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

fn event(kind: u16, code: u16, value: i32) -> [u8; 24] {
    InputEvent { kind, code, value }.to_bytes()
}

async fn next(presses: &mut mpsc::Receiver<KeyPress>) -> Option<KeyPress> {
    tokio::time::timeout(Duration::from_secs(5), presses.recv())
        .await
        .expect("the watcher answers within 5 s")
}

#[tokio::test]
async fn presses_start_a_scan_only_while_a_charge_is_pending() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("event0");
    make_fifo(&fifo);

    let pending = Arc::new(AtomicBool::new(false));
    let pending_for_watcher = Arc::clone(&pending);
    let (sender, mut presses) = mpsc::channel(8);
    let watcher_path = fifo.clone();
    let watcher = tokio::spawn(async move {
        watch_scan_key(
            &watcher_path,
            SCAN_KEY,
            move || pending_for_watcher.load(Ordering::SeqCst),
            sender,
        )
        .await
    });

    // The kernel's writer side: opening blocks until the watcher has opened the FIFO.
    let (to_writer, batches) = std::sync::mpsc::channel::<Vec<u8>>();
    let writer = std::thread::spawn(move || {
        let mut device = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        for batch in batches {
            device.write_all(&batch).unwrap();
            device.flush().unwrap();
        }
    });

    // Noise that must be ignored, then a press with nothing pending.
    let mut batch = Vec::new();
    batch.extend(event(EV_KEY, OTHER_KEY, 1));
    batch.extend(event(0, 0, 0));
    batch.extend(event(EV_KEY, SCAN_KEY, 0));
    batch.extend(event(EV_KEY, SCAN_KEY, 2));
    batch.extend(event(EV_KEY, SCAN_KEY, 1));
    to_writer.send(batch).unwrap();
    assert_eq!(next(&mut presses).await, Some(KeyPress::NothingPending));

    // A charge is waiting: the press starts the scan, even when its record arrives in pieces.
    pending.store(true, Ordering::SeqCst);
    let press = event(EV_KEY, SCAN_KEY, 1);
    to_writer.send(press[..10].to_vec()).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    to_writer.send(press[10..].to_vec()).unwrap();
    assert_eq!(next(&mut presses).await, Some(KeyPress::StartScan));

    // The writer goes away: the watcher ends cleanly.
    drop(to_writer);
    writer.join().unwrap();
    assert_eq!(next(&mut presses).await, None);
    watcher.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_missing_device_is_named() {
    let (sender, _presses) = mpsc::channel(1);
    let error = watch_scan_key(
        Path::new("/dev/input/no-such-event"),
        SCAN_KEY,
        || true,
        sender,
    )
    .await
    .unwrap_err();
    assert!(
        error.to_string().contains("/dev/input/no-such-event"),
        "{error}"
    );
}
