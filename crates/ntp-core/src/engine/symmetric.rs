//! Symmetric active mode, the `peer` association (RFC 5905 sections 8 and 9, modes 1 and 2,
//! the basic on-wire protocol; not interleaved): what a poll sends (our system state like a
//! server reply, org = the peer's last transmit timestamp, rec = when that packet arrived,
//! xmt = our clock now), the receive checks (a MAC by the association's key is required;
//! TEST1 duplicate; TEST2 origin, with org/rec recorded even from a bogus packet so that our
//! next packet lets the peer synchronise), and the loop test (section 11.2.1, classic's
//! `local_refid`) that keeps a peer synchronised to us out of selection. A child of `engine`
//! so that it shares the association state without widening the engine's public API.

use ntp_wire::packet::STRATUM_UNSPEC;
use ntp_wire::{Mode, NtpHeader, NtpPacket, NtpShort, NtpTimestamp, SymmetricKey, Trailer};

use super::{Engine, PacketError, Peer};
use crate::config::SourceKind;
use crate::mono::MonoTime;
use crate::snapshot::SourceId;

/// The timestamps of the basic symmetric exchange (RFC 5905 appendix A.5: `p.org`, `p.rec`,
/// `p.xmt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SymState {
    /// The peer's last transmit timestamp: our next packet's origin, and TEST1's reference.
    pub(super) org: NtpTimestamp,
    /// Our clock when that packet arrived: our next packet's receive timestamp.
    pub(super) rec: NtpTimestamp,
    /// Our last transmit timestamp: the origin a valid packet from the peer carries (TEST2).
    pub(super) xmt: NtpTimestamp,
}

impl Default for SymState {
    fn default() -> Self {
        SymState {
            org: NtpTimestamp::ZERO,
            rec: NtpTimestamp::ZERO,
            xmt: NtpTimestamp::ZERO,
        }
    }
}

/// True when `bytes` (the whole datagram, decoded as `trailer`) carries a MAC by `key` that
/// verifies. No key means no packet can verify: symmetric associations are authenticated only.
pub(super) fn mac_verifies(
    key: Option<&SymmetricKey>,
    bytes: &[u8],
    trailer: Option<Trailer>,
) -> bool {
    match (key, trailer) {
        (Some(key), Some(Trailer::Mac(mac))) if mac.key_id == key.id => {
            let covered = bytes.len().saturating_sub(4 + mac.digest.as_bytes().len());
            bytes
                .get(..covered)
                .is_some_and(|m| key.verify(m, mac.digest.as_bytes()))
        }
        _ => false,
    }
}

impl Engine {
    /// Send one mode 1 packet to symmetric peer `i` at clock reading `clock`. A peer without a
    /// key gets nothing (it could not accept an unsigned packet, and we would not accept its).
    pub(super) fn transmit_symmetric(
        &mut self,
        i: usize,
        now: MonoTime,
        hpoll: i8,
        clock: NtpTimestamp,
    ) {
        // The root dispersion grows at PHI since the last clock update, as in a server reply.
        let age = self.last_update.map_or(0.0, |t| now.secs_since(t).max(0.0));
        let root_disp = self.root_disp + self.cfg.tinker.dispersion * age;
        let Some(p) = self.peers.get_mut(i) else {
            return;
        };
        let Some(key) = p.cfg.key.as_ref() else {
            return;
        };
        let header = NtpHeader {
            leap: self.leap,
            version: p.cfg.version,
            mode: Mode::SymmetricActive,
            // Stratum 16 (unsynchronised) goes on the wire as 0, as classic sends it.
            stratum: if self.stratum >= STRATUM_UNSPEC {
                0
            } else {
                self.stratum
            },
            poll: hpoll,
            precision: self.cfg.precision,
            root_delay: NtpShort::from_seconds_f64(self.root_delay),
            root_dispersion: NtpShort::from_seconds_f64(root_disp),
            reference_id: self.refid,
            reference_timestamp: self.reftime,
            origin_timestamp: p.sym.org,
            receive_timestamp: p.sym.rec,
            // The real clock: the peer uses it as T3 (basic mode cannot hide it behind a
            // random cookie as client requests do).
            transmit_timestamp: clock,
        };
        let mut bytes = header.to_bytes().to_vec();
        let mac = key.sign(&bytes);
        let mut buf = [0u8; ntp_wire::mac::MAX_MAC_LEN];
        let mut w = ntp_wire::Writer::new(&mut buf);
        if Trailer::Mac(mac).write(&mut w).is_err() {
            return;
        }
        let n = w.position();
        bytes.extend_from_slice(buf.get(..n).unwrap_or(&[]));
        p.sym.xmt = clock;
        p.sent += 1;
        let to = p.cfg.address;
        self.actions.push_back(super::Action::Send {
            source: SourceId(i),
            to,
            bytes,
        });
    }

