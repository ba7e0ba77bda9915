//! Every configuration in docs/examples parses with no errors and no warnings, and the
//! tutorial behaves as documented.

use ntp_conf::*;
use std::path::PathBuf;

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples")
}

fn read(name: &str) -> String {
    let p = examples_dir().join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The filesystem the examples expect: the usual directories and the example key file
/// installed as /etc/ntp.keys.
fn installed() -> MapLoader {
    let mut l = MapLoader::new()
        .with_dir("/var/lib/ntp")
        .with_dir("/var/log/ntpstats")
        .with_dir("/tmp")
        .with_file("/etc/ntp.keys", &read("keys.keys"));
    for name in example_names() {
        l = l.with_file(&name, &read(&name));
    }
    l
}

fn example_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(examples_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".conf"))
        .collect();
    names.sort();
    names
}

#[test]
fn the_four_documented_examples_exist() {
    let names = example_names();
    for wanted in [
        "client.conf",
        "keys.conf",
        "lan-server.conf",
        "tutorial.conf",
    ] {
        assert!(
            names.iter().any(|n| n == wanted),
            "{wanted} missing from {names:?}"
        );
    }
}

#[test]
fn every_example_passes_check_config_without_warnings() {
    let loader = installed();
    for name in example_names() {
        let (code, out) = check_config_main(&name, &loader);
        assert_eq!(code, 0, "{name}:\n{out}");
        assert_eq!(out.lines().count(), 1, "{name} has warnings:\n{out}");
        assert!(out.contains(": OK: "), "{out}");
        assert!(out.ends_with(", 0 warnings\n"), "{out}");
    }
}

#[test]
fn tutorial_has_local_clock_fallback_and_one_preferred_server() {
    let cfg = parse(&read("tutorial.conf"), "tutorial.conf", &NoFiles).unwrap();
    let local = RefclockId { driver: 1, unit: 0 };
    assert!(cfg
        .associations
        .iter()
        .any(|a| a.address == Address::Refclock(local)));
    assert_eq!(cfg.fudges[0].refclock, Some(local));
    assert_eq!(cfg.fudges[0].stratum, Some(10));
    assert_eq!(
        cfg.associations.iter().filter(|a| a.options.prefer).count(),
        1
    );
    assert!(cfg.associations.iter().filter(|a| a.options.iburst).count() >= 3);
    assert!(cfg.driftfile.is_some() && cfg.logfile.is_some());
    let world = cfg.restriction_for("198.51.100.1".parse().unwrap()).flags;
    assert_eq!(
        world,
        RestrictFlags::KOD
            | RestrictFlags::NOMODIFY
            | RestrictFlags::NOTRAP
            | RestrictFlags::NOPEER
            | RestrictFlags::NOQUERY
    );
    assert!(cfg
        .restriction_for("127.0.0.1".parse().unwrap())
        .flags
        .is_empty());
    assert!(cfg.restriction_for("::1".parse().unwrap()).flags.is_empty());
}

#[test]
fn lan_server_lets_the_lan_query_but_not_modify() {
    let cfg = parse(&read("lan-server.conf"), "lan-server.conf", &NoFiles).unwrap();
    let lan = cfg.restriction_for("192.168.7.7".parse().unwrap()).flags;
    assert_eq!(lan, RestrictFlags::NOMODIFY | RestrictFlags::NOTRAP);
    let v6 = cfg.restriction_for("fd12::1".parse().unwrap()).flags;
    assert_eq!(v6, RestrictFlags::NOMODIFY | RestrictFlags::NOTRAP);
    assert!(cfg
        .restriction_for("203.0.113.1".parse().unwrap())
        .flags
        .contains(RestrictFlags::LIMITED));
}

#[test]
fn keys_example_matches_its_key_file() {
    let kf = parse_keys(&read("keys.keys"), "keys.keys").unwrap();
    let cfg = parse(&read("keys.conf"), "keys.conf", &NoFiles).unwrap();
    for (id, _) in &cfg.trustedkeys {
        assert!(kf.get(*id).is_some(), "trustedkey {id} missing");
    }
    assert_eq!(cfg.controlkey.as_ref().map(|k| k.0), Some(10));
    assert!(kf.warnings.is_empty());
}
