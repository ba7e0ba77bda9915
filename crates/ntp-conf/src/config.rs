//! The typed configuration: one Rust type per classic ntp.conf directive and option.
//!
//! Values are stored as written (after range checks); defaults are applied by the daemon, so
//! `None` always means "not configured". Every item keeps the [`Location`] it came from so
//! later checks can point at it.

use crate::diag::{Diagnostic, Location};
use crate::restrict::{MatchFlags, RestrictFlags};
use std::net::IpAddr;

/// `-4` or `-6` written before an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `-4`: IPv4 only.
    V4,
    /// `-6`: IPv6 only.
    V6,
}

/// A reference clock pseudo-address `127.127.t.u`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RefclockId {
    /// Driver type `t` (1 = LOCAL, 20 = NMEA, 22 = PPS, 28 = SHM, 46 = GPSD_JSON...).
    pub driver: u8,
    /// Unit number `u`.
    pub unit: u8,
}

impl RefclockId {
    /// The LOCAL (undisciplined local clock) driver type.
    pub const LOCAL: u8 = 1;

    /// The pseudo-address as an IPv4 address.
    pub fn address(&self) -> std::net::Ipv4Addr {
        std::net::Ipv4Addr::new(127, 127, self.driver, self.unit)
    }
}

/// An address as written: an IP literal, a host name (not resolved here) or a refclock.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// An IPv4 or IPv6 literal.
    Ip(IpAddr),
    /// A DNS name; resolution is the daemon's job.
    Name(String),
    /// A reference clock pseudo-address `127.127.t.u`.
    Refclock(RefclockId),
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Ip(ip) => write!(f, "{ip}"),
            Address::Name(n) => f.write_str(n),
            Address::Refclock(r) => write!(f, "{}", r.address()),
        }
    }
}

/// Which association command created an association.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssociationKind {
    /// `server`: persistent client (mode 3), or a reference clock.
    Server,
    /// `pool`: a prototype that spawns preemptable client associations.
    Pool,
    /// `peer`: persistent symmetric active (mode 1).
    Peer,
    /// `broadcast`: broadcast server (mode 5).
    Broadcast,
    /// `manycastclient`: manycast client.
    ManycastClient,
}

impl AssociationKind {
    /// The directive keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            AssociationKind::Server => "server",
            AssociationKind::Pool => "pool",
            AssociationKind::Peer => "peer",
            AssociationKind::Broadcast => "broadcast",
            AssociationKind::ManycastClient => "manycastclient",
        }
    }
}

/// Options of an association line; `None`/`false` = not written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AssociationOptions {
    /// `burst`: 8-packet burst on every poll while reachable.
    pub burst: bool,
    /// `iburst`: 6-packet burst while unreachable.
    pub iburst: bool,
    /// `prefer`: preferred source.
    pub prefer: bool,
    /// `noselect`: never select, monitor only.
    pub noselect: bool,
    /// `true`: always survives selection (truechimer).
    pub truechimer: bool,
    /// `preempt`: preemptable association.
    pub preempt: bool,
    /// `xleave`: interleaved mode.
    pub xleave: bool,
    /// `xmtnonce`: random nonce in the client transmit timestamp.
    pub xmtnonce: bool,
    /// `minpoll N`, log2 seconds, 3..17.
    pub minpoll: Option<u8>,
    /// `maxpoll N`, log2 seconds, 3..17.
    pub maxpoll: Option<u8>,
    /// `key N`, symmetric key id 1..65535.
    pub key: Option<u16>,
    /// `version N`, 1..4.
    pub version: Option<u8>,
    /// `mode N`, refclock driver mode 0..255 (refclocks only).
    pub mode: Option<u8>,
    /// `ttl N`, broadcast/manycast TTL 1..255.
    pub ttl: Option<u8>,
    /// `port N`: our extension, a non-standard server port 1..65535.
    pub port: Option<u16>,
}

/// One `server`/`pool`/`peer`/`broadcast`/`manycastclient` line (or an NTPsec `refclock`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Association {
    /// The command.
    pub kind: AssociationKind,
    /// `-4`/`-6` if written.
    pub family: Option<Family>,
    /// The address.
    pub address: Address,
    /// The options.
    pub options: AssociationOptions,
    /// Where the directive starts.
    pub location: Location,
}

/// What a restrict line applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestrictTarget {
    /// `default` (both families unless `-4`/`-6`).
    Default,
    /// `source`: template for the addresses of associations.
    Source,
    /// An address (literal or name) with an optional mask.
    Host {
        /// The address.
        address: Address,
        /// The mask from `mask M` or a CIDR suffix; `None` = host mask (all ones).
        mask: Option<IpAddr>,
    },
}

