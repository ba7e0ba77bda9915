//! The daemon's mode 6 variables as plain data, and their classic 4.2.8p18 rendering.
//!
//! The daemon fills [`SystemVars`], [`PeerVars`], [`ClockVars`], [`MruEntry`],
//! [`InterfaceEntry`] and [`RestrictEntry`] from its engine; the `put_*` functions here write
//! them into a [`VarListWriter`] with the classic names, table order, value formats and (through
//! the writer) the classic fragment and line-break rules, so the reply datagrams are the ones
//! classic ntpd would send for the same values.
//!
//! Units: durations are held in **seconds** and multiplied by 1e3 when rendered, exactly as
//! classic does (`ctl_putdbl(name, x * 1e3)`), so the same double gives the same text. Kernel
//! values ([`KernelVars`]) are held in the units they are printed in. Timestamps are raw 64-bit
//! NTP timestamps (seconds in the high 32 bits).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use ntp_wire::mode6::{ClockStatus, PeerStatus, SystemStatus, VarListWriter, CTL_MAX_DATA_LEN};

/// Declares a classic variable table: an enum whose variants are in table order (the order
/// replies list variables in), with the wire names.
macro_rules! var_table {
    ($(#[$m:meta])* $name:ident { $($var:ident = $text:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $(
                #[doc = concat!("`", $text, "`")]
                $var,
            )*
        }

        impl $name {
            /// Every variable, in the classic table order (the order of replies to a named
            /// request, whatever the request's order).
            pub const ALL: &'static [$name] = &[$($name::$var,)*];

            /// The classic variable name.
            pub const fn name(self) -> &'static str {
                match self {
                    $($name::$var => $text,)*
                }
            }
        }
    };
}

var_table! {
    /// System variables (association 0), classic `sys_var[]` order.
    SysVar {
        Leap = "leap",
        Stratum = "stratum",
        Precision = "precision",
        RootDelay = "rootdelay",
        RootDisp = "rootdisp",
        Refid = "refid",
        Reftime = "reftime",
        Tc = "tc",
        Peer = "peer",
        Offset = "offset",
        Frequency = "frequency",
        SysJitter = "sys_jitter",
        ClkJitter = "clk_jitter",
        Clock = "clock",
        Processor = "processor",
        System = "system",
        Version = "version",
        ClkWander = "clk_wander",
        SysVarList = "sys_var_list",
        Tai = "tai",
        Leapsec = "leapsec",
        Expire = "expire",
        Mintc = "mintc",
        MruEnabled = "mru_enabled",
        MruDepth = "mru_depth",
        MruDeepest = "mru_deepest",
        MruMindepth = "mru_mindepth",
        MruMaxage = "mru_maxage",
        MruMaxdepth = "mru_maxdepth",
        MruMem = "mru_mem",
        MruMaxmem = "mru_maxmem",
        SsUptime = "ss_uptime",
        SsReset = "ss_reset",
        SsReceived = "ss_received",
        SsThisver = "ss_thisver",
        SsOldver = "ss_oldver",
        SsBadformat = "ss_badformat",
        SsBadauth = "ss_badauth",
        SsDeclined = "ss_declined",
        SsRestricted = "ss_restricted",
        SsLimited = "ss_limited",
        SsKodsent = "ss_kodsent",
        SsProcessed = "ss_processed",
        SsLamport = "ss_lamport",
        SsTsrounding = "ss_tsrounding",
        Peeradr = "peeradr",
        Peermode = "peermode",
        Bcastdelay = "bcastdelay",
        Authdelay = "authdelay",
        Authkeys = "authkeys",
        Authfreek = "authfreek",
        Authklookups = "authklookups",
        Authknotfound = "authknotfound",
        Authkuncached = "authkuncached",
        Authkexpired = "authkexpired",
        Authencrypts = "authencrypts",
        Authdecrypts = "authdecrypts",
        Authreset = "authreset",
        Koffset = "koffset",
        Kfreq = "kfreq",
        Kmaxerr = "kmaxerr",
        Kesterr = "kesterr",
        Kstflags = "kstflags",
        Ktimeconst = "ktimeconst",
        Kprecis = "kprecis",
        Kfreqtol = "kfreqtol",
        Kppsfreq = "kppsfreq",
        Kppsstab = "kppsstab",
        Kppsjitter = "kppsjitter",
        Kppscalibdur = "kppscalibdur",
        Kppscalibs = "kppscalibs",
        Kppscaliberrs = "kppscaliberrs",
        Kppsjitexc = "kppsjitexc",
        Kppsstbexc = "kppsstbexc",
        IostatsReset = "iostats_reset",
        TotalRbuf = "total_rbuf",
        FreeRbuf = "free_rbuf",
        UsedRbuf = "used_rbuf",
        RbufLowater = "rbuf_lowater",
        IoDropped = "io_dropped",
        IoIgnored = "io_ignored",
        IoReceived = "io_received",
        IoSent = "io_sent",
        IoSendfailed = "io_sendfailed",
        IoWakeups = "io_wakeups",
        IoGoodwakeups = "io_goodwakeups",
        TimerstatsReset = "timerstats_reset",
        TimerOverruns = "timer_overruns",
        TimerXmts = "timer_xmts",
        Fuzz = "fuzz",
        ClkWanderThreshold = "clk_wander_threshold",
        Leapsmearinterval = "leapsmearinterval",
        Leapsmearoffset = "leapsmearoffset",
    }
}

/// The default `rv` list (READVAR of association 0 with no names), classic `def_sys_var[]`.
pub const DEFAULT_SYS_VARS: &[SysVar] = &[
    SysVar::Version,
    SysVar::Processor,
    SysVar::System,
    SysVar::Leap,
    SysVar::Stratum,
    SysVar::Precision,
    SysVar::RootDelay,
    SysVar::RootDisp,
    SysVar::Refid,
    SysVar::Reftime,
    SysVar::Clock,
    SysVar::Peer,
    SysVar::Tc,
    SysVar::Mintc,
    SysVar::Offset,
    SysVar::Frequency,
    SysVar::SysJitter,
    SysVar::ClkJitter,
    SysVar::ClkWander,
    SysVar::Tai,
    SysVar::Leapsec,
    SysVar::Expire,
    SysVar::Leapsmearinterval,
    SysVar::Leapsmearoffset,
];

var_table! {
    /// Peer variables (association != 0), classic `peer_var[]` order.
    PeerVar {
        Config = "config",
        Authenable = "authenable",
        Authentic = "authentic",
        Srcadr = "srcadr",
        Srcport = "srcport",
        Dstadr = "dstadr",
        Dstport = "dstport",
        Leap = "leap",
        Hmode = "hmode",
        Stratum = "stratum",
        Ppoll = "ppoll",
        Hpoll = "hpoll",
        Precision = "precision",
        RootDelay = "rootdelay",
        RootDisp = "rootdisp",
        Refid = "refid",
        Reftime = "reftime",
        Org = "org",
        Rec = "rec",
        Xleave = "xleave",
        Reach = "reach",
        Unreach = "unreach",
        Timer = "timer",
        Delay = "delay",
        Offset = "offset",
        Jitter = "jitter",
        Dispersion = "dispersion",
        Keyid = "keyid",
        Filtdelay = "filtdelay",
        Filtoffset = "filtoffset",
        Pmode = "pmode",
        Received = "received",
        Sent = "sent",
        Filtdisp = "filtdisp",
        Flash = "flash",
        Ttl = "ttl",
        PeerVarList = "peer_var_list",
        In = "in",
        Out = "out",
        Headway = "headway",
        Bias = "bias",
        Srchost = "srchost",
        Timerec = "timerec",
        Timereach = "timereach",
        Badauth = "badauth",
        Bogusorg = "bogusorg",
        Oldpkt = "oldpkt",
        Seldisp = "seldisp",
        Selbroken = "selbroken",
        Candidate = "candidate",
    }
}

