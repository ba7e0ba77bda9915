//! Classic fixed-point arithmetic and the text classic prints for it: `l_fp` (32.32, here an
//! `i64`/`u64`), `s_fp`/`u_fp` (16.16), `lfptoa`, `fptoa`, `ufptoa`, `prettydate` and the
//! `humanlogtime` prefix of terminal log lines. ntpdate's filter and selection work in these
//! units, and its output is their decimal rendering, so they are reproduced bit for bit.

use chrono::{DateTime, Datelike, Timelike};
use ntp_wire::NtpTimestamp;

/// One second in `s_fp` units (`FP_SECOND`).
pub const FP_SECOND: i32 = 0x10000;

/// `LFPTOFP`: a 32.32 value to 16.16, dropping the low 16 fraction bits (floor), saturated
/// where the integer part does not fit 16 bits.
pub fn lfp_to_fp(v: i64) -> i32 {
    let s = v >> 16;
    s.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// `10^n` for the decimal widths classic uses (`n` <= 9).
fn pow10(n: usize) -> u128 {
    10u128.pow(n.min(9) as u32)
}

/// Integer and rounded decimal part of an unsigned fixed-point magnitude with `bits`
/// fraction bits, rounded half up at `ndec` decimals (classic `dolfptoa`/`dofptoa`).
fn split(magnitude: u128, bits: u32, ndec: usize) -> (u128, u128) {
    let one = 1u128 << bits;
    let int = magnitude >> bits;
    let frac = magnitude & (one - 1);
    let scale = pow10(ndec);
    let dec = (frac * scale + (one >> 1)) >> bits;
    if dec >= scale {
        (int + 1, dec - scale)
    } else {
        (int, dec)
    }
}

fn render(sign: &str, int: u128, dec: u128, ndec: usize) -> String {
    if ndec == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{dec:0ndec$}")
    }
}

/// `lfptoa(v, ndec)`: a signed 32.32 value with `ndec` decimals, always signed (`+0.000018`).
pub fn lfptoa(v: i64, ndec: usize) -> String {
    let (int, dec) = split(u128::from(v.unsigned_abs()), 32, ndec);
    render(if v < 0 { "-" } else { "+" }, int, dec, ndec)
}

/// `fptoa(v, ndec)`: a signed 16.16 value, `-` only when negative (`0.02570`).
pub fn fptoa(v: i32, ndec: usize) -> String {
    let (int, dec) = split(u128::from(v.unsigned_abs()), 16, ndec);
    render(if v < 0 { "-" } else { "" }, int, dec, ndec)
}

/// `ufptoa(v, ndec)`: an unsigned 16.16 value.
pub fn ufptoa(v: u32, ndec: usize) -> String {
    let (int, dec) = split(u128::from(v), 16, ndec);
    render("", int, dec, ndec)
}

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Broken-down local time: Unix seconds shifted by the zone offset (seconds east of UTC).
struct Civil {
    wday: usize,
    mon: usize,
    mday: u32,
    year: i32,
    hour: u32,
    min: u32,
    sec: u32,
}

fn civil(unix: i64, utc_offset: i32) -> Civil {
    let local = unix.saturating_add(i64::from(utc_offset));
    // Out of chrono's range only for absurd inputs; the epoch is a harmless stand-in.
    let dt = DateTime::from_timestamp(local, 0).unwrap_or_default();
    Civil {
        wday: dt.weekday().num_days_from_sunday() as usize,
        mon: dt.month0() as usize,
        mday: dt.day(),
        year: dt.year(),
        hour: dt.hour(),
        min: dt.minute(),
        sec: dt.second(),
    }
}

/// `prettydate`: `eeb2264f.7d82b2c1  Thu, Nov 26 2026  3:30:23.490` in local time
/// (`offset_of` gives the zone offset for a Unix time), `(no time)` for zero.
pub fn prettydate(ts: NtpTimestamp, offset_of: &dyn Fn(i64) -> i32) -> String {
    if ts.is_zero() {
        return "(no time)".to_string();
    }
    // Milliseconds are truncated, as classic does (fraction / (2^32 / 1000)).
    let mut secs = ts.seconds();
    let mut msec = ts.fraction() / 4_294_967;
    if msec >= 1000 {
        msec -= 1000;
        secs = secs.wrapping_add(1);
    }
    let (unix, _) = NtpTimestamp::from_parts(secs, 0).to_unix();
    let c = civil(unix, offset_of(unix));
    format!(
        "{:08x}.{:08x}  {}, {} {:2} {:4} {:2}:{:02}:{:02}.{:03}",
        ts.seconds(),
        ts.fraction(),
        DAYS[c.wday % 7],
        MONTHS[c.mon % 12],
        c.mday,
        c.year,
        c.hour,
        c.min,
        c.sec,
        msec
    )
}

