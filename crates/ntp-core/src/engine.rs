//! The engine: associations (RFC 5905 section 9, peer process; section 13, poll process),
//! the system process (section 11: selection, cluster, combine) and the clock discipline
//! (section 12, replaced by a regression estimator: see `regress` and docs/algorithm.md),
//! driven by the sans-IO call protocol described in the crate root. Symmetric active
//! (`peer`) associations live in the child module `symmetric`.

mod symmetric;

use std::collections::VecDeque;
use std::net::SocketAddr;

use ntp_wire::{
    LeapIndicator, Mode, NtpDuration, NtpHeader, NtpPacket, NtpTimestamp, Reach, RefId, Trailer,
};

use ntp_wire::packet::STRATUM_UNSPEC;

use crate::clock::{ClockAction, ClockStatus, LeapStatus};
use crate::config::{EngineConfig, SourceConfig, SourceKind};
use crate::filter::{ClockFilter, FilterStage, MAXDISP};
use crate::mono::MonoTime;
use crate::regress::{Estimate, RawSample, RegressParams, Regression};
use crate::rng::SplitMix64;
use crate::select::{self, Candidate};
use crate::snapshot::{
    DisciplineState, SelectStatus, Snapshot, SourceId, SourceSnapshot, SystemSnapshot,
};

/// Flash bit: duplicate packet (TEST1).
pub const TEST_DUPLICATE: u16 = 0x0001;
/// Flash bit: bogus packet, origin mismatch (TEST2).
pub const TEST_BOGUS: u16 = 0x0002;
/// Flash bit: invalid (zero) timestamps (TEST3).
pub const TEST_INVALID: u16 = 0x0004;
/// Flash bit: access denied (TEST4).
pub const TEST_ACCESS: u16 = 0x0008;
/// Flash bit: authentication failure (TEST5).
pub const TEST_AUTH: u16 = 0x0010;
/// Flash bit: unsynchronised or bad stratum (TEST6).
pub const TEST_UNSYNC: u16 = 0x0020;
/// Flash bit: header root distance too large (TEST7).
pub const TEST_DISTANCE_HDR: u16 = 0x0040;
/// Flash bit: bad delay (classic folds this into TEST7 checks).
pub const TEST_DELAY: u16 = 0x0080;
/// Flash bit: peer stratum beyond ceiling/floor (TEST10).
pub const TEST_STRATUM: u16 = 0x0200;
/// Flash bit: root distance exceeded (TEST11).
pub const TEST_DISTANCE: u16 = 0x0400;
/// Flash bit: synchronisation loop (TEST12).
pub const TEST_LOOP: u16 = 0x0800;
/// Flash bit: unreachable or noselect (TEST13).
pub const TEST_UNREACH: u16 = 0x1000;

/// Polls without a reply before the poll backs off (`NTP_UNREACH`).
const UNREACH_BACKOFF: u32 = 10;
/// Packets in an `iburst` (`NTP_IBURST`).
const IBURST_PACKETS: u8 = 6;
/// Packets in a `burst`.
const BURST_PACKETS: u8 = 8;
/// Spacing of burst packets, seconds (`NTP_MINPKT`).
const BURST_SPACING: f64 = 2.0;
/// Largest acceptable round-trip delay, seconds.
const MAX_DELAY: f64 = 3.0;
/// Largest poll a KoD RATE can push us to (when maxpoll is lower), log2 s.
const KOD_POLL_CAP: i8 = 10;
/// Slew the measured offset out over this fraction of the poll interval.
const SLEW_FRACTION: f64 = 0.5;
/// The poll lengthens after repeated updates whose estimator window held this many samples.
const POLL_UP_SAMPLES: usize = 64;
/// The poll shortens after repeated updates whose window held at most this many samples.
const POLL_DOWN_SAMPLES: usize = 16;
/// Prior standard deviation of the frequency without a drift file, ppm.
const FREQ_PRIOR_NSET: f64 = 100.0;
/// Prior standard deviation of the frequency with a drift file, ppm.
const FREQ_PRIOR_FSET: f64 = 10.0;
/// chrony's `combinelimit`: survivors wider than this many times the system peer's root
/// distance are not combined (see [`select::within_combine_limit`]).
const COMBINE_LIMIT: f64 = 3.0;
/// Seconds the first selection may wait, after the first source became a candidate, for every
/// other answering server to become one too. Without it, whichever servers fill their filters
/// first decide the start-up step alone: two coordinated falsetickers that happen to answer
/// first would be a majority of three.
const STARTUP_SETTLE: f64 = 16.0;

/// What the engine wants its driver to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send `bytes` to `to` (from the socket of `source`).
    Send {
        /// The association.
        source: SourceId,
        /// Destination.
        to: SocketAddr,
        /// The datagram.
        bytes: Vec<u8>,
    },
    /// Apply this clock change (see [`ClockAction::apply`]).
    Clock(ClockAction),
    /// Append a statistics line.
    Stats(StatsLine),
    /// Write this frequency (ppm) to the drift file.
    SaveFrequency(f64),
    /// An offset beyond the panic threshold was seen: refuse, log and exit (the engine has
    /// stopped adjusting the clock).
    Panic {
        /// The refused offset, seconds.
        offset: f64,
    },
}

/// Which statistics file a line belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsKind {
    /// `loopstats`: one line per clock update.
    Loop,
    /// `peerstats`: one line per accepted sample.
    Peer,
    /// `rawstats`: one line per server answer that passed the packet tests (duplicate,
    /// origin, timestamps, KoD, authentication, leap/stratum, root distance); its destination
    /// column is `-` (see [`crate::rawstats`]).
    Raw,
}

/// One line for a statistics file, formatted like classic's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsLine {
    /// Target file.
    pub kind: StatsKind,
    /// The line without newline.
    pub line: String,
}

/// Why a datagram was not used as a time sample.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PacketError {
    /// No server association has this address.
    #[error("no association for {0}")]
    UnknownSource(SocketAddr),
    /// The datagram does not decode.
    #[error("malformed: {0}")]
    Malformed(ntp_wire::WireError),
    /// Not a mode 4 (server) packet.
    #[error("unexpected mode {0:?}")]
    WrongMode(Mode),
    /// Version other than 3 or 4.
    #[error("unexpected version {0}")]
    WrongVersion(u8),
    /// Authentication required and the MAC is missing, uses another key or does not verify.
    #[error("authentication failed")]
    AuthFailed,
    /// Same transmit timestamp as the last accepted packet, or a second answer (TEST1).
    #[error("duplicate")]
    Duplicate,
    /// Origin timestamp is not our outstanding request's transmit timestamp (TEST2).
    #[error("bogus origin")]
    BogusOrigin,
    /// Receive or transmit timestamp zero (TEST3).
    #[error("zero timestamp")]
    ZeroTimestamp,
    /// A kiss-o'-death (after the origin check); handled, not a sample.
    #[error("kiss-o'-death {0:?}")]
    KissOfDeath(ntp_wire::KissCode),
    /// Leap 3 or stratum 16+ (TEST6): reachable but not a sample.
    #[error("server unsynchronised")]
    Unsynchronized,
    /// Stratum 0 without a kiss code (TEST6).
    #[error("bad stratum")]
    BadStratum,
    /// Root delay/2 + root dispersion at least 16 s (TEST7).
    #[error("root distance too large")]
    RootDistance,
    /// Negative or excessive delay, or negative server processing time.
    #[error("bad delay {0}")]
    BadDelay(f64),
    /// The source reports us as its reference (TEST12).
    #[error("synchronisation loop")]
    SyncLoop,
}

