//! The receipt printer: turns each paid order's gateway answer into ESC/POS bytes, stores them as a
//! print job with the order, and gets them onto paper.
//!
//! A job is durable before it goes to the printer, so a crash or an empty paper roll never loses a
//! receipt: at start every unprinted job is sent again. While the printer reports paper out or the
//! cover open, jobs are held and retried, and the POS app hears about it through events. The links
//! are blocking, so the printer runs on a thread of its own.

use super::app_printer::AppPrinter;
use super::events::{Event, EventBus, EventKind};
use super::layout_thread::LayoutThread;
use crate::api::values::InvoicePrintDevice;
use crate::config::PrintDeviceZero;
use crate::escpos::status::PrinterStatus;
use crate::escpos::{self, EncodeOptions};
use crate::order::{Order, OrderError, OrderId, PrintJob, PrintOutcome, PrintStatus, Timestamp};
use crate::printer::{self, Delivery, Spooler};
use crate::profile::Profile;
use crate::receipt::{self, Block, DetailLine, InvoiceAnswer, LayoutSettings, ReceiptInput};
use crate::shift::{ShiftId, ShiftReport};
use crate::store::Store;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

pub use crate::receipt::SIMULATED_NOTICE;

/// How often held or failed jobs are tried again.
const RETRY_EVERY: Duration = Duration::from_secs(2);

/// The hardware profiles shipped inside the binary, by name.
pub const BUILT_IN_PROFILES: [(&str, &str); 3] = [
    (
        "sunmi-v2-pro",
        include_str!("../../hardware/sunmi-v2-pro.toml"),
    ),
    (
        "generic-58mm",
        include_str!("../../hardware/generic-58mm.toml"),
    ),
    (
        "generic-80mm",
        include_str!("../../hardware/generic-80mm.toml"),
    ),
];

/// A built-in profile by name, or a profile file.
pub fn load_profile(name_or_path: &str) -> Result<Profile, String> {
    match BUILT_IN_PROFILES
        .iter()
        .find(|(name, _)| *name == name_or_path)
    {
        Some((name, text)) => Profile::parse(text, name).map_err(|e| e.to_string()),
        None => Profile::load(std::path::Path::new(name_or_path)).map_err(|e| e.to_string()),
    }
}

/// What the printer works with.
pub struct PrinterSetup {
    pub profile: Profile,
    pub layout: LayoutSettings,
    /// The merchant's cached title image, dithered once at start, for `invoice_title_type` 2.
    pub logo: Option<receipt::Bitmap>,
    /// Where to write a PNG preview of every job, drawn from its bytes.
    pub previews: Option<PathBuf>,
    /// Whether an answer with `invoice_print_device` 0 prints without being asked.
    pub print_device_0: PrintDeviceZero,
}

/// A request to the printer thread.
pub enum PrintRequest {
    /// Print what the order owes.
    Order(OrderId),
    /// Print the test page.
    TestPage,
    /// Print a closed shift's report, stored with it.
    ShiftReport(ShiftId),
    /// Print a link for the customer's phone as a QR code under `caption`.
    Link { caption: String, url: String },
    /// Answer, to show the thread is taking requests (the watchdog asks).
    Ping(std::sync::mpsc::SyncSender<()>),
    /// Stop after the current job: the daemon is stopping.
    Stop,
}

/// The printer thread, for stopping it.
pub struct PrinterThread {
    stopped: Receiver<()>,
    in_hand: InHand,
    store: Arc<Store>,
}

impl PrinterThread {
    /// Waits at most `bound` for the thread to finish its current job and stop (after a
    /// [`PrintRequest::Stop`]); says whether it did. The receipts still on their way to a printer
    /// that hangs may be partly on paper: they are recorded so, and the next start sends them
    /// again laid out anew and marked `補印`.
    pub fn join(&self, bound: Duration) -> bool {
        let joined = matches!(
            self.stopped.recv_timeout(bound),
            Ok(()) | Err(RecvTimeoutError::Disconnected)
        );
        if !joined {
            let outcome = PrintOutcome::Failed {
                reason: "the daemon stopped while the receipt was being sent".into(),
                uncertain: true,
            };
            for (id, seq) in self.in_hand.take() {
                if let Err(e) = self
                    .store
                    .record_print(&id, seq, &outcome, crate::clock::now())
                {
                    tracing::error!(order = %id, "cannot record the receipt left unfinished: {e}");
                }
            }
        }
        joined
    }
}

