//! Least privilege: started as root with `-u nobody`, the daemon runs as that user with
//! CAP_SYS_TIME as its only capability (effective, permitted and bounding sets, read from
//! /proc), and still serves time.

mod common;

use std::time::Duration;

use common::{query_from, wait_for, Daemon};

fn status_field(pid: u32, key: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_owned()))
        .unwrap_or_default()
}

#[test]
fn after_start_up_it_runs_as_the_user_with_only_cap_sys_time() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test starts the daemon as root (CI runs as root)"
    );
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .expect("user nobody");
    let d = Daemon::start_with(
        "privs",
        "disable ntp\nrestrict default\n",
        &["-u", "nobody"],
    );
    let pid = d.child.id();
    wait_for(
        "the daemon to drop privileges",
        Duration::from_secs(5),
        || {
            status_field(pid, "Uid:")
                .split_whitespace()
                .all(|u| u == nobody.uid.to_string())
        },
    );
    let cap_sys_time = format!("{:016x}", 1u64 << 25);
    for set in ["CapEff:", "CapPrm:", "CapBnd:"] {
        assert_eq!(status_field(pid, set), cap_sys_time, "{set}");
    }
    assert_eq!(status_field(pid, "CapInh:"), format!("{:016x}", 0));
    assert!(query_from("127.0.0.1", d.port, Duration::from_secs(1)).is_some());
}
