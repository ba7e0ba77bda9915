//! Shared helpers for the mode 7 responder tests: the captured-vector loader, a
//! [`PrivateData`] built from classic's captured replies, request builders and the masks of
//! the octets classic leaves stale.
// Each test binary uses part of this module; stale ranges read best as one-element lists.
#![allow(dead_code, clippy::single_range_in_vec_init)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ntp_control::mode7::responder::{
    ChangeRefused, NoKeys, PrivateChange, PrivateData, RequestMeta, RestrictFlags, TrustedKeys,
};
use ntp_wire::mode7::*;
use ntp_wire::{MacAlgorithm, NtpTimestamp, SymmetricKey};

/// One captured datagram.
#[derive(Debug, Clone)]
pub struct Datagram {
    /// `request` or `response`.
    pub dir: String,
    /// The UDP payload.
    pub payload: Vec<u8>,
}

/// Root of the copied vectors.
pub fn vectors_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/vectors")
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Every datagram of one vector directory (relative to `testdata/vectors`).
pub fn vector(rel: &str) -> Vec<Datagram> {
    let path = vectors_root().join(rel).join("datagrams.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["datagrams"]
        .as_array()
        .expect("datagrams array")
        .iter()
        .map(|d| Datagram {
            dir: d["dir"].as_str().unwrap().to_owned(),
            payload: hex(d["payload_hex"].as_str().unwrap()),
        })
        .collect()
}

/// The request and responses of a classic vector.
pub fn exchange(rel: &str) -> (Vec<u8>, Vec<Vec<u8>>) {
    let d = vector(&format!("classic-4.2.8/{rel}"));
    let requests: Vec<_> = d.iter().filter(|g| g.dir == "request").collect();
    assert_eq!(requests.len(), 1, "{rel}: one request");
    let responses = d
        .iter()
        .filter(|g| g.dir == "response")
        .map(|g| g.payload.clone())
        .collect();
    (requests[0].payload.clone(), responses)
}

/// The test key of the `*-auth` vectors (`1 MD5 vectorkey1`).
pub fn vector_key() -> SymmetricKey {
    SymmetricKey::new(1, MacAlgorithm::Md5, b"vectorkey1")
}

/// A daemon state made of classic's captured replies, recording the changes it is asked
/// to make.
#[derive(Debug, Clone, Default)]
pub struct FakeData {
    pub peer_list: Vec<InfoPeerList>,
    pub summaries: Vec<InfoPeerSummary>,
    pub peers: Vec<InfoPeer>,
    pub peer_stats: Vec<InfoPeerStats>,
    pub sys: InfoSys,
    pub sys_stats: InfoSysStats,
    pub io: InfoIoStats,
    pub mem: InfoMemStats,
    pub loop_info: InfoLoop,
    pub timer: InfoTimerStats,
    pub kernel: Option<InfoKernel>,
    pub ifs: Vec<InfoIfStats>,
    pub restrictions: Vec<InfoRestrict>,
    pub ctl: InfoControl,
    pub auth: InfoAuth,
    /// Changes applied, in order.
    pub applied: Vec<PrivateChange>,
    /// Interface reloads done.
    pub reloads: usize,
    /// What `apply` answers.
    pub refuse: Option<ChangeRefused>,
}

impl FakeData {
    /// Fill the report that `responses` (one classic reply) carries.
    pub fn absorb(&mut self, responses: &[Vec<u8>]) {
        for r in responses {
            let resp = PrivateResponse::decode(r).expect("captured response decodes");
            if resp.header.err != InfoError::Okay {
                continue;
            }
            let items = ResponseItems::decode(
                resp.header.request,
                usize::from(resp.header.item_size),
                &resp.data,
            )
            .expect("captured items decode");
            match items {
                ResponseItems::PeerList(v) => self.peer_list.extend(v),
                ResponseItems::PeerSummary(v) => self.summaries.extend(v),
                ResponseItems::Peer(v) => self.peers.extend(v),
                ResponseItems::PeerStats(v) => self.peer_stats.extend(v),
                ResponseItems::Sys(v) => self.sys = v[0].clone(),
                ResponseItems::SysStats(v) => self.sys_stats = v[0].clone(),
                ResponseItems::IoStats(v) => self.io = v[0].clone(),
                ResponseItems::MemStats(v) => self.mem = v[0].clone(),
                ResponseItems::Loop(v) => self.loop_info = v[0].clone(),
                ResponseItems::TimerStats(v) => self.timer = v[0].clone(),
                ResponseItems::Kernel(v) => self.kernel = Some(v[0].clone()),
                ResponseItems::IfStats(v) => self.ifs.extend(v),
                ResponseItems::Restrict(v) => self.restrictions.extend(v),
                ResponseItems::Control(v) => self.ctl = v[0].clone(),
                ResponseItems::Auth(v) => self.auth = v[0].clone(),
                other => panic!("unexpected captured items {other:?}"),
            }
        }
    }

    /// The state of every captured ntpdc report of the classic daemon.
    pub fn classic() -> Self {
        static CLASSIC: OnceLock<FakeData> = OnceLock::new();
        CLASSIC
            .get_or_init(|| {
                let mut d = FakeData::default();
                for v in GOLDEN {
                    d.absorb(&exchange(v).1);
                }
                d
            })
            .clone()
    }

    /// A state with many entries in every list (for multi-datagram replies).
    pub fn big(n: usize) -> Self {
        let mut d = FakeData::classic();
        let peer = d.summaries[0].clone();
        let rest = d.restrictions[0].clone();
        let ifs = d.ifs[0].clone();
        for i in 0..n {
            let mut p = peer.clone();
            p.srcadr = Ipv4Addr::from(0x0a00_0000 + i as u32);
            d.summaries.push(p);
            d.peer_list
                .push(InfoPeerList::for_address(IpAddr::V4(Ipv4Addr::from(
                    0x0a00_0000 + i as u32,
                ))));
            let mut r = rest.clone();
            r.addr = Ipv4Addr::from(0x0b00_0000 + i as u32);
            d.restrictions.push(r);
            d.ifs.push(ifs.clone());
        }
        d
    }
}

fn matches(addr: SocketAddr, v4: Ipv4Addr, v6: Ipv6Addr, v6_flag: u32, port: u16) -> bool {
    let ip = if v6_flag != 0 {
        IpAddr::V6(v6)
    } else {
        IpAddr::V4(v4)
    };
    addr == SocketAddr::new(ip, port)
}

impl PrivateData for FakeData {
    fn peer_list(&self) -> Vec<InfoPeerList> {
        self.peer_list.clone()
    }
    fn peer_summaries(&self) -> Vec<InfoPeerSummary> {
        self.summaries.clone()
    }
    fn peer_info(&self, peer: SocketAddr) -> Option<InfoPeer> {
        self.peers
            .iter()
            .find(|p| matches(peer, p.srcadr, p.srcadr6, p.v6_flag, p.srcport))
            .cloned()
    }
    fn peer_stats(&self, peer: SocketAddr) -> Option<InfoPeerStats> {
        self.peer_stats
            .iter()
            .find(|p| matches(peer, p.srcadr, p.srcadr6, p.v6_flag, p.srcport))
            .cloned()
    }
    fn sys_info(&self) -> InfoSys {
        self.sys.clone()
    }
    fn sys_stats(&self) -> InfoSysStats {
        self.sys_stats.clone()
    }
    fn io_stats(&self) -> InfoIoStats {
        self.io.clone()
    }
    fn mem_stats(&self) -> InfoMemStats {
        self.mem.clone()
    }
    fn loop_info(&self) -> InfoLoop {
        self.loop_info.clone()
    }
    fn timer_stats(&self) -> InfoTimerStats {
        self.timer.clone()
    }
    fn kernel_info(&self) -> Option<InfoKernel> {
        self.kernel.clone()
    }
    fn if_stats(&self) -> Vec<InfoIfStats> {
        self.ifs.clone()
    }
    fn restrictions(&self) -> Vec<InfoRestrict> {
        self.restrictions.clone()
    }
    fn ctl_stats(&self) -> InfoControl {
        self.ctl.clone()
    }
    fn auth_info(&self) -> InfoAuth {
        self.auth.clone()
    }
    fn apply(&mut self, change: PrivateChange) -> Result<(), ChangeRefused> {
        if let Some(r) = self.refuse {
            return Err(r);
        }
        self.applied.push(change);
        Ok(())
    }
    fn reload_interfaces(&mut self) -> Vec<InfoIfStats> {
        self.reloads += 1;
        self.ifs.clone()
    }
}

/// The classic ntpdc captures replayed by the golden tests.
pub const GOLDEN: &[&str] = &[
    "ntpdc-c-sysinfo",
    "ntpdc-n-c-peers",
    "ntpdc-c-listpeers",
    "ntpdc-c-sysstats",
    "ntpdc-c-iostats",
    "ntpdc-c-memstats",
    "ntpdc-c-timerstats",
    "ntpdc-c-loopinfo",
    "ntpdc-c-kerninfo",
    "ntpdc-c-reslist",
    "ntpdc-c-showpeer-10.123.21.2",
    "ntpdc-c-pstats-10.123.21.2",
    "ntpdc-c-ifstats-auth",
];

/// Loopback, as the captures were made (127.0.0.1 to 127.0.0.1, `requestkey 1`).
pub fn loopback_meta<'a>(keys: &'a dyn TrustedKeys, receive_time: NtpTimestamp) -> RequestMeta<'a> {
    RequestMeta {
        source: "127.0.0.1:40000".parse().unwrap(),
        loopback: true,
        mode7_enabled: false,
        restrict: RestrictFlags::default(),
        receive_time,
        request_key: Some(1),
        keys,
    }
}

