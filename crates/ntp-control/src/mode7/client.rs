//! The sans-IO ntpdc session: builds mode 7 requests, feeds responses through reassembly and
//! applies classic ntpdc's fallbacks (implementation 2, smaller request frames).
//!
//! A [`Session`] keeps what classic ntpdc keeps per open host: the implementation number it
//! talks (`impl_ver`, 3 until the server refuses it), the request frame size (`req_pkt_size`,
//! 192 until the server reports format errors) and the `delay` added to the timestamp of
//! authenticated requests. One [`Query`] is one classic `doquery()` plus the command's
//! "retry with the older implementation" loop; drive it with [`Exchange`]:
//!
//! ```
//! use ntp_control::mode7::client::{Exchange, Query, QueryEvent, Session};
//! use ntp_wire::mode7::{LFp, RequestCode};
//!
//! let mut session = Session::new();
//! let query = Query::simple(RequestCode::SysInfo, 80);
//! let mut ex = Exchange::start(&mut session, query, LFp(0));
//! let Some(QueryEvent::Send(request)) = ex.poll_event() else { panic!() };
//! assert_eq!(request.len(), 192);
//! // The server's error reply: "data not found".
//! ex.handle_datagram(&[0x97, 0, 3, 4, 0x40, 0, 0, 0], LFp(0));
//! assert!(ex.outcome().is_some());
//! ```
//!
//! Nothing here touches a socket or a clock: the caller sends the datagrams it is handed, waits
//! [`Exchange::wait_for`] for an answer, and passes the current NTP time in for the timestamp
//! of (re)sent authenticated requests.

use std::collections::VecDeque;
use std::time::Duration;

use ntp_wire::mode7::{
    Fragment, Implementation, InfoError, LFp, PrivateHeader, Reassembler, RequestCode, HEADER_LEN,
    REQUEST_LEN_NOMAC,
};
use ntp_wire::SymmetricKey;

/// Classic ntpdc's wait for the first datagram of a response (`DEFTIMEOUT`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Classic ntpdc's wait between the datagrams of one response (`DEFSTIMEOUT`).
pub const DEFAULT_SECONDARY_TIMEOUT: Duration = Duration::from_secs(2);
/// Classic's default `delay`: 20 ms as an l_fp fraction (`DEFDELAY`).
pub const DEFAULT_DELAY: u64 = 0x051E_B852;
/// Room for the largest MAC after the frame (key id + 20-octet digest).
const MAX_MAC: usize = 4 + 20;

/// Per-host state of an ntpdc session.
#[derive(Debug, Clone)]
pub struct Session {
    implementation: Implementation,
    request_size: usize,
    delay: u64,
    timeout: Duration,
    secondary_timeout: Duration,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    /// A fresh session: implementation 3, 192-octet requests, 20 ms delay, 5 s / 2 s timeouts.
    pub fn new() -> Self {
        Session {
            implementation: Implementation::Xntpd,
            request_size: REQUEST_LEN_NOMAC,
            delay: DEFAULT_DELAY,
            timeout: DEFAULT_TIMEOUT,
            secondary_timeout: DEFAULT_SECONDARY_TIMEOUT,
        }
    }

    /// Forget the fallbacks, as classic does when it opens a (new) host.
    pub fn reset_host(&mut self) {
        self.implementation = Implementation::Xntpd;
        self.request_size = REQUEST_LEN_NOMAC;
    }

    /// The implementation number requests are sent with.
    pub fn implementation(&self) -> Implementation {
        self.implementation
    }

    /// The current request frame size (192, 160 or 48).
    pub fn request_size(&self) -> usize {
        self.request_size
    }

    /// Set the `delay` built-in in milliseconds (may be negative), as classic computes it:
    /// whole seconds plus `ms % 1000 * 4294967` fraction units, negated for negative values.
    pub fn set_delay_ms(&mut self, ms: i64) {
        let mag = ms.unsigned_abs();
        let ui = (mag / 1000) & 0xffff_ffff;
        let uf = ((mag % 1000) * 4_294_967) & 0xffff_ffff;
        let v = (ui << 32) | uf;
        self.delay = if ms < 0 { v.wrapping_neg() } else { v };
    }

