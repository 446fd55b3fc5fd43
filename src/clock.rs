//! The daemon's time: wall time for what it records, carried forward by the monotonic clock so
//! that no wait or deadline moves when the system clock jumps.
//!
//! A handheld boots with a wrong clock and jumps when it syncs. If deadlines followed the system
//! clock, a jump forward would expire open orders at once (and let a retention prune delete
//! everything), and a jump back would stall every order task for the length of the jump. So the
//! [`Clock`] reads the system clock once, at start, and from then on adds the monotonic time
//! elapsed: within one run its readings only ever move forward, at the speed of real time.
//!
//! A clock that reads earlier than the build cannot be right. While it does, new orders are
//! refused ([`Clock::trusted_now`]), and the system clock is read again at each try, so the first
//! charge after it is set takes the corrected time.

use crate::order::Timestamp;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// When this posd was built (seconds since the epoch), from the build script.
const BUILD_EPOCH_SECS: &str = env!("POSD_BUILD_EPOCH");

/// The clock every part of the daemon reads.
static CLOCK: LazyLock<Clock> = LazyLock::new(|| Clock::new(system_wall(), build_time()));

/// Now, on the daemon's clock.
pub fn now() -> Timestamp {
    CLOCK.now()
}

/// Now, on the daemon's clock, once it reads no earlier than the build.
pub fn trusted_now() -> Result<Timestamp, ClockError> {
    CLOCK.trusted_now(system_wall)
}

/// When this posd was built.
pub fn build_time() -> Timestamp {
    let secs: u64 = BUILD_EPOCH_SECS.parse().unwrap_or(0);
    Timestamp::from_millis(secs.saturating_mul(1000))
}

/// The system's wall clock, as it reads now.
pub fn system_wall() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Timestamp::from_millis(millis)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the clock reads {reads}, earlier than this posd was built ({built}): it is not set, so no \
     order is taken until it is (check the date, time zone and network time)"
)]
pub struct ClockError {
    pub reads: String,
    pub built: String,
}

/// Wall time read once and carried forward by the monotonic clock.
pub struct Clock {
    anchor: Mutex<(Timestamp, Instant)>,
    floor: Timestamp,
}

impl Clock {
    /// A clock reading `wall` now, which no time before `floor` is trusted.
    pub fn new(wall: Timestamp, floor: Timestamp) -> Clock {
        Clock {
            anchor: Mutex::new((wall, Instant::now())),
            floor,
        }
    }

    pub fn now(&self) -> Timestamp {
        let (wall, at) = *self.anchor.lock().unwrap_or_else(|e| e.into_inner());
        wall.plus(at.elapsed())
    }

    /// Now, if it is no earlier than the floor. A clock that reads earlier is read afresh from
    /// `system` (it may have been set since), and taken if that reading is plausible.
    pub fn trusted_now(&self, system: impl Fn() -> Timestamp) -> Result<Timestamp, ClockError> {
        let now = self.now();
        if now >= self.floor {
            return Ok(now);
        }
        let reading = system();
        if reading < self.floor {
            return Err(ClockError {
                reads: shown(reading),
                built: shown(self.floor),
            });
        }
        tracing::warn!(
            from = %now,
            to = %reading,
            "the clock was set; taking its new time"
        );
        *self.anchor.lock().unwrap_or_else(|e| e.into_inner()) = (reading, Instant::now());
        Ok(reading)
    }
}

/// A time for people, as the log shows it (seconds since the epoch, UTC).
fn shown(time: Timestamp) -> String {
    let secs = i64::try_from(time.as_millis() / 1000).unwrap_or(i64::MAX);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{} s after 1970", secs))
}

/// How long from now until `at`, or nothing if it is past.
pub fn until(at: Timestamp) -> Duration {
    at.since(now())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOOR: Timestamp = Timestamp::from_millis(1_764_000_000_000);

    #[test]
    fn readings_move_forward_with_real_time_only() {
        let clock = Clock::new(FLOOR.plus(Duration::from_secs(60)), FLOOR);
        let first = clock.now();
        std::thread::sleep(Duration::from_millis(20));
        let second = clock.now();
        assert!(second.since(first) >= Duration::from_millis(20));
        assert!(second.since(first) < Duration::from_secs(5));
    }

    #[test]
    fn a_clock_earlier_than_the_build_is_not_trusted_until_it_is_set() {
        let clock = Clock::new(Timestamp::from_millis(86_400_000), FLOOR);
        let unset = clock.trusted_now(|| Timestamp::from_millis(90_000_000));
        let err = unset.unwrap_err();
        assert!(err.to_string().contains("1970-01-02"), "{err}");
        let set = FLOOR.plus(Duration::from_secs(3_600));
        assert_eq!(clock.trusted_now(|| set).unwrap(), set);
        // From then on it runs from the new time, and the system is not read again.
        let later = clock
            .trusted_now(|| panic!("a trusted clock is not read again"))
            .unwrap();
        assert!(later >= set && later.since(set) < Duration::from_secs(5));
    }
}
