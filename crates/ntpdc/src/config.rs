//! The commands that change the server (classic `ntpdc_ops.c`: `doconfig`, `unconfig`,
//! `doset`, `do_restrict`, `reset`, `preset`, `readkeys`, `do_trustkey`, `do_addclr_trap`,
//! `do_changekey`, `fudge`). All are authenticated requests answered by a bare acknowledgement;
//! classic prints `done!` on success and the server's error otherwise.

use std::net::{IpAddr, Ipv4Addr};

use ntp_control::mode7::client::{Query, QueryError};
use ntp_wire::mode7::{
    conf_flags, reset_flags, set_sys_flags, ConfFudge, ConfPeer, ConfRestrict, ConfSysFlags,
    ConfTrap, ConfUnpeer, InfoError, ItemLayout, LFp, OldConfPeer, PrivateItem, RequestCode,
    ResetFlags,
};

use crate::ops::simple;
use crate::{Arg, Io, Ntpdc};

/// Association modes used by the configuration commands.
const MODE_ACTIVE: u8 = 1;
const MODE_CLIENT: u8 = 3;
const MODE_BROADCAST: u8 = 5;
/// Poll limits and defaults of classic 4.2.8 (`NTP_MINPOLL`, `NTP_MAXPOLL`, `NTP_MINDPOLL`,
/// `NTP_MAXDPOLL`) and the versions it accepts.
const NTP_MINPOLL: i64 = 3;
const NTP_MAXPOLL: i64 = 17;
const NTP_MINDPOLL: i64 = 6;
const NTP_MAXDPOLL: i64 = 10;
const NTP_VERSION: i64 = 4;
const NTP_OLDVERSION: i64 = 1;
/// Default trap port (`TRAPPORT`).
const TRAPPORT: u16 = 18447;
/// `sizeof(dummy)` in classic: the item size the acknowledgement commands expect.
const ACK_ESIZE: usize = 8;

/// An authenticated request with the same items in both layouts (structs without IPv6).
fn auth_query(code: RequestCode, nitems: u16, size: usize, items: Vec<u8>, esize: usize) -> Query {
    let mut q = simple(code, esize);
    q.auth = true;
    q.nitems = nitems;
    q.items_full = (size as u16, items.clone());
    q.items_truncated = (size as u16, items);
    q
}

/// An authenticated request whose items differ between the layouts.
fn auth_query_layouts<T: PrivateItem>(code: RequestCode, items: &[T], v6: bool) -> Query {
    let mut q = simple(code, ACK_ESIZE);
    q.auth = true;
    q.nitems = items.len() as u16;
    q.items_full = (
        T::SIZE as u16,
        items
            .iter()
            .flat_map(|i| i.to_vec(ItemLayout::Full))
            .collect(),
    );
    q.items_truncated = (
        T::TRUNCATED_SIZE as u16,
        items
            .iter()
            .flat_map(|i| i.to_vec(ItemLayout::Truncated))
            .collect(),
    );
    q.needs_full_layout = v6;
    q
}

/// Run an acknowledged request and print `done!` on success.
fn ack(st: &mut Ntpdc, io: &mut dyn Io, q: Query) -> Result<(), Option<QueryError>> {
    st.doquery(io, q)?;
    st.print("done!\n");
    Ok(())
}

