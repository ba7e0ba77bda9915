//! The suite's mode 7 policy: who gets an answer, the no-amplification rule over every
//! request code and implementation, and the rules for requests that change state.

mod mode7_responder_support;

use std::net::Ipv4Addr;

use mode7_responder_support::*;
use ntp_control::mode7::responder::{
    ChangeRefused, NoKeys, PrivateChange, Responder, RestrictFlags, RestrictOp,
};
use ntp_wire::mode7::*;
use ntp_wire::{MacAlgorithm, NtpTimestamp, SymmetricKey};

const IMPLEMENTATIONS: [u8; 4] = [0, 2, 3, 99];

/// Requests of every shape for one code: ntpdc's 192-octet frame with no items, the 8-octet
/// header alone, and the frame with one item of each size the code accepts (an item naming a
/// known peer where that matters).
fn shapes(implementation: u8, code: u8) -> Vec<Vec<u8>> {
    let mut out = vec![
        request(implementation, code, 0, 0, &[]),
        request(implementation, code, 0, 0, &[])[..8].to_vec(),
    ];
    let peer = [10, 123, 21, 2, 0, 123, 0, 0];
    for &size in RequestCode::from(code).request_item_sizes() {
        if size == 0 || size > REQUEST_DATA_LEN {
            continue;
        }
        let mut item = vec![0u8; size];
        let n = peer.len().min(size);
        item[..n].copy_from_slice(&peer[..n]);
        out.push(request(implementation, code, 1, size as u16, &item));
    }
    out
}

fn all_requests() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for implementation in IMPLEMENTATIONS {
        for code in 0..=255u8 {
            out.extend(shapes(implementation, code));
        }
    }
    out
}

#[test]
fn remote_sources_get_nothing_without_enable_mode7() {
    let meta = remote_meta(false);
    let mut responder = Responder::new();
    for req in all_requests() {
        let mut data = FakeData::big(40);
        let got = responder.handle(&req, &meta, &mut data);
        assert!(got.is_empty(), "request {:02x?}", &req[..8]);
        assert!(data.applied.is_empty());
    }
    assert_eq!(responder.counters().refused, responder.counters().received);
}

#[test]
fn with_enable_mode7_replies_never_exceed_the_request() {
    let meta = remote_meta(true);
    let mut responder = Responder::new();
    let mut answered_with_items = 0;
    for req in all_requests() {
        let mut data = FakeData::big(40);
        let got = responder.handle(&req, &meta, &mut data);
        let total: usize = got.iter().map(Vec::len).sum();
        assert!(
            total <= req.len(),
            "{:02x?}: {total} > {}",
            &req[..8],
            req.len()
        );
        assert!(data.applied.is_empty(), "no change from a remote source");
        if got.iter().any(|d| d.len() > HEADER_LEN) {
            answered_with_items += 1;
        }
    }
    // Small reports still get through (sysinfo, sysstats, loopinfo... in 192 octets).
    assert!(answered_with_items > 10, "{answered_with_items}");
    assert!(responder.counters().capped > 0);
}

#[test]
fn loopback_gets_full_multi_datagram_replies() {
    let keys = NoKeys;
    let meta = loopback_meta(&keys, NtpTimestamp::ZERO);
    let mut data = FakeData::big(100);
    for (code, count) in [
        (RequestCode::PeerListSum, data.summaries.len()),
        (RequestCode::PeerList, data.peer_list.len()),
        (RequestCode::GetRestrict, data.restrictions.len()),
    ] {
        let req = request(3, code.into(), 0, 0, &[]);
        let got = Responder::new().handle(&req, &meta, &mut data);
        assert!(got.len() > 1, "{code:?}");
        let mut r = Reassembler::new(Implementation::Xntpd, code);
        let mut done = None;
        for d in &got {
            if let Fragment::Complete(c) = r.push(d) {
                done = Some(c);
            }
        }
        let done = done.expect("complete");
        assert_eq!(done.nitems, count, "{code:?}");
        assert!(got
            .iter()
            .all(|d| d.len() <= HEADER_LEN + RESPONSE_DATA_MAX));
    }
}

