//! Starting again what panicked. A panic in one order's task or in the printer thread must not
//! end that work unseen until the next restart: it is logged and started again after a pause,
//! from what the store holds, as a restart would.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

/// Runs the task `run` makes until it ends without panicking; a panic is logged as `what` and the
/// task made again after `pause`. A task that ends otherwise (done, or aborted with the runtime)
/// is not started again.
pub async fn restart_task_on_panic<F, Fut>(what: &str, pause: Duration, mut run: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    loop {
        match tokio::spawn(run()).await {
            Err(e) if e.is_panic() => {
                tracing::error!("{what} panicked; starting it again");
                tokio::time::sleep(pause).await;
            }
            _ => return,
        }
    }
}

/// [`restart_task_on_panic`] for work on a thread of its own.
pub fn restart_on_panic(what: &str, pause: Duration, mut run: impl FnMut()) {
    loop {
        match catch_unwind(AssertUnwindSafe(&mut run)) {
            Ok(()) => return,
            Err(_) => {
                tracing::error!("{what} panicked; starting it again");
                std::thread::sleep(pause);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_task_that_panics_is_started_again_until_it_ends() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        restart_task_on_panic("the test task", Duration::from_millis(1), move || {
            let runs = counted.clone();
            async move {
                if runs.fetch_add(1, Ordering::SeqCst) < 2 {
                    panic!("a bug in the task");
                }
            }
        })
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_thread_body_that_panics_is_run_again_until_it_ends() {
        let mut runs = 0;
        restart_on_panic("the test thread", Duration::from_millis(1), || {
            runs += 1;
            if runs < 3 {
                panic!("a bug in the thread");
            }
        });
        assert_eq!(runs, 3);
    }
}