    /// The `delay` as classic's `delay` built-in prints it: `l_ui * 1000 + l_uf / 4294967`
    /// in 32-bit unsigned arithmetic (so negative delays print as large numbers, as classic).
    pub fn delay_ms(&self) -> u64 {
        let ui = (self.delay >> 32) as u32;
        let uf = self.delay as u32;
        u64::from(ui.wrapping_mul(1000).wrapping_add(uf / 4_294_967))
    }

    /// Set the primary timeout (`timeout` built-in).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The primary timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// One request as a command describes it: code, whether it needs a MAC, request items in both
/// layouts, and the item size the command expects back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Request code.
    pub code: RequestCode,
    /// Classic's `auth` argument: MAC the request when a key is given.
    pub auth: bool,
    /// Number of request items.
    pub nitems: u16,
    /// Items in the full layout (implementation 3) and their size.
    pub items_full: (u16, Vec<u8>),
    /// Items in the truncated layout (implementation 2) and their size.
    pub items_truncated: (u16, Vec<u8>),
    /// True when an item names an IPv6 address, which implementation 2 cannot carry.
    pub needs_full_layout: bool,
    /// `esize`: smaller response items are zero padded to this size (classic `getresponse`).
    pub expected_item_size: usize,
    /// Error codes that are returned without a message (classic `quiet_mask`).
    pub quiet: Vec<InfoError>,
    /// Key for the MAC when `auth` is set; `None` sends the request unauthenticated (classic's
    /// behaviour after `keyid 0`).
    pub key: Option<SymmetricKey>,
}

impl Query {
    /// A request without items or MAC expecting items of `expected_item_size` octets.
    pub fn simple(code: RequestCode, expected_item_size: usize) -> Self {
        Query {
            code,
            auth: false,
            nitems: 0,
            items_full: (0, Vec::new()),
            items_truncated: (0, Vec::new()),
            needs_full_layout: false,
            expected_item_size,
            quiet: Vec::new(),
            key: None,
        }
    }
}

/// Why a query produced no items.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The server answered with this error code.
    #[error("{}", .0.ntpdc_message())]
    Server(InfoError),
    /// Nothing came back in time.
    #[error("***Request timed out")]
    Timeout,
    /// Some but not all fragments came back in time.
    #[error("***Response from server was incomplete")]
    Incomplete,
    /// The server only speaks implementation 2, which has no room for IPv6 addresses.
    #[error("***Server doesn't understand IPv6 addresses")]
    Ipv6NotUnderstood,
    /// A digest longer than 16 octets needs the 192-octet frame (classic silently gives up).
    #[error("long digests need the full request frame")]
    DigestNeedsFullFrame,
}

impl QueryError {
    /// The classic stderr line for this error, or `None` when classic prints nothing (quiet
    /// codes are handled by the caller).
    pub fn message(&self) -> Option<String> {
        match self {
            QueryError::DigestNeedsFullFrame => None,
            other => Some(other.to_string()),
        }
    }
}

/// Something the caller must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryEvent {
    /// Send this datagram to the server (after discarding anything already queued, as
    /// classic's `doquery` does).
    Send(Vec<u8>),
    /// Print this line on stderr (the fallback warnings).
    Warning(String),
    /// Classic's debugging text for a skipped or odd datagram (printed on stdout with `-d`);
    /// includes its newline where classic has one.
    Debug(String),
}

/// A complete response: items zero padded to the expected size, as classic hands them to the
/// command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The implementation that was answered.
    pub implementation: Implementation,
    /// Number of items.
    pub nitems: usize,
    /// Size of each item in `data` (the received size, or the expected size if that is larger).
    pub item_size: usize,
    /// The items back to back.
    pub data: Vec<u8>,
}