/// The default peer list (READVAR of a peer with no names, and READSTAT of a peer), classic
/// `def_peer_var[]`.
pub const DEFAULT_PEER_VARS: &[PeerVar] = &[
    PeerVar::Srcadr,
    PeerVar::Srcport,
    PeerVar::Srchost,
    PeerVar::Dstadr,
    PeerVar::Dstport,
    PeerVar::Out,
    PeerVar::In,
    PeerVar::Leap,
    PeerVar::Stratum,
    PeerVar::Precision,
    PeerVar::RootDelay,
    PeerVar::RootDisp,
    PeerVar::Refid,
    PeerVar::Reftime,
    PeerVar::Rec,
    PeerVar::Reach,
    PeerVar::Unreach,
    PeerVar::Hmode,
    PeerVar::Pmode,
    PeerVar::Hpoll,
    PeerVar::Ppoll,
    PeerVar::Headway,
    PeerVar::Flash,
    PeerVar::Keyid,
    PeerVar::Ttl,
    PeerVar::Offset,
    PeerVar::Delay,
    PeerVar::Dispersion,
    PeerVar::Jitter,
    PeerVar::Xleave,
    PeerVar::Bias,
    PeerVar::Filtdelay,
    PeerVar::Filtoffset,
    PeerVar::Filtdisp,
];

var_table! {
    /// Clock variables (READCLOCK), classic `clock_var[]` order.
    ClockVar {
        Type = "type",
        Timecode = "timecode",
        Poll = "poll",
        Noreply = "noreply",
        Badformat = "badformat",
        Baddata = "baddata",
        Fudgetime1 = "fudgetime1",
        Fudgetime2 = "fudgetime2",
        Stratum = "stratum",
        Refid = "refid",
        Flags = "flags",
        Device = "device",
        ClockVarList = "clock_var_list",
        Minjitter = "minjitter",
    }
}

/// The default `cv` list, classic `def_clock_var[]` (`type` only shows when `device` is empty).
pub const DEFAULT_CLOCK_VARS: &[ClockVar] = &[
    ClockVar::Device,
    ClockVar::Type,
    ClockVar::Timecode,
    ClockVar::Poll,
    ClockVar::Noreply,
    ClockVar::Badformat,
    ClockVar::Baddata,
    ClockVar::Minjitter,
    ClockVar::Fudgetime1,
    ClockVar::Fudgetime2,
    ClockVar::Stratum,
    ClockVar::Refid,
    ClockVar::Flags,
];

/// MRU monitor figures (`monstats`: `mru_*`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MonStats {
    /// `mru_enabled` (hex): the monitor's enable bits (`0x1` when on).
    pub enabled: u32,
    /// `mru_depth`: entries in the list now.
    pub depth: u64,
    /// `mru_deepest`: most entries ever.
    pub deepest: u64,
    /// `mru_mindepth`: entries kept whatever their age.
    pub mindepth: u64,
    /// `mru_maxage`: entries older than this (s) may be reclaimed.
    pub maxage: i64,
    /// `mru_maxdepth`: hard entry limit.
    pub maxdepth: u64,
    /// `mru_mem`: memory in use, KiB (rounded).
    pub mem_kib: u64,
    /// `mru_maxmem`: memory limit, KiB (rounded).
    pub maxmem_kib: u64,
}

/// Packet counters (`sysstats`: `ss_*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SysStats {
    /// `ss_uptime`: seconds since start.
    pub uptime: u64,
    /// `ss_reset`: seconds since the counters were reset.
    pub reset: u64,
    /// `ss_received`: packets received.
    pub received: u64,
    /// `ss_thisver`: current-version packets.
    pub thisver: u64,
    /// `ss_oldver`: older-version packets.
    pub oldver: u64,
    /// `ss_badformat`: bad length or format.
    pub badformat: u64,
    /// `ss_badauth`: authentication failed.
    pub badauth: u64,
    /// `ss_declined`: declined.
    pub declined: u64,
    /// `ss_restricted`: restricted.
    pub restricted: u64,
    /// `ss_limited`: rate limited.
    pub limited: u64,
    /// `ss_kodsent`: KoD responses sent.
    pub kodsent: u64,
    /// `ss_processed`: processed for time.
    pub processed: u64,
    /// `ss_lamport`: Lamport violations.
    pub lamport: u64,
    /// `ss_tsrounding`: timestamp rounding errors.
    pub tsrounding: u64,
}

/// Authentication counters (`authinfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthStats {
    /// `authkeys`: stored keys.
    pub keys: u64,
    /// `authfreek`: free key slots.
    pub freek: u64,
    /// `authklookups`: key lookups.
    pub klookups: u64,
    /// `authknotfound`: keys not found.
    pub knotfound: u64,
    /// `authkuncached`: uncached keys.
    pub kuncached: u64,
    /// `authkexpired`: expired keys.
    pub kexpired: u64,
    /// `authencrypts`: MACs made.
    pub encrypts: u64,
    /// `authdecrypts`: MACs checked.
    pub decrypts: u64,
    /// `authreset`: seconds since these counters were reset.
    pub reset: u64,
}

/// I/O counters (`iostats`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IoStats {
    /// `iostats_reset`: seconds since reset.
    pub reset: u64,
    /// `total_rbuf`: receive buffers.
    pub total_rbuf: u64,
    /// `free_rbuf`: free receive buffers.
    pub free_rbuf: u64,
    /// `used_rbuf`: used receive buffers.
    pub used_rbuf: u64,
    /// `rbuf_lowater`: low water refills.
    pub rbuf_lowater: u64,
    /// `io_dropped`: dropped packets.
    pub dropped: u64,
    /// `io_ignored`: ignored packets.
    pub ignored: u64,
    /// `io_received`: received packets.
    pub received: u64,
    /// `io_sent`: packets sent.
    pub sent: u64,
    /// `io_sendfailed`: send failures.
    pub send_failed: u64,
    /// `io_wakeups`: input wakeups.
    pub wakeups: u64,
    /// `io_goodwakeups`: useful input wakeups.
    pub good_wakeups: u64,
}

/// Timer counters (`timerstats`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimerStats {
    /// `timerstats_reset`: seconds since reset.
    pub reset: u64,
    /// `timer_overruns`.
    pub overruns: u64,
    /// `timer_xmts`: calls to transmit.
    pub xmts: u64,
}

/// Kernel PPS figures; `None` in [`KernelVars::pps`] renders every `kpps*` as `0`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KernelPps {
    /// `kppsfreq` (ppm, `%g`).
    pub freq_ppm: f64,
    /// `kppsstab` (ppm, `%g`).
    pub stability_ppm: f64,
    /// `kppsjitter` (ms, `%.3f`).
    pub jitter_ms: f64,
    /// `kppscalibdur` (s, `1 << shift`).
    pub calib_duration: i64,
    /// `kppscalibs`.
    pub calibrations: i64,
    /// `kppscaliberrs`.
    pub calib_errors: i64,
    /// `kppsjitexc`.
    pub jitter_exceeded: i64,
    /// `kppsstbexc`.
    pub stability_exceeded: i64,
}

