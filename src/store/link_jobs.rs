//! Links printed as QR codes (`link_jobs`, by number): each is stored before it goes to the
//! printer and removed once printed, so the tree holds only what the printer still owes.

use super::{Commit, LINK_JOBS, Store, StoreError, record, storage};
use crate::order::{LinkJob, PrintOutcome, PrintStatus, Timestamp};

impl Store {
    /// Stores a new link job, durably, and returns it.
    pub fn save_link_job(
        &self,
        caption: &str,
        escpos: Vec<u8>,
        at: Timestamp,
    ) -> Result<LinkJob, StoreError> {
        self.usable()?;
        let number = self.next_job_number()?;
        let job = LinkJob {
            number,
            caption: caption.to_owned(),
            escpos,
            status: PrintStatus::Pending,
            created_at: at,
        };
        let bytes = record::encode_link_job(&job);
        self.write("saving a link job", Commit::Durable, |tx| {
            tx.tree(LINK_JOBS).insert(number.to_be_bytes(), &bytes)
        })?;
        Ok(job)
    }

    /// Every link job not yet printed, oldest first; unreadable records are quarantined.
    pub fn unprinted_link_jobs(&self) -> Result<Vec<LinkJob>, StoreError> {
        let mut jobs = Vec::new();
        for entry in self.link_jobs.iter() {
            let (key, bytes) = entry.map_err(storage("reading link jobs"))?;
            match record::decode_link_job(&bytes) {
                Ok(job) => jobs.push(job),
                Err(detail) => {
                    self.quarantine_record(LINK_JOBS, &key, &bytes, detail)?;
                }
            }
        }
        Ok(jobs)
    }

    /// Records what became of link job `number`: printed, it leaves the store; failed, it stays
    /// owed.
    pub fn record_link_print(
        &self,
        number: u64,
        outcome: &PrintOutcome,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.usable()?;
        let key = number.to_be_bytes();
        self.write("recording a link's print", Commit::Durable, |tx| {
            let jobs = tx.tree(LINK_JOBS);
            match outcome {
                PrintOutcome::Printed => jobs.remove(key),
                PrintOutcome::Failed { reason, .. } => {
                    let Some(bytes) = jobs.get(key)? else {
                        return Ok(());
                    };
                    let Ok(mut job) = record::decode_link_job(&bytes) else {
                        return Ok(());
                    };
                    job.status = PrintStatus::Failed {
                        reason: reason.clone(),
                        at,
                    };
                    jobs.insert(key, record::encode_link_job(&job))
                }
            }
        })
    }
}
