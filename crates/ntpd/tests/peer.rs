//! End-to-end tests of `peer` (symmetric active, authenticated only) with two of our daemons
//! on loopback, each on its own port of 127.0.0.1: A serves its local clock (stratum 10, so
//! A is at 11), B has only `peer A`. B must reach A, select it and serve stratum 12; A hears
//! B but never selects it (B is synchronised to A: a loop). An unauthenticated mode 1 packet
//! gets nothing and creates no association; an authenticated one from an unconfigured address
//! gets one stateless mode 2 reply no longer than itself. A `peer` line without a key is
//! refused at start-up with file:line:column. Every daemon runs `disable ntp`: the host clock
//! is never touched.

mod common;
mod control_common;

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, query_from, wait_for};
use control_common::{run, tool};
use ntp_wire::{MacAlgorithm, Mode, NtpHeader, NtpPacket, NtpTimestamp, SymmetricKey, Trailer};

const SECRET: &str = "peersecret";

/// A daemon on a port chosen by the test (the peers must know each other's port before
/// either starts); killed on drop.
struct Node {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn private_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ntpd-peer-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("test directory");
    std::fs::write(dir.join("ntp.keys"), format!("1 MD5 {SECRET}\n")).expect("keys file");
    dir
}

fn ntpd(dir: &Path, config: &str, port: u16) -> Command {
    let conf = dir.join("ntp.conf");
    std::fs::write(
        &conf,
        config.replace("$DIR", dir.to_str().expect("utf-8 path")),
    )
    .expect("config");
    let mut c = Command::new(env!("CARGO_BIN_EXE_ntpd"));
    c.args(["-n", "-c"])
        .arg(&conf)
        .args(["--port", &port.to_string(), "-4"])
        .args(common::seccomp_arg(&[]));
    c
}

fn start(tag: &str, config: &str, port: u16) -> Node {
    let dir = private_dir(tag);
    let child = ntpd(&dir, config, port)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ntpd");
    let node = Node { child, port, dir };
    wait_for(
        &format!("ntpd {tag} to answer on {port}"),
        Duration::from_secs(20),
        || query_from("127.0.0.1", port, Duration::from_millis(200)).is_some(),
    );
    node
}

/// Observe-only, loopback only, our key trusted, peer at `127.0.0.1:other` polled every 8 s
/// (maxpoll too: the first polls use the system poll, clamped to the association's range).
fn peer_config(other: u16, extra: &str) -> String {
    format!(
        "disable ntp\ninterface ignore all\nrestrict default\nrestrict 127.0.0.1\n\
         keys $DIR/ntp.keys\ntrustedkey 1\n{extra}\
         peer 127.0.0.1 port {other} key 1 minpoll 3 maxpoll 3\n"
    )
}

/// `ntpq -pn` of the daemon on `port`: (tally + remote, refid, st, t, when, poll, reach)
/// per association.
fn peers(port: u16) -> Vec<Vec<String>> {
    let p = port.to_string();
    let out = run(
        &tool("ntpq"),
        &["--port", &p, "-n", "-p", "127.0.0.1"],
        Duration::from_secs(10),
    );
    out.stdout
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .filter(|c: &Vec<String>| c.len() >= 7)
        .collect()
}

fn key() -> SymmetricKey {
    SymmetricKey::new(1, MacAlgorithm::Md5, SECRET.as_bytes())
}

/// A mode 1 packet, signed with `key` if given.
fn mode1(key: Option<&SymmetricKey>) -> Vec<u8> {
    let h = NtpHeader {
        version: 4,
        mode: Mode::SymmetricActive,
        poll: 6,
        transmit_timestamp: NtpTimestamp::from_bits(0x0badc0de_12345678),
        ..NtpHeader::default()
    };
    let mut b = h.to_bytes().to_vec();
    if let Some(k) = key {
        let mut buf = [0u8; 64];
        let mut w = ntp_wire::Writer::new(&mut buf);
        Trailer::Mac(k.sign(&b)).write(&mut w).expect("mac fits");
        let n = w.position();
        b.extend_from_slice(&buf[..n]);
    }
    b
}

/// Send `req` from an unconfigured address to the daemon; the reply, if any.
fn send_from_stranger(port: u16, req: &[u8]) -> Option<Vec<u8>> {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.set_read_timeout(Some(Duration::from_secs(1)))
        .expect("timeout");
    s.send_to(req, SocketAddr::from(([127, 0, 0, 1], port)))
        .expect("send");
    let mut buf = [0u8; 512];
    s.recv(&mut buf).ok().map(|n| buf[..n].to_vec())
}

