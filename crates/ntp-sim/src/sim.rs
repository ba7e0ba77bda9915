//! The simulator proper: scenario description, event loop and measurements.

use std::collections::BinaryHeap;
use std::net::SocketAddr;

use ntp_clock::SimulatedClock;
use ntp_core::{Action, Clock, Engine, EngineConfig, MonoTime, Snapshot, SourceConfig, SplitMix64};
use ntp_wire::{LeapIndicator, Mode, NtpDuration, NtpHeader, NtpShort, NtpTimestamp, RefId};

/// Distribution of the random part of a one-way delay (scaled by [`PathSpec::jitter`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distribution {
    /// Exponential with mean 1.
    Exponential,
    /// Uniform on [0, 1).
    Uniform,
    /// Absolute value of a standard normal.
    HalfNormal,
}

/// A network path between the client and one server.
#[derive(Debug, Clone, PartialEq)]
pub struct PathSpec {
    /// Fixed delay in each direction, seconds.
    pub base_delay: f64,
    /// Scale of the random part, seconds.
    pub jitter: f64,
    /// Shape of the random part.
    pub distribution: Distribution,
    /// Extra fixed delay on the client-to-server direction only, seconds (asymmetry).
    pub asymmetry: f64,
    /// Probability that a datagram (either direction) is lost.
    pub loss: f64,
    /// True-time windows `[from, to)` in which nothing gets through.
    pub outages: Vec<(f64, f64)>,
}

impl PathSpec {
    /// A symmetric path: `base` each way plus `jitter * Exp(1)`.
    pub fn exponential(base: f64, jitter: f64) -> Self {
        PathSpec {
            base_delay: base,
            jitter,
            distribution: Distribution::Exponential,
            asymmetry: 0.0,
            loss: 0.0,
            outages: Vec::new(),
        }
    }
}

/// How a server answers requests arriving too fast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KodBehaviour {
    /// Always answers.
    None,
    /// Answers with a RATE kiss-o'-death (poll field `poll`) to requests less than
    /// `min_interval` seconds after the previous one.
    Rate {
        /// Minimum spacing it tolerates, seconds.
        min_interval: f64,
        /// The poll it asks for, log2 s.
        poll: i8,
    },
}

/// A simulated server.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSpec {
    /// Its address.
    pub address: SocketAddr,
    /// Its clock minus UTC, seconds (a falseticker has a large one).
    pub offset: f64,
    /// Its stratum.
    pub stratum: u8,
    /// Network path to it.
    pub path: PathSpec,
    /// Rate limiting.
    pub kod: KodBehaviour,
    /// True-time windows in which the server is down (no answer).
    pub down: Vec<(f64, f64)>,
    /// True-time windows in which it answers unsynchronised (LI=3, stratum 16), as after a
    /// restart.
    pub unsynchronized: Vec<(f64, f64)>,
    /// Announce this many seconds before the scenario's leap second (None: does not know).
    pub leap_announce: Option<f64>,
}

impl ServerSpec {
    /// A stratum-1 server with a perfect clock at `192.0.2.n`.
    pub fn perfect(n: u8, path: PathSpec) -> Self {
        ServerSpec {
            address: SocketAddr::from(([192, 0, 2, n], 123)),
            offset: 0.0,
            stratum: 1,
            path,
            kod: KodBehaviour::None,
            down: Vec::new(),
            unsynchronized: Vec::new(),
            leap_announce: Some(86_400.0),
        }
    }
}

/// The client's oscillator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockSpec {
    /// Initial offset (clock minus UTC), seconds.
    pub offset: f64,
    /// Initial frequency error, ppm.
    pub frequency_ppm: f64,
    /// Random-walk wander per second (s/s).
    pub wander: f64,
}

/// A complete, reproducible simulation setup.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Seed for network and clock randomness (the engine's seed is in `engine`).
    pub seed: u64,
    /// Unix time of the start (UTC).
    pub start_unix: i64,
    /// The client's clock.
    pub clock: ClockSpec,
    /// Servers.
    pub servers: Vec<ServerSpec>,
    /// Engine configuration.
    pub engine: EngineConfig,
    /// Association options applied to every server (address replaced).
    pub source: SourceConfig,
    /// Extra sources (e.g. the local clock driver).
    pub extra_sources: Vec<SourceConfig>,
    /// True time of a leap second to insert (must be a UTC midnight), seconds from start.
    pub leap_at: Option<f64>,
    /// Simulated duration, seconds.
    pub duration: f64,
    /// Offsets are accumulated into the statistics after this many seconds.
    pub warmup: f64,
    /// Server processing time, seconds.
    pub processing: f64,
}

