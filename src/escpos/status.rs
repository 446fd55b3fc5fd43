//! Real-time printer status (`DLE EOT n`).
//!
//! The printer answers a status request with one byte, even over a busy link. Two requests
//! tell what stops a job: `n = 2` (offline cause: cover open, paper end, an error such as a
//! cutter jam or a head fault) and `n = 4` (roll paper sensor: near end, end). Every status
//! byte has bits 1 and 4 set and bit 7 clear; a byte that does not is no status answer (an echo
//! of the request, noise on the line).

/// `DLE EOT 2`: offline cause.
pub const REQUEST_OFFLINE_CAUSE: [u8; 3] = [0x10, 0x04, 0x02];
/// `DLE EOT 4`: roll paper sensor.
pub const REQUEST_PAPER_SENSOR: [u8; 3] = [0x10, 0x04, 0x04];

/// What the printer reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrinterStatus {
    pub cover_open: bool,
    pub paper_out: bool,
    pub paper_near_end: bool,
    /// An error the printer stops for until it is cleared (a cutter jam, a head fault).
    pub error: bool,
}

impl PrinterStatus {
    /// Whether a job can be printed now.
    pub fn ready(&self) -> bool {
        !self.cover_open && !self.paper_out && !self.error
    }

    /// Reads the answers to [`REQUEST_OFFLINE_CAUSE`] and [`REQUEST_PAPER_SENSOR`].
    pub fn from_answers(offline_cause: u8, paper_sensor: u8) -> Self {
        PrinterStatus {
            cover_open: offline_cause & 0x04 != 0,
            paper_out: offline_cause & 0x20 != 0 || paper_sensor & 0x60 == 0x60,
            paper_near_end: paper_sensor & 0x0c == 0x0c,
            error: offline_cause & 0x40 != 0,
        }
    }

    /// Whether `byte` can be an answer to a status request at all.
    pub fn is_status_byte(byte: u8) -> bool {
        byte & 0x93 == 0x12
    }

    /// What keeps the printer from printing, in words, e.g. `cover open, paper out`.
    pub fn faults(&self) -> String {
        [
            (self.error, "printer error"),
            (self.cover_open, "cover open"),
            (self.paper_out, "paper out"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(", ")
    }
}

/// The answer bytes a printer in `status` sends, for simulated printers in tests and tools.
pub fn answers_for(status: PrinterStatus) -> (u8, u8) {
    // Bits 1 and 4 are fixed to 1 in every status byte.
    let mut offline_cause = 0x12;
    let mut paper_sensor = 0x12;
    if status.cover_open {
        offline_cause |= 0x04;
    }
    if status.paper_out {
        offline_cause |= 0x20;
        paper_sensor |= 0x60;
    }
    if status.paper_near_end {
        paper_sensor |= 0x0c;
    }
    if status.error {
        offline_cause |= 0x40;
    }
    (offline_cause, paper_sensor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bits() {
        assert!(PrinterStatus::from_answers(0x12, 0x12).ready());
        let paper_out = PrinterStatus::from_answers(0x32, 0x72);
        assert!(paper_out.paper_out && !paper_out.ready());
        let cover = PrinterStatus::from_answers(0x16, 0x12);
        assert!(cover.cover_open && !cover.paper_out);
        for status in [
            PrinterStatus::default(),
            PrinterStatus {
                paper_out: true,
                ..Default::default()
            },
            PrinterStatus {
                cover_open: true,
                paper_near_end: true,
                ..Default::default()
            },
            PrinterStatus {
                error: true,
                ..Default::default()
            },
        ] {
            let (a, b) = answers_for(status);
            assert_eq!(PrinterStatus::from_answers(a, b), status);
            assert!(PrinterStatus::is_status_byte(a) && PrinterStatus::is_status_byte(b));
        }
        let error = PrinterStatus::from_answers(0x52, 0x12);
        assert!(error.error && !error.ready());
        assert_eq!(error.faults(), "printer error");
        // An echoed request, and bytes with bit 7 set or a fixed bit clear, are no answers.
        for byte in [0x10, 0x04, 0x00, 0xff, 0x92, 0x02] {
            assert!(!PrinterStatus::is_status_byte(byte), "{byte:#04x}");
        }
    }
}
