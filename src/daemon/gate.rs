//! The gateway gate: whether order requests should go to the gateway at all, and how many at once.
//!
//! Every order's task passes the gate before it sends or queries. While the gateway answers, up
//! to [`PASSES_PER_REQUEST`] times `policy.max_requests_in_flight` orders hold a pass at once:
//! enough that the orders about to be sent are marked `Sending` together, in one durable step,
//! while those ahead of them are on the wire. The request itself waits for one of
//! `policy.max_requests_in_flight` places on the wire ([`Pass::wire`]), so a queue that drains
//! after an outage does not flood the gateway with connections. A request that could not
//! be sent (no route, refused, TLS failure, or turned away before the gateway acted) closes the gate: the orders behind it wait without
//! touching the store, and one request at a time (the probe) tries the gateway at the backoff
//! pace. The first request that reaches the gateway opens the gate for all of them.
//!
//! The probe is a real attempt of a real order, so the gateway is used the moment it is back and no
//! request exists only to test the line.

use crate::gateway::Outcome;
use crate::order::Policy;
use serde::Serialize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Notify, Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// Passes per place on the wire. One `fdatasync` marks every order that holds a pass and is
/// about to be sent, so the store's sync is shared by as many orders as can be sent in the time
/// it takes: at 4 requests in flight of about 1 ms each, and a sync of 1–4 ms, that is 4 to 16.
pub const PASSES_PER_REQUEST: usize = 8;

pub struct Gate {
    policy: Policy,
    health: Mutex<Health>,
    /// Woken whenever the health changes, and when a probe is given up unused.
    changed: Notify,
    /// Passes: orders that may be marked `Sending` (or go on to a query).
    slots: Semaphore,
    /// Places on the wire: requests in flight.
    wire: Semaphore,
    waiting: AtomicUsize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Reachable,
    Unreachable {
        since: Instant,
        failed_probes: u32,
        next_probe: Instant,
        /// Whether a probe is in flight; only one is.
        probing: bool,
    },
}

/// What the gate lets through now, for the health endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateStatus {
    /// `open` while the gateway answers; `closed` while only the probe may go.
    pub state: &'static str,
    /// How long the gateway has been unreachable, while it is.
    pub closed_for_ms: Option<u64>,
    /// When the next probe may go, while closed and none is in flight.
    pub next_probe_in_ms: Option<u64>,
    pub in_flight: usize,
    pub waiting: usize,
}

/// Leave to make one request: the order may be marked `Sending`, then its request waits for a
/// place on the wire ([`Pass::wire`]). Report how it went with [`Pass::finished`]; a pass dropped
/// unused frees its slot and, if it was the probe, lets another order probe at once.
pub struct Pass<'a> {
    gate: &'a Gate,
    probe: bool,
    _slot: SemaphorePermit<'a>,
}

/// A place on the wire, held while one request is in flight.
pub struct Wire<'a> {
    _place: SemaphorePermit<'a>,
}

/// Whether a holder of a place may go now, or else until when it waits.
enum Turn {
    Go {
        probe: bool,
    },
    /// Wait for a change of health, or until the next probe is due.
    Wait(Option<Instant>),
}

