//! The gateway gate: whether order requests should go to the gateway at all, and how many at once.
//!
//! Every order's task passes the gate before it sends or queries. While the gateway answers, up
//! to `policy.max_requests_in_flight` requests go at once, so a queue that drains after an outage
//! does not flood the store with writes or the gateway with connections. A request that could not
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

pub struct Gate {
    policy: Policy,
    health: Mutex<Health>,
    /// Woken whenever the health changes, and when a probe is given up unused.
    changed: Notify,
    slots: Semaphore,
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

/// Leave to make one request. Report how it went with [`Pass::finished`]; a pass dropped unused
/// frees its slot and, if it was the probe, lets another order probe at once.
pub struct Pass<'a> {
    gate: &'a Gate,
    probe: bool,
    _slot: SemaphorePermit<'a>,
}

impl Gate {
    pub fn new(policy: Policy) -> Gate {
        let slots = policy.max_requests_in_flight.get() as usize;
        Gate {
            policy,
            health: Mutex::new(Health::Reachable),
            changed: Notify::new(),
            slots: Semaphore::new(slots),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Waits until a request may go: a free slot while the gateway is reachable, or the turn to
    /// probe while it is not. Dropping the future gives up the place without side effects.
    pub async fn pass(&self) -> Pass<'_> {
        let _counted = Waiting::count(&self.waiting);
        loop {
            // Registered before the health is read, so a change in between is not missed.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let slot = self
                .slots
                .acquire()
                .await
                .expect("the gate's semaphore is never closed");
            let next_probe = {
                let mut health = self.health.lock().expect("gate lock");
                match &mut *health {
                    Health::Reachable => {
                        return Pass {
                            gate: self,
                            probe: false,
                            _slot: slot,
                        };
                    }
                    Health::Unreachable {
                        next_probe,
                        probing,
                        ..
                    } => {
                        if !*probing && Instant::now() >= *next_probe {
                            *probing = true;
                            return Pass {
                                gate: self,
                                probe: true,
                                _slot: slot,
                            };
                        }
                        (!*probing).then_some(*next_probe)
                    }
                }
            };
            drop(slot);
            match next_probe {
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
                - self.slots.available_permits(),
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

impl Pass<'_> {
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
    async fn while_reachable_at_most_the_slots_are_in_flight() {
        let gate = gate(2);
        let first = gate.pass().await;
        let second = gate.pass().await;
        assert_eq!(gate.status().in_flight, 2);
        assert!(
            passes_within(&gate, Duration::from_secs(60))
                .await
                .is_none()
        );
        first.finished(&answered());
        let third = passes_within(&gate, Duration::from_millis(1)).await;
        assert!(third.is_some(), "a finished request frees its slot");
        drop((second, third));
        assert_eq!(gate.status().in_flight, 0);
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
        let held = gate.pass().await;
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