/// C `atoint`: an optionally signed decimal integer, nothing else.
fn atoint(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

pub(crate) fn addpeer(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    doconfig(st, io, args, MODE_ACTIVE, false);
}

pub(crate) fn addserver(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    doconfig(st, io, args, MODE_CLIENT, false);
}

pub(crate) fn addrefclock(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    doconfig(st, io, args, MODE_CLIENT, true);
}

pub(crate) fn broadcast(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    doconfig(st, io, args, MODE_BROADCAST, false);
}

fn doconfig(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg], mode: u8, refc: bool) {
    let mut keyid: i64 = 0;
    let mut version: i64 = 3;
    let mut flags: u8 = 0;
    let mut bad = false;
    let mut cmode: u8 = 0;
    let mut minpoll: i64 = NTP_MINDPOLL;
    let mut maxpoll: i64 = NTP_MAXDPOLL;
    // What the next bare number means: 1 keyid, 2 version, 3 minpoll, 4 maxpoll, 5 mode.
    let mut numtyp = if refc { 5 } else { 1 };
    for a in args.iter().skip(1) {
        match a.string.as_str() {
            "prefer" => flags |= conf_flags::PREFER,
            "burst" => flags |= conf_flags::BURST,
            "iburst" => flags |= conf_flags::IBURST,
            "keyid" if !refc => numtyp = 1,
            "version" if !refc => numtyp = 2,
            "minpoll" => numtyp = 3,
            "maxpoll" => numtyp = 4,
            s => {
                let val = atoint(s);
                if val.is_none() {
                    numtyp = 0;
                }
                let v = val.unwrap_or(0);
                match numtyp {
                    1 => {
                        keyid = v;
                        numtyp = 2;
                    }
                    2 => {
                        version = v;
                        numtyp = 0;
                    }
                    3 => {
                        minpoll = i64::from(v as u8);
                        numtyp = 0;
                    }
                    4 => {
                        maxpoll = i64::from(v as u8);
                        numtyp = 0;
                    }
                    5 => {
                        cmode = v as u8;
                        numtyp = 0;
                    }
                    _ => {
                        st.print(&format!("*** '{s}' not understood\n"));
                        bad = true;
                        numtyp = 0;
                    }
                }
                if v < 0 {
                    io.stderr(&format!("*** Value '{s}' should be unsigned\n"));
                    bad = true;
                }
            }
        }
    }
    if keyid > 0 {
        flags |= conf_flags::AUTHENABLE;
    }
    if !(NTP_OLDVERSION..=NTP_VERSION).contains(&version) {
        st.print(&format!("***invalid version number: {}\n", version as u32));
        bad = true;
    }
    let poll_ok = |p: i64| (NTP_MINPOLL..=NTP_MAXPOLL).contains(&p);
    if !poll_ok(minpoll) || !poll_ok(maxpoll) || minpoll > maxpoll {
        st.print(&format!(
            "***min/max-poll must be within {NTP_MINPOLL}..{NTP_MAXPOLL}\n"
        ));
        bad = true;
    }
    let Some(addr) = args.first().and_then(|a| a.addr) else {
        return;
    };
    if bad {
        return;
    }
    let mut peer = ConfPeer {
        hmode: mode,
        version: version as u8,
        minpoll: minpoll as u8,
        maxpoll: maxpoll as u8,
        flags,
        ttl: cmode,
        keyid: keyid as u32,
        ..Default::default()
    };
    match addr {
        IpAddr::V4(a) => peer.peeraddr = a,
        IpAddr::V6(a) => {
            peer.peeraddr6 = a;
            peer.v6_flag = 1;
        }
    }
    let mut q = auth_query_layouts(RequestCode::Config, &[peer.clone()], addr.is_ipv6());
    q.expected_item_size = ConfPeer::SIZE;
    match st.doquery(io, q) {
        Ok(_) => st.print("done!\n"),
        Err(Some(QueryError::Server(InfoError::Fmt))) => {
            st.print("***Retrying command with old conf_peer size\n");
            let old = OldConfPeer {
                peeraddr: peer.peeraddr,
                hmode: peer.hmode,
                version: peer.version,
                minpoll: peer.minpoll,
                maxpoll: peer.maxpoll,
                flags: peer.flags,
                ttl: peer.ttl,
                keyid: peer.keyid,
                ..Default::default()
            };
            let q = auth_query(
                RequestCode::Config,
                1,
                OldConfPeer::SIZE,
                old.to_vec(ItemLayout::Full),
                ConfPeer::SIZE,
            );
            let _ = ack(st, io, q);
        }
        Err(_) => {}
    }
}

