//! Time on the wire: the era-aware 64-bit [`NtpTimestamp`], the signed [`NtpDuration`], the
//! 16.16 [`NtpShort`], the log2 [`PollInterval`] and the 8-bit [`Reach`] register.
//!
//! Era handling: an NTP timestamp carries only seconds modulo 2^32 since 1900-01-01, so era 0
//! ends 2036-02-07 06:28:16 UTC. Turning one into an absolute (Unix) time needs a pivot: we pick
//! the era that puts the result in `[pivot, pivot + 2^32)` seconds. The default pivot,
//! [`DEFAULT_PIVOT_UNIX`] (2024-01-01), keeps every instant from 2024 to 2160 right; a caller that
//! knows better (a build date, as classic ntpd's `tos basedate`) passes its own.
//! Differences between timestamps are era-free: they are taken modulo 2^64 and read as signed,
//! which is correct whenever the two instants are less than 68 years apart.

use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

use crate::{Reader, WireError, Writer};

/// Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01): 0x83AA7E80.
pub const JAN_1970: u64 = 2_208_988_800;

/// The default era pivot, as Unix seconds: 2024-01-01 00:00:00 UTC.
pub const DEFAULT_PIVOT_UNIX: i64 = 1_704_067_200;

const ERA_SECONDS: i64 = 1 << 32;
const NANOS_PER_SEC: u64 = 1_000_000_000;

/// A 64-bit NTP timestamp: 32-bit seconds since 1900 (modulo 2^32) and a 32-bit fraction.
///
/// Zero is special on the wire ("not set"); [`NtpTimestamp::is_zero`] tests for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct NtpTimestamp(u64);

impl NtpTimestamp {
    /// The all-zero timestamp that means "unknown" on the wire.
    pub const ZERO: NtpTimestamp = NtpTimestamp(0);

    /// From the raw 64 bits as they appear on the wire.
    pub const fn from_bits(bits: u64) -> Self {
        NtpTimestamp(bits)
    }

    /// The raw 64 bits.
    pub const fn to_bits(self) -> u64 {
        self.0
    }

    /// From era seconds and fraction.
    pub const fn from_parts(seconds: u32, fraction: u32) -> Self {
        NtpTimestamp(((seconds as u64) << 32) | fraction as u64)
    }

