//! The order worker: drives every unfinished order through the gateway, one task per order.
//!
//! Each order's task asks the pure machine ([`crate::order`]) what to do, makes that decision
//! durable in the store, and only then acts (send, query, print, tell the POS app). Changes from
//! the local API (a scanned code, a cancel) go through the same per-order lock and wake the task,
//! so no change is ever lost between a load and a save. Calls to the gateway pass the
//! [`super::gate`] first, which bounds them and holds them while the gateway is unreachable.

use super::events::{Event, EventBus, EventKind};
use super::gate::{Gate, GateStatus, Pass};
use super::marking::Marking;
use super::printing::{PrintQueue, PrintRequest};
use super::supervise::restart_task_on_panic;
use crate::api::verdict::{self, ChargeKey, ChargeVerdict, RowSearch};
use crate::api::{self, Command, TransactionRequest};
use crate::charge::Charge;
use crate::clock;
use crate::gateway::{Client, Outcome};
use crate::order::{
    Action, HandedCodes, Order, OrderId, OrderIdGenerator, PaymentCode, Policy, QueryResult,
    SendResult, State, StateKind, Timestamp,
};
use crate::scan::CodeRules;
use crate::store::{OrderQuery, Peeked, QueueSummary, Store, StoreError};
use serde_json::Value;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc};

/// How many locks the orders share; two orders rarely wait for each other.
const LOCK_SHARDS: usize = 64;

/// After a store failure, the task waits this long before it tries again.
const STORE_RETRY: Duration = Duration::from_secs(1);

/// Why the local API could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum OrdersError {
    #[error("{0}")]
    Invalid(#[from] api::FieldError),
    #[error("order {0} is not known")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Order(#[from] crate::order::OrderError),
    #[error("payment_code: {0}")]
    PaymentCode(#[from] crate::order::PaymentCodeError),
    #[error(transparent)]
    Clock(#[from] clock::ClockError),
    #[error(
        "payment_code: this code was already given to order {0}, which may have charged it; ask \
         the customer to show a new code"
    )]
    CodeInUse(OrderId),
}

/// Who the orders are charged as.
#[derive(Debug, Clone)]
pub struct Merchant {
    pub store_uid: String,
    /// The consumer account a charge is filed under when the POS app names none.
    pub user_id: String,
    /// The gateway is the built-in simulator: every order says so.
    pub simulated: bool,
    /// The wallets taken: the code shapes that name an order's wallet (the scanner's,
    /// `scan.codes`).
    pub wallets: CodeRules,
}

pub struct Orders {
    store: Arc<Store>,
    gateway: Client,
    policy: Policy,
    merchant: Merchant,
    events: EventBus,
    ids: Mutex<OrderIdGenerator>,
    locks: Vec<tokio::sync::Mutex<()>>,
    wakers: Mutex<HashMap<OrderId, Arc<Notify>>>,
    /// Orders whose task waits for a payment code, for the scan key.
    awaiting: Mutex<std::collections::HashSet<OrderId>>,
    /// Which order each recent payment code went to: none goes to two that could charge it.
    handed: Mutex<HandedCodes>,
    gate: Gate,
    marking: Marking,
    printer: PrintQueue,
}

/// Told once a new order is durable, or why it could not be made so.
type Created = tokio::sync::oneshot::Sender<Result<(), StoreError>>;

/// What an order's task does next, as read from the store.
enum Step {
    /// The machine's decision, already durable; `before` is the state it was loaded in.
    Act {
        action: Action,
        before: State,
        order: Box<Order>,
    },
    /// The order would call the gateway but holds no pass: it waits at the gate, without any
    /// write, at most until `until`, when time alone may change it.
    NeedsPass { until: Timestamp },
}

