//! Real-time printer status (`DLE EOT n`).
//!
//! The printer answers a status request with one byte, even over a busy link. Two requests
//! tell what stops a job: `n = 2` (offline cause: cover open, paper end) and `n = 4` (roll
//! paper sensor: near end, end).

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
}

impl PrinterStatus {
    /// Whether a job can be printed now.
    pub fn ready(&self) -> bool {
        !self.cover_open && !self.paper_out
    }

    /// Reads the answers to [`REQUEST_OFFLINE_CAUSE`] and [`REQUEST_PAPER_SENSOR`].
    pub fn from_answers(offline_cause: u8, paper_sensor: u8) -> Self {
        PrinterStatus {
            cover_open: offline_cause & 0x04 != 0,
            paper_out: offline_cause & 0x20 != 0 || paper_sensor & 0x60 == 0x60,
            paper_near_end: paper_sensor & 0x0c == 0x0c,
        }
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
        ] {
            let (a, b) = answers_for(status);
            assert_eq!(PrinterStatus::from_answers(a, b), status);
        }
    }
}