#[test]
fn two_daemons_peer_and_strangers_get_no_state() {
    let pa = free_port();
    let mut pb = free_port();
    while pb == pa {
        pb = free_port();
    }
    let a = start(
        "a",
        &peer_config(
            pb,
            "server 127.127.1.0 minpoll 3\nfudge 127.127.1.0 stratum 10\n",
        ),
        pa,
    );
    let b = start("b", &peer_config(pa, ""), pb);

    // B reaches A, selects it ('*', type s for symmetric active) and serves A's stratum + 1.
    let started = Instant::now();
    let mut last = Vec::new();
    wait_for("B to select its peer A", Duration::from_secs(120), || {
        last = peers(b.port);
        last.len() == 1 && last[0][0] == "*127.0.0.1" && last[0][6] != "0"
    });
    let line = &last[0];
    assert_eq!(line[3], "s", "type column: {line:?}");
    assert_eq!(line[2], "11", "A's stratum: {line:?}");
    let (h, _) = query_from("127.0.0.1", b.port, Duration::from_secs(2)).expect("B answers");
    assert_eq!(h.stratum, 12, "B serves A's stratum + 1");
    eprintln!("B synchronised to A in {:?}", started.elapsed());
    // ntpdc: '+' marks a symmetric active association, and the system peer's mode is shown.
    let p = b.port.to_string();
    let dc = run(
        &tool("ntpdc"),
        &["--port", &p, "-n", "-c", "sysinfo", "127.0.0.1"],
        Duration::from_secs(10),
    );
    assert!(
        dc.stdout
            .lines()
            .any(|l| l.starts_with("system peer mode:") && l.ends_with("sym_active")),
        "{dc:?}"
    );

    // A hears B (B is now synchronised, stratum 12) but B names A as its reference: a loop,
    // never selected; A stays on its local clock.
    let mut seen = Vec::new();
    wait_for(
        "A to hear its synchronised peer B",
        Duration::from_secs(60),
        || {
            seen = peers(a.port);
            seen.iter()
                .any(|l| l[0].ends_with("127.0.0.1") && l[2] == "12" && l[6] != "0")
        },
    );
    let pb_line = seen
        .iter()
        .find(|l| l[0].ends_with("127.0.0.1"))
        .expect("peer line");
    assert!(!pb_line[0].starts_with('*'), "A selected B: {seen:?}");
    assert!(
        seen.iter().any(|l| l[0] == "*127.127.1.0"),
        "A left its local clock: {seen:?}"
    );
    let (h, _) = query_from("127.0.0.1", a.port, Duration::from_secs(2)).expect("A answers");
    assert_eq!(h.stratum, 11);

    // Strangers: unauthenticated mode 1 gets nothing; an authenticated one from an address
    // that is not a configured peer gets one stateless mode 2, no longer than the request.
    assert_eq!(send_from_stranger(b.port, &mode1(None)), None);
    let wrong = SymmetricKey::new(1, MacAlgorithm::Md5, b"guess");
    assert_eq!(send_from_stranger(b.port, &mode1(Some(&wrong))), None);
    let req = mode1(Some(&key()));
    let reply = send_from_stranger(b.port, &req).expect("a mode 2 reply");
    assert!(reply.len() <= req.len(), "{} > {}", reply.len(), req.len());
    let p = NtpPacket::decode(&reply).expect("reply decodes");
    assert_eq!(p.header.mode, Mode::SymmetricPassive);
    assert_eq!(p.header.stratum, 12);
    assert_eq!(p.header.origin_timestamp.to_bits(), 0x0badc0de_12345678);
    let Some(Trailer::Mac(mac)) = p.trailer else {
        panic!("unsigned reply: {:?}", p.trailer);
    };
    assert!(key().verify(&reply[..48], mac.digest.as_bytes()));
    // ... and no association was created for either.
    let after = peers(b.port);
    assert_eq!(after.len(), 1, "{after:?}");
}

#[test]
fn peer_without_key_is_refused_at_start_up() {
    let dir = private_dir("nokey");
    let port = free_port();
    let conf = "disable ntp\ninterface ignore all\nkeys $DIR/ntp.keys\ntrustedkey 1\n\
                peer 127.0.0.1 port 9 minpoll 3\n";
    let out = ntpd(&dir, conf, port)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ntpd");
    let out = out.wait_with_output().expect("ntpd exits");
    let _ = std::fs::remove_dir_all(&dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("ntp.conf:5:1: peer 127.0.0.1") && err.contains("key"),
        "{err}"
    );
    assert!(
        query_from("127.0.0.1", port, Duration::from_millis(300)).is_none(),
        "a refused config must not serve"
    );
}