/// Kernel discipline state as `ntp_adjtime()` reports it (`kerninfo`), in printed units.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KernelVars {
    /// `koffset` (ms, `%g`).
    pub offset_ms: f64,
    /// `kfreq` (ppm, `%g`).
    pub freq_ppm: f64,
    /// `kmaxerr` (ms, `%g`).
    pub max_error_ms: f64,
    /// `kesterr` (ms, `%g`).
    pub est_error_ms: f64,
    /// `kstflags`: the `STA_*` bits, rendered as classic words (`pll ... unsync ... src=B`).
    pub status: u32,
    /// `ktimeconst`.
    pub time_constant: i64,
    /// `kprecis` (ms, `%g`).
    pub precision_ms: f64,
    /// `kfreqtol` (ppm, `%g`).
    pub freq_tolerance_ppm: f64,
    /// PPS figures, `None` when the kernel has no PPS signal (`shift == 0`).
    pub pps: Option<KernelPps>,
}

/// Classic `k_st_bits[]`: Linux `STA_*` bit, word.
const KERNEL_STATUS_WORDS: [(u32, &str); 16] = [
    (0x0001, "pll"),
    (0x0002, "ppsfreq"),
    (0x0004, "ppstime"),
    (0x0008, "fll"),
    (0x0010, "ins"),
    (0x0020, "del"),
    (0x0040, "unsync"),
    (0x0080, "freqhold"),
    (0x0100, "ppssignal"),
    (0x0200, "ppsjitter"),
    (0x0400, "ppswander"),
    (0x0800, "ppserror"),
    (0x1000, "clockerr"),
    (0x2000, "nano"),
    (0x4000, "mode=fll"),
    (0x8000, "src=B"),
];

/// `kstflags` text for kernel status bits (classic `k_st_flags()`), e.g. `unsync` for 0x40.
pub fn kernel_status_text(status: u32) -> String {
    KERNEL_STATUS_WORDS
        .iter()
        .filter(|(bit, _)| status & bit != 0)
        .map(|(_, w)| *w)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Everything association 0 can report (reference b.7).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SystemVars {
    /// System status word (header status of every association-0 reply).
    pub status: SystemStatus,
    /// `version`: the daemon's version string.
    pub version: String,
    /// `processor`: `uname -m`.
    pub processor: String,
    /// `system`: `sysname/release`.
    pub system: String,
    /// `leap`: leap indicator 0..=3.
    pub leap: u8,
    /// `stratum`.
    pub stratum: u8,
    /// `precision` (log2 s).
    pub precision: i8,
    /// `rootdelay` (s; shown in ms).
    pub root_delay: f64,
    /// `rootdisp` (s; shown in ms).
    pub root_dispersion: f64,
    /// `refid`: text when stratum <= 1 or >= 16, else a dotted address.
    pub refid: [u8; 4],
    /// `reftime` (raw NTP timestamp).
    pub reftime: u64,
    /// `clock`: the current time (raw NTP timestamp) when the snapshot was taken.
    pub clock: u64,
    /// `peer`: association id of the system peer, 0 for none.
    pub peer: u16,
    /// `peeradr`: the system peer's address, `None` renders `0.0.0.0:0`.
    pub peer_addr: Option<SocketAddr>,
    /// `peermode`: the system peer's host mode (0 with no system peer).
    pub peer_mode: u8,
    /// `tc`: system poll (log2 s).
    pub poll: u8,
    /// `mintc`: minimum poll (log2 s).
    pub min_poll: u8,
    /// `offset` (s; shown in ms with 6 decimals).
    pub offset: f64,
    /// `frequency` (ppm).
    pub frequency_ppm: f64,
    /// `sys_jitter` (s; ms with 6 decimals).
    pub sys_jitter: f64,
    /// `clk_jitter` (s; ms).
    pub clk_jitter: f64,
    /// `clk_wander` (ppm).
    pub clk_wander_ppm: f64,
    /// `tai`: TAI-UTC, omitted when 0 (unknown).
    pub tai: u32,
    /// `leapsec`: Unix time of the leap table's last entry, when a leap file is loaded.
    pub leapsec: Option<i64>,
    /// `expire`: Unix time the leap file expires, when a leap file is loaded.
    pub expire: Option<i64>,
    /// `leapsmearinterval` (s) and `leapsmearoffset` (s; ms), only with leap smearing on.
    pub leap_smear: Option<(u64, f64)>,
    /// `bcastdelay` (s; ms).
    pub bcast_delay: f64,
    /// `authdelay` (s; ms).
    pub auth_delay: f64,
    /// `fuzz`: clock read fuzz (s; ms).
    pub fuzz: f64,
    /// `clk_wander_threshold` (ppm).
    pub clk_wander_threshold_ppm: f64,
    /// `mru_*`.
    pub mon: MonStats,
    /// `ss_*`.
    pub sys_stats: SysStats,
    /// `auth*`.
    pub auth: AuthStats,
    /// `k*`; `None` when there is no kernel discipline (then every value reads `0` and
    /// `kstflags=""`).
    pub kernel: Option<KernelVars>,
    /// `iostats_reset`, `*_rbuf`, `io_*`.
    pub io: IoStats,
    /// `timerstats_reset`, `timer_*`.
    pub timer: TimerStats,
}

/// Everything a peer association can report (reference b.8). `Default` gives an empty
/// association at `0.0.0.0:0`.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerVars {
    /// Association id.
    pub assoc_id: u16,
    /// Peer status word.
    pub status: PeerStatus,
    /// True for a reference clock (its `refid` is always text and it always reports `ttl`).
    pub refclock: bool,
    /// `config`: configured (not preemptible).
    pub configured: bool,
    /// `authentic`: the last packet was authenticated.
    pub authentic: bool,
    /// `srcadr`/`srcport`.
    pub srcadr: SocketAddr,
    /// `srchost`: the configured host name, omitted when `None`.
    pub srchost: Option<String>,
    /// `dstadr`/`dstport`: the local address used; `None` renders `0.0.0.0` and port 0.
    pub dstadr: Option<SocketAddr>,
    /// `in` (classic's `r21 / 1e3`), omitted unless > 0.
    pub in_rate: f64,
    /// `out` (classic's `r34 / 1e3`), omitted unless > 0.
    pub out_rate: f64,
    /// `headway`: rate-control throttle.
    pub headway: i64,
    /// `leap`.
    pub leap: u8,
    /// `hmode`.
    pub hmode: u8,
    /// `pmode`.
    pub pmode: u8,
    /// `stratum`.
    pub stratum: u8,
    /// `ppoll`.
    pub ppoll: u8,
    /// `hpoll`.
    pub hpoll: u8,
    /// `precision`.
    pub precision: i8,
    /// `rootdelay` (s; ms).
    pub root_delay: f64,
    /// `rootdisp` (s; ms).
    pub root_dispersion: f64,
    /// `refid`.
    pub refid: [u8; 4],
    /// `reftime` (raw NTP timestamp).
    pub reftime: u64,
    /// `org`: the origin timestamp of the last packet received. Never the transmit timestamp
    /// of an outstanding request (CVE-2015-8139): classic clears it after each reply.
    pub org: u64,
    /// `rec`: local time the last packet arrived.
    pub rec: u64,
    /// `xleave` (s; ms), omitted when 0.
    pub xleave: f64,
    /// `bias` (s; ms), omitted when 0.
    pub bias: f64,
    /// `reach` (hex).
    pub reach: u8,
    /// `flash` (hex): TEST1..TEST13 bits.
    pub flash: u16,
    /// `ttl`, omitted when `None` (classic: refclocks always send it, servers only when set).
    pub ttl: Option<i64>,
    /// `unreach`.
    pub unreach: u64,
    /// `timer`: seconds to the next poll.
    pub timer: u64,
    /// `delay` (s; ms).
    pub delay: f64,
    /// `offset` (s; ms).
    pub offset: f64,
    /// `jitter` (s; ms).
    pub jitter: f64,
    /// `dispersion` (s; ms).
    pub dispersion: f64,
    /// `keyid` (and `authenable`, classic's inverted `!keyid`).
    pub keyid: u32,
    /// `filtdelay` (s; ms), newest first.
    pub filter_delay: [f64; 8],
    /// `filtoffset` (s; ms), newest first.
    pub filter_offset: [f64; 8],
    /// `filtdisp` (s; ms), newest first.
    pub filter_disp: [f64; 8],
    /// `received`.
    pub received: u64,
    /// `sent`.
    pub sent: u64,
    /// `timerec`: seconds since the last packet.
    pub timerec: u64,
    /// `timereach`: seconds since the reachability changed.
    pub timereach: u64,
    /// `badauth`.
    pub badauth: u64,
    /// `bogusorg`.
    pub bogusorg: u64,
    /// `oldpkt`: duplicates.
    pub oldpkt: u64,
    /// `seldisp`: bad dispersion.
    pub seldisp: u64,
    /// `selbroken`: bad reference time.
    pub selbroken: u64,
    /// `candidate`: candidate order.
    pub candidate: u64,
}