/// Which access-control command a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestrictOp {
    /// `restrict`: add flags (merged into an existing identical entry).
    Restrict,
    /// NTPsec `unrestrict`: remove the listed flags, or the whole entry if none are listed.
    Unrestrict,
    /// `delrestrict`: remove the entry.
    Delrestrict,
}

/// One `restrict`/`unrestrict`/`delrestrict` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestrictLine {
    /// The command.
    pub op: RestrictOp,
    /// `-4`/`-6` if written.
    pub family: Option<Family>,
    /// What it applies to.
    pub target: RestrictTarget,
    /// `ippeerlimit N` (-1 = unlimited, the default).
    pub ippeerlimit: Option<i32>,
    /// Access flags.
    pub flags: RestrictFlags,
    /// Match modifiers (`ntpport`, `interface`).
    pub match_flags: MatchFlags,
    /// `epeer` was written (explicitly allow ephemeral peers; no flag bit).
    pub epeer: bool,
    /// Where the directive starts.
    pub location: Location,
}

/// `discard` (classic) and `limit` (NTPsec) rate-limit settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Discard {
    /// `average N`: minimum mean headway, log2 s (default 3).
    pub average: Option<u8>,
    /// `minimum N`: guard time, seconds (default 2).
    pub minimum: Option<u32>,
    /// `monitor N`: probability of recording beyond MRU limits.
    pub monitor: Option<u32>,
    /// NTPsec `limit burst N`.
    pub burst: Option<u32>,
    /// NTPsec `limit kod N`.
    pub kod: Option<u32>,
}

/// `fudge 127.127.t.u ...` (NTPsec `refclock` `path`/`ppspath` become a [`Device`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fudge {
    /// The refclock it applies to.
    pub refclock: Option<RefclockId>,
    /// `time1 s`.
    pub time1: Option<f64>,
    /// `time2 s`.
    pub time2: Option<f64>,
    /// `stratum N`, 0..15.
    pub stratum: Option<u8>,
    /// `refid STR`, 1-4 characters.
    pub refid: Option<String>,
    /// `flag1`..`flag4` 0|1.
    pub flags: [Option<bool>; 4],
    /// `minjitter s`.
    pub minjitter: Option<f64>,
    /// `abbrev STR`.
    pub abbrev: Option<String>,
    /// NTPsec `refclock ... baud N` (no classic spelling; `Display` cannot write it back).
    pub baud: Option<u32>,
    /// Where the directive starts.
    pub location: Option<Location>,
}

/// `driftfile path [threshold]`.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftFile {
    /// The file.
    pub path: String,
    /// Wander threshold for rewriting the file.
    pub threshold: Option<f64>,
    /// Where the directive starts.
    pub location: Location,
}

/// `leapfile` hash handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeapHash {
    /// `checkhash`.
    Check,
    /// `ignorehash`.
    Ignore,
}

/// `leapfile path [checkhash|ignorehash]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeapFile {
    /// The file.
    pub path: String,
    /// Hash option if written.
    pub hash: Option<LeapHash>,
}

/// The prefix of a `logconfig` item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogOp {
    /// `=`: set the mask.
    Set,
    /// `+` (or no prefix): add.
    Add,
    /// `-`: remove.
    Remove,
}

/// `logconfig` item class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogClass {
    /// `clock`.
    Clock,
    /// `peer`.
    Peer,
    /// `sys`.
    Sys,
    /// `sync`.
    Sync,
    /// `all`.
    All,
}

/// `logconfig` item kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    /// `info`.
    Info,
    /// `events`.
    Events,
    /// `status`.
    Status,
    /// `statistics`.
    Statistics,
    /// `all`.
    All,
}

/// One `logconfig` item like `=syncall`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogConfigItem {
    /// Prefix.
    pub op: LogOp,
    /// Class.
    pub class: LogClass,
    /// Kind.
    pub kind: LogKind,
}

/// A statistics file generator name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatsKind {
    /// `clockstats`.
    Clockstats,
    /// `cryptostats`.
    Cryptostats,
    /// `loopstats`.
    Loopstats,
    /// `peerstats`.
    Peerstats,
    /// `rawstats`.
    Rawstats,
    /// `sysstats`.
    Sysstats,
    /// `protostats`.
    Protostats,
    /// `timingstats`.
    Timingstats,
}

/// `filegen ... type T`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileGenType {
    /// `none`.
    None,
    /// `pid`.
    Pid,
    /// `day`.
    Day,
    /// `week`.
    Week,
    /// `month`.
    Month,
    /// `year`.
    Year,
    /// `age`.
    Age,
}

