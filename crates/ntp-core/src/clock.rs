//! The clock boundary: the [`Clock`] trait that drivers implement and the [`ClockAction`]
//! values the engine returns (RFC 5905 section 12, "clock adjust process", as data).
//!
//! Sign conventions, used everywhere in the suite: an offset is `reference - local`, so a
//! positive offset means the local clock is behind and must be advanced; a positive frequency
//! (in ppm) makes the clock run faster.

use ntp_wire::{NtpDuration, NtpTimestamp};

/// Why a clock operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClockError {
    /// The operating system refused the call (`errno` as returned).
    #[error("{op} failed: errno {errno}")]
    Os {
        /// The operation (`clock_gettime`, `clock_adjtime`, ...).
        op: &'static str,
        /// The OS error number.
        errno: i32,
    },
    /// The process lacks the privilege (CAP_SYS_TIME) to change the clock.
    #[error("{op}: permission denied (CAP_SYS_TIME needed)")]
    PermissionDenied {
        /// The operation.
        op: &'static str,
    },
    /// A value is outside what the driver accepts (frequency beyond ±500 ppm, NaN...).
    #[error("{what} out of range: {value}")]
    OutOfRange {
        /// What was out of range.
        what: &'static str,
        /// The value that was refused.
        value: f64,
    },
    /// The driver does not support the operation.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
}

/// The leap second the clock should execute at the end of the current UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeapStatus {
    /// No leap second pending.
    #[default]
    None,
    /// Insert a second (23:59:60).
    Insert,
    /// Delete a second (23:59:59 is skipped).
    Delete,
}

/// Status the engine publishes to the clock (the kernel's `time_status`, `esterror`,
/// `maxerror`), read by other programs through `adjtimex`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ClockStatus {
    /// Pending leap second.
    pub leap: LeapStatus,
    /// True when the clock is synchronised to a source (clears `STA_UNSYNC`).
    pub synchronized: bool,
    /// Estimated error, seconds.
    pub est_error: f64,
    /// Maximum error, seconds.
    pub max_error: f64,
}

/// A clock the engine's decisions are applied to: the kernel clock or a simulated one.
pub trait Clock {
    /// The current reading as an NTP timestamp.
    ///
    /// # Errors
    /// [`ClockError::Os`] when the clock cannot be read.
    fn now(&self) -> Result<NtpTimestamp, ClockError>;

    /// Jump the clock by `offset` (positive: forward).
    ///
    /// # Errors
    /// [`ClockError::PermissionDenied`] without the privilege, [`ClockError::Os`] otherwise.
    fn step(&mut self, offset: NtpDuration) -> Result<(), ClockError>;

    /// Correct `offset` gradually (positive: advance), replacing any slew in progress.
    ///
    /// # Errors
    /// [`ClockError::OutOfRange`] when the driver cannot slew that much,
    /// [`ClockError::PermissionDenied`] or [`ClockError::Os`].
    fn slew(&mut self, offset: NtpDuration) -> Result<(), ClockError>;

    /// Set the frequency correction in ppm (absolute, not incremental; positive: faster).
    ///
    /// # Errors
    /// [`ClockError::OutOfRange`] for NaN or beyond the driver's limit (±500 ppm),
    /// [`ClockError::PermissionDenied`] or [`ClockError::Os`].
    fn set_frequency(&mut self, ppm: f64) -> Result<(), ClockError>;

    /// The frequency correction currently in effect, ppm.
    ///
    /// # Errors
    /// [`ClockError::Os`] when it cannot be read.
    fn frequency(&self) -> Result<f64, ClockError>;

    /// Publish synchronisation status, leap bits and error estimates.
    ///
    /// # Errors
    /// [`ClockError::PermissionDenied`] or [`ClockError::Os`].
    fn set_status(&mut self, status: &ClockStatus) -> Result<(), ClockError>;
}

/// A clock change decided by the engine, applied by [`ClockAction::apply`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClockAction {
    /// Jump by this offset.
    Step(NtpDuration),
    /// Slew this offset out gradually.
    Slew(NtpDuration),
    /// Set the absolute frequency correction, ppm.
    SetFrequency(f64),
    /// Publish status.
    SetStatus(ClockStatus),
}

impl ClockAction {
    /// Carry the decision out on `clock`.
    ///
    /// # Errors
    /// Whatever the driver's operation returns.
    pub fn apply(&self, clock: &mut impl Clock) -> Result<(), ClockError> {
        match self {
            ClockAction::Step(d) => clock.step(*d),
            ClockAction::Slew(d) => clock.slew(*d),
            ClockAction::SetFrequency(ppm) => clock.set_frequency(*ppm),
            ClockAction::SetStatus(s) => clock.set_status(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Recorder {
        stepped: Vec<NtpDuration>,
        freq: f64,
        status: Option<ClockStatus>,
    }

    impl Clock for Recorder {
        fn now(&self) -> Result<NtpTimestamp, ClockError> {
            Ok(NtpTimestamp::ZERO)
        }
        fn step(&mut self, offset: NtpDuration) -> Result<(), ClockError> {
            self.stepped.push(offset);
            Ok(())
        }
        fn slew(&mut self, _offset: NtpDuration) -> Result<(), ClockError> {
            Err(ClockError::Unsupported("slew"))
        }
        fn set_frequency(&mut self, ppm: f64) -> Result<(), ClockError> {
            self.freq = ppm;
            Ok(())
        }
        fn frequency(&self) -> Result<f64, ClockError> {
            Ok(self.freq)
        }
        fn set_status(&mut self, status: &ClockStatus) -> Result<(), ClockError> {
            self.status = Some(*status);
            Ok(())
        }
    }

    #[test]
    fn apply_dispatches_each_action_to_the_matching_call() {
        let mut c = Recorder::default();
        ClockAction::Step(NtpDuration::from_seconds(2))
            .apply(&mut c)
            .unwrap();
        ClockAction::SetFrequency(12.5).apply(&mut c).unwrap();
        let st = ClockStatus {
            leap: LeapStatus::Insert,
            synchronized: true,
            est_error: 1e-3,
            max_error: 0.1,
        };
        ClockAction::SetStatus(st).apply(&mut c).unwrap();
        assert_eq!(c.stepped, vec![NtpDuration::from_seconds(2)]);
        assert_eq!(c.frequency().unwrap(), 12.5);
        assert_eq!(c.status, Some(st));
        assert_eq!(
            ClockAction::Slew(NtpDuration::ZERO).apply(&mut c),
            Err(ClockError::Unsupported("slew"))
        );
    }
}