/// `conf_unpeer` items for `unconfig`/`preset` (at most 8).
fn unpeer_items(args: &[Arg]) -> (Vec<ConfUnpeer>, bool) {
    let mut v6 = false;
    let items = args
        .iter()
        .filter_map(|a| a.addr)
        .take(8)
        .map(|addr| {
            let mut item = ConfUnpeer::default();
            match addr {
                IpAddr::V4(a) => item.peeraddr = a,
                IpAddr::V6(a) => {
                    item.peeraddr6 = a;
                    item.v6_flag = 1;
                    v6 = true;
                }
            }
            item
        })
        .collect();
    (items, v6)
}

pub(crate) fn unconfig(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    let (items, v6) = unpeer_items(args);
    let mut q = auth_query_layouts(RequestCode::Unconfig, &items, v6);
    q.expected_item_size = ConfUnpeer::SIZE;
    let _ = ack(st, io, q);
}

pub(crate) fn preset(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    let (items, v6) = unpeer_items(args);
    let mut q = auth_query_layouts(RequestCode::ResetPeer, &items, v6);
    q.expected_item_size = ConfUnpeer::SIZE;
    let _ = ack(st, io, q);
}

pub(crate) fn enable(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    doset(st, io, args, RequestCode::SetSysFlag);
}

pub(crate) fn disable(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    doset(st, io, args, RequestCode::ClrSysFlag);
}

fn doset(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg], code: RequestCode) {
    let mut flags = 0u32;
    let mut bad = false;
    for a in args {
        flags |= match a.string.as_str() {
            "auth" => set_sys_flags::AUTH,
            "bclient" => set_sys_flags::BCLIENT,
            "calibrate" => set_sys_flags::CAL,
            "kernel" => set_sys_flags::KERNEL,
            "monitor" => set_sys_flags::MONITOR,
            "ntp" => set_sys_flags::NTP,
            "pps" => set_sys_flags::PPS,
            "stats" => set_sys_flags::FILEGEN,
            other => {
                st.print(&format!("Unknown flag {other}\n"));
                bad = true;
                0
            }
        };
    }
    if bad || flags == 0 {
        return;
    }
    let item = ConfSysFlags { flags }.to_vec(ItemLayout::Full);
    let q = auth_query(code, 1, ConfSysFlags::SIZE, item, ConfSysFlags::SIZE);
    let _ = ack(st, io, q);
}

/// Classic `resflagsV3` words accepted by `restrict`/`unrestrict`.
const RES_WORDS: [(&str, u16); 12] = [
    ("ignore", 0x0001),
    ("noserve", 0x0002),
    ("notrust", 0x0004),
    ("noquery", 0x0080),
    ("nomodify", 0x0100),
    ("nopeer", 0x0010),
    ("notrap", 0x0200),
    ("lptrap", 0x0400),
    ("limited", 0x0040),
    ("version", 0x0008),
    ("kod", 0x0800),
    ("flake", 0x2000),
];
/// `RESM_NTPONLY`.
const RESM_NTPONLY: u16 = 0x2000;

pub(crate) fn new_restrict(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    do_restrict(st, io, args, RequestCode::ResAddFlags);
}

pub(crate) fn unrestrict(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    do_restrict(st, io, args, RequestCode::ResSubFlags);
}

pub(crate) fn delrestrict(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    do_restrict(st, io, args, RequestCode::Unrestrict);
}

