//! Number, address and date formatting exactly as classic libntp does it (`fptoa`, `ufptoa`,
//! `lfptoa`, `prettydate`, `modetoa`, `refnumtoa`, printf's `%g`).

use std::net::{IpAddr, Ipv4Addr};

/// `dolfptoa`: `int.frac` (frac in units of 2^-32) with `ndec` decimals, rounded half up on the
/// exact binary value, the way libntp generates digits and then rounds on the remainder.
fn decimal(int: u64, frac: u32, ndec: usize) -> String {
    let pow = 10u128.pow(ndec as u32);
    let scaled = u128::from(frac) * pow;
    let mut digits = scaled >> 32;
    let mut int = u128::from(int);
    if scaled & 0xffff_ffff >= 0x8000_0000 {
        digits += 1;
        if digits == pow {
            digits = 0;
            int += 1;
        }
    }
    if ndec == 0 {
        int.to_string()
    } else {
        format!("{int}.{digits:0ndec$}")
    }
}

/// `lfptoa`: a signed l_fp with `ndec` decimals, always with a sign (`+0.000000`).
pub fn lfptoa(v: u64, ndec: usize) -> String {
    let neg = (v as i64) < 0;
    let mag = if neg { v.wrapping_neg() } else { v };
    let sign = if neg { '-' } else { '+' };
    format!("{sign}{}", decimal(mag >> 32, mag as u32, ndec))
}

/// `fptoa`: a signed 16.16 value, `-` only when negative.
pub fn fptoa(v: i32, ndec: usize) -> String {
    let neg = v < 0;
    let mag = v.unsigned_abs();
    let s = decimal(u64::from(mag >> 16), (mag & 0xffff) << 16, ndec);
    if neg {
        format!("-{s}")
    } else {
        s
    }
}

/// `ufptoa`: an unsigned 16.16 value.
pub fn ufptoa(v: u32, ndec: usize) -> String {
    decimal(u64::from(v >> 16), (v & 0xffff) << 16, ndec)
}

