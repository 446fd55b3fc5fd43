//! Orders about to be sent are marked `Sending` together: one durable step (one journal record,
//! one `fdatasync`) for every order readied since the last, instead of a step each.
//!
//! An order's task hands its order, moved to `Sending` by the machine and still under the order's
//! lock, to [`Marking::mark`], and sends nothing until that returns: the mark is on the disk by
//! then (invariant 1). The marker saves every order handed in since its last step with
//! [`Store::save_all`]; the orders that arrive while that step syncs go together in the next.

use crate::order::Order;
use crate::store::{Store, StoreError};
use std::io;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

type Marked = oneshot::Sender<Result<(), StoreError>>;

pub struct Marking {
    orders: mpsc::UnboundedSender<(Order, Marked)>,
}

impl Marking {
    /// Starts the marker on the current runtime; it ends when this handle is dropped.
    pub fn start(store: Arc<Store>) -> Marking {
        let (orders, mut readied) = mpsc::unbounded_channel::<(Order, Marked)>();
        tokio::spawn(async move {
            while let Some(first) = readied.recv().await {
                let mut batch = vec![first];
                while let Ok(next) = readied.try_recv() {
                    batch.push(next);
                }
                let (orders, waiting): (Vec<Order>, Vec<Marked>) = batch.into_iter().unzip();
                let store = store.clone();
                let saved = tokio::task::spawn_blocking(move || store.save_all(&orders))
                    .await
                    .expect("store work does not panic");
                for told in waiting {
                    // A task that stopped waiting has no one to tell.
                    let _ = told.send(saved.as_ref().map(|_| ()).map_err(shared));
                }
            }
        });
        Marking { orders }
    }

    /// Saves the order (marked `Sending`) durably, with every other order readied meanwhile.
    pub async fn mark(&self, order: Order) -> Result<(), StoreError> {
        let (told, heard) = oneshot::channel();
        self.orders.send((order, told)).map_err(|_| stopped())?;
        heard.await.unwrap_or_else(|_| Err(stopped()))
    }
}

/// One step's failure, as each order of the step hears of it.
fn shared(e: &StoreError) -> StoreError {
    match e {
        StoreError::Failed(reason) => StoreError::Failed(reason.clone()),
        other => StoreError::Storage {
            doing: "marking orders sending",
            source: io::Error::other(other.to_string()),
        },
    }
}

fn stopped() -> StoreError {
    StoreError::Storage {
        doing: "marking orders sending",
        source: io::Error::other("the marker has stopped"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charge::Charge;
    use crate::order::{Action, OrderId, PaymentCode, Policy, State, Timestamp};
    use std::task::Poll;

    fn ready_to_send(n: usize, at: Timestamp) -> Order {
        let charge = Charge::one_latte();
        let id = OrderId::parse(format!("MARK-{n}")).unwrap();
        let mut order = Order::new(id, charge, at).unwrap();
        order
            .payment_code_scanned(PaymentCode::new("MY13697573pbmQsYhY").unwrap(), at)
            .unwrap();
        order
    }

    /// Sixteen orders readied together are marked by one sync, which has run when their marks
    /// return: nothing of theirs may be sent before.
    #[tokio::test(flavor = "current_thread")]
    async fn orders_readied_together_are_marked_by_one_sync() {
        let dir = tempfile::tempdir().unwrap();
        let policy = Policy {
            max_open_orders: 100,
            ..Policy::default()
        };
        let at = crate::clock::now();
        let store = Arc::new(Store::open(dir.path().join("orders")).unwrap());
        let mut orders = Vec::new();
        for n in 0..16 {
            let mut order = ready_to_send(n, at);
            store.insert_staged(&order, &policy, None).unwrap();
            assert!(matches!(
                order.next_action(at, &policy),
                Action::Send { attempt: 1 }
            ));
            orders.push(order);
        }
        let marking = Marking::start(store.clone());
        let before = store.sync_calls();
        // Every mark is handed in before the marker runs (one thread, one task polling all the
        // marks), as orders readied while a sync runs are.
        let mut marks: Vec<_> = orders
            .iter()
            .map(|order| Box::pin(marking.mark(order.clone())))
            .collect();
        let mut marked: Vec<Option<Result<(), StoreError>>> = marks.iter().map(|_| None).collect();
        std::future::poll_fn(|cx| {
            for (mark, result) in marks.iter_mut().zip(&mut marked) {
                if result.is_none()
                    && let Poll::Ready(done) = mark.as_mut().poll(cx)
                {
                    *result = Some(done);
                }
            }
            if marked.iter().all(Option::is_some) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        assert!(
            marked.iter().all(|m| matches!(m, Some(Ok(())))),
            "{marked:?}"
        );
        assert_eq!(store.sync_calls() - before, 1, "one sync for sixteen marks");

        for order in &orders {
            let stored = store.get(order.id()).unwrap().unwrap();
            assert_eq!(*stored.state(), State::Sending { attempt: 1 });
        }
    }
}
