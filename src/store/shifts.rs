//! Closed shifts: their reports (`shifts`, by number) and the printouts of those reports
//! (`shift_prints`, by number).
//!
//! A report is written once, at the close, in the same durable step as its printout (and, on the
//! app printer link, the app's copy of it), and never changed after.

use std::ops::ControlFlow;

use super::record::{decode_versioned, encode_versioned};
use super::tx::TxTree;
use super::{APP_JOBS, Commit, SHIFT_PRINTS, SHIFTS, Store, StoreError, abort, record, storage};
use crate::order::{AppJob, Order, PrintOutcome, Timestamp};
use crate::shift::{ReportPrint, ShiftId, ShiftReport};

fn shift_key(id: ShiftId) -> [u8; 8] {
    id.get().to_be_bytes()
}

fn unreadable(tree: &str, key: &[u8], detail: String) -> StoreError {
    StoreError::Corrupt {
        tree: tree.to_owned(),
        key: <[u8; 8]>::try_from(key).map_or_else(
            |_| String::from_utf8_lossy(key).into_owned(),
            |k| u64::from_be_bytes(k).to_string(),
        ),
        detail,
    }
}

impl Store {
    /// The last closed shift's report, if any shift was closed.
    pub fn last_shift(&self) -> Result<Option<ShiftReport>, StoreError> {
        let last = self.shifts.last().map_err(storage("reading the shifts"))?;
        last.map(|(key, bytes)| {
            decode_versioned(&bytes).map_err(|d| unreadable(super::SHIFTS, &key, d))
        })
        .transpose()
    }

    /// One closed shift's report.
    pub fn shift(&self, id: ShiftId) -> Result<Option<ShiftReport>, StoreError> {
        let key = shift_key(id);
        let bytes = self.shifts.get(key).map_err(storage("reading a shift"))?;
        bytes
            .map(|bytes| decode_versioned(&bytes).map_err(|d| unreadable(super::SHIFTS, &key, d)))
            .transpose()
    }

    /// Every closed shift's report, oldest first.
    pub fn shifts(&self) -> Result<Vec<ShiftReport>, StoreError> {
        self.shifts
            .iter()
            .map(|entry| {
                let (key, bytes) = entry.map_err(storage("reading the shifts"))?;
                decode_versioned(&bytes).map_err(|d| unreadable(super::SHIFTS, &key, d))
            })
            .collect()
    }

    /// Hands `each` every order a report of the shift after `previous` could count or list
    /// (see [`crate::shift::may_concern`]); the others are passed over on their heads alone.
    pub fn for_each_shift_candidate(
        &self,
        previous: Option<&ShiftReport>,
        mut each: impl FnMut(Order),
    ) -> Result<(), StoreError> {
        self.scan_orders(
            self.orders.iter(),
            |head| {
                crate::shift::may_concern(
                    head.state.is_final(),
                    head.updated_at,
                    &head.id,
                    previous,
                )
            },
            |order| {
                each(order);
                Ok(ControlFlow::Continue(()))
            },
        )
    }

    /// Stores a closed shift's report with its printout (and the app's copy of it), durably, in
    /// one step. Refused when the shift is taken or the one before it is missing, so two closes
    /// at once never make overlapping shifts.
    pub fn close_shift(
        &self,
        report: &ShiftReport,
        print: &ReportPrint,
        app_job: Option<&AppJob>,
    ) -> Result<(), StoreError> {
        self.usable()?;
        let id = report.shift_id;
        let report_bytes = encode_versioned(report);
        let print_bytes = encode_versioned(print);
        let app_bytes = app_job.map(record::encode_app_job);
        self.write("closing a shift", Commit::Durable, |tx| {
            let (shifts, prints, app_jobs) =
                (tx.tree(SHIFTS), tx.tree(SHIFT_PRINTS), tx.tree(APP_JOBS));
            let key = shift_key(id);
            let previous_missing = id != ShiftId::FIRST
                && shifts
                    .get(shift_key(ShiftId::new(id.get() - 1).expect("above 1")))?
                    .is_none();
            if shifts.get(key)?.is_some() || previous_missing {
                return abort(StoreError::ShiftTaken(id));
            }
            shifts.insert(key, report_bytes.as_slice())?;
            prints.insert(key, print_bytes.as_slice())?;
            if let (Some(job), Some(bytes)) = (app_job, &app_bytes) {
                app_jobs.insert(job.number.to_be_bytes(), bytes.as_slice())?;
            }
            Ok(())
        })
    }

    /// The printout of a shift's report.
    pub fn report_print(&self, id: ShiftId) -> Result<Option<ReportPrint>, StoreError> {
        let key = shift_key(id);
        let bytes = self
            .shift_prints
            .get(key)
            .map_err(storage("reading a shift report's printout"))?;
        bytes
            .map(|bytes| {
                decode_versioned(&bytes).map_err(|d| unreadable(super::SHIFT_PRINTS, &key, d))
            })
            .transpose()
    }

    /// Printouts of reports not yet on paper, oldest first.
    pub fn unprinted_reports(&self) -> Result<Vec<ReportPrint>, StoreError> {
        let mut owed = Vec::new();
        for entry in self.shift_prints.iter() {
            let (key, bytes) = entry.map_err(storage("reading the shift reports' printouts"))?;
            let print: ReportPrint =
                decode_versioned(&bytes).map_err(|d| unreadable(super::SHIFT_PRINTS, &key, d))?;
            if print.owed() {
                owed.push(print);
            }
        }
        Ok(owed)
    }

    /// Records what became of a report's printout, durably.
    pub fn record_report_print(
        &self,
        id: ShiftId,
        outcome: &PrintOutcome,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.usable()?;
        self.write("recording a shift report's print", Commit::Durable, |tx| {
            apply_report_print(&tx.tree(SHIFT_PRINTS), id, outcome, at)
        })
    }
}

/// Records a printout's outcome inside a transaction (also the app queue's).
pub(super) fn apply_report_print(
    prints: &TxTree,
    id: ShiftId,
    outcome: &PrintOutcome,
    at: Timestamp,
) -> Result<(), StoreError> {
    let key = shift_key(id);
    let Some(bytes) = prints.get(key)? else {
        return abort(StoreError::Corrupt {
            tree: super::SHIFT_PRINTS.to_owned(),
            key: id.to_string(),
            detail: "the printout of a closed shift's report is missing".to_owned(),
        });
    };
    let mut print: ReportPrint = match decode_versioned(&bytes) {
        Ok(print) => print,
        Err(detail) => return abort(unreadable(super::SHIFT_PRINTS, &key, detail)),
    };
    print.record(outcome, at);
    prints.insert(key, encode_versioned(&print))?;
    Ok(())
}