/// printf's `%g` (precision 6) for the kernel values.
pub fn g(v: f64) -> String {
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    if !v.is_finite() {
        return if v.is_nan() {
            "nan".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    // The exponent after rounding to 6 significant digits decides the style.
    let sci = format!("{v:.5e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let mant = strip_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (5 - exp).max(0) as usize;
        strip_zeros(&format!("{v:.decimals$}"))
    }
}

fn strip_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// `modetoa`: association mode names.
pub fn modetoa(mode: u8) -> String {
    const NAMES: [&str; 9] = [
        "unspec",
        "sym_active",
        "sym_passive",
        "client",
        "server",
        "broadcast",
        "control",
        "private",
        "bclient",
    ];
    NAMES
        .get(usize::from(mode))
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("mode#{mode}"))
}

/// True for a reference clock pseudo address (127.127.t.u).
pub fn is_refclock(addr: IpAddr) -> bool {
    matches!(addr, IpAddr::V4(a) if a.octets()[0] == 127 && a.octets()[1] == 127)
}

/// `refnumtoa`: `LOCAL(0)` for 127.127.1.0.
pub fn refnumtoa(addr: Ipv4Addr) -> String {
    let [_, _, t, u] = addr.octets();
    match clock_name(t) {
        Some(name) => format!("{name}({u})"),
        None => format!("REFCLK({t},{u})"),
    }
}

/// libntp's `clktypes[]`: driver number, description (`clockstat`), short name (`refnumtoa`).
const CLKTYPES: &[(u8, &str, &str)] = &[
    (0, "unspecified type (0)", "UNKNOWN"),
    (1, "Undisciplined local clock (1)", "LOCAL"),
    (2, "TRAK 8810 GPS Receiver (2)", "GPS_TRAK"),
    (3, "PSTI/Traconex WWV/WWVH Receiver (3)", "WWV_PST"),
    (4, "Spectracom (generic) Receivers (4)", "SPECTRACOM"),
    (5, "TrueTime (generic) Receivers (5)", "TRUETIME"),
    (6, "IRIG Audio Decoder (6)", "IRIG_AUDIO"),
    (7, "CHU Audio Demodulator/Decoder (7)", "CHU_AUDIO"),
    (8, "Generic reference clock driver (8)", "GENERIC"),
    (9, "Magnavox MX4200 GPS Receiver (9)", "GPS_MX4200"),
    (10, "Austron 2201A GPS Receiver (10)", "GPS_AS2201"),
    (11, "Arbiter 1088A/B GPS Receiver (11)", "GPS_ARBITER"),
    (12, "KSI/Odetics TPRO/S IRIG Interface (12)", "IRIG_TPRO"),
    (
        13,
        "Leitch CSD 5300 Master Clock Controller (13)",
        "ATOM_LEITCH",
    ),
    (14, "EES M201 MSF Receiver (14)", "MSF_EES"),
    (16, "Bancomm GPS/IRIG Receiver (16)", "GPS_BANC"),
    (17, "Datum Precision Time System (17)", "GPS_DATUM"),
    (18, "Automated Computer Time Service (18)", "ACTS_MODEM"),
    (19, "Heath WWV/WWVH Receiver (19)", "WWV_HEATH"),
    (20, "Generic NMEA GPS Receiver (20)", "GPS_NMEA"),
    (21, "TrueTime GPS-VME Interface (21)", "GPS_VME"),
    (22, "PPS Clock Discipline (22)", "PPS"),
    (
        25,
        "GPS disciplined Symmetricom BC635 Board (25)",
        "GPS_SYMM",
    ),
    (26, "HP 58503A GPS Time & Frequency Receiver (26)", "GPS_HP"),
    (27, "ARCRON MSF (and DCF77) Receiver (27)", "MSF_ARCRON"),
    (28, "Clock attached thru shared Memory (28)", "SHM"),
    (29, "Trimble Navigation Palisade GPS (29)", "GPS_PALISADE"),
    (30, "Motorola UT Oncore GPS (30)", "GPS_ONCORE"),
    (31, "Rockwell Jupiter GPS (31)", "GPS_JUPITER"),
    (32, "Chrono-log K (32)", "CHRONOLOG"),
    (33, "Dumb generic hh:mm:ss local clock (33)", "DUMBCLOCK"),
    (34, "Ultralink M320 WWVB receiver (34)", "ULINK_M320"),
    (35, "Conrad parallel port radio clock (35)", "PCF"),
    (36, "WWV/H Audio Demodulator/Decoder (36)", "WWV_AUDIO"),
    (37, "Forum Graphic GPS Dating Station (37)", "GPS_FG"),
    (38, "hopf Elektronic serial line receiver (38)", "HOPF_S"),
    (39, "hopf Elektronic PCI receiver (39)", "HOPF_P"),
    (40, "JJY receiver (40)", "JJY"),
    (41, "TrueTime 560 IRIG-B decoder (41)", "TT_IRIG"),
    (42, "Zyfer GPStarplus receiver (42)", "GPS_ZYFER"),
    (43, "RIPE NCC Trimble driver (43)", "GPS_RIPENCC"),
    (44, "NeoClock4X DCF77 / TDF receiver (44)", "NEOCLK4X"),
    (45, "Spectracom TSYNC PCI timing board (45)", "PCI_TSYNC"),
    (46, "GPSD JSON socket (46)", "GPSD_JSON"),
];

/// `clockname`: the short driver name.
fn clock_name(t: u8) -> Option<&'static str> {
    CLKTYPES.iter().find(|c| c.0 == t).map(|c| c.2)
}

/// The `clock type:` text of `clockstat`.
pub fn clock_type(t: u8) -> String {
    CLKTYPES
        .iter()
        .find(|c| c.0 == t)
        .map(|c| c.1.to_string())
        .unwrap_or_else(|| format!("unknown type ({t})"))
}

/// `refid_string` of ntpdc: text up to the first NUL for stratum 0/1, else a dotted quad.
pub fn refid_string(refid: [u8; 4], stratum: u8) -> String {
    if stratum <= 1 {
        let end = refid.iter().position(|&b| b == 0).unwrap_or(4);
        refid
            .get(..end)
            .unwrap_or(&[])
            .iter()
            .map(|&b| char::from(b))
            .collect()
    } else {
        Ipv4Addr::from(refid).to_string()
    }
}

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
/// NTP seconds to Unix seconds in the era window centred on `pivot_unix` (classic's
/// `ntpcal_ntp_to_time`), through the wire crate's era resolution.
pub fn ntp_to_unix(ntp_secs: u32, pivot_unix: i64) -> i64 {
    ntp_wire::NtpTimestamp::from_parts(ntp_secs, 0)
        .to_unix_with_pivot(pivot_unix - (1i64 << 31))
        .0
}

