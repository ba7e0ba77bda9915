//! Mode 7 (private, ntpdc) messages: header, request codes, item structs, request MAC layout,
//! response fragmentation and reassembly.
//!
//! Mode 7 is classic ntpd's private query protocol (`include/ntp_request.h`). A request is a
//! fixed 192-octet frame (header, 176-octet data area, transmit timestamp) optionally followed by
//! a key id and digest; a response is an 8-octet header followed by whole items, at most 500 data
//! octets per datagram and at most 128 datagrams. Item structs are C structs copied onto the
//! wire: most fields are network order, a few are the daemon's host order (see [`items`]).
//!
//! Nothing here computes digests: [`RequestMacLayout`] says where the timestamp, key id and
//! digest sit and which octets the digest covers, and the caller runs `crate::mac`.
//!
//! A client exchange (what `ntpdc -c sysinfo` does), end to end in memory:
//!
//! ```
//! use ntp_wire::mode7::*;
//!
//! // ntpdc: the 192-octet request.
//! let header = PrivateHeader::request(Implementation::Xntpd, RequestCode::SysInfo, 0, 0, false);
//! let request = PrivateRequest::unauthenticated(header, &[]).unwrap().to_vec().unwrap();
//! assert_eq!(request.len(), 192);
//!
//! // Daemon: decode, answer with one item in the layout the implementation asks for.
//! let req = PrivateRequest::decode(&request).unwrap();
//! let layout = req.header.implementation.item_layout();
//! let sys = InfoSys { stratum: 3, poll: 6, ..Default::default() };
//! let datagrams = split_response(&req.header, InfoSys::size_of(layout), &sys.to_vec(layout)).unwrap();
//!
//! // ntpdc: reassemble and decode with the struct the request code implies.
//! let mut r = Reassembler::new(Implementation::Xntpd, RequestCode::SysInfo);
//! let Fragment::Complete(done) = r.push(&datagrams[0]) else { panic!() };
//! let items = ResponseItems::decode(RequestCode::SysInfo, done.item_size, &done.data).unwrap();
//! assert_eq!(items, ResponseItems::Sys(vec![sys]));
//! ```

mod codec;
pub mod items;
mod reassembly;
mod request;
mod response;

pub use codec::{LFp, SFp, UFp};
pub use items::*;
pub use reassembly::{Fragment, ReassembledResponse, Reassembler};
pub use request::{PrivateRequest, RequestMacLayout, RequestTail};
pub use response::{
    encode_error_reply, items_per_fragment, max_response_items, split_response, PrivateResponse,
};

use crate::{Reader, WireError, Writer};

/// Length of the mode 7 header.
pub const HEADER_LEN: usize = 8;
/// Size of a request's data area (`MODE7_PAYLOAD_LIM`).
pub const REQUEST_DATA_LEN: usize = 176;
/// Offset of the request timestamp in the fixed frame.
pub const REQUEST_TSTAMP_OFFSET: usize = HEADER_LEN + REQUEST_DATA_LEN;
/// Length of the fixed request frame without MAC (`REQ_LEN_NOMAC`).
pub const REQUEST_LEN_NOMAC: usize = REQUEST_TSTAMP_OFFSET + 8;
/// Largest MAC the daemon accepts: key id plus a 20-octet (SHA1) digest (`MAX_MAC_LEN`).
pub const MAX_MAC_LEN: usize = 4 + 20;
/// Smallest request tail with authentication: timestamp, key id, 16-octet digest
/// (`REQ_TAIL_MIN`).
pub const REQUEST_TAIL_MIN: usize = 8 + 4 + 16;
/// Longest authenticated request the daemon accepts (`REQ_LEN_NOMAC + MAX_MAC_LEN`); longer
/// ones get a format error.
pub const MAX_AUTH_REQUEST_LEN: usize = REQUEST_LEN_NOMAC + MAX_MAC_LEN;
/// Largest data area of one response datagram (`RESP_DATA_SIZE`).
pub const RESPONSE_DATA_MAX: usize = 500;
/// Highest response sequence number (`MAXSEQ`); a response has at most 128 datagrams.
pub const MAX_SEQUENCE: u8 = 127;
/// How far (seconds) an authenticated request's timestamp may be from the receive time
/// (`INFO_TS_MAXSKEW`).
pub const TS_MAX_SKEW_SECS: u32 = 10;
/// The version ntpdc puts in its requests (`RM_VN_MODE(0, 0, 0)` = `0x17`).
pub const NTPDC_VERSION: u8 = 2;
/// Largest 12-bit item count or item size.
pub const MAX_12_BITS: u16 = 0x0fff;

