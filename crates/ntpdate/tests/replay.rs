//! Whole runs of the library under virtual time: the golden vectors replayed to the exact
//! text, the step and slew paths through the simulated clock with the exact actions, and
//! every reply check (spoofed, unsynchronised, kiss-o'-death, authentication).

mod common;

use std::net::SocketAddr;

use common::{run_with, server_reply, unhex, FakeIo, Reply, SharedClock};
use ntp_core::ClockAction;
use ntp_wire::{
    LeapIndicator, MacAlgorithm, Mode, NtpDuration, NtpHeader, NtpPacket, NtpTimestamp, RefId,
    SymmetricKey, Trailer,
};
use ntpdate::{Level, OpenError};

/// One-way delay of the simulated network: 2^-11 s, exact in binary so offsets are exact.
const HALF_RTT: f64 = 1.0 / 2048.0;

fn server() -> SocketAddr {
    "127.0.0.1:123".parse().unwrap()
}

fn start() -> NtpTimestamp {
    NtpTimestamp::from_unix(1_800_000_000, 0)
}

/// A network where every address answers as a good server `offset` seconds ahead.
fn good_server(offset: f64) -> common::Responder {
    Box::new(move |to, req, truth| {
        let h = server_reply(req, truth + NtpDuration::from_seconds_f64(HALF_RTT), offset);
        vec![Reply {
            after: 2.0 * HALF_RTT,
            from: to,
            bytes: h.to_bytes().to_vec(),
        }]
    })
}

fn vector(name: &str) -> (serde_json::Value, String) {
    let dir = format!(
        "{}/../../testdata/vectors/classic-4.2.8/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let json = std::fs::read_to_string(format!("{dir}/datagrams.json")).unwrap();
    let stdout = std::fs::read_to_string(format!("{dir}/stdout.txt")).unwrap();
    (serde_json::from_str(&json).unwrap(), stdout)
}

/// Replay a classic vector: the clock reads the captured request's transmit time when the
/// request leaves, the captured reply (origin patched to our random transmit timestamp)
/// arrives `rtt` later.
fn replay(name: &str, args: &str, pid: u32, version: &str, rtt: f64) {
    let (v, expected) = vector(name);
    let dg = v["datagrams"].as_array().unwrap();
    let request = unhex(dg[0]["payload_hex"].as_str().unwrap());
    let reply = unhex(dg[1]["payload_hex"].as_str().unwrap());
    let t1 = NtpHeader::decode(&request).unwrap().transmit_timestamp;
    let clock = SharedClock::new(t1);
    let responder: common::Responder = Box::new(move |to, req, _| {
        let mut h = NtpHeader::decode(&reply).unwrap();
        h.origin_timestamp = NtpHeader::decode(req).unwrap().transmit_timestamp;
        vec![Reply {
            after: rtt,
            from: to,
            bytes: h.to_bytes().to_vec(),
        }]
    });
    let mut io = FakeIo::new(clock, responder);
    let out = run_with(&mut io, pid, version, args);
    assert_eq!(out.code, v["exit_status"].as_i64().unwrap() as i32);
    assert_eq!(out.stdout, expected);
    assert_eq!(out.stderr, "");
    // The request has classic's layout; only the transmit timestamp is ours (random).
    let (to, sent) = &io.sent[0];
    assert_eq!(*to, server());
    assert_eq!(sent.len(), 48);
    assert_eq!(sent[..40], request[..40]);
    assert_ne!(sent[40..], request[40..]);
}

#[test]
fn query_output_reproduces_the_classic_vector() {
    replay("ntpdate-q", "-q 127.0.0.1", 9214, "", 125e-6);
}

#[test]
fn query_debug_dump_reproduces_the_classic_vector() {
    replay(
        "ntpdate-q-d",
        "-q -d 127.0.0.1",
        9164,
        "ntpdate 4.2.8p18-o Thu Nov 26 02:41:27 UTC 2026 (3)",
        230e-6,
    );
}

fn run_good(offset: f64, args: &str) -> (common::Outcome, SharedClock, FakeIo) {
    let clock = SharedClock::new(start());
    let mut io = FakeIo::new(clock.clone(), good_server(offset));
    let out = run_with(&mut io, 1, "v", args);
    (out, clock, io)
}

#[test]
fn large_offset_is_stepped_by_exactly_the_measured_offset() {
    let (out, clock, io) = run_good(2.0, "127.0.0.1");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .ends_with("ntpdate[1]: step time server 127.0.0.1 offset +2.000000 sec\n"),
        "{}",
        out.stdout
    );
    assert_eq!(
        *clock.actions.borrow(),
        vec![ClockAction::Step(NtpDuration::from_seconds(2))]
    );
    assert!((clock.sim.borrow().offset() - 2.0).abs() < 1e-9);
    // Default: four samples, a timeout (2 s) apart, from port 123.
    assert_eq!(io.sent.len(), 4);
    assert_eq!(io.opened, vec![(vec![ntpdate::Family::V4], Some(123))]);
}

