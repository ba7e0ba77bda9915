//! `cargo xtask barrage`: a bounded hostile-traffic barrage against a real `ntpd` on loopback
//! and from a private network namespace (catalogue groups (a) and (d) of the security spec).
//!
//! The daemon runs observe-only (`disable ntp`), so the host clock is never touched. Traffic
//! goes to loopback and over a veth pair into a namespace this module creates (a private /30
//! in 10.201.0.0/16), so nothing leaves the machine. For every configuration it asserts that
//! the daemon stays up and keeps answering valid requests (latency measured; bound 1 s), that
//! no non-loopback source ever receives more bytes than it sent (counted from the replies the
//! barrage itself receives), and that the log stays rate-limited; it prints the number of
//! cases and packets tried.
//!
//! This file only uses `std` (and the `ip` and `python3` programs for the namespace side), so
//! the daemon's integration test `crates/ntpd/tests/barrage.rs` includes it with `#[path]` and
//! runs a smaller bounded version of the same barrage.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Bound on a valid request's round trip during the barrage (generous: a debug build on a
/// busy two-core machine; normal latency is reported, not asserted).
pub const MAX_LATENCY: Duration = Duration::from_secs(1);

/// How many log lines per second of barrage the daemon may write (its limiter allows a few
/// per cause per second; a handful of causes can fire at once).
pub const LOG_LINES_PER_SECOND: f64 = 30.0;

/// Tries per liveness probe.
pub const PROBE_TRIES: usize = 3;

/// Fixed allowance of log lines for start-up and shutdown messages.
pub const LOG_LINES_FIXED: usize = 60;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `ntpd` binary.
    pub ntpd: PathBuf,
    /// Scale: how many times each randomised class is repeated (1 for CI, 20+ by hand).
    pub scale: usize,
    /// Random datagrams per configuration on top of the structured cases.
    pub random: usize,
    /// Wall-clock bound for one configuration's barrage.
    pub time_limit: Duration,
    /// Also attack from a network namespace over a veth pair (needs root and `ip`).
    pub netns: bool,
    /// Unique tag for the namespace and the temporary directory.
    pub tag: String,
    /// Seed of the datagram generator.
    pub seed: u64,
    /// Check every n-th control (mode 6/7) case one at a time from the namespace (1: all;
    /// each costs a few milliseconds of waiting for stragglers).
    pub strict_every: usize,
}

/// Bytes and datagrams exchanged with one source address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Traffic {
    /// Datagrams the barrage sent from this source.
    pub sent_packets: u64,
    /// Payload bytes sent.
    pub sent_bytes: u64,
    /// Datagrams the daemon sent back to this source.
    pub received_packets: u64,
    /// Payload bytes received.
    pub received_bytes: u64,
    /// Datagrams from the daemon captured arriving at this source's host on any port
    /// (namespace source only; 0 elsewhere).
    pub captured_packets: u64,
    /// Their payload bytes.
    pub captured_bytes: u64,
    /// Captured datagrams addressed to port 0 (replies to a spoofed port-0 source).
    pub to_port_zero: u64,
    /// Control requests (mode 6/7) sent one at a time with their replies attributed to them
    /// (namespace source only).
    pub strict_requests: u64,
    /// Of those, requests whose replies were longer than the request (must be 0).
    pub strict_amplified: u64,
    /// Largest reply/request byte ratio of a single strict request.
    pub worst_factor: f64,
    /// First 16 bytes (hex) of the request with the largest ratio.
    pub worst_request: String,
}

/// What one configuration's barrage found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Configuration name.
    pub config: String,
    /// Distinct structured cases (each sent from every source).
    pub cases: usize,
    /// Datagrams sent in total.
    pub packets: u64,
    /// Per source address: traffic. Loopback sources are informational.
    pub sources: BTreeMap<String, Traffic>,
    /// Round trips of the valid probe requests, seconds.
    pub latencies: Vec<f64>,
    /// Probes that got no answer within [`MAX_LATENCY`] in any of [`PROBE_TRIES`] tries.
    pub lost_probes: usize,
    /// Probe tries that went unanswered but a retry was answered (a flood of 64 KiB
    /// datagrams can fill the socket buffer, so the kernel drops a single probe; that is UDP,
    /// not the daemon).
    pub probe_retries: usize,
    /// Datagrams the kernel dropped on the daemon's sockets (full receive buffers), from
    /// `/proc/net/udp`; informational.
    pub kernel_drops: u64,
    /// The daemon's own counters at the end (mode 6), when it answers mode 6 from loopback.
    pub counters: Option<BTreeMap<String, u64>>,
    /// Datagrams that reached the daemon's port (all sources, probes included), for the
    /// counter check: each must be counted as received by the daemon or dropped by the kernel.
    pub delivered: u64,
    /// Lines in the daemon's log file at the end.
    pub log_lines: usize,
    /// Duration of the barrage.
    pub elapsed: Duration,
    /// The daemon was still running at the end and exited cleanly on SIGTERM.
    pub survived: bool,
    /// Spoofed datagrams sent from the namespace (A28: loopback, refclock, broadcast and
    /// multicast sources, source port 0) arriving on the non-loopback interface.
    pub spoofed_sent: usize,
    /// Replies to them: seen on the host socket the loopback-spoofed ones name as their
    /// source, or captured in the namespace towards port 0. Must be 0.
    pub spoofed_answered: u64,
    /// Requests per class, for the printout.
    pub classes: BTreeMap<&'static str, usize>,
}