/// `filegen name [file F] [type T] [link|nolink] [enable|disable]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileGen {
    /// Which statistics.
    pub name: StatsKind,
    /// `file F`.
    pub file: Option<String>,
    /// `type T`.
    pub kind: Option<FileGenType>,
    /// `link` (true) / `nolink` (false).
    pub link: Option<bool>,
    /// `enable` (true) / `disable` (false).
    pub enable: Option<bool>,
}

/// `tinker` settings (all optional).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tinker {
    /// `allan N` (log2 s).
    pub allan: Option<f64>,
    /// `dispersion ppm`.
    pub dispersion: Option<f64>,
    /// `freq ppm`.
    pub freq: Option<f64>,
    /// `huffpuff s`.
    pub huffpuff: Option<f64>,
    /// `panic s` (0 disables the panic check).
    pub panic: Option<f64>,
    /// `step s` (0 = never step).
    pub step: Option<f64>,
    /// `stepback s`.
    pub stepback: Option<f64>,
    /// `stepfwd s`.
    pub stepfwd: Option<f64>,
    /// `stepout s`.
    pub stepout: Option<f64>,
    /// `tick s`.
    pub tick: Option<f64>,
    /// Where the first `tinker` line starts.
    pub location: Option<Location>,
}

/// `tos` settings (all optional).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tos {
    /// `basedate YYYY-MM-DD`.
    pub basedate: Option<String>,
    /// `bcpollbstep n`.
    pub bcpollbstep: Option<u8>,
    /// `beacon s`.
    pub beacon: Option<f64>,
    /// `ceiling n`.
    pub ceiling: Option<u8>,
    /// `cohort 0|1`.
    pub cohort: Option<bool>,
    /// `floor n`.
    pub floor: Option<u8>,
    /// `maxclock n`.
    pub maxclock: Option<u32>,
    /// `maxdist s`.
    pub maxdist: Option<f64>,
    /// `minclock n`.
    pub minclock: Option<u32>,
    /// `mindist s`.
    pub mindist: Option<f64>,
    /// `minsane n`.
    pub minsane: Option<u32>,
    /// `orphan stratum`.
    pub orphan: Option<u8>,
    /// `orphanwait s`.
    pub orphanwait: Option<f64>,
    /// NTPsec `maxdisp s`.
    pub maxdisp: Option<f64>,
}

/// A flag of `enable`/`disable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SystemFlag {
    /// `auth`.
    Auth,
    /// `bclient`.
    Bclient,
    /// `calibrate`.
    Calibrate,
    /// `kernel`.
    Kernel,
    /// `mode7`.
    Mode7,
    /// `monitor`.
    Monitor,
    /// `ntp`.
    Ntp,
    /// `stats`.
    Stats,
    /// `peer_clear_digest_early`.
    PeerClearDigestEarly,
    /// `unpeer_crypto_early`.
    UnpeerCryptoEarly,
    /// `unpeer_crypto_nak_early`.
    UnpeerCryptoNakEarly,
    /// `unpeer_digest_early`.
    UnpeerDigestEarly,
}

/// `interface` action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterfaceAction {
    /// `listen`.
    Listen,
    /// `ignore`.
    Ignore,
    /// `drop`.
    Drop,
}

/// `interface` target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterfaceTarget {
    /// `all`.
    All,
    /// `ipv4`.
    Ipv4,
    /// `ipv6`.
    Ipv6,
    /// `wildcard`.
    Wildcard,
    /// An interface name like `eth0`.
    Name(String),
    /// An address with optional prefix length.
    Address(IpAddr, Option<u8>),
}

/// `interface|nic action target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceRule {
    /// What to do.
    pub action: InterfaceAction,
    /// To what.
    pub target: InterfaceTarget,
}

/// `mru` settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mru {
    /// `maxdepth N`.
    pub maxdepth: Option<u32>,
    /// `maxmem KiB`.
    pub maxmem: Option<u32>,
    /// `mindepth N`.
    pub mindepth: Option<u32>,
    /// `maxage s`.
    pub maxage: Option<u32>,
    /// NTPsec `minage s`.
    pub minage: Option<u32>,
    /// `initalloc N`.
    pub initalloc: Option<u32>,
    /// `initmem KiB`.
    pub initmem: Option<u32>,
    /// `incalloc N`.
    pub incalloc: Option<u32>,
    /// `incmem KiB`.
    pub incmem: Option<u32>,
}

/// `setvar name = value [default]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetVar {
    /// Variable name.
    pub name: String,
    /// Value.
    pub value: String,
    /// `default`: shown in the default system variable list.
    pub default: bool,
}

/// `trap host [port N] [interface addr]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    /// Trap receiver.
    pub host: Address,
    /// `port N` (default 18447).
    pub port: Option<u16>,
    /// `interface addr`.
    pub interface: Option<IpAddr>,
}

