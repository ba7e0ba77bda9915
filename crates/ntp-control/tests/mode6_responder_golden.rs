//! Golden tests: the responder, fed a model built from the values in a classic 4.2.8p18
//! capture, answers the captured request with the captured reply datagrams byte for byte
//! (fragment boundaries, line breaks, status words and MACs included).

#[path = "mode6_responder_support.rs"]
mod support;

use std::time::Duration;

use ntp_control::mode6::responder::Responder;
use ntp_control::mode6::vars::{NoNoise, PeerVars};
use ntp_wire::mode6::ControlHeader;
use support::*;

const SECRET: [u8; 16] = *b"0123456789abcdef";
const NOW: Duration = Duration::from_secs(5000);

fn header(d: &[u8]) -> ControlHeader {
    ControlHeader::decode(d).expect("header")
}

fn assert_same(got: &[Vec<u8>], want: &[Vec<u8>], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: datagram count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            g,
            w,
            "{what}: datagram {i}\n got: {:?}\nwant: {:?}",
            String::from_utf8_lossy(g),
            String::from_utf8_lossy(w)
        );
    }
}

/// A daemon whose system variables come from the reply `reply` (status word from its header).
fn fake_with_sys(replies: &[Vec<u8>]) -> Fake {
    let mut f = Fake::default();
    let h = header(&replies[0]);
    f.sys.status = sys_status(h.status);
    f.sys.leap = f.sys.status.leap;
    apply_sys(&mut f.sys, &items(&joined_data(replies)));
    f
}

fn run_sys_vector(rel: &str) {
    let ex = exchanges(rel);
    assert_eq!(ex.len(), 1, "{rel}");
    let (req, want) = &ex[0];
    let mut f = fake_with_sys(want);
    let mut r = Responder::with_noise(SECRET, Box::new(NoNoise));
    let got = r.handle(req, &loopback_meta(NOW), &mut f);
    assert_same(&got, want, rel);
}

#[test]
fn rv_default_system_list_matches_classic() {
    run_sys_vector("ntpq-c-rv");
}

#[test]
fn rv_named_stratum_offset_matches_classic() {
    run_sys_vector("ntpq-c-rv-0-stratum-offset");
}

#[test]
fn sysinfo_variables_come_back_in_table_order() {
    run_sys_vector("ntpq-c-sysinfo");
}

#[test]
fn sysstats_matches_classic() {
    run_sys_vector("ntpq-c-sysstats");
}

#[test]
fn iostats_matches_classic() {
    run_sys_vector("ntpq-c-iostats");
}

#[test]
fn kerninfo_matches_classic() {
    run_sys_vector("ntpq-c-kerninfo");
}

#[test]
fn authinfo_monstats_timerstats_match_classic() {
    run_sys_vector("extra/ntpq-c-authinfo");
    run_sys_vector("extra/ntpq-c-monstats");
    run_sys_vector("extra/ntpq-c-timerstats");
}

fn peer_from(replies: &[Vec<u8>]) -> PeerVars {
    let h = header(&replies[0]);
    let mut p = PeerVars {
        assoc_id: h.assoc_id,
        status: peer_status(h.status),
        ..PeerVars::default()
    };
    apply_peer(&mut p, &items(&joined_data(replies)));
    p
}

#[test]
fn ntpq_p_association_list_and_peer_lists_match_classic() {
    let ex = exchanges("ntpq-p");
    let mut f = Fake::default();
    // First exchange: READSTAT of association 0 (binary list).
    let (_, stat) = &ex[0];
    f.sys.status = sys_status(header(&stat[0]).status);
    f.assocs = assoc_list(&stat[0]);
    for (_, replies) in &ex[1..] {
        f.peers.push(peer_from(replies));
    }
    let mut r = Responder::with_noise(SECRET, Box::new(NoNoise));
    for (i, (req, want)) in ex.iter().enumerate() {
        let got = r.handle(req, &loopback_meta(NOW), &mut f);
        assert_same(&got, want, &format!("ntpq-p exchange {i}"));
    }
    // The peer replies are 468 + rest: the first ends in the middle of filtoffset.
    assert_eq!(header(&ex[2].1[0]).count, 468);
}