impl Default for PeerVars {
    fn default() -> Self {
        PeerVars {
            assoc_id: Default::default(),
            status: Default::default(),
            refclock: Default::default(),
            configured: Default::default(),
            authentic: Default::default(),
            srcadr: SocketAddr::from(([0, 0, 0, 0], 0)),
            srchost: Default::default(),
            dstadr: Default::default(),
            in_rate: Default::default(),
            out_rate: Default::default(),
            headway: Default::default(),
            leap: Default::default(),
            hmode: Default::default(),
            pmode: Default::default(),
            stratum: Default::default(),
            ppoll: Default::default(),
            hpoll: Default::default(),
            precision: Default::default(),
            root_delay: Default::default(),
            root_dispersion: Default::default(),
            refid: Default::default(),
            reftime: Default::default(),
            org: Default::default(),
            rec: Default::default(),
            xleave: Default::default(),
            bias: Default::default(),
            reach: Default::default(),
            flash: Default::default(),
            ttl: Default::default(),
            unreach: Default::default(),
            timer: Default::default(),
            delay: Default::default(),
            offset: Default::default(),
            jitter: Default::default(),
            dispersion: Default::default(),
            keyid: Default::default(),
            filter_delay: [0.0; 8],
            filter_offset: [0.0; 8],
            filter_disp: [0.0; 8],
            received: Default::default(),
            sent: Default::default(),
            timerec: Default::default(),
            timereach: Default::default(),
            badauth: Default::default(),
            bogusorg: Default::default(),
            oldpkt: Default::default(),
            seldisp: Default::default(),
            selbroken: Default::default(),
            candidate: Default::default(),
        }
    }
}

/// A driver-specific clock variable (classic `kv_list`): the whole `name=value` text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClockExtraVar {
    /// `name=value`, sent as is.
    pub text: String,
    /// Listed in the default `cv` reply.
    pub default: bool,
}

/// Everything a reference clock can report (reference b.9).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClockVars {
    /// Clock status word (`last_event << 4 | current_status`).
    pub status: ClockStatus,
    /// `type`: driver type number (shown by default only when `device` is empty).
    pub clock_type: u8,
    /// `timecode`: the last raw timecode.
    pub timecode: String,
    /// `poll`: polls sent.
    pub polls: u64,
    /// `noreply`.
    pub noreply: u64,
    /// `badformat`.
    pub badformat: u64,
    /// `baddata`.
    pub baddata: u64,
    /// `fudgetime1` (s; ms), shown by default only when set.
    pub fudgetime1: Option<f64>,
    /// `fudgetime2` (s; ms), shown by default only when set.
    pub fudgetime2: Option<f64>,
    /// `stratum` (fudge value 1), shown by default only when set.
    pub stratum: Option<i64>,
    /// `refid` (fudge value 2, as text), shown by default only when set.
    pub refid: Option<[u8; 4]>,
    /// `minjitter` (s; ms), shown by default only when set.
    pub minjitter: Option<f64>,
    /// `flags`: fudge flags.
    pub flags: u8,
    /// `device`: the driver's description.
    pub device: String,
    /// Driver-specific variables.
    pub extra: Vec<ClockExtraVar>,
}

/// One MRU list entry (`mrulist`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MruEntry {
    /// `addr.N`: remote address and port.
    pub addr: SocketAddr,
    /// The local address the packets arrived on (for the `laddr=` filter).
    pub local: Option<IpAddr>,
    /// `first.N`: first packet (raw NTP timestamp).
    pub first: u64,
    /// `last.N`: last packet (raw NTP timestamp).
    pub last: u64,
    /// `ct.N`: packets seen.
    pub count: i32,
    /// `mv.N`: mode/version byte of the last packet.
    pub mode_version: u8,
    /// `rs.N`: restriction bits that applied (hex).
    pub restrict: u32,
}

/// The MRU list as the responder needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MruList {
    /// The current time (raw NTP timestamp), sent as `now=` and used by `maxlstint=`.
    pub now: u64,
    /// Entries, **oldest first** (classic numbers them from the oldest).
    pub entries: Vec<MruEntry>,
}

/// One local address (`ifstats`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceEntry {
    /// Interface number (`N` of the tags).
    pub ifnum: u32,
    /// `addr.N`: address and port.
    pub addr: SocketAddr,
    /// `bcast.N`: broadcast address, empty when `None`.
    pub bcast: Option<SocketAddr>,
    /// `en.N`: 1 unless packets on it are ignored.
    pub enabled: bool,
    /// `name.N`: interface name.
    pub name: String,
    /// `flags.N` (hex): classic `INT_*` bits.
    pub flags: u32,
    /// `tl.N`: last TTL.
    pub ttl: i64,
    /// `mc.N`: multicast groups.
    pub mcast_count: i64,
    /// `rx.N`: packets received.
    pub received: i64,
    /// `tx.N`: packets sent.
    pub sent: i64,
    /// `txerr.N`: send failures.
    pub send_failed: i64,
    /// `pc.N`: peers using it.
    pub peer_count: u64,
    /// `up.N`: seconds since it appeared.
    pub uptime: u64,
}

/// The match flags of a restriction (classic `res_match_bits`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RestrictMatch {
    /// `ntpport`: matches only source port 123.
    pub ntpport: bool,
    /// `interface`: an automatic entry for a local address.
    pub interface: bool,
    /// `source`: the `restrict source` template.
    pub source: bool,
}

