//! The POS app's print queue: jobs the app leases (`app_jobs`, by queue number) and the results
//! it reported (`app_results`, by job number and lease).
//!
//! A job enters the queue in the same durable step as the print job it carries, and leaves it in
//! the same step that records the order's receipt as printed, so the queue and the orders never
//! disagree after a crash.

use super::{
    APP_JOBS, APP_RESULTS, Commit, ORDERS, PRINT_JOBS, SHIFT_PRINTS, Store, StoreError, abort,
    apply_print, record, storage,
};
use crate::order::{AppJob, AppJobId, AppResult, OrderId, PrintJob, PrintOutcome, Timestamp};

/// The durable change a reported result makes.
pub struct Finish<'a> {
    /// The job as it stays queued, or `None` when it leaves the queue (printed).
    pub requeued: Option<&'a AppJob>,
    pub number: u64,
    pub result: &'a AppResult,
    pub job_id: AppJobId,
    /// The order's print job this job carries, and what became of it.
    pub print: Option<(&'a OrderId, u32, &'a PrintOutcome)>,
    /// The shift report this job prints, and what became of it.
    pub report: Option<(crate::shift::ShiftId, &'a PrintOutcome)>,
    pub at: Timestamp,
}

fn number_key(number: u64) -> [u8; 8] {
    number.to_be_bytes()
}

fn result_key(id: AppJobId) -> [u8; 12] {
    let mut key = [0; 12];
    key[..8].copy_from_slice(&id.number.to_be_bytes());
    key[8..].copy_from_slice(&id.lease.to_be_bytes());
    key
}

impl Store {
    /// A new place at the end of the app's queue. Numbers only grow, across restarts too.
    pub fn next_app_job_number(&self) -> Result<u64, StoreError> {
        self.next_job_number()
    }

    /// Adds an order's print job with the app's copy of it in one step, noted, unless the order no
    /// longer owes that print (see [`Store::add_print_job`]).
    pub fn add_print_job_for_app(
        &self,
        job: &PrintJob,
        app_job: &AppJob,
    ) -> Result<bool, StoreError> {
        self.add_print_job_with(job, Some(app_job))
    }

    /// Adds a job that belongs to no new print job (a test page, or a job owed from before the
    /// app link), or saves a queued job again (a lease taken or ended). Noted: a lease lost in a cut
    /// makes the store open unclean, and the job goes out again marked `補印`.
    pub fn put_app_job(&self, job: &AppJob) -> Result<(), StoreError> {
        self.usable()?;
        let bytes = record::encode_app_job(job);
        self.write("saving a print job for the app", Commit::Noted, |tx| {
            tx.tree(APP_JOBS).insert(number_key(job.number), &bytes)
        })
    }

    /// The app's queue, first job first.
    pub fn app_jobs(&self) -> Result<Vec<AppJob>, StoreError> {
        let mut jobs = Vec::new();
        for entry in self.app_jobs.iter() {
            let (key, bytes) = entry.map_err(storage("reading the app's print queue"))?;
            match record::decode_app_job(&bytes) {
                Ok(job) => jobs.push(job),
                Err(detail) => {
                    self.quarantine_record(super::APP_JOBS, &key, &bytes, detail)?;
                }
            }
        }
        Ok(jobs)
    }

    /// The job at the head of the app's queue.
    pub fn first_app_job(&self) -> Result<Option<AppJob>, StoreError> {
        let first = self
            .app_jobs
            .first()
            .map_err(storage("reading the app's print queue"))?;
        match first {
            Some((key, bytes)) => match record::decode_app_job(&bytes) {
                Ok(job) => Ok(Some(job)),
                Err(detail) => {
                    self.quarantine_record(super::APP_JOBS, &key, &bytes, detail)?;
                    self.first_app_job()
                }
            },
            None => Ok(None),
        }
    }

    /// How many jobs wait in the app's queue (leased ones included).
    pub fn app_jobs_waiting(&self) -> usize {
        self.app_jobs.len()
    }

