//! The daemon's life: start-up (configuration, log, pid file, sockets, privileges), the server
//! workers, and the ONE client-side thread (a tokio current-thread runtime) that drives the
//! engine with real UDP sockets, answers mode 6/7, writes the drift and statistics files and
//! handles signals. SIGTERM/SIGINT save the drift file and exit 0; SIGHUP re-resolves names.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use ntp_conf::{Config, RestrictTable, StatsKind as ConfStats};
use ntp_core::server::{finish, RateLimiter, SystemState, MAX_REPLY_LEN};
use ntp_core::{Action, Engine, MonoTime, SourceId, StatsKind};
use ntp_wire::NtpShort;
use tokio::io::Interest;
use tokio::sync::mpsc;

use crate::cli::{version_line, Args};
use crate::control::{Control, Inputs};
use crate::files::{read_drift, write_drift, write_pid, DriftRead};
use crate::log::{Level, Logger, Sink};
use crate::net::{self, Families};
use crate::rescan::{self, Listeners};
use crate::server::{
    classify, wall_clock, ControlDatagram, CounterTotals, KeyRing, ServerShared, Verdict,
    WorkerCounters,
};
use crate::setup;
use crate::startup::{self, FsLoader};

/// Polls without an answer after which a pool member is replaced (classic: 10, `NTP_UNREACH`).
const UNREACH_REPLACE: u32 = 10;

/// Run ntpd with a full command line; returns the process exit status.
pub fn main_with_args<I, T>(argv: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args = match Args::parse_from_os(argv) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 1 } else { 0 };
        }
    };
    if args.version {
        println!("{}", version_line());
        return 0;
    }
    if args.check_config {
        let (code, text) = ntp_conf::check_config_main(args.config_path(), &FsLoader);
        print!("{text}");
        return code;
    }
    match run(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ntpd: {e}");
            1
        }
    }
}

/// Everything the client thread owns.
struct Daemon {
    args: Args,
    config: Config,
    log: Arc<Logger>,
    engine: Engine,
    shared: Arc<ServerShared>,
    counters: Vec<Arc<WorkerCounters>>,
    observe_only: bool,
    clock: Option<ntp_clock::KernelClock>,
    drift_path: Option<PathBuf>,
    stats: Option<crate::stats::StatsWriter>,
    start: Instant,
    unresolved: Vec<setup::Unresolved>,
    source_tx: mpsc::Sender<SourceDatagram>,
    /// Associations that came from a `pool` line: (engine id, address, line index).
    pool_members: Vec<(SourceId, SocketAddr, usize)>,
    /// The reader task of each association's socket.
    readers: HashMap<SocketAddr, tokio::task::AbortHandle>,
    control_dropped: u64,
    /// Mode 6/7 state (responders, event counters, interfaces).
    control: Control,
    /// One socket per listening address, for control replies: a reply leaves from the
    /// address the request was sent to.
    reply_sockets: HashMap<SocketAddr, UdpSocket>,
    /// Server worker threads (0: served inline).
    workers: usize,
    /// The last hourly sysstats reset.
    stats_reset: crate::control::StatsReset,
    /// The leap file, re-read hourly, and the hours since start.
    leapfile: Option<crate::leapfile::Watch>,
    leap_hours: u64,
    /// The served addresses (one listener each), kept in step with the interfaces.
    listeners: Listeners,
    /// Notices steps of the clock made by someone else.
    stepwatch: crate::stepwatch::StepWatch,
}

/// The signal streams, created before serving starts.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

/// A reply from an upstream server on an association's own socket.
struct SourceDatagram {
    from: SocketAddr,
    bytes: Vec<u8>,
    rx: ntp_wire::NtpTimestamp,
}

