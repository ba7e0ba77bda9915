//! The Linux kernel clock: `clock_gettime(CLOCK_REALTIME)` to read, `clock_adjtime` to step,
//! slew, set the frequency, the status bits (leap insert/delete, unsynchronised, PLL) and the
//! error estimates. The only module of the suite that uses `unsafe`, each block a single FFI
//! call on a local, fully initialised struct.
#![allow(unsafe_code)]
// timex/timespec field widths differ between targets; the casts are not redundant everywhere.
#![allow(clippy::unnecessary_cast)]

use ntp_core::{Clock, ClockError, ClockStatus, LeapStatus};
use ntp_wire::{NtpDuration, NtpTimestamp};

/// The kernel's frequency unit: ppm scaled by 2^16.
const SCALED_PPM: f64 = 65_536.0;
/// Largest frequency the kernel accepts, ppm.
const MAX_FREQ_PPM: f64 = 500.0;
/// Largest single-shot slew we ask for, seconds.
const MAX_SLEW: f64 = 0.5;

/// The kernel's view of the clock discipline, read with `clock_adjtime` modes 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelStatus {
    /// Frequency correction, ppm.
    pub frequency: f64,
    /// Remaining PLL offset, seconds.
    pub offset: f64,
    /// Estimated error, seconds.
    pub est_error: f64,
    /// Maximum error, seconds.
    pub max_error: f64,
    /// The `time_status` bits (STA_*).
    pub status: i32,
    /// PLL time constant.
    pub constant: i64,
    /// The kernel clock state (TIME_OK, TIME_INS, ... TIME_ERROR) returned by the call.
    pub state: i32,
    /// True when the kernel PLL disciplines the clock (STA_PLL).
    pub pll: bool,
    /// True when the kernel says the clock is unsynchronised (STA_UNSYNC).
    pub unsynchronized: bool,
}