/// The receipts in the printer link's queue while the printer thread sends it: any of them may
/// be on paper, in part or whole, when the thread is stopped before it can say. (A shift report
/// left so is sent again unchanged, as after any failure.)
#[derive(Clone, Default)]
struct InHand(Arc<std::sync::Mutex<Vec<(OrderId, u32)>>>);

impl InHand {
    fn hold(&self, spooler: &LinkSpooler) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = spooler
            .queued_tags()
            .filter_map(|tag| match tag {
                JobTag::Receipt(id, seq) => Some((id.clone(), *seq)),
                JobTag::ShiftReport(_) | JobTag::Link(_) | JobTag::TestPage => None,
            })
            .collect();
    }

    fn take(&self) -> Vec<(OrderId, u32)> {
        std::mem::take(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Starts the printer thread; it prints what `requests` sends and what the store still owes. With
/// `app`, jobs go to the POS app's queue instead of a printer link.
pub fn spawn(
    renderer: Arc<Renderer>,
    store: Arc<Store>,
    events: EventBus,
    requests: Receiver<PrintRequest>,
    app: Option<Arc<AppPrinter>>,
) -> PrinterThread {
    let (done, stopped) = std::sync::mpsc::channel();
    let in_hand = InHand::default();
    let layout = LayoutThread::spawn();
    let thread = PrinterThread {
        stopped,
        in_hand: in_hand.clone(),
        store: store.clone(),
    };
    std::thread::Builder::new()
        .name("posd-printer".into())
        .spawn(move || {
            // The printer starts again from what the store owes, as after a restart.
            super::supervise::restart_on_panic("the printer thread", RETRY_EVERY, || {
                Printer::new(
                    renderer.clone(),
                    layout.clone(),
                    store.clone(),
                    events.clone(),
                    app.clone(),
                )
                .with_in_hand(in_hand.clone())
                .run(&requests)
            });
            let _ = done.send(());
        })
        .expect("a thread can be started");
    thread
}

/// What a job on a printer link prints, so that its outcome is recorded where it belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum JobTag {
    /// Print job `seq` of an order.
    Receipt(OrderId, u32),
    ShiftReport(ShiftId),
    /// A stored link job, by number.
    Link(u64),
    TestPage,
}

/// The spooler of a printer link, each job tagged with what it prints.
type LinkSpooler = Spooler<Box<dyn printer::Link>, JobTag>;

/// A sender that can be kept in async code.
pub type PrintQueue = Sender<PrintRequest>;

struct Printer {
    renderer: Arc<Renderer>,
    /// Where receipts are laid out, below the order workers' priority (see `layout_thread`).
    layout: LayoutThread,
    /// The POS app's print queue, on the app printer link; the spooler is not used then.
    app: Option<Arc<AppPrinter>>,
    store: Arc<Store>,
    events: EventBus,
    spooler: Option<LinkSpooler>,
    /// What holds the jobs, as last told to the POS app; `None` while the printer prints.
    held: Option<PrinterStatus>,
    /// A job failed to send; the store's owed jobs are sent again at the next retry.
    owe_failed: bool,
    in_hand: InHand,
}

impl Printer {
    fn new(
        renderer: Arc<Renderer>,
        layout: LayoutThread,
        store: Arc<Store>,
        events: EventBus,
        app: Option<Arc<AppPrinter>>,
    ) -> Printer {
        Printer {
            renderer,
            layout,
            app,
            store,
            events,
            spooler: None,
            held: None,
            owe_failed: false,
            in_hand: InHand::default(),
        }
    }

    fn with_in_hand(mut self, in_hand: InHand) -> Printer {
        self.in_hand = in_hand;
        self
    }

    /// The order's receipt laid out (see [`Renderer::receipt`]), on the layout thread. The order
    /// goes there, rather than being copied with its stored answer.
    fn lay_out(
        &self,
        order: Order,
        answer: InvoiceAnswer,
        reprint: bool,
    ) -> Result<Option<Vec<u8>>, String> {
        let renderer = self.renderer.clone();
        self.layout
            .run(move || renderer.receipt_of(&order, &answer, reprint))
    }

    fn run(mut self, requests: &Receiver<PrintRequest>) {
        self.resend_owed();
        self.print_pending_receipts();
        loop {
            match requests.recv_timeout(RETRY_EVERY) {
                Ok(PrintRequest::Order(id)) => self.print_order(&id, false),
                Ok(PrintRequest::TestPage) => self.print_test_page(),
                Ok(PrintRequest::ShiftReport(id)) => self.print_report(id),
                Ok(PrintRequest::Link { caption, url }) => self.print_link(&caption, &url),
                Ok(PrintRequest::Ping(answer)) => {
                    let _ = answer.try_send(());
                }
                Ok(PrintRequest::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => self.retry(),
            }
        }
    }

    /// Jobs stored but not printed by the last run (a crash, paper out at shutdown).
    fn resend_owed(&mut self) {
        if let Some(app) = &self.app {
            if let Err(e) = app.enqueue_owed() {
                tracing::error!("cannot hand the owed print jobs to the app: {e}");
            }
            return;
        }
        match self.store.unprinted_jobs() {
            Ok(jobs) => {
                for job in jobs {
                    tracing::info!(order = %job.order_id, seq = job.seq, "printing a receipt owed from before");
                    if let Some(bytes) = self.renderer.job_bytes(&self.store, &job) {
                        self.deliver(job.order_id, job.seq, bytes);
                    }
                }
            }
            Err(e) => tracing::error!("cannot read the owed print jobs: {e}"),
        }
        match self.store.unprinted_link_jobs() {
            Ok(jobs) => {
                for job in jobs {
                    tracing::info!(caption = %job.caption, "printing a link owed from before");
                    self.deliver_link(job);
                }
            }
            Err(e) => tracing::error!("cannot read the owed link jobs: {e}"),
        }
        match self.store.unprinted_reports() {
            Ok(reports) => {
                for report in reports {
                    tracing::info!(shift = %report.shift_id, "printing a shift report owed from before");
                    self.submit(report.escpos, JobTag::ShiftReport(report.shift_id));
                }
            }
            Err(e) => tracing::error!("cannot read the owed shift reports: {e}"),
        }
    }

    /// A closed shift's report, from the printout stored with it (its preview was written at the
    /// close).
    fn print_report(&mut self, id: ShiftId) {
        match self.store.report_print(id) {
            Ok(Some(print)) if print.owed() => self.submit(print.escpos, JobTag::ShiftReport(id)),
            Ok(_) => {}
            Err(e) => tracing::error!(shift = %id, "cannot read the shift report to print: {e}"),
        }
    }

    /// Receipts owed by paid orders that have no job yet; `print_order` skips the ones that do.
    /// After an unclean end (see [`Store::opened_unclean`]) a job noted but lost may have gone
    /// to paper already, so these are laid out marked `補印`.
    fn print_pending_receipts(&mut self) {
        let uncertain = self.store.opened_unclean();
        match self.store.receipts_pending() {
            Ok(ids) => {
                for id in ids {
                    self.print_order(&id, uncertain);
                }
            }
            Err(e) => tracing::error!("cannot read the receipts owed: {e}"),
        }
    }

    fn print_order(&mut self, id: &OrderId, uncertain: bool) {
        let order = match self.store.get(id) {
            Ok(Some(order)) => order,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(order = %id, "cannot read the order to print: {e}");
                return;
            }
        };
        if order.receipt().status != PrintStatus::Pending {
            return;
        }
        let Some(raw) = order.last_answer().map(|answer| &answer.raw) else {
            return;
        };
        // Print n is the n-th reprint; each step below is taken only while the order owes it.
        let seq = order.receipt().reprints;
        let reprint = seq > 0 || uncertain;
        let answer = InvoiceAnswer::from_json(raw.get()).map_err(|e| e.to_string());
        let merchant_prints = answer
            .as_ref()
            .is_ok_and(|a| a.invoice.invoice_print_device == Some(InvoicePrintDevice::Merchant));
        if merchant_prints
            && !reprint
            && self.renderer.setup.print_device_0 == PrintDeviceZero::Hold
        {
            // invoice_print_device 0, held by configuration: printed only when asked for again.
            self.settle(id, seq, "no receipt is needed", |order, at| {
                order.receipt_not_needed(at)
            });
            return;
        }
        let laid_out = match answer {
            Ok(answer) => self.lay_out(order, answer, reprint),
            Err(e) => Err(e),
        };
        let bytes = match laid_out {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                self.settle(id, seq, "no receipt is needed", |order, at| {
                    order.receipt_not_needed(at)
                });
                return;
            }
            Err(e) => {
                tracing::error!(order = %id, "cannot lay out the receipt: {e}");
                self.events.publish(
                    Event::new(EventKind::PrintFailed)
                        .order(id.as_str())
                        .detail(e.clone()),
                );
                self.settle(id, seq, "the receipt failed", |order, at| {
                    order.receipt_failed(e, at)
                });
                return;
            }
        };
        match self.store.print_jobs(id) {
            Ok(jobs) if jobs.iter().any(|j| j.seq == seq) => return,
            Ok(_) => {}
            Err(e) => {
                tracing::error!(order = %id, "cannot read the order's print jobs: {e}");
                return;
            }
        }
        // Stored without its bytes: should it have to go out again, it is laid out again.
        let job = PrintJob {
            order_id: id.clone(),
            seq,
            escpos: Vec::new(),
            status: PrintStatus::Pending,
            created_at: crate::clock::now(),
            uncertain,
        };
        if let Some(app) = &self.app {
            self.renderer.write_preview(&format!("{id}-{seq}"), &bytes);
            match app.enqueue_order_job(&job, bytes) {
                Ok(true) => {}
                Ok(false) => superseded(id, seq),
                Err(e) => {
                    tracing::error!(order = %id, "cannot queue the print job for the app: {e}")
                }
            }
            return;
        }
        // Durable before it reaches the printer: a crash from here on reprints, never loses it.
        match self.store.add_print_job(&job) {
            Ok(true) => self.deliver(id.clone(), seq, bytes),
            Ok(false) => superseded(id, seq),
            Err(e) => tracing::error!(order = %id, "cannot store the print job: {e}"),
        }
    }

    /// Settles print `seq` of the order's receipt in the store, as the order is there now.
    fn settle(
        &self,
        id: &OrderId,
        seq: u32,
        what: &str,
        change: impl FnOnce(&mut Order, Timestamp) -> Result<(), OrderError>,
    ) {
        let at = crate::clock::now();
        match self
            .store
            .settle_receipt(id, seq, |order| change(order, at))
        {
            Ok(true) => {}
            Ok(false) => superseded(id, seq),
            Err(e) => tracing::error!(order = %id, "cannot record that {what}: {e}"),
        }
    }

    fn print_test_page(&mut self) {
        let bytes = match self.renderer.test_page() {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!("cannot lay out the test page: {e}");
                return;
            }
        };
        self.renderer.write_preview("test-page", &bytes);
        match &self.app {
            Some(app) => {
                if let Err(e) = app.enqueue_test_page(bytes) {
                    tracing::error!("cannot queue the test page for the app: {e}");
                }
            }
            None => self.submit(bytes, JobTag::TestPage),
        }
    }

    /// A link as a QR code: stored (or queued for the app) before it goes to the printer, like a
    /// receipt.
    fn print_link(&mut self, caption: &str, url: &str) {
        let bytes = match self.renderer.link(caption, url) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!("cannot lay out the link {caption}: {e}");
                self.events
                    .publish(Event::new(EventKind::PrintFailed).detail(format!("{caption}: {e}")));
                return;
            }
        };
        if let Some(app) = &self.app {
            self.renderer.write_preview("link", &bytes);
            if let Err(e) = app.enqueue_link(bytes) {
                tracing::error!("cannot queue the link for the app: {e}");
            }
            return;
        }
        match self
            .store
            .save_link_job(caption, bytes, crate::clock::now())
        {
            Ok(job) => self.deliver_link(job),
            Err(e) => tracing::error!("cannot store the link job: {e}"),
        }
    }

    fn deliver_link(&mut self, job: crate::order::LinkJob) {
        self.events
            .publish(Event::new(EventKind::Printing).detail(job.caption.clone()));
        self.renderer
            .write_preview(&format!("link-{}", job.number), &job.escpos);
        self.submit(job.escpos, JobTag::Link(job.number));
    }

    fn deliver(&mut self, id: OrderId, seq: u32, bytes: Vec<u8>) {
        self.events
            .publish(Event::new(EventKind::Printing).order(id.as_str()));
        self.renderer.write_preview(&format!("{id}-{seq}"), &bytes);
        self.submit(bytes, JobTag::Receipt(id, seq));
    }

    fn submit(&mut self, bytes: Vec<u8>, job: JobTag) {
        let in_hand = self.in_hand.clone();
        let spooler = match self.spooler() {
            Ok(spooler) => spooler,
            Err(e) => {
                // Nothing was sent: the link could not be opened.
                self.failed(job, &e, false);
                return;
            }
        };
        spooler.enqueue(job, bytes);
        in_hand.hold(spooler);
        let delivery = spooler.retry();
        self.after(delivery);
    }

    fn retry(&mut self) {
        match self.spooler.as_mut() {
            Some(spooler) if spooler.pending() > 0 => {
                self.in_hand.hold(spooler);
                let delivery = spooler.retry();
                self.after(delivery);
            }
            _ if self.owe_failed => {
                self.owe_failed = false;
                self.resend_owed();
            }
            _ => {}
        }
    }

    /// Records every job the spooler sent, as it went, then what the spooler says of the rest.
    fn after(&mut self, delivery: Result<Delivery, printer::PrintError>) {
        let sent = self
            .spooler
            .as_mut()
            .map(Spooler::take_sent)
            .unwrap_or_default();
        for job in sent {
            self.printed(job);
        }
        self.in_hand.take();
        match delivery {
            Ok(Delivery::Printed) => {
                if self.held.take().is_some() {
                    self.events.publish(Event::new(EventKind::PrinterBack));
                }
            }
            Ok(Delivery::Held(status)) => {
                // Told again whenever what holds the jobs changes: the cover closed on an empty
                // roll still holds them, for another reason.
                if self.held.replace(status) != Some(status) {
                    let kind = if status.error {
                        EventKind::PrinterFault
                    } else if status.paper_out {
                        EventKind::PaperOut
                    } else {
                        EventKind::CoverOpen
                    };
                    let mut event = Event::new(kind).detail(status.faults());
                    if let Some(JobTag::Receipt(id, _)) =
                        self.spooler.as_ref().and_then(Spooler::next_tag)
                    {
                        event = event.order(id.as_str());
                    }
                    self.events.publish(event);
                }
            }
            Err(e) => {
                tracing::error!("printing failed: {e}");
                // The link is reopened for the next try; the spooler's jobs stay owed in the store.
                // The first was being sent when the link failed: it may be on paper.
                // Not when the link failed before it: then nothing of it left.
                let unsent = self.spooler.take().map(Spooler::into_unsent);
                for (n, job) in unsent.into_iter().flatten().enumerate() {
                    self.failed(job, &e.to_string(), n == 0 && e.while_sending());
                }
            }
        }
    }

    fn spooler(&mut self) -> Result<&mut LinkSpooler, String> {
        if self.spooler.is_none() {
            let printer = &self.renderer.setup.profile.printer;
            let link = printer::open(printer).map_err(|e| e.to_string())?;
            self.spooler = Some(Spooler::tagged(link, printer.two_way));
        }
        Ok(self.spooler.as_mut().expect("just opened"))
    }

    fn printed(&self, job: JobTag) {
        let now = crate::clock::now();
        match job {
            JobTag::Receipt(id, seq) => {
                match self
                    .store
                    .record_print(&id, seq, &PrintOutcome::Printed, now)
                {
                    Ok(()) => self
                        .events
                        .publish(Event::new(EventKind::Printed).order(id.as_str())),
                    Err(e) => tracing::error!(order = %id, "printed, but cannot record it: {e}"),
                }
            }
            JobTag::ShiftReport(id) => {
                match self
                    .store
                    .record_report_print(id, &PrintOutcome::Printed, now)
                {
                    Ok(()) => self.events.publish(
                        Event::new(EventKind::Printed).detail(format!("shift {id} report")),
                    ),
                    Err(e) => {
                        tracing::error!(shift = %id, "printed the report, but cannot record it: {e}")
                    }
                }
            }
            JobTag::Link(number) => {
                match self
                    .store
                    .record_link_print(number, &PrintOutcome::Printed, now)
                {
                    Ok(()) => self.events.publish(Event::new(EventKind::Printed)),
                    Err(e) => tracing::error!("link printed, but cannot record it: {e}"),
                }
            }
            JobTag::TestPage => {}
        }
    }

    /// Records a job that did not print; `uncertain` when the link failed while sending it. It
    /// stays owed, and goes out again with the other owed jobs.
    fn failed(&mut self, job: JobTag, reason: &str, uncertain: bool) {
        let outcome = PrintOutcome::Failed {
            reason: reason.to_owned(),
            uncertain,
        };
        let now = crate::clock::now();
        let recorded = match &job {
            JobTag::Receipt(id, seq) => {
                self.events.publish(
                    Event::new(EventKind::PrintFailed)
                        .order(id.as_str())
                        .detail(reason.to_owned()),
                );
                self.store.record_print(id, *seq, &outcome, now)
            }
            JobTag::ShiftReport(id) => {
                self.events.publish(
                    Event::new(EventKind::PrintFailed)
                        .detail(format!("shift {id} report: {reason}")),
                );
                self.store.record_report_print(*id, &outcome, now)
            }
            JobTag::Link(number) => {
                self.events
                    .publish(Event::new(EventKind::PrintFailed).detail(reason.to_owned()));
                self.store.record_link_print(*number, &outcome, now)
            }
            JobTag::TestPage => {
                tracing::error!("the test page could not be printed: {reason}");
                return;
            }
        };
        self.owe_failed = true;
        if let Err(e) = recorded {
            tracing::error!(job = ?job, "cannot record the failed print: {e}");
        }
    }
}

