//! Shared helpers for the mode 6 responder tests: the golden-vector loader, a fake daemon
//! (`ControlData`), model builders that take their values from a captured reply, and a noise
//! source that replays the field order and noise items of a capture.
//!
//! Included by the `mode6_responder_*` tests with `#[path]`; as a test target of its own it
//! has no tests.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use ntp_control::mode6::responder::{ControlData, RequestMeta, Restrictions, WriteRefused};
use ntp_control::mode6::vars::{
    ClockVars, InterfaceEntry, KernelPps, KernelVars, MruEntry, MruList, NoiseItem, PeerVars,
    ResponseNoise, RestrictAccess, RestrictEntry, RestrictMatch, SystemVars,
};
use ntp_wire::mode6::{
    decode_assoc_list, parse_varlist, AssocStatus, ClockStatus, ControlHeader, PeerStatus,
    SystemStatus,
};
use ntp_wire::{MacAlgorithm, SymmetricKey};

/// One captured datagram.
#[derive(Debug, Clone)]
pub struct Datagram {
    /// True when sent by the server.
    pub response: bool,
    /// The UDP payload.
    pub payload: Vec<u8>,
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Every datagram of `classic-4.2.8/<rel>`.
pub fn vector(rel: &str) -> Vec<Datagram> {
    vector_at(&format!("classic-4.2.8/{rel}"))
}

/// Every datagram of `<rel>` (relative to `testdata/vectors`).
pub fn vector_at(rel: &str) -> Vec<Datagram> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/vectors")
        .join(rel)
        .join("datagrams.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    json["datagrams"]
        .as_array()
        .expect("datagrams")
        .iter()
        .map(|d| Datagram {
            response: d["dir"] == "response",
            payload: hex(d["payload_hex"].as_str().expect("payload_hex")),
        })
        .collect()
}

/// Request/response exchanges of a vector: each request with the responses that follow it.
pub fn exchanges(rel: &str) -> Vec<(Vec<u8>, Vec<Vec<u8>>)> {
    exchanges_at(&format!("classic-4.2.8/{rel}"))
}

/// As [`exchanges`], for a path relative to `testdata/vectors`.
pub fn exchanges_at(rel: &str) -> Vec<(Vec<u8>, Vec<Vec<u8>>)> {
    let mut out: Vec<(Vec<u8>, Vec<Vec<u8>>)> = Vec::new();
    for d in vector_at(rel) {
        if d.response {
            out.last_mut().expect("request first").1.push(d.payload);
        } else {
            out.push((d.payload, Vec::new()));
        }
    }
    out
}

/// The data octets of a datagram.
pub fn data_of(dgram: &[u8]) -> &[u8] {
    let h = ControlHeader::decode(dgram).expect("header");
    &dgram[12..12 + usize::from(h.count)]
}

/// The whole reply data of a fragment series, in order.
pub fn joined_data(dgrams: &[Vec<u8>]) -> Vec<u8> {
    dgrams.iter().flat_map(|d| data_of(d).to_vec()).collect()
}

/// `(name, value, quoted)` items of reply text.
pub fn items(data: &[u8]) -> Vec<(String, String)> {
    parse_varlist(data)
        .expect("parses")
        .into_iter()
        .map(|i| (i.name, i.value.unwrap_or_default()))
        .collect()
}

/// The loopback meta every golden exchange ran with (`127.0.0.1`).
pub fn loopback_meta(monotonic: Duration) -> RequestMeta {
    RequestMeta {
        source: "127.0.0.1:41976".parse().unwrap(),
        loopback: true,
        restrict: Restrictions::default(),
        monotonic,
    }
}

/// A remote, unrestricted source (the daemon let queries through).
pub fn remote_meta(monotonic: Duration) -> RequestMeta {
    RequestMeta {
        source: "192.0.2.7:40000".parse().unwrap(),
        loopback: false,
        restrict: Restrictions::default(),
        monotonic,
    }
}

/// The key of the `*-auth` vectors (`1 MD5 vectorkey1`).
pub fn vector_key() -> SymmetricKey {
    SymmetricKey::new(1, MacAlgorithm::Md5, b"vectorkey1")
}

/// A fake daemon.
#[derive(Debug, Clone, Default)]
pub struct Fake {
    /// System variables.
    pub sys: SystemVars,
    /// READSTAT list.
    pub assocs: Vec<AssocStatus>,
    /// Peer variables.
    pub peers: Vec<PeerVars>,
    /// Clock variables by association.
    pub clocks: Vec<(u16, ClockVars)>,
    /// MRU list.
    pub mru: MruList,
    /// ifstats entries.
    pub interfaces: Vec<InterfaceEntry>,
    /// reslist entries.
    pub restrictions: Vec<RestrictEntry>,
    /// Trusted keys.
    pub keys: Vec<SymmetricKey>,
    /// The controlkey.
    pub control_key: Option<u32>,
    /// Whether `write_leap` succeeds.
    pub allow_leap_write: bool,
    /// Every accepted leap write.
    pub leap_writes: Vec<u8>,
    /// Associations read with authentication.
    pub events_read: Vec<u16>,
}

impl ControlData for Fake {
    fn system_status(&self) -> SystemStatus {
        self.sys.status
    }
    fn system(&self) -> SystemVars {
        self.sys.clone()
    }
    fn associations(&self) -> Vec<AssocStatus> {
        self.assocs.clone()
    }
    fn peer(&self, assoc_id: u16) -> Option<PeerVars> {
        self.peers.iter().find(|p| p.assoc_id == assoc_id).cloned()
    }
    fn clock(&self, assoc_id: u16) -> Option<ClockVars> {
        self.clocks
            .iter()
            .find(|(id, _)| *id == assoc_id)
            .map(|(_, c)| c.clone())
    }
    fn mru(&self) -> MruList {
        self.mru.clone()
    }
    fn interfaces(&self) -> Vec<InterfaceEntry> {
        self.interfaces.clone()
    }
    fn restrictions(&self) -> Vec<RestrictEntry> {
        self.restrictions.clone()
    }
    fn trusted_key(&self, key_id: u32, _source: IpAddr) -> Option<SymmetricKey> {
        self.keys.iter().find(|k| k.id == key_id).cloned()
    }
    fn control_key(&self) -> Option<u32> {
        self.control_key
    }
    fn write_leap(&mut self, leap: u8) -> Result<(), WriteRefused> {
        if self.allow_leap_write {
            self.leap_writes.push(leap);
            self.sys.leap = leap;
            self.sys.status.leap = leap;
            Ok(())
        } else {
            Err(WriteRefused)
        }
    }
    fn events_read(&mut self, assoc_id: u16) {
        self.events_read.push(assoc_id);
    }
}

/// Milliseconds text to seconds (the model holds seconds, the wire shows ms).
pub fn ms(v: &str) -> f64 {
    v.parse::<f64>().expect("number") / 1e3
}

fn num<T: std::str::FromStr>(v: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    v.parse().expect("number")
}

fn hexnum(v: &str) -> u64 {
    u64::from_str_radix(v.trim_start_matches("0x"), 16).expect("hex")
}

/// `0x%08x.%08x` to a raw timestamp.
pub fn ts(v: &str) -> u64 {
    let (hi, lo) = v
        .trim_start_matches("0x")
        .split_once('.')
        .expect("timestamp");
    (u64::from_str_radix(hi, 16).unwrap() << 32) | u64::from_str_radix(lo, 16).unwrap()
}

/// A refid from its text: a dotted address, or up to four characters.
pub fn refid(v: &str) -> [u8; 4] {
    if let Ok(a) = v.parse::<Ipv4Addr>() {
        return a.octets();
    }
    let mut r = [0u8; 4];
    for (d, s) in r.iter_mut().zip(v.bytes()) {
        *d = s;
    }
    r
}

/// `YYYYMMDDHHMM` back to Unix seconds.
fn filestamp(v: &str) -> i64 {
    let y: i64 = v[0..4].parse().unwrap();
    let m: i64 = v[4..6].parse().unwrap();
    let d: i64 = v[6..8].parse().unwrap();
    let hh: i64 = v[8..10].parse().unwrap();
    let mm: i64 = v[10..12].parse().unwrap();
    // Days from civil (Howard Hinnant).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hh * 3600 + mm * 60
}

fn kernel_bits(words: &str) -> u32 {
    let table = [
        "pll",
        "ppsfreq",
        "ppstime",
        "fll",
        "ins",
        "del",
        "unsync",
        "freqhold",
        "ppssignal",
        "ppsjitter",
        "ppswander",
        "ppserror",
        "clockerr",
        "nano",
        "mode=fll",
        "src=B",
    ];
    words
        .split_whitespace()
        .map(|w| {
            1u32 << table
                .iter()
                .position(|t| *t == w)
                .expect("known kernel word")
        })
        .sum()
}

/// Fill system variables from the items of a captured reply.
pub fn apply_sys(s: &mut SystemVars, pairs: &[(String, String)]) {
    let pps_zero = pairs
        .iter()
        .filter(|(n, _)| n.starts_with("kpps"))
        .all(|(_, v)| v == "0");
    for (n, v) in pairs {
        let v = v.as_str();
        let k = s.kernel.get_or_insert_with(KernelVars::default);
        let pps = k.pps.get_or_insert_with(KernelPps::default);
        match n.as_str() {
            "version" => s.version = v.to_owned(),
            "processor" => s.processor = v.to_owned(),
            "system" => s.system = v.to_owned(),
            "leap" => s.leap = num(v),
            "stratum" => s.stratum = num(v),
            "precision" => s.precision = num(v),
            "rootdelay" => s.root_delay = ms(v),
            "rootdisp" => s.root_dispersion = ms(v),
            "refid" => s.refid = refid(v),
            "reftime" => s.reftime = ts(v),
            "clock" => s.clock = ts(v),
            "peer" => s.peer = num(v),
            "tc" => s.poll = num(v),
            "mintc" => s.min_poll = num(v),
            "offset" => s.offset = ms(v),
            "frequency" => s.frequency_ppm = num(v),
            "sys_jitter" => s.sys_jitter = ms(v),
            "clk_jitter" => s.clk_jitter = ms(v),
            "clk_wander" => s.clk_wander_ppm = num(v),
            "tai" => s.tai = num(v),
            "leapsec" => s.leapsec = Some(filestamp(v)),
            "expire" => s.expire = Some(filestamp(v)),
            "peeradr" => s.peer_addr = Some(num(v)),
            "peermode" => s.peer_mode = num(v),
            "bcastdelay" => s.bcast_delay = ms(v),
            "authdelay" => s.auth_delay = ms(v),
            "mru_enabled" => s.mon.enabled = hexnum(v) as u32,
            "mru_depth" => s.mon.depth = num(v),
            "mru_deepest" => s.mon.deepest = num(v),
            "mru_mindepth" => s.mon.mindepth = num(v),
            "mru_maxage" => s.mon.maxage = num(v),
            "mru_maxdepth" => s.mon.maxdepth = num(v),
            "mru_mem" => s.mon.mem_kib = num(v),
            "mru_maxmem" => s.mon.maxmem_kib = num(v),
            "ss_uptime" => s.sys_stats.uptime = num(v),
            "ss_reset" => s.sys_stats.reset = num(v),
            "ss_received" => s.sys_stats.received = num(v),
            "ss_thisver" => s.sys_stats.thisver = num(v),
            "ss_oldver" => s.sys_stats.oldver = num(v),
            "ss_badformat" => s.sys_stats.badformat = num(v),
            "ss_badauth" => s.sys_stats.badauth = num(v),
            "ss_declined" => s.sys_stats.declined = num(v),
            "ss_restricted" => s.sys_stats.restricted = num(v),
            "ss_limited" => s.sys_stats.limited = num(v),
            "ss_kodsent" => s.sys_stats.kodsent = num(v),
            "ss_processed" => s.sys_stats.processed = num(v),
            "authkeys" => s.auth.keys = num(v),
            "authfreek" => s.auth.freek = num(v),
            "authklookups" => s.auth.klookups = num(v),
            "authknotfound" => s.auth.knotfound = num(v),
            "authkuncached" => s.auth.kuncached = num(v),
            "authkexpired" => s.auth.kexpired = num(v),
            "authencrypts" => s.auth.encrypts = num(v),
            "authdecrypts" => s.auth.decrypts = num(v),
            "authreset" => s.auth.reset = num(v),
            "koffset" => k.offset_ms = num(v),
            "kfreq" => k.freq_ppm = num(v),
            "kmaxerr" => k.max_error_ms = num(v),
            "kesterr" => k.est_error_ms = num(v),
            "kstflags" => k.status = kernel_bits(v),
            "ktimeconst" => k.time_constant = num(v),
            "kprecis" => k.precision_ms = num(v),
            "kfreqtol" => k.freq_tolerance_ppm = num(v),
            "kppsfreq" => pps.freq_ppm = num(v),
            "kppsstab" => pps.stability_ppm = num(v),
            "kppsjitter" => pps.jitter_ms = num(v),
            "kppscalibdur" => pps.calib_duration = num(v),
            "kppscalibs" => pps.calibrations = num(v),
            "kppscaliberrs" => pps.calib_errors = num(v),
            "kppsjitexc" => pps.jitter_exceeded = num(v),
            "kppsstbexc" => pps.stability_exceeded = num(v),
            "iostats_reset" => s.io.reset = num(v),
            "total_rbuf" => s.io.total_rbuf = num(v),
            "free_rbuf" => s.io.free_rbuf = num(v),
            "used_rbuf" => s.io.used_rbuf = num(v),
            "rbuf_lowater" => s.io.rbuf_lowater = num(v),
            "io_dropped" => s.io.dropped = num(v),
            "io_ignored" => s.io.ignored = num(v),
            "io_received" => s.io.received = num(v),
            "io_sent" => s.io.sent = num(v),
            "io_sendfailed" => s.io.send_failed = num(v),
            "io_wakeups" => s.io.wakeups = num(v),
            "io_goodwakeups" => s.io.good_wakeups = num(v),
            "timerstats_reset" => s.timer.reset = num(v),
            "timer_overruns" => s.timer.overruns = num(v),
            "timer_xmts" => s.timer.xmts = num(v),
            other => panic!("no model field for system variable {other}"),
        }
    }
    if let Some(k) = s.kernel.as_mut() {
        if pps_zero {
            k.pps = None;
        }
    }
}

/// Filter registers: ` %.2f` ms values back to seconds.
fn filter(v: &str) -> [f64; 8] {
    let vals: Vec<f64> = v.split_whitespace().map(ms).collect();
    vals.try_into().expect("eight values")
}

/// Fill peer variables from the items of a captured reply.
pub fn apply_peer(p: &mut PeerVars, pairs: &[(String, String)]) {
    let mut src_ip = p.srcadr.ip();
    let mut src_port = p.srcadr.port();
    let mut dst: Option<(IpAddr, u16)> = p.dstadr.map(|a| (a.ip(), a.port()));
    for (n, v) in pairs {
        let v = v.as_str();
        match n.as_str() {
            "srcadr" => src_ip = num(v),
            "srcport" => src_port = num(v),
            "dstadr" => dst = Some((num(v), dst.map_or(0, |d| d.1))),
            "dstport" => {
                dst = Some((
                    dst.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |d| d.0),
                    num(v),
                ))
            }
            "leap" => p.leap = num(v),
            "stratum" => p.stratum = num(v),
            "precision" => p.precision = num(v),
            "rootdelay" => p.root_delay = ms(v),
            "rootdisp" => p.root_dispersion = ms(v),
            "refid" => p.refid = refid(v),
            "reftime" => p.reftime = ts(v),
            "rec" => p.rec = ts(v),
            "reach" => p.reach = hexnum(v) as u8,
            "unreach" => p.unreach = num(v),
            "hmode" => p.hmode = num(v),
            "pmode" => p.pmode = num(v),
            "hpoll" => p.hpoll = num(v),
            "ppoll" => p.ppoll = num(v),
            "headway" => p.headway = num(v),
            "flash" => p.flash = hexnum(v) as u16,
            "keyid" => p.keyid = num(v),
            "ttl" => p.ttl = Some(num(v)),
            "offset" => p.offset = ms(v),
            "delay" => p.delay = ms(v),
            "dispersion" => p.dispersion = ms(v),
            "jitter" => p.jitter = ms(v),
            "xleave" => p.xleave = ms(v),
            "filtdelay" => p.filter_delay = filter(v),
            "filtoffset" => p.filter_offset = filter(v),
            "filtdisp" => p.filter_disp = filter(v),
            "timer" => p.timer = num(v),
            "received" => p.received = num(v),
            "sent" => p.sent = num(v),
            "timerec" => p.timerec = num(v),
            "timereach" => p.timereach = num(v),
            "badauth" => p.badauth = num(v),
            "bogusorg" => p.bogusorg = num(v),
            "oldpkt" => p.oldpkt = num(v),
            "seldisp" => p.seldisp = num(v),
            "selbroken" => p.selbroken = num(v),
            "candidate" => p.candidate = num(v),
            other => panic!("no model field for peer variable {other}"),
        }
    }
    p.srcadr = SocketAddr::new(src_ip, src_port);
    p.dstadr = dst.map(|(ip, port)| SocketAddr::new(ip, port));
    // Classic treats 127.127.t.u as a reference clock.
    p.refclock = matches!(src_ip, IpAddr::V4(a) if a.octets()[..2] == [127, 127]);
}