#[test]
fn oversized_reply_to_a_remote_source_becomes_a_permission_error() {
    let meta = remote_meta(true);
    let mut responder = Responder::new();
    let req = request(3, RequestCode::GetRestrict.into(), 0, 0, &[]);
    let got = responder.handle(&req, &meta, &mut FakeData::classic());
    assert_eq!(got, vec![vec![0x97, 0, 3, 0x10, 0x70, 0, 0, 0]]);
    assert_eq!(responder.counters().capped, 1);
    // sysinfo fits in the request: answered in full.
    let req = request(3, RequestCode::SysInfo.into(), 0, 0, &[]);
    let got = responder.handle(&req, &meta, &mut FakeData::classic());
    assert_eq!(got[0].len(), 88);
    // The 8-octet probe gets nothing larger than 8 octets.
    let got = responder.handle(&req[..8], &meta, &mut FakeData::classic());
    assert_eq!(got, vec![vec![0x97, 0, 3, 4, 0x70, 0, 0, 0]]);
}

#[test]
fn noquery_and_ignore_silence_even_loopback() {
    for restrict in [
        RestrictFlags {
            noquery: true,
            ..Default::default()
        },
        RestrictFlags {
            ignore: true,
            ..Default::default()
        },
    ] {
        let mut meta = loopback_meta(&NoKeys, NtpTimestamp::ZERO);
        meta.restrict = restrict;
        meta.mode7_enabled = true;
        let req = request(3, 4, 0, 0, &[]);
        assert!(Responder::new()
            .handle(&req, &meta, &mut FakeData::classic())
            .is_empty());
    }
}

#[test]
fn responses_and_error_packets_are_never_answered() {
    let meta = loopback_meta(&NoKeys, NtpTimestamp::ZERO);
    for code in 0..=255u8 {
        for implementation in IMPLEMENTATIONS {
            let mut r = request(implementation, code, 0, 0, &[]);
            r[0] = 0x97;
            assert!(Responder::new()
                .handle(&r, &meta, &mut FakeData::classic())
                .is_empty());
            let mut e = request(implementation, code, 0, 0, &[]);
            e[4] = 0x40;
            assert!(Responder::new()
                .handle(&e, &meta, &mut FakeData::classic())
                .is_empty());
            let mut m = request(implementation, code, 0, 0, &[]);
            m[0] = 0x57;
            assert!(Responder::new()
                .handle(&m, &meta, &mut FakeData::classic())
                .is_empty());
        }
    }
}

#[test]
fn monlist_and_traps_have_no_data() {
    let meta = loopback_meta(&NoKeys, NtpTimestamp::ZERO);
    for code in [
        RequestCode::MonGetList,
        RequestCode::MonGetList1,
        RequestCode::Traps,
    ] {
        let req = request(3, code.into(), 0, 0, &[]);
        let got = Responder::new().handle(&req, &meta, &mut FakeData::classic());
        assert_eq!(got, vec![vec![0x97, 0, 3, u8::from(code), 0x40, 0, 0, 0]]);
    }
}

#[test]
fn kerninfo_without_kernel_discipline_has_no_data() {
    let meta = loopback_meta(&NoKeys, NtpTimestamp::ZERO);
    let mut data = FakeData::classic();
    data.kernel = None;
    let got = Responder::new().handle(&request(3, 38, 0, 0, &[]), &meta, &mut data);
    assert_eq!(got, vec![vec![0x97, 0, 3, 38, 0x40, 0, 0, 0]]);
}

#[test]
fn old_clients_get_no_ipv6_entries() {
    let meta = loopback_meta(&NoKeys, NtpTimestamp::ZERO);
    let mut data = FakeData::classic();
    let v6 = data.restrictions.iter().filter(|r| r.v6_flag != 0).count();
    assert!(v6 > 0);
    let got = Responder::new().handle(&request(2, 16, 0, 0, &[]), &meta, &mut data);
    let n: usize = got
        .iter()
        .map(|d| usize::from(PrivateHeader::decode(d).unwrap().nitems))
        .sum();
    assert_eq!(n, data.restrictions.len() - v6);
    assert!(got.iter().all(|d| d[7] == 16));
}