/// Lays out receipts and test pages and encodes them for the profile's printer. Shared by the
/// printer thread and the app printer link, which lays a leased receipt out again as a reprint.
pub struct Renderer {
    setup: PrinterSetup,
    events: EventBus,
}

impl Renderer {
    pub fn new(setup: PrinterSetup, events: EventBus) -> Renderer {
        Renderer { setup, events }
    }

    /// The ESC/POS bytes of the order's receipt, or `None` when the answer asks for no printout.
    pub fn receipt(&self, order: &Order, reprint: bool) -> Result<Option<Vec<u8>>, String> {
        let Some(raw) = order.last_answer().map(|answer| &answer.raw) else {
            return Ok(None);
        };
        let answer = InvoiceAnswer::from_json(raw.get()).map_err(|e| e.to_string())?;
        self.receipt_of(order, &answer, reprint)
    }

    /// The ESC/POS bytes of the receipt for `answer`, read from the order's last answer.
    pub fn receipt_of(
        &self,
        order: &Order,
        answer: &InvoiceAnswer,
        reprint: bool,
    ) -> Result<Option<Vec<u8>>, String> {
        let items: Vec<DetailLine> = order
            .charge()
            .items
            .iter()
            .map(|i| {
                DetailLine::from_item(&crate::einvoice::Item::new(
                    i.name.clone(),
                    i.quantity,
                    i.unit_price,
                ))
            })
            .collect();
        let printer = &self.setup.profile.printer;
        let built = receipt::build(&ReceiptInput {
            answer,
            order_items: &items,
            reprint,
            settings: &self.setup.layout,
            logo: self.setup.logo.as_ref(),
            width_dots: printer.width_dots,
        })
        .map_err(|e| e.to_string())?;
        if let Some(notice) = &built.notice {
            self.events.publish(
                Event::new(EventKind::InvoiceNotIssued)
                    .order(order.id().as_str())
                    .detail(
                        notice
                            .message
                            .clone()
                            .unwrap_or_else(|| format!("invoice_state {}", notice.state)),
                    ),
            );
        }
        if let Some(unread) = &built.detail_unread {
            tracing::warn!(order = %order.id(), "the item detail is printed from the order: {unread}");
        }
        if built.blocks.is_empty() {
            return Ok(None);
        }
        let mut blocks = built.blocks;
        if order.simulated() {
            let notice = Block::Text {
                text: SIMULATED_NOTICE.to_owned(),
                style: receipt::Style::NOTICE,
            };
            blocks.insert(0, notice);
        }
        self.encode(&blocks).map(Some)
    }

