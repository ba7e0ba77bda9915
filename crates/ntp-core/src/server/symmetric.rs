//! The stateless answer to a symmetric active (mode 1) packet from a source that is not a
//! configured peer (RFC 5905 section 9.2's "no association" row; classic `fast_xmit` with
//! `MODE_PASSIVE`). No ephemeral passive association is ever built: the answer is one mode 2
//! reply, signed, only to a packet that is authenticated by a trusted key and whose source
//! `restrict` allows (no `ignore`, `noserve` or `nopeer`). Unauthenticated mode 1 gets
//! nothing, so a forged source cannot use us; and the reply (header + MAC by the same key) is
//! never longer than the request.

use ntp_wire::mac::Trailer;
use ntp_wire::packet::HEADER_LEN;
use ntp_wire::{Mode, Reader, Writer};

use super::{
    Access, DropReason, KeyStore, RateDecision, RateLimiter, RequestContext, Response, SystemState,
};

/// Answer one datagram whose mode is 1 (symmetric active) from a source with no association,
/// with a stateless mode 2 reply into `out` (at least [`super::MAX_REPLY_LEN`] octets). Pass
/// the result to [`super::finish`], which stamps and signs it.
///
/// Drop reasons: `Ignored` (`restrict ignore`), `NoServe` (`noserve` or `nopeer`),
/// `NotTrusted` (no MAC, an unknown key or a MAC that does not verify), `RateLimited`, and
/// the format checks of [`super::respond`].
pub fn respond_symmetric(
    request: &[u8],
    ctx: &RequestContext,
    system: &SystemState,
    limiter: Option<&RateLimiter>,
    keys: &impl KeyStore,
    out: &mut [u8],
) -> Response {
    let (version, header) = match super::admit(request, ctx, Mode::SymmetricActive) {
        Ok(v) => v,
        Err(drop) => return drop,
    };
    // `nopeer` refuses symmetric service: counted with `noserve`.
    if ctx.access.contains(Access::NOSERVE) || ctx.access.contains(Access::NOPEER) {
        return Response::Drop(DropReason::NoServe);
    }
    if ctx.access.contains(Access::VERSION) && version != 4 {
        return Response::Drop(DropReason::OldVersion);
    }
    // Only a header followed directly by a MAC of a trusted key that verifies, and nothing
    // after it. The check is here, before anything is written.
    let key = request.get(HEADER_LEN..).and_then(|rest| {
        let mut r = Reader::new(rest);
        match Trailer::read(&mut r) {
            Ok(Trailer::Mac(mac)) if r.is_empty() => keys
                .trusted_key(mac.key_id)
                .filter(|k| k.verify(&request[..HEADER_LEN], mac.digest.as_bytes())),
            _ => None,
        }
    });
    let Some(key) = key else {
        return Response::Drop(DropReason::NotTrusted);
    };
    if let Some(l) = limiter {
        let from = std::net::SocketAddr::new(ctx.from, ctx.from_port);
        let limited = ctx.access.contains(Access::LIMITED);
        // No KoD to a peer: a limited one is simply not answered.
        if l.account(from, 1, version, ctx.now_mono, limited) != RateDecision::Allow {
            return Response::Drop(DropReason::RateLimited);
        }
    }
    let reply = super::reply_header(system, version, Mode::SymmetricPassive, &header, ctx);
    if reply.write(&mut Writer::new(out)).is_err() {
        return Response::Drop(DropReason::Malformed);
    }
    Response::Reply {
        len: HEADER_LEN,
        key_id: Some(key.id),
    }
}

#[cfg(test)]
mod tests {
    use ntp_wire::{
        LeapIndicator, MacAlgorithm, NtpHeader, NtpShort, NtpTimestamp, RefId, SymmetricKey,
    };

    use super::super::{finish, MAX_REPLY_LEN};
    use super::*;

    struct OneKey(SymmetricKey);
    impl KeyStore for OneKey {
        fn trusted_key(&self, id: u32) -> Option<&SymmetricKey> {
            (id == self.0.id).then_some(&self.0)
        }
    }

    fn key() -> SymmetricKey {
        SymmetricKey::new(1, MacAlgorithm::Md5, b"peer secret")
    }

    fn mode1(k: Option<&SymmetricKey>) -> Vec<u8> {
        let h = NtpHeader {
            leap: LeapIndicator::NoWarning,
            version: 4,
            mode: Mode::SymmetricActive,
            stratum: 3,
            poll: 6,
            transmit_timestamp: NtpTimestamp::from_bits(0x1122_3344_5566_7788),
            ..NtpHeader::default()
        };
        let mut b = h.to_bytes().to_vec();
        if let Some(k) = k {
            let mut buf = [0u8; 64];
            let mut w = Writer::new(&mut buf);
            Trailer::Mac(k.sign(&b)).write(&mut w).expect("fits");
            let n = w.position();
            b.extend_from_slice(&buf[..n]);
        }
        b
    }