impl Orders {
    /// `printer` receives every order that became paid and owes a receipt.
    pub fn new(
        store: Arc<Store>,
        gateway: Client,
        policy: Policy,
        merchant: Merchant,
        ids: OrderIdGenerator,
        events: EventBus,
        printer: PrintQueue,
    ) -> Arc<Orders> {
        Arc::new(Orders {
            marking: Marking::start(store.clone()),
            store,
            gateway,
            gate: Gate::new(policy.clone()),
            policy,
            merchant,
            events,
            ids: Mutex::new(ids),
            locks: (0..LOCK_SHARDS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            wakers: Mutex::new(HashMap::new()),
            awaiting: Mutex::new(std::collections::HashSet::new()),
            handed: Mutex::new(HandedCodes::default()),
            printer,
        })
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn events(&self) -> &EventBus {
        &self.events
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Whether the gateway is the built-in simulator.
    pub fn simulated(&self) -> bool {
        self.merchant.simulated
    }

    /// Whether order requests flow to the gateway or wait for it to come back.
    pub fn gate(&self) -> GateStatus {
        self.gate.status()
    }

    /// Stores a new charge durably and starts driving it. With a payment code the order goes
    /// straight to sending; without one it waits for a scan.
    ///
    /// The order is staged in the store and its task takes the first step at once: when the
    /// gate has a place, the order is saved as `Sending` and that one durable step makes the
    /// charge durable too, so a charge costs one sync before its request leaves, not two. Either
    /// way the order is durable before this returns.
    pub async fn create(
        self: &Arc<Self>,
        charge: Charge,
        order_id: Option<String>,
        payment_code: Option<String>,
    ) -> Result<Order, OrdersError> {
        let code = payment_code.map(PaymentCode::new).transpose()?;
        let at = clock::trusted_now()?;
        let (id, stamp) = match order_id {
            Some(id) => (OrderId::parse(id)?, None),
            None => {
                let mut ids = self.ids.lock().expect("id generator lock");
                let id = ids.next_id(at);
                (id, Some(ids.last_stamp()))
            }
        };
        let mut order = Order::new(id.clone(), charge, at)?;
        if self.merchant.simulated {
            order.mark_simulated();
        }
        if let Some(code) = code {
            let wallet = self.wallet_of(&code);
            order.payment_code_scanned(code, at)?;
            order.note_wallet(wallet);
        }
        let mut claimed = None;
        if let Some(code) = order.payment_code()
            && self.claim_code(code, &id)?
        {
            claimed = Some(code.clone());
        }
        let policy = self.policy.clone();
        let stored = order.clone();
        let inserted = self
            .blocking(move |store| store.insert_staged(&stored, &policy, stamp))
            .await;
        if let Err(e) = inserted {
            if let Some(code) = &claimed {
                self.release_code(code, &id);
            }
            return Err(e.into());
        }
        let (durable, stored) = tokio::sync::oneshot::channel();
        self.spawn_driver_with(id, Some(durable));
        match stored.await {
            Ok(result) => result?,
            // The task ended before its first step (it panicked): the order is made durable here,
            // and its task started again resumes it.
            Err(_) => self.blocking(Store::make_durable).await?,
        }
        Ok(order)
    }

    /// Hands a scanned payment code to an order waiting for one.
    pub async fn payment_code(&self, id: &str, code: String) -> Result<Order, OrdersError> {
        let code = PaymentCode::new(code)?;
        let order_id = OrderId::parse(id)?;
        let claimed = self.claim_code(&code, &order_id)?;
        let wallet = self.wallet_of(&code);
        let handed = code.clone();
        let updated = self
            .update(id, move |order| {
                order.payment_code_scanned(handed, clock::now())?;
                order.note_wallet(wallet);
                Ok(())
            })
            .await;
        if updated.is_err() && claimed {
            self.release_code(&code, &order_id);
        }
        updated
    }

    /// The wallet a payment code's shape names, by the scanner's rules; `None` when it matches
    /// none (a code typed in, or a wallet the table does not know).
    fn wallet_of(&self, code: &PaymentCode) -> Option<String> {
        self.merchant
            .wallets
            .check(code.expose().as_bytes())
            .ok()
            .map(|valid| valid.wallet().to_owned())
    }

    /// The order that `code` went to, other than `id`, while it keeps the code.
    pub fn code_holder(&self, code: &str, id: Option<&OrderId>) -> Option<OrderId> {
        let mut handed = self.handed.lock().expect("handed codes lock");
        let holder = handed.holder(code, id, Instant::now())?;
        self.keeps_code(&holder).then_some(holder)
    }

    /// Gives `code` to order `id`, unless another order keeps it. Says whether this call gave it
    /// (`false`: the order had it already), so that only a call that gave it takes it back when
    /// the order cannot have it after all.
    fn claim_code(&self, code: &PaymentCode, id: &OrderId) -> Result<bool, OrdersError> {
        let mut handed = self.handed.lock().expect("handed codes lock");
        let now = Instant::now();
        match handed.holder(code.expose(), None, now) {
            Some(holder) if holder == *id => return Ok(false),
            Some(holder) if self.keeps_code(&holder) => {
                return Err(OrdersError::CodeInUse(holder));
            }
            _ => {}
        }
        handed.hand(code.expose(), id, now);
        Ok(true)
    }

    fn release_code(&self, code: &PaymentCode, id: &OrderId) {
        let mut handed = self.handed.lock().expect("handed codes lock");
        handed.take_back(code.expose(), id);
    }

    /// Whether the order a code went to keeps it: it may have charged it, may yet, or is being
    /// given it at this moment (still awaiting its code in the store).
    fn keeps_code(&self, holder: &OrderId) -> bool {
        match self.store.peek(holder) {
            Ok(Peeked::Order(order)) => !order.state().frees_its_code(),
            // Not stored yet (its charge is being created), or unreadable: held, to be safe.
            _ => true,
        }
    }

    /// Cancels an order that has not reached the gateway.
    pub async fn cancel(&self, id: &str) -> Result<Order, OrdersError> {
        let order = self.update(id, |order| order.cancel(clock::now())).await?;
        self.events
            .publish(Event::new(EventKind::Cancelled).order(id));
        Ok(order)
    }

    /// Asks for the receipt of a paid order again.
    pub async fn reprint(&self, id: &str) -> Result<Order, OrdersError> {
        let order = self
            .update(id, |order| order.reprint_requested(clock::now()))
            .await?;
        self.print(PrintRequest::Order(order.id().clone()));
        Ok(order)
    }

    /// Hands a request to the printer thread.
    pub fn print(&self, request: PrintRequest) {
        if self.printer.send(request).is_err() {
            tracing::error!("the printer thread has stopped; receipts stay owed in the store");
        }
    }

    /// Wakes an order's task now, to reconcile at once instead of at the next poll.
    pub fn reconcile_now(&self, id: &str) -> Result<(), OrdersError> {
        let id = OrderId::parse(id)?;
        self.wake(&id);
        Ok(())
    }

    pub async fn get(&self, id: &str) -> Result<Order, OrdersError> {
        let id = OrderId::parse(id)?;
        let key = id.clone();
        self.blocking(move |store| store.get(&key))
            .await?
            .ok_or_else(|| OrdersError::NotFound(id.to_string()))
    }

    pub async fn list(&self, query: OrderQuery) -> Result<Vec<Order>, OrdersError> {
        Ok(self.blocking(move |store| store.list(&query)).await?)
    }

    /// Every final order, each turned into bytes by `encode` and sent in chunks as the store is
    /// read, so that an export of years of orders takes constant memory. A store failure ends the
    /// stream with its error; a receiver that goes away stops the read.
    pub fn export_final(
        &self,
        encode: impl Fn(&Order) -> Vec<u8> + Send + 'static,
    ) -> mpsc::Receiver<Result<Vec<u8>, StoreError>> {
        const CHUNK: usize = 32 * 1024;
        let (chunks, receiver) = mpsc::channel(4);
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut chunk = Vec::with_capacity(CHUNK);
            let read = store.for_each_final(|order| {
                chunk.extend_from_slice(&encode(&order));
                if chunk.len() < CHUNK {
                    return ControlFlow::Continue(());
                }
                match chunks.blocking_send(Ok(std::mem::take(&mut chunk))) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(_) => ControlFlow::Break(()),
                }
            });
            let last = match read {
                Ok(()) if chunk.is_empty() => return,
                Ok(()) => Ok(chunk),
                Err(e) => {
                    tracing::error!("export stopped: {e}");
                    Err(e)
                }
            };
            let _receiver_may_be_gone = chunks.blocking_send(last);
        });
        receiver
    }