#[test]
fn small_offset_is_slewed_with_half_again_as_overshoot() {
    let (out, clock, _) = run_good(0.125, "-p 1 127.0.0.1");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out
        .stdout
        .ends_with("adjust time server 127.0.0.1 offset +0.125000 sec\n"));
    let expect = 0.125 + ntpdate::session::ADJ_MAXOVERSHOOT as f64 / 4_294_967_296.0;
    assert_eq!(
        *clock.actions.borrow(),
        vec![ClockAction::Slew(NtpDuration::from_seconds_f64(expect))]
    );
    let (out, clock, _) = run_good(-0.0625, "-p 1 127.0.0.1");
    assert_eq!(out.code, 0);
    assert_eq!(
        *clock.actions.borrow(),
        vec![ClockAction::Slew(NtpDuration::from_seconds_f64(
            -0.0625 - 0.03125
        ))]
    );
    // The simulated clock executes the slew at 500 ppm.
    clock.sim.borrow_mut().advance(1000.0);
    assert!((clock.sim.borrow().offset() + 0.09375).abs() < 1e-9);
}

#[test]
fn step_and_slew_flags_force_the_choice() {
    let (out, clock, _) = run_good(0.125, "-b -p 1 127.0.0.1");
    assert!(out
        .stdout
        .contains("step time server 127.0.0.1 offset +0.125000 sec"));
    assert_eq!(
        *clock.actions.borrow(),
        vec![ClockAction::Step(NtpDuration::from_seconds_f64(0.125))]
    );
    let (out, clock, _) = run_good(0.375, "-B -p 1 127.0.0.1");
    assert!(out
        .stdout
        .contains("adjust time server 127.0.0.1 offset +0.375000 sec"));
    assert_eq!(
        *clock.actions.borrow(),
        vec![ClockAction::Slew(NtpDuration::from_seconds_f64(0.4375))]
    );
}

#[test]
fn query_and_debug_never_touch_the_clock() {
    for args in ["-q 127.0.0.1", "-d -p 1 127.0.0.1", "-q -b 127.0.0.1"] {
        let (out, clock, io) = run_good(3.0, args);
        assert_eq!(out.code, 0, "{args}");
        assert!(clock.actions.borrow().is_empty(), "{args}");
        assert_eq!(clock.sim.borrow().steps(), 0);
        assert!(out
            .stdout
            .contains("step time server 127.0.0.1 offset +3.000000 sec"));
        // Neither binds port 123.
        assert_eq!(io.opened[0].1, None, "{args}");
    }
}

#[test]
fn debug_with_several_samples_prints_the_filter_registers() {
    let (out, _, _) = run_good(0.25, "-d -p 2 127.0.0.1");
    assert!(out
        .stdout
        .contains("transmit(127.0.0.1)\nreceive(127.0.0.1)\n"));
    let filt = out
        .stdout
        .lines()
        .find(|l| l.starts_with("filter delay: "))
        .unwrap();
    assert!(filt.ends_with(" ----       ----      "), "{filt:?}");
    assert!(out
        .stdout
        .contains("filter offset: +0.250000  +0.250000  ----"));
    assert!(out.stdout.contains("delay 0.02"));
}

/// A network answering the first request of each server with `bad` (as many datagrams as
/// it returns) before the genuine reply `offset` ahead.
fn with_spoofs(
    offset: f64,
    bad: impl Fn(&[u8], NtpTimestamp, SocketAddr) -> Vec<(SocketAddr, Vec<u8>)> + 'static,
) -> common::Responder {
    Box::new(move |to, req, truth| {
        let mut v: Vec<Reply> = bad(req, truth, to)
            .into_iter()
            .map(|(from, bytes)| Reply {
                after: HALF_RTT,
                from,
                bytes,
            })
            .collect();
        let h = server_reply(req, truth + NtpDuration::from_seconds_f64(HALF_RTT), offset);
        v.push(Reply {
            after: 2.0 * HALF_RTT,
            from: to,
            bytes: h.to_bytes().to_vec(),
        });
        v
    })
}

