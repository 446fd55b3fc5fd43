//! The receipt printer: turns each paid order's gateway answer into ESC/POS bytes, stores them as a
//! print job with the order, and gets them onto paper.
//!
//! A job is durable before it goes to the printer, so a crash or an empty paper roll never loses a
//! receipt: at start every unprinted job is sent again. While the printer reports paper out or the
//! cover open, jobs are held and retried, and the POS app hears about it through events. The links
//! are blocking, so the printer runs on a thread of its own.

use super::events::{Event, EventBus, EventKind};
use crate::api::TransactionResponse;
use crate::api::values::InvoicePrintDevice;
use crate::escpos::{self, EncodeOptions};
use crate::order::{Order, OrderId, PrintJob, PrintStatus};
use crate::printer::{self, Delivery, Spooler};
use crate::profile::{PrinterProfile, Profile, Transport};
use crate::receipt::{self, Block, DetailLine, InvoiceAnswer, LayoutSettings, ReceiptInput};
use crate::store::Store;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

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

/// Points the profile's transport at `device`: a serial link keeps its speed, a TCP link takes an
/// address, anything else is written as a device node or file.
pub fn override_device(printer: &mut PrinterProfile, device: &str) {
    printer.transport = match &printer.transport {
        Transport::Serial { baud, .. } => Transport::Serial {
            path: device.into(),
            baud: *baud,
        },
        Transport::Tcp { .. } => Transport::Tcp {
            address: device.to_owned(),
        },
        Transport::File { .. } => Transport::File {
            path: device.into(),
        },
    };
}

/// What the printer works with.
pub struct PrinterSetup {
    pub profile: Profile,
    pub layout: LayoutSettings,
    /// The merchant's cached title image, dithered once at start, for `invoice_title_type` 2.
    pub logo: Option<receipt::Bitmap>,
    /// Where to write a PNG preview of every job, drawn from its bytes.
    pub previews: Option<PathBuf>,
}

/// A request to the printer thread.
pub enum PrintRequest {
    /// Print what the order owes.
    Order(OrderId),
    /// Print the test page.
    TestPage,
}

/// Starts the printer thread; it prints what `requests` sends and what the store still owes.
pub fn spawn(
    setup: PrinterSetup,
    store: Arc<Store>,
    events: EventBus,
    requests: Receiver<PrintRequest>,
) {
    std::thread::Builder::new()
        .name("posd-printer".into())
        .spawn(move || Printer::new(setup, store, events).run(&requests))
        .expect("a thread can be started");
}

/// A sender that can be kept in async code.
pub type PrintQueue = Sender<PrintRequest>;

struct Printer {
    setup: PrinterSetup,
    store: Arc<Store>,
    events: EventBus,
    spooler: Option<Spooler<Box<dyn printer::Link>>>,
    /// Jobs handed to the spooler and not yet confirmed printed.
    in_spooler: Vec<(OrderId, u32)>,
    held: bool,
    /// A job failed to send; the store's owed jobs are sent again at the next retry.
    owe_failed: bool,
}

impl Printer {
    fn new(setup: PrinterSetup, store: Arc<Store>, events: EventBus) -> Printer {
        Printer {
            setup,
            store,
            events,
            spooler: None,
            in_spooler: Vec::new(),
            held: false,
            owe_failed: false,
        }
    }