// ---- state changes ----

const NOW: NtpTimestamp = NtpTimestamp::from_parts(0xeeb2_2828, 0x8000_0000);

fn keys() -> Vec<SymmetricKey> {
    vec![
        vector_key(),
        SymmetricKey::new(2, MacAlgorithm::Sha1, b"other"),
    ]
}

fn enable_monitor(key: &SymmetricKey, tstamp: NtpTimestamp) -> Vec<u8> {
    let flags = set_sys_flags::MONITOR.to_be_bytes();
    signed(RequestCode::SetSysFlag, 1, 4, &flags, key, tstamp)
}

fn run(
    req: &[u8],
    meta: &ntp_control::mode7::responder::RequestMeta<'_>,
) -> (Vec<Vec<u8>>, FakeData) {
    let mut data = FakeData::classic();
    let got = Responder::new().handle(req, meta, &mut data);
    (got, data)
}

const ACK: [u8; 8] = [0x97, 0, 3, 12, 0, 0, 0, 0];
const AUTH_ERR: [u8; 8] = [0x97, 0, 3, 12, 0x70, 0, 0, 0];

#[test]
fn signed_change_from_loopback_is_applied_and_acknowledged() {
    let keys = keys();
    let meta = loopback_meta(&keys, NOW);
    let (got, data) = run(&enable_monitor(&vector_key(), NOW), &meta);
    assert_eq!(got, vec![ACK.to_vec()]);
    assert_eq!(data.applied, vec![PrivateChange::SetSysFlags(0x10)]);
}

#[test]
fn sha1_signed_change_is_applied() {
    let keys = keys();
    let mut meta = loopback_meta(&keys, NOW);
    meta.request_key = Some(2);
    let key = SymmetricKey::new(2, MacAlgorithm::Sha1, b"other");
    let (got, data) = run(&enable_monitor(&key, NOW), &meta);
    assert_eq!(got, vec![ACK.to_vec()]);
    assert_eq!(data.applied.len(), 1);
}

#[test]
fn change_without_mac_is_refused() {
    let keys = keys();
    let meta = loopback_meta(&keys, NOW);
    let req = request(3, 12, 1, 4, &set_sys_flags::MONITOR.to_be_bytes());
    let (got, data) = run(&req, &meta);
    assert_eq!(got, vec![AUTH_ERR.to_vec()]);
    assert!(data.applied.is_empty());
}

#[test]
fn signed_change_from_a_remote_source_is_refused() {
    let keys = keys();
    let mut meta = loopback_meta(&keys, NOW);
    meta.loopback = false;
    meta.mode7_enabled = true;
    meta.source = "192.0.2.7:123".parse().unwrap();
    let (got, data) = run(&enable_monitor(&vector_key(), NOW), &meta);
    assert_eq!(got, vec![AUTH_ERR.to_vec()]);
    assert!(data.applied.is_empty());
}

#[test]
fn nomodify_refuses_signed_changes() {
    let keys = keys();
    let mut meta = loopback_meta(&keys, NOW);
    meta.restrict.nomodify = true;
    let (got, data) = run(&enable_monitor(&vector_key(), NOW), &meta);
    assert_eq!(got, vec![AUTH_ERR.to_vec()]);
    assert!(data.applied.is_empty());
}

#[test]
fn mac_failures_are_permission_errors() {
    let keys = keys();
    let good = enable_monitor(&vector_key(), NOW);
    let mut tampered = good.clone();
    tampered[200] ^= 1;
    let wrong_secret = enable_monitor(&SymmetricKey::new(1, MacAlgorithm::Md5, b"guess"), NOW);
    let other_key = enable_monitor(&SymmetricKey::new(2, MacAlgorithm::Md5, b"other"), NOW);
    let unknown_key = enable_monitor(&SymmetricKey::new(9, MacAlgorithm::Md5, b"x"), NOW);
    let mut no_a_bit = good.clone();
    no_a_bit[1] = 0;
    for (what, req) in [
        ("tampered digest", tampered),
        ("wrong secret", wrong_secret),
        ("not the requestkey", other_key),
        ("unknown key", unknown_key),
        ("A bit clear", no_a_bit),
    ] {
        let (got, data) = run(&req, &loopback_meta(&keys, NOW));
        assert_eq!(got, vec![AUTH_ERR.to_vec()], "{what}");
        assert!(data.applied.is_empty(), "{what}");
    }
    // No requestkey configured: nothing authenticates.
    let mut meta = loopback_meta(&keys, NOW);
    meta.request_key = None;
    assert_eq!(run(&good, &meta).0, vec![AUTH_ERR.to_vec()]);
    // A requestkey that is not trusted.
    let mut meta = loopback_meta(&NoKeys, NOW);
    meta.request_key = Some(1);
    assert_eq!(run(&good, &meta).0, vec![AUTH_ERR.to_vec()]);
}

