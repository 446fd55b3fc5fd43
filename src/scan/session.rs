//! One scan: frames in, one payment code (or a timeout, or a cancel) out.
//!
//! The session pulls frames from a [`FrameSource`], decodes each on the blocking thread pool
//! (decoding is CPU work measured in milliseconds), and stops at the first valid code that the
//! [`Deduper`] admits. Progress is reported as [`ScanEvent`]s, which the local API streams to
//! the POS app; events carry masked codes only.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::decode::{DecodeOutcome, Decoder};
use super::dedupe::Deduper;
use super::source::{FailedScanRecorder, FrameSource, SourceError};
use super::validate::{MaskedCode, PaymentCode};

#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// How long a scan may run before it gives up.
    pub timeout: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(20),
        }
    }
}

/// What a scan reports while it runs. Never holds a full payment code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ScanEvent {
    Scanning,
    CodeFound {
        code: MaskedCode,
        wallet: String,
    },
    /// A QR code was read but is not a payment code (reported once until the reason changes).
    Refused {
        reason: String,
    },
    /// The code that was just submitted is still in view; it is not submitted again
    /// (reported once per scan).
    Duplicate {
        code: MaskedCode,
    },
    /// The code was given to another order, which may have charged it; the scan goes on for a
    /// new one (reported once per code).
    Taken {
        code: MaskedCode,
        order: String,
    },
    /// One frame could not be used; the scan goes on.
    FrameSkipped {
        reason: String,
    },
    TimedOut,
    Cancelled,
    /// The source has no more frames (a replayed folder ran out).
    SourceEnded,
    SourceFailed {
        reason: String,
    },
}

/// How a scan ended.
#[derive(Debug)]
pub enum ScanOutcome {
    Code(PaymentCode),
    TimedOut,
    Cancelled,
    SourceEnded,
    SourceFailed(SourceError),
}

/// Creates the two ends of a cancel signal: the caller keeps the [`CancelScan`], the session
/// gets the [`CancelSignal`].
pub fn cancel_pair() -> (CancelScan, CancelSignal) {
    let (sender, receiver) = watch::channel(false);
    (CancelScan(sender), CancelSignal(receiver))
}

/// Cancels the scan it was paired with.
#[derive(Debug)]
pub struct CancelScan(watch::Sender<bool>);

impl CancelScan {
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }
}

#[derive(Debug, Clone)]
pub struct CancelSignal(watch::Receiver<bool>);

impl CancelSignal {
    async fn cancelled(&mut self) {
        if self.0.wait_for(|cancelled| *cancelled).await.is_err() {
            // The caller dropped its handle: nobody can cancel any more.
            std::future::pending::<()>().await;
        }
    }
}

/// Names the order a code was given to, when it must not be given to another.
pub type TakenCodes = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Everything a scan needs besides its source.
pub struct Scanner {
    decoder: Arc<Decoder>,
    deduper: Deduper,
    taken: Option<TakenCodes>,
    recorder: Option<FailedScanRecorder>,
    config: SessionConfig,
    events: mpsc::UnboundedSender<ScanEvent>,
}

impl Scanner {
    pub fn new(
        decoder: Arc<Decoder>,
        deduper: Deduper,
        config: SessionConfig,
        events: mpsc::UnboundedSender<ScanEvent>,
    ) -> Self {
        Self {
            decoder,
            deduper,
            taken: None,
            recorder: None,
            config,
            events,
        }
    }

    /// Skips the codes `taken` names an order for, as a code still in view is skipped.
    pub fn skipping_taken(mut self, taken: TakenCodes) -> Self {
        self.taken = Some(taken);
        self
    }

