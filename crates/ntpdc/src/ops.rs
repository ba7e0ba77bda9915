//! The server commands (classic `ntpdc_ops.c`): each builds its mode 7 query, runs it through
//! the session and prints the report byte for byte as classic ntpdc 4.2.8 does (or as JSON).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ntp_control::mode7::client::{Query, Response};
use ntp_wire::mode7::{
    peer_flags, sys_flags, ClockAddr, InfoAuth, InfoClock, InfoControl, InfoError, InfoIfStats,
    InfoIoStats, InfoKernel, InfoLoop, InfoMemStats, InfoMonitor, InfoMonitor1, InfoPeer,
    InfoPeerList, InfoPeerStats, InfoPeerSummary, InfoRestrict, InfoSys, InfoSysStats,
    InfoTimerStats, InfoTrap, ItemLayout, PrivateItem, RequestCode,
};
use serde_json::{json, Value};

use crate::fmt::{fptoa, g, lfptoa, modetoa, refid_string, ufptoa};
use crate::{arg, config, Arg, ArgSpec, ArgType, Command, Io, Ntpdc};

use ArgType::{Addr, Int, IpVersion, Str, UInt};

const IPV: &[ArgSpec] = &[arg(IpVersion, true, "-4|-6")];
const PEER_ADDRS: &[ArgSpec] = &[
    arg(Addr, false, "peer_address"),
    arg(Addr, true, "peer2_addr"),
    arg(Addr, true, "peer3_addr"),
    arg(Addr, true, "peer4_addr"),
];
const CLOCK_ADDRS: &[ArgSpec] = &[
    arg(Addr, false, "address"),
    arg(Addr, true, "address"),
    arg(Addr, true, "address"),
    arg(Addr, true, "address"),
];
const CONF_ARGS: &[ArgSpec] = &[
    arg(Addr, false, "addr"),
    arg(Str, true, "keyid"),
    arg(Str, true, "version"),
    arg(
        Str,
        true,
        "minpoll#|prefer|burst|iburst|'minpoll N'|'maxpoll N'|'keyid N'|'version N' ...",
    ),
];
const FLAG_ARGS: &[ArgSpec] = &[
    arg(Str, false, "auth|bclient|monitor|pll|kernel|stats"),
    arg(Str, true, "..."),
    arg(Str, true, "..."),
    arg(Str, true, "..."),
];
const RESTRICT_ARGS: &[ArgSpec] = &[
    arg(Addr, false, "address"),
    arg(Addr, false, "mask"),
    arg(
        Str,
        false,
        "ntpport|ignore|noserve|notrust|noquery|nomodify|nopeer|version|kod",
    ),
    arg(Str, true, "..."),
];
const KEY_ARGS: &[ArgSpec] = &[
    arg(UInt, false, "keyid"),
    arg(UInt, true, "keyid"),
    arg(UInt, true, "keyid"),
    arg(UInt, true, "keyid"),
];
const TRAP_ARGS: &[ArgSpec] = &[
    arg(Addr, false, "address"),
    arg(UInt, true, "port"),
    arg(Addr, true, "interface"),
];

macro_rules! cmd {
    ($name:expr, $run:expr, $args:expr, $comment:expr) => {
        Command {
            name: $name,
            args: $args,
            comment: $comment,
            run: $run,
        }
    };
}

/// Classic `opcmds[]`, in classic's order (help and prefix matching depend on the full list).
pub(crate) static OPCMDS: &[Command] = &[
    cmd!(
        "listpeers",
        peerlist,
        IPV,
        "display list of peers the server knows about [IP Version]"
    ),
    cmd!(
        "peers",
        peers,
        IPV,
        "display peer summary information [IP Version]"
    ),
    cmd!(
        "dmpeers",
        dmpeers,
        IPV,
        "display peer summary info the way Dave Mills likes it (IP Version)"
    ),
    cmd!(
        "showpeer",
        showpeer,
        PEER_ADDRS,
        "display detailed information for one or more peers"
    ),
    cmd!(
        "pstats",
        peerstats,
        PEER_ADDRS,
        "display statistical information for one or more peers"
    ),
    cmd!(
        "loopinfo",
        loopinfo,
        &[arg(Str, true, "oneline|multiline")],
        "display loop filter information"
    ),
    cmd!("sysinfo", sysinfo, &[], "display local server information"),
    cmd!("sysstats", sysstats, &[], "display local server statistics"),
    cmd!(
        "memstats",
        memstats,
        &[],
        "display peer memory usage statistics"
    ),
    cmd!("iostats", iostats, &[], "display I/O subsystem statistics"),
    cmd!(
        "timerstats",
        timerstats,
        &[],
        "display event timer subsystem statistics"
    ),
    cmd!(
        "addpeer",
        config::addpeer,
        CONF_ARGS,
        "configure a new peer association"
    ),
    cmd!(
        "addserver",
        config::addserver,
        CONF_ARGS,
        "configure a new server"
    ),
    cmd!(
        "addrefclock",
        config::addrefclock,
        &[
            arg(Addr, false, "addr"),
            arg(UInt, true, "mode"),
            arg(Str, true, "minpoll|prefer"),
            arg(Str, true, "minpoll|prefer")
        ],
        "configure a new server"
    ),
    cmd!(
        "broadcast",
        config::broadcast,
        &[
            arg(Addr, false, "addr"),
            arg(Str, true, "keyid"),
            arg(Str, true, "version"),
            arg(Str, true, "minpoll")
        ],
        "configure broadcasting time service"
    ),
    cmd!(
        "unconfig",
        config::unconfig,
        PEER_ADDRS,
        "unconfigure existing peer assocations"
    ),
    cmd!(
        "enable",
        config::enable,
        FLAG_ARGS,
        "set a system flag (auth, bclient, monitor, pll, kernel, stats)"
    ),
    cmd!(
        "disable",
        config::disable,
        FLAG_ARGS,
        "clear a system flag (auth, bclient, monitor, pll, kernel, stats)"
    ),
    cmd!(
        "reslist",
        reslist,
        IPV,
        "display the server's restrict list"
    ),
    cmd!(
        "restrict",
        config::new_restrict,
        RESTRICT_ARGS,
        "create restrict entry/add flags to entry"
    ),
    cmd!(
        "unrestrict",
        config::unrestrict,
        RESTRICT_ARGS,
        "remove flags from a restrict entry"
    ),
    cmd!(
        "delrestrict",
        config::delrestrict,
        &[
            arg(Addr, false, "address"),
            arg(Addr, false, "mask"),
            arg(Str, true, "ntpport")
        ],
        "delete a restrict entry"
    ),
    cmd!(
        "monlist",
        monlist,
        &[arg(Int, true, "version")],
        "display data the server's monitor routines have collected"
    ),
    cmd!(
        "reset",
        config::reset,
        &[
            arg(Str, false, "io|sys|mem|timer|auth|ctl|allpeers"),
            arg(Str, true, "..."),
            arg(Str, true, "..."),
            arg(Str, true, "...")
        ],
        "reset various subsystem statistics counters"
    ),
    cmd!(
        "preset",
        config::preset,
        PEER_ADDRS,
        "reset stat counters associated with particular peer(s)"
    ),
    cmd!(
        "readkeys",
        config::readkeys,
        &[],
        "request a reread of the keys file and re-init of system keys"
    ),
    cmd!(
        "trustedkey",
        config::trustedkey,
        KEY_ARGS,
        "add one or more key ID's to the trusted list"
    ),
    cmd!(
        "untrustedkey",
        config::untrustedkey,
        KEY_ARGS,
        "remove one or more key ID's from the trusted list"
    ),
    cmd!(
        "authinfo",
        authinfo,
        &[],
        "display the state of the authentication code"
    ),
    cmd!("traps", traps, &[], "display the traps set in the server"),
    cmd!(
        "addtrap",
        config::addtrap,
        TRAP_ARGS,
        "configure a trap in the server"
    ),
    cmd!(
        "clrtrap",
        config::clrtrap,
        TRAP_ARGS,
        "remove a trap (configured or otherwise) from the server"
    ),
    cmd!(
        "requestkey",
        config::requestkey,
        &[arg(UInt, false, "keyid")],
        "change the keyid the server uses to authenticate requests"
    ),
    cmd!(
        "controlkey",
        config::controlkey,
        &[arg(UInt, false, "keyid")],
        "change the keyid the server uses to authenticate control messages"
    ),
    cmd!(
        "ctlstats",
        ctlstats,
        &[],
        "display packet count statistics from the control module"
    ),
    cmd!(
        "clockstat",
        clockstat,
        CLOCK_ADDRS,
        "display clock status information"
    ),
    cmd!(
        "fudge",
        config::fudge,
        &[
            arg(Addr, false, "address"),
            arg(Str, false, "time1|time2|val1|val2|flags"),
            arg(Str, false, "value")
        ],
        "set/change one of a clock's fudge factors"
    ),
    cmd!(
        "clkbug",
        refuse,
        CLOCK_ADDRS,
        "display clock debugging information"
    ),
    cmd!(
        "kerninfo",
        kerninfo,
        &[],
        "display the kernel pll/pps variables"
    ),
    cmd!("ifstats", ifstats, &[], "list interface statistics"),
    cmd!("ifreload", ifreload, &[], "reload interface configuration"),
];