    /// A datagram from symmetric peer `i`: the checks of RFC 5905 section 8 for modes 1 and 2,
    /// then the common sample path.
    pub(super) fn receive_symmetric(
        &mut self,
        i: usize,
        now: MonoTime,
        bytes: &[u8],
        pkt: &NtpPacket,
        t4: NtpTimestamp,
    ) -> Result<(), PacketError> {
        let h = pkt.header;
        if !matches!(h.mode, Mode::SymmetricActive | Mode::SymmetricPassive) {
            return Err(PacketError::WrongMode(h.mode));
        }
        if !(3..=4).contains(&h.version) {
            return Err(PacketError::WrongVersion(h.version));
        }
        let p = &mut self.peers[i];
        // Authentication first: an unsigned or forged packet must not touch org/rec, or a
        // third party could make our next packet carry its timestamps.
        if !mac_verifies(p.cfg.key.as_ref(), bytes, pkt.trailer) {
            return Err(PacketError::AuthFailed);
        }
        if h.transmit_timestamp.is_zero() {
            return Err(PacketError::ZeroTimestamp);
        }
        // TEST1: the same packet again (a replay or a duplicate on the wire).
        if h.transmit_timestamp == p.sym.org {
            return Err(PacketError::Duplicate);
        }
        // TEST2: it must answer our last packet. Even when it does not (the peer has not heard
        // from us yet, or our packets crossed), remember its timestamps: our next packet then
        // carries them and the peer can use it.
        let bogus = h.origin_timestamp.is_zero() || h.origin_timestamp != p.sym.xmt;
        p.sym.org = h.transmit_timestamp;
        p.sym.rec = t4;
        if bogus {
            return Err(PacketError::BogusOrigin);
        }
        // T1 is our transmit timestamp the peer echoed.
        p.t1 = h.origin_timestamp;
        self.sample(i, now, &h, true, t4, bytes)?;
        // Show why a reachable peer is not selected (ntpq's flash, TEST12), as classic does.
        if self.symmetric_loop(&self.peers[i]) {
            self.peers[i].flash |= super::TEST_LOOP;
        }
        Ok(())
    }

