//! Access control: restriction flag sets and the classic ntpd restrict-list semantics.
//!
//! Resolution follows `ntpd/ntp_restrict.c` of ntp 4.2.8: one list per address family,
//! kept sorted by descending (masked) address, then descending mask, then match flags
//! (`interface` entries first, `source` entries last); ties keep insertion order. The first
//! entry whose address equals `source & mask` (and, for `ntpport` entries, whose source port
//! is 123) wins — for contiguous masks that is the longest matching prefix. The default entry
//! (`0.0.0.0/0`, `::/0`) is always present with no flags, so it is the base. A `restrict` line
//! for an entry that already exists (same address, mask and match flags) ORs its flags in;
//! `ippeerlimit` keeps the first value. Packets from multicast sources are always ignored.

use crate::config::{Address, AssociationKind, Config, Family, RestrictOp, RestrictTarget};
use crate::diag::Location;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

macro_rules! flag_set {
    ($(#[$doc:meta])* $name:ident($repr:ty) { $($(#[$fdoc:meta])* $flag:ident = $bit:expr, $kw:expr;)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub $repr);

        impl $name {
            $($(#[$fdoc])* pub const $flag: $name = $name($bit);)*
            /// Every flag with its configuration keyword.
            pub const ALL: &'static [($name, &'static str)] = &[$(($name::$flag, $kw)),*];

            /// The empty set.
            pub const fn empty() -> Self { $name(0) }
            /// The raw bits (as classic ntpd numbers them).
            pub const fn bits(self) -> $repr { self.0 }
            /// True if every flag of `other` is set.
            pub const fn contains(self, other: Self) -> bool { self.0 & other.0 == other.0 }
            /// True if no flag is set.
            pub const fn is_empty(self) -> bool { self.0 == 0 }
            /// Set the flags of `other`.
            pub fn insert(&mut self, other: Self) { self.0 |= other.0; }
            /// Clear the flags of `other`.
            pub fn remove(&mut self, other: Self) { self.0 &= !other.0; }
            /// The flag for a configuration keyword.
            pub fn from_keyword(kw: &str) -> Option<Self> {
                Self::ALL.iter().find(|(_, k)| *k == kw).map(|(f, _)| *f)
            }
        }

        impl std::ops::BitOr for $name {
            type Output = Self;
            fn bitor(self, rhs: Self) -> Self { $name(self.0 | rhs.0) }
        }

        impl fmt::Display for $name {
            /// The keywords of the set flags, space separated.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut first = true;
                for (flag, kw) in Self::ALL {
                    if self.contains(*flag) {
                        if !first { f.write_str(" ")?; }
                        f.write_str(kw)?;
                        first = false;
                    }
                }
                Ok(())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:#x} {})", stringify!($name), self.0, self)
            }
        }
    };
}

flag_set! {
    /// Access flags of a restrict entry, with classic ntpd's bit values (`RES_*`).
    RestrictFlags(u32) {
        /// `ignore`: drop every packet.
        IGNORE = 0x1, "ignore";
        /// `noserve`: no time service.
        NOSERVE = 0x2, "noserve";
        /// `notrust`: only authenticated packets may be trusted.
        NOTRUST = 0x4, "notrust";
        /// `version`: deny packets that do not match the current NTP version.
        VERSION = 0x8, "version";
        /// `nopeer`: no unauthenticated peer mobilisation.
        NOPEER = 0x10, "nopeer";
        /// `noepeer`: no ephemeral peer mobilisation.
        NOEPEER = 0x20, "noepeer";
        /// `limited`: rate-limit time service.
        LIMITED = 0x40, "limited";
        /// `noquery`: no mode 6/7 queries.
        NOQUERY = 0x80, "noquery";
        /// `nomodify`: no runtime modification.
        NOMODIFY = 0x100, "nomodify";
        /// `notrap`: no trap service.
        NOTRAP = 0x200, "notrap";
        /// `lowpriotrap`: low-priority traps.
        LPTRAP = 0x400, "lowpriotrap";
        /// `kod`: send kiss-o'-death when rate-limited.
        KOD = 0x800, "kod";
        /// `mssntp`: MS-SNTP signing.
        MSSNTP = 0x1000, "mssntp";
        /// `flake`: drop 10 % of packets (testing).
        FLAKE = 0x2000, "flake";
        /// `nomrulist`: no mrulist queries.
        NOMRULIST = 0x4000, "nomrulist";
        /// `serverresponse fuzz`: fuzz the low bits of server response timestamps.
        SRVRSPFUZ = 0x8000, "serverresponse";
    }
}