/// `clkbug` (uncommon, and answered by no daemon we know of) is known but not sent.
fn refuse(_st: &mut Ntpdc, io: &mut dyn Io, _args: &[Arg]) {
    io.stderr("***clkbug is not supported by this ntpdc\n");
}

/// Classic `checkitems`.
pub(crate) fn checkitems(st: &mut Ntpdc, n: usize) -> bool {
    if n == 0 {
        st.print("No data returned in response to query\n");
        return false;
    }
    true
}

fn check1item(st: &mut Ntpdc, n: usize) -> bool {
    if !checkitems(st, n) {
        return false;
    }
    if n > 1 {
        st.print(&format!("Expected one item in response, got {n}\n"));
        return false;
    }
    true
}

fn wrong_size(io: &mut dyn Io, got: usize, expected: usize) {
    io.stderr(&format!(
        "***Incorrect item size returned by remote host ({got} should be {expected})\n"
    ));
}

/// Item count and size checks of a command, then decoding. `v4_ok` accepts the truncated
/// size too (classic's second `checkitemsize`, which prints its own message when it fails).
fn decode<T: PrivateItem>(
    st: &mut Ntpdc,
    io: &mut dyn Io,
    r: &Response,
    one: bool,
    v4_ok: bool,
) -> Option<Vec<T>> {
    let enough = if one {
        check1item(st, r.nitems)
    } else {
        checkitems(st, r.nitems)
    };
    if !enough {
        return None;
    }
    if r.item_size != T::SIZE {
        wrong_size(io, r.item_size, T::SIZE);
        if !v4_ok {
            return None;
        }
        if r.item_size != T::TRUNCATED_SIZE {
            wrong_size(io, r.item_size, T::TRUNCATED_SIZE);
            return None;
        }
    }
    T::decode_all(&r.data, r.item_size).ok()
}

pub(crate) fn simple(code: RequestCode, esize: usize) -> Query {
    Query::simple(code, esize)
}

/// The `-4`/`-6` argument filter of the list commands.
fn family_ok(args: &[Arg], v6: bool) -> bool {
    match args.first().map(|a| a.ival) {
        Some(6) => v6,
        Some(4) => !v6,
        _ => true,
    }
}

fn json_out(st: &mut Ntpdc, v: &Value) {
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    st.print(&format!("{text}\n"));
}

fn peerlist(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    let Ok(r) = st.doquery(io, simple(RequestCode::PeerList, InfoPeerList::SIZE)) else {
        return;
    };
    let Some(items) = decode::<InfoPeerList>(st, io, &r, false, true) else {
        return;
    };
    let mut rows = Vec::new();
    for p in items.iter().filter(|p| family_ok(args, p.v6_flag != 0)) {
        let addr = p.address();
        let host = st.nntohost(io, addr);
        let straddr = addr.to_string();
        if st.json {
            rows.push(json!({"mode": modetoa(p.hmode), "remote": host, "address": straddr}));
            continue;
        }
        let mut line = format!("{:<12} {host}", modetoa(p.hmode));
        if host != straddr {
            line.push_str(&format!(" ({straddr})"));
        }
        st.print(&format!("{line}\n"));
    }
    if st.json {
        json_out(st, &Value::Array(rows));
    }
}

fn peers(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    dopeers(st, io, args, false);
}

fn dmpeers(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    dopeers(st, io, args, true);
}

fn peer_flag_words(flags: u16) -> Vec<&'static str> {
    const WORDS: [(u16, &str); 9] = [
        (peer_flags::SYSPEER, "system_peer"),
        (peer_flags::CONFIG, "config"),
        (peer_flags::REFCLOCK, "refclock"),
        (peer_flags::AUTHENABLE, "auth"),
        (peer_flags::PREFER, "prefer"),
        (peer_flags::IBURST, "iburst"),
        (peer_flags::BURST, "burst"),
        (peer_flags::SEL_CANDIDATE, "candidate"),
        (peer_flags::SHORTLIST, "shortlist"),
    ];
    WORDS
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, w)| *w)
        .collect()
}

