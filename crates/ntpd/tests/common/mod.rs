//! Shared helpers for the daemon's end-to-end tests: start the real `ntpd` binary on a free
//! loopback port with a config in a private directory, query it, wait for a condition.
#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ntp_wire::{LeapIndicator, Mode, NtpHeader, NtpTimestamp};

/// A running daemon; killed on drop.
pub struct Daemon {
    /// The process.
    pub child: Child,
    /// Its UDP port on 127.0.0.1.
    pub port: u16,
    /// Its private directory (config, drift file).
    pub dir: PathBuf,
}

/// A UDP port nobody uses right now.
pub fn free_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap().port()
}

impl Daemon {
    /// Start with `config` (`$DIR` is replaced by the private directory).
    pub fn start(tag: &str, config: &str) -> Daemon {
        Self::start_with(tag, config, &[])
    }

    /// Start with extra command-line arguments.
    pub fn start_with(tag: &str, config: &str, extra: &[&str]) -> Daemon {
        let dir = std::env::temp_dir().join(format!("ntpd-e2e-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("ntp.conf");
        std::fs::write(&conf, config.replace("$DIR", dir.to_str().unwrap())).unwrap();
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_ntpd"))
            .args([
                "-n",
                "-c",
                conf.to_str().unwrap(),
                "--port",
                &port.to_string(),
                "-4",
            ])
            .args(extra)
            .args(seccomp_arg(extra))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ntpd");
        let d = Daemon { child, port, dir };
        // Wait until it answers.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if query_from("127.0.0.1", d.port, Duration::from_millis(200)).is_some() {
                return d;
            }
        }
        panic!("ntpd did not start answering on port {}", d.port);
    }

    /// SIGTERM, then wait (at most 5 s) for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "ntpd did not exit on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The system-call filter every test daemon runs under, unless the test chose one: the whole
/// e2e suite proves the allow-list is complete. `NTPD_E2E_SECCOMP=log` (or `off`) overrides
/// it, e.g. to collect what a new distribution needs from the kernel log.
pub fn seccomp_arg(extra: &[&str]) -> Option<String> {
    if extra.iter().any(|a| a.starts_with("--seccomp")) {
        return None;
    }
    let mode = std::env::var("NTPD_E2E_SECCOMP").unwrap_or_else(|_| "enforce".into());
    Some(format!("--seccomp={mode}"))
}

/// A client request with this transmit timestamp.
pub fn request(xmt: u64) -> [u8; 48] {
    NtpHeader {
        leap: LeapIndicator::Unsynchronized,
        version: 4,
        mode: Mode::Client,
        transmit_timestamp: NtpTimestamp::from_bits(xmt),
        ..NtpHeader::default()
    }
    .to_bytes()
}

/// One client query from `src` (a loopback address) to the daemon; `None` on timeout.
pub fn query_from(src: &str, port: u16, timeout: Duration) -> Option<(NtpHeader, usize)> {
    let s = UdpSocket::bind((src, 0)).unwrap();
    s.set_read_timeout(Some(timeout)).unwrap();
    let xmt = 0x0123_4567_89ab_cdef ^ u64::from(port);
    s.send_to(&request(xmt), SocketAddr::from(([127, 0, 0, 1], port)))
        .unwrap();
    let mut buf = [0u8; 512];
    let (n, _) = s.recv_from(&mut buf).ok()?;
    let h = NtpHeader::decode(&buf[..n]).ok()?;
    assert_eq!(
        h.origin_timestamp.to_bits(),
        xmt,
        "origin must echo our transmit"
    );
    Some((h, n))
}

/// Poll `f` every 250 ms until it holds; panic after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("timed out waiting for {what}");
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Path of an interop peer program, or a panic that says how to install it.
pub fn peer_program(path: &str) -> PathBuf {
    let p = if path.starts_with('/') {
        PathBuf::from(path)
    } else {
        workspace_root().join(path)
    };
    assert!(
        p.exists(),
        "{} is missing: the interop peers are installed by `cargo xtask setup` (run by `cargo xtask test`)",
        p.display()
    );
    p
}

/// True when bit 25 (CAP_SYS_TIME) is clear in the effective and bounding sets of process
/// `pid` once it runs `program` (waits up to 10 s for the exec: until then the forked child,
/// or a wrapper such as capsh, still holds the capability).
pub fn lacks_cap_sys_time(pid: u32, program: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() == program {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    ["CapEff:", "CapBnd:"].iter().all(|key| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .is_some_and(|bits| bits & (1 << 25) == 0)
    })
}

/// A chronyd server on loopback (`-x`, no CAP_SYS_TIME): it never adjusts the clock.
pub struct Chrony {
    /// The process.
    pub child: Child,
    /// Address it serves on.
    pub addr: SocketAddr,
    dir: PathBuf,
}

impl Chrony {
    /// Start chronyd on `ip` (a loopback address) at `local stratum`.
    pub fn start(tag: &str, ip: &str, stratum: u8) -> Chrony {
        Self::start_conf(tag, ip, &format!("local stratum {stratum}\nallow all\n"))
    }

