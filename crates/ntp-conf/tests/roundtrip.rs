//! `Display` of a parsed `Config` re-parses to the same configuration.

use ntp_conf::*;
use proptest::prelude::*;

fn reparse(cfg: &Config) -> Config {
    let text = cfg.to_string();
    parse(&text, "out.conf", &NoFiles)
        .unwrap_or_else(|d| panic!("output does not parse:\n{text}\n{d}"))
}

/// Everything that carries meaning, without source locations.
fn meaning(c: &Config) -> String {
    let assoc: Vec<_> = c
        .associations
        .iter()
        .map(|a| (a.kind, a.family, &a.address, &a.options))
        .collect();
    let restrict: Vec<String> = c.restrictions.iter().map(ToString::to_string).collect();
    let keys: Vec<u16> = c.trustedkeys.iter().map(|(k, _)| *k).collect();
    let fudges: Vec<_> = c
        .fudges
        .iter()
        .map(|f| {
            (
                f.refclock,
                f.time1,
                f.time2,
                f.stratum,
                &f.refid,
                f.flags,
                f.minjitter,
                &f.abbrev,
            )
        })
        .collect();
    let mut tinker = c.tinker.clone();
    tinker.location = None;
    format!(
        "{assoc:?}|{restrict:?}|{keys:?}|{fudges:?}|{tinker:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        c.tos,
        c.discard,
        c.mru,
        c.system_flags,
        c.interfaces,
        c.setvars,
        c.filegens,
        c.statistics,
        c.logconfig,
        (&c.leapfile, &c.logfile, &c.statsdir, &c.keys, c.controlkey.as_ref().map(|k| k.0), c.requestkey.as_ref().map(|k| k.0), c.driftfile.as_ref().map(|d| (&d.path, d.threshold)))
    )
}

fn assert_round_trip(text: &str) {
    let c1 = parse(text, "in.conf", &NoFiles).unwrap();
    let c2 = reparse(&c1);
    assert_eq!(meaning(&c1), meaning(&c2), "meaning changed for:\n{text}");
    assert_eq!(c1.to_string(), c2.to_string());
}

#[test]
fn debian_configs_round_trip() {
    for name in ["debian-classic-ntp.conf", "debian12-ntpsec-ntp.conf"] {
        let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
        assert_round_trip(&std::fs::read_to_string(path).unwrap());
    }
}

#[test]
fn rich_config_round_trips() {
    assert_round_trip(
        r#"driftfile "/var/lib/my ntp/drift" 1e-7
logconfig =syncall +clockall -peerinfo
statistics loopstats peerstats
filegen peerstats file peers type week nolink disable
leapfile /usr/share/zoneinfo/leap-seconds.list ignorehash
keys /etc/ntp.keys
trustedkey 1 (3 ... 5)
controlkey 1
requestkey 3
tinker panic 0 step 0.128 allan 12 freq -12.5
tos minclock 3 maxclock 7 orphan 10 maxdist 1.5 cohort 1 basedate 2020-01-01
enable auth
disable monitor
server 192.0.2.1 key 1 iburst prefer minpoll 4 maxpoll 8 version 3 port 1123
pool -6 pool.ntp.org iburst
peer 10.0.0.2 xleave
broadcast 192.168.1.255 ttl 4
manycastclient 239.1.1.1
server 127.127.20.0 mode 17 minpoll 4
fudge 127.127.20.0 time1 0.0035 time2 -0.4 refid GPS flag1 1 flag3 0
refclock shm unit 1 refid PPS path /dev/shm0
restrict default kod nomodify notrap nopeer noquery limited
restrict -6 default ignore
restrict source nomodify
restrict 10.0.0.0 mask 255.0.0.0 nomodify serverresponse fuzz ntpport ippeerlimit 4
restrict 2001:db8::/32 notrust epeer
unrestrict 10.0.0.0/8 nomodify
delrestrict 2001:db8:: mask ffff:ffff::
discard average 4 minimum 1
limit burst 8 kod 2
mru maxmem 2048 maxage 64
interface listen eth0
interface ignore wildcard
interface drop 192.0.2.0/24
setvar mylocation = "rack 4" default
trap 192.0.2.9 port 18447
dscp 46
metrics [::1]:9123
rlimit memlock 32
ttl 31 63
pollskewlist 4 1|2 default 3|5
broadcastclient
multicastclient 224.0.1.1
mdnstries 3
broadcastdelay 0.004
"#,
    );
}