    /// The queue at a glance, for the health endpoint.
    pub async fn queue_summary(&self) -> Result<QueueSummary, OrdersError> {
        Ok(self.blocking(Store::queue_summary).await?)
    }

    /// Whether some order waits for its payment code.
    pub fn has_awaiting(&self) -> bool {
        !self.awaiting.lock().expect("awaiting lock").is_empty()
    }

    /// The oldest unfinished order waiting for a code, for the scan key.
    pub async fn awaiting_code(&self) -> Result<Option<Order>, OrdersError> {
        let mut waiting = self
            .list(OrderQuery::every_in(StateKind::AwaitingPaymentCode))
            .await?;
        waiting.sort_by_key(Order::created_at);
        Ok(waiting.into_iter().next())
    }

    /// Starts a task for every order left unfinished by the last run.
    pub async fn resume_all(self: &Arc<Self>) -> Result<usize, OrdersError> {
        let open = self.blocking(|store| store.list_open()).await?;
        let count = open.len();
        {
            let mut handed = self.handed.lock().expect("handed codes lock");
            let now = Instant::now();
            for order in &open {
                if let Some(code) = order.payment_code() {
                    handed.hand(code.expose(), order.id(), now);
                }
            }
        }
        for order in open {
            tracing::info!(order = %order.id(), state = %order.state(), "resuming");
            self.spawn_driver(order.id().clone());
        }
        Ok(count)
    }

