//! `cargo xtask bench soak`: the long run of issue 10. Our daemon (release, observe-only, local
//! clock, `restrict default limited kod`) takes an open-loop load of 50,000 requests/s from
//! many loopback source addresses for 10 minutes, while every 10 s the daemon's resident
//! memory (VmRSS), its CPU use and the rate-limit table occupancy (our `ntpq -c monstats`,
//! read over mode 6 exactly as an operator would) are sampled and printed as a table. At the end
//! the load generator's own summary (responses, KoDs, losses) is printed, and the run fails if
//! the daemon died, stopped answering, or its memory grew by more than the stated bound.
//!
//! The bound is a property of the design, not a timing claim: the rate-limit table is a fixed
//! array allocated at start-up (`mru maxdepth`, default here 131,072 entries so that 65,536
//! sources at 50,000/s all stay in it and are really rate-limited), so memory may grow only
//! during the warm-up (the first fifth of the run), while the table's pages are first touched;
//! growth after it beyond `--max-growth-kb` means something allocates per packet or per
//! source and is a bug worth failing on.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const USAGE: &str = "usage: cargo xtask bench soak [--seconds N] [--rate R] [--sources N] \
                     [--interval S] [--maxdepth N] [--max-growth-kb K] [--skip-build]";

struct Opts {
    seconds: u64,
    rate: u64,
    sources: u32,
    interval: u64,
    maxdepth: u64,
    max_growth_kb: u64,
    build: bool,
}

/// Kill the child when dropped, so a failed run leaves nothing behind.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Run `cargo xtask bench soak ...`.
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let mut o = Opts {
        seconds: 600,
        rate: 50_000,
        sources: 65_536,
        interval: 10,
        maxdepth: 131_072,
        max_growth_kb: 2048,
        build: true,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = || -> Result<u64, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{a} needs a number\n{USAGE}"))
        };
        match a.as_str() {
            "--seconds" => o.seconds = num()?,
            "--rate" => o.rate = num()?,
            "--sources" => o.sources = u32::try_from(num()?).map_err(|e| e.to_string())?,
            "--interval" => o.interval = num()?.max(1),
            "--maxdepth" => o.maxdepth = num()?,
            "--max-growth-kb" => o.max_growth_kb = num()?,
            "--skip-build" => o.build = false,
            _ => return Err(format!("unknown option {a}\n{USAGE}")),
        }
    }
    if o.build {
        crate::bench::build_release(root, &["ntpd", "ntpq", "ntp-load"])?;
    }
    let target = crate::deb::target_dir(root);
    let bin = |n: &str| target.join("release").join(n);
    let dir = std::env::temp_dir().join(format!("ntp-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let r = soak(&o, &bin("ntpd"), &bin("ntpq"), &bin("ntp-load"), &dir);
    let _ = std::fs::remove_dir_all(&dir);
    r
}

/// The fields of `ntpq -c monstats` we track.
#[derive(Default, Debug)]
struct Monstats {
    addresses: u64,
    peak: u64,
    maximum: u64,
    kib: u64,
}

fn monstats(ntpq: &Path, port: u16) -> Result<Monstats, String> {
    let out = Command::new(ntpq)
        .args(["--port", &port.to_string(), "-c", "monstats", "127.0.0.1"])
        .output()
        .map_err(|e| format!("ntpq: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> Result<u64, String> {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| {
                format!(
                    "ntpq monstats: no `{name}` in {:?} (stderr {:?})",
                    text,
                    String::from_utf8_lossy(&out.stderr)
                )
            })
    };
    Ok(Monstats {
        addresses: field("addresses:")?,
        peak: field("peak addresses:")?,
        maximum: field("maximum addresses:")?,
        kib: field("kilobytes:")?,
    })
}