/// Valid lines with random values inside their ranges; any of them may repeat (once-only
/// directives such as `tos` and `tinker` are covered by `rich_config_round_trips`).
fn valid_line() -> impl Strategy<Value = String> {
    let host = prop_oneof![
        (any::<[u8; 4]>()).prop_map(|o| format!(
            "{}.{}.{}.{}",
            o[0].max(1),
            o[1],
            o[2],
            o[3].max(1)
        )),
        (any::<u16>(), any::<u16>()).prop_map(|(a, b)| format!("2001:db8:{a:x}::{b:x}")),
        "[a-z]{1,10}(\\.[a-z]{2,5}){1,2}",
    ];
    let prefix4 = 0u8..=32;
    prop_oneof![
        (
            host.clone(),
            3u8..=17,
            3u8..=17,
            any::<bool>(),
            1u16..=65535
        )
            .prop_map(|(h, a, b, i, k)| format!(
                "server {h} minpoll {} maxpoll {} key {k}{}",
                a.min(b),
                a.max(b),
                if i { " iburst" } else { "" }
            )),
        (any::<[u8; 4]>(), prefix4, 0usize..16).prop_map(|(o, p, f)| format!(
            "restrict {}.{}.{}.{}/{p} {}",
            o[0],
            o[1],
            o[2],
            o[3],
            [
                "kod",
                "nomodify",
                "noquery",
                "limited",
                "ignore",
                "notrap",
                "nopeer",
                "noserve",
                "version",
                "flake",
                "mssntp",
                "nomrulist",
                "lowpriotrap",
                "noepeer",
                "notrust",
                "serverresponse fuzz"
            ][f]
        )),
        (any::<u128>(), 0u8..=128).prop_map(|(a, p)| format!(
            "restrict {} mask {} noquery",
            std::net::Ipv6Addr::from(a),
            std::net::Ipv6Addr::from(u128::MAX.checked_shl(128 - u32::from(p)).unwrap_or(0))
        )),
        (1u8..=46, any::<u8>(), 0u8..=15, -1000.0f64..1000.0).prop_map(|(t, u, s, x)| format!(
            "server 127.127.{t}.{u}\nfudge 127.127.{t}.{u} stratum {s} time1 {x}"
        )),
        (1u16..=65535, 1u16..=65535).prop_map(|(a, b)| format!(
            "trustedkey {a} ({} ... {})",
            a.min(b),
            a.max(b).min(a.min(b).saturating_add(20))
        )),
        "[a-z_]{1,10}".prop_map(|n| format!("setvar {n} = value-{n}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn display_of_a_parsed_config_reparses_to_the_same_config(lines in prop::collection::vec(valid_line(), 0..15)) {
        let text = lines.join("\n");
        // Every generated line is valid and may repeat, so the whole text must parse.
        let c1 = parse(&text, "in.conf", &NoFiles).map_err(|d| TestCaseError::fail(format!("{text}\n{d}")))?;
        let c2 = reparse(&c1);
        prop_assert_eq!(meaning(&c1), meaning(&c2));
        prop_assert_eq!(c1.to_string(), c2.to_string());
        let probe: std::net::IpAddr = "10.1.2.3".parse().unwrap();
        prop_assert_eq!(c1.restriction_for(probe).flags, c2.restriction_for(probe).flags);
    }
}