#[derive(Debug, Clone)]
struct Peer {
    cfg: SourceConfig,
    removed: bool,
    // request state
    expected_origin: Option<NtpTimestamp>,
    last_origin: NtpTimestamp,
    last_xmt: NtpTimestamp,
    t1: NtpTimestamp,
    // poll state
    hpoll: i8,
    kod_floor: i8,
    next_poll: MonoTime,
    burst_left: u8,
    reach: Reach,
    unreach: u32,
    denied: bool,
    // from the last packet
    leap: LeapIndicator,
    stratum: u8,
    ppoll: i8,
    precision: i8,
    root_delay: f64,
    root_disp: f64,
    refid: RefId,
    reftime: NtpTimestamp,
    authenticated: bool,
    // symmetric mode timestamps (org, rec, xmt)
    sym: symmetric::SymState,
    // measurements
    filter: ClockFilter,
    samples: Regression,
    est: Option<Estimate>,
    last_rx: Option<MonoTime>,
    flash: u16,
    select: SelectStatus,
    sent: u64,
    received: u64,
    rejected: u64,
    kod: u64,
}

impl Peer {
    fn new(cfg: SourceConfig, next_poll: MonoTime) -> Self {
        let hpoll = cfg.minpoll.log2();
        Peer {
            cfg,
            removed: false,
            expected_origin: None,
            last_origin: NtpTimestamp::ZERO,
            last_xmt: NtpTimestamp::ZERO,
            t1: NtpTimestamp::ZERO,
            hpoll,
            kod_floor: 0,
            next_poll,
            burst_left: 0,
            reach: Reach::default(),
            unreach: 0,
            denied: false,
            leap: LeapIndicator::Unsynchronized,
            stratum: STRATUM_UNSPEC,
            ppoll: 0,
            precision: 0,
            root_delay: 0.0,
            root_disp: 0.0,
            refid: RefId::INIT,
            reftime: NtpTimestamp::ZERO,
            authenticated: false,
            sym: symmetric::SymState::default(),
            filter: ClockFilter::default(),
            samples: Regression::default(),
            est: None,
            last_rx: None,
            flash: 0,
            select: SelectStatus::Rejected,
            sent: 0,
            received: 0,
            rejected: 0,
            kod: 0,
        }
    }

    fn is_local(&self) -> bool {
        matches!(self.cfg.kind, SourceKind::Local { .. })
    }

    fn clear_measurements(&mut self) {
        self.filter.reset();
        self.samples.clear();
        self.est = None;
        self.expected_origin = None;
        // A symmetric exchange in flight was timed on the old scale too: start it afresh.
        self.sym = symmetric::SymState::default();
    }
}

/// The result of one selection round.
#[derive(Debug, Clone)]
struct Selection {
    sys_peer: usize,
    offset: f64,
    jitter: f64,
    freq: Option<(f64, f64)>,
    leap: LeapIndicator,
}

/// The sans-IO NTP engine. See the crate documentation for the call protocol.
#[derive(Debug)]
pub struct Engine {
    cfg: EngineConfig,
    params: RegressParams,
    rng: SplitMix64,
    peers: Vec<Peer>,
    actions: VecDeque<Action>,
    start: MonoTime,
    // correction bookkeeping: Q(t) = q_base + freq_cmd * 1e-6 * (t - q_time)
    q_base: f64,
    q_time: f64,
    freq_cmd: f64,
    f_est: f64,
    freq_prior: f64,
    slew_end: Option<MonoTime>,
    // discipline
    state: DisciplineState,
    first_adjust_done: bool,
    spike_since: Option<MonoTime>,
    panicked: bool,
    runtime_stepped: f64,
    last_update: Option<MonoTime>,
    sys_poll: i8,
    poll_score: i32,
    wander_acc: f64,
    // system variables
    sys_peer: Option<usize>,
    /// A server has been selected at least once (the start-up settle is over).
    ever_selected: bool,
    /// When candidates were first seen, monotonic seconds (for [`STARTUP_SETTLE`]).
    first_candidates_at: Option<f64>,
    /// While the first selection is held back: when the settle ends (a timer, so the clock is
    /// set then rather than at the next poll, up to a poll interval later).
    settle_deadline: Option<MonoTime>,
    leap: LeapIndicator,
    stratum: u8,
    root_delay: f64,
    root_disp: f64,
    refid: RefId,
    reftime: NtpTimestamp,
    offset: f64,
    sys_jitter: f64,
    clk_jitter: f64,
    orphan: bool,
    steps: u64,
    updates: u64,
    status: Option<ClockStatus>,
    next_drift_save: MonoTime,
    last_saved: Option<f64>,
    /// The leap file's schedule (see `leap`).
    leapfile: crate::leap::LeapState,
}

fn secs(d: NtpDuration) -> f64 {
    d.to_seconds_f64()
}

fn mjd_sod(t: NtpTimestamp) -> (i64, f64) {
    let (s, n) = t.to_unix();
    (
        s.div_euclid(86_400) + 40_587,
        s.rem_euclid(86_400) as f64 + n as f64 * 1e-9,
    )
}