/// Classic `print_pflag`: ` none`, or ` word` joined by `,`.
fn pflags(flags: u16) -> String {
    if flags == 0 {
        return " none\n".into();
    }
    let words: Vec<String> = peer_flag_words(flags)
        .iter()
        .map(|w| format!(" {w}"))
        .collect();
    format!("{}\n", words.join(","))
}

fn dopeers(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg], dm: bool) {
    let Ok(r) = st.doquery(io, simple(RequestCode::PeerListSum, InfoPeerSummary::SIZE)) else {
        return;
    };
    let Some(items) = decode::<InfoPeerSummary>(st, io, &r, false, true) else {
        return;
    };
    if !st.json {
        st.print("     remote           local      st poll reach  delay   offset    disp\n");
        st.print("=======================================================================\n");
    }
    let mut rows = Vec::new();
    for p in &items {
        let flags = u16::from(p.flags);
        let c = if flags & peer_flags::SYSPEER != 0 {
            '*'
        } else if !dm {
            match p.hmode {
                1 => '+',
                2 => '-',
                3 => '=',
                5 => '^',
                8 => '~',
                _ => ' ',
            }
        } else if flags & peer_flags::SHORTLIST != 0 {
            '+'
        } else if flags & peer_flags::SEL_CANDIDATE != 0 {
            '.'
        } else {
            ' '
        };
        let poll_exp = i32::from(p.ppoll.min(p.hpoll)).clamp(3, 17);
        let poll = 1i32 << poll_exp;
        if !family_ok(args, p.v6_flag != 0) {
            continue;
        }
        let remote = st.nntohost(io, p.source());
        let local = p.destination().to_string();
        if st.json {
            rows.push(json!({
                "tally": c.to_string(),
                "remote": remote,
                "local": local,
                "hmode": modetoa(p.hmode),
                "stratum": p.stratum,
                "poll": poll,
                "reach": p.reach,
                "delay": p.delay.to_f64(),
                "offset": p.offset.to_f64_signed(),
                "dispersion": p.dispersion.to_f64(),
                "flags": peer_flag_words(flags),
            }));
            continue;
        }
        let line = format!(
            "{c}{:<15.15} {:<15.15} {:2} {:4}  {:3o} {:>7.7} {:>9.9} {:>7.7}\n",
            remote,
            local,
            p.stratum,
            poll,
            p.reach,
            fptoa(p.delay.0, 5),
            lfptoa(p.offset.0, 6),
            ufptoa(p.dispersion.0, 5)
        );
        st.print(&line);
    }
    if st.json {
        json_out(st, &Value::Array(rows));
    }
}

/// The `info_peer_list` request items for `showpeer`/`pstats` (at most 4 addresses).
fn peer_query(st: &Ntpdc, code: RequestCode, args: &[Arg], esize: usize) -> Query {
    let mut q = simple(code, esize);
    let addrs: Vec<IpAddr> = args.iter().filter_map(|a| a.addr).take(4).collect();
    let mut full = Vec::new();
    let mut truncated = Vec::new();
    for addr in &addrs {
        let mut item = InfoPeerList::for_address(*addr);
        item.port = st.port;
        full.extend(item.to_vec(ItemLayout::Full));
        truncated.extend(item.to_vec(ItemLayout::Truncated));
        q.needs_full_layout |= addr.is_ipv6();
    }
    q.nitems = addrs.len() as u16;
    q.items_full = (InfoPeerList::SIZE as u16, full);
    q.items_truncated = (InfoPeerList::TRUNCATED_SIZE as u16, truncated);
    q
}

fn leap_bits(leap: u8) -> String {
    format!(
        "{}{}",
        if leap & 2 != 0 { '1' } else { '0' },
        if leap & 1 != 0 { '1' } else { '0' }
    )
}

fn showpeer(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    let q = peer_query(st, RequestCode::PeerInfo, args, InfoPeer::SIZE);
    let Ok(r) = st.doquery(io, q) else {
        return;
    };
    let Some(items) = decode::<InfoPeer>(st, io, &r, false, true) else {
        return;
    };
    if st.json {
        let rows: Vec<Value> = items.iter().map(peer_json).collect();
        json_out(st, &Value::Array(rows));
        return;
    }
    let n = items.len();
    for (i, p) in items.iter().enumerate() {
        printpeer(st, io, p);
        if i + 1 < n {
            st.print("\n");
        }
    }
}

fn hex_ts(ts: ntp_wire::mode7::LFp) -> String {
    format!("{:08x}.{:08x}", ts.seconds(), ts.fraction())
}

fn peer_json(p: &InfoPeer) -> Value {
    json!({
        "remote": p.source().to_string(),
        "local": p.destination().to_string(),
        "hmode": modetoa(p.hmode),
        "pmode": modetoa(p.pmode),
        "stratum": p.stratum,
        "precision": p.precision,
        "leap": p.leap,
        "refid": refid_string(p.refid, p.stratum),
        "root_delay": p.rootdelay.to_f64(),
        "root_dispersion": p.rootdispersion.to_f64(),
        "ppoll": p.ppoll,
        "hpoll": p.hpoll,
        "keyid": p.keyid,
        "version": p.version,
        "association": p.associd,
        "reach": p.reach,
        "unreach": p.unreach,
        "flash": p.flash2,
        "boffset": p.estbdelay.to_f64(),
        "ttl": p.ttl,
        "flags": peer_flag_words(u16::from(p.flags)),
        "reference_time": hex_ts(p.reftime),
        "originate_timestamp": hex_ts(p.org),
        "receive_timestamp": hex_ts(p.rec),
        "transmit_timestamp": hex_ts(p.xmt),
        "filter_delay": p.filtdelay.iter().map(|d| d.to_f64()).collect::<Vec<_>>(),
        "filter_offset": p.filtoffset.iter().map(|o| o.to_f64_signed()).collect::<Vec<_>>(),
        "filter_order": p.order.to_vec(),
        "offset": p.offset.to_f64_signed(),
        "delay": p.delay.to_f64(),
        "error_bound": p.dispersion.to_f64(),
        "filter_error": p.selectdisp.to_f64(),
    })
}