impl Gate {
    pub fn new(policy: Policy) -> Gate {
        let in_flight = policy.max_requests_in_flight.get() as usize;
        Gate {
            policy,
            health: Mutex::new(Health::Reachable),
            changed: Notify::new(),
            slots: Semaphore::new(in_flight * PASSES_PER_REQUEST),
            wire: Semaphore::new(in_flight),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Waits until an order may be readied for a request: a free slot while the gateway is
    /// reachable, or the turn to probe while it is not. Dropping the future gives up the place
    /// without side effects.
    pub async fn pass(&self) -> Pass<'_> {
        let _counted = Waiting::count(&self.waiting);
        let (slot, probe) = self.take(&self.slots, false).await;
        Pass {
            gate: self,
            probe,
            _slot: slot,
        }
    }

    /// Takes a permit of `places` once the health lets its holder go: at once while the gateway
    /// is reachable, or while it is not, only as the probe (`probe`: already the probe).
    async fn take<'g>(&'g self, places: &'g Semaphore, probe: bool) -> (SemaphorePermit<'g>, bool) {
        loop {
            // Registered before the health is read, so a change in between is not missed.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let permit = places
                .acquire()
                .await
                .expect("the gate's semaphores are never closed");
            let wait = match self.turn(probe) {
                Turn::Go { probe } => return (permit, probe),
                Turn::Wait(next_probe) => next_probe,
            };
            drop(permit);
            match wait {
                Some(at) => {
                    tokio::select! {
                        () = &mut changed => {}
                        () = tokio::time::sleep_until(at) => {}
                    }
                }
                None => changed.await,
            }
        }
    }

    /// Whether a request may go now: any while the gateway is reachable; while it is not, the
    /// probe, or the first to ask once the next probe is due (it becomes the probe).
    fn turn(&self, probe: bool) -> Turn {
        let mut health = self.health.lock().expect("gate lock");
        match &mut *health {
            Health::Reachable => Turn::Go { probe: false },
            Health::Unreachable { .. } if probe => Turn::Go { probe: true },
            Health::Unreachable {
                next_probe,
                probing,
                ..
            } => {
                if !*probing && Instant::now() >= *next_probe {
                    *probing = true;
                    return Turn::Go { probe: true };
                }
                Turn::Wait((!*probing).then_some(*next_probe))
            }
        }
    }

    pub fn status(&self) -> GateStatus {
        let now = Instant::now();
        let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let (state, closed_for_ms, next_probe_in_ms) = match *self.health.lock().expect("gate lock")
        {
            Health::Reachable => ("open", None, None),
            Health::Unreachable {
                since,
                next_probe,
                probing,
                ..
            } => (
                "closed",
                Some(millis(now - since)),
                (!probing).then(|| millis(next_probe.saturating_duration_since(now))),
            ),
        };
        GateStatus {
            state,
            closed_for_ms,
            next_probe_in_ms,
            in_flight: self.policy.max_requests_in_flight.get() as usize
                - self.wire.available_permits(),
            waiting: self.waiting.load(Ordering::Relaxed),
        }
    }

    fn record(&self, reached: Result<(), &str>, probe: bool) {
        let now = Instant::now();
        let mut health = self.health.lock().expect("gate lock");
        let next = match (*health, reached) {
            (Health::Reachable, Ok(())) => return,
            (Health::Unreachable { since, .. }, Ok(())) => {
                tracing::info!(
                    "the gateway answers again after {:.1} s; {} orders resume",
                    (now - since).as_secs_f64(),
                    self.waiting.load(Ordering::Relaxed)
                );
                Health::Reachable
            }
            (Health::Reachable, Err(why)) => {
                let wait = self.policy.backoff(2, rand::random());
                tracing::warn!(
                    "the gateway cannot be reached ({why}); orders wait in the store and one of \
                     them tries again in {:.1} s",
                    wait.as_secs_f64()
                );
                Health::Unreachable {
                    since: now,
                    failed_probes: 0,
                    next_probe: now + wait,
                    probing: false,
                }
            }
            (
                Health::Unreachable {
                    since,
                    failed_probes,
                    ..
                },
                Err(why),
            ) if probe => {
                let failed_probes = failed_probes.saturating_add(1);
                let wait = self
                    .policy
                    .backoff(failed_probes.saturating_add(2), rand::random());
                tracing::info!(
                    "the gateway is still unreachable after {:.1} s ({why}); next try in {:.1} s",
                    (now - since).as_secs_f64(),
                    wait.as_secs_f64()
                );
                Health::Unreachable {
                    since,
                    failed_probes,
                    next_probe: now + wait,
                    probing: false,
                }
            }
            // A request let through before the gate closed: it proves nothing new.
            (Health::Unreachable { .. }, Err(_)) => return,
        };
        *health = next;
        drop(health);
        self.changed.notify_waiters();
    }