const MODE_PRIVATE: u8 = 7;

/// The implementation number of octet 2: which table of request codes applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Implementation {
    /// 0, `IMPL_UNIV`: codes all implementations agree on (classic ntpd's table is empty).
    Univ,
    /// 2, `IMPL_XNTPD_OLD`: pre-IPv6 ntpdc; answered with the truncated item layouts.
    XntpdOld,
    /// 3, `IMPL_XNTPD`: current ntpdc; answered with the full (IPv6-capable) layouts.
    Xntpd,
    /// Any other value, preserved (classic ntpd answers error 1).
    Unknown(u8),
}

impl From<u8> for Implementation {
    fn from(v: u8) -> Self {
        match v {
            0 => Implementation::Univ,
            2 => Implementation::XntpdOld,
            3 => Implementation::Xntpd,
            other => Implementation::Unknown(other),
        }
    }
}

impl From<Implementation> for u8 {
    fn from(v: Implementation) -> u8 {
        match v {
            Implementation::Univ => 0,
            Implementation::XntpdOld => 2,
            Implementation::Xntpd => 3,
            Implementation::Unknown(other) => other,
        }
    }
}

impl Implementation {
    /// The item layout a daemon uses when answering this implementation: full for
    /// `IMPL_XNTPD`, truncated for everything else (classic ntpd's `client_v6_capable`).
    pub fn item_layout(self) -> ItemLayout {
        match self {
            Implementation::Xntpd => ItemLayout::Full,
            _ => ItemLayout::Truncated,
        }
    }
}

