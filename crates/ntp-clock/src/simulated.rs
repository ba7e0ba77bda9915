//! A simulated clock: true time against clock time, with a frequency error, random-walk
//! frequency wander from a seeded PRNG, steps, slews executed at a bounded rate like the
//! kernel's `adjtime`, an absolute frequency correction, and leap seconds executed at the
//! end of the UTC day when the status asks for one.

use ntp_core::{Clock, ClockError, ClockStatus, LeapStatus, SplitMix64};
use ntp_wire::{NtpDuration, NtpTimestamp};

/// Largest slew rate, s/s (the kernel's 500 ppm).
pub const MAX_SLEW_RATE: f64 = 500e-6;
/// Largest frequency correction accepted, ppm.
pub const MAX_FREQUENCY: f64 = 500.0;

/// A clock whose error against true time is known exactly.
///
/// True time is `start + elapsed`; the clock reads `start + elapsed + offset`. The offset
/// changes at the rate `error + correction + slew` (all s/s), where `error` performs a
/// random walk of `wander` per square-root second (a step of `wander * N(0,1)` each second).
#[derive(Debug, Clone)]
pub struct SimulatedClock {
    start: NtpTimestamp,
    elapsed: f64,
    offset: f64,
    error: f64,
    wander: f64,
    correction_ppm: f64,
    slew_left: f64,
    next_wander: f64,
    rng: SplitMix64,
    status: ClockStatus,
    leap_armed: bool,
    steps: u64,
    leaps: u64,
}

impl SimulatedClock {
    /// A clock reading `start` at true time `start`, perfect until configured otherwise.
    pub fn new(start: NtpTimestamp, seed: u64) -> Self {
        SimulatedClock {
            start,
            elapsed: 0.0,
            offset: 0.0,
            error: 0.0,
            wander: 0.0,
            correction_ppm: 0.0,
            slew_left: 0.0,
            next_wander: 1.0,
            rng: SplitMix64::new(seed),
            status: ClockStatus::default(),
            leap_armed: false,
            steps: 0,
            leaps: 0,
        }
    }

    /// Set the initial offset (clock minus true time), seconds.
    pub fn with_offset(mut self, offset: f64) -> Self {
        self.offset = offset;
        self
    }

    /// Set the oscillator's frequency error, ppm (positive: runs fast).
    pub fn with_frequency_error(mut self, ppm: f64) -> Self {
        self.error = ppm * 1e-6;
        self
    }

    /// Set the random-walk wander: standard deviation of the frequency change per second,
    /// s/s (1e-9 is a good oscillator, 1e-8 a poor one).
    pub fn with_wander(mut self, per_second: f64) -> Self {
        self.wander = per_second;
        self
    }

    /// Seconds of true time since the start.
    pub fn elapsed(&self) -> f64 {
        self.elapsed
    }

    /// True time now.
    pub fn true_time(&self) -> NtpTimestamp {
        self.start + NtpDuration::from_seconds_f64(self.elapsed)
    }

    /// Clock minus true time, seconds.
    pub fn offset(&self) -> f64 {
        self.offset
    }

    /// The oscillator's own frequency error now, ppm.
    pub fn frequency_error(&self) -> f64 {
        self.error * 1e6
    }

    /// Steps applied so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Leap seconds executed so far.
    pub fn leaps(&self) -> u64 {
        self.leaps
    }

    /// The last status set.
    pub fn status(&self) -> ClockStatus {
        self.status
    }

    /// Let `dt` seconds of true time pass.
    pub fn advance(&mut self, dt: f64) {
        let mut left = dt.max(0.0);
        while left > 0.0 {
            // Integrate piecewise: up to the next wander tick or the end of the slew.
            let to_tick = self.next_wander - self.elapsed;
            let mut h = left.min(to_tick.max(0.0));
            let slew_rate = if self.slew_left != 0.0 {
                let r = MAX_SLEW_RATE.copysign(self.slew_left);
                h = h.min(self.slew_left / r);
                r
            } else {
                0.0
            };
            let before = self.clock_seconds();
            self.offset += h * (self.error + self.correction_ppm * 1e-6 + slew_rate);
            if slew_rate != 0.0 {
                self.slew_left -= h * slew_rate;
                if self.slew_left.abs() < 1e-15 {
                    self.slew_left = 0.0;
                }
            }
            self.elapsed += h;
            left -= h;
            if self.elapsed >= self.next_wander - 1e-12 {
                self.error += self.wander * self.rng.next_gaussian();
                self.next_wander += 1.0;
            }
            self.maybe_leap(before);
            if h == 0.0 && slew_rate == 0.0 && to_tick > 0.0 {
                break;
            }
        }
    }

    fn clock_seconds(&self) -> f64 {
        let (s, n) =
            (self.start + NtpDuration::from_seconds_f64(self.elapsed + self.offset)).to_unix();
        s as f64 + n as f64 * 1e-9
    }

