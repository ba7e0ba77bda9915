//! The daemon side of mode 6 (ntpq) and mode 7 (ntpdc): an adapter that shows the engine's
//! snapshot, the server workers' counters, the MRU table, the restrict table and the keys to the
//! sans-IO responders of `ntp-control`, plus the per-request access decision and the event
//! counters of the classic status words.
//!
//! Access (security.md rules 2 and 3): a request is "loopback" only when its source is a
//! loopback address AND it arrived on a loopback address (CVE-2014-9298). For any other source,
//! the restrict table decides (`ignore`/`noquery` give no reply); a configuration without any
//! `restrict` line answers loopback only (every other source is treated as `noquery`). Mode 7
//! additionally needs `enable mode7` for sources that are not loopback (the responder checks).
//! Nothing here changes the daemon's state over the network: WRITEVAR `leap` and every mode 7
//! change are refused.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use ntp_conf::{Config, RestrictTable, SystemFlag};
use ntp_control::mode6::responder::{
    ControlData, RequestMeta as Meta6, Responder as Responder6, Restrictions,
};
use ntp_control::mode6::vars::{
    AuthStats, ClockVars, InterfaceEntry, IoStats, KernelVars, MonStats, MruEntry as Mru6, MruList,
    PeerVars, RestrictAccess, RestrictEntry as Restrict6, RestrictMatch, SysStats, SystemVars,
    TimerStats,
};
use ntp_control::mode7::responder::{
    ChangeRefused, PrivateChange, PrivateData, RequestMeta as Meta7, Responder as Responder7,
    RestrictFlags as Restrict7Flags, TrustedKeys,
};
use ntp_core::server::{DropReason, KeyStore, RateLimiter};
use ntp_core::{SelectStatus, Snapshot, SourceConfig, SourceId, SourceSnapshot};
use ntp_wire::mode6::{AssocStatus, ClockStatus, PeerStatus, SystemStatus};
use ntp_wire::mode7::{
    peer_flags, sys_flags, InfoAuth, InfoControl, InfoIfStats, InfoIoStats, InfoKernel, InfoLoop,
    InfoMemStats, InfoPeer, InfoPeerList, InfoPeerStats, InfoPeerSummary, InfoRestrict, InfoSys,
    InfoSysStats, InfoTimerStats, LFp, SFp, UFp,
};
use ntp_wire::{NtpTimestamp, SymmetricKey};

use crate::net::is_loopback;
use crate::server::{ControlDatagram, CounterTotals, KeyRing, BATCH};
use crate::setup::MRU_SLOT_BYTES;

/// The first association id; classic numbers its associations from a similar base.
pub const ASSOC_BASE: u16 = 10_000;
/// Host mode client, and mode server for the last packet of a polled server.
const MODE_CLIENT: u8 = 3;
const MODE_SERVER: u8 = 4;
/// Symmetric active: our mode, and the peer's, for a `peer` association.
const MODE_ACTIVE: u8 = 1;

/// (hmode, pmode) of an association: (1, 1) for a `peer`, (3, 4) for a server.
fn modes(s: &SourceSnapshot) -> (u8, u8) {
    if s.symmetric {
        (MODE_ACTIVE, MODE_ACTIVE)
    } else {
        (MODE_CLIENT, MODE_SERVER)
    }
}
/// System status clock sources (`CTL_SST_TS_*`).
const SST_LOCAL: u8 = 5;
const SST_NTP: u8 = 6;
/// Peer events (`PEVNT_*`).
const PEVNT_MOBIL: u8 = 1;
const PEVNT_UNREACH: u8 = 3;
const PEVNT_REACH: u8 = 4;
const PEVNT_NEWPEER: u8 = 10;
/// System events (`EVNT_*`).
const EVNT_NSET: u8 = 1;
const EVNT_FSET: u8 = 2;
const EVNT_SPIK: u8 = 3;
const EVNT_FREQ: u8 = 4;
const EVNT_SYNC: u8 = 5;
const EVNT_SYSRESTART: u8 = 6;
const EVNT_SYSFAULT: u8 = 7;
const EVNT_NOPEER: u8 = 8;
const EVNT_ARMED: u8 = 9;
const EVNT_DISARMED: u8 = 10;
const EVNT_LEAP: u8 = 11;
/// Classic `INT_*` interface flags.
const INT_UP: u32 = 0x1;
const INT_LOOPBACK: u32 = 0x4;
const INT_BROADCAST: u32 = 0x8;
const INT_MULTICAST: u32 = 0x10;
/// `IFS_EXISTS`: an interface listed because it exists (not created or deleted just now).
const IFS_EXISTS: u8 = 1;
/// Classic MRU defaults (`mru_mindepth`, `mru_maxage`).
const MRU_MINDEPTH: u64 = 600;
const MRU_MAXAGE: i64 = 64;

/// The association id of an engine source, `None` beyond the u16 range.
pub fn assoc_id(id: SourceId) -> Option<u16> {
    u16::try_from(usize::from(ASSOC_BASE).checked_add(id.0)?).ok()
}

fn source_of(assoc: u16) -> Option<SourceId> {
    assoc
        .checked_sub(ASSOC_BASE)
        .map(|i| SourceId(usize::from(i)))
}

/// One status word's event bookkeeping: events since the last authenticated read (0..=15)
/// and the last event code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Events {
    count: u8,
    last: u8,
}

impl Events {
    fn record(&mut self, code: u8) {
        self.count = (self.count + 1).min(15);
        self.last = code;
    }
}

/// What the previous observation saw of one source, to turn changes into peer events.
#[derive(Debug, Clone, Copy, Default)]
struct SourceTrack {
    events: Events,
    reachable: bool,
    system_peer: bool,
}

/// Static facts about a source the snapshot does not carry.
#[derive(Debug, Clone, Copy, Default)]
struct SourceInfo {
    keyid: u32,
    /// From a `pool` line: preemptible, so not `conf` in the status word (classic).
    pool: bool,
}

/// One address the daemon listens on, as the daemon publishes it (see `rescan`).
#[derive(Debug, Clone)]
pub struct Listening {
    /// Interface number (classic `ifnum`; stable for the address's lifetime).
    pub num: u32,
    /// Address and port.
    pub addr: SocketAddr,
    /// When serving began, in daemon monotonic seconds.
    pub since: f64,
    /// The counters of the workers serving it (empty: not known).
    pub counters: Vec<std::sync::Arc<crate::server::WorkerCounters>>,
}

/// One address the daemon listens on.
#[derive(Debug, Clone)]
struct Interface {
    num: u32,
    since: f64,
    counters: Vec<std::sync::Arc<crate::server::WorkerCounters>>,
    addr: SocketAddr,
    name: String,
    mask: Option<IpAddr>,
    bcast: Option<IpAddr>,
    flags: u32,
}

/// Counters of the control protocols themselves (`ctlstats`).
#[derive(Debug, Clone, Copy, Default)]
struct CtlCounters {
    requests: u64,
    responses: u64,
    fragments: u64,
    errors: u64,
}

/// Everything a request is answered from, gathered by the daemon for one request.
#[derive(Debug)]
pub struct Inputs<'a> {
    /// The engine's state.
    pub snapshot: &'a Snapshot,
    /// Daemon monotonic seconds (the engine's clock).
    pub now_mono: f64,
    /// The wall clock now.
    pub wall: NtpTimestamp,
    /// Sum of the server workers' counters.
    pub totals: &'a CounterTotals,
    /// The restrict table in force.
    pub table: &'a RestrictTable,
    /// The trusted keys.
    pub keys: &'a KeyRing,
    /// The rate-limit table, which is also the MRU list. Its rows are copied out only for
    /// an `mrulist` answer: every other reply reads its counts, so an admitted query costs
    /// no walk and sort of a table that may hold millions of rows.
    pub limiter: &'a RateLimiter,
    /// The configuration.
    pub config: &'a Config,
    /// `disable ntp`: the clock is never adjusted.
    pub observe_only: bool,
    /// Server worker threads (for the receive-buffer figures).
    pub workers: usize,
    /// The local address each upstream source's socket uses.
    pub source_locals: &'a HashMap<SocketAddr, SocketAddr>,
    /// The last hourly sysstats reset.
    pub stats_reset: &'a StatsReset,
}

