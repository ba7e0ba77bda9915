//! One ntpdate run without I/O: per-server state, the request, the checks every reply must
//! pass, the classic sample filter (`clock_filter`), server selection (`clock_select`) and the
//! step/slew decision, all in classic's fixed-point units so the printed numbers match
//! `ntpdate/ntpdate.c` exactly.
//!
//! Departures from classic, each a defence: the request's transmit timestamp is 64 random
//! bits (the local send time is kept aside for the offset), a reply must echo it exactly and
//! is accepted once; only mode 4 replies from the server's own address and port count; a
//! zero transmit timestamp, a missing or wrong MAC, and a root distance over 1.5 s reject.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use ntp_core::ClockAction;
use ntp_wire::{
    LeapIndicator, Mode, NtpDuration, NtpHeader, NtpPacket, NtpShort, NtpTimestamp, RefId,
    SymmetricKey, Trailer,
};

use crate::cli::{Adjust, Options, MAX_SAMPLES};
use crate::fixed::{fptoa, lfp_to_fp, lfptoa, prettydate, ufptoa, FP_SECOND};

/// ntpdate's own precision, log2 s (`NTPDATE_PRECISION`).
pub const NTPDATE_PRECISION: i8 = -6;
/// 0.01 s in `s_fp`, added to every delay (`NTP_MAXSKW`).
pub const NTP_MAXSKW: i32 = 0x28f;
/// Smallest delay a sample is given, 0.02 s (`NTP_MINDIST`).
pub const NTP_MINDIST: i32 = 0x51f;
/// Largest dispersion, 64 s (`PEER_MAXDISP`).
pub const PEER_MAXDISP: i32 = 64 * FP_SECOND;
/// Highest usable stratum (`NTP_INFIN`).
pub const NTP_INFIN: u8 = 15;
/// Servers further than 8 s round trip are dropped (`NTP_MAXWGT`).
pub const NTP_MAXWGT: i32 = 8 * FP_SECOND;
/// Candidates kept by the selection (`NTP_MAXLIST`).
pub const NTP_MAXLIST: usize = 5;
/// A reference time older than a day disqualifies (`NTP_MAXAGE`).
pub const NTP_MAXAGE: u32 = 86_400;
/// Offsets at least this large are stepped (`NTPDATE_THRESHOLD`, 0.5 s).
pub const NTPDATE_THRESHOLD: u32 = (FP_SECOND >> 1) as u32;
/// Largest overshoot added to a slew, 1/16 s as a 32-bit fraction (`ADJ_MAXOVERSHOOT`,
/// commented "50 ms" in classic but 0x10000000).
pub const ADJ_MAXOVERSHOOT: u64 = 0x1000_0000;
/// Root distance beyond which a server is unfit, 1.5 s in `s_fp` (classic ntpd's
/// `MAXDISTANCE`; classic ntpdate has no such test).
pub const MAX_ROOT_DISTANCE: i64 = 0x18000;

/// What we know about one server address.
#[derive(Debug, Clone)]
pub struct Server {
    /// Address and port queried; replies must come from exactly here.
    pub addr: SocketAddr,
    /// Leap bits of the last accepted reply.
    pub leap: u8,
    /// Stratum of the last accepted reply (0 = nothing accepted; a wire 0 reads as 16).
    pub stratum: u8,
    /// Server precision, log2 s.
    pub precision: i8,
    /// Root delay, raw 16.16.
    pub root_delay: u32,
    /// Root dispersion, raw 16.16.
    pub root_dispersion: u32,
    /// Reference id.
    pub refid: RefId,
    /// Reference timestamp.
    pub reftime: NtpTimestamp,
    /// The server's transmit timestamp of the last accepted reply (classic `org`).
    pub org: NtpTimestamp,
    /// Local clock reading when the last request left (T1; classic `xmt`).
    pub xmt: NtpTimestamp,
    /// The random transmit timestamp the outstanding request carries, if any.
    pub expected_origin: Option<NtpTimestamp>,
    /// One bit per accepted reply, shifted in; 1 = not authentic (always 0 here: bad MACs
    /// are rejected before they count).
    pub trust: u8,
    /// Requests sent.
    pub xmtcnt: usize,
    /// Samples stored (replies and timeouts).
    pub filter_nextpt: usize,
    /// Sample delays, `s_fp` (0 = no sample).
    pub filter_delay: [i32; MAX_SAMPLES],
    /// Sample offsets, `l_fp`.
    pub filter_offset: [i64; MAX_SAMPLES],
    /// Sample offsets, `s_fp`.
    pub filter_soffset: [i32; MAX_SAMPLES],
    /// Filtered delay, `s_fp`.
    pub delay: i32,
    /// Filtered offset, `l_fp`.
    pub offset: i64,
    /// Filtered offset, `s_fp`.
    pub soffset: i32,
    /// Filtered dispersion, `u_fp`.
    pub dispersion: u32,
    /// Monotonic time of the next transmit/timeout event; `None` when complete.
    pub next_event: Option<Duration>,
}

