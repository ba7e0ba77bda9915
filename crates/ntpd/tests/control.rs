//! End-to-end tests of the daemon's mode 6 and mode 7 responders on loopback: our `ntpq` and
//! `ntpdc` read our `ntpd` running the tutorial configuration (local clock at stratum 10,
//! remote queries refused, loopback allowed) and print the classic reports with the daemon's
//! real state. Every daemon runs with `disable ntp`: the host clock is never touched.

mod common;
mod control_common;

use std::time::Duration;

use common::Daemon;
use control_common::{run, run_until, tool, LOCAL_CLOCK, TUTORIAL_RESTRICT};

fn tutorial_daemon(tag: &str) -> Daemon {
    Daemon::start(
        tag,
        &format!("disable ntp\ndriftfile $DIR/ntp.drift\n{LOCAL_CLOCK}{TUTORIAL_RESTRICT}"),
    )
}

/// The value of `name=` in ntpq's variable output.
fn var<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.split([',', '\n'])
        .map(str::trim)
        .find_map(|item| item.strip_prefix(name)?.strip_prefix('='))
}

#[test]
fn ntpq_lists_the_local_clock_as_system_peer_with_sane_columns() {
    let d = tutorial_daemon("ctl-ntpq");
    let ntpq = tool("ntpq");
    let port = d.port.to_string();
    let peers = run_until(
        &ntpq,
        &["--port", &port, "-p", "127.0.0.1"],
        Duration::from_secs(60),
        |out| out.contains("*LOCAL(0)"),
    );
    let row = peers
        .stdout
        .lines()
        .find(|l| l.starts_with("*LOCAL(0)"))
        .unwrap_or_else(|| panic!("no system peer row in:\n{}", peers.stdout));
    let cols: Vec<&str> = row.split_whitespace().collect();
    // remote refid st t when poll reach delay offset jitter
    assert_eq!(cols.len(), 10, "{row}");
    assert_eq!(&cols[1..4], [".LOCL.", "10", "l"], "{row}");
    assert_eq!(cols[5], "8", "poll of minpoll 3: {row}");
    let reach = u8::from_str_radix(cols[6], 8).expect("octal reach");
    assert!(reach & 1 == 1, "just reached: {row}");
    assert_eq!(cols[7], "0.000", "{row}");
    assert_eq!(cols[8], "+0.000", "{row}");

    let rv = run(
        &ntpq,
        &["--port", &port, "-c", "rv", "127.0.0.1"],
        Duration::from_secs(10),
    );
    assert_eq!(rv.code, 0, "{rv:?}");
    let text = rv.stdout;
    assert!(text.contains("sync_local"), "{text}");
    assert_eq!(var(&text, "stratum"), Some("11"), "{text}");
    assert_eq!(var(&text, "leap"), Some("00"), "{text}");
    assert_eq!(var(&text, "refid"), Some("LOCAL(0)"), "{text}");
    assert!(
        var(&text, "version").is_some_and(|v| v.contains("ntpd 0.1.0")),
        "{text}"
    );
    let arch = format!("\"{}\"", std::env::consts::ARCH);
    assert_eq!(var(&text, "processor"), Some(arch.as_str()), "{text}");
    let peer: u16 = var(&text, "peer")
        .and_then(|v| v.parse().ok())
        .expect("peer");
    assert_ne!(peer, 0, "{text}");
    let precision: i32 = var(&text, "precision")
        .and_then(|v| v.parse().ok())
        .expect("precision");
    assert!((-30..0).contains(&precision), "{text}");

    let assoc = run(
        &ntpq,
        &["--port", &port, "-c", "as", "127.0.0.1"],
        Duration::from_secs(10),
    );
    let row = assoc
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("1 "))
        .unwrap_or_else(|| panic!("no association row in:\n{}", assoc.stdout));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cols[1],
        peer.to_string(),
        "as and rv agree on the id: {row}"
    );
    assert!(
        cols[2].starts_with("96"),
        "conf reach sys.peer status: {row}"
    );
    assert!(row.contains("sys.peer"), "{row}");

    let mru = run(
        &ntpq,
        &["--port", &port, "-c", "mrulist", "127.0.0.1"],
        Duration::from_secs(10),
    );
    assert_eq!(mru.code, 0, "{mru:?}");
    let ours = mru
        .stdout
        .lines()
        .find(|l| l.ends_with("localhost") || l.ends_with("127.0.0.1"))
        .unwrap_or_else(|| panic!("our own queries are not in the MRU list:\n{}", mru.stdout));
    let cols: Vec<&str> = ours.split_whitespace().collect();
    // lstint avgint rstr r m v count rport remote
    assert_eq!(cols[4], "6", "mode of the last packet: {ours}");
    assert_eq!(cols[5], "2", "ntpq speaks version 2: {ours}");
    assert!(cols[6].parse::<u64>().unwrap() >= 3, "{ours}");

    // The association's own variables and the local clock's driver variables.
    let pv = run(
        &ntpq,
        &[
            "--port",
            &port,
            "-c",
            &format!("rv {peer}"),
            "-c",
            &format!("cv {peer}"),
            "127.0.0.1",
        ],
        Duration::from_secs(10),
    );
    assert!(pv.stdout.contains("srcadr=LOCAL(0)"), "{}", pv.stdout);
    assert_eq!(var(&pv.stdout, "hmode"), Some("3"), "{}", pv.stdout);
    // Seconds to the next poll, rounded up (not in the default list, as classic: asked for by
    // name): within the 8 s poll interval of minpoll 3 (a poll due at the very instant of the
    // query would read 0; that window is under 1 ms).
    let tv = run(
        &ntpq,
        &[
            "--port",
            &port,
            "-c",
            &format!("rv {peer} timer"),
            "127.0.0.1",
        ],
        Duration::from_secs(10),
    );
    let timer: u64 = var(&tv.stdout, "timer")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no timer in {tv:?}"));
    assert!((1..=8).contains(&timer), "{}", tv.stdout);
    assert!(
        pv.stdout.contains("device=\"Undisciplined local clock\""),
        "{}",
        pv.stdout
    );
}