/// Fill clock variables from the items of a captured reply.
pub fn apply_clock(c: &mut ClockVars, pairs: &[(String, String)]) {
    for (n, v) in pairs {
        let v = v.as_str();
        match n.as_str() {
            "device" => c.device = v.to_owned(),
            "timecode" => c.timecode = v.to_owned(),
            "poll" => c.polls = num(v),
            "noreply" => c.noreply = num(v),
            "badformat" => c.badformat = num(v),
            "baddata" => c.baddata = num(v),
            "stratum" => c.stratum = Some(num(v)),
            "refid" => c.refid = Some(refid(v)),
            "flags" => c.flags = num(v),
            other => panic!("no model field for clock variable {other}"),
        }
    }
}

/// Split `name.N` into `(name, N)`.
pub fn indexed(name: &str) -> Option<(&str, u64)> {
    let (n, i) = name.rsplit_once('.')?;
    Some((n, i.parse().ok()?))
}

/// Noise that replays a capture: per entry the field order, and the noise items in order.
#[derive(Debug, Default)]
pub struct Replay {
    /// Field order per entry.
    pub orders: VecDeque<Vec<usize>>,
    /// Noise items in order.
    pub noise: VecDeque<NoiseItem>,
}

impl ResponseNoise for Replay {
    fn field_order(&mut self, order: &mut [usize]) {
        let o = self.orders.pop_front().expect("a recorded field order");
        assert_eq!(o.len(), order.len(), "field count");
        order.copy_from_slice(&o);
    }
    fn noise_item(&mut self) -> Option<NoiseItem> {
        Some(self.noise.pop_front().expect("a recorded noise item"))
    }
}

