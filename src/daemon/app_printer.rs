//! The app printer link: the POS app is the printer.
//!
//! On an unrooted SUNMI the built-in printer belongs to SUNMI's printer service, which only an app
//! can bind. The printer thread stores each job in the app's queue (in the same durable step as the
//! order's print job); the app leases the job at the head of the queue
//! (`GET /v1/print-jobs/next`), prints it through the service and reports the result
//! (`POST /v1/print-jobs/{job_id}/result`), and passes on what the service says of the printer
//! (`PUT /v1/printer/state`).
//!
//! One job is out at a time, in the order they were stored. While the printer cannot print, no
//! job is handed out. A lease that ends without a result (the app died, the lease ran out, the
//! daemon restarted) may have printed, so the job goes out again laid out anew and marked `補印`.
//! Lease deadlines are kept on the monotonic clock; the store records only that a lease is open.

use super::events::{Event, EventBus, EventKind};
use super::printing::Renderer;
use crate::order::{
    AppJob, AppJobId, AppJobKind, AppOutcome, AppResult, LeaseCheck, PrintJob, PrintOutcome,
};
use crate::printer::sunmi::PrinterState;
use crate::shift::ReportPrint;
use crate::store::{Finish, Store, StoreError};
use base64::Engine as _;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// A job handed to the app.
#[derive(Debug, Clone, Serialize)]
pub struct Handout {
    pub job_id: String,
    pub order_id: Option<String>,
    pub kind: AppJobKind,
    /// Whether the printout is marked `補印`.
    pub reprint: bool,
    /// The ESC/POS stream, base64.
    pub bytes: String,
    /// How long the app has to report the result.
    pub lease_ms: u64,
}

