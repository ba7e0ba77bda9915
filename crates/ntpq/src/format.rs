//! Text conversions of classic ntpq and libntp: `prettydate`, `prettyinterval`, `lfptoms`,
//! `refnumtoa`, `refid_str`, `statustoa`-style helpers, address parsing (`decodenetnum`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use ntp_wire::NtpTimestamp;

/// Seconds from 1900 (NTP epoch) to 1970 (Unix epoch).
const JAN_1970: i64 = 2_208_988_800;

/// ntpq's `decodenetnum`: `a.b.c.d`, `a.b.c.d:port`, `[v6]:port`, `[v6]` or a bare IPv6
/// address; the port defaults to 123.
pub fn parse_netnum(text: &str) -> Option<SocketAddr> {
    if let Ok(sa) = text.parse::<SocketAddr>() {
        return Some(sa);
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return inner
            .parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, 123));
    }
    text.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, 123))
}

/// libntp `stoa`: the address without port.
pub fn stoa(addr: &SocketAddr) -> String {
    addr.ip().to_string()
}

/// libntp `sptoa`: `a.b.c.d:port` or `[v6]:port`.
pub fn sptoa(addr: &SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) => format!("{ip}:{}", addr.port()),
        IpAddr::V6(ip) => format!("[{ip}]:{}", addr.port()),
    }
}

/// `ISREFCLOCKADR`: an IPv4 address 127.127.t.u.
pub fn is_refclock(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V4(v4) if v4.octets()[0] == 127 && v4.octets()[1] == 127)
}

/// Short refclock driver names by type (libntp `clktypes[]`); `None` for unused types.
fn clock_name(kind: u8) -> Option<&'static str> {
    const NAMES: [&str; 47] = [
        "UNKNOWN",
        "LOCAL",
        "GPS_TRAK",
        "WWV_PST",
        "SPECTRACOM",
        "TRUETIME",
        "IRIG_AUDIO",
        "CHU_AUDIO",
        "GENERIC",
        "GPS_MX4200",
        "GPS_AS2201",
        "GPS_ARBITER",
        "IRIG_TPRO",
        "ATOM_LEITCH",
        "MSF_EES",
        "",
        "GPS_BANC",
        "GPS_DATUM",
        "ACTS_MODEM",
        "WWV_HEATH",
        "GPS_NMEA",
        "GPS_VME",
        "PPS",
        "",
        "",
        "",
        "GPS_HP",
        "MSF_ARCRON",
        "SHM",
        "GPS_PALISADE",
        "GPS_ONCORE",
        "GPS_JUPITER",
        "CHRONOLOG",
        "DUMBCLOCK",
        "ULINK_M3xx",
        "PCF",
        "WWV_AUDIO",
        "GPS_FG",
        "HOPF_S",
        "HOPF_P",
        "JJY",
        "TT_IRIG",
        "GPS_ZYFER",
        "GPS_RIPENCC",
        "NEOCLK4X",
        "PCI_TSYNC",
        "GPSD_JSON",
    ];
    NAMES
        .get(usize::from(kind))
        .copied()
        .filter(|n| !n.is_empty())
}

/// libntp `refnumtoa`: `127.127.t.u` → `NAME(u)` (or `REFCLK(t,u)`); other addresses as
/// `stoa`.
pub fn refnumtoa(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) if is_refclock(ip) => {
            let [_, _, t, u] = v4.octets();
            match clock_name(t) {
                Some(name) => format!("{name}({u})"),
                None => format!("REFCLK({t},{u})"),
            }
        }
        other => other.to_string(),
    }
}

/// libntp `refid_str(refid, 1)` for a text refid of up to 4 octets: `.XXXX.` with
/// non-graphic characters as `?`.
pub fn refid_dots(text: &str) -> String {
    let mut out = String::from(".");
    for b in text.bytes().take(4) {
        if b == 0 {
            break;
        }
        out.push(if b.is_ascii_graphic() { b as char } else { '?' });
    }
    out.push('.');
    out
}

/// ntpq's `prettyinterval`.
pub fn pretty_interval(diff: i64) -> String {
    if diff <= 0 {
        return "-".to_owned();
    }
    if diff <= 2048 {
        return diff.to_string();
    }
    let m = (diff + 29) / 60;
    if m <= 300 {
        return format!("{m}m");
    }
    let h = (m + 29) / 60;
    if h <= 96 {
        return format!("{h}h");
    }
    let d = (h + 11) / 24;
    if d <= 999 {
        return format!("{d}d");
    }
    let y = (d as f64 / 365.25 + 0.5).floor() as i64;
    if y <= 999 {
        return format!("{y}y");
    }
    "INF".to_owned()
}