fn do_restrict(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg], code: RequestCode) {
    let (Some(addr), Some(mask)) = (
        args.first().and_then(|a| a.addr),
        args.get(1).and_then(|a| a.addr),
    ) else {
        return;
    };
    let mut item = ConfRestrict::default();
    match (addr, mask) {
        (IpAddr::V4(a), IpAddr::V4(m)) => {
            item.addr = a;
            item.mask = m;
        }
        (IpAddr::V4(a), IpAddr::V6(_)) => item.addr = a,
        (IpAddr::V6(a), _) => {
            item.addr6 = a;
            item.v6_flag = 1;
        }
    }
    let mut bad = false;
    for a in args.iter().skip(2) {
        if a.string == "ntpport" {
            item.mflags |= RESM_NTPONLY;
            continue;
        }
        match RES_WORDS.iter().find(|(w, _)| *w == a.string) {
            Some((w, bit)) => {
                item.flags |= bit;
                if code == RequestCode::Unrestrict {
                    st.print(&format!("Flag {w} inappropriate\n"));
                    bad = true;
                }
            }
            None => {
                st.print(&format!("Unknown flag {}\n", a.string));
                bad = true;
            }
        }
    }
    if addr.is_ipv4() {
        if item.addr.is_unspecified() {
            item.mask = Ipv4Addr::UNSPECIFIED;
        } else {
            // The mask bits must be contiguous from the top.
            let m = u32::from(item.mask);
            if m.leading_ones() + m.trailing_zeros() < 32 {
                st.print(&format!("Invalid mask {}\n", item.mask));
                bad = true;
            }
        }
    }
    if bad {
        return;
    }
    let mut q = auth_query_layouts(code, &[item], addr.is_ipv6());
    q.expected_item_size = ConfRestrict::SIZE;
    let _ = ack(st, io, q);
}

pub(crate) fn reset(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    const WORDS: [(&str, u32); 7] = [
        ("allpeers", reset_flags::ALLPEERS),
        ("io", reset_flags::IO),
        ("sys", reset_flags::SYS),
        ("mem", reset_flags::MEM),
        ("timer", reset_flags::TIMER),
        ("auth", reset_flags::AUTH),
        ("ctl", reset_flags::CTL),
    ];
    let mut flags = 0;
    let mut bad = false;
    for a in args {
        match WORDS.iter().find(|(w, _)| *w == a.string) {
            Some((_, bit)) => flags |= bit,
            None => {
                st.print(&format!("Flag {} unknown\n", a.string));
                bad = true;
            }
        }
    }
    if bad {
        st.print("Not done due to errors\n");
        return;
    }
    let item = ResetFlags { flags }.to_vec(ItemLayout::Full);
    let q = auth_query(
        RequestCode::ResetStats,
        1,
        ResetFlags::SIZE,
        item,
        ResetFlags::SIZE,
    );
    let _ = ack(st, io, q);
}

pub(crate) fn readkeys(st: &mut Ntpdc, io: &mut dyn Io, _args: &[Arg]) {
    let q = auth_query(RequestCode::RereadKeys, 0, 0, Vec::new(), ACK_ESIZE);
    let _ = ack(st, io, q);
}

pub(crate) fn trustedkey(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    do_trustkey(st, io, args, RequestCode::TrustKey);
}

pub(crate) fn untrustedkey(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    do_trustkey(st, io, args, RequestCode::UntrustKey);
}

fn do_trustkey(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg], code: RequestCode) {
    // Classic sends C `u_long`s in host order: 8 octets, little-endian on x86-64.
    let items: Vec<u8> = args
        .iter()
        .flat_map(|a| (a.ival as u64).to_le_bytes())
        .collect();
    let q = auth_query(code, args.len() as u16, 8, items, ACK_ESIZE);
    let _ = ack(st, io, q);
}

pub(crate) fn addtrap(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    do_addclr_trap(st, io, args, RequestCode::AddTrap);
}

pub(crate) fn clrtrap(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    do_addclr_trap(st, io, args, RequestCode::ClrTrap);
}

fn do_addclr_trap(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg], code: RequestCode) {
    let Some(addr) = args.first().and_then(|a| a.addr) else {
        return;
    };
    let mut trap = ConfTrap {
        trap_port: TRAPPORT,
        ..Default::default()
    };
    match addr {
        IpAddr::V4(a) => trap.trap_address = a,
        IpAddr::V6(a) => {
            trap.trap_address6 = a;
            trap.v6_flag = 1;
        }
    }
    if let Some(port) = args.get(1) {
        trap.trap_port = port.ival as u16;
        if let Some(local) = args.get(2).and_then(|a| a.addr) {
            if local.is_ipv4() != addr.is_ipv4() {
                io.stderr("***Cannot mix IPv4 and IPv6 addresses\n");
                return;
            }
            match local {
                IpAddr::V4(a) => trap.local_address = a,
                IpAddr::V6(a) => trap.local_address6 = a,
            }
        }
    }
    let mut q = auth_query_layouts(code, &[trap], addr.is_ipv6());
    q.expected_item_size = ConfTrap::SIZE;
    let _ = ack(st, io, q);
}