fn printpeer(st: &mut Ntpdc, io: &mut dyn Io, p: &InfoPeer) {
    let mut s = String::new();
    s += &format!("remote {}, local {}\n", p.source(), p.destination());
    s += &format!(
        "hmode {}, pmode {}, stratum {}, precision {}\n",
        modetoa(p.hmode),
        modetoa(p.pmode),
        p.stratum,
        p.precision
    );
    s += &format!(
        "leap {}, refid [{}], rootdistance {}, rootdispersion {}\n",
        leap_bits(p.leap),
        refid_string(p.refid, p.stratum),
        fptoa(p.rootdelay.0, 5),
        ufptoa(p.rootdispersion.0, 5)
    );
    s += &format!(
        "ppoll {}, hpoll {}, keyid {}, version {}, association {}\n",
        p.ppoll, p.hpoll, p.keyid, p.version, p.associd
    );
    s += &format!(
        "reach {:03o}, unreach {}, flash 0x{:04x}, ",
        p.reach, p.unreach, p.flash2
    );
    s += &format!("boffset {}, ttl/mode {}\n", fptoa(p.estbdelay.0, 5), p.ttl);
    // `(long)ntohl(...)` of an unsigned value: never negative on LP64.
    s += &format!("timer {}s, flags", p.timer);
    s += &pflags(u16::from(p.flags));
    s += &format!("reference time:      {}\n", st.prettydate(io, p.reftime));
    s += &format!("originate timestamp: {}\n", st.prettydate(io, p.org));
    s += &format!("receive timestamp:   {}\n", st.prettydate(io, p.rec));
    s += &format!("transmit timestamp:  {}\n", st.prettydate(io, p.xmt));
    let row = |label: &str, cells: Vec<String>| {
        let mut line = label.to_string();
        for (i, c) in cells.iter().enumerate() {
            line += &format!(" {c:<8.8}");
            if i == 3 {
                line += "\n              ";
            }
        }
        line + "\n"
    };
    s += &row(
        "filter delay: ",
        p.filtdelay.iter().map(|d| fptoa(d.0, 5)).collect(),
    );
    s += &row(
        "filter offset:",
        p.filtoffset.iter().map(|o| lfptoa(o.0, 6)).collect(),
    );
    s += &row(
        "filter order: ",
        p.order.iter().map(|o| o.to_string()).collect(),
    );
    s += &format!(
        "offset {}, delay {}, error bound {}, filter error {}\n",
        lfptoa(p.offset.0, 6),
        fptoa(p.delay.0, 5),
        ufptoa(p.dispersion.0, 5),
        ufptoa(p.selectdisp.0, 5)
    );
    st.print(&s);
}

fn peerstats(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    let q = peer_query(st, RequestCode::PeerStats, args, InfoPeerStats::SIZE);
    let Ok(r) = st.doquery(io, q) else {
        return;
    };
    let Some(items) = decode::<InfoPeerStats>(st, io, &r, false, true) else {
        return;
    };
    if st.json {
        let mut rows = Vec::new();
        for p in &items {
            rows.push(json!({
                "remote": st.nntohost(io, p.source()),
                "local": p.destination().to_string(),
                "time_last_received": p.timereceived,
                "time_until_next_send": p.timetosend,
                "reachability_change": p.timereachable,
                "packets_sent": p.sent,
                "packets_received": p.processed,
                "bad_authentication": p.badauth,
                "bogus_origin": p.bogusorg,
                "duplicate": p.oldpkt,
                "bad_dispersion": p.seldisp,
                "bad_reference_time": p.selbroken,
                "candidate_order": p.candidate,
                "flags": peer_flag_words(p.flags),
            }));
        }
        json_out(st, &Value::Array(rows));
        return;
    }
    let mut left = items.len();
    for p in &items {
        left -= 1;
        let remote = st.nntohost(io, p.source());
        let mut s = String::new();
        s += &format!("remote host:          {remote}\n");
        s += &format!("local interface:      {}\n", p.destination());
        s += &format!("time last received:   {}s\n", p.timereceived);
        s += &format!("time until next send: {}s\n", p.timetosend);
        s += &format!("reachability change:  {}s\n", p.timereachable);
        s += &format!("packets sent:         {}\n", p.sent);
        s += &format!("packets received:     {}\n", p.processed);
        s += &format!("bad authentication:   {}\n", p.badauth);
        s += &format!("bogus origin:         {}\n", p.bogusorg);
        s += &format!("duplicate:            {}\n", p.oldpkt);
        s += &format!("bad dispersion:       {}\n", p.seldisp);
        s += &format!("bad reference time:   {}\n", p.selbroken);
        s += &format!("candidate order:      {}\n", p.candidate);
        // Classic puts the separating blank line before the flags of all but the last peer.
        if left > 0 {
            s += "\n";
        }
        s += "flags:\t";
        s += &pflags(p.flags);
        st.print(&s);
    }
}

fn loopinfo(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    let oneline = match args.first().map(|a| a.string.as_str()) {
        None | Some("multiline") => false,
        Some("oneline") => true,
        Some(_) => {
            io.stderr("How many lines?\n");
            return;
        }
    };
    let Ok(r) = st.doquery(io, simple(RequestCode::LoopInfo, InfoLoop::SIZE)) else {
        return;
    };
    let Some(items) = decode::<InfoLoop>(st, io, &r, true, false) else {
        return;
    };
    let Some(l) = items.first() else { return };
    if st.json {
        let v = json!({
            "offset": l.last_offset.to_f64_signed(),
            "frequency": l.drift_comp.to_f64_signed(),
            "poll_adjust": l.compliance as i32,
            "watchdog_timer": l.watchdog_timer,
        });
        json_out(st, &v);
    } else if oneline {
        st.print(&format!(
            "offset {}, frequency {}, time_const {}, watchdog {}\n",
            lfptoa(l.last_offset.0, 6),
            lfptoa(l.drift_comp.0, 3),
            l.compliance as i32,
            l.watchdog_timer
        ));
    } else {
        st.print(&format!(
            "offset:               {} s\n",
            lfptoa(l.last_offset.0, 6)
        ));
        st.print(&format!(
            "frequency:            {} ppm\n",
            lfptoa(l.drift_comp.0, 3)
        ));
        st.print(&format!("poll adjust:          {}\n", l.compliance as i32));
        st.print(&format!("watchdog timer:       {} s\n", l.watchdog_timer));
    }
}

fn sys_flag_words(flags: u8) -> Vec<&'static str> {
    const WORDS: [(u8, &str); 8] = [
        (sys_flags::BCLIENT, "bclient"),
        (sys_flags::AUTHENTICATE, "auth"),
        (sys_flags::MONITOR, "monitor"),
        (sys_flags::NTP, "ntp"),
        (sys_flags::KERNEL, "kernel"),
        (sys_flags::FILEGEN, "stats"),
        (sys_flags::CAL, "calibrate"),
        (sys_flags::PPS_SYNC, "pps"),
    ];
    WORDS
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, w)| *w)
        .collect()
}

