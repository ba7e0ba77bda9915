//! `cargo xtask bench server`: the serving-path benchmark of issue 9. Builds release, starts
//! each server under test pinned to CPU 1 (our ntpd with one worker, chronyd as root without
//! CAP_SYS_TIME, and the minimal responder of `ntp-load`), drives them in turn from
//! `ntp-load run` pinned to CPU 0, alternating, and prints responses/s, loss, latency, the
//! server's CPU use and resident memory, and the ratios the issue sets targets for.
//!
//! Servers and generator run SCHED_FIFO (`chrt -f 10`) unless `--no-rt`: on a shared 2-vCPU
//! machine other jobs otherwise take most of the server's core and the numbers measure them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const USAGE: &str =
    "usage: cargo xtask bench server [--seconds N] [--reps N] [--no-rt] [--skip-build]\n       \
     cargo xtask bench soak [--seconds N] [--rate R] [--sources N] [--interval S] [--skip-build]";

/// Loopback ports of the servers under test.
const PORT_MIN: u16 = 24123;

#[derive(Clone, Copy)]
struct Opts {
    seconds: f64,
    reps: usize,
    rt: bool,
    build: bool,
}

/// Run `cargo xtask bench <what>`.
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("server") => {}
        Some("soak") => return crate::soak::run(root, &args[1..]),
        _ => return Err(USAGE.into()),
    }
    let mut o = Opts {
        seconds: 5.0,
        reps: 3,
        rt: true,
        build: true,
    };
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => o.seconds = num(it.next())?,
            "--reps" => o.reps = num(it.next())?,
            "--no-rt" => o.rt = false,
            "--skip-build" => o.build = false,
            _ => return Err(format!("unknown option {a}\n{USAGE}")),
        }
    }
    if o.build {
        build_release(root, &["ntpd", "ntp-load"])?;
    }
    let target = crate::deb::target_dir(root);
    let bins = Bins {
        ntpd: target.join("release/ntpd"),
        load: target.join("release/ntp-load"),
        chronyd: std::env::var_os("CHRONYD")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(crate::setup::CHRONY_DIR).join("usr/sbin/chronyd")),
    };
    if !bins.chronyd.exists() {
        crate::setup::run(root)?;
    }
    let dir = std::env::temp_dir().join(format!("ntp-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let b = Bench { bins, dir, o };
    let r = b.all();
    let _ = std::fs::remove_dir_all(&b.dir);
    r
}

/// `cargo build --release -p P...` in `root`.
pub(crate) fn build_release(root: &Path, packages: &[&str]) -> Result<(), String> {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.args(["build", "--release"]).current_dir(root);
    for p in packages {
        c.args(["-p", p]);
    }
    let st = c.status().map_err(|e| format!("cargo build: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err("cargo build --release failed".into())
    }
}

/// `ntp-load probe`: wait up to `seconds` for a sane answer on loopback `port`.
pub(crate) fn probe(load: &Path, port: u16, seconds: u32) -> Result<(), String> {
    let out = Command::new(load)
        .args(["probe", "--target", &format!("127.0.0.1:{port}")])
        .args(["--seconds", &seconds.to_string()])
        .output()
        .map_err(|e| format!("probe: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// The `RESULT key=value ...` line of an `ntp-load run`'s output (without the prefix).
pub(crate) fn result_line(out: &std::process::Output) -> Result<String, String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .map(str::to_owned)
        .ok_or_else(|| format!("no result: {}", String::from_utf8_lossy(&out.stderr).trim()))
}

/// The machine line of a benchmark report: kernel, architecture and CPUs.
pub(crate) fn machine() -> String {
    let uname = Command::new("uname")
        .arg("-srm")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{uname}, {cpus} CPUs")
}

fn num<T: std::str::FromStr>(v: Option<&String>) -> Result<T, String> {
    v.and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("option needs a number\n{USAGE}"))
}

struct Bins {
    ntpd: PathBuf,
    load: PathBuf,
    chronyd: PathBuf,
}

struct Bench {
    bins: Bins,
    dir: PathBuf,
    o: Opts,
}

/// A server under test; killed on drop.
struct Server {
    name: String,
    port: u16,
    child: Child,
    idle_rss_kb: u64,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// One load run against one server.
#[derive(Debug, Clone, Default)]
struct Run {
    rps: f64,
    sent: u64,
    kods: u64,
    invalid: u64,
    lost: u64,
    p50_us: f64,
    p99_us: f64,
    /// Server CPU seconds per wall second during the run.
    cpu: f64,
    load_rss_kb: u64,
}

/// Fields of /proc/PID/status and /proc/PID/stat.
pub(crate) fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// utime + stime of every thread, clock ticks.
pub(crate) fn cpu_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // Fields after the ")" that closes the command name; utime and stime are 14 and 15.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0)
}

fn cap_sys_time_clear(pid: u32) -> bool {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    ["CapEff:", "CapBnd:"].iter().all(|k| {
        s.lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .is_some_and(|bits| bits & (1 << 25) == 0)
    })
}

impl Bench {
    /// `chrt -f 10 taskset -c CPUS` (or just taskset), then the program.
    fn pinned(&self, cpus: &str, program: &Path) -> Command {
        let mut c;
        if self.o.rt {
            c = Command::new("chrt");
            c.args(["-f", "10", "taskset", "-c", cpus]);
        } else {
            c = Command::new("taskset");
            c.args(["-c", cpus]);
        }
        c.arg(program);
        c
    }

    fn spawn(&self, name: &str, port: u16, mut cmd: Command) -> Result<Server, String> {
        let log = std::fs::File::create(self.dir.join(format!("{name}.log")))
            .map_err(|e| format!("log: {e}"))?;
        let err = log.try_clone().map_err(|e| format!("log: {e}"))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("start {name}: {e}"))?;
        Ok(Server {
            name: name.into(),
            port,
            child,
            idle_rss_kb: 0,
        })
    }

    /// Wait until `s` answers with a sane stratum, then sample its idle memory.
    fn ready(&self, s: &mut Server) -> Result<(), String> {
        let (name, port) = (s.name.clone(), s.port);
        probe(&self.bins.load, port, 90).map_err(|e| format!("{name} does not answer: {e}"))?;
        // Let start-up settle before the idle sample.
        std::thread::sleep(Duration::from_millis(500));
        s.idle_rss_kb = rss_kb(s.pid());
        eprintln!(
            "bench: {name} ready on port {port} (pid {}, idle VmRSS {} kB)",
            s.pid(),
            s.idle_rss_kb
        );
        Ok(())
    }

    fn ours(
        &self,
        name: &str,
        port: u16,
        conf: &str,
        threads: &str,
        cpus: &str,
    ) -> Result<Server, String> {
        let path = self.dir.join(format!("{name}.conf"));
        let text = conf.replace("$DIR", &self.dir.display().to_string());
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut c = self.pinned(cpus, &self.bins.ntpd);
        c.args(["-n", "-c"])
            .arg(&path)
            .args(["--port", &port.to_string(), "-4"]);
        if !threads.is_empty() {
            c.args(["--server-threads", threads]);
        }
        self.spawn(name, port, c)
    }

    fn chronyd(&self, name: &str, port: u16, extra: &str) -> Result<Server, String> {
        let d = self.dir.display();
        let conf = format!(
            "port {port}\nbindaddress 127.0.0.1\nallow all\nlocal stratum 10\ncmdport 0\n\
             bindcmdaddress {d}/{name}.sock\npidfile {d}/{name}.pid\ndriftfile {d}/{name}.drift\n{extra}"
        );
        let path = self.dir.join(format!("{name}.conf"));
        std::fs::write(&path, conf).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut c = self.pinned("1", Path::new("capsh"));
        c.args(["--drop=cap_sys_time", "--", "-c"]).arg(format!(
            "exec {} -x -d -u root -f {}",
            self.bins.chronyd.display(),
            path.display()
        ));
        let s = self.spawn(name, port, c)?;
        // Give capsh time to exec chronyd before reading its capabilities.
        std::thread::sleep(Duration::from_millis(300));
        if !cap_sys_time_clear(s.pid()) {
            return Err(format!("{name} kept CAP_SYS_TIME: killed"));
        }
        Ok(s)
    }

    fn responder(&self, port: u16) -> Result<Server, String> {
        let mut c = self.pinned("1", &self.bins.load);
        c.args(["responder", "--listen", &format!("127.0.0.1:{port}")]);
        self.spawn("minimal", port, c)
    }

    /// One load run; `extra` are more `ntp-load run` options.
    fn load(&self, s: &Server, extra: &[&str]) -> Result<Run, String> {
        let mut c = if self.o.rt {
            let mut c = Command::new("chrt");
            c.args(["-f", "10"]).arg(&self.bins.load);
            c
        } else {
            Command::new(&self.bins.load)
        };
        c.args([
            "--cpu",
            "0",
            "run",
            "--target",
            &format!("127.0.0.1:{}", s.port),
        ])
        .args(["--seconds", &self.o.seconds.to_string()])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let t0 = Instant::now();
        let c0 = cpu_ticks(s.pid());
        let child = c.spawn().map_err(|e| format!("ntp-load: {e}"))?;
        std::thread::sleep(Duration::from_secs_f64(self.o.seconds / 2.0));
        let load_rss_kb = rss_kb(s.pid());
        let out = child
            .wait_with_output()
            .map_err(|e| format!("ntp-load: {e}"))?;
        let wall = t0.elapsed().as_secs_f64();
        let c1 = cpu_ticks(s.pid());
        let line = result_line(&out).map_err(|e| format!("ntp-load against {}: {e}", s.name))?;
        let get = |k: &str| -> f64 {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0)
        };
        // CLK_TCK is 100 on Linux.
        Ok(Run {
            rps: get("rps"),
            sent: get("sent") as u64,
            kods: get("kods") as u64,
            invalid: get("invalid") as u64,
            lost: get("lost") as u64,
            p50_us: get("p50_us"),
            p99_us: get("p99_us"),
            cpu: (c1.saturating_sub(c0)) as f64 / 100.0 / wall,
            load_rss_kb,
        })
    }

    /// Alternate the servers for `reps` rounds; returns the runs per server.
    fn rounds(&self, servers: &[&Server], extra: &[&str]) -> Result<Vec<Vec<Run>>, String> {
        let mut all = vec![Vec::new(); servers.len()];
        for rep in 0..self.o.reps {
            for (i, s) in servers.iter().enumerate() {
                let r = self.load(s, extra)?;
                eprintln!(
                    "bench: rep {} {:<22} {:>9.0} responses/s  lost {}  invalid {}  kods {}  p50 {} us  p99 {} us  server cpu {:.2}",
                    rep + 1,
                    s.name,
                    r.rps,
                    r.lost,
                    r.invalid,
                    r.kods,
                    r.p50_us,
                    r.p99_us,
                    r.cpu
                );
                all[i].push(r);
            }
        }
        Ok(all)
    }

    fn all(&self) -> Result<(), String> {
        let mut port = PORT_MIN;
        let mut next = || {
            port += 1;
            port
        };
        let base = "disable ntp\ndriftfile $DIR/ntp.drift\nserver 127.127.1.0 minpoll 3\nfudge 127.127.1.0 stratum 10\n";
        println!(
            "# cargo xtask bench server: {} s per run, {} repetitions, alternating{}",
            self.o.seconds,
            self.o.reps,
            if self.o.rt { ", SCHED_FIFO" } else { "" }
        );
        println!("# machine: {}", machine());

        // 1. One server core, no rate limiting, one source address.
        let mut min = self.responder(next())?;
        let mut ours = self.ours(
            "ours-1-worker",
            next(),
            &format!("{base}restrict default\n"),
            "1",
            "1",
        )?;
        let mut chrony = self.chronyd("chronyd", next(), "noclientlog\n")?;
        for s in [&mut min, &mut ours, &mut chrony] {
            self.ready(s)?;
        }
        let set = [&min, &ours, &chrony];
        let runs = self.rounds(&set, &[])?;
        table(
            "One server core (CPU 1), 64 sockets, 64 in flight, no rate limiting",
            &set,
            &runs,
        );
        let (m, o, c) = (mean_rps(&runs[0]), mean_rps(&runs[1]), mean_rps(&runs[2]));
        println!(
            "ratios: ours/chronyd {:.2} (target >= 1.30), ours/minimal {:.2} (target >= 0.90); \
             server CPU us/response: minimal {:.2}, ours {:.2}, chronyd {:.2}",
            o / c,
            o / m,
            cpu_per_response(&runs[0]),
            cpu_per_response(&runs[1]),
            cpu_per_response(&runs[2])
        );
        let worst_p99 = |rs: &[Run]| rs.iter().map(|r| r.p99_us).fold(0.0, f64::max);
        let lost: u64 = runs[1].iter().map(|r| r.lost + r.invalid).sum();
        let mut verdicts = vec![
            verdict(
                "responses/s >= 1.3x chronyd",
                o / c >= 1.3,
                format!("{:.2}x", o / c),
            ),
            verdict(
                ">= 90 % of the minimal responder",
                o / m >= 0.9,
                format!("{:.0} %", 100.0 * o / m),
            ),
            verdict(
                "zero loss at 64 in flight",
                lost == 0,
                format!("{lost} lost or invalid"),
            ),
            verdict(
                "p99 no worse than chronyd's",
                worst_p99(&runs[1]) <= worst_p99(&runs[2]),
                format!(
                    "{:.0} us vs {:.0} us",
                    worst_p99(&runs[1]),
                    worst_p99(&runs[2])
                ),
            ),
            verdict(
                "idle VmRSS <= chronyd's",
                ours.idle_rss_kb <= chrony.idle_rss_kb,
                format!("{} kB vs {} kB", ours.idle_rss_kb, chrony.idle_rss_kb),
            ),
        ];
        // Latency at a fixed offered load below saturation (open loop): in a closed loop
        // the mean latency is just in-flight / rate, so p50/p99 there mostly follow throughput.
        for rate in ["50000", "200000"] {
            let runs = self.rounds(&set, &["--rate", rate])?;
            table(
                &format!("Open loop at {rate} requests/s (latency at equal load)"),
                &set,
                &runs,
            );
            verdicts.push(verdict(
                &format!("p99 at {rate}/s no worse than chronyd's"),
                worst_p99(&runs[1]) <= worst_p99(&runs[2]),
                format!(
                    "{:.0} us vs {:.0} us",
                    worst_p99(&runs[1]),
                    worst_p99(&runs[2])
                ),
            ));
        }
        drop((min, ours, chrony));

        // 2. Rate limiting on, clients spread over 2^21 source addresses (none limited).
        let mut ours = self.ours(
            "ours-limited-kod",
            next(),
            &format!("{base}restrict default limited kod\ndiscard average 3 minimum 2\n"),
            "1",
            "1",
        )?;
        let mut chrony = self.chronyd("chronyd-ratelimit", next(), "ratelimit\n")?;
        for s in [&mut ours, &mut chrony] {
            self.ready(s)?;
        }
        let set = [&ours, &chrony];
        let runs = self.rounds(&set, &["--sources", "2097152"])?;
        table(
            "Rate limiting on (ours: restrict default limited kod; chronyd: ratelimit), requests from 2^21 source addresses",
            &set,
            &runs,
        );
        let (o, c) = (mean_rps(&runs[0]), mean_rps(&runs[1]));
        println!(
            "ratio: ours/chronyd {:.2} (target >= 1.20); server CPU us/response: ours {:.2}, chronyd {:.2}",
            o / c,
            cpu_per_response(&runs[0]),
            cpu_per_response(&runs[1])
        );
        verdicts.push(verdict(
            "limited kod >= 1.2x chronyd ratelimit",
            o / c >= 1.2,
            format!("{:.2}x", o / c),
        ));
        drop((ours, chrony));

        // 3. Scaling: one worker on CPU 1 vs two workers on CPUs 0-1. The generator needs CPU 0
        //    too: it blocks in poll when idle instead of spinning, and at the same SCHED_FIFO
        //    priority neither preempts the other, so the second worker runs when the
        //    generator waits (a higher-priority worker preempting it per packet collapses
        //    both; see docs/benchmarks.md).
        let mut one = self.ours(
            "ours-1-worker-cpu1",
            next(),
            &format!("{base}restrict default\n"),
            "1",
            "1",
        )?;
        let mut two = self.ours(
            "ours-2-workers-cpu0-1",
            next(),
            &format!("{base}restrict default\n"),
            "2",
            "0,1",
        )?;
        let mut dflt = self.ours(
            "ours-default-threads",
            next(),
            &format!("{base}restrict default\n"),
            "",
            "0,1",
        )?;
        for s in [&mut one, &mut two, &mut dflt] {
            self.ready(s)?;
        }
        let set = [&one, &two];
        let runs = self.rounds(&set, &["--block"])?;
        table(
            "Scaling (generator on CPU 0 blocks when idle; two workers share CPU 0 with it)",
            &set,
            &runs,
        );
        println!(
            "scaling factor two workers / one: {:.2} (target > 1)",
            mean_rps(&runs[1]) / mean_rps(&runs[0])
        );
        println!(
            "idle VmRSS with the default thread count ({}): {} kB",
            dflt.name, dflt.idle_rss_kb
        );
        let f = mean_rps(&runs[1]) / mean_rps(&runs[0]);
        verdicts.push(verdict(
            "two workers serve more than one",
            f > 1.0,
            format!("{f:.2}x"),
        ));
        println!("\n## Targets of issue 9\n");
        for v in &verdicts {
            println!("{v}");
        }
        Ok(())
    }
}

fn verdict(what: &str, met: bool, value: String) -> String {
    format!("- {what}: {value}: {}", if met { "met" } else { "MISSED" })
}

fn mean_rps(runs: &[Run]) -> f64 {
    runs.iter().map(|r| r.rps).sum::<f64>() / runs.len().max(1) as f64
}

fn cpu_per_response(runs: &[Run]) -> f64 {
    let n = runs.len().max(1) as f64;
    let cpu = runs.iter().map(|r| r.cpu).sum::<f64>() / n;
    cpu / mean_rps(runs) * 1e6
}

fn table(title: &str, servers: &[&Server], runs: &[Vec<Run>]) {
    println!("\n## {title}\n");
    println!("| server | responses/s (mean; runs) | lost / sent | invalid | KoD | p50 us | p99 us (worst) | server CPU | VmRSS idle / load kB |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (s, rs) in servers.iter().zip(runs) {
        let each: Vec<String> = rs.iter().map(|r| format!("{:.0}", r.rps)).collect();
        let sent: u64 = rs.iter().map(|r| r.sent).sum();
        let lost: u64 = rs.iter().map(|r| r.lost).sum();
        let n = rs.len().max(1) as f64;
        println!(
            "| {} | {:.0} ({}) | {} / {} | {} | {} | {:.0} | {:.0} | {:.2} | {} / {} |",
            s.name,
            mean_rps(rs),
            each.join(", "),
            lost,
            sent,
            rs.iter().map(|r| r.invalid).sum::<u64>(),
            rs.iter().map(|r| r.kods).sum::<u64>(),
            rs.iter().map(|r| r.p50_us).sum::<f64>() / n,
            rs.iter().map(|r| r.p99_us).fold(0.0, f64::max),
            rs.iter().map(|r| r.cpu).sum::<f64>() / n,
            s.idle_rss_kb,
            rs.iter().map(|r| r.load_rss_kb).max().unwrap_or(0),
        );
    }
}
