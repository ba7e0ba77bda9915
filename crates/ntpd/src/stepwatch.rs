//! Noticing that someone else stepped the clock (catalogue F10: an administrator's `date -s`,
//! a VM resumed from a snapshot, another time daemon). Real time minus monotonic time
//! (`CLOCK_REALTIME` - `CLOCK_MONOTONIC`) stays constant under frequency corrections and slews,
//! which the kernel applies to both; only a step moves it. So the daemon samples the pair on
//! every wake-up and treats a change beyond a small tolerance, not made by its own step and
//! not the kernel's leap second, as an outside step: the engine then restarts its
//! measurements instead of taking the jump for a network offset.

/// A change of real minus monotonic time below this is reading noise, seconds.
pub const TOLERANCE: f64 = 0.02;

/// The last (monotonic, real) reading and what the daemon expects to see next.
#[derive(Debug, Default, Clone)]
pub struct StepWatch {
    last_gap: Option<f64>,
    /// A leap second is armed in the kernel: a jump of one second is the kernel's own.
    leap_armed: bool,
}

/// What [`StepWatch::observe`] saw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Seen {
    /// Real time moved with monotonic time.
    Steady,
    /// The clock was stepped by about this many seconds, not by us.
    OutsideStep(f64),
    /// The kernel executed the armed leap second (a jump of about one second).
    LeapSecond(f64),
}

impl StepWatch {
    /// Compare the reading `(mono, real)`, both in seconds and read back to back, with the
    /// previous one.
    pub fn observe(&mut self, mono: f64, real: f64) -> Seen {
        let gap = real - mono;
        let seen = match self.last_gap {
            None => Seen::Steady,
            Some(prev) => {
                let jump = gap - prev;
                if !jump.is_finite() || jump.abs() <= TOLERANCE {
                    Seen::Steady
                } else if self.leap_armed && (jump.abs() - 1.0).abs() <= TOLERANCE {
                    self.leap_armed = false;
                    Seen::LeapSecond(jump)
                } else {
                    Seen::OutsideStep(jump)
                }
            }
        };
        self.last_gap = Some(gap);
        seen
    }

    /// The daemon itself just stepped the clock: take the new reading as the reference.
    pub fn stepped_by_us(&mut self, mono: f64, real: f64) {
        self.last_gap = Some(real - mono);
    }

    /// Whether the kernel has a leap second armed (from the status the engine publishes).
    pub fn set_leap_armed(&mut self, armed: bool) {
        self.leap_armed = armed;
    }
}

/// Read monotonic time (seconds since `start`) and real time (Unix seconds) back to back. A
/// pair whose reads were pulled apart by preemption would look like a step, so the pair is
/// taken again when the two monotonic reads around the real-time read differ by more than a
/// millisecond (three tries, then the last pair).
pub fn read_pair(start: std::time::Instant) -> (f64, f64) {
    let mut pair = (0.0, 0.0);
    for _ in 0..3 {
        let m0 = start.elapsed().as_secs_f64();
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let m1 = start.elapsed().as_secs_f64();
        pair = ((m0 + m1) / 2.0, real);
        if m1 - m0 < 1e-3 {
            break;
        }
    }
    pair
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_passing_and_slewing_is_steady() {
        let mut w = StepWatch::default();
        assert_eq!(w.observe(10.0, 1_700_000_010.0), Seen::Steady);
        // An hour later, with the clock slewed by 5 ms on the way.
        assert_eq!(w.observe(3610.0, 1_700_003_610.005), Seen::Steady);
    }

    #[test]
    fn a_jump_of_real_time_against_monotonic_time_is_an_outside_step() {
        let mut w = StepWatch::default();
        w.observe(10.0, 1_700_000_010.0);
        match w.observe(11.0, 1_700_000_011.0 - 3.5) {
            Seen::OutsideStep(d) => assert!((d + 3.5).abs() < 1e-6, "{d}"),
            other => panic!("{other:?}"),
        }
        // The new scale is the reference from then on.
        assert_eq!(w.observe(12.0, 1_700_000_012.0 - 3.5), Seen::Steady);
    }

    #[test]
    fn our_own_step_is_not_reported() {
        let mut w = StepWatch::default();
        w.observe(10.0, 1_700_000_010.0);
        w.stepped_by_us(10.5, 1_700_000_012.5);
        assert_eq!(w.observe(11.0, 1_700_000_013.0), Seen::Steady);
    }

    #[test]
    fn the_kernels_leap_second_is_told_apart_only_when_armed() {
        let mut w = StepWatch::default();
        w.observe(10.0, 1_700_000_010.0);
        assert!(matches!(
            w.observe(11.0, 1_700_000_010.0),
            Seen::OutsideStep(_)
        ));
        let mut w = StepWatch::default();
        w.set_leap_armed(true);
        w.observe(10.0, 1_700_000_010.0);
        assert!(matches!(
            w.observe(11.0, 1_700_000_010.0),
            Seen::LeapSecond(_)
        ));
        // Once only: a second jump is somebody else's.
        assert!(matches!(
            w.observe(12.0, 1_700_000_010.0),
            Seen::OutsideStep(_)
        ));
    }

    #[test]
    fn read_pair_tracks_the_real_clock() {
        let start = std::time::Instant::now();
        let (m, r) = read_pair(start);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!((0.0..1.0).contains(&m), "{m}");
        assert!((now - r).abs() < 1.0, "{r} vs {now}");
    }
}