impl Server {
    /// A server not yet polled, due at `start`.
    pub fn new(addr: SocketAddr, start: Duration) -> Self {
        Server {
            addr,
            leap: 0,
            stratum: 0,
            precision: 0,
            root_delay: 0,
            root_dispersion: 0,
            refid: RefId::NONE,
            reftime: NtpTimestamp::ZERO,
            org: NtpTimestamp::ZERO,
            xmt: NtpTimestamp::ZERO,
            expected_origin: None,
            trust: 0,
            xmtcnt: 0,
            filter_nextpt: 0,
            filter_delay: [0; MAX_SAMPLES],
            filter_offset: [0; MAX_SAMPLES],
            filter_soffset: [0; MAX_SAMPLES],
            delay: 0,
            offset: 0,
            soffset: 0,
            dispersion: 0,
            next_event: Some(start),
        }
    }

    fn server_data(&mut self, delay: i32, offset: i64) {
        let i = self.filter_nextpt;
        if i < MAX_SAMPLES {
            self.filter_delay[i] = delay;
            self.filter_offset[i] = offset;
            self.filter_soffset[i] = lfp_to_fp(offset);
            self.filter_nextpt = i + 1;
        }
    }

    /// True once all samples are in (or the server told us to stop).
    pub fn is_complete(&self) -> bool {
        self.next_event.is_none()
    }
}

/// The MAC key of an authenticated run.
#[derive(Debug, Clone)]
pub struct Auth {
    /// The key (`-a`, from the `-k` file).
    pub key: SymmetricKey,
    /// `-e`: added to T1 (the time spent computing the MAC before the packet leaves).
    pub delay: u32,
}

/// Why a datagram was not used (the text is classic's `-d` trace where it has one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejected {
    /// Shorter than a header.
    Length(usize),
    /// Version outside 1..=4 (silent in classic).
    Version(u8),
    /// Not a server-mode reply, or stratum >= 16 on the wire.
    ModeStratum(u8, u8),
    /// Not from the address and port of a server we queried.
    UnknownSource,
    /// Origin is not the transmit timestamp of our outstanding request (or the request was
    /// already answered).
    Origin,
    /// MAC missing, with another key, or wrong.
    Authentication,
    /// Receive or transmit timestamp zero, or transmit before receive.
    Insane,
}

impl Rejected {
    /// The `-d` trace line, if classic prints one.
    pub fn trace(&self) -> Option<String> {
        match self {
            Rejected::Length(n) => Some(format!("receive: packet length {n}")),
            Rejected::Version(_) => None,
            Rejected::ModeStratum(m, s) => Some(format!("receive: mode {m} stratum {s}")),
            Rejected::UnknownSource => Some("receive: server not found".to_string()),
            Rejected::Origin => Some("receive: pkt.org and peer.xmt differ".to_string()),
            Rejected::Authentication => Some("receive: authentication failed".to_string()),
            Rejected::Insane => Some("receive: timestamps are not sane".to_string()),
        }
    }
}

/// What a datagram did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A sample was stored for server `index`.
    Sample {
        /// Index into [`Session::servers`].
        index: usize,
    },
    /// A `RATE` kiss-o'-death: polling of server `index` ended.
    RateLimited {
        /// Index into [`Session::servers`].
        index: usize,
    },
    /// Not used.
    Rejected(Rejected),
}

/// The servers of one run and the options that drive them.
#[derive(Debug)]
pub struct Session {
    /// Servers in command-line order.
    pub servers: Vec<Server>,
    /// Samples per server.
    pub samples: usize,
    /// Time between requests to one server, and the reply timeout.
    pub timeout: Duration,
    /// Version in requests.
    pub version: u8,
    /// Authentication, if `-a`.
    pub auth: Option<Auth>,
    /// `-d` level.
    pub debug: u32,
}

impl Session {
    /// A session over `addrs`, all due at `start`.
    pub fn new(opts: &Options, addrs: &[SocketAddr], auth: Option<Auth>, start: Duration) -> Self {
        Session {
            servers: addrs.iter().map(|a| Server::new(*a, start)).collect(),
            samples: opts.samples.clamp(1, MAX_SAMPLES),
            timeout: opts.timeout(),
            version: opts.version,
            auth,
            debug: opts.debug,
        }
    }

