//! Mode 6 status words (system, peer, clock) with the classic `statustoa` strings, and the
//! binary READSTAT (association 0) payload.

use crate::{Reader, WireError};

/// Look `code` up in `table`; unknown codes render like classic `getcode()`: `<prefix>_<code>`.
fn code_name(table: &[&'static str], code: u8, prefix: &str) -> String {
    match table.get(usize::from(code)) {
        Some(s) => (*s).to_owned(),
        None => format!("{prefix}_{code}"),
    }
}

/// Classic `getevents()`: `no events`, `1 event`, `N events`.
fn events_text(count: u8) -> String {
    match count {
        0 => "no events".to_owned(),
        1 => "1 event".to_owned(),
        n => format!("{n} events"),
    }
}

/// Leap indicator strings, indexed by LI.
pub const LEAP_NAMES: [&str; 4] = ["leap_none", "leap_add_sec", "leap_del_sec", "leap_alarm"];

/// System status "source" strings (`sync_codes`), indexed by source code.
pub const SOURCE_NAMES: [&str; 10] = [
    "sync_unspec",
    "sync_pps",
    "sync_lf_radio",
    "sync_hf_radio",
    "sync_uhf_radio",
    "sync_local",
    "sync_ntp",
    "sync_other",
    "sync_wristwatch",
    "sync_telephone",
];

/// System event strings (`sys_codes`), indexed by event code.
pub const SYSTEM_EVENT_NAMES: [&str; 16] = [
    "unspecified",
    "freq_not_set",
    "freq_set",
    "spike_detect",
    "freq_mode",
    "clock_sync",
    "restart",
    "panic_stop",
    "no_sys_peer",
    "leap_armed",
    "leap_disarmed",
    "leap_event",
    "clock_step",
    "kern",
    "TAI",
    "stale_leapsecond_values",
];

/// Peer selection strings (`select_codes`), indexed by the 3-bit select code.
pub const SELECT_NAMES: [&str; 8] = [
    "sel_reject",
    "sel_falsetick",
    "sel_excess",
    "sel_outlier",
    "sel_candidate",
    "sel_backup",
    "sel_sys.peer",
    "sel_pps.peer",
];

/// Peer event strings (`peer_codes`), indexed by event code; code 0 has no name.
pub const PEER_EVENT_NAMES: [&str; 16] = [
    "",
    "mobilize",
    "demobilize",
    "unreachable",
    "reachable",
    "restart",
    "no_reply",
    "rate_exceeded",
    "access_denied",
    "leap_armed",
    "sys_peer",
    "clock_event",
    "bad_auth",
    "popcorn",
    "interleave_mode",
    "interleave_error",
];

/// Clock status code strings (`clock_codes`), indexed by code.
pub const CLOCK_CODE_NAMES: [&str; 7] = [
    "clk_unspec",
    "clk_no_reply",
    "clk_bad_format",
    "clk_fault",
    "clk_bad_signal",
    "clk_bad_date",
    "clk_bad_time",
];

/// The system status word: `LI(15..14) | Source(13..8) | Count(7..4) | Event(3..0)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SystemStatus {
    /// Leap indicator, 0..=3.
    pub leap: u8,
    /// Clock source of the system peer, 0..=63 (6 = `sync_ntp`).
    pub source: u8,
    /// Events since the last authenticated read, 0..=15.
    pub count: u8,
    /// Code of the last event, 0..=15.
    pub event: u8,
}

impl SystemStatus {
    /// Split a status word into its fields (every u16 is valid).
    pub fn from_u16(word: u16) -> Self {
        let [hi, lo] = word.to_be_bytes();
        SystemStatus {
            leap: hi >> 6,
            source: hi & 0x3f,
            count: lo >> 4,
            event: lo & 0x0f,
        }
    }

    /// The status word; fields wider than their bit range are masked.
    pub fn to_u16(self) -> u16 {
        u16::from_be_bytes([
            ((self.leap & 3) << 6) | (self.source & 0x3f),
            ((self.count & 0x0f) << 4) | (self.event & 0x0f),
        ])
    }

    /// `leap_none` ... `leap_alarm`.
    pub fn leap_name(self) -> String {
        code_name(&LEAP_NAMES, self.leap & 3, "leap")
    }

    /// `sync_unspec` ... `sync_telephone`; others `sync_<n>`.
    pub fn source_name(self) -> String {
        code_name(&SOURCE_NAMES, self.source, "sync")
    }

    /// `unspecified` ... `stale_leapsecond_values`.
    pub fn event_name(self) -> String {
        code_name(&SYSTEM_EVENT_NAMES, self.event & 0x0f, "")
    }

