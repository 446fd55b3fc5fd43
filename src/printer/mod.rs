//! Getting bytes to the printer, and holding them while it cannot print.
//!
//! A [`Link`] is one way of reaching a printer: a serial device (a UART, or the RFCOMM link of a
//! Bluetooth SPP printer), raw TCP on port 9100, or a device node or file. A printer that only an
//! app can reach (SUNMI's printer service) has no link here: the POS app leases its jobs (see
//! `daemon::app_printer`), and [`sunmi`] reads the states it reports. Two-way links also
//! answer real-time status requests (`DLE EOT`). The [`Spooler`] keeps jobs in order: on a
//! two-way link it asks for the status before each job and, when the paper is out or the cover
//! open, keeps the job and reports [`Delivery::Held`] so the daemon can raise an event and
//! call [`Spooler::retry`] later; a job that failed to send is kept too.
//!
//! [`Link`]: crate::printer::Link
//! [`Spooler`]: crate::printer::Spooler
//! [`Delivery::Held`]: crate::printer::Delivery::Held
//! [`Spooler::retry`]: crate::printer::Spooler::retry

mod file;
mod serial;
pub mod sunmi;
mod tcp;

pub use file::FileLink;
pub use serial::SerialLink;
pub use tcp::TcpLink;

use crate::escpos::status::{PrinterStatus, REQUEST_OFFLINE_CAUSE, REQUEST_PAPER_SENSOR};
use crate::profile::{PrinterProfile, Transport};
use std::collections::VecDeque;
use std::io;
use std::time::Duration;

/// How long to wait for a status answer; a printer answers real-time requests at once.
pub const STATUS_TIMEOUT: Duration = Duration::from_millis(500);

/// One way of reaching a printer.
pub trait Link {
    /// Writes all of `bytes`.
    fn send(&mut self, bytes: &[u8]) -> io::Result<()>;

    /// Sends a real-time request and reads its one-byte answer.
    fn ask(&mut self, request: &[u8]) -> io::Result<u8>;

    /// Where the link goes, for logs and errors.
    fn describe(&self) -> String;
}

/// Why a job could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    /// Opening the link or asking the printer's status failed: nothing of the next job went out.
    #[error("printer at {link}: {source}")]
    Io { link: String, source: io::Error },
    /// The link failed while a job was going out: part of it may be on paper.
    #[error("printer at {link}: {source}")]
    Sending { link: String, source: io::Error },
}

impl PrintError {
    /// Whether the job at the head of the queue may be partly or wholly on paper.
    pub fn while_sending(&self) -> bool {
        matches!(self, PrintError::Sending { .. })
    }
}

/// Opens the link a profile names.
pub fn open(printer: &PrinterProfile) -> Result<Box<dyn Link>, PrintError> {
    let link: Box<dyn Link> = match &printer.transport {
        Transport::Serial { path, baud } => Box::new(SerialLink::open(path, *baud)?),
        Transport::Tcp { address } => Box::new(TcpLink::connect(address)?),
        Transport::File { path } => Box::new(FileLink::open(path)?),
        Transport::App {} => {
            return Err(PrintError::Io {
                link: "the POS app".to_owned(),
                source: io::Error::new(
                    io::ErrorKind::Unsupported,
                    "the app printer link has no device to open; the app leases its jobs",
                ),
            });
        }
    };
    Ok(link)
}

/// What happened to the queued jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Every queued job went to the printer.
    Printed,
    /// The printer cannot print now; the jobs are kept until [`Spooler::retry`] succeeds.
    Held(PrinterStatus),
}

/// Jobs on their way to one printer, each with a tag `T` saying whose job it is, so the caller
/// learns which jobs went out before a link failed ([`Spooler::take_sent`],
/// [`Spooler::into_unsent`]).
pub struct Spooler<L, T = ()> {
    link: L,
    two_way: bool,
    queue: VecDeque<(T, Vec<u8>)>,
    sent: Vec<T>,
}

impl<L: Link> Spooler<L> {
    /// `two_way` says whether the link answers status requests (from the profile).
    pub fn new(link: L, two_way: bool) -> Self {
        Spooler::tagged(link, two_way)
    }