/// The system clock (`CLOCK_REALTIME`).
#[derive(Debug, Default)]
pub struct KernelClock {
    _private: (),
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn os_error(op: &'static str) -> ClockError {
    match errno() {
        libc::EPERM => ClockError::PermissionDenied { op },
        e => ClockError::Os { op, errno: e },
    }
}

/// Run the calling thread (and the threads it creates afterwards) under `SCHED_FIFO`, as
/// classic ntpd's `-N`/`-P` do (`set_process_priority` in ntpd.c): at the highest FIFO
/// priority, or at `priority` clamped to the FIFO range when given. Returns the priority set.
/// Lives here because it is the daemon's other timing-critical kernel call and this is the one
/// module allowed `unsafe`.
///
/// # Errors
/// The OS error of `sched_setscheduler` (EPERM without CAP_SYS_NICE or under an RT limit).
pub fn set_realtime_priority(priority: Option<i32>) -> std::io::Result<i32> {
    // SAFETY: plain integer arguments, no memory involved.
    let (min, max) = unsafe {
        (
            libc::sched_get_priority_min(libc::SCHED_FIFO),
            libc::sched_get_priority_max(libc::SCHED_FIFO),
        )
    };
    if min < 0 || max < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let wanted = priority.map_or(max, |p| p.clamp(min, max));
    let param = libc::sched_param {
        sched_priority: wanted,
    };
    // SAFETY: `param` is a fully initialised local that outlives the call; pid 0 is the caller.
    let r = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
    if r == -1 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(wanted)
}

fn zeroed_timex() -> libc::timex {
    // SAFETY: timex is a plain C struct of integers; all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

impl KernelClock {
    /// The system clock.
    pub fn new() -> Self {
        KernelClock { _private: () }
    }

    fn adjtime(op: &'static str, tx: &mut libc::timex) -> Result<i32, ClockError> {
        // SAFETY: `tx` is a valid, exclusive pointer to an initialised timex for the call.
        let r = unsafe { libc::clock_adjtime(libc::CLOCK_REALTIME, tx) };
        if r < 0 {
            Err(os_error(op))
        } else {
            Ok(r)
        }
    }

    /// Read the kernel's discipline state without changing anything (modes = 0).
    ///
    /// # Errors
    /// [`ClockError::Os`] when the call fails.
    pub fn status(&self) -> Result<KernelStatus, ClockError> {
        let mut tx = zeroed_timex();
        let state = Self::adjtime("clock_adjtime", &mut tx)?;
        let nano = tx.status & libc::STA_NANO != 0;
        Ok(KernelStatus {
            frequency: tx.freq as f64 / SCALED_PPM,
            offset: tx.offset as f64 * if nano { 1e-9 } else { 1e-6 },
            est_error: tx.esterror as f64 * 1e-6,
            max_error: tx.maxerror as f64 * 1e-6,
            status: tx.status,
            constant: tx.constant as i64,
            state,
            pll: tx.status & libc::STA_PLL != 0,
            unsynchronized: tx.status & libc::STA_UNSYNC != 0,
        })
    }

    /// Turn the kernel PLL on (the kernel then disciplines the clock from offsets passed to
    /// [`KernelClock::kernel_offset`]) or off (our own discipline via the frequency).
    ///
    /// # Errors
    /// [`ClockError::PermissionDenied`] or [`ClockError::Os`].
    pub fn set_kernel_pll(&mut self, on: bool) -> Result<(), ClockError> {
        let cur = self.status()?.status;
        let mut tx = zeroed_timex();
        tx.modes = libc::ADJ_STATUS;
        tx.status = if on {
            cur | libc::STA_PLL
        } else {
            cur & !libc::STA_PLL
        };
        Self::adjtime("clock_adjtime(ADJ_STATUS)", &mut tx).map(drop)
    }

    /// Hand an offset to the kernel PLL (`ADJ_OFFSET` in nanoseconds) with time constant
    /// `constant` (classic passes poll - 4).
    ///
    /// # Errors
    /// [`ClockError::OutOfRange`] beyond ±0.5 s, [`ClockError::PermissionDenied`] or
    /// [`ClockError::Os`].
    pub fn kernel_offset(&mut self, offset: f64, constant: i64) -> Result<(), ClockError> {
        if !(offset.is_finite() && offset.abs() <= MAX_SLEW) {
            return Err(ClockError::OutOfRange {
                what: "kernel PLL offset",
                value: offset,
            });
        }
        let cur = self.status()?.status;
        let mut tx = zeroed_timex();
        tx.modes = libc::ADJ_OFFSET | libc::ADJ_NANO | libc::ADJ_STATUS | libc::ADJ_TIMECONST;
        tx.status = cur | libc::STA_PLL | libc::STA_NANO;
        tx.offset = (offset * 1e9) as _;
        tx.constant = constant.clamp(0, 10) as _;
        Self::adjtime("clock_adjtime(ADJ_OFFSET)", &mut tx).map(drop)
    }
}

impl Clock for KernelClock {
    fn now(&self) -> Result<NtpTimestamp, ClockError> {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, exclusive pointer for the duration of the call.
        let r = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
        if r < 0 {
            return Err(os_error("clock_gettime"));
        }
        Ok(NtpTimestamp::from_unix(ts.tv_sec as i64, ts.tv_nsec as u32))
    }

    fn step(&mut self, offset: NtpDuration) -> Result<(), ClockError> {
        // ADJ_SETOFFSET with ADJ_NANO: time.tv_sec + time.tv_usec (ns), tv_usec in [0, 1e9).
        let bits = offset.to_bits();
        let secs = bits.div_euclid(1 << 32);
        let frac = bits.rem_euclid(1 << 32) as u64;
        let mut tx = zeroed_timex();
        tx.modes = libc::ADJ_SETOFFSET | libc::ADJ_NANO;
        tx.time.tv_sec = secs as _;
        tx.time.tv_usec = ((frac * 1_000_000_000) >> 32) as _;
        Self::adjtime("clock_adjtime(ADJ_SETOFFSET)", &mut tx).map(drop)
    }

    fn slew(&mut self, offset: NtpDuration) -> Result<(), ClockError> {
        let s = offset.to_seconds_f64();
        if !(s.is_finite() && s.abs() <= MAX_SLEW) {
            return Err(ClockError::OutOfRange {
                what: "slew",
                value: s,
            });
        }
        let mut tx = zeroed_timex();
        // adjtime()-style: the kernel slews at 500 ppm; the offset is in microseconds.
        tx.modes = libc::ADJ_OFFSET_SINGLESHOT as _;
        tx.offset = (s * 1e6).round() as _;
        Self::adjtime("clock_adjtime(ADJ_OFFSET_SINGLESHOT)", &mut tx).map(drop)
    }

    fn set_frequency(&mut self, ppm: f64) -> Result<(), ClockError> {
        if !(ppm.is_finite() && ppm.abs() <= MAX_FREQ_PPM) {
            return Err(ClockError::OutOfRange {
                what: "frequency",
                value: ppm,
            });
        }
        let mut tx = zeroed_timex();
        tx.modes = libc::ADJ_FREQUENCY;
        tx.freq = (ppm * SCALED_PPM).round() as _;
        Self::adjtime("clock_adjtime(ADJ_FREQUENCY)", &mut tx).map(drop)
    }

    fn frequency(&self) -> Result<f64, ClockError> {
        Ok(self.status()?.frequency)
    }

    fn set_status(&mut self, status: &ClockStatus) -> Result<(), ClockError> {
        let cur = self.status()?.status;
        let mut bits = cur & !(libc::STA_INS | libc::STA_DEL | libc::STA_UNSYNC);
        match status.leap {
            LeapStatus::Insert => bits |= libc::STA_INS,
            LeapStatus::Delete => bits |= libc::STA_DEL,
            LeapStatus::None => {}
        }
        if !status.synchronized {
            bits |= libc::STA_UNSYNC;
        }
        let us = |s: f64| (s.clamp(0.0, 16.0) * 1e6) as i64;
        let mut tx = zeroed_timex();
        tx.modes = libc::ADJ_STATUS | libc::ADJ_ESTERROR | libc::ADJ_MAXERROR;
        tx.status = bits;
        tx.esterror = us(status.est_error) as _;
        tx.maxerror = us(status.max_error) as _;
        Self::adjtime("clock_adjtime(ADJ_STATUS)", &mut tx).map(drop)
    }
}

#[cfg(test)]
mod tests {
    //! These tests only READ the host clock; nothing here may change it.
    use super::*;

    #[test]
    fn now_reads_the_realtime_clock() {
        let c = KernelClock::new();
        let a = c.now().unwrap();
        let sys = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        let b = NtpTimestamp::from_unix(sys.as_secs() as i64, sys.subsec_nanos());
        assert!((b - a).to_seconds_f64().abs() < 1.0);
        let later = c.now().unwrap();
        assert!((later - a).to_seconds_f64() >= 0.0);
    }

    #[test]
    fn status_read_with_modes_zero_is_within_kernel_limits() {
        let c = KernelClock::new();
        let s = c.status().unwrap();
        assert!(s.frequency.abs() <= 512.0, "{s:?}");
        assert!((0..=5).contains(&s.state), "{s:?}");
        assert_eq!(c.frequency().unwrap(), s.frequency);
    }

    #[test]
    fn out_of_range_requests_are_refused_before_any_system_call() {
        let mut c = KernelClock::new();
        assert!(matches!(
            c.set_frequency(600.0),
            Err(ClockError::OutOfRange { .. })
        ));
        assert!(matches!(
            c.set_frequency(f64::NAN),
            Err(ClockError::OutOfRange { .. })
        ));
        assert!(matches!(
            c.slew(NtpDuration::from_seconds(3)),
            Err(ClockError::OutOfRange { .. })
        ));
        assert!(matches!(
            c.kernel_offset(1.0, 4),
            Err(ClockError::OutOfRange { .. })
        ));
    }
}