/// Where the sysstats counters were last cleared (classic `proto_clr_stats()`, hourly after
/// the `sysstats` line is written): mode 6/7 show the counts since then.
#[derive(Debug, Clone, Default)]
pub struct StatsReset {
    /// Daemon monotonic seconds of the reset.
    pub at_mono: f64,
    /// The cumulative counters at the reset.
    pub base: SysStats,
}

/// The cumulative sysstats counters from the workers' totals and the engine's sources (uptime
/// and reset left 0), mapped onto classic's `sys_*` counters.
pub fn sys_counters(t: &CounterTotals, snap: &Snapshot) -> SysStats {
    let drop = |r: DropReason| t.drops.get(r.index()).copied().unwrap_or(0);
    let restricted = drop(DropReason::Ignored)
        + drop(DropReason::NoServe)
        + drop(DropReason::OldVersion)
        + drop(DropReason::NotTrusted);
    let badformat = drop(DropReason::Malformed) + drop(DropReason::BadPort);
    let declined = drop(DropReason::BadVersion) + drop(DropReason::BadMode);
    let from_sources: u64 = snap.sources.iter().map(|s| s.received).sum();
    SysStats {
        received: t.received,
        thisver: t.received.saturating_sub(declined + badformat),
        oldver: 0,
        badformat,
        badauth: t.naks,
        declined,
        restricted,
        limited: drop(DropReason::RateLimited) + t.kods,
        kodsent: t.kods,
        processed: t.replies + from_sources,
        ..SysStats::default()
    }
}

/// `now - base` counter by counter (uptime and reset copied from `now`).
pub fn counters_since(now: &SysStats, base: &SysStats) -> SysStats {
    let d = |a: u64, b: u64| a.saturating_sub(b);
    SysStats {
        uptime: now.uptime,
        reset: now.reset,
        received: d(now.received, base.received),
        thisver: d(now.thisver, base.thisver),
        oldver: d(now.oldver, base.oldver),
        badformat: d(now.badformat, base.badformat),
        badauth: d(now.badauth, base.badauth),
        declined: d(now.declined, base.declined),
        restricted: d(now.restricted, base.restricted),
        limited: d(now.limited, base.limited),
        kodsent: d(now.kodsent, base.kodsent),
        processed: d(now.processed, base.processed),
        lamport: d(now.lamport, base.lamport),
        tsrounding: d(now.tsrounding, base.tsrounding),
    }
}

/// The control protocols' state for the daemon's lifetime.
pub struct Control {
    mode6: Responder6,
    mode7: Responder7,
    version: String,
    processor: String,
    system: String,
    sys_events: Events,
    last_state: Option<ntp_core::DisciplineState>,
    last_sys_peer: Option<SourceId>,
    /// Leap armed and TAI offset at the last observation.
    last_leap: (bool, i32),
    sources: HashMap<SourceId, SourceTrack>,
    info: HashMap<SourceId, SourceInfo>,
    interfaces: Vec<Interface>,
    ctl: CtlCounters,
    mru_deepest: u64,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("version", &self.version)
            .field("interfaces", &self.interfaces)
            .finish_non_exhaustive()
    }
}

impl Control {
    /// The control state for a daemon listening on `listen`, with OS randomness for the nonce
    /// secret and the response noise.
    pub fn new(listen: &[SocketAddr], nonce_secret: [u8; 16], noise_seed: u64) -> Self {
        let mut sorted = listen.to_vec();
        sorted.sort();
        let listen: Vec<Listening> = sorted
            .into_iter()
            .zip(0u32..)
            .map(|(addr, num)| Listening {
                num,
                addr,
                since: 0.0,
                counters: Vec::new(),
            })
            .collect();
        let mut sys_events = Events::default();
        sys_events.record(EVNT_SYSRESTART);
        Control {
            mode6: Responder6::new(nonce_secret, noise_seed),
            mode7: Responder7::new(),
            version: crate::cli::version_line(),
            processor: std::env::consts::ARCH.to_string(),
            system: system_name(),
            sys_events,
            last_state: None,
            last_sys_peer: None,
            last_leap: (false, 0),
            sources: HashMap::new(),
            info: HashMap::new(),
            interfaces: interfaces(&listen),
            ctl: CtlCounters::default(),
            mru_deepest: 0,
        }
    }

    /// Replace the published interface list (after an interface rescan, or once the
    /// listeners' counters exist).
    pub fn set_interfaces(&mut self, listen: &[Listening]) {
        self.interfaces = interfaces(listen);
    }

    /// Record a new association (its mobilize event, its key, whether a `pool` line made it).
    pub fn source_added(&mut self, id: SourceId, cfg: &SourceConfig, pool: bool) {
        let mut track = SourceTrack::default();
        track.events.record(PEVNT_MOBIL);
        self.sources.insert(id, track);
        self.info.insert(
            id,
            SourceInfo {
                keyid: cfg.key.as_ref().map_or(0, |k| k.id),
                pool,
            },
        );
    }

    /// Turn changes since the last call into the classic system and peer events.
    pub fn observe(&mut self, snap: &Snapshot) {
        let sys = &snap.system;
        if self.last_state != Some(sys.state) {
            let code = match sys.state {
                ntp_core::DisciplineState::NoFrequency => EVNT_NSET,
                ntp_core::DisciplineState::FrequencySet => EVNT_FSET,
                ntp_core::DisciplineState::Spike => EVNT_SPIK,
                ntp_core::DisciplineState::Frequency => EVNT_FREQ,
                ntp_core::DisciplineState::Sync => EVNT_SYNC,
                ntp_core::DisciplineState::Panic => EVNT_SYSFAULT,
            };
            // The start-up state is not an event: classic reports the restart first.
            if self.last_state.is_some() {
                self.sys_events.record(code);
            }
            self.last_state = Some(sys.state);
        }
        for s in &snap.sources {
            let t = self.sources.entry(s.id).or_default();
            let reachable = s.reach != 0;
            if reachable != t.reachable {
                t.events.record(if reachable {
                    PEVNT_REACH
                } else {
                    PEVNT_UNREACH
                });
                t.reachable = reachable;
            }
            let sp = s.select == SelectStatus::SystemPeer;
            if sp && !t.system_peer {
                t.events.record(PEVNT_NEWPEER);
            }
            t.system_peer = sp;
        }
        if self.last_sys_peer.is_some() && sys.sys_peer.is_none() {
            self.sys_events.record(EVNT_NOPEER);
        }
        self.last_sys_peer = sys.sys_peer;
        // Leap file events as classic's check_leapsec(): armed, disarmed, or the leap itself
        // (the TAI offset moved on).
        let (armed, tai) = self.last_leap;
        if sys.leap_armed && !armed {
            self.sys_events.record(EVNT_ARMED);
        } else if !sys.leap_armed && armed {
            self.sys_events.record(if sys.tai != tai {
                EVNT_LEAP
            } else {
                EVNT_DISARMED
            });
        }
        self.last_leap = (sys.leap_armed, sys.tai);
    }

