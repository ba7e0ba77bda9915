//! Shared helpers of the control (mode 6/7) end-to-end tests: the built `ntpq`/`ntpdc`
//! binaries, running a command with a timeout, network namespaces with a veth pair, and a
//! UDP probe that runs inside a namespace.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The tutorial's access lines: remote hosts get time but no queries; loopback gets all.
pub const TUTORIAL_RESTRICT: &str =
    "restrict default kod nomodify notrap nopeer noquery limited\nrestrict 127.0.0.1\n";

/// The tutorial's local clock, polled every 8 s so the tests need not wait minutes.
pub const LOCAL_CLOCK: &str = "server 127.127.1.0 minpoll 3\nfudge 127.127.1.0 stratum 10\n";

/// Path of one of the workspace's client binaries (`ntpq`, `ntpdc`), built next to `ntpd`
/// (with the same target directory and profile) if it is not there yet.
pub fn tool(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let ntpd = Path::new(env!("CARGO_BIN_EXE_ntpd"));
    let path = ntpd.with_file_name(name);
    BUILT.get_or_init(|| {
        let missing = ["ntpq", "ntpdc"]
            .iter()
            .any(|t| !ntpd.with_file_name(t).exists());
        if !missing {
            return;
        }
        let profile_dir = ntpd.parent().expect("profile directory");
        let target = profile_dir.parent().expect("target directory");
        let mut cmd = Command::new(option_env!("CARGO").unwrap_or("cargo"));
        cmd.args(["build", "-p", "ntpq", "-p", "ntpdc", "--target-dir"])
            .arg(target)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.file_name().and_then(|n| n.to_str()) == Some("release") {
            cmd.arg("--release");
        }
        let st = cmd.status().expect("run cargo build");
        assert!(st.success(), "cargo build -p ntpq -p ntpdc failed");
    });
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// Output of a finished command.
#[derive(Debug)]
pub struct Output {
    /// Exit status code (-1 when killed).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Run `program args`, killing it after `limit`.
pub fn run(program: &Path, args: &[&str], limit: Duration) -> Output {
    run_with_input(program, args, "", limit)
}

/// Run `program args` with `input` on stdin, killing it after `limit`.
pub fn run_with_input(program: &Path, args: &[&str], input: &str, limit: Duration) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("collect output");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run `program args` until `accept(stdout)` holds or `limit` passes; the last output.
pub fn run_until(
    program: &Path,
    args: &[&str],
    limit: Duration,
    mut accept: impl FnMut(&str) -> bool,
) -> Output {
    let deadline = Instant::now() + limit;
    loop {
        let out = run(program, args, Duration::from_secs(10));
        if accept(&out.stdout) || Instant::now() >= deadline {
            return out;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn ip(args: &[&str]) -> Output {
    run(Path::new("ip"), args, Duration::from_secs(10))
}

/// A network namespace, optionally joined to the root namespace by a veth pair; removed on
/// drop. Traffic stays inside this machine.
pub struct Netns {
    /// The namespace name (for `ip netns exec`).
    pub name: String,
    /// The root-namespace end of the veth pair and its address, if any.
    pub root_end: Option<(String, String)>,
    /// The address of the namespace's end of the veth pair, if any.
    pub inner_addr: Option<String>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Netns {
    /// A fresh namespace with its loopback up; panics (with the reason) when the system does
    /// not allow network namespaces.
    pub fn new(tag: &str) -> Netns {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("ntpctl-{tag}-{}-{n}", std::process::id());
        let out = ip(&["netns", "add", &name]);
        assert_eq!(
            out.code, 0,
            "`ip netns add` failed (these tests need root and network namespaces): {}",
            out.stderr
        );
        let ns = Netns {
            name,
            root_end: None,
            inner_addr: None,
        };
        assert_eq!(ns.exec_ip(&["link", "set", "lo", "up"]).code, 0);
        ns
    }

    /// A namespace joined to the root namespace by a veth pair on a private /30
    /// (10.200.X.1 in the root namespace, 10.200.X.2 inside).
    pub fn with_veth(tag: &str) -> Netns {
        let mut ns = Netns::new(tag);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        // A subnet unlikely to collide with a concurrently running test binary.
        let x = (std::process::id().wrapping_mul(7).wrapping_add(n * 13)) % 250 + 1;
        let a = format!("vca{}{}", std::process::id() % 100_000, n);
        let b = format!("vcb{}{}", std::process::id() % 100_000, n);
        let outer = format!("10.200.{x}.1");
        let inner = format!("10.200.{x}.2");
        let steps: Vec<Vec<String>> = vec![
            vec!["link", "add", &a, "type", "veth", "peer", "name", &b]
                .into_iter()
                .map(String::from)
                .collect(),
            vec!["link", "set", &b, "netns", &ns.name]
                .into_iter()
                .map(String::from)
                .collect(),
            vec!["addr", "add", &format!("{outer}/30"), "dev", &a]
                .into_iter()
                .map(String::from)
                .collect(),
            vec!["link", "set", &a, "up"]
                .into_iter()
                .map(String::from)
                .collect(),
        ];
        for s in &steps {
            let args: Vec<&str> = s.iter().map(String::as_str).collect();
            let out = ip(&args);
            assert_eq!(out.code, 0, "ip {args:?}: {}", out.stderr);
        }
        ns.root_end = Some((a, outer));
        for s in [
            vec!["addr", "add", &format!("{inner}/30"), "dev", &b],
            vec!["link", "set", &b, "up"],
        ] {
            let out = ns.exec_ip(&s);
            assert_eq!(out.code, 0, "ip -n {} {s:?}: {}", ns.name, out.stderr);
        }
        ns.inner_addr = Some(inner);
        // Wait for the link to come up (duplicate address detection does not apply to IPv4).
        std::thread::sleep(Duration::from_millis(300));
        ns
    }

    /// `ip -n NAME args`.
    pub fn exec_ip(&self, args: &[&str]) -> Output {
        let mut v = vec!["-n", self.name.as_str()];
        v.extend_from_slice(args);
        ip(&v)
    }

    /// Run `program args` inside the namespace.
    pub fn run(&self, program: &Path, args: &[&str], limit: Duration) -> Output {
        self.run_with_input(program, args, "", limit)
    }

    /// Run `program args` inside the namespace with `input` on stdin.
    pub fn run_with_input(
        &self,
        program: &Path,
        args: &[&str],
        input: &str,
        limit: Duration,
    ) -> Output {
        let p = program.to_str().expect("utf-8 path");
        let mut v = vec!["netns", "exec", self.name.as_str(), p];
        v.extend_from_slice(args);
        run_with_input(Path::new("ip"), &v, input, limit)
    }

    /// The root namespace's address on the veth pair.
    pub fn outer_addr(&self) -> &str {
        &self.root_end.as_ref().expect("veth pair").1
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Some((a, _)) = &self.root_end {
            let _ = ip(&["link", "del", a]);
        }
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// A python3 interpreter (NTPsec's ntpq is a Python program, so one is installed wherever
/// the interop peers are).
pub fn python() -> PathBuf {
    let sys = PathBuf::from("/usr/bin/python3");
    if sys.exists() {
        sys
    } else {
        PathBuf::from("python3")
    }
}

/// Sends every request (hex, one per line on stdin) from its own socket, all at once, then
/// collects replies for a while; prints per request `total_bytes datagrams first_reply_hex`.
const PROBE: &str = r#"
import select, socket, sys, time
host, port, wait = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
reqs = [bytes.fromhex(l.strip()) for l in sys.stdin if l.strip()]
socks = []
for r in reqs:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    s.sendto(r, (host, port))
    socks.append(s)
    time.sleep(0.002)
got = [[0, 0, ""] for _ in reqs]
end = time.time() + wait
while time.time() < end:
    ready, _, _ = select.select(socks, [], [], max(0.0, end - time.time()))
    for s in ready:
        i = socks.index(s)
        try:
            d = s.recv(65535)
        except OSError:
            continue
        got[i][0] += len(d)
        got[i][1] += 1
        if not got[i][2]:
            got[i][2] = d.hex()
for g in got:
    print(g[0], g[1], g[2] or "-")
"#;

/// What one probed request got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Total reply bytes.
    pub bytes: usize,
    /// Reply datagrams.
    pub datagrams: usize,
    /// The first reply datagram.
    pub first: Vec<u8>,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Send each request to `host:port` from inside `ns` and report what came back.
pub fn probe(ns: &Netns, host: &str, port: u16, requests: &[Vec<u8>]) -> Vec<Probe> {
    let input: String = requests.iter().map(|r| hex(r) + "\n").collect();
    let port_s = port.to_string();
    let out = ns.run_with_input(
        &python(),
        &["-c", PROBE, host, &port_s, "2.0"],
        &input,
        Duration::from_secs(120),
    );
    assert_eq!(out.code, 0, "probe failed: {}", out.stderr);
    let rows: Vec<Probe> = out
        .stdout
        .lines()
        .map(|l| {
            let mut f = l.split_whitespace();
            let bytes = f.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            let datagrams = f.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            let first = f
                .next()
                .filter(|h| *h != "-")
                .map(unhex)
                .unwrap_or_default();
            Probe {
                bytes,
                datagrams,
                first,
            }
        })
        .collect();
    assert_eq!(rows.len(), requests.len(), "probe output: {}", out.stdout);
    rows
}

/// A 12-octet mode 6 request (version 2, as ntpq sends) with this opcode and sequence.
pub fn mode6_request(opcode: u8, sequence: u16) -> Vec<u8> {
    let mut r = vec![0x16, opcode & 0x1f];
    r.extend_from_slice(&sequence.to_be_bytes());
    r.extend_from_slice(&[0; 8]);
    r
}

/// A 192-octet unauthenticated mode 7 request as ntpdc sends it (version 2, no items).
pub fn mode7_request(implementation: u8, code: u8) -> Vec<u8> {
    let mut r = vec![0x17, 0x00, implementation, code, 0, 0, 0, 0];
    r.resize(192, 0);
    r
}
