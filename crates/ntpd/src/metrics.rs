//! The optional Prometheus text endpoint (`metrics ADDRESS:PORT` in ntp.conf): a tiny HTTP/1.0
//! server on its own thread that serves the latest exposition the client thread published.
//!
//! The client thread owns the engine, so it renders the text (from the same snapshot the
//! control responders read, so the values are what ntpq shows, in base units) and hands it
//! over; the HTTP thread never touches the engine and a slow scraper can never stall time
//! keeping. Off unless configured; `metrics PORT` binds the IPv4 loopback address only.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ntp_conf::Config;
use ntp_core::server::DropReason;
use ntp_core::{Engine, SelectStatus, Snapshot};

use crate::log::{Level, Logger};
use crate::server::{CounterTotals, WorkerCounters};

/// Every drop reason, in counter-array order (for the `reason` label).
const DROP_REASONS: [DropReason; 9] = [
    DropReason::Malformed,
    DropReason::BadVersion,
    DropReason::BadMode,
    DropReason::Ignored,
    DropReason::NoServe,
    DropReason::OldVersion,
    DropReason::NotTrusted,
    DropReason::RateLimited,
    DropReason::BadPort,
];

/// What the endpoint renders from: the engine state as of its last event, and the server
/// workers' counters (read at scrape time, since the workers count without waking the client
/// thread). `None` until the first publication.
type Latest = Arc<Mutex<Option<(Snapshot, Vec<Arc<WorkerCounters>>)>>>;

/// The endpoint of this process: started once, on the first publication. A process-wide slot
/// (rather than a field of the daemon) keeps the daemon's hook to one line.
static ENDPOINT: OnceLock<Option<Latest>> = OnceLock::new();

/// Called by the client thread after every engine event: starts the endpoint the first time
/// (if configured) and publishes the current state. A no-op when `metrics` is not configured.
pub fn publish(config: &Config, engine: &Engine, counters: &[Arc<WorkerCounters>], log: &Logger) {
    let Some(addr) = config.metrics else { return };
    let slot = ENDPOINT.get_or_init(|| match start(addr) {
        Ok(latest) => {
            log.log(
                Level::Notice,
                "metrics",
                &format!("serving Prometheus metrics on http://{addr}/metrics"),
            );
            Some(latest)
        }
        Err(e) => {
            log.log(
                Level::Error,
                "metrics",
                &format!("cannot listen on {addr} for metrics: {e}"),
            );
            None
        }
    });
    if let Some(latest) = slot {
        let state = (engine.snapshot(), counters.to_vec());
        *latest.lock().unwrap_or_else(|e| e.into_inner()) = Some(state);
    }
}

/// Bind and start the HTTP thread.
fn start(addr: SocketAddr) -> std::io::Result<Latest> {
    let listener = TcpListener::bind(addr)?;
    let latest: Latest = Arc::new(Mutex::new(None));
    let shared = Arc::clone(&latest);
    std::thread::Builder::new()
        .name("ntpd-metrics".into())
        .spawn(move || serve(&listener, &shared))?;
    Ok(latest)
}

/// One connection at a time: scrapes are rare and small, and the timeouts bound how long one
/// client can hold the thread.
fn serve(listener: &TcpListener, latest: &Latest) {
    for conn in listener.incoming() {
        let Ok(stream) = conn else { continue };
        let _ = answer(stream, latest);
    }
}

/// Read one request head (at most 8 KiB) and answer it.
fn answer(mut stream: TcpStream, latest: &Latest) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 || head.len() > 8192 {
            break;
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    let text = String::from_utf8_lossy(&head);
    let mut parts = text.lines().next().unwrap_or_default().split_whitespace();
    let (method, path) = (parts.next(), parts.next());
    let body = latest
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map(|(snap, counters)| render(snap, &CounterTotals::sum(counters)));
    let (status, ctype, body) = match (method, path, body) {
        (Some("GET" | "HEAD"), Some("/metrics"), Some(b)) => {
            ("200 OK", "text/plain; version=0.0.4; charset=utf-8", b)
        }
        (Some("GET" | "HEAD"), Some("/metrics"), None) => (
            "503 Service Unavailable",
            "text/plain",
            "not ready\n".into(),
        ),
        (Some("GET" | "HEAD"), _, _) => ("404 Not Found", "text/plain", "try /metrics\n".into()),
        _ => ("405 Method Not Allowed", "text/plain", "GET only\n".into()),
    };
    let mut out = format!(
        "HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if method != Some("HEAD") {
        out.push_str(&body);
    }
    stream.write_all(out.as_bytes())
}