    /// True when the responders could answer `d` at all: not `ignore`/`noquery` (or no
    /// restrict line and not loopback), and for mode 7 loopback or `enable mode7`. The daemon
    /// asks first so a flood of refused queries costs no snapshot. The responders apply the
    /// same policy again.
    pub fn admits(d: &ControlDatagram, table: &RestrictTable, config: &Config) -> bool {
        let loopback = is_loopback(&d.from.ip()) && is_loopback(&d.local.ip());
        let flags = table.lookup(d.from).flags;
        let refused = flags.contains(ntp_conf::RestrictFlags::IGNORE)
            || flags.contains(ntp_conf::RestrictFlags::NOQUERY)
            || (!loopback && config.restrictions.is_empty());
        let mode7_ok = loopback || config.system_flag(SystemFlag::Mode7) == Some(true);
        match d.data.first().map(|b| b & 7) {
            Some(6) => !refused,
            Some(7) => !refused && mode7_ok,
            _ => false,
        }
    }

    /// Answer one mode 6 or mode 7 datagram: the reply datagrams (none to stay silent).
    pub fn handle(&mut self, d: &ControlDatagram, inputs: &Inputs<'_>) -> Vec<Vec<u8>> {
        self.observe(inputs.snapshot);
        let loopback = is_loopback(&d.from.ip()) && is_loopback(&d.local.ip());
        let flags = inputs.table.lookup(d.from).flags;
        let has = |f: ntp_conf::RestrictFlags| flags.contains(f);
        // No restrict line at all: loopback only (the table alone would allow everyone).
        let default_deny = !loopback && inputs.config.restrictions.is_empty();
        let noquery = has(ntp_conf::RestrictFlags::NOQUERY) || default_deny;
        let ignore = has(ntp_conf::RestrictFlags::IGNORE);
        let nomodify = has(ntp_conf::RestrictFlags::NOMODIFY);
        let mode = d.data.first().map_or(0, |b| b & 7);
        let depth = inputs.limiter.occupied() as u64;
        self.mru_deepest = self.mru_deepest.max(depth);
        let Control {
            mode6,
            mode7,
            version,
            processor,
            system,
            sys_events,
            sources,
            info,
            interfaces,
            ctl,
            mru_deepest,
            ..
        } = self;
        let mut view = View {
            inputs,
            version,
            processor,
            system,
            sys_events,
            sources,
            info,
            interfaces,
            ctl: *ctl,
            mru_deepest: *mru_deepest,
        };
        let replies = match mode {
            6 => {
                ctl.requests += 1;
                let meta = Meta6 {
                    source: d.from,
                    loopback,
                    restrict: Restrictions {
                        ignore,
                        noquery,
                        nomodify,
                        nomrulist: has(ntp_conf::RestrictFlags::NOMRULIST),
                    },
                    monotonic: Duration::from_secs_f64(inputs.now_mono.max(0.0)),
                };
                let r = mode6.handle(&d.data, &meta, &mut view);
                if !r.is_empty() {
                    ctl.responses += 1;
                    ctl.fragments += r.len() as u64;
                    // The E bit of the first reply: an error response.
                    if r.first()
                        .and_then(|p| p.get(1))
                        .is_some_and(|b| b & 0x40 != 0)
                    {
                        ctl.errors += 1;
                    }
                }
                r
            }
            7 => {
                let keys = KeyView(inputs.keys);
                let meta = Meta7 {
                    source: d.from,
                    loopback,
                    mode7_enabled: inputs.config.system_flag(SystemFlag::Mode7) == Some(true),
                    restrict: Restrict7Flags {
                        ignore,
                        noquery,
                        nomodify,
                    },
                    receive_time: d.rx,
                    request_key: inputs
                        .config
                        .requestkey
                        .as_ref()
                        .map(|(k, _)| u32::from(*k)),
                    keys: &keys,
                };
                mode7.handle(&d.data, &meta, &mut view)
            }
            _ => Vec::new(),
        };
        replies
    }
}

/// `sysname/release` from /proc (classic uses uname(2)).
fn system_name() -> String {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let sys = read("/proc/sys/kernel/ostype");
    let rel = read("/proc/sys/kernel/osrelease");
    match (sys.is_empty(), rel.is_empty()) {
        (true, _) => std::env::consts::OS.to_string(),
        (false, true) => sys,
        (false, false) => format!("{sys}/{rel}"),
    }
}

/// The interfaces behind the listening addresses, with names and masks from getifaddrs.
fn interfaces(listen: &[Listening]) -> Vec<Interface> {
    let mut known: HashMap<IpAddr, (String, Option<IpAddr>, Option<IpAddr>, bool)> = HashMap::new();
    if let Ok(list) = nix::ifaddrs::getifaddrs() {
        for ifa in list {
            let ip = |a: Option<nix::sys::socket::SockaddrStorage>| -> Option<IpAddr> {
                let a = a?;
                if let Some(v4) = a.as_sockaddr_in() {
                    Some(IpAddr::V4(v4.ip()))
                } else {
                    a.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
                }
            };
            let Some(addr) = ip(ifa.address) else {
                continue;
            };
            let bcast = ip(ifa.broadcast);
            let mask = ip(ifa.netmask);
            let lo = ifa
                .flags
                .contains(nix::net::if_::InterfaceFlags::IFF_LOOPBACK);
            known
                .entry(addr)
                .or_insert((ifa.interface_name.clone(), mask, bcast, lo));
        }
    }
    let mut sorted: Vec<&Listening> = listen.iter().collect();
    sorted.sort_by_key(|l| l.num);
    sorted
        .into_iter()
        .map(|l| {
            let addr = l.addr;
            let (name, mask, bcast, lo) = known.get(&addr.ip()).cloned().unwrap_or((
                String::new(),
                None,
                None,
                is_loopback(&addr.ip()),
            ));
            let flags = INT_UP
                | if lo {
                    INT_LOOPBACK
                } else if addr.is_ipv4() {
                    INT_BROADCAST | INT_MULTICAST
                } else {
                    INT_MULTICAST
                };
            Interface {
                num: l.num,
                since: l.since,
                counters: l.counters.clone(),
                addr,
                name,
                mask,
                bcast: if lo { None } else { bcast },
                flags,
            }
        })
        .collect()
}

/// Trusted keys for the mode 7 responder.
struct KeyView<'a>(&'a KeyRing);

impl TrustedKeys for KeyView<'_> {
    fn trusted_key(&self, id: u32) -> Option<&SymmetricKey> {
        self.0.trusted_key(id)
    }
}

/// One request's view of the daemon, for both responders.
struct View<'a, 'b> {
    inputs: &'a Inputs<'b>,
    version: &'a str,
    processor: &'a str,
    system: &'a str,
    sys_events: &'a mut Events,
    sources: &'a mut HashMap<SourceId, SourceTrack>,
    info: &'a HashMap<SourceId, SourceInfo>,
    interfaces: &'a [Interface],
    ctl: CtlCounters,
    mru_deepest: u64,
}

/// Classic's maximum dispersion: an empty clock-filter stage.
const MAXDISPERSE: f64 = 16.0;
/// Classic's `NTP_MAXDPOLL`, the peer poll until the peer has said otherwise.
const MAXDPOLL: u8 = 10;

/// The peer's poll exponent; before it has said (the local clock never does), classic's
/// initial `ppoll`.
fn peer_poll(s: &SourceSnapshot) -> u8 {
    if s.ppoll > 0 {
        s.ppoll as u8
    } else {
        MAXDPOLL
    }
}

