//! The scanner inside the daemon: one scan at a time, fed by frames the POS app pushes, by the
//! camera (feature `camera`), or by a folder of images (trials and field replays).
//!
//! A scan for an order hands the code it reads straight to that order, so the code never leaves
//! the daemon; a scan without an order only says what it would have read, masked.

use super::events::{Event, EventBus, EventKind};
use crate::scan::session::{Scanner, cancel_pair};
use crate::scan::source::{FailedScanRecorder, FrameSender, ImageFiles, PushedFrame, PushedFrames};
use crate::scan::{Decoder, Deduper, PaymentCode, ScanEvent, ScanOutcome, SessionConfig};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Where a scan's frames come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameOrigin {
    /// Frames the POS app sends to `POST /v1/frames` while the scan runs.
    Pushed,
    /// The images of a folder, in name order.
    Folder(PathBuf),
    /// The V4L2 camera of the profile.
    #[cfg(feature = "camera")]
    Camera(crate::scan::source::CameraSettings),
}

/// Why a scan gave no code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanFailure {
    #[error("a scan is already running{}; cancel it (POST /v1/scan/cancel) or let it end first", .0.as_deref().map(|id| format!(" for order {id}")).unwrap_or_default())]
    Busy(Option<String>),
    #[error("no payment code was read within {0:?}")]
    TimedOut(Duration),
    #[error("the scan was cancelled")]
    Cancelled,
    #[error("the frames ran out before a payment code was read")]
    SourceEnded,
    #[error("the frame source failed: {0}")]
    SourceFailed(String),
}

/// How many pushed frames may wait to be decoded; a faster camera waits for the decoder.
const PUSHED_FRAME_QUEUE: usize = 4;

/// Frames kept of one failed scan, and in the whole folder.
const FAILED_FRAMES_PER_SCAN: usize = 5;
const FAILED_FRAMES_MAX: usize = 200;

pub struct ScanService {
    decoder: Arc<Decoder>,
    origin: FrameOrigin,
    timeout: Duration,
    events: EventBus,
    /// The running scan's frame inlet, when it takes pushed frames.
    inlet: Mutex<Option<FrameSender>>,
    running: Arc<tokio::sync::Mutex<()>>,
    /// Cancels the running scan, and names the order it is for.
    cancel: Mutex<Option<(Option<String>, crate::scan::session::CancelScan)>>,
    /// Where the frames of failed scans are kept, when asked for.
    failed_frames: Option<PathBuf>,
}

impl ScanService {
    pub fn new(
        decoder: Decoder,
        origin: FrameOrigin,
        timeout: Duration,
        events: EventBus,
        failed_frames: Option<PathBuf>,
    ) -> Self {
        ScanService {
            failed_frames,
            decoder: Arc::new(decoder),
            origin,
            timeout,
            events,
            inlet: Mutex::new(None),
            running: Arc::new(tokio::sync::Mutex::new(())),
            cancel: Mutex::new(None),
        }
    }

    /// Takes the scanner for one scan, or says which scan holds it. Taken before a charge is
    /// stored, so that a charge whose scan could not start is refused instead of waiting for a
    /// scan that never comes.
    pub fn reserve(&self) -> Result<ScanSlot, ScanFailure> {
        match self.running.clone().try_lock_owned() {
            Ok(held) => Ok(ScanSlot { _held: held }),
            Err(_) => Err(ScanFailure::Busy(self.running_for())),
        }
    }

    /// The order the running scan is for.
    fn running_for(&self) -> Option<String> {
        self.cancel
            .lock()
            .expect("cancel lock")
            .as_ref()
            .and_then(|(order, _)| order.clone())
    }

    /// Runs one scan; `order` names the order the events are about.
    pub async fn scan(
        &self,
        order: Option<&str>,
        timeout: Option<Duration>,
    ) -> Result<PaymentCode, ScanFailure> {
        let slot = self.reserve()?;
        self.scan_in(slot, order, timeout).await
    }

