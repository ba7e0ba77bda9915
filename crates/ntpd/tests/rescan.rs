//! Interface rescan (security.md F08, classic `-U`): the daemon runs in a network namespace of
//! its own with `-U 1` (or `-U 3600`, where only the rtnetlink notification can trigger the
//! scan in time); an address added after start-up is served within a scan or two and
//! logged as classic does ("Listen normally on N if addr:port"); an address an `interface
//! ignore` rule excludes gets no socket; a deleted address is logged ("Deleting interface #N
//! ...") and its socket closed (gone from the namespace's /proc/net/udp); `ntpq -c ifstats`
//! lists exactly the served addresses. Both server layouts: worker threads (with `-u nobody`:
//! port 123 is bound after the privilege drop) and `--server-threads 0`. Needs root;
//! observe-only (`disable ntp`, local clock at stratum 10): the clock is never adjusted.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{sibling_binary, wait_for, Killed, Netns};
use ntp_wire::{Mode, NtpHeader};

/// Generous: the machine is shared and loaded.
const LIMIT: Duration = Duration::from_secs(60);
const PORT: u16 = 123;

fn ip(ns: &Netns, args: &[&str]) {
    let ok = Command::new("ip")
        .args(["-n", &ns.0])
        .args(args)
        .status()
        .unwrap();
    assert!(ok.success(), "ip -n {} {}", ns.0, args.join(" "));
}

/// A client query sent inside the namespace from 127.0.0.1 to `dst:PORT`: the reply bytes.
fn query(ns: &Netns, dst: &str) -> Option<Vec<u8>> {
    let script = "import socket,sys\n\
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(1.0);s.bind(('127.0.0.1',0))\n\
s.sendto(bytes([0x23])+bytes(39)+(0x1122334455667788).to_bytes(8,'big'),(sys.argv[1],int(sys.argv[2])))\n\
try:\n  print(s.recv(512).hex())\nexcept OSError:\n  print('none')\n";
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.0, "python3", "-c", script, dst])
        .arg(PORT.to_string())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let hex = text.trim();
    if hex == "none" || hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// True when `dst` answers with a valid server reply to our request.
fn served(ns: &Netns, dst: &str) -> bool {
    let Some(bytes) = query(ns, dst) else {
        return false;
    };
    let h = NtpHeader::decode(&bytes).expect("a decodable reply");
    assert_eq!(bytes.len(), 48);
    assert_eq!(h.mode, Mode::Server);
    assert_eq!(h.origin_timestamp.to_bits(), 0x1122_3344_5566_7788);
    true
}

/// True when some UDP socket of process `pid`'s namespace is bound to `addr:PORT`.
fn bound(pid: u32, addr: &str) -> bool {
    let octets: std::net::Ipv4Addr = addr.parse().unwrap();
    let want = format!("{:08X}:{:04X}", u32::from_le_bytes(octets.octets()), PORT);
    std::fs::read_to_string(format!("/proc/{pid}/net/udp"))
        .unwrap()
        .lines()
        .skip(1)
        .any(|l| l.split_whitespace().nth(1) == Some(want.as_str()))
}

/// The addresses `ntpq -c ifstats` lists (authenticated with key 1).
fn ifstats(ns: &Netns) -> String {
    let out = ns
        .cmd(&sibling_binary("ntpq"))
        .args([
            "-n",
            "-c",
            "keyid 1",
            "-c",
            "passwd rightsecret",
            "-c",
            "ifstats",
        ])
        .arg("127.0.0.1")
        .output()
        .expect("run ntpq");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn log_text(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("ntpd.log")).unwrap_or_default()
}