/// Delay, offset and dispersion of the clock filter, newest first, with empty stages as
/// classic shows them (delay and offset 0, dispersion 16 s).
fn filter_register(s: &SourceSnapshot) -> ([f64; 8], [f64; 8], [f64; 8]) {
    let mut delay = [0.0; 8];
    let mut offset = [0.0; 8];
    let mut disp = [MAXDISPERSE; 8];
    let stages = s
        .filter_delay
        .iter()
        .zip(&s.filter_offset)
        .zip(&s.filter_dispersion);
    for (i, ((d, o), e)) in stages.enumerate().take(8) {
        let empty = !d.is_finite() || *d >= MAXDISPERSE || !e.is_finite() || *e >= MAXDISPERSE;
        if !empty {
            delay[i] = *d;
            offset[i] = if o.is_finite() { *o } else { 0.0 };
            disp[i] = *e;
        }
    }
    (delay, offset, disp)
}

/// Seconds to the raw 64-bit NTP fixed-point difference.
fn secs_to_raw(secs: f64) -> u64 {
    (secs.max(0.0) * 4_294_967_296.0) as u64
}

fn v4_or_zero(a: IpAddr) -> Ipv4Addr {
    match a {
        IpAddr::V4(v) => v,
        IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
    }
}

fn v6_or_zero(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V6(v) => v,
        IpAddr::V4(_) => Ipv6Addr::UNSPECIFIED,
    }
}

fn sat32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl View<'_, '_> {
    fn snap(&self) -> &Snapshot {
        self.inputs.snapshot
    }

    fn source(&self, id: SourceId) -> Option<&SourceSnapshot> {
        self.snap().sources.iter().find(|s| s.id == id)
    }

    fn uptime(&self) -> u64 {
        self.inputs.now_mono.max(0.0) as u64
    }

    /// Seconds interface `i` has been served.
    fn if_uptime(&self, i: &Interface) -> u64 {
        (self.inputs.now_mono - i.since).max(0.0) as u64
    }

    /// Wall-clock raw NTP time of a monotonic instant (seconds).
    fn mono_to_raw(&self, mono: f64) -> u64 {
        let age = (self.inputs.now_mono - mono).max(0.0);
        self.inputs.wall.to_bits().wrapping_sub(secs_to_raw(age))
    }

    fn keyid(&self, id: SourceId) -> u32 {
        self.info.get(&id).map_or(0, |i| i.keyid)
    }

    fn configured(&self, id: SourceId) -> bool {
        !self.info.get(&id).is_some_and(|i| i.pool)
    }

    fn local_of(&self, s: &SourceSnapshot) -> Option<SocketAddr> {
        if s.local_clock {
            return Some(SocketAddr::from(([127, 0, 0, 1], 123)));
        }
        self.inputs.source_locals.get(&s.address).copied()
    }

    /// The association `peer` names: same address and port, or (ntpdc names peers by address
    /// only and a refclock's port is nominal) the only association with that address.
    fn find_peer(&self, peer: SocketAddr) -> Option<&SourceSnapshot> {
        let srcs = &self.snap().sources;
        srcs.iter().find(|s| s.address == peer).or_else(|| {
            let mut same_ip = srcs.iter().filter(|s| s.address.ip() == peer.ip());
            match (same_ip.next(), same_ip.next()) {
                (Some(one), None) => Some(one),
                _ => None,
            }
        })
    }

    /// The system reference id as classic sets it in `clock_update()`: above stratum 1 it is
    /// the system peer's address (so `127.127.1.0` for the local clock at stratum 11), else
    /// the peer's own reference id.
    fn system_refid(&self) -> [u8; 4] {
        let sys = &self.snap().system;
        match self.sys_peer() {
            Some(p) if (2..16).contains(&sys.stratum) => {
                ntp_wire::RefId::from_ip(p.address.ip()).to_bytes()
            }
            _ => sys.refid.to_bytes(),
        }
    }

    /// Associations whose packets leave from local address `ip`.
    fn peer_count(&self, ip: IpAddr) -> u64 {
        self.snap()
            .sources
            .iter()
            .filter(|s| self.local_of(s).is_some_and(|l| l.ip() == ip))
            .count() as u64
    }

    /// The local clock reports no precision of its own: it reads the system clock.
    fn precision_of(&self, s: &SourceSnapshot) -> i8 {
        if s.local_clock && s.precision == 0 {
            self.snap().system.precision
        } else {
            s.precision
        }
    }

    fn peer_status(&self, s: &SourceSnapshot) -> PeerStatus {
        let ev = self
            .sources
            .get(&s.id)
            .map(|t| t.events)
            .unwrap_or_default();
        PeerStatus {
            configured: self.configured(s.id),
            auth_enabled: self.keyid(s.id) != 0,
            authentic: s.authenticated,
            reachable: s.reach != 0,
            broadcast: false,
            select: s.select.code(),
            count: ev.count,
            event: ev.last,
        }
    }

    fn sys_peer(&self) -> Option<&SourceSnapshot> {
        self.snap().system.sys_peer.and_then(|id| self.source(id))
    }

    fn seconds_since(&self, s: &SourceSnapshot) -> u64 {
        s.last_received.map_or(0, |t| {
            (self.inputs.now_mono - t.as_secs_f64()).max(0.0) as u64
        })
    }

    fn totals(&self) -> &CounterTotals {
        self.inputs.totals
    }

    fn drop_count(&self, r: DropReason) -> u64 {
        self.totals().drops.get(r.index()).copied().unwrap_or(0)
    }

    fn sys_stats_vars(&self) -> SysStats {
        let reset = self.inputs.stats_reset;
        let now = sys_counters(self.totals(), self.snap());
        SysStats {
            uptime: self.uptime(),
            reset: (self.inputs.now_mono - reset.at_mono).max(0.0) as u64,
            ..counters_since(&now, &reset.base)
        }
    }

    fn io_vars(&self) -> IoStats {
        let t = self.totals();
        let srcs = &self.snap().sources;
        let rbufs = (self.inputs.workers.max(1) * BATCH) as u64;
        IoStats {
            reset: self.uptime(),
            total_rbuf: rbufs,
            free_rbuf: rbufs,
            used_rbuf: 0,
            rbuf_lowater: 0,
            dropped: t.dropped(),
            ignored: self.drop_count(DropReason::Ignored),
            received: t.received + srcs.iter().map(|s| s.received + s.rejected).sum::<u64>(),
            sent: t.replies
                + t.kods
                + t.naks
                + self.ctl.fragments
                + srcs.iter().map(|s| s.sent).sum::<u64>(),
            send_failed: t.send_errors,
            wakeups: t.received,
            good_wakeups: t.received,
        }
    }

    fn kernel(&self) -> Option<ntp_clock::KernelStatus> {
        if self.inputs.observe_only {
            return None;
        }
        ntp_clock::KernelClock::new().status().ok()
    }

    fn mon(&self) -> MonStats {
        let cap = self.inputs.limiter.capacity() as u64;
        let depth = self.inputs.limiter.occupied() as u64;
        MonStats {
            enabled: 1,
            depth,
            deepest: self.mru_deepest,
            mindepth: MRU_MINDEPTH,
            maxage: MRU_MAXAGE,
            maxdepth: cap,
            mem_kib: (depth * MRU_SLOT_BYTES).div_ceil(1024),
            maxmem_kib: (cap * MRU_SLOT_BYTES).div_ceil(1024),
        }
    }

    fn sys_flag_on(&self, f: SystemFlag, default: bool) -> bool {
        self.inputs.config.system_flag(f).unwrap_or(default)
    }

    fn peer_flags(&self, s: &SourceSnapshot) -> u16 {
        let mut f = if self.configured(s.id) {
            peer_flags::CONFIG
        } else {
            0
        };
        if s.select == SelectStatus::SystemPeer {
            f |= peer_flags::SYSPEER;
        }
        if s.local_clock {
            f |= peer_flags::REFCLOCK;
        }
        if s.prefer {
            f |= peer_flags::PREFER;
        }
        if self.keyid(s.id) != 0 {
            f |= peer_flags::AUTHENABLE;
        }
        let code = s.select.code();
        if code == SelectStatus::Outlier.code() {
            f |= peer_flags::SEL_CANDIDATE;
        }
        if code >= SelectStatus::Candidate.code() {
            f |= peer_flags::SHORTLIST;
        }
        f
    }
}

