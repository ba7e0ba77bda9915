//! Classic ntpd 4.2.8's `process_private` and request handlers, without I/O: the same checks
//! in the same order, the same error codes, and replies built from [`PrivateData`].
//!
//! The request is read from the raw datagram rather than through `PrivateRequest::decode`,
//! because classic looks at the MAC only for codes that need it: a short read-only request
//! with the A bit set is answered, where the wire decoder would reject it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use ntp_wire::mode7::{
    encode_error_reply, encode_items, max_response_items, split_response, ClockAddr, ConfFudge,
    ConfPeer, ConfRestrict, ConfUnpeer, Implementation, InfoError, InfoPeerList, ItemLayout,
    KeyIdItem, OldConfPeer, PrivateHeader, PrivateItem, RequestCode, RequestMacLayout, HEADER_LEN,
    MAX_12_BITS, TS_MAX_SKEW_SECS,
};

use super::clean::Clean;
use super::data::{
    ChangeRefused, PeerConfig, PrivateChange, PrivateData, RestrictEntry, RestrictOp,
};
use super::RequestMeta;

/// NTP versions the classic daemon answers (`NTP_OLDVERSION..=NTP_VERSION`).
const VERSIONS: std::ops::RangeInclusive<u8> = 1..=4;
/// Highest host mode `REQ_CONFIG` accepts (`MODE_BCLIENT`).
const MAX_CONFIG_HMODE: u8 = 6;
/// All defined `set_sys_flags` bits (`SYS_FLAG_BCLIENT` .. `SYS_FLAG_CAL`).
const ALL_SYS_FLAGS: u32 = 0xff;
/// All defined `reset_flags` bits (`RESET_ALLFLAGS`).
const ALL_RESET_FLAGS: u32 = 0x7f;
/// The only match flag a restriction request may carry (`RESM_NTPONLY`, "ntpport").
const RESM_NTPONLY: u16 = 0x2000;
/// Largest key id (`NTP_MAXKEY`).
const MAX_KEY_ID: u64 = 65_535;
/// `conf_fudge.which` values classic knows (`FUDGE_TIME1` .. `FUDGE_FLAGS`).
const FUDGE_WHICH: std::ops::RangeInclusive<u32> = 1..=5;

/// True for a refclock pseudo-address, 127.127.t.u (`ISREFCLOCKADR`).
fn is_refclock(addr: Ipv4Addr) -> bool {
    let [a, b, ..] = addr.octets();
    a == 127 && b == 127
}

/// What processing one request produced.
pub(super) struct Processed {
    /// The header, when the request got past the drop checks.
    pub header: Option<PrivateHeader>,
    /// Datagrams to send (empty: send nothing).
    pub replies: Vec<Vec<u8>>,
    /// True when the request carried a valid `requestkey` MAC.
    pub authenticated: bool,
    /// True when a state-changing hook ran.
    pub changed: bool,
}

/// Where a request code stands in the suite's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    /// Read-only, no MAC needed.
    Read,
    /// Read-only but classic wants the `requestkey` MAC (`ifstats`).
    AuthRead,
    /// Changes state: MAC and loopback.
    Modify,
}

/// The access class of a served request code.
pub(super) fn access(code: RequestCode) -> Access {
    match code {
        RequestCode::IfStats => Access::AuthRead,
        c if c.needs_auth() => Access::Modify,
        _ => Access::Read,
    }
}

