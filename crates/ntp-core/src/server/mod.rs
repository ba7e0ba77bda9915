//! The server process (RFC 5905 section 9 "fast path"): answer one mode 3 request with one
//! mode 4 reply written into a caller-owned buffer, after access control (`restrict`), rate
//! limiting and KoD, with symmetric-key authentication. No allocation, no lock, no clock read:
//! the caller passes the receive timestamp to [`respond`], then reads the clock as late as
//! possible and calls [`finish`], which stamps the transmit timestamp and signs the reply.
//!
//! Amplification cannot happen here: every reply (mode 4, KoD or crypto-NAK) is at most as long
//! as the request that caused it, which the tests check for every decision.

pub mod ratelimit;
pub mod symmetric;

use std::net::IpAddr;

use ntp_wire::mac::{Trailer, MAX_MAC_LEN};
use ntp_wire::packet::HEADER_LEN;
use ntp_wire::{
    LeapIndicator, Mode, NtpHeader, NtpShort, NtpTimestamp, Reader, RefId, SymmetricKey, Writer,
};

pub use ratelimit::{MruEntry, RateDecision, RateLimitConfig, RateLimiter};
pub use symmetric::respond_symmetric;

/// Restriction flags with classic ntpd's `RES_*` bit values (the same bits ntp-conf's
/// `RestrictFlags` and mode 7's `info_restrict` use), so converting is the identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Access(u32);

impl Access {
    /// No restriction.
    pub const NONE: Access = Access(0);
    /// `ignore`: drop every packet.
    pub const IGNORE: Access = Access(0x1);
    /// `noserve`: no time service (modes 3 and 1/2).
    pub const NOSERVE: Access = Access(0x2);
    /// `notrust`: unauthenticated packets are not served.
    pub const NOTRUST: Access = Access(0x4);
    /// `version`: only the current NTP version (4) is served.
    pub const VERSION: Access = Access(0x8);
    /// `nopeer`: no ephemeral symmetric associations.
    pub const NOPEER: Access = Access(0x10);
    /// `noepeer`: no ephemeral peers at all.
    pub const NOEPEER: Access = Access(0x20);
    /// `limited`: rate-limit this source.
    pub const LIMITED: Access = Access(0x40);
    /// `noquery`: no mode 6/7 queries.
    pub const NOQUERY: Access = Access(0x80);
    /// `nomodify`: no mode 6/7 writes.
    pub const NOMODIFY: Access = Access(0x100);
    /// `notrap`: no mode 6 traps.
    pub const NOTRAP: Access = Access(0x200);
    /// `lowpriotrap`.
    pub const LOWPRIOTRAP: Access = Access(0x400);
    /// `kod`: send a RATE KoD when limited.
    pub const KOD: Access = Access(0x800);
    /// `nomrulist`: no mode 6 MRU list.
    pub const NOMRULIST: Access = Access(0x4000);

    /// Raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// From raw bits.
    pub const fn from_bits(bits: u32) -> Self {
        Access(bits)
    }

    /// True when every flag of `other` is set.
    pub const fn contains(self, other: Access) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union.
    pub const fn union(self, other: Access) -> Access {
        Access(self.0 | other.0)
    }
}

impl std::ops::BitOr for Access {
    type Output = Access;
    fn bitor(self, rhs: Access) -> Access {
        self.union(rhs)
    }
}

/// The system state a server reply advertises, published by the client side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SystemState {
    /// Leap indicator (Unsynchronized until the first clock update).
    pub leap: LeapIndicator,
    /// Stratum we serve (16 = unsynchronised, sent as 0).
    pub stratum: u8,
    /// Clock precision, log2 s.
    pub precision: i8,
    /// Root delay.
    pub root_delay: NtpShort,
    /// Root dispersion.
    pub root_dispersion: NtpShort,
    /// Reference id.
    pub reference_id: RefId,
    /// Time of the last clock update.
    pub reference_timestamp: NtpTimestamp,
}

