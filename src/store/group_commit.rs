//! Group commit: one sync serves every write applied before it started.
//!
//! A write is applied to sled in memory first; it is durable once a flush and sync that *started*
//! after it has finished. Writers that arrive while a sync is running wait for it to end, and the
//! first of them then runs the next sync for all of them: sixteen concurrent charges cost about
//! two syncs instead of sixteen, and one writer alone still costs exactly one.

use std::io;
use std::sync::{Condvar, Mutex, MutexGuard};

#[derive(Default)]
struct Rounds {
    /// Syncs started so far.
    started: u64,
    /// The latest sync that finished successfully.
    finished: u64,
    syncing: bool,
    /// Writers waiting for a sync to end, so a test can tell when they have all arrived.
    #[cfg(test)]
    waiting: usize,
    /// Why a sync failed: sled then holds changes the disk does not, so every writer is refused.
    failed: Option<String>,
}

#[derive(Default)]
pub struct GroupCommit {
    rounds: Mutex<Rounds>,
    finished: Condvar,
}

impl GroupCommit {
    /// Returns once a run of `sync` that started after this call has finished: this caller's, or
    /// another caller's that began meanwhile.
    pub fn commit(&self, sync: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        let mut sync = Some(sync);
        let mut rounds = self.lock();
        let needed = rounds.started + 1;
        loop {
            if let Some(reason) = &rounds.failed {
                return Err(io::Error::other(reason.clone()));
            }
            if rounds.finished >= needed {
                return Ok(());
            }
            if !rounds.syncing {
                rounds.syncing = true;
                rounds.started += 1;
                let round = rounds.started;
                drop(rounds);
                let result = (sync.take().expect("a caller leads one sync at most"))();
                let mut rounds = self.lock();
                rounds.syncing = false;
                match &result {
                    Ok(()) => rounds.finished = round,
                    Err(e) => rounds.failed = Some(e.to_string()),
                }
                self.finished.notify_all();
                return result;
            }
            #[cfg(test)]
            {
                rounds.waiting += 1;
            }
            rounds = self
                .finished
                .wait(rounds)
                .unwrap_or_else(|e| e.into_inner());
            #[cfg(test)]
            {
                rounds.waiting -= 1;
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Rounds> {
        self.rounds.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn one_writer_alone_syncs_once_per_commit() {
        let group = GroupCommit::default();
        let syncs = AtomicU64::new(0);
        for _ in 0..3 {
            group
                .commit(|| {
                    syncs.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                })
                .unwrap();
        }
        assert_eq!(syncs.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn writers_arriving_during_a_sync_share_the_next_one() {
        let group = Arc::new(GroupCommit::default());
        let syncs = Arc::new(AtomicU64::new(0));
        let (release, held) = std::sync::mpsc::channel::<()>();
        let first = {
            let (group, syncs) = (group.clone(), syncs.clone());
            std::thread::spawn(move || {
                group.commit(|| {
                    syncs.fetch_add(1, Ordering::SeqCst);
                    held.recv().unwrap();
                    Ok(())
                })
            })
        };
        while syncs.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        let waiters: Vec<_> = (0..8)
            .map(|_| {
                let (group, syncs) = (group.clone(), syncs.clone());
                std::thread::spawn(move || {
                    group.commit(|| {
                        syncs.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    })
                })
            })
            .collect();
        // The eight are all waiting once the first sync is let go (they have nothing else to do).
        while group.lock().waiting < 8 {
            std::thread::yield_now();
        }
        release.send(()).unwrap();
        first.join().unwrap().unwrap();
        for waiter in waiters {
            waiter.join().unwrap().unwrap();
        }
        // The first sync, then one more for the eight that came while it ran.
        assert_eq!(syncs.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_failed_sync_fails_every_later_commit() {
        let group = GroupCommit::default();
        let error = group
            .commit(|| Err(io::Error::other("the disk is gone")))
            .unwrap_err();
        assert_eq!(error.to_string(), "the disk is gone");
        let later = group.commit(|| Ok(())).unwrap_err();
        assert_eq!(later.to_string(), "the disk is gone");
    }
}