impl Engine {
    /// An engine with the given sources, started at monotonic time `now`. Queues the initial
    /// frequency (drift file value or zero) and an "unsynchronised" status as clock actions.
    pub fn new(cfg: EngineConfig, sources: Vec<SourceConfig>, now: MonoTime) -> Self {
        let f0 = cfg
            .initial_frequency
            .filter(|f| f.is_finite())
            .unwrap_or(0.0)
            .clamp(-cfg.tinker.max_frequency, cfg.tinker.max_frequency);
        let state = if cfg.initial_frequency.is_some() {
            DisciplineState::FrequencySet
        } else {
            DisciplineState::NoFrequency
        };
        let mut e = Engine {
            rng: SplitMix64::new(cfg.seed),
            params: RegressParams::default(),
            peers: Vec::new(),
            actions: VecDeque::new(),
            start: now,
            q_base: 0.0,
            q_time: now.as_secs_f64(),
            // Observing only, nothing is applied: the clock runs on its own frequency.
            freq_cmd: if cfg.observe_only { 0.0 } else { f0 },
            f_est: f0,
            freq_prior: if cfg.initial_frequency.is_some() {
                FREQ_PRIOR_FSET
            } else {
                FREQ_PRIOR_NSET
            },
            slew_end: None,
            state,
            first_adjust_done: false,
            spike_since: None,
            panicked: false,
            runtime_stepped: 0.0,
            last_update: None,
            sys_poll: 6,
            poll_score: 0,
            wander_acc: 0.0,
            sys_peer: None,
            ever_selected: false,
            first_candidates_at: None,
            settle_deadline: None,
            leap: LeapIndicator::Unsynchronized,
            stratum: STRATUM_UNSPEC,
            root_delay: 0.0,
            root_disp: 0.0,
            refid: RefId::INIT,
            reftime: NtpTimestamp::ZERO,
            offset: 0.0,
            sys_jitter: 0.0,
            clk_jitter: 0.0,
            orphan: false,
            steps: 0,
            updates: 0,
            status: None,
            next_drift_save: now.add_secs_f64(cfg.drift_save_interval),
            last_saved: cfg.initial_frequency,
            leapfile: Default::default(),
            cfg,
        };
        e.sys_poll = sources.iter().map(|s| s.minpoll.log2()).min().unwrap_or(6);
        if !e.cfg.observe_only {
            e.actions
                .push_back(Action::Clock(ClockAction::SetFrequency(f0)));
        }
        e.publish_status();
        for s in sources {
            e.add_source(s, now);
        }
        e
    }

    /// Add an association (e.g. a pool member) at run time; its first poll is randomised.
    pub fn add_source(&mut self, cfg: SourceConfig, now: MonoTime) -> SourceId {
        // Randomised start so that many clients booted together do not poll in step.
        let spread = if cfg.iburst {
            BURST_SPACING
        } else {
            cfg.minpoll.as_seconds_f64().min(16.0)
        };
        let first = now.add_secs_f64(self.rng.next_f64() * spread);
        self.peers.push(Peer::new(cfg, first));
        SourceId(self.peers.len() - 1)
    }

    /// Remove an association; its id is not reused.
    pub fn remove_source(&mut self, id: SourceId) {
        if let Some(p) = self.peers.get_mut(id.0) {
            p.removed = true;
            p.clear_measurements();
            p.select = SelectStatus::Rejected;
            if self.sys_peer == Some(id.0) {
                self.sys_peer = None;
            }
        }
    }

    fn q_at(&self, t: f64) -> f64 {
        self.q_base + self.freq_cmd * 1e-6 * (t - self.q_time)
    }

    fn set_freq(&mut self, now: f64, ppm: f64) {
        if self.cfg.observe_only {
            return;
        }
        let lim = self.cfg.tinker.max_frequency;
        let ppm = ppm.clamp(-lim, lim);
        self.q_base = self.q_at(now);
        self.q_time = now;
        self.freq_cmd = ppm;
        self.actions
            .push_back(Action::Clock(ClockAction::SetFrequency(ppm)));
    }

    /// Use this leap-second table (`None`: none); `clock` is the clock's reading at `now`.
    /// An unexpired table decides the announced LI and arms the kernel for the leap.
    pub fn set_leap_schedule(
        &mut self,
        now: MonoTime,
        clock: NtpTimestamp,
        table: Option<crate::leap::LeapSchedule>,
    ) {
        self.leapfile.set_table(table);
        self.check_leap(now, clock);
    }

    /// Classic `check_leapsec()`: re-read the schedule at the clock's reading; a change of
    /// the announced LI is published (and, unless observing only, set in the kernel).
    fn check_leap(&mut self, now: MonoTime, clock: NtpTimestamp) {
        if self.leapfile.update(now, clock) {
            self.publish_status();
        }
    }

    /// The next absolute deadline at which [`Engine::handle_timeout`] wants to be called.
    pub fn poll_timeout(&self) -> Option<MonoTime> {
        let peers = self
            .peers
            .iter()
            .filter(|p| !p.removed && !p.denied)
            .map(|p| p.next_poll);
        let orphan = (self.cfg.tos.orphan.is_some() && !self.orphan && self.sys_peer.is_none())
            .then(|| self.orphan_deadline());
        peers
            .chain(self.slew_end)
            .chain(self.settle_deadline)
            .chain(std::iter::once(self.next_drift_save))
            .chain(orphan)
            .chain(self.leapfile.deadline())
            .min()
    }

    fn orphan_deadline(&self) -> MonoTime {
        self.last_update
            .unwrap_or(self.start)
            .add_secs_f64(self.cfg.tos.orphanwait)
    }

    /// The next action to carry out, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Timers: polls, end of a slew, drift save, orphan mode. `clock` is the clock's reading
    /// now (used as the request's T1). Early or repeated calls do nothing.
    pub fn handle_timeout(&mut self, now: MonoTime, clock: NtpTimestamp) {
        self.check_leap(now, clock);
        let nowf = now.as_secs_f64();
        if self.slew_end.is_some_and(|t| t <= now) {
            self.slew_end = None;
            let f = self.f_est;
            self.set_freq(nowf, f);
        }
        for i in 0..self.peers.len() {
            let p = &self.peers[i];
            if p.removed || p.denied || p.next_poll > now {
                continue;
            }
            self.poll_peer(i, now, clock);
        }
        if self.settle_deadline.is_some_and(|t| t <= now) {
            self.settle_deadline = None;
            // The held-back first selection: run it now with the samples at hand, triggered by
            // the best fit source so the discipline accepts it.
            let best = (0..self.peers.len())
                .filter(|&i| !self.peers[i].is_local() && self.fit(&self.peers[i], nowf))
                .min_by(|&a, &b| {
                    self.root_distance(&self.peers[a], nowf)
                        .total_cmp(&self.root_distance(&self.peers[b], nowf))
                });
            if let Some(i) = best {
                self.system_update(now, clock, i);
            }
        }
        if self.next_drift_save <= now {
            self.next_drift_save = now.add_secs_f64(self.cfg.drift_save_interval.max(1.0));
            let moved = self
                .last_saved
                .is_none_or(|s| (s - self.f_est).abs() > self.cfg.drift_save_threshold);
            if self.state == DisciplineState::Sync && moved {
                self.last_saved = Some(self.f_est);
                self.actions.push_back(Action::SaveFrequency(self.f_est));
            }
        }
        if let Some(orphan) = self.cfg.tos.orphan {
            if !self.orphan && self.sys_peer.is_none() && self.orphan_deadline() <= now {
                self.orphan = true;
                self.leap = LeapIndicator::NoWarning;
                self.stratum = orphan;
                self.refid = if orphan <= 1 {
                    RefId::from_bytes(*b"ORPH")
                } else {
                    RefId::from_ipv4(std::net::Ipv4Addr::LOCALHOST)
                };
                self.root_delay = 0.0;
                self.root_disp = 0.0;
                self.publish_status();
            }
        }
    }