/// `humanlogtime`: the `26 Nov 03:31:22 ` prefix of a terminal log line (trailing space
/// included).
pub fn humanlogtime(unix: i64, utc_offset: i32) -> String {
    let c = civil(unix, utc_offset);
    format!(
        "{:2} {} {:02}:{:02}:{:02} ",
        c.mday,
        MONTHS[c.mon % 12],
        c.hour,
        c.min,
        c.sec
    )
}

/// `atolfp`: parse `[+-]digits[.digits]` into 32.32 (classic accepts nothing else).
pub fn atolfp(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (int_s, frac_s) = body.split_once('.').unwrap_or((body, ""));
    if int_s.is_empty() && frac_s.is_empty() {
        return None;
    }
    if !int_s
        .bytes()
        .chain(frac_s.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let int: u64 = if int_s.is_empty() {
        0
    } else {
        int_s.parse().ok()?
    };
    if int > u64::from(u32::MAX) {
        return None;
    }
    // Decimal fraction to binary: at most 10 significant digits matter for 32 bits.
    let digits = &frac_s[..frac_s.len().min(10)];
    let frac = if digits.is_empty() {
        0
    } else {
        let num: u128 = digits.parse().ok()?;
        ((num << 32) / pow10(digits.len()).max(1)) as u64
    };
    let mag = (int << 32) | frac;
    let v = mag as i64;
    Some(if neg { v.wrapping_neg() } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(_: i64) -> i32 {
        0
    }

    #[test]
    fn lfptoa_always_carries_a_sign_and_rounds_half_up() {
        assert_eq!(lfptoa(0, 6), "+0.000000");
        assert_eq!(lfptoa(-(1i64 << 31), 6), "-0.500000");
        // 18 us
        assert_eq!(lfptoa(77_309, 6), "+0.000018");
        // 0.9999996 s rounds up into the integer part
        assert_eq!(lfptoa(4_294_965_578, 6), "+1.000000");
    }

    #[test]
    fn fptoa_prints_the_vector_values() {
        assert_eq!(fptoa(1684, 5), "0.02570");
        assert_eq!(fptoa(1683, 5), "0.02568");
        assert_eq!(fptoa(3, 6), "0.000046");
        assert_eq!(ufptoa(0x7a, 6), "0.001862");
        assert_eq!(fptoa(-FP_SECOND, 5), "-1.00000");
    }

    #[test]
    fn lfp_to_fp_floors_towards_minus_infinity() {
        assert_eq!(lfp_to_fp(1 << 16), 1);
        assert_eq!(lfp_to_fp(-1), -1);
        assert_eq!(lfp_to_fp(i64::MAX), i32::MAX);
    }

    #[test]
    fn prettydate_matches_the_classic_layout() {
        let ts = NtpTimestamp::from_bits(0xeeb2_264f_7d82_b2c1);
        assert_eq!(
            prettydate(ts, &utc),
            "eeb2264f.7d82b2c1  Thu, Nov 26 2026  3:30:23.490"
        );
        assert_eq!(prettydate(NtpTimestamp::ZERO, &utc), "(no time)");
    }

    #[test]
    fn humanlogtime_pads_the_day_with_a_space() {
        // 2026-11-08 17:40:59 UTC
        assert_eq!(humanlogtime(1_794_159_659, 0), " 8 Nov 17:40:59 ");
        assert_eq!(humanlogtime(1_794_159_659, 3600), " 8 Nov 18:40:59 ");
    }

    #[test]
    fn atolfp_parses_seconds_and_fractions() {
        assert_eq!(atolfp("2"), Some(2 << 32));
        assert_eq!(atolfp("0.5"), Some(1 << 31));
        assert_eq!(atolfp("-0.5"), Some(-(1 << 31)));
        assert_eq!(atolfp(".25"), Some(1 << 30));
        assert_eq!(atolfp("x"), None);
        assert_eq!(atolfp(""), None);
        assert_eq!(atolfp("1.2.3"), None);
    }
}