fn run(args: Args) -> Result<(), String> {
    let loaded = startup::load(&args, &FsLoader).map_err(|e| e.to_string())?;
    let config = loaded.config;
    // `peer` lines without a trusted key are refused before anything starts.
    setup::check_peers(
        &config,
        &startup::trusted_keys(&config, loaded.keys.as_ref()),
    )?;
    let debug = args.debug_level();
    let level = if debug > 0 { Level::Debug } else { Level::Info };
    let log = Arc::new(match &config.logfile {
        Some(path) => {
            Logger::to_file(path, level).map_err(|e| format!("cannot open log file {path}: {e}"))?
        }
        None if args.nofork => Logger::new(Sink::Stderr, level),
        None => Logger::syslog(level),
    });
    for w in &config.warnings {
        log.log(Level::Warning, "config", &w.to_string());
    }
    if !args.nofork {
        // Detach as classic ntpd does; before any thread exists.
        nix::unistd::daemon(true, false).map_err(|e| format!("cannot detach: {e}"))?;
    }
    log.log(
        Level::Notice,
        "start",
        &format!("{} starting", version_line()),
    );
    if let Some(pid) = args.pidfile.as_ref().or(config.pidfile.as_ref()) {
        write_pid(std::path::Path::new(pid)).map_err(|e| format!("pid file: {e}"))?;
    }
    let drift_path = config.driftfile.as_ref().map(|d| PathBuf::from(&d.path));
    let drift_ppm = match drift_path.as_deref().map(read_drift) {
        Some(DriftRead::Ppm(p)) => Some(p),
        Some(DriftRead::Corrupt(why)) => {
            log.log(
                Level::Warning,
                "drift",
                &format!("ignoring drift file: {why}"),
            );
            None
        }
        _ => None,
    };
    // The leap file: read now (with the daily expiry report), then hourly and on SIGHUP.
    let mut leap_watch = config.leapfile.as_ref().map(crate::leapfile::Watch::new);
    let leap_schedule = leap_watch.as_mut().and_then(|w| {
        let (msgs, sched) = w.check(ntp_seconds(), true);
        for (level, m) in msgs {
            log.log(level, "leapfile", &m);
        }
        sched
    });
    let families = if args.ipv4 {
        Families::V4
    } else if args.ipv6 {
        Families::V6
    } else {
        Families::Both
    };
    let keys = startup::trusted_keys(&config, loaded.keys.as_ref());
    let seed = random_seed();
    let (sources, unresolved) = setup::sources(&config, &keys, families, &setup::SystemResolver);
    for u in &unresolved {
        log.log(
            Level::Warning,
            "dns",
            &format!("cannot resolve {}: {} (will retry)", u.name, u.reason),
        );
    }
    let engine_cfg = setup::engine_config(&config, &args, seed, drift_ppm);
    let (table, _) = RestrictTable::build(&config);
    let rate = setup::rate_limit_config(&config);
    let shared = Arc::new(ServerShared {
        system: RwLock::new(SystemState::default()),
        access: RwLock::new(Arc::new(table)),
        keys: RwLock::new(Arc::new(KeyRing::new(keys.clone()))),
        shutdown: Default::default(),
        limiter: RateLimiter::new(rate, (random_seed(), random_seed())),
        peers: RwLock::new(Arc::new(Vec::new())),
    });

    // Server sockets: per local address, one SO_REUSEPORT socket per worker.
    let threads = args
        .server_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let bound = rescan::bind_selected(
        &net::local_interfaces(families),
        &config.interfaces,
        &args.interface,
        args.port,
        &|ip| Listeners::copies_for(threads, args.server_threads.is_some(), ip),
        &log,
    );
    if bound.is_empty() {
        return Err(format!("no address to listen on (port {})", args.port));
    }
    // -N/-P priority, -i jail, -u drop (classic order).
    crate::privs::harden(&args, &log)?;

    let observe_only = setup::observe_only(&config);
    let clock = if observe_only {
        log.log(
            Level::Notice,
            "start",
            "disable ntp: observe-only, the clock is never adjusted",
        );
        None
    } else {
        let mut k = ntp_clock::KernelClock::new();
        // The engine disciplines the clock itself (frequency and steps); a kernel PLL left
        // on by another daemon would fight it.
        if let Err(e) = k.set_kernel_pll(false) {
            log.log(
                Level::Warning,
                "clock",
                &format!("cannot turn the kernel PLL off: {e}"),
            );
        }
        Some(k)
    };
    let mut stats = crate::stats::StatsWriter::from_config(&config, wall_clock().to_unix().0);
    if let Some(Err(e)) = stats.as_mut().map(|w| w.open_all(wall_clock().to_unix().0)) {
        log.log(Level::Warning, "stats", &e.to_string());
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    // Signal handlers exist before the first request is answered: a SIGTERM that arrives
    // as soon as the daemon serves must still save the drift file.
    let signals = rt.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        Ok::<_, std::io::Error>(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    });
    let signals = signals.map_err(|e| format!("signals: {e}"))?;
    // The system-call filter, on every thread, before the first request is served.
    crate::seccomp::apply(args.seccomp).map_err(|e| e.to_string())?;
    if args.seccomp != crate::seccomp::Mode::Off {
        let mode = format!("{:?}", args.seccomp).to_lowercase();
        log.log(
            Level::Info,
            "seccomp",
            &format!("system-call filter on ({mode})"),
        );
    }
    let (ctl_tx, ctl_rx) = mpsc::channel::<ControlDatagram>(1024);
    let (source_tx, source_rx) = mpsc::channel::<SourceDatagram>(1024);
    let start = Instant::now();
    let mut engine_cfg = engine_cfg;
    // rawstats lines come from the engine too.
    engine_cfg.statistics |= stats
        .as_ref()
        .is_some_and(|w| w.enabled(ConfStats::Rawstats));
    let mut engine = Engine::new(engine_cfg, Vec::new(), MonoTime::ZERO);
    if leap_schedule.is_some() {
        engine.set_leap_schedule(MonoTime::ZERO, wall_clock(), leap_schedule);
    }
    let listen: Vec<SocketAddr> = bound.iter().map(|b| b.addr).collect();
    let listeners = Listeners::new(
        args.port,
        threads,
        args.server_threads.is_some(),
        Arc::clone(&shared),
        ctl_tx.clone(),
        Arc::clone(&log),
        start,
    );
    let mut nonce_secret = [0u8; 16];
    nonce_secret[..8].copy_from_slice(&random_seed().to_le_bytes());
    nonce_secret[8..].copy_from_slice(&random_seed().to_le_bytes());
    let control = Control::new(&listen, nonce_secret, random_seed());
    let mut d = Daemon {
        args,
        config,
        log,
        engine,
        shared: Arc::clone(&shared),
        counters: Vec::new(),
        observe_only,
        clock,
        drift_path,
        stats,
        start,
        unresolved,
        source_tx,
        pool_members: Vec::new(),
        readers: HashMap::new(),
        control_dropped: 0,
        control,
        reply_sockets: HashMap::new(),
        workers: threads,
        stats_reset: Default::default(),
        leapfile: leap_watch,
        leap_hours: 0,
        listeners,
        stepwatch: Default::default(),
    };
    let result = rt.block_on(async move {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async move {
                // Listeners first: `peer` associations send from a listening socket.
                for b in bound {
                    d.listeners
                        .serve(b, &mut d.reply_sockets, &mut d.counters)
                        .map_err(|e| format!("cannot start a server thread: {e}"))?;
                }
                for (s, pool) in sources {
                    d.add_source(s, pool);
                }
                d.control.set_interfaces(&d.listeners.published());
                let result = d.main_loop(ctl_rx, source_rx, signals).await;
                Ok::<_, String>((result, d.listeners.stop_all()))
            })
            .await
    });
    shared.shutdown.store(true, Ordering::Relaxed);
    let (result, handles) = result?;
    for h in handles {
        let _ = h.join();
    }
    result
}

