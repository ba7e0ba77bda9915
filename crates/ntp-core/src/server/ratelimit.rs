//! Per-source accounting for the server path: the MRU list (`ntpq -c mrulist`) and rate limiting: a fixed-size table keyed by a keyed hash of
//! the source address (IPv6 by /64 prefix), classic ntpd's leaky-bucket rule
//! (`discard average`/`minimum`), and the one-KoD-per-headway rule.
//!
//! The table never grows: a colliding source replaces the older entry, so memory is bounded
//! whatever the traffic. The hash key comes from the caller (sans-IO), so an attacker who does
//! not know it cannot aim collisions at a victim's slot.
//!
//! One table is shared by every server worker (SO_REUSEPORT spreads one source's packets
//! over the workers by source port, so per-worker tables would let a client escape its limit
//! by changing ports). Slots are plain atomics: no lock; two workers updating the same slot
//! at the same instant may lose one update, which only makes the limit slightly looser for
//! that instant, and the KoD slot is claimed with a compare-and-swap so at most one KoD per
//! headway goes out whatever the interleaving.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Classic defaults: `discard average 3` (8 s headway), `minimum 2` (2 s).
pub const DEFAULT_AVERAGE_LOG2: u8 = 3;
/// See [`DEFAULT_AVERAGE_LOG2`].
pub const DEFAULT_MINIMUM_SECS: u32 = 2;
/// Burst allowance in headways before a source is limited (classic `NTP_SHIFT`).
const BURST_HEADWAYS: f64 = 8.0;

/// Rate-limit parameters (the `discard` directive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimitConfig {
    /// Average headway, log2 seconds (`discard average`).
    pub average_log2: u8,
    /// Minimum interval between packets, seconds (`discard minimum`).
    pub minimum_secs: u32,
    /// Table entries (rounded up to a power of two).
    pub table_size: usize,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            average_log2: DEFAULT_AVERAGE_LOG2,
            minimum_secs: DEFAULT_MINIMUM_SECS,
            table_size: 4096,
        }
    }
}

/// What the limiter says about one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Within limits.
    Allow,
    /// Over the limit, and no KoD was sent to this source within the last headway: a KoD may
    /// be sent (if the restriction has `kod`).
    LimitedMayKod,
    /// Over the limit: drop silently.
    Limited,
}

#[derive(Debug, Default)]
struct Slot {
    /// Keyed hash of the source with the low bit set (0 = empty).
    tag: AtomicU64,
    /// Monotonic seconds of the last packet (f64 bits).
    last: AtomicU64,
    /// Leaky bucket level, seconds (f64 bits).
    leak: AtomicU64,
    /// Monotonic seconds of the last KoD (f64 bits).
    last_kod: AtomicU64,
    /// The source address as IPv6 (IPv4 mapped), high and low halves (MRU list).
    addr_hi: AtomicU64,
    /// See `addr_hi`.
    addr_lo: AtomicU64,
    /// Source port (bits 0-15), mode (16-23), version (24-31) of the last packet.
    port_mode_ver: AtomicU64,
    /// Monotonic seconds of the first packet (f64 bits).
    first: AtomicU64,
    /// Packets seen.
    count: AtomicU64,
}

/// One row of the MRU list: a recent source of NTP packets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MruEntry {
    /// Source address and port of its last packet.
    pub addr: SocketAddr,
    /// Monotonic seconds of its first packet.
    pub first: f64,
    /// Monotonic seconds of its last packet.
    pub last: f64,
    /// Packets seen.
    pub count: u64,
    /// Mode of its last packet.
    pub mode: u8,
    /// Version of its last packet.
    pub version: u8,
}

/// The bounded rate-limit table, shared by reference between threads.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimitConfig,
    key: (u64, u64),
    slots: Box<[Slot]>,
    mask: usize,
    /// Slots ever taken (a slot is never emptied again), so [`RateLimiter::occupied`] is a
    /// load instead of a walk over the whole table.
    used: AtomicU64,
}

impl RateLimiter {
    /// A table with `config`; `hash_key` should be random per process.
    pub fn new(config: RateLimitConfig, hash_key: (u64, u64)) -> Self {
        let size = config.table_size.clamp(16, 1 << 24).next_power_of_two();
        RateLimiter {
            config,
            key: hash_key,
            slots: (0..size).map(|_| Slot::default()).collect(),
            mask: size - 1,
            used: AtomicU64::new(0),
        }
    }

    /// Number of table slots (fixed).
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Slots in use.
    pub fn occupied(&self) -> usize {
        self.used.load(Relaxed) as usize
    }