impl ControlData for View<'_, '_> {
    fn system_status(&self) -> SystemStatus {
        let sys = &self.snap().system;
        let source = match self.sys_peer() {
            Some(p) if p.local_clock => SST_LOCAL,
            Some(_) => SST_NTP,
            None => 0,
        };
        SystemStatus {
            leap: sys.leap.bits(),
            source,
            count: self.sys_events.count,
            event: self.sys_events.last,
        }
    }

    fn system(&self) -> SystemVars {
        let sys = &self.snap().system;
        let peer = self.sys_peer();
        let kernel = self.kernel().map(|k| KernelVars {
            offset_ms: k.offset * 1e3,
            freq_ppm: k.frequency,
            max_error_ms: k.max_error * 1e3,
            est_error_ms: k.est_error * 1e3,
            status: k.status as u32,
            time_constant: k.constant,
            precision_ms: 0.001,
            freq_tolerance_ppm: 500.0,
            pps: None,
        });
        let t = self.totals();
        SystemVars {
            status: self.system_status(),
            version: self.version.to_string(),
            processor: self.processor.to_string(),
            system: self.system.to_string(),
            leap: sys.leap.bits(),
            stratum: sys.stratum,
            precision: sys.precision,
            root_delay: sys.root_delay,
            root_dispersion: sys.root_dispersion,
            refid: self.system_refid(),
            reftime: sys.reftime.to_bits(),
            clock: self.inputs.wall.to_bits(),
            peer: peer.and_then(|p| assoc_id(p.id)).unwrap_or(0),
            peer_addr: peer.map(|p| p.address),
            peer_mode: peer.map_or(0, |p| modes(p).0),
            poll: sys.poll.max(0) as u8,
            min_poll: self
                .snap()
                .sources
                .iter()
                .map(|s| s.hpoll)
                .min()
                .unwrap_or(6)
                .clamp(0, 17) as u8,
            offset: sys.offset,
            frequency_ppm: sys.frequency,
            sys_jitter: sys.sys_jitter,
            clk_jitter: sys.clk_jitter,
            clk_wander_ppm: sys.clk_wander,
            tai: u32::try_from(sys.tai).unwrap_or(0),
            leapsec: sys.leap_table.map(|t| t - ntp_core::leap::NTP_UNIX_OFFSET),
            expire: sys.leap_expire.map(|t| t - ntp_core::leap::NTP_UNIX_OFFSET),
            leap_smear: None,
            bcast_delay: 0.0,
            auth_delay: 0.0,
            fuzz: 2f64.powi(i32::from(sys.precision)),
            clk_wander_threshold_ppm: 0.0,
            mon: self.mon(),
            sys_stats: self.sys_stats_vars(),
            auth: AuthStats {
                keys: self.inputs.config.trustedkeys.len() as u64,
                reset: self.uptime(),
                decrypts: t.naks,
                ..Default::default()
            },
            kernel,
            io: self.io_vars(),
            timer: TimerStats {
                reset: self.uptime(),
                overruns: 0,
                xmts: self.snap().sources.iter().map(|s| s.sent).sum(),
            },
        }
    }

    fn associations(&self) -> Vec<AssocStatus> {
        self.snap()
            .sources
            .iter()
            .filter_map(|s| {
                Some(AssocStatus {
                    assoc_id: assoc_id(s.id)?,
                    status: self.peer_status(s),
                })
            })
            .collect()
    }

    fn peer(&self, assoc: u16) -> Option<PeerVars> {
        let s = self.source(source_of(assoc)?)?;
        let (filter_delay, filter_offset, filter_disp) = filter_register(s);
        Some(PeerVars {
            assoc_id: assoc,
            status: self.peer_status(s),
            refclock: s.local_clock,
            configured: self.configured(s.id),
            authentic: s.authenticated,
            srcadr: s.address,
            srchost: None,
            dstadr: self.local_of(s),
            leap: s.leap.bits(),
            hmode: modes(s).0,
            pmode: modes(s).1,
            stratum: s.stratum,
            ppoll: peer_poll(s),
            hpoll: s.hpoll.max(0) as u8,
            precision: self.precision_of(s),
            root_delay: s.root_delay,
            root_dispersion: s.root_dispersion,
            refid: s.refid.to_bytes(),
            reftime: s.reftime.to_bits(),
            // Never the origin of an outstanding request (CVE-2015-8139).
            org: 0,
            rec: s
                .last_received
                .map_or(0, |t| self.mono_to_raw(t.as_secs_f64())),
            reach: s.reach,
            flash: s.flash,
            ttl: s.local_clock.then_some(0),
            unreach: u64::from(s.unreach),
            timer: (s.next_poll.as_secs_f64() - self.inputs.now_mono)
                .max(0.0)
                .ceil() as u64,
            delay: s.delay,
            offset: s.offset,
            jitter: s.jitter,
            dispersion: s.dispersion,
            keyid: self.keyid(s.id),
            filter_delay,
            filter_offset,
            filter_disp,
            received: s.received,
            sent: s.sent,
            timerec: self.seconds_since(s),
            timereach: self.seconds_since(s),
            badauth: 0,
            bogusorg: 0,
            oldpkt: 0,
            seldisp: 0,
            selbroken: 0,
            candidate: u64::from(s.select.code()),
            ..PeerVars::default()
        })
    }

    fn clock(&self, assoc: u16) -> Option<ClockVars> {
        let s = self.source(source_of(assoc)?)?;
        if !s.local_clock {
            return None;
        }
        Some(ClockVars {
            status: ClockStatus::default(),
            clock_type: 1,
            timecode: String::new(),
            polls: s.sent.max(s.received),
            noreply: 0,
            badformat: 0,
            baddata: 0,
            fudgetime1: None,
            fudgetime2: None,
            stratum: Some(i64::from(s.stratum)),
            refid: Some(s.refid.to_bytes()),
            minjitter: None,
            flags: 0,
            device: "Undisciplined local clock".into(),
            extra: Vec::new(),
        })
    }

    fn mru(&self) -> MruList {
        let entries = self
            .inputs
            .limiter
            .mru_entries()
            .iter()
            .rev()
            .map(|m| Mru6 {
                addr: m.addr,
                local: None,
                first: self.mono_to_raw(m.first),
                last: self.mono_to_raw(m.last),
                count: i32::try_from(m.count).unwrap_or(i32::MAX),
                mode_version: ((m.version & 7) << 3) | (m.mode & 7),
                restrict: self.inputs.table.lookup(m.addr).flags.bits(),
            })
            .collect();
        MruList {
            now: self.inputs.wall.to_bits(),
            entries,
        }
    }

    fn interfaces(&self) -> Vec<InterfaceEntry> {
        self.interfaces
            .iter()
            .map(|i| {
                let t = CounterTotals::sum(&i.counters);
                InterfaceEntry {
                    ifnum: i.num,
                    addr: i.addr,
                    bcast: i.bcast.map(|b| SocketAddr::new(b, i.addr.port())),
                    enabled: true,
                    name: i.name.clone(),
                    flags: i.flags,
                    ttl: 0,
                    mcast_count: 0,
                    received: i64::try_from(t.received).unwrap_or(i64::MAX),
                    sent: i64::try_from(t.replies + t.kods + t.naks).unwrap_or(i64::MAX),
                    send_failed: i64::try_from(t.send_errors).unwrap_or(i64::MAX),
                    peer_count: self.peer_count(i.addr.ip()),
                    uptime: self.if_uptime(i),
                }
            })
            .collect()
    }

