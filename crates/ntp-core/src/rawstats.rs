//! `rawstats` lines exactly as classic ntpd 4.2.8 writes them (`record_raw_stats()` in
//! ntpd/ntp_util.c, called from `process_packet()` for every server answer that passed the
//! packet tests TEST1-TEST7: duplicate, bogus origin, timestamps, KoD, authentication,
//! leap/stratum, root distance; RFC 5905 section 8 names the timestamps):
//!
//! ```text
//! MJD SOD SRC DST T1 T2 T3 T4 LEAP VERSION MODE STRATUM PPOLL PRECISION ROOTDELAY ROOTDISP REFID [LEN: HEX]
//! 61370 3600.000 192.0.2.1 192.0.2.9 4004643600.000000000 ... 0 4 4 2 6 -23 0.000412 0.010223 10.0.0.1
//! ```
//! - MJD: `seconds / 86400 + 15020` of the time the line is recorded (here the packet's
//!   receive time T4), SOD: seconds of that day, `%.3f` (classic `ulfptoa(now, 3)`).
//! - SRC: the server's address, DST: the local address it arrived on (`-` when unknown:
//!   the engine writes `-` and the daemon, which owns the sockets, fills it in with
//!   [`set_destination`]).
//! - T1..T4: originate, receive, transmit, destination timestamps as unsigned NTP seconds
//!   with 9 decimals (`ulfptoa(t, 9)`). T1 is the time the request left: classic sends that
//!   time as its transmit timestamp and prints the echoed origin, this engine sends a random
//!   nonce and prints the time it noted instead, so the column keeps its meaning.
//! - LEAP, VERSION, MODE from the first octet; STRATUM with 0 read as 16
//!   (`PKT_TO_STRATUM`); PPOLL the raw octet (unsigned); PRECISION signed.
//! - ROOTDELAY, ROOTDISP in seconds, `%.6f`.
//! - REFID: dotted quad above stratum 1, else the code between dots (`.GPS.`) as
//!   `refid_str()` prints it.
//! - `LEN: HEX`: only when the datagram is longer than the 48-octet header: the number of
//!   octets after it (extension fields, MAC) and their hex dump.

use std::fmt::Write as _;
use std::net::IpAddr;

use ntp_wire::{NtpHeader, NtpTimestamp, RefId};

/// Classic `MJD_1900`: the Modified Julian Day of 1900-01-01, the NTP epoch.
pub const MJD_1900: u64 = 15_020;

/// An unsigned NTP timestamp as classic `ulfptoa(t, digits)` prints it: seconds of the era,
/// a point and `digits` decimals of the fraction, rounded half up (at most 9 digits).
pub fn ulfptoa(t: NtpTimestamp, digits: u32) -> String {
    let digits = digits.min(9);
    let scale = 10u128.pow(digits);
    let frac = (u128::from(t.fraction()) * scale + (1u128 << 31)) >> 32;
    let (secs, frac) = if frac >= scale {
        (u64::from(t.seconds()) + 1, 0)
    } else {
        (u64::from(t.seconds()), frac)
    };
    if digits == 0 {
        return secs.to_string();
    }
    format!("{secs}.{frac:0width$}", width = digits as usize)
}

/// The first two columns of every classic statistics line for the clock reading `now`: the
/// MJD day and the seconds past UTC midnight with 3 decimals.
pub fn day_and_seconds(now: NtpTimestamp) -> (u64, String) {
    let secs = u64::from(now.seconds());
    let day = secs / 86_400 + MJD_1900;
    // The seconds of the day keep the fraction; they never exceed one era.
    let sod = NtpTimestamp::from_parts((secs % 86_400) as u32, now.fraction());
    (day, ulfptoa(sod, 3))
}

/// A reference id as classic `refid_str()` prints it: dotted quad above stratum 1, else the
/// ASCII code up to the first NUL between dots, with non-graphic characters as `?`.
pub fn refid_str(refid: RefId, stratum: u8) -> String {
    if stratum > 1 {
        return refid.to_ipv4().to_string();
    }
    let code: String = refid
        .to_bytes()
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| if b.is_ascii_graphic() { b as char } else { '?' })
        .collect();
    format!(".{code}.")
}

/// The rawstats line for the server answer `header` (whole datagram `datagram`) from `src`,
/// whose request left at `t1` and which arrived at `t4`. The destination column is `-`.
pub fn line(
    src: IpAddr,
    t1: NtpTimestamp,
    header: &NtpHeader,
    t4: NtpTimestamp,
    datagram: &[u8],
) -> String {
    let (day, sod) = day_and_seconds(t4);
    let stratum = if header.stratum == 0 {
        16
    } else {
        header.stratum
    };
    let mut s = format!(
        "{day} {sod} {src} - {} {} {} {} {} {} {} {} {} {} {:.6} {:.6} {}",
        ulfptoa(t1, 9),
        ulfptoa(header.receive_timestamp, 9),
        ulfptoa(header.transmit_timestamp, 9),
        ulfptoa(t4, 9),
        header.leap.bits(),
        header.version,
        header.mode.bits(),
        stratum,
        header.poll as u8,
        header.precision,
        header.root_delay.to_seconds_f64(),
        header.root_dispersion.to_seconds_f64(),
        refid_str(header.reference_id, stratum),
    );
    let extra = datagram.get(ntp_wire::packet::HEADER_LEN..).unwrap_or(&[]);
    if !extra.is_empty() {
        let _ = write!(s, " {}: ", extra.len());
        for b in extra {
            let _ = write!(s, "{b:02x}");
        }
    }
    s
}