    /// The queued job with this number.
    pub fn app_job(&self, number: u64) -> Result<Option<AppJob>, StoreError> {
        let key = number_key(number);
        let Some(bytes) = self
            .app_jobs
            .get(key)
            .map_err(storage("reading the app's print queue"))?
        else {
            return Ok(None);
        };
        match record::decode_app_job(&bytes) {
            Ok(job) => Ok(Some(job)),
            Err(detail) => Err(self
                .quarantine_record(super::APP_JOBS, &key, &bytes, detail)?
                .error()),
        }
    }

    /// The result reported for one lease.
    pub fn app_result(&self, id: AppJobId) -> Result<Option<AppResult>, StoreError> {
        let bytes = self
            .app_results
            .get(result_key(id))
            .map_err(storage("reading the app's print results"))?;
        bytes
            .map(|bytes| {
                record::decode_app_result(&bytes)
                    .map_err(|detail| unreadable_result(id.to_string(), detail))
            })
            .transpose()
    }

    /// The last lease of job `number` that has a result, if any.
    pub fn last_app_result(&self, number: u64) -> Result<Option<AppResult>, StoreError> {
        let last = self
            .app_results
            .scan_prefix(number_key(number))
            .next_back()
            .transpose()
            .map_err(storage("reading the app's print results"))?;
        last.map(|(_, bytes)| {
            record::decode_app_result(&bytes)
                .map_err(|detail| unreadable_result(number.to_string(), detail))
        })
        .transpose()
    }

    /// Records a reported result in one step with what it changes, noted: a result lost in a cut
    /// leaves the job owed, to go out again marked `補印`.
    pub fn finish_app_job(&self, finish: &Finish) -> Result<(), StoreError> {
        self.usable()?;
        let result_bytes = record::encode_app_result(finish.result);
        let requeued = finish.requeued.map(record::encode_app_job);
        self.write("recording a print result", Commit::Noted, |tx| {
            let (orders, jobs, app_jobs, app_results, reports) = (
                tx.tree(ORDERS),
                tx.tree(PRINT_JOBS),
                tx.tree(APP_JOBS),
                tx.tree(APP_RESULTS),
                tx.tree(SHIFT_PRINTS),
            );
            let key = number_key(finish.number);
            if app_jobs.get(key)?.is_none() {
                return abort(StoreError::Corrupt {
                    tree: super::APP_JOBS.to_owned(),
                    key: finish.number.to_string(),
                    detail: "the job left the queue while its result was recorded".to_owned(),
                });
            }
            match &requeued {
                Some(bytes) => app_jobs.insert(key, bytes.as_slice())?,
                None => app_jobs.remove(key)?,
            };
            app_results.insert(result_key(finish.job_id), result_bytes.as_slice())?;
            if let Some((id, seq, outcome)) = finish.print {
                apply_print(&orders, &jobs, id, seq, outcome, finish.at)?;
            }
            if let Some((shift, outcome)) = finish.report {
                super::shifts::apply_report_print(&reports, shift, outcome, finish.at)?;
            }
            Ok(())
        })
    }

    /// Forgets results reported before `cutoff`; the jobs they finished are long gone.
    pub(super) fn prune_app_results_before(&self, cutoff: Timestamp) -> Result<(), StoreError> {
        let mut old_keys = Vec::new();
        for entry in self.app_results.iter() {
            let (key, bytes) = entry.map_err(storage("reading the app's print results"))?;
            let old = record::decode_app_result(&bytes)
                .map(|result| result.recorded_at < cutoff)
                .unwrap_or(true);
            if old {
                old_keys.push(key);
            }
        }
        if old_keys.is_empty() {
            return Ok(());
        }
        self.write("pruning the app's print results", Commit::Noted, |tx| {
            let results = tx.tree(APP_RESULTS);
            for key in &old_keys {
                results.remove(key)?;
            }
            Ok(())
        })
    }
}

fn unreadable_result(key: String, detail: String) -> StoreError {
    StoreError::Corrupt {
        tree: super::APP_RESULTS.to_owned(),
        key,
        detail,
    }
}