#[test]
fn request_timestamp_must_be_within_ten_seconds() {
    let keys = keys();
    let meta = loopback_meta(&keys, NOW);
    let secs = |s: i64| NtpTimestamp::from_bits(NOW.to_bits().wrapping_add((s << 32) as u64));
    for (offset, ok) in [(-11, false), (-9, true), (9, true), (11, false)] {
        let (got, data) = run(&enable_monitor(&vector_key(), secs(offset)), &meta);
        let expected = if ok { ACK } else { AUTH_ERR };
        assert_eq!(got, vec![expected.to_vec()], "{offset} s");
        assert_eq!(data.applied.len(), usize::from(ok));
    }
}

#[test]
fn overlong_authenticated_request_is_a_format_error() {
    let keys = keys();
    // 220 octets: the daemon takes the last 20 as key id + digest, finds the requestkey
    // there, then refuses the length.
    let mut req = enable_monitor(&vector_key(), NOW);
    req.extend_from_slice(&[0; 8]);
    req[200..204].copy_from_slice(&1u32.to_be_bytes());
    let (got, data) = run(&req, &loopback_meta(&keys, NOW));
    assert_eq!(got, vec![vec![0x97, 0, 3, 12, 0x30, 0, 0, 0]]);
    assert!(data.applied.is_empty());
}

#[test]
fn sys_flag_changes_are_format_checked() {
    let keys = keys();
    let meta = loopback_meta(&keys, NOW);
    let fmt = vec![vec![0x97, 0, 3, 12, 0x30, 0, 0, 0]];
    let extra = signed(
        RequestCode::SetSysFlag,
        1,
        4,
        &0x100u32.to_be_bytes(),
        &vector_key(),
        NOW,
    );
    assert_eq!(run(&extra, &meta).0, fmt);
    let two = signed(
        RequestCode::SetSysFlag,
        2,
        4,
        &[0, 0, 0, 0x10, 0, 0, 0, 0x10],
        &vector_key(),
        NOW,
    );
    assert_eq!(run(&two, &meta).0, fmt);
}

fn conf_peer(addr: Ipv4Addr, hmode: u8) -> Vec<u8> {
    ConfPeer {
        peeraddr: addr,
        hmode,
        version: 4,
        minpoll: 6,
        maxpoll: 10,
        flags: conf_flags::IBURST,
        ..Default::default()
    }
    .to_vec(ItemLayout::Truncated)
}

#[test]
fn addpeer_is_checked_then_applied() {
    let keys = keys();
    let meta = loopback_meta(&keys, NOW);
    let ok = signed(
        RequestCode::Config,
        1,
        144,
        &conf_peer(Ipv4Addr::new(10, 0, 0, 5), 3),
        &vector_key(),
        NOW,
    );
    let (got, data) = run(&ok, &meta);
    assert_eq!(got, vec![vec![0x97, 0, 3, 10, 0, 0, 0, 0]]);
    let PrivateChange::AddPeers(peers) = &data.applied[0] else {
        panic!("{:?}", data.applied)
    };
    assert_eq!(peers[0].address, Ipv4Addr::new(10, 0, 0, 5));
    assert_eq!((peers[0].hmode, peers[0].flags), (3, conf_flags::IBURST));
    let fmt = vec![vec![0x97, 0, 3, 10, 0x30, 0, 0, 0]];
    for bad in [
        conf_peer(Ipv4Addr::UNSPECIFIED, 3),
        conf_peer(Ipv4Addr::BROADCAST, 3),
        conf_peer(Ipv4Addr::new(10, 0, 0, 5), 7),
    ] {
        let req = signed(RequestCode::Config, 1, 144, &bad, &vector_key(), NOW);
        let (got, data) = run(&req, &meta);
        assert_eq!(got, fmt);
        assert!(data.applied.is_empty());
    }
    // A refclock address is fine.
    let clock = signed(
        RequestCode::Config,
        1,
        144,
        &conf_peer(Ipv4Addr::new(127, 127, 1, 0), 3),
        &vector_key(),
        NOW,
    );
    assert_eq!(run(&clock, &meta).1.applied.len(), 1);
}