/// A source on another host.
pub fn remote_meta(mode7_enabled: bool) -> RequestMeta<'static> {
    RequestMeta {
        source: "192.0.2.7:40000".parse().unwrap(),
        loopback: false,
        mode7_enabled,
        restrict: RestrictFlags::default(),
        receive_time: NtpTimestamp::from_parts(0xeeb2_2828, 0),
        request_key: Some(1),
        keys: &NoKeys,
    }
}

/// An unauthenticated request as ntpdc sends it (192 octets).
pub fn request(implementation: u8, code: u8, nitems: u16, item_size: u16, items: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; REQUEST_LEN_NOMAC];
    b[0] = 0x17;
    b[2] = implementation;
    b[3] = code;
    b[4..6].copy_from_slice(&nitems.to_be_bytes());
    b[6..8].copy_from_slice(&item_size.to_be_bytes());
    b[8..8 + items.len()].copy_from_slice(items);
    b
}

/// An authenticated request (MD5 layout, 212 octets) signed with `key`, timestamp `tstamp`.
pub fn signed(
    code: RequestCode,
    nitems: u16,
    item_size: u16,
    items: &[u8],
    key: &SymmetricKey,
    tstamp: NtpTimestamp,
) -> Vec<u8> {
    let header = PrivateHeader::request(Implementation::Xntpd, code, nitems, item_size, true);
    let req = PrivateRequest::authenticated(
        header,
        items,
        LFp(tstamp.to_bits()),
        key.id,
        key.algorithm.digest_len(),
    )
    .unwrap();
    let mut bytes = req.to_vec().unwrap();
    let layout = req.mac_layout().unwrap().unwrap();
    let digest = key.digest(layout.covered(&bytes).unwrap());
    layout.write_digest(&mut bytes, digest.as_bytes()).unwrap();
    bytes
}