    /// Loads, changes and saves one order under its lock, then wakes its task.
    pub(super) async fn update(
        &self,
        id: &str,
        change: impl FnOnce(&mut Order) -> Result<(), crate::order::OrderError> + Send + 'static,
    ) -> Result<Order, OrdersError> {
        let id = OrderId::parse(id)?;
        let order = {
            let _guard = self.lock(&id).await;
            let key = id.clone();
            self.blocking(move |store| {
                let mut order = store
                    .get(&key)?
                    .ok_or_else(|| StoreError::NotFound(key.clone()))?;
                change(&mut order)?;
                store.save(&order)?;
                Ok::<_, StoreError>(order)
            })
            .await
            .map_err(|e| match e {
                StoreError::NotFound(id) => OrdersError::NotFound(id.to_string()),
                other => OrdersError::Store(other),
            })?
        };
        self.wake(&id);
        Ok(order)
    }

    /// Starts the order's task, unless it has one: two tasks driving one order would each act
    /// on what they read. A task that panics is started again after [`STORE_RETRY`], from what
    /// the store holds.
    fn spawn_driver(self: &Arc<Self>, id: OrderId) {
        self.spawn_driver_with(id, None);
    }

    /// Starts the order's task; `created` hears once the new order is durable (see
    /// [`Orders::create`]).
    fn spawn_driver_with(self: &Arc<Self>, id: OrderId, created: Option<Created>) {
        let waker = {
            let mut wakers = self.wakers.lock().expect("wakers lock");
            if wakers.contains_key(&id) {
                return;
            }
            let waker = Arc::new(Notify::new());
            wakers.insert(id.clone(), waker.clone());
            waker
        };
        let orders = self.clone();
        let created = Arc::new(Mutex::new(created));
        tokio::spawn(async move {
            let what = format!("the task of order {id}");
            restart_task_on_panic(&what, STORE_RETRY, || {
                let (driver, key, wake) = (orders.clone(), id.clone(), waker.clone());
                let created = created.lock().expect("created lock").take();
                async move { driver.drive(&key, &wake, created).await }
            })
            .await;
            orders.wakers.lock().expect("wakers lock").remove(&id);
        });
    }