/// `line` with its destination column (the fourth) set to `dst`; `None` when `line` is not
/// a rawstats line.
pub fn set_destination(line: &str, dst: IpAddr) -> Option<String> {
    let mut f = line.splitn(5, ' ');
    let (day, sod, src, _, rest) = (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
    Some(format!("{day} {sod} {src} {dst} {rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ntp_wire::{LeapIndicator, Mode, NtpShort};

    #[test]
    fn ulfptoa_rounds_like_classic() {
        let t = NtpTimestamp::from_parts(3_973_280_400, 0x8000_0000);
        assert_eq!(ulfptoa(t, 9), "3973280400.500000000");
        assert_eq!(ulfptoa(t, 3), "3973280400.500");
        assert_eq!(ulfptoa(NtpTimestamp::ZERO, 9), "0.000000000");
        // 0xffffffff / 2^32 rounds up into the next second.
        let top = NtpTimestamp::from_parts(7, u32::MAX);
        assert_eq!(ulfptoa(top, 9), "8.000000000");
        assert_eq!(ulfptoa(top, 3), "8.000");
        // 1/2^32 s is 0.23 ns: rounds to zero at 9 digits.
        assert_eq!(ulfptoa(NtpTimestamp::from_parts(1, 1), 9), "1.000000000");
        assert_eq!(
            ulfptoa(NtpTimestamp::from_parts(1, 0x1999_999a), 9),
            "1.100000000"
        );
    }

    #[test]
    fn refid_is_dotted_above_stratum_one_and_a_code_below() {
        let ip = RefId::from_bytes([192, 0, 2, 1]);
        assert_eq!(refid_str(ip, 2), "192.0.2.1");
        assert_eq!(refid_str(RefId::from_bytes(*b"GPS\0"), 1), ".GPS.");
        assert_eq!(refid_str(RefId::from_bytes(*b"LOCL"), 0), ".LOCL.");
        assert_eq!(refid_str(RefId::from_bytes([b'A', 1, b'B', 0]), 1), ".A?B.");
    }

    /// A line built from the documented fields parses back, column by column, into them.
    #[test]
    fn a_line_parses_back_field_by_field() {
        // 2026-11-26 01:00:00.25 UTC.
        let t4 = NtpTimestamp::from_parts(4_004_640_000 + 3600, 0x4000_0000);
        let t1 = NtpTimestamp::from_parts(4_004_643_600, 0x3000_0000);
        let h = NtpHeader {
            leap: LeapIndicator::AddSecond,
            version: 4,
            mode: Mode::Server,
            stratum: 2,
            poll: 6,
            precision: -23,
            root_delay: NtpShort::from_seconds_f64(0.25),
            root_dispersion: NtpShort::from_seconds_f64(0.5),
            reference_id: RefId::from_bytes([10, 0, 0, 1]),
            origin_timestamp: NtpTimestamp::from_bits(0xdead_beef),
            receive_timestamp: NtpTimestamp::from_parts(4_004_643_600, 0x3800_0000),
            transmit_timestamp: NtpTimestamp::from_parts(4_004_643_600, 0x3900_0000),
            ..NtpHeader::default()
        };
        let mut dgram = h.to_bytes().to_vec();
        dgram.extend_from_slice(&[0, 0, 0, 1, 0xab, 0xcd]);
        let src: IpAddr = "192.0.2.1".parse().unwrap();
        let l = line(src, t1, &h, t4, &dgram);
        let l = set_destination(&l, "192.0.2.9".parse().unwrap()).unwrap();
        let f: Vec<&str> = l.split(' ').collect();
        assert_eq!(f.len(), 19, "{l}");
        // MJD 61370 is 2026-11-26.
        assert_eq!(f[0].parse::<u64>().unwrap(), 61_370);
        assert_eq!(f[1], "3600.250");
        assert_eq!(f[2], "192.0.2.1");
        assert_eq!(f[3], "192.0.2.9");
        assert_eq!(f[4], "4004643600.187500000");
        assert_eq!(f[5], "4004643600.218750000");
        assert_eq!(f[6], "4004643600.222656250");
        assert_eq!(f[7], "4004643600.250000000");
        let ints: Vec<i64> = f[8..14].iter().map(|x| x.parse().unwrap()).collect();
        assert_eq!(ints, [1, 4, 4, 2, 6, -23]);
        assert_eq!(f[14], "0.250000");
        assert_eq!(f[15], "0.500000");
        assert_eq!(f[16], "10.0.0.1");
        assert_eq!(f[17], "6:");
        assert_eq!(f[18], "00000001abcd");
    }

    /// A line in the shape of classic's (fields from a 4.2.8 rawstats file) splits into the
    /// same 17 columns as ours; stratum 0 reads as 16, so its refid prints dotted, as
    /// classic's `refid_str(refid, PKT_TO_STRATUM(0))` does.
    #[test]
    fn classic_shape_matches_and_stratum_zero_reads_sixteen() {
        let classic = "61370 3600.250 192.0.2.1 192.0.2.9 4004643600.187500000 4004643600.218750000 4004643600.222656250 4004643600.250000000 0 4 4 1 6 -20 0.000000 0.000488 .GPS.";
        let h = NtpHeader {
            version: 4,
            mode: Mode::Server,
            stratum: 0,
            reference_id: RefId::from_bytes(*b"INIT"),
            ..NtpHeader::default()
        };
        let ours = line(
            "192.0.2.1".parse().unwrap(),
            NtpTimestamp::ZERO,
            &h,
            NtpTimestamp::ZERO,
            &h.to_bytes(),
        );
        assert_eq!(
            ours.split(' ').count(),
            classic.split(' ').count(),
            "{ours}"
        );
        let f: Vec<&str> = ours.split(' ').collect();
        assert_eq!(f[3], "-");
        assert_eq!(f[11], "16");
        assert_eq!(f[16], "73.78.73.84");
        assert_eq!(set_destination("too short", "::1".parse().unwrap()), None);
    }
}

/// The engine emits rawstats lines for answers that pass the header tests, and only then.
#[cfg(test)]
mod engine_tests {
    use crate::{Action, Engine, EngineConfig, MonoTime, SourceConfig, StatsKind};
    use ntp_wire::{LeapIndicator, Mode, NtpDuration, NtpHeader, NtpShort, NtpTimestamp, RefId};
    use std::net::SocketAddr;

    /// One request/answer exchange; `edit` changes the answer. Returns the rawstats lines.
    fn exchange(e: &mut Engine, now: &mut f64, edit: impl Fn(&mut NtpHeader)) -> Vec<String> {
        let base = NtpTimestamp::from_parts(4_004_640_000, 0);
        let at = |t: f64| base + NtpDuration::from_seconds_f64(t);
        let t = e.poll_timeout().unwrap();
        *now = t.as_secs_f64();
        e.handle_timeout(t, at(*now));
        let mut req = None;
        while let Some(a) = e.poll_action() {
            if let Action::Send { to, bytes, .. } = a {
                req = Some((to, bytes));
            }
        }
        let (to, bytes) = req.expect("a request");
        let q = NtpHeader::decode(&bytes).unwrap();
        let mut h = NtpHeader {
            leap: LeapIndicator::NoWarning,
            version: 4,
            mode: Mode::Server,
            stratum: 1,
            precision: -20,
            root_dispersion: NtpShort::from_seconds_f64(0.0001),
            reference_id: RefId::from_bytes(*b"GPS\0"),
            origin_timestamp: q.transmit_timestamp,
            receive_timestamp: at(*now + 0.001),
            transmit_timestamp: at(*now + 0.0011),
            ..NtpHeader::default()
        };
        edit(&mut h);
        *now += 0.002;
        let _ = e.handle_datagram(MonoTime::from_secs_f64(*now), to, &h.to_bytes(), at(*now));
        let mut lines = Vec::new();
        while let Some(a) = e.poll_action() {
            if let Action::Stats(l) = a {
                if l.kind == StatsKind::Raw {
                    lines.push(l.line);
                }
            }
        }
        lines
    }

    #[test]
    fn good_answers_are_recorded_and_unsynchronised_ones_are_not() {
        let cfg = EngineConfig {
            statistics: true,
            ..EngineConfig::default()
        };
        let mut src = SourceConfig::server(SocketAddr::from(([192, 0, 2, 1], 123)));
        src.iburst = true;
        let mut e = Engine::new(cfg, vec![src], MonoTime::ZERO);
        let mut now = 0.0;
        let good = exchange(&mut e, &mut now, |_| {});
        assert_eq!(good.len(), 1);
        let f: Vec<&str> = good[0].split(' ').collect();
        assert_eq!((f[2], f[3], f[11], f[16]), ("192.0.2.1", "-", "1", ".GPS."));
        // T1 is the time the request left (the clock at the poll), T4 the arrival.
        assert!(f[7].parse::<f64>().unwrap() > f[4].parse::<f64>().unwrap());
        let unsync = exchange(&mut e, &mut now, |h| h.leap = LeapIndicator::Unsynchronized);
        assert!(unsync.is_empty(), "TEST6 fails: not recorded");
        let far = exchange(&mut e, &mut now, |h| {
            h.root_dispersion = NtpShort::from_seconds_f64(20.0)
        });
        assert!(far.is_empty(), "TEST7 fails: not recorded");
        let mut e = Engine::new(
            EngineConfig::default(),
            vec![SourceConfig::server(SocketAddr::from((
                [192, 0, 2, 1],
                123,
            )))],
            MonoTime::ZERO,
        );
        assert!(
            exchange(&mut e, &mut now, |_| {}).is_empty(),
            "statistics off"
        );
    }
}