    fn restrictions(&self) -> Vec<Restrict6> {
        restrict_entries(self.inputs.table)
            .map(|(e, _, addr, mask)| {
                let f = e.rflags;
                let has = |x: ntp_conf::RestrictFlags| f.contains(x);
                use ntp_conf::RestrictFlags as R;
                Restrict6 {
                    addr,
                    mask,
                    hits: 0,
                    match_flags: RestrictMatch {
                        ntpport: e.mflags.contains(ntp_conf::MatchFlags::NTPONLY),
                        interface: e.mflags.contains(ntp_conf::MatchFlags::INTERFACE),
                        source: e.mflags.contains(ntp_conf::MatchFlags::SOURCE),
                    },
                    access: RestrictAccess {
                        ignore: has(R::IGNORE),
                        noserve: has(R::NOSERVE),
                        notrust: has(R::NOTRUST),
                        version: has(R::VERSION),
                        nopeer: has(R::NOPEER),
                        noepeer: has(R::NOEPEER),
                        limited: has(R::LIMITED),
                        noquery: has(R::NOQUERY),
                        nomodify: has(R::NOMODIFY),
                        notrap: has(R::NOTRAP),
                        lptrap: has(R::LPTRAP),
                        kod: has(R::KOD),
                        mssntp: has(R::MSSNTP),
                        flake: has(R::FLAKE),
                        nomrulist: has(R::NOMRULIST),
                    },
                }
            })
            .collect()
    }

    fn trusted_key(&self, key_id: u32, _source: IpAddr) -> Option<SymmetricKey> {
        self.inputs.keys.trusted_key(key_id).cloned()
    }

    fn control_key(&self) -> Option<u32> {
        self.inputs
            .config
            .controlkey
            .as_ref()
            .map(|(k, _)| u32::from(*k))
    }

    fn events_read(&mut self, assoc: u16) {
        if assoc == 0 {
            self.sys_events.count = 0;
        } else if let Some(t) = source_of(assoc).and_then(|id| self.sources.get_mut(&id)) {
            t.events.count = 0;
        }
    }
}

/// A restrict entry's address and mask as IP addresses.
/// Every restrict entry, IPv4 first, with its family flag, address and mask: the one walk
/// over the table that both the mode 6 and the mode 7 `reslist` answers use.
fn restrict_entries(
    t: &ntp_conf::RestrictTable,
) -> impl Iterator<Item = (&ntp_conf::restrict::Entry, bool, IpAddr, IpAddr)> {
    let v4 = t.v4.iter().map(|e| (e, false));
    let v6 = t.v6.iter().map(|e| (e, true));
    v4.chain(v6).map(|(e, six)| {
        let (addr, mask) = entry_addrs(e, six);
        (e, six, addr, mask)
    })
}

fn entry_addrs(e: &ntp_conf::restrict::Entry, v6: bool) -> (IpAddr, IpAddr) {
    if v6 {
        (
            IpAddr::V6(Ipv6Addr::from(e.addr)),
            IpAddr::V6(Ipv6Addr::from(e.mask)),
        )
    } else {
        (
            IpAddr::V4(Ipv4Addr::from(e.addr as u32)),
            IpAddr::V4(Ipv4Addr::from(e.mask as u32)),
        )
    }
}

impl PrivateData for View<'_, '_> {
    fn peer_list(&self) -> Vec<InfoPeerList> {
        self.snap()
            .sources
            .iter()
            .map(|s| {
                let mut item = InfoPeerList::for_address(s.address.ip());
                item.port = s.address.port();
                item.hmode = modes(s).0;
                item.flags = self.peer_flags(s) as u8;
                item
            })
            .collect()
    }

    fn peer_summaries(&self) -> Vec<InfoPeerSummary> {
        self.snap()
            .sources
            .iter()
            .map(|s| {
                let local = self
                    .local_of(s)
                    .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
                let src = s.address.ip();
                InfoPeerSummary {
                    dstadr: v4_or_zero(local),
                    srcadr: v4_or_zero(src),
                    srcport: s.address.port(),
                    stratum: s.stratum,
                    hpoll: s.hpoll,
                    ppoll: peer_poll(s) as i8,
                    reach: s.reach,
                    flags: self.peer_flags(s) as u8,
                    hmode: modes(s).0,
                    delay: SFp::from_f64(s.delay),
                    offset: LFp::from_f64_signed(s.offset),
                    dispersion: UFp::from_f64(s.dispersion),
                    v6_flag: u32::from(src.is_ipv6()),
                    dstadr6: v6_or_zero(local),
                    srcadr6: v6_or_zero(src),
                    ..Default::default()
                }
            })
            .collect()
    }

    fn peer_info(&self, peer: SocketAddr) -> Option<InfoPeer> {
        let s = self.find_peer(peer)?;
        let local = self
            .local_of(s)
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
        let src = s.address.ip();
        let lfp = LFp::from_f64_signed;
        Some(InfoPeer {
            dstadr: v4_or_zero(local),
            srcadr: v4_or_zero(src),
            srcport: s.address.port(),
            flags: self.peer_flags(s) as u8,
            leap: s.leap.bits(),
            hmode: modes(s).0,
            pmode: modes(s).1,
            stratum: s.stratum,
            ppoll: peer_poll(s),
            hpoll: s.hpoll.max(0) as u8,
            precision: self.precision_of(s),
            version: 4,
            reach: s.reach,
            unreach: s.unreach.min(255) as u8,
            flash: s.flash as u8,
            ttl: 0,
            flash2: s.flash,
            associd: assoc_id(s.id).unwrap_or(0),
            keyid: self.keyid(s.id),
            refid: s.refid.to_bytes(),
            rootdelay: SFp::from_f64(s.root_delay),
            rootdispersion: UFp::from_f64(s.root_dispersion),
            reftime: LFp(s.reftime.to_bits()),
            rec: LFp(s
                .last_received
                .map_or(0, |t| self.mono_to_raw(t.as_secs_f64()))),
            filtdelay: filter_register(s).0.map(SFp::from_f64),
            filtoffset: filter_register(s).1.map(lfp),
            order: [0, 1, 2, 3, 4, 5, 6, 7],
            delay: SFp::from_f64(s.delay),
            dispersion: UFp::from_f64(s.dispersion),
            offset: lfp(s.offset),
            selectdisp: UFp::from_f64(s.jitter),
            v6_flag: u32::from(src.is_ipv6()),
            dstadr6: v6_or_zero(local),
            srcadr6: v6_or_zero(src),
            ..Default::default()
        })
    }

    fn peer_stats(&self, peer: SocketAddr) -> Option<InfoPeerStats> {
        let s = self.find_peer(peer)?;
        let local = self
            .local_of(s)
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
        let src = s.address.ip();
        let flags = self.peer_flags(s);
        Some(InfoPeerStats {
            dstadr: v4_or_zero(local),
            srcadr: v4_or_zero(src),
            srcport: s.address.port(),
            flags,
            timereceived: sat32(self.seconds_since(s)),
            timetosend: 0,
            timereachable: sat32(self.seconds_since(s)),
            sent: sat32(s.sent),
            processed: sat32(s.received),
            badauth: 0,
            bogusorg: 0,
            oldpkt: 0,
            seldisp: 0,
            selbroken: sat32(s.rejected),
            candidate: s.select.code(),
            v6_flag: u32::from(src.is_ipv6()),
            dstadr6: v6_or_zero(local),
            srcadr6: v6_or_zero(src),
            ..Default::default()
        })
    }

