//! Interop with chrony 4.3 (Debian's, unpacked by `cargo xtask setup`, run with `-x` and
//! without CAP_SYS_TIME): the tutorial configuration pointed at three chronyd upstreams on
//! loopback selects the preferred one, serves its stratum + 1 and writes the drift file; with
//! every upstream gone it falls back to the local clock and keeps serving; and chronyd as a
//! client accepts our replies.

mod common;

use std::time::Duration;

use common::{query_addr, query_from, wait_for, Chrony, Daemon};
use ntp_wire::{LeapIndicator, RefId};

#[test]
fn tutorial_config_selects_the_preferred_chronyd_and_falls_back_to_local() {
    let a = Chrony::start("pref", "127.0.0.21", 2);
    let b = Chrony::start("second", "127.0.0.22", 2);
    let c = Chrony::start("third", "127.0.0.23", 3);
    for up in [&a, &b, &c] {
        wait_for("chronyd answering", Duration::from_secs(10), || {
            query_addr(up.addr, Duration::from_millis(300)).is_some()
        });
    }
    let conf = format!(
        "disable ntp\n\
         restrict default kod nomodify notrap nopeer noquery limited\n\
         restrict -6 default kod nomodify notrap nopeer noquery limited\n\
         restrict 127.0.0.1\nrestrict ::1\n\
         server 127.127.1.0 minpoll 3\nfudge 127.127.1.0 stratum 10\n\
         driftfile $DIR/ntp.drift\nlogfile $DIR/ntpd.log\n\
         server {} port {} iburst prefer minpoll 3 maxpoll 3\n\
         server {} port {} iburst minpoll 3 maxpoll 3\n\
         server {} port {} iburst minpoll 3 maxpoll 3\n",
        a.addr.ip(),
        a.addr.port(),
        b.addr.ip(),
        b.addr.port(),
        c.addr.ip(),
        c.addr.port()
    );
    let d = Daemon::start_with("tutorial", &conf, &["--drift-save-interval", "5"]);
    wait_for(
        "the preferred chronyd selected, stratum 3",
        Duration::from_secs(30),
        || {
            query_from("127.0.0.1", d.port, Duration::from_millis(300)).is_some_and(|(h, _)| {
                h.stratum == 3
                    && h.leap == LeapIndicator::NoWarning
                    && h.reference_id == RefId::from_ipv4("127.0.0.21".parse().unwrap())
            })
        },
    );
    let drift = d.dir.join("ntp.drift");
    wait_for(
        "the drift file after the first save",
        Duration::from_secs(120),
        || drift.exists(),
    );
    let v: f64 = std::fs::read_to_string(&drift)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(v.abs() <= 500.0);
    assert!(
        d.dir.join("ntpd.log").exists(),
        "logfile directive honoured"
    );

    // Every upstream gone: back to the local clock (stratum 10 + 1), still serving.
    drop((a, b, c));
    wait_for(
        "fallback to the local clock",
        Duration::from_secs(240),
        || {
            query_from("127.0.0.1", d.port, Duration::from_millis(300)).is_some_and(|(h, _)| {
                h.stratum == 11 && h.reference_id == RefId::from_ipv4([127, 127, 1, 0].into())
            })
        },
    );
}

#[test]
fn chronyd_as_a_client_selects_our_server() {
    let d = Daemon::start(
        "for-chrony",
        "disable ntp\nrestrict default\nserver 127.127.1.0 minpoll 3\nfudge 127.127.1.0 stratum 4\n",
    );
    wait_for("our daemon at stratum 5", Duration::from_secs(120), || {
        query_from("127.0.0.1", d.port, Duration::from_millis(300))
            .is_some_and(|(h, _)| h.stratum == 5)
    });
    // chronyd as a client (-x: it only measures); `chronyc sources` must show us selected.
    let client = Chrony::start_conf(
        "client",
        "127.0.0.31",
        &format!(
            "server 127.0.0.1 port {} iburst minpoll 0 maxpoll 1\n",
            d.port
        ),
    );
    let want = "^,*,127.0.0.1,5,";
    wait_for(
        "chronyd selects our server (^*)",
        Duration::from_secs(40),
        || {
            client
                .chronyc(&["sources"])
                .lines()
                .any(|l| l.starts_with(want))
        },
    );
}