impl Replay {
    /// Record the order of the entry fields named in `fields` and every other `xyz.N` item
    /// (three characters) as noise, from captured reply items.
    pub fn from_items(pairs: &[(String, String)], fields: &[&str]) -> Replay {
        let mut r = Replay::default();
        let mut current: Option<u64> = None;
        for (n, v) in pairs {
            let Some((base, idx)) = indexed(n) else {
                continue;
            };
            if let Some(f) = fields.iter().position(|f| *f == base) {
                if current != Some(idx) || r.orders.back().is_some_and(|o| o.len() == fields.len())
                {
                    r.orders.push_back(Vec::new());
                    current = Some(idx);
                }
                r.orders.back_mut().unwrap().push(f);
            } else if base.len() == 3 && !["now"].contains(&base) {
                let tag: [u8; 3] = base.as_bytes().try_into().unwrap();
                r.noise.push_back(NoiseItem {
                    tag,
                    value: v.parse().expect("noise value"),
                });
            }
        }
        r
    }
}

/// MRU entry fields, in classic `send_mru_entry()` index order.
pub const MRU_FIELDS: [&str; 6] = ["addr", "last", "first", "ct", "mv", "rs"];
/// ifstats fields, in classic `send_ifstats_entry()` index order.
pub const IF_FIELDS: [&str; 12] = [
    "addr", "bcast", "en", "name", "flags", "tl", "mc", "rx", "tx", "txerr", "pc", "up",
];
/// reslist fields, in classic `send_restrict_entry()` index order.
pub const RES_FIELDS: [&str; 4] = ["addr", "mask", "hits", "flags"];