    /// Record the precise time a request actually left (e.g. a kernel transmit timestamp),
    /// replacing the T1 taken at [`Engine::handle_timeout`]. Optional.
    pub fn handle_transmitted(&mut self, source: SourceId, tx: NtpTimestamp) {
        if let Some(p) = self.peers.get_mut(source.0) {
            if p.expected_origin.is_some() {
                p.t1 = tx;
            }
        }
    }

    fn poll_interval(&mut self, hpoll: i8) -> f64 {
        // A little jitter (up to 1/32 of the interval) keeps clients from falling in step.
        2f64.powi(hpoll as i32) * (1.0 - self.rng.next_f64() / 32.0)
    }

    fn poll_peer(&mut self, i: usize, now: MonoTime, clock: NtpTimestamp) {
        let nowf = now.as_secs_f64();
        if self.peers[i].is_local() {
            let p = &mut self.peers[i];
            p.reach.shift(true);
            p.unreach = 0;
            p.received += 1;
            p.last_rx = Some(now);
            if let SourceKind::Local { stratum, refid } = p.cfg.kind.clone() {
                p.stratum = stratum;
                p.refid = refid;
            }
            p.leap = LeapIndicator::NoWarning;
            let prec = 2f64.powi(self.cfg.precision as i32);
            p.filter.add(
                FilterStage {
                    offset: 0.0,
                    delay: 0.0,
                    dispersion: prec,
                    time: nowf,
                },
                nowf,
                self.cfg.tinker.dispersion,
                prec,
            );
            p.hpoll = p.cfg.minpoll.log2();
            let iv = self.poll_interval(self.peers[i].hpoll);
            self.peers[i].next_poll = now.add_secs_f64(iv);
            self.system_update(now, clock, i);
            return;
        }
        let sys_poll = self.sys_poll;
        let p = &mut self.peers[i];
        let mut next = None;
        if p.burst_left > 0 {
            p.burst_left -= 1;
            if p.burst_left > 0 {
                next = Some(BURST_SPACING);
            }
        } else {
            p.reach.shift(false);
            if !p.reach.is_reachable() {
                p.unreach = p.unreach.saturating_add(1);
            }
            let (lo, hi) = (
                p.cfg.minpoll.log2(),
                p.cfg.maxpoll.log2().max(p.cfg.minpoll.log2()),
            );
            if p.unreach > UNREACH_BACKOFF {
                p.hpoll = (p.hpoll + 1).min(hi);
            } else {
                p.hpoll = sys_poll.clamp(lo, hi);
            }
            p.hpoll = p.hpoll.max(p.kod_floor);
            if p.cfg.iburst && !p.reach.is_reachable() && p.unreach <= UNREACH_BACKOFF {
                p.burst_left = IBURST_PACKETS - 1;
                next = Some(BURST_SPACING);
            } else if p.cfg.burst && p.reach.is_reachable() {
                p.burst_left = BURST_PACKETS - 1;
                next = Some(BURST_SPACING);
            }
        }
        let hpoll = p.hpoll;
        if p.cfg.is_symmetric() {
            // One packet per poll, no bursts: the peer sends at its own poll, not per packet.
            p.burst_left = 0;
            self.transmit_symmetric(i, now, hpoll, clock);
            let iv = self.poll_interval(hpoll);
            self.peers[i].next_poll = now.add_secs_f64(iv);
            return;
        }
        let xmt = NtpTimestamp::from_bits(self.rng.next_nonzero_u64());
        let p = &mut self.peers[i];
        let header = NtpHeader {
            leap: LeapIndicator::NoWarning,
            version: p.cfg.version,
            mode: Mode::Client,
            poll: hpoll,
            transmit_timestamp: xmt,
            ..NtpHeader::default()
        };
        let mut bytes = header.to_bytes().to_vec();
        if let Some(key) = &p.cfg.key {
            let mac = key.sign(&bytes);
            let t = Trailer::Mac(mac);
            let mut buf = [0u8; ntp_wire::mac::MAX_MAC_LEN];
            let mut w = ntp_wire::Writer::new(&mut buf);
            if t.write(&mut w).is_ok() {
                let n = w.position();
                bytes.extend_from_slice(&buf[..n]);
            }
        }
        // A new request supersedes the previous one: its late answer will be bogus.
        p.expected_origin = Some(xmt);
        p.t1 = clock;
        p.sent += 1;
        let to = p.cfg.address;
        self.actions.push_back(Action::Send {
            source: SourceId(i),
            to,
            bytes,
        });
        let iv = match next {
            Some(s) => s,
            None => self.poll_interval(hpoll),
        };
        self.peers[i].next_poll = now.add_secs_f64(iv);
    }

    /// A datagram arrived from `from` at monotonic time `now`, with the clock reading
    /// `rx_timestamp` (T4, ideally a kernel receive timestamp). Returns why it was not used
    /// as a sample, if it was not; any input is safe.
    ///
    /// # Errors
    /// [`PacketError`] naming the failed check. Nothing changes for datagrams that fail
    /// before the origin check; later failures still count the source as reachable.
    pub fn handle_datagram(
        &mut self,
        now: MonoTime,
        from: SocketAddr,
        bytes: &[u8],
        rx_timestamp: NtpTimestamp,
    ) -> Result<(), PacketError> {
        let i = self
            .peers
            .iter()
            .position(|p| !p.removed && !p.is_local() && p.cfg.address == from)
            .ok_or(PacketError::UnknownSource(from))?;
        let r = self.receive(i, now, bytes, rx_timestamp);
        if let Err(e) = &r {
            let p = &mut self.peers[i];
            p.rejected += 1;
            p.flash = match e {
                PacketError::Duplicate => TEST_DUPLICATE,
                PacketError::BogusOrigin => TEST_BOGUS,
                PacketError::ZeroTimestamp => TEST_INVALID,
                PacketError::AuthFailed => TEST_AUTH,
                PacketError::KissOfDeath(_) => TEST_ACCESS,
                PacketError::Unsynchronized | PacketError::BadStratum => TEST_UNSYNC,
                PacketError::RootDistance => TEST_DISTANCE_HDR,
                PacketError::BadDelay(_) => TEST_DELAY,
                PacketError::SyncLoop => TEST_LOOP,
                _ => p.flash,
            };
        }
        r
    }