    /// True when every server is complete.
    pub fn is_done(&self) -> bool {
        self.servers.iter().all(Server::is_complete)
    }

    /// The earliest pending event.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.servers.iter().filter_map(|s| s.next_event).min()
    }

    /// Servers whose event is due at `now`.
    pub fn due(&self, now: Duration) -> Vec<usize> {
        (0..self.servers.len())
            .filter(|&i| self.servers[i].next_event.is_some_and(|t| t <= now))
            .collect()
    }

    /// Classic `transmit()` for server `index` at monotonic `now`: account a timed-out
    /// request as an empty sample, complete the server when it has all its samples, or
    /// build the next request. `t1` is the local clock now, `nonce` 64 random bits.
    pub fn transmit(
        &mut self,
        index: usize,
        now: Duration,
        t1: NtpTimestamp,
        nonce: u64,
    ) -> Option<Vec<u8>> {
        let samples = self.samples;
        let timeout = self.timeout;
        let version = self.version;
        let auth = self.auth.clone();
        let s = self.servers.get_mut(index)?;
        if s.filter_nextpt < s.xmtcnt {
            // The last request timed out: shift an empty sample in.
            s.server_data(0, 0);
        }
        if s.filter_nextpt >= samples {
            s.next_event = None;
            s.expected_origin = None;
            return None;
        }
        // A zero transmit timestamp would read as "not set"; never send one.
        let origin = NtpTimestamp::from_bits(nonce.max(1));
        let header = NtpHeader {
            leap: LeapIndicator::Unsynchronized,
            version,
            mode: Mode::Client,
            stratum: 0,
            poll: 3,
            precision: NTPDATE_PRECISION,
            root_delay: NtpShort::from_bits(FP_SECOND as u32),
            root_dispersion: NtpShort::from_bits(FP_SECOND as u32),
            reference_id: RefId::NONE,
            reference_timestamp: NtpTimestamp::ZERO,
            origin_timestamp: NtpTimestamp::ZERO,
            receive_timestamp: NtpTimestamp::ZERO,
            transmit_timestamp: origin,
        };
        let mut bytes = header.to_bytes().to_vec();
        let mut sent_at = t1;
        if let Some(a) = &auth {
            let mac = a.key.sign(&bytes);
            let packet = NtpPacket {
                header,
                extensions: Vec::new(),
                trailer: Some(Trailer::Mac(mac)),
            };
            bytes = packet.to_vec();
            sent_at = t1 + NtpDuration::from_bits(i64::from(a.delay));
        }
        s.xmt = sent_at;
        s.expected_origin = Some(origin);
        s.xmtcnt += 1;
        s.next_event = Some(now + timeout);
        Some(bytes)
    }

    /// Classic `receive()`: check a datagram from `from` that arrived at local time `t4`
    /// (monotonic `now`) and store its sample.
    pub fn receive(
        &mut self,
        from: SocketAddr,
        bytes: &[u8],
        t4: NtpTimestamp,
        now: Duration,
    ) -> Received {
        match self.check(from, bytes) {
            Ok((index, header)) => self.accept(index, &header, t4, now),
            Err(r) => Received::Rejected(r),
        }
    }

    fn check(&self, from: SocketAddr, bytes: &[u8]) -> Result<(usize, NtpHeader), Rejected> {
        let header = NtpHeader::decode(bytes).map_err(|_| Rejected::Length(bytes.len()))?;
        if !(1..=4).contains(&header.version) {
            return Err(Rejected::Version(header.version));
        }
        if header.mode != Mode::Server || header.stratum >= 16 {
            return Err(Rejected::ModeStratum(header.mode.bits(), header.stratum));
        }
        let index = self
            .servers
            .iter()
            .position(|s| s.addr == from)
            .ok_or(Rejected::UnknownSource)?;
        let s = &self.servers[index];
        if s.expected_origin != Some(header.origin_timestamp) {
            return Err(Rejected::Origin);
        }
        if let Some(a) = &self.auth {
            // Verify over exactly the octets the MAC covers; any decode failure fails.
            let ok = match NtpPacket::split_mac(bytes) {
                Ok((covered, Some(Trailer::Mac(m)))) => {
                    m.key_id == a.key.id && a.key.verify(covered, m.digest.as_bytes())
                }
                _ => false,
            };
            if !ok {
                return Err(Rejected::Authentication);
            }
        }
        let is_kod = header.leap == LeapIndicator::Unsynchronized
            && header.stratum == 0
            && header.reference_id == RefId::RATE;
        if !is_kod
            && (header.receive_timestamp.is_zero()
                || header.transmit_timestamp.is_zero()
                || header.transmit_timestamp.to_bits() < header.receive_timestamp.to_bits())
        {
            return Err(Rejected::Insane);
        }
        Ok((index, header))
    }

    fn accept(&mut self, index: usize, h: &NtpHeader, t4: NtpTimestamp, now: Duration) -> Received {
        let samples = self.samples;
        let timeout = self.timeout;
        let s = &mut self.servers[index];
        s.expected_origin = None;
        s.trust <<= 1;
        if h.leap == LeapIndicator::Unsynchronized
            && h.stratum == 0
            && h.reference_id == RefId::RATE
        {
            s.next_event = None;
            return Received::RateLimited { index };
        }
        s.leap = h.leap.bits();
        s.stratum = if h.stratum == 0 { 16 } else { h.stratum };
        s.precision = h.precision;
        s.root_delay = h.root_delay.to_bits();
        s.root_dispersion = h.root_dispersion.to_bits();
        s.refid = h.reference_id;
        s.reftime = h.reference_timestamp;
        s.org = h.transmit_timestamp;
        // t10 = T3 - T4, t23 = T2 - T1 (wrapping 32.32 differences).
        let t10 = h.transmit_timestamp.to_bits().wrapping_sub(t4.to_bits()) as i64;
        let t23 = h.receive_timestamp.to_bits().wrapping_sub(s.xmt.to_bits()) as i64;
        let mut ci = (t10 >> 1).wrapping_add(t23 >> 1);
        let mut di = i64::from(lfp_to_fp(t23.wrapping_sub(t10)));
        // Classic's fudge: our precision, the server's, and 10 ms of skew.
        let shift = |p: i8| u32::try_from(-i32::from(p)).unwrap_or(0).min(31);
        di += i64::from(FP_SECOND >> shift(NTPDATE_PRECISION))
            + i64::from(FP_SECOND >> shift(s.precision))
            + i64::from(NTP_MAXSKW);
        if di <= 0 {
            ci = 0;
            di = 0;
        } else {
            di = di.max(i64::from(NTP_MINDIST));
        }
        s.server_data(di.min(i64::from(i32::MAX)) as i32, ci);
        s.next_event = if s.filter_nextpt >= samples {
            None
        } else {
            Some(now + timeout)
        };
        Received::Sample { index }
    }

    /// Classic `clock_filter()` for every server: the minimum-delay sample, and the
    /// dispersion of the others around it.
    pub fn filter(&mut self) {
        let n = self.samples;
        for s in &mut self.servers {
            let mut ord: [usize; MAX_SAMPLES] = [0, 1, 2, 3, 4, 5, 6, 7];
            for i in 0..n.saturating_sub(1) {
                for j in i + 1..n {
                    if s.filter_delay[ord[j]] == 0 {
                        continue;
                    }
                    if s.filter_delay[ord[i]] == 0
                        || s.filter_delay[ord[i]] > s.filter_delay[ord[j]]
                    {
                        ord.swap(i, j);
                    }
                }
            }
            if s.filter_delay[ord[0]] == 0 {
                s.delay = 0;
                s.offset = 0;
                s.soffset = 0;
                s.dispersion = PEER_MAXDISP as u32;
            } else {
                s.delay = s.filter_delay[ord[0]];
                s.offset = s.filter_offset[ord[0]];
                s.soffset = lfp_to_fp(s.offset);
                s.dispersion = 0;
                for (i, &o) in ord.iter().enumerate().take(n).skip(1) {
                    let d = if s.filter_delay[o] == 0 {
                        i64::from(PEER_MAXDISP)
                    } else {
                        (i64::from(s.filter_soffset[o]) - i64::from(s.filter_soffset[ord[0]]))
                            .abs()
                            .min(i64::from(PEER_MAXDISP))
                    };
                    // Classic knows the filter weight is 1/2.
                    s.dispersion = s.dispersion.wrapping_add((d as u32) >> i);
                }
            }
        }
    }

    /// Classic `clock_select()`: the server to set the clock from, if any. With `-d` the
    /// reason each server was dropped is written to `trace`.
    pub fn select(&self, trace: &mut String) -> Option<usize> {
        let mut list = [0usize; NTP_MAXLIST + 1];
        let mut badness = [0u32; NTP_MAXLIST + 1];
        let mut nlist = 0usize;
        let debug = self.debug > 0;
        for (idx, s) in self.servers.iter().enumerate() {
            let ip = s.addr.ip();
            let drop = if s.stratum == 0 || s.delay == 0 {
                Some("no data")
            } else if s.stratum > NTP_INFIN {
                Some("strata too high")
            } else if s.delay > NTP_MAXWGT {
                Some("server too far away")
            } else if s.leap == LeapIndicator::Unsynchronized.bits() {
                Some("leap not in sync")
            } else if s.org.to_bits() < s.reftime.to_bits() {
                Some("server is very broken")
            } else if s.org.seconds().wrapping_sub(s.reftime.seconds()) >= NTP_MAXAGE {
                Some("server has gone too long without sync")
            } else if s.trust != 0 {
                Some("Server is untrusted")
            } else if root_distance(s) > MAX_ROOT_DISTANCE {
                Some("root distance too large")
            } else {
                None
            };
            if let Some(why) = drop {
                if debug {
                    let _ = writeln!(trace, "{ip}: Server dropped: {why}");
                }
                continue;
            }
            let d = (s.dispersion as i32).wrapping_add(s.dispersion as i32);
            let mut i = 0;
            while i < nlist && s.stratum > self.servers[list[i]].stratum {
                i += 1;
            }
            while i < nlist {
                if s.stratum < self.servers[list[i]].stratum || d < badness[i] as i32 {
                    break;
                }
                i += 1;
            }
            if i >= NTP_MAXLIST {
                continue;
            }
            let mut j = nlist;
            while j > i {
                if j < NTP_MAXLIST {
                    list[j] = list[j - 1];
                    badness[j] = badness[j - 1];
                }
                j -= 1;
            }
            list[i] = idx;
            badness[i] = d as u32;
            if nlist < NTP_MAXLIST {
                nlist += 1;
            }
        }
        // Keep at most two strata.
        let mut count = 0;
        for i in 1..nlist {
            if self.servers[list[i]].stratum > self.servers[list[i - 1]].stratum {
                count += 1;
                if count == 2 {
                    nlist = i;
                    break;
                }
            }
        }
        match nlist {
            0 => None,
            1 => Some(list[0]),
            _ => {
                let srv = &self.servers;
                for i in 0..nlist - 1 {
                    for j in i + 1..nlist {
                        if srv[list[i]].stratum < srv[list[j]].stratum {
                            break;
                        }
                        if srv[list[i]].delay < srv[list[j]].delay {
                            continue;
                        }
                        list.swap(i, j);
                    }
                }
                let local_threshold = (FP_SECOND >> 6) + NTP_MAXSKW;
                while nlist > 1 {
                    for k in 0..nlist {
                        badness[k] = 0;
                        for j in 0..nlist {
                            if j == k {
                                continue;
                            }
                            let mut d = (i64::from(srv[list[j]].soffset)
                                - i64::from(srv[list[k]].soffset))
                            .unsigned_abs()
                            .min(u64::from(u32::MAX));
                            // Classic knows the selection weight is 3/4.
                            for _ in 0..j {
                                d = (d >> 1) + (d >> 2);
                            }
                            badness[k] = badness[k].wrapping_add(d as u32);
                        }
                    }
                    let mut worst = 0;
                    let mut n = srv[list[0]].precision;
                    for j in 1..nlist {
                        if badness[j] >= badness[worst] {
                            worst = j;
                        }
                        n = n.min(srv[list[j]].precision);
                    }
                    let shift = u32::try_from(-i32::from(n)).unwrap_or(0).min(31);
                    if (badness[worst] as i32) < local_threshold + (FP_SECOND >> shift) {
                        break;
                    }
                    for j in worst + 1..nlist {
                        list[j - 1] = list[j];
                    }
                    nlist -= 1;
                }
                Some(list[0])
            }
        }
    }

    /// Classic `print_server()` for every server that answered: the one `-q` line, or the
    /// `-d` block.
    pub fn print_servers(&self, out: &mut String, offset_of: &dyn Fn(i64) -> i32) {
        for s in &self.servers {
            if s.stratum == 0 {
                continue;
            }
            let ip = s.addr.ip();
            if self.debug == 0 {
                let _ = writeln!(
                    out,
                    "server {ip}, stratum {}, offset {}, delay {}",
                    s.stratum,
                    lfptoa(s.offset, 6),
                    fptoa(s.delay, 5)
                );
                continue;
            }
            let _ = writeln!(out, "server {ip}, port {}", s.addr.port());
            let _ = writeln!(
                out,
                "stratum {}, precision {}, leap {}{}, trust {:03o}",
                s.stratum,
                s.precision,
                if s.leap & 2 != 0 { '1' } else { '0' },
                if s.leap & 1 != 0 { '1' } else { '0' },
                s.trust
            );
            let refid = if s.stratum <= 1 || s.stratum >= 16 {
                s.refid
                    .to_bytes()
                    .iter()
                    .take_while(|&&b| b != 0)
                    .map(|&b| {
                        if b.is_ascii_graphic() || b == b' ' {
                            b as char
                        } else {
                            '.'
                        }
                    })
                    .collect::<String>()
            } else {
                s.refid.to_ipv4().to_string()
            };
            let _ = writeln!(
                out,
                "refid [{refid}], root delay {}, root dispersion {}",
                fptoa(s.root_delay as i32, 6),
                ufptoa(s.root_dispersion, 6)
            );
            if s.xmtcnt != s.filter_nextpt {
                let _ = writeln!(
                    out,
                    "transmitted {}, in filter {}",
                    s.xmtcnt, s.filter_nextpt
                );
            }
            let _ = writeln!(
                out,
                "reference time:      {}",
                prettydate(s.reftime, offset_of)
            );
            let _ = writeln!(out, "originate timestamp: {}", prettydate(s.org, offset_of));
            let _ = writeln!(out, "transmit timestamp:  {}", prettydate(s.xmt, offset_of));
            if self.samples > 1 {
                out.push_str("filter delay: ");
                for i in 0..MAX_SAMPLES {
                    if i == MAX_SAMPLES / 2 {
                        out.push_str("\n              ");
                    }
                    let v = if i < self.samples {
                        fptoa(s.filter_delay[i], 5)
                    } else {
                        "----".to_string()
                    };
                    let _ = write!(out, " {:<10.10}", v);
                }
                out.push('\n');
                out.push_str("filter offset:");
                for i in 0..MAX_SAMPLES {
                    if i == MAX_SAMPLES / 2 {
                        out.push_str("\n              ");
                    }
                    let v = if i < self.samples {
                        lfptoa(s.filter_offset[i], 6)
                    } else {
                        "----".to_string()
                    };
                    let _ = write!(out, " {:<10.10}", v);
                }
                out.push('\n');
            }
            let _ = writeln!(
                out,
                "delay {}, dispersion {}, offset {}",
                fptoa(s.delay, 5),
                ufptoa(s.dispersion, 5),
                lfptoa(s.offset, 6)
            );
            out.push('\n');
        }
    }
}

