//! The mode 7 item structs (`include/ntp_request.h`), byte for byte as classic ntpd 4.2.8
//! compiles them on Linux x86-64.
//!
//! Each field names its byte order: `Net` (network order, nearly everything) or `Host` (the
//! daemon's host order, little-endian on x86-64, for the fields ntpd copies without `htonl`:
//! every `v6_flag` except `info_if_stats`'s, `info_sys.poll`, `info_peer.flash2`,
//! `info_peer.keyid`, the `keyid` of the configuration structs, and the `u_long` key ids).
//!
//! Fields named `unused*`/`pad*` (and the IPv6 fields of IPv4 items, and
//! `info_peer_stats.timereset`) carry stale bytes in classic ntpd's replies because it never
//! clears its response buffer: they are sent as zeros by us and preserved for exact
//! re-encoding. Clients must not interpret them.
//!
//! The first block of each struct is the truncated layout sent to `IMPL_XNTPD_OLD` clients
//! (`offsetof(type, v6_flag)`); the `full` block holds the rest.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::codec::mode7_item;
use super::{ItemLayout, LFp, PrivateItem, RequestCode, SFp, UFp};
use crate::WireError;

/// Peer flag bits of `info_peer_list`, `info_peer_summary`, `info_peer` and
/// `info_peer_stats` (`INFO_FLAG_*`).
pub mod peer_flags {
    /// Configured association.
    pub const CONFIG: u16 = 0x1;
    /// The system peer.
    pub const SYSPEER: u16 = 0x2;
    /// Burst mode.
    pub const BURST: u16 = 0x4;
    /// A reference clock.
    pub const REFCLOCK: u16 = 0x8;
    /// Preferred peer.
    pub const PREFER: u16 = 0x10;
    /// Authentication enabled.
    pub const AUTHENABLE: u16 = 0x20;
    /// Selection candidate (status == candidate).
    pub const SEL_CANDIDATE: u16 = 0x40;
    /// Survived the cluster algorithm (status >= sys.peer... as ntpd computes it).
    pub const SHORTLIST: u16 = 0x80;
    /// Initial burst; only `info_peer_stats` has room for it (u16 flags).
    pub const IBURST: u16 = 0x100;
}

/// System flag bits of `info_sys.flags`.
pub mod sys_flags {
    /// Broadcast client.
    pub const BCLIENT: u8 = 0x1;
    /// Authentication required.
    pub const AUTHENTICATE: u8 = 0x2;
    /// NTP discipline enabled.
    pub const NTP: u8 = 0x4;
    /// Kernel discipline enabled.
    pub const KERNEL: u8 = 0x8;
    /// Calibration.
    pub const CAL: u8 = 0x10;
    /// PPS sync.
    pub const PPS_SYNC: u8 = 0x20;
    /// Monitoring enabled.
    pub const MONITOR: u8 = 0x40;
    /// Statistics files enabled.
    pub const FILEGEN: u8 = 0x80;
}

/// Flag bits of `conf_peer.flags` (`CONF_FLAG_*`).
pub mod conf_flags {
    /// Authenticate.
    pub const AUTHENABLE: u8 = 0x1;
    /// Prefer.
    pub const PREFER: u8 = 0x2;
    /// Burst.
    pub const BURST: u8 = 0x4;
    /// Initial burst.
    pub const IBURST: u8 = 0x8;
    /// No select.
    pub const NOSELECT: u8 = 0x10;
    /// Autokey.
    pub const SKEY: u8 = 0x20;
}

/// Flag bits of `conf_sys_flags.flags` (`SYS_FLAG_*`, for `enable`/`disable`).
pub mod set_sys_flags {
    /// bclient.
    pub const BCLIENT: u32 = 0x1;
    /// pps.
    pub const PPS: u32 = 0x2;
    /// ntp.
    pub const NTP: u32 = 0x4;
    /// kernel.
    pub const KERNEL: u32 = 0x8;
    /// monitor.
    pub const MONITOR: u32 = 0x10;
    /// stats.
    pub const FILEGEN: u32 = 0x20;
    /// auth.
    pub const AUTH: u32 = 0x40;
    /// calibrate.
    pub const CAL: u32 = 0x80;
}

/// Flag bits of `reset_flags.flags` (`RESET_FLAG_*`, for `reset`).
pub mod reset_flags {
    /// allpeers.
    pub const ALLPEERS: u32 = 0x1;
    /// io.
    pub const IO: u32 = 0x2;
    /// sys.
    pub const SYS: u32 = 0x4;
    /// mem.
    pub const MEM: u32 = 0x8;
    /// timer.
    pub const TIMER: u32 = 0x10;
    /// auth.
    pub const AUTH: u32 = 0x20;
    /// ctl.
    pub const CTL: u32 = 0x40;
}

fn v6_selected(v6_flag: u32) -> bool {
    v6_flag != 0
}

fn pick(v6_flag: u32, v4: Ipv4Addr, v6: Ipv6Addr) -> IpAddr {
    if v6_selected(v6_flag) {
        IpAddr::V6(v6)
    } else {
        IpAddr::V4(v4)
    }
}

mode7_item! {
    /// `info_peer_list` (32 octets; truncated 8): one association in `listpeers`, and the
    /// request item of `showpeer`/`pstats`.
    pub struct InfoPeerList {
        /// Peer IPv4 address.
        addr: Ipv4Addr = Net,
        /// Peer port.
        port: u16 = Net,
        /// Host mode.
        hmode: u8 = Net,
        /// `INFO_FLAG_*` (low 8 bits).
        flags: u8 = Net,
    }
    full {
        /// Nonzero when `addr6` is the address (*host order*).
        v6_flag: u32 = Host,
        /// Padding; sent as zeros by us, preserved for exact re-encoding.
        unused1: [u8; 4] = Net,
        /// Peer IPv6 address.
        addr6: Ipv6Addr = Net,
    }
}

impl InfoPeerList {
    /// The peer address (IPv6 when `v6_flag` is set).
    pub fn address(&self) -> IpAddr {
        pick(self.v6_flag, self.addr, self.addr6)
    }

    /// A request item for `showpeer`/`pstats` naming `addr` on the NTP port, as ntpdc sends
    /// it (everything else zero).
    pub fn for_address(addr: IpAddr) -> Self {
        let mut item = InfoPeerList {
            port: 123,
            ..Default::default()
        };
        match addr {
            IpAddr::V4(a) => item.addr = a,
            IpAddr::V6(a) => {
                item.addr6 = a;
                item.v6_flag = 1;
            }
        }
        item
    }
}

