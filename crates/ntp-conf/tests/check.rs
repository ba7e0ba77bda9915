//! `Config::check` warnings, `check_config_main`, and the real-world Debian configurations.

use ntp_conf::*;

fn data(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn warnings(text: &str, loader: &MapLoader, keys: Option<&KeyFile>) -> Vec<String> {
    let cfg = parse(text, "ntp.conf", loader).unwrap();
    let mut all: Vec<String> = cfg.warnings.iter().map(ToString::to_string).collect();
    all.extend(cfg.check(loader, keys).iter().map(ToString::to_string));
    all
}

/// A loader where the usual Debian directories exist.
fn debian_fs() -> MapLoader {
    MapLoader::new()
        .with_dir("/var/lib/ntp")
        .with_dir("/var/lib/ntpsec")
        .with_dir("/var/log/ntpstats")
}

#[test]
fn debian_classic_ntp_conf_parses_without_errors_or_warnings() {
    let text = data("debian-classic-ntp.conf");
    let cfg = parse(&text, "ntp.conf", &NoFiles).unwrap();
    assert_eq!(cfg.associations.len(), 4);
    assert!(cfg
        .associations
        .iter()
        .all(|a| a.kind == AssociationKind::Pool && a.options.iburst));
    assert_eq!(cfg.restrictions.len(), 5);
    assert_eq!(cfg.statistics.len(), 3);
    assert_eq!(cfg.filegens.len(), 3);
    assert!(cfg.leapfile.is_some());
    assert_eq!(warnings(&text, &debian_fs(), None), Vec::<String>::new());
    let r = cfg.restriction_for("203.0.113.9".parse().unwrap());
    assert_eq!(
        r.flags,
        RestrictFlags::KOD
            | RestrictFlags::NOTRAP
            | RestrictFlags::NOMODIFY
            | RestrictFlags::NOPEER
            | RestrictFlags::NOQUERY
            | RestrictFlags::LIMITED
    );
    assert!(cfg
        .restriction_for("127.0.0.1".parse().unwrap())
        .flags
        .is_empty());
}

#[test]
fn debian12_ntpsec_ntp_conf_parses_without_errors_or_warnings() {
    let text = data("debian12-ntpsec-ntp.conf");
    let cfg = parse(&text, "ntp.conf", &NoFiles).unwrap();
    assert_eq!(cfg.associations.len(), 4);
    assert_eq!(cfg.tos.maxclock, Some(11));
    assert_eq!((cfg.tos.minclock, cfg.tos.minsane), (Some(4), Some(3)));
    assert_eq!(warnings(&text, &debian_fs(), None), Vec::<String>::new());
    assert!(cfg.restriction_for("::1".parse().unwrap()).flags.is_empty());
    assert!(cfg
        .restriction_for("2001:db8::5".parse().unwrap())
        .flags
        .contains(RestrictFlags::LIMITED));
}

#[test]
fn prefer_on_two_sources_is_a_warning() {
    let w = warnings(
        "server a.example prefer\nserver b.example prefer\n",
        &MapLoader::new(),
        None,
    );
    assert_eq!(
        w,
        ["ntp.conf:2:1: warning: \"prefer\" is given on 2 sources (first at line 1); only one source can be preferred"]
    );
}

#[test]
fn missing_driftfile_directory_is_a_warning() {
    let w = warnings(
        "driftfile /nonexistent/ntp.drift\n",
        &MapLoader::new(),
        None,
    );
    assert_eq!(
        w,
        ["ntp.conf:1:1: warning: driftfile directory \"/nonexistent\" does not exist; the frequency will not be saved"]
    );
    assert!(warnings("driftfile /var/lib/ntp/ntp.drift\n", &debian_fs(), None).is_empty());
    // Unknown filesystem facts give no warning.
    let cfg = parse("driftfile /x/y\n", "ntp.conf", &NoFiles).unwrap();
    assert!(cfg.check(&NoFiles, None).is_empty());
}

#[test]
fn trustedkey_missing_from_key_file_is_a_warning() {
    let kf = parse_keys("1 SHA1 abcdefghij\n", "ntp.keys").unwrap();
    let w = warnings(
        "keys /etc/ntp.keys\ntrustedkey 1 2\nserver a.example key 1\n",
        &MapLoader::new(),
        Some(&kf),
    );
    assert_eq!(
        w,
        ["ntp.conf:2:14: warning: trustedkey 2 is not in the key file"]
    );
}

#[test]
fn association_key_not_trusted_is_a_warning() {
    let w = warnings("server a.example key 4\n", &MapLoader::new(), None);
    assert_eq!(w, ["ntp.conf:1:1: warning: server a.example uses key 4, which is not listed in \"trustedkey\""]);
}

#[test]
fn duplicate_restrict_line_is_a_warning() {
    let w = warnings(
        "restrict 10.0.0.0 mask 255.0.0.0 nomodify\nrestrict 10.0.0.0/8 noquery\n",
        &MapLoader::new(),
        None,
    );
    assert_eq!(
        w,
        ["ntp.conf:2:1: warning: this restrict entry duplicates line 1; classic ntpd merges the flags of both lines"]
    );
}

#[test]
fn restrict_lines_that_never_match_are_warnings() {
    let w = warnings(
        "restrict 10.1.2.3 mask 255.0.0.0 nomodify\nrestrict 224.0.1.1 noquery\nrestrict 192.0.2.1 noquery\nrestrict 192.0.2.1 ntpport ignore\n",
        &MapLoader::new(),
        None,
    );
    assert_eq!(
        w,
        [
            "ntp.conf:1:1: warning: restrict 10.1.2.3 has bits set outside mask 255.0.0.0; it applies to all of 10.0.0.0 mask 255.0.0.0",
            "ntp.conf:2:1: warning: restrict 224.0.1.1 can never match: packets from multicast sources are always ignored",
            "ntp.conf:4:1: warning: this ntpport entry can never match: line 3 has the same address and mask and matches every port first",
        ]
    );
}

#[test]
fn fudge_without_server_and_safety_switches_are_warnings() {
    let w = warnings(
        "fudge 127.127.1.0 stratum 10\ntinker panic 0 step 0\n",
        &MapLoader::new(),
        None,
    );
    assert_eq!(
        w,
        [
            "ntp.conf:1:1: warning: fudge 127.127.1.0 has no matching \"server 127.127.1.0\" line",
            "ntp.conf:2:1: warning: tinker panic 0 disables the panic threshold: any offset will be accepted",
            "ntp.conf:2:1: warning: tinker step 0 disables stepping: large offsets are slewed for a long time",
        ]
    );
}

#[test]
fn check_config_main_accepts_a_good_file_with_a_summary() {
    let loader = MapLoader::new()
        .with_file("/etc/ntp.conf", "keys /etc/ntp.keys\ntrustedkey 1\nserver 192.0.2.1 key 1 iburst\nrestrict default nomodify\n")
        .with_file("/etc/ntp.keys", "1 SHA1 abcdefghij\n");
    let (code, out) = check_config_main("/etc/ntp.conf", &loader);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "/etc/ntp.conf: OK: 1 association, 1 restrict line, 1 key, 0 warnings\n"
    );
}

