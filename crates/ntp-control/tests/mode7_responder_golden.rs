//! Golden tests: replay classic ntpdc's captured requests against the responder fed with
//! the values of classic's captured replies; every reply datagram must equal the captured one
//! octet for octet, except the octets classic leaves stale (listed in
//! `mode7_responder_support::stale_ranges`), which we must send as zeros.

mod mode7_responder_support;

use mode7_responder_support::*;
use ntp_control::mode7::responder::{NoKeys, Responder, TrustedKeys};
use ntp_wire::mode7::{PrivateHeader, RequestCode, REQUEST_TSTAMP_OFFSET};
use ntp_wire::NtpTimestamp;

fn check(vector: &str, data: &mut FakeData, keys: &dyn TrustedKeys) {
    let (request, expected) = exchange(vector);
    // The authenticated capture's timestamp is the client's clock: receive "now".
    let tstamp = u64::from_be_bytes(
        request[REQUEST_TSTAMP_OFFSET..REQUEST_TSTAMP_OFFSET + 8]
            .try_into()
            .unwrap(),
    );
    let meta = loopback_meta(keys, NtpTimestamp::from_bits(tstamp));
    let got = Responder::new().handle(&request, &meta, data);
    assert_eq!(got.len(), expected.len(), "{vector}: datagram count");
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g.len(), e.len(), "{vector} #{i}: length");
        assert_eq!(g[..8], e[..8], "{vector} #{i}: header");
        assert_eq!(
            &mask_stale(g),
            g,
            "{vector} #{i}: stale octets must be sent as zeros"
        );
        assert_eq!(mask_stale(g), mask_stale(e), "{vector} #{i}: items");
    }
}

#[test]
fn every_captured_report_is_reproduced() {
    let keys = vec![vector_key()];
    for v in GOLDEN {
        let mut data = FakeData::classic();
        check(v, &mut data, &keys);
    }
}

#[test]
fn sysinfo_matches_the_capture_except_the_stale_unused_octets() {
    let (_, expected) = exchange("ntpdc-c-sysinfo");
    let mut data = FakeData::classic();
    let meta = loopback_meta(&NoKeys, NtpTimestamp::ZERO);
    let got = Responder::new().handle(&exchange("ntpdc-c-sysinfo").0, &meta, &mut data);
    let (g, e) = (&got[0], &expected[0]);
    let differing: Vec<usize> = (0..g.len()).filter(|&i| g[i] != e[i]).collect();
    // Only `unused4` (item octets 60..64, classic sent ff ff ff ff) and a stale octet of the
    // unused `peer6` (item octet 72, classic sent 01) differ.
    assert_eq!(differing, vec![68, 69, 70, 71, 80]);
    // The host-order poll and the flags made it through.
    assert_eq!(&g[8 + 28..8 + 32], &[6, 0, 0, 0]);
}

#[test]
fn old_implementation_gets_the_56_octet_sysinfo() {
    let (request, expected) = exchange("mode7-errors/impl-xntpd-old-sysinfo");
    let mut data = FakeData::default();
    data.absorb(&expected);
    let meta = loopback_meta(&NoKeys, NtpTimestamp::ZERO);
    let got = Responder::new().handle(&request, &meta, &mut data);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].len(), 64);
    assert_eq!(mask_stale(&got[0]), mask_stale(&expected[0]));
}

#[test]
fn showpeer_finds_the_peer_named_in_the_request() {
    let (request, _) = exchange("ntpdc-c-showpeer-10.123.21.2");
    let mut data = FakeData::classic();
    // Put other peers in front: the responder must pick by address and port.
    let mut other = data.peers[0].clone();
    other.srcadr = "10.9.9.9".parse().unwrap();
    other.associd = 1;
    data.peers.insert(0, other);
    let meta = loopback_meta(&NoKeys, NtpTimestamp::ZERO);
    let got = Responder::new().handle(&request, &meta, &mut data);
    let h = PrivateHeader::decode(&got[0]).unwrap();
    assert_eq!((h.request, h.nitems), (RequestCode::PeerInfo, 1));
    assert_eq!(&got[0][8 + 4..8 + 8], &[10, 123, 21, 2]);
    assert_eq!(&got[0][8 + 26..8 + 28], &10098u16.to_be_bytes());
}

#[test]
fn showpeer_of_an_unknown_peer_is_no_data() {
    let (mut request, _) = exchange("ntpdc-c-showpeer-10.123.21.2");
    request[8..12].copy_from_slice(&[10, 1, 1, 1]);
    let meta = loopback_meta(&NoKeys, NtpTimestamp::ZERO);
    let got = Responder::new().handle(&request, &meta, &mut FakeData::classic());
    assert_eq!(got, vec![vec![0x97, 0, 3, 2, 0x40, 0, 0, 0]]);
}
