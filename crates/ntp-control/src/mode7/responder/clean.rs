//! Make the daemon's items safe to send: zero every field classic leaves stale (`unused*`,
//! padding, the other family's addresses), normalise `v6_flag`, and drop IPv6 entries for
//! clients that asked for the truncated (IPv4-only) layout.

use std::net::{Ipv4Addr, Ipv6Addr};

use ntp_wire::mode7::{
    InfoIfStats, InfoPeer, InfoPeerList, InfoPeerStats, InfoPeerSummary, InfoRestrict, InfoSys,
    ItemLayout,
};

/// An item struct with IPv6 variants and fields that must go out as zeros.
pub(super) trait Clean: Sized {
    /// The cleaned item, or `None` when it cannot be expressed in `layout` (an IPv6 entry for
    /// an `IMPL_XNTPD_OLD` client, which classic skips).
    fn clean(self, layout: ItemLayout) -> Option<Self>;
}

/// Common rule: IPv6 entries are skipped in the truncated layout; returns the normalised flag.
fn v6(flag: u32, layout: ItemLayout) -> Option<u32> {
    match (flag != 0, layout) {
        (true, ItemLayout::Truncated) => None,
        (true, ItemLayout::Full) => Some(1),
        (false, _) => Some(0),
    }
}

impl Clean for InfoPeerList {
    fn clean(mut self, layout: ItemLayout) -> Option<Self> {
        self.v6_flag = v6(self.v6_flag, layout)?;
        self.unused1 = [0; 4];
        if self.v6_flag == 0 {
            self.addr6 = Ipv6Addr::UNSPECIFIED;
        } else {
            self.addr = Ipv4Addr::UNSPECIFIED;
        }
        Some(self)
    }
}

impl Clean for InfoPeerSummary {
    fn clean(mut self, layout: ItemLayout) -> Option<Self> {
        self.v6_flag = v6(self.v6_flag, layout)?;
        self.unused1 = [0; 4];
        if self.v6_flag == 0 {
            self.dstadr6 = Ipv6Addr::UNSPECIFIED;
            self.srcadr6 = Ipv6Addr::UNSPECIFIED;
        } else {
            self.dstadr = Ipv4Addr::UNSPECIFIED;
            self.srcadr = Ipv4Addr::UNSPECIFIED;
        }
        Some(self)
    }
}

impl Clean for InfoPeer {
    fn clean(mut self, layout: ItemLayout) -> Option<Self> {
        self.v6_flag = v6(self.v6_flag, layout)?;
        self.unused8 = 0;
        self.pkeyid = [0; 4];
        // Never filled by classic 4.2.8 (ntpdc prints "timer 0s" from stale zeros).
        self.timer = 0;
        self.unused1_7 = [0; 28];
        self.unused9 = [0; 4];
        if self.v6_flag == 0 {
            self.dstadr6 = Ipv6Addr::UNSPECIFIED;
            self.srcadr6 = Ipv6Addr::UNSPECIFIED;
        } else {
            self.dstadr = Ipv4Addr::UNSPECIFIED;
            self.srcadr = Ipv4Addr::UNSPECIFIED;
        }
        Some(self)
    }
}

impl Clean for InfoPeerStats {
    fn clean(mut self, layout: ItemLayout) -> Option<Self> {
        self.v6_flag = v6(self.v6_flag, layout)?;
        // Not filled by classic 4.2.8; ntpdc does not print it.
        self.timereset = 0;
        self.unused1 = [0; 4];
        self.unused2 = [0; 4];
        self.unused3 = [0; 4];
        self.unused4 = [0; 4];
        self.unused5 = [0; 4];
        self.unused6_8 = [0; 3];
        self.unused9 = [0; 4];
        if self.v6_flag == 0 {
            self.dstadr6 = Ipv6Addr::UNSPECIFIED;
            self.srcadr6 = Ipv6Addr::UNSPECIFIED;
        } else {
            self.dstadr = Ipv4Addr::UNSPECIFIED;
            self.srcadr = Ipv4Addr::UNSPECIFIED;
        }
        Some(self)
    }
}

impl Clean for InfoSys {
    /// Never skipped: an old client with an IPv6 system peer gets peer 0.0.0.0.
    fn clean(mut self, layout: ItemLayout) -> Option<Self> {
        self.unused1_3 = [0; 3];
        self.unused4 = [0; 4];
        let v6_peer = self.v6_flag != 0;
        if v6_peer {
            self.peer = Ipv4Addr::UNSPECIFIED;
        } else {
            self.peer6 = Ipv6Addr::UNSPECIFIED;
        }
        self.v6_flag = u32::from(v6_peer && layout == ItemLayout::Full);
        Some(self)
    }
}

impl Clean for InfoRestrict {
    fn clean(mut self, layout: ItemLayout) -> Option<Self> {
        self.v6_flag = v6(self.v6_flag, layout)?;
        self.unused1 = [0; 4];
        if self.v6_flag == 0 {
            self.addr6 = Ipv6Addr::UNSPECIFIED;
            self.mask6 = Ipv6Addr::UNSPECIFIED;
        } else {
            self.addr = Ipv4Addr::UNSPECIFIED;
            self.mask = Ipv4Addr::UNSPECIFIED;
        }
        Some(self)
    }
}

impl Clean for InfoIfStats {
    fn clean(mut self, layout: ItemLayout) -> Option<Self> {
        self.v6_flag = v6(self.v6_flag, layout)?;
        self.filler0 = [0; 4];
        if self.v6_flag == 0 {
            // The unions hold an IPv4 address in their first four octets.
            for union in [&mut self.unaddr, &mut self.unbcast, &mut self.unmask] {
                if let Some(rest) = union.get_mut(4..) {
                    rest.fill(0);
                }
            }
        }
        Some(self)
    }
}