/// Run classic's checks and the handler for `request`.
pub(super) fn process(
    request: &[u8],
    meta: &RequestMeta<'_>,
    data: &mut impl PrivateData,
) -> Processed {
    let mut out = Processed {
        header: None,
        replies: Vec::new(),
        authenticated: false,
        changed: false,
    };
    // Drop tests of `process_private`: no reply at all, whatever the reason. This is also
    // where responses and error packets die (R bit, M bit, error nibble).
    let Ok(header) = PrivateHeader::decode(request) else {
        return out;
    };
    if header.response
        || header.more
        || !VERSIONS.contains(&header.version)
        || header.sequence != 0
        || header.err != InfoError::Okay
        || header.mbz != 0
    {
        return out;
    }
    out.header = Some(header);
    let ctx = Ctx {
        request,
        header: &header,
        layout: header.implementation.item_layout(),
    };
    let checked = checks(&ctx, meta, &mut out.authenticated);
    let result = checked.and_then(|()| dispatch(&ctx, data));
    // A state-changing request was applied when it was acknowledged; `ifreload` rescans
    // even when nothing changed ("no data").
    out.changed = access(header.request) == Access::Modify
        && (result.is_ok() || (checked.is_ok() && header.request == RequestCode::IfReload));
    out.replies = result.unwrap_or_else(|e| error_reply(&header, e));
    out
}

/// The header-only reply (`req_ack`), or nothing if the header cannot be encoded (it always
/// can: every field came from a decoded header).
pub(super) fn error_reply(header: &PrivateHeader, err: InfoError) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; HEADER_LEN];
    match encode_error_reply(header, err, &mut buf) {
        Ok(_) => vec![buf],
        Err(_) => Vec::new(),
    }
}

/// One request being handled.
struct Ctx<'a> {
    request: &'a [u8],
    header: &'a PrivateHeader,
    /// Full for `IMPL_XNTPD` (classic's `client_v6_capable`), truncated for `IMPL_XNTPD_OLD`.
    layout: ItemLayout,
}

impl Ctx<'_> {
    fn item_size(&self) -> usize {
        usize::from(self.header.item_size)
    }

    /// The request's items: `nitems * item_size` octets after the header. The length was
    /// checked against the datagram before any handler runs.
    fn items(&self) -> Result<&[u8], InfoError> {
        let end = HEADER_LEN + self.header.data_len();
        self.request.get(HEADER_LEN..end).ok_or(InfoError::Fmt)
    }

    /// The first 4 octets of the data area, which classic reads as the single item of
    /// `enable`/`disable`/`reset` even when `nitems` is 0.
    fn first_word(&self) -> u32 {
        let mut w = [0u8; 4];
        if let Some(b) = self.request.get(HEADER_LEN..HEADER_LEN + 4) {
            w.copy_from_slice(b);
        }
        u32::from_be_bytes(w)
    }

    /// Decode the items as `T`; the item size decides the layout (checked earlier to be one
    /// of `T`'s sizes).
    fn decode<T: PrivateItem>(&self) -> Result<Vec<T>, InfoError> {
        T::decode_all(self.items()?, self.item_size()).map_err(|_| InfoError::Fmt)
    }

    /// True when IPv6 fields of request items count (classic: `client_v6_capable && v6_flag`).
    fn v6(&self, v6_flag: u32) -> bool {
        self.layout == ItemLayout::Full && v6_flag != 0
    }

    /// Classic's rule for "only one item": `nitems > 1` is a format error.
    fn at_most_one_item(&self) -> Result<(), InfoError> {
        if self.header.nitems > 1 {
            Err(InfoError::Fmt)
        } else {
            Ok(())
        }
    }
}

