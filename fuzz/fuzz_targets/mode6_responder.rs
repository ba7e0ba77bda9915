//! Fuzz target: the mode 6 responder never panics, only ever sends well-formed responses, and
//! never sends an unauthenticated remote source more octets than it sent (except READ_MRU
//! after a valid nonce).
#![no_main]

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use ntp_control::mode6::responder::{
    ControlData, RequestMeta, Responder, Restrictions, WriteRefused,
};
use ntp_control::mode6::vars::{
    ClockVars, InterfaceEntry, MruEntry, MruList, PeerVars, RestrictAccess, RestrictEntry,
    RestrictMatch, SystemVars,
};
use ntp_wire::mode6::{
    AssocStatus, ControlHeader, ControlMessage, Opcode, PeerStatus, SystemStatus,
};
use ntp_wire::{MacAlgorithm, SymmetricKey};

/// A small daemon: two peers (one a clock), an MRU list, interfaces, restrictions, key 1 as
/// the control key.
struct Fake {
    sys: SystemVars,
    peers: Vec<PeerVars>,
    mru: MruList,
    leap_writes: u32,
}

impl Fake {
    fn new(seed: u8) -> Self {
        let mut sys = SystemVars {
            status: SystemStatus::from_u16(0x0616),
            version: "ntpd test".into(),
            stratum: seed % 17,
            ..SystemVars::default()
        };
        sys.refid = [seed, 1, 2, 3];
        let peers = (0..2u16)
            .map(|i| PeerVars {
                assoc_id: 10097 + i,
                status: PeerStatus::from_u16(0x961a ^ u16::from(seed)),
                refclock: i == 0,
                srchost: (seed & 1 == 1).then(|| "x".repeat(usize::from(seed))),
                ..PeerVars::default()
            })
            .collect();
        let entries = (0..u32::from(seed % 40))
            .map(|i| MruEntry {
                addr: SocketAddr::new(IpAddr::from([10, 0, 0, (i % 250) as u8]), 1000 + i as u16),
                local: None,
                first: u64::from(i) << 32,
                last: (u64::from(i) + 5) << 32,
                count: i as i32,
                mode_version: 0x23,
                restrict: i,
            })
            .collect();
        Fake {
            sys,
            peers,
            mru: MruList {
                now: 1000 << 32,
                entries,
            },
            leap_writes: 0,
        }
    }
}

impl ControlData for Fake {
    fn system_status(&self) -> SystemStatus {
        self.sys.status
    }
    fn system(&self) -> SystemVars {
        self.sys.clone()
    }
    fn associations(&self) -> Vec<AssocStatus> {
        self.peers
            .iter()
            .map(|p| AssocStatus {
                assoc_id: p.assoc_id,
                status: p.status,
            })
            .collect()
    }
    fn peer(&self, assoc_id: u16) -> Option<PeerVars> {
        self.peers.iter().find(|p| p.assoc_id == assoc_id).cloned()
    }
    fn clock(&self, assoc_id: u16) -> Option<ClockVars> {
        (assoc_id == 10097).then(|| ClockVars {
            device: "test clock".into(),
            ..ClockVars::default()
        })
    }
    fn mru(&self) -> MruList {
        self.mru.clone()
    }
    fn interfaces(&self) -> Vec<InterfaceEntry> {
        vec![InterfaceEntry {
            ifnum: 0,
            addr: "127.0.0.1:123".parse().unwrap(),
            bcast: None,
            enabled: true,
            name: "lo".into(),
            flags: 5,
            ttl: 0,
            mcast_count: 0,
            received: 1,
            sent: 2,
            send_failed: 0,
            peer_count: 1,
            uptime: 9,
        }]
    }
    fn restrictions(&self) -> Vec<RestrictEntry> {
        vec![RestrictEntry {
            addr: "0.0.0.0".parse().unwrap(),
            mask: "0.0.0.0".parse().unwrap(),
            hits: 3,
            match_flags: RestrictMatch::default(),
            access: RestrictAccess {
                noquery: true,
                ..RestrictAccess::default()
            },
        }]
    }
    fn trusted_key(&self, key_id: u32, _source: IpAddr) -> Option<SymmetricKey> {
        (key_id == 1).then(key)
    }
    fn control_key(&self) -> Option<u32> {
        Some(1)
    }
    fn write_leap(&mut self, leap: u8) -> Result<(), WriteRefused> {
        self.leap_writes += 1;
        self.sys.leap = leap;
        Ok(())
    }
}

fn key() -> SymmetricKey {
    SymmetricKey::new(1, MacAlgorithm::Md5, b"fuzzkey")
}

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let Some((&seed, rest)) = rest.split_first() else {
        return;
    };
    let meta = RequestMeta {
        source: if flags & 1 != 0 {
            "127.0.0.1:40000".parse().unwrap()
        } else {
            "[2001:db8::7]:40000".parse().unwrap()
        },
        loopback: flags & 1 != 0,
        restrict: Restrictions {
            ignore: flags & 2 != 0 && flags & 4 != 0,
            noquery: false,
            nomodify: flags & 8 != 0,
            nomrulist: flags & 16 != 0 && flags & 4 != 0,
        },
        monotonic: Duration::from_secs(u64::from(seed) * 3),
    };
    let mut fake = Fake::new(seed);
    let mut responder = Responder::new([seed; 16], u64::from(seed));

    let mut request = rest.to_vec();
    let mut with_nonce = false;
    if flags & 32 != 0 {
        // READ_MRU with a valid nonce, the rest of the input as parameters.
        let nreq = ControlMessage::new(ControlHeader::request(Opcode::ReqNonce, 1, 0), vec![0; 32])
            .unwrap()
            .to_vec()
            .unwrap();
        let replies = responder.handle(&nreq, &meta, &mut fake);
        let Some(first) = replies.first() else { return };
        let Ok(msg) = ControlMessage::decode(first) else {
            return;
        };
        let Some(nonce) = msg.data.get(6..30) else {
            return;
        };
        let mut data = b"nonce=".to_vec();
        data.extend_from_slice(nonce);
        data.extend_from_slice(b", ");
        data.extend_from_slice(rest);
        data.truncate(468);
        request = ControlMessage::new(ControlHeader::request(Opcode::ReadMru, 2, 0), data)
            .unwrap()
            .to_vec()
            .unwrap();
        with_nonce = true;
    }
    let mut signed = false;
    if flags & 64 != 0 {
        // Re-sign whatever the input decodes to with the control key.
        if let Ok(mut m) = ControlMessage::decode(&request) {
            let k = key();
            if m.sign(k.id, |c| k.digest(c).as_bytes().to_vec()).is_ok() {
                if let Ok(v) = m.to_vec() {
                    request = v;
                    signed = true;
                }
            }
        }
    }

    let replies = responder.handle(&request, &meta, &mut fake);
    let total: usize = replies.iter().map(Vec::len).sum();
    let exempt = meta.loopback || signed || with_nonce;
    if !exempt {
        assert!(
            total <= request.len(),
            "amplification: {total} > {}",
            request.len()
        );
    }
    if meta.restrict.ignore {
        assert!(replies.is_empty());
    }
    for r in &replies {
        let m = ControlMessage::decode(r).expect("replies decode");
        assert!(m.header.response, "replies have R set");
        assert!(m.data.len() <= 468);
        assert_eq!(m.to_vec().expect("re-encodes"), *r);
    }
    if !signed {
        assert_eq!(fake.leap_writes, 0, "no write without the control key");
    }
});
