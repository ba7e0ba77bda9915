//! Integration tests: whole-directive parsing, diagnostics, includes and restrict semantics.

use ntp_conf::*;
use std::net::IpAddr;

fn ok(text: &str) -> Config {
    match parse(text, "ntp.conf", &NoFiles) {
        Ok(c) => c,
        Err(d) => panic!("unexpected errors:\n{d}"),
    }
}

fn errs(text: &str) -> Vec<String> {
    match parse(text, "ntp.conf", &NoFiles) {
        Ok(c) => panic!("expected errors, got {c:?}"),
        Err(d) => d.errors().map(ToString::to_string).collect(),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn server_line_with_every_option_is_typed() {
    let c = ok("server -4 192.0.2.1 iburst burst prefer minpoll 4 maxpoll 10 key 7 version 3 noselect true xleave preempt xmtnonce port 12345\n");
    let a = &c.associations[0];
    assert_eq!(a.kind, AssociationKind::Server);
    assert_eq!(a.family, Some(Family::V4));
    assert_eq!(a.address, Address::Ip(ip("192.0.2.1")));
    let o = &a.options;
    assert!(o.iburst && o.burst && o.prefer && o.noselect && o.truechimer && o.xleave);
    assert!(o.preempt && o.xmtnonce);
    assert_eq!(
        (o.minpoll, o.maxpoll, o.key, o.version, o.port),
        (Some(4), Some(10), Some(7), Some(3), Some(12345))
    );
}

#[test]
fn every_association_kind_parses() {
    let c = ok("pool pool.ntp.org iburst\npeer 10.0.0.2 key 1\nbroadcast 192.168.1.255 ttl 4 key 2\nmanycastclient 239.1.1.1 ttl 8\nserver 127.127.22.0 mode 3 prefer\n");
    let kinds: Vec<_> = c.associations.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [
            AssociationKind::Pool,
            AssociationKind::Peer,
            AssociationKind::Broadcast,
            AssociationKind::ManycastClient,
            AssociationKind::Server
        ]
    );
    assert_eq!(
        c.associations[4].address,
        Address::Refclock(RefclockId {
            driver: 22,
            unit: 0
        })
    );
    assert_eq!(c.associations[4].options.mode, Some(3));
    assert_eq!(
        c.associations[0].address,
        Address::Name("pool.ntp.org".into())
    );
}

#[test]
fn restrict_forms_are_typed() {
    let c = ok("restrict -6 default kod limited ippeerlimit 3\nrestrict source nomodify\nrestrict 10.0.0.0 mask 255.0.0.0 nomodify serverresponse fuzz ntpport\nrestrict 192.168.0.0/16 noquery\nrestrict 2001:db8::/32 notrust\nunrestrict 10.0.0.0 mask 255.0.0.0 nomodify\n");
    let r = &c.restrictions;
    assert_eq!(r[0].family, Some(Family::V6));
    assert_eq!(r[0].target, RestrictTarget::Default);
    assert_eq!(r[0].ippeerlimit, Some(3));
    assert!(r[0]
        .flags
        .contains(RestrictFlags::KOD | RestrictFlags::LIMITED));
    assert_eq!(r[1].target, RestrictTarget::Source);
    assert!(r[2].flags.contains(RestrictFlags::SRVRSPFUZ));
    assert!(r[2].match_flags.contains(MatchFlags::NTPONLY));
    assert_eq!(
        r[3].target,
        RestrictTarget::Host {
            address: Address::Ip(ip("192.168.0.0")),
            mask: Some(ip("255.255.0.0"))
        }
    );
    assert_eq!(
        r[4].target,
        RestrictTarget::Host {
            address: Address::Ip(ip("2001:db8::")),
            mask: Some(ip("ffff:ffff::"))
        }
    );
    assert_eq!(r[5].op, RestrictOp::Unrestrict);
}

#[test]
fn misc_directives_are_typed() {
    let c = ok(r#"
driftfile /var/lib/ntp/ntp.drift 1e-7
logfile "/var/log/ntp.log"
logconfig =syncall +clockall -peerinfo
statsdir /var/log/ntpstats/
statistics loopstats peerstats clockstats
filegen peerstats file peers type week nolink disable
leapfile /usr/share/zoneinfo/leap-seconds.list checkhash
keys /etc/ntp.keys
trustedkey 1 2 (10 ... 12) 20
controlkey 1
requestkey 2
tinker panic 600 step 0.5 stepout 900 allan 12
tos minclock 3 maxclock 7 orphan 10 maxdist 1.5 cohort 1 basedate 2020-01-01
enable auth kernel
disable monitor mode7
interface listen eth0
interface ignore wildcard
nic drop 192.0.2.0/24
mru maxmem 2048 maxage 64
discard average 4 minimum 1
broadcastdelay 0.004
setvar mylocation = "rack 4" default
fudge 127.127.1.0 stratum 10 refid LOCL time1 0.0035 flag1 1
server 127.127.1.0
dscp 46
"#);
    assert_eq!(c.driftfile.as_ref().unwrap().threshold, Some(1e-7));
    assert_eq!(c.logfile.as_deref(), Some("/var/log/ntp.log"));
    assert_eq!(c.logconfig.len(), 3);
    assert_eq!(
        c.logconfig[0],
        LogConfigItem {
            op: LogOp::Set,
            class: LogClass::Sync,
            kind: LogKind::All
        }
    );
    assert_eq!(
        c.statistics,
        [
            StatsKind::Loopstats,
            StatsKind::Peerstats,
            StatsKind::Clockstats
        ]
    );
    assert_eq!(c.filegens[0].kind, Some(FileGenType::Week));
    assert_eq!(c.filegens[0].link, Some(false));
    assert_eq!(c.leapfile.as_ref().unwrap().hash, Some(LeapHash::Check));
    let ids: Vec<u16> = c.trustedkeys.iter().map(|(k, _)| *k).collect();
    assert_eq!(ids, [1, 2, 10, 11, 12, 20]);
    assert_eq!(c.controlkey.as_ref().map(|k| k.0), Some(1));
    assert_eq!(c.requestkey.as_ref().map(|k| k.0), Some(2));
    assert_eq!(c.tinker.panic, Some(600.0));
    assert_eq!(c.tos.maxclock, Some(7));
    assert_eq!(c.system_flag(SystemFlag::Mode7), Some(false));
    assert_eq!(c.system_flag(SystemFlag::Auth), Some(true));
    assert_eq!(c.interfaces.len(), 3);
    assert_eq!(
        c.interfaces[2].target,
        InterfaceTarget::Address(ip("192.0.2.0"), Some(24))
    );
    assert_eq!(c.mru.maxmem, Some(2048));
    assert_eq!(c.discard.average, Some(4));
    assert_eq!(
        c.setvars[0],
        SetVar {
            name: "mylocation".into(),
            value: "rack 4".into(),
            default: true
        }
    );
    assert_eq!(c.fudges[0].stratum, Some(10));
    assert_eq!(c.fudges[0].refid.as_deref(), Some("LOCL"));
    assert_eq!(c.fudges[0].flags[0], Some(true));
    assert_eq!(c.dscp, Some(46));
}

#[test]
fn ntpsec_refclock_local_maps_to_the_local_clock() {
    let c = ok("refclock local stratum 10 prefer\nrefclock shm unit 2 refid GPS\n");
    assert_eq!(
        c.associations[0].address,
        Address::Refclock(RefclockId { driver: 1, unit: 0 })
    );
    assert!(c.associations[0].options.prefer);
    assert_eq!(c.fudges[0].stratum, Some(10));
    assert_eq!(
        c.associations[1].address,
        Address::Refclock(RefclockId {
            driver: 28,
            unit: 2
        })
    );
}

#[test]
fn end_stops_parsing() {
    let c = ok("server a.example\nend\nthis is not parsed\n");
    assert_eq!(c.associations.len(), 1);
}

#[test]
fn crlf_tabs_and_empty_files_are_accepted() {
    let c = ok("server\ta.example\tiburst\r\nrestrict default\r\n");
    assert!(c.associations[0].options.iburst);
    assert_eq!(ok(""), Config::default());
}

#[test]
fn all_errors_are_collected_in_order() {
    let e = errs("sever a.example\nrestrict default nomodfy\nserver b.example minpoll 40\n");
    assert_eq!(
        e,
        [
            "ntp.conf:1:1: unknown directive \"sever\" (did you mean \"server\"?)",
            "ntp.conf:2:18: unknown restrict flag \"nomodfy\" (did you mean \"nomodify\"?)",
            "ntp.conf:3:26: \"minpoll\" 40 is out of range (expected an integer 3..17)",
        ]
    );
}

#[test]
fn autokey_is_refused_with_a_reason() {
    let e = errs("crypto pw secret\n");
    assert_eq!(e, ["ntp.conf:1:1: \"crypto\" is not supported: Autokey is broken by design; use symmetric keys or NTS"]);
}

#[test]
fn includefile_reads_through_the_loader() {
    let loader = MapLoader::new()
        .with_file(
            "/etc/ntp/servers.conf",
            "server a.example iburst\nincludefile /etc/ntp/more.conf\n",
        )
        .with_file("/etc/ntp/more.conf", "server b.example\n");
    let c = parse(
        "includefile /etc/ntp/servers.conf\nserver c.example\n",
        "ntp.conf",
        &loader,
    )
    .unwrap();
    let names: Vec<String> = c
        .associations
        .iter()
        .map(|a| a.address.to_string())
        .collect();
    assert_eq!(names, ["a.example", "b.example", "c.example"]);
    assert_eq!(c.included, ["/etc/ntp/servers.conf", "/etc/ntp/more.conf"]);
}

#[test]
fn diagnostics_in_included_files_name_that_file() {
    let loader = MapLoader::new().with_file("inc.conf", "\nserver a.example ibrust\n");
    let d = parse("includefile inc.conf\n", "ntp.conf", &loader).unwrap_err();
    assert_eq!(
        d.to_string(),
        "inc.conf:2:18: unknown server option \"ibrust\" (did you mean \"iburst\"?)"
    );
}

#[test]
fn include_cycles_are_detected() {
    let loader = MapLoader::new()
        .with_file("a.conf", "includefile b.conf\n")
        .with_file("b.conf", "includefile a.conf\n");
    let d = parse("includefile a.conf\n", "ntp.conf", &loader).unwrap_err();
    assert_eq!(
        d.to_string(),
        "b.conf:1:1: includefile cycle: ntp.conf -> a.conf -> b.conf -> a.conf"
    );
    let d = parse("includefile self.conf\n", "self.conf", &loader).unwrap_err();
    assert_eq!(
        d.to_string(),
        "self.conf:1:1: includefile cycle: self.conf -> self.conf"
    );
}

#[test]
fn include_depth_is_limited() {
    let mut loader = MapLoader::new();
    for i in 0..10 {
        loader = loader.with_file(
            &format!("f{i}.conf"),
            &format!("includefile f{}.conf\n", i + 1),
        );
    }
    loader = loader.with_file("f10.conf", "server a.example\n");
    let d = parse("includefile f0.conf\n", "ntp.conf", &loader).unwrap_err();
    assert_eq!(
        d.to_string(),
        "f4.conf:1:1: includefile \"f5.conf\" is nested too deeply (at most 5 levels)"
    );
    // Five levels below the main file are fine.
    let mut ok_loader = MapLoader::new();
    for i in 0..4 {
        ok_loader = ok_loader.with_file(
            &format!("f{i}.conf"),
            &format!("includefile f{}.conf\n", i + 1),
        );
    }
    ok_loader = ok_loader.with_file("f4.conf", "server a.example\n");
    assert!(parse("includefile f0.conf\n", "ntp.conf", &ok_loader).is_ok());
}

#[test]
fn most_specific_restrict_entry_wins() {
    let c = ok("restrict default kod nomodify notrap nopeer noquery\nrestrict 10.0.0.0 mask 255.0.0.0 nomodify\nrestrict 10.1.0.0/16 noserve\nrestrict 10.1.2.3\nrestrict ::1\n");
    assert_eq!(
        c.restriction_for(ip("192.0.2.9")).flags,
        RestrictFlags::KOD
            | RestrictFlags::NOMODIFY
            | RestrictFlags::NOTRAP
            | RestrictFlags::NOPEER
            | RestrictFlags::NOQUERY
    );
    assert_eq!(
        c.restriction_for(ip("10.9.9.9")).flags,
        RestrictFlags::NOMODIFY
    );
    assert_eq!(
        c.restriction_for(ip("10.1.9.9")).flags,
        RestrictFlags::NOSERVE
    );
    let host = c.restriction_for(ip("10.1.2.3"));
    assert!(host.flags.is_empty());
    assert_eq!(host.matched.unwrap().line, 4);
    assert!(c.restriction_for(ip("::1")).flags.is_empty());
    // The default line without -4/-6 covers IPv6 too.
    assert!(c
        .restriction_for(ip("2001:db8::1"))
        .flags
        .contains(RestrictFlags::NOQUERY));
}

#[test]
fn default_family_only_applies_where_asked() {
    let c = ok("restrict -4 default ignore\n");
    assert_eq!(
        c.restriction_for(ip("192.0.2.1")).flags,
        RestrictFlags::IGNORE
    );
    assert!(c.restriction_for(ip("2001:db8::1")).flags.is_empty());
}

#[test]
fn identical_restrict_lines_merge_flags_and_keep_first_ippeerlimit() {
    let c = ok("restrict 192.0.2.0 mask 255.255.255.0 nomodify ippeerlimit 2\nrestrict 192.0.2.0/24 noquery ippeerlimit 5\n");
    let r = c.restriction_for(ip("192.0.2.77"));
    assert_eq!(r.flags, RestrictFlags::NOMODIFY | RestrictFlags::NOQUERY);
    assert_eq!(r.ippeerlimit, 2);
}

#[test]
fn ntpport_entries_match_only_port_123() {
    let c = ok("restrict default noquery\nrestrict 192.0.2.1 ntpport ignore\n");
    let from = |port| c.restriction_for_source(std::net::SocketAddr::new(ip("192.0.2.1"), port));
    assert_eq!(from(123).flags, RestrictFlags::IGNORE);
    assert_eq!(from(40000).flags, RestrictFlags::NOQUERY);
}

#[test]
fn multicast_sources_are_always_ignored() {
    let c = ok("restrict default\n");
    assert_eq!(
        c.restriction_for(ip("224.0.1.1")).flags,
        RestrictFlags::IGNORE
    );
}

#[test]
fn restrict_source_applies_to_configured_server_addresses() {
    let c = ok("restrict default kod nomodify noquery nopeer\nrestrict source nomodify\nserver 192.0.2.5\n");
    assert_eq!(
        c.restriction_for(ip("192.0.2.5")).flags,
        RestrictFlags::NOMODIFY
    );
    // A static host entry beats the source entry for the same address.
    let c = ok("restrict source nomodify\nrestrict 192.0.2.5 noserve\nserver 192.0.2.5\n");
    assert_eq!(
        c.restriction_for(ip("192.0.2.5")).flags,
        RestrictFlags::NOSERVE
    );
}

#[test]
fn unrestrict_and_delrestrict_change_the_table() {
    let c = ok("restrict 10.0.0.0/8 nomodify noquery\nunrestrict 10.0.0.0/8 noquery\n");
    assert_eq!(
        c.restriction_for(ip("10.2.3.4")).flags,
        RestrictFlags::NOMODIFY
    );
    let c = ok("restrict default noquery\nrestrict 10.0.0.0/8 nomodify\ndelrestrict 10.0.0.0 mask 255.0.0.0\n");
    assert_eq!(
        c.restriction_for(ip("10.2.3.4")).flags,
        RestrictFlags::NOQUERY
    );
}

#[test]
fn ipv4_mapped_ipv6_sources_use_the_ipv4_list() {
    let c = ok("restrict -4 default noquery\n");
    assert_eq!(
        c.restriction_for(ip("::ffff:192.0.2.1")).flags,
        RestrictFlags::NOQUERY
    );
}

#[test]
fn metrics_directive_takes_an_address_and_port_or_a_loopback_port() {
    assert_eq!(ok("server 192.0.2.1\n").metrics, None);
    let c = ok("metrics 127.0.0.1:9123\n");
    assert_eq!(c.metrics, Some("127.0.0.1:9123".parse().unwrap()));
    let c = ok("metrics [::1]:9100\n");
    assert_eq!(c.metrics, Some("[::1]:9100".parse().unwrap()));
    // A bare port means loopback: the endpoint is never exposed by accident.
    let c = ok("metrics 9123\n");
    assert_eq!(c.metrics, Some("127.0.0.1:9123".parse().unwrap()));
    let e = errs("metrics localhost:9123\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("bad metrics address"), "{e:?}");
    let e = errs("metrics 127.0.0.1:0\n");
    assert!(e[0].contains("1..65535"), "{e:?}");
    let e = errs("metrics 127.0.0.1:9123\nmetrics 9124\n");
    assert!(e[0].contains("more than once"), "{e:?}");
    let e = errs("metrics 127.0.0.1:9123 extra\n");
    assert!(e[0].contains("unexpected"), "{e:?}");
}