macro_rules! request_codes {
    ($( $(#[$m:meta])* $name:ident = $v:expr, )*) => {
        /// A mode 7 request code (octet 3), as in classic ntpd's `ntp_codes[]`.
        ///
        /// Unknown values are preserved in [`RequestCode::Unknown`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum RequestCode {
            $( $(#[$m])* $name, )*
            /// A code this table does not know, preserved.
            Unknown(u8),
        }

        impl From<u8> for RequestCode {
            fn from(v: u8) -> Self {
                match v {
                    $( $v => RequestCode::$name, )*
                    other => RequestCode::Unknown(other),
                }
            }
        }

        impl From<RequestCode> for u8 {
            fn from(v: RequestCode) -> u8 {
                match v {
                    $( RequestCode::$name => $v, )*
                    RequestCode::Unknown(other) => other,
                }
            }
        }
    };
}

request_codes! {
    /// 0 `REQ_PEER_LIST`: `listpeers`, answered with [`InfoPeerList`].
    PeerList = 0,
    /// 1 `REQ_PEER_LIST_SUM`: `peers`/`dmpeers`, answered with [`InfoPeerSummary`].
    PeerListSum = 1,
    /// 2 `REQ_PEER_INFO`: `showpeer`, request items [`InfoPeerList`], answer [`InfoPeer`].
    PeerInfo = 2,
    /// 3 `REQ_PEER_STATS`: `pstats`, request items [`InfoPeerList`], answer [`InfoPeerStats`].
    PeerStats = 3,
    /// 4 `REQ_SYS_INFO`: `sysinfo`, answered with [`InfoSys`].
    SysInfo = 4,
    /// 5 `REQ_SYS_STATS`: `sysstats`, answered with [`InfoSysStats`].
    SysStats = 5,
    /// 6 `REQ_IO_STATS`: `iostats`, answered with [`InfoIoStats`].
    IoStats = 6,
    /// 7 `REQ_MEM_STATS`: `memstats`, answered with [`InfoMemStats`].
    MemStats = 7,
    /// 8 `REQ_LOOP_INFO`: `loopinfo`, answered with [`InfoLoop`].
    LoopInfo = 8,
    /// 9 `REQ_TIMER_STATS`: `timerstats`, answered with [`InfoTimerStats`].
    TimerStats = 9,
    /// 10 `REQ_CONFIG` (auth): add peers, items [`ConfPeer`] or [`OldConfPeer`].
    Config = 10,
    /// 11 `REQ_UNCONFIG` (auth): remove peers, items [`ConfUnpeer`].
    Unconfig = 11,
    /// 12 `REQ_SET_SYS_FLAG` (auth): `enable`, item [`ConfSysFlags`].
    SetSysFlag = 12,
    /// 13 `REQ_CLR_SYS_FLAG` (auth): `disable`, item [`ConfSysFlags`].
    ClrSysFlag = 13,
    /// 14 `REQ_MONITOR` (not used).
    Monitor = 14,
    /// 15 `REQ_NOMONITOR` (not used).
    NoMonitor = 15,
    /// 16 `REQ_GET_RESTRICT`: `reslist`, answered with [`InfoRestrict`].
    GetRestrict = 16,
    /// 17 `REQ_RESADDFLAGS` (auth): `restrict`, items [`ConfRestrict`].
    ResAddFlags = 17,
    /// 18 `REQ_RESSUBFLAGS` (auth): `unrestrict`, items [`ConfRestrict`].
    ResSubFlags = 18,
    /// 19 `REQ_UNRESTRICT` (auth): `delrestrict`, items [`ConfRestrict`].
    Unrestrict = 19,
    /// 20 `REQ_MON_GETLIST`: `monlist 2`, [`InfoMonitor`] (classic 4.2.8 always answers error 4).
    MonGetList = 20,
    /// 21 `REQ_RESET_STATS` (auth): `reset`, item [`ResetFlags`].
    ResetStats = 21,
    /// 22 `REQ_RESET_PEER` (auth): `preset`, items [`ConfUnpeer`].
    ResetPeer = 22,
    /// 23 `REQ_REREAD_KEYS` (auth): `readkeys`.
    RereadKeys = 23,
    /// 24 `REQ_DO_DIRTY_HACK` (not used).
    DoDirtyHack = 24,
    /// 25 `REQ_DONT_DIRTY_HACK` (not used).
    DontDirtyHack = 25,
    /// 26 `REQ_TRUSTKEY` (auth): `trustedkey`, items [`KeyIdItem`].
    TrustKey = 26,
    /// 27 `REQ_UNTRUSTKEY` (auth): `untrustedkey`, items [`KeyIdItem`].
    UntrustKey = 27,
    /// 28 `REQ_AUTHINFO`: `authinfo`, answered with [`InfoAuth`].
    AuthInfo = 28,
    /// 29 `REQ_TRAPS`: `traps`, answered with [`InfoTrap`].
    Traps = 29,
    /// 30 `REQ_ADD_TRAP` (auth): `addtrap`, item [`ConfTrap`].
    AddTrap = 30,
    /// 31 `REQ_CLR_TRAP` (auth): `clrtrap`, item [`ConfTrap`].
    ClrTrap = 31,
    /// 32 `REQ_REQUEST_KEY` (auth): `requestkey`, item [`KeyIdItem`].
    RequestKey = 32,
    /// 33 `REQ_CONTROL_KEY` (auth): `controlkey`, item [`KeyIdItem`].
    ControlKey = 33,
    /// 34 `REQ_GET_CTLSTATS`: `ctlstats`, answered with [`InfoControl`].
    GetCtlStats = 34,
    /// 35 `REQ_GET_LEAPINFO` (not used).
    GetLeapInfo = 35,
    /// 36 `REQ_GET_CLOCKINFO`: `clockstat`, items [`ClockAddr`], answer [`InfoClock`].
    GetClockInfo = 36,
    /// 37 `REQ_SET_CLKFUDGE` (auth): `fudge`, item [`ConfFudge`].
    SetClkFudge = 37,
    /// 38 `REQ_GET_KERNEL`: `kerninfo`, answered with [`InfoKernel`].
    GetKernel = 38,
    /// 39 `REQ_GET_CLKBUGINFO`: `clkbug`, items [`ClockAddr`], answer [`InfoClkBug`].
    GetClkBugInfo = 39,
    /// 41 `REQ_SET_PRECISION` (not used).
    SetPrecision = 41,
    /// 42 `REQ_MON_GETLIST_1`: `monlist`, [`InfoMonitor1`] (classic 4.2.8 always answers error 4).
    MonGetList1 = 42,
    /// 43 `REQ_HOSTNAME_ASSOCID` (defined, not in the server's table).
    HostnameAssocId = 43,
    /// 44 `REQ_IF_STATS` (auth): `ifstats`, answered with [`InfoIfStats`].
    IfStats = 44,
    /// 45 `REQ_IF_RELOAD` (auth): `ifreload`, answered with [`InfoIfStats`].
    IfReload = 45,
}

impl RequestCode {
    /// True for the codes classic ntpd serves only to requests MACed with the `requestkey`.
    pub fn needs_auth(self) -> bool {
        use RequestCode::*;
        matches!(
            self,
            Config
                | Unconfig
                | SetSysFlag
                | ClrSysFlag
                | ResAddFlags
                | ResSubFlags
                | Unrestrict
                | ResetStats
                | ResetPeer
                | RereadKeys
                | TrustKey
                | UntrustKey
                | AddTrap
                | ClrTrap
                | RequestKey
                | ControlKey
                | SetClkFudge
                | IfStats
                | IfReload
        )
    }

    /// True when the code is in classic ntpd's `ntp_codes[]` table (implementations 2 and 3);
    /// any other code is answered with [`InfoError::Req`].
    pub fn is_served(self) -> bool {
        use RequestCode::*;
        !matches!(
            self,
            Monitor
                | NoMonitor
                | DoDirtyHack
                | DontDirtyHack
                | GetLeapInfo
                | SetPrecision
                | HostnameAssocId
                | Unknown(_)
        )
    }

    /// The request item sizes classic ntpd accepts for this code (`sizeofitem`,
    /// `v6_sizeofitem`, and for [`RequestCode::Config`] also `old_conf_peer`). A request whose
    /// item size is not in this list gets [`InfoError::Fmt`], even with zero items.
    pub fn request_item_sizes(self) -> &'static [usize] {
        use RequestCode::*;
        match self {
            PeerInfo | PeerStats => &[InfoPeerList::TRUNCATED_SIZE, InfoPeerList::SIZE],
            Config => &[ConfPeer::TRUNCATED_SIZE, ConfPeer::SIZE, OldConfPeer::SIZE],
            Unconfig | ResetPeer => &[ConfUnpeer::TRUNCATED_SIZE, ConfUnpeer::SIZE],
            SetSysFlag | ClrSysFlag => &[ConfSysFlags::SIZE],
            ResAddFlags | ResSubFlags | Unrestrict => {
                &[ConfRestrict::TRUNCATED_SIZE, ConfRestrict::SIZE]
            }
            // `reset_flags` with a 0 "v6 size": classic's table entry is (4, 0).
            ResetStats => &[ResetFlags::SIZE, 0],
            TrustKey | UntrustKey | RequestKey | ControlKey => &[KeyIdItem::SIZE],
            AddTrap | ClrTrap => &[ConfTrap::TRUNCATED_SIZE, ConfTrap::SIZE],
            GetClockInfo | GetClkBugInfo => &[ClockAddr::SIZE],
            SetClkFudge => &[ConfFudge::SIZE],
            _ => &[0],
        }
    }

    /// The response item sizes (full layout, truncated layout) for codes answered with items;
    /// `None` for codes answered with a bare acknowledgement or not served.
    pub fn response_item_sizes(self) -> Option<(usize, usize)> {
        use RequestCode::*;
        fn sizes<T: PrivateItem>() -> Option<(usize, usize)> {
            Some((T::SIZE, T::TRUNCATED_SIZE))
        }
        match self {
            PeerList => sizes::<InfoPeerList>(),
            PeerListSum => sizes::<InfoPeerSummary>(),
            PeerInfo => sizes::<InfoPeer>(),
            PeerStats => sizes::<InfoPeerStats>(),
            SysInfo => sizes::<InfoSys>(),
            // The daemon always sends the 52-octet struct; 40 is what older servers sent.
            SysStats => sizes::<InfoSysStats>(),
            IoStats => sizes::<InfoIoStats>(),
            MemStats => sizes::<InfoMemStats>(),
            LoopInfo => sizes::<InfoLoop>(),
            TimerStats => sizes::<InfoTimerStats>(),
            GetRestrict => sizes::<InfoRestrict>(),
            MonGetList => sizes::<InfoMonitor>(),
            MonGetList1 => sizes::<InfoMonitor1>(),
            AuthInfo => sizes::<InfoAuth>(),
            Traps => sizes::<InfoTrap>(),
            GetCtlStats => sizes::<InfoControl>(),
            GetClockInfo => sizes::<InfoClock>(),
            GetKernel => sizes::<InfoKernel>(),
            GetClkBugInfo => sizes::<InfoClkBug>(),
            IfStats | IfReload => sizes::<InfoIfStats>(),
            _ => None,
        }
    }
}

/// The error nibble of octet 4 (`INFO_ERR_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InfoError {
    /// 0 `INFO_OKAY`.
    Okay,
    /// 1 `INFO_ERR_IMPL`: incompatible implementation number.
    Impl,
    /// 2 `INFO_ERR_REQ`: unknown request code.
    Req,
    /// 3 `INFO_ERR_FMT`: format error (item size, data length...).
    Fmt,
    /// 4 `INFO_ERR_NODATA`: no data (unknown peer, monlist in 4.2.8, empty lists).
    NoData,
    /// 7 `INFO_ERR_AUTH`: authentication failure / permission denied.
    Auth,
    /// Any other nibble value (5, 6, 8-15), preserved.
    Other(u8),
}

impl From<u8> for InfoError {
    /// Only the low 4 bits are meaningful; callers pass the nibble.
    fn from(v: u8) -> Self {
        match v {
            0 => InfoError::Okay,
            1 => InfoError::Impl,
            2 => InfoError::Req,
            3 => InfoError::Fmt,
            4 => InfoError::NoData,
            7 => InfoError::Auth,
            other => InfoError::Other(other),
        }
    }
}

impl From<InfoError> for u8 {
    fn from(v: InfoError) -> u8 {
        match v {
            InfoError::Okay => 0,
            InfoError::Impl => 1,
            InfoError::Req => 2,
            InfoError::Fmt => 3,
            InfoError::NoData => 4,
            InfoError::Auth => 7,
            InfoError::Other(other) => other,
        }
    }
}

impl InfoError {
    /// The line classic ntpdc prints on stderr for this error (without the newline).
    pub fn ntpdc_message(self) -> String {
        match self {
            InfoError::Okay => String::new(),
            InfoError::Impl => "***Server implementation incompatible with our own".into(),
            InfoError::Req => "***Server doesn't implement this request".into(),
            InfoError::Fmt => {
                "***Server reports a format error in the received packet (shouldn't happen)".into()
            }
            InfoError::NoData => "***Server reports data not found".into(),
            InfoError::Auth => "***Permission denied".into(),
            InfoError::Other(code) => format!("***Server returns unknown error code {code}"),
        }
    }
}

/// The 8-octet mode 7 header (`struct req_pkt` / `struct resp_pkt` up to the data).
///
/// Decoding only checks the mode and the length; every other value is kept as found so the
/// header re-encodes exactly. [`PrivateRequest::decode`] applies the daemon's request checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrivateHeader {
    /// R bit: set in responses.
    pub response: bool,
    /// M bit: more fragments follow.
    pub more: bool,
    /// Version number (3 bits); ntpdc sends 2 and the daemon echoes it.
    pub version: u8,
    /// A bit: the request carries a MAC.
    pub auth: bool,
    /// Sequence (7 bits): 0 in requests, the fragment number in responses.
    pub sequence: u8,
    /// Implementation number.
    pub implementation: Implementation,
    /// Request code.
    pub request: RequestCode,
    /// Error nibble.
    pub err: InfoError,
    /// Number of items (12 bits).
    pub nitems: u16,
    /// Must-be-zero nibble, kept as found.
    pub mbz: u8,
    /// Size of one item (12 bits).
    pub item_size: u16,
}

