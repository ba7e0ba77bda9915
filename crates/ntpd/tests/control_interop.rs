//! Mode 6 interoperability with NTPsec 1.2.2 (installed by `cargo xtask setup`): NTPsec's
//! `ntpq` reads our daemon, and our `ntpq` reads NTPsec's daemon. NTPsec's tools hard-wire
//! port 123, so each pair runs inside its own network namespace. Our daemon runs with
//! `disable ntp`; NTPsec's runs with `disable ntp`, `disable kernel` and without
//! CAP_SYS_TIME (checked), so the host clock is never touched.

mod common;
mod control_common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{lacks_cap_sys_time, peer_program, wait_for};
use control_common::{run_until, tool, Netns, Output, LOCAL_CLOCK, TUTORIAL_RESTRICT};

/// A daemon started with `ip netns exec`; killed on drop.
struct NsDaemon {
    child: Child,
    dir: PathBuf,
}

impl NsDaemon {
    fn start(ns: &Netns, tag: &str, config: &str, argv: impl FnOnce(&Path) -> Vec<String>) -> Self {
        let dir = std::env::temp_dir().join(format!("ntpctl-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("ntp.conf");
        std::fs::write(&conf, config.replace("$DIR", dir.to_str().unwrap())).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .args(argv(&conf))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a daemon in the namespace");
        NsDaemon { child, dir }
    }
}

impl Drop for NsDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ns_run_until(
    ns: &Netns,
    program: &Path,
    args: &[&str],
    limit: Duration,
    accept: impl FnMut(&str) -> bool,
) -> Output {
    let p = program.to_str().unwrap();
    let mut v = vec!["netns", "exec", ns.name.as_str(), p];
    v.extend_from_slice(args);
    run_until(Path::new("ip"), &v, limit, accept)
}

/// `name=value` of a variable listing.
fn var<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.split([',', '\n'])
        .map(str::trim)
        .find_map(|item| item.strip_prefix(name)?.strip_prefix('='))
}

#[test]
fn ntpsec_ntpq_reads_our_daemon() {
    let ntpsec_ntpq = peer_program("/usr/bin/ntpq");
    let ns = Netns::new("secq");
    let ntpd = PathBuf::from(env!("CARGO_BIN_EXE_ntpd"));
    let _d = NsDaemon::start(
        &ns,
        "ours",
        &format!(
            "disable ntp\ndriftfile $DIR/ntp.drift\n{LOCAL_CLOCK}{TUTORIAL_RESTRICT}restrict ::1\n"
        ),
        |conf| {
            vec![
                ntpd.display().to_string(),
                "-n".into(),
                "-4".into(),
                "-c".into(),
                conf.display().to_string(),
            ]
            .into_iter()
            .chain(common::seccomp_arg(&[]))
            .collect()
        },
    );
    // `-p`: the local clock becomes the system peer.
    let peers = ns_run_until(
        &ns,
        &ntpsec_ntpq,
        &["-p", "127.0.0.1"],
        Duration::from_secs(60),
        |out| out.lines().any(|l| l.starts_with('*')),
    );
    let row = peers
        .stdout
        .lines()
        .find(|l| l.starts_with('*'))
        .unwrap_or_else(|| panic!("no system peer in NTPsec's ntpq -p:\n{peers:?}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols.len(), 10, "{row}");
    assert_eq!(cols[0], "*127.127.1.0", "{row}");
    assert_eq!(&cols[1..3], [".LOCL.", "10"], "{row}");
    assert_eq!(cols[5], "8", "{row}");
    let reach = u8::from_str_radix(cols[6], 8).expect("octal reach");
    assert_ne!(reach, 0, "{row}");
    for c in &cols[7..10] {
        let v: f64 = c
            .parse()
            .unwrap_or_else(|_| panic!("number column {c}: {row}"));
        assert!(v.abs() < 1000.0, "{row}");
    }

    // `rv`: our system variables in NTPsec's rendering.
    let rv = ns_run_until(
        &ns,
        &ntpsec_ntpq,
        &["-c", "rv", "127.0.0.1"],
        Duration::from_secs(20),
        |o| o.contains("stratum="),
    );
    let text = &rv.stdout;
    assert!(text.contains("sync_local"), "{text}");
    assert_eq!(var(text, "stratum"), Some("11"), "{text}");
    assert_eq!(var(text, "leap"), Some("00"), "{text}");
    assert!(
        var(text, "version").is_some_and(|v| v.contains("ntpd 0.1.0")),
        "{text}"
    );
    let peer = var(text, "peer").expect("peer");
    assert_ne!(peer, "0", "{text}");

    // `as`: every association, the system peer among them.
    let assoc = ns_run_until(
        &ns,
        &ntpsec_ntpq,
        &["-c", "as", "127.0.0.1"],
        Duration::from_secs(20),
        |o| o.contains("sys.peer"),
    );
    let rows: Vec<&str> = assoc
        .stdout
        .lines()
        .filter(|l| {
            l.trim_start()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
        .collect();
    assert_eq!(rows.len(), 1, "{}", assoc.stdout);
    assert!(
        rows[0].split_whitespace().nth(1) == Some(peer),
        "{}",
        assoc.stdout
    );
    assert!(
        rows[0].contains("yes") && rows[0].contains("sys.peer"),
        "{}",
        assoc.stdout
    );

    // `mrulist`: the nonce handshake and the list (NTPsec's own queries are in it).
    let mru = ns_run_until(
        &ns,
        &ntpsec_ntpq,
        &["-c", "mrulist", "127.0.0.1"],
        Duration::from_secs(20),
        |o| o.contains("localhost") || o.contains("127.0.0.1"),
    );
    let row = mru
        .stdout
        .lines()
        .find(|l| l.ends_with("localhost") || l.ends_with("127.0.0.1"))
        .unwrap_or_else(|| panic!("no MRU row:\n{mru:?}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    // lstint avgint rstr r m v count score drop rport remote
    assert_eq!(cols[4], "6", "{row}");
    assert!(cols[6].parse::<u64>().is_ok_and(|c| c >= 3), "{row}");
}

#[test]
fn our_ntpq_reads_ntpsec_ntpd() {
    let ntpsec_ntpd = peer_program("/usr/sbin/ntpd");
    let ns = Netns::new("secd");
    let d = NsDaemon::start(
        &ns,
        "ntpsec",
        "disable ntp\ndisable kernel\ntos orphan 10 orphanwait 1\nunrestrict default noquery limited\nrefclock local stratum 12 noselect\ndriftfile $DIR/drift\n",
        |conf| {
            vec![
                "capsh".into(),
                "--drop=cap_sys_time".into(),
                "--".into(),
                "-c".into(),
                format!("exec {} -n -c {}", ntpsec_ntpd.display(), conf.display()),
            ]
        },
    );
    let pid = d.child.id();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        lacks_cap_sys_time(pid, "ntpd"),
        "NTPsec ntpd kept CAP_SYS_TIME; refusing to go on"
    );
    let ntpq = tool("ntpq");
    let peers = ns_run_until(
        &ns,
        &ntpq,
        &["-p", "127.0.0.1"],
        Duration::from_secs(30),
        |o| o.contains("LOCAL(0)"),
    );
    let row = peers
        .stdout
        .lines()
        .find(|l| l.contains("LOCAL(0)"))
        .unwrap_or_else(|| panic!("no LOCAL(0) row from NTPsec:\n{peers:?}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols.len(), 10, "{row}");
    assert_eq!(&cols[1..4], [".LOCL.", "12", "l"], "{row}");

    let rv = ns_run_until(
        &ns,
        &ntpq,
        &["-c", "rv", "127.0.0.1"],
        Duration::from_secs(20),
        |o| o.contains("version="),
    );
    assert!(
        var(&rv.stdout, "version").is_some_and(|v| v.contains("ntpsec")),
        "{rv:?}"
    );
    wait_for("NTPsec's orphan stratum", Duration::from_secs(30), || {
        let out = ns_run_until(
            &ns,
            &ntpq,
            &["-c", "rv 0 stratum", "127.0.0.1"],
            Duration::from_secs(1),
            |_| true,
        );
        var(&out.stdout, "stratum") == Some("10")
    });
    let assoc = ns_run_until(
        &ns,
        &ntpq,
        &["-c", "as", "127.0.0.1"],
        Duration::from_secs(20),
        |o| o.contains("yes"),
    );
    assert!(
        assoc
            .stdout
            .lines()
            .any(|l| l.trim_start().starts_with("1 ") && l.contains("yes")),
        "{assoc:?}"
    );
    let mru = ns_run_until(
        &ns,
        &ntpq,
        &["-c", "mrulist", "127.0.0.1"],
        Duration::from_secs(20),
        |o| o.contains("localhost") || o.contains("127.0.0.1"),
    );
    assert!(mru.stdout.lines().any(|l| l.contains(" 6 2 ")), "{mru:?}");
}