    /// The bytes a stored print job sends: those stored with it, or, when it was stored without
    /// them or may be on paper already, its order's receipt laid out again (marked `補印` unless
    /// it is the order's first print and surely not on paper). `None`, logged, when there is
    /// nothing to send.
    pub fn job_bytes(&self, store: &Store, job: &PrintJob) -> Option<Vec<u8>> {
        if !job.escpos.is_empty() && !job.uncertain {
            return Some(job.escpos.clone());
        }
        let id = &job.order_id;
        let laid_out = match store.get(id) {
            Ok(Some(order)) => self.receipt(&order, job.seq > 0 || job.uncertain),
            Ok(None) => Err(format!("order {id} is no longer stored")),
            Err(e) => Err(e.to_string()),
        };
        match laid_out {
            Ok(Some(bytes)) => Some(bytes),
            Ok(None) => {
                tracing::warn!(order = %id, seq = job.seq, "the order's answer asks for no receipt; its print job is not sent");
                None
            }
            Err(e) => {
                tracing::error!(order = %id, seq = job.seq, "cannot lay the owed receipt out again: {e}");
                None
            }
        }
    }

    fn encode(&self, blocks: &[Block]) -> Result<Vec<u8>, String> {
        let printer = &self.setup.profile.printer;
        let options = EncodeOptions {
            width_dots: printer.width_dots,
            encoding: printer.encoding,
            cut: printer.cut && self.setup.layout.cut,
        };
        let encoded = escpos::encode(blocks, &options).map_err(|e| e.to_string())?;
        if !encoded.replaced.is_empty() {
            tracing::warn!(
                "{} character(s) the printer's encoding cannot carry printed as '?'",
                encoded.replaced.len()
            );
        }
        Ok(encoded.bytes)
    }

