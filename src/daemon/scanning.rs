//! The scanner inside the daemon: one scan at a time, fed by frames the POS app pushes, by the
//! camera (feature `camera`), or by a folder of images (trials and field replays).
//!
//! A scan for an order hands the code it reads straight to that order, so the code never leaves
//! the daemon; a scan without an order only says what it would have read, masked.

use super::events::{Event, EventBus, EventKind};
use crate::scan::session::{Scanner, cancel_pair};
use crate::scan::source::{FailedScanRecorder, FrameSender, ImageFiles, PushedFrame, PushedFrames};
use crate::scan::{
    Decoder, Deduper, PaymentCode, ScanEvent, ScanOutcome, SessionConfig, TakenCodes,
};
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
    /// Cancels the scan that holds the scanner, and names the order it is for. Set in the same
    /// step as the scanner is taken, so a refused second scan can always say which one holds it.
    holder: Arc<Mutex<Option<Holder>>>,
    /// Where the frames of failed scans are kept, when asked for.
    failed_frames: Option<PathBuf>,
    /// Codes given to an order that may have charged them: a scan skips them.
    taken: Option<TakenCodes>,
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
            holder: Arc::new(Mutex::new(None)),
            taken: None,
        }
    }

    /// Skips, in every scan, the codes `taken` names an order for (see
    /// [`crate::order::HandedCodes`]): the last customer's code, still on their screen, is not
    /// read for the next.
    pub fn skipping_taken(mut self, taken: TakenCodes) -> Self {
        self.taken = Some(taken);
        self
    }

    /// Takes the scanner for one scan for `order`, or says which scan holds it. Taken before a
    /// charge is stored, so that a charge whose scan could not start is refused instead of
    /// waiting for a scan that never comes.
    pub fn reserve(&self, order: Option<&str>) -> Result<ScanSlot, ScanFailure> {
        let mut holder = self.holder.lock().expect("holder lock");
        match self.running.clone().try_lock_owned() {
            Ok(held) => {
                let (cancel, signal) = cancel_pair();
                *holder = Some(Holder {
                    order: order.map(str::to_owned),
                    cancel,
                });
                Ok(ScanSlot {
                    signal: Some(signal),
                    holder: self.holder.clone(),
                    _held: held,
                })
            }
            Err(_) => Err(ScanFailure::Busy(
                holder.as_ref().and_then(|h| h.order.clone()),
            )),
        }
    }

    /// Runs one scan; `order` names the order the events are about.
    pub async fn scan(
        &self,
        order: Option<&str>,
        timeout: Option<Duration>,
    ) -> Result<PaymentCode, ScanFailure> {
        let slot = self.reserve(order)?;
        self.scan_in(slot, timeout).await
    }

    /// Runs one scan in a slot [`ScanService::reserve`] gave; its events name the slot's order.
    pub async fn scan_in(
        &self,
        mut slot: ScanSlot,
        timeout: Option<Duration>,
    ) -> Result<PaymentCode, ScanFailure> {
        let order = slot.order();
        let signal = slot.signal.take().expect("a slot runs one scan");
        let timeout = timeout.unwrap_or(self.timeout);
        let (scan_events, mut scan_events_rx) = mpsc::unbounded_channel();
        let mut scanner = Scanner::new(
            self.decoder.clone(),
            Deduper::new(Duration::from_secs(3)),
            SessionConfig { timeout },
            scan_events,
        );
        if let Some(taken) = &self.taken {
            scanner = scanner.skipping_taken(taken.clone());
        }
        if let Some(folder) = &self.failed_frames {
            scanner = scanner.with_recorder(FailedScanRecorder::new(
                folder.clone(),
                FAILED_FRAMES_PER_SCAN,
                FAILED_FRAMES_MAX,
            ));
        }
        let events = self.events.clone();
        let order_id = order;
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
        drop(slot);
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
        match self.holder.lock().expect("holder lock").as_ref() {
            Some(holder) => {
                holder.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Cancels the running scan if it is for `order`; says whether it was.
    pub fn cancel_for(&self, order: &str) -> bool {
        match self.holder.lock().expect("holder lock").as_ref() {
            Some(holder) if holder.order.as_deref() == Some(order) => {
                holder.cancel.cancel();
                true
            }
            _ => false,
        }
    }

    pub fn origin(&self) -> &FrameOrigin {
        &self.origin
    }
}

/// The scan that holds the scanner.
struct Holder {
    order: Option<String>,
    cancel: crate::scan::session::CancelScan,
}

/// The scanner, held for one scan. A cancel that comes before the scan starts is kept by the
/// slot's signal, so the scan ends as soon as it begins.
pub struct ScanSlot {
    signal: Option<crate::scan::session::CancelSignal>,
    holder: Arc<Mutex<Option<Holder>>>,
    _held: tokio::sync::OwnedMutexGuard<()>,
}

impl ScanSlot {
    /// Names the order the scan is for, once the order has its id.
    pub fn assign(&self, order: &str) {
        if let Some(holder) = self.holder.lock().expect("holder lock").as_mut() {
            holder.order = Some(order.to_owned());
        }
    }

    fn order(&self) -> Option<String> {
        self.holder
            .lock()
            .expect("holder lock")
            .as_ref()
            .and_then(|h| h.order.clone())
    }
}

impl Drop for ScanSlot {
    /// Frees the holder before the scanner itself (fields drop after this), so whoever takes the
    /// scanner next finds no stale holder.
    fn drop(&mut self) {
        self.holder.lock().expect("holder lock").take();
    }
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
        ScanEvent::Taken { code, order } => Event::new(EventKind::CodeRefused).detail(format!(
            "{code} was already given to order {order}, which may have charged it; the scan goes \
             on for a new code"
        )),
        ScanEvent::TimedOut => Event::new(EventKind::ScanTimedOut),
        ScanEvent::Cancelled => Event::new(EventKind::ScanEnded).detail("cancelled"),
        ScanEvent::SourceEnded => Event::new(EventKind::ScanEnded).detail("no more frames"),
        ScanEvent::SourceFailed { reason } => {
            Event::new(EventKind::ScanEnded).detail(format!("frame source failed: {reason}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{CodeRules, DecoderConfig};

    fn service() -> ScanService {
        ScanService::new(
            Decoder::new(CodeRules::default(), DecoderConfig::default()),
            FrameOrigin::Pushed,
            Duration::from_secs(30),
            EventBus::new(),
            None,
        )
    }

    #[test]
    fn a_refused_scan_names_the_order_that_holds_the_scanner_from_the_moment_it_is_taken() {
        let scanner = service();
        let slot = scanner.reserve(None).unwrap();
        slot.assign("ORDER-1");
        match scanner.reserve(Some("ORDER-2")) {
            Err(ScanFailure::Busy(Some(holder))) => assert_eq!(holder, "ORDER-1"),
            other => panic!("expected busy for ORDER-1, got {:?}", other.err()),
        }
        drop(slot);
        let again = scanner
            .reserve(Some("ORDER-2"))
            .expect("the scanner is free again");
        match scanner.reserve(None) {
            Err(ScanFailure::Busy(Some(holder))) => assert_eq!(holder, "ORDER-2"),
            other => panic!("expected busy for ORDER-2, got {:?}", other.err()),
        }
        drop(again);
        assert!(!scanner.cancel(), "no holder is left once the slot is gone");
    }

    #[tokio::test]
    async fn a_cancel_that_comes_before_the_scan_starts_ends_it_at_once() {
        let scanner = service();
        let slot = scanner.reserve(Some("ORDER-1")).unwrap();
        assert!(scanner.cancel_for("ORDER-1"));
        let outcome = tokio::time::timeout(Duration::from_secs(5), scanner.scan_in(slot, None))
            .await
            .expect("the scan ends without waiting for its timeout");
        assert_eq!(outcome.unwrap_err(), ScanFailure::Cancelled);
    }
}