fn soak(o: &Opts, ntpd: &Path, ntpq: &Path, load: &Path, dir: &Path) -> Result<(), String> {
    // A free loopback port, so a soak can run beside another one (or beside CI's).
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map_err(|e| format!("free port: {e}"))?
        .port();
    let conf = dir.join("soak.conf");
    // The tutorial's access policy with rate limiting for everyone but the host itself
    // (the load comes from 127.64.0.0/10, so it is subject to `limited kod`). Loopback only
    // (`interface ignore all` keeps loopback): addresses other programs add while the soak
    // runs (test namespaces' veth ends) would otherwise get listeners of their own and show
    // up as memory steps.
    std::fs::write(
        &conf,
        format!(
            "disable ntp\ndriftfile {d}/ntp.drift\nserver 127.127.1.0 minpoll 3\n\
             fudge 127.127.1.0 stratum 10\n\
             restrict default limited kod nomodify notrap nopeer noquery\n\
             restrict 127.0.0.1\ndiscard average 3 minimum 2\nmru maxdepth {m}\n\
             interface ignore all\n",
            d = dir.display(),
            m = o.maxdepth
        ),
    )
    .map_err(|e| format!("{}: {e}", conf.display()))?;
    let log = std::fs::File::create(dir.join("ntpd.log")).map_err(|e| e.to_string())?;
    let mut daemon = Reaped(
        Command::new(ntpd)
            .args(["-n", "-c"])
            .arg(&conf)
            .args(["--port", &port.to_string(), "-4"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("start ntpd: {e}"))?,
    );
    let pid = daemon.0.id();
    crate::bench::probe(load, port, 120).map_err(|e| format!("ntpd does not answer: {e}"))?;
    println!(
        "# cargo xtask bench soak: {} s at {} requests/s from {} source addresses, \
         sampled every {} s",
        o.seconds, o.rate, o.sources, o.interval
    );
    println!(
        "# machine: {}; daemon pid {pid}, default server threads",
        crate::bench::machine()
    );
    let start_rss = crate::bench::rss_kb(pid);
    let load_child = Command::new(load)
        .args(["run", "--target", &format!("127.0.0.1:{port}")])
        .args(["--seconds", &o.seconds.to_string()])
        .args(["--rate", &o.rate.to_string()])
        .args(["--sources", &o.sources.to_string()])
        // Most requests are over the limit and get no answer (only one KoD per headway), so the
        // open-loop generator needs many slots and a short loss timeout to keep its rate.
        .args([
            "--sockets",
            "256",
            "--inflight",
            "8192",
            "--timeout-ms",
            "50",
        ])
        .arg("--block")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("ntp-load: {e}"))?;
    println!();
    println!(
        "| t (s) | VmRSS (kB) | daemon CPU (%) | table entries | peak | maximum | table KiB |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let t0 = Instant::now();
    let (mut rss_min, mut rss_max) = (u64::MAX, 0u64);
    // Memory must be flat after the warm-up (the first fifth of the run, while the table's
    // pages are first touched and the allocator reaches its working set).
    let warmup = (o.seconds / 5).max(o.interval);
    let mut rss_after_warmup = None;
    let mut peak_entries = 0;
    let mut ticks = crate::bench::cpu_ticks(pid);
    let mut last = Instant::now();
    let mut k = 0;
    while t0.elapsed().as_secs() < o.seconds {
        k += 1;
        let next = t0 + Duration::from_secs(k * o.interval);
        if let Some(d) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
        if let Some(st) = daemon.0.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("ntpd exited during the soak: {st}"));
        }
        let rss = crate::bench::rss_kb(pid);
        let now_ticks = crate::bench::cpu_ticks(pid);
        // CLK_TCK is 100 on Linux.
        let cpu = (now_ticks.saturating_sub(ticks)) as f64 / last.elapsed().as_secs_f64();
        ticks = now_ticks;
        last = Instant::now();
        let m = monstats(ntpq, port)?;
        rss_min = rss_min.min(rss);
        rss_max = rss_max.max(rss);
        if t0.elapsed().as_secs() >= warmup && rss_after_warmup.is_none() {
            rss_after_warmup = Some(rss);
        }
        peak_entries = peak_entries.max(m.addresses);
        println!(
            "| {} | {rss} | {cpu:.0} | {} | {} | {} | {} |",
            t0.elapsed().as_secs(),
            m.addresses,
            m.peak,
            m.maximum,
            m.kib
        );
        if m.addresses > m.maximum {
            return Err(format!(
                "rate-limit table holds {} entries, above its maximum {}",
                m.addresses, m.maximum
            ));
        }
    }
    let out = load_child
        .wait_with_output()
        .map_err(|e| format!("ntp-load: {e}"))?;
    let result = crate::bench::result_line(&out).map_err(|e| format!("ntp-load: {e}"))?;
    println!();
    println!("load generator: {result}");
    // After the barrage the daemon must still answer at once.
    let answers = crate::bench::probe(load, port, 5).is_ok();
    let settled = rss_after_warmup.unwrap_or(rss_max);
    let growth = rss_max.saturating_sub(settled);
    println!(
        "VmRSS: {start_rss} kB before the load, {rss_min}-{rss_max} kB during it, \
         {settled} kB after the {warmup} s warm-up: growth after warm-up {growth} kB \
         (bound {} kB); table peak {peak_entries} entries; answers after the soak: {}",
        o.max_growth_kb,
        if answers { "yes" } else { "NO" }
    );
    if !answers {
        return Err("ntpd stopped answering after the soak".into());
    }
    if growth > o.max_growth_kb {
        return Err(format!(
            "resident memory grew by {growth} kB after the warm-up, more than {} kB",
            o.max_growth_kb
        ));
    }
    Ok(())
}