/// One query in flight.
#[derive(Debug)]
pub struct Exchange<'s> {
    session: &'s mut Session,
    query: Query,
    events: VecDeque<QueryEvent>,
    reassembler: Reassembler,
    received_any: bool,
    /// Sequence numbers accepted so far, the first accepted item size (after padding) and
    /// the last sequence number: what classic's `getresponse` checks and reports.
    seen: [bool; 128],
    first_size: Option<usize>,
    last_seq: Option<u8>,
    outcome: Option<Result<Response, QueryError>>,
}

impl<'s> Exchange<'s> {
    /// Build the first request; `now` is the current NTP time for an authenticated timestamp.
    pub fn start(session: &'s mut Session, query: Query, now: LFp) -> Self {
        let reassembler = Reassembler::new(session.implementation, query.code);
        let mut ex = Exchange {
            session,
            query,
            events: VecDeque::new(),
            reassembler,
            received_any: false,
            seen: [false; 128],
            first_size: None,
            last_seq: None,
            outcome: None,
        };
        ex.send(now);
        ex
    }

    /// The next thing to do, if any.
    pub fn poll_event(&mut self) -> Option<QueryEvent> {
        self.events.pop_front()
    }

    /// How long to wait for the next datagram.
    pub fn wait_for(&self) -> Duration {
        if self.received_any {
            self.session.secondary_timeout
        } else {
            self.session.timeout
        }
    }

    /// The result, once the exchange is over (check after draining events).
    pub fn outcome(&self) -> Option<&Result<Response, QueryError>> {
        self.outcome.as_ref()
    }

    /// Take the result out.
    pub fn into_outcome(self) -> Option<Result<Response, QueryError>> {
        self.outcome
    }

    fn send(&mut self, now: LFp) {
        self.reassembler = Reassembler::new(self.session.implementation, self.query.code);
        self.received_any = false;
        self.seen = [false; 128];
        self.first_size = None;
        self.last_seq = None;
        if self.session.implementation != Implementation::Xntpd && self.query.needs_full_layout {
            self.outcome = Some(Err(QueryError::Ipv6NotUnderstood));
            return;
        }
        match build_request(self.session, &self.query, now) {
            Some(bytes) => self.events.push_back(QueryEvent::Send(bytes)),
            None => self.outcome = Some(Err(QueryError::DigestNeedsFullFrame)),
        }
    }

    /// Feed one received datagram.
    pub fn handle_datagram(&mut self, datagram: &[u8], now: LFp) {
        if self.outcome.is_some() {
            return;
        }
        if self.classic_skip(datagram) {
            return;
        }
        // Classic ignores octets after the announced items (it only checks that enough
        // arrived); the reassembler applies the remaining rules.
        let mut datagram = datagram;
        if let Ok(h) = PrivateHeader::decode(datagram) {
            if let Some(exact) = datagram.get(..HEADER_LEN + h.data_len()) {
                datagram = exact;
            }
        }
        let accepted = PrivateHeader::decode(datagram).ok();
        let result = self.reassembler.push(datagram);
        if let (Some(h), Fragment::Pending | Fragment::Complete(_)) = (accepted, &result) {
            if let Some(slot) = self.seen.get_mut(usize::from(h.sequence)) {
                *slot = true;
            }
            let size = usize::from(h.item_size);
            self.first_size
                .get_or_insert(size.max(self.query.expected_item_size));
            if !h.more {
                self.last_seq = Some(h.sequence);
            }
        }
        match result {
            Fragment::Ignored(_) => {}
            Fragment::Pending => self.received_any = true,
            Fragment::ServerError(err) => self.server_error(err, now),
            Fragment::Complete(done) => {
                let esize = self.query.expected_item_size;
                let (item_size, data) = if done.item_size < esize && done.item_size > 0 {
                    let mut padded = Vec::with_capacity(done.nitems * esize);
                    for item in done.data.chunks(done.item_size) {
                        padded.extend_from_slice(item);
                        padded.resize(padded.len() + (esize - item.len()), 0);
                    }
                    (esize, padded)
                } else {
                    (done.item_size, done.data)
                };
                self.outcome = Some(Ok(Response {
                    implementation: self.session.implementation,
                    nitems: done.nitems,
                    item_size,
                    data,
                }));
            }
        }
    }