/// The access flags of a restriction. Six of them are always written as one of two words
/// (`noserve`/`serve`, `notrust`/`trust`, `nopeer`/`peer`, `noepeer`/`epeer`,
/// `noquery`/`query`, `notrap`/`trap`); the others only when set (vectors note 19).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RestrictAccess {
    /// `ignore`.
    pub ignore: bool,
    /// `noserve`.
    pub noserve: bool,
    /// `notrust`.
    pub notrust: bool,
    /// `version`.
    pub version: bool,
    /// `nopeer`.
    pub nopeer: bool,
    /// `noepeer`.
    pub noepeer: bool,
    /// `limited`.
    pub limited: bool,
    /// `noquery`.
    pub noquery: bool,
    /// `nomodify`.
    pub nomodify: bool,
    /// `notrap`.
    pub notrap: bool,
    /// `lptrap`.
    pub lptrap: bool,
    /// `kod`.
    pub kod: bool,
    /// `mssntp`.
    pub mssntp: bool,
    /// `flake`.
    pub flake: bool,
    /// `nomrulist`.
    pub nomrulist: bool,
}

impl RestrictAccess {
    /// The classic flag words, e.g. `serve trust nopeer epeer noquery nomodify notrap kod`.
    pub fn text(&self) -> String {
        let pick = |set: bool, yes: &'static str, no: &'static str| if set { yes } else { no };
        let mut words: Vec<&str> = Vec::new();
        let only = |set: bool, w: &'static str, words: &mut Vec<&str>| {
            if set {
                words.push(w);
            }
        };
        only(self.ignore, "ignore", &mut words);
        words.push(pick(self.noserve, "noserve", "serve"));
        words.push(pick(self.notrust, "notrust", "trust"));
        only(self.version, "version", &mut words);
        words.push(pick(self.nopeer, "nopeer", "peer"));
        words.push(pick(self.noepeer, "noepeer", "epeer"));
        only(self.limited, "limited", &mut words);
        words.push(pick(self.noquery, "noquery", "query"));
        only(self.nomodify, "nomodify", &mut words);
        words.push(pick(self.notrap, "notrap", "trap"));
        only(self.lptrap, "lptrap", &mut words);
        only(self.kod, "kod", &mut words);
        only(self.mssntp, "mssntp", &mut words);
        only(self.flake, "flake", &mut words);
        only(self.nomrulist, "nomrulist", &mut words);
        words.join(" ")
    }
}

impl RestrictMatch {
    /// The classic words (`ntpport interface`), empty when none is set.
    pub fn text(&self) -> String {
        [
            (self.ntpport, "ntpport"),
            (self.interface, "interface"),
            (self.source, "source"),
        ]
        .into_iter()
        .filter_map(|(set, w)| set.then_some(w))
        .collect::<Vec<_>>()
        .join(" ")
    }
}

/// One restriction (`reslist`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestrictEntry {
    /// `addr.N`.
    pub addr: IpAddr,
    /// `mask.N`.
    pub mask: IpAddr,
    /// `hits.N`.
    pub hits: u64,
    /// Match flags (first words of `flags.N`).
    pub match_flags: RestrictMatch,
    /// Access flags (rest of `flags.N`).
    pub access: RestrictAccess,
}

impl RestrictEntry {
    /// The `flags.N` text: match words, a space, access words.
    pub fn flags_text(&self) -> String {
        let m = self.match_flags.text();
        let a = self.access.text();
        if m.is_empty() {
            a
        } else {
            format!("{m} {a}")
        }
    }
}

/// A noise item classic ntpd mixes into MRU, `ifstats` and `reslist` replies (`xyz.N=value`)
/// so clients do not rely on the item order; clients ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NoiseItem {
    /// The three tag characters (printable ASCII, never `,` or `=`).
    pub tag: [u8; 3],
    /// The value.
    pub value: u64,
}

/// The random choices of list replies: the order of one entry's fields and the noise items.
/// The daemon passes [`ClassicNoise`] seeded from the OS; tests replay a capture.
pub trait ResponseNoise {
    /// Put a permutation of `0..order.len()` into `order` (it holds the identity on entry):
    /// the order in which one entry's fields are sent.
    fn field_order(&mut self, order: &mut [usize]);
    /// The noise item to send where classic sends one, or `None` to send nothing.
    fn noise_item(&mut self) -> Option<NoiseItem>;
}

/// No noise: fields in table order, no noise items. Valid for any client.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNoise;

impl ResponseNoise for NoNoise {
    fn field_order(&mut self, _order: &mut [usize]) {}
    fn noise_item(&mut self) -> Option<NoiseItem> {
        None
    }
}

/// Classic-like noise from a xorshift64* generator: shuffled fields and `xyz.N=value` items
/// made like classic's `send_random_tag_value()`. Seed it from the OS; a zero seed is moved.
#[derive(Debug, Clone)]
pub struct ClassicNoise {
    state: u64,
}

impl ClassicNoise {
    /// A generator with this seed.
    pub fn new(seed: u64) -> Self {
        ClassicNoise {
            state: if seed == 0 {
                0x9e37_79b9_7f4a_7c15
            } else {
                seed
            },
        }
    }

    fn next_u32(&mut self) -> u32 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }
}

impl ResponseNoise for ClassicNoise {
    fn field_order(&mut self, order: &mut [usize]) {
        // Fisher-Yates; the modulo bias of a 32-bit draw over at most 12 fields is irrelevant.
        for i in (1..order.len()).rev() {
            let j = (self.next_u32() as usize) % (i + 1);
            order.swap(i, j);
        }
    }

    fn noise_item(&mut self) -> Option<NoiseItem> {
        // Classic: an int, three letters 'a' + noise % 26 (C remainder, so negative draws give
        // characters below 'a'), each time shifting 5 bits, then the rest as `%lu`.
        let mut noise = self.next_u32() as i32;
        let mut tag = [0u8; 3];
        for t in &mut tag {
            *t = (i32::from(b'a') + noise % 26) as u8;
            noise >>= 5;
        }
        Some(NoiseItem {
            tag,
            value: i64::from(noise) as u64,
        })
    }
}

/// Write a noise item `xyz.<index>=value` when `noise` gives one (classic `ctl_putuint`).
pub fn put_noise(w: &mut VarListWriter, noise: &mut dyn ResponseNoise, index: u64) {
    if let Some(item) = noise.noise_item() {
        let tag = format!("{}.{index}", String::from_utf8_lossy(&item.tag));
        w.put_uint(&tag, item.value);
    }
}

/// True when classic shows a refid of this stratum as text (`REFID_ISTEXT`).
pub fn refid_is_text(stratum: u8) -> bool {
    stratum <= 1 || stratum >= 16
}

fn put_refid(w: &mut VarListWriter, name: &str, refid: [u8; 4], as_text: bool) {
    if as_text {
        w.put_refid_text(name, refid);
    } else {
        w.put_addr(name, IpAddr::V4(Ipv4Addr::from(refid)));
    }
}

/// `%.3f` of `x * 1e3` (classic `ctl_putdbl(name, x * 1e3)`).
fn put_ms(w: &mut VarListWriter, name: &str, seconds: f64) {
    w.put_f3(name, seconds * 1e3);
}

/// Classic's `*_var_list` item: `label="a,b,c"` built in a 468-octet buffer, names dropped
/// once one would not fit, and nothing at all if the closing quote would not fit.
fn var_list_text<'a>(label: &str, names: impl Iterator<Item = &'a str>) -> Option<String> {
    let cap = CTL_MAX_DATA_LEN;
    if label.len() + 4 > cap {
        return None;
    }
    let mut s = format!("{label}=\"");
    let start = s.len();
    for name in names {
        if s.len() + name.len() + 1 >= cap {
            break;
        }
        if s.len() != start {
            s.push(',');
        }
        s.push_str(name);
    }
    if s.len() + 2 >= cap {
        return None;
    }
    s.push('"');
    Some(s)
}

