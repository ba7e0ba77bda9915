//! The files in dist/ are used, not just shipped: the SysV init script starts the real daemon
//! (detached, as classic ntpd), reports `status` and `stop`s it; the systemd unit passes
//! `systemd-analyze verify` without a single complaint.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{free_port, query_from, wait_for, workspace_root};

fn init(action: &str, env: &[(&str, String)]) -> (i32, String) {
    let out = Command::new("sh")
        .arg(workspace_root().join("dist/ntpd.init"))
        .arg(action)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("run the init script");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn init_script_starts_reports_status_and_stops_the_daemon() {
    let dir = std::env::temp_dir().join(format!("ntpd-init-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("ntp.conf");
    std::fs::write(&conf, "disable ntp\nrestrict default\n").unwrap();
    let port = free_port();
    let pidfile = dir.join("ntpd.pid");
    let env = vec![
        ("DAEMON", env!("CARGO_BIN_EXE_ntpd").to_string()),
        ("PIDFILE", pidfile.display().to_string()),
        (
            "NTPD_OPTS",
            format!("-c {} --port {port} -4", conf.display()),
        ),
        ("NTPD_NO_DEFAULTS", "1".to_string()),
    ];
    assert_eq!(init("status", &env).0, 3, "not running yet");
    let (code, out) = init("start", &env);
    assert_eq!(code, 0, "{out}");
    // Detached: the pid file names a live process that answers NTP.
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    wait_for(
        "the detached daemon answering",
        Duration::from_secs(10),
        || query_from("127.0.0.1", port, Duration::from_millis(300)).is_some(),
    );
    let (code, out) = init("status", &env);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("running (pid {pid})")), "{out}");
    let (code, out) = init("stop", &env);
    assert_eq!(code, 0, "{out}");
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "still running"
    );
    assert!(query_from("127.0.0.1", port, Duration::from_millis(300)).is_none());
    assert_eq!(init("status", &env).0, 3);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn systemd_unit_verifies_cleanly() {
    let unit = workspace_root().join("dist/ntpd.service");
    let out = Command::new(common::peer_program("/usr/bin/systemd-analyze"))
        .arg("verify")
        .arg(&unit)
        .output()
        .expect("systemd-analyze");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        !err.contains("ntpd.service"),
        "systemd-analyze complained about the unit: {err}"
    );
    let text = std::fs::read_to_string(&unit).unwrap();
    for must in [
        "AmbientCapabilities=CAP_SYS_TIME CAP_NET_BIND_SERVICE",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "User=ntp",
    ] {
        assert!(text.contains(must), "unit lacks {must}");
    }
}
