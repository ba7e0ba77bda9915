//! Runs the real `ntpdc` binary against a tiny UDP responder on 127.0.0.1 that answers with a
//! classic vector's recorded response.

use std::net::UdpSocket;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::Duration;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn vector_dir(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/vectors/classic-4.2.8")
        .join(name)
}

/// Serve `requests` datagrams: answer each with the vector's response, after checking the
/// request code matches. Returns the port and the thread (joined to surface its panics).
fn responder(name: &str, requests: usize) -> (u16, thread::JoinHandle<Vec<Vec<u8>>>) {
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(vector_dir(name).join("datagrams.json")).unwrap(),
    )
    .unwrap();
    let responses: Vec<Vec<u8>> = json["datagrams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["dir"] == "response")
        .map(|d| hex(d["payload_hex"].as_str().unwrap()))
        .collect();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let port = socket.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..requests {
            let mut buf = [0u8; 1024];
            let (n, from) = socket.recv_from(&mut buf).unwrap();
            let req = buf[..n].to_vec();
            for r in &responses {
                assert_eq!(r[3], req[3], "request code");
                socket.send_to(r, from).unwrap();
            }
            seen.push(req);
        }
        seen
    });
    (port, handle)
}

#[test]
fn binary_prints_classic_sysinfo_from_a_udp_server() {
    let (port, server) = responder("ntpdc-c-sysinfo", 1);
    let out = Command::new(env!("CARGO_BIN_EXE_ntpdc"))
        .args(["--port", &port.to_string(), "-c", "sysinfo", "127.0.0.1"])
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let seen = server.join().unwrap();
    assert_eq!(seen[0].len(), 192);
    assert_eq!(&seen[0][..4], &[0x17, 0x00, 0x03, 0x04]);
    let expected = std::fs::read(vector_dir("ntpdc-c-sysinfo").join("stdout.txt")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&expected)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success());
}

#[test]
fn binary_json_sysinfo_has_stable_fields() {
    let (port, server) = responder("ntpdc-c-sysinfo", 1);
    let out = Command::new(env!("CARGO_BIN_EXE_ntpdc"))
        .args([
            "--json",
            "--port",
            &port.to_string(),
            "-c",
            "sysinfo",
            "127.0.0.1",
        ])
        .output()
        .unwrap();
    server.join().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["system_peer"], "10.123.21.2");
    assert_eq!(v["system_peer_mode"], "client");
    assert_eq!(v["stratum"], 3);
    assert_eq!(v["precision"], -24);
    assert_eq!(v["reference_id"], "10.123.21.2");
    assert_eq!(v["reference_time"], "eeb22828.7d849775");
    assert_eq!(
        v["system_flags"],
        serde_json::json!(["auth", "monitor", "stats"])
    );
    assert!((v["broadcast_delay"].as_f64().unwrap() + 0.049988).abs() < 1e-6);
}

#[test]
fn binary_reports_a_timeout_when_nobody_answers() {
    // A bound socket that never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let out = Command::new(env!("CARGO_BIN_EXE_ntpdc"))
        .args([
            "--port",
            &port.to_string(),
            "-c",
            "timeout 200",
            "-c",
            "sysinfo",
            "127.0.0.1",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "127.0.0.1: timed out, nothing received\n***Request timed out\n"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn binary_authenticates_ifstats_with_the_real_clock() {
    let (port, server) = responder("ntpdc-c-ifstats-auth", 1);
    let out = Command::new(env!("CARGO_BIN_EXE_ntpdc"))
        .args([
            "--port",
            &port.to_string(),
            "-c",
            "keyid 1",
            "-c",
            "passwd vectorkey1",
            "-c",
            "ifstats",
            "127.0.0.1",
        ])
        .output()
        .unwrap();
    let seen = server.join().unwrap();
    let req = &seen[0];
    assert_eq!(req.len(), 212);
    assert_eq!(&req[..4], &[0x17, 0x80, 0x03, 0x2c]);
    let layout = ntp_wire::mode7::RequestMacLayout::client(0, 0, 16).unwrap();
    let key = ntp_wire::SymmetricKey::new(1, ntp_wire::MacAlgorithm::Md5, b"vectorkey1");
    assert!(key.verify(layout.covered(req).unwrap(), layout.digest(req).unwrap()));
    // The timestamp is the sender's clock (+20 ms): within the daemon's 10 s skew of ours.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2_208_988_800;
    let ts = u64::from(layout.tstamp(req).unwrap().seconds());
    assert!(
        ts.abs_diff(now & 0xffff_ffff) <= 10,
        "tstamp {ts} vs now {now}"
    );
    let expected = std::fs::read(vector_dir("ntpdc-c-ifstats-auth").join("stdout.txt")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&expected)
    );
}