impl Default for SystemState {
    fn default() -> Self {
        SystemState {
            leap: LeapIndicator::Unsynchronized,
            stratum: 16,
            precision: -20,
            root_delay: NtpShort::ZERO,
            root_dispersion: NtpShort::ZERO,
            reference_id: RefId::INIT,
            reference_timestamp: NtpTimestamp::ZERO,
        }
    }
}

/// Why a datagram got no reply. The daemon counts each reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Shorter than a header, or a malformed trailer/extension.
    Malformed,
    /// Version 0 or above 4.
    BadVersion,
    /// Not a mode this path answers (the caller routes 6 and 7 elsewhere).
    BadMode,
    /// `restrict ignore`.
    Ignored,
    /// `restrict noserve`.
    NoServe,
    /// `restrict version` and not version 4.
    OldVersion,
    /// `restrict notrust` and not authenticated.
    NotTrusted,
    /// Rate limited (and no KoD due).
    RateLimited,
    /// Source port 0 (cannot be answered).
    BadPort,
}

/// Number of [`DropReason`] values (for counter arrays).
pub const DROP_REASONS: usize = 9;

impl DropReason {
    /// Index for counter arrays.
    pub const fn index(self) -> usize {
        match self {
            DropReason::Malformed => 0,
            DropReason::BadVersion => 1,
            DropReason::BadMode => 2,
            DropReason::Ignored => 3,
            DropReason::NoServe => 4,
            DropReason::OldVersion => 5,
            DropReason::NotTrusted => 6,
            DropReason::RateLimited => 7,
            DropReason::BadPort => 8,
        }
    }

    /// A short stable name (for counters and metrics).
    pub const fn name(self) -> &'static str {
        match self {
            DropReason::Malformed => "malformed",
            DropReason::BadVersion => "bad_version",
            DropReason::BadMode => "bad_mode",
            DropReason::Ignored => "ignored",
            DropReason::NoServe => "noserve",
            DropReason::OldVersion => "old_version",
            DropReason::NotTrusted => "not_trusted",
            DropReason::RateLimited => "rate_limited",
            DropReason::BadPort => "bad_port",
        }
    }
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// A mode 4 reply of `len` octets is in the buffer; [`finish`] stamps and signs it.
    Reply {
        /// Length before the MAC.
        len: usize,
        /// The key to sign with (the request's verified key), if any.
        key_id: Option<u32>,
    },
    /// Send the first `len` octets: a RATE kiss-o'-death.
    Kod {
        /// Length.
        len: usize,
    },
    /// Send the first `len` octets: a reply with a crypto-NAK (the request's MAC failed).
    CryptoNak {
        /// Length.
        len: usize,
    },
    /// Send nothing.
    Drop(DropReason),
}

/// Key lookup for authenticated requests (trusted keys only).
pub trait KeyStore {
    /// The trusted key with this id, if any.
    fn trusted_key(&self, key_id: u32) -> Option<&SymmetricKey>;
}

/// No keys at all.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoKeys;

impl KeyStore for NoKeys {
    fn trusted_key(&self, _key_id: u32) -> Option<&SymmetricKey> {
        None
    }
}

/// Everything one answer needs besides the request.
#[derive(Debug)]
pub struct RequestContext {
    /// Source address.
    pub from: IpAddr,
    /// Source port.
    pub from_port: u16,
    /// Effective restriction for the source.
    pub access: Access,
    /// Kernel (or user-space) receive timestamp.
    pub receive_timestamp: NtpTimestamp,
    /// Monotonic seconds, for rate limiting.
    pub now_mono: f64,
}

/// Minimum length of a buffer that can hold any reply this module writes.
pub const MAX_REPLY_LEN: usize = HEADER_LEN + MAX_MAC_LEN;