/// Root distance in `s_fp`: half the total round trip plus the server's root dispersion.
/// The filter dispersion is left out on purpose: a timed-out sample weighs in at 64 s, and
/// one lost packet must not disqualify a server classic would use.
fn root_distance(s: &Server) -> i64 {
    (i64::from(s.root_delay) + i64::from(s.delay)) / 2 + i64::from(s.root_dispersion)
}

/// Whether classic steps for server offset `soffset` (`s_fp`) under `adjust`.
pub fn should_step(soffset: i32, adjust: Adjust) -> bool {
    match adjust {
        Adjust::AlwaysStep => true,
        Adjust::NeverStep => false,
        Adjust::Auto => soffset.unsigned_abs() >= NTPDATE_THRESHOLD,
    }
}

/// The largest slew the clock drivers accept (`ntp-clock`'s ±0.5 s), 32.32.
pub const MAX_SLEW: u64 = 1 << 31;

/// The clock change classic makes for `offset` (`l_fp`): a step by the offset, or a slew
/// by the offset plus a 50 % overshoot capped at [`ADJ_MAXOVERSHOOT`]. The overshoot is
/// trimmed so a slew of less than 0.5 s stays within [`MAX_SLEW`] (classic's `adjtime`
/// had no such limit; without the trim offsets of 0.44-0.5 s could not be slewed at all).
/// `None` when the slew rounds to zero microseconds (classic skips `adjtime` then).
pub fn clock_action(offset: i64, step: bool) -> Option<ClockAction> {
    if step {
        return Some(ClockAction::Step(NtpDuration::from_bits(offset)));
    }
    let mag = offset.unsigned_abs();
    let mut overshoot = mag >> 1;
    if overshoot >> 32 != 0 || overshoot > ADJ_MAXOVERSHOOT {
        overshoot = ADJ_MAXOVERSHOOT;
    }
    let mut total = mag.saturating_add(overshoot);
    if mag < MAX_SLEW {
        total = total.min(MAX_SLEW);
    }
    // TSTOTV: microseconds rounded; classic calls adjtime only when tv_usec != 0.
    let usec = ((total & 0xffff_ffff) * 1_000_000 + (1 << 31)) >> 32;
    if usec % 1_000_000 == 0 {
        return None;
    }
    let bits = i64::try_from(total).unwrap_or(i64::MAX);
    Some(ClockAction::Slew(NtpDuration::from_bits(if offset < 0 {
        -bits
    } else {
        bits
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(samples: usize) -> Options {
        let mut o = crate::cli::parse(&["ntpdate".into(), "x".into()]).unwrap();
        o.samples = samples;
        o
    }

    fn server_with(stratum: u8, delay: i32, soffset: i32, precision: i8) -> Server {
        let mut s = Server::new("127.0.0.1:123".parse().unwrap(), Duration::ZERO);
        s.stratum = stratum;
        s.delay = delay;
        s.soffset = soffset;
        s.offset = i64::from(soffset) << 16;
        s.precision = precision;
        s.reftime = NtpTimestamp::from_parts(1000, 0);
        s.org = NtpTimestamp::from_parts(1010, 0);
        s
    }

    #[test]
    fn filter_picks_the_minimum_delay_sample_and_weights_the_rest() {
        let mut sess = Session::new(&opts(4), &[], None, Duration::ZERO);
        let mut s = Server::new("127.0.0.1:123".parse().unwrap(), Duration::ZERO);
        for (d, o) in [
            (3000, 100i64 << 16),
            (2000, 40 << 16),
            (0, 0),
            (2500, 60 << 16),
        ] {
            s.server_data(d, o);
        }
        sess.servers.push(s);
        sess.filter();
        let s = &sess.servers[0];
        assert_eq!(s.delay, 2000);
        assert_eq!(s.soffset, 40);
        // ranks: 2500 (|60-40|=20)>>1, 3000 (60)>>2, missing (64 s)>>3
        assert_eq!(
            s.dispersion,
            (20 >> 1) + (60 >> 2) + ((PEER_MAXDISP as u32) >> 3)
        );
    }

    #[test]
    fn selection_prefers_lower_stratum_and_drops_the_unfit() {
        let mut sess = Session::new(&opts(1), &[], None, Duration::ZERO);
        sess.debug = 1;
        sess.servers.push(server_with(3, 1700, 10, -20));
        sess.servers.push(server_with(2, 1800, 12, -20));
        let mut unsync = server_with(1, 1600, 0, -20);
        unsync.leap = 3;
        sess.servers.push(unsync);
        let mut kod = server_with(16, 1600, 0, -20);
        kod.leap = 3;
        sess.servers.push(kod);
        let mut far = server_with(1, 1600, 0, -20);
        far.root_dispersion = 2 * FP_SECOND as u32;
        sess.servers.push(far);
        let mut trace = String::new();
        assert_eq!(sess.select(&mut trace), Some(1));
        assert!(
            trace.contains("127.0.0.1: Server dropped: leap not in sync"),
            "{trace}"
        );
        assert!(trace.contains("strata too high"));
        assert!(trace.contains("root distance too large"));
    }

    #[test]
    fn one_lost_sample_does_not_disqualify_a_server() {
        let mut sess = Session::new(&opts(4), &[], None, Duration::ZERO);
        let mut s = server_with(2, 0, 0, -20);
        for (d, o) in [(1700, 1i64 << 16), (0, 0), (1800, 2 << 16), (1750, 3 << 16)] {
            s.server_data(d, o);
        }
        sess.servers.push(s);
        sess.filter();
        assert!(sess.servers[0].dispersion > 4 * FP_SECOND as u32);
        assert_eq!(sess.select(&mut String::new()), Some(0));
    }

    #[test]
    fn selection_discards_the_falseticker_among_equals() {
        let mut sess = Session::new(&opts(1), &[], None, Duration::ZERO);
        // Two agree near 0, one is 5 s off; equal strata, the liar has the lowest delay.
        sess.servers.push(server_with(2, 1700, 5 * FP_SECOND, -20));
        sess.servers.push(server_with(2, 1800, 100, -20));
        sess.servers.push(server_with(2, 1900, 120, -20));
        let mut t = String::new();
        assert_eq!(sess.select(&mut t), Some(1));
    }

    #[test]
    fn step_threshold_is_half_a_second_unless_forced() {
        assert!(!should_step(0x7fff, Adjust::Auto));
        assert!(should_step(0x8000, Adjust::Auto));
        assert!(should_step(-0x8000, Adjust::Auto));
        assert!(should_step(1, Adjust::AlwaysStep));
        assert!(!should_step(10 * FP_SECOND, Adjust::NeverStep));
    }

    #[test]
    fn slew_adds_half_the_offset_capped_at_a_sixteenth_second() {
        let ms = |m: i64| (m << 32) / 1000;
        assert_eq!(
            clock_action(ms(10), false),
            Some(ClockAction::Slew(NtpDuration::from_bits(
                ms(10) + ms(10) / 2
            )))
        );
        assert_eq!(
            clock_action(-ms(400), false),
            Some(ClockAction::Slew(NtpDuration::from_bits(
                -(ms(400) + ADJ_MAXOVERSHOOT as i64)
            )))
        );
        assert_eq!(
            clock_action(-ms(700), true),
            Some(ClockAction::Step(NtpDuration::from_bits(-ms(700))))
        );
        assert_eq!(clock_action(0, false), None);
        // 0.46875 s: the overshoot is trimmed to stay within the drivers' 0.5 s.
        assert_eq!(
            clock_action(ms(1000) * 15 / 32, false),
            Some(ClockAction::Slew(NtpDuration::from_bits(1 << 31)))
        );
        // Beyond 0.5 s (-B) nothing is trimmed: the offset itself is the minimum.
        assert_eq!(
            clock_action(-(3i64 << 31), false),
            Some(ClockAction::Slew(NtpDuration::from_bits(
                -(3i64 << 31) - ADJ_MAXOVERSHOOT as i64
            )))
        );
    }
}

#[cfg(test)]
mod props {
    //! Whatever arrives from the network, `receive` never panics, and only a datagram that
    //! echoes our transmit timestamp can become a sample.
    use super::*;
    use proptest::prelude::*;

    fn session(auth: Option<Auth>) -> Session {
        let mut o = crate::cli::parse(&["ntpdate".into(), "x".into()]).unwrap();
        o.samples = 2;
        let addr: SocketAddr = "127.0.0.1:123".parse().unwrap();
        let mut s = Session::new(&o, &[addr], auth, Duration::ZERO);
        s.transmit(
            0,
            Duration::ZERO,
            NtpTimestamp::from_bits(0xeeb2_268a_0000_0000),
            0x1234_5678_9abc_def0,
        );
        s
    }

    proptest! {
        #[test]
        fn arbitrary_datagrams_never_panic_and_need_our_origin(
            bytes in proptest::collection::vec(any::<u8>(), 0..120),
            patch_origin in any::<bool>(),
            t4 in any::<u64>(),
            authenticated in any::<bool>(),
        ) {
            let auth = authenticated.then(|| Auth {
                key: SymmetricKey::new(1, ntp_wire::MacAlgorithm::Md5, b"k"),
                delay: 0,
            });
            let mut s = session(auth);
            let mut bytes = bytes;
            if patch_origin && bytes.len() >= 32 {
                bytes[24..32].copy_from_slice(&0x1234_5678_9abc_def0u64.to_be_bytes());
            }
            let from: SocketAddr = "127.0.0.1:123".parse().unwrap();
            let r = s.receive(from, &bytes, NtpTimestamp::from_bits(t4), Duration::from_secs(1));
            if matches!(r, Received::Sample { .. } | Received::RateLimited { .. }) {
                prop_assert!(bytes.len() >= 48);
                prop_assert_eq!(&bytes[24..32], &0x1234_5678_9abc_def0u64.to_be_bytes());
            }
            s.filter();
            let mut t = String::new();
            let _ = s.select(&mut t);
            s.print_servers(&mut t, &|_| 0);
        }

        #[test]
        fn replies_with_any_field_values_never_panic(
            first in any::<u8>(),
            stratum in any::<u8>(),
            precision in any::<i8>(),
            root in any::<(u32, u32, u32)>(),
            stamps in any::<(u64, u64, u64, u64)>(),
            debug in 0u32..2,
        ) {
            let mut s = session(None);
            s.debug = debug;
            let mut b = [0u8; 48];
            b[0] = first;
            b[1] = stratum;
            b[3] = precision as u8;
            b[4..8].copy_from_slice(&root.0.to_be_bytes());
            b[8..12].copy_from_slice(&root.1.to_be_bytes());
            b[12..16].copy_from_slice(&root.2.to_be_bytes());
            b[16..24].copy_from_slice(&stamps.0.to_be_bytes());
            b[24..32].copy_from_slice(&0x1234_5678_9abc_def0u64.to_be_bytes());
            b[32..40].copy_from_slice(&stamps.1.to_be_bytes());
            b[40..48].copy_from_slice(&stamps.2.to_be_bytes());
            let from: SocketAddr = "127.0.0.1:123".parse().unwrap();
            let r = s.receive(from, &b, NtpTimestamp::from_bits(stamps.3), Duration::ZERO);
            if let Received::Sample { .. } = r {
                prop_assert_eq!(first & 7, 4);
                prop_assert!(stratum < 16);
                prop_assert!(stamps.2 >= stamps.1 && stamps.1 != 0);
            }
            s.filter();
            let mut t = String::new();
            let chosen = s.select(&mut t);
            s.print_servers(&mut t, &|_| 0);
            if let Some(i) = chosen {
                let o = s.servers[i].offset;
                let _ = clock_action(o, should_step(s.servers[i].soffset, Adjust::Auto));
            }
        }
    }
}