    /// Account one packet from `from` (mode, version) at monotonic time `now` (seconds): the
    /// MRU row is updated, and when `limited` (the source's restriction has `limited`) the
    /// rate decision is made; otherwise the answer is always [`RateDecision::Allow`].
    pub fn account(
        &self,
        from: SocketAddr,
        mode: u8,
        version: u8,
        now: f64,
        limited: bool,
    ) -> RateDecision {
        let tag = self.tag(from.ip()) | 1;
        let slot = self.slot_for(tag);
        let headway = f64::from(1u32 << self.config.average_log2.min(17));
        let v6 = match from.ip() {
            IpAddr::V4(a) => a.to_ipv6_mapped(),
            IpAddr::V6(a) => a,
        };
        let bits = u128::from(v6);
        slot.addr_hi.store((bits >> 64) as u64, Relaxed);
        slot.addr_lo.store(bits as u64, Relaxed);
        slot.port_mode_ver.store(
            u64::from(from.port()) | u64::from(mode) << 16 | u64::from(version) << 24,
            Relaxed,
        );
        if slot.tag.load(Relaxed) != tag {
            // New source (or it displaced an older one): the first packet always passes.
            slot.last.store(now.to_bits(), Relaxed);
            slot.first.store(now.to_bits(), Relaxed);
            slot.count.store(1, Relaxed);
            slot.leak.store(headway.to_bits(), Relaxed);
            slot.last_kod.store(f64::NEG_INFINITY.to_bits(), Relaxed);
            // Count a slot the first time it is taken (once, even when two workers race for it).
            if slot.tag.swap(tag, Relaxed) == 0 {
                self.used.fetch_add(1, Relaxed);
            }
            return RateDecision::Allow;
        }
        slot.count.fetch_add(1, Relaxed);
        let last = f64::from_bits(slot.last.swap(now.to_bits(), Relaxed));
        let interval = (now - last).max(0.0);
        let leak = (f64::from_bits(slot.leak.load(Relaxed)) - interval).max(0.0) + headway;
        slot.leak.store(leak.to_bits(), Relaxed);
        if !limited {
            return RateDecision::Allow;
        }
        let over =
            interval < f64::from(self.config.minimum_secs) || leak > BURST_HEADWAYS * headway;
        if !over {
            return RateDecision::Allow;
        }
        let kod_bits = slot.last_kod.load(Relaxed);
        if now - f64::from_bits(kod_bits) >= headway
            && slot
                .last_kod
                .compare_exchange(kod_bits, now.to_bits(), Relaxed, Relaxed)
                .is_ok()
        {
            RateDecision::LimitedMayKod
        } else {
            RateDecision::Limited
        }
    }

    /// The slot for `tag`: the table is two-way set-associative, so a source lives in one of
    /// the two slots of its pair. Its own slot if it has one; else an empty one; else the one
    /// heard from least recently, which it takes over. With one slot per source (direct
    /// mapping), two sources hashing alike would evict each other on every packet and, each
    /// time "new", never be limited; a pair keeps both (about a fifth of 65,536 sources in a
    /// 131,072-slot table escaped that way).
    fn slot_for(&self, tag: u64) -> &Slot {
        let base = (tag >> 1) as usize & self.mask & !1;
        let (a, b) = (&self.slots[base], &self.slots[base | 1]);
        let (ta, tb) = (a.tag.load(Relaxed), b.tag.load(Relaxed));
        if ta == tag {
            a
        } else if tb == tag {
            b
        } else if ta == 0 {
            a
        } else if tb == 0 {
            b
        } else if f64::from_bits(a.last.load(Relaxed)) <= f64::from_bits(b.last.load(Relaxed)) {
            a
        } else {
            b
        }
    }

    /// Rate decision for a `limited` source (shorthand for tests: mode 3, version 4, port 123).
    pub fn check(&self, addr: IpAddr, now: f64) -> RateDecision {
        self.account(SocketAddr::new(addr, 123), 3, 4, now, true)
    }