/// A sample value in exposition syntax (Go's float formatting accepts Rust's `Display`).
fn value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes families: `# HELP` and `# TYPE` once, then the samples.
struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], v: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            let l: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", label(v)))
                .collect();
            let _ = write!(self.0, "{{{}}}", l.join(","));
        }
        let _ = writeln!(self.0, " {}", value(v));
    }

    fn one(&mut self, name: &str, kind: &str, help: &str, v: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], v);
    }
}

/// The exposition for one snapshot and the server counters. Units are SI base units
/// (ntpq shows milliseconds; these are seconds), counters end in `_total`.
pub fn render(s: &Snapshot, c: &CounterTotals) -> String {
    let mut o = Out(String::with_capacity(4096));
    let sys = &s.system;
    let synced = sys.leap != ntp_wire::LeapIndicator::Unsynchronized && sys.stratum < 16;
    o.family(
        "ntp_build_info",
        "gauge",
        "Always 1; the version label names the build.",
    );
    o.sample(
        "ntp_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );
    o.one(
        "ntp_system_synchronized",
        "gauge",
        "1 when the clock is synchronised to a source (leap != 3), else 0.",
        f64::from(u8::from(synced)),
    );
    o.one(
        "ntp_system_offset_seconds",
        "gauge",
        "Last combined clock offset (ntpq rv offset, in seconds).",
        sys.offset,
    );
    o.one(
        "ntp_system_frequency_ppm",
        "gauge",
        "Frequency correction in parts per million (ntpq rv frequency).",
        sys.frequency,
    );
    o.one(
        "ntp_system_jitter_seconds",
        "gauge",
        "Combined selection jitter (ntpq rv sys_jitter, in seconds).",
        sys.sys_jitter,
    );
    o.one(
        "ntp_system_clock_jitter_seconds",
        "gauge",
        "Clock jitter (ntpq rv clk_jitter, in seconds).",
        sys.clk_jitter,
    );
    o.one(
        "ntp_system_clock_wander_ppm",
        "gauge",
        "Frequency wander in parts per million (ntpq rv clk_wander).",
        sys.clk_wander,
    );
    o.one(
        "ntp_system_stratum",
        "gauge",
        "Stratum (16 when unsynchronised).",
        f64::from(sys.stratum),
    );
    o.one(
        "ntp_system_leap",
        "gauge",
        "Leap indicator: 0 none, 1 insert, 2 delete, 3 unsynchronised.",
        f64::from(sys.leap.bits()),
    );
    o.one(
        "ntp_system_root_delay_seconds",
        "gauge",
        "Root delay to the primary reference (ntpq rv rootdelay, in seconds).",
        sys.root_delay,
    );
    o.one(
        "ntp_system_root_dispersion_seconds",
        "gauge",
        "Root dispersion (ntpq rv rootdisp, in seconds).",
        sys.root_dispersion,
    );
    o.one(
        "ntp_system_poll_interval_seconds",
        "gauge",
        "System poll interval (2^tc).",
        2f64.powi(i32::from(sys.poll)),
    );
    o.one(
        "ntp_system_discipline_state",
        "gauge",
        "Clock discipline state (0 NSET, 1 FSET, 2 SPIK, 3 FREQ, 4 SYNC, 5 panic).",
        f64::from(sys.state.code()),
    );
    o.one(
        "ntp_system_clock_steps_total",
        "counter",
        "Clock steps since start.",
        sys.steps as f64,
    );
    o.one(
        "ntp_system_clock_updates_total",
        "counter",
        "Clock discipline updates since start.",
        sys.updates as f64,
    );

    let names: Vec<String> = s.sources.iter().map(|p| p.address.to_string()).collect();
    type Field = fn(&ntp_core::SourceSnapshot) -> f64;
    let per_source: [(&str, &str, &str, Field); 13] = [
        ("ntp_source_reach", "gauge", "Reach register (ntpq peers reach is this in octal).", |p| f64::from(p.reach)),
        ("ntp_source_stratum", "gauge", "Source stratum (16 until heard).", |p| f64::from(p.stratum)),
        ("ntp_source_delay_seconds", "gauge", "Filter round-trip delay (ntpq peers delay, in seconds).", |p| p.delay),
        ("ntp_source_offset_seconds", "gauge", "Filter offset (ntpq peers offset, in seconds).", |p| p.offset),
        ("ntp_source_jitter_seconds", "gauge", "Filter jitter (ntpq peers jitter, in seconds).", |p| p.jitter),
        ("ntp_source_dispersion_seconds", "gauge", "Filter dispersion (ntpq rv ASSOC dispersion, in seconds).", |p| p.dispersion),
        ("ntp_source_root_distance_seconds", "gauge", "Root distance as of the last sample.", |p| p.root_distance),
        ("ntp_source_poll_interval_seconds", "gauge", "Our poll interval for the source (ntpq peers poll).", |p| 2f64.powi(i32::from(p.hpoll))),
        ("ntp_source_selection_code", "gauge", "Selection: 0 rejected, 1 falseticker (x), 2 excess (.), 3 outlier (-), 4 candidate (+), 5 backup (#), 6 system peer (*).", |p| f64::from(p.select.code())),
        ("ntp_source_requests_sent_total", "counter", "Requests sent to the source.", |p| p.sent as f64),
        ("ntp_source_responses_received_total", "counter", "Valid responses from the source.", |p| p.received as f64),
        ("ntp_source_responses_rejected_total", "counter", "Responses dropped by a packet test.", |p| p.rejected as f64),
        ("ntp_source_kod_received_total", "counter", "Kiss-o'-death packets believed.", |p| p.kod as f64),
    ];
    for (name, kind, help, f) in per_source {
        o.family(name, kind, help);
        for (p, n) in s.sources.iter().zip(&names) {
            o.sample(name, &[("source", n)], f(p));
        }
    }
    o.family(
        "ntp_source_system_peer",
        "gauge",
        "1 for the system peer (ntpq peers '*'), else 0.",
    );
    for (p, n) in s.sources.iter().zip(&names) {
        let is = p.select == SelectStatus::SystemPeer;
        o.sample(
            "ntp_source_system_peer",
            &[("source", n)],
            f64::from(u8::from(is)),
        );
    }

    let rate_limited = c
        .drops
        .get(DropReason::RateLimited.index())
        .copied()
        .unwrap_or(0);
    for (name, help, v) in [
        (
            "ntp_server_requests_received_total",
            "Datagrams received on the server sockets.",
            c.received,
        ),
        (
            "ntp_server_replies_sent_total",
            "Mode 4 replies sent (KoDs excluded).",
            c.replies,
        ),
        (
            "ntp_server_kod_sent_total",
            "RATE kiss-o'-death replies sent.",
            c.kods,
        ),
        (
            "ntp_server_crypto_nak_sent_total",
            "Crypto-NAKs sent.",
            c.naks,
        ),
        (
            "ntp_server_rate_limited_total",
            "Requests refused by rate limiting (answered with a KoD or dropped).",
            rate_limited.saturating_add(c.kods),
        ),
        (
            "ntp_server_control_forwarded_total",
            "Mode 6/7 and symmetric datagrams handed to the main thread.",
            c.forwarded,
        ),
        (
            "ntp_server_queue_overflow_total",
            "Datagrams dropped because the main thread's queue was full.",
            c.forward_overflow,
        ),
        (
            "ntp_server_send_errors_total",
            "Replies the kernel refused to send.",
            c.send_errors,
        ),
    ] {
        o.one(name, "counter", help, v as f64);
    }
    o.family(
        "ntp_server_dropped_total",
        "counter",
        "Requests dropped without a reply, by reason.",
    );
    for r in DROP_REASONS {
        let v = c.drops.get(r.index()).copied().unwrap_or(0);
        o.sample(
            "ntp_server_dropped_total",
            &[("reason", r.name())],
            v as f64,
        );
    }
    o.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn special_floats_use_exposition_spelling() {
        assert_eq!(value(f64::NAN), "NaN");
        assert_eq!(value(f64::INFINITY), "+Inf");
        assert_eq!(value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(value(0.000_001_5), "0.0000015");
    }

    #[test]
    fn every_drop_reason_is_listed_once_in_index_order() {
        for (i, r) in DROP_REASONS.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
        assert_eq!(DROP_REASONS.len(), ntp_core::server::DROP_REASONS);
    }
}