impl Report {
    /// Every violated invariant, one line each (empty when the daemon passed).
    pub fn violations(&self) -> Vec<String> {
        let mut v = Vec::new();
        if !self.survived {
            v.push(format!(
                "{}: daemon died or did not exit cleanly",
                self.config
            ));
        }
        if self.lost_probes > 0 {
            v.push(format!(
                "{}: {} valid probes unanswered within {:?}",
                self.config, self.lost_probes, MAX_LATENCY
            ));
        }
        if self.latencies.is_empty() {
            v.push(format!("{}: no probe answered", self.config));
        }
        for (src, t) in &self.sources {
            let loopback = src.starts_with("127.");
            let out = t.received_bytes.max(t.captured_bytes);
            if !loopback && out > t.sent_bytes {
                v.push(format!(
                    "{}: amplification to non-loopback {src}: {out} bytes out for {} in",
                    self.config, t.sent_bytes
                ));
            }
            if !loopback && t.strict_amplified > 0 {
                v.push(format!(
                    "{}: {} single requests from non-loopback {src} got longer replies (worst factor {:.2}, request {})",
                    self.config, t.strict_amplified, t.worst_factor, t.worst_request
                ));
            }
        }
        if self.spoofed_answered > 0 {
            v.push(format!(
                "{}: {} replies to spoofed loopback/martian/port-0 sources on a non-loopback interface",
                self.config, self.spoofed_answered
            ));
        }
        if let Some(c) = &self.counters {
            // Every datagram that reached the port was counted by the daemon or dropped by
            // the kernel (readable with ntpq -c iostats).
            let received = c.get("io_received").copied().unwrap_or(0);
            if received + self.kernel_drops < self.delivered {
                v.push(format!(
                    "{}: the daemon counted {received} datagrams received (+{} kernel drops) of {} delivered",
                    self.config, self.kernel_drops, self.delivered
                ));
            }
        }
        let allowed =
            LOG_LINES_FIXED + (self.elapsed.as_secs_f64().ceil() * LOG_LINES_PER_SECOND) as usize;
        if self.log_lines > allowed {
            v.push(format!(
                "{}: {} log lines in {:.1} s (allowed {allowed})",
                self.config,
                self.log_lines,
                self.elapsed.as_secs_f64()
            ));
        }
        v
    }