    /// Queues a job and sends what the printer can take now.
    pub fn submit(&mut self, job: Vec<u8>) -> Result<Delivery, PrintError> {
        self.submit_tagged((), job)
    }
}

impl<L: Link, T> Spooler<L, T> {
    /// A spooler whose jobs carry tags.
    pub fn tagged(link: L, two_way: bool) -> Self {
        Spooler {
            link,
            two_way,
            queue: VecDeque::new(),
            sent: Vec::new(),
        }
    }

    /// Queues a job tagged `tag` and sends what the printer can take now.
    pub fn submit_tagged(&mut self, tag: T, job: Vec<u8>) -> Result<Delivery, PrintError> {
        self.enqueue(tag, job);
        self.retry()
    }

    /// Queues a job tagged `tag`, to go out at the next [`Spooler::retry`].
    pub fn enqueue(&mut self, tag: T, job: Vec<u8>) {
        self.queue.push_back((tag, job));
    }

    /// The tags of the queued jobs, in the order they go out.
    pub fn queued_tags(&self) -> impl Iterator<Item = &T> {
        self.queue.iter().map(|(tag, _)| tag)
    }

    /// Sends the queued jobs, in order, as long as the printer is ready. A job the link fails on
    /// stays at the head of the queue ([`PrintError::Sending`]).
    pub fn retry(&mut self) -> Result<Delivery, PrintError> {
        while !self.queue.is_empty() {
            if let Some(status) = self.status()?
                && !status.ready()
            {
                tracing::warn!(
                    printer = %self.link.describe(),
                    faults = %status.faults(),
                    jobs = self.queue.len(),
                    "printer not ready; holding jobs"
                );
                return Ok(Delivery::Held(status));
            }
            let (_, job) = &self.queue[0];
            if let Err(source) = self.link.send(job) {
                return Err(PrintError::Sending {
                    link: self.link.describe(),
                    source,
                });
            }
            let (tag, _) = self.queue.pop_front().expect("the queue is not empty");
            self.sent.push(tag);
        }
        Ok(Delivery::Printed)
    }

    /// The tags of the jobs sent since the last call, in order.
    pub fn take_sent(&mut self) -> Vec<T> {
        std::mem::take(&mut self.sent)
    }

    /// The tag of the job that goes out next.
    pub fn next_tag(&self) -> Option<&T> {
        self.queue.front().map(|(tag, _)| tag)
    }

    /// The tags of the jobs not sent, in order. After a link failure the first was being sent, so
    /// it may be partly or wholly on paper.
    pub fn into_unsent(self) -> Vec<T> {
        self.queue.into_iter().map(|(tag, _)| tag).collect()
    }

    /// The printer's status, or `None` on a one-way link.
    pub fn status(&mut self) -> Result<Option<PrinterStatus>, PrintError> {
        if !self.two_way {
            return Ok(None);
        }
        let offline_cause = self.ask(&REQUEST_OFFLINE_CAUSE)?;
        let paper_sensor = self.ask(&REQUEST_PAPER_SENSOR)?;
        Ok(Some(PrinterStatus::from_answers(
            offline_cause,
            paper_sensor,
        )))
    }

    /// One status request and its answer, which must be a status byte.
    fn ask(&mut self, request: &[u8]) -> Result<u8, PrintError> {
        let answer = self.link.ask(request).and_then(|answer| {
            if PrinterStatus::is_status_byte(answer) {
                Ok(answer)
            } else {
                Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "answered {answer:#04x} to a status request, which is no status byte (an \
                         echo of the request, or not an ESC/POS printer?)"
                    ),
                ))
            }
        });
        answer.map_err(|source| PrintError::Io {
            link: self.link.describe(),
            source,
        })
    }

    /// Replaces a broken link (a dropped TCP connection, a re-bound RFCOMM device) and keeps
    /// the queued jobs; call [`Spooler::retry`] to send them.
    pub fn reconnect(&mut self, link: L) {
        self.link = link;
    }

    /// Jobs not yet sent.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    pub fn link(&self) -> &L {
        &self.link
    }
}

impl Link for Box<dyn Link> {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        (**self).send(bytes)
    }

    fn ask(&mut self, request: &[u8]) -> io::Result<u8> {
        (**self).ask(request)
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}
