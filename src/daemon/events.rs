//! What the daemon tells the POS app as it happens: one [`Event`] per step of a charge, streamed on
//! `GET /v1/events` as server-sent events.
//!
//! Events never carry a payment code or the agent key; a code is named only in its masked form.

use serde::Serialize;
use tokio::sync::broadcast;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A new charge was stored.
    Created,
    /// A scan started for the order's payment code.
    Scanning,
    /// A payment code was read (masked in `detail`).
    CodeRead,
    /// A read text was refused as a payment code.
    CodeRefused,
    /// The scan timed out without a code.
    ScanTimedOut,
    /// The scan ended without a code otherwise: cancelled, or its frames ran out or failed.
    ScanEnded,
    /// The scan key was pressed with no charge waiting for a code.
    NothingToScan,
    Submitting,
    Reconciling,
    Paid,
    PaidWithMismatch,
    Declined,
    Expired,
    Rejected,
    Abandoned,
    Cancelled,
    NeedsAttention,
    /// A person resolved an order that needed attention (`paid` or `not_paid`, and who, in
    /// `detail`).
    Resolved,
    /// The invoice is not issued yet (pending or failed): the receipt says so.
    InvoiceNotIssued,
    Printing,
    Printed,
    PrintFailed,
    PaperOut,
    CoverOpen,
    /// The printer reports another fault (overheated, cutter, no printer…), in `detail`.
    PrinterFault,
    PrinterBack,
    /// This listener fell behind and missed events (how many, in `detail`): what it shows may be
    /// stale, so the POS app reads again the orders it cares about.
    EventsMissed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub kind: EventKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// On `needs_attention` and `resolved`: how many orders now wait for a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_for_a_person: Option<u64>,
    /// The daemon charges against the gateway simulator: nothing in it is a real payment.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
}

impl Event {
    pub fn new(kind: EventKind) -> Event {
        Event {
            kind,
            order_id: None,
            detail: None,
            waiting_for_a_person: None,
            simulated: false,
        }
    }

    pub fn order(mut self, id: impl Into<String>) -> Event {
        self.order_id = Some(id.into());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Event {
        self.detail = Some(detail.into());
        self
    }

    pub fn waiting_for_a_person(mut self, count: u64) -> Event {
        self.waiting_for_a_person = Some(count);
        self
    }
}

/// The fan-out of events to every listener. Slow listeners miss events rather than slowing the
/// daemon, and are told so ([`EventKind::EventsMissed`]): a POS app that lags re-reads the orders
/// it cares about.
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Event>,
    simulated: bool,
}

impl EventBus {
    pub fn new() -> EventBus {
        let (sender, _) = broadcast::channel(256);
        EventBus {
            sender,
            simulated: false,
        }
    }

    /// A bus whose every event says the daemon charges against the gateway simulator.
    pub fn simulated() -> EventBus {
        EventBus {
            simulated: true,
            ..EventBus::new()
        }
    }

    pub fn publish(&self, mut event: Event) {
        event.simulated = self.simulated;
        tracing::info!(
            kind = ?event.kind,
            order = event.order_id.as_deref().unwrap_or("-"),
            detail = event.detail.as_deref().unwrap_or(""),
            "event"
        );
        // No listener is not an error: the events are also in the log.
        let _ = self.sender.send(event);
    }

    /// The event telling one listener that it missed `count` events; only that listener gets it.
    pub fn missed(&self, count: u64) -> Event {
        let mut event = Event::new(EventKind::EventsMissed).detail(count.to_string());
        event.simulated = self.simulated;
        tracing::warn!(count, "an event listener fell behind and missed events");
        event
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new()
    }
}