fn sysinfo(st: &mut Ntpdc, io: &mut dyn Io, _args: &[Arg]) {
    let Ok(r) = st.doquery(io, simple(RequestCode::SysInfo, InfoSys::SIZE)) else {
        return;
    };
    let Some(items) = decode::<InfoSys>(st, io, &r, true, true) else {
        return;
    };
    let Some(s) = items.first() else { return };
    let peer = st.nntohost(io, s.peer_address());
    let reftime = st.prettydate(io, s.reftime);
    if st.json {
        let v = json!({
            "system_peer": peer,
            "system_peer_mode": modetoa(s.peer_mode),
            "leap": s.leap,
            "stratum": s.stratum,
            "precision": s.precision,
            "root_delay": s.rootdelay.to_f64(),
            "root_dispersion": s.rootdispersion.to_f64(),
            "reference_id": refid_string(s.refid, s.stratum),
            "reference_time": format!("{:08x}.{:08x}", s.reftime.seconds(), s.reftime.fraction()),
            "system_flags": sys_flag_words(s.flags),
            "jitter": s.frequency.to_f64(),
            "stability": s.stability.to_f64(),
            "broadcast_delay": s.bdelay.to_f64(),
            "auth_delay": s.authdelay.to_f64_signed(),
        });
        json_out(st, &v);
        return;
    }
    let mut o = String::new();
    o += &format!("system peer:          {peer}\n");
    o += &format!("system peer mode:     {}\n", modetoa(s.peer_mode));
    o += &format!("leap indicator:       {}\n", leap_bits(s.leap));
    o += &format!("stratum:              {}\n", s.stratum);
    o += &format!("precision:            {}\n", s.precision);
    o += &format!("root distance:        {} s\n", fptoa(s.rootdelay.0, 5));
    o += &format!(
        "root dispersion:      {} s\n",
        ufptoa(s.rootdispersion.0, 5)
    );
    o += &format!(
        "reference ID:         [{}]\n",
        refid_string(s.refid, s.stratum)
    );
    o += &format!("reference time:       {reftime}\n");
    o += "system flags:         ";
    // Classic tests the peer flag AUTHENABLE (0x20) instead of AUTHENTICATE (0x02) here.
    if s.flags & 0xfd == 0 {
        o += "none\n";
    } else {
        for w in sys_flag_words(s.flags) {
            o += &format!("{w} ");
        }
        o += "\n";
    }
    o += &format!("jitter:               {} s\n", fptoa(s.frequency.0, 6));
    o += &format!("stability:            {} ppm\n", ufptoa(s.stability.0, 3));
    o += &format!("broadcastdelay:       {} s\n", fptoa(s.bdelay.0, 6));
    o += &format!("authdelay:            {} s\n", lfptoa(s.authdelay.0, 6));
    st.print(&o);
}

fn sysstats(st: &mut Ntpdc, io: &mut dyn Io, _args: &[Arg]) {
    let Ok(r) = st.doquery(io, simple(RequestCode::SysStats, InfoSysStats::SIZE)) else {
        return;
    };
    if !check1item(st, r.nitems) {
        return;
    }
    if r.item_size != InfoSysStats::SIZE && r.item_size != InfoSysStats::TRUNCATED_SIZE {
        wrong_size(io, r.item_size, InfoSysStats::SIZE);
        return;
    }
    let Ok(items) = InfoSysStats::decode_all(&r.data, r.item_size) else {
        return;
    };
    let Some(s) = items.first() else { return };
    let full = r.item_size == InfoSysStats::SIZE;
    if st.json {
        let mut v = json!({
            "time_since_restart": s.timeup,
            "time_since_reset": s.timereset,
            "packets_received": s.received,
            "packets_processed": s.processed,
            "current_version": s.newversionpkt,
            "previous_version": s.oldversionpkt,
            "declined": s.unknownversion,
            "access_denied": s.denied,
            "bad_length_or_format": s.badlength,
            "bad_authentication": s.badauth,
        });
        if full {
            v["rate_exceeded"] = json!(s.limitrejected);
        }
        json_out(st, &v);
        return;
    }
    let mut o = String::new();
    o += &format!("time since restart:     {}\n", s.timeup);
    o += &format!("time since reset:       {}\n", s.timereset);
    o += &format!("packets received:       {}\n", s.received);
    o += &format!("packets processed:      {}\n", s.processed);
    o += &format!("current version:        {}\n", s.newversionpkt);
    o += &format!("previous version:       {}\n", s.oldversionpkt);
    o += &format!("declined:               {}\n", s.unknownversion);
    o += &format!("access denied:          {}\n", s.denied);
    o += &format!("bad length or format:   {}\n", s.badlength);
    o += &format!("bad authentication:     {}\n", s.badauth);
    if full {
        o += &format!("rate exceeded:          {}\n", s.limitrejected);
    }
    st.print(&o);
}

/// Print `label: value` lines padded to `width`, or the same as a JSON object.
fn report(st: &mut Ntpdc, width: usize, rows: &[(&str, String, Value)]) {
    if st.json {
        let mut map = serde_json::Map::new();
        for (label, _, v) in rows {
            let key = label
                .trim_end_matches(':')
                .replace([' ', '/'], "_")
                .to_ascii_lowercase();
            map.insert(key, v.clone());
        }
        json_out(st, &Value::Object(map));
        return;
    }
    for (label, text, _) in rows {
        st.print(&format!("{label:<width$}{text}\n"));
    }
}

fn iostats(st: &mut Ntpdc, io: &mut dyn Io, _args: &[Arg]) {
    let Ok(r) = st.doquery(io, simple(RequestCode::IoStats, InfoIoStats::SIZE)) else {
        return;
    };
    let Some(items) = decode::<InfoIoStats>(st, io, &r, true, false) else {
        return;
    };
    let Some(s) = items.first() else { return };
    let n = |v: u64| (v.to_string(), json!(v));
    report(
        st,
        22,
        &[
            row("time since reset:", n(s.timereset.into())),
            row("receive buffers:", n(s.totalrecvbufs.into())),
            row("free receive buffers:", n(s.freerecvbufs.into())),
            row("used receive buffers:", n(s.fullrecvbufs.into())),
            row("low water refills:", n(s.lowwater.into())),
            row("dropped packets:", n(s.dropped.into())),
            row("ignored packets:", n(s.ignored.into())),
            row("received packets:", n(s.received.into())),
            row("packets sent:", n(s.sent.into())),
            row("packets not sent:", n(s.notsent.into())),
            row("interrupts handled:", n(s.interrupts.into())),
            row("received by int:", n(s.int_received.into())),
        ],
    );
}

fn row(label: &'static str, (text, v): (String, Value)) -> (&'static str, String, Value) {
    (label, text, v)
}

