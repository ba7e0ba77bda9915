//! Fuzz target: the mode 7 responder never panics, never amplifies to a source that is not
//! loopback, never changes state for one, and only ever sends well-formed responses.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use libfuzzer_sys::fuzz_target;
use ntp_control::mode7::responder::{
    ChangeRefused, NoKeys, PrivateChange, PrivateData, RequestMeta, Responder, RestrictFlags,
};
use ntp_wire::mode7::*;
use ntp_wire::{MacAlgorithm, NtpTimestamp, SymmetricKey};

/// A daemon with `n` of everything, half of it IPv6, recording changes.
struct Fake {
    n: usize,
    changes: usize,
}

impl Fake {
    fn addr(i: usize) -> (Ipv4Addr, Ipv6Addr, u32) {
        let v6 = i % 2 == 1;
        (
            Ipv4Addr::from(0x0a00_0000 + i as u32),
            Ipv6Addr::from(0x2001_0db8_0000_0000_0000_0000_0000_0000u128 + i as u128),
            u32::from(v6),
        )
    }
}

impl PrivateData for Fake {
    fn peer_list(&self) -> Vec<InfoPeerList> {
        (0..self.n)
            .map(|i| {
                let (addr, addr6, v6_flag) = Fake::addr(i);
                InfoPeerList {
                    addr,
                    addr6,
                    v6_flag,
                    port: 123,
                    ..Default::default()
                }
            })
            .collect()
    }
    fn peer_summaries(&self) -> Vec<InfoPeerSummary> {
        (0..self.n)
            .map(|i| {
                let (srcadr, srcadr6, v6_flag) = Fake::addr(i);
                InfoPeerSummary {
                    srcadr,
                    srcadr6,
                    v6_flag,
                    unused1: [0xff; 4],
                    ..Default::default()
                }
            })
            .collect()
    }
    fn peer_info(&self, peer: SocketAddr) -> Option<InfoPeer> {
        (peer.port() == 123).then(|| InfoPeer {
            srcadr: match peer.ip() {
                IpAddr::V4(a) => a,
                IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
            },
            unused1_7: [0xee; 28],
            ..Default::default()
        })
    }
    fn peer_stats(&self, peer: SocketAddr) -> Option<InfoPeerStats> {
        (peer.port() == 123).then(InfoPeerStats::default)
    }
    fn sys_info(&self) -> InfoSys {
        InfoSys {
            v6_flag: (self.n % 2) as u32,
            stratum: 2,
            ..Default::default()
        }
    }
    fn sys_stats(&self) -> InfoSysStats {
        InfoSysStats::default()
    }
    fn io_stats(&self) -> InfoIoStats {
        InfoIoStats::default()
    }
    fn mem_stats(&self) -> InfoMemStats {
        InfoMemStats::default()
    }
    fn loop_info(&self) -> InfoLoop {
        InfoLoop::default()
    }
    fn timer_stats(&self) -> InfoTimerStats {
        InfoTimerStats::default()
    }
    fn kernel_info(&self) -> Option<InfoKernel> {
        (self.n % 3 != 0).then(InfoKernel::default)
    }
    fn if_stats(&self) -> Vec<InfoIfStats> {
        (0..self.n)
            .map(|i| InfoIfStats {
                v6_flag: Fake::addr(i).2,
                ..Default::default()
            })
            .collect()
    }
    fn restrictions(&self) -> Vec<InfoRestrict> {
        (0..self.n)
            .map(|i| InfoRestrict {
                v6_flag: Fake::addr(i).2,
                ..Default::default()
            })
            .collect()
    }
    fn ctl_stats(&self) -> InfoControl {
        InfoControl::default()
    }
    fn auth_info(&self) -> InfoAuth {
        InfoAuth::default()
    }
    fn clock_info(&self, addr: Ipv4Addr) -> Option<InfoClock> {
        Some(InfoClock {
            clockadr: addr,
            ..Default::default()
        })
    }
    fn apply(&mut self, change: PrivateChange) -> Result<(), ChangeRefused> {
        self.changes += 1;
        match change {
            PrivateChange::RemovePeers(_) => Err(ChangeRefused::NoData),
            _ => Ok(()),
        }
    }
    fn reload_interfaces(&mut self) -> Vec<InfoIfStats> {
        self.changes += 1;
        self.if_stats()
    }
}

fuzz_target!(|input: &[u8]| {
    // First two octets choose the situation; the rest is the datagram.
    let [a, b, request @ ..] = input else {
        return;
    };
    let loopback = a & 1 != 0;
    let keys = vec![SymmetricKey::new(1, MacAlgorithm::Md5, b"fuzzkey")];
    let meta = RequestMeta {
        source: if loopback {
            "127.0.0.1:40000".parse().unwrap()
        } else {
            "192.0.2.7:40000".parse().unwrap()
        },
        loopback,
        mode7_enabled: a & 2 != 0,
        restrict: RestrictFlags {
            ignore: a & 4 != 0,
            noquery: a & 8 != 0,
            nomodify: a & 16 != 0,
        },
        receive_time: NtpTimestamp::ZERO,
        request_key: (a & 32 != 0).then_some(1),
        // Only loopback may hold the key: then every other source is unauthenticated and the
        // amplification rule below holds without exception.
        keys: if loopback { &keys } else { &NoKeys },
    };
    let mut data = Fake {
        n: usize::from(*b) * 4,
        changes: 0,
    };
    let replies = Responder::new().handle(request, &meta, &mut data);
    let total: usize = replies.iter().map(Vec::len).sum();
    if !loopback {
        assert!(total <= request.len(), "amplification: {total} > {}", request.len());
        assert_eq!(data.changes, 0, "state changed for a remote source");
        if !meta.mode7_enabled {
            assert!(replies.is_empty());
        }
    }
    if meta.restrict.ignore || meta.restrict.noquery {
        assert!(replies.is_empty());
    }
    assert!(replies.len() <= usize::from(MAX_SEQUENCE) + 1);
    for (i, d) in replies.iter().enumerate() {
        let r = PrivateResponse::decode(d).expect("replies are well-formed responses");
        assert!(r.header.response && !r.header.auth);
        assert_eq!(usize::from(r.header.sequence), i);
        assert_eq!(r.header.more, i + 1 < replies.len());
    }
});