#[test]
fn refused_change_gets_the_daemons_error() {
    let keys = keys();
    let meta = loopback_meta(&keys, NOW);
    let item = ConfUnpeer {
        peeraddr: Ipv4Addr::new(10, 0, 0, 9),
        ..Default::default()
    }
    .to_vec(ItemLayout::Full);
    let req = signed(RequestCode::Unconfig, 1, 24, &item, &vector_key(), NOW);
    let mut data = FakeData::classic();
    data.refuse = Some(ChangeRefused::NoData);
    let got = Responder::new().handle(&req, &meta, &mut data);
    assert_eq!(got, vec![vec![0x97, 0, 3, 11, 0x40, 0, 0, 0]]);
    data.refuse = None;
    let mut responder = Responder::new();
    responder.handle(&req, &meta, &mut data);
    assert_eq!(
        data.applied,
        vec![PrivateChange::RemovePeers(vec![
            Ipv4Addr::new(10, 0, 0, 9).into()
        ])]
    );
    assert_eq!(responder.counters().changes, 1);
}

#[test]
fn restrict_requests_reach_the_daemon_decoded() {
    let keys = keys();
    let meta = loopback_meta(&keys, NOW);
    let item = ConfRestrict {
        addr: Ipv4Addr::new(10, 1, 0, 0),
        mask: Ipv4Addr::new(255, 255, 0, 0),
        flags: 0x0080,
        mflags: 0x2000,
        ..Default::default()
    };
    let req = signed(
        RequestCode::ResSubFlags,
        1,
        60,
        &item.to_vec(ItemLayout::Full),
        &vector_key(),
        NOW,
    );
    let (got, data) = run(&req, &meta);
    assert_eq!(got, vec![vec![0x97, 0, 3, 18, 0, 0, 0, 0]]);
    let PrivateChange::Restrict { op, entries } = &data.applied[0] else {
        panic!()
    };
    assert_eq!(*op, RestrictOp::RemoveFlags);
    assert_eq!((entries[0].flags, entries[0].mflags), (0x80, 0x2000));
    // Match flags other than ntpport, or a mask without an address, are format errors.
    for bad in [
        ConfRestrict {
            mflags: 0x1000,
            ..item.clone()
        },
        ConfRestrict {
            addr: Ipv4Addr::UNSPECIFIED,
            ..item.clone()
        },
    ] {
        let req = signed(
            RequestCode::ResSubFlags,
            1,
            60,
            &bad.to_vec(ItemLayout::Full),
            &vector_key(),
            NOW,
        );
        let (got, data) = run(&req, &meta);
        assert_eq!(got, vec![vec![0x97, 0, 3, 18, 0x30, 0, 0, 0]]);
        assert!(data.applied.is_empty());
    }
}

#[test]
fn requestkey_item_is_read_as_ntpdc_sends_it() {
    let keys = keys();
    let meta = loopback_meta(&keys, NOW);
    let item = KeyIdItem { key_id: 2 }.to_vec(ItemLayout::Full);
    let req = signed(RequestCode::RequestKey, 1, 8, &item, &vector_key(), NOW);
    let (got, data) = run(&req, &meta);
    assert_eq!(got, vec![vec![0x97, 0, 3, 32, 0, 0, 0, 0]]);
    assert_eq!(data.applied, vec![PrivateChange::SetRequestKey(2)]);
    let zero = KeyIdItem { key_id: 0 }.to_vec(ItemLayout::Full);
    let req = signed(RequestCode::RequestKey, 1, 8, &zero, &vector_key(), NOW);
    assert_eq!(
        run(&req, &meta).0,
        vec![vec![0x97, 0, 3, 32, 0x40, 0, 0, 0]]
    );
}