flag_set! {
    /// Match modifiers of a restrict entry (`RESM_*`).
    MatchFlags(u16) {
        /// `interface`: an entry for a local interface address (sorted first).
        INTERFACE = 0x1000, "interface";
        /// `ntpport`: matches only packets from source port 123.
        NTPONLY = 0x2000, "ntpport";
        /// Entry created from the `restrict source` template (sorted last).
        SOURCE = 0x4000, "source";
    }
}

/// The effective restriction for one source address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restriction {
    /// The access flags of the winning entry.
    pub flags: RestrictFlags,
    /// Its `ippeerlimit` (-1 = unlimited).
    pub ippeerlimit: i32,
    /// The line of the winning entry; `None` for the built-in empty default or a multicast
    /// source.
    pub matched: Option<Location>,
}

/// One entry of a restrict list (IPv4 addresses are stored in the low 32 bits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Masked address.
    pub addr: u128,
    /// Mask.
    pub mask: u128,
    /// Match flags.
    pub mflags: MatchFlags,
    /// Access flags.
    pub rflags: RestrictFlags,
    /// `ippeerlimit`.
    pub ippeerlimit: i32,
    /// The line that created the entry (for a default entry: the first `restrict default`).
    pub created_at: Option<Location>,
    /// True for the two built-in default entries, which can never be removed.
    pub builtin: bool,
}

fn mflags_sort_before(m1: MatchFlags, m2: MatchFlags) -> bool {
    if m1.contains(MatchFlags::INTERFACE) && !m2.contains(MatchFlags::INTERFACE) {
        true
    } else {
        !m1.contains(MatchFlags::SOURCE) && m2.contains(MatchFlags::SOURCE)
    }
}

fn sorts_before(a: &Entry, b: &Entry) -> bool {
    if a.addr != b.addr {
        return a.addr > b.addr;
    }
    if a.mask != b.mask {
        return a.mask > b.mask;
    }
    mflags_sort_before(a.mflags, b.mflags)
}

/// What applying one restrict line did to the table (used by `Config::check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// A new entry was inserted.
    Inserted,
    /// An existing entry was updated; the location of the line that created it (`None`: a
    /// built-in default no line had touched before).
    Merged(Option<Location>),
    /// An entry was removed.
    Removed,
    /// Nothing matched (for `unrestrict`/`delrestrict`).
    NotFound,
}

/// Both restrict lists, built from a [`Config`] exactly as classic ntpd would at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestrictTable {
    /// IPv4 list, in match order.
    pub v4: Vec<Entry>,
    /// IPv6 list, in match order.
    pub v6: Vec<Entry>,
}

fn default_entry() -> Entry {
    Entry {
        addr: 0,
        mask: 0,
        mflags: MatchFlags::empty(),
        rflags: RestrictFlags::empty(),
        ippeerlimit: -1,
        created_at: None,
        builtin: true,
    }
}

/// Address bits as u128 and whether it is IPv6.
pub(crate) fn ip_bits(ip: IpAddr) -> (u128, bool) {
    match ip {
        IpAddr::V4(a) => (u128::from(u32::from(a)), false),
        IpAddr::V6(a) => (u128::from(a), true),
    }
}

fn host_mask(v6: bool) -> u128 {
    if v6 {
        u128::MAX
    } else {
        u128::from(u32::MAX)
    }
}

/// The operation to apply to one list.
struct Op<'a> {
    op: RestrictOp,
    addr: u128,
    mask: u128,
    mflags: MatchFlags,
    rflags: RestrictFlags,
    ippeerlimit: i32,
    at: Option<&'a Location>,
}