/// The checks every answer starts with: not `ignore`d, version 1-4, the expected `mode`, a
/// non-zero source port, a decodable header. Returns the version and the header, or the drop.
#[inline]
fn admit(request: &[u8], ctx: &RequestContext, mode: Mode) -> Result<(u8, NtpHeader), Response> {
    if ctx.access.contains(Access::IGNORE) {
        return Err(Response::Drop(DropReason::Ignored));
    }
    let Some(&b0) = request.first() else {
        return Err(Response::Drop(DropReason::Malformed));
    };
    let version = (b0 >> 3) & 7;
    if !(1..=4).contains(&version) {
        return Err(Response::Drop(DropReason::BadVersion));
    }
    if Mode::from_bits(b0) != mode {
        return Err(Response::Drop(DropReason::BadMode));
    }
    if ctx.from_port == 0 {
        return Err(Response::Drop(DropReason::BadPort));
    }
    let Ok(header) = NtpHeader::decode(request) else {
        return Err(Response::Drop(DropReason::Malformed));
    };
    Ok((version, header))
}

/// The reply header (`mode` 4 or 2) carrying the system state, the request's transmit time as
/// origin and the receive time (the transmit time is stamped later by [`finish`]).
#[inline]
fn reply_header(
    system: &SystemState,
    version: u8,
    mode: Mode,
    request: &NtpHeader,
    ctx: &RequestContext,
) -> NtpHeader {
    NtpHeader {
        leap: system.leap,
        version,
        mode,
        // Stratum 16 (unsynchronised) goes on the wire as 0, as classic ntpd does.
        stratum: if system.stratum >= 16 {
            0
        } else {
            system.stratum
        },
        // Classic: max(request poll, minpoll 3)... echo within 3..=17.
        poll: request.poll.clamp(3, 17),
        precision: system.precision,
        root_delay: system.root_delay,
        root_dispersion: system.root_dispersion,
        reference_id: system.reference_id,
        reference_timestamp: system.reference_timestamp,
        origin_timestamp: request.transmit_timestamp,
        receive_timestamp: ctx.receive_timestamp,
        transmit_timestamp: ctx.receive_timestamp,
    }
}

/// Answer one datagram whose mode is 3 (client) with a mode 4 reply into `out`.
///
/// `out` must be at least [`MAX_REPLY_LEN`] octets. Pass the result to [`finish`] to get the
/// octets to send.
pub fn respond(
    request: &[u8],
    ctx: &RequestContext,
    system: &SystemState,
    limiter: Option<&RateLimiter>,
    keys: &impl KeyStore,
    out: &mut [u8],
) -> Response {
    let (version, header) = match admit(request, ctx, Mode::Client) {
        Ok(v) => v,
        Err(drop) => return drop,
    };
    if ctx.access.contains(Access::NOSERVE) {
        return Response::Drop(DropReason::NoServe);
    }
    if ctx.access.contains(Access::VERSION) && version != 4 {
        return Response::Drop(DropReason::OldVersion);
    }
    // Authentication: only a plain 48-octet header followed by a MAC is accepted as signed
    // (extension fields are not echoed, and NTS is not offered on this path).
    let mut auth: Option<Result<&SymmetricKey, ()>> = None;
    if request.len() > HEADER_LEN {
        let mut r = Reader::new(&request[HEADER_LEN..]);
        match Trailer::read(&mut r) {
            Ok(Trailer::Mac(mac)) => {
                auth = Some(match keys.trusted_key(mac.key_id) {
                    Some(k) if k.verify(&request[..HEADER_LEN], mac.digest.as_bytes()) => Ok(k),
                    _ => Err(()),
                });
            }
            // A crypto-NAK sent to a server, or extension fields we do not serve: answer as
            // an unauthenticated request (the reply is never longer than 48 octets).
            Ok(Trailer::CryptoNak { .. }) | Err(_) => {
                if ntp_wire::NtpPacket::decode(request).is_err() {
                    return Response::Drop(DropReason::Malformed);
                }
            }
        }
    }
    if ctx.access.contains(Access::NOTRUST) && !matches!(auth, Some(Ok(_))) {
        return Response::Drop(DropReason::NotTrusted);
    }
    if let Some(l) = limiter {
        let from = std::net::SocketAddr::new(ctx.from, ctx.from_port);
        let limited = ctx.access.contains(Access::LIMITED);
        match l.account(from, 3, version, ctx.now_mono, limited) {
            RateDecision::Allow => {}
            RateDecision::LimitedMayKod if ctx.access.contains(Access::KOD) => {
                return write_kod(&header, out);
            }
            RateDecision::LimitedMayKod | RateDecision::Limited => {
                return Response::Drop(DropReason::RateLimited);
            }
        }
    }
    let reply = reply_header(system, version, Mode::Server, &header, ctx);
    let mut w = Writer::new(out);
    if reply.write(&mut w).is_err() {
        return Response::Drop(DropReason::Malformed);
    }
    match auth {
        None => Response::Reply {
            len: HEADER_LEN,
            key_id: None,
        },
        Some(Err(())) => {
            // The request's MAC failed: reply with a crypto-NAK (key id 0, no digest), 52
            // octets, shorter than the 68/72-octet request.
            if w.u32(0).is_err() {
                return Response::Drop(DropReason::Malformed);
            }
            Response::CryptoNak { len: w.position() }
        }
        Some(Ok(key)) => Response::Reply {
            len: HEADER_LEN,
            key_id: Some(key.id),
        },
    }
}