    /// The MRU list: every source in the table, most recent first. Rows are read without a
    /// lock while workers update them, so a row being rewritten at that instant may mix two
    /// sources' fields; the list is for monitoring, not for decisions.
    pub fn mru_entries(&self) -> Vec<MruEntry> {
        let mut out: Vec<MruEntry> = self
            .slots
            .iter()
            .filter(|s| s.tag.load(Relaxed) != 0)
            .map(|s| {
                let bits = (u128::from(s.addr_hi.load(Relaxed)) << 64)
                    | u128::from(s.addr_lo.load(Relaxed));
                let v6 = Ipv6Addr::from(bits);
                let ip = v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4);
                let pmv = s.port_mode_ver.load(Relaxed);
                MruEntry {
                    addr: SocketAddr::new(ip, pmv as u16),
                    first: f64::from_bits(s.first.load(Relaxed)),
                    last: f64::from_bits(s.last.load(Relaxed)),
                    count: s.count.load(Relaxed),
                    mode: (pmv >> 16) as u8,
                    version: (pmv >> 24) as u8,
                }
            })
            .collect();
        out.sort_by(|a, b| b.last.total_cmp(&a.last));
        out
    }

    /// The keyed hash of an address; IPv6 sources are grouped by /64 so one host cannot
    /// escape its limit by rotating through its prefix.
    fn tag(&self, addr: IpAddr) -> u64 {
        let mut buf = [0u8; 9];
        let data: &[u8] = match addr {
            IpAddr::V4(a) => {
                buf[0] = 4;
                buf[1..5].copy_from_slice(&a.octets());
                &buf[..5]
            }
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => {
                    buf[0] = 4;
                    buf[1..5].copy_from_slice(&v4.octets());
                    &buf[..5]
                }
                None => {
                    buf[0] = 6;
                    buf[1..9].copy_from_slice(&a.octets()[..8]);
                    &buf[..9]
                }
            },
        };
        siphash24(self.key, data)
    }
}