    /// What classic `statustoa(TYPE_SYS, ..)` prints, e.g. `leap_none, sync_ntp, 1 event, restart`.
    pub fn describe(self) -> String {
        format!(
            "{}, {}, {}, {}",
            self.leap_name(),
            self.source_name(),
            events_text(self.count),
            self.event_name()
        )
    }
}

/// The peer status word: `Status(15..11) | Select(10..8) | Count(7..4) | Event(3..0)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PeerStatus {
    /// 0x80 in the high byte: association from the configuration (`conf`).
    pub configured: bool,
    /// 0x40: a key is configured (`authenb`).
    pub auth_enabled: bool,
    /// 0x20: last packet authenticated (`auth`).
    pub authentic: bool,
    /// 0x10: reach register non-zero (`reach`).
    pub reachable: bool,
    /// 0x08: broadcast/multicast association (`bcast`).
    pub broadcast: bool,
    /// Selection code 0..=7 (6 = system peer).
    pub select: u8,
    /// Event counter 0..=15.
    pub count: u8,
    /// Last event code 0..=15.
    pub event: u8,
}

impl PeerStatus {
    /// Split a status word into its fields (every u16 is valid).
    pub fn from_u16(word: u16) -> Self {
        let [hi, lo] = word.to_be_bytes();
        PeerStatus {
            configured: hi & 0x80 != 0,
            auth_enabled: hi & 0x40 != 0,
            authentic: hi & 0x20 != 0,
            reachable: hi & 0x10 != 0,
            broadcast: hi & 0x08 != 0,
            select: hi & 0x07,
            count: lo >> 4,
            event: lo & 0x0f,
        }
    }

    /// The status word; fields wider than their bit range are masked.
    pub fn to_u16(self) -> u16 {
        let mut hi = self.select & 7;
        for (set, bit) in [
            (self.configured, 0x80),
            (self.auth_enabled, 0x40),
            (self.authentic, 0x20),
            (self.reachable, 0x10),
            (self.broadcast, 0x08),
        ] {
            if set {
                hi |= bit;
            }
        }
        u16::from_be_bytes([hi, ((self.count & 0x0f) << 4) | (self.event & 0x0f)])
    }

    /// The set status bits as classic names, in classic order: `conf`, `authenb`, `auth`,
    /// `reach`, `bcast`.
    pub fn flag_names(self) -> Vec<&'static str> {
        [
            (self.configured, "conf"),
            (self.auth_enabled, "authenb"),
            (self.authentic, "auth"),
            (self.reachable, "reach"),
            (self.broadcast, "bcast"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect()
    }

    /// `sel_reject` ... `sel_pps.peer`.
    pub fn select_name(self) -> &'static str {
        SELECT_NAMES
            .get(usize::from(self.select & 7))
            .copied()
            .unwrap_or("sel_reject")
    }

    /// `mobilize` ... `interleave_error`; `None` for event 0 (no event).
    pub fn event_name(self) -> Option<&'static str> {
        match self.event & 0x0f {
            0 => None,
            e => PEER_EVENT_NAMES.get(usize::from(e)).copied(),
        }
    }

    /// What classic `statustoa(TYPE_PEER, ..)` prints, e.g.
    /// `conf, reach, sel_sys.peer, 1 event, sys_peer` (the event only when non-zero).
    pub fn describe(self) -> String {
        let mut parts: Vec<String> = self.flag_names().into_iter().map(str::to_owned).collect();
        parts.push(self.select_name().to_owned());
        parts.push(events_text(self.count));
        if let Some(e) = self.event_name() {
            parts.push(e.to_owned());
        }
        parts.join(", ")
    }
}

/// The clock status word as ntpq decodes it: `Count(7..4) | Code(3..0)`, the high byte unused.
///
/// ntpd actually builds it as `(last_event << 4) | current_status`; ntpq reads the upper
/// nibble as an event count. This type keeps the raw high byte so decoding is lossless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ClockStatus {
    /// High byte (always 0 from classic ntpd), kept for exact re-encoding.
    pub high: u8,
    /// Bits 7..4: event count (ntpq) / last event (ntpd).
    pub count: u8,
    /// Bits 3..0: current clock status code (`clk_unspec` ...).
    pub code: u8,
}

impl ClockStatus {
    /// Split a status word into its fields (every u16 is valid).
    pub fn from_u16(word: u16) -> Self {
        let [high, lo] = word.to_be_bytes();
        ClockStatus {
            high,
            count: lo >> 4,
            code: lo & 0x0f,
        }
    }

    /// The status word; fields wider than their bit range are masked.
    pub fn to_u16(self) -> u16 {
        u16::from_be_bytes([self.high, ((self.count & 0x0f) << 4) | (self.code & 0x0f)])
    }

