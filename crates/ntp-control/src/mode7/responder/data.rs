//! What the mode 7 responder needs from the daemon: read-only reports as the wire crate's item
//! structs, and the state-changing hooks it calls only for authenticated loopback requests.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use ntp_wire::mode7::{
    ConfFudge, InfoAuth, InfoClkBug, InfoClock, InfoControl, InfoIfStats, InfoIoStats, InfoKernel,
    InfoLoop, InfoMemStats, InfoPeer, InfoPeerList, InfoPeerStats, InfoPeerSummary, InfoRestrict,
    InfoSys, InfoSysStats, InfoTimerStats,
};
use ntp_wire::SymmetricKey;

/// The daemon's state as mode 7 reports it, plus the hooks for requests that change it.
///
/// Report methods return the wire crate's item structs filled with meaningful fields only: the
/// responder zeroes every `unused*`/padding field, clears the address fields of the other
/// family, normalises `v6_flag` to 0/1 and leaves IPv6 entries out for `IMPL_XNTPD_OLD`
/// clients, so the daemon never has to think about layouts. Lists come in the order classic
/// ntpd sends them (peers newest first as in its peer list; restrictions IPv4 then IPv6, each
/// in configuration order).
///
/// The `apply` and `reload_interfaces` hooks run only after the request carried a valid
/// `requestkey` MAC, arrived from loopback and the source is not `nomodify`.
pub trait PrivateData {
    /// `REQ_PEER_LIST` (`listpeers`): one item per association.
    fn peer_list(&self) -> Vec<InfoPeerList>;
    /// `REQ_PEER_LIST_SUM` (`peers`, `dmpeers`): one item per association.
    fn peer_summaries(&self) -> Vec<InfoPeerSummary>;
    /// `REQ_PEER_INFO` (`showpeer`): the association whose source address and port equal
    /// `peer` (classic's `findexistingpeer`), if any.
    fn peer_info(&self, peer: SocketAddr) -> Option<InfoPeer>;
    /// `REQ_PEER_STATS` (`pstats`): as [`PrivateData::peer_info`].
    fn peer_stats(&self, peer: SocketAddr) -> Option<InfoPeerStats>;
    /// `REQ_SYS_INFO` (`sysinfo`).
    fn sys_info(&self) -> InfoSys;
    /// `REQ_SYS_STATS` (`sysstats`); always sent as the 52-octet struct, as classic does.
    fn sys_stats(&self) -> InfoSysStats;
    /// `REQ_IO_STATS` (`iostats`).
    fn io_stats(&self) -> InfoIoStats;
    /// `REQ_MEM_STATS` (`memstats`).
    fn mem_stats(&self) -> InfoMemStats;
    /// `REQ_LOOP_INFO` (`loopinfo`).
    fn loop_info(&self) -> InfoLoop;
    /// `REQ_TIMER_STATS` (`timerstats`).
    fn timer_stats(&self) -> InfoTimerStats;
    /// `REQ_GET_KERNEL` (`kerninfo`): `None` when the kernel discipline is not in use
    /// (classic answers "no data").
    fn kernel_info(&self) -> Option<InfoKernel>;
    /// `REQ_IF_STATS` (`ifstats`, needs the `requestkey` MAC): one item per interface.
    fn if_stats(&self) -> Vec<InfoIfStats>;
    /// `REQ_GET_RESTRICT` (`reslist`): the restriction list.
    fn restrictions(&self) -> Vec<InfoRestrict>;
    /// `REQ_GET_CTLSTATS` (`ctlstats`).
    fn ctl_stats(&self) -> InfoControl;
    /// `REQ_AUTHINFO` (`authinfo`).
    fn auth_info(&self) -> InfoAuth;
    /// `REQ_GET_CLOCKINFO` (`clockstat`): the refclock at `addr` (127.127.t.u). The default
    /// knows no refclock, which classic answers with "no data".
    fn clock_info(&self, addr: Ipv4Addr) -> Option<InfoClock> {
        let _ = addr;
        None
    }
    /// `REQ_GET_CLKBUGINFO` (`clkbug`): as [`PrivateData::clock_info`].
    fn clock_bug_info(&self, addr: Ipv4Addr) -> Option<InfoClkBug> {
        let _ = addr;
        None
    }
    /// Apply a configuration change. Called only for authenticated loopback requests, after
    /// the responder's format checks; the daemon checks what needs its state (the peer exists,
    /// the key is known, the flag bits are ones it supports) and refuses the whole change
    /// rather than applying part of it.
    ///
    /// # Errors
    /// [`ChangeRefused`], sent to the client as the matching `INFO_ERR_*`.
    fn apply(&mut self, change: PrivateChange) -> Result<(), ChangeRefused>;
    /// `REQ_IF_RELOAD` (`ifreload`): rescan the interfaces and return the items for the ones
    /// that changed (classic's `interface_update` callback); none gives "no data".
    fn reload_interfaces(&mut self) -> Vec<InfoIfStats>;
}

