//! Remote access to the daemon's mode 6 and mode 7 responders: the daemon runs in the root
//! network namespace and is queried from another namespace over a veth pair on a private /30
//! (the traffic never leaves this machine). With the tutorial restrictions, or with no restrict
//! line at all, no request of any opcode or code gets a reply; with queries allowed and
//! `enable mode7`, no unauthenticated reply is larger than its request; a WRITEVAR signed with
//! the wrong key changes nothing. Needs root (network namespaces). Every daemon runs with
//! `disable ntp`.

mod common;
mod control_common;

use std::time::Duration;

use common::Daemon;
use control_common::{
    mode6_request, mode7_request, probe, run, tool, Netns, LOCAL_CLOCK, TUTORIAL_RESTRICT,
};
use ntp_wire::{MacAlgorithm, SymmetricKey};

const BASE: &str = "disable ntp\ndriftfile $DIR/ntp.drift\n";

/// Every mode 6 opcode (0..=31) and every mode 7 request code (0..=255) of both
/// implementations, each from its own socket.
fn every_request() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = (0u8..32).map(|op| mode6_request(op, 1)).collect();
    for implementation in [2u8, 3] {
        v.extend((0u8..=255).map(|code| mode7_request(implementation, code)));
    }
    v
}

/// Probe every control request from the namespace: none may be answered, while a mode 3
/// request sent with them is (so the daemon is reachable from there).
fn assert_no_control_reply_but_time_service(ns: &Netns, port: u16) {
    let mut reqs = every_request();
    let mut client = vec![0u8; 48];
    client[0] = 0x23;
    reqs.push(client);
    let got = probe(ns, ns.outer_addr(), port, &reqs);
    let (time, control) = got.split_last().expect("probes");
    assert_eq!(
        time.bytes, 48,
        "the daemon is not reachable from the namespace"
    );
    for (r, g) in reqs.iter().zip(control) {
        assert_eq!(
            g.datagrams,
            0,
            "request {:02x?} was answered: {g:?}",
            &r[..4]
        );
    }
}

#[test]
fn no_request_of_any_kind_is_answered_remotely_under_the_tutorial_restrictions() {
    let ns = Netns::with_veth("tut");
    let d = Daemon::start(
        "ctl-ns-tut",
        &format!("{BASE}{LOCAL_CLOCK}{TUTORIAL_RESTRICT}enable mode7\n"),
    );
    assert_no_control_reply_but_time_service(&ns, d.port);
    // The same daemon answers loopback (the probe itself works).
    let ntpq = tool("ntpq");
    let out = run(
        &ntpq,
        &[
            "--port",
            &d.port.to_string(),
            "-c",
            "rv 0 stratum",
            "127.0.0.1",
        ],
        Duration::from_secs(10),
    );
    assert!(out.stdout.contains("stratum="), "{out:?}");
}

#[test]
fn without_restrict_lines_only_loopback_may_query() {
    let ns = Netns::with_veth("def");
    let d = Daemon::start("ctl-ns-def", &format!("{BASE}{LOCAL_CLOCK}"));
    assert_no_control_reply_but_time_service(&ns, d.port);
}

#[test]
fn unauthenticated_remote_replies_never_exceed_the_request() {
    let ns = Netns::with_veth("amp");
    let d = Daemon::start(
        "ctl-ns-amp",
        &format!("{BASE}{LOCAL_CLOCK}restrict default\nenable mode7\n"),
    );
    let reqs = every_request();
    let got = probe(&ns, ns.outer_addr(), d.port, &reqs);
    let mut answered = [0usize; 2];
    for (r, g) in reqs.iter().zip(&got) {
        assert!(
            g.bytes <= r.len(),
            "request {:02x?} ({} octets) got {} octets in {} datagrams",
            &r[..4],
            r.len(),
            g.bytes,
            g.datagrams
        );
        if g.datagrams > 0 {
            answered[usize::from(r[0] & 7 == 7)] += 1;
        }
    }
    // Queries are allowed here, so both protocols do answer (with data or errors).
    assert!(answered[0] > 0, "no mode 6 request was answered");
    assert!(answered[1] > 0, "no mode 7 request was answered");
    // A mode 7 sysinfo request is answered with data that fits in the 192-octet request.
    let sysinfo = got
        .iter()
        .zip(&reqs)
        .find(|(_, r)| r[0] & 7 == 7 && r[2] == 3 && r[3] == 4)
        .map(|(g, _)| g)
        .expect("sysinfo probe");
    assert!(sysinfo.bytes > 8, "sysinfo data expected: {sysinfo:?}");
}

/// A WRITEVAR `leap=1` signed with key `id` and `secret` (MD5), as ntpq would send it.
fn signed_writevar(id: u32, secret: &[u8]) -> Vec<u8> {
    let data = b"leap=1";
    let mut m = vec![0x16, 0x03, 0x00, 0x07, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&(data.len() as u16).to_be_bytes());
    m.extend_from_slice(data);
    while m.len() % 8 != 0 {
        m.push(0);
    }
    let key = SymmetricKey::new(id, MacAlgorithm::Md5, secret);
    let digest = key.digest(&m);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(digest.as_bytes());
    m
}

#[test]
fn writevar_signed_with_the_wrong_key_changes_nothing() {
    let ns = Netns::with_veth("wv");
    // The key file lives outside the daemon's directory, which is created afresh at start.
    let dir = std::env::temp_dir().join(format!("ntpctl-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let keys = dir.join("ntp.keys");
    std::fs::write(&keys, "1 MD5 rightsecret\n").unwrap();
    let conf = format!(
        "{BASE}{LOCAL_CLOCK}restrict default\nkeys {}\ntrustedkey 1\ncontrolkey 1\n",
        keys.display()
    );
    let d = Daemon::start("ctl-ns-wv", &conf);
    let ntpq = tool("ntpq");
    let port = d.port.to_string();
    let leap_now = || {
        let out = run(
            &ntpq,
            &["--port", &port, "-c", "rv 0 leap,stratum", "127.0.0.1"],
            Duration::from_secs(10),
        );
        assert_eq!(out.code, 0, "{out:?}");
        out.stdout
    };
    let before = leap_now();
    assert!(before.contains("leap="), "{before}");
    let wrong = signed_writevar(1, b"wrongsecret");
    let got = probe(&ns, ns.outer_addr(), d.port, std::slice::from_ref(&wrong));
    // Either silence or an error reply (E bit), never a success.
    if let Some(b) = got[0].first.get(1) {
        assert!(
            b & 0x40 != 0,
            "WRITEVAR with a wrong key succeeded: {got:?}"
        );
    }
    assert!(got[0].bytes <= wrong.len(), "{got:?}");
    assert_eq!(leap_now(), before, "the system variables changed");
    let _ = std::fs::remove_dir_all(&dir);
}