#[test]
fn ntpdc_reports_sysinfo_peers_and_counters_from_loopback() {
    let d = tutorial_daemon("ctl-ntpdc");
    let ntpdc = tool("ntpdc");
    let port = d.port.to_string();
    let sys = run_until(
        &ntpdc,
        &["--port", &port, "-c", "sysinfo", "127.0.0.1"],
        Duration::from_secs(60),
        |out| out.contains("system peer:          LOCAL(0)"),
    );
    let text = sys.stdout;
    for line in [
        "system peer:          LOCAL(0)",
        "system peer mode:     client",
        "leap indicator:       00",
        "stratum:              11",
        "reference ID:         [127.127.1.0]",
        "system flags:         auth monitor stats ",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
            .to_string()
    };
    let precision: i32 = field("precision:").parse().unwrap();
    assert!((-30..0).contains(&precision), "{text}");
    let disp: f64 = field("root dispersion:")
        .trim_end_matches(" s")
        .parse()
        .unwrap();
    assert!((0.0..16.0).contains(&disp), "{text}");
    assert!(
        field("reference time:").contains("2"),
        "a real reference time: {text}"
    );

    let peers = run(
        &ntpdc,
        &["--port", &port, "-c", "peers", "127.0.0.1"],
        Duration::from_secs(10),
    );
    let row = peers
        .stdout
        .lines()
        .find(|l| l.starts_with("*LOCAL(0)"))
        .unwrap_or_else(|| panic!("no system peer in:\n{}", peers.stdout));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cols[1..4], ["127.0.0.1", "10", "8"], "{row}");

    let stats = run(
        &ntpdc,
        &[
            "--port",
            &port,
            "-c",
            "sysstats",
            "-c",
            "iostats",
            "127.0.0.1",
        ],
        Duration::from_secs(10),
    );
    let count = |name: &str| -> u64 {
        stats
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in:\n{}", stats.stdout))
    };
    assert!(count("time since restart:") >= 1);
    assert!(count("packets received:") >= 1, "the startup probe counts");
    assert!(count("received packets:") >= 1);
    assert!(count("packets sent:") >= 1);
}