    fn receive(
        &mut self,
        i: usize,
        now: MonoTime,
        bytes: &[u8],
        t4: NtpTimestamp,
    ) -> Result<(), PacketError> {
        let pkt = NtpPacket::decode(bytes).map_err(PacketError::Malformed)?;
        let h = pkt.header;
        if self.peers[i].cfg.is_symmetric() {
            return self.receive_symmetric(i, now, bytes, &pkt, t4);
        }
        if h.mode != Mode::Server {
            return Err(PacketError::WrongMode(h.mode));
        }
        if !(3..=4).contains(&h.version) {
            return Err(PacketError::WrongVersion(h.version));
        }
        let p = &mut self.peers[i];
        // Authentication first: an unauthenticated packet must not touch the request state
        // of an association that has a key.
        let authenticated = match (&p.cfg.key, pkt.trailer) {
            (Some(key), Some(Trailer::Mac(mac))) if mac.key_id == key.id => {
                let covered = bytes.len().saturating_sub(4 + mac.digest.as_bytes().len());
                let ok = bytes
                    .get(..covered)
                    .is_some_and(|m| key.verify(m, mac.digest.as_bytes()));
                if !ok {
                    return Err(PacketError::AuthFailed);
                }
                true
            }
            (Some(_), _) => return Err(PacketError::AuthFailed),
            (None, _) => false,
        };
        // TEST1 and TEST2: exactly one answer per request, matched on our random transmit
        // timestamp; zero never matches.
        if !h.transmit_timestamp.is_zero() && h.transmit_timestamp == p.last_xmt {
            return Err(PacketError::Duplicate);
        }
        match p.expected_origin {
            Some(x) if !x.is_zero() && h.origin_timestamp == x => {}
            None if !h.origin_timestamp.is_zero() && h.origin_timestamp == p.last_origin => {
                return Err(PacketError::Duplicate)
            }
            _ => return Err(PacketError::BogusOrigin),
        }
        p.expected_origin = None;
        p.last_origin = h.origin_timestamp;
        p.last_xmt = h.transmit_timestamp;
        // Kiss-o'-death, believed only now that the origin matched.
        if h.stratum == 0 && h.leap == LeapIndicator::Unsynchronized {
            let code = ntp_wire::KissCode::from_refid(h.reference_id);
            match code {
                ntp_wire::KissCode::Rate => {
                    p.kod += 1;
                    let cap = p.cfg.maxpoll.log2().max(KOD_POLL_CAP);
                    let wanted = h.poll.clamp(3, 17).max(p.hpoll + 1);
                    p.kod_floor = wanted.min(cap).max(p.kod_floor);
                    p.hpoll = p.hpoll.max(p.kod_floor);
                    p.burst_left = 0;
                    let iv = 2f64.powi(p.hpoll as i32);
                    p.next_poll = now.add_secs_f64(iv);
                }
                c if c.is_access_denied() && authenticated => {
                    p.kod += 1;
                    p.denied = true;
                    p.clear_measurements();
                }
                _ => {}
            }
            return Err(PacketError::KissOfDeath(code));
        }
        self.sample(i, now, &h, authenticated, t4, bytes)
    }

    /// The packet passed the per-mode checks (origin, authentication): record the peer's
    /// variables, apply the remaining packet tests and add the sample.
    fn sample(
        &mut self,
        i: usize,
        now: MonoTime,
        h: &NtpHeader,
        authenticated: bool,
        t4: NtpTimestamp,
        bytes: &[u8],
    ) -> Result<(), PacketError> {
        let p = &mut self.peers[i];
        p.reach.mark_received();
        p.unreach = 0;
        p.received += 1;
        p.last_rx = Some(now);
        p.authenticated = authenticated;
        p.leap = h.leap;
        p.stratum = if h.stratum == 0 {
            STRATUM_UNSPEC
        } else {
            h.stratum
        };
        p.ppoll = h.poll.clamp(3, 17);
        p.precision = h.precision.clamp(-30, 0);
        p.root_delay = h.root_delay.to_seconds_f64();
        p.root_disp = h.root_dispersion.to_seconds_f64();
        p.refid = h.reference_id;
        p.reftime = h.reference_timestamp;
        if h.receive_timestamp.is_zero() || h.transmit_timestamp.is_zero() || p.t1.is_zero() {
            return Err(PacketError::ZeroTimestamp);
        }
        if h.stratum == 0 {
            return Err(PacketError::BadStratum);
        }
        if h.leap == LeapIndicator::Unsynchronized || h.stratum >= STRATUM_UNSPEC {
            return Err(PacketError::Unsynchronized);
        }
        if p.root_delay / 2.0 + p.root_disp >= MAXDISP {
            return Err(PacketError::RootDistance);
        }
        // The packet passed the header tests (classic TEST1-TEST7, with TEST6's stratum
        // floor/ceiling): classic's process_packet() records it in rawstats here.
        let tos = &self.cfg.tos;
        if self.cfg.statistics && (tos.floor..tos.ceiling).contains(&p.stratum) {
            let line = crate::rawstats::line(p.cfg.address.ip(), p.t1, h, t4, bytes);
            let kind = StatsKind::Raw;
            self.actions
                .push_back(Action::Stats(StatsLine { kind, line }));
        }
        if p.stratum > 1 && self.cfg.local_refids.contains(&h.reference_id) {
            return Err(PacketError::SyncLoop);
        }
        // On-wire calculation with wrapping 64-bit differences (era-safe).
        let (t1, t2, t3) = (p.t1, h.receive_timestamp, h.transmit_timestamp);
        let offset = (secs(t2 - t1) + secs(t3 - t4)) / 2.0;
        let server_time = secs(t3 - t2);
        let delay = secs(t4 - t1) - server_time;
        let prec = 2f64.powi(self.cfg.precision as i32);
        if !(delay >= -prec && delay <= MAX_DELAY && server_time >= -prec) {
            return Err(PacketError::BadDelay(delay));
        }
        let delay = delay.max(prec);
        let disp = prec + 2f64.powi(p.precision as i32) + self.cfg.tinker.dispersion * delay;
        let nowf = now.as_secs_f64();
        p.filter.add(
            FilterStage {
                offset,
                delay,
                dispersion: disp,
                time: nowf,
            },
            nowf,
            self.cfg.tinker.dispersion,
            prec,
        );
        let raw = offset + self.q_at(nowf);
        let p = &mut self.peers[i];
        p.samples.push(
            RawSample {
                time: nowf,
                raw,
                delay,
            },
            &self.params,
        );
        p.est = p.samples.estimate(nowf, &self.params);
        p.flash = 0;
        if self.cfg.statistics {
            let (mjd, sod) = mjd_sod(t4);
            let line = format!(
                "{mjd} {sod:.3} {} {:04x} {offset:.9} {delay:.9} {:.9} {:.9}",
                p.cfg.address.ip(),
                u16::from(p.select.code()) << 8,
                p.filter.dispersion,
                p.filter.jitter
            );
            self.actions.push_back(Action::Stats(StatsLine {
                kind: StatsKind::Peer,
                line,
            }));
        }
        self.system_update(now, t4, i);
        Ok(())
    }