/// SipHash-2-4 (Aumasson and Bernstein), the keyed hash the table uses.
pub fn siphash24(key: (u64, u64), data: &[u8]) -> u64 {
    let mut v0 = 0x736f_6d65_7073_6575u64 ^ key.0;
    let mut v1 = 0x646f_7261_6e64_6f6du64 ^ key.1;
    let mut v2 = 0x6c79_6765_6e65_7261u64 ^ key.0;
    let mut v3 = 0x7465_6462_7974_6573u64 ^ key.1;
    let round = |v0: &mut u64, v1: &mut u64, v2: &mut u64, v3: &mut u64| {
        *v0 = v0.wrapping_add(*v1);
        *v1 = v1.rotate_left(13) ^ *v0;
        *v0 = v0.rotate_left(32);
        *v2 = v2.wrapping_add(*v3);
        *v3 = v3.rotate_left(16) ^ *v2;
        *v0 = v0.wrapping_add(*v3);
        *v3 = v3.rotate_left(21) ^ *v0;
        *v2 = v2.wrapping_add(*v1);
        *v1 = v1.rotate_left(17) ^ *v2;
        *v2 = v2.rotate_left(32);
    };
    let chunks = data.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let m = u64::from_le_bytes(w);
        v3 ^= m;
        round(&mut v0, &mut v1, &mut v2, &mut v3);
        round(&mut v0, &mut v1, &mut v2, &mut v3);
        v0 ^= m;
    }
    let mut last = [0u8; 8];
    last[..tail.len()].copy_from_slice(tail);
    last[7] = data.len() as u8;
    let m = u64::from_le_bytes(last);
    v3 ^= m;
    round(&mut v0, &mut v1, &mut v2, &mut v3);
    round(&mut v0, &mut v1, &mut v2, &mut v3);
    v0 ^= m;
    v2 ^= 0xff;
    for _ in 0..4 {
        round(&mut v0, &mut v1, &mut v2, &mut v3);
    }
    v0 ^ v1 ^ v2 ^ v3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siphash_matches_reference_vector() {
        // Reference: key 00..0f, message 00..0e (15 octets) -> a129ca6149be45e5.
        let k0 = u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]);
        let k1 = u64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15]);
        let msg: Vec<u8> = (0u8..15).collect();
        assert_eq!(siphash24((k0, k1), &msg), 0xa129_ca61_49be_45e5);
        assert_eq!(siphash24((k0, k1), &[]), 0x726f_db47_dd0e_0e31);
    }

    fn lim() -> RateLimiter {
        RateLimiter::new(RateLimitConfig::default(), (1, 2))
    }

    #[test]
    fn classic_kod_vector_pattern() {
        // mode34/classic-ntpd-4.2.8-kod-rate: six requests 0.2 s apart -> answer, KoD, 4 drops.
        let l = lim();
        let a: IpAddr = "10.123.14.1".parse().unwrap();
        let got: Vec<_> = (0..6).map(|i| l.check(a, 100.0 + 0.2 * i as f64)).collect();
        assert_eq!(
            got,
            [
                RateDecision::Allow,
                RateDecision::LimitedMayKod,
                RateDecision::Limited,
                RateDecision::Limited,
                RateDecision::Limited,
                RateDecision::Limited
            ]
        );
    }

    #[test]
    fn at_most_one_kod_per_headway_under_a_flood() {
        let l = lim();
        let a: IpAddr = "192.0.2.7".parse().unwrap();
        let mut kods = 0;
        for i in 0..1000 {
            if l.check(a, i as f64 * 0.01) == RateDecision::LimitedMayKod {
                kods += 1;
            }
        }
        // 10 s of flood, 8 s headway: at most two KoDs.
        assert!((1..=2).contains(&kods), "{kods}");
    }

    #[test]
    fn polite_client_is_never_limited() {
        let l = lim();
        let a: IpAddr = "192.0.2.8".parse().unwrap();
        for i in 0..100 {
            assert_eq!(l.check(a, i as f64 * 16.0), RateDecision::Allow);
        }
        // Even at the average rate exactly (8 s) it stays within the bucket.
        for i in 0..100 {
            assert_eq!(l.check(a, 2000.0 + i as f64 * 8.0), RateDecision::Allow);
        }
    }

    #[test]
    fn ipv6_is_limited_per_64_prefix() {
        let l = lim();
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2::ffff".parse().unwrap();
        assert_eq!(l.check(a, 0.0), RateDecision::Allow);
        assert_ne!(l.check(b, 0.1), RateDecision::Allow);
    }

    #[test]
    fn shared_between_threads_at_most_one_kod_per_headway() {
        let l = std::sync::Arc::new(lim());
        let a: IpAddr = "192.0.2.9".parse().unwrap();
        l.check(a, 0.0);
        let kods: usize = (0..4)
            .map(|t| {
                let l = std::sync::Arc::clone(&l);
                std::thread::spawn(move || {
                    (0..1000)
                        .filter(|i| {
                            l.check(a, 1.0 + (*i as f64) * 0.001 + t as f64 * 1e-7)
                                == RateDecision::LimitedMayKod
                        })
                        .count()
                })
            })
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(kods, 1);
    }

    #[test]
    fn mru_lists_sources_most_recent_first_with_counts() {
        let l = lim();
        let a: SocketAddr = "192.0.2.1:40000".parse().unwrap();
        let b: SocketAddr = "[2001:db8::5]:123".parse().unwrap();
        l.account(a, 3, 4, 1.0, false);
        l.account(b, 3, 3, 2.0, false);
        l.account(a, 3, 4, 3.0, false);
        let m = l.mru_entries();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].addr, a);
        assert_eq!((m[0].count, m[0].first, m[0].last), (2, 1.0, 3.0));
        assert_eq!((m[1].addr, m[1].version, m[1].mode), (b, 3, 3));
        // Unlimited sources are counted but never limited.
        for i in 0..100 {
            assert_eq!(
                l.account(a, 3, 4, 3.0 + i as f64 * 0.01, false),
                RateDecision::Allow
            );
        }
    }

    #[test]
    fn sources_that_share_a_slot_pair_are_both_limited() {
        let l = RateLimiter::new(
            RateLimitConfig {
                table_size: 16,
                ..RateLimitConfig::default()
            },
            (3, 4),
        );
        // Two addresses whose hashes pick the very same slot (a direct-mapped table would have
        // them evict each other, so neither would ever be limited); they share a pair.
        let index = |a: IpAddr| ((l.tag(a) | 1) >> 1) as usize & l.mask;
        let pair = |a: IpAddr| index(a) & !1;
        let first = IpAddr::from([10, 0, 0, 1]);
        let second = (2..=255u8)
            .map(|i| IpAddr::from([10, 0, 0, i]))
            .find(|&a| index(a) == index(first))
            .expect("a second address with the same slot");
        let mut limited = [false; 2];
        for k in 0..40 {
            let now = f64::from(k) * 0.5;
            for (j, a) in [first, second].into_iter().enumerate() {
                if l.check(a, now) != RateDecision::Allow {
                    limited[j] = true;
                }
            }
        }
        assert_eq!(limited, [true, true]);
        assert_eq!(l.occupied(), 2);
        // A third one in the same pair takes over the least recently heard slot.
        let third = (2..=255u8)
            .map(|i| IpAddr::from([10, 0, 1, i]))
            .find(|&a| pair(a) == pair(first))
            .expect("a third address in the same pair");
        assert_eq!(l.check(third, 100.0), RateDecision::Allow);
        assert_eq!(l.occupied(), 2);
    }

    #[test]
    fn table_is_bounded() {
        let l = RateLimiter::new(
            RateLimitConfig {
                table_size: 64,
                ..RateLimitConfig::default()
            },
            (3, 4),
        );
        for i in 0..100_000u32 {
            let a = IpAddr::from(i.to_be_bytes());
            l.check(a, i as f64);
        }
        assert_eq!(l.capacity(), 64);
        assert!(l.occupied() <= 64);
    }
}