impl RestrictTable {
    /// Lists holding only the built-in empty default entries.
    pub fn new() -> Self {
        RestrictTable {
            v4: vec![default_entry()],
            v6: vec![default_entry()],
        }
    }

    fn apply(list: &mut Vec<Entry>, op: Op<'_>) -> Applied {
        let addr = op.addr & op.mask;
        let existing = list
            .iter()
            .position(|e| e.addr == addr && e.mask == op.mask && e.mflags == op.mflags);
        match op.op {
            RestrictOp::Restrict => {
                if let Some(i) = existing {
                    let before = list[i].created_at.clone();
                    list[i].rflags.insert(op.rflags);
                    if before.is_none() {
                        // First configured line for a built-in default: remember it so
                        // lookups can name the line that set the base flags.
                        list[i].created_at = op.at.cloned();
                    }
                    return Applied::Merged(before);
                }
                let entry = Entry {
                    addr,
                    mask: op.mask,
                    mflags: op.mflags,
                    rflags: op.rflags,
                    ippeerlimit: op.ippeerlimit,
                    created_at: op.at.cloned(),
                    builtin: false,
                };
                let pos = list
                    .iter()
                    .position(|e| sorts_before(&entry, e))
                    .unwrap_or(list.len());
                list.insert(pos, entry);
                Applied::Inserted
            }
            RestrictOp::Unrestrict if !op.rflags.is_empty() => match existing {
                Some(i) => {
                    list[i].rflags.remove(op.rflags);
                    Applied::Merged(list[i].created_at.clone())
                }
                None => Applied::NotFound,
            },
            RestrictOp::Unrestrict | RestrictOp::Delrestrict => match existing {
                // The built-in default entry is never removed (classic `hack_restrict`).
                Some(i) if !list[i].builtin => {
                    list.remove(i);
                    Applied::Removed
                }
                _ => Applied::NotFound,
            },
        }
    }

    /// Build the lists from `config`, reporting what each line did (in line order, for lines
    /// whose address is a literal or `default`; name entries cannot be placed without DNS).
    pub fn build(config: &Config) -> (Self, Vec<(usize, Applied)>) {
        let mut table = RestrictTable::new();
        let mut report = Vec::new();
        let mut source: Option<(RestrictFlags, MatchFlags, i32)> = None;
        for (idx, line) in config.restrictions.iter().enumerate() {
            let ippeerlimit = line.ippeerlimit.unwrap_or(-1);
            match &line.target {
                RestrictTarget::Default => {
                    for v6 in [false, true] {
                        let wanted = match line.family {
                            None => true,
                            Some(Family::V4) => !v6,
                            Some(Family::V6) => v6,
                        };
                        if !wanted {
                            continue;
                        }
                        let list = if v6 { &mut table.v6 } else { &mut table.v4 };
                        let applied = Self::apply(
                            list,
                            Op {
                                op: line.op,
                                addr: 0,
                                mask: 0,
                                mflags: line.match_flags,
                                rflags: line.flags,
                                ippeerlimit,
                                at: Some(&line.location),
                            },
                        );
                        report.push((idx, applied));
                    }
                }
                RestrictTarget::Source => {
                    if line.op == RestrictOp::Restrict {
                        source = Some((
                            line.flags,
                            line.match_flags | MatchFlags::SOURCE,
                            ippeerlimit,
                        ));
                    }
                }
                RestrictTarget::Host {
                    address: Address::Ip(ip),
                    mask,
                } => {
                    let (bits, v6) = ip_bits(*ip);
                    let mask = mask.map(|m| ip_bits(m).0).unwrap_or_else(|| host_mask(v6));
                    let list = if v6 { &mut table.v6 } else { &mut table.v4 };
                    let applied = Self::apply(
                        list,
                        Op {
                            op: line.op,
                            addr: bits,
                            mask,
                            mflags: line.match_flags,
                            rflags: line.flags,
                            ippeerlimit,
                            at: Some(&line.location),
                        },
                    );
                    report.push((idx, applied));
                }
                RestrictTarget::Host { .. } => {}
            }
        }
        // `restrict source` entries are added when associations are mobilised, which classic
        // does after processing the access lines (`config_access` runs before `config_peers`).
        if let Some((rflags, mflags, ippeerlimit)) = source {
            for assoc in &config.associations {
                let Address::Ip(ip) = assoc.address else {
                    continue;
                };
                if ip.is_multicast() || assoc.kind == AssociationKind::Broadcast {
                    continue;
                }
                let (bits, v6) = ip_bits(ip);
                let list = if v6 { &mut table.v6 } else { &mut table.v4 };
                Self::apply(
                    list,
                    Op {
                        op: RestrictOp::Restrict,
                        addr: bits,
                        mask: host_mask(v6),
                        mflags,
                        rflags,
                        ippeerlimit,
                        at: Some(&assoc.location),
                    },
                );
            }
        }
        (table, report)
    }

