//! Our `ntpdate -q` against real servers reports a sane offset: our own daemon, chronyd, and
//! NTPsec's ntpd (in a network namespace, on port 123, without CAP_SYS_TIME). `-q` never
//! touches the clock.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{
    lacks_cap_sys_time, peer_program, query_from, sibling_binary, wait_for, Chrony, Daemon, Killed,
    Netns,
};

/// Run `ntpdate -q` and return the offset it printed for the server, after checking it lies
/// within half the delay it printed (the measurement's own error bound; classic's delay even
/// includes a 25 ms allowance), so a scheduling hiccup cannot pass for a wrong answer.
fn ntpdate_offset(cmd: &mut Command) -> f64 {
    let out = cmd.output().expect("run ntpdate");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "ntpdate failed: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "server 127.0.0.1, stratum 4, offset +0.000012, delay 0.02571"
    let line = text
        .lines()
        .find(|l| l.starts_with("server "))
        .unwrap_or_else(|| panic!("no server line in {text}"));
    let field = |name: &str| -> f64 {
        line.split(", ")
            .find_map(|f| f.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {line}"))
            .parse()
            .unwrap()
    };
    let (off, delay) = (field("offset "), field("delay "));
    assert!(
        off.abs() <= delay / 2.0,
        "offset {off} beyond half the delay {delay}: {line}"
    );
    off
}

#[test]
fn against_our_daemon_and_chronyd() {
    let ntpdate = sibling_binary("ntpdate");
    let d = Daemon::start(
        "for-ntpdate",
        "disable ntp\nrestrict default\nserver 127.127.1.0 minpoll 3\nfudge 127.127.1.0 stratum 4\n",
    );
    wait_for("our daemon synchronised", Duration::from_secs(120), || {
        query_from("127.0.0.1", d.port, Duration::from_millis(300))
            .is_some_and(|(h, _)| h.stratum == 5)
    });
    let off = ntpdate_offset(Command::new(&ntpdate).args([
        "-q",
        "-p",
        "2",
        "--port",
        &d.port.to_string(),
        "127.0.0.1",
    ]));
    assert!(
        off.abs() < 0.01,
        "offset {off} against our daemon on loopback"
    );
    let c = Chrony::start("for-ntpdate", "127.0.0.41", 3);
    wait_for("chronyd answering", Duration::from_secs(10), || {
        common::query_addr(c.addr, Duration::from_millis(300)).is_some()
    });
    let off = ntpdate_offset(Command::new(&ntpdate).args([
        "-q",
        "-p",
        "2",
        "--port",
        &c.addr.port().to_string(),
        "127.0.0.41",
    ]));
    assert!(off.abs() < 0.5, "offset {off} against chronyd on loopback");
}

#[test]
fn against_ntpsec_ntpd_in_a_namespace() {
    let ntpdate = sibling_binary("ntpdate");
    let ns = Netns::new("ntpsec");
    let dir = std::env::temp_dir().join(format!("ntpsec-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("ntp.conf"),
        format!(
            "disable ntp\ndisable kernel\ntos orphan 10 orphanwait 1\nunrestrict default noquery limited\nrefclock local stratum 12 noselect\nlogfile {}/ntpd.log\n",
            dir.display()
        ),
    )
    .unwrap();
    let ntpd = peer_program("/usr/sbin/ntpd");
    let capsh = peer_program("/usr/sbin/capsh");
    let daemon = Killed(
        ns.cmd(&capsh)
            .args([
                "--drop=cap_sys_time",
                "--",
                "-c",
                &format!("exec {} -n -c {}/ntp.conf", ntpd.display(), dir.display()),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        lacks_cap_sys_time(daemon.0.id()),
        "NTPsec must run without CAP_SYS_TIME"
    );
    let mut last = 0.0;
    wait_for(
        "NTPsec answering in orphan mode",
        Duration::from_secs(20),
        || {
            let out = ns
                .cmd(&ntpdate)
                .args(["-q", "-p", "1", "127.0.0.1"])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            // NTPsec in orphan mode sends reftime 0, which classic ntpdate's selection
            // refuses as older than a day ("no server suitable", exit 1); the -q line still
            // reports the measured offset, which is what is checked here.
            match text.lines().find(|l| l.starts_with("server ")) {
                Some(l) => {
                    last = l
                        .split(", ")
                        .find_map(|f| f.strip_prefix("offset "))
                        .and_then(|o| o.parse().ok())
                        .unwrap_or(f64::NAN);
                    true
                }
                None => false,
            }
        },
    );
    assert!(
        last.abs() < 0.01,
        "offset {last} against NTPsec on loopback"
    );
    drop(daemon);
    let _ = std::fs::remove_dir_all(&dir);
}