#[test]
fn spoofed_replies_are_ignored() {
    let responder = with_spoofs(0.125, |req, truth, to| {
        let liar = |f: &dyn Fn(&mut NtpHeader)| {
            let mut h = server_reply(req, truth, 5.0);
            f(&mut h);
            h.to_bytes().to_vec()
        };
        let other_port = SocketAddr::new(to.ip(), 1123);
        let other_host: SocketAddr = "127.0.0.2:123".parse().unwrap();
        vec![
            (
                to,
                liar(&|h| h.origin_timestamp = NtpTimestamp::from_bits(12345)),
            ),
            (to, liar(&|h| h.origin_timestamp = NtpTimestamp::ZERO)),
            (to, liar(&|h| h.transmit_timestamp = NtpTimestamp::ZERO)),
            (to, liar(&|h| h.receive_timestamp = NtpTimestamp::ZERO)),
            (to, liar(&|h| h.mode = Mode::SymmetricActive)),
            (to, liar(&|h| h.stratum = 16)),
            (to, liar(&|_| {})[..47].to_vec()),
            (other_port, liar(&|_| {})),
            (other_host, liar(&|_| {})),
        ]
    });
    let mut io = FakeIo::new(SharedClock::new(start()), responder);
    let out = run_with(&mut io, 1, "v", "-q -d 127.0.0.1");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out
        .stdout
        .contains("adjust time server 127.0.0.1 offset +0.125000 sec"));
    for trace in [
        "receive: pkt.org and peer.xmt differ",
        "receive: timestamps are not sane",
        "receive: mode 1 stratum 2",
        "receive: mode 4 stratum 16",
        "receive: packet length 47",
        "receive: server not found",
    ] {
        assert!(out.stdout.contains(trace), "{trace}\n{}", out.stdout);
    }
}

#[test]
fn a_replayed_reply_is_accepted_once() {
    // The genuine reply arrives twice; the copy must not become a second sample.
    let responder: common::Responder = Box::new(move |to, req, truth| {
        let h = server_reply(req, truth, 0.0).to_bytes().to_vec();
        vec![
            Reply {
                after: 1e-3,
                from: to,
                bytes: h.clone(),
            },
            Reply {
                after: 2e-3,
                from: to,
                bytes: h,
            },
        ]
    });
    let mut io = FakeIo::new(SharedClock::new(start()), responder);
    let out = run_with(&mut io, 1, "v", "-d -p 2 127.0.0.1");
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stdout
            .matches("receive: pkt.org and peer.xmt differ")
            .count(),
        1
    );
    assert!(!out.stdout.contains("transmitted"));
}

fn kod(req: &[u8], truth: NtpTimestamp, code: &[u8; 4]) -> Vec<u8> {
    let mut h = server_reply(req, truth, 0.0);
    h.leap = LeapIndicator::Unsynchronized;
    h.stratum = 0;
    h.reference_id = RefId::from_bytes(*code);
    h.to_bytes().to_vec()
}

/// Two servers: `bad` at 127.0.0.1 answers with what `reply` makes, a good stratum-3
/// server at 127.0.0.3 is 0.25 s ahead.
fn bad_and_good(
    reply: impl Fn(&[u8], NtpTimestamp) -> Vec<u8> + 'static,
    args: &str,
) -> common::Outcome {
    let responder: common::Responder = Box::new(move |to, req, truth| {
        let bytes = if to == server() {
            reply(req, truth)
        } else {
            let mut h = server_reply(req, truth + NtpDuration::from_seconds_f64(HALF_RTT), 0.25);
            h.stratum = 3;
            h.to_bytes().to_vec()
        };
        vec![Reply {
            after: 2.0 * HALF_RTT,
            from: to,
            bytes,
        }]
    });
    let mut io = FakeIo::new(SharedClock::new(start()), responder);
    run_with(&mut io, 1, "v", args)
}