/// ntpq's `decodetime` followed by `lfptoms`/`ulfptoms`: a millisecond value as text
/// (or an `0x` l_fp) re-printed with `decimals` decimals; `signed` adds `+` to values that
/// are not negative. `None` when the text is not a number.
pub fn ms_text(value: &str, decimals: usize, signed: bool) -> Option<String> {
    if value.starts_with("0x") || value.starts_with("0X") {
        let ts = ntp_control::mode6::client::parse_hex_timestamp(value)?;
        // An l_fp of seconds, printed in milliseconds.
        let bits = ts.to_bits() as i64;
        let ms = bits as f64 / 4_294_967_296.0 * 1000.0;
        return Some(fixed(ms, decimals, signed));
    }
    let (neg, body) = match value.as_bytes().first() {
        Some(b'-') => (true, value.get(1..)?),
        Some(b'+') => (false, value.get(1..)?),
        _ => (false, value),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Exact decimal rounding (half up) of the text to `decimals` places.
    let mut digits: Vec<u8> = int.bytes().map(|b| b - b'0').collect();
    let mut fdigits: Vec<u8> = frac.bytes().map(|b| b - b'0').collect();
    let round_up = fdigits.get(decimals).is_some_and(|&d| d >= 5);
    fdigits.resize(decimals, 0);
    digits.extend_from_slice(&fdigits);
    if round_up {
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, 1);
                break;
            }
            i -= 1;
            if let Some(d) = digits.get_mut(i) {
                if *d == 9 {
                    *d = 0;
                } else {
                    *d += 1;
                    break;
                }
            }
        }
    }
    let split = digits.len() - decimals;
    let mut ipart: String = digits
        .get(..split)
        .unwrap_or_default()
        .iter()
        .map(|d| char::from(b'0' + d))
        .collect();
    let ipart_trim = ipart.trim_start_matches('0');
    ipart = if ipart_trim.is_empty() {
        "0".to_owned()
    } else {
        ipart_trim.to_owned()
    };
    let fpart: String = digits
        .get(split..)
        .unwrap_or_default()
        .iter()
        .map(|d| char::from(b'0' + d))
        .collect();
    // The text goes through an l_fp: an exact zero (even "-0.00") prints as "+0"; any other
    // negative value keeps its sign even when it rounds to zero.
    let input_zero = int.bytes().chain(frac.bytes()).all(|b| b == b'0');
    let sign = if neg && !input_zero {
        "-"
    } else if signed {
        "+"
    } else {
        ""
    };
    if decimals == 0 {
        Some(format!("{sign}{ipart}"))
    } else {
        Some(format!("{sign}{ipart}.{fpart}"))
    }
}

fn fixed(v: f64, decimals: usize, signed: bool) -> String {
    if signed && v >= 0.0 {
        format!("+{v:.decimals$}")
    } else {
        format!("{v:.decimals$}")
    }
}

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Unix seconds of an NTP timestamp, choosing the era within ±68 years of `now_unix`.
pub fn ntp_to_unix(ts: NtpTimestamp, now_unix: i64) -> i64 {
    let (secs, _) = ts.to_unix_with_pivot(now_unix - (1 << 31));
    secs
}