    /// The current offset estimate of peer `i` at `now`.
    fn peer_offset(&self, p: &Peer, now: f64) -> f64 {
        match &p.est {
            Some(e) => {
                let slope = e.slope.unwrap_or(self.f_est * 1e-6);
                e.raw_at_ref + slope * (now - e.ref_time) - self.q_at(now)
            }
            None => p.filter.offset,
        }
    }

    fn root_distance(&self, p: &Peer, now: f64) -> f64 {
        let f = &p.filter;
        ((f.delay + p.root_delay) / 2.0
            + f.dispersion
            + self.cfg.tinker.dispersion * (now - f.time).max(0.0)
            + p.root_disp
            + f.jitter)
            .max(self.cfg.tos.mindist)
    }

    fn fit(&self, p: &Peer, now: f64) -> bool {
        let tos = &self.cfg.tos;
        !p.removed
            && !p.denied
            && !p.cfg.noselect
            && p.reach.is_reachable()
            && !p.filter.is_empty()
            && p.leap != LeapIndicator::Unsynchronized
            && p.stratum < tos.ceiling
            && (p.stratum >= tos.floor || p.is_local())
            && self.root_distance(p, now) < tos.maxdist
            && !self.symmetric_loop(p)
    }

    fn select(&mut self, now: f64) -> Option<Selection> {
        let mut cands = Vec::new();
        let mut local = None;
        for (i, p) in self.peers.iter().enumerate() {
            if !self.fit(p, now) {
                continue;
            }
            let c = Candidate {
                index: i,
                offset: self.peer_offset(p, now),
                distance: self.root_distance(p, now),
                jitter: p.filter.jitter,
                stratum: p.stratum,
                truechimer: p.cfg.truechimer,
            };
            if p.is_local() {
                local.get_or_insert(c);
            } else {
                cands.push(c);
            }
        }
        for p in &mut self.peers {
            p.select = SelectStatus::Rejected;
        }
        if cands.is_empty() {
            // The local clock driver is the last resort.
            let c = local?;
            self.peers[c.index].select = SelectStatus::SystemPeer;
            return Some(Selection {
                sys_peer: c.index,
                offset: 0.0,
                jitter: 0.0,
                freq: None,
                leap: LeapIndicator::NoWarning,
            });
        }
        // The survivors must also be a majority of every server that answers with a
        // synchronised time, not only of those already fit: otherwise the first source to
        // fill its filter (possibly a falseticker) would win alone at start-up.
        let answering = self
            .peers
            .iter()
            .filter(|p| {
                !p.is_local()
                    && !p.removed
                    && !p.denied
                    && !p.cfg.noselect
                    && p.reach.is_reachable()
                    && p.leap != LeapIndicator::Unsynchronized
                    && p.stratum < self.cfg.tos.ceiling
                    && !self.symmetric_loop(p)
            })
            .count();
        if !self.ever_selected {
            let since = *self.first_candidates_at.get_or_insert(now);
            if cands.len() < answering && now - since < STARTUP_SETTLE {
                self.settle_deadline = Some(MonoTime::from_secs_f64(since + STARTUP_SETTLE));
                return None;
            }
            self.settle_deadline = None;
        }
        let inter = select::intersect(&cands);
        for c in &cands {
            self.peers[c.index].select = SelectStatus::Falseticker;
        }
        let inter = inter?;
        let mut surv = inter.truechimers;
        let agreeing = surv.iter().filter(|&&i| !cands[i].truechimer).count();
        if surv.len() < self.cfg.tos.minsane.max(1) || (agreeing > 0 && 2 * agreeing <= answering) {
            return None;
        }
        surv.sort_by(|&a, &b| cands[a].distance.total_cmp(&cands[b].distance));
        for (k, &s) in surv.iter().enumerate() {
            self.peers[cands[s].index].select = if k < self.cfg.tos.maxclock {
                SelectStatus::Outlier
            } else {
                SelectStatus::Excess
            };
        }
        surv.truncate(self.cfg.tos.maxclock.max(1));
        let keep = select::cluster(&cands, &surv, self.cfg.tos.minclock);
        for &k in &keep {
            self.peers[cands[k].index].select = SelectStatus::Candidate;
        }
        let prefer = keep
            .iter()
            .copied()
            .find(|&k| self.peers[cands[k].index].cfg.prefer);
        let sys = prefer
            .or_else(|| {
                keep.iter()
                    .copied()
                    .find(|&k| Some(cands[k].index) == self.sys_peer)
            })
            .unwrap_or(keep[0]);
        self.peers[cands[sys].index].select = SelectStatus::SystemPeer;
        self.ever_selected = true;
        let combined = select::within_combine_limit(&cands, &keep, sys, COMBINE_LIMIT);
        let (mut offset, jitter) = select::combine(&cands, &combined);
        if prefer.is_some() {
            offset = cands[sys].offset;
        }
        // Frequency: distance-weighted mean of the survivors' regression slopes.
        let (mut sw, mut sf, mut sv) = (0.0, 0.0, 0.0);
        for &k in &combined {
            let p = &self.peers[cands[k].index];
            if let Some(e) = &p.est {
                if let (Some(s), Some(sd)) = (e.slope, e.slope_sd) {
                    let w = 1.0 / cands[k].distance;
                    sw += w;
                    sf += w * s;
                    sv += w * sd * sd;
                }
            }
        }
        let freq = (sw > 0.0).then(|| (sf / sw * 1e6, (sv / sw).sqrt() * 1e6));
        // Leap second only by majority of the survivors (CVE-2016-4954).
        let votes = |l: LeapIndicator| {
            keep.iter()
                .filter(|&&k| self.peers[cands[k].index].leap == l)
                .count()
        };
        let leap = if 2 * votes(LeapIndicator::AddSecond) > keep.len() {
            LeapIndicator::AddSecond
        } else if 2 * votes(LeapIndicator::DeleteSecond) > keep.len() {
            LeapIndicator::DeleteSecond
        } else {
            LeapIndicator::NoWarning
        };
        Some(Selection {
            sys_peer: cands[sys].index,
            offset,
            jitter,
            freq,
            leap,
        })
    }