#[test]
fn ifstats_needs_the_mac_but_a_signed_remote_request_gets_the_full_list() {
    let keys = keys();
    let mut meta = loopback_meta(&keys, NOW);
    meta.loopback = false;
    meta.mode7_enabled = true;
    meta.source = "192.0.2.7:123".parse().unwrap();
    let req = signed(RequestCode::IfStats, 0, 0, &[], &vector_key(), NOW);
    let (got, data) = run(&req, &meta);
    let n: usize = got
        .iter()
        .map(|d| usize::from(PrivateHeader::decode(d).unwrap().nitems))
        .sum();
    assert_eq!(n, data.ifs.len());
    assert!(got.iter().map(Vec::len).sum::<usize>() > req.len());
    // ifreload changes state: remote is refused even with the MAC.
    let reload = signed(RequestCode::IfReload, 0, 0, &[], &vector_key(), NOW);
    let (got, data) = run(&reload, &meta);
    assert_eq!(got, vec![vec![0x97, 0, 3, 45, 0x70, 0, 0, 0]]);
    assert_eq!(data.reloads, 0);
}

#[test]
fn signed_read_request_from_a_remote_source_is_not_capped() {
    let keys = keys();
    let mut meta = loopback_meta(&keys, NOW);
    meta.loopback = false;
    meta.mode7_enabled = true;
    let req = signed(RequestCode::GetRestrict, 0, 0, &[], &vector_key(), NOW);
    let (got, data) = run(&req, &meta);
    assert_eq!(got.len(), 2);
    assert_eq!(data.restrictions.len(), 11);
    let mut bad = req.clone();
    bad[210] ^= 0xff;
    let (got, _) = run(&bad, &meta);
    assert_eq!(got, vec![vec![0x97, 0, 3, 16, 0x70, 0, 0, 0]]);
}

#[test]
fn old_conf_peer_is_accepted_only_from_implementation_3() {
    let keys = keys();
    let meta = loopback_meta(&keys, NOW);
    let item = OldConfPeer {
        peeraddr: Ipv4Addr::new(10, 0, 0, 5),
        hmode: 3,
        version: 4,
        ..Default::default()
    }
    .to_vec(ItemLayout::Full);
    let req = signed(RequestCode::Config, 1, 16, &item, &vector_key(), NOW);
    let (got, data) = run(&req, &meta);
    assert_eq!(got, vec![vec![0x97, 0, 3, 10, 0, 0, 0, 0]]);
    assert_eq!(data.applied.len(), 1);
    let mut old = req.clone();
    old[2] = 2;
    assert_eq!(
        run(&old, &meta).0,
        vec![vec![0x97, 0, 2, 10, 0x30, 0, 0, 0]]
    );
}

#[test]
fn fudge_needs_a_refclock_address_and_a_known_selector() {
    let keys = keys();
    let meta = loopback_meta(&keys, NOW);
    let fudge = |addr: Ipv4Addr, which: u32| {
        let item = ConfFudge {
            clockadr: addr,
            which,
            ..Default::default()
        }
        .to_vec(ItemLayout::Full);
        signed(RequestCode::SetClkFudge, 1, 20, &item, &vector_key(), NOW)
    };
    let clock = Ipv4Addr::new(127, 127, 1, 0);
    let (got, data) = run(&fudge(clock, 3), &meta);
    assert_eq!(got, vec![vec![0x97, 0, 3, 37, 0, 0, 0, 0]]);
    assert_eq!(data.applied.len(), 1);
    let (got, data) = run(&fudge(Ipv4Addr::new(10, 0, 0, 1), 3), &meta);
    assert_eq!(got, vec![vec![0x97, 0, 3, 37, 0x40, 0, 0, 0]]);
    assert!(data.applied.is_empty());
    let (got, _) = run(&fudge(clock, 9), &meta);
    assert_eq!(got, vec![vec![0x97, 0, 3, 37, 0x30, 0, 0, 0]]);
}