#[test]
fn rate_kiss_of_death_stops_polling_and_is_never_chosen() {
    let out = bad_and_good(|r, t| kod(r, t, b"RATE"), "-q 127.0.0.1");
    assert_eq!(out.code, 1);
    assert!(out
        .stderr
        .contains("127.0.0.1 rate limit response from server.\n"));
    assert!(out
        .stderr
        .ends_with("ntpdate[1]: no server suitable for synchronization found\n"));
    assert_eq!(out.stdout, "");
    let out = bad_and_good(|r, t| kod(r, t, b"RATE"), "-q 127.0.0.1 127.0.0.3");
    assert_eq!(out.code, 0);
    assert!(out
        .stdout
        .contains("adjust time server 127.0.0.3 offset +0.250000 sec"));
}

#[test]
fn unsynchronised_servers_are_never_chosen() {
    let deny = |r: &[u8], t| kod(r, t, b"DENY");
    let leap3 = |r: &[u8], t| {
        let mut h = server_reply(r, t, 0.0);
        h.stratum = 1;
        h.leap = LeapIndicator::Unsynchronized;
        h.to_bytes().to_vec()
    };
    let stale = |r: &[u8], t| {
        let mut h = server_reply(r, t, 0.0);
        h.stratum = 1;
        h.reference_timestamp = h.transmit_timestamp - NtpDuration::from_seconds(90_000);
        h.to_bytes().to_vec()
    };
    let far = |r: &[u8], t| {
        let mut h = server_reply(r, t, 0.0);
        h.stratum = 1;
        h.root_dispersion = ntp_wire::NtpShort::from_seconds_f64(2.0);
        h.to_bytes().to_vec()
    };
    for (name, out) in [
        ("DENY", bad_and_good(deny, "-q -d 127.0.0.1 127.0.0.3")),
        ("leap 3", bad_and_good(leap3, "-q -d 127.0.0.1 127.0.0.3")),
        ("stale", bad_and_good(stale, "-q -d 127.0.0.1 127.0.0.3")),
        ("far", bad_and_good(far, "-q -d 127.0.0.1 127.0.0.3")),
    ] {
        assert_eq!(out.code, 0, "{name}");
        assert!(
            out.stdout
                .contains("adjust time server 127.0.0.3 offset +0.250000 sec"),
            "{name}: {}",
            out.stdout
        );
        assert!(out.stdout.contains("127.0.0.1: Server dropped: "), "{name}");
    }
    let out = bad_and_good(leap3, "-q 127.0.0.1");
    assert_eq!(out.code, 1);
    assert!(out
        .stdout
        .starts_with("server 127.0.0.1, stratum 1, offset -0.000488, delay 0.02"));
}

#[test]
fn unanswered_server_times_out_after_each_sample() {
    let clock = SharedClock::new(start());
    let mut io = FakeIo::new(clock.clone(), Box::new(|_, _, _| Vec::new()));
    let out = run_with(&mut io, 7, "v", "-p 3 -t 1 127.0.0.1");
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "15 Jan 08:00:03 ntpdate[7]: no server suitable for synchronization found\n"
    );
    assert_eq!(io.sent.len(), 3);
    assert!((clock.sim.borrow().elapsed() - 3.0).abs() < 1e-9);
    assert!(clock.actions.borrow().is_empty());
}

fn keys() -> String {
    "1 MD5 md5secret\n2 SHA1 sha1secret\n3 AES128CMAC 000102030405060708090a0b0c0d0e0f\n4 SHA256 x\n"
        .to_string()
}

fn key(id: u32) -> SymmetricKey {
    match id {
        1 => SymmetricKey::new(1, MacAlgorithm::Md5, b"md5secret"),
        2 => SymmetricKey::new(2, MacAlgorithm::Sha1, b"sha1secret"),
        _ => SymmetricKey::new(
            3,
            MacAlgorithm::AesCmac128,
            &unhex("000102030405060708090a0b0c0d0e0f"),
        ),
    }
}

/// How the authenticated test server signs its replies.
#[derive(Clone, Copy)]
enum Sign {
    Right,
    Missing,
    WrongDigest,
    OtherKey,
}

