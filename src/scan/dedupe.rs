//! Submitting a code once while it stays in front of the camera.
//!
//! The camera sees the customer's phone for many frames, and a cashier may press the key again
//! while the same screen is still shown. A payment code is single-use: submitting it twice is at
//! best a refused request, at worst a second charge. The deduper remembers the last code and when
//! it was last seen; the code is admitted again only after it has been out of sight for the
//! whole window (the customer put the phone away and took it out again).

use std::time::{Duration, Instant};

use super::validate::PaymentCode;

#[derive(Debug)]
pub struct Deduper {
    window: Duration,
    last: Option<(PaymentCode, Instant)>,
}

impl Deduper {
    pub fn new(window: Duration) -> Self {
        Self { window, last: None }
    }

    /// Records a sighting of `code` at `now`; true when it should be submitted.
    pub fn admit(&mut self, code: &PaymentCode, now: Instant) -> bool {
        let repeat = match &self.last {
            Some((last, seen)) => {
                last == code && now.saturating_duration_since(*seen) <= self.window
            }
            None => false,
        };
        self.last = Some((code.clone(), now));
        !repeat
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::validate::CodeRules;

    fn code(text: &str) -> PaymentCode {
        CodeRules::default().check(text.as_bytes()).unwrap()
    }

    #[test]
    fn consecutive_sightings_are_admitted_once() {
        let mut deduper = Deduper::new(Duration::from_secs(2));
        let start = Instant::now();
        let wechat = code("134567890123456789");
        assert!(deduper.admit(&wechat, start));
        for frame in 1..=50 {
            let now = start + Duration::from_millis(100 * frame);
            assert!(!deduper.admit(&wechat, now), "frame {frame}");
        }
    }

    #[test]
    fn a_different_code_is_admitted_at_once() {
        let mut deduper = Deduper::new(Duration::from_secs(2));
        let now = Instant::now();
        assert!(deduper.admit(&code("134567890123456789"), now));
        assert!(deduper.admit(&code("MY13697573pbmQsYhY"), now));
        assert!(deduper.admit(&code("134567890123456789"), now));
    }

    #[test]
    fn the_same_code_is_admitted_again_after_leaving_view() {
        let mut deduper = Deduper::new(Duration::from_secs(2));
        let start = Instant::now();
        let alipay = code("2812345678901234");
        assert!(deduper.admit(&alipay, start));
        assert!(!deduper.admit(&alipay, start + Duration::from_secs(1)));
        assert!(deduper.admit(&alipay, start + Duration::from_secs(4)));
    }
}