    /// Seconds within the era.
    pub const fn seconds(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// Fraction of a second in units of 2^-32 s.
    pub const fn fraction(self) -> u32 {
        self.0 as u32
    }

    /// True for the "not set" value.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// From Unix time (seconds may be negative, `nanos` < 1e9; larger values are carried).
    pub fn from_unix(secs: i64, nanos: u32) -> Self {
        let secs = secs.wrapping_add((nanos as u64 / NANOS_PER_SEC) as i64);
        let nanos = nanos as u64 % NANOS_PER_SEC;
        let ntp_secs = secs.wrapping_add(JAN_1970 as i64).rem_euclid(ERA_SECONDS) as u64;
        // Round to the nearest fraction unit so that to_unix(from_unix(x)) == x.
        let frac = ((nanos << 32) + NANOS_PER_SEC / 2) / NANOS_PER_SEC;
        NtpTimestamp((ntp_secs << 32).wrapping_add(frac))
    }

    /// From Unix time in seconds as a float (for simulations and tests).
    pub fn from_unix_f64(secs: f64) -> Self {
        let whole = secs.floor();
        let nanos = ((secs - whole) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
        Self::from_unix(whole as i64, nanos)
    }

    /// To Unix time `(seconds, nanoseconds)`, choosing the era that places the result in
    /// `[pivot_unix, pivot_unix + 2^32)`.
    pub fn to_unix_with_pivot(self, pivot_unix: i64) -> (i64, u32) {
        // Unix seconds of this timestamp in era 0, then shift by whole eras towards the pivot.
        let era0 = self.seconds() as i64 - JAN_1970 as i64;
        let eras = (pivot_unix - era0).div_euclid(ERA_SECONDS)
            + i64::from((pivot_unix - era0).rem_euclid(ERA_SECONDS) != 0);
        let secs = era0 + eras * ERA_SECONDS;
        let nanos = ((self.fraction() as u64 * NANOS_PER_SEC + (1 << 31)) >> 32) as u32;
        if nanos >= NANOS_PER_SEC as u32 {
            (secs + 1, 0)
        } else {
            (secs, nanos)
        }
    }

    /// To Unix time with the [`DEFAULT_PIVOT_UNIX`].
    pub fn to_unix(self) -> (i64, u32) {
        self.to_unix_with_pivot(DEFAULT_PIVOT_UNIX)
    }

    /// To Unix seconds as a float with the default pivot.
    pub fn to_unix_f64(self) -> f64 {
        let (s, n) = self.to_unix();
        s as f64 + n as f64 * 1e-9
    }

    /// The signed difference `self - earlier`, era-free (valid within 68 years).
    pub fn duration_since(self, earlier: NtpTimestamp) -> NtpDuration {
        NtpDuration(self.0.wrapping_sub(earlier.0) as i64)
    }

    /// Decode from the wire.
    ///
    /// # Errors
    /// [`WireError::Truncated`] naming `field`.
    pub fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self, WireError> {
        r.u64(field).map(NtpTimestamp)
    }

    /// Encode onto the wire.
    ///
    /// # Errors
    /// [`WireError::BufferTooSmall`].
    pub fn write(self, w: &mut Writer<'_>) -> Result<(), WireError> {
        w.u64(self.0)
    }
}

impl Sub for NtpTimestamp {
    type Output = NtpDuration;
    fn sub(self, rhs: NtpTimestamp) -> NtpDuration {
        self.duration_since(rhs)
    }
}

impl Add<NtpDuration> for NtpTimestamp {
    type Output = NtpTimestamp;
    fn add(self, rhs: NtpDuration) -> NtpTimestamp {
        NtpTimestamp(self.0.wrapping_add(rhs.0 as u64))
    }
}

impl Sub<NtpDuration> for NtpTimestamp {
    type Output = NtpTimestamp;
    fn sub(self, rhs: NtpDuration) -> NtpTimestamp {
        NtpTimestamp(self.0.wrapping_sub(rhs.0 as u64))
    }
}

/// A signed time difference in units of 2^-32 s (a 32.32 fixed-point number of seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct NtpDuration(i64);

impl NtpDuration {
    /// No time.
    pub const ZERO: NtpDuration = NtpDuration(0);
    /// The largest representable duration (about 68 years).
    pub const MAX: NtpDuration = NtpDuration(i64::MAX);
    /// The most negative representable duration.
    pub const MIN: NtpDuration = NtpDuration(i64::MIN);

    /// From raw 2^-32 s units.
    pub const fn from_bits(bits: i64) -> Self {
        NtpDuration(bits)
    }

    /// Raw 2^-32 s units.
    pub const fn to_bits(self) -> i64 {
        self.0
    }

    /// From seconds; saturates outside ±68 years, NaN becomes zero.
    pub fn from_seconds_f64(secs: f64) -> Self {
        // `as` saturates and maps NaN to 0, which is what we want for an untrusted input.
        NtpDuration((secs * 4_294_967_296.0) as i64)
    }

    /// In seconds.
    pub fn to_seconds_f64(self) -> f64 {
        self.0 as f64 / 4_294_967_296.0
    }

    /// From whole seconds (saturating).
    pub fn from_seconds(secs: i64) -> Self {
        NtpDuration(secs.saturating_mul(1 << 32))
    }

    /// From nanoseconds.
    pub fn from_nanos(nanos: i64) -> Self {
        NtpDuration(((nanos as i128 * (1i128 << 32)) / 1_000_000_000) as i64)
    }

    /// The absolute value (saturating at MAX).
    pub fn abs(self) -> Self {
        NtpDuration(self.0.saturating_abs())
    }
}

impl Add for NtpDuration {
    type Output = NtpDuration;
    fn add(self, rhs: Self) -> Self {
        NtpDuration(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for NtpDuration {
    fn add_assign(&mut self, rhs: Self) {
        *self = *self + rhs;
    }
}

impl Sub for NtpDuration {
    type Output = NtpDuration;
    fn sub(self, rhs: Self) -> Self {
        NtpDuration(self.0.saturating_sub(rhs.0))
    }
}

impl SubAssign for NtpDuration {
    fn sub_assign(&mut self, rhs: Self) {
        *self = *self - rhs;
    }
}

impl Neg for NtpDuration {
    type Output = NtpDuration;
    fn neg(self) -> Self {
        NtpDuration(self.0.saturating_neg())
    }
}

/// The 32-bit NTP short format: unsigned 16.16 seconds (root delay, root dispersion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct NtpShort(u32);

impl NtpShort {
    /// Zero seconds.
    pub const ZERO: NtpShort = NtpShort(0);
    /// The largest value (just under 65536 s).
    pub const MAX: NtpShort = NtpShort(u32::MAX);

    /// From the raw 32 bits.
    pub const fn from_bits(bits: u32) -> Self {
        NtpShort(bits)
    }

    /// The raw 32 bits.
    pub const fn to_bits(self) -> u32 {
        self.0
    }

    /// From seconds; negative and NaN become 0, too large saturates.
    pub fn from_seconds_f64(secs: f64) -> Self {
        NtpShort((secs * 65536.0) as u32)
    }

    /// In seconds.
    pub fn to_seconds_f64(self) -> f64 {
        self.0 as f64 / 65536.0
    }

    /// Decode from the wire.
    ///
    /// # Errors
    /// [`WireError::Truncated`] naming `field`.
    pub fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self, WireError> {
        r.u32(field).map(NtpShort)
    }

    /// Encode onto the wire.
    ///
    /// # Errors
    /// [`WireError::BufferTooSmall`].
    pub fn write(self, w: &mut Writer<'_>) -> Result<(), WireError> {
        w.u32(self.0)
    }
}

/// A poll interval as log2 seconds, as carried in the header's poll field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PollInterval(i8);

impl PollInterval {
    /// The smallest poll classic ntpd allows (`NTP_MINPOLL`, 8 s).
    pub const MIN: PollInterval = PollInterval(3);
    /// The largest poll (`NTP_MAXPOLL`, 36.4 h).
    pub const MAX: PollInterval = PollInterval(17);
    /// The default minpoll (`NTP_MINDPOLL`, 64 s).
    pub const DEFAULT_MIN: PollInterval = PollInterval(6);
    /// The default maxpoll (`NTP_MAXDPOLL`, 1024 s).
    pub const DEFAULT_MAX: PollInterval = PollInterval(10);

    /// Any log2 value as found on the wire (not range-checked; see [`PollInterval::new`]).
    pub const fn from_log2(log2: i8) -> Self {
        PollInterval(log2)
    }

    /// A configured poll, checked against [`MIN`](Self::MIN)..=[`MAX`](Self::MAX).
    ///
    /// # Errors
    /// [`WireError::InvalidValue`] when out of range.
    pub fn new(log2: i8) -> Result<Self, WireError> {
        if (Self::MIN.0..=Self::MAX.0).contains(&log2) {
            Ok(PollInterval(log2))
        } else {
            Err(WireError::InvalidValue {
                field: "poll",
                value: log2 as u8 as u64,
                expected: "3..=17",
            })
        }
    }

    /// The log2 value.
    pub const fn log2(self) -> i8 {
        self.0
    }

    /// The interval in seconds.
    pub fn as_seconds_f64(self) -> f64 {
        2f64.powi(self.0 as i32)
    }

    /// This poll clamped to `[lo, hi]`.
    pub fn clamp(self, lo: PollInterval, hi: PollInterval) -> Self {
        PollInterval(self.0.clamp(lo.0, hi.0.max(lo.0)))
    }

    /// One step longer (saturating at [`MAX`](Self::MAX)).
    pub fn inc(self) -> Self {
        PollInterval(self.0.saturating_add(1).min(Self::MAX.0.max(self.0)))
    }

    /// One step shorter (saturating at [`MIN`](Self::MIN)).
    pub fn dec(self) -> Self {
        PollInterval(self.0.saturating_sub(1).max(Self::MIN.0.min(self.0)))
    }
}

/// The 8-bit reachability shift register: bit 0 is the latest poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Reach(u8);

impl Reach {
    /// From the raw register.
    pub const fn from_bits(bits: u8) -> Self {
        Reach(bits)
    }

    /// The raw register (printed in octal by ntpq).
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Shift in the outcome of one poll: `true` when a valid reply came back.
    pub fn shift(&mut self, received: bool) {
        self.0 = (self.0 << 1) | u8::from(received);
    }

    /// Mark the latest poll as answered (a reply arrived after the shift for its poll).
    pub fn mark_received(&mut self) {
        self.0 |= 1;
    }

    /// True when any of the last eight polls was answered.
    pub const fn is_reachable(self) -> bool {
        self.0 != 0
    }

    /// How many of the last eight polls were answered.
    pub const fn count(self) -> u32 {
        self.0.count_ones()
    }
}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`). The one calendar conversion of the suite:
/// log stamps, statistics file names, filestamps and the CLIs' dates all use it.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both are in range by construction (1..=31, 1..=12).
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// (year, month 1..=12, day) to days since 1970-01-01: the inverse of [`civil_from_days`].
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIX_1900: i64 = -(JAN_1970 as i64);
    /// 2036-02-07 06:28:16 UTC, the first second of NTP era 1.
    const UNIX_ERA1: i64 = (1i64 << 32) - JAN_1970 as i64;

    #[test]
    fn unix_epoch_is_jan_1970() {
        let t = NtpTimestamp::from_unix(0, 0);
        assert_eq!(t.seconds() as u64, JAN_1970);
        assert_eq!(t.fraction(), 0);
        assert_eq!(t.to_unix_with_pivot(0), (0, 0));
        // 1970 is before the default pivot, so the same bits read as 2106.
        assert_eq!(t.to_unix(), (1 << 32, 0));
    }

    #[test]
    fn era_rollover_1900_needs_a_pivot_before_it() {
        let t = NtpTimestamp::from_unix(UNIX_1900, 0);
        assert!(t.is_zero());
        assert_eq!(t.to_unix_with_pivot(UNIX_1900), (UNIX_1900, 0));
        // With the default pivot the same bits mean the start of era 1 (2036).
        assert_eq!(t.to_unix(), (UNIX_ERA1, 0));
    }

    #[test]
    fn era_rollover_1968_is_the_top_bit() {
        // 1968-01-20 03:14:08 UTC: NTP seconds 2^31.
        let unix = (1i64 << 31) - JAN_1970 as i64;
        let t = NtpTimestamp::from_unix(unix, 500_000_000);
        assert_eq!(t.seconds(), 1 << 31);
        assert_eq!(t.fraction(), 1 << 31);
        assert_eq!(
            t.to_unix_with_pivot(0 - 3 * 365 * 86400),
            (unix, 500_000_000)
        );
    }

    #[test]
    fn era_rollover_2036_wraps_seconds_and_keeps_differences() {
        let before = NtpTimestamp::from_unix(UNIX_ERA1 - 1, 0);
        let after = NtpTimestamp::from_unix(UNIX_ERA1 + 1, 0);
        assert_eq!(before.seconds(), u32::MAX);
        assert_eq!(after.seconds(), 1);
        assert_eq!(after.to_unix(), (UNIX_ERA1 + 1, 0));
        assert_eq!(before.to_unix(), (UNIX_ERA1 - 1, 0));
        assert_eq!((after - before).to_seconds_f64(), 2.0);
        assert_eq!((before - after).to_seconds_f64(), -2.0);
    }

    #[test]
    fn era_rollover_2104_is_era_1_top_bit_and_era_2() {
        // 2104-02-26 09:42:24 UTC: era 1, seconds 2^31.
        let unix = (1i64 << 32) + (1i64 << 31) - JAN_1970 as i64;
        let t = NtpTimestamp::from_unix(unix, 0);
        assert_eq!(t.seconds(), 1 << 31);
        assert_eq!(t.to_unix(), (unix, 0));
        // Era 2 begins in 2172: needs a later pivot.
        let era2 = (2i64 << 32) - JAN_1970 as i64;
        let t2 = NtpTimestamp::from_unix(era2 + 5, 0);
        assert_eq!(t2.to_unix_with_pivot(era2 - 1000), (era2 + 5, 0));
    }

    #[test]
    fn default_pivot_covers_2024_to_2160() {
        for unix in [
            DEFAULT_PIVOT_UNIX,
            1_800_000_000,
            4_000_000_000,
            5_999_000_000,
        ] {
            assert_eq!(NtpTimestamp::from_unix(unix, 7).to_unix(), (unix, 7));
        }
    }

    #[test]
    fn nanos_round_trip_exactly() {
        for n in [0u32, 1, 499_999_999, 500_000_000, 999_999_999] {
            let t = NtpTimestamp::from_unix(1_800_000_000, n);
            assert_eq!(t.to_unix(), (1_800_000_000, n), "nanos {n}");
        }
    }

    #[test]
    fn duration_arithmetic() {
        let a = NtpTimestamp::from_unix_f64(1_800_000_000.25);
        let d = NtpDuration::from_seconds_f64(-1.5);
        let b = a + d;
        assert!(((b - a).to_seconds_f64() + 1.5).abs() < 1e-9);
        assert_eq!(
            NtpDuration::from_nanos(1_000_000_000),
            NtpDuration::from_seconds(1)
        );
        assert_eq!(NtpDuration::from_seconds_f64(f64::NAN), NtpDuration::ZERO);
        assert_eq!(NtpDuration::MIN.abs(), NtpDuration::MAX);
    }

    #[test]
    fn short_format_saturates_and_clamps() {
        assert_eq!(NtpShort::from_seconds_f64(1.0).to_bits(), 0x10000);
        assert_eq!(NtpShort::from_seconds_f64(-3.0), NtpShort::ZERO);
        assert_eq!(NtpShort::from_seconds_f64(1e9), NtpShort::MAX);
        assert_eq!(NtpShort::from_bits(0x8000).to_seconds_f64(), 0.5);
    }

    #[test]
    fn poll_interval_range_and_steps() {
        assert!(PollInterval::new(2).is_err());
        assert!(PollInterval::new(18).is_err());
        let p = PollInterval::new(6).unwrap();
        assert_eq!(p.as_seconds_f64(), 64.0);
        assert_eq!(PollInterval::MAX.inc(), PollInterval::MAX);
        assert_eq!(PollInterval::MIN.dec(), PollInterval::MIN);
        assert_eq!(
            PollInterval::from_log2(-5).clamp(PollInterval::MIN, p),
            PollInterval::MIN
        );
    }

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_783), (2026, 11, 26));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        for d in [-800_000i64, -1, 0, 59, 60, 20_783, 1_000_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }

    #[test]
    fn reach_register_shifts_left() {
        let mut r = Reach::default();
        for ok in [true, true, false] {
            r.shift(ok);
        }
        assert_eq!(r.bits(), 0b110);
        assert_eq!(r.count(), 2);
        for _ in 0..8 {
            r.shift(false);
        }
        assert!(!r.is_reachable());
        r.mark_received();
        assert_eq!(r.bits(), 1);
    }
}