fn auth_run(id: u32, sign: Sign) -> (common::Outcome, FakeIo) {
    let responder: common::Responder = Box::new(move |to, req, truth| {
        // The request must carry a valid MAC with our key.
        let (covered, trailer) = NtpPacket::split_mac(req).unwrap();
        let Some(Trailer::Mac(m)) = trailer else {
            panic!("request without MAC")
        };
        assert_eq!(m.key_id, id);
        assert!(key(id).verify(covered, m.digest.as_bytes()));
        let h = server_reply(req, truth + NtpDuration::from_seconds_f64(HALF_RTT), 0.125);
        let mut trailer = match sign {
            Sign::Right | Sign::WrongDigest => Some(Trailer::Mac(key(id).sign(&h.to_bytes()))),
            Sign::OtherKey => Some(Trailer::Mac(key(id % 3 + 1).sign(&h.to_bytes()))),
            Sign::Missing => None,
        };
        let mut bytes = NtpPacket {
            header: h,
            extensions: Vec::new(),
            trailer: trailer.take(),
        }
        .to_vec();
        if let Sign::WrongDigest = sign {
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
        }
        vec![Reply {
            after: 2.0 * HALF_RTT,
            from: to,
            bytes,
        }]
    });
    let mut io = FakeIo::new(SharedClock::new(start()), responder);
    io.files.insert("/etc/ntp.keys".into(), keys());
    let out = run_with(&mut io, 1, "v", &format!("-q -d -a {id} 127.0.0.1"));
    (out, io)
}

#[test]
fn authenticated_replies_are_used_with_each_key_type() {
    for id in [1, 2, 3] {
        let (out, io) = auth_run(id, Sign::Right);
        assert_eq!(out.code, 0, "key {id}: {}", out.stdout);
        assert!(out.stdout.contains("offset +0.125000 sec"));
        assert!(out
            .stdout
            .contains("receive(127.0.0.1)\nreceive: authentication passed\n"));
        let expect_len = 48 + 4 + key(id).algorithm.digest_len();
        assert_eq!(io.sent[0].1.len(), expect_len);
    }
}

#[test]
fn replies_with_missing_or_wrong_mac_are_rejected() {
    for sign in [Sign::Missing, Sign::WrongDigest, Sign::OtherKey] {
        let (out, _) = auth_run(1, sign);
        assert_eq!(out.code, 1);
        assert!(out.stdout.contains("receive: authentication failed"));
        assert!(out
            .stderr
            .contains("no server suitable for synchronization found"));
    }
}

#[test]
fn key_problems_stop_before_sending() {
    let mut io = FakeIo::new(SharedClock::new(start()), good_server(0.0));
    let out = run_with(&mut io, 1, "v", "-q -a 1 -k /nope 127.0.0.1");
    assert_eq!(out.code, 1);
    assert!(out
        .stderr
        .ends_with("ntpdate[1]: no key file </nope>, exiting\n"));
    io.files.insert("/etc/ntp.keys".into(), keys());
    let out = run_with(&mut io, 1, "v", "-q -a 9 127.0.0.1");
    assert!(out.stderr.ends_with("authentication key 9 unknown\n"));
    let out = run_with(&mut io, 1, "v", "-q -a 4 127.0.0.1");
    assert!(out.stderr.contains("authentication key 4 has type SHA256"));
    assert!(io.sent.is_empty());
}

#[test]
fn port_123_in_use_or_denied_exits_and_suggests_u() {
    let mut io = FakeIo::new(SharedClock::new(start()), good_server(0.0));
    io.open_result = Some(|| OpenError::InUse);
    let out = run_with(&mut io, 1, "v", "127.0.0.1");
    assert_eq!(out.code, 1);
    assert!(out
        .stderr
        .contains("ntpdate[1]: the NTP socket is in use, exiting\n"));
    assert!(out.stderr.contains("use -u"));
    io.open_result = Some(|| OpenError::PermissionDenied);
    let out = run_with(&mut io, 1, "v", "127.0.0.1");
    assert!(out.stderr.contains("bind() fails: Permission denied\n"));
    assert!(out.stderr.contains("use -u"));
    assert!(io.sent.is_empty());
    io.open_result = None;
    let out = run_with(&mut io, 1, "v", "-u -p 1 127.0.0.1");
    assert_eq!(out.code, 0);
    assert_eq!(io.opened.last().unwrap().1, None);
}