    fn run(mut self, requests: &Receiver<PrintRequest>) {
        self.resend_owed();
        self.print_pending_receipts();
        loop {
            match requests.recv_timeout(RETRY_EVERY) {
                Ok(PrintRequest::Order(id)) => self.print_order(&id),
                Ok(PrintRequest::TestPage) => self.print_test_page(),
                Err(RecvTimeoutError::Timeout) => self.retry(),
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Jobs stored but not printed by the last run (a crash, paper out at shutdown).
    fn resend_owed(&mut self) {
        match self.store.unprinted_jobs() {
            Ok(jobs) => {
                for job in jobs {
                    tracing::info!(order = %job.order_id, seq = job.seq, "printing a receipt owed from before");
                    self.deliver(job.order_id.clone(), job.seq, job.escpos);
                }
            }
            Err(e) => tracing::error!("cannot read the owed print jobs: {e}"),
        }
    }

    /// Receipts owed by paid orders that have no job yet; `print_order` skips the ones that do.
    fn print_pending_receipts(&mut self) {
        match self.store.receipts_pending() {
            Ok(ids) => {
                for id in ids {
                    self.print_order(&id);
                }
            }
            Err(e) => tracing::error!("cannot read the receipts owed: {e}"),
        }
    }

    fn print_order(&mut self, id: &OrderId) {
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
        let Some(answer) = order.last_answer() else {
            return;
        };
        let reprint = order.receipt().reprints > 0;
        let typed: Option<TransactionResponse> = serde_json::from_value(answer.raw.clone()).ok();
        let merchant_prints = typed.as_ref().and_then(|t| t.invoice_print_device)
            == Some(InvoicePrintDevice::Merchant);
        if merchant_prints && !reprint {
            // invoice_print_device 0: the merchant prints elsewhere unless the POS app asks here.
            self.not_needed(order);
            return;
        }
        let bytes = match self.render(&order, &answer.raw, reprint) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                self.not_needed(order);
                return;
            }
            Err(e) => {
                tracing::error!(order = %id, "cannot lay out the receipt: {e}");
                self.events.publish(
                    Event::new(EventKind::PrintFailed)
                        .order(id.as_str())
                        .detail(e.clone()),
                );
                let mut order = order;
                if order.receipt_failed(e, super::orders::now()).is_ok() {
                    let _ = self.store.save(&order);
                }
                return;
            }
        };
        // Job n is the n-th reprint; one already stored for this print is on its way.
        let seq = order.receipt().reprints;
        match self.store.print_jobs(id) {
            Ok(jobs) if jobs.iter().any(|j| j.seq == seq) => return,
            Ok(_) => {}
            Err(e) => {
                tracing::error!(order = %id, "cannot read the order's print jobs: {e}");
                return;
            }
        }
        let job = PrintJob {
            order_id: id.clone(),
            seq,
            escpos: bytes.clone(),
            status: PrintStatus::Pending,
            created_at: super::orders::now(),
        };
        // Durable before it reaches the printer: a crash from here on reprints, never loses it.
        if let Err(e) = self.store.save_print_job(&order, &job) {
            tracing::error!(order = %id, "cannot store the print job: {e}");
            return;
        }
        self.deliver(id.clone(), seq, bytes);
    }

    fn not_needed(&self, mut order: Order) {
        if order.receipt_not_needed(super::orders::now()).is_ok()
            && let Err(e) = self.store.save(&order)
        {
            tracing::error!(order = %order.id(), "cannot record that no receipt is needed: {e}");
        }
    }

    /// The ESC/POS bytes of the order's receipt, or `None` when the answer asks for no printout.
    fn render(
        &self,
        order: &Order,
        raw: &serde_json::Value,
        reprint: bool,
    ) -> Result<Option<Vec<u8>>, String> {
        let answer = InvoiceAnswer::from_json(&raw.to_string()).map_err(|e| e.to_string())?;
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
            answer: &answer,
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
        if built.blocks.is_empty() {
            return Ok(None);
        }
        self.encode(&built.blocks).map(Some)
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

    fn print_test_page(&mut self) {
        let sample = include_str!("../../receipts/samples/b2c-issued-proof-and-detail.json");
        let result = InvoiceAnswer::from_json(sample)
            .map_err(|e| e.to_string())
            .and_then(|answer| {
                let built = receipt::build(&ReceiptInput::new(
                    &answer,
                    &self.setup.layout,
                    self.setup.profile.printer.width_dots,
                ))
                .map_err(|e| e.to_string())?;
                let mut blocks = receipt::test_page::header(&self.setup.profile);
                blocks.extend(built.blocks);
                self.encode(&blocks)
            });
        match result {
            Ok(bytes) => {
                self.write_preview("test-page", &bytes);
                self.submit(bytes, None);
            }
            Err(e) => tracing::error!("cannot lay out the test page: {e}"),
        }
    }

    fn deliver(&mut self, id: OrderId, seq: u32, bytes: Vec<u8>) {
        self.events
            .publish(Event::new(EventKind::Printing).order(id.as_str()));
        self.write_preview(&format!("{id}-{seq}"), &bytes);
        self.submit(bytes, Some((id, seq)));
    }

    fn submit(&mut self, bytes: Vec<u8>, job: Option<(OrderId, u32)>) {
        let spooler = match self.spooler() {
            Ok(spooler) => spooler,
            Err(e) => {
                self.failed(job, &e);
                return;
            }
        };
        let delivery = spooler.submit(bytes);
        if let Some(job) = job {
            self.in_spooler.push(job);
        }
        self.after(delivery);
    }

    fn retry(&mut self) {
        match self.spooler.as_mut() {
            Some(spooler) if spooler.pending() > 0 => {
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

    fn after(&mut self, delivery: Result<Delivery, printer::PrintError>) {
        match delivery {
            Ok(Delivery::Printed) => {
                if self.held {
                    self.held = false;
                    self.events.publish(Event::new(EventKind::PrinterBack));
                }
                for (id, seq) in std::mem::take(&mut self.in_spooler) {
                    self.printed(&id, seq);
                }
            }
            Ok(Delivery::Held(status)) => {
                if !self.held {
                    self.held = true;
                    let kind = if status.paper_out {
                        EventKind::PaperOut
                    } else {
                        EventKind::CoverOpen
                    };
                    let mut event = Event::new(kind);
                    if let Some((id, _)) = self.in_spooler.first() {
                        event = event.order(id.as_str());
                    }
                    self.events.publish(event);
                }
            }
            Err(e) => {
                tracing::error!("printing failed: {e}");
                // The link is reopened for the next try; the spooler's jobs stay owed in the store.
                self.spooler = None;
                for job in std::mem::take(&mut self.in_spooler) {
                    self.failed(Some(job), &e.to_string());
                }
            }
        }
    }

    fn spooler(&mut self) -> Result<&mut Spooler<Box<dyn printer::Link>>, String> {
        if self.spooler.is_none() {
            let printer = &self.setup.profile.printer;
            let link = printer::open(printer).map_err(|e| e.to_string())?;
            self.spooler = Some(Spooler::new(link, printer.two_way));
        }
        Ok(self.spooler.as_mut().expect("just opened"))
    }

    fn printed(&self, id: &OrderId, seq: u32) {
        let result = (|| {
            let mut order = self
                .store
                .get(id)?
                .ok_or_else(|| crate::store::StoreError::NotFound(id.clone()))?;
            let mut job = self
                .store
                .print_jobs(id)?
                .into_iter()
                .find(|j| j.seq == seq)
                .ok_or_else(|| crate::store::StoreError::NotFound(id.clone()))?;
            let now = super::orders::now();
            job.printed(now);
            order.receipt_printed(now)?;
            self.store.save_print_job(&order, &job)
        })();
        match result {
            Ok(()) => self
                .events
                .publish(Event::new(EventKind::Printed).order(id.as_str())),
            Err(e) => tracing::error!(order = %id, "printed, but cannot record it: {e}"),
        }
    }

    fn failed(&mut self, job: Option<(OrderId, u32)>, reason: &str) {
        let Some((id, seq)) = job else {
            tracing::error!("the test page could not be printed: {reason}");
            return;
        };
        self.owe_failed = true;
        self.events.publish(
            Event::new(EventKind::PrintFailed)
                .order(id.as_str())
                .detail(reason.to_owned()),
        );
        let result = (|| {
            let mut order = self
                .store
                .get(&id)?
                .ok_or_else(|| crate::store::StoreError::NotFound(id.clone()))?;
            let mut job = self
                .store
                .print_jobs(&id)?
                .into_iter()
                .find(|j| j.seq == seq)
                .ok_or_else(|| crate::store::StoreError::NotFound(id.clone()))?;
            let now = super::orders::now();
            job.status = PrintStatus::Failed {
                reason: reason.to_owned(),
                at: now,
            };
            order.receipt_failed(reason.to_owned(), now)?;
            self.store.save_print_job(&order, &job)
        })();
        if let Err(e) = result {
            tracing::error!(order = %id, "cannot record the failed print: {e}");
        }
    }

    fn write_preview(&self, name: &str, bytes: &[u8]) {
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