impl Daemon {
    fn mono(&self) -> MonoTime {
        MonoTime::from_secs_f64(self.start.elapsed().as_secs_f64())
    }

    fn add_source(&mut self, cfg: ntp_core::SourceConfig, pool: Option<usize>) -> SourceId {
        let addr = cfg.address;
        let local = matches!(cfg.kind, ntp_core::SourceKind::Local { .. });
        if cfg.is_symmetric() {
            return self.add_peer(cfg);
        }
        let now = self.mono();
        let id = self.engine.add_source(cfg.clone(), now);
        self.control.source_added(id, &cfg, pool.is_some());
        if !local {
            if let Some(p) = pool {
                self.pool_members.push((id, addr, p));
            }
            match net::client_socket(addr) {
                Ok(s) => {
                    let tx = self.source_tx.clone();
                    if let Some(h) = spawn_source_reader(s, addr, tx, Arc::clone(&self.log)) {
                        self.readers.insert(addr, h);
                    }
                }
                Err(e) => self.log.log(
                    Level::Warning,
                    "socket",
                    &format!("cannot open a socket for {addr}: {e}"),
                ),
            }
        }
        id
    }

    async fn main_loop(
        &mut self,
        mut ctl_rx: mpsc::Receiver<ControlDatagram>,
        mut source_rx: mpsc::Receiver<SourceDatagram>,
        signals: Signals,
    ) -> Result<(), String> {
        let Signals {
            mut term,
            mut int,
            mut hup,
        } = signals;
        let mut retry = tokio::time::interval(Duration::from_secs(60));
        let every = crate::stats::sysstats_interval();
        let mut sysstats = tokio::time::interval_at((Instant::now() + every).into(), every);
        let hour = Duration::from_secs(3600);
        let mut leap_hourly = tokio::time::interval_at((Instant::now() + hour).into(), hour);
        let mut scans = rescan::Schedule::new(
            self.args.updateinterval.unwrap_or(rescan::DEFAULT_INTERVAL),
            &self.log,
        );
        self.engine.handle_timeout(self.mono(), wall_clock());
        loop {
            self.drain_actions()?;
            self.publish();
            self.control.observe(&self.engine.snapshot());
            if self.args.quit && self.clock_was_set() {
                // -q: set the clock once (step or first update), save the drift, and quit.
                self.save_drift(self.engine.frequency());
                let s = self.engine.system_snapshot();
                self.log.log(
                    Level::Notice,
                    "quit",
                    &format!("ntpd: time set {:+.6}s", s.offset),
                );
                println!("ntpd: time set {:+.6}s", s.offset);
                return Ok(());
            }
            let deadline = self
                .engine
                .poll_timeout()
                .map(|t| self.start + Duration::from_secs_f64(t.as_secs_f64()))
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            let sleep = tokio::time::sleep_until(deadline.into());
            self.watch_for_outside_steps();
            tokio::select! {
                _ = sleep => {
                    let now = self.mono();
                    self.engine.handle_timeout(now, wall_clock());
                }
                Some(p) = source_rx.recv() => {
                    let now = self.mono();
                    if let Err(e) = self.engine.handle_datagram(now, p.from, &p.bytes, p.rx) {
                        self.log.log(Level::Debug, "sample", &format!("packet from {}: {e}", p.from));
                    }
                }
                Some(c) = ctl_rx.recv() => self.handle_control(c),
                _ = retry.tick() => self.retry_unresolved(),
                _ = sysstats.tick() => self.record_sys_stats(),
                _ = leap_hourly.tick() => self.check_leap_file(true),
                () = scans.due() => self.rescan_interfaces(),
                _ = hup.recv() => {
                    self.log.log(Level::Notice, "signal", "SIGHUP: re-resolving names");
                    self.retry_unresolved();
                    self.check_leap_file(false);
                }
                _ = term.recv() => return self.shutdown("SIGTERM"),
                _ = int.recv() => return self.shutdown("SIGINT"),
            }
        }
    }

