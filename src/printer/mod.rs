//! Getting bytes to the printer, and holding them while it cannot print.
//!
//! A [`Link`] is one way of reaching a printer: a serial device (a UART, or the RFCOMM link of
//! the SUNMI InnerPrinter), raw TCP on port 9100, or a device node or file. Two-way links also
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
    #[error("printer at {link}: {source}")]
    Io { link: String, source: io::Error },
}

/// Opens the link a profile names.
pub fn open(printer: &PrinterProfile) -> Result<Box<dyn Link>, PrintError> {
    let link: Box<dyn Link> = match &printer.transport {
        Transport::Serial { path, baud } => Box::new(SerialLink::open(path, *baud)?),
        Transport::Tcp { address } => Box::new(TcpLink::connect(address)?),
        Transport::File { path } => Box::new(FileLink::open(path)?),
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

/// Jobs on their way to one printer.
pub struct Spooler<L> {
    link: L,
    two_way: bool,
    queue: VecDeque<Vec<u8>>,
}

impl<L: Link> Spooler<L> {
    /// `two_way` says whether the link answers status requests (from the profile).
    pub fn new(link: L, two_way: bool) -> Self {
        Spooler {
            link,
            two_way,
            queue: VecDeque::new(),
        }
    }

    /// Queues a job and sends what the printer can take now.
    pub fn submit(&mut self, job: Vec<u8>) -> Result<Delivery, PrintError> {
        self.queue.push_back(job);
        self.retry()
    }

    /// Sends the queued jobs, in order, as long as the printer is ready.
    pub fn retry(&mut self) -> Result<Delivery, PrintError> {
        while !self.queue.is_empty() {
            if let Some(status) = self.status()?
                && !status.ready()
            {
                tracing::warn!(
                    printer = %self.link.describe(),
                    paper_out = status.paper_out,
                    cover_open = status.cover_open,
                    jobs = self.queue.len(),
                    "printer not ready; holding jobs"
                );
                return Ok(Delivery::Held(status));
            }
            let job = &self.queue[0];
            self.link.send(job).map_err(|source| PrintError::Io {
                link: self.link.describe(),
                source,
            })?;
            self.queue.pop_front();
        }
        Ok(Delivery::Printed)
    }

    /// The printer's status, or `None` on a one-way link.
    pub fn status(&mut self) -> Result<Option<PrinterStatus>, PrintError> {
        if !self.two_way {
            return Ok(None);
        }
        let mut ask = |request: &[u8]| {
            self.link.ask(request).map_err(|source| PrintError::Io {
                link: self.link.describe(),
                source,
            })
        };
        let offline_cause = ask(&REQUEST_OFFLINE_CAUSE)?;
        let paper_sensor = ask(&REQUEST_PAPER_SENSOR)?;
        Ok(Some(PrinterStatus::from_answers(
            offline_cause,
            paper_sensor,
        )))
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
