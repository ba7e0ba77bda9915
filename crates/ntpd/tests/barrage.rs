//! A bounded version of `cargo xtask barrage` for CI: every class of malformed, hostile and
//! control-channel datagram (security catalogue groups (a) and (d)) against the real `ntpd`,
//! from loopback, from other loopback addresses and from a network namespace over a veth pair,
//! under an open and the tutorial's restrictive configuration. The daemon must stay up and
//! answer valid requests within 1 s, never send a non-loopback source more bytes than it
//! received (in total and, for every third control request sent alone, per request), and
//! keep its log rate-limited. Shares its code with the xtask
//! (`xtask/src/barrage.rs`); the daemon runs with `disable ntp`, so the clock is never touched.

#[path = "../../../xtask/src/barrage.rs"]
mod barrage;

use std::time::Duration;

#[test]
fn barrage_leaves_the_daemon_up_answering_and_never_amplifying() {
    let opts = barrage::Options {
        ntpd: env!("CARGO_BIN_EXE_ntpd").into(),
        scale: 1,
        random: 2_000,
        time_limit: Duration::from_secs(10),
        netns: true,
        tag: format!("t{}", std::process::id()),
        seed: 0x7E57,
        strict_every: 3,
    };
    let reports = match barrage::run(&opts) {
        Ok(r) => r,
        Err(e) => panic!("barrage found violations:\n{e}"),
    };
    assert_eq!(reports.len(), 2);
    for r in &reports {
        // The whole catalogue went out (not cut short by the time bound) from every source.
        assert!(r.cases > 1_500, "{}", r.cases);
        assert!(
            r.packets >= 5 * r.cases as u64,
            "{}: {} packets",
            r.config,
            r.packets
        );
        let ns = r
            .sources
            .iter()
            .find(|(a, _)| a.starts_with("10.201."))
            .map(|(_, t)| t.clone())
            .expect("namespace source ran");
        assert_eq!(
            ns.sent_packets,
            r.cases as u64 + 22 + ns.strict_requests,
            "{}",
            r.config
        );
        assert!(ns.strict_requests > 400, "{ns:?}");
        // Every reply to the namespace source was seen on its socket and by capture alike.
        assert_eq!(ns.captured_bytes, ns.received_bytes, "{}: {ns:?}", r.config);
        assert!(r.spoofed_sent >= 17);
        // A non-loopback client is still served: the valid requests got 48-byte answers.
        assert!(ns.received_packets >= 1, "{}: {ns:?}", r.config);
        assert!(r.latencies.len() >= 10);
    }
}