    /// True once the engine has made its first clock update from a real source (a step or a
    /// discipline update), which is when classic `ntpd -q` exits.
    fn clock_was_set(&self) -> bool {
        let s = self.engine.system_snapshot();
        s.steps > 0 || (s.updates > 0 && s.stratum < 16)
    }

    fn shutdown(&mut self, why: &str) -> Result<(), String> {
        self.save_drift(self.engine.frequency());
        self.log.log(
            Level::Notice,
            "signal",
            &format!("ntpd exiting on signal ({why})"),
        );
        Ok(())
    }

    fn save_drift(&self, ppm: f64) {
        if let Some(p) = &self.drift_path {
            if let Err(e) = write_drift(p, ppm) {
                self.log.log(
                    Level::Error,
                    "drift",
                    &format!("cannot write drift file: {e}"),
                );
            }
        }
    }

    /// F10: real time jumped against monotonic time without a step of ours.
    fn watch_for_outside_steps(&mut self) {
        let (m, r) = crate::stepwatch::read_pair(self.start);
        match self.stepwatch.observe(m, r) {
            crate::stepwatch::Seen::Steady => {}
            crate::stepwatch::Seen::LeapSecond(d) => self.log.log(
                Level::Notice,
                "leap",
                &format!("leap second executed by the kernel ({d:+.3} s)"),
            ),
            crate::stepwatch::Seen::OutsideStep(d) => {
                self.log.log(
                    Level::Warning,
                    "step",
                    &format!(
                        "clock stepped by {d:+.6} s by another program; measurements restarted"
                    ),
                );
                self.engine.handle_clock_step(self.mono(), d);
            }
        }
    }

    fn drain_actions(&mut self) -> Result<(), String> {
        while let Some(a) = self.engine.poll_action() {
            match a {
                Action::Send { to, bytes, .. } => self.send_to_source(to, &bytes),
                Action::Clock(c) => {
                    if let Some(clock) = self.clock.as_mut() {
                        if let Err(e) = c.apply(clock) {
                            self.log.log(
                                Level::Error,
                                "clock",
                                &format!("clock adjustment failed: {e}"),
                            );
                        }
                        match c {
                            ntp_core::ClockAction::Step(_) => {
                                let (m, r) = crate::stepwatch::read_pair(self.start);
                                self.stepwatch.stepped_by_us(m, r);
                            }
                            ntp_core::ClockAction::SetStatus(st) => self
                                .stepwatch
                                .set_leap_armed(st.leap != ntp_core::LeapStatus::None),
                            _ => {}
                        }
                    }
                }
                Action::Stats(line) => self.write_stats(line.kind, &line.line),
                Action::SaveFrequency(ppm) => self.save_drift(ppm),
                Action::Panic { offset } => {
                    let msg = format!(
                        "time correction of {offset:.0} seconds exceeds sanity limit ({}); set clock manually to the correct UTC time.",
                        self.engine_panic_limit()
                    );
                    self.log.log(Level::Error, "panic", &msg);
                    if !self.observe_only {
                        return Err(msg);
                    }
                }
            }
        }
        Ok(())
    }