    fn sys_info(&self) -> InfoSys {
        let sys = &self.snap().system;
        let peer = self.sys_peer().map(|p| p.address.ip());
        let mut flags = 0u8;
        if self.sys_flag_on(SystemFlag::Auth, true) {
            flags |= sys_flags::AUTHENTICATE;
        }
        if self.sys_flag_on(SystemFlag::Monitor, true) {
            flags |= sys_flags::MONITOR;
        }
        if !self.inputs.observe_only && self.sys_flag_on(SystemFlag::Ntp, true) {
            flags |= sys_flags::NTP;
        }
        if !self.inputs.observe_only && self.sys_flag_on(SystemFlag::Kernel, true) {
            flags |= sys_flags::KERNEL;
        }
        if self.sys_flag_on(SystemFlag::Stats, true) {
            flags |= sys_flags::FILEGEN;
        }
        InfoSys {
            peer: peer.map_or(Ipv4Addr::UNSPECIFIED, v4_or_zero),
            peer_mode: self.sys_peer().map_or(0, |p| modes(p).0),
            leap: sys.leap.bits(),
            stratum: sys.stratum,
            precision: sys.precision,
            rootdelay: SFp::from_f64(sys.root_delay),
            rootdispersion: UFp::from_f64(sys.root_dispersion),
            refid: self.system_refid(),
            reftime: LFp(sys.reftime.to_bits()),
            poll: sys.poll.max(0) as u32,
            flags,
            bdelay: SFp::from_f64(0.0),
            frequency: SFp::from_f64(sys.sys_jitter),
            authdelay: LFp(0),
            stability: UFp::from_f64(sys.clk_wander),
            v6_flag: u32::from(peer.is_some_and(|p| p.is_ipv6())),
            peer6: peer.map_or(Ipv6Addr::UNSPECIFIED, v6_or_zero),
            ..Default::default()
        }
    }

    fn sys_stats(&self) -> InfoSysStats {
        let s = self.sys_stats_vars();
        InfoSysStats {
            timeup: sat32(s.uptime),
            timereset: sat32(s.reset),
            denied: sat32(s.restricted),
            oldversionpkt: sat32(s.oldver),
            newversionpkt: sat32(s.thisver),
            unknownversion: sat32(s.declined),
            badlength: sat32(s.badformat),
            processed: sat32(s.processed),
            badauth: sat32(s.badauth),
            received: sat32(s.received),
            limitrejected: sat32(s.limited),
            lamport: 0,
            tsrounding: 0,
        }
    }

    fn io_stats(&self) -> InfoIoStats {
        let io = self.io_vars();
        let u16s = |v: u64| u16::try_from(v).unwrap_or(u16::MAX);
        InfoIoStats {
            timereset: sat32(io.reset),
            totalrecvbufs: u16s(io.total_rbuf),
            freerecvbufs: u16s(io.free_rbuf),
            fullrecvbufs: u16s(io.used_rbuf),
            lowwater: u16s(io.rbuf_lowater),
            dropped: sat32(io.dropped),
            ignored: sat32(io.ignored),
            received: sat32(io.received),
            sent: sat32(io.sent),
            notsent: sat32(io.send_failed),
            interrupts: sat32(io.wakeups),
            int_received: sat32(io.good_wakeups),
        }
    }

    fn mem_stats(&self) -> InfoMemStats {
        let n = self.snap().sources.len() as u64;
        let mut hashcount = [0u8; 128];
        for s in &self.snap().sources {
            // Classic hashes peers by address; any stable spread will do for the histogram.
            let h = match s.address.ip() {
                IpAddr::V4(a) => u32::from(a) as usize,
                IpAddr::V6(a) => u128::from(a) as usize,
            } % hashcount.len();
            if let Some(c) = hashcount.get_mut(h) {
                *c = c.saturating_add(1);
            }
        }
        InfoMemStats {
            timereset: sat32(self.uptime()),
            totalpeermem: u16::try_from(n).unwrap_or(u16::MAX),
            freepeermem: 0,
            findpeer_calls: sat32(self.snap().sources.iter().map(|s| s.received).sum()),
            allocations: sat32(n),
            demobilizations: 0,
            hashcount,
        }
    }

    fn loop_info(&self) -> InfoLoop {
        let sys = &self.snap().system;
        let since = if sys.reftime.is_zero() {
            0
        } else {
            (self
                .inputs
                .wall
                .to_bits()
                .wrapping_sub(sys.reftime.to_bits())
                >> 32) as u32
        };
        InfoLoop {
            last_offset: LFp::from_f64_signed(sys.offset),
            drift_comp: LFp::from_f64_signed(sys.frequency),
            compliance: sys.poll.max(0) as u32,
            watchdog_timer: since,
        }
    }

    fn timer_stats(&self) -> InfoTimerStats {
        InfoTimerStats {
            timereset: sat32(self.uptime()),
            alarms: sat32(self.uptime()),
            overflows: 0,
            xmtcalls: sat32(self.snap().sources.iter().map(|s| s.sent).sum()),
        }
    }

    fn kernel_info(&self) -> Option<InfoKernel> {
        let k = self.kernel()?;
        let nano = k.status & 0x2000 != 0;
        let scaled = |ppm: f64| (ppm * 65_536.0) as i32;
        Some(InfoKernel {
            offset: (k.offset * if nano { 1e9 } else { 1e6 }) as i32,
            freq: scaled(k.frequency),
            maxerror: (k.max_error * 1e6) as i32,
            esterror: (k.est_error * 1e6) as i32,
            status: k.status as u16,
            shift: 0,
            constant: i32::try_from(k.constant).unwrap_or(0),
            precision: 1,
            tolerance: scaled(500.0),
            ..Default::default()
        })
    }

    fn if_stats(&self) -> Vec<InfoIfStats> {
        self.interfaces
            .iter()
            .map(|i| {
                let n = i.num;
                let t = CounterTotals::sum(&i.counters);
                let six = i.addr.is_ipv6();
                let union = |a: Option<IpAddr>| {
                    let mut u = [0u8; 16];
                    match a {
                        Some(IpAddr::V4(v)) => {
                            if let Some(d) = u.get_mut(..4) {
                                d.copy_from_slice(&v.octets());
                            }
                        }
                        Some(IpAddr::V6(v)) => u = v.octets(),
                        None => {}
                    }
                    u
                };
                let mut name = [0u8; 32];
                for (d, s) in name.iter_mut().zip(i.name.bytes().take(31)) {
                    *d = s;
                }
                InfoIfStats {
                    unaddr: union(Some(i.addr.ip())),
                    unbcast: union(i.bcast),
                    unmask: union(i.mask),
                    v6_flag: u32::from(six),
                    name,
                    flags: i.flags as i32,
                    last_ttl: 0,
                    num_mcast: 0,
                    received: i32::try_from(t.received).unwrap_or(i32::MAX),
                    sent: i32::try_from(t.replies + t.kods + t.naks).unwrap_or(i32::MAX),
                    notsent: i32::try_from(t.send_errors).unwrap_or(i32::MAX),
                    uptime: i32::try_from(self.if_uptime(i)).unwrap_or(i32::MAX),
                    scopeid: 0,
                    ifindex: n + 1,
                    ifnum: n,
                    peercnt: sat32(self.peer_count(i.addr.ip())),
                    family: if six { 10 } else { 2 },
                    ignore_packets: 0,
                    action: IFS_EXISTS,
                    ..Default::default()
                }
            })
            .collect()
    }

    fn restrictions(&self) -> Vec<InfoRestrict> {
        restrict_entries(self.inputs.table)
            .map(|(e, six, addr, mask)| InfoRestrict {
                addr: v4_or_zero(addr),
                mask: v4_or_zero(mask),
                count: 0,
                rflags: (e.rflags.bits() & 0xffff) as u16,
                mflags: e.mflags.bits(),
                v6_flag: u32::from(six),
                addr6: v6_or_zero(addr),
                mask6: v6_or_zero(mask),
                ..Default::default()
            })
            .collect()
    }