/// libntp `prettydate`: `eeb22828.7d849775  Thu, Nov 26 2026  3:38:16.490` in local time
/// (`utc_offset` seconds east of UTC for that instant); an all-zero timestamp is
/// `(no time)`.
pub fn pretty_date(
    ts: NtpTimestamp,
    now_unix: i64,
    mut utc_offset: impl FnMut(i64) -> i64,
) -> String {
    let bits = ts.to_bits();
    if bits == 0 {
        return "(no time)".to_owned();
    }
    let secs_ntp = bits >> 32;
    let frac = bits & 0xffff_ffff;
    let mut msec = frac / 4_294_967;
    let mut unix = ntp_to_unix(ts, now_unix);
    if msec >= 1000 {
        msec -= 1000;
        unix += 1;
    }
    let local = unix + utc_offset(unix);
    let days = local.div_euclid(86_400);
    let sod = local.rem_euclid(86_400);
    let (y, m, d) = ntp_wire::time::civil_from_days(days);
    let wday = (days + 4).rem_euclid(7) as usize;
    format!(
        "{secs_ntp:08x}.{frac:08x}  {}, {} {d:2} {y:4} {:2}:{:02}:{:02}.{msec:03}",
        DAYS.get(wday).copied().unwrap_or("???"),
        MONTHS
            .get(m.saturating_sub(1) as usize)
            .copied()
            .unwrap_or("???"),
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

/// Unix seconds of an NTP timestamp's seconds field, era 0 (for `when`, which classic computes
/// on the raw 32-bit seconds).
pub fn ntp_seconds(ts: NtpTimestamp) -> i64 {
    i64::from(ts.seconds())
}

/// Unix time to NTP seconds (era 0), for tests.
pub fn unix_to_ntp_seconds(unix: i64) -> i64 {
    unix + JAN_1970
}

/// libntp `modetoa`.
pub fn mode_name(mode: u64) -> String {
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
    usize::try_from(mode)
        .ok()
        .and_then(|m| NAMES.get(m))
        .map_or_else(|| format!("mode#{mode}"), |s| (*s).to_owned())
}

/// ntpq's `decodeaddrtype`: the `t` column from the local address when `hmode` is missing.
pub fn addr_type(addr: &SocketAddr) -> char {
    match addr.ip() {
        IpAddr::V4(v4) => {
            let a = u32::from(v4);
            if a & 0xf000_0000 == 0xe000_0000 {
                'm'
            } else if a & 0xff == 0xff {
                'b'
            } else if a == u32::from(Ipv4Addr::LOCALHOST) {
                'l'
            } else if a & 0xffff_ffe0 == 0 {
                '-'
            } else {
                'u'
            }
        }
        IpAddr::V6(v6) => {
            if v6.is_multicast() {
                'm'
            } else {
                'u'
            }
        }
    }
}

/// ntpq's `makeascii`: control characters as `^X`, high-bit octets as `M-x`.
pub fn make_ascii(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        let mut c = b;
        if c & 0x80 != 0 {
            out.push_str("M-");
            c &= 0x7f;
        }
        if c < b' ' {
            out.push('^');
            out.push(char::from(c + b'@'));
        } else if c == 0x7f {
            out.push_str("^?");
        } else {
            out.push(char::from(c));
        }
    }
    out
}

/// Left-truncate to `width` characters (ntpq's `trunc_left`, which marks the cut with `_`).
pub fn trunc_left(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width || width == 0 {
        return s.to_owned();
    }
    let skip = n - width + 1;
    let mut out = String::from("_");
    out.extend(s.chars().skip(skip));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_interval_steps_like_classic() {
        assert_eq!(pretty_interval(0), "-");
        assert_eq!(pretty_interval(-1), "-");
        assert_eq!(pretty_interval(64), "64");
        assert_eq!(pretty_interval(2048), "2048");
        assert_eq!(pretty_interval(4096), "68m");
        assert_eq!(pretty_interval(65536), "18h");
        assert_eq!(pretty_interval(131_072), "36h");
        assert_eq!(pretty_interval(1 << 20), "12d");
        assert_eq!(pretty_interval(i64::from(u32::MAX)), "136y");
    }

    #[test]
    fn ms_text_rounds_and_signs() {
        assert_eq!(ms_text("0.000", 3, true).unwrap(), "+0.000");
        assert_eq!(ms_text("-0.004", 3, true).unwrap(), "-0.004");
        assert_eq!(ms_text("0.015", 3, true).unwrap(), "+0.015");
        assert_eq!(ms_text("16000.00", 2, false).unwrap(), "16000.00");
        assert_eq!(ms_text("0.0239", 3, false).unwrap(), "0.024");
        assert_eq!(ms_text("9.9999", 3, false).unwrap(), "10.000");
        assert_eq!(ms_text("0.016381", 3, false).unwrap(), "0.016");
        assert_eq!(ms_text("-0.00", 2, true).unwrap(), "+0.00");
        assert_eq!(ms_text("-0.001", 2, true).unwrap(), "-0.00");
        assert!(ms_text("abc", 3, false).is_none());
        assert!(ms_text("", 3, false).is_none());
    }

    #[test]
    fn pretty_date_matches_classic_layout() {
        let ts = NtpTimestamp::from_bits(0xeeb2_2828_7d84_9775);
        assert_eq!(
            pretty_date(ts, 1_795_664_309, |_| 0),
            "eeb22828.7d849775  Thu, Nov 26 2026  3:38:16.490"
        );
        assert_eq!(
            pretty_date(NtpTimestamp::from_bits(0), 1_795_664_309, |_| 0),
            "(no time)"
        );
    }

    #[test]
    fn refclock_addresses_get_driver_names() {
        let ip: IpAddr = "127.127.1.0".parse().unwrap();
        assert_eq!(refnumtoa(&ip), "LOCAL(0)");
        let ip: IpAddr = "127.127.28.2".parse().unwrap();
        assert_eq!(refnumtoa(&ip), "SHM(2)");
        let ip: IpAddr = "127.127.15.0".parse().unwrap();
        assert_eq!(refnumtoa(&ip), "REFCLK(15,0)");
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(refnumtoa(&ip), "10.1.2.3");
    }

    #[test]
    fn netnum_accepts_classic_forms() {
        assert_eq!(
            parse_netnum("10.123.21.2:123").unwrap().to_string(),
            "10.123.21.2:123"
        );
        assert_eq!(parse_netnum("[::]:123").unwrap().to_string(), "[::]:123");
        assert_eq!(parse_netnum("::1").unwrap().port(), 123);
        assert!(parse_netnum("nonsense").is_none());
    }

    #[test]
    fn text_refids_are_dotted_and_sanitised() {
        assert_eq!(refid_dots("GPS"), ".GPS.");
        assert_eq!(refid_dots("IN T"), ".IN?T.");
    }

    #[test]
    fn ascii_escapes_control_and_high_octets() {
        assert_eq!(make_ascii(b"a\x01\x7f\xc1"), "a^A^?M-A");
    }
}