    fn probe_given_up(&self) {
        if let Health::Unreachable { probing, .. } = &mut *self.health.lock().expect("gate lock") {
            *probing = false;
        }
        self.changed.notify_waiters();
    }
}

impl<'a> Pass<'a> {
    /// Waits for a place on the wire, once the order is marked `Sending` (or about to query). A
    /// pass taken before the gateway went away waits here, without any write, until the gateway
    /// is back or its turn to probe comes: its order stays marked, and is sent then.
    pub async fn wire(&mut self) -> Wire<'a> {
        let gate = self.gate;
        let (permit, probe) = gate.take(&gate.wire, self.probe).await;
        self.probe = probe;
        Wire { _place: permit }
    }

    /// Tells the gate how the request ended: only one that could not be sent at all says the
    /// gateway is unreachable; any answer, even an error or a lost one, says it is there.
    pub fn finished<T>(mut self, outcome: &Outcome<T>) {
        let reached = match outcome {
            Outcome::NotSent(e) => Err(e.detail.as_str()),
            Outcome::Unknown(_) | Outcome::Answered(_) => Ok(()),
        };
        self.gate.record(reached, self.probe);
        self.probe = false;
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        if self.probe {
            self.gate.probe_given_up();
        }
    }
}

/// Counts a task in the gate's queue for as long as it waits there.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn count(waiting: &'a AtomicUsize) -> Waiting<'a> {
        waiting.fetch_add(1, Ordering::Relaxed);
        Waiting(waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::CallError;
    use std::num::NonZeroU32;
    use std::time::Duration;

    fn gate(slots: u32) -> Gate {
        Gate::new(Policy {
            backoff_initial_ms: 1_000,
            backoff_max_ms: 4_000,
            max_requests_in_flight: NonZeroU32::new(slots).unwrap(),
            ..Policy::default()
        })
    }

    fn refused() -> Outcome<()> {
        Outcome::NotSent(CallError::new("connection refused".to_owned()))
    }

    fn answered() -> Outcome<()> {
        Outcome::Answered(())
    }

    /// Whether `pass()` completes within `within` of (paused) time.
    async fn passes_within(gate: &Gate, within: Duration) -> Option<Pass<'_>> {
        tokio::time::timeout(within, gate.pass()).await.ok()
    }

    #[tokio::test(start_paused = true)]
    async fn while_reachable_passes_run_ahead_of_the_requests_in_flight() {
        let gate = gate(2);
        let mut passes = Vec::new();
        for _ in 0..2 * PASSES_PER_REQUEST {
            passes.push(gate.pass().await);
        }
        assert!(
            passes_within(&gate, Duration::from_secs(60))
                .await
                .is_none(),
            "passes are bounded too"
        );
        let (mut first, mut second, mut third) = (
            passes.pop().unwrap(),
            passes.pop().unwrap(),
            passes.pop().unwrap(),
        );
        let first_wire = first.wire().await;
        let second_wire = second.wire().await;
        assert_eq!(gate.status().in_flight, 2);
        assert!(
            tokio::time::timeout(Duration::from_secs(60), third.wire())
                .await
                .is_err(),
            "two requests in flight at most"
        );
        drop(first_wire);
        first.finished(&answered());
        assert!(
            tokio::time::timeout(Duration::from_millis(1), third.wire())
                .await
                .is_ok(),
            "a finished request frees its place on the wire"
        );
        assert!(
            passes_within(&gate, Duration::from_millis(1))
                .await
                .is_some(),
            "and its pass"
        );
        drop((second_wire, second, third, passes));
        assert_eq!(gate.status().in_flight, 0);
        assert_eq!(gate.status().state, "open");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pass_taken_before_the_gate_closed_waits_on_the_wire_for_its_turn_to_probe() {
        let gate = gate(4);
        let mut marked = gate.pass().await;
        gate.pass().await.finished(&refused());
        assert!(
            tokio::time::timeout(Duration::from_millis(400), marked.wire())
                .await
                .is_err(),
            "nothing goes before the probe is due"
        );
        let wire = marked.wire().await;
        assert!(marked.probe, "the waiting order probes");
        assert!(
            passes_within(&gate, Duration::from_secs(600))
                .await
                .is_none(),
            "only one probe is in flight"
        );
        drop(wire);
        marked.finished(&answered());
        assert_eq!(gate.status().state, "open");
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_not_sent_closes_the_gate_until_a_probe_gets_through() {
        let gate = std::sync::Arc::new(gate(4));
        gate.pass().await.finished(&refused());
        let status = gate.status();
        assert_eq!(status.state, "closed");
        let wait = status.next_probe_in_ms.unwrap();
        assert!((500..=1_000).contains(&wait), "first probe after {wait} ms");

        // Nobody passes before the probe is due; then exactly one does.
        assert!(
            passes_within(&gate, Duration::from_millis(400))
                .await
                .is_none()
        );
        let probe = gate.pass().await;
        assert!(probe.probe);
        assert!(
            passes_within(&gate, Duration::from_secs(600))
                .await
                .is_none(),
            "only one probe is in flight"
        );

        // A failed probe backs off further.
        probe.finished(&refused());
        let wait = gate.status().next_probe_in_ms.unwrap();
        assert!(
            (1_000..=2_000).contains(&wait),
            "second probe after {wait} ms"
        );

        // A probe that reaches the gateway opens the gate for everyone waiting.
        let probe = gate.pass().await;
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let gate = gate.clone();
                tokio::spawn(async move { gate.pass().await.probe })
            })
            .collect();
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(gate.status().waiting, 3);
        probe.finished(&answered());
        assert_eq!(gate.status().state, "open");
        for waiter in waiters {
            assert!(
                !waiter.await.unwrap(),
                "an open gate passes without probing"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_unused_probe_lets_another_order_probe_at_once() {
        let gate = gate(4);
        gate.pass().await.finished(&refused());
        let probe = gate.pass().await;
        assert!(
            passes_within(&gate, Duration::from_secs(60))
                .await
                .is_none()
        );
        drop(probe);
        let next = passes_within(&gate, Duration::from_millis(1)).await;
        assert!(next.is_some_and(|p| p.probe));
    }

    #[tokio::test(start_paused = true)]
    async fn requests_let_through_before_the_gate_closed_do_not_push_the_probe_back() {
        let gate = gate(4);
        let early = gate.pass().await;
        let late = gate.pass().await;
        early.finished(&refused());
        let first = gate.status().next_probe_in_ms.unwrap();
        tokio::time::advance(Duration::from_millis(100)).await;
        late.finished(&refused());
        assert_eq!(gate.status().next_probe_in_ms.unwrap(), first - 100);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unknown_outcome_counts_as_reaching_the_gateway() {
        let gate = gate(1);
        gate.pass().await.finished(&refused());
        let probe = gate.pass().await;
        probe.finished(&Outcome::<()>::Unknown(CallError::new(
            "read timed out".to_owned(),
        )));
        assert_eq!(gate.status().state, "open");
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_counts_the_queue() {
        let gate = std::sync::Arc::new(gate(1));
        let held: Vec<_> = {
            let mut held = Vec::new();
            for _ in 0..PASSES_PER_REQUEST {
                held.push(gate.pass().await);
            }
            held
        };
        let queued: Vec<_> = (0..5)
            .map(|_| {
                let gate = gate.clone();
                tokio::spawn(async move { drop(gate.pass().await) })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(gate.status().waiting, 5);
        drop(held);
        for task in queued {
            task.await.unwrap();
        }
        assert_eq!(gate.status().waiting, 0);
    }
}
