//! Access policy of the mode 6 responder: no reply under `noquery`/`ignore`, no amplification
//! to unauthenticated remote sources (every opcode), writes only with the control key, the
//! MRU nonce, and refused features.

#[path = "mode6_responder_support.rs"]
mod support;

use std::time::Duration;

use ntp_control::mode6::responder::{RequestMeta, Responder, Restrictions};
use ntp_control::mode6::vars::{InterfaceEntry, NoNoise};
use ntp_wire::mode6::{auth_parts, ControlHeader, ControlMessage, ErrorCode, Opcode};
use ntp_wire::{MacAlgorithm, SymmetricKey};
use support::*;

const SECRET: [u8; 16] = *b"fedcba9876543210";
const NOW: Duration = Duration::from_secs(777);

fn responder() -> Responder {
    Responder::with_noise(SECRET, Box::new(NoNoise))
}

fn request(op: Opcode, assoc: u16, data: &[u8]) -> Vec<u8> {
    ControlMessage::new(ControlHeader::request(op, 7, assoc), data.to_vec())
        .unwrap()
        .to_vec()
        .unwrap()
}

fn signed(op: Opcode, assoc: u16, data: &[u8], key: &SymmetricKey) -> Vec<u8> {
    let mut m = ControlMessage::new(ControlHeader::request(op, 9, assoc), data.to_vec()).unwrap();
    m.sign(key.id, |c| key.digest(c).as_bytes().to_vec())
        .unwrap();
    m.to_vec().unwrap()
}

fn total(replies: &[Vec<u8>]) -> usize {
    replies.iter().map(Vec::len).sum()
}

fn error_of(replies: &[Vec<u8>]) -> Option<ErrorCode> {
    let [one] = replies else { return None };
    ControlHeader::decode(one).unwrap().error_code()
}

fn nonce_from(reply: &[u8]) -> String {
    let data = data_of(reply);
    let text = std::str::from_utf8(data).unwrap();
    let start = text.find("nonce=").unwrap() + 6;
    text[start..start + 24].to_owned()
}

/// Data payloads worth trying with every opcode.
fn payloads(valid_nonce: &str) -> Vec<Vec<u8>> {
    vec![
        Vec::new(),
        b"stratum".to_vec(),
        b"stratum,offset,sys_var_list,peer_var_list,clock_var_list".to_vec(),
        b"leap=1".to_vec(),
        b"ifstats".to_vec(),
        b"addr_restrictions".to_vec(),
        format!("nonce={valid_nonce}, frags=32").into_bytes(),
        format!("nonce={valid_nonce}, limit=1").into_bytes(),
        b"nonce=000000000000000000000000, frags=32".to_vec(),
        b",,, = ,x=,=y,\0\0".to_vec(),
        vec![b'a'; 200],
    ]
}