/// Complete a response in `out`: stamp `transmit` into a reply (read the clock as late as
/// possible before calling this) and sign it when the request was authenticated. Returns the
/// number of octets to send, or `None` for a drop.
pub fn finish(
    out: &mut [u8],
    response: Response,
    transmit: NtpTimestamp,
    keys: &impl KeyStore,
) -> Option<usize> {
    match response {
        Response::Drop(_) => None,
        Response::Kod { len } => Some(len),
        Response::CryptoNak { len } => {
            patch_transmit_timestamp(out, transmit);
            Some(len)
        }
        Response::Reply { len, key_id } => {
            patch_transmit_timestamp(out, transmit);
            let Some(id) = key_id else {
                return Some(len);
            };
            let key = keys.trusted_key(id)?;
            let mac = key.sign(out.get(..len)?);
            let mut w = Writer::new(out.get_mut(len..)?);
            Trailer::Mac(mac).write(&mut w).ok()?;
            Some(len + w.position())
        }
    }
}

fn write_kod(request: &NtpHeader, out: &mut [u8]) -> Response {
    // Classic KoD: LI 3, stratum 0, refid RATE, poll max(request poll, average), everything
    // else zero, and origin = receive = transmit = the request's transmit timestamp.
    let kod = NtpHeader {
        leap: LeapIndicator::Unsynchronized,
        version: request.version,
        mode: Mode::Server,
        stratum: 0,
        poll: request
            .poll
            .clamp(ratelimit::DEFAULT_AVERAGE_LOG2 as i8, 17),
        precision: 0,
        root_delay: NtpShort::ZERO,
        root_dispersion: NtpShort::ZERO,
        reference_id: RefId::RATE,
        reference_timestamp: NtpTimestamp::ZERO,
        origin_timestamp: request.transmit_timestamp,
        receive_timestamp: request.transmit_timestamp,
        transmit_timestamp: request.transmit_timestamp,
    };
    match kod.write(&mut Writer::new(out)) {
        Ok(()) => Response::Kod { len: HEADER_LEN },
        Err(_) => Response::Drop(DropReason::Malformed),
    }
}