    fn system_update(&mut self, now: MonoTime, clock: NtpTimestamp, trigger: usize) {
        if self.panicked {
            return;
        }
        let nowf = now.as_secs_f64();
        let Some(sel) = self.select(nowf) else {
            self.sys_peer = None;
            self.age_out(nowf);
            return;
        };
        let sp = sel.sys_peer;
        let survivor = matches!(
            self.peers[trigger].select,
            SelectStatus::SystemPeer | SelectStatus::Candidate
        );
        self.sys_peer = Some(sp);
        self.orphan = false;
        if self.peers[sp].is_local() {
            let p = &self.peers[sp];
            let stratum = p.stratum.saturating_add(1).min(STRATUM_UNSPEC);
            // As classic clock_update(): a stratum-1 server names its clock (`LOCL`), above
            // that the refid is the system peer's address, 127.127.1.0 for the local driver.
            let refid = if stratum <= 1 {
                p.refid
            } else {
                RefId::from_ip(p.cfg.address.ip())
            };
            self.stratum = stratum;
            self.refid = refid;
            self.leap = LeapIndicator::NoWarning;
            self.root_delay = 0.0;
            self.root_disp = p.filter.dispersion;
            self.reftime = clock;
            self.last_update = Some(now);
            self.publish_status();
            return;
        }
        if !survivor {
            return;
        }
        self.discipline(now, clock, &sel);
    }

    /// No usable source: after the root distance has grown past maxdist, or when never
    /// synchronised, say so.
    fn age_out(&mut self, now: f64) {
        if self.orphan {
            return;
        }
        let aged = match self.last_update {
            Some(t) => {
                self.root_delay / 2.0
                    + self.root_disp
                    + self.cfg.tinker.dispersion * (now - t.as_secs_f64())
                    > self.cfg.tos.maxdist
            }
            None => true,
        };
        if aged && self.leap != LeapIndicator::Unsynchronized {
            self.leap = LeapIndicator::Unsynchronized;
            self.stratum = STRATUM_UNSPEC;
            self.publish_status();
        }
    }

    fn step(&mut self, now: MonoTime, offset: f64) {
        let nowf = now.as_secs_f64();
        self.actions.push_back(Action::Clock(ClockAction::Step(
            NtpDuration::from_seconds_f64(offset),
        )));
        self.q_base = self.q_at(nowf) + offset;
        self.q_time = nowf;
        self.slew_end = None;
        let f = self.f_est;
        self.set_freq(nowf, f);
        self.steps += 1;
        self.first_adjust_done = true;
        self.spike_since = None;
        self.state = DisciplineState::Frequency;
        self.refid = RefId::STEP;
        self.restart_measurements(now);
    }

    /// After a step (ours or another program's): every sample, estimate and answer in flight
    /// was taken on the old time scale, so all are dropped, and iburst sources burst again.
    fn restart_measurements(&mut self, now: MonoTime) {
        self.sys_peer = None;
        for p in &mut self.peers {
            if p.is_local() || p.removed {
                continue;
            }
            p.clear_measurements();
            p.select = SelectStatus::Rejected;
            if p.cfg.iburst && !p.denied {
                p.burst_left = 0;
                p.next_poll = p.next_poll.min(now.add_secs_f64(BURST_SPACING));
                p.reach = Reach::default();
                p.unreach = 0;
            }
        }
    }

    /// The clock was stepped by about `delta` seconds by someone else (an administrator, a
    /// VM resume, another daemon): the caller saw real time jump against monotonic time
    /// without a step of ours. The jump is not a network offset: measurements are restarted
    /// as after our own step, and the sources' next answers say how far off the clock now is,
    /// which the usual step/stepout policy then corrects.
    pub fn handle_clock_step(&mut self, now: MonoTime, delta: f64) {
        if !delta.is_finite() {
            return;
        }
        self.spike_since = None;
        self.restart_measurements(now);
        // A jump beyond the step threshold may have left the clock wrong by that much: until
        // the sources have been heard again, do not serve it as synchronised time.
        // (`tinker step 0` turns stepping off, not this check: the default threshold then.)
        let threshold = if self.cfg.tinker.step > 0.0 {
            self.cfg.tinker.step
        } else {
            crate::config::TinkerConfig::default().step
        };
        if delta.abs() > threshold && !self.orphan {
            self.leap = LeapIndicator::Unsynchronized;
            self.stratum = STRATUM_UNSPEC;
            self.refid = RefId::STEP;
            self.last_update = None;
            self.publish_status();
        }
    }

    fn refuse(&mut self, offset: f64) {
        self.panicked = true;
        self.state = DisciplineState::Panic;
        self.actions.push_back(Action::Panic { offset });
    }

    fn discipline(&mut self, now: MonoTime, clock: NtpTimestamp, sel: &Selection) {
        let nowf = now.as_secs_f64();
        let theta = sel.offset;
        let tk = &self.cfg.tinker;
        let panic_limit = if tk.panic > 0.0 {
            tk.panic
        } else {
            f64::INFINITY
        };
        let step_limit = if self.cfg.never_step || tk.step <= 0.0 {
            f64::INFINITY
        } else {
            tk.step
        };
        // Observing only: no step, no spike wait, no panic; the offset is reported as measured.
        if theta.abs() > step_limit && !self.cfg.observe_only {
            if !self.first_adjust_done {
                // First adjustment: step at once; -g lets it exceed the panic threshold.
                if theta.abs() > panic_limit && !self.cfg.allow_large_first_step {
                    self.refuse(theta);
                } else {
                    self.step(now, theta);
                }
                return;
            }
            let since = *self.spike_since.get_or_insert(now);
            if now.secs_since(since) < tk.stepout {
                self.state = DisciplineState::Spike;
                return;
            }
            // Run-time steps also draw on a budget (the panic threshold in total), so that
            // repeated steps just under the threshold cannot walk the clock away.
            if theta.abs() > panic_limit || self.runtime_stepped + theta.abs() > panic_limit {
                self.refuse(theta);
            } else {
                self.runtime_stepped += theta.abs();
                self.step(now, theta);
            }
            return;
        }
        if theta.abs() > panic_limit
            && !self.cfg.observe_only
            && (self.first_adjust_done || !self.cfg.allow_large_first_step)
        {
            self.refuse(theta);
            return;
        }
        self.spike_since = None;
        self.first_adjust_done = true;
        // Frequency: blend the regression slope with the prior while it is uncertain.
        let old = self.f_est;
        if let Some((f, sd)) = sel.freq {
            let k = self.freq_prior.powi(2) / (self.freq_prior.powi(2) + sd * sd);
            let lim = self.cfg.tinker.max_frequency;
            self.f_est = (old + k * (f - old)).clamp(-lim, lim);
            if self.state != DisciplineState::Sync {
                self.state = if sd < 1.0 {
                    DisciplineState::Sync
                } else {
                    DisciplineState::Frequency
                };
            }
        }
        let d = self.f_est - old;
        self.wander_acc = self.wander_acc * 0.75 + 0.25 * d * d;
        // Offset: slew it out by a temporary frequency offset over part of the poll.
        let hpoll = self.peers[sel.sys_peer].hpoll;
        let lim = self.cfg.tinker.max_frequency;
        let headroom = ((lim - self.f_est.abs()) * 1e-6).max(1e-6);
        let t = (2f64.powi(hpoll as i32) * SLEW_FRACTION)
            .max(theta.abs() / headroom)
            .max(1.0);
        let f = self.f_est + theta / t * 1e6;
        self.set_freq(nowf, f);
        self.slew_end = Some(now.add_secs_f64(t));
        // System variables (RFC 5905 section 11.2.3, clock_update).
        let p = &self.peers[sel.sys_peer];
        self.leap = sel.leap;
        self.stratum = p.stratum.saturating_add(1).min(STRATUM_UNSPEC);
        self.refid = RefId::from_ip(p.cfg.address.ip());
        self.root_delay = p.root_delay + p.filter.delay;
        self.root_disp = p.root_disp
            + p.filter.dispersion
            + sel.jitter
            + theta.abs()
            + self.cfg.tinker.dispersion * now.secs_since(self.last_update.unwrap_or(now));
        self.reftime = clock;
        self.offset = theta;
        self.sys_jitter = sel.jitter;
        self.clk_jitter = p.est.map_or(p.filter.jitter, |e| e.residual_rms);
        self.last_update = Some(now);
        self.updates += 1;
        self.adapt_poll(sel.sys_peer);
        self.publish_status();
        if self.cfg.statistics {
            let (mjd, sod) = mjd_sod(clock);
            let line = format!(
                "{mjd} {sod:.3} {theta:.9} {:.3} {:.9} {:.6} {}",
                self.f_est,
                self.clk_jitter,
                self.wander_acc.sqrt(),
                self.sys_poll
            );
            self.actions.push_back(Action::Stats(StatsLine {
                kind: StatsKind::Loop,
                line,
            }));
        }
    }