#[test]
fn check_config_main_rejects_a_bad_file_with_every_diagnostic() {
    let loader = MapLoader::new().with_file(
        "ntp.conf",
        "server a.example minpoll 2\nrestrict default nomodfy\nserver b.example prefer\n",
    );
    let (code, out) = check_config_main("ntp.conf", &loader);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "ntp.conf:1:26: \"minpoll\" 2 is out of range (expected an integer 3..17)\n\
         ntp.conf:2:18: unknown restrict flag \"nomodfy\" (did you mean \"nomodify\"?)\n\
         ntp.conf: 2 errors, configuration rejected\n"
    );
}

#[test]
fn check_config_main_reports_bad_key_files_and_missing_files() {
    let loader = MapLoader::new()
        .with_file("ntp.conf", "keys k\ntrustedkey 1\n")
        .with_file("k", "1 SHA1 0123456789abcdef0123456789abcdef012\n");
    let (code, out) = check_config_main("ntp.conf", &loader);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("k:1:8: key 1: a key longer than 20 characters is hex"),
        "{out}"
    );
    assert!(!out.contains("0123456789abcdef"));
    let (code, out) = check_config_main("missing.conf", &loader);
    assert_eq!(
        (code, out.as_str()),
        (
            1,
            "missing.conf: cannot read configuration: No such file or directory\n"
        )
    );
}

#[test]
fn check_config_main_prints_warnings_before_the_summary() {
    let loader =
        MapLoader::new().with_file("c", "server a.example prefer\nserver b.example prefer\n");
    let (code, out) = check_config_main("c", &loader);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("c:2:1: warning: \"prefer\""));
    assert_eq!(
        lines[1],
        "c: OK: 2 associations, 0 restrict lines, 0 keys, 1 warning"
    );
}

#[test]
fn default_then_dash6_default_idiom_is_not_a_duplicate_but_repeating_it_is() {
    let idiom = "restrict default kod nomodify\nrestrict -6 default kod nomodify\n";
    assert!(warnings(idiom, &MapLoader::new(), None).is_empty());
    let w = warnings(
        "restrict -4 default kod\nrestrict -4 default nomodify\n",
        &MapLoader::new(),
        None,
    );
    assert_eq!(
        w,
        ["ntp.conf:2:1: warning: this restrict entry duplicates line 1; classic ntpd merges the flags of both lines"]
    );
}

#[test]
fn untrusted_or_missing_control_key_is_a_warning() {
    let kf = parse_keys("1 SHA1 abcdefghij\n", "ntp.keys").unwrap();
    let w = warnings(
        "keys /etc/ntp.keys\ntrustedkey 1\ncontrolkey 1\nrequestkey 2\n",
        &MapLoader::new(),
        Some(&kf),
    );
    assert_eq!(
        w,
        [
            "ntp.conf:4:1: warning: requestkey 2 is not listed in \"trustedkey\", so it can never authenticate",
            "ntp.conf:4:1: warning: requestkey 2 is not in the key file",
        ]
    );
}