fn memstats(st: &mut Ntpdc, io: &mut dyn Io, _args: &[Arg]) {
    let Ok(r) = st.doquery(io, simple(RequestCode::MemStats, InfoMemStats::SIZE)) else {
        return;
    };
    let Some(items) = decode::<InfoMemStats>(st, io, &r, true, false) else {
        return;
    };
    let Some(m) = items.first() else { return };
    let n = |v: u64| (v.to_string(), json!(v));
    let rows = [
        row("time since reset:", n(m.timereset.into())),
        row("total peer memory:", n(m.totalpeermem.into())),
        row("free peer memory:", n(m.freepeermem.into())),
        row("calls to findpeer:", n(m.findpeer_calls.into())),
        row("new peer allocations:", n(m.allocations.into())),
        row("peer demobilizations:", n(m.demobilizations.into())),
    ];
    if st.json {
        let mut rows = rows.to_vec();
        rows.push((
            "hash table counts:",
            String::new(),
            json!(m.hashcount.to_vec()),
        ));
        report(st, 22, &rows);
        return;
    }
    report(st, 22, &rows);
    let mut o = String::from("hash table counts:   ");
    for (i, c) in m.hashcount.iter().enumerate() {
        o += &format!("{c:4}");
        if i % 8 == 7 && i != m.hashcount.len() - 1 {
            o += "\n                     ";
        }
    }
    o += "\n";
    st.print(&o);
}

fn timerstats(st: &mut Ntpdc, io: &mut dyn Io, _args: &[Arg]) {
    let Ok(r) = st.doquery(io, simple(RequestCode::TimerStats, InfoTimerStats::SIZE)) else {
        return;
    };
    let Some(items) = decode::<InfoTimerStats>(st, io, &r, true, false) else {
        return;
    };
    let Some(t) = items.first() else { return };
    let n = |v: u32| (v.to_string(), json!(v));
    report(
        st,
        19,
        &[
            row("time since reset:", n(t.timereset)),
            row("alarms handled:", n(t.alarms)),
            row("alarm overruns:", n(t.overflows)),
            row("calls to transmit:", n(t.xmtcalls)),
        ],
    );
}

fn reslist(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    let Ok(r) = st.doquery(io, simple(RequestCode::GetRestrict, InfoRestrict::SIZE)) else {
        return;
    };
    let old = r.implementation != ntp_wire::mode7::Implementation::Xntpd;
    let Some(items) = decode::<InfoRestrict>(st, io, &r, false, true) else {
        return;
    };
    if !st.json {
        st.print("   address          mask            count        flags\n");
        st.print("=====================================================================\n");
    }
    let mut rows = Vec::new();
    const MFLAGS: [(u16, &str); 3] = [
        (0x2000, "ntpport"),
        (0x1000, "interface"),
        (0x4000, "source"),
    ];
    const V2: [(u16, &str); 9] = [
        (0x001, "ignore"),
        (0x002, "noserve"),
        (0x004, "notrust"),
        (0x008, "noquery"),
        (0x010, "nomodify"),
        (0x020, "nopeer"),
        (0x040, "notrap"),
        (0x080, "lptrap"),
        (0x100, "limited"),
    ];
    const V3: [(u16, &str); 12] = [
        (0x0001, "ignore"),
        (0x0002, "noserve"),
        (0x0004, "notrust"),
        (0x0080, "noquery"),
        (0x0100, "nomodify"),
        (0x0010, "nopeer"),
        (0x0200, "notrap"),
        (0x0400, "lptrap"),
        (0x0040, "limited"),
        (0x0008, "version"),
        (0x0800, "kod"),
        (0x2000, "flake"),
    ];
    for rl in &items {
        let v6 = rl.v6_flag != 0;
        let addr = if v6 || rl.mask == Ipv4Addr::BROADCAST {
            st.nntohost(io, rl.address())
        } else {
            rl.address().to_string()
        };
        let mask = rl.netmask().to_string();
        let mut words: Vec<&str> = MFLAGS
            .iter()
            .filter(|(b, _)| rl.mflags & b != 0)
            .map(|(_, w)| *w)
            .collect();
        let table: &[(u16, &str)] = if old { &V2 } else { &V3 };
        words.extend(
            table
                .iter()
                .filter(|(b, _)| rl.rflags & b != 0)
                .map(|(_, w)| *w),
        );
        let flags = if words.is_empty() {
            "none".to_string()
        } else {
            words.join(", ")
        };
        if !family_ok(args, v6) {
            continue;
        }
        if st.json {
            rows.push(json!({"address": addr, "mask": mask, "count": rl.count, "flags": words}));
        } else {
            st.print(&format!(
                "{addr:<15.15} {mask:<15.15} {:9}  {flags}\n",
                rl.count
            ));
        }
    }
    if st.json {
        json_out(st, &Value::Array(rows));
    }
}

fn pick(v6_flag: u32, v4: Ipv4Addr, v6: Ipv6Addr) -> IpAddr {
    if v6_flag != 0 {
        IpAddr::V6(v6)
    } else {
        IpAddr::V4(v4)
    }
}

fn monlist(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    let version = args.first().map(|a| a.ival).unwrap_or(-1);
    let code = if version == 1 || version == -1 {
        RequestCode::MonGetList1
    } else {
        RequestCode::MonGetList
    };
    let mut q = simple(code, InfoMonitor1::SIZE);
    if version < 0 {
        q.quiet.push(InfoError::Req);
    }
    let r = match st.doquery(io, q) {
        Ok(r) => r,
        Err(Some(ntp_control::mode7::client::QueryError::Server(InfoError::Req)))
            if version < 0 =>
        {
            match st.doquery(io, simple(RequestCode::MonGetList, InfoMonitor::SIZE)) {
                Ok(r) => r,
                Err(_) => return,
            }
        }
        Err(_) => return,
    };
    if !checkitems(st, r.nitems) {
        return;
    }
    if r.item_size == InfoMonitor1::SIZE || r.item_size == InfoMonitor1::TRUNCATED_SIZE {
        let Ok(items) = InfoMonitor1::decode_all(&r.data, r.item_size) else {
            return;
        };
        st.print(
            "remote address          port local address      count m ver rstr avgint  lstint\n",
        );
        st.print(
            "===============================================================================\n",
        );
        for m in items.iter().filter(|m| family_ok(args, m.v6_flag != 0)) {
            let host = st.nntohost(io, pick(m.v6_flag, m.addr, m.addr6));
            let local = pick(m.v6_flag, m.daddr, m.daddr6);
            st.print(&format!(
                "{host:<22.22} {:5} {local:<15} {:8} {:1} {:1} {:6x} {:6} {:7}\n",
                m.port, m.count, m.mode, m.version, m.restr, m.avg_int, m.last_int
            ));
        }
    } else if r.item_size == InfoMonitor::SIZE || r.item_size == InfoMonitor::TRUNCATED_SIZE {
        let Ok(items) = InfoMonitor::decode_all(&r.data, r.item_size) else {
            return;
        };
        st.print("     address               port     count mode ver rstr avgint  lstint\n");
        st.print(
            "===============================================================================\n",
        );
        for m in items.iter().filter(|m| family_ok(args, m.v6_flag != 0)) {
            let host = st.nntohost(io, pick(m.v6_flag, m.addr, m.addr6));
            st.print(&format!(
                "{host:<25.25} {:5} {:9} {:4} {:2} {:9x} {:9} {:9}\n",
                m.port, m.count, m.mode, m.version, m.restr, m.avg_int, m.last_int
            ));
        }
    } else {
        wrong_size(io, r.item_size, InfoMonitor::SIZE);
    }
}