#[test]
fn names_resolve_to_every_address_and_failures_are_reported() {
    let mut io = FakeIo::new(SharedClock::new(start()), good_server(0.25));
    io.names.insert(
        "pool.test".into(),
        vec![
            "127.0.0.1:123".parse().unwrap(),
            "127.0.0.5:123".parse().unwrap(),
            "[::1]:123".parse().unwrap(),
        ],
    );
    let out = run_with(&mut io, 1, "v", "-q -4 nope.test pool.test");
    assert_eq!(out.code, 0);
    assert!(out
        .stderr
        .starts_with("Error resolving nope.test: Name or service not known (-2)\n"));
    assert!(out
        .stderr
        .contains("Can't find host nope.test: Name or service not known (-2)"));
    assert!(out
        .stdout
        .starts_with("server 127.0.0.1, stratum 2, offset +0.250000, delay 0.02"));
    assert!(out.stdout.contains("\nserver 127.0.0.5, stratum 2"));
    assert!(!out.stdout.contains("::1"));
    let out = run_with(&mut io, 1, "v", "-q nope.test");
    assert_eq!(out.code, 1);
    assert!(out.stderr.ends_with("no servers can be used, exiting\n"));
}

#[test]
fn syslog_flag_sends_messages_to_syslog_not_the_terminal() {
    let mut io = FakeIo::new(SharedClock::new(start()), good_server(0.25));
    let out = run_with(&mut io, 1, "ntpdate x.y", "-s -v -u -p 1 127.0.0.1");
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, "");
    assert_eq!(
        io.syslog_lines,
        vec![
            (Level::Notice, "ntpdate x.y".to_string()),
            (
                Level::Notice,
                "adjust time server 127.0.0.1 offset +0.250000 sec".to_string()
            ),
        ]
    );
}

#[test]
fn usage_errors_exit_2_with_the_classic_usage_line() {
    let mut io = FakeIo::new(SharedClock::new(start()), good_server(0.0));
    let out = run_with(&mut io, 1, "v", "-p 0 127.0.0.1");
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "ntpdate: number of samples (0) is invalid\nusage: ntpdate [-46bBdqsuv] [-a key#] [-e delay] [-k file] [-p samples] [-o version#] [-t timeo] server ...\n"
    );
}

#[test]
fn version_option_sets_the_request_version() {
    let (_, _, io) = run_good(0.0, "-q -o 3 127.0.0.1");
    assert_eq!(io.sent[0].1[0], 0xdb);
}

#[test]
fn a_lost_reply_leaves_an_empty_filter_stage_and_the_server_usable() {
    let mut n = 0;
    let mut good = good_server(0.25);
    let responder: common::Responder = Box::new(move |to, req, truth| {
        n += 1;
        if n == 2 {
            Vec::new()
        } else {
            good(to, req, truth)
        }
    });
    let clock = SharedClock::new(start());
    let mut io = FakeIo::new(clock.clone(), responder);
    let out = run_with(&mut io, 1, "v", "-d 127.0.0.1");
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out
        .stdout
        .contains("filter offset: +0.250000  +0.000000  +0.250000  +0.250000"));
    assert!(out.stdout.contains("filter delay:  0.02"));
    assert!(out.stdout.contains("  0.00000    0.02"), "{}", out.stdout);
    // 64 s >> 3 for the empty stage, ranked last.
    assert!(out
        .stdout
        .contains(", dispersion 8.00000, offset +0.250000"));
    assert!(out
        .stdout
        .ends_with("adjust time server 127.0.0.1 offset +0.250000 sec\n"));
    assert!(clock.actions.borrow().is_empty(), "-d never adjusts");
    assert!((clock.sim.borrow().elapsed() - 6.0).abs() < 0.01);
}

#[test]
fn offsets_just_under_half_a_second_still_slew_within_the_driver_limit() {
    let (out, clock, _) = run_good(0.46875, "-p 1 127.0.0.1");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out
        .stdout
        .ends_with("adjust time server 127.0.0.1 offset +0.468750 sec\n"));
    assert_eq!(
        *clock.actions.borrow(),
        vec![ClockAction::Slew(NtpDuration::from_seconds_f64(0.5))]
    );
}

#[test]
fn a_refused_slew_exits_1_with_the_classic_message() {
    // -B beyond the simulated clock's 0.5 s slew limit.
    let (out, clock, _) = run_good(2.0, "-B -p 1 127.0.0.1");
    assert_eq!(out.code, 1);
    assert!(out
        .stderr
        .contains("]: Can't adjust the time of day: slew out of range"));
    assert!(!out.stdout.contains("adjust time server"));
    assert_eq!(clock.sim.borrow().offset(), 0.0);
}