impl Scenario {
    /// One perfect server over `path`, a client clock per `clock`, default engine settings.
    pub fn single(seed: u64, path: PathSpec, clock: ClockSpec, duration: f64) -> Self {
        let server = ServerSpec::perfect(1, path);
        let mut source = SourceConfig::server(server.address);
        source.iburst = true;
        Scenario {
            seed,
            start_unix: 1_800_000_000,
            clock,
            servers: vec![server],
            engine: EngineConfig {
                seed: seed ^ 0x5EED,
                ..EngineConfig::default()
            },
            source,
            extra_sources: Vec::new(),
            leap_at: None,
            duration,
            warmup: 0.0,
            processing: 10e-6,
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct SimResult {
    /// RMS of (clock - UTC) sampled every second after the warm-up, seconds.
    pub rms_offset: f64,
    /// Largest |clock - UTC| after the warm-up, seconds.
    pub max_abs_offset: f64,
    /// Clock - UTC at the end, seconds.
    pub final_offset: f64,
    /// Steps the engine made.
    pub steps: u64,
    /// Offsets the engine refused with a panic.
    pub panics: Vec<f64>,
    /// Leap seconds the client clock executed.
    pub leaps: u64,
    /// Requests sent to each server.
    pub requests: Vec<u64>,
    /// Shortest spacing between two requests to each server after the first minute, seconds.
    pub min_request_interval: Vec<f64>,
    /// KoD packets sent by each server.
    pub kods_sent: Vec<u64>,
    /// Frequency saves requested.
    pub frequency_saves: usize,
    /// The engine's final state.
    pub snapshot: Snapshot,
    /// The oscillator's final own frequency error, ppm.
    pub clock_frequency_error: f64,
    /// (true time, clock - UTC, engine frequency ppm, system poll) samples, when traced.
    pub trace: Vec<(f64, f64, f64, i8)>,
}

#[derive(Debug, PartialEq)]
struct InFlight {
    at: f64,
    seq: u64,
    from: SocketAddr,
    bytes: Vec<u8>,
}

impl Eq for InFlight {}
impl Ord for InFlight {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        // BinaryHeap is a max-heap: reverse for earliest first, ties by sequence.
        o.at.total_cmp(&self.at).then(o.seq.cmp(&self.seq))
    }
}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

fn inside(windows: &[(f64, f64)], t: f64) -> bool {
    windows.iter().any(|&(a, b)| t >= a && t < b)
}

/// A running simulation.
pub struct Simulation {
    sc: Scenario,
    engine: Engine,
    clock: SimulatedClock,
    rng: SplitMix64,
    start: NtpTimestamp,
    flight: BinaryHeap<InFlight>,
    seq: u64,
    last_request: Vec<Option<f64>>,
    result: SimResult,
    sum_sq: f64,
    count: u64,
    trace: Option<Vec<(f64, f64, f64, i8)>>,
    trace_every: f64,
}

impl Simulation {
    /// Set up a scenario.
    pub fn new(sc: Scenario) -> Self {
        let start = NtpTimestamp::from_unix(sc.start_unix, 0);
        let clock = SimulatedClock::new(start, sc.seed.wrapping_mul(0x9E37_79B9))
            .with_offset(sc.clock.offset)
            .with_frequency_error(sc.clock.frequency_ppm)
            .with_wander(sc.clock.wander);
        let mut sources: Vec<SourceConfig> = sc
            .servers
            .iter()
            .map(|s| SourceConfig {
                address: s.address,
                ..sc.source.clone()
            })
            .collect();
        sources.extend(sc.extra_sources.iter().cloned());
        let engine = Engine::new(sc.engine.clone(), sources, MonoTime::ZERO);
        let snapshot = engine.snapshot();
        let n = sc.servers.len();
        Simulation {
            rng: SplitMix64::new(sc.seed),
            engine,
            clock,
            start,
            flight: BinaryHeap::new(),
            seq: 0,
            last_request: vec![None; n],
            result: SimResult {
                rms_offset: 0.0,
                max_abs_offset: 0.0,
                final_offset: 0.0,
                steps: 0,
                panics: Vec::new(),
                leaps: 0,
                requests: vec![0; n],
                min_request_interval: vec![f64::INFINITY; n],
                kods_sent: vec![0; n],
                frequency_saves: 0,
                snapshot,
                clock_frequency_error: 0.0,
                trace: Vec::new(),
            },
            sum_sq: 0.0,
            count: 0,
            trace: None,
            trace_every: 1.0,
            sc,
        }
    }

    /// Leap seconds inserted in UTC up to true time `t`.
    fn utc_leaps(&self, t: f64) -> f64 {
        match self.sc.leap_at {
            Some(l) if t >= l => 1.0,
            _ => 0.0,
        }
    }

    /// UTC at true time `t`.
    fn utc(&self, t: f64) -> NtpTimestamp {
        self.start + NtpDuration::from_seconds_f64(t - self.utc_leaps(t))
    }

    /// Client clock minus UTC now.
    pub fn offset(&self) -> f64 {
        self.clock.offset() + self.utc_leaps(self.clock.elapsed())
    }

    /// The engine (for inspection).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn draw(&mut self, p: &PathSpec) -> f64 {
        let r = match p.distribution {
            Distribution::Exponential => self.rng.next_exp(),
            Distribution::Uniform => self.rng.next_f64(),
            Distribution::HalfNormal => self.rng.next_gaussian().abs(),
        };
        p.base_delay + p.jitter * r
    }

    fn take_actions(&mut self) {
        while let Some(a) = self.engine.poll_action() {
            match a {
                Action::Send { to, bytes, .. } => self.send(to, &bytes),
                Action::Clock(c) => {
                    // The engine clamps to the driver's limits; an error would be a bug.
                    c.apply(&mut self.clock)
                        .expect("simulated clock accepts engine actions");
                }
                Action::Stats(_) => {}
                Action::SaveFrequency(_) => self.result.frequency_saves += 1,
                Action::Panic { offset } => self.result.panics.push(offset),
            }
        }
    }

    fn send(&mut self, to: SocketAddr, bytes: &[u8]) {
        let now = self.clock.elapsed();
        let Some(i) = self.sc.servers.iter().position(|s| s.address == to) else {
            return;
        };
        self.result.requests[i] += 1;
        if let Some(prev) = self.last_request[i] {
            if now > 60.0 {
                let m = &mut self.result.min_request_interval[i];
                *m = m.min(now - prev);
            }
        }
        let prev = self.last_request[i].replace(now);
        let path = self.sc.servers[i].path.clone();
        let lost_out = self.rng.next_f64() < path.loss;
        let lost_back = self.rng.next_f64() < path.loss;
        let d1 = self.draw(&path) + path.asymmetry;
        let d2 = self.draw(&path);
        let arrive = now + d1;
        let s = &self.sc.servers[i];
        if lost_out || lost_back || inside(&path.outages, arrive) || inside(&s.down, arrive) {
            return;
        }
        let Ok(req) = NtpHeader::decode(bytes) else {
            return;
        };
        if req.mode != Mode::Client {
            return;
        }
        let t2 = self.utc(arrive) + NtpDuration::from_seconds_f64(s.offset);
        let t3 = t2 + NtpDuration::from_seconds_f64(self.sc.processing);
        let mut h = NtpHeader {
            leap: LeapIndicator::NoWarning,
            version: req.version,
            mode: Mode::Server,
            stratum: s.stratum,
            poll: req.poll,
            precision: -24,
            root_delay: NtpShort::ZERO,
            root_dispersion: NtpShort::from_seconds_f64(1e-5),
            reference_id: RefId::from_bytes(*b"GPS\0"),
            reference_timestamp: t2 - NtpDuration::from_seconds(8),
            origin_timestamp: req.transmit_timestamp,
            receive_timestamp: t2,
            transmit_timestamp: t3,
        };
        if let (Some(l), Some(ahead)) = (self.sc.leap_at, s.leap_announce) {
            if arrive < l && arrive >= l - ahead {
                h.leap = LeapIndicator::AddSecond;
            }
        }
        if inside(&s.unsynchronized, arrive) {
            h.leap = LeapIndicator::Unsynchronized;
            h.stratum = 16;
        }
        if let KodBehaviour::Rate { min_interval, poll } = s.kod {
            if prev.is_some_and(|p| now - p < min_interval) {
                h.leap = LeapIndicator::Unsynchronized;
                h.stratum = 0;
                h.poll = poll;
                h.reference_id = RefId::RATE;
                h.receive_timestamp = req.transmit_timestamp;
                h.transmit_timestamp = req.transmit_timestamp;
                self.result.kods_sent[i] += 1;
            }
        }
        self.seq += 1;
        self.flight.push(InFlight {
            at: arrive + self.sc.processing + d2,
            seq: self.seq,
            from: s.address,
            bytes: h.to_bytes().to_vec(),
        });
    }

    fn sample(&mut self) {
        let t = self.clock.elapsed();
        let o = self.offset();
        if let Some(trace) = &mut self.trace {
            if (t - 0.5) % self.trace_every == 0.0 {
                trace.push((
                    t,
                    o,
                    self.engine.frequency(),
                    self.engine.system_snapshot().poll,
                ));
            }
        }
        if t >= self.sc.warmup {
            self.sum_sq += o * o;
            self.count += 1;
            self.result.max_abs_offset = self.result.max_abs_offset.max(o.abs());
        }
    }

    /// Record (time, offset, frequency, poll) every `every` seconds (whole number) into
    /// [`SimResult::trace`].
    pub fn with_trace(mut self, every: f64) -> Self {
        self.trace = Some(Vec::new());
        self.trace_every = every.max(1.0).round();
        self
    }

    /// Give the engine a leap-second table (as the daemon does from its `leapfile`), read
    /// at the simulated clock's start.
    pub fn with_leap_schedule(mut self, table: ntp_core::leap::LeapSchedule) -> Self {
        let now = self.clock.now().expect("simulated clock reads");
        self.engine
            .set_leap_schedule(MonoTime::ZERO, now, Some(table));
        self
    }

    /// Run to the end and report.
    pub fn run(mut self) -> SimResult {
        self.take_actions();
        // Half-second phase: a sample never lands exactly on a leap-second boundary, where
        // clock and UTC legitimately disagree for the few microseconds the clock is off.
        let mut next_sample: f64 = 0.5;
        let end = self.sc.duration;
        loop {
            let timer = self.engine.poll_timeout().map(|m| m.as_secs_f64());
            let packet = self.flight.peek().map(|f| f.at);
            let mut t = next_sample;
            for c in [timer, packet].into_iter().flatten() {
                t = t.min(c);
            }
            if t > end {
                break;
            }
            let now = self.clock.elapsed();
            self.clock.advance(t - now);
            let mono = MonoTime::from_secs_f64(t);
            if packet == Some(t) {
                if let Some(f) = self.flight.pop() {
                    let rx = self.clock.now().expect("simulated clock reads");
                    let _ = self.engine.handle_datagram(mono, f.from, &f.bytes, rx);
                }
            } else if timer == Some(t) {
                let now_ts = self.clock.now().expect("simulated clock reads");
                // MonoTime has nanosecond resolution: make sure the deadline has passed.
                let m = self.engine.poll_timeout().unwrap_or(mono).max(mono);
                self.engine.handle_timeout(m, now_ts);
            } else {
                self.sample();
                next_sample += 1.0;
            }
            self.take_actions();
        }
        let now = self.clock.elapsed();
        self.clock.advance(end - now);
        let final_offset = self.offset();
        let mut r = self.result;
        r.rms_offset = if self.count > 0 {
            (self.sum_sq / self.count as f64).sqrt()
        } else {
            0.0
        };
        r.final_offset = final_offset;
        r.steps = self.clock.steps();
        r.leaps = self.clock.leaps();
        r.snapshot = self.engine.snapshot();
        r.clock_frequency_error = self.clock.frequency_error();
        r.trace = self.trace.take().unwrap_or_default();
        r
    }
}