    /// A human-readable summary.
    pub fn summary(&self) -> String {
        let mut l = self.latencies.clone();
        l.sort_by(f64::total_cmp);
        let pct = |q: f64| {
            l.get(((l.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or(f64::NAN)
                * 1e3
        };
        let mut s = format!(
            "barrage[{}]: {} cases, {} packets in {:.1} s; {} spoofed (A28), {} answered; probes {} answered ({} retried), {} lost; latency ms p50 {:.2} p99 {:.2} max {:.2}; log {} lines; kernel drops {}; daemon {}\n",
            self.config,
            self.cases,
            self.packets,
            self.elapsed.as_secs_f64(),
            self.spoofed_sent,
            self.spoofed_answered,
            self.latencies.len(),
            self.probe_retries,
            self.lost_probes,
            pct(0.5),
            pct(0.99),
            pct(1.0),
            self.log_lines,
            self.kernel_drops,
            if self.survived { "alive" } else { "DEAD" }
        );
        for (src, t) in &self.sources {
            if t.strict_requests > 0 {
                s.push_str(&format!(
                    "  from {src:<12} {} control requests one at a time: {} amplified, worst factor {:.3} ({})\n",
                    t.strict_requests, t.strict_amplified, t.worst_factor, t.worst_request
                ));
            }
            s.push_str(&format!(
                "  from {src:<12} sent {:>6} pkts {:>9} B, got back {:>5} pkts {:>8} B, captured {:>5} pkts {:>8} B (factor {:.3})\n",
                t.sent_packets,
                t.sent_bytes,
                t.received_packets,
                t.received_bytes,
                t.captured_packets,
                t.captured_bytes,
                t.received_bytes.max(t.captured_bytes) as f64 / t.sent_bytes.max(1) as f64
            ));
        }
        let classes: Vec<String> = self
            .classes
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        match &self.counters {
            Some(c) => {
                let kv: Vec<String> = c.iter().map(|(k, v)| format!("{k}={v}")).collect();
                s.push_str(&format!(
                    "  daemon counters (mode 6, {} datagrams delivered): {}\n",
                    self.delivered,
                    kv.join(" ")
                ));
            }
            None => s.push_str("  daemon counters: not readable over mode 6 (no reply)\n"),
        }
        s.push_str(&format!("  classes: {}\n", classes.join(", ")));
        s
    }
}

/// One datagram of the catalogue.
#[derive(Debug, Clone)]
pub struct Case {
    /// Catalogue class (e.g. `A01-short`).
    pub class: &'static str,
    /// The datagram.
    pub bytes: Vec<u8>,
}

/// SplitMix64: deterministic, good enough for generating test datagrams.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    /// Next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A 48-byte NTP header: first byte `li_vn_mode`, random transmit timestamp.
pub fn header(li_vn_mode: u8, rng: &mut Rng) -> Vec<u8> {
    let mut b = vec![0u8; 48];
    b[0] = li_vn_mode;
    b[2] = 6;
    b[3] = 0xEC;
    b[40..48].copy_from_slice(&rng.next().to_be_bytes());
    b
}

/// A valid mode 3, version 4 client request with transmit timestamp `xmt`.
pub fn client_request(xmt: u64) -> Vec<u8> {
    let mut b = vec![0u8; 48];
    b[0] = 0x23;
    b[40..48].copy_from_slice(&xmt.to_be_bytes());
    b
}

/// A mode 6 datagram: `r_e_m_op` is byte 1 (response, error, more bits and opcode).
pub fn mode6(r_e_m_op: u8, assoc: u16, offset: u16, count: u16, data: &[u8]) -> Vec<u8> {
    let mut b = vec![(4 << 3) | 6, r_e_m_op, 0, 1, 0, 0];
    b.extend_from_slice(&assoc.to_be_bytes());
    b.extend_from_slice(&offset.to_be_bytes());
    b.extend_from_slice(&count.to_be_bytes());
    b.extend_from_slice(data);
    while b.len() % 4 != 0 {
        b.push(0);
    }
    b
}

/// A mode 7 datagram: header then `data`, padded with zeros to `total` bytes.
pub fn mode7(first: u8, implementation: u8, request: u8, nitems: u16, itemsize: u16) -> Vec<u8> {
    let mut b = vec![first, 0, implementation, request];
    b.extend_from_slice(&(nitems & 0x0FFF).to_be_bytes());
    b.extend_from_slice(&(itemsize & 0x0FFF).to_be_bytes());
    b
}

/// Every structured case of catalogue groups (a) and (d), plus `random` random datagrams.
/// `scale` repeats the classes that draw random content.
pub fn catalogue(seed: u64, scale: usize, random: usize) -> Vec<Case> {
    let mut rng = Rng::new(seed);
    let mut v: Vec<Case> = Vec::new();
    let mut push = |class: &'static str, bytes: Vec<u8>| v.push(Case { class, bytes });
    for _ in 0..scale.max(1) {
        // A01/A03/A11: every short length, odd lengths, long and oversized datagrams.
        for n in [0usize, 1, 2, 3, 4, 8, 11, 12, 20, 40, 44, 47] {
            let mut b = header(0x23, &mut rng);
            b.truncate(n);
            push("A01-short", b);
        }
        for n in [49usize, 50, 51, 53, 55, 63, 66, 67, 69, 71] {
            let mut b = header(0x23, &mut rng);
            b.resize(n, 0xA5);
            push("A03-unaligned", b);
        }
        for n in [480usize, 1020, 1024, 1028, 1400, 2048, 9000, 65_000] {
            let mut b = header(0x23, &mut rng);
            b.extend(rng.bytes(n - 48));
            push("A11-long", b);
        }
        // A12-A16: every leap/version/mode combination of a 48-byte header.
        for li in 0..4u8 {
            for vn in 0..8u8 {
                for mode in 0..8u8 {
                    push(
                        "A12-vn-mode",
                        header((li << 6) | (vn << 3) | mode, &mut rng),
                    );
                }
            }
        }
        // A31: extreme client fields.
        for (poll, prec, xmt) in [
            (127u8, 0x80u8, 0u64),
            (0x80, 0x7F, u64::MAX),
            (17, 0xEC, 1),
            (0xFF, 0xFF, 0x8000_0000_0000_0000),
        ] {
            let mut b = client_request(xmt);
            b[2] = poll;
            b[3] = prec;
            b[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
            b[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
            push("A31-extreme-fields", b);
        }
        // A04-A06: crypto-NAK, MACs of every wrong length, unknown and known key ids.
        let base = client_request(rng.next());
        let mut b = base.clone();
        b.extend([0u8; 4]);
        push("A04-crypto-nak", b);
        for (key, digest_len) in [
            (1u32, 16usize),
            (1, 20),
            (2, 16),
            (7, 20),
            (0xFFFF_FFFF, 16),
            (1, 8),
            (1, 12),
            (1, 24),
            (1, 28),
            (1, 32),
            (0, 16),
        ] {
            let mut b = base.clone();
            b.extend(key.to_be_bytes());
            b.extend(rng.bytes(digest_len));
            push("A05-mac", b);
        }
        // A09/A10: extension fields of bad lengths, a short last field, many small fields.
        for (ty, len, body) in [
            (0x1234u16, 0u16, 12usize),
            (0x1234, 2, 12),
            (0x1234, 15, 12),
            (0x1234, 16, 12),
            (0x0104, 16, 12),
            (0x1234, 0xFFFF, 12),
            (0x1234, 18, 14),
            (0x1234, 28, 24),
            (0x0104, 36, 32),
            (0x8000, 1000, 60),
        ] {
            let mut b = client_request(rng.next());
            b.extend(ty.to_be_bytes());
            b.extend(len.to_be_bytes());
            b.extend(rng.bytes(body));
            push("A09-extension", b);
        }
        let mut b = client_request(rng.next());
        while b.len() + 16 <= 1400 {
            b.extend([0x12, 0x34, 0x00, 0x10]);
            b.extend(rng.bytes(12));
        }
        push("A11-many-extensions", b);
        let mut b = client_request(rng.next());
        b.extend([0x12, 0x34, 0x00, 0x1C]);
        b.extend(rng.bytes(24));
        b.extend(1u32.to_be_bytes());
        b.extend(rng.bytes(20));
        push("A09-extension-then-mac", b);
        // A16: replies, kisses and symmetric packets aimed at the server port.
        for first in [0x24u8, 0xE4, 0x21, 0x22, 0x25, 0x1C, 0x14] {
            let mut b = header(first, &mut rng);
            b[1] = if first == 0xE4 { 0 } else { 2 };
            if first == 0xE4 {
                b[12..16].copy_from_slice(b"RATE");
            }
            b[24..32].copy_from_slice(&rng.next().to_be_bytes());
            push("A16-replies", b);
        }
        // A17-A25, D01-D07: mode 6, every opcode, with the bits, offsets and counts wrong.
        for op in 0..32u8 {
            push("A17-mode6-op", mode6(op, 0, 0, 0, &[]));
            push("A17-mode6-op-assoc", mode6(op, 0xFFFF, 0, 0, &[]));
            push("A18-mode6-response", mode6(0x80 | op, 0, 0, 0, &[]));
            push("A18-mode6-error", mode6(0x40 | op, 0, 0, 0, &[]));
            push("A18-mode6-more", mode6(0x20 | op, 0, 0, 0, &[]));
            push("A18-mode6-offset", mode6(op, 0, 4, 4, b"abcd"));
            push("A19-mode6-count", mode6(op, 0, 0, 400, b"x"));
            push("A19-mode6-count-max", mode6(op, 0, 0, 0xFFFF, &[]));
            let mut odd = mode6(op, 0, 0, 3, b"a=b");
            odd.truncate(15);
            push("A19-mode6-unaligned", odd);
        }
        let long_name = vec![b'n'; 300];
        let commas = vec![b','; 468];
        let mut nuls = b"ver\0sion,\x1b[2J,".to_vec();
        nuls.extend([0xC3, 0x28, 0xFF, 0xFE]);
        for data in [
            &b""[..],
            &long_name,
            &commas,
            &nuls,
            b"version,version,version",
            b"=,=,=",
            b"a=",
            b"nonce=00000000000000000000,frags=1000,limit=100000",
            b"frags=32",
        ] {
            for op in [2u8, 1, 3, 4, 10, 12] {
                push(
                    "A21-mode6-payload",
                    mode6(op, 0, 0, data.len() as u16, data),
                );
            }
        }
        for op in [3u8, 8, 6, 31, 7, 5, 9, 11] {
            // WRITEVAR, CONFIGURE, SETTRAP, UNSETTRAP, ASYNCMSG, ... with and without a MAC.
            let data = b"leap=3,drift=/etc/passwd";
            let mut b = mode6(op, 0, 0, data.len() as u16, data);
            push("D01-mode6-write", b.clone());
            b.extend(1u32.to_be_bytes());
            b.extend(rng.bytes(16));
            push("D01-mode6-write-badmac", b);
        }
        // A26, D06, D11: mode 7, every request code and several implementations, short and
        // full size, bogus item counts, with the response bit, with a MAC.
        for req in 0..=45u8 {
            for imp in [0u8, 2, 3, (rng.next() as u8) | 4] {
                push("A26-mode7", mode7(0x17, imp, req, 0, 0));
                let mut full = mode7(0x17, imp, req, 1, 0x0FFF);
                full.resize(192, 0);
                push("A26-mode7-full", full);
            }
            let mut bogus = mode7(0x17, 3, req, 0x0FFF, 0x0FFF);
            bogus.extend(rng.bytes(40));
            push("D11-mode7-bogus-count", bogus);
            push("A26-mode7-response", mode7(0x97, 3, req, 0, 0));
            push("A26-mode7-more", mode7(0xD7, 3, req, 0, 0));
            let mut authed = mode7(0x17, 3, req, 0, 0);
            authed[1] = 0x80;
            authed.resize(168, 0);
            authed.extend(1u32.to_be_bytes());
            authed.extend(rng.bytes(16));
            push("A26-mode7-auth", authed);
        }
        for vn in [1u8, 2, 3, 4, 7] {
            push("A26-mode7-version", mode7((vn << 3) | 7, 3, 42, 0, 0));
        }
    }
    for _ in 0..random {
        let n = match rng.below(4) {
            0 => rng.below(48) as usize,
            1 => 48,
            2 => 48 + 4 * rng.below(64) as usize,
            _ => rng.below(1500) as usize,
        };
        let mut b = rng.bytes(n);
        // Half of them look like NTP of a random mode so they get past the first byte.
        if rng.below(2) == 0 {
            if let Some(first) = b.first_mut() {
                *first = (*first & 0xC0) | (((rng.below(5) as u8) + 1) << 3) | (rng.below(8) as u8);
            }
        }
        push("random", b);
    }
    v
}

/// A running daemon in a private directory; killed (and the directory removed) on drop.
pub struct Daemon {
    child: Child,
    /// Its UDP port.
    pub port: u16,
    /// Its private directory.
    pub dir: PathBuf,
}

impl Daemon {
    /// Start `ntpd -n -c DIR/ntp.conf --port P -4` with `config` (`$DIR` replaced), wait until
    /// it answers a valid request on 127.0.0.1.
    pub fn start(ntpd: &Path, dir: &Path, config: &str) -> Result<Daemon, String> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let d = dir.to_str().ok_or("non-UTF-8 directory")?;
        let conf = dir.join("ntp.conf");
        std::fs::write(&conf, config.replace("$DIR", d)).map_err(|e| e.to_string())?;
        let keys = dir.join("ntp.keys");
        std::fs::write(&keys, "1 SHA1 0123456789abcdef0123456789abcdef01234567\n")
            .map_err(|e| e.to_string())?;
        let _ =
            std::fs::set_permissions(&keys, std::os::unix::fs::PermissionsExt::from_mode(0o600));
        let port = UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        // Under the system-call filter, as the packaged unit runs it.
        let child = Command::new(ntpd)
            .args(["-n", "-c"])
            .arg(&conf)
            .args(["--port", &port.to_string(), "-4", "--seccomp"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("stderr.txt")).map_err(|e| e.to_string())?,
            ))
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", ntpd.display()))?;
        let mut daemon = Daemon {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        let probe = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        while Instant::now() < deadline {
            if probe_once(&probe, port, Duration::from_millis(200)).is_some() {
                return Ok(daemon);
            }
            if let Ok(Some(status)) = daemon.child.try_wait() {
                let err = std::fs::read_to_string(dir.join("stderr.txt")).unwrap_or_default();
                return Err(format!("ntpd exited at start ({status}): {err}"));
            }
        }
        let _ = daemon.child.kill();
        Err(format!("ntpd did not answer on port {port}"))
    }

    /// Still running?
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM and wait up to 5 s; true when it exited with status 0.
    pub fn terminate(&mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Lines in the log file.
    pub fn log_lines(&self) -> usize {
        std::fs::read_to_string(self.dir.join("ntpd.log"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Send one valid request from `sock` and wait for the reply echoing it; the round trip.
pub fn probe_once(sock: &UdpSocket, port: u16, timeout: Duration) -> Option<Duration> {
    let xmt = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    let start = Instant::now();
    sock.send_to(&client_request(xmt), ("127.0.0.1", port))
        .ok()?;
    let mut buf = [0u8; 2048];
    while start.elapsed() < timeout {
        let left = timeout
            .saturating_sub(start.elapsed())
            .max(Duration::from_millis(1));
        sock.set_read_timeout(Some(left)).ok()?;
        match sock.recv_from(&mut buf) {
            Ok((n, _)) if n >= 48 && buf[24..32] == xmt.to_be_bytes() => {
                return Some(start.elapsed())
            }
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

/// The daemon's packet counters read over mode 6 from 127.0.0.1 (READVAR of the `io_*` and
/// `ss_*` system variables, as `ntpq -c iostats -c sysstats` does); `None` when the daemon
/// does not answer mode 6.
pub fn read_counters(port: u16) -> Option<BTreeMap<String, u64>> {
    let names = b"io_received,io_dropped,io_ignored,ss_received,ss_badformat,ss_declined,ss_restricted,ss_limited,ss_processed";
    let sock = UdpSocket::bind("127.0.0.1:0").ok()?;
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .ok()?;
    let mut req = mode6(2, 0, 0, names.len() as u16, names);
    req[2..4].copy_from_slice(&0x4242u16.to_be_bytes());
    sock.send_to(&req, ("127.0.0.1", port)).ok()?;
    let mut buf = [0u8; 2048];
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        let (n, _) = sock.recv_from(&mut buf).ok()?;
        let d = buf.get(..n)?;
        // A response (bit 7) to our READVAR with our sequence.
        if d.len() < 12 || d[1] & 0x9F != 0x82 || d[2..4] != 0x4242u16.to_be_bytes() {
            continue;
        }
        let count = usize::from(u16::from_be_bytes([d[10], d[11]]));
        text.push_str(&String::from_utf8_lossy(d.get(12..12 + count)?));
        if d[1] & 0x20 == 0 {
            break;
        }
    }
    let map: BTreeMap<String, u64> = text
        .split(',')
        .filter_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            Some((k.trim().to_owned(), v.trim().parse().ok()?))
        })
        .collect();
    (!map.is_empty()).then_some(map)
}

/// Datagrams dropped by the kernel on every IPv4 UDP socket bound to `port` (the `drops`
/// column of `/proc/net/udp`, which lists the sockets of the current network namespace).
pub fn kernel_drops(port: u16) -> u64 {
    let text = std::fs::read_to_string("/proc/net/udp").unwrap_or_default();
    let want = format!(":{port:04X}");
    text.lines()
        .skip(1)
        .filter(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|local| local.ends_with(&want))
        })
        .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
        .sum()
}

/// One liveness probe (up to [`PROBE_TRIES`] tries) recorded in `report`.
fn liveness(sock: &UdpSocket, port: u16, report: &mut Report) {
    for _ in 0..PROBE_TRIES {
        if let Some(d) = probe_once(sock, port, MAX_LATENCY) {
            report.latencies.push(d.as_secs_f64());
            return;
        }
        report.probe_retries += 1;
    }
    report.probe_retries -= PROBE_TRIES;
    report.lost_probes += 1;
}

/// The veth pair and namespace the non-loopback source lives in; removed on drop.
pub struct Namespace {
    /// Namespace name.
    pub name: String,
    /// Host-side address (the daemon listens on it).
    pub host: String,
    /// Namespace-side address (the attacking source).
    pub peer: String,
    host_if: String,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Namespace {
    /// Create namespace `ntprs-<tag>` with a veth pair (`vh<tag>`/`vn<tag>`, so `tag` is at
    /// most 13 characters): host end 10.201.X.1/30, namespace end 10.201.X.2/30, X = `subnet`.
    pub fn create(tag: &str, subnet: u8) -> Result<Namespace, String> {
        let name = format!("ntprs-{tag}");
        let host_if = format!("vh{tag}");
        let ns_if = format!("vn{tag}");
        let _ = ip(&["netns", "del", &name]);
        let _ = ip(&["link", "del", &host_if]);
        let host = format!("10.201.{subnet}.1");
        let peer = format!("10.201.{subnet}.2");
        let n = Namespace {
            name: name.clone(),
            host: host.clone(),
            peer: peer.clone(),
            host_if: host_if.clone(),
        };
        ip(&["netns", "add", &name])?;
        ip(&[
            "link", "add", &host_if, "type", "veth", "peer", "name", &ns_if, "netns", &name,
        ])?;
        ip(&["addr", "add", &format!("{host}/30"), "dev", &host_if])?;
        ip(&["link", "set", &host_if, "up"])?;
        ip(&[
            "-n",
            &name,
            "addr",
            "add",
            &format!("{peer}/30"),
            "dev",
            &ns_if,
        ])?;
        ip(&["-n", &name, "link", "set", &ns_if, "up"])?;
        ip(&["-n", &name, "link", "set", "lo", "up"])?;
        // Wait for the link (IPv4 is usable at once, but be sure the route exists).
        std::thread::sleep(Duration::from_millis(200));
        Ok(n)
    }

    /// Send every datagram in `datagrams` from the namespace side to `host:port`, then every
    /// `spoofed` datagram (raw IPv4 with the given source address and port) and collect the
    /// replies, both on the sending socket and by capture (a raw socket that sees every UDP
    /// datagram from the daemon into the namespace, whatever its destination port). Uses a
    /// small Python agent run with `ip netns exec`.
    pub fn blast(
        &self,
        port: u16,
        datagrams: &[Vec<u8>],
        spoofed: &[(String, u16, Vec<u8>)],
        strict: &[Vec<u8>],
    ) -> Result<Traffic, String> {
        const AGENT: &str = r#"
import select, socket, struct, sys, time
host, port, src = sys.argv[1], int(sys.argv[2]), sys.argv[3]
dst = (host, port)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((src, 0)); s.setblocking(False)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
# Capture: every UDP datagram from the daemon's address and port arriving in the namespace,
# whatever its destination port (a raw socket sees them all).
cap = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP); cap.setblocking(False)
cap.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
hostb = socket.inet_aton(host)
sp = sb = rp = rb = cp = cb = c0 = 0
def drain():
    global rp, rb, cp, cb, c0
    while True:
        try:
            d = s.recv(65535)
        except (BlockingIOError, ConnectionRefusedError):
            break
        rp += 1; rb += len(d)
    while True:
        try:
            d = cap.recv(65535)
        except BlockingIOError:
            break
        ihl = (d[0] & 15) * 4
        if len(d) < ihl + 8 or d[12:16] != hostb:
            continue
        sport, dport = struct.unpack('!HH', d[ihl:ihl + 4])
        if sport != port:
            continue
        cp += 1; cb += len(d) - ihl - 8
        if dport == 0:
            c0 += 1
def spoof(fake, fport, b):
    u = struct.pack('!HHHH', fport, port, 8 + len(b), 0) + b
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(u), 1, 0, 64, 17, 0,
                     socket.inet_aton(fake), hostb) + u
    raw.sendto(ip, (host, 0))
strict = []
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    if line.startswith("S"):
        strict.append(bytes.fromhex(line[1:]))
        continue
    if line.startswith("R"):
        fake, fport, hexb = line[1:].split(",")
        try:
            b = bytes.fromhex(hexb)
            spoof(fake, int(fport), b)
            if fake == src:
                sp += 1; sb += len(b)
        except OSError:
            pass
        drain()
        continue
    b = b"" if line == "-" else bytes.fromhex(line)
    try:
        s.sendto(b, dst); sp += 1; sb += len(b)
    except OSError:
        pass
    drain()
end = time.time() + 0.7
while time.time() < end:
    select.select([s, cap], [], [], 0.05); drain()
# Strict phase: one request at a time, replies attributed to it (by the mode 6 sequence
# number or the mode 7 sequence the agent writes into each request, so a straggler is not
# charged to the wrong request), and each request's reply bytes compared with its own size.
def key_of(b):
    if len(b) >= 4 and b[0] & 7 == 6:
        return (6, b[2] << 8 | b[3])
    if len(b) >= 2 and b[0] & 7 == 7:
        return (7, b[1] & 0x7F)
    return None
sn = bad = 0; worst = 0.0; worst_hex = ""
for i, b in enumerate(strict):
    b = bytearray(b)
    if len(b) >= 4 and b[0] & 7 == 6:
        b[2:4] = struct.pack("!H", i & 0xFFFF)
    elif len(b) >= 2 and b[0] & 7 == 7:
        b[1] = (b[1] & 0x80) | (i & 0x7F)
    b = bytes(b)
    k = key_of(b)
    try:
        s.sendto(b, dst); sp += 1; sb += len(b)
    except OSError:
        continue
    sn += 1
    got = 0
    t_end = time.time() + 0.2
    while time.time() < t_end:
        r, _, _ = select.select([s], [], [], 0.005)
        if not r:
            break
        try:
            d = s.recv(65535)
        except (BlockingIOError, ConnectionRefusedError):
            continue
        rp += 1; rb += len(d)
        kd = key_of(d)
        if k is None or kd is None or kd == k:
            got += len(d)
    f = got / max(len(b), 1)
    if got > len(b):
        bad += 1
    if f > worst:
        worst = f; worst_hex = b[:16].hex()
drain()
sys.stderr.write("worst %s\n" % worst_hex)
print(sp, sb, rp, rb, cp, cb, c0, sn, bad, int(worst * 1000))
"#;
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.name, "python3", "-c", AGENT])
            .args([&self.host, &port.to_string(), &self.peer])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("python3 agent: {e}"))?;
        {
            let mut stdin = child.stdin.take().ok_or("agent stdin")?;
            let mut text = String::new();
            for d in datagrams {
                if d.is_empty() {
                    text.push('-');
                } else {
                    for b in d {
                        text.push_str(&format!("{b:02x}"));
                    }
                }
                text.push('\n');
            }
            for d in strict {
                text.push('S');
                for b in d {
                    text.push_str(&format!("{b:02x}"));
                }
                text.push('\n');
            }
            for (src, sport, d) in spoofed {
                text.push_str(&format!("R{src},{sport},"));
                for b in d {
                    text.push_str(&format!("{b:02x}"));
                }
                text.push('\n');
            }
            stdin
                .write_all(text.as_bytes())
                .map_err(|e| format!("agent stdin: {e}"))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("agent: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let n: Vec<u64> = text
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        match n[..] {
            [sp, sb, rp, rb, cp, cb, c0, sn, bad, worst] => Ok(Traffic {
                sent_packets: sp,
                sent_bytes: sb,
                received_packets: rp,
                received_bytes: rb,
                captured_packets: cp,
                captured_bytes: cb,
                to_port_zero: c0,
                strict_requests: sn,
                strict_amplified: bad,
                worst_factor: worst as f64 / 1000.0,
                worst_request: String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .find_map(|l| l.strip_prefix("worst "))
                    .unwrap_or("")
                    .to_owned(),
            }),
            _ => Err(format!(
                "agent failed: {} {}",
                text,
                String::from_utf8_lossy(&out.stderr)
            )),
        }
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.name]);
        let _ = ip(&["link", "del", &self.host_if]);
    }
}

/// The configurations the barrage runs against.
pub fn configurations() -> Vec<(&'static str, String)> {
    let common = "disable ntp\ndriftfile $DIR/ntp.drift\nlogfile $DIR/ntpd.log\nkeys $DIR/ntp.keys\ntrustedkey 1\ncontrolkey 1\nrequestkey 1\nserver 127.127.1.0 minpoll 3\nfudge 127.127.1.0 stratum 10\n";
    vec![
        (
            "open",
            format!("{common}restrict default\nrestrict 127.0.0.1\n"),
        ),
        (
            "tutorial",
            format!(
                "{common}restrict default kod limited nomodify nopeer noquery\nrestrict 127.0.0.1\nrestrict ::1\n"
            ),
        ),
    ]
}

/// Loopback source addresses: the genuine one and "spoofed" other loopback addresses.
const LOOPBACK_SOURCES: [&str; 4] = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.77"];

/// Run the barrage against one configuration.
pub fn run_config(opts: &Options, name: &str, config: &str) -> Result<Report, String> {
    let dir = std::env::temp_dir().join(format!("ntprs-barrage-{}-{name}", opts.tag));
    // The namespace (and so the host veth address) must exist before the daemon starts: it
    // binds the addresses present at start-up.
    let ns = if opts.netns {
        // A /30 per process (tests and xtask may run side by side).
        let subnet = (std::process::id() % 250) as u8;
        let first = name.chars().next().unwrap_or('c');
        Some(Namespace::create(&format!("{first}{}", opts.tag), subnet)?)
    } else {
        None
    };
    let mut daemon = Daemon::start(&opts.ntpd, &dir, config)?;
    let cases = catalogue(opts.seed, opts.scale, opts.random);
    let mut report = Report {
        config: name.to_owned(),
        cases: cases.len(),
        ..Report::default()
    };
    for c in &cases {
        *report.classes.entry(c.class).or_default() += 1;
    }
    let start = Instant::now();
    let deadline = start + opts.time_limit;
    let socks: Vec<UdpSocket> = LOOPBACK_SOURCES
        .iter()
        .map(|a| {
            let s = UdpSocket::bind((*a, 0)).map_err(|e| format!("bind {a}: {e}"))?;
            s.set_nonblocking(true).map_err(|e| e.to_string())?;
            Ok(s)
        })
        .collect::<Result<_, String>>()?;
    let probe = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let target = SocketAddr::from(([127, 0, 0, 1], daemon.port));
    let mut buf = vec![0u8; 65_536];
    let mut drain = |socks: &[UdpSocket], report: &mut Report| {
        for (i, s) in socks.iter().enumerate() {
            while let Ok((n, _)) = s.recv_from(&mut buf) {
                let t = report
                    .sources
                    .entry(LOOPBACK_SOURCES[i].to_owned())
                    .or_default();
                t.received_packets += 1;
                t.received_bytes += n as u64;
            }
        }
    };
    // Loopback part: every case from every source, a valid probe every 50 datagrams.
    'outer: for (k, c) in cases.iter().enumerate() {
        for (i, s) in socks.iter().enumerate() {
            if Instant::now() > deadline {
                break 'outer;
            }
            if s.send_to(&c.bytes, target).is_ok() {
                let t = report
                    .sources
                    .entry(LOOPBACK_SOURCES[i].to_owned())
                    .or_default();
                t.sent_packets += 1;
                t.sent_bytes += c.bytes.len() as u64;
                report.packets += 1;
            }
        }
        if k % 16 == 0 {
            drain(&socks, &mut report);
        }
        if k % 50 == 0 {
            // Let the daemon drain its socket first: a probe that arrives while the kernel
            // buffer is still full of the last burst is dropped by the kernel (counted in
            // `kernel_drops`), which says nothing about the daemon. On a loaded two-core
            // machine this happened in about one run in three without the pause.
            std::thread::sleep(Duration::from_millis(20));
            liveness(&probe, daemon.port, &mut report);
        }
    }
    // Namespace part: the same cases from a non-loopback source, in the remaining time.
    if let Some(ns) = &ns {
        let mut datagrams: Vec<Vec<u8>> = cases.iter().map(|c| c.bytes.clone()).collect();
        // Valid requests too: a non-loopback client must still get time, at 48 bytes for 48.
        for x in 0..20u64 {
            datagrams.push(client_request(0xABCD_0000 + x));
        }
        // A28: sources that must never be answered when they arrive on a non-loopback
        // interface. Replies to the loopback-spoofed ones would land on `trap` here. (Source
        // 0.0.0.0 cannot be sent: the kernel fills in the real address of a zero source.)
        let trap = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        trap.set_nonblocking(true).map_err(|e| e.to_string())?;
        let trap_port = trap.local_addr().map_err(|e| e.to_string())?.port();
        let mut spoofed = Vec::new();
        let mut rng = Rng::new(opts.seed ^ 0x5B00F);
        for src in [
            "127.0.0.1",
            "127.0.0.5",
            "127.127.1.0",
            "255.255.255.255",
            "224.0.0.1",
        ] {
            spoofed.push((src.to_owned(), trap_port, client_request(rng.next())));
            spoofed.push((src.to_owned(), trap_port, mode6(2, 0, 0, 0, &[])));
            spoofed.push((src.to_owned(), trap_port, mode7(0x17, 3, 42, 0, 0)));
        }
        spoofed.push((ns.peer.clone(), 0, client_request(rng.next())));
        spoofed.push((ns.peer.clone(), 0, mode6(2, 0, 0, 0, &[])));
        report.spoofed_sent = spoofed.len();
        // Per-request check for the control classes (a sum over thousands of datagrams
        // could hide one amplifying request).
        let strict: Vec<Vec<u8>> = cases
            .iter()
            .filter(|c| c.bytes.first().is_some_and(|b| matches!(b & 7, 6 | 7)))
            .step_by(opts.strict_every.max(1))
            .map(|c| c.bytes.clone())
            .collect();
        let t = ns.blast(daemon.port, &datagrams, &spoofed, &strict)?;
        // The agent counts the port-0 datagrams (its own address) among `sent_packets`.
        report.packets += t.sent_packets + spoofed.len() as u64 - 2;
        std::thread::sleep(Duration::from_millis(100));
        let mut b = [0u8; 2048];
        while trap.recv_from(&mut b).is_ok() {
            report.spoofed_answered += 1;
        }
        report.spoofed_answered += t.to_port_zero;
        report.sources.insert(ns.peer.clone(), t);
        liveness(&probe, daemon.port, &mut report);
    }
    std::thread::sleep(Duration::from_millis(300));
    drain(&socks, &mut report);
    for _ in 0..5 {
        liveness(&probe, daemon.port, &mut report);
    }
    report.elapsed = start.elapsed();
    // Spoofed datagrams may never reach the socket (the kernel drops martians; port 0 too,
    // perhaps); everything else does. Probes are not counted in `packets`: a lower bound.
    report.delivered = report.packets - report.spoofed_sent as u64;
    let alive = daemon.alive();
    report.kernel_drops = kernel_drops(daemon.port);
    report.counters = read_counters(daemon.port);
    report.log_lines = daemon.log_lines();
    report.survived = alive && daemon.terminate();
    if !report.survived {
        let err = std::fs::read_to_string(dir.join("stderr.txt")).unwrap_or_default();
        eprintln!("barrage[{name}]: daemon stderr: {err}");
    }
    drop(ns);
    Ok(report)
}

/// Run every configuration; the reports, or the violations found.
pub fn run(opts: &Options) -> Result<Vec<Report>, String> {
    let mut reports = Vec::new();
    let mut violations = Vec::new();
    for (name, config) in configurations() {
        let r = run_config(opts, name, &config)?;
        print!("{}", r.summary());
        violations.extend(r.violations());
        reports.push(r);
    }
    if violations.is_empty() {
        Ok(reports)
    } else {
        Err(violations.join("\n"))
    }
}

/// `cargo xtask barrage [--release] [--scale N] [--random N] [--seconds S] [--no-netns]`.
pub fn main(root: &Path, args: &[String]) -> Result<(), String> {
    let mut release = false;
    let mut opts = Options {
        ntpd: PathBuf::new(),
        scale: 4,
        random: 20_000,
        time_limit: Duration::from_secs(60),
        netns: true,
        tag: format!("x{}", std::process::id()),
        seed: 0x0B4D_5EED,
        strict_every: 1,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |what: &str| -> Result<u64, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{what} needs a number"))
        };
        match a.as_str() {
            "--release" => release = true,
            "--scale" => opts.scale = num("--scale")? as usize,
            "--random" => opts.random = num("--random")? as usize,
            "--seconds" => opts.time_limit = Duration::from_secs(num("--seconds")?),
            "--seed" => opts.seed = num("--seed")?,
            "--no-netns" => opts.netns = false,
            other => return Err(format!("barrage: unknown argument {other}")),
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "-p", "ntpd", "--bin", "ntpd"])
        .current_dir(root);
    if release {
        build.arg("--release");
    }
    let ok = build.status().map_err(|e| format!("cargo build: {e}"))?;
    if !ok.success() {
        return Err("cargo build -p ntpd failed".into());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    opts.ntpd = target
        .join(if release { "release" } else { "debug" })
        .join("ntpd");
    let reports = run(&opts)?;
    let total: u64 = reports.iter().map(|r| r.packets).sum();
    println!(
        "barrage: passed: {} configurations, {} cases each, {total} packets",
        reports.len(),
        reports.first().map_or(0, |r| r.cases)
    );
    Ok(())
}
