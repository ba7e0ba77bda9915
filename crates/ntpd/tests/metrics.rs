//! The Prometheus endpoint of the real `ntpd` on loopback: off by default, serves a valid
//! exposition (a strict in-test parser, and `promtool check metrics` from Debian's prometheus
//! package, installed here when missing and we are root), and its values agree with what a
//! client sees on the wire, with the requests this test sent, and with what our `ntpq` reports. Every daemon runs with
//! `disable ntp`, so the host clock is never touched.

mod common;
mod control_common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{query_from, wait_for, Daemon};
use ntp_wire::LeapIndicator;

const BASE: &str = "disable ntp\ndriftfile $DIR/ntp.drift\n";

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.0 GET; returns (status line, headers, body).
fn get(port: u16, path: &str) -> Option<(String, String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut all = String::new();
    s.read_to_string(&mut all).ok()?;
    let (head, body) = all.split_once("\r\n\r\n")?;
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    Some((status.to_owned(), headers.to_owned(), body.to_owned()))
}

/// A sample: metric name, sorted labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// A strict reader of the text exposition format 0.0.4: HELP and TYPE once per family and
/// before its samples, samples of one family contiguous, valid names, quoted and escaped label
/// values, parseable values, `_total` only on counters, no duplicate series.
fn parse_exposition(text: &str) -> Result<Vec<Sample>, String> {
    let name_ok = |n: &str| {
        let mut c = n.chars();
        c.next()
            .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
            && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == ':')
    };
    if !text.ends_with('\n') {
        return Err("exposition must end with a newline".into());
    }
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helps = BTreeSet::new();
    let mut done_families = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut seen_series = BTreeSet::new();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let ln = i + 1;
        if let Some(rest) = line.strip_prefix("# ") {
            let mut w = rest.splitn(3, ' ');
            let (kw, name, arg) = (w.next(), w.next().unwrap_or(""), w.next().unwrap_or(""));
            if !name_ok(name) {
                return Err(format!("line {ln}: bad metric name {name:?}"));
            }
            if done_families.contains(name) {
                return Err(format!("line {ln}: family {name} is not contiguous"));
            }
            if current.as_deref() != Some(name) {
                if let Some(c) = current.take() {
                    done_families.insert(c);
                }
                current = Some(name.to_owned());
            }
            match kw {
                Some("HELP") => {
                    if !helps.insert(name.to_owned()) {
                        return Err(format!("line {ln}: second HELP for {name}"));
                    }
                }
                Some("TYPE") => {
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&arg) {
                        return Err(format!("line {ln}: bad type {arg:?}"));
                    }
                    if types.insert(name.to_owned(), arg.to_owned()).is_some() {
                        return Err(format!("line {ln}: second TYPE for {name}"));
                    }
                    if (arg == "counter") != name.ends_with("_total") {
                        return Err(format!(
                            "line {ln}: {name}: counters and only counters end in _total"
                        ));
                    }
                }
                _ => return Err(format!("line {ln}: unknown comment {line:?}")),
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            return Err(format!("line {ln}: stray line {line:?}"));
        }
        let name_end = line
            .find(['{', ' '])
            .ok_or(format!("line {ln}: no value"))?;
        let name = &line[..name_end];
        if !name_ok(name) || current.as_deref() != Some(name) || !types.contains_key(name) {
            return Err(format!(
                "line {ln}: sample {name:?} outside its family or without TYPE"
            ));
        }
        let mut rest = &line[name_end..];
        let mut labels = BTreeMap::new();
        if let Some(r) = rest.strip_prefix('{') {
            let mut r = r;
            loop {
                if let Some(after) = r.strip_prefix('}') {
                    r = after;
                    break;
                }
                let eq = r.find('=').ok_or(format!("line {ln}: label without ="))?;
                let key = &r[..eq];
                if !name_ok(key) || key.contains(':') {
                    return Err(format!("line {ln}: bad label name {key:?}"));
                }
                r = r[eq + 1..]
                    .strip_prefix('"')
                    .ok_or(format!("line {ln}: unquoted label value"))?;
                let mut val = String::new();
                let mut chars = r.char_indices();
                let end = loop {
                    match chars.next() {
                        Some((_, '\\')) => match chars.next() {
                            Some((_, 'n')) => val.push('\n'),
                            Some((_, c @ ('\\' | '"'))) => val.push(c),
                            _ => return Err(format!("line {ln}: bad escape")),
                        },
                        Some((j, '"')) => break j,
                        Some((_, c)) => val.push(c),
                        None => return Err(format!("line {ln}: unterminated label value")),
                    }
                };
                if labels.insert(key.to_owned(), val).is_some() {
                    return Err(format!("line {ln}: duplicate label {key}"));
                }
                r = &r[end + 1..];
                r = r.strip_prefix(',').unwrap_or(r);
            }
            rest = r;
        }
        let v = rest
            .strip_prefix(' ')
            .ok_or(format!("line {ln}: no space before the value"))?;
        let v = v.split(' ').next().unwrap_or("");
        let value = match v {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            _ => v
                .parse::<f64>()
                .map_err(|_| format!("line {ln}: bad value {v:?}"))?,
        };
        if !seen_series.insert(format!("{name}{labels:?}")) {
            return Err(format!("line {ln}: duplicate series"));
        }
        out.push((name.to_owned(), labels, value));
    }
    Ok(out)
}

