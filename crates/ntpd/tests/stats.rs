//! End-to-end test of the statistics files the daemon writes besides peerstats/loopstats:
//! `rawstats` (one line per upstream answer, with the local address filled in), `sysstats`
//! (the hourly counters line; the hour is shortened through the test-only
//! `NTPD_SYSSTATS_INTERVAL`) and `clockstats` (opened, empty: the LOCAL driver records
//! nothing). Both daemons run with `disable ntp`, so the host clock is never touched.

mod common;

use std::time::Duration;

use common::{query_from, wait_for, Daemon};

const BASE: &str = "disable ntp\ndriftfile $DIR/ntp.drift\n";

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn rawstats_sysstats_and_clockstats_are_written_in_classic_format() {
    // Read once by each daemon at start-up; only this test binary sets it.
    std::env::set_var("NTPD_SYSSTATS_INTERVAL", "2");
    let up = Daemon::start(
        "stats-up",
        &format!("{BASE}server 127.127.1.0 minpoll 3\nfudge 127.127.1.0 stratum 5\n"),
    );
    wait_for("upstream at stratum 6", Duration::from_secs(120), || {
        query_from("127.0.0.1", up.port, Duration::from_millis(300))
            .is_some_and(|(h, _)| h.stratum == 6)
    });
    let down = Daemon::start(
        "stats-down",
        &format!(
            "{BASE}statsdir $DIR/\nstatistics rawstats sysstats clockstats\n\
             filegen rawstats file rawstats type day link enable\n\
             filegen sysstats file sysstats type day link enable\n\
             filegen clockstats file clockstats type day link enable\n\
             server 127.0.0.1 port {} iburst minpoll 3 maxpoll 4\n\
             server 127.127.1.0 minpoll 3\nfudge 127.127.1.0 stratum 10\n",
            up.port
        ),
    );
    // A few client queries for the counters.
    for _ in 0..3 {
        assert!(query_from("127.0.0.1", down.port, Duration::from_secs(1)).is_some());
    }
    let raw = down.dir.join("rawstats");
    wait_for(
        "rawstats lines from the upstream",
        Duration::from_secs(30),
        || lines(&raw).len() >= 2,
    );
    for l in lines(&raw) {
        let f: Vec<&str> = l.split(' ').collect();
        assert_eq!(f.len(), 17, "no extension fields expected: {l}");
        let mjd: u64 = f[0].parse().unwrap();
        assert!((60_000..80_000).contains(&mjd), "{l}");
        let sod: f64 = f[1].parse().unwrap();
        assert!((0.0..86_400.0).contains(&sod) && f[1].split('.').nth(1).unwrap().len() == 3);
        assert_eq!(f[2], "127.0.0.1", "source: {l}");
        assert_eq!(f[3], "127.0.0.1", "destination filled in: {l}");
        for t in &f[4..8] {
            let (s, frac) = t.split_once('.').unwrap();
            assert!(s.parse::<u32>().is_ok() && frac.len() == 9, "{t} in {l}");
        }
        // T1 <= T4 (same host clock), T2 <= T3.
        let ts = |i: usize| f[i].parse::<f64>().unwrap();
        assert!(ts(4) <= ts(7) && ts(5) <= ts(6), "{l}");
        let leap: u8 = f[8].parse().unwrap();
        assert!(leap <= 3);
        assert_eq!((f[9], f[10]), ("4", "4"), "version 4, mode 4: {l}");
        let stratum: u8 = f[11].parse().unwrap();
        assert!(stratum == 6 || stratum == 16, "{l}");
        assert!(f[12].parse::<u8>().is_ok() && f[13].parse::<i8>().unwrap() < 0);
        for x in &f[14..16] {
            assert_eq!(x.split_once('.').unwrap().1.len(), 6, "{l}");
        }
        if stratum == 6 {
            assert_eq!(f[16], "127.127.1.0", "{l}");
        }
    }
    let sys = down.dir.join("sysstats");
    wait_for("a sysstats line", Duration::from_secs(10), || {
        !lines(&sys).is_empty()
    });
    let first = lines(&sys)[0].clone();
    let f: Vec<u64> = first
        .split(' ')
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, x)| x.parse().unwrap())
        .collect();
    assert_eq!(f.len(), 12, "{first}");
    // Seconds since the reset (start-up), then: received, processed, this version, ...
    assert!((1..=4).contains(&f[1]), "{first}");
    assert!(f[2] >= 3, "the client queries were received: {first}");
    assert!(f[3] >= 3, "and answered: {first}");
    assert!(f[4] >= 3, "as current version: {first}");
    // The counters restart after each line, as classic's proto_clr_stats().
    wait_for("a second sysstats line", Duration::from_secs(10), || {
        lines(&sys).len() >= 2
    });
    let second: Vec<u64> = lines(&sys)[1]
        .split(' ')
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, x)| x.parse().unwrap())
        .collect();
    assert!(
        second[2] < f[2],
        "received was reset: {second:?} after {f:?}"
    );
    let clock = down.dir.join("clockstats");
    assert!(clock.exists(), "clockstats is opened by filegen");
    assert!(lines(&clock).is_empty(), "the LOCAL driver records nothing");
}