/// Implementation, request code, item size, data length and MAC checks, in classic's order.
/// Sets `authenticated` when the request carries a valid `requestkey` MAC.
fn checks(
    ctx: &Ctx<'_>,
    meta: &RequestMeta<'_>,
    authenticated: &mut bool,
) -> Result<(), InfoError> {
    let header = ctx.header;
    match header.implementation {
        // The IMPL_UNIV table is empty: every code is unknown.
        Implementation::Univ => return Err(InfoError::Req),
        Implementation::Xntpd | Implementation::XntpdOld => {}
        Implementation::Unknown(_) => return Err(InfoError::Impl),
    }
    let code = header.request;
    if !code.is_served() {
        return Err(InfoError::Req);
    }
    let sizes = code.request_item_sizes();
    let size = ctx.item_size();
    // The old 16-octet `conf_peer` is accepted only from IMPL_XNTPD, as in classic.
    let old_conf_from_old_impl = code == RequestCode::Config
        && size == OldConfPeer::SIZE
        && header.implementation != Implementation::Xntpd;
    if !sizes.contains(&size) || old_conf_from_old_impl {
        return Err(InfoError::Fmt);
    }
    // Classic checks the item octets against everything after the header (`sizeofitem`, the
    // first table size, is 0 for codes without items).
    let first_size = sizes.first().copied().unwrap_or(0);
    if first_size != 0 && header.data_len() > ctx.request.len().saturating_sub(HEADER_LEN) {
        return Err(InfoError::Fmt);
    }
    match access(code) {
        Access::Read => {
            // Classic ignores a MAC on read-only codes; we check it only to know whether the
            // source proved the key (then the amplification cap does not apply).
            if header.auth {
                *authenticated = verify_mac(ctx, meta, true).is_ok();
            }
            Ok(())
        }
        Access::AuthRead => {
            verify_mac(ctx, meta, !meta.restrict.nomodify)?;
            *authenticated = true;
            Ok(())
        }
        Access::Modify => {
            // Classic's `mod_okay` (not `nomodify`), plus the suite's rule: changes only from
            // loopback.
            verify_mac(ctx, meta, !meta.restrict.nomodify && meta.loopback)?;
            *authenticated = true;
            Ok(())
        }
    }
}

/// Classic's MAC checks for an authenticated request, in its order and with its errors.
fn verify_mac(ctx: &Ctx<'_>, meta: &RequestMeta<'_>, mod_okay: bool) -> Result<(), InfoError> {
    let req = ctx.request;
    let h = ctx.header;
    let layout =
        RequestMacLayout::server(req.len(), h.nitems, h.item_size).map_err(|_| InfoError::Fmt)?;
    let key_id = layout.key_id(req).ok_or(InfoError::Fmt)?;
    let request_key = meta.request_key.filter(|&k| k != 0);
    if !h.auth || request_key != Some(key_id) {
        return Err(InfoError::Auth);
    }
    if !layout.fits_daemon() {
        return Err(InfoError::Fmt);
    }
    let key = meta.keys.trusted_key(key_id);
    let Some(key) = key.filter(|_| mod_okay) else {
        return Err(InfoError::Auth);
    };
    let tstamp = layout.tstamp(req).ok_or(InfoError::Fmt)?;
    // Signed difference of two l_fp values, as classic's L_SUB + LFPTOD.
    let skew = tstamp.0.wrapping_sub(meta.receive_time.to_bits()) as i64;
    if skew.unsigned_abs() > u64::from(TS_MAX_SKEW_SECS) << 32 {
        return Err(InfoError::Auth);
    }
    let covered = layout.covered(req).ok_or(InfoError::Fmt)?;
    let digest = layout.digest(req).ok_or(InfoError::Fmt)?;
    if key.verify(covered, digest) {
        Ok(())
    } else {
        Err(InfoError::Auth)
    }
}

/// The items of a reply, cleaned, capped at what 128 datagrams hold, encoded and split.
fn reply<T: PrivateItem + Clean>(
    ctx: &Ctx<'_>,
    layout: ItemLayout,
    items: impl IntoIterator<Item = T>,
) -> Result<Vec<Vec<u8>>, InfoError> {
    let size = T::size_of(layout);
    let items: Vec<T> = items
        .into_iter()
        .filter_map(|i| i.clean(layout))
        .take(max_response_items(size))
        .collect();
    split(ctx, size, &encode_items(&items, layout))
}