    fn wake(&self, id: &OrderId) {
        if let Some(waker) = self.wakers.lock().expect("wakers lock").get(id) {
            waker.notify_one();
        }
    }

    async fn lock(&self, id: &OrderId) -> tokio::sync::MutexGuard<'_, ()> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        id.hash(&mut hasher);
        let shard = (hasher.finish() % LOCK_SHARDS as u64) as usize;
        self.locks[shard].lock().await
    }

    /// Runs store work off the async threads: every write ends in an fsync.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .expect("store work does not panic")
    }

    /// One order's life, until it is final. A new order's first step tries for a pass without
    /// waiting, and `created` hears once the order is durable.
    async fn drive(&self, id: &OrderId, waker: &Notify, mut created: Option<Created>) {
        let mut pass: Option<Pass<'_>> = None;
        loop {
            if created.is_some() && pass.is_none() {
                pass = tokio::select! {
                    biased;
                    granted = self.gate.pass() => Some(granted),
                    () = std::future::ready(()) => None,
                };
            }
            let stepped = self.step(id, pass.is_some()).await;
            if let Some(created) = created.take() {
                // Free when the step saved the order (`Sending`): that sync covered the insert.
                let durable = if self.store.is_durable() {
                    Ok(())
                } else {
                    self.blocking(Store::make_durable).await
                };
                let failed = durable.is_err();
                if !failed {
                    self.events
                        .publish(Event::new(EventKind::Created).order(id.as_str()));
                }
                let _ = created.send(durable);
                if failed {
                    return;
                }
            }
            let (action, before, order) = match stepped {
                Ok(Step::Act {
                    action,
                    before,
                    order,
                }) => (action, before, order),
                Ok(Step::NeedsPass { until }) => {
                    tokio::select! {
                        granted = self.gate.pass() => pass = Some(granted),
                        () = waker.notified() => {}
                        () = tokio::time::sleep(clock::until(until)) => {}
                    }
                    continue;
                }
                Err(StoreError::NotFound(_)) => return,
                Err(e) => {
                    tracing::error!(order = %id, "cannot advance the order: {e}");
                    tokio::time::sleep(STORE_RETRY).await;
                    continue;
                }
            };
            self.announce(&before, &order);
            {
                let mut awaiting = self.awaiting.lock().expect("awaiting lock");
                if matches!(action, Action::AwaitPaymentCode { .. }) {
                    awaiting.insert(id.clone());
                } else {
                    awaiting.remove(id);
                }
            }
            // A pass is good for one call; a step that makes none gives it back.
            let pass = pass.take();
            let applied = match action {
                Action::Done => {
                    self.finish(&order);
                    return;
                }
                Action::AwaitPaymentCode { until } | Action::WaitUntil(until) => {
                    drop(pass);
                    tokio::select! {
                        () = tokio::time::sleep(clock::until(until)) => {}
                        () = waker.notified() => {}
                    }
                    None
                }
                Action::Send { attempt } => {
                    let pass = pass.expect("step() decides on a call only while a pass is held");
                    self.events.publish(
                        Event::new(EventKind::Submitting)
                            .order(id.as_str())
                            .detail(format!("attempt {attempt}")),
                    );
                    // Boxed, like the query below: the HTTP call's future is large, and thousands of
                    // queued tasks need not each carry room for it while they wait at the gate.
                    let result = Box::pin(self.send(&order, pass)).await;
                    self.apply(id, move |order, policy| {
                        order.send_finished(result.clone(), clock::now(), policy, rand::random())
                    })
                    .await
                }
                Action::Query => {
                    let pass = pass.expect("step() decides on a call only while a pass is held");
                    let result = Box::pin(self.query(&order, pass)).await;
                    self.apply(id, move |order, policy| {
                        order.query_finished(result.clone(), clock::now(), policy, rand::random())
                    })
                    .await
                }
            };
            // A final order stays final, so the step that would read it back can only end here.
            if let Some(order) = applied.filter(|order| order.is_final()) {
                self.finish(&order);
                return;
            }
        }
    }

    /// The end of a final order's task: a paid order owes its receipt.
    fn finish(&self, order: &Order) {
        if matches!(order.state(), State::Paid | State::PaidWithMismatch) {
            self.print(PrintRequest::Order(order.id().clone()));
        }
    }

    /// Loads the order and asks the machine what to do, saving what time alone changed. A call
    /// to the gateway is decided (and `Sending` saved) only with a pass in hand: without one,
    /// nothing is written and the task waits at the gate. `Sending` is saved by the marker, in
    /// one durable step with every order readied meanwhile, before this returns.
    async fn step(&self, id: &OrderId, has_pass: bool) -> Result<Step, StoreError> {
        let _guard = self.lock(id).await;
        // Read where the task runs: a hand-off to the blocking pool costs more than the read.
        let mut order = match self.store.peek(id)? {
            Peeked::Order(order) => order,
            Peeked::Missing => return Err(StoreError::NotFound(id.clone())),
            Peeked::Unreadable => {
                let key = id.clone();
                // Quarantined (and reported) there, unless it was rewritten meanwhile.
                let order = self.blocking(move |store| store.get(&key)).await?;
                Box::new(order.ok_or_else(|| StoreError::NotFound(id.clone()))?)
            }
        };
        let before = order.state().clone();
        let action = order.next_action(clock::now(), &self.policy);
        if !has_pass && matches!(action, Action::Send { .. } | Action::Query) {
            // The change is dropped unsaved: the same step is taken again with a pass.
            return Ok(Step::NeedsPass {
                until: order.patience(&self.policy),
            });
        }
        if matches!(action, Action::Send { .. }) {
            // `Sending` is marked with the other orders readied meanwhile, in one durable step.
            self.marking.mark(Order::clone(&order)).await?;
        } else if *order.state() != before {
            order = self
                .blocking(move |store| store.save(&order).map(|()| order))
                .await?;
        }
        Ok(Step::Act {
            action,
            before,
            order,
        })
    }

    /// Applies the result of a call under the order's lock, retrying until it is durable: the
    /// result of a request that left must never be forgotten. Returns the order as saved, or
    /// `None` when the result did not apply to it.
    async fn apply(
        &self,
        id: &OrderId,
        change: impl Fn(&mut Order, &Policy) -> Result<(), crate::order::OrderError>
        + Send
        + Sync
        + Clone
        + 'static,
    ) -> Option<Order> {
        loop {
            let _guard = self.lock(id).await;
            let policy = self.policy.clone();
            let key = id.clone();
            let change = change.clone();
            let result = self
                .blocking(move |store| {
                    let mut order = store
                        .get(&key)?
                        .ok_or_else(|| StoreError::NotFound(key.clone()))?;
                    let before = order.state().clone();
                    change(&mut order, &policy)?;
                    store.save(&order)?;
                    Ok((before, order))
                })
                .await;
            match result {
                Ok((before, order)) => {
                    self.announce(&before, &order);
                    return Some(order);
                }
                Err(StoreError::Order(e)) => {
                    tracing::error!(order = %id, "result not applicable: {e}");
                    return None;
                }
                Err(e) => {
                    tracing::error!(order = %id, "cannot record the result, retrying: {e}");
                    drop(_guard);
                    tokio::time::sleep(STORE_RETRY).await;
                }
            }
        }
    }

    async fn send(&self, order: &Order, mut pass: Pass<'_>) -> SendResult {
        let Some(code) = order.payment_code() else {
            // The machine only sends orders that hold a code; a record without one cannot be sent.
            return SendResult::NotSent;
        };
        let request = TransactionRequest::offline(
            &self.merchant.store_uid,
            order.id().as_str(),
            &self.merchant.user_id,
            order.charge(),
            code.clone(),
        );
        let body = serde_json::to_value(&request).expect("requests serialise");
        let wire = pass.wire().await;
        let outcome = self.gateway.call_json(Command::Transaction, &body).await;
        drop(wire);
        pass.finished(&outcome);
        match outcome {
            Outcome::NotSent(e) => {
                // The gate reports the gateway's absence once, not once per order.
                tracing::debug!(order = %order.id(), "not sent: {e}");
                SendResult::NotSent
            }
            Outcome::Unknown(e) => {
                tracing::warn!(order = %order.id(), "outcome unknown: {e}");
                SendResult::Unknown { why: e.to_string() }
            }
            Outcome::Answered(raw) => {
                let Some(verdict) = ChargeVerdict::of(&raw) else {
                    let why = unreadable_answer(&raw, code.expose());
                    tracing::warn!(order = %order.id(), "{why}; reconciling");
                    return SendResult::Unknown { why };
                };
                match verdict.read(self.key_of(order)).answer_code() {
                    Ok(code) => SendResult::Answered { code, answer: raw },
                    Err(why) => {
                        tracing::warn!(order = %order.id(), "{why}; reconciling");
                        SendResult::Unknown { why }
                    }
                }
            }
        }
    }

    /// What identifies an order's charge at the gateway.
    fn key_of<'a>(&'a self, order: &'a Order) -> ChargeKey<'a> {
        ChargeKey {
            order_id: order.id().as_str(),
            amount: order.charge().amount,
            store_uid: &self.merchant.store_uid,
        }
    }

    async fn query(&self, order: &Order, mut pass: Pass<'_>) -> QueryResult {
        let wire = pass.wire().await;
        let outcome = self.querydirect(order).await;
        drop(wire);
        pass.finished(&outcome);
        match outcome {
            Outcome::NotSent(_) => QueryResult::NotSent,
            Outcome::Unknown(_) => QueryResult::Unknown,
            Outcome::Answered(raw) => self.read_query(order, &raw),
        }
    }

    /// Sends `api/querydirect` about the order, without a pass: the caller bounds it.
    pub(super) async fn querydirect(&self, order: &Order) -> Outcome<Value> {
        let request = api::QueryDirectRequest {
            store_uid: self.merchant.store_uid.clone(),
            order_id: order.id().to_string(),
            user_id: None,
            cost: None,
        };
        let body = serde_json::to_value(&request).expect("requests serialise");
        self.gateway.call_json(Command::QueryDirect, &body).await
    }

    /// What an answer to `api/querydirect` says about the order.
    pub(super) fn read_query(&self, order: &Order, raw: &Value) -> QueryResult {
        // B500 or anything else proves nothing about the order: ask again later.
        let Some(rows) = verdict::query_rows(raw) else {
            return QueryResult::Unknown;
        };
        match verdict::find_row(&rows, self.key_of(order)) {
            RowSearch::Found(code, answer) => QueryResult::Found { code, answer },
            RowSearch::Absent => QueryResult::NotFound,
            RowSearch::Unreadable => QueryResult::Unknown,
        }
    }

    /// Tells the POS app about a change of state.
    fn announce(&self, before: &State, order: &Order) {
        if before == order.state() {
            return;
        }
        let kind = match order.state() {
            State::Reconciling => EventKind::Reconciling,
            State::Paid => EventKind::Paid,
            State::PaidWithMismatch => EventKind::PaidWithMismatch,
            State::Declined => EventKind::Declined,
            State::Expired => EventKind::Expired,
            State::Rejected => EventKind::Rejected,
            State::Abandoned => EventKind::Abandoned,
            State::Cancelled => EventKind::Cancelled,
            State::NeedsAttention { .. } => EventKind::NeedsAttention,
            // A person's resolution is announced by the resolver, with who resolved it.
            State::AwaitingPaymentCode
            | State::WaitingToSend { .. }
            | State::Sending { .. }
            | State::NotPaid => {
                return;
            }
        };
        let mut event = Event::new(kind).order(order.id().as_str());
        if let Some(why) = order.history().last().map(|t| t.why.clone()) {
            event = event.detail(why);
        }
        if matches!(order.state(), State::NeedsAttention { .. }) {
            event = event.waiting_for_a_person(self.store.needs_attention_count());
        }
        self.events.publish(event);
    }
}