    fn ctl_stats(&self) -> InfoControl {
        InfoControl {
            ctltimereset: sat32(self.uptime()),
            numctlreq: sat32(self.ctl.requests),
            numctlresponses: sat32(self.ctl.responses),
            numctlfrags: sat32(self.ctl.fragments),
            numctlerrors: sat32(self.ctl.errors),
            ..Default::default()
        }
    }

    fn auth_info(&self) -> InfoAuth {
        InfoAuth {
            timereset: sat32(self.uptime()),
            numkeys: sat32(self.inputs.config.trustedkeys.len() as u64),
            numfreekeys: 0,
            keylookups: 0,
            keynotfound: 0,
            encryptions: 0,
            decryptions: sat32(self.totals().naks),
            expired: 0,
            keyuncached: 0,
        }
    }

    fn apply(&mut self, _change: PrivateChange) -> Result<(), ChangeRefused> {
        // Run-time reconfiguration over the network is not offered (security.md: remote
        // configuration CVEs); edit ntp.conf and restart instead.
        Err(ChangeRefused::NoData)
    }

    fn reload_interfaces(&mut self) -> Vec<InfoIfStats> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn association_ids_round_trip() {
        for i in [0usize, 1, 77, 55_535] {
            let id = assoc_id(SourceId(i)).unwrap();
            assert_eq!(source_of(id), Some(SourceId(i)));
        }
        assert_eq!(assoc_id(SourceId(55_536)), None);
        assert_eq!(source_of(5), None);
    }

    #[test]
    fn event_counter_saturates_at_fifteen() {
        let mut e = Events::default();
        for _ in 0..20 {
            e.record(PEVNT_REACH);
        }
        assert_eq!(e.count, 15);
        assert_eq!(e.last, PEVNT_REACH);
    }

    /// A real engine snapshot with one local clock source.
    fn snapshot() -> (Snapshot, SourceConfig) {
        let cfg = SourceConfig::local(10, ntp_wire::RefId::LOCL);
        let e = ntp_core::Engine::new(
            ntp_core::EngineConfig::default(),
            vec![cfg.clone()],
            ntp_core::MonoTime::ZERO,
        );
        (e.snapshot(), cfg)
    }

    #[test]
    fn leap_file_arming_and_the_leap_become_classic_events() {
        let (mut snap, _) = snapshot();
        let mut c = Control::new(&[], [0; 16], 1);
        c.observe(&snap);
        snap.system.tai = 37;
        snap.system.leap_armed = true;
        c.observe(&snap);
        assert_eq!(c.sys_events.last, EVNT_ARMED);
        // Disarmed without the leap (e.g. a corrected file).
        snap.system.leap_armed = false;
        c.observe(&snap);
        assert_eq!(c.sys_events.last, EVNT_DISARMED);
        snap.system.leap_armed = true;
        c.observe(&snap);
        // The leap itself: TAI moves on.
        snap.system.leap_armed = false;
        snap.system.tai = 38;
        c.observe(&snap);
        assert_eq!(c.sys_events.last, EVNT_LEAP);
        let count = c.sys_events.count;
        c.observe(&snap);
        assert_eq!(c.sys_events.count, count, "edge-triggered");
    }

    #[test]
    fn reachability_and_selection_changes_become_classic_events() {
        let (mut snap, cfg) = snapshot();
        let id = snap.sources[0].id;
        let mut c = Control::new(&[], [0; 16], 1);
        c.source_added(id, &cfg, false);
        c.observe(&snap);
        assert_eq!(
            c.sources[&id].events,
            Events {
                count: 1,
                last: PEVNT_MOBIL
            }
        );
        assert_eq!(
            c.sys_events,
            Events {
                count: 1,
                last: EVNT_SYSRESTART
            }
        );

        snap.sources[0].reach = 1;
        c.observe(&snap);
        assert_eq!(
            c.sources[&id].events,
            Events {
                count: 2,
                last: PEVNT_REACH
            }
        );

        snap.sources[0].select = SelectStatus::SystemPeer;
        snap.system.sys_peer = Some(id);
        c.observe(&snap);
        assert_eq!(
            c.sources[&id].events,
            Events {
                count: 3,
                last: PEVNT_NEWPEER
            }
        );
        // Nothing changed: no new event.
        c.observe(&snap);
        assert_eq!(c.sources[&id].events.count, 3);

        snap.sources[0].reach = 0;
        snap.sources[0].select = SelectStatus::Rejected;
        snap.system.sys_peer = None;
        c.observe(&snap);
        assert_eq!(
            c.sources[&id].events,
            Events {
                count: 4,
                last: PEVNT_UNREACH
            }
        );
        assert_eq!(
            c.sys_events,
            Events {
                count: 2,
                last: EVNT_NOPEER
            }
        );
    }

    #[test]
    fn empty_filter_stages_read_as_classic_shows_them() {
        let (snap, _) = snapshot();
        let (delay, offset, disp) = filter_register(&snap.sources[0]);
        assert_eq!(delay, [0.0; 8]);
        assert_eq!(offset, [0.0; 8]);
        assert_eq!(disp, [MAXDISPERSE; 8]);
        assert_eq!(peer_poll(&snap.sources[0]), MAXDPOLL);
    }

    fn datagram(mode: u8, from: &str, local: &str) -> ControlDatagram {
        ControlDatagram {
            data: vec![0x10 | mode, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
            from: from.parse().unwrap(),
            local: local.parse().unwrap(),
            rx: NtpTimestamp::ZERO,
        }
    }

    fn admits(conf: &str, mode: u8, from: &str, local: &str) -> bool {
        let config = ntp_conf::parse(conf, "ntp.conf", &ntp_conf::NoFiles).unwrap();
        let (table, _) = RestrictTable::build(&config);
        Control::admits(&datagram(mode, from, local), &table, &config)
    }

    #[test]
    fn access_follows_restrict_lines_loopback_and_enable_mode7() {
        let tutorial =
            "restrict default kod nomodify notrap nopeer noquery limited\nrestrict 127.0.0.1\n";
        assert!(admits(tutorial, 6, "127.0.0.1:4000", "127.0.0.1:123"));
        assert!(admits(tutorial, 7, "127.0.0.1:4000", "127.0.0.1:123"));
        assert!(!admits(tutorial, 6, "192.0.2.9:4000", "192.0.2.2:123"));
        // No restrict line: loopback only, and a spoofed loopback source arriving on another
        // address is not loopback (CVE-2014-9298).
        assert!(admits("", 6, "127.0.0.1:4000", "127.0.0.1:123"));
        assert!(!admits("", 6, "192.0.2.9:4000", "192.0.2.2:123"));
        assert!(!admits("", 6, "127.0.0.1:4000", "192.0.2.2:123"));
        // Queries allowed: mode 6 for everyone, mode 7 remotely only with `enable mode7`.
        assert!(admits(
            "restrict default\n",
            6,
            "192.0.2.9:4000",
            "192.0.2.2:123"
        ));
        assert!(!admits(
            "restrict default\n",
            7,
            "192.0.2.9:4000",
            "192.0.2.2:123"
        ));
        assert!(admits(
            "restrict default\nenable mode7\n",
            7,
            "192.0.2.9:4000",
            "192.0.2.2:123"
        ));
        // Other modes never reach the responders.
        assert!(!admits(
            "restrict default\n",
            3,
            "127.0.0.1:4000",
            "127.0.0.1:123"
        ));
    }

    #[test]
    fn monotonic_age_maps_to_wall_time() {
        assert_eq!(secs_to_raw(1.0), 1 << 32);
        assert_eq!(secs_to_raw(-3.0), 0);
        assert_eq!(secs_to_raw(0.5), 1 << 31);
    }
}