/// As [`reply`] for structs without stale fields or IPv6 variants.
fn reply_plain<T: PrivateItem>(
    ctx: &Ctx<'_>,
    layout: ItemLayout,
    items: impl IntoIterator<Item = T>,
) -> Result<Vec<Vec<u8>>, InfoError> {
    let size = T::size_of(layout);
    let items: Vec<T> = items.into_iter().take(max_response_items(size)).collect();
    split(ctx, size, &encode_items(&items, layout))
}

fn split(ctx: &Ctx<'_>, size: usize, bytes: &[u8]) -> Result<Vec<Vec<u8>>, InfoError> {
    // Item sizes here are the wire crate's struct sizes (<= 332) and the list was capped, so
    // splitting cannot fail; if it did, "no data" is the honest answer.
    debug_assert!(size <= usize::from(MAX_12_BITS));
    split_response(ctx.header, size, bytes).map_err(|_| InfoError::NoData)
}

/// Call the handler for the request code.
fn dispatch(ctx: &Ctx<'_>, data: &mut impl PrivateData) -> Result<Vec<Vec<u8>>, InfoError> {
    use RequestCode as C;
    let layout = ctx.layout;
    match ctx.header.request {
        C::PeerList => reply(ctx, layout, data.peer_list()),
        C::PeerListSum => reply(ctx, layout, data.peer_summaries()),
        C::PeerInfo => {
            // Classic 4.2.8 takes only the full 32-octet `info_peer_list` here.
            if ctx.item_size() != InfoPeerList::SIZE {
                return Err(InfoError::Fmt);
            }
            let peers = peer_addresses(ctx)?;
            reply(
                ctx,
                layout,
                peers.into_iter().filter_map(|a| data.peer_info(a)),
            )
        }
        C::PeerStats => {
            let peers = peer_addresses(ctx)?;
            reply(
                ctx,
                layout,
                peers.into_iter().filter_map(|a| data.peer_stats(a)),
            )
        }
        C::SysInfo => reply(ctx, layout, [data.sys_info()]),
        // Classic sends the 52-octet struct to every client.
        C::SysStats => reply_plain(ctx, ItemLayout::Full, [data.sys_stats()]),
        C::IoStats => reply_plain(ctx, layout, [data.io_stats()]),
        C::MemStats => reply_plain(ctx, layout, [data.mem_stats()]),
        C::LoopInfo => reply_plain(ctx, layout, [data.loop_info()]),
        C::TimerStats => reply_plain(ctx, layout, [data.timer_stats()]),
        C::GetRestrict => reply(ctx, layout, data.restrictions()),
        // monlist data was removed from classic in 4.2.7 (CVE-2013-5211); no traps either.
        C::MonGetList | C::MonGetList1 | C::Traps => Err(InfoError::NoData),
        C::AuthInfo => reply_plain(ctx, layout, [data.auth_info()]),
        C::GetCtlStats => reply_plain(ctx, layout, [data.ctl_stats()]),
        C::GetKernel => {
            let kernel = data.kernel_info().ok_or(InfoError::NoData)?;
            reply_plain(ctx, layout, [kernel])
        }
        C::GetClockInfo => {
            let mut out = Vec::new();
            for addr in clock_addresses(ctx)? {
                out.push(data.clock_info(addr).ok_or(InfoError::NoData)?);
            }
            reply_plain(ctx, layout, out)
        }
        C::GetClkBugInfo => {
            let mut out = Vec::new();
            for addr in clock_addresses(ctx)? {
                out.push(data.clock_bug_info(addr).ok_or(InfoError::NoData)?);
            }
            reply_plain(ctx, layout, out)
        }
        C::IfStats => reply(ctx, layout, data.if_stats()),
        C::IfReload => reply(ctx, layout, data.reload_interfaces()),
        C::AddTrap | C::ClrTrap => {
            ctx.at_most_one_item()?;
            // Traps are not supported; classic answers a failed set/clear with "no data".
            Err(InfoError::NoData)
        }
        code => {
            let change = decode_change(ctx, code)?;
            match data.apply(change) {
                Ok(()) => Ok(error_reply(ctx.header, InfoError::Okay)),
                Err(ChangeRefused::NoData) => Err(InfoError::NoData),
                Err(ChangeRefused::Format) => Err(InfoError::Fmt),
            }
        }
    }
}