fn by_index(pairs: &[(String, String)]) -> std::collections::BTreeMap<u64, Vec<(String, String)>> {
    let mut m: std::collections::BTreeMap<u64, Vec<(String, String)>> = Default::default();
    for (n, v) in pairs {
        if let Some((base, i)) = indexed(n) {
            m.entry(i).or_default().push((base.to_owned(), v.clone()));
        }
    }
    m
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    &fields.iter().find(|(n, _)| n == name).expect(name).1
}

/// The MRU list of a captured READ_MRU reply.
pub fn mru_from_items(pairs: &[(String, String)]) -> MruList {
    let now = pairs
        .iter()
        .find(|(n, _)| n == "now")
        .map_or(0, |(_, v)| ts(v));
    let entries = by_index(pairs)
        .values()
        .filter(|f| f.iter().any(|(n, _)| n == "addr"))
        .map(|f| MruEntry {
            addr: num(field(f, "addr")),
            local: None,
            first: ts(field(f, "first")),
            last: ts(field(f, "last")),
            count: num(field(f, "ct")),
            mode_version: num(field(f, "mv")),
            restrict: hexnum(field(f, "rs")) as u32,
        })
        .collect();
    MruList { now, entries }
}

/// The interfaces of a captured ifstats reply.
pub fn interfaces_from_items(pairs: &[(String, String)]) -> Vec<InterfaceEntry> {
    by_index(pairs)
        .into_iter()
        .map(|(i, f)| InterfaceEntry {
            ifnum: i as u32,
            addr: num(field(&f, "addr")),
            bcast: Some(field(&f, "bcast")).filter(|b| !b.is_empty()).map(num),
            enabled: field(&f, "en") == "1",
            name: field(&f, "name").to_owned(),
            flags: hexnum(field(&f, "flags")) as u32,
            ttl: num(field(&f, "tl")),
            mcast_count: num(field(&f, "mc")),
            received: num(field(&f, "rx")),
            sent: num(field(&f, "tx")),
            send_failed: num(field(&f, "txerr")),
            peer_count: num(field(&f, "pc")),
            uptime: num(field(&f, "up")),
        })
        .collect()
}