/// Octet ranges of one item that classic leaves stale (we send zeros there): `unused*`,
/// padding, `timer`/`timereset`, and the address fields of the family not in use.
/// `info_if_stats` has none: classic clears each item before filling it.
pub fn stale_ranges(code: RequestCode, item_size: usize, item: &[u8]) -> Vec<Range<usize>> {
    use RequestCode as C;
    let host_flag = |at: usize| item.get(at..at + 4).is_some_and(|b| b != [0, 0, 0, 0]);
    match (code, item_size) {
        (C::PeerList, 32) => {
            let mut r = vec![12..16];
            r.push(if host_flag(8) { 0..4 } else { 16..32 });
            r
        }
        (C::PeerListSum, 72) => {
            let mut r = vec![36..40];
            r.push(if host_flag(32) { 0..8 } else { 40..72 });
            r
        }
        (C::PeerInfo, n) => {
            let mut r = vec![19..20, 32..36, 40..44, 208..236];
            if n == 280 {
                r.push(244..248);
                r.push(if host_flag(240) { 0..8 } else { 248..280 });
            }
            r
        }
        (C::PeerStats, n) => {
            let mut r = vec![12..16, 32..36, 40..44, 56..64, 72..76, 77..80];
            if n == 120 {
                r.push(84..88);
                r.push(if host_flag(80) { 0..8 } else { 88..120 });
            }
            r
        }
        (C::SysInfo, n) => {
            let mut r = vec![33..36];
            if n == 80 {
                r.push(60..64);
                r.push(if host_flag(56) { 0..4 } else { 64..80 });
            }
            r
        }
        (C::GetRestrict, 56) => {
            let mut r = vec![20..24];
            r.push(if host_flag(16) { 0..8 } else { 24..56 });
            r
        }
        _ => Vec::new(),
    }
}

/// `datagram` with the stale octets of every item set to zero.
pub fn mask_stale(datagram: &[u8]) -> Vec<u8> {
    let mut out = datagram.to_vec();
    let Ok(h) = PrivateHeader::decode(datagram) else {
        return out;
    };
    let size = usize::from(h.item_size);
    if size == 0 {
        return out;
    }
    for i in 0..usize::from(h.nitems) {
        let start = HEADER_LEN + i * size;
        let Some(item) = datagram.get(start..start + size) else {
            break;
        };
        for r in stale_ranges(h.request, size, item) {
            out[start + r.start..start + r.end].fill(0);
        }
    }
    out
}