/// Why a reported result was not taken.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("printer_state: {0}")]
    PrinterState(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What was recorded for a report; `repeated` when the same report came before.
#[derive(Debug, Clone, Serialize)]
pub struct Reported {
    #[serde(flatten)]
    pub result: AppResult,
    pub repeated: bool,
}

/// How long jobs wait after the app reports a failure while the printer still reads as ready, so
/// a printer that fails every job is not fed the same job in a tight loop.
const PAUSE_AFTER_FAILURE: Duration = Duration::from_secs(5);

struct Link {
    printer: PrinterState,
    /// The open lease, and when it ends.
    lease: Option<(AppJobId, Instant)>,
    /// No job goes out before this (after a failure).
    paused_until: Option<Instant>,
}

pub struct AppPrinter {
    store: Arc<Store>,
    renderer: Arc<Renderer>,
    events: EventBus,
    lease: Duration,
    link: Mutex<Link>,
    /// Wakes long polls: a job was queued or finished, or the printer's state changed.
    changed: Notify,
    /// One hand-out or report at a time, so the head of the queue has one owner.
    turn: tokio::sync::Mutex<()>,
}

/// What one look at the queue found.
enum Attempt {
    Handed(Handout),
    /// Nothing to hand out: wait for a change, or until this time (a lease or a pause ends).
    Wait(Option<Instant>),
}

impl AppPrinter {
    pub fn new(
        store: Arc<Store>,
        renderer: Arc<Renderer>,
        events: EventBus,
        lease: Duration,
    ) -> AppPrinter {
        AppPrinter {
            store,
            renderer,
            events,
            lease,
            // Until the app says otherwise, the printer is taken to be ready.
            link: Mutex::new(Link {
                printer: PrinterState::NORMAL,
                lease: None,
                paused_until: None,
            }),
            changed: Notify::new(),
            turn: tokio::sync::Mutex::new(()),
        }
    }

    /// Queues an order's print job with the bytes laid out for it, in one step with the job
    /// (noted: see [`Store::add_print_job`]), unless the order no longer owes that print. The
    /// bytes are stored once, with the app's job; `job` may be stored without them.
    pub fn enqueue_order_job(&self, job: &PrintJob, bytes: Vec<u8>) -> Result<bool, StoreError> {
        let app_job = self.order_job(job, bytes)?;
        let added = self.store.add_print_job_for_app(job, &app_job)?;
        if added {
            self.queued(&app_job);
        }
        Ok(added)
    }

    /// Queues a test page.
    pub fn enqueue_test_page(&self, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.enqueue_orderless(AppJobKind::Test, bytes)
    }

    /// Queues a link printed as a QR code.
    pub fn enqueue_link(&self, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.enqueue_orderless(AppJobKind::Link, bytes)
    }

    fn enqueue_orderless(&self, kind: AppJobKind, bytes: Vec<u8>) -> Result<(), StoreError> {
        let number = self.store.next_app_job_number()?;
        let job = AppJob::new(number, None, kind, false, bytes, crate::clock::now());
        self.store.put_app_job(&job)?;
        self.queued(&job);
        Ok(())
    }

    /// A shift report's job for the app's queue, to be stored with the report.
    pub fn report_job(&self, print: &ReportPrint) -> Result<AppJob, StoreError> {
        let mut job = AppJob::new(
            self.store.next_app_job_number()?,
            None,
            AppJobKind::ShiftReport,
            false,
            print.escpos.clone(),
            print.created_at,
        );
        job.shift_id = Some(print.shift_id);
        Ok(job)
    }

    /// Tells the app a job was stored in its queue.
    pub fn announce(&self, job: &AppJob) {
        self.queued(job);
    }

    /// Queues every stored print job not yet printed that the queue lacks (jobs stored before the
    /// app link was configured); returns how many.
    pub fn enqueue_owed(&self) -> Result<usize, StoreError> {
        let queued: Vec<_> = self
            .store
            .app_jobs()?
            .into_iter()
            .filter_map(|job| job.order_id.zip(job.order_seq))
            .collect();
        let mut added = 0;
        let queued_reports: Vec<_> = self
            .store
            .app_jobs()?
            .into_iter()
            .filter_map(|job| job.shift_id)
            .collect();
        for print in self.store.unprinted_reports()? {
            if queued_reports.contains(&print.shift_id) {
                continue;
            }
            let app_job = self.report_job(&print)?;
            self.store.put_app_job(&app_job)?;
            self.queued(&app_job);
            added += 1;
        }
        for job in self.store.unprinted_jobs()? {
            if queued
                .iter()
                .any(|(id, seq)| *id == job.order_id && *seq == job.seq)
            {
                continue;
            }
            let Some(bytes) = self.renderer.job_bytes(&self.store, &job) else {
                continue;
            };
            let app_job = self.order_job(&job, bytes)?;
            self.store.put_app_job(&app_job)?;
            self.queued(&app_job);
            added += 1;
        }
        Ok(added)
    }

    fn order_job(&self, job: &PrintJob, bytes: Vec<u8>) -> Result<AppJob, StoreError> {
        let kind = if job.seq == 0 {
            AppJobKind::Receipt
        } else {
            AppJobKind::Reprint
        };
        Ok(AppJob::new(
            self.store.next_app_job_number()?,
            Some((job.order_id.clone(), job.seq)),
            kind,
            job.seq > 0 || job.uncertain,
            bytes,
            job.created_at,
        ))
    }

    fn queued(&self, job: &AppJob) {
        let mut event = Event::new(EventKind::Printing)
            .detail(format!("queued for the app as job {}", job.number));
        if let Some(id) = &job.order_id {
            event = event.order(id.as_str());
        }
        self.events.publish(event);
        self.changed.notify_waiters();
    }

    /// The printer's state as the app last reported it.
    pub fn state(&self) -> PrinterState {
        self.link.lock().expect("app link lock").printer
    }

    /// How many jobs wait in the app's queue, the leased one included.
    pub fn waiting(&self) -> usize {
        self.store.app_jobs_waiting()
    }

    /// What the app learned from the printer service; jobs are held while it cannot print.
    pub fn set_state(&self, state: PrinterState) {
        let before = {
            let mut link = self.link.lock().expect("app link lock");
            let before = std::mem::replace(&mut link.printer, state);
            if state.can_print() && !before.can_print() {
                // The app says the fault is cleared: no reason to wait out a pause.
                link.paused_until = None;
            }
            before
        };
        if before == state {
            return;
        }
        let kind = if state.can_print() {
            (!before.can_print()).then_some(EventKind::PrinterBack)
        } else if state == PrinterState::OUT_OF_PAPER {
            Some(EventKind::PaperOut)
        } else if state == PrinterState::COVER_OPEN {
            Some(EventKind::CoverOpen)
        } else {
            Some(EventKind::PrinterFault)
        };
        if let Some(kind) = kind {
            self.events
                .publish(Event::new(kind).detail(format!("printer {state}")));
        }
        self.changed.notify_waiters();
    }

    /// The next job for the app, waiting up to `wait` for one; `None` when none is ready by then.
    pub async fn next(self: &Arc<Self>, wait: Duration) -> Result<Option<Handout>, StoreError> {
        let deadline = Instant::now() + wait;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let attempt = {
                let _turn = self.turn.lock().await;
                let this = self.clone();
                tokio::task::spawn_blocking(move || this.try_handout(Instant::now()))
                    .await
                    .expect("a hand-out does not panic")?
            };
            let until = match attempt {
                Attempt::Handed(handout) => return Ok(Some(handout)),
                Attempt::Wait(retry_at) => retry_at.map_or(deadline, |at| at.min(deadline)),
            };
            if Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::select! {
                _ = changed => {}
                _ = tokio::time::sleep_until(until.into()) => {}
            }
        }
    }

    fn try_handout(&self, now: Instant) -> Result<Attempt, StoreError> {
        let (printer, lease, paused_until) = {
            let link = self.link.lock().expect("app link lock");
            (link.printer, link.lease, link.paused_until)
        };
        if !printer.can_print() {
            return Ok(Attempt::Wait(None));
        }
        if let Some(until) = paused_until
            && now < until
        {
            return Ok(Attempt::Wait(Some(until)));
        }
        if let Some((_, ends)) = lease
            && now < ends
        {
            return Ok(Attempt::Wait(Some(ends)));
        }
        let Some(mut job) = self.store.first_app_job()? else {
            return Ok(Attempt::Wait(None));
        };
        if job.leased {
            // Its lease ended without a result (or the daemon restarted meanwhile): the first
            // copy may be on paper.
            self.lay_out_again(&mut job);
        }
        let id = job.lease();
        self.store.put_app_job(&job)?;
        self.link.lock().expect("app link lock").lease = Some((id, now + self.lease));
        let mut event =
            Event::new(EventKind::Printing).detail(format!("handed to the app as job {id}"));
        if let Some(order) = &job.order_id {
            event = event.order(order.as_str());
        }
        self.events.publish(event);
        Ok(Attempt::Handed(Handout {
            job_id: id.to_string(),
            order_id: job.order_id.as_ref().map(|id| id.to_string()),
            kind: job.kind,
            reprint: job.marked_reprint,
            bytes: base64::engine::general_purpose::STANDARD.encode(&job.escpos),
            lease_ms: u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX),
        }))
    }

    /// An order's receipt laid out again marked `補印`; a test page goes out as it was.
    fn lay_out_again(&self, job: &mut AppJob) {
        let Some(id) = &job.order_id else {
            return;
        };
        tracing::warn!(order = %id, job = job.number, "a print job's lease ended without a result; printing it again marked as a reprint");
        let laid_out = match self.store.get(id) {
            Ok(Some(order)) => self.renderer.receipt(&order, true),
            Ok(None) => Err(format!("order {id} is no longer stored")),
            Err(e) => Err(e.to_string()),
        };
        match laid_out {
            Ok(Some(bytes)) => {
                job.escpos = bytes;
                job.marked_reprint = true;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(order = %id, "cannot lay the receipt out again as a reprint: {e}")
            }
        }
    }

    /// Records what the app reported for the lease `job_id`.
    pub async fn report(
        self: &Arc<Self>,
        job_id: &str,
        outcome: AppOutcome,
    ) -> Result<Reported, ReportError> {
        let id: AppJobId = job_id.parse().map_err(ReportError::NotFound)?;
        let reported_state = match &outcome {
            AppOutcome::Failed {
                printer_state: Some(code),
                ..
            } => Some(PrinterState::from_code(*code).map_err(ReportError::PrinterState)?),
            _ => None,
        };
        let reported = {
            let _turn = self.turn.lock().await;
            let this = self.clone();
            let outcome = outcome.clone();
            tokio::task::spawn_blocking(move || this.record(id, outcome))
                .await
                .expect("recording a result does not panic")?
        };
        if reported.repeated {
            return Ok(reported);
        }
        {
            let mut link = self.link.lock().expect("app link lock");
            if link.lease.is_some_and(|(leased, _)| leased == id) {
                link.lease = None;
            }
            if !matches!(outcome, AppOutcome::Printed {}) {
                link.paused_until = Some(Instant::now() + PAUSE_AFTER_FAILURE);
            }
        }
        let order = reported.result.order_id.as_ref().map(|id| id.to_string());
        let event = match &outcome {
            AppOutcome::Printed {} => Event::new(EventKind::Printed),
            AppOutcome::Failed { .. } => {
                Event::new(EventKind::PrintFailed).detail(failure_reason(&outcome))
            }
        };
        self.events.publish(match order {
            Some(order) => event.order(order),
            None => event,
        });
        if let Some(state) = reported_state {
            self.set_state(state);
        }
        self.changed.notify_waiters();
        Ok(reported)
    }

    fn record(&self, id: AppJobId, outcome: AppOutcome) -> Result<Reported, ReportError> {
        if let Some(earlier) = self.store.app_result(id)? {
            return if earlier.outcome.same_kind(&outcome) {
                Ok(Reported {
                    result: earlier,
                    repeated: true,
                })
            } else {
                Err(ReportError::Conflict(format!(
                    "print job {id} was already reported {}",
                    earlier.outcome.name()
                )))
            };
        }
        let Some(mut job) = self.store.app_job(id.number)? else {
            return Err(match self.store.last_app_result(id.number)? {
                Some(last) => ReportError::Conflict(format!(
                    "print job {id} is finished: job {} was reported {}",
                    last.job_id,
                    last.outcome.name()
                )),
                None => ReportError::NotFound(format!("no print job {id}")),
            });
        };
        match job.judge(id) {
            LeaseCheck::Current => {}
            LeaseCheck::Superseded(current) => {
                return Err(ReportError::Conflict(format!(
                    "the lease of print job {id} expired and the job was handed out again as \
                     {current}; that lease's result counts"
                )));
            }
            LeaseCheck::NeverHandedOut => {
                return Err(ReportError::NotFound(format!(
                    "no print job {id}: job {} was handed out as {}",
                    id.number,
                    job.current()
                )));
            }
        }
        let now = crate::clock::now();
        let printed = matches!(outcome, AppOutcome::Printed {});
        let print_outcome = match &outcome {
            AppOutcome::Printed {} => PrintOutcome::Printed,
            AppOutcome::Failed { .. } => PrintOutcome::Failed {
                reason: failure_reason(&outcome),
                uncertain: false,
            },
        };
        let result = AppResult {
            job_id: id.to_string(),
            order_id: job.order_id.clone(),
            outcome,
            recorded_at: now,
        };
        job.leased = false;
        let print = job
            .order_id
            .as_ref()
            .zip(job.order_seq)
            .map(|(order, seq)| (order, seq, &print_outcome));
        self.store.finish_app_job(&Finish {
            requeued: (!printed).then_some(&job),
            number: job.number,
            result: &result,
            job_id: id,
            print,
            report: job.shift_id.map(|shift| (shift, &print_outcome)),
            at: now,
        })?;
        Ok(Reported {
            result,
            repeated: false,
        })
    }
}

fn failure_reason(outcome: &AppOutcome) -> String {
    let AppOutcome::Failed {
        printer_state,
        message,
    } = outcome
    else {
        return String::new();
    };
    let state = printer_state.map(|code| match PrinterState::from_code(code) {
        Ok(state) => format!("printer {state}"),
        Err(_) => format!("printer state {code}"),
    });
    match (state, message) {
        (Some(state), Some(message)) => format!("the app could not print: {message} ({state})"),
        (Some(state), None) => format!("the app could not print: {state}"),
        (None, Some(message)) => format!("the app could not print: {message}"),
        (None, None) => "the app could not print the job".to_owned(),
    }
}