/// Write one system variable as classic `ctl_putsys()` does (some are omitted when unset).
pub fn put_sys_var(w: &mut VarListWriter, var: SysVar, s: &SystemVars) {
    let n = var.name();
    let kern = s.kernel.as_ref();
    let pps = kern.and_then(|k| k.pps.as_ref());
    match var {
        SysVar::Leap => w.put_uint(n, u64::from(s.leap)),
        SysVar::Stratum => w.put_uint(n, u64::from(s.stratum)),
        SysVar::Precision => w.put_int(n, i64::from(s.precision)),
        SysVar::RootDelay => put_ms(w, n, s.root_delay),
        SysVar::RootDisp => put_ms(w, n, s.root_dispersion),
        SysVar::Refid => put_refid(w, n, s.refid, refid_is_text(s.stratum)),
        SysVar::Reftime => w.put_timestamp(n, s.reftime),
        SysVar::Tc => w.put_uint(n, u64::from(s.poll)),
        SysVar::Peer => w.put_uint(n, u64::from(s.peer)),
        SysVar::Offset => w.put_f6(n, s.offset * 1e3),
        SysVar::Frequency => w.put_f3(n, s.frequency_ppm),
        SysVar::SysJitter => w.put_f6(n, s.sys_jitter * 1e3),
        SysVar::ClkJitter => put_ms(w, n, s.clk_jitter),
        SysVar::Clock => w.put_timestamp(n, s.clock),
        SysVar::Processor => w.put_str(n, &s.processor),
        SysVar::System => w.put_str(n, &s.system),
        SysVar::Version => w.put_str(n, &s.version),
        SysVar::ClkWander => w.put_f3(n, s.clk_wander_ppm),
        SysVar::SysVarList => {
            if let Some(t) = var_list_text(n, SysVar::ALL.iter().map(|v| v.name())) {
                w.put_raw(&t);
            }
        }
        SysVar::Tai => {
            if s.tai > 0 {
                w.put_uint(n, u64::from(s.tai));
            }
        }
        SysVar::Leapsec => {
            if let Some(t) = s.leapsec.filter(|&t| t != 0) {
                w.put_filestamp(n, t);
            }
        }
        SysVar::Expire => {
            if let Some(t) = s.expire.filter(|&t| t != 0) {
                w.put_filestamp(n, t);
            }
        }
        SysVar::Mintc => w.put_uint(n, u64::from(s.min_poll)),
        SysVar::MruEnabled => w.put_hex(n, u64::from(s.mon.enabled)),
        SysVar::MruDepth => w.put_uint(n, s.mon.depth),
        SysVar::MruDeepest => w.put_uint(n, s.mon.deepest),
        SysVar::MruMindepth => w.put_uint(n, s.mon.mindepth),
        SysVar::MruMaxage => w.put_int(n, s.mon.maxage),
        SysVar::MruMaxdepth => w.put_uint(n, s.mon.maxdepth),
        SysVar::MruMem => w.put_uint(n, s.mon.mem_kib),
        SysVar::MruMaxmem => w.put_uint(n, s.mon.maxmem_kib),
        SysVar::SsUptime => w.put_uint(n, s.sys_stats.uptime),
        SysVar::SsReset => w.put_uint(n, s.sys_stats.reset),
        SysVar::SsReceived => w.put_uint(n, s.sys_stats.received),
        SysVar::SsThisver => w.put_uint(n, s.sys_stats.thisver),
        SysVar::SsOldver => w.put_uint(n, s.sys_stats.oldver),
        SysVar::SsBadformat => w.put_uint(n, s.sys_stats.badformat),
        SysVar::SsBadauth => w.put_uint(n, s.sys_stats.badauth),
        SysVar::SsDeclined => w.put_uint(n, s.sys_stats.declined),
        SysVar::SsRestricted => w.put_uint(n, s.sys_stats.restricted),
        SysVar::SsLimited => w.put_uint(n, s.sys_stats.limited),
        SysVar::SsKodsent => w.put_uint(n, s.sys_stats.kodsent),
        SysVar::SsProcessed => w.put_uint(n, s.sys_stats.processed),
        SysVar::SsLamport => w.put_uint(n, s.sys_stats.lamport),
        SysVar::SsTsrounding => w.put_uint(n, s.sys_stats.tsrounding),
        SysVar::Peeradr => match s.peer_addr {
            Some(a) => w.put_sockaddr(n, a),
            None => w.put_unquoted(n, "0.0.0.0:0"),
        },
        SysVar::Peermode => w.put_uint(n, u64::from(s.peer_mode)),
        SysVar::Bcastdelay => put_ms(w, n, s.bcast_delay),
        SysVar::Authdelay => put_ms(w, n, s.auth_delay),
        SysVar::Authkeys => w.put_uint(n, s.auth.keys),
        SysVar::Authfreek => w.put_uint(n, s.auth.freek),
        SysVar::Authklookups => w.put_uint(n, s.auth.klookups),
        SysVar::Authknotfound => w.put_uint(n, s.auth.knotfound),
        SysVar::Authkuncached => w.put_uint(n, s.auth.kuncached),
        SysVar::Authkexpired => w.put_uint(n, s.auth.kexpired),
        SysVar::Authencrypts => w.put_uint(n, s.auth.encrypts),
        SysVar::Authdecrypts => w.put_uint(n, s.auth.decrypts),
        SysVar::Authreset => w.put_uint(n, s.auth.reset),
        SysVar::Koffset => put_kernel_g(w, n, kern.map(|k| k.offset_ms)),
        SysVar::Kfreq => put_kernel_g(w, n, kern.map(|k| k.freq_ppm)),
        SysVar::Kmaxerr => put_kernel_g(w, n, kern.map(|k| k.max_error_ms)),
        SysVar::Kesterr => put_kernel_g(w, n, kern.map(|k| k.est_error_ms)),
        SysVar::Kstflags => w.put_str(
            n,
            &kern.map_or(String::new(), |k| kernel_status_text(k.status)),
        ),
        SysVar::Ktimeconst => w.put_int(n, kern.map_or(0, |k| k.time_constant)),
        SysVar::Kprecis => put_kernel_g(w, n, kern.map(|k| k.precision_ms)),
        SysVar::Kfreqtol => put_kernel_g(w, n, kern.map(|k| k.freq_tolerance_ppm)),
        SysVar::Kppsfreq => put_kernel_g(w, n, pps.map(|p| p.freq_ppm)),
        SysVar::Kppsstab => put_kernel_g(w, n, pps.map(|p| p.stability_ppm)),
        SysVar::Kppsjitter => match pps {
            Some(p) => w.put_f3(n, p.jitter_ms),
            None => w.put_int(n, 0),
        },
        SysVar::Kppscalibdur => w.put_int(n, pps.map_or(0, |p| p.calib_duration)),
        SysVar::Kppscalibs => w.put_int(n, pps.map_or(0, |p| p.calibrations)),
        SysVar::Kppscaliberrs => w.put_int(n, pps.map_or(0, |p| p.calib_errors)),
        SysVar::Kppsjitexc => w.put_int(n, pps.map_or(0, |p| p.jitter_exceeded)),
        SysVar::Kppsstbexc => w.put_int(n, pps.map_or(0, |p| p.stability_exceeded)),
        SysVar::IostatsReset => w.put_uint(n, s.io.reset),
        SysVar::TotalRbuf => w.put_uint(n, s.io.total_rbuf),
        SysVar::FreeRbuf => w.put_uint(n, s.io.free_rbuf),
        SysVar::UsedRbuf => w.put_uint(n, s.io.used_rbuf),
        SysVar::RbufLowater => w.put_uint(n, s.io.rbuf_lowater),
        SysVar::IoDropped => w.put_uint(n, s.io.dropped),
        SysVar::IoIgnored => w.put_uint(n, s.io.ignored),
        SysVar::IoReceived => w.put_uint(n, s.io.received),
        SysVar::IoSent => w.put_uint(n, s.io.sent),
        SysVar::IoSendfailed => w.put_uint(n, s.io.send_failed),
        SysVar::IoWakeups => w.put_uint(n, s.io.wakeups),
        SysVar::IoGoodwakeups => w.put_uint(n, s.io.good_wakeups),
        SysVar::TimerstatsReset => w.put_uint(n, s.timer.reset),
        SysVar::TimerOverruns => w.put_uint(n, s.timer.overruns),
        SysVar::TimerXmts => w.put_uint(n, s.timer.xmts),
        SysVar::Fuzz => put_ms(w, n, s.fuzz),
        SysVar::ClkWanderThreshold => w.put_f3(n, s.clk_wander_threshold_ppm),
        SysVar::Leapsmearinterval => {
            if let Some((interval, _)) = s.leap_smear.filter(|&(i, _)| i > 0) {
                w.put_uint(n, interval);
            }
        }
        SysVar::Leapsmearoffset => {
            if let Some((_, offset)) = s.leap_smear.filter(|&(i, _)| i > 0) {
                put_ms(w, n, offset);
            }
        }
    }
}

