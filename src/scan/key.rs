//! The hardware scan key, read as Linux input events.
//!
//! The kernel's evdev devices (`/dev/input/eventN`) deliver a stream of fixed-size
//! `struct input_event` records; on 64-bit Linux each is 24 bytes, native-endian:
//!
//! | bytes  | field                                   |
//! |--------|-----------------------------------------|
//! | 0..16  | `struct timeval` (seconds, microseconds) |
//! | 16..18 | `type` (u16): 1 = `EV_KEY`               |
//! | 18..20 | `code` (u16): which key                 |
//! | 20..24 | `value` (i32): 1 press, 0 release, 2 auto-repeat |
//!
//! Only presses of the configured key count. A press while a charge waits for its payment code
//! asks for a scan; a press with nothing pending is reported as such and does nothing else.
//! Whether a charge is pending is the caller's knowledge, asked through [`PendingCharge`].
//!
//! This is the Linux till's key (profile `[scan_key] source = "evdev"`). On Android an app's
//! processes cannot read `/dev/input`: the POS app gets the key as a `KeyEvent` and forwards a
//! press as `POST /v1/scan` (`source = "app"`), and nothing here runs.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tokio::sync::mpsc;

/// Size of `struct input_event` on 64-bit Linux.
pub const INPUT_EVENT_SIZE: usize = 24;
/// `EV_KEY` from `linux/input-event-codes.h`.
pub const EV_KEY: u16 = 1;
const KEY_PRESSED: i32 = 1;

/// One decoded `struct input_event` (the timestamp is not needed and not kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputEvent {
    pub kind: u16,
    pub code: u16,
    pub value: i32,
}

impl InputEvent {
    pub fn parse(record: &[u8; INPUT_EVENT_SIZE]) -> Self {
        let u16_at = |i: usize| u16::from_ne_bytes([record[i], record[i + 1]]);
        Self {
            kind: u16_at(16),
            code: u16_at(18),
            value: i32::from_ne_bytes([record[20], record[21], record[22], record[23]]),
        }
    }

    /// The kernel's byte layout of this event, with a zero timestamp.
    pub fn to_bytes(&self) -> [u8; INPUT_EVENT_SIZE] {
        let mut record = [0u8; INPUT_EVENT_SIZE];
        record[16..18].copy_from_slice(&self.kind.to_ne_bytes());
        record[18..20].copy_from_slice(&self.code.to_ne_bytes());
        record[20..24].copy_from_slice(&self.value.to_ne_bytes());
        record
    }

    fn is_press_of(&self, key_code: u16) -> bool {
        self.kind == EV_KEY && self.code == key_code && self.value == KEY_PRESSED
    }
}

/// What a press of the scan key means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyPress {
    /// A charge waits for its payment code: start the scan.
    StartScan,
    /// Nothing to pay for: the press is reported and ignored.
    NothingPending,
}

/// Tells whether a charge is waiting for its payment code.
pub trait PendingCharge: Send {
    fn is_pending(&self) -> bool;
}

impl<F: Fn() -> bool + Send> PendingCharge for F {
    fn is_pending(&self) -> bool {
        self()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot open input device {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("reading input device {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Watches the input device at `path` for presses of `key_code` and sends what each press
/// means. Returns when the device closes (unplugged, or the writer of a FIFO went away) or
/// when the receiver is dropped.
pub async fn watch_scan_key(
    path: &Path,
    key_code: u16,
    pending: impl PendingCharge,
    presses: mpsc::Sender<KeyPress>,
) -> Result<(), KeyError> {
    let shown = path.display().to_string();
    let open_error = |source| KeyError::Open {
        path: shown.clone(),
        source,
    };
    // Opened and read without blocking: a blocking read would hold a thread of the runtime until
    // the next key press, and stopping the daemon would wait for one.
    let device = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .and_then(|file| {
            // SAFETY: the File is owned by the AsyncFd, so its descriptor stays open and the
            // same for as long as the AsyncFd lives.
            unsafe { AsyncFd::register(file) }.map_err(std::io::Error::from)
        })
        .map_err(open_error)?;
    watch_key_events(InputDevice(device), key_code, pending, presses)
        .await
        .map_err(|source| KeyError::Read {
            path: shown,
            source,
        })
}

/// An input device read as the reactor says it is readable.
struct InputDevice(AsyncFd<std::fs::File>);

impl AsyncRead for InputDevice {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        loop {
            let mut ready = ready!(self.0.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match ready.try_io(|device| device.get_ref().read(unfilled)) {
                Ok(read) => {
                    buf.advance(read?);
                    return Poll::Ready(Ok(()));
                }
                Err(_would_block) => continue,
            }
        }
    }
}

/// [`watch_scan_key`] on any byte stream in the kernel's `input_event` format.
pub async fn watch_key_events<R: AsyncRead + Unpin>(
    mut events: R,
    key_code: u16,
    pending: impl PendingCharge,
    presses: mpsc::Sender<KeyPress>,
) -> std::io::Result<()> {
    let mut record = [0u8; INPUT_EVENT_SIZE];
    loop {
        match events.read_exact(&mut record).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        }
        if !InputEvent::parse(&record).is_press_of(key_code) {
            continue;
        }
        let press = if pending.is_pending() {
            KeyPress::StartScan
        } else {
            KeyPress::NothingPending
        };
        if presses.send(press).await.is_err() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kernel_layout() {
        let mut record = [0u8; INPUT_EVENT_SIZE];
        record[..8].copy_from_slice(&1_700_000_000i64.to_ne_bytes());
        record[8..16].copy_from_slice(&123_456i64.to_ne_bytes());
        record[16..18].copy_from_slice(&1u16.to_ne_bytes());
        record[18..20].copy_from_slice(&0x2fdu16.to_ne_bytes());
        record[20..24].copy_from_slice(&1i32.to_ne_bytes());
        let event = InputEvent::parse(&record);
        assert_eq!(
            event,
            InputEvent {
                kind: EV_KEY,
                code: 0x2fd,
                value: 1
            }
        );
        assert!(event.is_press_of(0x2fd));
        assert!(!event.is_press_of(0x2fe));
    }

    #[test]
    fn releases_repeats_and_other_event_types_are_not_presses() {
        let release = InputEvent {
            kind: EV_KEY,
            code: 28,
            value: 0,
        };
        let repeat = InputEvent {
            kind: EV_KEY,
            code: 28,
            value: 2,
        };
        let sync = InputEvent {
            kind: 0,
            code: 0,
            value: 0,
        };
        for event in [release, repeat, sync] {
            assert!(!event.is_press_of(28), "{event:?}");
        }
    }

    #[test]
    fn bytes_round_trip() {
        let event = InputEvent {
            kind: EV_KEY,
            code: 139,
            value: 1,
        };
        assert_eq!(InputEvent::parse(&event.to_bytes()), event);
    }
}