#[test]
fn reset_flags_are_format_checked() {
    let keys = keys();
    let meta = loopback_meta(&keys, NOW);
    let reset = |flags: u32| {
        signed(
            RequestCode::ResetStats,
            1,
            4,
            &flags.to_be_bytes(),
            &vector_key(),
            NOW,
        )
    };
    let (got, data) = run(&reset(reset_flags::IO | reset_flags::SYS), &meta);
    assert_eq!(got, vec![vec![0x97, 0, 3, 21, 0, 0, 0, 0]]);
    assert_eq!(data.applied, vec![PrivateChange::ResetStats(6)]);
    let (got, data) = run(&reset(0x80), &meta);
    assert_eq!(got, vec![vec![0x97, 0, 3, 21, 0x30, 0, 0, 0]]);
    assert!(data.applied.is_empty());
}

#[test]
fn showpeer_wants_the_full_item_but_pstats_takes_the_old_one() {
    let meta = loopback_meta(&NoKeys, NtpTimestamp::ZERO);
    let old_item = [10, 123, 21, 2, 0, 123, 0, 0];
    let showpeer = request(2, RequestCode::PeerInfo.into(), 1, 8, &old_item);
    let (got, _) = run(&showpeer, &meta);
    assert_eq!(got, vec![vec![0x97, 0, 2, 2, 0x30, 0, 0, 0]]);
    let pstats = request(2, RequestCode::PeerStats.into(), 1, 8, &old_item);
    let (got, _) = run(&pstats, &meta);
    let h = PrivateHeader::decode(&got[0]).unwrap();
    assert_eq!((h.nitems, h.item_size), (1, 80));
}

mod arbitrary_input {
    use super::*;
    use proptest::prelude::*;

    /// A mode 7 header with any fields, then any tail, so most inputs get past the decoder.
    fn datagram() -> impl Strategy<Value = Vec<u8>> {
        (
            any::<[u8; 8]>(),
            prop::collection::vec(any::<u8>(), 0..240),
            any::<bool>(),
        )
            .prop_map(|(mut h, tail, plausible)| {
                if plausible {
                    // Mostly-valid request header: VN 2, mode 7, sequence 0, err/mbz 0.
                    h[0] = 0x17;
                    h[1] &= 0x80;
                    h[2] = [0, 2, 3, 99][usize::from(h[2] % 4)];
                    h[3] %= 48;
                    h[4] &= 0x0f;
                    h[6] &= 0x0f;
                }
                let mut d = h.to_vec();
                d.extend(tail);
                d
            })
    }

    proptest! {
        #[test]
        fn remote_replies_never_exceed_the_request(
            req in datagram(),
            mode7 in any::<bool>(),
            nomodify in any::<bool>(),
            n in 0usize..60,
        ) {
            let keys = keys();
            let mut meta = remote_meta(mode7);
            meta.keys = &keys;
            meta.restrict.nomodify = nomodify;
            let mut data = FakeData::big(n);
            let got = Responder::new().handle(&req, &meta, &mut data);
            let total: usize = got.iter().map(Vec::len).sum();
            prop_assert!(total <= req.len());
            prop_assert!(data.applied.is_empty());
            prop_assert_eq!(data.reloads, 0);
            if !mode7 {
                prop_assert!(got.is_empty());
            }
        }

        #[test]
        fn loopback_replies_are_well_formed(req in datagram(), n in 0usize..60) {
            let keys = keys();
            let meta = loopback_meta(&keys, NOW);
            let mut data = FakeData::big(n);
            let got = Responder::new().handle(&req, &meta, &mut data);
            prop_assert!(data.applied.is_empty(), "no valid MAC can be guessed");
            for (i, d) in got.iter().enumerate() {
                let r = PrivateResponse::decode(d).unwrap();
                prop_assert!(r.header.response);
                prop_assert_eq!(usize::from(r.header.sequence), i);
                prop_assert_eq!(r.header.more, i + 1 < got.len());
                prop_assert_eq!(&d[2..4], &req[2..4]);
            }
        }
    }
}
