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
use crate::net::{self, Families, SocketOptions};
use crate::server::{
    classify, run_worker, wall_clock, ControlDatagram, CounterTotals, KeyRing, ServerShared,
    Verdict, WorkerCounters,
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
    if let Some(lf) = &config.leapfile {
        let now_ntp = u64::from(wall_clock().seconds());
        match std::fs::read_to_string(&lf.path)
            .map_err(|e| e.to_string())
            .and_then(|t| crate::leapfile::parse(&t).map_err(|e| e.to_string()))
        {
            Ok(t) => {
                let (ofs, _) = t.offset_at(now_ntp);
                let hash = if t.hash_ok == Some(true) {
                    "good hash signature"
                } else {
                    "no hash signature"
                };
                log.log(
                    Level::Info,
                    "leapfile",
                    &format!(
                        "leapsecond file ('{}'): {hash}, {} entries, TAI offset {ofs}",
                        lf.path,
                        t.entries.len()
                    ),
                );
                if t.expired(now_ntp) {
                    log.log(
                        Level::Warning,
                        "leapfile",
                        &format!("leapsecond file ('{}'): expired, update it", lf.path),
                    );
                }
            }
            Err(e) => log.log(
                Level::Warning,
                "leapfile",
                &format!("leapsecond file ('{}'): {e}", lf.path),
            ),
        }
    }
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
    let rate = ntp_core::server::RateLimitConfig {
        average_log2: config.discard.average.unwrap_or(3),
        minimum_secs: config.discard.minimum.unwrap_or(2),
        ..Default::default()
    };
    let shared = Arc::new(ServerShared {
        system: RwLock::new(SystemState::default()),
        access: RwLock::new(Arc::new(table)),
        keys: RwLock::new(Arc::new(KeyRing::new(keys.clone()))),
        shutdown: Default::default(),
        limiter: RateLimiter::new(rate, (random_seed(), random_seed())),
    });

    // Server sockets: one per local address per worker (SO_REUSEPORT).
    let threads = args
        .server_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let addrs = net::select_addresses(
        &net::local_interfaces(families),
        &config.interfaces,
        &args.interface,
    );
    let mut per_worker: Vec<Vec<UdpSocket>> = (0..threads.max(1)).map(|_| Vec::new()).collect();
    let mut reply_sockets = HashMap::new();
    for ip in &addrs {
        let sa = SocketAddr::new(*ip, args.port);
        // Another daemon may hold this address, possibly with SO_REUSEPORT itself, which our
        // REUSEPORT sockets would silently join (splitting its traffic with ours). A plain
        // bind first tells: it fails whenever anyone else is bound there.
        let probe = SocketOptions {
            reuse_port: false,
            timestamps: false,
            nonblocking: true,
        };
        if let Err(e) = net::udp_socket(sa, probe) {
            log.log(
                Level::Warning,
                "bind",
                &format!("cannot listen on {sa}: {e}"),
            );
            continue;
        }
        for (w, list) in per_worker.iter_mut().enumerate() {
            let opts = SocketOptions {
                reuse_port: true,
                timestamps: true,
                nonblocking: true,
            };
            match net::udp_socket(sa, opts) {
                Ok(s) => {
                    if w == 0 {
                        if let Ok(c) = s.try_clone() {
                            reply_sockets.insert(sa, c);
                        }
                    }
                    list.push(s);
                }
                Err(e) => {
                    log.log(
                        Level::Warning,
                        "bind",
                        &format!("cannot listen on {sa}: {e}"),
                    );
                    break;
                }
            }
        }
    }
    if reply_sockets.is_empty() {
        return Err(format!("no address to listen on (port {})", args.port));
    }
    for sa in reply_sockets.keys() {
        log.log(Level::Info, "bind", &format!("Listen normally on {sa}"));
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
    let stats = crate::stats::StatsWriter::from_config(&config, wall_clock().to_unix().0);

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
    let mut counters = Vec::new();
    let mut handles = Vec::new();
    let mut main_thread_sockets = Vec::new();
    if threads == 0 {
        main_thread_sockets = per_worker.pop().unwrap_or_default();
    } else {
        for list in per_worker {
            let c = Arc::new(WorkerCounters::default());
            counters.push(Arc::clone(&c));
            let sh = Arc::clone(&shared);
            let tx = ctl_tx.clone();
            handles.push(
                std::thread::Builder::new()
                    .name("ntpd-server".into())
                    .spawn(move || run_worker(list, sh, c, Some(tx)))
                    .map_err(|e| format!("cannot start a server thread: {e}"))?,
            );
        }
    }
    let start = Instant::now();
    let engine = Engine::new(engine_cfg, Vec::new(), MonoTime::ZERO);
    let listen: Vec<SocketAddr> = reply_sockets.keys().copied().collect();
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
        counters,
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
        reply_sockets,
        workers: threads,
    };
    let result = rt.block_on(async move {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async move {
                for (s, pool) in sources {
                    d.add_source(s, pool);
                }
                if !main_thread_sockets.is_empty() {
                    let c = Arc::new(WorkerCounters::default());
                    d.counters.push(Arc::clone(&c));
                    for s in main_thread_sockets {
                        spawn_inline_server(
                            s,
                            Arc::clone(&d.shared),
                            Arc::clone(&c),
                            ctl_tx.clone(),
                        );
                    }
                }
                d.main_loop(ctl_rx, source_rx, signals).await
            })
            .await
    });
    shared.shutdown.store(true, Ordering::Relaxed);
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
                _ = hup.recv() => {
                    self.log.log(Level::Notice, "signal", "SIGHUP: re-resolving names");
                    self.retry_unresolved();
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
        let kind = match kind {
            StatsKind::Loop => ConfStats::Loopstats,
            StatsKind::Peer => ConfStats::Peerstats,
        };
        let Some(w) = self.stats.as_mut() else { return };
        if let Err(e) = w.write(kind, line, wall_clock().to_unix().0) {
            self.log.log(Level::Warning, "stats", &e.to_string());
        }
    }

    /// Publish what replies advertise, for the server workers.
    fn publish(&self) {
        crate::metrics::publish(&self.config, &self.engine, &self.counters, &self.log);
        let s = self.engine.system_snapshot();
        let state = SystemState {
            leap: s.leap,
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
                mru: self.shared.limiter.mru_entries(),
                mru_capacity: self.shared.limiter.capacity(),
                config: &self.config,
                observe_only: self.observe_only,
                workers: self.workers,
                source_locals: &source_locals,
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
    SOURCE_SOCKETS.with(|m| {
        m.borrow()
            .iter()
            .filter_map(|(server, s)| Some((*server, s.local_addr().ok()?)))
            .collect()
    })
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

/// Single-threaded mode (`--server-threads 0`): serve mode 3 from the client thread.
fn spawn_inline_server(
    sock: UdpSocket,
    shared: Arc<ServerShared>,
    counters: Arc<WorkerCounters>,
    ctl: mpsc::Sender<ControlDatagram>,
) {
    let local = sock.local_addr().ok();
    let Ok(sock) = tokio::net::UdpSocket::from_std(sock) else {
        return;
    };
    tokio::task::spawn_local(async move {
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