    /// Runs one scan in a slot [`ScanService::reserve`] gave.
    pub async fn scan_in(
        &self,
        _one_at_a_time: ScanSlot,
        order: Option<&str>,
        timeout: Option<Duration>,
    ) -> Result<PaymentCode, ScanFailure> {
        let timeout = timeout.unwrap_or(self.timeout);
        let (scan_events, mut scan_events_rx) = mpsc::unbounded_channel();
        let mut scanner = Scanner::new(
            self.decoder.clone(),
            Deduper::new(Duration::from_secs(3)),
            SessionConfig { timeout },
            scan_events,
        );
        if let Some(folder) = &self.failed_frames {
            scanner = scanner.with_recorder(FailedScanRecorder::new(
                folder.clone(),
                FAILED_FRAMES_PER_SCAN,
                FAILED_FRAMES_MAX,
            ));
        }
        let (cancel, signal) = cancel_pair();
        *self.cancel.lock().expect("cancel lock") = Some((order.map(str::to_owned), cancel));
        let events = self.events.clone();
        let order_id = order.map(str::to_owned);
        let relay = tokio::spawn(async move {
            while let Some(event) = scan_events_rx.recv().await {
                if let Some(event) = daemon_event(event) {
                    let event = match &order_id {
                        Some(id) => event.order(id.clone()),
                        None => event,
                    };
                    events.publish(event);
                }
            }
        });
        let outcome = match &self.origin {
            FrameOrigin::Pushed => {
                let (inlet, mut source) = PushedFrames::channel(PUSHED_FRAME_QUEUE);
                *self.inlet.lock().expect("inlet lock") = Some(inlet);
                let outcome = scanner.scan(&mut source, signal).await;
                self.inlet.lock().expect("inlet lock").take();
                outcome
            }
            FrameOrigin::Folder(folder) => {
                let folder = folder.clone();
                let listed = tokio::task::spawn_blocking(move || ImageFiles::from_folder(&folder))
                    .await
                    .expect("listing a folder does not panic");
                match listed {
                    Ok(mut source) => scanner.scan(&mut source, signal).await,
                    Err(e) => ScanOutcome::SourceFailed(e),
                }
            }
            #[cfg(feature = "camera")]
            FrameOrigin::Camera(settings) => {
                // The device opens with the scan and closes when `source` is dropped after it.
                let mut source = crate::scan::source::Camera::open(settings.clone());
                scanner.scan(&mut source, signal).await
            }
        };
        self.cancel.lock().expect("cancel lock").take();
        drop(scanner);
        let _ = relay.await;
        match outcome {
            ScanOutcome::Code(code) => Ok(code),
            ScanOutcome::TimedOut => Err(ScanFailure::TimedOut(timeout)),
            ScanOutcome::Cancelled => Err(ScanFailure::Cancelled),
            ScanOutcome::SourceEnded => Err(ScanFailure::SourceEnded),
            ScanOutcome::SourceFailed(e) => Err(ScanFailure::SourceFailed(e.to_string())),
        }
    }

    /// Hands a frame from the POS app to the running scan.
    pub async fn push(&self, frame: PushedFrame) -> Result<(), &'static str> {
        let inlet = self.inlet.lock().expect("inlet lock").clone();
        match inlet {
            Some(inlet) => inlet
                .send(frame)
                .await
                .map_err(|_| "the scan ended before the frame arrived"),
            None => Err("no scan is waiting for frames; start one first"),
        }
    }

    /// Cancels the running scan; says whether one was running.
    pub fn cancel(&self) -> bool {
        match self.cancel.lock().expect("cancel lock").as_ref() {
            Some((_, cancel)) => {
                cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Cancels the running scan if it is for `order`; says whether it was.
    pub fn cancel_for(&self, order: &str) -> bool {
        match self.cancel.lock().expect("cancel lock").as_ref() {
            Some((Some(id), cancel)) if id == order => {
                cancel.cancel();
                true
            }
            _ => false,
        }
    }

    pub fn origin(&self) -> &FrameOrigin {
        &self.origin
    }
}

/// The scanner, held for one scan.
pub struct ScanSlot {
    _held: tokio::sync::OwnedMutexGuard<()>,
}

/// The daemon event for a scanner event; frame-level noise stays in the log.
fn daemon_event(event: ScanEvent) -> Option<Event> {
    Some(match event {
        ScanEvent::Duplicate { .. } => {
            tracing::debug!(?event, "scan");
            return None;
        }
        // A frame the decoder refused (damaged, or beyond its limits): the scan goes on.
        ScanEvent::FrameSkipped { .. } => {
            tracing::warn!(?event, "scan: frame skipped");
            return None;
        }
        ScanEvent::Scanning => Event::new(EventKind::Scanning),
        ScanEvent::CodeFound { code, wallet } => {
            Event::new(EventKind::CodeRead).detail(format!("{code} ({wallet})"))
        }
        ScanEvent::Refused { reason } => Event::new(EventKind::CodeRefused).detail(reason),
        ScanEvent::TimedOut => Event::new(EventKind::ScanTimedOut),
        ScanEvent::Cancelled => Event::new(EventKind::ScanEnded).detail("cancelled"),
        ScanEvent::SourceEnded => Event::new(EventKind::ScanEnded).detail("no more frames"),
        ScanEvent::SourceFailed { reason } => {
            Event::new(EventKind::ScanEnded).detail(format!("frame source failed: {reason}"))
        }
    })
}