/// The peers a `showpeer`/`pstats` request names (address and port as sent).
fn peer_addresses(ctx: &Ctx<'_>) -> Result<Vec<SocketAddr>, InfoError> {
    Ok(ctx
        .decode::<InfoPeerList>()?
        .into_iter()
        .map(|i| {
            let ip = if ctx.v6(i.v6_flag) {
                IpAddr::V6(i.addr6)
            } else {
                IpAddr::V4(i.addr)
            };
            SocketAddr::new(ip, i.port)
        })
        .collect())
}

/// The refclock addresses of `clockstat`/`clkbug`; anything but 127.127.t.u is "no data".
fn clock_addresses(ctx: &Ctx<'_>) -> Result<Vec<Ipv4Addr>, InfoError> {
    ctx.decode::<ClockAddr>()?
        .into_iter()
        .map(|c| {
            if is_refclock(c.addr) {
                Ok(c.addr)
            } else {
                Err(InfoError::NoData)
            }
        })
        .collect()
}

fn unpeer_addresses(ctx: &Ctx<'_>) -> Result<Vec<IpAddr>, InfoError> {
    Ok(ctx
        .decode::<ConfUnpeer>()?
        .into_iter()
        .map(|u| {
            if ctx.v6(u.v6_flag) {
                IpAddr::V6(u.peeraddr6)
            } else {
                IpAddr::V4(u.peeraddr)
            }
        })
        .collect())
}

fn key_ids(ctx: &Ctx<'_>) -> Result<Vec<u32>, InfoError> {
    ctx.decode::<KeyIdItem>()?
        .into_iter()
        .map(|k| u32::try_from(k.key_id).map_err(|_| InfoError::Fmt))
        .collect()
}

