//! Hardening of the running daemon: the seccomp allow-list is really installed (`Seccomp: 2`
//! in /proc), a call outside it kills the process with SIGSYS in enforce mode and is let
//! through in log mode; `-N` runs the daemon under SCHED_FIFO; `-i` chroots it into a jail
//! where it writes its drift file. Observe-only configurations: the clock is never touched.
//! Run as root (as CI does): chroot and real-time priority need it.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::Duration;

use common::{query_from, wait_for, Daemon};
use ntpd::seccomp::{apply, Mode};

/// The environment variable that turns a re-executed test binary into the filtered child.
const CHILD_MODE: &str = "NTPD_HARDENING_SECCOMP_CHILD";

fn status_field(pid: u32, key: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_owned()))
        .unwrap_or_default()
}

fn assert_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root (CI runs as root)"
    );
}

#[test]
fn the_daemon_runs_under_a_seccomp_filter_and_still_serves() {
    // common::Daemon passes --seccomp (enforce) unless told otherwise.
    let d = Daemon::start("seccomp-on", "disable ntp\nrestrict default\n");
    let pid = d.child.id();
    assert_eq!(status_field(pid, "Seccomp:"), "2", "filter mode");
    assert_eq!(status_field(pid, "NoNewPrivs:"), "1");
    // Two stacked programs: the clone3 -> ENOSYS one and the allow-list.
    assert_eq!(status_field(pid, "Seccomp_filters:"), "2");
    // Every thread carries it (TSYNC), the server workers included.
    let tasks: Vec<_> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(tasks.len() > 1, "server workers exist");
    for t in &tasks {
        let s = std::fs::read_to_string(t.join("status")).unwrap();
        assert!(s.contains("Seccomp:\t2"), "{}", t.display());
    }
    assert!(query_from("127.0.0.1", d.port, Duration::from_secs(1)).is_some());
}

#[test]
fn without_the_flag_there_is_no_filter() {
    let d = Daemon::start_with(
        "seccomp-off",
        "disable ntp\nrestrict default\n",
        &["--seccomp=off"],
    );
    assert_eq!(status_field(d.child.id(), "Seccomp:"), "0");
}

/// In the parent: re-run this test binary with only `test` selected and the child marker
/// set, and return how the child ended. In the child (marker set): install the filter in
/// `mode`, then try to run another program (clone without CLONE_THREAD, pipe2, execve: none
/// is on the list); returns `None` if the child survived that.
fn parent_or_child(test: &str, mode: Mode) -> Option<std::process::ExitStatus> {
    if std::env::var_os(CHILD_MODE).is_some() {
        apply(mode).expect("install the filter");
        let status = Command::new("/bin/true").status().expect("spawn /bin/true");
        assert!(status.success());
        return None;
    }
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--test-threads=1", "--nocapture"])
        .env(CHILD_MODE, "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    Some(status)
}

#[test]
fn enforce_mode_kills_a_process_that_starts_a_program_with_sigsys() {
    let Some(status) = parent_or_child(
        "enforce_mode_kills_a_process_that_starts_a_program_with_sigsys",
        Mode::Enforce,
    ) else {
        panic!("the child survived a call outside the list");
    };
    assert_eq!(status.signal(), Some(libc::SIGSYS), "{status:?}");
}

#[test]
fn log_mode_lets_the_same_process_run_the_program() {
    if let Some(status) =
        parent_or_child("log_mode_lets_the_same_process_run_the_program", Mode::Log)
    {
        assert!(status.success(), "{status:?}");
    }
}

/// Field `n` (1-based, as proc(5)) of /proc/PID/task/TID/stat, after the `(comm)` field.
fn stat_field(path: &std::path::Path, n: usize) -> i64 {
    let s = std::fs::read_to_string(path).unwrap();
    let rest = &s[s.rfind(')').unwrap() + 2..];
    // `rest` starts at field 3 (state).
    rest.split_whitespace().nth(n - 3).unwrap().parse().unwrap()
}

#[test]
fn dash_n_runs_every_thread_at_the_highest_fifo_priority() {
    assert_root();
    let d = Daemon::start_with("nice", "disable ntp\nrestrict default\n", &["-N"]);
    let pid = d.child.id();
    let max = 99; // sched_get_priority_max(SCHED_FIFO) on Linux
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let stat = t.unwrap().path().join("stat");
        // Fields 40 and 41 of proc(5): rt_priority and policy (1 = SCHED_FIFO).
        assert_eq!(stat_field(&stat, 41), 1, "policy of {}", stat.display());
        assert_eq!(stat_field(&stat, 40), max, "priority of {}", stat.display());
    }
}

#[test]
fn dash_p_runs_at_the_given_fifo_priority() {
    assert_root();
    let d = Daemon::start_with("prio", "disable ntp\nrestrict default\n", &["-P", "7"]);
    let stat = std::path::PathBuf::from(format!("/proc/{}/stat", d.child.id()));
    assert_eq!(stat_field(&stat, 41), 1, "SCHED_FIFO");
    assert_eq!(stat_field(&stat, 40), 7);
}

#[test]
fn without_dash_n_the_daemon_keeps_the_normal_policy() {
    let d = Daemon::start("no-nice", "disable ntp\nrestrict default\n");
    let stat = std::path::PathBuf::from(format!("/proc/{}/stat", d.child.id()));
    assert_eq!(stat_field(&stat, 41), 0, "SCHED_OTHER");
}

#[test]
fn dash_i_chroots_into_the_jail_where_the_drift_file_is_written() {
    assert_root();
    // The drift path is read inside the jail; /ntpd-jail-test does not exist outside it, so a
    // daemon that failed to chroot could not write there either.
    let tag = format!("ntpd-jail-test-{}", std::process::id());
    assert!(!std::path::Path::new(&format!("/{tag}")).exists());
    let jail = std::env::temp_dir().join(format!("ntpd-e2e-jaildir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&jail);
    std::fs::create_dir_all(jail.join(&tag)).unwrap();
    let jail_arg = jail.to_str().unwrap().to_owned();
    let conf = format!(
        "disable ntp\nrestrict default\nserver 127.127.1.0\nfudge 127.127.1.0 stratum 10\ndriftfile /{tag}/ntp.drift\n"
    );
    let mut d = Daemon::start_with("jail", &conf, &["-i", &jail_arg, "-u", "nobody"]);
    let pid = d.child.id();
    wait_for("the chroot", Duration::from_secs(5), || {
        std::fs::read_link(format!("/proc/{pid}/root")).ok() == Some(jail.clone())
    });
    // The jail's owner is root; let the dropped user write the drift file there.
    std::fs::set_permissions(
        jail.join(&tag),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let status = d.terminate();
    assert!(status.success(), "{status:?}");
    let text = std::fs::read_to_string(jail.join(&tag).join("ntp.drift"))
        .expect("drift file written inside the jail");
    assert!(text.trim().parse::<f64>().is_ok(), "{text}");
    assert!(!std::path::Path::new(&format!("/{tag}")).exists());
    let _ = std::fs::remove_dir_all(&jail);
}