#[test]
fn logfile_or_driftfile_on_the_keys_file_is_refused() {
    let d = parse(
        "keys /etc/ntp.keys\nlogfile /etc/ntp.keys\ndriftfile /etc/ntp.keys\n",
        "ntp.conf",
        &NoFiles,
    )
    .unwrap_err();
    assert_eq!(
        d.to_string(),
        "ntp.conf:2:1: logfile \"/etc/ntp.keys\" is the keys file; ntpd would overwrite the keys\n\
         ntp.conf:3:1: driftfile \"/etc/ntp.keys\" is the keys file; ntpd would overwrite the keys"
    );
}

#[test]
fn invalid_utf8_is_reported_with_its_position() {
    let d = parse_bytes(b"server a.example\nserver b\xffc\n", "ntp.conf", &NoFiles).unwrap_err();
    assert_eq!(
        d.to_string(),
        "ntp.conf:2:9: invalid UTF-8 in configuration text"
    );
    assert!(parse_bytes(b"server a.example\n", "ntp.conf", &NoFiles).is_ok());
}

#[test]
fn restrict_default_ntpport_is_a_warning() {
    let w = warnings(
        "restrict default ntpport noquery\n",
        &MapLoader::new(),
        None,
    );
    assert_eq!(
        w,
        ["ntp.conf:1:1: warning: restrict default ntpport can never match: the built-in default entry matches every port first"]
    );
}

#[test]
fn duplicate_server_lines_are_a_warning() {
    let w = warnings(
        "server a.example\nserver b.example\nserver a.example iburst\n",
        &MapLoader::new(),
        None,
    );
    assert_eq!(
        w,
        ["ntp.conf:3:1: warning: server a.example duplicates line 1; the duplicate is ignored"]
    );
}

#[test]
fn unimplemented_modes_and_refclocks_are_warnings_that_say_they_are_ignored() {
    let w = warnings(
        "server 127.127.1.0\nserver 127.127.28.0\nbroadcast 192.0.2.255\n\
         manycastclient 239.1.1.1\nbroadcastclient\nmulticastclient 224.0.1.1\n",
        &MapLoader::new(),
        None,
    );
    let multicast = "accepted for compatibility but not implemented: this daemon neither \
                     listens for broadcast/multicast time nor answers manycast (unicast \
                     server, pool and peer only)";
    let mut expect = vec![
        format!("ntp.conf:5:1: warning: {multicast}"),
        format!("ntp.conf:6:1: warning: {multicast}"),
        "ntp.conf:2:1: warning: reference clock 127.127.28.0 (driver type 28) is not available \
         in this daemon and is ignored; only the LOCAL driver (127.127.1.u) exists"
            .to_owned(),
        "ntp.conf:3:1: warning: \"broadcast\" is not implemented by this daemon and is ignored: \
         it serves and follows unicast time only (server, pool, peer)"
            .to_owned(),
        "ntp.conf:4:1: warning: \"manycastclient\" is not implemented by this daemon and is \
         ignored: it serves and follows unicast time only (server, pool, peer)"
            .to_owned(),
    ];
    let mut got = w.clone();
    got.sort();
    expect.sort();
    assert_eq!(got, expect);
    // The LOCAL driver itself is silent.
    assert!(warnings("server 127.127.1.0\n", &MapLoader::new(), None).is_empty());
}

#[test]
fn check_config_main_rejects_peers_without_a_trusted_key_as_the_daemon_does() {
    let loader = MapLoader::new()
        .with_file(
            "ntp.conf",
            "keys /k\ntrustedkey 1\npeer 192.0.2.1 key 1\npeer 192.0.2.2\npeer 192.0.2.3 key 2\n",
        )
        .with_file(
            "/k",
            "1 SHA1 0123456789abcdef0123456789abcdef01234567\n2 SHA1 89abcdef0123456789abcdef0123456789abcdef\n",
        );
    let (code, out) = check_config_main("ntp.conf", &loader);
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        out,
        "ntp.conf:4:1: peer 192.0.2.2: symmetric associations need authentication; add `key N` with a trusted key\n\
         ntp.conf:5:1: peer 192.0.2.3: key 2 is not a trusted key (keys file + trustedkey)\n\
         ntp.conf:5:1: warning: peer 192.0.2.3 uses key 2, which is not listed in \"trustedkey\"\n\
         ntp.conf: 2 errors, configuration rejected\n"
    );
    let good = MapLoader::new()
        .with_file("ntp.conf", "keys /k\ntrustedkey 1\npeer 192.0.2.1 key 1\n")
        .with_file("/k", "1 SHA1 0123456789abcdef0123456789abcdef01234567\n");
    assert_eq!(check_config_main("ntp.conf", &good).0, 0);
}