fn authinfo(st: &mut Ntpdc, io: &mut dyn Io, _args: &[Arg]) {
    let Ok(r) = st.doquery(io, simple(RequestCode::AuthInfo, InfoAuth::SIZE)) else {
        return;
    };
    let Some(items) = decode::<InfoAuth>(st, io, &r, true, false) else {
        return;
    };
    let Some(a) = items.first() else { return };
    let n = |v: u32| (v.to_string(), json!(v));
    report(
        st,
        22,
        &[
            row("time since reset:", n(a.timereset)),
            row("stored keys:", n(a.numkeys)),
            row("free keys:", n(a.numfreekeys)),
            row("key lookups:", n(a.keylookups)),
            row("keys not found:", n(a.keynotfound)),
            row("uncached keys:", n(a.keyuncached)),
            row("encryptions:", n(a.encryptions)),
            row("decryptions:", n(a.decryptions)),
            row("expired keys:", n(a.expired)),
        ],
    );
}

fn traps(st: &mut Ntpdc, io: &mut dyn Io, _args: &[Arg]) {
    let Ok(r) = st.doquery(io, simple(RequestCode::Traps, InfoTrap::SIZE)) else {
        return;
    };
    let Some(items) = decode::<InfoTrap>(st, io, &r, false, true) else {
        return;
    };
    const TRAP_CONFIGURED: u32 = 0x4;
    const TRAP_NONPRIO: u32 = 0x2;
    for (i, t) in items.iter().enumerate() {
        let trap = pick(t.v6_flag, t.trap_address, t.trap_address6);
        let local = pick(t.v6_flag, t.local_address, t.local_address6);
        let mut o = format!(
            "{}address {trap}, port {}\n",
            if i == 0 { "" } else { "\n" },
            t.trap_port
        );
        let iface = if t.local_address.is_unspecified() {
            "wildcard".to_string()
        } else {
            local.to_string()
        };
        o += &format!("interface: {iface}, ");
        o += if t.flags & TRAP_CONFIGURED != 0 {
            "configured\n"
        } else if t.flags & TRAP_NONPRIO != 0 {
            "low priority\n"
        } else {
            "normal priority\n"
        };
        o += &format!(
            "set for {} secs, last set {} secs ago\n",
            t.origtime, t.settime
        );
        o += &format!("sequence {}, number of resets {}\n", t.sequence, t.resets);
        st.print(&o);
    }
}

fn ctlstats(st: &mut Ntpdc, io: &mut dyn Io, _args: &[Arg]) {
    let Ok(r) = st.doquery(io, simple(RequestCode::GetCtlStats, InfoControl::SIZE)) else {
        return;
    };
    let Some(items) = decode::<InfoControl>(st, io, &r, true, false) else {
        return;
    };
    let Some(c) = items.first() else { return };
    let n = |v: u32| (v.to_string(), json!(v));
    report(
        st,
        24,
        &[
            row("time since reset:", n(c.ctltimereset)),
            row("requests received:", n(c.numctlreq)),
            row("responses sent:", n(c.numctlresponses)),
            row("fragments sent:", n(c.numctlfrags)),
            row("async messages sent:", n(c.numasyncmsgs)),
            row("error msgs sent:", n(c.numctlerrors)),
            row("total bad pkts:", n(c.numctlbadpkts)),
            row("packet too short:", n(c.numctltooshort)),
            row("response on input:", n(c.numctlinputresp)),
            row("fragment on input:", n(c.numctlinputfrag)),
            row("error set on input:", n(c.numctlinputerr)),
            row("bad offset on input:", n(c.numctlbadoffset)),
            row("bad version packets:", n(c.numctlbadversion)),
            row("data in pkt too short:", n(c.numctldatatooshort)),
            row("unknown op codes:", n(c.numctlbadop)),
        ],
    );
}

fn clockstat(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    let addrs: Vec<Ipv4Addr> = args
        .iter()
        .filter_map(|a| match a.addr {
            Some(IpAddr::V4(v)) => Some(v),
            _ => None,
        })
        .take(8)
        .collect();
    let mut q = simple(RequestCode::GetClockInfo, InfoClock::SIZE);
    let items: Vec<u8> = addrs
        .iter()
        .flat_map(|a| ClockAddr { addr: *a }.to_vec(ItemLayout::Full))
        .collect();
    q.nitems = addrs.len() as u16;
    q.items_full = (ClockAddr::SIZE as u16, items.clone());
    q.items_truncated = (ClockAddr::SIZE as u16, items);
    let Ok(r) = st.doquery(io, q) else {
        return;
    };
    let Some(items) = decode::<InfoClock>(st, io, &r, false, false) else {
        return;
    };
    let mut left = items.len();
    for c in &items {
        left -= 1;
        let mut o = format!("clock address:        {}\n", c.clockadr);
        o += &format!(
            "clock type:           {}\n",
            crate::fmt::clock_type(c.clock_type)
        );
        o += &format!("last event:           {}\n", c.lastevent);
        o += &format!("current status:       {}\n", c.currentstatus);
        o += &format!("number of polls:      {}\n", c.polls);
        o += &format!("no response to poll:  {}\n", c.noresponse);
        o += &format!("bad format responses: {}\n", c.badformat);
        o += &format!("bad data responses:   {}\n", c.baddata);
        o += &format!("running time:         {}\n", c.timestarted);
        o += &format!("fudge time 1:         {}\n", lfptoa(c.fudgetime1.0, 6));
        o += &format!("fudge time 2:         {}\n", lfptoa(c.fudgetime2.0, 6));
        o += &format!("stratum:              {}\n", c.fudgeval1 as u32);
        o += &format!("reference ID:         {}\n", refid_string(c.fudgeval2, 0));
        o += &format!("fudge flags:          0x{:x}\n", c.flags);
        if left > 0 {
            o += "\n";
        }
        st.print(&o);
    }
}

