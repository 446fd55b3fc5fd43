//! The thread that lays receipts out, below the order workers' priority.
//!
//! Laying a receipt out (its QR codes, its text drawn as dots) is the daemon's largest piece of
//! CPU work per charge, and printing it takes a second or more anyway. When charges and layout
//! compete for the CPU (a queue draining after an outage, a busy counter), charges come first: a
//! request held back holds its customer, while a receipt waits in the store, which owes it.
//!
//! Only pure work runs here: it takes no lock that a charge needs. The printer thread, which
//! notes jobs and results in the store under its writer lock, keeps the daemon's priority, so a
//! descheduled low-priority thread never holds that lock while charges wait behind it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Sender};

/// How far below the daemon's other threads layout runs (added to their nice value). On an idle
/// till the thread gets the CPU at once, whatever its nice value.
const NICENESS: libc::c_int = 10;

type Job = Box<dyn FnOnce() + Send>;

/// A handle on the layout thread; the thread ends when the last handle is dropped.
#[derive(Clone)]
pub struct LayoutThread {
    jobs: Sender<Job>,
}

impl LayoutThread {
    pub fn spawn() -> LayoutThread {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("posd-layout".into())
            .spawn(move || {
                lower_priority();
                for job in queue {
                    job();
                }
            })
            .expect("a thread can be started");
        LayoutThread { jobs }
    }

    /// Runs `work` on the layout thread and waits for its result. A panic in `work` goes on in
    /// the caller, as if it had run there; the layout thread lives on.
    pub fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> T {
        let (answer, result) = mpsc::sync_channel(1);
        let job: Job = Box::new(move || {
            let _ = answer.send(catch_unwind(AssertUnwindSafe(work)));
        });
        // Only a thread that could not start leaves no one to run it: it runs here then.
        if let Err(mpsc::SendError(job)) = self.jobs.send(job) {
            job();
        }
        match result.recv().expect("every job answers") {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// Raises the calling thread's nice value by [`NICENESS`]; Linux (and so Android) keeps one per
/// thread, and raising one's own needs no privilege. Should it fail all the same, layout runs at
/// the daemon's priority.
fn lower_priority() {
    // SAFETY: gettid, getpriority and setpriority take no pointers; they only read and set this
    // thread's scheduling priority.
    let set = unsafe {
        let thread = libc::syscall(libc::SYS_gettid) as libc::id_t;
        let now = libc::getpriority(libc::PRIO_PROCESS, thread);
        libc::setpriority(libc::PRIO_PROCESS, thread, now + NICENESS)
    };
    if set != 0 {
        tracing::debug!(
            "the layout thread keeps the daemon's priority: {}",
            std::io::Error::last_os_error()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_work_and_hands_back_its_result_or_its_panic() {
        let layout = LayoutThread::spawn();
        let caller = std::thread::current().id();
        let (value, ran_on) = layout.run(|| (6 * 7, std::thread::current().id()));
        assert_eq!(value, 42);
        assert_ne!(ran_on, caller, "the work ran on the layout thread");
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            layout.run(|| -> u8 { panic!("a layout bug") })
        }));
        let payload = panicked.expect_err("the panic reaches the caller");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"a layout bug"));
        assert_eq!(layout.run(|| "still running"), "still running");
    }
}
