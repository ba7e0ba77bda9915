//! Real clients get correct answers from our daemon, and every packet on the wire passes
//! tshark's dissector without a malformed or warning mark: NTPsec's `ntpdig` and Python's
//! `ntplib` as clients, our daemon itself as a client of chronyd. Everything runs inside a
//! network namespace the test creates (ntpdig only speaks to port 123), on its loopback.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{lacks_cap_sys_time, peer_program, Killed, Netns};

#[test]
fn ntpdig_ntplib_and_chronyd_interoperate_and_tshark_finds_nothing_wrong() {
    let ns = Netns::new("clients");
    let dir = std::env::temp_dir().join(format!("ntpd-clients-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let d = dir.display();

    // chronyd on 127.0.0.2:123 in the namespace, as our daemon's upstream.
    std::fs::write(
        dir.join("chrony.conf"),
        format!(
            "port 123\nbindaddress 127.0.0.2\nallow all\nlocal stratum 3\ncmdport 0\nbindcmdaddress {d}/chronyd.sock\npidfile {d}/chronyd.pid\ndriftfile {d}/drift\nnoclientlog\n"
        ),
    )
    .unwrap();
    let chronyd = peer_program("target/interop/chrony/usr/sbin/chronyd");
    let capsh = peer_program("/usr/sbin/capsh");
    let chrony = Killed(
        ns.cmd(&capsh)
            .args([
                "--drop=cap_sys_time",
                "--",
                "-c",
                &format!(
                    "exec {} -x -d -u root -f {d}/chrony.conf",
                    chronyd.display()
                ),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    // Capture everything on the namespace's loopback.
    let tshark = peer_program("/usr/bin/tshark");
    let pcap = dir.join("cap.pcapng");
    let capture = Killed(
        ns.cmd(&tshark)
            .args(["-i", "lo", "-f", "udp port 123", "-q", "-w"])
            .arg(&pcap)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_secs(2));
    // `ip netns exec` execs capsh, which execs chronyd: the pid is chronyd's.
    assert!(
        lacks_cap_sys_time(chrony.0.id(), "chronyd"),
        "chronyd must run without CAP_SYS_TIME"
    );

    // Our daemon on 127.0.0.1:123, client of chronyd, observe-only.
    std::fs::write(
        dir.join("ntp.conf"),
        "disable ntp\nrestrict default\nserver 127.0.0.2 iburst minpoll 3 maxpoll 4\n",
    )
    .unwrap();
    let ntpd = Killed(
        ns.cmd(Path::new(env!("CARGO_BIN_EXE_ntpd")))
            .args(["-n", "-4", "-c"])
            .arg(dir.join("ntp.conf"))
            .args(common::seccomp_arg(&[]))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    // ntpdig: JSON output; wait until our daemon follows chronyd (stratum 4).
    let ntpdig = peer_program("/usr/bin/ntpdig");
    let mut last;
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    loop {
        let out = ns
            .cmd(&ntpdig)
            .args(["-j", "-t", "1", "127.0.0.1"])
            .output()
            .unwrap();
        last = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() && last.contains("\"stratum\":4") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "ntpdig never saw our daemon at stratum 4; last: {last} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // The offset must lie within the error bound ntpdig itself reports (half the round
    // trip); of three queries, the one with the tightest bound counts, so a scheduling
    // hiccup on a loaded machine cannot masquerade as a wrong answer.
    let mut best: Option<(f64, f64)> = None;
    for _ in 0..3 {
        let out = ns
            .cmd(&ntpdig)
            .args(["-j", "-t", "1", "127.0.0.1"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text.trim()) {
            let (o, e) = (
                v["offset"].as_f64().unwrap(),
                v["precision"].as_f64().unwrap(),
            );
            if best.is_none_or(|(_, be)| e < be) {
                best = Some((o, e));
            }
        }
        last = text;
    }
    let (offset, bound) = best.unwrap_or_else(|| panic!("no ntpdig JSON: {last}"));
    assert!(
        offset.abs() <= bound + 0.005,
        "offset {offset} beyond ntpdig's bound {bound}"
    );
    assert!(bound < 0.5, "error bound {bound}");

    // ntplib (version 3 and 4).
    for version in [3, 4] {
        let out = ns
            .cmd(Path::new("python3"))
            .args([
                "-c",
                &format!(
                    "import ntplib; r = ntplib.NTPClient().request('127.0.0.1', version={version}, timeout=2); print(r.version, r.stratum, r.leap, r.mode, abs(r.offset) <= r.delay / 2 + 0.005)"
                ),
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "ntplib: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(text.trim(), format!("{version} 4 0 4 True"));
    }
    std::thread::sleep(Duration::from_secs(1));
    drop(ntpd);
    drop(capture);
    // tshark's capture child (dumpcap) outlives a killed tshark: stop it by its file name.
    let _ = Command::new("pkill")
        .arg("-f")
        .arg(format!("dumpcap.*{}", pcap.display()))
        .status();
    std::thread::sleep(Duration::from_millis(300));
    drop(chrony);

    // Every NTP packet decodes cleanly; our requests, our replies and chronyd's are there.
    let count = Command::new(&tshark)
        .arg("-r")
        .arg(&pcap)
        .args(["-Y", "ntp", "-T", "fields", "-e", "ntp.flags.mode"])
        .output()
        .unwrap();
    let modes = String::from_utf8_lossy(&count.stdout);
    assert!(
        modes.lines().filter(|m| m.trim() == "3").count() >= 4,
        "{modes}"
    );
    assert!(
        modes.lines().filter(|m| m.trim() == "4").count() >= 4,
        "{modes}"
    );
    let bad = Command::new(&tshark)
        .arg("-r")
        .arg(&pcap)
        .args([
            "-Y",
            "ntp && (_ws.malformed || _ws.expert.severity >= warning)",
        ])
        .output()
        .unwrap();
    assert!(bad.status.success());
    assert_eq!(
        String::from_utf8_lossy(&bad.stdout).trim(),
        "",
        "tshark flagged packets"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