    /// Saves the frames of failed scans (opt-in).
    pub fn with_recorder(mut self, recorder: FailedScanRecorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Runs one scan on `source` until a code, the timeout, a cancel or the end of the source.
    pub async fn scan<S: FrameSource>(
        &mut self,
        source: &mut S,
        mut cancel: CancelSignal,
    ) -> ScanOutcome {
        self.emit(ScanEvent::Scanning);
        let deadline = Instant::now() + self.config.timeout;
        let outcome = tokio::select! {
            biased;
            () = cancel.cancelled() => ScanOutcome::Cancelled,
            () = tokio::time::sleep_until(deadline) => ScanOutcome::TimedOut,
            outcome = self.read_until_code(source) => outcome,
        };
        let event = match &outcome {
            ScanOutcome::Code(code) => ScanEvent::CodeFound {
                code: code.masked(),
                wallet: code.wallet().to_owned(),
            },
            ScanOutcome::TimedOut => ScanEvent::TimedOut,
            ScanOutcome::Cancelled => ScanEvent::Cancelled,
            ScanOutcome::SourceEnded => ScanEvent::SourceEnded,
            ScanOutcome::SourceFailed(e) => ScanEvent::SourceFailed {
                reason: e.to_string(),
            },
        };
        self.emit(event);
        if let Some(recorder) = &mut self.recorder {
            match outcome {
                ScanOutcome::TimedOut | ScanOutcome::SourceEnded => {
                    if let Err(e) = recorder.save().await {
                        tracing::warn!("could not save the frames of a failed scan: {e}");
                    }
                }
                _ => recorder.discard(),
            }
        }
        outcome
    }

    async fn read_until_code<S: FrameSource>(&mut self, source: &mut S) -> ScanOutcome {
        let mut last_refusal = None;
        let mut duplicate_reported = false;
        let mut taken_reported: Vec<PaymentCode> = Vec::new();
        loop {
            let frame = match source.next_frame().await {
                Ok(Some(frame)) => frame,
                Ok(None) => return ScanOutcome::SourceEnded,
                Err(e) if e.is_frame_only() => {
                    self.emit(ScanEvent::FrameSkipped {
                        reason: e.to_string(),
                    });
                    continue;
                }
                Err(e) => return ScanOutcome::SourceFailed(e),
            };
            if let Some(recorder) = &mut self.recorder {
                recorder.observe(&frame.image);
            }
            let decoder = Arc::clone(&self.decoder);
            // A code given to another order may share the frame with the next customer's.
            let skip = taken_reported.clone();
            // A decoder that panics on one frame (a degenerate grid) costs that frame, not the scan.
            let decoded = match tokio::task::spawn_blocking(move || {
                decoder.decode_skipping(&frame.image, &skip)
            })
            .await
            {
                Ok(decoded) => decoded,
                Err(e) => {
                    self.emit(ScanEvent::FrameSkipped {
                        reason: format!("the decoder failed on this frame: {e}"),
                    });
                    continue;
                }
            };
            match decoded {
                DecodeOutcome::Found { code, .. } => {
                    if self.deduper.admit(&code, std::time::Instant::now()) {
                        match self.taken.as_ref().and_then(|taken| taken(code.expose())) {
                            None => return ScanOutcome::Code(code),
                            Some(order) => {
                                if !taken_reported.contains(&code) {
                                    self.emit(ScanEvent::Taken {
                                        code: code.masked(),
                                        order,
                                    });
                                    taken_reported.push(code);
                                }
                                continue;
                            }
                        }
                    }
                    if taken_reported.contains(&code) {
                        continue;
                    }
                    if !duplicate_reported {
                        self.emit(ScanEvent::Duplicate {
                            code: code.masked(),
                        });
                        duplicate_reported = true;
                    }
                }
                DecodeOutcome::Refused(refusal) => {
                    if last_refusal.as_ref() != Some(&refusal) {
                        self.emit(ScanEvent::Refused {
                            reason: refusal.to_string(),
                        });
                        last_refusal = Some(refusal);
                    }
                }
                DecodeOutcome::NothingRead => {}
            }
        }
    }

    fn emit(&self, event: ScanEvent) {
        // Nobody listening is fine: events are progress reports, not the result.
        let _ = self.events.send(event);
    }
}