impl PrivateHeader {
    /// A request header as ntpdc builds it: version 2, sequence 0, no error.
    pub fn request(
        implementation: Implementation,
        request: RequestCode,
        nitems: u16,
        item_size: u16,
        auth: bool,
    ) -> Self {
        PrivateHeader {
            response: false,
            more: false,
            version: NTPDC_VERSION,
            auth,
            sequence: 0,
            implementation,
            request,
            err: InfoError::Okay,
            nitems,
            mbz: 0,
            item_size,
        }
    }

    /// The header of an error (or, with [`InfoError::Okay`], acknowledgement) reply to this
    /// request: R set, version, implementation and code echoed, no items (`req_ack`).
    pub fn error_reply(&self, err: InfoError) -> Self {
        PrivateHeader {
            response: true,
            more: false,
            version: self.version,
            auth: false,
            sequence: 0,
            implementation: self.implementation,
            request: self.request,
            err,
            nitems: 0,
            mbz: 0,
            item_size: 0,
        }
    }

    /// Number of data octets the header announces (`nitems * item_size`).
    pub fn data_len(&self) -> usize {
        usize::from(self.nitems) * usize::from(self.item_size)
    }

    /// Decode the first 8 octets of `buf` (anything after them is ignored).
    ///
    /// # Errors
    /// [`WireError::Truncated`] for fewer than 8 octets; [`WireError::InvalidValue`] when the
    /// mode is not 7.
    pub fn decode(buf: &[u8]) -> Result<Self, WireError> {
        Self::read(&mut Reader::new(buf))
    }