    /// `clk_unspec` ... `clk_bad_time`; others `clk_<n>`.
    pub fn code_name(self) -> String {
        code_name(&CLOCK_CODE_NAMES, self.code & 0x0f, "clk")
    }

    /// What classic `statustoa(TYPE_CLOCK, ..)` prints, e.g. `no events, clk_unspec`.
    pub fn describe(self) -> String {
        format!("{}, {}", events_text(self.count), self.code_name())
    }
}

/// One entry of the binary READSTAT (association 0) response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AssocStatus {
    /// Association ID.
    pub assoc_id: u16,
    /// That association's peer status word.
    pub status: PeerStatus,
}

/// Decode the READSTAT (association 0) payload: pairs of (u16 association ID, u16 peer status).
///
/// # Errors
/// [`WireError::Malformed`] when the length is not a multiple of 4.
pub fn decode_assoc_list(data: &[u8]) -> Result<Vec<AssocStatus>, WireError> {
    if data.len() % 4 != 0 {
        return Err(WireError::Malformed {
            what: "READSTAT association list",
            reason: "length is not a multiple of 4",
        });
    }
    let mut r = Reader::new(data);
    let mut out = Vec::with_capacity(data.len() / 4);
    while !r.is_empty() {
        let assoc_id = r.u16("association id")?;
        let status = PeerStatus::from_u16(r.u16("peer status")?);
        out.push(AssocStatus { assoc_id, status });
    }
    Ok(out)
}

/// Encode a READSTAT (association 0) payload (4 octets per entry), e.g. to feed
/// [`super::Fragmenter::put_binary`].
pub fn encode_assoc_list(list: &[AssocStatus]) -> Vec<u8> {
    list.iter()
        .flat_map(|a| {
            let [a0, a1] = a.assoc_id.to_be_bytes();
            let [s0, s1] = a.status.to_u16().to_be_bytes();
            [a0, a1, s0, s1]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_status_0616_reads_as_in_ntpq_rv() {
        let s = SystemStatus::from_u16(0x0616);
        assert_eq!((s.leap, s.source, s.count, s.event), (0, 6, 1, 6));
        assert_eq!(s.describe(), "leap_none, sync_ntp, 1 event, restart");
        assert_eq!(s.to_u16(), 0x0616);
    }

    #[test]
    fn system_status_unknown_source_uses_getcode_fallback() {
        let s = SystemStatus::from_u16(0xcf00);
        assert_eq!(s.leap_name(), "leap_alarm");
        assert_eq!(s.source_name(), "sync_15");
        assert_eq!(s.describe(), "leap_alarm, sync_15, no events, unspecified");
    }

    #[test]
    fn peer_status_961a_is_sys_peer() {
        let p = PeerStatus::from_u16(0x961a);
        assert!(p.configured && p.reachable && !p.auth_enabled && !p.authentic);
        assert_eq!(p.select, 6);
        assert_eq!(p.describe(), "conf, reach, sel_sys.peer, 1 event, sys_peer");
        assert_eq!(p.to_u16(), 0x961a);
    }

    #[test]
    fn peer_status_without_event_omits_it() {
        let p = PeerStatus::from_u16(0x8010);
        assert_eq!(p.describe(), "conf, sel_reject, 1 event");
        let q = PeerStatus::from_u16(0x7800);
        assert_eq!(
            q.describe(),
            "authenb, auth, reach, bcast, sel_reject, no events"
        );
    }

    #[test]
    fn every_word_round_trips_through_each_status_type() {
        for w in 0..=u16::MAX {
            assert_eq!(SystemStatus::from_u16(w).to_u16(), w);
            assert_eq!(PeerStatus::from_u16(w).to_u16(), w);
            assert_eq!(ClockStatus::from_u16(w).to_u16(), w);
        }
    }

    #[test]
    fn clock_status_zero_reads_as_in_ntpq_cv() {
        assert_eq!(ClockStatus::from_u16(0).describe(), "no events, clk_unspec");
        assert_eq!(ClockStatus::from_u16(0x0029).describe(), "2 events, clk_9");
    }

    #[test]
    fn assoc_list_round_trips_and_rejects_odd_length() {
        let bytes = [0x27, 0x71, 0x80, 0x13, 0x27, 0x72, 0x96, 0x1a];
        let list = decode_assoc_list(&bytes).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].assoc_id, 10098);
        assert_eq!(list[1].status.select, 6);
        assert_eq!(encode_assoc_list(&list), bytes);
        assert!(decode_assoc_list(&bytes[..7]).is_err());
    }
}