    /// Execute an armed leap second when the clock crosses midnight UTC.
    fn maybe_leap(&mut self, before: f64) {
        if !self.leap_armed {
            return;
        }
        let after = self.clock_seconds();
        let day = |t: f64| (t / 86_400.0).floor();
        if day(after) > day(before) {
            match self.status.leap {
                LeapStatus::Insert => self.offset -= 1.0,
                LeapStatus::Delete => self.offset += 1.0,
                LeapStatus::None => {}
            }
            self.leaps += 1;
            self.leap_armed = false;
        }
    }

    fn check(what: &'static str, v: f64, lim: f64) -> Result<(), ClockError> {
        if v.is_finite() && v.abs() <= lim {
            Ok(())
        } else {
            Err(ClockError::OutOfRange { what, value: v })
        }
    }
}

impl Clock for SimulatedClock {
    fn now(&self) -> Result<NtpTimestamp, ClockError> {
        Ok(self.start + NtpDuration::from_seconds_f64(self.elapsed + self.offset))
    }

    fn step(&mut self, offset: NtpDuration) -> Result<(), ClockError> {
        self.offset += offset.to_seconds_f64();
        self.slew_left = 0.0;
        self.steps += 1;
        Ok(())
    }

    fn slew(&mut self, offset: NtpDuration) -> Result<(), ClockError> {
        let s = offset.to_seconds_f64();
        Self::check("slew", s, 0.5)?;
        self.slew_left = s;
        Ok(())
    }

    fn set_frequency(&mut self, ppm: f64) -> Result<(), ClockError> {
        Self::check("frequency", ppm, MAX_FREQUENCY)?;
        self.correction_ppm = ppm;
        Ok(())
    }

    fn frequency(&self) -> Result<f64, ClockError> {
        Ok(self.correction_ppm)
    }

    fn set_status(&mut self, status: &ClockStatus) -> Result<(), ClockError> {
        // Like the kernel: a leap is armed by a transition to insert/delete and executed
        // once; it is re-armed only after the status went back to none.
        if status.leap != LeapStatus::None && self.status.leap == LeapStatus::None {
            self.leap_armed = true;
        }
        if status.leap == LeapStatus::None {
            self.leap_armed = false;
        }
        self.status = *status;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> NtpTimestamp {
        NtpTimestamp::from_unix(1_800_000_000, 0)
    }

    #[test]
    fn frequency_error_and_correction_accumulate_offset() {
        let mut c = SimulatedClock::new(start(), 1).with_frequency_error(100.0);
        c.advance(10.0);
        assert!((c.offset() - 1e-3).abs() < 1e-12);
        c.set_frequency(-100.0).unwrap();
        c.advance(10.0);
        assert!((c.offset() - 1e-3).abs() < 1e-12);
        let read = c.now().unwrap() - c.true_time();
        assert!((read.to_seconds_f64() - 1e-3).abs() < 1e-9);
    }

    #[test]
    fn slew_runs_at_500_ppm_and_stops() {
        let mut c = SimulatedClock::new(start(), 1);
        c.slew(NtpDuration::from_seconds_f64(0.01)).unwrap();
        c.advance(10.0);
        assert!((c.offset() - 0.005).abs() < 1e-9, "{}", c.offset());
        c.advance(100.0);
        assert!((c.offset() - 0.01).abs() < 1e-9);
        assert!(c.slew(NtpDuration::from_seconds(2)).is_err());
        assert!(c.set_frequency(600.0).is_err());
        assert!(c.set_frequency(f64::NAN).is_err());
    }

    #[test]
    fn steps_move_the_clock_at_once() {
        let mut c = SimulatedClock::new(start(), 1).with_offset(-3.0);
        c.step(NtpDuration::from_seconds(3)).unwrap();
        assert_eq!(c.offset(), 0.0);
        assert_eq!(c.steps(), 1);
    }

    #[test]
    fn wander_is_a_seeded_random_walk() {
        let run = |seed| {
            let mut c = SimulatedClock::new(start(), seed).with_wander(1e-8);
            c.advance(10_000.0);
            c.frequency_error()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
        // 1e-8 per sqrt(s) over 1e4 s: about 1e-6 (1 ppm) RMS
        let rms = ((0..20).map(|s| run(s).powi(2)).sum::<f64>() / 20.0).sqrt();
        assert!(rms > 0.4 && rms < 2.0, "{rms}");
    }

    #[test]
    fn armed_leap_second_is_inserted_once_at_midnight() {
        // 1_800_057_600 is a midnight UTC (divisible by 86400).
        let mut c = SimulatedClock::new(NtpTimestamp::from_unix(1_800_057_590, 0), 1);
        c.set_status(&ClockStatus {
            leap: LeapStatus::Insert,
            synchronized: true,
            ..ClockStatus::default()
        })
        .unwrap();
        c.advance(20.0);
        assert_eq!(c.leaps(), 1);
        assert!((c.offset() + 1.0).abs() < 1e-12);
        c.advance(86_400.0);
        assert_eq!(c.leaps(), 1, "not repeated the next day");
    }
}