#[test]
fn rv_of_the_system_peer_matches_classic() {
    let ex = exchanges("ntpq-c-rv-10098");
    let (req, want) = &ex[0];
    let mut f = Fake::default();
    f.peers.push(peer_from(want));
    let mut r = Responder::with_noise(SECRET, Box::new(NoNoise));
    assert_same(
        &r.handle(req, &loopback_meta(NOW), &mut f),
        want,
        "rv 10098",
    );
}

#[test]
fn pstats_named_peer_variables_match_classic() {
    let ex = exchanges("extra/ntpq-c-pstats-10098");
    let (req, want) = &ex[0];
    let mut f = Fake::default();
    f.peers.push(peer_from(want));
    let mut r = Responder::with_noise(SECRET, Box::new(NoNoise));
    assert_same(&r.handle(req, &loopback_meta(NOW), &mut f), want, "pstats");
}

#[test]
fn as_association_list_matches_classic() {
    let ex = exchanges("ntpq-c-as");
    let (req, want) = &ex[0];
    let mut f = Fake::default();
    f.sys.status = sys_status(header(&want[0]).status);
    f.assocs = assoc_list(&want[0]);
    let mut r = Responder::with_noise(SECRET, Box::new(NoNoise));
    assert_same(&r.handle(req, &loopback_meta(NOW), &mut f), want, "as");
}

#[test]
fn cv_of_the_local_clock_matches_classic() {
    let ex = exchanges("ntpq-c-cv-10097");
    let (req, want) = &ex[0];
    let h = header(&want[0]);
    let mut f = Fake::default();
    let mut c = ntp_control::mode6::vars::ClockVars {
        status: clock_status(h.status),
        ..Default::default()
    };
    apply_clock(&mut c, &items(&joined_data(want)));
    f.clocks.push((h.assoc_id, c));
    let mut r = Responder::with_noise(SECRET, Box::new(NoNoise));
    assert_same(&r.handle(req, &loopback_meta(NOW), &mut f), want, "cv");
}

/// Replace the 24 hex digits after `nonce=` in `data` by `nonce`.
fn with_nonce(datagram: &[u8], nonce: &[u8]) -> Vec<u8> {
    let mut d = datagram.to_vec();
    let pos = d
        .windows(6)
        .position(|w| w == b"nonce=")
        .expect("nonce item")
        + 6;
    d[pos..pos + 24].copy_from_slice(nonce);
    d
}

fn nonce_of(datagram: &[u8]) -> Vec<u8> {
    let pos = datagram
        .windows(6)
        .position(|w| w == b"nonce=")
        .expect("nonce item")
        + 6;
    datagram[pos..pos + 24].to_vec()
}

#[test]
fn mrulist_nonce_handshake_and_list_match_classic() {
    let ex = exchanges("ntpq-c-mrulist");
    assert_eq!(ex.len(), 2);
    let (nonce_req, nonce_want) = &ex[0];
    let (mru_req, mru_want) = &ex[1];
    let pairs = items(&joined_data(mru_want));
    let mut f = Fake {
        mru: mru_from_items(&pairs),
        ..Fake::default()
    };
    let replay = Replay::from_items(&pairs, &MRU_FIELDS);
    assert_eq!(replay.orders.len(), 5);
    assert_eq!(replay.noise.len(), 2);
    let mut r = Responder::with_noise(SECRET, Box::new(replay));
    let meta = loopback_meta(NOW);

    let got = r.handle(nonce_req, &meta, &mut f);
    assert_eq!(got.len(), 1);
    let ours = nonce_of(&got[0]);
    assert!(ours.iter().all(u8::is_ascii_hexdigit));
    // Same layout as classic, only the nonce differs.
    assert_same(&got, &[with_nonce(&nonce_want[0], &ours)], "REQ_NONCE");

    // The captured READ_MRU carries classic's nonce: give it ours (same length).
    let req = with_nonce(mru_req, &ours);
    let later = loopback_meta(NOW + Duration::from_millis(300));
    let got = r.handle(&req, &later, &mut f);
    let fresh = nonce_of(&got[0]);
    let want: Vec<Vec<u8>> = mru_want
        .iter()
        .enumerate()
        .map(|(i, d)| {
            if i == 0 {
                with_nonce(d, &fresh)
            } else {
                d.clone()
            }
        })
        .collect();
    assert_same(&got, &want, "READ_MRU");
    assert_eq!(header(&got[0]).count, 467);
}