    /// Poll adaptation: lengthen the poll while the regression finds long linear stretches
    /// (the clock is predictable), shorten it when only few samples stay linear.
    fn adapt_poll(&mut self, sys: usize) {
        let used = self.peers[sys].est.map_or(0, |e| e.used);

        if self.state != DisciplineState::Sync {
            self.poll_score = 0;
            return;
        }
        if used >= POLL_UP_SAMPLES {
            self.poll_score += 1;
        } else if used <= POLL_DOWN_SAMPLES {
            self.poll_score -= 1;
        }
        if self.poll_score >= 4 {
            self.sys_poll = (self.sys_poll + 1).min(17);
            self.poll_score = 0;
        } else if self.poll_score <= -4 {
            self.sys_poll = (self.sys_poll - 1).max(3);
            self.poll_score = 0;
        }
        // Keep the system poll within what the sources allow.
        let (lo, hi) = self
            .peers
            .iter()
            .filter(|p| !p.removed && !p.is_local())
            .fold((17i8, 3i8), |(lo, hi), p| {
                (lo.min(p.cfg.minpoll.log2()), hi.max(p.cfg.maxpoll.log2()))
            });
        if lo <= hi {
            self.sys_poll = self.sys_poll.clamp(lo, hi);
        }
    }

    fn publish_status(&mut self) {
        let st = ClockStatus {
            leap: match self.leapfile.system_leap(self.leap) {
                LeapIndicator::AddSecond => LeapStatus::Insert,
                LeapIndicator::DeleteSecond => LeapStatus::Delete,
                _ => LeapStatus::None,
            },
            synchronized: self.leap != LeapIndicator::Unsynchronized,
            est_error: self.clk_jitter.max(self.sys_jitter),
            max_error: (self.root_delay / 2.0 + self.root_disp).min(16.0),
        };
        let changed = self
            .status
            .is_none_or(|s| s.leap != st.leap || s.synchronized != st.synchronized);
        if (changed || self.updates % 16 == 0) && !self.cfg.observe_only {
            self.status = Some(st);
            self.actions
                .push_back(Action::Clock(ClockAction::SetStatus(st)));
        }
    }

    /// The current frequency estimate (what the drift file should hold), ppm.
    pub fn frequency(&self) -> f64 {
        self.f_est
    }

    /// System and per-source variables as plain data.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            system: self.system_snapshot(),
            sources: self
                .peers
                .iter()
                .enumerate()
                .filter(|(_, p)| !p.removed)
                .map(|(i, p)| self.source_snapshot(i, p))
                .collect(),
        }
    }

    /// System variables only (cheap; what the server side publishes).
    pub fn system_snapshot(&self) -> SystemSnapshot {
        let table = self.leapfile.table();
        SystemSnapshot {
            leap: self.leapfile.system_leap(self.leap),
            served_leap: self.leapfile.served_leap(self.leap),
            tai: self.leapfile.tai(),
            leap_armed: self.leapfile.armed(),
            leap_table: table.and_then(|t| t.last_entry()),
            leap_expire: table.and_then(|t| t.expires()),
            stratum: self.stratum,
            precision: self.cfg.precision,
            root_delay: self.root_delay,
            root_dispersion: self.root_disp,
            refid: self.refid,
            reftime: self.reftime,
            last_update: self.last_update,
            sys_peer: self.sys_peer.map(SourceId),
            offset: self.offset,
            frequency: self.f_est,
            sys_jitter: self.sys_jitter,
            clk_jitter: self.clk_jitter,
            clk_wander: self.wander_acc.sqrt(),
            poll: self.sys_poll,
            state: self.state,
            orphan: self.orphan,
            steps: self.steps,
            updates: self.updates,
        }
    }

    fn source_snapshot(&self, i: usize, p: &Peer) -> SourceSnapshot {
        let st = p.filter.stages();
        SourceSnapshot {
            id: SourceId(i),
            address: p.cfg.address,
            local_clock: p.is_local(),
            symmetric: p.cfg.is_symmetric(),
            prefer: p.cfg.prefer,
            noselect: p.cfg.noselect,
            authenticated: p.authenticated,
            leap: p.leap,
            stratum: p.stratum,
            precision: p.precision,
            root_delay: p.root_delay,
            root_dispersion: p.root_disp,
            refid: p.refid,
            reftime: p.reftime,
            hpoll: p.hpoll,
            ppoll: p.ppoll,
            reach: p.reach.bits(),
            unreach: p.unreach,
            last_received: p.last_rx,
            next_poll: p.next_poll,
            offset: p.filter.offset,
            delay: p.filter.delay,
            dispersion: p.filter.dispersion,
            jitter: p.filter.jitter,
            root_distance: self.root_distance(p, p.filter.time),
            frequency: p.est.and_then(|e| e.slope).map(|s| s * 1e6),
            select: p.select,
            flash: p.flash,
            filter_offset: st.map(|s| s.offset),
            filter_delay: st.map(|s| s.delay),
            filter_dispersion: st.map(|s| s.dispersion),
            sent: p.sent,
            received: p.received,
            rejected: p.rejected,
            kod: p.kod,
            denied: p.denied,
        }
    }
}