mode7_item! {
    /// `info_peer_summary` (72 octets; truncated 32): one row of `ntpdc -c peers`.
    pub struct InfoPeerSummary {
        /// Local address (broadcast address for broadcast associations).
        dstadr: Ipv4Addr = Net,
        /// Peer address.
        srcadr: Ipv4Addr = Net,
        /// Peer port.
        srcport: u16 = Net,
        /// Peer stratum.
        stratum: u8 = Net,
        /// Host poll exponent.
        hpoll: i8 = Net,
        /// Peer poll exponent.
        ppoll: i8 = Net,
        /// Reach register.
        reach: u8 = Net,
        /// `INFO_FLAG_*`.
        flags: u8 = Net,
        /// Host mode.
        hmode: u8 = Net,
        /// Round-trip delay (seconds).
        delay: SFp = Net,
        /// Offset (seconds, signed).
        offset: LFp = Net,
        /// sqrt of the peer dispersion (seconds).
        dispersion: UFp = Net,
    }
    full {
        /// Nonzero for IPv6 (*host order*).
        v6_flag: u32 = Host,
        /// Padding; sent as zeros by us, preserved for exact re-encoding.
        unused1: [u8; 4] = Net,
        /// Local IPv6 address.
        dstadr6: Ipv6Addr = Net,
        /// Peer IPv6 address.
        srcadr6: Ipv6Addr = Net,
    }
}

impl InfoPeerSummary {
    /// The peer address.
    pub fn source(&self) -> IpAddr {
        pick(self.v6_flag, self.srcadr, self.srcadr6)
    }

    /// The local address.
    pub fn destination(&self) -> IpAddr {
        pick(self.v6_flag, self.dstadr, self.dstadr6)
    }
}

mode7_item! {
    /// `info_peer` (280 octets; truncated 240): `showpeer`.
    pub struct InfoPeer {
        /// Local address.
        dstadr: Ipv4Addr = Net,
        /// Peer address.
        srcadr: Ipv4Addr = Net,
        /// Peer port.
        srcport: u16 = Net,
        /// `INFO_FLAG_*` (no room for IBURST).
        flags: u8 = Net,
        /// Peer leap indicator.
        leap: u8 = Net,
        /// Host mode.
        hmode: u8 = Net,
        /// Peer mode.
        pmode: u8 = Net,
        /// Stratum.
        stratum: u8 = Net,
        /// Peer poll exponent.
        ppoll: u8 = Net,
        /// Host poll exponent.
        hpoll: u8 = Net,
        /// Precision exponent.
        precision: i8 = Net,
        /// Version.
        version: u8 = Net,
        /// Unused; sent as zeros by us, preserved for exact re-encoding.
        unused8: u8 = Net,
        /// Reach register.
        reach: u8 = Net,
        /// Unreach counter.
        unreach: u8 = Net,
        /// Low 8 bits of the flash (packet test) bits.
        flash: u8 = Net,
        /// TTL / refclock mode.
        ttl: u8 = Net,
        /// Full flash bits (*host order* in 4.2.8).
        flash2: u16 = Host,
        /// Association id.
        associd: u16 = Net,
        /// Key id (*host order* in 4.2.8).
        keyid: u32 = Host,
        /// Unused; sent as zeros by us, preserved for exact re-encoding.
        pkeyid: [u8; 4] = Net,
        /// Reference id, raw.
        refid: [u8; 4] = Net,
        /// Timer (never filled by 4.2.8); preserved for exact re-encoding.
        timer: u32 = Net,
        /// Root delay (seconds).
        rootdelay: SFp = Net,
        /// Root dispersion (seconds).
        rootdispersion: UFp = Net,
        /// Reference time.
        reftime: LFp = Net,
        /// Origin timestamp.
        org: LFp = Net,
        /// Receive timestamp.
        rec: LFp = Net,
        /// Transmit timestamp.
        xmt: LFp = Net,
        /// Filter delays, newest first (seconds).
        filtdelay: [SFp; 8] = Net,
        /// Filter offsets (seconds, signed).
        filtoffset: [LFp; 8] = Net,
        /// Filter order.
        order: [u8; 8] = Net,
        /// Delay (seconds).
        delay: SFp = Net,
        /// sqrt of the dispersion (seconds).
        dispersion: UFp = Net,
        /// Offset (seconds, signed).
        offset: LFp = Net,
        /// sqrt of the jitter (seconds).
        selectdisp: UFp = Net,
        /// `unused1..7`; sent as zeros by us, preserved for exact re-encoding.
        unused1_7: [u8; 28] = Net,
        /// Broadcast delay (4.2.8 puts the delay here).
        estbdelay: SFp = Net,
    }
    full {
        /// Nonzero for IPv6 (*host order*).
        v6_flag: u32 = Host,
        /// Padding; sent as zeros by us, preserved for exact re-encoding.
        unused9: [u8; 4] = Net,
        /// Local IPv6 address.
        dstadr6: Ipv6Addr = Net,
        /// Peer IPv6 address.
        srcadr6: Ipv6Addr = Net,
    }
}

impl InfoPeer {
    /// The peer address.
    pub fn source(&self) -> IpAddr {
        pick(self.v6_flag, self.srcadr, self.srcadr6)
    }

    /// The local address.
    pub fn destination(&self) -> IpAddr {
        pick(self.v6_flag, self.dstadr, self.dstadr6)
    }
}

mode7_item! {
    /// `info_peer_stats` (120 octets; truncated 80): `pstats`.
    pub struct InfoPeerStats {
        /// Local address.
        dstadr: Ipv4Addr = Net,
        /// Peer address.
        srcadr: Ipv4Addr = Net,
        /// Peer port.
        srcport: u16 = Net,
        /// `INFO_FLAG_*` including IBURST.
        flags: u16 = Net,
        /// Not filled by 4.2.8 (stale bytes); preserved for exact re-encoding.
        timereset: u32 = Net,
        /// Seconds since the last packet.
        timereceived: u32 = Net,
        /// Seconds until the next poll.
        timetosend: u32 = Net,
        /// Seconds since reachability changed.
        timereachable: u32 = Net,
        /// Packets sent.
        sent: u32 = Net,
        /// Unused; sent as zeros by us, preserved for exact re-encoding.
        unused1: [u8; 4] = Net,
        /// Packets processed.
        processed: u32 = Net,
        /// Unused; sent as zeros by us, preserved for exact re-encoding.
        unused2: [u8; 4] = Net,
        /// Bad authentication.
        badauth: u32 = Net,
        /// Bogus origin.
        bogusorg: u32 = Net,
        /// Duplicates.
        oldpkt: u32 = Net,
        /// Unused; sent as zeros by us, preserved for exact re-encoding.
        unused3: [u8; 4] = Net,
        /// Unused; sent as zeros by us, preserved for exact re-encoding.
        unused4: [u8; 4] = Net,
        /// Bad dispersion.
        seldisp: u32 = Net,
        /// Bad reference time.
        selbroken: u32 = Net,
        /// Unused; sent as zeros by us, preserved for exact re-encoding.
        unused5: [u8; 4] = Net,
        /// Select status (4.2.8 stores the peer status, 6 for the system peer).
        candidate: u8 = Net,
        /// `unused6..8`; sent as zeros by us, preserved for exact re-encoding.
        unused6_8: [u8; 3] = Net,
    }
    full {
        /// Nonzero for IPv6 (*host order*).
        v6_flag: u32 = Host,
        /// Padding; sent as zeros by us, preserved for exact re-encoding.
        unused9: [u8; 4] = Net,
        /// Local IPv6 address.
        dstadr6: Ipv6Addr = Net,
        /// Peer IPv6 address.
        srcadr6: Ipv6Addr = Net,
    }
}