    /// Read the header from a cursor.
    ///
    /// # Errors
    /// As [`PrivateHeader::decode`].
    pub fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let b = r.array::<HEADER_LEN>("mode 7 header")?;
        let mode = b[0] & 0x07;
        if mode != MODE_PRIVATE {
            return Err(WireError::InvalidValue {
                field: "mode",
                value: u64::from(mode),
                expected: "7 (private)",
            });
        }
        let err_nitems = u16::from_be_bytes([b[4], b[5]]);
        let mbz_itemsize = u16::from_be_bytes([b[6], b[7]]);
        Ok(PrivateHeader {
            response: b[0] & 0x80 != 0,
            more: b[0] & 0x40 != 0,
            version: (b[0] >> 3) & 0x07,
            auth: b[1] & 0x80 != 0,
            sequence: b[1] & 0x7f,
            implementation: Implementation::from(b[2]),
            request: RequestCode::from(b[3]),
            err: InfoError::from((err_nitems >> 12) as u8),
            nitems: err_nitems & MAX_12_BITS,
            mbz: (mbz_itemsize >> 12) as u8,
            item_size: mbz_itemsize & MAX_12_BITS,
        })
    }

    /// The 8 octets of this header.
    ///
    /// # Errors
    /// [`WireError::InvalidValue`] when a field does not fit its bits (version > 7,
    /// sequence > 127, error or mbz > 15, nitems or item size > 4095).
    pub fn to_bytes(&self) -> Result<[u8; HEADER_LEN], WireError> {
        fn check(
            field: &'static str,
            v: u64,
            max: u64,
            expected: &'static str,
        ) -> Result<(), WireError> {
            if v > max {
                Err(WireError::InvalidValue {
                    field,
                    value: v,
                    expected,
                })
            } else {
                Ok(())
            }
        }
        let err = u8::from(self.err);
        check("version", self.version.into(), 7, "0..=7")?;
        check("sequence", self.sequence.into(), 127, "0..=127")?;
        check("err", err.into(), 15, "0..=15")?;
        check("mbz", self.mbz.into(), 15, "0..=15")?;
        check("nitems", self.nitems.into(), MAX_12_BITS.into(), "0..=4095")?;
        check(
            "item size",
            self.item_size.into(),
            MAX_12_BITS.into(),
            "0..=4095",
        )?;
        let b0 = (u8::from(self.response) << 7)
            | (u8::from(self.more) << 6)
            | (self.version << 3)
            | MODE_PRIVATE;
        let b1 = (u8::from(self.auth) << 7) | self.sequence;
        let en = (u16::from(err) << 12) | self.nitems;
        let mi = (u16::from(self.mbz) << 12) | self.item_size;
        let [e0, e1] = en.to_be_bytes();
        let [m0, m1] = mi.to_be_bytes();
        Ok([
            b0,
            b1,
            self.implementation.into(),
            self.request.into(),
            e0,
            e1,
            m0,
            m1,
        ])
    }

    /// Append the header to a writer.
    ///
    /// # Errors
    /// As [`PrivateHeader::to_bytes`], plus [`WireError::BufferTooSmall`].
    pub fn write(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        w.bytes(&self.to_bytes()?)
    }
}