fn added_address_is_served_and_deleted_address_closed(tag: &str, extra: &[&str]) {
    let ns = Netns::new(tag);
    // A veth pair inside the namespace: the addresses go on `va`.
    ip(
        &ns,
        &["link", "add", "va", "type", "veth", "peer", "name", "vb"],
    );
    ip(&ns, &["link", "set", "va", "up"]);
    ip(&ns, &["link", "set", "vb", "up"]);
    let dir = std::env::temp_dir().join(format!("ntpd-rescan-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("ntp.conf");
    std::fs::write(dir.join("ntp.keys"), "1 MD5 rightsecret\n").unwrap();
    std::fs::write(
        &conf,
        format!(
            "disable ntp\nlogfile {d}/ntpd.log\nrestrict default\nserver 127.127.1.0\n\
             fudge 127.127.1.0 stratum 10\ninterface ignore 10.77.2.0/24\n\
             keys {d}/ntp.keys\ntrustedkey 1\ncontrolkey 1\n",
            d = dir.display()
        ),
    )
    .unwrap();
    let d = Killed(
        ns.cmd(Path::new(env!("CARGO_BIN_EXE_ntpd")))
            .args(["-n", "-c"])
            .arg(&conf)
            .arg("-4")
            .args(extra)
            .args(common::seccomp_arg(extra))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ntpd"),
    );
    let pid = d.0.id();
    wait_for("the daemon serving loopback", LIMIT, || {
        served(&ns, "127.0.0.1")
    });
    assert!(!bound(pid, "10.77.1.1"));

    ip(&ns, &["addr", "add", "10.77.1.1/24", "dev", "va"]);
    wait_for("the new address served", LIMIT, || served(&ns, "10.77.1.1"));
    let log = log_text(&dir);
    assert!(
        log.lines()
            .any(|l| l.contains("Listen normally on ") && l.ends_with(" va 10.77.1.1:123")),
        "{log}"
    );
    assert!(ifstats(&ns).contains("10.77.1.1:123"));

    // An address the rules ignore, then an allowed one: once the second is served, the scan
    // that saw the first has run.
    ip(&ns, &["addr", "add", "10.77.2.1/24", "dev", "va"]);
    ip(&ns, &["addr", "add", "10.77.3.1/24", "dev", "va"]);
    wait_for("the second new address served", LIMIT, || {
        served(&ns, "10.77.3.1")
    });
    assert!(!bound(pid, "10.77.2.1"), "an ignored address got a socket");
    assert!(!log_text(&dir).contains("10.77.2.1"));
    assert!(query(&ns, "10.77.2.1").is_none());

    ip(&ns, &["addr", "del", "10.77.1.1/24", "dev", "va"]);
    wait_for("the deleted address's socket closed", LIMIT, || {
        !bound(pid, "10.77.1.1")
    });
    let log = log_text(&dir);
    let line = log
        .lines()
        .find(|l| l.contains("Deleting interface #"))
        .unwrap_or_else(|| panic!("no Deleting line: {log}"));
    assert!(
        line.contains(" va, 10.77.1.1#123, interface stats: received="),
        "{line}"
    );
    // It answered at least the query that proved it served.
    let received: u64 = line
        .split("received=")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(received >= 1, "{line}");
    assert!(line.ends_with(" secs"), "{line}");
    let listed = ifstats(&ns);
    assert!(
        !listed.contains("10.77.1.1") && listed.contains("10.77.3.1:123"),
        "{listed}"
    );
    // The other addresses are still served.
    assert!(served(&ns, "10.77.3.1"));
    assert!(served(&ns, "127.0.0.1"));
    drop(d);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn address_added_after_start_is_served_and_deleted_one_closed_with_worker_threads() {
    added_address_is_served_and_deleted_address_closed(
        "rsw",
        &["-U", "1", "--server-threads", "2", "-u", "nobody"],
    );
}

#[test]
fn address_added_after_start_is_served_and_deleted_one_closed_inline() {
    added_address_is_served_and_deleted_address_closed(
        "rsi",
        &["-U", "1", "--server-threads", "0"],
    );
}

#[test]
fn address_change_notification_triggers_a_scan_long_before_the_interval() {
    added_address_is_served_and_deleted_address_closed("rsn", &["-U", "3600"]);
}