impl InfoPeerStats {
    /// The peer address.
    pub fn source(&self) -> IpAddr {
        pick(self.v6_flag, self.srcadr, self.srcadr6)
    }

    /// The local address.
    pub fn destination(&self) -> IpAddr {
        pick(self.v6_flag, self.dstadr, self.dstadr6)
    }
}

mode7_item! {
    /// `info_sys` (80 octets; truncated 56): `sysinfo`.
    pub struct InfoSys {
        /// System peer IPv4 address (0 if none or IPv6).
        peer: Ipv4Addr = Net,
        /// System peer's host mode.
        peer_mode: u8 = Net,
        /// Leap indicator.
        leap: u8 = Net,
        /// Stratum.
        stratum: u8 = Net,
        /// Precision exponent.
        precision: i8 = Net,
        /// Root delay (seconds; ntpdc prints it as "root distance").
        rootdelay: SFp = Net,
        /// Root dispersion (seconds).
        rootdispersion: UFp = Net,
        /// Reference id, raw.
        refid: [u8; 4] = Net,
        /// Reference time.
        reftime: LFp = Net,
        /// System poll exponent (*host order*; not printed by ntpdc).
        poll: u32 = Host,
        /// `sys_flags` bits.
        flags: u8 = Net,
        /// `unused1..3`; sent as zeros by us, preserved for exact re-encoding.
        unused1_3: [u8; 3] = Net,
        /// Broadcast delay (seconds).
        bdelay: SFp = Net,
        /// System jitter in seconds (named `frequency`; ntpdc prints it as "jitter").
        frequency: SFp = Net,
        /// Authentication delay (fraction only).
        authdelay: LFp = Net,
        /// Clock stability (ppm).
        stability: UFp = Net,
    }
    full {
        /// Nonzero for IPv6 (*host order*).
        v6_flag: u32 = Host,
        /// Padding; sent as zeros by us, preserved for exact re-encoding.
        unused4: [u8; 4] = Net,
        /// System peer IPv6 address.
        peer6: Ipv6Addr = Net,
    }
}

impl InfoSys {
    /// The system peer address.
    pub fn peer_address(&self) -> IpAddr {
        pick(self.v6_flag, self.peer, self.peer6)
    }
}

mode7_item! {
    /// `info_sys_stats` (52 octets; the old struct is 40): `sysstats`. In the 40-octet
    /// layout the tenth word was `wanderhold` and is decoded into `received`.
    pub struct InfoSysStats {
        /// Seconds since start.
        timeup: u32 = Net,
        /// Seconds since the counters were reset.
        timereset: u32 = Net,
        /// Access denied.
        denied: u32 = Net,
        /// Previous-version packets.
        oldversionpkt: u32 = Net,
        /// Current-version packets.
        newversionpkt: u32 = Net,
        /// Declined (unknown version).
        unknownversion: u32 = Net,
        /// Bad length or format.
        badlength: u32 = Net,
        /// Processed.
        processed: u32 = Net,
        /// Bad authentication.
        badauth: u32 = Net,
        /// Received (old layout: `wanderhold`).
        received: u32 = Net,
    }
    full {
        /// Rate exceeded.
        limitrejected: u32 = Net,
        /// Lamport violations.
        lamport: u32 = Net,
        /// Timestamp rounding.
        tsrounding: u32 = Net,
    }
}

mode7_item! {
    /// `info_io_stats` (40 octets): `iostats`.
    pub struct InfoIoStats {
        /// Seconds since reset.
        timereset: u32 = Net,
        /// Receive buffers.
        totalrecvbufs: u16 = Net,
        /// Free receive buffers.
        freerecvbufs: u16 = Net,
        /// Full receive buffers.
        fullrecvbufs: u16 = Net,
        /// Low-water refills.
        lowwater: u16 = Net,
        /// Dropped packets.
        dropped: u32 = Net,
        /// Ignored packets.
        ignored: u32 = Net,
        /// Received packets.
        received: u32 = Net,
        /// Sent packets.
        sent: u32 = Net,
        /// Packets not sent.
        notsent: u32 = Net,
        /// Interrupts handled.
        interrupts: u32 = Net,
        /// Received by the interrupt handler.
        int_received: u32 = Net,
    }
}

mode7_item! {
    /// `info_mem_stats` (148 octets): `memstats`.
    pub struct InfoMemStats {
        /// Seconds since reset.
        timereset: u32 = Net,
        /// Peer structures.
        totalpeermem: u16 = Net,
        /// Free peer structures.
        freepeermem: u16 = Net,
        /// findpeer calls.
        findpeer_calls: u32 = Net,
        /// Allocations.
        allocations: u32 = Net,
        /// Demobilizations.
        demobilizations: u32 = Net,
        /// Peer hash bucket counts.
        hashcount: [u8; 128] = Net,
    }
}

mode7_item! {
    /// `info_loop` (24 octets): `loopinfo`.
    pub struct InfoLoop {
        /// Last offset (seconds, signed).
        last_offset: LFp = Net,
        /// Frequency (ppm, signed).
        drift_comp: LFp = Net,
        /// Time constant counter ("poll adjust").
        compliance: u32 = Net,
        /// Seconds since the last update.
        watchdog_timer: u32 = Net,
    }
}

mode7_item! {
    /// `info_timer_stats` (16 octets): `timerstats`.
    pub struct InfoTimerStats {
        /// Seconds since reset.
        timereset: u32 = Net,
        /// Alarms handled (= timereset in 4.2.8).
        alarms: u32 = Net,
        /// Alarm overruns.
        overflows: u32 = Net,
        /// Calls to transmit.
        xmtcalls: u32 = Net,
    }
}

mode7_item! {
    /// `info_kernel` (60 octets): the raw `struct timex` values for `kerninfo`.
    pub struct InfoKernel {
        /// PLL offset (µs, or ns with STA_NANO).
        offset: i32 = Net,
        /// Frequency (scaled ppm, 16.16).
        freq: i32 = Net,
        /// Maximum error (µs).
        maxerror: i32 = Net,
        /// Estimated error (µs).
        esterror: i32 = Net,
        /// Status bits (`STA_*`).
        status: u16 = Net,
        /// PPS interval shift.
        shift: u16 = Net,
        /// PLL time constant.
        constant: i32 = Net,
        /// Precision (µs).
        precision: i32 = Net,
        /// Frequency tolerance (scaled ppm).
        tolerance: i32 = Net,
        /// PPS frequency (scaled ppm).
        ppsfreq: i32 = Net,
        /// PPS jitter (µs or ns).
        jitter: i32 = Net,
        /// PPS stability (scaled ppm).
        stabil: i32 = Net,
        /// Jitter limit exceeded.
        jitcnt: i32 = Net,
        /// Calibration intervals.
        calcnt: i32 = Net,
        /// Calibration errors.
        errcnt: i32 = Net,
        /// Stability limit exceeded.
        stbcnt: i32 = Net,
    }
}