    fn engine_panic_limit(&self) -> f64 {
        self.config.tinker.panic.unwrap_or(1000.0)
    }

    fn send_to_source(&mut self, to: SocketAddr, bytes: &[u8]) {
        if self.send_to_peer(to, bytes) {
            return;
        }
        // Each association has its own connected socket, owned by its reader task; sending
        // goes through a fresh send on a clone kept in the registry.
        if let Some(s) =
            SOURCE_SOCKETS.with(|m| m.borrow().get(&to).and_then(|s| s.try_clone().ok()))
        {
            if let Err(e) = s.send(bytes) {
                self.log
                    .log(Level::Debug, "send", &format!("send to {to} failed: {e}"));
            }
        }
    }

    fn write_stats(&mut self, kind: StatsKind, line: &str) {
        let (kind, line) = match kind {
            StatsKind::Loop => (ConfStats::Loopstats, line.to_owned()),
            StatsKind::Peer => (ConfStats::Peerstats, line.to_owned()),
            StatsKind::Raw => (
                ConfStats::Rawstats,
                crate::stats::raw_with_destination(line, &source_local_addrs()),
            ),
        };
        let Some(w) = self.stats.as_mut() else { return };
        if let Err(e) = w.write(kind, &line, wall_clock().to_unix().0) {
            self.log.log(Level::Warning, "stats", &e.to_string());
        }
    }

    /// Classic's hourly leap file check (`check_leap_file()`), daily expiry report every 24th
    /// hour; `hourly` is false for a SIGHUP re-read.
    fn check_leap_file(&mut self, hourly: bool) {
        let Some(w) = self.leapfile.as_mut() else {
            return;
        };
        if hourly {
            self.leap_hours += 1;
        }
        let daily = hourly && self.leap_hours % 24 == 0;
        let (msgs, sched) = w.check(ntp_seconds(), daily);
        for (level, m) in msgs {
            self.log.log(level, "leapfile", &m);
        }
        if let Some(s) = sched {
            self.engine
                .set_leap_schedule(self.mono(), wall_clock(), Some(s));
        }
    }

    /// Classic's hourly `record_sys_stats()`: the counters since the last reset, then reset
    /// them (`proto_clr_stats()`), which mode 6/7 `sysstats` see as well.
    fn record_sys_stats(&mut self) {
        // Classic clears the counters only when the line was written (sysstats enabled).
        if !self
            .stats
            .as_ref()
            .is_some_and(|w| w.enabled(ConfStats::Sysstats))
        {
            return;
        }
        let now_mono = self.mono().as_secs_f64();
        let now = crate::control::sys_counters(&self.totals(), &self.engine.snapshot());
        let since = crate::control::counters_since(&now, &self.stats_reset.base);
        let secs = (now_mono - self.stats_reset.at_mono).max(0.0).round() as u64;
        let line = crate::stats::sysstats_line(wall_clock(), secs, &since);
        if let Some(w) = self.stats.as_mut() {
            if let Err(e) = w.write(ConfStats::Sysstats, &line, wall_clock().to_unix().0) {
                self.log.log(Level::Warning, "stats", &e.to_string());
            }
            self.stats_reset = crate::control::StatsReset {
                at_mono: now_mono,
                base: now,
            };
        }
    }

    /// Publish what replies advertise, for the server workers.
    fn publish(&self) {
        crate::metrics::publish(&self.config, &self.engine, &self.counters, &self.log);
        let s = self.engine.system_snapshot();
        let state = SystemState {
            leap: s.served_leap,
            stratum: s.stratum,
            precision: s.precision,
            root_delay: NtpShort::from_seconds_f64(s.root_delay),
            // Aged at PHI since the last clock update, so a server whose upstreams are gone
            // advertises a growing dispersion instead of a frozen one.
            root_dispersion: NtpShort::from_seconds_f64(
                s.root_dispersion
                    + s.last_update
                        .map_or(0.0, |t| 15e-6 * self.mono().secs_since(t).max(0.0)),
            ),
            reference_id: s.refid,
            reference_timestamp: s.reftime,
        };
        let mut g = self
            .shared
            .system
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if *g != state {
            *g = state;
        }
    }

    fn families(&self) -> Families {
        if self.args.ipv4 {
            Families::V4
        } else if self.args.ipv6 {
            Families::V6
        } else {
            Families::Both
        }
    }