/// Why the daemon refused a [`PrivateChange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChangeRefused {
    /// The peer, key or entry named does not exist, or the change could not be made
    /// (`INFO_ERR_NODATA`, as classic for a failed `peer_config` or an unknown key).
    #[error("no such peer, key or entry")]
    NoData,
    /// A value the daemon does not accept, such as unknown restriction flag bits
    /// (`INFO_ERR_FMT`).
    #[error("value not accepted")]
    Format,
}

/// A change requested over mode 7, already decoded and format-checked by the responder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrivateChange {
    /// `REQ_CONFIG` (`addpeer`, `addserver`, `broadcast`...): mobilize these associations.
    AddPeers(Vec<PeerConfig>),
    /// `REQ_UNCONFIG` (`unconfig`): remove these configured associations (port 123). Refuse
    /// with [`ChangeRefused::NoData`] if any of them is not a configured association.
    RemovePeers(Vec<IpAddr>),
    /// `REQ_SET_SYS_FLAG` (`enable`): `set_sys_flags` bits (only defined bits get here).
    SetSysFlags(u32),
    /// `REQ_CLR_SYS_FLAG` (`disable`): `set_sys_flags` bits.
    ClearSysFlags(u32),
    /// `REQ_RESADDFLAGS`/`REQ_RESSUBFLAGS`/`REQ_UNRESTRICT`.
    Restrict {
        /// What to do with each entry.
        op: RestrictOp,
        /// The entries.
        entries: Vec<RestrictEntry>,
    },
    /// `REQ_RESET_STATS` (`reset`): `reset_flags` bits (only defined bits get here).
    ResetStats(u32),
    /// `REQ_RESET_PEER` (`preset`): clear the statistics of these peers; refuse with
    /// [`ChangeRefused::NoData`] if any does not exist.
    ResetPeers(Vec<IpAddr>),
    /// `REQ_REREAD_KEYS` (`readkeys`).
    RereadKeys,
    /// `REQ_TRUSTKEY` (`trustedkey`).
    TrustKeys(Vec<u32>),
    /// `REQ_UNTRUSTKEY` (`untrustedkey`).
    UntrustKeys(Vec<u32>),
    /// `REQ_REQUEST_KEY` (`requestkey`): 1..=65535; refuse with [`ChangeRefused::NoData`]
    /// when the key is not in the key file.
    SetRequestKey(u32),
    /// `REQ_CONTROL_KEY` (`controlkey`): as [`PrivateChange::SetRequestKey`].
    SetControlKey(u32),
    /// `REQ_SET_CLKFUDGE` (`fudge`).
    SetClockFudge(Vec<ConfFudge>),
}

/// One association to mobilize (`conf_peer` / `old_conf_peer`), port 123 implied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerConfig {
    /// Peer address (a 127.127.t.u address names a refclock).
    pub address: IpAddr,
    /// Host mode, 0..=6 (checked).
    pub hmode: u8,
    /// NTP version.
    pub version: u8,
    /// Minimum poll exponent.
    pub minpoll: u8,
    /// Maximum poll exponent.
    pub maxpoll: u8,
    /// `conf_flags` bits (prefer, burst, iburst, ...).
    pub flags: u8,
    /// TTL or refclock mode.
    pub ttl: u8,
    /// Key id (0 = none).
    pub keyid: u32,
}

/// What a restriction request does (classic's `restrict_op`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestrictOp {
    /// `REQ_RESADDFLAGS`: add flags to the entry, creating it if needed.
    AddFlags,
    /// `REQ_RESSUBFLAGS`: remove flags from the entry.
    RemoveFlags,
    /// `REQ_UNRESTRICT`: delete the entry.
    Remove,
}

/// One restriction entry of a restriction request (`conf_restrict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestrictEntry {
    /// Match address.
    pub address: IpAddr,
    /// Match mask (same family as `address`).
    pub mask: IpAddr,
    /// Access flags (`RES_*`).
    pub flags: u16,
    /// Match flags (`RESM_*`).
    pub mflags: u16,
    /// Per-address peer limit (-1 = none).
    pub ippeerlimit: i16,
}

/// The daemon's trusted keys, looked up by id to check a request's MAC.
pub trait TrustedKeys {
    /// The key with this id if it is known and trusted.
    fn trusted_key(&self, id: u32) -> Option<&SymmetricKey>;
}

impl TrustedKeys for [SymmetricKey] {
    fn trusted_key(&self, id: u32) -> Option<&SymmetricKey> {
        self.iter().find(|k| k.id == id)
    }
}

impl TrustedKeys for Vec<SymmetricKey> {
    fn trusted_key(&self, id: u32) -> Option<&SymmetricKey> {
        self.as_slice().trusted_key(id)
    }
}

/// A key store with no keys: nothing authenticates.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoKeys;

impl TrustedKeys for NoKeys {
    fn trusted_key(&self, _id: u32) -> Option<&SymmetricKey> {
        None
    }
}