    fn ctx(access: Access) -> RequestContext {
        RequestContext {
            from: "192.0.2.1".parse().expect("addr"),
            from_port: 123,
            access,
            receive_timestamp: NtpTimestamp::from_bits(0xeeb2_2828_0000_0000),
            now_mono: 0.0,
        }
    }

    fn synced() -> SystemState {
        SystemState {
            leap: LeapIndicator::NoWarning,
            stratum: 3,
            precision: -24,
            root_delay: NtpShort::from_seconds_f64(0.01),
            root_dispersion: NtpShort::from_seconds_f64(0.02),
            reference_id: RefId::LOCL,
            reference_timestamp: NtpTimestamp::from_bits(0xeeb2_2800_0000_0000),
        }
    }

    fn answer(req: &[u8], access: Access) -> (Response, [u8; MAX_REPLY_LEN]) {
        let mut out = [0u8; MAX_REPLY_LEN];
        let r = respond_symmetric(req, &ctx(access), &synced(), None, &OneKey(key()), &mut out);
        (r, out)
    }

    #[test]
    fn authenticated_mode_1_gets_a_signed_mode_2_no_longer_than_it() {
        let req = mode1(Some(&key()));
        let (r, mut out) = answer(&req, Access::NONE);
        let tx = NtpTimestamp::from_bits(0xeeb2_2828_0000_0001);
        let len = finish(&mut out, r, tx, &OneKey(key())).expect("a reply");
        assert!(len <= req.len(), "{len} > {}", req.len());
        let p = ntp_wire::NtpPacket::decode(&out[..len]).expect("decodes");
        assert_eq!(p.header.mode, Mode::SymmetricPassive);
        assert_eq!(p.header.stratum, 3);
        assert_eq!(p.header.origin_timestamp.to_bits(), 0x1122_3344_5566_7788);
        assert_eq!(p.header.transmit_timestamp, tx);
        let Some(Trailer::Mac(mac)) = p.trailer else {
            panic!("no MAC: {:?}", p.trailer);
        };
        assert!(key().verify(&out[..HEADER_LEN], mac.digest.as_bytes()));
    }

    #[test]
    fn unauthenticated_or_forged_mode_1_is_dropped() {
        let other = SymmetricKey::new(2, MacAlgorithm::Md5, b"peer secret");
        let wrong = SymmetricKey::new(1, MacAlgorithm::Md5, b"guess");
        let mut trailing = mode1(Some(&key()));
        trailing.extend_from_slice(&[0; 4]);
        for req in [
            mode1(None),
            mode1(Some(&other)),
            mode1(Some(&wrong)),
            trailing,
        ] {
            assert_eq!(
                answer(&req, Access::NONE).0,
                Response::Drop(DropReason::NotTrusted)
            );
        }
    }

    #[test]
    fn nopeer_noserve_and_ignore_refuse_even_authenticated_peers() {
        let req = mode1(Some(&key()));
        for (access, why) in [
            (Access::NOPEER, DropReason::NoServe),
            (Access::NOSERVE, DropReason::NoServe),
            (Access::IGNORE, DropReason::Ignored),
        ] {
            assert_eq!(answer(&req, access).0, Response::Drop(why));
        }
    }

    proptest::proptest! {
        /// No amplification: whatever arrives (a signed mode 1 with its bytes mutated, or
        /// garbage), a reply is never longer than the request.
        #[test]
        fn a_reply_is_never_longer_than_its_request(
            flips in proptest::collection::vec((0usize..80, proptest::num::u8::ANY), 0..4),
            cut in 0usize..80,
            garbage in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
        ) {
            let mut req = mode1(Some(&key()));
            for (i, b) in flips {
                if let Some(x) = req.get_mut(i) {
                    *x ^= b;
                }
            }
            req.truncate(req.len().saturating_sub(cut % 8));
            for r in [req, garbage] {
                let (resp, mut out) = answer(&r, Access::NONE);
                let tx = NtpTimestamp::from_bits(0xeeb2_2828_0000_0001);
                if let Some(len) = finish(&mut out, resp, tx, &OneKey(key())) {
                    proptest::prop_assert!(len <= r.len(), "{} > {}", len, r.len());
                }
            }
        }
    }

    #[test]
    fn other_modes_are_not_answered_here() {
        let mut req = mode1(Some(&key()));
        req[0] = (req[0] & !7) | 2;
        assert_eq!(
            answer(&req, Access::NONE).0,
            Response::Drop(DropReason::BadMode)
        );
    }
}