#[test]
fn ifstats_authenticated_matches_classic_including_macs() {
    let ex = exchanges("ntpq-c-ifstats-auth");
    let (req, want) = &ex[0];
    let pairs = items(&joined_data(want));
    let mut f = Fake {
        interfaces: interfaces_from_items(&pairs),
        keys: vec![vector_key()],
        control_key: Some(1),
        ..Fake::default()
    };
    assert_eq!(f.interfaces.len(), 8);
    let replay = Replay::from_items(&pairs, &IF_FIELDS);
    let mut r = Responder::with_noise(SECRET, Box::new(replay));
    assert_same(&r.handle(req, &loopback_meta(NOW), &mut f), want, "ifstats");
    assert_eq!(want[0].len(), 500);
}

#[test]
fn reslist_authenticated_matches_classic_including_macs() {
    let ex = exchanges("ntpq-c-reslist-auth");
    let (req, want) = &ex[0];
    let pairs = items(&joined_data(want));
    let mut f = Fake {
        restrictions: restrictions_from_items(&pairs),
        keys: vec![vector_key()],
        control_key: Some(1),
        ..Fake::default()
    };
    assert_eq!(f.restrictions.len(), 11);
    let replay = Replay::from_items(&pairs, &RES_FIELDS);
    let mut r = Responder::with_noise(SECRET, Box::new(replay));
    let got = r.handle(req, &loopback_meta(NOW), &mut f);
    assert_same(&got, want, "reslist");
    let counts: Vec<u16> = got.iter().map(|d| header(d).count).collect();
    assert_eq!(counts, [468, 468, 467, 107]);
}

/// Classic's error replies carry a stale offset (0x01d4); ours carry 0.
fn clean_offset(d: &[u8]) -> Vec<u8> {
    let mut d = d.to_vec();
    if d.len() >= 12 && d[1] & 0x40 != 0 {
        d[8] = 0;
        d[9] = 0;
    }
    d
}

#[test]
fn error_cases_get_the_classic_reply_or_none() {
    let cases = [
        "count-exceeds-data",
        "odd-length-13",
        "offset-nonzero",
        "read-mru-without-nonce",
        "readclock-unknown-assoc",
        "readstat-unknown-assoc",
        "readvar-unknown-assoc",
        "readvar-unknown-variable",
        "readvar-unknown-variable-unpadded-23-bytes",
        "response-bit-in-request",
        "short-1-byte",
        "short-8-bytes",
        "unknown-opcode-13",
        "unknown-opcode-7-asyncmsg",
        "version-0",
        "version-5",
        "writevar-noauth",
    ];
    for case in cases {
        let ex = exchanges(&format!("mode6-errors/{case}"));
        assert_eq!(ex.len(), 1, "{case}");
        let (req, want) = &ex[0];
        let mut f = Fake::default();
        f.sys.status = sys_status(0x0616);
        let mut r = Responder::with_noise(SECRET, Box::new(NoNoise));
        let got = r.handle(req, &loopback_meta(NOW), &mut f);
        let want: Vec<Vec<u8>> = want.iter().map(|d| clean_offset(d)).collect();
        assert_same(&got, &want, case);
    }
}