/// Restriction flags from their classic words.
pub fn restrict_flags(words: &str) -> (RestrictMatch, RestrictAccess) {
    let mut m = RestrictMatch::default();
    let mut a = RestrictAccess::default();
    for w in words.split_whitespace() {
        match w {
            "ntpport" => m.ntpport = true,
            "interface" => m.interface = true,
            "source" => m.source = true,
            "ignore" => a.ignore = true,
            "noserve" => a.noserve = true,
            "notrust" => a.notrust = true,
            "version" => a.version = true,
            "nopeer" => a.nopeer = true,
            "noepeer" => a.noepeer = true,
            "limited" => a.limited = true,
            "noquery" => a.noquery = true,
            "nomodify" => a.nomodify = true,
            "notrap" => a.notrap = true,
            "lptrap" => a.lptrap = true,
            "kod" => a.kod = true,
            "mssntp" => a.mssntp = true,
            "flake" => a.flake = true,
            "nomrulist" => a.nomrulist = true,
            "serve" | "trust" | "peer" | "epeer" | "query" | "trap" => {}
            other => panic!("unknown restrict word {other}"),
        }
    }
    (m, a)
}

/// The restrictions of a captured reslist reply.
pub fn restrictions_from_items(pairs: &[(String, String)]) -> Vec<RestrictEntry> {
    by_index(pairs)
        .into_values()
        .map(|f| {
            let (match_flags, access) = restrict_flags(field(&f, "flags"));
            RestrictEntry {
                addr: num(field(&f, "addr")),
                mask: num(field(&f, "mask")),
                hits: num(field(&f, "hits")),
                match_flags,
                access,
            }
        })
        .collect()
}