pub(crate) fn requestkey(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    do_changekey(st, io, args, RequestCode::RequestKey);
}

pub(crate) fn controlkey(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    do_changekey(st, io, args, RequestCode::ControlKey);
}

fn do_changekey(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg], code: RequestCode) {
    let key = args.first().map(|a| a.ival as u32).unwrap_or(0);
    // `htonl(key)` in a 4-octet item.
    let q = auth_query(code, 1, 4, key.to_be_bytes().to_vec(), ACK_ESIZE);
    let _ = ack(st, io, q);
}

/// libntp `atolfp`: `[+-]digits[.digits]` to an l_fp (fraction rounded to 2^-32).
fn atolfp(s: &str) -> Option<u64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let i: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac = frac.get(..frac.len().min(18)).unwrap_or("");
    let f: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    let scale = 10u128.pow(frac.len() as u32);
    let f32 = ((f << 32) + scale / 2) / scale;
    let v = ((i & 0xffff_ffff) << 32).wrapping_add(f32 as u64);
    Some(if neg { v.wrapping_neg() } else { v })
}

pub(crate) fn fudge(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    const FUDGE_TIME1: u32 = 1;
    const FUDGE_TIME2: u32 = 2;
    const FUDGE_VAL1: u32 = 3;
    const FUDGE_VAL2: u32 = 4;
    const FUDGE_FLAGS: u32 = 5;
    let (Some(IpAddr::V4(clock)), Some(which), Some(value)) =
        (args.first().and_then(|a| a.addr), args.get(1), args.get(2))
    else {
        return;
    };
    let mut item = ConfFudge {
        clockadr: clock,
        ..Default::default()
    };
    let value = value.string.as_str();
    let ok = match which.string.as_str() {
        "time1" | "time2" => {
            item.which = if which.string == "time1" {
                FUDGE_TIME1
            } else {
                FUDGE_TIME2
            };
            atolfp(value).map(|v| item.fudgetime = LFp(v)).is_some()
        }
        "val1" | "val2" => {
            item.which = if which.string == "val1" {
                FUDGE_VAL1
            } else {
                FUDGE_VAL2
            };
            atoint(value)
                .map(|v| item.fudgeval_flags = v as u32)
                .is_some()
        }
        "flags" => {
            item.which = FUDGE_FLAGS;
            u32::from_str_radix(value, 16)
                .map(|v| item.fudgeval_flags = v & 0xf)
                .is_ok()
        }
        other => {
            io.stderr(&format!("What fudge is {other}?\n"));
            return;
        }
    };
    if !ok {
        io.stderr(&format!("Unknown fudge parameter {value}\n"));
        return;
    }
    let q = auth_query(
        RequestCode::SetClkFudge,
        1,
        ConfFudge::SIZE,
        item.to_vec(ItemLayout::Full),
        ACK_ESIZE,
    );
    let _ = ack(st, io, q);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atolfp_parses_signed_decimals() {
        assert_eq!(atolfp("1.5"), Some(0x1_8000_0000));
        assert_eq!(atolfp("-0.5"), Some(0x8000_0000u64.wrapping_neg()));
        assert_eq!(atolfp(".25"), Some(0x4000_0000));
        assert_eq!(atolfp("x"), None);
        assert_eq!(atolfp(""), None);
    }

    #[test]
    fn atoint_rejects_trailing_junk() {
        assert_eq!(atoint("-12"), Some(-12));
        assert_eq!(atoint("12a"), None);
        assert_eq!(atoint("-"), None);
    }
}