mode7_item! {
    /// `info_if_stats` (136 octets; truncated 48): `ifstats`/`ifreload`. The three addresses
    /// are `union addrun` (IPv4 in the first 4 octets, or IPv6); unlike every other struct its
    /// `v6_flag` is in network order.
    pub struct InfoIfStats {
        /// Address (union).
        unaddr: [u8; 16] = Net,
        /// Broadcast address (union).
        unbcast: [u8; 16] = Net,
        /// Mask (union).
        unmask: [u8; 16] = Net,
    }
    full {
        /// Nonzero for IPv6 (network order here).
        v6_flag: u32 = Net,
        /// Interface name, NUL padded.
        name: [u8; 32] = Net,
        /// Interface flags.
        flags: i32 = Net,
        /// Last TTL.
        last_ttl: i32 = Net,
        /// Multicast addresses.
        num_mcast: i32 = Net,
        /// Packets received.
        received: i32 = Net,
        /// Packets sent.
        sent: i32 = Net,
        /// Send failures.
        notsent: i32 = Net,
        /// Seconds up.
        uptime: i32 = Net,
        /// Scope id.
        scopeid: u32 = Net,
        /// Interface index.
        ifindex: u32 = Net,
        /// Sequential interface number.
        ifnum: u32 = Net,
        /// Peers using the interface.
        peercnt: u32 = Net,
        /// Address family (2 or 10 on Linux).
        family: u16 = Net,
        /// Ignore packets.
        ignore_packets: u8 = Net,
        /// Why the item is listed (`IFS_*`).
        action: u8 = Net,
        /// Padding to 8 octets; sent as zeros by us, preserved for exact re-encoding.
        filler0: [u8; 4] = Net,
    }
}

fn union_addr(raw: &[u8; 16], v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(*raw))
    } else {
        IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]))
    }
}

impl InfoIfStats {
    /// The interface address.
    pub fn address(&self) -> IpAddr {
        union_addr(&self.unaddr, v6_selected(self.v6_flag))
    }

    /// The broadcast address.
    pub fn broadcast(&self) -> IpAddr {
        union_addr(&self.unbcast, v6_selected(self.v6_flag))
    }

    /// The netmask.
    pub fn mask(&self) -> IpAddr {
        union_addr(&self.unmask, v6_selected(self.v6_flag))
    }

    /// The interface name up to the first NUL (lossy UTF-8).
    pub fn name_str(&self) -> String {
        let end = self
            .name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.name.len());
        String::from_utf8_lossy(self.name.get(..end).unwrap_or(&[])).into_owned()
    }
}

mode7_item! {
    /// `info_restrict` (56 octets; truncated 16): `reslist`.
    pub struct InfoRestrict {
        /// Match address.
        addr: Ipv4Addr = Net,
        /// Match mask.
        mask: Ipv4Addr = Net,
        /// Packets matched.
        count: u32 = Net,
        /// Access flags (`RES_*`, low 16 bits).
        rflags: u16 = Net,
        /// Match flags (`RESM_*`).
        mflags: u16 = Net,
    }
    full {
        /// Nonzero for IPv6 (*host order*).
        v6_flag: u32 = Host,
        /// Padding; sent as zeros by us, preserved for exact re-encoding.
        unused1: [u8; 4] = Net,
        /// Match address (IPv6).
        addr6: Ipv6Addr = Net,
        /// Match mask (IPv6).
        mask6: Ipv6Addr = Net,
    }
}

impl InfoRestrict {
    /// The match address.
    pub fn address(&self) -> IpAddr {
        pick(self.v6_flag, self.addr, self.addr6)
    }

    /// The match mask.
    pub fn netmask(&self) -> IpAddr {
        pick(self.v6_flag, self.mask, self.mask6)
    }
}

mode7_item! {
    /// `info_monitor_1` (72 octets; truncated 32): `monlist` (4.2.8 never sends it).
    pub struct InfoMonitor1 {
        /// Average interval (s).
        avg_int: u32 = Net,
        /// Seconds since the last packet.
        last_int: u32 = Net,
        /// Restriction bits.
        restr: u32 = Net,
        /// Packets.
        count: u32 = Net,
        /// Remote address.
        addr: Ipv4Addr = Net,
        /// Local address.
        daddr: Ipv4Addr = Net,
        /// Flags.
        flags: u32 = Net,
        /// Remote port.
        port: u16 = Net,
        /// Mode of the last packet.
        mode: u8 = Net,
        /// Version of the last packet.
        version: u8 = Net,
    }
    full {
        /// Nonzero for IPv6 (*host order*).
        v6_flag: u32 = Host,
        /// Padding; sent as zeros by us, preserved for exact re-encoding.
        unused1: [u8; 4] = Net,
        /// Remote IPv6 address.
        addr6: Ipv6Addr = Net,
        /// Local IPv6 address.
        daddr6: Ipv6Addr = Net,
    }
}

mode7_item! {
    /// `info_monitor` (48 octets; truncated 24): `monlist 2` (4.2.8 never sends it).
    pub struct InfoMonitor {
        /// Average interval (s).
        avg_int: u32 = Net,
        /// Seconds since the last packet.
        last_int: u32 = Net,
        /// Restriction bits.
        restr: u32 = Net,
        /// Packets.
        count: u32 = Net,
        /// Remote address.
        addr: Ipv4Addr = Net,
        /// Remote port.
        port: u16 = Net,
        /// Mode of the last packet.
        mode: u8 = Net,
        /// Version of the last packet.
        version: u8 = Net,
    }
    full {
        /// Nonzero for IPv6 (*host order*).
        v6_flag: u32 = Host,
        /// Padding; sent as zeros by us, preserved for exact re-encoding.
        unused1: [u8; 4] = Net,
        /// Remote IPv6 address.
        addr6: Ipv6Addr = Net,
    }
}

mode7_item! {
    /// `info_auth` (36 octets): `authinfo`.
    pub struct InfoAuth {
        /// Seconds since reset.
        timereset: u32 = Net,
        /// Keys.
        numkeys: u32 = Net,
        /// Free keys.
        numfreekeys: u32 = Net,
        /// Key lookups.
        keylookups: u32 = Net,
        /// Keys not found.
        keynotfound: u32 = Net,
        /// Encryptions.
        encryptions: u32 = Net,
        /// Decryptions.
        decryptions: u32 = Net,
        /// Expired keys.
        expired: u32 = Net,
        /// Uncached key uses.
        keyuncached: u32 = Net,
    }
}