    fn in_use(&self) -> Vec<SocketAddr> {
        self.engine
            .snapshot()
            .sources
            .iter()
            .map(|s| s.address)
            .collect()
    }

    /// Resolve the names that failed before, and replace pool members that have been
    /// unreachable for a while by other addresses of their pool.
    fn retry_unresolved(&mut self) {
        let keys = self
            .shared
            .keys
            .read()
            .map(|k| k.keys().to_vec())
            .unwrap_or_default();
        // Pool members silent for UNREACH_REPLACE polls in a row make room for new ones.
        let snap = self.engine.snapshot();
        let mut pools = Vec::new();
        self.pool_members.retain(|&(id, addr, pool)| {
            let dead = snap
                .sources
                .iter()
                .any(|s| s.id == id && s.reach == 0 && s.unreach >= UNREACH_REPLACE);
            if dead {
                pools.push((id, addr, pool));
            }
            !dead
        });
        for &(id, addr, pool) in &pools {
            self.engine.remove_source(id);
            if let Some(h) = self.readers.remove(&addr) {
                h.abort();
            }
            SOURCE_SOCKETS.with(|m| m.borrow_mut().remove(&addr));
            self.log.log(
                Level::Notice,
                "pool",
                &format!("pool member {addr} unreachable; looking for a replacement"),
            );
            if !self.unresolved.iter().any(|u| u.index == pool) {
                self.unresolved.push(setup::Unresolved {
                    index: pool,
                    name: String::new(),
                    reason: "replacing an unreachable member".into(),
                });
            }
        }
        if self.unresolved.is_empty() {
            return;
        }
        let pending: Vec<usize> = self.unresolved.iter().map(|u| u.index).collect();
        let mut exclude = self.in_use();
        exclude.extend(pools.iter().map(|&(_, a, _)| a));
        let (sources, failed) = setup::sources_for(
            &self.config,
            &pending,
            &exclude,
            &keys,
            self.families(),
            &setup::SystemResolver,
        );
        // A replacement takes one new address per removed member.
        let mut budget: HashMap<usize, usize> = HashMap::new();
        for &(_, _, p) in &pools {
            *budget.entry(p).or_default() += 1;
        }
        for (s, pool) in sources {
            if let Some(p) = pool {
                if let Some(b) = budget.get_mut(&p) {
                    if *b == 0 {
                        continue;
                    }
                    *b -= 1;
                }
            }
            self.log.log(
                Level::Notice,
                "dns",
                &format!("new association {}", s.address),
            );
            self.add_source(s, pool);
        }
        self.unresolved = failed;
    }

    fn handle_control(&mut self, c: ControlDatagram) {
        let first = c.data.first().copied().unwrap_or(0);
        let mode = first & 7;
        if mode == 1 || mode == 2 {
            self.handle_peer_datagram(c);
            return;
        }
        if mode == 6 || mode == 7 {
            let now = self.mono().as_secs_f64();
            // Control queries are MRU rows too (classic monitors every mode); never limited.
            self.shared
                .limiter
                .account(c.from, mode, (first >> 3) & 7, now, false);
            let table = Arc::clone(&self.shared.access.read().unwrap_or_else(|e| e.into_inner()));
            if !Control::admits(&c, &table, &self.config) {
                return;
            }
            let snapshot = self.engine.snapshot();
            let totals = self.totals();
            let keys = Arc::clone(&self.shared.keys.read().unwrap_or_else(|e| e.into_inner()));
            let source_locals = source_local_addrs();
            let inputs = Inputs {
                snapshot: &snapshot,
                now_mono: now,
                wall: wall_clock(),
                totals: &totals,
                table: &table,
                keys: &keys,
                limiter: &self.shared.limiter,
                config: &self.config,
                observe_only: self.observe_only,
                workers: self.workers,
                source_locals: &source_locals,
                stats_reset: &self.stats_reset,
            };
            let replies = self.control.handle(&c, &inputs);
            if replies.is_empty() {
                return;
            }
            let Some(sock) = self.reply_sockets.get(&c.local) else {
                self.log.log(
                    Level::Debug,
                    "control",
                    &format!("no socket for {} to reply from", c.local),
                );
                return;
            };
            for r in replies {
                if let Err(e) = sock.send_to(&r, c.from) {
                    self.log.log(
                        Level::Debug,
                        "control",
                        &format!("reply to {} failed: {e}", c.from),
                    );
                    break;
                }
            }
            return;
        }
        self.control_dropped += 1;
        self.log.log(
            Level::Debug,
            "control",
            &format!(
                "mode {} datagram from {} not handled",
                c.data.first().map_or(0, |b| b & 7),
                c.from
            ),
        );
    }