fn one(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    samples
        .iter()
        .find(|(n, l, _)| n == name && *l == want)
        .map(|s| s.2)
        .unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
}

/// `promtool`, installing Debian's prometheus package when missing (root only; the package's
/// service is kept from starting by policy-rc.d as `cargo xtask setup` leaves it).
fn promtool() -> Option<&'static str> {
    let have = || {
        Command::new("promtool")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !have() && nix::unistd::geteuid().is_root() {
        let _ = Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args([
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "prometheus",
            ])
            .stdout(Stdio::null())
            .status();
    }
    have().then_some("promtool")
}

#[test]
fn metrics_endpoint_is_off_unless_configured() {
    let port = free_tcp_port();
    let _d = Daemon::start("metrics-off", &format!("{BASE}restrict default\n"));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "something listens without a metrics directive"
    );
}

#[test]
fn exposition_is_valid_and_matches_the_wire_and_the_counters() {
    let mport = free_tcp_port();
    let d = Daemon::start(
        "metrics",
        &format!(
            "{BASE}server 127.127.1.0 minpoll 3\nfudge 127.127.1.0 stratum 10\nrestrict default\nrestrict 127.0.0.2 noserve\nmetrics 127.0.0.1:{mport}\n"
        ),
    );
    wait_for(
        "stratum 11 from the local clock",
        // Generous: a loaded CI machine may be slow to start the local clock.
        Duration::from_secs(120),
        || {
            query_from("127.0.0.1", d.port, Duration::from_millis(300))
                .is_some_and(|(h, _)| h.stratum == 11 && h.leap == LeapIndicator::NoWarning)
        },
    );
    // Known traffic: three refused by noserve, two answered.
    for _ in 0..3 {
        assert!(query_from("127.0.0.2", d.port, Duration::from_millis(200)).is_none());
    }
    let (h, _) = query_from("127.0.0.1", d.port, Duration::from_secs(1)).unwrap();
    let (h2, _) = query_from("127.0.0.1", d.port, Duration::from_secs(1)).unwrap();
    assert_eq!(
        (h.stratum, h.root_delay, h.root_dispersion),
        (h2.stratum, h2.root_delay, h2.root_dispersion)
    );

    let (status, headers, body) = get(mport, "/metrics").expect("scrape");
    assert_eq!(status, "HTTP/1.0 200 OK");
    assert!(
        headers.contains("Content-Type: text/plain; version=0.0.4"),
        "{headers}"
    );
    let samples = parse_exposition(&body).unwrap_or_else(|e| panic!("{e}\n{body}"));

    // System state agrees with what the daemon puts on the wire (stratum + 1 there is the
    // system stratum here, as classic ntpd; root delay/dispersion as NTP short format).
    assert_eq!(one(&samples, "ntp_system_stratum", &[]), 11.0);
    assert_eq!(one(&samples, "ntp_system_leap", &[]), 0.0);
    assert_eq!(one(&samples, "ntp_system_synchronized", &[]), 1.0);
    let rd = one(&samples, "ntp_system_root_delay_seconds", &[]);
    assert!(
        (rd - h.root_delay.to_seconds_f64()).abs() < 2e-5,
        "{rd} vs {:?}",
        h.root_delay
    );
    let rdisp = one(&samples, "ntp_system_root_dispersion_seconds", &[]);
    assert!(
        rdisp <= h.root_dispersion.to_seconds_f64() + 2e-5,
        "{rdisp} vs {:?}",
        h.root_dispersion
    );
    // The local clock is the system peer and has been heard.
    let local = [("source", "127.127.1.0:123")];
    assert_eq!(one(&samples, "ntp_source_system_peer", &local), 1.0);
    assert_eq!(one(&samples, "ntp_source_selection_code", &local), 6.0);
    assert!(one(&samples, "ntp_source_reach", &local) >= 1.0);
    assert!(one(&samples, "ntp_source_responses_received_total", &local) >= 1.0);
    // Counters: exactly our three noserve drops; at least our answered queries.
    assert_eq!(
        one(
            &samples,
            "ntp_server_dropped_total",
            &[("reason", "noserve")]
        ),
        3.0
    );
    assert!(one(&samples, "ntp_server_replies_sent_total", &[]) >= 2.0);
    assert!(one(&samples, "ntp_server_requests_received_total", &[]) >= 5.0);
    assert_eq!(one(&samples, "ntp_server_rate_limited_total", &[]), 0.0);

    // Other paths are not the metrics.
    let (status, _, _) = get(mport, "/").expect("second request");
    assert!(status.starts_with("HTTP/1.0 404"), "{status}");

    match promtool() {
        Some(p) => {
            let mut child = Command::new(p)
                .args(["check", "metrics"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(body.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            // promtool exits 1 on lint problems too; there must be none of either.
            assert!(
                out.status.success(),
                "promtool check metrics:\n{text}\n{body}"
            );
        }
        None => eprintln!("promtool not available: only the in-test format check ran"),
    }
}

#[test]
fn strict_checker_rejects_what_prometheus_rejects() {
    let good = "# HELP a_total x\n# TYPE a_total counter\na_total{k=\"v\\\"\"} 1\n";
    assert!(parse_exposition(good).is_ok());
    for bad in [
        "# TYPE a gauge\na 1",                                    // no final newline
        "a 1\n",                                                  // no TYPE
        "# TYPE a gauge\na{k=v} 1\n",                             // unquoted label
        "# TYPE a gauge\na x\n",                                  // bad value
        "# TYPE a gauge\na 1\na 2\n",                             // duplicate series
        "# TYPE a_total gauge\na_total 1\n",                      // _total on a gauge
        "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# HELP a x\n", // family split
    ] {
        assert!(parse_exposition(bad).is_err(), "accepted {bad:?}");
    }
}

/// The value of `name=` in ntpq's readvar output.
fn rv_var<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.split([',', '\n'])
        .map(str::trim)
        .find_map(|item| item.strip_prefix(name)?.strip_prefix('='))
}

fn ms(text: &str, name: &str) -> f64 {
    rv_var(text, name)
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no numeric {name} in:\n{text}"))
}

#[test]
fn values_match_what_ntpq_reports() {
    let mport = free_tcp_port();
    let d = Daemon::start(
        "metrics-ntpq",
        &format!(
            "{BASE}server 127.127.1.0 minpoll 3\nfudge 127.127.1.0 stratum 10\nrestrict default\nrestrict 127.0.0.1\nmetrics {mport}\n"
        ),
    );
    let ntpq = control_common::tool("ntpq");
    let port = d.port.to_string();
    let scrape = || {
        let (_, _, body) = get(mport, "/metrics").expect("scrape");
        parse_exposition(&body).unwrap_or_else(|e| panic!("{e}\n{body}"))
    };
    // Wait for synchronisation to the local clock, so every value is a real one.
    wait_for(
        "synchronised to the local clock",
        Duration::from_secs(120),
        || {
            one(
                &scrape(),
                "ntp_source_system_peer",
                &[("source", "127.127.1.0:123")],
            ) == 1.0
        },
    );
    let local = [("source", "127.127.1.0:123")];
    // State moves on every poll: compare only when two scrapes around the ntpq runs agree.
    let mut compared = false;
    for _ in 0..10 {
        let before = scrape();
        let rv = control_common::run(
            &ntpq,
            &["--port", &port, "-c", "rv", "127.0.0.1"],
            Duration::from_secs(10),
        );
        let peers = control_common::run(
            &ntpq,
            &["--port", &port, "-n", "-p", "127.0.0.1"],
            Duration::from_secs(10),
        );
        let after = scrape();
        let stable = |name: &str, labels: &[(&str, &str)]| {
            one(&before, name, labels) == one(&after, name, labels)
        };
        let watched = [
            ("ntp_system_root_dispersion_seconds", &[][..]),
            ("ntp_system_offset_seconds", &[][..]),
            ("ntp_source_reach", &local[..]),
            ("ntp_source_jitter_seconds", &local[..]),
        ];
        if !watched.iter().all(|(n, l)| stable(n, l)) || rv.code != 0 || peers.code != 0 {
            std::thread::sleep(Duration::from_millis(500));
            continue;
        }
        let m = |name: &str| one(&before, name, &[]);
        let text = &rv.stdout;
        assert_eq!(m("ntp_system_stratum"), ms(text, "stratum"), "{text}");
        let leap = rv_var(text, "leap").expect("leap");
        assert_eq!(
            m("ntp_system_leap"),
            f64::from(u8::from_str_radix(leap, 2).unwrap())
        );
        // ntpq prints milliseconds with 3 (rootdelay, rootdisp) or 6 decimals (offset,
        // sys_jitter) and ppm with 3: equal to that precision.
        for (metric, var, scale, tol) in [
            ("ntp_system_root_delay_seconds", "rootdelay", 1e3, 0.0005),
            (
                "ntp_system_root_dispersion_seconds",
                "rootdisp",
                1e3,
                0.0005,
            ),
            ("ntp_system_offset_seconds", "offset", 1e3, 0.000_000_5),
            ("ntp_system_jitter_seconds", "sys_jitter", 1e3, 0.000_000_5),
            ("ntp_system_frequency_ppm", "frequency", 1.0, 0.0005),
        ] {
            let want = ms(text, var);
            let got = m(metric) * scale;
            assert!(
                (got - want).abs() <= tol,
                "{metric} {got} vs ntpq {var}={want}\n{text}"
            );
        }
        let row = peers
            .stdout
            .lines()
            .find(|l| l.starts_with('*'))
            .unwrap_or_else(|| panic!("no system peer in:\n{}", peers.stdout));
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cols.len(), 10, "{row}");
        let reach = u8::from_str_radix(cols[6], 8).expect("octal reach");
        assert_eq!(
            one(&before, "ntp_source_reach", &local),
            f64::from(reach),
            "{row}"
        );
        assert_eq!(
            one(&before, "ntp_source_stratum", &local),
            cols[2].parse::<f64>().unwrap()
        );
        for (metric, col) in [
            ("ntp_source_delay_seconds", 7),
            ("ntp_source_offset_seconds", 8),
            ("ntp_source_jitter_seconds", 9),
        ] {
            let want: f64 = cols[col].parse().unwrap();
            let got = one(&before, metric, &local) * 1e3;
            assert!(
                (got - want).abs() <= 0.0005,
                "{metric} {got} vs ntpq {want}\n{row}"
            );
        }
        compared = true;
        break;
    }
    assert!(
        compared,
        "the daemon's state never held still for one comparison"
    );
}
