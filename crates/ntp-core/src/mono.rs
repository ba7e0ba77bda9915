//! Monotonic time for the engine's timers, kept apart from the clock's NTP reading so that a
//! step of the system clock never moves a timer (RFC 5905 keeps timers in "process time").

use std::ops::Add;
use std::time::Duration;

/// A point on a monotonic time line with an arbitrary origin (the daemon uses the time since
/// it started; simulations use virtual time), in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MonoTime(u64);

impl MonoTime {
    /// The origin.
    pub const ZERO: MonoTime = MonoTime(0);

    /// From nanoseconds since the origin.
    pub const fn from_nanos(nanos: u64) -> Self {
        MonoTime(nanos)
    }

    /// From seconds since the origin (negative and NaN become zero).
    pub fn from_secs_f64(secs: f64) -> Self {
        MonoTime((secs * 1e9) as u64)
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Seconds since the origin.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 * 1e-9
    }

    /// The time `secs` seconds later (negative values are treated as zero).
    pub fn add_secs_f64(self, secs: f64) -> Self {
        MonoTime(self.0.saturating_add((secs.max(0.0) * 1e9) as u64))
    }

    /// `self - earlier` in seconds (negative when `earlier` is later).
    pub fn secs_since(self, earlier: MonoTime) -> f64 {
        (self.0 as i128 - earlier.0 as i128) as f64 * 1e-9
    }
}

impl Add<Duration> for MonoTime {
    type Output = MonoTime;
    /// The time `d` later (saturating).
    fn add(self, d: Duration) -> MonoTime {
        MonoTime(
            self.0
                .saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_round_trips_in_seconds() {
        let t = MonoTime::from_secs_f64(10.5);
        assert_eq!(t.as_nanos(), 10_500_000_000);
        assert_eq!((t + Duration::from_millis(500)).as_secs_f64(), 11.0);
        assert_eq!(t.add_secs_f64(-3.0), t);
        assert_eq!(MonoTime::ZERO.secs_since(t), -10.5);
    }
}