/// Overwrite the transmit timestamp of a reply in `out` (octets 40..48).
pub fn patch_transmit_timestamp(out: &mut [u8], t: NtpTimestamp) {
    if let Some(slot) = out.get_mut(40..48) {
        slot.copy_from_slice(&t.to_bits().to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ntp_wire::{MacAlgorithm, NtpPacket};

    fn request(version: u8, poll: i8) -> Vec<u8> {
        NtpHeader {
            leap: LeapIndicator::Unsynchronized,
            version,
            mode: Mode::Client,
            poll,
            transmit_timestamp: NtpTimestamp::from_bits(0x1122_3344_5566_7788),
            ..NtpHeader::default()
        }
        .to_bytes()
        .to_vec()
    }

    fn ctx(access: Access, now: f64) -> RequestContext {
        RequestContext {
            from: "192.0.2.1".parse().unwrap(),
            from_port: 40000,
            access,
            receive_timestamp: NtpTimestamp::from_bits(0xeeb2_2828_0000_0000),
            now_mono: now,
        }
    }

    fn synced() -> SystemState {
        SystemState {
            leap: LeapIndicator::NoWarning,
            stratum: 3,
            precision: -24,
            root_delay: NtpShort::from_seconds_f64(0.01),
            root_dispersion: NtpShort::from_seconds_f64(0.02),
            reference_id: RefId::from_ipv4("10.123.21.2".parse().unwrap()),
            reference_timestamp: NtpTimestamp::from_bits(0xeeb2_2800_0000_0000),
        }
    }

    struct OneKey(SymmetricKey);
    impl KeyStore for OneKey {
        fn trusted_key(&self, id: u32) -> Option<&SymmetricKey> {
            (id == self.0.id).then_some(&self.0)
        }
    }

    #[test]
    fn reply_echoes_transmit_as_origin_and_version() {
        let mut out = [0u8; MAX_REPLY_LEN];
        let r = respond(
            &request(3, 6),
            &ctx(Access::NONE, 0.0),
            &synced(),
            None,
            &NoKeys,
            &mut out,
        );
        assert_eq!(
            r,
            Response::Reply {
                len: 48,
                key_id: None
            }
        );
        let h = NtpHeader::decode(&out).unwrap();
        assert_eq!(h.mode, Mode::Server);
        assert_eq!(h.version, 3);
        assert_eq!(h.stratum, 3);
        assert_eq!(h.origin_timestamp.to_bits(), 0x1122_3344_5566_7788);
        assert_eq!(h.receive_timestamp.to_bits(), 0xeeb2_2828_0000_0000);
        assert_eq!(
            finish(
                &mut out,
                r,
                NtpTimestamp::from_bits(0xeeb2_2828_0000_0001),
                &NoKeys
            ),
            Some(48)
        );
        assert_eq!(
            NtpHeader::decode(&out)
                .unwrap()
                .transmit_timestamp
                .to_bits(),
            0xeeb2_2828_0000_0001
        );
    }

    #[test]
    fn unsynchronised_server_sends_stratum_0_leap_3() {
        let mut out = [0u8; MAX_REPLY_LEN];
        respond(
            &request(4, 6),
            &ctx(Access::NONE, 0.0),
            &SystemState::default(),
            None,
            &NoKeys,
            &mut out,
        );
        let h = NtpHeader::decode(&out).unwrap();
        assert_eq!(h.stratum, 0);
        assert_eq!(h.leap, LeapIndicator::Unsynchronized);
    }

    #[test]
    fn ignore_noserve_and_version_restrictions() {
        let mut out = [0u8; MAX_REPLY_LEN];
        let s = synced();
        assert_eq!(
            respond(
                &request(4, 6),
                &ctx(Access::IGNORE, 0.0),
                &s,
                None,
                &NoKeys,
                &mut out
            ),
            Response::Drop(DropReason::Ignored)
        );
        assert_eq!(
            respond(
                &request(4, 6),
                &ctx(Access::NOSERVE, 0.0),
                &s,
                None,
                &NoKeys,
                &mut out
            ),
            Response::Drop(DropReason::NoServe)
        );
        assert_eq!(
            respond(
                &request(3, 6),
                &ctx(Access::VERSION, 0.0),
                &s,
                None,
                &NoKeys,
                &mut out
            ),
            Response::Drop(DropReason::OldVersion)
        );
        assert_eq!(
            respond(
                &request(4, 6),
                &ctx(Access::NOTRUST, 0.0),
                &s,
                None,
                &NoKeys,
                &mut out
            ),
            Response::Drop(DropReason::NotTrusted)
        );
    }

    #[test]
    fn bad_versions_and_modes_are_dropped() {
        let mut out = [0u8; MAX_REPLY_LEN];
        let s = synced();
        for v in [0u8, 5, 7] {
            assert_eq!(
                respond(
                    &request(v, 6),
                    &ctx(Access::NONE, 0.0),
                    &s,
                    None,
                    &NoKeys,
                    &mut out
                ),
                Response::Drop(DropReason::BadVersion)
            );
        }
        let mut resp = request(4, 6);
        resp[0] = (resp[0] & !7) | 4;
        assert_eq!(
            respond(&resp, &ctx(Access::NONE, 0.0), &s, None, &NoKeys, &mut out),
            Response::Drop(DropReason::BadMode)
        );
        assert_eq!(
            respond(
                &request(4, 6)[..47],
                &ctx(Access::NONE, 0.0),
                &s,
                None,
                &NoKeys,
                &mut out
            ),
            Response::Drop(DropReason::Malformed)
        );
        assert_eq!(
            respond(&[], &ctx(Access::NONE, 0.0), &s, None, &NoKeys, &mut out),
            Response::Drop(DropReason::Malformed)
        );
    }

    #[test]
    fn limited_kod_matches_the_classic_vector() {
        let mut out = [0u8; MAX_REPLY_LEN];
        let s = synced();
        let l = RateLimiter::new(RateLimitConfig::default(), (9, 9));
        let access = Access::LIMITED | Access::KOD;
        let mut kinds = vec![];
        for i in 0..6 {
            let r = respond(
                &request(4, 0),
                &ctx(access, 10.0 + 0.2 * i as f64),
                &s,
                Some(&l),
                &NoKeys,
                &mut out,
            );
            if let Response::Kod { len } = r {
                let k = NtpHeader::decode(&out[..len]).unwrap();
                assert_eq!(&out[..4], &[0xe4, 0x00, 0x03, 0x00]);
                assert_eq!(k.reference_id, RefId::RATE);
                assert_eq!(k.origin_timestamp, k.transmit_timestamp);
                assert_eq!(k.receive_timestamp, k.transmit_timestamp);
            }
            kinds.push(std::mem::discriminant(&r));
        }
        let reply = std::mem::discriminant(&Response::Reply {
            len: 0,
            key_id: None,
        });
        let kod = std::mem::discriminant(&Response::Kod { len: 0 });
        let drop = std::mem::discriminant(&Response::Drop(DropReason::RateLimited));
        assert_eq!(kinds, vec![reply, kod, drop, drop, drop, drop]);
    }

    #[test]
    fn limited_without_kod_just_drops() {
        let mut out = [0u8; MAX_REPLY_LEN];
        let l = RateLimiter::new(RateLimitConfig::default(), (9, 9));
        respond(
            &request(4, 6),
            &ctx(Access::LIMITED, 0.0),
            &synced(),
            Some(&l),
            &NoKeys,
            &mut out,
        );
        let r = respond(
            &request(4, 6),
            &ctx(Access::LIMITED, 0.1),
            &synced(),
            Some(&l),
            &NoKeys,
            &mut out,
        );
        assert_eq!(r, Response::Drop(DropReason::RateLimited));
    }

    #[test]
    fn authenticated_request_gets_signed_reply_and_bad_mac_gets_crypto_nak() {
        let key = SymmetricKey::new(5, MacAlgorithm::Sha1, b"serverkey");
        let keys = OneKey(key.clone());
        let mut req = request(4, 6);
        let mac = key.sign(&req);
        let mut tail = [0u8; 24];
        Trailer::Mac(mac)
            .write(&mut Writer::new(&mut tail))
            .unwrap();
        req.extend_from_slice(&tail);
        let mut out = [0u8; MAX_REPLY_LEN];
        let r = respond(
            &req,
            &ctx(Access::NOTRUST, 0.0),
            &synced(),
            None,
            &keys,
            &mut out,
        );
        assert_eq!(
            r,
            Response::Reply {
                len: 48,
                key_id: Some(5)
            }
        );
        let len = finish(&mut out, r, NtpTimestamp::from_bits(77), &keys).unwrap();
        assert_eq!(len, 72);
        let p = NtpPacket::decode(&out[..len]).unwrap();
        let Some(Trailer::Mac(m)) = p.trailer else {
            panic!()
        };
        assert!(key.verify(&out[..48], m.digest.as_bytes()));
        assert_eq!(p.header.transmit_timestamp.to_bits(), 77);
        // Corrupt the request's digest: crypto-NAK, 52 octets.
        let n = req.len();
        req[n - 1] ^= 0x55;
        let r = respond(
            &req,
            &ctx(Access::NONE, 0.0),
            &synced(),
            None,
            &keys,
            &mut out,
        );
        assert_eq!(r, Response::CryptoNak { len: 52 });
        // Unknown key id: also a NAK, never a signed reply.
        let other = SymmetricKey::new(6, MacAlgorithm::Sha1, b"serverkey");
        let mut req2 = request(4, 6);
        let mut tail = [0u8; 24];
        Trailer::Mac(other.sign(&req2))
            .write(&mut Writer::new(&mut tail))
            .unwrap();
        req2.extend_from_slice(&tail);
        assert_eq!(
            respond(
                &req2,
                &ctx(Access::NONE, 0.0),
                &synced(),
                None,
                &keys,
                &mut out
            ),
            Response::CryptoNak { len: 52 }
        );
    }

    #[test]
    fn no_reply_is_ever_longer_than_its_request() {
        // Every request shape and every restriction: reply bytes <= request bytes.
        let key = SymmetricKey::new(5, MacAlgorithm::Md5, b"k");
        let keys = OneKey(key.clone());
        let mut shapes: Vec<Vec<u8>> = vec![request(4, 6), request(1, 17), request(2, -3)];
        let mut signed = request(4, 6);
        let mut tail = [0u8; 20];
        Trailer::Mac(key.sign(&signed))
            .write(&mut Writer::new(&mut tail))
            .unwrap();
        signed.extend_from_slice(&tail);
        shapes.push(signed.clone());
        signed[60] ^= 1;
        shapes.push(signed);
        let mut nak = request(4, 6);
        nak.extend_from_slice(&[0, 0, 0, 0]);
        shapes.push(nak);
        let accesses = [
            Access::NONE,
            Access::LIMITED | Access::KOD,
            Access::NOTRUST,
            Access::VERSION,
        ];
        let l = RateLimiter::new(RateLimitConfig::default(), (1, 1));
        for (i, req) in shapes.iter().enumerate() {
            for a in accesses {
                for t in 0..3 {
                    let mut out = [0u8; MAX_REPLY_LEN];
                    let r = respond(
                        req,
                        &ctx(a, i as f64 + t as f64 * 0.1),
                        &synced(),
                        Some(&l),
                        &keys,
                        &mut out,
                    );
                    let len = finish(&mut out, r, NtpTimestamp::from_bits(1), &keys).unwrap_or(0);
                    assert!(len <= req.len(), "shape {i} {a:?}: {len} > {}", req.len());
                }
            }
        }
    }
}