/// `prettydate`: `eeb22826.8bbcd062  Thu, Nov 26 2026  3:38:14.545` in the local time given by
/// `utc_offset` (seconds east of UTC for that instant), `(no time)` for zero.
pub fn prettydate(ts: u64, pivot_unix: i64, utc_offset: impl Fn(i64) -> i64) -> String {
    if ts == 0 {
        return "(no time)".into();
    }
    let secs = (ts >> 32) as u32;
    let frac = ts as u32;
    let mut msec = frac / 4_294_967;
    let mut ntps = secs;
    if msec >= 1000 {
        msec -= 1000;
        ntps = ntps.wrapping_add(1);
    }
    let unix = ntp_to_unix(ntps, pivot_unix);
    let local = unix + utc_offset(unix);
    let days = local.div_euclid(86_400);
    let sod = local.rem_euclid(86_400);
    let (y, m, d) = ntp_wire::time::civil_from_days(days);
    let wday = (days + 4).rem_euclid(7) as usize;
    format!(
        "{secs:08x}.{frac:08x}  {}, {} {d:2} {y:4} {:2}:{:02}:{:02}.{msec:03}",
        DAYS.get(wday).unwrap_or(&"???"),
        MONTHS.get(m as usize - 1).unwrap_or(&"???"),
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfptoa_always_signs_and_rounds_half_up() {
        assert_eq!(lfptoa(0, 6), "+0.000000");
        assert_eq!(
            lfptoa((-0.000004f64 * 4294967296.0) as i64 as u64, 6),
            "-0.000004"
        );
        assert_eq!(lfptoa(0x8000_0000, 0), "+1");
        assert_eq!(lfptoa(0xffff_ffff, 3), "+1.000");
    }

    #[test]
    fn fptoa_prints_minus_only() {
        assert_eq!(fptoa(0xffff_f334u32 as i32, 6), "-0.049988");
        assert_eq!(fptoa(1, 5), "0.00002");
        assert_eq!(fptoa(0x01f4_0000, 0), "500");
        assert_eq!(ufptoa(0x0000_07fc, 5), "0.03119");
    }

    #[test]
    fn g_matches_printf() {
        assert_eq!(g(0.0), "0");
        assert_eq!(g(16.0), "16");
        assert_eq!(g(1e-6), "1e-06");
        assert_eq!(g(0.000123), "0.000123");
        assert_eq!(g(1234567.0), "1.23457e+06");
        assert_eq!(g(-2.5e-5), "-2.5e-05");
    }

    #[test]
    fn prettydate_formats_the_captured_times() {
        let utc = |_| 0;
        let pivot = 1_795_000_000;
        assert_eq!(
            prettydate(0xeeb2_2826_8bbc_d062, pivot, utc),
            "eeb22826.8bbcd062  Thu, Nov 26 2026  3:38:14.545"
        );
        assert_eq!(prettydate(0, pivot, utc), "(no time)");
        assert_eq!(
            prettydate(0xeeb2_2828_7d84_9775, pivot, |_| 3600),
            "eeb22828.7d849775  Thu, Nov 26 2026  4:38:16.490"
        );
    }

    #[test]
    fn era_follows_the_pivot() {
        assert_eq!(ntp_to_unix(0, 2_200_000_000), 2_085_978_496);
        assert_eq!(
            ntp_to_unix(0xeeb2_2828, 1_795_000_000),
            0xeeb2_2828 - 2_208_988_800
        );
    }

    #[test]
    fn refids_and_refclocks() {
        assert_eq!(refid_string([127, 127, 1, 1], 2), "127.127.1.1");
        assert_eq!(refid_string(*b"GPS\0", 1), "GPS");
        assert_eq!(refnumtoa(Ipv4Addr::new(127, 127, 1, 0)), "LOCAL(0)");
        assert_eq!(refnumtoa(Ipv4Addr::new(127, 127, 15, 2)), "REFCLK(15,2)");
        assert_eq!(clock_type(28), "Clock attached thru shared Memory (28)");
        assert_eq!(clock_type(99), "unknown type (99)");
        assert_eq!(modetoa(3), "client");
        assert_eq!(modetoa(12), "mode#12");
    }
}