/// Why an answer without a readable `code` proves nothing: the code as sent and the gateway's
/// message, with the payment code masked should the message repeat it.
fn unreadable_answer(raw: &Value, payment_code: &str) -> String {
    let sent = |field: &str| match raw.get(field) {
        None => "none".to_owned(),
        Some(Value::String(text)) => {
            format!("{:?}", text.replace(payment_code, &mask(payment_code)))
        }
        Some(other) => other.to_string().replace(payment_code, &mask(payment_code)),
    };
    format!(
        "the answer has no readable code (code {}, msg {})",
        sent("code"),
        sent("msg")
    )
}

/// A payment code as people may see it: the first four and last two characters.
pub fn mask(code: &str) -> String {
    crate::payment_code::MaskedCode::of(code).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_without_a_code_is_named_without_the_payment_code() {
        let code = "MY13697573pbmQsYhY";
        let answer = serde_json::json!({"code": null, "msg": format!("付款碼 {code} 錯誤")});
        let why = unreadable_answer(&answer, code);
        assert!(why.contains("code null"), "{why}");
        assert!(
            why.contains(&format!("付款碼 {} 錯誤", mask(code))),
            "{why}"
        );
        assert!(!why.contains(code), "{why}");
        let why = unreadable_answer(&serde_json::json!({"rows": []}), code);
        assert_eq!(why, "the answer has no readable code (code none, msg none)");
    }
    use crate::envelope::AgentKey;
    use crate::gateway::GatewayConfig;
    use crate::sim::{self, SimConfig, faults::Faults};

    const KEY: &str = "2MrhtRYeF9wKZ4bKwzZoL8aZf26pWzIG";

    /// However often an order's task is asked for (a resume at start racing a charge, a second
    /// call), one task drives it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_order_with_a_task_gets_no_second_one() {
        let mut sim_config = SimConfig::new("518169081001", AgentKey::new(KEY).unwrap(), "S1");
        sim_config.faults = Faults {
            latency_ms: 600,
            ..Faults::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = sim::start(sim_config, listener).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, sim.ca_pem().unwrap()).unwrap();
        let client = Client::new(GatewayConfig {
            url: sim.url().parse().unwrap(),
            agent_uid: "518169081001".into(),
            agent_key: AgentKey::new(KEY).unwrap(),
            store_uid: "S1".into(),
            ca_file: Some(ca),
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
            dns_servers: Vec::new(),
        })
        .unwrap();
        let store = Arc::new(Store::open(dir.path().join("orders")).unwrap());
        let (printer, _print_requests) = std::sync::mpsc::channel();
        let orders = Orders::new(
            store,
            client,
            Policy::default(),
            Merchant {
                store_uid: "S1".into(),
                user_id: "posd".into(),
                simulated: true,
                wallets: CodeRules::default(),
            },
            crate::order::OrderIdGenerator::new("TEST").unwrap(),
            EventBus::new(),
            printer,
        );
        let charge = Charge::one_latte();
        let order = orders
            .create(
                charge,
                Some("TWIN-TASK-1".into()),
                Some("MY13697573pbmQsYhY".into()),
            )
            .await
            .unwrap();
        for _ in 0..3 {
            orders.spawn_driver(order.id().clone());
        }
        assert_eq!(orders.resume_all().await.unwrap(), 1);

        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        let last = loop {
            let now = orders.get("TWIN-TASK-1").await.unwrap();
            if now.is_final() {
                break now;
            }
            assert!(tokio::time::Instant::now() < deadline, "{:?}", now.state());
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(last.state().to_string(), "paid");
        // A second task would find the first one's request in flight, take it for a request of
        // a stopped daemon and reconcile it.
        let seen: Vec<(u32, u32)> = sim
            .ledger()
            .iter()
            .filter(|e| e.order_id == "TWIN-TASK-1")
            .map(|e| (e.requests, e.queries))
            .collect();
        assert_eq!(seen, [(1, 0)], "one task: one request, no query");
        assert!(
            last.history().iter().all(|t| t.to != State::Reconciling),
            "{:?}",
            last.history()
        );
    }
}