/// Kernel values are `%g`; without a kernel discipline classic writes the integer 0.
fn put_kernel_g(w: &mut VarListWriter, name: &str, v: Option<f64>) {
    match v {
        Some(v) => w.put_g(name, v),
        None => w.put_int(name, 0),
    }
}

/// Write one peer variable as classic `ctl_putpeer()` does (some are omitted when unset).
pub fn put_peer_var(w: &mut VarListWriter, var: PeerVar, p: &PeerVars) {
    let n = var.name();
    let dst_ip = p
        .dstadr
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    match var {
        PeerVar::Config => w.put_uint(n, u64::from(p.configured)),
        PeerVar::Authenable => w.put_uint(n, u64::from(p.keyid == 0)),
        PeerVar::Authentic => w.put_uint(n, u64::from(p.authentic)),
        PeerVar::Srcadr => w.put_addr(n, p.srcadr.ip()),
        PeerVar::Srcport => w.put_uint(n, u64::from(p.srcadr.port())),
        PeerVar::Srchost => {
            if let Some(h) = &p.srchost {
                w.put_str(n, h);
            }
        }
        PeerVar::Dstadr => w.put_addr(n, dst_ip),
        PeerVar::Dstport => w.put_uint(n, u64::from(p.dstadr.map_or(0, |a| a.port()))),
        PeerVar::In => {
            if p.in_rate > 0.0 {
                w.put_f3(n, p.in_rate);
            }
        }
        PeerVar::Out => {
            if p.out_rate > 0.0 {
                w.put_f3(n, p.out_rate);
            }
        }
        PeerVar::Headway => w.put_uint(n, p.headway as u64),
        PeerVar::Leap => w.put_uint(n, u64::from(p.leap)),
        PeerVar::Hmode => w.put_uint(n, u64::from(p.hmode)),
        PeerVar::Stratum => w.put_uint(n, u64::from(p.stratum)),
        PeerVar::Ppoll => w.put_uint(n, u64::from(p.ppoll)),
        PeerVar::Hpoll => w.put_uint(n, u64::from(p.hpoll)),
        PeerVar::Precision => w.put_int(n, i64::from(p.precision)),
        PeerVar::RootDelay => put_ms(w, n, p.root_delay),
        PeerVar::RootDisp => put_ms(w, n, p.root_dispersion),
        PeerVar::Refid => put_refid(w, n, p.refid, p.refclock || refid_is_text(p.stratum)),
        PeerVar::Reftime => w.put_timestamp(n, p.reftime),
        PeerVar::Org => w.put_timestamp(n, p.org),
        PeerVar::Rec => w.put_timestamp(n, p.rec),
        PeerVar::Xleave => {
            if p.xleave != 0.0 {
                put_ms(w, n, p.xleave);
            }
        }
        PeerVar::Bias => {
            if p.bias != 0.0 {
                put_ms(w, n, p.bias);
            }
        }
        PeerVar::Reach => w.put_hex(n, u64::from(p.reach)),
        PeerVar::Flash => w.put_hex(n, u64::from(p.flash)),
        PeerVar::Ttl => {
            if let Some(t) = p.ttl {
                w.put_int(n, t);
            }
        }
        PeerVar::Unreach => w.put_uint(n, p.unreach),
        PeerVar::Timer => w.put_uint(n, p.timer),
        PeerVar::Delay => put_ms(w, n, p.delay),
        PeerVar::Offset => put_ms(w, n, p.offset),
        PeerVar::Jitter => put_ms(w, n, p.jitter),
        PeerVar::Dispersion => put_ms(w, n, p.dispersion),
        PeerVar::Keyid => {
            // NTP_MAXKEY: larger ids are Autokey session keys, shown in hex.
            if p.keyid > 65535 {
                w.put_hex(n, u64::from(p.keyid));
            } else {
                w.put_uint(n, u64::from(p.keyid));
            }
        }
        PeerVar::Filtdelay => w.put_array(n, &p.filter_delay.map(|v| v * 1e3)),
        PeerVar::Filtoffset => w.put_array(n, &p.filter_offset.map(|v| v * 1e3)),
        PeerVar::Filtdisp => w.put_array(n, &p.filter_disp.map(|v| v * 1e3)),
        PeerVar::Pmode => w.put_uint(n, u64::from(p.pmode)),
        PeerVar::Received => w.put_uint(n, p.received),
        PeerVar::Sent => w.put_uint(n, p.sent),
        PeerVar::PeerVarList => {
            if let Some(t) = var_list_text(n, PeerVar::ALL.iter().map(|v| v.name())) {
                w.put_raw(&t);
            }
        }
        PeerVar::Timerec => w.put_uint(n, p.timerec),
        PeerVar::Timereach => w.put_uint(n, p.timereach),
        PeerVar::Badauth => w.put_uint(n, p.badauth),
        PeerVar::Bogusorg => w.put_uint(n, p.bogusorg),
        PeerVar::Oldpkt => w.put_uint(n, p.oldpkt),
        PeerVar::Seldisp => w.put_uint(n, p.seldisp),
        PeerVar::Selbroken => w.put_uint(n, p.selbroken),
        PeerVar::Candidate => w.put_uint(n, p.candidate),
    }
}

/// The name part (before `=`) of a driver-specific clock variable.
pub fn extra_var_name(text: &str) -> &str {
    text.split('=').next().unwrap_or(text)
}

