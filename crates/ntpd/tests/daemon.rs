//! End-to-end tests of the real `ntpd` binary on loopback: it serves time observe-only,
//! enforces `restrict` (noserve, ignore, limited + kod), falls back to the local clock,
//! synchronises to an upstream and serves its stratum + 1, and saves the drift file on SIGTERM.
//! Every daemon here runs with `disable ntp`, so the host clock is never touched.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{query_from, wait_for, Daemon};
use ntp_wire::{LeapIndicator, Mode, RefId};

const BASE: &str = "disable ntp\ndriftfile $DIR/ntp.drift\n";

#[test]
fn serves_mode_4_with_echoed_origin_and_sane_fields() {
    let d = Daemon::start("serve", &format!("{BASE}restrict default\n"));
    let (h, n) = query_from("127.0.0.1", d.port, Duration::from_secs(2)).expect("reply");
    assert_eq!(n, 48);
    assert_eq!(h.mode, Mode::Server);
    assert_eq!(h.version, 4);
    // Not synchronised yet (no sources): stratum 0 on the wire, leap 3.
    assert_eq!(h.stratum, 0);
    assert_eq!(h.leap, LeapIndicator::Unsynchronized);
    // Receive and transmit are the real time.
    let now = ntp_wire::NtpTimestamp::from_unix_f64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64(),
    );
    assert!((now - h.receive_timestamp).to_seconds_f64().abs() < 5.0);
    assert!((h.transmit_timestamp - h.receive_timestamp).to_seconds_f64() >= 0.0);
}

#[test]
fn restrict_noserve_ignore_and_limited_kod_are_honoured() {
    let d = Daemon::start(
        "restrict",
        &format!(
            "{BASE}restrict default\nrestrict 127.0.0.2 noserve\nrestrict 127.0.0.3 ignore\nrestrict 127.0.0.4 limited kod\ndiscard average 3 minimum 2\n"
        ),
    );
    let short = Duration::from_millis(500);
    assert!(
        query_from("127.0.0.2", d.port, short).is_none(),
        "noserve answered"
    );
    assert!(
        query_from("127.0.0.3", d.port, short).is_none(),
        "ignore answered"
    );
    // limited kod: first answered, the burst gets one RATE KoD, then silence.
    let mut kinds = Vec::new();
    for _ in 0..6 {
        kinds.push(
            match query_from("127.0.0.4", d.port, Duration::from_millis(300)) {
                Some((h, _)) if h.stratum == 0 && h.reference_id == RefId::RATE => "kod",
                Some(_) => "reply",
                None => "none",
            },
        );
    }
    assert_eq!(kinds, ["reply", "kod", "none", "none", "none", "none"]);
    // An unrestricted loopback client is unaffected.
    assert!(query_from("127.0.0.1", d.port, short).is_some());
}

#[test]
fn falls_back_to_the_local_clock_at_its_fudged_stratum() {
    let d = Daemon::start(
        "local",
        &format!("{BASE}server 127.127.1.0 minpoll 3\nfudge 127.127.1.0 stratum 10\n"),
    );
    wait_for(
        "stratum 11 from the local clock",
        Duration::from_secs(120),
        || {
            query_from("127.0.0.1", d.port, Duration::from_millis(300))
                .is_some_and(|(h, _)| h.stratum == 11 && h.leap == LeapIndicator::NoWarning)
        },
    );
    let (h, _) = query_from("127.0.0.1", d.port, Duration::from_secs(1)).unwrap();
    assert_eq!(h.reference_id, RefId::LOCL);
}

#[test]
fn synchronises_to_an_upstream_and_serves_its_stratum_plus_one() {
    let up = Daemon::start(
        "upstream",
        &format!("{BASE}server 127.127.1.0 minpoll 3\nfudge 127.127.1.0 stratum 5\n"),
    );
    wait_for("upstream at stratum 6", Duration::from_secs(120), || {
        query_from("127.0.0.1", up.port, Duration::from_millis(300))
            .is_some_and(|(h, _)| h.stratum == 6)
    });
    let down = Daemon::start(
        "downstream",
        &format!(
            "{BASE}server 127.0.0.1 port {} iburst prefer minpoll 3 maxpoll 4\nserver 127.127.1.0 minpoll 3\nfudge 127.127.1.0 stratum 10\n",
            up.port
        ),
    );
    wait_for(
        "downstream at stratum 7 via the upstream",
        Duration::from_secs(30),
        || {
            query_from("127.0.0.1", down.port, Duration::from_millis(300)).is_some_and(|(h, _)| {
                h.stratum == 7 && h.reference_id == RefId::from_ipv4([127, 0, 0, 1].into())
            })
        },
    );
}

#[test]
fn sigterm_saves_the_drift_file_and_exits_zero() {
    let mut d = Daemon::start("sigterm", &format!("{BASE}restrict default\n"));
    let drift = d.dir.join("ntp.drift");
    assert!(!drift.exists());
    let status = d.terminate();
    assert!(status.success(), "{status:?}");
    let text = std::fs::read_to_string(&drift).expect("drift file written on SIGTERM");
    let v: f64 = text.trim().parse().expect("a number");
    assert!(v.abs() <= 500.0);
}

#[test]
fn a_bad_config_names_file_line_and_column_and_exits_1() {
    let dir = std::env::temp_dir().join(format!("ntpd-e2e-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("ntp.conf");
    std::fs::write(&conf, "server 192.0.2.1 iburst\nrestrict default nomodfy\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ntpd"))
        .args(["-n", "-c", conf.to_str().unwrap(), "--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ntp.conf:2:"), "{err}");
    assert!(err.contains("nomodify"), "{err}");
    let check = Command::new(env!("CARGO_BIN_EXE_ntpd"))
        .args(["--check-config", "-c", conf.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1));
    std::fs::write(
        &conf,
        "server 192.0.2.1 iburst\nrestrict default nomodify\n",
    )
    .unwrap();
    let check = Command::new(env!("CARGO_BIN_EXE_ntpd"))
        .args(["--check-config", "-c", conf.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dash_q_sets_the_time_once_and_quits() {
    let up = Daemon::start(
        "q-upstream",
        &format!("{BASE}server 127.127.1.0 minpoll 3\nfudge 127.127.1.0 stratum 3\n"),
    );
    wait_for("upstream at stratum 4", Duration::from_secs(120), || {
        query_from("127.0.0.1", up.port, Duration::from_millis(300))
            .is_some_and(|(h, _)| h.stratum == 4)
    });
    let dir = std::env::temp_dir().join(format!("ntpd-q-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("ntp.conf");
    std::fs::write(
        &conf,
        format!(
            "{}server 127.0.0.1 port {} iburst minpoll 3\n",
            BASE.replace("$DIR", dir.to_str().unwrap()),
            up.port
        ),
    )
    .unwrap();
    let port = common::free_port();
    let start = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_ntpd"))
        .args([
            "-q",
            "-n",
            "-4",
            "-c",
            conf.to_str().unwrap(),
            "--port",
            &port.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("ntpd: time set "), "{text}");
    assert!(start.elapsed() < Duration::from_secs(120));
    assert!(dir.join("ntp.drift").exists(), "-q saves the drift file");
    let _ = std::fs::remove_dir_all(&dir);
}