/// Decode and format-check a state-changing request as classic's handlers do.
fn decode_change(ctx: &Ctx<'_>, code: RequestCode) -> Result<PrivateChange, InfoError> {
    use RequestCode as C;
    Ok(match code {
        C::Config => {
            let peers: Vec<PeerConfig> = if ctx.item_size() == OldConfPeer::SIZE {
                ctx.decode::<OldConfPeer>()?
                    .into_iter()
                    .map(|p| PeerConfig {
                        address: IpAddr::V4(p.peeraddr),
                        hmode: p.hmode,
                        version: p.version,
                        minpoll: p.minpoll,
                        maxpoll: p.maxpoll,
                        flags: p.flags,
                        ttl: p.ttl,
                        keyid: p.keyid,
                    })
                    .collect()
            } else {
                ctx.decode::<ConfPeer>()?
                    .into_iter()
                    .map(|p| PeerConfig {
                        address: if ctx.v6(p.v6_flag) {
                            IpAddr::V6(p.peeraddr6)
                        } else {
                            IpAddr::V4(p.peeraddr)
                        },
                        hmode: p.hmode,
                        version: p.version,
                        minpoll: p.minpoll,
                        maxpoll: p.maxpoll,
                        flags: p.flags,
                        ttl: p.ttl,
                        keyid: p.keyid,
                    })
                    .collect()
            };
            for p in &peers {
                if let IpAddr::V4(a) = p.address {
                    if !is_refclock(a) && (a.is_unspecified() || a.is_broadcast()) {
                        return Err(InfoError::Fmt);
                    }
                }
                if p.hmode > MAX_CONFIG_HMODE {
                    return Err(InfoError::Fmt);
                }
            }
            PrivateChange::AddPeers(peers)
        }
        C::Unconfig => PrivateChange::RemovePeers(unpeer_addresses(ctx)?),
        C::ResetPeer => PrivateChange::ResetPeers(unpeer_addresses(ctx)?),
        C::SetSysFlag | C::ClrSysFlag => {
            ctx.at_most_one_item()?;
            let flags = ctx.first_word();
            if flags & !ALL_SYS_FLAGS != 0 {
                return Err(InfoError::Fmt);
            }
            if code == C::SetSysFlag {
                PrivateChange::SetSysFlags(flags)
            } else {
                PrivateChange::ClearSysFlags(flags)
            }
        }
        C::ResAddFlags | C::ResSubFlags | C::Unrestrict => {
            let op = match code {
                C::ResAddFlags => RestrictOp::AddFlags,
                C::ResSubFlags => RestrictOp::RemoveFlags,
                _ => RestrictOp::Remove,
            };
            let entries = ctx
                .decode::<ConfRestrict>()?
                .into_iter()
                .map(|r| restrict_entry(ctx, &r))
                .collect::<Result<Vec<_>, _>>()?;
            PrivateChange::Restrict { op, entries }
        }
        C::ResetStats => {
            ctx.at_most_one_item()?;
            let flags = ctx.first_word();
            if flags & !ALL_RESET_FLAGS != 0 {
                return Err(InfoError::Fmt);
            }
            PrivateChange::ResetStats(flags)
        }
        C::RereadKeys => PrivateChange::RereadKeys,
        C::TrustKey => PrivateChange::TrustKeys(key_ids(ctx)?),
        C::UntrustKey => PrivateChange::UntrustKeys(key_ids(ctx)?),
        C::RequestKey | C::ControlKey => {
            ctx.at_most_one_item()?;
            // The item is a host-order C `u_long`, as ntpdc sends it (classic's own reading
            // with `ntohl` never matched ntpdc on 64-bit hosts).
            let mut raw = [0u8; KeyIdItem::SIZE];
            if let Some(b) = ctx.request.get(HEADER_LEN..HEADER_LEN + KeyIdItem::SIZE) {
                raw.copy_from_slice(b);
            }
            let key = u64::from_le_bytes(raw);
            if !(1..=MAX_KEY_ID).contains(&key) {
                return Err(InfoError::NoData);
            }
            let key = u32::try_from(key).map_err(|_| InfoError::NoData)?;
            if code == C::RequestKey {
                PrivateChange::SetRequestKey(key)
            } else {
                PrivateChange::SetControlKey(key)
            }
        }
        C::SetClkFudge => {
            let fudges = ctx.decode::<ConfFudge>()?;
            for f in &fudges {
                // Per item, as classic: a refclock address, then a known `FUDGE_*` selector.
                if !is_refclock(f.clockadr) {
                    return Err(InfoError::NoData);
                }
                if !FUDGE_WHICH.contains(&f.which) {
                    return Err(InfoError::Fmt);
                }
            }
            PrivateChange::SetClockFudge(fudges)
        }
        // Every other served code has its own arm in `dispatch`.
        _ => return Err(InfoError::Req),
    })
}

/// One `conf_restrict` item, checked as classic's `do_restrict`: only the `ntpport` match
/// flag, and a nonzero mask needs a nonzero address.
fn restrict_entry(ctx: &Ctx<'_>, r: &ConfRestrict) -> Result<RestrictEntry, InfoError> {
    if r.mflags & !RESM_NTPONLY != 0 {
        return Err(InfoError::Fmt);
    }
    let (address, mask) = if ctx.v6(r.v6_flag) {
        (IpAddr::V6(r.addr6), IpAddr::V6(r.mask6))
    } else {
        (IpAddr::V4(r.addr), IpAddr::V4(r.mask))
    };
    if !mask.is_unspecified() && address.is_unspecified() {
        return Err(InfoError::Fmt);
    }
    Ok(RestrictEntry {
        address,
        mask,
        flags: r.flags,
        mflags: r.mflags,
        ippeerlimit: r.ippeerlimit,
    })
}