    /// Classic `getresponse`'s sanity checks, in its order, with its debugging text. True
    /// when the datagram is to be skipped.
    fn classic_skip(&mut self, d: &[u8]) -> bool {
        let Some(h) = d.get(..HEADER_LEN) else {
            self.debug(format!("Short ({} byte) packet received\n", d.len()));
            return true;
        };
        let (b0, b1) = (h[0], h[1]);
        let version = (b0 >> 3) & 7;
        let reason = if !(1..=4).contains(&version) {
            Some(format!("Packet received with version {version}\n"))
        } else if b0 & 7 != 7 {
            Some(format!("Packet received with mode {}\n", b0 & 7))
        } else if b1 & 0x80 != 0 {
            Some("Encrypted packet received\n".to_string())
        } else if b0 & 0x80 == 0 {
            Some("Received request packet, wanted response\n".to_string())
        } else if h[6] >> 4 != 0 {
            Some("Received packet with nonzero MBZ field!\n".to_string())
        } else if h[2] != u8::from(self.session.implementation) || h[3] != u8::from(self.query.code)
        {
            // Classic prints this one without a newline.
            Some(format!(
                "Received implementation/request of {}/{}, wanted {}/{}",
                h[2],
                h[3],
                u8::from(self.session.implementation),
                u8::from(self.query.code)
            ))
        } else {
            None
        };
        if let Some(r) = reason {
            self.debug(r);
            return true;
        }
        let err = h[4] >> 4;
        if err != 0 {
            if b0 & 0x40 != 0 {
                self.debug(format!("Error code {err} received on not-final packet\n"));
            }
            return false;
        }
        let items = usize::from(u16::from_be_bytes([h[4], h[5]]) & 0xfff);
        let size = usize::from(u16::from_be_bytes([h[6], h[7]]) & 0xfff);
        let have = d.len() - HEADER_LEN;
        if items * size > have {
            self.debug(format!(
                "Received items {items}, size {size} (total {}), data in packet is {have}\n",
                items * size
            ));
            return true;
        }
        if let Some(first) = self.first_size {
            if size != first && self.received_any {
                self.debug(format!("Received itemsize {size}, previous {first}\n"));
                return true;
            }
        }
        let seq = b1 & 0x7f;
        if self.seen.get(usize::from(seq)).copied().unwrap_or(false) {
            self.debug(format!("Received duplicate sequence number {seq}\n"));
            return true;
        }
        false
    }

    fn debug(&mut self, text: String) {
        self.events.push_back(QueryEvent::Debug(text));
    }

    /// The wait from [`Exchange::wait_for`] ran out.
    pub fn handle_timeout(&mut self) {
        if self.outcome.is_none() && self.reassembler.is_partial() {
            let mut text = String::from("Received sequence numbers");
            for (n, _) in self.seen.iter().enumerate().filter(|(_, s)| **s) {
                text += &format!(" {n},");
            }
            text += if self.last_seq.is_some() {
                " last frame received\n"
            } else {
                " last frame not received\n"
            };
            self.debug(text);
        }
        if self.outcome.is_none() {
            self.outcome = Some(Err(if self.reassembler.is_partial() {
                QueryError::Incomplete
            } else {
                QueryError::Timeout
            }));
        }
    }

    fn server_error(&mut self, err: InfoError, now: LFp) {
        let s = &mut *self.session;
        if err == InfoError::Fmt && s.request_size != 48 {
            let old = s.request_size;
            s.request_size = match old {
                REQUEST_LEN_NOMAC => 160,
                _ => 48,
            };
            if s.implementation == Implementation::Xntpd {
                self.events.push_back(QueryEvent::Warning(
                    "***Warning changing to older implementation".into(),
                ));
                self.fall_back(now);
            } else {
                self.events.push_back(QueryEvent::Warning(format!(
                    "***Warning changing the request packet size from {old} to {}",
                    s.request_size
                )));
                self.send(now);
            }
            return;
        }
        if err == InfoError::Impl && s.implementation == Implementation::Xntpd {
            // Silent: every classic command retries with the old implementation.
            self.fall_back(now);
            return;
        }
        self.outcome = Some(Err(QueryError::Server(err)));
    }