fn kerninfo(st: &mut Ntpdc, io: &mut dyn Io, _args: &[Arg]) {
    let Ok(r) = st.doquery(io, simple(RequestCode::GetKernel, InfoKernel::SIZE)) else {
        return;
    };
    let Some(items) = decode::<InfoKernel>(st, io, &r, true, false) else {
        return;
    };
    let Some(k) = items.first() else { return };
    const STA_NANO: u16 = 0x2000;
    let unano = if k.status & STA_NANO != 0 { 1e-9 } else { 1e-6 };
    let usec = 1e-6;
    if st.json {
        let v = json!({
            "pll_offset": f64::from(k.offset) * unano,
            "pll_frequency": f64::from(k.freq) / 65536.0,
            "maximum_error": f64::from(k.maxerror as u32) * usec,
            "estimated_error": f64::from(k.esterror as u32) * usec,
            "status": k.status,
            "pll_time_constant": k.constant,
            "precision": f64::from(k.precision as u32) * usec,
            "frequency_tolerance": f64::from(k.tolerance) / 65536.0,
        });
        json_out(st, &v);
        return;
    }
    const STATUS: [(u16, &str); 16] = [
        (0x0001, " pll"),
        (0x0002, " ppsfreq"),
        (0x0004, " ppstime"),
        (0x0008, " fll"),
        (0x0010, " ins"),
        (0x0020, " del"),
        (0x0040, " unsync"),
        (0x0080, " freqhold"),
        (0x0100, " ppssignal"),
        (0x0200, " ppsjitter"),
        (0x0400, " ppswander"),
        (0x0800, " ppserror"),
        (0x1000, " clockerr"),
        (0x2000, " nano"),
        (0x4000, " mode=fll"),
        (0x8000, " src=B"),
    ];
    let mut o = String::new();
    o += &format!(
        "pll offset:           {} s\n",
        g(f64::from(k.offset) * unano)
    );
    o += &format!("pll frequency:        {} ppm\n", fptoa(k.freq, 3));
    o += &format!(
        "maximum error:        {} s\n",
        g(f64::from(k.maxerror as u32) * usec)
    );
    o += &format!(
        "estimated error:      {} s\n",
        g(f64::from(k.esterror as u32) * usec)
    );
    o += &format!("status:               {:04x} ", k.status);
    for (bit, w) in STATUS {
        if k.status & bit != 0 {
            o += w;
        }
    }
    o += "\n";
    o += &format!("pll time constant:    {}\n", k.constant as u32);
    o += &format!(
        "precision:            {} s\n",
        g(f64::from(k.precision as u32) * usec)
    );
    o += &format!("frequency tolerance:  {} ppm\n", fptoa(k.tolerance, 0));
    if k.shift != 0 {
        o += &format!("pps frequency:        {} ppm\n", fptoa(k.ppsfreq, 3));
        o += &format!("pps stability:        {} ppm\n", fptoa(k.stabil, 3));
        o += &format!(
            "pps jitter:           {} s\n",
            g(f64::from(k.jitter as u32) * unano)
        );
        o += &format!(
            "calibration interval: {} s\n",
            1i64.checked_shl(u32::from(k.shift)).unwrap_or(0) as i32
        );
        o += &format!("calibration cycles:   {}\n", k.calcnt as u32);
        o += &format!("jitter exceeded:      {}\n", k.jitcnt as u32);
        o += &format!("stability exceeded:   {}\n", k.stbcnt as u32);
        o += &format!("calibration errors:   {}\n", k.errcnt as u32);
    }
    st.print(&o);
}

fn ifstats(st: &mut Ntpdc, io: &mut dyn Io, _args: &[Arg]) {
    iflist(st, io, RequestCode::IfStats);
}

fn ifreload(st: &mut Ntpdc, io: &mut dyn Io, _args: &[Arg]) {
    iflist(st, io, RequestCode::IfReload);
}

fn iflist(st: &mut Ntpdc, io: &mut dyn Io, code: RequestCode) {
    let mut q = simple(code, InfoIfStats::SIZE);
    q.auth = true;
    let Ok(r) = st.doquery(io, q) else {
        return;
    };
    let Some(items) = decode::<InfoIfStats>(st, io, &r, false, false) else {
        return;
    };
    if st.json {
        let rows: Vec<Value> = items
            .iter()
            .map(|s| {
                json!({
                    "index": s.ifnum,
                    "action": s.action,
                    "address": s.address().to_string(),
                    "mask": s.mask().to_string(),
                    "broadcast": s.broadcast().to_string(),
                    "enabled": s.ignore_packets == 0,
                    "name": s.name_str(),
                    "flags": s.flags,
                    "last_ttl": s.last_ttl,
                    "multicast_addresses": s.num_mcast,
                    "received": s.received,
                    "sent": s.sent,
                    "dropped": s.notsent,
                    "scope_id": s.scopeid,
                    "peers": s.peercnt,
                    "uptime": s.uptime,
                })
            })
            .collect();
        json_out(st, &Value::Array(rows));
        return;
    }
    st.print(&format!(
        "{:>2} {} {:>48} {} {} {:>12.12} {:>3} {:>3} {:>2} {:>5} {:>5} {:>5} {:>2} {:>3} {:>7}\n",
        "#",
        'A',
        "Address/Mask/Broadcast",
        'T',
        'E',
        "IF name",
        "Flg",
        "TL",
        "#M",
        "recv",
        "sent",
        "drop",
        "S",
        "PC",
        "uptime"
    ));
    st.print(&format!("{}\n", "=".repeat(114)));
    const INT_BCASTOPEN: i32 = 0x020;
    for s in &items {
        let action = match s.action {
            1 => '.',
            2 => '+',
            3 => '-',
            _ => '?',
        };
        // `%lu` of values that went through ntohl: negative i32s print as 64-bit unsigned.
        let lu = |v: i32| u64::from(v as u32);
        st.print(&format!(
            "{:2} {action} {:>48} A {} {:>12.12} {:03x} {:3} {:2} {:5} {:5} {:5} {:2} {:3} {:7}\n",
            s.ifnum as i32,
            s.address().to_string(),
            if s.ignore_packets != 0 { 'D' } else { 'E' },
            s.name_str(),
            lu(s.flags),
            lu(s.last_ttl),
            lu(s.num_mcast),
            lu(s.received),
            lu(s.sent),
            lu(s.notsent),
            s.scopeid,
            s.peercnt,
            lu(s.uptime),
        ));
        st.print(&format!("     {:>48} M\n", s.mask().to_string()));
        if s.v6_flag == 0 && s.flags & INT_BCASTOPEN != 0 {
            st.print(&format!("     {:>48} B\n", s.broadcast().to_string()));
        }
    }
}