mode7_item! {
    /// `info_trap` (64 octets; truncated 28): `traps`.
    pub struct InfoTrap {
        /// Local address.
        local_address: Ipv4Addr = Net,
        /// Trap receiver address.
        trap_address: Ipv4Addr = Net,
        /// Trap receiver port.
        trap_port: u16 = Net,
        /// Sequence number.
        sequence: u16 = Net,
        /// Seconds since set.
        settime: u32 = Net,
        /// Seconds since first set.
        origtime: u32 = Net,
        /// Resets.
        resets: u32 = Net,
        /// Trap flags.
        flags: u32 = Net,
    }
    full {
        /// Nonzero for IPv6 (*host order*).
        v6_flag: u32 = Host,
        /// Local IPv6 address.
        local_address6: Ipv6Addr = Net,
        /// Trap receiver IPv6 address.
        trap_address6: Ipv6Addr = Net,
    }
}

mode7_item! {
    /// `info_control` (60 octets): `ctlstats`.
    pub struct InfoControl {
        /// Seconds since reset.
        ctltimereset: u32 = Net,
        /// Requests received.
        numctlreq: u32 = Net,
        /// Bad packets.
        numctlbadpkts: u32 = Net,
        /// Responses sent.
        numctlresponses: u32 = Net,
        /// Fragments sent.
        numctlfrags: u32 = Net,
        /// Error responses sent.
        numctlerrors: u32 = Net,
        /// Too-short packets.
        numctltooshort: u32 = Net,
        /// Responses received on input.
        numctlinputresp: u32 = Net,
        /// Fragments received on input.
        numctlinputfrag: u32 = Net,
        /// Input packets with the error bit.
        numctlinputerr: u32 = Net,
        /// Input packets with a nonzero offset.
        numctlbadoffset: u32 = Net,
        /// Input packets with an unknown version.
        numctlbadversion: u32 = Net,
        /// Data shorter than the count.
        numctldatatooshort: u32 = Net,
        /// Bad opcodes.
        numctlbadop: u32 = Net,
        /// Async messages sent.
        numasyncmsgs: u32 = Net,
    }
}

mode7_item! {
    /// `info_clock` (52 octets): `clockstat`.
    pub struct InfoClock {
        /// Refclock address (127.127.t.u).
        clockadr: Ipv4Addr = Net,
        /// Driver type.
        clock_type: u8 = Net,
        /// Flags.
        flags: u8 = Net,
        /// Last event.
        lastevent: u8 = Net,
        /// Current status.
        currentstatus: u8 = Net,
        /// Polls.
        polls: u32 = Net,
        /// No responses.
        noresponse: u32 = Net,
        /// Bad format.
        badformat: u32 = Net,
        /// Bad data.
        baddata: u32 = Net,
        /// Seconds since start.
        timestarted: u32 = Net,
        /// fudge time1 (seconds, signed).
        fudgetime1: LFp = Net,
        /// fudge time2 (seconds, signed).
        fudgetime2: LFp = Net,
        /// fudge stratum.
        fudgeval1: i32 = Net,
        /// fudge refid: raw octets (4.2.8 copies a string, no byte order).
        fudgeval2: [u8; 4] = Net,
    }
}

mode7_item! {
    /// `info_clkbug` (332 octets): `clkbug`.
    pub struct InfoClkBug {
        /// Refclock address.
        clockadr: Ipv4Addr = Net,
        /// Values present.
        nvalues: u8 = Net,
        /// Times present.
        ntimes: u8 = Net,
        /// Value bitmap.
        svalues: u16 = Net,
        /// Time bitmap.
        stimes: u32 = Net,
        /// Values.
        values: [u32; 16] = Net,
        /// Times.
        times: [LFp; 32] = Net,
    }
}

mode7_item! {
    /// `conf_peer` (168 octets; truncated 144): request item of `addpeer`/`addserver`/...
    /// (not checked against vectors: needs an authenticated capture).
    pub struct ConfPeer {
        /// Peer address.
        peeraddr: Ipv4Addr = Net,
        /// Host mode.
        hmode: u8 = Net,
        /// Version.
        version: u8 = Net,
        /// Minimum poll exponent.
        minpoll: u8 = Net,
        /// Maximum poll exponent.
        maxpoll: u8 = Net,
        /// `conf_flags` bits.
        flags: u8 = Net,
        /// TTL or refclock mode.
        ttl: u8 = Net,
        /// Unused; sent as zeros by us, preserved for exact re-encoding.
        unused1: [u8; 2] = Net,
        /// Key id (*host order*: the daemon uses it unconverted).
        keyid: u32 = Host,
        /// Autokey key file name, NUL padded.
        keystr: [u8; 128] = Net,
    }
    full {
        /// Nonzero for IPv6 (*host order*).
        v6_flag: u32 = Host,
        /// Padding; sent as zeros by us, preserved for exact re-encoding.
        unused2: [u8; 4] = Net,
        /// Peer IPv6 address.
        peeraddr6: Ipv6Addr = Net,
    }
}

mode7_item! {
    /// `old_conf_peer` (16 octets): the pre-autokey `REQ_CONFIG` item.
    pub struct OldConfPeer {
        /// Peer address.
        peeraddr: Ipv4Addr = Net,
        /// Host mode.
        hmode: u8 = Net,
        /// Version.
        version: u8 = Net,
        /// Minimum poll exponent.
        minpoll: u8 = Net,
        /// Maximum poll exponent.
        maxpoll: u8 = Net,
        /// `conf_flags` bits.
        flags: u8 = Net,
        /// TTL or refclock mode.
        ttl: u8 = Net,
        /// Unused; sent as zeros by us, preserved for exact re-encoding.
        unused: [u8; 2] = Net,
        /// Key id (*host order*).
        keyid: u32 = Host,
    }
}

mode7_item! {
    /// `conf_unpeer` (24 octets; truncated 4): `unconfig`/`preset`.
    pub struct ConfUnpeer {
        /// Peer address.
        peeraddr: Ipv4Addr = Net,
    }
    full {
        /// Nonzero for IPv6 (*host order*).
        v6_flag: u32 = Host,
        /// Peer IPv6 address.
        peeraddr6: Ipv6Addr = Net,
    }
}

mode7_item! {
    /// `conf_sys_flags` (4 octets): `enable`/`disable`, `set_sys_flags` bits.
    pub struct ConfSysFlags {
        /// Flags.
        flags: u32 = Net,
    }
}

mode7_item! {
    /// `conf_restrict` (60 octets; truncated 24) as in 4.2.8p18 with `ippeerlimit` and
    /// `srvfuzrft` (layout from the header, not checked against vectors).
    pub struct ConfRestrict {
        /// Match address.
        addr: Ipv4Addr = Net,
        /// Match mask.
        mask: Ipv4Addr = Net,
        /// Per-address peer limit.
        ippeerlimit: i16 = Net,
        /// Alignment padding; sent as zeros by us, preserved for exact re-encoding.
        pad1: [u8; 2] = Net,
        /// Server reference-time fuzz.
        srvfuzrft: i32 = Net,
        /// Access flags.
        flags: u16 = Net,
        /// Match flags.
        mflags: u16 = Net,
        /// Unused and alignment padding; sent as zeros by us, preserved for exact re-encoding.
        unused1: [u8; 4] = Net,
    }
    full {
        /// Nonzero for IPv6 (*host order*).
        v6_flag: u32 = Host,
        /// Match address (IPv6).
        addr6: Ipv6Addr = Net,
        /// Match mask (IPv6).
        mask6: Ipv6Addr = Net,
    }
}