    fn fall_back(&mut self, now: LFp) {
        self.session.implementation = Implementation::XntpdOld;
        self.send(now);
    }
}

/// The request datagram classic `sendrequest()` builds for `query` in the session's current
/// state; `None` when classic refuses to send (long digest with a shrunken frame).
pub fn build_request(session: &Session, query: &Query, now: LFp) -> Option<Vec<u8>> {
    let (item_size, items) = match session.implementation {
        Implementation::Xntpd => &query.items_full,
        _ => &query.items_truncated,
    };
    let mut frame = vec![0u8; REQUEST_LEN_NOMAC + MAX_MAC];
    let nitems = if items.is_empty() { 0 } else { query.nitems };
    let header = PrivateHeader::request(
        session.implementation,
        query.code,
        nitems,
        *item_size,
        false,
    );
    let head = header.to_bytes().ok()?;
    frame.get_mut(..HEADER_LEN)?.copy_from_slice(&head);
    let data_room = REQUEST_LEN_NOMAC - 8 - HEADER_LEN;
    let n = items.len().min(data_room);
    frame
        .get_mut(HEADER_LEN..HEADER_LEN + n)?
        .copy_from_slice(items.get(..n)?);
    let key = match (&query.auth, &query.key) {
        (true, Some(key)) => key,
        _ => {
            frame.truncate(session.request_size);
            return Some(frame);
        }
    };
    // Octet 1: A bit, sequence 0.
    *frame.get_mut(1)? = 0x80;
    let digest_len = key.algorithm.digest_len();
    let reqsize = if digest_len > 16 {
        if session.request_size != REQUEST_LEN_NOMAC {
            return None;
        }
        (HEADER_LEN + n + 8 + 3) & !3
    } else {
        session.request_size
    };
    let tstamp = now.0.wrapping_add(session.delay);
    frame
        .get_mut(reqsize - 8..reqsize)?
        .copy_from_slice(&tstamp.to_be_bytes());
    frame
        .get_mut(reqsize..reqsize + 4)?
        .copy_from_slice(&key.id.to_be_bytes());
    let digest = key.digest(frame.get(..reqsize)?);
    let digest = digest.as_bytes().get(..digest_len)?.to_vec();
    frame
        .get_mut(reqsize + 4..reqsize + 4 + digest_len)?
        .copy_from_slice(&digest);
    frame.truncate(reqsize + 4 + digest_len);
    Some(frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ntp_wire::mode7::{
        InfoPeerList, ItemLayout, PrivateItem, PrivateRequest, RequestMacLayout,
    };
    use ntp_wire::MacAlgorithm;
    use std::net::IpAddr;

    fn drain(ex: &mut Exchange<'_>) -> Vec<QueryEvent> {
        std::iter::from_fn(|| ex.poll_event()).collect()
    }

    fn reply(implementation: u8, code: u8, err: u8) -> [u8; 8] {
        [0x97, 0, implementation, code, err << 4, 0, 0, 0]
    }

    #[test]
    fn unauthenticated_request_is_the_fixed_zero_frame() {
        let mut s = Session::new();
        let mut ex = Exchange::start(&mut s, Query::simple(RequestCode::SysInfo, 80), LFp(7));
        let ev = drain(&mut ex);
        let mut expected = vec![0u8; 192];
        expected[..4].copy_from_slice(&[0x17, 0, 3, 4]);
        assert_eq!(ev, vec![QueryEvent::Send(expected)]);
    }

    #[test]
    fn authenticated_md5_request_matches_the_wire_layout_and_verifies() {
        let key = SymmetricKey::new(1, MacAlgorithm::Md5, b"vectorkey1");
        let mut q = Query::simple(RequestCode::IfStats, 136);
        q.auth = true;
        q.key = Some(key.clone());
        let s = Session::new();
        let now = LFp(0xeeb2_2828_0000_0000);
        let bytes = build_request(&s, &q, now).unwrap();
        assert_eq!(bytes.len(), 212);
        assert_eq!(&bytes[..4], &[0x17, 0x80, 3, 0x2c]);
        let layout = RequestMacLayout::client(0, 0, 16).unwrap();
        assert_eq!(layout.tstamp(&bytes), Some(LFp(now.0 + DEFAULT_DELAY)));
        assert_eq!(layout.key_id(&bytes), Some(1));
        assert!(key.verify(
            layout.covered(&bytes).unwrap(),
            layout.digest(&bytes).unwrap()
        ));
        let decoded = PrivateRequest::decode(&bytes).unwrap();
        assert!(decoded.header.auth);
    }

    #[test]
    fn sha1_request_uses_the_short_layout() {
        let key = SymmetricKey::new(2, MacAlgorithm::Sha1, b"k");
        let mut q = Query::simple(RequestCode::IfStats, 136);
        q.auth = true;
        q.key = Some(key.clone());
        let bytes = build_request(&Session::new(), &q, LFp(1)).unwrap();
        let layout = RequestMacLayout::client(0, 0, 20).unwrap();
        assert_eq!(bytes.len(), layout.total_len);
        assert!(key.verify(
            layout.covered(&bytes).unwrap(),
            layout.digest(&bytes).unwrap()
        ));
    }

    #[test]
    fn peer_items_follow_the_implementation() {
        let item = InfoPeerList::for_address("10.0.0.1".parse::<IpAddr>().unwrap());
        let mut q = Query::simple(RequestCode::PeerInfo, 280);
        q.nitems = 1;
        q.items_full = (32, item.to_vec(ItemLayout::Full));
        q.items_truncated = (8, item.to_vec(ItemLayout::Truncated));
        let mut s = Session::new();
        let full = build_request(&s, &q, LFp(0)).unwrap();
        assert_eq!(&full[4..8], &[0, 1, 0, 32]);
        assert_eq!(&full[8..16], &[10, 0, 0, 1, 0, 123, 0, 0]);
        s.implementation = Implementation::XntpdOld;
        let old = build_request(&s, &q, LFp(0)).unwrap();
        assert_eq!(&old[2..8], &[2, 2, 0, 1, 0, 8]);
    }

    #[test]
    fn impl_error_retries_silently_with_implementation_2() {
        let mut s = Session::new();
        let mut ex = Exchange::start(&mut s, Query::simple(RequestCode::SysInfo, 80), LFp(0));
        drain(&mut ex);
        ex.handle_datagram(&reply(3, 4, 1), LFp(0));
        let ev = drain(&mut ex);
        assert!(matches!(&ev[..], [QueryEvent::Send(b)] if b[2] == 2 && b.len() == 192));
        assert!(ex.outcome().is_none());
        ex.handle_datagram(&reply(2, 4, 1), LFp(0));
        assert_eq!(
            ex.outcome(),
            Some(&Err(QueryError::Server(InfoError::Impl)))
        );
    }

    #[test]
    fn format_errors_step_down_implementation_then_frame_size() {
        let mut s = Session::new();
        let mut ex = Exchange::start(&mut s, Query::simple(RequestCode::SysInfo, 80), LFp(0));
        drain(&mut ex);
        ex.handle_datagram(&reply(3, 4, 3), LFp(0));
        let ev = drain(&mut ex);
        assert_eq!(
            ev[0],
            QueryEvent::Warning("***Warning changing to older implementation".into())
        );
        assert!(matches!(&ev[1], QueryEvent::Send(b) if b.len() == 160 && b[2] == 2));
        ex.handle_datagram(&reply(2, 4, 3), LFp(0));
        let ev = drain(&mut ex);
        assert_eq!(
            ev[0],
            QueryEvent::Warning(
                "***Warning changing the request packet size from 160 to 48".into()
            )
        );
        assert!(matches!(&ev[1], QueryEvent::Send(b) if b.len() == 48));
        ex.handle_datagram(&reply(2, 4, 3), LFp(0));
        assert_eq!(ex.outcome(), Some(&Err(QueryError::Server(InfoError::Fmt))));
        drop(ex);
        assert_eq!(s.request_size(), 48);
        s.reset_host();
        assert_eq!(s.request_size(), 192);
    }

    #[test]
    fn timeouts_distinguish_nothing_from_partial() {
        let mut s = Session::new();
        let mut ex = Exchange::start(&mut s, Query::simple(RequestCode::IfStats, 136), LFp(0));
        assert_eq!(ex.wait_for(), DEFAULT_TIMEOUT);
        ex.handle_timeout();
        assert_eq!(ex.outcome(), Some(&Err(QueryError::Timeout)));

        let mut ex = Exchange::start(&mut s, Query::simple(RequestCode::IfStats, 136), LFp(0));
        let mut frag = vec![0xd7, 0, 3, 0x2c, 0, 1, 0, 136];
        frag.resize(8 + 136, 0);
        ex.handle_datagram(&frag, LFp(0));
        assert_eq!(ex.wait_for(), DEFAULT_SECONDARY_TIMEOUT);
        ex.handle_timeout();
        assert_eq!(ex.outcome(), Some(&Err(QueryError::Incomplete)));
    }

    #[test]
    fn short_items_are_padded_to_the_expected_size() {
        let mut s = Session::new();
        let mut ex = Exchange::start(&mut s, Query::simple(RequestCode::SysStats, 52), LFp(0));
        let mut d = vec![0x97, 0, 3, 5, 0, 1, 0, 40];
        d.extend((0..40).map(|i| i as u8 + 1));
        ex.handle_datagram(&d, LFp(0));
        let r = ex.into_outcome().unwrap().unwrap();
        assert_eq!(r.item_size, 52);
        assert_eq!(r.data.len(), 52);
        assert_eq!(r.data[39], 40);
        assert_eq!(&r.data[40..], &[0; 12]);
    }

    #[test]
    fn octets_after_the_items_are_ignored() {
        let mut s = Session::new();
        let mut ex = Exchange::start(&mut s, Query::simple(RequestCode::LoopInfo, 24), LFp(0));
        let mut d = vec![0x97, 0, 3, 8, 0, 1, 0, 24];
        d.resize(8 + 24 + 20, 7);
        ex.handle_datagram(&d, LFp(0));
        let r = ex.into_outcome().unwrap().unwrap();
        assert_eq!((r.nitems, r.item_size, r.data.len()), (1, 24, 24));
    }

    #[test]
    fn skipped_datagrams_carry_classic_debug_text() {
        let mut s = Session::new();
        let mut ex = Exchange::start(&mut s, Query::simple(RequestCode::IfStats, 136), LFp(0));
        drain(&mut ex);
        let mut frag = vec![0xd7, 2, 3, 0x2c, 0, 1, 0, 136];
        frag.resize(8 + 136, 0);
        for d in [
            &[0x97u8, 0, 3][..],
            &[0xaf, 0, 3, 0x2c, 0, 0, 0, 0],
            &[0x96, 0, 3, 0x2c, 0, 0, 0, 0],
            &[0x97, 0x80, 3, 0x2c, 0, 0, 0, 0],
            &[0x17, 0, 3, 0x2c, 0, 0, 0, 0],
            &[0x97, 0, 3, 0x2c, 0, 0, 0x10, 0],
            &[0x97, 0, 2, 0x2c, 0, 0, 0, 0],
            &[0x97, 0, 3, 0x2c, 0, 2, 0, 136],
            &frag,
            &frag,
        ] {
            ex.handle_datagram(d, LFp(0));
        }
        ex.handle_timeout();
        let texts: Vec<String> = drain(&mut ex)
            .into_iter()
            .filter_map(|e| match e {
                QueryEvent::Debug(t) => Some(t),
                _ => None,
            })
            .collect();
        assert_eq!(
            texts,
            vec![
                "Short (3 byte) packet received\n".to_string(),
                "Packet received with version 5\n".into(),
                "Packet received with mode 6\n".into(),
                "Encrypted packet received\n".into(),
                "Received request packet, wanted response\n".into(),
                "Received packet with nonzero MBZ field!\n".into(),
                "Received implementation/request of 2/44, wanted 3/44".into(),
                "Received items 2, size 136 (total 272), data in packet is 0\n".into(),
                "Received duplicate sequence number 2\n".into(),
                "Received sequence numbers 2, last frame not received\n".into(),
            ]
        );
        assert_eq!(ex.outcome(), Some(&Err(QueryError::Incomplete)));
    }

    #[test]
    fn authenticated_and_mbz_responses_are_skipped() {
        let mut s = Session::new();
        let mut ex = Exchange::start(&mut s, Query::simple(RequestCode::SysInfo, 80), LFp(0));
        ex.handle_datagram(&[0x97, 0x80, 3, 4, 0x40, 0, 0, 0], LFp(0));
        ex.handle_datagram(&[0x97, 0, 3, 4, 0x40, 0, 0x10, 0], LFp(0));
        assert!(ex.outcome().is_none());
    }

    #[test]
    fn ipv6_items_cannot_fall_back() {
        let mut s = Session::new();
        let mut q = Query::simple(RequestCode::PeerInfo, 280);
        q.needs_full_layout = true;
        let mut ex = Exchange::start(&mut s, q, LFp(0));
        drain(&mut ex);
        ex.handle_datagram(&reply(3, 2, 1), LFp(0));
        assert_eq!(ex.outcome(), Some(&Err(QueryError::Ipv6NotUnderstood)));
    }

    /// A plausible response fragment to PEER_LIST: valid-looking header, random sizes.
    fn fragment() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        (
            any::<bool>(),
            0u8..4,
            0u16..6,
            prop_oneof![Just(8u16), Just(32u16), 0u16..40],
            proptest::collection::vec(any::<u8>(), 0..300),
        )
            .prop_map(|(more, seq, nitems, size, rest)| {
                let mut d = vec![if more { 0xd7 } else { 0x97 }, seq, 3, 0];
                d.extend_from_slice(&nitems.to_be_bytes());
                d.extend_from_slice(&size.to_be_bytes());
                d.extend(rest);
                d
            })
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_datagrams_never_panic_and_end_in_an_outcome(
            datagrams in proptest::collection::vec(
                proptest::prop_oneof![
                    fragment(),
                    proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
                ],
                0..8,
            ),
            esize in 0usize..300,
        ) {
            let mut s = Session::new();
            let q = Query::simple(RequestCode::PeerList, esize);
            let mut ex = Exchange::start(&mut s, q, LFp(0));
            for d in &datagrams {
                ex.handle_datagram(d, LFp(0));
                while ex.poll_event().is_some() {}
            }
            ex.handle_timeout();
            let done = ex.into_outcome();
            proptest::prop_assert!(done.is_some());
            if let Some(Ok(r)) = done {
                proptest::prop_assert_eq!(r.data.len(), r.nitems * r.item_size);
            }
        }
    }

    #[test]
    fn delay_round_trips_through_milliseconds() {
        let mut s = Session::new();
        assert_eq!(s.delay_ms(), 20);
        s.set_delay_ms(1500);
        assert_eq!(s.delay_ms(), 1500);
        s.set_delay_ms(-5);
        assert_eq!(s.delay, (5u64 * 4_294_967).wrapping_neg());
        // l_ui = 0xffffffff, l_uf = 2^32 - 5 * 4294967: 32-bit arithmetic as classic.
        assert_eq!(
            s.delay_ms(),
            u64::from(u32::MAX.wrapping_mul(1000).wrapping_add(995))
        );
    }
}