    /// Start chronyd on `ip` with extra configuration lines.
    pub fn start_conf(tag: &str, ip: &str, extra: &str) -> Chrony {
        let chronyd = peer_program("target/interop/chrony/usr/sbin/chronyd");
        let dir = std::env::temp_dir().join(format!("chrony-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // chronyd refuses a command socket in a directory others can enter.
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let port = free_port();
        let d = dir.display();
        let conf = format!(
            "port {port}\nbindaddress {ip}\ncmdport 0\nbindcmdaddress {d}/chronyd.sock\npidfile {d}/chronyd.pid\ndriftfile {d}/drift\nnoclientlog\n{extra}"
        );
        std::fs::write(dir.join("chrony.conf"), conf).unwrap();
        let cmd = format!(
            "exec {} -x -d -u root -f {d}/chrony.conf",
            chronyd.display()
        );
        let err = std::fs::File::create(dir.join("chronyd.err")).unwrap();
        let child = Command::new(peer_program("/usr/sbin/capsh"))
            .args(["--drop=cap_sys_time", "--", "-c", &cmd])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("start chronyd");
        let c = Chrony {
            child,
            addr: format!("{ip}:{port}").parse().unwrap(),
            dir,
        };
        assert!(
            lacks_cap_sys_time(c.child.id(), "chronyd"),
            "chronyd must run without CAP_SYS_TIME (or it exited: {}) {:?}",
            std::fs::read_to_string(c.dir.join("chronyd.err")).unwrap_or_default(),
            std::fs::read_to_string(format!("/proc/{}/status", c.child.id()))
                .unwrap_or_default()
                .lines()
                .filter(|l| l.starts_with("Cap") || l.starts_with("Name") || l.starts_with("State"))
                .collect::<Vec<_>>()
        );
        c
    }
}

impl Chrony {
    /// Run `chronyc` against this instance's command socket.
    pub fn chronyc(&self, args: &[&str]) -> String {
        let chronyc = peer_program("target/interop/chrony/usr/bin/chronyc");
        let sock = self.dir.join("chronyd.sock");
        let out = Command::new(chronyc)
            .arg("-h")
            .arg(&sock)
            .args(["-n", "-c"])
            .args(args)
            .output()
            .expect("run chronyc");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Chrony {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A query to any server address; `None` on timeout.
pub fn query_addr(server: SocketAddr, timeout: Duration) -> Option<NtpHeader> {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(timeout)).unwrap();
    s.send_to(&request(0x5555_6666_7777_8888), server).unwrap();
    let mut buf = [0u8; 512];
    let (n, _) = s.recv_from(&mut buf).ok()?;
    NtpHeader::decode(&buf[..n]).ok()
}

/// A network namespace, deleted on drop.
pub struct Netns(pub String);

impl Netns {
    /// A new namespace with loopback up and 127.0.0.2 added to it.
    pub fn new(tag: &str) -> Netns {
        let name = format!("ntprs-{tag}-{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).status();
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap();
        assert!(ok.success(), "ip netns add (needs root)");
        let ok = Command::new("ip")
            .args(["-n", &name, "link", "set", "lo", "up"])
            .status()
            .unwrap();
        assert!(ok.success());
        let ok = Command::new("ip")
            .args(["-n", &name, "addr", "add", "127.0.0.2/8", "dev", "lo"])
            .status()
            .unwrap();
        assert!(ok.success());
        Netns(name)
    }

    /// A command run inside the namespace.
    pub fn cmd(&self, program: &Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0]).arg(program);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// A child process killed on drop.
pub struct Killed(pub Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A binary of the workspace next to ntpd's (built on demand when this test runs alone).
pub fn sibling_binary(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_ntpd")).with_file_name(name);
    if !p.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let ok = Command::new(cargo)
            .args(["build", "-p", name])
            .current_dir(workspace_root())
            .status()
            .expect("cargo build");
        assert!(ok.success(), "cargo build -p {name}");
    }
    assert!(p.exists(), "{} missing", p.display());
    p
}