mode7_item! {
    /// `reset_flags` (4 octets): `reset`, `reset_flags` bits.
    pub struct ResetFlags {
        /// Flags.
        flags: u32 = Net,
    }
}

mode7_item! {
    /// `conf_trap` (48 octets; truncated 12): `addtrap`/`clrtrap`.
    pub struct ConfTrap {
        /// Local interface address.
        local_address: Ipv4Addr = Net,
        /// Trap receiver address.
        trap_address: Ipv4Addr = Net,
        /// Trap receiver port.
        trap_port: u16 = Net,
        /// Unused; sent as zeros by us, preserved for exact re-encoding.
        unused: [u8; 2] = Net,
    }
    full {
        /// Nonzero for IPv6 (*host order*).
        v6_flag: u32 = Host,
        /// Local IPv6 address.
        local_address6: Ipv6Addr = Net,
        /// Trap receiver IPv6 address.
        trap_address6: Ipv6Addr = Net,
    }
}

mode7_item! {
    /// `conf_fudge` (20 octets): `fudge`.
    pub struct ConfFudge {
        /// Refclock address.
        clockadr: Ipv4Addr = Net,
        /// Which value (`FUDGE_*`: 1 time1, 2 time2, 3 val1, 4 val2, 5 flags).
        which: u32 = Net,
        /// Time value.
        fudgetime: LFp = Net,
        /// Integer value or flags.
        fudgeval_flags: u32 = Net,
    }
}

mode7_item! {
    /// A refclock address item (4 octets): `clockstat`/`clkbug` requests.
    pub struct ClockAddr {
        /// Refclock address (127.127.t.u).
        addr: Ipv4Addr = Net,
    }
}

mode7_item! {
    /// A key id as a C `u_long` in *host order* (8 octets on LP64): `trustedkey`,
    /// `untrustedkey`, `requestkey`, `controlkey`. Platform dependent in classic ntpd (the
    /// daemon steps through 4-octet words); kept as ntpdc on x86-64 sends it.
    pub struct KeyIdItem {
        /// Key id.
        key_id: u64 = Host,
    }
}

/// The items of a response, decoded with the struct its request code implies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseItems {
    /// `listpeers`.
    PeerList(Vec<InfoPeerList>),
    /// `peers`/`dmpeers`.
    PeerSummary(Vec<InfoPeerSummary>),
    /// `showpeer`.
    Peer(Vec<InfoPeer>),
    /// `pstats`.
    PeerStats(Vec<InfoPeerStats>),
    /// `sysinfo`.
    Sys(Vec<InfoSys>),
    /// `sysstats`.
    SysStats(Vec<InfoSysStats>),
    /// `iostats`.
    IoStats(Vec<InfoIoStats>),
    /// `memstats`.
    MemStats(Vec<InfoMemStats>),
    /// `loopinfo`.
    Loop(Vec<InfoLoop>),
    /// `timerstats`.
    TimerStats(Vec<InfoTimerStats>),
    /// `reslist`.
    Restrict(Vec<InfoRestrict>),
    /// `monlist 2`.
    Monitor(Vec<InfoMonitor>),
    /// `monlist`.
    Monitor1(Vec<InfoMonitor1>),
    /// `authinfo`.
    Auth(Vec<InfoAuth>),
    /// `traps`.
    Trap(Vec<InfoTrap>),
    /// `ctlstats`.
    Control(Vec<InfoControl>),
    /// `clockstat`.
    Clock(Vec<InfoClock>),
    /// `kerninfo`.
    Kernel(Vec<InfoKernel>),
    /// `clkbug`.
    ClkBug(Vec<InfoClkBug>),
    /// `ifstats`/`ifreload`.
    IfStats(Vec<InfoIfStats>),
    /// An acknowledgement (no items).
    Ack,
}

impl ResponseItems {
    /// Decode `data` (whole items of `item_size` octets) as the response to `code`.
    ///
    /// # Errors
    /// [`WireError::InvalidValue`] when the item size fits neither layout of the struct, or
    /// when a code answered with a bare acknowledgement carries data; as
    /// [`PrivateItem::decode_all`] otherwise.
    pub fn decode(code: RequestCode, item_size: usize, data: &[u8]) -> Result<Self, WireError> {
        use RequestCode as C;
        Ok(match code {
            C::PeerList => ResponseItems::PeerList(PrivateItem::decode_all(data, item_size)?),
            C::PeerListSum => ResponseItems::PeerSummary(PrivateItem::decode_all(data, item_size)?),
            C::PeerInfo => ResponseItems::Peer(PrivateItem::decode_all(data, item_size)?),
            C::PeerStats => ResponseItems::PeerStats(PrivateItem::decode_all(data, item_size)?),
            C::SysInfo => ResponseItems::Sys(PrivateItem::decode_all(data, item_size)?),
            C::SysStats => ResponseItems::SysStats(PrivateItem::decode_all(data, item_size)?),
            C::IoStats => ResponseItems::IoStats(PrivateItem::decode_all(data, item_size)?),
            C::MemStats => ResponseItems::MemStats(PrivateItem::decode_all(data, item_size)?),
            C::LoopInfo => ResponseItems::Loop(PrivateItem::decode_all(data, item_size)?),
            C::TimerStats => ResponseItems::TimerStats(PrivateItem::decode_all(data, item_size)?),
            C::GetRestrict => ResponseItems::Restrict(PrivateItem::decode_all(data, item_size)?),
            C::MonGetList => ResponseItems::Monitor(PrivateItem::decode_all(data, item_size)?),
            C::MonGetList1 => ResponseItems::Monitor1(PrivateItem::decode_all(data, item_size)?),
            C::AuthInfo => ResponseItems::Auth(PrivateItem::decode_all(data, item_size)?),
            C::Traps => ResponseItems::Trap(PrivateItem::decode_all(data, item_size)?),
            C::GetCtlStats => ResponseItems::Control(PrivateItem::decode_all(data, item_size)?),
            C::GetClockInfo => ResponseItems::Clock(PrivateItem::decode_all(data, item_size)?),
            C::GetKernel => ResponseItems::Kernel(PrivateItem::decode_all(data, item_size)?),
            C::GetClkBugInfo => ResponseItems::ClkBug(PrivateItem::decode_all(data, item_size)?),
            C::IfStats | C::IfReload => {
                ResponseItems::IfStats(PrivateItem::decode_all(data, item_size)?)
            }
            _ if data.is_empty() => ResponseItems::Ack,
            _ => {
                return Err(WireError::InvalidValue {
                    field: "response data length",
                    value: data.len() as u64,
                    expected: "0 for a request answered with an acknowledgement",
                })
            }
        })
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        match self {
            ResponseItems::PeerList(v) => v.len(),
            ResponseItems::PeerSummary(v) => v.len(),
            ResponseItems::Peer(v) => v.len(),
            ResponseItems::PeerStats(v) => v.len(),
            ResponseItems::Sys(v) => v.len(),
            ResponseItems::SysStats(v) => v.len(),
            ResponseItems::IoStats(v) => v.len(),
            ResponseItems::MemStats(v) => v.len(),
            ResponseItems::Loop(v) => v.len(),
            ResponseItems::TimerStats(v) => v.len(),
            ResponseItems::Restrict(v) => v.len(),
            ResponseItems::Monitor(v) => v.len(),
            ResponseItems::Monitor1(v) => v.len(),
            ResponseItems::Auth(v) => v.len(),
            ResponseItems::Trap(v) => v.len(),
            ResponseItems::Control(v) => v.len(),
            ResponseItems::Clock(v) => v.len(),
            ResponseItems::Kernel(v) => v.len(),
            ResponseItems::ClkBug(v) => v.len(),
            ResponseItems::IfStats(v) => v.len(),
            ResponseItems::Ack => 0,
        }
    }