/// `rlimit` settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rlimit {
    /// `memlock MB`.
    pub memlock: Option<u32>,
    /// `stacksize 4k-pages`.
    pub stacksize: Option<u32>,
    /// `filenum N`.
    pub filenum: Option<u32>,
}

/// `device 127.127.t.u [timedata path] [ppsdata path]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The refclock.
    pub refclock: RefclockId,
    /// `timedata path`.
    pub timedata: Option<String>,
    /// `ppsdata path`.
    pub ppsdata: Option<String>,
}

/// One `pollskewlist` entry: `poll early|late` (poll `None` = `default`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollSkew {
    /// Poll exponent, or `None` for `default`.
    pub poll: Option<u8>,
    /// Early skew, seconds.
    pub early: u32,
    /// Late skew, seconds.
    pub late: u32,
}

/// A parsed ntp.conf (with its included files merged in).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    /// `server`/`pool`/`peer`/`broadcast`/`manycastclient` (and NTPsec `refclock`) lines.
    pub associations: Vec<Association>,
    /// `unpeer`/`unconfig` lines.
    pub unpeer: Vec<Address>,
    /// `restrict`/`unrestrict`/`delrestrict` lines, in file order.
    pub restrictions: Vec<RestrictLine>,
    /// `discard`/`limit`.
    pub discard: Discard,
    /// `fudge` lines (and the fudge part of NTPsec `refclock`).
    pub fudges: Vec<Fudge>,
    /// `device` lines.
    pub devices: Vec<Device>,
    /// `phone` numbers.
    pub phone: Vec<String>,
    /// `driftfile`.
    pub driftfile: Option<DriftFile>,
    /// `nonvolatile threshold`.
    pub nonvolatile: Option<f64>,
    /// `logfile`.
    pub logfile: Option<String>,
    /// `logconfig` items.
    pub logconfig: Vec<LogConfigItem>,
    /// `statsdir`.
    pub statsdir: Option<String>,
    /// `statistics` names.
    pub statistics: Vec<StatsKind>,
    /// `filegen` lines.
    pub filegens: Vec<FileGen>,
    /// `leapfile`.
    pub leapfile: Option<LeapFile>,
    /// `leapsmearinterval s`.
    pub leapsmearinterval: Option<u32>,
    /// `keys path`.
    pub keys: Option<String>,
    /// `trustedkey` ids (ranges expanded), with where each was written.
    pub trustedkeys: Vec<(u16, Location)>,
    /// `controlkey` id and where it was written.
    pub controlkey: Option<(u16, Location)>,
    /// `requestkey` id and where it was written.
    pub requestkey: Option<(u16, Location)>,
    /// `tinker`.
    pub tinker: Tinker,
    /// `tos`.
    pub tos: Tos,
    /// `enable` (true) / `disable` (false) flags, in file order.
    pub system_flags: Vec<(SystemFlag, bool)>,
    /// `interface`/`nic` rules, in file order.
    pub interfaces: Vec<InterfaceRule>,
    /// `mru`.
    pub mru: Mru,
    /// `broadcastdelay s`.
    pub broadcastdelay: Option<f64>,
    /// `broadcastclient` was given.
    pub broadcastclient: bool,
    /// `multicastclient` groups.
    pub multicastclient: Vec<Address>,
    /// `manycastserver` groups.
    pub manycastserver: Vec<Address>,
    /// `mdnstries N`.
    pub mdnstries: Option<u32>,
    /// `setvar` lines.
    pub setvars: Vec<SetVar>,
    /// `trap` lines.
    pub traps: Vec<Trap>,
    /// `pidfile`.
    pub pidfile: Option<String>,
    /// `dscp N`.
    pub dscp: Option<u8>,
    /// `metrics ADDRESS:PORT` (our extension): where the Prometheus text endpoint listens;
    /// `None` = no endpoint. `metrics PORT` means the IPv4 loopback address.
    pub metrics: Option<std::net::SocketAddr>,
    /// `rlimit`.
    pub rlimit: Rlimit,
    /// `tick s`.
    pub tick: Option<f64>,
    /// `ttl` ladder for manycast.
    pub ttl: Vec<u8>,
    /// `pollskewlist`.
    pub pollskew: Vec<PollSkew>,
    /// Files pulled in by `includefile`, in the order read.
    pub included: Vec<String>,
    /// Warnings found while parsing (the configuration is still valid).
    pub warnings: Vec<Diagnostic>,
}

impl Config {
    /// The last `enable`/`disable` setting of `flag`, if any.
    pub fn system_flag(&self, flag: SystemFlag) -> Option<bool> {
        self.system_flags
            .iter()
            .rev()
            .find(|(f, _)| *f == flag)
            .map(|(_, on)| *on)
    }
}
