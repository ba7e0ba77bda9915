//! Reply validation (every reply the load generator receives goes through here) and the
//! latency histogram. Pure functions, unit-tested.

use ntp_wire::{Mode, NtpHeader, RefId};

/// What a received datagram turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    /// A valid mode 4 reply with a sane stratum (1..=15).
    Reply,
    /// A valid RATE kiss-o'-death (stratum 0, refid RATE).
    Kod,
}

/// Why a reply was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Shorter than an NTP header.
    Short,
    /// Not mode 4.
    Mode,
    /// The version of the request was not echoed.
    Version,
    /// Stratum 0 without RATE, or 16 and above.
    Stratum,
    /// Transmit timestamp zero, or receive timestamp zero on a reply.
    Timestamps,
}

/// Check one reply against what we sent: the origin timestamp must have matched already
/// (the caller finds the request by it), so this checks the rest: mode 4, our version
/// echoed, a sane stratum (or a RATE KoD), non-zero timestamps.
pub fn check_reply(datagram: &[u8], sent_version: u8) -> Result<ReplyKind, Invalid> {
    let h = NtpHeader::decode(datagram).map_err(|_| Invalid::Short)?;
    if h.mode != Mode::Server {
        return Err(Invalid::Mode);
    }
    if h.version != sent_version {
        return Err(Invalid::Version);
    }
    if h.stratum == 0 {
        return if h.reference_id == RefId::RATE {
            Ok(ReplyKind::Kod)
        } else {
            Err(Invalid::Stratum)
        };
    }
    if h.stratum >= 16 {
        return Err(Invalid::Stratum);
    }
    if h.transmit_timestamp.is_zero() || h.receive_timestamp.is_zero() {
        return Err(Invalid::Timestamps);
    }
    Ok(ReplyKind::Reply)
}

/// The origin timestamp of a reply (octets 24..32), if the datagram is long enough.
pub fn origin_of(datagram: &[u8]) -> Option<u64> {
    let b: [u8; 8] = datagram.get(24..32)?.try_into().ok()?;
    Some(u64::from_be_bytes(b))
}

/// A client request: version `version`, mode 3, transmit timestamp `xmt` (random, so the
/// reply's origin identifies the request).
pub fn request(version: u8, xmt: u64) -> [u8; 48] {
    let mut p = [0u8; 48];
    p[0] = ((version & 7) << 3) | 3;
    p[2] = 6; // poll 64 s
    p[3] = 0xec; // precision 2^-20
    p[40..48].copy_from_slice(&xmt.to_be_bytes());
    p
}

/// Latency histogram with 1 us buckets up to 100 ms (the last bucket collects the rest).
#[derive(Debug, Clone)]
pub struct Histogram {
    buckets: Vec<u64>,
    count: u64,
}

const BUCKETS: usize = 100_000;

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: vec![0; BUCKETS],
            count: 0,
        }
    }
}

impl Histogram {
    /// Record one latency in nanoseconds.
    pub fn record(&mut self, nanos: u64) {
        let i = ((nanos / 1000) as usize).min(BUCKETS - 1);
        self.buckets[i] += 1;
        self.count += 1;
    }

    /// The `q` quantile (0..=1) in microseconds (upper edge of its bucket); 0 when empty.
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return i as u64 + 1;
            }
        }
        BUCKETS as u64
    }
}

/// xorshift64*: the random transmit timestamps (not security-relevant: they only tie a
/// reply to its request).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded (a zero seed is replaced).
    pub fn new(seed: u64) -> Self {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next non-zero value.
    pub fn next_u64(&mut self) -> u64 {
        loop {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let v = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
            if v != 0 {
                return v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(version: u8, stratum: u8, refid: [u8; 4]) -> [u8; 48] {
        let mut p = [0u8; 48];
        p[0] = (version << 3) | 4;
        p[1] = stratum;
        p[12..16].copy_from_slice(&refid);
        p[32..40].copy_from_slice(&7u64.to_be_bytes());
        p[40..48].copy_from_slice(&8u64.to_be_bytes());
        p
    }

    #[test]
    fn good_reply_is_accepted() {
        assert_eq!(check_reply(&reply(4, 2, [0; 4]), 4), Ok(ReplyKind::Reply));
    }

    #[test]
    fn version_must_be_echoed() {
        assert_eq!(check_reply(&reply(3, 2, [0; 4]), 4), Err(Invalid::Version));
    }

    #[test]
    fn rate_kod_is_recognised_and_other_stratum_0_rejected() {
        assert_eq!(check_reply(&reply(4, 0, *b"RATE"), 4), Ok(ReplyKind::Kod));
        assert_eq!(
            check_reply(&reply(4, 0, *b"DENY"), 4),
            Err(Invalid::Stratum)
        );
        assert_eq!(check_reply(&reply(4, 16, [0; 4]), 4), Err(Invalid::Stratum));
    }

    #[test]
    fn mode_3_and_short_datagrams_are_rejected() {
        let mut p = reply(4, 2, [0; 4]);
        p[0] = (4 << 3) | 3;
        assert_eq!(check_reply(&p, 4), Err(Invalid::Mode));
        assert_eq!(check_reply(&p[..40], 4), Err(Invalid::Short));
    }

    #[test]
    fn zero_transmit_timestamp_is_rejected() {
        let mut p = reply(4, 2, [0; 4]);
        p[40..48].fill(0);
        assert_eq!(check_reply(&p, 4), Err(Invalid::Timestamps));
    }

    #[test]
    fn request_carries_version_mode_and_transmit() {
        let r = request(3, 0x0102_0304_0506_0708);
        assert_eq!(r[0], (3 << 3) | 3);
        assert_eq!(&r[40..48], &[1, 2, 3, 4, 5, 6, 7, 8]);
        // A reply echoing it as origin is found by origin_of.
        let mut rep = [0u8; 48];
        rep[24..32].copy_from_slice(&r[40..48]);
        assert_eq!(origin_of(&rep), Some(0x0102_0304_0506_0708));
        assert_eq!(origin_of(&rep[..30]), None);
    }

    #[test]
    fn quantiles_come_from_the_recorded_distribution() {
        let mut h = Histogram::default();
        assert_eq!(h.quantile_us(0.5), 0);
        for us in 1..=100u64 {
            h.record(us * 1000 - 500);
        }
        assert_eq!(h.count, 100);
        assert_eq!(h.quantile_us(0.5), 50);
        assert_eq!(h.quantile_us(0.99), 99);
        h.record(10_000_000_000);
        assert_eq!(h.quantile_us(1.0), BUCKETS as u64);
    }

    #[test]
    fn rng_never_yields_zero_and_varies() {
        let mut r = Rng::new(0);
        let a = r.next_u64();
        let b = r.next_u64();
        assert!(a != 0 && b != 0 && a != b);
    }
}