/// Write one clock variable as classic `ctl_putclock()` does. `must` is true for a named
/// request: optional values are then written even when unset.
pub fn put_clock_var(w: &mut VarListWriter, var: ClockVar, c: &ClockVars, must: bool) {
    let n = var.name();
    match var {
        ClockVar::Type => {
            if must || c.device.is_empty() {
                w.put_uint(n, u64::from(c.clock_type));
            }
        }
        ClockVar::Timecode => w.put_str(n, &c.timecode),
        ClockVar::Poll => w.put_uint(n, c.polls),
        ClockVar::Noreply => w.put_uint(n, c.noreply),
        ClockVar::Badformat => w.put_uint(n, c.badformat),
        ClockVar::Baddata => w.put_uint(n, c.baddata),
        ClockVar::Fudgetime1 => {
            if must || c.fudgetime1.is_some() {
                put_ms(w, n, c.fudgetime1.unwrap_or(0.0));
            }
        }
        ClockVar::Fudgetime2 => {
            if must || c.fudgetime2.is_some() {
                put_ms(w, n, c.fudgetime2.unwrap_or(0.0));
            }
        }
        ClockVar::Stratum => {
            if must || c.stratum.is_some() {
                w.put_int(n, c.stratum.unwrap_or(0));
            }
        }
        ClockVar::Refid => {
            if must || c.refid.is_some() {
                w.put_refid_text(n, c.refid.unwrap_or([0; 4]));
            }
        }
        ClockVar::Flags => w.put_uint(n, u64::from(c.flags)),
        ClockVar::Device => {
            if !c.device.is_empty() {
                w.put_str(n, &c.device);
            } else if must {
                w.put_str(n, "");
            }
        }
        ClockVar::ClockVarList => {
            let names = ClockVar::ALL
                .iter()
                .map(|v| v.name())
                .chain(c.extra.iter().map(|e| extra_var_name(&e.text)));
            if let Some(t) = var_list_text(n, names) {
                w.put_raw(&t);
            }
        }
        ClockVar::Minjitter => {
            if must || c.minjitter.is_some() {
                put_ms(w, n, c.minjitter.unwrap_or(0.0));
            }
        }
    }
}

/// Write one MRU entry (`addr.N last.N first.N ct.N mv.N rs.N`) in the order `noise` picks.
pub fn put_mru_entry(
    w: &mut VarListWriter,
    e: &MruEntry,
    index: u64,
    noise: &mut dyn ResponseNoise,
) {
    let mut order = [0, 1, 2, 3, 4, 5];
    noise.field_order(&mut order);
    for field in order {
        match field {
            0 => w.put_sockaddr(&format!("addr.{index}"), e.addr),
            1 => w.put_timestamp(&format!("last.{index}"), e.last),
            2 => w.put_timestamp(&format!("first.{index}"), e.first),
            3 => w.put_int(&format!("ct.{index}"), i64::from(e.count)),
            4 => w.put_uint(&format!("mv.{index}"), u64::from(e.mode_version)),
            _ => w.put_hex(&format!("rs.{index}"), u64::from(e.restrict)),
        }
    }
}

/// Write one `ifstats` entry (12 fields in the order `noise` picks, then a noise item).
pub fn put_interface_entry(
    w: &mut VarListWriter,
    e: &InterfaceEntry,
    noise: &mut dyn ResponseNoise,
) {
    let i = e.ifnum;
    let mut order: [usize; 12] = std::array::from_fn(|k| k);
    noise.field_order(&mut order);
    for field in order {
        match field {
            0 => w.put_sockaddr(&format!("addr.{i}"), e.addr),
            1 => w.put_unquoted(
                &format!("bcast.{i}"),
                &e.bcast.map(|b| b.to_string()).unwrap_or_default(),
            ),
            2 => w.put_int(&format!("en.{i}"), i64::from(e.enabled)),
            3 => w.put_str(&format!("name.{i}"), &e.name),
            4 => w.put_hex(&format!("flags.{i}"), u64::from(e.flags)),
            5 => w.put_int(&format!("tl.{i}"), e.ttl),
            6 => w.put_int(&format!("mc.{i}"), e.mcast_count),
            7 => w.put_int(&format!("rx.{i}"), e.received),
            8 => w.put_int(&format!("tx.{i}"), e.sent),
            9 => w.put_int(&format!("txerr.{i}"), e.send_failed),
            10 => w.put_uint(&format!("pc.{i}"), e.peer_count),
            _ => w.put_uint(&format!("up.{i}"), e.uptime),
        }
    }
    put_noise(w, noise, u64::from(i));
}

/// Write one `reslist` entry (`addr.N mask.N hits.N flags.N` in the order `noise` picks, then
/// a noise item).
pub fn put_restrict_entry(
    w: &mut VarListWriter,
    e: &RestrictEntry,
    index: u64,
    noise: &mut dyn ResponseNoise,
) {
    let mut order = [0, 1, 2, 3];
    noise.field_order(&mut order);
    for field in order {
        match field {
            0 => w.put_addr(&format!("addr.{index}"), e.addr),
            1 => w.put_addr(&format!("mask.{index}"), e.mask),
            2 => w.put_uint(&format!("hits.{index}"), e.hits),
            _ => w.put_unquoted(&format!("flags.{index}"), &e.flags_text()),
        }
    }
    put_noise(w, noise, index);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_status_words_follow_bit_order() {
        assert_eq!(kernel_status_text(0x40), "unsync");
        assert_eq!(kernel_status_text(0x2001 | 0x8000), "pll nano src=B");
        assert_eq!(kernel_status_text(0), "");
    }

    #[test]
    fn unrestricted_access_reads_as_all_positive_words() {
        assert_eq!(
            RestrictAccess::default().text(),
            "serve trust peer epeer query trap"
        );
        let tutorial = RestrictAccess {
            nopeer: true,
            noquery: true,
            nomodify: true,
            notrap: true,
            kod: true,
            ..RestrictAccess::default()
        };
        assert_eq!(
            tutorial.text(),
            "serve trust nopeer epeer noquery nomodify notrap kod"
        );
    }

    #[test]
    fn classic_noise_tags_never_contain_separators_and_orders_are_permutations() {
        let mut n = ClassicNoise::new(42);
        for _ in 0..1000 {
            let item = n.noise_item().expect("always an item");
            assert!(item
                .tag
                .iter()
                .all(|&c| c.is_ascii_graphic() && c != b',' && c != b'='));
            let mut order: [usize; 12] = std::array::from_fn(|k| k);
            n.field_order(&mut order);
            let mut sorted = order;
            sorted.sort_unstable();
            assert_eq!(sorted, std::array::from_fn::<usize, 12, _>(|k| k));
        }
    }

    #[test]
    fn var_list_is_cut_to_classic_buffer() {
        let long: Vec<String> = (0..20).map(|i| format!("{i:0>30}")).collect();
        let t = var_list_text("x_var_list", long.iter().map(String::as_str)).expect("fits");
        // 14 names of 30 fit; the 15th would reach the end of the 468-octet buffer.
        assert_eq!(t.matches(',').count(), 13);
        assert_eq!(t.len(), 12 + 14 * 30 + 13 + 1);
        assert_eq!(
            var_list_text("v", ["a", "b"].into_iter()).as_deref(),
            Some("v=\"a,b\"")
        );
    }

    #[test]
    fn peer_refid_is_an_address_between_strata_2_and_15_unless_a_refclock() {
        let mut p = PeerVars {
            stratum: 2,
            refid: [127, 127, 1, 1],
            ..PeerVars::default()
        };
        let mut w = VarListWriter::new();
        put_peer_var(&mut w, PeerVar::Refid, &p);
        p.refclock = true;
        p.refid = *b"LOCL";
        put_peer_var(&mut w, PeerVar::Refid, &p);
        p.refclock = false;
        p.stratum = 16;
        p.refid = *b"INIT";
        put_peer_var(&mut w, PeerVar::Refid, &p);
        let data: Vec<u8> = w.finish().into_iter().flat_map(|f| f.data).collect();
        assert_eq!(data, b"refid=127.127.1.1, refid=LOCL, refid=INIT\r\n");
    }
}
