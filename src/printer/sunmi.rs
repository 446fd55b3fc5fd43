//! The states SUNMI's printer service reports (`updatePrinterState`), as the POS app passes them
//! on for the app printer link.

use std::fmt;

/// A printer state code from SUNMI's printer service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrinterState(u32);

/// Every code the service documents, with what it means.
const STATES: [(u32, &str); 11] = [
    (1, "normal"),
    (2, "preparing"),
    (3, "communication error"),
    (4, "out of paper"),
    (5, "overheated"),
    (6, "cover open"),
    (7, "cutter error"),
    (8, "cutter recovered"),
    (9, "black mark not found"),
    (505, "no printer detected"),
    (507, "printer firmware update failed"),
];

impl PrinterState {
    pub const NORMAL: PrinterState = PrinterState(1);
    pub const OUT_OF_PAPER: PrinterState = PrinterState(4);
    pub const COVER_OPEN: PrinterState = PrinterState(6);

    /// The state for a documented code; anything else is refused with the codes listed.
    pub fn from_code(code: u32) -> Result<PrinterState, String> {
        if STATES.iter().any(|(known, _)| *known == code) {
            Ok(PrinterState(code))
        } else {
            let codes: Vec<String> = STATES.iter().map(|(c, _)| c.to_string()).collect();
            Err(format!(
                "{code} is not a SUNMI printer state; the states are {}",
                codes.join(", ")
            ))
        }
    }

    pub fn code(self) -> u32 {
        self.0
    }

    /// What the state means, in words.
    pub fn text(self) -> &'static str {
        STATES
            .iter()
            .find(|(code, _)| *code == self.0)
            .map_or("unknown", |(_, text)| text)
    }

    /// Whether a job may be handed out: not while paper, cover, heat, cutter, black mark, the
    /// link or the printer itself is at fault.
    pub fn can_print(self) -> bool {
        !matches!(self.0, 3 | 4 | 5 | 6 | 7 | 9 | 505 | 507)
    }
}

impl fmt::Display for PrinterState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.text(), self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_fault_states_hold_jobs() {
        let holding: Vec<u32> = STATES
            .iter()
            .map(|(code, _)| *code)
            .filter(|code| !PrinterState::from_code(*code).unwrap().can_print())
            .collect();
        assert_eq!(holding, [3, 4, 5, 6, 7, 9, 505, 507]);
    }

    #[test]
    fn unknown_codes_are_refused_with_the_list() {
        let err = PrinterState::from_code(10).unwrap_err();
        assert!(err.contains("10") && err.contains("505"), "{err}");
        assert_eq!(
            PrinterState::OUT_OF_PAPER.to_string(),
            "out of paper (4)".to_owned()
        );
    }
}