    /// The ESC/POS bytes of a shift's report (交班報表), laid out for the profile's paper.
    pub fn shift_report(&self, report: &ShiftReport) -> Result<Vec<u8>, String> {
        let width = self.setup.profile.printer.width_dots;
        self.encode(&crate::shift::layout::blocks(report, width))
    }

    /// A link for the customer's phone as a QR code under its caption.
    pub fn link(&self, caption: &str, url: &str) -> Result<Vec<u8>, String> {
        let blocks = receipt::link::page(caption, url, self.setup.profile.printer.width_dots)
            .map_err(|e| e.to_string())?;
        self.encode(&blocks)
    }

    /// The test page: the profile's header, then the sample e-invoice and its detail.
    pub fn test_page(&self) -> Result<Vec<u8>, String> {
        let sample = include_str!("../../receipts/samples/b2c-issued-proof-and-detail.json");
        let answer = InvoiceAnswer::from_json(sample).map_err(|e| e.to_string())?;
        let built = receipt::build(&ReceiptInput::new(
            &answer,
            &self.setup.layout,
            self.setup.profile.printer.width_dots,
        ))
        .map_err(|e| e.to_string())?;
        let mut blocks = receipt::test_page::header(&self.setup.profile);
        blocks.extend(built.blocks);
        self.encode(&blocks)
    }

    pub fn write_preview(&self, name: &str, bytes: &[u8]) {
        let Some(dir) = &self.setup.previews else {
            return;
        };
        let printer = &self.setup.profile.printer;
        let path = dir.join(format!("{name}.png"));
        let result = std::fs::create_dir_all(dir)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                escpos::interpret(
                    bytes,
                    printer.width_dots,
                    escpos::native_encoding(printer.encoding),
                )
                .map_err(|e| e.to_string())
            })
            .and_then(|preview| {
                preview
                    .bitmap
                    .to_gray_image()
                    .save(&path)
                    .map_err(|e| e.to_string())
            });
        match result {
            Ok(()) => tracing::info!(preview = %path.display(), "receipt preview written"),
            Err(e) => tracing::warn!("cannot write the preview {}: {e}", path.display()),
        }
    }
}

/// A reprint asked for while print `seq` was being laid out: that request prints the receipt.
fn superseded(id: &OrderId, seq: u32) {
    tracing::debug!(order = %id, "print {seq} was superseded by a reprint asked for meanwhile");
}