#[test]
fn every_opcode_from_a_remote_unauthenticated_source_never_amplifies() {
    let mut f = rich_fake();
    let mut r = responder();
    let remote = remote_meta(NOW);
    // A valid nonce for this source, fetched with a padded REQ_NONCE.
    let nonce_req = {
        let mut d = request(Opcode::ReqNonce, 0, &[0; 32]);
        d.truncate(44);
        d
    };
    let got = r.handle(&nonce_req, &remote, &mut f);
    assert_eq!(
        total(&got),
        44,
        "a REQ_NONCE padded to 44 octets gets its nonce"
    );
    let nonce = nonce_from(&got[0]);
    // A MAC made with an unknown key does not count as authenticated.
    let stranger = SymmetricKey::new(99, MacAlgorithm::Md5, b"stranger");
    let mut checked = 0;
    let mut exempt = 0;
    for op in 0..=31u8 {
        for assoc in [0u16, 10097, 10098, 0x1234] {
            for data in payloads(&nonce) {
                for req in [
                    request(Opcode::from_u8(op), assoc, &data),
                    signed(Opcode::from_u8(op), assoc, &data, &stranger),
                ] {
                    let replies = r.handle(&req, &remote, &mut f);
                    let sent = total(&replies);
                    let mru_with_nonce = op == 10
                        && data.starts_with(format!("nonce={nonce}").as_bytes())
                        && error_of(&replies).is_none();
                    if mru_with_nonce {
                        exempt += 1;
                        assert!(!replies.is_empty());
                    } else {
                        assert!(
                            sent <= req.len(),
                            "op {op} assoc {assoc} data {:?}: {sent} > {}",
                            String::from_utf8_lossy(&data),
                            req.len()
                        );
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 32 * 4 * 11 * 2);
    assert!(exempt > 0, "the nonce exemption was exercised");
    assert!(
        f.leap_writes.is_empty(),
        "nothing written without the control key"
    );
}

#[test]
fn the_same_requests_from_loopback_get_full_replies() {
    let mut f = rich_fake();
    let mut r = responder();
    let req = request(Opcode::ReadVar, 0, &[]);
    let local = r.handle(&req, &loopback_meta(NOW), &mut f);
    assert!(total(&local) > 300);
    let remote = r.handle(&req, &remote_meta(NOW), &mut f);
    assert_eq!(remote.len(), 1);
    assert_eq!(remote[0].len(), 12);
    assert_eq!(error_of(&remote), Some(ErrorCode::Permission));
}

#[test]
fn a_padded_remote_request_gets_the_reply_that_fits() {
    let mut f = rich_fake();
    let mut r = responder();
    let mut req = request(Opcode::ReadVar, 0, b"stratum");
    let small = r.handle(&req, &remote_meta(NOW), &mut f);
    assert_eq!(error_of(&small), Some(ErrorCode::Permission));
    // Zero padding after the data (not shaped like a MAC) makes room for the answer.
    req.resize(req.len() + 20, 0);
    let fits = r.handle(&req, &remote_meta(NOW), &mut f);
    assert_eq!(error_of(&fits), None);
    assert_eq!(data_of(&fits[0]), b"stratum=3\r\n");
    assert!(total(&fits) <= req.len());
}

#[test]
fn noquery_and_ignore_get_no_reply_at_all() {
    let mut f = rich_fake();
    let mut r = responder();
    for restrict in [
        Restrictions {
            noquery: true,
            ..Restrictions::default()
        },
        Restrictions {
            ignore: true,
            ..Restrictions::default()
        },
    ] {
        for meta in [loopback_meta(NOW), remote_meta(NOW)] {
            let meta = RequestMeta { restrict, ..meta };
            for op in 0..=31u8 {
                let req = request(Opcode::from_u8(op), 0, &[]);
                assert!(r.handle(&req, &meta, &mut f).is_empty(), "op {op}");
                let auth = signed(Opcode::from_u8(op), 0, b"leap=1", &vector_key());
                assert!(r.handle(&auth, &meta, &mut f).is_empty(), "signed op {op}");
            }
        }
    }
    assert!(f.leap_writes.is_empty());
}

#[test]
fn authenticated_writevar_with_the_wrong_key_changes_nothing() {
    let mut f = rich_fake();
    let before = f.sys.clone();
    let mut r = responder();
    // Right key id, wrong secret: the MAC does not verify.
    let forged = SymmetricKey::new(1, MacAlgorithm::Md5, b"not-the-key");
    // Trusted, verifying key that is not the control key.
    let other = SymmetricKey::new(2, MacAlgorithm::Sha1, b"other-trusted");
    for key in [&forged, &other] {
        for meta in [loopback_meta(NOW), remote_meta(NOW)] {
            let req = signed(Opcode::WriteVar, 0, b"leap=1", key);
            let got = r.handle(&req, &meta, &mut f);
            assert_eq!(
                error_of(&got),
                Some(ErrorCode::Permission),
                "key {}",
                key.id
            );
        }
    }
    // Without any MAC.
    let got = r.handle(
        &request(Opcode::WriteVar, 0, b"leap=1"),
        &loopback_meta(NOW),
        &mut f,
    );
    assert_eq!(error_of(&got), Some(ErrorCode::Permission));
    assert!(f.leap_writes.is_empty());
    assert_eq!(f.sys, before);
}

#[test]
fn writevar_with_the_control_key_sets_leap_and_signs_the_reply() {
    let mut f = rich_fake();
    let mut r = responder();
    let key = vector_key();
    let req = signed(Opcode::WriteVar, 0, b"leap=1", &key);
    let got = r.handle(&req, &remote_meta(NOW), &mut f);
    assert_eq!(f.leap_writes, [1]);
    assert_eq!(got.len(), 1);
    let reply = &got[0];
    let h = ControlHeader::decode(reply).unwrap();
    assert!(h.response && !h.error);
    assert_eq!(h.count, 0);
    // 12 header octets padded to 16, key id, MD5.
    assert_eq!(reply.len(), 36);
    let parts = auth_parts(reply).unwrap().expect("signed reply");
    assert_eq!(parts.key_id, 1);
    assert!(key.verify(parts.covered, parts.digest));
}

#[test]
fn writevar_checks_values_like_classic_and_writes_all_or_nothing() {
    let mut f = rich_fake();
    let mut r = responder();
    let key = vector_key();
    let meta = loopback_meta(NOW);
    for (data, code) in [
        (&b"leap=4"[..], ErrorCode::BadValue),
        (b"leap=x", ErrorCode::BadFormat),
        (b"leap", ErrorCode::BadFormat),
        (b"stratum=1", ErrorCode::Permission),
        (b"nosuch=1", ErrorCode::UnknownVar),
        (b"leap=1,stratum=1", ErrorCode::Permission),
    ] {
        let got = r.handle(&signed(Opcode::WriteVar, 0, data, &key), &meta, &mut f);
        assert_eq!(
            error_of(&got),
            Some(code),
            "{}",
            String::from_utf8_lossy(data)
        );
    }
    let peer = r.handle(
        &signed(Opcode::WriteVar, 10098, b"leap=1", &key),
        &meta,
        &mut f,
    );
    assert_eq!(error_of(&peer), Some(ErrorCode::Permission));
    let nomodify = RequestMeta {
        restrict: Restrictions {
            nomodify: true,
            ..Restrictions::default()
        },
        ..meta
    };
    let got = r.handle(
        &signed(Opcode::WriteVar, 0, b"leap=1", &key),
        &nomodify,
        &mut f,
    );
    assert_eq!(error_of(&got), Some(ErrorCode::Permission));
    assert!(f.leap_writes.is_empty());
    // The daemon may refuse too.
    f.allow_leap_write = false;
    let got = r.handle(&signed(Opcode::WriteVar, 0, b"leap=1", &key), &meta, &mut f);
    assert_eq!(error_of(&got), Some(ErrorCode::Permission));
}

#[test]
fn traps_configuration_and_writeclock_are_refused_even_with_the_control_key() {
    let mut f = rich_fake();
    let mut r = responder();
    for op in [
        Opcode::SetTrap,
        Opcode::UnsetTrap,
        Opcode::Configure,
        Opcode::SaveConfig,
        Opcode::WriteClock,
    ] {
        for req in [
            request(op, 0, b"server 192.0.2.1"),
            signed(op, 0, b"server 192.0.2.1", &vector_key()),
        ] {
            let got = r.handle(&req, &loopback_meta(NOW), &mut f);
            assert_eq!(error_of(&got), Some(ErrorCode::Permission), "{op:?}");
        }
    }
}

#[test]
fn ordlist_needs_the_control_key() {
    let mut f = rich_fake();
    let mut r = responder();
    let meta = loopback_meta(NOW);
    let plain = r.handle(&request(Opcode::ReadOrdlistA, 0, &[]), &meta, &mut f);
    assert_eq!(error_of(&plain), Some(ErrorCode::Permission));
    let other = SymmetricKey::new(2, MacAlgorithm::Sha1, b"other-trusted");
    let wrong = r.handle(&signed(Opcode::ReadOrdlistA, 0, &[], &other), &meta, &mut f);
    assert_eq!(error_of(&wrong), Some(ErrorCode::Permission));
    let unknown = r.handle(
        &signed(Opcode::ReadOrdlistA, 0, b"peers", &vector_key()),
        &meta,
        &mut f,
    );
    assert_eq!(error_of(&unknown), Some(ErrorCode::UnknownVar));
    let ok = r.handle(
        &signed(Opcode::ReadOrdlistA, 0, &[], &vector_key()),
        &meta,
        &mut f,
    );
    assert!(ok.len() >= 2);
    assert!(ok.iter().all(|d| auth_parts(d).unwrap().is_some()));
}

fn mru_request(nonce: &str) -> Vec<u8> {
    request(
        Opcode::ReadMru,
        0,
        format!("nonce={nonce}, frags=32").as_bytes(),
    )
}

#[test]
fn mru_nonce_is_bound_to_address_port_and_time() {
    let mut f = rich_fake();
    let mut r = responder();
    let meta = loopback_meta(NOW);
    let got = r.handle(&request(Opcode::ReqNonce, 0, &[]), &meta, &mut f);
    let nonce = nonce_from(&got[0]);
    let ok = r.handle(&mru_request(&nonce), &meta, &mut f);
    assert!(!ok.is_empty() && error_of(&ok).is_none());
    // Fifteen seconds later still valid; sixteen not.
    let later = loopback_meta(NOW + Duration::from_secs(15));
    assert!(!r.handle(&mru_request(&nonce), &later, &mut f).is_empty());
    let expired = loopback_meta(NOW + Duration::from_secs(16));
    assert!(r.handle(&mru_request(&nonce), &expired, &mut f).is_empty());
    // Issued "in the future": invalid.
    let earlier = loopback_meta(NOW - Duration::from_secs(1));
    assert!(r.handle(&mru_request(&nonce), &earlier, &mut f).is_empty());
    // Another port or address.
    let mut other_port = meta;
    other_port.source.set_port(41977);
    assert!(r
        .handle(&mru_request(&nonce), &other_port, &mut f)
        .is_empty());
    let mut other_addr = meta;
    other_addr.source = "127.0.0.2:41976".parse().unwrap();
    assert!(r
        .handle(&mru_request(&nonce), &other_addr, &mut f)
        .is_empty());
    // A rotated secret invalidates it.
    r.set_nonce_secret([7; 16]);
    assert!(r.handle(&mru_request(&nonce), &meta, &mut f).is_empty());
}

#[test]
fn mru_checks_limits_and_nomrulist() {
    let mut f = rich_fake();
    let mut r = responder();
    let meta = loopback_meta(NOW);
    let got = r.handle(&request(Opcode::ReqNonce, 0, &[]), &meta, &mut f);
    let nonce = nonce_from(&got[0]);
    for (params, code) in [
        ("frags=129", ErrorCode::BadValue),
        ("limit=257", ErrorCode::BadValue),
    ] {
        let req = request(
            Opcode::ReadMru,
            0,
            format!("nonce={nonce}, {params}").as_bytes(),
        );
        assert_eq!(
            error_of(&r.handle(&req, &meta, &mut f)),
            Some(code),
            "{params}"
        );
    }
    // limit=2: the two oldest entries and no `now` (the list is not complete).
    let req = request(
        Opcode::ReadMru,
        0,
        format!("nonce={nonce}, limit=2").as_bytes(),
    );
    let got = r.handle(&req, &meta, &mut f);
    let names: Vec<String> = items(&joined_data(&got))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(names.contains(&"addr.1".to_owned()) && !names.contains(&"addr.2".to_owned()));
    assert!(!names.contains(&"now".to_owned()));
    // Continuing after entry 1 returns the rest, confirming the starting point.
    let e1 = f.mru.entries[1].clone();
    let req = request(
        Opcode::ReadMru,
        0,
        format!(
            "nonce={nonce}, frags=32, addr.0={}, last.0=0x{:08x}.{:08x}",
            e1.addr,
            e1.last >> 32,
            e1.last & 0xffff_ffff
        )
        .as_bytes(),
    );
    let got = r.handle(&req, &meta, &mut f);
    let pairs = items(&joined_data(&got));
    assert_eq!(pairs[0].0, "last.older");
    assert_eq!(pairs[1], ("addr.older".to_owned(), e1.addr.to_string()));
    assert!(pairs
        .iter()
        .any(|(n, v)| n == "addr.0" && *v == f.mru.entries[2].addr.to_string()));
    assert!(pairs.iter().any(|(n, _)| n == "now"));
    // An unknown starting point asks the client to retry with older entries.
    let req = request(
        Opcode::ReadMru,
        0,
        format!("nonce={nonce}, frags=32, addr.0=192.0.2.9:1, last.0=0x00000001.00000001")
            .as_bytes(),
    );
    assert_eq!(
        error_of(&r.handle(&req, &meta, &mut f)),
        Some(ErrorCode::UnknownVar)
    );
    let nomru = RequestMeta {
        restrict: Restrictions {
            nomrulist: true,
            ..Restrictions::default()
        },
        ..meta
    };
    assert_eq!(
        error_of(&r.handle(&mru_request(&nonce), &nomru, &mut f)),
        Some(ErrorCode::Permission)
    );
}

#[test]
fn mru_frags_limit_bounds_a_long_list() {
    let mut f = rich_fake();
    let template = f.mru.entries[0].clone();
    f.mru.entries = (0..300u32)
        .map(|i| {
            let mut e = template.clone();
            e.addr.set_port(1000 + i as u16);
            e.last += u64::from(i) << 32;
            e
        })
        .collect();
    let mut r = responder();
    let meta = loopback_meta(NOW);
    let got = r.handle(&request(Opcode::ReqNonce, 0, &[]), &meta, &mut f);
    let nonce = nonce_from(&got[0]);
    for frags in [1u16, 2, 3, 10] {
        let req = request(
            Opcode::ReadMru,
            0,
            format!("nonce={nonce}, frags={frags}").as_bytes(),
        );
        let got = r.handle(&req, &meta, &mut f);
        // Classic stops adding entries once `frags` fragments are in use; the entry being
        // written may spill into one more.
        assert!(
            got.len() <= usize::from(frags) + 1,
            "frags={frags}: {}",
            got.len()
        );
        assert!(
            got.len() >= usize::from(frags),
            "frags={frags}: {}",
            got.len()
        );
    }
}

#[test]
fn authenticated_reads_reset_event_counters() {
    let mut f = rich_fake();
    let mut r = responder();
    let meta = loopback_meta(NOW);
    r.handle(&request(Opcode::ReadVar, 0, &[]), &meta, &mut f);
    assert!(f.events_read.is_empty());
    r.handle(
        &signed(Opcode::ReadVar, 0, &[], &vector_key()),
        &meta,
        &mut f,
    );
    r.handle(
        &signed(Opcode::ReadStat, 10098, &[], &vector_key()),
        &meta,
        &mut f,
    );
    assert_eq!(f.events_read, [0, 10098]);
}

#[test]
fn readclock_of_association_0_finds_the_clock() {
    let mut f = rich_fake();
    let mut r = responder();
    let meta = loopback_meta(NOW);
    let got = r.handle(&request(Opcode::ReadClock, 0, &[]), &meta, &mut f);
    let h = ControlHeader::decode(&got[0]).unwrap();
    assert_eq!(h.assoc_id, 0);
    assert!(data_of(&got[0]).starts_with(b"device=\"Undisciplined local clock\""));
    // A peer that is not a clock.
    let got = r.handle(&request(Opcode::ReadClock, 10098, &[]), &meta, &mut f);
    assert_eq!(error_of(&got), Some(ErrorCode::BadAssoc));
    // Named, with the unset values forced out.
    let got = r.handle(
        &request(Opcode::ReadClock, 10097, b"fudgetime1,type"),
        &meta,
        &mut f,
    );
    assert_eq!(data_of(&got[0]), b"type=0, fudgetime1=0.000\r\n");
    let got = r.handle(&request(Opcode::ReadClock, 10097, b"nosuch"), &meta, &mut f);
    assert_eq!(error_of(&got), Some(ErrorCode::UnknownVar));
}

#[test]
fn unspec_answers_empty_with_the_status_word() {
    let mut f = rich_fake();
    let mut r = responder();
    let meta = loopback_meta(NOW);
    let got = r.handle(&request(Opcode::Unspec, 0, &[]), &meta, &mut f);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].len(), 12);
    assert_eq!(ControlHeader::decode(&got[0]).unwrap().status, 0x0616);
    let got = r.handle(&request(Opcode::Unspec, 0x1234, &[]), &meta, &mut f);
    assert_eq!(error_of(&got), Some(ErrorCode::BadAssoc));
}

#[test]
fn var_lists_name_every_variable_in_table_order() {
    let mut f = rich_fake();
    f.interfaces.push(InterfaceEntry {
        ifnum: 99,
        ..f.interfaces[0].clone()
    });
    let mut r = responder();
    let meta = loopback_meta(NOW);
    let got = r.handle(
        &request(Opcode::ReadVar, 10098, b"peer_var_list"),
        &meta,
        &mut f,
    );
    let pairs = items(&joined_data(&got));
    assert_eq!(pairs[0].0, "peer_var_list");
    assert!(pairs[0]
        .1
        .starts_with("config,authenable,authentic,srcadr,"));
    assert!(pairs[0].1.ends_with(",candidate"));
    let got = r.handle(&request(Opcode::ReadVar, 0, b"sys_var_list"), &meta, &mut f);
    let text = String::from_utf8_lossy(&joined_data(&got)).into_owned();
    assert!(text.starts_with("sys_var_list=\"leap,stratum,precision,"));
    // Classic builds it in a 468-octet buffer and drops the names that do not fit.
    assert!(text.len() < 470);
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever follows a plausible header, a remote unauthenticated source never gets
        /// more octets than it sent.
        #[test]
        fn remote_replies_never_exceed_requests(
            op in 0u8..32,
            assoc in prop_oneof![Just(0u16), Just(10097), Just(10098), any::<u16>()],
            version in 0u8..8,
            count in 0u16..600,
            body in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let mut f = rich_fake();
            let mut r = responder();
            let mut req = vec![(version << 3) | 6, op, 0, 1, 0, 0];
            req.extend_from_slice(&assoc.to_be_bytes());
            req.extend_from_slice(&[0, 0]);
            req.extend_from_slice(&count.to_be_bytes());
            req.extend_from_slice(&body);
            let replies = r.handle(&req, &remote_meta(NOW), &mut f);
            prop_assert!(total(&replies) <= req.len());
            prop_assert!(f.leap_writes.is_empty());
            for d in &replies {
                let h = ControlHeader::decode(d).unwrap();
                prop_assert!(h.response);
            }
        }
    }
}