    /// RFC 5905 section 11.2.1 / classic `local_refid`: a symmetric peer above stratum 1 whose
    /// refid names us is synchronised to us; selecting it would close a loop.
    pub(super) fn symmetric_loop(&self, p: &Peer) -> bool {
        let SourceKind::Symmetric { local_refid } = &p.cfg.kind else {
            return false;
        };
        p.stratum > 1 && (*local_refid == Some(p.refid) || self.cfg.local_refids.contains(&p.refid))
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use ntp_wire::{LeapIndicator, MacAlgorithm, NtpDuration, NtpHeader, RefId, Writer};

    use super::*;
    use crate::{Action, EngineConfig, SelectStatus, SourceConfig, TosConfig};

    const BASE: u32 = 3_950_000_000;

    fn addr(n: u8) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, n], 123))
    }

    fn key() -> SymmetricKey {
        SymmetricKey::new(1, MacAlgorithm::Sha1, b"peer secret")
    }

    /// A clock `offset` seconds ahead of true time `t` (seconds since BASE).
    fn clock_at(t: f64, offset: f64) -> NtpTimestamp {
        NtpTimestamp::from_parts(BASE, 0) + NtpDuration::from_seconds_f64(t + offset)
    }

    fn observer() -> EngineConfig {
        EngineConfig {
            observe_only: true,
            tos: TosConfig::default(),
            ..EngineConfig::default()
        }
    }

    /// Our peer association with the loop test's local address set to `me`.
    fn peer_cfg(to: SocketAddr, me: SocketAddr) -> SourceConfig {
        let mut c = SourceConfig::symmetric(to, key());
        c.kind = SourceKind::Symmetric {
            local_refid: Some(ntp_wire::RefId::from_ip(me.ip())),
        };
        c.minpoll = ntp_wire::PollInterval::new(4).expect("poll 4");
        c.maxpoll = ntp_wire::PollInterval::new(4).expect("poll 4");
        c
    }

    fn sends(e: &mut Engine) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some(a) = e.poll_action() {
            if let Action::Send { to, bytes, .. } = a {
                out.push((to, bytes));
            }
        }
        out
    }

    fn signed(k: &SymmetricKey, h: &NtpHeader) -> Vec<u8> {
        let mut b = h.to_bytes().to_vec();
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf);
        Trailer::Mac(k.sign(&b)).write(&mut w).expect("mac fits");
        let n = w.position();
        b.extend_from_slice(&buf[..n]);
        b
    }

    /// One engine with a single peer at addr(2); returns it and its first mode 1 packet.
    fn single() -> (Engine, NtpHeader) {
        single_with(observer())
    }

    fn single_with(cfg: EngineConfig) -> (Engine, NtpHeader) {
        let mut e = Engine::new(cfg, vec![peer_cfg(addr(2), addr(1))], MonoTime::ZERO);
        let t = e.poll_timeout().expect("a poll");
        e.handle_timeout(t, clock_at(t.as_secs_f64(), 0.0));
        let mut out = sends(&mut e);
        assert_eq!(out.len(), 1);
        let (to, bytes) = out.remove(0);
        assert_eq!(to, addr(2));
        let pkt = NtpPacket::decode(&bytes).expect("our packet decodes");
        assert!(mac_verifies(Some(&key()), &bytes, pkt.trailer));
        (e, pkt.header)
    }

    /// A synchronised stratum 2 peer's mode 1 packet answering `ours`.
    fn answer(ours: &NtpHeader, xmt_secs: f64) -> NtpHeader {
        NtpHeader {
            leap: LeapIndicator::NoWarning,
            version: 4,
            mode: Mode::SymmetricActive,
            stratum: 2,
            poll: 4,
            precision: -20,
            root_delay: NtpShort::from_seconds_f64(0.01),
            root_dispersion: NtpShort::from_seconds_f64(0.01),
            reference_id: RefId::from_ip(addr(9).ip()),
            reference_timestamp: clock_at(0.0, 0.0),
            origin_timestamp: ours.transmit_timestamp,
            receive_timestamp: ours.transmit_timestamp + NtpDuration::from_seconds_f64(0.01),
            transmit_timestamp: clock_at(xmt_secs, 0.0),
        }
    }

    #[test]
    fn our_packet_is_mode_1_with_system_state_and_zero_origin_at_first() {
        let (_, h) = single();
        assert_eq!(h.mode, Mode::SymmetricActive);
        // Unsynchronised: leap 3, stratum 0 on the wire, nothing heard yet.
        assert_eq!(h.leap, LeapIndicator::Unsynchronized);
        assert_eq!(h.stratum, 0);
        assert!(h.origin_timestamp.is_zero() && h.receive_timestamp.is_zero());
        assert!(!h.transmit_timestamp.is_zero());
    }

    #[test]
    fn valid_answer_is_a_sample_and_its_replay_a_duplicate() {
        let (mut e, ours) = single();
        let t = ours.transmit_timestamp;
        let a = signed(&key(), &answer(&ours, 20.0));
        let now = MonoTime::from_secs_f64(20.0);
        assert_eq!(
            e.handle_datagram(now, addr(2), &a, clock_at(20.02, 0.0)),
            Ok(())
        );
        let s = &e.snapshot().sources[0];
        assert!(s.symmetric && s.reach != 0 && s.authenticated);
        assert_eq!(s.received, 1);
        assert_eq!(
            e.handle_datagram(now, addr(2), &a, clock_at(20.03, 0.0)),
            Err(PacketError::Duplicate)
        );
        assert!(!t.is_zero());
    }

    #[test]
    fn origin_mismatch_is_bogus_but_its_timestamps_go_into_our_next_packet() {
        let (mut e, ours) = single();
        let mut h = answer(&ours, 20.0);
        h.origin_timestamp = ours.transmit_timestamp + NtpDuration::from_seconds_f64(1.0);
        let rx = clock_at(20.02, 0.0);
        let now = MonoTime::from_secs_f64(20.0);
        assert_eq!(
            e.handle_datagram(now, addr(2), &signed(&key(), &h), rx),
            Err(PacketError::BogusOrigin)
        );
        assert_eq!(e.snapshot().sources[0].received, 0);
        let t = e.poll_timeout().expect("next poll");
        e.handle_timeout(t, clock_at(t.as_secs_f64(), 0.0));
        let (_, bytes) = sends(&mut e).pop().expect("a packet");
        let next = NtpPacket::decode(&bytes).expect("decodes").header;
        assert_eq!(next.origin_timestamp, h.transmit_timestamp);
        assert_eq!(next.receive_timestamp, rx);
    }

    #[test]
    fn missing_wrong_or_forged_mac_is_rejected_and_changes_nothing() {
        let (mut e, ours) = single();
        let h = answer(&ours, 20.0);
        let now = MonoTime::from_secs_f64(20.0);
        let rx = clock_at(20.02, 0.0);
        let other_id = SymmetricKey::new(2, MacAlgorithm::Sha1, b"peer secret");
        let other_secret = SymmetricKey::new(1, MacAlgorithm::Sha1, b"guess");
        let mut forged = signed(&key(), &h);
        if let Some(b) = forged.last_mut() {
            *b ^= 1;
        }
        for bad in [
            h.to_bytes().to_vec(),
            signed(&other_id, &h),
            signed(&other_secret, &h),
            forged,
        ] {
            assert_eq!(
                e.handle_datagram(now, addr(2), &bad, rx),
                Err(PacketError::AuthFailed)
            );
        }
        let s = &e.snapshot().sources[0];
        assert_eq!((s.rejected, s.received, s.reach), (4, 0, 0));
        // None of them was recorded as the peer's last packet: the real one still counts.
        assert_eq!(
            e.handle_datagram(now, addr(2), &signed(&key(), &h), rx),
            Ok(())
        );
    }

    #[test]
    fn a_clock_step_restarts_the_exchange() {
        let (mut e, mut ours) = single_with(EngineConfig::default());
        // The peer is 1 s ahead: once the filter holds enough samples the first adjustment
        // steps the clock.
        let mut t = 20.0;
        let mut stepped = false;
        for _ in 0..10 {
            let mut h = answer(&ours, t + 1.0);
            h.receive_timestamp = ours.transmit_timestamp + NtpDuration::from_seconds_f64(1.01);
            let now = MonoTime::from_secs_f64(t);
            assert_eq!(
                e.handle_datagram(now, addr(2), &signed(&key(), &h), clock_at(t + 0.02, 0.0)),
                Ok(())
            );
            while let Some(a) = e.poll_action() {
                stepped |= matches!(a, Action::Clock(crate::ClockAction::Step(_)));
            }
            if stepped {
                break;
            }
            let bytes = loop {
                let next = e.poll_timeout().expect("poll");
                t = next.as_secs_f64();
                e.handle_timeout(next, clock_at(t, 0.0));
                if let Some((_, b)) = sends(&mut e).pop() {
                    break b;
                }
            };
            ours = NtpPacket::decode(&bytes).expect("decodes").header;
            assert!(!ours.origin_timestamp.is_zero());
            t += 0.5;
        }
        assert!(stepped, "no step");
        // Our next packet carries nothing timed on the old scale.
        let bytes = loop {
            let next = e.poll_timeout().expect("poll");
            e.handle_timeout(next, clock_at(next.as_secs_f64(), 1.0));
            if let Some((_, b)) = sends(&mut e).pop() {
                break b;
            }
        };
        let next = NtpPacket::decode(&bytes).expect("decodes").header;
        assert!(next.origin_timestamp.is_zero() && next.receive_timestamp.is_zero());
    }

    #[test]
    fn peer_without_key_sends_nothing_and_accepts_nothing() {
        let mut c = peer_cfg(addr(2), addr(1));
        c.key = None;
        let mut e = Engine::new(observer(), vec![c], MonoTime::ZERO);
        let t = e.poll_timeout().expect("a poll");
        e.handle_timeout(t, clock_at(t.as_secs_f64(), 0.0));
        assert!(sends(&mut e).is_empty());
        let h = answer(&NtpHeader::default(), 1.0);
        assert_eq!(
            e.handle_datagram(t, addr(2), &h.to_bytes(), clock_at(1.0, 0.0)),
            Err(PacketError::AuthFailed)
        );
    }

    #[test]
    fn a_server_reply_from_a_peer_address_is_the_wrong_mode() {
        let (mut e, ours) = single();
        let mut h = answer(&ours, 20.0);
        h.mode = Mode::Server;
        assert_eq!(
            e.handle_datagram(
                MonoTime::from_secs_f64(20.0),
                addr(2),
                &signed(&key(), &h),
                clock_at(20.02, 0.0)
            ),
            Err(PacketError::WrongMode(Mode::Server))
        );
    }

    #[test]
    fn a_looping_peer_does_not_outvote_a_good_server() {
        // A server (client mode) and a peer that is synchronised to us: the peer is not a
        // candidate, and must not count against the server's majority either.
        let mut server = SourceConfig::server(addr(3));
        server.minpoll = ntp_wire::PollInterval::new(4).expect("poll 4");
        server.maxpoll = server.minpoll;
        let mut e = Engine::new(
            observer(),
            vec![server, peer_cfg(addr(2), addr(1))],
            MonoTime::ZERO,
        );
        let mut t = 0.0;
        for _ in 0..40 {
            let next = e.poll_timeout().expect("poll");
            t = next.as_secs_f64();
            e.handle_timeout(next, clock_at(t, 0.0));
            for (to, bytes) in sends(&mut e) {
                let req = NtpPacket::decode(&bytes).expect("decodes").header;
                let rx = clock_at(t + 0.005, 0.0);
                let now = MonoTime::from_secs_f64(t + 0.01);
                let reply = if to == addr(3) {
                    let mut h = answer(&req, t);
                    h.mode = Mode::Server;
                    h.receive_timestamp = rx;
                    h.transmit_timestamp = rx;
                    h.to_bytes().to_vec()
                } else {
                    let mut h = answer(&req, t + 0.006);
                    h.receive_timestamp = rx;
                    h.stratum = 3;
                    h.reference_id = RefId::from_ip(addr(1).ip());
                    signed(&key(), &h)
                };
                let _ = e.handle_datagram(now, to, &reply, clock_at(t + 0.01, 0.0));
            }
        }
        let s = e.snapshot();
        let peer = &s.sources[1];
        assert!(
            peer.reach != 0 && peer.rejected == 0 && peer.flash == crate::engine::TEST_LOOP,
            "the peer was heard, only its loop keeps it out: {peer:?}"
        );
        assert_eq!(s.system.sys_peer, Some(SourceId(0)), "after {t} s: {s:?}");
    }

    /// Packets in flight: (arrival time, to engine index, from, bytes).
    type Wire = Vec<(f64, usize, SocketAddr, Vec<u8>)>;

    /// A clock `offset` s ahead of true time at true time `t`, running `err_ppm` fast plus the
    /// frequency correction its engine set (when `disciplined`, clock actions are applied).
    #[derive(Debug, Clone, Copy)]
    struct Model {
        offset: f64,
        err_ppm: f64,
        cmd_ppm: f64,
        t: f64,
        disciplined: bool,
    }

    impl Model {
        fn fixed(offset: f64) -> Self {
            Model {
                offset,
                err_ppm: 0.0,
                cmd_ppm: 0.0,
                t: 0.0,
                disciplined: false,
            }
        }

        fn advance(&mut self, to: f64) {
            self.offset += (self.err_ppm + self.cmd_ppm) * 1e-6 * (to - self.t);
            self.t = to;
        }

        fn read(&self) -> NtpTimestamp {
            clock_at(self.t, self.offset)
        }
    }

    /// Two engines on a fake wire (one-way delay `delay`): A (addr 1) has the local clock at
    /// stratum 10 and peer B; B (addr 2) has peer A. A only observes; B disciplines its clock
    /// model if that is `disciplined`. Runs `secs` seconds of virtual time.
    fn pair(mut clocks: [Model; 2], delay: f64, secs: f64) -> (Engine, Engine, [Model; 2]) {
        let mut local = SourceConfig::local(10, RefId::LOCL);
        local.minpoll = ntp_wire::PollInterval::new(4).expect("poll 4");
        let a = Engine::new(
            EngineConfig {
                seed: 1,
                ..observer()
            },
            vec![local, peer_cfg(addr(2), addr(1))],
            MonoTime::ZERO,
        );
        let b_cfg = if clocks[1].disciplined {
            EngineConfig::default()
        } else {
            observer()
        };
        let b = Engine::new(
            EngineConfig { seed: 2, ..b_cfg },
            vec![peer_cfg(addr(1), addr(2))],
            MonoTime::ZERO,
        );
        let mut engines = [a, b];
        let me = [addr(1), addr(2)];
        let mut wire: Wire = Vec::new();
        let mut now = 0.0;
        while now < secs {
            let timers = engines
                .iter()
                .map(|e| e.poll_timeout().map_or(f64::INFINITY, |t| t.as_secs_f64()));
            let next_timer = timers.fold(f64::INFINITY, f64::min);
            let next_pkt = wire.iter().map(|w| w.0).fold(f64::INFINITY, f64::min);
            now = next_timer.min(next_pkt);
            for c in &mut clocks {
                c.advance(now);
            }
            if next_pkt <= next_timer {
                let k = wire
                    .iter()
                    .position(|w| w.0 == next_pkt)
                    .expect("the earliest packet");
                let (t, to, from, bytes) = wire.remove(k);
                let _ = engines[to].handle_datagram(
                    MonoTime::from_secs_f64(t),
                    from,
                    &bytes,
                    clocks[to].read(),
                );
            } else {
                for (k, e) in engines.iter_mut().enumerate() {
                    e.handle_timeout(MonoTime::from_secs_f64(now), clocks[k].read());
                }
            }
            for k in 0..2 {
                while let Some(a) = engines[k].poll_action() {
                    let c = &mut clocks[k];
                    match a {
                        Action::Send { to, bytes, .. } => {
                            let dest = me.iter().position(|m| *m == to).expect("a known peer");
                            wire.push((now + delay, dest, me[k], bytes));
                        }
                        Action::Clock(crate::ClockAction::Step(d)) if c.disciplined => {
                            c.offset += d.to_seconds_f64();
                        }
                        Action::Clock(crate::ClockAction::SetFrequency(f)) if c.disciplined => {
                            c.cmd_ppm = f;
                        }
                        _ => {}
                    }
                }
            }
        }
        let [a, b] = engines;
        (a, b, clocks)
    }

    #[test]
    fn a_disciplined_peer_follows_the_other_clock() {
        // B starts 50 ms behind A and runs 30 ppm fast; it must end up on A's time.
        let b_clock = Model {
            offset: -0.05,
            err_ppm: 30.0,
            disciplined: true,
            ..Model::fixed(0.0)
        };
        let (_, b, clocks) = pair([Model::fixed(0.0), b_clock], 0.005, 4.0 * 3600.0);
        let error = clocks[1].offset - clocks[0].offset;
        assert!(error.abs() < 0.002, "B is {error:+.6} s off A");
        assert!(
            (b.frequency() + 30.0).abs() < 3.0,
            "frequency {}",
            b.frequency()
        );
        assert_eq!(b.system_snapshot().stratum, 12);
    }

    #[test]
    fn two_peers_converge_and_measure_the_offset_between_their_clocks() {
        // B's clock is 0.25 s behind A's: B measures A at +0.25 s.
        let (a, b, _) = pair([Model::fixed(0.1), Model::fixed(-0.15)], 0.005, 1800.0);
        let bs = b.snapshot();
        let pa = &bs.sources[0];
        assert!(pa.reach != 0, "B never heard A: {pa:?}");
        assert_eq!(pa.select, SelectStatus::SystemPeer);
        assert!((pa.offset - 0.25).abs() < 0.001, "offset {}", pa.offset);
        assert!((pa.delay - 0.01).abs() < 0.002, "delay {}", pa.delay);
        assert_eq!(pa.stratum, 11);
        assert_eq!(bs.system.stratum, 12);
        // A hears B (synchronised to A now), but B names A as its reference: a loop, never
        // selected; A stays on its local clock.
        let as_ = a.snapshot();
        let pb = &as_.sources[1];
        assert!(pb.reach != 0 && pb.received > 0, "A never heard B: {pb:?}");
        assert_eq!(pb.stratum, 12);
        assert_eq!(pb.refid, RefId::from_ip(addr(1).ip()));
        assert_ne!(pb.select, SelectStatus::SystemPeer);
        assert_eq!(pb.flash, super::super::TEST_LOOP);
        assert_eq!(as_.system.sys_peer, Some(SourceId(0)));
        assert_eq!(as_.system.stratum, 11);
    }

    #[test]
    fn a_peer_synchronised_to_us_is_not_selected_but_another_is() {
        for (refid, selected) in [
            (RefId::from_ip(addr(1).ip()), false),
            (RefId::from_ip(addr(9).ip()), true),
        ] {
            let (mut e, mut ours) = single();
            let mut t = 20.0;
            for _ in 0..4 {
                let mut h = answer(&ours, t);
                h.reference_id = refid;
                let now = MonoTime::from_secs_f64(t);
                assert_eq!(
                    e.handle_datagram(now, addr(2), &signed(&key(), &h), clock_at(t, 0.0)),
                    Ok(())
                );
                let bytes = loop {
                    let next = e.poll_timeout().expect("poll");
                    t = next.as_secs_f64();
                    e.handle_timeout(next, clock_at(t, 0.0));
                    if let Some((_, bytes)) = sends(&mut e).pop() {
                        break bytes;
                    }
                };
                ours = NtpPacket::decode(&bytes).expect("decodes").header;
                t += 0.5;
            }
            let s = e.snapshot();
            assert_eq!(
                s.sources[0].select == SelectStatus::SystemPeer,
                selected,
                "refid {refid:?}: {:?}",
                s.sources[0]
            );
            assert_eq!(s.system.sys_peer.is_some(), selected);
        }
    }
}