    /// Follow the machine's addresses (classic interface update): serve new ones, close
    /// vanished ones, republish the list for ntpq/ntpdc.
    fn rescan_interfaces(&mut self) {
        let current = net::local_interfaces(self.families());
        if self.listeners.rescan(
            &current,
            &self.config.interfaces,
            &self.args.interface,
            &mut self.reply_sockets,
            &mut self.counters,
        ) {
            self.control.set_interfaces(&self.listeners.published());
        }
    }

    /// Sum of every server worker's counters.
    fn totals(&self) -> CounterTotals {
        CounterTotals::sum(&self.counters)
    }
}

thread_local! {
    /// The association sockets, by server address (the client side is one thread).
    static SOURCE_SOCKETS: std::cell::RefCell<HashMap<SocketAddr, UdpSocket>> =
        std::cell::RefCell::new(HashMap::new());
}

/// The local address of each association's socket, by server address.
fn source_local_addrs() -> HashMap<SocketAddr, SocketAddr> {
    let mut m: HashMap<SocketAddr, SocketAddr> = SOURCE_SOCKETS.with(|m| {
        m.borrow()
            .iter()
            .filter_map(|(server, s)| Some((*server, s.local_addr().ok()?)))
            .collect()
    });
    PEER_LOCALS.with(|p| m.extend(p.borrow().iter().map(|(a, l)| (*a, *l))));
    m
}