/// Status words as the model holds them.
pub fn sys_status(word: u16) -> SystemStatus {
    SystemStatus::from_u16(word)
}

/// Peer status word of a reply header.
pub fn peer_status(word: u16) -> PeerStatus {
    PeerStatus::from_u16(word)
}

/// Clock status word of a reply header.
pub fn clock_status(word: u16) -> ClockStatus {
    ClockStatus::from_u16(word)
}

/// The association list of a captured READSTAT reply.
pub fn assoc_list(reply: &[u8]) -> Vec<AssocStatus> {
    decode_assoc_list(data_of(reply)).expect("assoc list")
}

/// A daemon with everything filled: system variables, five peers, a clock, an MRU list,
/// interfaces and restrictions taken from the classic captures; key 1 is the control key,
/// key 2 is trusted but not the control key.
pub fn rich_fake() -> Fake {
    let rv = exchanges("ntpq-c-rv");
    let mut f = Fake::default();
    f.sys.status = SystemStatus::from_u16(0x0616);
    apply_sys(&mut f.sys, &items(&joined_data(&rv[0].1)));
    let p = exchanges("ntpq-p");
    f.assocs = assoc_list(&p[0].1[0]);
    for (_, replies) in &p[1..] {
        let h = ControlHeader::decode(&replies[0]).unwrap();
        let mut peer = PeerVars {
            assoc_id: h.assoc_id,
            status: peer_status(h.status),
            ..PeerVars::default()
        };
        apply_peer(&mut peer, &items(&joined_data(replies)));
        f.peers.push(peer);
    }
    let cv = exchanges("ntpq-c-cv-10097");
    let mut c = ClockVars::default();
    apply_clock(&mut c, &items(&joined_data(&cv[0].1)));
    f.clocks.push((10097, c));
    let mru = exchanges("ntpq-c-mrulist");
    f.mru = mru_from_items(&items(&joined_data(&mru[1].1)));
    let ifs = exchanges("ntpq-c-ifstats-auth");
    f.interfaces = interfaces_from_items(&items(&joined_data(&ifs[0].1)));
    let res = exchanges("ntpq-c-reslist-auth");
    f.restrictions = restrictions_from_items(&items(&joined_data(&res[0].1)));
    f.keys = vec![
        vector_key(),
        SymmetricKey::new(2, MacAlgorithm::Sha1, b"other-trusted"),
    ];
    f.control_key = Some(1);
    f.allow_leap_write = true;
    f
}