#[test]
fn ntpdc_reads_the_restrict_list_from_loopback() {
    let d = tutorial_daemon("ctl-ntpdc-res");
    let ntpdc = tool("ntpdc");
    let port = d.port.to_string();
    let res = run(
        &ntpdc,
        &["--port", &port, "-n", "-c", "reslist", "127.0.0.1"],
        Duration::from_secs(10),
    );
    assert!(
        res.stdout
            .lines()
            .any(|l| l.starts_with("127.0.0.1") && l.contains("255.255.255.255")),
        "{res:?}"
    );
    assert!(
        res.stdout
            .lines()
            .any(|l| l.starts_with("0.0.0.0") && l.contains("noquery")),
        "{res:?}"
    );
}

#[test]
fn authenticated_listings_work_with_the_control_key_in_single_thread_mode() {
    // The key file lives outside the daemon's directory, which is created afresh at start.
    let dir = std::env::temp_dir().join(format!("ntpctl-lo-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let keys = dir.join("ntp.keys");
    std::fs::write(&keys, "1 MD5 rightsecret\n").unwrap();
    let d = Daemon::start_with(
        "ctl-auth",
        &format!(
            "disable ntp\n{LOCAL_CLOCK}{TUTORIAL_RESTRICT}keys {}\ntrustedkey 1\ncontrolkey 1\nrequestkey 1\n",
            keys.display()
        ),
        &["--server-threads", "0"],
    );
    let port = d.port.to_string();
    let auth = ["-c", "keyid 1", "-c", "passwd rightsecret"];
    let mut args = vec!["--port", port.as_str(), "-n"];
    args.extend_from_slice(&auth);
    args.extend_from_slice(&["-c", "ifstats", "-c", "reslist", "127.0.0.1"]);
    let q = run(&tool("ntpq"), &args, Duration::from_secs(10));
    assert_eq!(q.code, 0, "{q:?}");
    let lines: Vec<&str> = q.stdout.lines().collect();
    let lo = lines
        .iter()
        .position(|l| l.split_whitespace().nth(1) == Some("lo"))
        .unwrap_or_else(|| panic!("no loopback interface in ifstats:\n{}", q.stdout));
    assert_eq!(
        lines.get(lo + 1).map(|l| l.trim()),
        Some(format!("127.0.0.1:{port}").as_str()),
        "{}",
        q.stdout
    );
    let default = lines
        .iter()
        .position(|l| l.trim_end().ends_with(" 0.0.0.0/0"))
        .unwrap_or_else(|| panic!("no default restriction in reslist:\n{}", q.stdout));
    assert!(
        lines
            .get(default + 1)
            .is_some_and(|l| l.contains("noquery") && l.contains("limited") && l.contains("kod")),
        "{}",
        q.stdout
    );

    // The same listing over mode 7 needs the request key.
    let mut args = vec!["--port", port.as_str(), "-n"];
    args.extend_from_slice(&auth);
    args.extend_from_slice(&["-c", "ifstats", "127.0.0.1"]);
    let dc = run(&tool("ntpdc"), &args, Duration::from_secs(10));
    assert!(
        dc.stdout
            .lines()
            .any(|l| l.contains(" 127.0.0.1 A E ") && l.contains(" lo ")),
        "{dc:?}"
    );
    // Without the key, ntpdc's ifstats is refused.
    let plain = run(
        &tool("ntpdc"),
        &["--port", &port, "-c", "ifstats", "127.0.0.1"],
        Duration::from_secs(10),
    );
    assert!(!plain.stdout.contains(" lo "), "{plain:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