/// Which variant of an item struct is on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemLayout {
    /// The whole struct (`sizeof`), as sent to `IMPL_XNTPD` clients.
    Full,
    /// The struct cut before `v6_flag` (`offsetof(type, v6_flag)`), as sent to
    /// `IMPL_XNTPD_OLD` clients; for `info_sys_stats` the old 40-octet struct. Identical to
    /// [`ItemLayout::Full`] for structs without IPv6 fields.
    Truncated,
}

/// A mode 7 item struct: fixed size, decoded and encoded field by field.
///
/// Unused and padding fields are kept as raw values: classic ntpd does not clear its response
/// buffer, so they carry stale bytes that must survive a decode/encode round trip; we send them
/// as zeros.
pub trait PrivateItem: Sized {
    /// Size of the full layout.
    const SIZE: usize;
    /// Size of the truncated layout (equal to `SIZE` for structs without IPv6 fields).
    const TRUNCATED_SIZE: usize;
    /// The struct's name, for error messages.
    const NAME: &'static str;

    /// Read one item in the given layout.
    ///
    /// # Errors
    /// [`WireError::Truncated`] naming the field that did not fit.
    fn read(r: &mut Reader<'_>, layout: ItemLayout) -> Result<Self, WireError>;

    /// Append one item in the given layout (the truncated layout omits the IPv6 fields).
    ///
    /// # Errors
    /// [`WireError::BufferTooSmall`].
    fn write(&self, w: &mut Writer<'_>, layout: ItemLayout) -> Result<(), WireError>;

    /// Encoded size in `layout`.
    fn size_of(layout: ItemLayout) -> usize {
        match layout {
            ItemLayout::Full => Self::SIZE,
            ItemLayout::Truncated => Self::TRUNCATED_SIZE,
        }
    }

    /// The layout an item of `size` octets uses, if it is one of the two sizes.
    fn layout_for_size(size: usize) -> Option<ItemLayout> {
        if size == Self::SIZE {
            Some(ItemLayout::Full)
        } else if size == Self::TRUNCATED_SIZE {
            Some(ItemLayout::Truncated)
        } else {
            None
        }
    }

    /// Decode exactly one item; its length picks the layout.
    ///
    /// # Errors
    /// [`WireError::InvalidValue`] when the length is neither size.
    fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let layout = Self::layout_for_size(bytes.len()).ok_or(WireError::InvalidValue {
            field: "mode 7 item size",
            value: bytes.len() as u64,
            expected: "the full or truncated size of the struct",
        })?;
        let mut r = Reader::new(bytes);
        let item = Self::read(&mut r, layout)?;
        r.finish(Self::NAME)?;
        Ok(item)
    }

    /// Decode `data` as consecutive items of `item_size` octets (a response's data area).
    ///
    /// # Errors
    /// [`WireError::InvalidValue`] when `item_size` is neither size of the struct (a zero
    /// `data` decodes to no items whatever the size); [`WireError::Malformed`] when `data` is
    /// not a whole number of items.
    fn decode_all(data: &[u8], item_size: usize) -> Result<Vec<Self>, WireError> {
        if data.is_empty() {
            return Ok(Vec::new());
        }
        let layout = Self::layout_for_size(item_size).ok_or(WireError::InvalidValue {
            field: "mode 7 item size",
            value: item_size as u64,
            expected: "the full or truncated size of the struct",
        })?;
        if data.len() % item_size != 0 {
            return Err(WireError::Malformed {
                what: "mode 7 item list",
                reason: "data is not a whole number of items",
            });
        }
        let mut r = Reader::new(data);
        let mut out = Vec::with_capacity(data.len() / item_size);
        while !r.is_empty() {
            out.push(Self::read(&mut r, layout)?);
        }
        Ok(out)
    }

    /// The encoding of this item in `layout`, as a new vector.
    fn to_vec(&self, layout: ItemLayout) -> Vec<u8> {
        let mut buf = vec![0u8; Self::size_of(layout)];
        let mut w = Writer::new(&mut buf);
        // The buffer has exactly the struct's size, so writing cannot run out of room.
        if self.write(&mut w, layout).is_err() {
            buf.clear();
        }
        buf
    }
}

/// Encode `items` back to back in `layout` (a request's or response's item area).
pub fn encode_items<T: PrivateItem>(items: &[T], layout: ItemLayout) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.len() * T::size_of(layout));
    for item in items {
        out.extend_from_slice(&item.to_vec(layout));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntpdc_request_header_is_17_00_03() {
        let h = PrivateHeader::request(Implementation::Xntpd, RequestCode::SysInfo, 0, 0, false);
        assert_eq!(h.to_bytes().unwrap(), [0x17, 0, 3, 4, 0, 0, 0, 0]);
        let a = PrivateHeader::request(Implementation::Xntpd, RequestCode::IfStats, 0, 0, true);
        assert_eq!(a.to_bytes().unwrap(), [0x17, 0x80, 3, 0x2c, 0, 0, 0, 0]);
    }

    #[test]
    fn error_reply_matches_the_captured_auth_error() {
        let req = PrivateHeader::request(Implementation::Xntpd, RequestCode::IfStats, 0, 0, false);
        let reply = req.error_reply(InfoError::Auth);
        assert_eq!(reply.to_bytes().unwrap(), [0x97, 0, 3, 0x2c, 0x70, 0, 0, 0]);
    }

    #[test]
    fn header_fields_are_split_at_the_right_bits() {
        let h = PrivateHeader::decode(&[0xd7, 0x81, 0x03, 0x2c, 0x30, 0x03, 0x10, 0x88]).unwrap();
        assert!(h.response && h.more && h.auth);
        assert_eq!(h.version, 2);
        assert_eq!(h.sequence, 1);
        assert_eq!(h.err, InfoError::Fmt);
        assert_eq!(h.nitems, 3);
        assert_eq!(h.mbz, 1);
        assert_eq!(h.item_size, 0x88);
    }

    #[test]
    fn wrong_mode_is_rejected() {
        let e = PrivateHeader::decode(&[0x16, 0, 0, 0, 0, 0, 0, 0]).unwrap_err();
        assert!(matches!(
            e,
            WireError::InvalidValue {
                field: "mode",
                value: 6,
                ..
            }
        ));
    }

    #[test]
    fn short_header_is_truncated() {
        assert!(matches!(
            PrivateHeader::decode(&[0x17, 0, 3, 4]),
            Err(WireError::Truncated {
                needed: 8,
                available: 4,
                ..
            })
        ));
    }

    #[test]
    fn oversized_header_fields_are_refused() {
        let mut h =
            PrivateHeader::request(Implementation::Xntpd, RequestCode::PeerInfo, 0, 0, false);
        h.nitems = 0x1000;
        assert!(h.to_bytes().is_err());
        h.nitems = 1;
        h.sequence = 128;
        assert!(h.to_bytes().is_err());
        h.sequence = 0;
        h.err = InfoError::Other(16);
        assert!(h.to_bytes().is_err());
    }

    #[test]
    fn enums_preserve_unknown_values() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(RequestCode::from(v)), v);
            assert_eq!(u8::from(Implementation::from(v)), v);
        }
        for v in 0..16u8 {
            assert_eq!(u8::from(InfoError::from(v)), v);
        }
        assert_eq!(RequestCode::from(40), RequestCode::Unknown(40));
        assert_eq!(Implementation::from(99), Implementation::Unknown(99));
    }

    #[test]
    fn error_messages_match_ntpdc() {
        assert_eq!(
            InfoError::NoData.ntpdc_message(),
            "***Server reports data not found"
        );
        assert_eq!(InfoError::Auth.ntpdc_message(), "***Permission denied");
        assert_eq!(
            InfoError::Other(5).ntpdc_message(),
            "***Server returns unknown error code 5"
        );
    }

    #[test]
    fn auth_table_matches_the_daemon() {
        assert!(RequestCode::IfStats.needs_auth());
        assert!(RequestCode::Config.needs_auth());
        assert!(!RequestCode::GetRestrict.needs_auth());
        assert!(!RequestCode::SysInfo.needs_auth());
        assert!(!RequestCode::Monitor.is_served());
        assert!(RequestCode::MonGetList1.is_served());
    }

    #[test]
    fn request_item_sizes_follow_the_daemon_table() {
        assert_eq!(RequestCode::PeerInfo.request_item_sizes(), &[8, 32]);
        assert_eq!(RequestCode::Config.request_item_sizes(), &[144, 168, 16]);
        assert_eq!(RequestCode::Unconfig.request_item_sizes(), &[4, 24]);
        assert_eq!(RequestCode::SysInfo.request_item_sizes(), &[0]);
        assert!(!RequestCode::SysInfo.request_item_sizes().contains(&4));
    }

    #[test]
    fn response_item_sizes_match_the_captures() {
        let cases = [
            (RequestCode::PeerList, 32, 8),
            (RequestCode::PeerListSum, 72, 32),
            (RequestCode::PeerInfo, 280, 240),
            (RequestCode::PeerStats, 120, 80),
            (RequestCode::SysInfo, 80, 56),
            (RequestCode::SysStats, 52, 40),
            (RequestCode::IoStats, 40, 40),
            (RequestCode::MemStats, 148, 148),
            (RequestCode::LoopInfo, 24, 24),
            (RequestCode::TimerStats, 16, 16),
            (RequestCode::GetRestrict, 56, 16),
            (RequestCode::GetKernel, 60, 60),
            (RequestCode::MonGetList1, 72, 32),
            (RequestCode::MonGetList, 48, 24),
            (RequestCode::IfStats, 136, 48),
            (RequestCode::AuthInfo, 36, 36),
            (RequestCode::GetCtlStats, 60, 60),
            (RequestCode::GetClockInfo, 52, 52),
            (RequestCode::Traps, 64, 28),
            (RequestCode::GetClkBugInfo, 332, 332),
        ];
        for (code, full, truncated) in cases {
            assert_eq!(
                code.response_item_sizes(),
                Some((full, truncated)),
                "{code:?}"
            );
        }
        assert_eq!(RequestCode::Config.response_item_sizes(), None);
    }
}
