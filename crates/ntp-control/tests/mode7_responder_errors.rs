//! Classic's captured mode 7 error cases (`classic-4.2.8/mode7-errors/*`): the responder must
//! answer each captured request with the captured reply, octet for octet, or send nothing
//! where classic sent nothing.

mod mode7_responder_support;

use mode7_responder_support::*;
use ntp_control::mode7::responder::{NoKeys, Responder};
use ntp_wire::NtpTimestamp;

const CASES: &[&str] = &[
    "auth-required-ifstats-noauth",
    "impl-univ-sysinfo",
    "impl-xntpd-old-sysinfo",
    "monlist-192-bytes",
    "monlist-8-bytes",
    "response-bit-in-request",
    "short-4-bytes",
    "unknown-implementation-99",
    "unknown-request-99",
    "version-5",
    "wrong-itemsize-sysinfo",
];

fn replay(case: &str) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let (request, expected) = exchange(&format!("mode7-errors/{case}"));
    let mut data = FakeData::classic();
    data.absorb(&expected);
    let meta = loopback_meta(&NoKeys, NtpTimestamp::ZERO);
    (
        Responder::new().handle(&request, &meta, &mut data),
        expected,
    )
}

#[test]
fn every_captured_error_case_is_answered_as_classic() {
    for case in CASES {
        let (got, expected) = replay(case);
        assert_eq!(got.len(), expected.len(), "{case}: datagram count");
        for (g, e) in got.iter().zip(&expected) {
            if e.len() == 8 {
                assert_eq!(g, e, "{case}");
            } else {
                // The one data reply (impl 2 sysinfo): stale octets differ.
                assert_eq!(g.len(), e.len(), "{case}");
                assert_eq!(mask_stale(g), mask_stale(e), "{case}");
            }
        }
    }
}

#[test]
fn cases_without_a_captured_reply_get_none() {
    for case in ["response-bit-in-request", "short-4-bytes", "version-5"] {
        let (got, expected) = replay(case);
        assert!(expected.is_empty(), "{case}: the capture has no reply");
        assert!(got.is_empty(), "{case}: {got:02x?}");
    }
}

#[test]
fn error_codes_are_the_captured_ones() {
    let code = |case: &str| replay(case).0[0][4] >> 4;
    assert_eq!(code("unknown-implementation-99"), 1);
    assert_eq!(code("impl-univ-sysinfo"), 2);
    assert_eq!(code("unknown-request-99"), 2);
    assert_eq!(code("wrong-itemsize-sysinfo"), 3);
    assert_eq!(code("monlist-8-bytes"), 4);
    assert_eq!(code("monlist-192-bytes"), 4);
    assert_eq!(code("auth-required-ifstats-noauth"), 7);
}
