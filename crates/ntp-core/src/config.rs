//! Engine configuration: the subset of ntp.conf the engine needs (`server`/`pool` options,
//! `tos`, `tinker`, `-g`, the drift value), as plain typed values. The daemon maps the parsed
//! ntp.conf onto these; defaults are classic ntpd 4.2.8's (RFC 5905 figure 6 where classic
//! agrees).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use ntp_wire::{PollInterval, RefId, SymmetricKey};

/// The address classic uses for the local clock driver (`server 127.127.1.0`).
pub const LOCAL_CLOCK_ADDR: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 127, 1, 0)), 123);

/// What kind of source an association is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// A remote server polled in client mode (mode 3 out, mode 4 back).
    Server,
    /// The local clock driver: a last-resort source that always reports offset zero.
    Local {
        /// `fudge 127.127.1.0 stratum N` (default 5).
        stratum: u8,
        /// `fudge 127.127.1.0 refid XXXX` (default `LOCL`).
        refid: RefId,
    },
    /// A `peer` line: symmetric active (mode 1 out, mode 1 or 2 back), RFC 5905 basic mode.
    /// Only authenticated: packets must carry a valid MAC by the association's key.
    Symmetric {
        /// Our address as the peer sees it (the local address we send from), as a refid: a
        /// peer reporting it is synchronised to us (a loop, never selected).
        local_refid: Option<RefId>,
    },
}

/// One `server` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceConfig {
    /// Where to send requests.
    pub address: SocketAddr,
    /// Server or local clock.
    pub kind: SourceKind,
    /// `minpoll` (default 6).
    pub minpoll: PollInterval,
    /// `maxpoll` (default 10).
    pub maxpoll: PollInterval,
    /// `iburst`: a burst of requests while unreachable.
    pub iburst: bool,
    /// `burst`: a burst of requests at every poll while reachable.
    pub burst: bool,
    /// `prefer`.
    pub prefer: bool,
    /// `noselect`: polled and shown, never selected.
    pub noselect: bool,
    /// `true`: always survives the intersection algorithm.
    pub truechimer: bool,
    /// `key N`: requests are signed and responses must verify with this key.
    pub key: Option<SymmetricKey>,
    /// `version` (default 4).
    pub version: u8,
}

impl SourceConfig {
    /// A server with classic defaults.
    pub fn server(address: SocketAddr) -> Self {
        SourceConfig {
            address,
            kind: SourceKind::Server,
            minpoll: PollInterval::DEFAULT_MIN,
            maxpoll: PollInterval::DEFAULT_MAX,
            iburst: false,
            burst: false,
            prefer: false,
            noselect: false,
            truechimer: false,
            key: None,
            version: 4,
        }
    }

    /// The local clock driver with the given `fudge` stratum and refid.
    pub fn local(stratum: u8, refid: RefId) -> Self {
        SourceConfig {
            kind: SourceKind::Local { stratum, refid },
            ..SourceConfig::server(LOCAL_CLOCK_ADDR)
        }
    }

    /// A symmetric active peer (`peer ADDR key N`) with classic defaults; `key` is required
    /// by the engine (packets of a keyless peer association are all rejected).
    pub fn symmetric(address: SocketAddr, key: SymmetricKey) -> Self {
        SourceConfig {
            kind: SourceKind::Symmetric { local_refid: None },
            key: Some(key),
            ..SourceConfig::server(address)
        }
    }

    /// True for a `peer` (symmetric active) association.
    pub fn is_symmetric(&self) -> bool {
        matches!(self.kind, SourceKind::Symmetric { .. })
    }
}

/// `tos` settings (selection thresholds and orphan mode).
#[derive(Debug, Clone, PartialEq)]
pub struct TosConfig {
    /// `minsane`: survivors of the intersection needed to synchronise (default 1).
    pub minsane: usize,
    /// `minclock`: the cluster algorithm stops pruning at this many survivors (default 3).
    pub minclock: usize,
    /// `maxclock`: most candidates considered (default 10).
    pub maxclock: usize,
    /// `maxdist`: root distance above which a source is unfit, seconds (default 1.5).
    pub maxdist: f64,
    /// `mindist`: floor of the root distance, seconds (default 0.001).
    pub mindist: f64,
    /// `orphan N`: stratum to assume when no source is usable (None: orphan mode off).
    pub orphan: Option<u8>,
    /// `orphanwait`: seconds without a source before orphan mode starts (default 300).
    pub orphanwait: f64,
    /// `ceiling`: sources at or above this stratum are unfit (default 16).
    pub ceiling: u8,
    /// `floor`: sources below this stratum are unfit (default 1).
    pub floor: u8,
}

impl Default for TosConfig {
    fn default() -> Self {
        TosConfig {
            minsane: 1,
            minclock: 3,
            maxclock: 10,
            maxdist: 1.5,
            mindist: 0.001,
            orphan: None,
            orphanwait: 300.0,
            ceiling: 16,
            floor: 1,
        }
    }
}

/// `tinker` settings and the step policy.
#[derive(Debug, Clone, PartialEq)]
pub struct TinkerConfig {
    /// `tinker step`: offsets above this are stepped, seconds (default 0.128; 0 = never step).
    pub step: f64,
    /// `tinker stepout`: how long an offset above `step` must persist before a step at run
    /// time, seconds (default 300).
    pub stepout: f64,
    /// `tinker panic`: offsets above this are refused, seconds (default 1000; 0 = no limit).
    pub panic: f64,
    /// `tinker dispersion`: frequency tolerance PHI, s/s (default 15e-6).
    pub dispersion: f64,
    /// Largest frequency correction, ppm (default 500).
    pub max_frequency: f64,
}

impl Default for TinkerConfig {
    fn default() -> Self {
        TinkerConfig {
            step: 0.128,
            stepout: 300.0,
            panic: 1000.0,
            dispersion: 15e-6,
            max_frequency: 500.0,
        }
    }
}

/// Everything the engine needs at start-up.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// Seed of the engine's PRNG (transmit timestamps, poll jitter). The daemon draws it from
    /// the OS random source; simulations fix it.
    pub seed: u64,
    /// Clock precision, log2 seconds (the daemon measures it; default -20).
    pub precision: i8,
    /// `tos`.
    pub tos: TosConfig,
    /// `tinker`.
    pub tinker: TinkerConfig,
    /// `-g`: allow the first adjustment to exceed the panic threshold (once).
    pub allow_large_first_step: bool,
    /// `-x`/`tinker step 0` style: never step, always slew.
    pub never_step: bool,
    /// `disable ntp`: measure, select and report, but never touch the clock (no clock
    /// actions at all, and no correction is assumed to have been applied).
    pub observe_only: bool,
    /// The frequency read from the drift file, ppm (None when there is no drift file).
    pub initial_frequency: Option<f64>,
    /// How often the drift value may be saved, seconds (default 3600).
    pub drift_save_interval: f64,
    /// The drift value is saved only when it moved by more than this, ppm (default 0.1).
    pub drift_save_threshold: f64,
    /// Emit statistics lines (loopstats/peerstats) as actions.
    pub statistics: bool,
    /// Our own refids (addresses); a source reporting one of them is a sync loop.
    pub local_refids: Vec<RefId>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            seed: 0,
            precision: -20,
            tos: TosConfig::default(),
            tinker: TinkerConfig::default(),
            allow_large_first_step: false,
            never_step: false,
            observe_only: false,
            initial_frequency: None,
            drift_save_interval: 3600.0,
            drift_save_threshold: 0.1,
            statistics: false,
            local_refids: Vec::new(),
        }
    }
}