fn spawn_source_reader(
    sock: UdpSocket,
    server: SocketAddr,
    tx: mpsc::Sender<SourceDatagram>,
    log: Arc<Logger>,
) -> Option<tokio::task::AbortHandle> {
    if let Ok(c) = sock.try_clone() {
        SOURCE_SOCKETS.with(|m| m.borrow_mut().insert(server, c));
    }
    let Ok(sock) = tokio::net::UdpSocket::from_std(sock) else {
        log.log(
            Level::Warning,
            "socket",
            &format!("cannot register socket for {server}"),
        );
        return None;
    };
    let task = tokio::task::spawn_local(async move {
        let mut buf = [0u8; 1024];
        loop {
            let r = sock
                .async_io(Interest::READABLE, || {
                    net::recv_timestamped(sock.as_raw_fd(), &mut buf)
                })
                .await;
            match r {
                Ok((n, from, ts)) => {
                    let d = SourceDatagram {
                        from: from.unwrap_or(server),
                        bytes: buf[..n.min(buf.len())].to_vec(),
                        rx: ts.unwrap_or_else(wall_clock),
                    };
                    if tx.send(d).await.is_err() {
                        return;
                    }
                }
                // ICMP port unreachable on a connected socket: the server is down; the reach
                // register will show it. Keep reading.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    Some(task.abort_handle())
}

/// Single-threaded mode (`--server-threads 0`): serve mode 3 from the client thread, until
/// the returned handle aborts the task (which closes the socket).
pub(crate) fn spawn_inline_server(
    sock: UdpSocket,
    shared: Arc<ServerShared>,
    counters: Arc<WorkerCounters>,
    ctl: mpsc::Sender<ControlDatagram>,
) -> Option<tokio::task::AbortHandle> {
    let local = sock.local_addr().ok();
    let Ok(sock) = tokio::net::UdpSocket::from_std(sock) else {
        return None;
    };
    let task = tokio::task::spawn_local(async move {
        let start = Instant::now();
        let mut buf = [0u8; crate::server::RECV_BUF];
        let mut out = [0u8; MAX_REPLY_LEN];
        loop {
            let r = sock
                .async_io(Interest::READABLE, || {
                    net::recv_timestamped(sock.as_raw_fd(), &mut buf)
                })
                .await;
            let Ok((n, Some(from), ts)) = r else {
                continue;
            };
            counters.received.fetch_add(1, Ordering::Relaxed);
            let rx = ts.unwrap_or_else(wall_clock);
            let data = &buf[..n.min(buf.len())];
            let system = *shared.system.read().unwrap_or_else(|e| e.into_inner());
            let table = Arc::clone(&shared.access.read().unwrap_or_else(|e| e.into_inner()));
            let keys = Arc::clone(&shared.keys.read().unwrap_or_else(|e| e.into_inner()));
            match classify(
                data,
                from,
                rx,
                start.elapsed().as_secs_f64(),
                &table,
                &system,
                &shared.limiter,
                &*keys,
                &shared.peers.read().unwrap_or_else(|e| e.into_inner()),
                &mut out,
            ) {
                Verdict::Respond(resp) => {
                    if let Some(len) = finish(&mut out, resp, wall_clock(), &*keys) {
                        let _ = sock.try_send_to(&out[..len], from);
                        counters.replies.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Verdict::Drop(reason) => {
                    counters.drops[reason.index()].fetch_add(1, Ordering::Relaxed);
                }
                Verdict::Forward => {
                    let d = ControlDatagram {
                        data: data.to_vec(),
                        from,
                        local: local.unwrap_or(from),
                        rx,
                    };
                    if ctl.try_send(d).is_ok() {
                        counters.forwarded.fetch_add(1, Ordering::Relaxed);
                    } else {
                        counters.forward_overflow.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    });
    Some(task.abort_handle())
}

/// The wall clock in NTP seconds (era-resolved).
fn ntp_seconds() -> i64 {
    wall_clock().to_unix().0 + ntp_core::leap::NTP_UNIX_OFFSET
}

thread_local! {
    /// The listening address each `peer` association's packets leave from, by peer address.
    static PEER_LOCALS: std::cell::RefCell<HashMap<SocketAddr, SocketAddr>> =
        std::cell::RefCell::new(HashMap::new());
}

/// Symmetric (`peer`) associations: no socket of their own. Classic peers match on our
/// address and port, so their packets leave from the server socket of a listening address,
/// and theirs arrive there (forwarded by the workers for configured peers only).
impl Daemon {
    fn add_peer(&mut self, mut cfg: ntp_core::SourceConfig) -> SourceId {
        let local = self.peer_local(cfg.address);
        cfg.kind = ntp_core::SourceKind::Symmetric {
            local_refid: local.map(|l| ntp_wire::RefId::from_ip(l.ip())),
        };
        if local.is_none() {
            self.log.log(
                Level::Warning,
                "peer",
                &format!("no listening address to reach peer {} from", cfg.address),
            );
        }
        {
            let mut g = self.shared.peers.write().unwrap_or_else(|e| e.into_inner());
            let mut v = (**g).clone();
            v.push(cfg.address);
            *g = Arc::new(v);
        }
        let id = self.engine.add_source(cfg.clone(), self.mono());
        self.control.source_added(id, &cfg, false);
        id
    }

    /// The listening address packets to peer `to` leave from: the one chosen before while it
    /// is still listening, else a new choice (an interface rescan may have closed the old one,
    /// or none was listening when the peer was added), recorded for next time.
    fn peer_local(&self, to: SocketAddr) -> Option<SocketAddr> {
        let known = PEER_LOCALS
            .with(|m| m.borrow().get(&to).copied())
            .filter(|l| self.reply_sockets.contains_key(l));
        known.or_else(|| {
            let listening: Vec<SocketAddr> = self.reply_sockets.keys().copied().collect();
            let l = net::peer_local(to, &listening)?;
            PEER_LOCALS.with(|m| m.borrow_mut().insert(to, l));
            Some(l)
        })
    }

    /// Send to a peer from its listening socket; false when `to` is not a peer.
    fn send_to_peer(&self, to: SocketAddr, bytes: &[u8]) -> bool {
        let is_peer = self.shared.peers.read().is_ok_and(|p| p.contains(&to));
        if !is_peer {
            return false;
        }
        let sock = self.peer_local(to).and_then(|l| self.reply_sockets.get(&l));
        if let Some(Err(e)) = sock.map(|s| s.send_to(bytes, to)) {
            self.log.log(
                Level::Debug,
                "send",
                &format!("send to peer {to} failed: {e}"),
            );
        }
        true
    }

    /// A mode 1/2 packet from a configured peer (the workers forward no others).
    fn handle_peer_datagram(&mut self, c: ControlDatagram) {
        match self
            .engine
            .handle_datagram(self.mono(), c.from, &c.data, c.rx)
        {
            Ok(()) => {
                // Answer from where the peer reaches us.
                if self.reply_sockets.contains_key(&c.local) {
                    PEER_LOCALS.with(|m| m.borrow_mut().insert(c.from, c.local));
                }
            }
            Err(e) => self.log.log(
                Level::Debug,
                "peer",
                &format!("packet from peer {}: {e}", c.from),
            ),
        }
    }
}

/// 64 random bits from the kernel (getrandom through /dev/urandom), for the engine seed and
/// the rate-limit hash key.
fn random_seed() -> u64 {
    use std::io::Read;
    let mut b = [0u8; 8];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_err()
    {
        // No urandom (a broken chroot): fall back to time and pid, still unpredictable enough
        // for poll jitter but logged by the caller's tests via distinct seeds.
        let t = wall_clock().to_bits();
        return t ^ (u64::from(std::process::id()) << 32);
    }
    u64::from_le_bytes(b)
}