    /// The restriction for a packet from `source`, as classic `restrictions()` computes it.
    pub fn lookup(&self, source: SocketAddr) -> Restriction {
        let ip = match source.ip() {
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(a),
            },
            v4 => v4,
        };
        if ip.is_multicast() {
            return Restriction {
                flags: RestrictFlags::IGNORE,
                ippeerlimit: 0,
                matched: None,
            };
        }
        let (bits, v6) = ip_bits(ip);
        let list = if v6 { &self.v6 } else { &self.v4 };
        let hit = list.iter().find(|e| {
            e.addr == bits & e.mask
                && (!e.mflags.contains(MatchFlags::NTPONLY) || source.port() == 123)
        });
        match hit {
            Some(e) => Restriction {
                flags: e.rflags,
                ippeerlimit: e.ippeerlimit,
                matched: e.created_at.clone(),
            },
            None => Restriction {
                flags: RestrictFlags::empty(),
                ippeerlimit: -1,
                matched: None,
            },
        }
    }
}

impl Default for RestrictTable {
    fn default() -> Self {
        Self::new()
    }
}

impl Config {
    /// The effective restriction for a packet from `addr` with a source port other than 123
    /// (so `ntpport` entries do not match); see [`Config::restriction_for_source`].
    pub fn restriction_for(&self, addr: IpAddr) -> Restriction {
        self.restriction_for_source(SocketAddr::new(addr, 0))
    }

    /// The effective restriction for a packet from `source` (address and port), resolved
    /// exactly as classic ntpd does: most specific entry wins, the default entry is the base.
    /// Host-name entries are ignored (they need DNS); build a [`RestrictTable`] once and call
    /// [`RestrictTable::lookup`] on a hot path.
    pub fn restriction_for_source(&self, source: SocketAddr) -> Restriction {
        RestrictTable::build(self).0.lookup(source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_display_lists_keywords() {
        let f = RestrictFlags::KOD | RestrictFlags::NOMODIFY;
        assert_eq!(f.to_string(), "nomodify kod");
        assert_eq!(
            RestrictFlags::from_keyword("noquery"),
            Some(RestrictFlags::NOQUERY)
        );
        assert_eq!(RestrictFlags::from_keyword("nomodfy"), None);
    }

    #[test]
    fn bits_match_classic_values() {
        assert_eq!(RestrictFlags::SRVRSPFUZ.bits(), 0x8000);
        assert_eq!(RestrictFlags::NOMRULIST.bits(), 0x4000);
        assert_eq!(MatchFlags::NTPONLY.bits(), 0x2000);
    }

    #[test]
    fn equal_keys_sort_interface_first_and_source_last() {
        let e = |m| Entry {
            addr: 5,
            mask: u128::MAX,
            mflags: m,
            rflags: RestrictFlags::empty(),
            ippeerlimit: -1,
            created_at: None,
            builtin: false,
        };
        assert!(sorts_before(
            &e(MatchFlags::INTERFACE),
            &e(MatchFlags::empty())
        ));
        assert!(sorts_before(
            &e(MatchFlags::empty()),
            &e(MatchFlags::SOURCE)
        ));
        assert!(!sorts_before(
            &e(MatchFlags::NTPONLY),
            &e(MatchFlags::empty())
        ));
    }
}