    /// True when there are no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Encode the items back to back in `layout`.
    pub fn encode(&self, layout: ItemLayout) -> Vec<u8> {
        use super::encode_items as e;
        match self {
            ResponseItems::PeerList(v) => e(v, layout),
            ResponseItems::PeerSummary(v) => e(v, layout),
            ResponseItems::Peer(v) => e(v, layout),
            ResponseItems::PeerStats(v) => e(v, layout),
            ResponseItems::Sys(v) => e(v, layout),
            ResponseItems::SysStats(v) => e(v, layout),
            ResponseItems::IoStats(v) => e(v, layout),
            ResponseItems::MemStats(v) => e(v, layout),
            ResponseItems::Loop(v) => e(v, layout),
            ResponseItems::TimerStats(v) => e(v, layout),
            ResponseItems::Restrict(v) => e(v, layout),
            ResponseItems::Monitor(v) => e(v, layout),
            ResponseItems::Monitor1(v) => e(v, layout),
            ResponseItems::Auth(v) => e(v, layout),
            ResponseItems::Trap(v) => e(v, layout),
            ResponseItems::Control(v) => e(v, layout),
            ResponseItems::Clock(v) => e(v, layout),
            ResponseItems::Kernel(v) => e(v, layout),
            ResponseItems::ClkBug(v) => e(v, layout),
            ResponseItems::IfStats(v) => e(v, layout),
            ResponseItems::Ack => Vec::new(),
        }
    }
}

/// The items of a request, decoded with the struct its request code implies (what the
/// daemon's handlers read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestItems {
    /// `showpeer`/`pstats`: the peers asked about.
    PeerList(Vec<InfoPeerList>),
    /// `addpeer`...: peers to configure.
    ConfPeer(Vec<ConfPeer>),
    /// `REQ_CONFIG` with the old 16-octet struct.
    OldConfPeer(Vec<OldConfPeer>),
    /// `unconfig`/`preset`.
    Unpeer(Vec<ConfUnpeer>),
    /// `enable`/`disable`.
    SysFlags(Vec<ConfSysFlags>),
    /// `restrict`/`unrestrict`/`delrestrict`.
    Restrict(Vec<ConfRestrict>),
    /// `reset`.
    ResetFlags(Vec<ResetFlags>),
    /// `trustedkey`/`untrustedkey`/`requestkey`/`controlkey`.
    KeyIds(Vec<KeyIdItem>),
    /// `addtrap`/`clrtrap`.
    Trap(Vec<ConfTrap>),
    /// `clockstat`/`clkbug`.
    ClockAddrs(Vec<ClockAddr>),
    /// `fudge`.
    Fudge(Vec<ConfFudge>),
    /// Codes that take no items.
    None,
}

impl RequestItems {
    /// Decode a request's item octets (`nitems * item_size`, see
    /// [`PrivateRequest::items`](super::PrivateRequest::items)) for `code`.
    ///
    /// # Errors
    /// [`WireError::InvalidValue`] when `item_size` is not one the daemon accepts for the code
    /// ([`RequestCode::request_item_sizes`]; it answers [`InfoError::Fmt`](super::InfoError::Fmt)),
    /// or when a code that takes no items carries some.
    pub fn decode(code: RequestCode, item_size: usize, items: &[u8]) -> Result<Self, WireError> {
        use RequestCode as C;
        if !code.request_item_sizes().contains(&item_size) {
            return Err(WireError::InvalidValue {
                field: "request item size",
                value: item_size as u64,
                expected: "a size the daemon accepts for this request code",
            });
        }
        Ok(match code {
            C::PeerInfo | C::PeerStats => {
                RequestItems::PeerList(PrivateItem::decode_all(items, item_size)?)
            }
            C::Config if item_size == OldConfPeer::SIZE => {
                RequestItems::OldConfPeer(PrivateItem::decode_all(items, item_size)?)
            }
            C::Config => RequestItems::ConfPeer(PrivateItem::decode_all(items, item_size)?),
            C::Unconfig | C::ResetPeer => {
                RequestItems::Unpeer(PrivateItem::decode_all(items, item_size)?)
            }
            C::SetSysFlag | C::ClrSysFlag => {
                RequestItems::SysFlags(PrivateItem::decode_all(items, item_size)?)
            }
            C::ResAddFlags | C::ResSubFlags | C::Unrestrict => {
                RequestItems::Restrict(PrivateItem::decode_all(items, item_size)?)
            }
            C::ResetStats => RequestItems::ResetFlags(PrivateItem::decode_all(items, item_size)?),
            C::TrustKey | C::UntrustKey | C::RequestKey | C::ControlKey => {
                RequestItems::KeyIds(PrivateItem::decode_all(items, item_size)?)
            }
            C::AddTrap | C::ClrTrap => {
                RequestItems::Trap(PrivateItem::decode_all(items, item_size)?)
            }
            C::GetClockInfo | C::GetClkBugInfo => {
                RequestItems::ClockAddrs(PrivateItem::decode_all(items, item_size)?)
            }
            C::SetClkFudge => RequestItems::Fudge(PrivateItem::decode_all(items, item_size)?),
            _ if items.is_empty() => RequestItems::None,
            _ => {
                return Err(WireError::InvalidValue {
                    field: "request data length",
                    value: items.len() as u64,
                    expected: "0 for a request that takes no items",
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes<T: PrivateItem>() -> (usize, usize) {
        (T::SIZE, T::TRUNCATED_SIZE)
    }

    #[test]
    fn struct_sizes_match_the_c_layouts() {
        assert_eq!(sizes::<InfoPeerList>(), (32, 8));
        assert_eq!(sizes::<InfoPeerSummary>(), (72, 32));
        assert_eq!(sizes::<InfoPeer>(), (280, 240));
        assert_eq!(sizes::<InfoPeerStats>(), (120, 80));
        assert_eq!(sizes::<InfoSys>(), (80, 56));
        assert_eq!(sizes::<InfoSysStats>(), (52, 40));
        assert_eq!(sizes::<InfoIoStats>(), (40, 40));
        assert_eq!(sizes::<InfoMemStats>(), (148, 148));
        assert_eq!(sizes::<InfoLoop>(), (24, 24));
        assert_eq!(sizes::<InfoTimerStats>(), (16, 16));
        assert_eq!(sizes::<InfoKernel>(), (60, 60));
        assert_eq!(sizes::<InfoIfStats>(), (136, 48));
        assert_eq!(sizes::<InfoRestrict>(), (56, 16));
        assert_eq!(sizes::<InfoMonitor1>(), (72, 32));
        assert_eq!(sizes::<InfoMonitor>(), (48, 24));
        assert_eq!(sizes::<InfoAuth>(), (36, 36));
        assert_eq!(sizes::<InfoTrap>(), (64, 28));
        assert_eq!(sizes::<InfoControl>(), (60, 60));
        assert_eq!(sizes::<InfoClock>(), (52, 52));
        assert_eq!(sizes::<InfoClkBug>(), (332, 332));
        assert_eq!(sizes::<ConfPeer>(), (168, 144));
        assert_eq!(sizes::<OldConfPeer>(), (16, 16));
        assert_eq!(sizes::<ConfUnpeer>(), (24, 4));
        assert_eq!(sizes::<ConfSysFlags>(), (4, 4));
        assert_eq!(sizes::<ConfRestrict>(), (60, 24));
        assert_eq!(sizes::<ResetFlags>(), (4, 4));
        assert_eq!(sizes::<ConfTrap>(), (48, 12));
        assert_eq!(sizes::<ConfFudge>(), (20, 20));
        assert_eq!(sizes::<ClockAddr>(), (4, 4));
        assert_eq!(sizes::<KeyIdItem>(), (8, 8));
    }

    #[test]
    fn sysinfo_host_order_fields_land_where_the_spec_says() {
        let sys = InfoSys {
            poll: 6,
            v6_flag: 1,
            stratum: 3,
            ..Default::default()
        };
        let b = sys.to_vec(ItemLayout::Full);
        assert_eq!(&b[28..32], &[6, 0, 0, 0]);
        assert_eq!(&b[56..60], &[1, 0, 0, 0]);
        assert_eq!(b[6], 3);
        assert_eq!(sys.to_vec(ItemLayout::Truncated).len(), 56);
    }

    #[test]
    fn showpeer_host_order_fields() {
        let p = InfoPeer {
            flash2: 0x0201,
            associd: 10098,
            keyid: 1,
            ..Default::default()
        };
        let b = p.to_vec(ItemLayout::Full);
        assert_eq!(&b[24..26], &[0x01, 0x02]);
        assert_eq!(&b[26..28], &[0x27, 0x72]);
        assert_eq!(&b[28..32], &[1, 0, 0, 0]);
        assert_eq!(b.len(), 280);
    }

    #[test]
    fn truncated_decode_leaves_ipv6_fields_zero() {
        let mut b = vec![10, 123, 21, 2, 0, 123, 3, 0x83];
        let item = InfoPeerList::decode(&b).unwrap();
        assert_eq!(item.address(), IpAddr::V4(Ipv4Addr::new(10, 123, 21, 2)));
        assert_eq!(item.addr6, Ipv6Addr::UNSPECIFIED);
        assert_eq!(item.to_vec(ItemLayout::Truncated), b);
        b.push(0);
        assert!(InfoPeerList::decode(&b).is_err());
    }

    #[test]
    fn ipv6_peer_list_item_for_showpeer() {
        let a: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let item = InfoPeerList::for_address(IpAddr::V6(a));
        let b = item.to_vec(ItemLayout::Full);
        assert_eq!(&b[4..6], &[0, 123]);
        assert_eq!(&b[8..12], &[1, 0, 0, 0]);
        assert_eq!(&b[16..32], &a.octets());
        assert_eq!(InfoPeerList::decode(&b).unwrap().address(), IpAddr::V6(a));
    }

    #[test]
    fn ifstats_union_addresses_follow_v6_flag() {
        let mut s = InfoIfStats {
            v6_flag: 0,
            ..Default::default()
        };
        s.unaddr[..4].copy_from_slice(&[127, 0, 0, 1]);
        s.name[..2].copy_from_slice(b"lo");
        assert_eq!(s.address(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(s.name_str(), "lo");
        s.v6_flag = 1;
        assert!(s.address().is_ipv6());
        assert_eq!(&s.to_vec(ItemLayout::Full)[48..52], &[0, 0, 0, 1]);
    }

    #[test]
    fn decode_all_rejects_foreign_item_sizes() {
        assert!(InfoSys::decode_all(&[0; 40], 40).is_err());
        assert!(InfoSys::decode_all(&[0; 100], 80).is_err());
        assert_eq!(InfoSys::decode_all(&[], 4).unwrap(), vec![]);
        assert_eq!(InfoSys::decode_all(&[0; 160], 80).unwrap().len(), 2);
    }

    #[test]
    fn request_items_follow_the_code() {
        let item = InfoPeerList::for_address(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        let b = item.to_vec(ItemLayout::Full);
        assert_eq!(
            RequestItems::decode(RequestCode::PeerInfo, 32, &b).unwrap(),
            RequestItems::PeerList(vec![item])
        );
        assert!(matches!(
            RequestItems::decode(RequestCode::Config, 16, &[0; 16]).unwrap(),
            RequestItems::OldConfPeer(ref v) if v.len() == 1
        ));
        assert!(matches!(
            RequestItems::decode(RequestCode::Config, 168, &[0; 168]).unwrap(),
            RequestItems::ConfPeer(ref v) if v.len() == 1
        ));
        assert_eq!(
            RequestItems::decode(RequestCode::SysInfo, 0, &[]).unwrap(),
            RequestItems::None
        );
        assert!(RequestItems::decode(RequestCode::SysInfo, 4, &[]).is_err());
        assert!(RequestItems::decode(RequestCode::PeerInfo, 16, &[0; 16]).is_err());
        let flags = ConfSysFlags {
            flags: set_sys_flags::MONITOR | set_sys_flags::AUTH,
        };
        assert_eq!(
            RequestItems::decode(RequestCode::SetSysFlag, 4, &[0, 0, 0, 0x50]).unwrap(),
            RequestItems::SysFlags(vec![flags])
        );
    }

    #[test]
    fn ack_codes_accept_no_data() {
        assert_eq!(
            ResponseItems::decode(RequestCode::Config, 0, &[]).unwrap(),
            ResponseItems::Ack
        );
        assert!(ResponseItems::decode(RequestCode::Config, 4, &[0; 4]).is_err());
        assert!(ResponseItems::decode(RequestCode::SysInfo, 80, &[])
            .unwrap()
            .is_empty());
    }
}
